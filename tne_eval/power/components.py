r"""Estimate the variance components of a school x period panel of test scores.

The school-period means are fitted by restricted maximum likelihood with
statsmodels' ``MixedLM`` (department random intercepts, with school and
department x period variance components nested in departments, period fixed
effects); the pupil variance is the pooled within-school-period variance of the
pupil scores, computed from the panel's standard deviations and counts.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from tne_eval._validation import check_columns_exist, check_dataframe
from tne_eval._warnings import warn
from tne_eval.errors import DataError, DroppedObservationsWarning
from tne_eval.power.design import VarianceComponents

__all__ = ["pooled_within_variance", "variance_components"]


def pooled_within_variance(n: np.ndarray, sd: np.ndarray) -> float:
    r"""Pooled within-cell variance :math:`\sum (n_c-1)s_c^2 / \sum (n_c-1)`.

    ``sd`` are the cells' sample standard deviations (``ddof=1``); cells with
    one pupil carry no information and get weight 0. It equals the residual
    variance of an OLS of pupil scores on one dummy per cell (validated
    against statsmodels to 1e-8).
    """
    n = np.asarray(n, dtype=float)
    sd = np.asarray(sd, dtype=float)
    keep = n > 1
    dof = np.sum(n[keep] - 1)
    if dof <= 0:
        raise DataError(
            "No school-period cell has two or more pupils: the pupil variance "
            "cannot be estimated."
        )
    return float(np.sum((n[keep] - 1) * sd[keep] ** 2) / dof)


def variance_components(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    department: str,
    n_pupils: str | None = None,
    within_sd: str | None = None,
    covariates: Sequence[str] = (),
) -> VarianceComponents:
    r"""Variance components of a school x period panel of mean scores.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per school and period with the mean ``outcome`` (not modified).
        Use untreated rows (never-treated departments, or the pre-treatment
        periods) so that effects do not inflate the components.
    outcome, unit, time, department : str
        Columns of the mean score, the school, the period and the department.
    n_pupils, within_sd : str, optional
        Columns of the number of pupils and the within-school-period SD of
        their scores. Given both, the pupil variance is estimated and removed
        from the school x period component; otherwise ``pupil`` is 0 and
        ``school_year`` holds the whole residual variance of a school-period
        mean (then use ``pupils_per_school=1`` in the :class:`PowerDesign`).
    covariates : sequence of str, default ()
        School-level covariates given period-specific slopes in the fixed part
        (e.g. ``("social_index",)``: in the synthetic world the COVID shock
        depends on the index, which is not noise).

    Returns
    -------
    VarianceComponents

    Raises
    ------
    SpecError
        A column is missing.
    DataError
        No usable row, or too few departments.

    Warns
    -----
    DroppedObservationsWarning
        Rows with a missing value in a used column were dropped (counted).

    Notes
    -----
    The school-period mean is modelled as

    .. math::

        \bar Y_{st} = \mu_t + x_s'\beta_t + u_d + \omega_{dt} + v_s + e_{st},
        \qquad \operatorname{Var}(e_{st}) = \sigma_\eta^2 +
        \sigma_\varepsilon^2/n_{st},

    and fitted by REML with ``statsmodels.regression.mixed_linear_model.MixedLM``
    (groups: departments; random intercept :math:`u_d`; variance components
    :math:`v_s` and :math:`\omega_{dt}`), which takes the residual as
    homoskedastic: its estimate :math:`\hat\sigma_e^2` is the average residual
    variance. The pupil variance :math:`\hat\sigma_\varepsilon^2` is the pooled
    within-school-period variance (:func:`pooled_within_variance`), and
    :math:`\hat\sigma_\eta^2 = \max(0, \hat\sigma_e^2 -
    \hat\sigma_\varepsilon^2\,\overline{1/n_{st}})` (a moment correction).
    Components on the boundary (estimated as 0) are reported as 0. Recovery of
    known components is checked by simulation in ``tests/power/``.

    References
    ----------
    Searle, S. R., Casella, G., & McCulloch, C. E. (1992). *Variance
    Components*. Wiley. https://doi.org/10.1002/9780470316856

    Examples
    --------
    >>> import numpy as np
    >>> from tne_eval.power import PowerDesign, RandomEffectsPanel
    >>> truth = VarianceComponents(4.0, 1.0, 9.0, 2.0, 0.0)
    >>> panel = RandomEffectsPanel(PowerDesign({5: 1}, 59, range(1, 5), 8, 1),
    ...                            truth)(0.0, np.random.default_rng(3))
    >>> est = variance_components(panel, outcome="y", unit="school",
    ...                           time="period", department="department")
    >>> bool(abs(est.school - 9.0) < 2.0)
    True
    """
    import statsmodels.api as sm

    data = check_dataframe(data)
    extra = [c for c in (n_pupils, within_sd) if c is not None]
    cols = [outcome, unit, time, department, *covariates, *extra]
    check_columns_exist(data, list(dict.fromkeys(cols)), role="columns")
    frame = data.loc[:, list(dict.fromkeys(cols))]
    full = frame.dropna()
    if len(full) < len(frame):
        warn(
            f"variance_components dropped {len(frame) - len(full)} of {len(frame)} "
            "rows with a missing value in a used column.",
            DroppedObservationsWarning,
        )
    if full.empty:
        raise DataError("No row without missing values: nothing to estimate.")
    if full[department].nunique() < 3:
        raise DataError(
            f"variance_components needs at least 3 departments ('{department}'); "
            f"got {full[department].nunique()}."
        )
    full = full.sort_values([department, unit, time])
    period = pd.get_dummies(full[time].astype("category"), dtype=float)
    exog = [period]
    for c in covariates:
        x = full[c].astype(float)
        exog.append(period.mul(x - x.mean(), axis=0).add_prefix(f"{c}:"))
    exog_fe = pd.concat(exog, axis=1)
    school_codes = pd.factorize(full[unit])[0]
    dy_codes = pd.factorize(
        full[department].astype(str) + "|" + full[time].astype(str)
    )[0]
    school_dummies = np.zeros((len(full), school_codes.max() + 1))
    school_dummies[np.arange(len(full)), school_codes] = 1.0
    dy_dummies = np.zeros((len(full), dy_codes.max() + 1))
    dy_dummies[np.arange(len(full)), dy_codes] = 1.0
    groups = full[department].to_numpy()
    # MixedLM's exog_vc: per component, per group, the design of that group.
    exog_vc = {"school": {}, "department_year": {}}
    for g, idx in pd.Series(np.arange(len(full))).groupby(groups):
        rows = idx.to_numpy()
        s = school_dummies[rows]
        exog_vc["school"][g] = s[:, s.any(axis=0)]
        dy = dy_dummies[rows]
        exog_vc["department_year"][g] = dy[:, dy.any(axis=0)]
    model = sm.MixedLM(
        full[outcome].astype(float).to_numpy(),
        exog_fe.to_numpy(),
        groups=groups,
        exog_re=np.ones((len(full), 1)),
        exog_vc=sm.regression.mixed_linear_model.VCSpec(
            ["school", "department_year"],
            [list(exog_vc["school"]), list(exog_vc["department_year"])],
            [
                list(exog_vc["school"].values()),
                list(exog_vc["department_year"].values()),
            ],
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # boundary and convergence chatter
        fit = model.fit(reml=True, method=["lbfgs", "powell"])
    scale = float(fit.scale)
    dep = float(np.asarray(fit.cov_re)[0, 0])
    vcomp = dict(zip(["school", "department_year"], np.asarray(fit.vcomp, float)))
    pupil = 0.0
    school_year = scale
    if n_pupils is not None and within_sd is not None:
        n = full[n_pupils].to_numpy(dtype=float)
        if np.any(n <= 0):
            raise DataError(f"column '{n_pupils}' must hold positive pupil counts.")
        pupil = pooled_within_variance(n, full[within_sd].to_numpy(dtype=float))
        school_year = scale - pupil * float(np.mean(1.0 / n))
    return VarianceComponents(
        department=max(dep, 0.0),
        department_year=max(vcomp["department_year"], 0.0),
        school=max(vcomp["school"], 0.0),
        school_year=max(school_year, 0.0),
        pupil=pupil,
    )
