"""TWFE benchmarks: published numbers, parity, exactness, diagnostics, errors, plots."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from linearmodels import PanelOLS
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import tne_eval as tne
from tests.conftest import reference_dataset
from tne_eval.did.results import TWFEEventStudyResult as EventStudyResult
from tne_eval.did.results import TWFEResult
from tne_eval.did.twfe import twfe, twfe_event_study
from tne_eval.errors import (
    DroppedObservationsWarning,
    IdentificationError,
    InferenceError,
    SmallClusterWarning,
    SpecError,
    StaggeredAdoptionWarning,
    TneEvalTypeError,
)
from tne_eval.inference import IID, Cluster, MultiplierBootstrap

# Tolerances (STYLE 3.9): closed-form least squares against another closed-form
# implementation agrees to rounding; noiseless designs leave only rounding error.
RTOL_CLOSED = 1e-8
EXACT = 1e-10

# Static TWFE coefficient of `post` on `l_homicide` with state and year effects,
# castle-doctrine data of R bacondecomp (Cheng & Hoekstra 2013):
# * evanjflack/bacondecomp, index.ipynb (commit 5a15251c), cell output of
#   `fit_tw <- lm(l_homicide ~ post + factor(state) + factor(year), data = castle)`:
#   "[1] \"Two-way FE estimate = 0.0818116169306471\"" (and ...475 from bacon());
# * CRAN vignette bacon.Rmd (bacondecomp, "Two-way FE estimate =",
#   round(fit_tw$coefficients[1], 4)): 0.0818.
CASTLE_TWFE_NOTEBOOK = 0.0818116169306471  # printed to 16 significant digits
CASTLE_TWFE_VIGNETTE = 0.0818  # printed to 4 decimals


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def castle() -> pd.DataFrame:
    return reference_dataset("castle_bacondecomp.csv")


CASTLE_SPEC = tne.PanelSpec(
    unit="state",
    time="year",
    outcome="l_homicide",
    cohort="effyear",
    never_treated="missing",
)


def fit_quiet(fn, *args, **kwargs):
    """Fit while silencing the (tested elsewhere) staggered-adoption warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StaggeredAdoptionWarning)
        return fn(*args, **kwargs)


PERIODS = np.arange(2013, 2021)  # 8 periods
TAU_E = {
    -7: 0.0,
    -6: 0.0,
    -5: 0.0,
    -4: 0.1,
    -3: -0.2,
    -2: 0.3,
    -1: 0.0,
    0: 1.0,
    1: 1.5,
    2: 2.5,
    3: 2.0,
    4: 2.2,
    5: 2.2,
    6: 2.2,
    7: 2.2,
}


def event_panel(
    seed: int = 0,
    n: int = 90,
    noise: float = 0.0,
    never_share: float = 0.4,
    tau: dict[int, float] | None = None,
) -> pd.DataFrame:
    """y = a_i + l_t + tau(t - g) for treated units: effects homogeneous by event time."""
    tau = TAU_E if tau is None else tau
    rng = np.random.default_rng(seed)
    p_treat = (1 - never_share) / 3
    cohort = rng.choice([2015, 2017, 2019, 0], size=n, p=[p_treat] * 3 + [never_share])
    a = rng.normal(size=n)
    lam = rng.normal(size=PERIODS.size)
    unit = np.repeat(np.arange(n), PERIODS.size)
    t = np.tile(PERIODS, n)
    g = cohort[unit]
    e = t - g
    eff = np.where(g > 0, np.vectorize(lambda v: tau.get(v, 0.0))(e), 0.0)
    y = a[unit] + lam[t - PERIODS[0]] + eff + noise * rng.normal(size=t.size)
    return pd.DataFrame(
        {
            "unit": unit,
            "year": t,
            "y": y,
            "g": g,
            "cl": unit % 30,
            "w": 1.0 + (unit % 4),
            "x": rng.normal(size=t.size),
        }
    )


SPEC = tne.PanelSpec(unit="unit", time="year", outcome="y", cohort="g")


