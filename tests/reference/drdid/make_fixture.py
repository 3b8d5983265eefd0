#!/usr/bin/env python
"""Write the small 2x2 DiD fixtures used by ``tests/did/test_two_by_two.py``.

Run from the repository root with any Python that has numpy (the project venv is
fine); the output is deterministic (seeded PCG64 streams, values rounded to six
decimals) and committed::

    .venv/bin/python tests/reference/drdid/make_fixture.py

Outputs
    tests/fixtures/drdid_panel.csv   400 units:        id, treated, x1, x2, x3, y0, y1, w
    tests/fixtures/drdid_rc.csv      400 observations: id, post, treated, x1, x2, x3, y, w

Design (both files): selection on observables through a logit in (x1, x2, x3);
covariate-specific trends and a heterogeneous effect ``1.5 + 0.5 * x1`` for the
treated in the post period; unit noise. A handful of units get a large ``x1``
so that a few control units have a fitted propensity score above DRDID's default
trim level 0.995 and trimming is exercised by the reference comparison.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

N = 400
SEED_PANEL = 20200601
SEED_RC = 20200602
OUT = Path(__file__).resolve().parents[2] / "fixtures"


def _draw(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    x1 = rng.normal(size=n)
    x1[:8] = np.linspace(3.6, 5.4, 8)  # tail units: near-certain treatment
    x2 = rng.uniform(0.0, 2.0, size=n)
    x3 = (rng.uniform(size=n) < 0.4).astype(np.int64)
    index = -0.6 + 1.4 * x1 - 0.5 * x2 + 0.6 * x3
    treated = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-index))).astype(np.int64)
    treated[[0, 3, 6]] = 0  # keep three controls in the tail
    level = 2.0 + 1.0 * x1 + 0.5 * x2 - 0.8 * x3 + 0.5 * treated
    y0 = level + rng.normal(size=n)
    trend = 1.0 + 0.4 * x1 - 0.3 * x2 + 0.2 * x3
    y1 = level + trend + treated * (1.5 + 0.5 * x1) + rng.normal(size=n)
    w = rng.uniform(0.2, 3.0, size=n)
    return {
        "x1": x1,
        "x2": x2,
        "x3": x3,
        "treated": treated,
        "y0": y0,
        "y1": y1,
        "w": w,
    }


def _write(path: Path, columns: dict[str, np.ndarray]) -> None:
    names = list(columns)
    lines = [",".join(names)]
    for i in range(len(columns[names[0]])):
        cells = []
        for name in names:
            value = columns[name][i]
            if np.issubdtype(columns[name].dtype, np.integer):
                cells.append(str(int(value)))
            else:
                cells.append(f"{value:.6f}")
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)

    p = _draw(np.random.default_rng(SEED_PANEL), N)
    _write(
        OUT / "drdid_panel.csv",
        {
            "id": np.arange(1, N + 1),
            "treated": p["treated"],
            "x1": p["x1"],
            "x2": p["x2"],
            "x3": p["x3"],
            "y0": p["y0"],
            "y1": p["y1"],
            "w": p["w"],
        },
    )

    rng = np.random.default_rng(SEED_RC)
    r = _draw(rng, N)
    post = (rng.uniform(size=N) < 0.5).astype(np.int64)
    y = np.where(post == 1, r["y1"], r["y0"])
    _write(
        OUT / "drdid_rc.csv",
        {
            "id": np.arange(1, N + 1),
            "post": post,
            "treated": r["treated"],
            "x1": r["x1"],
            "x2": r["x2"],
            "x3": r["x3"],
            "y": y,
            "w": r["w"],
        },
    )


if __name__ == "__main__":
    main()
