"""Public balance check: :func:`balance` (MatchIt's ``summary()``, cobalt's ``bal.tab``)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd

from tne_eval._validation import check_choice, check_dataframe, format_examples
from tne_eval.errors import DataError, SpecError, TneEvalTypeError
from tne_eval.matching._balance import balance_table, kish_ess, pair_distance
from tne_eval.matching._frame import check_spec, prepare_cross_section
from tne_eval.matching.results import (
    BALANCE_COLUMNS,
    BalanceResult,
    MatchResult,
    PropensityResult,
    WeightingResult,
)
from tne_eval.matching.spec import CrossSectionSpec
from tne_eval.notes import Note, NoteKind

__all__ = ["balance"]

Adjustment = MatchResult | WeightingResult | PropensityResult | pd.Series | str | None


def balance(
    data: pd.DataFrame,
    spec: CrossSectionSpec,
    *,
    weights: Adjustment = None,
    estimand: Literal["ATT", "ATC", "ATE"] | None = None,
    binary: Literal["std", "raw"] = "std",
    threshold: float = 0.1,
    var_ratio_threshold: float = 2.0,
) -> BalanceResult:
    """Covariate balance before and after matching or weighting.

    Parameters
    ----------
    data : pandas.DataFrame
        The data matched or weighted (not modified).
    spec : CrossSectionSpec
        ``treatment`` and ``covariates`` (text and categorical covariates get
        one row per level, as in MatchIt's ``summary()``); ``weights`` are
        sampling weights.
    weights : MatchResult, WeightingResult, PropensityResult, Series, str or None
        The adjustment: a result of :func:`match` or :func:`weightit` (their
        weights; a propensity score they used adds MatchIt's ``distance`` row),
        a :func:`propensity_score` (``distance`` row, no adjustment), a Series of
        weights indexed like ``data``, or the name of a weights column.
        ``None``: unadjusted balance only.
    estimand : {"ATT", "ATC", "ATE"}, optional
        SD of the standardised differences (treated SD for the ATT, as MatchIt
        and cobalt); default the adjustment's estimand, else ``"ATT"``.
    binary : {"std", "raw"}, default "std"
        ``"std"`` standardises binary covariates too (MatchIt's ``summary``);
        ``"raw"`` reports their raw difference in proportions (cobalt's
        ``bal.tab`` default).
    threshold : float, default 0.1
        Absolute standardised difference above which a covariate is flagged
        (cobalt's ``thresholds = c(m = .1)``).
    var_ratio_threshold : float, default 2.0
        Variance ratios outside ``[1/v, v]`` are flagged (cobalt's ``v``).

    Returns
    -------
    BalanceResult
        ``unadjusted`` and ``adjusted`` tables (``mean_treated``,
        ``mean_control``, ``smd``, ``var_ratio``, ``ecdf_mean``, ``ecdf_max``,
        and ``pair_dist`` after pair matching), ``to_frame()`` (tidy),
        ``imbalanced``, ``sample_sizes``, ``plot()`` (love plot).

    Raises
    ------
    SpecError
        Weights not aligned with ``data``; a result fitted on another treatment.
    DataError
        Negative or missing weights; treatment not 0/1; missing covariates.

    Notes
    -----
    The statistics follow MatchIt 4.7.2's ``summary.matchit()`` (standardised
    differences on the unweighted full-sample SD, weighted variance ratios,
    eCDF statistics at the distinct values of all units); on LaLonde they
    reproduce every printed number of MatchIt's balance tables for nearest
    neighbour, exact and CEM matching, and cobalt's ``bal.tab`` with
    ``binary="raw"`` (``tests/matching/test_api.py``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tne_eval.matching import CrossSectionSpec, balance, match
    >>> rng = np.random.default_rng(3)
    >>> x = rng.normal(size=400)
    >>> df = pd.DataFrame({"x": x, "d": (rng.random(400) < 1 / (1 + np.exp(-x))).astype(int)})
    >>> spec = CrossSectionSpec(outcome=None, treatment="d", covariates=("x",))
    >>> bal = balance(df, spec, weights=match(df, spec, replace=True))
    >>> bool(abs(bal.adjusted.loc["x", "smd"]) < abs(bal.unadjusted.loc["x", "smd"]))
    True
    """
    check_dataframe(data)
    check_spec(spec)
    check_choice(binary, "binary", ("std", "raw"))
    if estimand is not None:
        check_choice(estimand, "estimand", ("ATT", "ATC", "ATE"))
    for value, name in (
        (threshold, "threshold"),
        (var_ratio_threshold, "var_ratio_threshold"),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not value > 0
        ):
            raise SpecError(f"{name}={value!r} must be a positive number.")
    if var_ratio_threshold < 1:
        raise SpecError(
            f"var_ratio_threshold={var_ratio_threshold!r} must be >= 1 (ratios "
            "outside [1/v, v] are flagged)."
        )
    cs = prepare_cross_section(data, spec)
    d = cs.treated
    x, names = cs.design(drop_first=False)
    s_w = cs.sampling_weights()
    if isinstance(weights, (MatchResult, WeightingResult)) and (
        weights.sampling_weights is None
    ) != (s_w is None):
        raise SpecError(
            f"The {type(weights).__name__} was built "
            + ("without" if weights.sampling_weights is None else "with")
            + f" sampling weights, but spec.weights={spec.weights!r}: pass the spec "
            "used to match or weight (MatchIt's summary() uses the s.weights of "
            "the match)."
        )
    w, score, est, pairs = _adjustment(weights, cs, data)
    estimand = estimand or est
    if score is not None:
        x = np.column_stack([score, x])
        names = ["distance", *names]
    before = balance_table(
        x, d, None, s_weights=s_w, estimand=estimand, binary=binary, columns=names
    )
    unadjusted = _table(before, names)
    adjusted = None
    notes: list[Note] = []
    if w is not None:
        after = balance_table(
            x, d, w, s_weights=s_w, estimand=estimand, binary=binary, columns=names
        )
        adjusted = _table(after, names)
        if pairs is not None:
            adjusted["pair_dist"] = pair_distance(
                x, d, sd=after.sd_denominator, **pairs
            )
    eff = np.ones(cs.n) if s_w is None else s_w
    eff = eff if w is None else eff * w
    sizes = pd.DataFrame(
        {
            label: {
                "All": int(g.sum()),
                "Adjusted": int((eff[g] > 0).sum()),
                "Adjusted (ESS)": round(kish_ess(eff[g]), 2),
            }
            for label, g in (("control", ~d), ("treated", d))
        }
    )
    if binary == "std":
        notes.append(
            Note(
                "Binary covariates are standardised like the others (MatchIt's "
                "summary); binary='raw' gives raw differences in proportions "
                "(cobalt's bal.tab).",
                NoteKind.ESTIMATION,
            )
        )
    return BalanceResult(
        unadjusted=unadjusted,
        adjusted=adjusted,
        thresholds=MappingProxyType(
            {"smd": float(threshold), "var_ratio": float(var_ratio_threshold)}
        ),
        estimand=estimand,
        sample_sizes=sizes,
        spec=spec,
        options=MappingProxyType({"binary": binary, "estimand": estimand}),
        notes=tuple(notes),
    )


def _table(bt, names: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(
        {c: getattr(bt, c) for c in BALANCE_COLUMNS},
        index=pd.Index(names, name="covariate"),
    )
    out.insert(0, "type", np.where(bt.binary, "binary", "continuous"))
    return out


def _aligned(values: pd.Series, index: pd.Index, what: str) -> np.ndarray:
    if not values.index.equals(index):
        if values.index.sort_values().equals(index.sort_values()):
            values = values.reindex(index)
        else:
            raise SpecError(
                f"The {what} are not indexed like data ({len(values)} vs {len(index)} "
                "rows, or other labels): pass the data that was matched or weighted."
            )
    return values.to_numpy(dtype=float)


def _adjustment(weights: Adjustment, cs, data: pd.DataFrame):
    """Weights, distance, estimand and matched pairs of the adjustment."""
    if weights is None:
        return None, None, "ATT", None
    if isinstance(weights, (MatchResult, WeightingResult, PropensityResult)):
        if weights.spec.treatment != cs.spec.treatment:
            raise SpecError(
                f"The {type(weights).__name__} was fitted with treatment "
                f"{weights.spec.treatment!r}, the spec names {cs.spec.treatment!r}."
            )
        treated = _aligned(weights.treated, cs.index, "result's rows") > 0
        if not np.array_equal(treated, cs.treated):
            raise SpecError(
                f"The {type(weights).__name__} was fitted on other data: its "
                "treatment differs from data's. Pass the data that was matched."
            )
    if isinstance(weights, PropensityResult):
        return None, _aligned(weights.score, cs.index, "scores"), "ATT", None
    if isinstance(weights, MatchResult):
        w = _aligned(weights.weights, cs.index, "matching weights")
        score = (
            None
            if weights.distance is None
            else _aligned(weights.distance, cs.index, "distance")
        )
        pairs = None
        if weights.match_matrix is not None:
            if weights.options.get("replace"):
                pairs = {
                    "match_matrix": weights.match_matrix,
                    "treated_rows": np.flatnonzero(cs.treated),
                }
            else:
                sub = weights.subclass.to_numpy(dtype=float, na_value=-1)
                pairs = {"subclass": sub.astype(np.int64)}
        elif weights.method in ("exact", "cem", "full"):
            sub = weights.subclass.to_numpy(dtype=float, na_value=-1)
            pairs = {"subclass": sub.astype(np.int64)}
        return w, score, "ATT", pairs
    if isinstance(weights, WeightingResult):
        w = _aligned(weights.weights, cs.index, "weights")
        score = (
            None
            if weights.score is None
            else _aligned(weights.score, cs.index, "scores")
        )
        return w, score, weights.estimand, None
    if isinstance(weights, str):
        if weights not in data.columns:
            raise SpecError(
                f"weights={weights!r} is not a column of data (available: "
                f"{format_examples(list(data.columns), 12)})."
            )
        weights = data[weights]
    if isinstance(weights, pd.Series):
        w = _aligned(weights, cs.index, "weights")
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            raise DataError(
                f"weights have {int(bad.sum())} missing, infinite or negative values "
                "(weights must be finite and non-negative)."
            )
        return w, None, "ATT", None
    raise TneEvalTypeError(
        "weights must be a MatchResult, WeightingResult, PropensityResult, a Series "
        f"of weights, a column name or None (got {type(weights).__name__})."
    )
