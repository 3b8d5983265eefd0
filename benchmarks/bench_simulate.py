"""Benchmark: generate and write the national-scale synthetic world.

Generates ``WorldConfig.preset("national")`` (about 50,000 schools and 6 million
pupil-year rows) into a temporary folder, records the wall time of generation and
of writing, and the peak resident memory of the process, then writes
``benchmarks/results/simulate.json`` and prints a one-line summary.

Targets (from the issue): under 60 s and under 4 GB on 2 cores.

Run with ``python benchmarks/bench_simulate.py`` (``--scale default`` for a quick
check). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import tne_eval
from tne_eval.datasets import GENERATOR_VERSION, WorldConfig, simulate

TARGET_SECONDS = 60.0
TARGET_PEAK_MB = 4096.0
RESULTS = Path(__file__).resolve().parent / "results" / "simulate.json"


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="national", choices=["default", "national"])
    parser.add_argument("--seed", type=int, default=WorldConfig().seed)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    baseline_mb = peak_rss_mb()
    config = WorldConfig.preset(args.scale, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="tne_eval_bench_") as folder:
        start = time.perf_counter()
        world = simulate(config)
        generated = time.perf_counter()
        manifest = world.write(folder)
        written = time.perf_counter()
    peak_mb = peak_rss_mb()
    total = written - start

    result = {
        "benchmark": "simulate",
        "scale": args.scale,
        "seed": args.seed,
        "generator_version": GENERATOR_VERSION,
        "tne_eval_version": tne_eval.__version__,
        "schools": len(world.schools),
        "rows": {name: entry["rows"] for name, entry in manifest["files"].items()},
        "megabytes": round(
            sum(e["bytes"] for e in manifest["files"].values()) / 1e6, 1
        ),
        "seconds": {
            "simulate": round(generated - start, 2),
            "write": round(written - generated, 2),
            "total": round(total, 2),
        },
        "peak_rss_mb": round(peak_mb, 1),
        "baseline_rss_mb": round(baseline_mb, 1),
        "targets": {"seconds": TARGET_SECONDS, "peak_rss_mb": TARGET_PEAK_MB},
        "within_targets": total < TARGET_SECONDS and peak_mb < TARGET_PEAK_MB,
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
        },
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"simulate[{args.scale}]: {result['schools']:,} schools, "
        f"{result['rows']['pupils.csv.gz']:,} pupil rows, {result['megabytes']} MB "
        f"in {total:.1f} s (simulate {result['seconds']['simulate']} s, write "
        f"{result['seconds']['write']} s), peak RSS {peak_mb:,.0f} MB "
        f"({'within' if result['within_targets'] else 'OUTSIDE'} targets "
        f"{TARGET_SECONDS:.0f} s / {TARGET_PEAK_MB:,.0f} MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
