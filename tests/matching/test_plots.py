"""Balance plots: they return Axes, draw on a given Axes, and show what they say."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
from matplotlib.axes import Axes

from tests.matching import lalonde
from tne_eval.matching import CrossSectionSpec, balance, match, propensity_score
from tne_eval.plotting.balance import plot_love, plot_propensity

SPEC = CrossSectionSpec(
    outcome="re78",
    treatment="treat",
    covariates=("age", "educ", "race", "married", "nodegree", "re74", "re75"),
)


@pytest.fixture(scope="module")
def bal():
    data = lalonde.frame()
    return balance(data, SPEC, weights=match(data, SPEC))


def test_love_plot_returns_axes_and_reuses_ax(bal):
    ax = plot_love(bal)
    assert isinstance(ax, Axes)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(bal.unadjusted.index)
    assert len(ax.collections) == 2  # unadjusted and adjusted points
    assert any(line.get_xdata()[0] == 0.1 for line in ax.get_lines())
    _, given = plt.subplots()
    assert plot_love(bal, ax=given, threshold=0.25) is given
    assert any(line.get_xdata()[0] == 0.25 for line in given.get_lines())
    assert bal.plot(ax=given) is given


def test_love_plot_without_adjustment_signed():
    data = lalonde.frame()
    ax = plot_love(balance(data, SPEC), absolute=False, threshold=None)
    assert len(ax.collections) == 1
    assert ax.get_xlabel().startswith("Standardised")


@pytest.mark.filterwarnings("ignore::tne_eval.errors.OverlapWarning")
def test_propensity_plot_returns_axes_and_bounds():
    data = lalonde.frame()
    ps = propensity_score(data, SPEC, discard="both")
    _, given = plt.subplots()
    assert plot_propensity(ps, ax=given) is given
    xs = sorted(float(line.get_xdata()[0]) for line in given.get_lines())
    assert xs == pytest.approx(list(ps.support))
    assert isinstance(propensity_score(data, SPEC).plot(), Axes)
