"""Shared, seeded fixtures. Plots are drawn headless (Agg)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from tests.reference_datasets import (  # the one loader of the shipped datasets
    REFERENCE_DATASETS_DIR,
    MissingReferenceDatasetError,
    reference_dataset,
    reference_dataset_path,
)

REPO = Path(__file__).resolve().parents[1]

__all__ = [
    "REFERENCE_DATASETS_DIR",
    "REPO",
    "MissingReferenceDatasetError",
    "reference_dataset",
    "reference_dataset_path",
]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240501)


@pytest.fixture
def small_staggered_panel() -> pd.DataFrame:
    """30 units x 6 periods, cohorts 3 and 5, never-treated coded 0, 5 clusters."""
    gen = np.random.default_rng(7)
    n_units, periods = 30, np.arange(1, 7)
    cohort = np.repeat([3, 5, 0], n_units // 3)
    unit = np.repeat(np.arange(n_units), len(periods))
    t = np.tile(periods, n_units)
    g = np.repeat(cohort, len(periods))
    x = np.repeat(gen.normal(size=n_units), len(periods))
    treated = (g > 0) & (t >= g)
    y = 1.0 + 0.5 * x + 0.2 * t + 2.0 * treated + gen.normal(scale=0.1, size=t.size)
    return pd.DataFrame(
        {
            "unit": unit,
            "period": t,
            "y": y,
            "cohort": g,
            "x": x,
            "cluster": unit % 5,
            "w": np.repeat(gen.uniform(0.5, 2.0, n_units), len(periods)),
        }
    )


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
