"""Cohort (first treated period) derivation and coding."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tne_eval._validation import (
    check_choice,
    check_columns_exist,
    check_dataframe,
    plain,
)
from tne_eval._validation import format_examples as _examples
from tne_eval.errors import DataError, TneEvalTypeError

__all__ = ["cohort_from_treatment", "never_treated_value"]


def never_treated_value(code: str) -> float:
    """Value that marks never-treated units for a ``never_treated`` coding."""
    return {"zero": 0.0, "inf": np.inf, "missing": np.nan}[code]


def cohort_from_treatment(
    data: pd.DataFrame,
    *,
    unit: str,
    time: str,
    treatment: str,
    never_treated: str = "zero",
) -> pd.Series:
    """Derive each unit's cohort (first treated period) from a 0/1 treatment column.

    Treatment must be *absorbing*: once a unit is treated it stays treated in every
    later period in which it is observed.

    Parameters
    ----------
    data : pandas.DataFrame
        Long data, one row per unit and period (not modified).
    unit, time, treatment : str
        Column names. ``treatment`` holds 0/1 (or booleans) without missing values.
    never_treated : {"zero", "inf", "missing"}, default "zero"
        Value given to units never treated in the data: ``0``, ``inf`` or ``NaN``.

    Returns
    -------
    pandas.Series
        Float series aligned on ``data.index``, named ``"cohort"``: the first period
        with treatment 1 of the row's unit, or the never-treated code.

    Raises
    ------
    DataError
        If treatment has values other than 0/1, has missing values, or switches
        off (1 then 0) within a unit.

    Examples
    --------
    >>> df = pd.DataFrame({"u": [1, 1, 1, 2, 2, 2], "t": [1, 2, 3] * 2,
    ...                    "d": [0, 1, 1, 0, 0, 0]})
    >>> cohort_from_treatment(df, unit="u", time="t", treatment="d").tolist()
    [2.0, 2.0, 2.0, 0.0, 0.0, 0.0]
    """
    check_dataframe(data)
    check_columns_exist(data, [unit, time, treatment], role="cohort_from_treatment")
    check_choice(never_treated, "never_treated", ("zero", "inf", "missing"))
    d = data[treatment]
    if d.isna().any():
        rows = d.index[d.isna()]
        raise DataError(
            f"Column {treatment!r} (treatment) has {len(rows)} missing value(s) "
            f"(e.g. rows {_examples(rows)}). Fill or drop them before deriving cohorts."
        )
    if pd.api.types.is_bool_dtype(d):
        values = d.to_numpy(dtype=float)
    elif pd.api.types.is_numeric_dtype(d):
        values = d.to_numpy(dtype=float)
        bad = ~np.isin(values, (0.0, 1.0))
        if bad.any():
            raise DataError(
                f"Column {treatment!r} (treatment) must hold only 0 and 1; found "
                f"{_examples(np.unique(values[bad]))} in {int(bad.sum())} row(s). "
                "Recode it as 0/1 (1 = treated in that period)."
            )
    else:
        raise TneEvalTypeError(
            f"Column {treatment!r} (treatment) must be 0/1 numeric or boolean (got "
            f"dtype {d.dtype} in all {len(d)} rows, e.g. "
            f"{_examples(pd.unique(d.to_numpy())[:3])}). Recode it as 0/1, e.g. "
            f"data[{treatment!r}] = pd.to_numeric(data[{treatment!r}]) if it holds "
            "numbers stored as text."
        )
    t = data[time].to_numpy()
    u_codes, _ = pd.factorize(data[unit])
    order = np.lexsort((t, u_codes))
    us, ts, ds = u_codes[order], t[order], values[order]
    same = us[1:] == us[:-1]
    off = same & (ds[:-1] == 1.0) & (ds[1:] == 0.0)
    if off.any():
        idx = np.flatnonzero(off)
        bad_units = pd.unique(data[unit].to_numpy()[order][idx + 1])
        n_units = int(np.unique(u_codes).size)
        example = [
            plain(v)
            for v in (data[unit].to_numpy()[order][idx[0]], ts[idx[0]], ts[idx[0] + 1])
        ]
        raise DataError(
            f"Column {treatment!r} (treatment) switches off within {len(bad_units)} "
            f"of {n_units} units (e.g. unit {example[0]!r} is treated in period "
            f"{example[1]!r} but not in {example[2]!r}). Staggered-adoption "
            "estimators need an absorbing treatment; give the cohort (first "
            "treated period) directly if treatment really stops, or drop those units."
        )
    treated_t = np.where(values == 1.0, t.astype(float), np.inf)
    first = pd.Series(treated_t).groupby(u_codes).transform("min").to_numpy(copy=True)
    first[np.isinf(first)] = never_treated_value(never_treated)
    return pd.Series(first, index=data.index, name="cohort")
