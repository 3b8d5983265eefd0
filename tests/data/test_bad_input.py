"""prepare_panel on bad input: each class gets a typed error naming the column, the
count, an example and the fix, or a documented, counted drop or recoding."""

import warnings

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
    TneEvalWarning,
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


@pytest.fixture
def df(small_staggered_panel):
    return small_staggered_panel.copy()


def _years_panel(anticipation: int = 1) -> pd.DataFrame:
    """Years 2010-2018, cohorts 2014 / 2019 / never (0), noiseless outcome.

    y = unit effect + year effect + 1 from g - anticipation on.
    """
    years = np.arange(2010, 2019)
    cohorts = np.repeat([2014, 2019, 0], 8)
    n = cohorts.size
    unit = np.repeat(np.arange(n), years.size)
    t = np.tile(years, n)
    g = np.repeat(cohorts, years.size)
    gen = np.random.default_rng(3)
    alpha = np.repeat(gen.normal(size=n), years.size)
    lam = np.tile(gen.normal(size=years.size), n)
    effect = ((g > 0) & (t >= g - anticipation)).astype(float)
    return pd.DataFrame({"unit": unit, "year": t, "g": g, "y": alpha + lam + effect})


YEARS_SPEC = PanelSpec(unit="unit", time="year", outcome="y", cohort="g")


# -- 1. anticipation and late cohorts ----------------------------------------------


def test_late_cohort_within_anticipation_kept():
    data = _years_panel()
    prep = prepare_panel(data, YEARS_SPEC, anticipation=1)
    assert sorted(set(prep.cohort[np.isfinite(prep.cohort)])) == [2014.0, 2019.0]
    assert prep.report.records == ()
    # without anticipation, 2019 > max(t) = 2018 is never treated in the sample
    prep0 = prepare_panel(data, YEARS_SPEC)
    assert sorted(set(prep0.cohort[np.isfinite(prep0.cohort)])) == [2014.0]
    (note,) = prep0.report.notes
    assert "8 unit(s) first treated after the last period 2018 (cohort(s) 2019)" in (
        note
    )


def test_late_cohort_beyond_anticipation_recoded_with_reason():
    data = _years_panel()
    data.loc[data.g == 2019, "g"] = 2020
    prep = prepare_panel(data, YEARS_SPEC, anticipation=1)
    assert sorted(set(prep.cohort[np.isfinite(prep.cohort)])) == [2014.0]
    (record,) = prep.report.records
    assert record.reason == "late_cohort" and record.n_units == 8
    assert record.n_rows == 0
    assert (
        "after the last period 2018 plus anticipation=1, i.e. after period 2019 "
        "(cohort(s) 2020), were recoded as never treated" in record.message
    )
    both = _years_panel()
    both.loc[both.unit.isin([8, 9]), "g"] = 2020
    note = prepare_panel(both, YEARS_SPEC, anticipation=1).report.notes[0]
    assert "Cohort(s) 2019 start after the last period but within" in note


def test_anticipation_moves_the_first_period_cut():
    data = _years_panel()
    data.loc[data.unit == 0, "g"] = 2011
    with pytest.warns(
        DroppedObservationsWarning,
        match=r"Dropped 1 unit\(s\) \(9 rows\) already treated within "
        r"anticipation=1 period\(s\) of their first observed period",
    ):
        prep = prepare_panel(data, YEARS_SPEC, anticipation=1)
    assert prep.n_units == 23
    assert prepare_panel(data, YEARS_SPEC).n_units == 24


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (-1, SpecError, "anticipation must be >= 0"),
        (1.5, TneEvalTypeError, "anticipation must be an integer"),
        (True, TneEvalTypeError, "anticipation must be an integer"),
    ],
)
def test_anticipation_validated(value, error, match):
    with pytest.raises(error, match=match):
        prepare_panel(_years_panel(), YEARS_SPEC, anticipation=value)


def test_att_gt_anticipation_end_to_end():
    """Issue 14 fix 3: a cohort starting just after the sample anticipates in it."""
    from tne_eval.did import att_gt

    gt = att_gt(_years_panel(), YEARS_SPEC, anticipation=1, inference="iid")
    frame = gt.to_frame().set_index(["cohort", "time"])
    assert abs(frame.loc[(2014, 2018), "estimate"] - 1.0) < 1e-10


# -- 2. non-finite and overflowing values ----------------------------------------------


