r"""Two-way fixed-effects (TWFE) regressions: a diagnosed benchmark.

Static TWFE regresses the outcome on :math:`D_{it} = 1\{t \ge G_i\}` with unit
and period fixed effects; the event-study variant replaces :math:`D_{it}` by
relative-time indicators. Both are *benchmarks*: under staggered adoption and
heterogeneous effects they do not estimate a convex average of treatment effects,
which is said in a warning, in the result's notes, and quantified by the
de Chaisemartin & D'Haultfœuille (2020) weights of the static coefficient.

Numerics
--------
The fixed effects are never materialised as dummies. Each regressor is projected
off the unit and period effects exactly (Frisch-Waugh-Lovell):

* balanced panel (weights constant within unit, as :func:`prepare_panel`
  guarantees): :math:`\tilde x_{it} = x_{it} - \bar x_{i\cdot} - \bar x^w_{\cdot t}
  + \bar x^w`, vectorised on the ``(units, periods)`` array;
* unbalanced panel: unit effects are concentrated out and the period effects
  solve a :math:`T \times T` linear system (pseudo-inverse), which is exact
  (no alternating-projection tolerance).

Cluster-robust scores are summed by unit first (clusters are at or above the
unit), so a result stores a ``(units, regressors)`` array and can change its
inference without refitting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tne_eval._numerics.within import (
    BalancedProjector,
    Design,
    WithinFit,
    fit_within,
    make_projector,
    ssc_k,
)
from tne_eval._validation import check_alpha, check_dataframe, format_examples
from tne_eval._warnings import warn
from tne_eval.data.checks import outcome_note
from tne_eval.data.prepare import prepare_panel
from tne_eval.data.spec import PanelSpec
from tne_eval.diagnostics.twfe_weights import dcdh_weights
from tne_eval.did.results import TWFEEventStudyResult, TWFEResult
from tne_eval.errors import (
    DroppedObservationsWarning,
    IdentificationError,
    SpecError,
    StaggeredAdoptionWarning,
    TneEvalTypeError,
)
from tne_eval.inference.registry import infer, resolve, supported
from tne_eval.inference.scores import RegressionScores
from tne_eval.notes import Note, NoteKind, as_notes
from tne_eval.results.base import make_provenance

if TYPE_CHECKING:
    from tne_eval.data.prepare import PreparedPanel

__all__ = ["SUPPORTED_INFERENCE", "twfe", "twfe_event_study"]

#: Derived from the inference registry: what regression scores support.
SUPPORTED_INFERENCE = supported(RegressionScores)

_RECOMMEND = (
    "Use it as a benchmark only: estimate group-time effects with "
    "tne_eval.att_gt and aggregate them with tne_eval.aggregate{kind}."
)


# =============================================================================
# Shared preparation
# =============================================================================
@dataclass
class _Setup:
    prep: PreparedPanel
    inference: object
    notes: list[Note]
    y: np.ndarray
    w: np.ndarray
    unit: np.ndarray
    time: np.ndarray
    cohort_row: np.ndarray
    covariates: np.ndarray
    covariate_names: tuple[str, ...]
    n_units: int


def _check_spec(spec: object, estimator: str) -> PanelSpec:
    if not isinstance(spec, PanelSpec):
        raise TneEvalTypeError(
            f"{estimator} needs a PanelSpec (got {type(spec).__name__}); TWFE "
            "with unit fixed effects needs units followed over time."
        )
    if spec.cohort is None and spec.treatment is None:
        raise SpecError(
            f"{estimator} needs the first treated period of each unit: set "
            "spec.cohort (or spec.treatment, a 0/1 column from which it is derived)."
        )
    return spec


def _setup(
    data: pd.DataFrame, spec: PanelSpec, inference: object, estimator: str
) -> _Setup:
    inf = resolve(inference, estimator=estimator, store_type=RegressionScores)
    by = getattr(inf, "by", None)
    if by is not None:
        spec = spec.update(cluster=by)
    prep = prepare_panel(
        data, spec, missing="drop", balance="allow", treated_first_period="keep"
    )
    notes = list(as_notes(prep.report.notes, NoteKind.DATA))
    outcome = outcome_note(prep)
    if outcome:
        notes.append(Note(outcome, NoteKind.ESTIMATION))
    w = prep.weights
    zero = w == 0
    if zero.any():
        keep = ~zero
        msg = (
            f"Dropped {int(zero.sum())} row(s) ({np.unique(prep.unit_code[zero]).size} "
            "unit(s)) with zero weight: they do not enter a weighted regression."
        )
        warn(msg, DroppedObservationsWarning)
        notes.append(Note(msg, NoteKind.DATA))
        again = prep.data.loc[keep]
        prep = prepare_panel(
            again,
            prep.spec.update(never_treated="inf"),
            missing="raise",
            balance="allow",
            treated_first_period="keep",
        )
    cov_names = tuple(prep.spec.covariates)
    covariates = (
        prep.data[list(cov_names)].to_numpy(dtype=float)
        if cov_names
        else np.zeros((prep.n_obs, 0))
    )
    return _Setup(
        prep=prep,
        inference=inf,
        notes=notes,
        y=prep.data[prep.spec.outcome].to_numpy(dtype=float),
        w=prep.weights,
        unit=prep.unit_code,
        time=prep.time_code,
        cohort_row=prep.cohort[prep.unit_code],
        covariates=covariates,
        covariate_names=cov_names,
        n_units=prep.n_units,
    )


def _staggered(cohorts: np.ndarray) -> np.ndarray:
    """Sorted distinct treated cohorts."""
    return np.unique(cohorts[np.isfinite(cohorts)])


def _covariate_notes(names: tuple[str, ...], kept: np.ndarray) -> list[Note]:
    dropped = [n for n, k in zip(names, kept) if not k]
    if not dropped:
        return []
    return [
        Note(
            f"Covariate(s) {format_examples(dropped, len(dropped))} dropped: constant "
            "within units (absorbed by the unit fixed effects) or collinear with the "
            "other regressors. This leaves the other estimates unchanged.",
            NoteKind.ESTIMATION,
        )
    ]


def _periods_nested(time: np.ndarray, cluster_row: np.ndarray, n_periods: int) -> bool:
    """Tell whether every period's rows lie in one cluster (fixest nesting)."""
    lo = np.full(n_periods, np.iinfo(np.int64).max)
    hi = np.full(n_periods, -1)
    np.minimum.at(lo, time, cluster_row)
    np.maximum.at(hi, time, cluster_row)
    return bool(np.all(lo == hi))


