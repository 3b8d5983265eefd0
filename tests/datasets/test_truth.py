"""truth.json: ATT(g,t) from the expected effects, aggregates as did::aggte."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tne_eval.datasets import WorldConfig, load_synthetic, simulate
from tne_eval.datasets.truth import (
    DEFINITIONS,
    aggregate,
    aggregate_table,
    att_gt_table,
    unit_weights,
)
from tne_eval.errors import SpecError

TINY = WorldConfig(
    departments=("01", "02", "03", "13", "18", "95", "971"), n_primary=140, n_college=42
)


@pytest.fixture(scope="module")
def truth() -> dict:
    return load_synthetic("truth")


@pytest.fixture(scope="module")
def world():
    return simulate(TINY)


def recompute_aggregates(cells: pd.DataFrame, sizes: dict[str, float]) -> dict:
    """Independent re-implementation of did::aggte on a table of ATT(g,t)."""
    cells = cells.assign(p=cells["cohort"].astype(str).map(sizes))
    post = cells[cells["year"] >= cells["cohort"]]
    simple = (post["p"] * post["att"]).sum() / post["p"].sum()
    dynamic = cells.groupby("event_time").apply(
        lambda d: (d["p"] * d["att"]).sum() / d["p"].sum(), include_groups=False
    )
    group = post.groupby("cohort")["att"].mean()
    group_p = post.groupby("cohort")["p"].first()
    calendar = post.groupby("year").apply(
        lambda d: (d["p"] * d["att"]).sum() / d["p"].sum(), include_groups=False
    )
    return {
        "simple": simple,
        "dynamic": {str(k): v for k, v in dynamic.items()},
        "dynamic_overall": dynamic[dynamic.index >= 0].mean(),
        "group": {str(k): v for k, v in group.items()},
        "group_overall": (group * group_p).sum() / group_p.sum(),
        "calendar": {str(k): v for k, v in calendar.items()},
        "calendar_overall": calendar.mean(),
    }


def test_truth_documents_its_definitions(truth):
    assert truth["definitions"] == DEFINITIONS
    assert {"att_gt", "simple", "dynamic", "group", "calendar", "weightings"} <= set(
        truth["definitions"]
    )
    assert truth["cohorts"] == [2020, 2021]
    assert truth["years"] == list(range(2016, 2025))


def test_every_outcome_and_weighting_is_present(truth):
    outcomes = truth["outcomes"]
    scores = [k for k in outcomes if k.startswith("score_")]
    assert sorted(scores) == sorted(
        ["score_french_CM2", "score_math_CM2", "score_french_3e", "score_math_3e"]
    )
    assert {"practice_index", "training_hours", "digital_use_class"} <= set(outcomes)
    for name, outcome in outcomes.items():
        expected = {"pupils", "schools", "departments"}
        if outcome["table"] == "teachers":
            expected.add("teachers")
        assert set(outcome["weightings"]) == expected, name


def test_aggregates_are_recomputed_from_att_gt(truth):
    for name, outcome in truth["outcomes"].items():
        for kind, content in outcome["weightings"].items():
            cells = pd.DataFrame(content["att_gt"])
            again = recompute_aggregates(cells, content["cohort_size"])
            for key in (
                "simple",
                "dynamic_overall",
                "group_overall",
                "calendar_overall",
            ):
                assert content[key] == pytest.approx(again[key], abs=1e-7), (name, kind)
            for key in ("dynamic", "group", "calendar"):
                assert content[key].keys() == again[key].keys()
                for k, v in content[key].items():
                    assert v == pytest.approx(again[key][k], abs=1e-7), (name, kind, k)


def test_pre_periods_are_zero_and_post_periods_positive(truth):
    att = att_gt_table(truth)
    assert (att.loc[att["event_time"] < 0, "att"] == 0).all()
    assert (att.loc[att["event_time"] >= 0, "att"] > 0).all()


def test_survey_truth_exists_at_wave_years_only(truth):
    att = att_gt_table(truth)
    survey = att[att["outcome"] == "practice_index"]
    assert set(survey["year"]) == {2019, 2021, 2023}
    assert set(survey["event_time"]) == {-2, -1, 0, 1, 2, 3}


def test_cohort_sizes(truth, world):
    sizes = truth["outcomes"]["score_math_CM2"]["weightings"]
    schools = load_synthetic("schools")
    primary = schools[schools["level"] == "primary"]
    counts = primary.groupby("first_treated").size()
    assert sizes["schools"]["cohort_size"] == {
        "2020": float(counts[2020]),
        "2021": float(counts[2021]),
    }
    assert sizes["departments"]["cohort_size"] == {"2020": 2.0, "2021": 10.0}


def test_att_gt_recomputed_from_the_expected_effects(world):
    """Independent pandas computation of ATT(g,t) from SyntheticWorld.effects."""
    eff = world.effects.merge(world.schools, on="school_id")
    primary = eff[(eff["level"] == "primary") & (eff["first_treated"] > 0)]
    att = att_gt_table(world.truth)
    att = att[att["outcome"] == "score_math_CM2"].set_index(
        ["weighting", "cohort", "year"]
    )["att"]
    by_school = primary.groupby(["first_treated", "year"])["score_math"].mean()
    by_department = (
        primary.groupby(["first_treated", "department", "year"])["score_math"]
        .mean()
        .groupby(["first_treated", "year"])
        .mean()
    )
    for (g, t), value in by_school.items():
        assert att["schools", g, t] == pytest.approx(value, abs=1e-7)
        assert att["departments", g, t] == pytest.approx(by_department[g, t], abs=1e-7)


def test_weightings_differ_when_effects_are_heterogeneous(truth):
    simple = {
        k: v["simple"]
        for k, v in truth["outcomes"]["score_math_CM2"]["weightings"].items()
    }
    assert len(set(simple.values())) == 3


def test_aggregate_table(truth):
    table = aggregate_table(truth)
    assert list(table.columns) == ["outcome", "weighting", "kind", "key", "att"]
    simple = table[(table["kind"] == "simple") & (table["outcome"] == "score_math_3e")]
    assert len(simple) == 3 and simple["key"].isna().all()


def test_aggregate_without_post_periods():
    out = aggregate(np.zeros((1, 2)), [2020], [2018, 2019], [1.0])
    assert out["simple"] is None and out["group"] == {}


def test_unit_weights_unknown_kind():
    with pytest.raises(SpecError, match=r"weighting 'classes' is unknown.*'teachers'"):
        unit_weights(
            "classes",
            np.ones(2, bool),
            np.zeros(2, int),
            pupil_weight=np.ones(2),
            teacher_weight=np.ones(2),
        )
