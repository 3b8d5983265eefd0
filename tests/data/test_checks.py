"""Data-layer diagnostics estimators call: covariate_problems and outcome_note."""

import numpy as np
import pandas as pd
import pytest

from tne_eval.data import (
    CovariateProblems,
    PanelSpec,
    covariate_problems,
    outcome_note,
    prepare_panel,
)
from tne_eval.errors import DataError, SpecError


def _panel(rng, n_units=40, n_periods=4, **covariates):
    unit = np.repeat(np.arange(n_units), n_periods)
    t = np.tile(np.arange(1, n_periods + 1), n_units)
    g = np.repeat(np.where(np.arange(n_units) < n_units // 2, 3, 0), n_periods)
    data = pd.DataFrame({"u": unit, "t": t, "g": g, "y": rng.normal(size=unit.size)})
    for name, make in covariates.items():
        data[name] = make(data)
    return data


def _spec(*covariates):
    return PanelSpec(unit="u", time="t", outcome="y", cohort="g", covariates=covariates)


def _unit_normal(seed):
    def make(data):
        gen = np.random.default_rng(seed)
        return np.repeat(gen.normal(size=data.u.nunique()), data.t.nunique())

    return make


def test_clean_covariates(rng):
    data = _panel(rng, a=_unit_normal(1), b=_unit_normal(2))
    found = covariate_problems(prepare_panel(data, _spec("a", "b")))
    assert found == CovariateProblems((), ()) and found.ok and found.note is None


def test_no_covariates(rng):
    assert covariate_problems(prepare_panel(_panel(rng), _spec())) == ((), ())


def test_constant_and_collinear_named_in_user_order(rng):
    data = _panel(
        rng,
        a=_unit_normal(1),
        b=_unit_normal(2),
        k=lambda d: 7.0,
        c=lambda d: 2 * d.a - 3 * d.b + 5,
    )
    prep = prepare_panel(data, _spec("a", "k", "b", "c"))
    constant, collinear = covariate_problems(prep)
    assert constant == ("k",) and collinear == ("c",)
    # listed first, c is kept and the last member of the dependent set is named
    prep2 = prepare_panel(data, _spec("c", "a", "b"))
    assert covariate_problems(prep2).collinear == ("b",)
    note = covariate_problems(prep).note
    assert note == (
        "The covariate design is singular: covariate(s) 'k' are constant (collinear "
        "with the intercept); covariate(s) 'c' are linear combinations of the "
        "covariates listed before them. Drop 'k', 'c' from spec.covariates."
    )


def test_duplicate_values_under_another_name(rng):
    data = _panel(rng, a=_unit_normal(1), a_copy=lambda d: d.a)
    assert covariate_problems(prepare_panel(data, _spec("a", "a_copy"))).collinear == (
        "a_copy",
    )


def test_scale_does_not_matter(rng):
    data = _panel(
        rng,
        big=lambda d: 1e8 * _unit_normal(1)(d),
        small=lambda d: 1e-8 * _unit_normal(2)(d),
        mix=lambda d: d.big * 1e-16 + d.small,
    )
    found = covariate_problems(prepare_panel(data, _spec("big", "small", "mix")))
    assert found == ((), ("mix",))


def test_near_collinear_is_not_flagged(rng):
    data = _panel(rng, a=_unit_normal(1), b=_unit_normal(2))
    data["c"] = data.a + data.b + 1e-4 * _unit_normal(3)(data)
    assert covariate_problems(prepare_panel(data, _spec("a", "b", "c"))).ok


def test_constant_plus_rounding_noise(rng):
    data = _panel(rng, k=lambda d: 1e6 + 1e-9 * (d.u % 2))
    assert covariate_problems(prepare_panel(data, _spec("k"))).constant == ("k",)


def test_rows_restricts_the_check(rng):
    # x is constant among the treated units only (e.g. within one cell)
    data = _panel(rng, x=lambda d: np.where(d.g > 0, 1.0, d.u * 0.5))
    prep = prepare_panel(data, _spec("x"))
    assert covariate_problems(prep).ok
    treated_rows = prep.data["g"].to_numpy() == 3
    assert covariate_problems(prep, rows=treated_rows).constant == ("x",)
    with pytest.raises(DataError, match="no rows to check"):
        covariate_problems(prep, rows=np.zeros(prep.n_obs, dtype=bool))


def test_more_covariates_than_rows(rng):
    data = _panel(rng, a=_unit_normal(1), b=_unit_normal(2), c=_unit_normal(3))
    prep = prepare_panel(data, _spec("a", "b", "c"))
    # three rows: once centred, at most two directions are left
    found = covariate_problems(prep, rows=np.array([0, 4, 8]))
    assert found == ((), ("c",))
    assert covariate_problems(prep, rows=np.array([0, 4])) == ((), ("b", "c"))


def test_bad_arguments(rng):
    prep = prepare_panel(_panel(rng, a=_unit_normal(1)), _spec("a"))
    with pytest.raises(SpecError, match="needs the PreparedPanel"):
        covariate_problems(prep.data)
    with pytest.raises(SpecError, match=r"tol must be a float in \(0, 1\)"):
        covariate_problems(prep, tol=0)


def test_outcome_note(rng):
    data = _panel(rng)
    assert outcome_note(prepare_panel(data, _spec())) is None
    const = prepare_panel(data.assign(y=2.5), _spec())
    assert outcome_note(const).startswith(
        "Column 'y' (outcome) is constant: it is 2.5 in all 160 rows"
    )
    within = prepare_panel(data.assign(y=data.u * 1.0), _spec())
    assert "never changes within a unit over the 4 periods" in outcome_note(within)
