"""Column roles of a cross-section for matching and weighting: :class:`CrossSectionSpec`."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from tne_eval.errors import SpecError, TneEvalTypeError

__all__ = ["CrossSectionSpec"]


def _name(value: object, role: str, *, required: bool) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or not value:
        raise SpecError(
            f"CrossSectionSpec.{role} must be a non-empty column name (got {value!r})."
        )


def _names(value: object, role: str) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TneEvalTypeError(
            f"CrossSectionSpec.{role} must be a sequence of column names, not the "
            f"single string {value!r}; write {role}=({value!r},)."
        )
    try:
        out = tuple(value)  # type: ignore[arg-type]
    except TypeError as err:
        raise TneEvalTypeError(
            f"CrossSectionSpec.{role} must be a sequence of column names (got "
            f"{type(value).__name__})."
        ) from err
    for col in out:
        _name(col, f"{role} entry", required=True)
    if len(set(out)) != len(out):
        raise SpecError(f"CrossSectionSpec.{role} lists a column twice: {out}.")
    return out


@dataclass(frozen=True)
class CrossSectionSpec:
    """Roles of the columns of a cross-section (one row per unit) to match or weight.

    Parameters
    ----------
    outcome : str or None
        Column holding the outcome. Not needed to match, weight or check balance
        (MatchIt and WeightIt never look at it); required by
        :func:`~tne_eval.matching.att` and :func:`~tne_eval.matching.aipw`.
    treatment : str
        0/1 (or boolean) treatment column: 1 = treated, 0 = comparison.
    covariates : sequence of str
        Columns to match, weight or check balance on (MatchIt's formula
        right-hand side). Numeric and boolean columns enter as they are; text and
        categorical columns as one indicator per level (the first level is
        dropped in propensity-score models, as R's treatment contrasts do).
    unit : str, optional
        Column identifying the unit (unique by row). When given, the matched
        pairs and :func:`~tne_eval.matching.matched_panel` use its values; else
        the index of the data.
    cluster : str, optional
        Column defining clusters for inference (e.g. the department).
    weights : str, optional
        Column of non-negative sampling weights (used by the propensity-score
        model and the balance statistics, as MatchIt's ``s.weights``).
    exact : sequence of str, default ()
        Columns to match exactly on (MatchIt's ``exact``); they may also be
        covariates.

    Examples
    --------
    >>> spec = CrossSectionSpec(outcome="re78", treatment="treat",
    ...                         covariates=("age", "educ", "race"))
    >>> spec.columns
    ('treat', 're78', 'age', 'educ', 'race')
    >>> spec.update(outcome=None).outcome is None
    True
    """

    outcome: str | None
    treatment: str
    covariates: tuple[str, ...]
    unit: str | None = None
    cluster: str | None = None
    weights: str | None = None
    exact: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _name(self.treatment, "treatment", required=True)
        for role in ("outcome", "unit", "cluster", "weights"):
            _name(getattr(self, role), role, required=False)
        object.__setattr__(self, "covariates", _names(self.covariates, "covariates"))
        object.__setattr__(self, "exact", _names(self.exact, "exact"))
        if not self.covariates:
            raise SpecError(
                "CrossSectionSpec.covariates is empty: name at least one column to "
                "match, weight or check balance on."
            )
        roles = {
            "treatment": self.treatment,
            "outcome": self.outcome,
            "unit": self.unit,
            "weights": self.weights,
        }
        keyed = [v for v in roles.values() if v is not None]
        if len(set(keyed)) != len(keyed):
            raise SpecError(
                "CrossSectionSpec roles treatment/outcome/unit/weights must name "
                f"different columns (got {roles})."
            )
        for col in (*self.covariates, *self.exact):
            for role, value in roles.items():
                if col == value:
                    raise SpecError(
                        f"CrossSectionSpec.covariates/exact include {col!r}, which is "
                        f"already the {role} column; a column has one role. Remove it"
                        + (
                            " (to match on a baseline outcome, add a column holding "
                            "it)."
                            if role == "outcome"
                            else "."
                        )
                    )

    @property
    def columns(self) -> tuple[str, ...]:
        """All columns the spec refers to, without duplicates, in role order."""
        cols = (
            self.unit,
            self.treatment,
            self.outcome,
            *self.covariates,
            *self.exact,
            self.cluster,
            self.weights,
        )
        return tuple(dict.fromkeys(c for c in cols if c is not None))

    def update(self, **changes: object) -> CrossSectionSpec:
        """Return a copy with some roles changed (the spec itself is immutable)."""
        names = [f.name for f in fields(self)]
        unknown = [k for k in changes if k not in names]
        if unknown:
            raise SpecError(
                f"CrossSectionSpec.update() got unknown role(s) {unknown}; valid "
                f"roles: {names}."
            )
        return replace(self, **changes)  # type: ignore[arg-type]
