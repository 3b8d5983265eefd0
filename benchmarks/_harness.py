"""Shared machinery of the benchmarks: isolated workers, memory and machine facts.

Stdlib only at import time, because the worker side also runs in the peers'
virtual environment (``benchmarks/.peers-venv``), where ``tne_eval`` is not
installed. Linux only: memory is read from ``/proc``.

Measurement protocol (used by every ``bench_*.py``):

* each engine runs in a fresh interpreter (a *worker*), so no import cache,
  allocator state or warm BLAS pool leaks from one engine to the next;
* the worker loads the data, collects garbage, records its RSS (the *baseline*),
  resets the kernel's RSS high-water mark (``/proc/self/clear_refs``), then times
  only the job with :func:`time.perf_counter`;
* after the job it reads the high-water mark again: that is the peak RSS of the
  job phase, data included (``job_peak_rss_mb``); ``job_peak - baseline`` is what
  the job itself allocated at its worst;
* the parent also samples the RSS of the worker *and its subprocesses* during
  the job phase (peers may fork joblib/loky workers), and reads the worker's
  lifetime peak from ``wait4`` (load phase included).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

MB = 1024.0 * 1024.0
#: environment variables that change how numerical libraries use the CPU
THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "POLARS_MAX_THREADS",
)
#: variables unset by ``--native-blas`` (they force an older OpenBLAS kernel)
BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# ---------------------------------------------------------------------------
# worker side (runs in any interpreter: stdlib + numpy at most)
# ---------------------------------------------------------------------------


def _status_kb(field_name: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb() -> float | None:
    """Current resident set size of this process, in MiB."""
    kb = _status_kb("VmRSS")
    return None if kb is None else kb / 1024.0


def peak_rss_mb() -> float | None:
    """High-water mark of the RSS of this process (since start or last reset)."""
    kb = _status_kb("VmHWM")
    return None if kb is None else kb / 1024.0


def reset_peak_rss() -> bool:
    """Reset the RSS high-water mark to the current RSS (Linux >= 4.0).

    Returns False where the kernel refuses, in which case the peak reported
    after the job is the lifetime peak (load phase included).
    """
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def blas_info() -> dict:
    """BLAS build and runtime facts of the numpy of this interpreter.

    Threads and kernel are read from the OpenBLAS libraries mapped into the
    process (numpy's and scipy's wheels each bundle one), by calling their
    ``get_num_threads`` / ``get_corename`` entry points through ctypes.
    """
    import ctypes

    import numpy as np

    info: dict = {"numpy": np.__version__}
    with contextlib.suppress(Exception):
        deps = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["build"] = {k: deps.get(k) for k in ("name", "version")}
    libs = []
    with contextlib.suppress(OSError), open("/proc/self/maps") as fh:
        for line in fh:
            parts = line.split()
            name = parts[-1] if len(parts) >= 6 else ""
            if "openblas" in os.path.basename(name).lower() and name not in libs:
                libs.append(name)
    runtime = []
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        entry: dict = {"library": os.path.basename(path)}
        for prefix in ("", "scipy_"):
            for suffix in ("", "64_"):
                threads = getattr(
                    lib, f"{prefix}openblas_get_num_threads{suffix}", None
                )
                core = getattr(lib, f"{prefix}openblas_get_corename{suffix}", None)
                if threads is not None and "threads" not in entry:
                    threads.restype = ctypes.c_int
                    entry["threads"] = int(threads())
                if core is not None and "corename" not in entry:
                    core.restype = ctypes.c_char_p
                    entry["corename"] = core().decode()
        runtime.append(entry)
    info["openblas"] = runtime
    return info


def versions(*modules: str) -> dict:
    """Installed versions of distributions (None when absent)."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in modules:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def write_json(path: str | Path, payload: dict) -> None:
    """Write ``payload`` atomically (the parent never reads a half-written file)."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=_json_default) + "\n")
    tmp.replace(path)


def _json_default(obj):
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


# ---------------------------------------------------------------------------
# parent side
# ---------------------------------------------------------------------------


@dataclass
class WorkerRun:
    """What the parent saw of one worker process."""

    returncode: int | None
    timed_out: bool
    wall_seconds: float
    #: lifetime peak RSS of the worker (or its largest waited-for child), wait4
    process_peak_rss_mb: float | None
    #: sampled peak of the summed RSS of the worker and its descendants, job phase
    tree_peak_rss_mb: float | None
    #: largest number of processes seen in the worker's tree during the job
    tree_processes: int
    #: mean number of cores kept busy by *other* processes while the worker ran
    other_load_cores: float | None = None
    stdout_tail: str = ""
    stderr_tail: str = ""
    loadavg_before: tuple = field(default_factory=tuple)
    loadavg_after: tuple = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return asdict(self)


def _tree_rss(pid: int) -> tuple[float, int] | None:
    """Summed RSS (MiB) of ``pid`` and all its descendants, and their count."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return None
        total, count = 0, 0
        for p in procs:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
                count += 1
        return total / MB, count
    # Without psutil: the worker alone.
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0, 1
    except OSError:
        return None
    return None


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-limit:].decode(errors="replace")


