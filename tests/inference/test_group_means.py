"""Diagonal (group-mean) specializations against the dense general functions.

The dense functions of :mod:`tne_eval.inference.small_sample` and
:mod:`tne_eval.inference.wild` take a ``(G, m, m)`` hessian; the group-mean
decomposition has a diagonal one, handled in ``(G, m)`` memory. Both must agree
to 1e-10 on random inputs.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import sparse

import tne_eval as tne
from tests.inference.stacked_ik import stacked_design, stacked_ik_df
from tne_eval.errors import IdentificationError, InferenceError, SpecError
from tne_eval.inference import small_sample, wild


def _random_group_means(seed: int, n: int = 240, g: int = 14, m: int = 6):
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, g, size=n)
    cluster[:g] = np.arange(g)
    group = rng.integers(0, m, size=n)
    w = rng.uniform(0.3, 2.0, size=n)
    y = rng.normal(size=n) + rng.normal(size=g)[cluster]
    psi = np.zeros((n, m))
    for j in range(m):
        sel = group == j
        mu = np.average(y[sel], weights=w[sel])
        psi[sel, j] = n * w[sel] * (y[sel] - mu) / w[sel].sum()
    hess = small_sample.group_mean_hessian(w, group, cluster)
    diag = np.einsum("gjj->gj", hess)
    return psi, cluster, hess, diag, rng


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", ["CR2", "CR3"])
@pytest.mark.parametrize("as_sparse", [False, True])
def test_diagonal_cr_vcov_equals_dense(seed, kind, as_sparse):
    psi, cluster, hess, diag, rng = _random_group_means(seed)
    dense = small_sample.influence_cr_vcov(psi, cluster, hessian=hess, kind=kind)
    p_in = sparse.csc_array(psi) if as_sparse else psi
    w_in = sparse.csc_array(diag) if as_sparse else diag
    got = small_sample.diagonal_cr_vcov(p_in, cluster, weight=w_in, kind=kind)
    np.testing.assert_allclose(got, dense, rtol=1e-10, atol=1e-14)
    comb = rng.normal(size=(psi.shape[1], 3))
    got_c = small_sample.diagonal_cr_vcov(
        p_in, cluster, weight=w_in, contrast=comb, kind=kind
    )
    np.testing.assert_allclose(got_c, comb.T @ dense @ comb, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", ["CR2", "CR3"])
def test_diagonal_satterthwaite_df_equals_dense(seed, kind):
    psi, cluster, hess, diag, rng = _random_group_means(seed)
    comb = rng.normal(size=(psi.shape[1], 4))
    comb[2:, 1] = 0.0  # a contrast using only some groups
    dense = small_sample.influence_satterthwaite_df(
        psi, cluster, hessian=hess, contrast=comb.T, kind=kind
    )
    got = small_sample.diagonal_satterthwaite_df(
        sparse.csc_array(psi), cluster, weight=diag, contrast=comb, kind=kind
    )
    np.testing.assert_allclose(got, dense, rtol=1e-10)
    # an all-zero column has no degrees of freedom
    zero = np.zeros((psi.shape[1], 1))
    assert np.isnan(
        small_sample.diagonal_satterthwaite_df(psi, cluster, weight=diag, contrast=zero)
    ).all()


def test_diagonal_functions_validate_inputs():
    psi, cluster, _, diag, _ = _random_group_means(3)
    with pytest.raises(SpecError, match="weight must have shape"):
        small_sample.diagonal_cr_vcov(psi, cluster, weight=diag[:, :2])
    with pytest.raises(SpecError, match="non-negative"):
        small_sample.diagonal_cr_vcov(psi, cluster, weight=-diag)
    empty = diag.copy()
    empty[:, 0] = 0.0
    with pytest.raises(IdentificationError, match="no weight"):
        small_sample.diagonal_cr_vcov(psi, cluster, weight=empty)
    single = diag.copy()
    single[1:, 0] = 0.0  # group 0 lives in cluster 0 only
    with pytest.raises(InferenceError, match="leverage"):
        small_sample.diagonal_cr_vcov(psi, cluster, weight=single)
    with pytest.raises(SpecError, match="contrast must have 6 rows"):
        small_sample.diagonal_satterthwaite_df(
            psi, cluster, weight=diag, contrast=np.ones((3, 1))
        )


def _stacked_group_means(
    seed: int, *, weighted: bool, n: int = 90, g: int = 9, m: int = 5, shift=0.0
):
    """Rows in several groups (like units in several cells), clusters mixing groups.

    ``shift`` adds a cluster effect (>0) or removes part of the cluster mean (<0).
    """
    rng = np.random.default_rng(seed)
    cluster = np.sort(rng.integers(0, g, size=n))
    cluster[:g] = np.arange(g)
    cluster = np.sort(cluster)
    member = rng.uniform(size=(n, m)) < 0.6
    member[np.arange(n), rng.integers(0, m, size=n)] = True
    member[:g, :] = True  # every cluster in every group: leverages below one
    w_row = rng.uniform(0.3, 2.0, size=n) if weighted else np.ones(n)
    sign = rng.choice([-1.0, 1.0], size=m)
    sign[0] = 1.0
    psi = np.zeros((n, m))
    weight = np.where(member, w_row[:, None], 0.0)
    for j in range(m):
        y = rng.normal(size=n)
        effect = rng.normal(size=g)[cluster]
        if shift < 0:
            y = (
                y
                + shift
                * np.bincount(cluster, weights=y)[cluster]
                / np.bincount(cluster)[cluster]
            )
        else:
            y = y + shift * effect
        sel = member[:, j]
        mu = np.average(y[sel], weights=w_row[sel])
        psi[sel, j] = sign[j] * n * w_row[sel] * (y[sel] - mu) / w_row[sel].sum()
    return psi, cluster, weight, sign, rng


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shift", [0.0, 1.0])
def test_diagonal_imbens_kolesar_df_equals_stacked_computation(seed, weighted, shift):
    psi, cluster, weight, sign, rng = _stacked_group_means(
        seed, weighted=weighted, shift=shift
    )
    comb = rng.normal(size=(psi.shape[1], 3))
    comb[3:, 1] = 0.0  # a contrast using only some groups
    got = small_sample.diagonal_imbens_kolesar_df(
        sparse.csc_array(psi),
        cluster,
        row_weight=sparse.csc_array(weight),
        contrast=comb,
        sign=sign,
    )
    g = int(cluster.max()) + 1
    diag = np.stack([np.bincount(cluster, weights=weight[:, j]) for j in range(5)], 1)
    cr2 = small_sample.diagonal_cr_vcov(psi, cluster, weight=diag, contrast=comb)
    for j in range(comb.shape[1]):
        design = stacked_design(psi, cluster, weight, comb[:, j], sign)
        # the stacked functional reproduces the CR2 variance of the estimate
        u = design.functional @ design.resid
        np.testing.assert_allclose(u @ u, cr2[j, j], rtol=1e-10)
        assert got[j] == pytest.approx(stacked_ik_df(design), rel=1e-10)
        assert 1.0 - 1e-12 <= got[j] <= g
    # dense inputs, and an all-zero column has no degrees of freedom
    zero = np.c_[comb[:, :1], np.zeros(psi.shape[1])]
    dense = small_sample.diagonal_imbens_kolesar_df(
        psi, cluster, row_weight=weight, contrast=zero, sign=sign
    )
    assert dense[0] == pytest.approx(got[0], rel=1e-12) and np.isnan(dense[1])


def test_diagonal_imbens_kolesar_df_is_satterthwaite_without_cluster_effect():
    # with unit weights and rho = 0 the Moulton working model is sigma^2 I, the
    # working model of diagonal_satterthwaite_df: the two are equal
    psi, cluster, weight, sign, rng = _stacked_group_means(
        2, weighted=False, shift=-0.5
    )
    comb = rng.normal(size=(psi.shape[1], 3))
    for j in range(3):
        assert stacked_design(psi, cluster, weight, comb[:, j], sign).rho < 0
    diag = np.stack([np.bincount(cluster, weights=weight[:, j]) for j in range(5)], 1)
    sat = small_sample.diagonal_satterthwaite_df(
        psi, cluster, weight=diag, contrast=comb
    )
    kw = dict(row_weight=weight, contrast=comb, sign=sign)
    clipped = small_sample.diagonal_imbens_kolesar_df(
        psi, cluster, rho_nonnegative=True, **kw
    )
    np.testing.assert_allclose(clipped, sat, rtol=1e-10)
    # the estimated (negative) rho is used otherwise
    free = small_sample.diagonal_imbens_kolesar_df(psi, cluster, **kw)
    assert not np.allclose(free, sat, rtol=1e-6)
    for j in range(3):
        design = stacked_design(psi, cluster, weight, comb[:, j], sign)
        assert free[j] == pytest.approx(stacked_ik_df(design), rel=1e-10)


def test_diagonal_imbens_kolesar_df_validates_inputs():
    psi, cluster, weight, _, _ = _stacked_group_means(3, weighted=True)
    c = np.ones(psi.shape[1])
    fn = small_sample.diagonal_imbens_kolesar_df
    with pytest.raises(SpecError, match="row_weight must have the shape"):
        fn(psi, cluster, row_weight=weight[:, :2], contrast=c)
    with pytest.raises(SpecError, match="non-negative"):
        fn(psi, cluster, row_weight=-weight, contrast=c)
    with pytest.raises(SpecError, match=r"sign must be \+1 or -1"):
        fn(psi, cluster, row_weight=weight, contrast=c, sign=np.zeros(5))
    with pytest.raises(SpecError, match="contrast must have 5 rows"):
        fn(psi, cluster, row_weight=weight, contrast=np.ones((3, 1)))


@pytest.mark.parametrize("impose_null", [True, False])
@pytest.mark.parametrize("weights", ["rademacher", "webb"])
def test_score_wild_bootstrap_diagonal_hessian_equals_dense(impose_null, weights):
    psi, cluster, hess, diag, rng = _random_group_means(4)
    est = rng.normal(size=psi.shape[1])
    c = np.array([1.0, -1.0, 0.5, 0.0, 0.0, 0.25])
    kwargs = dict(
        contrast=c,
        impose_null=impose_null,
        weight_type=weights,
        reps=999,
        seed=5,
        null=0.3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tne.SmallClusterWarning)
        a = wild.score_wild_bootstrap(psi, cluster, est, hessian=hess, **kwargs)
        b = wild.score_wild_bootstrap(psi, cluster, est, hessian=diag, **kwargs)
    np.testing.assert_allclose(b.t_boot, a.t_boot, rtol=1e-10, atol=1e-12)
    assert b.p_value == pytest.approx(a.p_value, abs=1e-12)
    np.testing.assert_allclose(b.conf_int, a.conf_int, rtol=1e-8)


def test_score_wild_bootstrap_diagonal_hessian_checks_shape():
    psi, cluster, _, diag, _ = _random_group_means(5)
    with pytest.raises(SpecError, match="diagonal hessian"):
        wild.score_wild_bootstrap(
            psi, cluster, np.zeros(6), contrast=np.ones(6), hessian=diag[:-1]
        )


def test_new_specs_validate_and_describe():
    assert tne.ConleyTaber().describe() == "Conley-Taber, 9999 draws"
    assert tne.FermanPinto(reps=199).describe() == "Ferman-Pinto, 199 draws"
    with pytest.raises(SpecError, match=r"ConleyTaber\.reps"):
        tne.ConleyTaber(reps=10)
    with pytest.raises(tne.TneEvalTypeError, match=r"FermanPinto\.seed"):
        tne.FermanPinto(seed="x")
    assert tne.ConleyTaber() != tne.FermanPinto()
    from tne_eval.inference.registry import resolve
    from tne_eval.inference.scores import InfluenceScores

    got = resolve("ferman_pinto", estimator="x", store_type=InfluenceScores)
    assert isinstance(got, tne.FermanPinto)


def test_store_columns_and_with_values_keep_the_decomposition_consistent():
    import pandas as pd

    rng = np.random.default_rng(6)
    n, years = 90, np.arange(2015, 2020)
    g = np.where(np.arange(n) < 30, 2018, np.where(np.arange(n) < 50, 2019, 0))
    df = pd.DataFrame(
        {
            "u": np.repeat(np.arange(n), years.size),
            "t": np.tile(years, n),
            "g": np.repeat(g, years.size),
            "cl": np.repeat(np.arange(n) // 5, years.size),
        }
    )
    df["y"] = rng.normal(size=len(df))
    spec = tne.PanelSpec(unit="u", time="t", outcome="y", cohort="g", cluster="cl")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tne.TneEvalWarning)
        store = tne.att_gt(df, spec, method="reg").scores
    pos = np.array([0, 3, 5])
    sub = store.columns(pos)
    dec = sub.decomposition
    assert dec.combine.shape == (dec.n_parts, 3) and dec.n_parts == 6  # unused dropped
    np.testing.assert_allclose(dec.parts @ dec.combine, sub.dense(), atol=1e-12)
    np.testing.assert_array_equal(sub.estimates, store.estimates[pos])
    assert not dec.combine.flags.writeable and not dec.parts.data.flags.writeable
    bare = store.with_values(store.dense()[:, :2])
    assert bare.decomposition is None and bare.estimates is None
    with pytest.raises(InferenceError, match="one column per estimate"):
        store.with_values(store.dense()[:, :2], decomposition=store.decomposition)


def test_group_means_stacked_and_lift_are_checked_and_follow_subsets():
    from tne_eval.inference.scores import GroupMeans

    rng = np.random.default_rng(3)
    vals = sparse.csc_array(rng.normal(size=(6, 2)))
    wts = sparse.csc_array(np.ones((6, 2)))
    cells = GroupMeans(
        parts=sparse.csc_array(rng.normal(size=(6, 3))),
        weights=sparse.csc_array(np.ones((6, 3))),
        combine=np.eye(3)[:, :2],
        treated=np.array([True, True, False]),
        cohort=np.full(3, 2019.0),
        exact=False,
        sign=np.array([1.0, -1.0, -1.0]),
    )
    base = dict(
        parts=vals,
        weights=wts,
        combine=np.eye(2),
        treated=np.array([True, False]),
        cohort=np.full(2, 2019.0),
        exact=False,
        sign=np.array([0.0, -1.0]),
    )
    lift = np.array([[1.0, 0.0], [0.5, 0.0], [0.0, 1.0]])
    with pytest.raises(InferenceError, match="go together"):
        GroupMeans(**base, stacked=cells)
    with pytest.raises(InferenceError, match="shape"):
        GroupMeans(**base, stacked=cells, lift=lift[:2])
    dec = GroupMeans(**base, stacked=cells, lift=lift)
    # the second estimate uses the second part only: the cells' third part only
    sub = dec.columns(np.array([1]))
    assert sub.n_parts == 1 and sub.stacked.n_parts == 1
    np.testing.assert_array_equal(sub.stacked.combine, [[1.0]])
    np.testing.assert_array_equal(sub.stacked.sign, [-1.0])
    np.testing.assert_array_equal(sub.lift, [[1.0]])
    first = dec.columns(np.array([0]))
    np.testing.assert_allclose(first.stacked.combine, [[1.0], [0.5]], atol=0)
