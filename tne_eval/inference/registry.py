"""The one mapping from inference choice x kind of scores to its computation.

Every estimator stores its scores (:mod:`tne_eval.inference.scores`); the
inference it supports is whatever this table can compute from them, so adding a
method here makes it available to every estimator that stores that kind of
scores, and the list of supported options in error messages is derived from it.
"""

from __future__ import annotations

from collections.abc import Callable

from tne_eval._warnings import warn
from tne_eval.errors import InferenceError, SmallClusterWarning
from tne_eval.inference.few_clusters import few_clusters_note
from tne_eval.inference.group_means import (
    few_treated_from_influence,
    small_sample_from_influence,
    wild_from_influence,
)
from tne_eval.inference.influence import (
    analytic_from_influence,
    bootstrap_from_influence,
)
from tne_eval.inference.output import Inferred
from tne_eval.inference.sandwich import (
    sandwich_from_regression,
    small_sample_from_regression,
    wild_from_regression,
)
from tne_eval.inference.scores import InfluenceScores, RegressionScores
from tne_eval.inference.spec import (
    CR2,
    CR3,
    IID,
    SHORTCUTS,
    Cluster,
    ConleyTaber,
    FermanPinto,
    Inference,
    MultiplierBootstrap,
    WildBootstrap,
)
from tne_eval.inference.survey import BoundSurveyDesign, survey_from_influence

__all__ = ["COMPUTATIONS", "infer", "resolve", "supported"]

#: (inference class, score-store class) -> computation(inference, store).
COMPUTATIONS: dict[tuple[type, type], Callable[..., Inferred]] = {
    (IID, InfluenceScores): analytic_from_influence,
    (Cluster, InfluenceScores): analytic_from_influence,
    (MultiplierBootstrap, InfluenceScores): bootstrap_from_influence,
    (CR2, InfluenceScores): small_sample_from_influence,
    (CR3, InfluenceScores): small_sample_from_influence,
    (WildBootstrap, InfluenceScores): wild_from_influence,
    (ConleyTaber, InfluenceScores): few_treated_from_influence,
    (FermanPinto, InfluenceScores): few_treated_from_influence,
    (BoundSurveyDesign, InfluenceScores): survey_from_influence,
    (IID, RegressionScores): sandwich_from_regression,
    (Cluster, RegressionScores): sandwich_from_regression,
    (CR2, RegressionScores): small_sample_from_regression,
    (CR3, RegressionScores): small_sample_from_regression,
    (WildBootstrap, RegressionScores): wild_from_regression,
}


def supported(store_type: type) -> tuple[type, ...]:
    """Inference classes that can be computed from a kind of scores."""
    return tuple(spec for spec, store in COMPUTATIONS if store is store_type)


def resolve(inference: object, *, estimator: str, store_type: type) -> Inference:
    """Turn an inference argument into a supported, validated inference object.

    Parameters
    ----------
    inference : object or str
        An inference object or a shortcut: ``"iid"``, ``"cluster"`` /
        ``"analytic"``, ``"bootstrap"`` / ``"multiplier"``.
    estimator : str
        Name of the calling estimator, used in messages.
    store_type : type
        The kind of scores the estimator stores.

    Raises
    ------
    InferenceError
        Unknown shortcut, or an inference the estimator cannot compute; the
        message lists the supported options.

    Examples
    --------
    >>> resolve("cluster", estimator="att_gt", store_type=InfluenceScores)
    Cluster(by=None, small_sample=True)
    """
    ok = supported(store_type)
    names = ", ".join(cls.__name__ for cls in ok)
    shortcuts = [k for k, v in SHORTCUTS.items() if type(v) in ok]
    if isinstance(inference, str):
        key = inference.lower()
        if key not in SHORTCUTS or type(SHORTCUTS[key]) not in ok:
            raise InferenceError(
                f"{estimator} does not support inference={inference!r}; supported: "
                f"{names} (shortcuts: {', '.join(repr(s) for s in shortcuts)})."
            )
        return SHORTCUTS[key]
    if type(inference) not in ok:
        raise InferenceError(
            f"{estimator} does not support {type(inference).__name__}; supported: "
            f"{names}."
        )
    return inference  # type: ignore[return-value]


def _few_clusters(inference: object, store: InfluenceScores | RegressionScores):
    if isinstance(store, RegressionScores):
        by_unit = isinstance(inference, IID)
        counts = store.treated_clusters_by_cohort(by_unit=by_unit)
        n = store.n_units if by_unit else store.n_clusters
        column = store.unit_column if by_unit else store.cluster_column
    else:
        use = store.unclustered() if isinstance(inference, IID) else store
        counts = use.treated_clusters_by_cohort()
        n = use.n_clusters if use.cluster_code is not None else use.n
        column = use.cluster_column if use.clustered else str(use.ids.name or "row")
    return few_clusters_note(column, n, counts)


def infer(
    inference: Inference,
    store: InfluenceScores | RegressionScores,
    *,
    warn_user: bool = True,
) -> Inferred:
    """Compute standard errors for an inference choice from stored scores.

    Clusters must be those of the fit (``Cluster(by=...)`` naming another column
    needs a refit with that ``spec.cluster``). Adds the few-clusters note and,
    with ``warn_user``, emits it as a :class:`~tne_eval.errors.SmallClusterWarning`.
    """
    by = getattr(inference, "by", None)
    if by is not None and by != store.cluster_column:
        raise InferenceError(
            f"This result was fitted with clusters from {store.cluster_column!r}; "
            f"clustering by {by!r} needs a refit with spec.cluster={by!r} (or "
            f"inference=...(by={by!r}) at fit time)."
        )
    try:
        compute = COMPUTATIONS[(type(inference), type(store))]
    except KeyError:
        raise InferenceError(
            f"{type(inference).__name__} cannot be computed from "
            f"{type(store).__name__}; supported: "
            f"{', '.join(c.__name__ for c in supported(type(store)))}."
        ) from None
    out = compute(inference, store)
    note = _few_clusters(inference, store)
    if note is None:
        return out
    if warn_user:
        warn(str(note), SmallClusterWarning)
    from dataclasses import replace

    return replace(out, notes=(*out.notes, note))
