"""Wild cluster bootstrap against a brute-force refit loop and against wildboottest."""

import warnings

import numpy as np
import pytest

from tne_eval.errors import (
    InferenceError,
    SmallClusterWarning,
    SpecError,
    TneEvalTypeError,
)
from tne_eval.inference.wild import (
    score_wild_bootstrap,
    wild_cluster_bootstrap,
    wild_weights,
)

# Closed-form algebra vs explicit refits: rounding only.
RTOL_EXACT = 1e-10
ATOL_EXACT = 1e-10
# Two independent sets of B = 9999 draws: the p-values are binomial proportions with
# sd <= sqrt(0.25 / 9999) = 0.005 each; 4 sd of the difference.
P_MC_TOL = 4 * np.sqrt(2 * 0.25 / 9999)


def make_data(seed, *, n_clusters=6, p=3, weighted=True, n_per=(4, 12)):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(*n_per, size=n_clusters)
    cl = np.repeat(np.arange(n_clusters), sizes)
    n = cl.size
    x = np.column_stack(
        [np.ones(n), (cl % 3 == 0).astype(float), rng.normal(size=(n, p - 2))]
    )
    y = (
        x @ np.r_[1.0, 0.3, rng.normal(size=p - 2)]
        + rng.normal(size=n_clusters)[cl]
        + rng.normal(size=n)
    )
    w = rng.uniform(0.5, 2, size=n) if weighted else np.ones(n)
    return x, y, w, cl


def cr1_t(x, y, w, cl, c, r, f):
    sw = np.sqrt(w)
    xs, ys = x * sw[:, None], y * sw
    m = np.linalg.inv(xs.T @ xs)
    b = m @ xs.T @ ys
    e = ys - xs @ b
    sc = np.array([xs[cl == g].T @ e[cl == g] for g in np.unique(cl)])
    v = f * m @ sc.T @ sc @ m
    return (c @ b - r) / np.sqrt(c @ v @ c), b


def brute_t_boot(x, y, w, cl, c, r, v, impose_null, f):
    """Refit WLS on every bootstrap sample."""
    sw = np.sqrt(w)
    xs = x * sw[:, None]
    m = np.linalg.inv(xs.T @ xs)
    _, b = cr1_t(x, y, w, cl, c, r, f)
    if impose_null:
        b0 = b - m @ c * (c @ b - r) / (c @ m @ c)
        center = r
    else:
        b0 = b
        center = c @ b
    e0 = y - x @ b0
    out = np.empty(v.shape[1])
    for j in range(v.shape[1]):
        ystar = x @ b0 + v[cl, j] * e0
        t, _ = cr1_t(x, ystar, w, cl, c, center, f)
        out[j] = t
    return out


