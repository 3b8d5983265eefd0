"""The power study runs end to end and writes its records (slow: it simulates worlds)."""

from __future__ import annotations

import json

import pytest

from studies import power_tne


@pytest.mark.slow
def test_power_study_writes_json_and_markdown(tmp_path):
    out = tmp_path / "power.json"
    argv = ["power_tne.py", "--reps", "2", "--scales", "0", "1", "--out", str(out)]
    assert power_tne.main(argv) == 0
    result = json.loads(out.read_text())
    assert {r["estimand"] for r in result["rows"]} == {"simple", "group_2020"}
    assert all(r["n_valid"] == 2 for r in result["rows"])
    assert out.with_suffix(".md").read_text().startswith("# Power in the synthetic")
