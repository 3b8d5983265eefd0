"""The chapters of the report, in order: one notebook and one line each.

To add a chapter, write ``notebooks/NN_name.ipynb`` (a ``parameters`` cell, then
a :class:`~tne_eval.reporting.blocks.Chapter` writing the blocks) and add one
:class:`ChapterEntry` line below. Notebooks of the folder that are not listed
run after the listed ones, in file-name order.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CHAPTERS", "DEFAULT_PARAMETERS", "ChapterEntry"]


@dataclass(frozen=True)
class ChapterEntry:
    """One chapter: the notebook's file stem and what it is about.

    Attributes
    ----------
    stem : str
        File name of the notebook without ``.ipynb``; also its key in the
        results manifest.
    about : str
        One line for developers (the reader sees the notebook's own title).
    """

    stem: str
    about: str


#: The report's chapters, in reading order.
CHAPTERS: tuple[ChapterEntry, ...] = (
    ChapterEntry(
        "01_data_and_design", "territories, cohorts, data coverage, pre-period"
    ),
    ChapterEntry("02_demonstrators_2020", "Aisne and Val-d'Oise: 2x2 DiD, matching"),
    ChapterEntry("03_staggered_learning", "Callaway-Sant'Anna vs TWFE, event study"),
    ChapterEntry("04_teacher_practices", "survey indices, DiD on practices"),
    ChapterEntry("05_robustness", "pre-trends, few clusters, leave-one-out, placebo"),
    ChapterEntry("06_brevet", "brevet pass rates from the open-data files, DiD"),
)

#: Parameters given to every chapter (overridden by ``tne-eval report``).
DEFAULT_PARAMETERS: dict[str, object] = {
    "lang": "fr",
    "data_dir": None,
    "seed": 2021,
    "outcomes": ["score_french", "score_math"],
}
