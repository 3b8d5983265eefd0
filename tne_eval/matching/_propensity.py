"""Propensity scores, common support and trimming (private numerics, arrays only).

* :func:`fit_propensity`: binomial GLM (logit or probit link) fitted with
  statsmodels, the same model as MatchIt's ``distance = "glm"`` (``link =
  "logit"`` or ``"probit"``), which calls R's ``glm(family = binomial(link))``.
* :func:`common_support`: MatchIt's ``discard = "both" | "control" | "treated"``
  (``MatchIt:::discard``): bounds are the min and max of the score in each group.
* :func:`crump_trim`: the optimal trimming rule of Crump, Hotz, Imbens and Mitnik
  (2009), with the alpha that solves their condition.
* :func:`fixed_trim`: keep ``lower <= score <= upper``.

Every function returns masks and counts, never drops rows silently.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

from tne_eval.errors import IdentificationError, SpecError
from tne_eval.matching._checks import (
    as_matrix,
    as_treatment,
    as_vector,
    check_choice,
)

__all__ = [
    "CommonSupport",
    "PropensityFit",
    "Trim",
    "common_support",
    "crump_trim",
    "fit_propensity",
    "fixed_trim",
]

Link = Literal["logit", "probit"]
Discard = Literal["none", "both", "control", "treated"]

#: Convergence tolerance of the IRLS fit. statsmodels' default (1e-8 on the
#: deviance) leaves scores within ~1e-9 of R's glm (epsilon = 1e-8 too), well below
#: the 4 decimals MatchIt prints.
_GLM_TOL = 1e-10
#: IRLS iterations allowed (R's glm default maxit is 25; we allow more, then refuse).
_GLM_MAXITER = 100
#: Scores this close to 0 or 1 mean (quasi-)separation: the logit MLE is infinite.
_SEPARATION_EPS = 1e-10


@dataclass(frozen=True)
class PropensityFit:
    """A fitted propensity-score model.

    Attributes
    ----------
    score : numpy.ndarray
        Shape ``(n,)``, fitted probabilities of treatment.
    linear_predictor : numpy.ndarray
        Shape ``(n,)``, ``x @ params`` (logit or probit scale).
    params : numpy.ndarray
        Shape ``(k + 1,)``, intercept first.
    link : str
        ``"logit"`` or ``"probit"``.
    n_iter : int
        IRLS iterations used.
    """

    score: np.ndarray
    linear_predictor: np.ndarray
    params: np.ndarray
    link: str
    n_iter: int


def fit_propensity(
    d: np.ndarray,
    x: np.ndarray,
    *,
    link: Link = "logit",
    weights: np.ndarray | None = None,
    columns: list[str] | None = None,
) -> PropensityFit:
    """Fit ``P(D = 1 | X)`` by a binomial GLM with a logit or probit link.

    Parameters
    ----------
    d : numpy.ndarray
        Shape ``(n,)``, 0/1 treatment.
    x : numpy.ndarray
        Shape ``(n, k)`` covariates **without** an intercept (one is added first),
        factors already expanded to dummies with one level dropped.
    link : {"logit", "probit"}, default "logit"
        MatchIt's ``link`` for ``distance = "glm"``.
    weights : numpy.ndarray, optional
        Sampling weights, passed to statsmodels as ``var_weights``: they scale
        each unit's log-likelihood contribution exactly as R's ``glm(weights = )``
        does (MatchIt passes ``s.weights`` that way), without pretending the
        sample has ``sum(weights)`` independent rows, which ``freq_weights``
        would (the point estimates agree; only df-based quantities differ).
    columns : list of str, optional
        Names of the columns of ``x``, used in error messages.

    Returns
    -------
    PropensityFit
        Scores, linear predictor, coefficients.

    Raises
    ------
    DataError
        Missing values in ``d`` or ``x`` (the message names the columns).
    IdentificationError
        The fit does not converge, or (quasi-)complete separation puts scores at
        0 or 1 (no overlap).
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        PerfectSeparationWarning,
    )

    check_choice(link, ("logit", "probit"), "link")
    treated = as_treatment(d)
    n = treated.shape[0]
    xm = as_matrix(x, n, "x", columns)
    design = np.column_stack([np.ones(n), xm])
    w = None if weights is None else as_vector(weights, n, "weights")
    family_link = (
        sm.families.links.Logit() if link == "logit" else sm.families.links.Probit()
    )
    model = sm.GLM(
        treated.astype(np.float64),
        design,
        family=sm.families.Binomial(link=family_link),
        var_weights=w,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            res = model.fit(tol=_GLM_TOL, maxiter=_GLM_MAXITER)
        except PerfectSeparationWarning as err:
            raise _separation_error() from err
        except ConvergenceWarning as err:
            raise IdentificationError(
                f"The {link} propensity score did not converge in {_GLM_MAXITER} "
                "IRLS iterations. This usually means (quasi-)complete separation; "
                "drop or coarsen the covariate that predicts treatment exactly."
            ) from err
    params = np.asarray(res.params, dtype=np.float64)
    # Row-wise sums (not a BLAS product, whose kernels may round two identical
    # rows differently): units with identical covariates get identical scores,
    # which the eCDF statistics (evaluated at distinct values) depend on.
    eta = (design * params).sum(axis=1)
    score = np.asarray(family_link.inverse(eta), dtype=np.float64)
    if not np.all(np.isfinite(score)) or np.any(
        (score < _SEPARATION_EPS) | (score > 1.0 - _SEPARATION_EPS)
    ):
        raise _separation_error()
    n_iter = int(getattr(res, "fit_history", {}).get("iteration", 0))
    return PropensityFit(
        score=score, linear_predictor=eta, params=params, link=link, n_iter=n_iter
    )


def _separation_error() -> IdentificationError:
    return IdentificationError(
        "The propensity score model separates treated from control units: some "
        "fitted scores are 0 or 1, so those units have no comparable counterpart "
        "(no overlap). Drop or coarsen the covariate that predicts treatment "
        "exactly, or restrict the sample to the region of common support."
    )


@dataclass(frozen=True)
class CommonSupport:
    """Units outside common support, as MatchIt's ``discard`` computes them.

    Attributes
    ----------
    discarded : numpy.ndarray
        Shape ``(n,)`` boolean mask of discarded units.
    lower, upper : float
        The support bounds applied (``-inf``/``inf`` when none).
    n_discarded_treated, n_discarded_control : int
        Counts of discarded units by group.
    """

    discarded: np.ndarray
    lower: float
    upper: float
    n_discarded_treated: int
    n_discarded_control: int


def common_support(
    score: np.ndarray, d: np.ndarray, discard: Discard = "both"
) -> CommonSupport:
    """Flag units outside the common support of a score (MatchIt's ``discard``).

    Parameters
    ----------
    score : numpy.ndarray
        Shape ``(n,)``, the distance (propensity score) used for matching.
    d : numpy.ndarray
        Shape ``(n,)``, 0/1 treatment.
    discard : {"none", "both", "control", "treated"}, default "both"
        ``"both"``: drop units below ``max(min_t, min_c)`` or above
        ``min(max_t, max_c)``; ``"control"``: drop controls outside
        ``[min_t, max_t]``; ``"treated"``: drop treated outside ``[min_c, max_c]``.
        Units exactly on a bound are kept, as in MatchIt.

    Returns
    -------
    CommonSupport
        Mask, bounds and counts.

    Raises
    ------
    IdentificationError
        The supports do not overlap at all, or every treated unit is discarded.
    """
    check_choice(discard, ("none", "both", "control", "treated"), "discard")
    treated = as_treatment(d)
    s = as_vector(score, treated.shape[0], "score")
    t_min, t_max = float(s[treated].min()), float(s[treated].max())
    c_min, c_max = float(s[~treated].min()), float(s[~treated].max())
    if discard == "none":
        lower, upper = -math.inf, math.inf
        drop = np.zeros(s.shape[0], dtype=bool)
    elif discard == "both":
        lower, upper = max(t_min, c_min), min(t_max, c_max)
        drop = (s < lower) | (s > upper)
    elif discard == "control":
        lower, upper = t_min, t_max
        drop = ~treated & ((s < lower) | (s > upper))
    else:
        lower, upper = c_min, c_max
        drop = treated & ((s < lower) | (s > upper))
    if lower > upper or (discard != "none" and drop[treated].all()):
        raise IdentificationError(
            f"No overlap: treated scores lie in [{t_min:.4g}, {t_max:.4g}] and "
            f"control scores in [{c_min:.4g}, {c_max:.4g}], so discard={discard!r} "
            f"leaves no treated unit with comparable controls. Revisit the "
            "covariates or the comparison group."
        )
    return CommonSupport(
        discarded=drop,
        lower=lower,
        upper=upper,
        n_discarded_treated=int(np.count_nonzero(drop & treated)),
        n_discarded_control=int(np.count_nonzero(drop & ~treated)),
    )


@dataclass(frozen=True)
class Trim:
    """Result of a trimming rule.

    Attributes
    ----------
    keep : numpy.ndarray
        Shape ``(n,)`` boolean mask of units kept.
    alpha : float
        Lower bound applied (the upper bound is ``1 - alpha`` for Crump's rule).
    upper : float
        Upper bound applied.
    n_dropped_treated, n_dropped_control : int
        Counts of trimmed units by group.
    """

    keep: np.ndarray
    alpha: float
    upper: float
    n_dropped_treated: int
    n_dropped_control: int


def crump_trim(score: np.ndarray, d: np.ndarray) -> Trim:
    r"""Optimal trimming of Crump, Hotz, Imbens and Mitnik (2009).

    Keep units with ``alpha <= e(x) <= 1 - alpha``. With ``g = 1 / (e (1 - e))``,
    no trimming (``alpha = 0``) when ``max g <= 2 E[g]``; otherwise ``alpha``
    solves their condition

    .. math::

        \frac{1}{\alpha (1 - \alpha)}
        = 2\, E\Big[ g \,\Big|\, g \le \frac{1}{\alpha (1 - \alpha)} \Big].

    Parameters
    ----------
    score : numpy.ndarray
        Shape ``(n,)`` propensity scores in (0, 1).
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment (used for the counts only).

    Returns
    -------
    Trim
        Mask, ``alpha``, ``1 - alpha`` and counts.

    Notes
    -----
    On the empirical distribution the right-hand side is a step function of
    the threshold ``gamma = 1 / (alpha (1 - alpha))``: with ``g`` sorted, the
    condition holds on segment ``k`` when ``g_(k) <= 2 m_k < g_(k+1)``, ``m_k``
    the mean of the ``k`` smallest values. Several segments may satisfy it; we
    take the one minimising the variance bound's sample analogue
    ``sum_{i<=k} g_(i) / k^2`` (Crump et al.'s objective), which is the root
    they mean. Then ``alpha = 1/2 - sqrt(1/4 - 1/gamma)``. O(n log n).

    References
    ----------
    Crump, R. K., Hotz, V. J., Imbens, G. W., and Mitnik, O. A. (2009). Dealing
    with limited overlap in estimation of average treatment effects.
    Biometrika 96(1), 187-199. https://doi.org/10.1093/biomet/asn055
    """
    treated = as_treatment(d)
    e = as_vector(score, treated.shape[0], "score")
    if np.any((e <= 0.0) | (e >= 1.0)):
        raise SpecError(
            "score must lie strictly inside (0, 1) for Crump trimming; "
            f"{int(np.count_nonzero((e <= 0.0) | (e >= 1.0)))} values do not."
        )
    g = 1.0 / (e * (1.0 - e))
    if g.max() <= 2.0 * g.mean():
        alpha = 0.0
    else:
        gs = np.sort(g)
        k = np.arange(1, gs.shape[0] + 1)
        csum = np.cumsum(gs)
        two_m = 2.0 * csum / k
        nxt = np.append(gs[1:], np.inf)
        roots = np.flatnonzero((gs <= two_m) & (two_m < nxt))
        objective = csum[roots] / k[roots] ** 2
        gamma = float(two_m[roots[np.argmin(objective)]])
        alpha = 0.5 - math.sqrt(max(0.25 - 1.0 / gamma, 0.0))
    keep = (e >= alpha) & (e <= 1.0 - alpha)
    return _trim_result(keep, treated, alpha, 1.0 - alpha)


def fixed_trim(
    score: np.ndarray, d: np.ndarray, lower: float, upper: float | None = None
) -> Trim:
    """Keep units with ``lower <= score <= upper`` (``upper`` defaults to ``1 - lower``).

    Raises
    ------
    SpecError
        Bounds not in ``[0, 1]`` or ``lower >= upper``.
    IdentificationError
        No treated or no control unit remains.
    """
    treated = as_treatment(d)
    e = as_vector(score, treated.shape[0], "score")
    hi = 1.0 - lower if upper is None else float(upper)
    if not 0.0 <= lower < hi <= 1.0:
        raise SpecError(
            f"Trimming bounds must satisfy 0 <= lower < upper <= 1; got lower={lower!r}, "
            f"upper={hi!r}. A common choice is lower=0.1 (Crump et al.'s rule of thumb)."
        )
    keep = (e >= lower) & (e <= hi)
    return _trim_result(keep, treated, float(lower), hi)


def _trim_result(keep: np.ndarray, treated: np.ndarray, lo: float, hi: float) -> Trim:
    for group, mask in (("treated", treated), ("control", ~treated)):
        if not keep[mask].any():
            raise IdentificationError(
                f"Trimming to [{lo:.4g}, {hi:.4g}] drops all {int(mask.sum())} {group} "
                "units: there is no overlap left. Widen the bounds or revisit the "
                "propensity score model."
            )
    return Trim(
        keep=keep,
        alpha=lo,
        upper=hi,
        n_dropped_treated=int(np.count_nonzero(~keep & treated)),
        n_dropped_control=int(np.count_nonzero(~keep & ~treated)),
    )
