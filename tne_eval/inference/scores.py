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

__all__ = ["InfluenceScores", "RegressionScores", "ScoreStore"]


def _treated_clusters_by_cohort(
    cohort: np.ndarray, cluster: np.ndarray
) -> dict[float, int]:
    treated = np.isfinite(cohort)
    out: dict[float, int] = {}
    for g in np.unique(cohort[treated]):
        out[float(g)] = int(np.unique(cluster[cohort == g]).size)
    return out


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
    """

    values: np.ndarray | sparse.csc_array
    ids: pd.Index
    cluster_code: np.ndarray | None
    n_clusters: int
    cluster_column: str
    row_cohort: np.ndarray
    row_weights: np.ndarray

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

    def with_values(self, values: np.ndarray) -> InfluenceScores:
        """Return the same rows and clusters with other influence functions."""
        if values.ndim == 1:
            values = values[:, None]
        return replace(self, values=values)

    def columns(self, positions: np.ndarray) -> InfluenceScores:
        """Return the store of a subset of the estimates."""
        v = self.values
        sub = v[:, positions] if sparse.issparse(v) else np.asarray(v)[:, positions]
        return replace(self, values=sub)

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
