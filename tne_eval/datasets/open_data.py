"""Readers for the ministry's open-data files: brevet results and the IPS.

The open-data portal of the Ministry of National Education publishes, under the
Licence Ouverte / Etalab, the results of the *diplôme national du brevet* (DNB)
by establishment and session (``fr-en-dnb-par-etablissement``) and the social
position index (*indice de position sociale*, IPS) of collèges and écoles by
school year (``fr-en-ips_colleges``, ``fr-en-ips_ecoles``). :func:`read_dnb` and
:func:`read_ips` turn those files into the library's data model (canonical
column names, ``uai`` and department codes as strings, school years in
start-year coding) and :func:`dnb_panel` merges them into a school x year panel
ready for :func:`tne_eval.att_gt`. :func:`simulate_dnb` and :func:`simulate_ips`
write files in the same formats from the synthetic world, so that analyses of
brevet results run without the real files.

**Year coding.** The library codes a school year by the calendar year in which it
starts (``2020`` = 2020-21). The DNB *session* of June 2021 closes school year
2020-21, so ``year = session - 1``. The IPS file labels its rows by the
school year itself (``"2021-2022"``), so ``year`` is the first of the two years.

Every row a reader drops is counted: the returned frame carries a
:class:`tne_eval.data.DropReport` in ``frame.attrs["drop_report"]`` and a
:class:`~tne_eval.errors.DroppedObservationsWarning` says what was dropped.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike, fspath
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

from tne_eval._validation import (
    check_choice,
    check_dataframe,
    format_examples,
    plain,
)
from tne_eval._warnings import warn
from tne_eval.data.prepare import DropRecord, DropReport
from tne_eval.errors import DataError, DroppedObservationsWarning, TneEvalTypeError
from tne_eval.territories import TNE_COHORTS
from tne_eval.territories import departments as _departments

__all__ = [
    "DNB_FILE",
    "DNB_HEADER",
    "IPS_FILE",
    "IPS_HEADER",
    "RATE_TOLERANCE",
    "dnb_panel",
    "drop_report",
    "open_data_files",
    "read_dnb",
    "read_ips",
    "simulate_dnb",
    "simulate_ips",
    "write_open_data",
    "write_synthetic_open_data",
]

#: Largest accepted gap, in percentage points, between the pass rate recomputed
#: as ``100 * n_admitted / n_present`` and the rate printed in the file. The file
#: truncates the rate to one decimal (``93.277`` is printed ``93,20%``), so the
#: gap lies in ``[0, 0.1)``; 0.1 also covers files that round instead.
RATE_TOLERANCE = 0.1
#: Floating-point slack added to :data:`RATE_TOLERANCE` and to whole-number checks.
_EPS = 1e-9

#: Header of ``fr-en-dnb-par-etablissement`` (written by :func:`simulate_dnb`).
DNB_HEADER: tuple[str, ...] = (
    "Session",
    "Numero d'etablissement",
    "Type d'etablissement",
    "Patronyme",
    "Secteur d'enseignement",
    "Commune",
    "Libellé commune",
    "Code département",
    "Libellé département",
    "Code académie",
    "Libellé académie",
    "Code région",
    "Libellé région",
    "Inscrits",
    "Presents",
    "Admis",
    "Admis sans mention",
    "Nombre_d_admis_Mention_AB",
    "Admis Mention bien",
    "Admis Mention très bien",
    "Taux de réussite",
)

#: Header of ``fr-en-ips_colleges`` (written by :func:`simulate_ips`).
IPS_HEADER: tuple[str, ...] = (
    "Rentrée scolaire",
    "Académie",
    "Code du département",
    "Département",
    "UAI",
    "Nom de l'établissment",
    "Code INSEE de la commune",
    "Nom de la commune",
    "Secteur",
    "IPS",
    "Ecart-type de l'IPS",
)

#: File name of the DNB results on the portal (and of the synthetic copy).
DNB_FILE = "fr-en-dnb-par-etablissement.csv"
#: File name of the collèges' IPS on the portal (and of the synthetic copy).
IPS_FILE = "fr-en-ips_colleges.csv"
#: What :func:`open_data_files` looks for: the portal's names, with or without a
#: suffix (``fr-en-ips-colleges-ap2022.csv``, ``..._2021.csv``), any case.
_FILE_PATTERNS = {
    "dnb": re.compile(r"^fr-en-dnb-par-etablissement.*\.csv$", re.IGNORECASE),
    "ips": re.compile(r"^fr-en-ips[-_]colleges.*\.csv$", re.IGNORECASE),
}

_UAI = re.compile(r"^[0-9]{7}[A-Z]$")
_MISSING = frozenset({"", "-", "NA", "N/A", "ND", "NC", "NAN", "NULL"})


@dataclass(frozen=True)
class _Field:
    """A canonical column and the normalised headers that may hold it."""

    name: str
    headers: tuple[str, ...]
    required: bool
    example: str = ""


_DNB_FIELDS: tuple[_Field, ...] = (
    _Field("session", ("session",), True, "Session"),
    _Field(
        "uai",
        ("numero_d_etablissement", "uai", "numero_uai", "code_uai"),
        True,
        "Numero d'etablissement",
    ),
    _Field("establishment_type", ("type_d_etablissement",), False),
    _Field("name", ("patronyme", "nom_de_l_etablissement"), False),
    _Field(
        "sector", ("secteur_d_enseignement", "secteur"), True, "Secteur d'enseignement"
    ),
    _Field("commune", ("commune", "code_commune"), False),
    _Field(
        "department",
        ("code_departement", "code_du_departement"),
        True,
        "Code département",
    ),
    _Field("n_registered", ("inscrits",), False),
    _Field("n_present", ("presents",), True, "Presents"),
    _Field("n_admitted", ("admis",), True, "Admis"),
    _Field("n_no_honours", ("admis_sans_mention",), False),
    _Field(
        "n_honours_fair",
        ("nombre_d_admis_mention_ab", "admis_mention_ab", "admis_mention_assez_bien"),
        False,
    ),
    _Field("n_honours_good", ("admis_mention_bien",), False),
    _Field("n_honours_very_good", ("admis_mention_tres_bien",), False),
    _Field("pass_rate_published", ("taux_de_reussite",), False),
)
_HONOURS = ("n_no_honours", "n_honours_fair", "n_honours_good", "n_honours_very_good")
_COUNTS = ("n_registered", "n_present", "n_admitted", *_HONOURS)

_IPS_FIELDS: tuple[_Field, ...] = (
    _Field(
        "school_year",
        ("rentree_scolaire", "annee_scolaire", "rentree"),
        True,
        "Rentrée scolaire",
    ),
    _Field("uai", ("uai", "code_uai", "numero_uai"), True, "UAI"),
    _Field(
        "department",
        ("code_du_departement", "code_departement"),
        True,
        "Code du département",
    ),
    _Field("sector", ("secteur",), True, "Secteur"),
    _Field("name", ("nom_de_l_etablissment", "nom_de_l_etablissement"), False),
    _Field("commune", ("code_insee_de_la_commune", "code_commune"), False),
    _Field("ips", ("ips", "indice_de_position_sociale"), True, "IPS"),
    _Field("ips_sd", ("ecart_type_de_l_ips",), False),
)


# -- reading the raw text -----------------------------------------------------------


def _key(header: str) -> str:
    """Normalise a header: no accents, lower case, ``_`` between words."""
    text = unicodedata.normalize("NFKD", str(header))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


def _read_text(path_or_buffer: object, what: str) -> str:
    if isinstance(path_or_buffer, (str, PathLike)):
        with open(fspath(path_or_buffer), "rb") as handle:
            raw: bytes | str = handle.read()
    elif hasattr(path_or_buffer, "read"):
        raw = path_or_buffer.read()  # type: ignore[attr-defined]
    else:
        raise TneEvalTypeError(
            f"{what} expects a file path or an open file (got "
            f"{type(path_or_buffer).__name__}). Pass the path of the downloaded CSV."
        )
    if isinstance(raw, bytes):
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            # older downloads of the portal were Windows-1252
            return raw.decode("cp1252")
    return raw.lstrip("\ufeff")


def _read_raw(path_or_buffer: object, what: str) -> pd.DataFrame:
    """Every cell as a stripped string; the separator is guessed from the header."""
    text = _read_text(path_or_buffer, what)
    header = text.split("\n", 1)[0]
    sep = max((";", "\t", ","), key=header.count)
    if not header.strip():
        raise DataError(
            f"{what}: the file is empty (no header row). Pass the CSV downloaded "
            "from the open-data portal."
        )
    raw = pd.read_csv(
        io.StringIO(text),
        sep=sep,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=True,
    )
    return raw.apply(lambda col: col.str.strip()).astype(object)


def _map_columns(
    raw: pd.DataFrame, fields: Sequence[_Field], what: str
) -> dict[str, str]:
    """Canonical name -> header of the file; one error lists every missing column."""
    by_key: dict[str, list[str]] = {}
    for header in raw.columns:
        by_key.setdefault(_key(header), []).append(str(header))
    found: dict[str, str] = {}
    missing: list[_Field] = []
    for field in fields:
        hits = [h for k in field.headers for h in by_key.get(k, [])]
        if len(hits) > 1:
            raise DataError(
                f"{what}: columns {format_examples(hits, len(hits))} all read as "
                f"{field.name!r}. Keep one of them."
            )
        if hits:
            found[field.name] = hits[0]
        elif field.required:
            missing.append(field)
    if missing:
        wanted = "; ".join(
            f"{f.name} (header such as {f.example or f.headers[0]!r})" for f in missing
        )
        raise DataError(
            f"{what}: {len(missing)} required column(s) missing: {wanted}. The file "
            f"has {len(raw.columns)} column(s): "
            f"{format_examples(list(raw.columns), 25)}. Check the separator (';' in "
            "the portal's files) and that this is the right dataset; headers are "
            "matched ignoring case, accents and punctuation."
        )
    return found


def _number(values: pd.Series) -> pd.Series:
    """Parse numbers written with a decimal comma or point, ``%`` and spaces."""
    text = values.astype(str).str.replace(r"[\s\u00a0\u202f%]", "", regex=True)
    text = text.where(~text.str.upper().isin(_MISSING), None)
    text = text.str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce").astype(float)


def _department_codes(values: pd.Series) -> pd.Series:
    """INSEE department code from the file's 3-character codes; NaN if unknown."""
    known = set(_departments()["code"])
    text = values.astype(str).str.upper()
    # '092' -> '92', '02A' -> '2A'; '971' stays; '2' -> '02'
    text = text.where(~(text.str.len().eq(3) & text.str.startswith("0")), text.str[1:])
    text = text.where(~text.str.fullmatch(r"[0-9]"), "0" + text)
    return text.where(text.isin(known), None)


