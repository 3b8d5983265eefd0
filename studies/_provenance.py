"""What the Monte Carlo studies record about the code that produced them."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

__all__ = ["git_commit"]


def git_commit() -> str | None:
    """Return the commit of the checkout (None outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def run_record(wall_seconds: float) -> dict[str, object]:
    """Versions, git commit, wall time and finishing time of a study run."""
    import datetime as _dt
    import platform

    import numpy as np
    import pandas as pd
    import scipy

    import tne_eval

    return {
        "versions": {
            "tne_eval": tne_eval.__version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scipy": scipy.__version__,
        },
        "git_commit": git_commit(),
        "wall_seconds": wall_seconds,
        "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
