r"""Effect estimates after matching or weighting (arrays only).

* :func:`weighted_att`: difference in weighted means (the ATT after matching
  with MatchIt's weights, or after ATT weighting).
* :func:`abadie_imbens_att`: the matching estimator of the ATT with the
  Abadie and Imbens (2006) standard error, optionally with the regression bias
  correction of Abadie and Imbens (2011).
* :func:`aipw_att`: the augmented IPW (doubly robust) ATT with its influence
  function.

Notation for matches. Treated unit ``t`` has the set ``J(t)`` of matched
controls, each with weight ``a_tj = 1/|J(t)|``; a control's total weight is
``k_j = sum_t a_tj`` (MatchIt's weight before normalisation; ``K_M(j)/M`` in
Abadie and Imbens). For the ``N1`` matched treated units,

.. math::

    \hat\tau = \frac{1}{N_1}\sum_t \Big(Y_t - \sum_j a_{tj} Y_j\Big),

    \hat V = \frac{1}{N_1^2}\Big[\sum_t \big(Y_t - \hat Y_t(0) - \hat\tau\big)^2
    + \sum_j \Big(k_j^2 - \sum_t a_{tj}^2\Big)\hat\sigma^2(X_j)\Big],

the estimator of the variance around the population ATT (Abadie and Imbens
2006, Theorem 7, in the form of Abadie, Drukker, Herr and Imbens (2004)
``nnmatch``; with a constant ``M`` the second weight is ``K(K-1)/M^2``). For
the sample ATT, ``sum_t sigma^2(X_t) + sum_j k_j^2 sigma^2(X_j)`` replaces the
bracket. ``sigma^2(X_i)`` is estimated by matching within the unit's own group:
``J/(J+1) * (Y_i - mean of its J nearest same-group neighbours)^2``.

For the ATE (:func:`abadie_imbens_ate`) every unit is matched, with
replacement, to units of the other group; with ``a_li`` the weight of unit
``i`` in unit ``l``'s imputation, ``K_i = sum_l a_li`` and ``K'_i = sum_l
a_li^2``,

.. math::

    \hat\tau = \frac1N\sum_i \big(\hat Y_i(1) - \hat Y_i(0)\big),\qquad
    \hat V = \frac{1}{N^2}\Big[\sum_i \big(\hat Y_i(1) - \hat Y_i(0)
    - \hat\tau\big)^2 + \sum_i \big(K_i^2 + 2K_i - K'_i\big)
    \hat\sigma^2(X_i)\Big]

(population ATE, Abadie and Imbens 2006, Theorem 7: with ``M`` matches and no
ties ``K_i^2 + 2K_i - K'_i = (K_M(i)/M)^2 + (2M - 1)/M * K_M(i)/M``; unlike the
ATT, every unit's own error enters both its unit effect and, ``K_i`` times,
the effects of the units it is matched to, hence ``2K_i``). For the sample ATE,
``sum_i (1 + K_i)^2 sigma^2(X_i) / N^2``.

These variances treat the matches as fixed; they ignore that the propensity
score was estimated. :func:`score_adjustment_att` and
:func:`score_adjustment_ate` give the Abadie and Imbens (2016) correction for
matching with replacement on a score estimated by maximum likelihood (for the
ATE it can only lower the variance; for the ATT it can go either way).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from tne_eval.errors import IdentificationError, SpecError
from tne_eval.matching._checks import (
    as_matrix,
    as_treatment,
    as_vector,
    check_choice,
    check_positive_int,
)
from tne_eval.matching._nearest import Matches

#: Estimators of the conditional variances (:func:`conditional_variance`).
VARIANCE_ESTIMATORS = ("abadie_imbens", "stata_nnmatch", "stata_psmatch")
VarianceEstimator = Literal["abadie_imbens", "stata_nnmatch", "stata_psmatch"]

__all__ = [
    "AIPW",
    "VARIANCE_ESTIMATORS",
    "MatchingATE",
    "MatchingATT",
    "ScoreAdjustment",
    "abadie_imbens_ate",
    "abadie_imbens_att",
    "aipw_att",
    "conditional_variance",
    "score_adjustment_ate",
    "score_adjustment_att",
    "weighted_att",
]


def weighted_att(y: np.ndarray, d: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean of the treated minus weighted mean of the controls.

    Parameters
    ----------
    y : numpy.ndarray
        Shape ``(n,)`` outcome.
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    weights : numpy.ndarray
        Shape ``(n,)`` non-negative weights (matching or balancing).

    Returns
    -------
    float
        The effect estimate.
    """
    treated = as_treatment(d)
    n = treated.shape[0]
    yv = as_vector(y, n, "y")
    w = as_vector(weights, n, "weights")
    for grp, label in ((treated, "treated"), (~treated, "control")):
        if not w[grp].sum() > 0:
            raise IdentificationError(
                f"No {label} unit has a positive weight: the effect is not defined."
            )
    return float(w[treated] @ yv[treated] / w[treated].sum()) - float(
        w[~treated] @ yv[~treated] / w[~treated].sum()
    )


