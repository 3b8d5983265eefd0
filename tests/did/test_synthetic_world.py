"""The estimators on the committed synthetic TNE world, whose truth is known.

Doubly robust Callaway-Sant'Anna with the social-position index covers the true
aggregates; the naive comparisons that the world is built to fool
(docs/synthetic_world.md) miss them. One realisation of the world: these are
regression checks of the design, the coverage *rate* is a Monte Carlo question
(see the inference studies).
"""

from __future__ import annotations

import numpy as np
import pytest

import tne_eval as tne
from tne_eval.datasets import load_synthetic

# The TNE design has 2 departments in the 2020 cohort: the few-cluster diagnostic
# fires on every clustered fit; it is asserted in test_few_cluster_diagnostic.
pytestmark = pytest.mark.filterwarnings("ignore::tne_eval.errors.SmallClusterWarning")

OUTCOMES = [("CM2", "french"), ("CM2", "math"), ("3e", "french"), ("3e", "math")]
AGGREGATES = [
    ("simple", "simple"),
    ("group", "group_overall"),
    ("calendar", "calendar_overall"),
    ("dynamic", "dynamic_overall"),
]


@pytest.fixture(scope="module")
def world():
    return load_synthetic("school_panel"), load_synthetic("truth")["outcomes"]


def spec_for(subject: str, covariates=("social_index",)) -> tne.PanelSpec:
    return tne.PanelSpec(
        unit="school_id",
        time="year",
        outcome=f"score_{subject}",
        cohort="first_treated",
        cluster="department",
        covariates=covariates,
    )


@pytest.mark.parametrize(("grade", "subject"), OUTCOMES)
def test_dr_with_social_index_covers_every_true_aggregate(world, grade, subject):
    panel, truth = world
    data = panel[panel["grade"] == grade]
    gt = tne.att_gt(data, spec_for(subject), method="dr", unbalanced="keep")
    true = truth[f"score_{subject}_{grade}"]["weightings"]["schools"]
    for kind, key in AGGREGATES:
        row = tne.aggregate(gt, kind=kind).to_frame().iloc[0]
        assert row["conf_low"] <= true[key] <= row["conf_high"], (kind, row, true[key])


def test_unconditional_2x2_misses_and_adjusted_2x2_covers(world):
    """The 2021 wave against never-treated schools, 2019 to 2021 (docs, naive (c))."""
    panel, truth = world
    data = panel[
        (panel["grade"] == "CM2")
        & panel["year"].isin([2019, 2021])
        & panel["first_treated"].isin([0, 2021])
    ]
    # schools observed in both years (the others would be dropped with a warning)
    data = data[data.groupby("school_id")["year"].transform("size") == 2]
    cells = truth["score_french_CM2"]["weightings"]["schools"]["att_gt"]
    true = next(c["att"] for c in cells if c["cohort"] == 2021 and c["year"] == 2021)
    spec0 = spec_for("french", covariates=())
    naive = tne.did_2x2(data, spec0, method="reg")
    adjusted = tne.did_2x2(data, spec_for("french"), method="dr")
    n_ci = naive.conf_int().iloc[0]
    a_ci = adjusted.conf_int().iloc[0]
    # the COVID shock on low-index schools biases it down
    assert n_ci["conf_high"] < true
    assert naive.estimates.iloc[0] < 0 < true
    assert a_ci["conf_low"] <= true <= a_ci["conf_high"]


def test_ignoring_the_index_fails_the_pretrend_test(world):
    panel, _ = world
    data = panel[panel["grade"] == "CM2"]
    naive = tne.att_gt(
        data, spec_for("french", covariates=()), method="reg", unbalanced="keep"
    )
    adjusted = tne.att_gt(data, spec_for("french"), method="dr", unbalanced="keep")
    assert naive.pretest.p_value < 1e-6
    assert adjusted.pretest.p_value > naive.pretest.p_value * 1e4
    assert np.isfinite(adjusted.pretest.statistic)


def test_static_twfe_misses_the_true_simple_att(world):
    """TWFE without the index mixes the COVID shock and cohort dynamics (naive (b))."""
    panel, truth = world
    data = panel[panel["grade"] == "CM2"]
    with pytest.warns(tne.StaggeredAdoptionWarning, match="Staggered adoption"):
        res = tne.twfe(data, spec_for("french", covariates=()))
    true = truth["score_french_CM2"]["weightings"]["schools"]["simple"]
    ci = res.conf_int().loc["D"]
    assert ci["conf_high"] < true


@pytest.mark.filterwarnings("error::tne_eval.errors.SmallClusterWarning")
def test_few_cluster_diagnostic(world):
    panel, _ = world
    data = panel[panel["grade"] == "CM2"]
    with pytest.warns(
        tne.SmallClusterWarning, match="cohort 2020: 2, cohort 2021: 10; 101 clusters"
    ):
        gt = tne.att_gt(data, spec_for("french"), method="reg", unbalanced="keep")
    assert any(n.startswith("Few treated clusters") for n in gt.notes)
