"""att_gt and aggregate: exactness, hand computations, inference, errors, invariance."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

import tne_eval as tne
from tne_eval.did import aggregate, att_gt
from tne_eval.errors import (
    DroppedObservationsWarning,
    IdentificationError,
    InferenceError,
    OverlapWarning,
    SmallClusterWarning,
    SpecError,
    TneEvalTypeError,
)

EXACT = 1e-10  # noiseless designs: only rounding error remains
TAU = 1.5


def noiseless_panel(seed: int = 0, n: int = 90) -> pd.DataFrame:
    """y = a_i + l_t + x_i * g_t + TAU * D_it: trends depend on x, effect homogeneous."""
    rng = np.random.default_rng(seed)
    periods = np.arange(2015, 2021)
    cohort = rng.choice([2017, 2019, 0], size=n, p=[0.3, 0.3, 0.4])
    x = rng.normal(size=n) + 0.5 * (cohort > 0)
    a = rng.normal(size=n)
    lam = rng.normal(size=periods.size)
    gam = rng.normal(size=periods.size)
    unit = np.repeat(np.arange(n), periods.size)
    t = np.tile(periods, n)
    g = cohort[unit]
    d = (g > 0) & (t >= g)
    ti = t - periods[0]
    y = a[unit] + lam[ti] + x[unit] * gam[ti] + TAU * d
    return pd.DataFrame(
        {
            "unit": unit,
            "year": t,
            "y": y,
            "g": g,
            "x": x[unit],
            "cl": unit % 9,
            "w": 1.0 + (unit % 3),
        }
    )


def noiseless_rc(seed: int = 1, n: int = 1500, x_effect: float = 1.0) -> pd.DataFrame:
    """Repeated cross-sections: y = a_g + l_t + x * g_t + TAU * D, no unit effect."""
    rng = np.random.default_rng(seed)
    periods = np.arange(2015, 2021)
    school = rng.integers(0, 60, size=n)
    school_cohort = rng.choice([2017, 2019, 0], size=60, p=[0.3, 0.3, 0.4])
    g = school_cohort[school]
    t = rng.choice(periods, size=n)
    x = rng.normal(size=n) + 0.5 * (g > 0)
    lam = dict(zip(periods, rng.normal(size=periods.size)))
    gam = dict(zip(periods, x_effect * rng.normal(size=periods.size)))
    # equal cohort levels: in RC the not-yet-treated mix changes between periods
    a = {2017: 0.1, 2019: 0.1, 0: 0.1}
    y = (
        np.array([a[v] for v in g])
        + np.array([lam[v] for v in t])
        + x * np.array([gam[v] for v in t])
        + TAU * ((g > 0) & (t >= g))
    )
    return pd.DataFrame(
        {"pupil": np.arange(n), "school": school, "year": t, "y": y, "g": g, "x": x}
    )


PANEL_SPEC = tne.PanelSpec(
    unit="unit", time="year", outcome="y", cohort="g", covariates=("x",)
)
RC_SPEC = tne.RepeatedCrossSectionSpec(
    time="year", outcome="y", group="school", id="pupil", cohort="g", covariates=("x",)
)


@pytest.mark.parametrize(
    ("method", "control", "base"),
    list(
        itertools.product(
            ["reg", "dr", "dr_improved"],
            ["never_treated", "not_yet_treated"],
            ["varying", "universal"],
        )
    ),
)
@pytest.mark.parametrize("design", ["panel", "rc"])
def test_noiseless_designs_recover_the_effect(design, method, control, base):
    if design == "panel":
        data, spec = noiseless_panel(), PANEL_SPEC
    else:
        # The RC outcome regression compares treated pre and post samples whose
        # covariates differ, so it is exact only when x does not move the outcome.
        data, spec = noiseless_rc(x_effect=0.0 if method == "reg" else 1.0), RC_SPEC
    gt = att_gt(data, spec, method=method, control_group=control, base_period=base)
    frame = gt.to_frame()
    post = frame["post"]
    np.testing.assert_allclose(frame.loc[post, "estimate"], TAU, atol=EXACT)
    np.testing.assert_allclose(frame.loc[~post, "estimate"], 0.0, atol=EXACT)
    for kind in ("simple", "group", "calendar"):
        np.testing.assert_allclose(aggregate(gt, kind=kind).estimates, TAU, atol=EXACT)
    dyn = aggregate(gt, kind="dynamic").to_frame()
    np.testing.assert_allclose(
        dyn.loc[dyn.event_time >= 0, "estimate"], TAU, atol=EXACT
    )


@pytest.mark.parametrize("design", ["panel", "rc"])
def test_noiseless_ipw_without_covariate_trends(design):
    # IPW with a logit score is exact only when trends do not depend on x
    if design == "panel":
        df = noiseless_panel().assign(y=lambda d: d.y - d.x * 0)  # keep x in model
        df["y"] = df["y"] - df.groupby("year")["y"].transform("mean") * 0
        rng = np.random.default_rng(5)
        lam = dict(zip(range(2015, 2021), rng.normal(size=6)))
        df["y"] = (
            df["unit"] * 0.01
            + df["year"].map(lam)
            + TAU * ((df.g > 0) & (df.year >= df.g))
            + 2 * df["x"]
        )
        spec = PANEL_SPEC
    else:
        df = noiseless_rc()
        rng = np.random.default_rng(5)
        lam = dict(zip(range(2015, 2021), rng.normal(size=6)))
        df["y"] = df["year"].map(lam) + TAU * ((df.g > 0) & (df.year >= df.g))
        spec = RC_SPEC.update(covariates=())
    gt = att_gt(df, spec, method="ipw")
    np.testing.assert_allclose(gt.estimates[gt.table.post], TAU, atol=EXACT)


def test_one_cohort_two_periods_equals_hand_computed_2x2():
    rng = np.random.default_rng(11)
    n = 40
    treated = np.arange(n) < 15
    y0 = rng.normal(size=n)
    y1 = y0 + 0.3 + rng.normal(size=n) + 0.8 * treated
    df = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n), 2),
            "year": np.tile([1, 2], n),
            "y": np.column_stack([y0, y1]).ravel(),
            "g": np.repeat(np.where(treated, 2, 0), 2),
        }
    )
    spec = tne.PanelSpec(unit="unit", time="year", outcome="y", cohort="g")
    dy = y1 - y0
    hand = dy[treated].mean() - dy[~treated].mean()
    hand_se = np.sqrt(
        dy[treated].var() / treated.sum() + dy[~treated].var() / (~treated).sum()
    )
    for method in ("reg", "ipw", "dr", "dr_improved"):
        gt = att_gt(df, spec, method=method, inference="iid")
        assert gt.estimates.index.tolist() == ["ATT(g=2,t=2)"]
        np.testing.assert_allclose(gt.estimates.iloc[0], hand, rtol=1e-12)
        np.testing.assert_allclose(gt.std_errors.iloc[0], hand_se, rtol=1e-10)
        simple = aggregate(gt, kind="simple")
        np.testing.assert_allclose(simple.estimates.iloc[0], hand, rtol=1e-12)


def test_cluster_inference_formula(small_staggered_panel):
    spec = tne.PanelSpec(
        unit="unit", time="period", outcome="y", cohort="cohort", cluster="cluster"
    )
    with pytest.warns(
        SmallClusterWarning,
        match=r"Few treated clusters \('cluster'; cohort 3: 5, cohort 5: 5; 5 clusters in all\)",
    ):
        gt = att_gt(small_staggered_panel, spec, method="reg")
    iid = gt.with_inference("iid")
    infl = gt.influence.to_numpy()
    n = infl.shape[0]
    codes = small_staggered_panel.groupby("unit")["cluster"].first().to_numpy()
    sums = np.vstack([infl[codes == c].sum(axis=0) for c in range(5)])
    expected = np.sqrt((sums**2).sum(axis=0) * 5 / 4) / n
    np.testing.assert_allclose(gt.std_errors, expected, rtol=1e-12)
    np.testing.assert_allclose(
        iid.std_errors, np.sqrt((infl**2).sum(axis=0)) / n, rtol=1e-12
    )
    assert gt.dof == 4 and iid.dof is None and gt.n_clusters == 5
    # the pre-test follows the inference: clustered for gt, unit-level for iid
    from tne_eval.inference.influence import influence_vcov

    pre = ~gt.table["post"].to_numpy()
    theta = gt.estimates.to_numpy()[pre]
    for res, code in ((gt, codes), (iid, None)):
        v = influence_vcov(infl[:, pre], code, 5 if code is not None else None)
        np.testing.assert_allclose(
            res.pretest.statistic, theta @ np.linalg.solve(v, theta), rtol=1e-10
        )
    assert any("G/(G-1)" in note for note in gt.notes)
    assert any(note.startswith("Few treated clusters") for note in gt.notes)
    # the few-cluster diagnostic concerns clustered inference only
    assert not any(n.startswith("Few treated") for n in iid.notes)
    assert gt.influence.index.name == "unit"


def test_bootstrap_reproducible_and_close_to_analytic(small_staggered_panel):
    spec = tne.PanelSpec(unit="unit", time="period", outcome="y", cohort="cohort")
    boot = tne.MultiplierBootstrap(reps=999, seed=3)
    a = att_gt(small_staggered_panel, spec, method="reg", inference=boot)
    b = att_gt(small_staggered_panel, spec, method="reg", inference=boot)
    c = att_gt(
        small_staggered_panel,
        spec,
        method="reg",
        inference=tne.MultiplierBootstrap(reps=999, seed=4),
    )
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert not np.allclose(a.std_errors, c.std_errors)
    analytic = a.with_inference("iid")
    ok = analytic.std_errors.notna()
    # Monte Carlo error of an IQR-based SE with 999 draws is about 4%
    np.testing.assert_allclose(a.std_errors[ok], analytic.std_errors[ok], rtol=0.2)
    frame = a.to_frame()
    assert {"band_low", "band_high"} <= set(frame.columns)
    assert (
        frame.band_high - frame.band_low >= frame.conf_high - frame.conf_low - 1e-12
    ).all()
    assert a.band_critical_value() > 1.96
    assert a.provenance.seed == 3
    mammen = att_gt(
        small_staggered_panel,
        spec,
        method="reg",
        inference=tne.MultiplierBootstrap(reps=999, seed=3, weights="mammen"),
    )
    np.testing.assert_allclose(mammen.std_errors[ok], analytic.std_errors[ok], rtol=0.2)


#: The multipliers depend only on the seed; the draws are matrix products whose
#: rounding depends on the BLAS kernel chosen for each block shape (1e-16 absolute
#: seen on AMD EPYC / OpenBLAS 0.3.31), so they agree to rounding, not bit for bit.
RTOL_BLOCKS = 1e-12


def test_bootstrap_block_size_does_not_change_draws():
    from tne_eval.inference.bootstrap import multiplier_bootstrap

    infl = np.random.default_rng(0).normal(size=(50, 3))
    a = multiplier_bootstrap(
        infl, 50, reps=200, weights="rademacher", rng=np.random.default_rng(9), block=7
    )
    b = multiplier_bootstrap(
        infl,
        50,
        reps=200,
        weights="rademacher",
        rng=np.random.default_rng(9),
        block=200,
    )
    np.testing.assert_allclose(a.draws, b.draws, rtol=RTOL_BLOCKS, atol=1e-15)
    np.testing.assert_allclose(a.std_errors, b.std_errors, rtol=RTOL_BLOCKS)


def test_aggregate_bootstrap_override(small_staggered_panel):
    spec = tne.PanelSpec(unit="unit", time="period", outcome="y", cohort="cohort")
    gt = att_gt(small_staggered_panel, spec, method="reg")
    dyn = aggregate(
        gt, kind="dynamic", inference=tne.MultiplierBootstrap(reps=499, seed=1)
    )
    assert "band_low" in dyn.to_frame()
    assert gt.band_draws is None  # the original is untouched


def test_with_inference_cannot_change_cluster_column(small_staggered_panel):
    spec = tne.PanelSpec(unit="unit", time="period", outcome="y", cohort="cohort")
    gt = att_gt(small_staggered_panel, spec, method="reg")
    with pytest.raises(
        InferenceError, match=r"needs a refit with spec\.cluster='cluster'"
    ):
        gt.with_inference(tne.Cluster(by="cluster"))


@pytest.mark.filterwarnings(
    "ignore::tne_eval.errors.SmallClusterWarning"
)  # tested below
def test_invariance_to_row_order_and_id_dtype(small_staggered_panel):
    spec = tne.PanelSpec(
        unit="unit",
        time="period",
        outcome="y",
        cohort="cohort",
        cluster="cluster",
        covariates=("x",),
        weights="w",
    )
    base = att_gt(small_staggered_panel, spec).to_frame()
    shuffled = small_staggered_panel.sample(frac=1, random_state=4)
    before = shuffled.copy(deep=True)
    other = att_gt(shuffled, spec).to_frame()
    pd.testing.assert_frame_equal(shuffled, before)  # not mutated
    pd.testing.assert_frame_equal(base, other, rtol=1e-12)
    as_str = small_staggered_panel.assign(
        unit=lambda d: d.unit.map("u{:03d}".format),
        cluster=lambda d: d.cluster.astype(str),
    )
    pd.testing.assert_frame_equal(base, att_gt(as_str, spec).to_frame(), rtol=1e-12)
    as_cat = small_staggered_panel.assign(unit=lambda d: pd.Categorical(d.unit))
    pd.testing.assert_frame_equal(base, att_gt(as_cat, spec).to_frame(), rtol=1e-12)


def test_unbalanced_panel_drop_or_keep(small_staggered_panel):
    spec = tne.PanelSpec(unit="unit", time="period", outcome="y", cohort="cohort")
    df = small_staggered_panel.drop(index=[3, 40])
    with pytest.warns(DroppedObservationsWarning, match=r"Dropped 2 unit\(s\)"):
        dropped = att_gt(df, spec, method="reg")
    assert dropped.n_units == 28 and dropped.options["panel"]
    kept = att_gt(df, spec, method="reg", unbalanced="keep")
    assert kept.n_units == 30 and not kept.options["panel"]
    np.testing.assert_allclose(kept.estimates, dropped.estimates, atol=0.1)


def test_small_cohort_with_covariates_gives_nan_cell_with_note():
    df = noiseless_panel(n=90)
    single = df.unit == df.loc[df.g == 2017, "unit"].iloc[0]
    df.loc[df.g == 2017, "g"] = 2019
    df.loc[single, "g"] = 2017  # a cohort of one unit
    spec = PANEL_SPEC.update(covariates=("x",))
    gt = att_gt(df, spec, method="dr")
    cells = gt.to_frame()
    assert cells.loc[cells.cohort == 2017, "estimate"].isna().all()
    assert any("ATT(g=2017" in n and "not estimated" in n for n in gt.notes)
    # aggregation skips the NaN cells
    assert np.isfinite(aggregate(gt, kind="simple").estimates.iloc[0])


def test_propensity_trimming_is_noted():
    rng = np.random.default_rng(2)
    n = 400
    x = rng.normal(size=n)
    g = np.where(x > 0.8, 2016, 0)
    x = np.where(
        g == 0, np.where(rng.random(n) < 0.01, 3.0, x), x
    )  # few controls far out
    periods = np.array([2015, 2016])
    df = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n), 2),
            "year": np.tile(periods, n),
            "g": np.repeat(g, 2),
            "x": np.repeat(x * 4, 2),
        }
    )
    df["y"] = rng.normal(size=len(df))
    spec = tne.PanelSpec(
        unit="unit", time="year", outcome="y", cohort="g", covariates=("x",)
    )
    with pytest.warns(OverlapWarning, match="propensity score above trim_level"):
        gt = att_gt(df, spec, method="ipw")
    assert any("zero weight" in note for note in gt.notes)


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        (
            {"control_group": "nevertreated"},
            SpecError,
            "control_group='nevertreated' is not supported",
        ),
        ({"base_period": "fixed"}, SpecError, "base_period='fixed' is not supported"),
        ({"method": "ols"}, SpecError, "method='ols' is not supported"),
        ({"unbalanced": "rc"}, SpecError, "unbalanced='rc' is not supported"),
        ({"anticipation": -1}, SpecError, "anticipation must be >= 0"),
        ({"anticipation": 1.5}, TneEvalTypeError, "anticipation must be an integer"),
        ({"alpha": 1.5}, SpecError, "alpha must lie strictly between 0 and 1"),
        ({"trim_level": 2.0}, SpecError, r"trim_level must be a float in \(0.5, 1\]"),
        (
            {"inference": "hc1"},
            InferenceError,
            "att_gt does not support inference='hc1'; supported: IID, Cluster, MultiplierBootstrap",
        ),
    ],
)
def test_argument_errors(small_staggered_panel, kwargs, error, pattern):
    spec = tne.PanelSpec(unit="unit", time="period", outcome="y", cohort="cohort")
    with pytest.raises(error, match=pattern):
        att_gt(small_staggered_panel, spec, **kwargs)


def test_spec_without_cohort(small_staggered_panel):
    with pytest.raises(SpecError, match="att_gt needs the first treated period"):
        att_gt(
            small_staggered_panel,
            tne.PanelSpec(unit="unit", time="period", outcome="y"),
        )


def test_spec_wrong_type(small_staggered_panel):
    with pytest.raises(TneEvalTypeError, match="spec must be a PanelSpec"):
        att_gt(small_staggered_panel, "unit")


def test_no_never_treated_units(small_staggered_panel):
    df = small_staggered_panel[small_staggered_panel.cohort > 0]
    spec = tne.PanelSpec(unit="unit", time="period", outcome="y", cohort="cohort")
    with pytest.raises(IdentificationError, match="no unit is never treated"):
        att_gt(df, spec)
    gt = att_gt(df, spec, control_group="not_yet_treated", method="reg")
    # cohort 3 post cells need cohort-5 units not yet treated: t = 3, 4 only
    assert set(gt.table.loc[(gt.table.cohort == 3) & gt.table.post, "time"]) == {3, 4}
    assert any("skipped: no comparison unit" in n for n in gt.notes)


def test_aggregate_errors(small_staggered_panel):
    spec = tne.PanelSpec(unit="unit", time="period", outcome="y", cohort="cohort")
    gt = att_gt(small_staggered_panel, spec, method="reg")
    with pytest.raises(SpecError, match="kind='event' is not supported"):
        aggregate(gt, kind="event")
    with pytest.raises(SpecError, match="balance_e applies to kind='dynamic' only"):
        aggregate(gt, kind="simple", balance_e=1)
    with pytest.raises(
        SpecError,
        match=r"No event time in \[10, 12\] exists; available event times: -3, -2",
    ):
        aggregate(gt, kind="dynamic", min_e=10, max_e=12)
    with pytest.raises(
        TneEvalTypeError, match=r"aggregate\(\) needs a GroupTimeResult"
    ):
        aggregate(aggregate(gt), kind="simple")


@pytest.mark.filterwarnings(
    "ignore::tne_eval.errors.SmallClusterWarning"
)  # tested below
def test_result_protocol_and_rendering(small_staggered_panel):
    spec = tne.PanelSpec(
        unit="unit", time="period", outcome="y", cohort="cohort", cluster="cluster"
    )
    gt = att_gt(small_staggered_panel, spec, method="reg")
    frame = gt.to_frame()
    assert list(frame.columns) == [
        "cohort",
        "time",
        "event_time",
        "post",
        "estimate",
        "std_error",
        "statistic",
        "p_value",
        "conf_low",
        "conf_high",
        "n_treated_clusters",
        "effective_clusters",
    ]
    assert frame.index.name == "term" and frame.index[0] == "ATT(g=3,t=2)"
    ci90 = gt.conf_int(alpha=0.1)
    assert (ci90.conf_high - ci90.conf_low < frame.conf_high - frame.conf_low).all()
    s = gt.summary()
    for text in (s.as_text(), s.as_html(), s.as_markdown(), s.as_latex()):
        assert "ATT(g=3,t=4)" in text and "Callaway" in text
    assert "Pre-trend test" in s.as_text()
    assert "<GroupTimeResult: 10 term(s)" in repr(gt)
    assert gt.pretest.valid and gt.pretest.df == 4
    assert gt.version == tne.__version__
    with pytest.raises(AttributeError):
        gt.alpha = 0.1


def test_plots(small_staggered_panel):
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    spec = tne.PanelSpec(unit="unit", time="period", outcome="y", cohort="cohort")
    gt = att_gt(
        small_staggered_panel,
        spec,
        method="reg",
        inference=tne.MultiplierBootstrap(reps=199, seed=1),
    )
    ax = gt.plot()
    assert isinstance(ax, Axes) and len(ax.collections) >= 2
    _, given = plt.subplots()
    dyn = tne.aggregate(gt, "dynamic")
    assert dyn.plot(ax=given) is given
    assert any(
        type(c).__name__ in ("PolyCollection", "FillBetweenPolyCollection")
        for c in given.collections
    )  # the simultaneous band
    assert isinstance(tne.aggregate(gt, "group").plot(), Axes)


def test_repeated_cross_sections_store_sparse_influence():
    from scipy import sparse

    data = noiseless_rc()
    data["y"] += np.random.default_rng(8).normal(size=len(data))
    gt = att_gt(data, RC_SPEC, method="dr", inference="iid")
    assert sparse.issparse(gt.scores.values)
    dense = gt.influence
    assert dense.shape == (1500, len(gt.table)) and dense.index.name == "pupil"
    # a cell only uses the rows of its two periods
    # rows are keyed by pupil id (prepared order): align by id, never by position
    t = data.set_index("pupil").loc[dense.index, "year"].to_numpy()
    cell = gt.table.iloc[0]
    outside = ~np.isin(t, [cell["time"], cell["base_period"]])
    assert (dense.iloc[outside, 0] == 0).all()
    np.testing.assert_allclose(
        gt.std_errors, np.sqrt((dense.to_numpy() ** 2).sum(axis=0)) / 1500, rtol=1e-12
    )
