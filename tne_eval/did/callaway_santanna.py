"""Callaway & Sant'Anna (2021) group-time average treatment effects."""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse

from tne_eval._validation import (
    check_alpha,
    check_choice,
    check_dataframe,
    check_int,
    format_examples,
)
from tne_eval._warnings import warn
from tne_eval.data.checks import covariate_problems, outcome_note
from tne_eval.data.prepare import PreparedPanel, prepare_panel
from tne_eval.data.spec import PanelSpec, RepeatedCrossSectionSpec, check_spec
from tne_eval.did._two_by_two import panel_2x2, propensity_score, rc_2x2
from tne_eval.did.results import GroupTimeResult
from tne_eval.errors import (
    IdentificationError,
    OverlapWarning,
    SpecError,
)
from tne_eval.inference.registry import infer, resolve, supported
from tne_eval.inference.scores import GroupMeans, InfluenceScores
from tne_eval.notes import Note, NoteKind, as_notes
from tne_eval.results.base import make_provenance

__all__ = ["SUPPORTED_INFERENCE", "att_gt"]

#: Derived from the inference registry: what influence functions support.
SUPPORTED_INFERENCE = supported(InfluenceScores)
ControlGroup = Literal["never_treated", "not_yet_treated"]
BasePeriod = Literal["varying", "universal"]
Method = Literal["reg", "ipw", "dr", "dr_improved"]


@dataclass(frozen=True)
class _Cell:
    cohort: float
    time: int
    base: int
    t_idx: int
    base_idx: int
    post: bool
    reference: bool


def _cells(
    periods: np.ndarray, cohorts: np.ndarray, anticipation: int, base_period: str
) -> tuple[list[_Cell], list[str]]:
    """Enumerate the (g, t) cells and their base periods, as R ``did`` does."""
    cells, notes = [], []
    n_t = len(periods)
    for g in cohorts:
        pre = np.flatnonzero(periods + anticipation < g)
        if pre.size == 0:
            notes.append(
                f"Cohort {g:g} has no pre-treatment period (anticipation="
                f"{anticipation}); its ATT(g,t) are not identified and were skipped."
            )
            continue
        g_base = int(pre[-1])
        t_range = range(1, n_t) if base_period == "varying" else range(n_t)
        for j in t_range:
            post = bool(g <= periods[j])
            if base_period == "universal" or post:
                b = g_base
            else:
                b = j - 1
            cells.append(
                _Cell(
                    cohort=float(g),
                    time=int(periods[j]),
                    base=int(periods[b]),
                    t_idx=j,
                    base_idx=b,
                    post=post,
                    reference=(b == j),
                )
            )
    return cells, notes


def _term(g: float, t: int) -> str:
    return f"ATT(g={g:g},t={t})"


