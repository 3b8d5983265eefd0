r"""Small-sample cluster-robust inference: CR2, CR3, Satterthwaite and HTZ (numpy only).

Weighted least squares :math:`\hat\beta = (X'WX)^{-1}X'Wy` with residuals
:math:`e = y - X\hat\beta`, ``G`` clusters and a cluster-robust covariance of the form

.. math::

    V = M\Big(\sum_g X_g' W_g A_g e_g e_g' A_g' W_g X_g\Big)M, \qquad M = (X'WX)^{-1},

where :math:`A_g` is the adjustment of cluster :math:`g` (:math:`A_g = I` is CR0).
The conventions are those of R ``clubSandwich`` 0.6.0 (Pustejovsky & Tipton 2018):
CR2 chooses :math:`A_g` so that :math:`V` is exactly unbiased under a working model
(Bell & McCaffrey 2002), CR3 is the leave-one-cluster-out jackknife without centring
or a :math:`(G-1)/G` factor, tests of one contrast use Satterthwaite degrees of
freedom, tests of ``q`` contrasts the approximate Hotelling :math:`T^2` (HTZ).

The second half of the module carries the same corrections over to estimators known
through their influence functions (Callaway-Sant'Anna aggregates): see
:func:`influence_cr_vcov`.

All work is done cluster by cluster (blocks of size :math:`n_g`); no
:math:`n\times n` matrix is ever formed. CR2 needs the pseudo-inverse square root
of one :math:`n_g\times n_g` block per cluster. When the working variance is
constant within the cluster (the default identity always is) that block is
:math:`\theta I` plus a matrix of rank :math:`r_g \le 2(p + K_g)` (:math:`K_g`
absorbed effects in the cluster), and an :math:`r_g\times r_g` eigen-decomposition
suffices: :math:`O(\sum_g n_gr_g^2)`, a few seconds for 450,000 rows, 10
regressors and 101 clusters. Otherwise the dense :math:`O(\sum_g n_g^3)` path is
used. CR3 costs :math:`O(np^2)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import sparse, stats

from tne_eval._validation import check_choice
from tne_eval.errors import IdentificationError, InferenceError, SpecError
from tne_eval.inference._arrays import (
    as_float_matrix,
    as_float_vector,
    check_cluster_codes,
    check_contrast,
    cluster_slices,
)

__all__ = [
    "HTZTest",
    "cr2_vcov",
    "cr3_vcov",
    "diagonal_cr_vcov",
    "diagonal_imbens_kolesar_df",
    "diagonal_satterthwaite_df",
    "group_mean_hessian",
    "htz_test",
    "imbens_kolesar_df",
    "influence_cr_vcov",
    "influence_htz_test",
    "influence_satterthwaite_df",
    "satterthwaite_df",
]

#: Eigenvalues of the CR2 block at or below this are treated as zero (pseudo-inverse
#: square root), as ``clubSandwich:::matrix_power`` (``tol = -12``); weights and the
#: working variance are scaled to mean one first, as clubSandwich scales weights.
EIG_TOL = 1e-12
#: Relative size below which the absorbed-effect orthogonality checks pass.
ORTHOGONALITY_TOL = 1e-8


# =============================================================================
# Regression: preparation shared by CR2, CR3 and the degrees of freedom
# =============================================================================
@dataclass
class _Design:
    x: np.ndarray  # (n, p), rows sorted by cluster
    e: np.ndarray  # (n,)
    w: np.ndarray  # (n,), scaled to mean one
    bounds: np.ndarray  # (G + 1,)
    fe: np.ndarray | None  # (n,) absorbed-effect codes, sorted like x
    m: np.ndarray  # (X'WX)^{-1} with the scaled weights
    n_clusters: int
    theta: np.ndarray  # (n,) diagonal working variance, scaled to mean one

    def block(self, g: int) -> slice:
        return slice(int(self.bounds[g]), int(self.bounds[g + 1]))


def _prepare(
    x: object,
    resid: object,
    weights: object,
    cluster: object,
    absorbed: object,
    target: object = None,
) -> _Design:
    x = as_float_matrix(x, "X")
    n = x.shape[0]
    e = as_float_vector(resid, "resid", n=n)
    w = (
        np.ones(n)
        if weights is None
        else as_float_vector(weights, "weights", n=n, positive=True)
    )
    codes, n_clusters = check_cluster_codes(cluster, n)
    w = w / w.mean()
    fe = None
    if absorbed is not None:
        fe = _check_absorbed(absorbed, codes, x, e, w)
    order, bounds = cluster_slices(codes, n_clusters)
    if target is None:
        theta = np.ones(n)
    else:
        theta = as_float_vector(target, "target", n=n, positive=True)
        theta = theta / theta.mean()
    xtwx = x.T @ (w[:, None] * x)
    evals = np.linalg.eigvalsh(xtwx)
    if evals[0] <= 1e-12 * max(evals[-1], 1.0):
        raise IdentificationError(
            f"X'WX is singular (smallest eigenvalue {evals[0]:.3g}); drop collinear "
            "columns of X (or columns that the absorbed effects already span)."
        )
    return _Design(
        x=x[order],
        e=e[order],
        w=w[order],
        bounds=bounds,
        fe=None if fe is None else fe[order],
        m=np.linalg.inv(xtwx),
        n_clusters=n_clusters,
        theta=theta[order],
    )


def _check_absorbed(
    absorbed: object, codes: np.ndarray, x: np.ndarray, e: np.ndarray, w: np.ndarray
) -> np.ndarray:
    fe = np.asarray(absorbed)
    if (
        fe.ndim != 1
        or fe.shape[0] != x.shape[0]
        or not np.issubdtype(fe.dtype, np.integer)
    ):
        raise SpecError(
            f"absorbed must be a 1-d integer array of length {x.shape[0]} (the code of "
            "the absorbed fixed effect of each row, e.g. the unit)."
        )
    _, fe = np.unique(fe, return_inverse=True)
    n_fe = int(fe.max()) + 1
    lo = np.full(n_fe, np.iinfo(np.int64).max)
    hi = np.full(n_fe, -1)
    np.minimum.at(lo, fe, codes)
    np.maximum.at(hi, fe, codes)
    straddle = int(np.sum(lo != hi))
    if straddle:
        raise InferenceError(
            f"{straddle} of {n_fe} absorbed fixed effects span several clusters. Only "
            "effects nested in the clusters (e.g. unit effects with clusters at or "
            "above the unit) may be absorbed for CR2/CR3; put the others (e.g. period "
            "effects) in X as explicit dummy columns, demeaned within the nested "
            "effects."
        )
    scale = np.bincount(fe, weights=w * np.abs(e), minlength=n_fe).max() + 1e-300
    if (
        np.abs(np.bincount(fe, weights=w * e, minlength=n_fe)).max()
        > ORTHOGONALITY_TOL * scale
    ):
        raise InferenceError(
            "resid do not sum to zero (with weights) within the absorbed fixed effects; "
            "pass the residuals of the model that includes those effects."
        )
    for j in range(x.shape[1]):
        scale = (
            np.bincount(fe, weights=w * np.abs(x[:, j]), minlength=n_fe).max() + 1e-300
        )
        sums = np.bincount(fe, weights=w * x[:, j], minlength=n_fe)
        if np.abs(sums).max() > ORTHOGONALITY_TOL * scale:
            raise InferenceError(
                f"Column {j} of X is not demeaned (with the weights) within the "
                "absorbed fixed effects; pass the within-transformed design "
                "x - weighted mean of x by absorbed effect."
            )
    return fe


def _inv_sqrt_psd(mat: np.ndarray) -> np.ndarray:
    """Symmetric pseudo-inverse square root (eigenvalues <= EIG_TOL dropped)."""
    vals, vecs = np.linalg.eigh((mat + mat.T) / 2)
    keep = vals > EIG_TOL
    scaled = vecs[:, keep] / np.sqrt(vals[keep])
    return scaled @ vecs[:, keep].T


def _local_dummies(fe_g: np.ndarray, w_g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _, loc = np.unique(fe_g, return_inverse=True)
    d = np.zeros((fe_g.shape[0], int(loc.max()) + 1))
    d[np.arange(fe_g.shape[0]), loc] = 1.0
    return d, 1.0 / (d.T @ w_g)  # dummies, Lambda_g = (D_g'W_g D_g)^{-1} (diagonal)


#: Clusters whose low-rank basis has at most this share of their rows use the
#: low-rank CR2 (when the working variance is constant within the cluster).
LOWRANK_MAX_SHARE = 0.5


def _adjustment(xg, wg, tg, dg, lam, m, omega_t):
    r"""Return ``z -> A_g z`` for the CR2 adjustment of one cluster.

    :math:`B_{gg} = \Theta_g - H_{gg}\Theta_g - \Theta_gH_{gg}' + [H\Theta H']_{gg}`
    with the hat matrix of ``[X, D]``. When :math:`\Theta_g = \theta I` it is
    :math:`\theta I + LSL'` with :math:`L = [X_g, W_gX_g, D_g, W_gD_g]`, and the
    pseudo-inverse square root only needs the eigen-decomposition of an
    ``r x r`` matrix, ``r = rank(L)``: :math:`O(n_g r^2)` instead of
    :math:`O(n_g^3)`. Otherwise the dense :math:`n_g\times n_g` path is used.
    """
    n_g, p = xg.shape
    w2t = wg * wg * tg
    k = 0 if dg is None else dg.shape[1]
    theta0 = float(tg[0])
    constant = np.ptp(tg) <= 1e-12 * theta0
    if constant and 2 * (p + k) <= LOWRANK_MAX_SHARE * n_g:
        cols = [xg, wg[:, None] * xg]
        s_mat = np.zeros((2 * (p + k), 2 * (p + k)))
        a, b = slice(0, p), slice(p, 2 * p)
        s_mat[a, a] = m @ omega_t @ m
        s_mat[a, b] = s_mat[b, a] = -theta0 * m
        if dg is not None:
            c, dd = slice(2 * p, 2 * p + k), slice(2 * p + k, 2 * (p + k))
            cols += [dg, wg[:, None] * dg]
            om_xd = xg.T @ (dg * w2t[:, None])
            s_mat[a, c] = m @ om_xd * lam[None, :]
            s_mat[c, a] = s_mat[a, c].T
            s_mat[c, c] = np.diag(lam**2 * (dg.T @ w2t))
            s_mat[c, dd] = s_mat[dd, c] = -theta0 * np.diag(lam)
        q, r = _range_basis(np.hstack(cols))
        e_mat = theta0**2 * np.eye(q.shape[1]) + theta0 * (r @ s_mat @ r.T)
        vals, vecs = np.linalg.eigh((e_mat + e_mat.T) / 2)
        fac = np.where(
            vals > EIG_TOL, 1.0 / np.sqrt(np.where(vals > EIG_TOL, vals, 1.0)), 0.0
        )
        inner = theta0 * (vecs * fac) @ vecs.T
        outside = 1.0 if theta0**2 > EIG_TOL else 0.0

        def apply_lowrank(z: np.ndarray) -> np.ndarray:
            qz = q.T @ z
            return outside * (z - q @ qz) + q @ (inner @ qz)

        return apply_lowrank
    xm = xg @ m
    h = xm @ (wg[:, None] * xg).T  # X_g M X_g' W_g
    hth = xm @ omega_t @ xm.T
    if dg is not None:
        h += (dg * lam) @ (dg * wg[:, None]).T
        om_xd = xg.T @ (dg * w2t[:, None])  # (p, K_g)
        cross = xm @ om_xd @ (dg * lam).T
        om_dd = dg.T @ w2t
        hth += cross + cross.T + (dg * (lam**2 * om_dd)) @ dg.T
    b_mat = np.diag(tg) - h * tg[None, :] - tg[:, None] * h.T + hth
    st = np.sqrt(tg)
    a_mat = st[:, None] * _inv_sqrt_psd(st[:, None] * b_mat * st[None, :]) * st[None, :]
    return lambda z: a_mat @ z


def _range_basis(ell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal ``Q`` spanning the range of ``ell`` and ``R = Q'ell``.

    Through the small Gram matrix (tall-skinny LAPACK QR/SVD is slow under thread
    contention), with one re-orthonormalization pass. Directions with singular value
    below ``1e-7`` of the largest (exact duplicates such as ``W_gX_g = wX_g``) are
    dropped; any ``Q`` whose span contains the range will do, since directions
    outside it get the complement's eigenvalue.
    """
    vals, vecs = np.linalg.eigh(ell.T @ ell)
    keep = vals > 1e-14 * max(vals[-1], 1e-300)
    q = ell @ (vecs[:, keep] / np.sqrt(vals[keep]))
    vals, vecs = np.linalg.eigh(q.T @ q)  # ~ I; removes the rounding of pass one
    q = q @ (vecs / np.sqrt(vals))
    return q, q.T @ ell


