"""ATT after matching: Abadie-Imbens estimator, bias correction, AIPW."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.matching import lalonde
from tne_eval.matching._effects import (
    abadie_imbens_att,
    aipw_att,
    conditional_variance,
    weighted_att,
)
from tne_eval.matching._nearest import Matches, matching_weights, nearest_scalar
from tne_eval.matching._propensity import fit_propensity
from tne_eval.matching._weighting import ipw_weights

#: causalinference and we compute the same sums in a different order.
RTOL_POINT = 1e-10
CI_REF = json.loads(
    (lalonde.REPO / "tests/reference/causalinference/results.json").read_text()
)
CI_COVARIATES = (
    "age",
    "educ",
    "raceblack",
    "racehispan",
    "married",
    "nodegree",
    "re74",
    "re75",
)


def _ci_matches() -> Matches:
    d = lalonde.treat()
    controls = np.flatnonzero(d == 0)
    rows = CI_REF["matches_of_treated"]
    mm = np.full((len(rows), max(len(r) for r in rows)), -1)
    for i, r in enumerate(rows):
        mm[i, : len(r)] = controls[r]
    return Matches(
        treated=np.flatnonzero(d == 1),
        match_matrix=mm,
        replace=True,
        n_unmatched_treated=0,
    )


def test_matching_att_matches_causalinference():
    d = lalonde.treat()
    y = lalonde.frame()["re78"].to_numpy(float)
    x = lalonde.columns(CI_COVARIATES)
    m = _ci_matches()
    plain = abadie_imbens_att(y, d, m, x / x.std(axis=0))
    assert plain.att == pytest.approx(CI_REF["keys"]["plain"]["att"], rel=RTOL_POINT)
    bc = abadie_imbens_att(
        y, d, m, x / x.std(axis=0), x_bias=x, bias_weights="appearances"
    )
    assert bc.att == pytest.approx(
        CI_REF["keys"]["bias_adjusted"]["att"], rel=RTOL_POINT
    )
    assert bc.bias_corrected and not plain.bias_corrected
    # the plain matching ATT is the weighted difference in means with MatchIt's weights
    w, _ = matching_weights(d, m)
    assert weighted_att(y, d, w) == pytest.approx(plain.att, rel=1e-12)


def test_bias_correction_removes_linear_bias_exactly():
    """Y(0) linear in X, constant effect, no noise: the corrected estimate is exact."""
    gen = np.random.default_rng(3)
    n = 400
    x = gen.normal(size=(n, 2))
    d = (gen.uniform(size=n) < 1 / (1 + np.exp(-x[:, 0]))).astype(int)
    y = 1.0 + x @ np.array([2.0, -1.0]) + 3.0 * d
    ps = fit_propensity(d, x).score
    m = nearest_scalar(d, ps, replace=True)
    plain = abadie_imbens_att(y, d, m, x)
    bc = abadie_imbens_att(y, d, m, x, x_bias=x)
    assert bc.att == pytest.approx(3.0, abs=1e-10)
    assert abs(plain.att - 3.0) > 1e-3


def test_abadie_imbens_variance_by_hand():
    """Tiny case: the formula written out, M = 1 with replacement."""
    d = np.array([1, 1, 0, 0, 0, 0])
    y = np.array([5.0, 7.0, 1.0, 2.0, 4.0, 3.0])
    z = np.array([[0.0], [1.0], [0.1], [0.9], [1.1], [3.0]])
    m = Matches(
        treated=np.array([0, 1]),
        match_matrix=np.array([[2], [3]]),
        replace=True,
        n_unmatched_treated=0,
    )
    res = abadie_imbens_att(y, d, m, z, n_neighbors=1)
    unit = np.array([5.0 - 1.0, 7.0 - 2.0])
    att = unit.mean()
    s2 = conditional_variance(y, d, z, n_neighbors=1)
    # each control used once: k = 1, k^2 - sum a^2 = 0
    var_pop = ((unit - att) ** 2).sum() / 4
    var_sample = (s2[0] + s2[1] + s2[2] + s2[3]) / 4
    assert res.att == pytest.approx(att)
    assert res.se == pytest.approx(np.sqrt(var_pop))
    assert res.se_sample == pytest.approx(np.sqrt(var_sample))
    # sigma^2 with J = 1: 1/2 (Y_i - Y_nearest)^2 within the group
    assert s2[0] == pytest.approx(0.5 * (5.0 - 7.0) ** 2)
    assert s2[2] == pytest.approx(0.5 * (1.0 - 2.0) ** 2)  # nearest to 0.1 is 0.9


def test_reused_control_enters_the_variance():
    d = np.array([1, 1, 0, 0, 0])
    y = np.array([5.0, 7.0, 1.0, 2.0, 9.0])
    z = np.array([[0.0], [0.2], [0.1], [5.0], [6.0]])
    m = Matches(
        treated=np.array([0, 1]),
        match_matrix=np.array([[2], [2]]),
        replace=True,
        n_unmatched_treated=0,
    )
    res = abadie_imbens_att(y, d, m, z, n_neighbors=1)
    s2 = conditional_variance(y, d, z, n_neighbors=1)
    unit = np.array([4.0, 6.0])
    var_pop = (((unit - 5.0) ** 2).sum() + (2**2 - 2) * s2[2]) / 4
    assert res.se == pytest.approx(np.sqrt(var_pop))


def test_aipw_att_lalonde():
    """AIPW ATT on LaLonde, and its influence function's defining properties."""
    d = lalonde.treat()
    y = lalonde.frame()["re78"].to_numpy(float)
    x = lalonde.ps_design()
    res = aipw_att(y, d, x)
    assert abs(res.influence.mean()) < 1e-8 * np.abs(res.influence).max()
    assert res.se == pytest.approx(res.influence.std() / np.sqrt(d.shape[0]))
    # plugs into the library's influence-function inference
    from tne_eval.inference.influence import influence_vcov

    assert np.sqrt(influence_vcov(res.influence[:, None])[0, 0]) == pytest.approx(
        res.se, rel=1e-12
    )
    # with mu0 = 0 the AIPW ATT is the Horvitz-Thompson ATT-weighted difference
    zero = aipw_att(y, d, x, score=res.score, mu0=np.zeros_like(y))
    w = ipw_weights(d, res.score, normalize=False)
    t, c = d == 1, d == 0
    ht = y[t].mean() - (w[c] @ y[c]) / t.sum()
    assert zero.att == pytest.approx(ht, rel=RTOL_POINT)


def test_aipw_double_robustness():
    """Right outcome model, wrong score (and vice versa): still unbiased (large n)."""
    gen = np.random.default_rng(11)
    n = 200_000
    x = gen.normal(size=(n, 1))
    e = 1 / (1 + np.exp(-(0.5 * x[:, 0])))
    d = (gen.uniform(size=n) < e).astype(int)
    y = 2.0 * x[:, 0] + 1.5 * d + gen.normal(size=n)
    wrong_score = np.full(n, d.mean())
    right_mu = aipw_att(y, d, x, score=wrong_score)
    assert right_mu.att == pytest.approx(1.5, abs=4 * right_mu.se)
    wrong_mu = aipw_att(y, d, x, mu0=np.zeros(n))
    assert wrong_mu.att == pytest.approx(1.5, abs=4 * wrong_mu.se)
