"""``tne-eval report``: execute the notebooks and write the report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _handler(args: argparse.Namespace) -> int:
    from tne_eval.reporting.key_numbers import compare_key_numbers
    from tne_eval.reporting.runner import run_report

    run = run_report(args.notebooks, args.out)
    print(f"Report written to {run.out_dir}/index.html ({len(run.pages)} notebooks).")
    committed = Path(args.notebooks) / "key_numbers.json"
    if committed.exists():
        expected = json.loads(committed.read_text(encoding="utf-8"))
        problems = []
        for stem in sorted(set(expected) | set(run.key_numbers)):
            diffs = compare_key_numbers(
                run.key_numbers.get(stem, {}), expected.get(stem, {})
            )
            problems += [f"{stem}: {d}" for d in diffs]
        if problems:
            print(
                "Key numbers differ from notebooks/key_numbers.json:", file=sys.stderr
            )
            for p in problems:
                print(f"  {p}", file=sys.stderr)
            return 1
        print("Every key number matches notebooks/key_numbers.json.")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` sub-command."""
    parser = sub.add_parser("report", help="execute the notebooks and write the report")
    parser.add_argument("--notebooks", default="notebooks", help="notebook folder")
    parser.add_argument("--out", default="reports", help="report folder")
    parser.set_defaults(handler=_handler)
