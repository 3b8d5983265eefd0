"""Public matching: :func:`match` (MatchIt's vocabulary) and :func:`matched_panel`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd

from tne_eval._validation import (
    check_choice,
    check_columns_exist,
    check_dataframe,
    check_positive_int,
    check_seed,
    format_examples,
)
from tne_eval._warnings import warn
from tne_eval.errors import (
    DataError,
    DroppedObservationsWarning,
    IdentificationError,
    SpecError,
    TneEvalTypeError,
)
from tne_eval.matching._exact import cem_codes, exact_match, subclass_weights
from tne_eval.matching._frame import check_spec, prepare_cross_section
from tne_eval.matching._full import degree_bounds, full_match
from tne_eval.matching._nearest import (
    Matches,
    caliper_width,
    mahalanobis_transform,
    matching_weights,
    nearest_mahalanobis,
    nearest_mahalanobis_caliper,
    nearest_scalar,
)
from tne_eval.matching._optimal import optimal_pair_match
from tne_eval.matching._subclass import subclassify
from tne_eval.matching.propensity import _fit_and_flag, _param_names
from tne_eval.matching.results import MatchResult, PropensityResult
from tne_eval.matching.spec import CrossSectionSpec
from tne_eval.notes import Note, NoteKind
from tne_eval.results.base import make_provenance

__all__ = ["match", "matched_panel"]

Method = Literal["nearest", "optimal", "full", "subclass", "exact", "cem"]
METHODS = ("nearest", "optimal", "full", "subclass", "exact", "cem")
Distance = Literal["glm", "probit", "mahalanobis"]
MOrder = Literal["largest", "smallest", "data", "random"]


def match(
    data: pd.DataFrame,
    spec: CrossSectionSpec,
    *,
    method: Method = "nearest",
    distance: Distance = "glm",
    estimand: Literal["ATT", "ATC", "ATE"] = "ATT",
    ratio: int = 1,
    replace: bool = False,
    caliper: float | Mapping[str, float] | None = None,
    std_caliper: bool | Mapping[str, bool] = True,
    exact: Sequence[str] = (),
    mahvars: Sequence[str] = (),
    m_order: MOrder | None = None,
    discard: Literal["none", "both", "control", "treated"] = "none",
    cutpoints: Mapping[str, object] | None = None,
    min_controls: float = 0.0,
    max_controls: float = math.inf,
    subclass: int | Sequence[float] = 6,
    min_n: int = 1,
    seed: int | np.random.Generator | None = None,
) -> MatchResult:
    """Match treated units to comparison units, as MatchIt's ``matchit()`` does.

    The default estimand is the ATT: every treated unit is kept (unless
    discarded or left without a match) and comparison units are selected and
    weighted; full matching, subclassification, exact and coarsened exact
    matching can also target the ATC or the ATE (``estimand``).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit (not modified).
    spec : CrossSectionSpec
        ``treatment`` and ``covariates`` (MatchIt's formula); ``spec.exact``
        columns are matched exactly, like ``exact`` below; ``spec.weights`` are
        sampling weights (MatchIt's ``s.weights``: they weight the score model
        and multiply the matching weights in balance checks and effects, see
        :attr:`MatchResult.analysis_weights`; they do not change who is matched).
    method : {"nearest", "optimal", "full", "subclass", "exact", "cem"}, default "nearest"
        MatchIt's ``method``: greedy nearest neighbour, optimal pair matching
        (``optmatch::pairmatch``; minimum total distance), optimal full matching
        (``optmatch::fullmatch``: every unit in a set of one treated and
        several controls or one control and several treated, minimum total
        within-set distance; a linear program solved exactly by HiGHS),
        subclassification on quantiles of the score, exact matching on the
        covariates, coarsened exact matching.
    distance : {"glm", "probit", "mahalanobis"}, default "glm"
        MatchIt's ``distance``: ``"glm"`` is the logit propensity score
        (``distance = "glm"``), ``"probit"`` the probit one (``distance = "glm",
        link = "probit"``), ``"mahalanobis"`` the Mahalanobis distance on the
        covariates (pooled within-group covariance). Ignored by ``"exact"`` and
        ``"cem"``; ``"subclass"`` needs a score.
    estimand : {"ATT", "ATC", "ATE"}, default "ATT"
        MatchIt's ``estimand`` (``"full"``, ``"subclass"``, ``"exact"``,
        ``"cem"``; pair matching targets the ATT): the weights of
        :func:`~tne_eval.matching._exact.subclass_weights`.
    ratio : int, default 1
        MatchIt's ``ratio``: controls per treated unit (k:1).
    replace : bool, default False
        MatchIt's ``replace`` (nearest only): controls may be reused.
    caliper : float or mapping, optional
        MatchIt's ``caliper``. A number is a caliper on the propensity score: a
        control is eligible when ``|e_t - e_c| <= caliper`` (times the score's SD
        when ``std_caliper``). A mapping sets calipers by name, as MatchIt's
        named vector ``caliper = c(.2, age = 5)``: key ``"distance"`` for the
        score, other keys name numeric columns of ``data`` (covariates or not),
        each requiring ``|x_t - x_c| <= width``. Treated units without an
        eligible control stay unmatched (counted in ``notes``). Nearest and full
        matching only.
    std_caliper : bool or mapping, default True
        MatchIt's ``std.caliper``: each caliper in standard deviations of its
        variable (the ``n - 1`` SD over all retained units, as MatchIt), or in
        its units when False. A mapping gives it per caliper key (missing keys:
        True).
    exact : sequence of str, default ()
        MatchIt's ``exact``: columns matched exactly (added to ``spec.exact``).
    mahvars : sequence of str, default ()
        MatchIt's ``mahvars``: Mahalanobis matching on these columns within the
        propensity-score ``caliper`` (needs ``distance="glm"``/``"probit"`` and a
        caliper; nearest and full matching).
    m_order : {"largest", "smallest", "data", "random"}, optional
        MatchIt's ``m.order``: order in which treated units pick their match
        (without replacement). Default ``"largest"`` score first for a
        propensity score, ``"data"`` for the Mahalanobis distance.
    discard : {"none", "both", "control", "treated"}, default "none"
        MatchIt's ``discard``: units outside the score's common support are
        dropped before matching (see :func:`propensity_score`).
    cutpoints : mapping, optional
        ``method="cem"`` only, MatchIt's ``cutpoints``: per covariate a number
        of equal-width bins, a rule (``"sturges"`` default, ``"fd"``,
        ``"scott"``, ``"q4"``...) or a sequence of cut-points. Text and
        categorical covariates are matched exactly.
    min_controls, max_controls : float, default 0 and inf
        ``method="full"`` only, MatchIt's ``min.controls`` / ``max.controls``:
        bounds on the number of controls per treated unit in every matched set
        (``min_controls=1/2`` allows at most two treated units per control).
    subclass : int or sequence of float, default 6
        ``method="subclass"`` only, MatchIt's ``subclass``: the number of
        subclasses, or quantile probabilities of the cut points.
    min_n : int, default 1
        ``method="subclass"`` only, MatchIt's ``min.n``: units of each group
        every subclass must hold (moved in from neighbouring subclasses).
    seed : int or numpy.random.Generator, optional
        For ``m_order="random"``.

    Returns
    -------
    MatchResult
        ``weights`` (MatchIt's, indexed like the data), ``analysis_weights``
        (times the sampling weights), ``matched`` (pairs), ``subclass``,
        ``discarded``, ``n_matched``, ``sample_sizes()``, ``summary()``; pass it
        to :func:`balance` and :func:`att`.

    Raises
    ------
    SpecError
        An option combination MatchIt refuses or we do not implement (e.g. a
        caliper with ``"optimal"``), an unknown option, a caliper on a text or
        categorical column.
    DataError
        Treatment not 0/1; missing covariates or caliper columns (named, with
        counts); negative sampling weights.
    IdentificationError
        No overlap, a caliper leaving no treated unit matched, no exact
        stratum holding both groups, full matching infeasible under
        ``min_controls``/``max_controls``, too few units for ``min_n``.

    Warns
    -----
    DroppedObservationsWarning
        When treated units are left unmatched (caliper, exact strata, too few
        controls); the counts are also in ``notes``.

    Notes
    -----
    Validated against the numbers MatchIt 4.7.2 prints for the LaLonde data
    (``tests/reference/matchit/PROVENANCE.json``): nearest neighbour on the
    logit score without replacement (185 pairs, every balance statistic to 4
    decimals) and with replacement (82 controls, ESS 46.31), exact and
    coarsened exact matching (sample sizes, ESS and balance exactly),
    subclassification (sizes by subclass and ESS exactly), Mahalanobis
    matching (means exact; ties among equidistant controls are broken
    differently, see the matching documentation page), optimal pair
    matching (sizes; the selection among equally cheap solutions may differ)
    and full matching (every unit matched; an exact optimum, which
    optmatch's rounded solver approaches only within its tolerance, so the
    balance statistics agree to about 0.02 SD; checked against a brute-force
    optimum on small problems).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tne_eval.matching import CrossSectionSpec, match
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=300)
    >>> df = pd.DataFrame({"x": x, "d": (rng.random(300) < 0.3).astype(int)})
    >>> m = match(df, CrossSectionSpec(outcome=None, treatment="d", covariates=("x",)))
    >>> int(m.n_matched["treated"]) == int(df["d"].sum())
    True
    >>> full = match(df, CrossSectionSpec(outcome=None, treatment="d", covariates=("x",)),
    ...              method="full")
    >>> int(full.n_matched.sum()) == len(df)
    True
    """
    check_dataframe(data)
    check_spec(spec)
    check_choice(method, "method", METHODS)
    check_choice(distance, "distance", ("glm", "probit", "mahalanobis"))
    check_choice(discard, "discard", ("none", "both", "control", "treated"))
    check_choice(estimand, "estimand", ("ATT", "ATC", "ATE"))
    ratio = check_positive_int(ratio, "ratio")
    check_seed(seed)
    if not isinstance(replace, bool):
        raise TneEvalTypeError(f"replace must be True or False (got {replace!r}).")
    exact_cols = _columns_arg(exact, "exact")
    mahvars = _columns_arg(mahvars, "mahvars")
    dist_cal, dist_std, cov_cals = _parse_caliper(caliper, std_caliper)
    _check_combination(
        method, distance, replace, dist_cal, cov_cals, mahvars, m_order, cutpoints
    )
    _check_method_options(
        method, distance, estimand, ratio, min_controls, max_controls, subclass, min_n
    )
    strata_cols = tuple(dict.fromkeys((*spec.exact, *exact_cols)))
    if method == "subclass" and strata_cols:
        raise SpecError(
            f"method='subclass' does not take exact strata (got {strata_cols}); "
            "subclassify within each stratum separately, or use method='full' "
            "with exact=..."
        )
    missing = [c for c in cov_cals if c not in data.columns]
    if missing:
        raise SpecError(
            f"caliper names {missing}, which are not columns of data; calipers "
            "apply to 'distance' (the score) or to numeric columns such as "
            f"{format_examples(list(spec.covariates), 5)}."
        )
    cs = prepare_cross_section(data, spec, extra=(*strata_cols, *mahvars, *cov_cals))
    treated = cs.treated
    n = cs.n
    rng = np.random.default_rng(seed)
    notes: list[Note] = []
    s_w = cs.sampling_weights()
    uses_score = (
        method in ("nearest", "optimal", "full") and distance != "mahalanobis"
    ) or method == "subclass"
    uses_score = uses_score or discard != "none"
    propensity = None
    score = None
    discarded = np.zeros(n, dtype=bool)
    if uses_score:
        link = "probit" if distance == "probit" else "logit"
        fit, discarded, support, ps_notes = _fit_and_flag(cs, link, discard, None)
        notes.extend(ps_notes)
        score = fit.score
        propensity = PropensityResult(
            score=pd.Series(fit.score, index=cs.index, name="score"),
            linear_predictor=pd.Series(
                fit.linear_predictor, index=cs.index, name="linear_predictor"
            ),
            treated=pd.Series(treated, index=cs.index, name="treated"),
            discarded=pd.Series(discarded, index=cs.index, name="discarded"),
            params=pd.Series(fit.params, index=_param_names(cs), name="params"),
            link=link,
            support=support,
            spec=spec,
            options=MappingProxyType({"link": link, "discard": discard, "trim": None}),
            notes=tuple(ps_notes),
        )
    if s_w is not None:
        notes.append(
            Note(
                f"Sampling weights spec.weights={spec.weights!r} weight the score "
                "model and multiply the matching weights in balance and effects "
                "(MatchIt's s.weights); they do not change who is matched.",
                NoteKind.ESTIMATION,
            )
        )
    strata = cs.codes(strata_cols)[0] if strata_cols else None
    if strata is not None:
        _check_strata(strata, treated, discarded, strata_cols, notes)
    cal_width = None
    if dist_cal is not None:
        if score is None:
            raise SpecError(
                "A caliper on the distance needs a propensity score: use "
                "distance='glm' or 'probit' (with mahvars=... for Mahalanobis "
                "matching within the caliper), or name covariates in caliper={...}."
            )
        cal_width = (
            caliper_width(score, float(dist_cal), discarded=discarded)
            if dist_std
            else float(dist_cal)
        )
    cov_caliper, cov_widths = _covariate_caliper(cs, cov_cals, discarded)
    mm = None
    pair_dist = None
    set_coords = None
    order = None
    cuts = None
    if method in ("exact", "cem"):
        sub = _subclasses(cs, method, strata, discarded, cutpoints)
        weights = subclass_weights(treated, sub, estimand)
    elif method == "subclass":
        sub, cuts = subclassify(
            treated,
            score,
            subclass=subclass if np.ndim(subclass) == 0 else list(subclass),
            estimand=estimand,
            min_n=min_n,
            discarded=discarded,
        )
        weights = subclass_weights(treated, sub, estimand)
        set_coords = score[:, None]
        among = {"ATT": "treated", "ATC": "controls", "ATE": "units"}[estimand]
        notes.append(
            Note(
                f"Subclassification: {int(sub.max()) + 1} subclasses on quantiles of "
                f"the score among the {among} (min_n={min_n}).",
                NoteKind.ESTIMATION,
            )
        )
    elif method == "full":
        coords = _coordinates(cs, distance, score, mahvars, discarded)
        allowed = _allowed_pairs(score, cal_width, cov_caliper)
        try:
            fm = full_match(
                treated,
                coords,
                min_controls=float(min_controls),
                max_controls=float(max_controls),
                allowed=allowed,
                exact=strata,
                discarded=discarded,
            )
        except IdentificationError as err:
            if cal_width is not None or cov_caliper is not None:
                raise IdentificationError(
                    f"{err} The caliper {caliper!r} may be too narrow."
                ) from err
            raise
        sub = fm.subclass
        weights = subclass_weights(treated, sub, estimand)
        set_coords = coords
        notes.append(
            Note(
                f"Full matching: {int(sub.max()) + 1} matched sets, total within-set "
                f"distance {fm.cost:.6g} (exact optimum of the linear program, "
                "HiGHS dual simplex).",
                NoteKind.ESTIMATION,
            )
        )
    else:
        order = m_order or ("data" if distance == "mahalanobis" else "largest")
        try:
            matches, coords = _pair_match(
                cs,
                method=method,
                distance=distance,
                score=score,
                ratio=ratio,
                replace=replace,
                cal=cal_width,
                strata=strata,
                discarded=discarded,
                m_order=order,
                mahvars=mahvars,
                rng=rng,
                cov_caliper=cov_caliper,
            )
        except IdentificationError as err:
            if cal_width is not None or cov_caliper is not None:
                width = (
                    "" if cal_width is None else f" ({cal_width:.4g} in score units)"
                )
                raise IdentificationError(
                    f"caliper={caliper!r}{width} leaves no treated unit with a "
                    "control within reach: nothing was matched. Widen the caliper "
                    "(MatchIt's default is none; 0.2 SD of the logit score is a "
                    "common choice) or drop exact strata."
                ) from err
            raise
        weights, sub = matching_weights(treated, matches)
        mm = matches.match_matrix
        pair_dist = _pair_distances(mm, matches.treated, coords)
        if sub is None:
            sub = np.full(n, -1)
    n_unmatched_t = int((treated & (weights == 0) & ~discarded).sum())
    if n_unmatched_t:
        why = {
            "nearest": "no control within the caliper or exact strata, or too few controls",
            "optimal": "too few controls in their exact stratum",
            "full": "no control allowed by the caliper or in their exact stratum",
            "subclass": "in a subclass without controls",
            "exact": "no control with the same covariate values",
            "cem": "no control in the same coarsened stratum",
        }[method]
        text = (
            f"{n_unmatched_t} of {int(treated.sum())} treated units were left "
            f"unmatched ({why}); the estimand is the {estimand} of the matched "
            "units only."
        )
        notes.append(Note(text, NoteKind.DATA))
        warn(text, DroppedObservationsWarning)
    if estimand != "ATT" or method == "full":
        n_unmatched_c = int((~treated & (weights == 0) & ~discarded).sum())
        if n_unmatched_c:
            notes.append(
                Note(
                    f"{n_unmatched_c} of {int((~treated).sum())} control units were "
                    f"left unmatched; the {estimand} is that of the matched units.",
                    NoteKind.DATA,
                )
            )
    sub_series = pd.Series(
        pd.array(np.where(sub >= 0, sub, -1), dtype="Int64"),
        index=cs.index,
        name="subclass",
    ).where(sub >= 0)
    pair_method = method in ("nearest", "optimal")
    options = {
        "method": method,
        "distance": "none" if method in ("exact", "cem") else distance,
        "estimand": estimand,
        "ratio": ratio if pair_method else None,
        "replace": replace,
        "caliper": dict(caliper) if isinstance(caliper, Mapping) else caliper,
        "std_caliper": dict(std_caliper)
        if isinstance(std_caliper, Mapping)
        else std_caliper,
        "caliper_width": cal_width,
        "covariate_caliper_widths": cov_widths,
        "exact": strata_cols,
        "mahvars": mahvars,
        "m_order": None if not pair_method else (m_order or order),
        "discard": discard,
        "cutpoints": dict(cutpoints) if cutpoints else None,
        "min_controls": min_controls if method == "full" else None,
        "max_controls": max_controls if method == "full" else None,
        "subclass": subclass if method == "subclass" else None,
        "min_n": min_n if method == "subclass" else None,
        "subclass_cuts": None if cuts is None else tuple(float(c) for c in cuts),
        "seed": seed if isinstance(seed, (int, np.integer)) else None,
    }
    return MatchResult(
        weights=pd.Series(weights, index=cs.index, name="weights"),
        subclass=sub_series,
        discarded=pd.Series(discarded, index=cs.index, name="discarded"),
        treated=pd.Series(treated, index=cs.index, name="treated"),
        ids=cs.ids,
        distance=None
        if score is None
        else pd.Series(score, index=cs.index, name="distance"),
        method=method,
        propensity=propensity,
        spec=spec,
        options=MappingProxyType(options),
        match_matrix=mm,
        pair_distance=pair_dist,
        notes=tuple(notes),
        provenance=make_provenance(cs.fingerprint, seed),
        estimand=estimand,
        sampling_weights=None
        if s_w is None
        else pd.Series(s_w, index=cs.index, name="s_weights"),
        coordinates=set_coords,
    )


def _parse_caliper(caliper, std_caliper):
    """Split MatchIt's ``caliper``/``std.caliper`` into the score's and covariates'."""

    def _check_value(key, value):
        if not (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            and value > 0
        ):
            where = "caliper" if key is None else f"caliper[{key!r}]"
            raise SpecError(
                f"{where}={value!r} must be a positive number (in standard "
                "deviations of its variable when std_caliper is True), or None."
            )
        return float(value)

    if isinstance(std_caliper, Mapping):
        for key, value in std_caliper.items():
            if not isinstance(value, bool):
                raise TneEvalTypeError(
                    f"std_caliper[{key!r}] must be True or False (got {value!r})."
                )
        std_map = dict(std_caliper)
        default_std = True
    elif isinstance(std_caliper, bool):
        std_map, default_std = {}, std_caliper
    else:
        raise TneEvalTypeError(
            f"std_caliper must be True/False or a mapping of caliper names to "
            f"True/False (got {std_caliper!r})."
        )
    if caliper is None:
        if std_map:
            raise SpecError("std_caliper names calipers, but caliper is None.")
        return None, default_std, {}
    if isinstance(caliper, Mapping):
        cals = {str(k): _check_value(k, v) for k, v in caliper.items()}
        if not cals:
            raise SpecError("caliper is an empty mapping; give None for no caliper.")
    else:
        cals = {"distance": _check_value(None, caliper)}
    unknown = [k for k in std_map if k not in cals]
    if unknown:
        raise SpecError(
            f"std_caliper names {unknown}, which have no caliper (calipers: "
            f"{list(cals)})."
        )
    dist_cal = cals.pop("distance", None)
    dist_std = std_map.get("distance", default_std)
    cov = {k: (v, std_map.get(k, default_std)) for k, v in cals.items()}
    return dist_cal, dist_std, cov


