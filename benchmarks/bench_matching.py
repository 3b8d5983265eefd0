"""Benchmark of the matching numerics: greedy PS matching and entropy balancing.

Jobs (issue 16, item 8), each run in a fresh interpreter so that memory and
caches do not leak between them:

* ``nn_caliper_norep`` / ``nn_caliper_rep``: 1:1 nearest-neighbour matching on
  the propensity score with a caliper of 0.2 SD (MatchIt's ``std.caliper``),
  without / with replacement, plus MatchIt's weights; 1,000,000 units, 10 %
  treated. Targets: <= 10 s and <= 2 GB.
* ``ebal_10``: entropy balancing of the same units on 10 moments. Target <= 5 s.
* ``ps_fit``: the logit propensity score (statsmodels GLM) on 5 covariates,
  timed separately (not part of the targets).

The score matched on is the true propensity score of the simulation, so every
engine matches on the same numbers. Peers (``psmpy``, ``causalinference``)
cannot run at 1,000,000 units: ``psmpy.kdtree_matched`` queries every control
for every treated unit (``n_t x n_c`` distances, 720 GB here) and
``causalinference`` loops in Python over all units with an ``O(n_t n_c)``
distance each. They are run on a smaller sample (``--peers-n``) against ours on
the same sample, in their own virtual environment (outside the repository:
``$XDG_CACHE_HOME/tne_eval/peers-matching-venv``, built from
``benchmarks/peers-matching-requirements.txt``),
and reported as time ratios. Their jobs are not identical to ours:
``causalinference`` matches with replacement without a caliper and also
matches every control (it estimates the ATC too); ``psmpy`` runs its own loop.

Timing: ``time.perf_counter`` around the job only (data simulated and modules
imported first); peak
RSS: the kernel's high-water mark of the worker, reset after loading
(``/proc/self/clear_refs``), so it includes the data. Linux only. Thread pools
are limited to 2 (``--threads``).

Usage::

    .venv/bin/python benchmarks/bench_matching.py            # full run
    .venv/bin/python benchmarks/bench_matching.py --n 100000 --no-peers
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PEERS_VENV = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    / "tne_eval/peers-matching-venv"
)
PEERS_REQ = HERE / "peers-matching-requirements.txt"
SEED = 20261201
N_MOMENTS = 10
CALIPER_SD = 0.2
#: seconds a peer job may take before it is reported as timed out
PEER_TIMEOUT = 600


# --------------------------------------------------------------------------- worker


def _status_kb(name: str) -> float | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(name + ":"):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def simulate(n: int, seed: int = SEED):
    """Covariates, treatment (about 10 % treated) and true propensity score."""
    import numpy as np

    gen = np.random.default_rng(seed)
    x = gen.normal(size=(n, N_MOMENTS))
    lin = x[:, :5] @ np.array([0.5, -0.3, 0.2, 0.1, -0.4]) - 2.4
    ps = 1.0 / (1.0 + np.exp(-lin))
    d = (gen.uniform(size=n) < ps).astype(np.int8)
    y = x[:, 0] + 0.5 * x[:, 1] + 1.0 * d + gen.normal(size=n)
    return x, d, ps, y


def _prepare(name: str, x, d, ps, y):
    """Import what the job needs and return it as a zero-argument callable."""
    import numpy as np

    caliper = CALIPER_SD * float(np.std(ps, ddof=1))
    if name in ("nn_caliper_norep", "nn_caliper_rep"):
        from tne_eval.matching._nearest import matching_weights, nearest_scalar

        def run():
            m = nearest_scalar(d, ps, caliper=caliper, replace=name.endswith("_rep"))
            w, _ = matching_weights(d, m)
            return {
                "n_unmatched_treated": m.n_unmatched_treated,
                "n_matched_controls": int(((d == 0) & (w > 0)).sum()),
            }

        return run
    if name == "ebal_10":
        from tne_eval.matching._weighting import entropy_balance

        def run():
            eb = entropy_balance(d, x)
            return {
                "n_iter": eb.n_iter,
                "max_gap_sd": eb.max_gap,
                "ess_control": eb.ess_control,
            }

        return run
    if name == "ps_fit":
        from tne_eval.matching._propensity import fit_propensity

        def run():
            return {"n_iter": fit_propensity(d, x[:, :5]).n_iter}

        return run
    if name.startswith("psmpy_"):
        import pandas as pd
        from psmpy import PsmPy

        df = pd.DataFrame(
            {"id": np.arange(d.shape[0]), "treat": d.astype(int), "x0": x[:, 0]}
        )
        psm = PsmPy(df, treatment="treat", indx="id", exclude=[])
        pred = df.copy()
        pred["propensity_score"] = ps
        pred["propensity_logit"] = np.log(ps / (1 - ps))
        psm.predicted_data = pred

        def run():
            psm.kdtree_matched(
                matcher="propensity_score",
                replacement=name.endswith("_rep"),
                caliper=caliper,
            )
            return {"n_matched_rows": len(psm.df_matched)}

        return run
    if name == "causalinference_match":
        from causalinference import CausalModel

        def run():
            cm = CausalModel(y, d.astype(int), ps[:, None])
            cm.est_via_matching(matches=1)
            return {"att": float(cm.estimates["matching"]["att"])}

        return run
    raise ValueError(f"unknown job {name!r}")


def worker(name: str, n: int) -> None:
    """Run one job and print a JSON line with its time and peak memory."""
    import gc

    x, d, ps, y = simulate(n)
    job = _prepare(name, x, d, ps, y)
    gc.collect()
    base = _status_kb("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        reset = True
    except OSError:
        reset = False
    t0 = time.perf_counter()
    info = job()
    secs = time.perf_counter() - t0
    peak = _status_kb("VmHWM")
    print(
        json.dumps(
            {
                "job": name,
                "n": n,
                "seconds": secs,
                "baseline_rss_mb": None if base is None else base / 1024,
                "job_peak_rss_mb": None if peak is None else peak / 1024,
                "peak_reset": reset,
                "info": info,
            }
        )
    )


# --------------------------------------------------------------------------- parent


def _env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    env["PYTHONPATH"] = str(HERE.parent)
    return env


def _run(python: str, name: str, n: int, threads: int, timeout: float | None) -> dict:
    cmd = [python, str(Path(__file__).resolve()), "--worker", name, "--n", str(n)]
    try:
        out = subprocess.run(
            cmd,
            env=_env(threads),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"job": name, "n": n, "status": f"timed out after {timeout:.0f} s"}
    if out.returncode != 0:
        return {"job": name, "n": n, "status": "failed", "stderr": out.stderr[-2000:]}
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["status"] = "ok"
    return res


def _peers_python() -> str | None:
    py = PEERS_VENV / "bin" / "python"
    if not py.exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
            subprocess.run(
                [str(py), "-m", "pip", "install", "--quiet", "-r", str(PEERS_REQ)],
                check=True,
            )
        except (subprocess.CalledProcessError, OSError) as err:
            print(f"peers unavailable: {err}", file=sys.stderr)
            return None
    return str(py)


def main() -> None:
    """Run all jobs and write ``results/matching.json`` and ``.md``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--peers-n", type=int, default=10_000)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.n)
        return
    runs = []
    for job in ("nn_caliper_norep", "nn_caliper_rep", "ebal_10", "ps_fit"):
        runs.append(_run(sys.executable, job, args.n, args.threads, None))
        print(json.dumps(runs[-1]), file=sys.stderr)
    peers = []
    if not args.no_peers:
        py = _peers_python()
        if py is not None:
            for job in ("nn_caliper_norep", "nn_caliper_rep"):
                peers.append(
                    _run(sys.executable, job, args.peers_n, args.threads, None)
                )
            for job in ("psmpy_norep", "psmpy_rep", "causalinference_match"):
                peers.append(_run(py, job, args.peers_n, args.threads, PEER_TIMEOUT))
            for r in peers:
                print(json.dumps(r), file=sys.stderr)
    ours = {
        r["job"]: r for r in peers if r["job"].startswith("nn_") and r["status"] == "ok"
    }
    pairs = {
        "psmpy_norep": "nn_caliper_norep",
        "psmpy_rep": "nn_caliper_rep",
        "causalinference_match": "nn_caliper_rep",
    }
    for r in peers:
        if r["job"] in pairs and r["status"] == "ok" and pairs[r["job"]] in ours:
            r["ratio_to_ours"] = r["seconds"] / ours[pairs[r["job"]]]["seconds"]
    payload = {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "threads": args.threads,
            "load_average_at_start": os.getloadavg(),
        },
        "targets": {"matching": "<= 10 s, <= 2 GB", "ebal_10": "<= 5 s"},
        "runs": runs,
        "peers": peers,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "matching.json").write_text(json.dumps(payload, indent=1) + "\n")
    lines = [
        "| job | n | seconds | job peak RSS (MB) | notes |",
        "|---|---|---|---|---|",
    ]
    for r in runs + peers:
        if r["status"] != "ok":
            lines.append(f"| {r['job']} | {r['n']:,} | - | - | {r['status']} |")
            continue
        note = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in r["info"].items()
        )
        if "ratio_to_ours" in r:
            note += f"; {r['ratio_to_ours']:.1f}x ours"
        peak = r["job_peak_rss_mb"]
        lines.append(
            f"| {r['job']} | {r['n']:,} | {r['seconds']:.3f} | {peak:.0f} | {note} |"
        )
    (RESULTS / "matching.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
