"""The public reference datasets shipped in tests/fixtures/datasets/.

They are the inputs of every check against R ``did`` (mpdta), bacondecomp
(castle) and DRDID (lalonde): the files must be the documented ones, byte for
byte, and a missing one must be an error, never a skip.
"""

from __future__ import annotations

import pytest

from tests.conftest import (
    REFERENCE_DATASETS_DIR,
    REPO,
    MissingReferenceDatasetError,
    reference_dataset,
    reference_dataset_path,
)
from tests.reference_datasets import documented_sha256, sha256

SHIPPED = (
    "mpdta.csv",
    "castle_bacondecomp.csv",
    "lalonde_psid.csv",
    "california_prop99.csv",
    "card_krueger.csv",
)
#: A few hundred kilobytes in all: small enough to live in the repository.
MAX_BYTES_EACH = 200_000
#: The team's shared copies (the origin of the shipped ones), where they exist.
SHARED_DIRS = [REPO.parent / "shared" / "datasets"]


def test_readme_documents_exactly_the_shipped_files():
    on_disk = sorted(p.name for p in REFERENCE_DATASETS_DIR.glob("*.csv"))
    assert on_disk == sorted(SHIPPED)
    assert sorted(documented_sha256()) == sorted(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_file_has_the_documented_sha256(name):
    path = reference_dataset_path(name)
    assert path.stat().st_size <= MAX_BYTES_EACH
    assert sha256(path) == documented_sha256()[name], (
        f"{path} differs from the SHA-256 in tests/fixtures/datasets/README.md; "
        f"restore it with `git checkout -- tests/fixtures/datasets/{name}`"
    )


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_file_equals_the_shared_copy(name):
    shared = [d / name for d in SHARED_DIRS if (d / name).is_file()]
    if not shared:
        # Comparing with a copy that is not there proves nothing; the SHA-256
        # test above still pins the file, so nothing is skipped on a fresh clone.
        return
    for copy in shared:
        assert sha256(copy) == sha256(reference_dataset_path(name)), copy


def test_missing_dataset_is_an_error_naming_the_file_and_the_fix():
    with pytest.raises(
        MissingReferenceDatasetError,
        match=r"'nonexistent\.csv' is missing.*git checkout -- "
        r"tests/fixtures/datasets/nonexistent\.csv",
    ):
        reference_dataset("nonexistent")
    assert issubclass(MissingReferenceDatasetError, FileNotFoundError)


def test_loader_reads_the_frames_the_reference_tests_expect():
    mpdta = reference_dataset("mpdta")
    assert mpdta.shape == (2500, 6)
    assert sorted(mpdta["first_treat"].unique()) == [0, 2004, 2006, 2007]
    castle = reference_dataset("castle_bacondecomp.csv")
    assert castle.shape == (550, 10) and castle["state"].nunique() == 50
    lalonde = reference_dataset("lalonde_psid.csv")
    assert len(lalonde) == 614 and int(lalonde["treat"].sum()) == 185
