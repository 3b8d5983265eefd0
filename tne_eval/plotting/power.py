"""Power against effect: analytic curve, simulated points, the MDE marked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tne_eval.plotting._axes import get_ax

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_power"]


def plot_power(
    simulated: Any = None,
    *,
    analytic: Any = None,
    ax: Axes | None = None,
    unit: str = "score points",
    level: float = 0.95,
    **kwargs: Any,
) -> Axes:
    """Plot power against the effect, analytic and simulated on the same Axes.

    Parameters
    ----------
    simulated : PowerResult, optional
        Output of :func:`tne_eval.simulate_power`: points with pointwise
        Monte Carlo intervals (normal, ``level``).
    analytic : AnalyticPower, optional
        Output of :func:`tne_eval.power_analytic`: the power curve, the target
        power (dotted) and the MDE (dashed vertical line, labelled).
    ax : matplotlib.axes.Axes, optional
        Drawn on when given (see :func:`tne_eval.plotting.get_ax`).
    unit : str, default "score points"
        Unit of the effect, for the x label.
    level : float, default 0.95
        Level of the Monte Carlo intervals of the simulated points.
    **kwargs
        Passed to the analytic curve's ``plot`` (its ``color`` is also that of
        the MDE line and label).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        Neither ``simulated`` nor ``analytic`` given.
    """
    from scipy import stats

    from tne_eval.errors import SpecError

    if simulated is None and analytic is None:
        raise SpecError("plot_power needs simulated=, analytic= or both.")
    ax = get_ax(ax)
    hi = 0.0
    if simulated is not None:
        table = simulated.to_frame()
        x = table.index.to_numpy(dtype=float)
        hi = max(hi, float(np.nanmax(x)))
    if analytic is not None:
        hi = max(hi, 2.0 * analytic.mde, float(np.max(analytic.effects)))
        grid = np.linspace(0.0, hi, 201)
        style = {"color": "C0", "label": f"analytic ({analytic.estimand})", **kwargs}
        ax.plot(grid, analytic.power_at(grid), **style)
        ax.axhline(analytic.power, color="grey", linestyle=":", linewidth=1)
        # the MDE line and its label take the curve's colour (several curves on one Axes)
        ax.axvline(analytic.mde, color=style["color"], linestyle="--", linewidth=1)
        ax.annotate(
            f"MDE = {analytic.mde:.3g}",
            (analytic.mde, analytic.power),
            xytext=(4, -14),
            textcoords="offset points",
            color=style["color"],
        )
    if simulated is not None:
        z = stats.norm.ppf(0.5 + level / 2)
        ax.errorbar(
            x,
            table["power"],
            yerr=z * table["power_se"],
            fmt="o",
            color="C1",
            capsize=3,
            label=f"simulated ({simulated.reps} reps, {level:.0%} MC interval)",
        )
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel(f"effect ({unit})")
    ax.set_ylabel("power (probability of rejecting no effect)")
    ax.legend(loc="lower right")
    return ax
