"""``tne-eval report`` and ``tne-eval reproduce``: execute the chapters, write the report."""

from __future__ import annotations

import argparse
import importlib.util
import json
import shlex
import sys
import tempfile
from pathlib import Path

_REPORT_MODULES = ("nbclient", "nbformat", "nbconvert", "ipykernel", "mistune")
#: Parameters whose change cannot move a number (not compared).
_PRESENTATION = ("lang",)


def _check_inputs(notebooks: Path, data: str | None = None) -> None:
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
    if data is not None and not Path(data).is_dir():
        raise CommandLineError(
            f"no data folder {data!r}; pass a folder holding the tables of the data "
            "model (see the data-schema page of the documentation)."
        )


def _command(args: argparse.Namespace, default: str) -> str:
    return "tne-eval " + shlex.join(getattr(args, "argv", [default]))


def _compare(fresh: dict, committed_path: Path) -> tuple[list[str], list[str], int]:
    from tne_eval.reporting.manifest import compare_manifests

    committed = json.loads(committed_path.read_text(encoding="utf-8"))
    if "parameters" in committed:
        for key in _PRESENTATION:  # the language cannot move a number
            committed = {**committed, "parameters": {**committed["parameters"]}}
            committed["parameters"].pop(key, None)
        fresh = {**fresh, "parameters": {**fresh["parameters"]}}
        for key in _PRESENTATION:
            fresh["parameters"].pop(key, None)
    problems, remarks = compare_manifests(fresh, committed)
    checked = sum(len(v) for v in committed.get("chapters", {}).values())
    return problems, remarks, checked


def _print_diff(problems, remarks, checked, committed: Path) -> None:
    for r in remarks:
        print(f"note: library version differs: {r}")
    if problems:
        print(
            f"The run does not reproduce {committed}: {len(problems)} difference(s) "
            f"among {checked} committed numbers and the data/parameter records:",
            file=sys.stderr,
        )
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        print(
            "If the change is intended, run `tne-eval reproduce --update` and commit "
            "the new manifest with its provenance.",
            file=sys.stderr,
        )
    else:
        print(
            f"Reproduced: the {checked} numbers of {committed} agree within rtol 1e-6 "
            "(atol 1e-9); data fingerprint and parameters are identical."
        )


def _report_handler(args: argparse.Namespace) -> int:
    from tne_eval.reporting.runner import (
        KEY_NUMBERS_FILE,
        run_report,
        write_key_numbers,
    )

    notebooks = Path(args.notebooks)
    _check_inputs(notebooks, args.data)
    command = _command(args, "report")
    run = run_report(
        notebooks,
        args.out,
        lang=args.lang,
        data_dir=args.data,
        seed=args.seed,
        timeout=args.timeout,
        command=command,
        progress=not args.quiet,
        pdf=not args.no_pdf,
    )
    total = sum(run.seconds.values())
    print(
        f"Report written to {run.out_dir}/index.html ({len(run.key_numbers)} "
        f"chapters, {total:.0f} s)."
    )
    if not args.no_pdf:
        if run.pdf is not None:
            print(f"PDF written to {run.pdf}.")
        else:
            print("PDF skipped: no chromium on the PATH (install Debian's chromium).")
    committed = notebooks / KEY_NUMBERS_FILE
    if args.update_key_numbers:
        write_key_numbers(notebooks, run.manifest, command=command)
        print(f"Results manifest written to {committed}; review and commit it.")
        return 0
    if args.data is not None:
        print("Other data than the committed world: no comparison with the manifest.")
        return 0
    if not committed.exists():
        print(f"No committed manifest at {committed}: nothing to check.")
        return 0
    problems, remarks, checked = _compare(run.manifest, committed)
    _print_diff(problems, remarks, checked, committed)
    return 1 if problems else 0


