"""Typed notes: every automatic adjustment of a result, as text with a kind.

A :class:`Note` *is* its text (a ``str``, so it prints, compares and joins like
one) and carries a :class:`NoteKind` saying what produced it. Code never filters
notes by their wording: :meth:`EstimationResult.with_inference
<tne_eval.results.base.EstimationResult.with_inference>` replaces exactly the
notes whose kind belongs to the inference (:data:`INFERENCE_KINDS`).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

__all__ = ["INFERENCE_KINDS", "Note", "NoteKind", "as_notes"]


class NoteKind(str, Enum):
    """What a note is about."""

    #: Rows or units dropped or recoded while preparing the data.
    DATA = "data"
    #: Choices and fallbacks of the estimator (cells skipped, trimming, covariates).
    ESTIMATION = "estimation"
    #: Diagnostics of the estimand (staggered adoption, negative weights).
    DIAGNOSTIC = "diagnostic"
    #: How the standard errors were computed (owned by the inference).
    INFERENCE = "inference"
    #: Warnings about the number of (treated) clusters (owned by the inference).
    FEW_CLUSTERS = "few_clusters"


#: Kinds that belong to the inference and are recomputed by ``with_inference``.
INFERENCE_KINDS = frozenset({NoteKind.INFERENCE, NoteKind.FEW_CLUSTERS})


class Note(str):
    """A note of a result: its text, with a :attr:`kind`.

    Examples
    --------
    >>> n = Note("Dropped 3 rows with missing values.", "data")
    >>> n.kind is NoteKind.DATA, n.startswith("Dropped")
    (True, True)
    """

    kind: NoteKind

    def __new__(cls, text: str, kind: NoteKind | str) -> Note:
        """Create the note ``text`` of ``kind``."""
        obj = super().__new__(cls, text)
        object.__setattr__(obj, "kind", NoteKind(kind))
        return obj

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Note is immutable")

    def __getnewargs__(self) -> tuple[str, str]:  # pickling
        return (str(self), self.kind.value)

    def __repr__(self) -> str:
        return f"Note({str(self)!r}, kind={self.kind.value!r})"


def as_notes(texts: Iterable[str], kind: NoteKind | str) -> tuple[Note, ...]:
    """Wrap texts as notes of one kind (notes keep their own kind)."""
    return tuple(t if isinstance(t, Note) else Note(t, kind) for t in texts)
