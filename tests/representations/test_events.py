"""Tests of performance events: known answers, quantization, round trips, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from musicalpy import midi
from musicalpy import representations as rep

from .helpers import PROPERTY, notes_in_seconds, same_notes, table_from_seconds


def test_events_known_answer_with_long_gap():
    notes = midi.as_note_table(pd.DataFrame({"pitch": [60], "start": [0.5], "end": [1.75], "velocity": [100]}))
    tokens = rep.encode_events(notes)
    # 0.5 s shift; velocity bin of 100 = (99 * 32) // 127 = 24; 1.25 s = 1 s + 0.25 s.
    assert tokens.tolist() == [256 + 49, 356 + 24, 60, 256 + 99, 256 + 24, 128 + 60]
    assert rep.describe_events(tokens)[:3] == ["TIME_SHIFT(0.50s)", "VELOCITY(98)", "NOTE_ON(60)"]
    back = rep.decode_events(tokens)
    assert back[["pitch", "start", "end", "velocity"]].iloc[0].tolist() == [60, 0.5, 1.75, 98]


def test_events_repeated_pitch_off_before_on():
    notes = midi.as_note_table(pd.DataFrame({"pitch": [60, 60], "start": [0.0, 0.5], "end": [0.5, 1.0]}))
    tokens = rep.encode_events(notes)
    assert tokens.tolist() == [356 + 19, 60, 256 + 49, 128 + 60, 60, 256 + 49, 128 + 60]
    assert same_notes(rep.decode_events(tokens), notes, ["pitch", "start", "end"])


def test_events_round_trip_chorale_merges_parts(chorale):
    tokens = rep.encode_events(chorale)
    assert tokens.max() < rep.N_EVENT_TOKENS == 388
    back = rep.decode_events(tokens)
    assert set(back["part"]) == {"0"}
    # The chorale is at 96 quarter notes per minute: an eighth lasts 312.5 ms, so
    # times come back to the nearest 10 ms.
    assert same_notes(back, chorale, ["pitch", "start", "end"], atol=0.005 + 1e-9)
    assert not same_notes(back, chorale, ["pitch", "start", "end"], atol=1e-3)


def test_events_quantize_times_and_velocities():
    notes = midi.as_note_table(pd.DataFrame({"pitch": [50, 70], "start": [0.0123, 0.5], "end": [0.0161, 2.3349], "velocity": [1, 127]}))
    back = rep.decode_events(rep.encode_events(notes))
    # 12.3 ms -> 10 ms; a note shorter than a step keeps 10 ms; 2.3349 s -> 2.33 s.
    assert back[["start", "end"]].to_numpy().tolist() == [[0.01, 0.02], [0.5, 2.33]]
    assert back["velocity"].tolist() == [2, 126]  # median of the bins 1-4 and 125-127


@PROPERTY
@given(notes_in_seconds)
def test_events_decoded_tokens_reencode_to_themselves(items):
    tokens = rep.encode_events(table_from_seconds(items))
    assert rep.encode_events(rep.decode_events(tokens)).tolist() == tokens.tolist()


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, 127), st.integers(0, 400), st.integers(1, 150), st.integers(0, 31)), max_size=20))
def test_events_on_grid_round_trip_exactly(items):
    # Notes on the 10 ms grid with bin-value velocities and no same-pitch overlap.
    values = _bin_values()
    rows, busy = [], {}
    for pitch, start, length, vbin in items:
        if start < busy.get(pitch, -1):
            continue
        busy[pitch] = start + length
        rows.append((pitch, start / 100, (start + length) / 100, values[vbin]))
    frame = pd.DataFrame(rows, columns=["pitch", "start", "end", "velocity"])
    notes = midi.as_note_table(frame) if rows else midi.empty_notes()
    back = rep.decode_events(rep.encode_events(notes))
    assert same_notes(back, notes, ["pitch", "start", "end", "velocity"], atol=1e-9)


def _bin_values():
    """The velocity each of the 32 bins decodes to."""
    tokens = []
    for b in range(32):
        tokens += [356 + b, 60, 256, 188]
    return rep.decode_events(tokens)["velocity"].tolist()


def test_event_velocity_bins_are_increasing_and_idempotent():
    values = _bin_values()
    assert len(values) == 32 and values == sorted(values) and values[0] >= 1 and values[-1] <= 127
    notes = midi.as_note_table(pd.DataFrame({"pitch": [60] * 32, "start": np.arange(32.0), "end": np.arange(32.0) + 0.5, "velocity": values}))
    assert rep.decode_events(rep.encode_events(notes))["velocity"].tolist() == values


def test_events_edge_cases_and_errors():
    assert rep.encode_events(midi.empty_notes()).tolist() == []
    assert rep.decode_events([]).empty
    # A NOTE_OFF with nothing open is ignored; a note left open lasts to the end.
    back = rep.decode_events([128 + 61, 62, 256 + 9])
    assert back[["pitch", "start", "end"]].to_numpy().tolist() == [[62, 0.0, 0.1]]
    with pytest.raises(ValueError, match="0..387"):
        rep.decode_events([388])
    with pytest.raises(ValueError, match="integers"):
        rep.decode_events([1.5])
    vocab = rep.event_vocabulary()
    assert len(vocab) == 388 + 4 and vocab.id_of(0) == 4 and vocab.id_of(387) == 391
