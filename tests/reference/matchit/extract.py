"""Extract the balance tables MatchIt and cobalt print for the LaLonde data.

The numbers in ``printed.json`` were not produced by running R here: they are the
outputs printed in the packages' rendered documentation (pkgdown sites, built by
the maintainers from the vignettes and reference examples). This script parses
those pages and writes ``printed.json``; ``PROVENANCE.json`` records, for every
key, the page, the exact R call, and the package version that rendered it.

Usage (the pages come from the ``gh-pages`` branches of the two repositories)::

    git -C <MatchIt clone> show 58903bcd:articles/MatchIt.md > MatchIt.md
    ...
    python tests/reference/matchit/extract.py <dir with the .md pages>

Only the standard library is used.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: key -> (page, text that starts the search: the R call, block titles wanted)
SPECS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "all_data_logit": (
        "MatchIt.md",
        "summary(m.out0)",
        ("Summary of Balance for All Data",),
    ),
    "nn_ps": (
        "MatchIt.md",
        "summary(m.out1, un = FALSE)",
        ("Summary of Balance for Matched Data",),
    ),
    "nn_ps_replace": (
        "assessing-balance.md",
        "summary(m.out, addlvariables",
        ("Summary of Balance for Matched Data",),
    ),
    "nn_mahalanobis_replace": (
        "README.md",
        "summary(m.out)",
        ("Summary of Balance for All Data", "Summary of Balance for Matched Data"),
    ),
    "nn_mahalanobis_replace_exact": (
        "matchit.md",
        "summary(m.out2, un = TRUE)",
        ("Summary of Balance for Matched Data",),
    ),
    "all_data_probit": (
        "matchit.md",
        "summary(m.out3, un = TRUE)",
        ("Summary of Balance for All Data",),
    ),
    "all_data_ate": (
        "matchit.md",
        "summary(m.out4, un = TRUE)",
        ("Summary of Balance for All Data",),
    ),
    "mahvars_caliper_probit_ratio2": (
        "matchit.md",
        "summary(m.out3, un = TRUE)",
        ("Summary of Balance for Matched Data",),
    ),
    "mahvars_caliper_replace_ratio3": (
        "method_nearest.md",
        "summary(m.out2, un = FALSE)",
        ("Summary of Balance for Matched Data",),
    ),
    "exact": (
        "method_exact.md",
        "summary(m.out1)",
        ("Summary of Balance for Matched Data",),
    ),
    "cem": (
        "method_cem.md",
        "summary(m.out1)",
        ("Summary of Balance for Matched Data",),
    ),
    "optimal_exact_race": (
        "method_optimal.md",
        "summary(m.out1)",
        ("Summary of Balance for Matched Data",),
    ),
}

NUM = r"-?(?:\d+\.?\d*|\.\d+)|\."


def _strip(line: str) -> str:
    return re.sub(r"^\s*(?:##|#>) ?", "", line)


def _parse_block(
    lines: list[str], start: int
) -> tuple[dict[str, list[float | None]], int]:
    """Parse a (possibly wrapped) table whose header is at ``lines[start]``."""
    rows: dict[str, list[float | None]] = {}
    i = start
    while i < len(lines):
        header = _strip(lines[i])
        if not header.strip() or header.startswith(("Summary", "Sample")):
            break
        i += 1
        while i < len(lines):
            body = _strip(lines[i])
            if not body.strip():
                break
            parts = body.split()
            # a wrapped header line has no numbers
            if not re.fullmatch(NUM, parts[-1]):
                break
            n_num = 0
            while n_num < len(parts) - 1 and re.fullmatch(NUM, parts[-1 - n_num]):
                n_num += 1
            name, vals = (
                " ".join(parts[: len(parts) - n_num]),
                parts[len(parts) - n_num :],
            )
            rows.setdefault(name, []).extend(
                None if v == "." else float(v) for v in vals
            )
            i += 1
        if i < len(lines) and not _strip(lines[i]).strip():
            break
    return rows, i


def _sample_sizes(lines: list[str], start: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    i = start + 2
    while i < len(lines):
        body = _strip(lines[i]).strip()
        if not body:
            break
        m = re.match(r"(.*?)\s+(-?[\d.]+)\s+(-?[\d.]+)$", body)
        if m:
            out[m.group(1).strip()] = [float(m.group(2)), float(m.group(3))]
        i += 1
    return out


def extract(pages: Path) -> dict[str, dict]:
    """Return ``{key: {block title: {row: values}, "Sample Sizes": ...}}``."""
    result: dict[str, dict] = {}
    for key, (page, anchor, titles) in SPECS.items():
        lines = (pages / page).read_text(encoding="utf-8").splitlines()
        at = next(i for i, ln in enumerate(lines) if anchor in ln)
        entry: dict[str, dict] = {}
        i = at
        while i < len(lines) and len(entry) < len(titles) + 1:
            text = _strip(lines[i]).strip()
            for title in titles:
                if text.startswith(title) and title not in entry:
                    entry[title], i = _parse_block(lines, i + 1)
                    break
            else:
                if text.startswith("Sample Sizes") and entry:
                    entry["Sample Sizes"] = _sample_sizes(lines, i)
                    break
                i += 1
        result[key] = entry
    return result


if __name__ == "__main__":
    data = extract(Path(sys.argv[1]))
    (HERE / "printed.json").write_text(
        json.dumps(data, indent=1) + "\n", encoding="utf-8"
    )