def _covariate_caliper(cs, cov_cals, discarded):
    """Return ``((x, widths), {name: width})`` of the covariate calipers, or ``(None, None)``."""
    if not cov_cals:
        return None, None
    from tne_eval.matching._frame import _is_factor

    cols, widths, out = [], [], {}
    for name, (value, std) in cov_cals.items():
        raw = cs.raw[name]
        if _is_factor(raw):
            raise SpecError(
                f"caliper names {name!r}, a text or categorical column (dtype "
                f"{raw.dtype}): calipers need numeric columns, as in MatchIt. Match "
                "exactly on it instead (exact=...)."
            )
        x = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(x)
        if bad.any():
            raise DataError(
                f"The caliper column {name!r} has {int(bad.sum())} missing or "
                f"non-finite values of {x.shape[0]} (e.g. at index "
                f"{format_examples(cs.index[bad])}); drop or impute them first."
            )
        width = value * float(np.std(x[~discarded], ddof=1)) if std else value
        cols.append(x)
        widths.append(width)
        out[name] = width
    return (np.column_stack(cols), np.asarray(widths)), out


def _allowed_pairs(score, cal_width, cov_caliper):
    """Pairs permitted by the calipers, for full matching (None: all)."""
    if cal_width is None and cov_caliper is None:
        return None

    def allowed(t_rows, c_rows):
        ok = np.ones((t_rows.shape[0], c_rows.shape[0]), dtype=bool)
        if cal_width is not None:
            ok &= np.abs(score[t_rows][:, None] - score[c_rows][None, :]) <= cal_width
        if cov_caliper is not None:
            x, width = cov_caliper
            for j in range(x.shape[1]):
                ok &= np.abs(x[t_rows, j][:, None] - x[c_rows, j][None, :]) <= width[j]
        return ok

    return allowed


