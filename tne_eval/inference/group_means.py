r"""Small-sample and few-treated inference for estimates made of weighted group means.

The computations behind ``CR2``, ``CR3``, ``WildBootstrap``, ``ConleyTaber`` and
``FermanPinto`` for :class:`~tne_eval.inference.scores.InfluenceScores` that carry
a :class:`~tne_eval.inference.scores.GroupMeans` decomposition (``att_gt``,
``aggregate``, ``did_2x2``). Every number is computed by the array-level
functions (:func:`~tne_eval.inference.small_sample.diagonal_cr_vcov`,
:func:`~tne_eval.inference.small_sample.diagonal_satterthwaite_df`,
:func:`~tne_eval.inference.small_sample.diagonal_imbens_kolesar_df`,
:func:`~tne_eval.inference.wild.score_wild_bootstrap`,
:func:`~tne_eval.inference.few_treated.conley_taber`,
:func:`~tne_eval.inference.few_treated.ferman_pinto`); this module only says what
their inputs are.

Notation: the estimates are :math:`\hat\theta_j = \sum_P c_{Pj}\hat\mu_P` for
weighted group means ("parts") :math:`\hat\mu_P`; :math:`\bar s_{gP}` is the sum
over cluster ``g`` of part ``P``'s influence function divided by ``n``, and
:math:`\ell_{gP} = h_{gP}/\sum_h h_{hP}` the cluster's share of the part's weight
(its leverage).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from tne_eval.errors import InferenceError
from tne_eval.inference import few_treated, small_sample, wild
from tne_eval.inference.influence import analytic_from_influence
from tne_eval.inference.output import Inferred
from tne_eval.inference.sandwich import BootstrapTestInferred
from tne_eval.inference.spec import (
    CR2,
    CR3,
    Cluster,
    ConleyTaber,
    FermanPinto,
    WildBootstrap,
)
from tne_eval.notes import Note, NoteKind

if TYPE_CHECKING:
    from tne_eval.inference.scores import GroupMeans, InfluenceScores

__all__ = [
    "ClusterContributions",
    "cluster_contributions",
    "few_treated_from_influence",
    "small_sample_from_influence",
    "wild_from_influence",
    "wild_test",
]


@dataclass(frozen=True)
class _Setup:
    dec: GroupMeans
    code: np.ndarray
    n_clusters: int
    weight: sparse.csc_array  # (G, P)
    label: str


def _setup(inference: object, store: InfluenceScores) -> _Setup:
    name = type(inference).__name__
    dec = store.decomposition
    if dec is None or store.estimates is None:
        raise InferenceError(
            f"{name} needs the decomposition of each estimate into weighted group "
            "means (each cluster's leverage), which att_gt, aggregate and did_2x2 "
            "store; these influence functions carry none. Use Cluster() or "
            "MultiplierBootstrap()."
        )
    if store.clustered:
        code = np.asarray(store.cluster_code)
        g = store.n_clusters
        label = repr(store.cluster_column)
    else:
        code = np.arange(store.n)
        g = store.n
        label = f"none (independent {store.ids.name or 'row'!r} rows)"
    if g < 2:
        raise InferenceError(
            f"{name} needs at least 2 clusters ({store.cluster_column!r} has {g})."
        )
    weight = dec.part_weight(None if not store.clustered else code, g)
    return _Setup(dec, code, g, sparse.csc_array(weight), label)


def _check_leverages(setup: _Setup, name: str) -> None:
    """Refuse a part carried by a single cluster (leverage 1), naming its cohort."""
    w = setup.weight
    totals = np.asarray(w.sum(axis=0)).ravel()
    top = np.asarray(w.max(axis=0).toarray()).ravel() / np.where(
        totals > 0, totals, 1.0
    )
    bad = np.flatnonzero(top > 1 - 1e-10)
    if bad.size == 0:
        return
    dec = setup.dec
    what: list[str] = []
    for p in bad:
        role = "treated" if dec.treated[p] else "comparison"
        cohort = dec.cohort[p]
        where = f"cohort {cohort:g}" if np.isfinite(cohort) else "pooled cohorts"
        text = f"the {role} group of {where}"
        if text not in what:
            what.append(text)
    raise InferenceError(
        f"{name}: {', '.join(what)} lies in a single cluster (leverage 1), so no "
        "leave-one-cluster-out estimate or CR2 adjustment exists. With one treated "
        "cluster use ConleyTaber() or FermanPinto() (or randomization_test)."
    )


def _exact_note(dec: GroupMeans) -> str:
    if dec.exact:
        return (
            "Leverages are the clusters' shares of each group mean (and of the "
            "cohort-share weights); for method='reg' without covariates on a "
            "balanced panel they are the exact Jacobian, so CR3 is the exact "
            "leave-one-cluster-out jackknife."
        )
    return (
        "Leverages are the clusters' shares of each group mean (treated cohort, "
        "comparison group); with covariates, ipw/dr, repeated cross-sections or "
        "unbalanced='keep' they ignore the nuisance models' own leverage: an "
        "approximation (exact for method='reg' without covariates on a balanced "
        "panel)."
    )


def small_sample_from_influence(
    inference: CR2 | CR3, store: InfluenceScores
) -> Inferred:
    r"""CR2 (Satterthwaite or Imbens-Kolesár df) or CR3 (:math:`t_{G-1}`) from group means.

    :math:`V = \sum_g C'(t_g\circ\bar s_g)(t_g\circ\bar s_g)'C` with
    :math:`t_{gP} = (1-\ell_{gP})^{-1/2}` (CR2) or :math:`(1-\ell_{gP})^{-1}`
    (CR3), by :func:`~tne_eval.inference.small_sample.diagonal_cr_vcov`; CR2
    degrees of freedom by estimate from
    :func:`~tne_eval.inference.small_sample.diagonal_satterthwaite_df` or
    (``CR2(df="imbens_kolesar")``)
    :func:`~tne_eval.inference.small_sample.diagonal_imbens_kolesar_df` with the
    parts' signs (``GroupMeans.sign``).

    Raises
    ------
    InferenceError
        No decomposition, fewer than two clusters, a part in a single cluster;
        for ``imbens_kolesar``, a decomposition without signs, an estimate
        using a pooled part of mixed sign without the cells' parts
        (``GroupMeans.stacked``), or (aggregates of repeated cross-sections and
        of ``unbalanced="keep"`` panels) a cell's group in a single cluster.

    Notes
    -----
    Imbens-Kolesár df of aggregates of repeated cross-sections and of panels
    fitted with ``unbalanced="keep"``: their pooled treated part averages post
    (+) and base (-) rows, which have no single residual, so the df is computed
    on ``GroupMeans.stacked``, the cells' own signed group means combined with
    the aggregate's cell weights: the df of the same contrast's CR2 t-test in
    the stacked regression of the cells' group means. Two things are
    approximated: that regression's CR2 adjustment uses each group's own
    leverage where the reported variance uses the pooled part's (the
    :math:`a`-weighted mean of them); and the estimated cohort-share term of
    the aggregate's influence function, a function of the cohort labels only
    with no outcome residual, is left out of the working model (the model
    holds the design fixed; the term is zero when the cells' effects are
    equal).
    """
    name = type(inference).__name__
    setup = _setup(inference, store)
    _check_leverages(setup, name)
    dec, g = setup.dec, setup.n_clusters
    kind = "CR3" if isinstance(inference, CR3) else "CR2"
    combine = np.asarray(dec.combine)
    vcov = small_sample.diagonal_cr_vcov(
        dec.parts, setup.code, weight=setup.weight, contrast=combine, kind=kind
    )
    if kind == "CR3":
        dof: float | np.ndarray = float(g - 1)
        description = (
            f"CR3 cluster jackknife by {setup.label} ({g} clusters), t({g - 1})"
        )
        text = (
            f"CR3 (leave-one-cluster-out jackknife, one Newton step) standard errors "
            f"by {setup.label} ({g} clusters), t({g - 1}) critical values. "
        )
    elif inference.df == "imbens_kolesar":
        dof, cells_text = _imbens_kolesar(setup, combine)
        description = (
            f"CR2 (Bell-McCaffrey) by {setup.label} ({g} clusters), Imbens-Kolesar "
            "df by term"
        )
        text = (
            f"CR2 (Bell-McCaffrey) standard errors by {setup.label} ({g} clusters); "
            "t critical values with Imbens-Kolesar degrees of freedom by term "
            f"({_span(dof)}), under Moulton's working model: the errors of a "
            "cluster share a random effect across the group means of the estimate "
            "(its equivalent stacked regression), its variance and the "
            "idiosyncratic one estimated from the group-mean residuals. " + cells_text
        )
    else:
        dof = small_sample.diagonal_satterthwaite_df(
            dec.parts, setup.code, weight=setup.weight, contrast=combine, kind="CR2"
        )
        description = (
            f"CR2 (Bell-McCaffrey) by {setup.label} ({g} clusters), Satterthwaite df "
            "by term"
        )
        text = (
            f"CR2 (Bell-McCaffrey) standard errors by {setup.label} ({g} clusters) "
            "under the working model of independent clusters with variance "
            "proportional to their weight; t critical values with Satterthwaite "
            f"degrees of freedom by term ({_span(dof)}). "
        )
    return Inferred.analytic(
        vcov,
        dof=dof,
        n_clusters=g,
        description=description,
        clusters=setup.label,
        note=Note(text + _exact_note(dec), NoteKind.INFERENCE),
    )


def _span(dof: np.ndarray) -> str:
    shown = dof[np.isfinite(dof)]
    return f"from {np.min(shown):.3g} to {np.max(shown):.3g}" if shown.size else "none"


#: Said in the note when the df of aggregates comes from the cells' own parts.
_CELLS_TEXT = (
    "For these aggregates (repeated cross-sections, or unbalanced='keep') the "
    "degrees of freedom are those of the same t-test in the stacked regression of "
    "the cells' own group means (each period's rows with their sign), with each "
    "group's own leverage in the CR2 adjustment; the estimated cohort-share term "
    "of the standard errors has no row residual and is left out of the working "
    "model (it vanishes when the cells' effects are equal). "
)


def _imbens_kolesar(setup: _Setup, combine: np.ndarray) -> tuple[np.ndarray, str]:
    """Imbens-Kolesar df of every estimate (NaN where it has none), and a note text.

    Aggregates whose pooled treated parts mix post (+) and base (-) rows
    (``GroupMeans.sign`` 0) use the cells' own signed parts
    (``GroupMeans.stacked``), the cohort-share term left out.
    """
    dec = setup.dec
    if dec.sign is None:
        raise InferenceError(
            "CR2(df='imbens_kolesar') needs the sign with which each group mean "
            "enters the estimates (GroupMeans.sign) to recover the residuals of its "
            "working model; this decomposition does not carry it. Use "
            "CR2(df='satterthwaite')."
        )
    sign = np.asarray(dec.sign)
    mixed = np.any((combine != 0) & (sign == 0)[:, None], axis=0)
    if mixed.any() and dec.stacked is not None:
        # aggregates of repeated cross-sections / unbalanced='keep': the cells' own
        # signed group means (the cohort-share term left out of the working model)
        cells = dec.stacked
        weight = sparse.csc_array(cells.part_weight(setup.code, setup.n_clusters))
        cell_setup = _Setup(cells, setup.code, setup.n_clusters, weight, setup.label)
        try:
            _check_leverages(cell_setup, "CR2(df='imbens_kolesar')")
        except InferenceError as err:
            raise InferenceError(
                f"{str(err).split(' (leverage 1)')[0]} (leverage 1): the stacked "
                "regression of the cells' group means on which the Imbens-Kolesar df "
                "of this aggregate is computed has no CR2 adjustment there, although "
                "the aggregate's pooled CR2 standard errors exist. Use "
                "CR2(df='satterthwaite') for this aggregate."
            ) from err
        dof = small_sample.diagonal_imbens_kolesar_df(
            cells.parts,
            setup.code,
            row_weight=cells.weights,
            contrast=np.asarray(cells.combine),
            sign=np.asarray(cells.sign),
        )
        return dof, _CELLS_TEXT
    if mixed.any():
        raise InferenceError(
            f"CR2(df='imbens_kolesar'): {int(mixed.sum())} estimate(s) pool the "
            "treated rows of several periods with both signs (GroupMeans.sign 0) "
            "and the decomposition does not carry the cells' own group means "
            "(GroupMeans.stacked, which aggregate stores), so no row has a single "
            "residual and Moulton's working model has no stacked regression to "
            "live in. Aggregate the att_gt result with tne.aggregate, or use "
            "CR2(df='satterthwaite')."
        )
    dof = small_sample.diagonal_imbens_kolesar_df(
        dec.parts,
        setup.code,
        row_weight=dec.weights,
        contrast=combine,
        sign=np.where(sign == 0, 1.0, sign),
    )
    return dof, ""


def _cluster_sums(setup: _Setup, n: int) -> sparse.csc_array:
    parts = sparse.csc_array(setup.dec.parts)
    indicator = sparse.csr_array(
        (np.ones(n), (setup.code, np.arange(n))), shape=(setup.n_clusters, n)
    )
    return sparse.csc_array(indicator @ parts) / n


def _wild_test(setup, sums, store, j, inference, alpha, conf_int):
    combine = np.asarray(setup.dec.combine)
    est = float(store.estimates[j])
    nz = np.flatnonzero(combine[:, j])
    if nz.size == 0 or not np.isfinite(est):
        return None
    c = combine[nz, j]
    theta = np.zeros(nz.size)
    theta[0] = est / c[0]  # only c'theta enters
    g = setup.n_clusters
    return wild.score_wild_bootstrap(
        sums[:, nz].toarray() * g,  # one row per cluster; the function divides by G
        np.arange(g),
        theta,
        contrast=c,
        hessian=setup.weight[:, nz].toarray(),
        impose_null=inference.impose_null,
        weight_type=inference.weights,
        reps=inference.reps,
        seed=inference.seed,
        alpha=alpha,
        conf_int=conf_int,
    )


def wild_test(
    store: InfluenceScores,
    j: int,
    inference: WildBootstrap,
    *,
    alpha: float = 0.05,
    conf_int: bool = True,
) -> wild.WildBootstrapResult | None:
    """Run the score wild bootstrap test of estimate ``j`` = 0 as the registry does.

    ``None`` when the estimate has no influence function (a reference cell).
    """
    setup = _setup(inference, store)
    sums = _cluster_sums(setup, store.n)
    return _wild_test(setup, sums, store, j, inference, alpha, conf_int)


def wild_from_influence(inference: WildBootstrap, store: InfluenceScores) -> Inferred:
    r"""Score wild bootstrap of every estimate, p-values and intervals by inversion.

    For estimate ``j``: :func:`~tne_eval.inference.wild.score_wild_bootstrap` on
    the cluster sums of the parts it uses, with their diagonal hessian (each
    cluster's weight in each part), contrast :math:`c_j` and the null imposed by
    one Newton step (``impose_null=True``, restricted) or not. Standard errors are
    the CR1-type ones of ``Cluster()`` that the bootstrap studentizes with.
    """
    setup = _setup(inference, store)
    if inference.impose_null:
        _check_leverages(setup, "WildBootstrap(impose_null=True)")
    dec, g = setup.dec, setup.n_clusters
    sums = _cluster_sums(setup, store.n)
    base = analytic_from_influence(Cluster(), store)

    def run(j: int, alpha: float, conf_int: bool):
        return _wild_test(setup, sums, store, j, inference, alpha, conf_int)

    # intervals at the usual level come with the tests (one pass per estimate)
    tests = [run(j, 0.05, conf_int=True) for j in range(store.k)]
    done = [t for t in tests if t is not None]
    at_05 = (
        np.array([np.nan if t is None else t.conf_int[0] for t in tests]),
        np.array([np.nan if t is None else t.conf_int[1] for t in tests]),
    )
    if not done:
        raise InferenceError("WildBootstrap: no estimate has influence functions.")

    def invert(alpha: float) -> tuple[np.ndarray, np.ndarray]:
        low, high = np.full(store.k, np.nan), np.full(store.k, np.nan)
        for j in range(store.k):
            res = run(j, alpha, conf_int=True)
            if res is not None:
                low[j], high[j] = res.conf_int
        return low, high

    kind = "restricted (WCR)" if inference.impose_null else "unrestricted (WCU)"
    distinct = min(t.n_distinct for t in done)
    text = (
        f"Score wild cluster bootstrap by {setup.label} ({g} clusters), {kind}, "
        f"{inference.weights} weights, {done[0].reps} draws"
        + (" (every sign pattern enumerated)" if done[0].enumerated else "")
        + ": p-values of each estimate = 0 and intervals by test inversion, the "
        "null imposed by one Newton step with the group-mean leverages; at least "
        f"{distinct} distinct bootstrap t values. Standard errors are the analytic "
        "cluster ones (G/(G-1)). " + (_exact_note(dec) if inference.impose_null else "")
    )
    return BootstrapTestInferred(
        std_errors=base.std_errors,
        vcov=base.vcov,
        dof=None,
        n_clusters=g,
        description=f"score wild bootstrap {kind} by {setup.label} ({g} clusters)",
        clusters=setup.label,
        notes=(Note(text.strip(), NoteKind.INFERENCE),),
        boot_pvalues=np.array([np.nan if t is None else t.p_value for t in tests]),
        invert=invert,
        _intervals={0.05: at_05},
    )


@dataclass(frozen=True)
class ClusterContributions:
    r"""One estimate written as treated-cluster minus comparison-cluster means.

    The inputs of :func:`~tne_eval.inference.few_treated.conley_taber` and
    :func:`~tne_eval.inference.few_treated.ferman_pinto` for one estimate.

    Attributes
    ----------
    cluster : ndarray of int
        Codes of the clusters the estimate uses.
    delta : ndarray
        Each cluster's contribution :math:`\Delta_g`.
    treated : ndarray of bool
    weights : ndarray
        :math:`\omega_g`, the cluster's mean leverage on the treated (or
        comparison) parts.
    sizes : ndarray
        Rows (units; observations for repeated cross-sections) behind the
        cluster's contribution.
    cohort : float
    """

    cluster: np.ndarray
    delta: np.ndarray
    treated: np.ndarray
    weights: np.ndarray
    sizes: np.ndarray
    cohort: float


def cluster_contributions(store: InfluenceScores, j: int) -> ClusterContributions:
    r"""Per-cluster contributions of estimate ``j`` for Conley-Taber and Ferman-Pinto.

    Parameters
    ----------
    store : InfluenceScores
        With a :class:`~tne_eval.inference.scores.GroupMeans` decomposition and
        the estimates.
    j : int
        Position of the estimate.

    Returns
    -------
    ClusterContributions

    Raises
    ------
    InferenceError
        No decomposition; the estimate pools several treated cohorts (the
        methods compare each treated cluster's shock with the comparison
        clusters' shocks over the *same* cells, so they need one cohort); a
        cluster is both treated and comparison in the estimate; or it has no
        treated or fewer than two comparison clusters.

    Notes
    -----
    With :math:`u^T_g = \sum_{P\ \mathrm{treated}}c_{Pj}\bar s_{gP}` (the
    cluster's share of the estimate's influence function over its treated
    parts) and :math:`\omega^T_g = \sum_P|c_{Pj}|\ell_{gP}/\sum_P|c_{Pj}|`,
    a treated cluster contributes

    .. math::

        \Delta_g = \hat\theta_j + u^T_g/\omega^T_g - \textstyle\sum_hu^T_h/
        \sum_h\omega^T_h,

    and a comparison cluster (its parts signed as they enter :math:`\hat\theta_j`)
    :math:`\Delta_g = -(u^C_g/\omega^C_g - \sum_hu^C_h/\sum_h\omega^C_h)`, with
    weights :math:`\omega_g`. For a 2x2 of weighted means (``reg`` without
    covariates) :math:`u_g/\omega_g` is the deviation of the cluster's weighted
    mean outcome change from its group's mean, so :math:`\Delta_g` is the
    cluster's mean change up to a constant shift of each group, which neither
    method sees: ``conley_taber(delta, treated, weights=weights)`` then equals the
    Conley-Taber procedure on department means of the outcome change, its
    estimate :math:`\hat\theta_j` exactly. Otherwise :math:`\Delta_g` carries the
    nuisance models' influence as well. ``sizes`` are the rows of the cluster in
    the estimate's groups (mean over parts, weighted as :math:`\omega`),
    Ferman-Pinto's :math:`M_g`.
    """
    dec = store.decomposition
    if dec is None or store.estimates is None:
        raise InferenceError(
            "Conley-Taber and Ferman-Pinto need the decomposition of the estimates "
            "into group means, which these influence functions do not carry."
        )
    theta = float(store.estimates[j])
    c = np.asarray(dec.combine)[:, j]
    tm = np.asarray(dec.treated, dtype=bool)
    tp, cp = np.flatnonzero((c != 0) & tm), np.flatnonzero((c != 0) & ~tm)
    if not np.isfinite(theta) or tp.size == 0 or cp.size == 0:
        raise InferenceError("the estimate has no treated and comparison groups")
    cohorts = np.unique(np.asarray(dec.cohort)[tp])
    if cohorts.size != 1 or not np.isfinite(cohorts[0]):
        raise InferenceError(
            "the estimate pools several treated cohorts; Conley-Taber and "
            "Ferman-Pinto compare each treated cluster with comparison clusters over "
            "the same cells, so they apply to one cohort at a time (ATT(g,t) cells, "
            "kind='group' rows g=..., or aggregate a single cohort)"
        )
    code = np.asarray(store.cluster_code) if store.clustered else None
    g = store.n_clusters if store.clustered else store.n
    n = store.n
    setup = _Setup(dec, np.arange(n) if code is None else code, g, None, "")
    sums = _cluster_sums(setup, n)
    weight = sparse.csc_array(dec.part_weight(code, g))
    count = sparse.csc_array(dec.part_count(code, g))
    totals = np.asarray(weight.sum(axis=0)).ravel()

    def side(parts: np.ndarray):
        coef = c[parts]
        share = np.abs(coef) / np.abs(coef).sum()
        u = np.asarray(sums[:, parts] @ coef).ravel()
        omega = np.asarray(weight[:, parts] @ (share / totals[parts])).ravel()
        size = np.asarray(count[:, parts] @ share).ravel()
        return u, omega, size

    u_t, om_t, size_t = side(tp)
    u_c, om_c, size_c = side(cp)
    is_t, is_c = om_t > 0, om_c > 0
    if np.any(is_t & is_c):
        raise InferenceError(
            f"{int(np.sum(is_t & is_c))} cluster(s) hold both treated and comparison "
            "rows of the estimate; Conley-Taber and Ferman-Pinto need treatment "
            "assigned to whole clusters (use control_group='never_treated' and "
            "clusters at the level of assignment)"
        )
    d_t = theta + u_t[is_t] / om_t[is_t] - u_t[is_t].sum() / om_t[is_t].sum()
    d_c = -(u_c[is_c] / om_c[is_c] - u_c[is_c].sum() / om_c[is_c].sum())
    clusters = np.r_[np.flatnonzero(is_t), np.flatnonzero(is_c)]
    return ClusterContributions(
        cluster=clusters,
        delta=np.r_[d_t, d_c],
        treated=np.r_[np.ones(d_t.size, bool), np.zeros(d_c.size, bool)],
        weights=np.r_[om_t[is_t], om_c[is_c]],
        sizes=np.r_[size_t[is_t], size_c[is_c]],
        cohort=float(cohorts[0]),
    )


def few_treated_from_influence(
    inference: ConleyTaber | FermanPinto, store: InfluenceScores
) -> Inferred:
    r"""Conley-Taber or Ferman-Pinto p-values and intervals of every estimate.

    Each estimate is written as treated minus comparison cluster means
    (:func:`cluster_contributions`) and passed to
    :func:`~tne_eval.inference.few_treated.conley_taber` or
    :func:`~tne_eval.inference.few_treated.ferman_pinto` (``sizes``: the rows of
    each cluster in the estimate's groups, e.g. schools per department). An
    estimate the method does not apply to (one pooling several cohorts) gets NaN
    p-values and intervals and a note; if none applies the error says why.
    Standard errors are the analytic cluster ones.
    """
    name = type(inference).__name__
    _setup(inference, store)
    fp = isinstance(inference, FermanPinto)
    inputs: list[ClusterContributions | None] = []
    reasons: dict[str, list[int]] = {}
    for j in range(store.k):
        try:
            inputs.append(cluster_contributions(store, j))
        except InferenceError as err:
            inputs.append(None)
            reasons.setdefault(str(err), []).append(j)

    def run(j: int, alpha: float):
        x = inputs[j]
        if x is None:
            return None
        kwargs = dict(
            weights=x.weights, alpha=alpha, reps=inference.reps, seed=inference.seed
        )
        if fp:
            return few_treated.ferman_pinto(x.delta, x.treated, x.sizes, **kwargs)
        return few_treated.conley_taber(x.delta, x.treated, **kwargs)

    results = []
    for j in range(store.k):
        try:
            results.append(run(j, 0.05))
        except InferenceError as err:
            inputs[j] = None
            results.append(None)
            reasons.setdefault(str(err).rstrip("."), []).append(j)
    done = [r for r in results if r is not None]
    if not done:
        why = "; ".join(reasons) or "no estimate"
        raise InferenceError(f"{name} applies to none of the estimates: {why}.")

    def invert(alpha: float) -> tuple[np.ndarray, np.ndarray]:
        low, high = np.full(store.k, np.nan), np.full(store.k, np.nan)
        for j in range(store.k):
            res = run(j, alpha)
            if res is not None:
                low[j], high[j] = res.conf_int
        return low, high

    base = analytic_from_influence(Cluster(), store)
    label = repr(store.cluster_column) if store.clustered else "rows"
    method = "Ferman-Pinto" if fp else "Conley-Taber"
    n1 = sorted({r.n_treated for r in done})
    text = (
        f"{method} inference by {label}: each estimate written as its treated "
        "clusters' mean minus its comparison clusters' mean (contributions from the "
        "influence functions of the group means), the distribution of the estimation "
        "error from the comparison clusters' residual contributions"
        + (
            ", rescaled by the variance function A + B/M of the rows per cluster"
            if fp
            else ""
        )
        + f"; {', '.join(str(v) for v in n1)} treated cluster(s); p-values of "
        "estimate = 0 and intervals by inversion (equal-tailed). Standard errors are "
        "the analytic cluster ones."
    )
    notes = [Note(text, NoteKind.INFERENCE)]
    for why, js in reasons.items():
        notes.append(
            Note(
                f"{method} not computed for {len(js)} estimate(s) (NaN p-value and "
                f"interval): {why}.",
                NoteKind.INFERENCE,
            )
        )
    return BootstrapTestInferred(
        std_errors=base.std_errors,
        vcov=base.vcov,
        dof=None,
        n_clusters=base.n_clusters,
        description=f"{method} by {label} ({store.n_clusters} clusters)",
        clusters=label,
        notes=tuple(notes),
        boot_pvalues=np.array([np.nan if r is None else r.p_value for r in results]),
        invert=invert,
    )
