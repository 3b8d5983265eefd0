"""Monte Carlo study: coverage of ``att_gt``'s confidence intervals in the TNE design.

For replication ``r = 1, ..., R`` the synthetic TNE world is simulated with seed
``base_seed + r`` (every other knob at its default: 101 departments, 12 treated,
cohorts 2020 (2 departments) and 2021 (10)). On the CM2 school panel (French
score) ATT(g,t) are estimated by the doubly robust estimator with the social
index as covariate, never-treated comparisons, varying base period and
``unbalanced="keep"``. The simple ATT, the dynamic (event-study) overall effect
and the event-time effects e = 0, ..., 4 are compared with the world's truth
(``truth["outcomes"]["score_french_CM2"]["weightings"]["schools"]``) under three
inferences:

``cluster``
    ``Cluster()``: analytic influence-function variance clustered by department,
    times G/(G-1), t(G-1) critical values (the default of ``att_gt``).
``cluster_nss``
    ``Cluster(small_sample=False)``: the same without the correction (normal).
``bootstrap``
    ``MultiplierBootstrap(reps=499, seed=<world seed>)``: Rademacher multipliers
    shared by the schools of a department; pointwise intervals and the sup-t
    simultaneous band of the event study.

Each replication also records the pre-trend Wald test (whose null holds: the
world has no anticipation and parallel trends hold given the social index) and,
in the null world of the same seed (``effect_scale=0``, identical noise), whether
each inference rejects H0: simple ATT = 0 at 5%.

The test suite's reduced checks may compute only one of the two worlds of a
replication (``worlds=("effect",)`` or ``("null",)``): the records of that world
are then exactly those of a full replication, and the summary omits the parts
of the other world. The command line always computes both.

Per-replication records are appended to a JSON-lines file as they are computed,
so an interrupted run resumes where it stopped (same settings required). The
summary (coverage with its binomial Monte Carlo standard error, bias, ratio of
the mean standard error to the Monte Carlo SD of the estimation errors, size of
the tests) is written to JSON and Markdown.

Usage::

    python studies/coverage_att_gt.py --reps 200 --out studies/results/coverage_att_gt.json
    python studies/coverage_att_gt.py --reps 1000 --jobs 2   # resumes from the records
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import shlex
import sys
import time
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import tne_eval as tne
from studies._provenance import run_record
from studies._records import read_records, start_records
from tne_eval.datasets import WorldConfig, simulate
from tne_eval.errors import TneEvalWarning

__all__ = [
    "EVENT_TIMES",
    "INFERENCES",
    "TARGETS",
    "WORLDS",
    "StudySettings",
    "inference_objects",
    "main",
    "run_replication",
    "run_study",
    "summarise",
    "to_markdown",
]

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "studies" / "results" / "coverage_att_gt.json"

#: Seed of the committed default world; replication r uses ``base_seed + r``.
DEFAULT_BASE_SEED = 20200901
DEFAULT_BOOT_REPS = 499
ALPHA = 0.05
OUTCOME = "score_french"
GRADE = "CM2"
TRUTH_KEY = f"{OUTCOME}_{GRADE}"
WEIGHTING = "schools"
#: Event times whose effect is recorded one by one. e = 4 is identified by the
#: 2020 cohort alone (2 departments) and is reported beside e = 0..3.
EVENT_TIMES: tuple[int, ...] = (0, 1, 2, 3, 4)
#: Estimands, in report order.
TARGETS: tuple[str, ...] = (
    "simple",
    "dynamic_overall",
    *(f"e{e}" for e in EVENT_TIMES),
)
#: Inference labels, in report order.
INFERENCES: tuple[str, ...] = ("cluster", "cluster_nss", "bootstrap")
INFERENCE_LABELS = {
    "cluster": "Cluster() by department: G/(G-1), t(G-1)",
    "cluster_nss": "Cluster(small_sample=False): normal",
    "bootstrap": "MultiplierBootstrap(reps=499) by department",
}
SPEC = tne.PanelSpec(
    unit="school_id",
    time="year",
    outcome=OUTCOME,
    cohort="first_treated",
    cluster="department",
    covariates=("social_index",),
)
ESTIMATOR = {"method": "dr", "unbalanced": "keep"}
#: The two worlds of a replication: with the programme's effects, and the null
#: world of the same seed (``effect_scale=0``, identical noise).
WORLDS: tuple[str, ...] = ("effect", "null")


@dataclass(frozen=True)
class StudySettings:
    """Everything that determines the records of a replication."""

    base_seed: int = DEFAULT_BASE_SEED
    boot_reps: int = DEFAULT_BOOT_REPS
    alpha: float = ALPHA

    def world_seed(self, r: int) -> int:
        """Seed of the world of replication ``r`` (1-based)."""
        return self.base_seed + r


def inference_objects(boot_reps: int, boot_seed: int) -> dict[str, object]:
    """Return the three inference choices compared, keyed by :data:`INFERENCES`."""
    return {
        "cluster": tne.Cluster(),
        "cluster_nss": tne.Cluster(small_sample=False),
        "bootstrap": tne.MultiplierBootstrap(reps=boot_reps, seed=boot_seed),
    }


def _cm2_panel(world) -> pd.DataFrame:
    panel = world.school_panel
    return panel.loc[panel["grade"] == GRADE]


def _truth(world) -> dict[str, Any]:
    return world.truth["outcomes"][TRUTH_KEY]["weightings"][WEIGHTING]


def _fit(panel: pd.DataFrame, settings: StudySettings):
    return tne.att_gt(
        panel, SPEC, inference=tne.Cluster(), alpha=settings.alpha, **ESTIMATOR
    )


def _covers(frame: pd.DataFrame, rows: list[str], truth: np.ndarray, lo: str, hi: str):
    low = frame.loc[rows, lo].to_numpy(dtype=float)
    high = frame.loc[rows, hi].to_numpy(dtype=float)
    return (low <= truth) & (truth <= high)


def _band_covers(dyn: pd.DataFrame, terms: list[str], truth: dict[int, float]) -> bool:
    """Whether the sup-t band covers the true effects of all ``terms`` jointly."""
    events = dyn.loc[terms, "event_time"].astype(int)
    values = np.array([truth[int(e)] for e in events])
    return bool(np.all(_covers(dyn, terms, values, "band_low", "band_high")))


def _check_worlds(worlds: Sequence[str]) -> tuple[str, ...]:
    out = tuple(worlds)
    if not out or any(w not in WORLDS for w in out) or len(set(out)) != len(out):
        raise ValueError(
            f"worlds must be a non-empty subset of {WORLDS} without repeats (got "
            f"{worlds!r})."
        )
    return tuple(w for w in WORLDS if w in out)


def run_replication(
    r: int,
    settings: StudySettings = StudySettings(),
    *,
    worlds: Sequence[str] = WORLDS,
) -> dict[str, Any]:
    """Simulate the worlds of replication ``r``, estimate, and return one flat record.

    Parameters
    ----------
    r : int
        Replication number (1-based); the world seed is ``settings.base_seed + r``
        and the bootstrap seed is the world seed.
    settings : StudySettings
        Base seed, bootstrap draws and level.
    worlds : sequence of {"effect", "null"}, default both
        Which worlds to simulate and estimate. Each world's fields are the same
        whether or not the other world is computed (half the cost each).

    Returns
    -------
    dict
        ``r``, ``seed``; for the effect world the truths ``truth_<target>``,
        estimates ``est_<target>``, standard errors ``se_<inference>_<target>``
        and coverage indicators ``cover_<inference>_<target>``, the sup-t band
        indicators and critical value and the pre-trend test; for the null world
        its rejections; the warnings raised.
    """
    worlds = _check_worlds(worlds)
    seed = settings.world_seed(r)
    infs = inference_objects(settings.boot_reps, seed)
    rec: dict[str, Any] = {"r": int(r), "seed": int(seed), "boot_seed": int(seed)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TneEvalWarning)
        if "effect" in worlds:
            rec.update(_effect_world_record(seed, settings, infs))
        if "null" in worlds:
            rec.update(_null_world_record(seed, settings, infs))
    rec["warnings"] = sorted({type(w.message).__name__ for w in caught})
    return rec


def _effect_world_record(
    seed: int, settings: StudySettings, infs: dict[str, object]
) -> dict[str, Any]:
    rec: dict[str, Any] = {}
    world = simulate(WorldConfig(seed=seed))
    panel = _cm2_panel(world)
    truth = _truth(world)
    gt = _fit(panel, settings)
    rec["n_rows"] = len(panel)
    truth_dyn = {int(k): float(v) for k, v in truth["dynamic"].items()}
    targets_truth = {
        "simple": float(truth["simple"]),
        "dynamic_overall": float(truth["dynamic_overall"]),
        **{f"e{e}": truth_dyn[e] for e in EVENT_TIMES},
    }
    rows = {"simple": "ATT", "dynamic_overall": "overall"}
    rows.update({f"e{e}": f"e={e}" for e in EVENT_TIMES})
    truth_vec = np.array([targets_truth[t] for t in TARGETS])
    for t in TARGETS:
        rec[f"truth_{t}"] = targets_truth[t]
    for label, inf in infs.items():
        simple = tne.aggregate(gt, kind="simple", inference=inf).to_frame()
        dyn = tne.aggregate(gt, kind="dynamic", inference=inf).to_frame()
        both = pd.concat([simple, dyn])
        terms = [rows[t] for t in TARGETS]
        est = both.loc[terms, "estimate"].to_numpy(dtype=float)
        se = both.loc[terms, "std_error"].to_numpy(dtype=float)
        cover = _covers(both, terms, truth_vec, "conf_low", "conf_high")
        for k, t in enumerate(TARGETS):
            if label == INFERENCES[0]:
                rec[f"est_{t}"] = float(est[k])
            rec[f"se_{label}_{t}"] = float(se[k])
            rec[f"cover_{label}_{t}"] = bool(cover[k])
        if label == "bootstrap":
            ev = dyn["event_time"]
            post_terms = list(dyn.index[ev.notna() & (ev >= 0)])
            all_terms = list(dyn.index[ev.notna()])

            rec["band_cover_post"] = _band_covers(dyn, post_terms, truth_dyn)
            rec["band_cover_all"] = _band_covers(dyn, all_terms, truth_dyn)
            rec["band_n_post"] = len(post_terms)
            half = (dyn["band_high"] - dyn["estimate"]) / dyn["std_error"]
            rec["band_crit"] = float(half.dropna().iloc[0])
    pre = gt.pretest
    rec["pretest_stat"] = float(pre.statistic)
    rec["pretest_df"] = int(pre.df)
    rec["pretest_p"] = float(pre.p_value)
    rec["pretest_reject"] = bool(pre.p_value < settings.alpha)
    return rec


def _null_world_record(
    seed: int, settings: StudySettings, infs: dict[str, object]
) -> dict[str, Any]:
    rec: dict[str, Any] = {}
    null_world = simulate(WorldConfig(seed=seed, effect_scale=0.0))
    null_gt = _fit(_cm2_panel(null_world), settings)
    rec["null_truth_simple"] = float(_truth(null_world)["simple"])
    for label, inf in infs.items():
        frame = tne.aggregate(null_gt, kind="simple", inference=inf).to_frame()
        if label == INFERENCES[0]:
            rec["null_est_simple"] = float(frame.loc["ATT", "estimate"])
        rec[f"null_se_{label}"] = float(frame.loc["ATT", "std_error"])
        covers_zero = frame.loc["ATT", "conf_low"] <= 0 <= frame.loc["ATT", "conf_high"]
        rec[f"null_reject_{label}"] = not bool(covers_zero)
    return rec


# ---------------------------------------------------------------------------
# records (resumable) and summary
# ---------------------------------------------------------------------------


def run_study(
    reps: int,
    settings: StudySettings = StudySettings(),
    *,
    jobs: int = 1,
    records_path: Path | None = None,
    resume: bool = True,
    progress: bool = False,
    worlds: Sequence[str] = WORLDS,
) -> pd.DataFrame:
    """Run replications ``1..reps`` and return one row per replication.

    Parameters
    ----------
    reps : int
        Number of replications.
    settings : StudySettings
        Seeds, bootstrap draws and level.
    jobs : int, default 1
        Worker processes (results do not depend on it).
    records_path : Path, optional
        JSON-lines file to which records are appended as they are computed; with
        ``resume`` the replications it already holds are not recomputed.
    resume : bool, default True
        Reuse the records of ``records_path``.
    progress : bool, default False
        Print a progress line every 25 replications.
    worlds : sequence of {"effect", "null"}, default both
        The worlds of each replication to compute (see :func:`run_replication`);
        records files hold complete replications only, so ``records_path``
        needs both.

    Returns
    -------
    pandas.DataFrame
        The records of replications 1..reps, sorted by ``r``.
    """
    worlds = _check_worlds(worlds)
    if records_path is not None and worlds != WORLDS:
        raise ValueError(
            "records_path stores complete replications: compute both worlds or "
            "pass records_path=None."
        )
    done: dict[int, dict[str, Any]] = {}
    if records_path is not None:
        if resume:
            done = _read_records(records_path, settings)
        _start_records(records_path, settings, done)
    todo = [r for r in range(1, reps + 1) if r not in done]
    sink = records_path.open("a") if records_path is not None else None
    start = time.perf_counter()
    try:
        results: Iterable[dict[str, Any]]
        if jobs > 1 and len(todo) > 1:
            pool = ProcessPoolExecutor(max_workers=jobs)
            results = pool.map(
                functools.partial(run_replication, worlds=worlds),
                todo,
                [settings] * len(todo),
                chunksize=4,
            )
        else:
            pool = None
            results = (run_replication(r, settings, worlds=worlds) for r in todo)
        for k, rec in enumerate(results, 1):
            done[rec["r"]] = rec
            if sink is not None:
                sink.write(json.dumps(rec) + "\n")
                sink.flush()
            if progress and (k % 25 == 0 or k == len(todo)):
                rate = (time.perf_counter() - start) / k
                print(
                    f"{k}/{len(todo)} new replications, {rate:.2f} s each",
                    file=sys.stderr,
                    flush=True,
                )
        if pool is not None:
            pool.shutdown()
    finally:
        if sink is not None:
            sink.close()
    out = pd.DataFrame([done[r] for r in range(1, reps + 1)])
    out.attrs["new_replications"] = len(todo)
    return out


def _header(settings: StudySettings) -> dict[str, Any]:
    return {"settings": asdict(settings), "study": "coverage_att_gt"}


def _read_records(path: Path, settings: StudySettings) -> dict[int, dict[str, Any]]:
    return read_records(path, _header(settings))


def _start_records(
    path: Path, settings: StudySettings, done: dict[int, dict[str, Any]]
) -> None:
    start_records(path, _header(settings), done)


def _binomial(hits: np.ndarray) -> dict[str, float]:
    n = hits.size
    p = float(hits.mean())
    return {"rate": p, "mc_se": math.sqrt(p * (1.0 - p) / n), "count": int(hits.sum())}


def summarise(records: pd.DataFrame) -> dict:
    r"""Coverage, bias, SE ratio and test sizes from the replication records.

    Coverage and rejection rates come with their binomial Monte Carlo standard
    error :math:`\sqrt{p(1-p)/R}`. The bias is the mean of estimate minus the
    replication's truth (the truth varies slightly across worlds), with Monte
    Carlo SE ``sd/sqrt(R)``; ``se_ratio`` is the mean standard error divided by
    the SD of those errors (1 when standard errors are right on average).
    Records holding one world only (``run_study(..., worlds=...)``) give the
    summary of that world: ``targets``, ``band_*`` and ``pretest`` for the
    effect world, ``null_simple`` for the null world.
    """
    n = len(records)
    out: dict[str, Any] = {"n_reps": n}
    if "est_simple" in records:
        out.update(_summarise_effect_world(records))
    if "null_est_simple" in records:
        out["null_simple"] = _summarise_null_world(records)
    out["warnings"] = sorted({w for ws in records["warnings"] for w in ws})
    return out


def _summarise_effect_world(records: pd.DataFrame) -> dict[str, Any]:
    n = len(records)
    targets: dict[str, Any] = {}
    for t in TARGETS:
        err = (records[f"est_{t}"] - records[f"truth_{t}"]).to_numpy(dtype=float)
        sd = float(err.std(ddof=1)) if n > 1 else float("nan")
        entry: dict[str, Any] = {
            "mean_truth": float(records[f"truth_{t}"].mean()),
            "mean_estimate": float(records[f"est_{t}"].mean()),
            "bias": float(err.mean()),
            "bias_mc_se": sd / math.sqrt(n) if n > 1 else float("nan"),
            "mc_sd": sd,
            "inference": {},
        }
        for label in INFERENCES:
            se = records[f"se_{label}_{t}"].to_numpy(dtype=float)
            cover = records[f"cover_{label}_{t}"].to_numpy(dtype=bool)
            entry["inference"][label] = {
                "coverage": _binomial(cover),
                "mean_se": float(np.mean(se)),
                "se_ratio": float(np.mean(se) / sd) if n > 1 else float("nan"),
                "n_nan_se": int(np.isnan(se).sum()),
            }
        targets[t] = entry
    return {
        "targets": targets,
        "band_post": {
            **_binomial(records["band_cover_post"].to_numpy(dtype=bool)),
            "event_times": int(records["band_n_post"].iloc[0]),
            "mean_critical_value": float(records["band_crit"].mean()),
        },
        "band_all": _binomial(records["band_cover_all"].to_numpy(dtype=bool)),
        "pretest": {
            **_binomial(records["pretest_reject"].to_numpy(dtype=bool)),
            "df": int(records["pretest_df"].iloc[0]),
            "n_nan": int(records["pretest_p"].isna().sum()),
        },
    }


def _summarise_null_world(records: pd.DataFrame) -> dict[str, Any]:
    nulls = {
        label: _binomial(records[f"null_reject_{label}"].to_numpy(dtype=bool))
        for label in INFERENCES
    }
    null_err = records["null_est_simple"].to_numpy(dtype=float)
    return {
        "truth": float(records["null_truth_simple"].abs().max()),
        "mean_estimate": float(null_err.mean()),
        "rejection": nulls,
    }


# ---------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------


def _pm(entry: dict[str, float], digits: int = 3) -> str:
    return f"{entry['rate']:.{digits}f} ± {entry['mc_se']:.{digits}f}"


def to_markdown(result: dict) -> str:
    """Render the study's JSON result as Markdown tables."""
    s = result["summary"]
    meta = result["metadata"]
    names = {
        "simple": "simple ATT",
        "dynamic_overall": "dynamic overall",
        **{f"e{e}": f"dynamic e={e}" for e in EVENT_TIMES},
    }
    names["e4"] += " (2020 cohort only)"
    lines = [
        "# Coverage of att_gt's confidence intervals in the TNE design",
        "",
        f"{s['n_reps']} replications (world seeds {meta['world_seeds'][0]}.."
        f"{meta['world_seeds'][1]}), CM2 French score, DR with the social index, "
        f'`unbalanced="keep"`, nominal level {1 - meta["settings"]["alpha"]:.0%}. '
        "Entries are rates ± binomial Monte Carlo standard error.",
        "",
        "## Coverage of pointwise 95% intervals",
        "",
        "| estimand | mean truth | "
        + " | ".join(INFERENCE_LABELS[k] for k in INFERENCES)
        + " |",
        "|---|---:|" + "---:|" * len(INFERENCES),
    ]
    for t in TARGETS:
        e = s["targets"][t]
        cells = [_pm(e["inference"][k]["coverage"]) for k in INFERENCES]
        lines.append(
            f"| {names[t]} | {e['mean_truth']:.3f} | " + " | ".join(cells) + " |"
        )
    lines += [
        "",
        "## Bias and standard errors",
        "",
        "Bias = mean(estimate - truth) ± its MC SE; MC SD = SD of estimate - truth "
        "across replications; SE ratio = mean SE / MC SD.",
        "",
        "| estimand | bias | MC SD | "
        + " | ".join(f"SE ratio {k}" for k in INFERENCES)
        + " |",
        "|---|---:|---:|" + "---:|" * len(INFERENCES),
    ]
    for t in TARGETS:
        e = s["targets"][t]
        ratios = [f"{e['inference'][k]['se_ratio']:.3f}" for k in INFERENCES]
        lines.append(
            f"| {names[t]} | {e['bias']:+.3f} ± {e['bias_mc_se']:.3f} | "
            f"{e['mc_sd']:.3f} | " + " | ".join(ratios) + " |"
        )
    band, pre, null = s["band_post"], s["pretest"], s["null_simple"]["rejection"]
    lines += [
        "",
        "## Joint band, pre-trend test and null world",
        "",
        "| check | nominal | observed |",
        "|---|---:|---:|",
        f"| sup-t band (bootstrap) covers all e >= 0 truths (e = 0..{band['event_times'] - 1}) "
        f"jointly | 0.95 | {_pm(band)} |",
        f"| sup-t band covers all event times (pre-periods: truth 0) | 0.95 | "
        f"{_pm(s['band_all'])} |",
        f"| pre-trend Wald test ({pre['df']} df) rejects at 5% | 0.05 | {_pm(pre)} |",
    ]
    for k in INFERENCES:
        lines.append(
            f"| null world: {INFERENCE_LABELS[k]} rejects simple ATT = 0 | 0.05 | "
            f"{_pm(null[k])} |"
        )
    lines += [
        "",
        f"Mean sup-t critical value: {band['mean_critical_value']:.3f}. "
        f"Warnings raised during the study: {', '.join(s['warnings']) or 'none'}.",
        "",
        "## Provenance",
        "",
        f"- command: `{meta['command']}`",
        f"- tne_eval {meta['versions']['tne_eval']}, git commit {meta['git_commit']}",
        f"- settings: {json.dumps(meta['settings'])}; world config: default "
        "`WorldConfig` except `seed` (and `effect_scale=0` in the null world)",
        f"- this invocation computed {meta['new_replications']} replication(s) in "
        f"{meta['wall_seconds']:.0f} s ({meta['jobs']} job(s)), the others were read "
        f"from `{meta['records']}`; finished {meta['finished']}",
        "",
    ]
    return "\n".join(lines)


