r"""Summary indices of several outcomes: Anderson (2008) and Kling-Liebman-Katz (2007).

A summary index turns a family of related outcomes (the teacher-practice items,
say) into one outcome, so that one test replaces many. Each item is first
standardized on the *reference rows*, the comparison group before treatment:
:math:`z_{ik} = s_k (y_{ik} - \bar y_k^{\mathrm{ref}}) / \mathrm{sd}_k^{\mathrm{ref}}`,
with sign :math:`s_k = \pm 1` so that higher always means better. Then

- :func:`kling_index` averages the :math:`z_{ik}` with equal weights (Kling,
  Liebman & Katz 2007);
- :func:`anderson_index` weights them by the row sums of the inverse of their
  covariance matrix (Anderson 2008), so that highly correlated items, which
  carry little new information, weigh less.

Both return a :class:`SummaryIndex`: a copy of the data with the new column (the
caller's frame is not modified), and the reference means, standard deviations
and weights used. The new column can be given to any estimator as an outcome,
``tne.att_gt(index.data, spec.update(outcome=index.name))``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from tne_eval._validation import check_columns_exist, check_dataframe, format_examples
from tne_eval.data.spec import PanelSpec, RepeatedCrossSectionSpec
from tne_eval.errors import DataError, IdentificationError, SpecError, TneEvalTypeError
from tne_eval.notes import Note, NoteKind

__all__ = ["SummaryIndex", "anderson_index", "kling_index"]


@dataclass(frozen=True, eq=False)
class SummaryIndex:
    """A summary index of several outcomes and how it was built.

    Attributes
    ----------
    data : pandas.DataFrame
        Copy of the input with the index column ``name`` added.
    name : str
        Name of the index column.
    method : {"anderson", "kling"}
    items : tuple of str
        The outcomes combined.
    signs : pandas.Series
        +1 for items where higher is better, -1 for the others.
    reference_mean, reference_sd : pandas.Series
        Mean and standard deviation (``ddof=1``) of each item on the reference
        rows, used to standardize it.
    weights : pandas.Series
        Weight of each standardized item when none is missing, summing to 1
        (``1/K`` for :func:`kling_index`).
    covariance : pandas.DataFrame or None
        Covariance of the standardized, signed items on the reference rows
        (:func:`anderson_index` only).
    n_reference : int
        Reference rows.
    notes : tuple of Note
        Missing items, rows left without an index, rescaling.
    """

    data: pd.DataFrame
    name: str
    method: Literal["anderson", "kling"]
    items: tuple[str, ...]
    signs: pd.Series
    reference_mean: pd.Series
    reference_sd: pd.Series
    weights: pd.Series
    covariance: pd.DataFrame | None
    n_reference: int
    notes: tuple[Note, ...] = ()

    @property
    def values(self) -> pd.Series:
        """The index column."""
        return self.data[self.name]

    def to_frame(self) -> pd.DataFrame:
        """One row per item: ``sign, reference_mean, reference_sd, weight, n_missing``."""
        return pd.DataFrame(
            {
                "sign": self.signs,
                "reference_mean": self.reference_mean,
                "reference_sd": self.reference_sd,
                "weight": self.weights,
                "n_missing": self.data[list(self.items)].isna().sum(),
            }
        ).rename_axis("item")

    def __repr__(self) -> str:
        return (
            f"<SummaryIndex {self.name!r}: {self.method}, {len(self.items)} items, "
            f"{self.n_reference} reference rows>"
        )


# -- shared steps -------------------------------------------------------------------
def _items(data: pd.DataFrame, items: object) -> tuple[str, ...]:
    if isinstance(items, str) or not isinstance(items, Sequence):
        raise TneEvalTypeError(f"items must be a list of column names (got {items!r}).")
    items = tuple(items)
    if len(items) < 2 or len(set(items)) != len(items):
        raise SpecError(
            f"items must name at least two distinct columns (got {items!r})."
        )
    check_columns_exist(data, items, role="items")
    for c in items:
        if not pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(
            data[c]
        ):
            raise TneEvalTypeError(
                f"Column {c!r} (item) must be numeric, but has dtype {data[c].dtype}; "
                "code it as numbers first (e.g. Likert levels 1-5)."
            )
    return items


def _signs(items: tuple[str, ...], higher_is_better: object) -> pd.Series:
    if isinstance(higher_is_better, bool):
        better = dict.fromkeys(items, higher_is_better)
    elif isinstance(higher_is_better, Mapping):
        unknown = [k for k in higher_is_better if k not in items]
        if unknown:
            raise SpecError(
                f"higher_is_better names {format_examples(unknown, len(unknown))}, "
                f"which are not items ({format_examples(items, len(items))})."
            )
        for k, v in higher_is_better.items():
            if not isinstance(v, (bool, np.bool_)):
                raise TneEvalTypeError(
                    f"higher_is_better[{k!r}] must be True or False (got {v!r})."
                )
        better = {k: bool(higher_is_better.get(k, True)) for k in items}
    else:
        raise TneEvalTypeError(
            "higher_is_better must be True, False or a mapping item -> bool "
            f"(unlisted items count as True), got {type(higher_is_better).__name__}."
        )
    return pd.Series({k: 1.0 if better[k] else -1.0 for k in items}, name="sign")


def _reference_mask(data: pd.DataFrame, reference: object) -> np.ndarray:
    """Boolean mask of the reference rows (the comparison group before treatment)."""
    if isinstance(reference, (PanelSpec, RepeatedCrossSectionSpec)):
        spec = reference
        if spec.cohort is None:
            raise SpecError(
                "reference=spec needs spec.cohort (the first treated period) to find "
                "the comparison group before treatment; give it, or pass a boolean "
                "mask of the reference rows."
            )
        check_columns_exist(data, [spec.time, spec.cohort], role="reference spec")
        cohort = pd.to_numeric(data[spec.cohort], errors="coerce").to_numpy(float)
        time = pd.to_numeric(data[spec.time], errors="coerce").to_numpy(float)
        never = {
            "zero": cohort == 0,
            "inf": np.isinf(cohort),
            "missing": np.isnan(cohort),
        }[spec.never_treated]
        treated = np.isfinite(cohort) & ~never
        if not treated.any():
            raise IdentificationError(
                f"No treated row in {spec.cohort!r}: the pre-treatment period is not "
                "defined; pass a boolean mask of the reference rows instead."
            )
        return never & (time < cohort[treated].min())
    if isinstance(reference, str):
        check_columns_exist(data, [reference], role="reference")
        reference = data[reference]
    if isinstance(reference, pd.Series):
        if not reference.index.equals(data.index):
            raise SpecError(
                "reference (a Series) must have the same index as data; build it from "
                "data, e.g. (df['first_treated'] == 0) & (df['year'] < 2020)."
            )
        reference = reference.to_numpy()
    mask = np.asarray(reference)
    if mask.dtype != bool:
        raise TneEvalTypeError(
            f"reference must be a boolean mask, a boolean column or a spec (got dtype "
            f"{mask.dtype}); e.g. (df['first_treated'] == 0) & (df['year'] < 2020)."
        )
    if mask.shape != (len(data),):
        raise SpecError(
            f"reference has {mask.size} values for {len(data)} rows of data."
        )
    return mask


def _standardize(
    data: pd.DataFrame, items: tuple[str, ...], mask: np.ndarray, signs: pd.Series
) -> tuple[pd.DataFrame, pd.Series, pd.Series, int]:
    n_ref = int(mask.sum())
    if n_ref == 0:
        raise IdentificationError(
            "There are no reference rows (comparison group before treatment): the "
            "items cannot be standardized. Check the reference mask (or the spec's "
            "cohort coding and periods)."
        )
    ref = data.loc[mask, list(items)].astype(float)
    mean = ref.mean()
    sd = ref.std(ddof=1)
    bad = [c for c in items if not np.isfinite(sd[c]) or sd[c] <= 0]
    if bad:
        detail = ", ".join(
            f"{c!r} ({int(ref[c].notna().sum())} values, sd {sd[c]:.3g})" for c in bad
        )
        raise DataError(
            f"Item(s) {detail} are constant (or observed fewer than twice) on the "
            f"{n_ref} reference rows, so they cannot be standardized; drop them from "
            "items."
        )
    z = (data[list(items)].astype(float) - mean) / sd * signs
    return z, mean.rename("reference_mean"), sd.rename("reference_sd"), n_ref


def _finish(
    data: pd.DataFrame,
    name: str,
    index: pd.Series,
    mask: np.ndarray,
    standardize: bool,
    notes: list[Note],
) -> pd.DataFrame:
    if standardize:
        ref = index[mask]
        sd = ref.std(ddof=1)
        if not np.isfinite(sd) or sd <= 0:
            raise DataError(
                "The index is constant on the reference rows; it cannot be "
                "rescaled (standardize=False keeps it as is)."
            )
        index = (index - ref.mean()) / sd
        notes.append(
            Note(
                f"Index {name!r} rescaled to mean 0 and standard deviation 1 on the "
                "reference rows.",
                NoteKind.ESTIMATION,
            )
        )
    empty = int(index.isna().sum())
    if empty:
        notes.append(
            Note(
                f"{empty} of {len(index)} rows have no item observed; their index is "
                "missing (estimators drop them and say so).",
                NoteKind.DATA,
            )
        )
    out = data.copy()
    out[name] = index
    return out


def _check_name(data: pd.DataFrame, name: object) -> str:
    if not isinstance(name, str) or not name:
        raise TneEvalTypeError(f"name must be a non-empty string (got {name!r}).")
    if name in data.columns:
        raise SpecError(
            f"data already has a column {name!r}; choose another name= for the index."
        )
    return name


def _missing_note(z: pd.DataFrame, items: tuple[str, ...], how: str) -> list[Note]:
    partial = z.notna().any(axis=1) & z.isna().any(axis=1)
    if not partial.any():
        return []
    return [
        Note(
            f"{int(partial.sum())} rows miss some but not all items; {how}.",
            NoteKind.DATA,
        )
    ]


# -- the indices --------------------------------------------------------------------
def kling_index(
    data: pd.DataFrame,
    items: Sequence[str],
    *,
    reference: object,
    higher_is_better: bool | Mapping[str, bool] = True,
    impute_by: str | Sequence[str] | None = None,
    name: str = "kling_index",
    standardize: bool = False,
) -> SummaryIndex:
    r"""Equally weighted summary index of Kling, Liebman & Katz (2007).

    Parameters
    ----------
    data : pandas.DataFrame
        Rows of units (or observations) by period; not modified.
    items : sequence of str
        Numeric outcome columns to combine (at least two).
    reference : boolean mask, column name, PanelSpec or RepeatedCrossSectionSpec
        Rows on which each item is standardized: the comparison group before
        treatment. A spec selects the never-treated rows (coded as
        ``spec.never_treated``) in periods before the first treated cohort.
    higher_is_better : bool or mapping of str to bool, default True
        Direction of each item; items that are not better when higher enter with
        their sign flipped. A mapping lists the exceptions (unlisted: True).
    impute_by : str or sequence of str, optional
        Columns defining the groups (e.g. the cohort and the period) within
        which a missing item of a row with at least one observed item is imputed
        at the group mean of that standardized item, as Kling, Liebman & Katz
        (2007) impute at the assignment-group mean. ``None``: the index averages
        the observed items of the row (the same as imputing the row's own mean).
    name : str, default "kling_index"
        Name of the new column.
    standardize : bool, default False
        Rescale the index to mean 0 and SD 1 on the reference rows (by default
        it is the average of items in reference-SD units, as in the paper).

    Returns
    -------
    SummaryIndex

    Raises
    ------
    SpecError
        Unknown item or ``impute_by`` column, fewer than two items, a ``name``
        that is already a column.
    TneEvalTypeError
        Non-numeric item, ``reference`` not boolean.
    IdentificationError
        No reference rows.
    DataError
        An item constant on the reference rows.

    Notes
    -----
    .. math::

        z_{ik} = s_k\,\frac{y_{ik} - \bar y^{\mathrm{ref}}_k}{\mathrm{sd}^{\mathrm{ref}}_k},
        \qquad I_i = \frac1K\sum_{k=1}^K z_{ik}.

    Rows with no observed item get a missing index. Validated against a direct
    computation in ``tests/data/test_indices.py``.

    References
    ----------
    Kling, J. R., Liebman, J. B. & Katz, L. F. (2007). Experimental analysis of
    neighborhood effects. Econometrica 75(1), 83-119,
    doi:10.1111/j.1468-0262.2007.00733.x.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [2.0, 4.0, 4.0, 8.0],
    ...                    "ref": [True, True, False, False]})
    >>> idx = kling_index(df, ["a", "b"], reference="ref")
    >>> idx.values.round(3).tolist()
    [-0.707, 0.707, 1.414, 3.536]
    """
    data = check_dataframe(data)
    items = _items(data, items)
    name = _check_name(data, name)
    signs = _signs(items, higher_is_better)
    mask = _reference_mask(data, reference)
    z, mean, sd, n_ref = _standardize(data, items, mask, signs)
    some = z.notna().any(axis=1)
    if impute_by is not None:
        groups = [impute_by] if isinstance(impute_by, str) else list(impute_by)
        check_columns_exist(data, groups, role="impute_by")
        group_means = z.groupby([data[g] for g in groups], dropna=False).transform(
            "mean"
        )
        notes = _missing_note(
            z,
            items,
            f"their missing items are imputed at the mean of the item "
            f"within {', '.join(map(repr, groups))} (Kling, Liebman & Katz 2007)",
        )
        filled = z.where(z.notna(), group_means)
        still = some & filled.isna().any(axis=1)
        if still.any():
            notes.append(
                Note(
                    f"{int(still.sum())} rows have an item missing in their whole "
                    "impute_by group; the index averages their other items.",
                    NoteKind.DATA,
                )
            )
        z = filled.where(some, np.nan)
    else:
        notes = _missing_note(z, items, "the index averages their observed items")
    index = z.mean(axis=1, skipna=True).where(some)
    k = len(items)
    out = _finish(data, name, index, mask, standardize, notes)
    return SummaryIndex(
        data=out,
        name=name,
        method="kling",
        items=items,
        signs=signs,
        reference_mean=mean,
        reference_sd=sd,
        weights=pd.Series(1.0 / k, index=list(items), name="weight"),
        covariance=None,
        n_reference=n_ref,
        notes=tuple(notes),
    )


def anderson_index(
    data: pd.DataFrame,
    items: Sequence[str],
    *,
    reference: object,
    higher_is_better: bool | Mapping[str, bool] = True,
    name: str = "anderson_index",
    standardize: bool = False,
) -> SummaryIndex:
    r"""Inverse-covariance-weighted summary index of Anderson (2008).

    Parameters
    ----------
    data : pandas.DataFrame
        Rows of units (or observations) by period; not modified.
    items : sequence of str
        Numeric outcome columns to combine (at least two).
    reference : boolean mask, column name, PanelSpec or RepeatedCrossSectionSpec
        Rows on which the items are standardized and their covariance estimated
        (the comparison group before treatment); a spec selects the never-treated
        rows in periods before the first treated cohort.
    higher_is_better : bool or mapping of str to bool, default True
        Direction of each item (a mapping lists the exceptions; unlisted: True).
    name : str, default "anderson_index"
        Name of the new column.
    standardize : bool, default False
        Rescale the index to mean 0 and SD 1 on the reference rows.

    Returns
    -------
    SummaryIndex
        ``weights`` are :math:`w / \sum_k w_k` with :math:`w = \hat\Sigma^{-1}
        \mathbf 1`; ``covariance`` is :math:`\hat\Sigma`.

    Raises
    ------
    SpecError, TneEvalTypeError, IdentificationError, DataError
        As :func:`kling_index`; also :class:`IdentificationError` when the
        covariance of the items on the reference rows is singular (an item is a
        linear combination of others) or its weights sum to zero.

    Notes
    -----
    With :math:`z_{ik}` the standardized, signed items (as in
    :func:`kling_index`), :math:`\hat\Sigma` their covariance on the reference
    rows (pairwise-complete observations) and :math:`w = \hat\Sigma^{-1}\mathbf 1`,

    .. math::

        I_i = \frac{\sum_{k \in K_i} w_k z_{ik}}{\sum_{k \in K_i} w_k},

    with :math:`K_i` the items observed for row :math:`i`: a missing item is
    left out and the weights of the observed ones are renormalized (Anderson
    2008). The weights come from the reference rows, as the
    standardization does, so that the treatment cannot change them. A weight can
    be negative when an item is strongly correlated with the others; the notes
    say so. Validated against a direct matrix computation in
    ``tests/data/test_indices.py``.

    References
    ----------
    Anderson, M. L. (2008). Multiple inference and gender differences in the
    effects of early intervention: a reevaluation of the Abecedarian, Perry
    Preschool, and Early Training projects. JASA 103(484), 1481-1495,
    doi:10.1198/016214508000000841.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 2.0],
    ...                    "b": [2.0, 1.0, 4.0, 3.0, 5.0],
    ...                    "ref": [True, True, True, True, False]})
    >>> idx = anderson_index(df, ["a", "b"], reference="ref")
    >>> idx.weights.round(3).tolist()
    [0.5, 0.5]
    """
    data = check_dataframe(data)
    items = _items(data, items)
    name = _check_name(data, name)
    signs = _signs(items, higher_is_better)
    mask = _reference_mask(data, reference)
    z, mean, sd, n_ref = _standardize(data, items, mask, signs)
    cov = z[mask].cov(min_periods=2)
    if not np.isfinite(cov.to_numpy()).all():
        raise IdentificationError(
            "Some pairs of items are never observed together on the reference rows, "
            "so their covariance (and the weights) cannot be estimated; drop one of "
            "each such pair."
        )
    sigma = cov.to_numpy()
    if np.linalg.matrix_rank(sigma) < len(items):
        raise IdentificationError(
            "The covariance of the standardized items on the reference rows is "
            "singular (an item is a linear combination of the others, e.g. an item "
            f"and its average with others): drop one of {format_examples(items, len(items))}."
        )
    w = np.linalg.solve(sigma, np.ones(len(items)))
    if not np.isfinite(w).all() or abs(w.sum()) <= 1e-12 * np.abs(w).sum():
        raise IdentificationError(
            "The inverse-covariance weights of the items sum to zero; the index is "
            "not defined. Use kling_index or fewer items."
        )
    weights = pd.Series(w / w.sum(), index=list(items), name="weight")
    notes = _missing_note(
        z,
        items,
        "the index renormalizes the weights of their observed items (Anderson 2008)",
    )
    if (weights < 0).any():
        neg = list(weights.index[weights < 0])
        notes.append(
            Note(
                f"Negative inverse-covariance weight(s) for {format_examples(neg)}: "
                "these items are strongly correlated with the others.",
                NoteKind.ESTIMATION,
            )
        )
    observed = z.notna().to_numpy()
    zv = np.nan_to_num(z.to_numpy())
    num = zv @ w
    den = observed.astype(float) @ w
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(observed.any(axis=1), num / den, np.nan)
    index = pd.Series(values, index=data.index)
    out = _finish(data, name, index, mask, standardize, notes)
    return SummaryIndex(
        data=out,
        name=name,
        method="anderson",
        items=items,
        signs=signs,
        reference_mean=mean,
        reference_sd=sd,
        weights=weights,
        covariance=cov,
        n_reference=n_ref,
        notes=tuple(notes),
    )
