"""Reproduce the balance tables and sample sizes MatchIt 4.7.2 prints for LaLonde.

Every reference number is in ``tests/reference/matchit/printed.json``, extracted
from the rendered MatchIt/cobalt documentation by ``extract.py``; the page, the R
call and the package version are in ``PROVENANCE.json``. Agreement is asked to
the printed precision (half a unit of the last printed decimal).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.matching import lalonde
from tne_eval.matching._balance import balance_table, kish_ess, pair_distance
from tne_eval.matching._exact import cem_match, exact_match, subclass_weights
from tne_eval.matching._nearest import (
    caliper_width,
    mahalanobis_transform,
    matching_weights,
    nearest_mahalanobis,
    nearest_mahalanobis_caliper,
    nearest_scalar,
)
from tne_eval.matching._optimal import optimal_pair_match
from tne_eval.matching._propensity import fit_propensity

COLS = ("mean_treated", "mean_control", "smd", "var_ratio", "ecdf_mean", "ecdf_max")


def _compare(key, title, names, x, d, w=None, *, estimand="ATT", pairs=None, skip=()):
    ref = lalonde.printed_table(key, title)
    tol = lalonde.print_tolerance(key)
    bt = balance_table(x, d, w, estimand=estimand)
    stats = [getattr(bt, c) for c in COLS]
    if pairs is not None:
        stats.append(pair_distance(x, d, sd=bt.sd_denominator, **pairs))
    checked = 0
    for j, name in enumerate(names):
        for c, printed in enumerate(ref[name]):
            if (name, c) in skip:
                continue
            ours = stats[c][j]
            if printed is None:
                assert np.isnan(ours), (key, name, c)
            else:
                assert abs(ours - printed) <= tol, (
                    key,
                    name,
                    COLS[c] if c < 6 else "pair",
                    ours,
                    printed,
                )
            checked += 1
    return checked, bt


def _sizes(key, d, w):
    ref = lalonde.printed()[key]["Sample Sizes"]
    c = (d == 0) & (w > 0)
    t = (d == 1) & (w > 0)
    assert [int(c.sum()), int(t.sum())] == ref["Matched"]
    if "Matched (ESS)" in ref:
        assert round(kish_ess(w[c]), 2) == pytest.approx(
            ref["Matched (ESS)"][0], abs=0.006
        )
    unmatched = ref["Unmatched"]
    assert [
        int(((d == 0) & (w == 0)).sum()),
        int(((d == 1) & (w == 0)).sum()),
    ] == unmatched


@pytest.fixture(scope="module")
def ps_logit():
    return fit_propensity(lalonde.treat(), lalonde.ps_design(), link="logit").score


def test_all_data_balance_logit(ps_logit):
    d = lalonde.treat()
    x = np.column_stack([ps_logit, lalonde.columns()])
    n, _ = _compare(
        "all_data_logit",
        "Summary of Balance for All Data",
        ("distance", *lalonde.BALANCE_ROWS),
        x,
        d,
    )
    assert n == 60


def test_all_data_balance_probit():
    d = lalonde.treat()
    ps = fit_propensity(d, lalonde.ps_design(), link="probit").score
    _compare(
        "all_data_probit",
        "Summary of Balance for All Data",
        ("distance",),
        ps[:, None],
        d,
    )


def test_all_data_balance_ate_denominator(ps_logit):
    """estimand='ATE' standardises by sqrt((s_t^2 + s_c^2) / 2)."""
    d = lalonde.treat()
    x = np.column_stack([ps_logit, lalonde.columns()])
    _compare(
        "all_data_ate",
        "Summary of Balance for All Data",
        ("distance", *lalonde.BALANCE_ROWS),
        x,
        d,
        estimand="ATE",
    )


def test_nearest_ps_without_replacement(ps_logit):
    d = lalonde.treat()
    m = nearest_scalar(d, ps_logit)
    w, sub = matching_weights(d, m)
    x = np.column_stack([ps_logit, lalonde.columns()])
    n, _ = _compare(
        "nn_ps",
        "Summary of Balance for Matched Data",
        ("distance", *lalonde.BALANCE_ROWS),
        x,
        d,
        w,
        pairs={"subclass": sub},
    )
    assert n == 70
    _sizes("nn_ps", d, w)


def test_nearest_ps_with_replacement(ps_logit):
    d = lalonde.treat()
    m = nearest_scalar(d, ps_logit, replace=True)
    w, sub = matching_weights(d, m)
    assert sub is None
    x = np.column_stack([ps_logit, lalonde.columns()])
    _compare(
        "nn_ps_replace",
        "Summary of Balance for Matched Data",
        ("distance", *lalonde.BALANCE_ROWS),
        x,
        d,
        w,
        pairs={"match_matrix": m.match_matrix, "treated_rows": m.treated},
    )
    _sizes("nn_ps_replace", d, w)


#: The one choice among equidistant controls that floating-point rounding, not
#: MatchIt's walk, decides on these data: treated row 88 (age 21, educ 12,
#: white, not married, a degree, no 1974/1975 earnings) and two controls
#: identical to it but for age, 19 (row 567) and 23 (row 591). The two
#: distances are equal in exact arithmetic (the covariate differences are
#: opposite vectors); which one comes out smaller depends on the last bits of
#: the inverse covariance (its sign flips under relative perturbations of
#: 2e-16, see PROVENANCE.json). MatchIt's printed control means show which it
#: took, and it is not the same in every call (the order of the covariates
#: changes the rounding): ``MATCHIT_TIE_CHOICE``.
TIE_TREATED, TIE_AGE_19, TIE_AGE_23 = 88, 567, 591
MATCHIT_TIE_CHOICE = {
    "nn_mahalanobis_replace": TIE_AGE_19,
    "nn_mahalanobis_replace_exact": TIE_AGE_23,
    "mahvars_caliper_probit_ratio2": TIE_AGE_23,
    # both resolutions print the same numbers here (both controls end up
    # among row 88's three matches or their duplicates): checked both ways
    "mahvars_caliper_replace_ratio3": None,
}


def test_the_rounding_tie_is_an_exact_arithmetic_tie():
    x = lalonde.columns()
    d = lalonde.treat()
    assert d[TIE_TREATED] == 1 and d[TIE_AGE_19] == 0 and d[TIE_AGE_23] == 0
    delta_a = x[TIE_AGE_19] - x[TIE_TREATED]
    delta_b = x[TIE_AGE_23] - x[TIE_TREATED]
    np.testing.assert_array_equal(delta_a, -delta_b)  # mirror images
    assert np.count_nonzero(delta_a) == 1  # only age differs (by 2 years)
    z = mahalanobis_transform(x, d)
    da = np.sum((z[TIE_AGE_19] - z[TIE_TREATED]) ** 2)
    db = np.sum((z[TIE_AGE_23] - z[TIE_TREATED]) ** 2)
    assert da == pytest.approx(db, rel=1e-12)


def _resolve_tie(z, x, d, toward):
    """``z`` with the rounding tie of row 88 resolved toward control ``toward``.

    ``toward`` (and every control with the same covariates, so exact ties
    among duplicates stay exact) moves closer to row 88 by a relative 1e-9:
    far below any gap between distinct distances, far above rounding.
    """
    rows = np.flatnonzero((x == x[toward]).all(axis=1) & (d == 0))
    out = z.copy()
    out[rows] = z[TIE_TREATED] + (z[toward] - z[TIE_TREATED]) * (1.0 - 1e-9)
    return out


def _tie_resolutions(run, z, x, d):
    """Our matches with the row-88 tie resolved toward each control.

    Ours must be one of the two resolutions: the rounding tie is the only
    choice the walk does not decide.
    """
    out = {c: run(_resolve_tie(z, x, d, c)) for c in (TIE_AGE_19, TIE_AGE_23)}
    assert not np.array_equal(
        out[TIE_AGE_19].match_matrix, out[TIE_AGE_23].match_matrix
    )
    ours = run(z)
    assert any(np.array_equal(ours.match_matrix, r.match_matrix) for r in out.values())
    return out


def test_nearest_mahalanobis_with_replacement():
    """Every printed number, with MatchIt's walk order among equidistant controls."""
    d = lalonde.treat()
    x = lalonde.columns()
    z = mahalanobis_transform(x, d)
    m = _tie_resolutions(lambda zz: nearest_mahalanobis(d, zz, replace=True), z, x, d)[
        MATCHIT_TIE_CHOICE["nn_mahalanobis_replace"]
    ]
    w, _ = matching_weights(d, m)
    _compare(
        "nn_mahalanobis_replace",
        "Summary of Balance for All Data",
        lalonde.BALANCE_ROWS,
        x,
        d,
    )
    n, _ = _compare(
        "nn_mahalanobis_replace",
        "Summary of Balance for Matched Data",
        lalonde.BALANCE_ROWS,
        x,
        d,
        w,
        pairs={"match_matrix": m.match_matrix, "treated_rows": m.treated},
    )
    assert n == 63
    assert m.n_unmatched_treated == 0
    _sizes("nn_mahalanobis_replace", d, w)  # 79 controls, ESS 34.19


