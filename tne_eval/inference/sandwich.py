r"""Cluster-robust sandwich variances of regression coefficients (CR0, CR1).

:math:`V = c\,B^{-1}\big(\sum_g s_g s_g'\big)B^{-1}` with
:math:`B=\tilde X'W\tilde X`, :math:`s_g` the sum of the scores
:math:`w_{it}\hat e_{it}\tilde x_{it}` of cluster :math:`g` and, for CR1,
:math:`c = \frac{G}{G-1}\frac{N-1}{N-K}` with a :math:`t_{G-1}` reference
distribution (fixest's default ``ssc()`` and Stata's ``xtreg, fe vce(cluster)``);
CR0 has :math:`c = 1` and the normal distribution.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tne_eval.errors import InferenceError
from tne_eval.inference.influence import cluster_sums, se_floor
from tne_eval.inference.output import Inferred
from tne_eval.inference.spec import IID, Cluster
from tne_eval.notes import Note, NoteKind

if TYPE_CHECKING:
    from tne_eval.inference.scores import RegressionScores

__all__ = ["cluster_sandwich", "sandwich_from_regression"]


def cluster_sandwich(
    unit_scores: np.ndarray,
    bread: np.ndarray,
    cluster_code: np.ndarray,
    n_clusters: int,
) -> np.ndarray:
    """CR0 covariance ``B^{-1} (sum_g s_g s_g') B^{-1}`` from unit-level scores."""
    sums = cluster_sums(unit_scores, cluster_code, n_clusters)
    vcov = bread @ (sums.T @ sums) @ bread
    return (vcov + vcov.T) / 2


def sandwich_from_regression(
    inference: IID | Cluster, store: RegressionScores
) -> Inferred:
    """CR1 (or CR0) standard errors of a fixed-effects regression.

    ``IID`` (independent *units*) clusters by unit with the CR1 factor: the
    periods of a unit are never treated as independent. ``Cluster`` uses the
    store's cluster column; ``Cluster(small_sample=False)`` gives CR0.
    """
    if isinstance(inference, IID):
        code = np.arange(store.n_units)
        g, k, small = store.n_units, store.k_unit, True
        label = f"unit ({store.unit_column!r}; inference='iid': independent units)"
        clusters = f"unit ({store.unit_column!r})"
    else:
        code, g, k = store.unit_cluster_code, store.n_clusters, store.k_cluster
        small = inference.small_sample
        label = clusters = repr(store.cluster_column)
    if g < 2:
        raise InferenceError(
            f"Cluster-robust inference needs at least 2 clusters ({label} has {g}). "
            "Cluster at a finer level or use inference='iid'."
        )
    vcov = cluster_sandwich(store.unit_scores, store.bread, code, g)
    n = store.n_obs
    if small:
        vcov = vcov * (g / (g - 1) * (n - 1) / (n - k))
        dof: float | None = float(g - 1)
        description = f"cluster-robust CR1 by {label} ({g} clusters), t({g - 1})"
        text = (
            f"Cluster-robust standard errors by {label} ({g} clusters): variance "
            f"multiplied by G/(G-1)*(N-1)/(N-K) = {g}/{g - 1}*{n - 1}/{n - k} (K = {k}: "
            "regressors and fixed effects not nested in the clusters, as fixest's "
            f"default and Stata's xtreg, fe), t({g - 1}) critical values."
        )
    else:
        dof = None
        description = f"cluster-robust CR0 by {label} ({g} clusters), normal"
        text = (
            f"Cluster-robust standard errors by {label} ({g} clusters) without "
            "small-sample correction (CR0), normal critical values."
        )
    se = np.sqrt(np.clip(np.diag(vcov), 0.0, None))
    se = np.where(se > se_floor(), se, np.nan)
    return Inferred(
        std_errors=se,
        vcov=vcov,
        dof=dof,
        n_clusters=g,
        description=description,
        clusters=clusters,
        notes=(Note(text, NoteKind.INFERENCE),),
    )
