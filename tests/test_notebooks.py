"""Notebooks: committed without outputs, executed end to end, key numbers reproduced."""

import json

import nbformat
import pytest

from tests.conftest import REPO
from tne_eval.reporting import compare_key_numbers, extract_key_numbers
from tne_eval.reporting.runner import execute_notebook

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
COMMITTED = REPO / "notebooks" / "key_numbers.json"


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, path.name


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_reproduces_key_numbers(path):
    nb = execute_notebook(path, timeout=900)
    fresh = extract_key_numbers(nb)
    assert fresh, f"{path.name} publishes no key number"
    committed = json.loads(COMMITTED.read_text(encoding="utf-8")).get(path.stem, {})
    problems = compare_key_numbers(fresh, committed)
    assert not problems, "\n".join(problems)
