"""Monte Carlo coverage of design-based and naive intervals (studies/coverage_survey.py).

The default suite runs a tiny, seeded version: the machinery (records, summary,
seeds) and the one property a dozen replications can show, that the naive
intervals, which take teachers as independent draws, are far narrower than
the design-based ones when whole departments are sampled.

The slow tests re-run the study at the sizes of the docs page
(docs/explanation/survey.md) and check each claim there with a tolerance of
three binomial Monte Carlo standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from studies.coverage_survey import run_study, summarize

TINY = 12
#: three binomial Monte Carlo standard errors of a 95% coverage
MCSE_FACTOR = 3.0


def _mcse(p: float, reps: int) -> float:
    return math.sqrt(p * (1 - p) / reps)


@pytest.fixture(scope="module")
def tiny():
    return run_study(TINY, design="departments", seed=11)


def test_records_and_summary_shape(tiny):
    records, truth = tiny
    assert len(records) == TINY
    for col in ("mean_estimate", "mean_design_se", "mean_naive_se", "did_design_cover"):
        assert col in records
    summary = summarize(records, truth)
    assert set(summary) == {"mean", "did"}
    assert 0.0 <= summary["mean"]["design_coverage"] <= 1.0


def test_seeds_reproduce():
    a, _ = run_study(2, design="schools", seed=5)
    b, _ = run_study(2, design="schools", seed=5)
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())


def test_naive_intervals_are_too_narrow_when_departments_are_sampled(tiny):
    records, _ = tiny
    ratio = (records["mean_naive_se"] / records["mean_design_se"]).mean()
    # teachers of a department share its schools' latent practice: the naive
    # SE is about 2/3 of the design-based one (0.65 x the MC SD in the full run)
    assert ratio < 0.8


@pytest.fixture(scope="module")
def departments_full():
    return run_study(1000, design="departments")


@pytest.fixture(scope="module")
def schools_full():
    return run_study(1000, design="schools")


@pytest.mark.slow
def test_departments_design_mean_covers_and_naive_does_not(departments_full):
    # full study (docs page): design 0.932, naive 0.806, naive SE / SD 0.65
    reps = 1000
    s = summarize(*departments_full)["mean"]
    tol = MCSE_FACTOR * _mcse(0.95, reps)
    assert abs(s["design_coverage"] - 0.95) < tol
    assert s["naive_coverage"] < 0.95 - 3 * tol
    assert s["naive_se_over_sd"] < 0.75


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="the 2021 cohort rests on 5 sampled departments (f = 0.5): t(29) is too "
    "generous for a variance with 4 degrees of freedom in that stratum; the full "
    "study measures 0.902, 5 Monte Carlo SEs below 0.95",
)
def test_departments_design_did_coverage_is_nominal(departments_full):
    s = summarize(*departments_full)["did"]
    assert abs(s["design_coverage"] - 0.95) < MCSE_FACTOR * _mcse(0.95, 1000)


@pytest.mark.slow
def test_schools_design_covers(schools_full):
    # full study: mean design 0.955 (naive 0.925, SE / SD 0.90); DiD design 0.942
    s = summarize(*schools_full)
    tol = MCSE_FACTOR * _mcse(0.95, 1000)
    assert abs(s["mean"]["design_coverage"] - 0.95) < tol
    assert abs(s["did"]["design_coverage"] - 0.95) < tol
    assert s["mean"]["naive_coverage"] < s["mean"]["design_coverage"]
    assert s["mean"]["naive_se_over_sd"] < 0.95


@pytest.mark.slow
def test_worlds_nonresponse_weights_remove_the_bias_and_schools_cover():
    # full study (docs page, 200 worlds): bias -0.035 with the design weights,
    # -0.001 corrected for non-response; schools as PSUs 0.940 (SE / SD 1.01),
    # departments as clusters 0.975 (SE / SD 1.55, conservative)
    reps = 200
    records, truth = run_study(reps, design="worlds")
    s = summarize(records, truth)
    sd = s["did"]["mc_sd"]
    assert s["did"]["bias"] < -3 * sd / math.sqrt(reps)
    assert abs(s["did_nr"]["bias"]) < 3 * s["did_nr"]["mc_sd"] / math.sqrt(reps)
    tol = MCSE_FACTOR * _mcse(0.95, reps)
    assert abs(s["did_nr"]["schools_coverage"] - 0.95) < tol
    assert s["did_nr"]["department_coverage"] > 0.95 - tol
    assert s["did_nr"]["department_se_over_sd"] > 1.3
