"""Balancing weights: inverse probability weights and entropy balancing (arrays only).

* :func:`ipw_weights`: ATT (treated 1, controls ``e / (1 - e)``), ATC, ATE
  (``1 / e`` and ``1 / (1 - e)``) weights, as WeightIt's ``method = "glm"``;
  normalised (Hajek) so each group's weights sum to its size.
* :func:`entropy_balance`: Hainmueller (2012) entropy balancing of the controls
  on given moments of the treated, solved through its convex dual.
* :func:`cbps`: the just-identified covariate balancing propensity score
  (Imai and Ratkovic 2014), ATT or ATE.
* :func:`kish_ess`: re-exported from :mod:`._balance`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from tne_eval.errors import IdentificationError, SpecError
from tne_eval.matching._balance import kish_ess
from tne_eval.matching._checks import as_matrix, as_treatment, as_vector, check_choice

__all__ = [
    "CBPS",
    "EntropyBalance",
    "cbps",
    "entropy_balance",
    "ipw_weights",
    "kish_ess",
]

#: Largest standardised moment gap accepted at the solution. Moments are scaled
#: to unit SD among the controls, so 1e-8 is a gap of 1e-8 SD: far below any
#: balance threshold, and well above the ~1e-12 Newton reaches when feasible.
_EB_GTOL = 1e-8
#: Newton (trust-region) iterations allowed; feasible problems need 10-30.
_EB_MAXITER = 200
#: Newton steps allowed after the trust-region solver to polish its solution.
_EB_POLISH = 20
#: Relative size of a pivot of the moments' Gram matrix below which a moment is
#: a linear combination of the others (e.g. all levels of a factor) and is
#: dropped from the dual. The Gram matrix squares the conditioning, so 1e-10
#: here is a relative singular value of 1e-5; a moment dropped wrongly would
#: show in the final gap check, which covers all moments.
_EB_RANK_RTOL = 1e-10


def ipw_weights(
    d: np.ndarray,
    score: np.ndarray,
    *,
    estimand: Literal["ATT", "ATC", "ATE"] = "ATT",
    normalize: bool = True,
) -> np.ndarray:
    """Inverse probability (odds) weights.

    Parameters
    ----------
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    score : numpy.ndarray
        Shape ``(n,)`` propensity scores in (0, 1).
    estimand : {"ATT", "ATC", "ATE"}, default "ATT"
        ATT: treated 1, controls ``e/(1-e)``; ATC: treated ``(1-e)/e``, controls
        1; ATE: treated ``1/e``, controls ``1/(1-e)``.
    normalize : bool, default True
        Rescale each group's weights to sum to its number of units (Hajek);
        the weighted means, hence balance and effects, do not change.

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)``.

    Raises
    ------
    IdentificationError
        A score is 0 or 1 (no overlap): the weight would be infinite.
    """
    check_choice(estimand, ("ATT", "ATC", "ATE"), "estimand")
    treated = as_treatment(d)
    e = as_vector(score, treated.shape[0], "score")
    bad = (e <= 0.0) | (e >= 1.0)
    if bad.any():
        raise IdentificationError(
            f"{int(bad.sum())} propensity scores are 0 or 1 (e.g. row "
            f"{int(np.flatnonzero(bad)[0])}): their inverse probability weights are "
            "infinite (no overlap). Trim them first (crump_trim or fixed_trim)."
        )
    if estimand == "ATT":
        w = np.where(treated, 1.0, e / (1.0 - e))
    elif estimand == "ATC":
        w = np.where(treated, (1.0 - e) / e, 1.0)
    else:
        w = np.where(treated, 1.0 / e, 1.0 / (1.0 - e))
    if normalize:
        for grp in (treated, ~treated):
            w[grp] *= np.count_nonzero(grp) / w[grp].sum()
    return w


@dataclass(frozen=True)
class EntropyBalance:
    """Entropy-balancing solution.

    Attributes
    ----------
    weights : numpy.ndarray
        Shape ``(n,)``: 1 for treated units; controls' weights summing to the
        number of controls.
    lagrange : numpy.ndarray
        Shape ``(k_kept,)`` dual coefficients on the standardised kept moments.
    kept : numpy.ndarray
        Shape ``(k,)`` boolean: moments used in the dual (the others are linear
        combinations of them and are balanced as a consequence).
    max_gap : float
        Largest remaining |weighted control mean - target| in control SDs.
    n_iter : int
        Trust-region Newton iterations.
    ess_control : float
        Kish effective size of the control weights.
    """

    weights: np.ndarray
    lagrange: np.ndarray
    kept: np.ndarray
    max_gap: float
    n_iter: int
    ess_control: float


def entropy_balance(
    d: np.ndarray,
    moments: np.ndarray,
    *,
    base_weights: np.ndarray | None = None,
    target: np.ndarray | None = None,
    columns: list[str] | None = None,
) -> EntropyBalance:
    r"""Entropy balancing of the controls on the treated group's moments.

    Finds control weights ``w`` minimising the Kullback-Leibler divergence
    ``sum w log(w / q)`` from base weights ``q`` subject to
    ``sum w c(x) = target`` and ``sum w = 1`` (Hainmueller 2012). The dual is
    the smooth convex problem

    .. math::

        \min_\lambda\; \log \sum_{j \in C} q_j \exp\{\lambda^\top (c_j - m)\},
        \qquad w_j \propto q_j \exp\{\lambda^\top c_j\},

    whose gradient is the weighted mean of ``c - m`` and Hessian the weighted
    covariance of ``c``; it is solved by ``scipy.optimize.minimize(method=
    "trust-exact")`` with both supplied analytically (O(n k^2) per iteration).
    Moments are centred at the target and scaled by their control SD first;
    moments that are linear combinations of others (all levels of a factor) are
    dropped from the dual by a pivoted Cholesky factorisation of the moments'
    Gram matrix, and balanced anyway.

    Parameters
    ----------
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    moments : numpy.ndarray
        Shape ``(n, k)`` functions ``c(x)`` to balance (covariates, squares, ...).
    base_weights : numpy.ndarray, optional
        Shape ``(n,)`` positive base weights ``q`` of the controls (default 1).
    target : numpy.ndarray, optional
        Shape ``(k,)`` targets; default the treated means.
    columns : list of str, optional
        Moment names for error messages.

    Returns
    -------
    EntropyBalance
        Weights and diagnostics.

    Raises
    ------
    IdentificationError
        Infeasible: a target lies outside the range of the controls' values
        (the message names the moment), or more generally outside their convex
        hull (the dual diverges and the gap stays above tolerance).

    References
    ----------
    Hainmueller, J. (2012). Entropy balancing for causal effects: a multivariate
    reweighting method to produce balanced samples in observational studies.
    Political Analysis 20(1), 25-46. https://doi.org/10.1093/pan/mpr025
    """
    from scipy.linalg.lapack import dpstrf
    from scipy.optimize import minimize

    treated = as_treatment(d)
    n = treated.shape[0]
    c_all = as_matrix(moments, n, "moments", columns)
    k = c_all.shape[1]
    names = (
        list(columns)
        if columns is not None and len(columns) == k
        else [f"moment {j}" for j in range(k)]
    )
    xc = c_all[~treated]
    m = (
        c_all[treated].mean(axis=0)
        if target is None
        else as_vector(np.asarray(target), k, "target")
    )
    q = np.ones(xc.shape[0])
    if base_weights is not None:
        q = as_vector(base_weights, n, "base_weights")[~treated]
        if np.any(q <= 0):
            raise SpecError("base_weights of the controls must be positive.")
    lo, hi = xc.min(axis=0), xc.max(axis=0)
    outside = (m < lo) | (m > hi) | ((m == lo) & (lo < hi)) | ((m == hi) & (lo < hi))
    if outside.any():
        j = int(np.flatnonzero(outside)[0])
        raise IdentificationError(
            f"Entropy balancing is infeasible: the target of {names[j]!s} "
            f"({m[j]:.6g}) is not strictly inside the controls' range "
            f"[{lo[j]:.6g}, {hi[j]:.6g}] ({int(outside.sum())} of {k} moments "
            "outside), so no positive control weights can reach it. Drop that "
            "moment, coarsen it, or trim treated units outside the controls' support."
        )
    sd = xc.std(axis=0)
    const = sd == 0.0  # equal to the target already (checked above)
    # standardise in place (xc is a copy already): no n x k temporaries
    z = xc
    z -= m
    z /= np.where(const, 1.0, sd)
    # drop moments that are linear combinations of the others (and of 1)
    # (pivoted Cholesky of the small Gram matrix of [1, z]: O(n k^2) once, the
    # same pivots as a column-pivoted QR of the tall matrix, much cheaper)
    zc = z if not const.any() else z[:, ~const]
    gram = np.empty((zc.shape[1] + 1, zc.shape[1] + 1))
    gram[0, 0] = zc.shape[0]
    gram[0, 1:] = gram[1:, 0] = zc.sum(axis=0)
    gram[1:, 1:] = zc.T @ zc
    _, piv, rank, _ = dpstrf(
        gram, lower=0, tol=_EB_RANK_RTOL * float(np.diag(gram).max())
    )
    keep_idx = np.sort(piv[:rank] - 1)
    keep_idx = keep_idx[keep_idx > 0] - 1
    kept = np.zeros(k, dtype=bool)
    kept[np.flatnonzero(~const)[keep_idx]] = True
    zk = z if kept.all() else np.ascontiguousarray(z[:, kept])
    logq = np.log(q)

    cache: dict[str, object] = {}

    def _state(lam: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        key = lam.tobytes()
        if cache.get("key") != key:
            eta = logq + zk @ lam
            mx = float(eta.max())
            ex = np.exp(eta - mx)
            s = float(ex.sum())
            p = ex / s
            cache.update(key=key, f=mx + math.log(s), p=p, g=p @ zk)
        return cache["f"], cache["g"], cache["p"]  # type: ignore[return-value]

    def fun(lam: np.ndarray) -> float:
        return _state(lam)[0]

    def jac(lam: np.ndarray) -> np.ndarray:
        return _state(lam)[1]

    def hess(lam: np.ndarray) -> np.ndarray:
        _, g, p = _state(lam)
        zs = zk * np.sqrt(p)[:, None]
        return zs.T @ zs - np.outer(g, g)

    res = minimize(
        fun,
        np.zeros(zk.shape[1]),
        jac=jac,
        hess=hess,
        method="trust-exact",
        options={"gtol": _EB_GTOL * 1e-2, "maxiter": _EB_MAXITER},
    )
    lam = np.asarray(res.x)
    n_iter = int(res.nit)
    _, _, p = _state(lam)
    gap = float(np.max(np.abs(p @ z))) if k else 0.0
    # trust-exact can stop a few ulps short when its model predicts no further
    # decrease (the dual is flat at the optimum); polish with damped Newton steps
    for _ in range(_EB_POLISH):
        if not (np.isfinite(gap) and gap > _EB_GTOL):
            break
        f0, g0, _ = _state(lam)
        step = np.linalg.lstsq(hess(lam), g0, rcond=None)[0]
        t = 1.0
        while t > 1e-8 and not fun(lam - t * step) <= f0 + 1e-14 * max(1.0, abs(f0)):
            t /= 2.0
        lam = lam - t * step
        n_iter += 1
        _, _, p = _state(lam)
        gap = float(np.max(np.abs(p @ z))) if k else 0.0
    if not np.isfinite(gap) or gap > _EB_GTOL:
        raise IdentificationError(
            f"Entropy balancing did not converge: after {n_iter} iterations the "
            f"largest moment gap is {gap:.3g} control SDs. The treated moments are "
            "probably outside the convex hull of the controls' moments (jointly, "
            "even if each one is inside its range). Balance fewer or coarser "
            "moments, or trim treated units without comparable controls."
        )
    w = np.ones(n)
    w[~treated] = p * (~treated).sum()
    return EntropyBalance(
        weights=w,
        lagrange=lam,
        kept=kept,
        max_gap=gap,
        n_iter=n_iter,
        ess_control=kish_ess(w[~treated]),
    )


#: Newton iterations of the just-identified CBPS; from the logit MLE 5-15 suffice.
_CBPS_MAXITER = 100
#: Convergence: largest standardised moment (mean over units, columns scaled to
#: unit SD) below this.
_CBPS_TOL = 1e-10


@dataclass(frozen=True)
class CBPS:
    """Just-identified covariate balancing propensity score.

    Attributes
    ----------
    score : numpy.ndarray
        Shape ``(n,)`` fitted propensity scores.
    params : numpy.ndarray
        Shape ``(k + 1,)`` logit coefficients, intercept first.
    weights : numpy.ndarray
        Shape ``(n,)`` the implied (normalised) IPW weights for ``estimand``.
    n_iter : int
        Newton iterations.
    """

    score: np.ndarray
    params: np.ndarray
    weights: np.ndarray
    n_iter: int


def cbps(
    d: np.ndarray,
    x: np.ndarray,
    *,
    estimand: Literal["ATT", "ATE"] = "ATT",
    columns: list[str] | None = None,
) -> CBPS:
    r"""Just-identified CBPS of Imai and Ratkovic (2014) with a logit link.

    Solves the balance conditions instead of the likelihood equations:

    .. math::

        \text{ATT: } \sum_i \Big(D_i - (1 - D_i)\frac{e_i}{1 - e_i}\Big)\tilde x_i = 0,
        \qquad
        \text{ATE: } \sum_i \Big(\frac{D_i}{e_i} - \frac{1 - D_i}{1 - e_i}\Big)\tilde x_i = 0,

    with ``x~ = (1, x)`` and ``e = expit(x~ beta)``, by Newton's method from the
    logit MLE with the analytic Jacobian (negative definite in both cases) and
    step halving on the norm of the moments. The ATT weights then balance the
    covariate means exactly; they are the entropy-balancing weights on ``x``
    (Zhao and Percival 2017), which the tests check.

    Parameters
    ----------
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    x : numpy.ndarray
        Shape ``(n, k)`` covariates without intercept (full rank).
    estimand : {"ATT", "ATE"}, default "ATT"
        Which balance conditions.
    columns : list of str, optional
        Names for error messages.

    Returns
    -------
    CBPS
        Scores, coefficients and weights.

    Raises
    ------
    IdentificationError
        No solution (the balance conditions cannot hold: no overlap).

    References
    ----------
    Imai, K. and Ratkovic, M. (2014). Covariate balancing propensity score.
    JRSS B 76(1), 243-263. https://doi.org/10.1111/rssb.12027
    """
    from tne_eval.matching._propensity import fit_propensity

    check_choice(estimand, ("ATT", "ATE"), "estimand")
    treated = as_treatment(d)
    n = treated.shape[0]
    xm = as_matrix(x, n, "x", columns)
    sd = xm.std(axis=0)
    sd[sd == 0] = 1.0
    xs = np.column_stack([np.ones(n), (xm - xm.mean(axis=0)) / sd])
    t = treated.astype(np.float64)
    start = fit_propensity(treated, xm, columns=columns)
    eta0 = start.linear_predictor

    def moments(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if estimand == "ATT":
            ex = np.exp(np.clip(eta, -700, 700))
            r = t - (1.0 - t) * ex
            jw = (1.0 - t) * ex
        else:
            em = np.exp(np.clip(-eta, -700, 700))
            ep = np.exp(np.clip(eta, -700, 700))
            r = t * (1.0 + em) - (1.0 - t) * (1.0 + ep)
            jw = t * em + (1.0 - t) * ep
        g = xs.T @ r / n
        jac = -(xs * jw[:, None]).T @ xs / n
        return g, jac

    # beta on the standardised design, starting from the MLE's linear predictor
    beta = np.linalg.lstsq(xs, eta0, rcond=None)[0]
    g, jac = moments(xs @ beta)
    norm = float(np.max(np.abs(g)))
    for it in range(1, _CBPS_MAXITER + 1):
        step = np.linalg.solve(jac, -g)
        lam = 1.0
        while lam > 1e-10:
            cand = beta + lam * step
            g_new, jac_new = moments(xs @ cand)
            new_norm = float(np.max(np.abs(g_new)))
            if np.isfinite(new_norm) and new_norm < norm:
                break
            lam /= 2.0
        else:
            break
        beta, g, jac, norm = cand, g_new, jac_new, new_norm
        if norm < _CBPS_TOL:
            eta = xs @ beta
            score = 1.0 / (1.0 + np.exp(-eta))
            params = np.empty(xm.shape[1] + 1)
            params[1:] = beta[1:] / sd
            params[0] = beta[0] - float(params[1:] @ xm.mean(axis=0))
            return CBPS(
                score=score,
                params=params,
                weights=ipw_weights(treated, score, estimand=estimand),
                n_iter=it,
            )
    raise IdentificationError(
        f"The just-identified CBPS ({estimand}) did not converge (largest "
        f"standardised moment {norm:.3g} after {_CBPS_MAXITER} Newton steps): the "
        "balance conditions have no solution, usually because some covariate "
        "separates the groups. Check overlap or drop that covariate."
    )