def test_mahalanobis_walk_breaks_exact_ties_as_matchit():
    """Bit-identical distances (duplicated control rows) go to the control the
    walk along the first coordinate reaches last, as MatchIt's
    find_control_mahcovs (a control at most as far replaces the best)."""
    d = np.array([0, 0, 1, 0, 0])
    #   the two outer controls are duplicates: equidistant from the treated unit
    x = np.array([[9.0, 7.0], [3.0, 0.0], [1.0, 0.5], [3.0, 0.0], [-8.0, 6.0]])
    z = mahalanobis_transform(x, d)
    order = np.argsort(z[:, 0], kind="stable")
    pos = np.empty(5, dtype=int)
    pos[order] = np.arange(5)
    m = nearest_mahalanobis(d, z, replace=True)
    (c,) = m.match_matrix[0]
    assert c in (1, 3)

    # walk step: a positions to the left = 2a - 1, b to the right = 2b
    def step(j):
        off = pos[j] - pos[2]
        return -2 * off - 1 if off < 0 else 2 * off

    assert step(c) == max(step(1), step(3))


EXACT_ROWS = ("age", "raceblack", "racehispan", "racewhite", "married", "educ")


def test_exact_matching():
    d = lalonde.treat()
    df = lalonde.frame()
    race = pd.factorize(df["race"])[0]
    sub = exact_match(d, np.column_stack([df["age"], race, df["married"], df["educ"]]))
    w = subclass_weights(d, sub)
    x = lalonde.columns(EXACT_ROWS)
    n, _ = _compare(
        "exact",
        "Summary of Balance for Matched Data",
        EXACT_ROWS,
        x,
        d,
        w,
        pairs={"subclass": sub},
    )
    assert n == 6 * 7
    _sizes("exact", d, w)


