"""Run every ``benchmarks/bench_*.py`` in turn (``make benchmark``).

Usage::

    python benchmarks/run.py                 # all benchmarks, default sizes
    python benchmarks/run.py att_gt          # only bench_att_gt.py
    python benchmarks/run.py --list

Each benchmark runs in its own process with the interpreter running this script
and writes its results under ``benchmarks/results/``. A failing benchmark does not
stop the others; the exit status is non-zero if any failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> dict[str, Path]:
    """Benchmarks by short name (``bench_att_gt.py`` -> ``att_gt``), sorted."""
    return {p.stem.removeprefix("bench_"): p for p in sorted(HERE.glob("bench_*.py"))}


def main(argv: list[str] | None = None) -> int:
    found = discover()
    p = argparse.ArgumentParser(description="Run the tne_eval benchmarks.")
    p.add_argument("names", nargs="*", help=f"subset to run (of {', '.join(found)})")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = p.parse_args(argv)
    if args.list:
        print("\n".join(found))
        return 0
    unknown = [n for n in args.names if n not in found]
    if unknown:
        p.error(f"unknown benchmark(s) {unknown}; available: {', '.join(found)}")
    chosen = {n: found[n] for n in (args.names or found)}
    if not chosen:
        print("no benchmarks/bench_*.py found")
        return 1
    status: dict[str, tuple[int, float]] = {}
    for name, path in chosen.items():
        print(f"\n=== {name} ({path.name}) ===", flush=True)
        t0 = time.perf_counter()
        code = subprocess.call([sys.executable, str(path)], cwd=HERE.parent)
        status[name] = (code, time.perf_counter() - t0)
    print("\n=== summary ===")
    for name, (code, seconds) in status.items():
        outcome = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"{name:<20} {outcome:<18} {seconds:8.1f} s")
    return 0 if all(code == 0 for code, _ in status.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