@pytest.mark.parametrize("impose_null", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_enumerated_t_boot_equals_refit_loop(impose_null, weighted):
    x, y, w, cl = make_data(1, weighted=weighted)
    c = np.array([0.0, 1.0, 0.0])
    with pytest.warns(SmallClusterWarning, match=r"only 6\d distinct t statistics"):
        res = wild_cluster_bootstrap(
            x,
            y,
            cluster=cl,
            contrast=c,
            null=0.2,
            weights=w,
            impose_null=impose_null,
            reps=999,
            conf_int=False,
        )
    assert res.enumerated and res.reps == 64
    n, p = x.shape
    f = 6 / 5 * (n - 1) / (n - p)
    v, _ = wild_weights(6, 999)
    ref = brute_t_boot(x, y, w, cl, c, 0.2, v, impose_null, f)
    np.testing.assert_allclose(res.t_boot, ref, rtol=RTOL_EXACT, atol=ATOL_EXACT)
    t, _ = cr1_t(x, y, w, cl, c, 0.2, f)
    np.testing.assert_allclose(res.t_stat, t, rtol=RTOL_EXACT)
    tie = 1e-10 * abs(t)
    assert res.p_value == np.mean(np.abs(ref) >= abs(t) - tie)
    assert res.p_value_equal_tailed == min(
        1, 2 * min(np.mean(ref <= t + tie), np.mean(ref >= t - tie))
    )


@pytest.mark.parametrize("weight_type", ["mammen", "webb"])
def test_random_weights_t_boot_equal_refit_loop(weight_type):
    x, y, w, cl = make_data(2, n_clusters=8)
    c = np.array([0.0, 1.0, 1.0])
    with pytest.warns(SmallClusterWarning):
        res = wild_cluster_bootstrap(
            x,
            y,
            cluster=cl,
            contrast=c,
            weights=w,
            weight_type=weight_type,
            reps=50,
            seed=3,
            conf_int=False,
        )
    v, enumerated = wild_weights(8, 50, weight_type=weight_type, seed=3)
    assert not enumerated
    n, p = x.shape
    ref = brute_t_boot(x, y, w, cl, c, 0.0, v, True, 8 / 7 * (n - 1) / (n - p))
    np.testing.assert_allclose(res.t_boot, ref, rtol=RTOL_EXACT, atol=ATOL_EXACT)


def test_weights_have_mean_zero_variance_one():
    for kind in ("rademacher", "mammen", "webb"):
        v, _ = wild_weights(200, 2000, weight_type=kind, seed=0)
        assert abs(v.mean()) < 0.01
        assert abs(v.var() - 1) < 0.01
    v, enumerated = wild_weights(3, 8)
    assert enumerated
    assert {tuple(col) for col in v.T} == {
        (a, b, c) for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)
    }


def test_seed_reproducibility():
    x, y, _, cl = make_data(4, n_clusters=14)
    kw = {"cluster": cl, "contrast": [0, 1.0, 0], "reps": 999, "conf_int": False}
    a = wild_cluster_bootstrap(x, y, seed=7, **kw)
    b = wild_cluster_bootstrap(x, y, seed=np.random.default_rng(7), **kw)
    c = wild_cluster_bootstrap(x, y, seed=8, **kw)
    np.testing.assert_array_equal(a.t_boot, b.t_boot)
    assert not np.array_equal(a.t_boot, c.t_boot)
    assert a.n_distinct > 900


@pytest.mark.parametrize("impose_null", [True, False])
def test_confidence_interval_inverts_the_test(impose_null):
    x, y, w, cl = make_data(5, n_clusters=14)
    kw = {
        "cluster": cl,
        "contrast": [0, 1.0, 0],
        "weights": w,
        "reps": 1999,
        "seed": 1,
        "impose_null": impose_null,
    }
    res = wild_cluster_bootstrap(x, y, **kw)
    for ci, key in (
        (res.conf_int, "p_value"),
        (res.conf_int_equal_tailed, "p_value_equal_tailed"),
    ):
        lo, hi = ci
        assert lo < res.estimate < hi
        eps = 1e-6 * res.std_error
        for bound, outside in ((lo, lo - eps), (hi, hi + eps)):
            inside_p = getattr(
                wild_cluster_bootstrap(
                    x,
                    y,
                    null=bound + np.sign(res.estimate - bound) * eps,
                    conf_int=False,
                    **kw,
                ),
                key,
            )
            outside_p = getattr(
                wild_cluster_bootstrap(x, y, null=outside, conf_int=False, **kw), key
            )
            assert inside_p >= 0.05 > outside_p


def test_unrestricted_symmetric_ci_is_percentile_t():
    x, y, _, cl = make_data(6, n_clusters=14)
    res = wild_cluster_bootstrap(
        x, y, cluster=cl, contrast=[0, 1.0, 0], impose_null=False, reps=1999, seed=2
    )
    q = np.sort(np.abs(res.t_boot))
    # p(r) >= alpha  <=>  |t(r)| <= the (1 - alpha) order statistic of |t*|
    k = int(np.ceil(0.95 * q.size))
    half = res.conf_int[1] - res.estimate
    assert q[k - 2] * res.std_error <= half + 1e-9
    assert half <= q[k - 1] * res.std_error + 1e-9


