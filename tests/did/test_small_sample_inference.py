"""CR2, CR3, score wild bootstrap, Conley-Taber and Ferman-Pinto for att_gt/aggregate.

References: a brute-force leave-one-department-out refit (CR3), the regression
CR2 and Imbens-Kolesár df of the equivalent 2x2 regression (``cr2_vcov``,
``imbens_kolesar_df``), the explicit stacked-design computation of the
Imbens-Kolesár df of aggregates, a brute-force enumeration
of every wild-bootstrap sign pattern by refits, and direct calls of
``conley_taber`` / ``ferman_pinto`` on department means built by hand.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import tne_eval as tne
from tests.inference.stacked_ik import stacked_design, stacked_ik_df, stacked_regression
from tne_eval.errors import InferenceError
from tne_eval.inference import few_treated, small_sample
from tne_eval.inference.group_means import cluster_contributions, wild_test
from tne_eval.inference.registry import infer

KINDS = ("simple", "dynamic", "group", "calendar")


def _departments_panel(seed: int, weighted: bool = False) -> pd.DataFrame:
    """14 departments (2 + 3 treated), 2 to 6 schools each, 5 years, balanced."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 7, size=14)
    dept_cohort = np.array([2018] * 2 + [2019] * 3 + [0] * 9)
    dept = np.repeat(np.arange(14), sizes)
    n = dept.size
    years = np.arange(2015, 2020)
    dept_shock = rng.normal(size=(14, years.size))
    y = (
        rng.normal(size=n)[:, None]
        + 0.3 * np.arange(years.size)[None, :]
        + dept_shock[dept]
        + rng.normal(size=(n, years.size))
    )
    g = dept_cohort[dept]
    y += 1.5 * ((g[:, None] > 0) & (years[None, :] >= g[:, None]))
    df = pd.DataFrame(
        {
            "school": np.repeat(np.arange(n), years.size),
            "year": np.tile(years, n),
            "y": y.ravel(),
            "g": np.repeat(g, years.size),
            "dept": np.repeat(dept, years.size),
        }
    )
    if weighted:
        df["w"] = np.repeat(rng.uniform(0.5, 2.0, n), years.size)
    return df


def _spec(weighted: bool = False) -> tne.PanelSpec:
    return tne.PanelSpec(
        unit="school",
        time="year",
        outcome="y",
        cohort="g",
        cluster="dept",
        weights="w" if weighted else None,
    )


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tne.TneEvalWarning)
        return fn(*args, **kwargs)


def _fit_all(df: pd.DataFrame, spec: tne.PanelSpec, **kwargs):
    gt = _quiet(tne.att_gt, df, spec, method="reg", **kwargs)
    return [gt] + [_quiet(tne.aggregate, gt, k) for k in KINDS]


@pytest.mark.parametrize("weighted", [False, True])
def test_cr3_equals_leave_one_department_out_refits(weighted):
    df = _departments_panel(1, weighted)
    spec = _spec(weighted)
    fits = _fit_all(df, spec)
    assert all(f.scores.decomposition.exact for f in fits)
    jack = [np.zeros((len(f.table), len(f.table))) for f in fits]
    for d in np.unique(df["dept"]):
        refits = _fit_all(df[df["dept"] != d], spec)
        for j, (full, sub) in enumerate(zip(fits, refits)):
            assert list(sub.table.index) == list(full.table.index)
            diff = (sub.estimates - full.estimates).to_numpy()
            jack[j] += np.outer(diff, diff)
    for full, brute in zip(fits, jack):
        cr3 = full.with_inference(tne.CR3())
        np.testing.assert_allclose(
            cr3.vcov.to_numpy(), brute, rtol=1e-8, atol=1e-12 * np.abs(brute).max()
        )
        assert cr3.dof == 13
        assert "exact leave-one-cluster-out jackknife" in str(cr3.notes)


def test_cr3_at_fit_time_and_shortcut():
    df = _departments_panel(2)
    gt = _quiet(tne.att_gt, df, _spec(), method="reg", inference=tne.CR3())
    again = _quiet(tne.att_gt, df, _spec(), method="reg").with_inference("cr3")
    np.testing.assert_allclose(gt.std_errors, again.std_errors, rtol=1e-12)
    agg = _quiet(tne.aggregate, gt, "dynamic")
    assert isinstance(agg.inference, tne.CR3)
    assert agg.dof == 13