def _sector(values: pd.Series) -> pd.Series:
    key = values.map(_key)
    out = pd.Series(None, index=values.index, dtype=object)
    out[key.str.startswith("public")] = "public"
    out[key.str.startswith("prive")] = "private"
    return out


class _Drops:
    """Collect the rows a reader drops, one record per reason, in order."""

    def __init__(self, frame: pd.DataFrame, what: str, invalid: str) -> None:
        self.n_rows_in = len(frame)
        self.what = what
        self.invalid = invalid
        self.records: list[DropRecord] = []

    def apply(
        self,
        frame: pd.DataFrame,
        bad: pd.Series,
        reason: str,
        detail: str,
        show: Sequence[str],
    ) -> pd.DataFrame:
        bad = bad.fillna(True).astype(bool)
        n = int(bad.sum())
        if n == 0:
            return frame
        first = frame.loc[bad].iloc[0]
        example = ", ".join(
            f"{c}={plain(first[c])!r}" for c in show if c in frame.columns
        )
        line = f"line {int(first['_line'])}: " if "_line" in frame.columns else ""
        where = f" (e.g. {line}{example})"
        units = frame.loc[bad, "uai"].nunique() if "uai" in frame.columns else 0
        message = (
            f"{self.what}: {n} of {self.n_rows_in} row(s) {reason}{where}; {detail}"
        )
        if self.invalid == "raise":
            raise DataError(message + " Fix the file, or pass invalid='drop'.")
        self.records.append(DropRecord(reason, n, int(units), message))
        return frame.loc[~bad]

    def report(self) -> DropReport:
        report = DropReport(self.n_rows_in, tuple(self.records))
        if report.n_rows_dropped:
            warn(
                " ".join(report.notes) + " The counts are in "
                "frame.attrs['drop_report'].",
                DroppedObservationsWarning,
            )
        return report


