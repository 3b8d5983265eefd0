import numpy as np
import pandas as pd
import pytest

from tne_eval import territories
from tne_eval.errors import DataError, TneEvalTypeError


def test_departments_table_shape_and_codes():
    table = territories.departments()
    assert len(table) == 101
    assert table["code"].is_unique
    assert {"2A", "2B", "971", "972", "973", "974", "976"} <= set(table["code"])
    assert "20" not in set(table["code"]) and "975" not in set(table["code"])
    assert table["code"].map(type).eq(str).all()
    assert table["area"].eq("overseas").sum() == 5
    assert table["academie"].nunique() == 30
    assert table["region"].nunique() == 18


def test_departments_returns_a_copy():
    table = territories.departments()
    table.loc[0, "name"] = "changed"
    assert territories.departments().loc[0, "name"] == "Ain"


def test_calendar_matches_the_programme():
    cal = territories.tne_calendar()
    assert sorted(cal.loc[cal.first_school_year == 2020, "code"]) == ["02", "95"]
    assert sorted(cal.loc[cal.first_school_year == 2021, "code"]) == sorted(
        ["13", "18", "2A", "25", "29", "34", "38", "86", "88", "971"]
    )
    assert set(cal["school_year"]) == {"2020-21", "2021-22"}
    assert territories.tne_departments(2020) == ("02", "95")
    assert len(territories.tne_departments()) == 12


def test_department_record():
    d = territories.department(2)
    assert (d.code, d.name, d.academie, d.region, d.tne_cohort) == (
        "02",
        "Aisne",
        "Amiens",
        "Hauts-de-France",
        2020,
    )
    assert territories.department("971").overseas
    assert territories.tne_cohort("75") is None
    assert territories.department("2a").name == "Corse-du-Sud"
    assert territories.department(np.int64(95)).code == "95"


@pytest.mark.parametrize("bad", ["20", "975", "100", "xx", 0])
def test_unknown_department_code(bad):
    with pytest.raises(DataError, match="not a French department code"):
        territories.normalize_department_code(bad)


def test_department_code_wrong_type():
    with pytest.raises(TneEvalTypeError, match="must be a string or an integer"):
        territories.normalize_department_code(2.5)


def test_normalize_many_lists_all_bad_codes():
    with pytest.raises(DataError, match=r"2 unknown department code\(s\): '20', '99x'"):
        territories.normalize_department_codes(["02", "20", "99x"])


def test_unknown_wave():
    with pytest.raises(DataError, match="is not a TNE wave"):
        territories.tne_departments(2019)


@pytest.mark.parametrize(
    ("year", "label"), [(2020, "2020-21"), (1999, "1999-00"), (2016, "2016-17")]
)
def test_school_year_round_trip(year, label):
    assert territories.school_year_label(year) == label
    assert territories.school_year_from_label(label) == year


def test_school_year_label_errors():
    with pytest.raises(DataError, match="is not a school-year label; expected"):
        territories.school_year_from_label("2020/21")
    with pytest.raises(DataError, match="the second year must follow the first"):
        territories.school_year_from_label("2020-22")
    with pytest.raises(TneEvalTypeError, match="school year must be an integer"):
        territories.school_year_label("2020")


def test_calendar_plot_returns_axes():
    import matplotlib.pyplot as plt

    from tne_eval.plotting import plot_tne_calendar

    ax = plot_tne_calendar()
    assert len(ax.patches) == 12
    _, given = plt.subplots()
    assert plot_tne_calendar(ax=given) is given
    assert isinstance(territories.departments(), pd.DataFrame)
