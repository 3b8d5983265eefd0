"""Sensitivity plot: the original interval and the robust sets against the bound."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tne_eval.plotting._axes import draw_intervals, get_ax

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_sensitivity"]


def plot_sensitivity(result: Any, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
    """Plot the original CI and the robust confidence sets against M or Mbar.

    As HonestDiD's ``createSensitivityPlot``: the original interval is drawn
    left of the smallest bound, the robust sets at their bound, a dashed line
    at 0 and a dotted line at the breakdown value when there is one.

    Parameters
    ----------
    result : SensitivityResult
        Output of :func:`tne_eval.honest_did` (not imported here: plotting
        imports no estimator family).
    ax : matplotlib.axes.Axes, optional
        Drawn on when given (see :func:`tne_eval.plotting.get_ax`).
    **kwargs
        Passed to ``errorbar`` for the robust sets.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax)
    table = result.to_frame()
    ms = table.index.to_numpy(dtype=float)
    spread = float(np.ptp(ms)) if ms.size > 1 else max(float(ms[0]), 1.0)
    step = spread / max(ms.size - 1, 1)
    x0 = float(ms.min()) - step
    o = result.original
    draw_intervals(
        ax,
        np.array([x0]),
        np.array([o["estimate"]]),
        np.array([o["conf_low"]]),
        np.array([o["conf_high"]]),
        color="tab:gray",
        label="original",
    )
    low = table["conf_low"].to_numpy(dtype=float)
    high = table["conf_high"].to_numpy(dtype=float)
    style = {"fmt": "none", "color": "tab:blue", "label": result.method, **kwargs}
    finite = np.isfinite(low) & np.isfinite(high)
    draw_intervals(
        ax, ms[finite], (low + high)[finite] / 2, low[finite], high[finite], **style
    )
    ax.axhline(0.0, color="black", linestyle="--", linewidth=0.8)
    if np.isfinite(result.breakdown):
        ax.axvline(
            result.breakdown,
            color="tab:red",
            linestyle=":",
            linewidth=1.0,
            label=f"breakdown {result.parameter} = {result.breakdown:.3g}",
        )
    ax.set_xlabel(result.parameter)
    ax.set_ylabel(f"{1 - result.alpha:.0%} confidence set ({result.target})")
    ax.set_title(f"Sensitivity: {result.restriction}")
    ax.legend(loc="best")
    return ax
