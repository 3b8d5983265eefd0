"""The library's notes, said in the report's language.

tne_eval writes its notes and warnings in English, for code and logs. The report
speaks French by default, so each note a chapter shows goes through
:func:`say_note`: a note is read sentence by sentence against the rules below,
each rule being a regular expression on the library's wording and the French
sentence it becomes, with the note's numbers, columns and counts carried over in
French format. A sentence no rule knows is kept in English behind a marker
(:data:`UNTRANSLATED`), so nothing is hidden; the report's test asserts that the
French report on the committed synthetic world has no such sentence, so a note
whose wording changes in the library is caught.

Rules say what the note says, in the words of the report, not word for word:
the library's references to its own options (``unbalanced='keep'``,
``method='reg'``) are dropped where an inspector has no use for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tne_eval.reporting.fmt import check_lang, fmt_number

__all__ = ["UNTRANSLATED", "say_note"]

#: What introduces a sentence of a note that no rule translates.
UNTRANSLATED = "(note technique, en anglais)"

#: Words for the clustering columns of the data model.
_UNITS = {
    "department": ("département", "départements"),
    "academie": ("académie", "académies"),
    "school_id": ("école", "écoles"),
}


def _count(text: str) -> str:
    return fmt_number(int(text), 0, "fr")


def _units(column: str, n: int | None = None) -> str:
    """``départements`` for ``'department'``; ``grappes (« x »)`` otherwise."""
    name = column.strip("'")  # the library quotes column names: 'department'
    one, many = _UNITS.get(name, ("grappe", f"grappes (« {name} »)"))
    return one if n is not None and abs(n) < 2 else many


def _decimal(text: str) -> str:
    """``13.69`` -> ``13,69`` (a number already rounded by the library)."""
    return text.replace(".", ",").replace("-", "\u2212")


def _df_span(text: str) -> str:
    """``from 1.2 to 3`` -> ``de 1,2 à 3``; ``none`` -> ``aucun``."""
    m = re.fullmatch(r"from (\S+) to (\S+)", text)
    if not m:
        return "aucun"
    return f"de {m.group(1).replace('.', ',')} à {m.group(2).replace('.', ',')}"


def _cohorts(spans: str) -> str:
    """``cohort 2020: 2, cohort 2021: 10`` -> ``cohorte 2020 : 2, cohorte 2021 : 10``."""
    parts = re.findall(r"cohort (\S+): (\d+)", spans)
    return ", ".join(f"cohorte {g} : {_count(n)}" for g, n in parts)


def _treated(counts: str, column: str) -> str:
    """``2`` -> ``2 départements traités``; ``2, 10`` -> ``2 ou 10 ... selon l'estimation``."""
    values = [v.strip() for v in counts.split(",") if v.strip()]
    many = _units(column, int(values[-1]) if len(values) == 1 else None)
    if len(values) == 1:
        return f"{_count(values[0])} {many} traité{'' if int(values[0]) < 2 else 's'}"
    listed = ", ".join(_count(v) for v in values[:-1]) + f" ou {_count(values[-1])}"
    return f"{listed} {many} traités selon l'estimation"


def _weights(name: str) -> str:
    return {
        "rademacher": "de Rademacher",
        "mammen": "de Mammen",
        "webb": "de Webb",
    }.get(name.lower(), f"« {name} »")


_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _rule(pattern: str, say: Callable[[re.Match[str]], str]) -> _Rule:
    return re.compile(pattern, re.DOTALL), say


