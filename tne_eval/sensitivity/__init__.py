"""Sensitivity of event-study conclusions to violations of parallel trends."""

from tne_eval.sensitivity.honest_did import SensitivityResult, honest_did

__all__ = ["SensitivityResult", "honest_did"]
