"""Monte Carlo coverage of att_gt's intervals in the TNE design (studies/coverage_att_gt.py).

The machinery tests check the study on two replications: the structure of the
records and of the summary, that the recorded coverage indicators are the
intervals' own, that seeds reproduce identical numbers and that an interrupted
run resumes from its records.

The statistical tests re-run the first replications of the full study
(studies/results/coverage_att_gt.json, 4000 replications; same seeds) and test
each rate with an exact binomial test:

* every rate the full study measured (pointwise coverage, sup-t band, pre-trend
  test size, null-world rejection) is asserted at that level with a two-sided
  band: the test fails when the re-run is improbable (p < LEVEL_MEASURED) if
  the rate is still the full study's. This guards coverage of 0.92-0.94 (simple
  ATT, e = 0..3) without claiming it is nominal, which 400 replications cannot
  tell from 0.95;
* the documented failures are strict xfails (raises=AssertionError) of a
  one-sided test of the nominal level (coverage >= 0.95, size <= 0.05; p <
  LEVEL_NOMINAL fails). Each reason quotes the full study's rate and how far
  the pass threshold is from what that rate predicts, so that an expected
  failure is many replications from flipping. They document what CR1, its
  no-correction variant and the multiplier bootstrap do; the inference
  recommended instead for each estimand (tne_eval.inference.recommend) is
  tested against the same targets in tests/studies/test_inference_tne.py.

The default suite runs DEFAULT_SIZE: 400 effect-world and 200 null-world
replications, each world computed alone (``run_study(..., worlds=...)``, about
half the cost of a replication: simulating the world dominates, the bootstrap
is cheap). The null world's over-rejection (0.068-0.078 against 0.05) can
only be told from 0.05 with the full 4000 replications: that xfail, and all the
checks again at 4000 replications, run under ``-m slow``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

from studies.coverage_att_gt import (
    DEFAULT_OUT,
    EVENT_TIMES,
    INFERENCES,
    TARGETS,
    StudySettings,
    main,
    run_replication,
    run_study,
    summarise,
    to_markdown,
)
from tne_eval.datasets import WorldConfig, simulate

# `make test` passes --dist loadgroup so that one worker should run this module,
# but pytest-xdist 3.8 was seen spreading its tests over both workers anyway; each
# worker that runs one of the reduced-study tests then computes the study once
# (about 300 s of one core). The results are identical whichever worker does.
pytestmark = pytest.mark.xdist_group("coverage_att_gt")

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
# the worlds one at a time (the cheaper mode the reduced checks use)
# ---------------------------------------------------------------------------


def test_one_world_gives_the_fields_of_a_full_replication(two_reps):
    full = two_reps.iloc[0].to_dict()
    effect = run_replication(1, worlds=("effect",))
    null = run_replication(1, worlds=["null"])
    assert not any(k.startswith("null_") for k in effect)
    assert not any(k.startswith(("est_", "cover_", "pretest_")) for k in null)
    merged = {**effect, **null, "warnings": full["warnings"]}
    assert merged.keys() == full.keys()
    for key, value in full.items():
        assert merged[key] == value, key
    with pytest.raises(ValueError, match="non-empty subset"):
        run_replication(1, worlds=("placebo",))
    with pytest.raises(ValueError, match="records_path stores complete"):
        run_study(1, records_path=DEFAULT_OUT, worlds=("null",))


# ---------------------------------------------------------------------------
# statistical checks against the full study
# ---------------------------------------------------------------------------

#: The full study whose numbers the checks guard (4000 replications).
FULL = json.loads(DEFAULT_OUT.read_text())["summary"]
#: Two-sided exact binomial test of "the rate is still the full study's": fails
#: below this p-value. About 30 such tests run per size; at 0.001 a rate that
#: has not moved fails one of them with probability under 3%. Because the
#: re-run replications are a subset of the full study's, the spread of the
#: re-run rate around the full study's is smaller than binomial: conservative.
LEVEL_MEASURED = 0.001
#: One-sided exact binomial test of the nominal level (coverage >= 0.95, size
#: <= 0.05), fails below this p-value: a correct interval passes it with
#: probability >= 99%.
LEVEL_NOMINAL = 0.01
COVERAGE = 0.95
SIZE = 0.05
LABEL = {
    "cluster": "Cluster()",
    "cluster_nss": "Cluster(small_sample=False)",
    "bootstrap": "MultiplierBootstrap",
}


@dataclass(frozen=True)
class StudySize:
    """How many of the full study's replications (1..n, same seeds) to re-run."""

    effect_reps: int
    null_reps: int

    @property
    def id(self) -> str:
        return f"effect{self.effect_reps}-null{self.null_reps}"


