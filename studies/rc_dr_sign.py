"""Monte Carlo study: which sign of ``drdid_rc``'s pre-period term gives the right SE.

The repeated cross-section doubly robust estimator ``rc_2x2(..., method="dr")``
(R ``DRDID::drdid_rc``) corrects its influence function for the estimation of the
controls' pre-period outcome regression (coefficients ``beta_c0``).
The derivative of the ATT in ``beta_c0`` is
``mom.pre - (M1.pre - M3.pre)`` in DRDID's notation, and ``tne_eval`` uses it;
DRDID 1.2.3 *adds* ``inf.treat.or.pre = ALR_c0 M1.pre`` and subtracts
``inf.cont.or.pre = ALR_c0 M3.pre``, i.e. uses ``mom.pre + (M1.pre - M3.pre)``.
The two influence functions differ by ``2 (inf.treat.or.pre - inf.cont.or.pre)``;
the ATT is the same. ``M1.pre - M3.pre`` is the pre-period imbalance of the
covariates between the treated and the odds-weighted controls: it vanishes in the
limit when the logit propensity score is correctly specified, so the two standard
errors then agree asymptotically, and not otherwise.

For each design below and each replication ``r = 1, ..., R`` a repeated cross
section of ``n`` observations is drawn with ``numpy.random.default_rng([base_seed,
k, r])`` (``k`` = index of the design in :data:`DESIGNS`)::

    x1, x2 ~ N(0, 1), x3 ~ Bernoulli(0.4), independent
    D ~ Bernoulli(expit(-0.3 + 0.8 x1 - 0.4 x2 + 0.5 x3
                        + ps_square (x1^2 - 1) + ps_interaction x1 x3))
    T ~ Bernoulli(post_share), independent of everything
    Y = level + T trend + D T (1 + 0.5 x1) + sigma_D e,   e ~ N(0, 1)
    level = 1 + x1 + 0.5 x2 - 0.5 x3 + 0.5 D [+ x1^2]
    trend = 1 + 0.8 x1 - 0.5 x2 + 0.3 x3 [+ 0.8 (x1^2 - 1) + 0.5 x1 x2]

(bracketed terms only when ``outcome_misspecified``; ``sigma_D`` is
``control_noise`` for controls and 1 for the treated). The estimator always uses
the design ``(1, x1, x2, x3)`` for both nuisance models, so the logit omits
``x1^2`` and ``x1 x3`` whenever their coefficients are non-zero. The truth is
``ATT = 1 + 0.5 E[x1 | D = 1]``, computed by Gauss-Hermite quadrature
(:func:`true_att`).

Each replication records the ATT and analytic SE of ``rc_2x2(y, post, treated,
x, method="dr")`` (``res.se``, the library's influence function) and the SE of R's
influence function. R's influence function is rebuilt in this script from the
same fitted pieces with the library's *private* helpers of
``tne_eval.did._two_by_two`` (``_capped``, ``_trim``, ``_rc_outcome_models``,
``_rc_dr_core``) and ``tne_eval._numerics`` (``logit_pscore``, ``logit_alr``,
``Wls.alr``), see
:func:`rc_dr_influences`; the library-sign version it builds alongside is checked
against ``res.influence`` in every replication, and
``tests/studies/test_rc_dr_sign.py`` checks that the R-sign version reproduces
the standard errors of ``moderndid`` 0.2.0 (a port of DRDID 1.2.3) on the
reference fixture.

Per design the summary gives the Monte Carlo SD of the ATT, the mean and median
SE under each sign, their ratio to the MC SD, and the coverage of 95% normal
intervals under each sign, each with its Monte Carlo standard error: binomial for
coverage, delta method (influence functions over replications) for means, SD and
mean-SE ratios, and a seeded bootstrap over replications for medians.

Usage::

    python studies/rc_dr_sign.py --reps 5000 --out studies/results/rc_dr_sign.json
    python studies/rc_dr_sign.py --reps 200 --designs under close   # quick look
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studies._provenance import run_record
from tne_eval._numerics.glm import logit_alr, logit_pscore
from tne_eval.did import _two_by_two as tbt
from tne_eval.did._two_by_two import rc_2x2

__all__ = [
    "DESIGNS",
    "Design",
    "RcDrInfluences",
    "draw",
    "main",
    "rc_dr_influences",
    "run_design",
    "run_study",
    "summarise",
    "summarise_design",
    "to_markdown",
    "true_att",
]

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "studies" / "results" / "rc_dr_sign.json"
DEFAULT_BASE_SEED = 20201114
ALPHA = 0.05
Z = 1.959963984540054  # scipy.stats.norm.ppf(0.975)
#: Bootstrap resamples of the replications for the MC SE of medians.
MEDIAN_BOOT = 1000
TRIM_LEVEL = 0.995
SIGNS: tuple[str, ...] = ("library", "r")
SIGN_LABELS = {
    "library": "tne_eval (mom.pre - (M1.pre - M3.pre))",
    "r": "R DRDID 1.2.3 (mom.pre + (M1.pre - M3.pre))",
}


@dataclass(frozen=True)
class Design:
    """One data-generating process (see the module docstring)."""

    name: str
    title: str
    ps_square: float
    ps_interaction: float
    outcome_misspecified: bool
    control_noise: float = 2.0
    post_share: float = 0.8
    n: int = 4000


DESIGNS: tuple[Design, ...] = (
    Design(
        name="under",
        title="logit omits x1^2 (+1.0) and x1*x3 (+2.0); outcome model correct",
        ps_square=1.0,
        ps_interaction=2.0,
        outcome_misspecified=False,
    ),
    Design(
        name="over",
        title="logit omits x1^2 (-0.7) and x1*x3 (+2.0); outcome model correct",
        ps_square=-0.7,
        ps_interaction=2.0,
        outcome_misspecified=False,
    ),
    Design(
        name="close",
        title="logit correct; outcome model omits x1^2 and x1*x2",
        ps_square=0.0,
        ps_interaction=0.0,
        outcome_misspecified=True,
    ),
)
DESIGN_BY_NAME = {d.name: d for d in DESIGNS}


# ---------------------------------------------------------------------------
# data-generating process and truth
# ---------------------------------------------------------------------------


def _ps_index(design: Design, x1, x2, x3):
    return (
        -0.3
        + 0.8 * x1
        - 0.4 * x2
        + 0.5 * x3
        + design.ps_square * (x1 * x1 - 1.0)
        + design.ps_interaction * x1 * x3
    )


def draw(design: Design, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw one repeated cross section: ``y``, ``post``, ``treated``, design ``x``."""
    n = design.n
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    x3 = (rng.uniform(size=n) < 0.4).astype(np.float64)
    p = 1.0 / (1.0 + np.exp(-_ps_index(design, x1, x2, x3)))
    d = (rng.uniform(size=n) < p).astype(np.float64)
    t = (rng.uniform(size=n) < design.post_share).astype(np.float64)
    level = 1.0 + x1 + 0.5 * x2 - 0.5 * x3 + 0.5 * d
    trend = 1.0 + 0.8 * x1 - 0.5 * x2 + 0.3 * x3
    if design.outcome_misspecified:
        level = level + x1 * x1
        trend = trend + 0.8 * (x1 * x1 - 1.0) + 0.5 * x1 * x2
    sigma = np.where(d == 1.0, 1.0, design.control_noise)
    y = level + t * trend + d * t * (1.0 + 0.5 * x1) + sigma * rng.normal(size=n)
    x = np.column_stack([np.ones(n), x1, x2, x3])
    return {"y": y, "post": t, "treated": d, "x": x}


