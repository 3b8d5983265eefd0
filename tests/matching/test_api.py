"""The public matching API reproduces, from a DataFrame and a spec, the numbers
validated at the numerics level on LaLonde (MatchIt 4.7.2 and cobalt 5.0.0 printed
tables, ``tests/reference/matchit/PROVENANCE.json``)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import tne_eval as tne
from tests.matching import lalonde
from tne_eval.inference import IID, Cluster
from tne_eval.matching import (
    CrossSectionSpec,
    aipw,
    att,
    balance,
    match,
    propensity_score,
    weightit,
)
from tne_eval.matching._effects import abadie_imbens_att, aipw_att
from tne_eval.matching._nearest import nearest_scalar
from tne_eval.matching._propensity import fit_propensity

#: MatchIt's formula: treat ~ age + educ + race + married + nodegree + re74 + re75.
COVARIATES = ("age", "educ", "race", "married", "nodegree", "re74", "re75")
COLS = ("mean_treated", "mean_control", "smd", "var_ratio", "ecdf_mean", "ecdf_max")
#: Iterative fits (logit IRLS) agree with the array-level calls to rounding only.
RTOL_ITER = 1e-10


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return lalonde.frame()


@pytest.fixture(scope="module")
def spec() -> CrossSectionSpec:
    return CrossSectionSpec(outcome="re78", treatment="treat", covariates=COVARIATES)


def _check_printed(table: pd.DataFrame, key: str, rows, *, skip=()) -> int:
    ref = lalonde.printed_table(key, "Summary of Balance for Matched Data")
    tol = lalonde.print_tolerance(key)
    cols = (*COLS, "pair_dist") if "pair_dist" in table else COLS
    checked = 0
    for name in rows:
        for c, printed in enumerate(ref[name]):
            if (name, c) in skip or c >= len(cols):
                continue
            ours = table.loc[name, cols[c]]
            if printed is None:
                assert np.isnan(ours), (key, name, c)
            else:
                assert abs(ours - printed) <= tol, (key, name, cols[c], ours, printed)
            checked += 1
    return checked


def _sizes(result, key: str) -> None:
    ref = lalonde.printed()[key]["Sample Sizes"]
    n = result.n_matched
    assert [n["control"], n["treated"]] == ref["Matched"]
    if "Matched (ESS)" in ref:
        assert result.sample_sizes().loc["Matched (ESS)", "control"] == pytest.approx(
            ref["Matched (ESS)"][0], abs=0.006
        )


def test_propensity_score_matches_numerics_and_matchit_all_data(data, spec):
    ps = propensity_score(data, spec)
    ref = fit_propensity(lalonde.treat(), lalonde.ps_design())
    np.testing.assert_allclose(ps.score.to_numpy(), ref.score, rtol=RTOL_ITER)
    assert list(ps.params.index) == [
        "(Intercept)",
        "age",
        "educ",
        "racehispan",
        "racewhite",
        "married",
        "nodegree",
        "re74",
        "re75",
    ]
    assert ps.score.index.equals(data.index)
    # the unadjusted table with the distance row: MatchIt's 'All Data' (60 numbers)
    bal = balance(data, spec, weights=ps)
    ref_all = lalonde.printed_table("all_data_logit", "Summary of Balance for All Data")
    tol = lalonde.print_tolerance("all_data_logit")
    for name in ("distance", *lalonde.BALANCE_ROWS):
        for c, printed in enumerate(ref_all[name]):
            ours = bal.unadjusted.loc[name, COLS[c]]
            assert np.isnan(ours) if printed is None else abs(ours - printed) <= tol
    assert bal.adjusted is None


def test_nearest_without_replacement_185_pairs_and_matchit_balance(data, spec):
    m = match(data, spec)
    assert m.n_matched.to_dict() == {"control": 185, "treated": 185}
    assert m.sample_sizes().loc["Unmatched", "control"] == 244
    _sizes(m, "nn_ps")
    bal = balance(data, spec, weights=m)
    assert (
        _check_printed(bal.adjusted, "nn_ps", ("distance", *lalonde.BALANCE_ROWS)) == 70
    )
    pairs = m.matched
    assert list(pairs.columns) == [
        "treated_id",
        "control_id",
        "distance",
        "subclass",
        "treated_weight",
        "control_weight",
    ]
    assert len(pairs) == 185 and pairs["control_id"].is_unique
    d = data["treat"].to_numpy()
    score = m.distance
    np.testing.assert_allclose(
        pairs["distance"],
        np.abs(
            score[pairs["treated_id"]].to_numpy()
            - score[pairs["control_id"]].to_numpy()
        ),
    )
    assert m.weights.index.equals(data.index)
    assert m.subclass.notna().sum() == 370
    assert (m.weights[d == 1] == 1).all()


def test_nearest_with_replacement_82_controls_ess_46_31(data, spec):
    m = match(data, spec, replace=True)
    assert m.n_matched["control"] == 82
    assert m.sample_sizes().loc["Matched (ESS)", "control"] == 46.31
    assert m.sample_sizes().loc["Unmatched", "control"] == 347
    assert m.subclass.isna().all()
    bal = balance(data, spec, weights=m)
    _check_printed(bal.adjusted, "nn_ps_replace", ("distance", *lalonde.BALANCE_ROWS))
    raw = balance(data, spec, weights=m, binary="raw")
    ref = lalonde.printed()["cobalt_bal_tab_nn_ps_replace"]
    np.testing.assert_allclose(raw.adjusted["smd"], ref["Diff.Adj"], atol=0.5e-3 + 1e-9)
    np.testing.assert_allclose(
        raw.unadjusted["smd"], ref["Diff.Un"], atol=0.5e-3 + 1e-9
    )


def test_exact_matching_sizes_and_balance(data):
    spec = CrossSectionSpec(
        outcome="re78", treatment="treat", covariates=("age", "race", "married", "educ")
    )
    with pytest.warns(tne.DroppedObservationsWarning, match="131 of 185 treated"):
        m = match(data, spec, method="exact")
    _sizes(m, "exact")
    rows = ("age", "raceblack", "racehispan", "racewhite", "married", "educ")
    bal = balance(data, spec, weights=m)
    assert _check_printed(bal.adjusted, "exact", rows) == 42
    assert any("131 of 185 treated" in n for n in m.notes)


def test_coarsened_exact_matching_cutpoints(data):
    """MatchIt's grouping of race into black / other is a 0/1 column here."""
    df = data.assign(black=(data["race"] == "black").astype(int))
    spec = CrossSectionSpec(
        outcome="re78",
        treatment="treat",
        covariates=("age", "black", "married", "educ"),
    )
    with pytest.warns(tne.DroppedObservationsWarning):
        m = match(df, spec, method="cem", cutpoints={"educ": 5})
    _sizes(m, "cem")
    # balance on MatchIt's rows (race by level) uses the original race column
    spec_rows = CrossSectionSpec(
        outcome="re78", treatment="treat", covariates=("age", "race", "married", "educ")
    )
    bal = balance(df, spec_rows, weights=m.weights)
    rows = ("age", "raceblack", "racehispan", "racewhite", "married", "educ")
    _check_printed(
        bal.adjusted.assign(pair_dist=np.nan).drop(columns="pair_dist"), "cem", rows
    )


