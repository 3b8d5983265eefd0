r"""Seeded, parallel and visible loops: one place for ``n_jobs`` and progress bars.

Resampling loops (randomization inference, power simulations, Monte Carlo
studies) run through :func:`parallel_map`. Two promises hold for every caller:

* *Same answer for any* ``n_jobs``. Random streams are fixed before the work is
  split: :func:`spawn_generators` derives one independent generator per task from
  the caller's seed (``numpy.random.SeedSequence.spawn``), so which worker runs a
  task, and in what order, cannot change what it draws. Results come back in task
  order.
* *Progress that can be switched off.* ``progress=None`` (the default) shows a
  tqdm bar only when standard error is a terminal, so logs, notebooks rendered
  into reports and CI stay clean; ``True`` forces it, ``False`` hides it, and the
  environment variable ``TNE_EVAL_PROGRESS=0`` hides it everywhere.

Work is sent to joblib (its ``loky`` process backend by default, which pickles
closures with cloudpickle) in chunks, so each worker pays the start-up cost once
per chunk rather than once per task.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np

from tne_eval.errors import SpecError

__all__ = ["check_n_jobs", "parallel_map", "resolve_progress", "spawn_generators"]

T = TypeVar("T")
R = TypeVar("R")


def check_n_jobs(n_jobs: object) -> int:
    """Validate ``n_jobs`` (joblib's convention: ``-1`` is every core).

    Raises
    ------
    SpecError
        Not an integer, or 0, or below -1.
    """
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)):
        raise SpecError(
            f"n_jobs must be a positive integer or -1 for every core (got {n_jobs!r})."
        )
    n = int(n_jobs)
    if n == 0 or n < -1:
        raise SpecError(
            f"n_jobs must be a positive integer or -1 for every core (got {n})."
        )
    return n


def resolve_progress(progress: bool | None) -> bool | None:
    """Turn the ``progress`` argument into tqdm's ``disable`` flag.

    ``None`` lets tqdm decide (shown on a terminal only); the environment
    variable ``TNE_EVAL_PROGRESS=0`` (or ``false``/``no``/``off``) switches every
    bar off.
    """
    if progress is not None and not isinstance(progress, (bool, np.bool_)):
        raise SpecError(f"progress must be True, False or None (got {progress!r}).")
    env = os.environ.get("TNE_EVAL_PROGRESS", "").strip().lower()
    if env in ("0", "false", "no", "off"):
        return True
    return None if progress is None else not bool(progress)


def spawn_generators(seed: object, n: int) -> list[np.random.Generator]:
    """One independent generator per task, fixed by ``seed`` alone.

    Parameters
    ----------
    seed : int, numpy.random.SeedSequence, numpy.random.Generator or None
        A generator is used to draw the root entropy (so passing the same
        generator state gives the same streams).
    n : int
        Number of tasks.

    Examples
    --------
    >>> a = [g.random() for g in spawn_generators(7, 3)]
    >>> b = [g.random() for g in spawn_generators(7, 3)]
    >>> a == b
    True
    """
    if isinstance(seed, np.random.Generator):
        root = np.random.SeedSequence(int(seed.integers(0, 2**63 - 1)))
    elif isinstance(seed, np.random.SeedSequence):
        root = seed
    else:
        root = np.random.SeedSequence(seed)  # type: ignore[arg-type]
    return [np.random.default_rng(s) for s in root.spawn(n)]


def _chunks(n: int, n_chunks: int) -> list[range]:
    edges = np.linspace(0, n, n_chunks + 1).round().astype(int)
    return [range(a, b) for a, b in itertools.pairwise(edges) if b > a]


def _run_chunk(fn: Callable[[Any], Any], tasks: Sequence[Any]) -> list[Any]:
    return [fn(t) for t in tasks]


def parallel_map(
    fn: Callable[[T], R],
    tasks: Iterable[T],
    *,
    n_jobs: int = 1,
    progress: bool | None = None,
    desc: str | None = None,
    chunks_per_job: int = 4,
) -> list[R]:
    """Apply ``fn`` to every task, in parallel when ``n_jobs != 1``, in task order.

    Parameters
    ----------
    fn : callable
        Called once per task; must be picklable (closures are, through
        cloudpickle) when ``n_jobs != 1``. Randomness must come from the task
        (e.g. a generator of :func:`spawn_generators`), never from global state.
    tasks : iterable
    n_jobs : int, default 1
        Worker processes (joblib ``loky``); ``-1`` uses every core; ``1`` runs
        in this process with no joblib overhead.
    progress : bool or None, default None
        Progress bar (see the module docstring).
    desc : str, optional
        Label of the progress bar.
    chunks_per_job : int, default 4
        Tasks are sent in about ``n_jobs * chunks_per_job`` chunks.

    Returns
    -------
    list
        ``[fn(t) for t in tasks]``.

    Examples
    --------
    >>> parallel_map(abs, [-1, 2, -3], progress=False)
    [1, 2, 3]
    """
    from tqdm.auto import tqdm

    n_jobs = check_n_jobs(n_jobs)
    items = list(tasks)
    disable = resolve_progress(progress)
    if n_jobs == 1 or len(items) <= 1:
        return [fn(t) for t in tqdm(items, desc=desc, disable=disable, file=sys.stderr)]
    from joblib import Parallel, cpu_count, delayed

    workers = cpu_count() if n_jobs == -1 else n_jobs
    parts = _chunks(len(items), max(1, min(len(items), workers * chunks_per_job)))
    out: list[Any] = []
    with tqdm(total=len(items), desc=desc, disable=disable, file=sys.stderr) as bar:
        gen = Parallel(n_jobs=workers, return_as="generator")(
            delayed(_run_chunk)(fn, [items[i] for i in part]) for part in parts
        )
        for part, res in zip(parts, gen):
            out.extend(res)
            bar.update(len(part))
    return out
