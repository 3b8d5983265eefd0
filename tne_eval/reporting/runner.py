"""Execute the chapter notebooks and write the report.

The key numbers that the chapters publish (:func:`publish_key_numbers`) are
**regression numbers produced by tne_eval itself**, not external references:
they record what this library computed on the committed synthetic world at a
given commit, so that a later change that moves an estimate is noticed. They
form the results manifest (:mod:`tne_eval.reporting.manifest`), checked within
stated tolerances (``rtol=1e-6``, ``atol=1e-9``). What produced the committed
copy (git commit, command, date) is recorded next to it in
``key_numbers.provenance.json`` by :func:`write_key_numbers`. Validation against
external references (published numbers, R ``did``) lives in the test suite, not
here.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tne_eval.errors import SpecError, TneEvalError

#: File of the committed key numbers, in the notebooks folder.
KEY_NUMBERS_FILE = "key_numbers.json"
#: File recording what produced :data:`KEY_NUMBERS_FILE`, next to it.
PROVENANCE_FILE = "key_numbers.provenance.json"
#: Libraries whose versions can move the key numbers.
_VERSIONED = ("numpy", "pandas", "scipy", "statsmodels", "linearmodels", "matplotlib")


class NotebookExecutionError(TneEvalError, RuntimeError):
    """A notebook raised while the report runner executed it."""


@dataclass(frozen=True)
class ReportRun:
    """What :func:`run_report` wrote.

    Attributes
    ----------
    out_dir : pathlib.Path
        Report folder.
    pages : tuple of pathlib.Path
        One HTML page per notebook.
    key_numbers : dict
        ``{notebook stem: {name: value}}``.
    manifest : dict
        The results manifest (see :mod:`tne_eval.reporting.manifest`).
    seconds : dict
        Execution time of each chapter.
    pdf : pathlib.Path or None
        The PDF, when Chromium printed one.
    """

    out_dir: Path
    pages: tuple[Path, ...]
    key_numbers: dict
    manifest: dict | None = None
    seconds: dict | None = None
    pdf: Path | None = None


def _inject(nb: Any, parameters: Mapping[str, Any] | None) -> None:
    """Add the injected-parameters cell and, to a chapter, the closing cell.

    The parameters go right after the cell tagged ``parameters`` (at the top
    when there is none). A chapter (a notebook with a ``parameters`` cell) gets
    a last cell that closes its :class:`~tne_eval.reporting.blocks.Chapter`, so
    that the warnings it captured are written as notes.
    """
    import nbformat

    where = next(
        (
            i + 1
            for i, c in enumerate(nb.cells)
            if "parameters" in c.get("metadata", {}).get("tags", [])
        ),
        None,
    )
    if parameters:
        code = "# Parameters injected by tne-eval report\n" + "".join(
            f"{k} = {v!r}\n" for k, v in parameters.items()
        )
        cell = nbformat.v4.new_code_cell(code)
        cell.metadata["tags"] = ["injected-parameters"]
        nb.cells.insert(where or 0, cell)
    if where is not None:
        closing = nbformat.v4.new_code_cell(
            "from tne_eval.reporting.blocks import close_current\nclose_current()"
        )
        closing.metadata["tags"] = ["injected-closing"]
        nb.cells.append(closing)


def _kernel_env() -> dict[str, str]:
    """Build the kernels' environment: they import the tne_eval running the report."""
    import os

    import tne_eval

    root = str(Path(tne_eval.__file__).resolve().parents[1])
    env = dict(os.environ)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([root, *[p for p in paths if p != root]])
    return env


