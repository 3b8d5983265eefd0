"""Inference: choices (:mod:`.spec`), score stores (:mod:`.scores`), computations.

:mod:`.registry` maps each inference choice and kind of stored scores to its
computation (:mod:`.influence` for influence functions, :mod:`.sandwich` for
regressions, :mod:`.bootstrap` for the multiplier bootstrap); :mod:`.wald` holds
joint tests and :mod:`.few_clusters` the shared few-clusters diagnostics;
:mod:`.randomization` re-draws the assignment of treatment to departments;
:mod:`.family` adjusts p-values across outcomes (:mod:`.multiple_testing`).
"""

from tne_eval.inference.family import OutcomeFamily, adjust_pvalues, outcome_family
from tne_eval.inference.randomization import RandomizationResult, randomization_test
from tne_eval.inference.registry import resolve, supported
from tne_eval.inference.spec import (
    CR2,
    CR3,
    IID,
    Cluster,
    ConleyTaber,
    FermanPinto,
    MultiplierBootstrap,
    WildBootstrap,
)

__all__ = [
    "CR2",
    "CR3",
    "IID",
    "Cluster",
    "ConleyTaber",
    "FermanPinto",
    "MultiplierBootstrap",
    "OutcomeFamily",
    "RandomizationResult",
    "WildBootstrap",
    "adjust_pvalues",
    "outcome_family",
    "randomization_test",
    "resolve",
    "supported",
]
