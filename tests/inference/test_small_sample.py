"""CR2 / CR3 / Satterthwaite / IK / HTZ against explicit n x n textbook computations."""

import numpy as np
import pytest
from scipy import stats

from tne_eval.errors import (
    IdentificationError,
    InferenceError,
    SpecError,
    TneEvalTypeError,
)
from tne_eval.inference.small_sample import (
    cr2_vcov,
    cr3_vcov,
    group_mean_hessian,
    htz_test,
    imbens_kolesar_df,
    influence_cr_vcov,
    influence_htz_test,
    influence_satterthwaite_df,
    satterthwaite_df,
)

# Same algebra, different order of operations (per-cluster blocks vs n x n): rounding only.
RTOL_EXACT = 1e-10
# The explicit computations use a pseudo-inverse with singular n x n blocks; their own
# rounding is ~1e-13 relative on these well-conditioned problems.
ATOL_EXACT = 1e-12


# -----------------------------------------------------------------------------
# Brute force: clubSandwich's algorithm with explicit n x n matrices
# -----------------------------------------------------------------------------
def _pinv_sqrt(a, tol=1e-12):
    vals, vecs = np.linalg.eigh((a + a.T) / 2)
    keep = vals > tol
    return (vecs[:, keep] / np.sqrt(vals[keep])) @ vecs[:, keep].T


def brute_cr2(z, e, w, cl, theta, contrasts=None, df_omega=None):
    """Return (vcov, P array (q,q,G,G) or None) for the full design z."""
    n = z.shape[0]
    w = w / w.mean()
    theta = theta / theta.mean()
    m = np.linalg.inv(z.T @ (w[:, None] * z))
    h = z @ m @ z.T * w[None, :]
    ih = np.eye(n) - h
    big_theta = np.diag(theta)
    b = ih @ big_theta @ ih.T
    groups = np.unique(cl)
    comps, qs = [], []
    for g in groups:
        idx = np.flatnonzero(cl == g)
        st = np.sqrt(theta[idx])
        a = (
            st[:, None]
            * _pinv_sqrt(st[:, None] * b[np.ix_(idx, idx)] * st[None, :])
            * st[None, :]
        )
        comps.append(z[idx].T @ (w[idx] * (a @ e[idx])))
        if contrasts is not None:
            qs.append((idx, a @ (w[idx, None] * (z[idx] @ m @ contrasts.T))))
    comps = np.array(comps)
    vcov = m @ comps.T @ comps @ m
    if contrasts is None:
        return vcov, None
    omega = big_theta if df_omega is None else df_omega
    bb = ih @ omega @ ih.T
    q = contrasts.shape[0]
    gg = len(groups)
    p_arr = np.empty((q, q, gg, gg))
    for gi, (ig, qg) in enumerate(qs):
        for hi, (ih_, qh) in enumerate(qs):
            p_arr[:, :, gi, hi] = qg.T @ bb[np.ix_(ig, ih_)] @ qh
    return vcov, p_arr


def brute_df(p_arr):
    return np.array(
        [
            np.trace(p_arr[s, s]) ** 2 / np.sum(p_arr[s, s] ** 2)
            for s in range(p_arr.shape[0])
        ]
    )


def brute_htz(p_arr, diff, cov):
    q = p_arr.shape[0]
    omega = np.array([[np.trace(p_arr[s, t]) for t in range(q)] for s in range(q)])
    oi = _pinv_sqrt(omega)
    b = np.einsum("as,stgh,tb->abgh", oi, p_arr, oi)
    var = np.zeros((q, q))
    for s in range(q):
        for t in range(q):
            var[s, t] = np.sum(b[s, t] * b[t, s]) + np.sum(b[s, s] * b[t, t])
    nu = q * (q + 1) / var.sum()
    wald = diff @ np.linalg.solve(cov, diff)
    stat = (nu - q + 1) / nu * wald / q
    return stat, nu - q + 1, stats.f.sf(stat, q, nu - q + 1)


