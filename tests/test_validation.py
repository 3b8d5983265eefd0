import numpy as np
import pandas as pd
import pytest

from tne_eval._validation import (
    check_alpha,
    check_choice,
    check_columns_exist,
    check_dataframe,
    check_int,
    check_seed,
    format_examples,
)
from tne_eval.errors import SpecError, TneEvalError, TneEvalTypeError


def test_error_hierarchy():
    assert issubclass(SpecError, ValueError) and issubclass(SpecError, TneEvalError)
    assert issubclass(TneEvalTypeError, TypeError)


def test_format_examples():
    assert format_examples([np.int64(1), "a", 2.5, 4]) == "1, 'a', 2.5, ..."


def test_checks():
    with pytest.raises(TneEvalTypeError, match="data must be a pandas DataFrame"):
        check_dataframe([1])
    with pytest.raises(SpecError, match=r"names column\(s\) 'z'"):
        check_columns_exist(pd.DataFrame({"a": [1]}), ["a", "z"])
    with pytest.raises(TneEvalTypeError, match="kind must be a string"):
        check_choice(1, "kind", ("a", "b"))
    with pytest.raises(TneEvalTypeError, match="alpha must be a float"):
        check_alpha("0.05")
    with pytest.raises(TneEvalTypeError, match="n must be an integer"):
        check_int(True, "n")
    with pytest.raises(TneEvalTypeError, match="seed must be None"):
        check_seed(1.5)
    assert check_alpha(0.1) == 0.1 and check_int(np.int64(3), "n") == 3
    check_seed(np.random.default_rng(1))
