#!/usr/bin/env python
"""Generate independent reference numbers for the 2x2 DiD kernels (DRDID estimators).

This script is NOT part of ``tne_eval`` or its test suite. Run it by hand, from the
repository root, in a separate virtual environment holding the reference
implementations (never the project's ``.venv``)::

    python3 -m venv /tmp/refenv
    /tmp/refenv/bin/pip install "moderndid==0.2.0" "drdid==1.1.7"
    /tmp/refenv/bin/python tests/reference/drdid/generate.py

Reference engines (both Python ports of the R package ``DRDID``; their low-level
functions take the full design matrix, intercept included, like R's):

* ``moderndid`` (primary; has all eight estimators). Note its names for repeated
  cross sections: ``drdid_rc`` is R's locally efficient ``drdid_rc`` and
  ``drdid_imp_local_rc`` is R's ``drdid_imp_rc``; moderndid's ``drdid_imp_rc`` is
  R's ``drdid_imp_rc1`` (not locally efficient), so it is not used.
* ``drdid`` (secondary; has reg, std. IPW and traditional DR, no IPT-based
  estimator). It returns ``(att, influence)``; its SE is computed here as
  ``std(influence, ddof=0) / sqrt(n)``, DRDID's ``sd(.) * sqrt(n - 1) / n``.

Inputs
    tests/fixtures/drdid_panel.csv, tests/fixtures/drdid_rc.csv (make_fixture.py)
    tests/fixtures/datasets/lalonde_psid.csv (shipped; origin and SHA-256 in that
    folder's README.md; an error when absent)

Output
    tests/reference/drdid/results.json with ``PROVENANCE`` (engines and versions,
    python, platform, date, the exact call of every key, warnings) and ``results``
    (per key: data, design, options, and ``att``/``se`` per engine).

Keys
    ``{panel|rc}-{method}-{unweighted|weighted}[-trim0.9]`` on the fixtures and
    ``lalonde-panel-{method}-{covariates|nocovariates}`` on lalonde (pre = re75,
    post = re78, treated = treat). ``method`` uses tne_eval's names
    (reg, ipw, dr, dr_improved).
"""

from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import importlib.metadata as md
import json
import math
import platform
import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
FIXTURES = REPO / "tests" / "fixtures"
sys.path.insert(0, str(REPO))
from tests.reference_datasets import reference_dataset_path  # noqa: E402 (stdlib only)

TRIM_DEFAULT = 0.995
TRIM_LOW = 0.9  # exercises trimming: several controls have pscore above it

# tne_eval method -> (moderndid function, drdid module.function or None), per design.
ENGINES = {
    "panel": {
        "reg": ("reg_did_panel", "reg_did.reg_did_panel"),
        "ipw": ("std_ipw_did_panel", "ipwd_did.std_ipw_did_panel"),
        "dr": ("drdid_panel", "drdid.drdid_panel"),
        "dr_improved": ("drdid_imp_panel", None),
    },
    "rc": {
        "reg": ("reg_did_rc", "reg_did.reg_did_rc"),
        "ipw": ("std_ipw_did_rc", "ipwd_did.std_ipw_did_rc"),
        "dr": ("drdid_rc", "drdid.drdid_rc"),
        "dr_improved": ("drdid_imp_local_rc", None),
    },
}
METHODS = ("reg", "ipw", "dr", "dr_improved")


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, np.ndarray] = {}
    for name in rows[0]:
        values = [r[name] for r in rows]
        try:
            out[name] = np.array([float(v) for v in values])
        except ValueError:
            out[name] = np.array(values)
    return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run_moderndid(func_name, design, arrays, trim_level):
    import importlib

    # ``moderndid.drdid`` as an attribute is the wrapper *function* drdid(); the
    # subpackage (with the low-level estimators) is the module of that name.
    func = getattr(importlib.import_module("moderndid.drdid"), func_name)
    x, w = arrays["x"], arrays["w"]
    kwargs = {"covariates": x.copy(), "i_weights": None if w is None else w.copy()}
    wname = "None" if w is None else "w"
    args_txt = f"covariates=X, i_weights={wname}"
    if func_name not in ("reg_did_panel", "reg_did_rc"):
        kwargs["trim_level"] = trim_level
        args_txt += f", trim_level={trim_level}"
    if design == "panel":
        res = func(
            arrays["y1"].copy(), arrays["y0"].copy(), arrays["d"].copy(), **kwargs
        )
        call = f"moderndid.drdid.{func_name}(y1=y1, y0=y0, d=D, {args_txt})"
    else:
        res = func(
            arrays["y"].copy(), arrays["post"].copy(), arrays["d"].copy(), **kwargs
        )
        call = f"moderndid.drdid.{func_name}(y=y, post=post, d=D, {args_txt})"
    return float(res.att), float(res.se), call + " -> (.att, .se)"


