"""Tests of note classes: class assignment, the exact round trip, errors."""

from __future__ import annotations

import numpy as np
import pytest

from musicalpy import midi
from musicalpy import representations as rep

from .helpers import notes_table, same_notes


def test_note_classes_of_a_small_texture():
    # a C major chord on beat 0 (half notes), then D for a dotted quarter from beat 2
    notes = notes_table([(48, 0, 2), (64, 0, 2), (60, 0, 2), (62, 2, 3.5, 90)])
    classes = rep.encode_note_classes(notes)
    gaps, durations = list(rep.DEFAULT_GAP_CLASSES), list(rep.DEFAULT_NOTE_DURATION_CLASSES)
    assert classes.dtype == np.int64
    # sorted by onset then pitch; the chord's later notes have gap 0, D comes 2 beats after
    assert classes.tolist() == [
        [gaps.index(0.0), 48, durations.index(2.0), 80],
        [gaps.index(0.0), 60, durations.index(2.0), 80],
        [gaps.index(0.0), 64, durations.index(2.0), 80],
        [gaps.index(2.0), 62, durations.index(1.5), 90],
    ]


def test_note_classes_round_trip_is_exact_on_the_grid(chorale):
    classes = rep.encode_note_classes(chorale)
    assert classes.shape == (len(chorale), 4)
    back = rep.decode_note_classes(classes, piece="bwv66.6")
    # bwv66.6 uses only class gaps and durations, so beats and pitches come back exactly
    assert same_notes(back, chorale, ["pitch", "start_beat", "end_beat"], atol=0)
    assert rep.encode_pieces(chorale, "note_classes")["bwv66.6"].tolist() == classes.tolist()


def test_note_classes_snap_to_the_nearest_class_and_carry_onset_errors():
    notes = notes_table([(60, 0.1, 1.2), (62, 1.1, 1.9)])  # gaps 0.1 -> 0, 1.0; durations 1.1 -> 1, 0.8 -> 0.75
    classes = rep.note_rows_to_classes(rep.encode_note_rows(notes, unit="beats"), gap_classes=(0.0, 1.0),
                                       duration_classes=(0.75, 1.0))
    assert classes[:, [0, 2]].tolist() == [[0, 1], [1, 0]]
    back = rep.decode_note_classes(classes, gap_classes=(0.0, 1.0), duration_classes=(0.75, 1.0))
    assert back["start_beat"].tolist() == [0.0, 1.0] and back["end_beat"].tolist() == [1.0, 1.75]
    # halfway between two classes goes to the smaller one
    tie = rep.note_rows_to_classes(np.array([[0.0, 60, 0.5, 80]]), gap_classes=(0.0,), duration_classes=(0.25, 0.75))
    assert tie[0, 2] == 0


def test_note_classes_errors_and_edges():
    assert rep.encode_note_classes(midi.empty_notes(with_beats=True)).shape == (0, 4)
    assert rep.decode_note_classes(np.zeros((0, 4))).empty
    with pytest.raises(ValueError, match="gap_classes must be strictly increasing"):
        rep.note_rows_to_classes(np.zeros((1, 4)), gap_classes=(0.5, 0.25))
    with pytest.raises(ValueError, match="duration_classes must be a non-empty list"):
        rep.decode_note_classes(np.zeros((1, 4)), duration_classes=(0.0, 1.0))
    with pytest.raises(ValueError, match="sorted by time"):
        rep.note_rows_to_classes(np.array([[1.0, 60, 1, 80], [0.0, 62, 1, 80]]))
    with pytest.raises(ValueError, match="note 0 has duration class 99"):
        rep.decode_note_classes(np.array([[0, 60, 99, 80]]))
    with pytest.raises(ValueError, match=r"\(n_notes, 4\)"):
        rep.decode_note_classes(np.zeros((2, 3)))
