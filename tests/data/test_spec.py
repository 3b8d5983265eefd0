import pytest

from tne_eval.data import PanelSpec, RepeatedCrossSectionSpec
from tne_eval.errors import SpecError, TneEvalTypeError


def test_panel_spec_roles_and_columns():
    spec = PanelSpec(
        unit="s",
        time="t",
        outcome="y",
        cohort="g",
        cluster="d",
        weights="w",
        covariates=["x1", "x2"],
        nesting=["d"],
    )
    assert spec.covariates == ("x1", "x2")
    assert spec.columns == ("s", "t", "y", "g", "d", "w", "x1", "x2")
    assert spec.cluster_col == "d"
    assert spec.update(cluster=None).cluster_col == "s"
    assert spec.update(cluster=None) is not spec
    with pytest.raises(AttributeError):
        spec.unit = "other"


def test_rcs_spec_roles():
    spec = RepeatedCrossSectionSpec(
        time="t", outcome="y", group="s", cohort="g", id="p"
    )
    assert spec.unit == "s"
    assert spec.cluster_col == "s"
    assert spec.columns[:2] == ("p", "s")


@pytest.mark.parametrize("role", ["unit", "time", "outcome"])
def test_empty_role_rejected(role):
    kwargs = {"unit": "s", "time": "t", "outcome": "y", role: ""}
    with pytest.raises(
        SpecError, match=rf"PanelSpec.{role} must be a non-empty column"
    ):
        PanelSpec(**kwargs)


def test_covariates_as_single_string_rejected():
    with pytest.raises(TneEvalTypeError, match="covariates must be a sequence"):
        PanelSpec(unit="s", time="t", outcome="y", covariates="x")


def test_nesting_as_single_string_rejected():
    with pytest.raises(TneEvalTypeError, match="nesting must be a sequence"):
        PanelSpec(unit="s", time="t", outcome="y", nesting="d")


def test_duplicate_covariate_rejected():
    with pytest.raises(SpecError, match="covariates lists a column twice"):
        PanelSpec(unit="s", time="t", outcome="y", covariates=("x", "x"))


def test_never_treated_code_rejected():
    with pytest.raises(SpecError, match="never_treated must be one of"):
        PanelSpec(unit="s", time="t", outcome="y", never_treated="none")


def test_cohort_and_treatment_exclusive():
    with pytest.raises(SpecError, match="names both cohort='g' and treatment='d'"):
        PanelSpec(unit="s", time="t", outcome="y", cohort="g", treatment="d")


def test_roles_must_differ():
    with pytest.raises(SpecError, match="must name different columns"):
        PanelSpec(unit="s", time="s", outcome="y")
    with pytest.raises(SpecError, match="must name different columns"):
        RepeatedCrossSectionSpec(time="t", outcome="y", group="t")


def test_update_unknown_role():
    spec = PanelSpec(unit="s", time="t", outcome="y")
    with pytest.raises(SpecError, match=r"unknown role\(s\) \['clusters'\]"):
        spec.update(clusters="d")