def att_gt(
    data: pd.DataFrame,
    spec: PanelSpec | RepeatedCrossSectionSpec,
    *,
    control_group: ControlGroup = "never_treated",
    anticipation: int = 0,
    base_period: BasePeriod = "varying",
    method: Method = "dr",
    inference: object = "cluster",
    alpha: float = 0.05,
    unbalanced: Literal["drop", "keep"] = "drop",
    trim_level: float = 0.995,
) -> GroupTimeResult:
    r"""Group-time average treatment effects of Callaway & Sant'Anna (2021).

    For every treated cohort :math:`g` and period :math:`t`, ATT(g,t) is estimated
    by a 2x2 DiD comparing cohort :math:`g` with a comparison group between a base
    period and :math:`t`, by outcome regression, inverse probability weighting or
    the doubly robust estimator of Sant'Anna & Zhao (2020).

    Parameters
    ----------
    data : pandas.DataFrame
        Long data (not modified).
    spec : PanelSpec or RepeatedCrossSectionSpec
        Column roles; ``cohort`` (or ``treatment``) is required. Covariates must be
        time-invariant in spirit: for panels their value in the base period of
        each cell is used (as R ``did`` does).
    control_group : {"never_treated", "not_yet_treated"}, default "never_treated"
        Never-treated units only, or also units not yet treated (nor anticipating)
        by :math:`\max(t, \text{base})`.
    anticipation : int, default 0
        Number of periods before :math:`g` in which units may already react.
    base_period : {"varying", "universal"}, default "varying"
        Pre-treatment cells compare consecutive periods (``"varying"``) or every
        cell uses :math:`g - 1 - \text{anticipation}` (``"universal"``; the reference
        cell is reported as 0 with a NaN standard error). Post-treatment cells
        always use :math:`g - 1 - \text{anticipation}`.
    method : {"dr", "reg", "ipw", "dr_improved"}, default "dr"
        Doubly robust (R ``did``'s ``"dr"``: logit propensity score and OLS outcome
        model), outcome regression, normalised IPW, or the improved (locally
        efficient, bias-reduced) doubly robust estimator of Sant'Anna & Zhao.
    inference : inference object or str, default "cluster"
        Analytic influence-function standard errors clustered by ``spec.cluster``
        (any level at or above the unit, e.g. departments when units are schools),
        the multiplier bootstrap with a sup-t simultaneous band, or, for few
        treated clusters, ``CR2()`` (Satterthwaite df), ``CR3()``,
        ``WildBootstrap()`` (score bootstrap), ``ConleyTaber()`` and
        ``FermanPinto()``, computed from the cells' split into weighted group
        means (stored in ``scores.decomposition``; see the "Few clusters" page).
    alpha : float, default 0.05
        Significance level of intervals and bands.
    unbalanced : {"drop", "keep"}, default "drop"
        Panels only: drop units not observed in every period (with a warning), or
        keep every observation and use the repeated-cross-section estimator with
        influence functions summed by unit (R ``did``'s
        ``allow_unbalanced_panel=TRUE``).
    trim_level : float, default 0.995
        Comparison units with a propensity score above it get zero weight
        (IPW and DR), with a note.

    Returns
    -------
    GroupTimeResult
        ``to_frame()`` columns ``cohort, time, event_time, post`` then ``estimate,
        std_error, statistic, p_value, conf_low, conf_high`` (pointwise) and, with
        a bootstrap band, ``band_low, band_high``. Influence functions are stored
        (``.influence``, rows keyed by unit id) for :func:`aggregate`.

    Raises
    ------
    SpecError, TneEvalTypeError, DataError
        Bad arguments or data (see :func:`tne_eval.prepare_panel`).
    IdentificationError
        No comparison units for the chosen ``control_group``.

    Notes
    -----
    For cohort :math:`g`, period :math:`t` and base period :math:`b`, with
    :math:`G_g` the indicator of cohort :math:`g` and :math:`C` that of the
    comparison group, the doubly robust estimand is

    .. math::

        ATT(g,t) = E\left[\left(\frac{G_g}{E[G_g]} -
        \frac{\frac{p(X)C}{1-p(X)}}{E\left[\frac{p(X)C}{1-p(X)}\right]}\right)
        \left(Y_t - Y_b - m_{g,t}(X)\right)\right],

    identified under no anticipation beyond ``anticipation`` periods and parallel
    trends conditional on :math:`X` (Callaway & Sant'Anna 2021, Theorem 1).
    Every cell's influence function is scaled to the full sample
    (:math:`n/n_{gt}`) so that aggregations and cluster sums need no refit.

    Validated against the ATT(g,t) and aggregations printed by R ``did`` on mpdta,
    against ``moderndid`` (a Python port of R ``did``) over a grid of options
    (``tests/reference/did_cs``), against a hand-computed 2x2 and on noiseless
    panels where the true effect is recovered to 1e-10.

    References
    ----------
    Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-differences with
    multiple time periods. Journal of Econometrics, 225(2), 200-230.
    https://doi.org/10.1016/j.jeconom.2020.12.001

    Sant'Anna, P. H. C. & Zhao, J. (2020). Doubly robust difference-in-differences
    estimators. Journal of Econometrics, 219(1), 101-122.
    https://doi.org/10.1016/j.jeconom.2020.06.003

    Examples
    --------
    >>> import tne_eval as tne
    >>> from tne_eval.datasets import load_synthetic
    >>> panel = load_synthetic("school_panel")
    >>> spec = tne.PanelSpec(unit="school_id", time="year", outcome="score_math",
    ...                      cohort="first_treated", cluster="department",
    ...                      covariates=("social_index",))
    >>> cm2 = panel[panel["grade"] == "CM2"]
    >>> import warnings
    >>> with warnings.catch_warnings():  # two departments in the 2020 wave: noted
    ...     warnings.simplefilter("ignore", tne.SmallClusterWarning)
    ...     gt = tne.att_gt(cm2, spec, method="dr", unbalanced="keep")
    >>> cell = gt.to_frame().loc["ATT(g=2021,t=2023)"]
    >>> int(cell["cohort"]), int(cell["time"]), int(cell["event_time"]), bool(cell["post"])
    (2021, 2023, 2, True)
    >>> simple = tne.aggregate(gt, kind="simple").to_frame()
    >>> simple[["estimate", "std_error", "conf_low", "conf_high"]].round(1)
          estimate  std_error  conf_low  conf_high
    term
    ATT        4.7        0.7       3.3        6.1
    >>> truth = load_synthetic("truth")["outcomes"]["score_math_CM2"]["weightings"]
    >>> round(truth["schools"]["simple"], 1)  # the interval covers the synthetic truth
    4.1
    """
    check_dataframe(data)
    check_spec(spec)
    check_choice(control_group, "control_group", ("never_treated", "not_yet_treated"))
    check_choice(base_period, "base_period", ("varying", "universal"))
    check_choice(method, "method", ("dr", "reg", "ipw", "dr_improved"))
    check_choice(unbalanced, "unbalanced", ("drop", "keep"))
    anticipation = check_int(anticipation, "anticipation", minimum=0)
    alpha = check_alpha(alpha)
    if not (isinstance(trim_level, float) and 0.5 < trim_level <= 1.0):
        raise SpecError(
            f"trim_level must be a float in (0.5, 1] (got {trim_level!r}); the "
            "default 0.995 is R did's."
        )
    if spec.cohort is None and spec.treatment is None:
        raise SpecError(
            "att_gt needs the first treated period of each unit: set spec.cohort "
            "(or spec.treatment, a 0/1 column from which it is derived)."
        )
    inf = resolve(inference, estimator="att_gt", store_type=InfluenceScores)
    by = getattr(inf, "by", None)
    if by is not None:
        spec = spec.update(cluster=by)
    is_panel = isinstance(spec, PanelSpec)
    prep = prepare_panel(
        data,
        spec,
        missing="drop",
        balance="drop" if (is_panel and unbalanced == "drop") else "allow",
        treated_first_period="drop",
        anticipation=anticipation,
    )
    notes: list[Note] = list(as_notes(prep.report.notes, NoteKind.DATA))
    prep, cov_notes = _usable_covariates(prep)
    notes += cov_notes
    if control_group == "never_treated" and not np.isinf(prep.cohort).any():
        raise IdentificationError(
            "control_group='never_treated' but no unit is never treated in the "
            "data. Use control_group='not_yet_treated' to compare with units "
            "treated later."
        )
    if not is_panel:
        data_kind = "rc"
    else:
        data_kind = "panel" if prep.balanced else "unbalanced"
    cells_of = _panel_cells if data_kind == "panel" else _rc_cells
    cells, est, store, cell_notes = cells_of(
        prep, control_group, anticipation, base_period, method, trim_level
    )
    notes += as_notes(cell_notes, NoteKind.ESTIMATION)
    exact = method == "reg" and not prep.spec.covariates and data_kind == "panel"
    store = replace(
        store,
        estimates=np.asarray(est, dtype=float),
        decomposition=replace(store.decomposition, exact=exact),
    )
    if not cells:
        raise IdentificationError(
            "No ATT(g,t) could be estimated: every cell lacks treated or comparison "
            "units. Try control_group='not_yet_treated' or check the cohorts."
        )
    if data_kind == "unbalanced":
        notes.append(
            Note(
                "Unbalanced panel kept (unbalanced='keep'): each ATT(g,t) compares the "
                "observations of its two periods with the repeated-cross-section "
                "estimator, and influence functions are summed by unit (R did's "
                "allow_unbalanced_panel=TRUE); aggregations weight cohorts by their "
                "share of units.",
                NoteKind.ESTIMATION,
            )
        )
    terms = pd.Index([_term(c.cohort, c.time) for c in cells], name="term")
    table = pd.DataFrame(
        {
            "cohort": np.array([c.cohort for c in cells]).astype(np.int64),
            "time": np.array([c.time for c in cells], dtype=np.int64),
            "event_time": np.array([c.time - c.cohort for c in cells]).astype(np.int64),
            "post": np.array([c.post for c in cells], dtype=bool),
            "base_period": np.array([c.base for c in cells], dtype=np.int64),
            "estimate": est,
        },
        index=terms,
    )
    if base_period == "universal":
        notes.append(
            Note(
                "Universal base period: the reference cell of each cohort (t = g - 1 - "
                "anticipation) is reported as 0 with no standard error.",
                NoteKind.ESTIMATION,
            )
        )
    inferred = infer(inf, store)
    options = MappingProxyType(
        {
            "control_group": control_group,
            "anticipation": anticipation,
            "base_period": base_period,
            "method": method,
            "panel": data_kind == "panel",
            "data": data_kind,
            "unbalanced": unbalanced,
            "trim_level": trim_level,
        }
    )
    result = GroupTimeResult(
        table=table,
        spec=prep.spec,
        options=options,
        alpha=alpha,
        nobs=prep.n_obs,
        n_units=prep.n_units,
        inference=inf,
        inferred=inferred,
        scores=store,
        notes=tuple(notes) + inferred.notes,
        provenance=make_provenance(prep.fingerprint, getattr(inf, "seed", None)),
    )
    return result._after_inference()


