"""Show that MatchIt's choice at the LaLonde rounding tie is decided by rounding.

Treated row 88 (0-based) has two controls identical to it but for age, 19
(row 567) and 23 (row 591): equidistant in exact arithmetic. This script
recomputes the distances the way MatchIt's ``transform_covariates`` and
``find_control_mahcovs`` do (``scale()``, pooled within-group covariance,
generalized inverse, pivoted Cholesky ``dpstrf``, row products accumulated
left to right, squared differences summed left to right) with the inverse
covariance perturbed by a relative ``2e-16``, and prints the sign of
``dist(age 19) - dist(age 23)`` for 30 draws. Run from the repository root::

    python -m tests.reference.matchit.rounding_tie
"""

from __future__ import annotations

import numpy as np
import scipy.linalg.lapack as lapack

from tests.matching import lalonde
from tne_eval.matching._nearest import _inverse_as_matchit

TREATED, AGE_19, AGE_23 = 88, 567, 591


def _sequential_row(xrow: np.ndarray, factor: np.ndarray) -> np.ndarray:
    out = np.empty(factor.shape[0])
    for j in range(factor.shape[0]):
        acc = 0.0
        for k in range(factor.shape[1]):
            acc += xrow[k] * factor[j, k]
        out[j] = acc
    return out


def _sequential_sq(a: np.ndarray, b: np.ndarray) -> float:
    acc = 0.0
    for u, v in zip(a.tolist(), b.tolist()):
        acc += (u - v) * (u - v)
    return acc


def signs(draws: int = 30, seed: int = 0) -> list[int]:
    d = lalonde.treat()
    x = lalonde.columns().copy()
    x[:, 2:5] /= np.sqrt(2.0)  # MatchIt's factor contrasts (undone by scale())
    n = x.shape[0]
    xc = x - x.mean(axis=0)
    xs = xc / np.sqrt((xc**2).sum(axis=0) / (n - 1))
    c = np.empty_like(xs)
    for g in (d == 1, d == 0):
        c[g] = xs[g] - xs[g].mean(axis=0)
    ginv = _inverse_as_matchit(c.T @ c / (n - 2))
    rng = np.random.default_rng(seed)
    out = []
    for r in range(draws):
        g = ginv * (1.0 + (r > 0) * rng.normal(scale=2e-16, size=ginv.shape))
        g = (g + g.T) / 2.0
        ch, piv, _, _ = lapack.dpstrf(g, lower=0)
        factor = np.triu(ch)[:, np.argsort(piv - 1)]
        zt, z19, z23 = (
            _sequential_row(xs[i], factor) for i in (TREATED, AGE_19, AGE_23)
        )
        out.append(int(np.sign(_sequential_sq(zt, z19) - _sequential_sq(zt, z23))))
    return out


if __name__ == "__main__":
    s = signs()
    print("sign of dist(age 19) - dist(age 23) per draw:", s)
    print({v: s.count(v) for v in (-1, 0, 1)})
