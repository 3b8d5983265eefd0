"""Monte Carlo coverage of the 95% intervals of att() and aipw() (slow)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from tne_eval.matching import CrossSectionSpec, aipw, att, match, weightit

REPS = 300
N = 600
#: Binomial(300, 0.95) has SD 1.3 points: the band allows about 3 SDs either side.
#: The influence function of att() after weighting holds the weights fixed, which
#: ignores that balancing on covariates that predict the outcome reduces the
#: variance: those intervals are conservative, so only a lower bound is asked.
BANDS = {"ai_bc": (0.91, 0.99), "aipw": (0.91, 0.99), "ebal": (0.91, 1.0)}
SPEC = CrossSectionSpec(outcome="y", treatment="d", covariates=("x1", "x2"))


def _draw(gen: np.random.Generator) -> pd.DataFrame:
    x = gen.normal(size=(N, 2))
    e = 1 / (1 + np.exp(-(-0.8 + 0.8 * x[:, 0] - 0.4 * x[:, 1])))
    d = (gen.random(N) < e).astype(int)
    y = 1.0 + x[:, 0] + 0.5 * x[:, 1] ** 2 + 2.0 * d + gen.normal(size=N)
    return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "d": d, "y": y})


@pytest.mark.slow
def test_interval_coverage():
    gen = np.random.default_rng(20261201)
    hits = {"ai_bc": 0, "aipw": 0, "ebal": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(REPS):
            df = _draw(gen)
            fits = {
                "ai_bc": att(
                    df, SPEC, match(df, SPEC, replace=True), bias_correct=True
                ),
                "aipw": aipw(df, SPEC),
                "ebal": att(df, SPEC, weightit(df, SPEC, method="ebal")),
            }
            for key, res in fits.items():
                ci = res.conf_int().iloc[0]
                hits[key] += int(ci["conf_low"] <= 2.0 <= ci["conf_high"])
    coverage = {key: h / REPS for key, h in hits.items()}
    for key, (low, high) in BANDS.items():
        assert low <= coverage[key] <= high, coverage