def _two_by_two(seed: int):
    """One 2x2 cell: 12 departments, 3 treated, two years."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 9, size=12)
    dept = np.repeat(np.arange(12), sizes)
    n = dept.size
    treated = dept < 3
    y0 = rng.normal(size=n) + rng.normal(size=12)[dept]
    y1 = y0 + 0.4 + 1.0 * treated + rng.normal(size=12)[dept] + rng.normal(size=n)
    df = pd.DataFrame(
        {
            "school": np.repeat(np.arange(n), 2),
            "year": np.tile([2019, 2020], n),
            "y": np.column_stack([y0, y1]).ravel(),
            "g": np.repeat(np.where(treated, 2020, 0), 2),
            "dept": np.repeat(dept, 2),
        }
    )
    return df, dept, treated, y1 - y0


def test_cr2_of_a_cell_equals_the_regression_cr2():
    df, dept, treated, dy = _two_by_two(3)
    res = _quiet(tne.did_2x2, df, _spec(), method="reg")
    cr2 = res.with_inference(tne.CR2())
    x = np.column_stack([np.ones(dy.size), treated.astype(float)])
    beta = np.linalg.lstsq(x, dy, rcond=None)[0]
    resid = dy - x @ beta
    v = small_sample.cr2_vcov(x, resid, cluster=dept)
    df_ref = small_sample.satterthwaite_df(x, resid, cluster=dept, contrast=[0, 1])
    assert float(res.estimates.iloc[0]) == pytest.approx(beta[1], abs=1e-12)
    np.testing.assert_allclose(cr2.std_errors.iloc[0] ** 2, v[1, 1], rtol=1e-10)
    np.testing.assert_allclose(cr2.dof, df_ref, rtol=1e-10)
    # the t test with those degrees of freedom
    crit = cr2.critical_values(0.05).iloc[0]
    from scipy import stats

    assert crit == pytest.approx(stats.t.ppf(0.975, df_ref[0]), rel=1e-10)
    ci = cr2.to_frame()
    half = crit * np.sqrt(v[1, 1])
    assert ci["conf_low"].iloc[0] == pytest.approx(beta[1] - half, rel=1e-10)


@pytest.mark.parametrize("cluster", ["dept", "pair"])
def test_imbens_kolesar_df_of_a_cell_equals_the_regression(cluster):
    # the cell is the regression of the outcome change on [1, D]; with clusters of
    # two departments, pair 1 holds treated and comparison schools: the random
    # effect of the working model then ties the two group means
    df, dept, treated, dy = _two_by_two(4)
    df["pair"] = df["dept"] // 2
    code = dept if cluster == "dept" else dept // 2
    res = _quiet(tne.did_2x2, df, _spec().update(cluster=cluster), method="reg")
    ik = _quiet(res.with_inference, tne.CR2(df="imbens_kolesar"))
    x = np.column_stack([np.ones(dy.size), treated.astype(float)])
    resid = dy - x @ np.linalg.lstsq(x, dy, rcond=None)[0]
    ref = small_sample.imbens_kolesar_df(x, resid, cluster=code, contrast=[0, 1])
    np.testing.assert_allclose(ik.dof, ref, rtol=1e-10)
    v = small_sample.cr2_vcov(x, resid, cluster=code)
    np.testing.assert_allclose(ik.std_errors.iloc[0] ** 2, v[1, 1], rtol=1e-10)
    from scipy import stats

    crit = ik.critical_values(0.05).iloc[0]
    assert crit == pytest.approx(stats.t.ppf(0.975, ref[0]), rel=1e-10)
    assert "Imbens-Kolesar degrees of freedom" in str(ik.notes)
    assert "Imbens-Kolesar df" in ik.inferred.description
    # a different working model from Satterthwaite's, so a different number
    sat = small_sample.satterthwaite_df(x, resid, cluster=code, contrast=[0, 1])
    assert abs(ref[0] - sat[0]) > 1e-3


def _rcs_cell(seed: int):
    """Repeated cross-sections: 12 departments (3 treated), new pupils each year."""
    rng = np.random.default_rng(seed)
    parts = []
    for d in range(12):
        effect = rng.normal()
        for year in (2019, 2020):
            k = int(rng.integers(3, 9))
            y = (
                rng.normal(size=k)
                + effect
                + 0.3 * rng.normal()
                + 0.5 * (year == 2020)
                + 1.0 * (d < 3) * (year == 2020)
            )
            parts.append(
                pd.DataFrame(
                    {"dept": d, "year": year, "y": y, "g": 2020 if d < 3 else 0}
                )
            )
    df = pd.concat(parts, ignore_index=True)
    df["school"] = df["dept"]
    df["pupil"] = np.arange(len(df))
    return df


def test_imbens_kolesar_df_of_a_repeated_cross_section_cell_equals_the_regression():
    # the cell is the regression of the outcome on the four group x period dummies
    df = _rcs_cell(5)
    spec = tne.RepeatedCrossSectionSpec(
        time="year", outcome="y", group="school", cohort="g", cluster="dept", id="pupil"
    )
    gt = _quiet(tne.att_gt, df, spec, method="reg")
    ik = _quiet(gt.with_inference, tne.CR2(df="imbens_kolesar"))
    treat = (df["g"] > 0).to_numpy()
    post = (df["year"] == 2020).to_numpy()
    x = np.column_stack([np.ones(len(df)), treat, post, treat & post]).astype(float)
    y = df["y"].to_numpy()
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    resid = y - x @ beta
    code = df["dept"].to_numpy()
    c = [0, 0, 0, 1.0]
    assert float(gt.estimates.iloc[0]) == pytest.approx(beta[3], abs=1e-12)
    ref = small_sample.imbens_kolesar_df(x, resid, cluster=code, contrast=c)
    np.testing.assert_allclose(ik.dof, ref, rtol=1e-10)
    v = small_sample.cr2_vcov(x, resid, cluster=code)
    np.testing.assert_allclose(ik.std_errors.iloc[0] ** 2, v[3, 3], rtol=1e-10)
    sat = _quiet(gt.with_inference, tne.CR2())
    np.testing.assert_allclose(
        sat.dof,
        small_sample.satterthwaite_df(x, resid, cluster=code, contrast=c),
        rtol=1e-10,
    )


def _unbalanced(seed: int, weighted: bool = False, single_cohort: bool = False):
    """The departments panel with about a fifth of the school-years missing."""
    df = _departments_panel(seed, weighted)
    if single_cohort:
        df.loc[df["g"] == 2018, "g"] = 2019
    rng = np.random.default_rng(seed + 1000)
    keep = (rng.random(len(df)) > 0.2) | (df["year"] == 2015).to_numpy()
    return df.loc[keep].reset_index(drop=True)


def _cell_weights(gt, kind: str, shares: dict) -> dict[str, np.ndarray]:
    """R did's aggte weights of every term on the cells (the cohort shares fixed)."""
    table = gt.table
    g = table["cohort"].to_numpy(dtype=float)
    t = table["time"].to_numpy(dtype=float)
    e, post = t - g, g <= t
    p = np.array([shares[c] for c in g])

    def by_share(keep):
        return np.where(keep, p, 0.0) / p[keep].sum()

    out: dict[str, np.ndarray] = {}
    if kind == "simple":
        out["ATT"] = by_share(post)
    elif kind == "dynamic":
        for ev in np.unique(e):
            out[f"e={int(ev)}"] = by_share(e == ev)
        n_pos = np.unique(e[e >= 0]).size
        out["overall"] = sum(out[f"e={int(v)}"] for v in np.unique(e[e >= 0])) / n_pos
    elif kind == "group":
        total = sum(shares[c] for c in np.unique(g))
        out["overall"] = np.zeros(g.size)
        for c in np.unique(g):
            keep = (g == c) & post
            out[f"g={int(c)}"] = keep / keep.sum()
            out["overall"] += shares[c] / total * out[f"g={int(c)}"]
    else:
        times = np.unique(t[post])
        for tt in times:
            out[f"t={int(tt)}"] = by_share(post & (t == tt))
        out["overall"] = sum(out[f"t={int(tt)}"] for tt in times) / times.size
    return out


