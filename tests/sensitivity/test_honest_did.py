"""honest_did against closed forms and an independent LP implementation of the tests.

The references here run everywhere:

- at M = 0 the smoothness FLCI is the GLS interval of the model with an exactly
  linear trend (closed form);
- the FLCI optimum is checked by a derivative-free search over the same
  estimators (Nelder-Mead on the half-length, many starts);
- the relative-magnitudes test is checked grid point by grid point against a
  second implementation that follows HonestDiD's route: an LP (HiGHS) for the
  statistic and its dual, and bisection with LPs for the truncation points;
- at Mbar = 0 the pre-period coefficients do not enter the set;
- identified sets are checked against LPs solved by brute-force vertex search.

Comparisons with R HonestDiD and diff-diff are in test_reference_honestdid.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

import tne_eval as tne
from tne_eval.errors import SpecError, TneEvalTypeError
from tne_eval.sensitivity._arp import accept_grid, rm_constraints, theta_basis
from tne_eval.sensitivity._flci import folded_normal_quantile, second_differences

#: FLCI against the GLS closed form: both solve linear systems (the FLCI's
#: least-variance start is a least-squares solve), so they agree to rounding.
RTOL_CLOSED_FORM = 1e-8
#: FLCI optimum against Nelder-Mead on the same convex objective: SLSQP stops at
#: ftol 1e-15 relative, Nelder-Mead at xatol/fatol 1e-12; the optimum is flat,
#: so half-lengths agree far better than the weights. Ours must be no worse.
RTOL_FLCI_OPTIMUM = 1e-6


def _example(k: int = 4, t: int = 3, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """An event study with correlated coefficients and a mild pre-trend."""
    rng = np.random.default_rng(seed)
    n = k + t
    root = rng.normal(size=(n, n)) / np.sqrt(n)
    sigma = 0.01 * (root @ root.T + np.eye(n))
    pre = 0.02 * np.arange(-k, 0) + rng.normal(0, 0.03, k)
    post = np.linspace(0.3, 0.5, t)
    return np.r_[pre, post], sigma


# -- smoothness ---------------------------------------------------------------------
def test_folded_normal_quantile_solves_its_equation():
    for b in (0.0, 0.3, 2.0, 8.0):
        c = folded_normal_quantile(b, 0.05)
        coverage = stats.norm.cdf(c - b) - stats.norm.cdf(-c - b)
        assert coverage == pytest.approx(0.95, abs=1e-12)
    assert folded_normal_quantile(0.0, 0.05) == pytest.approx(stats.norm.ppf(0.975))


def test_second_differences_annihilate_linear_trends_through_the_reference():
    d = second_differences(3, 2)
    t = np.r_[np.arange(-3, 0), np.arange(1, 3)].astype(float)
    np.testing.assert_allclose(d @ t, 0.0, atol=1e-14)
    assert d.shape == (4, 5)


@pytest.mark.parametrize("l_vec", [[1, 0, 0], [0, 0, 1], [1 / 3, 1 / 3, 1 / 3]])
def test_flci_at_m0_is_the_gls_interval_under_a_linear_trend(l_vec):
    b, sigma = _example()
    k, t = 4, 3
    lv = np.asarray(l_vec, dtype=float)
    res = tne.honest_did(
        betahat=b,
        sigma=sigma,
        num_pre=k,
        num_post=t,
        restriction="smoothness",
        m_values=[0.0],
        l_vec=lv,
    )
    # beta = slope * time + (0; tau) + noise: GLS of (slope, tau)
    time = np.r_[np.arange(-k, 0), np.arange(1, t + 1)].astype(float)
    z = np.column_stack([time, np.vstack([np.zeros((k, t)), np.eye(t)])])
    prec = np.linalg.inv(sigma)
    cov = np.linalg.inv(z.T @ prec @ z)
    gamma = cov @ z.T @ prec @ b
    theta = lv @ gamma[1:]
    se = np.sqrt(lv @ cov[1:, 1:] @ lv)
    q = stats.norm.ppf(0.975)
    row = res.to_frame().iloc[0]
    np.testing.assert_allclose(
        [row["conf_low"], row["conf_high"]],
        [theta - q * se, theta + q * se],
        rtol=RTOL_CLOSED_FORM,
    )


@pytest.mark.parametrize("m", [0.01, 0.05, 0.2])
def test_flci_is_the_optimum_over_affine_estimators(m):
    """Nelder-Mead over the K-1 free second-difference weights, 20 starts."""
    b, sigma = _example()
    k, t = 4, 3
    lv = np.array([0.5, 0.5, 0.0])
    res = tne.honest_did(
        betahat=b,
        sigma=sigma,
        num_pre=k,
        num_post=t,
        restriction="smoothness",
        m_values=[m],
        l_vec=lv,
    )
    row = res.to_frame().iloc[0]
    ours = (row["conf_high"] - row["conf_low"]) / 2
    d_t = second_differences(k, t).T
    post = d_t[k:]
    lam0 = np.linalg.lstsq(post, lv, rcond=None)[0]
    null = np.linalg.svd(post)[2][len(lv) :].T

    def half_length(z):
        lam = lam0 + null @ z
        v = d_t @ lam
        s = np.sqrt(v @ sigma @ v)
        return s * folded_normal_quantile(m * np.abs(lam).sum() / s, 0.05)

    rng = np.random.default_rng(0)
    best = min(
        optimize.minimize(
            half_length,
            rng.normal(0, 2, null.shape[1]),
            method="Nelder-Mead",
            options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 20000},
        ).fun
        for _ in range(20)
    )
    assert ours <= best * (1 + RTOL_FLCI_OPTIMUM)
    assert ours == pytest.approx(best, rel=RTOL_FLCI_OPTIMUM)


def test_flci_widens_monotonically_in_m():
    b, sigma = _example()
    res = tne.honest_did(
        betahat=b,
        sigma=sigma,
        num_pre=4,
        num_post=3,
        restriction="smoothness",
        m_values=np.linspace(0, 0.3, 7),
    )
    width = (res.to_frame()["conf_high"] - res.to_frame()["conf_low"]).to_numpy()
    assert np.all(np.diff(width) >= -1e-10)


# -- relative magnitudes: an independent implementation of the ARP test ---------------
def _lp_eta(y, x, sd):
    """min eta s.t. y - x d <= eta sd (HiGHS), with the dual weights gamma."""
    k = x.shape[1]
    c = np.r_[1.0, np.zeros(k)]
    a_ub = -np.column_stack([sd, x])
    res = optimize.linprog(
        c, A_ub=a_ub, b_ub=-y, bounds=[(None, None)] * (k + 1), method="highs"
    )
    return res.fun, -res.ineqlin.marginals


def _lp_dual_value(y, x, sd):
    """max gamma'y over gamma >= 0, sd'gamma = 1, x'gamma = 0."""
    m, k = x.shape
    res = optimize.linprog(
        -y,
        A_eq=np.vstack([sd, x.T]),
        b_eq=np.r_[1.0, np.zeros(k)],
        bounds=[(0, None)] * m,
        method="highs",
    )
    return -res.fun


