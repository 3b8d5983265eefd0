"""Adjusted p-values: statsmodels parity, a published example, Romano-Wolf by brute force.

Bonferroni, Holm and Benjamini-Hochberg are checked against
``statsmodels.stats.multitest.multipletests``; Romano-Wolf against a step-down
written here independently, hypothesis by hypothesis, and against its defining
properties; a seeded Monte Carlo checks that it controls the family-wise error
rate at 5 %.
"""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from tne_eval.errors import DataError
from tne_eval.inference.bootstrap import multiplier_bootstrap
from tne_eval.inference.multiple_testing import (
    benjamini_hochberg,
    bonferroni,
    holm,
    romano_wolf,
)

#: Same closed-form arithmetic in both implementations: rounding only.
ATOL_ADJUST = 1e-12
#: Binomial Monte Carlo error of a 5 % rejection rate: three standard errors.
MC_SIGMAS = 3.0

SM_NAME = {bonferroni: "bonferroni", holm: "holm", benjamini_hochberg: "fdr_bh"}


def _pvalue_sets():
    gen = np.random.default_rng(11)
    sets = [gen.uniform(size=m) for m in (1, 2, 5, 17, 60)]
    sets.append(gen.uniform(size=20) ** 4)  # many small p-values
    sets.append(np.array([0.01, 0.01, 0.04, 0.04, 0.04, 0.5, 1.0, 0.0]))  # ties, 0, 1
    return sets


@pytest.mark.parametrize("fn", [bonferroni, holm, benjamini_hochberg])
@pytest.mark.parametrize("p", _pvalue_sets(), ids=lambda p: f"m={p.size}")
def test_adjustments_match_statsmodels(fn, p):
    expected = multipletests(p, alpha=0.05, method=SM_NAME[fn])[1]
    np.testing.assert_allclose(fn(p), expected, rtol=0, atol=ATOL_ADJUST)


def test_benjamini_hochberg_published_example():
    # Benjamini & Hochberg (1995, section 3.2): 15 p-values; at q = 0.05 the
    # step-up procedure rejects the four smallest, Bonferroni the three smallest.
    p = np.array(
        [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459,
         0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000]
    )  # fmt: skip
    assert (benjamini_hochberg(p) <= 0.05).sum() == 4
    assert (bonferroni(p) <= 0.05).sum() == 3
    assert (holm(p) <= 0.05).sum() == 3


@pytest.mark.parametrize("bad", [[0.1, np.nan], [0.2, 1.5], [-0.1], []])
def test_invalid_pvalues_raise(bad):
    with pytest.raises(DataError, match="p-value"):
        holm(bad)


# -- Romano-Wolf ------------------------------------------------------------------
def _brute_force_romano_wolf(t, draws):
    """Step-down written from the definition, one step and one draw at a time."""
    t = [abs(float(x)) for x in t]
    m, b = len(t), len(draws)
    order = sorted(range(m), key=lambda j: -t[j])  # ties: input order
    raw = []
    for s in range(m):
        remaining = order[s:]
        count = 0
        for row in draws:
            if max(abs(float(row[j])) for j in remaining) >= t[order[s]]:
                count += 1
        raw.append((count + 1) / (b + 1))
    adjusted = [0.0] * m
    running = 0.0
    for s, j in enumerate(order):
        running = max(running, raw[s])
        adjusted[j] = running
    return np.array(adjusted)


def _correlated_problem(gen, n=150, m=5, rho=0.6, effects=None, reps=299):
    cov = np.full((m, m), rho) + (1 - rho) * np.eye(m)
    y = gen.multivariate_normal(np.zeros(m), cov, size=n)
    if effects is not None:
        y = y + effects
    est = y.mean(axis=0)
    infl = y - est  # influence function of a mean
    boot = multiplier_bootstrap(infl, n, reps=reps, weights="rademacher", rng=gen)
    return est / boot.std_errors, boot.draws / boot.std_errors


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_romano_wolf_matches_brute_force(seed):
    gen = np.random.default_rng(seed)
    effects = np.array([0.0, 0.1, 0.25, 0.0, 0.3])
    t, null = _correlated_problem(gen, effects=effects, reps=199)
    adjusted, _ = romano_wolf(t, null)
    np.testing.assert_allclose(
        adjusted, _brute_force_romano_wolf(t, null), rtol=0, atol=ATOL_ADJUST
    )