def _finish(frame: pd.DataFrame, columns: Sequence[str], drops: _Drops) -> pd.DataFrame:
    out = frame[[c for c in columns if c in frame.columns]].reset_index(drop=True)
    out.attrs["drop_report"] = drops.report()
    return out


def _check_unique(frame: pd.DataFrame, keys: Sequence[str], what: str) -> None:
    dup = frame.duplicated(list(keys), keep=False)
    if dup.any():
        first = frame.loc[dup].iloc[0]
        lines = frame.loc[dup & frame[list(keys)].eq(first[list(keys)]).all(axis=1)]
        raise DataError(
            f"{what}: {int(dup.sum())} row(s) share their "
            f"{' x '.join(keys)} with another row (e.g. "
            + ", ".join(f"{k}={plain(first[k])!r}" for k in keys)
            + f" on lines {format_examples(lines['_line'].tolist())}). Each "
            "establishment must appear once per year; remove the duplicates or "
            "aggregate them before reading."
        )


def _check_invalid(invalid: object) -> str:
    return check_choice(invalid, "invalid", ("drop", "raise"))


# -- DNB ----------------------------------------------------------------------------


def read_dnb(
    path_or_buffer: str | PathLike[str] | IO[Any],
    *,
    invalid: Literal["drop", "raise"] = "drop",
) -> pd.DataFrame:
    """Read the DNB results by establishment into a school x session table.

    Parameters
    ----------
    path_or_buffer : str, path-like or file-like
        The CSV ``fr-en-dnb-par-etablissement`` of the ministry's open-data portal
        (or an excerpt, or the output of :func:`simulate_dnb`). UTF-8 (Windows-1252
        is accepted), separator ``;`` (``,`` and tab are recognised from the
        header), decimal commas, ``-`` for missing values. Headers are matched
        ignoring case, accents and punctuation.
    invalid : {"drop", "raise"}, default "drop"
        What to do with rows that cannot enter the data model (see Notes): drop
        them and count them, or raise a :class:`~tne_eval.errors.DataError`.

    Returns
    -------
    pandas.DataFrame
        One row per establishment and session, sorted as in the file, with
        ``uai`` (str, e.g. ``"0590046E"``), ``session`` (int, the June of the
        exam), ``year`` (int, ``session - 1``: the school year the session closes,
        start-year coding), ``department`` (INSEE code, str: ``"02"``, ``"2A"``,
        ``"971"``), ``sector`` (``"public"`` or ``"private"``), and when the file
        has them ``establishment_type``, ``name``, ``commune`` (str); the counts
        ``n_registered`` (*inscrits*), ``n_present`` (*présents*, the candidates
        who sat the exam), ``n_admitted`` (int64); ``pass_rate`` (float, percent:
        ``100 * n_admitted / n_present``); ``pass_rate_published`` (float, the
        file's rate); ``n_no_honours``, ``n_honours_fair``, ``n_honours_good``,
        ``n_honours_very_good`` (int64, admitted without honours, with *assez
        bien*, *bien*, *très bien*). ``frame.attrs["drop_report"]`` holds a
        :class:`~tne_eval.data.DropReport` of the dropped rows.

    Raises
    ------
    DataError
        If a required column is missing (the message lists them and the file's
        columns), if the file has no rows, if an establishment appears twice in
        a session, or with ``invalid="raise"`` if a row is invalid.
    TneEvalTypeError
        If ``path_or_buffer`` is neither a path nor a file.

    Warns
    -----
    DroppedObservationsWarning
        When rows are dropped, with the count for each reason.

    See Also
    --------
    read_ips : the social position index.
    dnb_panel : merge both into a school x year panel.

    Notes
    -----
    Rows are dropped, in this order, when: the establishment number is not a UAI
    (7 digits and a letter; the file has ``GROUPEnn`` pseudo-establishments);
    the session is missing; the department is not one of the 101 departments
    (e.g. ``975``, ``988``); the sector is neither public nor private; a count
    among registered, present and admitted is missing, negative or not a whole
    number; no candidate was present (the rate is undefined); admitted exceeds
    present, or present exceeds registered; the honours columns do not add up
    to the admitted; or the published rate differs from the recomputed one by
    more than :data:`RATE_TOLERANCE` percentage points (the file truncates it
    to one decimal).

    Examples
    --------
    >>> import io
    >>> from tne_eval.datasets import read_dnb, simulate_dnb, write_open_data
    >>> buffer = io.StringIO()
    >>> write_open_data(simulate_dnb(), buffer)
    >>> dnb = read_dnb(io.StringIO(buffer.getvalue()))
    >>> int((dnb["session"] - dnb["year"]).unique()[0])
    1
    >>> dnb.attrs["drop_report"].n_rows_dropped
    0
    """
    invalid = _check_invalid(invalid)
    what = "read_dnb"
    raw = _read_raw(path_or_buffer, what)
    columns = _map_columns(raw, _DNB_FIELDS, what)
    if raw.empty:
        raise DataError(f"{what}: the file has a header but no rows.")
    df = pd.DataFrame({name: raw[header] for name, header in columns.items()})
    df["_line"] = np.arange(2, len(df) + 2)
    drops = _Drops(df, what, invalid)

    df["uai"] = df["uai"].str.upper()
    df = drops.apply(
        df,
        ~df["uai"].str.match(_UAI.pattern),
        "have an establishment number that is not a UAI",
        "a UAI is 7 digits and a letter; pseudo-establishments such as "
        "'GROUPE08' cannot be followed over time.",
        ["uai"],
    )
    session = _number(df["session"])
    df = drops.apply(
        df,
        session.isna() | (session % 1 != 0),
        "have no session year",
        "the session must be a year such as 2021.",
        ["uai", "session"],
    )
    df["session"] = _number(df["session"]).astype(np.int64)
    df["year"] = df["session"] - 1
    df["department"] = _department_codes(df["department"])
    df = drops.apply(
        df,
        df["department"].isna(),
        "are outside the 101 departments",
        "only the departments of tne_eval.territories ('01'...'95', '2A', '2B', "
        "'971'...'976') enter the data model.",
        ["uai", "session"],
    )
    df["sector"] = _sector(df["sector"])
    df = drops.apply(
        df,
        df["sector"].isna(),
        "have a sector that is neither public nor private",
        "the sector must read PUBLIC or PRIVE.",
        ["uai", "session"],
    )
    counts = [c for c in _COUNTS if c in df.columns]
    for col in counts:
        df[col] = _number(df[col])
    core = [c for c in ("n_registered", "n_present", "n_admitted") if c in df]
    values = df[core]
    df = drops.apply(
        df,
        (values.isna() | (values < 0) | (values % 1 > _EPS)).any(axis=1),
        "have a missing, negative or fractional count of candidates",
        f"the columns {format_examples(core, len(core))} must be whole numbers.",
        ["uai", "session", *core],
    )
    df = drops.apply(
        df,
        df["n_present"].eq(0),
        "have no candidate present",
        "the pass rate is undefined without candidates.",
        ["uai", "session", "n_present"],
    )
    over = df["n_admitted"] > df["n_present"]
    if "n_registered" in df:
        over |= df["n_present"] > df["n_registered"]
    df = drops.apply(
        df,
        over,
        "have more admitted than present, or more present than registered",
        "the counts contradict each other.",
        ["uai", "session", *core],
    )
    honours = [c for c in _HONOURS if c in df.columns]
    if len(honours) == len(_HONOURS):
        h = df[honours]
        bad = (h.isna() | (h < 0) | (h % 1 > _EPS)).any(axis=1)
        bad |= (h.sum(axis=1) - df["n_admitted"]).abs() > _EPS
        df = drops.apply(
            df,
            bad,
            "have honours counts that do not add up to the admitted",
            "admitted = without honours + assez bien + bien + très bien.",
            ["uai", "session", "n_admitted", *honours],
        )
    for col in counts:
        if col in core or len(honours) == len(_HONOURS):
            df[col] = df[col].astype(np.int64)
        else:  # a partial set of honours columns is kept as read
            df[col] = df[col].astype("Int64")
    df["pass_rate"] = 100.0 * df["n_admitted"] / df["n_present"]
    if "pass_rate_published" in df:
        published = _number(df["pass_rate_published"])
        if published.notna().any() and published.max() <= 1.0:
            published = 100.0 * published  # a proportion, not a percentage
        df["pass_rate_published"] = published
        gap = (df["pass_rate"] - published).abs()
        df = drops.apply(
            df,
            published.notna() & (gap > RATE_TOLERANCE + _EPS),
            "have a published pass rate that differs from admitted / present by "
            f"more than {RATE_TOLERANCE} percentage point",
            "the file's counts or its rate are wrong for these rows.",
            ["uai", "session", "n_present", "n_admitted", "pass_rate_published"],
        )
    _check_unique(df, ("uai", "session"), what)
    order = (
        "uai",
        "session",
        "year",
        "department",
        "sector",
        "establishment_type",
        "name",
        "commune",
        "n_registered",
        "n_present",
        "n_admitted",
        "pass_rate",
        "pass_rate_published",
        *_HONOURS,
    )
    out = _finish(df, order, drops)
    for col in ("uai", "department", "sector", "establishment_type", "name", "commune"):
        if col in out:
            out[col] = out[col].astype(str)
    return out