def brute_cr3(z, y, w, cl, p):
    beta = np.linalg.lstsq(np.sqrt(w)[:, None] * z, np.sqrt(w) * y, rcond=None)[0][:p]
    devs = []
    for g in np.unique(cl):
        keep = cl != g
        zk = z[keep]
        cols = np.flatnonzero(
            np.abs(zk).sum(axis=0) > 0
        )  # drop the dummies of cluster g
        sol = np.linalg.lstsq(
            np.sqrt(w[keep])[:, None] * zk[:, cols],
            np.sqrt(w[keep]) * y[keep],
            rcond=None,
        )[0]
        devs.append(beta - sol[:p])
    devs = np.array(devs)
    return devs.T @ devs


# -----------------------------------------------------------------------------
# Data: a small panel, units nested in clusters, period effects, 2 regressors
# -----------------------------------------------------------------------------
def make_panel(seed, *, n_clusters=6, n_periods=4, row_weights=False):
    rng = np.random.default_rng(seed)
    units_per = rng.integers(1, 4, size=n_clusters)
    unit_cluster = np.repeat(np.arange(n_clusters), units_per)
    n_units = unit_cluster.size
    unit = np.repeat(np.arange(n_units), n_periods)
    period = np.tile(np.arange(n_periods), n_units)
    cl = unit_cluster[unit]
    treated_cluster = rng.random(n_clusters) < 0.4
    treated_cluster[0] = True
    d = (treated_cluster[cl] & (period >= 2)).astype(float)
    x2 = rng.normal(size=unit.size)
    x = np.column_stack([d, x2])
    y = (
        x @ np.array([1.0, -0.5])
        + rng.normal(size=n_units)[unit]
        + rng.normal(size=n_clusters)[cl]
        + rng.normal(size=unit.size)
    )
    if row_weights:
        w = rng.uniform(0.5, 2.0, size=unit.size)
    else:
        w = rng.uniform(0.5, 2.0, size=n_units)[unit]
    d_unit = np.eye(n_units)[unit]
    d_time = np.eye(n_periods)[period][:, 1:]
    return {
        "x": x,
        "y": y,
        "w": w,
        "cl": cl,
        "unit": unit,
        "d_unit": d_unit,
        "d_time": d_time,
    }


def within(a, fe, w):
    a = np.atleast_2d(a.T).T
    out = np.empty_like(a)
    sw = np.bincount(fe, weights=w)
    for j in range(a.shape[1]):
        out[:, j] = a[:, j] - (np.bincount(fe, weights=w * a[:, j]) / sw)[fe]
    return out


def absorbed_problem(data, weighted=True):
    """Within-unit design [x, period dummies] and the full-model residuals."""
    w = data["w"] if weighted else np.ones_like(data["y"])
    full = np.column_stack([data["x"], data["d_time"], data["d_unit"]])
    sw = np.sqrt(w)
    coef = np.linalg.lstsq(sw[:, None] * full, sw * data["y"], rcond=None)[0]
    resid = data["y"] - full @ coef
    xt = within(np.column_stack([data["x"], data["d_time"]]), data["unit"], w)
    return full, xt, resid, w, coef[: xt.shape[1]]


@pytest.fixture(params=[11, 12, 13], ids=lambda s: f"seed{s}")
def panel(request):
    return make_panel(request.param)


# -----------------------------------------------------------------------------
# CR2
# -----------------------------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("target_kind", ["identity", "inverse_weights"])
def test_cr2_absorbed_unit_effects_equal_explicit_dummies(panel, weighted, target_kind):
    full, xt, resid, w, _ = absorbed_problem(panel, weighted)
    theta = np.ones_like(w) if target_kind == "identity" else 1 / w
    target = None if target_kind == "identity" else 1 / w
    ref, _ = brute_cr2(full, resid, w, panel["cl"], theta)
    k = xt.shape[1]
    ours = cr2_vcov(
        xt, resid, cluster=panel["cl"], weights=w, absorbed=panel["unit"], target=target
    )
    np.testing.assert_allclose(ours, ref[:k, :k], rtol=RTOL_EXACT, atol=ATOL_EXACT)


