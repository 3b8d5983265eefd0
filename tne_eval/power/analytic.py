r"""Analytic standard error, power and minimum detectable effect of a clustered DiD.

The estimators are those of :func:`tne_eval.att_gt` (never-treated comparison
departments, base period :math:`g-1` for post-treatment cells, :math:`t-1`
before) aggregated as :func:`tne_eval.aggregate` does, and a pooled 2x2 DiD that
averages all pre and all post periods; the derivation is in the Notes of
:func:`power_analytic`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from tne_eval._validation import check_alpha, check_choice
from tne_eval.errors import (
    ConfigError,
    IdentificationError,
    InferenceError,
    SpecError,
    TneEvalTypeError,
)
from tne_eval.power.design import COMPARISON, PowerDesign, VarianceComponents
from tne_eval.results.summary import Summary, SummaryDisplay

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "ESTIMANDS",
    "AnalyticPower",
    "estimand_weights",
    "mde",
    "power_analytic",
    "power_curve",
]

Estimand = Literal["simple", "event", "group", "gt", "pooled"]
#: Estimands of :func:`power_analytic`.
ESTIMANDS: tuple[str, ...] = ("simple", "event", "group", "gt", "pooled")
DfRule = Literal["satterthwaite", "clusters", "pooled", "normal"]
_DF_RULES: tuple[str, ...] = ("satterthwaite", "clusters", "pooled", "normal")


# ----------------------------------------------------------------------------
# Weights of the estimator on the group-mean series
# ----------------------------------------------------------------------------


def _cell(design: PowerDesign, g: int, t: int) -> tuple[int, int, int]:
    """(cohort, period, base period) of ATT(g,t), checked."""
    base = g - 1 if t >= g else t - 1
    if t not in design.periods or base not in design.periods:
        raise IdentificationError(
            f"ATT({g},{t}) is not identified in periods {design.periods[0]}..."
            f"{design.periods[-1]}: it needs periods {base} and {t}."
        )
    return g, t, base


def _check_cohort(design: PowerDesign, cohort: object) -> int:
    if cohort is None:
        raise SpecError(f"this estimand needs cohort= (one of {list(design.cohorts)}).")
    if isinstance(cohort, bool) or not isinstance(cohort, (int, np.integer)):
        raise TneEvalTypeError(f"cohort must be an integer (got {cohort!r}).")
    if int(cohort) not in design.cohorts:
        raise SpecError(
            f"cohort={cohort} is not a cohort of the design; choose one of "
            f"{list(design.cohorts)}."
        )
    return int(cohort)


def estimand_weights(
    design: PowerDesign,
    estimand: Estimand = "simple",
    *,
    event_time: int | None = None,
    cohort: int | None = None,
    period: int | None = None,
) -> dict[int, np.ndarray]:
    r"""Coefficients of the estimator on each group's mean outcome by period.

    The estimators are linear in the group-by-period means
    :math:`\bar Y_{k t}` (mean over the schools of group :math:`k`, a cohort or
    ``0`` for the never-treated): :math:`\hat\theta = \sum_k \sum_t A_{kt}
    \bar Y_{kt}`. Every row :math:`A_k` sums to zero (a DiD).

    Parameters
    ----------
    design : PowerDesign
    estimand : {"simple", "event", "group", "gt", "pooled"}, default "simple"
        ``simple``: post-treatment ATT(g,t) weighted by cohort size (schools),
        as ``aggregate(..., "simple")``. ``event``: the effect at
        ``event_time`` :math:`e`, cohorts observed at :math:`g+e` weighted by
        size (``aggregate(..., "dynamic")``; :math:`e<0` are the pre-period
        placebo cells of the varying base period). ``group``: mean of
        ATT(``cohort``, t) over its post periods. ``gt``: ATT(``cohort``,
        ``period``). ``pooled``: each cohort's mean over all its post periods
        minus its mean over all its pre periods, minus the same contrast of the
        never-treated, cohorts weighted by size times post periods (the
        classic pre/post DiD; for one cohort, static TWFE on a balanced panel).
    event_time, cohort, period : int, optional
        What the estimand needs.

    Returns
    -------
    dict of int to ndarray
        Group (cohorts, then ``0``) -> coefficients on ``design.periods``.

    Raises
    ------
    SpecError
        Unknown estimand or a missing/unknown ``cohort``.
    IdentificationError
        A requested cell whose periods are outside the design.
    """
    estimand = check_choice(estimand, "estimand", ESTIMANDS)
    periods = design.periods
    pos = {t: i for i, t in enumerate(periods)}
    out = {k: np.zeros(len(periods)) for k in design.groups}

    def add_cells(cells: list[tuple[int, int, int]], weights: np.ndarray) -> None:
        for (g, t, b), w in zip(cells, weights):
            out[g][pos[t]] += w
            out[g][pos[b]] -= w
            out[COMPARISON][pos[t]] -= w
            out[COMPARISON][pos[b]] += w

    if estimand == "simple":
        cells = [_cell(design, g, t) for g in design.cohorts for t in periods if t >= g]
        if not cells:
            raise IdentificationError("No post-treatment period in the design.")
        w = np.array([design.cohort_size(g) for g, _, _ in cells])
        add_cells(cells, w / w.sum())
    elif estimand == "event":
        if event_time is None:
            raise SpecError("estimand='event' needs event_time= (e.g. 0).")
        if isinstance(event_time, bool) or not isinstance(
            event_time, (int, np.integer)
        ):
            raise TneEvalTypeError(f"event_time must be an integer ({event_time!r}).")
        e = int(event_time)
        cells = []
        for g in design.cohorts:
            t = g + e
            if t in periods and (g - 1 if t >= g else t - 1) in periods:
                cells.append(_cell(design, g, t))
        if not cells:
            raise IdentificationError(
                f"No cohort is observed at event time {e} in periods {periods[0]}..."
                f"{periods[-1]}."
            )
        w = np.array([design.cohort_size(g) for g, _, _ in cells])
        add_cells(cells, w / w.sum())
    elif estimand == "group":
        g = _check_cohort(design, cohort)
        cells = [_cell(design, g, t) for t in periods if t >= g]
        if not cells:
            raise IdentificationError(f"Cohort {g} has no post-treatment period.")
        add_cells(cells, np.full(len(cells), 1.0 / len(cells)))
    elif estimand == "gt":
        g = _check_cohort(design, cohort)
        if isinstance(period, bool) or not isinstance(period, (int, np.integer)):
            raise SpecError(f"estimand='gt' needs an integer period= (got {period!r}).")
        add_cells([_cell(design, g, int(period))], np.ones(1))
    else:  # pooled
        post = {g: [t for t in periods if t >= g] for g in design.cohorts}
        if not any(post.values()):
            raise IdentificationError("No post-treatment period in the design.")
        size = {g: design.cohort_size(g) * len(post[g]) for g in design.cohorts}
        total = sum(size.values())
        for g, post_g in post.items():
            if not post_g:
                continue
            pre_g = [t for t in periods if t < g]
            contrast = np.zeros(len(periods))
            contrast[[pos[t] for t in post_g]] = 1.0 / len(post_g)
            contrast[[pos[t] for t in pre_g]] = -1.0 / len(pre_g)
            out[g] += size[g] / total * contrast
            out[COMPARISON] -= size[g] / total * contrast
    return out


def estimand_label(
    estimand: str,
    *,
    event_time: int | None = None,
    cohort: int | None = None,
    period: int | None = None,
) -> str:
    """Short label of an estimand (``"ATT"``, ``"e=0"``, ``"ATT(2020,2021)"``)."""
    return {
        "simple": "ATT",
        "event": f"e={event_time}",
        "group": f"ATT({cohort})",
        "gt": f"ATT({cohort},{period})",
        "pooled": "pooled 2x2",
    }[estimand]


# ----------------------------------------------------------------------------
# Variance, degrees of freedom, power
# ----------------------------------------------------------------------------


def _group_covariance(
    design: PowerDesign, vc: VarianceComponents, group: int
) -> np.ndarray:
    """Covariance over periods of one department's mean of school means."""
    j = design.schools(group)
    n = design.pupils(group)
    permanent = vc.department + vc.school / j
    transitory = vc.department_year + vc.school_year / j + vc.pupil / (j * n)
    t = len(design.periods)
    return permanent * np.ones((t, t)) + transitory * np.eye(t)


