"""French departments and the TNE adoption calendar.

School years are coded everywhere in tne_eval by the calendar year in which they
**start**: ``2020`` means the school year 2020-21. The helpers
:func:`school_year_label` and :func:`school_year_from_label` convert between the
two notations.

Department codes are INSEE codes held as **strings**: ``"01"`` ... ``"95"``,
``"2A"`` and ``"2B"`` for Corsica, ``"971"`` ... ``"976"`` overseas. Use
:func:`normalize_department_code` to turn user input such as ``2`` or ``"2a"``
into the canonical code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pandas as pd

from tne_eval._validation import format_examples
from tne_eval.errors import DataError, TneEvalTypeError

__all__ = [
    "TNE_COHORTS",
    "Department",
    "department",
    "departments",
    "normalize_department_code",
    "school_year_from_label",
    "school_year_label",
    "tne_calendar",
    "tne_cohort",
    "tne_departments",
]

#: First school year of each TNE wave (start-year coding: 2020 = 2020-21).
TNE_COHORTS: tuple[int, ...] = (2020, 2021)


@dataclass(frozen=True)
class Department:
    """One French department.

    Attributes
    ----------
    code : str
        INSEE code (``"01"``, ``"2A"``, ``"971"``).
    name : str
        Official name.
    academie : str
        Education authority (académie) since the 2020 reorganisation.
    region : str
        Administrative region.
    area : {"metropolitan", "overseas"}
        Mainland France and Corsica, or overseas department.
    tne_cohort : int or None
        First TNE school year (start-year coding), ``None`` if never in TNE.
    """

    code: str
    name: str
    academie: str
    region: str
    area: str
    tne_cohort: int | None

    @property
    def overseas(self) -> bool:
        """Whether the department is overseas (DROM)."""
        return self.area == "overseas"


def _read(name: str) -> pd.DataFrame:
    path = resources.files("tne_eval.territories").joinpath("_data", name)
    with path.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


@lru_cache(maxsize=1)
def _departments_table() -> pd.DataFrame:
    table = _read("departments.csv")
    calendar = _read("tne_calendar.csv")
    cohort = dict(zip(calendar["code"], calendar["first_school_year"].astype(int)))
    table["tne_cohort"] = pd.array(
        [cohort.get(code) for code in table["code"]], dtype="Int64"
    )
    table["area"] = pd.Categorical(table["area"], ["metropolitan", "overseas"])
    return table


def departments() -> pd.DataFrame:
    """Return the reference table of the 101 French departments.

    Returns
    -------
    pandas.DataFrame
        One row per department, columns ``code`` (str), ``name``, ``academie``,
        ``region``, ``area`` (categorical: metropolitan / overseas) and
        ``tne_cohort`` (nullable Int64: first TNE school year, ``<NA>`` if never).
        A fresh copy: modifying it does not affect later calls.

    Examples
    --------
    >>> from tne_eval import territories
    >>> table = territories.departments()
    >>> len(table), int(table["area"].eq("overseas").sum())
    (101, 5)
    >>> table.set_index("code").loc["2A", "name"]
    'Corse-du-Sud'
    """
    return _departments_table().copy()


def tne_calendar() -> pd.DataFrame:
    """Return the TNE adoption calendar.

    Returns
    -------
    pandas.DataFrame
        One row per TNE department: ``code``, ``name``, ``academie``,
        ``first_school_year`` (int, start-year coding) and ``school_year``
        (label such as ``"2020-21"``), sorted by first year then code.

    Examples
    --------
    >>> from tne_eval import territories
    >>> cal = territories.tne_calendar()
    >>> cal.groupby("first_school_year")["code"].apply(list).to_dict()
    {2020: ['02', '95'], 2021: ['13', '18', '25', '29', '2A', '34', '38', '86', '88', '971']}
    """
    table = _departments_table()
    out = table.loc[table["tne_cohort"].notna(), ["code", "name", "academie"]].copy()
    out["first_school_year"] = table.loc[out.index, "tne_cohort"].astype(int)
    out["school_year"] = out["first_school_year"].map(school_year_label)
    return out.sort_values(["first_school_year", "code"]).reset_index(drop=True)


def tne_departments(cohort: int | None = None) -> tuple[str, ...]:
    """Codes of TNE departments, optionally of one wave (``2020`` or ``2021``)."""
    cal = tne_calendar()
    if cohort is not None:
        if cohort not in TNE_COHORTS:
            raise DataError(
                f"cohort={cohort!r} is not a TNE wave; the waves started in "
                f"{format_examples(TNE_COHORTS)} (start-year coding)."
            )
        cal = cal[cal["first_school_year"] == cohort]
    return tuple(cal["code"])


def normalize_department_code(code: object) -> str:
    """Return the canonical INSEE code of a department.

    Accepts integers (``2`` → ``"02"``, ``971`` → ``"971"``), strings with or
    without the leading zero, and lower-case Corsican codes (``"2a"``).

    Raises
    ------
    DataError
        If the code is not one of the 101 departments.

    Examples
    --------
    >>> normalize_department_code(2), normalize_department_code("2a")
    ('02', '2A')
    """
    if isinstance(code, bool) or not isinstance(code, (str, int)):
        if hasattr(code, "item"):
            code = code.item()  # numpy scalar
        else:
            raise TneEvalTypeError(
                f"department code must be a string or an integer (got {code!r})."
            )
    text = str(code).strip().upper()
    if text.isdigit() and len(text) == 1:
        text = "0" + text
    known = set(_departments_table()["code"])
    if text not in known:
        raise DataError(
            f"{code!r} is not a French department code. Codes are INSEE strings: "
            "'01'...'95', '2A', '2B', '971'...'976' ('20' is split into 2A/2B, "
            "'975' is not a department)."
        )
    return text


def normalize_department_codes(codes: Iterable[object]) -> list[str]:
    """Vectorised :func:`normalize_department_code`; the error lists all bad codes."""
    out, bad = [], []
    for code in codes:
        try:
            out.append(normalize_department_code(code))
        except (DataError, TneEvalTypeError):
            bad.append(code)
    if bad:
        raise DataError(
            f"{len(bad)} unknown department code(s): {format_examples(bad, 5)}. "
            "Use INSEE codes such as '02', '2A' or '971'."
        )
    return out


def department(code: object) -> Department:
    """Return one department as a typed record.

    Examples
    --------
    >>> d = department("95")
    >>> d.name, d.academie, d.tne_cohort
    ("Val-d'Oise", 'Versailles', 2020)
    """
    canonical = normalize_department_code(code)
    row = _departments_table().set_index("code").loc[canonical]
    cohort = row["tne_cohort"]
    return Department(
        code=canonical,
        name=row["name"],
        academie=row["academie"],
        region=row["region"],
        area=str(row["area"]),
        tne_cohort=None if pd.isna(cohort) else int(cohort),
    )


def tne_cohort(code: object) -> int | None:
    """First TNE school year of a department, or ``None`` if it never joined."""
    return department(code).tne_cohort


def school_year_label(year: int) -> str:
    """Label of a school year coded by its start year: ``2020`` → ``"2020-21"``."""
    if isinstance(year, bool) or (
        not isinstance(year, int) and not hasattr(year, "__index__")
    ):
        raise TneEvalTypeError(f"school year must be an integer (got {year!r}).")
    year = int(year)
    return f"{year}-{(year + 1) % 100:02d}"


def school_year_from_label(label: str) -> int:
    """Start year of a school-year label: ``"2020-21"`` → ``2020``."""
    parts = str(label).split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
        raise DataError(
            f"{label!r} is not a school-year label; expected 'YYYY-YY' as in '2020-21'."
        )
    start = int(parts[0])
    if (start + 1) % 100 != int(parts[1]):
        raise DataError(
            f"{label!r} is not a school-year label: the second year must follow the "
            f"first (expected '{school_year_label(start)}')."
        )
    return start
