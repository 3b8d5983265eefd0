"""Multiplier bootstrap of influence functions with sup-t bands (numpy only).

The multipliers are generated from uniform doubles in a fixed order, so they
depend only on the seed, never on block sizes or parallelism. The draws are matrix
products of the multipliers with the cluster sums: their rounding depends on the
BLAS kernel used for each block shape, so draws for different block sizes agree
to rounding (about 1e-16 absolute), not bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["BootstrapDraws", "multiplier_bootstrap"]

_MAMMEN_P = (np.sqrt(5.0) + 1.0) / (2.0 * np.sqrt(5.0))
_MAMMEN_LOW = -(np.sqrt(5.0) - 1.0) / 2.0
_MAMMEN_HIGH = (np.sqrt(5.0) + 1.0) / 2.0


@dataclass(frozen=True)
class BootstrapDraws:
    r"""Outcome of a multiplier bootstrap.

    Attributes
    ----------
    draws : ndarray, shape (reps, k)
        Bootstrap draws of :math:`\hat\theta^* - \hat\theta`.
    std_errors : ndarray, shape (k,)
        Robust bootstrap standard errors: interquartile range of the draws divided
        by that of the standard normal (as R ``did``); NaN when numerically zero.
    sup_t : ndarray, shape (reps,)
        Per draw, :math:`\max_j |\theta^*_j - \hat\theta_j| / se_j` over the
        estimators with a positive standard error.
    """

    draws: np.ndarray
    std_errors: np.ndarray
    sup_t: np.ndarray


def _multipliers(rng: np.random.Generator, shape: tuple[int, int], kind: str):
    u = rng.random(shape)
    if kind == "rademacher":
        return np.where(u < 0.5, -1.0, 1.0)
    # Mammen two-point: mean 0, variance 1, third moment 1.
    return np.where(u < _MAMMEN_P, _MAMMEN_LOW, _MAMMEN_HIGH)


def multiplier_bootstrap(
    cluster_influence: np.ndarray,
    n: int,
    *,
    reps: int,
    weights: str,
    rng: np.random.Generator,
    block: int = 64,
) -> BootstrapDraws:
    """Bootstrap estimators from their (cluster-summed) influence functions.

    Parameters
    ----------
    cluster_influence : ndarray, shape (G, k)
        Influence functions summed within clusters (one row per unit when
        unclustered).
    n : int
        Number of units (the influence functions are averaged over ``n``).
    reps : int
        Number of draws.
    weights : {"rademacher", "mammen"}
        Multiplier distribution.
    rng : numpy.random.Generator
        Source of randomness.
    block : int, default 64
        Repetitions drawn at once (memory only; results agree to rounding).

    Returns
    -------
    BootstrapDraws
    """
    cluster_influence = np.asarray(cluster_influence, dtype=float)
    if cluster_influence.ndim == 1:
        cluster_influence = cluster_influence[:, None]
    g, k = cluster_influence.shape
    draws = np.empty((reps, k))
    for start in range(0, reps, block):
        stop = min(start + block, reps)
        v = _multipliers(rng, (stop - start, g), weights)
        draws[start:stop] = v @ cluster_influence / n
    q = stats.norm.ppf(0.75) - stats.norm.ppf(0.25)
    upper = np.quantile(draws, 0.75, axis=0, method="inverted_cdf")
    lower = np.quantile(draws, 0.25, axis=0, method="inverted_cdf")
    se = (upper - lower) / q
    floor = np.sqrt(np.finfo(float).eps) * 10
    se = np.where(se > floor, se, np.nan)
    ok = np.isfinite(se)
    if ok.any():
        sup_t = np.max(np.abs(draws[:, ok] / se[ok]), axis=1)
    else:
        sup_t = np.full(reps, np.nan)
    return BootstrapDraws(draws=draws, std_errors=se, sup_t=sup_t)