def test_optimal_pair_matching_within_race(data, spec):
    with pytest.warns(tne.DroppedObservationsWarning, match="69 of 185"):
        m = match(data, spec, method="optimal", exact=("race",))
    _sizes(m, "optimal_exact_race")
    bal = balance(data, spec, weights=m)
    for r in ("raceblack", "racehispan", "racewhite"):
        assert bal.adjusted.loc[r, "mean_treated"] == pytest.approx(
            bal.adjusted.loc[r, "mean_control"], abs=1e-12
        )


def test_mahvars_within_probit_caliper(data, spec):
    with pytest.warns(tne.DroppedObservationsWarning, match="74 of 185"):
        m = match(
            data,
            spec,
            distance="probit",
            mahvars=("age", "educ", "re74", "re75"),
            caliper=0.1,
            ratio=2,
        )
    _sizes(m, "mahvars_caliper_probit_ratio2")
    assert m.options["caliper_width"] == pytest.approx(0.02904, abs=5e-6)


def test_mahalanobis_with_replacement_every_treated_matched(data, spec):
    m = match(data, spec, distance="mahalanobis", replace=True)
    # MatchIt prints 79 controls; 78 when the one rounding-decided tie (row 88,
    # see test_reference_matchit) goes to the other equidistant control
    assert m.n_matched["treated"] == 185
    assert m.n_matched["control"] in (78, 79)
    assert m.distance is None and m.propensity is None


