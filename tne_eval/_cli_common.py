"""What the ``tne-eval`` command and its sub-commands share (errors, help format).

Kept apart from :mod:`tne_eval.cli` so that the sub-command modules, which the
dispatcher imports, never import the dispatcher back.
"""

from __future__ import annotations

import argparse

from tne_eval.errors import TneEvalError

__all__ = [
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "CommandLineError",
    "HelpFormatter",
    "add_command",
]

#: Exit status of a command that ran and failed.
EXIT_FAILURE = 1
#: Exit status of wrong usage (argparse uses the same code).
EXIT_USAGE = 2


class CommandLineError(TneEvalError, ValueError):
    """Wrong usage of the command line: a missing folder, a missing extra, ...

    The message says what is wrong and how to fix it; ``status`` is the exit code.
    """

    def __init__(self, message: str, *, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


class HelpFormatter(
    argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter
):
    """Show every option's default and keep the paragraphs of descriptions."""


def add_command(
    sub: argparse._SubParsersAction, name: str, *, help: str, description: str
) -> argparse.ArgumentParser:
    """Add a sub-command with the shared help format (defaults shown)."""
    return sub.add_parser(
        name, help=help, description=description, formatter_class=HelpFormatter
    )
