"""The LaLonde data shipped with MatchIt, as arrays, and the printed references."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
CSV = REPO / "tests/fixtures/datasets/lalonde_psid.csv"
REF_DIR = REPO / "tests/reference/matchit"

#: MatchIt's summary() rows for treat ~ age + educ + race + married + nodegree +
#: re74 + re75 (factors as one dummy per level, in level order).
BALANCE_ROWS = (
    "age",
    "educ",
    "raceblack",
    "racehispan",
    "racewhite",
    "married",
    "nodegree",
    "re74",
    "re75",
)


@lru_cache(maxsize=1)
def frame() -> pd.DataFrame:
    return pd.read_csv(CSV)


def treat() -> np.ndarray:
    return frame()["treat"].to_numpy()


def columns(names: tuple[str, ...] = BALANCE_ROWS) -> np.ndarray:
    """Covariate matrix with MatchIt's column names (race dummies by level)."""
    df = frame()
    out = []
    for name in names:
        if name.startswith("race"):
            out.append((df["race"] == name[4:]).to_numpy(dtype=float))
        else:
            out.append(df[name].to_numpy(dtype=float))
    return np.column_stack(out)


def ps_design() -> np.ndarray:
    """Design of MatchIt's glm: treatment coding, 'black' (first level) dropped."""
    return columns(
        (
            "age",
            "educ",
            "racehispan",
            "racewhite",
            "married",
            "nodegree",
            "re74",
            "re75",
        )
    )


@lru_cache(maxsize=1)
def printed() -> dict:
    """MatchIt's tables (``printed.json``, parsed by ``extract.py``) and cobalt's
    (``cobalt_printed.json``, transcribed by hand from the same pages)."""
    out = json.loads((REF_DIR / "printed.json").read_text(encoding="utf-8"))
    out.update(
        json.loads((REF_DIR / "cobalt_printed.json").read_text(encoding="utf-8"))
    )
    return out


def printed_table(key: str, title: str) -> dict[str, list[float | None]]:
    return printed()[key][title]


#: Decimals printed per reference key (MatchIt prints 4 in its reference pages and
#: the getting-started vignette, the assessing-balance vignette sets 3).
DECIMALS = {"nn_ps_replace": 3}


def print_tolerance(key: str) -> float:
    """Half a unit of the last printed decimal (plus float slack): rounding only."""
    return 0.5 * 10.0 ** -DECIMALS.get(key, 4) + 1e-9
