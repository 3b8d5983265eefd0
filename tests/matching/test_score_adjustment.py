"""Abadie & Imbens (2016) standard errors for matching on an estimated score.

* the array function against a hand implementation with explicit loops over
  units (nearest neighbours on the score found by full sorting) on a small
  example, to 1e-10;
* slow Monte Carlo: in a design with heterogeneous effects, the adjusted
  standard error matches the sampling SD of the matching ATT (within
  ``SD_RTOL``), which the unadjusted one does not need to.

No printed ``teffects psmatch`` result on a dataset available here was found,
so there is no external number to reproduce.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tne_eval as tne
from tne_eval.errors import SpecError
from tne_eval.matching import att
from tne_eval.matching._effects import score_adjustment_att

#: Loops and vectorised code add the same numbers in other orders.
HAND_TOL = 1e-10
#: Mean adjusted SE / Monte Carlo SD of the estimate within 1 +- SD_RTOL
#: (300 draws: the SD itself is known to about 4%).
SD_RTOL = 0.12


def _hand(y, d, design, p, f, att_value, L):
    n, k = design.shape
    n1 = d.sum()
    c = np.zeros(k)
    g = np.zeros(k)
    info = np.zeros((k, k))
    for i in range(n):
        stats = {}
        for w in (1, 0):
            pool = [j for j in sorted(range(n), key=lambda j: (p[j], j)) if d[j] == w]
            gaps = [abs(p[j] - p[i]) for j in pool]
            near = [pool[r] for r in np.argsort(gaps, kind="stable")[:L]]
            xs = design[near]
            ys = y[near]
            cov = np.zeros(k)
            for a in range(L):
                cov += (xs[a] - xs.mean(axis=0)) * (ys[a] - ys.mean())
            stats[w] = (cov / (L - 1), ys.mean())
        c += f[i] * (stats[1][0] + p[i] / (1 - p[i]) * stats[0][0])
        g += design[i] * f[i] * (stats[1][1] - stats[0][1] - att_value)
        info += f[i] ** 2 / (p[i] * (1 - p[i])) * np.outer(design[i], design[i])
    c /= n1
    g /= n1
    info /= n
    var = (-c @ np.linalg.solve(info, c) + g @ np.linalg.solve(info, g)) / n
    return var, c, g, info


def test_score_adjustment_equals_hand_loops():
    rng = np.random.default_rng(5)
    n = 40
    x = rng.normal(size=(n, 2))
    design = np.column_stack([np.ones(n), x])
    lp = design @ np.array([-0.3, 0.9, -0.5])
    p = 1 / (1 + np.exp(-lp))
    d = rng.random(n) < p
    y = x[:, 0] + d * (1 + x[:, 1]) + rng.normal(size=n)
    f = p * (1 - p)
    got = score_adjustment_att(y, d, design, p, f, 0.7, n_neighbors=3)
    var, c, g, info = _hand(y, d.astype(int), design, p, f, 0.7, 3)
    np.testing.assert_allclose(got.c, c, rtol=HAND_TOL, atol=HAND_TOL)
    np.testing.assert_allclose(got.g, g, rtol=HAND_TOL, atol=HAND_TOL)
    np.testing.assert_allclose(got.information, info, rtol=HAND_TOL)
    assert got.variance == pytest.approx(var, rel=HAND_TOL)


def _draw(rng, n):
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    p = 1 / (1 + np.exp(-(-0.7 + 0.8 * x1 + 0.6 * x2)))
    d = (rng.random(n) < p).astype(int)
    y = x1 + 2 * x2 + d * (1 + 2 * x1) + rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "d": d, "y": y})


SPEC = tne.CrossSectionSpec(outcome="y", treatment="d", covariates=("x1", "x2"))


def test_att_with_score_adjustment():
    df = _draw(np.random.default_rng(1), 600)
    m = tne.match(df, SPEC, replace=True)
    plain = att(df, SPEC, m)
    adj = att(df, SPEC, m, score_adjustment=True)
    assert adj.estimates["ATT"] == pytest.approx(plain.estimates["ATT"], abs=1e-12)
    assert adj.std_errors["ATT"] != pytest.approx(plain.std_errors["ATT"], rel=1e-3)
    assert any("Abadie-Imbens (2016)" in n for n in adj.notes)
    probit = tne.match(df, SPEC, replace=True, distance="probit")
    assert np.isfinite(att(df, SPEC, probit, score_adjustment=True).std_errors["ATT"])


def test_score_adjustment_errors():
    df = _draw(np.random.default_rng(2), 300)
    with pytest.raises(SpecError, match="derived for nearest-neighbour matching"):
        att(df, SPEC, tne.match(df, SPEC), score_adjustment=True)
    with pytest.raises(SpecError, match="derived for nearest-neighbour matching"):
        att(
            df,
            SPEC,
            tne.match(df, SPEC, replace=True, distance="mahalanobis"),
            score_adjustment=True,
        )
    m = tne.match(df, SPEC, replace=True)
    with pytest.raises(SpecError, match="bias_correct=False"):
        att(df, SPEC, m, score_adjustment=True, bias_correct=True)
    with pytest.raises(SpecError, match="use se='abadie_imbens'"):
        att(df, SPEC, m, score_adjustment=True, se="cluster")


@pytest.mark.slow
def test_monte_carlo_adjusted_se_matches_sampling_sd():
    from tne_eval._parallel import parallel_map, spawn_generators

    def one(rng):
        df = _draw(rng, 1000)
        m = tne.match(df, SPEC, replace=True)
        res = att(df, SPEC, m, score_adjustment=True)
        return res.estimates["ATT"], res.std_errors["ATT"]

    out = np.array(parallel_map(one, spawn_generators(20261202, 300), progress=False))
    sd = out[:, 0].std(ddof=1)
    assert out[:, 1].mean() / sd == pytest.approx(1.0, abs=SD_RTOL)
