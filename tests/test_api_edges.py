"""Small API edges a new user met (issue: what a new user met)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import tne_eval as tne


@pytest.fixture(scope="module")
def gt():
    rng = np.random.default_rng(6)
    n, years = 90, np.arange(2016, 2021)
    g = rng.choice([2018, 2019, 0], size=n)
    df = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n), years.size),
            "year": np.tile(years, n),
            "g": np.repeat(g, years.size),
        }
    )
    df["y"] = rng.normal(size=len(df)) + 1.0 * ((df.g > 0) & (df.year >= df.g))
    spec = tne.PanelSpec(unit="unit", time="year", outcome="y", cohort="g")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tne.TneEvalWarning)
        return tne.att_gt(df, spec, method="reg")


def test_aggregate_kind_is_positional(gt):
    a = tne.aggregate(gt, "calendar")
    assert a.kind == "calendar" and list(a.to_frame()["kind"].unique()) == ["calendar"]


def test_results_export_to_latex_markdown_and_html(gt):
    agg = tne.aggregate(gt, "simple")
    est = f"{float(agg.estimates['ATT']):.4f}"
    latex, md, html = agg.to_latex(), agg.to_markdown(), agg.to_html()
    assert latex.startswith(r"\begin{table}") and est in latex
    assert md.splitlines()[0].startswith("| term") and est in md
    assert "<table" in html and est in html


def test_aggregate_arguments_are_checked(gt):
    with pytest.raises(
        tne.TneEvalTypeError, match=r"min_e must be a number of periods.*'0'"
    ):
        tne.aggregate(gt, "dynamic", min_e="0")
    with pytest.raises(tne.SpecError, match=r"min_e=2 is larger than max_e=1"):
        tne.aggregate(gt, "dynamic", min_e=2, max_e=1)
    with pytest.raises(tne.SpecError, match=r"max_e does not apply to kind='calendar'"):
        tne.aggregate(gt, "calendar", max_e=2)
    with pytest.raises(tne.SpecError, match=r"min_e applies to kind='dynamic' only"):
        tne.aggregate(gt, "group", min_e=0)


def test_pre_trend_test_refuses_other_results(gt):
    with pytest.raises(
        tne.TneEvalTypeError, match="needs a GroupTimeResult from att_gt"
    ):
        tne.pre_trend_test(tne.aggregate(gt))
    assert tne.pre_trend_test(gt).df == gt.pretest.df


def test_single_cluster_is_refused_everywhere():
    df = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(8), 3),
            "year": np.tile([1, 2, 3], 8),
            "g": np.repeat([3, 3, 3, 3, 0, 0, 0, 0], 3),
            "one": 1,
        }
    )
    df["y"] = np.arange(len(df), dtype=float) % 5
    spec = tne.PanelSpec(
        unit="unit", time="year", outcome="y", cohort="g", cluster="one"
    )
    with pytest.raises(
        tne.InferenceError, match=r"at least 2 clusters \('one' has 1\)"
    ):
        tne.att_gt(df, spec, method="reg")
    with pytest.raises(
        tne.InferenceError, match=r"at least 2 clusters \('one' has 1\)"
    ):
        tne.twfe(df, spec)


def test_summary_names_the_cluster_column_and_count(gt):
    text = tne.aggregate(gt).summary().as_text()
    assert "Cluster variable: none (independent 'unit' rows)" in text
    assert "Clusters: 90" in text
    assert "Data: panel (units followed over time)" in text
