"""Propensity-score subclassification, MatchIt 4.x semantics (arrays only).

MatchIt's ``method = "subclass"`` (``R/matchit2subclass.R`` and
``src/subclass_scootC.cpp``, 4.7.2; read, not copied):

* **cut points**: quantiles (R's default type 7) of the distance at
  ``0, 1/S, ..., 1`` among the treated units for the ATT, the controls for the
  ATC, all units for the ATE (discarded units included); each retained unit
  falls in the interval ``[q_k, q_{k+1})``, the first and last intervals being
  open outwards (R's ``findInterval(all.inside = TRUE)``);
* **min_n** (MatchIt's ``min.n``, default 1): a subclass lacking units of a
  group receives them by "scooting" from its neighbours, one unit at a time:
  for each group (in order of first appearance in the data) and each of the
  ``min_n`` rounds, the first subclass short of units takes the unit of that
  group closest to it from the nearest non-empty subclass on the side holding
  more surplus (surplus ``c_s - 1`` weighted by the inverse distance in
  subclasses); ``min_n = 0`` instead leaves such subclasses unmatched;
* **weights**: MatchIt's weights from subclasses
  (:func:`~tne_eval.matching._exact.subclass_weights`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from tne_eval.errors import IdentificationError, SpecError
from tne_eval.matching._checks import as_mask, as_treatment, as_vector

__all__ = ["scoot", "subclassify"]


def subclassify(
    d: np.ndarray,
    distance: np.ndarray,
    *,
    subclass: int | np.ndarray = 6,
    estimand: Literal["ATT", "ATC", "ATE"] = "ATT",
    min_n: int = 1,
    discarded: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Assign subclasses on quantiles of the distance.

    Parameters
    ----------
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    distance : numpy.ndarray
        Shape ``(n,)`` propensity score (or any scalar distance).
    subclass : int or array of float, default 6
        Number of subclasses (> 1), or quantile probabilities in ``[0, 1]``
        (MatchIt's ``subclass``).
    estimand : {"ATT", "ATC", "ATE"}, default "ATT"
        Group whose quantiles give the cut points.
    min_n : int, default 1
        Minimum units of each group per subclass (MatchIt's ``min.n``).
    discarded : numpy.ndarray, optional
        Units excluded beforehand (they stay unmatched).

    Returns
    -------
    subclass : numpy.ndarray
        Shape ``(n,)`` ids ``0..S-1`` (``-1`` for excluded units).
    cuts : numpy.ndarray
        The cut points (MatchIt's ``q.cut``).

    Raises
    ------
    SpecError
        ``subclass`` or ``min_n`` invalid.
    IdentificationError
        Not enough units of a group to give ``min_n`` to every subclass, or
        (``min_n = 0``) no subclass with both groups.
    """
    treated = as_treatment(d)
    n = treated.shape[0]
    x = as_vector(distance, n, "distance")
    drop = as_mask(discarded, n, "discarded")
    if isinstance(min_n, bool) or not isinstance(min_n, (int, np.integer)) or min_n < 0:
        raise SpecError(
            f"min_n={min_n!r} must be a non-negative integer (MatchIt's min.n)."
        )
    if np.ndim(subclass) == 0:
        k = subclass
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
            raise SpecError(
                f"subclass={subclass!r} must be an integer >= 2 (the number of "
                "subclasses) or a sequence of quantile probabilities in [0, 1]."
            )
        probs = np.linspace(0.0, 1.0, int(k) + 1)
    else:
        try:
            probs = np.sort(np.asarray(subclass, dtype=np.float64))
        except (TypeError, ValueError) as err:
            raise SpecError(
                f"subclass={subclass!r} must be an integer >= 2 or a sequence of "
                "quantile probabilities in [0, 1]."
            ) from err
        if (
            probs.size == 0
            or np.any((probs < 0) | (probs > 1))
            or not np.isfinite(probs).all()
        ):
            raise SpecError(
                f"subclass={subclass!r}: quantile probabilities must lie in [0, 1]."
            )
        if probs[0] != 0:
            probs = np.r_[0.0, probs]
        if probs[-1] != 1:
            probs = np.r_[probs, 1.0]
    ref = {"ATT": x[treated], "ATC": x[~treated], "ATE": x}[estimand]
    cuts = np.quantile(ref, probs)  # R's type 7
    n_int = cuts.shape[0] - 1
    keep = ~drop
    sub = np.full(n, -1, dtype=np.int64)
    # findInterval(all.inside = TRUE): 1..n_int (0-based here)
    sub[keep] = np.clip(np.searchsorted(cuts, x[keep], side="right"), 1, n_int) - 1
    if min_n == 0:
        present = np.unique(sub[keep])
        both = [
            s
            for s in present
            if (treated & (sub == s)).any() and (~treated & (sub == s)).any()
        ]
        if not both:
            raise IdentificationError(
                "No subclass holds both treated and control units: nothing can be "
                "compared. Use fewer subclasses or min_n >= 1."
            )
        sub[keep & ~np.isin(sub, both)] = -1
    else:
        sub[keep] = scoot(sub[keep], treated[keep], x[keep], int(min_n))
    # renumber the subclasses present 0..S-1, in order
    present = np.unique(sub[sub >= 0])
    remap = np.full(n_int, -1, dtype=np.int64)
    remap[present] = np.arange(present.shape[0])
    sub = np.where(sub >= 0, remap[np.maximum(sub, 0)], -1)
    return sub, cuts


