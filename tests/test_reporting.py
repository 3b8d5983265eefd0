import hashlib
import json
import math

import nbformat
import numpy as np
import pandas as pd
import pytest

from tne_eval.errors import SpecError, TneEvalTypeError
from tne_eval.reporting import (
    KEY_NUMBERS_MIME,
    compare_key_numbers,
    extract_key_numbers,
)
from tne_eval.reporting.key_numbers import _check_numbers
from tne_eval.reporting.runner import run_report


def test_compare_key_numbers():
    assert compare_key_numbers({"a": 1.0, "b": "x"}, {"a": 1.0 + 1e-9, "b": "x"}) == []
    problems = compare_key_numbers({"a": 1.1, "c": 1}, {"a": 1.0, "b": 2})
    assert problems == [
        "a: fresh 1.1 != committed 1.0",
        "b: missing from the fresh run",
        "c: not in the committed numbers (new key?)",
    ]
    assert compare_key_numbers({"n": math.nan}, {"n": math.nan}) == []
    assert compare_key_numbers({"s": "x"}, {"s": "y"}) == [
        "s: fresh 'x' != committed 'y'"
    ]


def test_check_numbers_types():
    import numpy as np

    assert _check_numbers({"a": np.float64(1.5)}) == {"a": 1.5}
    with pytest.raises(
        TneEvalTypeError, match="key number 'a' must be an int, float or str"
    ):
        _check_numbers({"a": [1]})
    with pytest.raises(TneEvalTypeError, match="key-number names must be strings"):
        _check_numbers({1: 1})


def test_extract_key_numbers():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data", data={KEY_NUMBERS_MIME: {"a": 1}, "text/plain": "a = 1"}
        )
    ]
    nb.cells = [cell]
    assert extract_key_numbers(nb) == {"a": 1}


def test_extract_chapter_parameters_apart_from_key_numbers():
    from tne_eval.reporting.key_numbers import (
        CHAPTER_PARAMETERS_MIME,
        extract_chapter_parameters,
    )

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data", data={KEY_NUMBERS_MIME: {"a": 1}, "text/plain": "a = 1"}
        ),
        nbformat.v4.new_output(
            "display_data",
            data={CHAPTER_PARAMETERS_MIME: {"reps": 99}, "text/plain": "reps = 99"},
        ),
    ]
    nb.cells = [cell]
    assert extract_chapter_parameters(nb) == {"reps": 99}
    assert extract_key_numbers(nb) == {"a": 1}


def test_run_report_needs_notebooks(tmp_path):
    with pytest.raises(SpecError, match="No notebooks"):
        run_report(tmp_path, tmp_path / "out")


@pytest.mark.notebooks
def test_run_report_writes_one_self_contained_page(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("lang = 'fr'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_markdown_cell("# Titre", metadata={"tags": ["fr"]}),
        nbformat.v4.new_markdown_cell("# Title", metadata={"tags": ["en"]}),
        nbformat.v4.new_code_cell(
            "import warnings\n"
            "import tne_eval as tne\n"
            "from tne_eval.reporting.blocks import Chapter\n"
            "ch = Chapter(lang=lang)\n"
            "print('raw output never shown')\n"
            "warnings.warn('two treated clusters', tne.SmallClusterWarning)\n"
            "ch.text('Bonjour', 'Hello')\n"
            "ch.numbers({'answer': 42})\n"
            "ch.parameters(placebo_reps=99)"
        ),
    ]
    nbformat.write(nb, tmp_path / "demo.ipynb")
    run = run_report(tmp_path, tmp_path / "out", lang="en")
    assert run.key_numbers == {"demo": {"answer": 42}}
    assert run.pages == (tmp_path / "out" / "index.html",)
    page = run.pages[0].read_text(encoding="utf-8")
    assert "Title" in page and "Hello" in page and "Bonjour" not in page
    assert "raw output never shown" not in page and "warnings.warn" not in page
    # the warning became a note, with the category's words
    assert "Few treated clusters: two treated clusters" in page
    assert "<style>" in page and "Contents" in page
    manifest = json.loads((tmp_path / "out" / "key_numbers.json").read_text())
    assert manifest["chapters"] == {"demo": {"answer": 42}}
    assert manifest["parameters"]["lang"] == "en"
    # a chapter's own options that move numbers are parameters of the run
    assert manifest["parameters"]["chapters"] == {"demo": {"placebo_reps": 99}}
    executed = nbformat.read(tmp_path / "out" / "notebooks" / "demo.ipynb", 4)
    injected = [
        c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])
    ]
    assert len(injected) == 1 and "lang = 'en'" in injected[0].source
    assert executed.cells.index(injected[0]) == 1  # right after the parameters cell


