"""Power and minimum detectable effects of the clustered staggered DiD of TNE.

:mod:`.design` describes the design and the variance components,
:mod:`.analytic` gives the exact standard error, MDE and power under the
random-effects model, :mod:`.components` estimates the components from a panel
and :mod:`.simulate` estimates power by simulation for any estimator and
inference.
"""

from tne_eval.power.analytic import (
    AnalyticPower,
    estimand_weights,
    mde,
    power_analytic,
    power_curve,
)
from tne_eval.power.components import pooled_within_variance, variance_components
from tne_eval.power.design import PowerDesign, VarianceComponents
from tne_eval.power.simulate import PowerResult, RandomEffectsPanel, simulate_power

__all__ = [
    "AnalyticPower",
    "PowerDesign",
    "PowerResult",
    "RandomEffectsPanel",
    "VarianceComponents",
    "estimand_weights",
    "mde",
    "pooled_within_variance",
    "power_analytic",
    "power_curve",
    "simulate_power",
    "variance_components",
]
