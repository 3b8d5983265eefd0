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
    cohort_from_treatment,
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
    randomization_test,
)
from tne_eval.matching import (
    CrossSectionSpec,
    balance,
    match,
    matched_panel,
    propensity_score,
    weightit,
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
    "PreparedPanel",
    "RandomizationResult",
    "RepeatedCrossSectionSpec",
    "WildBootstrap",
    "__version__",
    "aggregate",
    "att_gt",
    "balance",
    "cohort_from_treatment",
    "did_2x2",
    "match",
    "matched_panel",
    "pre_trend_test",
    "prepare_panel",
    "propensity_score",
    "randomization_test",
    "territories",
    "twfe",
    "twfe_event_study",
    "weightit",
    # every error and warning of tne_eval.errors, imported above
    *_errors.__all__,
]
