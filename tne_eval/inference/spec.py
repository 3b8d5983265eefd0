"""Inference choices as frozen, validated objects.

They hold no data. :mod:`tne_eval.inference.registry` maps each choice and the
kind of scores an estimator stores (:mod:`tne_eval.inference.scores`) to the
computation of its standard errors; what an estimator supports follows from that
mapping. Changing inference on a result returns a *new* result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from tne_eval._validation import check_choice, check_int, check_seed
from tne_eval.errors import TneEvalTypeError

__all__ = [
    "CR2",
    "CR3",
    "IID",
    "SHORTCUTS",
    "Cluster",
    "ConleyTaber",
    "FermanPinto",
    "Inference",
    "MultiplierBootstrap",
    "WildBootstrap",
]

BootstrapWeights = Literal["rademacher", "mammen"]


@dataclass(frozen=True)
class IID:
    """Independent observations: no clustering (units are the sampling units)."""

    def describe(self) -> str:
        """One-line description used in summaries."""
        return "independent units"


@dataclass(frozen=True)
class Cluster:
    """Cluster-robust analytic inference.

    Parameters
    ----------
    by : str, optional
        Column defining the clusters; ``None`` uses the spec's ``cluster`` (or the
        unit). Clusters must be at or above the unit level.
    small_sample : bool, default True
        Multiply the variance by :math:`G/(G-1)` when clusters are coarser than the
        unit (for regression estimators also by :math:`(N-1)/(N-K)`, CR1), and use
        a :math:`t_{G-1}` reference distribution for p-values and intervals. See
        the "Small-sample corrections" page of the docs.
    """

    by: str | None = None
    small_sample: bool = True

    def __post_init__(self) -> None:
        if self.by is not None and (not isinstance(self.by, str) or not self.by):
            raise TneEvalTypeError(
                f"Cluster.by must be a column name or None (got {self.by!r})."
            )
        if not isinstance(self.small_sample, bool):
            raise TneEvalTypeError(
                f"Cluster.small_sample must be True or False (got {self.small_sample!r})."
            )

    def describe(self) -> str:
        """One-line description used in summaries."""
        where = self.by if self.by else "spec cluster"
        fix = ", small-sample corrected" if self.small_sample else ""
        return f"cluster-robust by {where}{fix}"


@dataclass(frozen=True)
class MultiplierBootstrap:
    """Multiplier bootstrap on influence functions (Callaway & Sant'Anna 2021).

    Parameters
    ----------
    reps : int, default 999
        Bootstrap draws.
    by : str, optional
        Cluster column: draws are shared by all units of a cluster. ``None`` uses
        the spec's ``cluster`` (or the unit).
    weights : {"rademacher", "mammen"}, default "rademacher"
        Distribution of the multipliers.
    uniform_band : bool, default True
        Also compute the sup-t simultaneous band (``band_low``/``band_high``).
    seed : int or numpy.random.Generator, optional
        Seed; results are reproducible for a given seed whatever the parallelism.
    """

    reps: int = 999
    by: str | None = None
    weights: BootstrapWeights = "rademacher"
    uniform_band: bool = True
    seed: int | np.random.Generator | None = None

    def __post_init__(self) -> None:
        check_int(self.reps, "MultiplierBootstrap.reps", minimum=99)
        check_choice(
            self.weights, "MultiplierBootstrap.weights", ("rademacher", "mammen")
        )
        check_seed(self.seed, "MultiplierBootstrap.seed")
        if self.by is not None and (not isinstance(self.by, str) or not self.by):
            raise TneEvalTypeError(
                f"MultiplierBootstrap.by must be a column name or None (got {self.by!r})."
            )

    def describe(self) -> str:
        """One-line description used in summaries."""
        where = self.by if self.by else "spec cluster"
        return f"multiplier bootstrap ({self.weights}, {self.reps} draws, by {where})"


@dataclass(frozen=True)
class CR2:
    """Bell-McCaffrey (CR2) cluster-robust variance with small-sample degrees of freedom.

    The conventions of R ``clubSandwich`` (Pustejovsky & Tipton 2018): the
    residuals of each cluster are adjusted so that the variance is unbiased under
    a working model of independent, homoskedastic errors; t-tests use
    Satterthwaite (default) or Imbens-Kolesár degrees of freedom, one per term.
    Regression estimators (TWFE and the event study) and the group-mean
    decomposition of ``att_gt``, ``aggregate`` and ``did_2x2`` (see the "Few
    clusters" page for the leverages and the working models).

    Parameters
    ----------
    df : {"satterthwaite", "imbens_kolesar"}, default "satterthwaite"
        Degrees of freedom of each coefficient's t reference distribution.
        ``"imbens_kolesar"``: the Satterthwaite formula under Moulton's working
        model (errors of a cluster share a random effect, its variance estimated
        from the residuals; R ``dfadjust``). For regressions, on the regression's
        residuals; for ``att_gt``, ``aggregate`` and ``did_2x2``, on the residuals
        of the group means each estimate is made of (its stacked regression:
        the outcome change on ``[1, D]`` for a panel cell, the outcome on the
        group x period dummies for a repeated-cross-section cell). Aggregates of
        repeated cross-sections and of ``unbalanced="keep"`` panels, whose pooled
        treated means mix post and base periods with opposite signs, get the df
        of the same contrast in the stacked regression of their cells' group
        means: its CR2 adjustment uses each group's own leverage (the reported
        variance, the pooled one), and the estimated cohort-share term, which has
        no row residual, is left out of the working model. They refuse it with an
        ``InferenceError`` when a cohort's treated rows lie in one cluster.
    """

    df: Literal["satterthwaite", "imbens_kolesar"] = "satterthwaite"

    def __post_init__(self) -> None:
        check_choice(self.df, "CR2.df", ("satterthwaite", "imbens_kolesar"))

    def describe(self) -> str:
        """One-line description used in summaries."""
        return f"CR2 (Bell-McCaffrey), {self.df} degrees of freedom"


@dataclass(frozen=True)
class CR3:
    """Cluster jackknife (CR3) variance, leave-one-cluster-out, with t(G-1).

    clubSandwich's CR3 (no centring, no (G-1)/G factor), pyfixest's ``CRV3``.
    For regressions (TWFE and the event study) and for ``att_gt``, ``aggregate``
    and ``did_2x2`` (one Newton step with group-mean leverages: the exact
    jackknife for ``method="reg"`` without covariates on a balanced panel).
    """

    def describe(self) -> str:
        """One-line description used in summaries."""
        return "CR3 (cluster jackknife), t(G-1)"


@dataclass(frozen=True)
class WildBootstrap:
    """Wild cluster bootstrap, p-values and CIs by test inversion.

    For regressions, the wild cluster bootstrap of the coefficients; for
    influence-function estimates (``att_gt``, ``aggregate``, ``did_2x2``), the
    score wild bootstrap (Kline & Santos 2012) of each estimate, the null imposed
    with the group-mean leverages.

    Parameters
    ----------
    reps : int, default 9999
        Draws; with Rademacher weights and at most ``reps`` sign patterns
        (:math:`2^G`) all patterns are enumerated instead.
    weights : {"rademacher", "mammen", "webb"}, default "webb"
        Distribution of the cluster multipliers (Webb's six-point weights behave
        best with few clusters, MacKinnon & Webb 2018).
    impose_null : bool, default True
        Restricted bootstrap (WCR, the null imposed; recommended) or unrestricted
        (WCU).
    seed : int or numpy.random.Generator, optional
        Same seed, same draws, same p-values and intervals.

    Notes
    -----
    With very few treated clusters (2) no wild bootstrap can be trusted: WCR
    under-rejects and WCU over-rejects (MacKinnon & Webb 2017, 2018); the result's
    notes say how many treated clusters each estimate rests on.
    """

    reps: int = 9999
    weights: Literal["rademacher", "mammen", "webb"] = "webb"
    impose_null: bool = True
    seed: int | np.random.Generator | None = None

    def __post_init__(self) -> None:
        check_int(self.reps, "WildBootstrap.reps", minimum=99)
        check_choice(
            self.weights, "WildBootstrap.weights", ("rademacher", "mammen", "webb")
        )
        if not isinstance(self.impose_null, bool):
            raise TneEvalTypeError(
                f"WildBootstrap.impose_null must be True or False (got {self.impose_null!r})."
            )
        check_seed(self.seed, "WildBootstrap.seed")

    def describe(self) -> str:
        """One-line description used in summaries."""
        kind = "restricted (WCR)" if self.impose_null else "unrestricted (WCU)"
        return f"wild cluster bootstrap, {kind}, {self.weights}, {self.reps} draws"


@dataclass(frozen=True)
class ConleyTaber:
    """Conley-Taber (2011) inference for a DiD with few treated clusters.

    Each estimate is written as its treated clusters' mean minus its comparison
    clusters' mean; the distribution of the estimation error (a weighted sum of
    the treated clusters' shocks) is estimated from the comparison clusters'
    residual contributions, and p-values and intervals invert that test
    (:func:`tne_eval.inference.few_treated.conley_taber`). Influence-function
    estimates of one treated cohort (ATT(g,t) cells, ``kind="group"`` cohort
    rows); estimates pooling cohorts get NaN, with a note.

    Parameters
    ----------
    reps : int, default 9999
        Draws of the null distribution (every combination is enumerated when
        there are at most ``reps``).
    seed : int or numpy.random.Generator, optional
    """

    reps: int = 9999
    seed: int | np.random.Generator | None = None

    def __post_init__(self) -> None:
        check_int(self.reps, f"{type(self).__name__}.reps", minimum=99)
        check_seed(self.seed, f"{type(self).__name__}.seed")

    def describe(self) -> str:
        """One-line description used in summaries."""
        return f"Conley-Taber, {self.reps} draws"


@dataclass(frozen=True)
class FermanPinto(ConleyTaber):
    """Ferman-Pinto (2019): Conley-Taber corrected for heteroskedasticity.

    As :class:`ConleyTaber`, with each comparison cluster's residual rescaled to
    the variance :math:`A + B/M` of the treated cluster it stands in for, ``M``
    the cluster's rows in the estimate (schools or units per department;
    :func:`tne_eval.inference.few_treated.ferman_pinto`).

    Parameters
    ----------
    reps : int, default 9999
    seed : int or numpy.random.Generator, optional
    """

    def describe(self) -> str:
        """One-line description used in summaries."""
        return f"Ferman-Pinto, {self.reps} draws"


Inference = (
    IID
    | Cluster
    | MultiplierBootstrap
    | CR2
    | CR3
    | WildBootstrap
    | ConleyTaber
    | FermanPinto
)


#: String shortcuts accepted wherever an inference object is.
SHORTCUTS: dict[str, Inference] = {
    "iid": IID(),
    "cluster": Cluster(),
    "analytic": Cluster(),
    "bootstrap": MultiplierBootstrap(),
    "multiplier": MultiplierBootstrap(),
    "cr2": CR2(),
    "cr3": CR3(),
    "wild": WildBootstrap(),
    "conley_taber": ConleyTaber(),
    "ferman_pinto": FermanPinto(),
}