def execute_notebook(
    path: Path,
    *,
    timeout: int = 1800,
    parameters: Mapping[str, Any] | None = None,
    progress: Any = None,
):
    """Execute one notebook in its own folder and return the executed node.

    Parameters
    ----------
    path : pathlib.Path
    timeout : int, default 1800
        Seconds allowed per cell.
    parameters : mapping, optional
        Values injected, papermill-style, in a cell tagged
        ``injected-parameters`` right after the cell tagged ``parameters``
        (at the top when there is none).
    progress : callable, optional
        Called as ``progress(done, total)`` after each cell.

    The kernel imports the same tne_eval as the caller (its folder is put first
    on the kernel's ``PYTHONPATH``), so the numbers come from the code that
    records them.

    Raises
    ------
    NotebookExecutionError
        If a cell raises (the message names the notebook, the cell and the
        error), if a cell runs longer than ``timeout`` seconds, or if no
        ``python3`` Jupyter kernel is installed.
    """
    import nbformat
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    _inject(nb, parameters)
    total = sum(c.cell_type == "code" for c in nb.cells)
    done = [0]

    def on_cell_executed(**_: Any) -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], total)

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        # the kernel's own start-up warnings would interleave with the progress lines
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        on_cell_executed=on_cell_executed,
    )
    try:
        client.execute(env=_kernel_env())
    except CellTimeoutError as err:
        raise NotebookExecutionError(
            f"{path.name}: a cell ran longer than {timeout} s; raise the timeout "
            "(--timeout) or open the notebook in Jupyter to see which cell."
        ) from err
    except CellExecutionError as err:
        # the index of the failing cell in the notebook as written (injected
        # cells are not counted), so it matches what Jupyter shows
        cell, own = None, 0
        for c in nb.cells:
            tags = c.get("metadata", {}).get("tags", [])
            injected = any(str(t).startswith("injected-") for t in tags)
            if any(o.get("output_type") == "error" for o in c.get("outputs", [])):
                cell = None if injected else own
                break
            own += 0 if injected else 1
        where = f"cell {cell}" if cell is not None else "a cell"
        ename = getattr(err, "ename", "") or "error"
        evalue = " ".join(str(getattr(err, "evalue", "")).split()).rstrip(".")
        raise NotebookExecutionError(
            f"{path.name} failed in {where} (counting from 0, as in Jupyter) "
            f"with {ename}: {evalue}. Run the notebook in Jupyter to "
            "see the traceback."
        ) from err
    except NoSuchKernel as err:
        raise NotebookExecutionError(
            "No 'python3' Jupyter kernel is installed; install the report extras: "
            "pip install 'tne-eval[report]'."
        ) from err
    return nb


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def provenance(command: Sequence[str] | str) -> dict[str, Any]:
    """Describe what is producing key numbers now: code, versions, data, command.

    Parameters
    ----------
    command : sequence of str or str
        The command that produced the numbers (e.g. ``["tne-eval", "report",
        "--update-key-numbers"]``).

    Returns
    -------
    dict
        ``kind`` (always ``"regression numbers produced by tne_eval itself"``),
        ``tolerance`` (the rtol/atol of :func:`compare_key_numbers`),
        ``tne_eval`` (version), ``git`` (``commit`` and ``dirty``: uncommitted
        changes to tracked files other than the key-number files, in the
        checkout that holds the imported tne_eval; None for an installed
        wheel), ``python``, ``platform``, ``packages`` (versions of numpy,
        pandas, scipy, statsmodels, linearmodels, matplotlib),
        ``synthetic_world`` (seed, generator version and SHA-256 of the
        manifest of the world read by default), ``command`` and ``date`` (UTC,
        ISO 8601).
    """
    import shlex

    import tne_eval
    from tne_eval.datasets.load import default_data_dir

    folder = Path(tne_eval.__file__).resolve().parent
    commit = _git(folder, "rev-parse", "HEAD")
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    if status is not None:  # the key-number files themselves do not count
        own = (KEY_NUMBERS_FILE, PROVENANCE_FILE)
        status = "\n".join(
            line for line in status.splitlines() if not line.rstrip().endswith(own)
        )
    world: dict[str, Any] | None = None
    manifest = default_data_dir() / "MANIFEST.json"
    if manifest.is_file():
        raw = manifest.read_bytes()
        content = json.loads(raw)
        world = {
            "seed": content.get("seed"),
            "generator_version": content.get("generator_version"),
            "manifest_sha256": hashlib.sha256(raw).hexdigest(),
        }
    if not isinstance(command, str):
        command = shlex.join(command)
    return {
        "kind": "regression numbers produced by tne_eval itself (not external "
        "references)",
        "tolerance": {"rtol": 1e-6, "atol": 1e-9},
        "tne_eval": tne_eval.__version__,
        "git": None
        if commit is None
        else {"commit": commit, "dirty": bool(status) if status is not None else None},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in _VERSIONED},
        "synthetic_world": world,
        "command": command,
        "date": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
    }


