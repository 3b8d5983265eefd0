r"""Score stores: what an estimator keeps so that its inference can change.

An estimator stores its scores once; every inference method reads them through
:mod:`tne_eval.inference.registry`, so a result can change its inference without
refitting and every method is available to every estimator that stores the same
kind of scores.

:class:`InfluenceScores`
    Influence functions :math:`\psi` (one row per unit of a panel, or per
    observation of repeated cross-sections), with
    :math:`\hat\theta - \theta \approx \frac1n\sum_i\psi_i`: Callaway-Sant'Anna
    cells and their aggregations, 2x2 DiD, and every later estimator whose
    variance comes from an influence function.
:class:`RegressionScores`
    A weighted least-squares fit with absorbed fixed effects: per-unit scores and
    the bread for sandwich variances, and the within-transformed design, the
    residuals, the weights and the row codes that small-sample corrections (CR2)
    and null-imposed wild bootstraps need.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import sparse

from tne_eval.errors import InferenceError

__all__ = ["GroupMeans", "InfluenceScores", "RegressionScores", "ScoreStore"]


def _treated_clusters_by_cohort(
    cohort: np.ndarray, cluster: np.ndarray
) -> dict[float, int]:
    treated = np.isfinite(cohort)
    out: dict[float, int] = {}
    for g in np.unique(cohort[treated]):
        out[float(g)] = int(np.unique(cluster[cohort == g]).size)
    return out


def _frozen(arr):
    """Return ``arr`` made read-only (dense) or with read-only buffers (sparse)."""
    if sparse.issparse(arr):
        arr.sum_duplicates()  # canonical (sorted, no duplicates): nothing in place later
        for name in ("data", "indices", "indptr"):
            getattr(arr, name).setflags(write=False)
        return arr
    arr = np.asarray(arr)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class GroupMeans:
    r"""How ``k`` influence-function estimates decompose into ``P`` weighted group means.

    Every estimate is a linear combination of *parts*: a part is a weighted mean
    over one group of rows (the treated cohort of a 2x2 comparison, its comparison
    group, one period of them for repeated cross-sections, or, after aggregation,
    every treated row of an aggregate with the estimated cohort shares folded in).
    The influence functions of the estimates are ``parts @ combine``, exactly.
    A part's estimating equation :math:`\sum_{i\in P}w_i(y_i - \mu_P) = 0` has
    the diagonal Jacobian contribution :math:`h_{gP} = \sum_{i\in g\cap P}w_i`
    per cluster, so the leverage of cluster ``g`` on part ``P`` is its share
    :math:`h_{gP}/\sum_h h_{hP}` of the part's weight: what CR2, CR3 and the
    restricted score bootstrap need (:mod:`tne_eval.inference.group_means`).

    Attributes
    ----------
    parts : scipy sparse array (CSC), shape (n, P)
        Influence function of each part on the rows, signed as it enters the
        estimates (a comparison-group part carries the minus sign of the 2x2).
    weights : scipy sparse array (CSC), shape (n, P)
        Each row's weight in each part's group (zero outside the group); summed by
        cluster it is the diagonal hessian of
        :func:`~tne_eval.inference.small_sample.group_mean_hessian`.
    combine : ndarray, shape (P, k)
        The influence functions of the estimates are ``parts @ combine``.
    treated : ndarray of bool, shape (P,)
        Part on treated rows (True) or on comparison rows (False).
    cohort : ndarray of float, shape (P,)
        Treated cohort of the 2x2 comparison the part belongs to; NaN for a
        pooled part of an aggregate spanning several cohorts.
    exact : bool
        True when every estimate is exactly a combination of these means (and
        the cohort shares), so that the group-mean leverages are the exact
        Jacobian: ``method="reg"`` without covariates on a balanced panel.
        Otherwise they ignore the nuisance models (propensity score, outcome
        regression) and the corrections built on them are approximations.
    sign : ndarray of float, shape (P,), optional
        Sign with which each part's weighted mean enters the estimates (``parts``
        are signed): ``+1`` for a treated part, ``-1`` for a comparison part of a
        panel 2x2; ``+1, -1, -1, +1`` for the treated post, treated base,
        comparison post and comparison base parts of a repeated-cross-section 2x2.
        ``0`` for a pooled part whose rows enter with both signs (an aggregate of
        repeated cross-sections pools post and base periods; ``stacked`` then
        holds the cells' own parts). The row residuals
        of part ``P`` are ``sign[P] * parts[:, P] * sum(weights[:, P]) / (n *
        weights[:, P])``; the Imbens-Kolesár degrees of freedom need them.
        ``None``: not described.
    stacked : GroupMeans, optional
        For aggregates whose pooled treated parts have sign 0: the decomposition
        of the same estimates into the cells' own group means (every part one
        group and period of one ATT(g,t), with its sign), on which the
        Imbens-Kolesár degrees of freedom are computed (its ``combine`` is
        ``lift @ combine``). It leaves out the estimated cohort-share term,
        which has no row residual (see
        :func:`~tne_eval.inference.group_means.small_sample_from_influence`).
    lift : ndarray, shape (stacked.n_parts, P), optional
        Maps combinations of these parts to combinations of ``stacked``'s
        parts; given with ``stacked``.
    """

    parts: sparse.csc_array
    weights: sparse.csc_array
    combine: np.ndarray
    treated: np.ndarray
    cohort: np.ndarray
    exact: bool
    sign: np.ndarray | None = None
    stacked: GroupMeans | None = None
    lift: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("parts", "weights", "combine", "treated", "cohort"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        if self.sign is not None:
            sign = np.asarray(self.sign, dtype=float)
            if sign.shape != (self.combine.shape[0],) or not np.all(
                np.isin(sign, (-1.0, 0.0, 1.0))
            ):
                raise InferenceError(
                    f"GroupMeans.sign must hold -1, 0 or +1 for each of the "
                    f"{self.combine.shape[0]} parts (got shape {sign.shape})."
                )
            object.__setattr__(self, "sign", _frozen(sign))
        if (self.stacked is None) != (self.lift is None):
            raise InferenceError(
                "GroupMeans.stacked and GroupMeans.lift go together: give both or "
                "neither."
            )
        if self.stacked is not None:
            lift = np.asarray(self.lift, dtype=float)
            ok = self.stacked.sign is not None and np.all(self.stacked.sign != 0)
            if lift.shape != (self.stacked.n_parts, self.n_parts) or not ok:
                raise InferenceError(
                    "GroupMeans.lift must have shape (stacked.n_parts, n_parts) = "
                    f"({self.stacked.n_parts}, {self.n_parts}) (got {lift.shape}), "
                    "and every part of GroupMeans.stacked a sign of +1 or -1."
                )
            object.__setattr__(self, "lift", _frozen(lift))

    @property
    def n_parts(self) -> int:
        """Number of parts ``P``."""
        return int(self.combine.shape[0])

    def columns(self, positions: np.ndarray) -> GroupMeans:
        """Return the decomposition of a subset of the estimates (unused parts dropped)."""
        comb = np.asarray(self.combine)[:, np.asarray(positions)]
        return self.with_combine(comb)

    def with_combine(self, combine: np.ndarray) -> GroupMeans:
        """Return the decomposition of other combinations of the same parts."""
        comb = np.asarray(combine, dtype=float)
        used = np.flatnonzero(np.any(comb != 0, axis=1))
        stacked = lift = None
        if self.stacked is not None:
            lifted = np.asarray(self.lift) @ comb
            kept = np.flatnonzero(np.any(lifted != 0, axis=1))
            full = np.zeros((self.stacked.n_parts, comb.shape[1]))
            full[kept] = lifted[kept]
            stacked = self.stacked.with_combine(full)
            lift = np.asarray(self.lift)[kept][:, used]
        return replace(
            self,
            stacked=stacked,
            lift=lift,
            parts=self.parts[:, used],
            weights=self.weights[:, used],
            combine=comb[used],
            treated=np.asarray(self.treated)[used],
            cohort=np.asarray(self.cohort)[used],
            sign=None if self.sign is None else np.asarray(self.sign)[used],
        )

    def part_weight(self, cluster_code: np.ndarray | None, n_clusters: int):
        """Each cluster's weight in each part, a ``(G, P)`` sparse array.

        ``cluster_code=None``: every row is its own cluster.
        """
        return _by_cluster(self.weights, cluster_code, n_clusters)

    def part_count(self, cluster_code: np.ndarray | None, n_clusters: int):
        """Rows of each cluster in each part (rows with positive weight), ``(G, P)``."""
        member = self.weights.copy()
        member.data = (member.data > 0).astype(float)
        return _by_cluster(member, cluster_code, n_clusters)


def _by_cluster(values, cluster_code: np.ndarray | None, n_clusters: int):
    values = sparse.csc_array(values)
    if cluster_code is None:
        return values
    n = values.shape[0]
    indicator = sparse.csr_array(
        (np.ones(n), (np.asarray(cluster_code), np.arange(n))), shape=(n_clusters, n)
    )
    return sparse.csc_array(indicator @ values)


@dataclass(frozen=True, eq=False)
class InfluenceScores:
    r"""Influence functions of ``k`` estimates.

    Attributes
    ----------
    values : ndarray or scipy sparse array, shape (n, k)
        :math:`\psi_{ij}` for row ``i`` and estimate ``j``; sparse (CSC) for
        repeated cross-sections, where each cell uses the rows of two periods.
    ids : pandas.Index
        Label of each row (unit id, or observation id); rows are aligned by id,
        never by position.
    cluster_code : ndarray of int or None
        Cluster of each row in ``0..n_clusters-1``; ``None``: each row is its own
        cluster.
    n_clusters : int
        Number of clusters (``n`` when ``cluster_code`` is None).
    cluster_column : str
        Column that defined the clusters (the unit column when unclustered).
    row_cohort : ndarray
        First treated period of each row's unit (``inf``: never treated).
    row_weights : ndarray
        Sampling weight of each row (cohort shares of aggregations use them).
    estimates : ndarray, shape (k,), optional
        The estimates themselves (bootstraps that impose the null and
        few-treated methods need them).
    decomposition : GroupMeans, optional
        How the estimates decompose into weighted group means, for CR2, CR3, the
        restricted score wild bootstrap, Conley-Taber and Ferman-Pinto; ``None``
        when the estimator does not describe it.
    """

    values: np.ndarray | sparse.csc_array
    ids: pd.Index
    cluster_code: np.ndarray | None
    n_clusters: int
    cluster_column: str
    row_cohort: np.ndarray
    row_weights: np.ndarray
    estimates: np.ndarray | None = None
    decomposition: GroupMeans | None = None

    @property
    def n(self) -> int:
        """Rows of the influence functions."""
        return int(self.values.shape[0])

    @property
    def k(self) -> int:
        """Number of estimates."""
        return int(self.values.shape[1])

    @property
    def clustered(self) -> bool:
        """Whether clusters are coarser than the rows."""
        return self.cluster_code is not None and self.n_clusters < self.n

    def dense(self) -> np.ndarray:
        """Return the values as a dense ``(n, k)`` array."""
        v = self.values
        return v.toarray() if sparse.issparse(v) else np.asarray(v)

    def with_values(
        self,
        values: np.ndarray,
        *,
        estimates: np.ndarray | None = None,
        decomposition: GroupMeans | None = None,
    ) -> InfluenceScores:
        """Return the same rows and clusters with other influence functions.

        The estimates and their decomposition describe the old values, so they are
        dropped unless new ones are given (``decomposition.combine`` must then have
        one column per new estimate).
        """
        if values.ndim == 1:
            values = values[:, None]
        if (
            decomposition is not None
            and decomposition.combine.shape[1] != (values.shape[1])
        ):
            raise InferenceError(
                "decomposition.combine needs one column per estimate "
                f"({values.shape[1]}; got {decomposition.combine.shape[1]})."
            )
        est = None if estimates is None else np.asarray(estimates, dtype=float)
        return replace(self, values=values, estimates=est, decomposition=decomposition)

    def columns(self, positions: np.ndarray) -> InfluenceScores:
        """Return the store of a subset of the estimates."""
        v = self.values
        positions = np.asarray(positions)
        sub = v[:, positions] if sparse.issparse(v) else np.asarray(v)[:, positions]
        est = None if self.estimates is None else self.estimates[positions]
        dec = self.decomposition
        return replace(
            self,
            values=sub,
            estimates=est,
            decomposition=None if dec is None else dec.columns(positions),
        )

    def unclustered(self) -> InfluenceScores:
        """Return the same influence functions with every row its own cluster."""
        return replace(self, cluster_code=None, n_clusters=self.n)

    def treated_clusters_by_cohort(self) -> dict[float, int]:
        """Distinct clusters among the rows of each treated cohort."""
        code = np.arange(self.n) if self.cluster_code is None else self.cluster_code
        return _treated_clusters_by_cohort(self.row_cohort, code)


@dataclass(frozen=True, eq=False)
class RegressionScores:
    r"""A weighted least-squares fit with absorbed unit and period effects.

    Attributes
    ----------
    beta : ndarray, shape (p,)
        Estimated coefficients (treatment terms first, then covariates).
    bread : ndarray, shape (p, p)
        :math:`(\tilde X' W \tilde X)^{-1}`.
    unit_scores : ndarray, shape (n_units, p)
        :math:`\sum_t w_{it}\hat e_{it}\tilde x_{it}` by unit; clusters are at or
        above the unit, so unit sums suffice for every CR0/CR1 variance.
    unit_cluster_code : ndarray of int, shape (n_units,)
        Cluster of each unit.
    n_clusters : int
        Number of clusters.
    cluster_column, unit_column : str
        Columns of the clusters and of the units.
    unit_cohort : ndarray, shape (n_units,)
        First treated period of each unit (``inf``: never treated).
    n_obs : int
        Rows of the regression.
    k_cluster, k_unit : int
        Parameters :math:`K` of the :math:`(N-1)/(N-K)` factor when clustering by
        ``cluster_column`` and by unit (fixed effects nested in the clusters are
        not counted, as fixest and Stata's ``xtreg, fe``).
    x_tilde : ndarray, shape (n, p)
        Design after projecting off both fixed effects.
    resid : ndarray, shape (n,)
        Residuals of the full model.
    weights : ndarray, shape (n,)
        Regression weights.
    row_unit, row_time : ndarray of int, shape (n,)
        Unit and period code of each row (period effects are not nested in
        clusters; CR2 needs them).
    """

    beta: np.ndarray
    bread: np.ndarray
    unit_scores: np.ndarray
    unit_cluster_code: np.ndarray
    n_clusters: int
    cluster_column: str
    unit_column: str
    unit_cohort: np.ndarray
    n_obs: int
    k_cluster: int
    k_unit: int
    x_tilde: np.ndarray
    resid: np.ndarray
    weights: np.ndarray
    row_unit: np.ndarray
    row_time: np.ndarray

    @property
    def k(self) -> int:
        """Number of coefficients."""
        return int(self.beta.size)

    @property
    def n_units(self) -> int:
        """Number of units."""
        return int(self.unit_scores.shape[0])

    def treated_clusters_by_cohort(self, by_unit: bool = False) -> dict[float, int]:
        """Distinct clusters (or units) among the units of each treated cohort."""
        code = np.arange(self.n_units) if by_unit else self.unit_cluster_code
        return _treated_clusters_by_cohort(self.unit_cohort, code)


ScoreStore = InfluenceScores | RegressionScores
