"""Design-based inference from stored influence functions (the registry's side).

A :class:`BoundSurveyDesign` is a survey design read from data
(:meth:`tne_eval.SurveyDesign.bind`): the stratum and PSU of every design row,
keyed by id. :func:`survey_from_influence` computes the Taylor-linearization
variance of any :class:`~tne_eval.inference.scores.InfluenceScores` under it.
:data:`tne_eval.inference.registry.COMPUTATIONS` maps bound designs of
influence-function scores to it, so a bound design is an inference like any
other (``with_inference``, ``aggregate``, ``att_gt(inference=...)``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from tne_eval._validation import check_choice, format_examples
from tne_eval.errors import DataError, InferenceError
from tne_eval.inference.influence import cluster_sums
from tne_eval.inference.linearization import stratified_vcov
from tne_eval.inference.output import Inferred
from tne_eval.inference.scores import InfluenceScores
from tne_eval.notes import Note, NoteKind

__all__ = [
    "BoundSurveyDesign",
    "DesignArrays",
    "design_inferred",
    "survey_from_influence",
]

Reference = Literal["t", "normal"]


@dataclass(frozen=True, eq=False)
class DesignArrays:
    """A design read from data: codes of each row's stratum and PSU.

    Attributes
    ----------
    ids : pandas.Index
        Label of each design row (unique).
    row_psu : ndarray of int
        PSU of each row in ``0..n_psu-1`` (unique across strata).
    psu_stratum : ndarray of int
        Stratum of each PSU in ``0..n_strata-1``.
    stratum_labels : list of str
    fraction : ndarray or None
        First-stage sampling fraction of each stratum (``None``: with replacement).
    weights : ndarray or None
        Sampling weight of each row.
    psu_column : str
        What the PSUs are (a column, or ``"row"``).
    """

    ids: pd.Index
    row_psu: np.ndarray
    psu_stratum: np.ndarray
    stratum_labels: list[str]
    fraction: np.ndarray | None
    weights: np.ndarray | None
    psu_column: str

    @property
    def n_psu(self) -> int:
        """Number of PSUs."""
        return int(self.psu_stratum.size)

    @property
    def n_strata(self) -> int:
        """Number of strata."""
        return len(self.stratum_labels)

    @property
    def df(self) -> int:
        """Design degrees of freedom: PSUs minus strata (R ``survey``'s ``degf``)."""
        return self.n_psu - self.n_strata


@dataclass(frozen=True, eq=False)
class BoundSurveyDesign:
    """A survey design bound to the rows of a data set (R's ``svydesign`` object).

    Made by :meth:`tne_eval.SurveyDesign.bind`; usable wherever the registry
    accepts an inference for influence functions, and by
    :func:`tne_eval.survey_inference`.

    Attributes
    ----------
    arrays : DesignArrays
    lonely_psu : {"fail", "remove", "certainty", "adjust"}
    reference : {"t", "normal"}
    label : str
        The design's description.
    """

    arrays: DesignArrays
    lonely_psu: str = "fail"
    reference: Reference = "t"
    label: str = ""

    def __post_init__(self) -> None:
        check_choice(self.reference, "reference", ("t", "normal"))

    def describe(self) -> str:
        """One-line description used in summaries."""
        return f"survey design ({self.label})"


def design_inferred(
    psu_totals: np.ndarray,
    arrays: DesignArrays,
    *,
    lonely_psu: str = "fail",
    reference: Reference = "t",
    extra_notes: tuple[Note, ...] = (),
) -> Inferred:
    """Inference of linearized estimates from their PSU totals under a design."""
    check_choice(reference, "reference", ("t", "normal"))
    vcov, lonely = stratified_vcov(
        psu_totals,
        arrays.psu_stratum,
        arrays.n_strata,
        fraction=arrays.fraction,
        lonely_psu=lonely_psu,
        stratum_labels=arrays.stratum_labels,
    )
    df = arrays.df
    if df < 1:
        raise InferenceError(
            f"The survey design has {arrays.n_psu} PSU(s) in {arrays.n_strata} "
            "stratum/strata: its degrees of freedom (PSUs - strata) are "
            f"{df}, so no variance can be formed. Use finer PSUs or fewer strata."
        )
    psu = arrays.psu_column
    fpc = (
        "with finite-population correction"
        if arrays.fraction is not None
        else "PSUs with replacement"
    )
    ref = f"t({df})" if reference == "t" else "normal"
    description = (
        f"design-based (linearization): {arrays.n_strata} strata, {arrays.n_psu} PSUs "
        f"of {psu!r}, {fpc}, {ref}"
    )
    notes = [
        Note(
            f"Design-based standard errors (Taylor linearization of the influence "
            f"functions): PSU totals of {psu!r} within {arrays.n_strata} strata, "
            f"{fpc}; degrees of freedom = {arrays.n_psu} PSUs - {arrays.n_strata} "
            f"strata = {df}; {ref} critical values.",
            NoteKind.INFERENCE,
        )
    ]
    if lonely:
        names = format_examples([arrays.stratum_labels[h] for h in lonely])
        how = {
            "remove": "contribute nothing to the variance (lonely_psu='remove')",
            "certainty": "are treated as certainty PSUs and contribute nothing "
            "(lonely_psu='certainty')",
            "adjust": "are centred at the grand mean of the PSU totals "
            "(lonely_psu='adjust')",
        }[lonely_psu]
        notes.append(
            Note(
                f"{len(lonely)} stratum/strata with a single PSU ({names}) {how}.",
                NoteKind.INFERENCE,
            )
        )
    inferred = Inferred.analytic(
        vcov,
        dof=float(df) if reference == "t" else None,
        n_clusters=arrays.n_psu,
        description=description,
        clusters=repr(psu),
        note=notes[0],
    )
    return replace(inferred, notes=(*notes, *extra_notes))


def _assignment_note(
    store: InfluenceScores, row_psu: np.ndarray, arrays: DesignArrays
) -> Note | None:
    """Say when treatment is constant within every stratum (a conditional variance)."""
    cohort = store.row_cohort
    if np.unique(cohort).size < 2 or arrays.n_strata < 2:
        return None
    frame = pd.DataFrame({"h": arrays.psu_stratum[row_psu], "g": cohort})
    if frame.groupby("h")["g"].nunique().max() > 1:
        return None
    return Note(
        "Every stratum holds a single treatment cohort: the design-based variance "
        "is conditional on which strata are treated (a finite-population, "
        "descriptive variance). For the causal effect of a treatment assigned to "
        "whole strata (departments), take the clusters of assignment as PSUs: "
        "survey_inference(..., cluster='department') with strata above them (or "
        "none).",
        NoteKind.INFERENCE,
    )


def psu_of_rows(design: BoundSurveyDesign, store: InfluenceScores) -> np.ndarray:
    """PSU code of each row of the store (rows matched by id, never by position)."""
    arrays = design.arrays
    pos = arrays.ids.get_indexer(store.ids)
    if (pos < 0).any():
        absent = store.ids[pos < 0]
        raise DataError(
            f"{absent.size} id(s) of the result's {store.ids.name!r} are not in the "
            f"design's data (e.g. {format_examples(absent)}); bind the design to "
            "the data the result was fitted on."
        )
    return arrays.row_psu[pos]


def survey_from_influence(
    inference: BoundSurveyDesign, store: InfluenceScores
) -> Inferred:
    r"""Taylor-linearization inference of influence-function estimates.

    The linearized values are :math:`z_i = \psi_i / n`; their totals by PSU enter
    :func:`~tne_eval.inference.linearization.stratified_vcov`. PSUs of the design
    without any row of the store stay in it with zero totals (a domain).
    """
    arrays = inference.arrays
    row_psu = psu_of_rows(inference, store)
    totals = cluster_sums(store.values, row_psu, arrays.n_psu) / store.n
    extra: list[Note] = []
    empty = arrays.n_psu - np.unique(row_psu).size
    if empty:
        extra.append(
            Note(
                f"{empty} of {arrays.n_psu} PSUs have no row in the estimate (e.g. no "
                "respondent); they stay in the design with zero influence, as a "
                "domain of R survey.",
                NoteKind.INFERENCE,
            )
        )
    assign = _assignment_note(store, row_psu, arrays)
    if assign is not None:
        extra.append(assign)
    return design_inferred(
        totals,
        arrays,
        lonely_psu=inference.lonely_psu,
        reference=inference.reference,
        extra_notes=tuple(extra),
    )
