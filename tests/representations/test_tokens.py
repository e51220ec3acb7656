"""Tests of token ids <-> note tables: token_sequences, decode_token_ids,
feature_sequences and the id transposition table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicalpy import midi
from musicalpy import representations as rep
from musicalpy.representations import Vocabulary


def test_transposition_table_known_answers():
    vocabulary = Vocabulary([("C4", 1.0), ("D4", 1.0), ("C4.E4", 0.5), ("D4.F#4", 0.5), ("rest", 1.0), ("G9", 1.0)])
    table = rep.transposition_table(vocabulary, "note_strings", 2)
    up_two = table[2 + 2]
    assert up_two[vocabulary.id_of(("C4", 1.0))] == vocabulary.id_of(("D4", 1.0))
    assert up_two[vocabulary.id_of(("C4.E4", 0.5))] == vocabulary.id_of(("D4.F#4", 0.5))
    assert up_two[vocabulary.id_of(("D4", 1.0))] == -1  # E4 is not in the vocabulary
    assert up_two[vocabulary.id_of(("G9", 1.0))] == -1  # A9 is above MIDI 127
    assert (table[:, vocabulary.id_of(("rest", 1.0))] == vocabulary.id_of(("rest", 1.0))).all()
    np.testing.assert_array_equal(table[2], np.arange(len(vocabulary)))
    np.testing.assert_array_equal(table[:, : vocabulary.n_reserved], np.tile(np.arange(vocabulary.n_reserved), (5, 1)))
    event_vocab = Vocabulary(list(range(388)), start_end=False, unk=False)
    events = rep.transposition_table(event_vocab, "events", 1)
    ident = event_vocab.id_of
    assert events[2, ident(60)] == ident(61)  # note-on 60 -> 61
    assert events[0, ident(128 + 60)] == ident(128 + 59)  # note-off 60 -> 59
    assert events[2, ident(127)] == -1  # note-on 127 cannot go up
    assert events[0, ident(300)] == ident(300)  # a time shift does not move


def test_transposition_table_of_pitch_hold_and_quantized_tokens():
    hold = rep.pitch_hold_vocabulary()
    table = rep.transposition_table(hold, "pitch_hold", 3)
    assert table[3 + 3, hold.id_of(60)] == hold.id_of(63)
    assert table[0, hold.id_of(1)] == -1  # pitch 1 - 3 < 0
    assert (table[:, hold.id_of(rep.HOLD)] == hold.id_of(rep.HOLD)).all()
    quantized = Vocabulary([(60, 3, 2), (62, 3, 2), (rep.REST_PITCH, 1, 0)])
    moved = rep.transposition_table(quantized, "quantized_tokens", 2)
    assert moved[2 + 2, quantized.id_of((60, 3, 2))] == quantized.id_of((62, 3, 2))
    assert moved[2 + 1, quantized.id_of((60, 3, 2))] == -1  # (61, 3, 2) is not in the vocabulary
    assert (moved[:, quantized.id_of((rep.REST_PITCH, 1, 0))] == quantized.id_of((rep.REST_PITCH, 1, 0))).all()
    with pytest.raises(ValueError, match="max_shift"):
        rep.transposition_table(hold, "pitch_hold", -1)


def test_token_sequences_round_trip(two_part_notes):
    sequences, vocabulary = rep.token_sequences(two_part_notes, "note_strings")
    assert set(sequences) == {("two_parts", "Melody"), ("two_parts", "Bass")}
    melody = sequences[("two_parts", "Melody")]
    assert melody[0] == vocabulary.start_id and melody[-1] == vocabulary.end_id
    decoded = rep.decode_token_ids(melody, vocabulary, "note_strings")
    expected = two_part_notes[two_part_notes["part"] == "Melody"].sort_values(["start", "pitch"])
    np.testing.assert_array_equal(decoded["pitch"], expected["pitch"])
    np.testing.assert_allclose(decoded["start_beat"], expected["start_beat"])
    np.testing.assert_allclose(decoded["end_beat"], expected["end_beat"])
    events, event_vocab = rep.token_sequences(two_part_notes, "events")
    assert len(event_vocab) == 388 + 4
    again = rep.decode_token_ids(events["two_parts"], event_vocab, "events")
    assert sorted(again["pitch"]) == sorted(two_part_notes["pitch"])


def test_pitch_hold_ids_round_trip_per_part(two_part_notes):
    sequences, vocabulary = rep.token_sequences(two_part_notes, "pitch_hold")
    assert vocabulary == rep.pitch_hold_vocabulary()
    bass = sequences[("two_parts", "Bass")]
    assert bass.dtype == np.int32 and len(bass) == 2 + 4 * 4  # START, 4 beats of sixteenths, END
    back = rep.decode_token_ids(bass, vocabulary, "pitch_hold", part="Bass")
    assert back[["pitch", "start_beat", "end_beat"]].to_numpy().tolist() == [[48, 0, 2], [43, 2, 4]]


def test_note_string_ids_without_durations_use_the_default_step():
    vocabulary = Vocabulary(["C4", "E4.G4", "rest"])
    ids = vocabulary.encode(["C4", "rest", "E4.G4"], add_start_end=True)
    back = rep.decode_token_ids(ids, vocabulary, "note_strings", default_duration=0.5)
    assert back[["pitch", "start_beat", "end_beat"]].to_numpy().tolist() == [[60, 0, 0.5], [64, 1, 1.5], [67, 1, 1.5]]


def test_feature_sequences_are_float32_per_piece(two_part_notes):
    other = two_part_notes.assign(piece="other", pitch=two_part_notes["pitch"] - 12)
    features = rep.feature_sequences(pd.concat([two_part_notes, other], ignore_index=True))
    assert list(features) == ["two_parts", "other"]
    assert features["two_parts"].dtype == np.float32 and features["two_parts"].shape == (6, 3)
    # Sorted by start then pitch: the bass 48 and the melody 72 start together at 0 s.
    assert features["two_parts"][:2, 0].tolist() == [48, 72] and features["two_parts"][1, 1] == 0
    np.testing.assert_array_equal(features["other"][:, 0], features["two_parts"][:, 0] - 12)


def test_token_functions_reject_encodings_without_ids():
    notes = midi.as_note_table(pd.DataFrame({"pitch": [60], "start": [0.0], "end": [1.0]}))
    with pytest.raises(ValueError, match="encoding"):
        rep.token_sequences(notes, "piano_roll")
    with pytest.raises(ValueError, match="add_start_end"):
        rep.token_sequences(notes, "events", vocabulary=Vocabulary(range(388), start_end=False))