def dummies_ols(df, spec, regressors, *, weights=None):
    """statsmodels OLS/WLS with explicit unit and period dummies, clustered."""
    fe = pd.get_dummies(
        df[[spec.unit, spec.time]].astype(str), drop_first=True, dtype=float
    )
    x = sm.add_constant(pd.concat([regressors.reset_index(drop=True), fe], axis=1))
    groups = pd.factorize(df[spec.cluster_col])[0]
    model = (
        sm.OLS(df[spec.outcome].to_numpy(), x)
        if weights is None
        else sm.WLS(df[spec.outcome].to_numpy(), x, weights=weights)
    )
    return model.fit(cov_type="cluster", cov_kwds={"groups": groups}), x.shape[1]


def rescale_se(sm_se, n, k_statsmodels, k_ours):
    """statsmodels counts every dummy in K; ours (fixest nested) does not."""
    return sm_se * np.sqrt((n - k_statsmodels) / (n - k_ours))


def event_dummies(df, cohort, lo, hi, refs, bin_endpoints=True):
    """Hand-made relative-time dummies with the documented binning."""
    rel = (df["year"] - cohort).where(cohort > 0)
    if bin_endpoints:
        rel = rel.clip(lo, hi)
    cols = {}
    for e in range(lo, hi + 1):
        if e in refs:
            continue
        cols[e] = (rel == e).astype(float)
    return pd.DataFrame(cols)


# ---------------------------------------------------------------------------
# 1. castle doctrine: published number and parity
# ---------------------------------------------------------------------------
def test_castle_static_matches_bacondecomp_printed(castle):
    with pytest.warns(StaggeredAdoptionWarning, match="5 treated cohorts"):
        res = twfe(castle, CASTLE_SPEC)
    est = float(res.estimates["D"])
    assert est == pytest.approx(CASTLE_TWFE_NOTEBOOK, abs=1e-13)
    assert round(est, 4) == CASTLE_TWFE_VIGNETTE
    assert res.nobs == 550 and res.n_units == 50 and res.n_clusters == 50
    assert res.dof == 49


@pytest.mark.parametrize("weighted", [False, True])
def test_castle_static_matches_statsmodels_dummies(castle, weighted):
    spec = CASTLE_SPEC.update(weights="popwt") if weighted else CASTLE_SPEC
    res = fit_quiet(twfe, castle, spec)
    ref, k_sm = dummies_ols(
        castle,
        spec,
        castle[["post"]].astype(float),
        weights=castle["popwt"].to_numpy() if weighted else None,
    )
    np.testing.assert_allclose(res.estimates["D"], ref.params["post"], rtol=RTOL_CLOSED)
    k_ours = 1 + castle["year"].nunique()  # regressor + period effects (incl. constant)
    expected = rescale_se(ref.bse["post"], len(castle), k_sm, k_ours)
    np.testing.assert_allclose(res.std_errors["D"], expected, rtol=RTOL_CLOSED)


def test_castle_static_matches_linearmodels(castle):
    res = fit_quiet(twfe, castle, CASTLE_SPEC)
    panel = castle.set_index(["state", "year"])
    years = pd.get_dummies(castle["year"].astype(str), drop_first=True, dtype=float)
    years.index = panel.index
    exog = pd.concat(
        [pd.Series(1.0, index=panel.index, name="const"), panel["post"] * 1.0, years],
        axis=1,
    )
    clusters = pd.DataFrame({"c": pd.factorize(castle["state"])[0]}, index=panel.index)
    # Entity effects absorbed and nested in the clusters (not counted), period
    # effects as dummies: Stata's xtreg, fe vce(cluster) = fixest's default ssc.
    ref = PanelOLS(panel["l_homicide"], exog, entity_effects=True).fit(
        cov_type="clustered", clusters=clusters, debiased=True, group_debias=True
    )
    np.testing.assert_allclose(res.estimates["D"], ref.params["post"], rtol=RTOL_CLOSED)
    np.testing.assert_allclose(
        res.std_errors["D"], ref.std_errors["post"], rtol=RTOL_CLOSED
    )
    # Two-way PanelOLS counts both absorbed effects in K: larger SEs by exactly
    # sqrt((N - K_ours) / (N - K_full)).
    both = PanelOLS(
        panel["l_homicide"],
        panel[["post"]] * 1.0,
        entity_effects=True,
        time_effects=True,
    ).fit(cov_type="clustered", cluster_entity=True, debiased=True, group_debias=True)
    np.testing.assert_allclose(
        both.params["post"], res.estimates["D"], rtol=RTOL_CLOSED
    )
    n, k_full = len(castle), 1 + 50 + 11 - 1  # post + all effects - 1 restriction
    np.testing.assert_allclose(
        both.std_errors["post"],
        res.std_errors["D"] * np.sqrt((n - 12) / (n - k_full)),
        rtol=RTOL_CLOSED,
    )


