"""Results of the two-way fixed-effects (TWFE) benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from tne_eval.errors import InferenceError
from tne_eval.results.base import EstimationResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["EventStudyResult", "TWFEResult"]

_INFERENCE_NOTE_PREFIXES = ("Cluster-robust standard errors", "Few clusters")


def _cohort_text(cohorts: tuple[float, ...]) -> str:
    shown = ", ".join(f"{c:g}" for c in cohorts[:8])
    return shown + (", ..." if len(cohorts) > 8 else "")


@dataclass(frozen=True, repr=False, eq=False)
class _TWFEBase(EstimationResult):
    r"""A TWFE regression: estimates plus what is needed to change inference.

    ``unit_scores[i, j]`` is :math:`\sum_t w_{it}\hat e_{it}\tilde x_{j,it}` for
    unit ``i`` (in ``spec.unit`` sort order) and estimated regressor ``j`` (the
    ``n_terms`` treatment terms first, then the kept covariates); ``bread`` is
    :math:`(\tilde X'W\tilde X)^{-1}`. Clusters are at or above the unit, so unit
    sums suffice for every cluster-robust variance.
    """

    cluster_column: str | None = None
    unit_scores: np.ndarray | None = None
    bread: np.ndarray | None = None
    unit_cluster_code: np.ndarray | None = None
    unit_treated: np.ndarray | None = None
    k_cluster: int = 0
    k_unit: int = 0
    n_terms: int = 0
    reference_mask: np.ndarray | None = None
    covariate_table: pd.DataFrame | None = None
    cohorts: tuple[float, ...] = ()

    @property
    def staggered(self) -> bool:
        """True when more than one treated cohort was used (adoption is staggered)."""
        return len(self.cohorts) > 1

    def with_inference(self, inference: object) -> Any:
        """Return a new result with standard errors from another inference choice.

        The stored unit-level scores are reused; nothing is refitted. Clustering can
        only use the cluster column of the fit (refit with another ``spec.cluster``
        to change it); ``"iid"`` clusters by unit.
        """
        from tne_eval.did.twfe import SUPPORTED_INFERENCE, infer
        from tne_eval.inference.spec import resolve

        new = resolve(
            inference, estimator=self.estimator, supported=SUPPORTED_INFERENCE
        )
        by = getattr(new, "by", None)
        if by is not None and by != self.cluster_column:
            raise InferenceError(
                f"This result was fitted with clusters from {self.cluster_column!r}; "
                f"clustering by {by!r} needs a refit with spec.cluster={by!r}."
            )
        out, cl_notes = infer(
            new,
            self.unit_scores,
            self.bread,
            self.unit_cluster_code,
            str(self.cluster_column),
            self.unit_treated,
            n_obs=self.nobs,
            k_cluster=self.k_cluster,
            k_unit=self.k_unit,
        )
        n = self.n_terms
        table = self.table.copy()
        estimated = ~self.reference_mask
        se = table["std_error"].to_numpy(dtype=float).copy()
        se[estimated] = out.std_errors[:n]
        table["std_error"] = se
        vcov = np.zeros((len(table), len(table)))
        pos = np.flatnonzero(estimated)
        vcov[np.ix_(pos, pos)] = out.vcov[:n, :n]
        cov_table = None
        if self.covariate_table is not None:
            cov_table = self.covariate_table.copy()
            cov_table["std_error"] = out.std_errors[n:]
        keep = tuple(
            note for note in self.notes if not note.startswith(_INFERENCE_NOTE_PREFIXES)
        )
        return replace(
            self,
            table=table,
            inference=new,
            dof=out.dof,
            vcov_matrix=pd.DataFrame(vcov, index=table.index, columns=table.index),
            n_clusters=out.n_clusters,
            covariate_table=cov_table,
            notes=keep + out.notes + tuple(cl_notes),
        )

    def _header(self) -> dict[str, str]:
        header = super()._header()
        spec = self.spec
        header["Fixed effects"] = f"unit ({spec.unit!r}) + period ({spec.time!r})"
        from tne_eval.inference.spec import IID

        header["Cluster variable"] = (
            f"unit ({spec.unit!r})"
            if isinstance(self.inference, IID)
            else repr(self.cluster_column)
        )
        header["Weights"] = repr(spec.weights) if spec.weights else "none"
        covs = self.options.get("covariates") or ()
        header["Covariates"] = ", ".join(covs) if covs else "none"
        header["Staggered adoption"] = (
            f"yes ({len(self.cohorts)} cohorts: {_cohort_text(self.cohorts)})"
            if self.staggered
            else f"no (cohort {_cohort_text(self.cohorts)})"
        )
        return header


@dataclass(frozen=True, repr=False, eq=False)
class TWFEResult(_TWFEBase):
    r"""Static TWFE coefficient on :math:`D_{it} = 1\{t \ge G_i\}` (a benchmark).

    ``to_frame()`` has one row, term ``"D"``, with the statistics columns.
    :meth:`weights` gives the de Chaisemartin & D'Haultfœuille (2020) weight of
    each treated (cohort, period) cell in the coefficient;
    ``n_negative_weights``, ``sum_negative_weights`` and ``sigma_fe`` summarise
    them. Covariate coefficients, if any, are in ``covariate_table``.
    """

    estimator: ClassVar[str] = "twfe"
    title: ClassVar[str] = "Static two-way fixed-effects regression (benchmark)"

    weights_table: pd.DataFrame | None = None
    n_negative_weights: int = 0
    sum_negative_weights: float = 0.0
    sigma_fe: float = float("nan")

    def weights(self) -> pd.DataFrame:
        r"""Weights of the treated (cohort, period) cells in the static coefficient.

        Returns
        -------
        pandas.DataFrame
            Columns ``cohort, time, event_time, n_obs, weight``. The weights sum to
            one; under parallel trends the coefficient equals
            :math:`\sum_{cells} \text{weight} \times \text{ATT(cohort, time)}`
            (exactly, when effects are constant within cells). Negative weights mean
            the coefficient can fall outside the range of the cell effects.
        """
        if self.weights_table is None:
            return pd.DataFrame(
                columns=["cohort", "time", "event_time", "n_obs", "weight"]
            )
        return self.weights_table.copy()

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Weights of the treated cells by cohort and period; negatives highlighted."""
        from tne_eval.plotting.twfe import plot_twfe_weights

        return plot_twfe_weights(self, ax=ax, **kwargs)

    def _header(self) -> dict[str, str]:
        header = super()._header()
        n_cells = 0 if self.weights_table is None else len(self.weights_table)
        header["Negative weights"] = (
            f"{self.n_negative_weights} of {n_cells} treated (cohort, period) cells, "
            f"sum {self.sum_negative_weights:.4g}; sigma_fe = {self.sigma_fe:.4g}"
        )
        header["Reference"] = (
            "de Chaisemartin & D'Haultfoeuille (2020), AER 110(9), "
            "doi:10.1257/aer.20181169; Goodman-Bacon (2021), J. Econometrics "
            "225(2), doi:10.1016/j.jeconom.2021.03.014"
        )
        return header


