"""Two-way within projections and the shared linear algebra."""

from __future__ import annotations

import numpy as np
import pytest

from tne_eval._numerics.linalg import GramSolver, psd_pinv, weighted_gram
from tne_eval._numerics.within import BalancedProjector, GeneralProjector
from tne_eval._numerics.wls import wls
from tne_eval.errors import IdentificationError

#: Two exact algorithms for one projection: they agree to rounding.
RTOL_EXACT = 1e-10


def _dummies(codes: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((codes.size, k))
    out[np.arange(codes.size), codes] = 1.0
    return out


def test_balanced_and_general_projectors_equal_least_squares_on_dummies():
    rng = np.random.default_rng(0)
    n_units, n_periods = 12, 5
    unit = np.repeat(np.arange(n_units), n_periods)
    time = np.tile(np.arange(n_periods), n_units)
    w_unit = rng.uniform(0.5, 2.0, n_units)
    w = w_unit[unit]
    x = rng.normal(size=unit.size)
    d = np.column_stack([_dummies(unit, n_units), _dummies(time, n_periods)[:, 1:]])
    sw = np.sqrt(w)
    coef, *_ = np.linalg.lstsq(d * sw[:, None], x * sw, rcond=None)
    ref = x - d @ coef
    bal, _ = BalancedProjector(n_units, n_periods, w_unit).residualize(x)
    gen, _ = GeneralProjector(unit, time, w, n_units, n_periods).residualize(x)
    np.testing.assert_allclose(bal, ref, rtol=RTOL_EXACT, atol=1e-12)
    np.testing.assert_allclose(gen, ref, rtol=RTOL_EXACT, atol=1e-12)


def test_general_projector_on_an_unbalanced_panel():
    rng = np.random.default_rng(1)
    unit = np.repeat(np.arange(10), 4)
    time = np.tile(np.arange(4), 10)
    keep = rng.random(unit.size) > 0.25
    unit, time = unit[keep], time[keep]
    w = rng.uniform(0.5, 2.0, unit.size)
    x = rng.normal(size=unit.size)
    d = np.column_stack([_dummies(unit, 10), _dummies(time, 4)[:, 1:]])
    sw = np.sqrt(w)
    coef, *_ = np.linalg.lstsq(d * sw[:, None], x * sw, rcond=None)
    gen, _ = GeneralProjector(unit, time, w, 10, 4).residualize(x)
    np.testing.assert_allclose(gen, x - d @ coef, rtol=RTOL_EXACT, atol=1e-12)


def test_psd_pinv_cuts_the_null_space():
    v = np.array([[1.0, 1.0], [1.0, 1.0]])  # rank one
    p = psd_pinv(v)
    np.testing.assert_allclose(v @ p @ v, v, atol=1e-14)
    np.testing.assert_allclose(p, v / 4, atol=1e-14)


def test_gram_solver_and_wls():
    rng = np.random.default_rng(2)
    x = np.column_stack([np.ones(50), rng.normal(size=(50, 2))])
    y = x @ np.array([1.0, 2.0, -1.0]) + rng.normal(size=50)
    w = rng.uniform(0.5, 2.0, 50)
    fit = wls(x, y, w, what="test regression")
    ref = np.linalg.solve(x.T @ (w[:, None] * x), x.T @ (w * y))
    np.testing.assert_allclose(fit.beta, ref, rtol=1e-12)
    np.testing.assert_allclose(weighted_gram(x, w), x.T @ (w[:, None] * x), rtol=1e-12)
    # alr(m) = (w e x) @ (n (X'WX)^-1 m), without the n x k matrix
    m = np.array([0.3, -0.2, 0.1])
    e = y - x @ fit.beta
    explicit = (w * e)[:, None] * x @ (50 * np.linalg.solve(x.T @ (w[:, None] * x), m))
    np.testing.assert_allclose(fit.alr(x, e, m), explicit, rtol=1e-10)
    with pytest.raises(IdentificationError, match="singular exactly"):
        GramSolver(np.zeros((2, 2)), what="demo design", n_rows=10)
