"""Lay out the executed chapters as one self-contained HTML report.

Only the narrative reaches the report: the Markdown cells in the report's
language (cells tagged ``fr`` or ``en``; untagged cells are shown in both) and
the blocks that chapters display through :class:`~tne_eval.reporting.blocks.Chapter`.
Code, streams, warnings and raw reprs are left out. Figures and tables are
numbered across the report; headings feed the table of contents.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tne_eval.reporting.blocks import BLOCK_MIME
from tne_eval.reporting.labels import label

__all__ = ["CSS", "ChapterPage", "render_document"]

CSS = """
:root { --ink:#1b1b1b; --muted:#555; --accent:#1f4e79; --rule:#c8c8c8;
        --box:#f2f5f9; --truth:#fff7e0; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: var(--ink);
       line-height: 1.5; margin: 0; background: #fff; }
main { max-width: 52rem; margin: 0 auto; padding: 1.5rem 1.5rem 4rem; }
h1 { font-size: 1.7rem; color: var(--accent); margin: .5rem 0 1rem; }
h2 { font-size: 1.35rem; color: var(--accent); border-bottom: 2px solid var(--accent);
     padding-bottom: .2rem; margin-top: 2.5rem; }
h3 { font-size: 1.1rem; margin-top: 1.8rem; }
.chapeau { font-size: 1.05rem; background: var(--box); border-left: 4px solid var(--accent);
           padding: .8rem 1rem; }
nav.toc { border: 1px solid var(--rule); padding: .5rem 1rem; margin: 1.5rem 0; }
nav.toc ol { margin: .2rem 0; } nav.toc li { margin: .1rem 0; }
nav.toc > ol { list-style: none; padding-left: .5rem; }
figure { margin: 1.5rem 0; }
figure img { max-width: 100%; height: auto; display: block; }
.caption-title { font-weight: bold; margin-bottom: .4rem; }
.caption-lines { font-size: .85rem; color: var(--muted); margin-top: .4rem; }
.caption-lines p { margin: .1rem 0; }
table.data { border-collapse: collapse; font-size: .88rem; margin: .3rem 0; }
table.data th, table.data td { border-bottom: 1px solid var(--rule); padding: .25rem .5rem;
                               text-align: left; vertical-align: top; }
table.data th { border-bottom: 2px solid var(--ink); vertical-align: bottom; }
table.data td.num { white-space: nowrap; }
table.data td.num { text-align: right; font-variant-numeric: tabular-nums; }
.table-wrap { overflow-x: auto; }
aside.box { background: var(--box); border: 1px solid var(--rule); padding: .6rem 1rem;
            margin: 1.5rem 0; }
aside.box .box-title { font-weight: bold; color: var(--accent); }
aside.truth { background: var(--truth); border: 2px dashed #8a6d00; padding: .6rem 1rem;
              margin: 1.5rem 0; }
aside.truth .box-title { font-weight: bold; color: #6b5400; }
section.notes { font-size: .85rem; color: var(--muted); border-top: 1px solid var(--rule);
                margin-top: 1.5rem; }
footer { font-size: .8rem; color: var(--muted); margin-top: 3rem;
         border-top: 1px solid var(--rule); }
@media print {
  main { max-width: none; padding: 0; }
  body { font-size: 10pt; }
  nav.toc { page-break-after: always; }
  section.chapter { page-break-before: always; }
  figure, table.data, aside { page-break-inside: avoid; }
  h2, h3, h4 { page-break-after: avoid; break-after: avoid; }
  a { color: inherit; text-decoration: none; }
  .table-wrap { overflow: visible; }
  table.data th, table.data td { white-space: normal; }
}
"""


@dataclass
class ChapterPage:
    """An executed chapter ready to be laid out."""

    stem: str
    notebook: Any
    notes: list[str] = field(default_factory=list)


def _cell_lang(cell: Any) -> str | None:
    tags = set(cell.get("metadata", {}).get("tags", []))
    for lang in ("fr", "en"):
        if lang in tags:
            return lang
    return None


class _Counter:
    def __init__(self) -> None:
        self.n = {"figure": 0, "table": 0, "box": 0}

    def next(self, kind: str) -> int:
        self.n[kind] += 1
        return self.n[kind]


def _captioned(block: dict, number: int, lang: str) -> str:
    esc = html.escape
    kind = block["kind"]
    name = label(kind, lang)
    lines = []
    for key, word in (("reading", "reading"), ("scope", "scope"), ("source", "source")):
        if block.get(key):
            lines.append(f"<p><em>{label(word, lang)}</em> {esc(block[key])}</p>")
    if block.get("extra"):
        lines.append(f"<p>{esc(block['extra'])}</p>")
    body = (
        block["body"]
        if kind == "figure"
        else f"<div class='table-wrap'>{block['body']}</div>"
    )
    return (
        f"<figure class='{kind}' id='{kind}-{number}'>"
        f"<figcaption class='caption-title'>{name} {number} – {esc(block['title'])}"
        f"</figcaption>{body}<div class='caption-lines'>{''.join(lines)}</div></figure>"
    )


def _render_block(block: dict, counter: _Counter, lang: str) -> str:
    kind = block.get("kind")
    esc = html.escape
    if kind == "heading":
        return f"<h3>{esc(block['text'])}</h3>"
    if kind == "html":
        return block["html"]
    if kind in ("figure", "table"):
        return _captioned(block, counter.next(kind), lang)
    if kind == "box":
        n = counter.next("box")
        return (
            f"<aside class='box' id='box-{n}'><div class='box-title'>{label('box', lang)} "
            f"{n} – {esc(block['title'])}</div>{block['html']}</aside>"
        )
    if kind == "truth":
        return (
            f"<aside class='truth'><div class='box-title'>{esc(block['title'])}</div>"
            f"{block['html']}</aside>"
        )
    if kind == "notes":
        items = "".join(f"<li>{esc(t)}</li>" for t in block["items"])
        return (
            f"<section class='notes'><p><strong>{label('notes', lang)}</strong> "
            f"{esc(label('notes_intro', lang))}</p>"
            f"<ol>{items}</ol></section>"
        )
    return ""


def _shift_headings(text: str) -> str:
    """Markdown ``#`` becomes the chapter title (h2), ``##`` a section (h3)."""
    return re.sub(
        r"<(/?)h([1-5])>", lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}>", text
    )


def chapter_html(
    page: ChapterPage, lang: str, counter: _Counter, number: int | None = None
) -> str:
    """Render one chapter (its narrative and blocks, no code).

    A ``title`` block goes first, numbered ``number``; without one, the
    chapter's first Markdown heading is its title.
    """
    import mistune

    parts, titles = [], []
    for cell in page.notebook.cells:
        if cell.cell_type == "markdown":
            cell_lang = _cell_lang(cell)
            if cell_lang in (None, lang):
                parts.append(_shift_headings(str(mistune.html(cell.source))))
        elif cell.cell_type == "code":
            for output in cell.get("outputs", []):
                block = output.get("data", {}).get(BLOCK_MIME)
                if not block:
                    continue
                if block.get("kind") == "title":
                    lead = f"{number}. " if number is not None else ""
                    titles.append(f"<h2>{lead}{html.escape(block['text'])}</h2>")
                else:
                    parts.append(_render_block(dict(block), counter, lang))
    body = "".join(titles[:1] + parts)
    return f"<section class='chapter' id='{page.stem}'>{body}</section>"


def _slug(text: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:50] or "section"
    slug, i = base, 2
    while slug in used:
        slug, i = f"{base}-{i}", i + 1
    used.add(slug)
    return slug


def _toc(body: str) -> tuple[str, str]:
    """Give every h2/h3 an id and build the nested table of contents."""
    used: set[str] = set()
    entries: list[tuple[int, str, str]] = []

    def name(match: re.Match) -> str:
        level, inner = int(match.group(1)), match.group(2)
        text = html.unescape(re.sub(r"<[^>]+>", "", inner))
        slug = _slug(text, used)
        entries.append((level, slug, text))
        return f"<h{level} id='{slug}'>{inner}</h{level}>"

    body = re.sub(r"<h([23])>(.*?)</h\1>", name, body, flags=re.S)
    items, open_sub = [], False
    for level, slug, text in entries:
        link = f"<a href='#{slug}'>{html.escape(text)}</a>"
        if level == 2:
            if open_sub:
                items.append("</ol></li>")
                open_sub = False
            elif items:
                items.append("</li>")
            items.append(f"<li>{link}")
        else:
            if not open_sub:
                items.append("<ol>")
                open_sub = True
            items.append(f"<li>{link}</li>")
    if open_sub:
        items.append("</ol>")
    if items:
        items.append("</li>")
    return body, "<ol>" + "".join(items) + "</ol>"


def render_document(
    pages: Sequence[ChapterPage],
    *,
    lang: str,
    summary_html: str,
    footer_html: str = "",
) -> str:
    """Render the whole report: title, summary, contents, chapters, footer.

    Parameters
    ----------
    pages : sequence of ChapterPage
        Executed chapters, in order.
    lang : {"fr", "en"}
    summary_html : str
        The plain-language summary (its own ``<h2>`` first).
    footer_html : str
        Reproduction command, versions, data fingerprint.

    Returns
    -------
    str
        A complete HTML document with inlined style and embedded figures.
    """
    counter = _Counter()
    chapters = "".join(
        chapter_html(p, lang, counter, number=i) for i, p in enumerate(pages, start=1)
    )
    mark = "<!--chapters-->"
    body, toc = _toc(summary_html + mark + chapters)
    summary, chapters = body.split(mark, 1)
    title = label("title", lang)
    return (
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body><main>"
        f"<h1>{html.escape(title)}</h1>"
        f"{summary}"
        f"<nav class='toc'><strong>{label('contents', lang)}</strong>{toc}</nav>"
        f"{chapters}<footer>{footer_html}</footer></main></body></html>\n"
    )
