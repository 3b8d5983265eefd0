"""``MatchResult.matched`` lists every pair within matched sets, and the pair
weights it carries add back up to the result's matching weights."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import mahalanobis

from tests.matching import lalonde
from tne_eval.matching import CrossSectionSpec, match

#: Sums of at most a few hundred products of weights: rounding only.
ATOL_WEIGHTS = 1e-12
COVARIATES = ("age", "educ", "race", "married", "nodegree", "re74", "re75")
NUMERIC = ("age", "educ", "re74", "re75")
#: Score model for the 160-unit sample (race separates there).
SCORE_COVARIATES = ("age", "educ", "married", "nodegree", "re74", "re75")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return lalonde.frame()


@pytest.fixture(scope="module")
def small(data) -> pd.DataFrame:
    """A 160-unit sample (60 treated) so full matching's LP stays fast."""
    gen = np.random.default_rng(20260)
    t = gen.choice(np.flatnonzero(data["treat"] == 1), 60, replace=False)
    c = gen.choice(np.flatnonzero(data["treat"] == 0), 100, replace=False)
    return data.iloc[np.sort(np.concatenate([t, c]))]


def _spec(covariates=COVARIATES) -> CrossSectionSpec:
    return CrossSectionSpec(outcome="re78", treatment="treat", covariates=covariates)


def _check_listing(m) -> pd.DataFrame:
    """Weights from the listing equal the result's; every weighted unit is listed."""
    pairs = m.matched
    w = pd.Series(m.weights.to_numpy(), index=m.ids)
    treated = pd.Series(m.treated.to_numpy(), index=m.ids)
    assert set(pairs["treated_id"]) <= set(w.index[treated.to_numpy()])
    assert set(pairs["control_id"]) <= set(w.index[~treated.to_numpy()])
    for col, role in (
        ("treated_id", "treated_weight"),
        ("control_id", "control_weight"),
    ):
        sums = pairs.groupby(col)[role].sum()
        positive = w[(w > 0) & (treated == (col == "treated_id"))]
        assert set(sums.index) == set(positive.index)
        np.testing.assert_allclose(
            sums.loc[positive.index].to_numpy(),
            positive.to_numpy(),
            rtol=0,
            atol=ATOL_WEIGHTS,
        )
    return pairs


def _set_pairs(m) -> set[tuple]:
    """Every (treated, control, set) triple implied by the result's subclasses."""
    sub = m.subclass.to_numpy(dtype=float, na_value=np.nan)
    t = m.treated.to_numpy()
    ids = m.ids
    out = set()
    for s in np.unique(sub[np.isfinite(sub)]):
        tt = ids[t & (sub == s)]
        cc = ids[~t & (sub == s)]
        out |= {(a, b, int(s)) for a in tt for b in cc}
    return out


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"ratio": 2},
        {"ratio": 3, "replace": True},
        {"replace": True, "exact": ("race",)},
        {"distance": "mahalanobis", "replace": True},
        {"distance": "probit", "mahvars": NUMERIC, "caliper": 0.1, "ratio": 2},
        {"method": "optimal", "exact": ("race",)},
    ],
    ids=[
        "nn",
        "nn-ratio2",
        "nn-replace-ratio3",
        "nn-exact-race",
        "mahal",
        "mahvars",
        "optimal",
    ],
)
def test_pair_methods_listing_adds_back_to_the_weights(data, options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = match(data, _spec(), **options)
    pairs = _check_listing(m)
    # one row per filled slot of the match matrix
    assert len(pairs) == int((m.match_matrix >= 0).sum())
    if "exact" in options:
        race = data["race"]
        assert (
            race.loc[pairs["treated_id"]].to_numpy()
            == race.loc[pairs["control_id"]].to_numpy()
        ).all()
    if not options.get("replace"):
        # without replacement the listing's sets are the result's subclasses
        sub = m.subclass
        assert (sub.loc[pairs["treated_id"]].to_numpy() == pairs["subclass"]).all()
        assert (sub.loc[pairs["control_id"]].to_numpy() == pairs["subclass"]).all()


@pytest.mark.parametrize(
    "options",
    [
        {"method": "full"},
        {"method": "full", "estimand": "ATE"},
        {"method": "full", "distance": "mahalanobis", "covariates": NUMERIC},
        {"method": "full", "exact": ("married",), "max_controls": 4},
        {"method": "exact", "covariates": ("race", "married", "nodegree")},
        {
            "method": "exact",
            "covariates": ("race", "married", "nodegree"),
            "estimand": "ATE",
        },
        {"method": "cem", "covariates": ("age", "educ", "race")},
        {"method": "subclass", "subclass": 5},
        {"method": "subclass", "subclass": 5, "estimand": "ATE"},
    ],
    ids=[
        "full",
        "full-ate",
        "full-mahal",
        "full-exact",
        "exact",
        "exact-ate",
        "cem",
        "subclass",
        "subclass-ate",
    ],
)
def test_set_methods_list_every_pair_of_every_set(small, options):
    opts = dict(options)
    covariates = opts.pop("covariates", SCORE_COVARIATES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = match(small, _spec(covariates), **opts)
    pairs = _check_listing(m)
    listed = set(zip(pairs["treated_id"], pairs["control_id"], pairs["subclass"]))
    assert len(listed) == len(pairs)
    assert listed == _set_pairs(m)
    if "exact" in opts:
        married = small["married"]
        assert (
            married.loc[pairs["treated_id"]].to_numpy()
            == married.loc[pairs["control_id"]].to_numpy()
        ).all()
    if opts["method"] in ("exact", "cem"):
        assert pairs["distance"].isna().all()
    elif opts.get("distance") == "mahalanobis":
        # scipy's Mahalanobis distance with the pooled within-group covariance
        x = small[list(NUMERIC)].to_numpy(dtype=float)
        d = small["treat"].to_numpy() == 1
        cen = np.where(d[:, None], x - x[d].mean(axis=0), x - x[~d].mean(axis=0))
        vi = np.linalg.inv(cen.T @ cen / (x.shape[0] - 2))
        xi = pd.DataFrame(x, index=small.index)
        ref = [
            mahalanobis(xi.loc[a].to_numpy(), xi.loc[b].to_numpy(), vi)
            for a, b in zip(pairs["treated_id"], pairs["control_id"])
        ]
        np.testing.assert_allclose(pairs["distance"], ref, rtol=1e-10)
    else:
        score = m.distance
        np.testing.assert_allclose(
            pairs["distance"],
            np.abs(
                score.loc[pairs["treated_id"]].to_numpy()
                - score.loc[pairs["control_id"]].to_numpy()
            ),
            rtol=0,
            atol=1e-15,
        )
