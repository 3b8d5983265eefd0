"""Canonical column names of every result's ``to_frame()``.

``to_frame()`` is indexed by ``term`` and has the estimator's key columns first
(e.g. ``cohort, time, event_time, post`` for group-time results), then
:data:`STAT_COLUMNS` in this order, then :data:`BAND_COLUMNS` when a simultaneous
band was computed. ``conf_low``/``conf_high`` are **always pointwise**;
``band_low``/``band_high`` are the simultaneous (sup-t) band at the same
``alpha``. ``p_value`` is always pointwise.
"""

from __future__ import annotations

INDEX = "term"
STAT_COLUMNS: tuple[str, ...] = (
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
)
BAND_COLUMNS: tuple[str, ...] = ("band_low", "band_high")
