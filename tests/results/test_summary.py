import numpy as np
import pandas as pd
import pytest

from tne_eval.results import Summary
from tne_eval.results.summary import _fmt


@pytest.fixture
def summary():
    table = pd.DataFrame(
        {"estimate": [1.23456, np.nan], "p_value": [1e-7, 0.5], "post": [True, False]},
        index=pd.Index(["ATT(g=2020,t=2021)", "a_b&c%"], name="term"),
    )
    return Summary(
        "Title & more", {"Estimator": "att_gt", "N": "3"}, table, ("Note 1.", "Note_2")
    )


def test_text(summary):
    text = summary.as_text()
    assert text.splitlines()[0] == "Title & more"
    assert "Estimator: att_gt" in text
    assert "1.2346" in text and "NaN" in text and "1.000e-07" in text
    assert "[1] Note 1." in text and "[2] Note_2" in text
    assert str(summary) == text


def test_html_escapes(summary):
    html = summary.as_html()
    assert "Title &amp; more" in html and "a_b&amp;c%" in html
    assert html.count("<li>") == 2
    assert summary._repr_html_() == html


def test_markdown(summary):
    md = summary.as_markdown()
    assert "| term | estimate | p_value | post |" in md
    assert "|---|---:|---:|---:|" in md
    assert "1. Note 1." in md


def test_latex_escapes(summary):
    tex = summary.as_latex()
    assert r"\begin{tabular}{lrrr}" in tex
    assert r"a\_b\&c\%" in tex and r"Title \& more" in tex
    assert r"Note\_2" in tex


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "True"),
        (3, "3"),
        (np.inf, "inf"),
        (-np.inf, "-inf"),
        (None, ""),
        (0.0, "0.0000"),
        ("x", "x"),
    ],
)
def test_formatting(value, text):
    assert _fmt(value, 4) == text
