"""Shared validation helpers.

Every check raises a typed error from :mod:`tne_eval.errors` whose message says
*what* is wrong, *where* (argument or column, offending values, counts) and *how*
to fix it. No ``assert`` is ever used on user input.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tne_eval.errors import SpecError, TneEvalTypeError

__all__ = [
    "check_alpha",
    "check_choice",
    "check_columns_exist",
    "check_dataframe",
    "check_int",
    "check_positive_int",
    "check_seed",
    "format_examples",
    "plain",
]


def format_examples(values: Iterable[Any], limit: int = 3) -> str:
    """Render up to ``limit`` example values as ``'a', 'b', 'c'`` (with an ellipsis)."""
    values = list(values)
    shown = ", ".join(repr(plain(v)) for v in values[:limit])
    return shown + (", ..." if len(values) > limit else "")


def plain(value: Any) -> Any:
    """Turn numpy scalars into Python scalars so that reprs read naturally."""
    return value.item() if isinstance(value, np.generic) else value


def check_dataframe(data: object, name: str = "data") -> pd.DataFrame:
    """Require a pandas DataFrame."""
    if not isinstance(data, pd.DataFrame):
        raise TneEvalTypeError(
            f"{name} must be a pandas DataFrame (got {type(data).__name__}). "
            "Convert it with pandas.DataFrame(...) first."
        )
    return data


def check_columns_exist(
    data: pd.DataFrame, columns: Sequence[str], *, role: str = "spec"
) -> None:
    """Raise one error listing *every* column named by ``role`` that is missing."""
    missing = [c for c in columns if c not in data.columns]
    if missing:
        available = format_examples(list(data.columns), limit=12)
        raise SpecError(
            f"{role} names column(s) {format_examples(missing, limit=len(missing))} "
            f"that are not in the data. Available columns: {available}. "
            "Fix the spec or rename the columns."
        )


def check_choice(value: object, name: str, options: Sequence[str]) -> str:
    """Validate a string option against its allowed values (listing them)."""
    if not isinstance(value, str):
        raise TneEvalTypeError(
            f"{name} must be a string, one of {format_examples(options, len(options))} "
            f"(got {type(value).__name__} {value!r})."
        )
    if value not in options:
        raise SpecError(
            f"{name}={value!r} is not supported; choose one of "
            f"{format_examples(options, len(options))}."
        )
    return value


def check_alpha(alpha: object) -> float:
    """Validate a significance level in (0, 1)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)):
        raise TneEvalTypeError(f"alpha must be a float in (0, 1) (got {alpha!r}).")
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise SpecError(
            f"alpha must lie strictly between 0 and 1 (got {alpha}); "
            "use e.g. alpha=0.05 for 95% intervals."
        )
    return alpha


def check_int(value: object, name: str, *, minimum: int | None = None) -> int:
    """Validate an integer argument, optionally bounded below."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TneEvalTypeError(f"{name} must be an integer (got {value!r}).")
    value = int(value)
    if minimum is not None and value < minimum:
        raise SpecError(f"{name} must be >= {minimum} (got {value}).")
    return value


def check_positive_int(value: object, name: str) -> int:
    """Validate a strictly positive integer argument."""
    return check_int(value, name, minimum=1)


def check_seed(seed: object, name: str = "seed") -> None:
    """Validate a seed: ``None``, a non-negative int or a ``numpy.random.Generator``."""
    if seed is None or isinstance(seed, np.random.Generator):
        return
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TneEvalTypeError(
            f"{name} must be None, a non-negative integer or a numpy Generator "
            f"(got {type(seed).__name__})."
        )
    if seed < 0:
        raise SpecError(f"{name} must be non-negative (got {seed}).")