def _usable_covariates(prep: PreparedPanel) -> tuple[PreparedPanel, list[Note]]:
    """Drop constant or collinear covariates (named in a note) and note the rest.

    A constant covariate is collinear with the intercept and a collinear one adds
    nothing to the span of the others: dropping them leaves every propensity score
    and outcome regression unchanged, where keeping them would make every cell's
    design singular.
    """
    notes: list[Note] = []
    if not prep.spec.covariates:
        return prep, notes
    problems = covariate_problems(prep)
    if not problems.ok:
        bad = set(problems.constant) | set(problems.collinear)
        kept = tuple(c for c in prep.spec.covariates if c not in bad)
        notes.append(
            Note(
                f"{problems.note} They were dropped from the propensity score and "
                "outcome regressions (the fitted values do not change).",
                NoteKind.ESTIMATION,
            )
        )
        prep = replace(prep, spec=prep.spec.update(covariates=kept))
    varying = [c for c in prep.time_varying_covariates if c in prep.spec.covariates]
    if varying:
        notes.append(
            Note(
                f"Covariate(s) {format_examples(varying, len(varying))} vary within "
                "units: each ATT(g,t) uses their value in the cell's base period (as "
                "R did), so post-treatment changes do not enter.",
                NoteKind.ESTIMATION,
            )
        )
    outcome = outcome_note(prep)
    if outcome:
        notes.append(Note(outcome, NoteKind.ESTIMATION))
    return prep, notes


