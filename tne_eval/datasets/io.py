r"""Writing and reading the synthetic world's files, with their manifest.

Files are compressed CSV written byte-for-byte reproducibly: fixed column order,
floats rounded to a fixed number of decimals when the tables are built, ``\n``
line endings, and gzip members with no file name and a zero timestamp (the same
header ``to_csv(compression={"method": "gzip", "mtime": 0})`` would write, minus
the file name). ``MANIFEST.json`` records the generator version, the full
configuration, the seed and, for every file, its sha256, the sha256 of its
decompressed content, its size and its row count.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tne_eval._version import __version__
from tne_eval.datasets._schema import TABLES
from tne_eval.datasets.config import GENERATOR_VERSION
from tne_eval.errors import DataError

if TYPE_CHECKING:
    from os import PathLike

__all__ = [
    "COMPRESSLEVEL",
    "NAMES",
    "file_name",
    "list_synthetic",
    "read_manifest",
    "sha256_file",
    "write_world",
]

#: gzip level of every file (a fixed level is part of byte reproducibility).
COMPRESSLEVEL = 6
#: Rows formatted per chunk when writing; fixed, so the bytes never depend on it.
_CHUNK_ROWS = 200_000
#: Names accepted by :func:`load_synthetic`.
NAMES: tuple[str, ...] = (*TABLES, "truth")
MANIFEST = "MANIFEST.json"
#: pandas < 3 needs ``float_precision="round_trip"`` to read back the exact floats
#: written; pandas 3 does it by default and deprecates the argument.
_ROUND_TRIP = (
    {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
)


def file_name(name: str) -> str:
    """File name of a table (``"pupils"`` -> ``"pupils.csv.gz"``)."""
    return "truth.json" if name == "truth" else f"{name}.csv.gz"


def sha256_file(path: str | PathLike[str]) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _content_sha256(path: Path) -> str:
    """Hex sha256 of the decompressed content (independent of the zlib build)."""
    if path.suffix != ".gz":
        return sha256_file(path)
    digest = hashlib.sha256()
    with gzip.open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_csv_gz(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame as gzip CSV, formatting and compressing in parallel."""
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(
            filename="", mode="wb", fileobj=raw, compresslevel=COMPRESSLEVEL, mtime=0
        ) as gz,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        pending = None
        starts = range(0, max(len(frame), 1), _CHUNK_ROWS)
        for start in starts:
            chunk = frame.iloc[start : start + _CHUNK_ROWS]
            text = chunk.to_csv(index=False, header=start == 0, lineterminator="\n")
            if pending is not None:
                pending.result()
            # zlib releases the GIL: compress this chunk while formatting the next
            pending = pool.submit(gz.write, text.encode("utf-8"))
        if pending is not None:
            pending.result()


def _write_json(data: Any, path: Path) -> None:
    text = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8", newline="\n")


def write_world(world: Any, out_dir: Path) -> dict[str, Any]:
    """Write a world's files and ``MANIFEST.json`` into ``out_dir``.

    Parameters
    ----------
    world : SyntheticWorld
        The world to write.
    out_dir : pathlib.Path
        Destination folder, created if needed.

    Returns
    -------
    dict
        The manifest.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {}
    for name in NAMES:
        path = out_dir / file_name(name)
        if name == "truth":
            _write_json(world.truth, path)
            rows = None
        else:
            frame = world.table(name)
            _write_csv_gz(frame, path)
            rows = len(frame)
        files[file_name(name)] = {
            "table": name,
            "rows": rows,
            "bytes": path.stat().st_size,
            "sha256": sha256_file(path),
            "content_sha256": _content_sha256(path),
        }
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "tne_eval_version": __version__,
        "seed": world.config.seed,
        "config": world.config.to_dict(),
        "structural_constants": _structural_constants(world.structural_constants),
        "compression": {
            "format": "gzip",
            "level": COMPRESSLEVEL,
            "mtime": 0,
            "zlib_version": zlib.ZLIB_RUNTIME_VERSION,
        },
        "environment": {"numpy": np.__version__, "pandas": pd.__version__},
        "files": files,
    }
    _write_json(manifest, out_dir / MANIFEST)
    return manifest


def _structural_constants(constants: dict[str, Any]) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        return value

    return {k: plain(v) for k, v in sorted(constants.items())}


def read_manifest(path: str | PathLike[str]) -> dict[str, Any]:
    """Read ``MANIFEST.json`` from a world folder (or the file itself).

    Parameters
    ----------
    path : str or path-like
        The folder holding the world, or the manifest file.

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    DataError
        If there is no manifest.
    """
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST
    if not path.is_file():
        raise DataError(
            f"No synthetic-world manifest at {path}. Generate the world with "
            "`tne-eval simulate --out DIR` or tne_eval.datasets.simulate().write(DIR)."
        )
    return json.loads(path.read_text(encoding="utf-8"))


def list_synthetic() -> tuple[str, ...]:
    """Names of the synthetic-world tables accepted by :func:`load_synthetic`.

    Returns
    -------
    tuple of str
        ``("departments", "schools", "school_panel", "pupils", "teachers",
        "truth")``.

    Examples
    --------
    >>> from tne_eval.datasets import list_synthetic
    >>> list_synthetic()
    ('departments', 'schools', 'school_panel', 'pupils', 'teachers', 'truth')
    """
    return NAMES
