"""prepare_panel: one test per error and warning message, plus the happy path."""

import numpy as np
import pandas as pd
import pytest

from tne_eval.data import PanelSpec, RepeatedCrossSectionSpec, prepare_panel
from tne_eval.errors import (
    DataError,
    DroppedObservationsWarning,
    IdentificationError,
    SpecError,
    TneEvalTypeError,
)


@pytest.fixture
def spec():
    return PanelSpec(
        unit="unit",
        time="period",
        outcome="y",
        cohort="cohort",
        cluster="cluster",
        weights="w",
        covariates=("x",),
    )


def test_happy_path(small_staggered_panel, spec):
    prep = prepare_panel(small_staggered_panel, spec)
    assert prep.n_units == 30 and prep.n_obs == 180 and prep.balanced
    assert prep.periods.tolist() == [1, 2, 3, 4, 5, 6]
    assert np.isinf(prep.cohort[20:]).all()
    assert prep.cohort[:10].tolist() == [3.0] * 10
    assert prep.n_clusters == 5
    assert prep.report.records == () and prep.report.n_rows_dropped == 0
    wide = prep.wide()
    assert wide.shape == (30, 6) and not np.isnan(wide).any()
    assert list(prep.data.columns) == list(spec.columns)
    assert len(prep.fingerprint) == 64


def test_not_a_dataframe(spec):
    with pytest.raises(TneEvalTypeError, match="data must be a pandas DataFrame"):
        prepare_panel({"a": [1]}, spec)


def test_not_a_spec(small_staggered_panel):
    with pytest.raises(TneEvalTypeError, match="spec must be a PanelSpec"):
        prepare_panel(small_staggered_panel, {"unit": "unit"})


def test_bad_option(small_staggered_panel, spec):
    with pytest.raises(
        SpecError, match=r"missing='ignore' is not supported; choose one of"
    ):
        prepare_panel(small_staggered_panel, spec, missing="ignore")


def test_missing_columns_listed_together(small_staggered_panel, spec):
    df = small_staggered_panel.drop(columns=["x", "w"])
    with pytest.raises(SpecError, match=r"names column\(s\) 'w', 'x' that are not in"):
        prepare_panel(df, spec)


@pytest.mark.parametrize("col", ["unit", "period", "cluster"])
def test_nan_in_key_column(small_staggered_panel, spec, col):
    df = small_staggered_panel.astype({col: float})
    df.loc[4, col] = np.nan
    with pytest.raises(
        DataError, match=rf"Column '{col}' is a key column and has 1 missing"
    ):
        prepare_panel(df, spec)


def test_nan_in_cohort_suggests_missing_code(small_staggered_panel, spec):
    df = small_staggered_panel.astype({"cohort": float})
    df.loc[df.cohort == 0, "cohort"] = np.nan
    with pytest.raises(DataError, match="set never_treated='missing'"):
        prepare_panel(df, spec)
    prep = prepare_panel(df, spec.update(never_treated="missing"))
    assert np.isinf(prep.cohort).sum() == 10


def test_non_numeric_time(small_staggered_panel, spec):
    df = small_staggered_panel.assign(period=lambda d: "y" + d["period"].astype(str))
    with pytest.raises(
        TneEvalTypeError, match=r"Column 'period' \(time\) must be numeric"
    ):
        prepare_panel(df, spec)


def test_fractional_time(small_staggered_panel, spec):
    df = small_staggered_panel.assign(period=lambda d: d["period"] + 0.5)
    with pytest.raises(
        DataError, match=r"Column 'period' \(time\) must hold whole numbers"
    ):
        prepare_panel(df, spec)


def test_infinite_time(small_staggered_panel, spec):
    df = small_staggered_panel.astype({"period": float})
    df.loc[0, "period"] = np.inf
    with pytest.raises(
        DataError, match=r"Column 'period' \(time\) holds infinite values"
    ):
        prepare_panel(df, spec)


def test_text_covariate(small_staggered_panel, spec):
    df = small_staggered_panel.assign(x="a")
    with pytest.raises(TneEvalTypeError, match="Encode categories as 0/1 indicator"):
        prepare_panel(df, spec)


def test_negative_weights(small_staggered_panel, spec):
    df = small_staggered_panel.copy()
    df.loc[df.unit == 3, "w"] = -1.0
    with pytest.raises(
        DataError, match=r"\(weights\) has 6 negative value\(s\) \(e.g. -1.0\)"
    ):
        prepare_panel(df, spec)


