"""The chapters: committed without outputs, executed once as a reader gets them.

One session-scoped run of ``tne-eval reproduce --check`` executes every chapter
(the same run as ``make report``), checks the committed results manifest and
keeps the report it wrote; the other tests read that report, as text and in
headless Chromium.
"""

import html
import json
import re
import shutil

import nbformat
import pytest

from tests.conftest import REPO
from tne_eval.cli import main
from tne_eval.reporting.blocks import BLOCK_MIME
from tne_eval.reporting.note_text import UNTRANSLATED

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, path.name


@pytest.fixture(scope="session")
def reproduced(tmp_path_factory):
    """``tne-eval reproduce --check``, keeping the report it writes."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("report")
    stdout, stderr = io.StringIO(), io.StringIO()
    argv = ["reproduce", "--check", "--quiet", "--notebooks", str(REPO / "notebooks")]
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main([*argv, "--out", str(out)])
    return status, stdout.getvalue(), stderr.getvalue(), out


@pytest.mark.notebooks
@pytest.mark.xdist_group("report")
def test_reproduce_check_passes_on_the_committed_manifest(reproduced):
    status, stdout, stderr, _ = reproduced
    assert status == 0, stderr
    assert "Reproduced: the" in stdout


@pytest.mark.notebooks
@pytest.mark.xdist_group("report")
def test_report_text_reads_like_a_report(reproduced):
    *_, out = reproduced
    page = (out / "index.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", " ", re.sub(r"src='data:[^']+'", "", page))
    for raw in (" nan ", "NaN", "<NA>", "&lt;NA&gt;", "Traceback", "True", "False"):
        assert raw not in text, raw
    assert UNTRANSLATED not in text  # every note of the library is said in French
    blocks = [  # what the chapters displayed, from the executed notebooks
        output["data"][BLOCK_MIME]["kind"]
        for path in sorted((out / "notebooks").glob("*.ipynb"))
        for cell in nbformat.read(path, as_version=4).cells
        for output in cell.get("outputs", [])
        if BLOCK_MIME in output.get("data", {})
    ]
    figures = re.findall(r"<figure class='figure'", page)
    images = re.findall(r"<img alt='[^']*' src='data:image/png;base64,", page)
    assert len(figures) == len(images) == blocks.count("figure") >= 5
    tables = re.findall(r"<figure class='table'", page)
    assert len(tables) == blocks.count("table") >= 10
    assert page.count("<em>Lecture :</em>") >= len(
        figures
    )  # every figure is read aloud
    assert page.count("<em>Champ :</em>") == len(figures) + len(tables)
    assert page.count("<em>Source :</em>") == len(figures) + len(tables)
    assert page.count("class='truth'") == 5  # one box per chapter on synthetic data
    assert "Secret statistique" in page and "Synthèse" in page
    assert "2020-2021" in page and "2020.2" not in page
    # "0,7 point", "2,3 points": a number below 2 takes the singular, everywhere
    words = html.unescape(text)
    assert not re.findall(r"(?<![\d,.\u202f])−?[01](?:,\d+)? points\b", words)
    assert not re.findall(
        r"(?<![\d,.\u202f])−?(?:[2-9]|\d{2,})(?:,\d+)? point\b", words
    )
    # the 2020 cohort's intervals are the recommended ones, never "indicative" CR1 ones
    assert "indicatif" not in words and "Ferman-Pinto" in words
    assert "CR2 (Bell et McCaffrey)" in words  # the overall dynamic effect: CR2
    assert (out / "key_numbers.json").is_file()


@pytest.mark.notebooks
def test_report_on_data_without_truth_in_english(tmp_path):
    from tne_eval.reporting.runner import run_report

    data = tmp_path / "data"
    shutil.copytree(REPO / "data" / "synthetic", data)
    (data / "truth.json").unlink()
    (data / "MANIFEST.json").unlink()  # a real folder has no manifest either
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(REPO / "notebooks" / "03_staggered_learning.ipynb", notebooks)
    run = run_report(notebooks, tmp_path / "out", lang="en", data_dir=data)
    page = run.pages[0].read_text(encoding="utf-8")
    assert "class='truth'" not in page and "True value" not in page
    assert "The staggered estimator" in page and "Figure 1" in page
    assert "Secret statistique" not in page and "Statistical secrecy" in page
    committed = json.loads((REPO / "notebooks" / "key_numbers.json").read_text())
    fresh = run.key_numbers["03_staggered_learning"]
    expected = committed["chapters"]["03_staggered_learning"][
        "att_score_french.estimate"
    ]
    # same files, another folder: the same estimate (independent of the truth file)
    assert abs(fresh["att_score_french.estimate"] - expected) <= 1e-9 + 1e-6 * abs(
        expected
    )
    assert run.manifest["data"]["folder"] == "data"
    assert "truth.json" not in run.manifest["data"]["sha256"]


@pytest.mark.notebooks
@pytest.mark.xdist_group("report")
def test_report_as_a_reader_sees_it_in_chromium(reproduced, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium on the PATH (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="playwright is not installed (pip install -e '.[dev]')",
    )
    *_, out = reproduced
    with sync_api.sync_playwright() as p:
        try:
            chrome = p.chromium.launch(executable_path=browser, args=["--no-sandbox"])
        except Exception as err:  # a browser that cannot start here
            pytest.skip(f"chromium could not be started: {err}")
        page = chrome.new_page(viewport={"width": 1000, "height": 1400})
        page.goto((out / "index.html").as_uri())
        page.wait_for_load_state("load")
        images = page.evaluate(
            "() => Array.from(document.images).map(i => [i.complete, i.naturalWidth,"
            " i.getBoundingClientRect().width])"
        )
        tables = page.evaluate(
            "() => Array.from(document.querySelectorAll('table.data')).map(t =>"
            " [t.rows.length, t.getBoundingClientRect().height])"
        )
        text = page.inner_text("body")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        shutil.copy(tmp_path / "report.png", out / "report.png")
        chrome.close()
    assert images and all(
        done and width > 100 and shown > 100 for done, width, shown in images
    )
    assert tables and all(rows >= 2 and height > 20 for rows, height in tables)
    for raw in ("nan", "NaN", "<NA>", "Traceback", "Warning:", "SmallClusterWarning"):
        assert not re.search(rf"(?<![\w-]){re.escape(raw)}(?![\w-])", text), raw
    assert (tmp_path / "report.png").stat().st_size > 100_000
