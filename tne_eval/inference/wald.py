"""Wald test result object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from tne_eval.inference.influence import influence_vcov

if TYPE_CHECKING:
    from tne_eval.inference.scores import InfluenceScores

__all__ = ["WaldTest", "wald_test", "wald_test_scores"]


@dataclass(frozen=True)
class WaldTest:
    r"""A joint Wald test. ``p_value`` is NaN (with a ``reason``) when it cannot be formed.

    Attributes
    ----------
    statistic : float
        :math:`W = \hat\theta' V^{-1} \hat\theta`.
    df : int
        Number of restrictions.
    p_value : float
        :math:`P(\chi^2_{df} > W)`.
    null : str
        The null hypothesis in words.
    terms : tuple of str
        Terms tested.
    reason : str or None
        Why the test could not be computed, if it could not.
    """

    statistic: float
    df: int
    p_value: float
    null: str
    terms: tuple[str, ...] = ()
    reason: str | None = None

    @property
    def valid(self) -> bool:
        """Whether the test could be computed."""
        return self.reason is None

    def __str__(self) -> str:
        if not self.valid:
            return f"Wald test not computed: {self.reason}"
        return (
            f"Wald test of {self.null}: W = {self.statistic:.4f}, "
            f"df = {self.df}, p-value = {self.p_value:.4f}"
        )


def wald_test(
    theta: np.ndarray, vcov: np.ndarray, *, null: str, terms: tuple[str, ...] = ()
) -> WaldTest:
    """Joint Wald test of ``theta = 0`` given its covariance matrix."""
    theta = np.asarray(theta, dtype=float)
    k = theta.size
    if k == 0:
        return WaldTest(np.nan, 0, np.nan, null, terms, "there is nothing to test")
    if not np.all(np.isfinite(theta)) or not np.all(np.isfinite(vcov)):
        return WaldTest(np.nan, k, np.nan, null, terms, "some estimates are not finite")
    if np.linalg.matrix_rank(vcov) < k:
        return WaldTest(
            np.nan, k, np.nan, null, terms, "the covariance matrix is singular"
        )
    stat = float(theta @ np.linalg.solve(vcov, theta))
    return WaldTest(stat, k, float(stats.chi2.sf(stat, k)), null, terms)


def wald_test_scores(
    estimates: np.ndarray,
    store: InfluenceScores,
    *,
    clustered: bool,
    null: str,
    terms: tuple[str, ...] = (),
) -> WaldTest:
    r"""Joint Wald test that estimates with stored influence functions are zero.

    The covariance is the analytic influence-function covariance, clustered as the
    store (when ``clustered``) or with every row its own cluster, without
    small-sample factor and compared with :math:`\chi^2` (R ``did``'s pre-test).
    """
    use = store if clustered else store.unclustered()
    if use.cluster_code is not None and use.n_clusters < 2:
        return WaldTest(
            np.nan,
            int(np.size(estimates)),
            np.nan,
            null,
            terms,
            f"a single cluster of {use.cluster_column!r}: no covariance can be formed",
        )
    vcov = influence_vcov(
        use.values, use.cluster_code if use.clustered else None, use.n_clusters
    )
    return wald_test(estimates, vcov, null=null, terms=terms)