_RULES: tuple[_Rule, ...] = (
    _rule(
        r"Few treated clusters \((?P<col>'[^']*'|\w+); (?P<spans>[^;]*); "
        r"(?P<n>\d+) clusters in all\)\. Cluster-robust standard errors of estimates "
        r"resting on cohorts with fewer than (?P<a>\d+) clusters \(or with fewer "
        r"than (?P<b>\d+) clusters in all\) can be far too small, and pre-trend "
        r"tests over-reject; see [^;]*?\(explanation/coverage\)\.\s*",
        lambda m: (
            f"Peu de {_units(m['col'])} traités ({_cohorts(m['spans'])} ; "
            f"{_count(m['n'])} {_units(m['col'])} en tout). Les erreurs-types par "
            f"grappe des estimations qui reposent sur des cohortes de moins de "
            f"{m['a']} {_units(m['col'])} (ou sur moins de {m['b']} en tout) peuvent "
            "être bien trop petites, et les tests de tendances antérieures "
            "rejettent trop souvent ; voir l'étude de couverture de la "
            "documentation. "
        ),
    ),
    _rule(
        r"Cluster-robust standard errors by (?P<col>'[^']*'|\w+) with (?P<g>\d+) "
        r"clusters: variance multiplied by G/\(G-1\) and t\((?P<df>\d+)\) critical "
        r"values\.\s*",
        lambda m: (
            f"Erreurs-types robustes par grappe ({_count(m['g'])} "
            f"{_units(m['col'])}) : variance multipliée par G/(G-1), valeurs "
            f"critiques de la loi de Student à {m['df']} degrés de liberté. "
        ),
    ),
    _rule(
        r"Cluster-robust standard errors by (?P<col>'[^']*'|\w+) with (?P<g>\d+) "
        r"clusters, without small-sample correction; normal critical values\.\s*",
        lambda m: (
            f"Erreurs-types robustes par grappe ({_count(m['g'])} "
            f"{_units(m['col'])}), sans correction de petit échantillon ; valeurs "
            "critiques de la loi normale. "
        ),
    ),
    _rule(
        r"Cluster-robust standard errors by (?P<col>'[^']*'|\w+) \((?P<g>\d+) "
        r"clusters\): variance multiplied by G/\(G-1\)\*\(N-1\)/\(N-K\) = [^(]*"
        r"\(K = (?P<k>\d+): [^)]*\), t\((?P<df>\d+)\) critical values\.\s*",
        lambda m: (
            f"Erreurs-types robustes par grappe ({_count(m['g'])} "
            f"{_units(m['col'])}) : variance multipliée par G/(G-1)·(N-1)/(N-K), "
            f"K = {m['k']} paramètres, valeurs critiques de la loi de Student à "
            f"{m['df']} degrés de liberté. "
        ),
    ),
    _rule(
        r"Unbalanced panel kept \(unbalanced='keep'\): each ATT\(g,t\) compares the "
        r"observations of its two periods with the repeated-cross-section "
        r"estimator, and influence functions are summed by unit \(R did's "
        r"allow_unbalanced_panel=TRUE\); aggregations weight cohorts by their share "
        r"of units\.\s*",
        lambda m: (
            "Panel non cylindré conservé : chaque effet d'une cohorte une année "
            "donnée compare les observations de ses deux années comme des coupes "
            "répétées, les fonctions d'influence étant sommées par unité ; les "
            "agrégations pondèrent les cohortes par leur part des unités. "
        ),
    ),
    _rule(
        r"Dropped (?P<n>\d+) of (?P<m>\d+) rows with missing values "
        r"\((?P<detail>[^)]*)\)\.\s*",
        lambda m: (
            f"{_count(m['n'])} lignes sur {_count(m['m'])} écartées car une valeur "
            "y manque ("
            + ", ".join(
                f"« {c} » : {_count(n)}"
                for c, n in re.findall(r"'([^']*)': (\d+)", m["detail"])
            )
            + "). "
        ),
    ),
    _rule(
        r"(?P<what>\w+) dropped (?P<n>\d+) of (?P<m>\d+) rows with a missing value "
        r"in a used column\.\s*",
        lambda m: (
            f"{_count(m['n'])} lignes sur {_count(m['m'])} écartées par le calcul "
            "des composantes de la variance car une variable utilisée y manque. "
            if m["what"] == "variance_components"
            else f"{_count(m['n'])} lignes sur {_count(m['m'])} écartées "
            f"(« {m['what']} ») car une variable utilisée y manque. "
        ),
    ),
    _rule(
        r"Score wild cluster bootstrap by (?P<col>'[^']*'|\w+) \((?P<g>\d+) "
        r"clusters\), (?P<kind>restricted \(WCR\)|unrestricted \(WCU\)), "
        r"(?P<w>\w+) weights, (?P<reps>\d+) draws(?P<enum> \(every sign pattern "
        r"enumerated\))?: p-values of each estimate = 0 and intervals by test "
        r"inversion, the null imposed by one Newton step with the group-mean "
        r"leverages; at least (?P<distinct>\d+) distinct bootstrap t values\. "
        r"Standard errors are the analytic cluster ones \(G/\(G-1\)\)\.\s*",
        lambda m: (
            f"Bootstrap sauvage par grappe ({_count(m['g'])} {_units(m['col'])}), "
            + (
                "sous l'hypothèse nulle (WCR)"
                if "WCR" in m["kind"]
                else "non contraint (WCU)"
            )
            + f", poids {_weights(m['w'])}, {_count(m['reps'])} tirages"
            + (" (tous les signes énumérés)" if m["enum"] else "")
            + " : p-valeurs du test de nullité de chaque estimation et intervalles "
            "par inversion du test. Les erreurs-types affichées sont les "
            "erreurs-types analytiques par grappe. "
        ),
    ),
    _rule(
        r"(?P<method>Ferman-Pinto|Conley-Taber) inference by (?P<col>'[^']*'|\w+): "
        r"each estimate written as its treated clusters' mean minus its comparison "
        r"clusters' mean \(contributions from the influence functions of the group "
        r"means\), the distribution of the estimation error from the comparison "
        r"clusters' residual contributions(?P<fp>, rescaled by the variance "
        r"function A \+ B/M of the rows per cluster)?; (?P<n1>[\d, ]+) treated "
        r"cluster\(s\); p-values of estimate = 0 and intervals by inversion "
        r"\(equal-tailed\)\. Standard errors are the analytic cluster ones\.\s*",
        lambda m: (
            (
                "Intervalles de Ferman et Pinto (2019)"
                if m["fp"]
                else "Intervalles de Conley et Taber (2011)"
            )
            + f" par {_units(m['col'], 1)} : chaque estimation s'écrit comme la "
            f"moyenne des {_units(m['col'])} traités moins celle des "
            f"{_units(m['col'])} de comparaison, et la loi de l'erreur d'estimation "
            f"est tirée des écarts observés dans les {_units(m['col'])} de "
            "comparaison"
            + (
                ", ajustés à la taille de chaque grappe (variance A + B/M)"
                if m["fp"]
                else ""
            )
            + f" ; {_treated(m['n1'], m['col'])} ; intervalles par "
            "inversion du test (à queues égales). Les erreurs-types affichées sont "
            "les erreurs-types analytiques par grappe. "
        ),
    ),
    _rule(
        r"(?P<method>Ferman-Pinto|Conley-Taber) not computed for (?P<n>\d+) "
        r"estimate\(s\) \(NaN p-value and interval\): (?P<why>[^\n]*?)\.\s*$",
        lambda m: (
            f"Méthode de {m['method'].replace('-', ' et ')} non calculée pour "
            f"{_count(m['n'])} estimation(s), qui sont alors présentées sans "
            "intervalle (ces estimations regroupent plusieurs cohortes ou n'ont pas "
            "de grappes de comparaison utilisables). "
        ),
    ),
    _rule(
        r"CR2 \(Bell-McCaffrey\) standard errors by (?P<col>'[^']*'|\w+) \((?P<g>\d+) "
        r"clusters\) under the working model of independent clusters with variance "
        r"proportional to their weight; t critical values with Satterthwaite "
        r"degrees of freedom by term \((?P<span>[^)]*)\)\.\s*",
        lambda m: (
            f"Erreurs-types CR2 (Bell et McCaffrey) par grappe ({_count(m['g'])} "
            f"{_units(m['col'])}) ; valeurs critiques de Student avec les degrés de "
            f"liberté de Satterthwaite de chaque estimation ({_df_span(m['span'])}). "
        ),
    ),
    _rule(
        r"CR2 \(Bell-McCaffrey\) standard errors by (?P<col>'[^']*'|\w+) \((?P<g>\d+) "
        r"clusters\); t critical values with Imbens-Kolesar degrees of freedom by "
        r"term \((?P<span>[^)]*)\), under Moulton's working model: [^.]*\.\s*",
        lambda m: (
            f"Erreurs-types CR2 (Bell et McCaffrey) par grappe ({_count(m['g'])} "
            f"{_units(m['col'])}) ; valeurs critiques de Student avec les degrés de "
            f"liberté d'Imbens et Kolesár de chaque estimation "
            f"({_df_span(m['span'])}). "
        ),
    ),
    _rule(
        r"CR3 \(leave-one-cluster-out jackknife, one Newton step\) standard errors "
        r"by (?P<col>'[^']*'|\w+) \((?P<g>\d+) clusters\), t\((?P<df>\d+)\) critical "
        r"values\.\s*",
        lambda m: (
            f"Erreurs-types CR3 (jackknife en retirant une grappe à la fois, "
            f"{_count(m['g'])} {_units(m['col'])}) ; valeurs critiques de la loi de "
            f"Student à {m['df']} degrés de liberté. "
        ),
    ),
    _rule(
        r"Leverages are the clusters' shares of each group mean \(and of the "
        r"cohort-share weights\); for method='reg' without covariates on a balanced "
        r"panel they are the exact Jacobian, so CR3 is the exact "
        r"leave-one-cluster-out jackknife\.\s*",
        lambda m: (
            "Les leviers sont les parts des grappes dans chaque moyenne de groupe ; "
            "le calcul est ici exact. "
        ),
    ),
    _rule(
        r"Leverages are the clusters' shares of each group mean \(treated cohort, "
        r"comparison group\); with covariates, ipw/dr, repeated cross-sections or "
        r"unbalanced='keep' they ignore the nuisance models' own leverage: an "
        r"approximation \(exact for method='reg' without covariates on a balanced "
        r"panel\)\.\s*",
        lambda m: (
            "Les leviers sont les parts des grappes dans chaque moyenne de groupe "
            "(cohorte traitée, groupe de comparaison) ; ils ignorent ceux des "
            "modèles d'ajustement (covariables, score de propension) : c'est une "
            "approximation. "
        ),
    ),
    _rule(
        r"The wild bootstrap has only (?P<n>\d+) distinct t statistics \((?P<g>\d+) "
        r"clusters, (?P<w>\w+) weights(?P<enum>, all sign patterns enumerated)?\): "
        r"p-values move in steps of at least 1/\d+\. With few \(treated\) clusters "
        r"the wild bootstrap is unreliable \(MacKinnon & Webb 2017, 2018\); prefer "
        r"weight_type='webb' and report randomization inference as well\.\s*",
        lambda m: (
            f"Le bootstrap sauvage ne produit que {_count(m['n'])} statistiques "
            f"distinctes ({_count(m['g'])} grappes, poids {_weights(m['w'])}) : ses "
            f"p-valeurs varient par pas d'au moins 1/{m['n']}. Avec peu de grappes "
            "traitées, le bootstrap sauvage n'est pas fiable (MacKinnon et Webb, "
            "2017, 2018). "
        ),
    ),
    _rule(
        r"Staggered adoption: (?P<k>\d+) treated cohorts \((?P<list>[^)]*)\)\. With "
        r"effects that vary across cohorts or with time since treatment, the static "
        r"TWFE coefficient weights cell effects with weights that can be negative "
        r"\(here (?P<neg>\d+) of (?P<cells>\d+) cells, sum (?P<sum>[^)]*)\), using "
        r"already-treated units as controls \(Goodman-Bacon 2021; de Chaisemartin & "
        r"D'Haultfoeuille 2020\)\. Use it as a benchmark only: estimate group-time "
        r"effects with tne_eval\.att_gt and aggregate them with "
        r"tne_eval\.aggregate.*?\.(?:\s+|$)",
        lambda m: (
            f"Adoption échelonnée ({m['k']} cohortes : {m['list']}) : si les effets "
            "varient selon la cohorte ou la durée d'exposition, le coefficient de la "
            "régression à effets fixes (TWFE) pondère les effets de chaque cohorte "
            "et année avec des poids qui peuvent être négatifs (ici "
            f"{_count(m['neg'])} cellule(s) sur {_count(m['cells'])}), en prenant "
            "pour témoins des unités déjà traitées (Goodman-Bacon, 2021 ; "
            "de Chaisemartin et D'Haultfœuille, 2020). Il n'est donné qu'à titre de "
            "comparaison. "
        ),
    ),
    _rule(
        r"de Chaisemartin & D'Haultfoeuille \(2020\) weights: the static TWFE "
        r"coefficient is a weighted sum of the effects of (?P<n>\d+) treated "
        r"observations in (?P<cells>\d+) \(cohort, period\) cells; (?P<neg>\d+) "
        r"cell\(s\) have negative weights summing to (?P<sum>\S+) \(positive weights "
        r"sum to (?P<pos>[^)]*)\); sigma_fe = (?P<sigma>\S+), the smallest standard "
        r"deviation of effects across treated observations compatible with an "
        r"average effect of the opposite sign\.\s*",
        lambda m: (
            "Poids de de Chaisemartin et D'Haultfœuille (2020) : le coefficient TWFE "
            f"est une somme pondérée des effets de {_count(m['n'])} observations "
            f"traitées réparties en {_count(m['cells'])} cellules (cohorte, année), "
            f"dont {_count(m['neg'])} de poids négatif ; il faudrait un écart-type "
            f"des effets d'au moins {_decimal(m['sigma'])} (unité du résultat) entre observations "
            "traitées pour que l'effet moyen soit de signe opposé. "
        ),
    ),
    _rule(
        r"Test inversion over (?P<n>\d+) values of the target in \[(?P<lo>\S+), "
        r"(?P<hi>\S+)\] \(step (?P<step>\S+)\); least-favourable critical value "
        r"from (?P<sims>\d+) draws \(seed (?P<seed>\d+)\), kappa = (?P<k>\S+)\.\s*",
        lambda m: (
            f"Ensembles de confiance de Rambachan et Roth obtenus par inversion du "
            f"test sur {_count(m['n'])} valeurs de l'effet entre {_decimal(m['lo'])} "
            f"et {_decimal(m['hi'])} (pas de {_decimal(m['step'])}) ; valeur critique "
            f"la moins favorable tirée de {_count(m['sims'])} simulations (graine "
            f"{m['seed']}). "
        ),
    ),
    _rule(
        r"At (?P<param>M|Mbar) in \[(?P<values>[^\]]*)\], (?P<what>the accepted set "
        r"reaches the end of the grid, so the set may be wider than reported; widen "
        r"grid_bounds|the accepted grid values are not contiguous \(the union over "
        r"the polyhedra of Delta\^RM need not be an interval\); conf_low/conf_high "
        r"span them|every grid value is rejected \(the restriction is rejected by "
        r"the data, or the grid misses the set\); the bounds are NaN)\.\s*",
        lambda m: (
            f"Pour {'M̄' if m['param'] == 'Mbar' else 'M'} = "
            + " ; ".join(_decimal(v.strip()) for v in m["values"].split(","))
            + " : "
            + (
                "l'ensemble atteint le bord de la grille de calcul et peut être plus "
                "large qu'indiqué. "
                if m["what"].startswith("the accepted set reaches")
                else "l'ensemble n'est pas d'un seul tenant ; ses bornes l'englobent. "
                if m["what"].startswith("the accepted grid")
                else "toutes les valeurs sont rejetées ; pas d'ensemble. "
            )
        ),
    ),
)


def say_note(text: str, lang: str = "fr") -> str:
    """Say one of the library's notes in ``lang``.

    English returns the note unchanged. In French, the note is translated
    sentence by sentence by the module's rules; a sentence no rule knows is kept
    in English after :data:`UNTRANSLATED`.

    Examples
    --------
    >>> say_note("Dropped 3 of 40 rows with missing values ('score': 3).")
    '3 lignes sur 40 écartées car une valeur y manque (« score » : 3).'
    >>> say_note("Dropped 3 of 40 rows with missing values ('score': 3).", "en")
    "Dropped 3 of 40 rows with missing values ('score': 3)."
    """
    lang = check_lang(lang)
    rest = " ".join(str(text).split())
    if lang == "en":
        return rest
    said: list[str] = []
    while rest:
        for pattern, say in _RULES:
            m = pattern.match(rest)
            if m:
                said.append(say(m).strip())
                rest = rest[m.end() :].lstrip()
                break
        else:
            said.append(f"{UNTRANSLATED} {rest}")
            break
    return " ".join(said)
