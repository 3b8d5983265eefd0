"""Monte Carlo study: every inference method on the same TNE-design replications.

For replication ``r = 1, ..., R`` the synthetic TNE world is simulated with seed
``base_seed + r`` (every other knob at its default: 101 departments, 12 treated,
cohorts 2020 (2 departments) and 2021 (10)), once with the programme's effects
and once as the null world of the same seed (``effect_scale=0``, identical
noise). The seeds, the sample and the estimator are those of
``studies/coverage_att_gt.py``: CM2 French score, doubly robust ATT(g,t) with the
social index, never-treated comparisons, varying base period,
``unbalanced="keep"``; then ``aggregate(kind="simple")`` and
``aggregate(kind="dynamic")``.

Estimands (:data:`TARGETS`): the simple ATT, the dynamic overall effect, the
event-time effects e = 0..4 (e = 4 rests on the 2020 cohort alone) and the
pre-period event times e = -4..-2 (truth 0 in both worlds: no anticipation).
e = -1 is left out: under the varying base period it is the 2020 and 2021
cohorts' last short difference, reported like the others but nearly identical
in information to e = -2.

Inference methods (:data:`METHODS`), each a named entry that calls
``result.with_inference(<spec>)`` on the fitted aggregate whenever the
inference registry offers that choice for influence functions
(``tne_eval.inference.registry.supported(InfluenceScores)``), and otherwise the
array-level function of :mod:`tne_eval.inference` it rests on, on the same
influence functions (the record says which was used):

``cr1``
    ``Cluster()``: CR1 by department, G/(G-1), t(G-1).
``cr2``
    ``CR2()``: Bell-McCaffrey with Satterthwaite degrees of freedom.
``cr3``
    ``CR3()``: cluster jackknife, t(G-1).
``wild_r``, ``wild_u``
    ``WildBootstrap(reps=999, weights="webb", impose_null=True|False)``: wild
    score bootstrap by department, restricted and unrestricted, interval by
    test inversion.
``conley_taber``, ``ferman_pinto``
    Conley-Taber (2011) and Ferman-Pinto (2019, heteroskedasticity by
    department size) from the departments' contributions to the estimate.
``multiplier``
    ``MultiplierBootstrap(reps=499)``: R ``did``'s multiplier bootstrap by
    department; pointwise interval and the sup-t band of the event study.
``ri``
    Randomization inference that re-draws which departments form the 2020 and
    2021 cohorts (999 draws, p-value with the observed assignment counted). The
    DR fit is too slow to re-run 999 times per world, so the statistic is a
    cheap department-level estimator of the same estimands: department-year
    means of the outcome, differences from the cohort's base year g - 1,
    treated departments weighted by their schools, regression-adjusted for the
    department mean social index among the never-treated departments. Null world
    only (the sharp null of no effect holds there and nowhere else); its
    joint tests are the maximum over terms of the statistic standardized by
    its randomization SD.

The array-level adapters (used while the registry does not offer a method for
influence functions) write each scalar estimand, as the pre-trend tests of
:func:`tne_eval.did.pre_trend_tests` do, as a contrast of the means of three
groups of schools (2020 cohort, 2021 cohort, never treated) with group-mean
leverages (:func:`tne_eval.inference.small_sample.group_mean_hessian`): each
department's leverage is its share of its group, which is what the few-treated
corrections need. With the social index and ``dr`` these leverages ignore the
nuisance models (an approximation, as documented for the pre-trend tests).

Each replication also records every pre-trend test of
:func:`tne_eval.did.pre_trend_tests` and the pooled Wald test (``gt.pretest``),
in the world with effects (their pre-period cells are identical in the null
world of the same seed).

Per-replication records are appended to a JSON-lines file as they are computed,
so an interrupted run resumes where it stopped (same settings required). The
summary (null-world rejection rates and coverage with binomial Monte Carlo
standard errors, median interval width relative to 2 x 1.96 x the Monte Carlo
SD of the estimation errors) is written to JSON and Markdown.

Usage::

    python studies/inference_tne.py --reps 20 --out /tmp/inference_tne.json
    nice -n 10 python studies/inference_tne.py --reps 1000 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

import tne_eval as tne
from studies._provenance import run_record
from studies._records import read_records, start_records
from tne_eval._parallel import parallel_map
from tne_eval.datasets import WorldConfig, simulate
from tne_eval.errors import InferenceError, TneEvalWarning
from tne_eval.inference import few_treated, small_sample, wild
from tne_eval.inference.registry import supported
from tne_eval.inference.scores import InfluenceScores

__all__ = [
    "METHODS",
    "PRETESTS",
    "TARGETS",
    "StudySettings",
    "main",
    "method_sources",
    "ri_statistics",
    "run_replication",
    "run_study",
    "summarise",
    "to_markdown",
]

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "studies" / "results" / "inference_tne.json"

DEFAULT_BASE_SEED = 20200901
OUTCOME = "score_french"
GRADE = "CM2"
TRUTH_KEY = f"{OUTCOME}_{GRADE}"
WEIGHTING = "schools"
COHORTS = (2020, 2021)
POST_EVENTS: tuple[int, ...] = (0, 1, 2, 3, 4)
PRE_EVENTS: tuple[int, ...] = (-4, -3, -2)
#: Estimands, in report order; pre-period terms have truth 0.
TARGETS: tuple[str, ...] = (
    "simple",
    "dynamic_overall",
    *(f"e{e}" for e in POST_EVENTS),
    *(f"e{e}" for e in PRE_EVENTS),
)
TERM = {"simple": "ATT", "dynamic_overall": "overall"}
TERM.update({f"e{e}": f"e={e}" for e in (*POST_EVENTS, *PRE_EVENTS)})
#: Inference methods, in report order (``ri``: null world only).
METHODS: tuple[str, ...] = (
    "cr1",
    "cr2",
    "cr3",
    "wild_r",
    "wild_u",
    "conley_taber",
    "ferman_pinto",
    "multiplier",
    "ri",
)
METHOD_LABELS = {
    "cr1": "CR1: Cluster()",
    "cr2": "CR2 + Satterthwaite",
    "cr3": "CR3 (jackknife)",
    "wild_r": "wild, restricted (WCR)",
    "wild_u": "wild, unrestricted (WCU)",
    "conley_taber": "Conley-Taber",
    "ferman_pinto": "Ferman-Pinto",
    "multiplier": "multiplier bootstrap",
    "ri": "randomization (dept-level statistic)",
}
#: Pre-trend tests recorded: (scope, kind, method) of pre_trend_tests, and the
#: pooled Wald test of ``gt.pretest``.
PRETESTS: tuple[str, ...] = (
    "pooled-wald",
    *(
        f"{scope}-{kind}-{m}"
        for scope in ("2020", "2021", "all")
        for kind in ("joint", "average")
        for m in ("wald", "cr3", "htz")
    ),
)
SPEC = tne.PanelSpec(
    unit="school_id",
    time="year",
    outcome=OUTCOME,
    cohort="first_treated",
    cluster="department",
    covariates=("social_index",),
)
ESTIMATOR = {"method": "dr", "unbalanced": "keep"}
WORLDS: tuple[str, ...] = ("effect", "null")


@dataclass(frozen=True)
class StudySettings:
    """Everything that determines the records of a replication."""

    base_seed: int = DEFAULT_BASE_SEED
    boot_reps: int = 499
    wild_reps: int = 999
    wild_weights: str = "webb"
    few_treated_reps: int = 9999
    ri_reps: int = 999
    #: The wild bootstrap's interval (test inversion, the costly part) is
    #: computed in the first this many replications of the world with effects,
    #: for its width; its coverage and size come from the p-value at the truth
    #: (the same decision as the inverted interval) in every replication.
    wild_interval_reps: int = 200
    alpha: float = 0.05
    #: ``"auto"``: ``result.with_inference(spec)`` wherever the registry offers
    #: the method for influence functions, else the array-level adapter;
    #: ``"array"``: the array-level adapters for every method but CR1 and the
    #: multiplier bootstrap (how the committed full results were computed: the
    #: run started before the registry offered CR2, CR3, the wild bootstrap,
    #: Conley-Taber and Ferman-Pinto for ``aggregate``).
    sources: str = "auto"

    def world_seed(self, r: int) -> int:
        """Seed of the world of replication ``r`` (1-based)."""
        return self.base_seed + r


# ---------------------------------------------------------------------------
# inference specs and where each method comes from
# ---------------------------------------------------------------------------


def _registry_specs(settings: StudySettings, seed: int) -> dict[str, Any]:
    """Return the inference objects of the methods the registry can name."""
    out: dict[str, Any] = {
        "cr1": tne.Cluster(),
        "multiplier": tne.MultiplierBootstrap(reps=settings.boot_reps, seed=seed),
        "cr2": tne.CR2(),
        "cr3": tne.CR3(),
        "wild_r": tne.WildBootstrap(
            reps=settings.wild_reps,
            weights=settings.wild_weights,
            impose_null=True,
            seed=seed,
        ),
        "wild_u": tne.WildBootstrap(
            reps=settings.wild_reps,
            weights=settings.wild_weights,
            impose_null=False,
            seed=seed,
        ),
    }
    for name, cls in (("conley_taber", "ConleyTaber"), ("ferman_pinto", "FermanPinto")):
        if hasattr(tne, cls):
            out[name] = getattr(tne, cls)(reps=settings.few_treated_reps, seed=seed)
    return out


def method_sources(settings: StudySettings = StudySettings()) -> dict[str, str]:
    """``"registry"`` or ``"array"`` for each method (``ri``: ``"study"``)."""
    if settings.sources not in ("auto", "array"):
        raise ValueError(
            f"sources must be 'auto' or 'array' (got {settings.sources!r})."
        )
    ok = supported(InfluenceScores)
    specs = _registry_specs(settings, settings.base_seed)
    out = {}
    for m in METHODS:
        if m == "ri":
            out[m] = "study"
        elif m in ("cr1", "multiplier") or (
            settings.sources == "auto" and m in specs and type(specs[m]) in ok
        ):
            out[m] = "registry"
        else:
            out[m] = "array"
    return out


# ---------------------------------------------------------------------------
# array-level adapters on the influence functions of one aggregate term
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Split:
    """A scalar estimand as a contrast of group means: treated cohorts, never treated."""

    psi: np.ndarray  # (n, q): one column per cohort in the estimand, then controls
    codes: np.ndarray  # (n,)
    hessian: np.ndarray  # (G, q, q)
    contrast: np.ndarray  # (q,): the cohorts' weights in the estimand, then -1
    cohort_weight: dict[int, float]


def _groups(store: InfluenceScores) -> np.ndarray:
    cohort = store.row_cohort
    group = np.full(store.n, len(COHORTS))
    for j, g in enumerate(COHORTS):
        group[cohort == g] = j
    return group


def _split(store: InfluenceScores, position: int, cohort_weight: dict) -> _Split:
    r"""Write the estimand as :math:`\sum_g c_g\mu_g - \mu_C` (group means).

    The influence function of the estimand on the rows of cohort ``g`` is
    :math:`c_g` times that of the cohort's mean (:math:`c_g`: the cohort's
    weight in the estimand, :func:`_cohort_weights`), and on the never-treated
    rows minus that of the comparison mean. Dividing by :math:`c_g` gives each
    mean its own influence function, so that the working model of CR2 and of
    the restricted wild bootstrap (:math:`\mathrm{Var}(m_g) \propto H_g`, one
    variance per school) applies to means on the outcome's scale; cohorts with
    weight 0 in the estimand are left out.
    """
    psi = store.dense()[:, position]
    group = _groups(store)
    codes = np.asarray(store.cluster_code)
    used = [j for j, g in enumerate(COHORTS) if cohort_weight[g] > 0]
    cols = [*used, len(COHORTS)]
    split = np.zeros((store.n, len(cols)))
    group_code = np.full(store.n, -1)
    for k, j in enumerate(cols):
        rows = group == j
        scale = cohort_weight[COHORTS[j]] if j < len(COHORTS) else -1.0
        split[rows, k] = psi[rows] / scale
        group_code[rows] = k
    hessian = small_sample.group_mean_hessian(store.row_weights, group_code, codes)
    contrast = np.array([cohort_weight[COHORTS[j]] for j in used] + [-1.0])
    return _Split(split, codes, hessian, contrast, cohort_weight)


def _t_interval(est: float, se: float, df: float, alpha: float):
    crit = (
        stats.t.ppf(1 - alpha / 2, df)
        if np.isfinite(df)
        else stats.norm.ppf(1 - alpha / 2)
    )
    return est - crit * se, est + crit * se


def _array_cr(sp: _Split, est: float, kind: str, alpha: float) -> tuple:
    vcov = small_sample.influence_cr_vcov(
        sp.psi, sp.codes, hessian=sp.hessian, kind=kind
    )
    se = float(np.sqrt(sp.contrast @ vcov @ sp.contrast))
    if kind == "CR2":
        df = float(
            small_sample.influence_satterthwaite_df(
                sp.psi, sp.codes, hessian=sp.hessian, contrast=sp.contrast
            )[0]
        )
    else:
        df = float(sp.hessian.shape[0] - 1)
    lo, hi = _t_interval(est, se, df, alpha)
    return lo, hi, se, df


def _point(sp: _Split, est: float) -> np.ndarray:
    """Group means with contrast @ means = est (the wild bootstrap uses only that)."""
    out = np.zeros(sp.contrast.size)
    out[0] = est / sp.contrast[0]
    return out


def _array_wild(
    sp: _Split,
    est: float,
    impose_null: bool,
    settings: StudySettings,
    seed: int,
    null: float,
    interval: bool,
) -> list[float]:
    res = wild.score_wild_bootstrap(
        sp.psi,
        sp.codes,
        _point(sp, est),
        contrast=sp.contrast,
        null=null,
        hessian=sp.hessian,
        impose_null=impose_null,
        weight_type=settings.wild_weights,
        reps=settings.wild_reps,
        seed=seed,
        alpha=settings.alpha,
        conf_int=interval,
    )
    lo, hi = res.conf_int if interval else (np.nan, np.nan)
    return [lo, hi, res.std_error, np.nan, res.p_value]


def _cohort_weights(gt, store: InfluenceScores, target: str) -> dict[int, float]:
    """Weight of each cohort in an estimand (aggregate's cohort-share weights)."""
    table = gt.table
    ok = np.isfinite(table["estimate"].to_numpy(dtype=float))
    cells = table.loc[ok & table["cohort"].isin(COHORTS).to_numpy()]
    w = store.row_weights
    share = {g: float(w[store.row_cohort == g].sum() / w.sum()) for g in COHORTS}

    def at_event(e: int) -> dict[int, float]:
        gs = cells.loc[cells["event_time"] == e, "cohort"].astype(int)
        total = sum(share[g] for g in gs)
        return {g: share[g] / total if g in set(gs) else 0.0 for g in COHORTS}

    if target == "simple":
        post = cells.loc[cells["post"].astype(bool), "cohort"].astype(int)
        total = sum(share[g] for g in post)
        return {g: share[g] * int((post == g).sum()) / total for g in COHORTS}
    if target == "dynamic_overall":
        events = sorted({int(e) for e in cells["event_time"] if e >= 0})
        parts = [at_event(e) for e in events]
        return {g: float(np.mean([p[g] for p in parts])) for g in COHORTS}
    return at_event(int(target.removeprefix("e")))


def _few_treated_inputs(sp: _Split, est: float):
    """Department changes whose Conley-Taber estimate is the aggregate's estimate.

    Department ``j`` of group ``k`` contributes ``s_j`` (its sum of the group
    mean's influence function / n) with leverage ``L_j`` (its share of the
    group's weight), so ``e_j = s_j / L_j`` is its deviation from the group mean
    and the estimate's error from the treated departments is
    ``sum_k c_k sum_j L_j e_j``. Treated departments get ``delta_j = estimate +
    e_j`` and weight ``c_k L_j``, controls ``delta_j = e_j`` and weight ``L_j``
    (``e`` centred within each group), so that Conley-Taber's estimate is the
    aggregate's and its draws replace the treated ``e_j`` by control ones.
    Departments of a cohort with weight 0 in the estimand are left out.
    """
    n_clusters, q = sp.hessian.shape[0], sp.contrast.size
    sums = (
        np.stack(
            [
                np.bincount(sp.codes, weights=sp.psi[:, k], minlength=n_clusters)
                for k in range(q)
            ],
            axis=1,
        )
        / sp.psi.shape[0]
    )
    diag = np.einsum("gkk->gk", sp.hessian)
    member = diag > 0
    if np.any(member.sum(axis=1) > 1):
        raise InferenceError("a department has schools in several groups.")
    keep = member.any(axis=1)
    rows = np.flatnonzero(keep)
    group_of = np.argmax(member[rows], axis=1)
    lev = (diag / diag.sum(axis=0))[rows, group_of]
    e = sums[rows, group_of] / lev
    for k in range(q):
        inside = group_of == k
        e[inside] -= np.sum(lev[inside] * e[inside]) / lev[inside].sum()
    coef = np.append(sp.contrast[:-1], 1.0)
    treated = group_of < q - 1
    delta = np.where(treated, est + e, e)
    omega = coef[group_of] * lev
    sizes = np.bincount(sp.codes, minlength=n_clusters).astype(float)[rows]
    return delta, treated, omega, sizes


def _array_few_treated(
    sp: _Split,
    est: float,
    which: str,
    settings: StudySettings,
    seed: int,
) -> tuple:
    delta, treated, omega, sizes = _few_treated_inputs(sp, est)
    common = {
        "weights": omega,
        "alpha": settings.alpha,
        "reps": settings.few_treated_reps,
        "seed": seed,
    }
    if which == "conley_taber":
        res = few_treated.conley_taber(delta, treated, **common)
    else:
        res = few_treated.ferman_pinto(delta, treated, sizes, **common)
    if not math.isclose(res.estimate, est, rel_tol=1e-8, abs_tol=1e-8):
        raise AssertionError((res.estimate, est))  # the construction above
    lo, hi = res.conf_int
    return lo, hi, np.nan, np.nan


# ---------------------------------------------------------------------------
# randomization inference: a department-level statistic, vectorized over draws
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _DeptData:
    years: np.ndarray  # (T,)
    means: np.ndarray  # (D, T) department-year mean outcome (NaN: not observed)
    index: np.ndarray  # (D,) department mean social index
    schools: np.ndarray  # (D,) schools of the department
    cohort: np.ndarray  # (D,) observed cohort (0: never treated)


def _dept_data(panel: pd.DataFrame) -> _DeptData:
    wide = panel.pivot_table(
        index="department", columns="year", values=OUTCOME, aggfunc="mean"
    )
    by = panel.groupby("department")
    first = by["first_treated"].first().reindex(wide.index)
    cohort = np.where(first.isin(COHORTS), first, 0).astype(int)
    return _DeptData(
        years=wide.columns.to_numpy(dtype=int),
        means=wide.to_numpy(dtype=float),
        index=by["social_index"].mean().reindex(wide.index).to_numpy(dtype=float),
        schools=by["school_id"].nunique().reindex(wide.index).to_numpy(dtype=float),
        cohort=cohort,
    )


def _ri_cells(dd: _DeptData, assign: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    """ATT(g,t) of the department-level statistic for each assignment (rows)."""
    b = assign.shape[0]
    control = (assign == 0).astype(float)
    x = dd.index
    out: dict[tuple[int, int], np.ndarray] = {}
    for g in COHORTS:
        base = int(np.flatnonzero(dd.years == g - 1)[0])
        treat = (assign == g) * dd.schools[None, :]
        for k, t in enumerate(dd.years):
            if k == base:
                continue
            delta = dd.means[:, k] - dd.means[:, base]
            ok = np.isfinite(delta)
            d0 = np.where(ok, delta, 0.0)
            c = control * ok
            tr = treat * ok
            sc, sx, sxx = c.sum(1), c @ x, c @ (x * x)
            sy, sxy = c @ d0, c @ (x * d0)
            beta = (sxy - sx * sy / sc) / (sxx - sx * sx / sc)
            st = tr.sum(1)
            mean_t = (tr @ d0) / st
            xt = (tr @ x) / st
            out[(g, int(t))] = mean_t - sy / sc - beta * (xt - sx / sc)
    assert b == next(iter(out.values())).shape[0]
    return out


def ri_statistics(dd: _DeptData, assign: np.ndarray) -> dict[str, np.ndarray]:
    """Return the department-level statistic of every estimand for each assignment.

    Cohort weights follow :func:`tne_eval.aggregate`: cells weighted by the
    schools of their cohort (under each assignment); the dynamic overall is the
    mean over e = 0..4; pre-period terms use the universal base g - 1.
    """
    cells = _ri_cells(dd, assign)
    size = {g: (assign == g) @ dd.schools for g in COHORTS}
    out: dict[str, np.ndarray] = {}
    num = sum(cells[(g, t)] * size[g] for (g, t) in cells if t >= g)
    den = sum(size[g] for (g, t) in cells if t >= g)
    out["simple"] = num / den
    for e in (*POST_EVENTS, *PRE_EVENTS):
        keys = [(g, t) for (g, t) in cells if t - g == e]
        out[f"e{e}"] = sum(cells[k] * size[k[0]] for k in keys) / sum(
            size[k[0]] for k in keys
        )
    out["dynamic_overall"] = np.mean([out[f"e{e}"] for e in POST_EVENTS], axis=0)
    pre_keys = [(g, t) for (g, t) in cells if t < g - 1]
    out["pre_average"] = sum(cells[k] * size[k[0]] for k in pre_keys) / sum(
        size[k[0]] for k in pre_keys
    )
    return out


def _ri_draws(dd: _DeptData, reps: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    draws = np.stack([rng.permutation(dd.cohort) for _ in range(reps)])
    return np.vstack([dd.cohort[None, :], draws])  # row 0: observed


def _ri_record(panel: pd.DataFrame, settings: StudySettings, seed: int) -> dict:
    dd = _dept_data(panel)
    values = ri_statistics(dd, _ri_draws(dd, settings.ri_reps, seed))
    rec: dict[str, Any] = {}

    def p_of(stat: np.ndarray) -> float:
        return float(np.mean(np.abs(stat) >= np.abs(stat[0]) - 1e-12))

    for t in TARGETS:
        rec[f"null_p_ri_{t}"] = p_of(values[t])
        rec[f"null_est_ri_{t}"] = float(values[t][0])

    def max_std(names: list[str]) -> np.ndarray:
        z = np.stack([values[n] / values[n][1:].std() for n in names])
        return np.abs(z).max(axis=0)

    rec["null_p_ri_band"] = p_of(max_std([f"e{e}" for e in POST_EVENTS]))
    rec["p_ri_pre_joint"] = p_of(max_std([f"e{e}" for e in PRE_EVENTS]))
    rec["p_ri_pre_average"] = p_of(values["pre_average"])
    return rec


# ---------------------------------------------------------------------------
# one world
# ---------------------------------------------------------------------------


def _cm2_panel(world) -> pd.DataFrame:
    panel = world.school_panel
    return panel.loc[panel["grade"] == GRADE]


def _truths(world) -> dict[str, float]:
    truth = world.truth["outcomes"][TRUTH_KEY]["weightings"][WEIGHTING]
    dyn = {int(k): float(v) for k, v in truth["dynamic"].items()}
    out = {
        "simple": float(truth["simple"]),
        "dynamic_overall": float(truth["dynamic_overall"]),
    }
    out.update({f"e{e}": dyn.get(e, 0.0) for e in (*POST_EVENTS, *PRE_EVENTS)})
    return out


#: Layout of each method's entry for one target in a record.
FIELDS = ("low", "high", "std_error", "df", "p_value", "band_low", "band_high")


def _entry(low, high, se=np.nan, df=np.nan, p=np.nan, band=(np.nan, np.nan)):
    return [float(low), float(high), float(se), float(df), float(p), *map(float, band)]


def _intervals(
    agg,
    gt,
    targets: Sequence[str],
    nulls: dict[str, float],
    settings: StudySettings,
    seed: int,
    sources: dict[str, str],
    wild_interval: bool,
) -> dict[str, dict[str, list[float]]]:
    """Return ``{method: {target: entry}}`` (:data:`FIELDS`) for ``targets``.

    ``p_value`` is the p-value of H0: target = ``nulls[target]`` where the
    method gives one directly (the wild bootstrap), else NaN (the decision is
    then read from the interval).
    """
    specs = _registry_specs(settings, seed)
    est = agg.estimates
    out: dict[str, dict[str, list[float]]] = {}
    positions = {t: list(agg._terms).index(TERM[t]) for t in targets}
    splits = {
        t: _split(agg.scores, positions[t], _cohort_weights(gt, agg.scores, t))
        for t in targets
    }
    for m in METHODS:
        if m == "ri":
            continue
        out[m] = {}
        if sources[m] == "registry":
            try:
                frame = agg.with_inference(specs[m]).to_frame(settings.alpha)
            except InferenceError:  # e.g. Conley-Taber of an estimate pooling cohorts
                for t in targets:
                    out[m][t] = _entry(np.nan, np.nan)
                continue
            band = "band_low" in frame
            for t in targets:
                row = frame.loc[TERM[t]]
                out[m][t] = _entry(
                    row["conf_low"],
                    row["conf_high"],
                    row["std_error"],
                    band=(row["band_low"], row["band_high"]) if band else (np.nan,) * 2,
                )
            continue
        for t in targets:
            sp, e = splits[t], float(est[TERM[t]])
            if m in ("cr2", "cr3"):
                out[m][t] = _entry(*_array_cr(sp, e, m.upper(), settings.alpha))
            elif m in ("wild_r", "wild_u"):
                out[m][t] = _entry(
                    *_array_wild(
                        sp, e, m == "wild_r", settings, seed, nulls[t], wild_interval
                    )
                )
            else:
                out[m][t] = _entry(*_array_few_treated(sp, e, m, settings, seed)[:2])
    return out


def _world_record(
    world_name: str, r: int, settings: StudySettings, sources
) -> dict[str, Any]:
    seed = settings.world_seed(r)
    world = simulate(
        WorldConfig(seed=seed, effect_scale=1.0 if world_name == "effect" else 0.0)
    )
    panel = _cm2_panel(world)
    gt = tne.att_gt(
        panel, SPEC, inference=tne.Cluster(), alpha=settings.alpha, **ESTIMATOR
    )
    simple = tne.aggregate(gt, kind="simple")
    dyn = tne.aggregate(gt, kind="dynamic")
    prefix = "" if world_name == "effect" else "null_"
    rec: dict[str, Any] = {}
    truth = _truths(world)
    nulls = truth if world_name == "effect" else dict.fromkeys(TARGETS, 0.0)
    wild_interval = world_name == "effect" and r <= settings.wild_interval_reps
    common = (nulls, settings, seed, sources, wild_interval)
    ints = _intervals(simple, gt, ["simple"], *common)
    dyn_targets = [t for t in TARGETS if t != "simple"]
    ints_dyn = _intervals(dyn, gt, dyn_targets, *common)
    for m in ints:
        ints[m].update(ints_dyn[m])
    for t in TARGETS:
        rec[f"{prefix}truth_{t}"] = truth[t]
        agg = simple if t == "simple" else dyn
        rec[f"{prefix}est_{t}"] = float(agg.estimates[TERM[t]])
    rec[f"{prefix}ci"] = ints
    if world_name == "null":
        rec.update(_ri_record(panel, settings, seed))
    else:
        rec.update(_pretest_record(gt))
    return rec


def _pretest_record(gt) -> dict[str, Any]:
    rec: dict[str, Any] = {"pretest_p_pooled-wald": float(gt.pretest.p_value)}
    frame = tne.did.pre_trend_tests(gt).to_frame()
    for _, row in frame.iterrows():
        scope = str(row["scope"]).removeprefix("cohort ")
        key = f"{scope}-{row['kind']}-{row['method']}"
        rec[f"pretest_p_{key}"] = float(row["p_value"])
        rec[f"pretest_valid_{key}"] = bool(row["valid"])
    return rec


def run_replication(
    r: int,
    settings: StudySettings = StudySettings(),
    *,
    worlds: Sequence[str] = WORLDS,
) -> dict[str, Any]:
    """Simulate the worlds of replication ``r`` and return one flat record.

    Parameters
    ----------
    r : int
        Replication number (1-based); world seed ``settings.base_seed + r``, also
        the seed of every bootstrap and of the randomization draws.
    settings : StudySettings
    worlds : sequence of {"effect", "null"}, default both

    Returns
    -------
    dict
        ``r``, ``seed``; per world the truths, estimates and ``ci`` (method ->
        target -> ``[low, high, se, df]``; ``df`` NaN when not t-based); the
        effect world's pre-trend p-values, the null world's randomization
        p-values; the warnings raised.
    """
    bad = [w for w in worlds if w not in WORLDS]
    if bad or not worlds:
        raise ValueError(
            f"worlds must be a non-empty subset of {WORLDS} (got {worlds!r})."
        )
    seed = settings.world_seed(r)
    sources = method_sources(settings)
    rec: dict[str, Any] = {"r": int(r), "seed": int(seed)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TneEvalWarning)
        for w in WORLDS:
            if w in worlds:
                rec.update(_world_record(w, r, settings, sources))
    rec["warnings"] = sorted({type(w.message).__name__ for w in caught})
    return rec


# ---------------------------------------------------------------------------
# records (resumable) and summary
# ---------------------------------------------------------------------------


def _header(settings: StudySettings) -> dict[str, Any]:
    return {
        "settings": asdict(settings),
        "sources": method_sources(settings),
        "study": "inference_tne",
        "layout": list(FIELDS),
    }


def _read_records(path: Path, settings: StudySettings) -> dict[int, dict[str, Any]]:
    return read_records(path, _header(settings))


def _start_records(path: Path, settings: StudySettings, done: dict) -> None:
    start_records(path, _header(settings), done)


def _batch(task: tuple[list[int], StudySettings, tuple[str, ...]]) -> list[dict]:
    rs, settings, worlds = task
    return [run_replication(r, settings, worlds=worlds) for r in rs]


def run_study(
    reps: int,
    settings: StudySettings = StudySettings(),
    *,
    jobs: int = 1,
    records_path: Path | None = None,
    resume: bool = True,
    progress: bool = False,
    worlds: Sequence[str] = WORLDS,
    batch: int = 10,
) -> list[dict[str, Any]]:
    """Run replications ``1..reps`` and return their records, sorted by ``r``.

    Replications are computed in batches of ``batch`` through
    :func:`tne_eval._parallel.parallel_map` (``jobs`` workers; results do not
    depend on it) and appended to ``records_path`` after each batch, so an
    interrupted run loses at most the batches in flight.
    """
    worlds = tuple(w for w in WORLDS if w in worlds)
    if records_path is not None and worlds != WORLDS:
        raise ValueError(
            "records_path stores complete replications: compute both worlds."
        )
    done: dict[int, dict[str, Any]] = {}
    if records_path is not None:
        if resume:
            done = _read_records(records_path, settings)
        _start_records(records_path, settings, done)
    todo = [r for r in range(1, reps + 1) if r not in done]
    start = time.perf_counter()
    step = max(1, batch * max(1, jobs))
    for k in range(0, len(todo), step):
        block = todo[k : k + step]
        parts = [block[i : i + batch] for i in range(0, len(block), batch)]
        results = parallel_map(
            _batch,
            [(p, settings, worlds) for p in parts],
            n_jobs=jobs,
            progress=False,
            chunks_per_job=1,
        )
        new = [rec for part in results for rec in part]
        for rec in new:
            done[rec["r"]] = rec
        if records_path is not None:
            with records_path.open("a") as sink:
                for rec in new:
                    sink.write(json.dumps(rec) + "\n")
        if progress:
            n_done = k + len(block)
            rate = (time.perf_counter() - start) / n_done
            print(
                f"{n_done}/{len(todo)} new replications, {rate:.2f} s each "
                f"(wall, {jobs} job(s)); load {os.getloadavg()[0]:.1f}",
                file=sys.stderr,
                flush=True,
            )
    out = [done[r] for r in range(1, reps + 1)]
    return out


def _binomial(hits: np.ndarray) -> dict[str, float]:
    hits = np.asarray(hits, dtype=bool)
    n = hits.size
    p = float(hits.mean()) if n else float("nan")
    se = math.sqrt(p * (1.0 - p) / n) if n else float("nan")
    return {"rate": p, "mc_se": se, "count": int(hits.sum()), "n": int(n)}


def _entries(records: list[dict], key: str, m: str, t: str) -> np.ndarray:
    return np.array([rec[key][m][t] for rec in records], dtype=float)


def _decisions(entries: np.ndarray, null: np.ndarray, alpha: float):
    """Rejections of ``null`` (from the p-value when given, else the interval).

    Returns the decisions of the replications where the method gave an answer
    (a NaN interval, e.g. Conley-Taber of an estimate pooling cohorts through
    the registry, is not an answer) and how many gave none.
    """
    p = entries[:, 4]
    inside = (entries[:, 0] <= null) & (null <= entries[:, 1])
    answered = np.isfinite(p) | ~np.isnan(entries[:, 0])
    reject = np.where(np.isfinite(p), p <= alpha, ~inside)
    return reject[answered], int((~answered).sum())


def _band_array(records: list[dict], key: str, m: str, terms: list[str]):
    """(reps, terms, 2) band bounds, or None when the method gave no band."""
    arr = np.array([[rec[key][m][t][5:7] for t in terms] for rec in records])
    return None if np.isnan(arr).all() else arr


def summarise(records: list[dict]) -> dict[str, Any]:
    r"""Null-world rejection, coverage, width ratio and pre-trend test sizes.

    Rates come with their binomial Monte Carlo SE :math:`\sqrt{p(1-p)/R}`. The
    width ratio is the median interval width over :math:`2\times 1.96\times`
    the Monte Carlo SD of estimate minus truth (1 for an interval of the right
    width under normality). Intervals with an infinite bound count as covering
    and as not rejecting; their number is reported (``n_infinite``).
    """
    out: dict[str, Any] = {"n_reps": len(records)}
    z = stats.norm.ppf(0.975)
    alpha = 0.05
    if "null_ci" in records[0]:
        null: dict[str, Any] = {}
        for t in TARGETS:
            entry: dict[str, Any] = {}
            for m in METHODS:
                if m == "ri":
                    p = np.array([rec[f"null_p_ri_{t}"] for rec in records])
                    entry[m] = _binomial(p <= alpha)
                    continue
                ent = _entries(records, "null_ci", m, t)
                reject, missing = _decisions(ent, np.zeros(len(ent)), alpha)
                entry[m] = {
                    **_binomial(reject),
                    "n_missing": missing,
                    "n_infinite": int(np.isinf(ent[:, :2]).any(axis=1).sum()),
                }
            null[t] = entry
        out["null"] = null
        post = [TERM[f"e{e}"] for e in POST_EVENTS]
        bands = {}
        for m in METHODS:
            if m == "ri":
                p = np.array([rec["null_p_ri_band"] for rec in records])
                bands[m] = _binomial(p <= 0.05)
                continue
            arr = _band_array(records, "null_ci", m, [f"e{e}" for e in POST_EVENTS])
            if arr is not None:
                covers = ((arr[..., 0] <= 0) & (arr[..., 1] >= 0)).all(axis=1)
                bands[m] = _binomial(~covers)
        out["null_band"] = bands
        out["null_band_terms"] = post
        out["ri_pretests"] = {
            kind: _binomial(
                np.array([rec[f"p_ri_pre_{kind}"] for rec in records]) <= 0.05
            )
            for kind in ("joint", "average")
        }
    if "ci" in records[0]:
        cov: dict[str, Any] = {}
        for t in TARGETS:
            err = np.array([rec[f"est_{t}"] - rec[f"truth_{t}"] for rec in records])
            truth = np.array([rec[f"truth_{t}"] for rec in records])
            sd = float(err.std(ddof=1)) if len(records) > 1 else float("nan")
            entry = {
                "mean_truth": float(truth.mean()),
                "bias": float(err.mean()),
                "mc_sd": sd,
                "methods": {},
            }
            for m in METHODS:
                if m == "ri":
                    continue
                ent = _entries(records, "ci", m, t)
                width = ent[:, 1] - ent[:, 0]
                width = width[~np.isnan(ent[:, 0])]  # intervals computed
                med = float(np.median(width)) if width.size else float("nan")
                reject, missing = _decisions(ent, truth, alpha)
                entry["methods"][m] = {
                    "coverage": _binomial(~reject),
                    "n_missing": missing,
                    "median_width": med,
                    "width_ratio": med / (2 * z * sd) if width.size else float("nan"),
                    "n_width": int(width.size),
                    "n_infinite": int(np.isinf(ent[:, :2]).any(axis=1).sum()),
                }
            cov[t] = entry
        out["coverage"] = cov
        bands = {}
        terms = [f"e{e}" for e in POST_EVENTS]
        truth = np.array([[rec[f"truth_{t}"] for t in terms] for rec in records])
        for m in METHODS:
            arr = _band_array(records, "ci", m, terms) if m != "ri" else None
            if arr is not None:
                hit = ((arr[..., 0] <= truth) & (truth <= arr[..., 1])).all(axis=1)
                bands[m] = _binomial(hit)
        out["band"] = bands
        pre: dict[str, Any] = {}
        for key in PRETESTS:
            p = np.array([rec[f"pretest_p_{key}"] for rec in records], dtype=float)
            finite = np.isfinite(p)
            entry = _binomial(p[finite] <= 0.05)
            entry["n_nan"] = int((~finite).sum())
            valid = [rec.get(f"pretest_valid_{key}") for rec in records]
            entry["valid_share"] = (
                float(np.mean([bool(v) for v in valid]))
                if valid[0] is not None
                else 1.0
            )
            pre[key] = entry
        out["pretests"] = pre
    out["warnings"] = sorted({w for rec in records for w in rec["warnings"]})
    return out


# ---------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------

NAMES = {
    "simple": "simple ATT",
    "dynamic_overall": "dynamic overall",
    **{f"e{e}": f"e={e}" for e in (*POST_EVENTS, *PRE_EVENTS)},
}
NAMES["e4"] += " (2020 cohort only)"


def _pm(entry: dict[str, float] | None, digits: int = 3) -> str:
    if entry is None or not entry.get("n"):
        return "—"
    return f"{entry['rate']:.{digits}f} ± {entry['mc_se']:.{digits}f}"


def to_markdown(result: dict) -> str:
    """Render the study's JSON result as Markdown tables."""
    s, meta = result["summary"], result["metadata"]
    src = meta["sources"]
    lines = [
        "# Every inference method in the TNE design",
        "",
        f"{s['n_reps']} replications (world seeds {meta['world_seeds'][0]}.."
        f"{meta['world_seeds'][1]}), CM2 French score, DR with the social index, "
        '`unbalanced="keep"`, nominal level 95%. Rates ± binomial Monte Carlo SE. '
        "Method source: `registry` = `result.with_inference(spec)`, `array` = the "
        "array-level function on the same influence functions (group-mean "
        "leverages), `study` = the study's own statistic.",
        "",
        "| method | source |",
        "|---|---|",
        *(f"| {METHOD_LABELS[m]} | {src[m]} |" for m in METHODS),
    ]
    methods = list(METHODS)
    head = "| estimand | " + " | ".join(m for m in methods) + " |"
    rule = "|---|" + "---:|" * len(methods)
    if "null" in s:
        lines += [
            "",
            "## Null world: rejection rate of H0: effect = 0 at 5%",
            "",
            head,
            rule,
        ]
        for t in TARGETS:
            cells = [_pm(s["null"][t].get(m)) for m in methods]
            lines.append(f"| {NAMES[t]} | " + " | ".join(cells) + " |")
        band = s["null_band"]
        lines.append(
            "| sup-t band, e=0..4 jointly | "
            + " | ".join(_pm(band.get(m)) for m in methods)
            + " |"
        )
    if "coverage" in s:
        cov_methods = [m for m in methods if m != "ri"]
        head_c = "| estimand | " + " | ".join(cov_methods) + " |"
        rule_c = "|---|" + "---:|" * len(cov_methods)
        lines += [
            "",
            "## Default effects: coverage of 95% intervals",
            "",
            head_c,
            rule_c,
        ]
        for t in TARGETS:
            e = s["coverage"][t]["methods"]
            lines.append(
                f"| {NAMES[t]} | "
                + " | ".join(_pm(e[m]["coverage"]) for m in cov_methods)
                + " |"
            )
        lines.append(
            "| sup-t band, e=0..4 jointly | "
            + " | ".join(_pm(s["band"].get(m)) for m in cov_methods)
            + " |"
        )
        lines += [
            "",
            "## Default effects: median interval width / (2 × 1.96 × MC SD)",
            "",
            "| estimand | MC SD | " + " | ".join(cov_methods) + " |",
            "|---|---:|" + "---:|" * len(cov_methods),
        ]
        for t in TARGETS:
            e = s["coverage"][t]
            cells = [f"{e['methods'][m]['width_ratio']:.2f}" for m in cov_methods]
            lines.append(
                f"| {NAMES[t]} | {e['mc_sd']:.3f} | " + " | ".join(cells) + " |"
            )
        lines += [
            "",
            "## Pre-trend tests: rejection rate at 5% (true null)",
            "",
            "| test | rejection | valid flag |",
            "|---|---:|---:|",
        ]
        for key in PRETESTS:
            e = s["pretests"][key]
            flag = "—" if key == "pooled-wald" else f"{e['valid_share']:.2f}"
            lines.append(f"| {key} | {_pm(e)} | {flag} |")
    if "ri_pretests" in s:
        lines += [
            f"| randomization, pre e=-4..-2 jointly (max) | {_pm(s['ri_pretests']['joint'])} | — |",
            f"| randomization, pre-period average | {_pm(s['ri_pretests']['average'])} | — |",
        ]
    lines += [
        "",
        f"Warnings raised: {', '.join(s['warnings']) or 'none'}.",
        "",
        "## Provenance",
        "",
        f"- command: `{meta['command']}`",
        f"- tne_eval {meta['versions']['tne_eval']}, git commit {meta['git_commit']}; "
        f"python {meta['versions']['python']}, numpy {meta['versions']['numpy']}, "
        f"pandas {meta['versions']['pandas']}, scipy {meta['versions']['scipy']}",
        f"- settings: {json.dumps(meta['settings'])}",
        f"- this invocation computed {meta['new_replications']} replication(s) in "
        f"{meta['wall_seconds']:.0f} s ({meta['jobs']} job(s)); load average at "
        f"start {meta['load_start']}, at end {meta['load_end']} "
        f"({meta['cpu_count']} cores); finished {meta['finished']}",
        "",
    ]
    return "\n".join(lines)


def metadata(settings, reps, argv, wall, jobs, new_reps, load_start) -> dict[str, Any]:
    """Seeds, configuration, versions, machine load and the producing command."""
    return {
        "study": "inference_tne",
        "command": "python " + shlex.join(argv),
        "settings": asdict(settings),
        "sources": method_sources(settings),
        "world_seeds": [settings.world_seed(1), settings.world_seed(reps)],
        "seed_rule": "world seed = base_seed + r; every bootstrap, Conley-Taber/"
        "Ferman-Pinto and randomization seed = world seed; null world = same seed "
        "with effect_scale=0",
        "estimator": {
            "call": "att_gt(cm2_panel, spec, method='dr', unbalanced='keep'), then "
            "aggregate(kind='simple'|'dynamic').with_inference(...)",
            "sample": f"school_panel rows with grade == '{GRADE}'",
            "truth": f"truth['outcomes']['{TRUTH_KEY}']['weightings']['{WEIGHTING}']",
            "methods": METHOD_LABELS,
        },
        "new_replications": new_reps,
        "jobs": jobs,
        "cpu_count": os.cpu_count(),
        "load_start": [round(x, 2) for x in load_start],
        "load_end": [round(x, 2) for x in os.getloadavg()],
        **run_record(wall),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    argv = list(sys.argv if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=1000, help="replications (1000)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON result")
    parser.add_argument("--md", type=Path, help="Markdown (default: --out .md)")
    parser.add_argument(
        "--records", type=Path, help="JSON lines (default: --out .reps.jsonl)"
    )
    parser.add_argument("--base-seed", type=int, default=DEFAULT_BASE_SEED)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (1)")
    parser.add_argument(
        "--sources",
        choices=("auto", "array"),
        default="auto",
        help="registry where it offers a method (auto) or array-level adapters",
    )
    parser.add_argument(
        "--no-resume", action="store_true", help="ignore existing records"
    )
    args = parser.parse_args(argv[1:])
    if args.reps < 2:
        parser.error("--reps must be at least 2")
    settings = StudySettings(base_seed=args.base_seed, sources=args.sources)
    records_path = args.records or args.out.with_suffix(".reps.jsonl")
    md_path = args.md or args.out.with_suffix(".md")
    load_start = os.getloadavg()
    start = time.perf_counter()
    n_before = len(_read_records(records_path, settings)) if not args.no_resume else 0
    records = run_study(
        args.reps,
        settings,
        jobs=args.jobs,
        records_path=records_path,
        resume=not args.no_resume,
        progress=True,
    )
    wall = time.perf_counter() - start
    new = args.reps - min(n_before, args.reps)
    result = {
        "metadata": metadata(
            settings, args.reps, argv, wall, args.jobs, new, load_start
        ),
        "summary": summarise(records),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    md_path.write_text(to_markdown(result))
    print(to_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