def _coordinates(cs, distance, score, mahvars, discarded) -> np.ndarray:
    """Return the matching coordinates: the score, or Mahalanobis coordinates."""
    if distance == "mahalanobis" or mahvars:
        if mahvars:
            sub = type(cs)(
                spec=cs.spec,
                index=cs.index,
                ids=cs.ids,
                treated=cs.treated,
                covariate_names=tuple(mahvars),
                factors={},
                raw=cs.raw,
            )
            x, names = _design_all_levels(sub)
        else:
            x, names = cs.design(drop_first=False)
        return mahalanobis_transform(x, cs.treated, discarded=discarded, columns=names)
    return score[:, None]


def _check_method_options(
    method, distance, estimand, ratio, min_controls, max_controls, subclass, min_n
):
    if estimand != "ATT" and method in ("nearest", "optimal"):
        raise SpecError(
            f"estimand={estimand!r} is not available with method={method!r}, which "
            "matches controls to treated units (the ATT). Use method='full', "
            "'subclass', 'exact' or 'cem' for the ATC or ATE."
        )
    if ratio != 1 and method not in ("nearest", "optimal"):
        raise SpecError(
            f"ratio applies to pair matching (method='nearest' or 'optimal'), not "
            f"{method!r}; full matching bounds set sizes with min_controls/"
            "max_controls."
        )
    if method != "full" and (min_controls != 0.0 or not math.isinf(max_controls)):
        raise SpecError(
            "min_controls/max_controls apply to method='full' only (MatchIt's "
            "min.controls/max.controls)."
        )
    if method == "full":
        degree_bounds(min_controls, max_controls)  # raises with the fix
    if method != "subclass" and (
        not (np.ndim(subclass) == 0 and subclass == 6) or min_n != 1
    ):
        raise SpecError("subclass and min_n apply to method='subclass' only.")
    if method == "subclass" and distance == "mahalanobis":
        raise SpecError(
            "method='subclass' subclassifies on a propensity score: use "
            "distance='glm' or 'probit', not 'mahalanobis'."
        )


