"""Results of the difference-in-differences estimators."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
from scipy import sparse

from tne_eval.errors import InferenceError
from tne_eval.results.base import EstimationResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from tne_eval.inference.wald import WaldTest

__all__ = ["AggregateResult", "GroupTimeResult", "TwoByTwoResult"]


@dataclass(frozen=True, repr=False, eq=False)
class _InfluenceResult(EstimationResult):
    """A result whose estimates come with stored influence functions.

    ``influence_values[i, j]`` is the influence-function value of row ``i`` (a unit
    of a panel, an observation of repeated cross-sections, labelled by
    ``influence_ids[i]``) for term ``j``; rows are aligned by id, never by position.
    For repeated cross-sections of group-time cells it is a SciPy sparse array
    (each cell uses the rows of two periods only); ``influence`` is always dense.
    """

    influence_values: np.ndarray | None = None
    influence_ids: pd.Index | None = None
    if_cluster_code: np.ndarray | None = None
    if_cohort: np.ndarray | None = None
    if_weights: np.ndarray | None = None
    cluster_column: str | None = None

    @property
    def influence(self) -> pd.DataFrame:
        """Influence functions: rows = unit (or observation) id, columns = term."""
        values = self.influence_values
        if sparse.issparse(values):  # repeated cross-sections store them sparse
            values = values.toarray()
        return pd.DataFrame(values, index=self.influence_ids, columns=self.table.index)

    def with_inference(self, inference: object) -> Any:
        """Return a new result with standard errors from another inference choice.

        Influence functions are reused; nothing is refitted. Clustering can only use
        the cluster column of the fit (refit with another ``spec.cluster`` to change
        it).
        """
        from tne_eval.inference._apply import infer_from_influence
        from tne_eval.inference.spec import IID, Cluster, MultiplierBootstrap, resolve

        new = resolve(
            inference,
            estimator=self.estimator,
            supported=(IID, Cluster, MultiplierBootstrap),
        )
        by = getattr(new, "by", None)
        if by is not None and by != self.cluster_column:
            raise InferenceError(
                f"This result was fitted with clusters from {self.cluster_column!r}; "
                f"clustering by {by!r} needs a refit with spec.cluster={by!r}."
            )
        out = infer_from_influence(
            self.influence_values, self.if_cluster_code, self._n_if_clusters(), new
        )
        table = self.table.copy()
        table["std_error"] = out.std_errors
        vcov = (
            None
            if out.vcov is None
            else pd.DataFrame(out.vcov, index=table.index, columns=table.index)
        )
        clustered_only = ("Cluster-robust",) + (
            ("Few treated clusters",) if isinstance(new, IID) else ()
        )
        keep = tuple(n for n in self.notes if not n.startswith(clustered_only))
        return replace(
            self,
            table=table,
            inference=new,
            dof=out.dof,
            vcov_matrix=vcov,
            band_draws=out.band_draws,
            n_clusters=out.n_clusters,
            notes=keep + out.notes,
        )

    def _n_if_clusters(self) -> int:
        if self.if_cluster_code is None:
            return len(self.influence_ids)
        return int(self.if_cluster_code.max()) + 1


@dataclass(frozen=True, repr=False, eq=False)
class GroupTimeResult(_InfluenceResult):
    """Group-time average treatment effects ATT(g,t) (Callaway & Sant'Anna 2021).

    ``to_frame()`` columns: ``cohort, time, event_time, post`` then the statistics.
    ``post`` is True when ``time >= cohort``. Reference cells of a universal base
    period have estimate 0 and a NaN standard error. Aggregate with
    :meth:`aggregate` (no refit), test pre-trends with :meth:`pre_trend_test`.
    """

    estimator: ClassVar[str] = "att_gt"
    title: ClassVar[str] = "Callaway-Sant'Anna group-time average treatment effects"
    key_columns: ClassVar[tuple[str, ...]] = ("cohort", "time", "event_time", "post")

    pretest: WaldTest | None = None

    def with_inference(self, inference: object) -> GroupTimeResult:
        """Return a new result with another inference choice (pre-test recomputed)."""
        from tne_eval.did.pretrends import pre_trend_test

        new = super().with_inference(inference)
        return replace(new, pretest=pre_trend_test(new))

    def aggregate(self, kind: str = "simple", **kwargs: Any) -> AggregateResult:
        """Aggregate the ATT(g,t); see :func:`tne_eval.did.aggregate`."""
        from tne_eval.did.aggregate import aggregate

        return aggregate(self, kind=kind, **kwargs)  # type: ignore[arg-type]

    def pre_trend_test(self) -> WaldTest:
        """Joint Wald test that every pre-treatment ATT(g,t) is zero.

        Uses the analytic (cluster-robust if clustered) covariance of the
        pre-treatment cells, whatever the inference of the result.
        """
        from tne_eval.did.pretrends import pre_trend_test

        return pre_trend_test(self)

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """ATT(g,t) by cohort over time, with pointwise CIs (and the band if any)."""
        from tne_eval.plotting.event_study import plot_group_time

        return plot_group_time(self, ax=ax, **kwargs)

    def _header(self) -> dict[str, str]:
        header = super()._header()
        opts = self.options
        header["Comparison group"] = str(opts.get("control_group"))
        header["Estimation method"] = str(opts.get("method"))
        header["Base period"] = str(opts.get("base_period"))
        header["Anticipation periods"] = str(opts.get("anticipation"))
        header["Data"] = "panel" if opts.get("panel") else "repeated cross-sections"
        if self.pretest is not None:
            header["Pre-trend test"] = str(self.pretest)
        header["Reference"] = (
            "Callaway & Sant'Anna (2021), J. Econometrics 225(2), "
            "doi:10.1016/j.jeconom.2020.12.001"
        )
        return header


@dataclass(frozen=True, repr=False, eq=False)
class AggregateResult(_InfluenceResult):
    """Aggregated ATT(g,t): simple, dynamic (event time), group or calendar.

    ``to_frame()`` columns: ``kind`` and the aggregation key (``event_time``,
    ``cohort`` or ``time``; absent for ``simple``) then the statistics. The row
    ``overall`` (dynamic, group, calendar) is the average over the keys as defined
    by R ``did``'s ``aggte``: the mean over post-treatment event times, the
    cohort-size weighted mean over cohorts, the mean over calendar periods.
    """

    estimator: ClassVar[str] = "aggregate"
    title: ClassVar[str] = "Aggregated group-time average treatment effects"

    kind: str = "simple"

    @property
    def key_columns(self) -> tuple[str, ...]:  # type: ignore[override]
        """Key columns of ``to_frame()``."""
        key = {"dynamic": "event_time", "group": "cohort", "calendar": "time"}
        return ("kind", key[self.kind]) if self.kind in key else ("kind",)

    @property
    def overall(self) -> pd.Series:
        """The overall average (row ``overall``, or ``ATT`` for simple) of ``to_frame()``."""
        term = "ATT" if self.kind == "simple" else "overall"
        return self.to_frame().loc[term]

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Event-study (or cohort/calendar) plot with pointwise CIs and the band."""
        from tne_eval.plotting.event_study import plot_aggregate

        return plot_aggregate(self, ax=ax, **kwargs)

    def _header(self) -> dict[str, str]:
        header = super()._header()
        header["Aggregation"] = self.kind
        for k in ("balance_e", "min_e", "max_e"):
            if self.options.get(k) is not None:
                header[k] = str(self.options[k])
        return header


@dataclass(frozen=True, repr=False, eq=False)
class TwoByTwoResult(_InfluenceResult):
    """A 2x2 difference-in-differences ATT (Sant'Anna & Zhao 2020).

    ``to_frame()`` has one row, ``ATT``, with the statistics.
    """

    estimator: ClassVar[str] = "did_2x2"
    title: ClassVar[str] = "2x2 difference-in-differences"

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Point estimate with its confidence interval."""
        from tne_eval.plotting.estimates import plot_coefficients

        return plot_coefficients(self, ax=ax, **kwargs)

    def _header(self) -> dict[str, str]:
        header = super()._header()
        header["Estimation method"] = str(self.options.get("method"))
        header["Data"] = (
            "panel" if self.options.get("panel") else "repeated cross-sections"
        )
        header["Reference"] = (
            "Sant'Anna & Zhao (2020), J. Econometrics 219(1), "
            "doi:10.1016/j.jeconom.2020.06.003"
        )
        return header
