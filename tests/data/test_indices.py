"""Summary indices: Anderson (2008) and Kling-Liebman-Katz (2007).

Each index is recomputed here from its formula with plain numpy (standardize on
the reference rows, sign, weight, renormalize over observed items), on data
with missing items; then the errors, the reference given by a spec, and the
index used as an att_gt outcome.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import tne_eval as tne
from tne_eval.errors import DataError, IdentificationError, SpecError, TneEvalTypeError

#: Same arithmetic in a different order: rounding only.
ATOL_INDEX = 1e-12

ITEMS = ["a", "b", "c"]


@pytest.fixture
def frame() -> pd.DataFrame:
    gen = np.random.default_rng(3)
    n = 400
    f = gen.normal(size=n)
    df = pd.DataFrame(
        {
            "a": 3 + f + gen.normal(scale=0.5, size=n),
            "b": 10 + 2 * (f + gen.normal(scale=0.5, size=n)),  # correlated with a
            "c": -1 + gen.normal(scale=3, size=n),  # independent, lower is better
            "group": gen.integers(0, 2, size=n),
            "period": gen.integers(0, 2, size=n),
        }
    )
    df["ref"] = (df["group"] == 0) & (df["period"] == 0)
    df.loc[gen.choice(n, 40, replace=False), "a"] = np.nan
    df.loc[gen.choice(n, 30, replace=False), "c"] = np.nan
    df.loc[[5, 6], ["a", "b", "c"]] = np.nan  # no item at all
    return df


def _z(df, signs):
    ref = df["ref"].to_numpy()
    x = df[ITEMS].to_numpy(float)
    mean = np.nanmean(x[ref], axis=0)
    sd = np.nanstd(x[ref], axis=0, ddof=1)
    return (x - mean) / sd * np.asarray(signs), ref


def test_kling_index_is_the_mean_of_observed_standardized_items(frame):
    before = frame.copy(deep=True)
    idx = tne.kling_index(frame, ITEMS, reference="ref", higher_is_better={"c": False})
    pd.testing.assert_frame_equal(frame, before)  # caller's data untouched
    z, _ = _z(frame, [1, 1, -1])
    observed = ~np.isnan(z)
    with np.errstate(invalid="ignore"):  # rows without items: 0 / 0
        expected = np.where(observed, z, 0.0).sum(axis=1) / observed.sum(axis=1)
    np.testing.assert_allclose(idx.values, expected, atol=ATOL_INDEX)
    assert idx.values[[5, 6]].isna().all()
    assert list(idx.signs) == [1.0, 1.0, -1.0]
    assert idx.weights.tolist() == pytest.approx([1 / 3] * 3)
    assert idx.n_reference == int(frame["ref"].sum())
    assert idx.data.columns[-1] == "kling_index"
    assert any("no item observed" in n for n in idx.notes)
    table = idx.to_frame()
    assert table.loc["a", "n_missing"] == frame["a"].isna().sum()
    assert table.loc["b", "reference_sd"] == pytest.approx(
        frame.loc[frame["ref"], "b"].std(ddof=1)
    )


def test_kling_index_imputes_at_the_group_mean(frame):
    idx = tne.kling_index(frame, ITEMS, reference="ref", impute_by=["group", "period"])
    z, _ = _z(frame, [1, 1, 1])
    keys = frame["group"].to_numpy() * 2 + frame["period"].to_numpy()
    filled = z.copy()
    for k in np.unique(keys):
        rows = keys == k
        means = np.nanmean(z[rows], axis=0)
        block = filled[rows]
        block[np.isnan(block)] = np.take(means, np.nonzero(np.isnan(block))[1])
        filled[rows] = block
    expected = np.where(np.isnan(z).all(axis=1), np.nan, filled.mean(axis=1))
    np.testing.assert_allclose(idx.values, expected, atol=ATOL_INDEX)
    assert any("imputed at the mean" in n for n in idx.notes)


def test_anderson_index_matches_the_matrix_formula(frame):
    idx = tne.anderson_index(
        frame, ITEMS, reference="ref", higher_is_better={"c": False}
    )
    z, ref = _z(frame, [1, 1, -1])
    # pairwise-complete covariance on the reference rows
    k = len(ITEMS)
    sigma = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ok = ref & ~np.isnan(z[:, i]) & ~np.isnan(z[:, j])
            sigma[i, j] = np.cov(z[ok, i], z[ok, j], ddof=1)[0, 1]
    w = np.linalg.inv(sigma) @ np.ones(k)
    np.testing.assert_allclose(idx.covariance.to_numpy(), sigma, atol=ATOL_INDEX)
    np.testing.assert_allclose(idx.weights, w / w.sum(), atol=ATOL_INDEX)
    expected = np.full(len(frame), np.nan)
    for r in range(len(frame)):
        obs = ~np.isnan(z[r])
        if obs.any():  # weights of the observed items, renormalized
            expected[r] = (w[obs] @ z[r, obs]) / w[obs].sum()
    np.testing.assert_allclose(idx.values, expected, atol=ATOL_INDEX)
    # the two correlated items share weight; the independent one counts more
    assert idx.weights["c"] > idx.weights["a"]
    assert idx.weights["c"] > idx.weights["b"]


def test_standardize_rescales_on_the_reference_rows(frame):
    idx = tne.anderson_index(frame, ITEMS, reference="ref", standardize=True)
    ref = idx.values[frame["ref"]]
    assert ref.mean() == pytest.approx(0.0, abs=1e-12)
    assert ref.std(ddof=1) == pytest.approx(1.0, abs=1e-12)
    raw = tne.anderson_index(frame, ITEMS, reference="ref")
    np.testing.assert_allclose(
        idx.values, (raw.values - raw.values[frame["ref"]].mean())
        / raw.values[frame["ref"]].std(ddof=1), atol=ATOL_INDEX,
    )  # fmt: skip


def test_reference_from_a_spec_is_the_comparison_group_before_treatment():
    df = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(6), 4),
            "year": np.tile([2018, 2019, 2020, 2021], 6),
            "g": np.repeat([0, 0, 0, 2020, 2020, 2021], 4),
        }
    )
    gen = np.random.default_rng(1)
    df["a"], df["b"] = gen.normal(size=len(df)), gen.normal(size=len(df))
    spec = tne.PanelSpec(unit="unit", time="year", outcome="a", cohort="g")
    by_spec = tne.kling_index(df, ["a", "b"], reference=spec)
    mask = (df["g"] == 0) & (df["year"] < 2020)
    by_mask = tne.kling_index(df, ["a", "b"], reference=mask)
    np.testing.assert_allclose(by_spec.values, by_mask.values, atol=ATOL_INDEX)
    assert by_spec.n_reference == 6


def test_index_is_an_att_gt_outcome(small_staggered_panel):
    df = small_staggered_panel.assign(
        y2=lambda d: 2 * d["y"] + np.random.default_rng(2).normal(size=len(d))
    )
    spec = tne.PanelSpec(unit="unit", time="period", outcome="y", cohort="cohort")
    idx = tne.anderson_index(df, ["y", "y2"], reference=spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tne.SmallClusterWarning)
        res = tne.aggregate(
            tne.att_gt(idx.data, spec.update(outcome=idx.name), method="reg")
        )
    # linear index of linear outcomes: its ATT is the same combination of their ATTs
    atts = {}
    for y in ("y", "y2"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", tne.SmallClusterWarning)
            atts[y] = tne.aggregate(
                tne.att_gt(df, spec.update(outcome=y), method="reg")
            )
    combo = sum(
        idx.weights[y] * atts[y].estimates["ATT"] / idx.reference_sd[y]
        for y in ("y", "y2")
    )
    assert res.estimates["ATT"] == pytest.approx(combo, rel=1e-10)


# -- errors ----------------------------------------------------------------------
def test_errors(frame):
    with pytest.raises(SpecError, match="not in the data"):
        tne.kling_index(frame, ["a", "zz"], reference="ref")
    with pytest.raises(SpecError, match="at least two distinct"):
        tne.kling_index(frame, ["a"], reference="ref")
    with pytest.raises(TneEvalTypeError, match="list of column names"):
        tne.kling_index(frame, "a", reference="ref")
    with pytest.raises(TneEvalTypeError, match="must be numeric"):
        tne.kling_index(frame.assign(s="x"), ["a", "s"], reference="ref")
    const = frame.assign(k=1.0)
    with pytest.raises(DataError, match=r"constant .* on the .* reference rows"):
        tne.anderson_index(const, ["a", "k"], reference="ref")
    with pytest.raises(IdentificationError, match="no reference rows"):
        tne.kling_index(frame, ["a", "b"], reference=np.zeros(len(frame), bool))
    with pytest.raises(IdentificationError, match="singular"):
        tne.anderson_index(
            frame.assign(d=frame["a"] * 2 + 1), ["a", "d"], reference="ref"
        )
    with pytest.raises(SpecError, match="already has a column"):
        tne.kling_index(frame, ["a", "b"], reference="ref", name="group")
    with pytest.raises(TneEvalTypeError, match="boolean mask"):
        tne.kling_index(frame, ["a", "b"], reference="group")
    with pytest.raises(SpecError, match="same index as data"):
        tne.kling_index(
            frame, ["a", "b"], reference=frame["ref"].reset_index(drop=True)[::-1]
        )
    with pytest.raises(SpecError, match="3 values for"):
        tne.kling_index(frame, ["a", "b"], reference=np.array([True, False, True]))
    with pytest.raises(SpecError, match="which are not items"):
        tne.kling_index(
            frame, ["a", "b"], reference="ref", higher_is_better={"z": False}
        )
    with pytest.raises(TneEvalTypeError, match="higher_is_better must be"):
        tne.kling_index(frame, ["a", "b"], reference="ref", higher_is_better="c")
    with pytest.raises(SpecError, match="impute_by names"):
        tne.kling_index(frame, ["a", "b"], reference="ref", impute_by="nope")
    spec = tne.PanelSpec(unit="group", time="period", outcome="a", treatment="ref")
    with pytest.raises(SpecError, match=r"needs spec\.cohort"):
        tne.kling_index(frame, ["a", "b"], reference=spec)


def test_teacher_index_att_matches_the_implied_synthetic_truth():
    """The documented example: Anderson index of the six items, respondents only."""
    from tne_eval.datasets import load_synthetic

    items = [
        "digital_use_class", "pupil_devices", "hybrid_readiness", "platform_use",
        "collaboration_tools", "digital_self_efficacy",
    ]  # fmt: skip
    teachers = load_synthetic("teachers")
    truth = load_synthetic("truth")["outcomes"]
    respondents = teachers[teachers["responded"]]
    reference = (respondents["first_treated"] == 0) & (respondents["wave"] == 2019)
    spec = tne.RepeatedCrossSectionSpec(
        time="wave", outcome="x", group="school_id", cohort="first_treated",
        cluster="department", covariates=("social_index",),
    )  # fmt: skip
    for build in (tne.anderson_index, tne.kling_index):
        index = build(respondents, items, reference=reference)
        assert index.values.notna().all()  # respondents answer every item
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", tne.SmallClusterWarning)
            att = tne.aggregate(
                tne.att_gt(index.data, spec.update(outcome=index.name), method="dr")
            )
        implied = sum(
            index.weights[i]
            * truth[i]["weightings"]["teachers"]["simple"]
            / index.reference_sd[i]
            for i in items
        )
        row = att.to_frame().loc["ATT"]
        # sampling error: within three standard errors of the implied truth
        assert abs(row["estimate"] - implied) <= 3 * row["std_error"]
