r"""Pre-trend tests that hold their size with few treated clusters.

R ``did``'s pre-test (:meth:`GroupTimeResult.pre_trend_test`) is one Wald test of
every pre-treatment ATT(g,t) against :math:`\chi^2`. In the TNE design it rejects
a true null 91% of the time (``studies/results/coverage_att_gt.md``): the 2020
cohort has 2 treated departments for 3 or 4 pre-treatment cells, so the cluster
covariance of its cells is estimated from two treated clusters and is nearly
singular. :func:`pre_trend_tests` splits the question (per cohort, and averages
with one degree of freedom) and adds small-sample versions, and says which tests
the design cannot support.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from tne_eval.did.results import GroupTimeResult
from tne_eval.errors import IdentificationError, InferenceError, TneEvalTypeError
from tne_eval.inference.influence import influence_vcov
from tne_eval.inference.scores import InfluenceScores
from tne_eval.inference.small_sample import influence_cr_vcov, influence_htz_test
from tne_eval.inference.spec import IID

__all__ = ["PreTrendTest", "PreTrendTests", "pre_trend_tests"]

_METHODS = {
    "wald": "Wald, analytic cluster covariance (no small-sample factor), chi2 "
    "(R did's pre-test)",
    "cr3": "CR3 (cluster jackknife, group-mean leverages), F(q, G-1) / t(G-1)",
    "htz": "HTZ: CR2 with Satterthwaite-Hotelling F (Pustejovsky-Tipton 2018)",
}


@dataclass(frozen=True)
class PreTrendTest:
    """One pre-trend test.

    Attributes
    ----------
    scope : str
        ``"cohort 2020"`` etc., or ``"all"`` (every cohort's pre cells).
    kind : {"joint", "average"}
        All pre cells of the scope are zero (``q`` = number of cells), or their
        mean is zero (one restriction; for ``"all"``, the cohort-size weighted
        mean of the cohort means).
    method : {"wald", "cr3", "htz"}
        See :func:`pre_trend_tests`.
    statistic : float
        :math:`W` (``wald``), :math:`W/q` (``cr3``; for ``q = 1`` the square of
        the t statistic) or the HTZ F statistic.
    df_num : int
        Number of restrictions ``q``.
    df_denom : float
        Denominator degrees of freedom (``inf`` for the chi2 reference).
    p_value : float
        NaN when the test cannot be computed.
    n_treated_clusters : int
        Fewest treated clusters among the cohorts in the scope.
    cells : tuple of str
        Terms of the pre cells used.
    valid : bool
        Whether the test can be expected to hold its size in this design.
    reason : str or None
        Why not (or why it could not be computed).
    """

    scope: str
    kind: str
    method: str
    statistic: float
    df_num: int
    df_denom: float
    p_value: float
    n_treated_clusters: int
    cells: tuple[str, ...]
    valid: bool
    reason: str | None = None


@dataclass(frozen=True)
class PreTrendTests:
    """All pre-trend tests of a :class:`GroupTimeResult` (:func:`pre_trend_tests`).

    Attributes
    ----------
    tests : tuple of PreTrendTest
    cluster_column : str
        Column of the clusters (the unit column when unclustered).
    n_clusters : int
    notes : tuple of str
    """

    tests: tuple[PreTrendTest, ...]
    cluster_column: str
    n_clusters: int
    notes: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """One row per test.

        Returns
        -------
        pandas.DataFrame
            Columns ``scope, kind, method, statistic, df_num, df_denom, p_value,
            n_restrictions, n_treated_clusters, valid, reason``.
        """
        rows = [
            {
                "scope": t.scope,
                "kind": t.kind,
                "method": t.method,
                "statistic": t.statistic,
                "df_num": t.df_num,
                "df_denom": t.df_denom,
                "p_value": t.p_value,
                "n_restrictions": t.df_num,
                "n_treated_clusters": t.n_treated_clusters,
                "valid": t.valid,
                "reason": t.reason,
            }
            for t in self.tests
        ]
        return pd.DataFrame(rows)

    def get(self, scope: str, kind: str, method: str) -> PreTrendTest:
        """Return the test of ``scope`` (``"cohort 2020"``, ``"all"``), kind, method."""
        for t in self.tests:
            if (t.scope, t.kind, t.method) == (scope, kind, method):
                return t
        have = sorted({(t.scope, t.kind, t.method) for t in self.tests})
        raise KeyError(f"no test {(scope, kind, method)!r}; available: {have}")

    def __str__(self) -> str:
        cols = ["scope", "kind", "method", "statistic", "df_num", "df_denom"]
        frame = self.to_frame()[[*cols, "p_value", "valid"]]
        lines = [
            f"Pre-trend tests ({self.n_clusters} clusters of {self.cluster_column!r})",
            frame.to_string(index=False),
        ]
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)


# ----------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Cells:
    """The pre cells of a scope as stacked treated and control group means."""

    positions: np.ndarray  # (k,) columns of the stored influence functions
    terms: tuple[str, ...]
    estimates: np.ndarray  # (k,)
    cohorts: np.ndarray  # (k,)


def _pre_cells(result: GroupTimeResult) -> _Cells:
    table = result.table
    post = table["post"].to_numpy(dtype=bool)
    est = table["estimate"].to_numpy(dtype=float)
    se = result.std_errors.to_numpy(dtype=float)
    pre = ~post & np.isfinite(est) & np.isfinite(se)
    pos = np.flatnonzero(pre)
    return _Cells(
        pos,
        tuple(table.index[pos]),
        est[pos],
        table["cohort"].to_numpy(dtype=float)[pos],
    )


def _split_means(
    store: InfluenceScores, cells: _Cells, sub: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Write each cell as treated minus control mean: psi, hessian, contrast.

    A cell :math:`\hat\mu_{T} - \hat\mu_{C}` of a 2x2 comparison has influence
    function :math:`\psi = \psi_T - \psi_C` with :math:`\psi_T` on the rows of
    the cohort and :math:`-\psi_C` on the rows of the comparison group (the other
    rows the cell uses: non-zero influence). The parameters are the
    :math:`2k` means, with the diagonal hessian contributions of
    :func:`~tne_eval.inference.small_sample.group_mean_hessian` (each cluster's
    weight in each group).
    """
    psi_cells = store.dense()[:, cells.positions[sub]]
    n, k = psi_cells.shape
    codes = (
        np.arange(n) if store.cluster_code is None else np.asarray(store.cluster_code)
    )
    n_clusters = int(codes.max()) + 1
    psi = np.zeros((n, 2 * k))
    hess = np.zeros((n_clusters, 2 * k, 2 * k))
    contrast = np.zeros((k, 2 * k))
    for j in range(k):
        treated = store.row_cohort == cells.cohorts[sub][j]
        control = ~treated & (psi_cells[:, j] != 0)
        psi[treated, j] = psi_cells[treated, j]
        psi[control, k + j] = -psi_cells[control, j]
        for col, rows in ((j, treated), (k + j, control)):
            hess[:, col, col] = np.bincount(
                codes[rows], weights=store.row_weights[rows], minlength=n_clusters
            )
        contrast[j, j], contrast[j, k + j] = 1.0, -1.0
    return psi, codes, hess, contrast


def _validity(
    kind: str,
    in_scope: np.ndarray,
    treated_by_cohort: dict[float, int],
    cell_cohorts: np.ndarray,
) -> str | None:
    """Why the design cannot support the test (None when it can)."""
    problems = []
    for g in in_scope:
        n_g = treated_by_cohort.get(float(g), 0)
        q_g = int(np.sum(cell_cohorts == g)) if kind == "joint" else 1
        if n_g <= q_g:
            problems.append(
                f"cohort {g:g} has {n_g} treated cluster(s) for {q_g} restriction(s)"
            )
    if not problems:
        return None
    return (
        "; ".join(problems)
        + ": the treated part of the covariance has rank at most (treated clusters"
        " - 1), below the restrictions, so the test cannot hold its size"
    )


def _make(
    common: dict[str, object],
    method: str,
    stat: float | None,
    df_denom: float,
    flag: str | None,
) -> PreTrendTest:
    if stat is None:
        reason = flag or "the covariance of the tested contrasts is singular"
        return PreTrendTest(
            method=method,
            statistic=np.nan,
            df_denom=df_denom,
            p_value=np.nan,
            valid=False,
            reason=reason,
            **common,  # type: ignore[arg-type]
        )
    q = int(common["df_num"])  # type: ignore[call-overload]
    return PreTrendTest(
        method=method,
        statistic=float(stat),
        df_denom=df_denom,
        p_value=_chi2_or_f(stat, q, df_denom),
        valid=flag is None,
        reason=flag,
        **common,  # type: ignore[arg-type]
    )


def _chi2_or_f(stat: float, q: int, df_denom: float) -> float:
    if not np.isfinite(stat):
        return np.nan
    if np.isinf(df_denom):
        return float(stats.chi2.sf(stat, q))
    return float(stats.f.sf(stat, q, df_denom))


def _quadratic(theta: np.ndarray, vcov: np.ndarray) -> float | None:
    q = theta.size
    if not np.all(np.isfinite(vcov)) or np.linalg.matrix_rank(vcov) < q:
        return None
    return float(theta @ np.linalg.solve(vcov, theta))


# ----------------------------------------------------------------------------
# Public function
# ----------------------------------------------------------------------------


def pre_trend_tests(result: GroupTimeResult) -> PreTrendTests:
    r"""Per-cohort, one-degree-of-freedom and small-sample pre-trend tests.

    For every cohort ``g`` with pre-treatment cells, and for all cohorts
    together (scope ``"all"``), two null hypotheses are tested:

    ``joint``
        every pre cell of the scope is zero (``q`` restrictions);
    ``average``
        the mean of the scope's pre cells is zero (one restriction). For
        ``"all"``: :math:`\sum_g w_g\bar\theta_g`, the cohort means weighted by
        the cohorts' shares of the treated weight (treated as fixed).

    each with up to three methods:

    ``wald``
        :math:`W = \hat\theta'C'(C\hat VC')^{-1}C\hat\theta` with the analytic
        cluster covariance of the influence functions, without small-sample
        factor, against :math:`\chi^2_q` (R ``did``'s pre-test, restricted to the
        scope).
    ``cr3``
        The same quadratic form with the CR3-type (cluster-jackknife) covariance
        :math:`\sum_g(I - L_g)^{-1}\bar s_g\bar s_g'(I - L_g)^{-1\prime}` of
        :func:`~tne_eval.inference.small_sample.influence_cr_vcov`, where each
        cell is written as a treated minus a comparison-group mean and the
        leverage :math:`L_g` of cluster ``g`` is its share of each group's
        weight; :math:`W/q` is compared with :math:`F(q, G-1)` (for ``q = 1``:
        :math:`t^2` against :math:`t_{G-1}`).
    ``htz``
        The HTZ test (CR2 covariance and a Hotelling :math:`T^2` approximation
        with Satterthwaite-type degrees of freedom, about ``G_T - 1`` for a
        cohort of ``G_T`` treated clusters) of
        :func:`~tne_eval.inference.small_sample.influence_htz_test`, with the
        same leverages; not defined (NaN, ``valid=False``) when the degrees of
        freedom fall below the restrictions.

    Parameters
    ----------
    result : GroupTimeResult
        Output of :func:`tne_eval.att_gt`.

    Returns
    -------
    PreTrendTests
        ``tests`` and ``to_frame()`` (columns ``scope, kind, method, statistic,
        df_num, df_denom, p_value, n_restrictions, n_treated_clusters, valid,
        reason``).

    Raises
    ------
    TneEvalTypeError
        ``result`` is not a :class:`GroupTimeResult`.

    Notes
    -----
    *Validity flag.* A joint test of ``q`` pre cells of a cohort with fewer than
    ``q + 1`` treated clusters cannot hold its size: the treated part of the
    covariance of its cells is estimated from that many clusters, so it has rank
    below ``q`` or is nearly singular, and the quadratic form explodes (the 2020
    cohort: 2 departments, 3 or 4 cells). Such tests are computed but flagged
    ``valid=False`` with the reason; ``average`` tests need only two treated
    clusters. Every test is also flagged when the result is unclustered
    (``IID``) although the data are clustered.

    *Exact or approximate leverages.* For ``method="reg"`` without covariates
    on a balanced panel, every cell is exactly a difference of two weighted
    means of outcome changes, so the group-mean leverages are the Jacobian of the
    estimating equations, ``cr3`` is the exact cluster jackknife of the cells
    (tested against dropping each cluster and refitting) and ``htz`` is the HTZ
    test of Pustejovsky and Tipton (2018). Otherwise (covariates, ``"ipw"``,
    ``"dr"``, ``unbalanced="keep"``) ``cr3`` uses the same group-mean
    leverages, which ignore the nuisance models' own leverage: an approximation,
    said so in ``notes``; ``htz`` is then HTZ with these approximate leverages.

    Validated: ``wald`` of a cohort equals
    :func:`~tne_eval.inference.wald.wald_test` on the covariance of that cohort's
    cells; ``cr3`` equals the leave-one-cluster-out jackknife for ``"reg"``; the
    size of every test in the TNE design is measured by a seeded Monte Carlo
    (slow test ``tests/did/test_pretrend_tests.py``).

    References
    ----------
    Callaway, B. and Sant'Anna, P. H. C. (2021), *J. Econometrics* 225(2),
    200-230. https://doi.org/10.1016/j.jeconom.2020.12.001

    Pustejovsky, J. E. and Tipton, E. (2018), *JBES* 36(4), 672-683.
    https://doi.org/10.1080/07350015.2016.1247004

    MacKinnon, J. G., Nielsen, M. Ø. and Webb, M. D. (2023), *J. Applied
    Econometrics* 38(5), 671-694. https://doi.org/10.1002/jae.2969

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import tne_eval as tne
    >>> rng = np.random.default_rng(2)
    >>> n, years = 400, np.arange(2016, 2022)
    >>> cohort = rng.choice([2020, 2021, 0], size=n)
    >>> df = pd.DataFrame({"unit": np.repeat(np.arange(n), years.size),
    ...                    "year": np.tile(years, n), "g": np.repeat(cohort, years.size),
    ...                    "cl": np.repeat(np.arange(n) % 40, years.size)})
    >>> df["y"] = rng.normal(size=len(df)) + 1.0 * ((df.g > 0) & (df.year >= df.g))
    >>> gt = tne.att_gt(df, tne.PanelSpec(unit="unit", time="year", outcome="y",
    ...                                   cohort="g", cluster="cl"), method="reg")
    >>> tests = tne.did.pre_trend_tests(gt)
    >>> t = tests.get("cohort 2020", "joint", "htz")
    >>> t.df_num, t.valid
    (3, True)
    """
    if not isinstance(result, GroupTimeResult):
        raise TneEvalTypeError(
            "pre_trend_tests() needs a GroupTimeResult from att_gt (got "
            f"{type(result).__name__}); aggregations and TWFE results have no "
            "group-time pre-treatment cells."
        )
    store: InfluenceScores = result.scores
    clustered = not isinstance(result.inference, IID)
    use = store if clustered else store.unclustered()
    n_clusters = use.n_clusters
    notes: list[str] = []
    cells = _pre_cells(result)
    if cells.positions.size == 0:
        return PreTrendTests(
            (), use.cluster_column, n_clusters, ("there are no pre-treatment cells",)
        )
    treated_by_cohort = use.treated_clusters_by_cohort()
    opts = result.options
    exact_leverage = (
        opts.get("method") == "reg"
        and not result.spec.covariates
        and opts.get("data") == "panel"
    )
    if not exact_leverage:
        notes.append(
            "cr3 and htz use group-mean leverages (each cluster's share of the "
            "cohort and of the comparison group); with covariates, ipw/dr or "
            "unbalanced='keep' they ignore the nuisance models and are an "
            "approximation (exact for method='reg' without covariates on a "
            "balanced panel)."
        )
    if not clustered and store.clustered:
        notes.append(
            "The result's inference is IID: every test treats units as independent "
            f"although the data have clusters of {store.cluster_column!r}."
        )

    cohorts = np.unique(cells.cohorts)
    treated_w = {
        g: float(store.row_weights[store.row_cohort == g].sum()) for g in cohorts
    }
    scopes: list[tuple[str, np.ndarray, np.ndarray]] = []  # name, subset, avg weights
    for g in cohorts:
        sub = np.flatnonzero(cells.cohorts == g)
        scopes.append((f"cohort {g:g}", sub, np.full(sub.size, 1.0 / sub.size)))
    all_sub = np.arange(cells.positions.size)
    tot = sum(treated_w.values())
    avg_all = np.array(
        [treated_w[c] / tot / np.sum(cells.cohorts == c) for c in cells.cohorts]
    )
    scopes.append(("all", all_sub, avg_all))

    tests: list[PreTrendTest] = []
    for name, sub, avg in scopes:
        in_scope = np.unique(cells.cohorts[sub])
        n_tr = min(treated_by_cohort.get(float(g), 0) for g in in_scope)
        terms = tuple(cells.terms[i] for i in sub)
        theta = cells.estimates[sub]
        psi = use.dense()[:, cells.positions[sub]]
        vcov = influence_vcov(
            psi, use.cluster_code if use.clustered else None, n_clusters
        )
        mean_psi, codes, hess, diff = _split_means(use, cells, sub)
        phi_hat = np.concatenate([theta, np.zeros_like(theta)])  # diff @ phi = theta
        try:
            v3: np.ndarray | None = influence_cr_vcov(
                mean_psi, codes, hessian=hess, kind="CR3"
            )
            v3_error = None
        except (IdentificationError, InferenceError) as err:
            v3, v3_error = None, str(err)
        for kind in ("joint", "average"):
            c = np.eye(sub.size) if kind == "joint" else avg[None, :]
            q = c.shape[0]
            flag = _validity(kind, in_scope, treated_by_cohort, cells.cohorts[sub])
            if not clustered and store.clustered:
                flag = flag or "the result's inference ignores the clusters (IID)"
            common = {"scope": name, "kind": kind, "df_num": q}
            common |= {"n_treated_clusters": n_tr, "cells": terms}
            stat = _quadratic(c @ theta, c @ vcov @ c.T)
            tests.append(_make(common, "wald", stat, np.inf, flag))
            cm = c @ diff
            if v3 is None:
                tests.append(_make(common, "cr3", None, np.nan, v3_error))
            else:
                w3 = _quadratic(cm @ phi_hat, cm @ v3 @ cm.T)
                w3 = None if w3 is None else w3 / q
                tests.append(_make(common, "cr3", w3, float(n_clusters - 1), flag))
            try:
                h = influence_htz_test(
                    mean_psi, codes, phi_hat, hessian=hess, contrast=cm
                )
            except (IdentificationError, InferenceError) as err:
                tests.append(_make(common, "htz", None, np.nan, str(err)))
                continue
            ok = np.isfinite(h.p_value)
            tests.append(
                PreTrendTest(
                    method="htz",
                    statistic=float(h.statistic) if ok else np.nan,
                    df_denom=float(h.df_denom),
                    p_value=float(h.p_value),
                    valid=flag is None and bool(ok),
                    reason=flag if ok else (flag or "the HTZ test is not defined"),
                    **common,
                )
            )
    flagged = sorted({t.scope for t in tests if t.kind == "joint" and not t.valid})
    if flagged:
        notes.append(
            f"Joint tests of {', '.join(flagged)} are flagged valid=False: a cohort "
            "has no more treated clusters than pre cells, so no covariance estimate "
            "of its cells can be trusted; use the average (one-restriction) tests "
            "or randomization inference."
        )
    return PreTrendTests(tuple(tests), use.cluster_column, n_clusters, tuple(notes))