def _bisect_edge(inside, start, far, tol=1e-9):
    """Last point from ``start`` towards ``far`` where ``inside`` holds."""
    if inside(far):
        return np.inf if far > start else -np.inf
    a, b = start, far
    while abs(b - a) > tol * max(1.0, abs(a)):
        mid = (a + b) / 2
        a, b = (mid, b) if inside(mid) else (a, mid)
    return a


def _lp_conditional_accept(y, x, sigma_y, alpha, cv_lf=np.inf, kappa=0.0):
    """ARP conditional (or, given cv_lf, hybrid) test with LPs and bisection."""
    sd = np.sqrt(np.diag(sigma_y))
    eta, gamma = _lp_eta(y, x, sd)
    if eta > cv_lf:
        return False
    size = (alpha - kappa) / (1 - kappa)
    var_b = gamma @ sigma_y @ gamma
    b = sigma_y @ gamma / var_b
    s = y - b * eta

    def on_set(c):
        return _lp_dual_value(s + b * c, x, sd) <= c + 1e-9 * max(1.0, abs(c))

    span = 50 * np.sqrt(var_b) + abs(eta)
    v_lo = _bisect_edge(on_set, eta, eta - span)
    v_up = _bisect_edge(on_set, eta, eta + span)
    sig = np.sqrt(var_b)
    lo, hi = v_lo / sig, min(v_up, cv_lf) / sig
    cval = max(0.0, stats.truncnorm.ppf(1 - size, lo, hi))
    return eta / sig <= cval


