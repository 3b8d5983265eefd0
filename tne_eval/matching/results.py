"""Results of matching, weighting, balance checks and effects after matching.

:class:`PropensityResult`, :class:`MatchResult`, :class:`WeightingResult` and
:class:`BalanceResult` describe a design (a score, matched sets, weights,
balance) and have no estimates, so they are plain frozen objects with a
``summary()``; :class:`MatchingEffectResult` holds an effect and follows the
result protocol (:class:`~tne_eval.results.EstimationResult`). Results never
import estimators.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from tne_eval.errors import InferenceError
from tne_eval.matching._balance import kish_ess
from tne_eval.notes import Note
from tne_eval.results.base import EstimationResult, Provenance
from tne_eval.results.summary import Summary, SummaryDisplay

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from tne_eval.matching.spec import CrossSectionSpec

__all__ = [
    "BalanceResult",
    "MatchResult",
    "MatchingEffectResult",
    "PropensityResult",
    "WeightingResult",
]


def _sample_sizes(
    treated: np.ndarray,
    weights: np.ndarray,
    discarded: np.ndarray,
    *,
    matched_label: str = "Matched",
) -> pd.DataFrame:
    """MatchIt's 'Sample Sizes' table: columns control, treated."""
    rows = {}
    for label, grp in (("control", ~treated), ("treated", treated)):
        w = weights[grp]
        rows[label] = {
            "All": int(grp.sum()),
            f"{matched_label} (ESS)": round(kish_ess(w), 2),
            matched_label: int((w > 0).sum()),
            "Unmatched": int(((w == 0) & ~discarded[grp]).sum()),
            "Discarded": int(discarded[grp].sum()),
        }
    return pd.DataFrame(rows)


def _sizes_summary(result: Any, title: str, header: dict, digits: int) -> Summary:
    """Summary of a design: its header, the sample sizes by group, its notes."""
    if result.provenance:
        header["tne_eval"] = result.provenance.version
    table = result.sample_sizes()
    table.index.name = "sample"
    return Summary(title, header, table, result.notes, digits)


@dataclass(frozen=True, eq=False)
class PropensityResult:
    """A fitted propensity score with its common-support and trimming masks.

    Attributes
    ----------
    score : pandas.Series
        Fitted probability of treatment, indexed like the data.
    linear_predictor : pandas.Series
        Logit (or probit) index, indexed like the data.
    treated : pandas.Series
        Boolean treatment, indexed like the data.
    discarded : pandas.Series
        True for units outside common support (``discard``) or trimmed
        (``trim``), indexed like the data.
    params : pandas.Series
        Coefficients, ``"(Intercept)"`` first.
    link : str
        ``"logit"`` or ``"probit"``.
    support : tuple of float
        Bounds of the retained scores (``-inf``/``inf`` when none applied).
    spec, options, notes, provenance
        As for every result.
    """

    score: pd.Series
    linear_predictor: pd.Series
    treated: pd.Series
    discarded: pd.Series
    params: pd.Series
    link: str
    support: tuple[float, float]
    spec: CrossSectionSpec
    options: Mapping[str, Any]
    notes: tuple[Note, ...] = ()
    provenance: Provenance | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per unit: ``treated``, ``score``, ``linear_predictor``, ``discarded``."""
        return pd.DataFrame(
            {
                "treated": self.treated,
                "score": self.score,
                "linear_predictor": self.linear_predictor,
                "discarded": self.discarded,
            }
        )

    def summary(self, digits: int = 4) -> Summary:
        """Coefficients of the score model, with support bounds and notes."""
        t = self.treated.to_numpy()
        s = self.score.to_numpy()
        header = {
            "Model": f"binomial GLM, {self.link} link (MatchIt distance='glm')",
            "Units": str(t.size),
            "Treated / control": f"{int(t.sum())} / {int((~t).sum())}",
            "Score range, treated": f"[{s[t].min():.4g}, {s[t].max():.4g}]",
            "Score range, control": f"[{s[~t].min():.4g}, {s[~t].max():.4g}]",
            "Discarded": str(int(self.discarded.sum())),
        }
        table = self.params.rename("estimate").to_frame()
        table.index.name = "term"
        return Summary("Propensity score", header, table, self.notes, digits)

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Score distributions by group (:func:`tne_eval.plotting.plot_propensity`)."""
        from tne_eval.plotting.balance import plot_propensity

        return plot_propensity(self, ax=ax, **kwargs)

    def __repr__(self) -> str:
        return (
            f"<PropensityResult: {self.link}, n={self.score.size}, "
            f"discarded={int(self.discarded.sum())}>"
        )