def _stacked_cells(df, gt, a, weighted):
    """The stacked regression of the cells' group means, built from the data.

    Cell k contributes its treated and comparison (never-treated) rows of its
    period and of its base period, four group means entering with
    ``a_k * (+1, -1, -1, +1)``.
    """
    year, g = df["year"].to_numpy(), df["g"].to_numpy()
    w_row = df["w"].to_numpy() if weighted else np.ones(len(df))
    rows, part, coef = [], [], []
    for k in np.flatnonzero(a):
        cell = gt.table.iloc[k]
        for treated, period, sgn in (
            (True, cell["time"], 1.0),
            (True, cell["base_period"], -1.0),
            (False, cell["time"], -1.0),
            (False, cell["base_period"], 1.0),
        ):
            group = g == cell["cohort"] if treated else g == 0
            sel = np.flatnonzero(group & (year == period))
            rows.append(sel)
            part.append(np.full(sel.size, len(coef)))
            coef.append(sgn * a[k])
    rows = np.concatenate(rows)
    return stacked_regression(
        df["y"].to_numpy()[rows],
        w_row[rows],
        df["dept"].to_numpy()[rows],
        np.concatenate(part),
        np.array(coef),
    )


def _check_aggregates_against_stacked_cells(df, spec, weighted, *, single):
    gt = _quiet(tne.att_gt, df, spec, method="reg", unbalanced="keep")
    if isinstance(spec, tne.PanelSpec):
        units = df.groupby("school").first()
    else:
        units = df
    w = units["w"] if weighted else pd.Series(1.0, index=units.index)
    shares = {float(c): float(w[units["g"] == c].sum()) for c in (2018, 2019)}
    n_clusters = gt.scores.n_clusters
    for kind in KINDS:
        agg = _quiet(tne.aggregate, gt, kind)
        assert agg.scores.decomposition.stacked is not None
        ik = _quiet(agg.with_inference, tne.CR2(df="imbens_kolesar"))
        sat = _quiet(agg.with_inference, tne.CR2())
        # the variance is the aggregate's group-mean CR2, whatever the df
        np.testing.assert_allclose(ik.vcov, sat.vcov, rtol=1e-12)
        weights = _cell_weights(gt, kind, shares)
        psi_cells, psi_agg = gt.scores.dense(), agg.scores.dense()
        for j, term in enumerate(agg.table.index):
            a = weights[term]
            assert agg.table["estimate"].iloc[j] == pytest.approx(
                a @ gt.table["estimate"].to_numpy(), abs=1e-12
            )
            if single:
                # one cohort: no cohort-share term, a plain combination of cells
                np.testing.assert_allclose(psi_agg[:, j], psi_cells @ a, atol=1e-12)
            design = _stacked_cells(df, gt, a, weighted)
            assert ik.dof[j] == pytest.approx(stacked_ik_df(design), rel=1e-10)
        assert np.all((ik.dof >= 1 - 1e-12) & (ik.dof <= n_clusters))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("single", [False, True])