# -- IPS ----------------------------------------------------------------------------


def _start_year(labels: pd.Series) -> pd.Series:
    """``"2021-2022"``, ``"2021-22"`` or ``"2021"`` -> 2021; NaN otherwise."""
    parts = labels.astype(str).str.extract(r"^([0-9]{4})(?:\s*[-/]\s*([0-9]{2,4}))?$")
    start = pd.to_numeric(parts[0], errors="coerce")
    end = pd.to_numeric(parts[1], errors="coerce")
    follows = end.isna() | (end == start + 1) | (end == (start + 1) % 100)
    return start.where(follows)


def read_ips(
    path_or_buffer: str | PathLike[str] | IO[Any],
    *,
    invalid: Literal["drop", "raise"] = "drop",
) -> pd.DataFrame:
    """Read the social position index (IPS) of schools into a school x year table.

    Parameters
    ----------
    path_or_buffer : str, path-like or file-like
        The CSV ``fr-en-ips_colleges`` or ``fr-en-ips_ecoles`` of the ministry's
        open-data portal (or an excerpt, or the output of :func:`simulate_ips`).
        Separator ``;`` (``,`` and tab recognised), decimal point or comma.
    invalid : {"drop", "raise"}, default "drop"
        Drop and count the rows that cannot enter the data model, or raise a
        :class:`~tne_eval.errors.DataError`.

    Returns
    -------
    pandas.DataFrame
        One row per school and school year: ``uai`` (str), ``year`` (int, the
        first year of the school-year label: ``"2021-2022"`` gives 2021, the
        library's start-year coding), ``school_year`` (the file's label),
        ``department`` (INSEE code, str), ``sector`` (``"public"`` or
        ``"private"``; *privé sous contrat* is private), ``name`` and ``commune``
        when present, ``ips`` (float), ``ips_sd`` (float, standard deviation of
        the pupils' IPS, NaN where the file leaves it empty), and every other
        column whose header names the IPS (e.g. ``IPS voie GT`` as
        ``ips_voie_gt``), as float. ``frame.attrs["drop_report"]`` holds a
        :class:`~tne_eval.data.DropReport`.

    Raises
    ------
    DataError
        If a required column is missing, if the file has no rows, if a school
        appears twice in a year, or with ``invalid="raise"`` if a row is invalid.
    TneEvalTypeError
        If ``path_or_buffer`` is neither a path nor a file.

    Warns
    -----
    DroppedObservationsWarning
        When rows are dropped, with the count for each reason.

    Notes
    -----
    Rows are dropped, in this order, when the UAI is not 7 digits and a letter,
    the school year is not a label such as ``2021-2022``, the department is not
    one of the 101, the sector is neither public nor private, or the IPS is
    missing.

    Examples
    --------
    >>> import io
    >>> from tne_eval.datasets import read_ips, simulate_ips, write_open_data
    >>> buffer = io.StringIO()
    >>> write_open_data(simulate_ips(), buffer)
    >>> ips = read_ips(io.StringIO(buffer.getvalue()))
    >>> ips.loc[0, "uai"], int(ips.loc[0, "year"]), ips.loc[0, "school_year"]
    ('0010001W', 2016, '2016-2017')
    """
    invalid = _check_invalid(invalid)
    what = "read_ips"
    raw = _read_raw(path_or_buffer, what)
    columns = _map_columns(raw, _IPS_FIELDS, what)
    if raw.empty:
        raise DataError(f"{what}: the file has a header but no rows.")
    df = pd.DataFrame({name: raw[header] for name, header in columns.items()})
    used = set(columns.values())
    extras = []
    for header in raw.columns:
        key = _key(header)
        if header not in used and re.search(r"(^|_)ips(_|$)", key):
            name = key if key.startswith("ips") else f"ips_{key}"
            if name not in df.columns:
                df[name] = raw[header]
                extras.append(name)
    df["_line"] = np.arange(2, len(df) + 2)
    drops = _Drops(df, what, invalid)

    df["uai"] = df["uai"].str.upper()
    df = drops.apply(
        df,
        ~df["uai"].str.match(_UAI.pattern),
        "have a UAI that is not 7 digits and a letter",
        "such rows cannot be matched to an establishment.",
        ["uai"],
    )
    year = _start_year(df["school_year"])
    df = drops.apply(
        df,
        year.isna(),
        "have a school year that is not a label such as '2021-2022'",
        "the year is read as the first year of the label.",
        ["uai", "school_year"],
    )
    df["year"] = _start_year(df["school_year"]).astype(np.int64)
    df["department"] = _department_codes(df["department"])
    df = drops.apply(
        df,
        df["department"].isna(),
        "are outside the 101 departments",
        "only the departments of tne_eval.territories enter the data model.",
        ["uai", "school_year"],
    )
    df["sector"] = _sector(df["sector"])
    df = drops.apply(
        df,
        df["sector"].isna(),
        "have a sector that is neither public nor private",
        "the sector must read 'public' or 'privé sous contrat'.",
        ["uai", "school_year"],
    )
    df = drops.apply(
        df,
        _number(df["ips"]).isna(),
        "have no IPS value",
        "the IPS must be a number such as 81.2 or 81,2.",
        ["uai", "school_year", "ips"],
    )
    for col in ("ips", "ips_sd", *extras):
        if col in df:
            df[col] = _number(df[col])
    _check_unique(df, ("uai", "year"), what)
    order = (
        "uai",
        "year",
        "school_year",
        "department",
        "sector",
        "name",
        "commune",
        "ips",
        "ips_sd",
        *extras,
    )
    out = _finish(df, order, drops)
    for col in ("uai", "school_year", "department", "sector", "name", "commune"):
        if col in out:
            out[col] = out[col].astype(str)
    return out


