"""Seeded Monte Carlo: with few treated clusters, CR1 under-covers; IF-CR2 + Satterthwaite does not.

A DiD on first differences with 30 departments, 3 of them treated; units nested in
departments, department shocks and heteroskedastic unit noise. The estimator is the
difference of the treated and control mean changes written as influence functions
of the two group means (the form of a 2x2 Callaway-Sant'Anna cell), so the
influence-function variances of tne_eval.inference.small_sample apply.

Observed with the seed below (1,000 replications, nominal 0.95): CR1 with t(G-1)
0.791, IF-CR3 with t(G-1) 0.891, IF-CR2 with t(G-1) 0.842, IF-CR2 with
Satterthwaite df 0.977 (median df 2.1).
"""

import numpy as np
import pytest
from scipy import stats

from tne_eval.inference.influence import influence_vcov
from tne_eval.inference.small_sample import (
    group_mean_hessian,
    influence_cr_vcov,
    influence_satterthwaite_df,
)

REPS = 1000
# Coverage estimated from REPS replications: sd <= sqrt(.25 / 1000) = 0.016; the
# bands below are 2.5 sd around the claims (CR1 well below 0.95; CR2 + Satterthwaite
# within 0.04 of 0.95).
COVERAGE_BAND = 0.04


def simulate(rng, n_clusters=30, n_treated=3):
    sizes = rng.integers(5, 40, size=n_clusters)
    cl = np.repeat(np.arange(n_clusters), sizes)
    treated = (cl < n_treated).astype(int)
    shock = rng.normal(size=n_clusters)[cl]
    noise = rng.normal(size=cl.size) * (1 + treated)
    dy = 0.0 * treated + shock + noise  # true effect 0
    return dy, treated, cl


def estimate(dy, treated, cl):
    n = dy.size
    mu = np.array([dy[treated == 0].mean(), dy[treated == 1].mean()])
    psi = np.zeros((n, 2))
    for j in range(2):
        psi[treated == j, j] = n * (dy[treated == j] - mu[j]) / np.sum(treated == j)
    return mu, psi


@pytest.mark.slow
def test_if_cr2_satterthwaite_fixes_cr1_undercoverage():
    rng = np.random.default_rng(20261201)
    c = np.array([-1.0, 1.0])
    covered = {"CR1": 0, "CR2": 0, "CR3": 0}
    df_seen = []
    for _ in range(REPS):
        dy, treated, cl = simulate(rng)
        mu, psi = estimate(dy, treated, cl)
        g = cl.max() + 1
        att = c @ mu
        v1 = c @ influence_vcov(psi, cl, g, small_sample=True) @ c
        covered["CR1"] += abs(att) <= stats.t.ppf(0.975, g - 1) * np.sqrt(v1)
        hess = group_mean_hessian(np.ones(dy.size), treated, cl)
        v2 = c @ influence_cr_vcov(psi, cl, hessian=hess, kind="CR2") @ c
        df2 = influence_satterthwaite_df(psi, cl, hessian=hess, contrast=c)[0]
        df_seen.append(df2)
        covered["CR2"] += abs(att) <= stats.t.ppf(0.975, df2) * np.sqrt(v2)
        v3 = c @ influence_cr_vcov(psi, cl, hessian=hess, kind="CR3") @ c
        covered["CR3"] += abs(att) <= stats.t.ppf(0.975, g - 1) * np.sqrt(v3)
    cov = {k: v / REPS for k, v in covered.items()}
    assert cov["CR1"] < 0.95 - COVERAGE_BAND, cov
    assert abs(cov["CR2"] - 0.95) < COVERAGE_BAND, (cov, np.median(df_seen))
    assert cov["CR3"] > cov["CR1"], cov
    assert np.median(df_seen) < 5  # three treated clusters: the df say so
