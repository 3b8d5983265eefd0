"""Greedy nearest-neighbour matching: against brute force and a literal walk."""

from __future__ import annotations

import numpy as np
import pytest

from tne_eval.errors import IdentificationError
from tne_eval.matching._exact import subclass_weights
from tne_eval.matching._nearest import (
    Matches,
    caliper_width,
    mahalanobis_transform,
    matching_weights,
    nearest_mahalanobis,
    nearest_scalar,
)
from tne_eval.matching._optimal import optimal_pair_match


def _walk_reference(d, dist, order, caliper=np.inf, ratio=1):
    """MatchIt's search written out: sort by (distance, row), walk one step down,
    one step up, ...; the first control reached at the smallest gap wins."""
    n = d.shape[0]
    pos_sorted = np.argsort(dist, kind="stable")
    where = np.empty(n, int)
    where[pos_sorted] = np.arange(n)
    avail = d == 0
    treated = np.flatnonzero(d == 1)
    slot = {t: i for i, t in enumerate(treated)}
    mm = np.full((treated.shape[0], ratio), -1)
    span = {t: (where[t], where[t]) for t in treated}
    done_first = set()
    for r in range(ratio):
        for t in order:
            if r > 0 and t not in done_first:
                continue
            lo, hi = span[t]
            found = []
            left, right, step = lo, hi, 0
            l_stop = r_stop = False
            go_left = False
            while not (l_stop and r_stop):
                go_left = (not go_left) if not (l_stop or r_stop) else r_stop
                step += 1
                if go_left:
                    left -= 1
                    if left < 0:
                        l_stop = True
                        continue
                    u = pos_sorted[left]
                else:
                    right += 1
                    if right >= n:
                        r_stop = True
                        continue
                    u = pos_sorted[right]
                if not avail[u]:
                    continue
                gap = abs(dist[u] - dist[t])
                if gap > caliper:
                    if go_left:
                        l_stop = True
                    else:
                        r_stop = True
                    continue
                found.append((gap, step, u))
                if go_left:
                    l_stop = True
                else:
                    r_stop = True
            if not found:
                continue
            gap, _, u = min(found)
            mm[slot[t], r] = u
            avail[u] = False
            done_first.add(t)
            lo, hi = span[t]
            span[t] = (min(lo, where[u]), max(hi, where[u]))
    return mm


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ratio", [1, 2, 3])
def test_without_replacement_equals_literal_walk_with_ties(seed, ratio):
    gen = np.random.default_rng(seed)
    n = 60
    d = (gen.uniform(size=n) < 0.25).astype(int)
    dist = gen.integers(0, 12, size=n) / 4.0  # many exact ties
    m = nearest_scalar(d, dist, ratio=ratio, m_order="data")
    ref = _walk_reference(d, dist, np.flatnonzero(d == 1), ratio=ratio)
    np.testing.assert_array_equal(m.match_matrix, ref)


@pytest.mark.parametrize("m_order", ["largest", "smallest"])
def test_order_and_caliper_against_walk(m_order):
    gen = np.random.default_rng(42)
    n = 300
    d = (gen.uniform(size=n) < 0.3).astype(int)
    dist = gen.uniform(size=n)
    cal = caliper_width(dist, 0.05)
    m = nearest_scalar(d, dist, caliper=cal, m_order=m_order)
    t = np.flatnonzero(d == 1)
    order = t[np.argsort(-dist[t] if m_order == "largest" else dist[t], kind="stable")]
    ref = _walk_reference(d, dist, order, caliper=cal)
    np.testing.assert_array_equal(m.match_matrix, ref)
    assert m.n_unmatched_treated == int((ref[:, 0] < 0).sum()) > 0


def test_with_replacement_is_the_k_nearest():
    gen = np.random.default_rng(5)
    n = 500
    d = (gen.uniform(size=n) < 0.2).astype(int)
    dist = gen.normal(size=n)
    m = nearest_scalar(d, dist, ratio=3, replace=True)
    c = np.flatnonzero(d == 0)
    for i, t in enumerate(m.treated):
        brute = c[np.argsort(np.abs(dist[c] - dist[t]), kind="stable")[:3]]
        np.testing.assert_array_equal(np.sort(m.match_matrix[i]), np.sort(brute))


def test_exact_strata_never_cross():
    gen = np.random.default_rng(9)
    n = 400
    d = (gen.uniform(size=n) < 0.3).astype(int)
    dist = gen.uniform(size=n)
    g = gen.integers(0, 4, size=n)
    for replace in (False, True):
        m = nearest_scalar(d, dist, exact=g, replace=replace)
        rows, cols = np.nonzero(m.match_matrix >= 0)
        assert np.all(g[m.treated[rows]] == g[m.match_matrix[rows, cols]])


