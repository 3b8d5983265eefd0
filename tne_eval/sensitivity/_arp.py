r"""Conditional and hybrid moment-inequality tests (Andrews, Roth and Pakes), arrays only.

Under a polyhedral restriction :math:`A\delta \le d`, the null
:math:`\theta = l'\tau_{post} = \bar\theta` holds iff some nuisance
:math:`\tilde\tau` gives :math:`E[Y(\bar\theta) - X\tilde\tau] \le 0` with
:math:`Y(\bar\theta) = A\hat\beta - d - a_1\bar\theta`, where
:math:`(a_1, X) = A_{post}\Gamma^{-1}` for any invertible :math:`\Gamma` whose
first row is :math:`l'`. The statistic is

.. math:: \hat\eta = \min_{\eta, \tilde\tau} \eta \ \text{ s.t. }\
   Y - X\tilde\tau \le \eta\,\sigma_Y
   = \max_{\gamma \in P} \gamma' Y, \quad
   P = \{\gamma \ge 0,\ \sigma_Y'\gamma = 1,\ X'\gamma = 0\},

computed here by enumerating the vertices of the dual polytope :math:`P` once
(the rows and nuisance dimensions of an event study are few), which makes the
test vectorised over the grid of :math:`\bar\theta`. Conditioning on the
optimal vertex :math:`\gamma^*` and on
:math:`S = Y - b\,\gamma^{*\prime}Y`, :math:`b = \Sigma_Y\gamma^*/\gamma^{*\prime}\Sigma_Y\gamma^*`,
:math:`\hat\eta` is a truncated normal on
:math:`[v^{lo}, v^{up}] = \{c : \max_{\gamma\in P}\gamma'(S + bc) = c\}`; for a
vertex set this is the intersection of the half-lines
:math:`\gamma'S \le c(1 - \gamma'b)`. This is the same set that R HonestDiD
finds by a basis formula or by bisection with LPs. The least-favourable hybrid
first rejects when :math:`\hat\eta` exceeds the simulated :math:`1-\kappa`
quantile of :math:`\max_{\gamma\in P}\gamma'\xi`, :math:`\xi \sim N(0,
\Sigma_Y)`, and otherwise runs the conditional test at size
:math:`(\alpha-\kappa)/(1-\kappa)` with :math:`v^{up}` capped by that quantile.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import linalg, stats

from tne_eval.errors import SpecError

__all__ = ["accept_grid", "dual_vertices", "rm_constraints", "theta_basis"]

#: Row subsets beyond which vertex enumeration is refused (with a message).
MAX_SUBSETS = 250_000
_TOL = 1e-10


def rm_constraints(
    num_pre: int, num_post: int, mbar: float, s: int, max_positive: bool
) -> np.ndarray:
    r"""Rows of :math:`A` for :math:`\Delta^{RM}(\bar M)` given where the max is attained.

    First differences :math:`\Delta_r = \delta_r - \delta_{r-1}` over the whole
    sequence (reference :math:`\delta_0 = 0` included): every pre difference is
    at most :math:`\pm\Delta_s` and every post difference at most
    :math:`\bar M (\pm\Delta_s)`, with :math:`s \in \{-K+1, \dots, 0\}` the
    pre-period difference assumed largest and ``max_positive`` its sign.
    Zero rows are dropped, as is the reference column; :math:`d = 0`.
    """
    n = num_pre + num_post + 1
    first = np.zeros((n - 1, n))
    for r in range(n - 1):
        first[r, r : r + 2] = (-1.0, 1.0)
    pick = np.zeros(n)
    pick[num_pre + s - 1 : num_pre + s + 1] = (-1.0, 1.0)
    if not max_positive:
        pick = -pick
    bound = np.vstack(
        [np.tile(pick, (num_pre, 1)), np.tile(mbar * pick, (num_post, 1))]
    )
    a = np.vstack([first - bound, -first - bound])
    a = a[(a**2).sum(axis=1) > 1e-10]
    return np.delete(a, num_pre, axis=1)


def theta_basis(l_vec: np.ndarray) -> np.ndarray:
    """Return an invertible matrix whose first row is ``l_vec``."""
    l_vec = np.asarray(l_vec, dtype=float)
    rest = linalg.null_space(l_vec[None, :]).T
    return np.vstack([l_vec, rest])


def dual_vertices(sd: np.ndarray, x: np.ndarray) -> np.ndarray:
    r"""Vertices of :math:`\{\gamma \ge 0,\ sd'\gamma = 1,\ x'\gamma = 0\}` (rows of the output).

    Every vertex is a basic feasible solution: :math:`k + 1` rows (``k`` the
    columns of ``x``) whose square system has a nonnegative solution.
    """
    m, k = x.shape
    size = k + 1
    if math.comb(m, size) > MAX_SUBSETS:
        raise SpecError(
            f"the test has {m} moments and {k} nuisance parameters, "
            f"{math.comb(m, size)} candidate vertices (limit {MAX_SUBSETS}); use "
            "fewer post-periods (e.g. aggregate with max_e=) or the smoothness "
            "restriction."
        )
    w = np.column_stack([sd, x])  # m x (k+1)
    rhs = np.zeros(size)
    rhs[0] = 1.0
    found: list[np.ndarray] = []
    for rows in itertools.combinations(range(m), size):
        sub = w[list(rows)].T  # (k+1) x (k+1)
        if abs(np.linalg.det(sub)) < 1e-12 * max(1.0, np.abs(sub).max() ** size):
            continue
        g = np.linalg.solve(sub, rhs)
        if np.all(g >= -1e-10):
            full = np.zeros(m)
            full[list(rows)] = np.maximum(g, 0.0)
            found.append(full)
    if not found:
        return np.zeros((0, m))
    out = np.unique(np.round(np.array(found), 12), axis=0)
    return out


def _least_favorable_cv(
    vertices: np.ndarray, sigma_y: np.ndarray, kappa: float, n_sims: int, seed: int
) -> float:
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_normal(
        np.zeros(len(sigma_y)), sigma_y, size=n_sims, method="eigh"
    )
    eta = (draws @ vertices.T).max(axis=1)
    return float(np.quantile(eta, 1.0 - kappa))


def _truncnorm_upper_quantile(p: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Return the ``p`` quantile of N(0,1) truncated to [lo, hi], stable in both tails."""
    out = np.empty_like(lo)
    right = lo > 0  # use the mirrored upper tail where the interval is right of 0
    if np.any(~right):
        out[~right] = stats.truncnorm.ppf(p, lo[~right], hi[~right])
    if np.any(right):
        out[right] = -stats.truncnorm.ppf(1.0 - p, -hi[right], -lo[right])
    return out


