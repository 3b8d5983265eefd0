"""Exact and coarsened exact matching (CEM), MatchIt 4.x semantics (arrays only).

* :func:`exact_match`: subclasses are the distinct rows of the covariates
  (MatchIt's ``method = "exact"``); a subclass without both groups is
  unmatched.
* :func:`cem_codes`: coarsen numeric columns into bins as MatchIt's in-house CEM
  (``cem_matchit`` in ``R/matchit2cem.R``, 4.7.2): a number of bins ``b``
  (default Sturges, ``ceiling(log2(n) + 1)`` over all ``n`` units) gives ``b``
  equal-width bins between the column's min and max, the outer edges opened to
  ``-inf``/``+inf``; an explicit vector gives the cut-points; ``"q4"`` gives
  quantile bins. Bins are closed on the left (R's ``findInterval``). Columns
  flagged as categorical are kept as they are (group levels beforehand to
  coarsen them, MatchIt's ``grouping``).
* :func:`subclass_weights`: MatchIt's weights from subclasses
  (``get_weights_from_subclass``) followed by its normalisation.

Note that, unlike the ``cem`` package, MatchIt reads a single number as the
number of *bins*, not of cut-points; we follow MatchIt.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from tne_eval.errors import IdentificationError, SpecError
from tne_eval.matching._checks import as_matrix, as_treatment, check_choice

__all__ = ["cem_codes", "cem_match", "exact_match", "subclass_weights"]

Cut = int | str | Sequence[float] | np.ndarray | None


def subclass_weights(
    d: np.ndarray, subclass: np.ndarray, estimand: Literal["ATT", "ATC", "ATE"] = "ATT"
) -> np.ndarray:
    """Compute matching weights from subclass membership (MatchIt's convention).

    ATT: treated 1, a control in subclass ``s`` gets ``n_t(s) / n_c(s)``; ATC the
    mirror image; ATE: ``1 + n_c(s)/n_t(s)`` for treated and ``1 + n_t(s)/n_c(s)``
    for controls. Then the positive weights of each group are rescaled to sum to
    the group's number of units with positive weight (``normalize = TRUE``).

    Parameters
    ----------
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    subclass : numpy.ndarray
        Shape ``(n,)`` integer ids, ``-1`` for unmatched units.
    estimand : {"ATT", "ATC", "ATE"}, default "ATT"
        Target of the weights.

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)``.
    """
    check_choice(estimand, ("ATT", "ATC", "ATE"), "estimand")
    treated = as_treatment(d)
    sub = np.asarray(subclass, dtype=np.int64)
    inside = sub >= 0
    n_sub = int(sub.max()) + 1 if inside.any() else 0
    nt = np.bincount(sub[inside & treated], minlength=n_sub).astype(float)
    nc = np.bincount(sub[inside & ~treated], minlength=n_sub).astype(float)
    w = np.zeros(treated.shape[0])
    it = inside & treated
    ic = inside & ~treated
    with np.errstate(divide="ignore", invalid="ignore"):
        if estimand == "ATT":
            w[it] = 1.0
            w[ic] = (nt / nc)[sub[ic]]
        elif estimand == "ATC":
            w[it] = (nc / nt)[sub[it]]
            w[ic] = 1.0
        else:
            w[it] = 1.0 + (nc / nt)[sub[it]]
            w[ic] = 1.0 + (nt / nc)[sub[ic]]
    for grp in (treated, ~treated):
        pos = grp & (w > 0)
        if pos.any():
            w[pos] *= np.count_nonzero(pos) / w[pos].sum()
    return w


def exact_match(
    d: np.ndarray, strata: np.ndarray, *, discarded: np.ndarray | None = None
) -> np.ndarray:
    """Subclass ids of exact matching on the rows of ``strata``.

    Parameters
    ----------
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    strata : numpy.ndarray
        Shape ``(n,)`` or ``(n, m)`` labels (numbers or integer codes).
    discarded : numpy.ndarray, optional
        Units excluded beforehand.

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)`` subclass ids ``0..S-1`` for units in strata holding both
        groups, ``-1`` otherwise.

    Raises
    ------
    IdentificationError
        No stratum holds both treated and control units.
    """
    treated = as_treatment(d)
    n = treated.shape[0]
    arr = np.asarray(strata)
    arr = arr[:, None] if arr.ndim == 1 else arr
    if arr.shape[0] != n:
        raise SpecError(f"strata must have {n} rows; got shape {arr.shape}.")
    drop = np.zeros(n, dtype=bool) if discarded is None else np.asarray(discarded, bool)
    _, code = np.unique(arr, axis=0, return_inverse=True)
    code = code.reshape(-1)
    n_codes = int(code.max()) + 1
    has_t = np.bincount(code[treated & ~drop], minlength=n_codes) > 0
    has_c = np.bincount(code[~treated & ~drop], minlength=n_codes) > 0
    both = has_t & has_c
    if not both.any():
        raise IdentificationError(
            f"No stratum holds both treated and control units ({n_codes} strata, "
            f"{int(has_t.sum())} with treated units, {int(has_c.sum())} with "
            "controls): nothing can be matched exactly. Coarsen the covariates "
            "(e.g. coarsened exact matching) or match on fewer of them."
        )
    new_id = np.full(n_codes, -1, dtype=np.int64)
    new_id[both] = np.arange(int(both.sum()))
    sub = new_id[code]
    sub[drop] = -1
    return sub


def cem_codes(
    x: np.ndarray,
    *,
    cutpoints: Sequence[Cut] | None = None,
    categorical: Sequence[bool] | None = None,
    columns: Sequence[str] | None = None,
) -> np.ndarray:
    """Coarsen the columns of ``x`` into integer bin codes (MatchIt's CEM).

    Parameters
    ----------
    x : numpy.ndarray
        Shape ``(n, k)``: numeric columns, and integer codes for categorical ones.
    cutpoints : sequence, optional
        One entry per column: ``None`` or ``"sturges"`` (default), ``"fd"``,
        ``"scott"``, ``"q<m>"`` (``m`` quantile bins), an int (number of
        equal-width bins; ``0`` = no coarsening), or a sequence of cut-points.
    categorical : sequence of bool, optional
        Columns kept exact (no binning).
    columns : sequence of str, optional
        Names for error messages.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, k)`` integer codes.
    """
    xm = as_matrix(x, np.shape(x)[0], "x", columns)
    n, k = xm.shape
    cuts = list(cutpoints) if cutpoints is not None else [None] * k
    cats = list(categorical) if categorical is not None else [False] * k
    names = list(columns) if columns is not None else [f"column {j}" for j in range(k)]
    if len(cuts) != k or len(cats) != k:
        raise SpecError(
            f"cutpoints and categorical need one entry per column of x ({k}); got "
            f"{len(cuts)} and {len(cats)}."
        )
    out = np.empty((n, k), dtype=np.int64)
    for j in range(k):
        col = xm[:, j]
        if cats[j] or (isinstance(cuts[j], int) and cuts[j] == 0):
            out[:, j] = np.unique(col, return_inverse=True)[1].reshape(-1)
            continue
        breaks = _breaks(col, cuts[j], names[j])
        out[:, j] = np.searchsorted(breaks, col, side="right")
    return out


def _breaks(col: np.ndarray, cut: Cut, name: str) -> np.ndarray:
    n = col.shape[0]
    lo, hi = float(col.min()), float(col.max())
    if cut is None or isinstance(cut, str):
        rule = "sturges" if cut is None else cut.lower()
        if rule.startswith("q") and rule[1:].isdigit():
            q = int(rule[1:])
            probs = np.arange(1, q) / q
            inner = np.quantile(col, probs)  # R's default type 7
            return np.concatenate([[-math.inf], np.unique(inner), [math.inf]])
        if rule == "sturges":
            bins = math.ceil(math.log2(n) + 1)
        elif rule == "scott":
            h = 3.5 * float(np.std(col, ddof=1)) * n ** (-1.0 / 3.0)
            bins = max(1, math.ceil((hi - lo) / h)) if h > 0 else 1
        elif rule == "fd":
            q75, q25 = np.quantile(col, [0.75, 0.25])
            h = 2.0 * float(q75 - q25) * n ** (-1.0 / 3.0)
            bins = max(1, math.ceil((hi - lo) / h)) if h > 0 else 1
        else:
            raise SpecError(
                f"cutpoints for {name}: {cut!r} is not a binning rule; use 'sturges', "
                "'fd', 'scott', 'q<m>', a number of bins, or a vector of cut-points."
            )
        return _equal_width(lo, hi, bins)
    if isinstance(cut, (int, np.integer)) and not isinstance(cut, bool):
        if cut < 0:
            raise SpecError(f"cutpoints for {name}: the number of bins must be >= 0.")
        return _equal_width(lo, hi, int(cut))
    arr = np.asarray(cut, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] == 0 or not np.all(np.isfinite(arr)):
        raise SpecError(f"cutpoints for {name} must be finite numbers; got {cut!r}.")
    return np.concatenate([[-math.inf], np.unique(arr), [math.inf]])


def _equal_width(lo: float, hi: float, bins: int) -> np.ndarray:
    """R's ``seq(lo, hi, length = bins + 1)`` with the outer edges opened."""
    if bins <= 1 or lo == hi:
        return np.array([-math.inf, math.inf])
    step = (hi - lo) / bins
    inner = lo + np.arange(1, bins) * step
    return np.concatenate([[-math.inf], inner, [math.inf]])


def cem_match(
    d: np.ndarray,
    x: np.ndarray,
    *,
    cutpoints: Sequence[Cut] | None = None,
    categorical: Sequence[bool] | None = None,
    columns: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Coarsened exact matching: subclasses and ATT weights.

    Returns
    -------
    subclass : numpy.ndarray
        Shape ``(n,)``, ``-1`` for units in strata without both groups.
    weights : numpy.ndarray
        Shape ``(n,)`` MatchIt's ATT weights (:func:`subclass_weights`).

    Raises
    ------
    IdentificationError
        No coarsened stratum holds both groups.
    """
    codes = cem_codes(x, cutpoints=cutpoints, categorical=categorical, columns=columns)
    sub = exact_match(d, codes)
    return sub, subclass_weights(d, sub, "ATT")