@dataclass
class _Pass:
    comps: np.ndarray  # (G, p): X_g' W_g A_g e_g
    # pieces of the P array (None without contrasts)
    dd: np.ndarray | None = None  # (G, q, q)
    f: np.ndarray | None = None  # (G, p, q)
    kk: np.ndarray | None = None  # (G, p, q)
    omega: np.ndarray | None = None  # (p, p)


def _cr2_pass(
    d: _Design,
    theta: np.ndarray,
    contrast: np.ndarray | None = None,
    df_working: tuple[float, float] | None = None,
) -> _Pass:
    r"""One pass over the clusters: CR2 components and, with contrasts, the P array.

    ``theta`` is the diagonal working variance of the adjustment (sorted, mean one);
    ``df_working`` = ``(sigma, rho)`` replaces it, for the degrees of freedom only,
    by the block-equicorrelated (Moulton) model ``sigma I + rho J`` of Imbens-Kolesár.
    """
    p = d.x.shape[1]
    G = d.n_clusters
    m = d.m
    w2t = d.w**2 * theta
    omega_t = d.x.T @ (w2t[:, None] * d.x)  # sum_g X_g'W_g Theta_g W_g X_g
    comps = np.empty((G, p))
    out = _Pass(comps)
    if contrast is not None:
        q = contrast.shape[0]
        out.dd = np.empty((G, q, q))
        out.f = np.empty((G, p, q))
        out.kk = np.empty((G, p, q))
        omega_df = np.zeros((p, p))
        mc = m @ contrast.T  # (p, q)
    for g in range(G):
        sl = d.block(g)
        xg, wg, eg, tg = d.x[sl], d.w[sl], d.e[sl], theta[sl]
        dg = lam = None
        if d.fe is not None:
            dg, lam = _local_dummies(d.fe[sl], wg)
        adjust = _adjustment(xg, wg, tg, dg, lam, m, omega_t)
        comps[g] = xg.T @ (wg * adjust(eg[:, None])[:, 0])
        if contrast is None:
            continue
        qg = adjust(wg[:, None] * (xg @ mc))  # (n_g, q) = A_g W_g X_g M C'
        if df_working is None:
            tq = tg[:, None] * qg
            tw = wg * wg * tg
            omega_df += xg.T @ (tw[:, None] * xg)
        else:
            sig, rho = df_working
            tq = sig * qg + rho * qg.sum(axis=0)[None, :]
            xw = wg[:, None] * xg
            sxw = xw.sum(axis=0)
            omega_df += sig * (xw.T @ xw) + rho * np.outer(sxw, sxw)
        dd = qg.T @ tq
        fq = xg.T @ qg
        kq = xg.T @ (wg[:, None] * tq)
        if d.fe is not None:
            fd = dg.T @ qg
            kd = dg.T @ (wg[:, None] * tq)
            wd = dg * wg[:, None]
            if df_working is None:
                th_wd = tg[:, None] * wd
            else:
                th_wd = sig * wd + rho * wd.sum(axis=0)[None, :]
            om_xd_df = (wg[:, None] * xg).T @ th_wd
            om_dd_df = wd.T @ th_wd
            lf = lam[:, None] * fd
            kq = kq - om_xd_df @ lf
            dd = dd - fd.T @ (lam[:, None] * kd) - kd.T @ lf + lf.T @ om_dd_df @ lf
        out.dd[g], out.f[g], out.kk[g] = dd, fq, kq
    if contrast is not None:
        out.omega = m @ omega_df @ m
    return out


def _p_array(pss: _Pass, m: np.ndarray) -> np.ndarray:
    r"""Assemble :math:`P^{st}_{gh}` (shape ``(q, q, G, G)``) from the pass pieces."""
    f, kk, dd = pss.f, pss.kk, pss.dd
    mf = np.einsum("pr,grt->gpt", m, f)  # M f_h
    p_arr = -np.einsum("gps,hpt->stgh", kk, mf)
    p_arr = p_arr + p_arr.transpose(1, 0, 3, 2)
    p_arr += np.einsum("gps,pr,hrt->stgh", f, pss.omega, f)
    idx = np.arange(f.shape[0])
    p_arr[:, :, idx, idx] += dd.transpose(1, 2, 0)
    return p_arr


def _df_from_p(p_arr: np.ndarray) -> np.ndarray:
    q = p_arr.shape[0]
    out = np.empty(q)
    for s in range(q):
        pss = p_arr[s, s]
        out[s] = np.trace(pss) ** 2 / np.sum(pss**2)
    return out


