r"""Design-based standard errors for any result that stores influence functions.

:func:`survey_inference` turns the influence functions of a fitted result
(:func:`tne_eval.att_gt`, :func:`tne_eval.aggregate`, :func:`tne_eval.did_2x2`,
the survey estimators) into a Taylor-linearization variance under a
:class:`~tne_eval.survey.SurveyDesign`, without refitting.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from tne_eval._validation import check_choice, check_dataframe
from tne_eval._warnings import warn
from tne_eval.errors import (
    InferenceError,
    SmallClusterWarning,
    SpecError,
    TneEvalTypeError,
)
from tne_eval.inference.few_clusters import few_clusters_note
from tne_eval.inference.scores import InfluenceScores
from tne_eval.inference.survey import Reference, psu_of_rows, survey_from_influence
from tne_eval.inference.wald import WaldTest, wald_test
from tne_eval.notes import INFERENCE_KINDS
from tne_eval.survey.design import SurveyDesign

__all__ = ["survey_inference"]


def _id_column(store: InfluenceScores) -> str:
    name = store.ids.name
    if name is None or (name == "row" and isinstance(store.ids, pd.RangeIndex)):
        raise SpecError(
            "The result's influence functions are keyed by row position, so they "
            "cannot be matched with the design's rows. Refit with the spec's id "
            "column set (RepeatedCrossSectionSpec(..., id='teacher_id'))."
        )
    return str(name)


def survey_inference(
    result: Any,
    data: pd.DataFrame,
    design: SurveyDesign,
    *,
    cluster: str | None = None,
    reference: Reference = "t",
    warn_user: bool = True,
) -> Any:
    r"""Design-based (Taylor linearization) standard errors of a fitted result.

    The influence functions :math:`\psi_i` stored by the result (with
    :math:`\hat\theta - \theta \approx \frac1n\sum_i\psi_i`, sampling weights
    already inside them) are the linearized values :math:`z_i = \psi_i / n`;
    their totals by PSU give the stratified with-replacement variance of
    :func:`~tne_eval.inference.linearization.stratified_vcov`, with the fpc and
    lonely-PSU rule of ``design``. Nothing is refitted; the original result is
    untouched.

    Parameters
    ----------
    result : EstimationResult
        A result whose scores are influence functions keyed by id: a
        :class:`~tne_eval.did.results.GroupTimeResult` or
        :class:`~tne_eval.did.results.AggregateResult` (aggregate *before* calling
        this function, or aggregate with ``inference="cluster"``), a 2x2 DiD. For
        repeated cross-sections the spec needs its ``id`` column
        (``RepeatedCrossSectionSpec(..., id="teacher_id")``); for panels the
        design rows are the units.
    data : pandas.DataFrame
        The data the result was fitted on, with the design columns, *including*
        the rows the estimator dropped (non-respondents, missing outcomes): they
        keep their PSUs in the design with zero influence, as R ``survey``'s
        ``subset()`` keeps the design of a domain. Not modified.
    design : SurveyDesign
        Strata, PSUs, fpc and lonely-PSU rule; ``design.weights``, if given, must
        be the weight column of the fit (``spec.weights``).
    cluster : str, optional
        Take these clusters as the ultimate PSUs (the design's PSUs must be nested
        in them, and its strata must contain whole clusters): for a DiD whose
        treatment is assigned to departments, ``cluster="department"`` gives the
        variance that accounts for the assignment of treatment, the sampling
        of schools and teachers within departments, and every shock common to a
        department. The design's ``fpc`` is then refused.
    reference : {"t", "normal"}, default "t"
        Reference distribution: :math:`t` with the design degrees of freedom
        (PSUs minus strata), or normal (R ``survey``'s ``confint`` default).
    warn_user : bool, default True
        Emit the few-PSUs note as a :class:`~tne_eval.errors.SmallClusterWarning`.

    Returns
    -------
    EstimationResult
        Of the same class, with ``inference`` set to the design bound to ``data``
        (a :class:`~tne_eval.inference.survey.BoundSurveyDesign`); the notes of
        the old inference are replaced. A group-time result's pre-trend test is
        recomputed with the design-based covariance (against :math:`\chi^2`).

    Raises
    ------
    InferenceError
        The result stores no influence functions; fewer than 2 degrees of
        freedom; :class:`~tne_eval.errors.LonelyPSUError` for single-PSU strata
        under ``lonely_psu="fail"``.
    SpecError, DataError
        Design columns missing or inconsistent (see
        :func:`~tne_eval.survey.design.design_arrays`), weights other than the
        fit's, ids of the result not in ``data``.

    Notes
    -----
    With :math:`z_{hj}` the total of :math:`z_i` over PSU :math:`j` of stratum
    :math:`h`,

    .. math::

        \hat V = \sum_h (1-f_h)\frac{n_h}{n_h-1}\sum_j
        (z_{hj}-\bar z_h)(z_{hj}-\bar z_h)'.

    With one stratum, no fpc and the PSUs equal to the fit's clusters this is
    ``Cluster(small_sample=True)`` (the influence functions sum to zero).
    Validated against ``samplics`` 0.6.1 (``TaylorEstimator``, ``SurveyGLM``) for
    means, ratios and regression coefficients to 1e-8
    (``tests/survey/test_linearization.py``).

    References
    ----------
    Binder, D. A. (1983). On the variances of asymptotically normal estimators
    from complex surveys. International Statistical Review, 51(3), 279-292.
    https://doi.org/10.2307/1402588

    Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley.
    https://doi.org/10.1002/9780470580066

    Examples
    --------
    >>> import warnings
    >>> import tne_eval as tne
    >>> from tne_eval.datasets import load_synthetic
    >>> teachers = load_synthetic("teachers")
    >>> spec = tne.RepeatedCrossSectionSpec(
    ...     time="wave", outcome="practice_index", group="school_id",
    ...     cohort="first_treated", cluster="department", weights="design_weight",
    ...     id="teacher_id", covariates=("social_index",))
    >>> with warnings.catch_warnings():  # non-respondents dropped: noted
    ...     warnings.simplefilter("ignore")
    ...     simple = tne.aggregate(tne.att_gt(teachers, spec), "simple")
    >>> design = tne.SurveyDesign(psu="school_id", weights="design_weight")
    >>> with warnings.catch_warnings():  # 2 departments in the 2020 cohort: noted
    ...     warnings.simplefilter("ignore", tne.SmallClusterWarning)
    ...     by_dep = tne.survey_inference(simple, teachers, design, cluster="department")
    >>> by_dep.dof
    100.0
    """
    check_dataframe(data)
    if not isinstance(design, SurveyDesign):
        raise TneEvalTypeError(
            f"design must be a tne_eval.SurveyDesign (got {type(design).__name__})."
        )
    check_choice(reference, "reference", ("t", "normal"))
    store = getattr(result, "scores", None)
    if not isinstance(store, InfluenceScores):
        raise InferenceError(
            f"survey_inference needs a result that stores influence functions "
            f"(att_gt, aggregate, did_2x2, survey_mean, ...); "
            f"{type(result).__name__} stores {type(store).__name__}."
        )
    spec_weights = getattr(getattr(result, "spec", None), "weights", None)
    if design.weights is not None and design.weights != spec_weights:
        raise SpecError(
            f"SurveyDesign.weights={design.weights!r} but the result was fitted with "
            f"spec.weights={spec_weights!r}; the influence functions carry the fit's "
            "weights. Refit with spec.weights set to the design weights (or leave "
            "design.weights=None)."
        )
    key = _id_column(store)
    bound = design.bind(data, id=key, cluster=cluster, reference=reference)
    inferred = survey_from_influence(bound, store)
    row_psu = psu_of_rows(bound, store)
    counts = {
        float(g): int(np.unique(row_psu[store.row_cohort == g]).size)
        for g in np.unique(store.row_cohort[np.isfinite(store.row_cohort)])
    }
    few = few_clusters_note(bound.arrays.psu_column, bound.arrays.n_psu, counts)
    if few is not None:
        inferred = replace(inferred, notes=(*inferred.notes, few))
        if warn_user:
            warn(str(few), SmallClusterWarning)
    keep = tuple(n for n in result.notes if n.kind not in INFERENCE_KINDS)
    out = replace(
        result, inference=bound, inferred=inferred, notes=keep + inferred.notes
    )
    if hasattr(out, "pretest") and "post" in out.table:
        out = replace(out, pretest=_pretest(out))
    return out


def _pretest(result: Any):
    table = result.table
    est = table["estimate"].to_numpy(dtype=float)
    pre = (~table["post"].to_numpy(dtype=bool)) & np.isfinite(est)
    pre &= np.isfinite(result.std_errors.to_numpy())
    null = "no pre-treatment effects (parallel pre-trends)"
    idx = np.flatnonzero(pre)
    if idx.size == 0:
        reason = (
            "there are no pre-treatment cells"
            if table["post"].to_numpy(dtype=bool).all()
            else "no pre-treatment cell has a standard error"
        )
        return WaldTest(np.nan, 0, np.nan, null, (), reason)
    vcov = result.vcov.to_numpy()[np.ix_(idx, idx)]
    return wald_test(est[idx], vcov, null=null, terms=tuple(table.index[idx]))
