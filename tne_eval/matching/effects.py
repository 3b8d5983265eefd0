r"""Effects after matching or weighting: :func:`att`, :func:`psmatch` and :func:`aipw`."""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd

from tne_eval._validation import check_alpha, check_choice, check_dataframe
from tne_eval.errors import IdentificationError, SpecError, TneEvalTypeError
from tne_eval.inference.output import Inferred
from tne_eval.inference.registry import infer, resolve, supported
from tne_eval.inference.scores import InfluenceScores
from tne_eval.matching._effects import abadie_imbens_att, aipw_att
from tne_eval.matching._frame import CrossSection, check_spec, prepare_cross_section
from tne_eval.matching.balance import _aligned
from tne_eval.matching.results import MatchingEffectResult, MatchResult, WeightingResult
from tne_eval.matching.spec import CrossSectionSpec
from tne_eval.notes import Note, NoteKind
from tne_eval.results.base import make_provenance

__all__ = ["SUPPORTED_INFERENCE", "aipw", "att", "psmatch"]

#: Inference computable from the stored influence functions (``se="cluster"``, AIPW).
SUPPORTED_INFERENCE = supported(InfluenceScores)


def _table(estimate: float, estimand: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"estimand": [estimand], "estimate": [float(estimate)]},
        index=pd.Index([estimand], name="term"),
    )


def _store(
    cs: CrossSection,
    values: np.ndarray,
    cluster: tuple[np.ndarray, int, str] | None,
    rows: np.ndarray | None = None,
    s_weights: np.ndarray | None = None,
) -> InfluenceScores:
    """Store influence functions by unit (``rows``: the units kept, default all).

    Treated units are coded as a 'cohort' (1.0) so that the few-treated-clusters
    diagnostics count their clusters.
    """
    unit_col = cs.spec.unit or str(cs.ids.name or "index")
    keep = np.ones(cs.n, dtype=bool) if rows is None else rows
    n = int(keep.sum())
    if cluster is None:
        code, g, col = None, n, unit_col
    else:
        code, uniques = pd.factorize(cluster[0][keep], sort=True)
        code, g, col = code.astype(np.int64), len(uniques), cluster[2]
    return InfluenceScores(
        values=values[keep][:, None],
        ids=cs.ids[keep],
        cluster_code=code,
        n_clusters=g,
        cluster_column=col,
        row_cohort=np.where(cs.treated[keep], 1.0, np.inf),
        row_weights=np.ones(n) if s_weights is None else s_weights[keep],
    )


def _abadie_imbens_inferred(se: float, n: int, description: str) -> Inferred:
    """Return the inference of one Abadie-Imbens standard error (normal critical values)."""
    return Inferred(
        std_errors=np.array([se]),
        vcov=np.array([[se**2]]),
        dof=None,
        n_clusters=n,
        description=description,
        clusters="none (Abadie-Imbens)",
    )


def _spec_cluster(cs: CrossSection) -> tuple[np.ndarray, int, str] | None:
    got = cs.cluster_codes()
    if got is None:
        return None
    return got[0], got[1], str(cs.spec.cluster)