@pytest.mark.parametrize(("mbar", "s", "positive"), [(1.0, 0, True), (0.5, -2, False)])
def test_conditional_test_matches_an_lp_implementation(mbar, s, positive):
    b, sigma = _example()
    k, t = 4, 3
    lv = np.array([1.0, 0.0, 0.0])
    a = rm_constraints(k, t, mbar, s, positive)
    a = a[np.abs(a[:, k:]).sum(axis=1) > 0]
    ag = a[:, k:] @ np.linalg.inv(theta_basis(lv))
    y, sigma_y = a @ b, a @ sigma @ a.T
    se = np.sqrt(sigma[k, k])
    thetas = b[k] + se * np.linspace(-6, 6, 13)
    ours = accept_grid(
        y, ag[:, 0], ag[:, 1:], sigma_y, thetas, alpha=0.05, hybrid=False, kappa=0.005,
        n_sims=10, seed=0,
    )  # fmt: skip
    ref = np.array(
        [
            _lp_conditional_accept(y - ag[:, 0] * th, ag[:, 1:], sigma_y, 0.05)
            for th in thetas
        ]
    )
    np.testing.assert_array_equal(ours, ref)
    assert ours.any() and not ours.all()  # the grid crosses the set's edges


def test_hybrid_test_matches_an_lp_implementation():
    """C-LF: the first stage's critical value (checked against LPs below) is shared."""
    from tne_eval.sensitivity._arp import _least_favorable_cv, dual_vertices

    b, sigma = _example()
    k, t = 4, 3
    lv = np.array([0.0, 0.5, 0.5])
    a = rm_constraints(k, t, 1.0, -1, True)
    a = a[np.abs(a[:, k:]).sum(axis=1) > 0]
    ag = a[:, k:] @ np.linalg.inv(theta_basis(lv))
    y, sigma_y = a @ b, a @ sigma @ a.T
    sd = np.sqrt(np.diag(sigma_y))
    cv = _least_favorable_cv(dual_vertices(sd, ag[:, 1:]), sigma_y, 0.005, 1000, 0)
    se = np.sqrt(lv @ sigma[k:, k:] @ lv)
    thetas = lv @ b[k:] + se * np.linspace(-30, 30, 13)
    ours = accept_grid(
        y, ag[:, 0], ag[:, 1:], sigma_y, thetas, alpha=0.05, hybrid=True, kappa=0.005,
        n_sims=1000, seed=0,
    )  # fmt: skip
    ref = [
        _lp_conditional_accept(y - ag[:, 0] * th, ag[:, 1:], sigma_y, 0.05, cv, 0.005)
        for th in thetas
    ]
    np.testing.assert_array_equal(ours, ref)
    assert ours.any() and not ours.all()


def test_least_favorable_critical_value_matches_lp_draws():
    """The hybrid's first stage: max over dual vertices equals the LP value per draw."""
    from tne_eval.sensitivity._arp import dual_vertices

    _, sigma = _example()
    k, t = 4, 3
    a = rm_constraints(k, t, 1.0, -1, True)
    a = a[np.abs(a[:, k:]).sum(axis=1) > 0]
    ag = a[:, k:] @ np.linalg.inv(theta_basis(np.array([1.0, 0.0, 0.0])))
    sigma_y = a @ sigma @ a.T
    sd = np.sqrt(np.diag(sigma_y))
    vertices = dual_vertices(sd, ag[:, 1:])
    draws = np.random.default_rng(1).multivariate_normal(np.zeros(len(sd)), sigma_y, 40)
    lp = [_lp_eta(xi, ag[:, 1:], sd)[0] for xi in draws]
    np.testing.assert_allclose(
        (draws @ vertices.T).max(axis=1), lp, rtol=1e-9, atol=1e-12
    )


def test_rm_at_mbar0_ignores_the_pre_periods_and_covers_the_estimate():
    b, sigma = _example()
    kw = dict(num_pre=4, num_post=3, m_values=[0.0], grid_points=301)
    base = tne.honest_did(betahat=b, sigma=sigma, **kw).to_frame().iloc[0]
    other = b.copy()
    other[:4] = [0.5, -0.4, 0.3, 0.1]
    moved = tne.honest_did(betahat=other, sigma=sigma, **kw).to_frame().iloc[0]
    assert (base["conf_low"], base["conf_high"]) == (
        moved["conf_low"],
        moved["conf_high"],
    )
    assert base["conf_low"] < b[4] < base["conf_high"]
    assert base["id_low"] == pytest.approx(b[4]) and base["id_high"] == pytest.approx(
        b[4]
    )


