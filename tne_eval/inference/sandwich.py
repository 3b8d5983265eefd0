r"""Cluster-robust sandwich variances of regression coefficients (CR0, CR1).

:math:`V = c\,B^{-1}\big(\sum_g s_g s_g'\big)B^{-1}` with
:math:`B=\tilde X'W\tilde X`, :math:`s_g` the sum of the scores
:math:`w_{it}\hat e_{it}\tilde x_{it}` of cluster :math:`g` and, for CR1,
:math:`c = \frac{G}{G-1}\frac{N-1}{N-K}` with a :math:`t_{G-1}` reference
distribution (fixest's default ``ssc()`` and Stata's ``xtreg, fe vce(cluster)``);
CR0 has :math:`c = 1` and the normal distribution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tne_eval.errors import InferenceError
from tne_eval.inference import small_sample, wild
from tne_eval.inference.influence import cluster_sums
from tne_eval.inference.output import Inferred
from tne_eval.inference.spec import CR2, CR3, IID, Cluster, WildBootstrap
from tne_eval.notes import Note, NoteKind

if TYPE_CHECKING:
    from tne_eval.inference.scores import RegressionScores

__all__ = [
    "BootstrapTestInferred",
    "cluster_sandwich",
    "sandwich_from_regression",
    "small_sample_from_regression",
    "wild_from_regression",
]


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
    return Inferred.analytic(
        vcov,
        dof=dof,
        n_clusters=g,
        description=description,
        clusters=clusters,
        note=Note(text, NoteKind.INFERENCE),
    )


# -----------------------------------------------------------------------------
# Small-sample corrections and the wild cluster bootstrap (issue: few clusters)
# -----------------------------------------------------------------------------
def _explicit_design(store: RegressionScores, by_unit: bool):
    """Design with the unit effects absorbed and the period effects explicit.

    CR2 must see fixed effects that are not nested in the clusters (the period
    effects) in its hat matrix. ``x_tilde`` is orthogonal (with the weights) to
    every unit and period dummy, so appending the period dummies demeaned within
    units spans the full model with only the nested unit effects absorbed, and
    leaves the coefficients and residuals unchanged.
    """
    n = store.resid.size
    w = store.weights
    t = store.row_time
    n_periods = int(t.max()) + 1
    dummies = np.zeros((n, max(n_periods - 1, 0)))
    later = t > 0
    dummies[np.flatnonzero(later), t[later] - 1] = 1.0
    w_unit = np.bincount(store.row_unit, weights=w, minlength=store.n_units)
    for j in range(dummies.shape[1]):
        mean = np.bincount(
            store.row_unit, weights=w * dummies[:, j], minlength=store.n_units
        )
        dummies[:, j] -= (mean / w_unit)[store.row_unit]
    x = np.column_stack([store.x_tilde, dummies])
    cluster = store.row_unit if by_unit else store.unit_cluster_code[store.row_unit]
    return x, cluster


def _labels(inference: object, store: RegressionScores) -> tuple[str, str, int]:
    if isinstance(inference, IID):
        return (
            f"unit ({store.unit_column!r})",
            f"unit ({store.unit_column!r})",
            store.n_units,
        )
    return repr(store.cluster_column), repr(store.cluster_column), store.n_clusters


def small_sample_from_regression(
    inference: CR2 | CR3, store: RegressionScores
) -> Inferred:
    """CR2 (with Satterthwaite or Imbens-Kolesár df) or CR3 standard errors.

    Computed by :mod:`tne_eval.inference.small_sample` on the design with the unit
    effects absorbed and the period effects explicit (:func:`_explicit_design`);
    the coefficients' block of the covariance is returned.
    """
    x, cluster = _explicit_design(store, by_unit=False)
    g = store.n_clusters
    if g < 2:
        raise InferenceError(
            f"Cluster-robust inference needs at least 2 clusters ({store.cluster_column!r} "
            f"has {g}). Cluster at a finer level."
        )
    p = store.k
    kwargs = {"cluster": cluster, "weights": store.weights, "absorbed": store.row_unit}
    label = repr(store.cluster_column)
    if isinstance(inference, CR3):
        vcov = small_sample.cr3_vcov(x, store.resid, **kwargs)[:p, :p]
        dof: float | np.ndarray = float(g - 1)
        description = f"CR3 cluster jackknife by {label} ({g} clusters), t({g - 1})"
        text = (
            f"CR3 (leave-one-cluster-out jackknife) standard errors by {label} ({g} "
            f"clusters), as clubSandwich's CR3 and pyfixest's CRV3; t({g - 1}) "
            "critical values."
        )
    else:
        vcov = small_sample.cr2_vcov(x, store.resid, **kwargs)[:p, :p]
        contrast = np.eye(x.shape[1])[:p]
        if inference.df == "satterthwaite":
            dof = small_sample.satterthwaite_df(
                x, store.resid, contrast=contrast, **kwargs
            )
        else:
            dof = small_sample.imbens_kolesar_df(
                x, store.resid, contrast=contrast, **kwargs
            )
        dof = np.asarray(dof, dtype=float)
        description = (
            f"CR2 (Bell-McCaffrey) by {label} ({g} clusters), {inference.df} df by term"
        )
        text = (
            f"CR2 (Bell-McCaffrey) standard errors by {label} ({g} clusters), the "
            f"working model of clubSandwich; t critical values with {inference.df} "
            f"degrees of freedom by term (from {np.min(dof):.3g} to {np.max(dof):.3g})."
        )
    return Inferred.analytic(
        vcov,
        dof=dof,
        n_clusters=g,
        description=description,
        clusters=label,
        note=Note(text, NoteKind.INFERENCE),
    )


@dataclass(frozen=True, eq=False)
class BootstrapTestInferred(Inferred):
    """Inference whose p-values and intervals come from bootstrap tests.

    Standard errors and ``vcov`` are the analytic CR1 ones the bootstrap
    studentizes with; ``pvalues`` are the bootstrap p-values and ``conf_int``
    inverts the bootstrap test at any ``alpha`` (computed once per level).
    """

    boot_pvalues: np.ndarray | None = None
    invert: Callable[[float], tuple[np.ndarray, np.ndarray]] | None = None
    _intervals: dict = field(default_factory=dict)

    def pvalues(self, estimates: np.ndarray) -> np.ndarray:
        """Bootstrap p-values of ``estimate = 0`` (symmetric test)."""
        return self.boot_pvalues

    def conf_int(
        self, estimates: np.ndarray, alpha: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Intervals by inversion of the bootstrap test at level ``1 - alpha``."""
        key = round(float(alpha), 12)
        if key not in self._intervals:
            self._intervals[key] = self.invert(alpha)
        return self._intervals[key]

    def subset(self, positions: np.ndarray) -> Inferred:  # pragma: no cover - unused
        """Refuse: a bootstrap test belongs to its own coefficient set."""
        raise InferenceError("Bootstrap tests cannot be subset; refit instead.")


