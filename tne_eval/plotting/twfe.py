"""Plots of the TWFE benchmarks: event-study coefficients and static-TWFE weights."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tne_eval.plotting._axes import get_ax

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from tne_eval.results.base import EstimationResult

__all__ = ["plot_event_study_twfe", "plot_twfe_weights"]


def plot_event_study_twfe(
    result: EstimationResult,
    *,
    ax: Axes | None = None,
    alpha: float | None = None,
    color: str = "tab:blue",
    **kwargs: Any,
) -> Axes:
    """Plot TWFE event-study coefficients with pointwise confidence intervals.

    Drawn by :func:`tne_eval.plotting.event_study.plot_event_study` from
    ``result.event_study(alpha)``: reference (omitted) event times as hollow
    markers at 0, binned endpoints labelled ``<=e`` / ``>=e``.

    Parameters
    ----------
    result : TWFEEventStudyResult
        Output of :func:`tne_eval.did.twfe.twfe_event_study`.
    ax : matplotlib.axes.Axes, optional
        Drawn on when given, else a new figure is created.
    alpha : float, optional
        Level of the pointwise CIs (defaults to the result's).
    color : str, default "tab:blue"
        Colour of points and intervals.
    **kwargs
        Passed to ``Axes.set``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from tne_eval.plotting.event_study import plot_event_study

    level = 1 - (result.alpha if alpha is None else alpha)
    return plot_event_study(
        result.event_study(alpha),
        ax=ax,
        color=color,
        label=f"TWFE coefficient, {level:.0%} pointwise CI",
        **kwargs,
    )


def plot_twfe_weights(
    result: EstimationResult,
    *,
    ax: Axes | None = None,
    **kwargs: Any,
) -> Axes:
    """Plot the weights of the treated cells in the static TWFE coefficient.

    One series per cohort over calendar time; negative weights are drawn in red
    (de Chaisemartin & D'Haultfœuille 2020).

    Parameters
    ----------
    result : TWFEResult
        Output of :func:`tne_eval.did.twfe.twfe`.
    ax : matplotlib.axes.Axes, optional
        Drawn on when given, else a new figure is created.
    **kwargs
        Passed to ``Axes.set``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax)
    weights = result.weights()
    cohorts = sorted(weights["cohort"].unique())
    for i, cohort in enumerate(cohorts):
        sub = weights[weights["cohort"] == cohort]
        ax.plot(
            sub["time"].to_numpy(dtype=float),
            sub["weight"].to_numpy(dtype=float),
            marker="o",
            color=f"C{i % 10}",
            label=f"cohort {cohort}",
        )
    neg = weights[weights["weight"] < 0]
    if len(neg):
        ax.scatter(
            neg["time"].to_numpy(dtype=float),
            neg["weight"].to_numpy(dtype=float),
            s=80,
            facecolors="none",
            edgecolors="red",
            zorder=3,
            label=f"negative ({len(neg)} cells, sum {neg['weight'].sum():.3g})",
        )
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel("period")
    ax.set_ylabel("weight in the TWFE coefficient")
    ax.set_title("Static TWFE: weights of treated (cohort, period) cells")
    ax.legend(loc="best", fontsize="small")
    if kwargs:
        ax.set(**kwargs)
    return ax
