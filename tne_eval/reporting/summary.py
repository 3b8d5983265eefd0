"""The plain-language summary that opens the report, and its footer.

The summary is written from the key numbers of the chapters (the results
manifest), so it always states what the chapters computed. A sentence whose
numbers a chapter did not publish is left out.
"""

from __future__ import annotations

import html
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from tne_eval.reporting.fmt import (
    fmt_interval,
    fmt_number,
    fmt_percent,
    fmt_points,
    fmt_pvalue,
    noun_for,
)
from tne_eval.reporting.labels import label
from tne_eval.results.disclosure import DEFAULT_RULE

__all__ = ["render_footer", "render_summary"]


def _get(numbers: Mapping[str, Mapping[str, Any]], stem: str, key: str) -> Any:
    return numbers.get(stem, {}).get(key)


#: How the summary names the inference behind an interval (the start of the
#: ``inference`` key number written by the chapters), French and English.
_METHODS = (
    ("Ferman-Pinto", ("de Ferman et Pinto", "Ferman-Pinto")),
    ("Conley-Taber", ("de Conley et Taber", "Conley-Taber")),
    (
        "score wild bootstrap unrestricted",
        ("par bootstrap sauvage par grappe", "wild cluster bootstrap"),
    ),
    (
        "wild cluster bootstrap",
        ("par bootstrap sauvage par grappe", "wild cluster bootstrap"),
    ),
)


def _method(inference: object, lang: str) -> str:
    """Words for the inference of an interval, or "" for the usual cluster one."""
    text = str(inference or "")
    for start, (fr, en) in _METHODS:
        if text.startswith(start):
            return f" {fr}" if lang == "fr" else f"{en} "
    return ""


def _effect(
    numbers, stem: str, name: str, lang: str, unit: tuple[str, str]
) -> str | None:
    est = _get(numbers, stem, f"{name}.estimate")
    low = _get(numbers, stem, f"{name}.conf_low")
    high = _get(numbers, stem, f"{name}.conf_high")
    if est is None or low is None or high is None:
        return None
    significant = low > 0 or high < 0
    digits = 1 if abs(est) >= 1 else 2
    ci = fmt_interval(low, high, digits, lang)
    value = fmt_number(est, digits, lang)
    words = noun_for(value, unit[0], unit[1], lang)
    method = _method(_get(numbers, stem, f"{name}.inference"), lang)
    if lang == "fr":
        verdict = "" if significant else ", non significatif au seuil de 5 %"
        return (
            f"{value} {words} (intervalle de confiance à 95 %{method} : {ci}{verdict})"
        )
    verdict = "" if significant else ", not significant at 5%"
    return f"{value} {words} (95% {method}confidence interval {ci}{verdict})"


def _recommended(numbers, name: str) -> tuple[str, str]:
    """Return the chapter holding ``name`` with the recommended inference, and its key.

    Chapter 5 publishes the simple ATT with the inference the decision table
    recommends (``att_recommended_<outcome>``); without it, chapter 3's.
    """
    outcome = name.removeprefix("att_")
    key = f"att_recommended_{outcome}"
    if _get(numbers, "05_robustness", f"{key}.estimate") is not None:
        return "05_robustness", key
    return "03_staggered_learning", name


def headline(numbers: Mapping[str, Mapping[str, Any]], lang: str = "fr") -> str:
    """Write the report's title, stating its main finding."""
    est = _get(numbers, "03_staggered_learning", "att_score_french.estimate")
    if est is None:
        return label("title", lang)
    value = fmt_points(abs(est), 1, lang)
    if lang == "fr":
        verb = "progressent" if est >= 0 else "reculent"
        return (
            f"Dans les territoires numériques éducatifs, les scores de français en "
            f"CM2 {verb} d'environ {value} par rapport aux autres départements"
        )
    verb = "rise" if est >= 0 else "fall"
    return (
        f"In the digital education territories, CM2 French scores {verb} by about "
        f"{value} relative to other departments"
    )