def test_rm_sets_widen_with_mbar():
    b, sigma = _example()
    res = tne.honest_did(
        betahat=b, sigma=sigma, num_pre=4, num_post=3, m_values=[0, 0.5, 1, 2],
        grid_points=301,
    )  # fmt: skip
    f = res.to_frame()
    assert np.all(np.diff(f["conf_low"]) <= 0) and np.all(np.diff(f["conf_high"]) >= 0)
    assert np.all(f["conf_low"] <= f["id_low"]) and np.all(
        f["conf_high"] >= f["id_high"]
    )
    assert np.all(np.diff(f["id_low"]) <= 1e-12) and np.all(
        np.diff(f["id_high"]) >= -1e-12
    )


def test_rm_identified_set_matches_a_closed_form():
    """Single post-period: theta in beta_post -/+ Mbar * max |pre first difference|."""
    b = np.array([0.03, -0.05, 0.01, 0.4])
    diffs = np.abs(np.diff(np.r_[b[:3], 0.0]))
    res = tne.honest_did(
        betahat=b, sigma=np.eye(4) * 1e-3, num_pre=3, num_post=1, m_values=[0.5, 1.5],
        grid_points=101,
    )  # fmt: skip
    f = res.to_frame()
    for mbar, row in f.iterrows():
        half = mbar * diffs.max()
        assert row["id_low"] == pytest.approx(b[3] - half, abs=1e-10)
        assert row["id_high"] == pytest.approx(b[3] + half, abs=1e-10)


def test_breakdown_is_where_the_set_first_contains_zero():
    b, sigma = _example()
    res = tne.honest_did(
        betahat=b, sigma=sigma, num_pre=4, num_post=3, restriction="smoothness",
        m_values=np.linspace(0, 0.4, 5),
    )  # fmt: skip
    bd = res.breakdown
    assert 0 < bd < 0.4
    kw = dict(num_pre=4, num_post=3, restriction="smoothness")
    below = tne.honest_did(betahat=b, sigma=sigma, m_values=[bd * 0.999], **kw)
    above = tne.honest_did(betahat=b, sigma=sigma, m_values=[bd * 1.01], **kw)
    assert bool(below.to_frame()["excludes_zero"].iloc[0])
    assert not bool(above.to_frame()["excludes_zero"].iloc[0])


# -- inputs, result protocol, errors --------------------------------------------------
def test_result_protocol_and_original_interval():
    b, sigma = _example()
    res = tne.honest_did(
        betahat=b, sigma=sigma, num_pre=4, num_post=3, e="average", m_values=[0, 1],
        grid_points=101,
    )  # fmt: skip
    frame = res.to_frame()
    assert list(frame.columns) == [
        "conf_low", "conf_high", "excludes_zero", "id_low", "id_high", "method",
        "restriction",
    ]  # fmt: skip
    assert frame.index.name == "Mbar"
    np.testing.assert_allclose(res.l_vec, np.full(3, 1 / 3))
    se = np.sqrt(res.l_vec @ sigma[4:, 4:] @ res.l_vec)
    assert res.original["std_error"] == pytest.approx(se, rel=1e-12)
    assert res.original["conf_high"] - res.original["conf_low"] == pytest.approx(
        2 * stats.norm.ppf(0.975) * se, rel=1e-12
    )
    text = str(res)
    assert "Breakdown value" in text and "Rambachan" in text
    assert "Original CI" in res.summary().as_html()
    frame.iloc[0, 0] = 99.0
    assert res.to_frame().iloc[0, 0] != 99.0  # to_frame returns a copy


def test_errors_name_the_fix():
    b, sigma = _example()
    kw = dict(betahat=b, sigma=sigma, num_pre=4, num_post=3)
    with pytest.raises(SpecError, match="restriction='bounds' is not supported"):
        tne.honest_did(**kw, restriction="bounds")
    with pytest.raises(SpecError, match="e=7 is not a post-period event time"):
        tne.honest_did(**kw, e=7)
    with pytest.raises(SpecError, match="l_vec must have 3 finite weights"):
        tne.honest_did(**kw, l_vec=[1, 0])
    with pytest.raises(SpecError, match="m_values must be nonnegative"):
        tne.honest_did(**kw, m_values=[-1])
    with pytest.raises(SpecError, match="method='FLCI' is not supported"):
        tne.honest_did(**kw, method="FLCI")
    with pytest.raises(SpecError, match="both must have 7"):
        tne.honest_did(betahat=b[:-1], sigma=sigma, num_pre=4, num_post=3)
    with pytest.raises(SpecError, match="without a result, give all of"):
        tne.honest_did(betahat=b, sigma=sigma)
    with pytest.raises(TneEvalTypeError, match="honest_did takes an event study"):
        tne.honest_did(pd.DataFrame())
    with pytest.raises(SpecError, match="kappa must lie in"):
        tne.honest_did(**kw, kappa=0.2)


