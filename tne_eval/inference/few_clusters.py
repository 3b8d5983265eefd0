"""Few-(treated-)clusters diagnostics shared by every estimator and inference."""

from __future__ import annotations

from tne_eval.notes import Note, NoteKind

__all__ = ["COVERAGE_DOC", "MIN_CLUSTERS", "MIN_TREATED_CLUSTERS", "few_clusters_note"]

#: Below this many clusters, analytic cluster-robust inference is flagged.
MIN_CLUSTERS = 20
#: Below this many clusters containing units of a treated cohort, likewise.
MIN_TREATED_CLUSTERS = 10
#: Where users find the evidence behind the thresholds.
COVERAGE_DOC = "the coverage study in the documentation (explanation/coverage)"


def few_clusters_note(
    column: str, n_clusters: int, treated_by_cohort: dict[float, int]
) -> Note | None:
    """Note the clusters behind each treated cohort when they are few.

    Returns ``None`` when there are at least :data:`MIN_CLUSTERS` clusters and
    every treated cohort spans at least :data:`MIN_TREATED_CLUSTERS` of them.
    """
    if not treated_by_cohort:
        return None
    fewest = min(treated_by_cohort.values())
    if n_clusters >= MIN_CLUSTERS and fewest >= MIN_TREATED_CLUSTERS:
        return None
    spans = ", ".join(
        f"cohort {g:g}: {n}" for g, n in sorted(treated_by_cohort.items())
    )
    return Note(
        f"Few treated clusters ({column!r}; {spans}; {n_clusters} clusters in all). "
        f"Cluster-robust standard errors of estimates resting on cohorts with fewer "
        f"than {MIN_TREATED_CLUSTERS} clusters (or with fewer than {MIN_CLUSTERS} "
        "clusters in all) can be far too small, and pre-trend tests over-reject; "
        f"see {COVERAGE_DOC}.",
        NoteKind.FEW_CLUSTERS,
    )
