"""Weighted least squares with the estimation effect of its coefficients (arrays only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tne_eval._numerics.linalg import GramSolver, check_rows, weighted_gram

__all__ = ["Wls", "wls"]


@dataclass(frozen=True)
class Wls:
    """Weighted least squares fit on the rows with positive weight."""

    beta: np.ndarray
    weights: np.ndarray  # full-length, zero outside the fitting subset
    gram: GramSolver
    n: int

    def alr(self, x: np.ndarray, resid: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Return DRDID's ``asy.lin.rep.ols %*% m`` without forming the n x k matrix.

        ``asy.lin.rep = (w * resid * x) @ solve(x' W x / n)``, hence
        ``asy.lin.rep @ m = w * resid * (x @ (n * solve(x' W x, m)))``.
        """
        v = self.n * self.gram.solve(m)
        return self.weights * resid * (x @ v)


def wls(x: np.ndarray, y: np.ndarray, weights: np.ndarray, *, what: str) -> Wls:
    n, k = x.shape
    n_rows = check_rows(weights, k, what=what)
    gram = GramSolver(weighted_gram(x, weights), what=what, n_rows=n_rows)
    beta = gram.solve((weights * y) @ x)
    return Wls(beta=beta, weights=weights, gram=gram, n=n)
