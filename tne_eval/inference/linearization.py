r"""Design-based (Taylor linearization) variance of PSU totals (numpy only).

An estimator :math:`\hat\theta` is linearized as
:math:`\hat\theta - \theta \approx \sum_i z_i`, with :math:`z_i` the weighted
influence (linearized) value of row :math:`i`. With :math:`z_{hj}` the total of
PSU :math:`j` of stratum :math:`h` (:math:`n_h` PSUs, sampling fraction
:math:`f_h`), the variance under with-replacement sampling of PSUs within strata
(the "ultimate cluster" approximation) is

.. math::

    \hat V = \sum_h (1 - f_h)\,\frac{n_h}{n_h - 1}
    \sum_{j=1}^{n_h} (z_{hj} - \bar z_h)(z_{hj} - \bar z_h)',

R ``survey``'s ``svyrecvar`` at the first stage, Stata's ``svy: linearized``.
"""

from __future__ import annotations

import numpy as np

from tne_eval.errors import LonelyPSUError

__all__ = ["LONELY_PSU_OPTIONS", "stratified_vcov"]

#: Options of ``lonely_psu`` (R ``survey``'s ``options(survey.lonely.psu=)``).
LONELY_PSU_OPTIONS = ("fail", "remove", "certainty", "adjust")


def stratified_vcov(
    psu_totals: np.ndarray,
    psu_stratum: np.ndarray,
    n_strata: int,
    *,
    fraction: np.ndarray | None = None,
    lonely_psu: str = "fail",
    stratum_labels: list[str] | None = None,
) -> tuple[np.ndarray, list[int]]:
    r"""Covariance of linearized estimates from their PSU totals.

    Parameters
    ----------
    psu_totals : ndarray, shape (m, k)
        :math:`z_{hj}`: the linearized values summed within each sampled PSU.
        Every PSU of the design is a row, also those whose total is zero (rows
        outside the estimation domain), as in R ``survey``'s ``subset()``.
    psu_stratum : ndarray of int, shape (m,)
        Stratum of each PSU in ``0..n_strata-1``.
    n_strata : int
    fraction : ndarray, shape (n_strata,), optional
        First-stage sampling fraction :math:`f_h = n_h / N_h` of each stratum
        (finite-population correction :math:`1 - f_h`); ``None``: with
        replacement (:math:`f_h = 0`).
    lonely_psu : {"fail", "remove", "certainty", "adjust"}, default "fail"
        Strata with a single PSU: raise; contribute nothing (``"remove"`` and
        ``"certainty"``, identical for one-stage variances, as in R
        ``survey``); or centre the PSU total at the grand mean of all PSU totals
        instead of its stratum mean (``"adjust"``, Stata's
        ``singleunit(centered)``), times :math:`1 - f_h`.
    stratum_labels : list of str, optional
        Stratum names for the error message.

    Returns
    -------
    vcov : ndarray, shape (k, k)
    lonely : list of int
        Codes of the strata with a single PSU.

    Raises
    ------
    LonelyPSUError
        A stratum has one PSU and ``lonely_psu="fail"``.
    """
    z = np.asarray(psu_totals, dtype=float)
    if z.ndim == 1:
        z = z[:, None]
    code = np.asarray(psu_stratum, dtype=np.int64)
    n_h = np.bincount(code, minlength=n_strata).astype(float)
    f = np.zeros(n_strata) if fraction is None else np.asarray(fraction, dtype=float)
    lonely = [int(h) for h in np.flatnonzero(n_h == 1)]
    if lonely and lonely_psu == "fail":
        names = [stratum_labels[h] if stratum_labels else str(h) for h in lonely]
        shown = ", ".join(repr(x) for x in names[:5]) + (
            ", ..." if len(names) > 5 else ""
        )
        raise LonelyPSUError(
            f"{len(lonely)} stratum/strata of the survey design have a single PSU "
            f"({shown}): no within-stratum variance can be formed. Collapse such "
            "strata with a neighbour, or choose lonely_psu='remove' / 'certainty' "
            "(the stratum contributes nothing) or 'adjust' (its PSU is centred at "
            "the grand mean), as R survey's options(survey.lonely.psu=)."
        )
    sums = np.column_stack(
        [
            np.bincount(code, weights=z[:, j], minlength=n_strata)
            for j in range(z.shape[1])
        ]
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / n_h[:, None]
    dev = z - means[code]
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(n_h > 1, (1.0 - f) * n_h / (n_h - 1.0), 0.0)
    if lonely and lonely_psu == "adjust":
        grand = z.mean(axis=0)
        single = n_h[code] == 1
        dev[single] = z[single] - grand
        scale = np.where(n_h == 1, 1.0 - f, scale)
    row_scale = scale[code]
    vcov = (dev * row_scale[:, None]).T @ dev
    return (vcov + vcov.T) / 2, lonely