#: Default suite: about 300 s of one core (0.5 s per world), computed in the test
#: process: a process pool forked inside a pytest-xdist worker can be left waiting
#: on children that are gone, so the suite's own parallelism is used instead.
DEFAULT_SIZE = StudySize(effect_reps=400, null_reps=200)
#: -m slow: the full study's 4000 replications of both worlds (~70 min of one core).
SLOW_SIZE = StudySize(effect_reps=4000, null_reps=4000)
_SUMMARIES: dict[StudySize, dict] = {}


def _summary(size: StudySize) -> dict:
    if size not in _SUMMARIES:
        effect = run_study(size.effect_reps, jobs=1, worlds=("effect",))
        null = run_study(size.null_reps, jobs=1, worlds=("null",))
        _SUMMARIES[size] = {
            "effect": summarise(effect),
            "null": summarise(null),
        }
    return _SUMMARIES[size]


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(DEFAULT_SIZE, id=DEFAULT_SIZE.id),
        pytest.param(SLOW_SIZE, id=SLOW_SIZE.id, marks=pytest.mark.slow),
    ],
)
def study(request):
    return request.param, _summary(request.param)


@pytest.fixture(scope="module")
def full_size():
    return SLOW_SIZE, _summary(SLOW_SIZE)


def _full_rate(target: str, label: str) -> float:
    return FULL["targets"][target]["inference"][label]["coverage"]["rate"]


def _scalar(summary: dict, name: str) -> dict:
    """The binomial entry of a scalar rate: band, pre-test or a null rejection."""
    if name.startswith("null_"):
        return summary["null_simple"]["rejection"][name.removeprefix("null_")]
    return summary[name]


def _nominal_pass_from(n: int, nominal: float, alternative: str) -> int:
    """Fewest (coverage) or most (size) hits out of n that pass the nominal test."""
    ks = np.arange(n + 1)
    if alternative == "less":  # H0: rate >= nominal
        ok = stats.binom.cdf(ks, n, nominal) >= LEVEL_NOMINAL
        return int(ks[ok].min())
    ok = stats.binom.sf(ks - 1, n, nominal) >= LEVEL_NOMINAL  # H0: rate <= nominal
    return int(ks[ok].max())


def _margin_text(full_rate: float, nominal: float, alternative: str, sizes) -> str:
    parts = []
    for size in sizes:
        n = size
        k = _nominal_pass_from(n, nominal, alternative)
        mean, sd = n * full_rate, math.sqrt(n * full_rate * (1 - full_rate))
        word = "at least" if alternative == "less" else "at most"
        parts.append(
            f"With {n} replications it passes only with {word} {k}; the full "
            f"study's rate predicts {mean:.0f} +/- {sd:.0f} "
            f"({abs(k - mean) / sd:.1f} SD away)"
        )
    return "; ".join(parts)


def _xfail(reason: str):
    # raises=AssertionError: a crash is an error, never an expected failure
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)


def _coverage_failure(target: str, label: str, why: str):
    rate = _full_rate(target, label)
    margins = _margin_text(
        rate, COVERAGE, "less", (DEFAULT_SIZE.effect_reps, SLOW_SIZE.effect_reps)
    )
    return _xfail(
        f"{LABEL[label]} covers {target} in {rate:.3f} of the full study (4000 "
        f"reps): {why}. {margins}"
    )


_DYN = (
    "the dynamic overall gives e=4 (2020 cohort alone, 2 departments) weight 1/5; "
    "needs inference valid with 2 treated clusters (wild cluster bootstrap / "
    "randomization inference)"
)
_E4 = (
    "e=4 is identified by the 2020 cohort alone (2 departments), its SE is about "
    "half the Monte Carlo SD; needs wild cluster bootstrap / randomization "
    "inference"
)
#: The documented failures of pointwise coverage, tested against 0.95.
NOMINAL_FAILURES = {"dynamic_overall": _DYN, "e4": _E4}


@pytest.mark.parametrize("label", INFERENCES)
@pytest.mark.parametrize("target", TARGETS)
def test_pointwise_coverage_matches_the_full_study(study, target, label):
    """Guards FULL[targets][target][label]: 0.92-0.94 for simple and e=0..3."""
    size, summary = study
    entry = summary["effect"]["targets"][target]["inference"][label]["coverage"]
    assert summary["effect"]["n_reps"] == size.effect_reps
    full = _full_rate(target, label)
    p = stats.binomtest(entry["count"], size.effect_reps, full).pvalue
    assert p >= LEVEL_MEASURED, (target, label, entry["rate"], full, p)


