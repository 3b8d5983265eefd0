"""The public reference datasets shipped in ``tests/fixtures/datasets/``.

One place that knows where they are. Tests use it through ``tests.conftest``
(``reference_dataset``, ``reference_dataset_path``); the reference generators
under ``tests/reference/*/generate.py`` import it directly, which is why this
module needs only the standard library (pandas is imported when a frame is
asked for). A missing file is an error that names the file and how to restore
it, never a skip: the checks against R ``did``, bacondecomp and DRDID must run
on every clone.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

REPO = Path(__file__).resolve().parents[1]
#: Folder of the shipped copies (origin, licence and SHA-256 in its README.md).
REFERENCE_DATASETS_DIR = REPO / "tests" / "fixtures" / "datasets"
README = REFERENCE_DATASETS_DIR / "README.md"


class MissingReferenceDatasetError(FileNotFoundError):
    """A reference dataset that the tests need is not in the repository."""


def reference_dataset_path(name: str) -> Path:
    """Path of the shipped copy of a reference dataset (``"mpdta"`` or ``"mpdta.csv"``).

    Raises
    ------
    MissingReferenceDatasetError
        If the file is absent, with the command that restores it.
    """
    filename = name if name.endswith(".csv") else f"{name}.csv"
    path = REFERENCE_DATASETS_DIR / filename
    if not path.is_file():
        shipped = sorted(p.name for p in REFERENCE_DATASETS_DIR.glob("*.csv"))
        raise MissingReferenceDatasetError(
            f"Reference dataset {filename!r} is missing: expected "
            f"{path.relative_to(REPO)}. It is committed with the repository; "
            f"restore it with `git checkout -- tests/fixtures/datasets/{filename}` "
            "(origin and SHA-256 in tests/fixtures/datasets/README.md). "
            f"Present: {shipped or 'none'}."
        )
    return path


def reference_dataset(name: str, **read_csv) -> pd.DataFrame:
    """Read a shipped reference dataset with :func:`pandas.read_csv`."""
    import pandas as pd

    return pd.read_csv(reference_dataset_path(name), **read_csv)


def sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def documented_sha256() -> dict[str, str]:
    """File name -> SHA-256, as listed in the table of the folder's README.md."""
    rows = re.findall(
        r"^\| `([^`]+\.csv)` \|.*\| `([0-9a-f]{64})` \|$", README.read_text(), re.M
    )
    return dict(rows)