@pytest.mark.parametrize(
    ("col", "role"), [("y", "outcome"), ("x", "covariate"), ("w", "weights")]
)
@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_payload(df, spec, col, role, value):
    df.index = df.index + 100  # row labels are the caller's, not positions
    df.loc[[104, 110], col] = value
    with pytest.raises(
        DataError,
        match=rf"Column '{col}' \({role}\) has infinite values in 2 row\(s\) "
        rf"\(e.g. row 104: {value}\).*replace\(\[np.inf, -np.inf\], np.nan\)",
    ):
        prepare_panel(df, spec)


def test_infinite_set_to_nan_is_dropped_with_a_note(df, spec):
    df.loc[[4, 10], "y"] = np.inf
    fixed = df.assign(y=df["y"].replace([np.inf, -np.inf], np.nan))
    with pytest.warns(DroppedObservationsWarning, match="Dropped 2 of 180 rows"):
        prep = prepare_panel(fixed, spec)
    assert prep.report.records[0].reason == "missing"


@pytest.mark.parametrize(
    ("col", "role"), [("y", "outcome"), ("x", "covariate"), ("w", "weights")]
)
def test_overflowing_magnitudes(df, spec, col, role):
    df.loc[df.unit == 2, col] = 1e300
    with pytest.raises(
        DataError,
        match=rf"Column '{col}' \({role}\) has 6 value\(s\) of magnitude above 1e\+100 "
        r"\(e.g. row 12: 1e\+300\).*Rescale the column",
    ):
        prepare_panel(df, spec)


def test_large_but_safe_values_pass(df, spec):
    prep = prepare_panel(df.assign(y=df["y"] * 1e90), spec)
    assert np.isfinite(prep.data["y"]).all()


# -- 3. column labels -------------------------------------------------------------------


def test_multiindex_columns(df, spec):
    wide = df.copy()
    wide.columns = pd.MultiIndex.from_product([["a"], df.columns])
    with pytest.raises(
        TneEvalTypeError, match=r"MultiIndex columns \(2 levels.*Flatten"
    ):
        prepare_panel(wide, spec)


def test_duplicated_column_names(df, spec):
    dup = pd.concat([df, df[["x", "y"]]], axis=1)
    with pytest.raises(
        SpecError,
        match=r"duplicated column names used by the spec: 'x' \(2 times\), "
        r"'y' \(2 times\)",
    ):
        prepare_panel(dup, spec)
    # duplicates among columns the spec does not use are harmless
    other = pd.concat([df, df[["x"]].set_axis(["z"], axis=1)] * 1, axis=1)
    other = pd.concat([other, other[["z"]]], axis=1)
    assert prepare_panel(other, spec).n_units == 30


def test_covariate_repeating_another_role():
    with pytest.raises(SpecError, match="includes 'y', which is already the outcome"):
        PanelSpec(unit="u", time="t", outcome="y", covariates=("y",))
    with pytest.raises(SpecError, match="includes 'g', which is already the group"):
        RepeatedCrossSectionSpec(time="t", outcome="y", group="g", covariates=("g",))


# -- 4. impossible cohort codes -----------------------------------------------------------


def test_negative_never_treated_code(df, spec):
    df.loc[df.cohort == 0, "cohort"] = -1
    with pytest.raises(
        DataError,
        match=r"Column 'cohort' \(cohort\) holds -1 for 10 unit\(s\) \(e.g. row 120\)"
        r".*periods run from 1 to 6.*never_treated='zero'",
    ):
        prepare_panel(df, spec)


def test_zero_cohort_under_inf_coding_with_years():
    data = _years_panel()
    with pytest.raises(
        DataError, match=r"holds 0 for 8 unit\(s\).*periods run from 2010 to 2018"
    ):
        prepare_panel(data, YEARS_SPEC.update(never_treated="inf"))
    # with periods 1..6 a cohort 0 is a plausible "treated before the sample"
    # and is dropped as treated in the first period, as before


def test_zero_cohort_with_short_periods_is_treated_before_sample(df, spec):
    with pytest.warns(DroppedObservationsWarning, match="already treated"):
        prep = prepare_panel(
            df.assign(cohort=df.cohort.replace(0, 99)).assign(
                cohort=lambda d: d.cohort.where(d.unit != 0, 0)
            ),
            spec.update(never_treated="inf"),
        )
    assert prep.n_units == 29


