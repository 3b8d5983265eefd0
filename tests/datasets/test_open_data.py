"""Readers of the open-data DNB and IPS files, the DNB panel and the synthetic files.

The committed fixtures (``tests/fixtures/open_data/``) are whole lines of the real
files; the full excerpts are read too when ``../shared/datasets/open_data`` (next
to the repository) exists.
"""

from __future__ import annotations

import copy
import io
import warnings

import numpy as np
import pandas as pd
import pytest

import tne_eval as tne
from tests.conftest import REPO
from tne_eval.data import DropReport
from tne_eval.datasets import (
    WorldConfig,
    dnb_panel,
    drop_report,
    read_dnb,
    read_ips,
    simulate,
    simulate_dnb,
    simulate_ips,
    write_open_data,
)
from tne_eval.datasets import open_data as od
from tne_eval.errors import (
    DataError,
    DroppedObservationsWarning,
    SmallClusterWarning,
    SpecError,
    TneEvalTypeError,
)

FIXTURES = REPO / "tests" / "fixtures" / "open_data"
DNB_FIXTURE = FIXTURES / "dnb_fixture.csv"
IPS_FIXTURE = FIXTURES / "ips_fixture.csv"
EXCERPTS = REPO.parent / "shared" / "datasets" / "open_data"
needs_excerpts = pytest.mark.skipif(
    not (EXCERPTS / "dnb_par_etablissement_excerpt.csv").is_file(),
    reason="the open-data excerpts (../shared/datasets/open_data) are not present",
)

#: The file truncates the pass rate to one decimal: recomputed - published lies
#: in [0, TRUNCATION_STEP) percentage points, up to float rounding (FLOAT_SLACK).
TRUNCATION_STEP = 0.1
FLOAT_SLACK = 1e-9
#: Exact arithmetic on counts: the synthetic pass rate is recomputed exactly.
EXACT = 1e-12

SPEC = tne.PanelSpec(
    unit="uai",
    time="year",
    outcome="pass_rate",
    cohort="first_treated",
    cluster="department",
    weights="n_candidates",
    covariates=("ips",),
)


