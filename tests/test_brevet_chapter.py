"""The brevet chapter's data preparation, on the real excerpts and synthetic files.

The chapter (``notebooks/06_brevet.ipynb``) reads the portal's files of the data
folder in its cell tagged ``data-preparation``; these tests run that cell (after
the ``parameters`` cell) outside the report, on a folder holding the real
open-data excerpts under the portal's names, on the committed synthetic world and
on a folder without the files. The real excerpts are read only when
``../shared/datasets/open_data`` (next to the repository) exists.
"""

from __future__ import annotations

import io
import shutil
import warnings

import nbformat
import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO
from tne_eval.datasets import (
    dnb_panel,
    read_dnb,
    read_ips,
    simulate_dnb,
    simulate_ips,
    write_open_data,
)
from tne_eval.datasets.open_data import DNB_FILE, IPS_FILE
from tne_eval.errors import DroppedObservationsWarning

NOTEBOOK = REPO / "notebooks" / "06_brevet.ipynb"
EXCERPTS = REPO.parent / "shared" / "datasets" / "open_data"
DNB_EXCERPT = EXCERPTS / "dnb_par_etablissement_excerpt.csv"
IPS_EXCERPT = EXCERPTS / "ips_colleges_excerpt.csv"
needs_excerpts = pytest.mark.skipif(
    not (DNB_EXCERPT.is_file() and IPS_EXCERPT.is_file()),
    reason="the open-data excerpts (../shared/datasets/open_data) are not present",
)


def _cell(tag: str) -> str:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    (cell,) = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    return cell.source


def _prepare(data_dir) -> dict:
    """Run the chapter's parameters and data-preparation cells; return its names."""
    namespace: dict = {}
    exec(_cell("parameters"), namespace)
    namespace["data_dir"] = None if data_dir is None else str(data_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedObservationsWarning)
        exec(_cell("data-preparation"), namespace)
    return namespace


def _check_accounting(prep: dict) -> None:
    """Every stage: rows read = rows kept + rows dropped, and the chain holds."""
    reports = dict(prep["stages"])
    for frame, key in ((prep["dnb"], "dnb"), (prep["ips"], "ips")):
        assert reports[key].n_rows_in - reports[key].n_rows_dropped == len(frame)
    assert reports["panel"].n_rows_in == len(prep["dnb"])
    assert reports["panel"].n_rows_in - reports["panel"].n_rows_dropped == len(
        prep["panel"]
    )


@needs_excerpts
def test_preparation_on_the_real_excerpts(tmp_path):
    shutil.copy(DNB_EXCERPT, tmp_path / DNB_FILE)
    shutil.copy(IPS_EXCERPT, tmp_path / IPS_FILE)
    prep = _prepare(tmp_path)
    assert prep["files"] == {"dnb": tmp_path / DNB_FILE, "ips": tmp_path / IPS_FILE}
    _check_accounting(prep)
    reports = dict(prep["stages"])
    # the excerpts' README: 585 DNB rows, two of them pseudo-establishments; 330 IPS
    assert (reports["dnb"].n_rows_in, reports["dnb"].n_rows_dropped) == (585, 2)
    assert (reports["ips"].n_rows_in, reports["ips"].n_rows_dropped) == (330, 0)
    reasons = [r.reason for r in reports["dnb"].records]
    assert reasons == ["have an establishment number that is not a UAI"]
    panel = prep["panel"]
    assert len(panel) > 0
    assert set(panel["uai"]) <= set(prep["ips"]["uai"])
    # the IPS excerpt covers Nord and Pas-de-Calais only: no TNE collège, no DiD
    assert set(panel["department"]) <= {"59", "62"}
    assert prep["cohorts"] == [] and prep["available"] is False
    # the same panel as the readers called directly on the excerpts' own names
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedObservationsWarning)
        direct = dnb_panel(read_dnb(DNB_EXCERPT), read_ips(IPS_EXCERPT))
    pd.testing.assert_frame_equal(panel, direct)


def test_preparation_on_the_committed_synthetic_world():
    prep = _prepare(None)
    assert [p.name for p in prep["files"].values()] == [DNB_FILE, IPS_FILE]
    _check_accounting(prep)
    assert all(r.n_rows_dropped == 0 for _, r in prep["stages"])
    assert prep["cohorts"] == [2020, 2021] and prep["available"] is True
    assert prep["treated_deps"] == sorted(
        ["02", "95", "13", "18", "2A", "25", "29", "34", "38", "86", "88", "971"]
    )
    # an independent path: the simulators' frames through an in-memory buffer
    buffers = {}
    for name, frame in (("dnb", simulate_dnb()), ("ips", simulate_ips())):
        buffers[name] = io.StringIO()
        write_open_data(frame, buffers[name])
        buffers[name].seek(0)
    expected = dnb_panel(read_dnb(buffers["dnb"]), read_ips(buffers["ips"]))
    pd.testing.assert_frame_equal(prep["panel"], expected)
    rate = 100 * prep["panel"]["n_admitted"] / prep["panel"]["n_present"]
    np.testing.assert_allclose(prep["panel"]["pass_rate"], rate, rtol=1e-12)


def test_preparation_without_the_files(tmp_path):
    (tmp_path / "schools.csv").write_text("school_id\nA\n")
    prep = _prepare(tmp_path)
    assert prep["files"] is None and prep["available"] is False


@needs_excerpts
@pytest.mark.notebooks
def test_chapter_on_the_real_excerpts_shows_the_data_and_says_why_no_estimate(
    tmp_path,
):
    from tne_eval.reporting.runner import run_report

    data, notebooks = tmp_path / "data", tmp_path / "notebooks"
    data.mkdir()
    notebooks.mkdir()
    shutil.copy(DNB_EXCERPT, data / DNB_FILE)
    shutil.copy(IPS_EXCERPT, data / IPS_FILE)
    shutil.copy(NOTEBOOK, notebooks)
    run = run_report(notebooks, tmp_path / "out", data_dir=data, pdf=False)
    page = run.pages[0].read_text(encoding="utf-8")
    assert "pas de comparaison possible" in page
    assert (
        "Tableau 1" in page
        and "numéro d'établissement qui n'est pas un UAI (2)"
        in (page.replace("&#x27;", "'"))
    )
    assert "Ministère de l'Éducation nationale" in page.replace("&#x27;", "'")
    assert "class='truth'" not in page and "NaN" not in page
    assert run.key_numbers["06_brevet"] == {}  # no estimate on these files
