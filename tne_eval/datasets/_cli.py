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

    Raises
    ------
    tne_eval._cli_common.CommandLineError
        If ``out`` is, or lies under, an existing file (checked before the
        world is generated).
    """
    from pathlib import Path

    from tne_eval._cli_common import CommandLineError
    from tne_eval.datasets.config import WorldConfig
    from tne_eval.datasets.open_data import write_synthetic_open_data
    from tne_eval.datasets.simulate import simulate

    out = Path(args.out)
    blocker = next((p for p in (out, *out.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise CommandLineError(
            f"--out {str(out)!r} cannot be a folder: {str(blocker)!r} is a file; "
            "pass a new or existing folder."
        )
    start = time.perf_counter()
    config = WorldConfig.preset(args.scale, seed=args.seed)
    world = simulate(config)
    manifest = world.write(args.out)
    # the brevet results and IPS of the world's collèges, as the portal's files
    open_data = write_synthetic_open_data(args.out, world)
    seconds = time.perf_counter() - start
    size = sum(f["bytes"] for f in manifest["files"].values())
    size += sum(p.stat().st_size for p in open_data.values())
    print(
        f"Wrote the {args.scale} synthetic world (seed {args.seed}) to {args.out}: "
        f"{len(world.schools):,} schools, {len(world.pupils):,} pupil rows, "
        f"{size / 1e6:.1f} MB in {seconds:.1f} s."
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` sub-command to the ``tne-eval`` parser ``sub``."""
    from tne_eval._cli_common import add_command

    parser = add_command(
        sub,
        "simulate",
        help="generate the synthetic TNE world (data files, truth.json, manifest, "
        "open-data DNB and IPS files)",
        description=(
            "Generate the synthetic TNE world with known truth and write its files\n"
            "(compressed CSV), truth.json and MANIFEST.json into a folder, with\n"
            "the brevet results and IPS of its collèges in the formats of the\n"
            "ministry's open-data files (fr-en-dnb-par-etablissement.csv,\n"
            "fr-en-ips_colleges.csv).\n\n"
            "The committed world of data/synthetic/ is the default scale with the\n"
            "default seed: `tne-eval simulate --out data/synthetic` rebuilds it."
        ),
    )
    parser.add_argument(
        "--scale",
        choices=sorted(_PRESETS),
        default="default",
        help="world size: 'default' (the committed world, ~3,800 schools) or "
        "'national' (~50,000 schools, for benchmarks)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help="seed of the generator (the default is the committed world's)",
    )
    parser.add_argument(
        "--out",
        required=True,
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="destination folder, created if needed (required, no default)",
    )
    parser.set_defaults(handler=handler)
