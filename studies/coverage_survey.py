"""Monte Carlo study: design-based and naive intervals on samples of the teacher survey.

The population is the synthetic teacher survey's respondents
(``load_synthetic("teachers")``, rows with a ``practice_index``), each with its
``design_weight``. Replication ``r`` draws a sample from it with one of two
designs (``--design``), every teacher row of a sampled PSU kept:

``schools``
    stratified by department; in each, a simple random sample without
    replacement of ``max(2, round(fraction * N_h))`` of its ``N_h`` schools;
    weight ``design_weight * N_h / n_h``; survey design
    ``SurveyDesign(strata="department", psu="school_id", fpc="N_h")``.
``departments``
    stratified by treatment cohort; simple random samples of departments
    (:data:`DEPARTMENTS_SAMPLED`: 25 of the 89 never treated, 5 of the 10
    first treated in 2021, both of 2020); weight ``design_weight * N / n``;
    ``SurveyDesign(strata="first_treated", psu="department", fpc="N_dep")``.

On each sample:

``mean``
    the design-weighted mean of ``practice_index`` in the 2023 wave
    (:func:`tne_eval.survey_mean` with ``domain``); target: the same mean over
    the population;
``did``
    the simple ATT of :func:`tne_eval.att_gt` (repeated cross-sections,
    outcome regression on the social index, never-treated comparisons) and
    :func:`tne_eval.aggregate`; target: the same estimator on the population
    (the finite-population quantity the sample estimates).

Two 95% intervals of each are compared: ``design`` (the survey design above,
t with PSUs - strata degrees of freedom) and ``naive`` (the same influence
functions with every teacher an independent draw, ``with_inference("iid")``).

The third design, ``worlds``, targets the causal effect instead: replication
``r`` simulates the synthetic world with seed ``seed + r`` (new schools, new
assignment of departments to cohorts, new teachers), and the simple ATT of the
teacher survey (outcome regression on the social index) is compared with that
world's truth (``truth["outcomes"]["practice_index"]["weightings"]["teachers"]
["simple"]``), with the design weights (``did``) and with the design weights
corrected for non-response by a survey-weighted logit on the response model's
observables (``did_nr``), under three intervals: ``department``
(``survey_inference(..., cluster="department")``: the departments, to which
treatment is assigned, as ultimate clusters), ``schools`` (schools as PSUs, the
design of teachers sampled within schools) and ``naive``.

Usage::

    python studies/coverage_survey.py --reps 1000 --design departments
    python studies/coverage_survey.py --reps 1000 --design schools --out summary.json
    python studies/coverage_survey.py --reps 200 --design worlds
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import tne_eval as tne
from tne_eval._parallel import parallel_map, spawn_generators
from tne_eval.datasets import load_synthetic

__all__ = ["population", "replication", "run_study", "summarize"]

SPEC = tne.RepeatedCrossSectionSpec(
    time="wave",
    outcome="practice_index",
    group="school_id",
    cohort="first_treated",
    weights="w",
    id="teacher_id",
    covariates=("social_index",),
)
#: The sample designs of the study, as survey designs.
DESIGNS = {
    "schools": tne.SurveyDesign(
        strata="department", psu="school_id", fpc="N_h", weights="w"
    ),
    "departments": tne.SurveyDesign(
        strata="first_treated", psu="department", fpc="N_dep", weights="w"
    ),
}
ESTIMANDS = ("mean", "did", "did_nr")
METHODS = ("design", "naive")
WORLD_METHODS = ("department", "schools", "naive")


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tne.TneEvalWarning)
        return fn(*args, **kwargs)


def population() -> tuple[pd.DataFrame, dict[str, float]]:
    """Return the population (the respondents) and its two target values."""
    teachers = load_synthetic("teachers")
    pop = teachers[teachers["practice_index"].notna()].reset_index(drop=True)
    n_h = pop.groupby("department")["school_id"].nunique().rename("N_h")
    pop = pop.join(n_h, on="department").assign(
        w=pop["design_weight"], in2023=pop["wave"].eq(2023)
    )
    mean = float(
        np.average(
            pop["practice_index"][pop["in2023"]], weights=pop["w"][pop["in2023"]]
        )
    )
    did = _quiet(tne.aggregate, _quiet(tne.att_gt, pop, SPEC, method="reg"), "simple")
    return pop, {"mean": mean, "did": float(did.estimates.iloc[0])}


#: Departments sampled per treatment cohort in the "departments" design (of 89
#: never treated, 10 first treated in 2021 and 2 in 2020).
DEPARTMENTS_SAMPLED = {0: 25, 2021: 5, 2020: 2}


def _sample(
    pop: pd.DataFrame, rng: np.random.Generator, fraction: float, design: str
) -> pd.DataFrame:
    if design == "departments":
        deps = pop.drop_duplicates("department")[["department", "first_treated"]]
        chosen = np.concatenate(
            [
                rng.choice(
                    group["department"].to_numpy(),
                    size=DEPARTMENTS_SAMPLED[g],
                    replace=False,
                )
                for g, group in deps.groupby("first_treated", sort=True)
            ]
        )
        sample = pop[pop["department"].isin(chosen)]
        big_n = sample["first_treated"].map(deps.groupby("first_treated").size())
        small_n = sample["first_treated"].map(DEPARTMENTS_SAMPLED)
        return sample.assign(w=sample["design_weight"] * big_n / small_n, N_dep=big_n)
    schools = pop.drop_duplicates("school_id")[["department", "school_id", "N_h"]]
    picked = []
    for _, group in schools.groupby("department", sort=True):
        n_h = max(2, round(fraction * len(group)))
        picked.append(
            rng.choice(group["school_id"].to_numpy(), size=n_h, replace=False)
        )
    chosen = np.concatenate(picked)
    sample = pop[pop["school_id"].isin(chosen)]
    n_h = sample.groupby("department")["school_id"].transform("nunique")
    return sample.assign(w=sample["design_weight"] * sample["N_h"] / n_h)


def replication(
    rng: np.random.Generator,
    pop: pd.DataFrame,
    truth: dict[str, float],
    fraction: float,
    design: str = "schools",
) -> dict[str, float]:
    """Estimates, standard errors and coverage indicators of one sample."""
    sample = _sample(pop, rng, fraction, design)
    survey = DESIGNS[design]
    out: dict[str, float] = {}
    mean = tne.survey_mean(sample, "practice_index", survey, domain="in2023")
    did = _quiet(
        tne.aggregate, _quiet(tne.att_gt, sample, SPEC, method="reg"), "simple"
    )
    fits = {
        "mean": {"design": mean, "naive": mean.with_inference("iid")},
        "did": {
            "design": _quiet(tne.survey_inference, did, sample, survey),
            "naive": _quiet(did.with_inference, "iid"),
        },
    }
    for estimand, by in fits.items():
        for method, res in by.items():
            ci = res.conf_int(0.05).iloc[0]
            out[f"{estimand}_estimate"] = float(res.estimates.iloc[0])
            out[f"{estimand}_{method}_se"] = float(res.std_errors.iloc[0])
            out[f"{estimand}_{method}_cover"] = float(
                ci["conf_low"] <= truth[estimand] <= ci["conf_high"]
            )
    return out


#: Covariates of the survey-weighted response logit of the ``worlds`` design: the
#: observables of the synthetic world's response model.
RESPONSE_COVARIATES = (
    "social_index",
    "rural_f",
    "private_f",
    "college_f",
    "experience",
    "wave_f",
    "treated_f",
)


def _with_response_covariates(teachers: pd.DataFrame) -> pd.DataFrame:
    return teachers.assign(
        rural_f=teachers["rural"].astype(float),
        private_f=teachers["sector"].eq("private").astype(float),
        college_f=teachers["level"].eq("college").astype(float),
        wave_f=teachers["wave"].astype(float),
        treated_f=teachers["treated"].astype(float),
    )


def world_replication(seed: int) -> dict[str, float]:
    """Estimate the simple ATT of one simulated world's teacher survey, with its truth.

    Two weightings: the design weights (``did``) and the design weights divided
    by the response propensity of a survey-weighted logit on
    :data:`RESPONSE_COVARIATES` (``did_nr``).
    """
    from tne_eval.datasets import WorldConfig, simulate

    world = simulate(WorldConfig(seed=int(seed)))
    teachers = _with_response_covariates(world.teachers)
    adj = tne.nonresponse_weights(
        teachers, "responded", weights="design_weight", covariates=RESPONSE_COVARIATES
    )
    teachers = teachers.assign(w_nr=adj.weights)
    truth = world.truth["outcomes"]["practice_index"]["weightings"]["teachers"][
        "simple"
    ]
    out = {"seed": float(seed), "truth": float(truth)}
    for estimand, weights in (("did", "design_weight"), ("did_nr", "w_nr")):
        spec = SPEC.update(weights=weights, cluster="department")
        did = _quiet(
            tne.aggregate, _quiet(tne.att_gt, teachers, spec, method="reg"), "simple"
        )
        design = tne.SurveyDesign(psu="school_id", weights=weights)
        fits = {
            "department": _quiet(
                tne.survey_inference, did, teachers, design, cluster="department"
            ),
            "schools": _quiet(tne.survey_inference, did, teachers, design),
            "naive": _quiet(did.with_inference, "iid"),
        }
        for method, res in fits.items():
            ci = res.conf_int(0.05).iloc[0]
            out[f"{estimand}_estimate"] = float(res.estimates.iloc[0])
            out[f"{estimand}_{method}_se"] = float(res.std_errors.iloc[0])
            out[f"{estimand}_{method}_cover"] = float(
                ci["conf_low"] <= truth <= ci["conf_high"]
            )
    return out


def run_study(
    reps: int,
    *,
    seed: int = 20261202,
    fraction: float = 0.2,
    design: str = "schools",
    n_jobs: int = 1,
    progress: bool | None = False,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Run ``reps`` replications of one design; returns the records and the targets."""
    if design == "worlds":
        records = parallel_map(
            world_replication,
            [seed + r for r in range(1, reps + 1)],
            n_jobs=n_jobs,
            progress=progress,
            desc="survey coverage (worlds)",
        )
        frame = pd.DataFrame(records)
        mean_truth = float(frame["truth"].mean())
        return frame, {"did": mean_truth, "did_nr": mean_truth}
    if design not in DESIGNS:
        raise ValueError(
            f"design must be one of {sorted(DESIGNS)} or 'worlds' (got {design!r})."
        )
    pop, truth = population()
    records = parallel_map(
        lambda g: replication(g, pop, truth, fraction, design),
        spawn_generators(seed, reps),
        n_jobs=n_jobs,
        progress=progress,
        desc="survey coverage",
    )
    return pd.DataFrame(records), truth


