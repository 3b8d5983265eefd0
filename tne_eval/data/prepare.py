"""Validate a DataFrame against a spec and return a canonical, prepared copy."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd

from tne_eval._validation import (
    check_choice,
    check_columns_exist,
    check_dataframe,
    check_int,
    plain,
)
from tne_eval._validation import format_examples as _examples
from tne_eval._warnings import warn
from tne_eval.data.cohorts import cohort_from_treatment
from tne_eval.data.spec import PanelSpec, RepeatedCrossSectionSpec, check_spec
from tne_eval.errors import (
    DataError,
    DroppedObservationsWarning,
    IdentificationError,
    SpecError,
    TneEvalTypeError,
    TneEvalWarning,
)

__all__ = [
    "MAX_ABS_VALUE",
    "MAX_EXACT_INT",
    "DropRecord",
    "DropReport",
    "PreparedPanel",
    "prepare_panel",
]

Missing = Literal["drop", "raise"]
Balance = Literal["allow", "require", "drop"]
TreatedFirst = Literal["drop", "raise", "keep"]


@dataclass(frozen=True)
class DropRecord:
    """One step of the preparation that removed rows or recoded values."""

    reason: str
    n_rows: int
    n_units: int
    message: str


@dataclass(frozen=True)
class DropReport:
    """Everything :func:`prepare_panel` dropped or recoded, in order.

    Attributes
    ----------
    n_rows_in : int
        Rows of the input frame.
    records : tuple of DropRecord
        One record per step that changed the sample.
    """

    n_rows_in: int
    records: tuple[DropRecord, ...] = ()

    @property
    def n_rows_dropped(self) -> int:
        """Total rows removed (recodings do not count)."""
        return sum(r.n_rows for r in self.records)

    @property
    def notes(self) -> tuple[str, ...]:
        """Human-readable messages, copied into every result's ``notes``."""
        return tuple(r.message for r in self.records)


@dataclass(frozen=True, eq=False)
class PreparedPanel:
    """A validated, canonical copy of the data plus derived arrays.

    Rows are sorted by unit then time and carry a fresh ``RangeIndex``; only the
    spec's columns are kept. Per-unit arrays follow the order of ``unit_ids``.

    Attributes
    ----------
    spec : PanelSpec or RepeatedCrossSectionSpec
        The spec validated against (with ``cohort`` filled when it was derived).
    data : pandas.DataFrame
        Canonical copy: spec columns, ``time`` as int64, cohort as float with
        ``inf`` for never-treated units.
    unit_ids : pandas.Index
        Sorted unique unit ids (``group`` ids for repeated cross-sections).
    unit_code : numpy.ndarray
        Per-row position of the row's unit in ``unit_ids``.
    periods : numpy.ndarray
        Sorted unique periods (int64).
    time_code : numpy.ndarray
        Per-row position of the row's period in ``periods``.
    cohort : numpy.ndarray or None
        Per-unit first treated period (float, ``inf`` = never treated).
    cluster_ids : pandas.Index
        Sorted unique cluster ids.
    cluster_code : numpy.ndarray
        Per-unit position of the unit's cluster in ``cluster_ids``.
    weights : numpy.ndarray
        Per-row sampling weights (ones when the spec has none).
    balanced : bool
        Whether every unit is observed in every period (panels only).
    report : DropReport
        What was dropped or recoded, with counts.
    """

    spec: PanelSpec | RepeatedCrossSectionSpec
    data: pd.DataFrame
    unit_ids: pd.Index
    unit_code: np.ndarray
    periods: np.ndarray
    time_code: np.ndarray
    cohort: np.ndarray | None
    cluster_ids: pd.Index
    cluster_code: np.ndarray
    weights: np.ndarray
    balanced: bool
    report: DropReport = field(default_factory=lambda: DropReport(0))

    @property
    def is_panel(self) -> bool:
        """True for a :class:`PanelSpec`, False for repeated cross-sections."""
        return isinstance(self.spec, PanelSpec)

    @property
    def n_units(self) -> int:
        """Number of units (groups for repeated cross-sections)."""
        return len(self.unit_ids)

    @property
    def n_obs(self) -> int:
        """Number of rows kept."""
        return len(self.data)

    @property
    def n_clusters(self) -> int:
        """Number of clusters."""
        return len(self.cluster_ids)

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the canonical data (values and column names), for provenance.

        Numeric columns are hashed from their bytes; text columns (ids, clusters,
        nesting levels, which are constant within unit) through their per-unit
        values, so that fingerprinting millions of rows stays cheap.
        """
        digest = hashlib.sha256()
        digest.update("|".join(map(str, self.data.columns)).encode())
        first = np.r_[0, np.flatnonzero(np.diff(self.unit_code)) + 1]
        for col in self.data.columns:
            values = self.data[col]
            if col == self.spec.unit:
                digest.update(
                    pd.util.hash_pandas_object(self.unit_ids, index=False)
                    .to_numpy()
                    .tobytes()
                )
                digest.update(memoryview(np.ascontiguousarray(self.unit_code)))
            elif pd.api.types.is_numeric_dtype(values) and not isinstance(
                values.dtype, pd.CategoricalDtype
            ):
                arr = np.ascontiguousarray(values.to_numpy())
                digest.update(str(arr.dtype).encode())
                digest.update(memoryview(arr))
            else:
                per_unit = values.iloc[first] if self.is_panel else values
                hashed = pd.util.hash_pandas_object(per_unit, index=False)
                digest.update(hashed.to_numpy().tobytes())
        return digest.hexdigest()

    def wide(self, column: str | None = None) -> np.ndarray:
        """Return a ``(n_units, n_periods)`` float array of a column (NaN if absent).

        Panels only. Defaults to the outcome.
        """
        if not self.is_panel:
            raise DataError(
                "wide() needs a panel; repeated cross-sections have no unit x "
                "period structure."
            )
        column = self.spec.outcome if column is None else column
        out = np.full((self.n_units, len(self.periods)), np.nan)
        out[self.unit_code, self.time_code] = self.data[column].to_numpy(dtype=float)
        return out

    @cached_property
    def time_varying_covariates(self) -> tuple[str, ...]:
        """Covariates whose value changes within at least one unit (panels only).

        Estimators use covariates differently: ``att_gt`` takes each cell's
        base-period value (as R ``did``), TWFE the value of each row. When a
        covariate varies within units those choices differ, and estimators add a
        note naming the columns listed here. Always ``()`` for repeated
        cross-sections, where each observation is seen once and its own value is
        used.
        """
        if not self.is_panel or not self.spec.covariates:
            return ()
        same_unit = self.unit_code[1:] == self.unit_code[:-1]
        out = []
        for col in self.spec.covariates:
            x = self.data[col].to_numpy(dtype=float)
            if np.any((x[1:] != x[:-1]) & same_unit):
                out.append(col)
        return tuple(out)

    def unit_first(self, column: str) -> np.ndarray:
        """Per-unit value of ``column`` in the unit's first observed row."""
        first = np.r_[0, np.flatnonzero(np.diff(self.unit_code)) + 1]
        return self.data[column].to_numpy()[first]


