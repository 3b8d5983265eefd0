"""Typed notes: text with a kind, immutable, picklable."""

from __future__ import annotations

import copy
import pickle

import pytest

from tne_eval.notes import INFERENCE_KINDS, Note, NoteKind, as_notes


def test_a_note_is_its_text_with_a_kind():
    n = Note("Dropped 2 rows.", "data")
    assert n == "Dropped 2 rows." and n.kind is NoteKind.DATA
    assert f"[1] {n}" == "[1] Dropped 2 rows."
    assert repr(n) == "Note('Dropped 2 rows.', kind='data')"


def test_notes_are_immutable_and_survive_pickling_and_copies():
    n = Note("x", NoteKind.INFERENCE)
    with pytest.raises(AttributeError):
        n.kind = NoteKind.DATA
    for other in (pickle.loads(pickle.dumps(n)), copy.deepcopy(n)):
        assert other == n and other.kind is NoteKind.INFERENCE


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="'gossip' is not a valid NoteKind"):
        Note("x", "gossip")


def test_as_notes_keeps_existing_kinds():
    out = as_notes(["a", Note("b", "inference")], "data")
    assert [n.kind for n in out] == [NoteKind.DATA, NoteKind.INFERENCE]
    assert {NoteKind.INFERENCE, NoteKind.FEW_CLUSTERS} == INFERENCE_KINDS
