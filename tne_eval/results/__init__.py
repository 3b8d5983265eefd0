"""Result objects shared by all estimators."""

from tne_eval.results.base import EstimationResult, Provenance, make_provenance
from tne_eval.results.summary import Summary

__all__ = ["EstimationResult", "Provenance", "Summary", "make_provenance"]