def drop_report(frame: pd.DataFrame) -> DropReport:
    """Return the :class:`~tne_eval.data.DropReport` a reader attached to a frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        A frame returned by :func:`read_dnb`, :func:`read_ips` or
        :func:`dnb_panel`.

    Returns
    -------
    DropReport
        The rows read and, for each reason, the rows dropped.

    Raises
    ------
    DataError
        If the frame carries no report (it was not built by these readers, or a
        pandas operation discarded ``frame.attrs``).
    """
    report = check_dataframe(frame, "frame").attrs.get("drop_report")
    if not isinstance(report, DropReport):
        raise DataError(
            "frame.attrs has no 'drop_report': the frame was not returned by "
            "read_dnb, read_ips or dnb_panel, or a pandas operation dropped its "
            "attrs. Keep the frame the reader returned."
        )
    return report


# -- panel --------------------------------------------------------------------------


def dnb_panel(
    dnb: pd.DataFrame,
    ips: pd.DataFrame,
    *,
    ips_value: Literal["pre_tne_mean", "school_mean", "same_year"] = "pre_tne_mean",
    weights: Literal["mean", "first"] = "mean",
    establishment_types: Sequence[str] | None = ("COLLEGE",),
) -> pd.DataFrame:
    """Merge DNB results and the IPS into a school x year panel with TNE cohorts.

    Parameters
    ----------
    dnb : pandas.DataFrame
        The output of :func:`read_dnb` (not modified).
    ips : pandas.DataFrame
        The output of :func:`read_ips` (not modified).
    ips_value : {"pre_tne_mean", "school_mean", "same_year"}, default \
"pre_tne_mean"
        The covariate ``ips``. ``"pre_tne_mean"``: the mean of the school's IPS
        over the school years before the first TNE wave (2016-17 to 2019-20, as
        the IPS is published from 2016-17), the same years for every school, so
        that the covariate cannot reflect the programme. ``"school_mean"``: the
        mean over every year of ``ips``. Both are constant within school, which
        is what :func:`tne_eval.att_gt` uses. ``"same_year"``: the IPS of the same
        school year, leaving out the years without one (a time-varying
        covariate, possibly affected by the programme).
    weights : {"mean", "first"}, default "mean"
        The school weight ``n_candidates``: the mean number of candidates present
        per session over the school's rows of the panel, or the number in its
        first year. Panel weights must be constant within the unit.
    establishment_types : sequence of str or None, default ("COLLEGE",)
        Keep these values of ``establishment_type`` (``None`` keeps every type).
        The IPS of collèges covers collèges only.

    Returns
    -------
    pandas.DataFrame
        One row per school and year, sorted by ``uai`` then ``year``: ``uai``,
        ``year`` (start-year coding), ``session``, ``department``, ``sector``,
        ``first_treated`` (int: the first TNE school year of the department,
        ``0`` if never in TNE), ``treated`` (bool, ``year >= first_treated > 0``),
        ``pass_rate`` (percent), ``n_present``, ``n_admitted``, ``n_candidates``
        (float, the weight) and ``ips`` (float). ``frame.attrs["drop_report"]``
        counts the dropped rows. Ready for
        ``PanelSpec(unit="uai", time="year", outcome="pass_rate",
        cohort="first_treated", cluster="department", weights="n_candidates",
        covariates=("ips",))``.

    Raises
    ------
    SpecError
        If an option is not one of its values.
    DataError
        If a column of the readers' output is missing, or a school has two
        rows in a year.
    TneEvalTypeError
        If ``dnb`` or ``ips`` is not a DataFrame.

    Warns
    -----
    DroppedObservationsWarning
        When rows are dropped (other establishment types, no IPS).

    Notes
    -----
    The department, sector and session come from the DNB file. A school whose
    department is not in TNE is never treated (``first_treated = 0``, the
    convention of ``PanelSpec(never_treated="zero")``). The DNB of session
    ``s`` is taken at the end of school year ``s - 1``, so in a department of
    cohort 2020 the session of June 2021 (year 2020) is the first treated one.

    Examples
    --------
    >>> import io
    >>> import tne_eval as tne
    >>> from tne_eval.datasets import (
    ...     dnb_panel, read_dnb, read_ips, simulate_dnb, simulate_ips,
    ...     write_open_data)
    >>> files = {}
    >>> for name, frame in (("dnb", simulate_dnb()), ("ips", simulate_ips())):
    ...     files[name] = io.StringIO()
    ...     write_open_data(frame, files[name])
    ...     _ = files[name].seek(0)
    >>> panel = dnb_panel(read_dnb(files["dnb"]), read_ips(files["ips"]))
    >>> sorted(panel.loc[panel["first_treated"] > 0, "department"].unique())[:3]
    ['02', '13', '18']
    """
    what = "dnb_panel"
    dnb = check_dataframe(dnb, "dnb")
    ips = check_dataframe(ips, "ips")
    ips_value = check_choice(
        ips_value, "ips_value", ("pre_tne_mean", "school_mean", "same_year")
    )
    weights = check_choice(weights, "weights", ("mean", "first"))
    need_dnb = ("uai", "year", "session", "department", "sector", "n_present")
    need_dnb = (*need_dnb, "n_admitted", "pass_rate")
    for frame, name, need in (
        (dnb, "dnb", need_dnb),
        (ips, "ips", ("uai", "year", "ips")),
    ):
        missing = [c for c in need if c not in frame.columns]
        if missing:
            raise DataError(
                f"{what}: {name} lacks column(s) {format_examples(missing, 9)} "
                f"(it has {format_examples(list(frame.columns), 20)}). Pass the "
                f"frame returned by read_{name}()."
            )
    df = dnb.loc[:, [c for c in (*need_dnb, "establishment_type") if c in dnb]].copy()
    drops = _Drops(df, what, "drop")
    if establishment_types is not None and "establishment_type" in df:
        kept = [str(t) for t in establishment_types]
        df = drops.apply(
            df,
            ~df["establishment_type"].isin(kept),
            f"are not of type {format_examples(kept, len(kept))}",
            "pass establishment_types=None to keep every type.",
            ["uai", "session", "establishment_type"],
        )
    table = ips.loc[:, ["uai", "year", "ips"]]
    if ips_value in ("pre_tne_mean", "school_mean"):
        if ips_value == "pre_tne_mean":
            table = table.loc[table["year"] < min(TNE_COHORTS)]
            no_ips = (
                "have no IPS for their school before the first TNE year "
                f"{min(TNE_COHORTS)}"
            )
        else:
            no_ips = "have no IPS for their school in any year"
        school = table.groupby("uai", sort=False)["ips"].mean()
        df["ips"] = df["uai"].map(school).astype(float)
    else:
        dup = table.duplicated(["uai", "year"])
        if dup.any():
            raise DataError(
                f"{what}: ips has {int(dup.sum())} duplicated uai x year rows. "
                "Pass the frame returned by read_ips()."
            )
        key = pd.MultiIndex.from_frame(table[["uai", "year"]])
        lookup = pd.Series(table["ips"].to_numpy(), index=key)
        df["ips"] = lookup.reindex(
            pd.MultiIndex.from_frame(df[["uai", "year"]])
        ).to_numpy(dtype=float)
        no_ips = "have no IPS for their school in that year"
    df = drops.apply(
        df,
        df["ips"].isna(),
        no_ips,
        "the IPS is published from 2016-17 on; ips_value='school_mean' uses any "
        "year of the school, 'same_year' the year of the row.",
        ["uai", "session"],
    )
    if df.duplicated(["uai", "year"]).any():
        raise DataError(
            f"{what}: dnb has schools with two rows in a year. Pass the frame "
            "returned by read_dnb()."
        )
    if df.empty:
        raise DataError(
            f"{what}: no row is left ({drops.n_rows_in} read): "
            + " ".join(r.message for r in drops.records)
        )
    cohorts = _departments().set_index("code")["tne_cohort"]
    df["first_treated"] = (
        df["department"].map(cohorts).astype("Int64").fillna(0).astype(np.int64)
    )
    df["treated"] = (df["first_treated"] > 0) & (df["year"] >= df["first_treated"])
    df = df.sort_values(["uai", "year"], kind="stable")
    group = df.groupby("uai", sort=False)["n_present"]
    per_school = group.transform("mean" if weights == "mean" else "first")
    df["n_candidates"] = per_school.astype(float)
    order = (
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
    )
    return _finish(df, order, drops)


