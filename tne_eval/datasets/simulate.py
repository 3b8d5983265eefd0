"""Generator of the synthetic TNE world.

The world is generated in stages, each drawing from its own random sub-stream
(spawned from the seed with :class:`numpy.random.SeedSequence`): departments,
schools, enrolment and attrition, school effects, department x year shocks,
pupils, the teacher frame, survey items and survey response. Treatment effects
are deterministic functions of the schools' characteristics and never consume
random numbers, so worlds that differ only in their effect knobs share every
draw. All arrays are vectorised; the global NumPy random state is never used.

The equations are in ``docs/synthetic_world.md``; the structural constants that
are not knobs of :class:`~tne_eval.datasets.WorldConfig` are the module-level
constants below (also recorded in :data:`STRUCTURAL_CONSTANTS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import special

from tne_eval.datasets import truth as truth_mod
from tne_eval.datasets._schema import TABLES, build_frame
from tne_eval.datasets.config import (
    GRADES,
    LEVELS,
    PRACTICE_ITEMS,
    SUBJECTS,
    YEARS,
    WorldConfig,
)
from tne_eval.errors import SpecError, TneEvalTypeError
from tne_eval.territories import TNE_COHORTS, departments

if TYPE_CHECKING:
    from os import PathLike

__all__ = ["STREAMS", "STRUCTURAL_CONSTANTS", "SyntheticWorld", "simulate"]

#: Named random sub-streams, spawned in this order from the seed. New components
#: must be appended at the end so that existing streams keep their draws.
STREAMS: tuple[str, ...] = (
    "departments",
    "schools",
    "enrolment",
    "school_effects",
    "year_shocks",
    "pupils",
    "teachers",
    "survey_items",
    "response",
)

# --- structural constants (not knobs; pinned by GENERATOR_VERSION) ----------
REFERENCE_MEAN = 250.0  # score scale: mean 250 ...
INDEX_SD = 15.0  # ... and one SD of the social index is 15 points
DEPARTMENT_SIZE_SD = 0.6  # log-SD of department sizes (school allocation)
RURAL_DEPARTMENT_SD = 0.8  # log-odds SD of department rurality
PRIVATE_INDEX_CORR = 0.6  # corr(selection latent of private schools, index)
PRIORITY_INDEX_CORR = 0.85  # corr(priority-education latent, -index)
SIZE_LOG_SD = 0.45  # log-SD of school size
RURAL_SIZE_FACTOR = (0.55, 0.70)  # rural schools are smaller (primary, collège)
MIN_SIZE = (3, 8)  # minimum tested-grade size (primary, collège)
STAFF_PER_PUPIL = (0.4, 0.7)  # teachers per pupil of the tested grade
MIN_STAFF = (2, 8)
SUBJECT_CORR = {"department": 0.8, "school": 0.8, "school_year": 0.5, "pupil": 0.6}
GIRL_SHARE = 0.49
GIRL_EFFECT = (8.0, -3.0)  # girls' score gap (French, math), points
SECULAR_TREND = (-0.3, -0.5)  # points per year (French, math)
# teacher survey: latent practice and Likert items
PRACTICE_INDEX_SLOPE = 0.25  # latent practice per SD of index
PRACTICE_COLLEGE = 0.15  # collège teachers' latent practice shift
PRACTICE_SCHOOL_SD = 0.4
TEACHER_FACTOR_SD = 0.8
ITEM_NOISE_SD = 0.6
ITEM_INTERCEPT = (0.3, -0.6, -0.4, -0.2, -0.3, 0.2)
ITEM_LOADING = (0.9, 0.8, 0.7, 0.8, 0.7, 0.6)
ITEM_COVID = (0.2, 0.1, 0.6, 0.3, 0.5, 0.2)  # permanent shift from 2020
COVID_PRACTICE_INDEX = 0.4  # relative extra COVID shift per SD of index
LIKERT_CUTS = (-1.2, -0.4, 0.4, 1.2)
TRAINING_BASE = 3.0  # latent yearly hours of digital training
TRAINING_PRACTICE = 2.0
TRAINING_TEACHER = 1.5
TRAINING_COVID = 2.0
TRAINING_NOISE_SD = 6.0
FEMALE_SHARE = (0.83, 0.60)
EXPERIENCE_RANGE = (1, 40)
RESPONSE_RURAL = -0.3
RESPONSE_PRIVATE = 0.2
RESPONSE_COLLEGE = -0.3
RESPONSE_EXPERIENCE = 0.02  # per year of experience above 15
RESPONSE_WAVE = -0.05  # per year since the first wave (survey fatigue)

#: Every structural constant above, by name (recorded in the manifest).
STRUCTURAL_CONSTANTS: dict[str, Any] = {
    "REFERENCE_MEAN": REFERENCE_MEAN,
    "INDEX_SD": INDEX_SD,
    "DEPARTMENT_SIZE_SD": DEPARTMENT_SIZE_SD,
    "RURAL_DEPARTMENT_SD": RURAL_DEPARTMENT_SD,
    "PRIVATE_INDEX_CORR": PRIVATE_INDEX_CORR,
    "PRIORITY_INDEX_CORR": PRIORITY_INDEX_CORR,
    "SIZE_LOG_SD": SIZE_LOG_SD,
    "RURAL_SIZE_FACTOR": RURAL_SIZE_FACTOR,
    "MIN_SIZE": MIN_SIZE,
    "STAFF_PER_PUPIL": STAFF_PER_PUPIL,
    "MIN_STAFF": MIN_STAFF,
    "SUBJECT_CORR": SUBJECT_CORR,
    "GIRL_SHARE": GIRL_SHARE,
    "GIRL_EFFECT": GIRL_EFFECT,
    "SECULAR_TREND": SECULAR_TREND,
    "PRACTICE_INDEX_SLOPE": PRACTICE_INDEX_SLOPE,
    "PRACTICE_COLLEGE": PRACTICE_COLLEGE,
    "PRACTICE_SCHOOL_SD": PRACTICE_SCHOOL_SD,
    "TEACHER_FACTOR_SD": TEACHER_FACTOR_SD,
    "ITEM_NOISE_SD": ITEM_NOISE_SD,
    "ITEM_INTERCEPT": ITEM_INTERCEPT,
    "ITEM_LOADING": ITEM_LOADING,
    "ITEM_COVID": ITEM_COVID,
    "COVID_PRACTICE_INDEX": COVID_PRACTICE_INDEX,
    "LIKERT_CUTS": LIKERT_CUTS,
    "TRAINING_BASE": TRAINING_BASE,
    "TRAINING_PRACTICE": TRAINING_PRACTICE,
    "TRAINING_TEACHER": TRAINING_TEACHER,
    "TRAINING_COVID": TRAINING_COVID,
    "TRAINING_NOISE_SD": TRAINING_NOISE_SD,
    "FEMALE_SHARE": FEMALE_SHARE,
    "EXPERIENCE_RANGE": EXPERIENCE_RANGE,
    "RESPONSE_RURAL": RESPONSE_RURAL,
    "RESPONSE_PRIVATE": RESPONSE_PRIVATE,
    "RESPONSE_COLLEGE": RESPONSE_COLLEGE,
    "RESPONSE_EXPERIENCE": RESPONSE_EXPERIENCE,
    "RESPONSE_WAVE": RESPONSE_WAVE,
}


# ---------------------------------------------------------------------------
# result object
# ---------------------------------------------------------------------------


@dataclass(frozen=True, repr=False, eq=False)
class SyntheticWorld:
    """A generated synthetic TNE world: the tables, the truth and the config.

    Built by :func:`simulate`; read the committed one with
    :func:`tne_eval.datasets.load_synthetic`.

    Attributes
    ----------
    config : WorldConfig
        The configuration that produced the world.
    departments : pandas.DataFrame
        One row per department: ``department`` (INSEE code, str), ``name``,
        ``academie``, ``region``, ``area``, ``first_treated`` (0 = never),
        ``n_primary``, ``n_college``, ``social_index_mean``.
    schools : pandas.DataFrame
        One row per school: ``school_id``, ``department``, ``level``, ``grade``,
        ``sector``, ``priority``, ``rural``, ``social_index``, ``size``,
        ``n_teachers``, ``first_treated``.
    school_panel : pandas.DataFrame
        One row per school and school year with at least one tested pupil:
        school keys, ``year``, ``first_treated``, ``treated``, covariates,
        ``n_expected``, ``n_pupils``, mean scores ``score_french``,
        ``score_math`` and their SDs ``sd_french``, ``sd_math``.
    pupils : pandas.DataFrame
        One row per tested pupil and year (repeated cross-sections):
        ``school_id``, ``department``, ``year``, ``grade``, ``pupil``, ``girl``,
        ``score_french``, ``score_math``.
    teachers : pandas.DataFrame
        The teacher-survey frame, one row per sampled teacher and wave, with
        ``responded`` and the items (NaN for non-respondents).
    truth : dict
        True ATT(g,t) and aggregates of every outcome (the content of
        ``truth.json``).
    effects : pandas.DataFrame
        Expected treatment effect of every school and year (not written to
        disk): ``school_id``, ``year`` and one column per outcome column of the
        data (teacher outcomes at wave years only, NaN elsewhere).
    """

    config: WorldConfig
    departments: pd.DataFrame
    schools: pd.DataFrame
    school_panel: pd.DataFrame
    pupils: pd.DataFrame
    teachers: pd.DataFrame
    truth: dict[str, Any]
    effects: pd.DataFrame

    def table(self, name: str) -> pd.DataFrame | dict[str, Any]:
        """Return one table (or the truth dict) by its file name.

        Parameters
        ----------
        name : {"departments", "schools", "school_panel", "pupils", "teachers", \
"truth"}
            The table.

        Returns
        -------
        pandas.DataFrame or dict
            The table itself (not a copy), or the truth dict.

        Raises
        ------
        SpecError
            If ``name`` is not a table of the world.
        """
        names = (*TABLES, "truth")
        if name not in names:
            raise SpecError(
                f"{name!r} is not a table of the synthetic world; choose one of "
                + ", ".join(repr(n) for n in names)
                + "."
            )
        return getattr(self, name)

    def write(self, out_dir: str | PathLike[str]) -> dict[str, Any]:
        """Write the world's files and ``MANIFEST.json`` into a folder.

        Parameters
        ----------
        out_dir : str or path-like
            Destination folder (created if needed; existing world files are
            overwritten).

        Returns
        -------
        dict
            The manifest that was written.

        See Also
        --------
        tne_eval.datasets.io.write_world : the function doing the work.
        """
        from tne_eval.datasets.io import write_world

        return write_world(self, Path(out_dir))

    @property
    def structural_constants(self) -> dict[str, Any]:
        """The generator's structural constants (recorded in the manifest)."""
        return STRUCTURAL_CONSTANTS

    def __repr__(self) -> str:
        return (
            f"<SyntheticWorld: {len(self.departments)} departments, "
            f"{len(self.schools):,} schools, {len(self.pupils):,} pupil-year rows, "
            f"{len(self.teachers):,} surveyed teachers, seed={self.config.seed}>"
        )