def _run_drdid(path, design, arrays, trim_level):
    import importlib

    module_name, func_name = path.split(".")
    func = getattr(importlib.import_module(f"drdid.{module_name}"), func_name)
    x, w = arrays["x"], arrays["w"]
    kwargs = {"covariates": x.copy(), "i_weights": None if w is None else w.copy()}
    wname = "None" if w is None else "w"
    args_txt = f"covariates=X, i_weights={wname}"
    if not func_name.startswith("reg_"):
        kwargs["trim_level"] = trim_level
        args_txt += f", trim_level={trim_level}"
    if design == "panel":
        att, inf = func(
            arrays["y1"].copy(), arrays["y0"].copy(), arrays["d"].copy(), **kwargs
        )
        call = f"drdid.{path}(y1=y1, y0=y0, D=D, {args_txt})"
    else:
        att, inf = func(
            arrays["y"].copy(), arrays["post"].copy(), arrays["d"].copy(), **kwargs
        )
        call = f"drdid.{path}(y=y, post=post, D=D, {args_txt})"
    inf = np.asarray(inf, dtype=float).reshape(-1)
    se = float(np.std(inf) / math.sqrt(inf.shape[0]))
    return float(att), se, call + " -> (att, inf); se = std(inf, ddof=0) / sqrt(n)"


def _run_key(key, design, method, arrays, trim_level, calls, notes):
    md_name, dd_path = ENGINES[design][method]
    refs = {}
    calls[key] = {}
    for engine, runner, target in (
        ("moderndid", _run_moderndid, md_name),
        ("drdid", _run_drdid, dd_path),
    ):
        if target is None:
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            att, se, call = runner(target, design, arrays, trim_level)
        refs[engine] = {"att": att, "se": se}
        calls[key][engine] = call
        for warning in caught:
            notes.append(
                f"{key} [{engine}] warning: {warning.category.__name__}: {warning.message}"
            )
    return refs


