"""The inference registry: supported sets derived from it, notes replaced by kind."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import tne_eval as tne
from tne_eval.did.callaway_santanna import SUPPORTED_INFERENCE as ATT_GT_SUPPORTED
from tne_eval.did.twfe import SUPPORTED_INFERENCE as TWFE_SUPPORTED
from tne_eval.errors import InferenceError, SmallClusterWarning
from tne_eval.inference import (
    CR2,
    CR3,
    IID,
    Cluster,
    ConleyTaber,
    FermanPinto,
    MultiplierBootstrap,
    WildBootstrap,
    supported,
)
from tne_eval.inference.registry import COMPUTATIONS, infer
from tne_eval.inference.scores import InfluenceScores, RegressionScores
from tne_eval.inference.survey import BoundSurveyDesign
from tne_eval.notes import INFERENCE_KINDS, NoteKind


def test_supported_sets_come_from_the_registry():
    assert supported(InfluenceScores) == (
        IID,
        Cluster,
        MultiplierBootstrap,
        CR2,
        CR3,
        WildBootstrap,
        ConleyTaber,
        FermanPinto,
        BoundSurveyDesign,
    )
    assert supported(RegressionScores) == (IID, Cluster, CR2, CR3, WildBootstrap)
    assert supported(InfluenceScores) == ATT_GT_SUPPORTED
    assert supported(RegressionScores) == TWFE_SUPPORTED
    assert set(COMPUTATIONS) == {
        (spec, store)
        for store in (InfluenceScores, RegressionScores)
        for spec in supported(store)
    }


@pytest.fixture(scope="module")
def fits():
    rng = np.random.default_rng(3)
    n, years = 120, np.arange(2015, 2021)
    g = rng.choice([2018, 2019, 0], size=n)
    df = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n), years.size),
            "year": np.tile(years, n),
            "g": np.repeat(g, years.size),
            "cl": np.repeat(np.arange(n) % 24, years.size),
        }
    )
    df["y"] = rng.normal(size=len(df)) + 1.0 * ((df.g > 0) & (df.year >= df.g))
    spec = tne.PanelSpec(
        unit="unit", time="year", outcome="y", cohort="g", cluster="cl"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tne.TneEvalWarning)
        return {
            "att_gt": tne.att_gt(df, spec, method="reg"),
            "twfe": tne.twfe(df, spec),
            "twfe_event_study": tne.twfe_event_study(df, spec),
        }


@pytest.mark.parametrize("name", ["att_gt", "twfe", "twfe_event_study"])
def test_with_inference_replaces_exactly_the_inference_notes(fits, name):
    res = fits[name]
    other = {n for n in res.notes if n.kind not in INFERENCE_KINDS}
    new = res.with_inference(Cluster(small_sample=False))
    assert {n for n in new.notes if n.kind not in INFERENCE_KINDS} == other
    inf_notes = [n for n in new.notes if n.kind is NoteKind.INFERENCE]
    assert len(inf_notes) == 1 and "without small-sample correction" in inf_notes[0]
    assert new.dof is None and res.dof == 23
    back = new.with_inference("cluster")
    np.testing.assert_allclose(back.std_errors, res.std_errors, rtol=1e-12)
    assert [n for n in back.notes] == [n for n in res.notes]


def test_iid_and_cluster_share_one_computation_per_store(fits):
    gt = fits["att_gt"]
    iid = gt.with_inference("iid")
    # IID on influence functions: every row (unit) its own cluster, normal.
    v = gt.scores.dense()
    se = np.sqrt((v**2).sum(axis=0)) / v.shape[0]
    ok = np.isfinite(iid.std_errors.to_numpy())
    np.testing.assert_allclose(iid.std_errors.to_numpy()[ok], se[ok], rtol=1e-12)
    assert "none (independent 'unit' rows)" in iid.summary().as_text()
    assert "Cluster variable: 'cl'" in gt.summary().as_text()


def test_reclustering_needs_a_refit(fits):
    for res in fits.values():
        with pytest.raises(
            InferenceError, match=r"needs a refit with spec\.cluster='unit'"
        ):
            res.with_inference(Cluster(by="unit"))


def test_registry_refuses_an_unknown_pair(fits):
    with pytest.raises(
        InferenceError, match="cannot be computed from RegressionScores"
    ):
        infer(MultiplierBootstrap(), fits["twfe"].scores)


def test_few_clusters_note_is_recomputed_and_warned(fits):
    gt = fits["att_gt"]
    assert not any(n.kind is NoteKind.FEW_CLUSTERS for n in gt.notes)
    store = gt.scores
    few = type(store)(
        values=store.values,
        ids=store.ids,
        cluster_code=store.cluster_code % 3,
        n_clusters=3,
        cluster_column="cl",
        row_cohort=store.row_cohort,
        row_weights=store.row_weights,
    )
    with pytest.warns(
        SmallClusterWarning, match=r"\('cl'; cohort 2018: 3, cohort 2019: 3; 3 clusters"
    ):
        out = infer(Cluster(), few)
    assert [n.kind for n in out.notes] == [NoteKind.INFERENCE, NoteKind.FEW_CLUSTERS]
