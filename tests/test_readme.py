"""The README's code runs and prints what the README says it prints."""

from __future__ import annotations

import contextlib
import io
import re
import warnings

import pytest

from tests.conftest import REPO
from tne_eval.errors import SmallClusterWarning

README = REPO / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(README.read_text("utf-8"))]


def python_blocks() -> list[tuple[str, str | None]]:
    """Each python block with the ``text`` block that follows it (its output), if any."""
    found = blocks()
    out = []
    for i, (lang, code) in enumerate(found):
        if lang == "python":
            nxt = found[i + 1] if i + 1 < len(found) else None
            out.append((code, nxt[1] if nxt and nxt[0] == "text" else None))
    return out


def normalize(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def test_readme_has_python_blocks():
    assert python_blocks(), "README.md holds no ```python block"


@pytest.mark.parametrize(("code", "expected"), python_blocks())
def test_readme_block_runs_and_prints_its_output(code, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the block may write files (a figure)
    stdout = io.StringIO()
    with (
        warnings.catch_warnings(record=True) as caught,
        contextlib.redirect_stdout(stdout),
    ):
        warnings.simplefilter("always")
        exec(compile(code, str(README), "exec"), {"__name__": "__readme__"})
    printed = normalize(stdout.getvalue())
    if expected is not None:
        missing = [line for line in normalize(expected) if line not in printed]
        assert not missing, f"README output not printed: {missing}"
    # the first estimate: the README explains the few-clusters warning it raises
    # and writes the event study to a file
    if "att_gt" in code:
        assert any(issubclass(w.category, SmallClusterWarning) for w in caught)
    for name in re.findall(r"savefig\(\"([^\"]+)\"\)", code):
        assert (tmp_path / name).stat().st_size > 10_000


def test_readme_count_of_schools_lost_to_balancing():
    import tne_eval as tne
    from tne_eval.datasets import load_synthetic
    from tne_eval.errors import DroppedObservationsWarning

    panel = load_synthetic("school_panel")
    cm2 = panel[panel["grade"] == "CM2"]
    spec = tne.PanelSpec(
        unit="school_id",
        time="year",
        outcome="score_french",
        cohort="first_treated",
        cluster="department",
        covariates=("social_index",),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallClusterWarning)
        with pytest.warns(
            DroppedObservationsWarning, match=r"Dropped 706 unit\(s\) \(5544 rows\)"
        ):
            gt = tne.att_gt(cm2, spec, method="reg")
    assert any("Dropped 706 unit(s)" in note for note in gt.notes)
    text = " ".join(README.read_text("utf-8").split())
    assert (
        f"drops 706 of the {cm2['school_id'].nunique():,} CM2 schools (5,544 school-years)"
        in text
    )
