"""Joint pre-trend test on the pre-treatment ATT(g,t)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tne_eval.inference.influence import influence_vcov
from tne_eval.inference.spec import IID
from tne_eval.inference.wald import WaldTest, wald_test

if TYPE_CHECKING:
    from tne_eval.results.did import GroupTimeResult

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
    >>> test = gt.pre_trend_test()
    >>> test.df, test.valid, 0.0 <= test.p_value <= 1.0
    (3, True, True)
    """
    table = result.table
    pre = (~table["post"].to_numpy()) & np.isfinite(table["estimate"].to_numpy())
    pre &= np.isfinite(table["std_error"].to_numpy())
    terms = tuple(table.index[pre])
    null = "no pre-treatment effects (parallel pre-trends)"
    if not pre.any():
        return WaldTest(np.nan, 0, np.nan, null, (), "there are no pre-treatment cells")
    infl = result.influence_values[:, pre]
    code = None if isinstance(result.inference, IID) else result.if_cluster_code
    n_clusters = int(code.max()) + 1 if code is not None else None
    vcov = influence_vcov(infl, code, n_clusters)
    return wald_test(table["estimate"].to_numpy()[pre], vcov, null=null, terms=terms)
