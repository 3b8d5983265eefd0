"""Plots of the TNE territories."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tne_eval.plotting._axes import get_ax

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def plot_tne_calendar(
    ax: Axes | None = None,
    *,
    first_year: int = 2016,
    last_year: int = 2024,
    **kwargs: Any,
) -> Axes:
    """Draw the TNE adoption calendar: one row per TNE department, shaded when treated.

    Parameters
    ----------
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is created when omitted.
    first_year, last_year : int
        School years shown (start-year coding).
    **kwargs
        Passed to ``Axes.barh``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from tne_eval.territories import school_year_label, tne_calendar

    ax = get_ax(ax)
    cal = tne_calendar().iloc[::-1].reset_index(drop=True)
    style = {"color": "tab:blue", "height": 0.6, **kwargs}
    for i, row in cal.iterrows():
        start = row["first_school_year"]
        ax.barh(i, last_year + 1 - start, left=start, **style)
    ax.set_yticks(range(len(cal)))
    ax.set_yticklabels([f"{c} {n}" for c, n in zip(cal["code"], cal["name"])])
    ax.set_xlim(first_year, last_year + 1)
    years = range(first_year, last_year + 1)
    ax.set_xticks([y + 0.5 for y in years])
    ax.set_xticklabels([school_year_label(y) for y in years], rotation=45, ha="right")
    ax.set_title("TNE departments: school years in the programme")
    return ax
