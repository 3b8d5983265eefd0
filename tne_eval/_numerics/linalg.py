"""Shared linear algebra of the nuisance models (arrays in, arrays out).

Weighted Gram matrices, an equilibrated and rank-checked solver for them, and the
messages that name a singular design. Used by the 2x2 DiD kernels, the TWFE fit and
every estimator that fits a regression or a propensity score.
"""

from __future__ import annotations

import math

import numpy as np

from tne_eval.errors import IdentificationError

__all__ = [
    "MAX_COND",
    "GramSolver",
    "check_rows",
    "psd_pinv",
    "singular_error",
    "weighted_gram",
]

#: A k x k Gram matrix whose column-equilibrated condition number exceeds this is
#: treated as singular: the normal equations would lose about cond * eps ~ 2e-4 in
#: relative accuracy. (DRDID stops at rcond < eps of the raw matrix.)
MAX_COND = 1e12


class GramSolver:
    """Solver for a k x k weighted Gram matrix, equilibrated and checked for rank."""

    def __init__(self, gram: np.ndarray, *, what: str, n_rows: int) -> None:
        k = gram.shape[0]
        scale = np.sqrt(np.diag(gram))
        if not np.all(np.isfinite(gram)) or np.any(scale <= 0.0):
            raise singular_error(what, n_rows, k, cond=math.inf)
        a = gram / np.outer(scale, scale)
        eig = np.linalg.eigvalsh(a)
        if eig[0] <= eig[-1] / MAX_COND:
            cond = math.inf if eig[0] <= 0.0 else float(eig[-1] / eig[0])
            raise singular_error(what, n_rows, k, cond=cond)
        self._a = a
        self._scale = scale

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """Return ``gram^{-1} @ rhs`` for a k-vector ``rhs``."""
        return np.linalg.solve(self._a, rhs / self._scale) / self._scale


def weighted_gram(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Return ``x' diag(v) x`` for non-negative ``v``.

    Written as ``s' s`` with ``s = sqrt(v) * x`` so that NumPy can use a symmetric
    rank-k update (faster than a general product on large ``n``).
    """
    s = x * np.sqrt(v)[:, None]
    return s.T @ s


def check_rows(weights: np.ndarray, k: int, *, what: str) -> int:
    n_rows = int(np.count_nonzero(weights > 0.0))
    if n_rows < k:
        raise singular_error(what, n_rows, k, cond=math.inf)
    return n_rows


def singular_error(
    what: str, n_rows: int, k: int, *, cond: float
) -> IdentificationError:
    if n_rows < k:
        return IdentificationError(
            f"The {what} is not identified: only {n_rows} units with positive weight "
            f"for {k} covariates (intercept included), i.e. fewer units than "
            "covariates. Drop covariates or choose a larger comparison group."
        )
    detail = (
        "exactly" if math.isinf(cond) else f"numerically (condition number {cond:.3g})"
    )
    return IdentificationError(
        f"The covariate design of the {what} is singular {detail} among its {n_rows} "
        f"units with positive weight ({k} covariates, intercept included): some "
        "covariates are collinear or constant there. Drop those covariates."
    )


def psd_pinv(a: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Pseudo-inverse of a symmetric positive semi-definite matrix.

    Eigenvalues below ``tol`` times the largest are treated as its null space and
    cut explicitly (numpy's ``pinv`` default cut-off, about 1e-15 relative, would
    invert round-off noise of a singular system).
    """
    values, vectors = np.linalg.eigh(a)
    keep = values > tol * values.max()
    return (vectors[:, keep] / values[keep]) @ vectors[:, keep].T
