"""The committed world looks like the real TNE setting (realism targets)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from tne_eval import territories
from tne_eval.datasets import load_synthetic
from tne_eval.datasets.config import PRACTICE_ITEMS

SCORES = ["score_french", "score_math"]


@pytest.fixture(scope="module")
def schools() -> pd.DataFrame:
    return load_synthetic("schools")


@pytest.fixture(scope="module")
def pupils() -> pd.DataFrame:
    return load_synthetic("pupils")


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return load_synthetic("school_panel")


@pytest.fixture(scope="module")
def teachers() -> pd.DataFrame:
    return load_synthetic("teachers")


def icc(frame: pd.DataFrame, value: str, group: str) -> float:
    """One-way ANOVA estimator of the intra-class correlation."""
    grouped = frame.groupby(group)[value]
    n = grouped.size()
    k, total = len(n), n.sum()
    between = (n * (grouped.mean() - frame[value].mean()) ** 2).sum() / (k - 1)
    within = ((frame[value] - grouped.transform("mean")) ** 2).sum() / (total - k)
    n0 = (total - (n**2).sum() / total) / (k - 1)
    sigma_b = (between - within) / n0
    return sigma_b / (sigma_b + within)


@pytest.mark.parametrize("grade", ["CM2", "3e"])
@pytest.mark.parametrize("subject", SCORES)
def test_scores_have_mean_250_and_sd_50_in_2016(pupils, grade, subject):
    ref = pupils.loc[(pupils["year"] == 2016) & (pupils["grade"] == grade), subject]
    assert ref.mean() == pytest.approx(250, abs=3)
    assert ref.std() == pytest.approx(50, abs=2.5)


def test_french_and_math_are_correlated(pupils):
    ref = pupils[pupils["year"] == 2016]
    assert 0.5 < ref["score_french"].corr(ref["score_math"]) < 0.8


@pytest.mark.parametrize("grade", ["CM2", "3e"])
def test_intra_class_correlations(pupils, grade):
    ref = pupils[(pupils["year"] == 2016) & (pupils["grade"] == grade)]
    for subject in SCORES:
        assert 0.15 <= icc(ref, subject, "school_id") <= 0.25
        assert 0.01 <= icc(ref, subject, "department") <= 0.08


def test_social_index_distribution(schools):
    assert schools["social_index"].mean() == pytest.approx(100, abs=1.5)
    assert schools["social_index"].std() == pytest.approx(15, abs=1.5)
    by_department = schools.groupby("department")["social_index"].mean()
    assert by_department.std() > 4  # department means differ


def test_priority_education_is_about_20_percent_at_low_index(schools):
    share = schools["priority"].value_counts(normalize=True)
    assert share["REP"] + share["REP+"] == pytest.approx(0.20, abs=0.02)
    mean_index = schools.groupby("priority")["social_index"].mean()
    assert mean_index["REP+"] < mean_index["REP"] < mean_index["none"] - 10
    assert (schools.loc[schools["sector"] == "private", "priority"] == "none").all()


def test_private_sector_is_15_to_20_percent_with_higher_index(schools):
    private = schools["sector"] == "private"
    assert 0.15 <= private.mean() <= 0.20
    mean_index = schools.groupby("sector")["social_index"].mean()
    assert mean_index["private"] > mean_index["public"] + 8


def test_rural_schools_and_sizes(schools):
    rural = schools.groupby("level")["rural"].mean()
    assert rural["primary"] == pytest.approx(0.35, abs=0.05)
    assert rural["college"] == pytest.approx(0.20, abs=0.05)
    size = schools.groupby(["level", "rural"])["size"].mean()
    assert size["primary", True] < size["primary", False]


def test_tne_departments_have_a_lower_social_index(schools):
    tne = schools["first_treated"] > 0
    gap = (
        schools.loc[tne, "social_index"].mean()
        - schools.loc[~tne, "social_index"].mean()
    )
    assert gap < -5


def test_cohorts_follow_the_real_tne_calendar(schools):
    calendar = territories.tne_calendar().set_index("code")["first_school_year"]
    expected = schools["department"].map(calendar).fillna(0).astype(int)
    assert (schools["first_treated"] == expected).all()
    assert set(schools["first_treated"]) == {0, 2020, 2021}


def test_school_ids_are_readable_and_unique(schools):
    assert schools["school_id"].is_unique
    pattern = re.compile(r"^[EC](\d{2}|2A|2B|97\d)\d{5}$")
    assert schools["school_id"].map(lambda s: bool(pattern.match(s))).all()
    prefix = schools["school_id"].str[0].map({"E": "primary", "C": "college"})
    assert (prefix == schools["level"]).all()
    code = schools["school_id"].str[1:-5]
    assert (code == schools["department"]).all()


def test_every_department_has_both_levels(schools):
    counts = schools.groupby(["department", "level"]).size().unstack()
    assert len(counts) == 101
    assert (counts >= 1).all().all()


def test_covid_shock_is_larger_in_low_index_schools(panel):
    never = panel[panel["first_treated"] == 0]
    tercile = pd.qcut(never["social_index"], 3, labels=["low", "mid", "high"])
    means = never.groupby([tercile, "year"], observed=True)["score_math"].mean()
    change = means.unstack()[2020] - means.unstack()[2019]
    assert change["low"] < change["mid"] < change["high"]
    assert change["low"] - change["high"] < -8
    # before 2020 the trends of the terciles are parallel (pre-trend tests pass)
    pre = means.unstack()[2019] - means.unstack()[2016]
    assert abs(pre["low"] - pre["high"]) < 2.5


def test_panel_is_the_aggregate_of_the_pupils(panel, pupils):
    grouped = pupils.groupby(["school_id", "year"])
    recomputed = grouped[SCORES].mean().join(grouped.size().rename("n"))
    merged = panel.merge(
        recomputed.reset_index(), on=["school_id", "year"], suffixes=("", "_p")
    )
    assert len(merged) == len(recomputed)
    assert (merged["n_pupils"] == merged["n"]).all()
    for subject in SCORES:
        diff = (merged[subject] - merged[f"{subject}_p"]).abs()
        assert diff.max() < 1e-3


def test_attrition(panel):
    assert (panel["n_pupils"] <= panel["n_expected"]).all()
    assert (panel["n_pupils"] >= 1).all()
    years_per_school = panel.groupby("school_id")["year"].nunique()
    assert 0.1 < (years_per_school < 9).mean() < 0.5  # unbalanced panel
    rate = panel.groupby("year")[["n_pupils", "n_expected"]].sum()
    rate = rate["n_pupils"] / rate["n_expected"]
    assert rate[2020] < rate.drop(2020).min() - 0.05  # lower participation in 2020


def test_treated_flag(panel):
    expected = (panel["first_treated"] > 0) & (panel["year"] >= panel["first_treated"])
    assert (panel["treated"] == expected).all()


def test_teacher_survey_non_response_depends_on_observables(teachers):
    assert set(teachers["wave"]) == {2019, 2021, 2023}
    assert 0.45 < teachers["responded"].mean() < 0.7
    low = teachers["social_index"] < teachers["social_index"].median()
    assert (
        teachers.loc[~low, "responded"].mean() > teachers.loc[low, "responded"].mean()
    )
    items = teachers[list(PRACTICE_ITEMS)]
    assert items.isna().all(axis=1).eq(~teachers["responded"]).all()
    answered = teachers[teachers["responded"]]
    assert answered[list(PRACTICE_ITEMS)].isin([1, 2, 3, 4, 5]).all().all()
    assert np.allclose(
        answered["practice_index"],
        answered[list(PRACTICE_ITEMS)].mean(axis=1),
        atol=1e-4,
    )
    assert (answered["training_hours"] >= 0).all()
    assert (teachers["design_weight"] >= 1).all()


def test_teacher_practice_items_are_correlated(teachers):
    corr = teachers.loc[teachers["responded"], list(PRACTICE_ITEMS)].corr()
    off_diagonal = corr.to_numpy()[~np.eye(len(PRACTICE_ITEMS), dtype=bool)]
    assert off_diagonal.min() > 0.3 and off_diagonal.max() < 0.8
