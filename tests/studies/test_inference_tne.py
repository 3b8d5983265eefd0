"""Every inference method in the TNE design (studies/inference_tne.py).

Machinery, on a few replications (default suite):

* the records hold every method's entry for every estimand, and the summary's
  rates are those of the records;
* the array-level adapters are checked against independent computations: the
  cohort weights reproduce the aggregates' estimates, the group-mean split
  reproduces the registry's CR1 standard errors, the Conley-Taber inputs
  reproduce the estimate, and the vectorized randomization statistic equals a
  pandas computation on re-drawn assignments, with p-values that agree with
  :func:`tne_eval.randomization_test` within Monte Carlo error;
* the command line writes JSON and Markdown and resumes.

Statistics: the reduced study re-runs the first REDUCED_REPS replications of
the committed full study (same seeds, same settings) and every rate is tested
against the full study's with an exact two-sided binomial test (fails below
LEVEL_MEASURED). Under ``-m slow`` the full study is re-run and the issue's
targets are tested for the recommended inference of each estimand class
(:mod:`tne_eval.inference.recommend`): size 4-6 % and coverage 93-97 % for the
simple ATT and e = 0..3, coverage >= 93 % for the 2-department estimands,
pre-trend test size <= 7 %. A target is failed when an exact one-sided binomial
test rejects it at LEVEL_TARGET. Where no method meets a target the test is a
strict expected failure quoting the measured number.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import tne_eval as tne
from studies import inference_tne as study
from studies.inference_tne import (
    DEFAULT_OUT,
    METHODS,
    PRETESTS,
    TARGETS,
    StudySettings,
    run_study,
    summarise,
)
from tne_eval.datasets import WorldConfig, simulate
from tne_eval.inference.influence import influence_vcov
from tne_eval.inference.recommend import PRETREND_TEST, recommend

FULL_RESULT = json.loads(DEFAULT_OUT.read_text())
FULL = FULL_RESULT["summary"]
META = FULL_RESULT["metadata"]
#: The settings of the committed full study (its method sources included).
SETTINGS = StudySettings(
    **{
        k: v
        for k, v in META["settings"].items()
        if k in {f.name for f in dataclasses.fields(StudySettings)} - {"sources"}
    },
    sources="array" if META["sources"]["cr2"] == "array" else "auto",
)
#: Replications of the default suite's reduced study (about 2 s of one core each).
REDUCED_REPS = 4
LEVEL_MEASURED = 0.001
LEVEL_TARGET = 0.01


@pytest.fixture(scope="module")
def reduced():
    records = run_study(REDUCED_REPS, SETTINGS)
    return records, summarise(records)


@pytest.fixture(scope="module")
def world():
    w = simulate(WorldConfig(seed=SETTINGS.world_seed(3)))
    panel = study._cm2_panel(w)
    gt = tne.att_gt(panel, study.SPEC, **study.ESTIMATOR)
    return panel, gt, tne.aggregate(gt, "simple"), tne.aggregate(gt, "dynamic")


# ---------------------------------------------------------------------------
# machinery
# ---------------------------------------------------------------------------


def test_records_hold_every_method_and_estimand(reduced):
    records, summary = reduced
    assert [r["r"] for r in records] == list(range(1, REDUCED_REPS + 1))
    for rec in records:
        for key in ("ci", "null_ci"):
            assert set(rec[key]) == set(METHODS) - {"ri"}
            for m in rec[key]:
                assert set(rec[key][m]) == set(TARGETS)
                for entry in rec[key][m].values():
                    assert len(entry) == len(study.FIELDS)
        for t in TARGETS:
            assert 0 < rec[f"null_p_ri_{t}"] <= 1
        for key in PRETESTS:
            assert f"pretest_p_{key}" in rec
    assert summary["n_reps"] == REDUCED_REPS


def test_summary_rates_are_the_records(reduced):
    records, summary = reduced
    for t in ("simple", "e4"):
        lo = np.array([r["null_ci"]["cr1"][t][0] for r in records])
        hi = np.array([r["null_ci"]["cr1"][t][1] for r in records])
        assert summary["null"][t]["cr1"]["count"] == int(np.sum((lo > 0) | (hi < 0)))
        truth = np.array([r[f"truth_{t}"] for r in records])
        lo = np.array([r["ci"]["cr3"][t][0] for r in records])
        hi = np.array([r["ci"]["cr3"][t][1] for r in records])
        cov = summary["coverage"][t]["methods"]["cr3"]["coverage"]
        assert cov["count"] == int(np.sum((lo <= truth) & (truth <= hi)))
        # the wild bootstrap decides from its p-value at the truth when the
        # records hold it (array-level source), else from its inverted interval
        ent = np.array([r["ci"]["wild_u"][t] for r in records])
        p, lo, hi = ent[:, 4], ent[:, 0], ent[:, 1]
        covers = np.where(np.isfinite(p), p > 0.05, (lo <= truth) & (truth <= hi))
        wcov = summary["coverage"][t]["methods"]["wild_u"]["coverage"]
        assert wcov["count"] == int(np.sum(covers))
    p = np.array([r["pretest_p_all-average-htz"] for r in records])
    assert summary["pretests"]["all-average-htz"]["count"] == int(np.sum(p <= 0.05))


def test_cohort_weights_reproduce_the_aggregates(world):
    _, gt, simple, dyn = world
    table = gt.table
    for t in TARGETS:
        c = study._cohort_weights(gt, simple.scores, t)
        assert sum(c.values()) == pytest.approx(1.0, abs=1e-12)
        if t == "simple":
            value = sum(
                c[g] * table.loc[(table.cohort == g) & table.post, "estimate"].mean()
                for g in study.COHORTS
            )
            assert value == pytest.approx(simple.estimates["ATT"], rel=1e-10)
        elif t != "dynamic_overall":
            e = int(t[1:])
            cells = table.loc[table.event_time == e].set_index("cohort")["estimate"]
            value = sum(c[g] * cells.get(g, 0.0) for g in study.COHORTS)
            assert value == pytest.approx(dyn.estimates[study.TERM[t]], rel=1e-10)


def test_group_mean_split_reproduces_the_registry_cr1(world):
    _, gt, simple, dyn = world
    for agg, t in ((simple, "simple"), (dyn, "e0"), (dyn, "e4"), (dyn, "e-4")):
        pos = list(agg._terms).index(study.TERM[t])
        sp = study._split(agg.scores, pos, study._cohort_weights(gt, agg.scores, t))
        np.testing.assert_allclose(
            sp.psi @ sp.contrast, agg.scores.dense()[:, pos], rtol=0, atol=1e-12
        )
        v = influence_vcov(
            sp.psi @ sp.contrast[:, None],
            sp.codes,
            agg.scores.n_clusters,
            small_sample=True,
        )
        assert np.sqrt(v[0, 0]) == pytest.approx(
            agg.std_errors[study.TERM[t]], rel=1e-8
        )


def test_conley_taber_inputs_reproduce_the_estimate(world):
    _, gt, simple, dyn = world
    for agg, t in ((simple, "simple"), (dyn, "e4")):
        pos = list(agg._terms).index(study.TERM[t])
        sp = study._split(agg.scores, pos, study._cohort_weights(gt, agg.scores, t))
        est = float(agg.estimates[study.TERM[t]])
        delta, treated, omega, sizes = study._few_treated_inputs(sp, est)
        assert treated.sum() == (12 if t == "simple" else 2)
        res = tne.inference.few_treated.conley_taber(delta, treated, weights=omega)
        assert res.estimate == pytest.approx(est, rel=1e-10)
        assert (sizes > 0).all()


def _dept_statistic(panel: pd.DataFrame, cohort_of: pd.Series, target: str) -> float:
    """The randomization statistic computed with pandas, one assignment at a time."""
    means = panel.groupby(["department", "year"])["score_french"].mean().unstack()
    x = panel.groupby("department")["social_index"].mean()
    schools = panel.groupby("department")["school_id"].nunique()
    never = cohort_of.index[cohort_of == 0]
    cells = {}
    for g in study.COHORTS:
        treated = cohort_of.index[cohort_of == g]
        for t in means.columns:
            if t == g - 1:
                continue
            d = (means[t] - means[g - 1]).dropna()
            ctrl = d.reindex(never).dropna()
            fit = np.polyfit(x[ctrl.index], ctrl, 1)
            tr = d.reindex(treated).dropna()
            w = schools[tr.index]
            adj = tr - fit[0] * (x[tr.index] - x[ctrl.index].mean())
            cells[(g, t)] = float((adj * w).sum() / w.sum() - ctrl.mean())
    size = {g: schools[cohort_of.index[cohort_of == g]].sum() for g in study.COHORTS}
    if target == "simple":
        keys = [(g, t) for (g, t) in cells if t >= g]
    else:
        keys = [(g, t) for (g, t) in cells if t - g == int(target[1:])]
    return sum(cells[k] * size[k[0]] for k in keys) / sum(size[k[0]] for k in keys)


def test_randomization_statistic_equals_a_pandas_computation(world):
    panel = world[0]
    dd = study._dept_data(panel)
    assign = study._ri_draws(dd, 3, seed=1)
    values = study.ri_statistics(dd, assign)
    depts = panel.groupby("department")["first_treated"].first().index
    for row in range(assign.shape[0]):
        cohort_of = pd.Series(assign[row], index=depts)
        for t in ("simple", "e0", "e4", "e-3"):
            assert values[t][row] == pytest.approx(
                _dept_statistic(panel, cohort_of, t), rel=1e-10
            )


def test_randomization_p_value_agrees_with_the_library(world):
    panel = world[0]
    dd = study._dept_data(panel)
    mine = study._ri_record(panel, SETTINGS, seed=5)["null_p_ri_simple"]

    def stat(data: pd.DataFrame) -> float:
        cohorts = data.groupby("department")["first_treated"].first()
        cohorts = cohorts.where(cohorts.isin(study.COHORTS), 0).astype(int)
        return abs(_dept_statistic(data, cohorts, "simple"))

    reps = 99
    lib = tne.randomization_test(
        panel, stat, reps=reps, seed=5, alternative="greater", progress=False
    )
    p = float(lib.p_value)
    sd = np.sqrt(max(p * (1 - p), 0.01) / reps + mine * (1 - mine) / SETTINGS.ri_reps)
    assert abs(p - mine) <= 4 * sd + 1 / (reps + 1), (p, mine)
    assert dd.cohort.tolist().count(2020) == 2 and dd.cohort.tolist().count(2021) == 10


def test_command_line_writes_json_markdown_and_resumes(tmp_path, reduced):
    out = tmp_path / "inf.json"
    argv = ["studies/inference_tne.py", "--reps", "2", "--out", str(out)]
    argv += ["--sources", SETTINGS.sources]
    # the reduced study's records stand in for a first run (same settings)
    done = {rec["r"]: rec for rec in reduced[0][:2]}
    study._start_records(out.with_suffix(".reps.jsonl"), SETTINGS, done)
    assert study.main(argv) == 0
    result = json.loads(out.read_text())
    meta = result["metadata"]
    assert meta["command"] == "python " + " ".join(argv)
    assert meta["world_seeds"] == [20200902, 20200903]
    assert meta["versions"]["tne_eval"] and "load_start" in meta
    md = out.with_suffix(".md").read_text()
    assert md == study.to_markdown(result) and "| simple ATT |" in md
    records = out.with_suffix(".reps.jsonl")
    lines = records.read_text().splitlines()
    assert len(lines) == 3
    records.write_text("\n".join(lines[:2]) + "\n" + lines[2][:40])  # torn line
    assert study.main(argv) == 0
    assert json.loads(out.read_text())["summary"] == result["summary"]


# ---------------------------------------------------------------------------
# the reduced study against the committed full study
# ---------------------------------------------------------------------------


def _agrees(entry: dict, full: dict) -> None:
    if not entry.get("n") or not full.get("n"):
        return
    p = stats.binomtest(entry["count"], entry["n"], full["rate"]).pvalue
    assert p >= LEVEL_MEASURED, (entry, full["rate"], p)


@pytest.mark.parametrize("target", TARGETS)
def test_reduced_rates_agree_with_the_full_study(reduced, target):
    _, summary = reduced
    for m in METHODS:
        _agrees(summary["null"][target][m], FULL["null"][target][m])
        if m != "ri":
            _agrees(
                summary["coverage"][target]["methods"][m]["coverage"],
                FULL["coverage"][target]["methods"][m]["coverage"],
            )


def test_reduced_tests_and_bands_agree_with_the_full_study(reduced):
    _, summary = reduced
    for key in PRETESTS:
        _agrees(summary["pretests"][key], FULL["pretests"][key])
    for kind in ("joint", "average"):
        _agrees(summary["ri_pretests"][kind], FULL["ri_pretests"][kind])
    for m in FULL["null_band"]:
        _agrees(summary["null_band"][m], FULL["null_band"][m])
    for m in FULL["band"]:
        _agrees(summary["band"][m], FULL["band"][m])


# ---------------------------------------------------------------------------
# -m slow: the full study re-run, and the targets for the recommended
# inference of each estimand class
# ---------------------------------------------------------------------------

#: The issue's targets: (measure, low, high) per estimand. Size is the
#: null-world rejection rate at 5 %, coverage that of 95 % intervals. The
#: dynamic overall effect (12 treated departments, but the e = 4 term rests on
#: the two 2020 departments) is held to coverage >= 93 % and size <= 6 %.
MANY = (("size", 0.04, 0.06), ("coverage", 0.93, 0.97))
TARGET_SPEC = {
    "simple": MANY,
    **{f"e{e}": MANY for e in range(4)},
    "e4": (("coverage", 0.93, 1.0),),
    "dynamic_overall": (("coverage", 0.93, 1.0), ("size", 0.0, 0.06)),
}
#: Pre-trend test recommended (tne_eval.inference.recommend) and its target.
PRETEST_TARGET = 0.07


def _class_of(target: str):
    """The recommendation class of an estimand in the committed TNE world."""
    panel = tne.datasets.load_synthetic("school_panel")
    cm2 = panel[panel["grade"] == "CM2"]
    with pytest.warns(tne.errors.SmallClusterWarning):
        gt = tne.att_gt(cm2, study.SPEC, **study.ESTIMATOR)
    agg = tne.aggregate(gt, "simple" if target == "simple" else "dynamic")
    row = agg.treated_clusters().loc[study.TERM[target]]
    return recommend(int(row["n_treated_clusters"]), float(row["effective_clusters"]))


def _entry(summary: dict, target: str, measure: str, method: str) -> dict:
    if measure == "size":
        return summary["null"][target][method]
    return summary["coverage"][target]["methods"][method]["coverage"]


def _fails(entry: dict, low: float, high: float) -> list[str]:
    """The bounds an exact one-sided binomial test rejects at LEVEL_TARGET."""
    out = []
    k, n = entry["count"], entry["n"]
    if low > 0 and stats.binomtest(k, n, low, alternative="less").pvalue < LEVEL_TARGET:
        out.append(f"below {low}")
    if high < 1 and (
        stats.binomtest(k, n, high, alternative="greater").pvalue < LEVEL_TARGET
    ):
        out.append(f"above {high}")
    return out


def _target_cases():
    for target, specs in TARGET_SPEC.items():
        for measure, low, high in specs:
            yield target, measure, low, high


def _case_id(target, measure, low, high) -> str:
    return f"{target}-{measure}-{low}-{high}"


def _recommended_meets(target, measure, low, high) -> bool:
    method = _METHOD_OF[target]
    return not _fails(_entry(FULL, target, measure, method), low, high)


_METHOD_OF: dict[str, str] = {}


def _target_params():
    params = []
    for case in _target_cases():
        target, measure, low, high = case
        rec = _CLASS_OF[target]
        _METHOD_OF[target] = rec.study_method
        marks = ()
        if rec.study_method is None or not _recommended_meets(*case):
            full = (
                _entry(FULL, target, measure, rec.study_method)
                if rec.study_method
                else None
            )
            best = {
                m: _entry(FULL, target, measure, m)["rate"]
                for m in METHODS
                if (m != "ri" or measure == "size")
                and _entry(FULL, target, measure, m).get("n")
            }
            reason = (
                f"no inference through the registry was shown to meet {measure} "
                f"in [{low}, {high}] for {target}: {rec.evidence}"
                if rec.study_method is None
                else f"no inference meets {measure} in [{low}, {high}] for {target}: "
                f"the recommended {rec.study_method} has "
                f"{full['rate'] if full else float('nan'):.3f} in the full study "
                f"({FULL['n_reps']} reps); all methods: "
                + ", ".join(f"{m} {r:.3f}" for m, r in best.items())
            )
            marks = (
                pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason),
            )
        params.append(pytest.param(*case, id=_case_id(*case), marks=marks))
    return params


#: Recommendation class of each estimand, from the committed synthetic world
#: (the same classes in every replication: the counts depend on the design).
_CLASS_OF = {
    "simple": recommend(12, 13.5),
    **{f"e{e}": recommend(12, 13.5) for e in range(4)},
    "e4": recommend(2),
    "dynamic_overall": recommend(12, 6.0),
}

_SLOW: dict[str, dict] = {}


@pytest.fixture(scope="module")
def full_rerun():
    if "summary" not in _SLOW:
        _SLOW["summary"] = summarise(run_study(FULL["n_reps"], SETTINGS))
    return _SLOW["summary"]


@pytest.mark.slow
@pytest.mark.parametrize("target", list(TARGET_SPEC))
def test_estimand_classes_are_the_tables(target):
    """The classes used below are those of the library for the TNE design."""
    assert _class_of(target) is _CLASS_OF[target]


@pytest.mark.slow
def test_full_rerun_agrees_with_the_committed_study(full_rerun):
    for t in TARGETS:
        for m in METHODS:
            _agrees(full_rerun["null"][t][m], FULL["null"][t][m])


@pytest.mark.slow
@pytest.mark.parametrize(("target", "measure", "low", "high"), _target_params())
def test_recommended_inference_meets_the_target(full_rerun, target, measure, low, high):
    """Replaces, for the recommended inference, the CR1 xfails of the coverage study."""
    method = _METHOD_OF[target]
    assert method is not None, f"no method recommended for {target}"
    entry = _entry(full_rerun, target, measure, method)
    assert not _fails(entry, low, high), (target, measure, method, entry)


@pytest.mark.slow
def test_recommended_pretrend_test_holds_its_size(full_rerun):
    entry = full_rerun["pretests"]["-".join(PRETREND_TEST)]
    assert entry["n_nan"] == 0 and entry["valid_share"] == 1.0
    assert not _fails(entry, 0.0, PRETEST_TARGET), entry


_BAND = FULL["band"].get("multiplier", {"rate": float("nan")})


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason=(
        f"no method gives a valid sup-t band for e = 0..4: the multiplier "
        f"bootstrap's band covers jointly in {_BAND['rate']:.3f} of the full study "
        f"and the randomization max-statistic rejects a true null in "
        f"{FULL['null_band']['ri']['rate']:.3f}; the band's e = 4 term rests on "
        "two departments"
    ),
)
def test_some_band_covers_the_event_study_jointly(full_rerun):
    band = full_rerun["band"]["multiplier"]
    assert not _fails(band, 0.93, 1.0), band