def test_romano_wolf_with_tied_statistics_matches_brute_force():
    gen = np.random.default_rng(5)
    null = gen.normal(size=(99, 4))
    t = np.array([2.0, -2.0, 0.5, 2.0])  # ties in |t|
    adjusted, _ = romano_wolf(t, null)
    np.testing.assert_allclose(
        adjusted, _brute_force_romano_wolf(t, null), rtol=0, atol=ATOL_ADJUST
    )
    assert adjusted[0] == adjusted[1] == adjusted[3]


def test_romano_wolf_properties():
    gen = np.random.default_rng(8)
    t, null = _correlated_problem(
        gen, rho=0.8, effects=np.array([0.0, 0.05, 0.15, 0.2, 0.3]), reps=999
    )
    adjusted, single = romano_wolf(t, null)
    # never below the unadjusted bootstrap p-value; at most 1
    assert np.all(adjusted >= single - 1e-15)
    assert np.all(adjusted <= 1.0)
    # monotone along the step-down order (decreasing |t|)
    order = np.argsort(-np.abs(t), kind="stable")
    assert np.all(np.diff(adjusted[order]) >= 0)
    # with strongly correlated statistics, not above Holm on the same p-values,
    # and strictly below it somewhere
    h = holm(single)
    assert np.all(adjusted <= h + 1e-15)
    assert np.any(adjusted < h - 1e-3)


def test_romano_wolf_single_hypothesis_is_the_bootstrap_pvalue():
    gen = np.random.default_rng(4)
    null = gen.normal(size=(499, 1))
    adjusted, single = romano_wolf(np.array([1.7]), null)
    expected = (1 + (np.abs(null[:, 0]) >= 1.7).sum()) / 500
    assert adjusted[0] == pytest.approx(expected, abs=ATOL_ADJUST)
    assert single[0] == pytest.approx(expected, abs=ATOL_ADJUST)


def test_romano_wolf_duplicated_hypothesis_is_not_penalised():
    # a perfectly correlated copy adds no multiplicity: Romano-Wolf keeps the
    # p-value, Holm doubles it
    gen = np.random.default_rng(6)
    null = gen.normal(size=(499, 1))
    one, single = romano_wolf(np.array([2.1]), null)
    two, _ = romano_wolf(np.array([2.1, 2.1]), np.hstack([null, null]))
    np.testing.assert_allclose(two, [one[0], one[0]], rtol=0, atol=ATOL_ADJUST)
    assert holm(np.r_[single, single])[0] == pytest.approx(min(1, 2 * single[0]))


@pytest.mark.parametrize(
    ("t", "null", "match"),
    [
        (np.array([]), np.zeros((10, 0)), "non-empty"),
        (np.array([1.0, 2.0]), np.zeros((10, 3)), "shape"),
        (np.array([np.nan, 2.0]), np.zeros((10, 2)), "not finite"),
    ],
)
def test_romano_wolf_invalid_input_raises(t, null, match):
    with pytest.raises(DataError, match=match):
        romano_wolf(t, null)


def _fwer(n_sims, reps, seed, m=5, rho=0.5, n=120):
    gen = np.random.default_rng(seed)
    rw = raw = 0
    for _ in range(n_sims):
        t, null = _correlated_problem(gen, n=n, m=m, rho=rho, reps=reps)
        adjusted, single = romano_wolf(t, null)
        rw += bool((adjusted <= 0.05).any())
        raw += bool((single <= 0.05).any())
    return rw / n_sims, raw / n_sims


def test_romano_wolf_controls_fwer_small():
    """Reduced Monte Carlo (seconds): all nulls true, 5 correlated outcomes."""
    n_sims = 200
    rw, raw = _fwer(n_sims, reps=199, seed=20240501)
    bound = 0.05 + MC_SIGMAS * np.sqrt(0.05 * 0.95 / n_sims)
    assert rw <= bound
    # the same draws without adjustment reject far too often: the check can fail
    assert raw > 0.12


@pytest.mark.slow
def test_romano_wolf_controls_fwer():
    """Family-wise error of 5 correlated true nulls at 5 %: within MC error."""
    n_sims = 2000
    rw, raw = _fwer(n_sims, reps=499, seed=7)
    half = MC_SIGMAS * np.sqrt(0.05 * 0.95 / n_sims)
    assert abs(rw - 0.05) <= half
    assert raw > 0.12
