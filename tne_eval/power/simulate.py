r"""Power by simulation, for any data-generating process, estimator and inference.

:func:`simulate_power` repeats *generate data -> estimate -> test* over a grid of
effects and reports the rejection rate with its binomial Monte Carlo error.
Replications are seeded once (:func:`tne_eval._parallel.spawn_generators`), so
the table is identical for every ``n_jobs``; within a replication every effect
uses the same noise (common random numbers), so the curve is smooth in the
effect and the null column is the size of the test.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tne_eval._parallel import parallel_map, spawn_generators
from tne_eval._validation import check_alpha, check_positive_int, check_seed
from tne_eval.errors import (
    SpecError,
    TneEvalError,
    TneEvalTypeError,
    TneEvalWarning,
)
from tne_eval.power.design import COMPARISON, PowerDesign, VarianceComponents
from tne_eval.results.summary import Summary, SummaryDisplay

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from tne_eval.power.analytic import AnalyticPower

__all__ = ["PowerResult", "RandomEffectsPanel", "simulate_power"]


@dataclass(frozen=True)
class RandomEffectsPanel:
    r"""A balanced school x period panel drawn from the random-effects model.

    Calling it with ``(effect, rng)`` returns one draw: the school-period means
    :math:`\bar Y_{st} = u_d + \omega_{dt} + v_s + \eta_{st} +
    \bar\varepsilon_{st} + \delta D_{st}`, with :math:`\bar\varepsilon_{st}
    \sim N(0, \sigma_\varepsilon^2/n_k)`, a constant effect ``effect`` on
    treated post-treatment rows, and no period effects (a DiD removes them).
    This is exactly the model of :func:`tne_eval.power_analytic`, so simulated
    and analytic power can be compared.

    Parameters
    ----------
    design : PowerDesign
        Schools per department must be whole numbers.
    components : VarianceComponents

    Examples
    --------
    >>> import numpy as np
    >>> d = PowerDesign({3: 2}, 3, range(1, 5), 2, 10)
    >>> vc = VarianceComponents(1.0, 0.5, 1.0, 0.5, 4.0)
    >>> panel = RandomEffectsPanel(d, vc)(0.0, np.random.default_rng(1))
    >>> panel.shape, list(panel.columns)
    ((40, 6), ['school', 'department', 'period', 'cohort', 'n_pupils', 'y'])
    """

    design: PowerDesign
    components: VarianceComponents

    def __post_init__(self) -> None:
        if not isinstance(self.design, PowerDesign):
            raise TneEvalTypeError("design must be a PowerDesign.")
        if not isinstance(self.components, VarianceComponents):
            raise TneEvalTypeError("components must be a VarianceComponents.")
        for k in self.design.groups:
            j = self.design.schools(k)
            if j != round(j):
                raise SpecError(
                    f"RandomEffectsPanel needs whole schools per department (group "
                    f"{k} has {j}); round them in the PowerDesign."
                )

    def __call__(self, effect: float, rng: np.random.Generator) -> pd.DataFrame:
        """Draw one panel with a constant effect ``effect`` on treated rows."""
        d, vc = self.design, self.components
        periods = np.asarray(d.periods)
        n_t = periods.size
        frames = []
        dep = 0
        for k in d.groups:
            g_k = d.n_departments_of(k)
            j = round(d.schools(k))
            n = d.pupils(k)
            u = rng.normal(0.0, math.sqrt(vc.department), g_k)
            w = rng.normal(0.0, math.sqrt(vc.department_year), (g_k, n_t))
            v = rng.normal(0.0, math.sqrt(vc.school), (g_k, j))
            eta = rng.normal(0.0, math.sqrt(vc.school_year), (g_k, j, n_t))
            eps = rng.normal(0.0, math.sqrt(vc.pupil / n), (g_k, j, n_t))
            y = u[:, None, None] + w[:, None, :] + v[:, :, None] + eta + eps
            if k != COMPARISON:
                y = y + effect * (periods >= k)[None, None, :]
            dep_ids = np.repeat(np.arange(dep, dep + g_k), j * n_t)
            school_ids = np.repeat(np.arange(g_k * j), n_t) % j
            frames.append(
                pd.DataFrame(
                    {
                        "school": [f"s{a}_{b}" for a, b in zip(dep_ids, school_ids)],
                        "department": [f"d{a}" for a in dep_ids],
                        "period": np.tile(periods, g_k * j),
                        "cohort": k,
                        "n_pupils": n,
                        "y": y.ravel(),
                    }
                )
            )
            dep += g_k
        return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True, eq=False)
class PowerResult(SummaryDisplay):
    """Result of :func:`simulate_power`.

    Attributes
    ----------
    table : pandas.DataFrame
        See :meth:`to_frame`.
    records : pandas.DataFrame
        One row per replication and effect: ``rep``, ``effect``, ``estimate``,
        ``std_error``, ``p_value``, ``reject``, ``truth``, ``error`` (the
        exception class when the estimator failed, else empty).
    term : str or None
        Term of the estimator's result that was tested.
    alpha : float
    reps : int
    seed : object
    inference : object
        What was passed to the estimator.
    effect_label : str
        What the effects are (an additive effect, or a multiplier of
        ``effect_scale``).
    notes : tuple of str
        Failed replications and warnings of the estimator, counted.
    """

    table: pd.DataFrame
    records: pd.DataFrame
    term: str | None
    alpha: float
    reps: int
    seed: object
    inference: object
    effect_label: str
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        r"""Power by effect.

        Returns
        -------
        pandas.DataFrame
            Index ``effect``; columns ``power`` (rejection rate at ``alpha``),
            ``power_se`` (binomial Monte Carlo SE,
            :math:`\sqrt{p(1-p)/R}`), ``mean_estimate``, ``sd_estimate``,
            ``mean_std_error``, ``mean_truth``, ``sd_error`` (SD of estimate
            minus truth, when ``truth`` is given: the estimator's sampling SD
            when the truth itself varies across draws) and ``n_valid``
            (replications whose estimator returned a finite p-value).
        """
        return self.table.copy()

    def summary(self, digits: int = 4) -> Summary:
        """Summary: settings, the power table, the notes."""
        header = {
            "Replications": str(self.reps),
            "Size (two-sided)": f"{self.alpha:g}",
            "Term": self.term or "(single row)",
            "Inference": repr(self.inference),
            "Effects": self.effect_label,
            "Seed": repr(self.seed),
        }
        return Summary("Simulated power", header, self.table, self.notes, digits)

    def plot(
        self,
        ax: Axes | None = None,
        *,
        analytic: AnalyticPower | None = None,
        **kw: Any,
    ) -> Axes:
        """Plot simulated power with MC intervals (see ``plotting.plot_power``)."""
        from tne_eval.plotting.power import plot_power

        return plot_power(self, analytic=analytic, ax=ax, **kw)


def _pick(frame: pd.DataFrame, term: str | None) -> pd.Series:
    if term is None:
        if len(frame) != 1:
            raise SpecError(
                f"the estimator's result has {len(frame)} rows "
                f"({list(frame.index)[:5]}); choose one with term=."
            )
        return frame.iloc[0]
    if term not in frame.index:
        raise SpecError(
            f"term={term!r} is not in the estimator's result; its terms are "
            f"{list(frame.index)[:10]}."
        )
    return frame.loc[term]


def _one(
    task: tuple[int, int],
    *,
    dgp: Callable[[float, np.random.Generator], Any],
    estimator: Callable[[Any, object], Any],
    inference: object,
    effects: np.ndarray,
    term: str | None,
    alpha: float,
    truth: Callable[[Any], float] | None,
) -> tuple[list[dict[str, Any]], list[str]]:
    rep, seed = task
    out: list[dict[str, Any]] = []
    caught_names: list[str] = []
    for effect in effects:
        rec: dict[str, Any] = {"rep": rep, "effect": float(effect), "error": ""}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TneEvalWarning)
            data = dgp(float(effect), np.random.default_rng(seed))
            try:
                result = estimator(data, inference)
            except TneEvalError as err:
                rec["error"] = type(err).__name__
                result = None
        caught_names += sorted({type(w.message).__name__ for w in caught})
        if result is not None:
            if not hasattr(result, "to_frame"):
                raise TneEvalTypeError(
                    "the estimator must return a result with to_frame() (an "
                    f"EstimationResult); got {type(result).__name__}."
                )
            row = _pick(result.to_frame(), term)
            p = float(row.get("p_value", np.nan))
            rec.update(
                estimate=float(row.get("estimate", row.get("observed", np.nan))),
                std_error=float(row.get("std_error", np.nan)),
                p_value=p,
                reject=bool(p < alpha) if np.isfinite(p) else np.nan,
            )
        else:
            rec.update(estimate=np.nan, std_error=np.nan, p_value=np.nan)
            rec["reject"] = np.nan
        rec["truth"] = float(truth(data)) if truth is not None else np.nan
        out.append(rec)
    return out, caught_names


def _world_dgp(config: Any) -> Callable[[float, np.random.Generator], Any]:
    from tne_eval.datasets import simulate

    def draw(effect: float, rng: np.random.Generator) -> Any:
        seed = int(rng.integers(0, 2**31 - 1))
        return simulate(replace(config, seed=seed, effect_scale=effect))

    return draw


def simulate_power(
    data: Any,
    estimator: Callable[[Any, object], Any],
    *,
    effects: Sequence[float] | np.ndarray,
    inference: object = "cluster",
    term: str | None = None,
    reps: int = 200,
    alpha: float = 0.05,
    seed: object = None,
    truth: Callable[[Any], float] | None = None,
    n_jobs: int = 1,
    progress: bool | None = None,
) -> PowerResult:
    r"""Power of any estimator and inference by simulation, over a grid of effects.

    Parameters
    ----------
    data : WorldConfig or callable
        A :class:`~tne_eval.datasets.WorldConfig`: each replication simulates
        the synthetic world with a fresh seed and ``effect_scale`` set to each
        effect (so effects are multipliers of the world's effects, 0 the null
        world), and passes the :class:`~tne_eval.datasets.SyntheticWorld` to
        the estimator. Or a callable ``(effect, rng) -> data`` (e.g.
        :class:`RandomEffectsPanel`), called with the same fresh generator for
        every effect of a replication.
    estimator : callable
        ``(data, inference) -> result``; the result needs ``to_frame()`` with
        ``estimate``, ``std_error`` and ``p_value`` columns indexed by term
        (every tne_eval result, and :class:`~tne_eval.RandomizationResult`).
    effects : sequence of float
        Effects (or ``effect_scale`` multipliers) to simulate.
    inference : inference object or str, default "cluster"
        Passed to the estimator unchanged: ``Cluster()``,
        ``MultiplierBootstrap(...)``, ``CR2()``, ``WildBootstrap(...)``, ...
    term : str, optional
        Row of the result to test; required when it has several rows.
    reps : int, default 200
        Replications (Monte Carlo SE of a power near 0.5 is
        :math:`0.5/\sqrt{R}`).
    alpha : float, default 0.05
        A replication rejects when the result's ``p_value`` is below ``alpha``.
    seed : int, Generator or None
        Seed of the replications; the same seed gives the same table for any
        ``n_jobs``.
    truth : callable, optional
        ``data -> float``, the true value of the term in a draw (e.g. read from
        ``world.truth``); reported as ``mean_truth``.
    n_jobs : int, default 1
        Worker processes (``-1``: every core).
    progress : bool or None
        Progress bar (shown on a terminal by default).

    Returns
    -------
    PowerResult
        ``to_frame()``: index ``effect``; ``power``, ``power_se``,
        ``mean_estimate``, ``sd_estimate``, ``mean_std_error``,
        ``mean_truth``, ``sd_error``, ``n_valid``.

    Raises
    ------
    SpecError, TneEvalTypeError
        Bad arguments, an estimator returning a result without ``to_frame()``,
        or an ambiguous ``term``.

    Notes
    -----
    A replication whose estimator raises a :class:`~tne_eval.TneEvalError`
    (e.g. no comparison units in a draw) counts as missing, not as a
    non-rejection; the number is in ``notes`` and ``n_valid``. Warnings raised
    while drawing and estimating are recorded rather than shown, and counted
    by class in ``notes``. Power is the rejection rate among valid
    replications, with binomial standard error
    :math:`\sqrt{\hat p(1-\hat p)/R_{\text{valid}}}`.

    Examples
    --------
    >>> import tne_eval as tne
    >>> from tne_eval.power import PowerDesign, VarianceComponents, RandomEffectsPanel
    >>> d = PowerDesign({3: 10}, 10, range(1, 4), 2, 10)
    >>> dgp = RandomEffectsPanel(d, VarianceComponents(1.0, 0.5, 1.0, 0.5, 4.0))
    >>> spec = tne.PanelSpec(unit="school", time="period", outcome="y",
    ...                      cohort="cohort", cluster="department")
    >>> def fit(panel, inference):
    ...     gt = tne.att_gt(panel, spec, method="reg", inference=inference)
    ...     return tne.aggregate(gt, "simple")
    >>> res = simulate_power(dgp, fit, effects=[0.0, 2.0], reps=20, seed=1,
    ...                      progress=False)
    >>> res.to_frame()["power"].round(2).tolist()
    [0.1, 0.8]
    """
    from tne_eval.datasets.config import WorldConfig

    if isinstance(data, WorldConfig):
        dgp = _world_dgp(data)
        label = "multipliers of effect_scale of the synthetic world"
    elif callable(data):
        dgp = data
        label = "additive effects passed to the data-generating callable"
    else:
        raise TneEvalTypeError(
            "data must be a WorldConfig or a callable (effect, rng) -> data (got "
            f"{type(data).__name__})."
        )
    if not callable(estimator):
        raise TneEvalTypeError(
            "estimator must be a callable (data, inference) -> result (got "
            f"{type(estimator).__name__})."
        )
    if truth is not None and not callable(truth):
        raise TneEvalTypeError("truth must be a callable data -> float, or None.")
    grid = np.asarray(effects, dtype=float).ravel()
    if grid.size == 0 or not np.all(np.isfinite(grid)):
        raise SpecError("effects must be a non-empty sequence of finite numbers.")
    reps = check_positive_int(reps, "reps")
    alpha = check_alpha(alpha)
    check_seed(seed)
    seeds = [int(g.integers(0, 2**63 - 1)) for g in spawn_generators(seed, reps)]
    fn = _bind(dgp, estimator, inference, grid, term, alpha, truth)
    parts = parallel_map(
        fn,
        list(enumerate(seeds, start=1)),
        n_jobs=n_jobs,
        progress=progress,
        desc="power",
    )
    records = pd.DataFrame([r for recs, _ in parts for r in recs])
    warned = pd.Series([w for _, ws in parts for w in ws], dtype=object)
    return PowerResult(
        table=_tabulate(records),
        records=records,
        term=term,
        alpha=alpha,
        reps=reps,
        seed=seed,
        inference=inference,
        effect_label=label,
        notes=_notes(records, warned),
    )


def _bind(*args: Any) -> Callable[[tuple[int, int]], Any]:
    dgp, estimator, inference, grid, term, alpha, truth = args

    def fn(task: tuple[int, int]) -> Any:
        return _one(
            task,
            dgp=dgp,
            estimator=estimator,
            inference=inference,
            effects=grid,
            term=term,
            alpha=alpha,
            truth=truth,
        )

    return fn


def _tabulate(records: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for effect, grp in records.groupby("effect", sort=False):
        valid = grp["reject"].dropna().astype(float)
        error = (grp["estimate"] - grp["truth"]).dropna()
        n = int(valid.size)
        p = float(valid.mean()) if n else np.nan
        rows.append(
            {
                "effect": effect,
                "power": p,
                "power_se": math.sqrt(p * (1 - p) / n) if n else np.nan,
                "mean_estimate": float(grp["estimate"].mean()),
                "sd_estimate": float(grp["estimate"].std(ddof=1))
                if grp["estimate"].notna().sum() > 1
                else np.nan,
                "mean_std_error": float(grp["std_error"].mean()),
                "mean_truth": float(grp["truth"].mean()),
                "sd_error": float(error.std(ddof=1)) if error.size > 1 else np.nan,
                "n_valid": n,
            }
        )
    return pd.DataFrame(rows).set_index("effect")


def _notes(records: pd.DataFrame, warned: pd.Series) -> tuple[str, ...]:
    notes = []
    failed = records.loc[records["error"] != ""]
    if len(failed):
        kinds = failed["error"].value_counts()
        notes.append(
            f"{len(failed)} of {len(records)} estimations failed and are left out "
            "of the power: " + ", ".join(f"{k} ({v})" for k, v in kinds.items()) + "."
        )
    nan_p = records["p_value"].isna().sum() - len(failed)
    if nan_p > 0:
        notes.append(f"{nan_p} estimations returned no p-value and are left out.")
    if len(warned):
        counts = warned.value_counts()
        notes.append(
            "Warnings of the estimator (replications x effects raising them): "
            + ", ".join(f"{k} ({v})" for k, v in counts.items())
            + "."
        )
    return tuple(notes)
