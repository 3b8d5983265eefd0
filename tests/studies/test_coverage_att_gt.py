"""Monte Carlo coverage of att_gt's intervals in the TNE design (studies/coverage_att_gt.py).

The fast tests check the study machinery on two replications: the structure of
the records and of the summary, that the recorded coverage indicators are the
intervals' own, that seeds reproduce identical numbers and that an interrupted
run resumes from its records.

The slow tests run a reduced study: the first REDUCED_REPS = 200 replications
of the full study (studies/results/coverage_att_gt.md, 4000 replications), with
the same seeds. Where the reduced study is consistent with 95%, coverage is
asserted with a one-sided margin of 3 binomial Monte Carlo SE. Where it clearly
under-covers, the check is a strict xfail (raises=AssertionError) whose reason
quotes the coverage measured by the full study and by the first 200
replications. A fix, such as a wild cluster bootstrap or randomization
inference, then shows up as an unexpected pass. A reduced study resolves only
gross departures. The mild under-coverage (0.92-0.94) that the full study
measures for the simple ATT and for e = 0..3 is documented in
docs/explanation/coverage.md; these tests do not establish it.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from studies.coverage_att_gt import (
    EVENT_TIMES,
    INFERENCES,
    TARGETS,
    StudySettings,
    main,
    run_study,
    summarise,
    to_markdown,
)
from tne_eval.datasets import WorldConfig, simulate

NOMINAL = 0.95
ALPHA = 0.05

# ---------------------------------------------------------------------------
# fast: the machinery, on 2 replications
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_reps():
    return run_study(2)


def test_records_have_every_field(two_reps):
    assert list(two_reps["r"]) == [1, 2]
    settings = StudySettings()
    assert list(two_reps["seed"]) == [settings.base_seed + 1, settings.base_seed + 2]
    for t in TARGETS:
        assert np.isfinite(two_reps[f"est_{t}"]).all()
        assert np.isfinite(two_reps[f"truth_{t}"]).all()
        for label in INFERENCES:
            se = two_reps[f"se_{label}_{t}"]
            assert (se > 0).all()
            assert two_reps[f"cover_{label}_{t}"].map(type).eq(bool).all()
    for col in ("band_cover_post", "band_cover_all", "pretest_reject"):
        assert two_reps[col].map(type).eq(bool).all()
    assert (two_reps["band_n_post"] == len(EVENT_TIMES)).all()
    assert (two_reps["pretest_df"] == 7).all()
    assert (two_reps["band_crit"] > stats.norm.ppf(0.975)).all()
    assert (two_reps["null_truth_simple"] == 0).all()


def test_truth_is_the_worlds(two_reps):
    seed = int(two_reps["seed"].iloc[0])
    truth = simulate(WorldConfig(seed=seed)).truth["outcomes"]["score_french_CM2"]
    schools = truth["weightings"]["schools"]
    row = two_reps.iloc[0]
    assert row["truth_simple"] == schools["simple"]
    assert row["truth_dynamic_overall"] == schools["dynamic_overall"]
    for e in EVENT_TIMES:
        assert row[f"truth_e{e}"] == schools["dynamic"][str(e)]


def test_coverage_flags_are_the_intervals(two_reps):
    """cover = |estimate - truth| <= critical value x SE, with each inference's critical value."""
    crit = {
        "cluster": stats.t.ppf(0.975, 100),  # 101 departments
        "cluster_nss": stats.norm.ppf(0.975),
        "bootstrap": stats.norm.ppf(0.975),
    }
    for t in TARGETS:
        err = (two_reps[f"est_{t}"] - two_reps[f"truth_{t}"]).abs()
        for label in INFERENCES:
            half = crit[label] * two_reps[f"se_{label}_{t}"]
            # the flags are recomputed only away from the interval's edge
            clear = (err - half).abs() > 1e-9
            expected = err <= half
            assert (two_reps[f"cover_{label}_{t}"][clear] == expected[clear]).all()
    null_half = crit["cluster"] * two_reps["null_se_cluster"]
    assert (
        two_reps["null_reject_cluster"]
        == (two_reps["null_est_simple"].abs() > null_half)
    ).all()


def test_seeds_reproduce_identical_numbers(two_reps):
    again = run_study(2)
    assert again.drop(columns="warnings").equals(two_reps.drop(columns="warnings"))
    other = run_study(1, StudySettings(base_seed=StudySettings().base_seed + 100))
    assert other["est_simple"].iloc[0] != two_reps["est_simple"].iloc[0]


