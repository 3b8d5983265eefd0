"""Statistical secrecy: suppress the cells computed from too few pupils or schools.

A table knows the counts behind each of its rows through **count columns**:
``n_pupils`` (pupils, or teachers for the survey) and ``n_schools`` (schools).
A row whose count falls below the rule's threshold is *secret*: every value of
the row except its key columns (the ones that say which cell it is) is replaced
by the symbol ``"s"``, the counts included, as French public statistics do.
Tables without count columns are returned unchanged (there is nothing to check).

:meth:`EstimationResult.to_markdown
<tne_eval.results.base.EstimationResult.to_markdown>`, ``to_latex`` and
``to_html`` apply :data:`DEFAULT_RULE` when the result's table carries count
columns; the report applies it to every table it prints and states the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tne_eval.errors import SpecError

__all__ = ["COUNT_COLUMNS", "DEFAULT_RULE", "DisclosureRule", "disclose"]

#: Count columns recognised in tables: pupils and schools behind each row.
COUNT_COLUMNS: tuple[str, ...] = ("n_pupils", "n_schools")


@dataclass(frozen=True)
class DisclosureRule:
    """Minimum counts behind a published cell.

    Parameters
    ----------
    min_pupils : int, default 10
        A cell from fewer pupils (column ``pupils_column``) is secret.
    min_schools : int, default 3
        A cell from fewer schools (column ``schools_column``) is secret.
    pupils_column, schools_column : str
        Names of the count columns.
    symbol : str, default "s"
        What a secret cell prints as.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"group": ["a", "b"], "mean": [1.5, 2.5],
    ...                   "n_schools": [12, 2]})
    >>> disclose(t, DisclosureRule(), keys=("group",))["mean"].tolist()
    [1.5, 's']
    """

    min_pupils: int = 10
    min_schools: int = 3
    pupils_column: str = "n_pupils"
    schools_column: str = "n_schools"
    symbol: str = "s"

    def __post_init__(self) -> None:
        for name in ("min_pupils", "min_schools"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise SpecError(f"{name} must be an int (got {value!r}).")
            if value < 1:
                raise SpecError(f"{name} must be at least 1 (got {value}).")

    def secret(self, frame: pd.DataFrame) -> pd.Series:
        """Boolean Series: the rows of ``frame`` that must be suppressed.

        A missing count counts as too small (a cell whose size is unknown is not
        published).
        """
        out = pd.Series(False, index=frame.index)
        for column, minimum in (
            (self.pupils_column, self.min_pupils),
            (self.schools_column, self.min_schools),
        ):
            if column in frame.columns:
                counts = pd.to_numeric(frame[column], errors="coerce")
                out |= ~(counts >= minimum).fillna(False).astype(bool)
        return out

    def has_counts(self, frame: pd.DataFrame) -> bool:
        """Whether ``frame`` has at least one count column of the rule."""
        return any(
            c in frame.columns for c in (self.pupils_column, self.schools_column)
        )

    def describe(self, lang: str = "en") -> str:
        """State the rule in one sentence, to print under a table."""
        if lang == "fr":
            return (
                f"Secret statistique : une case calculée sur moins de "
                f"{self.min_pupils} élèves ou moins de {self.min_schools} "
                f"établissements n'est pas publiée et est remplacée par "
                f"« {self.symbol} »."
            )
        return (
            f"Statistical secrecy: a cell computed from fewer than "
            f"{self.min_pupils} pupils or fewer than {self.min_schools} schools is "
            f"not published and shows '{self.symbol}'."
        )


#: The rule used by default (10 pupils, 3 schools).
DEFAULT_RULE = DisclosureRule()


def disclose(
    frame: pd.DataFrame,
    rule: DisclosureRule | None = DEFAULT_RULE,
    *,
    keys: Sequence[str] = (),
) -> pd.DataFrame:
    """Return a copy of ``frame`` with the secret rows' values replaced by ``"s"``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Not modified.
    rule : DisclosureRule or None, default DEFAULT_RULE
        ``None`` returns an unchanged copy.
    keys : sequence of str, default ()
        Columns that identify the cell (cohort, year, group); never suppressed.

    Returns
    -------
    pandas.DataFrame
        Columns holding a suppressed cell become ``object`` dtype.
    """
    out = frame.copy()
    if rule is None or not rule.has_counts(frame):
        return out
    secret = rule.secret(frame).to_numpy()
    if not secret.any():
        return out
    for column in out.columns:
        if column in keys:
            continue
        values = out[column].astype(object)
        values[secret] = rule.symbol
        out[column] = values
    return out