def test_infinite_weights(small_staggered_panel, spec):
    df = small_staggered_panel.copy()
    df.loc[df.unit == 3, "w"] = np.inf
    with pytest.raises(DataError, match=r"\(weights\) has infinite values"):
        prepare_panel(df, spec)


def test_zero_weights(small_staggered_panel, spec):
    with pytest.raises(DataError, match="sums to zero"):
        prepare_panel(small_staggered_panel.assign(w=0.0), spec)


def test_missing_outcome_dropped_with_warning(small_staggered_panel, spec):
    df = small_staggered_panel.copy()
    df.loc[[1, 2], "y"] = np.nan
    df.loc[3, "x"] = np.nan
    with pytest.warns(
        DroppedObservationsWarning,
        match=r"Dropped 3 of 180 rows with missing values \('y': 2, 'x': 1\)",
    ):
        prep = prepare_panel(df, spec)
    assert prep.n_obs == 177 and not prep.balanced
    assert prep.report.n_rows_dropped == 3
    assert "Dropped 3 of 180 rows" in prep.report.notes[0]


def test_missing_outcome_raise(small_staggered_panel, spec):
    df = small_staggered_panel.copy()
    df.loc[1, "y"] = np.nan
    with pytest.raises(
        DataError, match=r"1 row\(s\) have missing values \('y': 1\), e.g. row 1\."
    ):
        prepare_panel(df, spec, missing="raise")


def test_duplicate_unit_time(small_staggered_panel, spec):
    df = pd.concat([small_staggered_panel, small_staggered_panel.iloc[[5]]])
    with pytest.raises(
        DataError, match=r"2 rows share their unit x time key .*\(0, 6\)"
    ):
        prepare_panel(df, spec)


def test_duplicate_rcs_id():
    df = pd.DataFrame(
        {"p": [1, 1], "s": [1, 2], "t": [1, 1], "y": [0.0, 1.0], "g": [0, 1]}
    )
    spec = RepeatedCrossSectionSpec(time="t", outcome="y", group="s", id="p")
    with pytest.raises(DataError, match="share their id key"):
        prepare_panel(df, spec)


def test_cohort_varies_within_unit(small_staggered_panel, spec):
    df = small_staggered_panel.copy()
    df.loc[(df.unit == 2) & (df.period == 6), "cohort"] = 5
    with pytest.raises(
        DataError,
        match=r"Column 'cohort' \(cohort\) varies within 1 of 30 units \(e.g. unit 2 has 3.0, 5.0\)",
    ):
        prepare_panel(df, spec)


def test_cluster_varies_within_unit(small_staggered_panel, spec):
    df = small_staggered_panel.copy()
    df.loc[(df.unit == 2) & (df.period == 6), "cluster"] = 99
    with pytest.raises(
        DataError, match=r"Column 'cluster' \(cluster\) varies within 1 of 30"
    ):
        prepare_panel(df, spec)


def test_weights_vary_within_unit(small_staggered_panel, spec):
    df = small_staggered_panel.copy()
    df.loc[(df.unit == 2) & (df.period == 6), "w"] = 9.0
    with pytest.raises(DataError, match=r"Panel sampling weights must be constant"):
        prepare_panel(df, spec)


def test_nesting_level_varies(small_staggered_panel, spec):
    df = small_staggered_panel.assign(dept=lambda d: d["period"] % 2)
    with pytest.raises(
        DataError, match=r"Column 'dept' \(nesting level\) varies within"
    ):
        prepare_panel(df, spec.update(nesting=("dept",)))


def test_nesting_broken():
    df = pd.DataFrame(
        {
            "p": range(4),
            "school": ["a", "a", "b", "b"],
            "dept": ["1", "2", "1", "1"],
            "t": [1, 2, 1, 2],
            "y": [1.0, 2.0, 3.0, 4.0],
            "g": [2, 2, 0, 0],
        }
    )
    spec = RepeatedCrossSectionSpec(
        time="t", outcome="y", group="p", cohort="g", id="p", nesting=("school", "dept")
    )
    with pytest.raises(DataError, match=r"Nesting 'school' -> 'dept' is broken"):
        prepare_panel(df, spec, treated_first_period="keep")


def test_treatment_switching_off(small_staggered_panel, spec):
    df = small_staggered_panel.assign(
        d=lambda d: ((d.cohort > 0) & (d.period >= d.cohort)).astype(int)
    )
    df.loc[(df.unit == 0) & (df.period == 6), "d"] = 0
    with pytest.raises(DataError, match="switches off within 1 of 30 units"):
        prepare_panel(df, spec.update(cohort=None, treatment="d"))