def test_castle_weights_match_brute_force(castle):
    res = fit_quiet(twfe, castle, CASTLE_SPEC)
    fe = pd.get_dummies(
        castle[["state", "year"]].astype(str), drop_first=True, dtype=float
    )
    eps = sm.OLS(castle["post"].astype(float), sm.add_constant(fe)).fit().resid
    treated = castle["post"] == 1
    w = eps[treated] / eps[treated].sum()
    brute = (
        pd.DataFrame(
            {
                "cohort": castle["effyear"][treated],
                "time": castle["year"][treated],
                "w": w,
            }
        )
        .groupby(["cohort", "time"])["w"]
        .sum()
        .to_numpy()
    )
    table = res.weights()
    np.testing.assert_allclose(table["weight"].to_numpy(), brute, atol=EXACT)
    assert table["weight"].sum() == pytest.approx(1.0, abs=EXACT)
    assert table["n_obs"].sum() == int(treated.sum())
    # 29 never-treated states: no negative weight on this design
    assert res.n_negative_weights == 0 and res.sum_negative_weights == 0.0
    assert any("0 cell(s) have negative weights" in n for n in res.notes)


def test_castle_event_study_matches_statsmodels(castle):
    res = fit_quiet(twfe_event_study, castle, CASTLE_SPEC, leads=5, lags=4)
    cohort = castle["effyear"].fillna(0)
    x = event_dummies(castle, cohort, -5, 4, refs=(-1,))
    ref, k_sm = dummies_ols(castle, CASTLE_SPEC, x)
    est = res.to_frame().set_index("event_time")
    for e in x.columns:
        np.testing.assert_allclose(
            est.loc[e, "estimate"], ref.params[e], rtol=RTOL_CLOSED
        )
        expected = rescale_se(ref.bse[e], len(castle), k_sm, x.shape[1] + 11)
        np.testing.assert_allclose(est.loc[e, "std_error"], expected, rtol=RTOL_CLOSED)
    assert list(res.table.index) == [
        "e<=-5",
        "e=-4",
        "e=-3",
        "e=-2",
        "e=-1",
        "e=0",
        "e=1",
        "e=2",
        "e=3",
        "e>=4",
    ]


# ---------------------------------------------------------------------------
# 2. exactness and the heterogeneity diagnostics
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["balanced", "unbalanced", "weighted"])
def test_event_study_recovers_homogeneous_effects_exactly(variant):
    df = event_panel(seed=1)
    spec = SPEC
    if variant == "unbalanced":
        df = df.sample(frac=0.85, random_state=2).reset_index(drop=True)
    if variant == "weighted":
        spec = SPEC.update(weights="w")
    res = fit_quiet(twfe_event_study, df, spec)
    assert res.options["balanced"] is (variant != "unbalanced")
    frame = res.to_frame()
    truth = np.array([TAU_E[e] - TAU_E[-1] for e in frame["event_time"]])
    np.testing.assert_allclose(frame["estimate"].to_numpy(), truth, atol=EXACT)
    assert frame.loc["e=-1", "reference"] and np.isnan(frame.loc["e=-1", "std_error"])
    assert not frame["binned"].any()  # full window: nothing to bin


def test_static_recovers_homogeneous_constant_effect_exactly():
    tau = {e: (1.7 if e >= 0 else 0.0) for e in range(-7, 8)}
    df = event_panel(seed=4, tau=tau)
    with pytest.warns(StaggeredAdoptionWarning):
        res = twfe(df, SPEC.update(weights="w"))
    assert float(res.estimates["D"]) == pytest.approx(1.7, abs=EXACT)
    assert res.weights()["weight"].sum() == pytest.approx(1.0, abs=EXACT)


