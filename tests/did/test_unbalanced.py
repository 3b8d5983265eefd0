"""Unbalanced panels kept (``unbalanced="keep"``): influence functions by unit.

R ``did`` with ``allow_unbalanced_panel=TRUE`` sums each unit's rows of the cell
influence functions and aggregates with cohort shares of *units*. The reference
below is R's ``aggte`` formula (``compute.aggte.R``: ``pg`` from the unit-level
data, the ``wif`` weight influence, ``getSE = sqrt(mean(IF^2) / n)``) written out
here independently of the library and applied to the library's own stored
influence functions, so the aggregation step is checked exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tne_eval as tne

#: Closed-form sums over the same stored arrays: they agree to rounding.
RTOL_FORMULA = 1e-10


@pytest.fixture(scope="module")
def unbalanced():
    rng = np.random.default_rng(44)
    n, years = 240, np.arange(2014, 2021)
    cohort = rng.choice([2017, 2019, 0], size=n, p=[0.3, 0.3, 0.4])
    df = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n), years.size),
            "year": np.tile(years, n),
            "g": np.repeat(cohort, years.size),
            "x": np.repeat(rng.normal(size=n), years.size),
        }
    )
    treated = (df.g > 0) & (df.year >= df.g)
    df["y"] = (
        0.3 * df.x
        + 0.2 * (df.year - 2014)
        + (1.0 + 0.5 * (df.year - df.g).clip(lower=0)) * treated
        + rng.normal(size=len(df))
    )
    # about a fifth of the rows missing; every unit seen in the first year, so
    # none is dropped as already treated
    keep = (rng.random(len(df)) > 0.2) | (df.year == 2014).to_numpy()
    return df.loc[keep].reset_index(drop=True)


def _r_aggte_simple(gt, units: pd.DataFrame) -> tuple[float, float]:
    """R did's aggte(type='simple') from the stored unit-level influence functions."""
    table = gt.table
    infl = gt.influence  # rows: unit ids
    g_unit = units.set_index("unit").loc[infl.index, "g"].replace(0, np.inf).to_numpy()
    w_unit = np.ones(g_unit.size)  # weights.ind (unweighted data)
    post = (table["time"] >= table["cohort"]).to_numpy()
    group = table["cohort"].to_numpy(dtype=float)
    att = table["estimate"].to_numpy()
    keepers = np.flatnonzero(post)
    pg_of = {g: np.mean(w_unit * (g_unit == g)) for g in np.unique(group)}
    pg = np.array([pg_of[group[k]] for k in keepers])
    weights = pg / pg.sum()
    est = float(weights @ att[keepers])
    ind = np.column_stack(
        [w_unit * (g_unit == group[k]) - pg_of[group[k]] for k in keepers]
    )
    if1 = ind / pg.sum()
    if2 = ind.sum(axis=1)[:, None] @ (pg / pg.sum() ** 2)[None, :]
    wif = if1 - if2
    phi = infl.to_numpy()[:, keepers] @ weights + wif @ att[keepers]
    n = phi.size
    return est, float(np.sqrt(np.mean(phi**2) / n))


def test_influence_functions_have_one_row_per_unit(unbalanced):
    spec = tne.PanelSpec(unit="unit", time="year", outcome="y", cohort="g")
    gt = tne.att_gt(unbalanced, spec, method="reg", unbalanced="keep", inference="iid")
    assert gt.influence.shape[0] == unbalanced["unit"].nunique() == gt.n_units
    assert gt.influence.index.equals(pd.Index(np.sort(unbalanced["unit"].unique())))
    assert gt.options["data"] == "unbalanced" and not gt.options["panel"]
    assert any("share of units" in n for n in gt.notes)