def write_key_numbers(
    folder: str | Path,
    manifest: Mapping[str, Any],
    *,
    command: Sequence[str] | str,
) -> tuple[Path, Path]:
    """Write the results manifest and its provenance into ``folder``.

    Writes :data:`KEY_NUMBERS_FILE` (the manifest of
    :func:`tne_eval.reporting.manifest.build_manifest`) and
    :data:`PROVENANCE_FILE` (see :func:`provenance`: git commit, command, date,
    which change from run to run and are not compared). These are regression
    numbers produced by tne_eval itself, not external references.

    Parameters
    ----------
    folder : str or pathlib.Path
        Destination (``notebooks/`` for the committed copy).
    manifest : mapping
        As in :attr:`ReportRun.manifest`.
    command : sequence of str or str
        The command that produced the numbers, recorded in the provenance.

    Returns
    -------
    tuple of pathlib.Path
        The two files written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    numbers_path, provenance_path = folder / KEY_NUMBERS_FILE, folder / PROVENANCE_FILE
    numbers_path.write_text(
        json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    record = provenance(command)
    provenance_path.write_text(
        json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return numbers_path, provenance_path


def _ordered(notebooks_dir: Path) -> list[Path]:
    from tne_eval.reporting.chapters import CHAPTERS

    paths = {p.stem: p for p in notebooks_dir.glob("*.ipynb")}
    listed = [paths.pop(c.stem) for c in CHAPTERS if c.stem in paths]
    return listed + [paths[k] for k in sorted(paths)]


class _Progress:
    """One line per chapter on stderr; a live cell counter on a terminal."""

    def __init__(self, enabled: bool, total: int) -> None:
        import sys

        self.enabled, self.total, self.stream = enabled, total, sys.stderr
        self.live = enabled and self.stream.isatty()

    def start(self, i: int, stem: str) -> None:
        self.prefix = f"[{i}/{self.total}] {stem}"
        if self.enabled and not self.live:
            print(f"{self.prefix} ...", file=self.stream, flush=True)

    def cell(self, done: int, total: int) -> None:
        if self.live:
            print(
                f"\r{self.prefix}: cell {done}/{total}",
                end="",
                file=self.stream,
                flush=True,
            )

    def end(self, seconds: float) -> None:
        if self.enabled:
            lead = "\r" if self.live else ""
            print(
                f"{lead}{self.prefix}: done in {seconds:.1f} s" + " " * 12,
                file=self.stream,
                flush=True,
            )


def _chromium() -> str | None:
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html_path: Path, pdf_path: Path, *, timeout: int = 300) -> bool:
    """Print ``html_path`` to ``pdf_path`` with headless Chromium.

    Returns
    -------
    bool
        False (nothing written) when no ``chromium`` is on the PATH or it fails.
    """
    browser = _chromium()
    if browser is None:
        return False
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf_path.resolve()}",
        html_path.resolve().as_uri(),
    ]
    try:
        subprocess.run(command, capture_output=True, timeout=timeout, check=True)
    except (OSError, subprocess.SubprocessError):
        return False
    return pdf_path.is_file()


def run_report(
    notebooks_dir: str | Path,
    out_dir: str | Path,
    *,
    lang: str = "fr",
    data_dir: str | Path | None = None,
    seed: int = 2021,
    outcomes: Sequence[str] | None = None,
    timeout: int = 1800,
    command: Sequence[str] | str = ("tne_eval.reporting.run_report",),
    progress: bool = False,
    pdf: bool = False,
) -> ReportRun:
    """Execute the chapters of ``notebooks_dir`` and write the report.

    Writes, in ``out_dir``: ``index.html`` (one self-contained report: style,
    contents, summary, chapters, figures embedded, no code), ``index.pdf`` when
    ``pdf`` and Chromium is installed, ``key_numbers.json`` (the results
    manifest, see :mod:`tne_eval.reporting.manifest`),
    ``key_numbers.provenance.json`` and the executed notebooks under
    ``notebooks/``. The chapters listed in
    :data:`tne_eval.reporting.chapters.CHAPTERS` run first, in that order, then
    any other notebook of the folder.

    Parameters
    ----------
    notebooks_dir : str or pathlib.Path
        Folder of the chapter notebooks.
    out_dir : str or pathlib.Path
        Folder of the report (created if needed).
    lang : {"fr", "en"}, default "fr"
        Language of the report.
    data_dir : str or pathlib.Path, optional
        Data folder given to the chapters (default: the committed synthetic
        world). Without ``truth.json`` the truth boxes are left out.
    seed : int, default 2021
        Seed given to the chapters.
    outcomes : sequence of str, optional
        Learning outcomes of the chapters (default ``score_french``,
        ``score_math``).
    timeout : int, default 1800
        Seconds allowed per cell.
    command : sequence of str or str, optional
        The command recorded in the provenance file.
    progress : bool, default False
        Report progress on stderr while chapters execute.
    pdf : bool, default False
        Also print the report to PDF with headless Chromium when available.

    Returns
    -------
    ReportRun

    Raises
    ------
    SpecError
        If ``notebooks_dir`` holds no notebook, or ``lang`` is unknown.
    NotebookExecutionError
        If a notebook raises (see :func:`execute_notebook`).
    """
    import time

    import nbformat

    from tne_eval.datasets.load import default_data_dir
    from tne_eval.reporting.chapters import DEFAULT_PARAMETERS
    from tne_eval.reporting.document import ChapterPage, render_document
    from tne_eval.reporting.fmt import check_lang
    from tne_eval.reporting.key_numbers import (
        extract_chapter_parameters,
        extract_key_numbers,
    )
    from tne_eval.reporting.manifest import build_manifest
    from tne_eval.reporting.summary import render_footer, render_summary

    check_lang(lang)
    notebooks_dir, out_dir = Path(notebooks_dir), Path(out_dir)
    paths = _ordered(notebooks_dir)
    if not paths:
        raise SpecError(
            f"No notebooks (*.ipynb) found in {str(notebooks_dir)!r}; pass the "
            "folder of the evaluation notebooks (notebooks/ of a tne_eval clone)."
        )
    parameters = dict(DEFAULT_PARAMETERS)
    parameters.update(lang=lang, seed=int(seed))
    # absolute: the kernels run in the notebook folder
    parameters["data_dir"] = None if data_dir is None else str(Path(data_dir).resolve())
    if outcomes is not None:
        parameters["outcomes"] = list(outcomes)
    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "notebooks").mkdir(exist_ok=True)
    bar = _Progress(progress, len(paths))
    pages, numbers, seconds, options = [], {}, {}, {}
    for i, path in enumerate(paths, start=1):
        bar.start(i, path.stem)
        began = time.perf_counter()
        nb = execute_notebook(
            path, timeout=timeout, parameters=parameters, progress=bar.cell
        )
        seconds[path.stem] = time.perf_counter() - began
        bar.end(seconds[path.stem])
        numbers[path.stem] = extract_key_numbers(nb)
        if chapter_options := extract_chapter_parameters(nb):
            options[path.stem] = chapter_options
        nbformat.write(nb, out_dir / "notebooks" / path.name)
        pages.append(ChapterPage(path.stem, nb))
    recorded = {**parameters, "chapters": options} if options else parameters
    manifest = build_manifest(numbers, parameters=recorded, data_dir=folder)
    write_key_numbers(out_dir, manifest, command=command)
    has_truth = (folder / "truth.json").is_file()
    document = render_document(
        pages,
        lang=lang,
        summary_html=render_summary(numbers, lang=lang, has_truth=has_truth),
        footer_html=render_footer(manifest, lang=lang, command=command),
    )
    index = out_dir / "index.html"
    index.write_text(document, encoding="utf-8")
    pdf_path = None
    if pdf:
        candidate = out_dir / "index.pdf"
        if print_pdf(index, candidate):
            pdf_path = candidate
    return ReportRun(
        out_dir=out_dir,
        pages=(index,),
        key_numbers=numbers,
        manifest=manifest,
        seconds=seconds,
        pdf=pdf_path,
    )
