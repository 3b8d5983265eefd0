"""Result of the design-based survey estimators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from tne_eval.results.base import EstimationResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["SurveyResult"]


@dataclass(frozen=True, repr=False, eq=False)
class SurveyResult(EstimationResult):
    """Design-based estimates: a weighted mean, a ratio or regression coefficients.

    ``to_frame()`` columns: the statistics (``estimate, std_error, statistic,
    p_value, conf_low, conf_high``), indexed by term (the outcome for a mean, the
    ratio's ``numerator/denominator``, or the regression's covariates). The
    influence functions are stored (``.influence``, rows keyed by the data's
    index), so ``with_inference("iid")`` gives the naive standard errors that
    ignore the design.
    """

    estimator: ClassVar[str] = "survey"
    title: ClassVar[str] = "Design-based survey estimates"

    kind: str = "mean"

    @property
    def influence(self) -> pd.DataFrame:
        """Influence functions: rows = the data's index, columns = term."""
        return pd.DataFrame(
            self.scores.dense(), index=self.scores.ids, columns=self._terms
        )

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Estimates with their confidence intervals."""
        from tne_eval.plotting.estimates import plot_coefficients

        return plot_coefficients(self, ax=ax, **kwargs)

    def _header(self) -> dict[str, str]:
        header = super()._header()
        header["Estimate"] = self.kind
        header["Design"] = self.spec.describe()
        header["Lonely PSUs"] = self.spec.lonely_psu
        header["Reference"] = (
            "Binder (1983), Int. Stat. Review 51(3), doi:10.2307/1402588; "
            "Lumley (2010), Complex Surveys, doi:10.1002/9780470580066"
        )
        return header
