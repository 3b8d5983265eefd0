"""Difference-in-differences estimators for staggered adoption."""

from tne_eval.did.aggregate import aggregate
from tne_eval.did.callaway_santanna import att_gt
from tne_eval.did.pretrends import pre_trend_test

__all__ = ["aggregate", "att_gt", "pre_trend_test"]