def test_fractional_cohort(df, spec):
    df["cohort"] = df["cohort"].astype(float)
    df.loc[df.cohort == 3, "cohort"] = 3.5
    with pytest.raises(
        DataError,
        match=r"Column 'cohort' \(cohort\) must hold whole numbers; 60 row\(s\) do "
        r"not \(e.g. 3.5, row 0\)",
    ):
        prepare_panel(df, spec)


def test_bool_cohort(df, spec):
    with pytest.raises(TneEvalTypeError, match=r"give it as spec\.treatment"):
        prepare_panel(df.assign(cohort=df.cohort > 0), spec)


# -- 5. integers that float64 cannot hold ----------------------------------------------


def test_periods_beyond_2_53(df, spec):
    big = df.assign(period=df["period"].astype(np.int64) + 2**53)
    with pytest.raises(
        DataError,
        match=r"Column 'period' \(time\) has 180 value\(s\) beyond \+/-2\*\*53 "
        r"\(e.g. row 0: 9007199254740993\)",
    ):
        prepare_panel(big, spec)


def test_cohort_beyond_2_53(df, spec):
    df["cohort"] = df["cohort"].astype(np.int64)
    df.loc[df.cohort == 3, "cohort"] = 2**53 + 1
    with pytest.raises(DataError, match=r"Column 'cohort' \(cohort\) has 60 value"):
        prepare_panel(df, spec)


def test_float_periods_beyond_2_53(df, spec):
    with pytest.raises(DataError, match=r"beyond \+/-2\*\*53"):
        prepare_panel(df.assign(period=df["period"] * 1e17), spec)


# -- 6. dtypes ----------------------------------------------------------------------------


def test_bool_outcome(df, spec):
    with pytest.raises(
        TneEvalTypeError,
        match=r"Column 'y' \(outcome\) must be numeric, but has dtype bool "
        r"\(True/False in all 180 rows\). Cast it to 0/1",
    ):
        prepare_panel(df.assign(y=df.y > 2), spec)


@pytest.mark.parametrize(
    ("col", "role"), [("y", "outcome"), ("x", "covariate"), ("w", "weights")]
)
def test_numbers_stored_as_text(df, spec, col, role):
    with pytest.raises(
        TneEvalTypeError,
        match=rf"Column '{col}' \({role}\) must be numeric.*all 180 non-missing values "
        r"are numbers stored as text.*pd.to_numeric",
    ):
        prepare_panel(df.assign(**{col: df[col].astype(str)}), spec)


def test_partly_text_outcome(df, spec):
    text = df["y"].astype(object)
    text[[3, 5]] = "n/a"
    with pytest.raises(
        TneEvalTypeError,
        match=r"2 of 180 non-missing values are not numbers \(e.g. 'n/a'\)",
    ):
        prepare_panel(df.assign(y=text), spec)


def test_periods_as_text(df, spec):
    with pytest.raises(
        TneEvalTypeError, match=r"\(time\).*numbers stored as text.*astype\(int\)"
    ):
        prepare_panel(df.assign(period=df.period.astype(str)), spec)


def test_categorical_time(df, spec):
    with pytest.raises(
        TneEvalTypeError,
        match=r"Column 'period' \(time\) must be numeric, but has dtype category.*"
        r"numbers stored as categories",
    ):
        prepare_panel(df.assign(period=df.period.astype("category")), spec)


@pytest.mark.parametrize("tz", [None, "Europe/Paris"])
def test_datetime_periods(df, spec, tz):
    dates = pd.to_datetime((df.period + 2010).astype(str), format="%Y").dt.tz_localize(
        tz
    )
    with pytest.raises(
        TneEvalTypeError,
        match=r"Column 'period' \(time\).*dates in all 180 rows.*dt.year",
    ):
        prepare_panel(df.assign(period=dates), spec)


def test_period_dtype_time(df, spec):
    periods = pd.to_datetime((df.period + 2010).astype(str), format="%Y").dt.to_period(
        "Y"
    )
    with pytest.raises(TneEvalTypeError, match=r"dates in all 180 rows"):
        prepare_panel(df.assign(period=periods), spec)


def test_complex_outcome(df, spec):
    with pytest.raises(TneEvalTypeError, match=r"must be real.*Keep the real part"):
        prepare_panel(df.assign(y=df.y + 0j), spec)