# -----------------------------------------------------------------------------
# Score bootstrap for influence functions
# -----------------------------------------------------------------------------
def ols_influence(x, y, w, cl):
    n = y.size
    m = np.linalg.inv(x.T @ (w[:, None] * x))
    b = m @ x.T @ (w * y)
    e = y - x @ b
    psi = n * (x * (w * e)[:, None]) @ m
    hess = np.stack(
        [x[cl == g].T @ (w[cl == g, None] * x[cl == g]) for g in np.unique(cl)]
    )
    return psi, hess, b


@pytest.mark.parametrize("impose_null", [True, False])
def test_score_bootstrap_equals_wild_bootstrap_for_wls(impose_null):
    x, y, w, cl = make_data(7, n_clusters=7)
    psi, hess, b = ols_influence(x, y, w, cl)
    c = np.array([0.0, 1.0, 0.0])
    kw = {
        "contrast": c,
        "null": 0.1,
        "impose_null": impose_null,
        "reps": 999,
        "small_sample": False,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallClusterWarning)
        ours = score_wild_bootstrap(psi, cl, b, hessian=hess, **kw)
        ref = wild_cluster_bootstrap(x, y, cluster=cl, weights=w, **kw)
    np.testing.assert_allclose(
        ours.t_boot, ref.t_boot, rtol=RTOL_EXACT, atol=ATOL_EXACT
    )
    np.testing.assert_allclose(
        [ours.t_stat, ours.p_value], [ref.t_stat, ref.p_value], rtol=RTOL_EXACT
    )
    np.testing.assert_allclose(ours.conf_int, ref.conf_int, rtol=1e-8)


def test_score_bootstrap_without_hessian_is_multiplier_bootstrap():
    x, y, w, cl = make_data(8, n_clusters=15)
    psi, _, b = ols_influence(x, y, w, cl)
    c = np.array([0.0, 1.0, 0.0])
    res = score_wild_bootstrap(
        psi,
        cl,
        b,
        contrast=c,
        impose_null=False,
        reps=999,
        seed=0,
        conf_int=False,
        small_sample=False,
    )
    v, _ = wild_weights(15, 999, seed=0)
    sums = np.stack([psi[cl == g].sum(axis=0) for g in range(15)]) / y.size
    draws = (sums @ c) @ v
    np.testing.assert_allclose(res.t_boot, draws / res.std_error, rtol=RTOL_EXACT)


def test_score_bootstrap_restricted_needs_hessian():
    psi = np.ones((10, 1))
    with pytest.raises(InferenceError, match="impose_null=True needs hessian="):
        score_wild_bootstrap(psi, np.repeat(np.arange(5), 2), [1.0], contrast=[1.0])


# -----------------------------------------------------------------------------
# wildboottest 0.3.2
# -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("impose_null", "weight_type"),
    [(True, "rademacher"), (False, "rademacher"), (True, "webb"), (True, "mammen")],
)
def test_p_values_agree_with_wildboottest(impose_null, weight_type):
    wbt = pytest.importorskip("wildboottest.wildboottest")
    x, y, _, cl = make_data(9, n_clusters=20, weighted=False, n_per=(10, 30))
    c = np.array([0.0, 1.0, 0.0])
    ours = wild_cluster_bootstrap(
        x,
        y,
        cluster=cl,
        contrast=c,
        impose_null=impose_null,
        weight_type=weight_type,
        reps=9999,
        seed=11,
        conf_int=False,
    )
    boot = wbt.WildboottestCL(
        X=x, Y=y, cluster=cl, R=c, B=9999, seed=12, parallel=False
    )
    boot.get_scores(bootstrap_type="11", impose_null=impose_null)
    boot.get_weights(weights_type=weight_type)
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    boot.get_vcov()
    boot.get_tstat()
    np.testing.assert_allclose(ours.t_stat, np.ravel(boot.t_stat)[0], rtol=1e-8)
    boot.get_pvalue(pval_type="two-tailed")
    assert abs(ours.p_value - boot.pvalue) < P_MC_TOL
    boot.get_pvalue(pval_type="equal-tailed")
    assert abs(ours.p_value_equal_tailed - boot.pvalue) < P_MC_TOL