# =============================================================================
# Regression: public functions
# =============================================================================
def cr2_vcov(
    X: np.ndarray,
    resid: np.ndarray,
    *,
    cluster: np.ndarray,
    weights: np.ndarray | None = None,
    absorbed: np.ndarray | None = None,
    target: np.ndarray | None = None,
) -> np.ndarray:
    r"""Bell-McCaffrey (CR2) cluster-robust covariance of WLS coefficients.

    Parameters
    ----------
    X : ndarray, shape (n, p)
        Design. Fixed effects nested in the clusters may be absorbed (``X``
        within-transformed, with the weights, by those effects; pass their codes in
        ``absorbed``); any other fixed effects (period effects when clustering by
        department) must be columns of ``X``.
    resid : ndarray, shape (n,)
        WLS residuals :math:`e = y - X\hat\beta` of the full model.
    cluster : ndarray of int, shape (n,)
        Cluster codes ``0..G-1``.
    weights : ndarray, shape (n,), optional
        WLS weights (default: OLS). Their scale does not matter.
    absorbed : ndarray of int, shape (n,), optional
        Codes of absorbed fixed effects, each nested in one cluster. Their dummies
        enter the hat matrix of every cluster exactly (see Notes).
    target : ndarray, shape (n,), optional
        Diagonal working variance :math:`\Theta` of the errors. Default: identity,
        as ``clubSandwich::vcovCR.lm`` for weighted and unweighted ``lm`` fits;
        ``target=1/weights`` is clubSandwich's ``inverse_var = TRUE``.

    Returns
    -------
    ndarray, shape (p, p)

    Raises
    ------
    InferenceError
        Fewer than two clusters; absorbed effects not nested in the clusters; ``X``
        or ``resid`` not within-transformed by the absorbed effects.
    IdentificationError
        ``X'WX`` singular.

    Notes
    -----
    With :math:`H = X M X'W` the hat matrix and :math:`B = (I-H)\Theta(I-H)'`
    the working covariance of the residuals, the CR2 adjustment of cluster
    :math:`g` is (clubSandwich's ``CR2``)

    .. math::

        A_g = \Theta_g^{1/2}\big(\Theta_g^{1/2} B_{gg}\Theta_g^{1/2}\big)^{+1/2}
        \Theta_g^{1/2},\qquad
        B_{gg} = \Theta_g - H_{gg}\Theta_g - \Theta_g H_{gg}' + X_g M \Omega M X_g',

    with :math:`\Omega = \sum_h X_h'W_h\Theta_hW_hX_h` and :math:`(\cdot)^{+1/2}`
    the symmetric pseudo-inverse square root (eigenvalues at or below ``EIG_TOL``
    dropped). Then :math:`A_g B_{gg} A_g = \Theta_g`, so
    :math:`E[V] = M(\sum_g X_g'W_g\Theta_gW_gX_g)M`, the true covariance, whenever
    the working model is right. For OLS with :math:`\Theta = I` this is
    :math:`A_g = (I - H_{gg})^{-1/2}`.

    *Absorbed fixed effects.* Let :math:`D` be the dummies of effects nested in the
    clusters and :math:`X` be within-transformed (:math:`D'WX = 0`). The hat matrix
    of the full model :math:`[X, D]` is :math:`XMX'W + D(D'WD)^{-1}D'W`; because
    each effect lives in one cluster, the second term is block-diagonal and its
    cluster-``g`` block involves only the effects of cluster ``g``. This function
    adds that block (and its share of :math:`\Omega`) cluster by cluster, so the
    result equals the explicit-dummies computation exactly, for any working model
    (checked against an explicit :math:`n\times n` computation in the tests). The
    full-model :math:`B_{gg}` is then singular (its null space holds the dummies of
    cluster ``g``), which is why the pseudo-inverse square root is used, as in
    clubSandwich. For :math:`\Theta = W^{-1}` the dummies could be dropped
    altogether (Pustejovsky & Tipton 2018, Theorem 2); for other working models
    they cannot. Fixed effects that cut across clusters (period effects with
    department clusters) change every :math:`H_{gh}` and cannot be absorbed this
    way: they must be columns of ``X``.

    Validated against an explicit :math:`n\times n` hat-matrix computation with
    explicit dummies (``tests/inference/test_small_sample.py``, 1e-10) and against
    ``clubSandwich`` numbers printed in its documentation
    (``tests/reference/cr2/PROVENANCE.json``).

    References
    ----------
    Bell, R. M. and McCaffrey, D. F. (2002). Bias reduction in standard errors for
    linear regression with multi-stage samples. *Survey Methodology* 28(2), 169-181.

    Pustejovsky, J. E. and Tipton, E. (2018). Small-sample methods for
    cluster-robust variance estimation and hypothesis testing in fixed effects
    models. *Journal of Business & Economic Statistics* 36(4), 672-683.
    https://doi.org/10.1080/07350015.2016.1247004

    Examples
    --------
    Eight clusters, two of them treated:

    >>> import numpy as np
    >>> from tne_eval.inference.small_sample import cr2_vcov, satterthwaite_df
    >>> rng = np.random.default_rng(0)
    >>> cluster = np.repeat(np.arange(8), 5)
    >>> X = np.column_stack([np.ones(40), (cluster < 2).astype(float)])
    >>> y = 1.0 + rng.normal(size=8)[cluster] + rng.normal(size=40)
    >>> resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    >>> print(round(float(np.sqrt(cr2_vcov(X, resid, cluster=cluster)[1, 1])), 4))
    0.4542
    >>> print(satterthwaite_df(X, resid, cluster=cluster, contrast=[0.0, 1.0]).round(3))
    [1.739]

    With two treated clusters the t-test has under two degrees of freedom, not
    ``G - 1 = 7``.
    """
    d = _prepare(X, resid, weights, cluster, absorbed, target)
    comps = _cr2_pass(d, d.theta).comps
    return _sandwich(d, comps)


def _sandwich(d: _Design, comps: np.ndarray) -> np.ndarray:
    # d.m uses weights scaled to mean one and comps carry one factor of them each
    v = d.m @ (comps.T @ comps) @ d.m
    return (v + v.T) / 2


def cr3_vcov(
    X: np.ndarray,
    resid: np.ndarray,
    *,
    cluster: np.ndarray,
    weights: np.ndarray | None = None,
    absorbed: np.ndarray | None = None,
) -> np.ndarray:
    r"""Leave-one-cluster-out jackknife (CR3) covariance of WLS coefficients.

    Parameters
    ----------
    X, resid, cluster, weights, absorbed
        As in :func:`cr2_vcov`.

    Returns
    -------
    ndarray, shape (p, p)
        :math:`\sum_g (\hat\beta - \hat\beta_{(-g)})(\hat\beta - \hat\beta_{(-g)})'`.

    Raises
    ------
    InferenceError
        Fewer than two clusters, or a cluster whose removal makes the design
        singular (e.g. the only treated cluster): its jackknife estimate does not
        exist.

    Notes
    -----
    By the Sherman-Morrison-Woodbury identity the leave-cluster-out estimate is
    exactly

    .. math::

        \hat\beta - \hat\beta_{(-g)} = M X_g'W_g(I - H_{gg})^{-1}e_g
        = M\,(I - X_g'W_gX_gM)^{-1}X_g'W_ge_g,

    the second form costing :math:`O(n_gp^2)` instead of :math:`O(n_g^3)`. This is
    clubSandwich's CR3 (no centring at the mean of the jackknife estimates, no
    :math:`(G-1)/G` factor). With fixed effects nested in the clusters absorbed,
    the formula on the within-transformed design is the exact jackknife of the full
    model: dropping a cluster drops its own effects and leaves the within
    transformation of the other clusters unchanged. Non-nested effects must be
    columns of ``X``. Validated against an explicit refit loop with explicit
    dummies (1e-10).

    References
    ----------
    Bell, R. M. and McCaffrey, D. F. (2002), *Survey Methodology* 28(2), 169-181.

    MacKinnon, J. G., Nielsen, M. Ø. and Webb, M. D. (2023). Fast and reliable
    jackknife and bootstrap methods for cluster-robust inference. *Journal of
    Applied Econometrics* 38(5), 671-694. https://doi.org/10.1002/jae.2969
    """
    d = _prepare(X, resid, weights, cluster, absorbed)
    return _sandwich(d, _cr3_comps(d))


def _cr3_comps(d: _Design) -> np.ndarray:
    p = d.x.shape[1]
    comps = np.empty((d.n_clusters, p))
    eye = np.eye(p)
    for g in range(d.n_clusters):
        sl = d.block(g)
        xw = d.x[sl] * d.w[sl, None]
        lev = xw.T @ d.x[sl] @ d.m  # X_g'W_gX_g M
        rhs = xw.T @ d.e[sl]
        _check_leverage(np.linalg.eigvals(lev).real.max(), g)
        comps[g] = np.linalg.solve(eye - lev, rhs)
    return comps


def _check_leverage(top: float, g: int) -> None:
    if top > 1 - 1e-10:
        raise InferenceError(
            f"Cluster {g} carries all the information on some coefficient (leverage "
            f"{top:.12g}): without it the model is not identified, so its jackknife "
            "(CR3) estimate does not exist. With a single treated cluster use "
            "randomization inference (Conley-Taber, Ferman-Pinto) instead."
        )


