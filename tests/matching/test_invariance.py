"""Invariants of the matchers: properties over random inputs, row order, no mutation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tne_eval.matching._nearest import matching_weights, nearest_scalar


@st.composite
def _design(draw):
    n = draw(st.integers(8, 60))
    seed = draw(st.integers(0, 2**32 - 1))
    gen = np.random.default_rng(seed)
    d = np.zeros(n, dtype=int)
    d[gen.choice(n, size=draw(st.integers(1, n - 1)), replace=False)] = 1
    ties = draw(st.booleans())
    dist = gen.integers(0, 6, size=n) / 5.0 if ties else gen.uniform(size=n)
    return d, dist, draw(st.integers(1, 3)), draw(st.sampled_from([None, 0.05, 0.2]))


@settings(max_examples=60, deadline=None)
@given(_design())
def test_matching_invariants(case):
    d, dist, ratio, cal = case
    for replace in (False, True):
        try:
            m = nearest_scalar(d, dist, ratio=ratio, replace=replace, caliper=cal)
        except ValueError:
            continue  # nothing within the caliper: a typed error, tested elsewhere
        rows, cols = np.nonzero(m.match_matrix >= 0)
        used = m.match_matrix[rows, cols]
        assert np.all(d[used] == 0)
        if cal is not None:
            assert np.all(np.abs(dist[m.treated[rows]] - dist[used]) <= cal)
        if not replace:
            assert np.unique(used).shape[0] == used.shape[0]
        # a treated unit's later slots are filled only after its first one
        filled = m.match_matrix >= 0
        assert np.all(filled[:, 0] | ~filled.any(axis=1))
        w, _ = matching_weights(d, m)
        c = (d == 0) & (w > 0)
        assert np.isclose(w[c].sum(), c.sum())
        assert np.all(w[(d == 1) & (w > 0)] == 1.0)


def test_row_order_does_not_change_the_pairs():
    gen = np.random.default_rng(12)
    n = 400
    d = (gen.uniform(size=n) < 0.3).astype(int)
    dist = gen.uniform(size=n)  # no ties: the pairs are defined by the data alone
    perm = gen.permutation(n)
    for replace in (False, True):
        a = nearest_scalar(d, dist, caliper=0.01, replace=replace)
        b = nearest_scalar(d[perm], dist[perm], caliper=0.01, replace=replace)
        pairs_a = {
            (int(t), int(c)) for t, c in zip(a.treated, a.match_matrix[:, 0]) if c >= 0
        }
        pairs_b = {
            (int(perm[t]), int(perm[c]))
            for t, c in zip(b.treated, b.match_matrix[:, 0])
            if c >= 0
        }
        assert pairs_a == pairs_b


def test_inputs_are_not_mutated_and_random_order_is_seeded():
    gen = np.random.default_rng(3)
    n = 200
    d = (gen.uniform(size=n) < 0.3).astype(int)
    dist = gen.uniform(size=n)
    d0, dist0 = d.copy(), dist.copy()
    a = nearest_scalar(d, dist, m_order="random", rng=np.random.default_rng(1))
    b = nearest_scalar(d, dist, m_order="random", rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a.match_matrix, b.match_matrix)
    np.testing.assert_array_equal(d, d0)
    np.testing.assert_array_equal(dist, dist0)


@pytest.mark.filterwarnings("ignore::tne_eval.errors.DroppedObservationsWarning")
def test_full_and_subclass_public_api_invariance():
    """No mutation of the caller's frame; row order changes neither design."""
    import pandas as pd

    import tne_eval as tne

    gen = np.random.default_rng(21)
    n = 150
    x = gen.normal(size=n)
    df = pd.DataFrame(
        {
            "id": [f"u{i}" for i in range(n)],
            "x": x,
            "z": gen.uniform(size=n),
            "d": (gen.uniform(size=n) < 1 / (1 + np.exp(-x))).astype(int),
            "s": gen.integers(1, 4, size=n).astype(float),
        }
    )
    spec = tne.CrossSectionSpec(
        outcome=None, treatment="d", covariates=("x", "z"), unit="id", weights="s"
    )
    before = df.copy(deep=True)
    perm = gen.permutation(n)
    shuffled = df.iloc[perm]
    for kwargs in (
        {"method": "full"},
        {"method": "full", "caliper": {"distance": 0.5, "z": 0.3}},
        {"method": "subclass", "subclass": 4},
    ):
        a = tne.match(df, spec, **kwargs)
        b = tne.match(shuffled, spec, **kwargs)
        pd.testing.assert_frame_equal(df, before)
        wa = pd.Series(a.weights.to_numpy(), index=a.ids).sort_index()
        wb = pd.Series(b.weights.to_numpy(), index=b.ids).sort_index()
        np.testing.assert_allclose(wa, wb, rtol=1e-9, atol=1e-12)