def heterogeneous_panel(n: int = 60) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Early (2016) and late (2019) cohorts, no never-treated, effects grow with e."""
    rng = np.random.default_rng(3)
    periods = np.arange(2015, 2021)
    cohort = np.repeat([2016, 2019], n // 2)
    a = rng.normal(size=n)
    lam = rng.normal(size=periods.size)
    unit = np.repeat(np.arange(n), periods.size)
    t = np.tile(periods, n)
    g = cohort[unit]
    e = t - g
    tau = np.where(e >= 0, 1.0 + e, 0.0)
    y = a[unit] + lam[t - periods[0]] + tau
    return pd.DataFrame({"unit": unit, "year": t, "y": y, "g": g}), tau, e >= 0


def test_heterogeneous_staggered_static_is_biased_with_negative_weights():
    df, tau, treated = heterogeneous_panel()
    with pytest.warns(StaggeredAdoptionWarning, match="weights that can be negative"):
        res = twfe(df, SPEC)
    true_att = tau[treated].mean()  # every effect is >= 1, the average is 2.571
    beta = float(res.estimates["D"])
    assert true_att == pytest.approx(18 / 7)
    assert beta < true_att - 2.0  # biased towards zero (here to 0 exactly)
    assert res.n_negative_weights == 2
    assert res.sum_negative_weights == pytest.approx(-2 / 3, abs=EXACT)
    neg = res.weights().query("weight < 0")
    assert neg[["cohort", "event_time"]].values.tolist() == [[2016, 3], [2016, 4]]
    # the decomposition is exact: beta = sum over cells of weight * cell effect
    cells = res.weights()
    np.testing.assert_allclose(
        beta, (cells["weight"] * (1.0 + cells["event_time"])).sum(), atol=EXACT
    )
    assert res.staggered
    assert any(n.startswith("Staggered adoption: 2 treated cohorts") for n in res.notes)
    assert "att_gt" in res.notes[0]
    summary = res.summary().as_text()
    assert "Negative weights: 2 of 7" in summary


def test_single_cohort_does_not_warn():
    df = event_panel(seed=5)
    df = df[df["g"].isin([0, 2017])]
    with warnings.catch_warnings():
        warnings.simplefilter("error", StaggeredAdoptionWarning)
        res = twfe(df, SPEC)
    assert not res.staggered
    assert res.n_negative_weights == 0


# ---------------------------------------------------------------------------
# 3. reference periods and binning
# ---------------------------------------------------------------------------
def test_reference_choice_is_an_exact_reparametrisation():
    # noisy data: with the full window, moving the omitted event time spans the same
    # column space, so beta^(-2)_e = beta^(-1)_e - beta^(-1)_{-2} and the variance
    # is that of the contrast, whatever the noise
    df = event_panel(seed=6, noise=0.5)
    default = fit_quiet(twfe_event_study, df, SPEC)
    moved = fit_quiet(twfe_event_study, df, SPEC, reference=-2)
    b = default.estimates
    np.testing.assert_allclose(moved.estimates, b - b["e=-2"], atol=EXACT)
    v = default.vcov
    contrast_var = np.diag(v) + v.loc["e=-2", "e=-2"] - 2 * v["e=-2"].to_numpy()
    expected = np.sqrt(contrast_var)
    expected[default.table.index.get_loc("e=-2")] = np.nan
    np.testing.assert_allclose(moved.std_errors, expected, rtol=RTOL_CLOSED)
    frame = moved.to_frame()
    assert frame.loc["e=-2", "reference"] and frame.loc["e=-2", "estimate"] == 0
    assert not frame.loc["e=-1", "reference"]
    assert moved.options["reference"] == (-2,)


def test_two_references_needed_without_never_treated():
    df = event_panel(seed=7, never_share=0.0)
    with pytest.raises(
        IdentificationError,
        match=r"\['e=4', 'e=5'\] are collinear.*no never-treated unit.*reference=\[-6, -1\]",
    ):
        fit_quiet(twfe_event_study, df, SPEC)
    with pytest.raises(IdentificationError, match=r"\['e=5'\] are collinear"):
        fit_quiet(twfe_event_study, df, SPEC, reference=[-1, -6])
    # second reference + binned last lags (the effects at 4 and 5 are equal)
    res = fit_quiet(twfe_event_study, df, SPEC, reference=[-1, -6], lags=4)
    frame = res.to_frame()
    assert frame.loc[["e=-6", "e=-1"], "reference"].all()
    assert frame.index[-1] == "e>=4"
    truth = np.array([TAU_E[e] - TAU_E[-1] for e in frame["event_time"]])
    np.testing.assert_allclose(frame["estimate"].to_numpy(), truth, atol=EXACT)


def test_binned_endpoints_terms_counts_and_parity():
    df = event_panel(seed=8, noise=0.3)
    res = fit_quiet(twfe_event_study, df, SPEC, leads=2, lags=1)
    frame = res.to_frame()
    assert list(frame.index) == ["e<=-2", "e=-1", "e=0", "e>=1"]
    assert frame["binned"].tolist() == [True, False, False, True]
    assert frame["event_time"].tolist() == [-2, -1, 0, 1]
    rel = (df["year"] - df["g"]).where(df["g"] > 0)
    n_below, n_above = int((rel < -2).sum()), int((rel > 1).sum())
    u_below = df.loc[rel < -2, "unit"].nunique()
    assert any(
        f"Binned {n_below} observation(s) of {u_below} treated unit(s)" in n
        and "'e<=-2'" in n
        for n in res.notes
    )
    assert any(
        f"Binned {n_above} observation(s)" in n and "'e>=1'" in n for n in res.notes
    )
    counts = res.event_time_counts()
    assert counts.loc["e<=-2", "n_obs"] == n_below + int((rel == -2).sum())
    assert counts.loc["e>=1", "n_obs"] == n_above + int((rel == 1).sum())
    assert counts.loc["e=0", "n_units"] == df.loc[rel == 0, "unit"].nunique()
    assert counts.loc["e<=-2", "n_units"] == df.loc[rel <= -2, "unit"].nunique()
    assert res.nobs == len(df)  # binning keeps every observation
    x = event_dummies(df, df["g"], -2, 1, refs=(-1,))
    ref, k_sm = dummies_ols(df, SPEC, x)
    for e, term in ((-2, "e<=-2"), (0, "e=0"), (1, "e>=1")):
        np.testing.assert_allclose(
            frame.loc[term, "estimate"], ref.params[e], rtol=RTOL_CLOSED
        )
        expected = rescale_se(ref.bse[e], len(df), k_sm, 3 + PERIODS.size)
        np.testing.assert_allclose(
            frame.loc[term, "std_error"], expected, rtol=RTOL_CLOSED
        )


def test_binning_is_exact_when_effects_are_constant_beyond_the_window():
    tau = dict(TAU_E)
    tau.update({e: 0.0 for e in range(-7, -2)})  # flat before -2 (pooled with -2)
    tau[-2] = 0.0
    tau.update({e: 2.5 for e in range(2, 8)})  # flat from 2 on
    df = event_panel(seed=9, tau=tau)
    res = fit_quiet(twfe_event_study, df, SPEC, leads=2, lags=2)
    truth = [tau[e] for e in res.table["event_time"]]
    np.testing.assert_allclose(res.estimates.to_numpy(), truth, atol=EXACT)


def test_dropping_outside_window_counts_and_parity():
    df = event_panel(seed=10, noise=0.3)
    rel = (df["year"] - df["g"]).where(df["g"] > 0)
    outside = (rel < -3) | (rel > 2)
    with pytest.warns(
        DroppedObservationsWarning, match=f"Dropped {int(outside.sum())} observation"
    ):
        res = fit_quiet(
            twfe_event_study, df, SPEC, leads=3, lags=2, bin_endpoints=False
        )
    note = next(n for n in res.notes if n.startswith("Dropped"))
    assert f"({int((rel < -3).sum())} before, {int((rel > 2).sum())} after" in note
    assert res.nobs == len(df) - int(outside.sum())
    assert not res.to_frame()["binned"].any()
    assert list(res.table.index) == ["e=-3", "e=-2", "e=-1", "e=0", "e=1", "e=2"]
    kept = df[~outside].reset_index(drop=True)
    x = event_dummies(kept, kept["g"], -3, 2, refs=(-1,), bin_endpoints=False)
    ref, k_sm = dummies_ols(kept, SPEC, x)
    by_e = res.to_frame().set_index("event_time")
    for e in x.columns:
        np.testing.assert_allclose(
            by_e.loc[e, "estimate"], ref.params[e], rtol=RTOL_CLOSED
        )
        expected = rescale_se(ref.bse[e], len(kept), k_sm, x.shape[1] + PERIODS.size)
        np.testing.assert_allclose(by_e.loc[e, "std_error"], expected, rtol=RTOL_CLOSED)


# ---------------------------------------------------------------------------
# inference, covariates, invariance
# ---------------------------------------------------------------------------
def test_with_inference_reuses_scores():
    df = event_panel(seed=11, noise=0.5)
    spec = SPEC.update(cluster="cl")
    res = fit_quiet(twfe, df, spec)
    assert res.cluster_column == "cl" and res.n_clusters == 30 and res.dof == 29
    by_unit = res.with_inference("iid")
    refit = fit_quiet(twfe, df, SPEC)  # no spec.cluster: clusters are the units
    np.testing.assert_allclose(by_unit.std_errors, refit.std_errors, rtol=RTOL_CLOSED)
    assert by_unit.n_clusters == df["unit"].nunique()
    back = by_unit.with_inference(Cluster())
    np.testing.assert_allclose(back.std_errors, res.std_errors, rtol=RTOL_CLOSED)
    cr0 = res.with_inference(Cluster(small_sample=False))
    n, g, k = res.nobs, 30, 1 + PERIODS.size
    factor = g / (g - 1) * (n - 1) / (n - k)
    np.testing.assert_allclose(
        cr0.std_errors * np.sqrt(factor), res.std_errors, rtol=RTOL_CLOSED
    )
    assert cr0.dof is None and res.dof == 29
    assert sum(n.startswith("Cluster-robust") for n in cr0.notes) == 1
    assert "CR0" in cr0.notes[-1]
    # the original is untouched
    assert res.inference == Cluster()


def test_time_varying_covariate_matches_dummies_and_invariant_one_is_dropped():
    df = event_panel(seed=12, noise=0.5)
    df["z"] = df["unit"] % 7  # constant within unit: absorbed
    spec = SPEC.update(covariates=("x", "z"))
    res = fit_quiet(twfe, df, spec)
    d = ((df["g"] > 0) & (df["year"] >= df["g"])).astype(float).rename("D")
    ref, _ = dummies_ols(df, SPEC, pd.concat([d, df["x"]], axis=1))
    np.testing.assert_allclose(res.estimates["D"], ref.params["D"], rtol=RTOL_CLOSED)
    np.testing.assert_allclose(
        res.covariate_table.loc["x", "estimate"], ref.params["x"], rtol=RTOL_CLOSED
    )
    assert list(res.covariate_table.index) == ["x"]
    assert any(
        "'z'" in n and "absorbed by the unit fixed effects" in n for n in res.notes
    )
    assert res.options["covariates"] == ("x",)
    # covariates change the weights: residual of D on FE and x
    eps = (
        sm.OLS(
            d,
            pd.concat(
                [
                    sm.add_constant(df["x"]),
                    pd.get_dummies(
                        df[["unit", "year"]].astype(str), drop_first=True, dtype=float
                    ),
                ],
                axis=1,
            ),
        )
        .fit()
        .resid
    )
    treated = d == 1
    np.testing.assert_allclose(res.weights()["weight"].sum(), 1.0, atol=EXACT)
    brute = (
        (eps[treated] / eps[treated].sum())
        .groupby([df["g"][treated], df["year"][treated]])
        .sum()
    )
    np.testing.assert_allclose(
        res.weights()["weight"].to_numpy(), brute.to_numpy(), atol=1e-9
    )


def test_invariant_to_row_order_and_unit_labels():
    df = event_panel(seed=13, noise=0.5)
    base = fit_quiet(twfe_event_study, df, SPEC, leads=3, lags=3)
    shuffled = df.sample(frac=1.0, random_state=1).reset_index(drop=True)
    shuffled["unit"] = "s" + (shuffled["unit"] * 7 % 1000).astype(str)
    other = fit_quiet(twfe_event_study, shuffled, SPEC, leads=3, lags=3)
    pd.testing.assert_frame_equal(base.to_frame(), other.to_frame(), rtol=1e-9)


def test_summary_header_names_estimator_fe_cluster_and_reference():
    df = event_panel(seed=14, noise=0.5)
    es = fit_quiet(twfe_event_study, df, SPEC.update(cluster="cl"), leads=3, lags=3)
    text = es.summary().as_text()
    for piece in (
        "Two-way fixed-effects event study",
        "Estimator: twfe_event_study",
        "Fixed effects: unit ('unit') + period ('year')",
        "Cluster variable: 'cl'",
        "Omitted event time(s): -1",
        "Reference: Sun & Abraham (2021)",
        "t(29)",
    ):
        assert piece in text
    st = fit_quiet(twfe, df, SPEC)
    text = st.summary().as_text()
    assert "Estimator: twfe" in text and "Reference: de Chaisemartin" in text
    assert "Cluster variable: 'unit'" in text
    assert isinstance(st, TWFEResult) and isinstance(es, EventStudyResult)
    assert repr(es).startswith("<TWFEEventStudyResult: 7 term(s)")


# ---------------------------------------------------------------------------
# 4. every error and warning message
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"leads": -1}, SpecError, r"leads=-1 is negative"),
        ({"lags": -2}, SpecError, r"lags=-2 is negative"),
        ({"leads": 2.5}, TneEvalTypeError, r"leads must be a non-negative integer"),
        (
            {"leads": 7},
            SpecError,
            r"leads=7 reaches event time -7.*from -6 to 5.*leads <= 6",
        ),
        ({"lags": 6}, SpecError, r"lags=6 reaches event time 6.*lags <= 5"),
        (
            {"leads": 3, "reference": -5},
            SpecError,
            r"outside the event-time range of the window \[-3, 5\]",
        ),
        ({"leads": 0, "lags": 0, "reference": 0}, SpecError, r"omits every event time"),
        ({"reference": [-1, -1]}, SpecError, r"lists an event time twice"),
        ({"reference": []}, SpecError, r"reference is empty"),
        (
            {"reference": "-1"},
            TneEvalTypeError,
            r"reference must be an integer event time",
        ),
        (
            {"reference": 1.0},
            TneEvalTypeError,
            r"reference must be an integer event time",
        ),
        (
            {"bin_endpoints": "yes"},
            TneEvalTypeError,
            r"bin_endpoints must be True or False",
        ),
        (
            {"inference": MultiplierBootstrap()},
            InferenceError,
            r"does not support MultiplierBootstrap; supported: IID, Cluster",
        ),
        ({"alpha": 1.5}, SpecError, r"alpha must lie strictly between 0 and 1"),
    ],
)
def test_event_study_argument_errors(kwargs, error, match):
    df = event_panel(seed=15)
    with pytest.raises(error, match=match):
        fit_quiet(twfe_event_study, df, SPEC, **kwargs)


def test_empty_window_error():
    df = event_panel(seed=16)
    df = df[df["year"] >= 2019]  # cohort 2015 is first seen at event time 4
    df = df[df["g"].isin([0, 2015])]
    with pytest.raises(SpecError, match=r"The event-time window \[4, 3\] is empty"):
        fit_quiet(twfe_event_study, df, SPEC, lags=3, reference=4)


def test_no_treated_units_error():
    df = event_panel(seed=17).assign(g=0)
    with pytest.raises(IdentificationError, match="No unit is ever treated"):
        twfe(df, SPEC)
    with pytest.raises(IdentificationError, match="No unit is ever treated"):
        twfe_event_study(df, SPEC)


def test_spec_errors():
    df = event_panel(seed=18)
    with pytest.raises(SpecError, match="twfe needs the first treated period"):
        twfe(df, tne.PanelSpec(unit="unit", time="year", outcome="y"))
    with pytest.raises(TneEvalTypeError, match="twfe_event_study needs a PanelSpec"):
        twfe_event_study(
            df,
            tne.RepeatedCrossSectionSpec(
                time="year", outcome="y", group="unit", cohort="g"
            ),
        )


def test_treatment_absorbed_error():
    df = event_panel(seed=19)
    df = df.assign(g=np.where(df["g"] > 0, 2013, 0))  # treated in every period
    with pytest.raises(
        IdentificationError, match="absorbed by the unit and period fixed effects"
    ):
        twfe(df, SPEC)


def test_single_cluster_error_and_few_clusters_warning():
    df = event_panel(seed=20, noise=0.5)
    with pytest.raises(InferenceError, match="at least 2 clusters"):
        fit_quiet(twfe, df.assign(one=1), SPEC, inference=Cluster(by="one"))
    df["region"] = df["unit"] % 5
    with pytest.warns(
        SmallClusterWarning, match=r"\('region'; cohort .*; 5 clusters in all\)"
    ):
        res = fit_quiet(twfe, df, SPEC, inference=Cluster(by="region"))
    assert any(n.kind == "few_clusters" for n in res.notes)
    with pytest.raises(InferenceError, match=r"needs a refit with spec\.cluster='cl'"):
        res.with_inference(Cluster(by="cl"))


def test_zero_weights_are_dropped_with_a_warning():
    df = event_panel(seed=21, noise=0.5)
    df["w0"] = np.where(df["unit"] < 3, 0.0, 1.0)
    with pytest.warns(
        DroppedObservationsWarning,
        match="Dropped 24 row\\(s\\) \\(3 unit\\(s\\)\\) with zero weight",
    ):
        res = fit_quiet(twfe, df, SPEC.update(weights="w0"))
    plain = fit_quiet(twfe, df[df["unit"] >= 3], SPEC)
    np.testing.assert_allclose(res.estimates, plain.estimates, rtol=RTOL_CLOSED)
    assert res.n_units == plain.n_units


# ---------------------------------------------------------------------------
# 5. plots
# ---------------------------------------------------------------------------
def test_event_study_plot_returns_and_reuses_axes():
    df = event_panel(seed=22, noise=0.5)
    res = fit_quiet(twfe_event_study, df, SPEC, leads=3, lags=3)
    ax = res.plot()
    assert isinstance(ax, Axes)
    assert ax.containers  # the error bars
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "<=-3" and labels[-1] == ">=3"
    given = Figure().add_subplot()
    assert res.plot(ax=given, title="custom") is given
    assert given.get_title() == "custom"


def test_weights_plot_returns_and_reuses_axes():
    df, _, _ = heterogeneous_panel()
    res = fit_quiet(twfe, df, SPEC)
    ax = res.plot()
    assert isinstance(ax, Axes)
    assert any("negative (2 cells" in t.get_text() for t in ax.get_legend().get_texts())
    given = Figure().add_subplot()
    assert res.plot(ax=given) is given


# ---------------------------------------------------------------------------
# 6. no mutation of the input
# ---------------------------------------------------------------------------
def test_input_frame_is_not_mutated():
    df = event_panel(seed=23, noise=0.5)
    df["g"] = df["g"].astype("int32")
    before = df.copy(deep=True)
    spec = SPEC.update(weights="w", covariates=("x",), cluster="cl")
    fit_quiet(twfe, df, spec)
    with pytest.warns(DroppedObservationsWarning):
        fit_quiet(twfe_event_study, df, spec, leads=2, lags=2, bin_endpoints=False)
    fit_quiet(twfe_event_study, df, spec, reference=[-1, -3])
    pd.testing.assert_frame_equal(df, before)


def test_iid_means_independent_units():
    df = event_panel(seed=24, noise=0.5)
    res = fit_quiet(twfe, df, SPEC.update(cluster="cl"), inference=IID())
    assert res.n_clusters == df["unit"].nunique()
    assert "independent units" in res.notes[-1]


def test_unbalanced_synthetic_panel_matches_panelols():
    """Regression: the period system's null space must be cut explicitly.

    On the synthetic school panel (schools missing some years) numpy's default
    pseudo-inverse cut-off kept the null eigenvalue (~1e-14 relative) and the
    coefficient was off by 1e-3, differently with each numpy version.
    """
    from tne_eval.datasets import load_synthetic

    panel = load_synthetic("school_panel")
    cm2 = panel[panel["grade"] == "CM2"].copy()
    spec = tne.PanelSpec(
        unit="school_id",
        time="year",
        outcome="score_french",
        cohort="first_treated",
        cluster="department",
    )
    with pytest.warns(tne.StaggeredAdoptionWarning):
        ours = twfe(cm2, spec, inference=Cluster(small_sample=False))
    cm2["D"] = ((cm2.first_treated > 0) & (cm2.year >= cm2.first_treated)).astype(float)
    frame = cm2.set_index(["school_id", "year"])
    ref = PanelOLS(
        frame["score_french"], frame[["D"]], entity_effects=True, time_effects=True
    ).fit(cov_type="clustered", clusters=frame[["department"]])
    np.testing.assert_allclose(ours.estimates["D"], ref.params["D"], rtol=1e-10)
