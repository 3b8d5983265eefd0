"""The ``tne-eval`` command line.

Sub-commands are registered by the modules that implement them, so this file only
dispatches:

``tne-eval simulate --scale {default,national} --seed N --out DIR``
    Generate the synthetic TNE world (see :mod:`tne_eval.datasets`).
``tne-eval report --out DIR``
    Run the evaluation end to end and write the report (see :mod:`tne_eval.reporting`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every sub-command."""
    from tne_eval import __version__
    from tne_eval.datasets import _cli as datasets_cli
    from tne_eval.reporting import _cli as reporting_cli

    parser = argparse.ArgumentParser(
        prog="tne-eval",
        description="Impact evaluation of the TNE programme.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)
    datasets_cli.register(sub)
    reporting_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tne-eval`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    return int(args.handler(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
