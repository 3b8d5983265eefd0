"""Column-role specifications: :class:`PanelSpec` and :class:`RepeatedCrossSectionSpec`.

A spec names the *roles* of the columns of a long DataFrame. It holds no data and
is immutable; :func:`tne_eval.data.prepare_panel` validates a DataFrame against
it.

Conventions used everywhere in tne_eval
---------------------------------------
* **Time** is an integer period. For school data it is the school year coded by
  its **start** year (``2020`` = school year 2020-21).
* **Cohort** (``cohort`` column) is the first period in which a unit is treated,
  constant within the unit. Never-treated units are coded by ``never_treated``:
  ``"zero"`` (``0``, the R ``did`` convention, default), ``"inf"`` (``np.inf``)
  or ``"missing"`` (``NaN``). Units whose cohort lies after the last observed
  period plus the anticipation window (``prepare_panel(..., anticipation=...)``)
  are never treated within the sample and are recoded as such (with a note).
  Negative cohorts (with non-negative periods) are rejected as disguised codes.
* **Nesting** lists the columns of the levels above the unit, finest first, e.g.
  ``nesting=("department",)`` for schools, or ``("school_id", "department")`` for
  pupils. Each level must be constant within unit and nested in the next.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Literal

from tne_eval.errors import SpecError, TneEvalTypeError

__all__ = ["NeverTreatedCode", "PanelSpec", "RepeatedCrossSectionSpec", "check_spec"]

NeverTreatedCode = Literal["zero", "inf", "missing"]
_NEVER_TREATED_CODES = ("zero", "inf", "missing")


def _check_name(value: object, role: str, owner: str, *, required: bool) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or not value:
        raise SpecError(
            f"{owner}.{role} must be a non-empty column name (got {value!r})."
        )


def _check_common(spec: PanelSpec | RepeatedCrossSectionSpec, owner: str) -> None:
    for role in ("cohort", "treatment", "cluster", "weights"):
        _check_name(getattr(spec, role), role, owner, required=False)
    if isinstance(spec.covariates, str):
        raise TneEvalTypeError(
            f"{owner}.covariates must be a sequence of column names, not the single "
            f"string {spec.covariates!r}; write covariates=({spec.covariates!r},)."
        )
    if isinstance(spec.nesting, str):
        raise TneEvalTypeError(
            f"{owner}.nesting must be a sequence of column names, not the single "
            f"string {spec.nesting!r}; write nesting=({spec.nesting!r},)."
        )
    object.__setattr__(spec, "covariates", tuple(spec.covariates))
    object.__setattr__(spec, "nesting", tuple(spec.nesting))
    for col in (*spec.covariates, *spec.nesting):
        _check_name(col, "covariates/nesting entry", owner, required=True)
    if len(set(spec.covariates)) != len(spec.covariates):
        raise SpecError(f"{owner}.covariates lists a column twice: {spec.covariates}.")
    roles = {
        name: getattr(spec, name, None)
        for name in ("group", "unit", "time", "outcome", "cohort", "treatment")
    }
    clash = [(c, r) for c in spec.covariates for r, v in roles.items() if v == c]
    if clash:
        col, role = clash[0]
        raise SpecError(
            f"{owner}.covariates includes {col!r}, which is already the {role} "
            "column; a column has one role. Remove it from covariates"
            + (
                " (to adjust for a baseline outcome, add a column holding it)."
                if role == "outcome"
                else "."
            )
        )
    if spec.never_treated not in _NEVER_TREATED_CODES:
        raise SpecError(
            f"{owner}.never_treated must be one of 'zero', 'inf', 'missing' "
            f"(got {spec.never_treated!r})."
        )
    if spec.cohort is None and spec.treatment is None:
        return
    if spec.cohort is not None and spec.treatment is not None:
        raise SpecError(
            f"{owner} names both cohort={spec.cohort!r} and treatment="
            f"{spec.treatment!r}. Give the cohort (first treated period) or the 0/1 "
            "treatment column from which it is derived, not both."
        )


@dataclass(frozen=True)
class PanelSpec:
    """Roles of the columns of a long (unit x period) panel.

    Parameters
    ----------
    unit : str
        Column identifying the unit followed over time (a school, a county).
    time : str
        Column holding the period; integer-valued (school start year: 2020 = 2020-21).
    outcome : str
        Column holding the outcome.
    cohort : str, optional
        Column holding the first treated period of each unit, constant within unit.
        Never-treated units are coded as ``never_treated`` says.
    treatment : str, optional
        0/1 treatment column from which the cohort is derived (absorbing treatment
        only). Give either ``cohort`` or ``treatment``.
    cluster : str, optional
        Column defining the clusters for inference; constant within unit. Defaults
        to ``unit``.
    weights : str, optional
        Column of non-negative sampling weights, constant within unit.
    covariates : sequence of str, default ()
        Covariate columns (numeric). Which value each estimator uses:
        :func:`~tne_eval.att_gt` takes, in each ATT(g,t) cell, the value of the
        cell's base period (as R ``did``); TWFE estimators use the value of each
        row. For covariates constant within unit both are the same;
        :attr:`PreparedPanel.time_varying_covariates
        <tne_eval.data.PreparedPanel.time_varying_covariates>` lists those that
        are not, so that estimators can say so in their notes.
    nesting : sequence of str, default ()
        Columns of the levels above the unit, finest first (e.g. ``("department",)``).
    never_treated : {"zero", "inf", "missing"}, default "zero"
        How never-treated units are coded in ``cohort``.

    See Also
    --------
    prepare_panel : validate a DataFrame against a spec.
    RepeatedCrossSectionSpec : the variant for repeated cross-sections.

    Examples
    --------
    >>> spec = PanelSpec(unit="school_id", time="year", outcome="score",
    ...                  cohort="first_treated", cluster="department")
    >>> spec.cluster_col
    'department'
    >>> spec.update(cluster=None).cluster_col
    'school_id'
    """

    unit: str
    time: str
    outcome: str
    cohort: str | None = None
    treatment: str | None = None
    cluster: str | None = None
    weights: str | None = None
    covariates: tuple[str, ...] = ()
    nesting: tuple[str, ...] = ()
    never_treated: NeverTreatedCode = "zero"

    def __post_init__(self) -> None:
        for role in ("unit", "time", "outcome"):
            _check_name(getattr(self, role), role, "PanelSpec", required=True)
        _check_common(self, "PanelSpec")
        keys = [c for c in (self.unit, self.time, self.outcome, self.cohort) if c]
        if self.treatment:
            keys.append(self.treatment)
        if len(set(keys)) != len(keys):
            raise SpecError(
                "PanelSpec roles unit/time/outcome/cohort/treatment must name "
                f"different columns (got {keys!r})."
            )

    @property
    def cluster_col(self) -> str:
        """Column defining the clusters (``unit`` when ``cluster`` is not set)."""
        return self.cluster if self.cluster is not None else self.unit

    @property
    def columns(self) -> tuple[str, ...]:
        """All columns the spec refers to, without duplicates, in role order."""
        return _role_columns(self, (self.unit,))

    def update(self, **changes: object) -> PanelSpec:
        """Return a copy with some roles changed (the spec itself is immutable)."""
        return _updated(self, changes)


@dataclass(frozen=True)
class RepeatedCrossSectionSpec:
    """Roles of the columns of repeated cross-sections (e.g. pupils tested once).

    Each row is one observation (a pupil) seen in one period only. Treatment is
    assigned at the ``group`` level (a school), which is observed in several
    periods through different individuals.

    Parameters
    ----------
    time : str
        Column holding the period (school start year).
    outcome : str
        Column holding the outcome.
    group : str
        Column identifying the unit at which treatment is assigned and tracked over
        time (e.g. ``"school_id"``).
    cohort, treatment, cluster, weights, covariates, nesting, never_treated
        As in :class:`PanelSpec`; ``cohort``, ``cluster`` and ``nesting`` must be
        constant within ``group``. ``cluster`` defaults to ``group``.
    id : str, optional
        Column identifying the observation (a pupil id). Defaults to the row order
        of the prepared data.

    Examples
    --------
    >>> spec = RepeatedCrossSectionSpec(time="year", outcome="score_math",
    ...     group="school_id", cohort="first_treated", cluster="department")
    >>> spec.cluster_col
    'department'
    """

    time: str
    outcome: str
    group: str
    cohort: str | None = None
    treatment: str | None = None
    cluster: str | None = None
    weights: str | None = None
    covariates: tuple[str, ...] = ()
    nesting: tuple[str, ...] = ()
    never_treated: NeverTreatedCode = "zero"
    id: str | None = None

    def __post_init__(self) -> None:
        for role in ("time", "outcome", "group"):
            _check_name(
                getattr(self, role), role, "RepeatedCrossSectionSpec", required=True
            )
        _check_name(self.id, "id", "RepeatedCrossSectionSpec", required=False)
        _check_common(self, "RepeatedCrossSectionSpec")
        keys = [c for c in (self.time, self.outcome, self.group, self.cohort) if c]
        if self.treatment:
            keys.append(self.treatment)
        if len(set(keys)) != len(keys):
            raise SpecError(
                "RepeatedCrossSectionSpec roles time/outcome/group/cohort/treatment "
                f"must name different columns (got {keys!r})."
            )

    @property
    def unit(self) -> str:
        """The level at which cohorts and clusters are checked (``group``)."""
        return self.group

    @property
    def cluster_col(self) -> str:
        """Column defining the clusters (``group`` when ``cluster`` is not set)."""
        return self.cluster if self.cluster is not None else self.group

    @property
    def columns(self) -> tuple[str, ...]:
        """All columns the spec refers to, without duplicates, in role order."""
        return _role_columns(self, (self.id, self.group))

    def update(self, **changes: object) -> RepeatedCrossSectionSpec:
        """Return a copy with some roles changed (the spec itself is immutable)."""
        return _updated(self, changes)


def _role_columns(spec, leading: tuple[str | None, ...]) -> tuple[str, ...]:
    """Columns of the roles, identifiers first, without duplicates or None."""
    cols = (
        *leading,
        spec.time,
        spec.outcome,
        spec.cohort,
        spec.treatment,
        spec.cluster,
        spec.weights,
        *spec.covariates,
        *spec.nesting,
    )
    return tuple(dict.fromkeys(c for c in cols if c is not None))


def _updated(spec, changes: dict[str, object]):
    _check_update_keys(spec, changes)
    return replace(spec, **changes)  # type: ignore[arg-type]


def _check_update_keys(spec: object, changes: dict[str, object]) -> None:
    names = [f.name for f in fields(spec)]  # type: ignore[arg-type]
    unknown = [k for k in changes if k not in names]
    if unknown:
        raise SpecError(
            f"{type(spec).__name__}.update() got unknown role(s) {unknown}; "
            f"valid roles: {names}."
        )


def check_spec(spec: object) -> PanelSpec | RepeatedCrossSectionSpec:
    """Require a :class:`PanelSpec` or a :class:`RepeatedCrossSectionSpec`."""
    if not isinstance(spec, (PanelSpec, RepeatedCrossSectionSpec)):
        raise TneEvalTypeError(
            "spec must be a PanelSpec or a RepeatedCrossSectionSpec (got "
            f"{type(spec).__name__})."
        )
    return spec
