"""Data model: column-role specs and validation of input frames."""

from tne_eval.data.checks import CovariateProblems, covariate_problems, outcome_note
from tne_eval.data.cohorts import cohort_from_treatment
from tne_eval.data.indices import SummaryIndex, anderson_index, kling_index
from tne_eval.data.prepare import DropRecord, DropReport, PreparedPanel, prepare_panel
from tne_eval.data.spec import PanelSpec, RepeatedCrossSectionSpec

__all__ = [
    "CovariateProblems",
    "DropRecord",
    "DropReport",
    "PanelSpec",
    "PreparedPanel",
    "RepeatedCrossSectionSpec",
    "SummaryIndex",
    "anderson_index",
    "cohort_from_treatment",
    "covariate_problems",
    "kling_index",
    "outcome_note",
    "prepare_panel",
]