def conditional_variance(
    y: np.ndarray,
    d: np.ndarray,
    z: np.ndarray,
    *,
    n_neighbors: int = 2,
    estimator: VarianceEstimator = "abadie_imbens",
) -> np.ndarray:
    """Estimate ``Var(Y | X, D)`` for every unit by matching within its group.

    Each unit is matched to its ``J = n_neighbors`` nearest units of the same
    treatment group (Euclidean in ``z``, itself excluded).

    * ``"abadie_imbens"`` (default): ``sigma^2_i = J/(J+1) (Y_i - mean_J
      Y)^2`` over exactly ``J`` neighbours (Abadie and Imbens 2006, eq. 14;
      ties in distance broken by the tree search).
    * ``"stata_nnmatch"``: the sample variance (divisor ``h_i``) of ``Y``
      over the unit itself and **all** its same-group units at most as far
      as its ``J``-th nearest (``h_i >= J`` of them when distances tie): the
      within-treatment matching set of Stata's ``teffects nnmatch`` with
      ``vce(robust, nn(J))``, which keeps ties.
    * ``"stata_psmatch"``: the same sample variance over the ``J`` nearest
      units of the group **counting the unit itself** (so the unit and its
      ``J - 1`` nearest others, ties kept; ``J >= 2``), as Stata's ``teffects
      psmatch`` does.

    With ``J = 1`` (``J = 2`` for ``"stata_psmatch"``) and no ties all three
    are ``(Y_i - Y_j)^2 / 2``; all are unbiased for a locally constant
    conditional mean. Distances within a relative ``1e-10`` of the cut-off
    count as tied (rounding of equal distances between distinct covariate
    vectors). The two Stata rules were identified by reproducing Stata's
    printed standard errors (matching documentation page, "Validation").

    Parameters
    ----------
    y : numpy.ndarray
        Shape ``(n,)``.
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    z : numpy.ndarray
        Shape ``(n, r)`` matching coordinates (e.g. covariates scaled, or the
        Mahalanobis coordinates).
    n_neighbors : int, default 2
        ``J`` (Stata's ``teffects nnmatch`` default ``vce(robust, nn(2))``).
    estimator : {"abadie_imbens", "stata_nnmatch", "stata_psmatch"}
        The formula above; default ``"abadie_imbens"``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)``.

    References
    ----------
    Abadie, A. and Imbens, G. W. (2006). Large sample properties of matching
    estimators for average treatment effects. Econometrica 74(1), 235-267.
    https://doi.org/10.1111/j.1468-0262.2006.00655.x
    """
    from scipy.spatial import cKDTree

    treated = as_treatment(d)
    n = treated.shape[0]
    yv = as_vector(y, n, "y")
    zm = as_matrix(z, n, "z")
    j = check_positive_int(n_neighbors, "n_neighbors")
    check_choice(estimator, VARIANCE_ESTIMATORS, "estimator")
    if estimator == "stata_psmatch" and j < 2:
        raise SpecError(
            "estimator='stata_psmatch' counts the unit among its n_neighbors "
            f"nearest: n_neighbors={j} leaves no other unit; use n_neighbors >= 2."
        )
    out = np.empty(n)
    for grp in (treated, ~treated):
        idx = np.flatnonzero(grp)
        if idx.shape[0] <= j:
            raise IdentificationError(
                f"Only {idx.shape[0]} units in a treatment group: the conditional "
                f"variance needs more than n_neighbors={j} of them."
            )
        tree = cKDTree(zm[idx])
        dist, nb = tree.query(zm[idx], k=j + 1)
        if estimator != "abadie_imbens":
            # the query counts the unit itself (distance 0) first
            cut = np.atleast_2d(dist)[:, j if estimator == "stata_nnmatch" else j - 1]
            out[idx] = _tied_sample_variance(tree, zm[idx], yv[idx], cut)
            continue
        nb = np.atleast_2d(nb)
        own = np.arange(idx.shape[0])[:, None]
        # drop the unit itself (or, with duplicates, the last neighbour)
        is_self = nb == own
        drop_last = ~is_self.any(axis=1)
        is_self[drop_last, -1] = True
        others = nb[~is_self].reshape(idx.shape[0], j)
        ybar = yv[idx][others].mean(axis=1)
        out[idx] = j / (j + 1.0) * (yv[idx] - ybar) ** 2
    return out