def test_treatment_column_derives_cohort(small_staggered_panel, spec):
    df = small_staggered_panel.assign(
        d=lambda d: ((d.cohort > 0) & (d.period >= d.cohort)).astype(int)
    )
    a = prepare_panel(df, spec.update(cohort=None, treatment="d"))
    b = prepare_panel(small_staggered_panel, spec)
    np.testing.assert_array_equal(a.cohort, b.cohort)
    assert a.spec.cohort == "_cohort" and "d" not in a.data.columns
    assert "_cohort" not in df.columns


def test_late_cohort_recoded(small_staggered_panel, spec):
    df = small_staggered_panel.copy()
    df.loc[df.cohort == 5, "cohort"] = 9
    prep = prepare_panel(df, spec)
    assert np.isinf(prep.cohort).sum() == 20
    assert "10 unit(s) first treated after the last period 6" in prep.report.notes[0]


def test_treated_first_period_dropped(small_staggered_panel, spec):
    df = small_staggered_panel.copy()
    df.loc[df.unit == 0, "cohort"] = 1
    with pytest.warns(
        DroppedObservationsWarning,
        match=r"Dropped 1 unit\(s\) \(6 rows\) already treated",
    ):
        prep = prepare_panel(df, spec)
    assert prep.n_units == 29


def test_treated_first_period_raise(small_staggered_panel, spec):
    df = small_staggered_panel.copy()
    df.loc[df.unit == 0, "cohort"] = 1
    with pytest.raises(
        DataError, match=r"treated in their first observed period \(e.g. unit 0\)"
    ):
        prepare_panel(df, spec, treated_first_period="raise")
    assert prepare_panel(df, spec, treated_first_period="keep").n_units == 30


def test_unbalanced_require(small_staggered_panel, spec):
    df = small_staggered_panel.drop(index=[0])
    with pytest.raises(
        DataError, match=r"unbalanced: 1 of 30 units miss some of the 6"
    ):
        prepare_panel(df, spec, balance="require")


def test_unbalanced_drop(small_staggered_panel, spec):
    df = small_staggered_panel.drop(index=[0])
    with pytest.warns(
        DroppedObservationsWarning, match=r"Dropped 1 unit\(s\) \(5 rows\) not observed"
    ):
        prep = prepare_panel(df, spec, balance="drop")
    assert prep.balanced and prep.n_units == 29


def test_no_treated_unit(small_staggered_panel, spec):
    with pytest.raises(IdentificationError, match="No unit is ever treated"):
        prepare_panel(small_staggered_panel.assign(cohort=0), spec)


def test_no_comparison_unit(small_staggered_panel, spec):
    with pytest.raises(IdentificationError, match="There is no comparison unit"):
        prepare_panel(small_staggered_panel.assign(cohort=3), spec)
    two_cohorts = small_staggered_panel.assign(
        cohort=np.where(
            small_staggered_panel.cohort == 0, 5, small_staggered_panel.cohort
        )
    )
    assert prepare_panel(two_cohorts, spec).n_units == 30


def test_no_rows_left(spec):
    df = pd.DataFrame(
        {
            "unit": [1],
            "period": [1],
            "y": [np.nan],
            "cohort": [0],
            "cluster": [1],
            "w": [1.0],
            "x": [0.0],
        }
    )
    with pytest.raises(
        DataError, match="No rows are left after dropping missing values: all 1 rows"
    ):
        prepare_panel(df, spec)


def test_repeated_cross_section(rng):
    n = 200
    df = pd.DataFrame(
        {
            "pupil": np.arange(n),
            "school": rng.integers(0, 10, n),
            "year": rng.integers(2018, 2022, n),
            "score": rng.normal(250, 50, n),
        }
    )
    df["dept"] = df["school"] // 5
    df["first_treated"] = np.where(df["dept"] == 0, 2020, 0)
    spec = RepeatedCrossSectionSpec(
        time="year",
        outcome="score",
        group="school",
        id="pupil",
        cohort="first_treated",
        cluster="dept",
        nesting=("dept",),
    )
    prep = prepare_panel(df, spec)
    assert not prep.is_panel and prep.n_units == 10 and prep.n_clusters == 2
    assert prep.n_obs == n
    with pytest.raises(DataError, match="wide\\(\\) needs a panel"):
        prep.wide()
