"""The ``tne-eval`` command line (also ``python -m tne_eval``).

Sub-commands are registered by the modules that implement them, so this file only
dispatches and turns errors into messages:

``tne-eval simulate --scale {default,national} --seed N --out DIR``
    Generate the synthetic TNE world (see :mod:`tne_eval.datasets`).
``tne-eval report --notebooks DIR --out DIR [--update-key-numbers]``
    Run the evaluation end to end and write the report (see :mod:`tne_eval.reporting`).
``tne-eval reproduce --check``
    Re-execute the chapters and compare with the committed results manifest.

Every failure ends with one line on stderr, ``tne-eval <command>: error: <what is
wrong and how to fix it>``, and a non-zero exit status, never a traceback:

====== ==================================================================
status meaning
====== ==================================================================
0      success
1      the command ran but failed: a library error (:class:`TneEvalError`),
       a notebook that raised, key numbers that differ, a file that cannot
       be written
2      wrong usage: bad arguments (argparse), a missing folder, a missing
       optional dependency (:class:`CommandLineError`)
130    interrupted (Ctrl-C)
====== ==================================================================
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tne_eval._cli_common import (
    EXIT_FAILURE,
    EXIT_USAGE,
    CommandLineError,
    HelpFormatter,
)
from tne_eval.errors import TneEvalError

__all__ = ["EXIT_FAILURE", "EXIT_USAGE", "CommandLineError", "HelpFormatter", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every sub-command.

    Returns
    -------
    argparse.ArgumentParser
        The ``tne-eval`` parser; each sub-command sets ``handler``.
    """
    from tne_eval import __version__
    from tne_eval.datasets import _cli as datasets_cli
    from tne_eval.reporting import _cli as reporting_cli

    parser = argparse.ArgumentParser(
        prog="tne-eval",
        description="Impact evaluation of the TNE programme.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    datasets_cli.register(sub)
    reporting_cli.register(sub)
    return parser


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text or type(err).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tne-eval`` command and return its exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status (see the module docstring). Argument errors, ``--help``
        and ``--version`` exit through :class:`SystemExit` as argparse does.
    """
    parser = build_parser()
    argv = list(argv) if argv is not None else sys.argv[1:]
    args = parser.parse_args(argv)
    args.argv = argv  # recorded by commands that write provenance
    prefix = f"{parser.prog} {args.command}: error:"
    try:
        return int(args.handler(args) or 0)
    except CommandLineError as err:
        print(f"{prefix} {_one_line(err)}", file=sys.stderr)
        return err.status
    except TneEvalError as err:
        print(f"{prefix} {_one_line(err)}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as err:
        where = f" ({err.filename})" if err.filename else ""
        print(
            f"{prefix} {err.strerror or _one_line(err)}{where}; check the path "
            "and its permissions.",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print(f"{prefix} interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
