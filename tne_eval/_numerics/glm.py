"""Propensity-score models: weighted logit and inverse probability tilting (arrays only).

Newton iterations with Armijo step halving on k x k normal equations, convergence
judged on equilibrated columns, and the estimation effect (asymptotic linear
representation) of the logit coefficients. Shared by the 2x2 DiD kernels and every
estimator that needs a propensity score.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tne_eval._numerics.linalg import GramSolver, check_rows, weighted_gram
from tne_eval.errors import IdentificationError

__all__ = [
    "expit",
    "fit_ipt",
    "fit_logit",
    "ipt_pscore",
    "line_search",
    "logit_alr",
    "logit_pscore",
    "softplus",
]

#: Logit: converged when max |mean score| (equilibrated columns) is below this.
_LOGIT_TOL = 1e-10
_LOGIT_MAX_ITER = 50
#: IPT (calibration) fit: same criterion on the gradient of its convex loss.
_IPT_TOL = 1e-10
_IPT_MAX_ITER = 100
#: At an interior optimum the Newton step left after the score tolerance is met is
#: tiny; under (quasi-)separation or no overlap it stays O(1). Steps are measured
#: on equilibrated columns.
_STEP_TOL = 1e-6
#: Line search: halvings before giving up on a Newton direction.
_MAX_HALVINGS = 40


def expit(eta: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-eta))``.

    Accurate in relative terms over the whole range (``exp`` overflows to ``inf`` for
    ``eta < -709``, giving the correct limit 0), and about five times faster than a
    two-branch formula on large arrays.
    """
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-eta))


def softplus(z: np.ndarray) -> np.ndarray:
    """``log(1 + exp(z))`` without overflow (cheaper than ``np.logaddexp(0, z)``)."""
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def logit_alr(
    d: np.ndarray, x: np.ndarray, w: np.ndarray, ps: np.ndarray, m: np.ndarray
) -> np.ndarray:
    """Return DRDID's ``asy.lin.rep.ps %*% m`` for the logit propensity score.

    ``asy.lin.rep.ps = (w * (D - ps) * x) @ (solve(x' diag(w ps (1 - ps)) x) * n)``,
    with the capped ``ps`` as in DRDID.
    """
    n = d.shape[0]
    info = weighted_gram(x, w * ps * (1.0 - ps))
    gram = GramSolver(
        info, what="propensity score (logit information matrix)", n_rows=n
    )
    return w * (d - ps) * (x @ (n * gram.solve(m)))


def fit_logit(
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    *,
    tol: float = _LOGIT_TOL,
    max_iter: int = _LOGIT_MAX_ITER,
) -> np.ndarray:
    """Weighted logit MLE by Newton-Raphson with step halving.

    Parameters
    ----------
    d : numpy.ndarray
        Shape ``(n,)``, 0/1 outcome.
    x : numpy.ndarray
        Shape ``(n, k)`` design, intercept included.
    w : numpy.ndarray
        Shape ``(n,)`` non-negative weights (their scale does not matter).
    tol : float, default 1e-10
        Convergence when the largest weighted-mean score on equilibrated columns is
        below ``tol`` and the remaining Newton step is below 1e-6.
    max_iter : int, default 50
        Newton iterations before giving up.

    Returns
    -------
    numpy.ndarray
        Shape ``(k,)`` coefficients on the original columns of ``x``.

    Raises
    ------
    IdentificationError
        Singular design, or no convergence (perfect or quasi-complete separation).
    """
    what = "propensity score (logit)"
    n_rows = check_rows(w, x.shape[1], what=what)
    wsum = w.sum()
    sign = 2.0 * d - 1.0

    def neg_loglik(eta: np.ndarray) -> float:
        return float(w @ softplus(-sign * eta)) / wsum

    gamma = np.zeros(x.shape[1])
    eta = np.zeros(x.shape[0])
    nll = neg_loglik(eta)
    scale = np.ones(x.shape[1])
    max_score = math.inf
    for it in range(max_iter):
        p = expit(eta)
        q = expit(-eta)  # 1 - p without cancellation
        score = ((w * (d - p)) @ x) / wsum
        info = weighted_gram(x, w * p * q) / wsum
        try:
            step = GramSolver(info, what=what, n_rows=n_rows).solve(score)
        except IdentificationError as err:
            if it == 0:  # at p = 1/2 the information is x'Wx/4: the design itself
                raise
            raise _logit_failure(it, max_score) from err
        if it == 0:
            # Column scales (weighted RMS of x) from the information at p = 1/2:
            # tolerances then apply to equilibrated coefficients, whatever the units.
            scale = 2.0 * np.sqrt(np.diag(info))
        max_score = float(np.max(np.abs(score / scale)))
        if max_score < tol and float(np.max(np.abs(step * scale))) < _STEP_TOL:
            return gamma
        gamma, eta, nll = line_search(
            gamma, step, nll, x, neg_loglik, slope=-float(score @ step)
        )
    raise _logit_failure(max_iter, max_score)


