"""Matched comparison: propensity scores, matching, weighting, balance and effects.

This subpackage holds, for now, only the private array-in/array-out numerics:

* :mod:`._propensity`: logit/probit propensity scores (statsmodels GLM), common
  support as MatchIt's ``discard``, Crump et al. (2009) and fixed-bound trimming;
* :mod:`._nearest`: greedy nearest-neighbour matching on a scalar distance, on
  the Mahalanobis distance, or on the Mahalanobis distance within a score caliper
  (MatchIt's ``mahvars``), with MatchIt 4.x semantics (``ratio``, ``replace``,
  ``caliper``, ``exact``, ``m.order``), and MatchIt's matching weights;
* :mod:`._exact`: exact and coarsened exact matching (CEM);
* :mod:`._optimal`: optimal pair (k:1) matching by linear assignment;
* :mod:`._weighting`: IPW weights, entropy balancing, just-identified CBPS,
  Kish effective sizes;
* :mod:`._balance`: balance statistics with MatchIt's and cobalt's conventions;
* :mod:`._effects`: ATT after matching with Abadie-Imbens standard errors and
  bias correction, and the AIPW ATT with its influence function.

The public API (functions taking a data frame and a spec) and the result classes
come next; nothing is exported yet. The validation of each function against
MatchIt, cobalt and causalinference is described in
``tests/reference/matchit/PROVENANCE.json`` and the tests under
``tests/matching/``.
"""

from __future__ import annotations

__all__: list[str] = []
