"""Execute the evaluation notebooks and write the report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tne_eval.errors import SpecError


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
    """Execute one notebook in its own folder and return the executed node."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return nb


def run_report(
    notebooks_dir: str | Path, out_dir: str | Path, *, timeout: int = 1800
) -> ReportRun:
    """Execute every ``*.ipynb`` of ``notebooks_dir`` and write the report.

    Writes, in ``out_dir``: one HTML and one Markdown page per notebook (with
    outputs), ``index.html`` and ``README.md`` linking them, and
    ``key_numbers.json`` with every published key number.

    Parameters
    ----------
    notebooks_dir : str or pathlib.Path
        Folder of the notebooks (executed in sorted order).
    out_dir : str or pathlib.Path
        Folder of the report (created if needed).
    timeout : int, default 1800
        Seconds allowed per cell.

    Returns
    -------
    ReportRun
    """
    from nbconvert import HTMLExporter, MarkdownExporter

    from tne_eval.reporting.key_numbers import extract_key_numbers

    notebooks_dir, out_dir = Path(notebooks_dir), Path(out_dir)
    paths = sorted(notebooks_dir.glob("*.ipynb"))
    if not paths:
        raise SpecError(f"No notebooks (*.ipynb) found in {str(notebooks_dir)!r}.")
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
    (out_dir / "key_numbers.json").write_text(
        json.dumps(numbers, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
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