def att(
    data: pd.DataFrame,
    spec: CrossSectionSpec,
    matched_or_weighted: MatchResult | WeightingResult,
    *,
    se: Literal["abadie_imbens", "cluster"] | None = None,
    bias_correct: bool = False,
    score_adjustment: bool = False,
    inference: object = None,
    alpha: float = 0.05,
    n_neighbors: int = 2,
) -> MatchingEffectResult:
    r"""Effect on the treated after matching (or the weighting's estimand).

    Parameters
    ----------
    data : pandas.DataFrame
        The data that was matched or weighted (not modified).
    spec : CrossSectionSpec
        With ``outcome``; ``cluster``, when set, clusters the ``"cluster"``
        standard errors.
    matched_or_weighted : MatchResult or WeightingResult
        From :func:`match` or :func:`weightit`.
    se : {"abadie_imbens", "cluster"}, optional
        ``"abadie_imbens"``: the matching estimator's standard error of Abadie &
        Imbens (2006) (Stata's ``teffects nnmatch``; nearest and optimal
        matching only). ``"cluster"``: the weighted difference in means with its
        influence function, weights held fixed, through the inference registry:
        clustered by ``spec.cluster`` when set, else by matched set after pair
        matching without replacement (MatchIt's recommended ``vcovCL(cluster =
        ~subclass)``), else by unit (heteroskedasticity-robust). Default:
        ``"abadie_imbens"`` for pair matching, ``"cluster"`` otherwise.
    bias_correct : bool, default False
        The Abadie & Imbens (2011) regression bias correction (``se=
        "abadie_imbens"`` only; ``teffects nnmatch, biasadj()``).
    score_adjustment : bool, default False
        Account for the estimation of the propensity score matched on: the
        Abadie & Imbens (2016) adjustment of the ATT variance (the adjustment
        Stata's ``teffects psmatch`` applies; not compared with it). Needs
        ``se="abadie_imbens"`` after
        nearest-neighbour matching with replacement on a ``"glm"`` or
        ``"probit"`` score, without caliper, exact strata or discarding; the
        conditional variances are then estimated by matching on the score.
    inference : Cluster, IID, MultiplierBootstrap or str, optional
        For ``se="cluster"`` (default ``"cluster"``).
    alpha : float, default 0.05
        Level of the confidence intervals.
    n_neighbors : int, default 2
        Same-group neighbours of the Abadie-Imbens conditional variance
        (``vce(robust, nn(2))``).

    Returns
    -------
    MatchingEffectResult
        One term, ``"ATT"`` (or ``"ATE"`` after ATE weighting).

    Raises
    ------
    SpecError
        No outcome; ``se``/``bias_correct`` not available for the design.
    DataError
        Missing outcome values.
    InferenceError
        Unsupported inference.

    Notes
    -----
    With MatchIt's weights :math:`w`, the estimate is
    :math:`\sum_{D=1} w Y / \sum_{D=1} w - \sum_{D=0} w Y / \sum_{D=0} w`; for
    pair matching it equals the Abadie-Imbens matching estimator (checked on
    LaLonde against causalinference, ``tests/matching/test_effects.py``). The
    ``"cluster"`` influence function treats the weights as fixed; it ignores
    the estimation of the score, which is conservative for matching on the
    score (Abadie & Imbens 2016) and usually for IPW.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tne_eval.matching import CrossSectionSpec, att, match
    >>> rng = np.random.default_rng(4)
    >>> x = rng.normal(size=600)
    >>> d = (rng.random(600) < 1 / (1 + np.exp(-x))).astype(int)
    >>> df = pd.DataFrame({"x": x, "d": d, "y": 2 * x + 1.0 * d + rng.normal(size=600)})
    >>> spec = CrossSectionSpec(outcome="y", treatment="d", covariates=("x",))
    >>> res = att(df, spec, match(df, spec, replace=True), bias_correct=True)
    >>> bool(abs(res.estimates["ATT"] - 1.0) < 3 * res.std_errors["ATT"])
    True
    """
    if not isinstance(matched_or_weighted, (MatchResult, WeightingResult)):
        raise TneEvalTypeError(
            "matched_or_weighted must be a MatchResult (from match()) or a "
            f"WeightingResult (from weightit()); got {type(matched_or_weighted).__name__}."
        )
    check_dataframe(data)
    check_spec(spec)
    alpha = check_alpha(alpha)
    res = matched_or_weighted
    pair = isinstance(res, MatchResult) and res.match_matrix is not None
    if se is None:
        se = "abadie_imbens" if pair else "cluster"
    check_choice(se, "se", ("abadie_imbens", "cluster"))
    if se == "abadie_imbens" and not pair:
        design = res.method
        raise SpecError(
            f"se='abadie_imbens' needs matched pairs (method='nearest' or "
            f"'optimal'); this design is {design!r}. Use se='cluster'."
        )
    if bias_correct and se != "abadie_imbens":
        raise SpecError(
            "bias_correct=True is the Abadie-Imbens (2011) correction of the "
            "matching estimator: use it with se='abadie_imbens'."
        )
    if score_adjustment:
        _check_score_adjustment(res, se, bias_correct)
    if se == "abadie_imbens" and inference is not None:
        raise SpecError(
            "inference applies to se='cluster'; the Abadie-Imbens standard error "
            "has its own formula. Drop inference=, or use se='cluster'."
        )
    has_sw = res.sampling_weights is not None
    if has_sw != (spec.weights is not None):
        raise SpecError(
            f"The {type(res).__name__} was built "
            + ("with" if has_sw else "without")
            + f" sampling weights, but spec.weights={spec.weights!r}: pass the spec "
            "used to match or weight, so that the effect uses the same sampling "
            "weights (MatchIt's s.weights)."
        )
    if has_sw and se == "abadie_imbens":
        raise SpecError(
            "The Abadie-Imbens standard error is not defined with sampling weights "
            f"(spec.weights={spec.weights!r}); use se='cluster' (the weighted "
            "difference in means with its influence function)."
        )
    cs = prepare_cross_section(data, spec, need_outcome=True)
    y = cs.column(str(spec.outcome), "outcome")
    d = cs.treated
    if res.spec.treatment != spec.treatment or not np.array_equal(
        _aligned(res.treated, cs.index, "result's rows") > 0, d
    ):
        raise SpecError(
            f"The {type(res).__name__} was fitted on other data or another "
            "treatment: pass the data that was matched or weighted."
        )
    w = _aligned(res.analysis_weights, cs.index, "weights")
    if has_sw and not np.allclose(
        _aligned(res.sampling_weights, cs.index, "sampling weights"),
        cs.sampling_weights(),
    ):
        raise SpecError(
            f"spec.weights={spec.weights!r} differ from the sampling weights the "
            f"{type(res).__name__} was built with: pass the data that was matched."
        )
    estimand = res.estimand
    notes = list(res.notes)
    provenance = make_provenance(cs.fingerprint)
    design_name = (
        f"{res.method} matching"
        if isinstance(res, MatchResult)
        else f"{res.method} weights"
    )
    if se == "abadie_imbens":
        from tne_eval.matching._nearest import Matches

        x, _ = cs.design(drop_first=False)
        sd = x.std(axis=0)
        z = x[:, sd > 0] / sd[sd > 0]
        if score_adjustment:  # AI (2016): conditional variances given the score
            z = _aligned(res.distance, cs.index, "distance")[:, None]
        matches = Matches(
            treated=np.flatnonzero(d),
            match_matrix=res.match_matrix,
            replace=bool(res.options.get("replace")),
            n_unmatched_treated=int((d & (w == 0)).sum()),
        )
        fit = abadie_imbens_att(
            y,
            d,
            matches,
            z,
            x_bias=x[:, sd > 0] if bias_correct else None,
            n_neighbors=n_neighbors,
        )
        se_val = fit.se
        description = "Abadie-Imbens (2006) matching standard error, population ATT"
        if score_adjustment:
            adj = _score_adjustment(cs, res, y, d, fit.att)
            var = fit.se**2 + adj.variance
            if not var > 0:
                raise IdentificationError(
                    "The Abadie-Imbens (2016) adjusted variance is not positive "
                    f"({var:.4g}): the adjustment ({adj.variance:.4g}) outweighs the "
                    "matching variance in this sample. Report the unadjusted "
                    "standard error or use more data."
                )
            se_val = float(np.sqrt(var))
            description = (
                "Abadie-Imbens (2016) standard error for matching on an estimated "
                "propensity score, population ATT"
            )
            notes.append(
                Note(
                    f"Abadie-Imbens (2016) adjustment for the estimated score: "
                    f"variance {fit.se**2:.6g} on the true score, "
                    f"{adj.variance:+.6g} for its estimation.",
                    NoteKind.INFERENCE,
                )
            )
        inferred = _abadie_imbens_inferred(se_val, cs.n, description)
        notes.append(
            Note(
                f"Abadie-Imbens standard error with {n_neighbors} same-group "
                "neighbours for the conditional variances (covariates scaled to "
                "unit SD); the matches are treated as fixed."
                + (" Bias-corrected (Abadie-Imbens 2011)." if bias_correct else ""),
                NoteKind.INFERENCE,
            )
        )
        return MatchingEffectResult(
            table=_table(fit.att, estimand),
            spec=spec,
            options=MappingProxyType(
                {
                    "design": design_name,
                    "se": "abadie_imbens",
                    "bias_correct": bias_correct,
                    "score_adjustment": score_adjustment,
                    "n_neighbors": n_neighbors,
                    "reference": "abadie_imbens_bc"
                    if bias_correct
                    else "abadie_imbens",
                }
            ),
            alpha=alpha,
            nobs=int((w > 0).sum()),
            n_units=cs.n,
            inference="abadie_imbens",
            inferred=inferred,
            scores=None,
            notes=tuple(notes),
            provenance=provenance,
        )
    inf = resolve(
        "cluster" if inference is None else inference,
        estimator="att",
        store_type=InfluenceScores,
    )
    t, c = d, ~d
    w1, w0 = w[t].sum(), w[c].sum()
    m1 = float(w[t] @ y[t] / w1)
    m0 = float(w[c] @ y[c] / w0)
    used = w > 0
    n = int(used.sum())  # the matched (or weighted) sample, as MatchIt's match.data()
    psi = np.zeros(cs.n)
    psi[t] = n * w[t] * (y[t] - m1) / w1
    psi[c] = -n * w[c] * (y[c] - m0) / w0
    cluster = _spec_cluster(cs)
    if cluster is None and isinstance(res, MatchResult):
        sub = res.subclass.to_numpy(dtype=float, na_value=np.nan)
        pairs = res.match_matrix is not None and not res.options.get("replace")
        if pairs or res.method == "full":
            code = np.where(np.isfinite(sub), sub, -1).astype(np.int64)
            cluster = (code, int(code.max()) + 1, "subclass")
            notes.append(
                Note(
                    "Standard errors clustered by matched set (subclass), as MatchIt "
                    "recommends after pair matching without replacement and full "
                    "matching.",
                    NoteKind.INFERENCE,
                )
            )
    store = _store(cs, psi, cluster, rows=used)
    inferred = infer(inf, store)
    notes.append(
        Note(
            "The influence function holds the weights fixed (it ignores the "
            "estimation of the propensity score or of the balancing weights).",
            NoteKind.ESTIMATION,
        )
    )
    return MatchingEffectResult(
        table=_table(m1 - m0, estimand),
        spec=spec,
        options=MappingProxyType(
            {"design": design_name, "se": "cluster", "reference": "cluster"}
        ),
        alpha=alpha,
        nobs=n,
        n_units=n,
        inference=inf,
        inferred=inferred,
        scores=store,
        notes=tuple(notes) + inferred.notes,
        provenance=provenance,
    )