#: Largest magnitude accepted in the outcome, covariates and weights. Estimators
#: form squares and weighted cross-products of these columns, summed over millions
#: of rows; beyond this bound they overflow float64 (max 1.8e308) and standard
#: errors come out infinite or NaN.
MAX_ABS_VALUE = 1e100

#: Largest magnitude of an integer period or cohort: float64 holds every integer
#: up to 2**53 exactly, beyond it neighbouring periods collide.
MAX_EXACT_INT = 2**53


def _row_examples(index: pd.Index | np.ndarray) -> str:
    return _examples(list(index))


def _as_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Factorize with sorted uniques, treating categoricals by their values."""
    if (
        len(values)
        and pd.api.types.is_integer_dtype(values)
        and values.is_monotonic_increasing
    ):
        # Data sorted by an integer id (the usual layout): codes without hashing.
        arr = values.to_numpy()
        change = np.r_[True, arr[1:] != arr[:-1]]
        # int32 accumulation is vectorised (int64 from bool is not); ids < 2**31
        acc = np.int32 if arr.size < 2**31 - 1 else np.int64
        codes = (np.cumsum(change, dtype=acc) - 1).astype(np.int64)
        return codes, pd.Index(arr[change])
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = pd.Series(np.asarray(values, dtype=object))
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), pd.Index(uniques)


def _not_numeric(s: pd.Series, col: str, role: str) -> TneEvalTypeError:
    """Build the error for a column that should be numeric, with its dtype's fix."""
    dtype = s.dtype
    n = len(s)
    head = f"Column {col!r} ({role}) must be numeric, but has dtype {dtype}"
    is_key = role in ("time", "cohort")
    if pd.api.types.is_bool_dtype(dtype):
        if role == "cohort":
            fix = (
                "A True/False column is a treatment indicator, not a first treated "
                "period: give it as spec.treatment (the cohort is then derived), or "
                "compute it with tne_eval.data.cohort_from_treatment()."
            )
        elif is_key:
            fix = "Code periods as integers (the school year 2020-21 as 2020)."
        else:
            fix = f"Cast it to 0/1 first: data[{col!r}] = data[{col!r}].astype(float)."
        return TneEvalTypeError(f"{head} (True/False in all {n} rows). {fix}")
    if pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        ex = _examples(s.dropna().unique()[:3])
        if is_key:
            fix = (
                f"Periods are integers: use e.g. data[{col!r}].dt.year (the start "
                "year of a school year) or a period number."
            )
        else:
            fix = (
                "Convert it to a number first, e.g. the year "
                f"(data[{col!r}].dt.year) or the days since a reference date."
            )
        return TneEvalTypeError(f"{head} (dates in all {n} rows, e.g. {ex}). {fix}")
    if pd.api.types.is_timedelta64_dtype(dtype):
        return TneEvalTypeError(
            f"{head} (durations in all {n} rows). Convert it to a number, e.g. "
            f"data[{col!r}].dt.days."
        )
    if pd.api.types.is_complex_dtype(dtype):
        bad = np.flatnonzero(np.asarray(s.to_numpy()).imag != 0)
        where = (
            f"{len(bad)} row(s) have a non-zero imaginary part"
            if len(bad)
            else ("every imaginary part is zero")
        )
        return TneEvalTypeError(
            f"Column {col!r} ({role}) must be real, but has dtype {dtype} ({where}). "
            f"Keep the real part: data[{col!r}] = data[{col!r}].to_numpy().real."
        )
    values = s.astype(object) if isinstance(dtype, pd.CategoricalDtype) else s
    nonmissing = values.dropna()
    parsed = pd.to_numeric(nonmissing, errors="coerce")
    bad = parsed.isna().to_numpy()
    if isinstance(dtype, pd.CategoricalDtype):
        kind, source = "categories", f"data[{col!r}].astype(str)"
    elif pd.api.types.infer_dtype(nonmissing, skipna=True) == "string":
        kind, source = "text", f"data[{col!r}]"
    else:
        kind, source = "Python objects", f"data[{col!r}]"
    if len(nonmissing) and not bad.any():
        return TneEvalTypeError(
            f"{head}: all {len(nonmissing)} non-missing values are numbers stored as "
            f"{kind} (e.g. {_examples(nonmissing.unique()[:3])}). Convert it first: "
            f"data[{col!r}] = pd.to_numeric({source})"
            + (".astype(int)." if is_key else ".")
        )
    ex = _examples(pd.unique(nonmissing.to_numpy()[bad])[:3])
    if role == "covariate":
        fix = (
            "Encode categories as 0/1 indicator columns first (e.g. "
            "pandas.get_dummies), or clean the values and convert with pd.to_numeric."
        )
    elif role == "cohort":
        fix = (
            "Code the first treated period as an integer (2020 for 2020-21) and "
            "never-treated units as 0, inf or NaN (spec.never_treated 'zero', "
            "'inf' or 'missing'), e.g. map the labels to numbers."
        )
    elif is_key:
        fix = (
            "Code periods as integers (the school year 2020-21 as 2020), e.g. map "
            "the labels to numbers."
        )
    else:
        fix = "Clean the values and convert the column with pd.to_numeric."
    return TneEvalTypeError(
        f"{head}: {int(bad.sum())} of {len(nonmissing)} non-missing values are not "
        f"numbers (e.g. {ex}). {fix}"
    )


