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

__all__ = ["IID", "SHORTCUTS", "Cluster", "Inference", "MultiplierBootstrap"]

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


Inference = IID | Cluster | MultiplierBootstrap

#: String shortcuts accepted wherever an inference object is.
SHORTCUTS: dict[str, Inference] = {
    "iid": IID(),
    "cluster": Cluster(),
    "analytic": Cluster(),
    "bootstrap": MultiplierBootstrap(),
    "multiplier": MultiplierBootstrap(),
}