def render_summary(
    numbers: Mapping[str, Mapping[str, Any]], *, lang: str = "fr", has_truth: bool
) -> str:
    """HTML of the summary: what TNE is, what was estimated, what was found.

    Parameters
    ----------
    numbers : mapping
        ``{chapter stem: {key: value}}`` of the run.
    lang : {"fr", "en"}
    has_truth : bool
        Whether the data are the synthetic world (said in the summary).
    """
    fr = lang == "fr"
    n20 = _get(numbers, "01_data_and_design", "n_tne_2020")
    n21 = _get(numbers, "01_data_and_design", "n_tne_2021")
    n_schools = _get(numbers, "01_data_and_design", "n_schools")
    points = ("point", "points")
    french = _effect(numbers, *_recommended(numbers, "att_score_french"), lang, points)
    math_ = _effect(numbers, *_recommended(numbers, "att_score_math"), lang, points)
    practice = _effect(
        numbers,
        "04_teacher_practices",
        "att_practice_index",
        lang,
        ("point sur l'échelle 1-5", "points sur l'échelle 1-5")
        if fr
        else ("point on the 1-5 scale", "points on the 1-5 scale"),
    )
    demo = _effect(
        numbers, "02_demonstrators_2020", "did2x2_score_french", lang, points
    )
    mde_simple = _get(numbers, "05_robustness", "mde_simple_att")
    mde_demo = _get(numbers, "05_robustness", "mde_did2x2")
    twfe = _get(numbers, "03_staggered_learning", "twfe_score_french.estimate")
    pre_p = _get(numbers, "05_robustness", "pretest_all_htz_p")
    clusters = _get(
        numbers, "03_staggered_learning", "att_score_french.n_treated_clusters"
    )
    response = _get(numbers, "01_data_and_design", "survey_response_rate")
    paras: list[tuple[str, str]] = []
    what = (
        "Les territoires numériques éducatifs (TNE) équipent les écoles et collèges "
        "d'un département en matériel et ressources numériques et forment leurs "
        "enseignants. "
        if fr
        else "The digital education territories (TNE) equip a department's schools "
        "with digital devices and resources and train their teachers. "
    )
    if n20 is not None and n21 is not None:
        what += (
            f"Le dispositif a commencé à la rentrée 2020 dans {n20} départements "
            f"démonstrateurs, l'Aisne (02) et le Val-d'Oise (95), puis s'est étendu à "
            f"{n21} départements en 2021-2022. "
            if fr
            else f"It started in school year 2020-2021 in {n20} demonstrator "
            f"departments, Aisne (02) and Val-d'Oise (95), and was extended to {n21} "
            "departments in 2021-2022. "
        )
    what += (
        "Ce rapport estime l'écart moyen, dans les écoles des départements concernés, "
        "entre l'évolution observée et celle qu'auraient connue ces écoles sans le "
        "dispositif, estimée à partir des autres départements (différence de "
        "différences)."
        if fr
        else "This report estimates the average gap, in the schools of the "
        "participating departments, between what happened and what would have "
        "happened without the programme, estimated from the other departments "
        "(difference in differences)."
    )
    paras.append(("Ce qui a été évalué" if fr else "What was evaluated", what))
    found = []
    if french:
        found.append(
            f"En CM2, l'écart estimé en français est de {french}"
            if fr
            else f"In CM2, the estimated gap in French is {french}"
        )
    if math_:
        found.append(
            f"en mathématiques, il est de {math_}"
            if fr
            else f"in mathematics it is {math_}"
        )
    text = "; ".join(found) + "." if found else ""
    year = _get(numbers, "02_demonstrators_2020", "head_year")
    if demo and year is not None:
        text += (
            f" Dans les deux départements démonstrateurs, la comparaison simple "
            f"2019-2020 / {year}-{year + 1} donne {demo}."
            if fr
            else f" In the two demonstrator departments, the simple 2019-2020 / "
            f"{year}-{year + 1} comparison gives {demo}."
        )
        if mde_demo is not None:
            text += (
                f" Avec deux départements seulement, un effet de moins de "
                f"{fmt_points(mde_demo, 0, lang)} environ n'y serait pas détecté "
                "(chapitre 5) : ce résultat ne permet pas de conclure à l'absence "
                "d'effet."
                if fr
                else f" With only two departments, an effect below about "
                f"{fmt_points(mde_demo, 0, lang)} would not be detected there "
                "(chapter 5): this result cannot show that there was no effect."
            )
    if practice:
        text += (
            f" Sur les pratiques des enseignants, l'indice de pratiques numériques "
            f"augmente de {practice}."
            if fr
            else f" For teachers' practices, the digital-practice index rises by {practice}."
        )
    if text:
        paras.append(("Ce qui a été trouvé" if fr else "What was found", text.strip()))
    can = (
        "Ces résultats décrivent l'effet moyen sur les élèves des territoires "
        "concernés, sous l'hypothèse que, à indice de position sociale comparable, "
        "leurs scores auraient évolué comme ceux des autres départements. Ils ne "
        "permettent pas de conclure à ce que produirait le dispositif dans des "
        "départements qui ne l'ont pas choisi, ni d'attribuer l'effet à un "
        "équipement ou une formation en particulier."
        if fr
        else "These results describe the average effect on the pupils of the "
        "participating territories, assuming that, at a comparable social index, "
        "their scores would have moved like those of other departments. They do "
        "not say what the programme would do in departments that did not choose "
        "it, nor which device or training produced the effect."
    )
    if twfe is not None:
        can += (
            f" La régression à effets fixes habituelle (TWFE) donne "
            f"{fmt_points(twfe, 1, lang)} : elle est biaisée ici par l'adoption "
            "échelonnée et l'absence de contrôle social (chapitre 3)."
            if fr
            else f" The usual two-way fixed-effects regression (TWFE) gives "
            f"{fmt_points(twfe, 1, lang)}: it is biased here by staggered "
            "adoption and the lack of a social control (chapter 3)."
        )
    paras.append(("Ce que l'on peut conclure" if fr else "What can be concluded", can))
    limits = (
        "Les départements n'ont pas été tirés au sort : ils sont socialement plus "
        "défavorisés que les autres. "
        if fr
        else "Departments were not drawn at random: they are socially more "
        "disadvantaged than the others. "
    )
    if clusters is not None:
        limits += (
            f"Seuls {clusters} départements sont traités : les intervalles de "
            "confiance publiés sont ceux des méthodes qu'une étude de Monte-Carlo du "
            "dispositif a trouvées valides (bootstrap sauvage pour les effets sur "
            "l'ensemble des départements, méthode de Ferman et Pinto pour la vague "
            "2020, deux départements, dont les intervalles sont larges, erreurs-types "
            "CR2 pour l'effet dynamique global) ; pour la bande simultanée de l'étude "
            "d'événement, aucune méthode n'a été validée. "
            if fr
            else f"Only {clusters} departments are treated: the intervals shown are "
            "those of the methods a Monte Carlo study of the design found valid (the "
            "wild bootstrap for effects over all departments, Ferman and Pinto's "
            "method for the 2020 wave, two departments, whose intervals are wide, CR2 "
            "standard errors for the overall dynamic effect); for the event study's "
            "simultaneous band, no method was shown valid. "
        )
    if mde_simple is not None:
        limits += (
            f"Le dispositif d'évaluation détecte un effet moyen de "
            f"{fmt_points(mde_simple, 1, lang)} ou plus huit fois sur dix. "
            if fr
            else f"The evaluation design detects an average effect of "
            f"{fmt_points(mde_simple, 1, lang)} or more eight times out of ten. "
        )
    if pre_p is not None:
        limits += (
            f"Le test de tendances parallèles avant le dispositif (petits "
            f"échantillons) donne une p-valeur de {fmt_pvalue(pre_p, lang)}. "
            if fr
            else f"The small-sample test of parallel pre-trends gives a p-value of "
            f"{fmt_pvalue(pre_p, lang)}. "
        )
    breakdown = _get(numbers, "05_robustness", "sensitivity_rm_breakdown")
    if breakdown is not None and breakdown == breakdown and breakdown > 0:
        limits += (
            "La conclusion d'un effet positif suppose que, sans le dispositif, les "
            "scores auraient suivi des tendances parallèles : elle tient tant que "
            "l'écart de tendance après l'entrée reste inférieur à "
            f"{fmt_number(breakdown, 2, lang)} fois le plus grand écart observé d'une "
            "année sur l'autre avant l'entrée (Rambachan et Roth, 2023), ce qui est "
            "peu. "
            if fr and breakdown < 1
            else "La conclusion d'un effet positif tient tant que l'écart de tendance "
            f"après l'entrée reste inférieur à {fmt_number(breakdown, 2, lang)} fois "
            "le plus grand écart observé avant l'entrée (Rambachan et Roth, 2023). "
            if fr
            else "The conclusion of a positive effect assumes that, without the "
            "programme, scores would have followed parallel trends: it holds as long "
            "as the post-entry trend gap stays below "
            f"{fmt_number(breakdown, 2, lang)} times the largest year-to-year gap seen "
            "before entry (Rambachan and Roth, 2023)"
            + (", which is little. " if breakdown < 1 else ". ")
        )
    every_year = _get(numbers, "01_data_and_design", "share_schools_every_year")
    if every_year is not None:
        limits += (
            f"Seuls {fmt_percent(every_year, 0, lang)} des établissements sont observés "
            "toutes les années. "
            if fr
            else f"Only {fmt_percent(every_year, 0, lang)} of schools are observed every "
            "year. "
        )
    if response is not None:
        limits += (
            f"L'enquête auprès des enseignants n'a obtenu que "
            f"{fmt_percent(response, 0, lang)} de réponses. "
            if fr
            else f"Only {fmt_percent(response, 0, lang)} of teachers answered the "
            "survey. "
        )
    paras.append(
        (
            "Les limites du dispositif d'évaluation" if fr else "The design's limits",
            limits.strip(),
        )
    )
    data = (
        (
            "Les données de ce rapport sont synthétiques : elles reproduisent la "
            "situation des TNE avec des effets connus, ce qui permet de vérifier les "
            "estimations (cadres « Contrôle sur données synthétiques »)."
            if fr
            else "The data of this report are synthetic: they reproduce the TNE setting "
            'with known effects, so the estimates can be checked (boxes "Check on '
            'synthetic data").'
        )
        if has_truth
        else (
            "Les données de ce rapport sont les fichiers fournis ; aucune vraie valeur "
            "n'est connue."
            if fr
            else "The data of this report are the files provided; no true value is known."
        )
    )
    if n_schools is not None:
        data += (
            f" Elles couvrent {fmt_number(n_schools, 0, lang)} établissements. "
            if fr
            else f" They cover {fmt_number(n_schools, 0, lang)} schools. "
        )
    data += DEFAULT_RULE.describe(lang)
    paras.append(("Les données" if fr else "The data", data))
    body = "".join(
        f"<p><strong>{html.escape(h)}.</strong> {html.escape(t)}</p>" for h, t in paras
    )
    return (
        f"<section class='summary' id='summary'><h2>{label('summary', lang)}</h2>"
        f"<p class='chapeau'>{html.escape(headline(numbers, lang))}.</p>{body}</section>"
    )