def test_cr2_row_varying_weights_equal_explicit_dummies():
    data = make_panel(5, row_weights=True)
    full, xt, resid, w, _ = absorbed_problem(data)
    ref, _ = brute_cr2(full, resid, w, data["cl"], np.ones_like(w))
    ours = cr2_vcov(xt, resid, cluster=data["cl"], weights=w, absorbed=data["unit"])
    k = xt.shape[1]
    np.testing.assert_allclose(ours, ref[:k, :k], rtol=RTOL_EXACT, atol=ATOL_EXACT)


def test_cr2_without_fixed_effects_is_ols_formula():
    rng = np.random.default_rng(3)
    n, g = 40, 5
    cl = rng.integers(0, g, size=n)
    cl[:g] = np.arange(g)
    x = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    y = x @ [1, 2, 3] + rng.normal(size=n)
    e = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    # OLS: A_g = (I - H_gg)^{-1/2}
    m = np.linalg.inv(x.T @ x)
    meat = np.zeros((3, 3))
    for c in range(g):
        idx = cl == c
        a = _pinv_sqrt(np.eye(idx.sum()) - x[idx] @ m @ x[idx].T)
        s = x[idx].T @ a @ e[idx]
        meat += np.outer(s, s)
    np.testing.assert_allclose(
        cr2_vcov(x, e, cluster=cl), m @ meat @ m, rtol=RTOL_EXACT
    )


def test_cr2_scale_invariance_of_weights_and_target(panel):
    _, xt, resid, w, _ = absorbed_problem(panel)
    a = cr2_vcov(
        xt, resid, cluster=panel["cl"], weights=w, absorbed=panel["unit"], target=1 / w
    )
    b = cr2_vcov(
        xt,
        resid,
        cluster=panel["cl"],
        weights=7 * w,
        absorbed=panel["unit"],
        target=3 / w,
    )
    np.testing.assert_allclose(a, b, rtol=RTOL_EXACT)


def test_cr2_invariant_to_row_order(panel):
    _, xt, resid, w, _ = absorbed_problem(panel)
    perm = np.random.default_rng(0).permutation(resid.size)
    a = cr2_vcov(xt, resid, cluster=panel["cl"], weights=w, absorbed=panel["unit"])
    b = cr2_vcov(
        xt[perm],
        resid[perm],
        cluster=panel["cl"][perm],
        weights=w[perm],
        absorbed=panel["unit"][perm],
    )
    np.testing.assert_allclose(a, b, rtol=RTOL_EXACT)


# -----------------------------------------------------------------------------
# CR3
# -----------------------------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
def test_cr3_equals_explicit_refit_jackknife(panel, weighted):
    full, xt, resid, w, _ = absorbed_problem(panel, weighted)
    k = xt.shape[1]
    ref = brute_cr3(full, panel["y"], w, panel["cl"], k)
    ours = cr3_vcov(xt, resid, cluster=panel["cl"], weights=w, absorbed=panel["unit"])
    np.testing.assert_allclose(ours, ref, rtol=RTOL_EXACT, atol=ATOL_EXACT)


def test_cr3_single_treated_cluster_raises():
    rng = np.random.default_rng(1)
    cl = np.repeat(np.arange(5), 6)
    d = (cl == 0).astype(float)
    x = np.column_stack([np.ones(30), d])
    e = rng.normal(size=30)
    e -= x @ np.linalg.lstsq(x, e, rcond=None)[0]
    with pytest.raises(InferenceError, match="Cluster 0 carries all the information"):
        cr3_vcov(x, e, cluster=cl)


