"""Every bad input of the public matching API raises a typed error that says what,
where and how to fix it; the caller's frame is never modified."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.matching import lalonde
from tne_eval.errors import (
    DataError,
    IdentificationError,
    InferenceError,
    OverlapWarning,
    SpecError,
    TneEvalTypeError,
)
from tne_eval.matching import (
    CrossSectionSpec,
    aipw,
    att,
    balance,
    match,
    matched_panel,
    propensity_score,
    weightit,
)

COVARIATES = ("age", "educ", "race", "married", "nodegree", "re74", "re75")


@pytest.fixture
def data() -> pd.DataFrame:
    return lalonde.frame().copy()


@pytest.fixture
def spec() -> CrossSectionSpec:
    return CrossSectionSpec(outcome="re78", treatment="treat", covariates=COVARIATES)


# -- the spec ------------------------------------------------------------------
def test_spec_validation():
    with pytest.raises(TneEvalTypeError, match="not the single string 'age'"):
        CrossSectionSpec(outcome=None, treatment="d", covariates="age")
    with pytest.raises(SpecError, match="already the treatment column"):
        CrossSectionSpec(outcome=None, treatment="d", covariates=("d", "x"))
    with pytest.raises(SpecError, match="already the outcome column"):
        CrossSectionSpec(outcome="y", treatment="d", covariates=("y",))
    with pytest.raises(SpecError, match="covariates is empty"):
        CrossSectionSpec(outcome=None, treatment="d", covariates=())
    with pytest.raises(SpecError, match="lists a column twice"):
        CrossSectionSpec(outcome=None, treatment="d", covariates=("x", "x"))
    with pytest.raises(SpecError, match="treatment must be a non-empty column name"):
        CrossSectionSpec(outcome=None, treatment="", covariates=("x",))
    spec = CrossSectionSpec(outcome=None, treatment="d", covariates=["x"])
    assert spec.covariates == ("x",)
    with pytest.raises(SpecError, match="unknown role"):
        spec.update(cohort="g")


def test_wrong_types(data, spec):
    with pytest.raises(TneEvalTypeError, match="pandas DataFrame"):
        match(data.to_numpy(), spec)
    with pytest.raises(TneEvalTypeError, match="CrossSectionSpec"):
        match(data, {"treatment": "treat"})
    with pytest.raises(TneEvalTypeError, match="MatchResult"):
        att(data, spec, data["treat"])
    with pytest.raises(TneEvalTypeError, match="weights must be a MatchResult"):
        balance(data, spec, weights=[1, 2])


# -- the data ------------------------------------------------------------------
def test_missing_columns_listed_at_once(data):
    spec = CrossSectionSpec(
        outcome=None, treatment="treat", covariates=("age", "iq", "zip")
    )
    with pytest.raises(SpecError, match=r"'iq', 'zip'.*not in the data"):
        match(data, spec)


def test_nan_in_covariates_names_columns_and_counts(data, spec):
    data.loc[[3, 5, 9], "age"] = np.nan
    data.loc[[4], "race"] = None
    with pytest.raises(DataError, match=r"4 of 614 rows: 'age' \(3\), 'race' \(1\)"):
        match(data, spec)
    with pytest.raises(DataError, match="first at index 3"):
        weightit(data, spec)


def test_treatment_not_binary(data, spec):
    data["treat"] = data["treat"].replace({1: 2})
    with pytest.raises(DataError, match=r"185 of 614 values are neither.*Recode"):
        propensity_score(data, spec)


def test_treatment_missing(data, spec):
    data["treat"] = data["treat"].astype(float)
    data.loc[0, "treat"] = np.nan
    with pytest.raises(DataError, match="missing treatment rows must be dropped"):
        match(data, spec)


def test_treatment_text(data, spec):
    data["treat"] = np.where(data["treat"] == 1, "yes", "no")
    with pytest.raises(DataError, match="must be 0/1"):
        match(data, spec)


def test_single_group(data, spec):
    with pytest.raises(IdentificationError, match="no control units"):
        match(data[data["treat"] == 1], spec)


def test_duplicate_unit_ids(data, spec):
    data["id"] = np.arange(len(data)) // 2
    with pytest.raises(DataError, match=r"is not unique.*one row per unit"):
        match(data, spec.update(unit="id"))


def test_missing_outcome(data, spec):
    m = match(data, spec)
    data.loc[[1, 2], "re78"] = np.nan
    with pytest.raises(DataError, match=r"outcome='re78' has 2 missing"):
        att(data, spec, m)
    with pytest.raises(SpecError, match="needs an outcome column"):
        aipw(data, spec.update(outcome=None))


# -- overlap, calipers, strata -------------------------------------------------
def test_separation_is_no_overlap():
    df = pd.DataFrame({"d": [0, 0, 0, 1, 1, 1], "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    spec = CrossSectionSpec(outcome=None, treatment="d", covariates=("x",))
    with pytest.raises(IdentificationError, match="no overlap"):
        propensity_score(df, spec)


def test_discard_counts_in_notes_and_warns(data, spec):
    with pytest.warns(OverlapWarning, match="discarded"):
        ps = propensity_score(data, spec, discard="both")
    assert int(ps.discarded.sum()) > 0
    assert any("outside the common support" in n for n in ps.notes)
    with pytest.warns(OverlapWarning, match="trim"):
        tr = propensity_score(data, spec, trim="crump")
    assert tr.support[0] > 0
    with pytest.raises(SpecError, match="trim='x' is not supported"):
        propensity_score(data, spec, trim="x")
    with pytest.raises(SpecError, match="0 <= lower < upper <= 1"):
        propensity_score(data, spec, trim=0.7)


def test_caliper_leaving_no_match(data, spec):
    gen = np.random.default_rng(0)
    x = gen.normal(size=200)
    df = pd.DataFrame({"x": x, "d": (gen.random(200) < 0.3).astype(int)})
    sp = CrossSectionSpec(outcome=None, treatment="d", covariates=("x",))
    with pytest.raises(
        IdentificationError, match=r"caliper=1e-15 .* leaves no treated"
    ):
        match(df, sp, caliper=1e-15, std_caliper=False)
    with pytest.raises(SpecError, match="caliper=-1 must be a positive number"):
        match(data, spec, caliper=-1)


def test_exact_strata_without_controls(data, spec):
    data["site"] = np.where(data["treat"] == 1, "A", "B")
    with pytest.raises(IdentificationError, match=r"No stratum of exact=.*'site'"):
        match(data, spec, exact=("site",))


def test_stratum_without_controls_is_noted(data, spec):
    data["site"] = np.where((data["treat"] == 1) & (data.index < 20), "A", "B")
    with pytest.warns(match="20 of 185 treated units were left unmatched"):
        m = match(data, spec, exact=("site",))
    assert any("have treated units but no control (20 treated" in n for n in m.notes)


def test_option_combinations(data, spec):
    with pytest.raises(SpecError, match="method='magic' is not supported"):
        match(data, spec, method="magic")
    with pytest.raises(SpecError, match="replace=True is only available"):
        match(data, spec, method="optimal", replace=True)
    with pytest.raises(SpecError, match="caliper is only implemented"):
        match(data, spec, method="optimal", caliper=0.2)
    with pytest.raises(SpecError, match="caliper with distance='mahalanobis'"):
        match(data, spec, distance="mahalanobis", caliper=0.2)
    with pytest.raises(SpecError, match=r"mahvars .* needs"):
        match(data, spec, mahvars=("age",))
    with pytest.raises(SpecError, match="m_order='largest' is not supported"):
        match(data, spec, distance="mahalanobis", m_order="largest")
    with pytest.raises(SpecError, match="cutpoints applies to method='cem'"):
        match(data, spec, cutpoints={"age": 4})
    with pytest.raises(SpecError, match="not covariates of the spec"):
        match(data, spec, method="cem", cutpoints={"iq": 4})
    with pytest.raises(SpecError, match="ratio must be >= 1"):
        match(data, spec, ratio=0)
    with pytest.raises(SpecError, match="ratio applies to pair matching"):
        match(data, spec, method="full", ratio=2)
    with pytest.raises(SpecError, match="min_controls/max_controls apply to"):
        match(data, spec, max_controls=3)
    with pytest.raises(SpecError, match="subclass and min_n apply to"):
        match(data, spec, min_n=2)
    with pytest.raises(SpecError, match="estimand='ATE' is not available"):
        match(data, spec, estimand="ATE")


def test_infeasible_entropy_balancing():
    df = pd.DataFrame({"d": [1, 1, 0, 0, 0, 0], "x": [10.0, 11.0, 0.0, 1.0, 2.0, 3.0]})
    spec = CrossSectionSpec(outcome=None, treatment="d", covariates=("x",))
    with pytest.raises(
        IdentificationError, match=r"Entropy balancing is infeasible: .*x"
    ):
        weightit(df, spec, method="ebal")
    with pytest.raises(SpecError, match="link='probit' applies to method='ipw'"):
        weightit(df, spec, method="ebal", link="probit")


def test_effect_options(data, spec):
    w = weightit(data, spec)
    with pytest.raises(SpecError, match="se='abadie_imbens' needs matched pairs"):
        att(data, spec, w, se="abadie_imbens")
    with pytest.raises(SpecError, match=r"bias_correct=True .* se='abadie_imbens'"):
        att(data, spec, w, bias_correct=True)
    m = match(data, spec)
    with pytest.raises(SpecError, match="inference applies to se='cluster'"):
        att(data, spec, m, inference="iid")
    with pytest.raises(InferenceError, match="CR2 needs the decomposition"):
        att(data, spec, m, se="cluster", inference="cr2")
    with pytest.raises(SpecError, match="fitted on other data"):
        att(data.iloc[::-1].reset_index(drop=True), spec, m)


def test_balance_weights_misaligned(data, spec):
    with pytest.raises(SpecError, match="not indexed like data"):
        balance(data, spec, weights=pd.Series(np.ones(10)))
    with pytest.raises(DataError, match="negative"):
        balance(data, spec, weights=pd.Series(-np.ones(len(data)), index=data.index))
    with pytest.raises(SpecError, match="threshold=0 must be a positive number"):
        balance(data, spec, threshold=0)


def test_matched_panel_errors(data, spec):
    data["id"] = np.arange(len(data))
    sp = spec.update(unit="id")
    m = match(data, sp)
    panel = pd.DataFrame(
        {"id": np.repeat(data["id"], 2), "t": np.tile([0, 1], len(data))}
    )
    with pytest.raises(SpecError, match="already has a column 'id'"):
        matched_panel(panel, m, unit="id", weights_column="id")
    with pytest.raises(DataError, match="matched units are not in panel"):
        matched_panel(panel[panel["id"] > 5], m, unit="id")
    with pytest.raises(SpecError, match=r"spec.unit is None"):
        matched_panel(panel, match(data, spec), unit="id")
    with pytest.raises(SpecError, match=r"'school' .*not in the data"):
        matched_panel(panel, m, unit="school")


# -- no mutation ---------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::tne_eval.errors.TneEvalWarning")
def test_no_function_mutates_the_callers_frame(data, spec):
    data["id"] = [f"u{i}" for i in range(len(data))]
    data["block"] = np.arange(len(data)) % 25
    sp = spec.update(unit="id", cluster="block")
    before = data.copy(deep=True)
    ps = propensity_score(data, sp, discard="both")
    m = match(data, sp)
    match(data, sp, method="exact", exact=("race",))
    w = weightit(data, sp, method="ebal")
    balance(data, sp, weights=m)
    balance(data, sp, weights=ps)
    att(data, sp, m)
    att(data, sp, w)
    aipw(data, sp)
    panel = pd.DataFrame(
        {"id": np.repeat(data["id"], 2), "t": np.tile([0, 1], len(data))}
    )
    panel_before = panel.copy(deep=True)
    out = matched_panel(panel, m, unit="id")
    pd.testing.assert_frame_equal(data, before)
    pd.testing.assert_frame_equal(panel, panel_before)
    assert "match_weight" in out and "match_weight" not in panel


def test_row_order_does_not_change_designs_without_ties(data, spec):
    """Exact matching and weights do not depend on the row order. (Greedy matching
    on LaLonde does, as MatchIt's: units with identical covariates have identical
    scores, and ties go by data order.)"""
    shuffled = data.sample(frac=1.0, random_state=3)
    sp = spec.update(covariates=("age", "race", "married", "educ"))
    with pytest.warns(match="unmatched"):
        m = match(data, sp, method="exact")
    with pytest.warns(match="unmatched"):
        m2 = match(shuffled, sp, method="exact")
    pd.testing.assert_series_equal(m.weights, m2.weights.reindex(m.weights.index))
    w = weightit(data, spec, method="ebal").weights
    w2 = weightit(shuffled, spec, method="ebal").weights
    pd.testing.assert_series_equal(w, w2.reindex(w.index), rtol=1e-8)
