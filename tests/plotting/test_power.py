"""plot_power: analytic curve, simulated points, MDE marked, labelled axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.container import ErrorbarContainer

from tne_eval.errors import SpecError
from tne_eval.plotting import plot_power
from tne_eval.power import (
    PowerDesign,
    PowerResult,
    VarianceComponents,
    power_analytic,
)


@pytest.fixture
def analytic():
    yield power_analytic(PowerDesign.tne(), VarianceComponents.from_world())
    plt.close("all")


def _fake_simulated(effects):
    import pandas as pd

    table = pd.DataFrame(
        {"power": np.linspace(0.05, 0.9, len(effects)), "power_se": 0.02},
        index=pd.Index(effects, name="effect"),
    )
    return PowerResult(
        table=table,
        records=pd.DataFrame(),
        term=None,
        alpha=0.05,
        reps=100,
        seed=1,
        inference="cluster",
        effect_label="additive effects",
    )


def test_analytic_and_simulated_on_one_axes(analytic):
    sim = _fake_simulated([0.0, 1.0, 2.0, 3.0])
    ax = plot_power(sim, analytic=analytic, unit="score points")
    assert isinstance(ax, Axes)
    assert ax.get_xlabel() == "effect (score points)"
    assert "power" in ax.get_ylabel()
    assert any(isinstance(c, ErrorbarContainer) for c in ax.containers)
    # the MDE vertical line sits at the MDE
    xs = [
        line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"
    ]
    np.testing.assert_allclose(xs, [analytic.mde])
    assert any(t.get_text().startswith("MDE = ") for t in ax.texts)


def test_given_axes_is_reused(analytic):
    _, ax = plt.subplots()
    assert analytic.plot(ax=ax) is ax
    assert _fake_simulated([0.0, 1.0]).plot(ax=ax, analytic=analytic) is ax


def test_needs_something_to_plot():
    with pytest.raises(SpecError, match="needs simulated=, analytic= or both"):
        plot_power()


def test_mde_line_and_label_follow_the_curve_colour(analytic):
    _, ax = plt.subplots()
    plot_power(analytic=analytic, ax=ax, color="#c55a11", label="ATT")
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert [line.get_color() for line in dashed] == ["#c55a11"]
    assert [t.get_color() for t in ax.texts] == ["#c55a11"]
    assert ax.get_legend_handles_labels()[1] == ["ATT"]