def test_weightit_ipw_matches_cobalt(data):
    spec = CrossSectionSpec(
        outcome="re78",
        treatment="treat",
        covariates=("age", "educ", "race", "re74", "re75"),
    )
    w = weightit(data, spec, method="ipw")
    bal = balance(data, spec, weights=w, binary="raw")
    ref = lalonde.printed()["cobalt_bal_tab_ipw_att"]
    np.testing.assert_allclose(bal.adjusted["smd"], ref["Diff.Adj"], atol=0.5e-4 + 1e-9)
    assert round(w.ess["control"], 1) == ref["Effective sample sizes"]["Adjusted"][0]


def test_weightit_ebal_and_cbps(data, spec):
    eb = weightit(data, spec, method="ebal")
    assert round(eb.ess["control"], 2) == 98.46
    bal = balance(data, spec, weights=eb)
    assert bal.adjusted["smd"].abs().max() < 1e-6
    adj = bal.to_frame().query("sample == 'adjusted'").set_index("covariate")
    assert not adj["smd_flag"].any()
    # means only: the variance of age is left unbalanced, and flagged
    assert bal.imbalanced == ["age"] and adj.loc["age", "var_ratio_flag"]
    cb = weightit(data, spec, method="cbps")
    np.testing.assert_allclose(cb.weights, eb.weights, rtol=1e-6)
    ate = weightit(data, spec, method="ebal", estimand="ATE")
    x = balance(data, spec, weights=ate, estimand="ATE").adjusted
    np.testing.assert_allclose(x["mean_treated"], x["mean_control"], rtol=1e-7)
    # second moments are balanced too with moments=2
    eb2 = weightit(data, spec, method="ebal", moments=2)
    c = data["treat"] == 0
    t = ~c
    np.testing.assert_allclose(
        np.average(data.loc[c, "age"] ** 2, weights=eb2.weights[c]),
        (data.loc[t, "age"] ** 2).mean(),
        rtol=1e-7,
    )


def test_att_abadie_imbens_equals_numerics(data, spec):
    m = match(data, spec, replace=True)
    res = att(data, spec, m, bias_correct=True)
    d = data["treat"].to_numpy()
    ps = fit_propensity(d, lalonde.ps_design()).score
    mm = nearest_scalar(d, ps, replace=True)
    x = lalonde.columns()
    ref = abadie_imbens_att(
        data["re78"].to_numpy(float), d, mm, x / x.std(axis=0), x_bias=x
    )
    assert res.estimates["ATT"] == pytest.approx(ref.att, rel=1e-9)
    assert res.std_errors["ATT"] == pytest.approx(ref.se, rel=1e-9)
    assert res.options["se"] == "abadie_imbens"
    frame = res.to_frame()
    assert list(frame.columns[:2]) == ["estimand", "estimate"]
    with pytest.raises(tne.InferenceError, match="Abadie-Imbens"):
        res.with_inference("iid")


def test_att_cluster_is_weighted_difference_and_goes_through_registry(data, spec):
    m = match(data, spec)
    res = att(data, spec, m, se="cluster")
    y, d, w = data["re78"], data["treat"] == 1, m.weights
    diff = np.average(y[d], weights=w[d]) - np.average(y[~d], weights=w[~d])
    assert res.estimates["ATT"] == pytest.approx(diff, rel=1e-12)
    assert res.cluster_column == "subclass" and res.n_clusters == 185
    assert res.nobs == 370
    iid = res.with_inference(IID())
    assert iid.std_errors["ATT"] != pytest.approx(res.std_errors["ATT"])
    # HC by hand: sum of squared unit contributions
    t, c = d.to_numpy() & (w > 0).to_numpy(), (~d).to_numpy() & (w > 0).to_numpy()
    yy, ww = y.to_numpy(), w.to_numpy()
    m1, m0 = np.average(yy[t], weights=ww[t]), np.average(yy[c], weights=ww[c])
    v = (ww[t] ** 2 * (yy[t] - m1) ** 2).sum() / ww[t].sum() ** 2 + (
        ww[c] ** 2 * (yy[c] - m0) ** 2
    ).sum() / ww[c].sum() ** 2
    assert iid.std_errors["ATT"] == pytest.approx(np.sqrt(v), rel=1e-10)


