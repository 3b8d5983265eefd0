"""Regenerate tests/reference/cr2/results.json and PROVENANCE.json.

Two sources:

1. clubSandwich (R, cannot run here): the numbers printed in Pustejovsky & Tipton
   (2018, JBES), Table 2 ("Tests of effects of minimum legal drinking age"), fixed
   effects rows, copied from the compiled paper source in the clubSandwich
   repository (jepusto/clubSandwich @ 7cc5060,
   paper_ClusterRobustTesting/ClusterRobustTesting_FE_models_revised.tex; the
   producing R code is paper_ClusterRobustTesting/R/MLDA-example.R). They are
   constants here; the data (clubSandwich's MortalityRates) are not copied into
   the repo: the test recomputes them when TNE_EVAL_CLUBSANDWICH_DATA points to
   MortalityRates.RData.
2. pyfixest CRV3 (leave-one-cluster-out jackknife) on castle and mpdta from the
   shared datasets, run here.

Run in a throw-away venv (not the project's .venv)::

    python3 -m venv /tmp/refenv_cr2
    /tmp/refenv_cr2/bin/pip install "pyfixest==0.60.0"
    TNE_EVAL_SHARED_DATASETS=<dir with castle_bacondecomp.csv, mpdta.csv> \
        /tmp/refenv_cr2/bin/python tests/reference/cr2/generate.py
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]

PUBLISHED = {
    "source": {
        "repository": "jepusto/clubSandwich",
        "commit": "7cc5060dcc9b96f5cf6280f0007347e85ff1fc39",
        "file": "paper_ClusterRobustTesting/ClusterRobustTesting_FE_models_revised.tex",
        "table": "tab:MLDA, 'Tests of effects of minimum legal drink age and Hausman specification test', rows 'Fixed effects'",
        "producing_code": "paper_ClusterRobustTesting/R/MLDA-example.R",
        "paper": "Pustejovsky & Tipton (2018), JBES 36(4), 672-683, doi:10.1080/07350015.2016.1247004",
    },
    "data": "clubSandwich::MortalityRates (data/MortalityRates.RData in the same commit): subset(MortalityRates, cause == 'Motor Vehicle' & year <= 1983 & !is.na(beertaxa)) -> 700 rows, 50 states, 14 years",
    "r_calls": [
        "FE_fit <- plm(mrate ~ legal + beertaxa, data = MV_deaths, effect = 'twoways', index = c('state','year'))",
        "Wald_test(FE_fit, constraints = constrain_zero(1), vcov = 'CR1', cluster = MV_deaths$state, test = 'Naive-F')",
        "Wald_test(FE_fit, constraints = constrain_zero(1), vcov = 'CR2', cluster = MV_deaths$state, test = 'HTZ')",
    ],
    "printed": {
        "FE_CR1_NaiveF": {"F": "9.660", "df": "49.00", "p": "0.00313"},
        "FE_CR2_HTZ": {"F": "9.116", "df": "24.58", "p": "0.00583"},
    },
    "tne_eval_equivalent": "X = [legal, beertaxa, year dummies (1971..1983)] demeaned within state, resid of the two-way FE fit, cluster = absorbed = state; htz_test(..., contrast=e_legal) and CR1 = G/(G-1) * CR0 with F(1, G-1)",
}


def shared_dir() -> Path:
    env = os.environ.get("TNE_EVAL_SHARED_DATASETS")
    return Path(env) if env else REPO.parent / "shared" / "datasets"


def pyfixest_cases():
    import pyfixest as pf

    data = shared_dir()
    castle = pd.read_csv(data / "castle_bacondecomp.csv")
    mpdta = pd.read_csv(data / "mpdta.csv")
    mpdta["state"] = mpdta["countyreal"] // 1000
    mpdta["d"] = (
        (mpdta["first_treat"] > 0) & (mpdta["year"] >= mpdta["first_treat"])
    ).astype(float)
    mpdta["w"] = np.exp(mpdta["lpop"])
    no_ssc = pf.ssc(k_adj=False, G_adj=False)
    cases = {
        "castle-unweighted": (
            castle,
            "l_homicide ~ post | sid + year",
            {"CRV3": "sid"},
            None,
        ),
        "castle-popwt": (
            castle,
            "l_homicide ~ post | sid + year",
            {"CRV3": "sid"},
            "popwt",
        ),
        "mpdta-unweighted": (
            mpdta,
            "lemp ~ d + lpop:year | countyreal + year",
            {"CRV3": "state"},
            None,
        ),
        "mpdta-wexplpop": (
            mpdta,
            "lemp ~ d | countyreal + year",
            {"CRV3": "state"},
            "w",
        ),
    }
    out = {}
    for key, (df, fml, vcov, weights) in cases.items():
        fit = pf.feols(fml, data=df, vcov=vcov, weights=weights, ssc=no_ssc)
        out[key] = {
            "python_call": f"pyfixest.feols({fml!r}, data=df, vcov={vcov!r}, weights={weights!r}, ssc=pyfixest.ssc(k_adj=False, G_adj=False))",
            "terms": list(fit.coef().index),
            "coef": [float(v) for v in fit.coef().to_numpy()],
            "vcov": np.asarray(fit._vcov, dtype=float).tolist(),
            "n_obs": int(fit._N),
        }
    return out


def main() -> None:
    results = {"clubSandwich_published": PUBLISHED, "pyfixest_crv3": pyfixest_cases()}
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    prov = {
        "generated_at": _dt.datetime.now(_dt.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "generator": "tests/reference/cr2/generate.py",
        "command": f"{sys.executable} tests/reference/cr2/generate.py",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {
            p: metadata.version(p) for p in ("pyfixest", "numpy", "pandas", "scipy")
        },
        "data": {
            "castle": "castle_bacondecomp.csv (shared/datasets, not copied): 50 states x 11 years; model l_homicide ~ post | sid + year, cluster sid",
            "mpdta": "mpdta.csv (shared/datasets, not copied): state = countyreal // 1000 (29 states), d = 1{first_treat > 0 and year >= first_treat}, w = exp(lpop); county effects nested in states",
            "MortalityRates": PUBLISHED["data"],
        },
        "conventions": {
            "pyfixest_crv3": "pyfixest 0.60 CRV3 = ssc * sum_g (beta_(-g) - beta_hat)(beta_(-g) - beta_hat)' by explicit refits (fixed effects refitted, no centring at the jackknife mean); with ssc(k_adj=False, G_adj=False) the factor is 1, which is clubSandwich's CR3 convention and tne_eval.inference.small_sample.cr3_vcov",
            "clubSandwich": PUBLISHED["source"],
        },
    }
    (HERE / "PROVENANCE.json").write_text(json.dumps(prov, indent=2) + "\n")
    print(json.dumps(results["pyfixest_crv3"], indent=1)[:2000])


if __name__ == "__main__":
    main()