def metadata(
    settings: StudySettings,
    reps: int,
    argv: Sequence[str],
    wall: float,
    jobs: int,
    new_reps: int,
) -> dict[str, Any]:
    """Seeds, configuration, versions and the command that produced a result."""
    return {
        "study": "coverage_att_gt",
        "command": "python " + shlex.join(argv),
        "settings": asdict(settings),
        "world_seeds": [settings.world_seed(1), settings.world_seed(reps)],
        "seed_rule": "world seed = base_seed + r for r = 1..reps; bootstrap seed = "
        "world seed; null world = same seed with effect_scale=0",
        "world_config": WorldConfig(seed=settings.world_seed(1)).to_dict(),
        "estimator": {
            "call": "att_gt(cm2_panel, spec, method='dr', unbalanced='keep', "
            "inference=Cluster()), then aggregate(kind='simple'|'dynamic', "
            "inference=...)",
            "spec": {
                "unit": SPEC.unit,
                "time": SPEC.time,
                "outcome": SPEC.outcome,
                "cohort": SPEC.cohort,
                "cluster": SPEC.cluster,
                "covariates": list(SPEC.covariates),
            },
            "sample": f"school_panel rows with grade == '{GRADE}'",
            "truth": f"truth['outcomes']['{TRUTH_KEY}']['weightings']['{WEIGHTING}']",
            "inferences": INFERENCE_LABELS,
        },
        "new_replications": new_reps,
        "jobs": jobs,
        **run_record(wall),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    argv = list(sys.argv if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=200, help="replications (200)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON result")
    parser.add_argument("--md", type=Path, help="Markdown table (default: --out .md)")
    parser.add_argument(
        "--records",
        type=Path,
        help="per-replication JSON lines (default: --out .reps.jsonl)",
    )
    parser.add_argument("--base-seed", type=int, default=DEFAULT_BASE_SEED)
    parser.add_argument("--boot-reps", type=int, default=DEFAULT_BOOT_REPS)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (1)")
    parser.add_argument(
        "--no-resume", action="store_true", help="ignore existing records"
    )
    args = parser.parse_args(argv[1:])
    if args.reps < 2:
        parser.error("--reps must be at least 2")
    settings = StudySettings(base_seed=args.base_seed, boot_reps=args.boot_reps)
    records_path = args.records or args.out.with_suffix(".reps.jsonl")
    md_path = args.md or args.out.with_suffix(".md")
    start = time.perf_counter()
    records = run_study(
        args.reps,
        settings,
        jobs=args.jobs,
        records_path=records_path,
        resume=not args.no_resume,
        progress=True,
    )
    wall = time.perf_counter() - start
    result = {
        "metadata": metadata(
            settings,
            args.reps,
            argv,
            wall,
            args.jobs,
            records.attrs["new_replications"],
        ),
        "summary": summarise(records),
    }
    records_abs = records_path.resolve()
    result["metadata"]["records"] = (
        str(records_abs.relative_to(REPO))
        if records_abs.is_relative_to(REPO)
        else str(records_abs)
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    md_path.write_text(to_markdown(result))
    print(to_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
