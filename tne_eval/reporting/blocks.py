"""What a chapter notebook writes into the report.

A chapter notebook creates one :class:`Chapter` from its parameters and writes
the report through it: headings, paragraphs, numbered figures and tables with
their *Lecture / Champ / Source* lines, boxes (*encadrés*), a truth box (only
when the data hold the synthetic truth) and the key numbers of the results
manifest. Each block is displayed as a JSON bundle of MIME type
:data:`BLOCK_MIME`; the report runner collects the bundles in order and lays them
out (numbering figures and tables across the report). Nothing else a cell
prints (code, streams, raw reprs) reaches the report.

The warnings raised while the chapter runs are captured, not printed: tne_eval
warnings become a short list of notes at the end of the chapter, said with the
results' notes in the report's language (:mod:`tne_eval.reporting.note_text`); others go to
the kernel's standard error (visible in the executed notebook, not in the
report).
"""

from __future__ import annotations

import base64
import html
import io
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from tne_eval.reporting.fmt import (
    check_lang,
    fmt_interval,
    fmt_number,
    fmt_percent,
    fmt_points,
    school_year,
    table_html,
)
from tne_eval.reporting.key_numbers import (
    publish_chapter_parameters,
    publish_key_numbers,
)
from tne_eval.reporting.labels import label
from tne_eval.reporting.note_text import UNTRANSLATED, say_note
from tne_eval.results.disclosure import DEFAULT_RULE, DisclosureRule, disclose

__all__ = [
    "BLOCK_MIME",
    "COLORS",
    "STYLES",
    "Chapter",
    "close_current",
    "department_label",
    "school_year_axis",
]

#: MIME type of the report blocks displayed by chapter notebooks.
BLOCK_MIME = "application/vnd.tne-eval.block+json"

#: Colours and line styles used by every figure (readable in greyscale).
COLORS = {
    "treated": "#1f4e79",
    "treated_2021": "#5b9bd5",
    "comparison": "#c55a11",
    "truth": "#000000",
}
#: Line styles that go with :data:`COLORS`.
STYLES = {"treated": "-", "treated_2021": "-.", "comparison": ":", "truth": "--"}

#: Words that introduce each kind of captured warning.
_WARNING_WORDS = {
    "SmallClusterWarning": {
        "fr": "Peu de grappes traitées",
        "en": "Few treated clusters",
    },
    "DroppedObservationsWarning": {
        "fr": "Observations écartées",
        "en": "Observations dropped",
    },
    "OverlapWarning": {"fr": "Recouvrement limité", "en": "Limited overlap"},
    "InferenceFallbackWarning": {
        "fr": "Inférence de repli",
        "en": "Inference fallback",
    },
    "StaggeredAdoptionWarning": {
        "fr": "Adoption échelonnée (biais du TWFE)",
        "en": "Staggered adoption (TWFE bias)",
    },
}

_CURRENT: list[Chapter] = []


def _display(block: Mapping[str, Any]) -> None:
    from IPython.display import display

    text = block.get("title") or block.get("text") or block.get("kind")
    display({BLOCK_MIME: dict(block), "text/plain": str(text)}, raw=True)


def _markdown(text: str) -> str:
    import mistune

    return str(mistune.html(text))


def school_year_axis(ax: Any, years: Sequence[int], lang: str = "fr") -> None:
    """Put one tick per school year on the x axis, labelled ``2020-2021``."""
    years = sorted({int(y) for y in years})
    ax.set_xticks(years)
    ax.set_xticklabels([school_year(y, lang) for y in years], rotation=45, ha="right")
    ax.set_xlabel(label("school_year", lang))


