"""Propensity scores, common support (MatchIt's discard) and trimming."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from tests.matching import lalonde
from tne_eval.errors import IdentificationError
from tne_eval.matching._propensity import (
    common_support,
    crump_trim,
    fit_propensity,
    fixed_trim,
)

#: IRLS fits against each other (same algorithm, different stopping): iterative.
RTOL_FIT = 1e-7


def test_logit_and_probit_scores_and_linear_predictor():
    d = lalonde.treat()
    x = lalonde.ps_design()
    for link, sm_link in (
        ("logit", sm.families.links.Logit()),
        ("probit", sm.families.links.Probit()),
    ):
        fit = fit_propensity(d, x, link=link)
        ref = sm.GLM(
            d, sm.add_constant(x), family=sm.families.Binomial(link=sm_link)
        ).fit(tol=1e-12)
        np.testing.assert_allclose(fit.params, ref.params, rtol=RTOL_FIT)
        np.testing.assert_allclose(
            fit.score, sm_link.inverse(fit.linear_predictor), rtol=1e-12
        )
    # MatchIt prints the mean scores 0.5774 / 0.1822 (logit), 0.5773 / 0.1817 (probit)
    logit = fit_propensity(d, x).score
    assert round(logit[d == 1].mean(), 4) == 0.5774
    assert round(logit[d == 0].mean(), 4) == 0.1822


def test_sampling_weights_scale_the_likelihood():
    d = lalonde.treat()
    x = lalonde.ps_design()
    w = np.where(np.arange(d.shape[0]) % 2 == 0, 2.0, 1.0)
    fit = fit_propensity(d, x, weights=w)
    dup = np.r_[np.arange(d.shape[0]), np.flatnonzero(w == 2.0)]
    ref = fit_propensity(d[dup], x[dup])
    np.testing.assert_allclose(fit.params, ref.params, rtol=RTOL_FIT)


def test_identical_rows_get_identical_scores():
    d = lalonde.treat()
    x = lalonde.ps_design()
    for link in ("logit", "probit"):
        s = fit_propensity(d, x, link=link).score
        assert np.unique(s).shape[0] == np.unique(x, axis=0).shape[0]


def test_common_support_bounds_as_matchit():
    d = np.array([1, 1, 1, 0, 0, 0, 0])
    s = np.array([0.30, 0.50, 0.90, 0.10, 0.30, 0.60, 0.80])
    both = common_support(s, d, "both")
    assert (both.lower, both.upper) == (0.30, 0.80)
    np.testing.assert_array_equal(
        both.discarded, [False, False, True, True, False, False, False]
    )
    assert (both.n_discarded_treated, both.n_discarded_control) == (1, 1)
    ctrl = common_support(s, d, "control")
    np.testing.assert_array_equal(
        ctrl.discarded, [False, False, False, True, False, False, False]
    )
    trt = common_support(s, d, "treated")
    np.testing.assert_array_equal(
        trt.discarded, [False, False, True, False, False, False, False]
    )
    assert not common_support(s, d, "none").discarded.any()


def test_common_support_lalonde_discard_control():
    """MatchIt's s.out1 (discard = "control"): 557 units remain, i.e. 57 controls dropped."""
    d = lalonde.treat()
    s = fit_propensity(d, lalonde.ps_design()).score
    cs = common_support(s, d, "control")
    assert (cs.n_discarded_treated, cs.n_discarded_control) == (0, 57)


def test_no_overlap_is_an_error():
    d = np.array([1, 1, 0, 0])
    s = np.array([0.8, 0.9, 0.1, 0.2])
    with pytest.raises(
        IdentificationError, match=r"No overlap: treated scores lie in \[0\.8, 0\.9\]"
    ):
        common_support(s, d, "both")


def test_crump_alpha_solves_the_condition():
    gen = np.random.default_rng(0)
    e = 1 / (1 + np.exp(-gen.normal(scale=2.5, size=20_000)))
    d = (gen.uniform(size=e.shape[0]) < e).astype(int)
    tr = crump_trim(e, d)
    g = 1 / (e * (1 - e))
    gamma = 1 / (tr.alpha * (1 - tr.alpha))
    assert gamma == pytest.approx(2 * g[g <= gamma].mean(), rel=1e-9)
    assert 0.02 < tr.alpha < 0.2  # Crump et al.: close to 0.1 in most designs
    assert tr.n_dropped_treated + tr.n_dropped_control == int((~tr.keep).sum()) > 0


def test_crump_no_trimming_with_good_overlap():
    gen = np.random.default_rng(1)
    e = gen.uniform(0.3, 0.7, size=1000)
    d = (gen.uniform(size=1000) < e).astype(int)
    tr = crump_trim(e, d)
    assert tr.alpha == 0.0 and tr.keep.all()


def test_fixed_trim_counts():
    d = np.array([1, 1, 0, 0, 0])
    e = np.array([0.05, 0.5, 0.5, 0.95, 0.2])
    tr = fixed_trim(e, d, 0.1)
    np.testing.assert_array_equal(tr.keep, [False, True, True, False, True])
    assert (tr.n_dropped_treated, tr.n_dropped_control) == (1, 1)