def _comparison(
    cohort: np.ndarray,
    cell: _Cell,
    periods: np.ndarray,
    control_group: str,
    anticipation: int,
) -> np.ndarray:
    never = np.isinf(cohort)
    if control_group == "never_treated":
        return never
    horizon = periods[max(cell.t_idx, cell.base_idx)] + anticipation
    return never | ((cohort > horizon) & (cohort != cell.cohort))


def _kernel_notes(res, cell: _Cell, notes: list[str]) -> None:
    if res.n_trimmed:
        msg = (
            f"{_term(cell.cohort, cell.time)}: {res.n_trimmed} comparison unit(s) "
            "with a propensity score above trim_level got zero weight."
        )
        notes.append(msg)
        warn(msg, OverlapWarning)


def _name_separating(
    err: IdentificationError, x: np.ndarray, treat: np.ndarray, names: tuple[str, ...]
) -> IdentificationError:
    """Add to a failed propensity score the covariates that separate the groups.

    A covariate separates when every treated value lies above (or below) every
    comparison value: the logit then has no finite maximum.
    """
    treat = np.asarray(treat, dtype=bool)
    if not treat.any() or treat.all():
        return err
    found = []
    for k, name in enumerate(names, start=1):
        a, b = x[treat, k], x[~treat, k]
        if a.min() > b.max() or a.max() < b.min():
            found.append(name)
    if not found:
        return err
    return IdentificationError(
        f"{err} Covariate(s) {format_examples(found, len(found))} separate the "
        "treated units from the comparison units in this cell (every treated value "
        "on one side of every comparison value)."
    )


