"""Survey outcomes: sample designs, design-based variances, non-response weights.

:class:`SurveyDesign` names the strata, PSUs, fpc and weights of a sample;
:func:`survey_inference` gives any influence-function result (``att_gt``,
``aggregate``, ``did_2x2``) design-based standard errors; :func:`survey_mean`,
:func:`survey_ratio` and :func:`survey_regression` are the design-based
estimators themselves; :func:`nonresponse_weights` and :func:`rake` adjust the
weights for unit non-response and calibrate them to known margins.
"""

from tne_eval.survey.design import SurveyDesign
from tne_eval.survey.estimators import survey_mean, survey_ratio, survey_regression
from tne_eval.survey.inference import survey_inference
from tne_eval.survey.nonresponse import AdjustedWeights, nonresponse_weights, rake
from tne_eval.survey.results import SurveyResult

__all__ = [
    "AdjustedWeights",
    "SurveyDesign",
    "SurveyResult",
    "nonresponse_weights",
    "rake",
    "survey_inference",
    "survey_mean",
    "survey_ratio",
    "survey_regression",
]
