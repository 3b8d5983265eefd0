"""Full matching, subclassification and covariate calipers.

References:

* brute force: every partition of a small sample into matched sets (one treated
  unit and several controls, or one control and several treated units, within
  the ``min_controls``/``max_controls`` ratios), its cost the sum of the
  treated-control distances inside the sets; the optimum must equal
  :func:`full_match`'s objective (an independent enumeration, not the edge-cover
  argument the solver rests on);
* MatchIt 4.7.2's printed LaLonde outputs (rendered gh-pages at 58903bcd, pages
  and calls in ``tests/reference/matchit/PROVENANCE.json`` keys ``full_*`` and
  ``subclass_*``).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import tne_eval as tne
from tests.matching import lalonde as L
from tne_eval.errors import DataError, IdentificationError, SpecError
from tne_eval.matching._exact import subclass_weights
from tne_eval.matching._full import degree_bounds, full_match
from tne_eval.matching._subclass import subclassify

#: The LP optimum and the enumeration agree up to floating-point summation.
OBJ_TOL = 1e-9
#: MatchIt prints 2 decimals for ESS, 4 for balance statistics.
ESS_TOL = 0.005
#: optmatch solves a rounded problem (``tol = 0.001`` per control, i.e. up to
#: 0.43 on LaLonde's total distance of 2.14), so its full matching is not the
#: exact optimum: balance statistics agree within this many SDs, ESS within 2%.
FULL_SMD_TOL = 0.05
FULL_ESS_RTOL = 0.02

COVS = ("age", "educ", "race", "married", "nodegree", "re74", "re75")
SPEC = tne.CrossSectionSpec(outcome="re78", treatment="treat", covariates=COVS)


def _partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _partitions(rest):
        for i in range(len(part)):
            yield [*part[:i], [first, *part[i]], *part[i + 1 :]]
        yield [[first], *part]


def _brute_force(d, s, min_controls, max_controls):
    best = math.inf
    units = list(range(len(d)))
    for part in _partitions(units):
        cost = 0.0
        ok = True
        for block in part:
            t = [i for i in block if d[i]]
            c = [i for i in block if not d[i]]
            if not t or not c or (len(t) > 1 and len(c) > 1):
                ok = False
                break
            ratio = len(c) / len(t)
            if ratio < min_controls - 1e-12 or ratio > max_controls + 1e-12:
                ok = False
                break
            cost += sum(abs(s[i] - s[j]) for i in t for j in c)
        if ok:
            best = min(best, cost)
    return best


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    ("min_controls", "max_controls"), [(0.0, math.inf), (0.5, 2.0), (1.0, 3.0)]
)
def test_full_matching_objective_equals_brute_force(seed, min_controls, max_controls):
    rng = np.random.default_rng(seed)
    n = 8
    d = np.zeros(n, dtype=bool)
    d[rng.choice(n, size=3, replace=False)] = True
    s = rng.random(n).round(2)  # ties included
    best = _brute_force(d, s, min_controls, max_controls)
    if not math.isfinite(best):
        with pytest.raises(IdentificationError, match="infeasible"):
            full_match(d, s, min_controls=min_controls, max_controls=max_controls)
        return
    fm = full_match(d, s, min_controls=min_controls, max_controls=max_controls)
    assert fm.cost == pytest.approx(best, abs=OBJ_TOL)
    # every unit matched, sets are stars within the ratio bounds
    assert (fm.subclass >= 0).all()
    for sid in np.unique(fm.subclass):
        nt = int((d & (fm.subclass == sid)).sum())
        nc = int((~d & (fm.subclass == sid)).sum())
        assert nt >= 1 and nc >= 1 and min(nt, nc) == 1
        assert min_controls - 1e-12 <= nc / nt <= max_controls + 1e-12
    # the edges are exactly the within-set pairs and their lengths sum to the cost
    cost = sum(abs(s[t] - s[c]) for t, c in fm.edges)
    assert cost == pytest.approx(fm.cost, abs=OBJ_TOL)


def test_degree_bounds():
    assert degree_bounds(0, math.inf) == (1, math.inf, 1, math.inf)
    assert degree_bounds(0.5, 2) == (1, 2.0, 1, 2.0)
    assert degree_bounds(2, 3) == (2, 3.0, 1, 1.0)
    assert degree_bounds(0.2, 0.5) == (1, 1.0, 2, 5.0)
    with pytest.raises(SpecError, match="0 <= min_controls <= max_controls"):
        degree_bounds(3, 2)


def test_full_matching_with_a_caliper_leaves_units_out():
    d = np.array([1, 1, 0, 0, 0], dtype=bool)
    s = np.array([0.1, 0.9, 0.12, 0.15, 0.5])

    def allowed(t, c):
        return np.abs(s[t][:, None] - s[c][None, :]) <= 0.1

    fm = full_match(d, s, allowed=allowed)
    np.testing.assert_array_equal(fm.subclass >= 0, [True, False, True, True, False])
    assert fm.cost == pytest.approx(0.02 + 0.05, abs=OBJ_TOL)


@pytest.fixture(scope="module")
def lalonde():
    return L.frame()


def test_full_matching_lalonde_against_matchit(lalonde):
    """``matchit(treat ~ ..., data = lalonde, method = "full")`` (method_full.md)."""
    m = tne.match(lalonde, SPEC, method="full")
    sizes = m.sample_sizes()
    assert sizes.loc["Matched", "control"] == 429
    assert sizes.loc["Matched", "treated"] == 185
    assert sizes.loc["Unmatched"].sum() == 0
    assert sizes.loc["Matched (ESS)", "control"] == pytest.approx(
        52.11, rel=FULL_ESS_RTOL
    )
    bal = tne.balance(lalonde, SPEC, weights=m).adjusted
    printed_smd = {
        "distance": 0.0054,
        "age": 0.1407,
        "educ": 0.0004,
        "raceblack": 0.0236,
        "racehispan": -0.0266,
        "racewhite": -0.0078,
        "nodegree": 0.0056,
        "married": 0.1338,
        "re74": -0.0548,
        "re75": -0.0312,
    }
    for row, value in printed_smd.items():
        assert bal.loc[row, "smd"] == pytest.approx(value, abs=FULL_SMD_TOL), row
    # the distance means are matched to the printed precision
    assert bal.loc["distance", "mean_control"] == pytest.approx(0.5762, abs=5e-5)
    # MatchIt's Std. Pair Dist. (within-set pairs), printed 0.0192 for the score
    assert bal.loc["distance", "pair_dist"] == pytest.approx(0.0192, abs=1e-3)
    printed_pair = {"age": 1.3111, "educ": 1.2390, "re74": 0.8654, "re75": 0.8099}
    for row, value in printed_pair.items():
        assert bal.loc[row, "pair_dist"] == pytest.approx(value, abs=FULL_SMD_TOL), row


def test_full_matching_ate_with_covariate_calipers(lalonde):
    """matchit.md m.out4: full, ATE, ``caliper = c(.1, age = 2, educ = 1)``."""
    spec = tne.CrossSectionSpec(
        outcome="re78",
        treatment="treat",
        covariates=("age", "educ", "race", "nodegree", "married", "re74", "re75"),
    )
    with pytest.warns(tne.errors.DroppedObservationsWarning, match="74 of 185"):
        m = tne.match(
            lalonde,
            spec,
            method="full",
            estimand="ATE",
            caliper={"distance": 0.1, "age": 2, "educ": 1},
            std_caliper={"distance": True, "age": False, "educ": False},
        )
    assert any("226 of 429 control units were left unmatched" in n for n in m.notes)
    sizes = m.sample_sizes()
    # sample sizes are those printed exactly (who is matched does not depend on
    # optmatch's rounding); ESS within optmatch's tolerance
    assert sizes.loc["Matched", "control"] == 203
    assert sizes.loc["Matched", "treated"] == 111
    assert sizes.loc["Unmatched", "control"] == 226
    assert sizes.loc["Matched (ESS)", "control"] == pytest.approx(
        133.1, rel=FULL_ESS_RTOL
    )
    assert sizes.loc["Matched (ESS)", "treated"] == pytest.approx(
        39.37, rel=FULL_ESS_RTOL
    )
    assert m.estimand == "ATE"
    pairs = m.matched
    age = lalonde["age"]
    assert (
        np.abs(
            age.loc[pairs["treated_id"]].to_numpy()
            - age.loc[pairs["control_id"]].to_numpy()
        )
        <= 2
    ).all()


def test_subclassification_lalonde_against_matchit(lalonde):
    """method_subclass.md s.out1 (7 subclasses, ATT) and s.out2 (10, ATE, min.n = 2)."""
    m = tne.match(lalonde, SPEC, method="subclass", subclass=7)
    sub = m.subclass.to_numpy(dtype=float)
    t = m.treated.to_numpy()
    np.testing.assert_array_equal(
        np.bincount(sub[~t].astype(int)), [332, 37, 10, 17, 17, 13, 3]
    )
    np.testing.assert_array_equal(
        np.bincount(sub[t].astype(int)), [27, 26, 26, 27, 26, 26, 27]
    )
    m2 = tne.match(
        lalonde, SPEC, method="subclass", subclass=10, estimand="ATE", min_n=2
    )
    sizes = m2.sample_sizes()
    assert sizes.loc["Matched (ESS)", "control"] == pytest.approx(332.11, abs=ESS_TOL)
    assert sizes.loc["Matched (ESS)", "treated"] == pytest.approx(42.66, abs=ESS_TOL)
    # matchit.md s.out1: 10 subclasses after discarding controls off support
    with pytest.warns(tne.errors.OverlapWarning, match="57 control units"):
        m3 = tne.match(lalonde, SPEC, method="subclass", subclass=10, discard="control")
    sizes = m3.sample_sizes()
    assert sizes.loc["Discarded", "control"] == 57
    assert sizes.loc["Matched", "control"] == 372
    assert sizes.loc["Matched (ESS)", "control"] == pytest.approx(72.59, abs=ESS_TOL)


def test_subclass_weights_and_scooting_by_hand():
    d = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
    x = np.array([0.9, 0.8, 0.7, 0.2, 0.1, 0.15, 0.3, 0.35, 0.4, 0.05])
    sub, cuts = subclassify(d, x, subclass=2)
    # treated quantiles: [0.2, 0.75, 0.9]; the upper subclass holds no control,
    # so the control closest to it (0.4) is moved in
    np.testing.assert_allclose(cuts, [0.2, 0.75, 0.9])
    np.testing.assert_array_equal(sub, [1, 1, 0, 0, 0, 0, 0, 0, 1, 0])
    w = subclass_weights(d, sub, "ATT")
    # subclass 0: 2 treated, 5 controls -> 2/5 each; subclass 1: 2 treated, 1 control
    raw = np.array([1, 1, 1, 1, 0.4, 0.4, 0.4, 0.4, 2.0, 0.4])
    raw[~d] *= 6 / raw[~d].sum()
    np.testing.assert_allclose(w, raw, rtol=1e-12)
    with pytest.raises(IdentificationError, match="Not enough units"):
        subclassify(d, x, subclass=3, min_n=2)
    sub0, _ = subclassify(d, x, subclass=2, min_n=0)
    assert (sub0[:2] == -1).all()  # the subclass without controls is dropped


def test_covariate_caliper_nearest(lalonde):
    with pytest.warns(tne.errors.DroppedObservationsWarning):
        m = tne.match(
            lalonde,
            SPEC,
            caliper={"distance": 0.2, "age": 5, "re74": 1000},
            std_caliper={"age": False, "re74": False},
        )
    pairs = m.matched
    for col, width in (("age", 5), ("re74", 1000)):
        gap = np.abs(
            lalonde[col].loc[pairs["treated_id"]].to_numpy()
            - lalonde[col].loc[pairs["control_id"]].to_numpy()
        )
        assert (gap <= width).all()
    cal = m.options["caliper_width"]
    assert (pairs["distance"] <= cal).all()
    # brute force of the greedy rule: each treated unit, in decreasing score,
    # takes the closest eligible available control (equal gaps: the closer in
    # sorted position, then the lower position, as documented)
    score = m.distance.to_numpy()
    pos = np.empty(len(score), dtype=int)
    pos[np.argsort(score, kind="stable")] = np.arange(len(score))
    t_rows = np.flatnonzero(lalonde["treat"].to_numpy() == 1)
    c_rows = np.flatnonzero(lalonde["treat"].to_numpy() == 0)
    avail = np.ones(len(lalonde), dtype=bool)
    expect = {}
    age, re74 = lalonde["age"].to_numpy(), lalonde["re74"].to_numpy()
    for t in t_rows[np.argsort(-score[t_rows], kind="stable")]:
        c = c_rows[avail[c_rows]]
        ok = (
            (np.abs(score[c] - score[t]) <= cal)
            & (np.abs(age[c] - age[t]) <= 5)
            & (np.abs(re74[c] - re74[t]) <= 1000)
        )
        if ok.any():
            c = c[ok]
            gap = np.abs(score[c] - score[t])
            best = c[np.lexsort((pos[c], np.abs(pos[c] - pos[t]), gap))[0]]
            expect[t] = best
            avail[best] = False
    got = dict(
        zip(
            lalonde.index.get_indexer(pairs["treated_id"]),
            lalonde.index.get_indexer(pairs["control_id"]),
        )
    )
    assert got == expect


def test_covariate_caliper_with_replacement_and_mahvars(lalonde):
    m = tne.match(
        lalonde,
        SPEC,
        replace=True,
        ratio=2,
        caliper={"distance": 0.5, "educ": 1},
        std_caliper={"educ": False},
    )
    pairs = m.matched
    educ = lalonde["educ"]
    assert (
        np.abs(
            educ.loc[pairs["treated_id"]].to_numpy()
            - educ.loc[pairs["control_id"]].to_numpy()
        )
        <= 1
    ).all()
    with pytest.warns(tne.errors.DroppedObservationsWarning):
        m2 = tne.match(
            lalonde,
            SPEC,
            mahvars=("age", "educ"),
            caliper={"distance": 0.5, "re75": 2000},
            std_caliper={"re75": False},
        )
    p2 = m2.matched
    re75 = lalonde["re75"]
    assert (
        np.abs(
            re75.loc[p2["treated_id"]].to_numpy()
            - re75.loc[p2["control_id"]].to_numpy()
        )
        <= 2000
    ).all()


def test_caliper_bad_input(lalonde):
    with pytest.raises(SpecError, match=r"caliper\['age'\]=-1 must be a positive"):
        tne.match(lalonde, SPEC, caliper={"age": -1})
    with pytest.raises(SpecError, match=r"caliper names \['iq'\], which are not"):
        tne.match(lalonde, SPEC, caliper={"iq": 1})
    with pytest.raises(SpecError, match=r"quantile probabilities must lie in"):
        tne.match(lalonde, SPEC, method="subclass", subclass=[0.2, 1.5])
    with pytest.raises(SpecError, match=r"min_n=-1 must be a non-negative"):
        tne.match(lalonde, SPEC, method="subclass", min_n=-1)
    with pytest.raises(tne.errors.TneEvalTypeError, match="std_caliper must be"):
        tne.match(lalonde, SPEC, caliper=0.2, std_caliper="yes")
    with pytest.raises(SpecError, match=r"calipers need numeric columns"):
        tne.match(lalonde, SPEC, caliper={"race": 1})
    with pytest.raises(SpecError, match=r"std_caliper names \['educ'\]"):
        tne.match(lalonde, SPEC, caliper={"age": 1}, std_caliper={"educ": False})
    with pytest.raises(SpecError, match="caliper is only implemented"):
        tne.match(lalonde, SPEC, method="subclass", caliper={"age": 1})
    bad = lalonde.assign(iq=np.where(lalonde.index % 7 == 0, np.nan, 1.0))
    with pytest.raises(DataError, match=r"caliper column 'iq' has \d+ missing"):
        tne.match(bad, SPEC, caliper={"iq": 1})
    with pytest.raises(SpecError, match="not implemented: use distance='glm'"):
        tne.match(lalonde, SPEC, distance="mahalanobis", caliper={"age": 2})
    with pytest.raises(IdentificationError, match=r"leaves no treated unit"):
        tne.match(
            lalonde.assign(uid=np.arange(len(lalonde), dtype=float)),
            SPEC,
            caliper={"uid": 0.5},
            std_caliper=False,
        )


def test_full_and_subclass_bad_input(lalonde):
    with pytest.raises(IdentificationError, match="infeasible"):
        tne.match(lalonde, SPEC, method="full", min_controls=1, max_controls=1)
    with pytest.raises(SpecError, match="0 <= min_controls <= max_controls"):
        tne.match(lalonde, SPEC, method="full", min_controls=2, max_controls=1)
    with pytest.raises(SpecError, match="does not take exact strata"):
        tne.match(lalonde, SPEC, method="subclass", exact=("race",))
    with pytest.raises(SpecError, match="subclassifies on a propensity score"):
        tne.match(lalonde, SPEC, method="subclass", distance="mahalanobis")
    with pytest.raises(SpecError, match="must be an integer >= 2"):
        tne.match(lalonde, SPEC, method="subclass", subclass=1)
    with pytest.raises(IdentificationError, match="Not enough units"):
        tne.match(lalonde, SPEC, method="subclass", subclass=100, min_n=3)


def test_full_matching_exact_strata_and_effect(lalonde):
    m = tne.match(lalonde, SPEC, method="full", exact=("race",))
    sub = m.subclass.to_numpy(dtype=float)
    race = lalonde["race"].to_numpy()
    for s in np.unique(sub[np.isfinite(sub)]):
        assert np.unique(race[sub == s]).size == 1
    res = tne_eval_att(lalonde, m)
    # cluster-robust by matched set after full matching (MatchIt's advice)
    assert "subclass" in res.inferred.clusters
    assert np.isfinite(res.std_errors["ATT"])


def tne_eval_att(data, m):
    from tne_eval.matching import att

    return att(data, SPEC, m)


def test_full_matching_weights_are_matchit_subclass_weights(lalonde):
    m = tne.match(lalonde, SPEC, method="full")
    t = m.treated.to_numpy()
    sub = m.subclass.to_numpy(dtype=float).astype(int)
    w = m.weights.to_numpy()
    nt = np.bincount(sub[t])
    nc = np.bincount(sub[~t])
    raw = np.where(t, 1.0, (nt / nc)[sub])
    raw[~t] *= (~t).sum() / raw[~t].sum()
    np.testing.assert_allclose(w, raw, rtol=1e-12)


def test_full_matching_matches_all_pairs_counted():
    # every star is a treated unit with its controls or a control with its treated
    rng = np.random.default_rng(3)
    d = rng.random(60) < 0.3
    s = rng.random(60)
    fm = full_match(d, s)
    assert fm.edges.shape[0] == (d.sum() + (~d).sum()) - (fm.subclass.max() + 1)
    for k in itertools.islice(range(fm.subclass.max() + 1), 5):
        members = np.flatnonzero(fm.subclass == k)
        assert min(d[members].sum(), (~d[members]).sum()) == 1


def test_full_mahvars_and_mahalanobis_calipers_against_matchit(lalonde):
    """method_full.md m.out2 (mahvars in a 0.01-SD score caliper) and m.out3."""
    spec = tne.CrossSectionSpec(
        outcome="re78",
        treatment="treat",
        covariates=("age", "educ", "race", "nodegree", "married", "re74", "re75"),
    )
    with pytest.warns(tne.errors.DroppedObservationsWarning, match="51 of 185"):
        m2 = tne.match(
            lalonde,
            spec,
            method="full",
            caliper=0.01,
            mahvars=("age", "educ", "re74", "re75"),
        )
    sizes = m2.sample_sizes()
    assert (sizes.loc["Matched", "control"], sizes.loc["Matched", "treated"]) == (
        215,
        134,
    )
    assert sizes.loc["Matched (ESS)", "control"] == pytest.approx(
        61.97, rel=FULL_ESS_RTOL
    )
    assert m2.options["caliper_width"] == pytest.approx(0.003, abs=5e-4)  # printed
    bal = tne.balance(lalonde, spec, weights=m2).adjusted
    for row, value in {
        "age": 0.1020,
        "educ": -0.1228,
        "re74": -0.2383,
        "married": 0.1157,
    }.items():
        assert bal.loc[row, "smd"] == pytest.approx(value, abs=FULL_SMD_TOL), row
    spec3 = tne.CrossSectionSpec(
        outcome="re78", treatment="treat", covariates=("age", "educ", "re74", "re75")
    )
    with pytest.warns(tne.errors.DroppedObservationsWarning, match="25 of 185"):
        m3 = tne.match(
            lalonde,
            spec3,
            method="full",
            distance="mahalanobis",
            caliper={"re74": 500, "re75": 500},
            std_caliper=False,
        )
    sizes = m3.sample_sizes()
    assert (sizes.loc["Matched", "control"], sizes.loc["Matched", "treated"]) == (
        231,
        160,
    )
    assert sizes.loc["Matched (ESS)", "control"] == pytest.approx(
        54.18, rel=FULL_ESS_RTOL
    )
    bal = tne.balance(lalonde, spec3, weights=m3).adjusted
    for row, value in {"age": -0.1150, "educ": -0.0217, "re74": -0.0052}.items():
        assert bal.loc[row, "smd"] == pytest.approx(value, abs=FULL_SMD_TOL), row


@pytest.mark.parametrize("seed", range(3))
def test_column_generation_equals_dense_optimum(seed):
    rng = np.random.default_rng(seed)
    n = 300
    d = rng.random(n) < 0.3
    s = np.where(d, rng.beta(3, 2, n), rng.beta(2, 3, n)).round(3)  # ties
    z = np.column_stack([s, rng.normal(size=n)])

    def allowed(t, c):
        return np.abs(z[t, 0][:, None] - z[c, 0][None, :]) <= 0.3

    for coords, allow in ((s, None), (z, allowed)):
        for bounds in ((0.0, math.inf), (0.5, 3.0)):
            dense = full_match(
                d, coords, min_controls=bounds[0], max_controls=bounds[1], allowed=allow
            )
            sparse = full_match(
                d,
                coords,
                min_controls=bounds[0],
                max_controls=bounds[1],
                allowed=allow,
                candidates=2,
            )
            assert sparse.cost == pytest.approx(dense.cost, rel=1e-9, abs=OBJ_TOL)
            np.testing.assert_array_equal(sparse.subclass >= 0, dense.subclass >= 0)
