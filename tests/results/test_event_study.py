"""One event-study protocol for the TWFE event study and the dynamic aggregation."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

import tne_eval as tne
from tne_eval.errors import SpecError
from tne_eval.results.event_study import EventStudy


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(8)
    n, years = 150, np.arange(2014, 2021)
    g = rng.choice([2017, 2018, 0], size=n)
    df = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n), years.size),
            "year": np.tile(years, n),
            "g": np.repeat(g, years.size),
        }
    )
    e = df.year - df.g
    df["y"] = rng.normal(size=len(df)) + np.where((df.g > 0) & (e >= 0), 1 + e, 0.0)
    return df


@pytest.fixture(scope="module")
def studies(panel):
    spec = tne.PanelSpec(unit="unit", time="year", outcome="y", cohort="g")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tne.TneEvalWarning)
        gt = tne.att_gt(panel, spec, method="reg")
        return {
            "twfe": tne.twfe_event_study(panel, spec, leads=3, lags=3),
            "cs": tne.aggregate(gt, "dynamic"),
            "cs_boot": tne.aggregate(
                gt, "dynamic", inference=tne.MultiplierBootstrap(reps=199, seed=4)
            ),
            "gt": gt,
        }


@pytest.mark.parametrize("name", ["twfe", "cs", "cs_boot"])
def test_every_event_study_has_the_same_shape(studies, name):
    es = studies[name].event_study()
    assert isinstance(es, EventStudy)
    f = es.frame
    assert list(f.columns[:4]) == ["event_time", "reference", "estimate", "std_error"]
    assert (np.diff(f["event_time"].to_numpy()) > 0).all()
    assert es.vcov.shape == (len(f), len(f))
    assert list(es.vcov.index) == list(f.index)
    est = f.loc[~f["reference"], "std_error"].to_numpy()
    np.testing.assert_allclose(
        np.sqrt(np.diag(es.vcov.to_numpy()))[~f["reference"].to_numpy()],
        est,
        rtol=0.25 if name == "cs_boot" else 1e-10,  # bootstrap SEs vs analytic vcov
    )
    assert (es.draws is not None) == (name == "cs_boot")
    assert isinstance(es.plot(), Axes)


def test_reference_rows_of_the_twfe_event_study(studies):
    es = studies["twfe"].event_study()
    ref = es.frame[es.frame["reference"]]
    assert list(ref["event_time"]) == [-1] and ref["estimate"].iloc[0] == 0.0
    assert (es.vcov.loc[ref.index] == 0).all().all()
    assert list(es.pre["event_time"]) == [-3, -2]
    assert list(es.post["event_time"]) == [0, 1, 2, 3]


def test_the_overall_row_is_not_an_event_time(studies):
    es = studies["cs"].event_study()
    assert "overall" not in es.frame.index
    truth = {0: 1.0, 1: 2.0, 2: 3.0}
    for e, tau in truth.items():
        row = es.frame[es.frame["event_time"] == e].iloc[0]
        assert abs(row["estimate"] - tau) < 5 * row["std_error"]


def test_other_aggregations_are_not_event_studies(studies):
    with pytest.raises(SpecError, match="kind='group' has no event-time structure"):
        tne.aggregate(studies["gt"], "group").event_study()
