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
    "fmt_points",
    "fmt_pvalue",
    "fmt_value",
    "noun_for",
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


def noun_for(value: object, singular: str, plural: str, lang: str = "fr") -> str:
    """Return the singular or the plural of a noun that follows a number.

    French takes the singular when the number, as written, is below 2 in absolute
    value ("0,7 point", "1 point", "1,9 point", but "2 points"); English only for
    exactly one ("1 point", but "0.7 points" and "1.0 points"). ``value`` is the
    number as written (a string from :func:`fmt_number`) or a number.

    Examples
    --------
    >>> noun_for("0,7", "point", "points"), noun_for("2,0", "point", "points")
    ('point', 'points')
    >>> noun_for("1", "point", "points", "en"), noun_for("1.0", "point", "points", "en")
    ('point', 'points')
    """
    if isinstance(value, str):
        text = value.strip().replace(_MINUS, "").replace(_THIN, "")
        text = text.replace(",", ".") if lang == "fr" else text.replace(",", "")
        try:
            x = abs(float(text))
        except ValueError:
            return plural
        exactly_one = text == "1"
    else:
        if _missing(value):
            return plural
        x = abs(float(value))  # type: ignore[arg-type]
        exactly_one = x == 1
    if lang == "fr":
        return singular if x < 2 else plural
    return singular if exactly_one else plural


def fmt_points(
    value: object,
    digits: int = 1,
    lang: str = "fr",
    unit: tuple[str, str] = ("point", "points"),
) -> str:
    """Format a number followed by its unit, singular or plural (:func:`noun_for`).

    The rule is applied to the number as written, so that 1,96 rounded to one
    decimal ("2,0") takes the plural.

    Examples
    --------
    >>> fmt_points(0.72), fmt_points(2.34), fmt_points(-1.0, 0)
    ('0,7 point', '2,3 points', '−1 point')
    >>> fmt_points(0.72, lang="en"), fmt_points(1, 0, "en")
    ('0.7 points', '1 point')
    """
    text = fmt_number(value, digits, lang)
    if text == MISSING:
        return MISSING
    return f"{text} {noun_for(text, unit[0], unit[1], lang)}"


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
