"""tne_eval: impact evaluation of the Territoires numériques éducatifs programme.

The public API is re-exported here; see the documentation for the data model
(school years coded by their start year: 2020 = 2020-21; cohorts = first treated
period, 0 = never treated by default).
"""

from tne_eval import errors as _errors
from tne_eval import territories
from tne_eval._version import __version__
from tne_eval.data import (
    PanelSpec,
    PreparedPanel,
    RepeatedCrossSectionSpec,
    anderson_index,
    cohort_from_treatment,
    kling_index,
    prepare_panel,
)
from tne_eval.did import (
    aggregate,
    att_gt,
    did_2x2,
    pre_trend_test,
    twfe,
    twfe_event_study,
)
from tne_eval.errors import *  # noqa: F403  (every error and warning, see __all__)
from tne_eval.inference import (
    CR2,
    CR3,
    IID,
    Cluster,
    ConleyTaber,
    FermanPinto,
    MultiplierBootstrap,
    RandomizationResult,
    WildBootstrap,
    adjust_pvalues,
    outcome_family,
    randomization_test,
)
from tne_eval.matching import (
    CrossSectionSpec,
    aggregate_units,
    balance,
    match,
    matched_panel,
    propensity_score,
    trajectories,
    weightit,
)
from tne_eval.power import (
    PowerDesign,
    VarianceComponents,
    mde,
    power_analytic,
    simulate_power,
    variance_components,
)
from tne_eval.sensitivity import SensitivityResult, honest_did
from tne_eval.survey import (
    SurveyDesign,
    nonresponse_weights,
    rake,
    survey_inference,
    survey_mean,
    survey_ratio,
    survey_regression,
)

__all__ = [
    "CR2",
    "CR3",
    "IID",
    "Cluster",
    "ConleyTaber",
    "CrossSectionSpec",
    "FermanPinto",
    "MultiplierBootstrap",
    "PanelSpec",
    "PowerDesign",
    "PreparedPanel",
    "RandomizationResult",
    "RepeatedCrossSectionSpec",
    "SensitivityResult",
    "SurveyDesign",
    "VarianceComponents",
    "WildBootstrap",
    "__version__",
    "adjust_pvalues",
    "aggregate",
    "aggregate_units",
    "anderson_index",
    "att_gt",
    "balance",
    "cohort_from_treatment",
    "did_2x2",
    "honest_did",
    "kling_index",
    "match",
    "matched_panel",
    "nonresponse_weights",
    "outcome_family",
    "mde",
    "power_analytic",
    "pre_trend_test",
    "prepare_panel",
    "propensity_score",
    "randomization_test",
    "rake",
    "survey_inference",
    "survey_mean",
    "survey_ratio",
    "survey_regression",
    "simulate_power",
    "territories",
    "trajectories",
    "twfe",
    "twfe_event_study",
    "variance_components",
    "weightit",
    # every error and warning of tne_eval.errors, imported above
    *_errors.__all__,
]