def test_imbens_kolesar_df_of_unbalanced_panel_aggregates_is_the_stacked_cells(
    weighted, single
):
    # the df of the CR2 t-test of the same contrast in the stacked regression of
    # the cells' own group means (rows of each period with their sign); with
    # several cohorts the estimated cohort-share term is left out of it
    df = _unbalanced(21, weighted, single_cohort=single)
    assert df.groupby("school")["year"].size().min() < 5  # unbalanced indeed
    _check_aggregates_against_stacked_cells(
        df, _spec(weighted), weighted, single=single
    )


@pytest.mark.parametrize("single", [False, True])
def test_imbens_kolesar_df_of_repeated_cross_section_aggregates_is_the_stacked_cells(
    single,
):
    df = _departments_panel(4, weighted=True)
    if single:
        df.loc[df["g"] == 2018, "g"] = 2019
    df["pupil"] = np.arange(len(df))
    spec = tne.RepeatedCrossSectionSpec(
        time="year",
        outcome="y",
        group="school",
        cohort="g",
        cluster="dept",
        id="pupil",
        weights="w",
    )
    _check_aggregates_against_stacked_cells(df, spec, True, single=single)


def test_imbens_kolesar_df_of_aggregates_survives_selecting_terms():
    # the cells' design follows the aggregate's terms (pre-trend tests select them)
    gt = _quiet(tne.att_gt, _unbalanced(21), _spec(), method="reg", unbalanced="keep")
    agg = _quiet(tne.aggregate, gt, "dynamic")
    full = _quiet(agg.with_inference, tne.CR2(df="imbens_kolesar")).dof
    pick = np.array([1, 3])
    sub = agg.scores.columns(pick)
    assert sub.decomposition.stacked.n_parts < agg.scores.decomposition.stacked.n_parts
    got = infer(tne.CR2(df="imbens_kolesar"), sub, warn_user=False).dof
    np.testing.assert_allclose(got, full[pick], rtol=1e-12)


def test_imbens_kolesar_df_refused_when_a_cells_group_lies_in_one_cluster():
    # cohort 2018 in department 0 only: the aggregate pooling both cohorts has
    # CR2 standard errors, but the stacked cells' regression has no CR2 adjustment
    df = _unbalanced(21)
    df.loc[df["dept"] == 1, "g"] = 0
    gt = _quiet(tne.att_gt, df, _spec(), method="reg", unbalanced="keep")
    agg = _quiet(tne.aggregate, gt, "simple")
    assert np.all(np.isfinite(_quiet(agg.with_inference, tne.CR2()).dof))
    with pytest.raises(InferenceError, match="CR2\\(df='satterthwaite'\\)"):
        agg.with_inference(tne.CR2(df="imbens_kolesar"))


