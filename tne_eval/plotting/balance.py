"""Balance plots: the love plot and the propensity-score overlap plot.

The plots read the results' attributes only (plotting never imports the
estimator families).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tne_eval.plotting._axes import get_ax

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_love", "plot_propensity", "plot_trajectories"]


def plot_love(
    balance_result: Any,
    ax: Axes | None = None,
    threshold: float | None = 0.1,
    *,
    absolute: bool = True,
    **kwargs: Any,
) -> Axes:
    """Love plot: standardised mean differences before and after adjustment.

    Parameters
    ----------
    balance_result : BalanceResult
        From :func:`tne_eval.matching.balance`.
    ax : matplotlib.axes.Axes, optional
        Drawn on when given, else a new figure is created.
    threshold : float or None, default 0.1
        Dashed vertical lines at the threshold (and its negative when
        ``absolute=False``); ``None`` draws none.
    absolute : bool, default True
        Plot ``|SMD|`` (cobalt's ``love.plot(abs = TRUE)``).
    **kwargs
        Passed to ``Axes.set``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax)
    before = balance_result.unadjusted["smd"]
    names = list(before.index)
    pos = np.arange(len(names))[::-1]
    vals = before.abs() if absolute else before
    ax.scatter(
        vals.to_numpy(),
        pos,
        marker="o",
        facecolors="none",
        edgecolors="tab:red",
        label="Unadjusted",
        zorder=3,
    )
    if balance_result.adjusted is not None:
        after = balance_result.adjusted["smd"].reindex(names)
        vals_a = after.abs() if absolute else after
        ax.scatter(
            vals_a.to_numpy(),
            pos,
            marker="o",
            color="tab:blue",
            label="Adjusted",
            zorder=3,
        )
        for p, a, b in zip(pos, vals.to_numpy(), vals_a.to_numpy()):
            ax.plot([a, b], [p, p], color="0.8", lw=1, zorder=1)
    if threshold is not None:
        ax.axvline(threshold, color="0.4", ls="--", lw=1)
        if not absolute:
            ax.axvline(-threshold, color="0.4", ls="--", lw=1)
    ax.axvline(0.0, color="0.2", lw=0.8)
    ax.set_yticks(pos)
    ax.set_yticklabels(names)
    ax.set_xlabel(
        ("Absolute standardised" if absolute else "Standardised") + " mean difference"
    )
    ax.set_title("Covariate balance")
    ax.legend(loc="best")
    if kwargs:
        ax.set(**kwargs)
    return ax


def plot_propensity(
    propensity_result: Any,
    ax: Axes | None = None,
    *,
    bins: int = 30,
    **kwargs: Any,
) -> Axes:
    """Propensity-score distributions by group, with the common-support bounds.

    Parameters
    ----------
    propensity_result : PropensityResult
        From :func:`tne_eval.matching.propensity_score` (or
        ``MatchResult.propensity``).
    ax : matplotlib.axes.Axes, optional
        Drawn on when given, else a new figure is created.
    bins : int, default 30
        Histogram bins on ``[0, 1]``.
    **kwargs
        Passed to ``Axes.set``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax)
    s = propensity_result.score.to_numpy()
    t = propensity_result.treated.to_numpy()
    edges = np.linspace(0.0, 1.0, bins + 1)
    ax.hist(
        s[t], bins=edges, density=True, alpha=0.5, color="tab:blue", label="Treated"
    )
    ax.hist(
        s[~t],
        bins=edges,
        density=True,
        alpha=0.5,
        color="tab:orange",
        label="Comparison",
    )
    lo, hi = propensity_result.support
    if np.isfinite(lo) or np.isfinite(hi):
        for b in (lo, hi):
            if np.isfinite(b):
                ax.axvline(b, color="0.3", ls="--", lw=1)
    else:  # no rule applied: show where the two supports overlap
        lo = max(s[t].min(), s[~t].min())
        hi = min(s[t].max(), s[~t].max())
        ax.axvspan(lo, hi, color="0.9", zorder=0, label="Overlap of the ranges")
    ax.set_xlabel("Propensity score")
    ax.set_ylabel("Density")
    ax.set_title("Propensity-score overlap")
    ax.legend(loc="best")
    if kwargs:
        ax.set(**kwargs)
    return ax


def plot_trajectories(
    trajectory_result: Any,
    ax: Axes | None = None,
    *,
    show_unmatched: bool = True,
    **kwargs: Any,
) -> Axes:
    """Treated vs matched-comparison outcome means by period (weights applied).

    Parameters
    ----------
    trajectory_result : TrajectoryResult
        From :func:`tne_eval.matching.trajectories`.
    ax : matplotlib.axes.Axes, optional
        Drawn on when given, else a new figure is created.
    show_unmatched : bool, default True
        Also draw the unweighted mean of all comparison units (dotted).
    **kwargs
        Passed to ``Axes.set``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = get_ax(ax)
    tab = trajectory_result.table
    x = tab.index.to_numpy()
    if trajectory_result.matched_on:
        on = [p for p in trajectory_result.matched_on if p in set(x.tolist())]
        if on:
            ax.axvspan(
                min(on) - 0.5, max(on) + 0.5, color="0.92", zorder=0, label="Matched on"
            )
    ax.plot(x, tab["treated"].to_numpy(), marker="o", color="tab:red", label="Treated")
    ax.plot(
        x,
        tab["matched"].to_numpy(),
        marker="s",
        color="tab:blue",
        label="Matched comparison (weighted)",
    )
    if show_unmatched:
        ax.plot(
            x,
            tab["unmatched"].to_numpy(),
            ls=":",
            color="0.5",
            label="All comparison units",
        )
    if trajectory_result.treatment_start is not None:
        ax.axvline(trajectory_result.treatment_start, color="0.3", ls="--", lw=1)
    ax.set_xlabel(trajectory_result.time)
    ax.set_ylabel(f"Mean {trajectory_result.outcome}")
    ax.legend(frameon=False, fontsize="small")
    if kwargs:
        ax.set(**kwargs)
    return ax
