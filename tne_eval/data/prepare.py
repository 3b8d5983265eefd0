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
    plain,
)
from tne_eval._validation import format_examples as _examples
from tne_eval._warnings import warn
from tne_eval.data.cohorts import cohort_from_treatment
from tne_eval.data.spec import PanelSpec, RepeatedCrossSectionSpec
from tne_eval.errors import (
    DataError,
    DroppedObservationsWarning,
    IdentificationError,
    TneEvalTypeError,
)

__all__ = ["DropRecord", "DropReport", "PreparedPanel", "prepare_panel"]

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

    def unit_first(self, column: str) -> np.ndarray:
        """Per-unit value of ``column`` in the unit's first observed row."""
        first = np.r_[0, np.flatnonzero(np.diff(self.unit_code)) + 1]
        return self.data[column].to_numpy()[first]


def _row_examples(index: pd.Index | np.ndarray) -> str:
    return _examples(list(index))


def _as_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Factorize with sorted uniques, treating categoricals by their values."""
    if pd.api.types.is_integer_dtype(values) and values.is_monotonic_increasing:
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


def _integer_column(df: pd.DataFrame, col: str, role: str, allow_inf: bool = False):
    s = df[col]
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        raise TneEvalTypeError(
            f"Column {col!r} ({role}) must be numeric (got dtype {s.dtype}, e.g. "
            f"{_examples(s.dropna().unique()[:3])}). Code periods as integers, e.g. "
            "the school year 2020-21 as 2020."
        )
    if pd.api.types.is_integer_dtype(s) and not s.hasnans:
        return s.to_numpy(dtype=np.int64).astype(float)  # whole numbers already
    values = s.to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(values)
    bad = finite & (values != np.round(values))
    if bad.any():
        raise DataError(
            f"Column {col!r} ({role}) must hold whole numbers; {int(bad.sum())} row(s) "
            f"do not (e.g. {_examples(np.unique(values[bad]))}). Code periods as "
            "integers (2020 for 2020-21)."
        )
    if not allow_inf and np.isinf(values).any():
        raise DataError(f"Column {col!r} ({role}) holds infinite values.")
    return values


def prepare_panel(
    data: pd.DataFrame,
    spec: PanelSpec | RepeatedCrossSectionSpec,
    *,
    missing: Missing = "drop",
    balance: Balance = "allow",
    treated_first_period: TreatedFirst = "drop",
    require_comparison: bool = True,
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
    DataError
        Duplicate unit x time rows, missing key values, non-integer periods,
        cohort / cluster / weights / nesting varying within a unit, a 0/1
        treatment that switches off, negative weights, an unbalanced panel with
        ``balance="require"``, missing values with ``missing="raise"``, units
        treated in their first period with ``treated_first_period="raise"``.
    IdentificationError
        No treated unit, or no comparison unit (see ``require_comparison``).

    Warns
    -----
    DroppedObservationsWarning
        Whenever rows or units are dropped; the same text goes to ``report.notes``.

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
    if not isinstance(spec, (PanelSpec, RepeatedCrossSectionSpec)):
        raise TneEvalTypeError(
            "spec must be a PanelSpec or a RepeatedCrossSectionSpec (got "
            f"{type(spec).__name__})."
        )
    check_choice(missing, "missing", ("drop", "raise"))
    check_choice(balance, "balance", ("allow", "require", "drop"))
    check_choice(
        treated_first_period, "treated_first_period", ("drop", "raise", "keep")
    )
    is_panel = isinstance(spec, PanelSpec)
    check_columns_exist(data, spec.columns, role=type(spec).__name__)

    n_in = len(data)
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

    time_values = _integer_column(df, spec.time, "time")
    df[spec.time] = time_values.astype(np.int64)

    # -- numeric payload columns -----------------------------------------------
    for col, role in (
        [(spec.outcome, "outcome")]
        + [(c, "covariate") for c in spec.covariates]
        + ([(spec.weights, "weights")] if spec.weights else [])
    ):
        s = df[col]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            fix = (
                " Encode categories as 0/1 indicator columns first."
                if role == "covariate"
                else ""
            )
            raise TneEvalTypeError(
                f"Column {col!r} ({role}) must be numeric (got dtype {s.dtype}).{fix}"
            )
        df[col] = s.to_numpy(dtype=float, na_value=np.nan)
    if spec.weights:
        w = df[spec.weights].to_numpy()
        neg = w < 0
        if neg.any():
            raise DataError(
                f"Column {spec.weights!r} (weights) has {int(neg.sum())} negative "
                f"value(s) (e.g. {_examples(np.unique(w[neg]))}). Sampling weights "
                "must be non-negative."
            )
        if not np.isfinite(w[~np.isnan(w)]).all():
            raise DataError(f"Column {spec.weights!r} (weights) has infinite values.")

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
                f"{int(na_any.sum())} row(s) have missing values ({detail}). Drop "
                "them first or call with missing='drop'."
            )
        n_units_hit = df.loc[na_any, unit].nunique()
        msg = (
            f"Dropped {int(na_any.sum())} of {n_in} rows with missing values "
            f"({detail})."
        )
        records.append(DropRecord("missing", int(na_any.sum()), n_units_hit, msg))
        df = df.loc[~na_any].reset_index(drop=True)
        warn(msg, DroppedObservationsWarning)

    if len(df) == 0:
        raise DataError("No rows are left after preparation; see the warnings above.")

    # -- sort & codes ----------------------------------------------------------------
    unit_code, unit_ids = _as_codes(df[unit])
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
        spec = spec.update(cohort=cohort_col, treatment=None)
    cohort_unit: np.ndarray | None = None
    if cohort_col:
        raw = _integer_column(df, cohort_col, "cohort", allow_inf=True)
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
        last = t.max() if len(t) else 0
        late = np.isfinite(coh) & (coh > last)
        if late.any():
            n_late = int(pd.unique(unit_code[late]).size)
            coh = np.where(late, np.inf, coh)
            df[cohort_col] = coh
            records.append(
                DropRecord(
                    "late_cohort",
                    0,
                    n_late,
                    f"{n_late} unit(s) first treated after the last period {last} "
                    "were recoded as never treated within the sample.",
                )
            )
        if is_panel:
            starts = np.r_[0, np.flatnonzero(np.diff(unit_code)) + 1]
            first_t = t[starts][unit_code]  # rows are sorted by unit then time
        else:  # each observation is seen once: compare with the first period
            first_t = np.full(t.shape, t.min())
        already = np.isfinite(coh) & (coh <= first_t)
        if already.any() and treated_first_period != "keep":
            units_bad = pd.unique(unit_code[already])
            n_rows = int(already.sum())
            ex = unit_ids[units_bad[0]]
            if treated_first_period == "raise":
                raise DataError(
                    f"{len(units_bad)} unit(s) are treated in their first observed "
                    f"period (e.g. unit {plain(ex)!r}), so they have no pre-treatment "
                    "period. Drop them, or call with treated_first_period='drop'."
                )
            msg = (
                f"Dropped {len(units_bad)} unit(s) ({n_rows} rows) already treated in "
                f"their first observed period (e.g. unit {plain(ex)!r}): they have no "
                "pre-treatment period."
            )
            records.append(
                DropRecord("treated_first_period", n_rows, len(units_bad), msg)
            )
            keep = ~already
            df = df.loc[keep].reset_index(drop=True)
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
            msg = (
                f"Dropped {int(incomplete.sum())} unit(s) ({n_rows} rows) not observed "
                f"in all {len(periods)} periods to balance the panel."
            )
            records.append(DropRecord("unbalanced", n_rows, int(incomplete.sum()), msg))
            warn(msg, DroppedObservationsWarning)
            df = df.loc[keep].reset_index(drop=True)
            unit_code, unit_ids = _as_codes(df[unit])
            unit_ids = unit_ids.rename(unit)
            t = df[spec.time].to_numpy()
            periods = np.unique(t)
            balanced = True
    if len(df) == 0:
        raise DataError("No rows are left after preparation; see the warnings above.")
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
        cluster_ids = cluster_ids.rename(cluster_col)
    weights = (
        df[spec.weights].to_numpy(dtype=float)
        if spec.weights
        else np.ones(len(df), dtype=float)
    )
    if weights.sum() <= 0:
        raise DataError(
            f"Column {spec.weights!r} (weights) sums to zero; at least one weight "
            "must be positive."
        )

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
