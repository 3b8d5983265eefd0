"""Power in the synthetic TNE world: analytic formula against simulation.

The analytic side takes the design of the committed world's CM2 school panel
(:meth:`tne_eval.power.PowerDesign.from_panel`: departments by cohort, schools
per department, harmonic mean of tested pupils) and the world's noise
components (:meth:`tne_eval.power.VarianceComponents.from_world`, French). The
simulated side re-draws the whole world ``reps`` times with fresh seeds and
``effect_scale`` in ``--scales`` (0 is the null world), estimates
``att_gt`` (doubly robust, social index as covariate, never-treated
comparisons, ``unbalanced="keep"``) on the French CM2 score, aggregates to the
simple ATT and the 2020 cohort's group effect, and tests each against 0 at 5%
with ``Cluster()`` (t(G-1)). The analytic power is evaluated at the world's true
simple ATT and ATT(2020) (school weighting) times the scale, with the
degrees of freedom of ``Cluster()`` (G - 1) and with the Welch-Satterthwaite
rule.

The design itself is random across worlds: department sizes are drawn with each
seed, so the 2020 cohort has from 25 to 143 CM2 schools (seed 20240601). The Monte Carlo
SD of the estimates is therefore compared both with the analytic SE of the
committed world's design and with the root mean analytic variance over the
simulated worlds' own designs (``analytic_se_world_designs``).

Usage::

    python studies/power_tne.py --reps 100 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

import tne_eval as tne
from studies._provenance import run_record
from tne_eval._parallel import parallel_map, spawn_generators
from tne_eval.datasets import WorldConfig, load_synthetic, simulate
from tne_eval.power import PowerDesign, VarianceComponents, power_analytic

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "studies" / "results" / "power_tne.json"
DEFAULT_SEED = 20240601
SPEC = tne.PanelSpec(
    unit="school_id",
    time="year",
    outcome="score_french",
    cohort="first_treated",
    cluster="department",
    covariates=("social_index",),
)
TERMS = {"simple": "ATT", "group_2020": "g=2020"}


def fit(world, inference):
    """Estimate the simple ATT and the 2020 cohort's effect, in one frame."""
    panel = world.school_panel
    panel = panel.loc[panel["grade"] == "CM2"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tne.TneEvalWarning)
        gt = tne.att_gt(
            panel, SPEC, method="dr", unbalanced="keep", inference=inference
        )
        simple = tne.aggregate(gt, "simple").to_frame()
        group = tne.aggregate(gt, "group").to_frame()
    return _Frame(pd.concat([simple, group]))


class _Frame:
    """A result whose to_frame() is a fixed table (two aggregates at once)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def to_frame(self) -> pd.DataFrame:
        return self._frame


def _truth(world, key):
    t = world.truth["outcomes"]["score_french_CM2"]["weightings"]["schools"]
    return float(t["simple"]) if key == "simple" else float(t["group"]["2020"])


def analytic():
    """Analytic results for the committed world's design and noise."""
    panel = load_synthetic("school_panel")
    cm2 = panel.loc[panel["grade"] == "CM2"]
    design = PowerDesign.from_panel(
        cm2,
        unit="school_id",
        time="year",
        cohort="first_treated",
        department="department",
        n_pupils="n_pupils",
    )
    vc = VarianceComponents.from_world(subject="french")
    out = {}
    for key, kw in {
        "simple": {},
        "group_2020": {"estimand": "group", "cohort": 2020},
    }.items():
        out[key] = {
            rule: power_analytic(design, vc, df=rule, **kw)
            for rule in ("clusters", "satterthwaite")
        }
    return design, vc, out


def _world_seeds(seed: int, reps: int) -> list[int]:
    """World seeds of the replications, as :func:`tne_eval.simulate_power` draws them.

    ``main`` checks the derivation: the mean truth of these worlds must equal the
    one simulate_power reports.
    """
    reps_seeds = [int(g.integers(0, 2**63 - 1)) for g in spawn_generators(seed, reps)]
    return [int(np.random.default_rng(s).integers(0, 2**31 - 1)) for s in reps_seeds]


