"""Tests of (pitch, step, duration) features: known answer, round trips, clipping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given

from musicalpy import midi
from musicalpy import representations as rep

from .helpers import PROPERTY, notes_in_seconds, same_notes, table_from_seconds


def test_pitch_step_duration_known_answer():
    notes = midi.as_note_table(pd.DataFrame({"pitch": [64, 60, 67], "start": [0.5, 0.25, 0.5], "end": [1.0, 0.5, 2.0]}))
    features = rep.encode_pitch_step_duration(notes)
    assert features.tolist() == [[60, 0.25, 0.25], [64, 0.25, 0.5], [67, 0.0, 1.5]]
    frame = rep.encode_pitch_step_duration(notes, as_frame=True)
    assert list(frame.columns) == ["pitch", "step", "duration"] and frame["pitch"].dtype == np.int64
    assert same_notes(rep.decode_pitch_step_duration(frame), notes, ["pitch", "start", "end"])


@PROPERTY
@given(notes_in_seconds)
def test_pitch_step_duration_round_trips_to_float_precision(items):
    notes = table_from_seconds(items)
    features = rep.encode_pitch_step_duration(notes)
    back = rep.decode_pitch_step_duration(features)
    assert same_notes(back, notes, ["pitch", "start", "end"], atol=1e-9)
    assert np.allclose(rep.encode_pitch_step_duration(back), features, atol=1e-9)


def test_pitch_step_duration_edges_and_errors(chorale):
    assert rep.encode_pitch_step_duration(chorale).shape == (163, 3)
    assert rep.encode_pitch_step_duration(midi.empty_notes()).shape == (0, 3)
    assert rep.decode_pitch_step_duration(np.zeros((0, 3))).empty
    # Model predictions may stray: negative steps/durations clip to 0, pitches to 0-127.
    back = rep.decode_pitch_step_duration([[130.4, -1.0, 0.5], [59.6, 0.5, -0.2]])
    assert back[["pitch", "start", "end"]].to_numpy().tolist() == [[127, 0.0, 0.5], [60, 0.5, 0.5]]
    with pytest.raises(ValueError, match=r"\(n_notes, 3\)"):
        rep.decode_pitch_step_duration(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="column"):
        rep.decode_pitch_step_duration(pd.DataFrame({"pitch": [60], "step": [0.0]}))
