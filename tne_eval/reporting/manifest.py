"""The results manifest: every key number of every chapter and what produced it.

The manifest (``notebooks/key_numbers.json``, committed) holds, for each chapter,
its key numbers (for an estimate: ``NAME.estimate``, ``NAME.std_error``,
``NAME.conf_low``, ``NAME.conf_high``, ``NAME.inference``,
``NAME.n_treated_clusters``; counts and p-values as they are), the parameters
of the run (language, seed, outcomes, data folder), the data fingerprint
(SHA-256 of every input file), the versions of Python and of the libraries, and
the tolerances of the comparison. These are **regression numbers produced by
tne_eval itself**, not external references.

:func:`compare_manifests` is what ``tne-eval reproduce --check`` runs: numbers
must agree within ``|a - b| <= atol + rtol |b|`` (``rtol = 1e-6``,
``atol = 1e-9``; text and integers exactly), the data fingerprint and the
parameters exactly; different library versions are reported but do not fail
the check (the numbers decide).
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tne_eval.reporting.key_numbers import compare_key_numbers

__all__ = [
    "MANIFEST_FORMAT",
    "TOLERANCE",
    "build_manifest",
    "compare_manifests",
    "data_fingerprint",
]

#: Format tag of the manifest.
MANIFEST_FORMAT = "tne-eval results manifest 2"
#: Tolerances of the comparison of numbers.
TOLERANCE = {"rtol": 1e-6, "atol": 1e-9}
_VERSIONED = (
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "linearmodels",
    "matplotlib",
    "nbclient",
)


def data_fingerprint(folder: str | Path) -> dict[str, str]:
    """SHA-256 of every file of a data folder (``{file name: hex digest}``)."""
    folder = Path(folder)
    out = {}
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        out[path.name] = digest.hexdigest()
    return out


def _versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def build_manifest(
    chapters: Mapping[str, Mapping[str, Any]],
    *,
    parameters: Mapping[str, Any],
    data_dir: str | Path,
) -> dict[str, Any]:
    """Assemble the manifest of one run.

    Parameters
    ----------
    chapters : mapping
        ``{chapter stem: {key: value}}`` as collected from the notebooks.
    parameters : mapping
        The parameters given to every chapter (``lang``, ``seed``,
        ``outcomes``, ``data_dir``).
    data_dir : str or path-like
        The data folder read (fingerprinted).

    Returns
    -------
    dict
        JSON-serialisable.
    """
    import tne_eval

    data_dir = Path(data_dir)
    return {
        "format": MANIFEST_FORMAT,
        "kind": "regression numbers produced by tne_eval itself (not external "
        "references)",
        "tolerance": dict(TOLERANCE),
        "tne_eval": tne_eval.__version__,
        "parameters": dict(parameters),
        "data": {"folder": data_dir.name, "sha256": data_fingerprint(data_dir)},
        "versions": _versions(),
        "chapters": {k: dict(v) for k, v in chapters.items()},
    }


def compare_manifests(
    fresh: Mapping[str, Any], committed: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """Compare a fresh manifest with the committed one.

    Returns
    -------
    problems : list of str
        Differences that fail the check: key numbers outside the tolerance,
        missing or new numbers or chapters, another data fingerprint, other
        parameters. Empty when the run reproduces the manifest.
    remarks : list of str
        Differences that do not fail it (library versions).
    """
    tol = committed.get("tolerance", TOLERANCE)
    problems: list[str] = []
    if committed.get("format") != MANIFEST_FORMAT:
        problems.append(
            f"committed manifest has format {committed.get('format')!r}, expected "
            f"{MANIFEST_FORMAT!r}: regenerate it with tne-eval reproduce --update"
        )
        return problems, []
    for key in sorted(set(fresh["parameters"]) | set(committed["parameters"])):
        a, b = fresh["parameters"].get(key), committed["parameters"].get(key)
        if a != b:
            problems.append(f"parameter {key}: fresh {a!r} != committed {b!r}")
    fa, fb = fresh["data"]["sha256"], committed["data"]["sha256"]
    for name in sorted(set(fa) | set(fb)):
        if fa.get(name) != fb.get(name):
            problems.append(
                f"data file {name}: sha256 {str(fa.get(name))[:12]} != committed "
                f"{str(fb.get(name))[:12]}"
            )
    ca, cb = fresh["chapters"], committed["chapters"]
    for stem in sorted(set(ca) | set(cb)):
        if stem not in ca:
            problems.append(f"{stem}: chapter missing from the fresh run")
            continue
        if stem not in cb:
            problems.append(f"{stem}: chapter not in the committed manifest")
            continue
        diffs = compare_key_numbers(
            ca[stem], cb[stem], rtol=tol["rtol"], atol=tol["atol"]
        )
        problems += [f"{stem}: {d}" for d in diffs]
    remarks = []
    va, vb = fresh.get("versions", {}), committed.get("versions", {})
    for name in sorted(set(va) | set(vb)):
        if va.get(name) != vb.get(name):
            remarks.append(f"{name} {va.get(name)} (committed with {vb.get(name)})")
    return problems, remarks
