"""Key numbers published by notebooks and checked against a committed copy."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from tne_eval.errors import TneEvalTypeError

KEY_NUMBERS_MIME = "application/vnd.tne-eval.key-numbers+json"
#: MIME type of the options a chapter ran with (draws, repetitions).
CHAPTER_PARAMETERS_MIME = "application/vnd.tne-eval.chapter-parameters+json"


def _check_numbers(numbers: Mapping[str, Any]) -> dict[str, float | int | str]:
    out: dict[str, float | int | str] = {}
    for key, value in numbers.items():
        if not isinstance(key, str):
            raise TneEvalTypeError(f"key-number names must be strings (got {key!r}).")
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise TneEvalTypeError(
                f"key number {key!r} must be an int, float or str (got "
                f"{type(value).__name__})."
            )
        out[key] = value
    return out


def publish_key_numbers(numbers: Mapping[str, Any]) -> None:
    """Display key numbers in a notebook so that the report runner can collect them.

    Parameters
    ----------
    numbers : mapping of str to int, float or str
        The numbers that a reviewer must be able to reproduce.
    """
    from IPython.display import display

    clean = _check_numbers(numbers)
    text = "\n".join(f"{k} = {v}" for k, v in clean.items())
    display({KEY_NUMBERS_MIME: clean, "text/plain": text}, raw=True)


def publish_chapter_parameters(parameters: Mapping[str, Any]) -> None:
    """Display the options of a chapter that change its numbers.

    The report runner records them in the manifest's parameters (under
    ``chapters``), so that ``tne-eval reproduce --check`` fails when a chapter's
    default number of draws or repetitions changed.

    Parameters
    ----------
    parameters : mapping of str to int, float or str
    """
    from IPython.display import display

    clean = _check_numbers(parameters)
    text = "\n".join(f"{k} = {v}" for k, v in clean.items())
    display({CHAPTER_PARAMETERS_MIME: clean, "text/plain": text}, raw=True)


def _extract(notebook: Any, mime: str) -> dict[str, float | int | str]:
    found: dict[str, float | int | str] = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if mime in data:
                found.update(data[mime])
    return found


def extract_key_numbers(notebook: Any) -> dict[str, float | int | str]:
    """Collect the key numbers published in an executed notebook (nbformat node)."""
    return _extract(notebook, KEY_NUMBERS_MIME)


def extract_chapter_parameters(notebook: Any) -> dict[str, float | int | str]:
    """Collect the options published by :func:`publish_chapter_parameters`."""
    return _extract(notebook, CHAPTER_PARAMETERS_MIME)


def compare_key_numbers(
    fresh: Mapping[str, Any],
    committed: Mapping[str, Any],
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> list[str]:
    """List the differences between two sets of key numbers (empty if they agree).

    Floats agree when ``|a - b| <= atol + rtol * |b|``; other values must be equal.
    A key present on one side only is a difference.
    """
    problems = []
    for key in sorted(set(fresh) | set(committed)):
        if key not in fresh:
            problems.append(f"{key}: missing from the fresh run")
            continue
        if key not in committed:
            problems.append(f"{key}: not in the committed numbers (new key?)")
            continue
        a, b = fresh[key], committed[key]
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            if math.isnan(a) and math.isnan(b):
                continue
            if not abs(a - b) <= atol + rtol * abs(b):
                problems.append(f"{key}: fresh {a!r} != committed {b!r}")
        elif a != b:
            problems.append(f"{key}: fresh {a!r} != committed {b!r}")
    return problems