def _check_score_adjustment(res, se, bias_correct) -> None:
    opts = res.options if isinstance(res, MatchResult) else {}
    if (
        isinstance(res, MatchResult)
        and res.match_matrix is not None
        and not opts.get("replace")
    ):
        raise SpecError(
            "score_adjustment=True: the Abadie & Imbens (2016) adjustment is "
            "derived for matching with replacement (its theory counts how often "
            "each unit is reused); there is no such result for matching without "
            "replacement, so none is applied. Match with replace=True (or use "
            "psmatch()), or report se='cluster' (by matched set, which ignores "
            "the estimation of the score)."
        )
    ok = (
        isinstance(res, MatchResult)
        and res.method == "nearest"
        and opts.get("replace")
        and opts.get("distance") in ("glm", "probit")
        and not opts.get("mahvars")
        and opts.get("caliper") is None
        and not opts.get("exact")
        and opts.get("discard") == "none"
        and res.propensity is not None
    )
    if not ok:
        raise SpecError(
            "score_adjustment=True (Abadie & Imbens 2016) is derived for "
            "nearest-neighbour matching with replacement on an estimated 'glm' or "
            "'probit' score, without caliper, mahvars, exact strata or discarding: "
            "refit match(..., replace=True) accordingly."
        )
    if se != "abadie_imbens" or bias_correct:
        raise SpecError(
            "score_adjustment=True adjusts the Abadie-Imbens standard error of the "
            "plain matching estimator: use se='abadie_imbens' and "
            "bias_correct=False."
        )