def render_footer(
    manifest: Mapping[str, Any], *, lang: str = "fr", command: Sequence[str] | str = ""
) -> str:
    """Render the *Pour en savoir plus* footer: reproduction command, versions, data."""
    if not isinstance(command, str):
        command = shlex.join(command)
    versions = ", ".join(
        f"{k} {v}" for k, v in manifest.get("versions", {}).items() if v
    )
    files = ", ".join(
        f"{name} ({digest[:12]})" for name, digest in manifest["data"]["sha256"].items()
    )
    esc = html.escape
    if lang == "fr":
        lines = [
            f"Rapport produit par tne_eval {esc(manifest['tne_eval'])} avec la "
            f"commande <code>{esc(command)}</code>.",
            "Reproduire et vérifier tous les chiffres : <code>tne-eval reproduce "
            "--check</code> (tolérance relative 1e-6, manifeste "
            "<code>key_numbers.json</code>).",
            f"Données (SHA-256) : {esc(files)}.",
            f"Versions : {esc(versions)}.",
            "Méthodes : Callaway et Sant'Anna (2021), Sant'Anna et Zhao (2020), "
            "de Chaisemartin et D'Haultfœuille (2020) ; documentation de tne_eval.",
        ]
    else:
        lines = [
            f"Report produced by tne_eval {esc(manifest['tne_eval'])} with "
            f"<code>{esc(command)}</code>.",
            "Reproduce and check every number: <code>tne-eval reproduce "
            "--check</code> (relative tolerance 1e-6, manifest "
            "<code>key_numbers.json</code>).",
            f"Data (SHA-256): {esc(files)}.",
            f"Versions: {esc(versions)}.",
            "Methods: Callaway and Sant'Anna (2021), Sant'Anna and Zhao (2020), "
            "de Chaisemartin and D'Haultfœuille (2020); the tne_eval documentation.",
        ]
    items = "".join(f"<p>{line}</p>" for line in lines)
    return f"<h2 id='further'>{label('further', lang)}</h2>{items}"
