"""Plot functions. Each takes ``ax=None`` and returns the Axes it drew on."""

from tne_eval.plotting._axes import get_ax
from tne_eval.plotting.power import plot_power
from tne_eval.plotting.territories import plot_tne_calendar

__all__ = ["get_ax", "plot_power", "plot_tne_calendar"]