@pytest.mark.parametrize(
    ("target", "label"),
    [
        pytest.param(t, lab, marks=_coverage_failure(t, lab, why), id=f"{t}-{lab}")
        for t, why in NOMINAL_FAILURES.items()
        for lab in INFERENCES
    ],
)
def test_documented_coverage_failures_against_nominal(study, target, label):
    size, summary = study
    count = summary["effect"]["targets"][target]["inference"][label]["coverage"][
        "count"
    ]
    p = stats.binomtest(count, size.effect_reps, COVERAGE, alternative="less").pvalue
    assert p >= LEVEL_NOMINAL, (target, label, count, size.effect_reps, p)


#: Scalar rates: (name, which world's summary, the full study's number guarded).
SCALARS = [
    ("band_post", "effect"),  # sup-t band covers e=0..4 jointly: 0.670
    ("band_all", "effect"),  # ... and the pre-periods too: 0.602
    ("pretest", "effect"),  # pre-trend Wald test rejects a true null: 0.906
    *((f"null_{lab}", "null") for lab in INFERENCES),  # 0.073, 0.078, 0.068
]


@pytest.mark.parametrize(("name", "world"), SCALARS)
def test_scalar_rates_match_the_full_study(study, name, world):
    size, summary = study
    n = size.effect_reps if world == "effect" else size.null_reps
    entry = _scalar(summary[world], name)
    full = _scalar(FULL, name)["rate"]
    p = stats.binomtest(entry["count"], n, full).pvalue
    assert p >= LEVEL_MEASURED, (name, entry["rate"], full, p)


_BAND_RATE = FULL["band_post"]["rate"]


@_xfail(
    f"the sup-t band of the bootstrap covers the e=0..4 truths jointly in "
    f"{_BAND_RATE:.3f} of the full study (4000 reps): its draws rest on 2 "
    "departments for e=4; needs wild cluster bootstrap / randomization inference. "
    + _margin_text(
        _BAND_RATE, COVERAGE, "less", (DEFAULT_SIZE.effect_reps, SLOW_SIZE.effect_reps)
    )
)
def test_sup_t_band_covers_the_event_study_jointly(study):
    size, summary = study
    band = summary["effect"]["band_post"]
    assert band["event_times"] == 5
    p = stats.binomtest(
        band["count"], size.effect_reps, COVERAGE, alternative="less"
    ).pvalue
    assert p >= LEVEL_NOMINAL, band


_PRE_RATE = FULL["pretest"]["rate"]


@_xfail(
    f"the pre-trend Wald test rejects a true null in {_PRE_RATE:.3f} of the full "
    "study (4000 reps): the covariance of the 2020 cohort's pre-period cells "
    "rests on 2 departments. "
    + _margin_text(
        _PRE_RATE, SIZE, "greater", (DEFAULT_SIZE.effect_reps, SLOW_SIZE.effect_reps)
    )
)
def test_pretrend_test_has_nominal_size(study):
    size, summary = study
    pre = summary["effect"]["pretest"]
    assert pre["n_nan"] == 0
    p = stats.binomtest(pre["count"], size.effect_reps, SIZE, alternative="greater")
    assert p.pvalue >= LEVEL_NOMINAL, pre


def _null_failure(label: str):
    rate = FULL["null_simple"]["rejection"][label]["rate"]
    margins = _margin_text(rate, SIZE, "greater", (SLOW_SIZE.null_reps,))
    return _xfail(
        f"in the null world {LABEL[label]} rejects simple ATT = 0 in {rate:.3f} of "
        f"the full study (4000 reps), mild over-rejection. {margins}"
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "label",
    [pytest.param(lab, marks=_null_failure(lab), id=lab) for lab in INFERENCES],
)
def test_null_world_rejects_at_nominal_rate(full_size, label):
    """Only the full 4000 replications tell 0.068-0.078 from 0.05 (see the reason)."""
    size, summary = full_size
    entry = summary["null"]["null_simple"]["rejection"][label]
    p = stats.binomtest(entry["count"], size.null_reps, SIZE, alternative="greater")
    assert p.pvalue >= LEVEL_NOMINAL, entry


@pytest.mark.parametrize("target", TARGETS)
def test_doubly_robust_estimates_are_unbiased(study, target):
    """The full study agrees: every bias is within 1 MC SE of 0 with 4000 reps."""
    _, summary = study
    entry = summary["effect"]["targets"][target]
    assert abs(entry["bias"]) <= 3 * entry["bias_mc_se"], entry