# -- synthetic files ----------------------------------------------------------------

#: Stylised pass model of :func:`simulate_dnb`: a pupil passes when the mean of
#: their French and mathematics scores reaches ``_PASS_CUT``, with honours from
#: the next cut-offs (scale of the synthetic tests: mean 250, SD 50).
_PASS_CUT = 200.0
_HONOURS_CUTS = (250.0, 280.0, 310.0)  # assez bien, bien, très bien
_UAI_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def _file_department(code: pd.Series) -> pd.Series:
    """INSEE department code -> the files' 3-character code (``"02"`` -> ``"002"``)."""
    return code.astype(str).str.rjust(3, "0")


def _synthetic_uai(school_id: pd.Series, department: pd.Series) -> pd.Series:
    """Build UAI-shaped ids: department (3 characters), serial (4 digits), letter.

    Corsica uses the prefixes ``620`` (2A) and ``720`` (2B), as real UAIs do. The
    letter is the remainder of the 7-digit number modulo 23, as in the UAI.
    """
    serial = school_id.astype(str).str[-5:].astype(int)
    if (serial >= 10_000).any():
        raise DataError(
            "simulate_dnb: a department has 10,000 collèges or more; synthetic UAIs "
            "hold a 4-digit serial. Simulate a smaller world."
        )
    prefix = _file_department(department).replace({"02A": "620", "02B": "720"})
    digits = prefix + serial.map("{:04d}".format)
    letters = digits.astype(int).mod(23).map(lambda r: _UAI_LETTERS[r])
    return digits + letters


