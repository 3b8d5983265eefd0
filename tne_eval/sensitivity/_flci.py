r"""Fixed-length confidence intervals under smoothness restrictions (arrays only).

The event-study coefficients are :math:`\hat\beta = (\hat\beta_{pre},
\hat\beta_{post})`, with :math:`K` pre-periods (event times before the
reference period, which is normalised to zero and left out) and :math:`T`
post-periods. Under :math:`\Delta^{SD}(M)` the bias :math:`\delta` has second
differences bounded by :math:`M` over the whole sequence (reference included,
:math:`\delta_0 = 0`): :math:`|D\delta|_\infty \le M`.

An affine estimator :math:`v'\hat\beta` of :math:`\theta = l'\tau_{post}` with
:math:`v = (v_{pre}, l)` has error :math:`v'\delta + v'\varepsilon`. By LP
duality its worst-case bias over :math:`\Delta^{SD}(M)` is
:math:`M \min\{\|\lambda\|_1 : D'\lambda = v\}` (finite only when :math:`v` is
orthogonal to linear trends), so the estimators are indexed by the
second-difference weights :math:`\lambda` with :math:`(D'\lambda)_{post} = l`
(:math:`K - 1` free dimensions). The FLCI (Armstrong and Kolesár 2018;
Rambachan and Roth 2023, section 4.1) minimises the half-length
:math:`\mathrm{sd}\cdot cv_\alpha(\mathrm{bias}/\mathrm{sd})`, where
:math:`cv_\alpha(b)` is the :math:`1-\alpha` quantile of :math:`|N(b, 1)|`.
The half-length is a convex function of :math:`\lambda` (the perspective of the
convex, increasing :math:`cv_\alpha`), minimised here in one smooth program:
the :math:`\ell_1` norm is split with slack variables and SciPy's SLSQP solves
it from the least-variance and the least-bias estimators (the latter found by
``scipy.optimize.linprog``); the better solution is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize, special

__all__ = [
    "FlciSolution",
    "folded_normal_quantile",
    "folded_normal_slope",
    "second_differences",
    "solve_flci",
]


def second_differences(num_pre: int, num_post: int) -> np.ndarray:
    r"""Second-difference operator over pre, reference (dropped) and post periods.

    Rows: the :math:`K + T - 1` interior positions of the sequence
    :math:`-K, \dots, -1, 0, 1, \dots, T`; columns: the :math:`K + T`
    coefficients (the reference column, always zero, is dropped).
    """
    n = num_pre + num_post + 1
    full = np.zeros((n - 2, n))
    for i in range(1, n - 1):
        full[i - 1, i - 1 : i + 2] = (1.0, -2.0, 1.0)
    return np.delete(full, num_pre, axis=1)


def folded_normal_quantile(b: float, alpha: float) -> float:
    r"""Return the :math:`1-\alpha` quantile of :math:`|N(b, 1)|` (exact, by root finding)."""
    b = abs(float(b))

    def excess(c: float) -> float:
        return special.ndtr(c - b) - special.ndtr(-c - b) - (1.0 - alpha)

    hi = b + special.ndtri(1.0 - alpha / 2.0)  # P(|N(b,1)| <= hi) >= 1 - alpha
    return float(optimize.brentq(excess, 0.0, hi + 1e-12, xtol=1e-14, rtol=1e-15))


def folded_normal_slope(b: float, c: float) -> float:
    """Return the derivative in ``b`` of the quantile ``c`` of :math:`|N(b, 1)|`."""
    up, down = math.exp(-0.5 * (c - b) ** 2), math.exp(-0.5 * (c + b) ** 2)
    return float((up - down) / (up + down))


@dataclass(frozen=True)
class FlciSolution:
    """The optimal affine estimator and its interval half-length."""

    weights: np.ndarray  # v, over pre and post coefficients
    half_length: float
    max_bias: float
    std_error: float


def solve_flci(
    sigma: np.ndarray,
    num_pre: int,
    num_post: int,
    l_vec: np.ndarray,
    m: float,
    alpha: float,
) -> FlciSolution:
    r"""Optimal FLCI weights for :math:`\Delta^{SD}(M)` (see the module docstring)."""
    d_t = second_differences(num_pre, num_post).T  # (K+T) x n
    n = d_t.shape[1]
    post = d_t[num_pre:]
    lam0 = np.linalg.lstsq(post, l_vec, rcond=None)[0]
    null = linalg.null_space(post)  # n x (K-1)
    gram = d_t.T @ sigma @ d_t  # variance of v'beta as a quadratic form in lambda

    def lam(z: np.ndarray) -> np.ndarray:
        return lam0 + null @ z

    def sd(z: np.ndarray) -> float:
        x = lam(z)
        return float(np.sqrt(max(x @ gram @ x, 0.0)))

    def finish(z: np.ndarray) -> FlciSolution:
        x = lam(z)
        s = sd(z)
        bias = m * float(np.abs(x).sum())
        half = s * folded_normal_quantile(bias / s, alpha) if s > 0 else bias
        return FlciSolution(d_t @ x, half, bias, s)

    k = null.shape[1]
    if k == 0:
        return finish(np.zeros(0))
    # least variance: minimise (lam0 + N z)' G (lam0 + N z)
    z_var = np.linalg.lstsq(null.T @ gram @ null, -null.T @ gram @ lam0, rcond=None)[0]
    if m == 0.0:
        return finish(z_var)
    # least bias: min sum(u) s.t. -u <= lam0 + N z <= u (linprog, HiGHS)
    c = np.r_[np.zeros(k), np.ones(n)]
    a_ub = np.block([[null, -np.eye(n)], [-null, -np.eye(n)]])
    b_ub = np.r_[-lam0, lam0]
    lp = optimize.linprog(
        c, A_ub=a_ub, b_ub=b_ub, bounds=[(None, None)] * (k + n), method="highs"
    )
    starts = [z_var]
    if lp.status == 0:
        starts.append(lp.x[:k])

    scale = finish(z_var).half_length  # SLSQP's tolerance is on f's scale
    gram_z = null.T @ gram  # d sd^2 / d z = 2 N'G lambda

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        z, u = x[:k], x[k:]
        s = sd(z)
        b = m * float(u.sum()) / s
        c = folded_normal_quantile(b, alpha)
        slope = folded_normal_slope(b, c)  # dc/db
        ds_dz = gram_z @ lam(z) / s
        grad = np.r_[(c - b * slope) * ds_dz, np.full(n, m * slope)]
        return s * c / scale, grad / scale

    constraints = [
        {"type": "ineq", "fun": lambda x: b_ub - a_ub @ x, "jac": lambda x: -a_ub}
    ]
    best: FlciSolution | None = None
    for z0 in starts:
        x0 = np.r_[z0, np.abs(lam(z0)) + 1e-12]
        res = optimize.minimize(
            objective,
            x0,
            jac=True,
            method="SLSQP",
            constraints=constraints,
            options={"ftol": 1e-15, "maxiter": 2000},
        )
        cand = finish(res.x[:k] if np.all(np.isfinite(res.x)) else z0)
        if best is None or cand.half_length < best.half_length:
            best = cand
        start = finish(z0)
        if start.half_length < best.half_length:
            best = start
    assert best is not None
    return best
