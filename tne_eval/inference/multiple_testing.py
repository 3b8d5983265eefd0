r"""Multiple-testing adjustments of p-values (numpy only).

Arrays in, arrays out: :func:`bonferroni`, :func:`holm` and
:func:`benjamini_hochberg` adjust a vector of p-values; :func:`romano_wolf`
computes the Romano-Wolf step-down p-values from observed statistics and
bootstrap draws of the same statistics under the null, drawn jointly (with the
same resampling) for every hypothesis. :func:`tne_eval.outcome_family` applies
them to estimation results.

Notes
-----
For :math:`m` p-values sorted increasingly, :math:`p_{(1)} \le \dots \le
p_{(m)}`, the adjusted p-values are

- Bonferroni: :math:`\tilde p_j = \min(1, m\,p_j)`;
- Holm (1979) step-down: :math:`\tilde p_{(i)} = \max_{j \le i}
  \min\{1, (m - j + 1)\,p_{(j)}\}`;
- Benjamini & Hochberg (1995) step-up (false discovery rate):
  :math:`\tilde p_{(i)} = \min_{j \ge i} \min\{1, m\,p_{(j)} / j\}`.

They reproduce ``statsmodels.stats.multitest.multipletests`` with
``method="bonferroni"``, ``"holm"`` and ``"fdr_bh"`` (checked to 1e-12 in
``tests/inference/test_multiple_testing.py``).
"""

from __future__ import annotations

import numpy as np

from tne_eval.errors import DataError

__all__ = ["benjamini_hochberg", "bonferroni", "holm", "romano_wolf"]


def _pvalues(pvalues: object) -> np.ndarray:
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1 or p.size == 0:
        raise DataError(
            f"p-values must be a non-empty 1-d array (got shape {p.shape}); pass one "
            "p-value per hypothesis."
        )
    bad = np.flatnonzero(~np.isfinite(p) | (p < 0) | (p > 1))
    if bad.size:
        raise DataError(
            f"{bad.size} p-value(s) are missing or outside [0, 1] (positions "
            f"{bad[:5].tolist()}, values {p[bad[:5]].tolist()}). Drop the hypotheses "
            "that could not be tested before adjusting."
        )
    return p


def bonferroni(pvalues: object) -> np.ndarray:
    r"""Bonferroni-adjusted p-values, :math:`\min(1, m p_j)`.

    Parameters
    ----------
    pvalues : array-like, shape (m,)

    Returns
    -------
    ndarray, shape (m,)
    """
    p = _pvalues(pvalues)
    return np.minimum(1.0, p * p.size)


