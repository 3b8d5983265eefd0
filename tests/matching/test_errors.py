"""Bad input: one test per message of the matching numerics."""

from __future__ import annotations

import numpy as np
import pytest

from tne_eval.errors import DataError, IdentificationError, SpecError
from tne_eval.matching._balance import balance_table
from tne_eval.matching._exact import cem_codes, exact_match
from tne_eval.matching._nearest import caliper_width, nearest_scalar
from tne_eval.matching._optimal import optimal_pair_match
from tne_eval.matching._propensity import common_support, fit_propensity, fixed_trim
from tne_eval.matching._weighting import ipw_weights


def test_nan_covariates_name_columns_and_counts():
    d = np.array([1, 0, 1, 0, 1, 0])
    x = np.array(
        [
            [1.0, 2.0],
            [np.nan, 1.0],
            [0.5, np.nan],
            [np.nan, 0.0],
            [1.0, 1.0],
            [0.0, 0.0],
        ]
    )
    with pytest.raises(
        DataError, match=r"3 of 6 rows: age \(2\), re74 \(1\) \(first at row 1\)"
    ):
        fit_propensity(d, x, columns=["age", "re74"])
    with pytest.raises(DataError, match=r"age \(2\)"):
        balance_table(x, d, columns=["age", "re74"])


@pytest.mark.parametrize(
    ("d", "match"),
    [
        (np.array([0, 1, 2, 1]), r"1 of 4 values are neither \(e\.g\. 2\)"),
        (
            np.array([0.0, 1.0, np.nan, 1.0]),
            r"1 of 4 values are neither \(e\.g\. nan\)",
        ),
        (np.array(["a", "b", "a", "b"]), r"dtype <U1"),
    ],
)
def test_treatment_must_be_zero_one(d, match):
    with pytest.raises(DataError, match=match):
        nearest_scalar(d, np.arange(4.0))


def test_treatment_needs_both_groups():
    with pytest.raises(
        IdentificationError, match=r"no control units \(3 treated of 3\)"
    ):
        nearest_scalar(np.ones(3), np.arange(3.0))


def test_separation_means_no_overlap():
    d = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    x = np.array([[0.0], [1.0], [2.0], [3.0], [10.0], [11.0], [12.0], [13.0]])
    with pytest.raises(IdentificationError, match="separates treated from control"):
        fit_propensity(d, x)


def test_strata_without_controls():
    """Treated units of a stratum without controls stay unmatched (counted); if no
    stratum has both groups, matching is impossible."""
    d = np.array([1, 0, 1, 1, 0])
    s = np.array([0.5, 0.4, 0.6, 0.7, 0.65])
    g = np.array([0, 0, 1, 1, 1])
    m = nearest_scalar(d, s, exact=np.array([0, 0, 2, 2, 0]))
    assert m.n_unmatched_treated == 2
    sub = exact_match(d, g)
    assert sub.tolist() == [0, 0, 1, 1, 1]
    with pytest.raises(
        IdentificationError,
        match=r"No stratum holds both treated and control units \(2 strata",
    ):
        exact_match(d, np.array([0, 1, 0, 0, 1]))
    with pytest.raises(IdentificationError, match="matched no treated unit"):
        optimal_pair_match(d, s, exact=np.array([0, 1, 0, 0, 1]))


def test_bad_options_list_the_valid_ones():
    d = np.array([1, 0, 1, 0])
    s = np.arange(4.0)
    with pytest.raises(
        SpecError,
        match=r"m_order='closest' is not supported; choose one of 'largest', 'smallest', 'data', 'random'",
    ):
        nearest_scalar(d, s, m_order="closest")
    with pytest.raises(SpecError, match=r"discard='hull' is not supported"):
        common_support(s, d, "hull")
    with pytest.raises(SpecError, match=r"caliper=-1 must be a positive number"):
        caliper_width(s, -1)
    with pytest.raises(SpecError, match=r"ratio=0 must be a positive integer"):
        nearest_scalar(d, s, ratio=0)
    with pytest.raises(SpecError, match=r"0 <= lower < upper <= 1"):
        fixed_trim(s / 4, d, 0.6)
    with pytest.raises(SpecError, match="is not a binning rule"):
        cem_codes(np.arange(4.0)[:, None], cutpoints=["square"])


def test_ipw_scores_at_the_bounds():
    with pytest.raises(
        IdentificationError, match=r"1 propensity scores are 0 or 1 \(e\.g\. row 2\)"
    ):
        ipw_weights(np.array([1, 0, 0]), np.array([0.5, 0.5, 1.0]))


def test_balance_needs_weight_in_both_groups_and_matched_sets():
    from tne_eval.matching._balance import pair_distance

    d = np.array([1, 0, 1, 0])
    x = np.arange(4.0)[:, None]
    with pytest.raises(
        IdentificationError, match="No control unit has a positive weight"
    ):
        balance_table(x, d, np.array([1.0, 0.0, 1.0, 0.0]))
    with pytest.raises(SpecError, match="pair_distance needs the matched sets"):
        pair_distance(x, d)