def _name_singular(
    err: IdentificationError, x: np.ndarray, treat: np.ndarray, names: tuple[str, ...]
) -> IdentificationError:
    """Add to a singular-design error the covariates constant within a group.

    A covariate constant among the treated or among the comparison units of a
    cell makes that group's regression (or the propensity score) singular there.
    """
    if "singular" not in str(err) or not names:
        return err
    treat = np.asarray(treat, dtype=bool)
    found = []
    for k, name in enumerate(names, start=1):
        for group, label in ((treat, "treated"), (~treat, "comparison")):
            vals = x[group, k]
            if vals.size and np.ptp(vals) == 0:
                found.append(f"{name!r} ({label} units)")
                break
    if not found:
        return err
    return IdentificationError(f"{err} Constant in this cell: {', '.join(found)}.")


class _Skip(Exception):
    """A cell without comparison units: left out, with a note."""


class _Parts:
    """Collects the group-mean parts of the cells (:class:`GroupMeans`)."""

    def __init__(self, treated_groups: tuple[bool, ...]) -> None:
        self.treated_groups = treated_groups
        self.group_signs = _GROUP_SIGNS[treated_groups]
        self.sign: list[float] = []
        self.rows: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.wts: list[np.ndarray] = []
        self.treated: list[bool] = []
        self.cohort: list[float] = []
        self.cell: list[int] = []

    def add(self, j: int, cohort: float, idx, influence, group, row_w) -> None:
        for code, is_treated in enumerate(self.treated_groups):
            sel = group == code
            if not sel.any():
                continue
            self.rows.append(idx[sel])
            self.vals.append(influence[sel])
            self.wts.append(row_w[sel])
            self.treated.append(is_treated)
            self.cohort.append(cohort)
            self.cell.append(j)
            self.sign.append(self.group_signs[code])

    def build(self, n: int, k: int) -> GroupMeans:
        n_parts = len(self.rows)
        indptr = np.r_[0, np.cumsum([r.size for r in self.rows])].astype(np.int64)
        rows = np.concatenate(self.rows) if n_parts else np.empty(0, np.int64)

        def csc(values: list[np.ndarray]) -> sparse.csc_array:
            data = np.concatenate(values) if n_parts else np.empty(0)
            return sparse.csc_array((data, rows, indptr), shape=(n, n_parts))

        combine = np.zeros((n_parts, k))
        combine[np.arange(n_parts), np.array(self.cell, dtype=np.int64)] = 1.0
        return GroupMeans(
            parts=csc(self.vals),
            weights=csc(self.wts),
            combine=combine,
            treated=np.array(self.treated, dtype=bool),
            cohort=np.array(self.cohort, dtype=float),
            exact=False,
            sign=np.array(self.sign, dtype=float),
        )