def test_imbens_kolesar_df_in_the_reports_configuration():
    # the staggered chapter's fit: dr with a covariate, unbalanced panel kept
    from tne_eval.datasets import load_synthetic

    panel = load_synthetic("school_panel")
    cm2 = panel[panel["grade"] == "CM2"]
    spec = tne.PanelSpec(
        unit="school_id",
        time="year",
        outcome="score_french",
        cohort="first_treated",
        cluster="department",
        covariates=("social_index",),
        nesting=("department",),
    )
    gt = _quiet(tne.att_gt, cm2, spec, method="dr", unbalanced="keep")
    g = gt.scores.n_clusters
    for kind in ("simple", "dynamic"):
        agg = _quiet(tne.aggregate, gt, kind)
        ik = _quiet(agg.with_inference, tne.CR2(df="imbens_kolesar"))
        sat = _quiet(agg.with_inference, tne.CR2())
        np.testing.assert_allclose(ik.vcov, sat.vcov, rtol=1e-12)
        assert np.all(np.isfinite(ik.dof))
        assert np.all((ik.dof >= 1 - 1e-12) & (ik.dof <= g))
        assert "cohort-share" in str(ik.notes)


@pytest.mark.parametrize("weighted", [False, True])
def test_imbens_kolesar_df_of_aggregates_equals_the_stacked_computation(weighted):
    df = _departments_panel(17, weighted)
    spec = _spec(weighted)
    gt = _quiet(tne.att_gt, df, spec, method="reg")
    store = gt.scores
    # the residuals the working model uses are those of the cells' group means
    dec = store.decomposition
    wide = df.pivot(index="school", columns="year", values="y").loc[store.ids]
    w_unit = np.asarray(store.row_weights)
    parts, weights = dec.parts.toarray(), dec.weights.toarray()
    code = np.asarray(store.cluster_code)
    for p in range(dec.n_parts):
        cell = gt.table.iloc[int(np.flatnonzero(dec.combine[p])[0])]
        dy = (wide[cell["time"]] - wide[cell["base_period"]]).to_numpy()
        rows = weights[:, p] > 0
        design = stacked_design(
            parts[:, [p]], code, weights[:, [p]], np.ones(1), dec.sign[[p]]
        )
        mean = np.average(dy[rows], weights=w_unit[rows])
        np.testing.assert_allclose(design.resid, dy[rows] - mean, atol=1e-10)
    g = store.n_clusters
    for res in [gt] + [_quiet(tne.aggregate, gt, k) for k in KINDS]:
        ik = _quiet(res.with_inference, tne.CR2(df="imbens_kolesar"))
        sat = _quiet(res.with_inference, tne.CR2())
        np.testing.assert_allclose(ik.vcov, sat.vcov, rtol=1e-12)
        d = res.scores.decomposition
        dparts, dweights = d.parts.toarray(), d.weights.toarray()
        cov = ik.vcov.to_numpy()
        for j in range(len(res.table)):
            design = stacked_design(
                dparts, code, dweights, np.asarray(d.combine)[:, j], d.sign
            )
            u = design.functional @ design.resid
            np.testing.assert_allclose(u @ u, cov[j, j], rtol=1e-10)
            assert ik.dof[j] == pytest.approx(stacked_ik_df(design), rel=1e-10)
        # a Satterthwaite-type df lies between 1 and the number of clusters
        assert np.all((ik.dof >= 1 - 1e-12) & (ik.dof <= g))


def _brute_force_wild_t(dy, treated, dept, impose_null: bool):
    """Refit OLS of dy on [1, D] for every sign pattern of the 12 departments."""
    x = np.column_stack([np.ones(dy.size), treated.astype(float)])
    g = int(dept.max()) + 1
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ x.T @ dy
    if impose_null:
        fit = np.full(dy.size, dy.mean())
    else:
        fit = x @ beta
    resid0 = dy - fit
    codes = np.arange(2**g)
    out = np.empty(codes.size)
    f = g / (g - 1)
    for b in codes:
        v = 2.0 * ((b >> np.arange(g)) & 1) - 1.0
        ystar = fit + v[dept] * resid0
        bstar = xtx_inv @ x.T @ ystar
        estar = ystar - x @ bstar
        scores = np.array([x[dept == h].T @ estar[dept == h] for h in range(g)])
        se = np.sqrt(f * np.sum((scores @ xtx_inv[:, 1]) ** 2))
        centre = 0.0 if impose_null else beta[1]
        out[b] = (bstar[1] - centre) / se
    return out