def _score_inputs(cs, prop):
    """Score design (intercept first), scores and link densities of a fitted score."""
    from scipy.stats import norm

    x, _ = cs.design(drop_first=True)
    design = np.column_stack([np.ones(cs.n), x])
    p = _aligned(prop.score, cs.index, "score")
    lp = _aligned(prop.linear_predictor, cs.index, "linear predictor")
    density = p * (1.0 - p) if prop.link == "logit" else norm.pdf(lp)
    return design, p, density


def _score_adjustment(cs, res, y, d, att_value, **moments):
    from tne_eval.matching._effects import score_adjustment_att

    design, p, density = _score_inputs(cs, res.propensity)
    return score_adjustment_att(y, d, design, p, density, att_value, **moments)


def psmatch(
    data: pd.DataFrame,
    spec: CrossSectionSpec,
    *,
    estimand: Literal["ATE", "ATT"] = "ATE",
    ratio: int = 1,
    link: Literal["logit", "probit"] = "logit",
    score_adjustment: bool = True,
    ties: bool = True,
    alpha: float = 0.05,
    n_neighbors: int = 2,
    variance: Literal["abadie_imbens", "stata"] = "abadie_imbens",
) -> MatchingEffectResult:
    r"""Propensity-score matching estimator of the ATE or ATT (Stata's ``teffects psmatch``).

    The score is fitted by maximum likelihood (``link``) on ``spec.covariates``;
    every unit (ATE) or every treated unit (ATT) is matched **with
    replacement** to its ``ratio`` nearest units of the other group on the
    score, and its missing potential outcome is the mean of theirs. The
    standard error is Abadie & Imbens (2006) for the population estimand and,
    with ``score_adjustment=True`` (the default, as Stata's), it accounts for
    the estimation of the score as Abadie & Imbens (2016): for the ATE the
    variance is lowered by :math:`c' I^{-1} c / N`; for the ATT it changes by
    :math:`(-c_t' I^{-1} c_t + g_t' I^{-1} g_t) / N`
    (:func:`~tne_eval.matching._effects.score_adjustment_ate`,
    :func:`~tne_eval.matching._effects.score_adjustment_att`).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit (not modified).
    spec : CrossSectionSpec
        ``outcome``, ``treatment`` and ``covariates`` of the score model; no
        ``weights``.
    estimand : {"ATE", "ATT"}, default "ATE"
        Stata's ``ate`` / ``atet``.
    ratio : int, default 1
        Matches per unit (``nneighbor()``).
    ties : bool, default True
        Keep every unit tied with the ``ratio``-th nearest, as Stata does (the
        imputation averages over all of them; frequent when the covariates are
        discrete); ``False`` breaks ties as :func:`match` (one unit per slot).
    link : {"logit", "probit"}, default "logit"
        The score model.
    score_adjustment : bool, default True
        The Abadie & Imbens (2016) adjustment for the estimated score.
    alpha : float, default 0.05
        Level of the confidence intervals.
    n_neighbors : int, default 2
        Same-group neighbours of the conditional variances (``vce(robust,
        nn(2))``), matched on the estimated score with or without the
        adjustment, so that the two standard errors differ only by it.
    variance : {"abadie_imbens", "stata"}, default "abadie_imbens"
        How the conditional moments are estimated from the units of each group
        nearest on the score. ``"abadie_imbens"``: the conditional variances
        are ``J/(J+1) (Y_i - mean_J Y)^2`` over the ``J = n_neighbors`` nearest
        other units (Abadie & Imbens 2006) and the covariances of the
        adjustment use the 4 nearest units, ties broken by position.
        ``"stata"``: as ``teffects psmatch``, both use the ``n_neighbors``
        nearest units of the group counting the unit itself, **all ties
        kept**, the variances being sample variances
        (:func:`~tne_eval.matching._effects.conditional_variance` with
        ``"stata_psmatch"``); this reproduces Stata's printed ATE standard
        errors (see the documentation page, "Validation"). Both are consistent
        for the same variance.

    Returns
    -------
    MatchingEffectResult
        One term, ``"ATE"`` or ``"ATT"``. Without tied scores (or with
        ``ties=False``) the adjusted ATT equals ``att(data, spec, match(data,
        spec, replace=True, ratio=ratio), score_adjustment=True)``.

    Raises
    ------
    SpecError
        ``spec.weights`` set, or an unknown option.
    IdentificationError
        The adjusted variance is not positive, or a group is too small.

    Notes
    -----
    Matching without replacement has no such adjustment (the 2016 theory
    rests on matching with replacement): :func:`att` raises a
    :class:`~tne_eval.errors.SpecError` for ``score_adjustment=True`` there.
    The ATE adjustment weights the within-score covariances by ``1 / p`` and
    ``1 / (1 - p)``: with scores near 0 or 1 (poor overlap) it is noisy and
    can exceed the matching variance, which raises rather than report a
    meaningless standard error; trim first (:func:`propensity_score`,
    ``trim=``).

    References
    ----------
    Abadie, A. and Imbens, G. W. (2006). Large sample properties of matching
    estimators for average treatment effects. Econometrica 74(1), 235-267.
    https://doi.org/10.1111/j.1468-0262.2006.00655.x

    Abadie, A. and Imbens, G. W. (2016). Matching on the estimated propensity
    score. Econometrica 84(2), 781-807. https://doi.org/10.3982/ECTA11293

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tne_eval.matching import CrossSectionSpec, psmatch
    >>> rng = np.random.default_rng(4)
    >>> x = rng.normal(size=800)
    >>> d = (rng.random(800) < 1 / (1 + np.exp(-x))).astype(int)
    >>> df = pd.DataFrame({"x": x, "d": d, "y": 2 * x + 1.0 * d + rng.normal(size=800)})
    >>> spec = CrossSectionSpec(outcome="y", treatment="d", covariates=("x",))
    >>> res = psmatch(df, spec)
    >>> bool(abs(res.estimates["ATE"] - 1.0) < 3 * res.std_errors["ATE"])
    True
    """
    from tne_eval.matching._effects import abadie_imbens_ate, score_adjustment_ate
    from tne_eval.matching._nearest import Matches, nearest_scalar, nearest_with_ties
    from tne_eval.matching.matched import match

    check_dataframe(data)
    check_spec(spec)
    alpha = check_alpha(alpha)
    check_choice(estimand, "estimand", ("ATE", "ATT"))
    check_choice(link, "link", ("logit", "probit"))
    check_choice(variance, "variance", ("abadie_imbens", "stata"))
    stata = variance == "stata"
    sigma2_rule = "stata_psmatch" if stata else "abadie_imbens"
    moments = {"n_neighbors": n_neighbors, "ties": True} if stata else {}
    if spec.weights is not None:
        raise SpecError(
            f"psmatch() does not take sampling weights (spec.weights="
            f"{spec.weights!r}): the Abadie-Imbens standard errors are not defined "
            "with them. Use match() and att(..., se='cluster')."
        )
    distance = "glm" if link == "logit" else "probit"
    m = match(data, spec, distance=distance, replace=True, ratio=ratio)
    cs = prepare_cross_section(data, spec, need_outcome=True)
    y = cs.column(str(spec.outcome), "outcome")
    d = cs.treated
    design, p, density = _score_inputs(cs, m.propensity)
    if ties:
        matches_t = nearest_with_ties(d, p, ratio=ratio)
    else:
        matches_t = Matches(
            treated=np.flatnonzero(d),
            match_matrix=m.match_matrix,
            replace=True,
            n_unmatched_treated=0,
        )
    # conditional variances given the score (Abadie & Imbens 2016, Section 5)
    z = p[:, None]
    if estimand == "ATT":
        fit_t = abadie_imbens_att(
            y,
            d,
            matches_t,
            z,
            n_neighbors=n_neighbors,
            variance_estimator=sigma2_rule,
        )
        adj_t = (
            _score_adjustment(cs, m, y, d, fit_t.att, **moments)
            if score_adjustment
            else None
        )
        return _psmatch_result(
            cs,
            spec,
            m,
            fit_t.att,
            fit_t.se,
            "ATT",
            adj_t,
            ratio,
            link,
            n_neighbors,
            alpha,
            variance,
        )
    matches_c = (
        nearest_with_ties(~d, p, ratio=ratio)
        if ties
        else nearest_scalar(~d, p, ratio=ratio, replace=True)
    )
    fit = abadie_imbens_ate(
        y,
        d,
        matches_t,
        matches_c,
        z,
        n_neighbors=n_neighbors,
        variance_estimator=sigma2_rule,
    )
    adj = (
        score_adjustment_ate(y, d, design, p, density, **moments)
        if score_adjustment
        else None
    )
    return _psmatch_result(
        cs,
        spec,
        m,
        fit.ate,
        fit.se,
        "ATE",
        adj,
        ratio,
        link,
        n_neighbors,
        alpha,
        variance,
    )


