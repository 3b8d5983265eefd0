"""The result protocol shared by every tne_eval estimator."""

from __future__ import annotations

import abc
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from tne_eval._validation import check_alpha
from tne_eval.results import schema
from tne_eval.results.summary import Summary

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["EstimationResult", "Provenance", "make_provenance"]


@dataclass(frozen=True)
class Provenance:
    """Where a number comes from: versions, the data fingerprint and the seed.

    Attributes
    ----------
    version : str
        ``tne_eval.__version__`` at fit time.
    data_fingerprint : str
        SHA-256 of the canonical prepared data.
    seed : int or None
        Seed of any randomness used (``None`` if none or a Generator was passed).
    dependencies : mapping
        Versions of Python, numpy, pandas and scipy.
    """

    version: str
    data_fingerprint: str
    seed: int | None = None
    dependencies: Mapping[str, str] = field(default_factory=dict)


def make_provenance(data_fingerprint: str, seed: object = None) -> Provenance:
    """Build a :class:`Provenance` for the running environment."""
    import scipy

    from tne_eval._version import __version__

    return Provenance(
        version=__version__,
        data_fingerprint=data_fingerprint,
        seed=int(seed) if isinstance(seed, (int, np.integer)) else None,
        dependencies={
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scipy": scipy.__version__,
        },
    )