def _quiet(reader, *args, **kwargs):
    """Call a reader, silencing only the expected warning about dropped rows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedObservationsWarning)
        return reader(*args, **kwargs)


def _text(path) -> str:
    return path.read_text(encoding="utf-8")


def _without_pseudo(text: str) -> str:
    return "".join(
        line for line in text.splitlines(keepends=True) if ";GROUPE" not in line
    )


def _replace_line(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


@pytest.fixture(scope="module")
def dnb() -> pd.DataFrame:
    return _quiet(read_dnb, DNB_FIXTURE)


@pytest.fixture(scope="module")
def ips() -> pd.DataFrame:
    return read_ips(IPS_FIXTURE)


@pytest.fixture(scope="module")
def synthetic_files() -> dict[str, str]:
    out = {}
    for name, frame in (("dnb", simulate_dnb()), ("ips", simulate_ips())):
        buffer = io.StringIO()
        write_open_data(frame, buffer)
        out[name] = buffer.getvalue()
    return out


@pytest.fixture(scope="module")
def synthetic_panel(synthetic_files) -> pd.DataFrame:
    return dnb_panel(
        read_dnb(io.StringIO(synthetic_files["dnb"])),
        read_ips(io.StringIO(synthetic_files["ips"])),
    )


# -- read_dnb on the real fixture ---------------------------------------------------


def test_read_dnb_types_and_codes(dnb):
    assert len(dnb) == 41  # 43 rows, two pseudo-establishments dropped
    assert dnb["uai"].dtype == object or pd.api.types.is_string_dtype(dnb["uai"])
    for col in ("session", "year", "n_registered", "n_present", "n_admitted"):
        assert dnb[col].dtype == np.int64, col
    assert dnb["pass_rate"].dtype == np.float64
    assert dnb.loc[0, "uai"] == "0920068Z"
    assert dnb.loc[0, "commune"] == "92023"
    assert set(dnb["department"]) >= {"92", "2A", "2B", "971", "59", "62", "10"}
    assert set(dnb["sector"]) == {"public", "private"}
    assert dnb["uai"].str.fullmatch(r"[0-9]{7}[A-Z]").all()


def test_read_dnb_year_is_session_minus_one(dnb):
    # the session of June s closes school year s-1 (start-year coding)
    assert (dnb["year"] == dnb["session"] - 1).all()
    assert dnb.loc[0, ["session", "year"]].tolist() == [2012, 2011]


def test_read_dnb_pass_rate_matches_the_file_within_truncation(dnb):
    gap = dnb["pass_rate"] - dnb["pass_rate_published"]
    assert (gap >= -FLOAT_SLACK).all()
    assert (gap < TRUNCATION_STEP + FLOAT_SLACK).all()
    assert od.RATE_TOLERANCE == TRUNCATION_STEP
    np.testing.assert_allclose(
        dnb["pass_rate"], 100 * dnb["n_admitted"] / dnb["n_present"], rtol=EXACT
    )
    assert dnb.loc[0, "pass_rate_published"] == pytest.approx(93.2, abs=EXACT)


def test_read_dnb_honours_add_up(dnb):
    honours = dnb[list(od._HONOURS)].sum(axis=1)
    assert (honours == dnb["n_admitted"]).all()


def test_read_dnb_counts_the_dropped_pseudo_establishments():
    with pytest.warns(DroppedObservationsWarning, match=r"2 of 43 row\(s\).*GROUPE08"):
        frame = read_dnb(DNB_FIXTURE)
    report = drop_report(frame)
    assert isinstance(report, DropReport)
    assert report.n_rows_in == 43
    assert report.n_rows_dropped == 2
    assert [r.reason for r in report.records] == [
        "have an establishment number that is not a UAI"
    ]
    assert "line 26" in report.notes[0]


def test_read_dnb_reads_paths_text_and_bytes_buffers(dnb):
    raw = DNB_FIXTURE.read_bytes()
    from_text = _quiet(read_dnb, io.StringIO(raw.decode("utf-8")))
    from_bytes = _quiet(read_dnb, io.BytesIO(raw))
    from_str_path = _quiet(read_dnb, str(DNB_FIXTURE))
    for other in (from_text, from_bytes, from_str_path):
        pd.testing.assert_frame_equal(other, dnb)


def test_read_dnb_accepts_bom_tabs_and_windows_1252(dnb):
    text = _text(DNB_FIXTURE)
    tabbed = text.replace(";", "\t")
    pd.testing.assert_frame_equal(_quiet(read_dnb, io.StringIO(tabbed)), dnb)
    bom = ("\ufeff" + text).encode("utf-8")
    pd.testing.assert_frame_equal(_quiet(read_dnb, io.BytesIO(bom)), dnb)
    cp = text.encode("cp1252")
    pd.testing.assert_frame_equal(_quiet(read_dnb, io.BytesIO(cp)), dnb)


def test_read_dnb_matches_headers_ignoring_case_and_accents(dnb):
    text = _text(DNB_FIXTURE)
    header, rest = text.split("\n", 1)
    other = header.upper().replace("É", "E").replace("È", "E")
    pd.testing.assert_frame_equal(
        _quiet(read_dnb, io.StringIO(other + "\n" + rest)), dnb
    )


def test_read_dnb_without_optional_columns():
    raw = pd.read_csv(DNB_FIXTURE, sep=";", dtype=str, keep_default_na=False)
    keep = [
        "Session",
        "Numero d'etablissement",
        "Secteur d'enseignement",
        "Code département",
        "Presents",
        "Admis",
    ]
    buffer = io.StringIO(raw[keep].to_csv(sep=";", index=False))
    frame = _quiet(read_dnb, buffer)
    assert list(frame.columns) == [
        "uai",
        "session",
        "year",
        "department",
        "sector",
        "n_present",
        "n_admitted",
        "pass_rate",
    ]


def test_read_dnb_does_not_modify_the_buffer_text():
    text = _text(DNB_FIXTURE)
    buffer = io.StringIO(text)
    _quiet(read_dnb, buffer)
    assert buffer.getvalue() == text


# -- read_dnb errors ----------------------------------------------------------------


def test_read_dnb_missing_columns_lists_missing_and_present():
    text = "Session;UAI;Secteur;Inscrits\n2021;0590046E;PUBLIC;100\n"
    with pytest.raises(DataError, match=r"3 required column\(s\) missing") as err:
        read_dnb(io.StringIO(text))
    message = str(err.value)
    for name in ("department", "Code département", "n_admitted", "'Inscrits'"):
        assert name in message
    assert "separator" in message


def test_read_dnb_wrong_separator_is_a_missing_columns_error():
    text = _text(DNB_FIXTURE).replace(";", "|")
    with pytest.raises(DataError, match="required column"):
        read_dnb(io.StringIO(text))


def test_read_dnb_two_headers_for_one_column():
    text = "Session;UAI;Numero d'etablissement\n2021;0590046E;0590046E\n"
    with pytest.raises(DataError, match="all read as 'uai'"):
        read_dnb(io.StringIO(text))


def test_read_dnb_empty_and_header_only_files():
    with pytest.raises(DataError, match="empty"):
        read_dnb(io.StringIO(""))
    header = _text(DNB_FIXTURE).split("\n", 1)[0] + "\n"
    with pytest.raises(DataError, match="no rows"):
        read_dnb(io.StringIO(header))


def test_read_dnb_rejects_other_input_types():
    with pytest.raises(TneEvalTypeError, match="file path or an open file"):
        read_dnb(42)
    with pytest.raises(SpecError, match="invalid='skip' is not supported"):
        read_dnb(DNB_FIXTURE, invalid="skip")


def test_read_dnb_raise_mode_names_the_line_and_the_fix():
    with pytest.raises(DataError, match=r"line 26: uai='GROUPE08'.*invalid='drop'"):
        read_dnb(DNB_FIXTURE, invalid="raise")


# rows of the fixture edited to one defect each: (old, new, reason)
ROW = (
    "2012;0920068Z;COLLEGE;MAISON-BLANCHE;PUBLIC;92023;CLAMART;092;HAUTS-DE-SEINE;"
    "25;VERSAILLES;10;ILE-DE-FRANCE;240;238;222;71;73;59;19;93,20%"
)
DEFECTS = {
    "rate": (ROW, ROW.replace("93,20%", "95,20%"), "published pass rate"),
    "department": (ROW, ROW.replace(";092;", ";975;"), "outside the 101"),
    "sector": (ROW, ROW.replace(";PUBLIC;", ";AUTRE;"), "neither public nor"),
    "count": (ROW, ROW.replace(";238;", ";-;"), "missing, negative or fractional"),
    "fraction": (ROW, ROW.replace(";238;", ";238,5;"), "fractional"),
    "present": (ROW, ROW.replace(";240;238;", ";240;0;"), "no candidate present"),
    "over": (ROW, ROW.replace(";240;238;222;", ";200;238;222;"), "more present"),
    "honours": (ROW, ROW.replace(";71;73;", ";70;73;"), "do not add up"),
    "session": (ROW, ROW.replace("2012;", "-;", 1), "no session year"),
}


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_read_dnb_drops_and_counts_each_defect(defect, dnb):
    old, new, reason = DEFECTS[defect]
    text = _replace_line(_text(DNB_FIXTURE), old, new)
    with pytest.warns(DroppedObservationsWarning, match=reason):
        frame = read_dnb(io.StringIO(text))
    report = drop_report(frame)
    assert report.n_rows_dropped == 3
    assert any(reason in r.reason and r.n_rows == 1 for r in report.records)
    assert "line 2" in next(r for r in report.records if reason in r.reason).message
    pd.testing.assert_frame_equal(frame, dnb.iloc[1:].reset_index(drop=True))
    with pytest.raises(DataError, match=reason):
        read_dnb(io.StringIO(_without_pseudo(text)), invalid="raise")


def test_read_dnb_duplicate_school_session_is_an_error():
    text = _text(DNB_FIXTURE) + ROW + "\n"
    with pytest.raises(DataError, match=r"uai x session.*'0920068Z'.*lines 2, 45"):
        _quiet(read_dnb, io.StringIO(text))


def test_read_dnb_reads_a_rate_given_as_a_proportion(dnb):
    text = _text(DNB_FIXTURE)
    header, *rows = text.splitlines()
    new_rows = []
    for row in rows:
        fields = row.split(";")
        fields[-1] = str(float(fields[-1].rstrip("%").replace(",", ".")) / 100)
        new_rows.append(";".join(fields))
    frame = _quiet(read_dnb, io.StringIO("\n".join([header, *new_rows]) + "\n"))
    np.testing.assert_allclose(
        frame["pass_rate_published"], dnb["pass_rate_published"], rtol=EXACT
    )


# -- read_ips -----------------------------------------------------------------------


def test_read_ips_types_codes_and_years(ips):
    assert len(ips) == 36
    assert ips.loc[0, ["uai", "year", "school_year"]].tolist() == [
        "0590046E",
        2016,
        "2016-2017",
    ]
    assert ips["year"].dtype == np.int64
    assert (ips["year"] == ips["school_year"].str[:4].astype(int)).all()
    assert set(ips["department"]) == {"59", "62"}
    assert set(ips["sector"]) == {"public", "private"}
    assert ips["ips"].dtype == np.float64
    assert ips.loc[0, "ips"] == pytest.approx(81.2, abs=EXACT)
    assert drop_report(ips).n_rows_dropped == 0


def test_read_ips_standard_deviation_is_empty_before_2020(ips):
    assert ips.loc[ips["year"] <= 2018, "ips_sd"].isna().all()
    assert ips.loc[ips["year"] >= 2020, "ips_sd"].notna().all()


def test_read_ips_decimal_comma_and_short_labels(ips):
    text = _text(IPS_FIXTURE)
    header, *rows = text.splitlines()
    edited = []
    for row in rows:
        fields = row.split(";")
        fields[0] = fields[0][:5] + fields[0][-2:]  # "2016-2017" -> "2016-17"
        fields[9] = fields[9].replace(".", ",")
        fields[10] = fields[10].replace(".", ",")
        edited.append(";".join(fields))
    frame = read_ips(io.StringIO("\n".join([header, *edited]) + "\n"))
    pd.testing.assert_frame_equal(
        frame.drop(columns="school_year"), ips.drop(columns="school_year")
    )


def test_read_ips_keeps_other_ips_statistics():
    text = (
        "Rentrée scolaire;UAI;Code du département;Secteur;IPS;IPS voie GT\n"
        "2021-2022;0590046E;059;public;81.2;90,5\n"
    )
    frame = read_ips(io.StringIO(text))
    assert frame.loc[0, "ips_voie_gt"] == pytest.approx(90.5, abs=EXACT)


def test_read_ips_drops_bad_labels_and_missing_values():
    text = _text(IPS_FIXTURE)
    text = text.replace(
        "2016-2017;LILLE;059;NORD;0590046E", "2016-2018;LILLE;059;NORD;0590046E"
    )
    text = text.replace(";67.0;", ";;", 1)
    with pytest.warns(DroppedObservationsWarning, match="school year.*no IPS value"):
        frame = read_ips(io.StringIO(text))
    report = drop_report(frame)
    assert [r.n_rows for r in report.records] == [1, 1]
    assert report.n_rows_in == 36


def test_read_ips_missing_columns_and_duplicates():
    with pytest.raises(DataError, match=r"read_ips: 2 required column\(s\).*ips"):
        read_ips(
            io.StringIO("Rentrée scolaire;UAI;Secteur\n2021-2022;0590046E;public\n")
        )
    text = _text(IPS_FIXTURE)
    first = text.splitlines()[1]
    with pytest.raises(DataError, match="uai x year"):
        read_ips(io.StringIO(text + first + "\n"))


# -- dnb_panel ----------------------------------------------------------------------


def test_dnb_panel_on_the_fixture(dnb, ips):
    before = (copy.deepcopy(dnb), copy.deepcopy(ips))
    with pytest.warns(DroppedObservationsWarning, match="not of type 'COLLEGE'"):
        panel = dnb_panel(dnb, ips)
    pd.testing.assert_frame_equal(dnb, before[0])
    pd.testing.assert_frame_equal(ips, before[1])
    assert set(panel["uai"]) <= set(ips["uai"])
    assert len(panel) == panel[["uai", "year"]].drop_duplicates().shape[0] == 8
    assert (panel["first_treated"] == 0).all()  # Nord and Pas-de-Calais
    assert not panel["treated"].any()
    # default covariate: the school's mean IPS before the first TNE wave (2020)
    pre_tne = ips[ips["year"] < 2020].groupby("uai")["ips"].mean()
    np.testing.assert_allclose(panel["ips"], panel["uai"].map(pre_tne), rtol=EXACT)
    every_year = _quiet(dnb_panel, dnb, ips, ips_value="school_mean")
    school_mean = ips.groupby("uai")["ips"].mean()
    np.testing.assert_allclose(
        every_year["ips"], every_year["uai"].map(school_mean), rtol=EXACT
    )
    assert not np.allclose(every_year["ips"], panel["ips"])
    report = drop_report(panel)
    assert report.n_rows_in == len(dnb)
    assert report.n_rows_in - report.n_rows_dropped == len(panel)
    assert list(panel.columns) == [
        "uai",
        "year",
        "session",
        "department",
        "sector",
        "first_treated",
        "treated",
        "pass_rate",
        "n_present",
        "n_admitted",
        "n_candidates",
        "ips",
    ]


def test_dnb_panel_same_year_leaves_no_row_on_the_fixture(dnb, ips):
    # the fixture's shared collèges sat the DNB before the IPS was published
    with pytest.raises(DataError, match=r"no row is left.*in that year"):
        _quiet(dnb_panel, dnb, ips, ips_value="same_year")


def test_dnb_panel_errors(dnb, ips):
    with pytest.raises(TneEvalTypeError, match="dnb must be a pandas DataFrame"):
        dnb_panel("dnb.csv", ips)
    with pytest.raises(DataError, match=r"ips lacks column\(s\) 'ips'.*read_ips"):
        dnb_panel(dnb, ips.drop(columns="ips"))
    with pytest.raises(SpecError, match="ips_value='mean' is not supported"):
        dnb_panel(dnb, ips, ips_value="mean")
    with pytest.raises(SpecError, match="weights='sum' is not supported"):
        dnb_panel(dnb, ips, weights="sum")


def test_drop_report_needs_a_reader_frame():
    with pytest.raises(DataError, match="has no 'drop_report'"):
        drop_report(pd.DataFrame({"a": [1]}))


# -- synthetic files: round trip and the panel ---------------------------------------


def test_simulated_dnb_has_the_real_format(synthetic_files):
    real_header = _text(DNB_FIXTURE).split("\n", 1)[0]
    text = synthetic_files["dnb"]
    assert text.split("\n", 1)[0] == real_header
    assert '"' not in text and "\r" not in text
    first = text.split("\n")[1].split(";")
    assert first[7] == "001" and first[-1].endswith("%") and "," in first[-1]
    ips_header = _text(IPS_FIXTURE).split("\n", 1)[0]
    assert synthetic_files["ips"].split("\n", 1)[0] == ips_header


def test_simulated_dnb_round_trip(synthetic_files):
    world = tne.datasets.load_synthetic("school_panel")
    colleges = world[world["level"] == "college"].reset_index(drop=True)
    frame = read_dnb(io.StringIO(synthetic_files["dnb"]))
    assert drop_report(frame).n_rows_dropped == 0
    assert len(frame) == len(colleges)
    np.testing.assert_array_equal(frame["year"], colleges["year"])
    np.testing.assert_array_equal(frame["n_present"], colleges["n_pupils"])
    np.testing.assert_array_equal(frame["n_registered"], colleges["n_expected"])
    np.testing.assert_array_equal(frame["department"], colleges["department"])
    np.testing.assert_array_equal(frame["sector"], colleges["sector"])
    assert frame.loc[frame["department"] == "2A", "uai"].str.startswith("620").all()
    assert frame.groupby("uai")["department"].nunique().eq(1).all()
    assert colleges.groupby("school_id").ngroups == frame["uai"].nunique()


def test_simulated_pass_rates_are_plausible(synthetic_panel):
    mean_2016 = synthetic_panel.loc[synthetic_panel["year"] == 2016, "pass_rate"].mean()
    assert 80 < mean_2016 < 92  # national DNB pass rates are in the high 80s


def test_simulated_files_write_to_a_path(tmp_path, synthetic_files):
    path = tmp_path / "dnb.csv"
    write_open_data(simulate_dnb(), path)
    assert path.read_bytes().decode("utf-8") == synthetic_files["dnb"]


def test_simulated_files_from_another_world():
    world = simulate(WorldConfig(departments=("02", "2A"), n_primary=4, n_college=6))
    frame = read_dnb(io.StringIO(_write(simulate_dnb(world))))
    assert set(frame["department"]) == {"02", "2A"}
    assert frame["uai"].nunique() == 6
    ips = read_ips(io.StringIO(_write(simulate_ips(world))))
    assert set(ips["uai"]) == set(frame["uai"])
    with pytest.raises(TneEvalTypeError, match="SyntheticWorld"):
        simulate_dnb("world")


def _write(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    write_open_data(frame, buffer)
    return buffer.getvalue()


def test_write_open_data_refuses_cells_it_cannot_quote():
    with pytest.raises(DataError, match="1 row"):
        write_open_data(pd.DataFrame({"a": ["x;y", "z"]}), io.StringIO())
    with pytest.raises(TneEvalTypeError, match="path or a text file"):
        write_open_data(pd.DataFrame({"a": ["x"]}), 3)


def test_panel_codes_tne_cohorts_and_the_year(synthetic_panel):
    panel = synthetic_panel
    cohort = panel.groupby("department")["first_treated"].first()
    assert cohort["02"] == cohort["95"] == 2020
    assert cohort[["13", "2A", "971"]].eq(2021).all()
    assert cohort["01"] == 0
    # the session of June 2021 (year 2020) is the first treated one in Aisne
    aisne = panel[panel["department"] == "02"]
    assert aisne.loc[aisne["session"] == 2021, "treated"].all()
    assert not aisne.loc[aisne["session"] == 2020, "treated"].any()
    assert panel.groupby("uai")["n_candidates"].nunique().eq(1).all()
    assert panel.groupby("uai")["ips"].nunique().eq(1).all()


def test_panel_first_year_weights(synthetic_files):
    dnb = read_dnb(io.StringIO(synthetic_files["dnb"]))
    ips = read_ips(io.StringIO(synthetic_files["ips"]))
    panel = dnb_panel(dnb, ips, weights="first", ips_value="same_year")
    first = panel.groupby("uai")["n_present"].first()
    np.testing.assert_array_equal(panel["n_candidates"], panel["uai"].map(first))
    ips_year = ips.set_index(["uai", "year"])["ips"]
    np.testing.assert_allclose(
        panel["ips"], ips_year.loc[list(zip(panel["uai"], panel["year"]))], rtol=EXACT
    )


def test_att_gt_runs_on_the_synthetic_panel(synthetic_panel):
    with warnings.catch_warnings():
        # the default world has 2 + 10 treated departments and an unbalanced panel
        warnings.simplefilter("ignore", SmallClusterWarning)
        warnings.simplefilter("ignore", DroppedObservationsWarning)
        result = tne.att_gt(synthetic_panel, SPEC)
        simple = tne.aggregate(result, "simple").to_frame()
    assert np.isfinite(simple["estimate"]).all()
    assert np.isfinite(simple["std_error"]).all()
    assert set(result.to_frame()["cohort"]) == {2020, 2021}


# -- the full excerpts, when present --------------------------------------------------


@needs_excerpts
def test_full_dnb_excerpt():
    with pytest.warns(DroppedObservationsWarning, match=r"2 of 585 row\(s\)"):
        frame = read_dnb(EXCERPTS / "dnb_par_etablissement_excerpt.csv")
    sessions = frame["session"].value_counts().to_dict()
    # the excerpt's README: 2006: 59, 2007: 290 (two pseudo-establishments), ...
    assert sessions == {
        2006: 59,
        2007: 288,
        2008: 66,
        2009: 33,
        2012: 16,
        2015: 58,
        2016: 47,
        2019: 16,
    }
    gap = frame["pass_rate"] - frame["pass_rate_published"]
    assert gap.between(-FLOAT_SLACK, TRUNCATION_STEP - FLOAT_SLACK).all()
    assert (frame[list(od._HONOURS)].sum(axis=1) == frame["n_admitted"]).all()
    assert frame["department"].isin(tne.territories.departments()["code"]).all()
    assert {"2A", "2B", "971", "972", "974"} <= set(frame["department"])


@needs_excerpts
def test_full_ips_excerpt():
    frame = read_ips(EXCERPTS / "ips_colleges_excerpt.csv")
    assert drop_report(frame).n_rows_dropped == 0
    assert frame["year"].value_counts().to_dict() == {
        2016: 36,
        2017: 86,
        2018: 88,
        2020: 30,
        2021: 90,
    }
    assert frame["ips"].min() == pytest.approx(55.1, abs=EXACT)
    assert frame["ips"].max() == pytest.approx(154.8, abs=EXACT)
    assert set(frame["department"]) == {"59", "62"}
    assert frame.loc[frame["year"] <= 2018, "ips_sd"].isna().all()


@needs_excerpts
def test_full_excerpts_panel():
    dnb = _quiet(read_dnb, EXCERPTS / "dnb_par_etablissement_excerpt.csv")
    ips = read_ips(EXCERPTS / "ips_colleges_excerpt.csv")
    panel = _quiet(dnb_panel, dnb, ips)
    # 29 collèges are in both excerpts; 8 of them have an IPS from 2020-21 only
    assert panel["uai"].nunique() == 21
    assert _quiet(dnb_panel, dnb, ips, ips_value="school_mean")["uai"].nunique() == 29
    assert (panel["first_treated"] == 0).all()
    assert set(panel["department"]) == {"59", "62"}


# -- the portal's files in a data folder -----------------------------------------------

TINY_WORLD = WorldConfig(departments=("02", "01", "13"), n_primary=6, n_college=6)


def test_open_data_files_finds_the_portal_names(tmp_path):
    (tmp_path / "fr-en-dnb-par-etablissement.csv").write_text("x\n")
    (tmp_path / "fr-en-ips-colleges-ap2022.csv").write_text("x\n")  # a later release
    (tmp_path / "fr-en-ips_ecoles.csv").write_text("x\n")  # primary schools: not it
    found = od.open_data_files(tmp_path)
    assert found == {
        "dnb": tmp_path / "fr-en-dnb-par-etablissement.csv",
        "ips": tmp_path / "fr-en-ips-colleges-ap2022.csv",
    }


def test_open_data_files_errors_name_the_files_and_the_fix(tmp_path):
    with pytest.raises(DataError, match="is not a folder"):
        od.open_data_files(tmp_path / "nowhere")
    (tmp_path / "fr-en-ips_colleges.csv").write_text("x\n")
    (tmp_path / "fr-en-ips-colleges-ap2022.csv").write_text("x\n")
    with pytest.raises(DataError) as error:
        od.open_data_files(tmp_path)
    message = str(error.value)
    assert "no fr-en-dnb-par-etablissement.csv" in message
    assert "2 files for one dataset" in message and "ap2022" in message
    assert "tne-eval simulate" in message


def test_write_synthetic_open_data_writes_what_the_simulators_give(tmp_path):
    world = simulate(TINY_WORLD)
    paths = od.write_synthetic_open_data(tmp_path / "out", world)
    assert od.open_data_files(tmp_path / "out") == paths
    for key, frame in (("dnb", simulate_dnb(world)), ("ips", simulate_ips(world))):
        buffer = io.StringIO()
        write_open_data(frame, buffer)
        assert paths[key].read_bytes() == buffer.getvalue().encode("utf-8"), key
    colleges = world.school_panel["level"].eq("college").sum()
    panel = dnb_panel(read_dnb(paths["dnb"]), read_ips(paths["ips"]))
    assert len(panel) == colleges  # every collège-year of the world, none dropped


def test_committed_open_data_files_are_those_of_the_committed_world(tmp_path):
    """data/synthetic holds the files `tne-eval simulate` writes for that world."""
    committed = od.open_data_files(REPO / "data" / "synthetic")
    fresh = od.write_synthetic_open_data(tmp_path)
    for key in ("dnb", "ips"):
        assert committed[key].read_bytes() == fresh[key].read_bytes(), key


def test_simulate_command_writes_the_open_data_files(tmp_path, monkeypatch, capsys):
    from tne_eval.cli import main
    from tne_eval.datasets import config

    monkeypatch.setattr(
        config.WorldConfig, "preset", classmethod(lambda cls, scale, seed: TINY_WORLD)
    )
    assert main(["simulate", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    files = od.open_data_files(tmp_path)
    assert [p.name for p in files.values()] == [od.DNB_FILE, od.IPS_FILE]
    header = files["dnb"].read_text(encoding="utf-8").split("\n", 1)[0]
    assert header == ";".join(od.DNB_HEADER)
    assert (tmp_path / "MANIFEST.json").is_file()
