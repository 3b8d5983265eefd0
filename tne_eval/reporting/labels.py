"""Words of the report in each language (the library's API stays English)."""

from __future__ import annotations

from tne_eval.reporting.fmt import check_lang

__all__ = ["LABELS", "label"]

#: ``{key: {"fr": ..., "en": ...}}``.
LABELS: dict[str, dict[str, str]] = {
    "figure": {"fr": "Figure", "en": "Figure"},
    "table": {"fr": "Tableau", "en": "Table"},
    "box": {"fr": "Encadré", "en": "Box"},
    "reading": {"fr": "Lecture :", "en": "How to read:"},
    "scope": {"fr": "Champ :", "en": "Scope:"},
    "source": {"fr": "Source :", "en": "Source:"},
    "notes": {"fr": "Notes", "en": "Notes"},
    "note": {"fr": "Note :", "en": "Note:"},
    "notes_intro": {
        "fr": "(avertissements et ajustements automatiques des estimations "
        "signalés par tne_eval)",
        "en": "(warnings and automatic adjustments of the estimates, as tne_eval "
        "words them)",
    },
    "truth_box": {
        "fr": "Contrôle sur données synthétiques : estimations et vraie valeur",
        "en": "Check on synthetic data: estimates and the true value",
    },
    "truth_intro": {
        "fr": "Les données sont synthétiques : l'effet vrai est connu. Ce cadre "
        "n'existe pas sur données réelles.",
        "en": "The data are synthetic, so the true effect is known. This box does "
        "not exist on real data.",
    },
    "contents": {"fr": "Sommaire", "en": "Contents"},
    "summary": {"fr": "Synthèse", "en": "Summary"},
    "title": {
        "fr": "Évaluation des territoires numériques éducatifs (TNE)",
        "en": "Evaluation of the digital education territories (TNE)",
    },
    "further": {"fr": "Pour en savoir plus", "en": "Further information"},
    "quantity": {"fr": "Quantité", "en": "Quantity"},
    "estimate": {"fr": "Estimation", "en": "Estimate"},
    "std_error": {"fr": "Écart-type", "en": "Std. error"},
    "ci95": {"fr": "IC à 95 %", "en": "95% CI"},
    "truth": {"fr": "Vraie valeur", "en": "True value"},
    "covers": {"fr": "IC contient la vraie valeur", "en": "CI covers the truth"},
    "p_value": {"fr": "p-valeur", "en": "p-value"},
    "school_year": {"fr": "Année scolaire", "en": "School year"},
    "event_time": {
        "fr": "Années depuis l'entrée dans le dispositif",
        "en": "Years since joining the programme",
    },
    "score_points": {
        "fr": "Écart estimé (points de score, échelle 250/50)",
        "en": "Estimated gap (score points, 250/50 scale)",
    },
    "scale_points": {
        "fr": "Écart estimé (points d'échelle 1-5)",
        "en": "Estimated gap (points on the 1-5 scale)",
    },
    "synthetic_source": {
        "fr": "données synthétiques tne_eval (monde synthétique, graine {seed}), "
        "calculs tne_eval {version}.",
        "en": "tne_eval synthetic data (synthetic world, seed {seed}), tne_eval "
        "{version} computations.",
    },
    "real_source": {
        "fr": "fichiers du dossier {folder} (empreinte SHA-256 dans le manifeste "
        "des résultats), calculs tne_eval {version}.",
        "en": "files of the folder {folder} (SHA-256 fingerprint in the results "
        "manifest), tne_eval {version} computations.",
    },
    "treated": {"fr": "Départements TNE", "en": "TNE departments"},
    "comparison": {"fr": "Autres départements", "en": "Other departments"},
    "truth_line": {"fr": "Vraie valeur (synthétique)", "en": "True value (synthetic)"},
    "yes": {"fr": "oui", "en": "yes"},
    "no": {"fr": "non", "en": "no"},
    "pdf_skipped": {
        "fr": "PDF non produit : chromium est absent.",
        "en": "PDF not written: chromium is not installed.",
    },
}


def label(key: str, lang: str = "fr", **fields: object) -> str:
    """Return the word ``key`` in ``lang``, with ``{fields}`` filled in."""
    check_lang(lang)
    return LABELS[key][lang].format(**fields)
