"""Plots without ``ax`` draw on a new pyplot figure: savefig works, nothing is shown."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest
from matplotlib.image import imread

import tne_eval as tne
from tne_eval.plotting import get_ax

# Share of non-white pixels below which a saved figure counts as blank: an empty
# 7 x 4 figure has none; an event study with axes, ticks and bars has a few %.
MIN_INK = 0.005


def ink(path) -> tuple[float, float]:
    """Pixel variance and share of non-white pixels of a PNG."""
    img = imread(path)[..., :3]
    return float(img.var()), float((img.min(axis=-1) < 0.95).mean())


@pytest.fixture
def gt(small_staggered_panel):
    spec = tne.PanelSpec(unit="unit", time="period", outcome="y", cohort="cohort")
    return tne.att_gt(small_staggered_panel, spec, method="reg")


@pytest.fixture
def no_show(monkeypatch):
    """Fail if anything asks pyplot or a figure to show itself."""

    def fail(*args, **kwargs):
        raise AssertionError("a plot called show()")

    monkeypatch.setattr(plt, "show", fail)
    monkeypatch.setattr("matplotlib.figure.Figure.show", fail)


@pytest.mark.usefixtures("no_show")
@pytest.mark.parametrize("kind", ["group_time", "dynamic", "group", "simple"])
def test_plot_then_savefig_writes_the_figure(gt, kind, tmp_path):
    result = gt if kind == "group_time" else tne.aggregate(gt, kind=kind)
    ax = result.plot()  # as in a script: no ax, then pyplot's savefig
    assert ax.figure is plt.gcf()
    plt.savefig(tmp_path / "plot.png")
    variance, share = ink(tmp_path / "plot.png")
    assert variance > 0 and share > MIN_INK


def test_blank_figure_counts_as_blank(tmp_path):
    plt.figure()
    plt.savefig(tmp_path / "blank.png")
    assert ink(tmp_path / "blank.png") == (0.0, 0.0)


@pytest.mark.usefixtures("no_show")
def test_each_result_gets_its_own_figure(gt):
    before = set(plt.get_fignums())
    first = gt.plot()
    second = tne.aggregate(gt, kind="dynamic").plot()
    assert first.figure is not second.figure
    assert len(set(plt.get_fignums()) - before) == 2
    assert plt.gca() is second


@pytest.mark.usefixtures("no_show")
def test_given_ax_is_reused(gt):
    _, (left, right) = plt.subplots(1, 2)
    n = len(plt.get_fignums())
    assert gt.plot(ax=left) is left
    assert tne.aggregate(gt, kind="dynamic").plot(ax=right) is right
    assert len(plt.get_fignums()) == n
    assert left.has_data() and right.has_data()
    assert get_ax(left) is left


def test_script_savefig_in_a_fresh_interpreter(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        import matplotlib
        matplotlib.use("Agg")
        import numpy as np
        import pandas as pd
        import tne_eval as tne

        unit = np.repeat(np.arange(30), 6)
        t = np.tile(np.arange(1, 7), 30)
        g = np.repeat(np.repeat([3, 5, 0], 10), 6)
        y = 0.2 * t + 2.0 * ((g > 0) & (t >= g)) + np.random.default_rng(1).normal(size=180)
        panel = pd.DataFrame({"unit": unit, "period": t, "y": y, "cohort": g})
        spec = tne.PanelSpec(unit="unit", time="period", outcome="y", cohort="cohort")
        gt = tne.att_gt(panel, spec, method="reg")
        assert "matplotlib.pyplot" not in sys.modules, "pyplot imported eagerly"
        tne.aggregate(gt, kind="dynamic").plot()
        import matplotlib.pyplot as plt
        plt.savefig(sys.argv[1])
        """
    )
    out = tmp_path / "script.png"
    subprocess.run([sys.executable, "-c", script, str(out)], check=True, timeout=300)
    variance, share = ink(out)
    assert variance > 0 and share > MIN_INK


@pytest.mark.notebooks
def test_notebook_cell_shows_each_figure_once(tmp_path):
    from tne_eval.reporting.runner import execute_notebook

    nb = nbformat.v4.new_notebook()
    setup = (
        "%matplotlib inline\n"
        "import numpy as np, pandas as pd\nimport tne_eval as tne\n"
        "unit = np.repeat(np.arange(30), 6); t = np.tile(np.arange(1, 7), 30)\n"
        "g = np.repeat(np.repeat([3, 5, 0], 10), 6)\n"
        "y = 0.2 * t + 2.0 * ((g > 0) & (t >= g)) + np.random.default_rng(1).normal(size=180)\n"
        "panel = pd.DataFrame({'unit': unit, 'period': t, 'y': y, 'cohort': g})\n"
        "spec = tne.PanelSpec(unit='unit', time='period', outcome='y', cohort='cohort')\n"
        "gt = tne.att_gt(panel, spec, method='reg')"
    )
    nb.cells = [
        nbformat.v4.new_code_cell(setup),
        nbformat.v4.new_code_cell("gt.plot();"),
        nbformat.v4.new_code_cell("ax = tne.aggregate(gt, kind='dynamic').plot()"),
        nbformat.v4.new_code_cell(
            "import matplotlib.pyplot as plt\nlen(plt.get_fignums())"
        ),
    ]
    nbformat.write(nb, tmp_path / "plots.ipynb")
    done = execute_notebook(tmp_path / "plots.ipynb", timeout=300)

    def images(cell):
        return sum("image/png" in o.get("data", {}) for o in cell.outputs)

    assert [images(c) for c in done.cells] == [0, 1, 1, 0]
    # the inline backend closes each cell's figures: none leaks into the next cell
    assert done.cells[3].outputs[0]["data"]["text/plain"] == "0"


def test_pixels_helper_sees_ink(tmp_path):
    fig, ax = plt.subplots()
    ax.plot(np.arange(10), color="black", linewidth=5)
    fig.savefig(tmp_path / "ink.png")
    assert ink(tmp_path / "ink.png")[1] > MIN_INK
