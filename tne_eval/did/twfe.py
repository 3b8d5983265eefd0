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
from scipy import sparse

from tne_eval._validation import check_alpha, check_dataframe, format_examples
from tne_eval._warnings import warn
from tne_eval.data.prepare import prepare_panel
from tne_eval.data.spec import PanelSpec
from tne_eval.errors import (
    DroppedObservationsWarning,
    IdentificationError,
    SmallClusterWarning,
    SpecError,
    StaggeredAdoptionWarning,
    TneEvalTypeError,
)
from tne_eval.inference._checks import (
    COVERAGE_DOC,
    MIN_CLUSTERS,
    MIN_TREATED_CLUSTERS,
)
from tne_eval.inference.influence import cluster_sums, se_floor
from tne_eval.inference.spec import IID, Cluster, resolve
from tne_eval.results.base import make_provenance
from tne_eval.results.twfe import EventStudyResult, TWFEResult

if TYPE_CHECKING:
    from tne_eval.data.prepare import PreparedPanel

__all__ = ["SUPPORTED_INFERENCE", "twfe", "twfe_event_study"]

SUPPORTED_INFERENCE = (IID, Cluster)

#: A regressor whose variance left after projecting off the fixed effects and the
#: previous regressors is below this share of its raw second moment is collinear.
COLLINEARITY_TOL = 1e-10

_RECOMMEND = (
    "Use it as a benchmark only: estimate group-time effects with "
    "tne_eval.att_gt and aggregate them with tne_eval.aggregate{kind}."
)