def scoot(
    sub: np.ndarray, treated: np.ndarray, x: np.ndarray, min_n: int
) -> np.ndarray:
    """Give every subclass at least ``min_n`` units of each group (MatchIt's rule).

    Parameters
    ----------
    sub : numpy.ndarray
        Shape ``(m,)`` subclass codes of the retained units.
    treated : numpy.ndarray
        Shape ``(m,)`` boolean treatment.
    x : numpy.ndarray
        Shape ``(m,)`` distance.
    min_n : int
        Units of each group required per subclass.

    Returns
    -------
    numpy.ndarray
        Shape ``(m,)`` new codes (the same code values).

    Raises
    ------
    IdentificationError
        A group has fewer than ``min_n`` x (number of subclasses) units.
    """
    uniq, code = np.unique(sub, return_inverse=True)
    code = code.reshape(-1).copy()
    n_sub = uniq.shape[0]
    for grp in (treated, ~treated):
        if grp.sum() < n_sub * min_n:
            raise IdentificationError(
                f"Not enough units to put {min_n} treated and {min_n} control units "
                f"in each of the {n_sub} subclasses ({int(treated.sum())} treated, "
                f"{int((~treated).sum())} controls). Use fewer subclasses or a "
                "smaller min_n."
            )
    first_group = bool(treated[0])
    for group_value in (first_group, not first_group):
        idx = np.flatnonzero(treated == group_value)
        tab = np.bincount(code[idx], minlength=n_sub).astype(np.int64)
        for _ in range(min_n):
            while tab.min() <= 0:
                s = int(np.flatnonzero(tab == 0)[0]) if (tab == 0).any() else n_sub
                if s >= n_sub:  # pragma: no cover - tab never goes below zero
                    raise IdentificationError("Internal error in subclass scooting.")
                if s == n_sub - 1:
                    left = True
                elif s == 0:
                    left = False
                else:
                    others = np.flatnonzero(tab > 1)
                    others = others[others != s]
                    score = float(np.sum((tab[others] - 1) / (others - s)))
                    left = score <= 0
                side = np.arange(s - 1, -1, -1) if left else np.arange(s + 1, n_sub)
                donors = side[tab[side] > 0]
                if donors.size == 0:  # pragma: no cover - guarded by the count check
                    raise IdentificationError("Internal error in subclass scooting.")
                s2 = int(donors[0])
                cand = idx[code[idx] == s2]
                vals = x[cand]
                # the closest unit to subclass s; ties go to the last in data order
                best = vals.max() if left else vals.min()
                pick = cand[np.flatnonzero(vals == best)[-1]]
                code[pick] = s
                tab[s] += 1
                tab[s2] -= 1
            tab -= 1
    return uniq[code]