def true_att(design: Design, nodes: int = 120) -> float:
    """``ATT = 1 + 0.5 E[x1 | D = 1]`` by Gauss-Hermite quadrature over (x1, x2)."""
    z, wz = np.polynomial.hermite_e.hermegauss(nodes)
    wz = wz / wz.sum()  # probabilists' Hermite weights: a N(0, 1) expectation
    x1, x2 = np.meshgrid(z, z, indexing="ij")
    w2 = np.outer(wz, wz)
    num = den = 0.0
    for x3, p3 in ((0.0, 0.6), (1.0, 0.4)):
        p = 1.0 / (1.0 + np.exp(-_ps_index(design, x1, x2, x3)))
        num += p3 * float(np.sum(w2 * p * x1))
        den += p3 * float(np.sum(w2 * p))
    return 1.0 + 0.5 * num / den


# ---------------------------------------------------------------------------
# the two influence functions
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RcDrInfluences:
    """Both influence functions of ``drdid_rc`` and the terms that separate them.

    ``r_sign - library == 2 * (treat_or_pre - cont_or_pre)`` exactly.
    """

    att: float
    library: np.ndarray
    r_sign: np.ndarray
    treat_or_pre: np.ndarray  # DRDID's inf.treat.or.pre = ALR_c0 M1.pre
    cont_or_pre: np.ndarray  # DRDID's inf.cont.or.pre = ALR_c0 M3.pre

    def se(self, which: str) -> float:
        """``std(influence, ddof=0) / sqrt(n)`` of ``"library"`` or ``"r"``."""
        inf = self.library if which == "library" else self.r_sign
        return float(np.std(inf) / math.sqrt(inf.shape[0]))


