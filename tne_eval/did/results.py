"""Results of the difference-in-differences estimators.

Results never import estimators: aggregation, tests and plots are functions that
take a result (``tne_eval.aggregate``, ``tne_eval.did.pre_trend_test``,
:mod:`tne_eval.plotting`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
from scipy import sparse

from tne_eval.errors import TneEvalTypeError
from tne_eval.inference.recommend import (
    effective_clusters,
    recommendation_note,
    treated_clusters,
)
from tne_eval.inference.spec import IID
from tne_eval.inference.wald import WaldTest, wald_test_scores
from tne_eval.notes import NoteKind
from tne_eval.results.base import EstimationResult
from tne_eval.results.event_study import EventStudyMixin, require_event_study

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "AggregateResult",
    "GroupTimeResult",
    "TWFEEventStudyResult",
    "TWFEResult",
    "TwoByTwoResult",
]

_DATA_LABEL = {
    "panel": "panel (units followed over time)",
    "rc": "repeated cross-sections",
    "unbalanced": (
        "unbalanced panel, unbalanced='keep': each cell compares the observations "
        "of its two periods (repeated-cross-section estimator), influence functions "
        "summed by unit"
    ),
}


def _reference(name: str) -> dict[str, str]:
    refs = {
        "cs": "Callaway & Sant'Anna (2021), J. Econometrics 225(2), "
        "doi:10.1016/j.jeconom.2020.12.001",
        "sz": "Sant'Anna & Zhao (2020), J. Econometrics 219(1), "
        "doi:10.1016/j.jeconom.2020.06.003",
        "dcdh": "de Chaisemartin & D'Haultfoeuille (2020), AER 110(9), "
        "doi:10.1257/aer.20181169; Goodman-Bacon (2021), J. Econometrics "
        "225(2), doi:10.1016/j.jeconom.2021.03.014",
        "sa": "Sun & Abraham (2021), J. Econometrics 225(2), "
        "doi:10.1016/j.jeconom.2020.09.006",
    }
    return {"Reference": refs[name]}


@dataclass(frozen=True, repr=False, eq=False)
class _InfluenceResult(EstimationResult):
    """A result whose scores are influence functions (:class:`InfluenceScores`)."""

    @property
    def influence(self) -> pd.DataFrame:
        """Influence functions: rows = unit (or observation) id, columns = term."""
        values = self.scores.values
        if sparse.issparse(values):  # repeated cross-sections store them sparse
            values = values.toarray()
        return pd.DataFrame(values, index=self.scores.ids, columns=self._terms)

    def _data_header(self) -> dict[str, str]:
        return {"Data": _DATA_LABEL[self.options.get("data", "panel")]}


class _TreatedClustersMixin:
    """Treated clusters behind each term, in ``to_frame()`` and in a note.

    ``to_frame()`` gains ``n_treated_clusters`` (distinct clusters among the
    treated units whose influence function enters the term) and
    ``effective_clusters`` (Carter-Schnepel-Steigerwald :math:`G^*`, see
    :func:`tne_eval.inference.recommend.effective_clusters`); the notes gain
    the inference recommended for each group of terms by the TNE-design Monte
    Carlo (:mod:`tne_eval.inference.recommend`).
    """

    def __post_init__(self) -> None:
        if self.scores is None:
            return
        counts = self._treated_cluster_table()
        object.__setattr__(self, "_cluster_counts", counts)
        # the recommendations come from the TNE design's Monte Carlo: they are
        # stated where its problem arises (a few-clusters note), not for designs
        # with many treated clusters that the study says nothing about
        if not any(
            n.kind is NoteKind.FEW_CLUSTERS and n.startswith("Few treated clusters")
            for n in self.notes
        ):
            return
        note = recommendation_note(
            counts.index,
            counts["n_treated_clusters"].fillna(0).to_numpy(dtype=int),
            counts["effective_clusters"].to_numpy(dtype=float),
            current=self.inferred.description,
            band=self.inferred.band_draws is not None,
        )
        if note is not None and note not in self.notes:
            object.__setattr__(self, "notes", (*self.notes, note))

    def treated_clusters(self) -> pd.DataFrame:
        """Treated clusters and effective clusters behind each term.

        Returns
        -------
        pandas.DataFrame
            Indexed by term: ``n_treated_clusters`` (nullable integer; missing
            for terms without scores, such as reference rows) and
            ``effective_clusters``. Clusters are those of the inference (each
            unit its own under ``IID``).
        """
        cached = self.__dict__.get("_cluster_counts")
        return (self._treated_cluster_table() if cached is None else cached).copy()

    def _treated_cluster_table(self) -> pd.DataFrame:
        store = self.scores
        code = None if store.cluster_code is None else store.cluster_code
        if isinstance(self.inference, IID):
            code = None
        counts = treated_clusters(store.values, code, store.row_cohort)
        eff = effective_clusters(store.values, code)
        out = pd.DataFrame(
            {
                "n_treated_clusters": pd.array(counts, dtype="Int64"),
                "effective_clusters": eff,
            },
            index=self._terms,
        )
        return out.reindex(self.table.index)

    def to_frame(self, alpha: float | None = None) -> pd.DataFrame:
        """Tidy table, then ``n_treated_clusters`` and ``effective_clusters``."""
        out = super().to_frame(alpha)  # type: ignore[misc]
        if self.scores is None:
            return out
        return out.join(self.treated_clusters())


@dataclass(frozen=True, repr=False, eq=False)
class GroupTimeResult(_TreatedClustersMixin, _InfluenceResult):
    """Group-time average treatment effects ATT(g,t) (Callaway & Sant'Anna 2021).

    ``to_frame()`` columns: ``cohort, time, event_time, post`` then the statistics.
    ``post`` is True when ``time >= cohort``. Reference cells of a universal base
    period have estimate 0 and a NaN standard error. Aggregate with
    :func:`tne_eval.aggregate` (no refit); ``pretest`` holds the joint pre-trend
    test (:func:`tne_eval.did.pre_trend_test`).
    """

    estimator: ClassVar[str] = "att_gt"
    title: ClassVar[str] = "Callaway-Sant'Anna group-time average treatment effects"
    key_columns: ClassVar[tuple[str, ...]] = ("cohort", "time", "event_time", "post")

    pretest: WaldTest | None = None

    def _after_inference(self) -> GroupTimeResult:
        return replace(self, pretest=self.pre_trend_test())

    def pre_trend_test(self) -> WaldTest:
        r"""Joint Wald test that every pre-treatment ATT(g,t) is zero.

        Uses the analytic influence-function covariance of the pre-treatment cells,
        clustered like the result (unclustered for ``IID``), without small-sample
        factor, against :math:`\chi^2` (as R ``did`` reports it). Reference cells
        of a universal base period and cells not estimated are excluded.
        """
        table = self.table
        pre = (~table["post"].to_numpy()) & np.isfinite(table["estimate"].to_numpy())
        pre &= np.isfinite(self.std_errors.to_numpy())
        null = "no pre-treatment effects (parallel pre-trends)"
        if not pre.any():
            reason = (
                "there are no pre-treatment cells"
                if not (~table["post"].to_numpy()).any()
                else "no pre-treatment cell has a standard error"
            )
            return WaldTest(np.nan, 0, np.nan, null, (), reason)
        return wald_test_scores(
            table["estimate"].to_numpy()[pre],
            self.scores.columns(np.flatnonzero(pre)),
            clustered=not isinstance(self.inference, IID),
            null=null,
            terms=tuple(table.index[pre]),
        )

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
        header.update(self._data_header())
        if self.pretest is not None:
            header["Pre-trend test"] = str(self.pretest)
        header.update(_reference("cs"))
        return header


def require_group_time(
    result: object, function: str, hint: str = ""
) -> GroupTimeResult:
    """Raise unless ``result`` is a :class:`GroupTimeResult` (named in the message)."""
    if not isinstance(result, GroupTimeResult):
        raise TneEvalTypeError(
            f"{function}() needs a GroupTimeResult from att_gt (got "
            f"{type(result).__name__}).{hint}"
        )
    return result


@dataclass(frozen=True, repr=False, eq=False)
class AggregateResult(EventStudyMixin, _TreatedClustersMixin, _InfluenceResult):
    """Aggregated ATT(g,t): simple, dynamic (event time), group or calendar.

    ``to_frame()`` columns: ``kind`` and the aggregation key (``event_time``,
    ``cohort`` or ``time``; absent for ``simple``) then the statistics. The row
    ``overall`` (dynamic, group, calendar) is the average over the keys as defined
    by R ``did``'s ``aggte``: the mean over post-treatment event times, the
    cohort-size weighted mean over cohorts, the mean over calendar periods. A
    dynamic aggregation is an event study (:meth:`event_study`).
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

    def _event_study_available(self) -> None:
        if self.kind != "dynamic":
            require_event_study(self.kind)

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
        header.update(self._data_header())
        header.update(_reference("cs"))
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
        header.update(self._data_header())
        header.update(_reference("sz"))
        return header


def _cohort_text(cohorts: tuple[float, ...]) -> str:
    shown = ", ".join(f"{c:g}" for c in cohorts[:8])
    return shown + (", ..." if len(cohorts) > 8 else "")


@dataclass(frozen=True, repr=False, eq=False)
class _TWFEBase(EstimationResult):
    """A TWFE regression; its scores are :class:`RegressionScores`.

    ``score_terms`` lists the estimated treatment terms, then the kept
    covariates; the table holds the treatment terms (and reference rows).
    """

    cohorts: tuple[float, ...] = ()

    @property
    def staggered(self) -> bool:
        """True when more than one treated cohort was used (adoption is staggered)."""
        return len(self.cohorts) > 1

    @property
    def covariate_table(self) -> pd.DataFrame:
        """Coefficients and standard errors of the covariates (empty without)."""
        terms = self._terms
        cov = ~terms.isin(self.table.index)
        return pd.DataFrame(
            {
                "estimate": self.scores.beta[cov],
                "std_error": self.inferred.std_errors[cov],
            },
            index=pd.Index(terms[cov], name="term"),
        )

    def _header(self) -> dict[str, str]:
        header = super()._header()
        spec = self.spec
        header["Fixed effects"] = f"unit ({spec.unit!r}) + period ({spec.time!r})"
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
        header.update(_reference("dcdh"))
        return header


@dataclass(frozen=True, repr=False, eq=False)
class TWFEEventStudyResult(EventStudyMixin, _TWFEBase):
    """TWFE event-study coefficients by event time (a benchmark).

    ``to_frame()`` columns: ``event_time, binned, reference`` then the
    statistics. Terms are ``"e=-3"`` etc.; binned endpoints are ``"e<=-4"`` and
    ``"e>=5"``; reference rows have estimate 0 and a NaN standard error.
    :meth:`event_time_counts` gives the observations behind each term;
    :meth:`event_study` the event-study protocol shared with the
    heterogeneity-robust estimators.
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
        header.update(_reference("sa"))
        return header
