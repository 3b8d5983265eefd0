"""Sampling weights (MatchIt's and WeightIt's ``s.weights``) in match, weightit, att, aipw.

References: statsmodels' weighted GLM for the score, hand-computed weighted
means, and, for AIPW, frequency replication (integer weights must give the point
estimate of the data with each row repeated that many times).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import tne_eval as tne
from tne_eval.errors import DataError, SpecError
from tne_eval.matching import aipw, att

#: Closed-form weighted means; iterative fits (IRLS, Newton) to 1e-8 as well.
TOL = 1e-8


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    n = 800
    x1 = rng.normal(size=n)
    x2 = rng.binomial(1, 0.4, size=n).astype(float)
    d = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.8 * x1 - 0.5 * x2)))).astype(int)
    y = 1.0 + 2.0 * x1 - x2 + 1.5 * d + rng.normal(size=n)
    s = rng.integers(1, 4, size=n).astype(float)
    return pd.DataFrame({"x1": x1, "x2": x2, "d": d, "y": y, "s": s})


SPEC = tne.CrossSectionSpec(outcome="y", treatment="d", covariates=("x1", "x2"))
SPEC_W = SPEC.update(weights="s")


def _glm_score(df):
    x = sm.add_constant(df[["x1", "x2"]].to_numpy())
    fit = sm.GLM(
        df["d"].to_numpy(), x, family=sm.families.Binomial(), var_weights=df["s"]
    ).fit(tol=1e-12)
    return fit.predict(x)


def test_match_uses_sampling_weights_in_score_and_balance(data):
    m = tne.match(data, SPEC_W, replace=True)
    np.testing.assert_allclose(m.distance.to_numpy(), _glm_score(data), rtol=1e-7)
    np.testing.assert_allclose(
        m.analysis_weights.to_numpy(), m.weights.to_numpy() * data["s"].to_numpy()
    )
    bal = tne.balance(data, SPEC_W, weights=m).adjusted
    w = m.analysis_weights.to_numpy()
    t = data["d"].to_numpy() == 1
    mean_c = np.average(data["x1"][~t], weights=w[~t])
    assert bal.loc["x1", "mean_control"] == pytest.approx(mean_c, abs=TOL)
    ess = m.sample_sizes().loc["Matched (ESS)", "control"]
    assert ess == pytest.approx(w[~t].sum() ** 2 / (w[~t] ** 2).sum(), abs=0.005)
    assert any("s.weights" in n for n in m.notes)


def test_att_with_sampling_weights_is_the_weighted_difference(data):
    for design in (
        tne.match(data, SPEC_W, method="full"),
        tne.weightit(data, SPEC_W, method="ipw"),
    ):
        res = att(data, SPEC_W, design)
        w = design.analysis_weights.to_numpy()
        t = data["d"].to_numpy() == 1
        y = data["y"].to_numpy()
        expect = np.average(y[t], weights=w[t]) - np.average(y[~t], weights=w[~t])
        assert res.estimates["ATT"] == pytest.approx(expect, abs=TOL)


def test_ebal_with_sampling_weights_balances_weighted_means(data):
    w = tne.weightit(data, SPEC_W, method="ebal")
    t = data["d"].to_numpy() == 1
    aw = w.analysis_weights.to_numpy()
    for col in ("x1", "x2"):
        target = np.average(data[col][t], weights=data["s"][t])
        got = np.average(data[col][~t], weights=aw[~t])
        assert got == pytest.approx(target, abs=TOL)
    # treated keep weight 1 (their analysis weight is the sampling weight)
    np.testing.assert_allclose(w.weights.to_numpy()[t], 1.0)
    ate = tne.weightit(data, SPEC_W, method="ebal", estimand="ATE")
    aw = ate.analysis_weights.to_numpy()
    for grp in (t, ~t):
        got = np.average(data["x1"][grp], weights=aw[grp])
        assert got == pytest.approx(np.average(data["x1"], weights=data["s"]), abs=TOL)


def test_ipw_with_sampling_weights_uses_weighted_score(data):
    w = tne.weightit(data, SPEC_W, method="ipw")
    np.testing.assert_allclose(w.score.to_numpy(), _glm_score(data), rtol=1e-7)


def test_aipw_integer_weights_equal_frequency_replication(data):
    res = aipw(data, SPEC_W, inference="iid")
    rep = data.loc[data.index.repeat(data["s"].astype(int))].reset_index(drop=True)
    plain = aipw(rep, SPEC, inference="iid")
    assert res.estimates["ATT"] == pytest.approx(plain.estimates["ATT"], abs=TOL)
    # probability weights, not frequency weights: the variance counts each row once
    assert res.std_errors["ATT"] > plain.std_errors["ATT"]


def test_sampling_weight_errors(data):
    with pytest.warns(tne.errors.DroppedObservationsWarning, match="left unmatched"):
        m = tne.match(data, SPEC_W)
    with pytest.raises(SpecError, match="built with sampling weights"):
        att(data, SPEC, m)
    with pytest.raises(SpecError, match="built with sampling weights"):
        tne.balance(data, SPEC, weights=m)
    with pytest.raises(SpecError, match="built without sampling weights"):
        tne.balance(data, SPEC_W, weights=tne.weightit(data, SPEC))
    with pytest.raises(SpecError, match="Abadie-Imbens standard error is not defined"):
        att(data, SPEC_W, m, se="abadie_imbens")
    with pytest.raises(SpecError, match="differ from the sampling weights"):
        att(data.assign(s=data["s"] + 1), SPEC_W, m, se="cluster")
    with pytest.raises(SpecError, match="method='cbps'\\) does not take sampling"):
        tne.weightit(data, SPEC_W, method="cbps")
    with pytest.raises(DataError, match="2 zero sampling weights"):
        tne.weightit(
            data.assign(s=np.r_[0.0, 0.0, data["s"][2:]]), SPEC_W, method="ebal"
        )
    with pytest.raises(DataError, match="must be non-negative"):
        tne.match(data.assign(s=-data["s"]), SPEC_W)
