"""Axes helper: create a figure only when the caller gives no Axes."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
