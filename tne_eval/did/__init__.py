"""Difference-in-differences estimators for staggered adoption."""

from tne_eval.did.aggregate import aggregate
from tne_eval.did.callaway_santanna import att_gt
from tne_eval.did.pretrend_tests import PreTrendTest, PreTrendTests, pre_trend_tests
from tne_eval.did.pretrends import pre_trend_test
from tne_eval.did.twfe import twfe, twfe_event_study
from tne_eval.did.two_by_two import did_2x2

__all__ = [
    "PreTrendTest",
    "PreTrendTests",
    "aggregate",
    "att_gt",
    "did_2x2",
    "pre_trend_test",
    "pre_trend_tests",
    "twfe",
    "twfe_event_study",
]
