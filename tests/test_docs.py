"""The documentation builds with warnings treated as errors."""

import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.docs
def test_sphinx_build_has_no_warnings(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(REPO / "docs"),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "html" / "index.html").exists()
    assert (
        tmp_path / "html" / "api" / "generated" / "tne_eval.did.att_gt.html"
    ).exists()