def holm(pvalues: object) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values (family-wise error rate).

    Parameters
    ----------
    pvalues : array-like, shape (m,)

    Returns
    -------
    ndarray, shape (m,)
        In the input order.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    Scandinavian Journal of Statistics 6(2), 65-70.
    """
    p = _pvalues(pvalues)
    m = p.size
    order = np.argsort(p, kind="stable")
    step = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.maximum.accumulate(step)
    return out


def benjamini_hochberg(pvalues: object) -> np.ndarray:
    """Benjamini & Hochberg (1995) step-up adjusted p-values (false discovery rate).

    Parameters
    ----------
    pvalues : array-like, shape (m,)

    Returns
    -------
    ndarray, shape (m,)
        In the input order. Rejecting where the adjusted p-value is at most
        ``q`` controls the false discovery rate at ``q`` for independent or
        positively dependent (PRDS) statistics.

    References
    ----------
    Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate: a
    practical and powerful approach to multiple testing. JRSS B 57(1), 289-300,
    doi:10.1111/j.2517-6161.1995.tb02031.x.
    """
    p = _pvalues(pvalues)
    m = p.size
    order = np.argsort(p, kind="stable")
    step = p[order] * m / np.arange(1, m + 1)
    step = np.minimum.accumulate(step[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(1.0, step)
    return out


def romano_wolf(
    statistics: object, null_statistics: object
) -> tuple[np.ndarray, np.ndarray]:
    r"""Romano-Wolf step-down adjusted p-values from joint bootstrap draws.

    Parameters
    ----------
    statistics : array-like, shape (m,)
        Observed studentized statistics :math:`t_j = \hat\theta_j / \hat\sigma_j`
        (two-sided: their absolute values are used).
    null_statistics : array-like, shape (B, m)
        Bootstrap draws of the same statistics centred at the estimates,
        :math:`t^*_{bj} = (\hat\theta^*_{bj} - \hat\theta_j) / \hat\sigma_j`,
        drawn jointly: row ``b`` comes from one resample of all the data, so the
        rows carry the dependence between the statistics.

    Returns
    -------
    adjusted : ndarray, shape (m,)
        Romano-Wolf adjusted p-values, in the input order.
    single : ndarray, shape (m,)
        Unadjusted bootstrap p-values :math:`(1 + \#\{b: |t^*_{bj}| \ge
        |t_j|\}) / (B + 1)`; ``adjusted >= single`` always.

    Notes
    -----
    Sort the hypotheses by decreasing :math:`|t_j|`, :math:`|t_{(1)}| \ge \dots
    \ge |t_{(m)}|`. At step :math:`s`, the null distribution is that of the
    maximum over the hypotheses not yet considered,
    :math:`\max^*_{b,s} = \max_{j \ge s} |t^*_{b(j)}|`, and

    .. math::

        p_{(s)} = \frac{1 + \#\{b: \max^*_{b,s} \ge |t_{(s)}|\}}{B + 1},
        \qquad \tilde p_{(s)} = \max_{r \le s} p_{(r)},

    the last step enforcing monotonicity (Romano & Wolf 2016;
    Clarke, Romano & Wolf 2020). The ``+1`` counts the observed sample among the
    draws, so that a p-value is never zero with a finite number of draws. The
    procedure controls the family-wise error rate asymptotically without
    assuming subset pivotality (Romano & Wolf 2005).

    References
    ----------
    Romano, J. P. & Wolf, M. (2005). Exact and approximate stepdown methods for
    multiple hypothesis testing. JASA 100(469), 94-108,
    doi:10.1198/016214504000000539.
    Romano, J. P. & Wolf, M. (2016). Efficient computation of adjusted p-values
    for resampling-based stepdown multiple testing. Statistics & Probability
    Letters 113, 38-40, doi:10.1016/j.spl.2016.02.012.
    Clarke, D., Romano, J. P. & Wolf, M. (2020). The Romano-Wolf
    multiple-hypothesis correction in Stata. Stata Journal 20(4), 812-843,
    doi:10.1177/1536867X20976314.
    """
    t = np.abs(np.asarray(statistics, dtype=float))
    draws = np.abs(np.asarray(null_statistics, dtype=float))
    if t.ndim != 1 or t.size == 0:
        raise DataError(
            f"statistics must be a non-empty 1-d array (got shape {t.shape})."
        )
    if draws.ndim != 2 or draws.shape[1] != t.size or draws.shape[0] == 0:
        raise DataError(
            f"null_statistics must have shape (B, {t.size}) with B >= 1 (got "
            f"{draws.shape}): one row of draws per bootstrap resample, one column "
            "per hypothesis."
        )
    bad = np.flatnonzero(~np.isfinite(t) | ~np.isfinite(draws).all(axis=0))
    if bad.size:
        raise DataError(
            f"statistics or their draws are not finite for hypotheses at positions "
            f"{bad[:5].tolist()}; drop them (a zero standard error cannot be "
            "studentized)."
        )
    b = draws.shape[0]
    order = np.argsort(-t, kind="stable")
    ordered = draws[:, order]
    # max over the hypotheses from step s onwards: a reversed running maximum
    tail_max = np.maximum.accumulate(ordered[:, ::-1], axis=1)[:, ::-1]
    step = (1.0 + (tail_max >= t[order]).sum(axis=0)) / (b + 1.0)
    adjusted = np.empty(t.size)
    adjusted[order] = np.maximum.accumulate(step)
    single = (1.0 + (draws >= t).sum(axis=0)) / (b + 1.0)
    return adjusted, single
