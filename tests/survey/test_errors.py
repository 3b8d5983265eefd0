"""Every remaining error message of the survey module, and the result protocol."""

from __future__ import annotations

import matplotlib.axes
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import tne_eval as tne
from tne_eval.errors import (
    DataError,
    EmptyWeightingClassError,
    IdentificationError,
    SpecError,
    TneEvalTypeError,
)
from tne_eval.survey.design import design_arrays


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "h": ["A", "A", "A", "B", "B", "B"],
            "psu": [1, 1, 2, 3, 4, 4],
            "y": [1.0, 3.0, 5.0, 2.0, 4.0, 6.0],
            "x": [1.0, 2.0, 1.0, 2.0, 1.0, 2.0],
            "w": [1.0, 2.0, 1.0, 2.0, 1.0, 2.0],
        }
    )


DESIGN = tne.SurveyDesign(strata="h", psu="psu", weights="w")


def test_design_array_errors():
    data = _frame()
    with pytest.raises(TneEvalTypeError, match="nest must be True or False"):
        tne.SurveyDesign(nest="yes")
    with pytest.raises(DataError, match=r"vary within 'psu'"):
        design_arrays(data, DESIGN.update(psu=None, strata="h"), key="psu")
    with pytest.raises(DataError, match="not unique"):
        design_arrays(data.set_index(pd.Index([0, 0, 1, 2, 3, 4])), DESIGN)
    with pytest.raises(DataError, match="non-positive"):
        tne.survey_mean(data.assign(N=0.0), "y", DESIGN.update(fpc="N"))
    with pytest.raises(DataError, match="negative or non-finite"):
        tne.survey_mean(data.assign(w=-1.0), "y", DESIGN)


def test_estimator_errors():
    data = _frame()
    with pytest.raises(
        TneEvalTypeError, match=r"design must be a tne_eval\.SurveyDesign"
    ):
        tne.survey_mean(data, "y", "h")
    with pytest.raises(DataError, match="duplicated index"):
        tne.survey_mean(data.set_index(pd.Index([0, 0, 1, 2, 3, 4])), "y", DESIGN)
    with pytest.raises(TneEvalTypeError, match="must be a boolean column"):
        tne.survey_mean(data.assign(d=1), "y", DESIGN, domain="d")
    with pytest.raises(DataError, match="No row has every column"):
        tne.survey_mean(data.assign(y=np.nan), "y", DESIGN)
    with pytest.raises(DataError, match="sum to zero"):
        tne.survey_mean(data.assign(w=0.0), "y", DESIGN)
    with pytest.raises(IdentificationError, match="denominator 'z' is zero"):
        tne.survey_ratio(data.assign(z=0.0), "y", "z", DESIGN)
    with pytest.raises(TneEvalTypeError, match=r"write covariates=\('x',\)"):
        tne.survey_regression(data, "y", "x", DESIGN)
    with pytest.raises(SpecError, match="covariates or an intercept"):
        tne.survey_regression(data, "y", [], DESIGN, intercept=False)
    with pytest.raises(IdentificationError, match="singular"):
        tne.survey_regression(data.assign(x2=2 * data["x"]), "y", ["x", "x2"], DESIGN)
    with pytest.raises(SpecError, match="reference='z' is not supported"):
        tne.survey_mean(data, "y", DESIGN, reference="z")


def test_nonresponse_remaining_errors():
    data = _frame().assign(r=[True, False, True, True, False, True], c=["a"] * 6)
    with pytest.raises(DataError, match="Weighting-class column 'c' is missing"):
        tne.nonresponse_weights(data.assign(c=[None] + ["a"] * 5), "r", cells=("c",))
    with pytest.raises(DataError, match="have missing values"):
        tne.nonresponse_weights(data.assign(x=np.nan), "r", covariates=("x",))
    with pytest.raises(EmptyWeightingClassError, match="Use fewer classes"):
        tne.nonresponse_weights(
            data, "r", covariates=("x",), classes=6, min_respondents=2
        )
    with pytest.raises(TneEvalTypeError, match="non-empty mapping"):
        tne.rake(data, {})
    with pytest.raises(DataError, match="same index as data"):
        tne.rake(
            data, {"c": {"a": 6.0}}, weights=pd.Series(np.ones(6)).set_axis(range(1, 7))
        )


def test_survey_result_protocol():
    data = _frame()
    res = tne.survey_regression(data, "y", ["x"], DESIGN)
    frame = res.to_frame()
    assert list(frame.index) == ["Intercept", "x"]
    assert list(frame.columns) == [
        "estimate",
        "std_error",
        "statistic",
        "p_value",
        "conf_low",
        "conf_high",
    ]
    crit = stats.t.ppf(0.975, res.dof)
    np.testing.assert_allclose(
        frame["conf_high"] - frame["estimate"], crit * frame["std_error"], rtol=1e-12
    )
    normal = tne.survey_regression(data, "y", ["x"], DESIGN, reference="normal")
    assert normal.dof is None
    text = res.summary().as_text()
    assert "Design-based survey estimates" in text and "strata 'h'" in text
    assert isinstance(res.plot(), matplotlib.axes.Axes)
    assert res.influence.shape == (6, 2)
    assert len(res.provenance.data_fingerprint) == 64
    changed = tne.survey_regression(data.assign(y=data["y"] + 1), "y", ["x"], DESIGN)
    assert changed.provenance.data_fingerprint != res.provenance.data_fingerprint


def test_results_invariant_to_row_order():
    data = _frame()
    a = tne.survey_mean(data, "y", DESIGN)
    b = tne.survey_mean(data.sample(frac=1.0, random_state=3), "y", DESIGN)
    np.testing.assert_allclose(a.std_errors, b.std_errors, rtol=1e-12)
    np.testing.assert_allclose(a.estimates, b.estimates, rtol=1e-12)