# ---------------------------------------------------------------------------
# generator
# ---------------------------------------------------------------------------


def simulate(config: WorldConfig | None = None) -> SyntheticWorld:
    """Generate the synthetic TNE world described by a configuration.

    Parameters
    ----------
    config : WorldConfig, optional
        The world to generate; ``None`` means ``WorldConfig()`` (the committed
        default world).

    Returns
    -------
    SyntheticWorld
        The tables, the truth (``.truth``) and the expected effects.

    Raises
    ------
    TneEvalTypeError
        If ``config`` is not a :class:`WorldConfig`.

    See Also
    --------
    WorldConfig : every knob of the world.
    load_synthetic : read the committed default world.

    Notes
    -----
    The generator is deterministic: the same config (including its seed) gives
    identical tables. Floats are rounded to a fixed number of decimals, so the
    written files are byte-identical wherever NumPy's random streams are; a
    test regenerates the committed world and compares it with
    ``data/synthetic/MANIFEST.json``. The default world takes a few seconds,
    the national preset (about 50,000 schools, 6 million pupil rows) well under
    a minute.

    Examples
    --------
    >>> from tne_eval.datasets import WorldConfig, simulate
    >>> cfg = WorldConfig(departments=("02", "95", "01", "03"), n_primary=40,
    ...                   n_college=12)
    >>> world = simulate(cfg)
    >>> len(world.schools), len(world.pupils)
    (52, 11133)
    >>> world.schools.groupby("first_treated").size().to_dict()
    {0: 19, 2020: 33}
    >>> truth = world.truth["outcomes"]["score_math_CM2"]["weightings"]["schools"]
    >>> round(truth["simple"], 2)
    6.13
    """
    cfg = WorldConfig() if config is None else config
    if not isinstance(cfg, WorldConfig):
        raise TneEvalTypeError(
            "simulate() needs a tne_eval.datasets.WorldConfig (got "
            f"{type(cfg).__name__}); build one with WorldConfig(...) or "
            "WorldConfig.preset('default')."
        )
    children = np.random.SeedSequence(cfg.seed).spawn(len(STREAMS))
    rngs = {name: np.random.default_rng(s) for name, s in zip(STREAMS, children)}
    years = np.asarray(YEARS)

    dep = _departments(cfg, rngs)
    sch = _schools(cfg, dep, rngs)
    tau = _effects(cfg, sch, years)
    scores = _scores(cfg, dep, sch, tau, years, rngs)
    survey = _survey(cfg, sch, tau, years, rngs)

    truth = truth_mod.build_truth(
        config=cfg,
        cohort=sch["first_treated"],
        department=sch["dept"],
        level=sch["level"],
        pupil_weight=scores["pupil_weight"],
        teacher_weight=sch["staff"].astype(float),
        score_effects=tau["score"],
        survey_effects=survey["effects"],
    )
    tables = _tables(dep, sch, scores, survey, tau, years)
    return SyntheticWorld(config=cfg, truth=truth, **tables)


