"""Joint pre-trend test on the pre-treatment ATT(g,t)."""

from __future__ import annotations

from tne_eval.did.results import GroupTimeResult, require_group_time
from tne_eval.inference.wald import WaldTest

__all__ = ["pre_trend_test"]


def pre_trend_test(result: GroupTimeResult) -> WaldTest:
    r"""Joint Wald test that every pre-treatment ATT(g,t) is zero.

    Parameters
    ----------
    result : GroupTimeResult
        Output of :func:`tne_eval.att_gt`.

    Returns
    -------
    WaldTest
        :math:`W = \hat\theta_{pre}' \hat V_{pre}^{-1} \hat\theta_{pre}` with the
        analytic influence-function covariance (clustered like the result, without
        small-sample factor), compared with :math:`\chi^2` with as many degrees of
        freedom as pre-treatment cells, as R ``did`` reports it. Reference cells of
        a universal base period and cells not estimated are excluded. When the
        covariance is singular the test is returned with ``p_value = nan`` and a
        ``reason``.

    Raises
    ------
    TneEvalTypeError
        ``result`` is not a :class:`GroupTimeResult`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import tne_eval as tne
    >>> rng = np.random.default_rng(2)
    >>> n, years = 400, np.arange(2016, 2022)
    >>> cohort = rng.choice([2020, 0], size=n)
    >>> df = pd.DataFrame({"unit": np.repeat(np.arange(n), years.size),
    ...                    "year": np.tile(years, n), "g": np.repeat(cohort, years.size)})
    >>> df["y"] = rng.normal(size=len(df)) + 1.0 * ((df.g > 0) & (df.year >= df.g))
    >>> gt = tne.att_gt(df, tne.PanelSpec(unit="unit", time="year", outcome="y",
    ...                                   cohort="g"), method="reg")
    >>> test = tne.did.pre_trend_test(gt)
    >>> test.df, test.terms[0]
    (3, 'ATT(g=2020,t=2017)')
    >>> bool(test.p_value > 0.05)  # the null holds in this simulation
    True
    """
    require_group_time(
        result,
        "pre_trend_test",
        " Aggregations and TWFE results have no group-time pre-treatment cells; for a "
        "TWFE event study, test its leads from result.event_study().",
    )
    return result.pre_trend_test()
