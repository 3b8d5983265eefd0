"""Diagnostics of estimands and designs (TWFE weights; later decompositions)."""

from tne_eval.diagnostics.twfe_weights import dcdh_weights

__all__ = ["dcdh_weights"]