def wild_from_regression(inference: WildBootstrap, store: RegressionScores) -> Inferred:
    """Wild cluster bootstrap p-values and intervals of every coefficient.

    One restricted (or unrestricted) bootstrap test of ``coefficient = 0`` per
    coefficient with the same multipliers (same seed), on the design with the unit
    effects absorbed and the period effects explicit; intervals invert the test.
    """
    x, cluster = _explicit_design(store, by_unit=False)
    y = store.x_tilde @ store.beta + store.resid
    p = store.k
    base = sandwich_from_regression(Cluster(), store)

    def run(j: int, alpha: float, conf_int: bool):
        return wild.wild_cluster_bootstrap(
            x,
            y,
            cluster=cluster,
            contrast=np.eye(x.shape[1])[j],
            weights=store.weights,
            impose_null=inference.impose_null,
            weight_type=inference.weights,
            reps=inference.reps,
            seed=inference.seed,
            alpha=alpha,
            conf_int=conf_int,
        )

    tests = [run(j, 0.05, conf_int=False) for j in range(p)]

    def invert(alpha: float) -> tuple[np.ndarray, np.ndarray]:
        cis = [run(j, alpha, conf_int=True).conf_int for j in range(p)]
        return np.array([c[0] for c in cis]), np.array([c[1] for c in cis])

    label = repr(store.cluster_column)
    kind = "restricted (WCR)" if inference.impose_null else "unrestricted (WCU)"
    distinct = min(t.n_distinct for t in tests)
    text = (
        f"Wild cluster bootstrap by {label} ({store.n_clusters} clusters), {kind}, "
        f"{inference.weights} weights, {tests[0].reps} draws"
        + (" (every sign pattern enumerated)" if tests[0].enumerated else "")
        + f": p-values of each coefficient = 0 and intervals by test inversion; at "
        f"least {distinct} distinct bootstrap t values. Standard errors are CR1."
    )
    return BootstrapTestInferred(
        std_errors=base.std_errors,
        vcov=base.vcov,
        dof=None,
        n_clusters=store.n_clusters,
        description=f"wild cluster bootstrap {kind} by {label} ({store.n_clusters} clusters)",
        clusters=label,
        notes=(Note(text, NoteKind.INFERENCE),),
        boot_pvalues=np.array([t.p_value for t in tests]),
        invert=invert,
    )