def test_att_gt_frame_exports_to_markdown(small_staggered_panel):
    import tne_eval as tne

    spec = tne.PanelSpec(unit="unit", time="period", outcome="y", cohort="cohort")
    gt = tne.att_gt(small_staggered_panel, spec, method="reg")
    md = gt.to_frame().to_markdown(index=False)  # needs tabulate, a core dependency
    lines = md.splitlines()
    assert lines[0].startswith("|") and "estimate" in lines[0]
    assert len(lines) == len(gt.to_frame()) + 2  # header, rule, one line per cell


def test_committed_manifest_records_what_produced_it():
    from tests.conftest import REPO
    from tne_eval.reporting.chapters import CHAPTERS
    from tne_eval.reporting.manifest import MANIFEST_FORMAT, data_fingerprint
    from tne_eval.reporting.runner import KEY_NUMBERS_FILE, PROVENANCE_FILE

    manifest = json.loads((REPO / "notebooks" / KEY_NUMBERS_FILE).read_text("utf-8"))
    record = json.loads((REPO / "notebooks" / PROVENANCE_FILE).read_text("utf-8"))
    assert manifest["format"] == MANIFEST_FORMAT
    assert set(manifest["chapters"]) == {c.stem for c in CHAPTERS}
    assert manifest["data"]["sha256"] == data_fingerprint(REPO / "data" / "synthetic")
    assert manifest["tolerance"] == {"rtol": 1e-6, "atol": 1e-9}
    assert {"python", "numpy", "pandas", "scipy"} <= set(manifest["versions"])
    assert manifest["parameters"]["seed"] == 2021
    # every estimate carries its SE, interval, inference and treated clusters
    for stem, numbers in manifest["chapters"].items():
        names = {k.rsplit(".", 1)[0] for k in numbers if k.endswith(".estimate")}
        for name in names:
            for field in ("std_error", "conf_low", "conf_high", "inference"):
                assert f"{name}.{field}" in numbers, (stem, name, field)
    assert record["kind"].startswith("regression numbers produced by tne_eval itself")
    assert record["command"].startswith("tne-eval reproduce --update")


def test_every_registered_chapter_has_a_notebook_with_parameters():
    from tests.conftest import REPO
    from tne_eval.reporting.chapters import CHAPTERS, DEFAULT_PARAMETERS

    for chapter in CHAPTERS:
        nb = nbformat.read(REPO / "notebooks" / f"{chapter.stem}.ipynb", 4)
        cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(cells) == 1, chapter.stem
        for name in DEFAULT_PARAMETERS:
            assert f"{name} = " in cells[0].source, (chapter.stem, name)
        source = "\n".join(c.source for c in nb.cells)
        assert "Chapter(lang=lang, data_dir=data_dir, seed=seed)" in source, (
            chapter.stem
        )
        assert source.count("ch.title(") == 1, (
            chapter.stem
        )  # a title stating the finding


# --- formats ----------------------------------------------------------------------