def _world_tables(world: object, names: Sequence[str]) -> list[pd.DataFrame]:
    from tne_eval.datasets.load import load_synthetic
    from tne_eval.datasets.simulate import SyntheticWorld

    if world is None:
        return [load_synthetic(name) for name in names]  # type: ignore[misc]
    if not isinstance(world, SyntheticWorld):
        raise TneEvalTypeError(
            f"world must be a SyntheticWorld from tne_eval.datasets.simulate() or "
            f"None for the committed world (got {type(world).__name__})."
        )
    return [getattr(world, name) for name in names]


def _upper_ascii(values: pd.Series) -> pd.Series:
    return values.map(
        lambda s: (
            "".join(
                ch
                for ch in unicodedata.normalize("NFKD", str(s))
                if not unicodedata.combining(ch)
            )
            .upper()
            .replace("'", " ")
        )
    )


def simulate_dnb(world: object = None) -> pd.DataFrame:
    """Brevet results of the synthetic world's collèges, in the open-data format.

    Parameters
    ----------
    world : SyntheticWorld, optional
        A world from :func:`tne_eval.datasets.simulate`; by default the committed
        one (:func:`tne_eval.datasets.load_synthetic`).

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`DNB_HEADER`, every cell a string formatted as in
        ``fr-en-dnb-par-etablissement``: department codes on 3 characters
        (``002``, ``02A``, ``971``), sector ``PUBLIC``/``PRIVE``, ``-`` for the
        commune, académie and region codes, and the pass rate with a decimal
        comma, truncated to one decimal (``93,20%``). One row per collège and
        school year of the world's school panel, session = year + 1. Write it
        with :func:`write_open_data`.

    Notes
    -----
    A stylised pass model, not DEPP's grading: a pupil of grade 3e is admitted
    when the mean of their French and mathematics scores in ``pupils`` reaches
    200 (about 85% of pupils in 2016), with honours from 250 (*assez bien*), 280
    (*bien*) and 310 (*très bien*). The counts are exact functions of the world,
    so no seed is needed; TNE effects on scores carry over to the pass rate.
    ``Inscrits`` is the school's enrolment ``n_expected`` and ``Presents`` its
    tested pupils ``n_pupils``. The establishment number is a synthetic UAI:
    the department on 3 characters (``620``/``720`` for 2A/2B), the last 4
    digits of the ``school_id`` and the letter of the UAI check (the 7-digit
    number modulo 23).

    Examples
    --------
    >>> from tne_eval.datasets import simulate_dnb
    >>> dnb = simulate_dnb()
    >>> dnb.iloc[0][["Session", "Numero d'etablissement", "Code département"]].tolist()
    ['2017', '0010001W', '001']
    """
    panel, pupils, departments = _world_tables(
        world, ("school_panel", "pupils", "departments")
    )
    colleges = panel.loc[panel["level"] == "college"]
    tested = pupils.loc[pupils["grade"] == "3e", ["school_id", "year"]].copy()
    mean = (
        pupils.loc[tested.index, "score_french"]
        + pupils.loc[tested.index, "score_math"]
    ) / 2
    bands = np.searchsorted(np.array([_PASS_CUT, *_HONOURS_CUTS]), mean, side="right")
    tested["band"] = bands
    counts = (
        tested.groupby(["school_id", "year", "band"])
        .size()
        .unstack("band", fill_value=0)
    )
    counts = counts.reindex(columns=range(5), fill_value=0)
    key = pd.MultiIndex.from_frame(colleges[["school_id", "year"]])
    counts = counts.reindex(key, fill_value=0)
    present = colleges["n_pupils"].to_numpy()
    admitted = counts[[1, 2, 3, 4]].sum(axis=1).to_numpy()
    if not np.array_equal(counts.sum(axis=1).to_numpy(), present):  # pragma: no cover
        raise DataError("simulate_dnb: the world's pupils and school panel disagree.")
    names = departments.set_index("department")
    tenths = (1000 * admitted) // np.maximum(present, 1)
    rate = [f"{t // 10},{t % 10}0%" for t in tenths]
    dep = colleges["department"]
    out = {
        "Session": (colleges["year"] + 1).astype(str),
        "Numero d'etablissement": _synthetic_uai(colleges["school_id"], dep),
        "Type d'etablissement": "COLLEGE",
        "Patronyme": "COLLEGE " + colleges["school_id"].astype(str),
        "Secteur d'enseignement": colleges["sector"].map(
            {"public": "PUBLIC", "private": "PRIVE"}
        ),
        "Commune": "-",
        "Libellé commune": "-",
        "Code département": _file_department(dep),
        "Libellé département": _upper_ascii(dep.map(names["name"])),
        "Code académie": "-",
        "Libellé académie": _upper_ascii(dep.map(names["academie"])),
        "Code région": "-",
        "Libellé région": _upper_ascii(dep.map(names["region"])),
        "Inscrits": colleges["n_expected"].astype(str),
        "Presents": colleges["n_pupils"].astype(str),
        "Admis": admitted.astype(str),
        "Admis sans mention": counts[1].astype(str).to_numpy(),
        "Nombre_d_admis_Mention_AB": counts[2].astype(str).to_numpy(),
        "Admis Mention bien": counts[3].astype(str).to_numpy(),
        "Admis Mention très bien": counts[4].astype(str).to_numpy(),
        "Taux de réussite": rate,
    }
    frame = pd.DataFrame({k: _as_text(v, len(colleges)) for k, v in out.items()})
    return frame[list(DNB_HEADER)]


def _as_text(values: object, n: int) -> np.ndarray:
    if isinstance(values, str):
        return np.full(n, values, dtype=object)
    return np.asarray(values, dtype=object).astype(str).astype(object)