# ---------------------------------------------------------------------------
# stages
# ---------------------------------------------------------------------------


def _correlate(z: np.ndarray, rho: float) -> np.ndarray:
    """Turn independent standard normals (last axis of size 2) into correlated ones."""
    out = np.empty_like(z)
    out[..., 0] = z[..., 0]
    out[..., 1] = rho * z[..., 0] + np.sqrt(1.0 - rho**2) * z[..., 1]
    return out


def _departments(cfg: WorldConfig, rngs: dict[str, np.random.Generator]) -> dict:
    """Department-level draws, made for all 101 departments then subset."""
    table = departments()
    n_all = len(table)
    first_treated = table["tne_cohort"].fillna(0).astype(np.int64).to_numpy()
    tne = (first_treated > 0).astype(float)
    overseas = (table["area"] == "overseas").to_numpy().astype(float)

    rng = rngs["departments"]
    z_index = rng.standard_normal(n_all)
    z_score = rng.standard_normal((n_all, len(LEVELS), len(SUBJECTS)))
    z_rural = rng.standard_normal(n_all)
    size_weight = rng.lognormal(0.0, DEPARTMENT_SIZE_SD, n_all)
    shocks = rngs["year_shocks"].standard_normal((n_all, len(YEARS), len(LEVELS)))

    raw_index = (
        cfg.index_department_sd * z_index
        - cfg.selection_index_gap * tne
        - cfg.overseas_index_gap * overseas
    )
    # centre on 100 with the weights that allocate schools, so the school mean is
    # about 100 whatever the scale
    index_mean = 100.0 + raw_index - np.average(raw_index, weights=size_weight)
    score_effect = (
        cfg.department_sd * _correlate(z_score, SUBJECT_CORR["department"])
        - cfg.selection_score_gap * (tne - tne.mean())[:, None, None]
    )

    keep = np.flatnonzero(table["code"].isin(cfg.department_codes).to_numpy())
    return {
        "table": table.iloc[keep].reset_index(drop=True),
        "code": table["code"].to_numpy(dtype=object)[keep],
        "first_treated": first_treated[keep],
        "index_mean": index_mean[keep],
        "score_effect": score_effect[keep],
        "rurality": z_rural[keep],
        "size_weight": size_weight[keep],
        "year_shock": cfg.department_year_sd * shocks[keep],
    }


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """One school per department, the rest by largest remainder on ``weights``."""
    extra = total - len(weights)
    raw = extra * weights / weights.sum()
    counts = np.floor(raw).astype(np.int64)
    remainder = extra - int(counts.sum())
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:remainder]] += 1
    return counts + 1


