"""The sign study of drdid_rc's pre-period term (studies/rc_dr_sign.py).

Fast tests: the study's rebuilt influence functions (library sign equals
``res.influence``; R's sign differs only in the two pre-period terms and
reproduces the standard errors of ``moderndid`` 0.2.0, a port of DRDID 1.2.3, on
the reference fixture), the quadrature truth, and the machinery on a few
replications (fields, seeds, summary, command line).

Slow tests: a reduced study, the first REDUCED_REPS replications of each design
of the committed full study (same seeds, so the reduced replications are a subset
of the full ones), checked against the claims of docs/estimators/did_2x2.md.
Every tolerance is a multiple (3) of a Monte Carlo standard error:

* for a statistic of the reduced study compared with a fixed number, its own MC
  SE (binomial for coverage, delta method for the SE/SD ratios);
* for a statistic compared with the same statistic of the full study, the MC SE
  of their difference. The reduced replications are the first m of the full
  study's M, so for a mean Var(mean_m - mean_M) = sigma^2 (1/m - 1/M) =
  se_m^2 - se_M^2 (and the same to first order for the delta-method ratios).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, replace

import numpy as np
import pandas as pd
import pytest

from studies.rc_dr_sign import (
    DESIGN_BY_NAME,
    DESIGNS,
    SIGNS,
    Z,
    draw,
    main,
    rc_dr_influences,
    run_design,
    run_study,
    summarise,
    to_markdown,
    true_att,
)
from tests.conftest import REPO
from tne_eval.did._two_by_two import rc_2x2

# Both influence functions are sums of the same floating-point terms, in
# different order: only rounding separates them (values are O(10)).
ATOL_REBUILD = 1e-12
# Analytic SEs against a reference implementation: the project's 1e-6.
RTOL_SE = 1e-6
# On the fixture R's SE is 0.407 against 0.315: the pre-period terms matter there,
# so the identity below is not trivially true.
MIN_SIGN_GAP = 0.05
#: MC standard errors allowed before a check fails.
K_MC = 3.0

REFERENCE = json.loads((REPO / "tests/reference/drdid/results.json").read_text())
RC_DR_KEYS = [k for k in REFERENCE["results"] if k.startswith("rc-dr-")]
FULL_PATH = REPO / "studies/results/rc_dr_sign.json"


def _fixture_call(key):
    entry = REFERENCE["results"][key]
    frame = pd.read_csv(REPO / "tests/fixtures/drdid_rc.csv")
    x = np.column_stack(
        [np.ones(len(frame)), frame[["x1", "x2", "x3"]].to_numpy(dtype=float)]
    )
    args = (
        frame["y"].to_numpy(dtype=float),
        frame["post"].to_numpy(dtype=float),
        frame["treated"].to_numpy(dtype=float),
        x,
        None if entry["weights"] is None else frame["w"].to_numpy(dtype=float),
    )
    return entry, args


# ---------------------------------------------------------------------------
# fast: the two influence functions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", RC_DR_KEYS)
def test_library_sign_rebuild_is_the_library_influence(key):
    entry, args = _fixture_call(key)
    res = rc_2x2(*args, method="dr", trim_level=entry["trim_level"])
    both = rc_dr_influences(*args, trim_level=entry["trim_level"])
    assert both.att == pytest.approx(res.att, rel=1e-14)
    np.testing.assert_allclose(both.library, res.influence, rtol=0, atol=ATOL_REBUILD)
    assert both.se("library") == pytest.approx(res.se, rel=1e-12)


@pytest.mark.parametrize("key", RC_DR_KEYS)
def test_r_sign_differs_only_in_the_pre_period_terms(key):
    """Flipping inf.treat.or.pre and inf.cont.or.pre back gives the library's."""
    entry, args = _fixture_call(key)
    res = rc_2x2(*args, method="dr", trim_level=entry["trim_level"])
    both = rc_dr_influences(*args, trim_level=entry["trim_level"])
    flipped = both.r_sign - 2.0 * (both.treat_or_pre - both.cont_or_pre)
    np.testing.assert_allclose(flipped, res.influence, rtol=0, atol=ATOL_REBUILD)


