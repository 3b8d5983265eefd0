r"""Weights of the treated cells in a static TWFE coefficient (dCDH 2020).

If :math:`y_{it}(0)` follows the two-way model, the static coefficient is
:math:`\hat\beta = \sum_{D_{it}=1} W_{it}\,\tau_{it}` with
:math:`W_{it} = w_{it}\varepsilon_{it}/\sum_{D=1} w\varepsilon`, where
:math:`\varepsilon` is the residual of :math:`D` on the fixed effects and the
covariates: weights summing to one but possibly negative (de Chaisemartin &
D'Haultfœuille 2020, Theorem 1). Arrays in, a table out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["dcdh_weights"]


def dcdh_weights(
    x_tilde: np.ndarray,
    gram: np.ndarray,
    w: np.ndarray,
    treated_row: np.ndarray,
    cohort_row: np.ndarray,
    time_code: np.ndarray,
    periods: np.ndarray,
    beta: float,
) -> tuple[pd.DataFrame, int, float, float]:
    r"""Weights of the treated observations in the static coefficient, by cell.

    Parameters
    ----------
    x_tilde : ndarray, shape (n, k)
        Projected design of the regression: the treatment indicator first, then
        the kept covariates.
    gram : ndarray, shape (k, k)
        :math:`\tilde X' W \tilde X` over the same columns.
    w : ndarray, shape (n,)
        Regression weights.
    treated_row : ndarray of bool, shape (n,)
        :math:`D_{it} = 1`.
    cohort_row, time_code : ndarray, shape (n,)
        Cohort of each row's unit and period code of each row.
    periods : ndarray
        Period values by code.
    beta : float
        The static coefficient.

    Returns
    -------
    cells : pandas.DataFrame
        ``cohort, time, event_time, n_obs, weight`` for each treated cell.
    n_negative : int
        Cells with a negative weight.
    sum_negative : float
        Sum of the negative weights.
    sigma_fe : float
        :math:`|\hat\beta|/\sigma(W)`, the smallest standard deviation of effects
        across treated observations compatible with an average effect of the
        opposite sign (Corollary 1).
    """
    eps = x_tilde[:, 0]
    if x_tilde.shape[1] > 1:  # residual of D on the covariates too (FWL)
        gamma = np.linalg.solve(gram[1:, 1:], gram[1:, 0])
        eps = eps - x_tilde[:, 1:] @ gamma
    num = w * eps
    weight = num[treated_row] / num[treated_row].sum()
    cohort = cohort_row[treated_row]
    cohort_values, cohort_idx = np.unique(cohort, return_inverse=True)
    n_periods = len(periods)
    cell = cohort_idx * n_periods + time_code[treated_row]
    n_cells = cohort_values.size * n_periods
    n_obs = np.bincount(cell, minlength=n_cells)
    present = np.flatnonzero(n_obs)
    cell_weight = np.bincount(cell, weights=weight, minlength=n_cells)[present]
    c_of = cohort_values[present // n_periods]
    t_of = periods[present % n_periods]
    cells = pd.DataFrame(
        {
            "cohort": c_of.astype(np.int64),
            "time": t_of.astype(np.int64),
            "event_time": (t_of - c_of).astype(np.int64),
            "n_obs": n_obs[present].astype(np.int64),
            "weight": cell_weight,
        }
    )
    neg = cells["weight"].to_numpy() < 0
    # sigma(w) of dCDH: shares N_it/N_1, dCDH weights w_it = W_it / share_it
    share = w[treated_row] / w[treated_row].sum()
    sd = float(np.sqrt(np.sum(share * (weight / share - 1.0) ** 2)))
    sigma_fe = abs(beta) / sd if sd > 0 else np.inf
    return cells, int(neg.sum()), float(cells["weight"].to_numpy()[neg].sum()), sigma_fe