def _localise_ticks(fig: Any, lang: str) -> None:
    """Write the numeric tick labels of ``fig`` in ``lang`` (decimal comma, minus)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, ScalarFormatter

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if not isinstance(axis.get_major_formatter(), ScalarFormatter):
                continue  # text labels (school years, departments) stay as they are
            ticks = [float(v) for v in axis.get_majorticklocs()]
            digits = next(
                (
                    d
                    for d in range(4)
                    if all(abs(round(v, d) - v) < 1e-9 for v in ticks)
                ),
                4,
            )
            axis.set_major_locator(FixedLocator(ticks))
            axis.set_major_formatter(
                FuncFormatter(lambda v, _pos, d=digits: fmt_number(v, d, lang))
            )


def department_label(code: str, names: Mapping[str, str]) -> str:
    """``Aisne (02)``: a department by its full name and code."""
    return f"{names.get(code, code)} ({code})"


class Chapter:
    """The report writer of one chapter notebook.

    Parameters
    ----------
    lang : {"fr", "en"}, default "fr"
    data_dir : str or path-like, optional
        Folder of the data (the data model of ``docs/synthetic_world.md``); by
        default the committed synthetic world. The truth box is shown only when
        the folder has ``truth.json``.
    seed : int, default 2021
        Seed of every random draw of the chapter (bootstrap, permutations).
    capture_warnings : bool, default True
        Turn tne_eval warnings into notes (see the module docstring).
    """

    def __init__(
        self,
        *,
        lang: str = "fr",
        data_dir: str | Path | None = None,
        seed: int = 2021,
        capture_warnings: bool = True,
    ) -> None:
        from tne_eval.datasets.load import default_data_dir

        self.lang = check_lang(lang)
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.seed = int(seed)
        self._notes: dict[str, str] = {}  # the library's text -> what is shown
        self._closed = False
        if capture_warnings:
            self._previous_showwarning = warnings.showwarning
            warnings.showwarning = self._showwarning
        _CURRENT[:] = [self]
        self._style()

    # -- data -------------------------------------------------------------------
    def load(self, name: str) -> Any:
        """Read a table of the data folder, with the types of the data model.

        The committed synthetic world is read by
        :func:`tne_eval.datasets.load_synthetic`; any other folder must hold the
        table as ``NAME.csv.gz`` or ``NAME.csv`` with the columns of the data
        model (``docs/synthetic_world.md``); nothing is ever generated into it.
        """
        import json

        from tne_eval.datasets import load_synthetic
        from tne_eval.datasets._schema import SCHEMAS, read_dtypes
        from tne_eval.datasets.io import file_name
        from tne_eval.datasets.load import default_data_dir
        from tne_eval.errors import DataError

        if self.data_dir == default_data_dir():
            return load_synthetic(name)
        if name == "truth":
            return json.loads(
                (self.data_dir / "truth.json").read_text(encoding="utf-8")
            )
        candidates = [self.data_dir / file_name(name), self.data_dir / f"{name}.csv"]
        path = next((c for c in candidates if c.is_file()), None)
        if path is None:
            raise DataError(
                f"{self.data_dir} has no {candidates[0].name} or {candidates[1].name}; "
                "the report needs the tables of the data model (see the data-schema "
                "page of the documentation)."
            )
        dtypes, na_values = read_dtypes(name)
        frame = pd.read_csv(
            path, dtype=dtypes, na_values=na_values, keep_default_na=False
        )
        missing = [c for c, _ in SCHEMAS[name] if c not in frame.columns]
        if missing:
            raise DataError(
                f"{path} lacks the column(s) {missing} of the {name!r} table; see the "
                "data-schema page of the documentation."
            )
        return frame

    @property
    def has_truth(self) -> bool:
        """Whether the data folder holds the synthetic truth (``truth.json``)."""
        return (self.data_dir / "truth.json").is_file()

    @property
    def truth(self) -> dict | None:
        """The content of ``truth.json``, or None on real data."""
        return self.load("truth") if self.has_truth else None

    @property
    def source(self) -> str:
        """The *Source* line of the figures and tables."""
        from tne_eval import __version__

        if self.has_truth:
            return label(
                "synthetic_source",
                self.lang,
                seed=self._world_seed(),
                version=__version__,
            )
        return label(
            "real_source", self.lang, folder=self.data_dir.name, version=__version__
        )

    def _world_seed(self) -> object:
        import json

        manifest = self.data_dir / "MANIFEST.json"
        if manifest.is_file():
            return json.loads(manifest.read_text(encoding="utf-8")).get("seed", "?")
        return "?"

    # -- words --------------------------------------------------------------------
    def t(self, fr: str, en: str) -> str:
        """Pick the French or English text, following the chapter's language."""
        return fr if self.lang == "fr" else en

    def num(self, value: object, digits: int = 1) -> str:
        """Format a number in the chapter's language (:func:`fmt_number`)."""
        return fmt_number(value, digits, self.lang)

    def pts(self, value: object, digits: int = 1) -> str:
        """Format a number of score points, singular or plural (:func:`fmt_points`).

        ``0,7 point``, ``1 point``, ``2,3 points`` in French; ``0.7 points``,
        ``1 point`` in English.
        """
        return fmt_points(value, digits, self.lang)

    def pct(self, share: object, digits: int = 0) -> str:
        """Format a share as a percentage in the chapter's language (``12 %``)."""
        return fmt_percent(share, digits, self.lang)

    def ci(self, low: object, high: object, digits: int = 1) -> str:
        """Format a confidence interval in the chapter's language."""
        return fmt_interval(low, high, digits, self.lang)

    # -- blocks -------------------------------------------------------------------
    def title(self, fr: str, en: str) -> None:
        """Write the chapter's title, stating its finding (placed first, numbered).

        It may be written once the numbers it states are computed: the report
        puts it at the top of the chapter and numbers it.
        """
        _display({"kind": "title", "text": self.t(fr, en)})

    def heading(self, fr: str, en: str) -> None:
        """Write a section heading (listed in the table of contents)."""
        _display({"kind": "heading", "text": self.t(fr, en)})

    def text(self, fr: str, en: str) -> None:
        """Write a paragraph (Markdown) in the chapter's language."""
        _display({"kind": "html", "html": _markdown(self.t(fr, en))})

    def figure(
        self,
        fig: Any,
        *,
        title: str,
        reading: str,
        scope: str,
        source: str | None = None,
    ) -> None:
        """Write a numbered figure: a title stating its message, Lecture/Champ/Source.

        ``fig`` (a matplotlib Figure) is embedded as a PNG and closed.
        """
        import matplotlib.pyplot as plt

        _localise_ticks(fig, self.lang)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        alt = html.escape(title, quote=True)
        body = f"<img alt='{alt}' src='data:image/png;base64,{data}'>"
        self._captioned("figure", body, title, reading, scope, source)

    def table(
        self,
        frame: pd.DataFrame,
        *,
        title: str,
        scope: str,
        reading: str | None = None,
        source: str | None = None,
        keys: Sequence[str] = (),
        digits: int | Mapping[str, int] = 1,
        formats: Mapping[str, Any] | None = None,
        disclosure: DisclosureRule | None = DEFAULT_RULE,
        columns: Mapping[str, str] | None = None,
    ) -> None:
        """Write a numbered table under statistical secrecy.

        Rows with count columns (``n_pupils``, ``n_schools``) below the rule are
        shown as ``"s"`` and the rule is stated under the table. ``columns``
        renames the columns for display (translate them here).
        """
        shown = disclose(frame, disclosure, keys=keys)
        secret = disclosure is not None and disclosure.has_counts(frame)
        formats = dict(formats or {})
        if columns:
            shown = shown.rename(columns=dict(columns))
            formats = {columns.get(k, k): v for k, v in formats.items()}
            if isinstance(digits, Mapping):
                digits = {columns.get(k, k): v for k, v in digits.items()}
        body = table_html(shown, lang=self.lang, digits=digits, formats=formats)
        extra = disclosure.describe(self.lang) if secret and disclosure else None
        self._captioned("table", body, title, reading, scope, source, extra)

    def _captioned(self, kind, body, title, reading, scope, source, extra=None) -> None:
        _display(
            {
                "kind": kind,
                "title": title,
                "body": body,
                "reading": reading,
                "scope": scope,
                "source": source or self.source,
                "extra": extra,
            }
        )

    def box(self, title: str, body_markdown: str) -> None:
        """Write an *encadré*: method, definitions, data gaps."""
        _display({"kind": "box", "title": title, "html": _markdown(body_markdown)})

    def truth_box(self, rows: pd.DataFrame, *, digits: int = 2) -> None:
        """Compare estimates with the synthetic truth; shown only when it exists.

        Parameters
        ----------
        rows : pandas.DataFrame
            Columns ``quantity`` (text), ``estimate``, ``conf_low``,
            ``conf_high``, ``truth``.
        """
        if not self.has_truth:
            return
        lang = self.lang
        covers = pd.Series(
            [
                None if pd.isna(lo) or pd.isna(hi) else bool(lo <= tv <= hi)
                for lo, tv, hi in zip(
                    rows["conf_low"], rows["truth"], rows["conf_high"]
                )
            ],
            dtype=object,
        )
        frame = pd.DataFrame(
            {
                label("quantity", lang): rows["quantity"],
                label("estimate", lang): rows["estimate"],
                label("ci95", lang): [
                    fmt_interval(a, b, digits, lang)
                    for a, b in zip(rows["conf_low"], rows["conf_high"])
                ],
                label("truth", lang): rows["truth"],
                label("covers", lang): covers.to_numpy(dtype=object),
            }
        )
        body = table_html(frame, lang=lang, digits=digits)
        _display(
            {
                "kind": "truth",
                "title": label("truth_box", lang),
                "html": f"<p>{html.escape(label('truth_intro', lang))}</p>{body}",
            }
        )

    def note(self, text: str, *, shown: str | None = None) -> None:
        """Add a note to the chapter's list of notes (once per text)."""
        key = " ".join(str(text).split())
        self._notes.setdefault(key, shown or key)

    def result_notes(self, result: Any) -> None:
        """Add the notes of a tne_eval result (dropped rows, few clusters...).

        The recommended-inference note (:mod:`tne_eval.inference.recommend`),
        written for code, is said in the report's language instead.
        """
        for n in getattr(result, "notes", ()):
            text = str(n)
            if text.startswith("Recommended inference"):
                self.note(self._recommendation_text(text))
            else:
                self.note(text, shown=say_note(text, self.lang))

    def _recommendation_text(self, note: str) -> str:
        said = {
            "10 or more treated clusters": self.t(
                "pour les estimations qui reposent sur 10 départements traités ou "
                "plus, le bootstrap sauvage non contraint (taille et couverture "
                "proches du nominal)",
                "for estimates resting on 10 or more treated departments, the "
                "unrestricted wild bootstrap (size and coverage close to nominal)",
            ),
            "two treated clusters": self.t(
                "pour les estimations qui ne reposent que sur les 2 départements de 2020, "
                "les intervalles de Conley-Taber ou de Ferman-Pinto (larges) ; "
                "jamais l'intervalle de la variance par grappes",
                "for those resting only on the 2 departments of 2020, the "
                "Conley-Taber or Ferman-Pinto intervals (wide); never the "
                "cluster-robust interval",
            ),
            "many treated clusters, one small cohort carrying weight": self.t(
                "pour l'effet dynamique global, où pèsent les 2 départements de "
                "2020, les erreurs-types CR2 de Bell et McCaffrey (couverture de "
                "95 %, les erreurs-types par grappe usuelles n'en couvrant que 88 %)",
                "for the overall dynamic effect, where the 2 departments of 2020 "
                "weigh, the Bell-McCaffrey CR2 standard errors (95% coverage, "
                "against 88% for the usual cluster-robust ones)",
            ),
            "3 to 9 treated clusters": self.t(
                "pour les estimations qui reposent sur 3 à 9 départements traités, aucune "
                "méthode n'a été étudiée : intervalles approximatifs",
                "for those resting on 3 to 9 treated departments, no method was "
                "studied: intervals are approximate",
            ),
        }
        parts = [text for name, text in said.items() if f"{name} (" in note]
        if "valid sup-t band" in note:
            parts.append(
                self.t(
                    "aucune bande simultanée n'a été validée : elle est descriptive",
                    "no simultaneous band was shown valid: it is descriptive",
                )
            )
        lead = self.t(
            "Inférence recommandée par l'étude de Monte-Carlo du plan TNE "
            "(documentation, « Few treated clusters ») : ",
            "Inference recommended by the Monte Carlo study of the TNE design "
            "(documentation, 'Few treated clusters'): ",
        )
        sep = self.t(" ; ", "; ")
        return lead + sep.join(parts) + "." if parts else lead.rstrip(" :") + "."

    # -- key numbers --------------------------------------------------------------
    def estimate(
        self,
        name: str,
        row: Mapping[str, Any] | pd.Series,
        *,
        inference: str,
        n_treated_clusters: int | None = None,
    ) -> None:
        """Record an estimate in the results manifest.

        Parameters
        ----------
        name : str
            Key in the manifest (e.g. ``"simple_att"``).
        row : mapping or Series
            With ``estimate``, ``std_error``, ``conf_low``, ``conf_high`` (a
            row of a result's ``to_frame()``).
        inference : str
            How the standard error and interval were computed.
        n_treated_clusters : int, optional
            Treated clusters behind the estimate.
        """
        numbers: dict[str, Any] = {
            f"{name}.{k}": float(row[k])
            for k in ("estimate", "std_error", "conf_low", "conf_high")
            if k in row
        }
        numbers[f"{name}.inference"] = str(inference)
        if n_treated_clusters is not None:
            numbers[f"{name}.n_treated_clusters"] = int(n_treated_clusters)
        publish_key_numbers(numbers)

    def numbers(self, numbers: Mapping[str, Any]) -> None:
        """Record other key numbers (counts, p-values) in the results manifest."""
        publish_key_numbers(numbers)

    def parameters(self, **options: Any) -> None:
        """Record the chapter's own options that change its numbers.

        Numbers of draws, bootstrap or placebo repetitions: they go to the
        manifest's parameters (``parameters.chapters.<stem>``), which
        ``tne-eval reproduce --check`` compares exactly.
        """
        publish_chapter_parameters(options)

    # -- warnings -----------------------------------------------------------------
    def _showwarning(self, message, category, filename, lineno, file=None, line=None):
        from tne_eval.errors import TneEvalWarning

        if issubclass(category, TneEvalWarning):
            words = _WARNING_WORDS.get(category.__name__, {}).get(self.lang)
            text = " ".join(str(message).split())
            said = say_note(text, self.lang)
            colon = " : " if self.lang == "fr" else ": "
            if words and (self.lang == "en" or UNTRANSLATED in said):
                said = f"{words}{colon}{said}"
            self.note(text, shown=said)
            return
        self._previous_showwarning(message, category, filename, lineno, file, line)

    def close(self) -> None:
        """Write the chapter's notes (captured warnings, result notes) and stop capturing."""
        if self._closed:
            return
        self._closed = True
        if hasattr(self, "_previous_showwarning"):
            warnings.showwarning = self._previous_showwarning
        if self._notes:
            _display({"kind": "notes", "items": list(self._notes.values())})

    # -- figures ------------------------------------------------------------------
    @staticmethod
    def _style() -> None:
        import matplotlib

        matplotlib.rcParams.update(
            {
                "figure.figsize": (7.0, 3.8),
                "font.size": 10,
                "axes.spines.top": False,
                "axes.spines.right": False,
                "axes.grid": True,
                "grid.alpha": 0.3,
                "legend.frameon": False,
            }
        )


def close_current() -> None:
    """Close the chapter of the running notebook (the runner calls it last)."""
    for chapter in _CURRENT:
        chapter.close()
    _CURRENT.clear()