def test_coarsened_exact_matching():
    """cutpoints = list(educ = 5) (5 bins), Sturges elsewhere, race grouped in 2."""
    d = lalonde.treat()
    df = lalonde.frame()
    black = (df["race"] == "black").to_numpy(dtype=float)
    sub, w = cem_match(
        d,
        np.column_stack([df["age"], black, df["married"], df["educ"]]),
        cutpoints=[None, None, None, 5],
        categorical=[False, True, False, False],
    )
    x = lalonde.columns(EXACT_ROWS)
    n, _ = _compare(
        "cem",
        "Summary of Balance for Matched Data",
        EXACT_ROWS,
        x,
        d,
        w,
        pairs={"subclass": sub},
    )
    assert n == 6 * 7
    _sizes("cem", d, w)


def test_optimal_pair_matching_exact_race(ps_logit):
    """Sizes and the distance's means agree; which treated units are kept does not.

    With 156 treated and 87 controls among Black participants, many selections
    are (nearly) equally cheap; optmatch solves a version with distances
    rounded to its tolerance, ``linear_sum_assignment`` the exact one, so the
    covariate means of the matched sample differ (recorded in PROVENANCE.json).
    """
    d = lalonde.treat()
    race = pd.factorize(lalonde.frame()["race"])[0]
    m = optimal_pair_match(d, ps_logit, exact=race)
    w, _ = matching_weights(d, m)
    _sizes("optimal_exact_race", d, w)
    ref = lalonde.printed_table(
        "optimal_exact_race", "Summary of Balance for Matched Data"
    )
    bt = balance_table(ps_logit[:, None], d, w)
    tol = lalonde.print_tolerance("optimal_exact_race")
    assert abs(bt.mean_treated[0] - ref["distance"][0]) <= tol
    assert abs(bt.mean_control[0] - ref["distance"][1]) <= tol
    # exact on race: race proportions identical in both groups, as printed
    xr = lalonde.columns(("raceblack", "racehispan", "racewhite"))
    br = balance_table(xr, d, w)
    np.testing.assert_allclose(br.mean_treated, br.mean_control, atol=1e-12)
    np.testing.assert_allclose(
        br.mean_treated,
        [ref[r][0] for r in ("raceblack", "racehispan", "racewhite")],
        atol=tol,
    )


def test_nearest_mahalanobis_with_replacement_exact_strata():
    d = lalonde.treat()
    df = lalonde.frame()
    rows = (
        "age",
        "educ",
        "raceblack",
        "racehispan",
        "racewhite",
        "nodegree",
        "married",
        "re74",
        "re75",
    )
    x = lalonde.columns(rows)
    z = mahalanobis_transform(x, d)
    exact = np.column_stack([df["married"], pd.factorize(df["race"])[0]])
    m = _tie_resolutions(
        lambda zz: nearest_mahalanobis(d, zz, replace=True, exact=exact), z, x, d
    )[MATCHIT_TIE_CHOICE["nn_mahalanobis_replace_exact"]]
    w, _ = matching_weights(d, m)
    n, _ = _compare(
        "nn_mahalanobis_replace_exact",
        "Summary of Balance for Matched Data",
        rows,
        x,
        d,
        w,
        pairs={"match_matrix": m.match_matrix, "treated_rows": m.treated},
    )
    assert n == 63
    assert m.n_unmatched_treated == 0
    _sizes("nn_mahalanobis_replace_exact", d, w)


