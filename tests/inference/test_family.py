"""Outcome families: shared multipliers, Romano-Wolf on results, the table and errors.

The joint bootstrap must use the same multiplier for a cluster in every outcome
(and the multipliers of ``MultiplierBootstrap`` with the same seed), so its
draws are compared with each result's own bootstrap draws; the Romano-Wolf
p-values of a family are recomputed by brute force from its draws; a Monte
Carlo on small null panels checks the family-wise error rate end to end.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

import tne_eval as tne
from tests.inference.test_multiple_testing import _brute_force_romano_wolf
from tne_eval.errors import DataError, InferenceError, SpecError, TneEvalTypeError

#: Bootstrap draws computed by two code paths (block products vs one product):
#: BLAS rounding only (tne_eval.inference.bootstrap docstring).
ATOL_DRAWS = 1e-12
ATOL_ADJUST = 1e-12
MC_SIGMAS = 3.0


def _panel(seed: int, n_units: int = 90, n_clusters: int = 15, effect=(0.0, 0.0, 0.0)):
    """Staggered panel with three outcomes that share unit and cluster shocks."""
    gen = np.random.default_rng(seed)
    periods = np.arange(1, 7)
    cluster = np.arange(n_units) % n_clusters
    cohort_by_cluster = np.where(
        np.arange(n_clusters) < n_clusters // 3,
        3,
        np.where(np.arange(n_clusters) < 2 * n_clusters // 3, 5, 0),
    )
    cohort = cohort_by_cluster[cluster]
    unit = np.repeat(np.arange(n_units), periods.size)
    t = np.tile(periods, n_units)
    g = np.repeat(cohort, periods.size)
    c = np.repeat(cluster, periods.size)
    treated = (g > 0) & (t >= g)
    common_unit = np.repeat(gen.normal(size=n_units), periods.size)
    common_ct = gen.normal(size=(n_clusters, periods.size))[c, t - 1]
    data = {"unit": unit, "period": t, "cohort": g, "cluster": c}
    for k, name in enumerate(("y1", "y2", "y3")):
        data[name] = (
            common_unit
            + 0.7 * common_ct
            + 0.1 * t
            + effect[k] * treated
            + gen.normal(scale=0.5, size=t.size)
        )
    return pd.DataFrame(data)


SPEC = tne.PanelSpec(
    unit="unit", time="period", outcome="y1", cohort="cohort", cluster="cluster"
)


def _results(df, inference="cluster", outcomes=("y1", "y2", "y3"), spec=SPEC):
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tne.SmallClusterWarning)
        for y in outcomes:
            gt = tne.att_gt(
                df, spec.update(outcome=y), method="reg", inference=inference
            )
            out[y] = tne.aggregate(gt)
    return out


@pytest.fixture(scope="module")
def panel():
    return _panel(3, effect=(0.0, 0.3, 2.0))


@pytest.fixture(scope="module")
def results(panel):
    return _results(panel)


# -- shared multipliers ----------------------------------------------------------
def test_joint_draws_are_each_results_own_bootstrap_draws(panel):
    boot = tne.MultiplierBootstrap(reps=199, seed=12)
    own = _results(panel, inference=boot)
    fam = tne.outcome_family(own, reps=199, seed=12)
    for y, res in own.items():
        np.testing.assert_allclose(
            fam.draws[y].to_numpy(),
            res.draws["ATT"].to_numpy(),
            rtol=0,
            atol=ATOL_DRAWS,
        )
        # the studentizing SE is the result's own bootstrap SE
        assert fam.table.loc[y, "boot_std_error"] == pytest.approx(
            res.std_errors["ATT"], rel=1e-10
        )


def test_same_seed_same_family_other_seed_other_draws(results):
    a = tne.outcome_family(results, reps=199, seed=5)
    b = tne.outcome_family(results, reps=199, seed=5)
    c = tne.outcome_family(results, reps=199, seed=6)
    pd.testing.assert_frame_equal(a.draws, b.draws)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert not np.allclose(a.draws.to_numpy(), c.draws.to_numpy())


def test_multipliers_are_shared_across_outcomes(results):
    # a family of the same result twice: identical draws in both columns
    fam = tne.outcome_family(
        {"first": results["y1"], "copy": results["y1"]}, reps=199, seed=2
    )
    np.testing.assert_array_equal(fam.draws["first"], fam.draws["copy"])
    # so the copy adds no multiplicity for Romano-Wolf (Holm doubles the p-value)
    alone = tne.outcome_family({"first": results["y1"]}, reps=199, seed=2)
    assert fam.table["p_romano_wolf"].tolist() == pytest.approx(
        [alone.table.loc["first", "p_romano_wolf"]] * 2, abs=ATOL_ADJUST
    )


def test_joint_draws_keep_the_correlation_of_the_outcomes(results):
    fam = tne.outcome_family(results, reps=999, seed=3)
    # analytic covariance of the three ATTs from the stacked influence functions
    psi = np.column_stack(
        [r.influence["ATT"].to_numpy() / r.scores.n for r in results.values()]
    )
    code = results["y1"].scores.cluster_code
    sums = np.vstack([np.bincount(code, weights=psi[:, j]) for j in range(3)]).T
    corr = np.corrcoef(sums, rowvar=False)
    boot = fam.draws.corr().to_numpy()
    # 999 draws: sampling error of a correlation about (1 - r^2) / sqrt(999)
    np.testing.assert_allclose(boot, corr, atol=0.1)
    assert boot[0, 1] > 0.2


def test_unit_level_family_matches_units_by_id(panel):
    res = _results(panel, inference="iid", outcomes=("y1", "y2"))
    fam = tne.outcome_family(res, reps=199, seed=1)
    assert fam.n_clusters == panel["unit"].nunique()
    assert "matched by id" in fam.clusters
    own = _results(
        panel,
        inference=tne.MultiplierBootstrap(reps=199, seed=1, by=None),
        outcomes=("y1",),
        spec=SPEC.update(cluster=None),
    )
    np.testing.assert_allclose(
        fam.draws["y1"].to_numpy(), own["y1"].draws["ATT"].to_numpy(), atol=ATOL_DRAWS
    )


# -- the adjusted p-values of a family ------------------------------------------
def test_family_romano_wolf_equals_brute_force_on_its_draws(results):
    fam = tne.outcome_family(results, reps=299, seed=9)
    se = fam.table["boot_std_error"].to_numpy()
    t = fam.table["estimate"].to_numpy() / se
    expected = _brute_force_romano_wolf(t, fam.draws.to_numpy() / se)
    np.testing.assert_allclose(fam.table["p_romano_wolf"], expected, atol=ATOL_ADJUST)
    assert (fam.table["p_romano_wolf"] >= fam.table["p_bootstrap"]).all()


def test_family_pvalue_methods_match_statsmodels(results):
    fam = tne.outcome_family(results, method=["bonferroni", "holm", "bh"])
    p = fam.table["p_value"].to_numpy()
    for m, sm in (("bonferroni", "bonferroni"), ("holm", "holm"), ("bh", "fdr_bh")):
        np.testing.assert_allclose(
            fam.table[f"p_{m}"], multipletests(p, method=sm)[1], atol=ATOL_ADJUST
        )
    # p_value is each result's own pointwise p-value
    for y, res in results.items():
        assert fam.table.loc[y, "p_value"] == res.pvalues["ATT"]
    assert fam.draws is None


def test_adjust_pvalues_inputs(results):
    s = pd.Series({"a": 0.01, "b": 0.04, "c": 0.03})
    out = tne.adjust_pvalues(s, method="bh")
    assert out.name == "p_bh"
    assert list(out.index) == ["a", "b", "c"]
    np.testing.assert_allclose(
        out, multipletests(s, method="fdr_bh")[1], atol=ATOL_ADJUST
    )
    assert tne.adjust_pvalues({"a": 0.01, "b": 0.2}).index.tolist() == ["a", "b"]
    rw = tne.adjust_pvalues(results, method="romano-wolf", reps=199, seed=4)
    fam = tne.outcome_family(results, reps=199, seed=4)
    pd.testing.assert_series_equal(rw, fam.adjusted("romano-wolf"))


def test_family_table_and_protocol(results):
    fam = tne.outcome_family(
        results, method=("holm", "bh", "romano-wolf"), reps=199, seed=1, alpha=0.1
    )
    frame = fam.to_frame()
    assert list(frame.columns) == [
        "outcome", "term", "estimate", "std_error", "p_value", "boot_std_error",
        "p_bootstrap", "p_holm", "p_bh", "p_romano_wolf", "reject_holm", "reject_bh",
        "reject_romano_wolf",
    ]  # fmt: skip
    assert frame.index.name == "hypothesis"
    assert (frame["reject_holm"] == (frame["p_holm"] <= 0.1)).all()
    assert (fam.rejected(0.01)["reject_bh"] == (frame["p_bh"] <= 0.01)).all()
    text = fam.summary().as_text()
    assert "Romano-Wolf" in text and "Seed: 1" in text
    assert "| y1" in fam.to_markdown()
    assert "<table" in fam._repr_html_()
    assert repr(fam).startswith("<OutcomeFamily: 3 hypotheses")
    # the results' few-clusters notes are carried over, once
    few = [n for n in fam.notes if n.kind.value == "few_clusters"]
    assert sum(n.startswith("Few treated clusters") for n in few) == 1
    assert sum(n.startswith("Recommended inference") for n in few) == 1
    # the largest true effect is found by every method
    assert frame.loc["y3", ["reject_holm", "reject_bh", "reject_romano_wolf"]].all()


def test_several_terms_per_result(panel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tne.SmallClusterWarning)
        dyn = {
            y: tne.aggregate(
                tne.att_gt(panel, SPEC.update(outcome=y), method="reg"), "dynamic"
            )
            for y in ("y1", "y2")
        }
    fam = tne.outcome_family(dyn, term=["e=0", "e=1"], method="holm")
    assert list(fam.hypotheses) == ["y1: e=0", "y1: e=1", "y2: e=0", "y2: e=1"]
    fam = tne.outcome_family(dyn, method="holm")  # default: the overall row
    assert fam.table["term"].unique().tolist() == ["overall"]


# -- errors ----------------------------------------------------------------------
def test_errors(results, panel):
    with pytest.raises(TneEvalTypeError, match="mapping of outcome name"):
        tne.outcome_family([results["y1"]])
    with pytest.raises(TneEvalTypeError, match="must be an estimation result"):
        tne.outcome_family({"a": 0.1})
    with pytest.raises(SpecError, match="not supported; choose one of"):
        tne.outcome_family(results, method="sidak")
    with pytest.raises(SpecError, match="is not a term of"):
        tne.outcome_family(results, term="e=0")
    with pytest.raises(InferenceError, match="needs the joint bootstrap"):
        tne.adjust_pvalues([0.1, 0.2], method="romano-wolf")
    with pytest.raises(DataError, match="missing or outside"):
        tne.adjust_pvalues([0.1, np.nan])
    with pytest.raises(TneEvalTypeError, match="pvalues must be numbers"):
        tne.adjust_pvalues(["a", "b"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gt = tne.att_gt(panel, SPEC, method="reg")
        tw = tne.twfe(panel, SPEC)
    with pytest.raises(SpecError, match="none is 'ATT' or 'overall'"):
        tne.outcome_family({"cells": gt})
    with pytest.raises(InferenceError, match="stores RegressionScores"):
        tne.outcome_family({"twfe": tw, "cs": results["y1"]})
    # TWFE works with p-value methods
    assert (
        "p_holm"
        in tne.outcome_family({"twfe": tw, "cs": results["y1"]}, method="holm").table
    )
    iid = _results(panel, inference="iid", outcomes=("y1",))["y1"]
    with pytest.raises(InferenceError, match="unit-level inference while the others"):
        tne.outcome_family({"iid": iid, "cl": results["y2"]})
    fewer = _results(panel[panel["cluster"] != 14], outcomes=("y2",))["y2"]
    with pytest.raises(InferenceError, match="different clusters"):
        tne.outcome_family({"all": results["y1"], "fewer": fewer})


def test_shared_units_in_clusters_of_different_rank_are_refused(panel):
    # same number of clusters, but the labels differ: unit 0 moves cluster
    other = panel.copy()
    other["cluster"] = (other["cluster"] + 1) % 15
    a = _results(panel, outcomes=("y1",))["y1"]
    b = _results(other, outcomes=("y2",))["y2"]
    with pytest.raises(InferenceError, match="clusters of different rank"):
        tne.outcome_family({"a": a, "b": b})


# -- family-wise error rate, end to end ------------------------------------------
def _fwer(n_sims: int, reps: int, seed: int) -> tuple[float, float]:
    rw = raw = 0
    for s in range(n_sims):
        df = _panel(seed + s, n_units=120, n_clusters=30)
        fam = tne.outcome_family(
            _results(df), method=["holm", "romano-wolf"], reps=reps, seed=s
        )
        rw += bool((fam.table["p_romano_wolf"] <= 0.05).any())
        raw += bool((fam.table["p_bootstrap"] <= 0.05).any())
    return rw / n_sims, raw / n_sims


def test_family_fwer_small():
    """Reduced end-to-end check (seconds): three true nulls on small panels."""
    n_sims = 40
    rw, _ = _fwer(n_sims, reps=199, seed=1000)
    assert rw <= 0.05 + MC_SIGMAS * np.sqrt(0.05 * 0.95 / n_sims)


@pytest.mark.slow
def test_family_fwer():
    """Family-wise error of three correlated null ATTs at 5 %, 30 clusters."""
    n_sims = 600
    rw, raw = _fwer(n_sims, reps=399, seed=50_000)
    assert abs(rw - 0.05) <= MC_SIGMAS * np.sqrt(0.05 * 0.95 / n_sims)
    assert raw > rw


def test_four_test_scores_family_on_the_synthetic_world():
    """The documented example: simple ATTs of the four scores, one family."""
    from tne_eval.datasets import load_synthetic

    panel = load_synthetic("school_panel")
    truth = load_synthetic("truth")["outcomes"]
    spec = tne.PanelSpec(
        unit="school_id", time="year", outcome="score_french", cohort="first_treated",
        cluster="department", covariates=("social_index",),
    )  # fmt: skip
    scores = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tne.SmallClusterWarning)
        for grade in ("CM2", "3e"):
            sample = panel[panel["grade"] == grade]
            for subject in ("french", "math"):
                gt = tne.att_gt(
                    sample, spec.update(outcome=f"score_{subject}"), method="dr",
                    unbalanced="keep",
                )  # fmt: skip
                scores[f"score_{subject}_{grade}"] = tne.aggregate(gt)
    fam = tne.outcome_family(
        scores, method=["holm", "bh", "romano-wolf"], reps=999, seed=1
    )
    table = fam.table
    assert fam.n_clusters == 101
    for name, row in table.iterrows():
        true = truth[name]["weightings"]["schools"]["simple"]
        assert abs(row["estimate"] - true) <= 3 * row["std_error"]
    assert (table["p_romano_wolf"] >= table["p_bootstrap"]).all()
    assert (table["p_holm"] >= table["p_value"]).all()
    assert fam.to_frame()["reject_romano_wolf"].all()


def test_unit_level_rows_of_repeated_cross_sections_need_an_id(panel):
    spec = tne.RepeatedCrossSectionSpec(
        time="period", outcome="y1", group="unit", cohort="cohort", cluster="cluster"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tne.SmallClusterWarning)
        res = {
            y: tne.aggregate(
                tne.att_gt(panel, spec.update(outcome=y), method="reg", inference="iid")
            )
            for y in ("y1", "y2")
        }
    with pytest.raises(InferenceError, match="no row id"):
        tne.outcome_family(res)
    # clustered, the rows are matched through their clusters
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tne.SmallClusterWarning)
        clustered = {y: r.with_inference("cluster") for y, r in res.items()}
    assert tne.outcome_family(clustered, reps=199, seed=1).n_clusters == 15
