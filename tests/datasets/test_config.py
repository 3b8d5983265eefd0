"""WorldConfig: presets, immutability, serialisation and one test per error message."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from tne_eval.datasets import DEFAULT_SEED, WorldConfig
from tne_eval.errors import ConfigError, TneEvalTypeError


def test_defaults_are_the_default_preset():
    assert WorldConfig() == WorldConfig.preset("default")
    assert WorldConfig().seed == DEFAULT_SEED


def test_national_preset_is_about_50000_schools():
    cfg = WorldConfig.preset("national", seed=5)
    assert cfg.n_primary + cfg.n_college == 50_000
    assert cfg.seed == 5


def test_config_is_frozen_and_update_returns_a_copy():
    cfg = WorldConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 1  # type: ignore[misc]
    other = cfg.update(effect_scale=0.0, anticipation=1)
    assert (other.effect_scale, other.anticipation) == (0.0, 1)
    assert (cfg.effect_scale, cfg.anticipation) == (1.0, 0)


def test_sequences_are_normalised_to_tuples_and_codes_to_insee_strings():
    cfg = WorldConfig(
        departments=[2, "95", "2a"],
        n_primary=3,
        n_college=3,
        score_effect_path=np.arange(5),
        score_effect_scale=[[1, 1], [1, 1]],
    )
    assert cfg.departments == ("02", "95", "2A")
    assert cfg.department_codes == ("02", "2A", "95")
    assert cfg.score_effect_path == (0.0, 1.0, 2.0, 3.0, 4.0)
    assert cfg.score_effect_scale == ((1.0, 1.0), (1.0, 1.0))
    hash(cfg)  # hashable: every field is immutable


def test_to_dict_round_trips():
    cfg = WorldConfig(seed=7, departments=("01", "02"), n_primary=5, n_college=2)
    assert WorldConfig.from_dict(cfg.to_dict()) == cfg


# One case per message: (changes, error class, regex matched against the message).
BAD = {
    "seed-type": (
        {"seed": 1.5},
        TneEvalTypeError,
        r"seed must be a non-negative integer",
    ),
    "seed-negative": ({"seed": -1}, ConfigError, r"seed=-1 is negative"),
    "departments-type": (
        {"departments": "02"},
        TneEvalTypeError,
        r"departments must be None or a sequence of INSEE codes",
    ),
    "departments-unknown": (
        {"departments": ("02", "20", "975")},
        ConfigError,
        r"departments=.* contains 2 unknown department code\(s\) \('20', '975'\)"
        r".*'2A', '2B'",
    ),
    "departments-empty": (
        {"departments": ()},
        ConfigError,
        r"departments=\(\) is empty",
    ),
    "departments-duplicate": (
        {"departments": ("02", "2")},
        ConfigError,
        r"departments=.* repeats '02'",
    ),
    "n-negative": (
        {"n_primary": -5},
        ConfigError,
        r"n_primary=-5 is negative\. .*e\.g\. 3000",
    ),
    "n-too-small": (
        {"n_college": 50},
        ConfigError,
        r"n_college=50 is smaller than the number of departments \(101\)",
    ),
    "n-type": (
        {"n_primary": 3000.0},
        TneEvalTypeError,
        r"n_primary must be an integer",
    ),
    "pupils-below-1": (
        {"pupils_per_college": 0.5},
        ConfigError,
        r"pupils_per_college=0.5 is below 1",
    ),
    "number-type": (
        {"index_effect": "1"},
        TneEvalTypeError,
        r"index_effect must be a number \(got str '1'\)",
    ),
    "number-not-finite": (
        {"private_effect": math.inf},
        ConfigError,
        r"private_effect=inf is not finite",
    ),
    "negative-sd": (
        {"school_sd": -1.0},
        ConfigError,
        r"school_sd=-1.0 is negative\. Use a value >= 0",
    ),
    "pupil-sd": ({"pupil_sd": 0.0}, ConfigError, r"pupil_sd=0.0 is not positive"),
    "share-range": (
        {"private_share": (0.1, 1.2)},
        ConfigError,
        r"private_share=\(0.1, 1.2\) contains a share outside \[0, 1\)",
    ),
    "shares-sum": (
        {"rep_share": (0.5, 0.1), "private_share": (0.5, 0.2)},
        ConfigError,
        r"rep_share=.* exceeds 1 for primary schools \(1.06\)",
    ),
    "vector-type": (
        {"cohort_effect": 1.0},
        TneEvalTypeError,
        r"cohort_effect must be a sequence of 2 numbers \(one per TNE cohort",
    ),
    "vector-shape": (
        {"score_effect_path": (1.0, 2.0, 3.0)},
        ConfigError,
        r"score_effect_path=\[1.0, 2.0, 3.0\] has shape \(3,\) but must have shape "
        r"\(5,\)\. Give one value per exposure",
    ),
    "vector-nested": (
        {"practice_item_effect": [[1.0] * 6]},
        ConfigError,
        r"practice_item_effect=.* has shape \(1, 6\) but must have shape \(6,\)",
    ),
    "vector-items": (
        {"covid_profile": (0, 0, 0, 0, "1", 0, 0, 0, 0)},
        TneEvalTypeError,
        r"covid_profile must contain numbers \(got '1'\)",
    ),
    "vector-not-finite": (
        {"training_effect_path": (1.0, np.nan, 1.0, 1.0, 1.0)},
        ConfigError,
        r"training_effect_path=.* contains a non-finite value",
    ),
    "covid-negative": (
        {"covid_profile": (0, 0, 0, 0, -1, 0, 0, 0, 0)},
        ConfigError,
        r"covid_profile=.* has negative entries",
    ),
    "matrix-values": (
        {"score_effect_scale": (("a", 1), (1, 1))},
        ConfigError,
        r"score_effect_scale=.* is not a 2 x 2 array of numbers",
    ),
    "matrix-shape": (
        {"score_effect_scale": (1.0, 1.2, 0.8)},
        ConfigError,
        r"score_effect_scale=\[1.0, 1.2, 0.8\] has shape \(3,\) but must have shape "
        r"\(2, 2\)",
    ),
    "matrix-not-finite": (
        {"score_effect_scale": ((1.0, np.inf), (1.0, 1.0))},
        ConfigError,
        r"score_effect_scale=.* is not finite",
    ),
    "anticipation": (
        {"anticipation": 3},
        ConfigError,
        r"anticipation=3 is outside 0\.\.2",
    ),
    "probability": (
        {"participation_rate": 0.0},
        ConfigError,
        r"participation_rate=0.0 is not a probability in \(0, 1\]",
    ),
    "missing-rate": (
        {"school_missing_rate": 1.0},
        ConfigError,
        r"school_missing_rate=1.0 leaves no data",
    ),
    "low-years": (
        {"low_participation_years": (2015,)},
        ConfigError,
        r"low_participation_years=\(2015,\) contains years outside 2016\.\.2024",
    ),
    "integer-items": (
        {"survey_waves": (2019.0,)},
        TneEvalTypeError,
        r"survey_waves must contain integers",
    ),
    "waves-empty": ({"survey_waves": ()}, ConfigError, r"survey_waves=\(\) is empty"),
    "waves-order": (
        {"survey_waves": (2021, 2019)},
        ConfigError,
        r"survey_waves=\(2021, 2019\) must be increasing distinct school years",
    ),
    "teachers": (
        {"teachers_per_school": (0, 6)},
        ConfigError,
        r"teachers_per_school=\(0, 6\) contains a size below 1",
    ),
    "response-rate": (
        {"response_rate": 1.0},
        ConfigError,
        r"response_rate=1.0 is not a probability in \(0, 1\)",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_config_raises_a_typed_error_naming_the_field(case):
    changes, error, message = BAD[case]
    with pytest.raises(error, match=message):
        WorldConfig(**changes)


def test_config_errors_are_value_errors():
    with pytest.raises(ValueError, match="is negative"):
        WorldConfig(n_college=-1)


def test_unknown_preset():
    with pytest.raises(ConfigError, match=r"scale='huge' is not a preset.*'default'"):
        WorldConfig.preset("huge")  # type: ignore[arg-type]


def test_update_unknown_field():
    with pytest.raises(ConfigError, match=r"no field\(s\) 'n_schools'"):
        WorldConfig().update(n_schools=10)


def test_from_dict_needs_a_dict():
    with pytest.raises(TneEvalTypeError, match=r"from_dict needs a dict \(got list\)"):
        WorldConfig.from_dict([])  # type: ignore[arg-type]
