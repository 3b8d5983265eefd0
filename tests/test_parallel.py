"""The shared loop helper: same result for any n_jobs, progress switchable."""

from __future__ import annotations

import numpy as np
import pytest

from tne_eval._parallel import (
    check_n_jobs,
    parallel_map,
    resolve_progress,
    spawn_generators,
)
from tne_eval.errors import SpecError


def _draw(gen: np.random.Generator) -> float:
    return float(gen.standard_normal(50).sum())


def test_results_are_in_task_order_and_independent_of_n_jobs():
    one = parallel_map(_draw, spawn_generators(3, 17), n_jobs=1, progress=False)
    two = parallel_map(_draw, spawn_generators(3, 17), n_jobs=2, progress=False)
    np.testing.assert_allclose(one, two, rtol=1e-15)
    assert len(set(one)) == 17  # independent streams


def test_generators_depend_on_the_seed_only():
    a = [g.random() for g in spawn_generators(1, 4)]
    b = [g.random() for g in spawn_generators(np.random.SeedSequence(1), 4)]
    c = [g.random() for g in spawn_generators(2, 4)]
    assert a == b and a != c


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_bad_n_jobs_is_a_spec_error(bad):
    with pytest.raises(SpecError, match="n_jobs"):
        check_n_jobs(bad)


def test_progress_switch(monkeypatch):
    monkeypatch.delenv("TNE_EVAL_PROGRESS", raising=False)
    assert resolve_progress(None) is None
    assert resolve_progress(True) is False
    assert resolve_progress(False) is True
    monkeypatch.setenv("TNE_EVAL_PROGRESS", "0")
    assert resolve_progress(True) is True
    with pytest.raises(SpecError, match="progress"):
        resolve_progress("yes")  # type: ignore[arg-type]
