"""Benchmark: Callaway-Sant'Anna att_gt + four aggregations + clustered bootstrap.

The job, identical for every engine:

* doubly robust ATT(g,t) (logit propensity score + OLS outcome model, R ``did``'s
  ``"dr"``) with one covariate ``x``, never-treated comparison group, varying
  base period, every (g, t) cell (pre and post);
* the four aggregations (simple, dynamic/event, group/cohort, calendar/time),
  each with its overall average;
* 999 multiplier-bootstrap draws clustered by ``dept``, for the cells and for
  every aggregation (with the sup-t band where the engine offers it).

Engines: ``tne_eval`` (runs with the interpreter that runs this script) and the
Python peers ``csdid`` and ``differences`` (run from ``benchmarks/.peers-venv``,
created on first use with the pins of ``benchmarks/peers-requirements.txt``).
Each engine runs in a fresh interpreter; see ``benchmarks/_harness.py`` for how
time and memory are measured.

Usage::

    python benchmarks/bench_att_gt.py                      # 1,000,000 units x 8 periods
    python benchmarks/bench_att_gt.py --units 1000000,100000
    python benchmarks/bench_att_gt.py --dataset national   # synthetic TNE world
    python benchmarks/bench_att_gt.py --dataset national_pupils \
        --out benchmarks/results/att_gt_national_pupils.json  # pupils, repeated CS
    python benchmarks/bench_att_gt.py --engines tne_eval --units 200000

``--dataset national_pupils`` runs the same job on repeated cross-sections (one
row per tested pupil, treatment assigned to schools): ``tne_eval`` with a
``RepeatedCrossSectionSpec``, ``csdid`` with ``panel=False`` and ``differences``
through its true repeated cross-section path (an entity index unique per row).

Writes ``benchmarks/results/att_gt.json`` and ``att_gt.md`` and prints the table.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _harness as H  # noqa: E402  (stdlib only; importable from the peers' venv)

ENGINES = ("tne_eval", "csdid", "differences")
PEERS = ("csdid", "differences")
PEERS_VENV = HERE / ".peers-venv"
PEERS_REQUIREMENTS = HERE / "peers-requirements.txt"
#: the targets of the issue, for the tne_eval engine
TARGET_SECONDS = 5.0
TARGET_PEAK_RSS_MB = 1.5 * 1024
REPS = 999
BOOT_SEED = 1
KINDS = ("simple", "dynamic", "group", "calendar")

# The exact calls each engine makes, recorded in the JSON output.
CALLS = {
    "tne_eval": (
        "spec = PanelSpec(unit='unit', time='year', outcome='y', cohort='g', "
        "cluster='dept', covariates=('x',)); "
        "gt = att_gt(df, spec, method='dr', control_group='never_treated', "
        f"inference=MultiplierBootstrap(reps={REPS}, seed={BOOT_SEED})); "
        "[aggregate(gt, kind=k) for k in ('simple', 'dynamic', 'group', 'calendar')]"
    ),
    "csdid": (
        "np.random.seed(1); "
        "m = ATTgt(yname='y', tname='year', idname='unit', gname='g', data=df, "
        "control_group='nevertreated', xformla='y~x', clustervar='dept', "
        f"biters={REPS}, cband=True, pl={{pl}}, cores={{jobs}}); "
        "m.fit(est_method='dr', base_period='varying', bstrap=True); "
        "[m.aggte(typec=k) for k in ('simple', 'dynamic', 'group', 'calendar')]"
    ),
    "differences": (
        "m = ATTgt(data=df.set_index(['unit', 'year']), cohort_column='g')  "
        "# g: NaN = never treated; "
        "m.fit(formula='y ~ x', est_method='dr', control_group='never_treated', "
        f"cluster_var='dept', boot_iterations={REPS}, random_state={BOOT_SEED}, "
        "n_jobs={jobs}, progress_bar=False); "
        "for k in ('simple', 'event', 'cohort', 'time'): "
        f"m.aggregate(k, cluster_var='dept', boot_iterations={REPS}, "
        f"random_state={BOOT_SEED}, n_jobs={{jobs}}) and, except simple, "
        "the same with overall=True"
    ),
}
# The same job on repeated cross-sections (--dataset national_pupils): one row per
# pupil, ``unit`` a pupil code unique per row, ``group`` the school code.
CALLS_RC = {
    "tne_eval": (
        "spec = RepeatedCrossSectionSpec(time='year', outcome='y', group='group', "
        "cohort='g', cluster='dept', covariates=('x',)); "
        "gt = att_gt(df, spec, method='dr', control_group='never_treated', "
        f"inference=MultiplierBootstrap(reps={REPS}, seed={BOOT_SEED})); "
        "[aggregate(gt, kind=k) for k in ('simple', 'dynamic', 'group', 'calendar')]"
    ),
    "csdid": (
        "np.random.seed(1); "
        "m = ATTgt(yname='y', tname='year', idname='unit', gname='g', data=df, "
        "control_group='nevertreated', xformla='y~x', panel=False, "
        f"clustervar='dept', biters={REPS}, cband=True, pl={{pl}}, cores={{jobs}}); "
        "m.fit(est_method='dr', base_period='varying', bstrap=True); "
        "[m.aggte(typec=k) for k in ('simple', 'dynamic', 'group', 'calendar')]"
    ),
    "differences": (
        "m = ATTgt(data=df.set_index(['unit', 'year']), cohort_column='g')  "
        "# unit unique per row: differences' true repeated cross-section path; "
        "g: NaN = never treated; "
        "m.fit(formula='y ~ x', est_method='dr', control_group='never_treated', "
        f"cluster_var='dept', boot_iterations={REPS}, random_state={BOOT_SEED}, "
        "n_jobs={jobs}, progress_bar=False); "
        "for k in ('simple', 'event', 'cohort', 'time'): "
        f"m.aggregate(k, cluster_var='dept', boot_iterations={REPS}, "
        f"random_state={BOOT_SEED}, n_jobs={{jobs}}) and, except simple, "
        "the same with overall=True"
    ),
}
#: the design of each --dataset: "panel" or "rc" (repeated cross-sections)
DESIGNS = {"generic": "panel", "national": "panel", "national_pupils": "rc"}


# ---------------------------------------------------------------------------
# data (parent side, numpy in the benchmark's interpreter)
# ---------------------------------------------------------------------------


def generic_panel(
    units: int, periods: int, clusters: int, seed: int
) -> tuple[dict, dict]:
    """A balanced staggered panel with a covariate that shifts trends.

    Four treated cohorts (first treated at periods 3 .. T-2, evenly spread) and
    about 40 % never treated (``g = 0``). Treatment take-up rises with ``x``, and
    ``x`` shifts the trend of the untreated outcome, so unconditional parallel
    trends fail and the covariate matters; conditional on ``x`` the outcome model
    is linear, so every engine's DR estimator is consistent. The effect is
    ``1 + 0.2 e`` at event time ``e >= 0``. Clusters (``dept``) are drawn per unit
    with a cluster-by-period shock, so clustering matters too.
    """
    import numpy as np

    if periods < 3:
        raise SystemExit("--periods must be at least 3 (cohorts need a pre-period)")
    rng = np.random.default_rng(seed)
    years = np.arange(1, periods + 1, dtype=np.int32)
    cohorts = np.unique(np.round(np.linspace(3, max(3, periods - 2), 4))).astype(
        np.int32
    )
    x = rng.standard_normal(units)
    p_treat = 1.0 / (1.0 + np.exp(-(0.4 + 0.5 * x)))
    treated = rng.random(units) < p_treat
    g = np.where(treated, cohorts[rng.integers(0, cohorts.size, units)], 0).astype(
        np.int32
    )
    dept = rng.integers(0, clusters, units).astype(np.int32)
    alpha = rng.standard_normal(units) + 0.5 * x
    dept_shock = 0.3 * rng.standard_normal((clusters, periods))

    n = units * periods
    unit = np.repeat(np.arange(1, units + 1, dtype=np.int32), periods)
    year = np.tile(years, units)
    t = year.astype(float)
    gg = np.repeat(g, periods)
    e = t - gg
    effect = np.where((gg > 0) & (e >= 0), 1.0 + 0.2 * e, 0.0)
    y = (
        np.repeat(alpha, periods)
        + 0.1 * t
        + 0.3 * np.repeat(x, periods) * t
        + dept_shock[np.repeat(dept, periods), year - 1]
        + effect
        + rng.standard_normal(n)
    )
    arrays = {
        "unit": unit,
        "year": year,
        "g": gg,
        "dept": np.repeat(dept, periods),
        "y": y,
        "x": np.repeat(x, periods),
    }
    # True simple ATT of this sample: post cells weighted by cohort size.
    num = den = 0.0
    for c in cohorts:
        n_c = int((g == c).sum())
        for tt in years[years >= c]:
            num += n_c * (1.0 + 0.2 * (tt - c))
            den += n_c
    meta = {
        "name": "generic",
        "design": "panel",
        "units": units,
        "periods": periods,
        "clusters": clusters,
        "rows": n,
        "cohorts": cohorts.tolist(),
        "share_never_treated": float((g == 0).mean()),
        "seed": seed,
        "true_simple_att": num / den,
        "dgp": "y = a_i + 0.1 t + 0.3 x_i t + dept x period shock + (1 + 0.2 e) 1{e>=0} + N(0,1)",
    }
    return arrays, meta


def _national_world(seed: int | None):
    """Simulate the national-scale synthetic world; return it and the seconds taken."""
    from tne_eval.datasets import DEFAULT_SEED, WorldConfig, simulate

    t0 = time.perf_counter()
    world = simulate(
        WorldConfig.preset("national", seed=DEFAULT_SEED if seed is None else seed)
    )
    return world, time.perf_counter() - t0


def national_panel(seed: int | None, outcome: str, grade: str) -> tuple[dict, dict]:
    """School x year panel of the national-scale synthetic TNE world.

    Needs ``tne_eval.datasets`` (``WorldConfig.preset("national")``, ``simulate``).
    Keeps one tested grade, the schools observed with a score in every year (a
    balanced panel, so that every engine runs the same panel estimator), and
    codes ids as int32.
    """
    import numpy as np

    world, sim_seconds = _national_world(seed)
    panel = world.school_panel
    if "grade" in panel.columns:
        panel = panel[panel["grade"] == grade]
    cols = ["school_id", "department", "year", "first_treated", outcome, "social_index"]
    panel = panel[cols].dropna()
    n_years = panel["year"].nunique()
    counts = panel.groupby("school_id")["year"].transform("size")
    n_schools_all = panel["school_id"].nunique()
    panel = panel[counts == n_years].sort_values(["school_id", "year"])
    units = panel["school_id"].nunique()
    if units == 0:
        raise SystemExit(f"no school of grade {grade!r} is observed in every year")
    import pandas as pd

    arrays = {
        "unit": (pd.factorize(panel["school_id"])[0] + 1).astype(np.int32),
        "year": panel["year"].to_numpy(np.int32),
        "g": panel["first_treated"].to_numpy(np.int32),
        "dept": pd.factorize(panel["department"])[0].astype(np.int32),
        "y": panel[outcome].to_numpy(np.float64),
        "x": panel["social_index"].to_numpy(np.float64),
    }
    g_unit = arrays["g"][::n_years]
    meta = {
        "name": "national",
        "design": "panel",
        "units": int(units),
        "units_dropped_unbalanced": int(n_schools_all - units),
        "periods": int(n_years),
        "clusters": int(panel["department"].nunique()),
        "rows": len(panel),
        "cohorts": sorted(int(c) for c in set(g_unit.tolist()) - {0}),
        "share_never_treated": float((g_unit == 0).mean()),
        "seed": seed,
        "outcome": outcome,
        "grade": grade,
        "covariate": "social_index",
        "simulate_seconds": round(sim_seconds, 2),
    }
    return arrays, meta


def national_pupils(seed: int | None, outcome: str, grade: str) -> tuple[dict, dict]:
    """Pupil-level repeated cross-sections of the national-scale synthetic world.

    One row per tested pupil of grade ``grade`` (each pupil is tested once), with
    the school's ``social_index`` and ``first_treated`` merged from the schools
    table. Treatment is assigned to schools (the ``group``); the estimator is the
    repeated cross-section one. Ids are coded as int32: ``unit`` is a pupil code
    unique per row (the ``pupil`` column of the world is a number within school
    and year), ``group`` a school code, ``dept`` a department code.
    """
    import numpy as np
    import pandas as pd

    world, sim_seconds = _national_world(seed)
    pupils = world.pupils
    n_all_grades = len(pupils)
    pupils = pupils.loc[
        pupils["grade"] == grade, ["school_id", "department", "year", outcome]
    ]
    schools = world.schools[["school_id", "social_index", "first_treated"]]
    del world
    rows_grade = len(pupils)
    frame = pupils.merge(schools, on="school_id", how="inner", validate="m:1")
    frame = frame.dropna(subset=[outcome, "social_index", "first_treated"])
    if frame.empty:
        raise SystemExit(f"no pupil of grade {grade!r} with a score and a school")
    frame = frame.sort_values(["school_id", "year"], kind="stable")
    school = pd.factorize(frame["school_id"])[0].astype(np.int32) + 1
    arrays = {
        "unit": np.arange(1, len(frame) + 1, dtype=np.int32),
        "group": school,
        "year": frame["year"].to_numpy(np.int32),
        "g": frame["first_treated"].to_numpy(np.int32),
        "dept": pd.factorize(frame["department"])[0].astype(np.int32),
        "y": frame[outcome].to_numpy(np.float64),
        "x": frame["social_index"].to_numpy(np.float64),
    }
    g_school = schools.set_index("school_id").loc[
        frame["school_id"].unique(), "first_treated"
    ]
    meta = {
        "name": "national_pupils",
        "design": "repeated cross-sections",
        "units": len(frame),
        "groups": int(school.max()),
        "periods": int(frame["year"].nunique()),
        "clusters": int(frame["department"].nunique()),
        "rows": len(frame),
        "rows_per_year": {
            int(k): int(v) for k, v in frame["year"].value_counts().sort_index().items()
        },
        "pupil_rows_all_grades": n_all_grades,
        "rows_dropped_missing": rows_grade - len(frame),
        "cohorts": sorted(int(c) for c in set(arrays["g"].tolist()) - {0}),
        "share_never_treated_schools": float((g_school == 0).mean()),
        "share_never_treated": float((arrays["g"] == 0).mean()),
        "seed": seed,
        "outcome": outcome,
        "grade": grade,
        "covariate": "social_index",
        "group_column": "school_id",
        "simulate_seconds": round(sim_seconds, 2),
    }
    return arrays, meta


def save_panel(arrays: dict, path: Path) -> int:
    """Save the columns as an uncompressed ``.npz`` (int32 ids, float64 values)."""
    import numpy as np

    np.savez(path, **arrays)
    return path.stat().st_size


# ---------------------------------------------------------------------------
# worker side (fresh interpreter; tne_eval's or the peers' venv)
# ---------------------------------------------------------------------------


def _load_frame(path: str):
    import numpy as np
    import pandas as pd

    with np.load(path) as z:
        df = pd.DataFrame({k: z[k] for k in z.files})
    return df


def _prepare(engine: str, df, design: str):
    """Engine-specific input format (done before the timer, as a user's data is).

    Repeated cross-sections (``design == "rc"``) carry a pupil code ``unit``
    unique per row and a school code ``group``; ``differences`` recognises true
    repeated cross-sections by an entity index that is unique per row.
    """
    import numpy as np

    if engine == "differences":
        # differences wants NaN, not 0, for never treated, and a (unit, time) index.
        df["g"] = np.where(df["g"].to_numpy() == 0, np.nan, df["g"].to_numpy(float))
        df = df.set_index(["unit", "year"])
    return df


def _cells(cohort, time, att) -> list:
    """ATT(g,t) as sorted ``[g, t, att]`` triples, to compare engines."""
    return sorted([int(g), int(t), float(a)] for g, t, a in zip(cohort, time, att))


def _job_tne_eval(df, jobs: int, design: str) -> dict:
    import tne_eval as tne
    from tne_eval.did import aggregate, att_gt

    if design == "rc":
        spec = tne.RepeatedCrossSectionSpec(
            time="year",
            outcome="y",
            group="group",
            cohort="g",
            cluster="dept",
            covariates=("x",),
        )
    else:
        spec = tne.PanelSpec(
            unit="unit",
            time="year",
            outcome="y",
            cohort="g",
            cluster="dept",
            covariates=("x",),
        )
    gt = att_gt(
        df,
        spec,
        method="dr",
        control_group="never_treated",
        inference=tne.MultiplierBootstrap(reps=REPS, seed=BOOT_SEED),
    )
    aggs = {k: aggregate(gt, kind=k) for k in KINDS}
    simple = aggs["simple"].overall
    cells = gt.to_frame()
    return {
        "n_cells": len(cells),
        "cells": _cells(cells["cohort"], cells["time"], cells["estimate"]),
        "simple_att": float(simple["estimate"]),
        "simple_se": float(simple["std_error"]),
        "dynamic_overall": float(aggs["dynamic"].overall["estimate"]),
    }


def _job_csdid(df, jobs: int, design: str) -> dict:
    import numpy as np
    from csdid.att_gt import ATTgt

    # Repeated cross-sections: panel=False with the pupil code as idname (unique
    # per row, as csdid requires when panel=False).
    rc = design == "rc"
    np.random.seed(BOOT_SEED)  # noqa: NPY002  (csdid draws from numpy's global state)
    m = ATTgt(
        yname="y",
        tname="year",
        idname="unit",
        gname="g",
        data=df,
        control_group="nevertreated",
        xformla="y~x",
        panel=not rc,
        clustervar="dept",
        biters=REPS,
        cband=True,
        pl=jobs > 1,
        cores=jobs,
    )
    m.fit(est_method="dr", base_period="varying", bstrap=True)
    out = {}
    for k in KINDS:
        m.aggte(typec=k)
        out[k] = m.atte
    r = m.results
    return {
        "n_cells": len(r["att"]),
        "cells": _cells(r["group"], r["year"], r["att"]),
        "simple_att": float(out["simple"]["overall_att"]),
        "simple_se": float(np.ravel(out["simple"]["overall_se"])[0]),
        "dynamic_overall": float(out["dynamic"]["overall_att"]),
    }


#: Upstream bugs the benchmark works around so that the peer can do the job at all.
WORKAROUNDS = {
    "differences": (
        "differences 0.3.0 ATTgt.fit(cluster_var='dept') raises AttributeError "
        "('Series' object has no attribute 'columns') with every pandas version "
        "(open upstream issue bernardodionisi/differences#4): fit() passes a Series "
        "to get_cluster_groups, which needs a DataFrame. The benchmark wraps "
        "get_cluster_groups to turn that Series into a one-column DataFrame; "
        "nothing else is changed."
    ),
}


def _patch_differences() -> None:
    import pandas as pd
    from differences.models.attgt import attgt as module

    original = module.get_cluster_groups

    def get_cluster_groups(data, cluster_var):
        if isinstance(data, pd.Series):
            data = data.to_frame()
        return original(data=data, cluster_var=cluster_var)

    module.get_cluster_groups = get_cluster_groups


def _column(frame, last: str):
    """The column of a differences result whose last header level is ``last``."""
    return frame[next(c for c in frame.columns if c[-1] == last)]


def _job_differences(df, jobs: int, design: str) -> dict:
    from differences import ATTgt

    _patch_differences()
    m = ATTgt(data=df, cohort_column="g")
    m.fit(
        formula="y ~ x",
        est_method="dr",
        control_group="never_treated",
        cluster_var="dept",
        boot_iterations=REPS,
        random_state=BOOT_SEED,
        n_jobs=jobs,
        progress_bar=False,
    )
    kw = {
        "cluster_var": "dept",
        "boot_iterations": REPS,
        "random_state": BOOT_SEED,
        "n_jobs": jobs,
    }
    out = {}
    for k in ("simple", "event", "cohort", "time"):
        out[k] = m.aggregate(k, **kw)
        if k != "simple":
            out[k + "_overall"] = m.aggregate(k, overall=True, **kw)
    cells = m._fit_res
    att = _column(cells, "ATT")
    return {
        "n_cells": len(cells),
        "cells": _cells(
            att.index.get_level_values("cohort"),
            att.index.get_level_values("time"),
            att.to_numpy(),
        ),
        "simple_att": float(_column(out["simple"], "ATT").iloc[0]),
        "simple_se": float(_column(out["simple"], "std_error").iloc[0]),
        "dynamic_overall": float(_column(out["event_overall"], "ATT").iloc[0]),
    }


JOBS = {"tne_eval": _job_tne_eval, "csdid": _job_csdid, "differences": _job_differences}
DISTRIBUTIONS = {
    "tne_eval": ("tne-eval", "numpy", "pandas", "scipy", "statsmodels"),
    "csdid": ("csdid", "drdid", "numpy", "pandas", "scipy", "statsmodels", "patsy"),
    "differences": (
        "differences",
        "numpy",
        "pandas",
        "scipy",
        "formulaic",
        "joblib",
        "polars",
    ),
}


def worker(args: argparse.Namespace) -> int:
    """Load the data, time the job, write a JSON result (runs in a fresh process)."""
    result: dict = {"engine": args.engine, "status": "error"}
    marker = Path(args.result + ".job")
    try:
        import numpy  # noqa: F401  (BLAS loaded before probing it)

        if args.engine == "csdid":  # import the engine before the baseline
            import csdid.att_gt  # noqa: F401
        elif args.engine == "differences":
            import differences  # noqa: F401
        else:
            import tne_eval.did  # noqa: F401
        if args.engine in WORKAROUNDS:
            result["workaround"] = WORKAROUNDS[args.engine]
        result["versions"] = H.versions(*DISTRIBUTIONS[args.engine])
        result["blas"] = H.blas_info()
        t0 = time.perf_counter()
        df = _prepare(args.engine, _load_frame(args.data), args.design)
        result["load_seconds"] = time.perf_counter() - t0
        gc.collect()
        result["baseline_rss_mb"] = H.rss_mb()
        result["peak_reset"] = H.reset_peak_rss()
        marker.touch()
        t0 = time.perf_counter()
        out = JOBS[args.engine](df, args.jobs, args.design)
        result["job_seconds"] = time.perf_counter() - t0
        result["job_peak_rss_mb"] = H.peak_rss_mb()
        result.update(out)
        result["status"] = "ok"
    except BaseException as err:  # report every failure to the parent, never hang
        result["error"] = f"{type(err).__name__}: {err}"
        result["traceback"] = traceback.format_exc()[-3000:]
    H.write_json(args.result, result)
    return 0 if result["status"] == "ok" else 1


# ---------------------------------------------------------------------------
# parent: orchestration and report
# ---------------------------------------------------------------------------


def _engine_python(engine: str, args: argparse.Namespace) -> str:
    if engine == "tne_eval":
        return sys.executable
    if args.peers_python:
        return args.peers_python
    return str(
        H.ensure_venv(
            PEERS_VENV,
            PEERS_REQUIREMENTS,
            check_imports=("csdid.att_gt", "differences", "psutil"),
        )
    )


def run_engine(engine: str, data: Path, args, work: Path, tag: str) -> dict:
    """Run one engine ``args.repeat`` times; keep the fastest run's numbers.

    With ``--max-other-load``, a run during which other processes kept more than
    that many cores busy is marked noisy and run again (at most ``--retries``
    extra runs); the fastest clean run is kept, or the fastest noisy one if no
    run was clean.
    """
    try:
        python = _engine_python(engine, args)
    except Exception as err:  # venv creation failed: report, do not crash
        return {
            "engine": engine,
            "status": "error",
            "error": f"could not set up the peers' environment: {err}",
        }
    env = dict(os.environ)
    if args.native_blas:
        for k in H.BLAS_OVERRIDES:
            env.pop(k, None)
    runs: list[dict] = []
    clean = 0
    i = 0
    while clean < args.repeat and i < args.repeat + args.retries:
        res_path = work / f"{tag}-{engine}-{i}.json"
        marker = Path(str(res_path) + ".job")
        cmd = [
            python,
            str(Path(__file__).resolve()),
            "_worker",
            "--engine",
            engine,
            "--data",
            str(data),
            "--result",
            str(res_path),
            "--jobs",
            str(args.jobs),
            "--design",
            DESIGNS[args.dataset],
        ]
        quiet = None
        if args.wait_quiet > 0:
            quiet = H.wait_until_quiet(args.wait_quiet)
        print(f"[bench] {tag}: {engine} (run {i + 1}) ...", flush=True)
        seen = H.run_worker(
            cmd,
            timeout=args.timeout,
            log_dir=work / "logs",
            name=f"{tag}-{engine}-{i}",
            env=env,
            job_marker=marker,
        )
        if res_path.exists():
            rec = json.loads(res_path.read_text())
        else:
            rec = {
                "engine": engine,
                "status": "error",
                "error": "the worker died without a result: "
                + (seen.stderr_tail.strip().splitlines() or ["no stderr"])[-1],
            }
        if seen.timed_out:
            rec["status"] = "timeout"
            rec["error"] = f"exceeded --timeout {args.timeout:g} s (killed)"
        rec["process_peak_rss_mb"] = seen.process_peak_rss_mb
        rec["tree_peak_rss_mb"] = seen.tree_peak_rss_mb
        rec["tree_processes"] = seen.tree_processes
        rec["worker_wall_seconds"] = seen.wall_seconds
        rec["loadavg_before"] = seen.loadavg_before
        rec["loadavg_after"] = seen.loadavg_after
        rec["other_load_cores"] = seen.other_load_cores
        rec["quiet_wait"] = quiet
        if rec["status"] != "ok" and "traceback" not in rec:
            rec["stderr_tail"] = seen.stderr_tail[-2000:]
        peaks = [v for v in (rec.get("job_peak_rss_mb"), seen.tree_peak_rss_mb) if v]
        rec["peak_rss_mb"] = max(peaks) if peaks else None
        if rec.get("peak_rss_mb") and rec.get("baseline_rss_mb"):
            rec["job_extra_rss_mb"] = rec["peak_rss_mb"] - rec["baseline_rss_mb"]
        rec["noisy"] = (
            args.max_other_load is not None
            and seen.other_load_cores is not None
            and seen.other_load_cores > args.max_other_load
        )
        runs.append(rec)
        i += 1
        if rec["status"] == "ok" and not rec["noisy"]:
            clean += 1
        status = rec["status"]
        msg = (
            f"{rec['job_seconds']:.2f} s, peak {rec['peak_rss_mb']:.0f} MB, other "
            f"processes {_fmt(seen.other_load_cores, '.2f')} core(s)"
            + (" (noisy)" if rec["noisy"] else "")
            if status == "ok"
            else f"{status}: {rec.get('error', '')[:200]}"
        )
        print(f"[bench] {tag}: {engine}: {msg}", flush=True)
        if status != "ok":
            break
    ok = [r for r in runs if r["status"] == "ok"]
    pool = [r for r in ok if not r["noisy"]] or ok
    best = dict(min(pool, key=lambda r: r["job_seconds"]) if pool else runs[-1])
    calls = CALLS_RC if DESIGNS[args.dataset] == "rc" else CALLS
    best["call"] = calls[engine].format(jobs=args.jobs, pl=args.jobs > 1)
    if len(runs) > 1:
        best["all_runs"] = [
            {
                k: r.get(k)
                for k in ("status", "job_seconds", "peak_rss_mb", "other_load_cores")
            }
            for r in runs
        ]
        best["max_peak_rss_mb_over_runs"] = max(
            (r["peak_rss_mb"] for r in ok), default=None
        )
    return best


def source_state() -> dict:
    """Commit of the repository and whether tne_eval has uncommitted changes.

    Read-only git calls; the benchmark measures the working tree as it is.
    """
    import subprocess

    def git(*cmd: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *cmd], cwd=HERE.parent, capture_output=True, text=True
            )
        except OSError:
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    changed = git("status", "--porcelain", "--", "tne_eval")
    return {
        "commit": git("rev-parse", "HEAD"),
        "tne_eval_uncommitted_changes": None if changed is None else bool(changed),
    }


def ratios(engines: dict) -> dict:
    """Peer / tne_eval ratios of job time and job peak RSS (> 1: tne_eval is better)."""
    ours = engines.get("tne_eval")
    if not ours or ours.get("status") != "ok":
        return {}
    out = {}
    for name, rec in engines.items():
        if name == "tne_eval" or rec.get("status") != "ok":
            continue
        out[name] = {
            "time": rec["job_seconds"] / ours["job_seconds"],
            "peak_rss": rec["peak_rss_mb"] / ours["peak_rss_mb"],
            "job_extra_rss": (
                rec["job_extra_rss_mb"] / ours["job_extra_rss_mb"]
                if ours.get("job_extra_rss_mb")
                else None
            ),
        }
    return out


def agreement(engines: dict) -> dict:
    """How far each peer's estimates are from tne_eval's (same data, same job)."""
    ours = engines.get("tne_eval")
    if not ours or ours.get("status") != "ok":
        return {}
    ref = {(g, t): a for g, t, a in ours["cells"]}
    out = {}
    for name, rec in engines.items():
        if name == "tne_eval" or rec.get("status") != "ok":
            continue
        theirs = {(g, t): a for g, t, a in rec["cells"]}
        common = sorted(set(ref) & set(theirs))
        diffs = [abs(ref[k] - theirs[k]) for k in common]
        out[name] = {
            "cells_compared": len(common),
            "cells_only_in_tne_eval": len(set(ref) - set(theirs)),
            "cells_only_in_peer": len(set(theirs) - set(ref)),
            "max_abs_diff_att_gt": max(diffs) if diffs else None,
            "abs_diff_simple_att": abs(rec["simple_att"] - ours["simple_att"]),
            "abs_diff_dynamic_overall": abs(
                rec["dynamic_overall"] - ours["dynamic_overall"]
            ),
            "simple_se_ratio": rec["simple_se"] / ours["simple_se"],
        }
    return out


def targets(engines: dict, applies: bool = True) -> dict:
    """Whether tne_eval met the targets; they were set for the panel runs only."""
    ours = engines.get("tne_eval", {})
    ok = ours.get("status") == "ok"
    return {
        "applies": applies,
        "seconds": TARGET_SECONDS,
        "peak_rss_mb": TARGET_PEAK_RSS_MB,
        "seconds_met": ok and ours["job_seconds"] <= TARGET_SECONDS,
        "peak_rss_met": ok and ours["peak_rss_mb"] <= TARGET_PEAK_RSS_MB,
    }


#: printed under the table of a repeated cross-section run
RC_NOTE = (
    "Repeated cross-sections: the ATT(g,t) must agree across engines, the standard "
    "errors need not. tne_eval deliberately corrects the sign of the estimation "
    "effect of the pre-period outcome regressions in the influence function of R "
    "DRDID's drdid_rc (see tne_eval/did/_two_by_two.py, rc_2x2). Of the peers, "
    "csdid 0.4.3 (its own drdid_rc in csdid/attgt_fnc/drdid_trim.py) subtracts "
    "these terms as tne_eval does, so its SEs differ from tne_eval's only by the "
    "bootstrap draws; differences 0.3.0 (dr_traditional_rc_att_if) adds them as R "
    "does, and also bootstraps cluster means (sqrt(G) scaling) where tne_eval and "
    "csdid use cluster sums, so its SEs differ by design."
)


def _fmt(v, spec: str, missing: str = "–") -> str:
    return missing if v is None else format(v, spec)


def markdown(report: dict) -> str:
    lines = [f"# att_gt benchmark ({report['created']})", ""]
    m = report["machine"]
    lines += [
        f"Machine: {m['cpu_model']}, {m['cpus_usable']} usable cores, "
        f"{m['memory_gib']} GiB; load average at start {m['loadavg'][0]:.2f}. "
        f"Job: DR att_gt with one covariate, all cells, 4 aggregations, {REPS} "
        "multiplier-bootstrap draws clustered by department. Targets for tne_eval "
        f"(panel runs): <= {TARGET_SECONDS:g} s and "
        f"<= {TARGET_PEAK_RSS_MB:.0f} MB peak RSS.",
        "",
    ]
    notes: list[str] = []
    for run in report["runs"]:
        d = run["dataset"]
        if d.get("design") == "repeated cross-sections":
            title = (
                f"## {d['name']}: {d['rows']:,} pupils (repeated cross-sections, "
                f"each tested once) in {d['groups']:,} schools x {d['periods']} "
                f"periods, {d['clusters']} clusters"
            )
            notes.append(RC_NOTE)
        else:
            title = (
                f"## {d['name']}: {d['units']:,} units x {d['periods']} periods, "
                f"{d['clusters']} clusters ({d['rows']:,} rows)"
            )
        lines += [
            title,
            "",
            "| engine | status | job s | peak RSS MB | baseline MB | job extra MB "
            "| time ratio | RSS ratio | simple ATT (SE) | max abs diff ATT(g,t) "
            "| others' load |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
        ]
        for name, rec in run["engines"].items():
            r = run["ratios"].get(name, {})
            ok = rec.get("status") == "ok"
            att = (
                f"{rec['simple_att']:.4f} ({rec['simple_se']:.4f})"
                if ok
                else (rec.get("error") or "")[:80].replace("|", "/")
            )
            ratio_t = "1" if name == "tne_eval" and ok else _fmt(r.get("time"), ".1f")
            ratio_m = (
                "1" if name == "tne_eval" and ok else _fmt(r.get("peak_rss"), ".1f")
            )
            agree = run["agreement"].get(name, {})
            diff = (
                "ref."
                if name == "tne_eval"
                else _fmt(agree.get("max_abs_diff_att_gt"), ".1e")
            )
            lines.append(
                f"| {name} | {rec.get('status')} | {_fmt(rec.get('job_seconds'), '.2f')} "
                f"| {_fmt(rec.get('peak_rss_mb'), '.0f')} "
                f"| {_fmt(rec.get('baseline_rss_mb'), '.0f')} "
                f"| {_fmt(rec.get('job_extra_rss_mb'), '.0f')} "
                f"| {ratio_t} | {ratio_m} | {att} | {diff} "
                f"| {_fmt(rec.get('other_load_cores'), '.2f')} |"
            )
            if rec.get("workaround"):
                notes.append(f"{name}: {rec['workaround']}")
        if "true_simple_att" in d:
            lines.append(
                f"\nTrue simple ATT of the sample: {d['true_simple_att']:.4f}."
            )
        t = run["targets"]
        if t.get("applies", True):
            verdict = (
                f"tne_eval targets: time {'met' if t['seconds_met'] else 'NOT met'}, "
                f"peak RSS {'met' if t['peak_rss_met'] else 'NOT met'}."
            )
        else:
            verdict = (
                "The targets (set for the panel runs) do not apply to this dataset."
            )
        lines += ["", verdict, ""]
    lines += [
        "Ratios are peer / tne_eval (above 1: tne_eval faster or smaller). Peak RSS is "
        "the job phase's high-water mark of the engine's process, data included "
        "(or the summed RSS of its process tree if larger); baseline is the RSS "
        "after loading the data; job extra = peak - baseline. Standard errors "
        "are bootstrap SEs (999 draws), so they differ by Monte Carlo error and by "
        "each engine's cluster formula. Others' load: mean number of cores used "
        "by other processes while the engine ran (0 = quiet machine).",
        "",
    ]
    for note in dict.fromkeys(notes):
        lines += [f"Note. {note}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_worker":
        p = argparse.ArgumentParser(prog="bench_att_gt.py _worker")
        p.add_argument("--engine", choices=ENGINES, required=True)
        p.add_argument("--data", required=True)
        p.add_argument("--result", required=True)
        p.add_argument("--jobs", type=int, default=1)
        p.add_argument("--design", choices=("panel", "rc"), default="panel")
        return worker(p.parse_args(argv[1:]))

    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dataset", choices=tuple(DESIGNS), default="generic")
    p.add_argument(
        "--units",
        default="1000000",
        help="units of the generic panel; a comma list runs each size",
    )
    p.add_argument("--periods", type=int, default=8)
    p.add_argument("--clusters", type=int, default=100)
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="data seed (default: 20240101 for generic, the world's default seed "
        "for national and national_pupils)",
    )
    p.add_argument("--outcome", default="score_math", help="national*: outcome column")
    p.add_argument("--grade", default="CM2", help="national*: tested grade kept")
    p.add_argument("--engines", default=",".join(ENGINES))
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per engine run (default: 900 for national_pupils, else 600)",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per engine (fresh process each); the fastest is kept",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="parallel jobs offered to the peers (csdid cores/pl, "
        "differences n_jobs); tne_eval uses its BLAS threads",
    )
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=120.0,
        metavar="S",
        help="before each engine run, wait up to S seconds for the other processes "
        "to use less than 0.3 core (0: do not wait)",
    )
    p.add_argument(
        "--max-other-load",
        type=float,
        default=0.5,
        metavar="CORES",
        help="mark a run noisy, and run it again, when other processes used more "
        "than CORES cores meanwhile ('inf' never does)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=2,
        help="extra runs allowed per engine to replace noisy runs",
    )
    p.add_argument(
        "--native-blas",
        action="store_true",
        help="unset OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE for every engine",
    )
    p.add_argument(
        "--peers-python",
        help="interpreter with csdid and differences "
        "(default: benchmarks/.peers-venv, created on first use)",
    )
    p.add_argument("--out", default=str(HERE / "results" / "att_gt.json"))
    args = p.parse_args(argv)

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(engines) - set(ENGINES)
    if unknown:
        p.error(f"unknown engine(s) {sorted(unknown)}; choose from {ENGINES}")
    if args.timeout is None:
        args.timeout = 900.0 if args.dataset == "national_pupils" else 600.0
    sizes = [int(u.replace("_", "")) for u in args.units.split(",")]
    if args.dataset != "generic":
        sizes = [None]

    busy = H.busy_processes()
    if busy:
        print(f"[bench] warning: the machine is not quiet: {busy}", flush=True)
    report = {
        "benchmark": "att_gt",
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "machine": H.machine_info(),
        "source": source_state(),
        "busy_processes_at_start": busy,
        "job": {
            "estimator": "Callaway-Sant'Anna ATT(g,t), doubly robust, one covariate",
            "data_structure": (
                "repeated cross-sections (each pupil observed once)"
                if DESIGNS[args.dataset] == "rc"
                else "balanced panel"
            ),
            "timeout_seconds": args.timeout,
            "control_group": "never treated",
            "base_period": "varying",
            "cells": "all (pre and post)",
            "aggregations": list(KINDS),
            "bootstrap": {"draws": REPS, "cluster": "dept", "seed": BOOT_SEED},
            "peer_jobs": args.jobs,
            "native_blas": args.native_blas,
        },
        "runs": [],
    }
    work = Path(tempfile.mkdtemp(prefix="tne-bench-att-gt-"))
    try:
        for size in sizes:
            if args.dataset == "national":
                arrays, meta = national_panel(args.seed, args.outcome, args.grade)
            elif args.dataset == "national_pupils":
                arrays, meta = national_pupils(args.seed, args.outcome, args.grade)
            else:
                seed = 20240101 if args.seed is None else args.seed
                arrays, meta = generic_panel(size, args.periods, args.clusters, seed)
            tag = f"{meta['name']}-{meta['units']}"
            data = work / f"{tag}.npz"
            meta["file_bytes"] = save_panel(arrays, data)
            del arrays
            gc.collect()
            res = {}
            for engine in engines:
                res[engine] = run_engine(engine, data, args, work, tag)
            run = {
                "dataset": meta,
                "engines": res,
                "ratios": ratios(res),
                "agreement": agreement(res),
                "targets": targets(res, applies=DESIGNS[args.dataset] == "panel"),
            }
            report["runs"].append(run)
            data.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    H.write_json(out, report)
    md = markdown(report)
    out.with_suffix(".md").write_text(md)
    print(md)
    print(f"[bench] wrote {out} and {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