def satterthwaite_df(
    X: np.ndarray,
    resid: np.ndarray,
    *,
    cluster: np.ndarray,
    contrast: np.ndarray,
    weights: np.ndarray | None = None,
    absorbed: np.ndarray | None = None,
    target: np.ndarray | None = None,
) -> np.ndarray:
    r"""Satterthwaite degrees of freedom of CR2 t-tests of linear contrasts.

    ``clubSandwich::coef_test(fit, vcov = "CR2", test = "Satterthwaite")``.

    Parameters
    ----------
    X, resid, cluster, weights, absorbed, target
        As in :func:`cr2_vcov`.
    contrast : ndarray, shape (q, p) or (p,)
        Each row :math:`c` defines a test of :math:`c'\beta`.

    Returns
    -------
    ndarray, shape (q,)
        Degrees of freedom of each row's t-test (use
        :math:`t = (c'\hat\beta - c_0)/\sqrt{c'V^{CR2}c}` against :math:`t_\nu`).

    Notes
    -----
    Under the working model with normal errors,
    :math:`c'V^{CR2}c = \sum_g (q_g'e_g)^2` with
    :math:`q_g = A_gW_gX_gMc` is a quadratic form in normal variables. Matching its
    first two moments with a scaled :math:`\chi^2_\nu` gives

    .. math::

        \nu = \frac{\big(\sum_g P_{gg}\big)^2}{\sum_{g,h}P_{gh}^2}, \qquad
        P_{gh} = q_g' B_{gh} q_h,\quad B = (I-H)\Theta(I-H)'.

    :math:`P` (``G x G``) is assembled from per-cluster ``p``-vectors:
    :math:`P_{gh} = \delta_{gh}q_g'\Theta_gq_g - f_g'Mk_h - k_g'Mf_h +
    f_g'M\Omega Mf_h` with :math:`f_g = X_g'q_g`, :math:`k_g = X_g'W_g\Theta_gq_g`
    (plus the local terms of absorbed nested effects), in :math:`O(G^2p)`.
    Validated against the explicit :math:`n\times n` computation (1e-10) and
    clubSandwich's printed output (``tests/reference/cr2``).

    References
    ----------
    Pustejovsky, J. E. and Tipton, E. (2018), *JBES* 36(4), 672-683.
    https://doi.org/10.1080/07350015.2016.1247004
    """
    d = _prepare(X, resid, weights, cluster, absorbed, target)
    c = check_contrast(contrast, d.x.shape[1])
    pss = _cr2_pass(d, d.theta, c)
    return _df_from_p(_p_array(pss, d.m))


def imbens_kolesar_df(
    X: np.ndarray,
    resid: np.ndarray,
    *,
    cluster: np.ndarray,
    contrast: np.ndarray,
    weights: np.ndarray | None = None,
    absorbed: np.ndarray | None = None,
    rho_nonnegative: bool = False,
) -> np.ndarray:
    r"""Imbens-Kolesár (2016) degrees of freedom of CR2 t-tests of contrasts.

    As R ``dfadjust::dfadjustSE(fit, clustervar, ell, IK = TRUE)``.

    Parameters
    ----------
    X, resid, cluster, weights, absorbed
        As in :func:`cr2_vcov` (the CR2 adjustment uses the identity working model).
    contrast : ndarray, shape (q, p) or (p,)
    rho_nonnegative : bool, default False
        Clip the estimated within-cluster covariance at zero (dfadjust's ``rho0``).

    Returns
    -------
    ndarray, shape (q,)

    Notes
    -----
    The Satterthwaite formula of :func:`satterthwaite_df` with the working model
    of the *degrees of freedom* replaced by Moulton's random-effects model,
    :math:`\Omega_g = \sigma^2 I + \rho J` within clusters, with (dfadjust)

    .. math::

        \hat\rho = \frac{\sum_g(\sum_{i\in g}e_i)^2 - \sum_i e_i^2}
                        {\sum_g n_g^2 - n},\qquad
        \hat\sigma^2 = \max\Big(\frac1n\sum_i e_i^2 - \hat\rho,\ 0\Big).

    IK define it for OLS; with weights the same error model is used for
    :math:`\varepsilon` (residuals unweighted), which reduces to theirs when the
    weights are constant. Validated against the explicit eigenvalue formula
    :math:`(\sum\lambda_i)^2/\sum\lambda_i^2`, :math:`\lambda` the eigenvalues of
    :math:`G'\Omega G` with :math:`G = [(I-H)_g'A_gW_gX_gMc]_g` (1e-10).

    References
    ----------
    Imbens, G. W. and Kolesár, M. (2016). Robust standard errors in small samples:
    some practical advice. *Review of Economics and Statistics* 98(4), 701-712.
    https://doi.org/10.1162/REST_a_00552
    """
    d = _prepare(X, resid, weights, cluster, absorbed)
    c = check_contrast(contrast, d.x.shape[1])
    sig, rho = _moulton(d)
    if rho_nonnegative:
        rho = max(rho, 0.0)
        sig = max(float(np.mean(d.e**2)) - rho, 0.0)
    pss = _cr2_pass(d, np.ones(d.x.shape[0]), c, df_working=(sig, rho))
    return _df_from_p(_p_array(pss, d.m))


def _moulton(d: _Design) -> tuple[float, float]:
    n = d.e.shape[0]
    sizes = np.diff(d.bounds)
    sums = np.add.reduceat(d.e, d.bounds[:-1])
    ssr = float(d.e @ d.e)
    den = float(np.sum(sizes.astype(float) ** 2) - n)
    rho = (float(sums @ sums) - ssr) / den if den > 0 else 0.0
    return max(ssr / n - rho, 0.0), rho


@dataclass(frozen=True)
class HTZTest:
    r"""Approximate Hotelling :math:`T^2` test of ``q`` linear restrictions.

    Attributes
    ----------
    statistic : float
        The scaled F statistic :math:`\delta Q/q`.
    wald : float
        The cluster-robust Wald statistic :math:`Q`.
    delta : float
        Scale factor :math:`(\nu - q + 1)/\nu`.
    df_num, df_denom : float
        Degrees of freedom of the reference F distribution (``q`` and
        :math:`\nu - q + 1`).
    p_value : float
    """

    statistic: float
    wald: float
    delta: float
    df_num: float
    df_denom: float
    p_value: float


def _check_null(null: object, q: int) -> np.ndarray:
    c0 = as_float_vector(np.atleast_1d(null), "null")
    if c0.shape[0] not in (1, q):
        raise SpecError(
            f"null must be a number or one value per contrast row ({q}; got "
            f"{c0.shape[0]})."
        )
    return np.broadcast_to(c0, (q,))


def _htz(p_arr: np.ndarray, diff: np.ndarray, cov: np.ndarray) -> HTZTest:
    q = p_arr.shape[0]
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError as err:
        raise InferenceError(
            "The covariance of the restrictions is not positive definite; drop "
            "redundant rows of the contrast."
        ) from err
    z = np.linalg.solve(chol, diff)
    wald = float(z @ z)
    omega = np.einsum("stgg->st", p_arr)
    om_is = _inv_sqrt_psd(omega / np.abs(omega).max()) / np.sqrt(np.abs(omega).max())
    b = np.einsum("as,stgh,tb->abgh", om_is, p_arr, om_is)
    var = np.einsum("stgh,tsgh->st", b, b) + np.einsum("ssgh,ttgh->st", b, b)
    nu = q * (q + 1) / var.sum()
    delta = max((nu - q + 1) / nu, 0.0)
    df2 = nu - q + 1
    stat = delta * wald / q
    pval = float(stats.f.sf(stat, q, df2)) if df2 > 0 else float("nan")
    return HTZTest(float(stat), wald, float(delta), float(q), float(df2), pval)


def htz_test(
    X: np.ndarray,
    resid: np.ndarray,
    coef: np.ndarray,
    *,
    cluster: np.ndarray,
    contrast: np.ndarray,
    null: np.ndarray | float = 0.0,
    weights: np.ndarray | None = None,
    absorbed: np.ndarray | None = None,
    target: np.ndarray | None = None,
) -> HTZTest:
    r"""Approximate Hotelling :math:`T^2` (HTZ) test of :math:`C\beta = c_0` with CR2.

    ``clubSandwich::Wald_test(fit, constraints = C, vcov = "CR2", test = "HTZ")``.

    Parameters
    ----------
    X, resid, cluster, weights, absorbed, target
        As in :func:`cr2_vcov`.
    coef : ndarray, shape (p,)
        :math:`\hat\beta`.
    contrast : ndarray, shape (q, p)
        Restriction matrix :math:`C` (rows linearly independent).
    null : float or ndarray, shape (q,), default 0
        :math:`c_0`.

    Returns
    -------
    HTZTest

    Notes
    -----
    With :math:`Q = (C\hat\beta - c_0)'(CV^{CR2}C')^{-1}(C\hat\beta - c_0)`,
    :math:`Q` is approximated by Hotelling's :math:`T^2` with :math:`\nu` degrees of
    freedom, i.e. :math:`\frac{\nu-q+1}{\nu q}Q \sim F(q, \nu-q+1)`. :math:`\nu` is
    chosen (Pustejovsky & Tipton 2018, "HTZ") by matching the total variance of
    :math:`\Omega^{-1/2}CV^{CR2}C'\Omega^{-1/2}`, :math:`\Omega = E[CV^{CR2}C']`,
    with that of a Wishart: :math:`\nu = q(q+1)/\sum_{s,t}\mathrm{Var}_{st}`,
    :math:`\mathrm{Var}_{st} = \sum_{g,h}(b^{st}_{gh}b^{ts}_{gh} +
    b^{ss}_{gh}b^{tt}_{gh})` with :math:`b = \Omega^{-1/2}P\,\Omega^{-1/2}` and
    :math:`P^{st}_{gh} = q^{s\prime}_gB_{gh}q^t_h`. For ``q = 1`` it is the
    Satterthwaite t-test. Validated against the explicit :math:`n\times n`
    computation (1e-10).

    References
    ----------
    Pustejovsky, J. E. and Tipton, E. (2018), *JBES* 36(4), 672-683.
    https://doi.org/10.1080/07350015.2016.1247004

    Tipton, E. and Pustejovsky, J. E. (2015). Small-sample adjustments for tests of
    moderators and model fit using robust variance estimation in meta-regression.
    *Journal of Educational and Behavioral Statistics* 40(6), 604-634.
    https://doi.org/10.3102/1076998615606099
    """
    d = _prepare(X, resid, weights, cluster, absorbed, target)
    p = d.x.shape[1]
    c = check_contrast(contrast, p)
    beta = as_float_vector(coef, "coef", n=p)
    c0 = _check_null(null, c.shape[0])
    pss = _cr2_pass(d, d.theta, c)
    cov = c @ _sandwich(d, pss.comps) @ c.T
    return _htz(_p_array(pss, d.m), c @ beta - c0, cov)