def group_variances(
    design: PowerDesign, vc: VarianceComponents, weights: Mapping[int, np.ndarray]
) -> pd.Series:
    r"""Each group's term :math:`A_k' \Sigma_k A_k / G_k` of the variance."""
    return pd.Series(
        {
            k: float(a @ _group_covariance(design, vc, k) @ a)
            / design.n_departments_of(k)
            for k, a in weights.items()
        },
        name="variance",
    ).rename_axis("cohort")


def _dof(
    rule: object, design: PowerDesign, variances: pd.Series
) -> tuple[float | None, str]:
    used = variances[variances > 0]
    if rule is None or (isinstance(rule, str) and rule == "normal"):
        return None, "normal"
    if isinstance(rule, str):
        rule = check_choice(rule, "df", _DF_RULES)
        if rule == "clusters":
            return float(design.n_departments - 1), "clusters: G - 1"
        sizes = np.array([design.n_departments_of(int(k)) for k in used.index])
        if rule == "pooled":
            return float(np.sum(sizes - 1)), "pooled: sum of (G_k - 1)"
        if np.any((sizes == 1) & (used.to_numpy() > 0)):
            lone = [int(k) for k, s in zip(used.index, sizes) if s == 1]
            raise InferenceError(
                f"df='satterthwaite' is undefined: group(s) {lone} have a single "
                "department, whose variance cannot be estimated from the data. Use "
                "df='clusters' (optimistic), a number, or randomization inference."
            )
        v = used.to_numpy()
        df = float(v.sum() ** 2 / np.sum(v**2 / (sizes - 1)))
        return df, "Welch-Satterthwaite over cohorts"
    if isinstance(rule, bool) or not isinstance(rule, (int, float, np.number)):
        raise TneEvalTypeError(
            f"df must be one of {list(_DF_RULES)}, None or a positive number "
            f"(got {rule!r})."
        )
    if not rule > 0:
        raise SpecError(f"df must be positive (got {rule}).")
    return float(rule), "given"


