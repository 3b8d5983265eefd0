r"""Families of hypotheses across outcomes: adjusted p-values for estimation results.

:func:`outcome_family` takes several results (one per outcome, e.g. the simple
ATT of each test score) and returns an :class:`OutcomeFamily` whose table holds,
for each hypothesis "effect = 0", the estimate, its pointwise p-value and the
p-values adjusted for multiplicity by Bonferroni, Holm, Benjamini-Hochberg or
Romano-Wolf. Romano-Wolf needs the joint distribution of the statistics: it is
drawn by a multiplier bootstrap of the stored influence functions in which the
rows of a cluster share one multiplier *for every outcome*, so the draws carry
the dependence between outcomes measured on the same schools and departments.
:func:`adjust_pvalues` is the short form that returns one adjusted column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse

from tne_eval._validation import check_alpha, check_choice, check_int, check_seed
from tne_eval.errors import InferenceError, SpecError, TneEvalTypeError
from tne_eval.inference.bootstrap import multiplier_bootstrap
from tne_eval.inference.multiple_testing import (
    benjamini_hochberg,
    bonferroni,
    holm,
    romano_wolf,
)
from tne_eval.inference.scores import InfluenceScores
from tne_eval.inference.spec import IID
from tne_eval.notes import Note, NoteKind
from tne_eval.results.base import EstimationResult
from tne_eval.results.summary import Summary, SummaryDisplay

__all__ = ["METHODS", "OutcomeFamily", "adjust_pvalues", "outcome_family"]

AdjustMethod = Literal["bonferroni", "holm", "bh", "romano-wolf"]

#: Adjustment methods, in the order of the columns of :class:`OutcomeFamily`.
METHODS: tuple[str, ...] = ("bonferroni", "holm", "bh", "romano-wolf")

_PVALUE_METHODS = {"bonferroni": bonferroni, "holm": holm, "bh": benjamini_hochberg}
_LABEL = {
    "bonferroni": "Bonferroni (FWER)",
    "holm": "Holm step-down (FWER)",
    "bh": "Benjamini-Hochberg step-up (FDR)",
    "romano-wolf": "Romano-Wolf step-down, studentized bootstrap (FWER)",
}


def _column(method: str) -> str:
    return "p_" + method.replace("-", "_")


def _methods(method: object) -> tuple[str, ...]:
    items = (method,) if isinstance(method, str) else method
    if not isinstance(items, Sequence) or not items:
        raise TneEvalTypeError(
            f"method must be one of {', '.join(map(repr, METHODS))} or a non-empty "
            f"sequence of them (got {method!r})."
        )
    out = []
    for m in items:
        check_choice(m, "method", METHODS)
        if m not in out:
            out.append(m)
    return tuple(out)


@dataclass(frozen=True, eq=False)
class _Hypothesis:
    outcome: str
    term: str
    result: EstimationResult


def _default_term(name: str, result: EstimationResult) -> str:
    index = result.table.index
    if len(index) == 1:
        return str(index[0])
    for term in ("ATT", "overall"):
        if term in index:
            return term
    raise SpecError(
        f"results[{name!r}] has {len(index)} terms ({', '.join(map(str, index[:6]))}"
        f"{', ...' if len(index) > 6 else ''}) and none is 'ATT' or 'overall'; pass "
        "term='<term>' (or a list of terms) to say which estimates form the family."
    )


def _hypotheses(results: object, term: object) -> list[_Hypothesis]:
    if not isinstance(results, Mapping) or not results:
        raise TneEvalTypeError(
            "results must be a non-empty mapping of outcome name -> result, e.g. "
            "{'french': tne.aggregate(gt_french), 'maths': tne.aggregate(gt_maths)} "
            f"(got {type(results).__name__})."
        )
    if (
        term is not None
        and not isinstance(term, str)
        and (not isinstance(term, Sequence) or not term)
    ):
        raise TneEvalTypeError(
            f"term must be None, a term name or a list of term names (got {term!r})."
        )
    out = []
    for name, res in results.items():
        if not isinstance(name, str) or not name:
            raise TneEvalTypeError(
                f"outcome names (the keys of results) must be non-empty strings "
                f"(got {name!r})."
            )
        if not isinstance(res, EstimationResult):
            raise TneEvalTypeError(
                f"results[{name!r}] must be an estimation result (e.g. from "
                f"tne.aggregate or tne.att_gt), got {type(res).__name__}."
            )
        terms = (
            [_default_term(name, res)]
            if term is None
            else [term]
            if isinstance(term, str)
            else list(term)
        )
        for t in terms:
            if t not in res.table.index:
                raise SpecError(
                    f"term {t!r} is not a term of results[{name!r}]; its terms are "
                    f"{', '.join(map(repr, res.table.index[:8]))}"
                    f"{', ...' if len(res.table.index) > 8 else ''}."
                )
            out.append(_Hypothesis(name, str(t), res))
    return out


def _label(h: _Hypothesis, single_term: bool) -> str:
    return h.outcome if single_term else f"{h.outcome}: {h.term}"


# -- joint multiplier bootstrap ---------------------------------------------------
def _column_of(h: _Hypothesis) -> tuple[InfluenceScores, np.ndarray]:
    store = h.result.scores
    if not isinstance(store, InfluenceScores):
        raise InferenceError(
            f"Romano-Wolf needs the influence functions of every estimate, but "
            f"results[{h.outcome!r}] ({h.result.estimator}) stores "
            f"{type(store).__name__}; use method='holm' or 'bh' for it, or an "
            "influence-function estimator (att_gt, aggregate, did_2x2)."
        )
    terms = (
        h.result.table.index if h.result.score_terms is None else h.result.score_terms
    )
    if h.term not in terms:
        raise InferenceError(
            f"term {h.term!r} of results[{h.outcome!r}] has no influence function "
            "(a reference row); it cannot be tested."
        )
    pos = terms.get_loc(h.term)
    values = store.values
    col = values[:, [pos]]
    col = col.toarray().ravel() if sparse.issparse(col) else np.asarray(col).ravel()
    return store, col


def _positional(ids: pd.Index) -> bool:
    return isinstance(ids, pd.RangeIndex) and ids.name == "row"


@dataclass(frozen=True)
class _Joint:
    draws: np.ndarray  # (reps, m): theta* - theta, one multiplier per cluster
    std_errors: np.ndarray  # (m,) IQR bootstrap standard errors
    n_clusters: int
    clusters: str
    notes: tuple[Note, ...]


def _joint_draws(
    hyps: list[_Hypothesis], *, reps: int, weights: str, seed: object
) -> _Joint:
    """Cluster sums of every hypothesis' influence function on common clusters."""
    cols = [_column_of(h) for h in hyps]
    unit_level = [
        isinstance(h.result.inference, IID) or not store.clustered
        for h, (store, _) in zip(hyps, cols)
    ]
    if any(unit_level) and not all(unit_level):
        which = [h.outcome for h, u in zip(hyps, unit_level) if u]
        raise InferenceError(
            f"results {', '.join(map(repr, dict.fromkeys(which)))} use unit-level "
            "inference while the others are clustered; a joint bootstrap needs the "
            "same clusters for every outcome. Refit them with the same spec.cluster "
            "(or give every result the same inference with with_inference)."
        )
    notes: list[Note] = []
    m = len(hyps)
    if all(unit_level):
        id_sets = [store.ids for store, _ in cols]
        distinct = {id(store) for store, _ in cols}
        if len(distinct) > 1 and any(_positional(ids) for ids in id_sets):
            raise InferenceError(
                "Unit-level joint bootstrap across outcomes matches rows by id, but "
                "some results of repeated cross-sections have no row id; give "
                "RepeatedCrossSectionSpec(id=...) or cluster the inference (e.g. by "
                "the group or department) so that rows can be matched."
            )
        union = id_sets[0]
        for ids in id_sets[1:]:
            if not ids.equals(union):
                union = union.union(ids)
        sums = np.zeros((len(union), m))
        for j, (store, col) in enumerate(cols):
            pos = union.get_indexer(store.ids)
            sums[pos, j] = col / store.n
        name = str(union.name or "row")
        clusters = f"none (independent {name!r} rows, matched by id across outcomes)"
        g = len(union)
    else:
        columns = {store.cluster_column for store, _ in cols}
        counts = {store.n_clusters for store, _ in cols}
        if len(columns) > 1 or len(counts) > 1:
            detail = ", ".join(
                f"{h.outcome!r}: {store.n_clusters} of {store.cluster_column!r}"
                for h, (store, _) in zip(hyps, cols)
            )
            raise InferenceError(
                "A joint bootstrap needs the same clusters for every outcome, but the "
                f"results were fitted on different clusters ({detail}). Fit every "
                "outcome with the same spec.cluster on samples that cover the same "
                "clusters (e.g. all departments)."
            )
        _check_shared_units(hyps, cols)
        g = counts.pop()
        column = columns.pop()
        sums = np.empty((g, m))
        for j, (store, col) in enumerate(cols):
            sums[:, j] = np.bincount(store.cluster_code, weights=col, minlength=g)
            sums[:, j] /= store.n
        clusters = repr(column)
        if len({h.outcome for h in hyps}) > 1:
            notes.append(
                Note(
                    f"Clusters matched across outcomes by their rank among the sorted "
                    f"values of {column!r} in each fit (every fit has {g} clusters).",
                    NoteKind.INFERENCE,
                )
            )
    boot = multiplier_bootstrap(
        sums, 1, reps=reps, weights=weights, rng=np.random.default_rng(seed)
    )
    notes.insert(
        0,
        Note(
            f"Romano-Wolf: multiplier bootstrap with {reps} {weights} draws, one "
            f"multiplier per cluster ({clusters}, {g}) shared by every outcome; "
            "statistics studentized by the bootstrap standard errors (interquartile "
            "range of the draws, as R did).",
            NoteKind.INFERENCE,
        ),
    )
    return _Joint(boot.draws, boot.std_errors, g, clusters, tuple(notes))