def run_worker(
    cmd: list[str],
    *,
    timeout: float,
    log_dir: Path,
    name: str,
    env: dict | None = None,
    job_marker: Path | None = None,
    sample_every: float = 0.05,
) -> WorkerRun:
    """Run one worker in its own session, watch its memory, enforce a timeout.

    ``job_marker`` is a file the worker creates when its timed job starts; the
    process-tree RSS is sampled only from then on, so that loading the data
    does not count as the job's memory. On timeout the worker's whole process
    group is killed.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / f"{name}.stdout", log_dir / f"{name}.stderr"
    before = os.getloadavg()
    busy0 = _busy_cpu_seconds()
    start = time.perf_counter()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        tree_peak, tree_n, timed_out = None, 0, False
        status, usage = None, None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            if job_marker is None or job_marker.exists():
                sample = _tree_rss(proc.pid)
                if sample is not None:
                    tree_peak = max(tree_peak or 0.0, sample[0])
                    tree_n = max(tree_n, sample[1])
            if time.perf_counter() - start > timeout:
                timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(sample_every)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    busy1 = _busy_cpu_seconds()
    other = None
    if busy0 is not None and busy1 is not None and usage is not None and wall > 0:
        own = usage.ru_utime + usage.ru_stime
        other = max(0.0, (busy1 - busy0) - own) / wall
    return WorkerRun(
        returncode=proc.returncode,
        timed_out=timed_out,
        wall_seconds=wall,
        process_peak_rss_mb=usage.ru_maxrss / 1024.0 if usage is not None else None,
        tree_peak_rss_mb=tree_peak,
        tree_processes=tree_n,
        stdout_tail=_tail(out_path),
        stderr_tail=_tail(err_path),
        loadavg_before=before,
        loadavg_after=os.getloadavg(),
        other_load_cores=other,
    )


def _busy_cpu_seconds() -> float | None:
    """CPU seconds spent busy by the whole machine since boot (``/proc/stat``)."""
    try:
        with open("/proc/stat") as fh:
            fields = fh.readline().split()[1:]
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal ...
    ticks = [int(v) for v in fields[:8]]
    busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7]
    return busy / os.sysconf("SC_CLK_TCK")


def wait_until_quiet(
    max_wait: float, *, cores: float = 0.3, window: float = 3.0
) -> dict:
    """Wait (at most ``max_wait`` s) until the machine's load is below ``cores``.

    The load is the number of cores kept busy over a ``window`` of seconds by
    anything (this process sleeps meanwhile). Returns how long it waited, the
    last load seen and whether it was quiet.
    """
    start = time.perf_counter()
    load = None
    while True:
        b0 = _busy_cpu_seconds()
        time.sleep(window)
        b1 = _busy_cpu_seconds()
        if b0 is None or b1 is None:
            return {"waited_seconds": 0.0, "load_cores": None, "quiet": None}
        load = (b1 - b0) / window
        waited = time.perf_counter() - start
        if load < cores or waited >= max_wait:
            return {
                "waited_seconds": round(waited, 1),
                "load_cores": round(load, 2),
                "quiet": load < cores,
            }


def machine_info() -> dict:
    """CPU, memory and environment facts of this machine (parent side)."""
    model = None
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_total = None
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_total = round(int(line.split()[1]) / 1024.0 / 1024.0, 1)
                break
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu_model": model,
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "memory_gib": mem_total,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "thread_env": {k: os.environ.get(k) for k in THREAD_ENV},
        "loadavg": os.getloadavg(),
    }


def busy_processes(threshold: float = 20.0, interval: float = 1.0) -> list[dict]:
    """Other processes using more than ``threshold`` % of a core right now.

    Lets a report say whether the machine was quiet; empty without psutil.
    """
    try:
        import psutil
    except ImportError:
        return []
    me = os.getpid()
    procs = list(psutil.process_iter(["pid", "name", "cmdline"]))
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.cpu_percent(None)
    time.sleep(interval)
    busy = []
    for p in procs:
        if p.pid == me:
            continue
        with contextlib.suppress(psutil.Error):
            pct = p.cpu_percent(None)
            if pct >= threshold:
                cmd = " ".join(p.info.get("cmdline") or [p.info.get("name") or ""])
                busy.append({"pid": p.pid, "cpu_percent": pct, "cmd": cmd[:120]})
    return busy


def ensure_venv(
    path: Path, requirements: Path, *, check_imports: tuple[str, ...]
) -> Path:
    """Create (once) a virtual environment with pinned requirements; return its python.

    The environment is reused when its stamp matches the requirements file, so a
    change of pins rebuilds it.
    """
    python = path / "bin" / "python"
    stamp = path / ".requirements"
    wanted = requirements.read_text()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    print(f"[bench] creating {path} with {requirements.name} (one-off, ~1 min)")
    if path.exists():
        shutil.rmtree(path)
    steps = [
        [sys.executable, "-m", "venv", str(path)],
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(requirements),
        ],
        [str(python), "-c", "; ".join(f"import {m}" for m in check_imports) or "pass"],
    ]
    for cmd in steps:
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            lines = [
                ln
                for ln in (done.stderr + done.stdout).splitlines()
                if not ln.startswith("WARNING: Location")
            ]
            raise RuntimeError(
                f"{' '.join(cmd[:4])} ... failed: " + "\n".join(lines[-15:])
            )
    stamp.write_text(wanted)
    return python
