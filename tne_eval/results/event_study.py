"""The event-study protocol shared by every estimator that reports effects by event time.

An :class:`EventStudy` is a value: estimates by event time :math:`e = t - g`,
their covariance matrix (always: sensitivity analyses need it), the reference
(omitted or normalised) event times, and, under a bootstrap, the draws (multiple
testing needs them). The TWFE event study, the dynamic aggregation of
Callaway-Sant'Anna and every later event-study estimator return one from their
``event_study()`` method and plot through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tne_eval._validation import check_alpha
from tne_eval.errors import SpecError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from tne_eval.results.base import EstimationResult

__all__ = ["EventStudy", "EventStudyMixin"]


@dataclass(frozen=True, eq=False)
class EventStudy:
    """Estimates by event time, with covariance, reference terms and draws.

    Attributes
    ----------
    frame : pandas.DataFrame
        Indexed by term, sorted by event time: ``event_time`` (int), ``reference``
        (bool: omitted or normalised to 0), then ``to_frame()``'s statistics at
        the result's ``alpha`` (``band_low``/``band_high`` when a simultaneous
        band exists).
    vcov : pandas.DataFrame
        Covariance of the estimates over the same terms (zero for reference rows).
    draws : pandas.DataFrame or None
        Bootstrap draws of ``estimate* - estimate`` (columns = terms).
    estimator : str
        The estimator that produced it.
    alpha : float
        Level of the intervals in ``frame``.
    """

    frame: pd.DataFrame
    vcov: pd.DataFrame
    draws: pd.DataFrame | None
    estimator: str
    alpha: float

    @property
    def event_times(self) -> np.ndarray:
        """Event time of each term."""
        return self.frame["event_time"].to_numpy(dtype=np.int64)

    @property
    def pre(self) -> pd.DataFrame:
        """Rows with negative event time that are not reference rows."""
        f = self.frame
        return f[(f["event_time"] < 0) & ~f["reference"]]

    @property
    def post(self) -> pd.DataFrame:
        """Rows with event time zero or more."""
        return self.frame[self.frame["event_time"] >= 0]

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Estimates by event time with pointwise CIs (and the band if any)."""
        from tne_eval.plotting.event_study import plot_event_study

        return plot_event_study(self, ax=ax, **kwargs)


class EventStudyMixin:
    """``event_study()`` for results whose table has an ``event_time`` column.

    Rows whose ``event_time`` is missing (an overall average) are left out.
    Reference rows are those flagged in a ``reference`` column, if any.
    """

    def _event_study_available(self) -> None:
        """Raise when this result is not an event study (override)."""

    def event_study(self: Any, alpha: float | None = None) -> EventStudy:
        """Return the event study: estimates by event time, covariance, draws."""
        self._event_study_available()
        alpha = self.alpha if alpha is None else check_alpha(alpha)
        res: EstimationResult = self
        full = res.to_frame(alpha)
        keep = full["event_time"].notna().to_numpy()
        frame = full.loc[keep].copy()
        frame["event_time"] = frame["event_time"].astype(np.int64)
        ref = (
            res.table.loc[keep, "reference"].to_numpy(dtype=bool)
            if "reference" in res.table
            else np.zeros(int(keep.sum()), dtype=bool)
        )
        stats = [c for c in frame.columns if c not in ("event_time", "reference")]
        stats = [c for c in stats if c not in res.key_columns]
        frame = frame[["event_time", *stats]]
        frame.insert(1, "reference", ref)
        frame = frame.sort_values("event_time", kind="stable")
        terms = frame.index
        draws = res.draws
        if draws is not None:
            draws = draws.reindex(columns=terms, fill_value=0.0)
        return EventStudy(
            frame=frame,
            vcov=res.vcov.loc[terms, terms],
            draws=draws,
            estimator=res.estimator,
            alpha=alpha,
        )


def require_event_study(kind: str) -> None:
    """Raise the error of an aggregation that has no event time."""
    raise SpecError(
        f"An aggregation of kind={kind!r} has no event-time structure; "
        "aggregate with kind='dynamic' for an event study."
    )