def _check_shared_units(hyps, cols) -> None:
    """Units present in several fits must sit in the same cluster code in each."""
    frames = [
        pd.Series(store.cluster_code, index=store.ids)
        for store, _ in cols
        if not _positional(store.ids) and store.ids.is_unique
    ]
    if len(frames) < 2:
        return
    joined = pd.concat(frames)
    spread = joined.groupby(level=0, sort=False).nunique()
    bad = spread[spread > 1]
    if len(bad):
        raise InferenceError(
            f"{len(bad)} unit(s) (e.g. {bad.index[0]!r}) fall in clusters of "
            "different rank in different fits, so the fits do not share their "
            "clusters; fit every outcome on samples that cover the same clusters."
        )


# -- the family -------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class OutcomeFamily(SummaryDisplay):
    r"""A family of hypotheses across outcomes, with adjusted p-values.

    Built by :func:`outcome_family`. Every hypothesis is "the estimate is zero",
    two-sided.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by ``hypothesis`` (the outcome name, or ``"outcome: term"`` when
        several terms of each result are tested). Columns ``outcome, term,
        estimate, std_error, p_value`` (the result's own pointwise p-value), with
        Romano-Wolf ``boot_std_error`` and ``p_bootstrap`` (studentized bootstrap,
        unadjusted), then ``p_<method>`` for each method.
    methods : tuple of str
        Adjustment methods, in column order.
    alpha : float
        Default level of :meth:`rejected` and ``to_frame``.
    reps, weights, seed
        Bootstrap settings (Romano-Wolf only; ``reps=0`` without it).
    n_clusters : int or None
        Clusters of the joint bootstrap.
    clusters : str
        What the bootstrap clusters are.
    draws : pandas.DataFrame or None
        Joint bootstrap draws of ``estimate* - estimate``, one column per
        hypothesis (Romano-Wolf only).
    notes : tuple of Note
        How the p-values were computed, and the few-clusters notes of the
        results (once each).
    """

    table: pd.DataFrame
    methods: tuple[str, ...]
    alpha: float
    reps: int = 0
    weights: str = ""
    seed: object = None
    n_clusters: int | None = None
    clusters: str = ""
    draws: pd.DataFrame | None = None
    notes: tuple[Note, ...] = ()

    @property
    def hypotheses(self) -> pd.Index:
        """Labels of the hypotheses."""
        return self.table.index

    def adjusted(self, method: str | None = None) -> pd.Series:
        """Return the adjusted p-values of one method (default: the first)."""
        method = self.methods[0] if method is None else method
        check_choice(method, "method", self.methods)
        return self.table[_column(method)].rename(_column(method))

    def rejected(self, alpha: float | None = None) -> pd.DataFrame:
        """Whether each hypothesis is rejected at ``alpha``, by method (booleans)."""
        alpha = self.alpha if alpha is None else check_alpha(alpha)
        return pd.DataFrame(
            {
                f"reject_{_column(m)[2:]}": self.adjusted(m) <= alpha
                for m in self.methods
            }
        )

    def to_frame(self, alpha: float | None = None) -> pd.DataFrame:
        """Tidy table: :attr:`table` plus ``reject_<method>`` columns at ``alpha``."""
        return pd.concat([self.table, self.rejected(alpha)], axis=1)

    def to_markdown(self, alpha: float | None = None, digits: int = 4) -> str:
        """Render :meth:`to_frame` as a Markdown table."""
        return self.to_frame(alpha).round(digits).to_markdown()

    def summary(self, alpha: float | None = None, digits: int = 4) -> Summary:
        """Summary object (text, HTML, Markdown, LaTeX); it never prints."""
        alpha = self.alpha if alpha is None else check_alpha(alpha)
        header = {
            "Hypotheses": f"{len(self.table)} (two-sided, estimate = 0)",
            "Adjustments": "; ".join(_LABEL[m] for m in self.methods),
            "Significance level": f"{alpha:g}",
        }
        if "romano-wolf" in self.methods:
            header["Bootstrap"] = (
                f"multiplier, {self.reps} {self.weights} draws, clusters "
                f"{self.clusters} ({self.n_clusters})"
            )
            if isinstance(self.seed, (int, np.integer)):
                header["Seed"] = str(int(self.seed))
        header["Reference"] = (
            "Holm (1979); Benjamini & Hochberg (1995); Romano & Wolf (2005, 2016)"
        )
        return Summary(
            "Multiple testing across outcomes",
            header,
            self.to_frame(alpha),
            self.notes,
            digits,
        )

    def __repr__(self) -> str:
        return (
            f"<OutcomeFamily: {len(self.table)} hypotheses, methods="
            f"{', '.join(self.methods)}>"
        )