def test_enumeration_agrees_with_wildboottest():
    wbt = pytest.importorskip("wildboottest.wildboottest")
    x, y, _, cl = make_data(10, n_clusters=9, weighted=False)
    c = np.array([0.0, 1.0, 0.0])
    ours = wild_cluster_bootstrap(
        x, y, cluster=cl, contrast=c, reps=999, conf_int=False
    )
    boot = wbt.WildboottestCL(X=x, Y=y, cluster=cl, R=c, B=999, parallel=False)
    boot.get_scores(bootstrap_type="11", impose_null=True)
    boot.get_weights(weights_type="rademacher")
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    assert boot.full_enumeration
    theirs = np.sort(np.ravel(boot.t_boot))
    # wildboottest enumerates the same 2^9 sign patterns (its first column may be
    # the identity draw, hence a possible one-draw offset): compare the sorted sets
    mine = np.sort(ours.t_boot)
    if theirs.size == mine.size:
        np.testing.assert_allclose(theirs, mine, rtol=1e-8, atol=1e-10)
    else:
        assert np.all(np.min(np.abs(theirs[:, None] - mine[None, :]), axis=1) < 1e-8)


# -----------------------------------------------------------------------------
# Errors
# -----------------------------------------------------------------------------
def test_input_errors():
    x, y, _, cl = make_data(12)
    with pytest.raises(SpecError, match="contrast must have 3 entries"):
        wild_cluster_bootstrap(x, y, cluster=cl, contrast=[1.0, 0])
    with pytest.raises(SpecError, match="weight_type='normal' is not supported"):
        wild_cluster_bootstrap(
            x, y, cluster=cl, contrast=[0, 1.0, 0], weight_type="normal"
        )
    with pytest.raises(InferenceError, match="needs at least 2 clusters"):
        wild_cluster_bootstrap(
            x, y, cluster=np.zeros(y.size, dtype=int), contrast=[0, 1.0, 0]
        )
    with pytest.raises(TneEvalTypeError, match="seed must be None"):
        wild_cluster_bootstrap(x, y, cluster=cl, contrast=[0, 1.0, 0], seed=1.5)
    with pytest.raises(SpecError, match="alpha must lie strictly between 0 and 1"):
        wild_cluster_bootstrap(x, y, cluster=cl, contrast=[0, 1.0, 0], alpha=1.5)
    with pytest.raises(SpecError, match="null must be a number"):
        wild_cluster_bootstrap(x, y, cluster=cl, contrast=[0, 1.0, 0], null="zero")


def test_absorbed_nested_effects_give_the_explicit_dummies_bootstrap():
    # unit effects nested in clusters: within-transformed X and y give the same t*
    rng = np.random.default_rng(13)
    n_clusters, units_per, periods = 7, 3, 4
    unit = np.repeat(np.arange(n_clusters * units_per), periods)
    cl = unit // units_per
    period = np.tile(np.arange(periods), n_clusters * units_per)
    d = ((cl < 2) & (period >= 2)).astype(float)
    x = np.column_stack([d, rng.normal(size=unit.size), np.eye(periods)[period][:, 1:]])
    y = x[:, 0] + rng.normal(size=unit.max() + 1)[unit] + rng.normal(size=unit.size)
    w = rng.uniform(0.5, 2, size=unit.max() + 1)[unit]
    full = np.column_stack([x, np.eye(unit.max() + 1)[unit]])
    sw = np.bincount(unit, weights=w)

    def within(a):
        return a - (
            np.stack(
                [np.bincount(unit, weights=w * col) for col in np.atleast_2d(a.T)],
                axis=1,
            )
            / sw[:, None]
        )[unit].reshape(a.shape)

    c_full = np.zeros(full.shape[1])
    c_full[0] = 1.0
    kw = {
        "cluster": cl,
        "weights": w,
        "reps": 999,
        "conf_int": False,
        "small_sample": False,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallClusterWarning)
        ref = wild_cluster_bootstrap(full, y, contrast=c_full, **kw)
        ours = wild_cluster_bootstrap(
            within(x), within(y), contrast=c_full[: x.shape[1]], **kw
        )
    np.testing.assert_allclose(
        ours.t_boot, ref.t_boot, rtol=RTOL_EXACT, atol=ATOL_EXACT
    )


