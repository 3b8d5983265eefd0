"""Turn influence functions and an inference spec into standard errors (glue)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from tne_eval.inference.bootstrap import multiplier_bootstrap
from tne_eval.inference.influence import cluster_sums, influence_vcov, se_floor
from tne_eval.inference.spec import IID, Cluster, MultiplierBootstrap


@dataclass(frozen=True)
class InfluenceInference:
    """Standard errors and what goes with them."""

    std_errors: np.ndarray
    vcov: np.ndarray | None
    dof: float | None
    band_draws: np.ndarray | None
    n_clusters: int
    notes: tuple[str, ...]


def infer_from_influence(
    influence: np.ndarray,
    cluster_code: np.ndarray | None,
    n_clusters: int,
    inference: IID | Cluster | MultiplierBootstrap,
    *,
    seed_rng: np.random.Generator | None = None,
) -> InfluenceInference:
    """Compute standard errors of estimators from influence functions ``(n, k)``.

    ``cluster_code`` maps each influence row to a cluster (``None``: each row is
    its own cluster). Small-sample corrections apply only when clusters are coarser
    than the rows.
    """
    if not sparse.issparse(influence):
        influence = np.asarray(influence, dtype=float)
        if influence.ndim == 1:
            influence = influence[:, None]
    n = influence.shape[0]
    if isinstance(inference, IID):
        cluster_code, n_clusters = None, n
    coarser = cluster_code is not None and n_clusters < n
    notes: list[str] = []
    floor = se_floor()
    if isinstance(inference, MultiplierBootstrap):
        sums = cluster_sums(influence, cluster_code if coarser else None, n_clusters)
        rng = (
            seed_rng if seed_rng is not None else np.random.default_rng(inference.seed)
        )
        boot = multiplier_bootstrap(
            sums, n, reps=inference.reps, weights=inference.weights, rng=rng
        )
        band = boot.sup_t if inference.uniform_band else None
        return InfluenceInference(
            std_errors=boot.std_errors,
            vcov=None,
            dof=None,
            band_draws=band,
            n_clusters=n_clusters if coarser else n,
            notes=tuple(notes),
        )
    small = bool(getattr(inference, "small_sample", False)) and coarser
    vcov = influence_vcov(
        influence,
        cluster_code if coarser else None,
        n_clusters,
        small_sample=small,
    )
    se = np.sqrt(np.clip(np.diag(vcov), 0.0, None))
    se = np.where(se > floor, se, np.nan)
    dof = float(n_clusters - 1) if small else None
    if small:
        notes.append(
            f"Cluster-robust standard errors with {n_clusters} clusters: variance "
            f"multiplied by G/(G-1) and t({n_clusters - 1}) critical values."
        )
    return InfluenceInference(
        std_errors=se,
        vcov=vcov,
        dof=dof,
        band_draws=None,
        n_clusters=n_clusters if coarser else n,
        notes=tuple(notes),
    )
