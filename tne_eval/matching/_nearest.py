"""Greedy nearest-neighbour matching with MatchIt 4.x semantics (arrays only).

Two distances, as MatchIt's ``method = "nearest"``:

* a **scalar distance** (the propensity score, or any 1-D score):
  :func:`nearest_scalar`, a sorted search;
* the **Mahalanobis distance** on covariates: :func:`mahalanobis_transform` maps
  the covariates to coordinates whose Euclidean distance is MatchIt's Mahalanobis
  distance, and :func:`nearest_mahalanobis` matches on them with a k-d tree.

Both return a :class:`Matches` (MatchIt's ``match.matrix`` as row indices), from
which :func:`matching_weights` computes MatchIt's weights and subclasses.

Semantics reproduced from MatchIt 4.7.2 (``R/matchit2nearest.R``,
``src/nn_matchC_vec.cpp``, ``src/internal.cpp``; read, not copied):

* **order** (``m_order``): treated units are matched one at a time in
  ``"largest"`` (default for a score: decreasing score, ties in data order),
  ``"smallest"``, ``"data"`` or ``"random"`` order. With replacement the order
  does not matter (MatchIt switches to ``"data"``).
* **ratio** ``k`` without replacement: ``k`` passes over the treated units; pass
  ``r`` gives each treated unit its ``r``-th match (so every treated unit gets a
  first match before any gets a second). A treated unit with no match in pass 1
  stays unmatched. With replacement each treated unit takes its ``k`` nearest
  controls at once.
* **caliper**: in the units of the distance (a control is acceptable when
  ``|d_t - d_c| <= caliper``). MatchIt's ``std.caliper = TRUE`` multiplies the
  caliper by ``sd(distance[!discarded])``: the ordinary (n - 1) standard
  deviation of the distance over **all** retained units, treated and controls
  together (not pooled within groups), on the scale the distance is stored in
  (the probability scale for ``distance = "glm"``); see :func:`caliper_width`.
* **exact**: matching only within strata; strata without both groups are
  skipped, their treated units stay unmatched (MatchIt warns).
* **ties** (scalar distance): units are sorted by ``(distance, row)``; for each
  treated unit the candidates are the nearest available controls below and
  above it in that order. The closer one wins. At an exactly equal distance,
  MatchIt keeps the one its alternating walk (one step down, one step up, ...)
  reaches first, i.e. the lower one if it is at most as many sorted positions
  away as the upper one. We apply the same rule, so ties resolve as in MatchIt.
* **ties** (Mahalanobis): MatchIt's walk (``find_control_mahcovs``) sorts the
  units (of the exact stratum, treated and controls, discarded or not) by the
  first column of its transformed covariates, stably, and visits the sorted
  neighbours of a treated unit alternately one step to the left, one to the
  right, and so on; a control whose distance is *at most* the best so far
  replaces it, so among equidistant controls the **last one reached** wins
  (with ``ratio > 1`` with replacement, the ``k`` kept are the nearest, later-
  reached first among equals). :func:`mahalanobis_transform` returns
  coordinates whose first column is MatchIt's sort variable (the first row of
  the pivoted Cholesky factor of the inverse pooled covariance of the
  standardised covariates), and the matchers rank equidistant controls by that
  walk step: a control ``a`` positions to the left is reached at step
  ``2a - 1``, one ``b`` positions to the right at step ``2b``. As MatchIt,
  distances are compared exactly: duplicated covariate rows get bit-identical
  coordinates and so tie exactly, in MatchIt and here, and are resolved by the
  walk. Controls that are equidistant only in exact arithmetic (mirror-image
  rows, e.g. ages 19 and 23 around 21) differ in the last bits, and the
  smaller floating-point distance wins in both; which one is smaller depends
  on the last bits of the inverse covariance and on the order of operations,
  so no implementation can promise MatchIt's choice there. On the LaLonde
  data there is one such treated unit, and MatchIt itself takes the age-19
  control in one call and the age-23 control in another that only orders the
  covariates differently; with that choice set as MatchIt's, every printed
  number of the four Mahalanobis calls is reproduced
  (``tests/matching/test_reference_matchit.py``).

Complexity. With replacement everything is vectorised: ``O(n log n)`` for the
scalar distance (one ``searchsorted``) and a k-d tree query for Mahalanobis.
Without replacement the greedy order makes the problem sequential, so there is
a loop over treated units; its inner step is amortised ``O(1)``: the available
controls are kept in sorted order with two union-find ("next available to the
left / right") arrays with path halving, so removing a matched control and
finding the nearest available one on each side never rescans taken controls.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from tne_eval.errors import IdentificationError, SpecError
from tne_eval.matching._checks import (
    as_codes,
    as_mask,
    as_matrix,
    as_treatment,
    as_vector,
    check_choice,
    check_positive_int,
)

__all__ = [
    "Matches",
    "caliper_width",
    "mahalanobis_transform",
    "matching_weights",
    "nearest_mahalanobis",
    "nearest_mahalanobis_caliper",
    "nearest_scalar",
    "nearest_with_ties",
]

MOrder = Literal["largest", "smallest", "data", "random"]

#: Eigenvalues of the factored inverse below this fraction of the largest are
#: treated as zero (rounding left by removing the leading column).
_EIG_RTOL = 1e-10
#: Columns whose range is below this are dropped from the Mahalanobis distance,
#: as MatchIt does (``sqrt(.Machine$double.eps)``).
_NO_VARIANCE = math.sqrt(np.finfo(np.float64).eps)
#: MatchIt inverts the pooled covariance with ``solve()`` when its determinant
#: exceeds this, and otherwise with a generalized inverse keeping singular
#: values above ``_GINV_RTOL`` times the largest (``transform_covariates``).
_DET_MIN = 1e-8
_GINV_RTOL = 1e-8


@dataclass(frozen=True)
class Matches:
    """Matched sets, indexed by treated unit (MatchIt's ``match.matrix``).

    Attributes
    ----------
    treated : numpy.ndarray
        Shape ``(n1,)`` row indices of all treated units, in data order.
    match_matrix : numpy.ndarray
        Shape ``(n1, ratio)`` row indices of the matched controls, ``-1`` where a
        treated unit has fewer matches (or none).
    replace : bool
        Whether controls could be reused.
    n_unmatched_treated : int
        Treated units with no match (caliper, exact strata, too few controls or
        discarded).
    """

    treated: np.ndarray
    match_matrix: np.ndarray
    replace: bool
    n_unmatched_treated: int


def caliper_width(
    distance: np.ndarray, caliper: float, *, discarded: np.ndarray | None = None
) -> float:
    """MatchIt's ``std.caliper = TRUE`` caliper in distance units.

    ``caliper * sd(distance[!discarded])`` with the ``n - 1`` standard deviation
    over all retained units (treated and controls pooled together).

    Raises
    ------
    SpecError
        ``caliper`` is not a positive finite number.
    """
    dist = np.asarray(distance, dtype=np.float64)
    if not (
        isinstance(caliper, (int, float)) and math.isfinite(caliper) and caliper > 0
    ):
        raise SpecError(
            f"caliper={caliper!r} must be a positive number (in standard deviations "
            "of the distance when std_caliper=True)."
        )
    keep = ~as_mask(discarded, dist.shape[0], "discarded")
    return float(caliper) * float(np.std(dist[keep], ddof=1))


def nearest_scalar(
    d: np.ndarray,
    distance: np.ndarray,
    *,
    ratio: int = 1,
    replace: bool = False,
    caliper: float | None = None,
    exact: np.ndarray | None = None,
    discarded: np.ndarray | None = None,
    m_order: MOrder = "largest",
    rng: np.random.Generator | None = None,
    covariate_caliper: tuple[np.ndarray, np.ndarray] | None = None,
) -> Matches:
    """Greedy k:1 nearest-neighbour matching on a scalar distance.

    Parameters
    ----------
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    distance : numpy.ndarray
        Shape ``(n,)`` score matched on (e.g. the propensity score).
    ratio : int, default 1
        Controls per treated unit.
    replace : bool, default False
        Whether a control may be matched to several treated units.
    caliper : float, optional
        Maximum ``|distance_t - distance_c|``, in distance units (use
        :func:`caliper_width` for MatchIt's standardised caliper).
    exact : numpy.ndarray, optional
        Shape ``(n,)`` or ``(n, m)`` stratum labels: match only within strata.
    discarded : numpy.ndarray, optional
        Shape ``(n,)`` mask of units excluded beforehand (common support).
    m_order : {"largest", "smallest", "data", "random"}, default "largest"
        Order in which treated units are matched (ignored with replacement).
    rng : numpy.random.Generator, optional
        For ``m_order="random"``.
    covariate_caliper : (numpy.ndarray, numpy.ndarray), optional
        ``(x, width)``: columns ``x`` of shape ``(n, k)`` and widths ``(k,)``; a
        control is eligible only when ``|x_t - x_c| <= width`` on every column
        (MatchIt's named ``caliper`` entries). The nearest *eligible* available
        control on the distance is taken; equal gaps go to the control closer
        in sorted position, then the lower one. This path scans each treated
        unit's caliper window, ``O(n_t x window)``.

    Returns
    -------
    Matches
        The match matrix and the count of unmatched treated units.

    Raises
    ------
    IdentificationError
        No treated unit receives a match (e.g. a caliper narrower than every
        treated-control gap, or no stratum with both groups).
    """
    treated = as_treatment(d)
    n = treated.shape[0]
    dist = as_vector(distance, n, "distance")
    ratio = check_positive_int(ratio, "ratio")
    check_choice(m_order, ("largest", "smallest", "data", "random"), "m_order")
    cal = math.inf if caliper is None else float(caliper)
    if not cal >= 0:
        raise SpecError(f"caliper={caliper!r} must be a non-negative number.")
    drop = as_mask(discarded, n, "discarded")
    strata = as_codes(exact, n, "exact")

    order = np.argsort(dist, kind="stable")
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    treated_rows = np.flatnonzero(treated)
    mm = np.full((treated_rows.shape[0], ratio), -1, dtype=np.int64)
    slot = np.empty(n, dtype=np.int64)
    slot[treated_rows] = np.arange(treated_rows.shape[0])

    groups = [np.ones(n, dtype=bool)] if strata is None else _strata_masks(strata)
    for in_g in groups:
        ctrl = np.flatnonzero(in_g & ~treated & ~drop)
        trt = np.flatnonzero(in_g & treated & ~drop)
        if ctrl.shape[0] == 0 or trt.shape[0] == 0:
            continue
        ctrl = ctrl[np.argsort(pos[ctrl], kind="stable")]
        if covariate_caliper is not None:
            order_t = trt if replace else _treated_order(dist, trt, m_order, rng)
            _match_covariate_caliper(
                dist,
                pos,
                order_t,
                ctrl,
                slot,
                mm,
                ratio,
                cal,
                covariate_caliper,
                replace,
            )
        elif replace:
            _match_with_replacement(dist, pos, trt, ctrl, slot, mm, ratio, cal)
        else:
            trt = _treated_order(dist, trt, m_order, rng)
            _match_without_replacement(dist, pos, trt, ctrl, slot, mm, ratio, cal)
    return _finish(treated_rows, mm, replace, cal)


def _strata_masks(strata: np.ndarray) -> list[np.ndarray]:
    return [strata == s for s in np.unique(strata)]


def _treated_order(
    dist: np.ndarray, trt: np.ndarray, m_order: str, rng: np.random.Generator | None
) -> np.ndarray:
    if m_order == "largest":
        return trt[np.argsort(-dist[trt], kind="stable")]
    if m_order == "smallest":
        return trt[np.argsort(dist[trt], kind="stable")]
    if m_order == "random":
        gen = rng if rng is not None else np.random.default_rng()
        return gen.permutation(trt)
    return trt


def _match_with_replacement(
    dist: np.ndarray,
    pos: np.ndarray,
    trt: np.ndarray,
    ctrl: np.ndarray,
    slot: np.ndarray,
    mm: np.ndarray,
    ratio: int,
    cal: float,
) -> None:
    """Each treated unit takes its ``ratio`` nearest controls (vectorised)."""
    cpos = pos[ctrl]
    cdist = dist[ctrl]
    m = ctrl.shape[0]
    k = min(ratio, m)
    j = np.searchsorted(cpos, pos[trt])  # first control above each treated unit
    offs = np.arange(1, k + 1)
    left = j[:, None] - offs[None, :]
    right = j[:, None] + offs[None, :] - 1
    cand = np.concatenate([left, right], axis=1)
    valid = (cand >= 0) & (cand < m)
    safe = np.clip(cand, 0, m - 1)
    gap = np.abs(dist[trt][:, None] - cdist[safe])
    # walk step at which MatchIt's alternating search reaches each candidate
    steps = np.abs(pos[trt][:, None] - cpos[safe]).astype(np.float64)
    steps[:, :k] = 2.0 * steps[:, :k] - 1.0
    steps[:, k:] = 2.0 * steps[:, k:]
    ok = valid & (gap <= cal)
    gap = np.where(ok, gap, np.inf)
    # sort by (gap, step): lexsort on the last axis
    idx = np.lexsort((steps, gap), axis=1)[:, :k]
    best = np.take_along_axis(safe, idx, axis=1)
    best_ok = np.take_along_axis(ok, idx, axis=1)
    out = np.where(best_ok, ctrl[best], -1)
    mm[slot[trt], :k] = out


def _eligible(
    xcal: tuple[np.ndarray, np.ndarray], t: int, cand: np.ndarray
) -> np.ndarray:
    x, width = xcal
    return np.all(np.abs(x[cand] - x[t]) <= width, axis=1)


def _match_covariate_caliper(
    dist: np.ndarray,
    pos: np.ndarray,
    trt: np.ndarray,
    ctrl: np.ndarray,
    slot: np.ndarray,
    mm: np.ndarray,
    ratio: int,
    cal: float,
    xcal: tuple[np.ndarray, np.ndarray],
    replace: bool,
) -> None:
    """Greedy matching with calipers on covariates (window scan per treated unit)."""
    cd = dist[ctrl]
    cpos = pos[ctrl]
    lo = np.searchsorted(cd, dist[trt] - cal, side="left")
    hi = np.searchsorted(cd, dist[trt] + cal, side="right")
    available = np.ones(ctrl.shape[0], dtype=bool)
    has_first = np.zeros(trt.shape[0], dtype=bool)
    passes = 1 if replace else ratio
    take = ratio if replace else 1
    for r in range(passes):
        for i, t in enumerate(trt):
            if r > 0 and not has_first[i]:
                continue
            cand = np.arange(lo[i], hi[i])
            if not replace:
                cand = cand[available[cand]]
            if cand.shape[0] == 0:
                continue
            cand = cand[_eligible(xcal, int(t), ctrl[cand])]
            if cand.shape[0] == 0:
                continue
            gap = np.abs(cd[cand] - dist[t])
            order = np.lexsort((cpos[cand], np.abs(cpos[cand] - pos[t]), gap))[:take]
            best = cand[order]
            if replace:
                mm[slot[t], : best.shape[0]] = ctrl[best]
            else:
                mm[slot[t], r] = ctrl[best[0]]
                available[best[0]] = False
            has_first[i] = True


def _match_without_replacement(
    dist: np.ndarray,
    pos: np.ndarray,
    trt: np.ndarray,
    ctrl: np.ndarray,
    slot: np.ndarray,
    mm: np.ndarray,
    ratio: int,
    cal: float,
) -> None:
    """Greedy passes with union-find "next available" arrays (see module notes)."""
    m = ctrl.shape[0]
    cpos_list = pos[ctrl].tolist()
    cdist = dist[ctrl].tolist()
    # right[i]: smallest available index >= i (m = none);
    # left[i + 1]: largest available index <= i, plus one (0 = none).
    right = list(range(m + 1))
    left = list(range(m + 1))
    n_avail = m
    tpos = pos[trt].tolist()
    tdist = dist[trt].tolist()
    tslot = slot[trt].tolist()
    lo_span = list(tpos)
    hi_span = list(tpos)
    matched_first = [False] * len(tpos)
    for r in range(ratio):
        if n_avail == 0:
            break
        for i in range(len(tpos)):
            if n_avail == 0:
                break
            if r > 0 and not matched_first[i]:
                continue
            p = tpos[i]
            dt = tdist[i]
            j = bisect.bisect_left(cpos_list, p)
            # nearest available on the right
            a = j
            while right[a] != a:
                right[a] = right[right[a]]
                a = right[a]
            # nearest available on the left
            b = j
            while left[b] != b:
                left[b] = left[left[b]]
                b = left[b]
            b -= 1
            gap_r = cdist[a] - dt if a < m else math.inf
            gap_l = dt - cdist[b] if b >= 0 else math.inf
            if gap_l > cal and gap_r > cal:
                continue
            if gap_l < gap_r:
                pick = b
            elif gap_r < gap_l:
                pick = a
            else:  # exact tie: the side MatchIt's walk reaches first
                pick = (
                    b
                    if (lo_span[i] - cpos_list[b]) <= (cpos_list[a] - hi_span[i])
                    else a
                )
            mm[tslot[i], r] = ctrl[pick]
            matched_first[i] = True
            cp = cpos_list[pick]
            if cp < lo_span[i]:
                lo_span[i] = cp
            if cp > hi_span[i]:
                hi_span[i] = cp
            right[pick] = pick + 1
            left[pick + 1] = pick
            n_avail -= 1


def _finish(
    treated_rows: np.ndarray, mm: np.ndarray, replace: bool, cal: float
) -> Matches:
    n_matched = int(np.count_nonzero(mm[:, 0] >= 0))
    if n_matched == 0:
        why = (
            f" within the caliper ({cal:.4g} in distance units)"
            if math.isfinite(cal)
            else ""
        )
        raise IdentificationError(
            f"No treated unit (of {treated_rows.shape[0]}) found a control{why}: "
            "nothing was matched. Widen the caliper, drop exact strata, or check "
            "the common support (no stratum may hold both groups)."
        )
    return Matches(
        treated=treated_rows,
        match_matrix=mm,
        replace=bool(replace),
        n_unmatched_treated=int(treated_rows.shape[0] - n_matched),
    )


def mahalanobis_transform(
    x: np.ndarray,
    d: np.ndarray,
    *,
    discarded: np.ndarray | None = None,
    columns: list[str] | None = None,
) -> np.ndarray:
    """Coordinates whose Euclidean distances are MatchIt's Mahalanobis distances.

    MatchIt (``transform_covariates(method = "mahalanobis")``) standardises the
    covariates (``scale()``: all units' means and ``n - 1`` SDs) and uses the
    **pooled within-group** covariance ``S`` of the retained units: each group is
    centred on its own mean and the cross-products are divided by ``n - 2``
    (optmatch and Rubin (1980) do the same). Its inverse is ``solve(S)`` when
    ``det(S) > 1e-8`` and otherwise the generalized inverse keeping singular
    values above ``1e-8`` times the largest (e.g. all levels of a factor as
    dummies); the distance between units is the same whichever full-rank basis
    is used. Columns with no variation are dropped.

    The basis returned is chosen so that its **first column is MatchIt's sort
    variable**: MatchIt multiplies the standardised covariates by the pivoted
    Cholesky factor of ``G = S^-1``, whose first row is ``G[p, :] / sqrt(G[p,
    p])`` with ``p`` the largest diagonal entry of ``G``; the nearest-neighbour
    walk (and so the order in which equidistant controls are reached) follows
    that column. The other columns factor the rest, ``G - l l'``, by an
    eigendecomposition.

    Parameters
    ----------
    x : numpy.ndarray
        Shape ``(n, k)`` covariates (factors as dummies, all levels allowed).
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    discarded : numpy.ndarray, optional
        Units excluded from the covariance.
    columns : list of str, optional
        Column names for error messages.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, r)`` with ``r`` the rank of the pooled covariance.
    """
    treated = as_treatment(d)
    n = treated.shape[0]
    xm = as_matrix(x, n, "x", columns)
    keep = ~as_mask(discarded, n, "discarded")
    rng_ = xm.max(axis=0) - xm.min(axis=0)
    xm = xm[:, rng_ >= _NO_VARIANCE]
    if xm.shape[1] == 0:
        raise IdentificationError(
            "Every covariate of the Mahalanobis distance is constant: there is "
            "nothing to match on. Check the covariates passed."
        )
    if n < 2:
        raise IdentificationError(
            f"Only {n} units: the Mahalanobis distance needs at least 3."
        )
    xs = (xm - xm.mean(axis=0)) / xm.std(axis=0, ddof=1)
    centred = np.empty_like(xs[keep])
    tk = treated[keep]
    xk = xs[keep]
    for grp in (tk, ~tk):
        centred[grp] = xk[grp] - xk[grp].mean(axis=0)
    dof = xk.shape[0] - 2
    if dof <= 0:
        raise IdentificationError(
            f"Only {xk.shape[0]} retained units: the pooled covariance of the "
            "Mahalanobis distance needs at least 3."
        )
    cov = centred.T @ centred / dof
    ginv = _inverse_as_matchit(cov)
    piv = int(np.argmax(np.diag(ginv)))
    lead = ginv[:, piv] / math.sqrt(ginv[piv, piv])
    evals, evecs = np.linalg.eigh(ginv - np.outer(lead, lead))
    full = np.linalg.eigvalsh(ginv).max()
    pos_ev = evals > _EIG_RTOL * full
    basis = np.column_stack([lead, evecs[:, pos_ev] * np.sqrt(evals[pos_ev])])
    # einsum's own loops, not BLAS: identical covariate rows get bit-identical
    # coordinates (so their distances tie exactly, as in MatchIt)
    return np.einsum("ij,jk->ik", xs, basis, optimize=False)


def _inverse_as_matchit(cov: np.ndarray) -> np.ndarray:
    """``solve(cov)`` if ``det > 1e-8``, else the SVD generalized inverse (tol 1e-8)."""
    if np.linalg.det(cov) > _DET_MIN:
        try:
            return np.linalg.inv(cov)
        except np.linalg.LinAlgError:  # pragma: no cover - det > 0 is invertible
            pass
    u, sv, vt = np.linalg.svd(cov)
    pos = sv > _GINV_RTOL * sv[0]
    return (vt[pos].T / sv[pos]) @ u[:, pos].T


def nearest_mahalanobis(
    d: np.ndarray,
    z: np.ndarray,
    *,
    ratio: int = 1,
    replace: bool = False,
    exact: np.ndarray | None = None,
    discarded: np.ndarray | None = None,
    m_order: Literal["data", "random"] = "data",
    rng: np.random.Generator | None = None,
) -> Matches:
    """Greedy k:1 nearest-neighbour matching on Euclidean distance in ``z``.

    Pass ``z = mahalanobis_transform(x, d)`` for MatchIt's ``distance =
    "mahalanobis"``. MatchIt's default order for it is ``"data"``. Equidistant
    controls are ranked as MatchIt's walk along ``z[:, 0]`` reaches them (the
    last one reached wins; see the module notes).

    Parameters
    ----------
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    z : numpy.ndarray
        Shape ``(n, r)`` coordinates; the first column is the walk's sort key.
    ratio, replace, exact, discarded, rng
        As in :func:`nearest_scalar`.
    m_order : {"data", "random"}, default "data"
        Order of the treated units (without replacement).

    Returns
    -------
    Matches
        The match matrix.
    """
    from scipy.spatial import cKDTree

    treated = as_treatment(d)
    n = treated.shape[0]
    zm = as_matrix(z, n, "z")
    ratio = check_positive_int(ratio, "ratio")
    check_choice(m_order, ("data", "random"), "m_order")
    drop = as_mask(discarded, n, "discarded")
    strata = as_codes(exact, n, "exact")
    treated_rows = np.flatnonzero(treated)
    mm = np.full((treated_rows.shape[0], ratio), -1, dtype=np.int64)
    slot = np.empty(n, dtype=np.int64)
    slot[treated_rows] = np.arange(treated_rows.shape[0])
    groups = [np.ones(n, dtype=bool)] if strata is None else _strata_masks(strata)
    for in_g in groups:
        ctrl = np.flatnonzero(in_g & ~treated & ~drop)
        trt = np.flatnonzero(in_g & treated & ~drop)
        if ctrl.shape[0] == 0 or trt.shape[0] == 0:
            continue
        pos = _walk_positions(zm[:, 0], in_g)
        cpos = pos[ctrl]
        tree = cKDTree(zm[ctrl])
        if replace:
            k = min(ratio, ctrl.shape[0])
            for t in trt:
                chosen = _nearest_available(tree, zm[t], None, k, pos[t], cpos)
                mm[slot[t], : len(chosen)] = ctrl[chosen]
            continue
        trt = _treated_order(np.zeros(n), trt, m_order, rng)
        available = np.ones(ctrl.shape[0], dtype=bool)
        n_avail = ctrl.shape[0]
        has_first = np.zeros(trt.shape[0], dtype=bool)
        for r in range(ratio):
            for i, t in enumerate(trt):
                if n_avail == 0:
                    break
                if r > 0 and not has_first[i]:
                    continue
                chosen = _nearest_available(tree, zm[t], available, 1, pos[t], cpos)
                if not chosen:
                    continue
                c = chosen[0]
                mm[slot[t], r] = ctrl[c]
                available[c] = False
                n_avail -= 1
                has_first[i] = True
                if n_avail * 4 < available.shape[0] and n_avail > 64:
                    # rebuild on the remaining controls so queries stay short
                    keep_idx = np.flatnonzero(available)
                    ctrl = ctrl[keep_idx]
                    cpos = cpos[keep_idx]
                    available = np.ones(keep_idx.shape[0], dtype=bool)
                    tree = cKDTree(zm[ctrl])
    return _finish(treated_rows, mm, replace, math.inf)


def nearest_mahalanobis_caliper(
    d: np.ndarray,
    z: np.ndarray,
    score: np.ndarray,
    caliper: float,
    *,
    ratio: int = 1,
    replace: bool = False,
    exact: np.ndarray | None = None,
    discarded: np.ndarray | None = None,
    m_order: MOrder = "largest",
    rng: np.random.Generator | None = None,
    covariate_caliper: tuple[np.ndarray, np.ndarray] | None = None,
) -> Matches:
    """Mahalanobis matching within a caliper on a score (MatchIt's ``mahvars``).

    MatchIt's ``matchit(..., distance = "glm", mahvars = ~ ..., caliper = c)``:
    controls are eligible for a treated unit when ``|score_t - score_c| <=
    caliper`` and, among them, the nearest in Mahalanobis distance (``z`` from
    :func:`mahalanobis_transform` on the ``mahvars``) is taken. The treated
    order follows the score, as MatchIt's (default ``"largest"``).

    Each treated unit's candidates are found by a sorted search on the score
    (the window ``[s_t - c, s_t + c]``), and the Mahalanobis distances are
    computed for that window only: ``O(n log n + sum of window sizes * r)``.
    Equidistant controls are ranked as MatchIt's walk along ``z[:, 0]``
    reaches them (see the module notes).

    Parameters
    ----------
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    z : numpy.ndarray
        Shape ``(n, r)`` Mahalanobis coordinates; the first column is the
        walk's sort key.
    score : numpy.ndarray
        Shape ``(n,)`` the caliper variable (propensity score).
    caliper : float
        In score units (see :func:`caliper_width`).
    ratio, replace, exact, discarded, m_order, rng, covariate_caliper
        As in :func:`nearest_scalar`.

    Returns
    -------
    Matches
        The match matrix.
    """
    treated = as_treatment(d)
    n = treated.shape[0]
    zm = as_matrix(z, n, "z")
    s = as_vector(score, n, "score")
    ratio = check_positive_int(ratio, "ratio")
    check_choice(m_order, ("largest", "smallest", "data", "random"), "m_order")
    cal = float(caliper)
    if not cal >= 0:
        raise SpecError(f"caliper={caliper!r} must be a non-negative number.")
    drop = as_mask(discarded, n, "discarded")
    strata = as_codes(exact, n, "exact")
    treated_rows = np.flatnonzero(treated)
    mm = np.full((treated_rows.shape[0], ratio), -1, dtype=np.int64)
    slot = np.empty(n, dtype=np.int64)
    slot[treated_rows] = np.arange(treated_rows.shape[0])
    groups = [np.ones(n, dtype=bool)] if strata is None else _strata_masks(strata)
    for in_g in groups:
        ctrl = np.flatnonzero(in_g & ~treated & ~drop)
        trt = np.flatnonzero(in_g & treated & ~drop)
        if ctrl.shape[0] == 0 or trt.shape[0] == 0:
            continue
        pos = _walk_positions(zm[:, 0], in_g)
        ctrl = ctrl[np.argsort(s[ctrl], kind="stable")]
        cs = s[ctrl]
        lo = np.searchsorted(cs, s[trt] - cal, side="left")
        hi = np.searchsorted(cs, s[trt] + cal, side="right")
        window = {int(t): (int(a), int(b)) for t, a, b in zip(trt, lo, hi)}
        available = np.ones(ctrl.shape[0], dtype=bool)
        if replace:
            for t in trt:
                a, b = window[int(t)]
                if a == b:
                    continue
                cand = np.arange(a, b)
                if covariate_caliper is not None:
                    cand = cand[_eligible(covariate_caliper, int(t), ctrl[cand])]
                    if cand.shape[0] == 0:
                        continue
                dist2 = np.sum((zm[ctrl[cand]] - zm[t]) ** 2, axis=1)
                rank = _walk_rank(dist2, _walk_steps(pos[t], pos[ctrl[cand]]))
                best = cand[rank[:ratio]]
                mm[slot[t], : best.shape[0]] = ctrl[best]
            continue
        order = _treated_order(s, trt, m_order, rng)
        has_first = np.zeros(n, dtype=bool)
        for r in range(ratio):
            for t in order:
                if r > 0 and not has_first[t]:
                    continue
                a, b = window[int(t)]
                if a == b:
                    continue
                cand = np.arange(a, b)[available[a:b]]
                if covariate_caliper is not None and cand.shape[0]:
                    cand = cand[_eligible(covariate_caliper, int(t), ctrl[cand])]
                if cand.shape[0] == 0:
                    continue
                dist2 = np.sum((zm[ctrl[cand]] - zm[t]) ** 2, axis=1)
                rank = _walk_rank(dist2, _walk_steps(pos[t], pos[ctrl[cand]]))
                best = cand[rank[0]]
                mm[slot[t], r] = ctrl[best]
                available[best] = False
                has_first[t] = True
    return _finish(treated_rows, mm, replace, cal)


def _walk_positions(key: np.ndarray, in_g: np.ndarray) -> np.ndarray:
    """Positions of the stratum's units in MatchIt's stable sort on ``key``.

    Rows outside the stratum get ``-1`` (never read).
    """
    rows = np.flatnonzero(in_g)
    pos = np.full(key.shape[0], -1, dtype=np.int64)
    pos[rows[np.argsort(key[rows], kind="stable")]] = np.arange(rows.shape[0])
    return pos


def _walk_steps(pos_t: int, pos_c: np.ndarray) -> np.ndarray:
    """Step at which MatchIt's alternating walk (left first) reaches each control."""
    off = np.asarray(pos_c, dtype=np.int64) - int(pos_t)
    return np.where(off < 0, -2 * off - 1, 2 * off)


def _walk_rank(dist: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Order candidates by distance, equal distances by *decreasing* walk step.

    MatchIt's walk replaces its current best by any control at most as far, so
    among equidistant controls the last one reached comes first. As MatchIt,
    distances are compared exactly: ties are bit-identical distances
    (duplicated covariate rows, whose coordinates are bit-identical, see
    :func:`mahalanobis_transform`).
    """
    return np.lexsort((-steps, dist))


def _nearest_available(
    tree: object,
    point: np.ndarray,
    available: np.ndarray | None,
    k: int,
    pos_t: int,
    cpos: np.ndarray,
) -> list[int]:
    """Return the tree indices of the ``k`` nearest available controls.

    ``cpos`` holds the walk positions of the tree's points; equidistant
    controls are ranked by :func:`_walk_rank`.
    """
    n_pts = tree.n  # type: ignore[attr-defined]
    q = min(n_pts, max(4 * k, 8))
    while True:
        dd, ii = tree.query(point, k=q)  # type: ignore[attr-defined]
        dd = np.atleast_1d(dd)
        ii = np.atleast_1d(ii)
        ok = ii < n_pts
        dd, ii = dd[ok], ii[ok]
        if available is not None:
            av = available[ii]
            dd, ii = dd[av], ii[av]
        enough = ii.shape[0] >= k
        if enough and q < n_pts:
            kth = dd[k - 1]
            # the candidates tied with the k-th may continue past the query
            if dd[-1] <= kth:
                q = min(n_pts, 2 * q)
                continue
        if enough or q >= n_pts:
            break
        q = min(n_pts, 2 * q)
    if ii.shape[0] == 0:
        return []
    rank = _walk_rank(dd, _walk_steps(pos_t, cpos[ii]))
    return ii[rank[:k]].tolist()


def matching_weights(
    d: np.ndarray, matches: Matches
) -> tuple[np.ndarray, np.ndarray | None]:
    """MatchIt's ATT matching weights and subclasses from a match matrix.

    Every treated unit with at least one match gets weight 1. Each matched
    treated unit gives each of its ``k_i`` controls ``1 / k_i``; a control's
    weight is the sum over the treated units it is matched to. Then, as
    MatchIt's ``normalize = TRUE``, the positive weights of each group are
    rescaled to sum to the number of units with positive weight in that group
    (so control weights sum to the number of distinct matched controls).

    Parameters
    ----------
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    matches : Matches
        Output of a matcher.

    Returns
    -------
    weights : numpy.ndarray
        Shape ``(n,)``; 0 for unmatched units.
    subclass : numpy.ndarray or None
        Shape ``(n,)`` pair/set id (``-1`` for unmatched) without replacement,
        numbered in treated data order as MatchIt's ``mm2subclass``; ``None`` with
        replacement (a control may belong to several sets).
    """
    treated = as_treatment(d)
    n = treated.shape[0]
    mm = matches.match_matrix
    n_per = (mm >= 0).sum(axis=1)
    has = n_per > 0
    w = np.zeros(n)
    w[matches.treated[has]] = 1.0
    rows, cols = np.nonzero(mm >= 0)
    np.add.at(w, mm[rows, cols], 1.0 / n_per[rows])
    for grp in (treated, ~treated):
        pos_w = grp & (w > 0)
        total = w[pos_w].sum()
        if total > 0:
            w[pos_w] *= np.count_nonzero(pos_w) / total
    subclass = None
    if not matches.replace:
        subclass = np.full(n, -1, dtype=np.int64)
        ids = np.cumsum(has) - 1
        subclass[matches.treated[has]] = ids[has]
        subclass[mm[rows, cols]] = ids[rows]
    return w, subclass


def nearest_with_ties(
    d: np.ndarray, distance: np.ndarray, *, ratio: int = 1
) -> Matches:
    """Match every treated unit, with replacement, to its nearest controls, ties kept.

    Each treated unit gets every control whose ``|distance_t - distance_c|`` is
    at most that of its ``ratio``-th nearest control (so more than ``ratio``
    matches where controls tie), as Stata's ``teffects psmatch`` and
    ``nnmatch`` do; the imputation then averages over all of them. Distances
    are compared exactly.

    Parameters
    ----------
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment (pass ``1 - d`` to match the controls).
    distance : numpy.ndarray
        Shape ``(n,)`` score.
    ratio : int, default 1
        Matches requested per unit.

    Returns
    -------
    Matches
        With replacement; rows padded with ``-1`` to the largest tie set.

    Raises
    ------
    IdentificationError
        Fewer than ``ratio`` controls.
    """
    treated = as_treatment(d)
    n = treated.shape[0]
    dist = as_vector(distance, n, "distance")
    ratio = check_positive_int(ratio, "ratio")
    trt = np.flatnonzero(treated)
    ctrl = np.flatnonzero(~treated)
    if ctrl.shape[0] < ratio:
        raise IdentificationError(
            f"Only {ctrl.shape[0]} units in the other group: {ratio} matches per "
            "unit are not possible."
        )
    ctrl = ctrl[np.argsort(dist[ctrl], kind="stable")]
    cs = dist[ctrl]
    m = cs.shape[0]
    j = np.searchsorted(cs, dist[trt])
    offs = np.arange(1, ratio + 1)
    cand = np.concatenate(
        [j[:, None] - offs[None, :], j[:, None] + offs[None, :] - 1], 1
    )
    valid = (cand >= 0) & (cand < m)
    gap = np.where(
        valid, np.abs(dist[trt][:, None] - cs[np.clip(cand, 0, m - 1)]), np.inf
    )
    kth = np.sort(gap, axis=1)[:, ratio - 1]
    rows = []
    for t, g in zip(trt.tolist(), kth.tolist()):
        lo = np.searchsorted(cs, dist[t] - 2.0 * g, side="left")
        hi = np.searchsorted(cs, dist[t] + 2.0 * g, side="right")
        window = np.arange(lo, hi)
        rows.append(ctrl[window[np.abs(cs[window] - dist[t]) <= g]])
    width = max(r.shape[0] for r in rows)
    mm = np.full((trt.shape[0], width), -1, dtype=np.int64)
    for i, r in enumerate(rows):
        mm[i, : r.shape[0]] = r
    return Matches(treated=trt, match_matrix=mm, replace=True, n_unmatched_treated=0)