def _check_numeric(s: pd.Series, col: str, role: str) -> None:
    if (
        not pd.api.types.is_numeric_dtype(s)
        or pd.api.types.is_bool_dtype(s)
        or pd.api.types.is_complex_dtype(s)
    ):
        raise _not_numeric(s, col, role)


def _integer_column(
    df: pd.DataFrame, col: str, role: str, labels: pd.Index, allow_inf: bool = False
) -> np.ndarray:
    """Validate a time or cohort column and return it as float64 (exact integers)."""
    s = df[col]
    _check_numeric(s, col, role)
    what = "periods" if role == "time" else "first treated periods"
    if pd.api.types.is_integer_dtype(s) and not s.hasnans:
        arr = s.to_numpy()
        if arr.size and (arr.max() > MAX_EXACT_INT or arr.min() < -MAX_EXACT_INT):
            big = (arr > MAX_EXACT_INT) | (arr < -MAX_EXACT_INT)
            raise _inexact_error(col, role, what, big, arr, labels)
        return arr.astype(float)  # whole numbers, exact in float64 below 2**53
    values = s.to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(values)
    bad = finite & (values != np.round(values))
    if bad.any():
        raise DataError(
            f"Column {col!r} ({role}) must hold whole numbers; {int(bad.sum())} row(s) "
            f"do not (e.g. {_examples(np.unique(values[bad]))}, "
            f"row {plain(labels[np.flatnonzero(bad)[0]])!r}). Code {what} as "
            "integers (2020 for 2020-21)."
        )
    big = finite & (np.abs(values) > MAX_EXACT_INT)
    if big.any():
        raise _inexact_error(col, role, what, big, values, labels)
    # a cohort may be +inf (never treated); -inf is never a valid period
    inf = np.isinf(values) if not allow_inf else values == -np.inf
    if inf.any():
        pos = int(np.flatnonzero(inf)[0])
        never = (
            " (only never-treated units may be coded inf, with never_treated='inf')"
            if allow_inf
            else ""
        )
        raise DataError(
            f"Column {col!r} ({role}) holds infinite values in {int(inf.sum())} "
            f"row(s) (e.g. row {plain(labels[pos])!r}: {values[pos]}). "
            f"{what.capitalize()} must be finite integers{never}; fix or drop those "
            "rows."
        )
    return values


def _inexact_error(
    col: str, role: str, what: str, big: np.ndarray, arr: np.ndarray, labels: pd.Index
) -> DataError:
    pos = int(np.flatnonzero(big)[0])
    return DataError(
        f"Column {col!r} ({role}) has {int(big.sum())} value(s) beyond +/-2**53 "
        f"(e.g. row {plain(labels[pos])!r}: {plain(arr[pos])!r}), which float64 "
        f"cannot hold exactly: neighbouring {what} would collide. Recode them as "
        "small integers (years, or consecutive period numbers, e.g. with "
        "pandas.factorize(..., sort=True))."
    )


def _check_id_types(ids: pd.Index, col: str, role: str) -> None:
    """Reject id columns mixing value types, where 1 and '1' would be two units."""
    if ids.dtype != object:
        return
    kind = pd.api.types.infer_dtype(ids, skipna=True)
    if kind not in ("mixed", "mixed-integer"):
        return
    types = pd.Series([type(v).__name__ for v in ids])
    counts = types.value_counts()
    detail = ", ".join(f"{n} {name}" for name, n in counts.items())
    examples = [
        plain(ids[int(np.flatnonzero(types == name)[0])]) for name in counts.index
    ]
    raise TneEvalTypeError(
        f"Column {col!r} ({role}) mixes value types among its {len(ids)} distinct "
        f"ids ({detail}; e.g. {_examples(examples)}), so ids that print alike "
        f"(1 and '1') would count as different {role}s. Convert the column to one "
        f"type first, e.g. data[{col!r}] = data[{col!r}].astype(str)."
    )


def _check_column_labels(
    data: pd.DataFrame, spec: PanelSpec | RepeatedCrossSectionSpec
) -> None:
    """Require flat column labels, each column of the spec appearing once."""
    if isinstance(data.columns, pd.MultiIndex):
        raise TneEvalTypeError(
            f"data has MultiIndex columns ({data.columns.nlevels} levels, e.g. "
            f"{data.columns[0]!r}); the spec names flat columns. Flatten them first, "
            "e.g. data.columns = ['_'.join(map(str, c)) for c in data.columns], or "
            "select one level with data.droplevel(...)."
        )
    dup = data.columns[data.columns.duplicated()]
    named = [c for c in dict.fromkeys(dup) if c in spec.columns]
    if named:
        n = {c: int((data.columns == c).sum()) for c in named}
        detail = ", ".join(f"{c!r} ({k} times)" for c, k in n.items())
        raise SpecError(
            f"data has duplicated column names used by the spec: {detail}. A role "
            "must name one column: rename or drop the copies first, e.g. "
            "data.loc[:, ~data.columns.duplicated()]."
        )