#: 16 clusters: the few-cluster diagnostic fires on these small fits.
few_clusters = pytest.mark.filterwarnings("ignore::tne_eval.errors.SmallClusterWarning")


@pytest.fixture(scope="module")
def small_world():
    gen = np.random.default_rng(11)
    rows = []
    for unit in range(80):
        cohort = (0, 4, 5)[unit % 3]
        fe = gen.normal()
        for period in range(1, 8):
            effect = 0.5 * (period - cohort + 1) if cohort and period >= cohort else 0.0
            rows.append(
                (
                    unit,
                    period,
                    cohort,
                    unit % 16,
                    fe + 0.1 * period + effect + gen.normal(),
                )
            )
    return pd.DataFrame(rows, columns=["unit", "period", "cohort", "cl", "y"])


def _spec():
    return tne.PanelSpec(
        unit="unit", time="period", outcome="y", cohort="cohort", cluster="cl"
    )


@few_clusters
def test_takes_the_dynamic_aggregate_and_the_twfe_event_study(small_world):
    gt = tne.att_gt(small_world, _spec(), base_period="universal")
    dyn = tne.aggregate(gt, kind="dynamic")
    a = tne.honest_did(dyn, restriction="smoothness", m_values=[0, 0.1])
    b = tne.honest_did(dyn.event_study(), restriction="smoothness", m_values=[0, 0.1])
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    es = dyn.event_study()
    keep = es.frame["event_time"] != -1
    arrays = tne.honest_did(
        betahat=es.frame.loc[keep, "estimate"].to_numpy(),
        sigma=es.vcov.loc[keep, keep].to_numpy(),
        num_pre=int((es.frame.loc[keep, "event_time"] < 0).sum()),
        num_post=int((es.frame["event_time"] >= 0).sum()),
        restriction="smoothness",
        m_values=[0, 0.1],
    )
    pd.testing.assert_frame_equal(a.to_frame(), arrays.to_frame())
    assert a.event_times == tuple(t for t in es.event_times if t != -1)
    with pytest.warns(tne.StaggeredAdoptionWarning):
        tw = tne.twfe_event_study(small_world, _spec(), reference=-1)
    res = tne.honest_did(tw, m_values=[0, 1], grid_points=101)
    assert np.isfinite(res.to_frame()[["conf_low", "conf_high"]].to_numpy()).all()
    assert not any("binned" in n for n in res.notes)
    with pytest.warns(tne.StaggeredAdoptionWarning):
        binned = tne.twfe_event_study(small_world, _spec(), leads=2, lags=1)
    res = tne.honest_did(binned, m_values=[0, 1], grid_points=101)
    assert res.event_times == (-2, 0, 1)
    assert any("['e<=-2', 'e>=1'] pool the event times" in n for n in res.notes)


@few_clusters
def test_varying_base_period_is_refused_with_the_fix(small_world):
    gt = tne.att_gt(small_world, _spec())
    with pytest.raises(SpecError, match="base_period='universal'"):
        tne.honest_did(tne.aggregate(gt, kind="dynamic"))


def test_plot_returns_axes_and_reuses_the_given_one():
    import matplotlib.pyplot as plt

    b, sigma = _example()
    res = tne.honest_did(
        betahat=b, sigma=sigma, num_pre=4, num_post=3, restriction="smoothness",
        m_values=np.linspace(0, 0.4, 5),
    )  # fmt: skip
    fig, ax = plt.subplots()
    out = res.plot(ax=ax)
    assert out is ax
    assert len(ax.containers) == 2  # original and robust error bars
    assert any("breakdown" in t.get_text() for t in ax.get_legend().get_texts())
    plt.close(fig)
    ax2 = tne.plotting.sensitivity.plot_sensitivity(res)
    assert ax2.get_xlabel() == "M"
    plt.close(ax2.figure)


