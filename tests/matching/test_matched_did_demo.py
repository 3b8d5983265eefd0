"""Matched comparison before difference-in-differences, on the synthetic world.

The synthetic world selects TNE departments on a lower social index and a lower
persistent score level, and its COVID loss is larger at a low index, so
parallel trends hold only conditionally on the index (docs/synthetic_world.md).

* Naive: match 2021-cohort CM2 schools to never-treated ones on their
  2018-2020 French score *levels* and compare post-period (2021-2024) means.
  Matched controls with equally low pre-period scores are partly controls whose
  transitory shocks were low; they drift back up (regression to the mean) and
  the comparison is biased downwards.
* Matched DiD: match on the social index (what drove selection and trends),
  then ``att_gt`` on the matched panel with the matching weights
  (``spec.weights``) recovers the cohort's true group effect.

Tolerances are SE-based (one seeded world, ``Z``) here and Monte Carlo based
(``MC_Z`` times the Monte Carlo standard error over seeded worlds) in the slow
test.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import tne_eval as tne
from tne_eval.datasets import WorldConfig, load_synthetic, simulate
from tne_eval.matching import att

COHORT = 2021
#: |estimate - truth| / SE below which an estimator "recovers" the truth, and
#: above which it "fails" (two-sided normal tail 0.3%).
Z = 3.0
#: Monte Carlo tolerance: the mean bias over worlds is within (or, for the
#: naive estimator, beyond) this many Monte Carlo standard errors of zero.
MC_Z = 3.0
#: A world four times the committed one, so that the naive bias (about 2-4
#: points) is several of its standard errors (about 0.5).
BIG = WorldConfig(n_primary=12000, n_college=101, seed=7)
PRE = [2018, 2019, 2020]
POST = [2021, 2022, 2023, 2024]

PSPEC = tne.PanelSpec(
    unit="school_id",
    time="year",
    outcome="score_french",
    cohort="first_treated",
    weights="match_weight",
    cluster="department",
)


def _cm2(panel):
    cm2 = panel[(panel["grade"] == "CM2") & panel["first_treated"].isin([0, COHORT])]
    wide = cm2.pivot_table(index="school_id", columns="year", values="score_french")
    # schools with a score every year: att_gt drops incomplete units, which
    # would break the matched sets
    complete = wide.index[wide.notna().all(axis=1)]
    cm2 = cm2[cm2["school_id"].isin(complete)]
    base = cm2.drop_duplicates("school_id").set_index("school_id")
    wide = wide.loc[complete]
    cross = base[["first_treated", "social_index", "department"]].copy()
    for t in PRE:
        cross[f"y{t}"] = wide[t]
    cross["ypost"] = wide[POST].mean(axis=1)
    cross["tne"] = (cross["first_treated"] == COHORT).astype(int)
    return cm2, cross.reset_index()


def _estimates(panel, truth_group):
    cm2, cross = _cm2(panel)
    levels = tne.CrossSectionSpec(
        outcome="ypost",
        treatment="tne",
        covariates=tuple(f"y{t}" for t in PRE),
        unit="school_id",
    )
    naive3 = att(cross, levels, tne.match(cross, levels, replace=True))
    last = levels.update(covariates=(f"y{PRE[-1]}",))
    naive1 = att(cross, last, tne.match(cross, last, replace=True))
    index = levels.update(covariates=("social_index",))
    m = tne.match(cross, index, replace=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tne.errors.SmallClusterWarning)
        gt = tne.att_gt(
            tne.matched_panel(cm2, m, unit="school_id"),
            PSPEC,
            control_group="never_treated",
        )
    group = tne.aggregate(gt, kind="group").to_frame()
    did = group[group["cohort"] == COHORT].iloc[0]
    return {
        "naive1": (naive1.estimates["ATT"] - truth_group, naive1.std_errors["ATT"]),
        "naive3": (naive3.estimates["ATT"] - truth_group, naive3.std_errors["ATT"]),
        "did": (did["estimate"] - truth_group, did["std_error"]),
        "match": m,
        "cm2": cm2,
        "cross": cross,
    }


def _truth(truth):
    return truth["outcomes"]["score_french_CM2"]["weightings"]["schools"]["group"][
        str(COHORT)
    ]


@pytest.fixture(scope="module")
def big_world():
    world = simulate(BIG)
    return _estimates(world.school_panel, _truth(world.truth))


def test_naive_level_matching_fails_where_matched_did_recovers(big_world):
    # matching on the baseline (2020) score level, post-period comparison:
    # biased downwards by regression to the mean
    bias, se = big_world["naive1"]
    assert bias / se < -Z, (bias, se)
    # matching on the three pre-period levels shrinks the bias, not its sign
    assert big_world["naive3"][0] < 0
    bias, se = big_world["did"]
    assert abs(bias / se) < Z, (bias, se)


def test_committed_world_matched_did_recovers_the_truth():
    est = _estimates(load_synthetic("school_panel"), _truth(load_synthetic("truth")))
    bias, se = est["did"]
    assert abs(bias / se) < Z, (bias, se)
    # trajectories: balance on the pre-period outcome means after matching on
    # the index, with the weights applied
    tr = tne.trajectories(
        est["cm2"],
        est["match"],
        unit="school_id",
        time="year",
        outcome="score_french",
        treatment_start=COHORT,
    )
    tab = tr.table
    assert list(tab.index) == list(range(2016, 2025))
    # hand computation of the weighted means in one year
    w = pd.Series(est["match"].weights.to_numpy(), index=est["match"].ids)
    rows = est["cm2"][est["cm2"]["year"] == 2019]
    wt = rows["school_id"].map(w)
    ctrl = (rows["first_treated"] == 0) & (wt > 0)
    expect = np.average(rows.loc[ctrl, "score_french"], weights=wt[ctrl])
    assert tab.loc[2019, "matched"] == pytest.approx(expect, rel=1e-12)
    trt = rows["first_treated"] == COHORT
    assert tab.loc[2019, "treated"] == pytest.approx(
        rows.loc[trt, "score_french"].mean(), rel=1e-12
    )
    # matching on the index moves the comparison mean towards the treated one
    pre = tab.loc[2016:2020]
    gap_matched = (pre["treated"] - pre["matched"]).abs().mean()
    gap_all = (pre["treated"] - pre["unmatched"]).abs().mean()
    assert gap_matched < gap_all


def test_trajectory_plot_returns_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cross = pd.DataFrame(
        {"s": list("abcdef"), "d": [1, 1, 0, 0, 0, 0], "x": [1, 2, 1.1, 2.2, 9, 8.0]}
    )
    spec = tne.CrossSectionSpec(
        outcome=None, treatment="d", covariates=("x",), unit="s"
    )
    m = tne.match(cross, spec, distance="mahalanobis")
    panel = pd.DataFrame(
        {
            "s": list("abcdef") * 3,
            "year": np.repeat([1, 2, 3], 6),
            "y": np.arange(18, dtype=float),
        }
    )
    tr = tne.trajectories(
        panel, m, unit="s", time="year", outcome="y", treatment_start=3, matched_on=[1]
    )
    _fig, ax = plt.subplots()
    out = tr.plot(ax=ax, title="t")
    assert out is ax
    assert len(ax.get_lines()) >= 3
    assert ax.get_title() == "t"
    assert tr.plot() is not ax
    plt.close("all")


def test_trajectory_errors():
    cross = pd.DataFrame({"s": list("abcd"), "d": [1, 0, 0, 1], "x": [1, 1.1, 5, 4.8]})
    spec = tne.CrossSectionSpec(outcome=None, treatment="d", covariates=("x",))
    m = tne.match(cross, spec, distance="mahalanobis")
    panel = pd.DataFrame({"s": list("abcd"), "year": 1, "y": 1.0})
    with pytest.raises(tne.errors.SpecError, match=r"spec.unit\s+is None"):
        tne.trajectories(panel, m, unit="s", time="year", outcome="y")
    m2 = tne.match(cross, spec.update(unit="s"), distance="mahalanobis")
    with pytest.raises(tne.errors.DataError, match="matched units are not in panel"):
        tne.trajectories(panel.iloc[:2], m2, unit="s", time="year", outcome="y")
    with pytest.raises(tne.errors.DataError, match="must be numeric"):
        tne.trajectories(panel.assign(y="a"), m2, unit="s", time="year", outcome="y")
    tr = tne.trajectories(
        panel.assign(y=[1.0, np.nan, 2.0, 3.0]), m2, unit="s", time="year", outcome="y"
    )
    assert "1 panel rows" in tr.notes[0]


def test_aggregate_units_against_groupby():
    panel = load_synthetic("school_panel")
    cm2 = panel[panel["grade"] == "CM2"]
    # the committed panel has absent rows, not missing values
    agg = tne.aggregate_units(
        cm2,
        by="department",
        time="year",
        outcome="score_french",
        pre_periods=[2016, 2017, 2018, 2019],
        covariates=("social_index",),
        constant=("first_treated",),
        weights="n_pupils",
    )
    rep = agg.attrs["drop_report"]
    pre = cm2[cm2["year"].between(2016, 2019)]
    kept = pre.dropna(subset=["score_french", "n_pupils", "social_index"])
    assert rep.n_rows_in == len(cm2)
    assert sum(r.n_rows for r in rep.records if r.reason == "missing values") == len(
        pre
    ) - len(kept)
    assert agg["n_rows"].sum() == len(kept)
    # independent reference: pandas weighted means and numpy's polyfit slope
    kept = kept.assign(wy=kept["score_french"] * kept["n_pupils"])
    cell = kept.groupby(["department", "year"])[["wy", "n_pupils"]].sum()
    lvl = (cell["wy"] / cell["n_pupils"]).unstack("year")
    agg = agg.set_index("department")
    for t in (2016, 2019):
        np.testing.assert_allclose(agg[f"score_french_{t}"], lvl[t], rtol=1e-12)
    slope = np.polyfit([2016, 2017, 2018, 2019], lvl.to_numpy().T, 1)[0]
    np.testing.assert_allclose(agg["score_french_trend"], slope, rtol=1e-9)
    si = kept.groupby("department").apply(
        lambda g: np.average(g["social_index"], weights=g["n_pupils"]),
        include_groups=False,
    )
    np.testing.assert_allclose(agg["social_index"], si, rtol=1e-12)
    assert len(agg) == cm2["department"].nunique()


def test_match_departments_on_aggregates_then_did():
    """Departments of the 2021 cohort matched on their pre-period trend and index."""
    panel = load_synthetic("school_panel")
    cm2 = panel[(panel["grade"] == "CM2") & panel["first_treated"].isin([0, COHORT])]
    deps = tne.aggregate_units(
        cm2,
        by="department",
        time="year",
        outcome="score_french",
        pre_periods=[2016, 2017, 2018, 2019],
        covariates=("social_index",),
        constant=("first_treated",),
    )
    deps["tne"] = (deps["first_treated"] == COHORT).astype(int)
    spec = tne.CrossSectionSpec(
        outcome=None,
        treatment="tne",
        covariates=("social_index", "score_french_trend"),
        unit="department",
    )
    m = tne.match(deps, spec, ratio=3, replace=True)
    assert m.n_matched["treated"] == 10
    # every school of a matched department takes its department's weight
    schools = tne.matched_panel(cm2, m, unit="department")
    wide = schools.pivot_table(index="school_id", columns="year", values="score_french")
    complete = wide.index[wide.notna().all(axis=1)]
    schools = schools[schools["school_id"].isin(complete)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tne.errors.SmallClusterWarning)
        gt = tne.att_gt(schools, PSPEC, control_group="never_treated")
    group = tne.aggregate(gt, kind="group").to_frame()
    row = group[group["cohort"] == COHORT].iloc[0]
    truth = _truth(load_synthetic("truth"))
    assert abs(row["estimate"] - truth) / row["std_error"] < Z


def test_aggregate_units_errors():
    panel = pd.DataFrame(
        {
            "dep": ["a", "a", "b", "b"],
            "year": [1, 2, 1, 2],
            "y": [1.0, 2.0, 3.0, np.nan],
            "g": [0, 1, 2, 2],
        }
    )
    with pytest.raises(tne.errors.DataError, match=r"panel\['g'\] varies within 1"):
        tne.aggregate_units(
            panel,
            by="dep",
            time="year",
            outcome="y",
            pre_periods=[1, 2],
            constant=["g"],
        )
    with pytest.raises(tne.errors.SpecError, match=r"pre_periods \[7\] do not occur"):
        tne.aggregate_units(panel, by="dep", time="year", outcome="y", pre_periods=[7])
    with pytest.raises(tne.errors.SpecError, match="pre_periods is empty"):
        tne.aggregate_units(panel, by="dep", time="year", outcome="y", pre_periods=[])
    with pytest.raises(tne.errors.TneEvalTypeError, match="single string"):
        tne.aggregate_units(
            panel, by="dep", time="year", outcome="y", pre_periods=[1], covariates="y"
        )
    with pytest.warns(tne.errors.DroppedObservationsWarning, match="1 groups"):
        out = tne.aggregate_units(
            panel, by="dep", time="year", outcome="y", pre_periods=[1, 2]
        )
    assert out["dep"].tolist() == ["a"]
    assert [r.reason for r in out.attrs["drop_report"].records] == [
        "missing values",
        "incomplete groups",
    ]
    with pytest.warns(tne.errors.DroppedObservationsWarning, match=r"'dep' \(1\)"):
        out = tne.aggregate_units(
            panel.assign(dep=[None, "a", "b", "b"], y=1.0),
            by="dep",
            time="year",
            outcome="y",
            pre_periods=[1],
        )
    assert out["dep"].tolist() == ["b"]
    assert out["n_rows"].sum() == 1
    with pytest.raises(tne.errors.DataError, match="negative weights"):
        tne.aggregate_units(
            panel.assign(w=-1.0),
            by="dep",
            time="year",
            outcome="y",
            pre_periods=[1],
            weights="w",
        )


def _world_bias(seed):
    world = simulate(WorldConfig(n_primary=6000, n_college=101, seed=seed))
    est = _estimates(world.school_panel, _truth(world.truth))
    return est["naive1"][0], est["naive3"][0], est["did"][0]


@pytest.mark.slow
def test_monte_carlo_naive_bias_and_matched_did():
    from tne_eval._parallel import parallel_map

    seeds = list(range(100, 112))
    out = np.array(parallel_map(_world_bias, seeds, n_jobs=1, progress=False))
    mean = out.mean(axis=0)
    mcse = out.std(axis=0, ddof=1) / np.sqrt(len(seeds))
    naive1, naive3, did = mean
    assert naive1 < -MC_Z * mcse[0], (mean, mcse)
    assert naive3 < -MC_Z * mcse[1], (mean, mcse)
    assert abs(did) < MC_Z * mcse[2], (mean, mcse)
