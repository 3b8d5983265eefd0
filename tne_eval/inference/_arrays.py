"""Input checks shared by the array-level inference modules (numpy only).

Every check raises a typed error of :mod:`tne_eval.errors` naming the argument,
the bad value and the fix.
"""

from __future__ import annotations

import numpy as np

from tne_eval.errors import InferenceError, SpecError, TneEvalTypeError

__all__ = [
    "as_float_matrix",
    "as_float_vector",
    "check_cluster_codes",
    "check_contrast",
    "cluster_slices",
]


def _as_float(value: object, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise TneEvalTypeError(
            f"{name} must be an array of numbers (got {type(value).__name__}); "
            "convert it with numpy.asarray(..., dtype=float)."
        ) from err
    if not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.isfinite(arr)))
        raise SpecError(
            f"{name} holds {bad} non-finite value(s) (NaN or inf); drop or impute "
            "those rows before computing the variance."
        )
    return arr


def as_float_matrix(
    value: object, name: str, *, n_rows: int | None = None
) -> np.ndarray:
    """Return ``value`` as a 2-d float array (a 1-d input becomes one column)."""
    arr = _as_float(value, name)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise SpecError(f"{name} must be a 2-d array (got {arr.ndim} dimensions).")
    if n_rows is not None and arr.shape[0] != n_rows:
        raise SpecError(
            f"{name} has {arr.shape[0]} rows but the design has {n_rows}; pass one "
            "row per observation, in the same order."
        )
    return arr


def as_float_vector(
    value: object, name: str, *, n: int | None = None, positive: bool = False
) -> np.ndarray:
    """Return ``value`` as a 1-d float array of length ``n``."""
    arr = _as_float(value, name)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise SpecError(f"{name} must be a 1-d array (got shape {arr.shape}).")
    if n is not None and arr.shape[0] != n:
        raise SpecError(
            f"{name} has length {arr.shape[0]} but the design has {n} rows; pass "
            "one value per observation, in the same order."
        )
    if positive and np.any(arr <= 0):
        raise SpecError(
            f"{name} must be strictly positive ({int(np.sum(arr <= 0))} value(s) "
            "<= 0); drop zero-weight rows before calling."
        )
    return arr


def check_cluster_codes(
    value: object, n: int, name: str = "cluster"
) -> tuple[np.ndarray, int]:
    """Validate cluster codes ``0..G-1`` (all present) and return them with ``G``.

    Raises :class:`InferenceError` when fewer than two clusters are present.
    """
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise SpecError(
            f"{name} must be a 1-d array of length {n} (one code per row; got shape "
            f"{arr.shape})."
        )
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TneEvalTypeError(
                f"{name} must hold integer codes 0..G-1 (got dtype {arr.dtype}); "
                "recode labels with numpy.unique(labels, return_inverse=True)[1]."
            )
    arr = arr.astype(np.int64, copy=False)
    if n == 0 or arr.min() < 0:
        raise SpecError(f"{name} codes must be non-negative integers 0..G-1.")
    n_clusters = int(arr.max()) + 1
    counts = np.bincount(arr, minlength=n_clusters)
    if np.any(counts == 0):
        raise SpecError(
            f"{name} codes must be consecutive 0..G-1; {int(np.sum(counts == 0))} "
            "code(s) in that range are unused. Recode with "
            "numpy.unique(labels, return_inverse=True)[1]."
        )
    if n_clusters < 2:
        raise InferenceError(
            f"{name} has {n_clusters} cluster; cluster-robust inference needs at "
            "least 2 clusters. Cluster at a finer level or use unclustered inference."
        )
    return arr, n_clusters


def check_contrast(value: object, p: int, name: str = "contrast") -> np.ndarray:
    """Return a contrast as a ``(q, p)`` float matrix (a length-p vector is one row)."""
    arr = _as_float(value, name)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != p:
        raise SpecError(
            f"{name} must have {p} columns, one per coefficient (got shape "
            f"{arr.shape}); e.g. numpy.eye({p})[[j]] tests coefficient j."
        )
    if arr.shape[0] == 0 or np.any(np.all(arr == 0, axis=1)):
        raise SpecError(f"{name} has an all-zero row; every row must be a contrast.")
    return arr


def cluster_slices(codes: np.ndarray, n_clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """Stable sort order of the rows by cluster and the block boundaries.

    Rows of cluster ``g`` are ``order[bounds[g]:bounds[g + 1]]``.
    """
    order = np.argsort(codes, kind="stable")
    bounds = np.zeros(n_clusters + 1, dtype=np.int64)
    np.cumsum(np.bincount(codes, minlength=n_clusters), out=bounds[1:])
    return order, bounds
