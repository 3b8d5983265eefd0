"""Event-study and group-time plots with pointwise CIs and simultaneous bands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tne_eval.plotting._axes import draw_intervals, get_ax

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from tne_eval.results.did import AggregateResult, GroupTimeResult

__all__ = ["plot_aggregate", "plot_group_time"]


def _draw(ax, x, frame, *, color, label, band: bool, marker="o") -> None:
    est = frame["estimate"].to_numpy(dtype=float)
    lo = frame["conf_low"].to_numpy(dtype=float)
    hi = frame["conf_high"].to_numpy(dtype=float)
    if band and "band_low" in frame:
        ax.fill_between(
            x,
            frame["band_low"].to_numpy(dtype=float),
            frame["band_high"].to_numpy(dtype=float),
            color=color,
            alpha=0.15,
            step=None,
            label=(
                f"{label} simultaneous band"
                if label and label != "estimate"
                else "simultaneous band"
            ),
        )
    draw_intervals(ax, x, est, lo, hi, fmt=marker, color=color, label=label)


def plot_aggregate(
    result: AggregateResult,
    *,
    ax: Axes | None = None,
    alpha: float | None = None,
    band: bool = True,
    color: str = "tab:blue",
    **kwargs: Any,
) -> Axes:
    """Plot an aggregation: the event study for ``kind="dynamic"``.

    Parameters
    ----------
    result : AggregateResult
    ax : matplotlib.axes.Axes, optional
        Drawn on when given, else a new figure is created.
    alpha : float, optional
        Level of the pointwise CIs and band (defaults to the result's).
    band : bool, default True
        Shade the simultaneous band when the result has one.
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
    key = result.key_columns[-1]
    if key == "kind":  # simple: a single estimate
        frame = frame.assign(_x=0)
        key = "_x"
    frame = frame[frame[key].notna()]
    x = frame[key].to_numpy(dtype=float)
    _draw(ax, x, frame, color=color, label="estimate", band=band)
    ax.axhline(0.0, color="black", linewidth=0.8)
    if result.kind == "dynamic":
        ax.axvline(-0.5, color="grey", linestyle="--", linewidth=0.8)
        ax.set_xlabel("event time (periods since first treatment)")
    else:
        ax.set_xlabel({"cohort": "cohort", "time": "period", "_x": ""}[key])
    ax.set_ylabel("ATT")
    ax.set_title(f"Aggregated ATT ({result.kind})")
    ax.legend(loc="best", fontsize="small")
    if kwargs:
        ax.set(**kwargs)
    return ax


def plot_group_time(
    result: GroupTimeResult,
    *,
    ax: Axes | None = None,
    alpha: float | None = None,
    band: bool = True,
    **kwargs: Any,
) -> Axes:
    """Plot ATT(g,t) over time, one series per cohort, pre and post marked.

    Parameters
    ----------
    result : GroupTimeResult
    ax : matplotlib.axes.Axes, optional
    alpha : float, optional
    band : bool, default True
        Shade the simultaneous band when the result has one.
    **kwargs
        Passed to ``Axes.set``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax)
    frame = result.to_frame(alpha)
    cohorts = sorted(frame["cohort"].unique())
    colors = [f"C{i % 10}" for i in range(len(cohorts))]
    offsets = np.linspace(-0.15, 0.15, len(cohorts)) if len(cohorts) > 1 else [0.0]
    for cohort, color, off in zip(cohorts, colors, offsets):
        sub = frame[frame["cohort"] == cohort]
        x = sub["time"].to_numpy(dtype=float) + off
        _draw(ax, x, sub, color=color, label=f"cohort {cohort}", band=band)
        ax.axvline(cohort - 0.5, color=color, linestyle=":", linewidth=0.8)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel("period")
    ax.set_ylabel("ATT(g,t)")
    ax.set_title("Group-time average treatment effects")
    ax.legend(loc="best", fontsize="small")
    if kwargs:
        ax.set(**kwargs)
    return ax