def test_text_covariate_categories(df, spec):
    with pytest.raises(
        TneEvalTypeError,
        match=r"180 of 180 non-missing values are not numbers \(e.g. 'a'\). Encode",
    ):
        prepare_panel(df.assign(x="a"), spec)


# -- 7. empty frames, named by the step that emptied them --------------------------------


def test_empty_input(df, spec):
    with pytest.raises(DataError, match="data has no rows"):
        prepare_panel(df.iloc[:0], spec)


def test_everything_treated_in_first_period(df, spec):
    with pytest.raises(
        DataError,
        match=r"No rows are left after dropping units already treated in their first "
        r"observed period: all 30 units are.*treated_first_period='keep'",
    ):
        prepare_panel(df.assign(cohort=1), spec)


def test_balance_drop_removes_everything(df, spec):
    ragged = df[~(df.period == df.unit % 6 + 1)]
    with pytest.raises(
        DataError,
        match=r"No rows are left after balance='drop': none of the 30 units is observed "
        r"in all 6 periods.*balance='allow'",
    ):
        prepare_panel(ragged, spec, balance="drop")


def test_all_missing_outcome(df, spec):
    with pytest.raises(
        DataError, match=r"all 180 rows have a missing outcome.*'y': 180"
    ):
        prepare_panel(df.assign(y=np.nan), spec)


# -- 8. weights and clusters ----------------------------------------------------------


def test_zero_weights_in_one_treated_cohort(df, spec):
    df.loc[df.cohort == 3, "w"] = 0.0
    with pytest.warns(
        TneEvalWarning,
        match=r"Cohort\(s\) 3 \(10 unit\(s\)\) have zero total weight in column 'w'",
    ):
        prep = prepare_panel(df, spec)
    record = prep.report.records[-1]
    assert record.reason == "zero_weight_cohort" and record.n_units == 10
    assert record.n_rows == 0 and prep.n_units == 30


def test_zero_weights_in_every_treated_cohort(df, spec):
    df.loc[df.cohort > 0, "w"] = 0.0
    with pytest.raises(
        IdentificationError, match=r"Every treated unit \(20, cohort\(s\) 3, 5\)"
    ):
        prepare_panel(df, spec)


def test_all_weights_zero(df, spec):
    with pytest.raises(DataError, match=r"sums to zero over the 180 rows kept"):
        prepare_panel(df.assign(w=0.0), spec)


def test_zero_weight_cohort_repeated_cross_section(rng):
    n = 400
    data = pd.DataFrame(
        {
            "school": rng.integers(0, 12, n),
            "year": rng.integers(2018, 2022, n),
            "score": rng.normal(size=n),
        }
    )
    data["g"] = np.select([data.school < 4, data.school < 8], [2020, 2021], 0)
    data["w"] = np.where(data.g == 2021, 0.0, 1.0)
    spec = RepeatedCrossSectionSpec(
        time="year", outcome="score", group="school", cohort="g", weights="w"
    )
    with pytest.warns(TneEvalWarning, match=r"Cohort\(s\) 2021 \(4 unit\(s\)\)"):
        prepare_panel(data, spec)


def test_nan_cluster(df, spec):
    df["cluster"] = df["cluster"].astype(float)
    df.loc[[7, 8], "cluster"] = np.nan
    with pytest.raises(
        DataError,
        match=r"Column 'cluster' is a key column and has 2 missing value\(s\) "
        r"\(e.g. rows 7, 8\).*fill or drop those rows",
    ):
        prepare_panel(df, spec)


# -- 9. time-varying covariates --------------------------------------------------------


def test_time_varying_covariates(df, spec):
    df["z"] = df["period"] * 0.1 + df["unit"]
    prep = prepare_panel(df, spec.update(covariates=("x", "z")))
    assert prep.time_varying_covariates == ("z",)
    assert prepare_panel(df, spec).time_varying_covariates == ()


def test_time_varying_covariates_rcs_is_empty(rng):
    n = 100
    data = pd.DataFrame(
        {
            "school": rng.integers(0, 6, n),
            "year": rng.integers(2018, 2021, n),
            "score": rng.normal(size=n),
            "x": rng.normal(size=n),
        }
    )
    data["g"] = np.where(data.school < 3, 2020, 0)
    spec = RepeatedCrossSectionSpec(
        time="year", outcome="score", group="school", cohort="g", covariates=("x",)
    )
    assert prepare_panel(data, spec).time_varying_covariates == ()