def _estimate_cells(
    cells_all: list[_Cell],
    n: int,
    estimate,
    notes: list[str],
    row_w: np.ndarray,
    treated_groups: tuple[bool, ...],
    *,
    sparse_store=False,
):
    """Run ``estimate(cell) -> (rows, TwoByTwo, group)`` over the cells.

    Reference cells are kept with estimate 0; a cell whose ``estimate`` raises
    :class:`_Skip` is left out; one that raises ``IdentificationError`` is kept as
    NaN. Each influence function is scaled to the ``n`` rows (``n / n_gt``). With
    ``sparse_store`` (repeated cross-sections: a cell uses the rows of two periods)
    they are kept as a sparse CSC array instead of a dense matrix. ``group`` codes
    each used row's group in the 2x2 (``treated_groups[code]``: whether it is a
    treated group); the cells' split into these weighted group means is returned
    as a :class:`GroupMeans` with ``row_w`` as the rows' weights.
    """
    infl = None if sparse_store else np.zeros((n, len(cells_all)), order="F")
    rows: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    cells, est = [], []
    parts = _Parts(treated_groups)
    for cell in cells_all:
        if cell.reference:
            rows.append(np.empty(0, dtype=np.int64))
            vals.append(np.empty(0))
            cells.append(cell)
            est.append(0.0)
            continue
        try:
            idx, res, group = estimate(cell)
        except _Skip as why:
            notes.append(f"{_term(cell.cohort, cell.time)} skipped: {why}")
            continue
        except IdentificationError as err:
            notes.append(f"{_term(cell.cohort, cell.time)} not estimated: {err}")
            rows.append(np.empty(0, dtype=np.int64))
            vals.append(np.empty(0))
            cells.append(cell)
            est.append(np.nan)
            continue
        _kernel_notes(res, cell, notes)
        scaled = res.influence * (n / idx.size)
        parts.add(len(cells), cell.cohort, idx, scaled, group, row_w[idx])
        if sparse_store:
            rows.append(idx)
            vals.append(scaled)
        else:
            infl[idx, len(cells)] = scaled
        cells.append(cell)
        est.append(res.att)
    decomposition = parts.build(n, len(cells))
    if sparse_store:
        indptr = np.r_[0, np.cumsum([r.size for r in rows])]
        infl = sparse.csc_array(
            (np.concatenate(vals), np.concatenate(rows), indptr),
            shape=(n, len(cells)),
        )
        return cells, np.array(est, dtype=float), infl, decomposition
    return cells, np.array(est, dtype=float), infl[:, : len(cells)], decomposition


def _panel_cells(
    prep: PreparedPanel, control_group, anticipation, base_period, method, trim_level
):
    spec = prep.spec
    periods = prep.periods
    cohort = prep.cohort
    treated_cohorts = np.unique(cohort[np.isfinite(cohort)])
    cells_all, notes = _cells(periods, treated_cohorts, anticipation, base_period)
    y = prep.wide()
    xs = [prep.wide(c) for c in spec.covariates]
    # Time-invariant covariates give every cell of a cohort with the same comparison
    # units the same propensity score: fit it once per (cohort, comparison set).
    invariant = all(np.array_equal(xk, xk[:, :1].repeat(xk.shape[1], 1)) for xk in xs)
    pscores: dict[tuple, np.ndarray | IdentificationError | None] = {}
    w_unit = prep.unit_first(spec.weights) if spec.weights else np.ones(prep.n_units)

    def estimate(cell: _Cell):
        treat = cohort == cell.cohort
        comp = _comparison(cohort, cell, periods, control_group, anticipation)
        if not comp.any():
            raise _Skip(
                f"no comparison unit ({control_group.replace('_', '-')}) in periods "
                f"{cell.base}-{cell.time}."
            )
        idx = np.flatnonzero(treat | comp)
        dy = y[idx, cell.t_idx] - y[idx, cell.base_idx]
        x = np.column_stack([np.ones(idx.size)] + [xk[idx, cell.base_idx] for xk in xs])
        horizon = (
            None
            if control_group == "never_treated"
            else periods[max(cell.t_idx, cell.base_idx)]
        )
        key = (cell.cohort, horizon, None if invariant else cell.base_idx)
        if key not in pscores:
            try:
                pscores[key] = propensity_score(
                    treat[idx], x, w_unit[idx], method=method
                )
            except IdentificationError as err:
                pscores[key] = _name_separating(err, x, treat[idx], spec.covariates)
        cached = pscores[key]
        if isinstance(cached, IdentificationError):
            raise cached
        try:
            res = panel_2x2(
                dy,
                treat[idx],
                x,
                w_unit[idx],
                method=method,
                trim_level=trim_level,
                pscore=cached,
            )
        except IdentificationError as err:
            raise _name_singular(err, x, treat[idx], spec.covariates) from err
        return idx, res, np.where(treat[idx], 0, 1)

    cells, est, infl, dec = _estimate_cells(
        cells_all, prep.n_units, estimate, notes, w_unit, _PANEL_GROUPS
    )
    return cells, est, _unit_store(prep, infl, w_unit, dec), notes


#: Groups of a panel 2x2 (treated, comparison) and of a repeated-cross-section
#: 2x2 (treated post, treated base, comparison post, comparison base): whether
#: each is a treated group.
_PANEL_GROUPS = (True, False)
_RC_GROUPS = (True, True, False, False)
#: Sign with which each group's weighted mean enters the 2x2 (GroupMeans.sign).
_GROUP_SIGNS = {_PANEL_GROUPS: (1.0, -1.0), _RC_GROUPS: (1.0, -1.0, -1.0, 1.0)}