# =============================================================================
# Influence-function estimators
# =============================================================================
def _check_hessian(hessian: object, n_clusters: int, m: int) -> np.ndarray:
    h = np.asarray(hessian)
    if m == 1 and h.ndim == 1:
        h = h[:, None, None]
    if h.ndim != 3 or h.shape != (n_clusters, m, m):
        raise SpecError(
            f"hessian must have shape ({n_clusters}, {m}, {m}): one {m}x{m} "
            f"contribution per cluster (got shape {h.shape})."
        )
    h = as_float_matrix(h.reshape(n_clusters, m * m), "hessian").reshape(
        n_clusters, m, m
    )
    if not np.allclose(
        h, h.transpose(0, 2, 1), rtol=1e-10, atol=1e-12 * np.abs(h).max()
    ):
        raise SpecError("hessian blocks must be symmetric (H_g = H_g').")
    return (h + h.transpose(0, 2, 1)) / 2


@dataclass
class _IFParts:
    sums: np.ndarray  # (G, m) cluster sums of psi divided by n
    h_is: np.ndarray  # H^{-1/2}
    h_s: np.ndarray  # H^{1/2}
    s_vals: np.ndarray  # (G, m) eigenvalues of S_g = H^{-1/2} H_g H^{-1/2}
    s_vecs: np.ndarray  # (G, m, m)


def _if_parts(psi: object, cluster: object, hessian: object) -> _IFParts:
    psi = as_float_matrix(psi, "psi")
    n, m = psi.shape
    codes, n_clusters = check_cluster_codes(cluster, n)
    sums = np.stack(
        [np.bincount(codes, weights=psi[:, j], minlength=n_clusters) for j in range(m)],
        axis=1,
    )
    hg = _check_hessian(hessian, n_clusters, m)
    htot = hg.sum(axis=0)
    vals, vecs = np.linalg.eigh(htot)
    if vals[0] <= 1e-12 * max(vals[-1], 1e-300):
        raise IdentificationError(
            "The summed hessian contributions are singular; every parameter needs "
            "information from some cluster."
        )
    h_is = (vecs / np.sqrt(vals)) @ vecs.T
    h_s = (vecs * np.sqrt(vals)) @ vecs.T
    s = np.einsum("ab,gbc,cd->gad", h_is, hg, h_is)
    s_vals, s_vecs = np.linalg.eigh(s)
    if s_vals.min() < -1e-10:
        raise SpecError("hessian blocks must be positive semi-definite.")
    top = s_vals.max(axis=1)
    for g in np.flatnonzero(top > 1 - 1e-10):
        _check_leverage(float(top[g]), int(g))
    return _IFParts(sums / n, h_is, h_s, np.clip(s_vals, 0.0, None), s_vecs)


def _if_power(kind: str) -> float:
    return {"CR2": -0.5, "CR3": -1.0}[check_choice(kind, "kind", ("CR2", "CR3"))]


def influence_cr_vcov(
    psi: np.ndarray,
    cluster: np.ndarray,
    *,
    hessian: np.ndarray,
    kind: Literal["CR2", "CR3"] = "CR2",
) -> np.ndarray:
    r"""CR2- or CR3-type covariance of an estimator given by its influence function.

    Parameters
    ----------
    psi : ndarray, shape (n, m)
        Influence-function values of ``m`` parameters,
        :math:`\hat\theta - \theta \approx \frac1n\sum_i\psi_i` (the convention of
        :mod:`tne_eval.inference.influence`).
    cluster : ndarray of int, shape (n,)
        Cluster codes ``0..G-1``.
    hessian : ndarray, shape (G, m, m)
        Contribution :math:`H_g` of each cluster to the (minus) Jacobian of the
        estimating equations, symmetric positive semi-definite; only the
        *leverages* :math:`L_g = H^{-1}H_g`, :math:`H = \sum_g H_g`, are used, so
        any common scale will do. For weighted means of disjoint groups (the 2x2
        DiD comparisons) use :func:`group_mean_hessian`.
    kind : {"CR2", "CR3"}, default "CR2"

    Returns
    -------
    ndarray, shape (m, m)
        :math:`\sum_g T_g\bar s_g\bar s_g'T_g'` with :math:`\bar s_g =
        \frac1n\sum_{i\in g}\psi_i`, :math:`T_g = (I - L_g)^{-1/2}` (CR2) or
        :math:`(I-L_g)^{-1}` (CR3).

    Raises
    ------
    InferenceError
        Fewer than two clusters, or a cluster with leverage 1 on some parameter
        (a single treated cluster): no jackknife or CR2 adjustment exists.

    Notes
    -----
    *Model.* The parameters solve estimating equations
    :math:`\sum_g m_g(\theta) = 0` with cluster contributions :math:`m_g` and
    :math:`-\partial m_g/\partial\theta' = H_g`, so :math:`\bar s_g = H^{-1}m_g`.
    The ordinary cluster variance (CR0) is :math:`\sum_g\bar s_g\bar s_g'`.

    *CR3 (jackknife).* One Newton step from :math:`\hat\theta` for the equations
    without cluster ``g`` gives
    :math:`\hat\theta_{(-g)} - \hat\theta = -(H - H_g)^{-1}m_g = -(I - L_g)^{-1}\bar
    s_g`; the CR3-type variance is the sum of squares of these jackknife
    deviations. The plain linearization :math:`\hat\theta_{(-g)} \approx
    \hat\theta - \bar s_g` ignores that :math:`H` itself changes when a cluster is
    dropped; it reproduces CR0 and none of the small-sample correction, which is
    all in the leverage :math:`L_g`. For WLS the step is exact, so this equals the
    regression CR3 (:func:`cr3_vcov`) to rounding error.

    *CR2.* Under the working model in which cluster contributions are
    independent with :math:`\mathrm{Var}(m_g) \propto H_g` (homoskedasticity),
    the estimated contributions :math:`\bar s = (I - \mathcal L)z` have
    :math:`E[\bar s_g\bar s_g'] \propto (I - L_g)L_gH^{-1}`, and
    :math:`T_g = (I - L_g)^{-1/2}` (principal square root, computed as
    :math:`H^{-1/2}(I - S_g)^{-1/2}H^{1/2}` with the symmetric
    :math:`S_g = H^{-1/2}H_gH^{-1/2}`) makes each term unbiased. For OLS (and WLS
    with weights constant within clusters under the inverse-variance working model)
    :math:`X_g'(I - H_{gg})^{-1/2} = (I - X_g'X_gM)^{-1/2}X_g'`, so this equals
    the regression CR2 (:func:`cr2_vcov`) exactly; with weights varying within
    clusters and the identity working model it is the same idea at the cluster
    rather than the observation level.

    *Assumptions.* The estimator is (asymptotically) linear in the cluster
    contributions, and ``hessian`` is the Jacobian of the equations that define
    it. For aggregates of group-time ATTs this means the 2x2 comparisons'
    weighted means and the aggregation weights; the leverage of a treated cluster
    is then its share of its cohort, which is what the correction needs with few
    treated clusters. A common mistake would be to use each cluster's share of all
    units as its leverage: with 2 treated departments of 101 that is about 0.01
    instead of about 0.5, and the correction vanishes.

    Validated: OLS coefficients written as influence functions,
    :math:`\psi_i = n(X'WX)^{-1}x_iw_ie_i` with :math:`H_g = X_g'W_gX_g`,
    reproduce :func:`cr3_vcov` and (unweighted) :func:`cr2_vcov` to 1e-10; a seeded
    Monte Carlo with few treated clusters (slow test) shows the coverage gain
    over CR1.

    References
    ----------
    Bell, R. M. and McCaffrey, D. F. (2002), *Survey Methodology* 28(2), 169-181.

    Pustejovsky, J. E. and Tipton, E. (2018), *JBES* 36(4), 672-683.
    https://doi.org/10.1080/07350015.2016.1247004

    MacKinnon, J. G., Nielsen, M. Ø. and Webb, M. D. (2023), *Journal of Applied
    Econometrics* 38(5), 671-694. https://doi.org/10.1002/jae.2969
    """
    parts = _if_parts(psi, cluster, hessian)
    t_sums = _if_adjusted(parts, _if_power(kind))
    v = t_sums.T @ t_sums
    return (v + v.T) / 2


