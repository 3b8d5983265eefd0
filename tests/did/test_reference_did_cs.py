"""att_gt and aggregate against reference implementations of R `did` on mpdta.

Reference numbers: tests/reference/did_cs/results.csv and pretest.csv, produced by
moderndid 0.2.0 (a port of R did 2.5, cross-checked against csdid 0.4.3 and
against every number printed in the R did documentation: compare_published.py);
the exact calls are in PROVENANCE.json. Analytic standard errors, unit-level (or
state-level) clustering without small-sample factor, as R did.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import tne_eval as tne
from tests.conftest import REPO, reference_dataset
from tests.tolerances import RTOL_CLOSED_FORM, RTOL_ITERATIVE
from tne_eval.did import aggregate, att_gt
from tne_eval.errors import DroppedObservationsWarning, SmallClusterWarning

REF_DIR = REPO / "tests" / "reference" / "did_cs"
# Closed-form outcome regression (RTOL_CLOSED_FORM) and logit-based IPW / DR
# (RTOL_ITERATIVE, observed agreement about 1e-9): tests/tolerances.py.
ATOL = 1e-10

REF = pd.read_csv(REF_DIR / "results.csv")
PRETEST = pd.read_csv(REF_DIR / "pretest.csv").set_index("key")
KEYS = sorted(REF["key"].unique())
AGGREGATIONS = {
    "simple": {"kind": "simple"},
    "dynamic": {"kind": "dynamic"},
    "group": {"kind": "group"},
    "calendar": {"kind": "calendar"},
    "dynamic_balance1": {"kind": "dynamic", "balance_e": 1},
    "dynamic_min-2_max2": {"kind": "dynamic", "min_e": -2, "max_e": 2},
}


def load_mpdta() -> pd.DataFrame:
    df = reference_dataset("mpdta.csv")
    w = np.exp(df["lpop"].to_numpy())
    df["w_exp_lpop"] = w / w.mean()
    df["state"] = (df["countyreal"] // 1000).astype(int)
    df["obs_id"] = np.arange(1, len(df) + 1)
    return df


def parse_key(key: str) -> tuple[dict, object, object]:
    parts = key.split("-")
    method, control, base, cov = parts[:4]
    extras = set(parts[4:])
    kwargs = {"method": method, "control_group": control, "base_period": base}
    if "antic1" in extras:
        kwargs["anticipation"] = 1
    covariates = ("lpop",) if cov == "lpop" else ()
    weights = "w_exp_lpop" if "wexplpop" in extras else None
    if "rc" in extras:
        spec = tne.RepeatedCrossSectionSpec(
            time="year",
            outcome="lemp",
            group="obs_id",
            id="obs_id",
            cohort="first_treat",
            covariates=covariates,
            weights=weights,
        )
    else:
        spec = tne.PanelSpec(
            unit="countyreal",
            time="year",
            outcome="lemp",
            cohort="first_treat",
            covariates=covariates,
            weights=weights,
            cluster="state" if "cluster_state" in extras else None,
        )
    inference = tne.Cluster(small_sample=False)
    return kwargs, spec, inference


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return load_mpdta()


@pytest.fixture(scope="module", params=KEYS)
def fitted(request, mpdta):
    key = request.param
    kwargs, spec, inference = parse_key(key)
    if key.endswith("cluster_state"):
        # the 2004 cohort sits in one state: the few-cluster diagnostic fires
        with pytest.warns(SmallClusterWarning, match="cohort 2004: 1, cohort 2006: 3"):
            gt = att_gt(mpdta, spec, inference=inference, **kwargs)
    elif kwargs.get("anticipation"):
        # the 2004 cohort has no pre-period once units anticipate by one year
        with pytest.warns(DroppedObservationsWarning, match="Dropped 20 unit"):
            gt = att_gt(mpdta, spec, inference=inference, **kwargs)
    else:
        gt = att_gt(mpdta, spec, inference=inference, **kwargs)
    frames = [gt.to_frame()[["estimate", "std_error"]]]
    for name, agg_kwargs in AGGREGATIONS.items():
        agg = aggregate(gt, **agg_kwargs).to_frame()[["estimate", "std_error"]]
        agg.index = [f"{name}:{'ATT' if t == 'overall' else t}" for t in agg.index]
        frames.append(agg)
    ours = pd.concat(frames)
    ref = REF[REF["key"] == key].set_index("term")[["estimate", "std_error"]]
    return key, gt, ours, ref


def _rtol(key: str) -> float:
    return RTOL_CLOSED_FORM if key.startswith("reg-") else RTOL_ITERATIVE


def test_same_terms(fitted):
    _, _, ours, ref = fitted
    assert set(ours.index) == set(ref.index)


def test_estimates_match(fitted):
    key, _, ours, ref = fitted
    common = ref.index
    np.testing.assert_allclose(
        ours.loc[common, "estimate"],
        ref.loc[common, "estimate"],
        rtol=_rtol(key),
        atol=ATOL,
        err_msg=key,
    )


def test_analytic_std_errors_match(fitted):
    key, _, ours, ref = fitted
    common = ref.index
    np.testing.assert_allclose(
        ours.loc[common, "std_error"],
        ref.loc[common, "std_error"],
        rtol=_rtol(key),
        atol=ATOL,
        err_msg=key,
        equal_nan=True,
    )


def test_pretest_matches(fitted):
    key, gt, _, _ = fitted
    if key not in PRETEST.index or pd.isna(PRETEST.loc[key, "W"]):
        pytest.skip(f"no reference pre-test for {key}")
    ref = PRETEST.loc[key]
    assert gt.pretest.df == ref["df"]
    np.testing.assert_allclose(gt.pretest.statistic, ref["W"], rtol=_rtol(key))
    np.testing.assert_allclose(gt.pretest.p_value, ref["pvalue"], rtol=1e-6)


def test_published_numbers_to_printed_precision(mpdta):
    """Every estimate printed in the R did documentation, to its printed precision."""
    published = json.loads((REF_DIR / "published.json").read_text())
    checked = 0
    for entry in published["entries"]:
        key = entry.get("matching_results_key")
        if not key:
            continue
        kwargs, spec, inference = parse_key(key)
        gt = att_gt(mpdta, spec, inference=inference, **kwargs)
        prefix = entry.get("matching_results_prefix")
        for row in entry["rows"]:
            term = row["term"]
            if ":" in term:
                name, sub = term.split(":", 1)
                agg = aggregate(gt, **AGGREGATIONS[name]).to_frame()
                est = agg.loc[
                    "overall" if sub == "ATT" and name != "simple" else sub, "estimate"
                ]
            elif prefix:
                agg = aggregate(gt, **AGGREGATIONS[prefix]).to_frame()
                est = agg.loc[
                    "overall" if term == "ATT" and prefix != "simple" else term,
                    "estimate",
                ]
            else:
                est = gt.to_frame().loc[term, "estimate"]
            # printed with round(x, 4): |ours - printed| <= 5e-5
            assert abs(float(est) - row["estimate"]) <= 5e-5 + 1e-12, (
                entry["id"],
                term,
            )
            checked += 1
        if entry.get("pretest_pvalue") is not None:
            assert round(gt.pretest.p_value, 5) == pytest.approx(
                entry["pretest_pvalue"], abs=1e-12
            )
    assert checked >= 100
