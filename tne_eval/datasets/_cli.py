"""``tne-eval simulate``: generate the synthetic TNE world into a folder."""

from __future__ import annotations

import argparse
import time

from tne_eval.datasets.config import _PRESETS, DEFAULT_SEED


def handler(args: argparse.Namespace) -> int:
    """Generate the world described by the parsed arguments and write it.

    Parameters
    ----------
    args : argparse.Namespace
        ``scale`` (a preset name), ``seed`` (int) and ``out`` (folder).

    Returns
    -------
    int
        The exit status (0).
    """
    from tne_eval.datasets.config import WorldConfig
    from tne_eval.datasets.simulate import simulate

    start = time.perf_counter()
    config = WorldConfig.preset(args.scale, seed=args.seed)
    world = simulate(config)
    manifest = world.write(args.out)
    seconds = time.perf_counter() - start
    size = sum(f["bytes"] for f in manifest["files"].values()) + 0
    print(
        f"Wrote the {args.scale} synthetic world (seed {args.seed}) to {args.out}: "
        f"{len(world.schools):,} schools, {len(world.pupils):,} pupil rows, "
        f"{size / 1e6:.1f} MB in {seconds:.1f} s."
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` sub-command to the ``tne-eval`` parser.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The sub-parsers of the ``tne-eval`` command.
    """
    parser = sub.add_parser(
        "simulate",
        help="generate the synthetic TNE world (data files, truth.json, manifest)",
        description=(
            "Generate the synthetic TNE world with known truth and write its files "
            "(compressed CSV), truth.json and MANIFEST.json into a folder."
        ),
    )
    parser.add_argument(
        "--scale",
        choices=sorted(_PRESETS),
        default="default",
        help="world size: 'default' (committed, ~3,800 schools) or 'national' "
        "(~50,000 schools, for benchmarks)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"seed of the generator (default {DEFAULT_SEED}, the committed world)",
    )
    parser.add_argument(
        "--out", required=True, help="destination folder (created if needed)"
    )
    parser.set_defaults(handler=handler)
