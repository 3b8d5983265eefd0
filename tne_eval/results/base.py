"""The result protocol shared by every tne_eval estimator."""

from __future__ import annotations

import abc
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from tne_eval._validation import check_alpha
from tne_eval.notes import INFERENCE_KINDS, Note
from tne_eval.results import schema
from tne_eval.results.disclosure import (
    COUNT_COLUMNS,
    DEFAULT_RULE,
    DisclosureRule,
    disclose,
)
from tne_eval.results.summary import Summary, SummaryDisplay

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from tne_eval.inference.output import Inferred

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
class EstimationResult(SummaryDisplay, abc.ABC):
    """Base class of every tne_eval result. Immutable.

    A result is a table of estimates, the scores the estimator stored
    (:mod:`tne_eval.inference.scores`) and the inference computed from them
    (:class:`~tne_eval.inference.output.Inferred`). Every statistic is derived
    from these; :meth:`with_inference` recomputes the inference from the stored
    scores, through :mod:`tne_eval.inference.registry`, without refitting.
    Subclasses add estimator-specific fields and implement :meth:`plot` by calling
    a named function of :mod:`tne_eval.plotting`.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by ``term``: the key columns and ``estimate``.
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
    inference : object
        The resolved inference spec (see :mod:`tne_eval.inference`).
    inferred : Inferred
        Standard errors, covariance, reference distribution, draws.
    scores : InfluenceScores or RegressionScores or None
        What the estimator stored for inference.
    score_terms : pandas.Index or None
        Terms of the scores' columns, when they differ from ``table.index``
        (reference rows without scores, covariates not shown in the table).
    notes : tuple of Note
        Every automatic adjustment, dropped row and fallback, in order; each a
        ``str`` with a ``kind`` (:mod:`tne_eval.notes`).
    provenance : Provenance
        Package version, data fingerprint, seed.
    """

    estimator: ClassVar[str] = "estimator"
    title: ClassVar[str] = "Estimation result"
    key_columns: ClassVar[tuple[str, ...]] = ()

    table: pd.DataFrame
    spec: Any
    options: Mapping[str, Any]
    alpha: float
    nobs: int
    n_units: int
    inference: Any
    inferred: Inferred
    scores: Any = None
    score_terms: pd.Index | None = None
    notes: tuple[Note, ...] = ()
    provenance: Provenance | None = None

    # -- alignment of the inference with the table ------------------------------
    @property
    def _terms(self) -> pd.Index:
        return self.table.index if self.score_terms is None else self.score_terms

    def _aligned(
        self, values: np.ndarray, name: str, fill: float = np.nan
    ) -> pd.Series:
        series = pd.Series(
            np.asarray(values, dtype=float), index=self._terms, name=name
        )
        if self.score_terms is None:
            return series
        return series.reindex(self.table.index, fill_value=fill)

    # -- accessors ----------------------------------------------------------------
    @property
    def estimates(self) -> pd.Series:
        """Point estimates, indexed by term."""
        return self.table["estimate"].rename("estimate")

    @property
    def std_errors(self) -> pd.Series:
        """Standard errors, indexed by term (NaN where not estimated or zero)."""
        return self._aligned(self.inferred.std_errors, "std_error")

    @property
    def statistics(self) -> pd.Series:
        """Estimate divided by standard error."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.estimates / self.std_errors).rename("statistic")

    @property
    def pvalues(self) -> pd.Series:
        """Pointwise two-sided p-values (t with ``dof`` degrees of freedom, or normal)."""
        est = self.estimates.reindex(self._terms).to_numpy(dtype=float)
        return self._aligned(self.inferred.pvalues(est), "p_value")

    @property
    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the estimates (zero rows for reference terms)."""
        v = pd.DataFrame(self.inferred.vcov, index=self._terms, columns=self._terms)
        if self.score_terms is None:
            return v
        idx = self.table.index
        return v.reindex(index=idx, columns=idx, fill_value=0.0)

    @property
    def vcov_matrix(self) -> pd.DataFrame:
        """Alias of :attr:`vcov`."""
        return self.vcov

    @property
    def dof(self) -> float | np.ndarray | None:
        """Degrees of freedom of the t reference distribution (``None``: normal)."""
        return self.inferred.dof

    @property
    def n_clusters(self) -> int:
        """Clusters used by the inference."""
        return self.inferred.n_clusters

    @property
    def cluster_column(self) -> str | None:
        """Column that defined the clusters of the fit (``None`` without scores)."""
        return getattr(self.scores, "cluster_column", None)

    @property
    def band_draws(self) -> np.ndarray | None:
        """Sup-t statistic of each bootstrap draw (``None`` without a band)."""
        return self.inferred.band_draws

    @property
    def draws(self) -> pd.DataFrame | None:
        """Bootstrap draws of ``estimate* - estimate`` by term (``None`` if analytic)."""
        if self.inferred.draws is None:
            return None
        return pd.DataFrame(self.inferred.draws, columns=self._terms)

    @property
    def version(self) -> str:
        """tne_eval version that produced the result."""
        return self.provenance.version if self.provenance else ""

    def critical_values(self, alpha: float | None = None) -> pd.Series:
        """Pointwise two-sided critical value of each term at ``alpha``."""
        alpha = self.alpha if alpha is None else check_alpha(alpha)
        return self._aligned(self.inferred.critical_values(alpha), "critical_value")

    def band_critical_value(self, alpha: float | None = None) -> float | None:
        """Sup-t critical value of the simultaneous band (``None`` if not computed)."""
        alpha = self.alpha if alpha is None else check_alpha(alpha)
        return self.inferred.band_critical_value(alpha)

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
        alpha = self.alpha if alpha is None else check_alpha(alpha)
        est = self.estimates.reindex(self._terms).to_numpy(dtype=float)
        low, high = self.inferred.conf_int(est, alpha)
        return pd.DataFrame(
            {
                "conf_low": self._aligned(low, "conf_low"),
                "conf_high": self._aligned(high, "conf_high"),
            }
        )

    def to_frame(self, alpha: float | None = None) -> pd.DataFrame:
        """Tidy table: key columns, then the statistics of :mod:`.schema`.

        ``conf_low``/``conf_high`` are pointwise; ``band_low``/``band_high`` (present
        only when a simultaneous band was computed) use the sup-t critical value.
        The count columns of :mod:`tne_eval.results.disclosure` (``n_pupils``,
        ``n_schools``) follow the key columns when the table has them.
        """
        out = self.table.loc[:, [c for c in self.key_columns if c in self.table]].copy()
        for column in COUNT_COLUMNS:  # the counts behind each row, when known
            if column in self.table:
                out[column] = self.table[column]
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

    # -- exports --------------------------------------------------------------------
    def _disclosed(
        self, alpha: float | None, digits: int, disclosure: DisclosureRule | None
    ) -> pd.DataFrame:
        frame = self.to_frame(alpha).round(digits)
        keys = tuple(c for c in self.key_columns if c in frame)
        return disclose(frame, disclosure, keys=keys)

    def _disclosed_summary(
        self, alpha: float | None, digits: int, disclosure: DisclosureRule | None
    ) -> Summary:
        summary = self.summary(alpha, digits=digits)
        frame = self.to_frame(alpha)
        if disclosure is None or not disclosure.has_counts(frame):
            return summary
        keys = tuple(c for c in self.key_columns if c in frame)
        notes = (*summary.notes, disclosure.describe("en"))
        return replace(
            summary, table=disclose(summary.table, disclosure, keys=keys), notes=notes
        )

    def to_markdown(
        self,
        alpha: float | None = None,
        digits: int = 4,
        disclosure: DisclosureRule | None = DEFAULT_RULE,
    ) -> str:
        """Render the tidy table (:meth:`to_frame`) as a Markdown table.

        Rows computed from fewer pupils or schools than ``disclosure`` allows
        (count columns ``n_pupils``/``n_schools`` of the table, see
        :mod:`tne_eval.results.disclosure`) show ``"s"``; ``disclosure=None``
        prints every cell.
        """
        return self._disclosed(alpha, digits, disclosure).to_markdown()

    def to_latex(
        self,
        alpha: float | None = None,
        digits: int = 4,
        disclosure: DisclosureRule | None = DEFAULT_RULE,
    ) -> str:
        """Render the summary (header, table, notes) as a LaTeX ``table`` float.

        Secret rows show ``"s"`` and the rule is added to the notes (see
        :meth:`to_markdown`).
        """
        return self._disclosed_summary(alpha, digits, disclosure).as_latex()

    def to_html(
        self,
        alpha: float | None = None,
        digits: int = 4,
        disclosure: DisclosureRule | None = DEFAULT_RULE,
    ) -> str:
        """Render the summary as HTML (what notebooks display).

        Secret rows show ``"s"`` and the rule is added to the notes (see
        :meth:`to_markdown`).
        """
        return self._disclosed_summary(alpha, digits, disclosure).as_html()

    # -- inference ------------------------------------------------------------------
    def with_inference(self, inference: object) -> Any:
        """Return a new result with standard errors from another inference choice.

        The stored scores are reused; nothing is refitted. Clustering can only use
        the cluster column of the fit (refit with ``inference=Cluster(by=...)`` or
        another ``spec.cluster`` to change it). The notes of the old inference
        (kinds ``inference`` and ``few_clusters``) are replaced by the new ones.

        Parameters
        ----------
        inference : inference object or str
            Any inference the stored scores support (see the estimator's
            docstring, or the error message, for the list).

        Returns
        -------
        EstimationResult
            Of the same class; the original is untouched.
        """
        from tne_eval.inference.registry import infer, resolve

        new = resolve(inference, estimator=self.estimator, store_type=type(self.scores))
        inferred = infer(new, self.scores)
        keep = tuple(n for n in self.notes if n.kind not in INFERENCE_KINDS)
        seed = getattr(new, "seed", None)
        provenance = self.provenance
        if provenance is not None and isinstance(seed, (int, np.integer)):
            provenance = replace(provenance, seed=int(seed))
        out = replace(
            self,
            inference=new,
            inferred=inferred,
            notes=keep + inferred.notes,
            provenance=provenance,
        )
        return out._after_inference()

    def _after_inference(self) -> Any:
        """Recompute what depends on the inference (e.g. a pre-test); a hook."""
        return self

    # -- summaries ------------------------------------------------------------------
    def _header(self) -> dict[str, str]:
        header = {
            "Estimator": self.estimator,
            "Inference": self.inferred.description,
            "Observations": str(self.nobs),
            "Units": str(self.n_units),
        }
        header["Cluster variable"] = self.inferred.clusters or "none"
        header["Clusters"] = str(self.n_clusters)
        dof = self.dof
        if isinstance(dof, np.ndarray):
            header["Reference distribution"] = "t (degrees of freedom by term)"
        elif dof:
            header["Reference distribution"] = f"t({dof:g})"
        else:
            header["Reference distribution"] = "normal"
        if self.provenance:
            header["tne_eval"] = self.provenance.version
            header["Data fingerprint"] = self.provenance.data_fingerprint[:12]
            if self.provenance.seed is not None:
                header["Seed"] = str(self.provenance.seed)
        return header

    def summary(self, alpha: float | None = None, digits: int = 4) -> Summary:
        """Summary object (text, HTML, Markdown, LaTeX); it never prints."""
        level = 1 - (self.alpha if alpha is None else check_alpha(alpha))
        header = self._header()
        header["Confidence level"] = f"{level:.0%}"
        return Summary(self.title, header, self.to_frame(alpha), self.notes, digits)

    @abc.abstractmethod
    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Plot the result on ``ax`` (created when ``None``) and return the Axes."""

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__}: {len(self.table)} term(s), inference="
            f"{self.inferred.description}, n_units={self.n_units}>"
        )