def _check_cohort_codes(
    raw: np.ndarray,
    col: str,
    never_treated: str,
    t: np.ndarray,
    unit_code: np.ndarray,
    labels: pd.Index,
) -> None:
    """Reject cohort values that can only be a never-treated code in disguise.

    Negative cohorts are impossible when every period is non-negative (a -1 or
    -99 meant "never treated"), and so is a cohort of 0 under ``never_treated``
    "inf" or "missing" when the periods start more than their span after 0
    (years). Without this check those units would be dropped as already treated.
    """
    t_min, t_max = int(t.min()), int(t.max())
    bad = np.zeros(raw.shape, dtype=bool)
    if t_min >= 0:
        bad |= raw < 0  # NaN and inf compare False / inf is not < 0
    zero_sentinel = never_treated != "zero" and t_min - (t_max - t_min) > 0
    if zero_sentinel:
        bad |= raw == 0
    if not bad.any():
        return
    values = np.unique(raw[bad])
    n_units = int(np.unique(unit_code[bad]).size)
    pos = int(np.flatnonzero(bad)[0])
    codes = {
        "zero": "0 (never_treated='zero', the default)",
        "inf": "inf (never_treated='inf')",
        "missing": "NaN (never_treated='missing')",
    }
    raise DataError(
        f"Column {col!r} (cohort) holds {_examples(values.astype(np.int64))} for "
        f"{n_units} unit(s) (e.g. row {plain(labels[pos])!r}), but the periods run "
        f"from {t_min} to {t_max}, so no unit can be first treated then. If these "
        f"units are never treated, code them as {codes['zero']}, "
        f"{codes['inf']} or {codes['missing']}, and set spec.never_treated "
        f"accordingly (now {never_treated!r}); if they were treated before the "
        "sample, give their actual first treated period."
    )


def _zero_weight_cohorts(
    weights: np.ndarray,
    unit_code: np.ndarray,
    cohort_unit: np.ndarray,
    first_row: np.ndarray,
    col: str,
    is_panel: bool,
) -> tuple[int, str] | None:
    """Note the treated cohorts whose units all have zero weight (raise if all do).

    Returns the number of units of those cohorts and the note, or None.
    """
    w_unit = (
        weights[first_row]
        if is_panel  # constant within unit
        else np.bincount(unit_code, weights=weights, minlength=len(cohort_unit))
    )
    treated = np.isfinite(cohort_unit)
    cohorts, inverse = np.unique(cohort_unit[treated], return_inverse=True)
    total = np.bincount(inverse, weights=w_unit[treated], minlength=len(cohorts))
    zero = total <= 0
    if not zero.any():
        return None
    n_units = int(np.isin(cohort_unit, cohorts[zero]).sum())
    shown = _examples(cohorts[zero].astype(np.int64), 6)
    if zero.all():
        raise IdentificationError(
            f"Every treated unit ({n_units}, cohort(s) {shown}) has zero weight in "
            f"column {col!r}: no treated unit enters a weighted estimate. Check the "
            "weights, or drop spec.weights for an unweighted analysis."
        )
    return n_units, (
        f"Cohort(s) {shown} ({n_units} unit(s)) have zero total weight in column "
        f"{col!r}: their effects cannot be estimated and they add nothing to "
        "aggregates. Check the weights if they should count."
    )


def _check_finite(values: np.ndarray, col: str, role: str, labels: pd.Index) -> None:
    """Raise on +/-inf or on magnitudes whose squares overflow (NaN is handled later)."""
    # fmax/fmin skip NaN and allocate nothing (this runs on every payload column)
    if values.size == 0 or (
        np.fmax.reduce(values) <= MAX_ABS_VALUE
        and np.fmin.reduce(values) >= -MAX_ABS_VALUE
    ):
        return
    big = np.abs(values) > MAX_ABS_VALUE  # NaN compares False
    if not big.any():  # pragma: no cover - all NaN; handled as missing later
        return
    inf = np.isinf(values)
    if inf.any():
        pos = int(np.flatnonzero(inf)[0])
        raise DataError(
            f"Column {col!r} ({role}) has infinite values in {int(inf.sum())} row(s) "
            f"(e.g. row {plain(labels[pos])!r}: {values[pos]}). Infinite values "
            "usually come from a computation upstream (log of 0, division by 0): fix "
            "it, or set them to NaN so that missing='drop' drops those rows with a "
            f"note: data[{col!r}] = data[{col!r}].replace([np.inf, -np.inf], np.nan)."
        )
    pos = int(np.flatnonzero(big)[0])
    raise DataError(
        f"Column {col!r} ({role}) has {int(big.sum())} value(s) of magnitude above "
        f"{MAX_ABS_VALUE:.0e} (e.g. row {plain(labels[pos])!r}: {values[pos]:.3g}): "
        "their squares overflow float64, so standard errors would be infinite or "
        "NaN. Rescale the column (divide it by a power of ten, or take logs)."
    )


