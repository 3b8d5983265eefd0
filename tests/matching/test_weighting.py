"""IPW and entropy balancing against the numbers cobalt 5.0.0 prints for LaLonde."""

from __future__ import annotations

import numpy as np
import pytest

from tests.matching import lalonde
from tne_eval.errors import IdentificationError
from tne_eval.matching._balance import balance_table, kish_ess
from tne_eval.matching._propensity import fit_propensity
from tne_eval.matching._weighting import cbps, entropy_balance, ipw_weights

#: cobalt prints 4 decimals (ESS: 2 or 1); half a unit of the last one.
PRINT_TOL = 0.5e-4 + 1e-9
#: Entropy balancing reaches its moments to this many control SDs.
EB_GAP = 1e-8


def test_ipw_att_matches_cobalt_vignette():
    """cobalt vignette: WeightIt::weightit(treat ~ age + educ + race + re74 + re75,
    method = "glm", estimand = "ATT"); bal.tab(W.out)."""
    d = lalonde.treat()
    ps = fit_propensity(
        d, lalonde.columns(("age", "educ", "racehispan", "racewhite", "re74", "re75"))
    ).score
    w = ipw_weights(d, ps, estimand="ATT")
    rows = ("age", "educ", "raceblack", "racehispan", "racewhite", "re74", "re75")
    x = np.column_stack([ps, lalonde.columns(rows)])
    bt = balance_table(x, d, w, binary="raw")
    ref = lalonde.printed()["cobalt_bal_tab_ipw_att"]
    np.testing.assert_allclose(bt.smd, ref["Diff.Adj"], atol=PRINT_TOL)
    assert round(kish_ess(w[d == 0]), 1) == ref["Effective sample sizes"]["Adjusted"][0]
    # normalised: each group sums to its size; weighted means unchanged
    assert w[d == 0].sum() == pytest.approx((d == 0).sum())
    raw = ipw_weights(d, ps, estimand="ATT", normalize=False)
    np.testing.assert_allclose(
        raw[d == 0] / raw[d == 0].sum(), w[d == 0] / w[d == 0].sum()
    )


def test_ipw_ate_weights():
    d = np.array([1, 1, 0, 0])
    e = np.array([0.5, 0.25, 0.5, 0.75])
    w = ipw_weights(d, e, estimand="ATE", normalize=False)
    np.testing.assert_allclose(w, [2.0, 4.0, 2.0, 4.0])
    w = ipw_weights(d, e, estimand="ATC", normalize=False)
    np.testing.assert_allclose(w, [1.0, 3.0, 1.0, 1.0])


def test_entropy_balancing_matches_cobalt_ebalance_example():
    """cobalt ?bal.tab.ebalance: ebal::ebalance(treat, splitfactor(covs)):
    all differences print as 0 and the control ESS as 98.46."""
    d = lalonde.treat()
    x = lalonde.columns()  # all three race levels: collinear, handled
    eb = entropy_balance(d, x)
    assert eb.max_gap < EB_GAP
    ref = lalonde.printed()["cobalt_bal_tab_ebalance"]
    assert round(eb.ess_control, 2) == ref["Effective sample sizes"]["Adjusted"][0]
    assert eb.kept.sum() == x.shape[1] - 1
    bt = balance_table(x, d, eb.weights, binary="raw")
    np.testing.assert_allclose(
        bt.mean_treated,
        bt.mean_control,
        rtol=0,
        atol=1e-6 * np.abs(bt.mean_treated).max(),
    )
    assert eb.weights[d == 0].sum() == pytest.approx((d == 0).sum())
    assert np.all(eb.weights[d == 0] > 0)


def test_entropy_balancing_base_weights_and_second_moments():
    d = lalonde.treat()
    x = lalonde.columns(("age", "educ", "re74", "re75"))
    moments = np.column_stack([x, x[:, :2] ** 2])
    q = np.where(d == 0, 1.0 + (np.arange(d.shape[0]) % 3), 1.0)
    eb = entropy_balance(d, moments, base_weights=q)
    assert eb.max_gap < EB_GAP
    t, c = d == 1, d == 0
    np.testing.assert_allclose(
        eb.weights[c] @ moments[c] / eb.weights[c].sum(),
        moments[t].mean(axis=0),
        rtol=1e-7,
    )


def test_entropy_balancing_target_outside_range_is_infeasible():
    d = lalonde.treat()
    x = lalonde.columns(("age", "educ"))
    with pytest.raises(
        IdentificationError, match=r"target of age \(99\) is not strictly inside"
    ):
        entropy_balance(d, x, target=np.array([99.0, 10.0]), columns=["age", "educ"])


def test_entropy_balancing_outside_convex_hull_is_infeasible():
    """Each target inside its own range, jointly outside the controls' hull."""
    d = np.array([1, 0, 0, 0, 0])
    x = np.array([[0.9, 0.9], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.5, 0.5]])
    with pytest.raises(IdentificationError, match="convex hull"):
        entropy_balance(d, x)


def test_cbps_att_is_entropy_balancing_on_the_means():
    """Just-identified CBPS (logit, ATT) balances the means exactly, and its
    control weights are the entropy-balancing weights (Zhao and Percival 2017)."""
    d = lalonde.treat()
    x = lalonde.ps_design()
    cb = cbps(d, x, estimand="ATT")
    t, c = d == 1, d == 0
    np.testing.assert_allclose(
        cb.weights[c] @ x[c] / cb.weights[c].sum(), x[t].mean(axis=0), rtol=1e-8
    )
    eb = entropy_balance(d, x)
    np.testing.assert_allclose(cb.weights[c], eb.weights[c], rtol=1e-6)
    lin = np.column_stack([np.ones(d.shape[0]), x]) @ cb.params
    np.testing.assert_allclose(cb.score, 1 / (1 + np.exp(-lin)), rtol=1e-10)


def test_cbps_ate_balances_both_groups_to_the_sample():
    d = lalonde.treat()
    x = lalonde.ps_design()
    cb = cbps(d, x, estimand="ATE")
    t, c = d == 1, d == 0
    raw = ipw_weights(d, cb.score, estimand="ATE", normalize=False)
    # sum (D/e - (1-D)/(1-e)) x = 0 and the intercept: Horvitz-Thompson totals agree
    np.testing.assert_allclose(raw[t] @ x[t], raw[c] @ x[c], rtol=1e-8)
    assert raw[t].sum() == pytest.approx(raw[c].sum(), rel=1e-10)
