"""Design-based variances of DiD results (att_gt, aggregate) on the teacher survey.

References: (1) the analytic cluster-robust variance of the same influence
functions (``Cluster()``, G/(G-1)), which the design reproduces with one
stratum and the clusters as PSUs; (2) a refit of ``att_gt`` clustered by school;
(3) a pandas group-by evaluation of the stratified formula on ``.influence``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import tne_eval as tne
from tests.tolerances import RTOL_CLOSED_FORM
from tne_eval.datasets import load_synthetic
from tne_eval.errors import DataError, InferenceError, SpecError
from tne_eval.inference import registry
from tne_eval.inference.scores import InfluenceScores
from tne_eval.inference.survey import BoundSurveyDesign, survey_from_influence

SPEC = tne.RepeatedCrossSectionSpec(
    time="wave",
    outcome="practice_index",
    group="school_id",
    cohort="first_treated",
    cluster="department",
    weights="design_weight",
    id="teacher_id",
    covariates=("social_index",),
)
SCHOOLS = tne.SurveyDesign(psu="school_id", weights="design_weight")


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tne.SmallClusterWarning)
        warnings.simplefilter("ignore", tne.DroppedObservationsWarning)
        warnings.simplefilter("ignore", tne.StaggeredAdoptionWarning)
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def teachers() -> pd.DataFrame:
    return load_synthetic("teachers")


@pytest.fixture(scope="module")
def gt(teachers):
    return _quiet(tne.att_gt, teachers, SPEC, method="reg")


@pytest.fixture(scope="module")
def dynamic(gt):
    return _quiet(tne.aggregate, gt, "dynamic")


def test_departments_as_psus_equal_cluster_robust(teachers, gt, dynamic):
    for res in (gt, dynamic):
        ours = _quiet(
            tne.survey_inference, res, teachers, SCHOOLS, cluster="department"
        )
        np.testing.assert_allclose(
            ours.std_errors, res.std_errors, rtol=RTOL_CLOSED_FORM
        )
        np.testing.assert_allclose(ours.estimates, res.estimates, rtol=0)
        assert ours.dof == res.dof == 100
        assert isinstance(ours.inference, BoundSurveyDesign)


def test_schools_as_psus_equal_refit_clustered_by_school(teachers, gt):
    ours = tne.survey_inference(gt, teachers, SCHOOLS)
    refit = _quiet(tne.att_gt, teachers, SPEC.update(cluster="school_id"), method="reg")
    # 4 schools have no respondent: kept as PSUs with zero totals, so the design
    # counts 3800 PSUs where the refit counts 3796 clusters; only n/(n-1) differs
    assert ours.n_clusters == 3800 and refit.n_clusters == 3796
    factor = np.sqrt((3800 / 3799) / (3796 / 3795))
    np.testing.assert_allclose(
        ours.std_errors, refit.std_errors * factor, rtol=RTOL_CLOSED_FORM
    )
    assert any("have no row in the estimate" in n for n in ours.notes)


def test_stratified_by_department_against_groupby(teachers, dynamic):
    design = SCHOOLS.update(strata="department")
    ours = tne.survey_inference(dynamic, teachers, design)
    z = dynamic.influence / dynamic.scores.n
    rows = teachers.set_index("teacher_id").loc[z.index, ["department", "school_id"]]
    totals = z.groupby(
        [rows["department"].to_numpy(), rows["school_id"].to_numpy()]
    ).sum()
    # schools without respondents are PSUs with zero totals
    allpsu = teachers.drop_duplicates("school_id").set_index(
        ["department", "school_id"]
    )
    totals = totals.reindex(allpsu.index, fill_value=0.0)
    var = 0.0
    for _, t in totals.groupby(level=0):
        n = len(t)
        var = var + n / (n - 1) * ((t - t.mean()) ** 2).sum()
    np.testing.assert_allclose(ours.std_errors, np.sqrt(var), rtol=RTOL_CLOSED_FORM)
    assert ours.dof == 3800 - 101
    assert any("single treatment cohort" in n for n in ours.notes)


def test_fpc_with_schools_as_strata_reduces_variance(teachers, gt):
    # teachers are a sample within every school: schools as strata, teachers as
    # PSUs (rows), fpc = the school's number of teachers
    design = tne.SurveyDesign(
        strata="school_id",
        fpc="n_teachers",
        weights="design_weight",
        lonely_psu="certainty",
    )
    data = teachers.assign(
        # the strata are school-waves: one sample per school and wave
        school_id=teachers["school_id"] + "-" + teachers["wave"].astype(str)
    )
    ours = tne.survey_inference(gt, data, design)
    wr = tne.survey_inference(gt, data, design.update(fpc=None))
    assert (ours.std_errors < wr.std_errors).all()
    assert ours.dof == len(teachers) - data["school_id"].nunique()


def test_survey_inference_leaves_inputs_alone(teachers, gt):
    before = teachers.copy(deep=True)
    se = gt.std_errors.copy()
    tne.survey_inference(gt, teachers, SCHOOLS)
    pd.testing.assert_frame_equal(teachers, before)
    pd.testing.assert_series_equal(gt.std_errors, se)


def test_aggregate_after_survey_inference_keeps_the_design(teachers, gt):
    by_dep = _quiet(tne.survey_inference, gt, teachers, SCHOOLS, cluster="department")
    agg = _quiet(tne.aggregate, by_dep)
    assert "survey design" in agg.inference.describe()
    assert np.isfinite(agg.std_errors).all()
    plain = _quiet(tne.aggregate, by_dep, inference="cluster")
    assert np.isfinite(plain.std_errors).all()


def test_pretest_uses_the_design(small_staggered_panel):
    spec = tne.PanelSpec(
        unit="unit", time="period", outcome="y", cohort="cohort", weights="w"
    )
    gt = tne.att_gt(small_staggered_panel, spec, method="reg")
    design = tne.SurveyDesign(psu="cluster", weights="w")
    ours = _quiet(tne.survey_inference, gt, small_staggered_panel, design)
    refit = _quiet(
        tne.att_gt, small_staggered_panel, spec.update(cluster="cluster"), method="reg"
    )
    np.testing.assert_allclose(ours.std_errors, refit.std_errors, rtol=RTOL_CLOSED_FORM)
    pre = ~gt.table["post"].to_numpy()
    v = ours.vcov.to_numpy()[np.ix_(pre, pre)]
    est = gt.estimates.to_numpy()[pre]
    assert ours.pretest.statistic == pytest.approx(
        est @ np.linalg.solve(v, est), rel=1e-10
    )


def test_errors(teachers, gt, small_staggered_panel):
    with pytest.raises(SpecError, match=r"spec\.weights='design_weight'"):
        tne.survey_inference(gt, teachers, SCHOOLS.update(weights="n_teachers"))
    no_id = _quiet(tne.att_gt, teachers, SPEC.update(id=None), method="reg")
    with pytest.raises(SpecError, match="id='teacher_id'"):
        tne.survey_inference(no_id, teachers, SCHOOLS)
    with pytest.raises(SpecError, match="fpc"):
        tne.survey_inference(
            gt, teachers, SCHOOLS.update(fpc="n_teachers"), cluster="department"
        )
    with pytest.raises(DataError, match="not nested in cluster='level'"):
        tne.survey_inference(
            gt, teachers, SCHOOLS.update(psu="department"), cluster="level"
        )
    with pytest.raises(
        DataError, match="strata 'level' cut across cluster='department'"
    ):
        tne.survey_inference(
            gt, teachers, SCHOOLS.update(strata="level"), cluster="department"
        )
    with pytest.raises(DataError, match="not in the design's data"):
        tne.survey_inference(gt, teachers.iloc[100:], SCHOOLS)
    spec = tne.PanelSpec(unit="unit", time="period", outcome="y", cohort="cohort")
    twfe = _quiet(tne.twfe, small_staggered_panel, spec)
    with pytest.raises(InferenceError, match="stores influence functions"):
        tne.survey_inference(
            twfe, small_staggered_panel, tne.SurveyDesign(psu="cluster")
        )
    with pytest.raises(tne.TneEvalTypeError, match="SurveyDesign"):
        tne.survey_inference(gt, teachers, "school_id")


def test_registry_entry(teachers, gt, dynamic):
    """A bound design is a plain inference of the registry."""
    key = (BoundSurveyDesign, InfluenceScores)
    assert registry.COMPUTATIONS[key] is survey_from_influence
    bound = SCHOOLS.bind(teachers, id="teacher_id", cluster="department")
    direct = _quiet(
        tne.survey_inference, dynamic, teachers, SCHOOLS, cluster="department"
    )
    via = _quiet(dynamic.with_inference, bound)
    np.testing.assert_allclose(via.std_errors, direct.std_errors, rtol=1e-12)
    # aggregating a design-based group-time result keeps the design
    survey_gt = _quiet(
        tne.survey_inference, gt, teachers, SCHOOLS, cluster="department"
    )
    agg = _quiet(tne.aggregate, survey_gt, "dynamic")
    np.testing.assert_allclose(agg.std_errors, direct.std_errors, rtol=1e-12)
    # and att_gt takes it at fit time
    fit = _quiet(tne.att_gt, teachers, SPEC, method="reg", inference=bound)
    np.testing.assert_allclose(fit.std_errors, survey_gt.std_errors, rtol=1e-12)
    assert "survey design" in fit.inference.describe()