# -- coverage -----------------------------------------------------------------------
@pytest.mark.parametrize("m", [0.0, 0.02, 0.1])
def test_flci_covers_exactly_one_minus_alpha_at_the_worst_case_violation(m):
    """v'beta ~ N(theta + v'delta, v'Sigma v): coverage is a normal probability.

    The FLCI's weights do not depend on beta, so its coverage at any delta is
    exact; at the delta of Delta^SD(M) with the largest bias (an LP) it must be
    1 - alpha, and above it at any other delta of the set (here: zero).
    """
    from tne_eval.sensitivity._flci import solve_flci

    _, sigma = _example()
    k, t = 4, 3
    lv = np.array([0.0, 1.0, 0.0])
    sol = solve_flci(sigma, k, t, lv, m, 0.05)
    d = second_differences(k, t)
    worst = optimize.linprog(
        -sol.weights,
        A_ub=np.vstack([d, -d]),
        b_ub=np.full(2 * len(d), m),
        bounds=[(None, None)] * (k + t),
        method="highs",
    )
    bias = -worst.fun if m > 0 else 0.0
    assert bias == pytest.approx(sol.max_bias, rel=1e-9, abs=1e-12)

    def coverage(b):
        sd = sol.std_error
        return stats.norm.cdf((sol.half_length - b) / sd) - stats.norm.cdf(
            (-sol.half_length - b) / sd
        )

    assert coverage(bias) == pytest.approx(0.95, abs=1e-10)
    assert coverage(0.0) >= 0.95 - 1e-12


def _rm_coverage(reps: int, seed: int, mbar: float) -> float:
    """Share of C-LF sets covering theta = 0.2 (e=0), 3 pre- and 2 post-periods.

    ``mbar = 0``: no post-period violation, the target is point identified and
    the hybrid test is exact up to Monte Carlo error. ``mbar = 1``: post-period
    differences of 0.15 equal the largest pre-period one (s = -1), the edge of
    Delta^RM(1).
    """
    from tne_eval._parallel import spawn_generators

    _, sigma = _example(k=3, t=2)
    if mbar == 0:
        pre, post = np.array([0.1, -0.05, 0.02]), np.zeros(2)
    else:
        pre, post = np.array([-0.1, 0.05, -0.05]), np.array([0.15, 0.3])
    mean = np.r_[pre, post + 0.2]
    covered = 0
    for gen in spawn_generators(seed, reps):
        b = gen.multivariate_normal(mean, sigma)
        # step 0.0025, 1/45 of the standard error: the grid costs no coverage
        res = tne.honest_did(
            betahat=b,
            sigma=sigma,
            num_pre=3,
            num_post=2,
            m_values=[mbar],
            grid_points=1201,
            grid_bounds=(-1.3, 1.7),
        )
        row = res.to_frame().iloc[0]
        covered += row["conf_low"] <= 0.2 <= row["conf_high"]
    return covered / reps


def test_rm_coverage_reduced():
    """60 draws at Mbar = 0: at 95% coverage, 52 or more are covered w.p. 0.997."""
    assert _rm_coverage(60, seed=5, mbar=0.0) >= 52 / 60


@pytest.mark.slow
def test_rm_coverage_exact_case():
    """1000 draws at Mbar = 0: within 3 MC SEs (0.021) of 0.95 (observed 0.946)."""
    assert abs(_rm_coverage(1000, seed=3, mbar=0.0) - 0.95) <= 0.021


@pytest.mark.slow
def test_rm_coverage_on_the_edge_of_the_restriction():
    """1000 draws at Mbar = 1, the violation on the edge: at least 0.95 - 3 MC SEs.

    Observed 1.000: the sets are conservative here, because the largest
    estimated pre-period difference, which scales Delta^RM, is biased upwards.
    """
    assert _rm_coverage(1000, seed=6, mbar=1.0) >= 0.929


def test_more_error_messages(small_world):
    b, sigma = _example()
    with pytest.raises(SpecError, match="sigma must be symmetric"):
        tne.honest_did(betahat=b, sigma=np.triu(sigma), num_pre=4, num_post=3)
    with pytest.raises(SpecError, match="grid_bounds must be"):
        tne.honest_did(
            betahat=b, sigma=sigma, num_pre=4, num_post=3, grid_bounds=(1, 0)
        )
    with pytest.raises(SpecError, match="give either an event-study result"):
        tne.honest_did(object(), betahat=b)
    with (
        pytest.warns(tne.StaggeredAdoptionWarning),
        pytest.warns(tne.SmallClusterWarning),
    ):
        tw = tne.twfe_event_study(small_world, _spec(), reference=-2)
    with pytest.raises(SpecError, match="expects a single reference at e=-1"):
        tne.honest_did(tw)
