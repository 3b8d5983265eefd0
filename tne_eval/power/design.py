r"""The design and the variance components that power calculations take.

:class:`PowerDesign` describes a clustered staggered DiD: how many departments
start treatment in each cohort, how many are never treated, the periods, the
schools per department and the pupils per school (per group when they differ).
:class:`VarianceComponents` holds the five variances of the random-effects model

.. math::

    Y_{idst} = \mu_t + \tau D_{dt} + u_d + \omega_{dt} + v_s + \eta_{st}
    + \varepsilon_{ist},

department :math:`u_d`, department x year :math:`\omega_{dt}`, school
:math:`v_s`, school x year :math:`\eta_{st}` and pupil :math:`\varepsilon_{ist}`,
all independent, mean zero, and the year terms independent across years.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tne_eval._validation import check_columns_exist, check_dataframe, format_examples
from tne_eval.errors import ConfigError, DataError, SpecError, TneEvalTypeError

if TYPE_CHECKING:
    from tne_eval.datasets.config import WorldConfig

__all__ = ["COMPARISON", "PowerDesign", "VarianceComponents"]

#: Group key of the never-treated (comparison) departments in per-group mappings.
COMPARISON = 0

_COMPONENTS = ("department", "department_year", "school", "school_year", "pupil")


def _check_variance(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise TneEvalTypeError(f"{name} must be a number (got {value!r}).")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ConfigError(
            f"{name} must be a finite variance >= 0 (got {value}); variances are "
            "squared standard deviations (use VarianceComponents.from_sd for SDs)."
        )
    return value


@dataclass(frozen=True)
class VarianceComponents:
    r"""Variances of the five random effects of a pupil score (squared units).

    Parameters
    ----------
    department : float
        :math:`\sigma_u^2`, permanent department effect.
    department_year : float
        :math:`\sigma_\omega^2`, department x year shock.
    school : float
        :math:`\sigma_v^2`, permanent school effect.
    school_year : float
        :math:`\sigma_\eta^2`, school x year shock.
    pupil : float
        :math:`\sigma_\varepsilon^2`, pupil residual. ``0`` when the outcome is
        already a school-year mean whose sampling noise is folded into
        ``school_year`` (then set ``pupils_per_school=1`` in the design).

    Notes
    -----
    A DiD differences out the permanent components (``department``, ``school``)
    of every department that is observed in all the periods it uses; its
    variance rests on the year-to-year components ``department_year``,
    ``school_year`` and ``pupil`` only. The permanent ones still matter for the
    intra-class correlations that are usually quoted (:meth:`icc`).

    Examples
    --------
    >>> vc = VarianceComponents.from_sd(department=5, department_year=1, school=15,
    ...                                 school_year=5, pupil=44.5)
    >>> float(round(vc.icc()["school"], 3))
    0.1
    """

    department: float
    department_year: float
    school: float
    school_year: float
    pupil: float

    def __post_init__(self) -> None:
        for name in _COMPONENTS:
            object.__setattr__(self, name, _check_variance(getattr(self, name), name))

    @classmethod
    def from_sd(
        cls,
        *,
        department: float,
        department_year: float,
        school: float,
        school_year: float,
        pupil: float,
    ) -> VarianceComponents:
        """Build from standard deviations (squared here)."""
        sds = {
            "department": department,
            "department_year": department_year,
            "school": school,
            "school_year": school_year,
            "pupil": pupil,
        }
        return cls(**{k: _check_variance(v, k) ** 2 for k, v in sds.items()})

    @classmethod
    def from_world(
        cls, config: WorldConfig | None = None, *, subject: str = "french"
    ) -> VarianceComponents:
        r"""Take the noise components of a test score of the synthetic world.

        Takes ``department_sd``, ``department_year_sd``, ``school_sd``,
        ``school_year_sd`` and ``pupil_sd`` of ``config``; the pupil variance
        also holds the girls' gap (:math:`p(1-p)g_k^2`, with the world's share
        :math:`p` of girls and gap :math:`g_k` of the subject) and the rounding
        of scores to 0.1 point (:math:`0.1^2/12`). Variation explained by the
        social index, the sector and the COVID shock is not noise of the
        model: it is removed by conditioning on the index.

        Parameters
        ----------
        config : WorldConfig, optional
            Defaults to ``WorldConfig()`` (the committed world).
        subject : {"french", "math"}, default "french"
        """
        from tne_eval._validation import check_choice
        from tne_eval.datasets import config as cfg
        from tne_eval.datasets.simulate import GIRL_EFFECT, GIRL_SHARE

        if config is None:
            config = cfg.WorldConfig()
        subject = check_choice(subject, "subject", cfg.SUBJECTS)
        gap = GIRL_EFFECT[cfg.SUBJECTS.index(subject)]
        pupil = config.pupil_sd**2 + GIRL_SHARE * (1 - GIRL_SHARE) * gap**2
        return cls(
            department=config.department_sd**2,
            department_year=config.department_year_sd**2,
            school=config.school_sd**2,
            school_year=config.school_year_sd**2,
            pupil=pupil + 0.1**2 / 12,
        )

    @property
    def total(self) -> float:
        """Total variance of one pupil score."""
        return sum(getattr(self, n) for n in _COMPONENTS)

    def icc(self) -> pd.Series:
        r"""Intra-class correlations: each component's share of the total variance.

        ``department + department_year`` is the correlation of two pupils of
        the same department in the same year and different schools;
        ``department + department_year + school + school_year`` that of two
        pupils of the same school and year.
        """
        total = self.total
        if total == 0:
            raise ConfigError("All variance components are zero: no ICC is defined.")
        return pd.Series(
            {n: getattr(self, n) / total for n in _COMPONENTS}, name="icc"
        ).rename_axis("component")

    def to_frame(self) -> pd.DataFrame:
        """Variance, standard deviation and ICC of each component."""
        out = pd.DataFrame(
            {"variance": [getattr(self, n) for n in _COMPONENTS]},
            index=pd.Index(_COMPONENTS, name="component"),
        )
        out["sd"] = np.sqrt(out["variance"])
        out["icc"] = out["variance"] / self.total if self.total > 0 else np.nan
        return out


def _per_group(value: object, name: str, keys: Sequence[int]) -> dict[int, float]:
    if isinstance(value, Mapping):
        missing = [k for k in keys if k not in value]
        if missing:
            raise SpecError(
                f"{name} has no value for group(s) {format_examples(missing)}; give "
                f"one per cohort and {COMPARISON} for the never-treated departments, "
                "or a single number for all."
            )
        raw = {k: value[k] for k in keys}
    else:
        raw = dict.fromkeys(keys, value)
    out = {}
    for k, v in raw.items():
        if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
            raise TneEvalTypeError(f"{name} must be numbers (got {v!r} for {k}).")
        v = float(v)
        if not math.isfinite(v) or v <= 0:
            raise ConfigError(f"{name} must be positive (got {v} for group {k}).")
        out[k] = v
    return out


@dataclass(frozen=True)
class PowerDesign:
    """A clustered staggered DiD design: cohorts of departments, schools, pupils.

    Parameters
    ----------
    cohorts : mapping of int to int
        First treated period -> number of departments treated from then
        (TNE: ``{2020: 2, 2021: 10}``).
    n_comparison : int
        Number of never-treated departments (TNE: 89).
    periods : sequence of int
        The consecutive periods observed (TNE: 2016, ..., 2024).
    schools_per_department : float or mapping, default 1
        Schools per department (mean), one number or one per group (cohort
        keys and ``0`` for the never-treated).
    pupils_per_school : float or mapping, default 1
        Pupils tested per school and period (the harmonic mean when sizes
        vary), one number or one per group.

    Raises
    ------
    ConfigError
        Non-positive counts, periods that are not consecutive integers, or a
        cohort without a period before it (its DiD has no base period).

    Examples
    --------
    >>> d = PowerDesign({2020: 2, 2021: 10}, 89, range(2016, 2025), 30, 19)
    >>> d.n_departments
    101
    """

    cohorts: Mapping[int, int]
    n_comparison: int
    periods: Sequence[int]
    schools_per_department: float | Mapping[int, float] = 1.0
    pupils_per_school: float | Mapping[int, float] = 1.0
    _schools: dict[int, float] = field(init=False, repr=False, compare=False)
    _pupils: dict[int, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.cohorts, Mapping) or not self.cohorts:
            raise ConfigError(
                "cohorts must be a non-empty mapping {first treated period: number "
                "of treated departments}, e.g. {2020: 2, 2021: 10}."
            )
        cohorts = {}
        for g, n in self.cohorts.items():
            if isinstance(g, bool) or not isinstance(g, (int, np.integer)) or g == 0:
                raise ConfigError(
                    f"cohort keys are first treated periods (non-zero integers); got "
                    f"{g!r}."
                )
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ConfigError(
                    f"cohort {g} must have a positive integer number of departments "
                    f"(got {n!r})."
                )
            cohorts[int(g)] = int(n)
        n0 = self.n_comparison
        if isinstance(n0, bool) or not isinstance(n0, (int, np.integer)) or n0 < 1:
            raise ConfigError(
                f"n_comparison must be a positive integer (got {n0!r}): the DiD needs "
                "never-treated departments."
            )
        periods = tuple(int(p) for p in self.periods)
        if len(periods) < 2 or any(b - a != 1 for a, b in itertools.pairwise(periods)):
            raise ConfigError(
                f"periods must be at least two consecutive integers (got {periods})."
            )
        for g in cohorts:
            if g - 1 not in periods:
                raise ConfigError(
                    f"cohort {g} has no period before it in {periods[0]}..."
                    f"{periods[-1]}: its DiD has no base period. Drop the cohort or "
                    "add earlier periods."
                )
        object.__setattr__(self, "cohorts", dict(sorted(cohorts.items())))
        object.__setattr__(self, "n_comparison", int(n0))
        object.__setattr__(self, "periods", periods)
        keys = [*self.cohorts, COMPARISON]
        object.__setattr__(
            self, "_schools", _per_group(self.schools_per_department, "schools", keys)
        )
        object.__setattr__(
            self, "_pupils", _per_group(self.pupils_per_school, "pupils", keys)
        )

    # -- accessors ------------------------------------------------------------
    @property
    def groups(self) -> tuple[int, ...]:
        """Cohorts in order, then ``0`` (never treated)."""
        return (*self.cohorts, COMPARISON)

    def n_departments_of(self, group: int) -> int:
        """Departments of a group (a cohort, or ``0`` for the never-treated)."""
        return self.n_comparison if group == COMPARISON else self.cohorts[group]

    def schools(self, group: int) -> float:
        """Schools per department of a group."""
        return self._schools[group]

    def pupils(self, group: int) -> float:
        """Pupils per school and period of a group."""
        return self._pupils[group]

    @property
    def n_departments(self) -> int:
        """All departments."""
        return self.n_comparison + sum(self.cohorts.values())

    def cohort_size(self, group: int) -> float:
        """Schools of a cohort (the weight :math:`P_g` of R ``did``'s aggregations)."""
        return self.n_departments_of(group) * self.schools(group)

    @classmethod
    def tne(
        cls,
        schools_per_department: float | Mapping[int, float] = 3000 / 101,
        pupils_per_school: float | Mapping[int, float] = 12.5,
        periods: Sequence[int] = tuple(range(2016, 2025)),
    ) -> PowerDesign:
        """Build the TNE calendar: cohorts 2020 (2 departments) and 2021 (10), 89 never.

        Defaults to the primary schools of the committed synthetic world (3,000
        schools over 101 departments; CM2 pupils tested per school and year:
        harmonic mean about 12.5, the arithmetic mean being about 19);
        :meth:`from_panel` reads them, group by group, from data instead.
        """
        from tne_eval.territories import departments, tne_calendar

        sizes = tne_calendar()["first_school_year"].value_counts().sort_index()
        cohorts = {int(g): int(n) for g, n in sizes.items()}
        n0 = len(departments()) - sum(cohorts.values())
        return cls(cohorts, n0, periods, schools_per_department, pupils_per_school)

    @classmethod
    def from_panel(
        cls,
        data: pd.DataFrame,
        *,
        unit: str,
        time: str,
        cohort: str,
        department: str,
        n_pupils: str | None = None,
    ) -> PowerDesign:
        """Read the design from a school x period panel.

        Departments are counted by cohort (``0`` = never treated), schools per
        department are averaged within each group and pupils per school are the
        harmonic mean of ``n_pupils`` over the group's school-period rows (the
        mean that gives the sampling variance of an equally weighted mean of
        school means). Rows with a missing key are not counted.

        Raises
        ------
        DataError
            A department in two cohorts, or no never-treated department.
        """
        data = check_dataframe(data)
        cols = [unit, time, cohort, department] + ([n_pupils] if n_pupils else [])
        check_columns_exist(data, cols, role="columns")
        frame = data.loc[:, cols].dropna(subset=[unit, time, cohort, department])
        per_dep = frame.groupby(department, observed=True)[cohort].nunique()
        if (per_dep > 1).any():
            bad = per_dep.index[per_dep > 1].tolist()
            raise DataError(
                f"department(s) {format_examples(bad)} are in more than one cohort "
                f"('{cohort}'); a department-level design needs one cohort each."
            )
        dep_cohort = frame.groupby(department, observed=True)[cohort].first()
        counts = dep_cohort.value_counts()
        if COMPARISON not in counts.index:
            raise DataError(
                f"no never-treated department ('{cohort}' == 0): the design needs "
                "comparison departments."
            )
        schools = frame.groupby(department, observed=True)[unit].nunique()
        school_mean = schools.groupby(dep_cohort).mean()
        cohorts = {int(g): int(n) for g, n in counts.items() if g != COMPARISON}
        pupils: dict[int, float] | float = 1.0
        if n_pupils is not None:
            n = frame[n_pupils].astype(float)
            if (n <= 0).any():
                raise DataError(f"column '{n_pupils}' must be positive pupil counts.")
            pupils = {
                int(g): float(1.0 / np.mean(1.0 / v))
                for g, v in n.groupby(frame[cohort])
            }
        periods = sorted(int(t) for t in frame[time].unique())
        return cls(
            cohorts,
            int(counts[COMPARISON]),
            range(periods[0], periods[-1] + 1),
            {int(g): float(v) for g, v in school_mean.items()},
            pupils,
        )

    def summary_frame(self) -> pd.DataFrame:
        """One row per group: departments, schools per department, pupils."""
        return pd.DataFrame(
            {
                "departments": [self.n_departments_of(g) for g in self.groups],
                "schools_per_department": [self.schools(g) for g in self.groups],
                "pupils_per_school": [self.pupils(g) for g in self.groups],
            },
            index=pd.Index(self.groups, name="cohort"),
        )