def _top(latent: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    """Return the indices of the ``k`` candidates with the largest latent value."""
    k = min(k, candidates.size)
    order = np.argsort(-latent[candidates], kind="stable")
    return candidates[order[:k]]


def _schools(cfg: WorldConfig, dep: dict, rngs: dict[str, np.random.Generator]) -> dict:
    """School skeleton (ids, departments, levels) and school characteristics."""
    totals = (cfg.n_primary, cfg.n_college)
    prefixes = ("E", "C")
    ids, dept, level = [], [], []
    for lvl, (total, prefix) in enumerate(zip(totals, prefixes)):
        counts = _allocate(total, dep["size_weight"])
        for d, (code, count) in enumerate(zip(dep["code"], counts)):
            ids.extend(f"{prefix}{code}{seq:05d}" for seq in range(1, count + 1))
            dept.extend([d] * count)
            level.extend([lvl] * count)
    id_array = np.asarray(ids)
    order = np.argsort(id_array, kind="stable")
    school_id = id_array[order].astype(object)
    dept_idx = np.asarray(dept, dtype=np.int64)[order]
    lvl = np.asarray(level, dtype=np.int64)[order]
    n = school_id.size

    rng = rngs["schools"]
    z_index = rng.standard_normal(n)
    e_private = rng.standard_normal(n)
    e_priority = rng.standard_normal(n)
    u_rural = rng.random(n)
    z_size = rng.standard_normal(n)
    staff_noise = rng.poisson(1.0, n)

    index = np.round(dep["index_mean"][dept_idx] + cfg.index_school_sd * z_index, 1)
    std_index = (index - 100.0) / INDEX_SD

    private = np.zeros(n, dtype=bool)
    priority = np.full(n, "none", dtype=object)
    latent_private = (
        PRIVATE_INDEX_CORR * std_index + np.sqrt(1 - PRIVATE_INDEX_CORR**2) * e_private
    )
    latent_priority = (
        -PRIORITY_INDEX_CORR * std_index
        + np.sqrt(1 - PRIORITY_INDEX_CORR**2) * e_priority
    )
    for lv in range(len(LEVELS)):
        members = np.flatnonzero(lvl == lv)
        n_level = members.size
        private[
            _top(latent_private, members, round(cfg.private_share[lv] * n_level))
        ] = True
        public = members[~private[members]]
        k_plus = round(cfg.rep_plus_share[lv] * n_level)
        k_rep = round(cfg.rep_share[lv] * n_level)
        ranked = _top(latent_priority, public, k_plus + k_rep)
        priority[ranked[:k_plus]] = "REP+"
        priority[ranked[k_plus:]] = "REP"

    rural_share = np.asarray(cfg.rural_share)[lvl]
    p_rural = special.expit(
        special.logit(rural_share) + RURAL_DEPARTMENT_SD * dep["rurality"][dept_idx]
    )
    rural = u_rural < p_rural

    factor = np.asarray(RURAL_SIZE_FACTOR)[lvl]
    mean_size = np.asarray((cfg.pupils_per_primary, cfg.pupils_per_college))[lvl]
    adjust = 1.0 / (rural_share * factor + 1.0 - rural_share)
    expected = mean_size * np.where(rural, factor, 1.0) * adjust
    size = np.maximum(
        np.asarray(MIN_SIZE)[lvl],
        np.round(expected * np.exp(SIZE_LOG_SD * z_size - SIZE_LOG_SD**2 / 2)),
    ).astype(np.int64)
    staff = np.maximum(
        np.asarray(MIN_STAFF)[lvl],
        np.round(size * np.asarray(STAFF_PER_PUPIL)[lvl]) + staff_noise,
    ).astype(np.int64)

    effects = rngs["school_effects"]
    school_effect = cfg.school_sd * _correlate(
        effects.standard_normal((n, len(SUBJECTS))), SUBJECT_CORR["school"]
    )
    school_year = cfg.school_year_sd * _correlate(
        effects.standard_normal((n, len(YEARS), len(SUBJECTS))),
        SUBJECT_CORR["school_year"],
    )
    practice_school = PRACTICE_SCHOOL_SD * effects.standard_normal(n)

    return {
        "school_id": school_id,
        "dept": dept_idx,
        "level": lvl,
        "first_treated": dep["first_treated"][dept_idx],
        "index": index,
        "std_index": std_index,
        "private": private,
        "priority": priority,
        "rural": rural,
        "size": size,
        "staff": staff,
        "school_effect": school_effect,
        "school_year": school_year,
        "practice": PRACTICE_INDEX_SLOPE * std_index
        + PRACTICE_COLLEGE * lvl
        + practice_school,
    }


def _exposure(
    cfg: WorldConfig, path: tuple[float, ...], sch: dict, years: np.ndarray
) -> np.ndarray:
    """Return the expected effect of every school (rows) and year (columns).

    ``effect_scale * cohort_effect[g] * max(0, 1 + gradient * (100 - x) / 15)``
    times ``path[t - g]`` after adoption, ``anticipation_fraction * path[0]`` in
    the ``anticipation`` years before it, and 0 otherwise.
    """
    g = sch["first_treated"][:, None]
    event = years[None, :] - g
    treated = g > 0
    profile = np.zeros((g.shape[0], years.size))
    post = treated & (event >= 0)
    path_arr = np.asarray(path)
    profile[post] = path_arr[np.clip(event, 0, path_arr.size - 1)][post]
    ahead = treated & (event < 0) & (event >= -cfg.anticipation)
    profile[ahead] = cfg.anticipation_fraction * path_arr[0]
    cohort_mult = np.zeros(g.shape[0])
    for cohort, mult in zip(TNE_COHORTS, cfg.cohort_effect):
        cohort_mult[sch["first_treated"] == cohort] = mult
    hetero = np.maximum(0.0, 1.0 + cfg.effect_index_gradient * -sch["std_index"])
    return cfg.effect_scale * (cohort_mult * hetero)[:, None] * profile


def _effects(cfg: WorldConfig, sch: dict, years: np.ndarray) -> dict:
    """Return the expected effects (score points, latent practice, training hours)."""
    base = _exposure(cfg, cfg.score_effect_path, sch, years)
    scale = np.asarray(cfg.score_effect_scale)[sch["level"]]  # (n, subject)
    return {
        "score": base[:, :, None] * scale[:, None, :],
        "practice": _exposure(cfg, cfg.practice_effect_path, sch, years),
        "training": _exposure(cfg, cfg.training_effect_path, sch, years),
    }


def _scores(
    cfg: WorldConfig,
    dep: dict,
    sch: dict,
    tau: dict,
    years: np.ndarray,
    rngs: dict[str, np.random.Generator],
) -> dict:
    """Enrolment, participation, pupil scores and school x year means."""
    n, n_years = sch["school_id"].size, years.size
    lvl = sch["level"]

    rng = rngs["enrolment"]
    missing = rng.random((n, n_years)) < cfg.school_missing_rate
    n_expected = rng.poisson(np.broadcast_to(sch["size"][:, None], (n, n_years)))
    base_rate = np.where(
        np.isin(years, cfg.low_participation_years),
        cfg.low_participation_rate,
        cfg.participation_rate,
    )
    p_test = np.clip(
        base_rate[None, :]
        + cfg.participation_index_gradient * sch["std_index"][:, None],
        0.05,
        1.0,
    )
    n_tested = rng.binomial(n_expected, p_test)
    observed = ~missing & (n_tested > 0)
    n_tested = np.where(observed, n_tested, 0)
    pupil_weight = (sch["size"][:, None] * p_test).mean(axis=1) * (
        1.0 - cfg.school_missing_rate
    )

    # school x year x subject expected score (everything but the pupil residual)
    private_share = np.asarray(cfg.private_share)[lvl]
    intercept = (
        REFERENCE_MEAN
        - GIRL_SHARE * np.asarray(GIRL_EFFECT)[None, :]
        - cfg.private_effect * private_share[:, None]
    )  # (n, subject)
    static = (
        intercept
        + (cfg.index_effect * (sch["index"] - 100.0))[:, None]
        + (cfg.private_effect * sch["private"])[:, None]
        + dep["score_effect"][sch["dept"], lvl]
        + sch["school_effect"]
    )  # (n, subject)
    trend = np.asarray(SECULAR_TREND)[None, :] * (years - years[0])[:, None]
    covid = np.asarray(cfg.covid_profile)[None, :] * (
        cfg.covid_shock - cfg.covid_gradient * sch["std_index"][:, None]
    )  # (n, year)
    mean = (
        static[:, None, :]
        + trend[None, :, :]
        - covid[:, :, None]
        + dep["year_shock"][sch["dept"], :, lvl][:, :, None]
        + sch["school_year"]
        + tau["score"]
    )  # (n, year, subject)

    rng = rngs["pupils"]
    counts = n_tested.ravel()
    n_pupils = int(counts.sum())
    cell = np.repeat(np.arange(counts.size), counts)
    girl = rng.random(n_pupils) < GIRL_SHARE
    noise = _correlate(rng.standard_normal((n_pupils, 2)), SUBJECT_CORR["pupil"])
    flat_mean = mean.reshape(-1, len(SUBJECTS))
    score = np.empty((n_pupils, len(SUBJECTS)))
    for k in range(len(SUBJECTS)):
        score[:, k] = np.round(
            flat_mean[cell, k] + GIRL_EFFECT[k] * girl + cfg.pupil_sd * noise[:, k], 1
        )
    del noise
    starts = np.cumsum(counts) - counts
    pupil_no = np.arange(n_pupils) - np.repeat(starts, counts) + 1

    # school x year means and SDs of the published (rounded) scores
    safe = np.maximum(counts, 1)
    means = np.empty((counts.size, len(SUBJECTS)))
    sds = np.full((counts.size, len(SUBJECTS)), np.nan)
    for k in range(len(SUBJECTS)):
        means[:, k] = (
            np.bincount(cell, weights=score[:, k], minlength=counts.size) / safe
        )
        dev2 = (score[:, k] - means[cell, k]) ** 2
        ss = np.bincount(cell, weights=dev2, minlength=counts.size)
        several = counts > 1
        sds[several, k] = np.sqrt(ss[several] / (counts[several] - 1))
    return {
        "observed": observed,
        "n_expected": n_expected,
        "n_tested": n_tested,
        "pupil_weight": pupil_weight,
        "cell": cell,
        "girl": girl,
        "score": score,
        "pupil_no": pupil_no,
        "means": means.reshape(n, n_years, -1),
        "sds": sds.reshape(n, n_years, -1),
    }


def _likert_mean(mean: np.ndarray, sd: float) -> np.ndarray:
    """E[1 + #(L > cut)] for L ~ N(mean, sd^2)."""
    out = np.ones_like(mean)
    for cut in LIKERT_CUTS:
        out += special.ndtr((mean - cut) / sd)
    return out


def _tobit_mean(mean: np.ndarray, sd: float) -> np.ndarray:
    """E[max(0, H)] for H ~ N(mean, sd^2)."""
    z = mean / sd
    return mean * special.ndtr(z) + sd * np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)