# -----------------------------------------------------------------------------
# Degrees of freedom and HTZ
# -----------------------------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("target_kind", ["identity", "inverse_weights"])
def test_satterthwaite_df_equals_explicit(panel, weighted, target_kind):
    full, xt, resid, w, _ = absorbed_problem(panel, weighted)
    k = xt.shape[1]
    theta = np.ones_like(w) if target_kind == "identity" else 1 / w
    target = None if target_kind == "identity" else 1 / w
    contrasts = np.eye(k)[[0, 1]]
    c_full = np.zeros((2, full.shape[1]))
    c_full[:, :k] = contrasts
    _, p_arr = brute_cr2(full, resid, w, panel["cl"], theta, c_full)
    ours = satterthwaite_df(
        xt,
        resid,
        cluster=panel["cl"],
        contrast=contrasts,
        weights=w,
        absorbed=panel["unit"],
        target=target,
    )
    np.testing.assert_allclose(ours, brute_df(p_arr), rtol=RTOL_EXACT)


@pytest.mark.parametrize("rho_nonnegative", [False, True])
def test_imbens_kolesar_df_equals_eigenvalue_formula(panel, rho_nonnegative):
    full, xt, resid, w, _ = absorbed_problem(panel, weighted=False)
    k = xt.shape[1]
    cl = panel["cl"]
    n = resid.size
    sums = np.bincount(cl, weights=resid)
    sizes = np.bincount(cl)
    rho = (sums @ sums - resid @ resid) / (sizes @ sizes - n)
    if rho_nonnegative:
        rho = max(rho, 0.0)
    sig = max(resid @ resid / n - rho, 0.0)
    omega = sig * np.eye(n) + rho * (cl[:, None] == cl[None, :])
    c_full = np.zeros((1, full.shape[1]))
    c_full[0, 0] = 1
    _, p_arr = brute_cr2(full, resid, w, cl, np.ones(n), c_full, df_omega=omega)
    # the same number from the eigenvalues of G' Omega G (Imbens-Kolesar's formula)
    lam = np.linalg.eigvalsh(p_arr[0, 0])
    ik = lam.sum() ** 2 / (lam**2).sum()
    ours = imbens_kolesar_df(
        xt,
        resid,
        cluster=cl,
        contrast=np.eye(k)[0],
        absorbed=panel["unit"],
        rho_nonnegative=rho_nonnegative,
    )
    np.testing.assert_allclose(ours, [ik], rtol=RTOL_EXACT)


@pytest.mark.parametrize("weighted", [False, True])
def test_htz_equals_explicit(panel, weighted):
    full, xt, resid, w, coef = absorbed_problem(panel, weighted)
    k = xt.shape[1]
    contrasts = np.array([[1.0, 0, 0, 0, 0], [0, 1.0, 0, 0, 0], [0, 0, 1.0, -1.0, 0]])
    c_full = np.zeros((3, full.shape[1]))
    c_full[:, :k] = contrasts
    vfull, p_arr = brute_cr2(full, resid, w, panel["cl"], np.ones_like(w), c_full)
    null = np.array([1.0, -0.5, 0.0])
    diff = contrasts @ coef - null
    stat, df2, pval = brute_htz(p_arr, diff, c_full @ vfull @ c_full.T)
    res = htz_test(
        xt,
        resid,
        coef,
        cluster=panel["cl"],
        contrast=contrasts,
        null=null,
        weights=w,
        absorbed=panel["unit"],
    )
    np.testing.assert_allclose(
        [res.statistic, res.df_denom, res.p_value], [stat, df2, pval], rtol=RTOL_EXACT
    )
    assert res.df_num == 3


def test_htz_with_one_restriction_is_satterthwaite_t_test(panel):
    _, xt, resid, w, coef = absorbed_problem(panel)
    kw = {"cluster": panel["cl"], "weights": w, "absorbed": panel["unit"]}
    c = np.eye(xt.shape[1])[[0]]
    res = htz_test(xt, resid, coef, contrast=c, null=1.0, **kw)
    df = satterthwaite_df(xt, resid, contrast=c, **kw)[0]
    se = np.sqrt(cr2_vcov(xt, resid, **kw)[0, 0])
    t = (coef[0] - 1.0) / se
    np.testing.assert_allclose(res.df_denom, df, rtol=RTOL_EXACT)
    np.testing.assert_allclose(res.p_value, 2 * stats.t.sf(abs(t), df), rtol=RTOL_EXACT)


