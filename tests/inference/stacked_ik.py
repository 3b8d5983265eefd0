"""Brute-force Imbens-Kolesár degrees of freedom of group-mean estimates.

Written from the formula on the explicit stacked design (one row per row and
group mean it belongs to, ``N x N`` matrices), independently of
:func:`tne_eval.inference.small_sample.diagonal_imbens_kolesar_df`: the test
reference for it and for ``CR2(df="imbens_kolesar")`` on ``att_gt`` /
``aggregate`` results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Stacked:
    """The stacked design of one estimate."""

    resid: np.ndarray  # (N,) residual of each stacked row, unsigned
    weight: np.ndarray  # (N,)
    cluster: np.ndarray  # (N,)
    part: np.ndarray  # (N,) position of the row's group among the used ones
    coef: np.ndarray  # (m_c,) signed coefficient of each used group mean
    functional: np.ndarray  # (G, N): u_g = functional[g] @ e (the CR2 terms)
    sigma2: float
    rho: float


def stacked_design(psi, cluster, row_weight, coef, sign, rho_nonnegative=False):
    """Stacked rows, residuals, Moulton (sigma^2, rho) and the CR2 functional."""
    psi = np.asarray(psi, dtype=float)
    row_weight = np.asarray(row_weight, dtype=float)
    n = psi.shape[0]
    n_clusters = int(cluster.max()) + 1
    used = np.flatnonzero(coef)
    e, w, cl, part = [], [], [], []
    for k, p in enumerate(used):
        rows = np.flatnonzero(row_weight[:, p] > 0)
        h = row_weight[rows, p].sum()
        # psi_iP = sign * n w_i (y_i - mu_P) / H_P
        e.append(sign[p] * psi[rows, p] * h / (n * row_weight[rows, p]))
        w.append(row_weight[rows, p])
        cl.append(cluster[rows])
        part.append(np.full(rows.size, k))
    e, w, cl, part = map(np.concatenate, (e, w, cl, part))
    return _design(e, w, cl, part, coef[used] * sign[used], n_clusters, rho_nonnegative)


def stacked_regression(y, weight, cluster, part, coef, rho_nonnegative=False):
    """The stacked design built from the stacked outcomes themselves.

    ``y``, ``weight``, ``cluster``, ``part``: one entry per stacked row (a row of
    the data in one group mean); ``coef``: the coefficient of each group mean
    ``0..m-1`` in the estimate (its sign included). The residuals are those of the
    WLS regression of ``y`` on the group dummies.
    """
    y, weight = np.asarray(y, dtype=float), np.asarray(weight, dtype=float)
    part = np.asarray(part)
    mean = np.bincount(part, weights=weight * y) / np.bincount(part, weights=weight)
    n_clusters = int(np.max(cluster)) + 1
    return _design(
        y - mean[part],
        weight,
        np.asarray(cluster),
        part,
        np.asarray(coef, dtype=float),
        n_clusters,
        rho_nonnegative,
    )


def _design(e, w, cl, part, ctilde, n_clusters, rho_nonnegative):
    sums = np.bincount(cl, weights=e, minlength=n_clusters)
    sizes = np.bincount(cl, minlength=n_clusters)
    rho = (sums @ sums - e @ e) / (sizes @ sizes - e.size)
    if rho_nonnegative:
        rho = max(rho, 0.0)
    sigma2 = max(e @ e / e.size - rho, 0.0)
    htot = np.bincount(part, weights=w)
    lev = np.zeros((n_clusters, ctilde.size))
    np.add.at(lev, (cl, part), w / htot[part])
    functional = np.zeros((n_clusters, e.size))
    for r in range(e.size):
        g, k = cl[r], part[r]
        functional[g, r] = ctilde[k] * w[r] / (htot[k] * np.sqrt(1 - lev[g, k]))
    return Stacked(e, w, cl, part, ctilde, functional, sigma2, rho)


def stacked_ik_df(design: Stacked) -> float:
    """(tr P)^2 / ||P||_F^2 with P = F (I - H) Omega (I - H)' F' on the stacked rows."""
    n_rows = design.resid.size
    dummies = np.zeros((n_rows, design.coef.size))
    dummies[np.arange(n_rows), design.part] = 1.0
    w = design.weight
    hat = (
        dummies
        @ np.linalg.inv(dummies.T @ (w[:, None] * dummies))
        @ (dummies * w[:, None]).T
    )
    maker = np.eye(n_rows) - hat  # e = (I - H) eps, residuals from the group means
    same = design.cluster[:, None] == design.cluster[None, :]
    omega = design.sigma2 * np.eye(n_rows) + design.rho * same
    v = design.functional @ maker
    p_mat = v @ omega @ v.T
    return float(np.trace(p_mat) ** 2 / np.sum(p_mat**2))
