#!/usr/bin/env python
"""Generate independent Callaway-Sant'Anna reference numbers on ``mpdta``.

This script is NOT part of the ``tne_eval`` package or its test suite.  It is run
by hand, in a separate virtual environment that holds the reference
implementations (never in the project's own ``.venv``)::

    python3 -m venv /tmp/refenv
    /tmp/refenv/bin/pip install "moderndid==0.2.0" "csdid==0.4.3"
    /tmp/refenv/bin/python tests/reference/did_cs/generate.py

Primary engine: ``moderndid`` (Python port of R ``did``).  Secondary engine:
``csdid`` (another Python port of R ``did``), used (a) for configurations that
moderndid 0.2.0 cannot run or gets wrong (analytic cluster-robust SEs; aggregates
with sampling weights, see MODERNDID_WEIGHTED_AGG_BUG) and (b) as an
independent cross-check of every moderndid number (``results_csdid.csv``).

Inputs
    tests/fixtures/datasets/mpdta.csv (shipped; origin and SHA-256 in that
    folder's README.md).

Outputs (next to this file)
    results.csv         key, term, estimate, std_error   (reference numbers)
    pretest.csv         key, W, df, pvalue, pvalue_reported
    results_csdid.csv   same layout, every key recomputed with csdid
    pretest_csdid.csv   same layout, csdid
    PROVENANCE.json     versions, platform, date, per-key calls and engine,
                        warnings, failures, moderndid-vs-csdid agreement

Term labels
    ATT(g=2004,t=2005)         group-time cell
    simple:ATT                 simple aggregation
    dynamic:e=-1 / dynamic:ATT event-study cell / overall (mean over e >= 0)
    group:g=2004 / group:ATT
    calendar:t=2006 / calendar:ATT
    dynamic_balance1:e=0 / dynamic_balance1:ATT          (balance_e=1)
    dynamic_min-2_max2:e=1 / dynamic_min-2_max2:ATT      (min_e=-2, max_e=2)

Numbers are written with ``repr`` (full float precision); a missing standard
error (e.g. the universal-base-period reference cell) is written as ``nan``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as _dt
import io
import json
import math
import platform
import sys
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO))
from tests.reference_datasets import reference_dataset_path  # noqa: E402 (stdlib only)

YNAME, TNAME, IDNAME, GNAME = "lemp", "year", "countyreal", "first_treat"
WEIGHT_COL = "w_exp_lpop"  # exp(lpop) / mean(exp(lpop)); time-invariant
STATE_COL = "state"  # countyreal // 1000 (the state FIPS code, see README)

CONTROL_LABEL = {"nevertreated": "never_treated", "notyettreated": "not_yet_treated"}

# Known moderndid 0.2.0 defect: with weightsname, att_gt() stores
# MPResult.weights_ind = None (the unit-level table renames the weight column to
# "weights", so the lookup by the user's column name fails), hence aggte() computes
# the cohort shares pg = mean(w * 1{G=g}) WITHOUT the sampling weights (and the wif
# term likewise).  ATT(g,t) cells are unaffected.  R did uses the weighted shares;
# csdid does too (verified by hand from the influence functions), so for weighted
# keys the reference numbers are taken from csdid.
MODERNDID_WEIGHTED_AGG_BUG = (
    "moderndid 0.2.0 ignores sampling weights in aggte() cohort shares (MPResult.weights_ind is None); "
    "ATT(g,t) cells agree with csdid to 1e-16 but aggregates differ by up to ~5e-3 (fixed in moderndid 0.4.1, "
    "which then agrees with csdid); reference taken from csdid"
)


# ----------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------
def find_mpdta() -> Path:
    """The shipped copy of mpdta.csv (an error naming the fix when absent)."""
    return reference_dataset_path("mpdta.csv")


def load_mpdta(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path)
    df = df.sort_values([IDNAME, TNAME]).reset_index(drop=True)
    w = np.exp(df["lpop"].to_numpy())
    df[WEIGHT_COL] = w / w.mean()
    df[STATE_COL] = (df[IDNAME] // 1000).astype(int)
    # sanity: balanced panel, lpop / first_treat constant within unit,
    # first_treat constant within state (treatment is a state policy)
    assert df.groupby(IDNAME).size().eq(df[TNAME].nunique()).all()
    assert df.groupby(IDNAME)["lpop"].nunique().eq(1).all()
    assert df.groupby(STATE_COL)[GNAME].nunique().eq(1).all()
    return df


# ----------------------------------------------------------------------------
# configurations
# ----------------------------------------------------------------------------
def build_configs() -> list[dict]:
    cfgs = []
    for m in ("reg", "ipw", "dr"):
        for cg in ("nevertreated", "notyettreated"):
            for bp in ("varying", "universal"):
                for cov in ("none", "lpop"):
                    cfgs.append(
                        dict(
                            key=f"{m}-{CONTROL_LABEL[cg]}-{bp}-{cov}",
                            est_method=m,
                            control_group=cg,
                            base_period=bp,
                            xformla=None if cov == "none" else "~lpop",
                            anticipation=0,
                            weights=False,
                            panel=True,
                            cluster=False,
                        )
                    )

    def extra(key, **kw):
        base = dict(
            est_method="dr",
            control_group="nevertreated",
            base_period="varying",
            xformla=None,
            anticipation=0,
            weights=False,
            panel=True,
            cluster=False,
        )
        base.update(kw)
        base["key"] = key
        cfgs.append(base)

    extra("dr-never_treated-varying-none-antic1", anticipation=1)
    extra(
        "dr-not_yet_treated-varying-none-antic1",
        control_group="notyettreated",
        anticipation=1,
    )
    extra(
        "dr-never_treated-universal-none-antic1",
        base_period="universal",
        anticipation=1,
    )
    extra("dr-never_treated-varying-none-wexplpop", weights=True)
    extra(
        "dr-not_yet_treated-varying-lpop-wexplpop",
        control_group="notyettreated",
        xformla="~lpop",
        weights=True,
    )
    extra("dr-never_treated-varying-none-rc", panel=False)
    extra(
        "reg-never_treated-varying-lpop-rc",
        est_method="reg",
        xformla="~lpop",
        panel=False,
    )
    extra("dr-never_treated-varying-none-cluster_state", cluster=True)
    return cfgs


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------
def _i(x) -> int:
    return round(float(x))


def _f(x) -> float:
    if x is None:
        return float("nan")
    x = float(x)
    return x


def pretest_row(key, W, q, pvalue_reported):
    if W is None or q == 0:
        return dict(
            key=key,
            W=float("nan"),
            df=q,
            pvalue=float("nan"),
            pvalue_reported=_f(pvalue_reported),
        )
    W = float(np.asarray(W).ravel()[0])
    return dict(
        key=key,
        W=W,
        df=q,
        pvalue=float(1.0 - stats.chi2.cdf(W, q)),
        pvalue_reported=_f(pvalue_reported),
    )


def _kwargs_str(kw: dict) -> str:
    parts = []
    for k, v in kw.items():
        parts.append(f"{k}={v!r}" if k != "data" else f"{k}={v}")
    return ", ".join(parts)


# ----------------------------------------------------------------------------
# moderndid
# ----------------------------------------------------------------------------
def run_moderndid(cfg: dict, df: pd.DataFrame):
    import moderndid as md

    if cfg["cluster"]:
        # moderndid 0.2.0 (the newest release installable on Python 3.11) has no
        # analytic cluster-robust SE; moderndid >= 0.3 (Python >= 3.12) has one.
        # Keep the key engine-independent: always take it from csdid.
        raise NotImplementedError(
            "moderndid 0.2.0 has no analytic cluster-robust SE: with boot=False it warns "
            "'resulting standard errors are NOT accounting for clustering' (cluster only via bootstrap); "
            "this key is computed with csdid"
        )
    kw = dict(
        data="df",
        yname=YNAME,
        tname=TNAME,
        gname=GNAME,
    )
    if cfg["panel"]:
        kw["idname"] = IDNAME
    # For panel=False (true repeated cross sections) idname is omitted on purpose:
    # R did ignores idname when panel=FALSE and uses one row = one unit (.rowid).
    # moderndid 0.2.0 with idname+panel=False counts n = #ids (500) while the
    # influence function has one row per observation (2500): wrong SEs, and
    # aggte(type='group'/'simple'/...) crashes on a shape mismatch.
    kw.update(
        xformla=cfg["xformla"],
        weightsname=WEIGHT_COL if cfg["weights"] else None,
        est_method=cfg["est_method"],
        control_group=cfg["control_group"],
        base_period=cfg["base_period"],
        anticipation=cfg["anticipation"],
        panel=cfg["panel"],
        boot=False,
        cband=False,
    )
    call_kw = dict(kw)
    call_kw["data"] = df
    res = md.att_gt(**call_kw)

    rows = []
    for g, t, a, s in zip(res.groups, res.times, res.att_gt, res.se_gt):
        rows.append((f"ATT(g={_i(g)},t={_i(t)})", _f(a), _f(s)))

    agg_calls = []

    def agg(label, type_, **akw):
        akw_full = dict(type=type_, **akw, boot=False, cband=False)
        agg_calls.append(f"moderndid.aggte(mp, {_kwargs_str(akw_full)})  -> {label}")
        a = md.aggte(res, **akw_full)
        if type_ != "simple":
            etimes = np.asarray(a.event_times)
            for e, v, s in zip(etimes, a.att_by_event, a.se_by_event):
                name = {"dynamic": "e", "group": "g", "calendar": "t"}[type_]
                rows.append((f"{label}:{name}={_i(e)}", _f(v), _f(s)))
        rows.append((f"{label}:ATT", _f(a.overall_att), _f(a.overall_se)))

    agg("simple", "simple")
    agg("dynamic", "dynamic")
    agg("group", "group")
    agg("calendar", "calendar")
    agg("dynamic_balance1", "dynamic", balance_e=1)
    agg("dynamic_min-2_max2", "dynamic", min_e=-2, max_e=2)

    # df of the Wald pre-test = number of pre-treatment cells (g > t) with a
    # finite, non-zero SE (same filter moderndid and R did apply)
    groups, times = np.asarray(res.groups), np.asarray(res.times)
    pre = (groups > times) & np.isfinite(res.se_gt)
    q = int(pre.sum())
    pt = pretest_row(cfg["key"], res.wald_stat, q, res.wald_pvalue)

    call = f"moderndid.att_gt({_kwargs_str(kw)})"
    return rows, pt, call, agg_calls


# ----------------------------------------------------------------------------
# csdid
# ----------------------------------------------------------------------------
def run_csdid(cfg: dict, df: pd.DataFrame):
    from csdid.att_gt import ATTgt

    data = df
    idname = IDNAME
    if not cfg["panel"]:
        # csdid requires an idname argument; give it a row id so that, as in
        # R did (panel=FALSE), every observation is its own unit.
        data = df.copy()
        data["obs_id"] = np.arange(1, len(df) + 1)
        idname = "obs_id"
    ctor = dict(
        yname=YNAME,
        tname=TNAME,
        idname=idname,
        gname=GNAME,
        data="df" if cfg["panel"] else "df.assign(obs_id=range(1, len(df)+1))",
        control_group=cfg["control_group"],
        xformla=(f"{YNAME}{cfg['xformla']}" if cfg["xformla"] else None),
        panel=cfg["panel"],
        weights_name=WEIGHT_COL if cfg["weights"] else None,
        clustervar=STATE_COL if cfg["cluster"] else None,
        anticipation=cfg["anticipation"],
        cband=False,
    )
    fit_kw = dict(
        est_method=cfg["est_method"], base_period=cfg["base_period"], bstrap=False
    )
    ckw = dict(ctor)
    ckw["data"] = data
    with contextlib.redirect_stdout(
        io.StringIO()
    ):  # csdid prints notes (e.g. anticipation) to stdout
        m = ATTgt(**ckw)
        m.fit(**fit_kw)
    r = m.results
    rows = []
    for g, t, a, s in zip(r["group"], r["year"], r["att"], r["se"]):
        rows.append((f"ATT(g={_i(g)},t={_i(t)})", _f(a), _f(s)))

    agg_calls = []

    def agg(label, type_, **akw):
        akw_full = dict(typec=type_, **akw, bstrap=False, cband=False)
        agg_calls.append(f"model.aggte({_kwargs_str(akw_full)})  -> {label}")
        with contextlib.redirect_stdout(io.StringIO()):
            m.aggte(**akw_full)
        a = m.atte
        if type_ != "simple":
            name = {"dynamic": "e", "group": "g", "calendar": "t"}[type_]
            for e, v, s in zip(
                np.atleast_1d(a["egt"]),
                np.atleast_1d(a["att_egt"]),
                np.atleast_1d(a["se_egt"]),
            ):
                rows.append((f"{label}:{name}={_i(e)}", _f(v), _f(s)))
        rows.append((f"{label}:ATT", _f(a["overall_att"]), _f(a["overall_se"])))

    agg("simple", "simple")
    agg("dynamic", "dynamic")
    agg("group", "group")
    agg("calendar", "calendar")
    agg("dynamic_balance1", "dynamic", balance_e=1)
    agg("dynamic_min-2_max2", "dynamic", min_e=-2, max_e=2)

    W, Wp = m.MP.get("W"), m.MP.get("Wpval")
    groups, times = np.asarray(r["group"]), np.asarray(r["year"])
    se = np.asarray(r["se"], dtype=float)
    pre = (groups - cfg["anticipation"] > times) & np.isfinite(
        se
    )  # csdid: t < g - anticipation
    q = int(pre.sum())
    pt = pretest_row(cfg["key"], W, q, Wp)
    call = f"csdid.att_gt.ATTgt({_kwargs_str(ctor)}).fit({_kwargs_str(fit_kw)})"
    return rows, pt, call, agg_calls


# ----------------------------------------------------------------------------
# output
# ----------------------------------------------------------------------------
def write_results(path: Path, rows: list[tuple]):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["key", "term", "estimate", "std_error"])
        for key, term, est, se in rows:
            w.writerow([key, term, repr(float(est)), repr(float(se))])


def write_pretest(path: Path, rows: list[dict]):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["key", "W", "df", "pvalue", "pvalue_reported"])
        for r in rows:
            w.writerow(
                [
                    r["key"],
                    repr(float(r["W"])),
                    r["df"],
                    repr(float(r["pvalue"])),
                    repr(float(r["pvalue_reported"])),
                ]
            )


def run_engine(name, fn, cfgs, df):
    out_rows, out_pre, prov = [], [], {}
    for cfg in cfgs:
        key = cfg["key"]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                rows, pt, call, agg_calls = fn(cfg, df)
            except Exception as exc:  # recorded, not fatal
                prov[key] = {
                    "status": "failed",
                    "error": f"{type(exc).__name__}: {exc}",
                }
                print(
                    f"[{name}] {key}: FAILED {type(exc).__name__}: {exc}",
                    file=sys.stderr,
                )
                continue
        msgs = sorted({str(w.message).strip().splitlines()[0][:300] for w in caught})
        out_rows += [(key, *r) for r in rows]
        out_pre.append(pt)
        prov[key] = {
            "status": "ok",
            "call": call,
            "aggte_calls": agg_calls,
            "warnings": msgs,
        }
        print(f"[{name}] {key}: {len(rows)} terms", file=sys.stderr)
    return out_rows, out_pre, prov


def compare(a_rows, b_rows):
    a = {(k, t): (e, s) for k, t, e, s in a_rows}
    b = {(k, t): (e, s) for k, t, e, s in b_rows}
    per_key = {}
    for (k, t), (e1, s1) in a.items():
        d = per_key.setdefault(
            k,
            {
                "n_terms": 0,
                "missing_in_csdid": [],
                "max_abs_diff_estimate": 0.0,
                "max_abs_diff_se": 0.0,
                "se_nan_mismatch": [],
            },
        )
        if (k, t) not in b:
            d["missing_in_csdid"].append(t)
            continue
        e2, s2 = b[(k, t)]
        d["n_terms"] += 1
        d["max_abs_diff_estimate"] = max(d["max_abs_diff_estimate"], abs(e1 - e2))
        if math.isnan(s1) != math.isnan(s2):
            d["se_nan_mismatch"].append(t)
        elif not math.isnan(s1):
            d["max_abs_diff_se"] = max(d["max_abs_diff_se"], abs(s1 - s2))
    for k, d in per_key.items():
        d["extra_in_csdid"] = sorted(t for (kk, t) in b if kk == k and (kk, t) not in a)
    return per_key


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--out",
        default=str(HERE),
        help="output directory (default: next to this script)",
    )
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    path = find_mpdta()
    df = load_mpdta(path)
    cfgs = build_configs()

    md_rows, md_pre, md_prov = run_engine("moderndid", run_moderndid, cfgs, df)
    cs_rows, cs_pre, cs_prov = run_engine("csdid", run_csdid, cfgs, df)

    # results.csv: moderndid, falling back to csdid where moderndid cannot run
    ref_rows = list(md_rows)
    ref_pre = list(md_pre)
    engine_of = {}
    for cfg in cfgs:
        k = cfg["key"]
        if cfg["weights"] and cs_prov.get(k, {}).get("status") == "ok":
            engine_of[k] = "csdid"
            ref_rows = [r for r in ref_rows if r[0] != k] + [
                r for r in cs_rows if r[0] == k
            ]
            ref_pre = [p for p in ref_pre if p["key"] != k] + [
                p for p in cs_pre if p["key"] == k
            ]
        elif md_prov.get(k, {}).get("status") == "ok":
            engine_of[k] = "moderndid"
        elif cs_prov.get(k, {}).get("status") == "ok":
            engine_of[k] = "csdid"
            ref_rows += [r for r in cs_rows if r[0] == k]
            ref_pre += [p for p in cs_pre if p["key"] == k]
        else:
            engine_of[k] = None
    order = {c["key"]: i for i, c in enumerate(cfgs)}
    ref_rows.sort(key=lambda r: order[r[0]])  # stable: keeps term order within key
    ref_pre.sort(key=lambda p: order[p["key"]])

    write_results(out / "results.csv", ref_rows)
    write_pretest(out / "pretest.csv", ref_pre)
    write_results(out / "results_csdid.csv", cs_rows)
    write_pretest(out / "pretest_csdid.csv", cs_pre)

    agreement = compare(md_rows, cs_rows)
    pre_cs = {p["key"]: p for p in cs_pre}
    for p in md_pre:
        if p["key"] in agreement and p["key"] in pre_cs:
            q = pre_cs[p["key"]]
            agreement[p["key"]]["pretest"] = {
                "W_moderndid": p["W"],
                "W_csdid": q["W"],
                "df_moderndid": p["df"],
                "df_csdid": q["df"],
            }

    def ver(p):
        try:
            return metadata.version(p)
        except metadata.PackageNotFoundError:
            return None

    prov = {
        "generated_at": _dt.datetime.now(_dt.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "generator": "tests/reference/did_cs/generate.py",
        "command": f"{Path(sys.executable)} tests/reference/did_cs/generate.py",
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": {
            p: ver(p)
            for p in (
                "moderndid",
                "csdid",
                "drdid",
                "numpy",
                "scipy",
                "pandas",
                "polars",
                "statsmodels",
                "formulaic",
                "patsy",
            )
        },
        "data": {
            "file": "tests/fixtures/datasets/mpdta.csv",
            "path_used": str(path),
            "n_rows": len(df),
            "n_units": int(df[IDNAME].nunique()),
            "python_prep": (
                "df = pd.read_csv(mpdta_csv).sort_values(['countyreal', 'year']).reset_index(drop=True); "
                "w = np.exp(df['lpop']); df['w_exp_lpop'] = w / w.mean(); "
                "df['state'] = (df['countyreal'] // 1000).astype(int)"
            ),
            "derived_columns": {
                WEIGHT_COL: "exp(lpop) / mean(exp(lpop)) (mean over all 2500 rows = mean over the 500 "
                "units since lpop is time-invariant); used as weightsname",
                STATE_COL: "countyreal // 1000 = state FIPS code (countyreal is the 4-5 digit county FIPS "
                "code); first_treat is constant within state (29 states); used as cluster var",
            },
        },
        "conventions": {
            "standard_errors": "analytic (influence-function) SEs, no bootstrap: boot=False/bstrap=False, "
            "cband=False; unit-level clustering (i.i.d. across units) except the "
            "'-cluster_state' key (cluster-robust by state, computed by csdid)",
            "missing_se": "written as nan (universal base period reference cell ATT(g, g-1-anticipation) "
            "is reported as estimate 0.0 with SE nan, and dynamic e=-1-anticipation likewise)",
            "repeated_cross_section": "panel=False without idname (each of the 2500 rows is its own unit, "
            "n=2500), as R did does for panel=FALSE",
            "pretest": "W = n * b' V^-1 b over pre-treatment cells (g > t, finite SE) with V = IF'IF/n; "
            "pvalue = 1 - chi2.cdf(W, df) unrounded; pvalue_reported is what the package "
            "reports (rounded to 5 decimals, as R did)",
        },
        "keys": {},
    }
    for cfg in cfgs:
        k = cfg["key"]
        prov["keys"][k] = {
            "engine": engine_of[k],
            "engine_reason": (
                MODERNDID_WEIGHTED_AGG_BUG
                if cfg["weights"]
                else "moderndid cannot compute analytic cluster-robust SEs; csdid (R did 2.5 formula)"
                if cfg["cluster"]
                else "primary engine"
            ),
            "python_call": (md_prov if engine_of[k] == "moderndid" else cs_prov)
            .get(k, {})
            .get("call"),
            "python_aggte_calls": (md_prov if engine_of[k] == "moderndid" else cs_prov)
            .get(k, {})
            .get("aggte_calls"),
            "options": {kk: vv for kk, vv in cfg.items() if kk != "key"},
            "moderndid": md_prov.get(k),
            "csdid": cs_prov.get(k),
            "agreement_moderndid_vs_csdid": agreement.get(k),
        }
    with (out / "PROVENANCE.json").open("w") as fh:
        json.dump(
            prov,
            fh,
            indent=2,
            default=lambda o: o.item() if hasattr(o, "item") else str(o),
        )
        fh.write("\n")
    print(
        f"wrote {out}/results.csv ({len(ref_rows)} rows), pretest.csv, results_csdid.csv, "
        f"pretest_csdid.csv, PROVENANCE.json",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