# -----------------------------------------------------------------------------
# Influence-function versions: OLS written as influence functions
# -----------------------------------------------------------------------------
def ols_as_influence(seed, *, weights="none", n_clusters=7):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(3, 9, size=n_clusters)
    cl = np.repeat(np.arange(n_clusters), sizes)
    n = cl.size
    x = np.column_stack([np.ones(n), (cl < 2).astype(float), rng.normal(size=n)])
    y = x @ [0.5, 1.0, -1.0] + rng.normal(size=n_clusters)[cl] + rng.normal(size=n)
    if weights == "none":
        w = np.ones(n)
    elif weights == "cluster":
        w = rng.uniform(0.5, 2, size=n_clusters)[cl]
    else:
        w = rng.uniform(0.5, 2, size=n)
    m = np.linalg.inv(x.T @ (w[:, None] * x))
    beta = m @ x.T @ (w * y)
    e = y - x @ beta
    psi = n * (x * (w * e)[:, None]) @ m
    hess = np.stack(
        [x[cl == g].T @ (w[cl == g, None] * x[cl == g]) for g in range(n_clusters)]
    )
    return {
        "x": x,
        "y": y,
        "w": w,
        "cl": cl,
        "e": e,
        "psi": psi,
        "hess": hess,
        "beta": beta,
    }


@pytest.mark.parametrize("weights", ["none", "cluster", "row"])
def test_influence_cr3_reproduces_regression_cr3(weights):
    o = ols_as_influence(21, weights=weights)
    ours = influence_cr_vcov(o["psi"], o["cl"], hessian=o["hess"], kind="CR3")
    ref = cr3_vcov(o["x"], o["e"], cluster=o["cl"], weights=o["w"])
    np.testing.assert_allclose(ours, ref, rtol=RTOL_EXACT)


@pytest.mark.parametrize(
    ("weights", "target"), [("none", "identity"), ("cluster", "inverse_weights")]
)
def test_influence_cr2_reproduces_regression_cr2(weights, target):
    o = ols_as_influence(22, weights=weights)
    ours = influence_cr_vcov(o["psi"], o["cl"], hessian=o["hess"], kind="CR2")
    ref = cr2_vcov(
        o["x"],
        o["e"],
        cluster=o["cl"],
        weights=o["w"],
        target=None if target == "identity" else 1 / o["w"],
    )
    np.testing.assert_allclose(ours, ref, rtol=RTOL_EXACT)


def test_influence_cr2_with_row_weights_differs_from_regression_cr2():
    # documented: the IF construction works at the cluster level; with weights varying
    # within clusters it is not clubSandwich's observation-level CR2
    o = ols_as_influence(23, weights="row")
    ours = influence_cr_vcov(o["psi"], o["cl"], hessian=o["hess"], kind="CR2")
    ref = cr2_vcov(o["x"], o["e"], cluster=o["cl"], weights=o["w"])
    assert not np.allclose(ours, ref, rtol=1e-6)


def test_influence_satterthwaite_reproduces_regression_df():
    o = ols_as_influence(24)
    c = np.array([[0, 1.0, 0], [0, 0, 1.0], [1.0, 1.0, 0]])
    ours = influence_satterthwaite_df(o["psi"], o["cl"], hessian=o["hess"], contrast=c)
    ref = satterthwaite_df(o["x"], o["e"], cluster=o["cl"], contrast=c)
    np.testing.assert_allclose(ours, ref, rtol=RTOL_EXACT)


