"""Event-study and group-time plots with pointwise CIs and simultaneous bands."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tne_eval.plotting._axes import draw_intervals, get_ax

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from tne_eval.results.base import EstimationResult

__all__ = ["plot_aggregate", "plot_event_study", "plot_group_time"]

_TITLES = {
    "aggregate": "Event study (Callaway-Sant'Anna, dynamic aggregation)",
    "twfe_event_study": "TWFE event study (benchmark)",
}


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


def plot_event_study(
    study: Any,
    *,
    ax: Axes | None = None,
    band: bool = True,
    color: str = "tab:blue",
    label: str | None = None,
    **kwargs: Any,
) -> Axes:
    """Plot an event study: estimates by event time with pointwise CIs and band.

    Every estimator's ``event_study()`` is drawn by this one function: reference
    (omitted or normalised) event times as hollow markers at their value, binned
    endpoints labelled ``<=e`` / ``>=e``, the simultaneous band shaded when the
    study has one, a dashed line between event times -1 and 0.

    Parameters
    ----------
    study : tne_eval.results.event_study.EventStudy
        From a result's ``event_study()``.
    ax : matplotlib.axes.Axes, optional
        Drawn on when given, else a new figure is created.
    band : bool, default True
        Shade the simultaneous band when there is one.
    color : str
        Colour of points, intervals and band.
    label : str, optional
        Legend label of the estimates (default: the estimator's title).
    **kwargs
        Passed to ``Axes.set``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax)
    frame = study.frame
    x = frame["event_time"].to_numpy(dtype=float)
    ref = frame["reference"].to_numpy(dtype=bool)
    level = 1 - study.alpha
    est_label = label or f"estimate, {level:.0%} pointwise CI"
    shown = frame[~ref]
    _draw(
        ax,
        x[~ref],
        shown,
        color=color,
        label=est_label,
        band=band and "band_low" in frame,
    )
    if ref.any():
        ax.plot(
            x[ref],
            frame["estimate"].to_numpy(dtype=float)[ref],
            linestyle="none",
            marker="o",
            markerfacecolor="white",
            markeredgecolor=color,
            label="reference (omitted)",
        )
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.axvline(-0.5, color="grey", linestyle="--", linewidth=0.8)
    ticks = [
        term[1:] if term.startswith(("e<=", "e>=")) else str(e)
        for term, e in zip(frame.index, frame["event_time"].tolist())
    ]
    ax.set_xticks(x)
    ax.set_xticklabels(ticks)
    ax.set_xlabel("event time (periods since first treatment)")
    ax.set_ylabel("effect estimate")
    ax.set_title(_TITLES.get(study.estimator, "Event study"))
    ax.legend(loc="best", fontsize="small")
    if kwargs:
        ax.set(**kwargs)
    return ax


def plot_aggregate(
    result: EstimationResult,
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
    if result.kind == "dynamic":
        return plot_event_study(
            result.event_study(alpha), ax=ax, band=band, color=color, **kwargs
        )
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
    ax.set_xlabel({"cohort": "cohort", "time": "period", "_x": ""}[key])
    ax.set_ylabel("ATT")
    ax.set_title(f"Aggregated ATT ({result.kind})")
    ax.legend(loc="best", fontsize="small")
    if kwargs:
        ax.set(**kwargs)
    return ax


def plot_group_time(
    result: EstimationResult,
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