def _critical(q: float, df: float | None) -> float:
    return float(stats.norm.ppf(q) if df is None else stats.t.ppf(q, df))


def power_curve(
    effects: object, std_error: float, *, alpha: float = 0.05, df: float | None = None
) -> np.ndarray:
    r"""Two-sided power of a t (or z) test of :math:`\theta = 0` against ``effects``.

    :math:`P(|T| > c)` with :math:`T` noncentral t with ``df`` degrees of
    freedom and noncentrality :math:`\delta/\mathrm{SE}` (normal when ``df`` is
    None), :math:`c = t_{1-\alpha/2,\,df}`; both tails count.
    """
    alpha = check_alpha(alpha)
    d = np.atleast_1d(np.asarray(effects, dtype=float)) / std_error
    c = _critical(1 - alpha / 2, df)
    if df is None:
        return stats.norm.sf(c - d) + stats.norm.cdf(-c - d)
    return _nct_sf(c, df, d) + _nct_sf(c, df, -d)


def _nct_sf(c: float, df: float, d: np.ndarray) -> np.ndarray:
    """:math:`P(T > c)` for noncentral t; scipy's rare NaN far in a tail.

    scipy's ``nct`` returns NaN for a few arguments where the tail is far below
    double precision (e.g. ``nct.cdf(-12.7, 1.0, 30.057)``); the complement is
    tried first, then the value is 0 (the tails concerned are below 1e-15).
    """
    out = np.asarray(stats.nct.sf(c, df, d), dtype=float)
    bad = np.isnan(out)
    if bad.any():
        alt = 1.0 - np.asarray(stats.nct.cdf(c, df, d[bad]), dtype=float)
        out[bad] = np.where(np.isnan(alt), 0.0, alt)
    return out


def _check_power(power: object) -> float:
    if isinstance(power, bool) or not isinstance(power, (int, float, np.number)):
        raise TneEvalTypeError(f"power must be a number in (0, 1) (got {power!r}).")
    power = float(power)
    if not 0 < power < 1:
        raise SpecError(f"power must lie strictly between 0 and 1 (got {power}).")
    return power