def test_summary_structure_and_binomial_se(two_reps):
    s = summarise(two_reps)
    assert s["n_reps"] == 2
    for t in TARGETS:
        entry = s["targets"][t]
        assert set(entry["inference"]) == set(INFERENCES)
        for label in INFERENCES:
            cov = entry["inference"][label]["coverage"]
            p = two_reps[f"cover_{label}_{t}"].mean()
            assert cov["rate"] == p
            assert cov["mc_se"] == pytest.approx(math.sqrt(p * (1 - p) / 2))
            assert entry["inference"][label]["se_ratio"] > 0
        err = two_reps[f"est_{t}"] - two_reps[f"truth_{t}"]
        assert entry["bias"] == pytest.approx(err.mean())
        assert entry["mc_sd"] == pytest.approx(err.std(ddof=1))
    assert s["pretest"]["rate"] == two_reps["pretest_reject"].mean()
    for label in INFERENCES:
        assert s["null_simple"]["rejection"][label]["rate"] == (
            two_reps[f"null_reject_{label}"].mean()
        )


def test_command_line_writes_json_markdown_and_resumes(tmp_path, two_reps):
    out = tmp_path / "cov.json"
    argv = ["studies/coverage_att_gt.py", "--reps", "2", "--out", str(out)]
    assert main(argv) == 0
    result = json.loads(out.read_text())
    meta = result["metadata"]
    assert meta["command"] == "python " + " ".join(argv)
    assert meta["world_seeds"] == [20200902, 20200903]
    assert meta["settings"] == {"base_seed": 20200901, "boot_reps": 499, "alpha": 0.05}
    assert meta["world_config"]["effect_scale"] == 1.0
    assert meta["versions"]["tne_eval"]
    assert result["summary"]["targets"]["simple"]["bias"] == pytest.approx(
        (two_reps["est_simple"] - two_reps["truth_simple"]).mean()
    )
    md = out.with_suffix(".md").read_text()
    assert md == to_markdown(result)
    assert "| simple ATT |" in md and meta["command"] in md
    records = out.with_suffix(".reps.jsonl")
    lines = records.read_text().splitlines()
    assert len(lines) == 3  # header + 2 replications
    # a torn last line (interrupted run) is dropped and recomputed on resume
    records.write_text("\n".join(lines[:2]) + "\n" + lines[2][:40])
    assert main(argv) == 0
    again = json.loads(out.read_text())
    assert again["summary"] == result["summary"]
    # a third run with more replications only appends the new one
    assert len(records.read_text().splitlines()) == 3
    assert main([*argv[:2], "3", *argv[3:]]) == 0
    assert len(records.read_text().splitlines()) == 4


# ---------------------------------------------------------------------------
# slow: a reduced study, checked against nominal coverage
# ---------------------------------------------------------------------------

#: The script's default size: the first 200 replications of the full study.
REDUCED_REPS = 200
FULL = "full study, 4000 reps"
LABEL = {
    "cluster": "Cluster()",
    "cluster_nss": "Cluster(small_sample=False)",
    "bootstrap": "MultiplierBootstrap",
}


def _coverage_floor(reps: int) -> float:
    """Lowest coverage consistent with 95% at 3 binomial MC SE (under the nominal rate)."""
    return NOMINAL - 3 * math.sqrt(NOMINAL * (1 - NOMINAL) / reps)


def _size_ceiling(reps: int) -> float:
    """Highest rejection rate consistent with 5% at 3 binomial MC SE."""
    return ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / reps)


def _under(reason: str):
    # raises=AssertionError: a crash is an error, never an expected failure
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)


