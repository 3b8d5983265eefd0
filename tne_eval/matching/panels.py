r"""Matching before difference-in-differences: aggregates and pre-period trajectories.

* :func:`aggregate_units`: one row per group (e.g. a department) built from a
  school or pupil panel: pre-period outcome levels by period, their linear
  trend, covariate means, and columns constant within the group, ready for
  :func:`~tne_eval.matching.match` (matching departments on aggregates);
* :func:`trajectories`: weighted means of the outcome by period for the treated
  units and their matched comparison units (and all comparison units,
  unweighted), the balance check on pre-period trajectories; ``plot()`` draws
  them (:func:`tne_eval.plotting.balance.plot_trajectories`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tne_eval._validation import check_columns_exist, check_dataframe, format_examples
from tne_eval._warnings import warn
from tne_eval.data.prepare import DropRecord, DropReport
from tne_eval.errors import (
    DataError,
    DroppedObservationsWarning,
    SpecError,
    TneEvalTypeError,
)
from tne_eval.matching.results import MatchResult
from tne_eval.notes import Note, NoteKind

if TYPE_CHECKING:
    from collections.abc import Mapping

    from matplotlib.axes import Axes

__all__ = ["TrajectoryResult", "aggregate_units", "trajectories"]


def _names(value: object, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TneEvalTypeError(
            f"{name} must be a sequence of column names, not the single string "
            f"{value!r}; write {name}=({value!r},)."
        )
    return tuple(value)  # type: ignore[arg-type]


def aggregate_units(
    panel: pd.DataFrame,
    *,
    by: str,
    time: str,
    outcome: str,
    pre_periods: Sequence[object],
    covariates: Sequence[str] = (),
    constant: Sequence[str] = (),
    weights: str | None = None,
) -> pd.DataFrame:
    r"""One row per group of a panel: pre-period outcome levels, trend and covariates.

    Builds the cross-section on which to match groups of units (departments,
    académies) rather than units: for each group, the weighted mean outcome in
    each pre-period, the least-squares slope of those means on the period, and
    weighted covariate means over the pre-period rows.

    Parameters
    ----------
    panel : pandas.DataFrame
        Long school or pupil panel (not modified).
    by : str
        Group column (e.g. ``"department"``); one output row per value.
    time : str
        Period column (numeric).
    outcome : str
        Outcome column.
    pre_periods : sequence
        Periods to summarise (before any treatment of any group matched).
    covariates : sequence of str, default ()
        Numeric columns averaged over the pre-period rows (e.g. the social
        index).
    constant : sequence of str, default ()
        Columns constant within group carried over (e.g. ``"first_treated"``,
        ``"academie"``).
    weights : str, optional
        Row weights of the means (e.g. pupils per school); default equal.

    Returns
    -------
    pandas.DataFrame
        Indexed by nothing (``by`` is a column): ``by``, ``constant`` columns,
        ``f"{outcome}_{t}"`` for each pre-period ``t``, ``f"{outcome}_mean"``,
        ``f"{outcome}_trend"`` (per period), each covariate, ``n_rows`` (rows
        used) and ``weight`` (their total weight). ``frame.attrs["drop_report"]``
        is a :class:`~tne_eval.data.DropReport` counting every row left out.

    Raises
    ------
    SpecError
        Missing columns, fewer than one pre-period, or ``pre_periods`` absent
        from the panel.
    DataError
        A ``constant`` column varying within a group (named, with an example),
        negative weights, or non-numeric outcome/covariates.

    Warns
    -----
    DroppedObservationsWarning
        When rows (missing outcome, covariate or weight) or whole groups (no
        outcome in some pre-period) are left out; counts in the drop report.

    Notes
    -----
    The trend is :math:`\hat\beta_g` of :math:`\bar Y_{gt} = a_g + \beta_g t`
    over the pre-periods, by ordinary least squares on the group means. Matching
    on trends and covariates, rather than on levels, avoids the regression to
    the mean of Daw & Hatfield (2018) when groups were selected on lasting
    characteristics (see the matching documentation page).

    Examples
    --------
    >>> import pandas as pd
    >>> panel = pd.DataFrame({"dep": ["a"] * 4 + ["b"] * 4, "year": [1, 2] * 4,
    ...                       "y": [1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 2.0, 2.0],
    ...                       "g": [0] * 4 + [2] * 4})
    >>> agg = aggregate_units(panel, by="dep", time="year", outcome="y",
    ...                       pre_periods=[1, 2], constant=["g"])
    >>> agg[["dep", "g", "y_1", "y_2", "y_trend"]].to_numpy().tolist()
    [['a', 0, 2.0, 3.0, 1.0], ['b', 2, 1.0, 1.0, 0.0]]
    """
    frame = check_dataframe(panel, "panel")
    covariates = _names(covariates, "covariates")
    constant = _names(constant, "constant")
    pre = list(pre_periods) if not isinstance(pre_periods, str) else [pre_periods]
    if not pre:
        raise SpecError("pre_periods is empty: name at least one pre-period.")
    cols = tuple(
        dict.fromkeys(
            (by, time, outcome, *covariates, *constant)
            + ((weights,) if weights else ())
        )
    )
    check_columns_exist(frame, cols, role="aggregate_units")
    absent = [t for t in pre if not (frame[time] == t).any()]
    if absent:
        raise SpecError(
            f"pre_periods {absent} do not occur in panel[{time!r}] (periods "
            f"present: {format_examples(sorted(frame[time].unique()), 10)})."
        )
    for name in (outcome, *covariates) + ((weights,) if weights else ()):
        if not pd.api.types.is_numeric_dtype(frame[name]):
            raise DataError(
                f"panel[{name!r}] must be numeric to be averaged (dtype "
                f"{frame[name].dtype})."
            )
    # constant columns: check on all rows of each group
    for name in constant:
        varies = frame.groupby(by, sort=True)[name].nunique(dropna=False) > 1
        if varies.any():
            raise DataError(
                f"panel[{name!r}] varies within {int(varies.sum())} groups of "
                f"{by!r} (e.g. {format_examples(varies.index[varies])}); constant "
                "columns must be constant within group. Aggregate it as a covariate "
                "instead."
            )
    n_in = frame.shape[0]
    records: list[DropRecord] = []
    rows = frame.loc[frame[time].isin(pre), list(cols)]
    outside = n_in - rows.shape[0]
    if outside:
        records.append(
            DropRecord(
                "outside pre_periods",
                outside,
                0,
                f"{outside} of {n_in} rows are outside pre_periods {pre} and are not "
                "summarised.",
            )
        )
    used_cols = [by, outcome, *covariates] + ([weights] if weights else [])
    bad = rows[used_cols].isna().any(axis=1).to_numpy()
    if weights:
        neg = rows[weights].to_numpy(dtype=float) < 0
        if neg.any():
            raise DataError(
                f"panel[{weights!r}] has {int(neg.sum())} negative weights; weights "
                "must be non-negative."
            )
    if bad.any():
        detail = ", ".join(
            f"{c!r} ({int(rows[c].isna().sum())})"
            for c in used_cols
            if rows[c].isna().any()
        )
        records.append(
            DropRecord(
                "missing values",
                int(bad.sum()),
                int(rows.loc[bad, by].nunique()),
                f"{int(bad.sum())} pre-period rows have missing values ({detail}) and "
                "are left out of the means.",
            )
        )
        rows = rows.loc[~bad]
    w = rows[weights].to_numpy(dtype=float) if weights else np.ones(rows.shape[0])
    work = pd.DataFrame(
        {"_g": rows[by].to_numpy(), "_t": rows[time].to_numpy(), "_w": w},
        index=rows.index,
    )
    for c in (outcome, *covariates):
        work[c] = rows[c].to_numpy(dtype=float) * w
    cell = work.groupby(["_g", "_t"], sort=True)[["_w", outcome]].sum()
    level = (cell[outcome] / cell["_w"]).unstack("_t").reindex(columns=pre)
    incomplete = level.isna().any(axis=1)
    if incomplete.any():
        lost = work["_g"].isin(level.index[incomplete])
        records.append(
            DropRecord(
                "incomplete groups",
                int(lost.sum()),
                int(incomplete.sum()),
                f"{int(incomplete.sum())} groups of {by!r} (e.g. "
                f"{format_examples(level.index[incomplete])}) have no outcome in some "
                f"pre-period and are dropped ({int(lost.sum())} rows).",
            )
        )
        level = level.loc[~incomplete]
        work = work.loc[~lost]
    if level.shape[0] == 0:
        raise DataError(
            f"No group of {by!r} has an outcome in every pre-period {pre}: nothing "
            "to aggregate. Use fewer pre_periods."
        )
    tot = work.groupby("_g", sort=True)[["_w", outcome, *covariates]].sum()
    t = np.asarray(pre, dtype=float)
    tc = t - t.mean()
    lv = level.to_numpy()
    out = pd.DataFrame({by: level.index.to_numpy()})
    for name in constant:
        first = frame.groupby(by, sort=True)[name].first()
        out[name] = first.reindex(level.index).to_numpy()
    for j, period in enumerate(pre):
        out[f"{outcome}_{period}"] = lv[:, j]
    out[f"{outcome}_mean"] = (tot[outcome] / tot["_w"]).reindex(level.index).to_numpy()
    out[f"{outcome}_trend"] = (
        lv @ tc / (tc @ tc) if len(pre) > 1 else np.full(lv.shape[0], np.nan)
    )
    for c in covariates:
        out[c] = (tot[c] / tot["_w"]).reindex(level.index).to_numpy()
    out["n_rows"] = work.groupby("_g", sort=True).size().reindex(level.index).to_numpy()
    out["weight"] = tot["_w"].reindex(level.index).to_numpy()
    report = DropReport(n_in, tuple(records))
    lost_rows = [r for r in records if r.reason != "outside pre_periods"]
    if lost_rows:
        warn(
            " ".join(r.message for r in lost_rows)
            + " The counts are in frame.attrs['drop_report'].",
            DroppedObservationsWarning,
        )
    out.attrs["drop_report"] = report
    return out


@dataclass(frozen=True, eq=False)
class TrajectoryResult:
    """Outcome means by period for treated units and their matched comparison.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by period: ``treated`` (weighted mean of the matched treated
        units), ``matched`` (weighted mean of the matched comparison units),
        ``unmatched`` (unweighted mean of all comparison units), ``difference``
        (``treated - matched``), ``n_treated``, ``n_matched`` (units with an
        outcome that period).
    outcome, time : str
        Columns summarised.
    treatment_start : object or None
        First treated period, marked on the plot.
    matched_on : tuple
        Periods whose outcomes were matched on (shaded on the plot).
    notes : tuple of Note
        Counts of rows left out.
    options : mapping
        The call's options.
    """

    table: pd.DataFrame
    outcome: str
    time: str
    treatment_start: object | None
    matched_on: tuple
    notes: tuple[Note, ...]
    options: Mapping[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of :attr:`table`."""
        return self.table.copy()

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Plot treated vs matched means by period.

        See :func:`tne_eval.plotting.balance.plot_trajectories`.
        """
        from tne_eval.plotting.balance import plot_trajectories

        return plot_trajectories(self, ax=ax, **kwargs)

    def __repr__(self) -> str:
        return f"<TrajectoryResult: {self.outcome} by {self.time}, {len(self.table)} periods>"


def trajectories(
    panel: pd.DataFrame,
    match_result: MatchResult,
    *,
    unit: str,
    time: str,
    outcome: str,
    treatment_start: object | None = None,
    matched_on: Sequence[object] = (),
) -> TrajectoryResult:
    """Outcome means by period, treated vs matched comparison units (weights applied).

    The balance check of matching before difference-in-differences: before
    treatment the two curves should move together (and, if the outcome was
    not matched on, also sit close together); a gap opening right after the
    periods matched on is the regression to the mean of Daw & Hatfield (2018).

    Parameters
    ----------
    panel : pandas.DataFrame
        Long panel (not modified) holding every unit of the match.
    match_result : MatchResult
        From :func:`~tne_eval.matching.match` on one row per unit, with
        ``spec.unit`` naming the ids used in ``panel[unit]``.
    unit, time, outcome : str
        Columns of ``panel``.
    treatment_start : optional
        First treated period (a vertical line on the plot).
    matched_on : sequence, default ()
        Periods whose outcomes entered the matching (shaded on the plot).

    Returns
    -------
    TrajectoryResult
        ``table`` and ``plot()``.

    Raises
    ------
    SpecError
        Missing columns, or a match result without unit ids.
    DataError
        Matched units missing from the panel, or a non-numeric outcome.

    Examples
    --------
    >>> import pandas as pd
    >>> import tne_eval as tne
    >>> cross = pd.DataFrame({"s": list("abcd"), "d": [1, 0, 0, 1], "x": [1.0, 1.1, 5.0, 4.8]})
    >>> m = tne.match(cross, tne.CrossSectionSpec(outcome=None, treatment="d",
    ...               covariates=("x",), unit="s"), distance="mahalanobis")
    >>> panel = pd.DataFrame({"s": list("abcd") * 2, "year": [1] * 4 + [2] * 4,
    ...                       "y": [1.0, 2.0, 3.0, 4.0, 2.0, 3.0, 4.0, 6.0]})
    >>> trajectories(panel, m, unit="s", time="year", outcome="y").table["difference"].tolist()
    [0.0, 0.5]
    """
    frame = check_dataframe(panel, "panel")
    if not isinstance(match_result, MatchResult):
        raise TneEvalTypeError(
            f"match_result must be a MatchResult from match() (got "
            f"{type(match_result).__name__})."
        )
    check_columns_exist(frame, (unit, time, outcome), role="trajectories")
    if match_result.spec.unit is None:
        raise SpecError(
            "The match result identifies units by the index of its data (spec.unit "
            "is None); refit match() with spec.unit naming the unit column shared "
            "with the panel."
        )
    if not pd.api.types.is_numeric_dtype(frame[outcome]):
        raise DataError(
            f"panel[{outcome!r}] must be numeric (dtype {frame[outcome].dtype})."
        )
    ids = match_result.ids
    w = pd.Series(match_result.analysis_weights.to_numpy(), index=ids)
    treated = pd.Series(match_result.treated.to_numpy(), index=ids)
    present = ids.isin(pd.unique(frame[unit]))
    used = (w > 0).to_numpy()
    if not present[used].all():
        missing = ids[used & ~present]
        raise DataError(
            f"{missing.size} matched units are not in panel[{unit!r}] (e.g. "
            f"{format_examples(missing)}): their trajectories cannot be drawn."
        )
    rows = frame.loc[frame[unit].isin(ids), [unit, time, outcome]]
    notes: list[Note] = []
    miss = rows[outcome].isna().to_numpy()
    if miss.any():
        notes.append(
            Note(
                f"{int(miss.sum())} panel rows of matched or comparison units have no "
                f"{outcome!r} and are left out of that period's means.",
                NoteKind.DATA,
            )
        )
        rows = rows.loc[~miss]
    uid = rows[unit].to_numpy()
    wt = w.reindex(uid).to_numpy()
    is_t = treated.reindex(uid).to_numpy(dtype=bool)
    y = rows[outcome].to_numpy(dtype=float)
    per = rows[time].to_numpy()
    tab = pd.DataFrame({"t": per, "y": y, "w": wt, "treat": is_t})
    tab["wy"] = tab["w"] * tab["y"]
    tab["pos"] = tab["w"] > 0

    def _mean(mask, weighted=True):
        sub = tab.loc[mask]
        g = sub.groupby("t", sort=True)
        if weighted:
            return g["wy"].sum() / g["w"].sum()
        return g["y"].mean()

    out = pd.DataFrame(
        {
            "treated": _mean(tab["treat"] & tab["pos"]),
            "matched": _mean(~tab["treat"] & tab["pos"]),
            "unmatched": _mean(~tab["treat"], weighted=False),
        }
    )
    out["difference"] = out["treated"] - out["matched"]
    out["n_treated"] = tab.loc[tab["treat"] & tab["pos"]].groupby("t").size()
    out["n_matched"] = tab.loc[~tab["treat"] & tab["pos"]].groupby("t").size()
    out[["n_treated", "n_matched"]] = (
        out[["n_treated", "n_matched"]].fillna(0).astype(int)
    )
    out.index.name = time
    return TrajectoryResult(
        table=out,
        outcome=outcome,
        time=time,
        treatment_start=treatment_start,
        matched_on=tuple(matched_on),
        notes=tuple(notes),
        options=MappingProxyType({"unit": unit, "weights": "analysis_weights"}),
    )