def test_influence_htz_reproduces_regression_htz():
    o = ols_as_influence(25)
    c = np.array([[0, 1.0, 0], [0, 0, 1.0]])
    ours = influence_htz_test(
        o["psi"], o["cl"], o["beta"], hessian=o["hess"], contrast=c, null=[1.0, -1.0]
    )
    ref = htz_test(
        o["x"], o["e"], o["beta"], cluster=o["cl"], contrast=c, null=[1.0, -1.0]
    )
    np.testing.assert_allclose(
        [ours.statistic, ours.df_denom, ours.p_value],
        [ref.statistic, ref.df_denom, ref.p_value],
        rtol=RTOL_EXACT,
    )


def test_group_mean_hessian_gives_difference_in_means_regression():
    # treated/control difference in means = OLS of y on [1, D]: the group-mean
    # parametrization (mu_0, mu_1) with the contrast (-1, 1) gives the same CR2/CR3/df
    o = ols_as_influence(26, n_clusters=8)
    cl, y = o["cl"], o["y"]
    d = (cl < 2).astype(int)
    n = y.size
    mu = np.array([y[d == 0].mean(), y[d == 1].mean()])
    psi = np.zeros((n, 2))
    for j in range(2):
        psi[d == j, j] = n * (y[d == j] - mu[j]) / np.sum(d == j)
    hess = group_mean_hessian(np.ones(n), d, cl)
    x = np.column_stack([np.ones(n), d])
    e = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    c = np.array([-1.0, 1.0])
    for kind, fun in (("CR2", cr2_vcov), ("CR3", cr3_vcov)):
        ours = c @ influence_cr_vcov(psi, cl, hessian=hess, kind=kind) @ c
        np.testing.assert_allclose(ours, fun(x, e, cluster=cl)[1, 1], rtol=RTOL_EXACT)
    np.testing.assert_allclose(
        influence_satterthwaite_df(psi, cl, hessian=hess, contrast=c),
        satterthwaite_df(x, e, cluster=cl, contrast=[0, 1.0]),
        rtol=RTOL_EXACT,
    )


# -----------------------------------------------------------------------------
# Errors
# -----------------------------------------------------------------------------
def test_one_cluster_raises():
    x = np.ones((5, 1))
    with pytest.raises(
        InferenceError,
        match="cluster has 1 cluster; cluster-robust inference needs at least 2",
    ):
        cr2_vcov(x, np.arange(5.0), cluster=np.zeros(5, dtype=int))


