import numpy as np
import pandas as pd
import pytest

from tne_eval.data import cohort_from_treatment
from tne_eval.errors import DataError, TneEvalTypeError


def frame(d):
    return pd.DataFrame({"u": [1, 1, 1, 2, 2, 2], "t": [1, 2, 3] * 2, "d": d})


@pytest.mark.parametrize(("code", "value"), [("zero", 0.0), ("inf", np.inf)])
def test_derives_first_treated_period(code, value):
    out = cohort_from_treatment(
        frame([0, 1, 1, 0, 0, 0]), unit="u", time="t", treatment="d", never_treated=code
    )
    assert out.tolist() == [2.0, 2.0, 2.0, value, value, value]


def test_missing_code_and_bool_and_row_order():
    df = frame([False, False, True, False, False, False]).sample(frac=1, random_state=3)
    out = cohort_from_treatment(
        df, unit="u", time="t", treatment="d", never_treated="missing"
    )
    assert out.index.equals(df.index)
    assert out[df["u"] == 1].eq(3.0).all()
    assert out[df["u"] == 2].isna().all()


def test_switch_off_is_an_error():
    with pytest.raises(
        DataError, match=r"switches off within 1 of 2 units \(e.g. unit 1"
    ):
        cohort_from_treatment(
            frame([0, 1, 0, 0, 0, 0]), unit="u", time="t", treatment="d"
        )


def test_non_binary_values():
    with pytest.raises(DataError, match="must hold only 0 and 1; found 2"):
        cohort_from_treatment(
            frame([0, 2, 1, 0, 0, 0]), unit="u", time="t", treatment="d"
        )


def test_missing_treatment_values():
    with pytest.raises(DataError, match=r"has 1 missing value\(s\)"):
        cohort_from_treatment(
            frame([0, np.nan, 1, 0, 0, 0]), unit="u", time="t", treatment="d"
        )


def test_text_treatment():
    with pytest.raises(TneEvalTypeError, match="must be 0/1 numeric or boolean"):
        cohort_from_treatment(
            frame(["no", "yes", "yes", "no", "no", "no"]),
            unit="u",
            time="t",
            treatment="d",
        )
