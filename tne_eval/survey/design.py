"""Survey designs: column roles (:class:`SurveyDesign`) and their arrays."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from tne_eval._validation import check_choice, check_columns_exist, format_examples
from tne_eval.errors import DataError, SpecError, TneEvalTypeError
from tne_eval.inference.linearization import LONELY_PSU_OPTIONS
from tne_eval.inference.survey import BoundSurveyDesign, DesignArrays

__all__ = ["DesignArrays", "LonelyPSU", "SurveyDesign", "design_arrays"]

LonelyPSU = Literal["fail", "remove", "certainty", "adjust"]


@dataclass(frozen=True)
class SurveyDesign:
    """A stratified (multi-stage) sample design, by column roles.

    The analogue of R ``survey``'s ``svydesign(ids=~psu, strata=~strata,
    fpc=~fpc, weights=~weights, nest=)``. It holds no data: functions that use it
    (:func:`survey_inference`, :func:`survey_mean`, ...) read the columns from the
    data they are given. Variances use the first stage only, with PSUs sampled
    with replacement within strata (the "ultimate cluster" approximation, R
    ``survey``'s default for multi-stage designs without later-stage fpc), which
    accounts for every later stage (teachers within schools).

    Parameters
    ----------
    strata : str, optional
        Column of the first-stage strata; ``None``: one stratum.
    psu : str, optional
        Column of the primary sampling units; ``None``: each row is its own PSU
        (R's ``ids=~1``).
    fpc : str, optional
        Column, constant within stratum, of the first-stage finite-population
        correction: the population number of PSUs :math:`N_h` (values above 1) or
        the sampling fraction :math:`f_h = n_h/N_h` (values in ``(0, 1]``), as R
        ``survey``'s ``fpc=``. ``None``: with replacement (no correction).
    weights : str, optional
        Column of sampling weights (inverse inclusion probabilities, possibly
        adjusted for non-response). Used by the design's own estimators; a
        DiD result keeps the weights it was fitted with (``spec.weights``), and
        :func:`survey_inference` checks that they are the same column.
    nest : bool, default False
        PSU labels are only unique within strata (R's ``nest=TRUE``): relabel them
        by stratum. Without it, a PSU label found in two strata is an error.
    lonely_psu : {"fail", "remove", "certainty", "adjust"}, default "fail"
        Strata with a single PSU (R ``survey``'s ``options(survey.lonely.psu=)``):
        raise :class:`~tne_eval.errors.LonelyPSUError`; the stratum contributes
        nothing to the variance (``"remove"``, ``"certainty"``); or its PSU total is
        centred at the grand mean of the PSU totals (``"adjust"``).

    Examples
    --------
    >>> design = SurveyDesign(strata="department", psu="school_id",
    ...                       weights="design_weight")
    >>> design.describe()
    "strata 'department', PSUs 'school_id', weights 'design_weight', with replacement"
    >>> design.update(lonely_psu="adjust").lonely_psu
    'adjust'
    """

    strata: str | None = None
    psu: str | None = None
    fpc: str | None = None
    weights: str | None = None
    nest: bool = False
    lonely_psu: LonelyPSU = "fail"

    def __post_init__(self) -> None:
        for role in ("strata", "psu", "fpc", "weights"):
            value = getattr(self, role)
            if value is not None and (not isinstance(value, str) or not value):
                raise TneEvalTypeError(
                    f"SurveyDesign.{role} must be a column name or None (got {value!r})."
                )
        if not isinstance(self.nest, bool):
            raise TneEvalTypeError(
                f"SurveyDesign.nest must be True or False (got {self.nest!r})."
            )
        check_choice(self.lonely_psu, "SurveyDesign.lonely_psu", LONELY_PSU_OPTIONS)
        if self.strata is not None and self.strata == self.psu:
            raise SpecError(
                f"SurveyDesign.strata and .psu both name {self.strata!r}; PSUs are "
                "sampled within strata, so they must be different columns (for a "
                "census of strata with rows sampled within them, leave psu=None)."
            )

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns the design refers to, without duplicates."""
        cols = (self.strata, self.psu, self.fpc, self.weights)
        return tuple(dict.fromkeys(c for c in cols if c is not None))

    def update(self, **changes: object) -> SurveyDesign:
        """Return a copy with some roles changed (the design itself is immutable)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def bind(
        self,
        data: pd.DataFrame,
        *,
        id: str | None = None,
        cluster: str | None = None,
        reference: Literal["t", "normal"] = "t",
    ) -> BoundSurveyDesign:
        """Read the design from ``data`` (R's ``svydesign(..., data=)``).

        Parameters
        ----------
        data : pandas.DataFrame
            Every row of the design, also those an estimator will drop.
        id : str, optional
            Column identifying the rows as the influence functions do (a
            repeated cross-section's ``spec.id``, a panel's ``spec.unit``);
            ``None``: the index of ``data``.
        cluster : str, optional
            Take these clusters as the ultimate PSUs (see
            :func:`tne_eval.survey_inference`).
        reference : {"t", "normal"}, default "t"

        Returns
        -------
        BoundSurveyDesign
        """
        arrays = design_arrays(data, self, key=id, cluster=cluster)
        label = self.describe() + (
            f", ultimate clusters {cluster!r}" if cluster else ""
        )
        return BoundSurveyDesign(
            arrays=arrays, lonely_psu=self.lonely_psu, reference=reference, label=label
        )

    def describe(self) -> str:
        """One-line description used in summaries."""
        parts = [
            f"strata {self.strata!r}" if self.strata else "one stratum",
            f"PSUs {self.psu!r}" if self.psu else "rows as PSUs",
        ]
        if self.weights:
            parts.append(f"weights {self.weights!r}")
        parts.append(f"fpc {self.fpc!r}" if self.fpc else "with replacement")
        return ", ".join(parts)


def _codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), [str(u) for u in uniques]


def design_arrays(
    data: pd.DataFrame,
    design: SurveyDesign,
    *,
    key: str | None = None,
    cluster: str | None = None,
) -> DesignArrays:
    """Read the strata, PSUs, fpc and weights of ``design`` from ``data``.

    Parameters
    ----------
    data : pandas.DataFrame
        Not modified.
    design : SurveyDesign
    key : str, optional
        Column identifying the design rows (``None``: the rows of ``data``, by
        index). When ``key`` repeats (a panel's units over periods), the design
        columns must be constant within it and one row per key is kept.
    cluster : str, optional
        Replace the PSUs by these clusters (the design's PSUs must be nested in
        them and the strata must contain whole clusters); used to take the
        clusters of treatment assignment as ultimate clusters.

    Raises
    ------
    SpecError
        Missing columns; fpc together with ``cluster``.
    DataError
        Missing design values, design columns varying within ``key``, PSUs in two
        strata without ``nest=True``, PSUs not nested in ``cluster``, invalid fpc.
    """
    need = list(design.columns) + [c for c in (key, cluster) if c is not None]
    check_columns_exist(data, list(dict.fromkeys(need)), role="SurveyDesign")
    if cluster is not None and design.fpc is not None:
        raise SpecError(
            f"SurveyDesign.fpc={design.fpc!r} describes the sampling of the design's "
            f"PSUs, but cluster={cluster!r} makes the clusters the first stage, "
            "sampled with replacement. Drop the fpc (design.update(fpc=None)) or do "
            "not pass cluster."
        )
    cols = [c for c in (*design.columns, cluster) if c is not None]
    frame = data.loc[:, list(dict.fromkeys([*([key] if key else []), *cols]))]
    for col in cols:
        bad = frame[col].isna()
        if bad.any():
            raise DataError(
                f"Survey design column {col!r} is missing in {int(bad.sum())} of "
                f"{len(frame)} rows. Every row of the design needs its stratum, PSU, "
                "fpc and weight; drop or fill those rows first."
            )
    if key is not None:
        varying = [
            c for c in cols if c != key and frame.groupby(key)[c].nunique().max() > 1
        ]
        if varying:
            raise DataError(
                f"Survey design column(s) {varying} vary within {key!r}; each "
                f"{key!r} is one design row, so its stratum, PSU, fpc and weight "
                "must be constant within it."
            )
        frame = frame.drop_duplicates(subset=key)
        ids = pd.Index(frame[key].to_numpy(), name=key)
    else:
        ids = frame.index
    if not ids.is_unique:
        dup = ids[ids.duplicated()].unique()
        raise DataError(
            f"The design rows' ids are not unique (e.g. {format_examples(dup)}); pass "
            "data with one row per id (or set the spec's id column)."
        )
    n = len(frame)
    if design.strata is not None:
        row_stratum, strata_labels = _codes(frame[design.strata])
    else:
        row_stratum, strata_labels = np.zeros(n, dtype=np.int64), ["all"]
    psu_col = cluster if cluster is not None else design.psu
    if psu_col is not None:
        psu_values = frame[psu_col]
        if cluster is not None and design.psu is not None:
            spread = frame.groupby(design.psu)[cluster].nunique()
            if spread.max() > 1:
                raise DataError(
                    f"PSUs {design.psu!r} are not nested in cluster={cluster!r} (e.g. "
                    f"{format_examples(spread.index[spread > 1])}); the clusters of "
                    "assignment must contain whole PSUs."
                )
        if cluster is not None and design.strata is not None:
            cut = frame.groupby(cluster)[design.strata].nunique()
            if cut.max() > 1:
                raise DataError(
                    f"The strata {design.strata!r} cut across cluster={cluster!r} "
                    f"(e.g. {format_examples(cut.index[cut > 1])}); with the clusters "
                    "as ultimate PSUs, strata must contain whole clusters. Use strata "
                    "at or above the clusters, or strata=None."
                )
        if design.nest or cluster is not None:
            pairs = pd.MultiIndex.from_arrays([row_stratum, psu_values.to_numpy()])
            row_psu = pd.factorize(pairs, sort=True)[0].astype(np.int64)
        else:
            row_psu = pd.factorize(psu_values, sort=True)[0].astype(np.int64)
        n_psu = int(row_psu.max()) + 1 if n else 0
        strata_of_psu = np.full(n_psu, -1, dtype=np.int64)
        strata_of_psu[row_psu] = row_stratum
        spread = pd.Series(row_stratum).groupby(row_psu).nunique()
        if (spread > 1).any():
            where = psu_values.to_numpy()[np.isin(row_psu, spread.index[spread > 1])]
            raise DataError(
                f"PSU labels of {psu_col!r} occur in several strata of "
                f"{design.strata!r} (e.g. {format_examples(np.unique(where))}). If "
                "PSU labels are only unique within strata, set nest=True."
            )
    else:
        row_psu = np.arange(n, dtype=np.int64)
        strata_of_psu = row_stratum.copy()
    fraction = None
    if design.fpc is not None:
        fpc = frame[design.fpc].to_numpy(dtype=float)
        spread = pd.Series(fpc).groupby(row_stratum).nunique()
        if (spread > 1).any():
            raise DataError(
                f"SurveyDesign.fpc column {design.fpc!r} varies within strata (e.g. "
                f"{format_examples([strata_labels[h] for h in spread.index[spread > 1]])}"
                "); it must hold one population count or sampling fraction per stratum."
            )
        per = np.zeros(len(strata_labels))
        per[row_stratum] = fpc
        n_h = np.bincount(strata_of_psu, minlength=len(strata_labels)).astype(float)
        if np.any(per <= 0):
            raise DataError(
                f"SurveyDesign.fpc column {design.fpc!r} has non-positive values; give "
                "population PSU counts (> 1) or sampling fractions in (0, 1]."
            )
        fraction = np.where(per > 1, n_h / per, per)
        over = fraction > 1 + 1e-12
        if over.any():
            bad = [strata_labels[h] for h in np.flatnonzero(over)]
            raise DataError(
                f"SurveyDesign.fpc={design.fpc!r} gives fewer population PSUs than "
                f"sampled ones in strata {format_examples(bad)}; N_h must be at "
                "least the number of sampled PSUs n_h."
            )
    weights = None
    if design.weights is not None:
        weights = frame[design.weights].to_numpy(dtype=float)
        if np.any(weights < 0) or not np.all(np.isfinite(weights)):
            raise DataError(
                f"SurveyDesign.weights column {design.weights!r} has negative or "
                "non-finite values; sampling weights must be finite and >= 0."
            )
    return DesignArrays(
        ids=ids,
        row_psu=row_psu,
        psu_stratum=strata_of_psu,
        stratum_labels=strata_labels,
        fraction=fraction,
        weights=weights,
        psu_column=psu_col if psu_col is not None else "row",
    )