@dataclass(frozen=True, repr=False, eq=False)
class EventStudyResult(_TWFEBase):
    """TWFE event-study coefficients by event time (a benchmark).

    ``to_frame()`` columns: ``event_time, binned, reference`` then the
    statistics. Terms are ``"e=-3"`` etc.; binned endpoints are ``"e<=-4"`` and
    ``"e>=5"``; reference rows have estimate 0 and a NaN standard error.
    :meth:`event_time_counts` gives the observations behind each term.
    """

    estimator: ClassVar[str] = "twfe_event_study"
    title: ClassVar[str] = "Two-way fixed-effects event study (benchmark)"
    key_columns: ClassVar[tuple[str, ...]] = ("event_time", "binned", "reference")

    counts: pd.DataFrame | None = None

    def event_time_counts(self) -> pd.DataFrame:
        """Treated observations and units behind each term (binned ones pooled).

        Returns
        -------
        pandas.DataFrame
            Indexed by term: ``event_time, n_obs, n_units``.
        """
        if self.counts is None:
            return pd.DataFrame(columns=["event_time", "n_obs", "n_units"])
        return self.counts.copy()

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Coefficients by event time with pointwise CIs; reference rows hollow."""
        from tne_eval.plotting.twfe import plot_event_study_twfe

        return plot_event_study_twfe(self, ax=ax, **kwargs)

    def _header(self) -> dict[str, str]:
        header = super()._header()
        opts = self.options
        lo, hi = opts.get("window", (None, None))
        header["Event-time window"] = f"[{lo}, {hi}]"
        refs = opts.get("reference", ())
        header["Omitted event time(s)"] = ", ".join(str(r) for r in refs)
        header["Endpoints"] = (
            "binned (constant effect beyond the window)"
            if opts.get("bin_endpoints")
            else "observations beyond the window dropped"
        )
        header["Reference"] = (
            "Sun & Abraham (2021), J. Econometrics 225(2), "
            "doi:10.1016/j.jeconom.2020.09.006"
        )
        return header