@pytest.mark.parametrize("impose_null", [True, False])
def test_score_wild_bootstrap_matches_brute_force_enumeration(impose_null):
    df, dept, treated, dy = _two_by_two(5)
    res = _quiet(tne.did_2x2, df, _spec(), method="reg")
    spec = tne.WildBootstrap(reps=5000, weights="rademacher", impose_null=impose_null)
    got = _quiet(wild_test, res.scores, 0, spec, conf_int=False)
    assert got.enumerated and got.reps == 2**12
    brute = _brute_force_wild_t(dy, treated, dept, impose_null)
    np.testing.assert_allclose(got.t_boot, brute, rtol=1e-10, atol=1e-10)
    x = np.column_stack([np.ones(dy.size), treated.astype(float)])
    beta = np.linalg.lstsq(x, dy, rcond=None)[0]
    resid = dy - x @ beta
    scores = np.array([x[dept == h].T @ resid[dept == h] for h in range(12)])
    se = np.sqrt(12 / 11 * np.sum((scores @ np.linalg.inv(x.T @ x)[:, 1]) ** 2))
    t = beta[1] / se
    p_brute = np.mean(np.abs(brute) >= abs(t) * (1 - 1e-10))
    wb = _quiet(res.with_inference, spec)
    assert wb.pvalues.iloc[0] == pytest.approx(p_brute, abs=1e-10)
    assert wb.std_errors.iloc[0] == pytest.approx(se, rel=1e-10)
    low, high = wb.conf_int().iloc[0]
    assert low < beta[1] < high


def test_wild_bootstrap_on_a_dynamic_aggregate_is_seeded_and_inverts():
    df = _departments_panel(6)
    gt = _quiet(tne.att_gt, df, _spec(), method="reg")
    es = _quiet(tne.aggregate, gt, "dynamic")
    spec = tne.WildBootstrap(reps=9999, seed=1)
    a = _quiet(es.with_inference, spec)
    b = _quiet(es.with_inference, spec)
    fa, fb = a.to_frame(), b.to_frame()
    np.testing.assert_array_equal(fa["p_value"], fb["p_value"])
    ok = np.isfinite(fa["conf_low"])
    assert ok.all()
    assert (
        (fa["conf_low"] <= fa["estimate"]) & (fa["estimate"] <= fa["conf_high"])
    ).all()
    frame = a.event_study().frame
    assert np.isfinite(frame["conf_low"]).all()
    for kind, w in (("restricted (WCR)", True), ("unrestricted (WCU)", False)):
        r = _quiet(
            es.with_inference, tne.WildBootstrap(reps=999, seed=2, impose_null=w)
        )
        assert kind in r.inferred.description
        assert np.all((r.pvalues >= 0) & (r.pvalues <= 1))


def _dept_means(dy, weights, dept, members):
    """Weighted mean of dy over the member rows of each department."""
    num = np.bincount(dept[members], weights=(weights * dy)[members], minlength=12)
    den = np.bincount(dept[members], weights=weights[members], minlength=12)
    return num, den


@pytest.mark.parametrize("method", ["ConleyTaber", "FermanPinto"])
def test_few_treated_equal_direct_calls_on_department_means(method):
    df, dept, _, dy = _two_by_two(7)
    res = _quiet(tne.did_2x2, df, _spec(), method="reg")
    w = np.ones(dy.size)
    num, den = _dept_means(dy, w, dept, np.ones(dy.size, bool))
    delta = num / den
    d_treated = np.arange(12) < 3
    sizes = np.bincount(dept, minlength=12).astype(float)
    spec = getattr(tne, method)(reps=9999, seed=4)
    kwargs = dict(weights=den, reps=9999, seed=4)
    if method == "FermanPinto":
        ref = few_treated.ferman_pinto(delta, d_treated, sizes, **kwargs)
        ref10 = few_treated.ferman_pinto(delta, d_treated, sizes, alpha=0.1, **kwargs)
    else:
        ref = few_treated.conley_taber(delta, d_treated, **kwargs)
        ref10 = few_treated.conley_taber(delta, d_treated, alpha=0.1, **kwargs)
    got = res.with_inference(spec)
    assert ref.estimate == pytest.approx(float(res.estimates.iloc[0]), abs=1e-12)
    assert got.pvalues.iloc[0] == pytest.approx(ref.p_value, abs=1e-10)
    np.testing.assert_allclose(got.conf_int().iloc[0], ref.conf_int, rtol=1e-10)
    np.testing.assert_allclose(
        got.conf_int(alpha=0.1).iloc[0], ref10.conf_int, rtol=1e-10
    )
    contrib = cluster_contributions(res.scores, 0)
    np.testing.assert_allclose(
        np.sort(contrib.sizes), np.sort(sizes[np.r_[0:3, 3:12]]), rtol=1e-12
    )