def test_matching_weights_convention():
    """Treated 1; controls 1/k per use; normalised to the number of matched controls."""
    d = np.array([1, 1, 1, 0, 0, 0])
    mm = np.array([[3, 4], [3, -1], [-1, -1]])
    m = Matches(
        treated=np.array([0, 1, 2]),
        match_matrix=mm,
        replace=True,
        n_unmatched_treated=1,
    )
    w, sub = matching_weights(d, m)
    raw = np.array([1.0, 1.0, 0.0, 1.5, 0.5, 0.0])
    np.testing.assert_allclose(w[:3], raw[:3])
    np.testing.assert_allclose(w[3:], raw[3:] * 2 / 2.0)
    assert w[d == 0].sum() == pytest.approx(2.0)
    assert sub is None


def test_subclass_weights_match_match_matrix_without_replacement():
    gen = np.random.default_rng(2)
    n = 200
    d = (gen.uniform(size=n) < 0.3).astype(int)
    dist = gen.uniform(size=n)
    m = nearest_scalar(d, dist, ratio=2)
    w, sub = matching_weights(d, m)
    np.testing.assert_allclose(w, subclass_weights(d, sub))


def test_mahalanobis_is_pooled_within_group():
    gen = np.random.default_rng(4)
    n = 300
    d = (gen.uniform(size=n) < 0.4).astype(int)
    x = gen.normal(size=(n, 3)) + 2.0 * d[:, None]
    z = mahalanobis_transform(x, d)
    cen = x.copy()
    for g in (d == 1, d == 0):
        cen[g] -= x[g].mean(axis=0)
    s = cen.T @ cen / (n - 2)
    diff = x[0] - x[1]
    assert np.sum((z[0] - z[1]) ** 2) == pytest.approx(diff @ np.linalg.solve(s, diff))
    # a redundant column (all levels of a factor) does not change distances
    lev = gen.integers(0, 3, size=n)
    dummies = np.eye(3)[lev]
    z1 = mahalanobis_transform(np.column_stack([x, dummies]), d)
    z2 = mahalanobis_transform(np.column_stack([x, dummies[:, 1:]]), d)
    d1 = np.sum((z1[:, None] - z1[None]) ** 2, axis=-1)
    d2 = np.sum((z2[:, None] - z2[None]) ** 2, axis=-1)
    np.testing.assert_allclose(d1, d2, rtol=1e-8, atol=1e-8)


def test_mahalanobis_greedy_against_brute_force():
    gen = np.random.default_rng(8)
    n = 150
    d = (gen.uniform(size=n) < 0.3).astype(int)
    z = gen.normal(size=(n, 2))
    m = nearest_mahalanobis(d, z)
    avail = set(np.flatnonzero(d == 0))
    for i, t in enumerate(m.treated):
        cand = sorted(avail, key=lambda c: (np.sum((z[c] - z[t]) ** 2), c))
        assert m.match_matrix[i, 0] == cand[0]
        avail.remove(cand[0])


def test_optimal_beats_or_ties_greedy_and_equals_brute_force():
    import itertools

    gen = np.random.default_rng(1)
    d = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    s = gen.uniform(size=8)
    m = optimal_pair_match(d, s)
    cost = np.abs(s[m.treated] - s[m.match_matrix[:, 0]]).sum()
    best = min(
        sum(abs(s[t] - s[c]) for t, c in zip(m.treated, perm))
        for perm in itertools.permutations(np.flatnonzero(d == 0), 3)
    )
    assert cost == pytest.approx(best)
    g = nearest_scalar(d, s)
    assert cost <= np.abs(s[g.treated] - s[g.match_matrix[:, 0]]).sum() + 1e-12
    # 2:1 optimal: every control used at most once
    m2 = optimal_pair_match(d, s, ratio=2)
    used = m2.match_matrix[m2.match_matrix >= 0]
    assert used.shape[0] == 5 and np.unique(used).shape[0] == 5


def test_caliper_leaving_no_match_is_an_error():
    d = np.array([1, 1, 0, 0])
    s = np.array([0.9, 0.8, 0.1, 0.2])
    with pytest.raises(
        IdentificationError,
        match=r"No treated unit \(of 2\) found a control within the caliper",
    ):
        nearest_scalar(d, s, caliper=0.01)


def test_more_treated_than_controls_without_replacement_counts_unmatched():
    """As MatchIt (which warns), the surplus treated units stay unmatched and are counted."""
    d = np.array([1, 1, 1, 1, 0, 0])
    s = np.array([0.5, 0.6, 0.7, 0.8, 0.55, 0.75])
    m = nearest_scalar(d, s)
    assert m.n_unmatched_treated == 2
    w, _ = matching_weights(d, m)
    assert int((w[d == 1] > 0).sum()) == 2