def _psmatch_result(
    cs,
    spec,
    m,
    estimate,
    se_true,
    estimand,
    adj,
    ratio,
    link,
    n_neighbors,
    alpha,
    variance="abadie_imbens",
) -> MatchingEffectResult:
    """Assemble psmatch()'s result (``adj``: the 2016 adjustment, or None)."""
    notes = list(m.notes)
    fit_se = se_true
    se_val = fit_se
    description = f"Abadie-Imbens (2006) matching standard error, population {estimand}"
    if adj is not None:
        var = fit_se**2 + adj.variance
        if not var > 0:
            raise IdentificationError(
                "The Abadie-Imbens (2016) adjusted variance is not positive "
                f"({var:.4g}): the adjustment ({adj.variance:.4g}) outweighs the "
                "matching variance in this sample. Report the unadjusted standard "
                "error (score_adjustment=False) or use more data."
            )
        se_val = float(np.sqrt(var))
        description = (
            "Abadie-Imbens (2016) standard error for matching on an estimated "
            f"propensity score, population {estimand}"
        )
        notes.append(
            Note(
                f"Abadie-Imbens (2016) adjustment for the estimated score: variance "
                f"{fit_se**2:.6g} on the true score, {adj.variance:+.6g} for its "
                "estimation.",
                NoteKind.INFERENCE,
            )
        )
    who = "every unit" if estimand == "ATE" else "every treated unit"
    notes.append(
        Note(
            f"{estimand} by matching {who} with replacement to {ratio} unit(s) of "
            f"the other group on the {link} score; Abadie-Imbens standard error "
            f"with {n_neighbors} same-group neighbours on the score for the "
            f"conditional variances ({variance} rule).",
            NoteKind.INFERENCE,
        )
    )
    inferred = _abadie_imbens_inferred(se_val, cs.n, description)
    return MatchingEffectResult(
        table=_table(estimate, estimand),
        spec=spec,
        options=MappingProxyType(
            {
                "design": f"propensity-score matching ({estimand})",
                "se": "abadie_imbens",
                "bias_correct": False,
                "score_adjustment": adj is not None,
                "n_neighbors": n_neighbors,
                "variance": variance,
                "ratio": ratio,
                "link": link,
                "reference": "abadie_imbens",
            }
        ),
        alpha=alpha,
        nobs=cs.n,
        n_units=cs.n,
        inference="abadie_imbens",
        inferred=inferred,
        scores=None,
        notes=tuple(notes),
        provenance=make_provenance(cs.fingerprint),
    )


