"""The library's notes said in French for the report (tne_eval.reporting.note_text).

The notes are produced by the library itself (estimators and every inference the
report uses, on the committed synthetic world), so a change of wording in the
library that the rules no longer recognise fails here, and not only in the
report.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tne_eval as tne
from tne_eval.datasets import load_synthetic
from tne_eval.errors import SpecError
from tne_eval.reporting.note_text import UNTRANSLATED, say_note


@pytest.fixture(scope="module")
def notes() -> list[str]:
    """Every note and warning of the report's kinds of estimates and inference."""
    panel = load_synthetic("school_panel")
    cm2 = panel[panel["grade"] == "CM2"].copy()
    cm2.loc[cm2.index[:7], "score_french"] = np.nan  # a counted drop
    spec = tne.PanelSpec(
        unit="school_id",
        time="year",
        outcome="score_french",
        cohort="first_treated",
        cluster="department",
        covariates=("social_index",),
        nesting=("department",),
    )
    texts: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gt = tne.att_gt(cm2, spec, method="dr", unbalanced="keep")
        dyn = tne.aggregate(gt, kind="dynamic")
        results = [gt, tne.aggregate(gt), dyn]
        results.append(gt.with_inference(tne.CR2(df="imbens_kolesar")))
        for inference in (
            tne.CR2(),
            tne.CR3(),
            tne.WildBootstrap(reps=99, seed=1),
            tne.WildBootstrap(reps=99, seed=1, impose_null=False),
        ):
            results.append(tne.aggregate(gt).with_inference(inference))
        for inference in (tne.ConleyTaber(reps=99, seed=1), tne.FermanPinto(reps=99)):
            results.append(dyn.with_inference(inference))
        results.append(tne.twfe(cm2, spec.update(covariates=())))
        gt_u = tne.att_gt(
            cm2, spec, method="dr", unbalanced="keep", base_period="universal"
        )
        results.append(
            tne.honest_did(
                tne.aggregate(gt_u, kind="dynamic", max_e=3),
                restriction="relative_magnitudes",
                e="average",
                m_values=[0.0, 1.5],  # 1.5 reaches the grid's end: its note too
            )
        )
    texts += [
        str(w.message) for w in caught if issubclass(w.category, tne.TneEvalWarning)
    ]
    for res in results:
        texts += [str(n) for n in res.notes]
    return [
        t for t in dict.fromkeys(texts) if not t.startswith("Recommended inference")
    ]


def test_every_note_of_the_reports_estimates_is_said_in_french(notes):
    assert len(notes) >= 10
    untranslated = [t for t in notes if UNTRANSLATED in say_note(t, "fr")]
    assert not untranslated, untranslated


def test_french_notes_carry_the_numbers_in_french_format(notes):
    few = next(t for t in notes if t.startswith("Few treated clusters"))
    said = say_note(few, "fr")
    assert said.startswith(
        "Peu de départements traités (cohorte 2020 : 2, cohorte 2021 : 10"
    )
    assert "101 départements en tout" in said
    dropped = next(t for t in notes if t.startswith("Dropped 7 of"))
    n_rows = int(dropped.split(" of ")[1].split()[0])
    thousands = f"{n_rows // 1000}\u202f{n_rows % 1000:03d}"
    assert say_note(dropped, "fr").startswith(f"7 lignes sur {thousands} écartées")
    assert "« score_french » : 7" in say_note(dropped, "fr")


def test_english_is_the_note_itself_and_unknown_sentences_stay_visible():
    text = "Dropped 3 of 40 rows with missing values ('score': 3).  Something new."
    assert say_note(text, "en") == " ".join(text.split())
    said = say_note(text, "fr")
    assert said == (
        "3 lignes sur 40 écartées car une valeur y manque (« score » : 3). "
        f"{UNTRANSLATED} Something new."
    )
    with pytest.raises(SpecError, match="lang must be one of"):
        say_note(text, "de")