def test_conley_taber_on_a_cohort_aggregate_equals_direct_call():
    df = _departments_panel(8)
    gt = _quiet(tne.att_gt, df, _spec(), method="reg")
    grp = _quiet(tne.aggregate, gt, "group")
    got = grp.with_inference(tne.ConleyTaber(reps=9999, seed=1))
    tab = gt.table
    cells = tab[(tab["cohort"] == 2019) & tab["post"]]
    wide = df.pivot(index="school", columns="year", values="y")
    first = df.groupby("school")[["g", "dept"]].first()
    dept = first["dept"].to_numpy()
    # department mean of the cells' outcome changes, averaged over the post cells
    delta = np.zeros(14)
    for _, cell in cells.iterrows():
        dy = (wide[cell["time"]] - wide[cell["base_period"]]).to_numpy()
        delta += np.bincount(dept, weights=dy, minlength=14) / np.bincount(dept)
    delta /= len(cells)
    cohort = first.groupby("dept")["g"].first().to_numpy()
    use = (cohort == 2019) | (cohort == 0)
    ref = few_treated.conley_taber(
        delta[use],
        cohort[use] == 2019,
        weights=np.bincount(dept)[use].astype(float),
        reps=9999,
        seed=1,
    )
    row = got.to_frame().loc["g=2019"]
    assert ref.estimate == pytest.approx(row["estimate"], abs=1e-10)
    assert row["p_value"] == pytest.approx(ref.p_value, abs=1e-10)
    assert (row["conf_low"], row["conf_high"]) == pytest.approx(ref.conf_int, rel=1e-10)
    # the overall average pools two cohorts: not computed, with a note
    assert np.isnan(got.to_frame().loc["overall", "p_value"])
    assert "pools several treated cohorts" in str(got.notes)


def test_few_treated_typed_errors():
    df = _departments_panel(9)
    gt = _quiet(tne.att_gt, df, _spec(), method="reg")
    simple = _quiet(tne.aggregate, gt, "simple")
    with pytest.raises(InferenceError, match="pools several treated cohorts"):
        simple.with_inference(tne.FermanPinto())
    nyt = _quiet(tne.att_gt, df, _spec(), method="reg", control_group="not_yet_treated")
    dyn = _quiet(tne.aggregate, nyt, "dynamic")
    assert not dyn.scores.decomposition.exact
    twfe = _quiet(tne.twfe, df, _spec())
    with pytest.raises(InferenceError, match="twfe does not support ConleyTaber"):
        twfe.with_inference(tne.ConleyTaber())


def test_single_treated_cluster_is_refused_by_cr2_cr3():
    df = _departments_panel(10)
    df = df[~df["dept"].isin([1])]  # cohort 2018 left with one department
    gt = _quiet(tne.att_gt, df, _spec(), method="reg")
    for inf in (tne.CR2(), tne.CR3(), tne.WildBootstrap(reps=999)):
        with pytest.raises(
            InferenceError,
            match="treated group of cohort 2018 lies in a single cluster",
        ):
            gt.with_inference(inf)
    ct = gt.with_inference(tne.ConleyTaber())  # one treated cluster: CT applies
    assert np.isfinite(ct.pvalues.iloc[0])


def test_decomposition_without_store_is_a_typed_error():
    df, *_ = _two_by_two(11)
    res = _quiet(tne.did_2x2, df, _spec(), method="reg")
    bare = res.scores.with_values(res.scores.dense())
    assert bare.decomposition is None and bare.estimates is None

    with pytest.raises(InferenceError, match="CR2 needs the decomposition"):
        infer(tne.CR2(), bare)
    # a decomposition without the parts' signs has no residuals for the IK model
    from dataclasses import replace

    unsigned = replace(
        res.scores, decomposition=replace(res.scores.decomposition, sign=None)
    )
    with pytest.raises(InferenceError, match=r"GroupMeans\.sign"):
        infer(tne.CR2(df="imbens_kolesar"), unsigned)
    assert np.isfinite(infer(tne.CR2(), unsigned).dof).all()


@pytest.mark.parametrize(
    ("method", "covariates", "unbalanced"),
    [("dr", ("x",), "keep"), ("ipw", ("x",), "drop"), ("reg", (), "keep")],
)
def test_approximate_leverages_are_noted(method, covariates, unbalanced):
    df = _departments_panel(12)
    rng = np.random.default_rng(0)
    df["x"] = np.repeat(rng.normal(size=df["school"].nunique()), 5)
    if unbalanced == "keep":
        df = df.drop(index=df.index[3])
    spec = _spec().update(covariates=covariates)
    gt = _quiet(tne.att_gt, df, spec, method=method, unbalanced=unbalanced)
    dec = gt.scores.decomposition
    assert not dec.exact
    np.testing.assert_allclose((dec.parts @ dec.combine), gt.scores.dense(), atol=1e-10)
    for kind in KINDS:
        agg = _quiet(tne.aggregate, gt, kind)
        d = agg.scores.decomposition
        np.testing.assert_allclose(d.parts @ d.combine, agg.scores.dense(), atol=1e-10)
        cr2 = agg.with_inference("cr2")
        assert np.isfinite(cr2.std_errors).all()
        assert "an approximation" in str(cr2.notes)
        cluster = agg.with_inference("cluster")
        # CR2 inflates the CR0 variance: every leverage lies in [0, 1)
        cr0 = agg.with_inference(tne.Cluster(small_sample=False))
        assert (cr2.std_errors >= cr0.std_errors * (1 - 1e-12)).all()
        assert np.isfinite(cluster.std_errors).all()


