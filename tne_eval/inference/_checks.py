"""Shared thresholds and messages for few-cluster diagnostics."""

from __future__ import annotations

#: Below this many clusters, analytic cluster-robust inference is flagged.
MIN_CLUSTERS = 20
#: Below this many clusters containing treated units (per treated cohort for
#: group-time estimators), likewise.
MIN_TREATED_CLUSTERS = 10
#: Where users find the evidence behind the thresholds.
COVERAGE_DOC = "the coverage study in the documentation (explanation/coverage)"