def test_french_and_english_number_formats():
    from tne_eval.reporting import fmt

    nnbsp = "\u202f"
    assert fmt.fmt_number(1300000, 0, "fr") == f"1{nnbsp}300{nnbsp}000"
    assert fmt.fmt_number(1300000, 0, "en") == "1,300,000"
    assert fmt.fmt_number(3.0563, 1, "fr") == "3,1"
    assert fmt.fmt_number(-0.04, 1, "fr") == "0,0"  # no negative zero
    assert fmt.fmt_number(-2.5, 1, "en") == "−2.5"
    assert fmt.fmt_percent(0.12, 0, "fr") == f"12{nnbsp}%"
    assert fmt.fmt_percent(0.125, 1, "en") == "12.5%"
    assert fmt.fmt_interval(1.55, 4.549, 1, "fr") == "[1,6 ; 4,5]"
    assert fmt.fmt_pvalue(0.0001, "fr") == "< 0,001"
    assert fmt.school_year(2020) == "2020-2021"
    for missing in (float("nan"), None, pd.NA, np.nan):
        assert fmt.fmt_value(missing) == fmt.MISSING
    assert (
        fmt.fmt_value(True, lang="fr") == "oui"
        and fmt.fmt_value(False, lang="en") == "no"
    )
    with pytest.raises(SpecError, match="lang must be one of"):
        fmt.check_lang("de")


@pytest.mark.parametrize(
    ("value", "digits", "lang", "expected"),
    [
        (0.72, 1, "fr", "0,7 point"),
        (1.0, 0, "fr", "1 point"),
        (-1.5, 1, "fr", "−1,5 point"),
        (1.94, 1, "fr", "1,9 point"),
        (1.96, 1, "fr", "2,0 points"),  # the rule reads the number as written
        (2.34, 1, "fr", "2,3 points"),
        (1234.5, 1, "fr", "1\u202f234,5 points"),
        (0.0, 1, "fr", "0,0 point"),
        (0.72, 1, "en", "0.7 points"),
        (1.0, 0, "en", "1 point"),
        (-1.0, 0, "en", "−1 point"),
        (1.0, 1, "en", "1.0 points"),
        (1234.5, 1, "en", "1,234.5 points"),
    ],
)
def test_points_take_the_french_singular_below_two(value, digits, lang, expected):
    from tne_eval.reporting import fmt

    assert fmt.fmt_points(value, digits, lang) == expected


def test_noun_for_numbers_and_written_numbers():
    from tne_eval.reporting import fmt

    assert fmt.noun_for(1.99, "point", "points") == "point"
    assert fmt.noun_for(2, "point", "points") == "points"
    assert fmt.noun_for("−0,5", "point", "points") == "point"
    assert fmt.noun_for(float("nan"), "point", "points") == "points"
    assert fmt.fmt_points(float("nan")) == fmt.MISSING
    unit = ("point sur l'échelle 1-5", "points sur l'échelle 1-5")
    assert fmt.fmt_points(0.76, 2, "fr", unit) == "0,76 point sur l'échelle 1-5"


def test_summary_names_the_inference_of_each_interval():
    from tne_eval.reporting.summary import render_summary

    numbers = {
        "02_demonstrators_2020": {
            "head_year": 2022,
            "did2x2_score_french.estimate": 3.18,
            "did2x2_score_french.conf_low": -3.53,
            "did2x2_score_french.conf_high": 10.51,
            "did2x2_score_french.inference": "Ferman-Pinto by 'department' (91 clusters)",
        },
        "03_staggered_learning": {
            "att_score_french.estimate": 3.05,
            "att_score_french.conf_low": 1.56,
            "att_score_french.conf_high": 4.55,
            "att_score_french.inference": "cluster-robust by 'department'",
        },
        "05_robustness": {
            "att_recommended_score_french.estimate": 3.05,
            "att_recommended_score_french.conf_low": 1.42,
            "att_recommended_score_french.conf_high": 4.69,
            "att_recommended_score_french.inference": "score wild bootstrap "
            "unrestricted (WCU) by 'department' (101 clusters)",
            "mde_simple_att": 2.5,
            "mde_did2x2": 28.5,
        },
    }
    page = render_summary(numbers, lang="fr", has_truth=True)
    # the headline interval is chapter 5's wild bootstrap, not chapter 3's CR1 one
    assert "par bootstrap sauvage par grappe : [1,4 ; 4,7]" in page
    assert "[1,6 ; 4,5]" not in page
    assert "de Ferman et Pinto : [−3,5 ; 10,5], non significatif" in page
    assert "moins de 28 points" in page and "2,5 points ou plus" in page
    numbers["05_robustness"] = {}
    page = render_summary(numbers, lang="en", has_truth=True)
    assert "3.0 points (95% confidence interval [1.6, 4.5])" in page  # CR1: no words
    assert "95% Ferman-Pinto confidence interval [−3.5, 10.5]" in page


