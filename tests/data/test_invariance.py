"""prepare_panel never mutates its input and does not depend on row order or id dtypes."""

import numpy as np
import pandas as pd
import pytest

from tne_eval.data import PanelSpec, prepare_panel
from tne_eval.errors import DroppedObservationsWarning

SPEC = PanelSpec(
    unit="unit",
    time="period",
    outcome="y",
    cohort="cohort",
    cluster="cluster",
    weights="w",
    covariates=("x",),
)


def summary(prep):
    return (prep.cohort, prep.wide(), prep.wide("x"), prep.cluster_code, prep.periods)


def test_input_not_mutated(small_staggered_panel):
    df = small_staggered_panel.sample(frac=1, random_state=1)
    df.loc[df.index[:3], "y"] = np.nan
    before = df.copy(deep=True)
    with pytest.warns(DroppedObservationsWarning, match="missing values"):
        prepare_panel(df, SPEC)
    pd.testing.assert_frame_equal(df, before)


def test_treatment_spec_does_not_add_columns(small_staggered_panel):
    df = small_staggered_panel.assign(
        d=lambda d: ((d.cohort > 0) & (d.period >= d.cohort)).astype(int)
    ).drop(columns="cohort")
    before = df.copy(deep=True)
    prepare_panel(df, SPEC.update(cohort=None, treatment="d"))
    pd.testing.assert_frame_equal(df, before)


def test_row_order_invariance(small_staggered_panel):
    a = prepare_panel(small_staggered_panel, SPEC)
    b = prepare_panel(small_staggered_panel.sample(frac=1, random_state=2), SPEC)
    for x, y in zip(summary(a), summary(b)):
        np.testing.assert_array_equal(x, y)
    assert a.fingerprint == b.fingerprint


@pytest.mark.parametrize("kind", ["str", "category", "int32"])
def test_id_dtype_invariance(small_staggered_panel, kind):
    base = prepare_panel(small_staggered_panel, SPEC)
    df = small_staggered_panel.copy()
    if kind == "str":
        # zero-padded so that string order equals numeric order
        df["unit"] = df["unit"].map(lambda u: f"S{u:03d}")
        df["cluster"] = df["cluster"].map(lambda c: f"D{c}")
    elif kind == "category":
        df["unit"] = pd.Categorical(df["unit"])
        df["cluster"] = pd.Categorical(df["cluster"].astype(str))
    else:
        df["unit"] = df["unit"].astype("int32")
    prep = prepare_panel(df, SPEC)
    for x, y in zip(summary(base), summary(prep)):
        np.testing.assert_array_equal(x, y)


def test_unit_relabelling_only_permutes(small_staggered_panel):
    base = prepare_panel(small_staggered_panel, SPEC)
    perm = np.random.default_rng(3).permutation(30)
    df = small_staggered_panel.assign(unit=lambda d: perm[d["unit"]])
    prep = prepare_panel(df, SPEC)
    # unit k of `prep` is the old unit whose new label is k
    old_of_new = np.argsort(perm)
    np.testing.assert_array_equal(prep.cohort, base.cohort[old_of_new])
    np.testing.assert_array_equal(prep.wide(), base.wide()[old_of_new])