def _regression_scores(
    setup: _Setup, fit: WithinFit, n_periods: int
) -> RegressionScores:
    """Collect what the fit stores so that any supported inference can be computed."""
    prep = setup.prep
    k_reg = int(fit.kept.sum())
    cl_row = prep.cluster_code[setup.unit]
    return RegressionScores(
        beta=fit.beta[fit.kept],
        bread=fit.bread,
        unit_scores=fit.unit_scores,
        unit_cluster_code=prep.cluster_code,
        n_clusters=prep.n_clusters,
        cluster_column=prep.spec.cluster_col,
        unit_column=prep.spec.unit,
        unit_cohort=prep.cohort,
        n_obs=fit.n_obs,
        k_cluster=ssc_k(
            k_reg, n_periods, _periods_nested(setup.time, cl_row, n_periods)
        ),
        k_unit=ssc_k(
            k_reg, n_periods, _periods_nested(setup.time, setup.unit, n_periods)
        ),
        x_tilde=fit.x_tilde,
        resid=fit.resid,
        weights=setup.w,
        row_unit=setup.unit,
        row_time=setup.time,
    )


def _result_fields(
    setup: _Setup,
    fit: WithinFit,
    table: pd.DataFrame,
    options: MappingProxyType,
    terms: list[str],
    notes: list[Note],
    alpha: float,
    *,
    cohorts: np.ndarray,
) -> dict:
    """Fields shared by the TWFE results: scores, their inference, provenance."""
    prep = setup.prep
    store = _regression_scores(setup, fit, len(prep.periods))
    inferred = infer(setup.inference, store)
    return {
        "table": table,
        "spec": prep.spec,
        "options": options,
        "alpha": alpha,
        "nobs": fit.n_obs,
        "n_units": setup.n_units,
        "inference": setup.inference,
        "inferred": inferred,
        "scores": store,
        "score_terms": pd.Index(terms, name="term"),
        "notes": tuple(notes) + inferred.notes,
        "provenance": make_provenance(prep.fingerprint),
        "cohorts": tuple(float(c) for c in cohorts),
    }