def test_att_clusters_by_spec_cluster(data, spec):
    df = data.assign(block=np.arange(len(data)) % 40)
    sp = spec.update(cluster="block")
    res = att(df, sp, weightit(df, sp, method="ipw"))
    assert res.cluster_column == "block" and res.n_clusters == 40
    assert res.dof == 39
    assert res.inference == Cluster()


def test_aipw_influence_function_through_registry(data, spec):
    res = aipw(data, spec)
    ref = aipw_att(data["re78"].to_numpy(float), lalonde.treat(), lalonde.ps_design())
    assert res.estimates["ATT"] == pytest.approx(ref.att, rel=1e-9)
    assert res.std_errors["ATT"] == pytest.approx(ref.se, rel=1e-9)
    df = data.assign(block=np.arange(len(data)) % 30)
    clustered = aipw(df, spec.update(cluster="block"))
    assert clustered.n_clusters == 30
    assert clustered.estimates["ATT"] == pytest.approx(ref.att, rel=1e-9)
    boot = res.with_inference(tne.MultiplierBootstrap(reps=199, seed=1))
    assert boot.std_errors["ATT"] == pytest.approx(res.std_errors["ATT"], rel=0.25)
    assert "ATT" in str(res.summary())


def test_results_summaries_render(data, spec):
    m = match(data, spec)
    text = str(m.summary())
    assert "Matched" in text and "nearest" in text
    bal = balance(data, spec, weights=m)
    assert "Covariate balance" in bal.summary().as_text()
    tidy = bal.to_frame()
    assert set(tidy["sample"]) == {"unadjusted", "adjusted"}
    assert len(tidy) == 20 and tidy["smd_flag"].dtype == bool
    assert "distance" in bal.imbalanced
    ps = propensity_score(data, spec)
    assert "(Intercept)" in ps.summary().as_text()
    assert "Balancing weights" in str(weightit(data, spec).summary())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        repr(m), repr(bal), repr(ps)


def test_top_level_exports():
    for name in ("match", "balance", "weightit", "propensity_score", "matched_panel"):
        assert getattr(tne, name) is getattr(tne.matching, name)
    assert tne.CrossSectionSpec is CrossSectionSpec


def test_docs_lalonde_table_is_current(data, spec):
    """The LaLonde ATT table of the matching docs page is what the API gives."""
    page = (lalonde.REPO / "docs/estimators/matching.md").read_text(encoding="utf-8")
    rows = {
        "nearest 1:1, no replacement; AI SE": att(data, spec, match(data, spec)),
        "nearest 1:1, with replacement; AI SE": att(
            data, spec, match(data, spec, replace=True)
        ),
        "entropy balancing (ATT); robust SE": att(
            data, spec, weightit(data, spec, method="ebal")
        ),
    }
    for label, res in rows.items():
        est, se = res.estimates["ATT"], res.std_errors["ATT"]
        assert f"| {label} | {est:,.0f} | {se:,.0f} |" in page, label


def test_sampling_weights_enter_the_score_and_balance(data, spec):
    ones = data.assign(sw=1.0)
    sp = spec.update(weights="sw")
    np.testing.assert_allclose(
        propensity_score(ones, sp).score, propensity_score(data, spec).score, rtol=1e-10
    )
    doubled = data.assign(sw=2.0)
    np.testing.assert_allclose(
        propensity_score(doubled, sp).score,
        propensity_score(data, spec).score,
        rtol=1e-8,
    )
    varied = data.assign(sw=1.0 + (np.arange(len(data)) % 3))
    ps = propensity_score(varied, sp)
    assert not np.allclose(ps.score, propensity_score(data, spec).score)
    bal = balance(varied, sp)
    t = data["treat"] == 1
    assert bal.unadjusted.loc["age", "mean_treated"] == pytest.approx(
        np.average(data.loc[t, "age"], weights=varied.loc[t, "sw"])
    )