def accept_grid(
    y: np.ndarray,
    a1: np.ndarray,
    x: np.ndarray,
    sigma_y: np.ndarray,
    thetas: np.ndarray,
    *,
    alpha: float,
    hybrid: bool,
    kappa: float,
    n_sims: int,
    seed: int,
) -> np.ndarray:
    """Whether each value of ``thetas`` is accepted (boolean array)."""
    sd = np.sqrt(np.clip(np.diag(sigma_y), 0.0, None))
    if np.any(sd <= 0):
        raise SpecError(
            "a moment of the restriction has zero variance; check that the "
            "covariance matrix of the event-study coefficients is positive "
            "definite over the pre- and post-periods."
        )
    vertices = dual_vertices(sd, x)
    if len(vertices) == 0:  # the nuisance can make every moment slack
        return np.ones(len(thetas), dtype=bool)
    size = alpha
    cv_lf = np.inf
    if hybrid:
        cv_lf = _least_favorable_cv(vertices, sigma_y, kappa, n_sims, seed)
        size = (alpha - kappa) / (1.0 - kappa)
    ys = y[:, None] - a1[:, None] * thetas[None, :]  # m x G
    values = vertices @ ys  # V x G
    best = values.argmax(axis=0)
    eta = values[best, np.arange(len(thetas))]
    gamma = vertices[best]  # G x m
    sg = gamma @ sigma_y  # G x m
    var_b = np.einsum("gm,gm->g", sg, gamma)
    accept = np.ones(len(thetas), dtype=bool)
    degenerate = var_b < np.finfo(float).eps
    accept[degenerate] = eta[degenerate] <= 0
    ok = ~degenerate
    if not np.any(ok):
        return accept
    b = sg[ok] / var_b[ok, None]  # G' x m
    s = ys[:, ok].T - b * eta[ok, None]
    num = s @ vertices.T  # G' x V
    coef = 1.0 - b @ vertices.T
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num / coef
    v_lo = np.where(coef > _TOL, ratio, -np.inf).max(axis=1)
    v_up = np.where(coef < -_TOL, ratio, np.inf).min(axis=1)
    sigma_b = np.sqrt(var_b[ok])
    stat = eta[ok] / sigma_b
    z_lo = v_lo / sigma_b
    z_up = np.minimum(v_up, cv_lf) / sigma_b
    reject = np.zeros(ok.sum(), dtype=bool)
    first_stage = eta[ok] > cv_lf
    reject |= first_stage
    inside = (
        ~first_stage & (z_lo <= stat + 1e-12) & (stat <= z_up + 1e-12) & (z_lo < z_up)
    )
    if np.any(inside):
        cval = np.maximum(
            0.0, _truncnorm_upper_quantile(1.0 - size, z_lo[inside], z_up[inside])
        )
        reject[inside] = stat[inside] > cval
    accept[ok] = ~reject
    return accept
