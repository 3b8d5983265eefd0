"""honest_did against R HonestDiD's printed results and against diff-diff.

R HonestDiD (github.com/asheshrambachan/HonestDiD, README of commit 6813f02).
Its Medicaid example prints robust sets for a TWFE event study of the ACS
insurance data; the inputs are not printed, but the README's knitr cache (in
the repository) holds the estimation sample and, for the regression with a
control, the exact ``betahat`` and ``sigma``. The test rebuilds the TWFE event
study (fixest's clustered covariance) from that sample, checks the rebuild
against the cached ``betahat``/``sigma`` of the regression with the control,
then runs the regression without it to get the inputs of the README's printed
sets. None of that data is committed: set ``TNE_EVAL_HONESTDID_DATA`` to a
checkout of the repository (the test skips otherwise).

diff-diff (PyPI, 3.13) solves the same FLCI program and the same identified-set
LPs; its relative-magnitudes interval is not HonestDiD's (it widens the
identified set by z standard errors, "naive FLCI (conservative)" in its code),
which the last test documents against R's printed numbers.
"""

from __future__ import annotations

import gzip
import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import tne_eval as tne
from tests.sensitivity.test_honest_did import _example

#: The rebuilt TWFE event study against the cached fixest output: the same
#: closed-form least squares and cluster sandwich, so rounding only.
RTOL_REBUILD = 1e-9
#: R's FLCI half-length uses a simulated folded-normal quantile (10^6 draws,
#: seed 0): its SE is about 0.0019 h (h = 0.0089 here), 1.7e-5 on each bound;
#: 3.5 SEs = 6e-5, added to half a unit in the last printed digit.
ATOL_R_FLCI_SIMULATION = 6e-5
#: R's relative-magnitudes sets are grid points of 1000 over +-20 SE; its
#: least-favourable critical value comes from 1000 simulated draws (R's RNG,
#: ours differs), which moves an endpoint by up to a grid step; R printed the
#: cached values to 6 digits.
GRID_STEPS_R_RM = 1.0
ATOL_R_6_DIGITS = 5e-7
#: The printed README run is on a slightly different grid (its endpoints are not
#: points of the grid of the cached inputs: another fixest release), so half a
#: step more than the cached run of the same code.
GRID_STEPS_R_RM_PRINTED = 1.5
#: FLCI against diff-diff: both optimise the same convex program, whose optimum
#: is flat along the estimator weights: half-lengths agree at 1e-8, and the
#: centre, first order in the weights where the half-length is second order,
#: to about the square root of that (1e-4 of the half-length; 1.2e-5 observed).
RTOL_FLCI_CENTRE = 1e-4
RTOL_FLCI_HALF_LENGTH = 1e-7
#: Identified sets: LPs solved by HiGHS in both.
ATOL_LP = 1e-9


# -- the R README's knitr cache ---------------------------------------------------------
def _repo() -> Path:
    path = os.environ.get("TNE_EVAL_HONESTDID_DATA")
    if not path:
        pytest.skip("set TNE_EVAL_HONESTDID_DATA to a checkout of HonestDiD (R)")
    return Path(path)


