"""Treated and effective clusters, and the recommended-inference table."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

import tne_eval as tne
from tne_eval.datasets import load_synthetic
from tne_eval.errors import SpecError
from tne_eval.inference.recommend import (
    BAND_RECOMMENDATION,
    MIN_EFFECTIVE,
    RECOMMENDATIONS,
    effective_clusters,
    recommend,
    recommendation_note,
    treated_clusters,
)
from tne_eval.notes import NoteKind


def _css_definition(psi: np.ndarray, cluster: np.ndarray) -> float:
    """G* = G / (1 + Gamma) exactly as Carter, Schnepel & Steigerwald write it."""
    g = int(cluster.max()) + 1
    gamma = np.array([np.sum(psi[cluster == c] ** 2) for c in range(g)])
    mean = gamma.mean()
    big_gamma = np.mean((gamma - mean) ** 2) / mean**2
    return g / (1.0 + big_gamma)


def test_effective_clusters_is_the_css_formula(rng):
    cluster = rng.integers(0, 15, size=300)
    cluster[:15] = np.arange(15)  # every code present
    psi = rng.normal(size=(300, 3)) * rng.uniform(0.2, 5.0, size=15)[cluster, None]
    got = effective_clusters(psi, cluster)
    for j in range(3):
        assert got[j] == pytest.approx(_css_definition(psi[:, j], cluster), rel=1e-12)
    # sparse influence functions (repeated cross-sections) give the same numbers
    np.testing.assert_allclose(
        effective_clusters(sparse.csc_array(psi), cluster), got, rtol=1e-12
    )


def test_effective_clusters_limits():
    cluster = np.repeat(np.arange(8), 5)
    equal = np.ones((40, 1))
    assert effective_clusters(equal, cluster)[0] == pytest.approx(8.0, rel=1e-12)
    # two clusters carry all the variance: G* = 2
    two = np.zeros((40, 1))
    two[:10] = 1.0
    assert effective_clusters(two, cluster)[0] == pytest.approx(2.0, rel=1e-12)
    # no clusters: each row its own; a zero influence function gives NaN
    assert effective_clusters(np.ones((6, 1)))[0] == pytest.approx(6.0)
    assert np.isnan(effective_clusters(np.zeros((6, 1)))[0])
    with pytest.raises(SpecError, match="one integer code per row"):
        effective_clusters(equal, cluster[:-1])


def test_treated_clusters_counts_the_treated_rows_that_enter():
    cluster = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    cohort = np.array([5, 5, 5, 5, 6, 6, np.inf, np.inf])
    psi = np.zeros((8, 3))
    psi[:, 0] = 1.0  # every row
    psi[:4, 1] = 1.0  # cohort 5 only (clusters 0 and 1) ...
    psi[6:, 1] = -1.0  # ... and the controls, which are not counted
    psi[4, 2] = 1e-20  # below rtol times the largest: does not enter
    psi[6, 2] = 1.0
    np.testing.assert_array_equal(treated_clusters(psi, cluster, cohort), [3, 2, 0])
    # unclustered: treated units
    np.testing.assert_array_equal(treated_clusters(psi, None, cohort), [6, 4, 0])


def test_recommend_covers_every_count_once():
    for n in range(1, 120):
        for eff in (1.0, 2.5, MIN_EFFECTIVE - 1e-9, MIN_EFFECTIVE, 50.0, np.nan):
            hits = [r for r in RECOMMENDATIONS if r.covers(n, eff)]
            expect_hit = hits if not np.isnan(eff) else [recommend(n)]
            assert len(expect_hit) == 1 and recommend(n, eff) is expect_hit[0]
    assert recommend(np.int64(12)) is recommend(12)
    assert recommend(2, 30.0) is recommend(2, 1.5)  # two clusters whatever G*
    assert recommend(12, 6.0) is not recommend(12, 13.5)
    with pytest.raises(SpecError, match="at least 1"):
        recommend(0)
    with pytest.raises(SpecError, match="integer"):
        recommend(2.0)


def test_note_names_each_group_of_terms():
    note = recommendation_note(
        ["ATT", "e=4", "overall", "ref"],
        np.array([12, 2, 12, 0]),
        np.array([13.5, 2.1, 6.0, np.nan]),
        current="CR1",
    )
    assert note.kind is NoteKind.FEW_CLUSTERS
    assert "this result uses CR1" in note
    for term, rec in (
        ("ATT", recommend(12, 13.5)),
        ("e=4", recommend(2)),
        ("overall", recommend(12, 6.0)),
    ):
        assert f"{rec.name} ({term}): " in note
        assert (rec.inference if rec.shown_valid else "no inference was shown") in note
    assert "ref" not in note
    assert recommendation_note(["ref"], np.array([0])) is None
    assert BAND_RECOMMENDATION in recommendation_note(["e=0"], [12], band=True)


@pytest.fixture(scope="module")
def tne_results():
    panel = load_synthetic("school_panel")
    cm2 = panel[panel["grade"] == "CM2"]
    spec = tne.PanelSpec(
        unit="school_id",
        time="year",
        outcome="score_french",
        cohort="first_treated",
        cluster="department",
    )
    with pytest.warns(tne.errors.SmallClusterWarning):
        gt = tne.att_gt(cm2, spec, method="reg", unbalanced="keep")
    return gt, tne.aggregate(gt, "dynamic"), tne.aggregate(gt, "simple")


def test_results_report_the_treated_clusters_behind_each_term(tne_results):
    gt, dyn, simple = tne_results
    frame = gt.to_frame()
    assert list(frame.columns[-2:]) == ["n_treated_clusters", "effective_clusters"]
    by_cohort = frame.groupby("cohort")["n_treated_clusters"].unique()
    assert list(by_cohort.loc[2020]) == [2] and list(by_cohort.loc[2021]) == [10]
    dframe = dyn.to_frame()
    assert dframe.loc["e=4", "n_treated_clusters"] == 2
    assert dframe.loc["e=-4", "n_treated_clusters"] == 10  # 2021 cohort only
    assert (dframe.loc[["e=0", "e=3", "overall"], "n_treated_clusters"] == 12).all()
    assert simple.to_frame().loc["ATT", "n_treated_clusters"] == 12
    # G* of a 2020-cohort cell is about 2, and never above the treated count + 1
    g_star = frame["effective_clusters"]
    assert g_star[frame["cohort"] == 2020].between(1.5, 3.0).all()
    np.testing.assert_allclose(
        dframe["effective_clusters"],
        effective_clusters(dyn.scores.values, dyn.scores.cluster_code),
        rtol=1e-12,
    )


def test_results_carry_the_recommendation_note(tne_results):
    _, dyn, _ = tne_results
    notes = [n for n in dyn.notes if "Recommended inference" in n]
    assert len(notes) == 1 and notes[0].kind is NoteKind.FEW_CLUSTERS
    assert "two treated clusters (e=4)" in notes[0]
    assert BAND_RECOMMENDATION not in notes[0]
    boot = dyn.with_inference(tne.MultiplierBootstrap(reps=99, seed=1))
    again = [n for n in boot.notes if "Recommended inference" in n]
    assert len(again) == 1 and "multiplier bootstrap" in again[0]
    assert BAND_RECOMMENDATION in again[0]
    assert "Recommended inference" in dyn.summary().as_text()


def test_with_recommended_inference_takes_each_term_from_its_method(tne_results):
    from tne_eval.inference.recommend import (
        recommended_spec,
        with_recommended_inference,
    )

    _, dyn, _ = tne_results
    shown = with_recommended_inference(dyn, reps=199, seed=3)
    cols = ["std_error", "conf_low", "conf_high", "p_value"]
    expected = {
        "e=4": tne.FermanPinto(reps=199, seed=3),
        "e=0": tne.WildBootstrap(reps=199, impose_null=False, seed=3),
        "overall": tne.CR2(),
    }
    for term, spec in expected.items():
        direct = dyn.with_inference(spec)
        np.testing.assert_allclose(
            shown.loc[term, cols].to_numpy(float),
            direct.to_frame().loc[term, cols].to_numpy(float),
            rtol=1e-12,
        )
        assert shown.loc[term, "inference"] == direct.inferred.description
    np.testing.assert_allclose(shown["estimate"], dyn.to_frame()["estimate"], rtol=0)
    assert shown.loc["e=4", "recommendation"] == "two treated clusters"
    assert recommended_spec(recommend(5, 9.0)) is None  # 3 to 9: none studied
    with pytest.raises(SpecError, match="n_treated_clusters"):
        with_recommended_inference(_NoCounts())


class _NoCounts:
    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"estimate": [1.0]}, index=["ATT"])