def _tied_sample_variance(tree, zg, yg, cut) -> np.ndarray:
    """Sample variance of ``Y`` over each unit and every unit within ``cut`` of it (one group)."""
    radius = cut * (1.0 + 1e-10)
    out = np.empty(zg.shape[0])
    for r, (point, rad) in enumerate(zip(zg, radius)):
        ball = np.asarray(tree.query_ball_point(point, rad), dtype=np.int64)
        others = ball[ball != r]
        vals = np.concatenate([yg[[r]], yg[others]])
        out[r] = float(vals.var(ddof=1))
    return out


@dataclass(frozen=True)
class MatchingATT:
    """ATT by matching, with Abadie-Imbens standard errors.

    Attributes
    ----------
    att : float
        Estimate (bias-corrected when requested).
    se : float
        Standard error for the population ATT.
    se_sample : float
        Standard error for the sample ATT (conditional on the covariates).
    n_treated : int
        Matched treated units used.
    bias_corrected : bool
        Whether the Abadie-Imbens (2011) correction was applied.
    unit_effects : numpy.ndarray
        Shape ``(n_treated,)``: ``Y_t - Y_t(0)_hat`` per matched treated unit.
    treated_rows : numpy.ndarray
        Shape ``(n_treated,)`` their row indices.

    Notes
    -----
    No influence function is returned: with a fixed number of matches the
    matching estimator is not asymptotically linear in the usual sense (Abadie
    and Imbens 2006), and its variance is the formula above, not the variance
    of a per-unit score. Use :func:`aipw_att` where an influence function is
    needed.
    """

    att: float
    se: float
    se_sample: float
    n_treated: int
    bias_corrected: bool
    unit_effects: np.ndarray
    treated_rows: np.ndarray


def abadie_imbens_att(
    y: np.ndarray,
    d: np.ndarray,
    matches: Matches,
    z: np.ndarray,
    *,
    x_bias: np.ndarray | None = None,
    n_neighbors: int = 2,
    bias_weights: Literal["ai", "appearances"] = "ai",
    variance_estimator: VarianceEstimator = "abadie_imbens",
) -> MatchingATT:
    """Estimate the ATT by matching, with Abadie-Imbens standard errors.

    Parameters
    ----------
    y : numpy.ndarray
        Shape ``(n,)`` outcome.
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    matches : Matches
        From a matcher (with or without replacement, any ratio).
    z : numpy.ndarray
        Shape ``(n, r)`` coordinates for the conditional-variance matching
        (pass the matching covariates, scaled, or the Mahalanobis coordinates).
    x_bias : numpy.ndarray, optional
        Shape ``(n, k)``: when given, the Abadie-Imbens (2011) bias correction:
        ``mu_0(x) = [1, x] beta`` fitted by least squares on the matched controls
        weighted by ``k_j`` (their use as matches, as in the paper), and each
        match's outcome is adjusted to ``Y_j + mu_0(X_t) - mu_0(X_j)``.
    n_neighbors : int, default 2
        ``J`` of :func:`conditional_variance`.
    bias_weights : {"ai", "appearances"}, default "ai"
        Weights of the bias-correction regression: ``"ai"`` is ``k_j =
        K_M(j)/M`` of Abadie and Imbens (each match of a treated unit with
        ``|J(t)|`` tied matches counts ``1/|J(t)|``); ``"appearances"`` counts
        every appearance as 1, as ``causalinference`` does (identical without
        ties).
    variance_estimator : str, default "abadie_imbens"
        ``estimator`` of :func:`conditional_variance` (``"abadie_imbens"``,
        ``"stata_nnmatch"`` or ``"stata_psmatch"``).

    Returns
    -------
    MatchingATT
        Estimate and standard errors.

    References
    ----------
    Abadie, A. and Imbens, G. W. (2006). Large sample properties of matching
    estimators for average treatment effects. Econometrica 74(1), 235-267.
    https://doi.org/10.1111/j.1468-0262.2006.00655.x

    Abadie, A. and Imbens, G. W. (2011). Bias-corrected matching estimators for
    average treatment effects. Journal of Business & Economic Statistics 29(1),
    1-11. https://doi.org/10.1198/jbes.2009.07333
    """
    treated = as_treatment(d)
    n = treated.shape[0]
    yv = as_vector(y, n, "y")
    zm = as_matrix(z, n, "z")
    mm = matches.match_matrix
    has = mm >= 0
    n_per = has.sum(axis=1)
    keep = n_per > 0
    if not keep.any():
        raise IdentificationError(
            "No treated unit has a match: the ATT is not defined."
        )
    trt = matches.treated[keep]
    mm_k, has_k = mm[keep], has[keep]
    a = np.where(has_k, 1.0 / n_per[keep][:, None], 0.0)
    safe = np.where(has_k, mm_k, 0)
    y_match = yv[safe]
    if x_bias is not None:
        xb = as_matrix(x_bias, n, "x_bias")
        design = np.column_stack([np.ones(n), xb])
        check_choice(bias_weights, ("ai", "appearances"), "bias_weights")
        k_w = np.zeros(n)
        contrib = a[has_k] if bias_weights == "ai" else np.ones(int(has_k.sum()))
        np.add.at(k_w, mm_k[has_k], contrib)
        used = k_w > 0
        sw = np.sqrt(k_w[used])
        beta, *_ = np.linalg.lstsq(
            design[used] * sw[:, None], yv[used] * sw, rcond=None
        )
        mu0 = design @ beta
        y_match = y_match + mu0[trt][:, None] - mu0[safe]
    y0_hat = (a * y_match).sum(axis=1)
    unit = yv[trt] - y0_hat
    n1 = trt.shape[0]
    att = float(unit.mean())
    sigma2 = conditional_variance(
        yv, treated, zm, n_neighbors=n_neighbors, estimator=variance_estimator
    )
    k_j = np.zeros(n)
    np.add.at(k_j, mm_k[has_k], a[has_k])
    a2_j = np.zeros(n)
    np.add.at(a2_j, mm_k[has_k], a[has_k] ** 2)
    ctrl_term = (k_j**2 - a2_j) * sigma2
    var_pop = (float(((unit - att) ** 2).sum()) + float(ctrl_term.sum())) / n1**2
    var_sample = (float(sigma2[trt].sum()) + float((k_j**2 * sigma2).sum())) / n1**2
    return MatchingATT(
        att=att,
        se=float(np.sqrt(var_pop)),
        se_sample=float(np.sqrt(var_sample)),
        n_treated=int(n1),
        bias_corrected=x_bias is not None,
        unit_effects=unit,
        treated_rows=trt,
    )


