"""Axes helper: create a pyplot figure only when the caller gives no Axes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def get_ax(ax: Axes | None = None) -> Axes:
    """Return ``ax`` unchanged, or the Axes of a new pyplot figure.

    This is what every ``plot()`` of tne_eval does with its ``ax`` argument.

    Parameters
    ----------
    ax : matplotlib.axes.Axes, optional
        Axes to draw on. Given, it is returned unchanged: this is how to draw on
        the current Axes (``ax=plt.gca()``), on one panel of ``plt.subplots()``,
        or to overlay several results.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, or, when ``ax`` is None, the single Axes of a **new figure
        managed by pyplot** (7 x 4 inches, constrained layout), which becomes the
        current figure.

    Notes
    -----
    Without ``ax``, each call draws on its own new pyplot figure, as pandas'
    ``DataFrame.plot()`` and statsmodels' plots do; it never draws over the
    current Axes (pandas' ``Series.plot()`` and seaborn's axes-level functions
    do, but a tne_eval plot sets its own ticks, labels and title, so two
    results on one Axes would be unreadable). Because the figure is known to
    pyplot, a script can call ``result.plot()`` then ``plt.savefig(path)`` or
    ``plt.show()``; in Jupyter the inline backend shows it once at the end of
    the cell and closes it, so end the cell with ``result.plot();`` rather than
    returning ``.figure`` (which would show it a second time). Nothing here
    calls ``plt.show()``; close figures you no longer need (``plt.close(fig)``)
    in long scripts. pyplot is imported only when a figure is created.
    """
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(7.0, 4.0), layout="constrained")
    return fig.add_subplot()


def draw_intervals(
    ax: Axes,
    position: np.ndarray,
    estimate: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    *,
    horizontal: bool = False,
    **style: object,
) -> None:
    """Draw point estimates with their interval bars (the one errorbar style)."""
    err = np.vstack([estimate - low, high - estimate])
    style = {"fmt": "o", "capsize": 3, **style}
    if horizontal:
        ax.errorbar(estimate, position, xerr=err, **style)
    else:
        ax.errorbar(position, estimate, yerr=err, **style)