def _if_adjusted(parts: _IFParts, power: float) -> np.ndarray:
    # T_g s_g = H^{-1/2} U f(lambda) U' H^{1/2} s_g
    y = parts.sums @ parts.h_s  # rows: (H^{1/2} s_g)'
    y = np.einsum("gab,ga->gb", parts.s_vecs, y)  # U_g' H^{1/2} s_g
    y = y * (1.0 - parts.s_vals) ** power
    y = np.einsum("gab,gb->ga", parts.s_vecs, y)
    return y @ parts.h_is


def _if_p_array(parts: _IFParts, c: np.ndarray, power: float) -> np.ndarray:
    # b_g = (I - S_g)^{power} H^{-1/2} c ; P_gh = delta b_g'S_g b_g - (S_g b_g)'(S_h b_h)
    hc = parts.h_is @ c.T  # (m, q)
    u, lam = parts.s_vecs, parts.s_vals
    ub = np.einsum("gab,aq->gbq", u, hc) * ((1.0 - lam) ** power)[:, :, None]
    b = np.einsum("gab,gbq->gaq", u, ub)
    sb = np.einsum("gab,gbq->gaq", u, ub * lam[:, :, None])  # S_g b_g
    p_arr = -np.einsum("gas,hat->stgh", sb, sb)
    idx = np.arange(b.shape[0])
    p_arr[:, :, idx, idx] += np.einsum("gas,gat->stg", b, sb)
    return p_arr


def influence_satterthwaite_df(
    psi: np.ndarray,
    cluster: np.ndarray,
    *,
    hessian: np.ndarray,
    contrast: np.ndarray,
    kind: Literal["CR2", "CR3"] = "CR2",
) -> np.ndarray:
    r"""Satterthwaite degrees of freedom for contrasts of an influence-function estimator.

    Parameters
    ----------
    psi, cluster, hessian, kind
        As in :func:`influence_cr_vcov`.
    contrast : ndarray, shape (q, m) or (m,)

    Returns
    -------
    ndarray, shape (q,)

    Notes
    -----
    Under the working model of :func:`influence_cr_vcov` (independent cluster
    contributions, :math:`\mathrm{Var}(m_g)\propto H_g`) the estimated
    contributions have :math:`\mathrm{Cov}(\bar s_g, \bar s_h) \propto
    \delta_{gh}L_gH^{-1} - L_gH^{-1}L_h'`, so
    :math:`c'V c = \sum_g (c'T_g\bar s_g)^2` has
    :math:`P_{gh} = \delta_{gh}b_g'S_gb_g - b_g'S_gS_hb_h` with
    :math:`b_g = (I - S_g)^{-1/2}H^{-1/2}c` (CR2), and
    :math:`\nu = (\mathrm{tr}P)^2/\lVert P\rVert_F^2`, exactly as in
    :func:`satterthwaite_df`. For OLS written as influence functions it equals the
    regression Satterthwaite df (identity working model) to 1e-10. Like every
    Satterthwaite df it depends on the working model; with two treated clusters it
    is close to 1, which is the honest message.

    References
    ----------
    Pustejovsky, J. E. and Tipton, E. (2018), *JBES* 36(4), 672-683.
    https://doi.org/10.1080/07350015.2016.1247004
    """
    parts = _if_parts(psi, cluster, hessian)
    c = check_contrast(contrast, parts.sums.shape[1])
    return _df_from_p(_if_p_array(parts, c, _if_power(kind)))


def influence_htz_test(
    psi: np.ndarray,
    cluster: np.ndarray,
    estimate: np.ndarray,
    *,
    hessian: np.ndarray,
    contrast: np.ndarray,
    null: np.ndarray | float = 0.0,
) -> HTZTest:
    r"""HTZ test of :math:`C\theta = c_0` for an influence-function estimator (CR2).

    Parameters
    ----------
    psi, cluster, hessian
        As in :func:`influence_cr_vcov`.
    estimate : ndarray, shape (m,)
        :math:`\hat\theta`.
    contrast : ndarray, shape (q, m)
    null : float or ndarray, shape (q,), default 0

    Returns
    -------
    HTZTest

    Notes
    -----
    :func:`htz_test` with the P array of :func:`influence_satterthwaite_df`; for
    OLS written as influence functions it equals the regression HTZ test.
    """
    parts = _if_parts(psi, cluster, hessian)
    m = parts.sums.shape[1]
    c = check_contrast(contrast, m)
    est = as_float_vector(estimate, "estimate", n=m)
    c0 = _check_null(null, c.shape[0])
    adj = _if_adjusted(parts, -0.5)
    cov = c @ (adj.T @ adj) @ c.T
    return _htz(_if_p_array(parts, c, -0.5), c @ est - c0, cov)


def group_mean_hessian(
    weights: np.ndarray, group: np.ndarray, cluster: np.ndarray
) -> np.ndarray:
    r"""Hessian contributions of weighted group means, per cluster.

    For parameters :math:`\mu_j = \sum_{i\in j}w_iy_i/\sum_{i\in j}w_i` (one per
    group ``j``, groups disjoint), the estimating equations
    :math:`\sum_{i\in j}w_i(y_i - \mu_j) = 0` have
    :math:`H_g = \mathrm{diag}_j\big(\sum_{i\in g\cap j}w_i\big)`; the leverage of
    cluster ``g`` on :math:`\mu_j` is its share of group ``j``'s weight.

    Parameters
    ----------
    weights : ndarray, shape (n,)
        Non-negative unit weights.
    group : ndarray of int, shape (n,)
        Group code ``0..m-1`` of each unit (e.g. 0 = control, 1 = treated cohort),
        ``-1`` for units in no group.
    cluster : ndarray of int, shape (n,)

    Returns
    -------
    ndarray, shape (G, m, m)
    """
    w = as_float_vector(weights, "weights")
    if np.any(w < 0):
        raise SpecError("weights must be non-negative.")
    codes, n_clusters = check_cluster_codes(cluster, w.shape[0])
    grp = np.asarray(group)
    if grp.shape != w.shape or not np.issubdtype(grp.dtype, np.integer):
        raise SpecError(f"group must be integer codes of length {w.shape[0]}.")
    inside = grp >= 0
    m = int(grp.max()) + 1
    out = np.zeros((n_clusters, m, m))
    tab = np.zeros((n_clusters, m))
    np.add.at(tab, (codes[inside], grp[inside]), w[inside])
    out[:, np.arange(m), np.arange(m)] = tab
    return out


# =============================================================================
# Influence-function estimators with a diagonal hessian (weighted group means)
# =============================================================================
@dataclass
class _DiagParts:
    sums: sparse.csc_array  # (G, m) cluster sums of psi divided by n
    lev: sparse.csc_array  # (G, m) leverages h_gj / H_j
    htot: np.ndarray  # (m,)


def _as_csc(values: object, name: str) -> sparse.csc_array:
    """Return ``values`` (dense or sparse) as a CSC float array of finite values."""
    if sparse.issparse(values):
        out = sparse.csc_array(values, dtype=float)
        if not np.all(np.isfinite(out.data)):
            raise SpecError(
                f"{name} holds non-finite values; drop or impute those rows."
            )
        return out
    return sparse.csc_array(as_float_matrix(values, name))


def _diag_parts(psi: object, cluster: object, weight: object) -> _DiagParts:
    psi = _as_csc(psi, "psi")
    n, m = psi.shape
    codes, n_clusters = check_cluster_codes(cluster, n)
    indicator = sparse.csr_array(
        (np.ones(n), (codes, np.arange(n))), shape=(n_clusters, n)
    )
    sums = sparse.csc_array(indicator @ psi) / n
    if sparse.issparse(weight):
        w = sparse.csc_array(weight, dtype=float)
    else:
        w = sparse.csc_array(as_float_matrix(weight, "weight"))
    if w.shape != (n_clusters, m):
        raise SpecError(
            f"weight must have shape ({n_clusters}, {m}): each cluster's weight in "
            f"each of the {m} groups (got shape {w.shape})."
        )
    if np.any(w.data < 0) or not np.all(np.isfinite(w.data)):
        raise SpecError("weight must be finite and non-negative.")
    htot = np.asarray(w.sum(axis=0)).ravel()
    if np.any(htot <= 0):
        raise IdentificationError(
            f"{int(np.sum(htot <= 0))} group(s) have no weight in any cluster; every "
            "parameter needs information from some cluster."
        )
    lev = sparse.csc_array(w @ sparse.diags_array(1.0 / htot))
    lev.eliminate_zeros()
    if lev.nnz and lev.data.max() > 1 - 1e-10:
        pos = int(np.argmax(lev.data))
        g = int(lev.indices[pos])
        _check_leverage(float(lev.data[pos]), g)
    return _DiagParts(sums, lev, htot)


def _power_minus_one(lev: sparse.csc_array, power: float) -> sparse.csc_array:
    """``(1 - L)**power - 1`` on the non-zeros of ``L`` (zero elsewhere, like L)."""
    out = lev.copy()
    out.data = (1.0 - out.data) ** power - 1.0
    return out


def _check_combine(contrast: object, m: int) -> np.ndarray:
    c = as_float_matrix(contrast, "contrast")
    if c.shape[0] != m:
        raise SpecError(
            f"contrast must have {m} rows, one per group mean (got shape {c.shape}); "
            "column j holds the coefficients of estimate j."
        )
    return c


