"""Resumable JSON-lines records shared by the Monte Carlo studies.

A records file holds a header line (what determines the records: the study's
settings and anything else it names) and one JSON line per finished
replication, so an interrupted run resumes where it stopped, and only with the
same header.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["read_records", "start_records"]


def read_records(path: Path, header: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Read the records computed under ``header`` (dropping a torn last line).

    Raises
    ------
    SystemExit
        The file's header differs from ``header`` on one of its keys.
    """
    if not path.exists():
        return {}
    lines = path.read_text().splitlines()
    if not lines:
        return {}
    found = json.loads(lines[0])
    if {k: found.get(k) for k in header} != header:
        raise SystemExit(
            f"{path} holds records computed with {found}, not {header}; pass "
            "--no-resume to start afresh or --records to use another file."
        )
    out = {}
    for line in lines[1:]:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:  # interrupted while writing the last line
            continue
        out[int(rec["r"])] = rec
    return out


def start_records(
    path: Path, header: dict[str, Any], done: dict[int, dict[str, Any]]
) -> None:
    """(Re)write the records file: header, then the valid records already done."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(header)] + [json.dumps(done[r]) for r in sorted(done)]
    path.write_text("\n".join(lines) + "\n")