def main() -> None:
    calls: dict[str, dict[str, str]] = {}
    notes: list[str] = []
    results: dict[str, dict] = {}
    data_info: dict[str, dict] = {}

    fixture_cov = ["(intercept)", "x1", "x2", "x3"]
    for design, fname in (("panel", "drdid_panel.csv"), ("rc", "drdid_rc.csv")):
        path = FIXTURES / fname
        raw = _read_csv(path)
        n = raw["id"].shape[0]
        x = np.column_stack([np.ones(n), raw["x1"], raw["x2"], raw["x3"]])
        data_info[fname] = {
            "path": f"tests/fixtures/{fname}",
            "sha256": _sha256(path),
            "n": n,
        }
        for method in METHODS:
            trims = [TRIM_DEFAULT] if method == "reg" else [TRIM_DEFAULT, TRIM_LOW]
            for weighted in (False, True):
                for trim in trims:
                    arrays = {
                        "x": x,
                        "d": raw["treated"],
                        "w": raw["w"] if weighted else None,
                    }
                    if design == "panel":
                        arrays.update(y1=raw["y1"], y0=raw["y0"])
                    else:
                        arrays.update(y=raw["y"], post=raw["post"])
                    key = (
                        f"{design}-{method}-{'weighted' if weighted else 'unweighted'}"
                    )
                    if trim != TRIM_DEFAULT:
                        key += f"-trim{trim}"
                    results[key] = {
                        "data": fname,
                        "design": design,
                        "method": method,
                        "weights": "w" if weighted else None,
                        "trim_level": trim,
                        "covariates": fixture_cov,
                        "references": _run_key(
                            key, design, method, arrays, trim, calls, notes
                        ),
                    }

    lalonde = reference_dataset_path("lalonde_psid.csv")
    raw = _read_csv(lalonde)
    n = raw["treat"].shape[0]
    race = raw["race"]
    full = np.column_stack(
        [
            np.ones(n),
            raw["age"],
            raw["educ"],
            (race == "black").astype(float),
            raw["married"],
            raw["nodegree"],
            (race == "hispan").astype(float),
            raw["re74"],
        ]
    )
    cov_names = [
        "(intercept)", "age", "educ", "race==black", "married", "nodegree",
        "race==hispan", "re74",
    ]  # fmt: skip
    data_info["lalonde_psid.csv"] = {
        "path": "tests/fixtures/datasets/lalonde_psid.csv",
        "sha256": _sha256(lalonde),
        "n": n,
        "derived": "pre = re75, post = re78, treated = treat",
    }
    for method in METHODS:
        for label, x, names in (
            ("covariates", full, cov_names),
            ("nocovariates", full[:, :1], cov_names[:1]),
        ):
            key = f"lalonde-panel-{method}-{label}"
            arrays = {
                "x": x,
                "d": raw["treat"],
                "w": None,
                "y1": raw["re78"],
                "y0": raw["re75"],
            }
            results[key] = {
                "data": "lalonde_psid.csv",
                "design": "panel",
                "method": method,
                "weights": None,
                "trim_level": TRIM_DEFAULT,
                "covariates": names,
                "references": _run_key(
                    key, "panel", method, arrays, TRIM_DEFAULT, calls, notes
                ),
            }

    packages = {}
    for name in (
        "moderndid",
        "drdid",
        "numpy",
        "scipy",
        "statsmodels",
        "pandas",
        "polars",
    ):
        try:
            packages[name] = md.version(name)
        except md.PackageNotFoundError:
            packages[name] = None

    out = {
        "PROVENANCE": {
            "generated_at": _dt.datetime.now(_dt.timezone.utc).isoformat(
                timespec="seconds"
            ),
            "generator": "tests/reference/drdid/generate.py",
            "command": "/tmp/refenv/bin/python tests/reference/drdid/generate.py",
            "python": platform.python_version(),
            "implementation": sys.implementation.name,
            "platform": platform.platform(),
            "packages": packages,
            "engines": {
                "moderndid": "primary: all eight estimators, low-level functions of moderndid.drdid",
                "drdid": "secondary: reg, std. IPW and traditional DR (no IPT estimators)",
            },
            "data": data_info,
            "design_matrix": "X = column_stack([1, covariates...]) in the order listed per key",
            "se_convention": "se = std(influence, ddof=0) / sqrt(n) = R DRDID sd(inf)*sqrt(n-1)/n",
            "calls": calls,
            "notes": notes,
            "known_differences": {
                "rc-dr-*": (
                    "Standard errors of the repeated cross-section traditional DR "
                    "estimator differ between the engines (the ATT agrees). moderndid "
                    "copies R DRDID 1.2.3 drdid_rc, which ADDS the pre-period "
                    "outcome-regression estimation effects (inf.treat.or.post + "
                    "inf.treat.or.pre, inf.cont.or.post + inf.cont.or.pre); drdid "
                    "(PyPI) subtracts them. The ATT contains -att.treat.pre and "
                    "+att.cont.pre, so subtracting is correct: drdid's influence "
                    "function equals the finite-difference derivative of the ATT in "
                    "each observation's weight, R's does not. tne_eval follows drdid "
                    "here (tests compare the SE with drdid and record the moderndid "
                    "difference)."
                ),
                "rc-dr_improved-*": (
                    "R DRDID drdid_imp_rc (= moderndid drdid_imp_local_rc) omits the "
                    "estimation effects of the IPT and regression coefficients, which "
                    "vanish only asymptotically; tne_eval keeps that convention."
                ),
                "pscore lower clip": (
                    "moderndid clips propensity scores to [1e-6, 1 - 1e-6]; R DRDID (and "
                    "tne_eval, drdid) only cap at 1 - 1e-6. No fitted score in these data "
                    "is below 1e-6, so the numbers are unaffected."
                ),
            },
        },
        "results": results,
    }
    target = HERE / "results.json"
    target.write_text(
        json.dumps(out, indent=2, sort_keys=False) + "\n", encoding="utf-8"
    )
    print(f"wrote {target} ({len(results)} keys, {len(notes)} notes)")


if __name__ == "__main__":
    main()
