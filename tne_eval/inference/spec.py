"""Inference choices as frozen objects, resolved through one registry.

Every estimator declares the inference classes it supports; :func:`resolve`
turns user input (an object or a string shortcut) into a validated object and
raises :class:`~tne_eval.errors.InferenceError` listing the supported options
otherwise. Changing inference on a result returns a *new* result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from tne_eval._validation import check_choice, check_int, check_seed
from tne_eval.errors import InferenceError, TneEvalTypeError

__all__ = [
    "IID",
    "Cluster",
    "Inference",
    "MultiplierBootstrap",
    "resolve",
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


Inference = IID | Cluster | MultiplierBootstrap

_SHORTCUTS: dict[str, Inference] = {
    "iid": IID(),
    "cluster": Cluster(),
    "analytic": Cluster(),
    "bootstrap": MultiplierBootstrap(),
    "multiplier": MultiplierBootstrap(),
}


def resolve(
    inference: object, *, estimator: str, supported: Sequence[type]
) -> Inference:
    """Turn an inference argument into a supported, validated spec object.

    Parameters
    ----------
    inference : object or str
        An inference object or a shortcut: ``"iid"``, ``"cluster"`` /
        ``"analytic"``, ``"bootstrap"`` / ``"multiplier"``.
    estimator : str
        Name of the calling estimator, used in messages.
    supported : sequence of type
        Inference classes the estimator supports.

    Raises
    ------
    InferenceError
        Unknown shortcut, or an inference the estimator does not support; the
        message lists the supported options.

    Examples
    --------
    >>> resolve("cluster", estimator="att_gt", supported=(Cluster, MultiplierBootstrap))
    Cluster(by=None, small_sample=True)
    """
    names = ", ".join(cls.__name__ for cls in supported)
    shortcuts = [k for k, v in _SHORTCUTS.items() if type(v) in supported]
    if isinstance(inference, str):
        key = inference.lower()
        if key not in _SHORTCUTS or type(_SHORTCUTS[key]) not in supported:
            raise InferenceError(
                f"{estimator} does not support inference={inference!r}; supported: "
                f"{names} (shortcuts: {', '.join(repr(s) for s in shortcuts)})."
            )
        return _SHORTCUTS[key]
    if type(inference) not in supported:
        raise InferenceError(
            f"{estimator} does not support {type(inference).__name__}; supported: "
            f"{names}."
        )
    return inference  # type: ignore[return-value]