def diagonal_cr_vcov(
    psi: np.ndarray,
    cluster: np.ndarray,
    *,
    weight: np.ndarray,
    contrast: np.ndarray | None = None,
    kind: Literal["CR2", "CR3"] = "CR2",
) -> np.ndarray:
    r""":func:`influence_cr_vcov` for a diagonal hessian, in linear memory.

    Parameters
    ----------
    psi : ndarray or scipy sparse array, shape (n, m)
        Influence functions of ``m`` weighted group means (or of any parameters
        whose estimating equations have a diagonal Jacobian).
    cluster : ndarray of int, shape (n,)
        Cluster codes ``0..G-1``.
    weight : ndarray or scipy sparse array, shape (G, m)
        Diagonal of the hessian contribution of each cluster: its weight in each
        group (the diagonal of :func:`group_mean_hessian`).
    contrast : ndarray, shape (m, k), optional
        Return the covariance of ``k`` combinations :math:`C'\theta` (column
        ``j`` of ``contrast`` holds combination ``j``); default: of the ``m``
        parameters themselves.
    kind : {"CR2", "CR3"}, default "CR2"

    Returns
    -------
    ndarray, shape (k, k) (or (m, m))

    Notes
    -----
    With :math:`H_g = \mathrm{diag}(h_{g1},\dots,h_{gm})` the leverage
    :math:`L_g = H^{-1}H_g` is diagonal with entries
    :math:`\ell_{gj} = h_{gj}/\sum_h h_{hj}`, the cluster's share of group
    ``j``, and :math:`T_g = (I - L_g)^{-1/2}` (CR2) or :math:`(I - L_g)^{-1}`
    (CR3) is applied element-wise: :math:`V = \sum_g C'(t_g\circ\bar s_g)(t_g\circ
    \bar s_g)'C`. Nothing of size :math:`G\times m\times m` is formed: memory is
    that of ``psi`` and of the ``(G, m)`` arrays (sparse when they are). Equal to
    :func:`influence_cr_vcov` with the full diagonal hessian to 1e-10 (tests).
    """
    parts = _diag_parts(psi, cluster, weight)
    m = parts.htot.size
    c = np.eye(m) if contrast is None else _check_combine(contrast, m)
    sums = parts.sums
    adjusted = sums + sums.multiply(_power_minus_one(parts.lev, _if_power(kind)))
    comb = np.asarray(sparse.csc_array(adjusted) @ c)  # (G, k)
    v = comb.T @ comb
    return (v + v.T) / 2


def diagonal_satterthwaite_df(
    psi: np.ndarray,
    cluster: np.ndarray,
    *,
    weight: np.ndarray,
    contrast: np.ndarray,
    kind: Literal["CR2", "CR3"] = "CR2",
) -> np.ndarray:
    r""":func:`influence_satterthwaite_df` for a diagonal hessian, in linear memory.

    Parameters
    ----------
    psi, cluster, weight, kind
        As in :func:`diagonal_cr_vcov`.
    contrast : ndarray, shape (m, k) or (m,)
        Column ``j``: the coefficients :math:`c_j` of estimate ``j`` (note: one
        column per estimate, the transpose of the ``(q, m)`` contrasts of
        :func:`influence_satterthwaite_df`).

    Returns
    -------
    ndarray, shape (k,)
        NaN for an all-zero column.

    Notes
    -----
    With :math:`S_g = \mathrm{diag}(\ell_g)`, :math:`b_{gj} = (1 -
    \ell_{gj})^{-1/2}c_j/\sqrt{H_j}` and :math:`u_g = \ell_g\circ b_g`, the
    Satterthwaite matrix of :func:`influence_satterthwaite_df` is
    :math:`P = \mathrm{diag}(d) - UU'` with :math:`d_g = \sum_j\ell_{gj}b_{gj}^2`,
    so :math:`\mathrm{tr}P = \sum_g d_g - \lVert U\rVert_F^2` and
    :math:`\lVert P\rVert_F^2 = \sum_g d_g^2 - 2\sum_g d_g\lVert u_g\rVert^2 +
    \lVert U'U\rVert_F^2`: no :math:`G\times G` matrix is needed, only the
    ``(m_c, m_c)`` Gram matrix of the groups the estimate uses.
    """
    parts = _diag_parts(psi, cluster, weight)
    m = parts.htot.size
    c = np.asarray(contrast, dtype=float)
    if c.ndim == 1:
        c = c[:, None]
    c = _check_combine(c, m)
    power = _if_power(kind)
    out = np.full(c.shape[1], np.nan)
    for j in range(c.shape[1]):
        nz = np.flatnonzero(c[:, j])
        if nz.size == 0:
            continue
        lev = sparse.csc_array(parts.lev[:, nz])
        fac = lev.copy()
        fac.data = (1.0 - fac.data) ** power
        ct = c[nz, j] / np.sqrt(parts.htot[nz])
        u = sparse.csc_array(lev.multiply(fac) @ sparse.diags_array(ct))  # (G, m_c)
        d = np.asarray(
            (lev.multiply(fac.multiply(fac)) @ sparse.diags_array(ct * ct)).sum(axis=1)
        ).ravel()
        u_sq = np.asarray(u.multiply(u).sum(axis=1)).ravel()
        gram = (u.T @ u).toarray()
        trace = d.sum() - u_sq.sum()
        frob = float(d @ d - 2 * d @ u_sq + np.sum(gram * gram))
        out[j] = trace**2 / frob if frob > 0 else np.nan
    return out


def _part_residuals(
    psi: sparse.csc_array, row_weight: sparse.csc_array, sign: np.ndarray
) -> tuple[sparse.csc_array, np.ndarray]:
    """Row residuals of each part on the pattern of ``row_weight`` (explicit zeros).

    ``e_iP = sign_P psi_iP H_P / (n w_iP)`` for every row with positive weight in
    part ``P``; returns them as a CSC array with the pattern of ``row_weight`` and
    the part totals ``H_P``.
    """
    n = psi.shape[0]
    w = sparse.csc_array(row_weight, dtype=float).copy()
    w.eliminate_zeros()
    w.sort_indices()
    psi = sparse.csc_array(psi, dtype=float).copy()
    psi.sum_duplicates()
    htot = np.asarray(w.sum(axis=0)).ravel()
    data = np.zeros(w.nnz)
    for p in range(w.shape[1]):
        lo, hi = int(w.indptr[p]), int(w.indptr[p + 1])
        rows = w.indices[lo:hi]
        plo, phi = int(psi.indptr[p]), int(psi.indptr[p + 1])
        prow, pval = psi.indices[plo:phi], psi.data[plo:phi]
        # psi on the rows of the group (rows with psi but no weight do not enter)
        pos = np.minimum(np.searchsorted(rows, prow), max(rows.size - 1, 0))
        match = rows[pos] == prow if rows.size else np.zeros(prow.size, bool)
        vals = np.zeros(rows.size)
        vals[pos[match]] = pval[match]
        data[lo:hi] = sign[p] * vals * htot[p] / (n * w.data[lo:hi])
    e = sparse.csc_array((data, w.indices.copy(), w.indptr.copy()), shape=w.shape)
    return e, htot


def _stacked_moulton(
    e_cols: sparse.csc_array, codes: np.ndarray, n_clusters: int, rho_nonnegative: bool
) -> tuple[float, float]:
    """Moulton's (sigma^2, rho) from the residuals of the stacked rows (``_moulton``)."""
    res = e_cols.data
    cl = codes[e_cols.indices]
    n_rows = res.size
    sums = np.bincount(cl, weights=res, minlength=n_clusters)
    sizes = np.bincount(cl, minlength=n_clusters).astype(float)
    ssr = float(res @ res)
    den = float(sizes @ sizes - n_rows)
    rho = (float(sums @ sums) - ssr) / den if den > 0 else 0.0
    if rho_nonnegative:
        rho = max(rho, 0.0)
    return max(ssr / n_rows - rho, 0.0), rho


#: Rows of the dense ``(G, m)`` product handled at once in the IK degrees of freedom.
_IK_CHUNK = 1 << 21