def test_repeated_cross_sections_get_four_parts_per_cell():
    df = _departments_panel(13)
    df["pupil"] = np.arange(len(df))
    spec = tne.RepeatedCrossSectionSpec(
        time="year", outcome="y", group="school", cohort="g", cluster="dept", id="pupil"
    )
    gt = _quiet(tne.att_gt, df, spec, method="reg")
    dec = gt.scores.decomposition
    assert dec.n_parts == 4 * int((gt.std_errors.notna()).sum())
    np.testing.assert_allclose((dec.parts @ dec.combine), gt.scores.dense(), atol=1e-10)
    cr2 = _quiet(tne.aggregate, gt, "dynamic").with_inference("cr2")
    assert isinstance(cr2.dof, np.ndarray) and np.all(cr2.dof > 0)


@pytest.mark.parametrize(
    "inference",
    [
        tne.CR2(),
        tne.CR2(df="imbens_kolesar"),
        tne.CR3(),
        tne.WildBootstrap(reps=999, seed=3),
        tne.ConleyTaber(),
        tne.FermanPinto(seed=1),
    ],
)
def test_event_study_summary_and_frame_agree(inference):
    df = _departments_panel(14)
    gt = _quiet(tne.att_gt, df, _spec(), method="reg")
    es = _quiet(tne.aggregate, gt, "dynamic").with_inference(inference)
    frame = es.to_frame()
    study = es.event_study().frame
    for col in ("estimate", "std_error", "p_value", "conf_low", "conf_high"):
        np.testing.assert_allclose(
            study[col].to_numpy(dtype=float),
            frame.loc[study.index, col].to_numpy(dtype=float),
            rtol=1e-12,
        )
    text = str(es.summary())
    assert es.inferred.description in text
    if isinstance(inference, tne.CR2):
        assert "degrees of freedom by term" in text
        crit = es.critical_values()
        from scipy import stats

        np.testing.assert_allclose(crit, stats.t.ppf(0.975, es.dof), rtol=1e-12)
        half = (frame["conf_high"] - frame["estimate"]).to_numpy()
        np.testing.assert_allclose(half, crit * frame["std_error"], rtol=1e-10)


def test_few_treated_refuse_clusters_mixing_treated_and_comparison():
    df = _departments_panel(15)
    # pairs of departments: (4, 5) holds a 2019 and a never-treated department
    df["pair"] = df["dept"] // 2
    gt = _quiet(tne.att_gt, df, _spec().update(cluster="pair"), method="reg")
    ct = _quiet(gt.with_inference, tne.ConleyTaber())
    cohort = gt.table["cohort"].to_numpy()
    p = ct.pvalues.to_numpy()
    assert np.isnan(p[cohort == 2019]).all() and np.isfinite(p[cohort == 2018]).all()
    assert "hold both treated and comparison rows" in str(ct.notes)
    with pytest.raises(InferenceError, match="hold both treated and comparison"):
        cluster_contributions(gt.scores, int(np.flatnonzero(cohort == 2019)[0]))
    # departments 0 and 1 (cohort 2018) form one pair: one treated cluster
    with pytest.raises(InferenceError, match="cohort 2018 lies in a single cluster"):
        _quiet(gt.with_inference, tne.CR2())


def test_reference_cells_of_a_universal_base_period_have_no_inference():
    df = _departments_panel(16)
    gt = _quiet(
        tne.att_gt,
        df,
        _spec(),
        method="reg",
        base_period="universal",
        control_group="not_yet_treated",
    )
    es = _quiet(tne.aggregate, gt, "dynamic")
    ref = es.to_frame()["event_time"] == -1
    for inf in (
        tne.CR2(),
        tne.CR2(df="imbens_kolesar"),
        tne.CR3(),
        tne.WildBootstrap(reps=999, seed=1),
    ):
        frame = _quiet(es.with_inference, inf).to_frame()
        assert frame.loc[ref, "p_value"].isna().all()
        assert frame.loc[~ref, "p_value"].notna().all()
