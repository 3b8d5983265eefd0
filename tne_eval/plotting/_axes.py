"""Axes helper: create a figure only when the caller gives no Axes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def get_ax(ax: Axes | None = None) -> Axes:
    """Return ``ax`` unchanged, or the Axes of a new figure when ``ax`` is None."""
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    # A Figure not attached to pyplot: nothing global changes and nothing is shown.
    fig = Figure(figsize=(7.0, 4.0), layout="constrained")
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
