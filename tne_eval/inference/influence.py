r"""Variances from influence functions, with cluster sums (numpy only).

Convention: an estimator :math:`\hat\theta` with influence function values
:math:`\psi_i` (one per unit, ``n`` units) satisfies
:math:`\hat\theta - \theta \approx \frac1n\sum_i \psi_i`. Its variance is
estimated by :math:`\frac1{n^2}\sum_c\big(\sum_{i\in c}\psi_i\big)^2`, where
``c`` runs over clusters (each unit its own cluster when unclustered). This is the
analytic variance of R ``did`` (``crossprod(IF)/n / n``) at the unit level.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

__all__ = ["cluster_sums", "influence_vcov", "se_floor"]


def se_floor() -> float:
    """Return the threshold at or below which standard errors are zero (NaN).

    The threshold of R ``did``: ``sqrt(.Machine$double.eps) * 10``.
    """
    return float(np.sqrt(np.finfo(float).eps) * 10)


def cluster_sums(
    influence: np.ndarray, cluster_code: np.ndarray | None, n_clusters: int
) -> np.ndarray:
    """Sum influence-function rows within clusters.

    Parameters
    ----------
    influence : ndarray, shape (n,) or (n, k)
    cluster_code : ndarray of int, shape (n,), or None
        Cluster of each row in ``0..n_clusters-1``; ``None`` = one cluster per row.
    n_clusters : int

    Returns
    -------
    ndarray, shape (n_clusters, k) (or (n_clusters,) for 1-d input)
    """
    if cluster_code is None:
        return influence.toarray() if sparse.issparse(influence) else influence
    if sparse.issparse(influence):
        # repeated cross-sections: each cell's function lives on few rows
        indicator = sparse.csr_array(
            (
                np.ones(influence.shape[0]),
                (cluster_code, np.arange(influence.shape[0])),
            ),
            shape=(n_clusters, influence.shape[0]),
        )
        return (indicator @ influence).toarray()
    if influence.ndim == 1:
        return np.bincount(cluster_code, weights=influence, minlength=n_clusters)
    out = np.empty((n_clusters, influence.shape[1]))
    for j in range(influence.shape[1]):  # one pass per column, no copy of the matrix
        out[:, j] = np.bincount(
            cluster_code, weights=influence[:, j], minlength=n_clusters
        )
    return out


def influence_vcov(
    influence: np.ndarray,
    cluster_code: np.ndarray | None = None,
    n_clusters: int | None = None,
    *,
    small_sample: bool = False,
) -> np.ndarray:
    """Covariance matrix of estimators from their influence functions.

    Parameters
    ----------
    influence : ndarray or scipy sparse array, shape (n, k)
        Influence-function values, one row per unit, one column per estimator.
    cluster_code : ndarray of int, optional
        Cluster of each unit; ``None`` treats units as independent.
    n_clusters : int, optional
        Number of clusters (required with ``cluster_code``).
    small_sample : bool, default False
        Multiply by :math:`G/(G-1)`.

    Returns
    -------
    ndarray, shape (k, k)
    """
    if not sparse.issparse(influence):
        influence = np.asarray(influence, dtype=float)
        if influence.ndim == 1:
            influence = influence[:, None]
    n = influence.shape[0]
    if cluster_code is None and sparse.issparse(influence):
        vcov = (influence.T @ influence).toarray() / n**2
        g = n
    else:
        sums = (
            influence
            if cluster_code is None
            else cluster_sums(influence, cluster_code, int(n_clusters))
        )
        vcov = sums.T @ sums / n**2
        g = sums.shape[0]
    if small_sample and g > 1:
        vcov *= g / (g - 1)
    return vcov