@pytest.mark.parametrize("key", RC_DR_KEYS)
def test_r_sign_reproduces_moderndid_standard_error(key):
    entry, args = _fixture_call(key)
    both = rc_dr_influences(*args, trim_level=entry["trim_level"])
    refs = entry["references"]
    assert both.se("r") == pytest.approx(refs["moderndid"]["se"], rel=RTOL_SE)
    assert both.se("library") == pytest.approx(refs["drdid"]["se"], rel=RTOL_SE)
    assert both.att == pytest.approx(refs["moderndid"]["att"], rel=1e-6)


def test_fixture_separates_the_signs():
    entry, args = _fixture_call("rc-dr-unweighted")
    both = rc_dr_influences(*args, trim_level=entry["trim_level"])
    assert both.se("r") / both.se("library") - 1 > MIN_SIGN_GAP


@pytest.mark.parametrize("design", DESIGNS, ids=lambda d: d.name)
def test_truth_quadrature(design):
    # converged far below the bias MC SE (~3e-3): 120 vs 200 nodes differ by <1e-9
    assert true_att(design) == pytest.approx(true_att(design, nodes=200), abs=1e-8)
    # against a large draw from the design itself: 4 MC SE of E[x1 | D = 1]
    data = draw(replace(design, n=1_000_000), np.random.default_rng([99, 1]))
    x1 = data["x"][data["treated"] == 1.0, 1]
    est = 1.0 + 0.5 * x1.mean()
    assert abs(est - true_att(design)) <= 4 * 0.5 * x1.std() / math.sqrt(x1.size)


# ---------------------------------------------------------------------------
# fast: machinery on a few replications
# ---------------------------------------------------------------------------

FAST_REPS = 3


@pytest.fixture(scope="module")
def few():
    return run_study(FAST_REPS)


def test_records_are_complete_and_checked(few):
    assert set(few) == {d.name for d in DESIGNS}
    for rec in few.values():
        for field in ("att", "se_library", "se_r", "n_trimmed", "check"):
            assert rec[field].shape == (FAST_REPS,)
            assert np.isfinite(rec[field]).all()
        assert (rec["se_library"] > 0).all()
        assert (rec["se_r"] > 0).all()
        assert (rec["check"] < 1e-12).all()


def test_seeds_reproduce_and_replications_are_nested(few):
    again = run_study(FAST_REPS)
    for name, rec in few.items():
        for field, values in rec.items():
            np.testing.assert_array_equal(again[name][field], values)
    # replication r does not depend on how many are run: the reduced study is the
    # first part of the full one
    design = DESIGN_BY_NAME["under"]
    shorter = run_design(design, FAST_REPS - 1)
    np.testing.assert_array_equal(shorter["att"], few["under"]["att"][:-1])
    other = run_design(design, 1, base_seed=1)
    assert other["att"][0] != few["under"]["att"][0]


def test_summary_matches_the_records(few):
    summary = summarise(few)
    for name, rec in few.items():
        s = summary[name]
        truth = true_att(DESIGN_BY_NAME[name])
        assert s["truth"] == truth
        sd = rec["att"].std(ddof=1)
        assert s["mc_sd"]["value"] == pytest.approx(sd)
        for sign in SIGNS:
            se = rec[f"se_{sign}"]
            e = s["signs"][sign]
            cover = np.abs(rec["att"] - truth) <= Z * se
            assert e["coverage"]["rate"] == cover.mean()
            p = cover.mean()
            assert e["coverage"]["mc_se"] == pytest.approx(
                math.sqrt(p * (1 - p) / FAST_REPS)
            )
            assert e["mean_se"]["value"] == pytest.approx(se.mean())
            assert e["mean_se"]["mc_se"] == pytest.approx(
                se.std(ddof=1) / math.sqrt(FAST_REPS)
            )
            assert e["ratio_mean_se_to_sd"]["value"] == pytest.approx(se.mean() / sd)
            assert e["median_se"]["value"] == pytest.approx(np.median(se))
            assert e["median_se"]["mc_se"] >= 0
        assert s["paired_se_ratio_r_to_library"]["value"] == pytest.approx(
            np.mean(rec["se_r"] / rec["se_library"])
        )


def test_command_line_writes_json_and_markdown(tmp_path):
    out = tmp_path / "sign.json"
    argv = ["studies/rc_dr_sign.py", "--reps", "2", "--designs", "close"]
    argv += ["--out", str(out)]
    assert main(argv) == 0
    result = json.loads(out.read_text())
    meta = result["metadata"]
    assert meta["command"] == "python " + " ".join(argv)
    assert meta["reps"] == 2
    assert meta["versions"]["tne_eval"]
    assert list(result["summary"]) == ["close"]
    md = out.with_suffix(".md").read_text()
    assert md == to_markdown(result)
    assert meta["command"] in md


