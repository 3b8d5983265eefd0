"""The committed synthetic world fools naive estimators, by documented amounts.

Every number here is computed with short, transparent code on the committed data
of ``data/synthetic/`` and is reported in ``docs/synthetic_world.md`` (section
"Naive estimators it is built to fool"); this test guards those numbers. The
truth comes from ``truth.json`` (school weighting, since every estimator below
weights schools equally).

Three traps:

(a) comparing TNE and other schools after the programme started confounds the
    effect with selection (TNE departments have a lower social index);
(b) static two-way fixed effects (TWFE) weights the ATT(g,t) badly when effects
    grow with exposure and differ by cohort: slightly in the full sample, where
    88% of schools are never treated, severely among TNE departments only;
(c) a DiD that ignores the social index is biased because the COVID shock hits
    low-index schools harder; the same DiD adjusted for the index is not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from linearmodels import PanelOLS

from tne_eval.datasets import att_gt_table, load_synthetic

OUTCOMES = {  # truth name -> (level, column of school_panel)
    "score_french_CM2": ("primary", "score_french"),
    "score_math_CM2": ("primary", "score_math"),
    "score_french_3e": ("college", "score_french"),
    "score_math_3e": ("college", "score_math"),
}
POST_YEARS = range(2021, 2025)  # every TNE department is treated in 2021-2024

# Documented magnitudes (docs/synthetic_world.md). Bounds are loose enough to be
# about the mechanism, tight enough that a generator change that removes it fails.
POST_COMPARISON_MAX = -8.0  # (a) every naive post-period gap is below -8 points
TWFE_FULL_BIAS = (-0.10, -0.01)  # (b) relative bias of the TWFE estimand, full sample
TWFE_TNE_ONLY_MAX_SHARE = 0.25  # (b) TNE-only TWFE estimand < 25% of the simple ATT
TWFE_CONFOUNDED_MAX_BIAS = -0.5  # (b) mean bias of plain TWFE on the data (4 outcomes)
DID_UNADJUSTED_MAX_BIAS = -1.5  # (c) every unadjusted 2x2 is >= 1.5 points too low
DID_ADJUSTED_SE_TOL = 2.0  # (c) adjusted 2x2 within 2 cluster SEs of the truth ...
DID_ADJUSTED_MEAN_TOL = 1.0  # ... and within 1 point on average over the outcomes


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return load_synthetic("school_panel")


@pytest.fixture(scope="module")
def truth() -> dict:
    return load_synthetic("truth")


def true_att(truth: dict, outcome: str) -> pd.Series:
    """School-weighted ATT(g,t) of an outcome, indexed by (cohort, year)."""
    table = att_gt_table(truth)
    keep = (table["outcome"] == outcome) & (table["weighting"] == "schools")
    return table[keep].set_index(["cohort", "year"])["att"]


def simple_att(truth: dict, outcome: str) -> float:
    return truth["outcomes"][outcome]["weightings"]["schools"]["simple"]


# --- (a) post-period comparison ----------------------------------------------
def post_period_gap(panel: pd.DataFrame, level: str, column: str) -> float:
    """Mean school score of TNE minus other schools, pooled over 2021-2024."""
    rows = panel[(panel["level"] == level) & panel["year"].isin(POST_YEARS)]
    tne = rows["first_treated"] > 0
    return rows.loc[tne, column].mean() - rows.loc[~tne, column].mean()


# --- (b) static TWFE -----------------------------------------------------------
def twfe(
    panel: pd.DataFrame, outcome: pd.Series, *, index_by_year: bool = False
) -> tuple[float, float]:
    """Static TWFE coefficient on `treated` (school and year FE), cluster SE."""
    frame = panel.set_index(["school_id", "year"])
    exog = frame[["treated"]].astype(float)
    if index_by_year:
        year = frame.index.get_level_values("year")
        for y in sorted(set(year))[1:]:
            exog[f"index_x_{y}"] = (year == y) * (frame["social_index"] - 100) / 15
    fit = PanelOLS(
        pd.Series(np.asarray(outcome, dtype=float), index=frame.index),
        exog,
        entity_effects=True,
        time_effects=True,
    ).fit(
        cov_type="clustered", clusters=frame["department"].astype("category").cat.codes
    )
    return float(fit.params["treated"]), float(fit.std_errors["treated"])


def twfe_estimand(panel: pd.DataFrame, att: pd.Series) -> float:
    """TWFE applied to the true ATT(g,t) of each row: what TWFE estimates without noise."""
    keys = zip(panel["first_treated"], panel["year"])
    noiseless = [att.get((g, t), 0.0) if g > 0 else 0.0 for g, t in keys]
    return twfe(panel, pd.Series(noiseless))[0]


# --- (c) 2x2 DiD of cohort 2021 vs never treated, 2019 -> 2021 -------------------
def did_2x2(panel: pd.DataFrame, level: str, column: str) -> dict[str, float]:
    """Unadjusted and index-adjusted (regression adjustment) 2x2 DiD, cluster SEs."""
    rows = panel[(panel["level"] == level) & panel["first_treated"].isin([0, 2021])]
    wide = rows.pivot_table(
        index=["school_id", "department", "first_treated", "social_index"],
        columns="year",
        values=column,
    ).reset_index()
    wide = wide.dropna(subset=[2019, 2021])
    dy = (wide[2021] - wide[2019]).to_numpy()
    treated = (wide["first_treated"] == 2021).to_numpy().astype(float)
    x = wide["social_index"].to_numpy()
    groups = wide["department"].astype("category").cat.codes.to_numpy()

    # unadjusted: mean change of treated minus mean change of controls
    unadjusted = sm.OLS(dy, sm.add_constant(treated)).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    # adjusted: regress the change on the index among controls, predict it for the
    # treated, average the treated's excess change. Equivalently the coefficient
    # on `treated` in the fully interacted regression centred at the treated mean.
    centred = x - x[treated == 1].mean()
    design = np.column_stack([np.ones_like(dy), treated, centred, treated * centred])
    adjusted = sm.OLS(dy, design).fit(cov_type="cluster", cov_kwds={"groups": groups})
    control = treated == 0
    beta = np.polyfit(x[control], dy[control], 1)
    by_hand = float(np.mean(dy[~control] - np.polyval(beta, x[~control])))
    assert adjusted.params[1] == pytest.approx(by_hand, abs=1e-8)
    return {
        "unadjusted": float(unadjusted.params[1]),
        "unadjusted_se": float(unadjusted.bse[1]),
        "adjusted": by_hand,
        "adjusted_se": float(adjusted.bse[1]),
        "n_treated": int(treated.sum()),
        "n_control": int(control.sum()),
    }


# --- tests ------------------------------------------------------------------------
@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_post_period_comparison_is_badly_biased(panel, truth, outcome):
    level, column = OUTCOMES[outcome]
    gap = post_period_gap(panel, level, column)
    assert simple_att(truth, outcome) > 2.0  # TNE raised scores ...
    assert gap < POST_COMPARISON_MAX  # ... but TNE schools score far lower


@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_twfe_weights_heterogeneous_dynamic_effects_badly(panel, truth, outcome):
    level, _ = OUTCOMES[outcome]
    rows = panel[panel["level"] == level].reset_index(drop=True)
    att, simple = true_att(truth, outcome), simple_att(truth, outcome)
    full = twfe_estimand(rows, att)
    assert TWFE_FULL_BIAS[0] < full / simple - 1 < TWFE_FULL_BIAS[1]
    tne_only = rows[rows["first_treated"] > 0].reset_index(drop=True)
    assert 0 < twfe_estimand(tne_only, att) < TWFE_TNE_ONLY_MAX_SHARE * simple


def test_plain_twfe_on_the_data_is_biased_down(panel, truth):
    biases = []
    for outcome, (level, column) in OUTCOMES.items():
        rows = panel[panel["level"] == level].reset_index(drop=True)
        biases.append(twfe(rows, rows[column])[0] - simple_att(truth, outcome))
    assert np.mean(biases) < TWFE_CONFOUNDED_MAX_BIAS


def test_did_ignoring_the_index_is_biased_and_adjusting_fixes_it(panel, truth):
    errors = []
    for outcome, (level, column) in OUTCOMES.items():
        target = true_att(truth, outcome)[(2021, 2021)]
        did = did_2x2(panel, level, column)
        assert did["unadjusted"] - target < DID_UNADJUSTED_MAX_BIAS, outcome
        assert abs(did["adjusted"] - target) < DID_ADJUSTED_SE_TOL * did["adjusted_se"]
        errors.append(did["adjusted"] - target)
    assert abs(np.mean(errors)) < DID_ADJUSTED_MEAN_TOL
