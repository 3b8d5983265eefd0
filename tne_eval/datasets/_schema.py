"""Column schemas of the synthetic-world tables (private).

One source for the column order, the dtype and the number of decimals of every
file, used both when the generator builds the tables (so the in-memory tables
equal what is written) and when :func:`tne_eval.datasets.load_synthetic` reads them
back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from tne_eval.datasets.config import PRACTICE_ITEMS

#: kind of a column: "str", "int", "bool" or ("float", decimals)
Kind = Any

_SCHOOL_KEYS: tuple[tuple[str, Kind], ...] = (
    ("school_id", "str"),
    ("department", "str"),
    ("level", "str"),
    ("grade", "str"),
)

SCHEMAS: dict[str, tuple[tuple[str, Kind], ...]] = {
    "departments": (
        ("department", "str"),
        ("name", "str"),
        ("academie", "str"),
        ("region", "str"),
        ("area", "str"),
        ("first_treated", "int"),
        ("n_primary", "int"),
        ("n_college", "int"),
        ("social_index_mean", ("float", 2)),
    ),
    "schools": (
        *_SCHOOL_KEYS,
        ("sector", "str"),
        ("priority", "str"),
        ("rural", "bool"),
        ("social_index", ("float", 1)),
        ("size", "int"),
        ("n_teachers", "int"),
        ("first_treated", "int"),
    ),
    "school_panel": (
        *_SCHOOL_KEYS,
        ("year", "int"),
        ("first_treated", "int"),
        ("treated", "bool"),
        ("social_index", ("float", 1)),
        ("priority", "str"),
        ("sector", "str"),
        ("rural", "bool"),
        ("n_expected", "int"),
        ("n_pupils", "int"),
        ("score_french", ("float", 3)),
        ("score_math", ("float", 3)),
        ("sd_french", ("float", 3)),
        ("sd_math", ("float", 3)),
    ),
    "pupils": (
        ("school_id", "str"),
        ("department", "str"),
        ("year", "int"),
        ("grade", "str"),
        ("pupil", "int"),
        ("girl", "bool"),
        ("score_french", ("float", 1)),
        ("score_math", ("float", 1)),
    ),
    "teachers": (
        ("teacher_id", "str"),
        ("school_id", "str"),
        ("department", "str"),
        ("level", "str"),
        ("wave", "int"),
        ("first_treated", "int"),
        ("treated", "bool"),
        ("social_index", ("float", 1)),
        ("priority", "str"),
        ("sector", "str"),
        ("rural", "bool"),
        ("n_teachers", "int"),
        ("design_weight", ("float", 4)),
        ("experience", "int"),
        ("female", "bool"),
        ("responded", "bool"),
        *((item, ("float", 0)) for item in PRACTICE_ITEMS),
        ("practice_index", ("float", 4)),
        ("training_hours", ("float", 1)),
    ),
}

#: Tables written as compressed CSV, in the order of the manifest.
TABLES: tuple[str, ...] = tuple(SCHEMAS)


def build_frame(table: str, columns: Mapping[str, Any]) -> pd.DataFrame:
    """Build a table from column arrays with the schema's order, dtypes and rounding."""
    schema = SCHEMAS[table]
    data: dict[str, Any] = {}
    for name, kind in schema:
        values = columns[name]
        if kind == "str":
            data[name] = pd.array(np.asarray(values, dtype=object), dtype="str")
        elif kind == "int":
            data[name] = np.asarray(values, dtype=np.int64)
        elif kind == "bool":
            data[name] = np.asarray(values, dtype=bool)
        else:
            decimals = kind[1]
            # adding 0.0 turns -0.0 into 0.0 so that the text never reads "-0.0"
            data[name] = np.round(np.asarray(values, dtype=np.float64), decimals) + 0.0
    return pd.DataFrame(data)


def read_dtypes(table: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Dtypes and NA markers to pass to ``pandas.read_csv`` for a table."""
    dtypes: dict[str, Any] = {}
    na_values: dict[str, list[str]] = {}
    for name, kind in SCHEMAS[table]:
        if kind == "str":
            dtypes[name] = "str"
        elif kind == "int":
            dtypes[name] = np.int64
        elif kind == "bool":
            dtypes[name] = bool
        else:
            dtypes[name] = np.float64
            na_values[name] = [""]
    return dtypes, na_values