@pytest.mark.parametrize("method", ["reg", "dr"])
def test_simple_aggregate_equals_r_formula_on_stored_influence(unbalanced, method):
    spec = tne.PanelSpec(
        unit="unit", time="year", outcome="y", cohort="g", covariates=("x",)
    )
    gt = tne.att_gt(unbalanced, spec, method=method, unbalanced="keep", inference="iid")
    agg = tne.aggregate(gt, "simple")
    est, se = _r_aggte_simple(gt, unbalanced[["unit", "g"]].drop_duplicates())
    assert float(agg.estimates["ATT"]) == pytest.approx(est, rel=RTOL_FORMULA)
    assert float(agg.std_errors["ATT"]) == pytest.approx(se, rel=RTOL_FORMULA)


def test_unit_shares_differ_from_row_shares(unbalanced):
    """The fixed bug: shares of rows weight cohorts by how often units are seen."""
    spec = tne.PanelSpec(unit="unit", time="year", outcome="y", cohort="g")
    gt = tne.att_gt(unbalanced, spec, method="reg", unbalanced="keep", inference="iid")
    units = unbalanced[["unit", "g"]].drop_duplicates()
    rows = unbalanced.groupby("g").size() / len(unbalanced)
    shares = units.groupby("g").size() / len(units)
    assert not np.allclose(rows.to_numpy(), shares.to_numpy(), rtol=1e-3)
    g = gt.scores.row_cohort
    for cohort in (2017, 2019):
        assert np.mean(g == cohort) == pytest.approx(shares[cohort], rel=1e-12)


def test_cluster_se_sums_units_within_clusters(unbalanced):
    df = unbalanced.assign(cl=unbalanced["unit"] % 12)
    spec = tne.PanelSpec(
        unit="unit", time="year", outcome="y", cohort="g", cluster="cl"
    )
    gt = tne.att_gt(df, spec, method="reg", unbalanced="keep")
    infl = gt.influence.to_numpy()
    cl = (gt.influence.index.to_numpy() % 12).astype(int)
    sums = np.vstack([infl[cl == c].sum(axis=0) for c in range(12)])
    n = infl.shape[0]
    se = np.sqrt(np.diag(sums.T @ sums) / n**2 * 12 / 11)
    ok = np.isfinite(gt.std_errors.to_numpy())
    np.testing.assert_allclose(gt.std_errors.to_numpy()[ok], se[ok], rtol=RTOL_FORMULA)


def test_separating_covariate_is_named():
    """Issue 14, bad input: perfect separation names the covariate."""
    n, years = 80, np.arange(2016, 2020)
    g = np.where(np.arange(n) < 30, 2018, 0)
    sep = np.where(g > 0, 1.0, 0.0) + np.linspace(0, 0.5, n)  # treated all above
    df = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n), years.size),
            "year": np.tile(years, n),
            "g": np.repeat(g, years.size),
            "sep": np.repeat(sep, years.size),
        }
    )
    df["y"] = np.random.default_rng(2).normal(size=len(df))
    spec = tne.PanelSpec(
        unit="unit", time="year", outcome="y", cohort="g", covariates=("sep",)
    )
    gt = tne.att_gt(df, spec, method="dr", inference="iid")
    assert np.isnan(gt.estimates).all()
    assert any("Covariate(s) 'sep' separate the treated units" in n for n in gt.notes)


def test_covariate_constant_within_a_cell_is_named():
    """Issue 14, bad input: a cell whose design is singular names the covariate."""
    rng = np.random.default_rng(9)
    n, years = 90, np.arange(2016, 2020)
    g = np.where(np.arange(n) < 20, 2018, 0)
    # 'rural' varies overall but is 1 for every comparison school, so the outcome
    # regression on the comparison units is singular
    rural = np.where(g > 0, (np.arange(n) % 2).astype(float), 1.0)
    df = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n), years.size),
            "year": np.tile(years, n),
            "g": np.repeat(g, years.size),
            "rural": np.repeat(rural, years.size),
        }
    )
    df["y"] = rng.normal(size=len(df))
    spec = tne.PanelSpec(
        unit="unit", time="year", outcome="y", cohort="g", covariates=("rural",)
    )
    gt = tne.att_gt(df, spec, method="reg", inference="iid")
    assert np.isnan(gt.estimates).all()
    assert any(
        "Constant in this cell: 'rural' (comparison units)" in n for n in gt.notes
    )
