"""Aggregation of ATT(g,t) into simple, dynamic, group and calendar effects."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse

from tne_eval._validation import check_alpha, check_choice, check_int
from tne_eval.did.results import AggregateResult, GroupTimeResult, require_group_time
from tne_eval.errors import SpecError, TneEvalTypeError
from tne_eval.inference.registry import infer, resolve
from tne_eval.inference.scores import GroupMeans, InfluenceScores
from tne_eval.notes import INFERENCE_KINDS

__all__ = ["aggregate"]

Kind = Literal["simple", "dynamic", "group", "calendar"]


def _weights_influence(
    keep: np.ndarray,
    cell_cohort: np.ndarray,
    att: np.ndarray,
    pg: dict,
    unit_cohort_code: np.ndarray,
    cohort_values: np.ndarray,
    unit_w: np.ndarray,
) -> np.ndarray:
    r"""Influence of estimating the cohort-share weights (R did's ``wif``), times att.

    For kept cells :math:`k` with cohort shares :math:`p_k`, :math:`S=\sum_k p_k`,
    returns :math:`\sum_k a_k \psi^{w}_{k}` with
    :math:`\psi^w_{k,i} = (w_i 1\{G_i=g_k\} - p_k)/S -
    \sum_l (w_i 1\{G_i=g_l\} - p_l)\, p_k / S^2`. ``unit_cohort_code`` indexes
    ``cohort_values`` (-1 for never-treated units).
    """
    gk, ak = cell_cohort[keep], att[keep]
    pk = np.array([pg[g] for g in gk])
    s = pk.sum()
    # per cohort: sum of att over kept cells and their count (last slot: never)
    pos = np.searchsorted(cohort_values, gk)
    a_by = np.zeros(cohort_values.size + 1)
    n_by = np.zeros(cohort_values.size + 1)
    np.add.at(a_by, pos, ak)
    np.add.at(n_by, pos, 1.0)
    a_unit = a_by[unit_cohort_code]
    n_unit = n_by[unit_cohort_code]
    term1 = (unit_w * a_unit - (ak * pk).sum()) / s
    term2 = (unit_w * n_unit - pk.sum()) * (pk * ak).sum() / s**2
    return term1 - term2


def aggregate(
    result: GroupTimeResult,
    kind: Kind = "simple",
    *,
    balance_e: int | None = None,
    min_e: float | None = None,
    max_e: float | None = None,
    inference: object | None = None,
    alpha: float | None = None,
) -> AggregateResult:
    r"""Aggregate ATT(g,t) without refitting, as R ``did``'s ``aggte``.

    Parameters
    ----------
    result : GroupTimeResult
        Output of :func:`tne_eval.att_gt`.
    kind : {"simple", "dynamic", "group", "calendar"}, default "simple"
        ``simple``: post-treatment cells weighted by cohort size. ``dynamic``:
        by event time :math:`e = t - g`, cohorts weighted by size; overall = mean
        over :math:`e \ge 0`. ``group``: by cohort, mean over its post periods;
        overall weighted by cohort size. ``calendar``: by period, treated cohorts
        weighted by size; overall = mean over periods.
    balance_e : int, optional
        ``dynamic`` only: keep cohorts observed at least ``balance_e`` periods
        after treatment and event times in ``[balance_e - (T_max - T_min),
        balance_e]``, so that the composition does not change with :math:`e`.
    min_e, max_e : float
        ``dynamic``: event times kept. ``simple`` and ``group``: post-treatment
        cells with :math:`e \le` ``max_e`` (as ``aggte``).
    inference : optional
        Override the inference of ``result`` (e.g. a bootstrap after an analytic
        fit). Defaults to the result's.
    alpha : float, optional
        Defaults to the result's.

    Returns
    -------
    AggregateResult
        ``to_frame()``: ``kind``, the key (``event_time``/``cohort``/``time``) and
        the statistics; the ``overall`` row (``ATT`` for simple) first.

    Raises
    ------
    SpecError
        Unknown ``kind``, or event times that do not exist.

    Notes
    -----
    Cohort shares :math:`\hat p_g` (weighted share of units in cohort :math:`g`)
    are estimated, and their influence function is added to the aggregated one,
    as in R ``did``: for weights :math:`\hat p_k/\sum_l \hat p_l` the aggregated
    influence function is :math:`\sum_k w_k\psi_k + \sum_k \widehat{ATT}_k
    \psi^{w}_k`. Validated against R ``did``'s printed aggregations on mpdta and
    against ``moderndid`` over a grid of options.

    The cells' split into weighted group means is carried over (the treated
    parts and the cohort-share term pooled into one group mean per ratio of
    cohort shares), so ``CR2()``, ``CR3()``, ``WildBootstrap()``,
    ``ConleyTaber()`` and ``FermanPinto()`` apply to the aggregates; CR3 is the
    exact leave-one-cluster-out jackknife for ``method="reg"`` without
    covariates on a balanced panel with treatment assigned to whole clusters
    (tested against refits). ``CR2(df="imbens_kolesar")`` applies to every
    aggregate; for repeated cross-sections and ``unbalanced="keep"`` panels its
    degrees of freedom come from the stacked regression of the cells' own group
    means, the estimated cohort-share term left out of the working model (see
    :class:`~tne_eval.CR2`).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import tne_eval as tne
    >>> rng = np.random.default_rng(1)
    >>> n, years = 300, np.arange(2016, 2022)
    >>> cohort = rng.choice([2019, 2020, 0], size=n)
    >>> df = pd.DataFrame({"school": np.repeat(np.arange(n), years.size),
    ...                    "year": np.tile(years, n), "g": np.repeat(cohort, years.size)})
    >>> df["y"] = 0.5 * (df.year - 2016) + 2.0 * ((df.g > 0) & (df.year >= df.g))
    >>> gt = tne.att_gt(df, tne.PanelSpec(unit="school", time="year", outcome="y",
    ...                                   cohort="g"), method="reg")
    >>> es = tne.aggregate(gt, kind="dynamic")
    >>> es.estimates.round(6).to_dict()["e=0"], es.estimates.round(6).to_dict()["e=-1"]
    (2.0, 0.0)
    >>> round(float(tne.aggregate(gt, kind="simple").estimates["ATT"]), 6)
    2.0
    """
    require_group_time(result, "aggregate")
    check_choice(kind, "kind", ("simple", "dynamic", "group", "calendar"))
    alpha = result.alpha if alpha is None else check_alpha(alpha)
    min_e = _check_event_bound(min_e, "min_e", -np.inf)
    max_e = _check_event_bound(max_e, "max_e", np.inf)
    if min_e > max_e:
        raise SpecError(
            f"min_e={min_e:g} is larger than max_e={max_e:g}: no event time is kept. "
            "Give min_e <= max_e."
        )
    if kind != "dynamic" and np.isfinite(min_e):
        raise SpecError(
            f"min_e applies to kind='dynamic' only (got kind={kind!r}); simple and "
            "group aggregations keep post-treatment cells up to max_e, as R did's aggte."
        )
    if kind == "calendar" and np.isfinite(max_e):
        raise SpecError(
            "max_e does not apply to kind='calendar' (it averages every treated cohort "
            "in each period, as R did's aggte); drop max_e or use kind='dynamic'."
        )
    if balance_e is not None:
        if kind != "dynamic":
            raise SpecError("balance_e applies to kind='dynamic' only.")
        balance_e = check_int(balance_e, "balance_e", minimum=0)
    inf = (
        result.inference
        if inference is None
        else resolve(inference, estimator="aggregate", store_type=InfluenceScores)
    )
    table = result.table
    att = table["estimate"].to_numpy(dtype=float)
    g = table["cohort"].to_numpy(dtype=float)
    t = table["time"].to_numpy(dtype=float)
    e = t - g
    store = result.scores
    infl = store.values
    unit_cohort = store.row_cohort
    unit_w = store.row_weights
    cohort_values = np.unique(g)
    code = np.searchsorted(cohort_values, unit_cohort)
    unit_cohort_code = np.where(
        (code < cohort_values.size)
        & (cohort_values[np.minimum(code, cohort_values.size - 1)] == unit_cohort),
        code,
        cohort_values.size,  # never-treated (or cohort without cells)
    )
    counts = np.bincount(unit_cohort_code, weights=unit_w, minlength=cohort_values.size)
    pg = {c: float(counts[i] / unit_w.size) for i, c in enumerate(cohort_values)}
    post = g <= t
    ok = np.isfinite(att)

    rows: list[tuple[str, float, float, np.ndarray, dict]] = []  # term, key, est, IF
    # each "ratio" estimate: cell weights and the estimated-shares IF (or None)
    ratios: list[tuple[np.ndarray, np.ndarray | None]] = []

    def combine(keep: np.ndarray, weights: np.ndarray, with_wif: bool):
        est = float(weights @ att[keep])
        full = np.zeros(att.size)
        full[keep] = weights
        phi = infl @ full  # one pass over the stored influence functions
        wif = None
        if with_wif:
            wif = _weights_influence(
                keep, g, att, pg, unit_cohort_code, cohort_values, unit_w
            )
            phi += wif
        ratios.append((full, wif))
        return est, phi, {len(ratios) - 1: 1.0}

    def mean_of(recipes: list[dict]) -> dict:
        out: dict[int, float] = {}
        for rec in recipes:
            for r, coef in rec.items():
                out[r] = out.get(r, 0.0) + coef / len(recipes)
        return out

    def shares(keep: np.ndarray) -> np.ndarray:
        p = np.array([pg[c] for c in g[keep]])
        return p / p.sum()

    if kind == "simple":
        keep = post & (e <= max_e) & ok
        _require(keep, "post-treatment cells")
        est, phi, rec = combine(keep, shares(keep), True)
        rows.append(("ATT", np.nan, est, phi, rec))
    elif kind == "dynamic":
        include = np.ones_like(att, dtype=bool)
        t_min, t_max = float(np.min(t)), float(np.max(t))
        eseq = np.unique(e)
        if balance_e is not None:
            include = (t_max - g) >= balance_e
            eseq = np.unique(e[include])
            eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - t_max + t_min)]
        eseq = eseq[(eseq >= min_e) & (eseq <= max_e)]
        if eseq.size == 0:
            raise SpecError(
                f"No event time in [{min_e:g}, {max_e:g}] exists; available event times: "
                f"{', '.join(str(int(v)) for v in np.unique(e))}."
            )
        per_e = []
        for ev in eseq:
            keep = (e == ev) & include & ok
            if not keep.any():
                continue
            per_e.append((ev, *combine(keep, shares(keep), True)))
        pos = [r for r in per_e if r[0] >= 0]
        if pos:
            est = float(np.mean([r[1] for r in pos]))
            phi = np.mean(np.column_stack([r[2] for r in pos]), axis=1)
            rows.append(("overall", np.nan, est, phi, mean_of([r[3] for r in pos])))
        rows += [(f"e={int(ev)}", ev, est, phi, rec) for ev, est, phi, rec in per_e]
    elif kind == "group":
        per_g = []
        for c in np.unique(g):
            keep = (g == c) & post & (e <= max_e) & ok
            if not keep.any():
                continue
            w = np.full(keep.sum(), 1.0 / keep.sum())
            per_g.append((c, *combine(keep, w, False)))
        _require(np.array([bool(per_g)]), "post-treatment cells")
        gs = np.array([r[0] for r in per_g])
        pgs = np.array([pg[c] for c in gs])
        wts = pgs / pgs.sum()
        ests = np.array([r[1] for r in per_g])
        phi = np.column_stack([r[2] for r in per_g]) @ wts
        # influence of the estimated cohort shares (one "cell" per cohort)
        wif = _weights_influence(
            np.ones(gs.size, dtype=bool),
            gs,
            ests,
            pg,
            unit_cohort_code,
            cohort_values,
            unit_w,
        )
        phi = phi + wif
        cell_w = sum(wt * ratios[next(iter(r[3]))][0] for wt, r in zip(wts, per_g))
        ratios.append((cell_w, wif))
        rows.append(("overall", np.nan, float(wts @ ests), phi, {len(ratios) - 1: 1.0}))
        rows += [(f"g={int(c)}", c, est, phi_c, rec) for c, est, phi_c, rec in per_g]
    else:  # calendar
        per_t = []
        for tt in np.unique(t[t >= np.min(g)]):
            keep = (t == tt) & post & ok
            if not keep.any():
                continue
            per_t.append((tt, *combine(keep, shares(keep), True)))
        _require(np.array([bool(per_t)]), "post-treatment cells")
        est = float(np.mean([r[1] for r in per_t]))
        phi = np.mean(np.column_stack([r[2] for r in per_t]), axis=1)
        rows.append(("overall", np.nan, est, phi, mean_of([r[3] for r in per_t])))
        rows += [(f"t={int(tt)}", tt, e_t, p_t, rec) for tt, e_t, p_t, rec in per_t]

    key = {"dynamic": "event_time", "group": "cohort", "calendar": "time"}.get(kind)
    terms = pd.Index([r[0] for r in rows], name="term")
    out_table = pd.DataFrame({"kind": kind}, index=terms)
    if key:
        out_table[key] = pd.array(
            [None if np.isnan(r[1]) else int(r[1]) for r in rows], dtype="Int64"
        )
    out_table["estimate"] = [r[2] for r in rows]
    agg_if = np.column_stack([r[3] for r in rows])
    decomposition = None
    if store.decomposition is not None:
        decomposition = _aggregate_parts(
            store, ratios, [r[4] for r in rows], g, infl.shape[1]
        )
    agg_store = store.with_values(
        agg_if,
        estimates=np.array([r[2] for r in rows], dtype=float),
        decomposition=decomposition,
    )
    inferred = infer(inf, agg_store, warn_user=False)
    options = MappingProxyType(
        {
            **dict(result.options),
            "kind": kind,
            "balance_e": balance_e,
            "min_e": None if np.isinf(min_e) else min_e,
            "max_e": None if np.isinf(max_e) else max_e,
        }
    )
    notes = tuple(n for n in result.notes if n.kind not in INFERENCE_KINDS)
    return AggregateResult(
        table=out_table,
        spec=result.spec,
        options=options,
        alpha=alpha,
        nobs=result.nobs,
        n_units=result.n_units,
        inference=inf,
        inferred=inferred,
        scores=agg_store,
        notes=notes + inferred.notes,
        provenance=_provenance(result, inf),
        kind=kind,
    )


def _aggregate_parts(
    store: InfluenceScores,
    ratios: list[tuple[np.ndarray, np.ndarray | None]],
    recipes: list[dict],
    cell_cohort: np.ndarray,
    n_cells: int,
) -> GroupMeans:
    r"""Build the group-mean decomposition of the aggregates (CR2, CR3, wild, CT, FP).

    Every aggregate is a mean of "ratio" estimates
    :math:`\sum_k a_k\widehat{ATT}_k` with cell weights :math:`a_k \ge 0` summing
    to one (the cohort shares :math:`\hat p_k/\sum_l\hat p_l`, or fixed weights).
    The comparison-group parts of the cells are kept, combined with
    :math:`a`; the treated parts of a ratio estimate and the influence of its
    estimated cohort shares (R did's ``wif``, which lives on treated rows) are
    pooled into one part: the weighted mean over the treated rows of
    :math:`z_i = \sum_k b_k(\Delta y_{ik} - \hat\mu_{C,k})/\sum_k b_k` with weights
    :math:`\omega_i = w_i\sum_{k \ni i}b_k` when :math:`a_k\propto\hat p_kb_k`. The
    leverage of a cluster on that part is its share of :math:`\omega`, which is
    :math:`\sum_k a_k\ell_{c,T_k}`, the :math:`a`-weighted mean of its leverages
    on the cells' treated parts (each treated part weighted by
    :math:`|c_P|/\sum|c|`, which splits a cell's weight equally between the two
    periods of repeated cross-sections). For ``method="reg"`` without covariates
    on a balanced panel this is the exact jackknife leverage when no cluster is
    both treated and comparison in an estimate that pools several cohorts (the
    TNE design: treatment assigned to departments, never-treated comparison
    group); the decomposition is marked ``exact`` only then.

    For repeated cross-sections and ``unbalanced="keep"`` panels a pooled
    treated part mixes post (+) and base (-) rows (sign 0), so the cells' own
    parts with their combination by the aggregates, ``comb @ a @ beta``, are kept
    as ``stacked`` (``lift``: the cells' coefficients of each part below) for the
    Imbens-Kolesár degrees of freedom; the cohort-share term has no part there.
    """
    dec = store.decomposition
    tm = np.asarray(dec.treated, dtype=bool)
    comb = np.asarray(dec.combine)
    totals = np.asarray(dec.weights.sum(axis=0)).ravel()
    totals = np.where(totals > 0, totals, 1.0)
    treated_parts = sparse.csc_array(dec.parts[:, np.flatnonzero(tm)])
    treated_w = sparse.csc_array(dec.weights[:, np.flatnonzero(tm)])
    pooled_vals, pooled_w, pooled_cohort, pooled_sign = [], [], [], []
    t_sign = None if dec.sign is None else np.asarray(dec.sign)[tm]
    a_mat = np.zeros((n_cells, len(ratios)))
    for r, (a, wif) in enumerate(ratios):
        a_mat[:, r] = a
        coef = comb[tm] @ a
        vals = treated_parts @ coef
        if wif is not None:
            vals = vals + wif
        share = np.abs(coef) / max(np.abs(coef).sum(), 1e-300)
        pooled_vals.append(vals)
        pooled_w.append(treated_w @ (share / totals[tm]))
        cohorts = np.unique(cell_cohort[a != 0])
        pooled_cohort.append(float(cohorts[0]) if cohorts.size == 1 else np.nan)
        if t_sign is not None:
            # one sign if every pooled treated part enters with it (panel), else 0
            signs = np.unique(t_sign[coef != 0])
            pooled_sign.append(float(signs[0]) if signs.size == 1 else 0.0)
    beta = np.zeros((len(ratios), len(recipes)))
    for j, rec in enumerate(recipes):
        for r, c in rec.items():
            beta[r, j] = c
    ctrl = np.flatnonzero(~tm)
    combine = np.vstack([comb[ctrl] @ (a_mat @ beta), beta])
    stacked = lift = None
    if dec.sign is not None and np.any(np.asarray(pooled_sign) == 0):
        # repeated cross-sections / unbalanced='keep': the pooled treated parts mix
        # post (+) and base (-) rows, so the Imbens-Kolesar df is computed on the
        # cells' own parts; lift maps a combination of the parts below to theirs
        lift = np.zeros((dec.n_parts, ctrl.size + len(ratios)))
        lift[ctrl, np.arange(ctrl.size)] = 1.0
        lift[np.flatnonzero(tm), ctrl.size :] = comb[tm] @ a_mat
        cell_combine = lift @ combine  # = comb @ a_mat @ beta
        used = np.any(cell_combine != 0, axis=1)
        stacked = replace(dec.with_combine(cell_combine), exact=False)
        lift = lift[used]
    out = GroupMeans(
        parts=sparse.hstack(
            [dec.parts[:, ctrl], sparse.csc_array(np.column_stack(pooled_vals))],
            format="csc",
        ),
        weights=sparse.hstack(
            [dec.weights[:, ctrl], sparse.csc_array(np.column_stack(pooled_w))],
            format="csc",
        ),
        combine=combine,
        treated=np.r_[np.zeros(ctrl.size, dtype=bool), np.ones(len(ratios), bool)],
        cohort=np.r_[np.asarray(dec.cohort)[ctrl], pooled_cohort],
        exact=False,
        sign=None
        if dec.sign is None
        else np.r_[np.asarray(dec.sign)[ctrl], np.asarray(pooled_sign, dtype=float)],
        stacked=stacked,
        lift=lift,
    )
    exact = dec.exact and _disjoint(out, store, comb, ctrl, a_mat, pooled_cohort)
    # a ratio of reference cells only (estimate 0, no influence function) has an
    # empty pooled part: drop it
    empty = np.asarray(out.weights.sum(axis=0)).ravel() <= 0
    if empty.any():
        keep = np.asarray(out.combine).copy()
        keep[empty] = 0.0
        out = out.with_combine(keep)
    return replace(out, exact=bool(exact))


def _disjoint(out, store, comb, ctrl, a_mat, pooled_cohort) -> bool:
    """No cluster both treated and comparison in a ratio that pools cohorts."""
    pw = out.part_weight(store.cluster_code, store.n_clusters)
    has = sparse.csc_array((pw > 0).astype(float))
    for r, cohort in enumerate(pooled_cohort):
        if np.isfinite(cohort):
            continue
        in_ctrl = (comb[ctrl] @ a_mat[:, r] != 0).astype(float)
        ctrl_clusters = np.asarray(has[:, : ctrl.size] @ in_ctrl).ravel() > 0
        treated_clusters = has[:, [ctrl.size + r]].toarray().ravel() > 0
        if np.any(treated_clusters & ctrl_clusters):
            return False
    return True


def _provenance(result: GroupTimeResult, inf: object):
    seed = getattr(inf, "seed", None)
    if result.provenance is None:
        return None
    seed = int(seed) if isinstance(seed, (int, np.integer)) else result.provenance.seed
    return replace(result.provenance, seed=seed)


def _check_event_bound(value: object, name: str, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TneEvalTypeError(
            f"{name} must be a number of periods (an int such as -4 or 5, or +/-inf); "
            f"got {type(value).__name__} {value!r}."
        )
    value = float(value)
    if np.isnan(value):
        raise SpecError(f"{name} is NaN; give a number of periods or None.")
    return value


def _require(keep: np.ndarray, what: str) -> None:
    if not np.any(keep):
        raise SpecError(f"There are no {what} to aggregate.")
