"""Benchmark: wild cluster bootstrap test and CI, tne_eval against wildboottest.

The job: WLS-free OLS with 450,000 rows, 10 regressors (intercept included), 101
clusters (the departments); restricted wild cluster bootstrap (WCR, Rademacher) of
one coefficient with 9,999 draws. ``tne_eval`` also inverts the test for the
symmetric and the equal-tailed 95% intervals (wildboottest 0.3.2 has no CI).
Both engines run on the same data in the same process; the time of each is the
best of ``--repeat`` runs, and the ratio is wildboottest / tne_eval for the test
alone (same work).

Usage::

    python benchmarks/bench_wild.py                 # 450,000 x 10, 101 clusters
    python benchmarks/bench_wild.py --rows 100000 --repeat 1

Writes ``benchmarks/results/wild.json`` and prints a summary.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import time
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np

from tne_eval.inference.wild import wild_cluster_bootstrap

OUT = Path(__file__).resolve().parent / "results" / "wild.json"


def make_data(rows: int, k: int, clusters: int, seed: int = 20261201):
    rng = np.random.default_rng(seed)
    cl = rng.integers(0, clusters, size=rows)
    cl[:clusters] = np.arange(clusters)
    x = np.column_stack([np.ones(rows), rng.normal(size=(rows, k - 1))])
    x[:, 1] = (cl < 12).astype(float) + 0.1 * rng.normal(size=rows)  # 12 treated depts
    beta = np.r_[1.0, 0.0, rng.normal(size=k - 2)]
    y = x @ beta + rng.normal(size=clusters)[cl] + rng.normal(size=rows)
    return x, y, cl


def best_of(fun, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fun()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=450_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--clusters", type=int, default=101)
    parser.add_argument("--reps", type=int, default=9999)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    x, y, cl = make_data(args.rows, args.k, args.clusters)
    c = np.zeros(args.k)
    c[1] = 1.0

    t_test, res = best_of(
        lambda: wild_cluster_bootstrap(
            x, y, cluster=cl, contrast=c, reps=args.reps, seed=1, conf_int=False
        ),
        args.repeat,
    )
    t_ci, res_ci = best_of(
        lambda: wild_cluster_bootstrap(
            x, y, cluster=cl, contrast=c, reps=args.reps, seed=1
        ),
        args.repeat,
    )
    result = {
        "generated_at": _dt.datetime.now(_dt.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()),
        "job": {
            "rows": args.rows,
            "k": args.k,
            "clusters": args.clusters,
            "reps": args.reps,
            "bootstrap": "WCR, Rademacher, one coefficient",
        },
        "tne_eval": {
            "test_seconds": t_test,
            "test_and_two_cis_seconds": t_ci,
            "p_value": res.p_value,
            "conf_int": res_ci.conf_int,
            "conf_int_equal_tailed": res_ci.conf_int_equal_tailed,
        },
    }
    try:
        from wildboottest.wildboottest import WildboottestCL
    except ImportError:
        result["wildboottest"] = {
            "status": "not installed (pip install 'wildboottest==0.3.2')"
        }
    else:

        def run_wbt():
            boot = WildboottestCL(
                X=x, Y=y, cluster=cl, R=c, B=args.reps, seed=1, parallel=False
            )
            boot.get_scores(bootstrap_type="11", impose_null=True)
            boot.get_weights(weights_type="rademacher")
            boot.get_numer()
            boot.get_denom()
            boot.get_tboot()
            boot.get_vcov()
            boot.get_tstat()
            boot.get_pvalue(pval_type="two-tailed")
            return boot.pvalue

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run_wbt_small = best_of(run_wbt, 1)  # warm-up (numba compilation)
            t_wbt, p_wbt = best_of(run_wbt, args.repeat)
        result["wildboottest"] = {
            "version": metadata.version("wildboottest"),
            "test_seconds": t_wbt,
            "first_call_seconds_including_jit": run_wbt_small[0],
            "p_value": float(p_wbt),
        }
        result["ratio_wildboottest_over_tne_eval_test"] = t_wbt / t_test
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
