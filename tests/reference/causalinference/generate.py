"""Reference ATT estimates by nearest-neighbour matching from ``causalinference``.

Runs Laurence Wong's ``causalinference`` (PyPI ``CausalInference``), whose
``est_via_matching`` implements Abadie and Imbens' matching estimator with
replacement (Mahalanobis-diagonal metric: inverse variances of the covariates,
ties all kept) and the Abadie-Imbens (2011) regression bias adjustment. It
writes the matches it used and its ATT estimates to ``results.json`` so the
test can feed the same matches to ``tne_eval.matching._effects`` without
``causalinference`` installed (its standard error is a conservative
homoskedastic variant, not the Abadie-Imbens one, so only point estimates are
compared).

Run in an environment with ``CausalInference`` (it is not a dependency)::

    python tests/reference/causalinference/generate.py
"""

from __future__ import annotations

import json
import platform
import sys
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
CSV = HERE.parents[1] / "fixtures/datasets/lalonde_psid.csv"
COVARIATES = ["age", "educ", "black", "hispan", "married", "nodegree", "re74", "re75"]


def main() -> None:
    """Run causalinference on LaLonde and write ``results.json``."""
    # imported here: the test suite imports this module without causalinference
    from causalinference import CausalModel
    from causalinference.estimators import matching as ci_matching

    df = pd.read_csv(CSV)
    df["black"] = (df["race"] == "black").astype(float)
    df["hispan"] = (df["race"] == "hispan").astype(float)
    y = df["re78"].to_numpy(float)
    d = df["treat"].to_numpy(int)
    x = df[COVARIATES].to_numpy(float)
    out: dict = {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python tests/reference/causalinference/generate.py",
        "python": platform.python_version(),
        "packages": {p: version(p) for p in ("CausalInference", "numpy", "pandas")},
        "data": "tests/fixtures/datasets/lalonde_psid.csv (614 rows)",
        "covariates": COVARIATES,
        "outcome": "re78",
        "keys": {},
    }
    for bias_adj in (False, True):
        cm = CausalModel(y, d, x)
        cm.est_via_matching(weights="inv", matches=1, bias_adj=bias_adj)
        key = "bias_adjusted" if bias_adj else "plain"
        out["keys"][key] = {
            "call": (
                "CausalModel(Y=re78, D=treat, X=df[COVARIATES]).est_via_matching("
                f"weights='inv', matches=1, bias_adj={bias_adj})"
            ),
            "att": float(cm.estimates["matching"]["att"]),
            "att_se_causalinference": float(cm.estimates["matching"]["att_se"]),
        }
    # the matches of the treated units, as est_via_matching computes them
    x_t, x_c = x[d == 1], x[d == 0]
    w = 1.0 / x.var(axis=0)
    out["matches_of_treated"] = [
        ci_matching.match(xi, x_c, w, 1).tolist() for xi in x_t
    ]
    out["note"] = (
        "matches_of_treated[i] lists positions among the controls (rows with "
        "treat == 0, in file order) matched to the i-th treated row; "
        "weights='inv' is 1/var with the ddof=0 variance of the pooled sample "
        "(causalinference's X.var(0) in est_via_matching)."
    )
    (HERE / "results.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out["keys"], indent=1), file=sys.stderr)


if __name__ == "__main__":
    main()