# =============================================================================
# Static TWFE
# =============================================================================
def twfe(
    data: pd.DataFrame,
    spec: PanelSpec,
    *,
    inference: object = "cluster",
    alpha: float = 0.05,
) -> TWFEResult:
    r"""Fit a static two-way fixed-effects DiD regression (a diagnosed benchmark).

    Fits :math:`y_{it} = \alpha_i + \lambda_t + \beta D_{it} + X_{it}'\gamma +
    \varepsilon_{it}` with :math:`D_{it} = 1\{t \ge G_i\}` (0 for never-treated
    units), by weighted least squares when ``spec.weights`` is set. Under
    staggered adoption :math:`\beta` is a weighted sum of cell effects with weights
    that can be negative: a :class:`~tne_eval.errors.StaggeredAdoptionWarning`
    says so and the weights are reported.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel (not modified); may be unbalanced.
    spec : PanelSpec
        Column roles; ``cohort`` (or ``treatment``) is required. ``covariates``
        enter linearly (time-invariant ones are absorbed by the unit effects and
        dropped with a note); ``weights`` are WLS weights.
    inference : Cluster, IID or str, default "cluster"
        ``Cluster()`` (or ``"cluster"``): cluster-robust by ``spec.cluster`` (the
        unit when unset) with the CR1 factor and :math:`t_{G-1}` critical values;
        ``Cluster(by="col")`` clusters by another column at or above the unit;
        ``Cluster(small_sample=False)`` gives CR0 with normal critical values.
        ``"iid"`` (independent *units*) clusters by unit: the periods of a unit are
        never treated as independent.
    alpha : float, default 0.05
        Significance level of the intervals.

    Returns
    -------
    TWFEResult
        ``to_frame()`` has one row, term ``"D"``, with ``estimate, std_error,
        statistic, p_value, conf_low, conf_high``. ``weights()`` gives the
        de Chaisemartin & D'Haultfœuille weight of each treated (cohort, period)
        cell; ``n_negative_weights``, ``sum_negative_weights`` and ``sigma_fe``
        summarise them. Covariate coefficients are in ``covariate_table``.

    Raises
    ------
    SpecError, TneEvalTypeError, DataError
        Bad arguments or data (see :func:`tne_eval.prepare_panel`).
    IdentificationError
        No treated unit, no comparison, or :math:`D` absorbed by the fixed
        effects (e.g. every treated unit is treated in all its periods).
    InferenceError
        Unsupported inference (e.g. a bootstrap).

    Warns
    -----
    StaggeredAdoptionWarning
        More than one treated cohort.
    SmallClusterWarning
        Fewer than 20 clusters or fewer than 10 clusters with treated units.
    DroppedObservationsWarning
        Rows dropped (missing values, zero weights).

    See Also
    --------
    twfe_event_study : relative-time (leads and lags) TWFE.
    tne_eval.att_gt : heterogeneity-robust group-time effects.

    Notes
    -----
    The fixed effects are projected off exactly (no dummy matrix; balanced panels
    use the closed-form two-way demeaning). By Frisch-Waugh-Lovell,

    .. math::

        \hat\beta = \frac{\sum_{it} w_{it}\,\varepsilon_{it}\,y_{it}}
        {\sum_{it} w_{it}\,\varepsilon_{it}\,D_{it}},

    where :math:`\varepsilon_{it}` is the residual of :math:`D_{it}` on the fixed
    effects (and covariates). If :math:`y_{it}(0)` follows the two-way model,
    :math:`\hat\beta = \sum_{D_{it}=1} W_{it}\,\tau_{it}` with
    :math:`W_{it} = w_{it}\varepsilon_{it}/\sum_{D=1} w\varepsilon`, weights
    summing to one but possibly negative (de Chaisemartin & D'Haultfœuille 2020,
    Theorem 1). ``weights()`` sums :math:`W_{it}` by (cohort, period).
    ``sigma_fe`` is their :math:`\underline\sigma_{fe} =
    |\hat\beta|/\sigma(w)`, the smallest standard deviation of the effects across
    treated observations under which :math:`\hat\beta` could have the opposite
    sign of the average effect (Corollary 1).

    The cluster-robust variance uses the CR1 factor
    :math:`\frac{G}{G-1}\frac{N-1}{N-K}` with :math:`K` = regressors + :math:`T`
    (period effects and intercept; unit effects are nested in the clusters and not
    counted): fixest's default ``ssc()`` and Stata's ``xtreg, fe vce(cluster)``.

    Validated against the coefficient printed in the R ``bacondecomp`` vignette
    (castle doctrine data), statsmodels OLS with explicit dummies (coefficient
    and clustered standard error to 1e-8) and linearmodels ``PanelOLS``.

    References
    ----------
    de Chaisemartin, C. & D'Haultfœuille, X. (2020). Two-way fixed effects
    estimators with heterogeneous treatment effects. American Economic Review,
    110(9), 2964-2996. https://doi.org/10.1257/aer.20181169

    Goodman-Bacon, A. (2021). Difference-in-differences with variation in
    treatment timing. Journal of Econometrics, 225(2), 254-277.
    https://doi.org/10.1016/j.jeconom.2021.03.014

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import tne_eval as tne
    >>> from tne_eval.did.twfe import twfe
    >>> units, years = np.arange(40), np.arange(2016, 2022)
    >>> df = pd.DataFrame({"school": np.repeat(units, 6), "year": np.tile(years, 40)})
    >>> df["g"] = np.where(df["school"] < 20, 2019, 0)
    >>> df["y"] = 0.1 * df["school"] + 0.3 * (df["year"] - 2016) + 2.0 * (
    ...     (df["g"] > 0) & (df["year"] >= df["g"]))
    >>> spec = tne.PanelSpec(unit="school", time="year", outcome="y", cohort="g")
    >>> res = twfe(df, spec)
    >>> round(float(res.estimates["D"]), 6)
    2.0
    """
    check_dataframe(data)
    spec = _check_spec(spec, "twfe")
    alpha = check_alpha(alpha)
    setup = _setup(data, spec, inference, "twfe")
    prep = setup.prep
    n_periods = len(prep.periods)
    treated_row = setup.cohort_row <= prep.periods[prep.time_code]
    design = Design(
        term=np.where(treated_row, 0, -1), n_terms=1, covariates=setup.covariates
    )
    projector = make_projector(
        setup.unit, setup.time, setup.w, setup.n_units, n_periods
    )
    fit = fit_within(
        setup.y,
        design,
        projector,
        setup.unit,
        setup.time,
        setup.w,
        setup.n_units,
        n_periods,
    )
    if not fit.kept[0]:
        raise IdentificationError(
            "The treatment indicator D = 1{t >= cohort} is absorbed by the unit and "
            "period fixed effects (e.g. every treated unit is treated in all its "
            "observed periods, or all units adopt at once): the TWFE coefficient is "
            "not identified."
        )
    notes = setup.notes + _covariate_notes(setup.covariate_names, fit.kept[1:])
    cohorts = _staggered(prep.cohort)

    # -- de Chaisemartin & D'Haultfoeuille weights --------------------------------
    wtab, n_neg, sum_neg, sigma_fe = dcdh_weights(
        fit.x_tilde,
        fit.gram[np.ix_(fit.kept, fit.kept)],
        setup.w,
        treated_row,
        setup.cohort_row,
        setup.time,
        prep.periods,
        float(fit.beta[0]),
    )
    n_cells = len(wtab)
    weight_note = (
        "de Chaisemartin & D'Haultfoeuille (2020) weights: the static TWFE "
        f"coefficient is a weighted sum of the effects of {int(treated_row.sum())} "
        f"treated observations in {n_cells} (cohort, period) cells; {n_neg} cell(s) "
        f"have negative weights summing to {sum_neg:.4g} (positive weights sum to "
        f"{1 - sum_neg:.4g}); sigma_fe = {sigma_fe:.4g}, the smallest standard "
        "deviation of effects across treated observations compatible with an "
        "average effect of the opposite sign."
    )
    staggered = cohorts.size > 1
    if staggered:
        msg = (
            f"Staggered adoption: {cohorts.size} treated cohorts "
            f"({format_examples([int(c) if c.is_integer() else c for c in cohorts], 6)}). "
            "With effects that vary across cohorts or with time since treatment, "
            "the static TWFE coefficient weights cell effects with weights that can "
            f"be negative (here {n_neg} of {n_cells} cells, sum {sum_neg:.4g}), "
            "using already-treated units as controls (Goodman-Bacon 2021; "
            f"de Chaisemartin & D'Haultfoeuille 2020). {_RECOMMEND.format(kind='')}"
        )
        warn(msg, StaggeredAdoptionWarning)
        notes.append(Note(msg, NoteKind.DIAGNOSTIC))
    notes.append(Note(weight_note, NoteKind.DIAGNOSTIC))

    names = ["D", *[c for c, k in zip(setup.covariate_names, fit.kept[1:]) if k]]
    table = pd.DataFrame(
        {"estimate": fit.beta[fit.kept][:1]}, index=pd.Index(["D"], name="term")
    )
    options = MappingProxyType(
        {
            "treatment": "D = 1{t >= cohort}",
            "covariates": tuple(names[1:]),
            "weights": prep.spec.weights,
            "balanced": isinstance(projector, BalancedProjector),
        }
    )
    return TWFEResult(
        **_result_fields(
            setup, fit, table, options, names, notes, alpha, cohorts=cohorts
        ),
        weights_table=wtab,
        n_negative_weights=n_neg,
        sum_negative_weights=sum_neg,
        sigma_fe=sigma_fe,
    )