def rc_dr_influences(
    y: np.ndarray,
    post: np.ndarray,
    treated: np.ndarray,
    x: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    trim_level: float = TRIM_LEVEL,
) -> RcDrInfluences:
    """Rebuild ``drdid_rc``'s influence function under both signs.

    Uses the fitted pieces of ``tne_eval.did._two_by_two`` (private helpers) in
    the order of ``_rc_dr``; every term but the two pre-period outcome-regression
    terms is computed once and shared. No input validation: pass what
    :func:`tne_eval.did._two_by_two.rc_2x2` accepts.
    """
    y = np.asarray(y, dtype=np.float64)
    t = np.asarray(post, dtype=np.float64)
    d = np.asarray(treated, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    n = y.shape[0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.mean()

    ps = tbt._capped(logit_pscore(d, x, w))
    keep, _, _ = tbt._trim(ps, d, w, trim_level)
    models = tbt._rc_outcome_models(x, y, t, d, w, w, "outcome regression")
    c0, c1, t0, t1 = models
    odds = ps / (1.0 - ps)
    core = tbt._rc_dr_core(y, t, d, x, models, keep * w, keep * w * odds)
    out_c, out_c0, out_c1, out_t0, out_t1 = core.fitted
    w_tpre, w_tpost, w_cpre, w_cpost, w_d = core.weights
    m_tpre, m_tpost, m_cpre, m_cpost, m_d = core.means

    # DRDID drdid_rc, term by term (ALR_b = asy.lin.rep of the fit b).
    resid = y - out_c
    m1_post = -((w_tpost * t) @ x) / n / m_tpost
    m1_pre = -((w_tpre * (1.0 - t)) @ x) / n / m_tpre
    m2_pre = ((w_cpre * (resid - core.att_cpre)) @ x) / n / m_cpre
    m2_post = ((w_cpost * (resid - core.att_cpost)) @ x) / n / m_cpost
    m3_post = -((w_cpost * t) @ x) / n / m_cpost
    m3_pre = -((w_cpre * (1.0 - t)) @ x) / n / m_cpre
    mom_post = ((w_d / m_d - w_tpost / m_tpost) @ x) / n
    mom_pre = ((w_d / m_d - w_tpre / m_tpre) @ x) / n

    treat_or_post = c1.alr(x, y - out_c1, m1_post)
    cont_or_post = c1.alr(x, y - out_c1, m3_post)
    treat_or_pre = c0.alr(x, y - out_c0, m1_pre)
    cont_or_pre = c0.alr(x, y - out_c0, m3_pre)
    inf_cont_ps = logit_alr(d, x, w, ps, m2_post - m2_pre)
    inf_or = (
        t1.alr(x, y - out_t1, mom_post)
        - c1.alr(x, y - out_c1, mom_post)
        - (t0.alr(x, y - out_t0, mom_pre) - c0.alr(x, y - out_c0, mom_pre))
    )
    shared = core.influence + treat_or_post - cont_or_post - inf_cont_ps + inf_or
    pre = treat_or_pre - cont_or_pre
    return RcDrInfluences(
        att=core.att,
        library=shared - pre,  # -d(ATT)/d(beta_c0) carries -(M1.pre - M3.pre)
        r_sign=shared + pre,  # DRDID 1.2.3: inf.treat.or.pre + ..., same for cont
        treat_or_pre=treat_or_pre,
        cont_or_pre=cont_or_pre,
    )


# ---------------------------------------------------------------------------
# replications
# ---------------------------------------------------------------------------


def _design_index(design: Design) -> int:
    return [d.name for d in DESIGNS].index(design.name)


def run_design(
    design: Design, reps: int, base_seed: int = DEFAULT_BASE_SEED
) -> dict[str, np.ndarray]:
    """Run replications ``1..reps`` of ``design``; one array per recorded field.

    Fields: ``att``, ``se_library`` (``res.se``), ``se_r``, ``n_trimmed`` and
    ``check`` (largest absolute difference between the rebuilt library-sign
    influence function and ``res.influence``, relative to its largest value).
    """
    k = _design_index(design)
    out: dict[str, list[float]] = {
        f: [] for f in ("att", "se_library", "se_r", "n_trimmed", "check")
    }
    for r in range(1, reps + 1):
        data = draw(design, np.random.default_rng([base_seed, k, r]))
        res = rc_2x2(
            data["y"],
            data["post"],
            data["treated"],
            data["x"],
            method="dr",
            trim_level=TRIM_LEVEL,
        )
        both = rc_dr_influences(
            data["y"], data["post"], data["treated"], data["x"], trim_level=TRIM_LEVEL
        )
        scale = float(np.max(np.abs(res.influence)))
        out["att"].append(res.att)
        out["se_library"].append(res.se)
        out["se_r"].append(both.se("r"))
        out["n_trimmed"].append(res.n_trimmed)
        out["check"].append(float(np.max(np.abs(both.library - res.influence))) / scale)
    return {f: np.asarray(v, dtype=np.float64) for f, v in out.items()}


def run_study(
    reps: int,
    designs: Sequence[Design] = DESIGNS,
    base_seed: int = DEFAULT_BASE_SEED,
) -> dict[str, dict[str, np.ndarray]]:
    """Run every design; ``{design name: records}`` (see :func:`run_design`)."""
    return {d.name: run_design(d, reps, base_seed) for d in designs}


# ---------------------------------------------------------------------------
# summary with Monte Carlo standard errors
# ---------------------------------------------------------------------------


def _mean(v: np.ndarray) -> dict[str, float]:
    return {"value": float(v.mean()), "mc_se": float(v.std(ddof=1) / math.sqrt(v.size))}


def _binomial(hits: np.ndarray) -> dict[str, float]:
    p = float(hits.mean())
    return {"rate": p, "mc_se": math.sqrt(p * (1.0 - p) / hits.size)}


def _sd_influence(att: np.ndarray) -> tuple[float, np.ndarray]:
    """SD of ``att`` and its influence values over replications (delta method)."""
    sd = float(att.std(ddof=1))
    centred = att - att.mean()
    return sd, (centred**2 - sd**2) / (2.0 * sd)


def _median_boot(
    se: np.ndarray, att: np.ndarray, rng: np.random.Generator
) -> tuple[float, float]:
    """Bootstrap MC SEs of the median SE and of median SE / MC SD."""
    idx = rng.integers(0, se.size, size=(MEDIAN_BOOT, se.size))
    med = np.median(se[idx], axis=1)
    sd = att[idx].std(axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):  # tiny runs: sd may be 0
        return float(med.std(ddof=1)), float((med / sd).std(ddof=1))


def summarise_design(
    design: Design, rec: dict[str, np.ndarray], base_seed: int = DEFAULT_BASE_SEED
) -> dict[str, Any]:
    """Summary of one design's records (see the module docstring for the MC SEs)."""
    att = rec["att"]
    reps = att.size
    truth = true_att(design)
    sd, sd_if = _sd_influence(att)
    entry: dict[str, Any] = {
        "design": asdict(design),
        "n_reps": int(reps),
        "truth": truth,
        "mean_att": _mean(att),
        "bias": _mean(att - truth),
        "mc_sd": {"value": sd, "mc_se": float(sd_if.std(ddof=1) / math.sqrt(reps))},
        "signs": {},
    }
    boot_rng = np.random.default_rng([base_seed, _design_index(design), 0])
    for sign in SIGNS:
        se = rec[f"se_{sign}"]
        mean_se = float(se.mean())
        ratio = mean_se / sd
        ratio_if = ratio * ((se - mean_se) / mean_se - sd_if / sd)
        med_se_mc, med_ratio_mc = _median_boot(se, att, boot_rng)
        cover = np.abs(att - truth) <= Z * se
        entry["signs"][sign] = {
            "mean_se": _mean(se),
            "median_se": {"value": float(np.median(se)), "mc_se": med_se_mc},
            "ratio_mean_se_to_sd": {
                "value": ratio,
                "mc_se": float(ratio_if.std(ddof=1) / math.sqrt(reps)),
            },
            "ratio_median_se_to_sd": {
                "value": float(np.median(se)) / sd,
                "mc_se": med_ratio_mc,
            },
            "coverage": _binomial(cover),
        }
    entry["paired_se_ratio_r_to_library"] = _mean(rec["se_r"] / rec["se_library"])
    entry["reps_with_trimming"] = int(np.count_nonzero(rec["n_trimmed"] > 0))
    entry["max_rebuild_error"] = float(rec["check"].max())
    return entry


def summarise(
    records: dict[str, dict[str, np.ndarray]], base_seed: int = DEFAULT_BASE_SEED
) -> dict[str, Any]:
    """``{design name: summary}`` for every design in ``records``."""
    return {
        name: summarise_design(DESIGN_BY_NAME[name], rec, base_seed)
        for name, rec in records.items()
    }


# ---------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------


def _pm(entry: dict[str, float], digits: int = 3) -> str:
    value = entry.get("value", entry.get("rate"))
    return f"{value:.{digits}f} ± {entry['mc_se']:.{digits}f}"


def to_markdown(result: dict[str, Any]) -> str:
    """Render the study's JSON result as Markdown tables."""
    meta = result["metadata"]
    lines = [
        "# Sign of the pre-period outcome-regression term of drdid_rc",
        "",
        'Repeated cross sections, `rc_2x2(..., method="dr")`. `library` is the '
        "influence function of tne_eval (`res.se`), `r` the one of R DRDID 1.2.3 "
        "(`drdid_rc`), rebuilt from the same fitted pieces. Entries are estimates "
        "± Monte Carlo standard error (binomial for coverage, delta method for "
        "means and mean-SE ratios, bootstrap over replications for medians). "
        "Nominal coverage 95% (normal intervals).",
        "",
        "## Designs",
        "",
        "| design | n | replications | propensity score / outcome model | truth |",
        "|---|---:|---:|---|---:|",
    ]
    for name, s in result["summary"].items():
        d = s["design"]
        lines.append(
            f"| {name} | {d['n']} | {s['n_reps']} | {d['title']} | {s['truth']:.4f} |"
        )
    lines += [
        "",
        "## Standard errors and coverage",
        "",
        "| design | sign | MC SD of ATT | mean SE | median SE | mean SE / MC SD "
        "| median SE / MC SD | coverage |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in result["summary"].items():
        for sign in SIGNS:
            e = s["signs"][sign]
            lines.append(
                f"| {name} | {sign} | {_pm(s['mc_sd'], 4)} | {_pm(e['mean_se'], 4)} "
                f"| {_pm(e['median_se'], 4)} | {_pm(e['ratio_mean_se_to_sd'])} "
                f"| {_pm(e['ratio_median_se_to_sd'])} | {_pm(e['coverage'])} |"
            )
    lines += [
        "",
        "## Bias, paired SE ratio and checks",
        "",
        "| design | bias of ATT | mean of se_r / se_library | replications with "
        "trimming | largest rebuild error |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, s in result["summary"].items():
        lines.append(
            f"| {name} | {_pm(s['bias'], 4)} | "
            f"{_pm(s['paired_se_ratio_r_to_library'], 4)} | "
            f"{s['reps_with_trimming']} | {s['max_rebuild_error']:.1e} |"
        )
    lines += [
        "",
        "The rebuild error is the largest |library-sign influence rebuilt by the "
        "study - `res.influence`| relative to max |`res.influence`| over all "
        "replications.",
        "",
        "## Provenance",
        "",
        f"- command: `{meta['command']}`",
        f"- seeds: {meta['seed_rule']}",
        f"- tne_eval {meta['versions']['tne_eval']}, numpy "
        f"{meta['versions']['numpy']}, scipy {meta['versions']['scipy']}, Python "
        f"{meta['versions']['python']}; git commit {meta['git_commit']}",
        f"- {meta['wall_seconds']:.0f} s wall time; finished {meta['finished']}",
        "",
    ]
    return "\n".join(lines)


def metadata(
    argv: Sequence[str], reps: int, base_seed: int, wall: float
) -> dict[str, Any]:
    """Command, seeds, versions and git commit of a run."""
    return {
        "study": "rc_dr_sign",
        "command": "python " + shlex.join(argv),
        "reps": reps,
        "base_seed": base_seed,
        "seed_rule": f"replication r of design k (0-based index in DESIGNS) draws "
        f"with numpy.random.default_rng([{base_seed}, k, r]), r = 1..{reps}; "
        f"median bootstrap: default_rng([{base_seed}, k, 0]), {MEDIAN_BOOT} "
        "resamples",
        "estimator": f"rc_2x2(y, post, treated, x, method='dr', "
        f"trim_level={TRIM_LEVEL}), x = (1, x1, x2, x3)",
        **run_record(wall),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    argv = list(sys.argv if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=200, help="per design (200)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON result")
    parser.add_argument("--md", type=Path, help="Markdown (default: --out .md)")
    parser.add_argument("--base-seed", type=int, default=DEFAULT_BASE_SEED)
    parser.add_argument(
        "--designs",
        nargs="+",
        choices=list(DESIGN_BY_NAME),
        default=list(DESIGN_BY_NAME),
        help="designs to run (all)",
    )
    args = parser.parse_args(argv[1:])
    if args.reps < 2:
        parser.error("--reps must be at least 2")
    designs = [DESIGN_BY_NAME[name] for name in args.designs]
    start = time.perf_counter()
    records = run_study(args.reps, designs, args.base_seed)
    summary = summarise(records, args.base_seed)
    wall = time.perf_counter() - start
    result = {
        "metadata": metadata(argv, args.reps, args.base_seed, wall),
        "summary": summary,
    }
    md_path = args.md or args.out.with_suffix(".md")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    md_path.write_text(to_markdown(result))
    print(to_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
