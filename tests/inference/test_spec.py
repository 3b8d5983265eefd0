import numpy as np
import pytest

from tne_eval.errors import InferenceError, SpecError, TneEvalTypeError
from tne_eval.inference import IID, Cluster, MultiplierBootstrap, resolve
from tne_eval.inference.influence import influence_vcov
from tne_eval.inference.scores import InfluenceScores, RegressionScores
from tne_eval.inference.wald import wald_test


@pytest.mark.parametrize(
    ("shortcut", "expected"),
    [
        ("iid", IID()),
        ("cluster", Cluster()),
        ("analytic", Cluster()),
        ("bootstrap", MultiplierBootstrap()),
        ("CLUSTER", Cluster()),
    ],
)
def test_shortcuts(shortcut, expected):
    assert resolve(shortcut, estimator="x", store_type=InfluenceScores) == expected


def test_unknown_shortcut_lists_options():
    with pytest.raises(
        InferenceError,
        match=r"x does not support inference='hc3'; supported: IID, Cluster, "
        r"MultiplierBootstrap, CR2, CR3, WildBootstrap, ConleyTaber, FermanPinto "
        r"\(shortcuts: 'iid', 'cluster'",
    ):
        resolve("hc3", estimator="x", store_type=InfluenceScores)


def test_unsupported_object():
    with pytest.raises(
        InferenceError,
        match="twfe does not support MultiplierBootstrap; supported: IID, Cluster",
    ):
        resolve(MultiplierBootstrap(), estimator="twfe", store_type=RegressionScores)


def test_objects_are_frozen_and_validated():
    boot = MultiplierBootstrap(reps=199, seed=1)
    with pytest.raises(AttributeError):
        boot.reps = 5
    with pytest.raises(SpecError, match=r"MultiplierBootstrap\.reps must be >= 99"):
        MultiplierBootstrap(reps=10)
    with pytest.raises(
        SpecError, match=r"MultiplierBootstrap\.weights='webb' is not supported"
    ):
        MultiplierBootstrap(weights="webb")
    with pytest.raises(
        TneEvalTypeError, match=r"MultiplierBootstrap\.seed must be None"
    ):
        MultiplierBootstrap(seed="1")
    with pytest.raises(
        SpecError, match=r"MultiplierBootstrap\.seed must be non-negative"
    ):
        MultiplierBootstrap(seed=-1)
    with pytest.raises(
        TneEvalTypeError, match=r"MultiplierBootstrap\.by must be a column name"
    ):
        MultiplierBootstrap(by=3)
    with pytest.raises(TneEvalTypeError, match=r"Cluster\.by must be a column name"):
        Cluster(by="")
    with pytest.raises(
        TneEvalTypeError, match=r"Cluster\.small_sample must be True or False"
    ):
        Cluster(small_sample="yes")
    assert "rademacher" in MultiplierBootstrap().describe()
    assert (
        Cluster(by="department").describe()
        == "cluster-robust by department, small-sample corrected"
    )
    assert IID().describe() == "independent units"


def test_influence_vcov_cluster_sums():
    rng = np.random.default_rng(0)
    psi = rng.normal(size=(12, 2))
    code = np.repeat(np.arange(4), 3)
    sums = np.vstack([psi[code == c].sum(axis=0) for c in range(4)])
    np.testing.assert_allclose(influence_vcov(psi, code, 4), sums.T @ sums / 144)
    np.testing.assert_allclose(
        influence_vcov(psi, code, 4, small_sample=True), sums.T @ sums / 144 * 4 / 3
    )
    np.testing.assert_allclose(
        influence_vcov(psi[:, 0]), [[psi[:, 0] @ psi[:, 0] / 144]]
    )


def test_wald_test_valid_and_degenerate():
    ok = wald_test(np.array([1.0, 2.0]), np.eye(2), null="zero", terms=("a", "b"))
    assert ok.valid and ok.statistic == pytest.approx(5.0) and ok.df == 2
    assert "W = 5.0000" in str(ok)
    singular = wald_test(np.array([1.0, 2.0]), np.ones((2, 2)), null="zero")
    assert not singular.valid and np.isnan(singular.p_value)
    assert "singular" in str(singular)
    empty = wald_test(np.array([]), np.zeros((0, 0)), null="zero")
    assert empty.reason == "there is nothing to test"
    nonfinite = wald_test(np.array([np.nan]), np.eye(1), null="zero")
    assert nonfinite.reason == "some estimates are not finite"
