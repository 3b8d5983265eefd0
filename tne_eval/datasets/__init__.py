"""A synthetic TNE world with known truth.

Real pupil data cannot ship with the project, so tests, notebooks, benchmarks and
docs run on a synthetic replica of the TNE evaluation setting: the 101
departments and the real TNE calendar, primary schools and collèges with a social
index, priority education, sector and rurality, pupil scores in French and
mathematics, a teacher survey on digital practice, and treatment effects whose
true values are known (``truth.json``). The world is built to fool naive
estimators the way real data does (selection of TNE departments, a COVID shock
that hits low-index schools harder, effects that grow with exposure); see
``docs/synthetic_world.md``.

The committed default world lives in ``data/synthetic/``;
:func:`load_synthetic` reads it, :func:`simulate` generates any other
configuration, and ``tne-eval simulate`` writes one to disk.
"""

from tne_eval.datasets.config import DEFAULT_SEED, GENERATOR_VERSION, WorldConfig
from tne_eval.datasets.io import list_synthetic
from tne_eval.datasets.load import load_synthetic
from tne_eval.datasets.open_data import (
    dnb_panel,
    drop_report,
    open_data_files,
    read_dnb,
    read_ips,
    simulate_dnb,
    simulate_ips,
    write_open_data,
    write_synthetic_open_data,
)
from tne_eval.datasets.simulate import SyntheticWorld, simulate
from tne_eval.datasets.truth import aggregate_table, att_gt_table

__all__ = [
    "DEFAULT_SEED",
    "GENERATOR_VERSION",
    "SyntheticWorld",
    "WorldConfig",
    "aggregate_table",
    "att_gt_table",
    "dnb_panel",
    "drop_report",
    "list_synthetic",
    "load_synthetic",
    "open_data_files",
    "read_dnb",
    "read_ips",
    "simulate",
    "simulate_dnb",
    "simulate_ips",
    "write_open_data",
    "write_synthetic_open_data",
]
