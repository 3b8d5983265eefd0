"""Covariate balance statistics with MatchIt's and cobalt's conventions (arrays only).

:func:`balance_table` computes, for each column of ``x``, the columns of MatchIt's
``summary.matchit()`` (``R/match.qoi.R``, ``bal1var``; MatchIt 4.7.2):

``mean_treated``, ``mean_control``
    means weighted by ``weights * s_weights``;
``smd``
    difference in weighted means divided by a standard deviation computed on the
    **unweighted** (``s_weights`` only) full sample: the treated group's SD for the
    ATT (MatchIt's ``summary()`` and cobalt's ``bal.tab`` default), the control
    group's for the ATC, ``sqrt((s_t^2 + s_c^2) / 2)`` for the ATE. For a binary
    (0/1) column the variance is ``p (1 - p)``; otherwise the unbiased (reliability
    weights) variance. When ``|difference| <= sqrt(machine eps)`` the raw
    difference is reported (MatchIt does the same);
``var_ratio``
    weighted variance of the treated over that of the controls (NaN for binary
    columns, printed ``.`` by MatchIt);
``ecdf_mean``, ``ecdf_max``
    mean and maximum absolute difference between the groups' weighted empirical
    CDFs, evaluated at the distinct values of ``x`` among all units (unmatched
    ones included, as MatchIt does); for a binary column both equal the
    absolute difference in proportions. ``ecdf_max`` is cobalt's ``KS``.

cobalt's ``bal.tab`` reports the same numbers except that, by default
(``binary = "raw"``), the difference for a **binary** covariate is the raw
difference in proportions, not standardised; ``binary="raw"`` reproduces it.

:func:`pair_distance` is MatchIt's ``Std. Pair Dist.`` and :func:`kish_ess` the
effective sample size ``(sum w)^2 / sum w^2`` of its ``Matched (ESS)`` row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from tne_eval.errors import IdentificationError, SpecError
from tne_eval.matching._checks import (
    as_matrix,
    as_treatment,
    as_vector,
    check_choice,
)

__all__ = ["BalanceTable", "balance_table", "kish_ess", "pair_distance"]

#: MatchIt reports a raw (unstandardised) difference when it is this small.
_ZERO_DIFF = math.sqrt(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class BalanceTable:
    """Balance statistics, one entry per column of ``x``.

    Attributes
    ----------
    mean_treated, mean_control, smd, var_ratio, ecdf_mean, ecdf_max : numpy.ndarray
        Shape ``(k,)`` each; see the module docstring.
    sd_denominator : numpy.ndarray
        Shape ``(k,)`` the SD used by ``smd`` (NaN where the raw difference is
        reported).
    binary : numpy.ndarray
        Shape ``(k,)`` boolean, columns detected as 0/1.
    """

    mean_treated: np.ndarray
    mean_control: np.ndarray
    smd: np.ndarray
    var_ratio: np.ndarray
    ecdf_mean: np.ndarray
    ecdf_max: np.ndarray
    sd_denominator: np.ndarray
    binary: np.ndarray


def _wvar(x: np.ndarray, w: np.ndarray, binary: bool) -> float:
    w = w / w.sum()
    mx = float(w @ x)
    if binary:
        return mx * (1.0 - mx)
    return float(w @ (x - mx) ** 2) / (1.0 - float(w @ w))


def balance_table(
    x: np.ndarray,
    d: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    s_weights: np.ndarray | None = None,
    estimand: Literal["ATT", "ATC", "ATE"] = "ATT",
    binary: Literal["std", "raw"] = "std",
    columns: list[str] | None = None,
) -> BalanceTable:
    """Balance of each covariate between treated and controls.

    Parameters
    ----------
    x : numpy.ndarray
        Shape ``(n, k)`` covariates (factors as one dummy per level).
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    weights : numpy.ndarray, optional
        Matching or balancing weights (``None``: before matching). Units with
        weight 0 drop out of the adjusted statistics.
    s_weights : numpy.ndarray, optional
        Sampling weights (enter both the adjusted statistics and the SD).
    estimand : {"ATT", "ATC", "ATE"}, default "ATT"
        Selects the SD of the standardised difference.
    binary : {"std", "raw"}, default "std"
        ``"std"``: binary columns standardised too (MatchIt's ``summary()``);
        ``"raw"``: raw difference in proportions (cobalt's ``bal.tab`` default).
    columns : list of str, optional
        Names, for error messages.

    Returns
    -------
    BalanceTable
        The statistics.
    """
    check_choice(estimand, ("ATT", "ATC", "ATE"), "estimand")
    check_choice(binary, ("std", "raw"), "binary")
    treated = as_treatment(d)
    n = treated.shape[0]
    xm = as_matrix(x, n, "x", columns)
    sw = np.ones(n) if s_weights is None else as_vector(s_weights, n, "s_weights")
    w = sw if weights is None else as_vector(weights, n, "weights") * sw
    for grp, label in ((treated, "treated"), (~treated, "control")):
        if not w[grp].sum() > 0:
            raise IdentificationError(
                f"No {label} unit has a positive weight: balance is not defined. "
                "Check the matching or weighting output."
            )
    k = xm.shape[1]
    out = {
        name: np.full(k, np.nan)
        for name in (
            "mean_treated",
            "mean_control",
            "smd",
            "var_ratio",
            "ecdf_mean",
            "ecdf_max",
            "sd_denominator",
        )
    }
    is_bin = np.all((xm == 0.0) | (xm == 1.0), axis=0)
    t1, t0 = treated, ~treated
    for j in range(k):
        col = xm[:, j]
        b = bool(is_bin[j])
        m1 = float(w[t1] @ col[t1]) / w[t1].sum()
        m0 = float(w[t0] @ col[t0]) / w[t0].sum()
        out["mean_treated"][j] = m1
        out["mean_control"][j] = m0
        diff = m1 - m0
        if abs(diff) > _ZERO_DIFF and not (b and binary == "raw"):
            v1 = _wvar(col[t1], sw[t1], b)
            v0 = _wvar(col[t0], sw[t0], b)
            sd = {
                "ATT": math.sqrt(v1),
                "ATC": math.sqrt(v0),
                "ATE": math.sqrt((v1 + v0) / 2.0),
            }[estimand]
            out["smd"][j] = diff / sd
            out["sd_denominator"][j] = sd
        else:
            out["smd"][j] = diff
        if b:
            out["ecdf_mean"][j] = out["ecdf_max"][j] = abs(diff)
        else:
            keep1 = t1 & (w > 0)
            keep0 = t0 & (w > 0)
            out["var_ratio"][j] = _wvar(col[keep1], w[keep1], False) / _wvar(
                col[keep0], w[keep0], False
            )
            out["ecdf_mean"][j], out["ecdf_max"][j] = _ecdf_diff(col, treated, w)
    return BalanceTable(binary=is_bin, **out)


def _ecdf_diff(
    x: np.ndarray, treated: np.ndarray, w: np.ndarray
) -> tuple[float, float]:
    """Mean and max |F_t - F_c| over the distinct values of ``x`` (weighted).

    As MatchIt's ``qqsum(standardize = TRUE)``, the evaluation points are the
    distinct values among **all** units, unmatched (weight 0) ones included.
    """
    t = treated
    signed = np.where(t, w / w[t].sum(), -w / w[~t].sum())
    order = np.argsort(x, kind="stable")
    xs = x[order]
    cum = np.abs(np.cumsum(signed[order]))
    last_of_value = np.append(xs[1:] != xs[:-1], True)
    ed = cum[last_of_value]
    return float(ed.mean()), float(ed.max())


def pair_distance(
    x: np.ndarray,
    d: np.ndarray,
    *,
    match_matrix: np.ndarray | None = None,
    treated_rows: np.ndarray | None = None,
    subclass: np.ndarray | None = None,
    sd: np.ndarray | None = None,
) -> np.ndarray:
    """MatchIt's ``Std. Pair Dist.``: mean absolute within-pair difference.

    With ``subclass`` (matching without replacement, MatchIt's ``pairdistsubC``):
    the mean of ``|x_t - x_c|`` over every treated-control pair inside each
    subclass. Otherwise, over the entries of the match matrix. Divided by
    ``sd`` (the ``sd_denominator`` of :func:`balance_table`) where it is finite.

    Parameters
    ----------
    x : numpy.ndarray
        Shape ``(n, k)``.
    d : numpy.ndarray
        Shape ``(n,)`` 0/1 treatment.
    match_matrix, treated_rows : numpy.ndarray, optional
        From :class:`~tne_eval.matching._nearest.Matches`.
    subclass : numpy.ndarray, optional
        Shape ``(n,)`` set ids (``-1`` unmatched).
    sd : numpy.ndarray, optional
        Shape ``(k,)`` standardising SDs.

    Returns
    -------
    numpy.ndarray
        Shape ``(k,)``.
    """
    treated = as_treatment(d)
    n = treated.shape[0]
    xm = as_matrix(x, n, "x")
    if subclass is not None:
        sub = np.asarray(subclass)
        tr = np.flatnonzero(treated & (sub >= 0))
        ct = np.flatnonzero(~treated & (sub >= 0))
        # all treated-control pairs within a subclass
        order_c = ct[np.argsort(sub[ct], kind="stable")]
        sc = sub[order_c]
        starts = np.searchsorted(sc, sub[tr], side="left")
        ends = np.searchsorted(sc, sub[tr], side="right")
        counts = ends - starts
        t_idx = np.repeat(tr, counts)
        offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        c_idx = order_c[np.repeat(starts, counts) + offs]
    else:
        if match_matrix is None or treated_rows is None:
            raise SpecError(
                "pair_distance needs the matched sets: pass subclass=, or "
                "match_matrix= together with treated_rows= (from a Matches)."
            )
        rows, cols = np.nonzero(match_matrix >= 0)
        t_idx = np.asarray(treated_rows)[rows]
        c_idx = match_matrix[rows, cols]
    dist = np.abs(xm[t_idx] - xm[c_idx]).mean(axis=0)
    if sd is not None:
        sdv = np.asarray(sd, dtype=np.float64)
        ok = np.isfinite(sdv) & (np.abs(dist) > 1e-8)
        dist = np.where(ok, dist / np.where(ok, sdv, 1.0), dist)
    return dist


def kish_ess(w: np.ndarray) -> float:
    """Kish effective sample size ``(sum w)^2 / sum w^2`` of non-negative weights."""
    arr = np.asarray(w, dtype=np.float64)
    s2 = float(arr @ arr)
    return float(arr.sum()) ** 2 / s2 if s2 > 0 else 0.0