def _survey(
    cfg: WorldConfig,
    sch: dict,
    tau: dict,
    years: np.ndarray,
    rngs: dict[str, np.random.Generator],
) -> dict:
    """Teacher-survey frame, items, training hours, response and expected effects."""
    waves = np.asarray(cfg.survey_waves)
    wave_col = np.searchsorted(years, waves)
    n, n_waves = sch["school_id"].size, waves.size
    lvl = sch["level"]
    sampled = np.minimum(sch["staff"], np.asarray(cfg.teachers_per_school)[lvl])

    # frame: wave-major, then school (sorted ids), then teacher number
    per_wave = np.tile(sampled, n_waves)
    school = np.repeat(np.tile(np.arange(n), n_waves), per_wave)
    wave_idx = np.repeat(np.repeat(np.arange(n_waves), n), per_wave)
    starts = np.cumsum(per_wave) - per_wave
    number = np.arange(school.size) - np.repeat(starts, per_wave) + 1
    m = school.size
    t_lvl = lvl[school]

    rng = rngs["teachers"]
    experience = rng.integers(EXPERIENCE_RANGE[0], EXPERIENCE_RANGE[1] + 1, m)
    female = rng.random(m) < np.asarray(FEMALE_SHARE)[t_lvl]
    factor = TEACHER_FACTOR_SD * rng.standard_normal(m)
    rng = rngs["survey_items"]
    item_noise = ITEM_NOISE_SD * rng.standard_normal((m, len(PRACTICE_ITEMS)))
    training_noise = TRAINING_NOISE_SD * rng.standard_normal(m)
    u_response = rngs["response"].random(m)

    wave_year = waves[wave_idx]
    after_covid = (wave_year >= 2020).astype(float)
    std_index = sch["std_index"][school]
    practice = sch["practice"][school]
    tau_practice = tau["practice"][:, wave_col][school, wave_idx]
    tau_training = tau["training"][:, wave_col][school, wave_idx]

    # school x wave expected values, for the truth
    s_after = (waves >= 2020).astype(float)[None, :]
    s_practice = sch["practice"][:, None]
    s_tau = tau["practice"][:, wave_col]
    s_covid_index = 1.0 + COVID_PRACTICE_INDEX * sch["std_index"][:, None]
    effects: dict[str, np.ndarray] = {}

    items = np.empty((m, len(PRACTICE_ITEMS)))
    for j, name in enumerate(PRACTICE_ITEMS):
        loading, shift = ITEM_LOADING[j], cfg.practice_item_effect[j]
        covid = ITEM_COVID[j] * after_covid * (1.0 + COVID_PRACTICE_INDEX * std_index)
        latent = (
            ITEM_INTERCEPT[j]
            + loading * (practice + factor)
            + covid
            + shift * tau_practice
            + item_noise[:, j]
        )
        items[:, j] = 1.0 + (latent[:, None] > np.asarray(LIKERT_CUTS)[None, :]).sum(1)
        sd = np.sqrt((loading * TEACHER_FACTOR_SD) ** 2 + ITEM_NOISE_SD**2)
        base = (
            ITEM_INTERCEPT[j]
            + loading * s_practice
            + ITEM_COVID[j] * s_after * s_covid_index
        )
        effects[name] = _likert_mean(base + shift * s_tau, sd) - _likert_mean(base, sd)
    effects["practice_index"] = np.mean([effects[k] for k in PRACTICE_ITEMS], axis=0)

    latent_hours = (
        TRAINING_BASE
        + TRAINING_PRACTICE * practice
        + TRAINING_TEACHER * factor / TEACHER_FACTOR_SD
        + TRAINING_COVID * after_covid
        + tau_training
        + training_noise
    )
    hours = np.maximum(0.0, latent_hours)
    sd_hours = np.sqrt(TRAINING_TEACHER**2 + TRAINING_NOISE_SD**2)
    base_hours = (
        TRAINING_BASE + TRAINING_PRACTICE * s_practice + TRAINING_COVID * s_after
    )
    effects["training_hours"] = _tobit_mean(
        base_hours + tau["training"][:, wave_col], sd_hours
    ) - _tobit_mean(base_hours, sd_hours)

    g = sch["first_treated"][school]
    treated = (g > 0) & (wave_year >= g)
    logit = (
        special.logit(cfg.response_rate)
        + cfg.response_index_gradient * std_index
        + RESPONSE_RURAL * sch["rural"][school]
        + RESPONSE_PRIVATE * sch["private"][school]
        + RESPONSE_COLLEGE * t_lvl
        + RESPONSE_EXPERIENCE * (experience - 15)
        + RESPONSE_WAVE * (wave_year - waves[0])
        + cfg.response_treatment_effect * treated
    )
    responded = u_response < special.expit(logit)
    items[~responded] = np.nan
    hours = np.where(responded, hours, np.nan)
    practice_index = items.mean(axis=1)

    return {
        "school": school,
        "wave": wave_year,
        "number": number,
        "treated": treated,
        "experience": experience,
        "female": female,
        "responded": responded,
        "items": items,
        "practice_index": practice_index,
        "training_hours": hours,
        "design_weight": sch["staff"][school] / sampled[school],
        "effects": {"waves": waves, "values": effects},
    }


