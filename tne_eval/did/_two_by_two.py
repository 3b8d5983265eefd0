"""2x2 DiD kernels of Sant'Anna and Zhao (2020) and their influence functions.

Private numerics module (arrays in, arrays out; no pandas, no specs). It implements
the eight 2x2 estimators of the R package ``DRDID`` that Callaway and Sant'Anna's
``att_gt`` calls once per (group, time) cell:

=================  =====================  =========================
``method``         panel (``DRDID``)      repeated cross sections
=================  =====================  =========================
``"reg"``          ``reg_did_panel``      ``reg_did_rc``
``"ipw"``          ``std_ipw_did_panel``  ``std_ipw_did_rc``
``"dr"``           ``drdid_panel``        ``drdid_rc``
``"dr_improved"``  ``drdid_imp_panel``    ``drdid_imp_rc``
=================  =====================  =========================

Everything is vectorised NumPy with O(n k^2) work: the nuisance models are fitted
by Newton iterations on k x k normal equations and every estimation-effect
correction of the influence function is applied as ``r_i * (x_i @ v)`` for a
k-vector ``v``; no n x n (nor n x k x k) object is ever formed.

Conventions shared by both entry points, all taken from ``DRDID``:

* sampling weights are normalised to mean one over all ``n`` rows;
* fitted propensity scores are capped at ``1 - 1e-6``;
* control rows whose propensity score is ``>= trim_level`` get zero weight in the
  IPW/DR weights (treated rows are never trimmed);
* the returned influence function is DRDID's ``att.inf.func``: one value per row,
  so that ``att_hat - att ~= mean(influence)`` and the analytic standard error is
  ``std(influence, ddof=0) / sqrt(n)`` (DRDID's ``sd(.) * sqrt(n - 1) / n``).

Deliberate departures from ``DRDID`` (it warns and carries on; we raise
:class:`~tne_eval.errors.IdentificationError`): the logit or the
inverse-probability-tilting fit does not converge (DRDID falls back to another
optimiser or to the logit), a design matrix is singular (DRDID's ``rcond < eps``
test, here made scale-invariant by equilibrating the columns first), or trimming
leaves no control with positive weight.

One departure in the numbers: the influence function of the repeated cross-section
``"dr"`` estimator (``drdid_rc``) corrects a sign error of DRDID 1.2.3 in the
estimation effect of the controls' pre-period outcome regression; the ATT is
unchanged, the standard error differs (see :func:`rc_2x2`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from tne_eval._numerics.glm import ipt_pscore, logit_alr, logit_pscore
from tne_eval._numerics.wls import Wls, wls
from tne_eval.errors import DataError, IdentificationError, SpecError

__all__ = ["METHODS", "Method", "TwoByTwo", "panel_2x2", "propensity_score", "rc_2x2"]

Method = Literal["reg", "ipw", "dr", "dr_improved"]
METHODS: tuple[str, ...] = get_args(Method)

#: DRDID caps fitted propensity scores with ``pmin(ps, 1 - 1e-6)``.
_PS_CAP = 1.0 - 1e-6


@dataclass(frozen=True, eq=False)
class TwoByTwo:
    """Result of one 2x2 DiD kernel.

    ``eq=False`` because the influence array makes element-wise ``==`` ambiguous;
    the array is made read-only so the result is frozen in substance too.

    Attributes
    ----------
    att : float
        Estimated average treatment effect on the treated.
    influence : numpy.ndarray
        Shape ``(n,)``, same row order as the inputs: DRDID's ``att.inf.func``
        convention, ``att_hat - att ~= mean(influence)``.
    n_trimmed : int
        Control rows (with positive sampling weight) given zero weight because their
        propensity score is ``>= trim_level``. Always 0 for ``method="reg"``.
    pscore_max_control : float
        Largest (capped) fitted propensity score among control rows with positive
        weight; ``nan`` for ``method="reg"``.
    """

    att: float
    influence: np.ndarray
    n_trimmed: int
    pscore_max_control: float

    def __post_init__(self) -> None:
        self.influence.setflags(write=False)

    @property
    def se(self) -> float:
        """Analytic standard error ``std(influence, ddof=0) / sqrt(n)`` (DRDID's)."""
        n = self.influence.shape[0]
        return float(np.std(self.influence) / math.sqrt(n))


# ----------------------------------------------------------------------------------
# Public kernels
# ----------------------------------------------------------------------------------


def panel_2x2(
    delta_y: np.ndarray,
    treated: np.ndarray,
    x: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    method: Method = "dr",
    trim_level: float = 0.995,
    pscore: np.ndarray | None = None,
) -> TwoByTwo:
    r"""Estimate the ATT of a 2x2 DiD with panel data (one row per unit).

    Parameters
    ----------
    delta_y : numpy.ndarray
        Shape ``(n,)``: outcome change ``Y_post - Y_pre`` of each unit.
    treated : numpy.ndarray
        Shape ``(n,)``, bool or 0/1: membership of the treated group.
    x : numpy.ndarray
        Shape ``(n, k)``: covariate design matrix **including** the intercept column
        (``k = 1`` means no covariates). Used for both the propensity score and the
        outcome regression.
    weights : numpy.ndarray or None, default None
        Shape ``(n,)``: non-negative sampling weights; normalised to mean one.
        ``None`` means equal weights.
    method : {"reg", "ipw", "dr", "dr_improved"}, default "dr"
        ``"reg"``: outcome regression (``DRDID::reg_did_panel``); ``"ipw"``:
        normalised (Hajek) IPW with a logit propensity score
        (``std_ipw_did_panel``); ``"dr"``: traditional doubly robust estimator,
        logit propensity score and OLS on the controls (``drdid_panel``);
        ``"dr_improved"``: improved, locally efficient doubly robust estimator,
        inverse-probability-tilting propensity score and propensity-weighted least
        squares (``drdid_imp_panel``).
    trim_level : float, default 0.995
        Control units with propensity score ``>= trim_level`` get zero weight.
        Ignored by ``"reg"``.

    Returns
    -------
    TwoByTwo
        ``att``, ``influence`` (shape ``(n,)``, input row order), ``n_trimmed`` and
        ``pscore_max_control``.

    Raises
    ------
    SpecError
        Bad ``method``, ``trim_level`` or array shapes.
    DataError
        Non-finite values, a non-binary ``treated``, or invalid weights.
    IdentificationError
        No treated or no control units (with positive weight), a singular covariate
        design (e.g. fewer units than covariates), a propensity score fit that does
        not converge (perfect separation, no overlap), or no control left after
        trimming.

    See Also
    --------
    rc_2x2 : The same estimators for repeated cross sections.

    Notes
    -----
    With normalised weights :math:`w_i`, treatment :math:`D_i`, fitted propensity
    score :math:`\hat p(X_i)` and outcome regression :math:`\hat\mu_0(X_i)` fitted on
    the controls' :math:`\Delta Y`, the DR estimator is

    .. math::

        \hat\tau^{dr} = \frac{\mathbb{E}_n[w D (\Delta Y - \hat\mu_0(X))]}
                              {\mathbb{E}_n[w D]}
          - \frac{\mathbb{E}_n[w (1-D)\frac{\hat p(X)}{1-\hat p(X)}
                  (\Delta Y - \hat\mu_0(X))]}
                 {\mathbb{E}_n[w (1-D)\frac{\hat p(X)}{1-\hat p(X)}]},

    ``"reg"`` keeps only :math:`\hat\mu_0`, ``"ipw"`` only :math:`\hat p`. The
    influence function includes the estimation effect of the logit coefficients and
    of the regression coefficients (DRDID's ``inf.cont.2``, ``inf.cont.3``, ...).
    ``"dr_improved"`` needs no such correction: its first-order conditions make the
    estimation effects vanish (Sant'Anna and Zhao 2020, Theorem 3.1).

    Identification: conditional parallel trends given :math:`X` and overlap.
    Formulas follow R ``DRDID`` 1.2.x line by line; validated against the PyPI
    packages ``moderndid`` and ``drdid`` (see ``tests/reference/drdid``).

    References
    ----------
    Sant'Anna, P. H. C. and Zhao, J. (2020). Doubly robust difference-in-differences
    estimators. *Journal of Econometrics* 219(1), 101-122.
    https://doi.org/10.1016/j.jeconom.2020.06.003
    """
    method = _check_method(method)
    trim_level = _check_trim_level(trim_level)
    dy = _as_vector(delta_y, "delta_y")
    n = dy.shape[0]
    d = _as_binary(treated, "treated", n)
    xm = _as_design(x, n)
    w = _as_weights(weights, n)
    _require_both_groups(d, w)

    if method == "reg":
        return _panel_reg(dy, d, xm, w)
    if pscore is None:
        pscore = propensity_score(d, xm, w, method=method)
    if method == "ipw":
        return _panel_ipw(dy, d, xm, w, trim_level, pscore)
    if method == "dr":
        return _panel_dr(dy, d, xm, w, trim_level, pscore)
    return _panel_dr_improved(dy, d, xm, w, trim_level, pscore)


def propensity_score(
    treated: np.ndarray,
    x: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    method: Method = "dr",
) -> np.ndarray | None:
    """Fit the propensity score that a panel kernel of ``method`` uses.

    Logit for ``"ipw"`` and ``"dr"``, inverse probability tilting for
    ``"dr_improved"``, ``None`` for ``"reg"``. The fit depends only on the treated
    indicator, the design and the weights, so a caller that runs several 2x2
    comparisons on the same units (the cells of one cohort against never-treated
    units, say) fits it once and passes it to :func:`panel_2x2` as ``pscore``.
    """
    method = _check_method(method)
    if method == "reg":
        return None
    d = np.asarray(treated, dtype=np.float64)
    n = d.shape[0]
    xm = _as_design(x, n)
    w = _as_weights(weights, n)
    if method == "dr_improved":
        return _capped(ipt_pscore(d, xm, w))
    return _capped(logit_pscore(d, xm, w))


def rc_2x2(
    y: np.ndarray,
    post: np.ndarray,
    treated: np.ndarray,
    x: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    method: Method = "dr",
    trim_level: float = 0.995,
) -> TwoByTwo:
    r"""Estimate the ATT of a 2x2 DiD with repeated cross sections (row = observation).

    Parameters
    ----------
    y : numpy.ndarray
        Shape ``(n,)``: outcome of each observation.
    post : numpy.ndarray
        Shape ``(n,)``, bool or 0/1: observation from the post-treatment period.
    treated : numpy.ndarray
        Shape ``(n,)``, bool or 0/1: observation from the treated group.
    x : numpy.ndarray
        Shape ``(n, k)``: covariate design matrix **including** the intercept column.
    weights : numpy.ndarray or None, default None
        Shape ``(n,)``: non-negative sampling weights; normalised to mean one.
    method : {"reg", "ipw", "dr", "dr_improved"}, default "dr"
        ``"reg"``: ``DRDID::reg_did_rc``; ``"ipw"``: ``std_ipw_did_rc``;
        ``"dr"``: locally efficient DR with a logit propensity score
        (``drdid_rc``); ``"dr_improved"``: improved and locally efficient DR with an
        inverse-probability-tilting propensity score (``drdid_imp_rc``).
    trim_level : float, default 0.995
        Control observations with propensity score ``>= trim_level`` get zero
        weight. Ignored by ``"reg"``.

    Returns
    -------
    TwoByTwo
        ``att``, ``influence`` (shape ``(n,)``, input row order), ``n_trimmed`` and
        ``pscore_max_control``.

    Raises
    ------
    SpecError
        Bad ``method``, ``trim_level`` or array shapes.
    DataError
        Non-finite values, non-binary ``treated``/``post``, or invalid weights.
    IdentificationError
        One of the four (group, period) cells is empty, a singular covariate design
        in a cell regression or in the propensity score, a propensity score fit that
        does not converge, or no control left after trimming.

    See Also
    --------
    panel_2x2 : The same estimators for panel data.

    Notes
    -----
    The locally efficient DR estimator (``"dr"``, ``"dr_improved"``) is

    .. math::

        \hat\tau = \big(\hat\tau_{1,1} - \hat\tau_{1,0}\big)
                 - \big(\hat\tau_{0,1} - \hat\tau_{0,0}\big)
          + \mathbb{E}_n\Big[\Big(\tfrac{w D}{\mathbb{E}_n[w D]}
               - \tfrac{w D T}{\mathbb{E}_n[w D T]}\Big)
               (\hat\mu_{1,1} - \hat\mu_{0,1})(X)\Big]
          - \mathbb{E}_n\Big[\Big(\tfrac{w D}{\mathbb{E}_n[w D]}
               - \tfrac{w D (1-T)}{\mathbb{E}_n[w D (1-T)]}\Big)
               (\hat\mu_{1,0} - \hat\mu_{0,0})(X)\Big],

    where :math:`\hat\tau_{d,t}` are Hajek means of :math:`Y - \hat\mu_{0,T}(X)` in
    cell :math:`(d, t)` (controls weighted by :math:`\hat p/(1-\hat p)`) and
    :math:`\hat\mu_{d,t}` are least-squares fits in cell :math:`(d, t)`.

    For ``"dr"`` the ATT is ``DRDID::drdid_rc``'s, but the influence function
    corrects a sign in DRDID 1.2.3 (also copied by ``moderndid`` 0.2.0, hence R and
    Python ``did``): the estimation effect of the controls' pre-period regression
    must enter as ``mom.pre - (M1.pre - M3.pre)``, whereas DRDID adds
    ``inf.treat.or.pre`` and ``inf.cont.or.pre`` instead of subtracting them. Our
    influence function equals the empirical influence function (the derivative of
    the estimate in each observation's weight, checked by finite differences) and
    matches the PyPI package ``drdid`` 1.1.7; standard errors differ from R's, the
    ATT does not. The two agree asymptotically only when the propensity score
    balances the pre-period covariates.

    For ``"dr_improved"`` the influence function is DRDID's, which omits the
    estimation effects of the inverse-probability-tilting and regression
    coefficients; they vanish asymptotically (Sant'Anna and Zhao 2020, Section 3)
    but, unlike the panel case, not exactly in the sample.

    References
    ----------
    Sant'Anna, P. H. C. and Zhao, J. (2020). Doubly robust difference-in-differences
    estimators. *Journal of Econometrics* 219(1), 101-122.
    https://doi.org/10.1016/j.jeconom.2020.06.003
    """
    method = _check_method(method)
    trim_level = _check_trim_level(trim_level)
    yv = _as_vector(y, "y")
    n = yv.shape[0]
    t = _as_binary(post, "post", n)
    d = _as_binary(treated, "treated", n)
    xm = _as_design(x, n)
    w = _as_weights(weights, n)
    _require_both_groups(d, w)
    for dd, tt, label in (
        (1.0, 0.0, "treated, pre-period"),
        (1.0, 1.0, "treated, post-period"),
        (0.0, 0.0, "control, pre-period"),
        (0.0, 1.0, "control, post-period"),
    ):
        if not np.any((d == dd) & (t == tt) & (w > 0)):
            raise IdentificationError(
                f"The ({label}) cell of the repeated cross section has no observation "
                "with positive weight; the 2x2 DiD needs all four (group, period) "
                "cells. Check the post/treated coding or choose another comparison."
            )

    if method == "reg":
        return _rc_reg(yv, t, d, xm, w)
    if method == "ipw":
        return _rc_ipw(yv, t, d, xm, w, trim_level)
    if method == "dr":
        return _rc_dr(yv, t, d, xm, w, trim_level)
    return _rc_dr_improved(yv, t, d, xm, w, trim_level)


# ----------------------------------------------------------------------------------
# Panel estimators (DRDID: reg_did_panel, std_ipw_did_panel, drdid_panel,
# drdid_imp_panel)
# ----------------------------------------------------------------------------------


def _panel_reg(dy: np.ndarray, d: np.ndarray, x: np.ndarray, w: np.ndarray) -> TwoByTwo:
    n = dy.shape[0]
    w_ols = w * (1.0 - d)
    ols = wls(x, dy, w_ols, what="outcome regression among the control units")
    out = x @ ols.beta

    w_treat = w * d
    m_wt = w_treat.mean()
    reg_treat = w_treat * dy
    reg_cont = w_treat * out
    eta_treat = reg_treat.mean() / m_wt
    eta_cont = reg_cont.mean() / m_wt
    att = eta_treat - eta_cont

    inf_treat = (reg_treat - w_treat * eta_treat) / m_wt
    m1 = (w_treat @ x) / n
    inf_cont = (reg_cont - w_treat * eta_cont + ols.alr(x, dy - out, m1)) / m_wt
    return _result(att, inf_treat - inf_cont, 0, math.nan)


def _panel_ipw(
    dy: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    trim_level: float,
    ps: np.ndarray,
) -> TwoByTwo:
    n = dy.shape[0]
    keep, n_trim, ps_max = _trim(ps, d, w, trim_level)
    w_treat = keep * w * d
    w_cont = keep * w * ps * (1.0 - d) / (1.0 - ps)
    m_wt, m_wc = w_treat.mean(), w_cont.mean()

    att_treat = w_treat * dy
    att_cont = w_cont * dy
    eta_treat = att_treat.mean() / m_wt
    eta_cont = att_cont.mean() / m_wc
    att = eta_treat - eta_cont

    inf_treat = (att_treat - w_treat * eta_treat) / m_wt
    m2 = ((w_cont * (dy - eta_cont)) @ x) / n
    inf_cont = (att_cont - w_cont * eta_cont + logit_alr(d, x, w, ps, m2)) / m_wc
    return _result(att, inf_treat - inf_cont, n_trim, ps_max)


def _panel_dr(
    dy: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    trim_level: float,
    ps: np.ndarray,
) -> TwoByTwo:
    n = dy.shape[0]
    keep, n_trim, ps_max = _trim(ps, d, w, trim_level)
    ols = wls(x, dy, w * (1.0 - d), what="outcome regression among the control units")
    resid = dy - x @ ols.beta

    w_treat = keep * w * d
    w_cont = keep * w * ps * (1.0 - d) / (1.0 - ps)
    m_wt, m_wc = w_treat.mean(), w_cont.mean()
    dr_treat = w_treat * resid
    dr_cont = w_cont * resid
    eta_treat = dr_treat.mean() / m_wt
    eta_cont = dr_cont.mean() / m_wc
    att = eta_treat - eta_cont

    # inf.treat = (inf.treat.1 - ALR_ols M1) / E[w_treat]
    # inf.control = (inf.cont.1 + ALR_ps M2 - ALR_ols M3) / E[w_cont]
    m1 = (w_treat @ x) / n
    m2 = ((w_cont * (resid - eta_cont)) @ x) / n
    m3 = (w_cont @ x) / n
    influence = (
        (dr_treat - w_treat * eta_treat) / m_wt
        - (dr_cont - w_cont * eta_cont) / m_wc
        - ols.alr(x, resid, m1 / m_wt - m3 / m_wc)
        - logit_alr(d, x, w, ps, m2 / m_wc)
    )
    return _result(att, influence, n_trim, ps_max)


def _panel_dr_improved(
    dy: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    trim_level: float,
    ps: np.ndarray,
) -> TwoByTwo:
    keep, n_trim, ps_max = _trim(ps, d, w, trim_level)
    # DRDID's wols.br.panel: controls weighted by w * ps / (1 - ps), untrimmed.
    fit = wls(
        x,
        dy,
        w * (1.0 - d) * ps / (1.0 - ps),
        what="propensity-weighted outcome regression among the control units",
    )
    resid = dy - x @ fit.beta
    summand = keep * (1.0 - (1.0 - d) / (1.0 - ps)) * resid
    m_d = (d * w).mean()
    att = (w * summand).mean() / m_d
    influence = w * keep * (summand - d * att) / m_d
    return _result(att, influence, n_trim, ps_max)


# ----------------------------------------------------------------------------------
# Repeated cross-section estimators (DRDID: reg_did_rc, std_ipw_did_rc, drdid_rc,
# drdid_imp_rc)
# ----------------------------------------------------------------------------------


def _rc_reg(
    y: np.ndarray, t: np.ndarray, d: np.ndarray, x: np.ndarray, w: np.ndarray
) -> TwoByTwo:
    n = y.shape[0]
    ols_pre = wls(
        x,
        y,
        w * (1.0 - d) * (1.0 - t),
        what="outcome regression (controls, pre-period)",
    )
    ols_post = wls(
        x, y, w * (1.0 - d) * t, what="outcome regression (controls, post-period)"
    )
    out_pre = x @ ols_pre.beta
    out_post = x @ ols_post.beta

    w_treat_pre = w * d * (1.0 - t)
    w_treat_post = w * d * t
    w_cont = w * d
    m_tpre, m_tpost, m_c = w_treat_pre.mean(), w_treat_post.mean(), w_cont.mean()
    reg_treat_pre = w_treat_pre * y
    reg_treat_post = w_treat_post * y
    reg_cont = w_cont * (out_post - out_pre)
    eta_treat_pre = reg_treat_pre.mean() / m_tpre
    eta_treat_post = reg_treat_post.mean() / m_tpost
    eta_cont = reg_cont.mean() / m_c
    att = (eta_treat_post - eta_treat_pre) - eta_cont

    inf_treat = (reg_treat_post - w_treat_post * eta_treat_post) / m_tpost - (
        reg_treat_pre - w_treat_pre * eta_treat_pre
    ) / m_tpre
    m1 = (w_cont @ x) / n
    inf_cont = (
        reg_cont
        - w_cont * eta_cont
        + ols_post.alr(x, y - out_post, m1)
        - ols_pre.alr(x, y - out_pre, m1)
    ) / m_c
    return _result(att, inf_treat - inf_cont, 0, math.nan)


def _rc_ipw(
    y: np.ndarray,
    t: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    trim_level: float,
) -> TwoByTwo:
    n = y.shape[0]
    ps = _capped(logit_pscore(d, x, w))
    keep, n_trim, ps_max = _trim(ps, d, w, trim_level)
    odds = ps / (1.0 - ps)
    w_tpre = keep * w * d * (1.0 - t)
    w_tpost = keep * w * d * t
    w_cpre = keep * w * odds * (1.0 - d) * (1.0 - t)
    w_cpost = keep * w * odds * (1.0 - d) * t
    m_tpre, m_tpost = w_tpre.mean(), w_tpost.mean()
    m_cpre, m_cpost = w_cpre.mean(), w_cpost.mean()

    eta_tpre = w_tpre * y / m_tpre
    eta_tpost = w_tpost * y / m_tpost
    eta_cpre = w_cpre * y / m_cpre
    eta_cpost = w_cpost * y / m_cpost
    att_tpre, att_tpost = eta_tpre.mean(), eta_tpost.mean()
    att_cpre, att_cpost = eta_cpre.mean(), eta_cpost.mean()
    att = (att_tpost - att_tpre) - (att_cpost - att_cpre)

    inf_treat = (eta_tpost - w_tpost * att_tpost / m_tpost) - (
        eta_tpre - w_tpre * att_tpre / m_tpre
    )
    inf_cont = (eta_cpost - w_cpost * att_cpost / m_cpost) - (
        eta_cpre - w_cpre * att_cpre / m_cpre
    )
    m2_pre = ((w_cpre * (y - att_cpre)) @ x) / n / m_cpre
    m2_post = ((w_cpost * (y - att_cpost)) @ x) / n / m_cpost
    inf_cont = inf_cont + logit_alr(d, x, w, ps, m2_post - m2_pre)
    return _result(att, inf_treat - inf_cont, n_trim, ps_max)


def _rc_outcome_models(
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    d: np.ndarray,
    w: np.ndarray,
    w_control: np.ndarray,
    control_label: str,
) -> tuple[Wls, Wls, Wls, Wls]:
    """Fit the four cell outcome regressions of the RC doubly robust estimators.

    Controls pre and post (weighted by ``w_control``), treated pre and post
    (weighted by ``w``), in that order.
    """
    c0 = wls(
        x,
        y,
        w_control * (1.0 - d) * (1.0 - t),
        what=f"{control_label} (controls, pre-period)",
    )
    c1 = wls(
        x, y, w_control * (1.0 - d) * t, what=f"{control_label} (controls, post-period)"
    )
    t0 = wls(x, y, w * d * (1.0 - t), what="outcome regression (treated, pre-period)")
    t1 = wls(x, y, w * d * t, what="outcome regression (treated, post-period)")
    return c0, c1, t0, t1


def _rc_dr(
    y: np.ndarray,
    t: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    trim_level: float,
) -> TwoByTwo:
    n = y.shape[0]
    ps = _capped(logit_pscore(d, x, w))
    keep, n_trim, ps_max = _trim(ps, d, w, trim_level)
    models = _rc_outcome_models(x, y, t, d, w, w, "outcome regression")
    c0, c1, t0, t1 = models
    odds = ps / (1.0 - ps)
    core = _rc_dr_core(y, t, d, x, models, keep * w, keep * w * odds)
    out_c, out_c0, out_c1, out_t0, out_t1 = core.fitted
    w_tpre, w_tpost, w_cpre, w_cpost, w_d = core.weights
    m_tpre, m_tpost, m_cpre, m_cpost, m_d = core.means

    # Estimation effects, in DRDID drdid_rc's notation (ALR_b = asy.lin.rep of b):
    #   inf.treat.or = ALR_c1 M1.post - ALR_c0 M1.pre
    #   inf.cont.or  = ALR_c1 M3.post - ALR_c0 M3.pre
    #   inf.cont.ps  = ALR_ps (M2.post - M2.pre)
    #   inf.or       = (ALR_t1 - ALR_c1) mom.post - (ALR_t0 - ALR_c0) mom.pre
    # influence = inf.treat - inf.cont + inf.eff + inf.or. DRDID 1.2.3 *adds* the
    # pre-period terms (inf.treat.or.post + inf.treat.or.pre, same for inf.cont.or);
    # ATT = ... - att.treat.pre + att.cont.pre ... so they enter with a minus: the
    # derivative of the ATT in beta_c0 is mom.pre - (M1.pre - M3.pre). Checked
    # against finite differences (tests/did/test_two_by_two.py::test_influence_*).
    resid = y - out_c
    m1_post = -((w_tpost * t) @ x) / n / m_tpost
    m1_pre = -((w_tpre * (1.0 - t)) @ x) / n / m_tpre
    m2_pre = ((w_cpre * (resid - core.att_cpre)) @ x) / n / m_cpre
    m2_post = ((w_cpost * (resid - core.att_cpost)) @ x) / n / m_cpost
    m3_post = -((w_cpost * t) @ x) / n / m_cpost
    m3_pre = -((w_cpre * (1.0 - t)) @ x) / n / m_cpre
    mom_post = ((w_d / m_d - w_tpost / m_tpost) @ x) / n
    mom_pre = ((w_d / m_d - w_tpre / m_tpre) @ x) / n

    influence = (
        core.influence
        + c1.alr(x, y - out_c1, m1_post - m3_post - mom_post)
        + c0.alr(x, y - out_c0, m3_pre - m1_pre + mom_pre)
        + t1.alr(x, y - out_t1, mom_post)
        - t0.alr(x, y - out_t0, mom_pre)
        - logit_alr(d, x, w, ps, m2_post - m2_pre)
    )
    return _result(core.att, influence, n_trim, ps_max)


def _rc_dr_improved(
    y: np.ndarray,
    t: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    trim_level: float,
) -> TwoByTwo:
    ps = _capped(ipt_pscore(d, x, w))
    keep, n_trim, ps_max = _trim(ps, d, w, trim_level)
    odds = ps / (1.0 - ps)
    # DRDID's wols_rc: controls weighted by w * ps / (1 - ps) (untrimmed), treated by w.
    models = _rc_outcome_models(
        x, y, t, d, w, w * odds, "propensity-weighted outcome regression"
    )
    # drdid_imp_rc leaves the treated weights untrimmed (they never are anyway).
    core = _rc_dr_core(y, t, d, x, models, w, keep * w * odds)
    return _result(core.att, core.influence, n_trim, ps_max)


@dataclass(frozen=True)
class _RcCore:
    att: float
    influence: np.ndarray  # inf.treat - inf.cont + inf.eff, no estimation effects
    att_cpre: float
    att_cpost: float
    means: tuple[float, float, float, float, float]  # of the five weights below
    weights: tuple[np.ndarray, ...]  # w_tpre, w_tpost, w_cpre, w_cpost, w_d
    fitted: tuple[np.ndarray, ...]  # out_c, out_c0, out_c1, out_t0, out_t1


def _rc_dr_core(
    y: np.ndarray,
    t: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    models: tuple[Wls, Wls, Wls, Wls],
    w_treated: np.ndarray,
    w_control: np.ndarray,
) -> _RcCore:
    """ATT and leading influence terms shared by ``drdid_rc`` and ``drdid_imp_rc``.

    ``models`` are the four cell regressions (controls pre/post, treated pre/post);
    ``w_treated`` weights the treated rows (trimmed or not) and ``w_control`` the
    control rows (``w * odds``, trimmed). DRDID's ``w.dt1`` and ``w.dt0`` are the
    treated post and pre weights in both estimators, so they are not separate
    inputs.
    """
    c0, c1, t0, t1 = models
    out_c0, out_c1 = x @ c0.beta, x @ c1.beta
    out_t0, out_t1 = x @ t0.beta, x @ t1.beta
    out_c = t * out_c1 + (1.0 - t) * out_c0
    w_tpre = w_treated * d * (1.0 - t)
    w_tpost = w_treated * d * t
    w_cpre = w_control * (1.0 - d) * (1.0 - t)
    w_cpost = w_control * (1.0 - d) * t
    w_d = w_treated * d
    m_tpre, m_tpost = w_tpre.mean(), w_tpost.mean()
    m_cpre, m_cpost = w_cpre.mean(), w_cpost.mean()
    m_d = w_d.mean()
    resid = y - out_c
    eta_tpre = w_tpre * resid / m_tpre
    eta_tpost = w_tpost * resid / m_tpost
    eta_cpre = w_cpre * resid / m_cpre
    eta_cpost = w_cpost * resid / m_cpost
    gap_post = out_t1 - out_c1
    gap_pre = out_t0 - out_c0
    eta_d_post = w_d * gap_post / m_d
    eta_dt1_post = w_tpost * gap_post / m_tpost
    eta_d_pre = w_d * gap_pre / m_d
    eta_dt0_pre = w_tpre * gap_pre / m_tpre

    att_tpre, att_tpost = eta_tpre.mean(), eta_tpost.mean()
    att_cpre, att_cpost = eta_cpre.mean(), eta_cpost.mean()
    att_d_post, att_dt1_post = eta_d_post.mean(), eta_dt1_post.mean()
    att_d_pre, att_dt0_pre = eta_d_pre.mean(), eta_dt0_pre.mean()
    att = (
        (att_tpost - att_tpre)
        - (att_cpost - att_cpre)
        + (att_d_post - att_dt1_post)
        - (att_d_pre - att_dt0_pre)
    )

    inf_treat = (eta_tpost - w_tpost * att_tpost / m_tpost) - (
        eta_tpre - w_tpre * att_tpre / m_tpre
    )
    inf_cont = (eta_cpost - w_cpost * att_cpost / m_cpost) - (
        eta_cpre - w_cpre * att_cpre / m_cpre
    )
    inf_eff = (
        (eta_d_post - w_d * att_d_post / m_d)
        - (eta_dt1_post - w_tpost * att_dt1_post / m_tpost)
        - (eta_d_pre - w_d * att_d_pre / m_d)
        + (eta_dt0_pre - w_tpre * att_dt0_pre / m_tpre)
    )
    return _RcCore(
        att=float(att),
        influence=inf_treat - inf_cont + inf_eff,
        att_cpre=float(att_cpre),
        att_cpost=float(att_cpost),
        means=(m_tpre, m_tpost, m_cpre, m_cpost, m_d),
        weights=(w_tpre, w_tpost, w_cpre, w_cpost, w_d),
        fitted=(out_c, out_c0, out_c1, out_t0, out_t1),
    )


def _capped(ps: np.ndarray) -> np.ndarray:
    return np.minimum(ps, _PS_CAP)


def _trim(
    ps: np.ndarray, d: np.ndarray, w: np.ndarray, trim_level: float
) -> tuple[np.ndarray, int, float]:
    """DRDID's ``trim.ps``: 1 for treated rows, ``ps < trim_level`` for controls."""
    control = (d == 0.0) & (w > 0.0)
    keep = np.where(d == 0.0, ps < trim_level, True).astype(np.float64)
    n_control = int(np.count_nonzero(control))
    n_trim = int(np.count_nonzero(control & (keep == 0.0)))
    ps_max = float(ps[control].max())
    if n_trim == n_control:
        raise IdentificationError(
            f"All {n_control} control units have a propensity score >= "
            f"trim_level={trim_level} (largest {ps_max:.6g}); no comparison unit is "
            "left after trimming. The covariates separate the groups almost "
            "perfectly: drop or coarsen covariates, or raise trim_level."
        )
    return keep, n_trim, ps_max


# ----------------------------------------------------------------------------------
# Validation and messages
# ----------------------------------------------------------------------------------


def _check_method(method: str) -> str:
    if method not in METHODS:
        valid = ", ".join(repr(m) for m in METHODS)
        raise SpecError(
            f"method={method!r} is not a 2x2 DiD method; choose one of {valid}."
        )
    return method


def _check_trim_level(trim_level: float) -> float:
    try:
        value = float(trim_level)
    except (TypeError, ValueError):
        value = math.nan
    if not 0.0 < value <= 1.0:
        raise SpecError(
            f"trim_level={trim_level!r} must be in (0, 1]; DRDID's default is 0.995 "
            "(controls with a propensity score at or above it get zero weight)."
        )
    return value


def _as_vector(values: np.ndarray, name: str, n: int | None = None) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
        expected = "(n,)" if n is None else f"({n},)"
        raise SpecError(
            f"{name} must be a 1-D array of shape {expected}; got shape {arr.shape}."
        )
    if arr.shape[0] == 0:
        raise SpecError(f"{name} is empty; a 2x2 DiD needs observations.")
    arr = arr.astype(np.float64, copy=False)
    bad = int(np.count_nonzero(~np.isfinite(arr)))
    if bad:
        raise DataError(
            f"{name} contains {bad} non-finite values (NaN or inf) out of "
            f"{arr.shape[0]}; drop or impute those rows before estimation."
        )
    return arr


def _as_binary(values: np.ndarray, name: str, n: int) -> np.ndarray:
    arr = _as_vector(values, name, n)
    bad = int(np.count_nonzero((arr != 0.0) & (arr != 1.0)))
    if bad:
        raise DataError(
            f"{name} must be 0/1 (or bool); {bad} of {n} values are neither "
            f"(e.g. {float(arr[(arr != 0.0) & (arr != 1.0)][0])!r})."
        )
    return arr


def _as_design(x: np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 2 or arr.shape[0] != n or arr.shape[1] == 0:
        raise SpecError(
            f"x must be a 2-D design matrix of shape ({n}, k) with k >= 1 (intercept "
            f"column included); got shape {arr.shape}."
        )
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    bad = int(np.count_nonzero(~np.isfinite(arr)))
    if bad:
        raise DataError(
            f"x contains {bad} non-finite values (NaN or inf); drop or impute those "
            "rows before estimation."
        )
    return arr


def _as_weights(weights: np.ndarray | None, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = _as_vector(weights, "weights", n)
    if np.any(w < 0.0):
        raise DataError(
            f"weights must be non-negative; {int(np.count_nonzero(w < 0.0))} of {n} "
            "are negative."
        )
    mean = w.mean()
    if not mean > 0.0:
        raise DataError(
            "weights are all zero; at least one row needs a positive weight."
        )
    return w / mean


def _require_both_groups(d: np.ndarray, w: np.ndarray) -> None:
    n_treated = int(np.count_nonzero((d == 1.0) & (w > 0.0)))
    n_control = int(np.count_nonzero((d == 0.0) & (w > 0.0)))
    if n_treated == 0:
        raise IdentificationError(
            "No treated units (with positive weight): the ATT is not defined. "
            "Check the treated indicator and the weights."
        )
    if n_control == 0:
        raise IdentificationError(
            "No control units (with positive weight): there is no comparison "
            "group. Check the treated indicator and the weights, or choose another "
            "comparison group."
        )


def _result(
    att: float, influence: np.ndarray, n_trimmed: int, ps_max: float
) -> TwoByTwo:
    return TwoByTwo(
        att=float(att),
        influence=np.ascontiguousarray(influence, dtype=np.float64),
        n_trimmed=int(n_trimmed),
        pscore_max_control=float(ps_max),
    )