def aipw(
    data: pd.DataFrame,
    spec: CrossSectionSpec,
    *,
    inference: object = "cluster",
    alpha: float = 0.05,
) -> MatchingEffectResult:
    r"""Doubly robust (augmented IPW) ATT with its influence function.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit (not modified).
    spec : CrossSectionSpec
        ``outcome``, ``treatment``, ``covariates`` (a logit score and a linear
        control-outcome regression on them); ``cluster`` clusters the inference.
    inference : Cluster, IID, MultiplierBootstrap or str, default "cluster"
        Computed from the influence function through the registry: clustered by
        ``spec.cluster`` when set, else independent units.
    alpha : float, default 0.05

    Returns
    -------
    MatchingEffectResult
        One term, ``"ATT"``; ``influence`` by unit in ``scores``.

    Raises
    ------
    SpecError, DataError
        As :func:`att`.
    IdentificationError
        Separation in the score (no overlap).

    Notes
    -----
    .. math::

        \hat\tau = \frac{\sum_i D_i (Y_i - \hat\mu_0(X_i)) - \sum_i (1 - D_i)
        \frac{\hat e(X_i)}{1 - \hat e(X_i)} (Y_i - \hat\mu_0(X_i))}{\sum_i D_i},

    consistent if either the score or the outcome model is right; the moment is
    Neyman-orthogonal, so the nuisance estimation adds no first-order term to
    the influence function (``tests/matching/test_effects.py`` checks both
    robustness properties).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tne_eval.matching import CrossSectionSpec, aipw
    >>> rng = np.random.default_rng(5)
    >>> x = rng.normal(size=800)
    >>> d = (rng.random(800) < 1 / (1 + np.exp(-x))).astype(int)
    >>> df = pd.DataFrame({"x": x, "d": d, "y": 2 * x + 1.0 * d + rng.normal(size=800)})
    >>> res = aipw(df, CrossSectionSpec(outcome="y", treatment="d", covariates=("x",)))
    >>> bool(abs(res.estimates["ATT"] - 1.0) < 3 * res.std_errors["ATT"])
    True
    """
    check_dataframe(data)
    check_spec(spec)
    alpha = check_alpha(alpha)
    inf = resolve(inference, estimator="aipw", store_type=InfluenceScores)
    cs = prepare_cross_section(data, spec, need_outcome=True)
    y = cs.column(str(spec.outcome), "outcome")
    x, _ = cs.design(drop_first=True)
    s_w = cs.sampling_weights()
    fit = aipw_att(y, cs.treated, x, s_weights=s_w)
    store = _store(cs, fit.influence, _spec_cluster(cs), s_weights=s_w)
    inferred = infer(inf, store)
    return MatchingEffectResult(
        table=_table(fit.att, "ATT"),
        spec=spec,
        options=MappingProxyType(
            {
                "estimator": "aipw",
                "design": "AIPW (logit score, linear outcome model)",
                "se": "influence function",
                "reference": "aipw",
            }
        ),
        alpha=alpha,
        nobs=cs.n,
        n_units=cs.n,
        inference=inf,
        inferred=inferred,
        scores=store,
        notes=inferred.notes,
        provenance=make_provenance(cs.fingerprint),
    )
