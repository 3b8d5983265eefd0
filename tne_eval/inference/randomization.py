r"""Randomization inference over the assignment of treatment to departments.

TNE treats whole departments: 12 of 101, 2 in the 2020 cohort and 10 in 2021.
:func:`randomization_test` re-draws which departments are treated and in which
cohort, keeping the cohort sizes (and, optionally, the sizes within strata such as
regions or académies), recomputes any estimator's statistic on each re-drawn
assignment, and compares the observed statistic with that distribution. It needs
no asymptotics in the number of treated clusters; its validity rests on the
assignments being exchangeable instead (see the Notes of
:func:`randomization_test`).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from tne_eval._parallel import check_n_jobs, parallel_map, resolve_progress
from tne_eval._validation import (
    check_alpha,
    check_choice,
    check_columns_exist,
    check_dataframe,
    check_int,
    check_seed,
    format_examples,
)
from tne_eval.errors import (
    DataError,
    IdentificationError,
    InferenceError,
    SpecError,
    TneEvalTypeError,
)
from tne_eval.results.base import EstimationResult

__all__ = ["RandomizationResult", "randomization_test"]

Statistic = Literal["t", "estimate"]
Alternative = Literal["two-sided", "greater", "less"]

#: Relative tolerance under which a re-drawn statistic counts as equal to the
#: observed one (symmetric assignments give equal statistics up to rounding).
_TIE_RTOL = 1e-10


@dataclass(frozen=True, eq=False)
class RandomizationResult:
    r"""Result of :func:`randomization_test`.

    Attributes
    ----------
    statistic : {"t", "estimate", "value"}
        What was compared: the t statistic or the estimate of ``term``, or the
        number the estimator returned (``"value"``).
    term : str or None
        Term of the estimator's result, if it returned one.
    observed : float
        Statistic under the observed assignment.
    p_value : float
        Randomization p-value. Exact enumeration: the share of all assignments
        (the observed one included) whose statistic is at least as extreme.
        Monte Carlo: :math:`(1 + \#\{b: T_b \text{ at least as extreme}\})/(1 + B)`,
        which is a valid p-value for any number of draws ``B``.
    distribution : ndarray
        Statistic under each evaluated assignment (NaN-valued ones removed).
    assignments : pandas.DataFrame
        Cohort of each assignment unit (columns) under each evaluated assignment
        (rows), aligned with ``distribution`` before NaN removal.
    n_assignments : int
        Number of distinct assignments in the space (cohort sizes kept within
        strata); may be astronomically large.
    exact : bool
        Whether the whole space was enumerated.
    reps : int
        Number of assignments evaluated.
    alternative : {"two-sided", "greater", "less"}
    alpha : float
        Level of ``conf_int``.
    conf_int : tuple of float
        Test-inversion interval for a constant additive effect on treated
        post-treatment rows (``(nan, nan)`` when not available; see ``notes``).
    strata : str or None
        Column that defined the strata.
    seed : object
        Seed of the draws (``None`` for exact enumeration or an unseeded run).
    notes : tuple of str
        What the caller should know (dropped draws, warnings of the estimator on
        re-drawn assignments, why there is no interval).
    """

    statistic: str
    term: str | None
    observed: float
    p_value: float
    distribution: np.ndarray
    assignments: pd.DataFrame
    n_assignments: int
    exact: bool
    reps: int
    alternative: str
    alpha: float
    conf_int: tuple[float, float]
    strata: str | None
    seed: object = None
    notes: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """One-row summary.

        Returns
        -------
        pandas.DataFrame
            Index ``term`` (or ``"value"``); columns ``statistic, observed,
            p_value, conf_low, conf_high, n_assignments, reps, exact,
            alternative``.
        """
        return pd.DataFrame(
            {
                "statistic": [self.statistic],
                "observed": [self.observed],
                "p_value": [self.p_value],
                "conf_low": [self.conf_int[0]],
                "conf_high": [self.conf_int[1]],
                "n_assignments": [self.n_assignments],
                "reps": [self.reps],
                "exact": [self.exact],
                "alternative": [self.alternative],
            },
            index=pd.Index([self.term or "value"], name="term"),
        )

    def __str__(self) -> str:
        how = (
            f"exact over all {self.n_assignments} assignments"
            if self.exact
            else f"{self.reps} random assignments of {self.n_assignments:.3g}"
        )
        text = (
            f"Randomization test ({self.statistic}, {self.alternative}, {how}): "
            f"observed = {self.observed:.4g}, p-value = {self.p_value:.4f}"
        )
        if np.all(np.isfinite(self.conf_int)):
            level = round(100 * (1 - self.alpha))
            text += (
                f"; {level}% CI by inversion [{self.conf_int[0]:.4g}, "
                f"{self.conf_int[1]:.4g}]"
            )
        return text


# ----------------------------------------------------------------------------
# The assignment space
# ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Space:
    """Assignment units, their observed cohort codes and strata."""

    labels: pd.Index  # assignment units (departments)
    cohort_values: np.ndarray  # distinct cohort values, as in the data
    codes: np.ndarray  # (n_units,) observed cohort code of each unit
    strata: list[np.ndarray]  # positions of the units of each stratum
    row_unit: np.ndarray  # (n_rows,) unit position of each data row

    @property
    def size(self) -> int:
        total = 1
        for pos in self.strata:
            counts = np.bincount(self.codes[pos])
            total *= math.factorial(pos.size) // math.prod(
                math.factorial(int(c)) for c in counts
            )
        return total

    def enumerate(self) -> Iterator[np.ndarray]:
        """Every distinct assignment (unit cohort codes), in a fixed order."""
        per_stratum = [
            list(_multiset_arrangements(self.codes[pos])) for pos in self.strata
        ]
        for combo in itertools.product(*per_stratum):
            out = np.empty_like(self.codes)
            for pos, arr in zip(self.strata, combo):
                out[pos] = arr
            yield out

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """One assignment drawn uniformly (cohort sizes kept within strata)."""
        out = self.codes.copy()
        for pos in self.strata:
            out[pos] = rng.permutation(self.codes[pos])
        return out


def _multiset_arrangements(codes: np.ndarray) -> Iterator[np.ndarray]:
    """Distinct arrangements of a multiset of codes over ``codes.size`` slots."""
    values, counts = np.unique(codes, return_counts=True)
    n = codes.size

    def rec(free: tuple[int, ...], k: int, acc: np.ndarray) -> Iterator[np.ndarray]:
        if k == values.size - 1:
            out = acc.copy()
            out[list(free)] = values[k]
            yield out
            return
        for chosen in itertools.combinations(free, int(counts[k])):
            acc2 = acc.copy()
            acc2[list(chosen)] = values[k]
            rest = tuple(i for i in free if i not in set(chosen))
            yield from rec(rest, k + 1, acc2)

    yield from rec(tuple(range(n)), 0, np.empty(n, dtype=codes.dtype))


def _unit_constant(
    data: pd.DataFrame, unit: str, column: str, row_unit: np.ndarray, labels: pd.Index
) -> np.ndarray:
    """Value of ``column`` for each assignment unit; DataError if it varies."""
    # missing values (e.g. never-treated cohorts coded NaN) are one more value
    codes, _ = pd.factorize(data[column], use_na_sentinel=False)
    n = labels.size
    first = np.full(n, -1)
    first[row_unit[::-1]] = codes[::-1]
    varies = np.zeros(n, dtype=bool)
    varies[row_unit[codes != first[row_unit]]] = True
    if varies.any():
        bad = format_examples(labels[varies])
        raise DataError(
            f"column {column!r} varies within {int(varies.sum())} unit(s) of "
            f"assign_column={unit!r} (e.g. {bad}). Treatment is assigned to whole "
            f"units of {unit!r}, so the cohort and the strata must be constant "
            "within each; fix the data or assign at a finer level."
        )
    return first


def _build_space(
    data: pd.DataFrame, assign_column: str, cohort_column: str, strata: str | None
) -> tuple[_Space, np.ndarray]:
    if data[assign_column].isna().any():
        n_miss = int(data[assign_column].isna().sum())
        raise DataError(
            f"assign_column={assign_column!r} is missing in {n_miss} row(s); every "
            "row must belong to an assignment unit. Drop or fill those rows."
        )
    row_unit, labels = pd.factorize(data[assign_column], sort=True)
    n = labels.size
    cohort_code = _unit_constant(data, assign_column, cohort_column, row_unit, labels)
    # values in unit order (first row of each unit)
    first_row = np.full(n, -1)
    first_row[row_unit[::-1]] = np.arange(len(row_unit))[::-1]
    unit_cohort = data[cohort_column].to_numpy()[first_row]
    _, inverse = np.unique(cohort_code, return_inverse=True)
    cohort_values = np.empty(inverse.max() + 1, dtype=unit_cohort.dtype)
    cohort_values[inverse] = unit_cohort
    if cohort_values.size < 2:
        raise IdentificationError(
            f"every unit of {assign_column!r} has the same {cohort_column!r} "
            f"({format_examples(cohort_values)}); there is no assignment to re-draw."
        )
    if strata is None:
        groups = [np.arange(n)]
    else:
        s_code = _unit_constant(data, assign_column, strata, row_unit, labels)
        groups = [np.flatnonzero(s_code == s) for s in np.unique(s_code)]
    space = _Space(labels, cohort_values, inverse.astype(np.int64), groups, row_unit)
    if space.size < 2:
        raise IdentificationError(
            f"within the strata of {strata!r}, every unit of {assign_column!r} shares "
            "its stratum's cohort, so the observed assignment is the only one that "
            "keeps the cohort sizes of each stratum: no randomization test exists. "
            "Use coarser strata (e.g. region instead of académie) or none."
        )
    return space, unit_cohort


# ----------------------------------------------------------------------------
# Statistics
# ----------------------------------------------------------------------------


def _evaluate(
    estimator: Callable[[pd.DataFrame], object],
    data: pd.DataFrame,
    statistic: str,
    term: str | None,
) -> tuple[float, str | None, EstimationResult | None]:
    out = estimator(data)
    if isinstance(out, EstimationResult):
        frame = out.table
        if term is None:
            if len(frame) != 1:
                raise SpecError(
                    "the estimator returned a result with "
                    f"{len(frame)} terms ({format_examples(frame.index)}); name the "
                    "one to test with term=..., e.g. aggregate to 'simple' and use "
                    "term='ATT'."
                )
            term = str(frame.index[0])
        elif term not in frame.index:
            raise SpecError(
                f"term={term!r} is not a term of the estimator's result; terms: "
                f"{format_examples(frame.index, limit=8)}."
            )
        est = float(out.estimates[term])
        if statistic == "estimate":
            return est, term, out
        se = float(out.std_errors[term])
        return (est / se if np.isfinite(se) and se > 0 else np.nan), term, out
    if isinstance(out, (bool, np.bool_)) or not isinstance(
        out, (int, float, np.integer, np.floating)
    ):
        raise TneEvalTypeError(
            "the estimator must return a number or an EstimationResult (got "
            f"{type(out).__name__})."
        )
    return float(out), None, None


def _extreme(dist: np.ndarray, obs: float, alternative: str) -> np.ndarray:
    tol = _TIE_RTOL * max(1.0, abs(obs))
    if alternative == "two-sided":
        return np.abs(dist) >= abs(obs) - tol
    if alternative == "greater":
        return dist >= obs - tol
    return dist <= obs + tol


def _p_value(dist: np.ndarray, obs: float, alternative: str, exact: bool) -> float:
    count = int(_extreme(dist, obs, alternative).sum())
    if exact:
        return count / dist.size
    return (1 + count) / (1 + dist.size)


def _invert(
    a: np.ndarray, c: np.ndarray, a_obs: float, c_obs: float, alpha: float, exact: bool
) -> tuple[float, float, bool]:
    r"""Hull of :math:`\{\tau: p(\tau) > \alpha\}` with :math:`T_b(\tau) = a_b - \tau c_b`.

    Two-sided: draw ``b`` is at least as extreme when
    :math:`(a_b - \tau c_b)^2 - (a_o - \tau c_o)^2 \ge 0`, a quadratic in
    :math:`\tau`; the p-value is constant between the roots, so it is evaluated at
    the roots and between them. Returns ``(low, high, convex)``.
    """
    qa = c**2 - c_obs**2
    qb = -2.0 * (a * c - a_obs * c_obs)
    qc = a**2 - a_obs**2
    roots: list[np.ndarray] = []
    lin = np.abs(qa) <= 1e-12 * np.maximum(1.0, c**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        roots.append(-qc[lin & (np.abs(qb) > 0)] / qb[lin & (np.abs(qb) > 0)])
        disc = qb**2 - 4 * qa * qc
        ok = ~lin & (disc >= 0)
        sq = np.sqrt(np.where(ok, disc, 0.0))
        roots.append(((-qb + sq) / (2 * qa))[ok])
        roots.append(((-qb - sq) / (2 * qa))[ok])
    pts = np.unique(np.concatenate(roots))
    pts = pts[np.isfinite(pts)]
    if pts.size == 0:
        pts = np.array([a_obs / c_obs])
    span = max(1.0, float(np.ptp(pts)), abs(float(pts[0])))
    mids = (pts[:-1] + pts[1:]) / 2
    grid = np.concatenate([[pts[0] - span], pts, mids, [pts[-1] + span]])
    grid.sort()
    t_obs = np.abs(a_obs - grid * c_obs)  # (m,)
    t_b = np.abs(a[:, None] - grid[None, :] * c[:, None])  # (B, m)
    tol = _TIE_RTOL * np.maximum(1.0, t_obs)
    count = (t_b >= t_obs[None, :] - tol[None, :]).sum(axis=0)
    p = count / a.size if exact else (1 + count) / (1 + a.size)
    accepted = p > alpha
    if not accepted.any():
        return np.nan, np.nan, True
    idx = np.flatnonzero(accepted)
    low = -np.inf if idx[0] == 0 else float(grid[idx[0]])
    high = np.inf if idx[-1] == grid.size - 1 else float(grid[idx[-1]])
    convex = bool(np.all(accepted[idx[0] : idx[-1] + 1]))
    return low, high, convex


# ----------------------------------------------------------------------------
# Public function
# ----------------------------------------------------------------------------


def randomization_test(
    data: pd.DataFrame,
    estimator: Callable[[pd.DataFrame], object],
    *,
    assign_column: str = "department",
    cohort_column: str = "first_treated",
    term: str | None = None,
    statistic: Statistic = "t",
    alternative: Alternative = "two-sided",
    reps: int = 999,
    strata: str | None = None,
    seed: int | np.random.Generator | None = None,
    exact_if_at_most: int = 2000,
    conf_int: bool | None = None,
    outcome_column: str | None = None,
    time_column: str | None = None,
    alpha: float = 0.05,
    n_jobs: int = 1,
    progress: bool | None = None,
) -> RandomizationResult:
    r"""Randomization test that re-draws which departments are treated, and when.

    The cohort column is permuted across the units of ``assign_column``
    (departments), within ``strata`` if given, so every re-drawn assignment keeps
    the number of units of each cohort (in TNE: 2 departments in 2020, 10 in 2021,
    89 never treated) and of each cohort within each stratum. ``estimator`` is
    re-run on the data with the re-drawn cohort column.

    Parameters
    ----------
    data : pandas.DataFrame
        Long data (not modified).
    estimator : callable
        ``data -> EstimationResult`` (then ``term`` picks the row) or
        ``data -> float``. It must derive treatment from ``cohort_column`` only:
        any other treatment indicator in ``data`` is not re-drawn.
    assign_column : str, default "department"
        Column of the units to which treatment is assigned.
    cohort_column : str, default "first_treated"
        First treated period of each row's unit, constant within
        ``assign_column``; never-treated units keep whatever code the data use.
    term : str, optional
        Row of the estimator's result to test; needed when it has several.
    statistic : {"t", "estimate"}, default "t"
        Studentized estimate (estimate / the result's own standard error) or the
        estimate. Ignored when ``estimator`` returns a number, which is then the
        statistic as is (make it a studentized one for the default's advantages).
    alternative : {"two-sided", "greater", "less"}, default "two-sided"
        Two-sided compares absolute values.
    reps : int, default 999
        Random assignments drawn when the space is not enumerated.
    strata : str, optional
        Column, constant within ``assign_column``, of the strata within which
        assignments are re-drawn (e.g. ``"region"`` or ``"academie"`` merged from
        ``load_synthetic("departments")``).
    seed : int or numpy.random.Generator, optional
        Seed of the random draws; the same seed gives the same draws and result.
    exact_if_at_most : int, default 2000
        Enumerate every assignment when there are at most this many (the p-value
        is then exact and ``seed`` is not used).
    conf_int : bool, optional
        For ``statistic="estimate"`` and ``alternative="two-sided"``, invert the
        test of a constant additive effect :math:`\tau_0` on treated
        post-treatment rows (see Notes). Needs ``outcome_column`` and
        ``time_column``, taken from the result's spec when the estimator returns
        a result. ``None`` (default): whenever possible; ``True``: also add a note
        saying why, when it is not; ``False``: never (halves the estimator calls).
    outcome_column, time_column : str, optional
        Outcome and period columns for ``conf_int``.
    alpha : float, default 0.05
        Level of the interval.
    n_jobs : int, default 1
        Worker processes for the re-drawn assignments (``-1``: every core); the
        result does not depend on it. ``estimator`` must then be picklable
        (closures and lambdas are, through cloudpickle).
    progress : bool or None, default None
        Progress bar: ``None`` shows it on a terminal only, ``False`` hides it
        (also ``TNE_EVAL_PROGRESS=0``).

    Returns
    -------
    RandomizationResult
        ``to_frame()`` columns: ``statistic, observed, p_value, conf_low,
        conf_high, n_assignments, reps, exact, alternative``.

    Raises
    ------
    SpecError
        A named column is not in the data, ``term`` is missing or not a term of
        the result, or an option is unknown.
    DataError
        The cohort or the strata vary within an assignment unit, or the
        assignment column is missing in some rows.
    IdentificationError
        The assignment space has a single element (one cohort value only, or
        strata so fine that every stratum's units share a cohort).
    InferenceError
        The estimator failed on a re-drawn assignment (chained to its error).
    TneEvalTypeError
        ``estimator`` is not callable or returns neither a number nor a result.

    Notes
    -----
    *Test.* Let :math:`\mathcal A` be the assignments of cohorts to departments
    with the observed cohort sizes (within strata) and :math:`T(a)` the
    statistic under :math:`a`. The p-value of the sharp null of no effect on any
    unit is :math:`|\mathcal A|^{-1}\sum_{a\in\mathcal A}
    1\{|T(a)| \ge |T(a_{obs})|\}` when :math:`\mathcal A` is enumerated, and
    :math:`(1 + \sum_b 1\{|T(a_b)| \ge |T(a_{obs})|\})/(1 + B)` for ``B``
    uniform draws (Fisher 1935; Rosenbaum 2002; Young 2019 for clustered
    designs). Studentizing makes the test also asymptotically valid for the
    weak null of a zero average effect when effects are heterogeneous (Wu and
    Ding 2021), which is why ``"t"`` is the default.

    *Assumption: exchangeable assignments.* Under the null, every assignment in
    :math:`\mathcal A` must be as likely as the observed one. TNE departments
    were not drawn at random: they were selected, among other things, on their
    social index, so assignments that treat very different departments are less
    plausible and the test is only approximately valid. Stratifying on what
    drove selection (``strata=``, e.g. region, or bins of the social index)
    restores exchangeability within strata, at the price of a smaller space; the
    test also remains valid if conditional on the strata the assignment was as
    good as random.

    *Interval.* Under :math:`H_0: Y_{it}(1) = Y_{it}(0) + \tau_0` for the treated
    post-treatment rows (:math:`D_{it} = 1\{t \ge G_i\}`, :math:`G_i` treated),
    the outcomes :math:`Y - \tau_0 D^{obs}` are untreated outcomes, and for an
    estimator linear in the outcome
    :math:`T_a(\tau_0) = \hat\theta_a(Y) - \tau_0\hat\theta_a(D^{obs})`, so two
    estimator calls per assignment give the p-value at every :math:`\tau_0`; the
    interval is the hull of :math:`\{\tau_0: p(\tau_0) > \alpha\}`. Linearity is
    checked numerically on the observed assignment; att_gt (every method) and its
    aggregations are linear in the outcome given the covariates. For ``"t"`` the
    standard error changes with :math:`\tau_0`, so no interval is returned.

    *Parallelism.* The assignments are drawn from ``seed`` before the work is
    split, so ``n_jobs`` changes the wall time, never the result. On the CM2
    school panel one att_gt fit takes about 0.05 s (reg) to 0.1 s (dr), so 999
    draws take one to two minutes on one core.

    References
    ----------
    Fisher, R. A. (1935), *The Design of Experiments*. Oliver & Boyd.

    Rosenbaum, P. R. (2002), *Observational Studies*, 2nd ed., ch. 2. Springer.

    Young, A. (2019), Channeling Fisher: randomization tests and the statistical
    insignificance of seemingly significant experimental results, *QJE* 134(2),
    557-598. https://doi.org/10.1093/qje/qjy029

    Wu, J. and Ding, P. (2021), Randomization tests for weak null hypotheses in
    randomized experiments, *JASA* 116(536), 1898-1913.
    https://doi.org/10.1080/01621459.2020.1750415

    MacKinnon, J. G. and Webb, M. D. (2020), Randomization inference for
    difference-in-differences with few treated clusters, *J. Econometrics*
    218(2), 435-450. https://doi.org/10.1016/j.jeconom.2020.04.024

    Examples
    --------
    >>> import tne_eval as tne
    >>> from tne_eval.datasets import load_synthetic
    >>> panel = load_synthetic("school_panel")
    >>> cm2 = panel[panel.grade == "CM2"]
    >>> spec = tne.PanelSpec(unit="school_id", time="year", outcome="score_french",
    ...                      cohort="first_treated", cluster="department")
    >>> def simple_att(d):
    ...     gt = tne.att_gt(d, spec, method="reg", unbalanced="keep")
    ...     return tne.aggregate(gt, "simple")
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", tne.SmallClusterWarning)
    ...     res = tne.randomization_test(cm2, simple_att, reps=49, seed=1,
    ...                                  statistic="estimate")
    >>> res.reps, res.exact
    (49, False)
    >>> bool(res.conf_int[0] < res.observed < res.conf_int[1])
    True
    """
    data = check_dataframe(data)
    if not callable(estimator):
        raise TneEvalTypeError(
            f"estimator must be a callable data -> float or EstimationResult (got "
            f"{type(estimator).__name__})."
        )
    statistic = check_choice(statistic, "statistic", ("t", "estimate"))  # type: ignore[assignment]
    alternative = check_choice(
        alternative, "alternative", ("two-sided", "greater", "less")
    )  # type: ignore[assignment]
    reps = check_int(reps, "reps", minimum=1)
    exact_if_at_most = check_int(exact_if_at_most, "exact_if_at_most", minimum=0)
    check_seed(seed)
    alpha = check_alpha(alpha)
    n_jobs = check_n_jobs(n_jobs)
    resolve_progress(progress)
    named = [assign_column, cohort_column] + ([strata] if strata is not None else [])
    for arg, col in zip(("assign_column", "cohort_column", "strata"), named):
        if not isinstance(col, str):
            raise TneEvalTypeError(f"{arg} must be a column name (got {col!r}).")
    check_columns_exist(data, named, role="randomization_test")

    space, _ = _build_space(data, assign_column, cohort_column, strata)
    n_space = space.size
    exact = n_space <= exact_if_at_most
    notes: list[str] = []

    obs_stat, term, obs_result = _evaluate(estimator, data, statistic, term)
    if obs_result is None:
        statistic_label = "value"
    else:
        statistic_label = statistic
    if not np.isfinite(obs_stat):
        raise IdentificationError(
            "the statistic is not finite under the observed assignment "
            f"({obs_stat}); check the estimator on the data first."
        )

    # interval: which columns, and is it possible?
    want_ci = (
        conf_int is not False
        and statistic_label in ("estimate", "value")
        and alternative == "two-sided"
    )
    if conf_int is True and not want_ci:
        notes.append(
            "No confidence interval: test inversion for a constant effect needs "
            "statistic='estimate' (a t statistic's standard error changes with the "
            "hypothesized effect) and alternative='two-sided'."
        )
    if want_ci and obs_result is not None:
        outcome_column = outcome_column or obs_result.spec.outcome
        time_column = time_column or obs_result.spec.time
    if want_ci and (outcome_column is None or time_column is None):
        want_ci = False
        if conf_int:
            notes.append(
                "No confidence interval: pass outcome_column and time_column (the "
                "estimator returned a number, so they cannot be read from its spec)."
            )
    d_obs = None
    if want_ci:
        check_columns_exist(
            data, [outcome_column, time_column], role="randomization_test"
        )
        g = pd.to_numeric(data[cohort_column], errors="coerce").to_numpy(float)
        t = pd.to_numeric(data[time_column], errors="coerce").to_numpy(float)
        treated = np.isfinite(g) & (g > 0)
        d_obs = (treated & (t >= g)).astype(float)

    def with_cohort(codes: np.ndarray, frame: pd.DataFrame = data) -> pd.DataFrame:
        values = space.cohort_values[codes][space.row_unit]
        return frame.assign(**{cohort_column: values})

    def with_outcome(values: np.ndarray) -> pd.DataFrame:
        return data.assign(**{outcome_column: values})  # type: ignore[dict-item]

    if exact:
        draws = list(space.enumerate())
    else:
        rng = np.random.default_rng(seed)
        draws = [space.draw(rng) for _ in range(reps)]

    c_obs = np.nan
    data_d = None
    if want_ci:
        y = pd.to_numeric(data[outcome_column], errors="coerce").to_numpy(float)
        data_d = with_outcome(d_obs)
        c_obs = _evaluate(estimator, data_d, "estimate", term)[0]
        tau = 1.0 + abs(obs_stat)
        shifted = _evaluate(estimator, with_outcome(y - tau * d_obs), "estimate", term)
        if not np.isfinite(c_obs) or not np.isclose(
            shifted[0], obs_stat - tau * c_obs, rtol=1e-7, atol=1e-9
        ):
            want_ci = False
            notes.append(
                "No confidence interval: the estimate is not linear in the outcome "
                f"(shifting treated post rows by {tau:.3g} moved it by "
                f"{obs_stat - shifted[0]:.6g}, expected {tau * c_obs:.6g})."
            )

    def one_draw(task: tuple[int, np.ndarray]) -> tuple[float, float, list[str]]:
        b, codes = task
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                a = _evaluate(estimator, with_cohort(codes), statistic, term)[0]
                c = np.nan
                if want_ci:
                    c = _evaluate(
                        estimator, with_cohort(codes, data_d), "estimate", term
                    )[0]
            except Exception as err:
                raise InferenceError(
                    f"the estimator failed on re-drawn assignment {b + 1} of "
                    f"{len(draws)} ({type(err).__name__}: {err}). Make the estimator "
                    "robust to any assignment of the cohorts (e.g. it must not "
                    "depend on which departments are treated), or use strata."
                ) from err
        msgs = [f"{w.category.__name__}: {str(w.message)[:120]}" for w in caught]
        return float(a), float(c), msgs

    evaluated = parallel_map(
        one_draw,
        list(enumerate(draws)),
        n_jobs=n_jobs,
        progress=progress,
        desc="randomization inference",
    )
    stats_a = np.array([e[0] for e in evaluated], dtype=float)
    stats_c = np.array([e[1] for e in evaluated], dtype=float)
    caught_msgs: dict[str, int] = {}
    for _, _, msgs in evaluated:
        for key in msgs:
            caught_msgs[key] = caught_msgs.get(key, 0) + 1
    if caught_msgs:
        first = next(iter(caught_msgs))
        notes.append(
            f"The estimator raised {sum(caught_msgs.values())} warning(s) of "
            f"{len(caught_msgs)} kind(s) on re-drawn assignments (not shown); "
            f"e.g. {first}"
        )

    assignments = pd.DataFrame(
        space.cohort_values[np.vstack(draws)],
        columns=pd.Index(space.labels, name=assign_column),
    )
    keep = np.isfinite(stats_a)
    if want_ci:
        keep &= np.isfinite(stats_c)
    if not keep.all():
        notes.append(
            f"{int((~keep).sum())} of {keep.size} re-drawn assignment(s) gave a "
            "non-finite statistic and were left out of the p-value."
        )
    dist = stats_a[keep]
    if dist.size == 0:
        raise IdentificationError(
            "the statistic is not finite under any re-drawn assignment; the "
            "estimator cannot be randomized over this assignment space."
        )
    p = _p_value(dist, obs_stat, alternative, exact)

    ci = (np.nan, np.nan)
    if want_ci:
        low, high, convex = _invert(
            dist, stats_c[keep], obs_stat, float(c_obs), alpha, exact
        )
        ci = (low, high)
        if not convex:
            notes.append(
                "The set of effects not rejected is not an interval; conf_int is "
                "its hull."
            )
        if not (np.isfinite(low) and np.isfinite(high)):
            notes.append(
                "The interval is unbounded: too few assignments differ from the "
                "observed one for a test at this level."
            )
    if exact:
        notes.append(
            f"Exact: all {n_space} assignments (cohort sizes kept"
            + (f" within {strata!r}" if strata else "")
            + ") enumerated; the smallest attainable p-value is "
            f"{1 / n_space:.3g}."
        )

    return RandomizationResult(
        statistic=statistic_label,
        term=term,
        observed=float(obs_stat),
        p_value=float(p),
        distribution=dist,
        assignments=assignments,
        n_assignments=int(n_space),
        exact=bool(exact),
        reps=len(draws),
        alternative=alternative,
        alpha=alpha,
        conf_int=(float(ci[0]), float(ci[1])),
        strata=strata,
        seed=None if exact else seed,
        notes=tuple(notes),
    )