_DYN_OVERALL = (
    "the dynamic overall gives e=4 (2020 cohort alone, 2 departments) weight 1/5: "
    "{label} covers {full} ({FULL}), {reduced} in the first 200; needs inference "
    "valid with 2 treated clusters (wild cluster bootstrap / randomization inference)"
)
_E1 = (
    "{label} under-covers e=1 ({full} in the {FULL}, {reduced} in the first 200 "
    "replications, below the 3-MC-SE floor 0.904)"
)
_E4 = (
    "e=4 is identified by the 2020 cohort alone (2 departments): its SE is about "
    "half the Monte Carlo SD and {label} covers {full} ({FULL}), {reduced} in the "
    "first 200; needs wild cluster bootstrap / randomization inference"
)
# (target, inference, measured full-study coverage, first-200 coverage, reason
# template or None when the reduced study is consistent with 95%)
COVERAGE_CHECKS = [
    ("simple", "cluster", "0.938 ± 0.004", "0.945", None),
    ("simple", "cluster_nss", "0.934 ± 0.004", "0.945", None),
    ("simple", "bootstrap", "0.943 ± 0.004", "0.940", None),
    ("dynamic_overall", "cluster", "0.870 ± 0.005", "0.865", _DYN_OVERALL),
    ("dynamic_overall", "cluster_nss", "0.863 ± 0.005", "0.850", _DYN_OVERALL),
    ("dynamic_overall", "bootstrap", "0.877 ± 0.005", "0.880", _DYN_OVERALL),
    ("e0", "cluster", "0.927 ± 0.004", "0.945", None),
    ("e0", "cluster_nss", "0.923 ± 0.004", "0.945", None),
    ("e0", "bootstrap", "0.932 ± 0.004", "0.955", None),
    ("e1", "cluster", "0.921 ± 0.004", "0.885", _E1),
    ("e1", "cluster_nss", "0.916 ± 0.004", "0.875", _E1),
    # the full study also measures mild under-coverage here; the first 200
    # replications (0.910) cannot resolve it from 95% at 3 MC SE
    ("e1", "bootstrap", "0.926 ± 0.004", "0.910", None),
    ("e2", "cluster", "0.924 ± 0.004", "0.955", None),
    ("e2", "cluster_nss", "0.921 ± 0.004", "0.955", None),
    ("e2", "bootstrap", "0.928 ± 0.004", "0.960", None),
    ("e3", "cluster", "0.939 ± 0.004", "0.955", None),
    ("e3", "cluster_nss", "0.936 ± 0.004", "0.950", None),
    ("e3", "bootstrap", "0.943 ± 0.004", "0.950", None),
    ("e4", "cluster", "0.643 ± 0.008", "0.660", _E4),
    ("e4", "cluster_nss", "0.638 ± 0.008", "0.660", _E4),
    ("e4", "bootstrap", "0.645 ± 0.008", "0.675", _E4),
]


def _coverage_params():
    for target, label, full, reduced, template in COVERAGE_CHECKS:
        marks = ()
        if template is not None:
            reason = template.format(
                label=LABEL[label], full=full, reduced=reduced, FULL=FULL
            )
            marks = (_under(reason),)
        yield pytest.param(target, label, marks=marks, id=f"{target}-{label}")


@pytest.fixture(scope="module")
def reduced():
    return summarise(run_study(REDUCED_REPS))


@pytest.mark.slow
@pytest.mark.parametrize(("target", "label"), list(_coverage_params()))
def test_pointwise_coverage_is_nominal(reduced, target, label):
    assert reduced["n_reps"] == REDUCED_REPS
    cov = reduced["targets"][target]["inference"][label]["coverage"]["rate"]
    assert cov >= _coverage_floor(REDUCED_REPS), (target, label, cov)


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS)
def test_doubly_robust_estimates_are_unbiased(reduced, target):
    """The full study agrees: every bias is within 1 MC SE of 0 with 4000 reps."""
    entry = reduced["targets"][target]
    assert abs(entry["bias"]) <= 3 * entry["bias_mc_se"], entry


@pytest.mark.slow
@_under(
    "the sup-t band of the bootstrap covers the e=0..4 truths jointly in 0.670 ± "
    "0.007 of the full study (4000 reps), 0.690 in the first 200: its draws "
    "rest on 2 departments for e=4; needs wild cluster bootstrap / randomization "
    "inference"
)
def test_sup_t_band_covers_the_event_study_jointly(reduced):
    assert reduced["band_post"]["event_times"] == 5
    assert reduced["band_post"]["rate"] >= _coverage_floor(REDUCED_REPS)


@pytest.mark.slow
@_under(
    "the pre-trend Wald test rejects a true null in 0.906 ± 0.005 of the full study "
    "(4000 reps), 0.930 in the first 200: the covariance of the 2020 cohort's "
    "pre-period cells rests on 2 departments"
)
def test_pretrend_test_has_nominal_size(reduced):
    assert reduced["pretest"]["n_nan"] == 0
    assert reduced["pretest"]["rate"] <= _size_ceiling(REDUCED_REPS)


@pytest.mark.slow
@pytest.mark.parametrize("label", INFERENCES)
def test_null_world_rejects_at_nominal_rate(reduced, label):
    """Full study (4000 reps): 0.073, 0.078, 0.068 ± 0.004, mild over-rejection."""
    rate = reduced["null_simple"]["rejection"][label]["rate"]
    assert rate <= _size_ceiling(REDUCED_REPS), (label, rate)
