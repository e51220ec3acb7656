"""Tests of note rows: round trips in seconds and beats, errors."""

from __future__ import annotations

import numpy as np
import pytest

from musicalpy import midi
from musicalpy import representations as rep

from .helpers import same_notes


def test_note_rows_round_trip(chorale):
    rows = rep.encode_note_rows(chorale)
    assert rows.shape == (163, 4)
    assert (np.diff(rows[:, 0]) >= 0).all()
    back = rep.decode_note_rows(rows)
    assert same_notes(back, chorale, ["pitch", "start", "end", "velocity"])
    in_beats = rep.encode_note_rows(chorale, unit="beats")
    assert in_beats[-1, 0] + in_beats[-1, 2] == chorale["end_beat"].max()
    back = rep.decode_note_rows(in_beats, unit="beats", tempo=96)  # the chorale's tempo
    assert same_notes(back, chorale, ["pitch", "start_beat", "end_beat", "start", "end"])


def test_note_rows_edges_and_errors():
    assert rep.encode_note_rows(midi.empty_notes()).shape == (0, 4)
    assert rep.decode_note_rows(np.zeros((0, 4))).empty
    with pytest.raises(ValueError, match=r"\(n_notes, 4\)"):
        rep.decode_note_rows(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="unit"):
        rep.encode_note_rows(midi.empty_notes(), unit="ticks")
    with pytest.raises(ValueError, match="negative durations"):
        rep.decode_note_rows([[0, 60, -1, 80]])