def _cached_chunk(repo: Path, chunk: str) -> dict[str, object]:
    """Objects of one knitr cache chunk (an R lazy-load database)."""
    rdata = pytest.importorskip("rdata")
    rdx = next((repo / "README_cache" / "gfm").glob(f"unnamed-chunk-{chunk}_*.rdx"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata: R classes without a converter
        index = rdata.conversion.convert(
            rdata.parser.parse_data(gzip.decompress(rdx.read_bytes()))
        )
        blob = rdx.with_suffix(".rdb").read_bytes()
        out = {}
        for name, (offset, length) in index["variables"].items():
            if str(name) not in ("betahat", "sigma", "df_nonstaggered"):
                continue
            raw = blob[int(offset) : int(offset) + int(length)]
            assert struct.unpack(">i", raw[:4])[0] > 0
            parsed = rdata.parser.parse_data(zlib.decompress(raw[4:]))
            out[str(name)] = rdata.conversion.convert(parsed)
    return out


def _twfe_event_study(df: pd.DataFrame, controls: tuple[str, ...] = ()):
    """dins ~ i(year, D, ref=2013) + controls | stfips + year, cluster = stfips.

    The panel is balanced (43 states x 8 years), so the two-way within transform
    is exact. fixest's small-sample factor: (n-1)/(n-K) G/(G-1), K = coefficients
    + year levels (the state effects are nested in the clusters).
    """
    years = sorted(df["year"].unique())
    event = [y for y in years if y != 2013]
    x = np.column_stack(
        [((df["year"] == y) * df["D"]).to_numpy(float) for y in event]
        + [df[c].to_numpy(float) for c in controls]
    )
    y = df["dins"].to_numpy(float)

    def within(a):
        a = pd.DataFrame(a)
        by_state = a.groupby(df["stfips"].to_numpy()).transform("mean")
        by_year = a.groupby(df["year"].to_numpy()).transform("mean")
        return (a - by_state - by_year + a.mean()).to_numpy()

    xd, yd = within(x), within(y[:, None]).ravel()
    bread = np.linalg.inv(xd.T @ xd)
    beta = bread @ xd.T @ yd
    resid = yd - xd @ beta
    clusters = df["stfips"].to_numpy()
    scores = np.array(
        [xd[clusters == g].T @ resid[clusters == g] for g in np.unique(clusters)]
    )
    n, g, k = len(y), len(scores), x.shape[1] + len(years)
    vcov = bread @ scores.T @ scores @ bread * (n - 1) / (n - k) * g / (g - 1)
    return beta[: len(event)], vcov[: len(event), : len(event)]


@pytest.fixture(scope="module")
def medicaid():
    cache = _cached_chunk(_repo(), "8")
    df = cache["df_nonstaggered"]
    b_ctrl, s_ctrl = _twfe_event_study(df, ("control",))
    np.testing.assert_allclose(
        b_ctrl, np.asarray(cache["betahat"]).ravel(), rtol=RTOL_REBUILD
    )
    np.testing.assert_allclose(s_ctrl, np.asarray(cache["sigma"]), rtol=RTOL_REBUILD)
    return {"control": (b_ctrl, s_ctrl), "plain": _twfe_event_study(df)}


def _printed_tolerance(value: float) -> float:
    """Half a unit in the last of 3 significant digits (tibble's printing)."""
    return 0.5 * 10.0 ** (np.floor(np.log10(abs(value))) - 2)


#: README, "Sensitivity Analysis Using Smoothness Restrictions" (l_vec = e1).
README_SD = {
    0.00: (0.0259, 0.0607),
    0.01: (0.0132, 0.0787),
    0.02: (0.00286, 0.0907),
    0.03: (-0.00714, 0.101),
    0.04: (-0.0171, 0.111),
    0.05: (-0.0271, 0.121),
}
#: README, "Regressions with controls" (same call, inputs with the control).
README_SD_CONTROL = {
    0.00: (0.0264, 0.0607),
    0.01: (0.0128, 0.0788),
    0.02: (0.00186, 0.0908),
    0.03: (-0.00814, 0.101),
    0.04: (-0.0181, 0.111),
    0.05: (-0.0281, 0.121),
}
#: README, "Sensitivity analysis using relative magnitudes restrictions" (C-LF).
README_RM = {
    0.5: (0.0241, 0.0673),
    1.0: (0.0171, 0.0720),
    1.5: (0.00859, 0.0796),
    2.0: (-0.00107, 0.0883),
}
#: The same call with Mbarvec = seq(0, 2, 0.5), as cached (chunk 5) by the README
#: build, printed to 6 digits by R from the cache.
CACHED_RM = {
    0.0: (0.028766, 0.064310),
    0.5: (0.024002, 0.067242),
    1.0: (0.017040, 0.072006),
    1.5: (0.008245, 0.079701),
    2.0: (-0.000916, 0.088129),
}


@pytest.mark.parametrize(
    ("inputs", "printed"), [("plain", README_SD), ("control", README_SD_CONTROL)]
)
def test_flci_matches_r_printed(medicaid, inputs, printed):
    b, sigma = medicaid[inputs]
    res = tne.honest_did(
        betahat=b,
        sigma=sigma,
        num_pre=5,
        num_post=2,
        restriction="smoothness",
        m_values=list(printed),
    )
    frame = res.to_frame()
    for m, (low, high) in printed.items():
        row = frame.loc[m]
        for ours, r in ((row["conf_low"], low), (row["conf_high"], high)):
            assert abs(ours - r) <= _printed_tolerance(r) + ATOL_R_FLCI_SIMULATION, (
                m,
                ours,
                r,
            )
    # README: "the breakdown value for a significant effect is M ~ 0.03"
    assert 0.02 < res.breakdown < 0.03


def test_relative_magnitudes_match_r(medicaid):
    b, sigma = medicaid["plain"]
    res = tne.honest_did(
        betahat=b, sigma=sigma, num_pre=5, num_post=2, m_values=list(CACHED_RM)
    )
    step = res.options["grid_bounds"][1] * 2 / (res.options["grid_points"] - 1)
    frame = res.to_frame()
    for m, (low, high) in CACHED_RM.items():
        row = frame.loc[m]
        tol = GRID_STEPS_R_RM * step + ATOL_R_6_DIGITS
        assert abs(row["conf_low"] - low) <= tol
        assert abs(row["conf_high"] - high) <= tol
    for m, (low, high) in README_RM.items():
        row = frame.loc[m]
        tol = GRID_STEPS_R_RM_PRINTED * step + _printed_tolerance(low)
        assert abs(row["conf_low"] - low) <= tol
        assert abs(
            row["conf_high"] - high
        ) <= GRID_STEPS_R_RM_PRINTED * step + _printed_tolerance(high)
    # README: "the breakdown value for a significant effect is Mbar = 2"
    assert 1.5 < res.breakdown < 2.0
    assert not frame.loc[2.0, "excludes_zero"]


def test_diff_diff_relative_magnitudes_interval_is_not_honestdid(medicaid):
    """diff-diff 3.13 widens the identified set by z SEs; R's C-LF sets differ."""
    dd = pytest.importorskip("diff_diff.honest_did")
    b, sigma = medicaid["plain"]
    lv = np.array([1.0, 0.0])
    se = np.sqrt(sigma[5, 5])
    z = stats.norm.ppf(0.975)
    naive = {}
    for mbar in README_RM:
        id_low, id_high = dd._solve_rm_bounds_union(b[:5], b[5:], lv, 5, mbar)
        naive[mbar] = (id_low - z * se, id_high + z * se)
    # close to R at Mbar = 0.5, then too narrow below: 0.007 at Mbar = 1.5 and
    # 0.012 at Mbar = 2 (30 grid steps), where R's set contains 0 and diff-diff's
    # interval does not, so the two give different breakdown values
    assert naive[1.5][0] - README_RM[1.5][0] > 0.006
    assert naive[2.0][0] - README_RM[2.0][0] > 0.012
    assert README_RM[2.0][0] < 0 < naive[2.0][0]
    ours = tne.honest_did(betahat=b, sigma=sigma, num_pre=5, num_post=2, m_values=[2.0])
    assert not ours.to_frame().loc[2.0, "excludes_zero"]


# -- diff-diff on typed-in inputs ---------------------------------------------------
@pytest.mark.parametrize("l_vec", [[1, 0, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]])
@pytest.mark.parametrize("m", [0.0, 0.01, 0.2])
def test_flci_matches_diff_diff(l_vec, m):
    dd = pytest.importorskip("diff_diff.honest_did")
    b, sigma = _example()
    lv = np.asarray(l_vec, dtype=float)
    res = tne.honest_did(
        betahat=b,
        sigma=sigma,
        num_pre=4,
        num_post=3,
        restriction="smoothness",
        m_values=[m],
        l_vec=lv,
    )
    row = res.to_frame().iloc[0]
    low, high = dd._compute_optimal_flci(b[:4], b[4:], sigma, lv, 4, 3, m, 0.05)
    ours_half = (row["conf_high"] - row["conf_low"]) / 2
    theirs_half = (high - low) / 2
    assert ours_half <= theirs_half * (1 + 1e-9)  # never a worse optimum
    assert ours_half == pytest.approx(theirs_half, rel=RTOL_FLCI_HALF_LENGTH)
    centre = (row["conf_high"] + row["conf_low"]) / 2
    assert abs(centre - (high + low) / 2) <= RTOL_FLCI_CENTRE * theirs_half


@pytest.mark.parametrize("m", [0.05, 0.2, 0.5])
def test_smoothness_identified_set_matches_diff_diff(m):
    dd = pytest.importorskip("diff_diff.honest_did")
    b, sigma = _example()
    lv = np.array([0.2, 0.3, 0.5])
    row = tne.honest_did(
        betahat=b, sigma=sigma, num_pre=4, num_post=3, restriction="smoothness",
        m_values=[m], l_vec=lv,
    ).to_frame().iloc[0]  # fmt: skip
    a, d = dd._construct_constraints_sd(4, 3, m)
    low, high = dd._solve_bounds_lp(b[:4], b[4:], lv, a, d, 4)
    if np.isnan(low):
        assert np.isnan(row["id_low"]) and np.isnan(row["id_high"])
    else:
        np.testing.assert_allclose(
            [row["id_low"], row["id_high"]], [low, high], atol=ATOL_LP
        )


@pytest.mark.parametrize("mbar", [0.0, 0.5, 1.0, 2.0])
def test_relative_magnitudes_identified_set_matches_diff_diff(mbar):
    dd = pytest.importorskip("diff_diff.honest_did")
    b, sigma = _example()
    lv = np.array([0.2, 0.3, 0.5])
    row = tne.honest_did(
        betahat=b, sigma=sigma, num_pre=4, num_post=3, m_values=[mbar], l_vec=lv,
        grid_points=51,
    ).to_frame().iloc[0]  # fmt: skip
    low, high = dd._solve_rm_bounds_union(b[:4], b[4:], lv, 4, mbar)
    np.testing.assert_allclose(
        [row["id_low"], row["id_high"]], [low, high], atol=ATOL_LP
    )


@pytest.mark.parametrize("m", [0.0, 0.1, 0.2, 0.3])
def test_flci_matches_diff_diff_on_benzarti_carloni(m):
    """HonestDiD's shipped example (data/BCdata_EventStudy.rda, 4 pre, 4 post)."""
    dd = pytest.importorskip("diff_diff.honest_did")
    rdata = pytest.importorskip("rdata")
    path = _repo() / "data" / "BCdata_EventStudy.rda"
    data = rdata.read_rda(str(path))["BCdata_EventStudy"]
    b, sigma = np.asarray(data["betahat"]).ravel(), np.asarray(data["sigma"])
    k, t = len(data["prePeriodIndices"]), len(data["postPeriodIndices"])
    assert (k, t) == (4, 4)
    row = tne.honest_did(
        betahat=b, sigma=sigma, num_pre=k, num_post=t, restriction="smoothness",
        m_values=[m],
    ).to_frame().iloc[0]  # fmt: skip
    low, high = dd._compute_optimal_flci(
        b[:k], b[k:], sigma, np.eye(t)[0], k, t, m, 0.05
    )
    half = (high - low) / 2
    assert (row["conf_high"] - row["conf_low"]) / 2 == pytest.approx(
        half, rel=RTOL_FLCI_HALF_LENGTH
    )
    assert abs((row["conf_high"] + row["conf_low"] - high - low) / 2) <= (
        RTOL_FLCI_CENTRE * half
    )
