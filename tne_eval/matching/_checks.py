"""Input checks shared by the matching numerics (arrays only).

Every message says what is wrong, where (argument or column, counts, an example)
and how to fix it, following the library's error policy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tne_eval.errors import DataError, IdentificationError, SpecError


def as_treatment(d: np.ndarray, name: str = "treatment") -> np.ndarray:
    """Return ``d`` as a boolean vector, refusing anything that is not 0/1.

    Parameters
    ----------
    d : numpy.ndarray
        Shape ``(n,)``: 0/1, bool, or 0.0/1.0.
    name : str
        Name used in messages.

    Returns
    -------
    numpy.ndarray
        Boolean vector, ``True`` for treated units.

    Raises
    ------
    SpecError
        ``d`` is not one-dimensional or is empty.
    DataError
        ``d`` has values other than 0 and 1 (NaN included), or only one group.
    """
    arr = np.asarray(d)
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise SpecError(
            f"{name} must be a non-empty 1-D array of 0/1 values; got shape {arr.shape}."
        )
    if arr.dtype == bool:
        out = arr
    else:
        try:
            num = arr.astype(np.float64)
        except (TypeError, ValueError) as err:
            raise DataError(
                f"{name} must be 0/1 (or bool); got values of dtype {arr.dtype} such "
                f"as {arr[0]!r}. Recode the treatment as 1 = treated, 0 = control."
            ) from err
        bad = ~((num == 0.0) | (num == 1.0))
        n_bad = int(np.count_nonzero(bad))
        if n_bad:
            raise DataError(
                f"{name} must be 0/1 (or bool); {n_bad} of {arr.shape[0]} values are "
                f"neither (e.g. {arr[bad][0].item()!r}). Recode the treatment as 1 = treated, "
                "0 = control (missing treatment rows must be dropped first)."
            )
        out = num == 1.0
    n1 = int(np.count_nonzero(out))
    if n1 == 0 or n1 == out.shape[0]:
        group = "control" if n1 else "treated"
        raise IdentificationError(
            f"{name} has no {group} units ({n1} treated of {out.shape[0]}): matching "
            "needs both treated and control units."
        )
    return out


def as_matrix(
    x: np.ndarray, n: int, name: str = "x", columns: Sequence[str] | None = None
) -> np.ndarray:
    """Return ``x`` as a finite float64 ``(n, k)`` matrix (1-D input becomes a column).

    Raises
    ------
    SpecError
        Wrong shape.
    DataError
        Non-finite values; the message names the columns and their counts.
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n or arr.shape[1] == 0:
        raise SpecError(
            f"{name} must be a 2-D array of shape ({n}, k) with k >= 1; got shape "
            f"{np.shape(x)}."
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        counts = bad.sum(axis=0)
        names = (
            list(columns)
            if columns is not None and len(columns) == arr.shape[1]
            else [f"column {j}" for j in range(arr.shape[1])]
        )
        listed = ", ".join(
            f"{names[j]!s} ({int(counts[j])})" for j in np.flatnonzero(counts)
        )
        first = int(np.flatnonzero(bad.any(axis=1))[0])
        raise DataError(
            f"{name} has missing or non-finite values in {int(bad.any(axis=1).sum())} "
            f"of {n} rows: {listed} (first at row {first}). Drop or impute those "
            "rows before matching; MatchIt refuses missing covariates too."
        )
    return np.ascontiguousarray(arr)


def as_vector(v: np.ndarray, n: int, name: str) -> np.ndarray:
    """Return ``v`` as a finite float64 vector of length ``n``."""
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise SpecError(f"{name} must have shape ({n},); got shape {np.shape(v)}.")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise DataError(
            f"{name} has {int(bad.sum())} non-finite values of {n} (first at row "
            f"{int(np.flatnonzero(bad)[0])}); drop or impute those rows first."
        )
    return arr


def as_mask(mask: np.ndarray | None, n: int, name: str) -> np.ndarray:
    """Return a boolean mask of length ``n`` (all ``False`` when ``None``)."""
    if mask is None:
        return np.zeros(n, dtype=bool)
    arr = np.asarray(mask)
    if arr.shape != (n,):
        raise SpecError(f"{name} must have shape ({n},); got shape {arr.shape}.")
    return arr.astype(bool, copy=False)


def as_codes(codes: np.ndarray | None, n: int, name: str) -> np.ndarray | None:
    """Return integer stratum codes ``0..G-1`` (``None`` passes through)."""
    if codes is None:
        return None
    arr = np.asarray(codes)
    if arr.ndim == 2:
        _, inv = np.unique(arr, axis=0, return_inverse=True)
        return inv.reshape(-1).astype(np.int64)
    if arr.shape != (n,):
        raise SpecError(f"{name} must have shape ({n},) or ({n}, k); got {arr.shape}.")
    _, inv = np.unique(arr, return_inverse=True)
    return inv.astype(np.int64)


def check_choice(value: str, options: Sequence[str], name: str) -> str:
    """Refuse a string option that is not one of ``options``, listing them."""
    if value not in options:
        valid = ", ".join(repr(o) for o in options)
        raise SpecError(f"{name}={value!r} is not supported; choose one of {valid}.")
    return value


def check_positive_int(value: int, name: str) -> int:
    """Return ``value`` as an int >= 1."""
    if isinstance(value, bool) or int(value) != value or int(value) < 1:
        raise SpecError(f"{name}={value!r} must be a positive integer.")
    return int(value)
