"""What an inference computation returns: standard errors and how to use them."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from tne_eval.notes import Note

__all__ = ["SE_FLOOR", "Inferred"]

#: Standard errors at or below this are numerically zero and reported as NaN: the
#: threshold of R ``did`` (``sqrt(.Machine$double.eps) * 10``).
SE_FLOOR = float(np.sqrt(np.finfo(float).eps) * 10)


@dataclass(frozen=True, eq=False)
class Inferred:
    r"""Standard errors of ``k`` estimates and the reference distribution.

    Attributes
    ----------
    std_errors : ndarray, shape (k,)
        NaN where the standard error is numerically zero.
    vcov : ndarray, shape (k, k)
        Covariance matrix. Under a bootstrap it is the analytic covariance with
        the same clusters (event-study sensitivity analyses need one), while
        ``std_errors`` come from the draws.
    dof : float, ndarray of shape (k,), or None
        Degrees of freedom of the t reference distribution (per estimate when an
        array); ``None`` means the normal distribution.
    n_clusters : int
        Clusters used.
    description : str
        One line for summaries: the method, the cluster column and count, the
        small-sample correction.
    clusters : str
        What the clusters are, for summaries (e.g. ``"'department'"``, or
        ``"none (independent 'school_id' rows)"``).
    notes : tuple of Note
        Notes of kind ``inference`` or ``few_clusters``.
    draws : ndarray, shape (reps, k), or None
        Bootstrap draws of :math:`\hat\theta^* - \hat\theta` (multiple-testing
        adjustments need them).
    band_draws : ndarray, shape (reps,), or None
        Sup-t statistic of each draw, for simultaneous bands at any ``alpha``.
    """

    std_errors: np.ndarray
    vcov: np.ndarray
    dof: float | np.ndarray | None
    n_clusters: int
    description: str
    clusters: str = ""
    notes: tuple[Note, ...] = ()
    draws: np.ndarray | None = None
    band_draws: np.ndarray | None = None

    @classmethod
    def analytic(
        cls,
        vcov: np.ndarray,
        *,
        dof: float | np.ndarray | None,
        n_clusters: int,
        description: str,
        clusters: str,
        note: Note,
    ) -> Inferred:
        """Build the inference of an analytic covariance (SEs floored as R did)."""
        vcov = (vcov + vcov.T) / 2
        se = np.sqrt(np.clip(np.diag(vcov), 0.0, None))
        return cls(
            std_errors=np.where(se > SE_FLOOR, se, np.nan),
            vcov=vcov,
            dof=dof,
            n_clusters=n_clusters,
            description=description,
            clusters=clusters,
            notes=(note,),
        )

    def critical_values(self, alpha: float) -> np.ndarray:
        """Two-sided pointwise critical value of each estimate at ``alpha``."""
        k = self.std_errors.size
        if self.dof is None:
            return np.full(k, stats.norm.ppf(1 - alpha / 2))
        return np.broadcast_to(stats.t.ppf(1 - alpha / 2, self.dof), (k,)).copy()

    def pvalues(self, estimates: np.ndarray) -> np.ndarray:
        """Two-sided pointwise p-values of ``estimate = 0``."""
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.abs(np.asarray(estimates, dtype=float) / self.std_errors)
        if self.dof is None:
            return 2 * stats.norm.sf(z)
        return 2 * stats.t.sf(z, self.dof)

    def conf_int(
        self, estimates: np.ndarray, alpha: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise ``(low, high)`` intervals."""
        half = self.critical_values(alpha) * self.std_errors
        est = np.asarray(estimates, dtype=float)
        return est - half, est + half

    def band_critical_value(self, alpha: float) -> float | None:
        """Sup-t critical value of the simultaneous band (``None`` if not drawn)."""
        if self.band_draws is None:
            return None
        draws = self.band_draws[np.isfinite(self.band_draws)]
        if draws.size == 0:
            return None
        return float(np.quantile(draws, 1 - alpha))

    def subset(self, positions: np.ndarray) -> Inferred:
        """Return the inference of some of the estimates (no band: it was joint)."""
        pos = np.asarray(positions)
        dof = self.dof
        if isinstance(dof, np.ndarray):
            dof = dof[pos]
        return replace(
            self,
            std_errors=self.std_errors[pos],
            vcov=self.vcov[np.ix_(pos, pos)],
            dof=dof,
            draws=None if self.draws is None else self.draws[:, pos],
            band_draws=None,
        )
