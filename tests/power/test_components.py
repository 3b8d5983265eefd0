"""Variance components: pooled within variance (statsmodels), recovery by simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import tne_eval as tne
from tne_eval.errors import DataError, SpecError
from tne_eval.power import (
    PowerDesign,
    RandomEffectsPanel,
    VarianceComponents,
    pooled_within_variance,
    variance_components,
)

#: Same least-squares residual variance by two code paths.
RTOL_CLOSED_FORM = 1e-8


def _pupil_panel(rng, n_schools=12, n_periods=3):
    """Pupil scores and their school-period means, SDs and counts."""
    rows = []
    for s in range(n_schools):
        for t in range(n_periods):
            n = int(rng.integers(1, 9))
            for y in rng.normal(s + t, 2.0, n):
                rows.append((f"s{s}", t, y))
    pupils = pd.DataFrame(rows, columns=["school", "period", "y"])
    cells = pupils.groupby(["school", "period"])["y"].agg(["mean", "std", "size"])
    return pupils, cells.reset_index()


def test_pooled_within_variance_equals_ols_residual_variance(rng):
    pupils, cells = _pupil_panel(rng)
    ols = smf.ols("y ~ 0 + C(school):C(period)", pupils).fit()
    ours = pooled_within_variance(cells["size"], cells["std"].fillna(0.0))
    np.testing.assert_allclose(ours, ols.scale, rtol=RTOL_CLOSED_FORM)


TRUTH = VarianceComponents(4.0, 1.0, 9.0, 2.0, 0.0)
DESIGN = PowerDesign({5: 1}, 59, range(1, 5), 8, 1)


def test_recovers_known_components_one_draw():
    panel = RandomEffectsPanel(DESIGN, TRUTH)(0.0, np.random.default_rng(8))
    est = variance_components(
        panel, outcome="y", unit="school", time="period", department="department"
    )
    # Tolerances: about 4 Monte Carlo SDs of each estimator in this design,
    # measured over the 40 draws of test_recovery_is_unbiased_slow (SDs 1.03,
    # 0.12, 0.60 and 0.093).
    assert abs(est.department - 4.0) < 4.1
    assert abs(est.department_year - 1.0) < 0.5
    assert abs(est.school - 9.0) < 2.4
    assert abs(est.school_year - 2.0) < 0.37


@pytest.mark.slow
def test_recovery_is_unbiased_slow():
    reps = 40
    est = pd.DataFrame(
        [
            variance_components(
                RandomEffectsPanel(DESIGN, TRUTH)(0.0, np.random.default_rng(100 + r)),
                outcome="y",
                unit="school",
                time="period",
                department="department",
            ).to_frame()["variance"]
            for r in range(reps)
        ]
    )
    truth = TRUTH.to_frame()["variance"]
    mc_se = est.std(ddof=1) / np.sqrt(reps)
    for c in ("department", "department_year", "school", "school_year"):
        # REML is nearly unbiased here; allow 4 MC SEs
        assert abs(est[c].mean() - truth[c]) < 4 * mc_se[c] + 1e-12, c


def test_pupil_variance_is_removed_from_school_year(rng):
    truth = VarianceComponents(1.0, 0.5, 4.0, 1.0, 25.0)
    design = PowerDesign({5: 1}, 39, range(1, 5), 6, 10)
    panel = RandomEffectsPanel(design, truth)(0.0, rng)
    # within-cell SDs consistent with the pupil variance (as if from pupils)
    panel = panel.assign(sd=5.0)
    est = variance_components(
        panel,
        outcome="y",
        unit="school",
        time="period",
        department="department",
        n_pupils="n_pupils",
        within_sd="sd",
    )
    assert est.pupil == 25.0
    assert abs(est.school_year - 1.0) < 0.6  # residual 3.5 minus 25/10


def test_covariates_and_dropped_rows_and_input_untouched(rng):
    panel = RandomEffectsPanel(DESIGN, TRUTH)(0.0, rng)
    panel["x"] = rng.normal(size=len(panel))
    panel.loc[panel.index[:3], "y"] = np.nan
    before = panel.copy()
    with pytest.warns(tne.DroppedObservationsWarning, match="dropped 3 of"):
        est = variance_components(
            panel,
            outcome="y",
            unit="school",
            time="period",
            department="department",
            covariates=("x",),
        )
    pd.testing.assert_frame_equal(panel, before)
    assert est.school > 0


def test_errors(rng):
    panel = RandomEffectsPanel(DESIGN, TRUTH)(0.0, rng)
    with pytest.raises(SpecError, match="not in the data"):
        variance_components(
            panel, outcome="z", unit="school", time="period", department="department"
        )
    with pytest.raises(DataError, match="at least 3 departments"):
        variance_components(
            panel.loc[panel["department"].isin(["d0", "d1"])],
            outcome="y",
            unit="school",
            time="period",
            department="department",
        )
    with pytest.raises(DataError, match="two or more pupils"):
        pooled_within_variance(np.ones(3), np.zeros(3))