def test_non_nested_absorbed_effects_raise(panel):
    _, xt, resid, _, _ = absorbed_problem(panel)
    period = np.tile(np.arange(4), resid.size // 4)
    with pytest.raises(
        InferenceError, match=r"span several clusters\. Only effects nested"
    ):
        cr2_vcov(xt, resid, cluster=panel["cl"], absorbed=period)


def test_not_within_transformed_design_raises(panel):
    _, _, resid, w, _ = absorbed_problem(panel)
    with pytest.raises(InferenceError, match="Column 0 of X is not demeaned"):
        cr2_vcov(
            panel["x"], resid, cluster=panel["cl"], weights=w, absorbed=panel["unit"]
        )


def test_residuals_not_orthogonal_raise(panel):
    _, xt, resid, w, _ = absorbed_problem(panel)
    with pytest.raises(InferenceError, match="resid do not sum to zero"):
        cr2_vcov(
            xt, resid + 1.0, cluster=panel["cl"], weights=w, absorbed=panel["unit"]
        )


def test_bad_inputs_raise():
    x = np.column_stack([np.ones(6), np.arange(6.0)])
    cl = np.array([0, 0, 1, 1, 2, 2])
    with pytest.raises(SpecError, match="resid has length 5 but the design has 6 rows"):
        cr2_vcov(x, np.ones(5), cluster=cl)
    with pytest.raises(SpecError, match="weights must be strictly positive"):
        cr2_vcov(x, np.ones(6), cluster=cl, weights=np.zeros(6))
    with pytest.raises(TneEvalTypeError, match="cluster must hold integer codes"):
        cr2_vcov(x, np.ones(6), cluster=np.array(list("aabbcc")))
    with pytest.raises(SpecError, match="codes must be consecutive"):
        cr2_vcov(x, np.ones(6), cluster=np.array([0, 0, 2, 2, 3, 3]))
    with pytest.raises(SpecError, match="contrast must have 2 columns"):
        satterthwaite_df(x, np.ones(6), cluster=cl, contrast=[1.0, 0, 0])
    with pytest.raises(SpecError, match="X holds 1 non-finite"):
        cr2_vcov(np.where(x == 5, np.nan, x), np.ones(6), cluster=cl)
    with pytest.raises(IdentificationError, match="X'WX is singular"):
        cr2_vcov(np.column_stack([x, x[:, 0]]), np.ones(6), cluster=cl)
    with pytest.raises(SpecError, match="kind='CR1' is not supported"):
        influence_cr_vcov(np.ones((6, 1)), cl, hessian=np.ones((3, 1, 1)), kind="CR1")
    with pytest.raises(SpecError, match=r"hessian must have shape \(3, 1, 1\)"):
        influence_cr_vcov(np.ones((6, 1)), cl, hessian=np.ones((2, 1, 1)))


# -----------------------------------------------------------------------------
# Low-rank CR2 path (working variance constant within clusters)
# -----------------------------------------------------------------------------
@pytest.mark.parametrize("weighted", ["none", "cluster", "row"])
@pytest.mark.parametrize("absorb", [False, True])
def test_lowrank_path_equals_explicit(monkeypatch, weighted, absorb):
    import tne_eval.inference.small_sample as ss

    rng = np.random.default_rng(31)
    data = make_panel(31, n_clusters=5, n_periods=6, row_weights=weighted == "row")
    if weighted == "none":
        data["w"] = np.ones_like(data["y"])
    elif weighted == "cluster":
        data["w"] = rng.uniform(0.5, 2, size=5)[data["cl"]]
    full, xt, resid, w, _ = absorbed_problem(data)
    k = xt.shape[1]
    if not absorb:  # unit dummies as explicit columns instead
        xt = full
    targets = [None] + ([1 / w] if weighted == "cluster" else [])
    for target in targets:
        theta = np.ones_like(w) if target is None else target
        c_full = np.zeros((2, full.shape[1]))
        c_full[:, :2] = np.eye(2)
        vref, p_arr = brute_cr2(full, resid, w, data["cl"], theta, c_full)
        kw = {
            "cluster": data["cl"],
            "weights": w,
            "target": target,
            "absorbed": data["unit"] if absorb else None,
        }
        for share in (0.0, 1e9):  # never / always low-rank
            monkeypatch.setattr(ss, "LOWRANK_MAX_SHARE", share)
            v = cr2_vcov(xt, resid, **kw)
            np.testing.assert_allclose(
                v[:k, :k], vref[:k, :k], rtol=RTOL_EXACT, atol=ATOL_EXACT
            )
            df = satterthwaite_df(xt, resid, contrast=np.eye(xt.shape[1])[:2], **kw)
            np.testing.assert_allclose(df, brute_df(p_arr), rtol=RTOL_EXACT)


def test_more_input_errors():
    o = ols_as_influence(27)
    with pytest.raises(
        SpecError, match=r"hessian must have shape \(7, 3, 3\).*got shape \(7, 2, 2\)"
    ):
        influence_cr_vcov(o["psi"], o["cl"], hessian=o["hess"][:, :2, :2])
    bad = o["hess"].copy()
    bad[0, 0, 1] += 1.0
    with pytest.raises(SpecError, match="hessian blocks must be symmetric"):
        influence_cr_vcov(o["psi"], o["cl"], hessian=bad)
    with pytest.raises(
        SpecError,
        match=r"null must be a number or one value per contrast row \(2; got 3\)",
    ):
        htz_test(
            o["x"],
            o["e"],
            o["beta"],
            cluster=o["cl"],
            contrast=np.eye(3)[:2],
            null=[0, 0, 0],
        )