def _design_variances(world_seed: int) -> dict[str, float]:
    """Analytic variances (df irrelevant) for one simulated world's own design."""
    world = simulate(WorldConfig(seed=world_seed))
    panel = world.school_panel
    cm2 = panel.loc[panel["grade"] == "CM2"]
    design = PowerDesign.from_panel(
        cm2,
        unit="school_id",
        time="year",
        cohort="first_treated",
        department="department",
        n_pupils="n_pupils",
    )
    vc = VarianceComponents.from_world(subject="french")
    group = power_analytic(design, vc, estimand="group", cohort=2020, df="clusters")
    return {
        "simple": power_analytic(design, vc, df="clusters").std_error ** 2,
        "group_2020": group.std_error**2,
        "truth_simple": _truth(world, "simple"),
        "truth_group_2020": _truth(world, "group_2020"),
        "schools_2020": design.cohort_size(2020),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    argv = list(sys.argv if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--scales", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv[1:])
    start = time.perf_counter()
    design, vc, res = analytic()
    rows = []
    sims = {}
    for key, term in TERMS.items():
        sims[key] = tne.simulate_power(
            WorldConfig(),
            fit,
            effects=args.scales,
            inference=tne.Cluster(),
            term=term,
            reps=args.reps,
            seed=args.seed,
            truth=lambda w, key=key: _truth(w, key),
            n_jobs=args.jobs,
        )
    per_world = pd.DataFrame(
        parallel_map(
            _design_variances,
            _world_seeds(args.seed, args.reps),
            n_jobs=args.jobs,
            desc="designs",
        )
    )
    for key, sim in sims.items():
        table = sim.to_frame()
        if 1.0 in table.index and not np.isclose(
            table.loc[1.0, "mean_truth"], per_world[f"truth_{key}"].mean(), rtol=1e-10
        ):
            raise RuntimeError("world seeds differ from those of simulate_power")
        for scale, row in table.iterrows():
            rows.append(
                {
                    "estimand": key,
                    "effect_scale": scale,
                    "truth": row["mean_truth"],
                    "power_simulated": row["power"],
                    "power_mc_se": row["power_se"],
                    "mean_std_error": row["mean_std_error"],
                    "sd_estimate": row["sd_estimate"],
                    "sd_error": row["sd_error"],
                    "analytic_se": res[key]["clusters"].std_error,
                    "analytic_se_world_designs": float(np.sqrt(per_world[key].mean())),
                    "power_analytic_clusters": float(
                        res[key]["clusters"].power_at(row["mean_truth"])[0]
                    ),
                    "power_analytic_satterthwaite": float(
                        res[key]["satterthwaite"].power_at(row["mean_truth"])[0]
                    ),
                    "n_valid": int(row["n_valid"]),
                }
            )
    wall = time.perf_counter() - start
    result = {
        "metadata": {
            "command": " ".join(argv),
            "reps": args.reps,
            "seed": args.seed,
            **run_record(wall),
        },
        "design": design.summary_frame().reset_index().to_dict(orient="records"),
        "components": vc.to_frame()["variance"].to_dict(),
        "mde": {
            key: {
                rule: {"se": r.std_error, "df": r.df, "mde": r.mde}
                for rule, r in by_rule.items()
            }
            for key, by_rule in res.items()
        },
        "rows": rows,
        "schools_2020_across_worlds": per_world["schools_2020"].describe().to_dict(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=float) + "\n")
    frame = pd.DataFrame(rows).round(4)
    args.out.with_suffix(".md").write_text(
        "# Power in the synthetic TNE world\n\n"
        f"{args.reps} worlds per scale, seed {args.seed}; `Cluster()` inference.\n\n"
        + frame.to_markdown(index=False)
        + "\n"
    )
    print(frame.to_string(index=False))
    return 0 if np.isfinite(frame["power_simulated"]).all() else 1


if __name__ == "__main__":
    sys.exit(main())