def test_cobalt_bal_tab_binary_raw_after_nn_with_replacement(ps_logit):
    """cobalt's bal.tab(m.out, un = TRUE, stats = c("m", "v", "ks")) in MatchIt's
    assessing-balance vignette: binary rows are raw differences in proportions."""
    d = lalonde.treat()
    m = nearest_scalar(d, ps_logit, replace=True)
    w, _ = matching_weights(d, m)
    x = np.column_stack([ps_logit, lalonde.columns()])
    ref = lalonde.printed()["cobalt_bal_tab_nn_ps_replace"]
    for col, (un, adj) in (("Diff", (None, w)), ("KS", (None, w))):
        for weights, key in ((un, "Un"), (adj, "Adj")):
            bt = balance_table(x, d, weights, binary="raw")
            stat = bt.smd if col == "Diff" else bt.ecdf_max
            np.testing.assert_allclose(stat, ref[f"{col}.{key}"], atol=0.5e-3 + 1e-9)


def test_standardised_caliper_is_the_sd_over_all_units(ps_logit):
    """MatchIt prints the calipers in raw units: '<distance> (0.029)' for caliper
    = .1 (reference/matchit.md, m.out3 probit and m.out4 logit) and 're74
    (1295.593), re75 (494.352)' for caliper = c(re74 = .2, re75 = .15)
    (reference/method_nearest.md, m.out3): the n - 1 SD over treated and
    controls together."""
    d = lalonde.treat()
    probit = fit_propensity(d, lalonde.ps_design(), link="probit").score
    assert round(caliper_width(probit, 0.1), 3) == 0.029
    assert round(caliper_width(ps_logit, 0.1), 3) == 0.029
    re = lalonde.columns(("re74", "re75"))
    assert round(caliper_width(re[:, 0], 0.2), 3) == 1295.593
    assert round(caliper_width(re[:, 1], 0.15), 3) == 494.352


MAHVARS = ("age", "educ", "re74", "re75")
NEAREST_ROWS = (
    "age",
    "educ",
    "raceblack",
    "racehispan",
    "racewhite",
    "nodegree",
    "married",
    "re74",
    "re75",
)


def test_mahalanobis_within_probit_caliper_ratio_2():
    """reference/matchit.md m.out3: 2:1 Mahalanobis on mahvars within a 0.1 SD
    caliper on a probit score, without replacement."""
    d = lalonde.treat()
    ps = fit_propensity(d, lalonde.ps_design(), link="probit").score
    xm = lalonde.columns(MAHVARS)
    z = mahalanobis_transform(xm, d)
    cal = caliper_width(ps, 0.1)
    m = _tie_resolutions(
        lambda zz: nearest_mahalanobis_caliper(d, zz, ps, cal, ratio=2), z, xm, d
    )[MATCHIT_TIE_CHOICE["mahvars_caliper_probit_ratio2"]]
    w, sub = matching_weights(d, m)
    x = np.column_stack([ps, lalonde.columns(NEAREST_ROWS)])
    key = "mahvars_caliper_probit_ratio2"
    # all 70, the score's pair distance (0.0860) included: it depends on which
    # of two controls with equal mahvars (and different scores) the walk keeps
    n, _ = _compare(
        key,
        "Summary of Balance for Matched Data",
        ("distance", *NEAREST_ROWS),
        x,
        d,
        w,
        pairs={"subclass": sub},
    )
    assert n == 70
    _sizes(key, d, w)


def test_mahalanobis_within_caliper_with_replacement_ratio_3(ps_logit):
    """reference/method_nearest.md m.out2: 3:1 with replacement, caliper .02."""
    d = lalonde.treat()
    xm = lalonde.columns(MAHVARS)
    z = mahalanobis_transform(xm, d)
    cal = caliper_width(ps_logit, 0.02)
    key = "mahvars_caliper_replace_ratio3"
    resolutions = _tie_resolutions(
        lambda zz: nearest_mahalanobis_caliper(
            d, zz, ps_logit, cal, ratio=3, replace=True
        ),
        z,
        xm,
        d,
    )
    assert MATCHIT_TIE_CHOICE[key] is None
    x = np.column_stack([ps_logit, lalonde.columns(NEAREST_ROWS)])
    for m in resolutions.values():
        w, _ = matching_weights(d, m)
        n, _ = _compare(
            key,
            "Summary of Balance for Matched Data",
            ("distance", *NEAREST_ROWS),
            x,
            d,
            w,
            pairs={"match_matrix": m.match_matrix, "treated_rows": m.treated},
        )
        assert n == 70
        _sizes(key, d, w)  # 162 treated, 138 controls