def diagonal_imbens_kolesar_df(
    psi: np.ndarray,
    cluster: np.ndarray,
    *,
    row_weight: np.ndarray,
    contrast: np.ndarray,
    sign: np.ndarray | None = None,
    rho_nonnegative: bool = False,
) -> np.ndarray:
    r"""Imbens-Kolesár degrees of freedom of CR2 t-tests of weighted group means.

    The influence-function counterpart of :func:`imbens_kolesar_df`, for
    parameters that are weighted group means (the parts of
    :class:`~tne_eval.inference.scores.GroupMeans`), in linear memory.

    Parameters
    ----------
    psi : ndarray or scipy sparse array, shape (n, m)
        Influence functions of the ``m`` signed group means
        :math:`\pm\hat\mu_P`, :math:`\psi_{iP} = \pm n w_{iP}(y_{iP} - \hat\mu_P)
        /\sum_iw_{iP}` (the parts of ``GroupMeans``).
    cluster : ndarray of int, shape (n,)
        Cluster codes ``0..G-1``.
    row_weight : ndarray or scipy sparse array, shape (n, m)
        Each row's weight in each group (zero outside it): ``GroupMeans.weights``.
    contrast : ndarray, shape (m, k) or (m,)
        Column ``j``: the coefficients of estimate ``j`` on the (signed) means.
    sign : ndarray, shape (m,), optional
        ``+1`` or ``-1``: the sign of each part, so that the row residuals are
        :math:`e_{iP} = \mathrm{sign}_P\,\psi_{iP}\sum_iw_{iP}/(nw_{iP})`
        (default: all ``+1``). It matters because the working model ties the
        errors of a cluster across its groups.
    rho_nonnegative : bool, default False
        Clip the estimated within-cluster covariance at zero (dfadjust's ``rho0``).

    Returns
    -------
    ndarray, shape (k,)
        NaN for an all-zero column.

    Notes
    -----
    *Regression equivalent.* An estimate :math:`\hat\theta = \sum_P\tilde
    c_P\hat\mu_P` (:math:`\tilde c_P = c_P\,\mathrm{sign}_P`) of weighted means
    of disjoint groups is the WLS regression of the stacked outcomes
    :math:`y_{iP}` (one row per row and group it belongs to) on the group
    dummies; a 2x2 DiD cell is the regression of the outcome change on
    ``[1, D]`` (panel) or of the outcome on the four group x period dummies
    (repeated cross-sections). Its CR2 variance
    (:func:`diagonal_cr_vcov`) is :math:`\sum_gu_g^2`,
    :math:`u_g = \sum_P a_{gP}\sum_{i\in g\cap P}w_{iP}e_{iP}`,
    :math:`a_{gP} = \tilde c_P(1-\ell_{gP})^{-1/2}/H_P`, and with
    :math:`e = (I - \mathcal H)\varepsilon` (residuals from the group means)
    :math:`u_g = \sum_{iP}v_{g,iP}\varepsilon_{iP}` with
    :math:`v_{g,iP} = w_{iP}a_{gP}(1\{i\in g\} - \ell_{gP})`.

    *Working model* (Moulton, as :func:`imbens_kolesar_df` and R ``dfadjust``):
    the stacked errors of cluster ``g`` share a random effect, whatever their
    group, :math:`\mathrm{Cov}(\varepsilon_{iP}, \varepsilon_{kQ}) =
    \sigma^2\delta_{(iP),(kQ)} + \rho\,1\{g_i = g_k\}`, so the contribution
    :math:`m_{gP} = \sum_{i\in g\cap P}w_{iP}\varepsilon_{iP}` has variance
    :math:`\sigma^2\sum w_{iP}^2 + \rho(\sum w_{iP})^2` and covariance
    :math:`\rho\,h_{gP}h_{gQ}` across groups. :math:`\hat\rho` and
    :math:`\hat\sigma^2` are dfadjust's moment estimates on the stacked residuals
    of the groups the estimate uses (unweighted, like :func:`imbens_kolesar_df`).
    With :math:`S^{(1)}_{gP} = \sum_{i\in g\cap P}w_{iP}`,
    :math:`S^{(2)}_{gP} = \sum_{i\in g\cap P}w_{iP}^2`, :math:`Y = A\circ L`,
    :math:`\alpha_g = \sum_Pa_{gP}S^{(1)}_{gP}`,
    :math:`Z = \sigma^2A\circ S^{(2)} + \rho\,\mathrm{diag}(\alpha)S^{(1)}` and
    :math:`M = \sigma^2\mathrm{diag}(\sum_gS^{(2)}_{gP}) + \rho S^{(1)\prime}S^{(1)}`,
    the Satterthwaite matrix :math:`P_{gh} = v_g'\Omega v_h` is

    .. math::

        P = \mathrm{diag}(d) - YZ' - ZY' + YMY', \qquad
        d_g = \sigma^2\textstyle\sum_Pa_{gP}^2S^{(2)}_{gP} + \rho\alpha_g^2,

    and :math:`\nu = (\mathrm{tr}P)^2/\lVert P\rVert_F^2` is computed from the
    ``(2m_c, 2m_c)`` Gram matrix of :math:`[Y, Z]`: no :math:`G\times G` or
    :math:`G\times m\times m` array is formed.

    *Checks* (tests): for a 2x2 cell with unit weights it equals
    :func:`imbens_kolesar_df` of the equivalent cluster regression (1e-10); for
    an aggregate it equals the explicit :math:`v_g'\Omega v_h` computation on the
    stacked design; with unit weights and :math:`\rho = 0` (e.g.
    ``rho_nonnegative`` when :math:`\hat\rho < 0`) the working model is
    :math:`\sigma^2I`, that of :func:`diagonal_satterthwaite_df`, and the two
    are equal. Always :math:`1 \le \nu \le G`.

    References
    ----------
    Imbens, G. W. and Kolesár, M. (2016). Robust standard errors in small samples:
    some practical advice. *Review of Economics and Statistics* 98(4), 701-712.
    https://doi.org/10.1162/REST_a_00552

    Moulton, B. R. (1986). Random group effects and the precision of regression
    estimates. *Journal of Econometrics* 32(3), 385-397.
    https://doi.org/10.1016/0304-4076(86)90021-7
    """
    psi_s = _as_csc(psi, "psi")
    n, m = psi_s.shape
    if sparse.issparse(row_weight):
        rw = sparse.csc_array(row_weight, dtype=float)
    else:
        rw = sparse.csc_array(as_float_matrix(row_weight, "row_weight"))
    if rw.shape != (n, m):
        raise SpecError(
            f"row_weight must have the shape of psi ({n}, {m}): each row's weight "
            f"in each group (got shape {rw.shape})."
        )
    if np.any(rw.data < 0) or not np.all(np.isfinite(rw.data)):
        raise SpecError("row_weight must be finite and non-negative.")
    codes, n_clusters = check_cluster_codes(cluster, n)
    if sign is None:
        sgn = np.ones(m)
    else:
        sgn = as_float_vector(sign, "sign", n=m)
        if not np.all(np.abs(sgn) == 1.0):
            raise SpecError("sign must be +1 or -1 for every group.")
    indicator = sparse.csr_array(
        (np.ones(n), (codes, np.arange(n))), shape=(n_clusters, n)
    )
    weight = sparse.csc_array(indicator @ rw)  # S1, (G, m)
    # leverages and the checks of diagonal_satterthwaite_df
    parts = _diag_parts(psi_s, codes, weight)
    c = np.asarray(contrast, dtype=float)
    if c.ndim == 1:
        c = c[:, None]
    c = _check_combine(c, m)
    rw2 = rw.copy()
    rw2.data = rw2.data**2
    weight2 = sparse.csc_array(indicator @ rw2)  # S2
    resid, _ = _part_residuals(psi_s, rw, sgn)
    out = np.full(c.shape[1], np.nan)
    for j in range(c.shape[1]):
        nz = np.flatnonzero(c[:, j])
        if nz.size == 0:
            continue
        sig, rho = _stacked_moulton(
            sparse.csc_array(resid[:, nz]), codes, n_clusters, rho_nonnegative
        )
        out[j] = _ik_df_one(
            sparse.csc_array(parts.lev[:, nz]),
            sparse.csc_array(weight[:, nz]),
            sparse.csc_array(weight2[:, nz]),
            parts.htot[nz],
            c[nz, j] * sgn[nz],
            sig,
            rho,
        )
    return out


def _ik_df_one(lev, s1, s2, htot, ct, sig, rho) -> float:
    """Satterthwaite df under the Moulton model for one estimate (see the caller)."""
    fac = lev.copy()
    fac.data = (1.0 - fac.data) ** -0.5
    a = sparse.csc_array(fac @ sparse.diags_array(ct / htot))  # (G, m_c)
    y = sparse.csc_array(a.multiply(lev))
    alpha = np.asarray(a.multiply(s1).sum(axis=1)).ravel()
    z = sparse.csc_array(sig * a.multiply(s2) + rho * sparse.diags_array(alpha) @ s1)
    d = (
        sig * np.asarray(a.multiply(a).multiply(s2).sum(axis=1)).ravel()
        + rho * alpha**2
    )
    t2 = np.asarray(s2.sum(axis=0)).ravel()
    mc = ct.size
    mm = sig * np.diag(t2)
    if rho != 0.0:
        mm = mm + rho * (s1.T @ s1).toarray()
    # diagonal of Y M Y' - 2 Y Z' (row by row, in chunks of the dense Y M)
    yr = sparse.csr_array(y)
    quad = np.empty(yr.shape[0])
    step = max(1, _IK_CHUNK // max(mc, 1))
    for lo in range(0, yr.shape[0], step):
        blk = yr[lo : lo + step]
        quad[lo : lo + step] = np.asarray((blk @ mm) * blk.toarray()).sum(axis=1)
    quad -= 2 * np.asarray(y.multiply(z).sum(axis=1)).ravel()
    u = sparse.hstack([y, z], format="csc")
    gram = (u.T @ u).toarray()
    k = np.zeros((2 * mc, 2 * mc))
    k[:mc, :mc] = mm
    k[:mc, mc:] = k[mc:, :mc] = -np.eye(mc)
    kg = k @ gram
    trace = float(d.sum() + quad.sum())
    frob = float(d @ d + 2 * d @ quad + np.sum(kg * kg.T))
    return trace**2 / frob if frob > 0 else float("nan")
