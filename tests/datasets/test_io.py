"""Files, manifest, determinism and load_synthetic."""

from __future__ import annotations

import importlib
import json
import zlib
from pathlib import Path

import pandas as pd
import pytest

import tne_eval
from tne_eval.datasets import (
    GENERATOR_VERSION,
    WorldConfig,
    list_synthetic,
    load_synthetic,
    simulate,
)
from tne_eval.datasets import io as dio
from tne_eval.datasets import load as dload
from tne_eval.errors import DataError, SpecError

COMMITTED = Path(tne_eval.__file__).resolve().parents[1] / "data" / "synthetic"
MAX_COMMITTED_BYTES = 25_000_000
TINY = WorldConfig(departments=("02", "01"), n_primary=10, n_college=4)


@pytest.fixture(scope="module")
def manifest() -> dict:
    return dio.read_manifest(COMMITTED)


def test_committed_world_is_the_default_config(manifest):
    assert manifest["generator_version"] == GENERATOR_VERSION
    assert WorldConfig.from_dict(manifest["config"]) == WorldConfig()
    assert manifest["seed"] == WorldConfig().seed
    assert set(manifest["files"]) == {dio.file_name(n) for n in list_synthetic()}


def test_committed_world_is_small(manifest):
    on_disk = sum((COMMITTED / name).stat().st_size for name in manifest["files"])
    assert on_disk < MAX_COMMITTED_BYTES
    for name, entry in manifest["files"].items():
        assert (COMMITTED / name).stat().st_size == entry["bytes"]
        assert dio.sha256_file(COMMITTED / name) == entry["sha256"], name


def test_regenerating_the_default_world_reproduces_the_committed_files(
    manifest, tmp_path
):
    """The committed data and the generator cannot drift apart."""
    fresh = simulate(WorldConfig.from_dict(manifest["config"])).write(tmp_path)
    same_zlib = manifest["compression"]["zlib_version"] == zlib.ZLIB_RUNTIME_VERSION
    for name, entry in manifest["files"].items():
        assert fresh["files"][name]["rows"] == entry["rows"], name
        # the decompressed content must match byte for byte on any machine; the
        # compressed bytes too when the zlib build is the one that wrote them
        assert fresh["files"][name]["content_sha256"] == entry["content_sha256"], name
        if same_zlib:
            assert fresh["files"][name]["sha256"] == entry["sha256"], name


def test_written_files_are_deterministic(tmp_path):
    world = simulate(TINY)
    first = world.write(tmp_path / "a")
    second = simulate(TINY).write(tmp_path / "b")
    assert first["files"] == second["files"]
    assert (tmp_path / "a" / "pupils.csv.gz").read_bytes()[4:8] == b"\0\0\0\0"  # mtime
    assert json.loads((tmp_path / "a" / "MANIFEST.json").read_text())["config"] == (
        TINY.to_dict()
    )


def test_loaded_tables_equal_the_simulated_ones(tmp_path):
    world = simulate(TINY)
    world.write(tmp_path)
    for name in ("departments", "schools", "school_panel", "pupils", "teachers"):
        pd.testing.assert_frame_equal(
            load_synthetic(name, path=tmp_path), world.table(name)
        )
    assert load_synthetic("truth", path=tmp_path) == world.truth


@pytest.mark.parametrize(
    ("name", "dtypes"),
    [
        (
            "schools",
            {
                "school_id": "str",
                "department": "str",
                "rural": "bool",
                "social_index": "float64",
                "size": "int64",
                "first_treated": "int64",
            },
        ),
        (
            "school_panel",
            {
                "year": "int64",
                "treated": "bool",
                "n_pupils": "int64",
                "score_math": "float64",
            },
        ),
        ("pupils", {"school_id": "str", "girl": "bool", "score_french": "float64"}),
        (
            "teachers",
            {"teacher_id": "str", "responded": "bool", "platform_use": "float64"},
        ),
        ("departments", {"department": "str", "first_treated": "int64"}),
    ],
)
def test_load_synthetic_types_the_columns(name, dtypes):
    table = load_synthetic(name)
    for column, dtype in dtypes.items():
        if dtype == "str":
            # "str" under pandas 3, "object" holding str under pandas 2 (Python 3.10)
            assert pd.api.types.is_string_dtype(table[column]), column
            assert table[column].map(type).eq(str).all(), column
        else:
            assert str(table[column].dtype) == dtype, column


def test_department_codes_stay_strings():
    codes = set(load_synthetic("departments")["department"])
    assert {"01", "02", "2A", "2B", "971"} <= codes
    assert "01" in set(load_synthetic("pupils")["department"])


def test_priority_none_is_not_read_as_missing():
    schools = load_synthetic("schools")
    assert schools["priority"].notna().all()
    assert set(schools["priority"]) == {"none", "REP", "REP+"}


def test_load_synthetic_returns_a_fresh_copy():
    first = load_synthetic("schools")
    first.loc[0, "social_index"] = -1.0
    assert load_synthetic("schools").loc[0, "social_index"] != -1.0


def test_list_synthetic():
    assert list_synthetic() == (
        "departments",
        "schools",
        "school_panel",
        "pupils",
        "teachers",
        "truth",
    )


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(
        SpecError, match=r"'scores' is not a synthetic-world table.*'pupils'"
    ):
        load_synthetic("scores")


def test_default_data_dir_is_the_repository_folder():
    assert dload.default_data_dir() == COMMITTED


def test_missing_world_is_generated_on_first_use(tmp_path, monkeypatch):
    """An installed wheel has no data/synthetic/: the world is generated once."""
    simulate_module = importlib.import_module("tne_eval.datasets.simulate")
    original, calls = simulate_module.simulate, []

    def tiny_simulate(config=None):
        calls.append(config)
        return original(TINY)

    monkeypatch.setattr(simulate_module, "simulate", tiny_simulate)
    folder = tmp_path / "cache"
    assert len(load_synthetic("schools", path=folder)) == 14
    assert len(load_synthetic("pupils", path=folder)) > 0
    assert calls == [None]  # generated once, then read


def test_cache_folder_is_versioned():
    folder = dload._cache_dir()
    assert folder.name == f"{GENERATOR_VERSION}-{WorldConfig().seed}"
    assert folder.parent.parts[-3:] == (".cache", "tne_eval", "synthetic")


def test_read_manifest_missing(tmp_path):
    with pytest.raises(
        DataError, match=r"No synthetic-world manifest at .*tne-eval simulate"
    ):
        dio.read_manifest(tmp_path)


def test_missing_file_is_reported(tmp_path):
    simulate(TINY).write(tmp_path)
    (tmp_path / "teachers.csv.gz").unlink()
    with pytest.raises(DataError, match=r"teachers.csv.gz is missing although"):
        load_synthetic("teachers", path=tmp_path)


def test_stale_columns_are_reported(tmp_path):
    simulate(TINY).write(tmp_path)
    schools = load_synthetic("schools", path=tmp_path).drop(columns="size")
    schools.to_csv(tmp_path / "schools.csv.gz", index=False)
    with pytest.raises(DataError, match=r"has columns .* but this version"):
        load_synthetic("schools", path=tmp_path)


def test_unwritable_folder_is_reported(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DataError, match=r"could not be generated there"):
        load_synthetic("schools", path=blocker / "world")
