r"""True treatment effects of the synthetic world (``truth.json``).

For every outcome the truth holds the true group-time average treatment effects
ATT(g,t) under several weightings, and their aggregates defined exactly as in
Callaway and Sant'Anna's ``aggte`` (R package ``did``): simple, dynamic
(event-study), group and calendar. ATT(g,t) averages the *expected* effect
:math:`\tau_{s,t}` of the schools of cohort ``g`` (the structural effect, free of
sampling noise), so an unbiased estimator recovers it up to sampling error.

The numerical functions take and return NumPy arrays; :func:`build_truth`
assembles the JSON-ready dict and :func:`att_gt_table` / :func:`aggregate_table`
turn it back into tidy DataFrames.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tne_eval.datasets.config import (
    GENERATOR_VERSION,
    GRADES,
    LEVELS,
    PRACTICE_ITEMS,
    SUBJECTS,
    YEARS,
)
from tne_eval.errors import SpecError

if TYPE_CHECKING:
    from tne_eval.datasets.config import WorldConfig

__all__ = [
    "DEFINITIONS",
    "aggregate",
    "aggregate_table",
    "att_gt",
    "att_gt_table",
    "build_truth",
    "cohort_sizes",
    "unit_weights",
]

#: Plain-text definitions written into ``truth.json`` (field ``definitions``).
DEFINITIONS: dict[str, str] = {
    "first_treated": (
        "Cohort g of a school: first TNE school year of its department (start-year "
        "coding, 2020 = 2020-21); 0 for never-treated schools (R did convention)."
    ),
    "effect": (
        "tau[s,t]: expected effect of TNE on school s in school year t for an "
        "outcome, i.e. E[Y_st(1) - Y_st(0)] over pupils, teachers and survey noise "
        "given the school's characteristics. For Likert items and training hours "
        "it is computed exactly from the item model (normal CDF), not from draws."
    ),
    "att_gt": (
        "ATT(g,t) = sum_{s in cohort g} w_s tau[s,t] / sum_{s in cohort g} w_s, for "
        "every cohort g and every year t in which the outcome is measured "
        "(survey outcomes: wave years only). It is 0 before g unless "
        "anticipation > 0."
    ),
    "weightings": (
        "pupils: w_s = expected number of tested pupils of school s per year "
        "(enrolment x participation probability x (1 - school_missing_rate), "
        "averaged over 2016-2024); schools: w_s = 1; departments: w_s = 1 / "
        "(number of the department's schools measuring the outcome), so each "
        "department counts equally; teachers (survey outcomes only): w_s = number "
        "of teachers of the school."
    ),
    "cohort_size": (
        "P_g = sum of w_s over the schools of cohort g measuring the outcome "
        "(number of schools, of departments, of expected pupils or of teachers)."
    ),
    "simple": (
        "sum over post cells (t >= g) of P_g ATT(g,t) / sum over post cells of P_g "
        "(did::aggte type='simple')."
    ),
    "dynamic": (
        "theta(e) = sum_g 1{g+e measured} P_g ATT(g,g+e) / sum_g 1{g+e measured} "
        "P_g for every event time e (negative e are pre-periods); dynamic_overall "
        "= mean of theta(e) over e >= 0 (did::aggte type='dynamic')."
    ),
    "group": (
        "theta(g) = mean of ATT(g,t) over measured t >= g (equal weights); "
        "group_overall = sum_g P_g theta(g) / sum_g P_g (did::aggte type='group')."
    ),
    "calendar": (
        "theta(t) = sum_{g <= t} P_g ATT(g,t) / sum_{g <= t} P_g for every measured "
        "t >= min g; calendar_overall = mean of theta(t) (did::aggte "
        "type='calendar')."
    ),
}

SCORE_WEIGHTINGS: tuple[str, ...] = ("pupils", "schools", "departments")
SURVEY_WEIGHTINGS: tuple[str, ...] = (*SCORE_WEIGHTINGS, "teachers")


def unit_weights(
    kind: str,
    members: np.ndarray,
    department: np.ndarray,
    *,
    pupil_weight: np.ndarray,
    teacher_weight: np.ndarray,
) -> np.ndarray:
    """School weights of one weighting, zero for schools not measuring the outcome.

    Parameters
    ----------
    kind : {"pupils", "schools", "departments", "teachers"}
        The weighting.
    members : numpy.ndarray of bool
        Schools that measure the outcome (e.g. primary schools for CM2 scores).
    department : numpy.ndarray of int
        Department index of every school.
    pupil_weight, teacher_weight : numpy.ndarray of float
        Expected tested pupils and number of teachers of every school.

    Returns
    -------
    numpy.ndarray
        One weight per school.

    Raises
    ------
    SpecError
        If ``kind`` is unknown.
    """
    members = np.asarray(members, dtype=bool)
    if kind == "pupils":
        w = np.asarray(pupil_weight, dtype=float)
    elif kind == "teachers":
        w = np.asarray(teacher_weight, dtype=float)
    elif kind == "schools":
        w = np.ones(members.size)
    elif kind == "departments":
        count = np.bincount(department[members], minlength=int(department.max()) + 1)
        w = 1.0 / np.maximum(count[department], 1)
    else:
        raise SpecError(
            f"weighting {kind!r} is unknown; choose one of "
            + ", ".join(repr(k) for k in SURVEY_WEIGHTINGS)
            + "."
        )
    return np.where(members, w, 0.0)


def cohort_sizes(
    cohort: np.ndarray, weights: np.ndarray, cohorts: Sequence[int]
) -> np.ndarray:
    """Size P_g of every cohort: the sum of the weights of its schools."""
    cohort = np.asarray(cohort)
    return np.array([weights[cohort == g].sum() for g in cohorts], dtype=float)


def att_gt(
    effects: np.ndarray,
    cohort: np.ndarray,
    weights: np.ndarray,
    cohorts: Sequence[int],
) -> np.ndarray:
    """Weighted mean of the expected effects of each cohort, for every period.

    Parameters
    ----------
    effects : numpy.ndarray, shape (n_schools, n_periods)
        Expected effect of every school in every period.
    cohort : numpy.ndarray of int, shape (n_schools,)
        ``first_treated`` of every school (0 for never treated).
    weights : numpy.ndarray, shape (n_schools,)
        School weights (zero for schools that do not measure the outcome).
    cohorts : sequence of int
        The cohorts g, each with a positive total weight.

    Returns
    -------
    numpy.ndarray, shape (n_cohorts, n_periods)
        ATT(g,t).

    Examples
    --------
    >>> import numpy as np
    >>> eff = np.array([[0.0, 1.0], [0.0, 3.0], [0.0, 0.0]])
    >>> att_gt(eff, np.array([2, 2, 0]), np.array([1.0, 3.0, 1.0]), [2])
    array([[0. , 2.5]])
    """
    cohort = np.asarray(cohort)
    out = np.empty((len(cohorts), effects.shape[1]))
    for i, g in enumerate(cohorts):
        w = np.where(cohort == g, weights, 0.0)
        out[i] = w @ effects / w.sum()
    return out


def aggregate(
    att: np.ndarray,
    cohorts: Sequence[int],
    periods: Sequence[int],
    sizes: Sequence[float],
) -> dict[str, Any]:
    r"""Aggregate ATT(g,t) as ``did::aggte`` does.

    Parameters
    ----------
    att : numpy.ndarray, shape (n_cohorts, n_periods)
        ATT(g,t).
    cohorts : sequence of int
        Cohort g of every row.
    periods : sequence of int
        Period t of every column.
    sizes : sequence of float
        Cohort sizes P_g.

    Returns
    -------
    dict
        ``simple`` (float); ``dynamic`` ({e: float}) and ``dynamic_overall``;
        ``group`` ({g: float}) and ``group_overall``; ``calendar`` ({t: float})
        and ``calendar_overall``. Keys of the inner dicts are ints.

    Notes
    -----
    With :math:`P_g` the cohort sizes, :math:`\theta_S = \sum_{t \ge g}
    P_g ATT(g,t) / \sum_{t \ge g} P_g`; :math:`\theta_D(e)` averages
    :math:`ATT(g, g+e)` over cohorts with weights :math:`P_g`;
    :math:`\theta_G(g)` is the plain mean of :math:`ATT(g,t)` over :math:`t \ge
    g`; :math:`\theta_C(t)` averages :math:`ATT(g,t)` over :math:`g \le t` with
    weights :math:`P_g`. The overall dynamic and calendar effects are plain means
    over :math:`e \ge 0` and over :math:`t`; the overall group effect weights
    :math:`\theta_G(g)` by :math:`P_g`.

    Examples
    --------
    >>> import numpy as np
    >>> att = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 4.0]])
    >>> agg = aggregate(att, [1, 2], [0, 1, 2], [1.0, 1.0])
    >>> agg["simple"], agg["dynamic"][0], agg["group"][1], agg["calendar"][2]
    (2.333..., 2.5, 1.5, 3.0)
    """
    att = np.asarray(att, dtype=float)
    g = np.asarray(cohorts)[:, None]
    t = np.asarray(periods)[None, :]
    p = np.asarray(sizes, dtype=float)[:, None] * np.ones_like(att)
    post = t >= g
    if not post.any():
        return {
            "simple": None,
            "dynamic": {},
            "dynamic_overall": None,
            "group": {},
            "group_overall": None,
            "calendar": {},
            "calendar_overall": None,
        }
    simple = float((p * att)[post].sum() / p[post].sum())

    event = t - g
    dynamic = {}
    for e in np.unique(event):
        cells = event == e
        dynamic[int(e)] = float((p * att)[cells].sum() / p[cells].sum())
    post_e = [v for e, v in dynamic.items() if e >= 0]

    group = {}
    for i, cohort in enumerate(np.asarray(cohorts)):
        cells = post[i]
        if cells.any():
            group[int(cohort)] = float(att[i, cells].mean())
    group_p = np.array([p[list(cohorts).index(c), 0] for c in group])
    group_overall = float(np.dot(group_p, list(group.values())) / group_p.sum())

    calendar = {}
    for j, period in enumerate(np.asarray(periods)):
        cells = post[:, j]
        if cells.any():
            calendar[int(period)] = float(
                (p[cells, j] * att[cells, j]).sum() / p[cells, j].sum()
            )
    return {
        "simple": simple,
        "dynamic": dynamic,
        "dynamic_overall": float(np.mean(post_e)),
        "group": group,
        "group_overall": group_overall,
        "calendar": calendar,
        "calendar_overall": float(np.mean(list(calendar.values()))),
    }


def _num(x: float | None) -> float | None:
    """Round for JSON: 8 decimals (stable across platforms), never ``-0.0``."""
    return None if x is None else round(float(x), 8) + 0.0


def _outcome_truth(
    effects: np.ndarray,
    periods: np.ndarray,
    members: np.ndarray,
    weightings: Sequence[str],
    *,
    cohort: np.ndarray,
    department: np.ndarray,
    pupil_weight: np.ndarray,
    teacher_weight: np.ndarray,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in weightings:
        w = unit_weights(
            kind,
            members,
            department,
            pupil_weight=pupil_weight,
            teacher_weight=teacher_weight,
        )
        present = sorted(int(g) for g in np.unique(cohort[(w > 0) & (cohort > 0)]))
        sizes = cohort_sizes(cohort, w, present)
        att = att_gt(effects, cohort, w, present)
        agg = aggregate(att, present, periods, sizes)
        out[kind] = {
            "cohort_size": {str(g): _num(s) for g, s in zip(present, sizes)},
            "att_gt": [
                {
                    "cohort": g,
                    "year": int(t),
                    "event_time": int(t) - g,
                    "att": _num(att[i, j]),
                }
                for i, g in enumerate(present)
                for j, t in enumerate(periods)
            ],
            "simple": _num(agg["simple"]),
            "dynamic": {str(e): _num(v) for e, v in agg["dynamic"].items()},
            "dynamic_overall": _num(agg["dynamic_overall"]),
            "group": {str(k): _num(v) for k, v in agg["group"].items()},
            "group_overall": _num(agg["group_overall"]),
            "calendar": {str(k): _num(v) for k, v in agg["calendar"].items()},
            "calendar_overall": _num(agg["calendar_overall"]),
        }
    return out


def build_truth(
    *,
    config: WorldConfig,
    cohort: np.ndarray,
    department: np.ndarray,
    level: np.ndarray,
    pupil_weight: np.ndarray,
    teacher_weight: np.ndarray,
    score_effects: np.ndarray,
    survey_effects: dict[str, Any],
) -> dict[str, Any]:
    """Assemble the truth of a world (the content of ``truth.json``).

    Parameters
    ----------
    config : WorldConfig
        The world's configuration (its seed is recorded).
    cohort, department, level : numpy.ndarray of int
        ``first_treated``, department index and level index of every school.
    pupil_weight, teacher_weight : numpy.ndarray of float
        Expected tested pupils per year and number of teachers of every school.
    score_effects : numpy.ndarray, shape (n_schools, n_years, 2)
        Expected effect on the school-mean French and math scores.
    survey_effects : dict
        ``{"waves": array of wave years, "values": {outcome: (n_schools,
        n_waves) array}}``.

    Returns
    -------
    dict
        JSON-ready: ``generator_version``, ``seed``, ``definitions``,
        ``cohorts``, ``years``, ``outcomes``. Each outcome holds its
        ``description``, ``table``, ``column``, ``level``, ``years`` and, per
        weighting, ``cohort_size``, ``att_gt`` records and the aggregates.
    """
    common = {
        "cohort": cohort,
        "department": department,
        "pupil_weight": pupil_weight,
        "teacher_weight": teacher_weight,
    }
    years = np.asarray(YEARS)
    outcomes: dict[str, Any] = {}
    for lv, level_name in enumerate(LEVELS):
        grade = GRADES[level_name]
        for k, subject in enumerate(SUBJECTS):
            outcomes[f"score_{subject}_{grade}"] = {
                "description": (
                    f"school-mean {subject} score in {grade} ({level_name} schools),"
                    " points (mean 250, SD 50 at pupil level in 2016)"
                ),
                "table": "school_panel",
                "column": f"score_{subject}",
                "level": level_name,
                "years": [int(y) for y in years],
                "weightings": _outcome_truth(
                    score_effects[:, :, k],
                    years,
                    level == lv,
                    SCORE_WEIGHTINGS,
                    **common,
                ),
            }
    waves = np.asarray(survey_effects["waves"])
    everyone = np.ones(cohort.size, dtype=bool)
    for name, values in survey_effects["values"].items():
        if name in PRACTICE_ITEMS:
            description = f"teacher-mean of the Likert item {name} (1-5)"
        elif name == "practice_index":
            description = "teacher-mean of the composite practice index (mean of items)"
        else:
            description = "teacher-mean yearly hours of digital training"
        outcomes[name] = {
            "description": description,
            "table": "teachers",
            "column": name,
            "level": "all",
            "years": [int(w) for w in waves],
            "weightings": _outcome_truth(
                values, waves, everyone, SURVEY_WEIGHTINGS, **common
            ),
        }
    present = sorted(int(g) for g in np.unique(cohort[cohort > 0]))
    return {
        "generator_version": GENERATOR_VERSION,
        "seed": config.seed,
        "effect_scale": config.effect_scale,
        "anticipation": config.anticipation,
        "definitions": dict(DEFINITIONS),
        "cohorts": present,
        "years": [int(y) for y in years],
        "outcomes": outcomes,
    }


def att_gt_table(truth: dict[str, Any]) -> pd.DataFrame:
    """Every true ATT(g,t) of a truth dict as one tidy table.

    Parameters
    ----------
    truth : dict
        The truth (``load_synthetic("truth")`` or ``SyntheticWorld.truth``).

    Returns
    -------
    pandas.DataFrame
        Columns ``outcome``, ``weighting``, ``cohort``, ``year``, ``event_time``,
        ``att``.

    Examples
    --------
    >>> from tne_eval.datasets import load_synthetic
    >>> from tne_eval.datasets.truth import att_gt_table
    >>> table = att_gt_table(load_synthetic("truth"))
    >>> list(table.columns)
    ['outcome', 'weighting', 'cohort', 'year', 'event_time', 'att']
    >>> pre = table[table["event_time"] < 0]
    >>> float(pre["att"].abs().max())
    0.0
    """
    rows = [
        {"outcome": name, "weighting": kind, **cell}
        for name, outcome in truth["outcomes"].items()
        for kind, content in outcome["weightings"].items()
        for cell in content["att_gt"]
    ]
    columns = ["outcome", "weighting", "cohort", "year", "event_time", "att"]
    table = pd.DataFrame(rows, columns=columns)
    for col in ("cohort", "year", "event_time"):
        table[col] = table[col].astype(np.int64)
    table["att"] = table["att"].astype(float)
    return table


def aggregate_table(truth: dict[str, Any]) -> pd.DataFrame:
    """Every true aggregate of a truth dict as one tidy table.

    Parameters
    ----------
    truth : dict
        The truth (``load_synthetic("truth")`` or ``SyntheticWorld.truth``).

    Returns
    -------
    pandas.DataFrame
        Columns ``outcome``, ``weighting``, ``kind`` (``simple``, ``dynamic``,
        ``group``, ``calendar``, or ``<kind>_overall``), ``key`` (event time,
        cohort or year; ``<NA>`` for the overall values) and ``att``.

    Examples
    --------
    >>> from tne_eval.datasets import load_synthetic
    >>> from tne_eval.datasets.truth import aggregate_table
    >>> agg = aggregate_table(load_synthetic("truth"))
    >>> sorted(agg["kind"].unique())[:3]
    ['calendar', 'calendar_overall', 'dynamic']
    """
    rows = []
    for name, outcome in truth["outcomes"].items():
        for kind, content in outcome["weightings"].items():
            for agg in (
                "simple",
                "dynamic_overall",
                "group_overall",
                "calendar_overall",
            ):
                rows.append((name, kind, agg, None, content[agg]))
            for agg in ("dynamic", "group", "calendar"):
                for key, value in content[agg].items():
                    rows.append((name, kind, agg, int(key), value))
    table = pd.DataFrame(rows, columns=["outcome", "weighting", "kind", "key", "att"])
    table["key"] = table["key"].astype("Int64")
    table["att"] = table["att"].astype(float)
    return table