def test_table_html_never_prints_raw_missing_values():
    from tne_eval.reporting.fmt import table_html

    frame = pd.DataFrame(
        {
            "name": ["Seine-Saint-Denis", None],
            "x": [np.nan, 2.0],
            "flag": [True, False],
            "n": pd.array([pd.NA, 3], dtype="Int64"),
        }
    )
    html = table_html(frame, lang="fr")
    for raw in ("nan", "NaN", "&lt;NA&gt;", "<NA>", "True", "False", "None"):
        assert raw not in html
    assert "Seine-Saint-Denis" in html and "2,0" in html and "oui" in html


# --- disclosure control -------------------------------------------------------------


def test_disclosure_rule_suppresses_small_cells():
    from tne_eval.results.disclosure import DisclosureRule, disclose

    frame = pd.DataFrame(
        {
            "group": list("abcde"),
            "mean": [1.0, 2.0, 3.0, 4.0, 5.0],
            "n_pupils": [100, 9, 100, 10, np.nan],
            "n_schools": [3, 5, 2, 3, 4],
        }
    )
    out = disclose(frame, DisclosureRule(), keys=("group",))
    # brute force: a row is secret when pupils < 10 or schools < 3 (or unknown)
    expected = [
        not (p >= 10 and s >= 3) for p, s in zip(frame["n_pupils"], frame["n_schools"])
    ]
    assert (
        [v == "s" for v in out["mean"]] == expected == [False, True, True, False, True]
    )
    assert out["group"].tolist() == list("abcde")  # keys never suppressed
    assert (out.loc[expected, "n_pupils"] == "s").all()  # the counts too
    assert frame["mean"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]  # input untouched
    strict = disclose(
        frame, DisclosureRule(min_pupils=101, min_schools=1), keys=("group",)
    )
    assert (strict["mean"] == "s").all()
    assert disclose(frame, None).equals(frame)
    plain = pd.DataFrame({"mean": [1.0]})
    assert disclose(plain).equals(plain)  # no counts, nothing to check
    with pytest.raises(SpecError, match="min_pupils must be at least 1"):
        DisclosureRule(min_pupils=0)
    assert (
        "moins de 10 élèves ou moins de 3 établissements"
        in DisclosureRule().describe("fr")
    )


def test_result_exports_flag_secret_cells(small_staggered_panel):
    from dataclasses import replace

    import tne_eval as tne
    from tne_eval.results.disclosure import DisclosureRule

    spec = tne.PanelSpec(unit="unit", time="period", outcome="y", cohort="cohort")
    gt = tne.att_gt(small_staggered_panel, spec, method="reg")
    # a result knows the counts behind its rows through count columns of its table
    counts = np.where(np.arange(len(gt.table)) == 0, 2, 50)
    counted = replace(gt, table=gt.table.assign(n_schools=counts))
    frame = counted.to_frame()
    assert list(frame.columns[:5]) == [
        "cohort",
        "time",
        "event_time",
        "post",
        "n_schools",
    ]
    md = counted.to_markdown()
    first, second = md.splitlines()[2], md.splitlines()[3]
    assert "| s " in first and "| s " not in second
    assert f"{frame['estimate'].iloc[1]:.4f}" in second
    assert f"{frame['estimate'].iloc[0]:.4f}" not in md
    assert f"{frame['estimate'].iloc[0]:.4f}" in counted.to_markdown(disclosure=None)
    html = counted.to_html()
    assert (
        "<td>s</td>" in html and "fewer than 10 pupils or fewer than 3 schools" in html
    )
    assert "Statistical secrecy" in counted.to_latex()
    lenient = counted.to_markdown(disclosure=DisclosureRule(min_schools=1))
    assert "| s " not in lenient
    # without count columns the exports are unchanged
    assert gt.to_markdown() == gt.to_frame().round(4).to_markdown()


# --- manifest -----------------------------------------------------------------------


