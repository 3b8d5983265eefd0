r"""Exact two-way fixed-effects projections and the within least-squares fit.

The fixed effects are never materialised as dummies. Each regressor is projected
off the unit and period effects exactly (Frisch-Waugh-Lovell):

* balanced panel (weights constant within unit): :math:`\tilde x_{it} = x_{it} -
  \bar x_{i\cdot} - \bar x^w_{\cdot t} + \bar x^w`, vectorised on the
  ``(units, periods)`` array;
* unbalanced panel: unit effects are concentrated out and the period effects
  solve a :math:`T \times T` linear system (pseudo-inverse with its null space cut
  explicitly), which is exact (no alternating-projection tolerance).

Arrays in, arrays out; used by the TWFE benchmarks and by any estimator that
fits a two-way model (e.g. imputation on untreated observations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from tne_eval._numerics.linalg import psd_pinv

__all__ = [
    "COLLINEARITY_TOL",
    "NULL_EIGENVALUE_TOL",
    "BalancedProjector",
    "Design",
    "GeneralProjector",
    "WithinFit",
    "fit_within",
    "independent_columns",
    "make_projector",
    "ssc_k",
]

#: A regressor whose variance left after projecting off the fixed effects and the
#: previous regressors is below this share of its raw second moment is collinear.
COLLINEARITY_TOL = 1e-10


class BalancedProjector:
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


class GeneralProjector:
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
        self.a_pinv = psd_pinv((a + a.T) / 2, NULL_EIGENVALUE_TOL)

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
class Design:
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
class WithinFit:
    beta: np.ndarray  # (p,) for kept columns, NaN elsewhere
    kept: np.ndarray  # (p,) bool
    bread: np.ndarray  # (k, k) inverse of X~'W X~ over kept columns
    gram: np.ndarray  # (p, p) X'W X~ over all columns
    unit_scores: np.ndarray  # (n_units, k) sum_t w e~ x~ by unit
    n_obs: int
    x_tilde: np.ndarray  # (n, k) kept columns projected off both fixed effects
    resid: np.ndarray  # (n,) residuals of the full model


def independent_columns(
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


def fit_within(
    y: np.ndarray,
    design: Design,
    projector: BalancedProjector | GeneralProjector,
    unit: np.ndarray,
    time: np.ndarray,
    w: np.ndarray,
    n_units: int,
    n_periods: int,
) -> WithinFit:
    r"""Weighted least squares of ``y`` on the design plus two-way fixed effects.

    The Gram matrix :math:`X'W\tilde X` is accumulated column by column, then the
    residual is the projection of :math:`y - X\hat\beta`. The projected design
    :math:`\tilde X` (kept columns) and the residuals are returned: small-sample
    corrections (CR2) and null-imposed wild bootstraps need them.
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
    x_tilde = np.empty((y.size, p))
    for j in range(p):
        x = design.column(j)
        x_t, period = projector.residualize(x)
        x_tilde[:, j] = x_t
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
    kept = independent_columns(gram, raw)
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
    return WithinFit(
        beta=beta,
        kept=kept,
        bread=bread,
        gram=gram,
        unit_scores=scores[:, kept],
        n_obs=int(y.size),
        x_tilde=x_tilde[:, kept],
        resid=resid,
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


def make_projector(
    unit: np.ndarray,
    time: np.ndarray,
    w: np.ndarray,
    n_units: int,
    n_periods: int,
) -> BalancedProjector | GeneralProjector:
    """Balanced fast path when every unit has every period (rows sorted)."""
    if unit.size == n_units * n_periods:
        w_wide = w.reshape(n_units, n_periods)
        if np.all(w_wide == w_wide[:, :1]):
            return BalancedProjector(n_units, n_periods, w_wide[:, 0].copy())
    return GeneralProjector(unit, time, w, n_units, n_periods)
