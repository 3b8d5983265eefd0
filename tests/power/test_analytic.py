"""Analytic SE, MDE and power: two-group limit (statsmodels), brute force w'Σw."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import NormalIndPower, TTestIndPower

import tne_eval as tne
import tne_eval.datasets
from tne_eval.errors import (
    ConfigError,
    IdentificationError,
    InferenceError,
    SpecError,
    TneEvalTypeError,
)
from tne_eval.power import (
    PowerDesign,
    RandomEffectsPanel,
    VarianceComponents,
    estimand_weights,
    mde,
    power_analytic,
)

#: Power functions of scipy's noncentral t evaluated by two code paths
#: (statsmodels' and ours): the same scipy calls, differing by rounding.
RTOL_POWER = 1e-8
#: The exact MDE is a root found by brentq (ours to 1e-14, statsmodels' to its
#: own default tolerance).
RTOL_ROOT = 1e-6
#: w'Σw against the closed form: the same sums in another order.
RTOL_BRUTE = 1e-10


# ---------------------------------------------------------------------------
# Two-group limit: a two-sample t test on department changes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("g1", "g0"), [(5, 5), (8, 20), (30, 12)])
@pytest.mark.parametrize("sigma2", [1.0, 3.7])
def test_two_group_limit_equals_ttestindpower(g1, g0, sigma2):
    design = PowerDesign({2: g1}, g0, (1, 2))
    vc = VarianceComponents(0.0, 0.0, 0.0, sigma2, 0.0)
    res = power_analytic(design, vc, estimand="gt", cohort=2, period=2, df="pooled")
    sd_change = np.sqrt(2 * sigma2)  # SD of one department's change
    assert res.df == g1 + g0 - 2
    effects = np.array([0.0, 0.3, 1.0, 2.5]) * sd_change
    ours = res.power_at(effects)
    ref = [
        TTestIndPower().power(d / sd_change, g1, 0.05, ratio=g0 / g1) for d in effects
    ]
    np.testing.assert_allclose(ours, ref, rtol=RTOL_POWER, atol=1e-12)
    ref_mde = TTestIndPower().solve_power(
        effect_size=None, nobs1=g1, alpha=0.05, power=0.8, ratio=g0 / g1
    )
    np.testing.assert_allclose(res.mde_exact, ref_mde * sd_change, rtol=RTOL_ROOT)


def test_two_group_normal_limit_equals_normalindpower():
    design = PowerDesign({2: 7}, 11, (1, 2))
    vc = VarianceComponents(2.0, 0.0, 5.0, 1.5, 0.0)  # permanent parts cancel
    res = power_analytic(design, vc, estimand="simple", df="normal", alpha=0.1)
    sd_change = np.sqrt(2 * 1.5)
    effects = np.array([0.2, 0.9, 1.7]) * sd_change
    ref = [NormalIndPower().power(d / sd_change, 7, 0.1, ratio=11 / 7) for d in effects]
    np.testing.assert_allclose(res.power_at(effects), ref, rtol=RTOL_POWER)
    # Bloom's MDE with normal critical values
    se = sd_change * np.sqrt(1 / 7 + 1 / 11)
    np.testing.assert_allclose(res.mde, (1.6448536269514722 + 0.8416212335729143) * se)


# ---------------------------------------------------------------------------
# Brute force: the estimator written at school level, its exact variance w'Σw
# ---------------------------------------------------------------------------

DESIGN = PowerDesign(
    {3: 2, 4: 3, 6: 2},
    4,
    range(1, 8),
    schools_per_department={3: 2, 4: 3, 6: 1, 0: 4},
    pupils_per_school={3: 7.0, 4: 12.0, 6: 3.0, 0: 20.0},
)
VC = VarianceComponents(3.0, 0.7, 9.0, 2.5, 40.0)


def _schools(design):
    """(department, group, n pupils) of each school, in a fixed order."""
    rows, dep = [], 0
    for k in design.groups:
        for _ in range(design.n_departments_of(k)):
            rows += [(dep, k, design.pupils(k))] * round(design.schools(k))
            dep += 1
    return pd.DataFrame(rows, columns=["department", "group", "n"])


def _school_estimator(y, schools, periods, estimand, cohort=None, period=None, e=None):
    """Direct school-level computation of the estimator on a (schools x periods) Y."""
    g_of = schools["group"].to_numpy()
    col = {t: i for i, t in enumerate(periods)}
    cohorts = sorted(k for k in set(g_of) if k != 0)

    def att(g, t):
        b = g - 1 if t >= g else t - 1
        d = y[:, col[t]] - y[:, col[b]]
        return d[g_of == g].mean() - d[g_of == 0].mean()

    size = {g: (g_of == g).sum() for g in cohorts}
    if estimand == "simple":
        cells = [(g, t) for g in cohorts for t in periods if t >= g]
        w = np.array([size[g] for g, _ in cells], float)
        return sum(wi * att(g, t) for wi, (g, t) in zip(w / w.sum(), cells))
    if estimand == "event":
        cells = [(g, g + e) for g in cohorts if g + e in col and (g + e - 1) in col]
        w = np.array([size[g] for g, _ in cells], float)
        return sum(wi * att(g, t) for wi, (g, t) in zip(w / w.sum(), cells))
    if estimand == "group":
        return np.mean([att(cohort, t) for t in periods if t >= cohort])
    if estimand == "gt":
        return att(cohort, period)
    # pooled: cohort-by-cohort pre/post contrast, weights size x post periods
    total, out = 0.0, 0.0
    for g in cohorts:
        post = [col[t] for t in periods if t >= g]
        pre = [col[t] for t in periods if t < g]
        d = y[:, post].mean(axis=1) - y[:, pre].mean(axis=1)
        wg = size[g] * len(post)
        out += wg * (d[g_of == g].mean() - d[g_of == 0].mean())
        total += wg
    return out / total


def _full_covariance(schools, periods, vc):
    """Covariance of all school-period means under the random-effects model."""
    dep = np.repeat(schools["department"].to_numpy(), len(periods))
    sch = np.repeat(np.arange(len(schools)), len(periods))
    t = np.tile(np.arange(len(periods)), len(schools))
    n = np.repeat(schools["n"].to_numpy(), len(periods))
    same_dep = dep[:, None] == dep[None, :]
    same_t = t[:, None] == t[None, :]
    same_s = sch[:, None] == sch[None, :]
    return (
        vc.department * same_dep
        + vc.department_year * (same_dep & same_t)
        + vc.school * same_s
        + np.diag(vc.school_year + vc.pupil / n)
    )


def _linear_weights(fn, shape):
    """Weights of a linear estimator, by applying it to every basis matrix."""
    w = np.empty(shape[0] * shape[1])
    for i in range(w.size):
        e = np.zeros(w.size)
        e[i] = 1.0
        w[i] = fn(e.reshape(shape))
    return w


ESTIMANDS = [
    ("simple", {}),
    ("event", {"event_time": 0}),
    ("event", {"event_time": 2}),
    ("event", {"event_time": -2}),
    ("group", {"cohort": 3}),
    ("gt", {"cohort": 4, "period": 6}),
    ("gt", {"cohort": 6, "period": 2}),
    ("pooled", {}),
]


@pytest.mark.parametrize(("estimand", "kw"), ESTIMANDS)
def test_variance_equals_brute_force_quadratic_form(estimand, kw):
    schools = _schools(DESIGN)
    periods = DESIGN.periods
    fn = lambda y: _school_estimator(  # noqa: E731
        y,
        schools,
        periods,
        estimand,
        cohort=kw.get("cohort"),
        period=kw.get("period"),
        e=kw.get("event_time"),
    )
    w = _linear_weights(fn, (len(schools), len(periods)))
    sigma = _full_covariance(schools, periods, VC)
    res = power_analytic(DESIGN, VC, estimand=estimand, df="clusters", **kw)
    np.testing.assert_allclose(res.std_error**2, w @ sigma @ w, rtol=RTOL_BRUTE)


def test_school_level_estimator_is_att_gt(rng):
    """The brute-force estimator is what att_gt + aggregate compute."""
    design = PowerDesign({3: 3, 4: 3}, 5, range(1, 6), 2, 5)
    panel = RandomEffectsPanel(design, VC)(0.7, rng)
    spec = tne.PanelSpec(
        unit="school", time="period", outcome="y", cohort="cohort", cluster="department"
    )
    with pytest.warns(tne.SmallClusterWarning):
        gt = tne.att_gt(panel, spec, method="reg", inference=tne.Cluster())
    schools = panel.drop_duplicates("school")[["department", "cohort", "n_pupils"]]
    schools.columns = ["department", "group", "n"]
    y = panel.pivot(index="school", columns="period", values="y")
    y = y.loc[panel["school"].drop_duplicates()].to_numpy()
    periods = design.periods
    simple = tne.aggregate(gt, "simple").estimates.iloc[0]
    np.testing.assert_allclose(
        _school_estimator(y, schools, periods, "simple"), simple, rtol=1e-10
    )
    dyn = tne.aggregate(gt, "dynamic").to_frame()
    for e in (-2, 0, 1):
        np.testing.assert_allclose(
            _school_estimator(y, schools, periods, "event", e=e),
            dyn.loc[f"e={e}", "estimate"],
            rtol=1e-10,
        )


def test_weights_of_each_group_sum_to_zero():
    for estimand, kw in ESTIMANDS:
        for a in estimand_weights(DESIGN, estimand, **kw).values():
            assert abs(a.sum()) < 1e-14


def test_permanent_components_do_not_change_the_variance():
    base = power_analytic(DESIGN, VC).std_error
    bigger = VarianceComponents(300.0, 0.7, 900.0, 2.5, 40.0)
    np.testing.assert_allclose(power_analytic(DESIGN, bigger).std_error, base)


# ---------------------------------------------------------------------------
# The TNE numbers and degrees of freedom
# ---------------------------------------------------------------------------


def test_two_treated_departments_give_about_one_degree_of_freedom():
    d, vc = PowerDesign.tne(), VarianceComponents.from_world()
    res = power_analytic(d, vc, estimand="group", cohort=2020)
    assert 1.0 < res.df < 1.2  # Welch-Satterthwaite, dominated by 2 departments
    optimistic = power_analytic(d, vc, estimand="group", cohort=2020, df="clusters")
    assert optimistic.df == 100
    assert res.mde > 4 * optimistic.mde  # honest: t(1) versus t(100)
    np.testing.assert_allclose(
        res.mde,
        (
            _t(0.975, res.df) + _t(0.8, res.df)  # Bloom's formula
        )
        * res.std_error,
    )


def _t(q, df):
    from scipy import stats

    return stats.t.ppf(q, df)


def test_satterthwaite_df_closed_form():
    design = PowerDesign({2: 4}, 9, (1, 2))
    vc = VarianceComponents(0.0, 1.0, 0.0, 0.0, 0.0)
    res = power_analytic(design, vc, estimand="simple")
    v1, v0 = 2 / 4, 2 / 9
    np.testing.assert_allclose(res.df, (v1 + v0) ** 2 / (v1**2 / 3 + v0**2 / 8))


def test_power_at_mde_exact_is_target_and_at_zero_is_alpha():
    res = power_analytic(DESIGN, VC, alpha=0.1, power=0.9)
    np.testing.assert_allclose(res.power_at(res.mde_exact), 0.9, rtol=1e-10)
    np.testing.assert_allclose(res.power_at(0.0), 0.1, rtol=1e-10)
    assert mde(DESIGN, VC, alpha=0.1, power=0.9) == res.mde


def test_from_world_components():
    cfg = tne.datasets.WorldConfig()
    vc = VarianceComponents.from_world(cfg, subject="math")
    assert vc.department_year == cfg.department_year_sd**2
    assert vc.school_year == cfg.school_year_sd**2
    np.testing.assert_allclose(
        vc.pupil, cfg.pupil_sd**2 + 0.49 * 0.51 * 9.0 + 0.01 / 12
    )
    np.testing.assert_allclose(vc.icc().sum(), 1.0)


def test_design_from_panel_of_the_world():
    panel = tne.datasets.load_synthetic("school_panel")
    cm2 = panel.loc[panel["grade"] == "CM2"]
    d = PowerDesign.from_panel(
        cm2,
        unit="school_id",
        time="year",
        cohort="first_treated",
        department="department",
        n_pupils="n_pupils",
    )
    assert d.cohorts == {2020: 2, 2021: 10}
    assert d.n_comparison == 89
    assert d.periods == tuple(range(2016, 2025))
    n = cm2.loc[cm2["first_treated"] == 2020, "n_pupils"]
    np.testing.assert_allclose(d.pupils(2020), 1 / np.mean(1 / n))


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def test_errors():
    vc = VC
    with pytest.raises(ConfigError, match="at least two consecutive"):
        PowerDesign({2: 1}, 3, (1, 3))
    with pytest.raises(ConfigError, match="no period before it"):
        PowerDesign({1: 1}, 3, (1, 2))
    with pytest.raises(ConfigError, match="n_comparison must be a positive"):
        PowerDesign({2: 1}, 0, (1, 2))
    with pytest.raises(ConfigError, match="positive integer number of departments"):
        PowerDesign({2: 0}, 3, (1, 2))
    with pytest.raises(SpecError, match="no value for group"):
        PowerDesign({2: 1}, 3, (1, 2), schools_per_department={2: 3})
    with pytest.raises(ConfigError, match="finite variance >= 0"):
        VarianceComponents(-1.0, 0.0, 0.0, 0.0, 0.0)
    with pytest.raises(SpecError, match="estimand='wrong' is not supported"):
        power_analytic(DESIGN, vc, estimand="wrong")
    with pytest.raises(SpecError, match="needs event_time"):
        power_analytic(DESIGN, vc, estimand="event")
    with pytest.raises(IdentificationError, match="No cohort is observed"):
        power_analytic(DESIGN, vc, estimand="event", event_time=9)
    with pytest.raises(SpecError, match="not a cohort of the design"):
        power_analytic(DESIGN, vc, estimand="group", cohort=5)
    with pytest.raises(IdentificationError, match="not identified"):
        power_analytic(DESIGN, vc, estimand="gt", cohort=3, period=1)
    with pytest.raises(InferenceError, match="single department"):
        power_analytic(PowerDesign({2: 1}, 3, (1, 2)), vc)
    with pytest.raises(SpecError, match="df must be positive"):
        power_analytic(DESIGN, vc, df=-1)
    with pytest.raises(TneEvalTypeError, match="components must be"):
        power_analytic(DESIGN, {"pupil": 1.0})
    with pytest.raises(SpecError, match="power must lie strictly"):
        power_analytic(DESIGN, vc, power=1.0)
    with pytest.raises(SpecError, match="must exceed alpha"):
        power_analytic(DESIGN, vc, power=0.04)
    with pytest.raises(ConfigError, match="zero variance"):
        power_analytic(DESIGN, VarianceComponents(1.0, 0.0, 1.0, 0.0, 0.0))


def test_summary_renders():
    res = power_analytic(PowerDesign.tne(), VarianceComponents.from_world())
    text = str(res)
    assert "MDE at power 0.8" in text
    assert "never: 89" in text
    assert list(res.to_frame().columns) == ["power", "effect_over_se"]


def test_pooled_estimand_is_static_twfe_for_one_cohort(rng):
    """For one cohort on a balanced panel, the pooled 2x2 is static TWFE."""
    design = PowerDesign({4: 3}, 5, range(1, 7), 2, 5)
    panel = RandomEffectsPanel(design, VC)(1.3, rng)
    spec = tne.PanelSpec(
        unit="school", time="period", outcome="y", cohort="cohort", cluster="department"
    )
    with pytest.warns(tne.SmallClusterWarning):
        fit = tne.twfe(panel, spec)
    weights = estimand_weights(design, "pooled")
    means = panel.groupby(["cohort", "period"])["y"].mean()
    ours = sum(weights[k] @ means.loc[k].to_numpy() for k in design.groups)
    np.testing.assert_allclose(ours, fit.estimates.iloc[0], rtol=1e-10)


def test_from_panel_errors_and_no_mutation():
    panel = pd.DataFrame(
        {
            "s": ["a", "a", "b", "b", "c", "c"],
            "t": [1, 2, 1, 2, 1, 2],
            "g": [2, 2, 0, 0, 2, 2],
            "d": ["x", "x", "y", "y", "x", "x"],
        }
    )
    before = panel.copy()
    design = PowerDesign.from_panel(
        panel, unit="s", time="t", cohort="g", department="d"
    )
    pd.testing.assert_frame_equal(panel, before)
    assert design.cohorts == {2: 1} and design.schools(2) == 2.0
    bad = panel.assign(g=[2, 2, 0, 0, 0, 0])
    with pytest.raises(tne.DataError, match="more than one cohort"):
        PowerDesign.from_panel(bad, unit="s", time="t", cohort="g", department="d")
    with pytest.raises(tne.DataError, match="no never-treated department"):
        PowerDesign.from_panel(
            panel.assign(g=2), unit="s", time="t", cohort="g", department="d"
        )
    with pytest.raises(tne.SpecError, match="not in the data"):
        PowerDesign.from_panel(panel, unit="s", time="t", cohort="g", department="z")


def test_power_curve_is_finite_where_scipy_nct_returns_nan():
    from scipy import stats

    from tne_eval.power import power_curve

    # scipy 1.17 returns NaN for some far lower tails (below 1e-15) of t(1)
    d = np.linspace(15.0, 40.0, 2001)
    for df in (1.0, 1.0005, 1.04, 1.062, 2.0):
        c = stats.t.ppf(0.975, df)
        p = power_curve(d, 1.0, df=df)
        assert np.all(np.isfinite(p))
        assert np.all(np.diff(p) >= 0)
        # the lower tail is negligible there: power is the upper tail
        np.testing.assert_allclose(p, stats.nct.sf(c, df, d), rtol=1e-12)
