"""Coefficient plot: each term's estimate with its pointwise confidence interval."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tne_eval.plotting._axes import draw_intervals, get_ax

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from tne_eval.results.base import EstimationResult

__all__ = ["plot_coefficients"]


def plot_coefficients(
    result: EstimationResult,
    *,
    ax: Axes | None = None,
    alpha: float | None = None,
    color: str = "tab:blue",
    **kwargs: Any,
) -> Axes:
    """Plot every term of a result with its pointwise confidence interval.

    Parameters
    ----------
    result : EstimationResult
    ax : matplotlib.axes.Axes, optional
        Drawn on when given, else a new figure is created.
    alpha : float, optional
        Level of the intervals (defaults to the result's).
    color : str
        Colour of points and intervals.
    **kwargs
        Passed to ``Axes.set``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax)
    frame = result.to_frame(alpha)
    y = np.arange(len(frame))[::-1]
    est = frame["estimate"].to_numpy(dtype=float)
    lo = frame["conf_low"].to_numpy(dtype=float)
    hi = frame["conf_high"].to_numpy(dtype=float)
    draw_intervals(ax, y, est, lo, hi, horizontal=True, color=color)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels(list(frame.index))
    ax.set_xlabel("estimate")
    ax.set_title(result.title)
    if kwargs:
        ax.set(**kwargs)
    return ax
