import math

import nbformat
import pytest

from tne_eval.errors import SpecError, TneEvalTypeError
from tne_eval.reporting import (
    KEY_NUMBERS_MIME,
    compare_key_numbers,
    extract_key_numbers,
)
from tne_eval.reporting.key_numbers import _check_numbers
from tne_eval.reporting.runner import run_report


def test_compare_key_numbers():
    assert compare_key_numbers({"a": 1.0, "b": "x"}, {"a": 1.0 + 1e-9, "b": "x"}) == []
    problems = compare_key_numbers({"a": 1.1, "c": 1}, {"a": 1.0, "b": 2})
    assert problems == [
        "a: fresh 1.1 != committed 1.0",
        "b: missing from the fresh run",
        "c: not in the committed numbers (new key?)",
    ]
    assert compare_key_numbers({"n": math.nan}, {"n": math.nan}) == []
    assert compare_key_numbers({"s": "x"}, {"s": "y"}) == [
        "s: fresh 'x' != committed 'y'"
    ]


def test_check_numbers_types():
    import numpy as np

    assert _check_numbers({"a": np.float64(1.5)}) == {"a": 1.5}
    with pytest.raises(
        TneEvalTypeError, match="key number 'a' must be an int, float or str"
    ):
        _check_numbers({"a": [1]})
    with pytest.raises(TneEvalTypeError, match="key-number names must be strings"):
        _check_numbers({1: 1})


def test_extract_key_numbers():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data", data={KEY_NUMBERS_MIME: {"a": 1}, "text/plain": "a = 1"}
        )
    ]
    nb.cells = [cell]
    assert extract_key_numbers(nb) == {"a": 1}


def test_run_report_needs_notebooks(tmp_path):
    with pytest.raises(SpecError, match="No notebooks"):
        run_report(tmp_path, tmp_path / "out")


@pytest.mark.notebooks
def test_run_report_writes_pages(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from tne_eval.reporting import publish_key_numbers\npublish_key_numbers({'answer': 42})"
        )
    ]
    nbformat.write(nb, tmp_path / "demo.ipynb")
    run = run_report(tmp_path, tmp_path / "out")
    assert run.key_numbers == {"demo": {"answer": 42}}
    assert (tmp_path / "out" / "demo.html").exists()
    assert (tmp_path / "out" / "demo.md").exists()
    assert (tmp_path / "out" / "index.html").exists()
    assert "answer" in (tmp_path / "out" / "key_numbers.json").read_text()


def test_att_gt_frame_exports_to_markdown(small_staggered_panel):
    import tne_eval as tne

    spec = tne.PanelSpec(unit="unit", time="period", outcome="y", cohort="cohort")
    gt = tne.att_gt(small_staggered_panel, spec, method="reg")
    md = gt.to_frame().to_markdown(index=False)  # needs tabulate, a core dependency
    lines = md.splitlines()
    assert lines[0].startswith("|") and "estimate" in lines[0]
    assert len(lines) == len(gt.to_frame()) + 2  # header, rule, one line per cell


def test_committed_key_numbers_record_their_provenance():
    import json

    from tests.conftest import REPO
    from tne_eval.reporting.runner import KEY_NUMBERS_FILE, PROVENANCE_FILE

    numbers = json.loads((REPO / "notebooks" / KEY_NUMBERS_FILE).read_text("utf-8"))
    record = json.loads((REPO / "notebooks" / PROVENANCE_FILE).read_text("utf-8"))
    assert numbers
    assert record["kind"].startswith("regression numbers produced by tne_eval itself")
    assert record["command"].startswith("tne-eval report")
    assert "--update-key-numbers" in record["command"]
    assert {"tne_eval", "git", "python", "packages", "date", "synthetic_world"} <= set(
        record
    )
    assert {"numpy", "pandas", "scipy"} <= set(record["packages"])
    assert record["tolerance"] == {"rtol": 1e-6, "atol": 1e-9}
