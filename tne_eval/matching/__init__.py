"""Matched comparison: propensity scores, matching, weighting, balance and effects.

Public functions take a data frame with one row per unit and a
:class:`CrossSectionSpec`, with MatchIt's, WeightIt's and cobalt's vocabulary:

* :func:`propensity_score`: logit/probit score, common support, trimming;
* :func:`match`: nearest-neighbour (greedy), optimal pair, exact and coarsened
  exact matching (MatchIt's ``matchit()``);
* :func:`weightit`: IPW, entropy balancing, CBPS (WeightIt's ``weightit()``);
* :func:`balance`: balance before/after (MatchIt's ``summary()``, cobalt's
  ``bal.tab``);
* :func:`att`, :func:`aipw`: effects with Abadie-Imbens or influence-function
  (registry) inference; :func:`psmatch`: the propensity-score matching ATE or
  ATT with the Abadie-Imbens (2016) standard error (Stata's ``teffects
  psmatch``);
* :func:`matched_panel`: the matched units of a panel with their weights, for
  the difference-in-differences estimators; :func:`trajectories`: treated vs
  matched means by period; :func:`aggregate_units`: one row per department (or
  any group) from a panel, to match groups on aggregates.

The array-level numerics live in the private modules (``_propensity``,
``_nearest``, ``_exact``, ``_optimal``, ``_full``, ``_subclass``,
``_weighting``, ``_balance``, ``_effects``); their validation against MatchIt,
cobalt and causalinference is described in
``tests/reference/matchit/PROVENANCE.json`` and the documentation page on
matching.
"""

from __future__ import annotations

from tne_eval.matching.balance import balance
from tne_eval.matching.effects import aipw, att, psmatch
from tne_eval.matching.matched import match, matched_panel
from tne_eval.matching.panels import TrajectoryResult, aggregate_units, trajectories
from tne_eval.matching.propensity import propensity_score
from tne_eval.matching.results import (
    BalanceResult,
    MatchingEffectResult,
    MatchResult,
    PropensityResult,
    WeightingResult,
)
from tne_eval.matching.spec import CrossSectionSpec
from tne_eval.matching.weighting import weightit

__all__ = [
    "BalanceResult",
    "CrossSectionSpec",
    "MatchResult",
    "MatchingEffectResult",
    "PropensityResult",
    "TrajectoryResult",
    "WeightingResult",
    "aggregate_units",
    "aipw",
    "att",
    "balance",
    "match",
    "matched_panel",
    "propensity_score",
    "psmatch",
    "trajectories",
    "weightit",
]
