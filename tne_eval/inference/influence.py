r"""Variances from influence functions, with cluster sums (numpy only).

Convention: an estimator :math:`\hat\theta` with influence function values
:math:`\psi_i` (one per unit, ``n`` units) satisfies
:math:`\hat\theta - \theta \approx \frac1n\sum_i \psi_i`. Its variance is
estimated by :math:`\frac1{n^2}\sum_c\big(\sum_{i\in c}\psi_i\big)^2`, where
``c`` runs over clusters (each unit its own cluster when unclustered). This is the
analytic variance of R ``did`` (``crossprod(IF)/n / n``) at the unit level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from tne_eval.errors import InferenceError
from tne_eval.inference.bootstrap import multiplier_bootstrap
from tne_eval.inference.output import SE_FLOOR, Inferred
from tne_eval.inference.spec import IID, Cluster, MultiplierBootstrap
from tne_eval.notes import Note, NoteKind

if TYPE_CHECKING:
    from tne_eval.inference.scores import InfluenceScores

__all__ = [
    "analytic_from_influence",
    "bootstrap_from_influence",
    "cluster_sums",
    "influence_vcov",
    "se_floor",
]


def se_floor() -> float:
    """Return the threshold at or below which standard errors are zero (NaN).

    The threshold of R ``did``: ``sqrt(.Machine$double.eps) * 10``.
    """
    return SE_FLOOR


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


def _clusters_for(inference: object, store: InfluenceScores) -> InfluenceScores:
    """Return the store with the clusters the inference uses (IID: rows alone)."""
    if isinstance(inference, IID):
        return store.unclustered()
    if store.cluster_code is not None and store.n_clusters < 2:
        raise InferenceError(
            f"Cluster-robust inference needs at least 2 clusters ("
            f"{store.cluster_column!r} has {store.n_clusters}). Cluster at a finer "
            "level (e.g. spec.cluster=None for the unit) or use inference='iid'."
        )
    return store


def _where(store: InfluenceScores) -> str:
    if not store.clustered:
        return f"unclustered ({store.n} independent {store.ids.name or 'row'!r} rows)"
    return f"clusters of {store.cluster_column!r} ({store.n_clusters} clusters)"


def _clusters_label(store: InfluenceScores) -> str:
    if store.clustered:
        return repr(store.cluster_column)
    return f"none (independent {store.ids.name or 'row'!r} rows)"


def analytic_from_influence(
    inference: IID | Cluster, store: InfluenceScores
) -> Inferred:
    r"""Analytic variance of influence-function estimates.

    :math:`\hat V = \frac{c}{n^2}\sum_g s_g s_g'` with :math:`s_g` the sum of the
    influence functions of cluster :math:`g` (each row its own cluster for
    :class:`IID`, or when clusters are not coarser than the rows). With
    ``Cluster(small_sample=True)`` and clusters coarser than the rows,
    :math:`c = G/(G-1)` and a :math:`t_{G-1}` reference distribution; otherwise
    :math:`c = 1` and the normal distribution.
    """
    store = _clusters_for(inference, store)
    coarse = store.clustered
    small = bool(getattr(inference, "small_sample", False)) and coarse
    vcov = influence_vcov(
        store.values,
        store.cluster_code if coarse else None,
        store.n_clusters,
        small_sample=small,
    )
    g = store.n_clusters if coarse else store.n
    if small:
        description = (
            f"cluster-robust by {store.cluster_column!r} ({g} clusters), variance "
            f"x G/(G-1), t({g - 1})"
        )
        note = (
            f"Cluster-robust standard errors by {store.cluster_column!r} with {g} "
            f"clusters: variance multiplied by G/(G-1) and t({g - 1}) critical values."
        )
    elif coarse:
        description = (
            f"cluster-robust by {store.cluster_column!r} ({g} clusters), normal"
        )
        note = (
            f"Cluster-robust standard errors by {store.cluster_column!r} with {g} "
            "clusters, without small-sample correction; normal critical values."
        )
    else:
        description = f"{_where(store)}, normal"
        note = (
            f"Standard errors from the influence functions of {g} independent "
            f"{store.ids.name or 'row'!r} rows (no clustering); normal critical values."
        )
    return Inferred.analytic(
        vcov,
        dof=float(g - 1) if small else None,
        n_clusters=g,
        description=description,
        clusters=_clusters_label(store),
        note=Note(note, NoteKind.INFERENCE),
    )


def bootstrap_from_influence(
    inference: MultiplierBootstrap, store: InfluenceScores
) -> Inferred:
    """Multiplier bootstrap of influence-function estimates (R ``did``'s ``mboot``).

    Multipliers are shared by the rows of a cluster. ``vcov`` is the analytic
    covariance with the same clusters (no small-sample factor); the standard
    errors, draws and sup-t band come from the bootstrap.
    """
    store = _clusters_for(inference, store)
    coarse = store.clustered
    sums = cluster_sums(
        store.values, store.cluster_code if coarse else None, store.n_clusters
    )
    boot = multiplier_bootstrap(
        sums,
        store.n,
        reps=inference.reps,
        weights=inference.weights,
        rng=np.random.default_rng(inference.seed),
    )
    vcov = sums.T @ sums / store.n**2
    g = store.n_clusters if coarse else store.n
    where = _where(store)
    description = (
        f"multiplier bootstrap ({inference.weights}, {inference.reps} draws) by {where}"
    )
    return Inferred(
        std_errors=boot.std_errors,
        vcov=vcov,
        dof=None,
        n_clusters=g,
        description=description,
        clusters=_clusters_label(store),
        notes=(
            Note(
                f"Multiplier bootstrap with {inference.reps} {inference.weights} draws "
                f"shared within {where}; standard errors from the interquartile range "
                "of the draws (as R did)"
                + ("; sup-t simultaneous band." if inference.uniform_band else "."),
                NoteKind.INFERENCE,
            ),
        ),
        draws=boot.draws,
        band_draws=boot.sup_t if inference.uniform_band else None,
    )