# ---------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------


def _tables(
    dep: dict,
    sch: dict,
    scores: dict,
    survey: dict,
    tau: dict,
    years: np.ndarray,
) -> dict[str, pd.DataFrame]:
    """Assemble the DataFrames with the schemas of :mod:`._schema`."""
    n, n_years = sch["school_id"].size, years.size
    codes = dep["code"]
    level_name = np.asarray(LEVELS, dtype=object)[sch["level"]]
    grade = np.asarray([GRADES[lv] for lv in LEVELS], dtype=object)[sch["level"]]
    sector = np.where(sch["private"], "private", "public").astype(object)
    school_dept = codes[sch["dept"]]

    dept_table = dep["table"]
    n_primary = np.bincount(sch["dept"][sch["level"] == 0], minlength=codes.size)
    n_college = np.bincount(sch["dept"][sch["level"] == 1], minlength=codes.size)
    index_mean = np.bincount(sch["dept"], weights=sch["index"], minlength=codes.size)
    departments_df = build_frame(
        "departments",
        {
            "department": codes,
            "name": dept_table["name"].to_numpy(dtype=object),
            "academie": dept_table["academie"].to_numpy(dtype=object),
            "region": dept_table["region"].to_numpy(dtype=object),
            "area": dept_table["area"].astype(str).to_numpy(dtype=object),
            "first_treated": dep["first_treated"],
            "n_primary": n_primary,
            "n_college": n_college,
            "social_index_mean": index_mean / (n_primary + n_college),
        },
    )
    schools_df = build_frame(
        "schools",
        {
            "school_id": sch["school_id"],
            "department": school_dept,
            "level": level_name,
            "grade": grade,
            "sector": sector,
            "priority": sch["priority"],
            "rural": sch["rural"],
            "social_index": sch["index"],
            "size": sch["size"],
            "n_teachers": sch["staff"],
            "first_treated": sch["first_treated"],
        },
    )

    rows_s, rows_t = np.nonzero(scores["observed"])  # school-major, then year
    year = years[rows_t]
    g = sch["first_treated"][rows_s]
    panel_df = build_frame(
        "school_panel",
        {
            "school_id": sch["school_id"][rows_s],
            "department": school_dept[rows_s],
            "level": level_name[rows_s],
            "grade": grade[rows_s],
            "year": year,
            "first_treated": g,
            "treated": (g > 0) & (year >= g),
            "social_index": sch["index"][rows_s],
            "priority": sch["priority"][rows_s],
            "sector": sector[rows_s],
            "rural": sch["rural"][rows_s],
            "n_expected": scores["n_expected"][rows_s, rows_t],
            "n_pupils": scores["n_tested"][rows_s, rows_t],
            "score_french": scores["means"][rows_s, rows_t, 0],
            "score_math": scores["means"][rows_s, rows_t, 1],
            "sd_french": scores["sds"][rows_s, rows_t, 0],
            "sd_math": scores["sds"][rows_s, rows_t, 1],
        },
    )

    cell = scores["cell"]
    p_school, p_year = np.divmod(cell, n_years)
    pupils_df = build_frame(
        "pupils",
        {
            "school_id": sch["school_id"][p_school],
            "department": school_dept[p_school],
            "year": years[p_year],
            "grade": grade[p_school],
            "pupil": scores["pupil_no"],
            "girl": scores["girl"],
            "score_french": scores["score"][:, 0],
            "score_math": scores["score"][:, 1],
        },
    )

    t_school = survey["school"]
    teacher_id = np.char.add(
        np.char.add(
            np.char.add(sch["school_id"][t_school].astype(str), "-"),
            survey["wave"].astype(str),
        ),
        np.char.add("-", np.char.zfill(survey["number"].astype(str), 2)),
    ).astype(object)
    teacher_cols = {
        "teacher_id": teacher_id,
        "school_id": sch["school_id"][t_school],
        "department": school_dept[t_school],
        "level": level_name[t_school],
        "wave": survey["wave"],
        "first_treated": sch["first_treated"][t_school],
        "treated": survey["treated"],
        "social_index": sch["index"][t_school],
        "priority": sch["priority"][t_school],
        "sector": sector[t_school],
        "rural": sch["rural"][t_school],
        "n_teachers": sch["staff"][t_school],
        "design_weight": survey["design_weight"],
        "experience": survey["experience"],
        "female": survey["female"],
        "responded": survey["responded"],
        "practice_index": survey["practice_index"],
        "training_hours": survey["training_hours"],
    }
    for j, item in enumerate(PRACTICE_ITEMS):
        teacher_cols[item] = survey["items"][:, j]
    teachers_df = build_frame("teachers", teacher_cols)

    effects_cols: dict[str, Any] = {
        "school_id": pd.array(np.repeat(sch["school_id"], n_years), dtype="str"),
        "year": np.tile(years, n),
        "score_french": tau["score"][:, :, 0].ravel(),
        "score_math": tau["score"][:, :, 1].ravel(),
    }
    waves = survey["effects"]["waves"]
    wave_mask = np.isin(years, waves)
    for name, values in survey["effects"]["values"].items():
        full = np.full((n, n_years), np.nan)
        full[:, wave_mask] = values
        effects_cols[name] = full.ravel()
    effects_df = pd.DataFrame(effects_cols)

    return {
        "departments": departments_df,
        "schools": schools_df,
        "school_panel": panel_df,
        "pupils": pupils_df,
        "teachers": teachers_df,
        "effects": effects_df,
    }