@dataclass(frozen=True)
class MatchingATE:
    """ATE by matching with replacement, with Abadie-Imbens standard errors.

    Attributes
    ----------
    ate : float
        Estimate.
    se : float
        Standard error for the population ATE.
    se_sample : float
        Standard error for the sample ATE (conditional on the covariates).
    n : int
        Units (all are matched).
    unit_effects : numpy.ndarray
        Shape ``(n,)``: ``Y_i(1)_hat - Y_i(0)_hat``.
    k : numpy.ndarray
        Shape ``(n,)``: ``K_i``, the weighted number of times each unit is used
        as a match.
    """

    ate: float
    se: float
    se_sample: float
    n: int
    unit_effects: np.ndarray
    k: np.ndarray


def _imputation(
    y: np.ndarray, matches: Matches, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Imputed outcomes of ``matches.treated`` and each unit's ``K`` and ``K'``."""
    mm = matches.match_matrix
    has = mm >= 0
    n_per = has.sum(axis=1)
    if not (n_per > 0).all():
        raise IdentificationError(
            f"{int((n_per == 0).sum())} units have no match in the other group: "
            "the ATE needs every unit matched (no caliper, exact strata or "
            "discarding)."
        )
    a = np.where(has, 1.0 / n_per[:, None], 0.0)
    safe = np.where(has, mm, 0)
    imputed = (a * y[safe]).sum(axis=1)
    k = np.zeros(n)
    np.add.at(k, mm[has], a[has])
    k2 = np.zeros(n)
    np.add.at(k2, mm[has], a[has] ** 2)
    return matches.treated, imputed, k, k2


def abadie_imbens_ate(
    y: np.ndarray,
    d: np.ndarray,
    matches_treated: Matches,
    matches_control: Matches,
    z: np.ndarray,
    *,
    n_neighbors: int = 2,
    variance_estimator: VarianceEstimator = "abadie_imbens",
) -> MatchingATE:
    """Estimate the ATE by matching with replacement, with Abadie-Imbens SEs.

    Parameters
    ----------
    y : numpy.ndarray
        Shape ``(n,)`` outcome.
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    matches_treated : Matches
        Every treated unit's controls (with replacement), e.g.
        ``nearest_scalar(d, score, replace=True)``.
    matches_control : Matches
        Every control's treated matches: a matcher run with the groups swapped
        (``nearest_scalar(1 - d, score, replace=True)``), whose ``treated`` are
        the controls.
    z : numpy.ndarray
        Shape ``(n, r)`` coordinates for the conditional-variance matching.
    n_neighbors : int, default 2
        ``J`` of :func:`conditional_variance`.
    variance_estimator : str, default "abadie_imbens"
        ``estimator`` of :func:`conditional_variance` (``"abadie_imbens"``,
        ``"stata_nnmatch"`` or ``"stata_psmatch"``).

    Returns
    -------
    MatchingATE
        Estimate and standard errors (module notes for the formulas).

    Raises
    ------
    IdentificationError
        A unit has no match.
    SpecError
        A match set is without replacement, or the two match sets do not cover
        the treated and the controls.

    References
    ----------
    Abadie, A. and Imbens, G. W. (2006). Large sample properties of matching
    estimators for average treatment effects. Econometrica 74(1), 235-267.
    https://doi.org/10.1111/j.1468-0262.2006.00655.x

    Abadie, A., Drukker, D., Herr, J. L. and Imbens, G. W. (2004). Implementing
    matching estimators for average treatment effects in Stata. Stata Journal
    4(3), 290-311. https://doi.org/10.1177/1536867X0400400305
    """
    treated = as_treatment(d)
    n = treated.shape[0]
    yv = as_vector(y, n, "y")
    zm = as_matrix(z, n, "z")
    if not (matches_treated.replace and matches_control.replace):
        raise SpecError(
            "The matching ATE imputes both potential outcomes by matching with "
            "replacement; pass matches found with replace=True."
        )
    if not (
        np.array_equal(np.sort(matches_treated.treated), np.flatnonzero(treated))
        and np.array_equal(np.sort(matches_control.treated), np.flatnonzero(~treated))
    ):
        raise SpecError(
            "matches_treated must match the treated units and matches_control the "
            "controls (a matcher run on 1 - d)."
        )
    y_hat1 = yv.copy()
    y_hat0 = yv.copy()
    k = np.zeros(n)
    k2 = np.zeros(n)
    for m, target in ((matches_treated, y_hat0), (matches_control, y_hat1)):
        rows, imputed, kk, kk2 = _imputation(yv, m, n)
        target[rows] = imputed
        k += kk
        k2 += kk2
    unit = y_hat1 - y_hat0
    ate = float(unit.mean())
    sigma2 = conditional_variance(
        yv, treated, zm, n_neighbors=n_neighbors, estimator=variance_estimator
    )
    var_pop = (
        float(((unit - ate) ** 2).sum()) + float(((k**2 + 2.0 * k - k2) * sigma2).sum())
    ) / n**2
    var_sample = float(((1.0 + k) ** 2 * sigma2).sum()) / n**2
    return MatchingATE(
        ate=ate,
        se=float(np.sqrt(var_pop)),
        se_sample=float(np.sqrt(var_sample)),
        n=int(n),
        unit_effects=unit,
        k=k,
    )


@dataclass(frozen=True)
class AIPW:
    """Augmented IPW (doubly robust) ATT.

    Attributes
    ----------
    att : float
        Estimate.
    se : float
        ``sqrt(sum(influence**2)) / n``: the library's convention
        (:func:`tne_eval.inference.influence.influence_vcov`, unclustered);
        ``influence`` sums to zero, so this is also ``std(influence) / sqrt(n)``.
    influence : numpy.ndarray
        Shape ``(n,)`` with ``att_hat - att ~= mean(influence)``; pass it to
        ``influence_vcov`` for cluster-robust (e.g. by department) variances.
    score : numpy.ndarray
        Shape ``(n,)`` propensity scores used.
    mu0 : numpy.ndarray
        Shape ``(n,)`` predictions of the control outcome model.
    """

    att: float
    se: float
    influence: np.ndarray
    score: np.ndarray
    mu0: np.ndarray


def aipw_att(
    y: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    *,
    score: np.ndarray | None = None,
    mu0: np.ndarray | None = None,
    s_weights: np.ndarray | None = None,
) -> AIPW:
    r"""Doubly robust (AIPW) estimator of the ATT with its influence function.

    .. math::

        \hat\tau = \frac{\sum_i D_i (Y_i - \hat\mu_0(X_i))
        - \sum_i (1 - D_i) \frac{\hat e(X_i)}{1 - \hat e(X_i)} (Y_i - \hat\mu_0(X_i))}
        {\sum_i D_i},

    consistent if either the propensity score ``e`` (logit on ``x`` unless
    given) or the control outcome regression ``mu_0`` (least squares on ``x``
    among controls unless given) is correctly specified. The influence function
    is

    .. math::

        \psi_i = \frac{D_i (Y_i - \hat\mu_0 - \hat\tau)
        - (1 - D_i) \frac{\hat e}{1 - \hat e}(Y_i - \hat\mu_0)}{\bar D}.

    The moment is Neyman-orthogonal in both nuisance functions, so their
    estimation adds no first-order term and ``psi`` needs no correction
    (parametric nuisances; with flexible ones, cross-fit them).

    Parameters
    ----------
    y : numpy.ndarray
        Shape ``(n,)`` outcome.
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    x : numpy.ndarray
        Shape ``(n, k)`` covariates without intercept.
    score : numpy.ndarray, optional
        Shape ``(n,)`` propensity scores; default a logit fit on ``x``.
    mu0 : numpy.ndarray, optional
        Shape ``(n,)`` control-outcome predictions; default OLS on controls.
    s_weights : numpy.ndarray, optional
        Shape ``(n,)`` sampling weights ``s``: the score and outcome models are
        fitted with them and every sum above is weighted by ``s_i`` (the ATT of
        the population the sample represents); the influence function is
        ``s_i`` times the unweighted one over the weighted treated share.

    Returns
    -------
    AIPW
        Estimate, standard error, influence function.
    """
    from tne_eval.matching._propensity import fit_propensity

    treated = as_treatment(d)
    n = treated.shape[0]
    yv = as_vector(y, n, "y")
    xm = as_matrix(x, n, "x")
    sw = np.ones(n) if s_weights is None else as_vector(s_weights, n, "s_weights")
    e = (
        fit_propensity(treated, xm, weights=s_weights).score
        if score is None
        else as_vector(score, n, "score")
    )
    if np.any((e <= 0) | (e >= 1)):
        raise IdentificationError(
            "Some propensity scores are 0 or 1: the AIPW ATT needs overlap; trim first."
        )
    if mu0 is None:
        design = np.column_stack([np.ones(n), xm])
        rw = np.sqrt(sw[~treated])
        beta, *_ = np.linalg.lstsq(
            design[~treated] * rw[:, None], yv[~treated] * rw, rcond=None
        )
        m0 = design @ beta
    else:
        m0 = as_vector(mu0, n, "mu0")
    dbar = float((sw * treated).mean())
    resid = yv - m0
    odds = e / (1.0 - e)
    num = sw * np.where(treated, resid, -odds * resid)
    att = float(num.sum() / (sw * treated).sum())
    infl = (num - sw * treated * att) / dbar
    se = float(np.sqrt(infl @ infl) / n)
    return AIPW(att=att, se=se, influence=infl, score=e, mu0=m0)


@dataclass(frozen=True)
class ScoreAdjustment:
    r"""Abadie-Imbens (2016) adjustment of a matching variance for an estimated score.

    Attributes
    ----------
    variance : float
        To add to the variance of the matching estimator on the true score:
        ``(- c' I^{-1} c + g' I^{-1} g) / N`` for the ATT, ``- c' I^{-1} c / N``
        for the ATE.
    c : numpy.ndarray
        Shape ``(k,)`` the covariance term (:math:`c_t` for the ATT, :math:`c`
        for the ATE).
    g : numpy.ndarray
        Shape ``(k,)`` the derivative of the ATT with respect to the score's
        coefficients, :math:`\partial\tau_t/\partial\theta`; zeros for the
        ATE, whose adjusted variance has no such term.
    information : numpy.ndarray
        Shape ``(k, k)`` the score model's Fisher information per unit.
    """

    variance: float
    c: np.ndarray
    g: np.ndarray
    information: np.ndarray


def _neighbours(p: np.ndarray, pool: np.ndarray, k: int) -> np.ndarray:
    """Return the indices (into ``pool``) of the ``k`` units of ``pool`` nearest to each ``p``.

    Ties in distance go to the lower position of ``pool`` (sorted by score).
    """
    order = np.argsort(p[pool], kind="stable")
    sp = p[pool][order]
    m = sp.shape[0]
    j = np.searchsorted(sp, p)
    offs = np.arange(-k, k)
    cand = np.clip(j[:, None] + offs[None, :], 0, m - 1)
    gap = np.abs(sp[cand] - p[:, None])
    # duplicates from clipping at the ends: push them back
    dup = np.zeros_like(gap, dtype=bool)
    dup[:, 1:] = cand[:, 1:] == cand[:, :-1]
    gap = np.where(dup, np.inf, gap)
    pick = np.lexsort((cand, gap), axis=1)[:, :k]
    return order[np.take_along_axis(cand, pick, axis=1)]


def _tied_neighbours(p: np.ndarray, pool: np.ndarray, k: int) -> list[np.ndarray]:
    """Return, per unit, the rows of ``pool`` at most as far on ``p`` as its ``k``-th nearest.

    The unit itself counts when it belongs to ``pool`` (distance 0); distances
    are compared exactly, as in :func:`~tne_eval.matching._nearest.nearest_with_ties`.
    """
    order = np.argsort(p[pool], kind="stable")
    sp = p[pool][order]
    near = _neighbours(p, pool, k)  # positions in pool
    kth = np.abs(p[pool][near] - p[:, None]).max(axis=1)
    out = []
    for i, g in enumerate(kth.tolist()):
        lo = np.searchsorted(sp, p[i] - 2.0 * g, side="left")
        hi = np.searchsorted(sp, p[i] + 2.0 * g, side="right")
        window = np.arange(lo, hi)
        out.append(pool[order[window[np.abs(sp[window] - p[i]) <= g]]])
    return out


def _score_moments(y, d, design, score, density, n_neighbors, ties=False):
    """Check the inputs; per unit and group, the neighbours' cov(X, Y) and mean Y."""
    treated = as_treatment(d)
    n = treated.shape[0]
    yv = as_vector(y, n, "y")
    xm = as_matrix(design, n, "design")
    p = as_vector(score, n, "score")
    f = as_vector(density, n, "density")
    L = check_positive_int(n_neighbors, "n_neighbors")
    if L < 2:
        raise IdentificationError(
            "n_neighbors must be at least 2 to estimate covariances."
        )
    moments = {}
    for grp, key in ((treated, 1), (~treated, 0)):
        pool = np.flatnonzero(grp)
        if pool.shape[0] < L:
            raise IdentificationError(
                f"Only {pool.shape[0]} units in a treatment group: the score "
                f"adjustment needs at least n_neighbors={L}."
            )
        if ties:
            cov = np.empty((n, xm.shape[1]))
            ybar = np.empty(n)
            for i, nb_i in enumerate(_tied_neighbours(p, pool, L)):
                xs, ys = xm[nb_i], yv[nb_i]
                ybar[i] = ys.mean()
                cov[i] = (xs - xs.mean(axis=0)).T @ (ys - ybar[i]) / (ys.shape[0] - 1)
            moments[key] = (cov, ybar)
            continue
        nb = pool[_neighbours(p, pool, L)]  # (n, L) row indices
        xs, ys = xm[nb], yv[nb]
        xbar, ybar = xs.mean(axis=1), ys.mean(axis=1)
        cov = np.einsum("nlk,nl->nk", xs - xbar[:, None, :], ys - ybar[:, None]) / (
            L - 1
        )
        moments[key] = (cov, ybar)
    return treated, yv, xm, p, f, moments


def score_adjustment_att(
    y: np.ndarray,
    d: np.ndarray,
    design: np.ndarray,
    score: np.ndarray,
    density: np.ndarray,
    att: float,
    *,
    n_neighbors: int = 4,
    ties: bool = False,
) -> ScoreAdjustment:
    r"""Abadie & Imbens (2016) variance adjustment of the matching ATT on an estimated score.

    With the score :math:`p(x) = F(x'\theta)` estimated by maximum likelihood,
    the ATT estimator that matches on :math:`p(x;\hat\theta)` has asymptotic
    variance :math:`\sigma^2_t - c_t' I_\theta^{-1} c_t + g_t' I_\theta^{-1}
    g_t` (their Theorem 2), where :math:`\sigma^2_t` is that of matching on the
    true score,

    .. math::

        c_t = \frac{1}{E[p]} E\Big[\Big(\mathrm{cov}(X, \mu(1,X) \mid p) +
        \frac{p}{1-p}\,\mathrm{cov}(X, \mu(0,X) \mid p)\Big) f(X'\theta)\Big],

        g_t = \frac{1}{E[p]} E\big[X f(X'\theta)\,\big(\bar\mu(1, p) -
        \bar\mu(0, p) - \tau_t\big)\big],

    :math:`I_\theta = E[f^2 / (p(1-p))\, X X']` and :math:`f` the density of
    the link. As in their Section 5, the conditional moments given :math:`p`
    are estimated by matching on the estimated score: for each unit and group
    :math:`w`, the ``n_neighbors`` units of group :math:`w` with the nearest
    scores give the sample covariance of :math:`(X, Y)` and the mean of
    :math:`Y`; expectations are sample means (``1/E[p]`` as ``N / N_1``).

    Parameters
    ----------
    y : numpy.ndarray
        Shape ``(n,)`` outcome.
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    design : numpy.ndarray
        Shape ``(n, k)`` the score model's design, intercept included.
    score : numpy.ndarray
        Shape ``(n,)`` estimated scores :math:`p_i`.
    density : numpy.ndarray
        Shape ``(n,)`` :math:`f(x_i'\hat\theta)` (``p (1 - p)`` for the logit).
    att : float
        The matching estimate :math:`\hat\tau_t`.
    n_neighbors : int, default 4
        Matches used for the conditional moments (at least 2); a unit of the
        group counts among its own.
    ties : bool, default False
        Keep every unit tied with the ``n_neighbors``-th nearest (Stata's
        ``teffects psmatch`` does, with ``n_neighbors`` its ``vce(robust,
        nn(#))``); ``False`` breaks ties by position.

    Returns
    -------
    ScoreAdjustment
        The term to add to the variance, and its pieces.

    References
    ----------
    Abadie, A. and Imbens, G. W. (2016). Matching on the estimated propensity
    score. Econometrica 84(2), 781-807. https://doi.org/10.3982/ECTA11293
    """
    treated, _, xm, p, f, moments = _score_moments(
        y, d, design, score, density, n_neighbors, ties
    )
    n = treated.shape[0]
    n1 = int(treated.sum())
    cov1, mu1 = moments[1]
    cov0, mu0 = moments[0]
    odds = p / (1.0 - p)
    c = ((cov1 + odds[:, None] * cov0) * f[:, None]).sum(axis=0) / n1
    g = (xm * (f * (mu1 - mu0 - att))[:, None]).sum(axis=0) / n1
    info = (xm * (f**2 / (p * (1.0 - p)))[:, None]).T @ xm / n
    sol_c = np.linalg.solve(info, c)
    sol_g = np.linalg.solve(info, g)
    var = float(-c @ sol_c + g @ sol_g) / n
    return ScoreAdjustment(variance=var, c=c, g=g, information=info)


def score_adjustment_ate(
    y: np.ndarray,
    d: np.ndarray,
    design: np.ndarray,
    score: np.ndarray,
    density: np.ndarray,
    *,
    n_neighbors: int = 4,
    ties: bool = False,
) -> ScoreAdjustment:
    r"""Abadie & Imbens (2016) variance adjustment of the matching ATE on an estimated score.

    The ATE estimator that matches, with replacement, on :math:`p(x;\hat\theta)`
    has asymptotic variance :math:`\sigma^2 - c' I_\theta^{-1} c` (their
    Theorem 1), :math:`\sigma^2` that of matching on the true score, with

    .. math::

        c = E\Big[\Big(\frac{\mathrm{cov}(X, \mu(1,X) \mid p)}{p} +
        \frac{\mathrm{cov}(X, \mu(0,X) \mid p)}{1-p}\Big) f(X'\theta)\Big]

    and :math:`I_\theta` as in :func:`score_adjustment_att`: estimating the
    score can only lower the variance of the ATE. The conditional covariances
    are estimated as for the ATT, from the ``n_neighbors`` units of each group
    with the nearest estimated scores; the expectation is a sample mean.

    Parameters
    ----------
    y, d, design, score, density, n_neighbors, ties
        As in :func:`score_adjustment_att`.

    Returns
    -------
    ScoreAdjustment
        The (non-positive) term to add to the variance, and its pieces
        (``g`` is zero).

    References
    ----------
    Abadie, A. and Imbens, G. W. (2016). Matching on the estimated propensity
    score. Econometrica 84(2), 781-807. https://doi.org/10.3982/ECTA11293
    """
    treated, _, xm, p, f, moments = _score_moments(
        y, d, design, score, density, n_neighbors, ties
    )
    n = treated.shape[0]
    cov1, _ = moments[1]
    cov0, _ = moments[0]
    c = ((cov1 / p[:, None] + cov0 / (1.0 - p)[:, None]) * f[:, None]).sum(axis=0) / n
    info = (xm * (f**2 / (p * (1.0 - p)))[:, None]).T @ xm / n
    var = float(-c @ np.linalg.solve(info, c)) / n
    return ScoreAdjustment(variance=var, c=c, g=np.zeros_like(c), information=info)
