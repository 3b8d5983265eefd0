r"""Optimal full matching as a minimum-cost degree-constrained edge cover (arrays only).

MatchIt's ``method = "full"`` calls ``optmatch::fullmatch`` (Hansen & Klopfer
2006): every retained unit is placed in a matched set holding either one
treated unit and one or more controls, or one control and one or more treated
units, so that the sum of the treated-control distances within the sets is as
small as possible. ``min.controls`` and ``max.controls`` bound the number of
controls per treated unit in every set.

Formulation. A full matching is a forest of stars on the bipartite graph of
allowed treated-control edges, and its cost is the total length of its edges.
Conversely, with non-negative distances, a minimum-cost set of edges that
covers every unit with degrees within bounds can always be chosen *minimal*
(no edge whose removal keeps both ends covered), and a minimal cover of a
bipartite graph contains no path of three edges, so it is a forest of stars.
Hence optimal full matching is the linear program

.. math::

    \min_x \sum_{(t,c)} d_{tc} x_{tc} \quad\text{s.t.}\quad
    l_T \le \sum_c x_{tc} \le u_T,\;\; l_C \le \sum_t x_{tc} \le u_C,\;\;
    0 \le x \le 1,

with, for ``min_controls = a`` and ``max_controls = b``: ``l_T = max(1,
ceil(a))`` and ``u_C = 1`` when ``a >= 1``, else ``u_C = floor(1/a)`` (no bound
for ``a = 0``); ``u_T = floor(b)`` and ``l_C = 1`` when ``b >= 1``, else
``u_T = 1`` and ``l_C = ceil(1/b)``. Its constraint matrix is the incidence
matrix of a bipartite graph, which is totally unimodular, so every vertex of
the feasible set is integral and a simplex method returns a 0/1 optimum: this
is the min-cost-flow problem of Hansen & Klopfer solved exactly. We use HiGHS'
dual simplex through :func:`scipy.optimize.linprog` (``method="highs-ds"``):
SciPy is already a dependency and HiGHS is an actively maintained solver, so no
new package is needed (NetworkX's ``network_simplex`` is pure Python and orders
of magnitude slower; OR-Tools would add a large binary dependency). Redundant
edges of a non-minimal optimum (zero-length edges) are then removed, which
keeps the cost and yields the stars.

optmatch rounds distances to integers at a relative tolerance (``tol =
0.001``) before solving, so its sets may differ from an exact optimum where
solutions are within that tolerance; the exact objective is compared with a
brute-force enumeration in ``tests/matching/test_full.py``.

Cost: up to ``_DENSE_EDGES`` pairs per exact stratum the program holds every
allowed pair; above, it is solved by column generation from each unit's nearest
neighbours of the other group, adding pairs with a negative reduced cost until
none is left (exact; 5,000 x 20,000 units on one score in about 11 s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tne_eval.errors import IdentificationError, SpecError
from tne_eval.matching._checks import as_codes, as_mask, as_matrix, as_treatment

__all__ = ["FullMatch", "degree_bounds", "full_match"]

#: Pairs allowed in one stratum (checked in chunks, never held at once).
_MAX_EDGES = 400_000_000
#: Up to this many pairs the linear program is solved densely; above it, by
#: column generation from each unit's nearest neighbours.
_DENSE_EDGES = 200_000
#: Pair-matrix cells computed at once when scanning reduced costs.
_CHUNK_CELLS = 2_000_000
#: A pair enters when its (scaled) reduced cost is below minus this; HiGHS'
#: dual feasibility tolerance is 1e-7.
_RC_TOL = 1e-7
#: Column-generation rounds allowed (a few suffice: each adds every violator).
_MAX_ROUNDS = 100
#: A solution value this close to 0 or 1 is that integer (simplex vertices are
#: exact up to the solver's feasibility tolerance, 1e-7 by default).
_INT_TOL = 1e-6


@dataclass(frozen=True)
class FullMatch:
    """Result of :func:`full_match`.

    Attributes
    ----------
    subclass : numpy.ndarray
        Shape ``(n,)`` matched-set ids ``0..S-1``; ``-1`` for units left out
        (discarded, or without an allowed edge).
    edges : numpy.ndarray
        Shape ``(m, 2)`` row indices ``(treated, control)`` of the star edges.
    cost : float
        Total distance of the edges (the objective).
    """

    subclass: np.ndarray
    edges: np.ndarray
    cost: float


def degree_bounds(
    min_controls: float, max_controls: float
) -> tuple[int, float, int, float]:
    """Degree bounds ``(l_T, u_T, l_C, u_C)`` of the edge cover (module notes).

    Raises
    ------
    SpecError
        ``min_controls`` negative, ``max_controls`` not positive, or
        ``min_controls > max_controls``.
    """
    a, b = float(min_controls), float(max_controls)
    if not (a >= 0 and b > 0 and a <= b) or math.isnan(a) or math.isnan(b):
        raise SpecError(
            f"min_controls={min_controls!r} and max_controls={max_controls!r} must "
            "satisfy 0 <= min_controls <= max_controls, max_controls > 0 (MatchIt's "
            "min.controls / max.controls, e.g. 1/2 and 3)."
        )
    if a >= 1:
        l_t, u_c = math.ceil(a - 1e-12), 1.0
    else:
        l_t, u_c = 1, (math.inf if a == 0 else float(math.floor(1.0 / a + 1e-12)))
    if b >= 1:
        u_t, l_c = (math.inf if math.isinf(b) else float(math.floor(b + 1e-12))), 1
    else:
        u_t, l_c = 1.0, math.ceil(1.0 / b - 1e-12)
    return l_t, u_t, l_c, u_c


def full_match(
    d: np.ndarray,
    coords: np.ndarray,
    *,
    min_controls: float = 0.0,
    max_controls: float = math.inf,
    allowed: object = None,
    exact: np.ndarray | None = None,
    discarded: np.ndarray | None = None,
    candidates: int | None = None,
) -> FullMatch:
    """Optimal full matching minimising the total within-set distance.

    Parameters
    ----------
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    coords : numpy.ndarray
        Shape ``(n,)`` scalar score (distance ``|s_t - s_c|``) or ``(n, r)``
        coordinates (Euclidean distance; Mahalanobis coordinates from
        :func:`~tne_eval.matching._nearest.mahalanobis_transform`).
    min_controls, max_controls : float
        MatchIt's ``min.controls`` / ``max.controls``: bounds on the controls
        per treated unit in every matched set (e.g. ``1/2`` allows sets of two
        treated units and one control).
    allowed : callable, optional
        ``allowed(t_rows, c_rows) -> bool array (len(t_rows), len(c_rows))``:
        the pairs a caliper permits. Units left without any allowed partner are
        not matched.
    exact : numpy.ndarray, optional
        Stratum labels: the matching is solved within each stratum.
    discarded : numpy.ndarray, optional
        Units excluded beforehand.
    candidates : int, optional
        Solve by column generation from each unit's ``candidates`` nearest
        units of the other group, adding every pair whose reduced cost at the
        current dual solution is negative until none is (the optimum of the
        full problem, certified by LP duality). Default: the dense problem up
        to ``_DENSE_EDGES`` pairs, column generation from 8 neighbours above.

    Returns
    -------
    FullMatch
        Subclasses, star edges and the total distance.

    Raises
    ------
    SpecError
        Bounds out of range.
    IdentificationError
        A stratum's problem is infeasible under the bounds (e.g. more controls
        than ``max_controls`` x treated), too large, or nothing can be matched.

    References
    ----------
    Hansen, B. B. and Klopfer, S. O. (2006). Optimal full matching and related
    designs via network flows. Journal of Computational and Graphical
    Statistics 15(3), 609-627. https://doi.org/10.1198/106186006X137047

    Rosenbaum, P. R. (1991). A characterization of optimal designs for
    observational studies. Journal of the Royal Statistical Society B 53(3),
    597-610. https://doi.org/10.1111/j.2517-6161.1991.tb01848.x
    """
    from scipy.spatial.distance import cdist

    treated = as_treatment(d)
    n = treated.shape[0]
    z = as_matrix(coords, n, "coords")
    bounds = degree_bounds(min_controls, max_controls)
    drop = as_mask(discarded, n, "discarded")
    strata = as_codes(exact, n, "exact")
    labels = np.zeros(n, dtype=np.int64) if strata is None else strata
    subclass = np.full(n, -1, dtype=np.int64)
    all_edges: list[np.ndarray] = []
    cost = 0.0
    next_id = 0
    for s in np.unique(labels):
        in_s = labels == s
        trt = np.flatnonzero(in_s & treated & ~drop)
        ctrl = np.flatnonzero(in_s & ~treated & ~drop)
        if trt.shape[0] == 0 or ctrl.shape[0] == 0:
            continue
        if trt.shape[0] * ctrl.shape[0] > _MAX_EDGES:
            raise IdentificationError(
                f"Full matching would need {trt.shape[0] * ctrl.shape[0]:,} candidate "
                f"pairs in one stratum ({trt.shape[0]} treated x {ctrl.shape[0]} "
                "controls). Add exact strata or a caliper, or use nearest-neighbour "
                "matching."
            )
        t_keep, c_keep = _has_partner(trt, ctrl, allowed)
        trt, ctrl = trt[t_keep], ctrl[c_keep]
        if trt.shape[0] == 0:
            continue
        n_t, n_c = trt.shape[0], ctrl.shape[0]
        k = candidates
        if k is None and n_t * n_c > _DENSE_EDGES:
            k = 8
        if k is None:
            dist = cdist(z[trt], z[ctrl])
            ok = (
                np.ones(dist.shape, dtype=bool)
                if allowed is None
                else np.asarray(allowed(trt, ctrl), dtype=bool)  # type: ignore[operator]
            )
            ti, ci = np.nonzero(ok)
            x, _, _ = _solve(dist[ti, ci], ti, ci, n_t, n_c, bounds, s)
            ti, ci = ti[x], ci[x]
        else:
            ti, ci = _column_generation(z, trt, ctrl, allowed, bounds, s, int(k))
        ti, ci = _minimal(ti, ci, n_t, n_c, bounds)
        edge_cost = np.sqrt(((z[trt[ti]] - z[ctrl[ci]]) ** 2).sum(axis=1))
        cost += float(edge_cost.sum())
        sub_t, sub_c, n_sets = _stars(ti, ci, trt.shape[0], ctrl.shape[0])
        subclass[trt] = sub_t + next_id
        subclass[ctrl] = sub_c + next_id
        next_id += n_sets
        all_edges.append(np.column_stack([trt[ti], ctrl[ci]]))
    if next_id == 0:
        raise IdentificationError(
            "Full matching matched no unit: no stratum holds treated and control "
            "units that a caliper allows to be matched."
        )
    return FullMatch(
        subclass=subclass,
        edges=np.concatenate(all_edges) if all_edges else np.empty((0, 2), np.int64),
        cost=cost,
    )


def _solve(cost, ti, ci, n_t, n_c, bounds, stratum, scale=None):
    """Solve the edge-cover LP: the chosen edges and the duals of the units.

    Returns the mask of chosen edges and ``pi_t``, ``pi_c`` such that the
    reduced cost of a pair is ``d / scale - pi_t - pi_c`` (``None`` after the
    integer fallback, which has no duals).
    """
    from scipy.optimize import linprog
    from scipy.sparse import csr_array

    l_t, u_t, l_c, u_c = bounds
    m = cost.shape[0]
    cols = np.arange(m)
    a_t = csr_array((np.ones(m), (ti, cols)), shape=(n_t, m))
    a_c = csr_array((np.ones(m), (ci, cols)), shape=(n_c, m))
    deg_t = np.asarray(a_t.sum(axis=1)).ravel()
    deg_c = np.asarray(a_c.sum(axis=1)).ravel()
    short = np.flatnonzero(deg_t < l_t)
    if short.size or (deg_c < l_c).any():
        raise IdentificationError(
            f"Full matching is infeasible in stratum {stratum}: with min/max "
            f"controls giving degree bounds treated [{l_t}, {u_t}] and control "
            f"[{l_c}, {u_c}], some units have too few allowed partners. Relax "
            "min_controls/max_controls or the caliper."
        )
    ub_t = np.minimum(u_t, deg_t)
    ub_c = np.minimum(u_c, deg_c)
    if l_t * n_t > ub_c.sum() or l_c * n_c > ub_t.sum():
        raise IdentificationError(
            f"Full matching is infeasible in stratum {stratum}: {n_t} treated and "
            f"{n_c} controls cannot all be matched with degree bounds treated "
            f"[{l_t}, {u_t}] and control [{l_c}, {u_c}] (MatchIt's min.controls / "
            "max.controls). Relax them (e.g. min_controls=0, max_controls=inf)."
        )
    # -A x <= -l and A x <= u, stacked
    from scipy.sparse import vstack

    a_ub = vstack([a_t, a_c, -a_t, -a_c]).tocsr()
    b_ub = np.concatenate(
        [
            np.where(np.isfinite(ub_t), ub_t, m),
            np.where(np.isfinite(ub_c), ub_c, m),
            -np.full(n_t, float(l_t)),
            -np.full(n_c, float(l_c)),
        ]
    )
    # scale costs so HiGHS' absolute tolerances are relative to the distances
    if scale is None:
        scale = float(cost.max()) if cost.size and cost.max() > 0 else 1.0
    res = linprog(
        cost / scale,
        A_ub=a_ub,
        b_ub=b_ub,
        bounds=(0.0, 1.0),
        method="highs-ds",
    )
    if res.status == 2:
        raise IdentificationError(
            f"Full matching is infeasible in stratum {stratum} under the degree "
            f"bounds treated [{l_t}, {u_t}] and control [{l_c}, {u_c}]: relax "
            "min_controls/max_controls or the caliper."
        )
    if res.status != 0:
        raise IdentificationError(
            f"The full-matching linear program failed in stratum {stratum}: "
            f"{res.message}"
        )
    x = res.x
    marg = res.ineqlin.marginals
    pi_t = marg[:n_t] - marg[n_t + n_c : 2 * n_t + n_c]
    pi_c = marg[n_t : n_t + n_c] - marg[2 * n_t + n_c :]
    if np.any(np.abs(x - np.round(x)) > _INT_TOL):
        pi_t = pi_c = None
        from scipy.optimize import Bounds, LinearConstraint, milp

        lo = np.concatenate([np.full(n_t, float(l_t)), np.full(n_c, float(l_c))])
        hi = np.concatenate([ub_t, ub_c])
        a_eq = vstack([a_t, a_c]).tocsr()
        res = milp(
            cost / scale,
            constraints=LinearConstraint(a_eq, lo, hi),
            integrality=np.ones(m),
            bounds=Bounds(0.0, 1.0),
        )
        if res.status != 0:
            raise IdentificationError(
                f"The full-matching program failed in stratum {stratum}: {res.message}"
            )
        x = res.x
    return x > 0.5, pi_t, pi_c


def _chunks(n_rows: int, n_cols: int):
    step = max(1, _CHUNK_CELLS // max(n_cols, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(n_rows, start + step))


def _has_partner(trt, ctrl, allowed) -> tuple[np.ndarray, np.ndarray]:
    """Units with at least one allowed partner (in chunks of treated rows)."""
    if allowed is None:
        return np.ones(trt.shape[0], bool), np.ones(ctrl.shape[0], bool)
    t_keep = np.zeros(trt.shape[0], dtype=bool)
    c_keep = np.zeros(ctrl.shape[0], dtype=bool)
    for sl in _chunks(trt.shape[0], ctrl.shape[0]):
        ok = np.asarray(allowed(trt[sl], ctrl), dtype=bool)  # type: ignore[operator]
        t_keep[sl] = ok.any(axis=1)
        c_keep |= ok.any(axis=0)
    return t_keep, c_keep


def _column_generation(z, trt, ctrl, allowed, bounds, stratum, k):
    """Exact LP optimum from a sparse start, adding negative-reduced-cost pairs."""
    from scipy.spatial import cKDTree
    from scipy.spatial.distance import cdist

    n_t, n_c = trt.shape[0], ctrl.shape[0]
    l_t, _, l_c, _ = bounds
    zt, zc = z[trt], z[ctrl]
    k_c = min(n_c, max(k, l_t + 2))
    k_t = min(n_t, max(k, l_c + 2))
    _, nn_c = cKDTree(zc).query(zt, k=k_c)
    _, nn_t = cKDTree(zt).query(zc, k=k_t)
    nn_c = np.asarray(nn_c).reshape(n_t, -1)
    nn_t = np.asarray(nn_t).reshape(n_c, -1)
    ti = np.concatenate([np.repeat(np.arange(n_t), nn_c.shape[1]), nn_t.ravel()])
    ci = np.concatenate([nn_c.ravel(), np.repeat(np.arange(n_c), nn_t.shape[1])])
    if allowed is not None:
        keep = np.zeros(ti.shape[0], dtype=bool)
        for sl in _chunks(n_t, n_c):
            ok = np.asarray(allowed(trt[sl], ctrl), dtype=bool)  # type: ignore[operator]
            idx = np.flatnonzero((ti >= sl.start) & (ti < sl.stop))
            keep[idx] = ok[ti[idx] - sl.start, ci[idx]]
        ti, ci = ti[keep], ci[keep]
    key = np.unique(ti.astype(np.int64) * n_c + ci)
    # a common scale for every round (the largest candidate distance)
    scale = 0.0
    for sl in _chunks(n_t, n_c):
        scale = max(scale, float(cdist(zt[sl], zc).max()))
    scale = scale if scale > 0 else 1.0
    for _ in range(_MAX_ROUNDS):
        ti, ci = key // n_c, key % n_c
        cost = np.sqrt(((zt[ti] - zc[ci]) ** 2).sum(axis=1))
        try:
            x, pi_t, pi_c = _solve(cost, ti, ci, n_t, n_c, bounds, stratum, scale)
        except IdentificationError:
            # the sparse start may be infeasible where the full problem is not
            return _dense(z, trt, ctrl, allowed, bounds, stratum)
        if pi_t is None:
            return _dense(z, trt, ctrl, allowed, bounds, stratum)
        new = []
        for sl in _chunks(n_t, n_c):
            rc = cdist(zt[sl], zc) / scale - pi_t[sl, None] - pi_c[None, :]
            bad = rc < -_RC_TOL
            if allowed is not None:
                bad &= np.asarray(allowed(trt[sl], ctrl), dtype=bool)  # type: ignore[operator]
            r, c = np.nonzero(bad)
            new.append((r + sl.start).astype(np.int64) * n_c + c)
        add = np.setdiff1d(np.concatenate(new), key, assume_unique=False)
        if add.size == 0:
            return ti[x], ci[x]
        key = np.union1d(key, add)
    raise IdentificationError(  # pragma: no cover - not reached in practice
        f"Full matching did not converge in stratum {stratum} after {_MAX_ROUNDS} "
        "rounds of column generation."
    )


def _dense(z, trt, ctrl, allowed, bounds, stratum):
    from scipy.spatial.distance import cdist

    dist = cdist(z[trt], z[ctrl])
    ok = (
        np.ones(dist.shape, dtype=bool)
        if allowed is None
        else np.asarray(allowed(trt, ctrl), dtype=bool)  # type: ignore[operator]
    )
    ti, ci = np.nonzero(ok)
    x, _, _ = _solve(dist[ti, ci], ti, ci, trt.shape[0], ctrl.shape[0], bounds, stratum)
    return ti[x], ci[x]


def _minimal(ti, ci, n_t, n_c, bounds) -> tuple[np.ndarray, np.ndarray]:
    """Drop edges whose removal keeps both ends within their bounds (zero-cost ties)."""
    l_t, _, l_c, _ = bounds
    deg_t = np.bincount(ti, minlength=n_t)
    deg_c = np.bincount(ci, minlength=n_c)
    redundant = (deg_t[ti] > l_t) & (deg_c[ci] > l_c)
    if not redundant.any():
        return ti, ci
    keep = np.ones(ti.shape[0], dtype=bool)
    for e in np.flatnonzero(redundant):
        t, c = ti[e], ci[e]
        if deg_t[t] > l_t and deg_c[c] > l_c:
            keep[e] = False
            deg_t[t] -= 1
            deg_c[c] -= 1
    return ti[keep], ci[keep]


def _stars(ti, ci, n_t, n_c) -> tuple[np.ndarray, np.ndarray, int]:
    """Matched-set ids of treated and controls from the edges of a star forest."""
    deg_t = np.bincount(ti, minlength=n_t)
    deg_c = np.bincount(ci, minlength=n_c)
    if np.any((deg_t[ti] > 1) & (deg_c[ci] > 1)):  # pragma: no cover - by construction
        raise IdentificationError(
            "Internal error: the full matching is not a star forest."
        )
    # a set is named by its centre: the control when it has several treated units
    centre_is_c = deg_c[ci] > 1
    key = np.where(centre_is_c, n_t + ci, ti)
    uniq, set_id = np.unique(key, return_inverse=True)
    sub_t = np.full(n_t, -1, dtype=np.int64)
    sub_c = np.full(n_c, -1, dtype=np.int64)
    sub_t[ti] = set_id
    sub_c[ci] = set_id
    # number sets in the order of their first treated unit (data order)
    first = np.full(uniq.shape[0], np.iinfo(np.int64).max)
    np.minimum.at(first, set_id, ti)
    rank = np.empty(uniq.shape[0], dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(uniq.shape[0])
    sub_t = np.where(sub_t >= 0, rank[np.maximum(sub_t, 0)], -1)
    sub_c = np.where(sub_c >= 0, rank[np.maximum(sub_c, 0)], -1)
    return sub_t, sub_c, int(uniq.shape[0])