def _reproduce_handler(args: argparse.Namespace) -> int:
    from tne_eval._cli_common import CommandLineError
    from tne_eval.reporting.runner import (
        KEY_NUMBERS_FILE,
        run_report,
        write_key_numbers,
    )

    notebooks = Path(args.notebooks)
    committed = Path(args.manifest) if args.manifest else notebooks / KEY_NUMBERS_FILE
    data = None
    parameters: dict = {}
    if committed.is_file():
        recorded = json.loads(committed.read_text(encoding="utf-8"))
        parameters = dict(recorded.get("parameters", {}))
        data = parameters.get("data_dir")
    elif args.check:
        raise CommandLineError(
            f"no committed manifest at {committed}; write one with tne-eval reproduce "
            "--update."
        )
    _check_inputs(notebooks, data)
    command = _command(args, "reproduce")
    with tempfile.TemporaryDirectory(prefix="tne-eval-reproduce-") as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        run = run_report(
            notebooks,
            out,
            lang=parameters.get("lang", "fr"),
            data_dir=data,
            seed=parameters.get("seed", 2021),
            outcomes=parameters.get("outcomes"),
            timeout=args.timeout,
            command=command,
            progress=not args.quiet,
        )
    if args.update:
        write_key_numbers(notebooks, run.manifest, command=command)
        print(f"Results manifest written to {committed.parent / KEY_NUMBERS_FILE}.")
        return 0
    problems, remarks, checked = _compare(run.manifest, committed)
    _print_diff(problems, remarks, checked, committed)
    return 1 if problems else 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--notebooks",
        default="notebooks",
        metavar="DIR",
        help="folder of the chapter notebooks, holding key_numbers.json",
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=1800,
        metavar="SECONDS",
        help="seconds allowed per notebook cell",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress lines while chapters run"
    )


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` and ``reproduce`` sub-commands to the ``tne-eval`` parser."""
    from tne_eval._cli_common import add_command

    parser = add_command(
        sub,
        "report",
        help="execute the chapters and write the report",
        description=(
            "Execute every chapter notebook (notebooks/, in the order of\n"
            "tne_eval.reporting.chapters) with the given parameters and write one\n"
            "self-contained reports/index.html (summary, contents, chapters, figures\n"
            "embedded, no code), index.pdf when chromium is installed, and the\n"
            "results manifest key_numbers.json. On the committed synthetic world the\n"
            "manifest is then compared with notebooks/key_numbers.json (rtol 1e-6).\n\n"
            "--data DIR runs the same report on any folder holding the tables of the\n"
            "data model; without truth.json the truth boxes are left out.\n\n"
            "Run it from the root of a tne_eval clone (or pass --notebooks)."
        ),
    )
    _common(parser)
    parser.add_argument(
        "--out", default="reports", metavar="DIR", help="report folder (created)"
    )
    parser.add_argument(
        "--lang", choices=("fr", "en"), default="fr", help="language of the report"
    )
    parser.add_argument(
        "--data",
        default=None,
        metavar="DIR",
        help="data folder (default: the committed synthetic world)",
    )
    parser.add_argument(
        "--seed", type=int, default=2021, help="seed of the chapters' random draws"
    )
    parser.add_argument(
        "--no-pdf", action="store_true", help="do not print the report to PDF"
    )
    parser.add_argument(
        "--update-key-numbers",
        action="store_true",
        help="write the fresh manifest into the notebook folder instead of "
        "comparing it",
    )
    parser.set_defaults(handler=_report_handler)

    parser = add_command(
        sub,
        "reproduce",
        help="re-execute the chapters and check the committed results manifest",
        description=(
            "Re-execute every chapter with the parameters recorded in the committed\n"
            "results manifest (notebooks/key_numbers.json) and compare: every key\n"
            "number within |a - b| <= 1e-9 + 1e-6 |b| (text and counts exactly),\n"
            "the SHA-256 of every data file and the parameters exactly. Different\n"
            "library versions are printed but do not fail the check. Prints each\n"
            "difference and exits 1 when the run does not reproduce the manifest.\n\n"
            "--update writes the fresh manifest instead (review and commit it)."
        ),
    )
    _common(parser)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument(
        "--check", action="store_true", help="compare (exit 1 on a difference)"
    )
    mode.add_argument("--update", action="store_true", help="rewrite the manifest")
    parser.add_argument(
        "--manifest",
        default=None,
        metavar="FILE",
        help="manifest to check (default: NOTEBOOKS/key_numbers.json)",
    )
    parser.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="also keep the report written "
        "while reproducing (default: a temporary folder)",
    )
    parser.set_defaults(handler=_reproduce_handler)