def simulate_ips(world: object = None) -> pd.DataFrame:
    """Social position index of the synthetic world's collèges, open-data format.

    Parameters
    ----------
    world : SyntheticWorld, optional
        A world from :func:`tne_eval.datasets.simulate`; by default the committed
        one.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`IPS_HEADER` as strings, formatted as in
        ``fr-en-ips_colleges``: school year ``"2016-2017"``, department on 3
        characters, sector ``public`` / ``privé sous contrat``, the school's
        ``social_index`` as the IPS with a decimal point, and an empty standard
        deviation (the synthetic world has no pupil-level index). One row per
        collège and school year of the school panel; the UAIs are those of
        :func:`simulate_dnb`.

    Examples
    --------
    >>> from tne_eval.datasets import simulate_ips
    >>> simulate_ips().iloc[0][["Rentrée scolaire", "UAI", "IPS"]].tolist()
    ['2016-2017', '0010001W', '102.4']
    """
    (panel, departments) = _world_tables(world, ("school_panel", "departments"))
    colleges = panel.loc[panel["level"] == "college"]
    dep = colleges["department"]
    names = departments.set_index("department")
    out = {
        "Rentrée scolaire": colleges["year"].astype(str)
        + "-"
        + (colleges["year"] + 1).astype(str),
        "Académie": _upper_ascii(dep.map(names["academie"])),
        "Code du département": _file_department(dep),
        "Département": _upper_ascii(dep.map(names["name"])),
        "UAI": _synthetic_uai(colleges["school_id"], dep),
        "Nom de l'établissment": "COLLEGE " + colleges["school_id"].astype(str),
        "Code INSEE de la commune": "-",
        "Nom de la commune": "-",
        "Secteur": colleges["sector"].map(
            {"public": "public", "private": "privé sous contrat"}
        ),
        "IPS": colleges["social_index"].map("{:.1f}".format),
        "Ecart-type de l'IPS": "",
    }
    frame = pd.DataFrame({k: _as_text(v, len(colleges)) for k, v in out.items()})
    return frame[list(IPS_HEADER)]


def write_open_data(
    frame: pd.DataFrame, path_or_buffer: str | PathLike[str] | IO[str]
) -> None:
    """Write a frame of :func:`simulate_dnb` or :func:`simulate_ips` as the portal does.

    UTF-8, ``;`` as the separator, LF line endings, one header row, no
    quotes and no index, so that the file reads like a download of the portal.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns and cells as strings (the output of :func:`simulate_dnb` or
        :func:`simulate_ips`); not modified.
    path_or_buffer : str, path-like or text file
        Destination.

    Raises
    ------
    DataError
        If a cell holds ``;`` or a line break, which the format cannot quote.
    """
    frame = check_dataframe(frame, "frame")
    text = frame.astype(str)
    bad = text.apply(lambda col: col.str.contains(r"[;\n\r]", regex=True)).any(axis=1)
    if bad.any() or any(re.search(r"[;\n\r]", str(c)) for c in frame.columns):
        raise DataError(
            f"write_open_data: {int(bad.sum())} row(s) hold ';' or a line break, "
            "which the open-data format cannot quote. Remove them first."
        )
    lines = [";".join(map(str, frame.columns))]
    lines += [";".join(row) for row in text.itertuples(index=False, name=None)]
    content = "\n".join(lines) + "\n"
    if isinstance(path_or_buffer, (str, PathLike)):
        with open(fspath(path_or_buffer), "w", encoding="utf-8", newline="") as fh:
            fh.write(content)
    elif hasattr(path_or_buffer, "write"):
        path_or_buffer.write(content)
    else:
        raise TneEvalTypeError(
            "path_or_buffer must be a path or a text file open for writing (got "
            f"{type(path_or_buffer).__name__})."
        )


# -- files of a data folder ---------------------------------------------------------


def open_data_files(folder: str | PathLike[str]) -> dict[str, Path]:
    """Find the DNB and IPS files of a data folder.

    Parameters
    ----------
    folder : str or path-like
        A folder holding the portal's files as downloaded
        (``fr-en-dnb-par-etablissement.csv`` and ``fr-en-ips_colleges.csv``; a
        suffix after the dataset name, as in ``fr-en-ips-colleges-ap2022.csv``,
        is accepted), such as the one ``tne-eval simulate`` writes.

    Returns
    -------
    dict
        ``{"dnb": Path, "ips": Path}``.

    Raises
    ------
    DataError
        If the folder does not exist, if a file is missing, or if several files
        match one dataset (the message lists them; keep one, or concatenate the
        IPS releases into one file first).

    Examples
    --------
    >>> from tne_eval.datasets import open_data_files
    >>> from tne_eval.datasets.load import default_data_dir
    >>> sorted(p.name for p in open_data_files(default_data_dir()).values())
    ['fr-en-dnb-par-etablissement.csv', 'fr-en-ips_colleges.csv']
    """
    root = Path(fspath(folder))
    if not root.is_dir():
        raise DataError(
            f"open_data_files: {str(root)!r} is not a folder. Pass the folder that "
            f"holds {DNB_FILE} and {IPS_FILE}."
        )
    names = sorted(p.name for p in root.iterdir() if p.is_file())
    found: dict[str, Path] = {}
    problems = []
    for key, wanted in (("dnb", DNB_FILE), ("ips", IPS_FILE)):
        hits = [n for n in names if _FILE_PATTERNS[key].match(n)]
        if len(hits) == 1:
            found[key] = root / hits[0]
        elif not hits:
            problems.append(f"no {wanted} (or {wanted[:-4]}*.csv)")
        else:
            problems.append(
                f"{len(hits)} files for one dataset ({format_examples(hits)}); keep "
                "one, or concatenate them into one file"
            )
    if problems:
        raise DataError(
            f"open_data_files: {root} has " + "; ".join(problems) + ". Download the "
            "files from the ministry's open-data portal (data.education.gouv.fr) "
            "into the folder, or write synthetic ones with `tne-eval simulate`."
        )
    return found


def write_synthetic_open_data(
    folder: str | PathLike[str], world: object = None
) -> dict[str, Path]:
    """Write the synthetic DNB and IPS files into a folder, under the portal's names.

    Parameters
    ----------
    folder : str or path-like
        Destination folder (created if needed). Existing files of the same
        names are replaced.
    world : SyntheticWorld, optional
        A world from :func:`tne_eval.datasets.simulate`; by default the committed
        one.

    Returns
    -------
    dict
        ``{"dnb": Path, "ips": Path}``: :data:`DNB_FILE` (from
        :func:`simulate_dnb`) and :data:`IPS_FILE` (from :func:`simulate_ips`),
        written by :func:`write_open_data` (UTF-8, ``;``, as the portal). The
        bytes depend only on the world.
    """
    root = Path(fspath(folder))
    root.mkdir(parents=True, exist_ok=True)
    paths = {"dnb": root / DNB_FILE, "ips": root / IPS_FILE}
    write_open_data(simulate_dnb(world), paths["dnb"])
    write_open_data(simulate_ips(world), paths["ips"])
    return paths