def outcome_family(
    results: Mapping[str, EstimationResult],
    *,
    method: AdjustMethod | Sequence[AdjustMethod] = "romano-wolf",
    term: str | Sequence[str] | None = None,
    reps: int = 999,
    seed: int | np.random.Generator | None = None,
    weights: Literal["rademacher", "mammen"] = "rademacher",
    alpha: float = 0.05,
) -> OutcomeFamily:
    r"""Adjust the p-values of estimates of several outcomes for multiple testing.

    Parameters
    ----------
    results : mapping of str to EstimationResult
        One result per outcome, keyed by the outcome's name (e.g. the simple
        aggregations ``tne.aggregate(gt)`` of each outcome).
    method : str or sequence of str, default "romano-wolf"
        One or several of ``"bonferroni"``, ``"holm"``, ``"bh"``
        (Benjamini-Hochberg) and ``"romano-wolf"``; each gives a column
        ``p_<method>``.
    term : str or sequence of str, optional
        Term(s) of each result to test. ``None``: the only term of a result, else
        ``"ATT"`` or ``"overall"``. With several terms the family holds every
        (outcome, term) pair.
    reps : int, default 999
        Bootstrap draws (Romano-Wolf).
    seed : int or numpy.random.Generator, optional
        Seed of the multipliers. The multipliers are those of
        ``MultiplierBootstrap(reps=reps, weights=weights, seed=seed)``: a result
        fitted with that bootstrap on the same clusters has the same draws.
    weights : {"rademacher", "mammen"}, default "rademacher"
        Distribution of the multipliers.
    alpha : float, default 0.05
        Level of the ``reject_*`` columns of ``to_frame``.

    Returns
    -------
    OutcomeFamily
        ``to_frame()`` columns: ``outcome, term, estimate, std_error, p_value``,
        (Romano-Wolf) ``boot_std_error, p_bootstrap``, ``p_<method>`` for each
        method, then ``reject_<method>``.

    Raises
    ------
    TneEvalTypeError
        ``results`` is not a mapping of names to results.
    SpecError
        Unknown method or term, or a result with several terms and no ``term``.
    InferenceError
        A p-value is missing; or, for Romano-Wolf, a result without influence
        functions, or results fitted on different clusters.

    Notes
    -----
    Bonferroni, Holm and Benjamini-Hochberg adjust each result's own pointwise
    p-value (``p_value``: the inference the result was fitted with, e.g.
    cluster-robust with :math:`t_{G-1}`); see
    :mod:`tne_eval.inference.multiple_testing` for the formulas. Holm and
    Bonferroni control the family-wise error rate (FWER) under any dependence;
    Benjamini-Hochberg controls the false discovery rate under independence or
    positive dependence.

    Romano-Wolf draws :math:`\hat\theta^*_{bj} - \hat\theta_j = \sum_c v_{bc}
    \sum_{i \in c}\psi_{ij} / n_j` for every hypothesis :math:`j` with the *same*
    multipliers :math:`v_{bc}` for a cluster :math:`c` in every outcome (clusters
    of the fits; units matched by id when the inference is unit-level), so the
    draws keep the correlation between outcomes. Statistics are studentized by
    the bootstrap standard error :math:`\hat\sigma_j` (interquartile range of the
    draws over that of the standard normal, as R ``did``):
    :math:`t_j = \hat\theta_j / \hat\sigma_j`,
    :math:`t^*_{bj} = (\hat\theta^*_{bj} - \hat\theta_j)/\hat\sigma_j`, and the
    step-down p-values are those of
    :func:`tne_eval.inference.multiple_testing.romano_wolf`. Clusters are
    matched across fits by their rank among the sorted cluster values of each
    fit, so every fit must cover the same clusters (checked: same column and
    count, and units present in several fits in the same cluster). With few
    treated clusters the multiplier bootstrap inherits the limits described on
    the few-clusters page of the documentation.

    Validated against an independent brute-force step-down, against
    ``statsmodels.stats.multitest.multipletests`` (1e-12), and by a Monte Carlo
    of the family-wise error rate (``tests/inference/test_family.py``).

    References
    ----------
    Romano, J. P. & Wolf, M. (2005). Exact and approximate stepdown methods for
    multiple hypothesis testing. JASA 100(469), 94-108,
    doi:10.1198/016214504000000539.
    Clarke, D., Romano, J. P. & Wolf, M. (2020). The Romano-Wolf
    multiple-hypothesis correction in Stata. Stata Journal 20(4), 812-843,
    doi:10.1177/1536867X20976314.

    Examples
    --------
    >>> import tne_eval as tne
    >>> from tne_eval.datasets import load_synthetic
    >>> panel = load_synthetic("school_panel")
    >>> cm2 = panel[panel["grade"] == "CM2"]
    >>> spec = tne.PanelSpec(unit="school_id", time="year", outcome="score_french",
    ...                      cohort="first_treated", cluster="department")
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res = {y: tne.aggregate(tne.att_gt(cm2, spec.update(outcome=y),
    ...                                        method="reg", unbalanced="keep"))
    ...            for y in ("score_french", "score_math")}
    >>> fam = tne.outcome_family(res, method=["holm", "romano-wolf"], reps=199,
    ...                          seed=1)
    >>> list(fam.to_frame().columns[-4:])
    ['p_holm', 'p_romano_wolf', 'reject_holm', 'reject_romano_wolf']
    """
    methods = _methods(method)
    alpha = check_alpha(alpha)
    hyps = _hypotheses(results, term)
    single_term = term is None or isinstance(term, str)
    labels = [_label(h, single_term) for h in hyps]
    if len(set(labels)) != len(labels):
        raise SpecError(f"hypotheses are not distinct: {labels!r}.")
    est = np.array([h.result.estimates[h.term] for h in hyps], dtype=float)
    se = np.array([h.result.std_errors[h.term] for h in hyps], dtype=float)
    pv = np.array([h.result.pvalues[h.term] for h in hyps], dtype=float)
    table = pd.DataFrame(
        {
            "outcome": [h.outcome for h in hyps],
            "term": [h.term for h in hyps],
            "estimate": est,
            "std_error": se,
            "p_value": pv,
        },
        index=pd.Index(labels, name="hypothesis"),
    )
    bad = ~np.isfinite(est) | ~np.isfinite(pv)
    if bad.any():
        raise InferenceError(
            f"hypotheses {', '.join(repr(lab) for lab, b in zip(labels, bad) if b)} "
            "have no estimate or p-value (e.g. a reference row or a zero standard "
            "error) and cannot be tested; leave them out of the family."
        )
    notes = [
        Note(
            "p_value is each result's own pointwise p-value; Bonferroni, Holm and "
            "Benjamini-Hochberg adjust it.",
            NoteKind.INFERENCE,
        )
    ]
    for m in methods:
        if m in _PVALUE_METHODS:
            table[_column(m)] = _PVALUE_METHODS[m](pv)
    out_kwargs: dict[str, object] = {}
    if "romano-wolf" in methods:
        reps = check_int(reps, "reps", minimum=99)
        check_choice(weights, "weights", ("rademacher", "mammen"))
        check_seed(seed)
        joint = _joint_draws(hyps, reps=reps, weights=weights, seed=seed)
        boot_se = joint.std_errors
        zero = ~np.isfinite(boot_se)
        if zero.any():
            raise InferenceError(
                f"hypotheses {', '.join(repr(lab) for lab, z in zip(labels, zero) if z)}"
                " have a zero bootstrap standard error and cannot be studentized; "
                "leave them out of the family."
            )
        adjusted, single = romano_wolf(est / boot_se, joint.draws / boot_se)
        table["boot_std_error"] = boot_se
        table["p_bootstrap"] = single
        table["p_romano_wolf"] = adjusted
        notes.extend(joint.notes)
        out_kwargs = {
            "reps": reps,
            "weights": weights,
            "seed": seed,
            "n_clusters": joint.n_clusters,
            "clusters": joint.clusters,
            "draws": pd.DataFrame(joint.draws, columns=table.index),
        }
    few = dict.fromkeys(
        n for h in hyps for n in h.result.notes if n.kind is NoteKind.FEW_CLUSTERS
    )
    notes.extend(few)
    if "bh" in methods:
        notes.append(
            Note(
                "Benjamini-Hochberg controls the false discovery rate, not the "
                "family-wise error rate.",
                NoteKind.INFERENCE,
            )
        )
    lead = ["outcome", "term", "estimate", "std_error", "p_value"]
    boot_cols = ["boot_std_error", "p_bootstrap"] if "romano-wolf" in methods else []
    table = table[lead + boot_cols + [_column(m) for m in methods]]
    return OutcomeFamily(
        table=table,
        methods=methods,
        alpha=alpha,
        notes=tuple(notes),
        **out_kwargs,  # type: ignore[arg-type]
    )


