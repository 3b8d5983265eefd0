"""Execute the evaluation notebooks and write the report.

The key numbers that the notebooks publish (:func:`publish_key_numbers`) are
**regression numbers produced by tne_eval itself**, not external references:
they record what this library computed on the committed synthetic world at a
given commit, so that a later change that moves an estimate is noticed. They are
checked within stated tolerances (:func:`compare_key_numbers`: ``rtol=1e-6``,
``atol=1e-9``). What produced the committed copy (tne_eval version, git commit,
Python and library versions, the command, the date, the synthetic world's
manifest) is recorded next to it in ``key_numbers.provenance.json`` by
:func:`write_key_numbers`. Validation against external references (published
numbers, R ``did``) lives in the test suite, not here.
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
    """

    out_dir: Path
    pages: tuple[Path, ...]
    key_numbers: dict


def execute_notebook(path: Path, *, timeout: int = 1800):
    """Execute one notebook in its own folder and return the executed node.

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
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    except CellTimeoutError as err:
        raise NotebookExecutionError(
            f"{path.name}: a cell ran longer than {timeout} s; raise the timeout "
            "(--timeout) or open the notebook in Jupyter to see which cell."
        ) from err
    except CellExecutionError as err:
        cell = next(
            (
                i
                for i, c in enumerate(nb.cells)
                if any(o.get("output_type") == "error" for o in c.get("outputs", []))
            ),
            None,
        )
        where = f"cell {cell}" if cell is not None else "a cell"
        ename = getattr(err, "ename", "") or "error"
        evalue = " ".join(str(getattr(err, "evalue", "")).split())
        raise NotebookExecutionError(
            f"{path.name} failed in {where} (counting from 0) with {ename}: "
            f"{evalue}. Run the notebook in Jupyter to see the traceback."
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
    numbers: Mapping[str, Mapping[str, Any]],
    *,
    command: Sequence[str] | str,
) -> tuple[Path, Path]:
    """Write key numbers and their provenance into ``folder``.

    Writes :data:`KEY_NUMBERS_FILE` (``{notebook stem: {name: value}}``) and
    :data:`PROVENANCE_FILE` (see :func:`provenance`). These are regression numbers
    produced by tne_eval itself, not external references: committing them records
    what this version computed, and later runs are checked against them within
    the tolerances of :func:`compare_key_numbers` (``rtol=1e-6``, ``atol=1e-9``).

    Parameters
    ----------
    folder : str or pathlib.Path
        Destination (``notebooks/`` for the committed copy).
    numbers : mapping
        ``{notebook stem: {name: value}}``, as in :attr:`ReportRun.key_numbers`.
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
        json.dumps(numbers, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    record = provenance(command)
    provenance_path.write_text(
        json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return numbers_path, provenance_path


def run_report(
    notebooks_dir: str | Path,
    out_dir: str | Path,
    *,
    timeout: int = 1800,
    command: Sequence[str] | str = ("tne_eval.reporting.run_report",),
) -> ReportRun:
    """Execute every ``*.ipynb`` of ``notebooks_dir`` and write the report.

    Writes, in ``out_dir``: one HTML and one Markdown page per notebook (with
    outputs), ``index.html`` and ``README.md`` linking them, ``key_numbers.json``
    with every published key number and ``key_numbers.provenance.json`` with what
    produced them (see :func:`write_key_numbers`). The key numbers are regression
    numbers produced by tne_eval itself, not external references; the
    ``tne-eval report`` command compares them with the committed
    ``notebooks/key_numbers.json`` within :func:`compare_key_numbers`'
    tolerances (``rtol=1e-6``), or replaces that copy and its provenance with
    ``--update-key-numbers``.

    Parameters
    ----------
    notebooks_dir : str or pathlib.Path
        Folder of the notebooks (executed in sorted order).
    out_dir : str or pathlib.Path
        Folder of the report (created if needed).
    timeout : int, default 1800
        Seconds allowed per cell.
    command : sequence of str or str, optional
        The command recorded in the provenance file.

    Returns
    -------
    ReportRun

    Raises
    ------
    SpecError
        If ``notebooks_dir`` holds no notebook.
    NotebookExecutionError
        If a notebook raises (see :func:`execute_notebook`).
    """
    from nbconvert import HTMLExporter, MarkdownExporter

    from tne_eval.reporting.key_numbers import extract_key_numbers

    notebooks_dir, out_dir = Path(notebooks_dir), Path(out_dir)
    paths = sorted(notebooks_dir.glob("*.ipynb"))
    if not paths:
        raise SpecError(
            f"No notebooks (*.ipynb) found in {str(notebooks_dir)!r}; pass the "
            "folder of the evaluation notebooks (notebooks/ of a tne_eval clone)."
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    html_exporter, md_exporter = HTMLExporter(), MarkdownExporter()
    pages, numbers = [], {}
    for path in paths:
        nb = execute_notebook(path, timeout=timeout)
        numbers[path.stem] = extract_key_numbers(nb)
        body, _ = html_exporter.from_notebook_node(nb)
        page = out_dir / f"{path.stem}.html"
        page.write_text(body, encoding="utf-8")
        md, resources = md_exporter.from_notebook_node(
            nb,
            resources={"unique_key": path.stem},  # figure names unique per notebook
        )
        (out_dir / f"{path.stem}.md").write_text(md, encoding="utf-8")
        for name, blob in resources.get("outputs", {}).items():
            (out_dir / name).write_bytes(blob)
        pages.append(page)
    write_key_numbers(out_dir, numbers, command=command)
    links = "".join(f"<li><a href='{p.name}'>{p.stem}</a></li>" for p in pages)
    (out_dir / "index.html").write_text(
        "<html><head><meta charset='utf-8'><title>TNE evaluation report</title>"
        f"</head><body><h1>TNE evaluation report</h1><ul>{links}</ul>"
        "<p>Key numbers: <a href='key_numbers.json'>key_numbers.json</a></p>"
        "</body></html>\n",
        encoding="utf-8",
    )
    md_links = "\n".join(f"- [{p.stem}]({p.stem}.md)" for p in pages)
    (out_dir / "README.md").write_text(
        f"# TNE evaluation report\n\n{md_links}\n\nKey numbers: `key_numbers.json`\n",
        encoding="utf-8",
    )
    return ReportRun(out_dir=out_dir, pages=tuple(pages), key_numbers=numbers)