def prepare_panel(
    data: pd.DataFrame,
    spec: PanelSpec | RepeatedCrossSectionSpec,
    *,
    missing: Missing = "drop",
    balance: Balance = "allow",
    treated_first_period: TreatedFirst = "drop",
    require_comparison: bool = True,
    anticipation: int = 0,
) -> PreparedPanel:
    """Validate a DataFrame against a spec and return a canonical prepared copy.

    Parameters
    ----------
    data : pandas.DataFrame
        Long data. Never modified.
    spec : PanelSpec or RepeatedCrossSectionSpec
        Column roles.
    missing : {"drop", "raise"}, default "drop"
        Rows with a missing outcome, covariate or weight are dropped (with a
        :class:`~tne_eval.errors.DroppedObservationsWarning` giving counts by
        column, and a note) or raise :class:`~tne_eval.errors.DataError`.
        Missing values in key columns (unit, time, cohort, cluster, nesting) always
        raise: they cannot be dropped without changing the design silently.
    balance : {"allow", "require", "drop"}, default "allow"
        For panels: keep an unbalanced panel, raise if unbalanced, or drop the
        units not observed in every period (with a warning and a note).
    treated_first_period : {"drop", "raise", "keep"}, default "drop"
        Units already treated in their first observed period (for repeated
        cross-sections: groups treated in the first period of the data) carry no
        pre-treatment information for DiD. ``"drop"`` removes them with a warning
        and a note (as R ``did`` does), ``"raise"`` raises, ``"keep"`` keeps them
        (for estimators that use always-treated units, such as a TWFE benchmark).
    require_comparison : bool, default True
        Raise :class:`~tne_eval.errors.IdentificationError` when no unit can serve
        as a comparison: no never-treated unit and a single treated cohort.
    anticipation : int, default 0
        Number of periods before treatment in which units may already react to it
        (R ``did``'s ``anticipation``, written delta here). It moves two cut-offs,
        each with a note. Cohorts g > max(t) + delta are recoded as never treated:
        they are neither treated nor anticipating in any observed period, whereas a
        cohort with max(t) < g <= max(t) + delta anticipates inside the sample and
        is kept. And ``treated_first_period`` applies to units with
        g <= first period + delta, which have no period free of anticipation.

    Notes
    -----
    Non-finite values: ``NaN`` in the outcome, a covariate or the weights is a
    missing value, handled by ``missing``. ``inf`` and ``-inf`` always raise
    :class:`~tne_eval.errors.DataError`: they signal a computation that went wrong
    upstream (a log of 0, a division by 0) and dropping them quietly would hide it.
    Set them to ``NaN`` first to drop those rows with a note. Values of magnitude
    above ``MAX_ABS_VALUE`` (1e100) raise too, since their squares overflow float64;
    rescale the column. Integer periods and cohorts must lie within +/-2**53, the
    range float64 holds exactly.

    Returns
    -------
    PreparedPanel
        The canonical copy, derived arrays and the drop report.

    Raises
    ------
    SpecError
        Columns named by the spec are missing.
    TneEvalTypeError
        Non-numeric time, cohort, outcome, covariate or weight columns.
    SpecError
        Columns named by the spec appear more than once in the data.
    TneEvalTypeError
        MultiIndex columns; time, cohort, outcome, covariate or weights of a
        non-numeric dtype (text, numbers stored as text, dates, booleans,
        categories, complex numbers); each message gives the conversion to apply.
    DataError
        An empty frame, or a step that leaves no row (the message names the step);
        duplicate unit x time rows, missing key values, non-integer periods,
        integers beyond 2**53, infinite or overflowing values, negative or
        otherwise impossible cohort codes, cohort / cluster / weights / nesting
        varying within a unit, a 0/1 treatment that switches off, negative
        weights or weights summing to 0, an unbalanced panel with
        ``balance="require"``, missing values with ``missing="raise"``, units
        treated in their first period with ``treated_first_period="raise"``.
    IdentificationError
        No treated unit, every treated unit with zero weight, or no comparison
        unit (see ``require_comparison``).

    Warns
    -----
    DroppedObservationsWarning
        Whenever rows or units are dropped; the same text goes to ``report.notes``.
    TneEvalWarning
        When a treated cohort has zero total weight (its effects cannot be
        estimated); the same text goes to ``report.notes``.

    Examples
    --------
    >>> import pandas as pd
    >>> from tne_eval.data import PanelSpec, prepare_panel
    >>> df = pd.DataFrame({"school": ["a", "a", "b", "b", "c", "c"],
    ...                    "year": [2019, 2020] * 3, "y": [1.0, 2.0, 1.5, 2.5, 0.0, 3.0],
    ...                    "g": [2020, 2020, 0, 0, 0, 0]})
    >>> prep = prepare_panel(df, PanelSpec(unit="school", time="year", outcome="y",
    ...                                    cohort="g"))
    >>> prep.n_units, prep.balanced, prep.cohort.tolist()
    (3, True, [2020.0, inf, inf])
    """
    check_dataframe(data)
    check_spec(spec)
    check_choice(missing, "missing", ("drop", "raise"))
    check_choice(balance, "balance", ("allow", "require", "drop"))
    check_choice(
        treated_first_period, "treated_first_period", ("drop", "raise", "keep")
    )
    anticipation = check_int(anticipation, "anticipation", minimum=0)
    is_panel = isinstance(spec, PanelSpec)
    _check_column_labels(data, spec)
    check_columns_exist(data, spec.columns, role=type(spec).__name__)

    n_in = len(data)
    if n_in == 0:
        raise DataError(
            f"data has no rows (columns {_examples(list(spec.columns), 12)}): there "
            "is nothing to prepare. Check the filter or the file that produced it."
        )
    records: list[DropRecord] = []
    # A new frame: selecting columns copies (or, under copy-on-write, copies on the
    # first change), so the caller's frame is never modified.
    df = data[list(spec.columns)].copy(deep=False)
    df.index = pd.RangeIndex(n_in)
    unit = spec.unit

    # -- key columns: never silently dropped -----------------------------------
    keys = [unit, spec.time, *([spec.cluster] if spec.cluster else []), *spec.nesting]
    if spec.treatment:
        keys.append(spec.treatment)
    if spec.cohort and spec.never_treated != "missing":
        keys.append(spec.cohort)
    if not is_panel and spec.id:
        keys.append(spec.id)
    for col in dict.fromkeys(keys):
        na = df[col].isna().to_numpy()
        if na.any():
            hint = (
                " If NaN marks never-treated units, set never_treated='missing'."
                if col == spec.cohort
                else ""
            )
            raise DataError(
                f"Column {col!r} is a key column and has {int(na.sum())} missing "
                f"value(s) (e.g. rows {_row_examples(data.index[na][:3])}). Key "
                f"columns cannot be dropped silently; fill or drop those rows.{hint}"
            )

    labels = data.index
    time_values = _integer_column(df, spec.time, "time", labels)
    df[spec.time] = time_values.astype(np.int64)

    # -- numeric payload columns -----------------------------------------------
    for col, role in (
        [(spec.outcome, "outcome")]
        + [(c, "covariate") for c in spec.covariates]
        + ([(spec.weights, "weights")] if spec.weights else [])
    ):
        _check_numeric(df[col], col, role)
        values = df[col].to_numpy(dtype=float, na_value=np.nan)
        _check_finite(values, col, role, labels)
        df[col] = values
    if spec.weights:
        w = df[spec.weights].to_numpy()
        neg = w < 0
        if neg.any():
            pos = int(np.flatnonzero(neg)[0])
            raise DataError(
                f"Column {spec.weights!r} (weights) has {int(neg.sum())} negative "
                f"value(s) (e.g. {_examples(np.unique(w[neg]))}), first at row "
                f"{plain(labels[pos])!r}. Sampling weights must be non-negative: "
                "fix them, or drop those rows."
            )

    # -- missing payload values -------------------------------------------------
    payload = [spec.outcome, *spec.covariates] + (
        [spec.weights] if spec.weights else []
    )
    na_frame = df[payload].isna()
    na_any = na_frame.any(axis=1).to_numpy()
    if na_any.any():
        counts = {c: int(n) for c, n in na_frame.sum().items() if n}
        detail = ", ".join(f"{c!r}: {n}" for c, n in counts.items())
        if missing == "raise":
            raise DataError(
                f"{int(na_any.sum())} row(s) have missing values ({detail}), e.g. "
                f"row {plain(labels[int(np.flatnonzero(na_any)[0])])!r}. Drop them "
                "first or call with missing='drop'."
            )
        n_units_hit = df.loc[na_any, unit].nunique()
        msg = (
            f"Dropped {int(na_any.sum())} of {n_in} rows with missing values "
            f"({detail})."
        )
        if na_any.all():
            raise DataError(
                f"No rows are left after dropping missing values: all {n_in} rows "
                f"have a missing outcome, covariate or weight ({detail}). Check "
                "those columns (a failed merge or a wrong column name often does "
                "this) or drop the covariate that is always missing."
            )
        records.append(DropRecord("missing", int(na_any.sum()), n_units_hit, msg))
        df = df.loc[~na_any].reset_index(drop=True)
        labels = labels[~na_any]
        warn(msg, DroppedObservationsWarning)

    # -- sort & codes ----------------------------------------------------------------
    unit_code, unit_ids = _as_codes(df[unit])
    _check_id_types(unit_ids, unit, "unit" if is_panel else "group")
    t = df[spec.time].to_numpy()
    is_sorted = bool(
        np.all(
            (unit_code[1:] > unit_code[:-1])
            | ((unit_code[1:] == unit_code[:-1]) & (t[1:] >= t[:-1]))
        )
    )
    if not is_sorted:
        order = np.lexsort((t, unit_code))
        df = df.iloc[order].reset_index(drop=True)
        unit_code = unit_code[order]
        t = t[order]
        labels = labels[order]

    # -- duplicates (adjacent once sorted) ---------------------------------------------
    if is_panel:
        dup = np.r_[False, (unit_code[1:] == unit_code[:-1]) & (t[1:] == t[:-1])]
        dup[:-1] |= dup[1:]
        dup_key = [unit, spec.time]
    else:
        dup_key = [spec.id] if spec.id else []
        dup = (
            df.duplicated(dup_key, keep=False).to_numpy()
            if dup_key
            else np.zeros(len(df), dtype=bool)
        )
    if dup.any():
        ex = df.loc[dup, dup_key].iloc[0].tolist()
        what = "unit x time" if is_panel else "id"
        raise DataError(
            f"{int(dup.sum())} rows share their {what} key {dup_key} with another "
            f"row (e.g. {tuple(plain(v) for v in ex)!r}). A panel needs one row per "
            "unit and period: aggregate or deduplicate first (for pupil-level data, "
            "use RepeatedCrossSectionSpec)."
        )
    boundary = np.r_[True, unit_code[1:] != unit_code[:-1]]

    def varying(values: np.ndarray) -> np.ndarray:
        """Per-row flag: differs from the previous row of the same unit."""
        codes = pd.factorize(values)[0] if values.dtype == object else values
        diff = np.r_[False, codes[1:] != codes[:-1]]
        if values.dtype.kind == "f":
            both_nan = np.r_[False, np.isnan(values[1:]) & np.isnan(values[:-1])]
            diff &= ~both_nan
        return diff & ~boundary

    def check_constant(col: str, role: str, fix: str) -> None:
        vals = df[col].to_numpy()
        if isinstance(df[col].dtype, pd.CategoricalDtype):
            vals = np.asarray(df[col].cat.codes)
        bad = varying(vals)
        if bad.any():
            units_bad = pd.unique(unit_code[bad])
            ex_unit = unit_ids[units_bad[0]]
            ex_vals = pd.unique(df.loc[unit_code == units_bad[0], col])[:3]
            raise DataError(
                f"Column {col!r} ({role}) varies within {len(units_bad)} of "
                f"{len(unit_ids)} units (e.g. unit {plain(ex_unit)!r} has "
                f"{_examples(ex_vals)}). {fix}"
            )

    # -- cohort ---------------------------------------------------------------------
    cohort_col = spec.cohort
    if spec.treatment:
        derived = cohort_from_treatment(
            df, unit=unit, time=spec.time, treatment=spec.treatment, never_treated="inf"
        )
        cohort_col = "_cohort"
        while cohort_col in df.columns:
            cohort_col = "_" + cohort_col
        df[cohort_col] = derived.to_numpy()
        df = df.drop(columns=spec.treatment)
        # the derived cohort marks never-treated units with inf (a unit first
        # treated in period 0 must not read as never treated)
        spec = spec.update(cohort=cohort_col, treatment=None, never_treated="inf")
    cohort_unit: np.ndarray | None = None
    if cohort_col:
        raw = _integer_column(df, cohort_col, "cohort", labels, allow_inf=True)
        _check_cohort_codes(raw, cohort_col, spec.never_treated, t, unit_code, labels)
        if spec.never_treated == "zero":
            raw = np.where(raw == 0, np.inf, raw)
        elif spec.never_treated == "missing":
            raw = np.where(np.isnan(raw), np.inf, raw)
        elif np.isnan(raw).any():  # pragma: no cover - caught as key NaN above
            raise DataError(f"Column {cohort_col!r} (cohort) has missing values.")
        df[cohort_col] = raw
        check_constant(
            cohort_col,
            "cohort",
            "The cohort must be the first treated period and constant within unit; "
            "if you have a 0/1 treatment column, give it as spec.treatment or derive "
            "the cohort with tne_eval.data.cohort_from_treatment().",
        )
    if spec.cluster:
        check_constant(
            spec.cluster,
            "cluster",
            "Clusters must be at or above the unit level (e.g. the department of a "
            "school); a unit cannot move between clusters.",
        )
    for level in spec.nesting:
        check_constant(
            level,
            "nesting level",
            "Each unit must belong to one element of every level above it.",
        )
    if is_panel and spec.weights:
        check_constant(
            spec.weights,
            "weights",
            "Panel sampling weights must be constant within unit (use the "
            "first-period weight).",
        )
    for finer, coarser in zip(spec.nesting[:-1], spec.nesting[1:]):
        per = df.groupby(finer, observed=True)[coarser].nunique()
        if (per > 1).any():
            ex = per.index[per > 1][0]
            raise DataError(
                f"Nesting {finer!r} -> {coarser!r} is broken: {int((per > 1).sum())} "
                f"value(s) of {finer!r} belong to several {coarser!r} (e.g. {plain(ex)!r}). "
                "Each level must be nested in the next one."
            )

    # -- cohorts relative to the observed periods -------------------------------------
    if cohort_col:
        coh = df[cohort_col].to_numpy()
        last = t.max()
        horizon = last + anticipation
        late = np.isfinite(coh) & (coh > horizon)
        if late.any():
            n_late = int(np.unique(unit_code[late]).size)
            late_cohorts = _examples(np.unique(coh[late]).astype(np.int64), 6)
            if anticipation:
                why = (
                    f" plus anticipation={anticipation}, i.e. after period "
                    f"{horizon} (cohort(s) {late_cohorts}), were recoded as never "
                    "treated within the sample: they are neither treated nor "
                    "anticipating treatment in any observed period."
                )
                kept = np.isfinite(coh) & (coh > last) & ~late
                if kept.any():
                    why += (
                        f" Cohort(s) {_examples(np.unique(coh[kept]).astype(np.int64))}"
                        " start after the last period but within the anticipation "
                        "window, so they anticipate inside the sample and stay treated."
                    )
            else:
                why = (
                    f" (cohort(s) {late_cohorts}) were recoded as never treated "
                    "within the sample: they are untreated in every observed period."
                )
            coh = np.where(late, np.inf, coh)
            df[cohort_col] = coh
            records.append(
                DropRecord(
                    "late_cohort",
                    0,
                    n_late,
                    f"{n_late} unit(s) first treated after the last period {last}"
                    + why,
                )
            )
        if is_panel:
            starts = np.r_[0, np.flatnonzero(np.diff(unit_code)) + 1]
            first_t = t[starts][unit_code]  # rows are sorted by unit then time
        else:  # each observation is seen once: compare with the first period
            first_t = np.full(t.shape, t.min())
        already = np.isfinite(coh) & (coh <= first_t + anticipation)
        if already.any() and treated_first_period != "keep":
            units_bad = pd.unique(unit_code[already])
            n_rows = int(already.sum())
            ex = unit_ids[units_bad[0]]
            if anticipation:
                when = (
                    f"within anticipation={anticipation} period(s) of their first "
                    "observed period"
                )
                lacks = "no period free of anticipation"
            else:
                when = "in their first observed period"
                lacks = "no pre-treatment period"
            if treated_first_period == "raise":
                raise DataError(
                    f"{len(units_bad)} unit(s) are treated {when} (e.g. unit "
                    f"{plain(ex)!r}), so they have {lacks}. Drop them, or call "
                    "with treated_first_period='drop'."
                )
            msg = (
                f"Dropped {len(units_bad)} unit(s) ({n_rows} rows) already treated "
                f"{when} (e.g. unit {plain(ex)!r}): they have {lacks}."
            )
            if n_rows == len(df):
                raise DataError(
                    f"No rows are left after dropping units already treated {when}: "
                    f"all {len(units_bad)} units are (e.g. unit {plain(ex)!r}, cohort "
                    f"{plain(coh[unit_code == units_bad[0]][0])!r}, first period "
                    f"{plain(first_t[unit_code == units_bad[0]][0])!r}). Check the "
                    f"cohort coding (never_treated={spec.never_treated!r}) and the "
                    "periods, or call with treated_first_period='keep' for an "
                    "estimator that uses always-treated units (TWFE)."
                )
            records.append(
                DropRecord("treated_first_period", n_rows, len(units_bad), msg)
            )
            keep = ~already
            df = df.loc[keep].reset_index(drop=True)
            labels = labels[keep]
            warn(msg, DroppedObservationsWarning)

    # -- balance ------------------------------------------------------------------------
    if len(df) != len(unit_code):  # rows were dropped: recode the units
        unit_code, unit_ids = _as_codes(df[unit])
    unit_ids = unit_ids.rename(unit)
    t = df[spec.time].to_numpy()
    periods = np.unique(t)
    balanced = True
    if is_panel:
        counts = np.bincount(unit_code, minlength=len(unit_ids))
        incomplete = counts < len(periods)
        balanced = not incomplete.any()
        if not balanced and balance == "require":
            ex = unit_ids[np.flatnonzero(incomplete)[0]]
            raise DataError(
                f"The panel is unbalanced: {int(incomplete.sum())} of {len(unit_ids)} "
                f"units miss some of the {len(periods)} periods (e.g. unit {plain(ex)!r}). "
                "Call with balance='drop' to keep complete units, or balance='allow' "
                "with an estimator that supports unbalanced panels."
            )
        if not balanced and balance == "drop":
            keep = ~incomplete[unit_code]
            n_rows = int((~keep).sum())
            if n_rows == len(df):
                most = int(counts.max())
                ex = unit_ids[int(np.argmax(counts))]
                raise DataError(
                    f"No rows are left after balance='drop': none of the "
                    f"{len(unit_ids)} units is observed in all {len(periods)} "
                    f"periods (the best, unit {plain(ex)!r}, has {most}). Use "
                    "balance='allow' with an estimator that supports unbalanced "
                    "panels, restrict the data to periods most units share, or "
                    "fill the gaps."
                )
            msg = (
                f"Dropped {int(incomplete.sum())} unit(s) ({n_rows} rows) not observed "
                f"in all {len(periods)} periods to balance the panel."
            )
            records.append(DropRecord("unbalanced", n_rows, int(incomplete.sum()), msg))
            warn(msg, DroppedObservationsWarning)
            df = df.loc[keep].reset_index(drop=True)
            labels = labels[keep]
            unit_code, unit_ids = _as_codes(df[unit])
            unit_ids = unit_ids.rename(unit)
            t = df[spec.time].to_numpy()
            periods = np.unique(t)
            balanced = True
    time_code = np.searchsorted(periods, t)
    first_row = np.r_[0, np.flatnonzero(np.diff(unit_code)) + 1]

    if cohort_col:
        cohort_unit = df[cohort_col].to_numpy()[first_row].astype(float)
        treated = np.isfinite(cohort_unit)
        if not treated.any():
            raise IdentificationError(
                f"No unit is ever treated (column {cohort_col!r}): there is no "
                "effect to estimate. Check the cohort coding (never_treated="
                f"{spec.never_treated!r})."
            )
        if require_comparison and treated.all() and np.unique(cohort_unit).size < 2:
            raise IdentificationError(
                "There is no comparison unit: no never-treated unit and a single "
                f"treated cohort ({cohort_unit[0]:g}), so no unit is ever "
                "not-yet-treated. DiD needs never-treated or later-treated units."
            )

    cluster_col = spec.cluster_col
    if cluster_col == unit:
        cluster_code, cluster_ids = np.arange(len(unit_ids)), unit_ids
    else:
        cluster_code, cluster_ids = _as_codes(df[cluster_col].iloc[first_row])
        _check_id_types(cluster_ids, cluster_col, "cluster")
        cluster_ids = cluster_ids.rename(cluster_col)
    weights = (
        df[spec.weights].to_numpy(dtype=float)
        if spec.weights
        else np.ones(len(df), dtype=float)
    )
    if weights.sum() <= 0:
        raise DataError(
            f"Column {spec.weights!r} (weights) sums to zero over the {len(df)} rows "
            "kept: every weight is 0. At least one weight must be positive; check "
            "the column, or drop spec.weights for an unweighted analysis."
        )
    if spec.weights and cohort_unit is not None:
        zero = _zero_weight_cohorts(
            weights, unit_code, cohort_unit, first_row, spec.weights, is_panel
        )
        if zero is not None:
            n_zero, zero_note = zero
            records.append(DropRecord("zero_weight_cohort", 0, n_zero, zero_note))
            warn(zero_note, TneEvalWarning)

    return PreparedPanel(
        spec=spec,
        data=df,
        unit_ids=unit_ids,
        unit_code=unit_code,
        periods=periods,
        time_code=time_code,
        cohort=cohort_unit,
        cluster_ids=cluster_ids,
        cluster_code=cluster_code,
        weights=weights,
        balanced=balanced,
        report=DropReport(n_in, tuple(records)),
    )
