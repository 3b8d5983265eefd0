"""CR2, CR3 and the wild cluster bootstrap of TWFE coefficients, through the registry.

The references are the same computations on the explicit-dummies design (unit and
period dummies as columns, nothing absorbed): the registry's absorbed-unit design
must give the same covariance, degrees of freedom and bootstrap p-values. The
array-level methods themselves are checked against brute-force formulas,
clubSandwich's published numbers, pyfixest and wildboottest in
``tests/inference/test_small_sample.py`` and ``tests/inference/test_wild.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import tne_eval as tne
from tne_eval.inference import small_sample, wild

#: The same least-squares algebra on two parametrisations of one model.
RTOL_SAME_MODEL = 1e-8


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(12)
    n, years = 60, np.arange(2015, 2021)
    g = rng.choice([2018, 2019, 0], size=n, p=[0.25, 0.25, 0.5])
    df = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n), years.size),
            "year": np.tile(years, n),
            "g": np.repeat(g, years.size),
            "cl": np.repeat(np.arange(n) % 12, years.size),
            "x": rng.normal(size=n * years.size),
        }
    )
    df["y"] = (
        0.5 * df.x
        + np.repeat(rng.normal(size=n), years.size)
        + 1.5 * ((df.g > 0) & (df.year >= df.g))
        + rng.normal(size=len(df))
    )
    return df


SPEC = tne.PanelSpec(
    unit="unit", time="year", outcome="y", cohort="g", cluster="cl", covariates=("x",)
)


def _dummies_design(df):
    d = ((df.g > 0) & (df.year >= df.g)).astype(float).to_numpy()
    units = pd.get_dummies(df["unit"], dtype=float).to_numpy()
    years = pd.get_dummies(df["year"], dtype=float).to_numpy()[:, 1:]
    x = np.column_stack([d, df["x"].to_numpy(), units, years])
    beta, *_ = np.linalg.lstsq(x, df["y"].to_numpy(), rcond=None)
    return x, df["y"].to_numpy(), df["y"].to_numpy() - x @ beta, df["cl"].to_numpy()


@pytest.fixture(scope="module")
def fit(panel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tne.TneEvalWarning)
        return tne.twfe(panel, SPEC)


@pytest.mark.parametrize("kind", ["CR2", "CR3"])
def test_twfe_cr2_cr3_equal_the_explicit_dummies_computation(panel, fit, kind):
    res = fit.with_inference(tne.CR2() if kind == "CR2" else tne.CR3())
    x, _, e, cl = _dummies_design(panel)
    if kind == "CR2":
        ref = small_sample.cr2_vcov(x, e, cluster=cl)[:2, :2]
    else:
        # Leaving a cluster out leaves its unit dummies empty: the jackknife of the
        # explicit design is not defined, so the reference absorbs the unit effects
        # by pandas demeaning (the registry demeans its own way, with the weights).
        keep = [0, 1, *range(2 + 60, x.shape[1])]
        xu = (
            x[:, keep]
            - pd.DataFrame(x[:, keep])
            .groupby(panel["unit"].to_numpy())
            .transform("mean")
            .to_numpy()
        )
        ref = small_sample.cr3_vcov(
            xu, e, cluster=cl, absorbed=panel["unit"].to_numpy()
        )[:2, :2]
    np.testing.assert_allclose(res.vcov.to_numpy(), ref[:1, :1], rtol=RTOL_SAME_MODEL)
    np.testing.assert_allclose(
        res.covariate_table["std_error"].to_numpy(),
        np.sqrt(ref[1, 1]),
        rtol=RTOL_SAME_MODEL,
    )
    if kind == "CR2":
        df = small_sample.satterthwaite_df(
            x, e, cluster=cl, contrast=np.eye(x.shape[1])[:2]
        )
        np.testing.assert_allclose(res.dof, df, rtol=RTOL_SAME_MODEL)
        assert "satterthwaite df by term" in res.summary().as_text()
    else:
        assert res.dof == 11
    # intervals use the t quantile of each term's degrees of freedom
    from scipy import stats

    half = (res.conf_int()["conf_high"] - res.estimates).to_numpy()
    dof = np.atleast_1d(res.dof)[0]
    np.testing.assert_allclose(
        half, stats.t.ppf(0.975, dof) * res.std_errors.to_numpy(), rtol=1e-12
    )


def test_twfe_wild_bootstrap_equals_the_explicit_dummies_bootstrap(panel, fit):
    inf = tne.WildBootstrap(reps=999, weights="webb", seed=5)
    res = fit.with_inference(inf)
    x, y, _, cl = _dummies_design(panel)
    ref = wild.wild_cluster_bootstrap(
        x,
        y,
        cluster=cl,
        contrast=np.eye(x.shape[1])[0],
        weight_type="webb",
        reps=999,
        seed=5,
    )
    assert float(res.pvalues["D"]) == pytest.approx(ref.p_value, abs=1e-12)
    low, high = ref.conf_int
    ci = res.conf_int().loc["D"]
    assert ci["conf_low"] == pytest.approx(low, rel=1e-6)
    assert ci["conf_high"] == pytest.approx(high, rel=1e-6)
    # the same seed gives the same result; another seed another one
    again = fit.with_inference(inf)
    assert float(again.pvalues["D"]) == float(res.pvalues["D"])
    assert "Wild cluster bootstrap" in " ".join(res.notes)


def test_new_methods_are_supported_only_where_computed(fit):
    from tne_eval.inference import supported
    from tne_eval.inference.scores import InfluenceScores, RegressionScores

    assert tne.CR2 in supported(RegressionScores) and tne.CR2 in supported(
        InfluenceScores
    )
    # one treated unit: its group mean has leverage 1, no CR2 adjustment exists
    with pytest.raises(tne.InferenceError, match="lies in a single cluster"):
        tne.att_gt(
            pd.DataFrame(
                {
                    "u": [1, 1, 2, 2],
                    "t": [1, 2, 1, 2],
                    "y": [0.0, 1, 0, 0],
                    "g": [2, 2, 0, 0],
                }
            ),
            tne.PanelSpec(unit="u", time="t", outcome="y", cohort="g"),
            inference=tne.CR2(),
        )
