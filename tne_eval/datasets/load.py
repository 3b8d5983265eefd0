"""Where the synthetic world is read from, and :func:`load_synthetic`.

Reading goes through :mod:`tne_eval.datasets.io` (file names, manifest); a missing
default world is generated with :func:`tne_eval.datasets.simulate.simulate`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tne_eval.datasets._schema import SCHEMAS, read_dtypes
from tne_eval.datasets.config import DEFAULT_SEED, GENERATOR_VERSION
from tne_eval.datasets.io import _ROUND_TRIP, MANIFEST, NAMES, file_name
from tne_eval.errors import DataError, SpecError

if TYPE_CHECKING:
    from os import PathLike

__all__ = ["default_data_dir", "load_synthetic"]


def _repository_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "data" / "synthetic"


def _cache_dir() -> Path:
    return (
        Path.home()
        / ".cache"
        / "tne_eval"
        / "synthetic"
        / f"{GENERATOR_VERSION}-{DEFAULT_SEED}"
    )


def default_data_dir() -> Path:
    """Folder from which :func:`load_synthetic` reads by default.

    Returns
    -------
    pathlib.Path
        The repository's ``data/synthetic/`` when it holds a manifest (a source
        checkout), otherwise the cache folder
        ``~/.cache/tne_eval/synthetic/<generator version>-<seed>`` (an installed
        wheel), where the default world is generated on first use.
    """
    repo = _repository_dir()
    if (repo / MANIFEST).is_file():
        return repo
    return _cache_dir()


def _ensure_world(folder: Path) -> None:
    """Generate the default world into ``folder`` if it holds no manifest."""
    if (folder / MANIFEST).is_file():
        return
    from tne_eval.datasets.simulate import simulate  # looked up at call time

    simulate().write(folder)


@lru_cache(maxsize=8)
def _read_cached(path: str, name: str, stamp: int) -> pd.DataFrame | str:
    if name == "truth":
        return Path(path).read_text(encoding="utf-8")
    dtypes, na_values = read_dtypes(name)
    return pd.read_csv(
        path,
        dtype=dtypes,
        na_values=na_values,
        keep_default_na=False,
        compression="gzip",
        **_ROUND_TRIP,
    )


def load_synthetic(
    name: str, *, path: str | PathLike[str] | None = None
) -> pd.DataFrame | dict[str, Any]:
    """Load a table of the committed synthetic TNE world.

    Parameters
    ----------
    name : {"departments", "schools", "school_panel", "pupils", "teachers", \
"truth"}
        The table; ``"truth"`` returns the content of ``truth.json`` as a dict.
    path : str or path-like, optional
        Folder holding a world written by :func:`simulate` / ``tne-eval
        simulate``. By default the repository's ``data/synthetic/``, or, when
        the package is installed without it, a cache folder where the default
        world is generated (deterministically) on first use.

    Returns
    -------
    pandas.DataFrame or dict
        A fresh copy of the table with typed columns: ids, department codes and
        labels as ``str`` (department ``"02"`` stays ``"02"``), counts and years
        as ``int64``, flags as ``bool``, scores and survey items as ``float64``
        (NaN for non-respondents). The columns are listed in
        ``docs/synthetic_world.md``.

    Raises
    ------
    SpecError
        If ``name`` is not one of the tables.
    DataError
        If ``path`` is given but holds no world and cannot be written to.

    See Also
    --------
    simulate : generate a world with another configuration.
    list_synthetic : the valid names.

    Examples
    --------
    >>> from tne_eval.datasets import load_synthetic
    >>> panel = load_synthetic("school_panel")
    >>> import pandas as pd
    >>> [pd.api.types.is_string_dtype(panel[c]) for c in ("school_id", "department")]
    [True, True]
    >>> panel[["year", "first_treated"]].dtypes.astype(str).tolist()
    ['int64', 'int64']
    >>> sorted(panel.loc[panel["first_treated"] > 0, "department"].unique())[:3]
    ['02', '13', '18']
    >>> load_synthetic("truth")["cohorts"]
    [2020, 2021]
    """
    if name not in NAMES:
        raise SpecError(
            f"{name!r} is not a synthetic-world table; choose one of "
            + ", ".join(repr(n) for n in NAMES)
            + "."
        )
    folder = Path(path) if path is not None else default_data_dir()
    try:
        _ensure_world(folder)
    except OSError as err:
        raise DataError(
            f"No synthetic world in {folder} and it could not be generated there "
            f"({err}). Pass path= to a writable folder."
        ) from err
    file = folder / file_name(name)
    if not file.is_file():
        raise DataError(
            f"{file} is missing although {folder / MANIFEST} exists. Regenerate "
            "the world with `tne-eval simulate --out DIR`."
        )
    stamp = file.stat().st_mtime_ns
    cached = _read_cached(str(file.resolve()), name, stamp)
    if name == "truth":
        return json.loads(cached)
    expected = [col for col, _ in SCHEMAS[name]]
    if list(cached.columns) != expected:
        raise DataError(
            f"{file} has columns {list(cached.columns)} but this version of "
            f"tne_eval expects {expected}. Regenerate the world."
        )
    return cached.copy()