def summarize(records: pd.DataFrame, truth: dict[str, float]) -> dict[str, dict]:
    """Coverage (with its binomial MC standard error), bias and SE / SD ratios.

    With the ``worlds`` design the truth varies by replication (column
    ``truth``): the bias and the SD are those of the estimation errors.
    """
    reps = len(records)
    out: dict[str, dict] = {}
    for estimand in ESTIMANDS:
        if f"{estimand}_estimate" not in records:
            continue
        est = records[f"{estimand}_estimate"]
        err = est - (records["truth"] if "truth" in records else truth[estimand])
        sd = float(err.std(ddof=1))
        row: dict[str, float] = {
            "truth": truth[estimand],
            "bias": float(err.mean()),
            "mc_sd": sd,
        }
        methods = [
            m for m in (*METHODS, *WORLD_METHODS) if f"{estimand}_{m}_se" in records
        ]
        for method in dict.fromkeys(methods):
            cover = float(records[f"{estimand}_{method}_cover"].mean())
            row[f"{method}_coverage"] = cover
            row[f"{method}_coverage_mcse"] = math.sqrt(
                max(cover * (1 - cover), 1e-12) / reps
            )
            row[f"{method}_se_over_sd"] = float(
                records[f"{estimand}_{method}_se"].mean() / sd
            )
        out[estimand] = row
    return out


def main(argv: list[str] | None = None) -> None:
    """Command line: run the study and write the summary as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--fraction", type=float, default=0.2)
    parser.add_argument(
        "--design", choices=[*sorted(DESIGNS), "worlds"], default="schools"
    )
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    start = time.time()
    records, truth = run_study(
        args.reps,
        seed=args.seed,
        fraction=args.fraction,
        n_jobs=args.jobs,
        progress=None,
    )
    summary = {
        "settings": {"reps": args.reps, "seed": args.seed, "fraction": args.fraction},
        "summary": summarize(records, truth),
    }
    from studies._provenance import run_record

    summary["run"] = run_record(time.time() - start)
    text = json.dumps(summary, indent=2)
    if args.out is None:
        print(text)
    else:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