@dataclass(frozen=True, repr=False, eq=False)
class EstimationResult(abc.ABC):
    """Base class of every tne_eval result. Immutable.

    Subclasses add estimator-specific fields and implement :meth:`plot` (by calling a
    named function of :mod:`tne_eval.plotting`) and :meth:`with_inference`.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by ``term``: the key columns, ``estimate`` and ``std_error``.
    inference : object
        The resolved inference spec (see :mod:`tne_eval.inference`).
    spec : object
        The data spec used.
    options : Mapping
        Estimator options used (read-only).
    alpha : float
        Significance level given at fit time (default of ``conf_int`` etc.).
    nobs : int
        Rows used.
    n_units : int
        Units (schools; groups for repeated cross-sections) used.
    n_clusters : int
        Clusters used by the inference.
    notes : tuple of str
        Every automatic adjustment, dropped row and fallback, in order.
    provenance : Provenance
        Package version, data fingerprint, seed.
    dof : float or None
        Degrees of freedom of the t reference distribution; ``None`` = normal.
    vcov_matrix : pandas.DataFrame or None
        Covariance of the estimates (``None`` when only bootstrap SEs exist).
    band_draws : numpy.ndarray or None
        Bootstrap draws of the sup-t statistic, from which the simultaneous band
        critical value is taken at any ``alpha``.
    """

    estimator: ClassVar[str] = "estimator"
    title: ClassVar[str] = "Estimation result"
    key_columns: ClassVar[tuple[str, ...]] = ()

    table: pd.DataFrame
    inference: Any
    spec: Any
    options: Mapping[str, Any]
    alpha: float
    nobs: int
    n_units: int
    n_clusters: int
    notes: tuple[str, ...] = ()
    provenance: Provenance | None = None
    dof: float | None = None
    vcov_matrix: pd.DataFrame | None = None
    band_draws: np.ndarray | None = None

    # -- accessors: all derived from `table` -----------------------------------
    @property
    def estimates(self) -> pd.Series:
        """Point estimates, indexed by term."""
        return self.table["estimate"].rename("estimate")

    @property
    def std_errors(self) -> pd.Series:
        """Standard errors, indexed by term."""
        return self.table["std_error"].rename("std_error")

    @property
    def statistics(self) -> pd.Series:
        """Estimate divided by standard error."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.estimates / self.std_errors).rename("statistic")

    @property
    def pvalues(self) -> pd.Series:
        """Pointwise two-sided p-values (t with ``dof`` degrees of freedom, or normal)."""
        z = self.statistics.abs().to_numpy()
        p = 2 * (stats.t.sf(z, self.dof) if self.dof else stats.norm.sf(z))
        return pd.Series(p, index=self.table.index, name="p_value")

    @property
    def vcov(self) -> pd.DataFrame | None:
        """Covariance matrix of the estimates, or ``None``."""
        return self.vcov_matrix

    @property
    def version(self) -> str:
        """tne_eval version that produced the result."""
        return self.provenance.version if self.provenance else ""

    def critical_value(self, alpha: float | None = None) -> float:
        """Pointwise two-sided critical value at ``alpha``."""
        alpha = self.alpha if alpha is None else check_alpha(alpha)
        if self.dof:
            return float(stats.t.ppf(1 - alpha / 2, self.dof))
        return float(stats.norm.ppf(1 - alpha / 2))

    def band_critical_value(self, alpha: float | None = None) -> float | None:
        """Sup-t critical value of the simultaneous band (``None`` if not computed)."""
        if self.band_draws is None:
            return None
        alpha = self.alpha if alpha is None else check_alpha(alpha)
        draws = self.band_draws[np.isfinite(self.band_draws)]
        if draws.size == 0:
            return None
        return float(np.quantile(draws, 1 - alpha))

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """Pointwise confidence intervals.

        Parameters
        ----------
        alpha : float, optional
            Significance level; defaults to the one given at fit time.

        Returns
        -------
        pandas.DataFrame
            Columns ``conf_low`` and ``conf_high``, indexed by term.
        """
        half = self.critical_value(alpha) * self.std_errors
        return pd.DataFrame(
            {
                "conf_low": self.estimates - half,
                "conf_high": self.estimates + half,
            }
        )

    def to_frame(self, alpha: float | None = None) -> pd.DataFrame:
        """Tidy table: key columns, then the statistics of :mod:`.schema`.

        ``conf_low``/``conf_high`` are pointwise; ``band_low``/``band_high`` (present
        only when a simultaneous band was computed) use the sup-t critical value.
        """
        out = self.table.loc[:, [c for c in self.key_columns if c in self.table]].copy()
        out["estimate"] = self.estimates
        out["std_error"] = self.std_errors
        out["statistic"] = self.statistics
        out["p_value"] = self.pvalues
        ci = self.conf_int(alpha)
        out["conf_low"] = ci["conf_low"]
        out["conf_high"] = ci["conf_high"]
        crit = self.band_critical_value(alpha)
        if crit is not None:
            out["band_low"] = self.estimates - crit * self.std_errors
            out["band_high"] = self.estimates + crit * self.std_errors
        out.index.name = schema.INDEX
        return out

    def _header(self) -> dict[str, str]:
        describe = getattr(self.inference, "describe", None)
        header = {
            "Estimator": self.estimator,
            "Inference": describe() if describe else str(self.inference),
            "Observations": str(self.nobs),
            "Units": str(self.n_units),
            "Clusters": str(self.n_clusters),
        }
        if self.dof:
            header["Reference distribution"] = f"t({self.dof:g})"
        if self.provenance:
            header["tne_eval"] = self.provenance.version
            header["Data fingerprint"] = self.provenance.data_fingerprint[:12]
            if self.provenance.seed is not None:
                header["Seed"] = str(self.provenance.seed)
        return header

    def summary(self, alpha: float | None = None) -> Summary:
        """Summary object (text, HTML, Markdown, LaTeX); it never prints."""
        level = 1 - (self.alpha if alpha is None else check_alpha(alpha))
        header = self._header()
        header["Confidence level"] = f"{level:.0%}"
        return Summary(self.title, header, self.to_frame(alpha), self.notes)

    @abc.abstractmethod
    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Plot the result on ``ax`` (created when ``None``) and return the Axes."""

    def __str__(self) -> str:
        return self.summary().as_text()

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    def __repr__(self) -> str:
        describe = getattr(self.inference, "describe", None)
        inf = describe() if describe else type(self.inference).__name__
        return (
            f"<{type(self).__name__}: {len(self.table)} term(s), inference={inf}, "
            f"n_units={self.n_units}>"
        )
