"""Plots of the TWFE benchmarks: event-study coefficients and static-TWFE weights."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tne_eval.plotting._axes import draw_intervals, get_ax

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from tne_eval.results.twfe import EventStudyResult, TWFEResult

__all__ = ["plot_event_study_twfe", "plot_twfe_weights"]


def plot_event_study_twfe(
    result: EventStudyResult,
    *,
    ax: Axes | None = None,
    alpha: float | None = None,
    color: str = "tab:blue",
    **kwargs: Any,
) -> Axes:
    """Plot TWFE event-study coefficients with pointwise confidence intervals.

    Reference (omitted) event times are drawn as hollow markers at 0; binned
    endpoints are labelled ``<=e`` / ``>=e`` on the x axis.

    Parameters
    ----------
    result : EventStudyResult
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
    ax = get_ax(ax)
    frame = result.to_frame(alpha)
    x = frame["event_time"].to_numpy(dtype=float)
    ref = frame["reference"].to_numpy(dtype=bool)
    est = frame["estimate"].to_numpy(dtype=float)
    lo = frame["conf_low"].to_numpy(dtype=float)
    hi = frame["conf_high"].to_numpy(dtype=float)
    level = 1 - (result.alpha if alpha is None else alpha)
    draw_intervals(
        ax,
        x[~ref],
        est[~ref],
        lo[~ref],
        hi[~ref],
        color=color,
        label=f"TWFE coefficient, {level:.0%} pointwise CI",
    )
    ax.plot(
        x[ref],
        est[ref],
        linestyle="none",
        marker="o",
        markerfacecolor="white",
        markeredgecolor=color,
        label="reference (omitted)",
    )
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.axvline(-0.5, color="grey", linestyle="--", linewidth=0.8)
    ticks = []
    for term, e in zip(frame.index, frame["event_time"].tolist()):
        ticks.append(term[1:] if term.startswith(("e<=", "e>=")) else str(e))
    ax.set_xticks(x)
    ax.set_xticklabels(ticks)
    ax.set_xlabel("event time (periods since first treatment)")
    ax.set_ylabel("coefficient")
    ax.set_title("TWFE event study (benchmark)")
    ax.legend(loc="best", fontsize="small")
    if kwargs:
        ax.set(**kwargs)
    return ax


def plot_twfe_weights(
    result: TWFEResult,
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