def test_data_fingerprint_matches_hashlib(tmp_path):
    from tne_eval.reporting.manifest import data_fingerprint

    (tmp_path / "a.csv").write_bytes(b"x,y\n1,2\n")
    (tmp_path / "b.json").write_bytes(b"{}")
    assert data_fingerprint(tmp_path) == {
        "a.csv": hashlib.sha256(b"x,y\n1,2\n").hexdigest(),
        "b.json": hashlib.sha256(b"{}").hexdigest(),
    }


def test_compare_manifests_reports_each_difference(tmp_path):
    from tne_eval.reporting.manifest import build_manifest, compare_manifests

    (tmp_path / "schools.csv").write_text("school_id\nA\n")
    base = build_manifest(
        {"ch": {"att.estimate": 3.0, "att.inference": "cluster", "n": 5}},
        parameters={"seed": 1, "lang": "fr"},
        data_dir=tmp_path,
    )
    assert compare_manifests(base, base) == ([], [])
    fresh = json.loads(json.dumps(base))
    fresh["chapters"]["ch"]["att.estimate"] = 3.0 * (1 + 1e-8)  # within rtol 1e-6
    assert compare_manifests(fresh, base)[0] == []
    fresh["chapters"]["ch"]["att.estimate"] = 3.1
    fresh["chapters"]["ch"]["att.inference"] = "wild"
    fresh["parameters"]["seed"] = 2
    fresh["data"]["sha256"]["schools.csv"] = "0" * 64
    fresh["versions"]["numpy"] = "0.0"
    problems, remarks = compare_manifests(fresh, base)
    assert problems == [
        "parameter seed: fresh 2 != committed 1",
        f"data file schools.csv: sha256 000000000000 != committed "
        f"{base['data']['sha256']['schools.csv'][:12]}",
        "ch: att.estimate: fresh 3.1 != committed 3.0",
        "ch: att.inference: fresh 'wild' != committed 'cluster'",
    ]
    assert remarks and remarks[0].startswith("numpy 0.0")


# --- layout -------------------------------------------------------------------------


def test_document_numbers_figures_and_tables_and_builds_contents():
    from tne_eval.reporting.blocks import BLOCK_MIME
    from tne_eval.reporting.document import ChapterPage, render_document

    def out(block):
        return nbformat.v4.new_output("display_data", data={BLOCK_MIME: block})

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("secret_code()")
    caption = {"reading": "r", "scope": "c", "source": "s", "body": "<table></table>"}
    cell.outputs = [
        out({"kind": "heading", "text": "Section A"}),
        out({"kind": "table", "title": "T one", **caption}),
        out({"kind": "figure", "title": "F one", **caption, "body": "<img src='x'>"}),
        out({"kind": "table", "title": "T two", **caption}),
        out({"kind": "notes", "items": ["a note"]}),
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: raw"),
    ]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Chapitre", metadata={"tags": ["fr"]}),
        nbformat.v4.new_markdown_cell("# Chapter", metadata={"tags": ["en"]}),
        cell,
    ]
    page = render_document(
        [ChapterPage("x", nb)], lang="fr", summary_html="<h2>Synthèse</h2>"
    )
    assert "Tableau 1 – T one" in page and "Tableau 2 – T two" in page
    assert "Figure 1 – F one" in page
    assert "<em>Lecture :</em> r" in page and "<em>Champ :</em> c" in page
    assert (
        "secret_code" not in page
        and "UserWarning" not in page
        and "Chapter" not in page
    )
    assert page.index("Synthèse") < page.index("Sommaire") < page.index("Chapitre</h2>")
    titled = nbformat.v4.new_notebook()
    late = nbformat.v4.new_code_cell("")
    late.outputs = [
        out({"kind": "html", "html": "<p>first</p>"}),
        out({"kind": "title", "text": "A finding"}),
    ]
    titled.cells = [late]
    other = render_document([ChapterPage("y", titled)], lang="en", summary_html="")
    assert other.index("<h2 id='1-a-finding'>1. A finding</h2>") < other.index("first")
    assert "href='#section-a'" in page and "<h3 id='section-a'>" in page
    assert "<li>a note</li>" in page