@pytest.fixture(scope="module")
def full():
    return json.loads(FULL_PATH.read_text())


def test_committed_results_are_the_full_study(full):
    meta = full["metadata"]
    assert meta["reps"] >= 2000
    assert list(full["summary"]) == [d.name for d in DESIGNS]
    for name, s in full["summary"].items():
        assert s["design"] == asdict(DESIGN_BY_NAME[name])
        assert s["n_reps"] == meta["reps"]
        assert s["max_rebuild_error"] < 1e-12
    md = (REPO / "studies/results/rc_dr_sign.md").read_text()
    assert md == to_markdown(full)


# ---------------------------------------------------------------------------
# slow: a reduced study against the claims of the docs
# ---------------------------------------------------------------------------

REDUCED_REPS = 1000
#: The docs' acceptance band for the library's mean SE / MC SD.
BAND = (0.95, 1.05)


@pytest.fixture(scope="module")
def reduced():
    return summarise(run_study(REDUCED_REPS))


def _nested_tol(red, full):
    """K_MC MC SE of (reduced - full) when the reduced reps are a subset."""
    return K_MC * math.sqrt(max(red["mc_se"] ** 2 - full["mc_se"] ** 2, 0.0))


def _value(entry):
    return entry.get("value", entry.get("rate"))


@pytest.mark.slow
@pytest.mark.parametrize("name", [d.name for d in DESIGNS])
def test_library_se_matches_the_sampling_sd(reduced, name):
    ratio = reduced[name]["signs"]["library"]["ratio_mean_se_to_sd"]
    tol = K_MC * ratio["mc_se"]
    assert BAND[0] - tol <= ratio["value"] <= BAND[1] + tol, ratio


@pytest.mark.slow
@pytest.mark.parametrize("name", [d.name for d in DESIGNS])
@pytest.mark.parametrize("sign", SIGNS)
def test_coverage_and_ratios_reproduce_the_full_study(reduced, full, name, sign):
    red, ful = reduced[name]["signs"][sign], full["summary"][name]["signs"][sign]
    for stat in ("coverage", "ratio_mean_se_to_sd"):
        gap = abs(_value(red[stat]) - _value(ful[stat]))
        assert gap <= _nested_tol(red[stat], ful[stat]), (stat, red[stat], ful[stat])


@pytest.mark.slow
@pytest.mark.parametrize("name", [d.name for d in DESIGNS])
def test_r_sign_is_off_by_the_measured_amount(reduced, full, name):
    """The paired ratio se_r / se_library, precise to ~0.3%, is the full study's."""
    red = reduced[name]["paired_se_ratio_r_to_library"]
    ful = full["summary"][name]["paired_se_ratio_r_to_library"]
    assert abs(red["value"] - ful["value"]) <= _nested_tol(red, ful), (red, ful)


@pytest.mark.slow
def test_r_sign_understates_the_se_and_undercovers(reduced):
    """Design "under": R's SE / MC SD is below the band, its coverage below 95%."""
    r = reduced["under"]["signs"]["r"]
    ratio = r["ratio_mean_se_to_sd"]
    assert ratio["value"] + K_MC * ratio["mc_se"] < BAND[0], ratio
    ceiling = 0.95 - K_MC * math.sqrt(0.95 * 0.05 / REDUCED_REPS)
    assert r["coverage"]["rate"] < ceiling, r["coverage"]


@pytest.mark.slow
def test_r_sign_overstates_the_se(reduced):
    """Design "over": R's SE / MC SD is above the band."""
    ratio = reduced["over"]["signs"]["r"]["ratio_mean_se_to_sd"]
    assert ratio["value"] - K_MC * ratio["mc_se"] > BAND[1], ratio


@pytest.mark.slow
def test_library_coverage_is_nominal(reduced):
    """One-sided: no design under-covers by more than 3 binomial MC SE."""
    floor = 0.95 - K_MC * math.sqrt(0.95 * 0.05 / REDUCED_REPS)
    for name in reduced:
        assert reduced[name]["signs"]["library"]["coverage"]["rate"] >= floor, name
