"""Taylor-linearization variances: samplics, hand computations, fpc and lonely PSUs.

References: ``samplics`` 0.6.1 (``TaylorEstimator`` for means and ratios,
``SurveyGLM`` for linear regression) on the NHANES II extract it ships
(``samplics/datasets/data/nhanes2.csv``: 31 strata, 62 PSUs); a literal
hand-computed two-stratum example; a brute-force (pure Python) evaluation of
the stratified formula for the fpc and lonely-PSU options.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tne_eval as tne
from tests.tolerances import RTOL_CLOSED_FORM
from tne_eval.errors import DataError, LonelyPSUError, SpecError, TneEvalTypeError
from tne_eval.inference.linearization import stratified_vcov

HAS_SAMPLICS = importlib.util.find_spec("samplics") is not None
needs_samplics = pytest.mark.skipif(
    not HAS_SAMPLICS, reason="samplics (dev extra) not installed"
)


def _samplics():
    with warnings.catch_warnings():  # samplics 0.6.1 announces it is archived
        warnings.simplefilter("ignore")
        import samplics
        from samplics import PopParam, TaylorEstimator
        from samplics.regression import SurveyGLM
        from samplics.utils.types import ModelType, SinglePSUEst
    return samplics, PopParam, TaylorEstimator, SurveyGLM, ModelType, SinglePSUEst


@pytest.fixture(scope="module")
def nhanes() -> pd.DataFrame:
    samplics = _samplics()[0]
    path = Path(samplics.__path__[0]) / "datasets" / "data" / "nhanes2.csv"
    data = pd.read_csv(path)
    # complete cases, so that samplics and tne_eval use the same rows
    return data.dropna(subset=["zinc", "diabetes"]).reset_index(drop=True)


DESIGN = tne.SurveyDesign(strata="stratid", psu="psuid", weights="finalwgt", nest=True)


# -- samplics ---------------------------------------------------------------------------
@needs_samplics
def test_mean_matches_samplics(nhanes):
    _, PopParam, TaylorEstimator, *_ = _samplics()
    ours = tne.survey_mean(nhanes, "zinc", DESIGN)
    ref = TaylorEstimator(PopParam.mean)
    ref.estimate(
        y=nhanes["zinc"],
        samp_weight=nhanes["finalwgt"],
        stratum=nhanes["stratid"],
        psu=nhanes["psuid"],
    )
    np.testing.assert_allclose(
        ours.estimates.iloc[0], ref.point_est, rtol=RTOL_CLOSED_FORM
    )
    np.testing.assert_allclose(
        ours.std_errors.iloc[0], ref.stderror, rtol=RTOL_CLOSED_FORM
    )
    assert ours.dof == 62 - 31


@needs_samplics
def test_ratio_matches_samplics(nhanes):
    _, PopParam, TaylorEstimator, *_ = _samplics()
    ours = tne.survey_ratio(nhanes, "zinc", "race", DESIGN)
    ref = TaylorEstimator(PopParam.ratio)
    ref.estimate(
        y=nhanes["zinc"],
        x=nhanes["race"],
        samp_weight=nhanes["finalwgt"],
        stratum=nhanes["stratid"],
        psu=nhanes["psuid"],
    )
    np.testing.assert_allclose(
        ours.estimates.iloc[0], ref.point_est, rtol=RTOL_CLOSED_FORM
    )
    np.testing.assert_allclose(
        ours.std_errors.iloc[0], ref.stderror, rtol=RTOL_CLOSED_FORM
    )


@needs_samplics
def test_regression_matches_samplics(nhanes):
    *_, SurveyGLM, ModelType, _ = _samplics()
    ours = tne.survey_regression(nhanes, "zinc", ["highbp", "diabetes"], DESIGN)
    ref = SurveyGLM(ModelType.LINEAR)
    ref.estimate(
        y=nhanes["zinc"],
        x=nhanes[["highbp", "diabetes"]],
        samp_weight=nhanes["finalwgt"],
        stratum=nhanes["stratid"],
        psu=nhanes["psuid"],
        add_intercept=True,
    )
    np.testing.assert_allclose(
        ours.estimates, ref.beta["point_est"], rtol=RTOL_CLOSED_FORM
    )
    np.testing.assert_allclose(
        ours.vcov.to_numpy(),
        np.asarray(ref.beta_cov),
        rtol=RTOL_CLOSED_FORM,
        atol=1e-14,
    )


@needs_samplics
def test_fpc_matches_samplics(nhanes):
    _, PopParam, TaylorEstimator, *_ = _samplics()
    frac = 0.05 + 0.01 * (nhanes["stratid"] % 7)  # a sampling fraction per stratum
    data = nhanes.assign(frac=frac)
    ours = tne.survey_mean(data, "zinc", DESIGN.update(fpc="frac"))
    per = data.groupby("stratid")["frac"].first()
    ref = TaylorEstimator(PopParam.mean)
    ref.estimate(
        y=data["zinc"],
        samp_weight=data["finalwgt"],
        stratum=data["stratid"],
        psu=data["psuid"],
        fpc={k: 1.0 - v for k, v in per.items()},
    )
    np.testing.assert_allclose(
        ours.std_errors.iloc[0], ref.stderror, rtol=RTOL_CLOSED_FORM
    )


@needs_samplics
def test_lonely_remove_matches_samplics_skip(nhanes):
    _, PopParam, TaylorEstimator, _, _, SinglePSUEst = _samplics()
    # leave stratum 1 with one PSU
    data = nhanes[~((nhanes["stratid"] == 1) & (nhanes["psuid"] == 2))].reset_index(
        drop=True
    )
    with pytest.raises(LonelyPSUError, match=r"single PSU \('1'\)"):
        tne.survey_mean(data, "zinc", DESIGN)
    ours = tne.survey_mean(data, "zinc", DESIGN.update(lonely_psu="remove"))
    ref = TaylorEstimator(PopParam.mean)
    ref.estimate(
        y=data["zinc"],
        samp_weight=data["finalwgt"],
        stratum=data["stratid"],
        psu=data["psuid"],
        single_psu=SinglePSUEst.skip,
    )
    np.testing.assert_allclose(
        ours.std_errors.iloc[0], ref.stderror, rtol=RTOL_CLOSED_FORM
    )
    certainty = tne.survey_mean(data, "zinc", DESIGN.update(lonely_psu="certainty"))
    np.testing.assert_allclose(certainty.std_errors, ours.std_errors, rtol=1e-12)


# -- hand computations ---------------------------------------------------------------------
def _hand_frame() -> pd.DataFrame:
    # stratum A: PSU 1 (y = 1, 3), PSU 2 (y = 5); stratum B: PSU 3 (2), PSU 4 (4, 6)
    return pd.DataFrame(
        {
            "h": ["A", "A", "A", "B", "B", "B"],
            "psu": [1, 1, 2, 3, 4, 4],
            "y": [1.0, 3.0, 5.0, 2.0, 4.0, 6.0],
            "N": [4, 4, 4, 8, 8, 8],
        }
    )


def test_hand_computed_stratified_mean():
    # mean 3.5; z = (y - 3.5)/6; PSU totals -1/2, 1/4 | -1/4, 1/2; each stratum:
    # 2/1 * ((3/8)^2 + (3/8)^2) = 9/16, so V = 9/8.
    res = tne.survey_mean(_hand_frame(), "y", tne.SurveyDesign(strata="h", psu="psu"))
    assert res.estimates.iloc[0] == pytest.approx(3.5, rel=1e-12)
    assert res.std_errors.iloc[0] ** 2 == pytest.approx(9 / 8, rel=1e-12)
    assert res.dof == 2


def test_hand_computed_fpc_counts_and_fractions():
    # f_A = 2/4, f_B = 2/8: V = (1/2) 9/16 + (3/4) 9/16 = 45/64
    data = _hand_frame()
    counts = tne.survey_mean(
        data, "y", tne.SurveyDesign(strata="h", psu="psu", fpc="N")
    )
    assert counts.std_errors.iloc[0] ** 2 == pytest.approx(45 / 64, rel=1e-12)
    fractions = data.assign(f=2 / data["N"])
    frac = tne.survey_mean(
        fractions, "y", tne.SurveyDesign(strata="h", psu="psu", fpc="f")
    )
    assert frac.std_errors.iloc[0] == pytest.approx(
        counts.std_errors.iloc[0], rel=1e-12
    )


def _brute_force(totals, strata, fraction, lonely):
    """Pure-Python evaluation of the stratified variance (one estimate)."""
    by: dict[int, list[float]] = {}
    for t, h in zip(totals, strata):
        by.setdefault(int(h), []).append(float(t))
    grand = sum(totals) / len(totals)
    v = 0.0
    for h, ts in by.items():
        n = len(ts)
        if n == 1:
            if lonely == "adjust":
                v += (1 - fraction[h]) * (ts[0] - grand) ** 2
            continue
        m = sum(ts) / n
        v += (1 - fraction[h]) * n / (n - 1) * sum((t - m) ** 2 for t in ts)
    return v


@pytest.mark.parametrize("lonely", ["remove", "certainty", "adjust"])
def test_lonely_options_against_brute_force(lonely, rng):
    totals = rng.normal(size=9)
    strata = np.array([0, 0, 0, 1, 1, 2, 3, 3, 4])  # strata 2 and 4 are lonely
    fraction = np.array([0.1, 0.0, 0.3, 0.2, 0.5])
    vcov, single = stratified_vcov(
        totals[:, None], strata, 5, fraction=fraction, lonely_psu=lonely
    )
    assert single == [2, 4]
    expected = _brute_force(totals, strata, fraction, lonely)
    assert vcov[0, 0] == pytest.approx(expected, rel=1e-12)


def test_adjust_differs_from_remove_on_hand_example():
    frame = pd.concat(
        [_hand_frame(), pd.DataFrame({"h": ["C"], "psu": [5], "y": [6.0], "N": [3]})],
        ignore_index=True,
    )
    design = tne.SurveyDesign(strata="h", psu="psu")
    with pytest.raises(LonelyPSUError, match="lonely_psu='remove'"):
        tne.survey_mean(frame, "y", design)
    removed = tne.survey_mean(frame, "y", design.update(lonely_psu="remove"))
    adjusted = tne.survey_mean(frame, "y", design.update(lonely_psu="adjust"))
    # by hand: mean 27/7, z = (y - 27/7)/7; PSU totals -26/49... computed below
    y, psu, h = frame["y"].to_numpy(), frame["psu"].to_numpy(), frame["h"].to_numpy()
    z = (y - y.mean()) / y.size
    tot = np.array([z[psu == p].sum() for p in (1, 2, 3, 4, 5)])
    strata = np.array([0, 0, 1, 1, 2])
    for res, lonely in ((removed, "remove"), (adjusted, "adjust")):
        expected = _brute_force(tot, strata, np.zeros(3), lonely)
        assert res.std_errors.iloc[0] ** 2 == pytest.approx(expected, rel=1e-12)
    assert adjusted.std_errors.iloc[0] > removed.std_errors.iloc[0]
    assert any("single PSU" in n for n in removed.notes)
    del h


def test_domain_keeps_the_design_psus():
    # a missing outcome keeps its row's PSU: same as zero influence, and with no
    # PSU emptied the same as dropping the row
    data = _hand_frame().assign(y=[1.0, 3.0, 5.0, 2.0, 4.0, np.nan])
    design = tne.SurveyDesign(strata="h", psu="psu")
    with_nan = tne.survey_mean(data, "y", design)
    dropped = tne.survey_mean(data.dropna(), "y", design)
    np.testing.assert_allclose(with_nan.std_errors, dropped.std_errors, rtol=1e-12)
    assert any("missing 'y'" in n for n in with_nan.notes)
    domain = data.assign(d=data["h"].eq("A"))
    sub = tne.survey_mean(domain, "y", design, domain="d")
    # stratum B keeps its two PSUs with zero totals: contributes nothing
    assert sub.estimates.iloc[0] == pytest.approx(3.0)
    z_tot = np.array([(1 - 3) + (3 - 3), 5 - 3]) / 3
    assert sub.std_errors.iloc[0] ** 2 == pytest.approx(
        2 * ((z_tot - z_tot.mean()) ** 2).sum(), rel=1e-12
    )


def test_naive_iid_is_the_row_level_variance():
    data = _hand_frame()
    res = tne.survey_mean(data, "y", tne.SurveyDesign(strata="h", psu="psu"))
    naive = res.with_inference("iid")
    z = (data["y"] - 3.5) / 6
    assert naive.std_errors.iloc[0] ** 2 == pytest.approx((z**2).sum(), rel=1e-12)


# -- errors ------------------------------------------------------------------------------
def test_design_errors():
    data = _hand_frame()
    with pytest.raises(SpecError, match="lonely_psu='average' is not supported"):
        tne.SurveyDesign(lonely_psu="average")
    with pytest.raises(TneEvalTypeError, match=r"SurveyDesign\.psu must be a column"):
        tne.SurveyDesign(psu=3)
    with pytest.raises(SpecError, match="must be different columns"):
        tne.SurveyDesign(strata="h", psu="h")
    with pytest.raises(SpecError, match="SurveyDesign names column"):
        tne.survey_mean(data, "y", tne.SurveyDesign(psu="nope"))
    clash = data.assign(psu=[1, 1, 2, 1, 2, 2])
    with pytest.raises(DataError, match="set nest=True"):
        tne.survey_mean(clash, "y", tne.SurveyDesign(strata="h", psu="psu"))
    nested = tne.survey_mean(
        clash, "y", tne.SurveyDesign(strata="h", psu="psu", nest=True)
    )
    assert nested.n_clusters == 4
    with pytest.raises(DataError, match="varies within strata"):
        tne.survey_mean(
            data.assign(N=[4, 5, 4, 8, 8, 8]),
            "y",
            tne.SurveyDesign(strata="h", psu="psu", fpc="N"),
        )
    with pytest.raises(DataError, match="fewer population PSUs than sampled"):
        tne.survey_mean(
            data.assign(N=1.5), "y", tne.SurveyDesign(strata="h", psu="psu", fpc="N")
        )
    with pytest.raises(DataError, match="is missing in 1 of 6 rows"):
        tne.survey_mean(
            data.assign(psu=[1, 1, 2, 3, 4, None]), "y", tne.SurveyDesign(psu="psu")
        )
    with pytest.raises(tne.InferenceError, match="degrees of freedom"):
        tne.survey_mean(
            data.assign(p=1), "y", tne.SurveyDesign(psu="p", lonely_psu="remove")
        )
