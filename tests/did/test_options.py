"""Options of the DiD estimators that no other test exercised.

* a valid non-default ``alpha`` at fit time: the interval width follows the
  t(G-1) or normal quantile;
* clusters chosen at fit time (``inference=Cluster(by=...)``,
  ``MultiplierBootstrap(by=...)``) give the result of a spec with
  ``cluster=...``;
* ``prepare_panel(..., require_comparison=False)``;
* a bootstrap chosen at aggregation time: SEs within Monte Carlo error of the
  analytic ones, and its seed reproduces;
* the pre-trend p-value and the interval endpoints as formulas (replacing two
  doctest checks of tne_eval that cannot fail: ``0 <= p <= 1`` and
  ``conf_low < estimate < conf_high``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import tne_eval as tne
from tne_eval.data import prepare_panel
from tne_eval.did import aggregate, att_gt
from tne_eval.errors import IdentificationError

# Same estimator, same data, only a different route to the same clusters or the
# same formula: agreement to rounding (never bit for bit across code paths).
RTOL_SAME_FORMULA = 1e-10
# A multiplier-bootstrap SE with B draws estimates the analytic SE (without the
# G/(G-1) factor) with a relative Monte Carlo SD of about 1.17/sqrt(B) for the
# IQR-based SE used here (normal limit): 4000 draws give 1.8%, and 10% is more
# than 5 such SDs. The number of
# clusters (30 units) adds a small-sample gap between the bootstrap and the
# analytic variance of the same influence functions, well inside that margin.
BOOT_REPS = 4000
RTOL_BOOT_VS_ANALYTIC = 0.10
ALPHA = 0.10  # a valid non-default level


def _spec(**roles) -> tne.PanelSpec:
    return tne.PanelSpec(
        unit="unit", time="period", outcome="y", cohort="cohort", **roles
    )


pytestmark = pytest.mark.filterwarnings("ignore::tne_eval.errors.SmallClusterWarning")


# ---------------------------------------------------------------------------
# alpha at fit time
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inference", "quantile"),
    [
        ("cluster", "t"),  # Cluster(): G/(G-1) and t(G-1)
        ("iid", "normal"),
        (tne.Cluster(small_sample=False), "normal"),
    ],
)
def test_att_gt_alpha_sets_the_interval_width(
    small_staggered_panel, inference, quantile
):
    spec = _spec(cluster="cluster")
    res = att_gt(
        small_staggered_panel, spec, method="reg", inference=inference, alpha=ALPHA
    )
    assert res.alpha == ALPHA
    frame = res.to_frame()  # at the fit-time alpha
    if quantile == "t":
        assert res.dof == res.n_clusters - 1 == 4
        crit = stats.t.ppf(1 - ALPHA / 2, res.dof)
    else:
        assert not res.dof
        crit = stats.norm.ppf(1 - ALPHA / 2)
    ok = frame["std_error"].notna()
    half = (frame["conf_high"] - frame["conf_low"])[ok] / 2
    np.testing.assert_allclose(
        half, crit * frame["std_error"][ok], rtol=RTOL_SAME_FORMULA
    )
    mid = (frame["conf_high"] + frame["conf_low"])[ok] / 2
    np.testing.assert_allclose(mid, frame["estimate"][ok], rtol=RTOL_SAME_FORMULA)
    # the same fit at the default level: same estimates and SEs, wider by the ratio
    default = att_gt(small_staggered_panel, spec, method="reg", inference=inference)
    np.testing.assert_allclose(
        default.std_errors[ok], res.std_errors[ok], rtol=RTOL_SAME_FORMULA
    )
    wide = default.to_frame()
    ratio = (wide["conf_high"] - wide["conf_low"])[ok] / (2 * half)
    dof = res.dof if quantile == "t" else np.inf
    expected = stats.t.ppf(0.975, dof) / stats.t.ppf(1 - ALPHA / 2, dof)
    np.testing.assert_allclose(ratio, expected, rtol=RTOL_SAME_FORMULA)
    # aggregation inherits the fit-time level
    simple = aggregate(res, kind="simple")
    assert simple.alpha == ALPHA
    row = simple.to_frame().iloc[0]
    np.testing.assert_allclose(
        row["conf_high"] - row["estimate"],
        crit * row["std_error"],
        rtol=RTOL_SAME_FORMULA,
    )


def test_twfe_alpha_sets_the_interval_width(small_staggered_panel):
    spec = _spec(cluster="cluster")
    with pytest.warns(tne.StaggeredAdoptionWarning):
        res = tne.twfe(small_staggered_panel, spec, alpha=ALPHA)
    assert res.alpha == ALPHA and res.dof == 4
    ci = res.conf_int().loc["D"]
    crit = stats.t.ppf(1 - ALPHA / 2, res.dof)
    np.testing.assert_allclose(
        ci["conf_high"] - ci["conf_low"],
        2 * crit * res.std_errors["D"],
        rtol=RTOL_SAME_FORMULA,
    )


# ---------------------------------------------------------------------------
# clusters at fit time
# ---------------------------------------------------------------------------


def test_att_gt_cluster_by_at_fit_time_equals_spec_cluster(small_staggered_panel):
    by_spec = att_gt(small_staggered_panel, _spec(cluster="cluster"), method="reg")
    by_inference = att_gt(
        small_staggered_panel,
        _spec(),
        method="reg",
        inference=tne.Cluster(by="cluster"),
    )
    unit_level = att_gt(small_staggered_panel, _spec(), method="reg")
    assert by_inference.n_clusters == by_spec.n_clusters == 5
    assert by_inference.dof == by_spec.dof == 4
    a, b = by_spec.to_frame(), by_inference.to_frame()
    for col in ("estimate", "std_error", "conf_low", "conf_high", "p_value"):
        np.testing.assert_allclose(b[col], a[col], rtol=RTOL_SAME_FORMULA, err_msg=col)
    np.testing.assert_allclose(
        by_inference.pretest.statistic,
        by_spec.pretest.statistic,
        rtol=RTOL_SAME_FORMULA,
    )
    # and re-clustering did change something: 5 clusters are not 30 units
    ok = a["std_error"].notna()
    assert not np.allclose(unit_level.std_errors[ok], a["std_error"][ok], rtol=0.01)


def test_att_gt_bootstrap_by_at_fit_time_equals_spec_cluster(small_staggered_panel):
    by_spec = att_gt(
        small_staggered_panel,
        _spec(cluster="cluster"),
        method="reg",
        inference=tne.MultiplierBootstrap(reps=499, seed=11),
    )
    by_inference = att_gt(
        small_staggered_panel,
        _spec(),
        method="reg",
        inference=tne.MultiplierBootstrap(reps=499, seed=11, by="cluster"),
    )
    a, b = by_spec.to_frame(), by_inference.to_frame()
    for col in ("std_error", "band_low", "band_high"):
        np.testing.assert_allclose(b[col], a[col], rtol=RTOL_SAME_FORMULA, err_msg=col)
    np.testing.assert_allclose(
        by_inference.band_critical_value(),
        by_spec.band_critical_value(),
        rtol=RTOL_SAME_FORMULA,
    )


def test_twfe_cluster_by_at_fit_time_equals_spec_cluster(small_staggered_panel):
    with pytest.warns(tne.StaggeredAdoptionWarning):
        by_spec = tne.twfe(small_staggered_panel, _spec(cluster="cluster"))
    with pytest.warns(tne.StaggeredAdoptionWarning):
        by_inference = tne.twfe(
            small_staggered_panel, _spec(), inference=tne.Cluster(by="cluster")
        )
    assert by_inference.n_clusters == by_spec.n_clusters == 5
    assert by_inference.dof == by_spec.dof
    np.testing.assert_allclose(
        by_inference.estimates, by_spec.estimates, rtol=RTOL_SAME_FORMULA
    )
    np.testing.assert_allclose(
        by_inference.std_errors, by_spec.std_errors, rtol=RTOL_SAME_FORMULA
    )


# ---------------------------------------------------------------------------
# prepare_panel(require_comparison=False)
# ---------------------------------------------------------------------------


def test_prepare_panel_require_comparison(small_staggered_panel):
    # one treated cohort and no never-treated unit: nobody to compare with
    only_treated = small_staggered_panel[small_staggered_panel["cohort"] == 3]
    spec = _spec()
    with pytest.raises(IdentificationError, match="There is no comparison unit"):
        prepare_panel(only_treated, spec)
    prepared = prepare_panel(only_treated, spec, require_comparison=False)
    assert len(prepared.unit_ids) == 10
    assert np.all(np.asarray(prepared.cohort) == 3)
    # the check only concerns that case: with a comparison the two agree
    a = prepare_panel(small_staggered_panel, spec)
    b = prepare_panel(small_staggered_panel, spec, require_comparison=False)
    pd.testing.assert_frame_equal(a.data, b.data)


# ---------------------------------------------------------------------------
# bootstrap at aggregation time
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["simple", "dynamic", "group"])
def test_aggregate_bootstrap_override_matches_analytic_and_reproduces(
    small_staggered_panel, kind
):
    gt = att_gt(small_staggered_panel, _spec(), method="reg")
    boot = tne.MultiplierBootstrap(reps=BOOT_REPS, seed=5)
    agg = aggregate(gt, kind=kind, inference=boot)
    # the analytic SE of the same aggregation, without the G/(G-1) factor that
    # the bootstrap does not apply
    analytic = aggregate(gt, kind=kind, inference=tne.Cluster(small_sample=False))
    ok = analytic.std_errors.notna() & (analytic.std_errors > 0)
    assert ok.sum() >= 1
    np.testing.assert_allclose(
        agg.estimates, analytic.estimates, rtol=RTOL_SAME_FORMULA
    )
    np.testing.assert_allclose(
        agg.std_errors[ok], analytic.std_errors[ok], rtol=RTOL_BOOT_VS_ANALYTIC
    )
    again = aggregate(gt, kind=kind, inference=boot)
    pd.testing.assert_frame_equal(
        agg.to_frame(), again.to_frame()
    )  # same seed, same path
    other = aggregate(
        gt, kind=kind, inference=tne.MultiplierBootstrap(reps=BOOT_REPS, seed=6)
    )
    assert not np.allclose(other.std_errors[ok], agg.std_errors[ok], rtol=1e-6, atol=0)
    assert gt.band_draws is None  # the original is untouched


# ---------------------------------------------------------------------------
# formulas behind the pre-trend test and the intervals
# ---------------------------------------------------------------------------


def test_pretrend_p_value_is_the_chi2_tail_of_the_wald_statistic(small_staggered_panel):
    """Replaces ``0.0 <= test.p_value <= 1.0`` (tne_eval/did/pretrends.py doctest)."""
    gt = att_gt(small_staggered_panel, _spec(), method="reg", inference="iid")
    test = gt.pre_trend_test()
    pre = ~gt.table["post"].to_numpy()
    assert test.valid and test.df == int(pre.sum()) == 4
    np.testing.assert_allclose(
        test.p_value, stats.chi2.sf(test.statistic, test.df), rtol=1e-12
    )
    # no pre-trend in the fixture: the statistic is an ordinary chi2(4) draw
    assert test.p_value > 0.001
    # a pre-trend of 1 point per period in the treated cohorts is detected
    tilted = small_staggered_panel.assign(
        y=lambda d: d["y"] + 1.0 * (d["cohort"] > 0) * d["period"]
    )
    tilted_test = att_gt(
        tilted, _spec(), method="reg", inference="iid"
    ).pre_trend_test()
    assert tilted_test.p_value < 1e-6 < test.p_value


def test_interval_endpoints_are_estimate_plus_minus_critical_value_times_se(
    small_staggered_panel,
):
    """Replaces ``conf_low < estimate < conf_high`` (att_gt's doctest)."""
    gt = att_gt(small_staggered_panel, _spec(cluster="cluster"), method="reg")
    simple = aggregate(gt, kind="simple").to_frame().iloc[0]
    crit = stats.t.ppf(0.975, gt.n_clusters - 1)
    np.testing.assert_allclose(
        [simple["conf_low"], simple["conf_high"]],
        [
            simple["estimate"] - crit * simple["std_error"],
            simple["estimate"] + crit * simple["std_error"],
        ],
        rtol=RTOL_SAME_FORMULA,
    )
    # the fixture's true effect is 2: the estimate is within 4 SEs of it
    assert abs(simple["estimate"] - 2.0) < 4 * simple["std_error"]