def adjust_pvalues(
    pvalues: object,
    method: AdjustMethod = "holm",
    *,
    term: str | None = None,
    reps: int = 999,
    seed: int | np.random.Generator | None = None,
    weights: Literal["rademacher", "mammen"] = "rademacher",
) -> pd.Series:
    """Adjust the p-values of a family, given as p-values or as estimation results.

    Parameters
    ----------
    pvalues : array-like, Series, mapping of str to float or to EstimationResult
        The family's p-values, or one result per outcome (then each result's
        ``term`` is tested, as in :func:`outcome_family`).
    method : {"bonferroni", "holm", "bh", "romano-wolf"}, default "holm"
        ``"romano-wolf"`` needs the joint bootstrap draws, hence results.
    term, reps, seed, weights
        As in :func:`outcome_family` (results only).

    Returns
    -------
    pandas.Series
        Named ``p_<method>``, indexed like the input (positions for arrays).

    Raises
    ------
    DataError
        A p-value is missing or outside [0, 1].
    InferenceError
        ``method="romano-wolf"`` with p-values only.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03], method="holm").round(4).tolist()
    [0.03, 0.06, 0.06]
    """
    check_choice(method, "method", METHODS)
    if isinstance(pvalues, Mapping) and any(
        isinstance(v, EstimationResult) for v in pvalues.values()
    ):
        family = outcome_family(
            pvalues, method=method, term=term, reps=reps, seed=seed, weights=weights
        )
        return family.adjusted(method)
    if method == "romano-wolf":
        raise InferenceError(
            "method='romano-wolf' needs the joint bootstrap distribution of the "
            "statistics, not only their p-values: pass a mapping of outcome name -> "
            "result (or use tne.outcome_family)."
        )
    try:
        if isinstance(pvalues, Mapping):
            series = pd.Series(pvalues, dtype=float)
        elif isinstance(pvalues, pd.Series):
            series = pvalues.astype(float)
        else:
            series = pd.Series(np.asarray(pvalues, dtype=float))
    except (TypeError, ValueError) as err:
        raise TneEvalTypeError(
            "pvalues must be numbers (an array, a Series or a mapping name -> "
            f"p-value) or a mapping name -> result ({err})."
        ) from err
    return pd.Series(
        _PVALUE_METHODS[method](series.to_numpy()),
        index=series.index,
        name=_column(method),
    )
