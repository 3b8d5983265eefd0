"""Simulated power: agrees with the analytic power, same table for any n_jobs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import tne_eval as tne
import tne_eval.datasets
from tne_eval.errors import SpecError, TneEvalTypeError
from tne_eval.power import (
    PowerDesign,
    RandomEffectsPanel,
    VarianceComponents,
    power_analytic,
    simulate_power,
)

SPEC = tne.PanelSpec(
    unit="school", time="period", outcome="y", cohort="cohort", cluster="department"
)
#: Many treated departments, so that Cluster() standard errors are close to the
#: truth and the analytic power with df = G - 1 applies.
DESIGN = PowerDesign({4: 15, 5: 10}, 25, range(1, 7), 3, 10)
VC = VarianceComponents(1.0, 0.5, 1.0, 1.0, 10.0)


def fit_simple(panel, inference):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tne.SmallClusterWarning)
        gt = tne.att_gt(panel, SPEC, method="reg", inference=inference)
    return tne.aggregate(gt, "simple")


def _agree(sim, analytic, n_se):
    table = sim.to_frame()
    expected = analytic.power_at(table.index.to_numpy())
    se = np.sqrt(expected * (1 - expected) / table["n_valid"])
    return np.abs(table["power"] - expected) <= n_se * se


def test_simulated_power_agrees_with_analytic_small():
    analytic = power_analytic(DESIGN, VC, df="clusters")
    sim = simulate_power(
        RandomEffectsPanel(DESIGN, VC),
        fit_simple,
        effects=[analytic.mde],
        inference=tne.Cluster(),
        reps=80,
        seed=11,
        progress=False,
    )
    assert _agree(sim, analytic, 4.0).all(), sim.to_frame()
    table = sim.to_frame()
    # the mean SE of Cluster() is close to the exact SE (within 10%: G = 50)
    assert abs(table["mean_std_error"].iloc[0] / analytic.std_error - 1) < 0.1
    assert list(table.columns) == [
        "power",
        "power_se",
        "mean_estimate",
        "sd_estimate",
        "mean_std_error",
        "mean_truth",
        "sd_error",
        "n_valid",
    ]


@pytest.mark.slow
def test_simulated_power_agrees_with_analytic_slow():
    analytic = power_analytic(DESIGN, VC, df="clusters")
    effects = [0.0, 0.5 * analytic.mde, analytic.mde, 1.5 * analytic.mde]
    sim = simulate_power(
        RandomEffectsPanel(DESIGN, VC),
        fit_simple,
        effects=effects,
        inference=tne.Cluster(),
        reps=1500,
        seed=2024,
        n_jobs=2,
        progress=False,
    )
    assert _agree(sim, analytic, 3.5).all(), sim.to_frame()
    table = sim.to_frame()
    # Monte Carlo SD of the estimates against the exact SE (SE of an SD: 1/sqrt(2R))
    np.testing.assert_allclose(
        table["sd_estimate"], analytic.std_error, rtol=3.5 / np.sqrt(2 * 1500)
    )


def test_same_table_for_any_n_jobs():
    design = PowerDesign({3: 4}, 4, range(1, 5), 2, 5)
    dgp = RandomEffectsPanel(design, VC)
    kw = {"effects": [0.0, 1.0], "reps": 4, "seed": 5, "progress": False}
    one = simulate_power(dgp, fit_simple, **kw)
    two = simulate_power(dgp, fit_simple, n_jobs=2, **kw)
    pd.testing.assert_frame_equal(one.records, two.records)
    pd.testing.assert_frame_equal(one.to_frame(), two.to_frame())
    again = simulate_power(dgp, fit_simple, **kw)
    pd.testing.assert_frame_equal(one.records, again.records)


def test_common_random_numbers_across_effects():
    design = PowerDesign({3: 4}, 4, range(1, 5), 2, 5)
    res = simulate_power(
        RandomEffectsPanel(design, VC),
        fit_simple,
        effects=[0.0, 2.0],
        reps=3,
        seed=1,
        progress=False,
        truth=lambda panel: 2.0 if panel["y"].sum() else 0.0,
    )
    est = res.records.pivot(index="rep", columns="effect", values="estimate")
    np.testing.assert_allclose(est[2.0] - est[0.0], 2.0, rtol=1e-10)
    table = res.to_frame()
    assert table["mean_truth"].eq(2.0).all()
    # a constant truth: the SD of the errors is the SD of the estimates
    np.testing.assert_allclose(table["sd_error"], table["sd_estimate"], rtol=1e-12)


def test_any_inference_object_is_passed_through():
    design = PowerDesign({3: 4}, 4, range(1, 5), 2, 5)
    seen = []

    def fit(panel, inference):
        seen.append(inference)
        return fit_simple(panel, inference)

    boot = tne.MultiplierBootstrap(reps=99, seed=3)
    res = simulate_power(
        RandomEffectsPanel(design, VC),
        fit,
        effects=[1.0],
        inference=boot,
        reps=2,
        seed=1,
        progress=False,
    )
    assert all(s is boot for s in seen)
    assert res.to_frame()["n_valid"].iloc[0] == 2
    assert "Simulated power" in str(res)


def test_world_config_scales_effect_scale():
    cfg = tne.datasets.WorldConfig(
        departments=("02", "95", "13", "18", "01", "03", "04", "05", "06", "07"),
        n_primary=60,
        n_college=10,
    )
    spec = tne.PanelSpec(
        unit="school_id",
        time="year",
        outcome="score_french",
        cohort="first_treated",
        cluster="department",
    )

    def fit(world, inference):
        panel = world.school_panel
        panel = panel.loc[panel["grade"] == "CM2"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gt = tne.att_gt(panel, spec, method="reg", inference=inference)
        return tne.aggregate(gt, "simple")

    def truth(world):
        w = world.truth["outcomes"]["score_french_CM2"]["weightings"]["schools"]
        return w["simple"]

    res = simulate_power(
        cfg, fit, effects=[0.0, 1.0], reps=2, seed=3, truth=truth, progress=False
    )
    table = res.to_frame()
    assert table.loc[0.0, "mean_truth"] == 0.0
    assert table.loc[1.0, "mean_truth"] > 0.0
    assert "effect_scale" in res.effect_label


def test_failed_estimations_are_counted_not_rejections():
    design = PowerDesign({3: 4}, 4, range(1, 5), 2, 5)
    calls = {"n": 0}

    def flaky(panel, inference):
        calls["n"] += 1
        if calls["n"] % 2:
            raise tne.IdentificationError("no comparison units in this draw")
        return fit_simple(panel, inference)

    res = simulate_power(
        RandomEffectsPanel(design, VC),
        flaky,
        effects=[1.0],
        reps=4,
        seed=1,
        progress=False,
    )
    assert res.to_frame()["n_valid"].iloc[0] == 2
    assert any("IdentificationError (2)" in n for n in res.notes)


def test_errors():
    dgp = RandomEffectsPanel(PowerDesign({3: 4}, 4, range(1, 5), 2, 5), VC)
    with pytest.raises(TneEvalTypeError, match="WorldConfig or a callable"):
        simulate_power(42, fit_simple, effects=[1.0])
    with pytest.raises(TneEvalTypeError, match="estimator must be a callable"):
        simulate_power(dgp, "att_gt", effects=[1.0])
    with pytest.raises(SpecError, match="effects must be a non-empty"):
        simulate_power(dgp, fit_simple, effects=[])
    with pytest.raises(SpecError, match="reps must be >= 1"):
        simulate_power(dgp, fit_simple, effects=[1.0], reps=0)
    with pytest.raises(SpecError, match="choose one with term="):
        simulate_power(
            dgp,
            lambda p, i: tne.aggregate(
                tne.att_gt(p, SPEC, method="reg", inference=i), "dynamic"
            ),
            effects=[1.0],
            reps=1,
            progress=False,
        )
    with pytest.raises(TneEvalTypeError, match="must return a result with to_frame"):
        simulate_power(dgp, lambda p, i: 1.0, effects=[1.0], reps=1, progress=False)
    with pytest.raises(SpecError, match="whole schools per department"):
        RandomEffectsPanel(PowerDesign({3: 4}, 4, range(1, 5), 2.5, 5), VC)