# =============================================================================
# Event-study TWFE
# =============================================================================
def _check_window_arg(value: object, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TneEvalTypeError(
            f"{name} must be a non-negative integer or None (got {value!r})."
        )
    if value < 0:
        raise SpecError(
            f"{name}={int(value)} is negative; give the number of periods "
            f"{'before' if name == 'leads' else 'after'} treatment to keep "
            "(e.g. leads=4, lags=5), or None for all observed event times."
        )
    return int(value)


def _check_reference(reference: object) -> tuple[int, ...]:
    values = (
        list(reference)
        if isinstance(reference, Sequence) and not isinstance(reference, str)
        else [reference]
    )
    if not values:
        raise SpecError(
            "reference is empty; give at least one omitted event time (e.g. -1)."
        )
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TneEvalTypeError(
                "reference must be an integer event time or a sequence of them "
                f"(got {reference!r})."
            )
    if len(set(values)) != len(values):
        raise SpecError(f"reference lists an event time twice: {reference!r}.")
    return tuple(sorted(int(v) for v in values))


def _term_label(e: int, lo: int, hi: int, bin_lo: bool, bin_hi: bool) -> str:
    if e == lo and bin_lo:
        return f"e<={e}"
    if e == hi and bin_hi:
        return f"e>={e}"
    return f"e={e}"


def _event_window(
    observed: np.ndarray, leads: int | None, lags: int | None, refs: tuple[int, ...]
) -> np.ndarray:
    """Observed event times kept by ``leads``/``lags``, with the references checked."""
    e_min, e_max = int(observed[0]), int(observed[-1])
    lo = e_min if leads is None else -leads
    hi = e_max if lags is None else lags
    span = f"observed event times run from {e_min} to {e_max}"
    if lo < e_min:
        raise SpecError(
            f"leads={leads} reaches event time {lo}, but {span}: no treated unit is "
            f"observed that early. Use leads <= {-e_min}"
            + (" or leads=None." if e_min < 0 else "; there are no leads to keep.")
        )
    if hi > e_max:
        raise SpecError(
            f"lags={lags} reaches event time {hi}, but {span}. Use lags <= {e_max}"
            " or lags=None."
        )
    if lo > hi:
        raise SpecError(
            f"The event-time window [{lo}, {hi}] is empty ({span}); widen leads/lags."
        )
    window = observed[(observed >= lo) & (observed <= hi)]
    outside = [r for r in refs if r not in set(window.tolist())]
    if outside:
        raise SpecError(
            f"reference={list(refs) if len(refs) > 1 else refs[0]!r}: event time(s) "
            f"{outside} lie outside the event-time range of the window "
            f"[{int(window[0])}, {int(window[-1])}] (observed event times "
            f"{e_min}..{e_max}). Choose reference event times inside the window, "
            "e.g. reference=-1."
        )
    if len(refs) == window.size:
        raise SpecError(
            f"reference={list(refs)!r} omits every event time of the window "
            f"[{int(window[0])}, {int(window[-1])}]: nothing is left to estimate."
        )
    return window


def twfe_event_study(
    data: pd.DataFrame,
    spec: PanelSpec,
    *,
    leads: int | None = None,
    lags: int | None = None,
    reference: int | Sequence[int] = -1,
    bin_endpoints: bool = True,
    inference: object = "cluster",
    alpha: float = 0.05,
) -> TWFEEventStudyResult:
    r"""Fit an event-study (leads and lags) TWFE regression, a diagnosed benchmark.

    Fits :math:`y_{it} = \alpha_i + \lambda_t + \sum_{e \notin R}\beta_e
    1\{t - G_i = e\} + X_{it}'\gamma + \varepsilon_{it}` on all units, where the
    relative-time indicators are zero for never-treated units and :math:`R` is
    the set of omitted (reference) event times.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel (not modified); may be unbalanced.
    spec : PanelSpec
        Column roles, as in :func:`twfe`.
    leads : int, optional
        Window start: event times :math:`-\text{leads}, \dots, -1` get their own
        indicator. ``None``: every observed lead.
    lags : int, optional
        Window end: event times :math:`0, \dots, \text{lags}`. ``None``: every
        observed lag.
    reference : int or sequence of int, default -1
        Omitted event time(s), any within the window. Its row is reported with
        estimate 0 and a NaN standard error. Without never-treated units a second
        reference (e.g. ``[-1, -4]``) or binned endpoints are needed: the full set
        of relative-time indicators is collinear with the unit and period effects.
    bin_endpoints : bool, default True
        ``True``: observations beyond the window are pooled into the endpoint
        indicators (terms ``"e<=-L"`` and ``"e>=K"``), which keeps every
        observation and assumes a constant effect beyond the window. ``False``:
        treated observations beyond the window are dropped from the estimation
        sample (with a warning and a note giving the counts), so they neither
        serve as controls nor contaminate the window.
    inference : Cluster, IID or str, default "cluster"
        As in :func:`twfe`.
    alpha : float, default 0.05
        Significance level of the intervals.

    Returns
    -------
    TWFEEventStudyResult
        ``to_frame()`` columns ``event_time, binned, reference`` then the
        statistics, one row per event time of the window (terms ``"e=-3"``,
        ``"e<=-4"``, ``"e>=5"``), reference rows included.
        ``event_time_counts()`` gives the observations and units behind each term.

    Raises
    ------
    SpecError, TneEvalTypeError
        Bad ``leads``/``lags``/``reference`` (negative, beyond the observed event
        times, reference outside the window or covering it), or bad data/spec.
    IdentificationError
        No treated unit, no comparison, or collinear indicators (see
        ``reference``).

    Warns
    -----
    StaggeredAdoptionWarning
        More than one treated cohort: coefficients mix effects of other event
        times and cohorts (Sun & Abraham 2021).
    DroppedObservationsWarning
        ``bin_endpoints=False`` dropped observations, or missing values.
    SmallClusterWarning
        Few clusters (see :func:`twfe`).

    See Also
    --------
    twfe : the static coefficient and its weights diagnostic.
    tne_eval.aggregate : heterogeneity-robust event study (``kind="dynamic"``).

    Notes
    -----
    With homogeneous effects by event time (the same path for every cohort) and
    parallel trends, :math:`\beta_e` estimates :math:`\tau_e - \tau_{r}` for a
    single reference :math:`r`. With heterogeneous cohorts, :math:`\beta_e` is a
    combination of cohort effects at event time :math:`e` *and at other event
    times*, with weights that need not be positive (Sun & Abraham 2021,
    Proposition 3); leads can then show spurious pre-trends. fixest equivalent:
    ``feols(y ~ i(rel_time, ref = -1) | unit + year, cluster = ~cluster)`` with
    ``rel_time`` binned at the window ends. Standard errors as in :func:`twfe`.

    Validated on noiseless panels (true coefficients recovered to 1e-10), against
    statsmodels OLS with explicit dummies and against linearmodels ``PanelOLS``.

    References
    ----------
    Sun, L. & Abraham, S. (2021). Estimating dynamic treatment effects in event
    studies with heterogeneous treatment effects. Journal of Econometrics,
    225(2), 175-199. https://doi.org/10.1016/j.jeconom.2020.09.006

    Borusyak, K., Jaravel, X. & Spiess, J. (2024). Revisiting event-study
    designs: robust and efficient estimation. Review of Economic Studies, 91(6),
    3253-3285. https://doi.org/10.1093/restud/rdae007

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import tne_eval as tne
    >>> from tne_eval.did.twfe import twfe_event_study
    >>> units, years = np.arange(40), np.arange(2016, 2022)
    >>> df = pd.DataFrame({"school": np.repeat(units, 6), "year": np.tile(years, 40)})
    >>> df["g"] = np.where(df["school"] < 20, 2019, 0)
    >>> e = df["year"] - df["g"]
    >>> df["y"] = 0.1 * df["school"] + np.where((df["g"] > 0) & (e >= 0), 1.0 + e, 0.0)
    >>> spec = tne.PanelSpec(unit="school", time="year", outcome="y", cohort="g")
    >>> es = twfe_event_study(df, spec, leads=2, lags=2)
    >>> es.estimates.round(6).tolist()
    [0.0, 0.0, 1.0, 2.0, 3.0]
    """
    check_dataframe(data)
    spec = _check_spec(spec, "twfe_event_study")
    leads = _check_window_arg(leads, "leads")
    lags = _check_window_arg(lags, "lags")
    refs = _check_reference(reference)
    if not isinstance(bin_endpoints, bool):
        raise TneEvalTypeError(
            f"bin_endpoints must be True or False (got {bin_endpoints!r})."
        )
    alpha = check_alpha(alpha)
    setup = _setup(data, spec, inference, "twfe_event_study")
    prep = setup.prep
    t_row = prep.periods[setup.time].astype(float)
    treated_unit_row = np.isfinite(setup.cohort_row)
    rel = np.where(treated_unit_row, t_row - setup.cohort_row, np.nan)
    window = _event_window(
        np.unique(rel[treated_unit_row]).astype(np.int64), leads, lags, refs
    )
    lo, hi = int(window[0]), int(window[-1])
    below = treated_unit_row & (rel < lo)
    above = treated_unit_row & (rel > hi)
    notes = setup.notes
    bin_lo = bool(bin_endpoints and below.any())
    bin_hi = bool(bin_endpoints and above.any())
    if bin_endpoints:
        for mask, label, side in (
            (below, f"e<={lo}", f"before {lo}"),
            (above, f"e>={hi}", f"after {hi}"),
        ):
            if mask.any():
                notes.append(
                    Note(
                        f"Binned {int(mask.sum())} observation(s) of "
                        f"{np.unique(setup.unit[mask]).size} treated unit(s) at event "
                        f"times {side} into the endpoint term {label!r} (bin_endpoints="
                        "True: a constant effect is assumed beyond the window).",
                        NoteKind.ESTIMATION,
                    )
                )
        rel_c = np.clip(rel, lo, hi)
    else:
        drop = below | above
        if drop.any():
            msg = (
                f"Dropped {int(drop.sum())} observation(s) of "
                f"{np.unique(setup.unit[drop]).size} treated unit(s) with event "
                f"times outside the window [{lo}, {hi}] ({int(below.sum())} before, "
                f"{int(above.sum())} after; bin_endpoints=False)."
            )
            warn(msg, DroppedObservationsWarning)
            notes.append(Note(msg, NoteKind.DATA))
            setup = _subset(setup, ~drop)
            prep = setup.prep
            t_row = prep.periods[setup.time].astype(float)
            treated_unit_row = np.isfinite(setup.cohort_row)
            rel = np.where(treated_unit_row, t_row - setup.cohort_row, np.nan)
        rel_c = rel
    est_times = np.array([e for e in window.tolist() if e not in refs], dtype=np.int64)
    term = np.full(rel_c.shape, -1, dtype=np.int64)
    ok = treated_unit_row & np.isin(rel_c, est_times)
    term[ok] = np.searchsorted(est_times, rel_c[ok].astype(np.int64))
    design = Design(term=term, n_terms=est_times.size, covariates=setup.covariates)
    projector = make_projector(
        setup.unit, setup.time, setup.w, setup.n_units, len(prep.periods)
    )
    fit = fit_within(
        setup.y,
        design,
        projector,
        setup.unit,
        setup.time,
        setup.w,
        setup.n_units,
        len(prep.periods),
    )
    labels = [_term_label(e, lo, hi, bin_lo, bin_hi) for e in est_times.tolist()]
    if not fit.kept[: design.n_terms].all():
        bad = [lab for lab, k in zip(labels, fit.kept) if not k]
        never = not np.isinf(prep.cohort).any()
        second = next(e for e in window.tolist() if e not in refs)
        hint = (
            " There is no never-treated unit: the full set of relative-time "
            "indicators is collinear with the unit and period effects (a linear "
            "trend in event time is not identified), and event times seen only in "
            "periods when every unit is already treated are confounded with those "
            "periods' effects. Omit a second event time (e.g. reference="
            f"{sorted({*refs, second})}) and bin or trim the last lags (lags=...)."
            if never
            else " Omit another event time or narrow the window (leads/lags)."
        )
        raise IdentificationError(
            f"The event-study term(s) {bad} are collinear with the fixed effects and "
            f"the other terms: their coefficients are not identified.{hint}"
        )
    notes += _covariate_notes(setup.covariate_names, fit.kept[design.n_terms :])
    cohorts = _staggered(prep.cohort)
    if cohorts.size > 1:
        msg = (
            f"Staggered adoption: {cohorts.size} treated cohorts. With effects that "
            "differ across cohorts, each TWFE event-study coefficient mixes the "
            "cohorts' effects at that event time with their effects at other event "
            "times, with weights that can be negative, so leads can show spurious "
            "pre-trends (Sun & Abraham 2021). "
            + _RECOMMEND.format(kind="(kind='dynamic')")
        )
        warn(msg, StaggeredAdoptionWarning)
        notes.append(Note(msg, NoteKind.DIAGNOSTIC))
    n_terms = design.n_terms

    # -- table over the whole window, reference rows included --------------------
    all_labels = [_term_label(e, lo, hi, bin_lo, bin_hi) for e in window.tolist()]
    is_ref = np.isin(window, refs)
    est = np.zeros(window.size)
    est[~is_ref] = fit.beta[:n_terms]
    index = pd.Index(all_labels, name="term")
    table = pd.DataFrame(
        {
            "event_time": window.astype(np.int64),
            "binned": [
                (e == lo and bin_lo) or (e == hi and bin_hi) for e in window.tolist()
            ],
            "reference": is_ref,
            "estimate": est,
        },
        index=index,
    )
    counts = _term_counts(
        rel[treated_unit_row], setup.unit[treated_unit_row], window, lo, hi, index
    )
    kept_cov = [c for c, k in zip(setup.covariate_names, fit.kept[n_terms:]) if k]
    options = MappingProxyType(
        {
            "leads": leads,
            "lags": lags,
            "window": (lo, hi),
            "reference": refs,
            "bin_endpoints": bin_endpoints,
            "covariates": tuple(kept_cov),
            "weights": prep.spec.weights,
            "balanced": isinstance(projector, BalancedProjector),
        }
    )
    terms = [lab for lab, r in zip(all_labels, is_ref) if not r] + kept_cov
    return TWFEEventStudyResult(
        **_result_fields(
            setup, fit, table, options, terms, notes, alpha, cohorts=cohorts
        ),
        counts=counts,
    )


def _term_counts(
    rel: np.ndarray, unit: np.ndarray, window: np.ndarray, lo: int, hi: int, index
) -> pd.DataFrame:
    """Treated observations and units behind each term (binned ones pooled).

    Rows are sorted by unit, then time, so the (unit, term) pairs of a unit form
    runs: no sort is needed.
    """
    rel_w = np.clip(rel, lo, hi)
    pos = np.minimum(np.searchsorted(window, rel_w), window.size - 1)
    hit = window[pos] == rel_w
    pos, unit_w = pos[hit], unit[hit]
    pair = unit_w * window.size + pos
    first = np.r_[True, pair[1:] != pair[:-1]]
    return pd.DataFrame(
        {
            "event_time": window.astype(np.int64),
            "n_obs": np.bincount(pos, minlength=window.size).astype(np.int64),
            "n_units": np.bincount(pos[first], minlength=window.size).astype(np.int64),
        },
        index=index,
    )


def _subset(setup: _Setup, keep: np.ndarray) -> _Setup:
    """Restrict a setup to some rows (codes re-derived by prepare_panel)."""
    prep = prepare_panel(
        setup.prep.data.loc[keep],
        setup.prep.spec.update(never_treated="inf"),
        missing="raise",
        balance="allow",
        treated_first_period="keep",
    )
    cov = setup.covariates[keep]
    return _Setup(
        prep=prep,
        inference=setup.inference,
        notes=setup.notes,
        y=prep.data[prep.spec.outcome].to_numpy(dtype=float),
        w=prep.weights,
        unit=prep.unit_code,
        time=prep.time_code,
        cohort_row=prep.cohort[prep.unit_code],
        covariates=cov,
        covariate_names=setup.covariate_names,
        n_units=prep.n_units,
    )