# =============================================================================
# Numerics: arrays in, arrays out
# =============================================================================
class _BalancedProjector:
    """Exact two-way within transform of a balanced panel sorted by unit, time.

    ``w_unit`` are the per-unit weights (panel weights are constant within unit).
    """

    def __init__(self, n_units: int, n_periods: int, w_unit: np.ndarray) -> None:
        self.shape = (n_units, n_periods)
        self.w_unit = w_unit
        self.w_total = float(w_unit.sum())

    def residualize(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Residual of ``x`` on unit and period effects, and the period effects."""
        wide = x.reshape(self.shape)
        dev = wide - wide.mean(axis=1, keepdims=True)
        period = (self.w_unit @ dev) / self.w_total
        return (dev - period).ravel(), period


#: Eigenvalues of the period system below this share of the largest are its null
#: space (the constant shift absorbed by the unit effects, one per connected
#: component of the unit-period graph). Round-off puts them near 1e-14 relative;
#: numpy's ``pinv`` default cut-off (~1e-15) would invert them and the huge shift
#: it adds to the period effects cancels only up to round-off in the residual.
NULL_EIGENVALUE_TOL = 1e-9


def _psd_pinv(a: np.ndarray) -> np.ndarray:
    """Pseudo-inverse of a symmetric positive semi-definite matrix."""
    values, vectors = np.linalg.eigh(a)
    keep = values > NULL_EIGENVALUE_TOL * values.max()
    return (vectors[:, keep] / values[keep]) @ vectors[:, keep].T


class _GeneralProjector:
    r"""Exact weighted two-way within transform of any (unbalanced) panel.

    With :math:`W_i=\sum_t w_{it}`, unit effects are concentrated out and the
    period effects :math:`b` solve :math:`A b = c` with
    :math:`A_{ts} = 1\{t=s\}\sum_i w_{it} - \sum_i w_{it} w_{is} / W_i` and
    :math:`c_t = \sum_i w_{it}(x_{it} - \bar x^w_i)`. ``A`` is singular (a
    constant shift of ``b`` is absorbed by the unit effects); its pseudo-inverse,
    with the null space cut explicitly (:data:`NULL_EIGENVALUE_TOL`), gives the
    minimum-norm solution, and the residual is unique.
    """

    def __init__(
        self,
        unit: np.ndarray,
        time: np.ndarray,
        w: np.ndarray,
        n_units: int,
        n_periods: int,
    ) -> None:
        self.unit, self.time, self.w = unit, time, w
        self.n_units, self.n_periods = n_units, n_periods
        self.w_unit = np.bincount(unit, weights=w, minlength=n_units)
        wt = sparse.csr_matrix((w, (unit, time)), shape=(n_units, n_periods))
        scaled = sparse.diags(1.0 / self.w_unit) @ wt
        a = np.diag(np.asarray(wt.sum(axis=0)).ravel()) - (wt.T @ scaled).toarray()
        self.a_pinv = _psd_pinv((a + a.T) / 2)

    def _unit_mean(self, v: np.ndarray) -> np.ndarray:
        return np.bincount(self.unit, weights=self.w * v, minlength=self.n_units) / (
            self.w_unit
        )

    def residualize(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Residual of ``x`` on unit and period effects, and the period effects."""
        dev = x - self._unit_mean(x)[self.unit]
        c = np.bincount(self.time, weights=self.w * dev, minlength=self.n_periods)
        period = self.a_pinv @ c
        bt = period[self.time]
        return dev - bt + self._unit_mean(bt)[self.unit], period


@dataclass(frozen=True)
class _Design:
    """Regressors: 0/1 treatment terms coded by ``term`` (-1: none) + covariates."""

    term: np.ndarray
    n_terms: int
    covariates: np.ndarray  # (n, q), possibly q = 0

    @property
    def n_columns(self) -> int:
        return self.n_terms + self.covariates.shape[1]

    def column(self, j: int) -> np.ndarray:
        if j < self.n_terms:
            return (self.term == j).astype(float)
        return self.covariates[:, j - self.n_terms]


@dataclass(frozen=True)
class _Fit:
    beta: np.ndarray  # (p,) for kept columns, NaN elsewhere
    kept: np.ndarray  # (p,) bool
    bread: np.ndarray  # (k, k) inverse of X~'W X~ over kept columns
    gram: np.ndarray  # (p, p) X'W X~ over all columns
    unit_scores: np.ndarray  # (n_units, k) sum_t w e~ x~ by unit
    n_obs: int


def _independent_columns(
    gram: np.ndarray, raw: np.ndarray, tol: float = COLLINEARITY_TOL
) -> np.ndarray:
    """Greedy left-to-right selection of linearly independent columns.

    A column is kept when the part of it not explained by the fixed effects and
    the columns kept before it has a second moment above ``tol`` times its raw
    second moment ``raw``.
    """
    kept: list[int] = []
    for j in range(gram.shape[0]):
        resid = gram[j, j]
        if kept:
            g_kk = gram[np.ix_(kept, kept)]
            g_kj = gram[kept, j]
            resid -= g_kj @ np.linalg.solve(g_kk, g_kj)
        if raw[j] > 0 and resid > tol * raw[j]:
            kept.append(j)
    mask = np.zeros(gram.shape[0], dtype=bool)
    mask[kept] = True
    return mask


def _fit_within(
    y: np.ndarray,
    design: _Design,
    projector: _BalancedProjector | _GeneralProjector,
    unit: np.ndarray,
    time: np.ndarray,
    w: np.ndarray,
    n_units: int,
    n_periods: int,
) -> _Fit:
    r"""Weighted least squares of ``y`` on the design plus two-way fixed effects.

    Two passes over the columns keep memory at a few ``n``-vectors whatever the
    number of regressors: the Gram matrix :math:`X'W\tilde X` is accumulated column
    by column, then the residual is the projection of :math:`y - X\hat\beta`.
    Unit-level scores use :math:`\sum_t w_{it}\hat e_{it}\tilde x_{it} =
    \sum_t w_{it}\hat e_{it}(x_{it} - b_t)`, since residuals sum to zero within
    each unit (``b`` = period effects of ``x``).
    """
    p = design.n_columns
    has_term = design.term >= 0
    term_rows = design.term[has_term]
    gram = np.zeros((p, p))
    cross = np.zeros(p)
    raw = np.zeros(p)
    period_fx = np.zeros((n_periods, p))
    for j in range(p):
        x = design.column(j)
        x_t, period = projector.residualize(x)
        wx_t = w * x_t
        gram[: design.n_terms, j] = np.bincount(
            term_rows, weights=wx_t[has_term], minlength=design.n_terms
        )
        if design.covariates.shape[1]:
            gram[design.n_terms :, j] = design.covariates.T @ wx_t
        cross[j] = wx_t @ y
        raw[j] = (w * x) @ x
        period_fx[:, j] = period
    gram = (gram + gram.T) / 2
    kept = _independent_columns(gram, raw)
    g_k = gram[np.ix_(kept, kept)]
    bread = np.linalg.inv(g_k)
    beta_k = np.linalg.solve(g_k, cross[kept])
    beta = np.full(p, np.nan)
    beta[kept] = beta_k
    coef = np.where(kept, beta, 0.0)
    fitted = np.where(has_term, coef[: design.n_terms][design.term.clip(0)], 0.0)
    if design.covariates.shape[1]:
        fitted = fitted + design.covariates @ coef[design.n_terms :]
    resid, _ = projector.residualize(y - fitted)
    we = w * resid
    by_period = sparse.csr_matrix((we, (unit, time)), shape=(n_units, n_periods))
    scores = np.zeros((n_units, p))
    if design.n_terms:
        scores[:, : design.n_terms] = sparse.csr_matrix(
            (we[has_term], (unit[has_term], term_rows)),
            shape=(n_units, design.n_terms),
        ).toarray()
    for k in range(design.covariates.shape[1]):
        scores[:, design.n_terms + k] = np.bincount(
            unit, weights=we * design.covariates[:, k], minlength=n_units
        )
    scores -= by_period @ period_fx
    return _Fit(
        beta=beta,
        kept=kept,
        bread=bread,
        gram=gram,
        unit_scores=scores[:, kept],
        n_obs=int(y.size),
    )


def ssc_k(n_regressors: int, n_periods: int, periods_nested: bool) -> int:
    """Count the parameters :math:`K` of the :math:`(N-1)/(N-K)` factor.

    fixest's default ``ssc(fixef.K = "nested")``: the regressors plus the fixed
    effects not nested in the clusters. Unit effects are always nested (clusters
    are at or above the unit), so :math:`K = k + T` (the :math:`T-1` period
    effects plus the intercept), or :math:`k + 1` when the periods are nested too.
    This is also Stata's ``xtreg, fe vce(cluster c)`` count.
    """
    return n_regressors + (1 if periods_nested else n_periods)


@dataclass(frozen=True)
class RegressionInference:
    """Standard errors of a TWFE fit and what goes with them."""

    std_errors: np.ndarray
    vcov: np.ndarray
    dof: float | None
    n_clusters: int
    notes: tuple[str, ...]


def regression_inference(
    unit_scores: np.ndarray,
    bread: np.ndarray,
    cluster_code: np.ndarray,
    n_clusters: int,
    *,
    n_obs: int,
    k: int,
    small_sample: bool,
    label: str,
) -> RegressionInference:
    r"""Cluster-robust sandwich from unit-level scores.

    :math:`V = c\,B^{-1}\big(\sum_g s_g s_g'\big)B^{-1}` with :math:`B=\tilde X'W\tilde X`,
    :math:`s_g` the sum of the scores of cluster :math:`g` and, with
    ``small_sample``, :math:`c = \frac{G}{G-1}\frac{N-1}{N-K}` (CR1) and a
    :math:`t_{G-1}` reference distribution; otherwise :math:`c = 1` (CR0) and the
    normal distribution.
    """
    sums = cluster_sums(unit_scores, cluster_code, n_clusters)
    meat = sums.T @ sums
    vcov = bread @ meat @ bread
    vcov = (vcov + vcov.T) / 2
    if small_sample:
        if n_clusters < 2:
            raise IdentificationError(
                f"Cluster-robust inference needs at least 2 clusters ({label} has "
                f"{n_clusters}). Cluster at a finer level or use inference='iid'."
            )
        factor = n_clusters / (n_clusters - 1) * (n_obs - 1) / (n_obs - k)
        vcov = vcov * factor
        dof: float | None = float(n_clusters - 1)
        note = (
            f"Cluster-robust standard errors by {label} ({n_clusters} clusters): "
            f"variance multiplied by G/(G-1)*(N-1)/(N-K) = {n_clusters}/"
            f"{n_clusters - 1}*{n_obs - 1}/{n_obs - k} (K = {k}: regressors and "
            "fixed effects not nested in the clusters, as fixest's default and "
            f"Stata's xtreg, fe), t({n_clusters - 1}) critical values."
        )
    else:
        dof = None
        note = (
            f"Cluster-robust standard errors by {label} ({n_clusters} clusters) "
            "without small-sample correction (CR0), normal critical values."
        )
    se = np.sqrt(np.clip(np.diag(vcov), 0.0, None))
    se = np.where(se > se_floor(), se, np.nan)
    return RegressionInference(se, vcov, dof, n_clusters, (note,))


# =============================================================================
# Shared preparation
# =============================================================================
@dataclass
class _Setup:
    prep: PreparedPanel
    inference: IID | Cluster
    notes: list[str]
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
    inf = resolve(inference, estimator=estimator, supported=SUPPORTED_INFERENCE)
    by = getattr(inf, "by", None)
    if by is not None:
        spec = spec.update(cluster=by)
    prep = prepare_panel(
        data, spec, missing="drop", balance="allow", treated_first_period="keep"
    )
    notes = list(prep.report.notes)
    w = prep.weights
    zero = w == 0
    if zero.any():
        keep = ~zero
        msg = (
            f"Dropped {int(zero.sum())} row(s) ({np.unique(prep.unit_code[zero]).size} "
            "unit(s)) with zero weight: they do not enter a weighted regression."
        )
        warn(msg, DroppedObservationsWarning)
        notes.append(msg)
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


def _projector(
    unit: np.ndarray,
    time: np.ndarray,
    w: np.ndarray,
    n_units: int,
    n_periods: int,
) -> _BalancedProjector | _GeneralProjector:
    """Balanced fast path when every unit has every period (rows sorted)."""
    if unit.size == n_units * n_periods:
        w_wide = w.reshape(n_units, n_periods)
        if np.all(w_wide == w_wide[:, :1]):
            return _BalancedProjector(n_units, n_periods, w_wide[:, 0].copy())
    return _GeneralProjector(unit, time, w, n_units, n_periods)


def _staggered(cohorts: np.ndarray) -> np.ndarray:
    """Sorted distinct treated cohorts."""
    return np.unique(cohorts[np.isfinite(cohorts)])


def _covariate_notes(names: tuple[str, ...], kept: np.ndarray) -> list[str]:
    dropped = [n for n, k in zip(names, kept) if not k]
    if not dropped:
        return []
    return [
        f"Covariate(s) {format_examples(dropped, len(dropped))} dropped: constant "
        "within units (absorbed by the unit fixed effects) or collinear with the "
        "other regressors. This leaves the other estimates unchanged."
    ]


def _cluster_checks(
    cluster_code_unit: np.ndarray,
    n_clusters: int,
    label: str,
    treated_unit: np.ndarray,
) -> list[str]:
    n_treated_cl = np.unique(cluster_code_unit[treated_unit]).size
    if n_clusters >= MIN_CLUSTERS and n_treated_cl >= MIN_TREATED_CLUSTERS:
        return []
    msg = (
        f"Few clusters for analytic cluster-robust inference: {n_clusters} clusters "
        f"({label}), {n_treated_cl} of them with treated units (thresholds "
        f"{MIN_CLUSTERS} and {MIN_TREATED_CLUSTERS}). Standard errors and t("
        f"{n_clusters - 1}) intervals can be too narrow; see {COVERAGE_DOC}."
    )
    warn(msg, SmallClusterWarning)
    return [msg]


def _periods_nested(time: np.ndarray, cluster_row: np.ndarray, n_periods: int) -> bool:
    """Tell whether every period's rows lie in one cluster (fixest nesting)."""
    lo = np.full(n_periods, np.iinfo(np.int64).max)
    hi = np.full(n_periods, -1)
    np.minimum.at(lo, time, cluster_row)
    np.maximum.at(hi, time, cluster_row)
    return bool(np.all(lo == hi))


def infer(
    inference: IID | Cluster,
    unit_scores: np.ndarray,
    bread: np.ndarray,
    unit_cluster_code: np.ndarray,
    cluster_column: str,
    unit_treated: np.ndarray,
    *,
    n_obs: int,
    k_cluster: int,
    k_unit: int,
) -> tuple[RegressionInference, list[str]]:
    """Compute standard errors for an inference choice, with the few-clusters check.

    ``IID`` (independent units) clusters by unit with the CR1 factor: the periods of
    a unit are never treated as independent. ``Cluster`` uses the spec's cluster
    column (codes ``unit_cluster_code``).
    """
    n_units = unit_scores.shape[0]
    if isinstance(inference, IID):
        code, g, k, small = np.arange(n_units), n_units, k_unit, True
        label = "unit (inference='iid': independent units)"
        short = "unit"
    else:
        code, g, k = unit_cluster_code, int(unit_cluster_code.max()) + 1, k_cluster
        small = inference.small_sample
        label = short = repr(cluster_column)
    out = regression_inference(
        unit_scores, bread, code, g, n_obs=n_obs, k=k, small_sample=small, label=label
    )
    return out, _cluster_checks(code, g, short, unit_treated)


def _inference_parts(
    setup: _Setup, fit: _Fit, n_periods: int
) -> tuple[int, int, RegressionInference, list[str]]:
    """Cluster codes, K, and the standard errors of the kept columns."""
    prep = setup.prep
    k_reg = int(fit.kept.sum())
    cl_row = prep.cluster_code[setup.unit]
    k_cluster = ssc_k(k_reg, n_periods, _periods_nested(setup.time, cl_row, n_periods))
    k_unit = ssc_k(k_reg, n_periods, _periods_nested(setup.time, setup.unit, n_periods))
    treated = np.isfinite(prep.cohort)
    out, notes = infer(
        setup.inference,
        fit.unit_scores,
        fit.bread,
        prep.cluster_code,
        prep.spec.cluster_col,
        treated,
        n_obs=fit.n_obs,
        k_cluster=k_cluster,
        k_unit=k_unit,
    )
    return k_cluster, k_unit, out, notes


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
    design = _Design(
        term=np.where(treated_row, 0, -1), n_terms=1, covariates=setup.covariates
    )
    projector = _projector(setup.unit, setup.time, setup.w, setup.n_units, n_periods)
    fit = _fit_within(
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
    wtab, n_neg, sum_neg, sigma_fe = _dcdh_weights(
        setup, design, projector, fit, float(fit.beta[0]), treated_row
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
        notes.append(msg)
    notes.append(weight_note)

    k_cluster, k_unit, out, cl_notes = _inference_parts(setup, fit, n_periods)
    notes += list(out.notes) + cl_notes
    names = ["D", *[c for c, k in zip(setup.covariate_names, fit.kept[1:]) if k]]
    beta_k = fit.beta[fit.kept]
    table = pd.DataFrame(
        {"estimate": beta_k[:1], "std_error": out.std_errors[:1]},
        index=pd.Index(["D"], name="term"),
    )
    cov_table = pd.DataFrame(
        {"estimate": beta_k[1:], "std_error": out.std_errors[1:]},
        index=pd.Index(names[1:], name="term"),
    )
    vcov = pd.DataFrame(out.vcov[:1, :1], index=table.index, columns=table.index)
    options = MappingProxyType(
        {
            "treatment": "D = 1{t >= cohort}",
            "covariates": tuple(names[1:]),
            "weights": prep.spec.weights,
            "balanced": isinstance(projector, _BalancedProjector),
        }
    )
    return TWFEResult(
        table=table,
        inference=setup.inference,
        spec=prep.spec,
        options=options,
        alpha=alpha,
        nobs=fit.n_obs,
        n_units=setup.n_units,
        n_clusters=out.n_clusters,
        notes=tuple(notes),
        provenance=make_provenance(prep.fingerprint),
        dof=out.dof,
        vcov_matrix=vcov,
        cluster_column=prep.spec.cluster_col,
        unit_scores=fit.unit_scores,
        bread=fit.bread,
        unit_cluster_code=prep.cluster_code,
        unit_treated=np.isfinite(prep.cohort),
        k_cluster=k_cluster,
        k_unit=k_unit,
        n_terms=1,
        reference_mask=np.zeros(1, dtype=bool),
        covariate_table=cov_table,
        cohorts=tuple(float(c) for c in cohorts),
        weights_table=wtab,
        n_negative_weights=n_neg,
        sum_negative_weights=sum_neg,
        sigma_fe=sigma_fe,
    )


def _dcdh_weights(
    setup: _Setup,
    design: _Design,
    projector: _BalancedProjector | _GeneralProjector,
    fit: _Fit,
    beta: float,
    treated_row: np.ndarray,
) -> tuple[pd.DataFrame, int, float, float]:
    """Weights of the treated observations in the static coefficient, by cell."""
    eps, _ = projector.residualize(design.column(0))
    cov_kept = np.flatnonzero(fit.kept[1:]) + 1
    if cov_kept.size:
        g = fit.gram
        gamma = np.linalg.solve(g[np.ix_(cov_kept, cov_kept)], g[cov_kept, 0])
        for j, gj in zip(cov_kept, gamma):
            x_t, _ = projector.residualize(design.column(j))
            eps = eps - gj * x_t
    w = setup.w
    num = w * eps
    denom = num[treated_row].sum()
    weight = num[treated_row] / denom
    prep = setup.prep
    cohort = setup.cohort_row[treated_row]
    cohort_values, cohort_idx = np.unique(cohort, return_inverse=True)
    n_periods = len(prep.periods)
    cell = cohort_idx * n_periods + prep.time_code[treated_row]
    n_cells = cohort_values.size * n_periods
    n_obs = np.bincount(cell, minlength=n_cells)
    present = np.flatnonzero(n_obs)
    cell_weight = np.bincount(cell, weights=weight, minlength=n_cells)[present]
    c_of = cohort_values[present // n_periods]
    t_of = prep.periods[present % n_periods]
    cells = pd.DataFrame(
        {
            "cohort": c_of.astype(np.int64),
            "time": t_of.astype(np.int64),
            "event_time": (t_of - c_of).astype(np.int64),
            "n_obs": n_obs[present].astype(np.int64),
            "weight": cell_weight,
        }
    )
    neg = cells["weight"].to_numpy() < 0
    # sigma(w) of dCDH: shares N_it/N_1, dCDH weights w_it = W_it / share_it
    share = w[treated_row] / w[treated_row].sum()
    sd = float(np.sqrt(np.sum(share * (weight / share - 1.0) ** 2)))
    sigma_fe = abs(beta) / sd if sd > 0 else np.inf
    return cells, int(neg.sum()), float(cells["weight"].to_numpy()[neg].sum()), sigma_fe


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
) -> EventStudyResult:
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
    EventStudyResult
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
    observed = np.unique(rel[treated_unit_row]).astype(np.int64)
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
                    f"Binned {int(mask.sum())} observation(s) of "
                    f"{np.unique(setup.unit[mask]).size} treated unit(s) at event "
                    f"times {side} into the endpoint term {label!r} (bin_endpoints="
                    "True: a constant effect is assumed beyond the window)."
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
            notes.append(msg)
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
    design = _Design(term=term, n_terms=est_times.size, covariates=setup.covariates)
    projector = _projector(
        setup.unit, setup.time, setup.w, setup.n_units, len(prep.periods)
    )
    fit = _fit_within(
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
        notes.append(msg)
    k_cluster, k_unit, out, cl_notes = _inference_parts(setup, fit, len(prep.periods))
    notes += list(out.notes) + cl_notes
    n_terms = design.n_terms

    # -- table over the whole window, reference rows included --------------------
    all_labels = [_term_label(e, lo, hi, bin_lo, bin_hi) for e in window.tolist()]
    is_ref = np.isin(window, refs)
    est = np.zeros(window.size)
    se = np.full(window.size, np.nan)
    est[~is_ref] = fit.beta[:n_terms]
    se[~is_ref] = out.std_errors[:n_terms]
    index = pd.Index(all_labels, name="term")
    table = pd.DataFrame(
        {
            "event_time": window.astype(np.int64),
            "binned": [
                (e == lo and bin_lo) or (e == hi and bin_hi) for e in window.tolist()
            ],
            "reference": is_ref,
            "estimate": est,
            "std_error": se,
        },
        index=index,
    )
    vcov = np.zeros((window.size, window.size))
    pos = np.flatnonzero(~is_ref)
    vcov[np.ix_(pos, pos)] = out.vcov[:n_terms, :n_terms]
    # observations and units behind each term (rows are sorted by unit, then time,
    # so the (unit, term) pairs of a unit form runs: no sort needed)
    rel_w = np.clip(rel[treated_unit_row], lo, hi)
    pos = np.minimum(np.searchsorted(window, rel_w), window.size - 1)
    hit = window[pos] == rel_w
    pos, unit_w = pos[hit], setup.unit[treated_unit_row][hit]
    pair = unit_w * window.size + pos
    first = np.r_[True, pair[1:] != pair[:-1]]
    counts = pd.DataFrame(
        {
            "event_time": window.astype(np.int64),
            "n_obs": np.bincount(pos, minlength=window.size).astype(np.int64),
            "n_units": np.bincount(pos[first], minlength=window.size).astype(np.int64),
        },
        index=index,
    )
    kept_cov = [c for c, k in zip(setup.covariate_names, fit.kept[n_terms:]) if k]
    cov_table = pd.DataFrame(
        {
            "estimate": fit.beta[n_terms:][fit.kept[n_terms:]],
            "std_error": out.std_errors[n_terms:],
        },
        index=pd.Index(kept_cov, name="term"),
    )
    options = MappingProxyType(
        {
            "leads": leads,
            "lags": lags,
            "window": (lo, hi),
            "reference": refs,
            "bin_endpoints": bin_endpoints,
            "covariates": tuple(kept_cov),
            "weights": prep.spec.weights,
            "balanced": isinstance(projector, _BalancedProjector),
        }
    )
    return EventStudyResult(
        table=table,
        inference=setup.inference,
        spec=prep.spec,
        options=options,
        alpha=alpha,
        nobs=fit.n_obs,
        n_units=setup.n_units,
        n_clusters=out.n_clusters,
        notes=tuple(notes),
        provenance=make_provenance(prep.fingerprint),
        dof=out.dof,
        vcov_matrix=pd.DataFrame(vcov, index=index, columns=index),
        cluster_column=prep.spec.cluster_col,
        unit_scores=fit.unit_scores,
        bread=fit.bread,
        unit_cluster_code=prep.cluster_code,
        unit_treated=np.isfinite(prep.cohort),
        k_cluster=k_cluster,
        k_unit=k_unit,
        n_terms=n_terms,
        reference_mask=is_ref,
        covariate_table=cov_table,
        cohorts=tuple(float(c) for c in cohorts),
        counts=counts,
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
