"""Optimal pair (k:1) matching by linear assignment (arrays only).

MatchIt's ``method = "optimal"`` calls ``optmatch::pairmatch``, a min-cost
network flow, to minimise the total within-pair distance. For k:1 matching
without replacement this is an assignment problem: replicate each treated unit
``k`` times and find the minimum-cost assignment of those rows to distinct
controls. :func:`scipy.optimize.linear_sum_assignment` solves it exactly
(a shortest augmenting path algorithm for rectangular problems, Crouse 2016),
is part of SciPy (already a dependency, well maintained) and returns a global
optimum, not a greedy one. With fewer controls than ``k`` x treated in a
stratum it picks which treated units to leave out so that the total is
minimal, which is what MatchIt does by transposing the problem in that case.

Cost: dense ``n_t x n_c`` per stratum, ``O(n^3)`` time; fine for departments or
a few thousand schools per stratum, not for 10^5 units (use exact strata, or
greedy matching).

Full matching (``method = "full"``) needs a min-cost flow with variable set
sizes; no maintained Python implementation is a dependency here (OR-Tools'
``SimpleMinCostFlow`` would be), so it is left for later.
"""

from __future__ import annotations

import numpy as np

from tne_eval.errors import IdentificationError
from tne_eval.matching._checks import (
    as_codes,
    as_mask,
    as_matrix,
    as_treatment,
    check_positive_int,
)
from tne_eval.matching._nearest import Matches

__all__ = ["optimal_pair_match"]

#: Dense cost matrices above this many cells are refused (8 bytes each: 2 GB).
_MAX_CELLS = 250_000_000


def optimal_pair_match(
    d: np.ndarray,
    distance: np.ndarray,
    *,
    ratio: int = 1,
    exact: np.ndarray | None = None,
    discarded: np.ndarray | None = None,
) -> Matches:
    """Optimal k:1 matching without replacement minimising the summed distance.

    Parameters
    ----------
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    distance : numpy.ndarray
        Shape ``(n,)`` scalar score (cost ``|s_t - s_c|``) or ``(n, r)``
        coordinates (Euclidean cost; pass Mahalanobis coordinates from
        :func:`~tne_eval.matching._nearest.mahalanobis_transform`).
    ratio : int, default 1
        Controls per treated unit.
    exact : numpy.ndarray, optional
        Stratum labels: the assignment is solved within each stratum.
    discarded : numpy.ndarray, optional
        Units excluded beforehand.

    Returns
    -------
    Matches
        ``replace=False``.

    Raises
    ------
    IdentificationError
        A stratum's cost matrix would be too large, or nothing is matched.
    """
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    treated = as_treatment(d)
    n = treated.shape[0]
    z = as_matrix(distance, n, "distance")
    ratio = check_positive_int(ratio, "ratio")
    drop = as_mask(discarded, n, "discarded")
    strata = as_codes(exact, n, "exact")
    treated_rows = np.flatnonzero(treated)
    slot = np.empty(n, dtype=np.int64)
    slot[treated_rows] = np.arange(treated_rows.shape[0])
    mm = np.full((treated_rows.shape[0], ratio), -1, dtype=np.int64)
    labels = np.zeros(n, dtype=np.int64) if strata is None else strata
    for s in np.unique(labels):
        in_s = labels == s
        trt = np.flatnonzero(in_s & treated & ~drop)
        ctrl = np.flatnonzero(in_s & ~treated & ~drop)
        if trt.shape[0] == 0 or ctrl.shape[0] == 0:
            continue
        cells = trt.shape[0] * ratio * ctrl.shape[0]
        if cells > _MAX_CELLS:
            raise IdentificationError(
                f"Optimal matching would need a dense {trt.shape[0] * ratio} x "
                f"{ctrl.shape[0]} cost matrix in one stratum ({cells:,} cells). "
                "Add exact strata, or use greedy nearest-neighbour matching."
            )
        cost = cdist(z[trt], z[ctrl])
        rows, cols = linear_sum_assignment(np.repeat(cost, ratio, axis=0))
        owner = trt[rows // ratio]
        # fill each treated unit's slots by increasing distance
        order = np.lexsort((cost[rows // ratio, cols], owner))
        owner, cols = owner[order], cols[order]
        first = np.r_[True, owner[1:] != owner[:-1]]
        rank = np.arange(owner.shape[0]) - np.maximum.accumulate(
            np.where(first, np.arange(owner.shape[0]), 0)
        )
        mm[slot[owner], rank] = ctrl[cols]
    n_matched = int(np.count_nonzero(mm[:, 0] >= 0))
    if n_matched == 0:
        raise IdentificationError(
            "Optimal matching matched no treated unit: no stratum holds both "
            "treated and control units after discarding."
        )
    return Matches(
        treated=treated_rows,
        match_matrix=mm,
        replace=False,
        n_unmatched_treated=int(treated_rows.shape[0] - n_matched),
    )
