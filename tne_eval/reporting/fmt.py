"""Numbers, school years and tables written the way the report's reader expects.

French (the default) follows the conventions of French public statistics:
decimal comma, a thin no-break space between thousands (``1 300 000``), a
no-break space before ``%`` (``12 %``), school years as ``2020-2021``. English
uses a decimal point, commas between thousands and ``12%``. A missing value is
written as a dash, never as ``nan`` or ``<NA>``; booleans as words.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tne_eval.errors import SpecError

__all__ = [
    "LANGUAGES",
    "MISSING",
    "check_lang",
    "fmt_int",
    "fmt_interval",
    "fmt_number",
    "fmt_percent",
    "fmt_pvalue",
    "fmt_value",
    "school_year",
    "table_html",
]

#: Languages of the report.
LANGUAGES = ("fr", "en")
#: What a missing value prints as.
MISSING = "–"
_THIN = "\u202f"  # narrow no-break space (French thousands and before %)
_MINUS = "−"


def check_lang(lang: object) -> str:
    """Return ``lang`` if it is a report language, else raise :class:`SpecError`."""
    if lang not in LANGUAGES:
        raise SpecError(
            f"lang must be one of {', '.join(map(repr, LANGUAGES))} (got {lang!r})."
        )
    return str(lang)


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return not math.isfinite(float(value))
    return False


def fmt_number(value: object, digits: int = 1, lang: str = "fr") -> str:
    """Format a number with ``digits`` decimals in the conventions of ``lang``.

    Examples
    --------
    >>> fmt_number(1234567.891, 2, "fr") == "1\u202f234\u202f567,89"
    True
    >>> fmt_number(-0.5, 1, "en"), fmt_number(float("nan"))
    ('−0.5', '–')
    """
    if _missing(value):
        return MISSING
    x = float(value)  # type: ignore[arg-type]
    text = f"{abs(x):,.{digits}f}"
    if float(text.replace(",", "")) == 0:
        x = 0.0  # no "-0,0"
    if lang == "fr":
        text = text.replace(",", _THIN).replace(".", ",")
    return (_MINUS if x < 0 else "") + text


def fmt_int(value: object, lang: str = "fr") -> str:
    """Format a count (thousands separated)."""
    return fmt_number(value, 0, lang)


def fmt_percent(share: object, digits: int = 0, lang: str = "fr") -> str:
    """Format a share (0.12) as a percentage ("12 %" in French, "12%" in English)."""
    if _missing(share):
        return MISSING
    text = fmt_number(100 * float(share), digits, lang)  # type: ignore[arg-type]
    return text + (f"{_THIN}%" if lang == "fr" else "%")


def fmt_pvalue(p: object, lang: str = "fr") -> str:
    """Format a p-value (three decimals, ``< 0,001`` below)."""
    if _missing(p):
        return MISSING
    if float(p) < 0.001:  # type: ignore[arg-type]
        return "< " + fmt_number(0.001, 3, lang)
    return fmt_number(p, 3, lang)


def fmt_interval(low: object, high: object, digits: int = 1, lang: str = "fr") -> str:
    """Format a confidence interval as ``[a ; b]`` (French) or ``[a, b]``."""
    if _missing(low) and _missing(high):
        return MISSING
    sep = " ; " if lang == "fr" else ", "
    return f"[{fmt_number(low, digits, lang)}{sep}{fmt_number(high, digits, lang)}]"


def school_year(year: object, lang: str = "fr") -> str:
    """Write the school year that starts in ``year`` (``2020`` → ``2020-2021``)."""
    if _missing(year):
        return MISSING
    y = int(year)  # type: ignore[call-overload]
    return f"{y}-{y + 1}"


_WORDS = {"fr": ("oui", "non"), "en": ("yes", "no")}


def fmt_value(value: object, digits: int = 1, lang: str = "fr") -> str:
    """Format any cell: numbers, counts, booleans, text; missing as a dash."""
    if isinstance(value, (bool, np.bool_)):
        return _WORDS[lang][0 if value else 1]
    if _missing(value):
        return MISSING
    if isinstance(value, (int, np.integer)):
        return fmt_int(value, lang)
    if isinstance(value, (float, np.floating)):
        return fmt_number(value, digits, lang)
    return str(value)


def table_html(
    frame: pd.DataFrame,
    *,
    lang: str = "fr",
    digits: int | Mapping[str, int] = 1,
    formats: Mapping[str, Any] | None = None,
    index: bool = False,
    css_class: str = "data",
) -> str:
    """Render ``frame`` as an HTML table in the conventions of ``lang``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Column names are used as headers as they are (translate them first).
        Cells that are already strings (e.g. ``"s"`` from disclosure control)
        are kept.
    lang : {"fr", "en"}
    digits : int or mapping of column to int, default 1
        Decimals of float cells.
    formats : mapping of column to callable, optional
        A function ``value -> str`` for some columns (e.g. :func:`school_year`).
    index : bool, default False
        Show the index as the first column.
    css_class : str

    Returns
    -------
    str
        ``<table>`` with a header row; numbers right-aligned.
    """
    check_lang(lang)
    formats = dict(formats or {})
    data = frame.reset_index() if index else frame
    esc = html.escape

    def cell(col: str, value: object) -> tuple[str, bool]:
        if col in formats:
            return str(formats[col](value)), True
        d = digits.get(col, 1) if isinstance(digits, Mapping) else digits
        numeric = isinstance(value, (int, float, np.integer, np.floating)) and not (
            isinstance(value, (bool, np.bool_))
        )
        return fmt_value(value, d, lang), numeric

    head = "".join(f"<th>{esc(str(c))}</th>" for c in data.columns)
    rows = []
    for record in data.itertuples(index=False):
        tds = []
        for col, value in zip(data.columns, record):
            text, numeric = cell(str(col), value)
            interval = text.startswith("[") and text.endswith("]")
            cls = " class='num'" if numeric or interval or text == "s" else ""
            tds.append(f"<td{cls}>{esc(text)}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    return (
        f"<table class='{css_class}'><thead><tr>{head}</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def join_names(names: Sequence[str], lang: str = "fr") -> str:
    """Join names as prose: ``a, b et c`` (``a, b and c``)."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    word = " et " if lang == "fr" else " and "
    return ", ".join(names[:-1]) + word + names[-1]
