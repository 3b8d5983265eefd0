"""A summary object that renders as text, HTML, Markdown and LaTeX."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Summary", "SummaryDisplay"]


def _fmt(value: object, digits: int) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return "NaN"
        if np.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value != 0 and abs(value) < 10 ** (-digits):
            return f"{value:.{digits - 1}e}"
        return f"{value:.{digits}f}"
    return "" if value is None or value is pd.NA else str(value)


@dataclass(frozen=True)
class Summary:
    """Summary of a result: a title, header fields, a table and numbered notes.

    It never prints. ``str(summary)`` gives the text version; in notebooks it
    renders as HTML.

    Parameters
    ----------
    title : str
        First line, e.g. ``"Callaway-Sant'Anna group-time ATT"``.
    header : mapping of str to str
        Key facts (estimator, inference, number of units, ...).
    table : pandas.DataFrame
        The result's ``to_frame()`` (or any table).
    notes : tuple of str
        Numbered notes: automatic adjustments, dropped rows, references.
    digits : int, default 4
        Decimals for floats.

    Examples
    --------
    >>> s = Summary("Demo", {"N": "3"}, pd.DataFrame({"estimate": [1.0]},
    ...             index=pd.Index(["ATT"], name="term")), ("A note.",))
    >>> print(s.as_text())
    Demo
    ====
    N: 3
    <BLANKLINE>
    term  estimate
     ATT    1.0000
    <BLANKLINE>
    Notes:
    [1] A note.
    """

    title: str
    header: Mapping[str, str]
    table: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)
    digits: int = 4

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        table = self.table
        index_name = table.index.name or ""
        columns = [index_name, *map(str, table.columns)]
        rows = [
            [str(idx), *(_fmt(v, self.digits) for v in row)]
            for idx, row in zip(table.index, table.itertuples(index=False))
        ]
        return columns, rows

    def as_text(self) -> str:
        """Plain-text rendering (fixed-width table)."""
        columns, rows = self._cells()
        widths = [
            max(len(columns[j]), *(len(r[j]) for r in rows))
            if rows
            else len(columns[j])
            for j in range(len(columns))
        ]
        lines = [self.title, "=" * len(self.title)]
        lines += [f"{k}: {v}" for k, v in self.header.items()]
        lines.append("")
        lines.append("  ".join(c.rjust(w) for c, w in zip(columns, widths)))
        lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
        if self.notes:
            lines += ["", "Notes:"]
            lines += [f"[{i}] {n}" for i, n in enumerate(self.notes, start=1)]
        return "\n".join(lines)

    def as_markdown(self) -> str:
        """GitHub-flavoured Markdown rendering."""
        columns, rows = self._cells()
        lines = [f"**{self.title}**", ""]
        lines += [f"- {k}: {v}" for k, v in self.header.items()]
        lines += ["", "| " + " | ".join(columns) + " |"]
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(columns) - 1)) + "|")
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        if self.notes:
            lines += ["", "Notes:", ""]
            lines += [f"{i}. {n}" for i, n in enumerate(self.notes, start=1)]
        return "\n".join(lines)

    def as_html(self) -> str:
        """HTML rendering (used by notebooks through ``_repr_html_``)."""
        columns, rows = self._cells()
        esc = html.escape
        parts = [f"<div class='tne-summary'><h4>{esc(self.title)}</h4>"]
        if self.header:
            parts.append("<table class='tne-header'>")
            parts += [
                f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>"
                for k, v in self.header.items()
            ]
            parts.append("</table>")
        parts.append("<table class='tne-table'><thead><tr>")
        parts += [f"<th>{esc(c)}</th>" for c in columns]
        parts.append("</tr></thead><tbody>")
        for r in rows:
            parts.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>")
        parts.append("</tbody></table>")
        if self.notes:
            parts.append("<ol class='tne-notes'>")
            parts += [f"<li>{esc(n)}</li>" for n in self.notes]
            parts.append("</ol>")
        parts.append("</div>")
        return "".join(parts)

    def as_latex(self) -> str:
        """LaTeX rendering (a ``tabular`` inside a ``table`` float, with notes)."""

        def tex(s: str) -> str:
            for a, b in (
                ("\\", r"\textbackslash{}"),
                ("&", r"\&"),
                ("%", r"\%"),
                ("$", r"\$"),
                ("#", r"\#"),
                ("_", r"\_"),
                ("{", r"\{"),
                ("}", r"\}"),
                ("~", r"\textasciitilde{}"),
                ("^", r"\textasciicircum{}"),
            ):
                s = s.replace(a, b) if a != "\\" else s.replace(a, "\0")
            return s.replace("\0", r"\textbackslash{}")

        columns, rows = self._cells()
        spec = "l" + "r" * (len(columns) - 1)
        lines = [r"\begin{table}[ht]", r"\centering", rf"\caption{{{tex(self.title)}}}"]
        lines += [rf"\begin{{tabular}}{{{spec}}}", r"\hline"]
        lines.append(" & ".join(tex(c) for c in columns) + r" \\")
        lines.append(r"\hline")
        lines += [" & ".join(tex(c) for c in r) + r" \\" for r in rows]
        lines += [r"\hline", r"\end{tabular}"]
        facts = "; ".join(f"{tex(k)}: {tex(v)}" for k, v in self.header.items())
        if facts:
            lines.append(rf"\par\smallskip{{\footnotesize {facts}}}")
        for i, n in enumerate(self.notes, start=1):
            lines.append(rf"\par{{\footnotesize [{i}] {tex(n)}}}")
        lines.append(r"\end{table}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        return self.as_html()

    def _repr_markdown_(self) -> str:
        return self.as_markdown()

    def _repr_latex_(self) -> str:
        return self.as_latex()


class SummaryDisplay:
    """``str()`` and notebook display of any object with a ``summary()`` method.

    The text is ``summary().as_text()``, the notebook view ``summary().as_html()``
    (linearmodels' ``_SummaryStr`` idea): every result renders the same way.
    """

    def __str__(self) -> str:
        return self.summary().as_text()

    def _repr_html_(self) -> str:
        return self.summary().as_html()
