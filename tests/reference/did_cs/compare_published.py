#!/usr/bin/env python
"""Cross-check: R did documentation numbers (published.json) vs results.csv / pretest.csv.

Standard library only; run with any Python 3.10+:

    python tests/reference/did_cs/compare_published.py

Point estimates must agree to the printed precision (|diff| <= 5e-5, R prints
round(x, 4)); pre-test p-values to 5e-6 (R prints round(p, 5)).  Printed standard
errors are multiplier-bootstrap (random), so only the ratio bootstrap/analytic is
reported.  Exit status 1 if any point estimate or p-value disagrees.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
EST_TOL = 5e-5 + 1e-12
P_TOL = 5e-6 + 1e-12


def main() -> int:
    pub = json.loads((HERE / "published.json").read_text())
    res = {}
    with (HERE / "results.csv").open() as fh:
        for r in csv.DictReader(fh):
            res[(r["key"], r["term"])] = (float(r["estimate"]), float(r["std_error"]))
    pre = {}
    with (HERE / "pretest.csv").open() as fh:
        for r in csv.DictReader(fh):
            pre[r["key"]] = float(r["pvalue"])

    n_ok = n_bad = 0
    ratios = []
    for e in pub["entries"]:
        key = e["matching_results_key"]
        bad_lines = []
        for row in e["rows"]:
            ref = res.get((key, row["term"]))
            if ref is None:
                bad_lines.append(f"    {row['term']}: not in results.csv")
                n_bad += 1
                continue
            est, se = ref
            d = abs(est - row["estimate"])
            if d <= EST_TOL:
                n_ok += 1
            else:
                n_bad += 1
                bad_lines.append(
                    f"    {row['term']}: printed {row['estimate_printed']} vs reference {est!r} (|d|={d:.2e})"
                )
            if not math.isnan(se) and se > 0:
                ratios.append(row["std_error"] / se)
        p_msg = ""
        if "pretest_pvalue" in e:
            p = pre.get(key, float("nan"))
            okp = abs(p - e["pretest_pvalue"]) <= P_TOL
            n_ok += okp
            n_bad += not okp
            p_msg = f"; pre-test p printed {e['pretest_pvalue_printed']} vs {p:.7f} {'OK' if okp else 'MISMATCH'}"
        status = "OK" if not bad_lines else "MISMATCH"
        print(
            f"{e['id']:36s} -> {key:32s} {len(e['rows']):2d} estimates {status}{p_msg}"
        )
        for line in bad_lines:
            print(line)
    ratios.sort()
    if ratios:
        mid = ratios[len(ratios) // 2]
        print(
            f"\nprinted bootstrap SE / analytic SE: n={len(ratios)} min={ratios[0]:.3f} "
            f"median={mid:.3f} max={ratios[-1]:.3f}"
        )
    print(f"\n{n_ok} agree, {n_bad} disagree")
    return 1 if n_bad else 0


if __name__ == "__main__":
    sys.exit(main())