@dataclass(frozen=True, eq=False)
class AnalyticPower(SummaryDisplay):
    r"""Result of :func:`power_analytic`.

    Attributes
    ----------
    estimand : str
        Label (``"ATT"``, ``"e=0"``, ``"ATT(2020)"``, ``"ATT(2020,2021)"``,
        ``"pooled 2x2"``).
    std_error : float
        Exact standard error of the estimator under the random-effects model.
    df : float or None
        Degrees of freedom of the t reference distribution (``None``: normal).
    df_rule : str
        How ``df`` was chosen.
    alpha : float
        Two-sided size.
    power : float
        Target power of :attr:`mde`.
    mde : float
        Minimum detectable effect, Bloom's
        :math:`(t_{1-\alpha/2} + t_{\text{power}})\,\mathrm{SE}`.
    mde_exact : float
        The effect at which :meth:`power_at` equals ``power`` exactly.
    group_variance : pandas.Series
        Each group's share of the variance (:func:`group_variances`).
    weights : dict of int to ndarray
        Coefficients of the estimator on the group-by-period means.
    design : PowerDesign
    components : VarianceComponents
    effects : ndarray
        Effects of :meth:`to_frame`.
    """

    estimand: str
    std_error: float
    df: float | None
    df_rule: str
    alpha: float
    power: float
    mde: float
    mde_exact: float
    group_variance: pd.Series
    weights: Mapping[int, np.ndarray]
    design: PowerDesign
    components: VarianceComponents
    effects: np.ndarray

    def power_at(self, effects: object) -> np.ndarray:
        """Power against ``effects`` (same units as the outcome)."""
        return power_curve(effects, self.std_error, alpha=self.alpha, df=self.df)

    def to_frame(self) -> pd.DataFrame:
        """Power by effect: index ``effect``, columns ``power``, ``effect_over_se``."""
        return pd.DataFrame(
            {
                "power": self.power_at(self.effects),
                "effect_over_se": self.effects / self.std_error,
            },
            index=pd.Index(self.effects, name="effect"),
        )

    def summary(self, digits: int = 4) -> Summary:
        """Summary: SE, df, MDE, then the power table and the variance by group."""
        header = {
            "Estimand": self.estimand,
            "Standard error": f"{self.std_error:.{digits}g}",
            "Reference distribution": "normal"
            if self.df is None
            else f"t({self.df:.3g}), {self.df_rule}",
            "Size (two-sided)": f"{self.alpha:g}",
            f"MDE at power {self.power:g}": f"{self.mde:.{digits}g}",
            "MDE (exact noncentral t)": f"{self.mde_exact:.{digits}g}",
            "Departments": ", ".join(
                f"{'never' if k == COMPARISON else k}: "
                f"{self.design.n_departments_of(k)}"
                for k in self.design.groups
            ),
        }
        share = self.group_variance / self.group_variance.sum()
        notes = (
            "Variance share by group: "
            + ", ".join(
                f"{'never' if k == COMPARISON else k} {v:.0%}" for k, v in share.items()
            )
            + ".",
            "Exact variance under the random-effects model (Notes of "
            "tne_eval.power_analytic); MDE of Bloom (1995).",
        )
        table = self.to_frame()
        table.index = pd.Index([f"{e:.{digits}g}" for e in table.index], name="effect")
        return Summary("Analytic power", header, table, notes, digits)

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Power against effect, MDE marked (:func:`tne_eval.plotting.plot_power`)."""
        from tne_eval.plotting.power import plot_power

        return plot_power(analytic=self, ax=ax, **kwargs)


def power_analytic(
    design: PowerDesign,
    components: VarianceComponents,
    *,
    estimand: Estimand = "simple",
    event_time: int | None = None,
    cohort: int | None = None,
    period: int | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    df: DfRule | float | None = "satterthwaite",
    effects: Sequence[float] | np.ndarray | None = None,
) -> AnalyticPower:
    r"""Compute the standard error, MDE and power of a clustered staggered DiD.

    Parameters
    ----------
    design : PowerDesign
        Cohorts, never-treated departments, periods, schools and pupils.
    components : VarianceComponents
        Variances of the random effects (e.g. :func:`variance_components` or
        :meth:`VarianceComponents.from_world`).
    estimand : {"simple", "event", "group", "gt", "pooled"}, default "simple"
        See :func:`estimand_weights`; ``event_time``, ``cohort`` and
        ``period`` select the event time or cell.
    alpha : float, default 0.05
        Two-sided size of the test of no effect.
    power : float, default 0.8
        Target power :math:`1 - \kappa` of the MDE.
    df : {"satterthwaite", "clusters", "pooled", "normal"}, number or None
        Degrees of freedom of the t reference distribution.
        ``"satterthwaite"`` (default): the Welch-Satterthwaite degrees of
        freedom of a variance estimated group by group,
        :math:`(\sum_k V_k)^2 / \sum_k V_k^2/(G_k-1)`; with 2 treated
        departments carrying most of the variance it is close to 1.
        ``"clusters"``: :math:`G-1` over all departments, what ``Cluster()``
        uses (optimistic when few departments are treated). ``"pooled"``:
        :math:`\sum_k (G_k-1)`, the pooled two-sample t test. ``"normal"`` or
        None: the normal distribution.
    effects : sequence of float, optional
        Effects of the power table; defaults to 0 to twice the MDE.

    Returns
    -------
    AnalyticPower
        ``std_error``, ``df``, ``mde``, ``mde_exact``, ``power_at()``;
        ``to_frame()`` has columns ``power`` and ``effect_over_se`` indexed by
        ``effect``.

    Raises
    ------
    SpecError, TneEvalTypeError
        Bad ``estimand``, ``alpha``, ``power`` or ``df``.
    IdentificationError
        The estimand's cells fall outside the design's periods.
    InferenceError
        ``df="satterthwaite"`` with a one-department group in the estimand.

    Notes
    -----
    **Model.** Pupil :math:`i` of school :math:`s` in department :math:`d`,
    period :math:`t`:
    :math:`Y_{idst} = \mu_t + \tau D_{dt} + u_d + \omega_{dt} + v_s + \eta_{st}
    + \varepsilon_{ist}`, with independent components of variances
    :math:`\sigma_u^2, \sigma_\omega^2, \sigma_v^2, \sigma_\eta^2,
    \sigma_\varepsilon^2` (:class:`VarianceComponents`), year terms independent
    over years. Departments of group :math:`k` (a cohort, or the never treated)
    number :math:`G_k`, have :math:`J_k` schools, each with :math:`n_k` pupils
    tested per period (the harmonic mean when sizes vary); the panel of schools
    is balanced.

    **Estimator.** Schools are weighted equally (as :func:`tne_eval.att_gt` on
    a school panel), so the group-by-period mean is
    :math:`\bar Y_{kt} = G_k^{-1}\sum_{d\in k}\bar Y_{dt}` with
    :math:`\bar Y_{dt} = u_d + \omega_{dt} + J_k^{-1}\sum_s(v_s + \eta_{st} +
    \bar\varepsilon_{st}) + \dots`. ATT(g,t) is
    :math:`(\bar Y_{gt} - \bar Y_{gb}) - (\bar Y_{0t} - \bar Y_{0b})` with base
    :math:`b = g-1` (post) or :math:`t-1` (pre), and every aggregate is linear:
    :math:`\hat\theta = \sum_k A_k'\bar Y_k` (:func:`estimand_weights`), with
    :math:`A_k'\mathbf 1 = 0`.

    **Variance.** Departments are independent, and within one department of
    group :math:`k` the covariance over periods of :math:`\bar Y_{dt}` is

    .. math::

        \Sigma_k = \Big(\sigma_u^2 + \frac{\sigma_v^2}{J_k}\Big)\mathbf 1\mathbf 1'
        + \Big(\sigma_\omega^2 + \frac{\sigma_\eta^2}{J_k}
        + \frac{\sigma_\varepsilon^2}{J_k n_k}\Big) I,

    so that

    .. math::

        \operatorname{Var}(\hat\theta) = \sum_k \frac{A_k'\Sigma_k A_k}{G_k}
        = \sum_k \frac{\|A_k\|^2}{G_k}\Big(\sigma_\omega^2
        + \frac{\sigma_\eta^2}{J_k} + \frac{\sigma_\varepsilon^2}{J_k n_k}\Big).

    The permanent components drop out (:math:`A_k'\mathbf 1 = 0`): the design
    effect of a DiD rests on the year-to-year components only, which is why the
    usual school ICC overstates the loss from clustering and the department x
    year ICC, however small, is what limits precision with few departments
    (Burlig, Preonas & Woerman 2020 make the same point, with serially
    correlated shocks, for panel DiD). For one cohort, one pre and one post
    period and ATT(g,g), :math:`\|A_k\|^2 = 2`:
    :math:`\operatorname{Var} = 2(1/G_1 + 1/G_0)(\sigma_\omega^2 +
    \sigma_\eta^2/J + \sigma_\varepsilon^2/(Jn))`; the pooled estimator with
    :math:`T_0` pre and :math:`T_1` post periods has :math:`\|A_k\|^2 =
    1/T_0 + 1/T_1`.

    **MDE and power.** Following Bloom (1995, 2005), the MDE of a two-sided
    test of size :math:`\alpha` with power :math:`1-\kappa` is
    :math:`(t_{1-\alpha/2,\nu} + t_{1-\kappa,\nu})\,\mathrm{SE}`. Power against
    :math:`\delta` is :math:`P(|T|>t_{1-\alpha/2,\nu})` with :math:`T` noncentral
    t with :math:`\nu` degrees of freedom and noncentrality
    :math:`\delta/\mathrm{SE}` (both tails, as statsmodels' ``TTestIndPower``);
    ``mde_exact`` solves that power equal to :math:`1-\kappa`. With
    :math:`\nu` from the Welch-Satterthwaite rule and two treated departments
    (TNE's 2020 cohort), :math:`\nu \approx 1` and :math:`t_{0.975,1} = 12.7`:
    the MDE is honest about what two clusters can show.

    Validated against statsmodels' ``TTestIndPower`` in the two-group limit
    (to 1e-8) and, with clustering, against the variance :math:`w'\Sigma w` of
    the school-level estimator built from the full covariance matrix of the
    school-period means (to 1e-10); ``tests/power/``.

    References
    ----------
    Bloom, H. S. (1995). Minimum detectable effects: A simple way to report the
    statistical power of experimental designs. *Evaluation Review*, 19(5),
    547-556. https://doi.org/10.1177/0193841X9501900504

    Bloom, H. S. (2005). Randomizing groups to evaluate place-based programs. In
    *Learning More from Social Experiments*, Russell Sage Foundation, 115-172.

    Burlig, F., Preonas, L., & Woerman, M. (2020). Panel data and experimental
    design. *Journal of Development Economics*, 144, 102458.
    https://doi.org/10.1016/j.jdeveco.2020.102458

    Examples
    --------
    >>> from tne_eval.power import PowerDesign, VarianceComponents, power_analytic
    >>> res = power_analytic(PowerDesign.tne(), VarianceComponents.from_world())
    >>> round(res.std_error, 2), round(res.df, 1)
    (0.91, 10.0)
    """
    alpha = check_alpha(alpha)
    power = _check_power(power)
    if not isinstance(design, PowerDesign):
        raise TneEvalTypeError(
            f"design must be a PowerDesign (got {type(design).__name__})."
        )
    if not isinstance(components, VarianceComponents):
        raise TneEvalTypeError(
            "components must be a VarianceComponents (got "
            f"{type(components).__name__}); see tne_eval.variance_components."
        )
    weights = estimand_weights(
        design, estimand, event_time=event_time, cohort=cohort, period=period
    )
    variances = group_variances(design, components, weights)
    total = float(variances.sum())
    if not total > 0:
        raise ConfigError(
            "The estimator has zero variance under these components: the "
            "year-to-year components (department_year, school_year, pupil) are "
            "all zero."
        )
    se = math.sqrt(total)
    dof, rule = _dof(df, design, variances)
    mde_bloom = (_critical(1 - alpha / 2, dof) + _critical(power, dof)) * se
    if power <= alpha:
        raise SpecError(
            f"power={power} must exceed alpha={alpha}: power at no effect is alpha."
        )

    def gap(delta: float) -> float:
        return float(power_curve(delta, se, alpha=alpha, df=dof)[0]) - power

    upper = mde_bloom
    while gap(upper) < 0:
        upper *= 2
    exact = float(optimize.brentq(gap, 0.0, upper, xtol=1e-14, rtol=1e-14))
    if effects is None:
        grid = np.linspace(0.0, 2 * mde_bloom, 21)
    else:
        grid = np.asarray(effects, dtype=float).ravel()
        if grid.size == 0 or not np.all(np.isfinite(grid)):
            raise SpecError("effects must be a non-empty sequence of finite numbers.")
    return AnalyticPower(
        estimand=estimand_label(
            estimand, event_time=event_time, cohort=cohort, period=period
        ),
        std_error=se,
        df=dof,
        df_rule=rule,
        alpha=alpha,
        power=power,
        mde=float(mde_bloom),
        mde_exact=exact,
        group_variance=variances,
        weights=weights,
        design=design,
        components=components,
        effects=grid,
    )


def mde(
    design: PowerDesign,
    components: VarianceComponents,
    *,
    estimand: Estimand = "simple",
    event_time: int | None = None,
    cohort: int | None = None,
    period: int | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    df: DfRule | float | None = "satterthwaite",
) -> float:
    """Minimum detectable effect (Bloom) of :func:`power_analytic`, in outcome units.

    Examples
    --------
    >>> from tne_eval.power import PowerDesign, VarianceComponents, mde
    >>> d, vc = PowerDesign.tne(), VarianceComponents.from_world()
    >>> round(mde(d, vc, estimand="group", cohort=2020), 1)
    27.0
    """
    return power_analytic(
        design,
        components,
        estimand=estimand,
        event_time=event_time,
        cohort=cohort,
        period=period,
        alpha=alpha,
        power=power,
        df=df,
    ).mde