_MATCHED_COLUMNS = (
    "treated_id",
    "control_id",
    "distance",
    "subclass",
    "treated_weight",
    "control_weight",
)


@dataclass(frozen=True, eq=False)
class MatchResult(SummaryDisplay):
    """Matched sets and MatchIt's matching weights.

    Attributes
    ----------
    weights : pandas.Series
        MatchIt's weights, indexed like the data: 1 for matched treated units,
        the (normalised) sum of ``1 / k`` over the treated units each control is
        matched to, 0 for unmatched or discarded units. Add it as a column and
        name it in ``spec.weights`` to weight any estimator.
    subclass : pandas.Series
        Pair / matched-set (or stratum) id by unit (``<NA>`` when unmatched);
        all ``<NA>`` with replacement, where a control may belong to several sets.
    discarded : pandas.Series
        True for units dropped before matching (common support).
    treated : pandas.Series
        Boolean treatment, indexed like the data.
    ids : pandas.Index
        Unit ids (``spec.unit`` values, or the data's index), in data order.
    distance : pandas.Series or None
        Propensity score matched on (``None`` for Mahalanobis, exact, CEM).
    method : str
        ``"nearest"``, ``"optimal"``, ``"full"``, ``"subclass"``, ``"exact"`` or
        ``"cem"``.
    propensity : PropensityResult or None
        The fitted score, when one was used.
    spec, options, notes, provenance
        As for every result.
    estimand : str
        ``"ATT"`` (every method), ``"ATC"`` or ``"ATE"`` (full, subclass, exact,
        CEM): the target of the weights.
    sampling_weights : pandas.Series or None
        ``spec.weights`` (MatchIt's ``s.weights``): used in the score model,
        not in the matching; multiplied into ``weights`` by balance checks and
        effects (:attr:`analysis_weights`).
    coordinates : numpy.ndarray or None
        Shape ``(n, r)`` matching coordinates of the set methods (the score as
        one column, or the Mahalanobis coordinates), from which
        :attr:`matched` computes pair distances; ``None`` for the pair methods
        (whose distances are stored with the match matrix), exact and CEM.
    """

    weights: pd.Series
    subclass: pd.Series
    discarded: pd.Series
    treated: pd.Series
    ids: pd.Index
    distance: pd.Series | None
    method: str
    propensity: PropensityResult | None
    spec: CrossSectionSpec
    options: Mapping[str, Any]
    match_matrix: np.ndarray | None = None
    pair_distance: np.ndarray | None = None
    notes: tuple[Note, ...] = ()
    provenance: Provenance | None = None
    estimand: str = "ATT"
    sampling_weights: pd.Series | None = None
    coordinates: np.ndarray | None = None

    @property
    def analysis_weights(self) -> pd.Series:
        """Matching weights times the sampling weights (MatchIt's ``match_data()``).

        Equal to ``weights`` without sampling weights; this is what balance and
        effects use, and what to pass to an outcome model.
        """
        if self.sampling_weights is None:
            return self.weights
        return (self.weights * self.sampling_weights).rename("weights")

    @property
    def matched(self) -> pd.DataFrame:
        """One row per matched (treated, control) pair, within matched sets.

        Pair methods (nearest, optimal) list each treated unit's controls;
        set methods (full, subclass, exact, CEM) list every treated-control pair
        of each matched set or stratum. Columns:

        ``treated_id``, ``control_id``
            Unit ids.
        ``distance``
            Distance between the two units on the matching coordinates: the
            absolute score difference, or the Mahalanobis distance; NaN for
            exact and coarsened exact matching, which use no distance.
        ``subclass``
            The matched set (pair methods: the treated unit's set, numbered in
            treated data order as MatchIt's ``subclass``; set methods: the
            subclass, matched set or stratum id of :attr:`subclass`).
        ``treated_weight``, ``control_weight``
            The share of each unit's :attr:`weights` that the pair carries, so
            that summing ``treated_weight`` by treated unit and
            ``control_weight`` by control gives back :attr:`weights`. Pair
            methods: a treated unit's weight is split equally over its ``k``
            controls, a control's in proportion to ``1 / k`` of the treated
            units it serves (MatchIt's ``weights.matrix`` construction); set
            methods: a unit's weight is split equally over the units of the
            other group in its set.
        """
        ids = self.ids
        w = self.weights.to_numpy(dtype=float)
        if self.match_matrix is not None:
            t_rows = np.flatnonzero(self.treated.to_numpy())
            r, c = np.nonzero(self.match_matrix >= 0)
            ctrl = self.match_matrix[r, c]
            has = (self.match_matrix >= 0).any(axis=1)
            set_id = np.cumsum(has) - 1
            k = (self.match_matrix >= 0).sum(axis=1)[r].astype(float)
            share = 1.0 / k
            total = np.zeros(w.shape[0])
            np.add.at(total, ctrl, share)
            return pd.DataFrame(
                {
                    "treated_id": ids[t_rows[r]],
                    "control_id": ids[ctrl],
                    "distance": self.pair_distance[r, c]
                    if self.pair_distance is not None
                    else np.nan,
                    "subclass": set_id[r],
                    "treated_weight": w[t_rows[r]] / k,
                    "control_weight": w[ctrl] * share / total[ctrl],
                }
            )
        sub = self.subclass.to_numpy(dtype=float, na_value=np.nan)
        t = self.treated.to_numpy()
        rows_t = np.flatnonzero(t & np.isfinite(sub))
        rows_c = np.flatnonzero(~t & np.isfinite(sub))
        coords = self.coordinates
        frames = []
        for s in np.unique(sub[rows_t]):
            tt = rows_t[sub[rows_t] == s]
            cc = rows_c[sub[rows_c] == s]
            if cc.size == 0:
                continue
            ti = np.repeat(tt, cc.size)
            ci = np.tile(cc, tt.size)
            dist = (
                np.sqrt(((coords[ti] - coords[ci]) ** 2).sum(axis=1))
                if coords is not None
                else np.nan
            )
            frames.append(
                pd.DataFrame(
                    {
                        "treated_id": ids[ti],
                        "control_id": ids[ci],
                        "distance": dist,
                        "subclass": int(s),
                        "treated_weight": w[ti] / cc.size,
                        "control_weight": w[ci] / tt.size,
                    }
                )
            )
        if not frames:
            return pd.DataFrame(columns=list(_MATCHED_COLUMNS))
        return pd.concat(frames, ignore_index=True)

    @property
    def n_matched(self) -> pd.Series:
        """Matched units (positive weight) by group: ``control``, ``treated``."""
        w = self.weights.to_numpy()
        t = self.treated.to_numpy()
        return pd.Series(
            {"control": int(((w > 0) & ~t).sum()), "treated": int(((w > 0) & t).sum())},
            name="n_matched",
        )

    @property
    def ess(self) -> pd.Series:
        """Kish effective sample size of the analysis weights by group."""
        w = self.analysis_weights.to_numpy()
        t = self.treated.to_numpy()
        return pd.Series(
            {"control": kish_ess(w[~t]), "treated": kish_ess(w[t])}, name="ess"
        )

    def sample_sizes(self) -> pd.DataFrame:
        """MatchIt's 'Sample Sizes' table (All, Matched (ESS), Matched, Unmatched, Discarded)."""
        return _sample_sizes(
            self.treated.to_numpy(),
            self.analysis_weights.to_numpy(),
            self.discarded.to_numpy(),
        )

    def summary(self, digits: int = 2) -> Summary:
        """Sample sizes and the matching options (balance: :func:`~tne_eval.matching.balance`)."""
        opts = self.options
        header = {
            "Method": f"{self.method} (MatchIt method='{self.method}')",
            "Distance": str(opts.get("distance")),
            "Estimand": self.estimand,
            "Ratio": str(opts.get("ratio")),
            "Replacement": str(opts.get("replace")),
            "Caliper": (
                "none"
                if opts.get("caliper_width") is None
                else f"{opts['caliper_width']:.4g} in score units (caliper="
                f"{opts.get('caliper')}, std_caliper={opts.get('std_caliper')})"
            ),
            "Discard": str(opts.get("discard")),
        }
        if self.method == "full":
            header["Ratio"] = (
                f"controls per treated in [{opts.get('min_controls')}, "
                f"{opts.get('max_controls')}]"
            )
        elif self.method == "subclass":
            n_sub = int(self.subclass.max()) + 1 if self.subclass.notna().any() else 0
            header["Ratio"] = f"{n_sub} subclasses (min_n={opts.get('min_n')})"
        elif self.method in ("exact", "cem"):
            header["Ratio"] = "strata"
        cov_cal = opts.get("covariate_caliper_widths")
        if cov_cal:
            widths = ", ".join(f"{k} {v:.4g}" for k, v in cov_cal.items())
            header["Covariate calipers"] = widths
        if self.sampling_weights is not None:
            header["Sampling weights"] = str(self.spec.weights)
        return _sizes_summary(self, "Matching", header, digits)

    def __repr__(self) -> str:
        n = self.n_matched
        return (
            f"<MatchResult: {self.method}, {n['treated']} treated and "
            f"{n['control']} controls matched>"
        )