def _logit_failure(n_iter: int, max_score: float) -> IdentificationError:
    return IdentificationError(
        f"The logit propensity score did not converge (stopped after {n_iter} Newton "
        f"iterations, largest mean score {max_score:.3g}). This usually means perfect "
        "or quasi-complete separation: a covariate (or combination) predicts "
        "treatment exactly. Drop or coarsen that covariate, or use method='reg'."
    )


def fit_ipt(
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    start: np.ndarray,
    *,
    tol: float = _IPT_TOL,
    max_iter: int = _IPT_MAX_ITER,
) -> np.ndarray:
    r"""Inverse-probability-tilting (calibration) propensity score of Graham et al.

    Minimises DRDID's ``loss.ps.cal``, the strictly convex (when the controls'
    design has full rank)

    .. math:: L(\gamma) = \mathbb{E}_n\big[w\{-D X'\gamma + (1-D)\exp(X'\gamma)\}\big],

    whose first-order condition is the exact balancing
    :math:`\sum_i w_i D_i X_i = \sum_i w_i (1-D_i) e^{X_i'\gamma} X_i`, by Newton's
    method with Armijo backtracking from the logit estimate ``start`` (DRDID uses
    ``trust::trust`` from the same start).

    Parameters
    ----------
    d, x, w : numpy.ndarray
        As in :func:`fit_logit`.
    start : numpy.ndarray
        Shape ``(k,)`` starting coefficients.
    tol : float, default 1e-10
        Convergence when the largest gradient entry (equilibrated columns) is below
        ``tol`` and the remaining Newton step is below 1e-6.
    max_iter : int, default 100
        Newton iterations before giving up.

    Returns
    -------
    numpy.ndarray
        Shape ``(k,)`` coefficients; the propensity score is ``expit(x @ gamma)``.

    Raises
    ------
    IdentificationError
        The controls' design is singular, or the problem has no finite solution
        (the treated covariate means lie outside what reweighted controls can
        reach: lack of overlap).
    """
    what = "propensity score (inverse probability tilting, controls)"
    n = x.shape[0]
    control_w = w * (1.0 - d)
    n_rows = check_rows(control_w, x.shape[1], what=what)
    treated_w = w * d
    target = (treated_w @ x) / n

    def loss(eta: np.ndarray) -> float:
        # exp is clipped so trial points far outside the optimum give a huge but
        # finite loss (rejected by the line search) instead of overflow warnings.
        return float((control_w @ np.exp(np.minimum(eta, 700.0)) - treated_w @ eta) / n)

    gamma = np.asarray(start, dtype=np.float64).copy()
    eta = x @ gamma
    value = loss(eta)
    scale = np.ones(x.shape[1])
    max_grad = math.inf
    for it in range(max_iter):
        cw = control_w * np.exp(np.minimum(eta, 700.0))
        grad = (cw @ x) / n - target
        hess = weighted_gram(x, cw) / n
        try:
            step = -GramSolver(hess, what=what, n_rows=n_rows).solve(grad)
        except IdentificationError as err:
            if it == 0:
                raise
            raise _ipt_failure(it, max_grad) from err
        if it == 0:
            scale = np.sqrt(np.diag(hess))  # equilibrating column scales
        max_grad = float(np.max(np.abs(grad / scale)))
        if max_grad < tol and float(np.max(np.abs(step * scale))) < _STEP_TOL:
            return gamma
        gamma, eta, value = line_search(
            gamma, step, value, x, loss, slope=float(grad @ step)
        )
    raise _ipt_failure(max_iter, max_grad)


def _ipt_failure(n_iter: int, max_grad: float) -> IdentificationError:
    return IdentificationError(
        "The inverse-probability-tilting propensity score (method='dr_improved') did "
        f"not converge (stopped after {n_iter} Newton iterations, largest gradient "
        f"{max_grad:.3g}). The treated units' covariate means are probably outside "
        "what reweighted control units can match (poor overlap). Drop or coarsen "
        "covariates, or use method='dr'."
    )


def line_search(
    gamma: np.ndarray,
    step: np.ndarray,
    value: float,
    x: np.ndarray,
    objective: Callable[[np.ndarray], float],
    *,
    slope: float,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Armijo backtracking along ``step`` for an objective of ``eta = x @ gamma``.

    ``slope`` is the directional derivative (negative for a descent direction).
    Returns the accepted ``(gamma, eta, value)``. If no halving decreases the
    objective (rounding noise at the optimum) the full step is taken: harmless there,
    and the convergence test of the caller decides.
    """
    t = 1.0
    slack = 1e-13 * (1.0 + abs(value))
    for _ in range(_MAX_HALVINGS):
        new = gamma + t * step
        eta = x @ new
        new_value = objective(eta)
        if (
            math.isfinite(new_value)
            and new_value <= value + 1e-4 * t * min(slope, 0.0) + slack
        ):
            return new, eta, new_value
        t *= 0.5
    new = gamma + step
    eta = x @ new
    return new, eta, objective(eta)


def logit_pscore(d: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return expit(x @ fit_logit(d, x, w))


def ipt_pscore(d: np.ndarray, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    start = fit_logit(d, x, w)
    return expit(x @ fit_ipt(d, x, w, start))
