r"""Sensitivity of event-study conclusions to violations of parallel trends.

Rambachan and Roth (2023) bound how far the post-treatment violation of
parallel trends :math:`\delta_{post}` may depart from what the pre-trends
:math:`\delta_{pre}` (estimated by the pre-period coefficients) show, and give
confidence sets for :math:`\theta = l'\tau_{post}` that are valid whenever the
bound holds. :func:`honest_did` computes them for a grid of bounds, with the
original interval and the breakdown value of the conclusion
:math:`\theta \ne 0`. See ``docs/sensitivity.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from tne_eval._validation import check_alpha, check_choice, check_int, check_seed
from tne_eval.errors import SpecError, TneEvalTypeError
from tne_eval.notes import Note, NoteKind
from tne_eval.results.event_study import EventStudy
from tne_eval.results.summary import Summary, SummaryDisplay
from tne_eval.sensitivity._arp import accept_grid, rm_constraints, theta_basis
from tne_eval.sensitivity._flci import second_differences, solve_flci

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["SensitivityResult", "honest_did"]

Restriction = Literal["relative_magnitudes", "smoothness"]
RESTRICTIONS = ("relative_magnitudes", "smoothness")
METHODS = {"relative_magnitudes": ("C-LF", "Conditional"), "smoothness": ("FLCI",)}
_PARAM = {"relative_magnitudes": "Mbar", "smoothness": "M"}
REFERENCE = (
    "Rambachan, A. and Roth, J. (2023), 'A More Credible Approach to Parallel "
    "Trends', Review of Economic Studies 90(5), 2555-2591, "
    "doi:10.1093/restud/rdad018."
)


@dataclass(frozen=True, eq=False, repr=False)
class SensitivityResult(SummaryDisplay):
    r"""Robust confidence sets of :func:`honest_did`, one per bound.

    Attributes
    ----------
    table : pandas.DataFrame
        See :meth:`to_frame`.
    original : pandas.Series
        ``estimate``, ``std_error``, ``conf_low``, ``conf_high`` of
        :math:`l'\hat\beta_{post}` under parallel trends (normal interval, as
        HonestDiD's ``constructOriginalCS``).
    breakdown : float
        Largest bound at which the robust set still excludes 0 (see
        :func:`honest_did`); ``nan`` when it excludes 0 at no bound, ``inf``
        when at every bound of the grid and beyond the search range.
    restriction : str
        ``"relative_magnitudes"`` or ``"smoothness"``.
    method : str
        ``"C-LF"``, ``"Conditional"`` or ``"FLCI"``.
    parameter : str
        ``"Mbar"`` or ``"M"``.
    l_vec : numpy.ndarray
        Weights of the target on the post-period coefficients.
    target : str
        Description of the target (``"e=0"``, ``"average of e=0..4"``, ...).
    event_times : tuple of int
        Event times of the coefficients used, pre then post (reference left out).
    num_pre, num_post : int
    alpha : float
    options : dict
        Grid, hybrid size, simulations and seed used.
    notes : tuple of Note
    """

    table: pd.DataFrame
    original: pd.Series
    breakdown: float
    restriction: str
    method: str
    parameter: str
    l_vec: np.ndarray
    target: str
    event_times: tuple[int, ...]
    num_pre: int
    num_post: int
    alpha: float
    options: dict[str, Any] = field(default_factory=dict)
    notes: tuple[Note, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        r"""Robust confidence set by bound.

        Returns
        -------
        pandas.DataFrame
            Index ``Mbar`` or ``M`` (the bounds, in the order given); columns
            ``conf_low``, ``conf_high`` (bounds of the robust set; NaN when it is
            empty), ``excludes_zero`` (bool), ``id_low``, ``id_high`` (the
            identified set of the target were :math:`\beta` known:
            :math:`\delta_{pre} = \hat\beta_{pre}` and :math:`\delta \in \Delta`;
            NaN when :math:`\hat\beta_{pre}` is outside :math:`\Delta`),
            ``method`` and ``restriction``.
        """
        return self.table.copy()

    def summary(self, digits: int = 4) -> Summary:
        """Summary: the target, the original interval, the robust sets, the notes."""
        level = f"{1 - self.alpha:.0%}"
        o = self.original
        header = {
            "Restriction": f"{self.restriction} (Delta^{_delta(self.restriction)})",
            "Method": self.method,
            "Target": self.target,
            "Pre / post periods": f"{self.num_pre} / {self.num_post}",
            "Confidence level": level,
            "Original CI": f"[{o['conf_low']:.{digits}f}, {o['conf_high']:.{digits}f}]",
            "Breakdown value": _fmt_breakdown(self.breakdown, self.parameter, digits),
        }
        notes = (*self.notes, f"Reference: {REFERENCE}")
        return Summary(
            "Sensitivity to violations of parallel trends (HonestDiD)",
            header,
            self.table,
            notes,
            digits,
        )

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Original and robust intervals against the bound (``plot_sensitivity``)."""
        from tne_eval.plotting.sensitivity import plot_sensitivity

        return plot_sensitivity(self, ax=ax, **kwargs)

    def __repr__(self) -> str:
        return (
            f"<SensitivityResult: {self.restriction}, {len(self.table)} bound(s), "
            f"target {self.target}, breakdown {self.parameter}={self.breakdown:.4g}>"
        )


def _delta(restriction: str) -> str:
    return "RM(Mbar)" if restriction == "relative_magnitudes" else "SD(M)"


def _fmt_breakdown(value: float, parameter: str, digits: int) -> str:
    if np.isnan(value):
        return "none (the robust set contains 0 at every bound)"
    if np.isinf(value):
        return f"beyond the search range ({parameter})"
    return f"{parameter} = {value:.{digits}f}"


# -- inputs ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Inputs:
    betahat: np.ndarray
    sigma: np.ndarray
    num_pre: int
    num_post: int
    event_times: tuple[int, ...]
    notes: tuple[Note, ...]


def _from_event_study(es: EventStudy, binned: tuple[str, ...] = ()) -> _Inputs:
    frame = es.frame
    vcov = es.vcov.to_numpy(dtype=float)
    diag = np.diag(vcov)
    est = frame["estimate"].to_numpy(dtype=float)
    normalised = (diag == 0) & (est == 0)
    ref = frame["reference"].to_numpy(dtype=bool) | normalised
    times = frame["event_time"].to_numpy(dtype=np.int64)
    if not ref.any():
        raise SpecError(
            "the event study has no reference (normalised) event time, so its "
            "pre-period coefficients are not deviations from one base period. "
            "HonestDiD needs them to be: fit att_gt(..., base_period='universal') "
            "before aggregate(kind='dynamic'), or a TWFE event study with "
            "reference=-1."
        )
    if list(times[ref]) != [-1]:
        raise SpecError(
            f"the event study's reference event time(s) are {list(times[ref])}; "
            "honest_did expects a single reference at e=-1 (HonestDiD's "
            "convention). Refit with reference=-1 (TWFE) or "
            "base_period='universal' (att_gt)."
        )
    keep = ~ref
    kept = times[keep]
    if np.any(~np.isfinite(est[keep])) or np.any(~np.isfinite(diag[keep])):
        bad = frame.index[keep][~np.isfinite(est[keep]) | ~np.isfinite(diag[keep])]
        raise SpecError(
            f"terms {list(bad)} of the event study have no finite estimate or "
            "variance; restrict the event window (aggregate with min_e=/max_e=)."
        )
    full = np.arange(kept.min(), kept.max() + 1)
    if kept.min() > -2 or kept.max() < 0 or set(full) - set(kept) - {-1}:
        raise SpecError(
            f"honest_did needs consecutive event times with at least one "
            f"pre-period before e=-1 and e=0 after it; got {list(kept)}. Restrict "
            "or extend the window (min_e=/max_e=, leads=/lags=)."
        )
    notes: list[Note] = []
    if binned:
        notes.append(
            Note(
                f"Terms {list(binned)} pool the event times beyond the window (TWFE "
                "binned endpoints); each is used as the coefficient of its "
                "endpoint event time, which assumes a constant effect beyond it. "
                "Refit with bin_endpoints=False to avoid this.",
                NoteKind.ESTIMATION,
            )
        )
    return _Inputs(
        betahat=est[keep],
        sigma=vcov[np.ix_(keep, keep)],
        num_pre=int((kept < 0).sum()),
        num_post=int((kept >= 0).sum()),
        event_times=tuple(int(t) for t in kept),
        notes=tuple(notes),
    )


def _from_arrays(
    betahat: object, sigma: object, num_pre: object, num_post: object
) -> _Inputs:
    b = np.asarray(betahat, dtype=float).ravel()
    s = np.asarray(sigma, dtype=float)
    k = check_int(num_pre, "num_pre", minimum=1)
    t = check_int(num_post, "num_post", minimum=1)
    if b.size != k + t or s.shape != (k + t, k + t):
        raise SpecError(
            f"betahat has {b.size} entries and sigma shape {s.shape}; with "
            f"num_pre={k} and num_post={t} both must have {k + t} (pre-period "
            "coefficients, reference left out, then post-period ones)."
        )
    if not np.allclose(s, s.T, rtol=1e-8, atol=1e-14 * max(1.0, np.abs(s).max())):
        raise SpecError("sigma must be symmetric (a covariance matrix).")
    return _Inputs(
        b, (s + s.T) / 2, k, t, tuple(range(-k - 1, -1)) + tuple(range(t)), ()
    )


def _inputs(result: object, betahat, sigma, num_pre, num_post) -> _Inputs:
    arrays = (betahat, sigma, num_pre, num_post)
    if result is not None:
        if any(a is not None for a in arrays):
            raise SpecError(
                "give either an event-study result or betahat=, sigma=, num_pre=, "
                "num_post=, not both."
            )
        es = result if isinstance(result, EventStudy) else None
        if es is None and callable(getattr(result, "event_study", None)):
            es = result.event_study()
        if es is None:
            raise TneEvalTypeError(
                "honest_did takes an event study: tne.aggregate(gt, kind='dynamic'), "
                "a TWFE event study (tne.twfe_event_study) or their event_study(); "
                f"got {type(result).__name__}."
            )
        table = getattr(result, "table", None)
        binned: tuple[str, ...] = ()
        if isinstance(table, pd.DataFrame) and "binned" in table:
            binned = tuple(map(str, table.index[table["binned"].to_numpy(dtype=bool)]))
        return _from_event_study(es, binned)
    if any(a is None for a in arrays):
        raise SpecError(
            "without a result, give all of betahat=, sigma=, num_pre= and num_post=."
        )
    return _from_arrays(*arrays)


def _target(inp: _Inputs, e: int | str, l_vec: object) -> tuple[np.ndarray, str]:
    t = inp.num_post
    post_times = inp.event_times[inp.num_pre :]
    if l_vec is not None:
        lv = np.asarray(l_vec, dtype=float).ravel()
        if lv.size != t or not np.all(np.isfinite(lv)) or not np.any(lv):
            raise SpecError(
                f"l_vec must have {t} finite weights, not all zero, one per "
                f"post-period (event times {list(post_times)}); got {l_vec!r}."
            )
        return lv, f"l_vec = {np.round(lv, 4).tolist()}"
    if e == "average":
        return np.full(t, 1.0 / t), f"average of e={post_times[0]}..{post_times[-1]}"
    if (
        isinstance(e, bool)
        or not isinstance(e, (int, np.integer))
        or e not in post_times
    ):
        raise SpecError(
            f"e={e!r} is not a post-period event time of the event study; choose "
            f"one of {list(post_times)}, e='average', or give l_vec=."
        )
    lv = np.zeros(t)
    lv[post_times.index(int(e))] = 1.0
    return lv, f"e={int(e)}"


# -- confidence sets ------------------------------------------------------------------
def _rm_accept(
    inp: _Inputs, lv: np.ndarray, mbar: float, grid: np.ndarray, opts: dict[str, Any]
) -> np.ndarray:
    k, t = inp.num_pre, inp.num_post
    inv_gamma = np.linalg.inv(theta_basis(lv))
    accept = np.zeros(len(grid), dtype=bool)
    for s in range(-(k - 1), 1):
        for positive in (True, False):
            a = rm_constraints(k, t, mbar, s, positive)
            a = a[np.abs(a[:, k:]).sum(axis=1) > 0]  # post-period moments only
            ag = a[:, k:] @ inv_gamma
            accept |= accept_grid(
                a @ inp.betahat,
                ag[:, 0],
                ag[:, 1:],
                a @ inp.sigma @ a.T,
                grid,
                alpha=opts["alpha"],
                hybrid=opts["method"] == "C-LF",
                kappa=opts["kappa"],
                n_sims=opts["n_sims"],
                seed=opts["seed"],
            )
    return accept


def _interval(
    inp: _Inputs, lv: np.ndarray, restriction: str, m: float, opts: dict[str, Any]
) -> tuple[float, float, dict[str, bool]]:
    if restriction == "smoothness":
        sol = solve_flci(inp.sigma, inp.num_pre, inp.num_post, lv, m, opts["alpha"])
        centre = float(sol.weights @ inp.betahat)
        return centre - sol.half_length, centre + sol.half_length, {}
    grid = opts["grid"]
    acc = _rm_accept(inp, lv, m, grid, opts)
    if not acc.any():
        return np.nan, np.nan, {"empty": True}
    idx = np.flatnonzero(acc)
    flags = {
        "open": bool(acc[0] or acc[-1]),
        "gaps": bool(idx[-1] - idx[0] + 1 != idx.size),
    }
    return float(grid[idx[0]]), float(grid[idx[-1]]), flags


def _identified_set(
    inp: _Inputs, lv: np.ndarray, restriction: str, m: float
) -> tuple[float, float]:
    """Bounds of theta when beta is known: delta_pre = beta_pre, delta in Delta (LPs)."""
    k, t = inp.num_pre, inp.num_post
    if restriction == "smoothness":
        d = second_differences(k, t)
        polyhedra = [(np.vstack([d, -d]), np.full(2 * len(d), m))]
    else:
        polyhedra = [
            (a, np.zeros(len(a)))
            for s in range(-(k - 1), 1)
            for positive in (True, False)
            for a in [rm_constraints(k, t, m, s, positive)]
        ]
    eq = np.hstack([np.eye(k), np.zeros((k, t))])
    c = np.r_[np.zeros(k), lv]
    theta = float(lv @ inp.betahat[k:])
    lows, highs = [], []
    for a, b in polyhedra:
        bounds = [(None, None)] * (k + t)
        kw = {
            "A_ub": a,
            "b_ub": b,
            "A_eq": eq,
            "b_eq": inp.betahat[:k],
            "bounds": bounds,
        }
        hi = optimize.linprog(-c, method="highs", **kw)
        lo = optimize.linprog(c, method="highs", **kw)
        if hi.status == 0 and lo.status == 0:
            lows.append(theta + hi.fun)  # theta - max l'delta_post
            highs.append(theta - lo.fun)  # theta - min l'delta_post
    if not lows:
        return np.nan, np.nan
    return float(min(lows)), float(max(highs))


def _excludes_zero(low: float, high: float) -> bool:
    return bool(np.isfinite(low) and np.isfinite(high) and (low > 0 or high < 0))


def _breakdown(
    inp: _Inputs,
    lv: np.ndarray,
    restriction: str,
    ms: np.ndarray,
    excl: np.ndarray,
    opts: dict[str, Any],
) -> float:
    order = np.argsort(ms)
    ms, excl = ms[order], excl[order]
    if not excl[0]:
        return np.nan
    fails = np.flatnonzero(~excl)
    if fails.size == 0:
        return np.inf
    lo, hi = ms[fails[0] - 1], ms[fails[0]]
    tol = opts["breakdown_tol"] * max(hi, 1e-12)
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if _excludes_zero(*_interval(inp, lv, restriction, mid, opts)[:2]):
            lo = mid
        else:
            hi = mid
    return float(lo)


def honest_did(
    result: object = None,
    *,
    restriction: Restriction = "relative_magnitudes",
    m_values: Sequence[float] | np.ndarray | None = None,
    e: int | str = 0,
    l_vec: Sequence[float] | np.ndarray | None = None,
    alpha: float = 0.05,
    method: str | None = None,
    grid_points: int = 1000,
    grid_bounds: tuple[float, float] | None = None,
    kappa: float | None = None,
    n_sims: int = 1000,
    seed: int = 0,
    breakdown_tol: float = 1e-3,
    betahat: Sequence[float] | np.ndarray | None = None,
    sigma: np.ndarray | None = None,
    num_pre: int | None = None,
    num_post: int | None = None,
) -> SensitivityResult:
    r"""Confidence sets robust to bounded violations of parallel trends (HonestDiD).

    Parameters
    ----------
    result : event-study result, optional
        ``tne.aggregate(gt, kind="dynamic")`` of an ``att_gt`` fitted with
        ``base_period="universal"``, a ``tne.twfe_event_study`` result with
        ``reference=-1``, or the :class:`~tne_eval.results.event_study.EventStudy`
        of either. Its estimates and covariance over consecutive event times
        :math:`-K-1, \dots, -2` (pre), :math:`-1` (reference, normalised to 0,
        left out), :math:`0, \dots, T-1` (post) are used. Or give the arrays:
    betahat, sigma, num_pre, num_post : optional
        HonestDiD's inputs: coefficients (``num_pre`` pre-period ones, then
        ``num_post`` post-period ones, reference left out) and their covariance.
    restriction : {"relative_magnitudes", "smoothness"}
        :math:`\Delta^{RM}(\bar M)`: every post-period first difference of the
        violation is at most :math:`\bar M` times the largest pre-period one;
        or :math:`\Delta^{SD}(M)`: the slope of the violation changes by at most
        :math:`M` between consecutive periods.
    m_values : sequence of float, optional
        Bounds :math:`\bar M` or :math:`M` (nonnegative). Default: 10 values
        from 0 to 2 (``Mbar``, as HonestDiD), or 10 values from 0 to the
        standard error of the first pre-period coefficient (``M``; HonestDiD's
        default with one pre-period).
    e : int or "average", default 0
        Target: the effect at post-period event time ``e`` or the average over
        the post-periods. Ignored when ``l_vec`` is given.
    l_vec : sequence of float, optional
        Weights of the target :math:`\theta = l'\tau_{post}` on the post-periods.
    alpha : float, default 0.05
        The sets have coverage :math:`1-\alpha` when the restriction holds.
    method : {"C-LF", "Conditional"} or {"FLCI"}, optional
        ``relative_magnitudes``: the conditional-least-favourable hybrid
        (default) or the conditional test of Andrews, Roth and Pakes;
        ``smoothness``: the fixed-length confidence interval.
    grid_points : int, default 1000
        Points of the grid of :math:`\bar\theta` over which the RM test is
        inverted.
    grid_bounds : (float, float), optional
        Grid range; default :math:`\pm 20` standard errors of
        :math:`l'\hat\beta_{post}` around 0 (HonestDiD's default).
    kappa : float, optional
        Size of the least-favourable first stage of the hybrid; default
        :math:`\alpha/10`.
    n_sims : int, default 1000
        Normal draws for the least-favourable critical value.
    seed : int, default 0
        Seed of those draws.
    breakdown_tol : float, default 1e-3
        Relative precision of the breakdown value, found by bisection between
        the largest bound of ``m_values`` whose set excludes 0 and the next one.

    Returns
    -------
    SensitivityResult
        ``to_frame()``: index ``Mbar``/``M``, columns ``conf_low``,
        ``conf_high``, ``excludes_zero``, ``id_low``, ``id_high`` (identified
        set with :math:`\delta_{pre} = \hat\beta_{pre}`), ``method``,
        ``restriction``; also
        ``original`` (the interval under parallel trends) and ``breakdown``.

    Raises
    ------
    SpecError
        No single reference at :math:`e=-1`, non-consecutive event times, fewer
        than one pre- or post-period, bad ``e``/``l_vec``/``m_values``/options.
    TneEvalTypeError
        ``result`` is not an event study.

    See Also
    --------
    tne_eval.plotting.sensitivity.plot_sensitivity : the sensitivity plot.
    tne_eval.did.pretrend_tests.pre_trend_tests : pre-trend tests.

    Notes
    -----
    Write :math:`\hat\beta = \tau + \delta + \varepsilon` with
    :math:`\tau_{pre} = 0`, :math:`\varepsilon \sim N(0, \Sigma)`: the
    pre-period coefficients estimate :math:`\delta_{pre}`, and the target
    :math:`\theta = l'\tau_{post}` is identified up to the set of
    :math:`l'\delta_{post}` compatible with :math:`\delta \in \Delta`.

    *Smoothness* (:math:`\Delta^{SD}`): the interval is the optimal FLCI
    :math:`v'\hat\beta \pm \chi`, among affine estimators with post weights
    :math:`l`, minimising the half-length
    :math:`\chi = \mathrm{sd}\cdot cv_\alpha(\overline{\mathrm{bias}}/\mathrm{sd})`
    (:math:`cv_\alpha(b)`: the :math:`1-\alpha` quantile of
    :math:`|N(b,1)|`, computed exactly; HonestDiD simulates it with
    :math:`10^6` draws). It is solved with SciPy (``linprog`` for the
    least-bias start, ``SLSQP`` on the convex half-length with the
    :math:`\ell_1` norm of the second-difference weights split into slack
    variables). At :math:`M = 0` it is the efficient estimator under an exactly
    linear trend.

    *Relative magnitudes* (:math:`\Delta^{RM}`): :math:`\Delta^{RM}(\bar M)` is
    a union of polyhedra, one for each pre-period difference :math:`s` and sign
    assumed to be the largest; for each, the moment inequalities of the
    post-period rows are tested at every grid value :math:`\bar\theta` by the
    conditional or hybrid test of Andrews, Roth and Pakes (2023), and the set
    is the union of the accepted values. ``conf_low``/``conf_high`` are the
    smallest and largest accepted grid values (as HonestDiD reports them); a
    note says when the accepted set touches the grid's end or has gaps.

    Validated against the HonestDiD R package's printed results for its
    Medicaid example (``docs/sensitivity.md``, ``tests/sensitivity``): FLCIs to
    the printed digits plus :math:`6\cdot 10^{-5}` (HonestDiD simulates
    :math:`cv_\alpha`) and relative-magnitude sets to one grid step (it
    simulates the least-favourable critical value with another generator);
    against diff-diff 3.13's FLCI and identified sets; and against closed forms
    at :math:`M = 0` and :math:`\bar M = 0` and an LP implementation of the
    conditional test.

    References
    ----------
    Rambachan, A. and Roth, J. (2023), "A More Credible Approach to Parallel
    Trends", *Review of Economic Studies* 90(5), 2555-2591,
    doi:10.1093/restud/rdad018.

    Andrews, I., Roth, J. and Pakes, A. (2023), "Inference for Linear
    Conditional Moment Inequalities", *Review of Economic Studies* 90(6),
    2763-2791, doi:10.1093/restud/rdad004.

    Armstrong, T. and Kolesár, M. (2018), "Optimal Inference in a Class of
    Regression Models", *Econometrica* 86(2), 655-683, doi:10.3982/ECTA14434.

    Examples
    --------
    >>> import numpy as np
    >>> import tne_eval as tne
    >>> res = tne.honest_did(
    ...     betahat=[0.1, -0.2, 0.05, 1.0, 1.2], sigma=np.eye(5) * 0.04,
    ...     num_pre=3, num_post=2, restriction="smoothness", m_values=[0, 0.1])
    >>> res.to_frame()[["conf_low", "conf_high"]].shape
    (2, 2)
    """
    check_choice(restriction, "restriction", RESTRICTIONS)
    alpha = check_alpha(alpha)
    inp = _inputs(result, betahat, sigma, num_pre, num_post)
    lv, target = _target(inp, e, l_vec)
    methods = METHODS[restriction]
    method = methods[0] if method is None else check_choice(method, "method", methods)
    check_seed(seed)
    grid_points = check_int(grid_points, "grid_points", minimum=3)
    n_sims = check_int(n_sims, "n_sims", minimum=10)
    kappa = alpha / 10 if kappa is None else float(kappa)
    if not 0 < kappa < alpha:
        raise SpecError(f"kappa must lie in (0, alpha={alpha}) (got {kappa}).")
    if not 0 < breakdown_tol < 1:
        raise SpecError(f"breakdown_tol must lie in (0, 1) (got {breakdown_tol}).")
    k, t = inp.num_pre, inp.num_post
    post_sigma = inp.sigma[k:, k:]
    theta_hat = float(lv @ inp.betahat[k:])
    se = float(np.sqrt(lv @ post_sigma @ lv))
    if not se > 0:
        raise SpecError(
            "the target has zero variance; check sigma over the post-periods."
        )
    if m_values is None:
        top = (
            2.0
            if restriction == "relative_magnitudes"
            else float(np.sqrt(inp.sigma[0, 0]))
        )
        ms = np.linspace(0.0, top, 10)
    else:
        ms = np.asarray(m_values, dtype=float).ravel()
        if ms.size == 0 or np.any(~np.isfinite(ms)) or np.any(ms < 0):
            raise SpecError(
                f"m_values must be nonnegative finite bounds; got {m_values!r}."
            )
    lo, hi = (-20.0 * se, 20.0 * se) if grid_bounds is None else map(float, grid_bounds)
    if not lo < hi:
        raise SpecError(
            f"grid_bounds must be (low, high) with low < high; got {grid_bounds}."
        )
    opts: dict[str, Any] = {
        "alpha": alpha,
        "method": method,
        "kappa": kappa,
        "n_sims": n_sims,
        "seed": seed,
        "breakdown_tol": breakdown_tol,
        "grid": np.linspace(lo, hi, grid_points),
    }
    notes = list(inp.notes)
    rows = []
    flagged: dict[str, list[float]] = {"open": [], "gaps": [], "empty": []}
    for m in ms:
        low, high, flags = _interval(inp, lv, restriction, float(m), opts)
        for key, on in flags.items():
            if on:
                flagged[key].append(float(m))
        id_low, id_high = _identified_set(inp, lv, restriction, float(m))
        rows.append((low, high, _excludes_zero(low, high), id_low, id_high))
    param = _PARAM[restriction]
    table = pd.DataFrame(
        rows,
        columns=["conf_low", "conf_high", "excludes_zero", "id_low", "id_high"],
        index=pd.Index(ms, name=param),
    )
    table["method"] = method
    table["restriction"] = restriction
    excl = table["excludes_zero"].to_numpy(dtype=bool)
    bd = _breakdown(inp, lv, restriction, ms, excl, opts)
    texts = {
        "open": "the accepted set reaches the end of the grid, so the set may be "
        "wider than reported; widen grid_bounds",
        "gaps": "the accepted grid values are not contiguous (the union over "
        "the polyhedra of Delta^RM need not be an interval); conf_low/conf_high "
        "span them",
        "empty": "every grid value is rejected (the restriction is rejected by "
        "the data, or the grid misses the set); the bounds are NaN",
    }
    for key, values in flagged.items():
        if values:
            notes.append(
                Note(
                    f"At {param} in {np.round(values, 6).tolist()}, {texts[key]}.",
                    NoteKind.ESTIMATION,
                )
            )
    if restriction == "relative_magnitudes":
        step = (hi - lo) / (grid_points - 1)
        notes.append(
            Note(
                f"Test inversion over {grid_points} values of the target in "
                f"[{lo:.6g}, {hi:.6g}] (step {step:.3g}); least-favourable "
                f"critical value from {n_sims} draws (seed {seed}), kappa = {kappa:g}.",
                NoteKind.INFERENCE,
            )
        )
    z = stats.norm.ppf(1 - alpha / 2)
    original = pd.Series(
        {
            "estimate": theta_hat,
            "std_error": se,
            "conf_low": theta_hat - z * se,
            "conf_high": theta_hat + z * se,
        },
        name="original",
    )
    options = {k_: v for k_, v in opts.items() if k_ != "grid"}
    options.update(grid_points=grid_points, grid_bounds=(lo, hi))
    return SensitivityResult(
        table=table,
        original=original,
        breakdown=bd,
        restriction=restriction,
        method=method,
        parameter=param,
        l_vec=lv,
        target=target,
        event_times=inp.event_times,
        num_pre=k,
        num_post=t,
        alpha=alpha,
        options=options,
        notes=tuple(notes),
    )