@dataclass(frozen=True, eq=False)
class WeightingResult(SummaryDisplay):
    """Balancing weights (WeightIt-style).

    Attributes
    ----------
    weights : pandas.Series
        Weights indexed like the data, normalised so that each group's weights
        sum to its size (the weighted means do not depend on it).
    treated : pandas.Series
        Boolean treatment, indexed like the data.
    score : pandas.Series or None
        Propensity score (``"ipw"`` and ``"cbps"``; ``None`` for ``"ebal"``).
    method : str
        ``"ipw"``, ``"ebal"`` or ``"cbps"``.
    estimand : str
        ``"ATT"`` or ``"ATE"``.
    spec, options, notes, provenance
        As for every result.
    sampling_weights : pandas.Series or None
        ``spec.weights`` (WeightIt's ``s.weights``), not included in
        ``weights``; balance checks and effects use their product
        (:attr:`analysis_weights`).
    """

    weights: pd.Series
    treated: pd.Series
    score: pd.Series | None
    method: str
    estimand: str
    spec: CrossSectionSpec
    options: Mapping[str, Any]
    notes: tuple[Note, ...] = ()
    provenance: Provenance | None = None
    sampling_weights: pd.Series | None = None

    @property
    def analysis_weights(self) -> pd.Series:
        """Balancing weights times the sampling weights (what effects use)."""
        if self.sampling_weights is None:
            return self.weights
        return (self.weights * self.sampling_weights).rename("weights")

    @property
    def discarded(self) -> pd.Series:
        """Units with weight 0 (none for these methods unless trimmed)."""
        return (self.weights == 0).rename("discarded")

    @property
    def ess(self) -> pd.Series:
        """Kish effective sample size of the analysis weights by group."""
        w = self.analysis_weights.to_numpy()
        t = self.treated.to_numpy()
        return pd.Series(
            {"control": kish_ess(w[~t]), "treated": kish_ess(w[t])}, name="ess"
        )

    def sample_sizes(self) -> pd.DataFrame:
        """Units and effective sample sizes by group."""
        t = self.treated.to_numpy()
        w = self.analysis_weights.to_numpy()
        return pd.DataFrame(
            {
                label: {"All": int(g.sum()), "Weighted (ESS)": round(kish_ess(w[g]), 2)}
                for label, g in (("control", ~t), ("treated", t))
            }
        )

    def summary(self, digits: int = 2) -> Summary:
        """Sample sizes, effective sizes and the options."""
        w = self.weights
        header = {
            "Method": f"{self.method} (WeightIt method="
            f"'{ {'ipw': 'glm', 'ebal': 'ebal', 'cbps': 'cbps'}[self.method] }')",
            "Estimand": self.estimand,
            "Largest weight, control": f"{w[~self.treated].max():.4g}",
        }
        return _sizes_summary(self, "Balancing weights", header, digits)

    def __repr__(self) -> str:
        e = self.ess
        return (
            f"<WeightingResult: {self.method}, {self.estimand}, ESS control="
            f"{e['control']:.1f}, treated={e['treated']:.1f}>"
        )


