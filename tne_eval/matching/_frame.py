"""From a DataFrame and a :class:`CrossSectionSpec` to the arrays of the numerics.

Nothing here writes to the caller's frame: columns are read into new arrays.
Every problem raises a typed error naming the column, the count and the fix.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from tne_eval._validation import check_columns_exist, check_dataframe, format_examples
from tne_eval.errors import DataError, SpecError, TneEvalTypeError
from tne_eval.matching._checks import as_treatment
from tne_eval.matching.spec import CrossSectionSpec

__all__ = ["CrossSection", "check_spec", "prepare_cross_section"]


def check_spec(spec: object) -> CrossSectionSpec:
    """Require a :class:`CrossSectionSpec`."""
    if not isinstance(spec, CrossSectionSpec):
        raise TneEvalTypeError(
            "spec must be a tne_eval.matching.CrossSectionSpec (got "
            f"{type(spec).__name__}); matching works on one row per unit."
        )
    return spec


def _is_factor(values: pd.Series) -> bool:
    return not (
        pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
    ) or isinstance(values.dtype, pd.CategoricalDtype)


def _levels(values: pd.Series) -> list[object]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return list(values.cat.categories)
    return sorted(values.dropna().unique().tolist(), key=str)


@dataclass(frozen=True, eq=False)
class CrossSection:
    """Validated arrays of a cross-section (private)."""

    spec: CrossSectionSpec
    index: pd.Index
    ids: pd.Index
    treated: np.ndarray
    covariate_names: tuple[str, ...]
    factors: dict[str, list[object]]
    raw: pd.DataFrame

    @property
    def n(self) -> int:
        """Rows."""
        return int(self.treated.shape[0])

    def design(self, *, drop_first: bool) -> tuple[np.ndarray, list[str]]:
        """Covariate matrix: numeric columns, factors as level indicators.

        ``drop_first=True`` drops each factor's first level (propensity models,
        as R's treatment contrasts); ``False`` keeps every level (balance
        tables, Mahalanobis distance, as MatchIt's ``summary``).
        """
        cols: list[np.ndarray] = []
        names: list[str] = []
        for name in self.covariate_names:
            values = self.raw[name]
            if name in self.factors:
                levels = self.factors[name][1 if drop_first else 0 :]
                for level in levels:
                    cols.append((values == level).to_numpy(dtype=np.float64))
                    names.append(f"{name}{level}")
            else:
                cols.append(values.to_numpy(dtype=np.float64))
                names.append(name)
        if not cols:
            return np.empty((self.n, 0)), names
        return np.column_stack(cols), names

    def codes(self, columns: tuple[str, ...]) -> tuple[np.ndarray, list[bool]]:
        """Columns as numbers (factors as level codes) and which are factors."""
        out = []
        cats = []
        for name in columns:
            values = self.raw[name]
            if _is_factor(values):
                out.append(pd.factorize(values, sort=True)[0].astype(np.float64))
                cats.append(True)
            else:
                out.append(values.to_numpy(dtype=np.float64))
                cats.append(False)
        return np.column_stack(out), cats

    def column(self, name: str, role: str) -> np.ndarray:
        """Return a numeric, finite column (outcome, weights)."""
        values = self.raw[name]
        if _is_factor(values):
            raise DataError(
                f"spec.{role}={name!r} must be numeric (got dtype {values.dtype})."
            )
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(arr)
        if bad.any():
            raise DataError(
                f"spec.{role}={name!r} has {int(bad.sum())} missing or non-finite "
                f"values of {arr.shape[0]} (e.g. at index "
                f"{format_examples(self.index[bad])}). Drop or impute those rows "
                "first."
            )
        return arr

    def sampling_weights(self) -> np.ndarray | None:
        """Return the spec's sampling weights (validated), or None."""
        if self.spec.weights is None:
            return None
        w = self.column(self.spec.weights, "weights")
        if np.any(w < 0) or not w.sum() > 0:
            raise DataError(
                f"spec.weights={self.spec.weights!r} must be non-negative with a "
                f"positive sum ({int((w < 0).sum())} negative values)."
            )
        return w

    def cluster_codes(self) -> tuple[np.ndarray, int] | None:
        """Codes ``0..G-1`` of ``spec.cluster``, or None."""
        if self.spec.cluster is None:
            return None
        values = self.raw[self.spec.cluster]
        missing = values.isna().to_numpy()
        if missing.any():
            raise DataError(
                f"spec.cluster={self.spec.cluster!r} has {int(missing.sum())} missing "
                "values; every unit needs a cluster."
            )
        codes, uniques = pd.factorize(values, sort=True)
        return codes.astype(np.int64), len(uniques)

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the columns used (names and values), for provenance."""
        digest = hashlib.sha256()
        digest.update("|".join(map(str, self.raw.columns)).encode())
        digest.update(
            pd.util.hash_pandas_object(self.raw, index=True).to_numpy().tobytes()
        )
        return digest.hexdigest()


def prepare_cross_section(
    data: object,
    spec: object,
    *,
    need_outcome: bool = False,
    extra: tuple[str, ...] = (),
) -> CrossSection:
    """Validate ``data`` against ``spec`` and read the arrays (never mutating).

    Raises
    ------
    TneEvalTypeError
        ``data`` is not a DataFrame or ``spec`` not a CrossSectionSpec.
    SpecError
        Columns missing, or an outcome needed and not named.
    DataError
        Treatment not 0/1, missing covariates (named with counts), duplicated
        unit ids.
    """
    frame = check_dataframe(data)
    check_spec(spec)
    if need_outcome and spec.outcome is None:
        raise SpecError(
            "spec.outcome is None: estimating an effect needs an outcome column; "
            "set it with spec.update(outcome='...')."
        )
    cols = tuple(dict.fromkeys((*spec.columns, *extra)))
    check_columns_exist(frame, cols, role="spec")
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()].unique().tolist()
        raise DataError(f"data has duplicated column names {dup}; rename them first.")
    if frame.shape[0] == 0:
        raise DataError("data has no rows.")
    raw = frame.loc[:, list(cols)]
    if spec.unit is not None:
        ids = pd.Index(raw[spec.unit].to_numpy(), name=spec.unit)
        if ids.hasnans:
            raise DataError(
                f"spec.unit={spec.unit!r} has {int(ids.isna().sum())} missing ids."
            )
        if ids.has_duplicates:
            dup = ids[ids.duplicated()].unique()
            raise DataError(
                f"spec.unit={spec.unit!r} is not unique: {len(dup)} ids appear more "
                f"than once (e.g. {format_examples(dup)}). Matching needs one row "
                "per unit; aggregate a panel first (e.g. pre-period means)."
            )
    else:
        ids = pd.Index(frame.index, name=frame.index.name or "index")
        if ids.has_duplicates:
            raise DataError(
                "The index of data is not unique and spec.unit is None: name a unit "
                "column (spec.unit) or reset the index."
            )
    treated = _treatment(raw[spec.treatment], spec.treatment)
    factors: dict[str, list[object]] = {}
    bad_cols = []
    any_bad = np.zeros(raw.shape[0], dtype=bool)
    for name in dict.fromkeys((*spec.covariates, *spec.exact)):
        values = raw[name]
        miss = values.isna().to_numpy()
        if not _is_factor(values):
            arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
            miss = ~np.isfinite(arr)
        elif name in spec.covariates:
            factors[name] = _levels(values)
        if miss.any():
            bad_cols.append(f"{name!r} ({int(miss.sum())})")
            any_bad |= miss
    if bad_cols:
        first = raw.index[np.flatnonzero(any_bad)[0]]
        raise DataError(
            f"Covariates have missing or non-finite values in {int(any_bad.sum())} "
            f"of {raw.shape[0]} rows: {', '.join(bad_cols)} (first at index "
            f"{first!r}). Drop or impute those rows before matching; MatchIt "
            "refuses missing covariates too."
        )
    return CrossSection(
        spec=spec,
        index=frame.index,
        ids=ids,
        treated=treated,
        covariate_names=spec.covariates,
        factors=factors,
        raw=raw,
    )


def _treatment(values: pd.Series, name: str) -> np.ndarray:
    label = f"spec.treatment={name!r}"
    if pd.api.types.is_bool_dtype(values) and not values.isna().any():
        return as_treatment(values.to_numpy(dtype=bool), label)
    try:
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as err:
        raise DataError(
            f"{label} must be 0/1 (or bool); got values of dtype {values.dtype} such "
            f"as {values.iloc[0]!r}. Recode the treatment as 1 = treated, 0 = control."
        ) from err
    return as_treatment(arr, label)