@pytest.mark.slow
def test_few_treated_clusters_size_pattern_of_mackinnon_webb():
    """Size of 5% tests, 40 clusters, Webb weights, 399 draws, 400 replications.

    Observed with this seed: 2 treated clusters, WCR 0.000 and WCU 0.205 (MacKinnon &
    Webb 2017, 2018: WCR under-rejects, WCU over-rejects); 12 treated, 0.060 and 0.065.
    """
    rng = np.random.default_rng(5)
    reps = 400
    rej = {"wcr2": 0, "wcu2": 0, "wcr12": 0, "wcu12": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallClusterWarning)
        for _ in range(reps):
            for n_treated in (2, 12):
                sizes = rng.integers(10, 60, 40)
                cl = np.repeat(np.arange(40), sizes)
                x = np.column_stack(
                    [
                        np.ones(cl.size),
                        (cl < n_treated).astype(float),
                        rng.normal(size=cl.size),
                    ]
                )
                y = rng.normal(size=40)[cl] + rng.normal(size=cl.size)
                for impose, name in ((True, "wcr"), (False, "wcu")):
                    res = wild_cluster_bootstrap(
                        x,
                        y,
                        cluster=cl,
                        contrast=[0, 1.0, 0],
                        impose_null=impose,
                        reps=399,
                        seed=rng,
                        conf_int=False,
                        weight_type="webb",
                    )
                    rej[f"{name}{n_treated}"] += res.p_value < 0.05
    size = {k: v / reps for k, v in rej.items()}
    # sd of a rejection rate near 0.05 from 400 replications: 0.011
    assert size["wcr2"] < 0.02, size
    assert size["wcu2"] > 0.12, size
    assert 0.02 < size["wcr12"] < 0.09, size
    assert 0.02 < size["wcu12"] < 0.09, size


def test_score_bootstrap_with_group_means_equals_did_regression():
    # the 2x2 form of a group-time ATT: difference of two group means, influence
    # functions of (mu_control, mu_treated) with group_mean_hessian
    from tne_eval.inference.small_sample import group_mean_hessian

    rng = np.random.default_rng(14)
    cl = np.repeat(np.arange(9), rng.integers(4, 12, size=9))
    d = (cl < 3).astype(int)
    dy = 0.5 * d + rng.normal(size=9)[cl] + rng.normal(size=cl.size)
    n = dy.size
    mu = np.array([dy[d == 0].mean(), dy[d == 1].mean()])
    psi = np.zeros((n, 2))
    for j in range(2):
        psi[d == j, j] = n * (dy[d == j] - mu[j]) / np.sum(d == j)
    kw = {"null": 0.2, "reps": 999, "small_sample": False}
    ours = score_wild_bootstrap(
        psi,
        cl,
        mu,
        contrast=[-1.0, 1.0],
        hessian=group_mean_hessian(np.ones(n), d, cl),
        **kw,
    )
    x = np.column_stack([np.ones(n), d])
    ref = wild_cluster_bootstrap(x, dy, cluster=cl, contrast=[0.0, 1.0], **kw)
    np.testing.assert_allclose(
        ours.t_boot, ref.t_boot, rtol=RTOL_EXACT, atol=ATOL_EXACT
    )
    np.testing.assert_allclose(ours.conf_int, ref.conf_int, rtol=1e-8)