#: Columns of the per-sample balance statistics (MatchIt's summary columns).
BALANCE_COLUMNS = (
    "mean_treated",
    "mean_control",
    "smd",
    "var_ratio",
    "ecdf_mean",
    "ecdf_max",
)


@dataclass(frozen=True, eq=False)
class BalanceResult(SummaryDisplay):
    """Covariate balance before and after matching or weighting.

    Attributes
    ----------
    unadjusted : pandas.DataFrame
        Indexed by covariate (factors by level, ``distance`` first when a
        propensity score was used): ``type`` (``"binary"``/``"continuous"``),
        then :data:`BALANCE_COLUMNS`.
    adjusted : pandas.DataFrame or None
        Same columns after adjustment, plus ``pair_dist`` (MatchIt's
        ``Std. Pair Dist.``) after pair matching; ``None`` without weights.
    thresholds : mapping
        ``smd`` (absolute standardised difference) and ``var_ratio`` (ratio
        outside ``[1/v, v]``) flagged as imbalanced.
    estimand : str
        ``"ATT"``, ``"ATC"`` or ``"ATE"``: sets the SD of the standardised
        differences.
    sample_sizes : pandas.DataFrame
        Units and effective sample sizes by group (columns ``control``,
        ``treated``).
    notes : tuple of Note
    """

    unadjusted: pd.DataFrame
    adjusted: pd.DataFrame | None
    thresholds: Mapping[str, float]
    estimand: str
    sample_sizes: pd.DataFrame
    spec: CrossSectionSpec
    options: Mapping[str, Any]
    notes: tuple[Note, ...] = ()

    def _flag(self, table: pd.DataFrame) -> pd.DataFrame:
        out = table.copy()
        thr = self.thresholds["smd"]
        vr = self.thresholds["var_ratio"]
        out["smd_flag"] = out["smd"].abs() > thr
        ratio = out["var_ratio"]
        out["var_ratio_flag"] = ratio.notna() & ((ratio > vr) | (ratio < 1.0 / vr))
        return out

    def to_frame(self) -> pd.DataFrame:
        """Tidy balance table: one row per covariate and sample.

        Columns ``covariate``, ``sample`` (``"unadjusted"``/``"adjusted"``),
        ``type``, :data:`BALANCE_COLUMNS`, ``pair_dist`` (adjusted rows after
        pair matching, else NaN), ``smd_flag`` and ``var_ratio_flag`` (True where
        beyond :attr:`thresholds`).
        """
        parts = []
        for name, table in (
            ("unadjusted", self.unadjusted),
            ("adjusted", self.adjusted),
        ):
            if table is None:
                continue
            t = self._flag(table)
            t.insert(0, "sample", name)
            parts.append(t.reset_index(names="covariate"))
        out = pd.concat(parts, ignore_index=True)
        if "pair_dist" not in out:
            out["pair_dist"] = np.nan
        cols = [
            "covariate",
            "sample",
            "type",
            *BALANCE_COLUMNS,
            "pair_dist",
            "smd_flag",
            "var_ratio_flag",
        ]
        return out[cols]

    @property
    def imbalanced(self) -> list[str]:
        """Covariates beyond a threshold in the adjusted (else unadjusted) sample."""
        table = self._flag(
            self.adjusted if self.adjusted is not None else self.unadjusted
        )
        bad = table["smd_flag"] | table["var_ratio_flag"]
        return [str(c) for c in table.index[bad]]

    def summary(self, digits: int = 4) -> Summary:
        """Side-by-side standardised differences and variance ratios, with flags."""
        header = {
            "Estimand": self.estimand,
            "SMD threshold": f"{self.thresholds['smd']:g}",
            "Variance-ratio threshold": f"{self.thresholds['var_ratio']:g}",
            "Imbalanced after adjustment": ", ".join(self.imbalanced) or "none",
        }
        table = self.unadjusted[["smd", "var_ratio", "ecdf_max"]].add_suffix("_un")
        if self.adjusted is not None:
            table = table.join(
                self.adjusted[["smd", "var_ratio", "ecdf_max"]].add_suffix("_adj")
            )
        table.index.name = "covariate"
        return Summary("Covariate balance", header, table, self.notes, digits)

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Love plot (:func:`tne_eval.plotting.plot_love`)."""
        from tne_eval.plotting.balance import plot_love

        kwargs.setdefault("threshold", self.thresholds["smd"])
        return plot_love(self, ax=ax, **kwargs)

    def __repr__(self) -> str:
        return (
            f"<BalanceResult: {len(self.unadjusted)} covariates, imbalanced after "
            f"adjustment: {len(self.imbalanced)}>"
        )


_REFERENCES = {
    "abadie_imbens": "Abadie & Imbens (2006), Econometrica 74(1), "
    "doi:10.1111/j.1468-0262.2006.00655.x",
    "abadie_imbens_bc": "Abadie & Imbens (2011), JBES 29(1), "
    "doi:10.1198/jbes.2009.07333",
    "cluster": "Ho, Imai, King & Stuart (2007), Political Analysis 15(3), "
    "doi:10.1093/pan/mpl013 (MatchIt); weighted difference in means",
    "aipw": "augmented IPW, Robins, Rotnitzky & Zhao (1994), JASA 89(427), in its "
    "ATT form, with its influence function",
}


@dataclass(frozen=True, repr=False, eq=False)
class MatchingEffectResult(EstimationResult):
    """Average treatment effect on the treated (or ATE) after matching or weighting.

    One term, ``"ATT"`` (or ``"ATE"``); ``to_frame()`` has the key column
    ``estimand`` then the statistics. With ``se="abadie_imbens"`` the standard
    error is the Abadie-Imbens formula (no scores are stored, so
    :meth:`with_inference` is not available); with ``se="cluster"`` and for
    :func:`~tne_eval.matching.aipw` the influence functions are stored and any
    inference of the registry for them applies.
    """

    estimator: ClassVar[str] = "att"
    title: ClassVar[str] = "Treatment effect after matching or weighting"
    key_columns: ClassVar[tuple[str, ...]] = ("estimand",)

    def with_inference(self, inference: object) -> MatchingEffectResult:
        """Recompute the inference from the stored influence functions (no refit)."""
        if self.scores is None:
            raise InferenceError(
                "This effect's standard error is the Abadie-Imbens formula, which "
                "stores no influence functions; refit with att(..., se='cluster', "
                "inference=...) to use another inference."
            )
        return super().with_inference(inference)

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Plot the estimate with its confidence interval."""
        from tne_eval.plotting.estimates import plot_coefficients

        return plot_coefficients(self, ax=ax, **kwargs)

    def _header(self) -> dict[str, str]:
        header = super()._header()
        opts = self.options
        header["Estimator"] = str(opts.get("estimator", self.estimator))
        header["Design"] = str(opts.get("design"))
        header["Standard errors"] = str(opts.get("se"))
        header["Reference"] = _REFERENCES[str(opts.get("reference", "cluster"))]
        return header
