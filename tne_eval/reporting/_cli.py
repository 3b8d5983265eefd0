"""``tne-eval report``: execute the notebooks and write the report."""

from __future__ import annotations

import argparse
import importlib.util
import json
import shlex
import sys
from pathlib import Path

_REPORT_MODULES = ("nbclient", "nbformat", "nbconvert", "ipykernel")


def _check_inputs(notebooks: Path) -> None:
    from tne_eval._cli_common import CommandLineError

    missing = [m for m in _REPORT_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise CommandLineError(
            f"the report needs {', '.join(missing)}, which are not installed; "
            "install the report extras: pip install 'tne-eval[report]' (or run "
            "`make report` in a clone)."
        )
    if not notebooks.is_dir():
        raise CommandLineError(
            f"no notebook folder {str(notebooks)!r} (looked in {Path.cwd()}); run "
            "the command from the root of a tne_eval clone or pass --notebooks DIR."
        )
    if not any(notebooks.glob("*.ipynb")):
        raise CommandLineError(
            f"the folder {str(notebooks)!r} holds no notebook (*.ipynb); pass the "
            "folder of the evaluation notebooks with --notebooks DIR."
        )


def _handler(args: argparse.Namespace) -> int:
    from tne_eval.reporting.key_numbers import compare_key_numbers
    from tne_eval.reporting.runner import (
        KEY_NUMBERS_FILE,
        PROVENANCE_FILE,
        run_report,
        write_key_numbers,
    )

    notebooks = Path(args.notebooks)
    _check_inputs(notebooks)
    command = "tne-eval " + shlex.join(getattr(args, "argv", ["report"]))
    run = run_report(notebooks, args.out, timeout=args.timeout, command=command)
    print(f"Report written to {run.out_dir}/index.html ({len(run.pages)} notebooks).")
    committed = notebooks / KEY_NUMBERS_FILE
    if args.update_key_numbers:
        write_key_numbers(notebooks, run.key_numbers, command=command)
        print(
            f"Key numbers written to {committed} and their provenance to "
            f"{notebooks / PROVENANCE_FILE}; review and commit both."
        )
        return 0
    if not committed.exists():
        print(
            f"No committed key numbers at {committed}: nothing to check (write them "
            "with --update-key-numbers)."
        )
        return 0
    expected = json.loads(committed.read_text(encoding="utf-8"))
    problems = []
    for stem in sorted(set(expected) | set(run.key_numbers)):
        diffs = compare_key_numbers(
            run.key_numbers.get(stem, {}), expected.get(stem, {})
        )
        problems += [f"{stem}: {d}" for d in diffs]
    if problems:
        print(f"Key numbers differ from {committed}:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        print(
            "If the change is intended, rerun with --update-key-numbers and commit "
            "the new numbers with their provenance.",
            file=sys.stderr,
        )
        return 1
    print(f"Every key number matches {committed} (rtol 1e-6).")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` sub-command to the ``tne-eval`` parser ``sub``."""
    from tne_eval._cli_common import add_command

    parser = add_command(
        sub,
        "report",
        help="execute the notebooks and write the report",
        description=(
            "Execute every notebook of the notebook folder on the synthetic world,\n"
            "write one HTML and Markdown page per notebook, an index and the key\n"
            "numbers into the report folder, then compare the key numbers with the\n"
            "committed key_numbers.json of the notebook folder (rtol 1e-6).\n\n"
            "The key numbers are regression numbers produced by tne_eval itself,\n"
            "not external references. --update-key-numbers replaces the committed\n"
            "copy and records what produced it in key_numbers.provenance.json\n"
            "(version, git commit, library versions, command, date).\n\n"
            "Run it from the root of a tne_eval clone (or pass --notebooks)."
        ),
    )
    parser.add_argument(
        "--notebooks",
        default="notebooks",
        metavar="DIR",
        help="folder of the notebooks to execute, holding key_numbers.json",
    )
    parser.add_argument(
        "--out", default="reports", metavar="DIR", help="report folder (created)"
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=1800,
        metavar="SECONDS",
        help="seconds allowed per notebook cell",
    )
    parser.add_argument(
        "--update-key-numbers",
        action="store_true",
        help="write the fresh key numbers and their provenance into the notebook "
        "folder instead of comparing them",
    )
    parser.set_defaults(handler=_handler)