# -- invariants -------------------------------------------------------------------------


def test_errors_leave_input_untouched(df, spec):
    df.loc[3, "y"] = np.inf
    before = df.copy(deep=True)
    with pytest.raises(DataError):
        prepare_panel(df, spec)
    pd.testing.assert_frame_equal(df, before)


def test_clean_input_emits_no_warning(df, spec):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare_panel(df, spec, anticipation=1)


# -- 10. ids and text codes ------------------------------------------------------------


def test_unit_ids_mixing_types(df, spec):
    mixed = df.assign(unit=df.unit.astype(object))
    mixed.loc[mixed.unit == 3, "unit"] = "3"
    with pytest.raises(
        TneEvalTypeError,
        match=r"Column 'unit' \(unit\) mixes value types among its 30 distinct ids "
        r"\(29 int, 1 str; e.g. 0, '3'\).*astype\(str\)",
    ):
        prepare_panel(mixed, spec)


def test_cluster_ids_mixing_types(df, spec):
    mixed = df.assign(cluster=df.cluster.astype(object))
    mixed.loc[mixed.cluster == 1, "cluster"] = "one"
    with pytest.raises(TneEvalTypeError, match=r"Column 'cluster' \(cluster\) mixes"):
        prepare_panel(mixed, spec)


def test_cohort_as_text_labels(df, spec):
    text = df.cohort.astype(str).replace("0", "never")
    with pytest.raises(
        TneEvalTypeError,
        match=r"\(cohort\) must be numeric.*60 of 180 non-missing values are not "
        r"numbers \(e.g. 'never'\).*never-treated units as 0, inf or NaN",
    ):
        prepare_panel(df.assign(cohort=text), spec)


def test_treatment_as_text(df, spec):
    d = ((df.cohort > 0) & (df.period >= df.cohort)).astype(int).astype(str)
    with pytest.raises(
        TneEvalTypeError, match=r"\(treatment\) must be 0/1 numeric.*e.g. '0', '1'"
    ):
        prepare_panel(df.assign(d=d), spec.update(cohort=None, treatment="d"))


def test_treatment_from_period_zero_is_not_never_treated():
    data = pd.DataFrame(
        {
            "u": np.repeat([1, 2, 3], 3),
            "t": np.tile([0, 1, 2], 3),
            "y": np.arange(9.0),
            "d": [1, 1, 1, 0, 0, 0, 0, 0, 1],
        }
    )
    spec = PanelSpec(unit="u", time="t", outcome="y", treatment="d")
    # unit 1 is treated from period 0 on: always treated, not never treated
    prep = prepare_panel(data, spec, treated_first_period="keep")
    assert prep.cohort.tolist() == [0.0, np.inf, 2.0]


def test_minus_inf_cohort(df, spec):
    df["cohort"] = df["cohort"].astype(float).replace(0, -np.inf)
    with pytest.raises(
        DataError,
        match=r"Column 'cohort' \(cohort\) holds infinite values in 60 row\(s\) "
        r"\(e.g. row 120: -inf\)",
    ):
        prepare_panel(df, spec)


def test_numbers_in_object_column(df, spec):
    with pytest.raises(
        TneEvalTypeError,
        match=r"numbers stored as Python objects.*pd.to_numeric\(data\['y'\]\)\.",
    ):
        prepare_panel(df.assign(y=df.y.astype(object)), spec)


def test_datetime_covariate(df, spec):
    with pytest.raises(
        TneEvalTypeError, match=r"Column 'x' \(covariate\).*dates.*days since"
    ):
        prepare_panel(df.assign(x=pd.Timestamp("2020-01-01")), spec)


def test_repeated_cross_section_anticipation(rng):
    n = 300
    data = pd.DataFrame(
        {
            "school": rng.integers(0, 9, n),
            "year": rng.integers(2018, 2022, n),
            "score": rng.normal(size=n),
        }
    )
    data["g"] = np.select([data.school < 3, data.school < 6], [2020, 2022], 0)
    spec = RepeatedCrossSectionSpec(
        time="year", outcome="score", group="school", cohort="g"
    )
    prep = prepare_panel(data, spec, anticipation=1)
    assert sorted(set(prep.cohort[np.isfinite(prep.cohort)])) == [2020.0, 2022.0]
    assert prepare_panel(data, spec).report.records[0].reason == "late_cohort"