def _unit_store(
    prep: PreparedPanel, infl, w_unit: np.ndarray, decomposition: GroupMeans
) -> InfluenceScores:
    """Influence functions with one row per unit, clustered as the spec says."""
    unclustered = prep.spec.cluster_col == prep.spec.unit
    return InfluenceScores(
        decomposition=decomposition,
        values=infl,
        ids=prep.unit_ids,
        cluster_code=None if unclustered else prep.cluster_code,
        n_clusters=prep.n_units if unclustered else prep.n_clusters,
        cluster_column=prep.spec.cluster_col,
        row_cohort=prep.cohort,
        row_weights=w_unit,
    )


def _rc_cells(
    prep: PreparedPanel, control_group, anticipation, base_period, method, trim_level
):
    spec = prep.spec
    periods = prep.periods
    row_cohort = prep.cohort[prep.unit_code]
    treated_cohorts = np.unique(prep.cohort[np.isfinite(prep.cohort)])
    cells_all, notes = _cells(periods, treated_cohorts, anticipation, base_period)
    y_all = prep.data[spec.outcome].to_numpy(dtype=float)
    x_all = np.column_stack(
        [np.ones(prep.n_obs)]
        + [prep.data[c].to_numpy(dtype=float) for c in spec.covariates]
    )
    w_all = prep.weights
    tc = prep.time_code

    def estimate(cell: _Cell):
        treat = row_cohort == cell.cohort
        comp = _comparison(row_cohort, cell, periods, control_group, anticipation)
        in_t = (tc == cell.t_idx) | (tc == cell.base_idx)
        idx = np.flatnonzero(in_t & (treat | comp))
        post = tc[idx] == cell.t_idx
        if not (comp[idx] & post).any() or not (comp[idx] & ~post).any():
            raise _Skip(
                f"no comparison observation in periods {cell.base} and {cell.time}."
            )
        try:
            res = rc_2x2(
                y_all[idx],
                post,
                treat[idx],
                x_all[idx],
                w_all[idx],
                method=method,
                trim_level=trim_level,
            )
        except IdentificationError as err:
            raise _name_separating(
                err, x_all[idx], treat[idx], spec.covariates
            ) from err
        return idx, res, np.where(treat[idx], 0, 2) + np.where(post, 0, 1)

    cells, est, infl, dec = _estimate_cells(
        cells_all, prep.n_obs, estimate, notes, w_all, _RC_GROUPS, sparse_store=True
    )
    if isinstance(spec, PanelSpec):
        # Unbalanced panel: the rows of a unit are one draw. Sum them by unit and
        # rescale, so that theta - theta_0 ~ mean over units of (n_units / n_rows)
        # x (sum over the unit's rows), as R did's allow_unbalanced_panel does.
        n_u = prep.n_units
        by_unit = sparse.csr_array(
            (np.ones(prep.n_obs), (prep.unit_code, np.arange(prep.n_obs))),
            shape=(n_u, prep.n_obs),
        )
        unit_infl = (by_unit @ infl).toarray() * (n_u / prep.n_obs)
        w_unit = prep.unit_first(spec.weights) if spec.weights else np.ones(n_u)
        unit_dec = replace(
            dec,
            parts=sparse.csc_array(by_unit @ dec.parts) * (n_u / prep.n_obs),
            weights=sparse.csc_array(by_unit @ dec.weights),
        )
        return cells, est, _unit_store(prep, unit_infl, w_unit, unit_dec), notes
    if spec.id:
        ids = pd.Index(prep.data[spec.id].to_numpy(), name=spec.id)
    else:
        ids = pd.RangeIndex(prep.n_obs, name="row")
    # Observations of the same group (pupils of a school) share its cluster.
    store = InfluenceScores(
        values=infl,
        ids=ids,
        cluster_code=prep.cluster_code[prep.unit_code],
        n_clusters=prep.n_clusters,
        cluster_column=prep.spec.cluster_col,
        row_cohort=row_cohort,
        row_weights=w_all,
        decomposition=dec,
    )
    return cells, est, store, notes