def _columns_arg(value: object, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TneEvalTypeError(
            f"{name} must be a sequence of column names, not the single string "
            f"{value!r}; write {name}=({value!r},)."
        )
    return tuple(value)  # type: ignore[arg-type]


def _check_combination(
    method, distance, replace, caliper, cov_cals, mahvars, m_order, cutpoints
):
    if method != "nearest" and replace:
        raise SpecError(
            f"replace=True is only available with method='nearest' (got "
            f"method={method!r}); optimal, full, subclass, exact and CEM matching "
            "do not reuse controls."
        )
    if method not in ("nearest", "full") and (caliper is not None or cov_cals):
        raise SpecError(
            f"caliper is only implemented for method='nearest' and 'full' (got "
            f"method={method!r}); use one of them with a caliper, or exact strata."
        )
    if mahvars and (
        distance == "mahalanobis"
        or method not in ("nearest", "full")
        or (caliper is None and method == "nearest")
    ):
        raise SpecError(
            "mahvars (Mahalanobis matching within a propensity-score caliper) needs "
            "method='nearest' (with a caliper) or 'full', and distance='glm' or "
            "'probit'."
        )
    if distance == "mahalanobis" and caliper is not None:
        raise SpecError(
            "A caliper with distance='mahalanobis' is not supported: the caliper is "
            "on the propensity score. Use distance='glm', caliper=..., and "
            "mahvars=(...) for Mahalanobis matching within a score caliper."
        )
    if distance == "mahalanobis" and cov_cals and method == "nearest" and not mahvars:
        raise SpecError(
            "Covariate calipers with nearest-neighbour Mahalanobis matching are not "
            "implemented: use distance='glm' with mahvars=(...) and a score caliper, "
            "or method='full' with distance='mahalanobis'."
        )
    if m_order is not None:
        allowed = (
            ("data", "random")
            if distance == "mahalanobis" and not mahvars
            else ("largest", "smallest", "data", "random")
        )
        check_choice(m_order, "m_order", allowed)
        if method != "nearest":
            raise SpecError(
                f"m_order applies to method='nearest' only (got {method!r})."
            )
    if cutpoints is not None and method != "cem":
        raise SpecError("cutpoints applies to method='cem' only.")


def _check_strata(strata, treated, discarded, cols, notes: list[Note]) -> None:
    """Refuse exact strata that hold no pair at all; note those without controls."""
    _, code = np.unique(strata, axis=0, return_inverse=True)
    code = code.reshape(-1)
    keep = ~discarded
    has_t = np.bincount(code[treated & keep], minlength=code.max() + 1) > 0
    has_c = np.bincount(code[~treated & keep], minlength=code.max() + 1) > 0
    no_ctrl = has_t & ~has_c
    if not (has_t & has_c).any():
        raise IdentificationError(
            f"No stratum of exact={cols!r} holds both treated and control units: "
            "nothing can be matched. Match exactly on fewer or coarser columns."
        )
    if no_ctrl.any():
        n_t = int(np.isin(code, np.flatnonzero(no_ctrl))[treated & keep].sum())
        notes.append(
            Note(
                f"{int(no_ctrl.sum())} strata of exact={cols!r} have treated units "
                f"but no control ({n_t} treated units): they cannot be matched.",
                NoteKind.DATA,
            )
        )


def _subclasses(cs, method, strata, discarded, cutpoints) -> np.ndarray:
    x, cats = cs.codes(cs.covariate_names)
    if method == "exact":
        if strata is not None:
            x = np.column_stack([x, strata])
        return exact_match(cs.treated, x, discarded=discarded)
    cuts_map = dict(cutpoints or {})
    unknown = [k for k in cuts_map if k not in cs.covariate_names]
    if unknown:
        raise SpecError(
            f"cutpoints names {unknown}, which are not covariates of the spec "
            f"({list(cs.covariate_names)})."
        )
    cuts = [cuts_map.get(name) for name in cs.covariate_names]
    codes = cem_codes(
        x, cutpoints=cuts, categorical=cats, columns=list(cs.covariate_names)
    )
    if strata is not None:
        codes = np.column_stack([codes, strata])
    return exact_match(cs.treated, codes, discarded=discarded)


def _pair_match(
    cs,
    *,
    method,
    distance,
    score,
    ratio,
    replace,
    cal,
    strata,
    discarded,
    m_order,
    mahvars,
    rng,
    cov_caliper=None,
) -> tuple[Matches, np.ndarray]:
    treated = cs.treated
    z = None
    if distance == "mahalanobis" or mahvars:
        z = _coordinates(cs, distance, score, mahvars, discarded)
    if method == "optimal":
        coords = z if distance == "mahalanobis" else score[:, None]
        return (
            optimal_pair_match(
                treated, coords, ratio=ratio, exact=strata, discarded=discarded
            ),
            coords,
        )
    if mahvars:
        return (
            nearest_mahalanobis_caliper(
                treated,
                z,
                score,
                cal,
                ratio=ratio,
                replace=replace,
                exact=strata,
                discarded=discarded,
                m_order=m_order,
                rng=rng,
                covariate_caliper=cov_caliper,
            ),
            z,
        )
    if distance == "mahalanobis":
        return (
            nearest_mahalanobis(
                treated,
                z,
                ratio=ratio,
                replace=replace,
                exact=strata,
                discarded=discarded,
                m_order=m_order,
                rng=rng,
            ),
            z,
        )
    return (
        nearest_scalar(
            treated,
            score,
            ratio=ratio,
            replace=replace,
            caliper=cal,
            exact=strata,
            discarded=discarded,
            m_order=m_order,
            rng=rng,
            covariate_caliper=cov_caliper,
        ),
        score[:, None],
    )


def _design_all_levels(cs) -> tuple[np.ndarray, list[str]]:
    """Design of ``mahvars``: factors as one indicator per level."""
    from tne_eval.matching._frame import _is_factor, _levels

    factors = {
        name: _levels(cs.raw[name])
        for name in cs.covariate_names
        if _is_factor(cs.raw[name])
    }
    bad = [
        name
        for name in cs.covariate_names
        if name not in factors
        and not np.isfinite(cs.raw[name].to_numpy(dtype=float, na_value=np.nan)).all()
    ]
    if bad:
        raise DataError(
            f"mahvars {bad} have missing or non-finite values; drop or impute them."
        )
    full = type(cs)(
        spec=cs.spec,
        index=cs.index,
        ids=cs.ids,
        treated=cs.treated,
        covariate_names=cs.covariate_names,
        factors=factors,
        raw=cs.raw,
    )
    return full.design(drop_first=False)


def _pair_distances(mm: np.ndarray, treated_rows: np.ndarray, coords: np.ndarray):
    has = mm >= 0
    safe = np.where(has, mm, 0)
    diff = coords[safe] - coords[treated_rows][:, None, :]
    dist = np.sqrt((diff**2).sum(axis=2))
    return np.where(has, dist, np.nan)


def matched_panel(
    panel: pd.DataFrame,
    match_result: MatchResult,
    *,
    unit: str,
    weights_column: str = "match_weight",
) -> pd.DataFrame:
    """Keep the matched units of a panel and add their matching weights.

    The weights are constant within unit, so the returned panel can be given to
    ``tne_eval.att_gt``, ``did_2x2`` or ``twfe`` with
    ``spec.weights=weights_column``: the comparison units then stand for the
    matched treated units' counterfactual trends.

    Parameters
    ----------
    panel : pandas.DataFrame
        Long panel (not modified).
    match_result : MatchResult
        From :func:`match` on one row per unit, with ``spec.unit`` set to the
        column whose values identify the units in ``panel``.
    unit : str
        Unit column of ``panel``.
    weights_column : str, default "match_weight"
        Name of the new column; must not exist in ``panel``.

    Returns
    -------
    pandas.DataFrame
        A new frame: the rows of matched units (positive weight), in the panel's
        order, with ``weights_column``.

    Raises
    ------
    SpecError
        ``weights_column`` already exists, or the match result has no unit ids.
    DataError
        Matched units missing from the panel (their weights would no longer
        balance the groups).

    Examples
    --------
    >>> import pandas as pd
    >>> from tne_eval.matching import CrossSectionSpec, match, matched_panel
    >>> cross = pd.DataFrame({"school": list("abcdef"), "d": [1, 1, 0, 0, 0, 0],
    ...                       "x": [0.1, 0.5, 0.12, 0.9, 0.52, 3.0]})
    >>> m = match(cross, CrossSectionSpec(outcome=None, treatment="d",
    ...           covariates=("x",), unit="school"), distance="mahalanobis")
    >>> panel = pd.DataFrame({"school": list("abcdef") * 2, "year": [1] * 6 + [2] * 6})
    >>> sorted(matched_panel(panel, m, unit="school")["school"].unique())
    ['a', 'b', 'c', 'e']
    """
    check_dataframe(panel, "panel")
    if not isinstance(match_result, MatchResult):
        raise TneEvalTypeError(
            f"match_result must be a MatchResult from match() (got "
            f"{type(match_result).__name__})."
        )
    if not isinstance(weights_column, str) or not weights_column:
        raise SpecError(
            f"weights_column must be a column name (got {weights_column!r})."
        )
    check_columns_exist(panel, (unit,), role="unit")
    if weights_column in panel.columns:
        raise SpecError(
            f"panel already has a column {weights_column!r}; choose another "
            "weights_column (it is never overwritten)."
        )
    if match_result.spec.unit is None:
        raise SpecError(
            "The match result identifies units by the index of its data (spec.unit "
            "is None); refit match() with spec.unit naming the unit column shared "
            "with the panel."
        )
    w = pd.Series(match_result.weights.to_numpy(), index=match_result.ids)
    w = w[w > 0]
    present = w.index.isin(pd.unique(panel[unit]))
    if not present.all():
        missing = w.index[~present]
        raise DataError(
            f"{missing.size} matched units are not in panel[{unit!r}] (e.g. "
            f"{format_examples(missing)}); the matching weights of the others would "
            "no longer balance the groups. Match on the units of this panel."
        )
    keep = panel[unit].isin(w.index).to_numpy()
    out = panel.loc[keep].copy()
    out[weights_column] = out[unit].map(w).to_numpy(dtype=float)
    return out
