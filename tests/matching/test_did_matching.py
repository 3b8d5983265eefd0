"""Matching feeding difference-in-differences on the synthetic world.

CM2 schools of the 2021 cohort are matched to never-treated CM2 schools on their
2018-2019 French scores and social index; ``att_gt`` on the matched panel, weighted
by MatchIt's weights (constant within school), recovers the synthetic truth.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import tne_eval as tne
from tne_eval.datasets import load_synthetic

#: The estimate is within this many of its standard errors of the truth (two-sided
#: normal tail 0.3%; the synthetic world is seeded, so the test is deterministic).
Z_TOL = 3.0
COHORT = 2021


@pytest.fixture(scope="module")
def world():
    panel = load_synthetic("school_panel")
    cm2 = panel[(panel["grade"] == "CM2") & panel["first_treated"].isin([0, COHORT])]
    wide = cm2.pivot_table(index="school_id", columns="year", values="score_french")
    # schools with a score every year (2,227 of 2,921; 270 of the 354 treated):
    # att_gt drops incomplete units, which would break the matched pairs
    complete = wide.index[wide.notna().all(axis=1)]
    cm2 = cm2[cm2["school_id"].isin(complete)]
    base = cm2.drop_duplicates("school_id").set_index("school_id")
    cross = (
        base[["first_treated", "social_index", "department"]]
        .join(
            wide.loc[complete, [2018, 2019]].rename(
                columns={2018: "y2018", 2019: "y2019"}
            )
        )
        .reset_index()
    )
    cross["tne"] = (cross["first_treated"] == COHORT).astype(int)
    truth = load_synthetic("truth")["outcomes"]["score_french_CM2"]["weightings"]
    return cm2, cross, truth["schools"]


PSPEC = tne.PanelSpec(
    unit="school_id",
    time="year",
    outcome="score_french",
    cohort="first_treated",
    weights="match_weight",
    cluster="department",
)


def _group_effect(panel: pd.DataFrame, spec: tne.PanelSpec) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gt = tne.att_gt(panel, spec, control_group="never_treated")
    group = tne.aggregate(gt, kind="group").to_frame()
    return group[group["cohort"] == COHORT].iloc[0]


@pytest.mark.filterwarnings("ignore::tne_eval.errors.TneEvalWarning")
@pytest.mark.parametrize("replace", [False, True])
def test_matched_att_gt_recovers_the_truth(world, replace):
    cm2, cross, truth = world
    spec = tne.CrossSectionSpec(
        outcome=None,
        treatment="tne",
        covariates=("y2018", "y2019", "social_index"),
        unit="school_id",
    )
    m = tne.match(cross, spec, replace=replace)
    n_treated = int(cross["tne"].sum())
    assert m.n_matched["treated"] == n_treated
    bal = tne.balance(cross, spec, weights=m)
    assert (bal.adjusted["smd"].abs() < bal.unadjusted["smd"].abs()).all()
    before = cm2.copy(deep=True)
    panel = tne.matched_panel(cm2, m, unit="school_id")
    pd.testing.assert_frame_equal(cm2, before)
    assert panel["school_id"].nunique() == n_treated + m.n_matched["control"]
    assert panel.groupby("school_id")["match_weight"].nunique().max() == 1
    row = _group_effect(panel, PSPEC)
    target = truth["group"][str(COHORT)]
    z = (row["estimate"] - target) / row["std_error"]
    assert abs(z) < Z_TOL, (row["estimate"], row["std_error"], target)
    if replace:  # reused controls weigh more: the weights enter att_gt
        plain = _group_effect(panel, PSPEC.update(weights=None))
        assert abs(plain["estimate"] - row["estimate"]) > 1e-6


def test_matched_panel_keeps_units_and_weights(world):
    _, cross, _ = world
    spec = tne.CrossSectionSpec(
        outcome=None, treatment="tne", covariates=("social_index",), unit="school_id"
    )
    m = tne.match(cross, spec, replace=True, ratio=2)
    toy = cross[["school_id"]].assign(year=2019)
    out = tne.matched_panel(toy, m, unit="school_id", weights_column="w")
    w = m.weights[m.weights > 0]
    assert len(out) == len(w)
    np.testing.assert_allclose(
        out.set_index("school_id")["w"].sort_index(),
        pd.Series(w.to_numpy(), index=m.ids[m.weights.to_numpy() > 0]).sort_index(),
    )
