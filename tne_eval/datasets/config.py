"""Configuration of the synthetic TNE world.

:class:`WorldConfig` is the single, documented, immutable description of the
synthetic world: every knob of the generator :func:`tne_eval.datasets.simulate`
is one of its fields. Presets give the two standard sizes
(``WorldConfig.preset("default")`` is the committed world of ``data/synthetic/``,
``"national"`` the benchmark world of about 50,000 schools).

A handful of structural constants that are not meant to be tuned (the names of the
survey items, their loadings and thresholds, gender gaps, secular trends) are
module-level constants below; they are pinned by the generator version recorded in
every ``MANIFEST.json``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

import numpy as np

from tne_eval._validation import format_examples
from tne_eval.errors import ConfigError, DataError, TneEvalTypeError
from tne_eval.territories import (
    TNE_COHORTS,
    departments,
    normalize_department_code,
)

__all__ = [
    "DEFAULT_SEED",
    "GENERATOR_VERSION",
    "GRADES",
    "LEVELS",
    "PRACTICE_ITEMS",
    "SUBJECTS",
    "YEARS",
    "Scale",
    "WorldConfig",
]

#: Version of the generator. Bump it whenever the same config and seed would
#: produce different files; it is recorded in ``MANIFEST.json``.
GENERATOR_VERSION = "1.0.0"

#: The fixed default seed of the committed world (the first TNE school year began
#: in September 2020).
DEFAULT_SEED = 20200901

#: School years of the world, coded by their start year (2016 = 2016-17).
YEARS: tuple[int, ...] = tuple(range(2016, 2025))

#: School levels, in the order used by every per-level knob.
LEVELS: tuple[str, ...] = ("primary", "college")

#: Tested grade of each level: end of primary (CM2) and end of collège (3e).
GRADES: dict[str, str] = {"primary": "CM2", "college": "3e"}

#: Tested subjects, in the order used by every per-subject knob.
SUBJECTS: tuple[str, ...] = ("french", "math")

#: Likert items of the teacher survey (1 = never / not at all ... 5 = very often /
#: fully), in the order used by ``WorldConfig.practice_item_effect``.
PRACTICE_ITEMS: tuple[str, ...] = (
    "digital_use_class",
    "pupil_devices",
    "hybrid_readiness",
    "platform_use",
    "collaboration_tools",
    "digital_self_efficacy",
)

#: Number of possible exposure lengths e = t - g >= 0 (first cohort 2020, last
#: year 2024: e = 0, ..., 4); the length of every ``*_effect_path``.
N_EXPOSURES = YEARS[-1] - min(TNE_COHORTS) + 1

Scale = Literal["default", "national"]

_PRESETS: dict[str, dict[str, Any]] = {
    "default": {
        "n_primary": 3000,
        "n_college": 800,
        "pupils_per_primary": 20.0,
        "pupils_per_college": 50.0,
    },
    "national": {
        "n_primary": 43000,
        "n_college": 7000,
        "pupils_per_primary": 12.0,
        "pupils_per_college": 36.0,
    },
}


@dataclass(frozen=True)
class WorldConfig:
    """Every knob of the synthetic TNE world.

    The world covers the 101 French departments (or a subset), school years 2016
    to 2024 (start-year coding: 2016 = 2016-17) and the real TNE calendar
    (cohort 2020: departments 02 and 95; cohort 2021: ten departments). Equations
    and the role of each parameter are in ``docs/synthetic_world.md``. Scores are
    in points of a scale with mean 250 and standard deviation 50 in 2016; the
    social index in points of a scale with school mean 100 and SD 15.

    Parameters
    ----------
    seed : int, default 20200901
        Seed of the generator. Each component (departments, schools, enrolment,
        school effects, year shocks, pupils, teachers, survey items, response)
        draws from its own sub-stream spawned from this seed, so changing one
        component does not shift the others, and effect knobs never consume
        random numbers: the null world (``effect_scale=0``) has exactly the same
        noise as the default world.
    departments : sequence of str, optional
        INSEE codes of the departments to simulate (e.g. ``("02", "95", "01")``);
        ``None`` (default) means all 101. Department-level draws are made for all
        101 departments and then subset, so a department looks the same in every
        world with the same seed.
    n_primary : int, default 3000
        Number of primary schools (écoles). Each department gets at least one;
        the rest are allocated in proportion to a random department size.
    n_college : int, default 800
        Number of lower-secondary schools (collèges), allocated likewise.
    pupils_per_primary : float, default 20.0
        Mean number of pupils per year in the tested primary grade (CM2).
    pupils_per_college : float, default 50.0
        Mean number of pupils per year in the tested collège grade (3e).
    private_share : (float, float), default (0.14, 0.22)
        Share of private schools under contract among (primary, collège) schools.
        Private schools are selected among high social-index schools.
    rep_share : (float, float), default (0.14, 0.14)
        Share of (primary, collège) schools in REP, drawn among low-index public
        schools.
    rep_plus_share : (float, float), default (0.06, 0.06)
        Share of (primary, collège) schools in REP+, the lowest-index public
        schools.
    rural_share : (float, float), default (0.35, 0.20)
        Approximate share of rural (primary, collège) schools.
    index_department_sd : float, default 6.0
        SD of department means of the social index (before selection and the
        overseas gap).
    index_school_sd : float, default 13.0
        SD of the social index of schools within a department.
    overseas_index_gap : float, default 8.0
        How much lower the mean index of overseas departments is.
    selection_index_gap : float, default 12.0
        Selection of TNE departments on the social index: their mean index is
        lower by this many points than that of the other departments. ``0``
        removes selection on the index.
    selection_score_gap : float, default 3.0
        Selection on levels: the department effect on scores of TNE departments
        is lower by this many points. ``0`` removes it.
    index_effect : float, default 1.0
        Score points per point of the school social index.
    private_effect : float, default 3.0
        Score premium of private schools, in points.
    department_sd : float, default 5.0
        SD of department effects on scores.
    department_year_sd : float, default 1.0
        SD of department x year shocks (common to the schools of a department).
    school_sd : float, default 15.0
        SD of school effects on scores.
    school_year_sd : float, default 5.0
        SD of school x year shocks.
    pupil_sd : float, default 44.5
        SD of the pupil-level residual.
    covid_shock : float, default 7.0
        Score loss at the peak of the COVID shock for a school of index 100.
    covid_gradient : float, default 6.0
        Extra loss at the peak per SD (15 points) of index below 100; the shock
        is ``covid_profile[t] * (covid_shock + covid_gradient * (100 - x) / 15)``.
        Because it depends on the index, parallel trends fail unconditionally
        but hold conditional on the index.
    covid_profile : sequence of float, default (0, 0, 0, 0, 1, 0.9, 0.6, 0.4, 0.3)
        Intensity of the COVID shock in each school year 2016 ... 2024 (length 9).
    effect_scale : float, default 1.0
        Multiplier of every treatment effect; ``0`` gives the null world used by
        size studies.
    score_effect_path : sequence of float, default (1, 2, 3, 4, 5)
        Effect on scores, in points, by exposure e = t - g = 0, ..., 4 (length 5),
        before the multipliers below.
    score_effect_scale : 2 x 2 nested sequence, default ((1.0, 1.2), (0.8, 1.0))
        Multipliers of the score effect by level (rows: primary, collège) and
        subject (columns: French, mathematics).
    cohort_effect : sequence of float, default (1.5, 1.0)
        Multiplier of every effect for each TNE cohort (2020 demonstrators, 2021
        wave); length 2.
    effect_index_gradient : float, default 0.3
        Relative increase of every effect per SD of index below 100: effects are
        multiplied by ``max(0, 1 + effect_index_gradient * (100 - x) / 15)``.
    practice_effect_path : sequence of float, default (0.40, 0.55, 0.65, 0.70, 0.75)
        Effect on the latent digital practice of teachers, in latent SD units, by
        exposure e = 0, ..., 4 (length 5): larger and faster than on scores.
    practice_item_effect : sequence of float, default (1.0, 1.5, 0.7, 1.3, 0.9, 0.6)
        Multiplier of the practice effect for each survey item, in the order of
        :data:`PRACTICE_ITEMS` (length 6).
    training_effect_path : sequence of float, default (8, 6, 4, 3, 3)
        Effect on latent yearly hours of digital training by exposure e = 0,
        ..., 4 (length 5); front-loaded.
    anticipation : int, default 0
        Number of school years before the first TNE year in which effects already
        appear (0, 1 or 2). In those years the effect is
        ``anticipation_fraction`` times the effect at e = 0.
    anticipation_fraction : float, default 0.5
        Size of anticipation effects relative to the effect at e = 0.
    participation_rate : float, default 0.95
        Probability that an enrolled pupil sits the test, at index 100.
    low_participation_years : sequence of int, default (2020,)
        School years with lower participation.
    low_participation_rate : float, default 0.85
        Participation rate at index 100 in ``low_participation_years``.
    participation_index_gradient : float, default 0.03
        Drop of the participation rate per SD of index below 100.
    school_missing_rate : float, default 0.03
        Probability that a school is absent from the data in a given year
        (unbalanced panel).
    survey_waves : sequence of int, default (2019, 2021, 2023)
        School years in which the teacher survey is run.
    teachers_per_school : (int, int), default (3, 6)
        Number of teachers sampled per (primary, collège) school and wave (or
        all of them in smaller schools).
    response_rate : float, default 0.6
        Survey response probability of a reference teacher (index 100, urban,
        public, primary, 15 years of experience, untreated, 2019 wave).
    response_index_gradient : float, default 0.35
        Change of the response log-odds per SD of index above 100. Non-response
        depends on observables only (index, rurality, sector, level,
        experience, wave, TNE exposure).
    response_treatment_effect : float, default 0.3
        Change of the response log-odds of teachers of TNE schools once treated.

    Raises
    ------
    ConfigError
        If a value is out of range, has the wrong shape, or names an unknown
        department; the message names the field, the bad value and the fix.
    TneEvalTypeError
        If a field has the wrong type (e.g. a string where a number is needed).

    See Also
    --------
    tne_eval.datasets.simulate : generate the world described by a config.

    Notes
    -----
    Cohorts follow the R ``did`` convention: the column ``first_treated`` holds the
    first TNE school year of the school's department and ``0`` for schools that
    are never treated.

    Examples
    --------
    >>> from tne_eval.datasets import WorldConfig
    >>> cfg = WorldConfig()
    >>> cfg.n_primary, cfg.seed
    (3000, 20200901)
    >>> WorldConfig.preset("national").n_primary
    43000
    >>> null = cfg.update(effect_scale=0.0)
    >>> null.effect_scale, cfg.effect_scale
    (0.0, 1.0)
    """

    seed: int = DEFAULT_SEED
    departments: tuple[str, ...] | None = None
    # schools
    n_primary: int = 3000
    n_college: int = 800
    pupils_per_primary: float = 20.0
    pupils_per_college: float = 50.0
    private_share: tuple[float, float] = (0.14, 0.22)
    rep_share: tuple[float, float] = (0.14, 0.14)
    rep_plus_share: tuple[float, float] = (0.06, 0.06)
    rural_share: tuple[float, float] = (0.35, 0.20)
    # social index and selection
    index_department_sd: float = 6.0
    index_school_sd: float = 13.0
    overseas_index_gap: float = 8.0
    selection_index_gap: float = 12.0
    selection_score_gap: float = 3.0
    # scores
    index_effect: float = 1.0
    private_effect: float = 3.0
    department_sd: float = 5.0
    department_year_sd: float = 1.0
    school_sd: float = 15.0
    school_year_sd: float = 5.0
    pupil_sd: float = 44.5
    covid_shock: float = 7.0
    covid_gradient: float = 6.0
    covid_profile: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 1.0, 0.9, 0.6, 0.4, 0.3)
    # treatment effects
    effect_scale: float = 1.0
    score_effect_path: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0, 5.0)
    score_effect_scale: tuple[tuple[float, float], tuple[float, float]] = (
        (1.0, 1.2),
        (0.8, 1.0),
    )
    cohort_effect: tuple[float, ...] = (1.5, 1.0)
    effect_index_gradient: float = 0.3
    practice_effect_path: tuple[float, ...] = (0.40, 0.55, 0.65, 0.70, 0.75)
    practice_item_effect: tuple[float, ...] = (1.0, 1.5, 0.7, 1.3, 0.9, 0.6)
    training_effect_path: tuple[float, ...] = (8.0, 6.0, 4.0, 3.0, 3.0)
    anticipation: int = 0
    anticipation_fraction: float = 0.5
    # attrition
    participation_rate: float = 0.95
    low_participation_years: tuple[int, ...] = (2020,)
    low_participation_rate: float = 0.85
    participation_index_gradient: float = 0.03
    school_missing_rate: float = 0.03
    # teacher survey
    survey_waves: tuple[int, ...] = (2019, 2021, 2023)
    teachers_per_school: tuple[int, int] = (3, 6)
    response_rate: float = 0.6
    response_index_gradient: float = 0.35
    response_treatment_effect: float = 0.3

    def __post_init__(self) -> None:
        _validate(self)

    # ------------------------------------------------------------------ API
    @classmethod
    def preset(
        cls, scale: Scale = "default", *, seed: int = DEFAULT_SEED
    ) -> WorldConfig:
        """Return the configuration of a standard world size.

        Parameters
        ----------
        scale : {"default", "national"}, default "default"
            ``"default"``: 3,000 primary schools and 800 collèges, about 830,000
            pupil-year rows (the committed world). ``"national"``: 43,000 primary
            schools and 7,000 collèges, about 6 million pupil-year rows (generated
            on demand for benchmarks).
        seed : int, default 20200901
            Seed of the generator.

        Returns
        -------
        WorldConfig
            The preset configuration.

        Raises
        ------
        ConfigError
            If ``scale`` is not one of the presets.

        Examples
        --------
        >>> WorldConfig.preset("national", seed=1).n_college
        7000
        """
        if scale not in _PRESETS:
            raise ConfigError(
                f"scale={scale!r} is not a preset of WorldConfig; choose one of "
                f"{format_examples(_PRESETS, len(_PRESETS))}, or build a custom "
                "world with WorldConfig(n_primary=..., n_college=...)."
            )
        return cls(seed=seed, **_PRESETS[scale])

    def update(self, **changes: Any) -> WorldConfig:
        """Return a copy with some fields changed (the config itself is immutable).

        Parameters
        ----------
        **changes
            New values of fields, validated like the constructor's arguments.

        Returns
        -------
        WorldConfig
            The modified copy.

        Raises
        ------
        ConfigError
            If a name is not a field or a value is invalid.

        Examples
        --------
        >>> WorldConfig().update(anticipation=1).anticipation
        1
        """
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            raise ConfigError(
                f"WorldConfig has no field(s) {format_examples(unknown, len(unknown))}."
                " See help(WorldConfig) for the list of knobs."
            )
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as a JSON-serialisable dict.

        Returns
        -------
        dict
            Field name to value; tuples become lists.

        Examples
        --------
        >>> WorldConfig().to_dict()["survey_waves"]
        [2019, 2021, 2023]
        """
        return _to_json(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorldConfig:
        """Rebuild a configuration from :meth:`to_dict` output (e.g. a manifest).

        Parameters
        ----------
        data : dict
            Field name to value.

        Returns
        -------
        WorldConfig
            The configuration, validated.

        Raises
        ------
        ConfigError
            If a key is not a field or a value is invalid.

        Examples
        --------
        >>> cfg = WorldConfig(seed=3)
        >>> WorldConfig.from_dict(cfg.to_dict()) == cfg
        True
        """
        if not isinstance(data, dict):
            raise TneEvalTypeError(
                f"WorldConfig.from_dict needs a dict (got {type(data).__name__})."
            )
        return cls().update(**data)

    # ------------------------------------------------------------- helpers
    @property
    def department_codes(self) -> tuple[str, ...]:
        """INSEE codes of the simulated departments, in the reference order."""
        all_codes = tuple(departments()["code"])
        if self.departments is None:
            return all_codes
        wanted = set(self.departments)
        return tuple(c for c in all_codes if c in wanted)


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------


def _to_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def _shape(value: Any) -> tuple[int, ...] | str:
    try:
        return np.asarray(value, dtype=float).shape
    except (TypeError, ValueError):
        return "ragged"


def _fail(name: str, value: Any, problem: str, fix: str) -> ConfigError:
    return ConfigError(f"WorldConfig.{name}={value!r} {problem}. {fix}")


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(
        value, (int, float, np.integer, np.floating)
    )


def _number(cfg: WorldConfig, name: str) -> float:
    value = getattr(cfg, name)
    if not _is_number(value):
        raise TneEvalTypeError(
            f"WorldConfig.{name} must be a number (got {type(value).__name__} "
            f"{value!r})."
        )
    value = float(value)
    if not math.isfinite(value):
        raise _fail(name, value, "is not finite", "Give a finite number.")
    object.__setattr__(cfg, name, value)
    return value


def _integer(cfg: WorldConfig, name: str) -> int:
    value = getattr(cfg, name)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TneEvalTypeError(
            f"WorldConfig.{name} must be an integer (got {type(value).__name__} "
            f"{value!r})."
        )
    value = int(value)
    object.__setattr__(cfg, name, value)
    return value


def _non_negative(cfg: WorldConfig, name: str) -> float:
    value = _number(cfg, name)
    if value < 0:
        raise _fail(name, value, "is negative", "Use a value >= 0 (0 switches it off).")
    return value


def _probability(cfg: WorldConfig, name: str, *, open_low: bool = False) -> float:
    value = _number(cfg, name)
    low_ok = value > 0 if open_low else value >= 0
    if not (low_ok and value <= 1):
        interval = "(0, 1]" if open_low else "[0, 1]"
        raise _fail(
            name,
            value,
            f"is not a probability in {interval}",
            "Give a share such as 0.9.",
        )
    return value


def _vector(
    cfg: WorldConfig,
    name: str,
    length: int | None,
    meaning: str,
    *,
    integer: bool = False,
) -> tuple[Any, ...]:
    """Validate a 1-d sequence of numbers; ``length=None`` accepts any length."""
    value = getattr(cfg, name)
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        count = "numbers" if length is None else f"{length} numbers"
        raise TneEvalTypeError(
            f"WorldConfig.{name} must be a sequence of {count} (one per {meaning}); "
            f"got {type(value).__name__} {value!r}."
        )
    items = value.tolist() if isinstance(value, np.ndarray) else list(value)
    nested = any(
        isinstance(v, (Sequence, np.ndarray)) and not isinstance(v, str) for v in items
    )
    if nested or (length is not None and len(items) != length):
        shape = _shape(items)
        want = "(n,)" if length is None else f"({length},)"
        raise _fail(
            name,
            _to_json(items),
            f"has shape {shape} but must have shape {want}",
            f"Give one value per {meaning}.",
        )
    out = []
    for item in items:
        ok = (
            not isinstance(item, bool) and isinstance(item, (int, np.integer))
            if integer
            else _is_number(item)
        )
        if not ok:
            kind = "integers" if integer else "numbers"
            raise TneEvalTypeError(
                f"WorldConfig.{name} must contain {kind} (got {item!r})."
            )
        item = int(item) if integer else float(item)
        if not integer and not math.isfinite(item):
            raise _fail(name, list(value), "contains a non-finite value", "Fix it.")
        out.append(item)
    result = tuple(out)
    object.__setattr__(cfg, name, result)
    return result


def _validate(cfg: WorldConfig) -> None:
    n_years = len(YEARS)
    if isinstance(cfg.seed, bool) or not isinstance(cfg.seed, (int, np.integer)):
        raise TneEvalTypeError(
            f"WorldConfig.seed must be a non-negative integer (got "
            f"{type(cfg.seed).__name__} {cfg.seed!r}); a fixed integer keeps the "
            "world reproducible."
        )
    if cfg.seed < 0:
        raise _fail("seed", cfg.seed, "is negative", "Use a non-negative integer.")
    object.__setattr__(cfg, "seed", int(cfg.seed))

    # departments
    if cfg.departments is not None:
        codes = cfg.departments
        if isinstance(codes, (str, bytes)) or not isinstance(
            codes, (Sequence, np.ndarray)
        ):
            raise TneEvalTypeError(
                "WorldConfig.departments must be None or a sequence of INSEE codes "
                f"such as ('02', '2A', '971') (got {codes!r})."
            )
        normalized, bad = [], []
        for code in codes:
            try:
                normalized.append(normalize_department_code(code))
            except (DataError, TneEvalTypeError):
                bad.append(code)
        if bad:
            raise _fail(
                "departments",
                tuple(codes),
                f"contains {len(bad)} unknown department code(s) "
                f"({format_examples(bad, 5)})",
                "Use INSEE codes as strings: '01'...'95', '2A', '2B', "
                "'971'...'976'; see tne_eval.territories.departments().",
            )
        if not normalized:
            raise _fail(
                "departments",
                tuple(codes),
                "is empty",
                "Give at least one department code, or None for all 101.",
            )
        dupes = sorted({c for c in normalized if normalized.count(c) > 1})
        if dupes:
            raise _fail(
                "departments",
                tuple(codes),
                f"repeats {format_examples(dupes)}",
                "List each department once.",
            )
        object.__setattr__(cfg, "departments", tuple(normalized))
    n_departments = len(cfg.departments) if cfg.departments is not None else 101

    # schools
    for name in ("n_primary", "n_college"):
        value = _integer(cfg, name)
        if value < 0:
            raise _fail(
                name,
                value,
                "is negative",
                "Give the number of schools of this level to simulate, e.g. "
                f"{_PRESETS['default'][name]} (preset 'default').",
            )
        if value < n_departments:
            raise _fail(
                name,
                value,
                f"is smaller than the number of departments ({n_departments})",
                "Every department needs at least one school of each level: use a "
                f"value >= {n_departments} or simulate fewer departments.",
            )
    for name in ("pupils_per_primary", "pupils_per_college"):
        value = _number(cfg, name)
        if value < 1:
            raise _fail(
                name,
                value,
                "is below 1",
                "Give the mean number of tested pupils per school and year (>= 1).",
            )
    for name in ("private_share", "rep_share", "rep_plus_share", "rural_share"):
        shares = _vector(cfg, name, 2, "level (primary, collège)")
        for share in shares:
            if not 0 <= share < 1:
                raise _fail(
                    name, shares, "contains a share outside [0, 1)", "Give shares."
                )
    for level, (priv, rep, plus) in enumerate(
        zip(cfg.private_share, cfg.rep_share, cfg.rep_plus_share)
    ):
        if priv + rep + plus > 1:
            raise _fail(
                "rep_share",
                cfg.rep_share,
                f"plus rep_plus_share and private_share exceeds 1 for "
                f"{LEVELS[level]} schools ({priv + rep + plus:.2f})",
                "Priority education is drawn among public schools; lower the shares.",
            )

    # index, scores, noise
    for name in (
        "index_department_sd",
        "index_school_sd",
        "overseas_index_gap",
        "selection_index_gap",
        "selection_score_gap",
        "department_sd",
        "department_year_sd",
        "school_sd",
        "school_year_sd",
        "covid_shock",
        "covid_gradient",
        "effect_scale",
        "effect_index_gradient",
        "anticipation_fraction",
        "participation_index_gradient",
    ):
        _non_negative(cfg, name)
    for name in ("index_effect", "private_effect"):
        _number(cfg, name)
    if _number(cfg, "pupil_sd") <= 0:
        raise _fail(
            "pupil_sd", cfg.pupil_sd, "is not positive", "Use e.g. 44.5 (the default)."
        )
    profile = _vector(
        cfg, "covid_profile", n_years, f"school year {YEARS[0]}..{YEARS[-1]}"
    )
    if any(v < 0 for v in profile):
        raise _fail(
            "covid_profile", profile, "has negative entries", "Use values >= 0."
        )

    # effects
    for name in ("score_effect_path", "practice_effect_path", "training_effect_path"):
        _vector(cfg, name, N_EXPOSURES, "exposure e = t - g = 0, ..., 4")
    _vector(cfg, "cohort_effect", len(TNE_COHORTS), "TNE cohort (2020, 2021)")
    _vector(cfg, "practice_item_effect", len(PRACTICE_ITEMS), "survey item")
    scale = cfg.score_effect_scale
    try:
        arr = np.asarray(scale, dtype=float)
    except (TypeError, ValueError) as err:
        raise _fail(
            "score_effect_scale",
            scale,
            "is not a 2 x 2 array of numbers",
            "Give ((primary French, primary math), (collège French, collège math)).",
        ) from err
    if arr.shape != (2, 2):
        raise _fail(
            "score_effect_scale",
            _to_json(arr.tolist()),
            f"has shape {arr.shape} but must have shape (2, 2)",
            "Give ((primary French, primary math), (collège French, collège math)).",
        )
    if not np.all(np.isfinite(arr)):
        raise _fail("score_effect_scale", arr.tolist(), "is not finite", "Fix it.")
    object.__setattr__(
        cfg, "score_effect_scale", tuple(tuple(float(v) for v in row) for row in arr)
    )
    anticipation = _integer(cfg, "anticipation")
    max_anticipation = min(TNE_COHORTS) - YEARS[0] - 2
    if not 0 <= anticipation <= max_anticipation:
        raise _fail(
            "anticipation",
            anticipation,
            f"is outside 0..{max_anticipation}",
            "Anticipation is the number of school years before the first TNE year "
            "with effects; at least two clean pre-periods must remain.",
        )

    # attrition
    _probability(cfg, "participation_rate", open_low=True)
    _probability(cfg, "low_participation_rate", open_low=True)
    missing = _probability(cfg, "school_missing_rate")
    if missing >= 1:
        raise _fail(
            "school_missing_rate", missing, "leaves no data", "Use a value below 1."
        )
    low_years = _vector(
        cfg, "low_participation_years", None, "school year", integer=True
    )
    bad_years = [y for y in low_years if y not in YEARS]
    if bad_years:
        raise _fail(
            "low_participation_years",
            low_years,
            f"contains years outside {YEARS[0]}..{YEARS[-1]} "
            f"({format_examples(bad_years)})",
            "Use start-year coding (2020 = 2020-21).",
        )

    # survey
    waves = _vector(cfg, "survey_waves", None, "survey wave", integer=True)
    if not waves:
        raise _fail("survey_waves", waves, "is empty", "Give at least one wave.")
    if any(w not in YEARS for w in waves) or list(waves) != sorted(set(waves)):
        raise _fail(
            "survey_waves",
            waves,
            f"must be increasing distinct school years in {YEARS[0]}..{YEARS[-1]}",
            "Use e.g. (2019, 2021, 2023).",
        )
    per_school = _vector(
        cfg, "teachers_per_school", 2, "level (primary, collège)", integer=True
    )
    if any(n < 1 for n in per_school):
        raise _fail(
            "teachers_per_school",
            per_school,
            "contains a size below 1",
            "Sample at least one teacher per school.",
        )
    rate = _number(cfg, "response_rate")
    if not 0 < rate < 1:
        raise _fail(
            "response_rate",
            rate,
            "is not a probability in (0, 1)",
            "Give the response rate of a reference teacher, e.g. 0.6.",
        )
    _number(cfg, "response_index_gradient")
    _number(cfg, "response_treatment_effect")
