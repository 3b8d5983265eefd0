"""Exception and warning hierarchy of tne_eval.

Every error raised on bad user input derives from :class:`TneEvalError` and from
``ValueError`` or ``TypeError``, so ``except ValueError`` keeps working. Every
warning derives from :class:`TneEvalWarning` so users can filter them with the
standard :mod:`warnings` machinery; the library never changes behaviour through
environment variables.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataError",
    "DroppedObservationsWarning",
    "EmptyWeightingClassError",
    "IdentificationError",
    "InferenceError",
    "InferenceFallbackWarning",
    "LonelyPSUError",
    "OverlapWarning",
    "SmallClusterWarning",
    "SpecError",
    "StaggeredAdoptionWarning",
    "TneEvalError",
    "TneEvalTypeError",
    "TneEvalWarning",
]


class TneEvalError(Exception):
    """Root of all tne_eval errors."""


class TneEvalTypeError(TneEvalError, TypeError):
    """An argument or a column has the wrong type (e.g. text where numbers are needed)."""


class SpecError(TneEvalError, ValueError):
    """A spec or an argument is inconsistent with itself or with the data's columns."""


class DataError(TneEvalError, ValueError):
    """The data violate a requirement (duplicates, treatment reversal, NaN keys, ...)."""


class IdentificationError(TneEvalError, ValueError):
    """The estimand is not identified (no comparison units, singular design, ...)."""


class InferenceError(TneEvalError, ValueError):
    """The requested inference is unsupported or impossible for this estimator."""


class LonelyPSUError(InferenceError):
    """A stratum of a survey design has a single PSU and ``lonely_psu="fail"``."""


class EmptyWeightingClassError(DataError):
    """A non-response weighting class has no respondents (collapse it)."""


class ConfigError(TneEvalError, ValueError):
    """A configuration object (e.g. of the synthetic world) is invalid."""


class TneEvalWarning(UserWarning):
    """Root of all tne_eval warnings."""


class DroppedObservationsWarning(TneEvalWarning):
    """Rows or units were dropped; the count is in the message and the result's notes."""


class OverlapWarning(TneEvalWarning):
    """Propensity scores near 0 or 1; trimming was applied."""


class InferenceFallbackWarning(TneEvalWarning):
    """The requested inference could not be computed as asked; a fallback was used."""


class SmallClusterWarning(TneEvalWarning):
    """Few clusters (or few treated clusters) for cluster-robust analytic inference."""


class StaggeredAdoptionWarning(TneEvalWarning):
    """A TWFE benchmark was fitted on staggered adoption, where it is biased."""
