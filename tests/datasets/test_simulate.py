"""The generator: determinism, independent sub-streams, the null world, knobs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tne_eval.datasets import SyntheticWorld, WorldConfig, simulate
from tne_eval.datasets.config import PRACTICE_ITEMS
from tne_eval.datasets.truth import att_gt_table
from tne_eval.errors import SpecError, TneEvalTypeError

TABLES = ["departments", "schools", "school_panel", "pupils", "teachers"]
# both TNE cohorts (02, 95 / 13, 18, 971) and never-treated departments
TINY = WorldConfig(
    departments=("01", "02", "03", "13", "18", "95", "971"),
    n_primary=140,
    n_college=42,
)


@pytest.fixture(scope="module")
def world() -> SyntheticWorld:
    return simulate(TINY)


@pytest.fixture(scope="module")
def null_world() -> SyntheticWorld:
    return simulate(TINY.update(effect_scale=0.0))


def assert_same_tables(a: SyntheticWorld, b: SyntheticWorld, names=TABLES) -> None:
    for name in names:
        pd.testing.assert_frame_equal(a.table(name), b.table(name), obj=name)


def test_same_config_same_world(world):
    assert_same_tables(world, simulate(TINY))
    assert simulate(TINY).truth == world.truth


def test_different_seed_different_world(world):
    other = simulate(TINY.update(seed=1))
    assert not other.pupils["score_math"].equals(world.pupils["score_math"])


def test_repr_and_table_access(world):
    assert repr(world).startswith("<SyntheticWorld: 7 departments, 182 schools")
    assert world.table("truth") is world.truth
    with pytest.raises(SpecError, match=r"'scores' is not a table.*'school_panel'"):
        world.table("scores")


def test_simulate_needs_a_config():
    with pytest.raises(TneEvalTypeError, match=r"simulate\(\) needs a .*WorldConfig"):
        simulate({"seed": 1})  # type: ignore[arg-type]


def test_survey_knobs_do_not_shift_the_scores(world):
    other = simulate(TINY.update(teachers_per_school=(2, 4), response_rate=0.3))
    assert_same_tables(
        world, other, ["departments", "schools", "school_panel", "pupils"]
    )
    assert not other.teachers.equals(world.teachers)


def test_null_world_has_zero_truth(null_world):
    att = att_gt_table(null_world.truth)
    assert len(att) > 0
    assert (att["att"] == 0).all()
    effects = null_world.effects.drop(columns=["school_id", "year"])
    assert np.nanmax(np.abs(effects.to_numpy())) == 0


def test_null_world_has_the_same_noise_and_no_effect(world, null_world):
    """Only the treatment effects differ: untreated rows are identical, treated
    pupils' scores differ by exactly the expected effect (up to rounding)."""
    assert_same_tables(world, null_world, ["departments", "schools"])
    a, b = world.pupils, null_world.pupils
    assert a[["school_id", "year", "pupil", "girl"]].equals(
        b[["school_id", "year", "pupil", "girl"]]
    )
    keyed = a.merge(world.effects, on=["school_id", "year"], suffixes=("", "_tau"))
    for subject in ("score_french", "score_math"):
        diff = a[subject].to_numpy() - b[subject].to_numpy()
        tau = keyed[f"{subject}_tau"].to_numpy()
        assert np.abs(diff - tau).max() <= 0.1 + 1e-9
        untreated = tau == 0
        assert untreated.any() and (diff[untreated] == 0).all()
        assert (tau[~untreated] > 0).all()


def test_survey_truth_matches_the_simulated_teachers():
    """Monte Carlo check of the exact (normal-CDF) expected survey effects: the
    teacher-level difference between the world and its null twin averages to the
    expected effect of the teachers' schools."""
    cfg = TINY.update(n_primary=700, n_college=210, teachers_per_school=(6, 12))
    world, null = simulate(cfg), simulate(cfg.update(effect_scale=0.0))
    tau = world.teachers[["school_id", "wave"]].merge(
        world.effects.rename(columns={"year": "wave"}), on=["school_id", "wave"]
    )
    answered = world.teachers["responded"].to_numpy()
    assert (answered == null.teachers["responded"].to_numpy()).all()
    treated = answered & world.teachers["treated"].to_numpy()
    assert treated.sum() > 2000
    for outcome in (*PRACTICE_ITEMS, "practice_index", "training_hours"):
        diff = (world.teachers[outcome] - null.teachers[outcome]).to_numpy()[treated]
        expected = tau[outcome].to_numpy()[treated]
        se = diff.std() / np.sqrt(diff.size)
        assert abs(diff.mean() - expected.mean()) < 4 * se + 1e-3, outcome


def test_effects_grow_with_exposure_and_differ_by_cohort(world):
    att = att_gt_table(world.truth)
    att = att[(att["outcome"] == "score_math_CM2") & (att["weighting"] == "schools")]
    for cohort in (2020, 2021):
        path = att[(att["cohort"] == cohort) & (att["event_time"] >= 0)]["att"]
        assert path.is_monotonic_increasing and path.iloc[0] > 0
        assert (
            att[(att["cohort"] == cohort) & (att["event_time"] < 0)]["att"] == 0
        ).all()
    at = att.set_index(["cohort", "event_time"])["att"]
    assert at[2020, 0] > at[2021, 0]  # demonstrators: larger effects


def test_effects_are_larger_in_low_index_schools(world):
    eff = world.effects.merge(world.schools, on="school_id")
    eff = eff[(eff["year"] == 2023) & (eff["first_treated"] == 2021)]
    assert eff["score_math"].corr(eff["social_index"]) < -0.9


def test_teacher_effects_are_larger_and_faster_than_score_effects(world):
    truth = world.truth["outcomes"]
    dyn_practice = truth["practice_index"]["weightings"]["schools"]["dynamic"]
    dyn_score = truth["score_math_CM2"]["weightings"]["schools"]["dynamic"]
    # in SD units: practice index SD ~ 0.8 points, scores SD 50 points
    assert dyn_practice["0"] / 0.8 > 5 * dyn_score["0"] / 50
    assert set(truth["practice_index"]["years"]) == {2019, 2021, 2023}


def test_anticipation_knob():
    cfg = TINY.update(anticipation=1, anticipation_fraction=0.5)
    att = att_gt_table(simulate(cfg).truth)
    att = att[(att["outcome"] == "score_french_3e") & (att["weighting"] == "pupils")]
    at = att.set_index(["cohort", "event_time"])["att"]
    for cohort in (2020, 2021):
        assert at[cohort, -1] == pytest.approx(0.5 * at[cohort, 0])
        assert at[cohort, -2] == 0


def test_selection_knobs():
    cfg = TINY.update(departments=None, n_primary=303, n_college=101)
    for gap, sign in ((12.0, -1), (0.0, 0)):
        schools = simulate(cfg.update(selection_index_gap=gap)).schools
        tne = schools["first_treated"] > 0
        diff = (
            schools.loc[tne, "social_index"].mean()
            - schools.loc[~tne, "social_index"].mean()
        )
        if sign < 0:
            assert diff < -6
        else:
            assert abs(diff) < 6


def test_attrition_knobs(world):
    full = simulate(
        TINY.update(
            school_missing_rate=0.0,
            low_participation_years=(),
            participation_rate=1.0,
            participation_index_gradient=0.0,
        )
    )
    assert len(full.school_panel) == len(full.schools) * 9
    assert (full.school_panel["n_pupils"] == full.school_panel["n_expected"]).all()
    assert len(world.school_panel) < len(world.schools) * 9
