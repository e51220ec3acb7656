"""Tests of quantized (pitch, duration class, velocity class) tokens."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from musicalpy import midi
from musicalpy import representations as rep

from .helpers import PROPERTY, notes_table, same_notes


def test_quantized_tokens_known_answer():
    notes = notes_table([(60, 1.5, 2.5, 100), (62, 2.5, 2.75, 20), (64, 8, 16, 127)])
    tokens = rep.encode_quantized_tokens(notes)
    R = rep.REST_PITCH
    # Rest 1.5 = 1 + 0.5; velocity 100 -> class (99 * 6) // 127 = 4; gap 5.25 = 4 + 1 + 0.25.
    assert tokens == [(R, 3, 0), (R, 1, 0), (60, 3, 4), (62, 0, 0), (R, 5, 0), (R, 3, 0), (R, 0, 0), (64, 6, 5)]
    back = rep.decode_quantized_tokens(tokens)
    assert same_notes(back, notes, ["pitch", "start_beat", "end_beat"])
    assert rep.encode_quantized_tokens(back) == tokens


def test_quantized_tokens_nearest_class_and_highest_note():
    # Overlapping notes keep the highest; the lower one sounds again where it shows.
    # 1.4 beats -> class 1 beat; the next onset (1.4) is kept as well as the grid allows
    # (a 0.5 rest), so errors do not pile up; 48 then lasts 0.6 -> 0.5.
    notes = notes_table([(60, 0, 1.4), (48, 0, 3), (72, 2, 2.5)])
    tokens = rep.encode_quantized_tokens(notes)
    R = rep.REST_PITCH
    assert [(t[0], t[1]) for t in tokens] == [(60, 3), (R, 1), (48, 1), (72, 1), (48, 1)]
    back = rep.decode_quantized_tokens(tokens)
    assert back[["pitch", "start_beat", "end_beat"]].to_numpy().tolist() == [[60, 0, 1], [48, 1.5, 2], [72, 2, 2.5], [48, 2.5, 3]]


def test_quantized_tokens_chorale_round_trips(chorale):
    for part in ["Soprano", "Alto", "Tenor", "Bass"]:
        tokens = rep.encode_quantized_tokens(chorale, part=part)
        back = rep.decode_quantized_tokens(tokens)
        assert same_notes(back, chorale[chorale["part"] == part], ["pitch", "start_beat", "end_beat"]), part


@PROPERTY
@given(st.lists(st.tuples(st.sampled_from([0, 0.25, 0.5, 0.75, 1, 2, 4]), st.integers(0, 8), st.integers(0, 127), st.integers(0, 5)), max_size=20))
def test_quantized_tokens_round_trip_for_class_durations(items):
    classes = rep.DEFAULT_DURATION_CLASSES
    representative = rep.decode_quantized_tokens([(60, 0, c) for c in range(6)])["velocity"].tolist()
    rows, cursor = [], 0.0
    for gap, duration_class, pitch, velocity_class in items:
        start = cursor + gap
        cursor = start + classes[duration_class]
        rows.append((pitch, start, cursor, representative[velocity_class]))
    notes = notes_table(rows) if rows else midi.empty_notes(with_beats=True)
    tokens = rep.encode_quantized_tokens(notes)
    back = rep.decode_quantized_tokens(tokens)
    assert same_notes(back, notes, ["pitch", "start_beat", "end_beat", "velocity"])
    assert rep.encode_quantized_tokens(back) == tokens


def test_quantized_tokens_vocabulary_json(tmp_path, chorale):
    sequences = rep.encode_pieces(chorale, "quantized_tokens")
    vocab = rep.Vocabulary.from_sequences(sequences)
    path = vocab.save(tmp_path / "quantized.json")
    loaded = rep.Vocabulary.load(path)
    assert loaded == vocab and isinstance(loaded.tokens[0], tuple)
    ids = loaded.encode(sequences[("bwv66.6", "Bass")], add_start_end=True)
    assert loaded.decode(ids) == sequences[("bwv66.6", "Bass")]


def test_quantized_tokens_errors():
    notes = notes_table([(60, 0, 1)])
    with pytest.raises(ValueError, match="increasing"):
        rep.encode_quantized_tokens(notes, duration_classes=[1, 0.5])
    with pytest.raises(ValueError, match="positive"):
        rep.encode_quantized_tokens(notes, duration_classes=[0, 1])
    with pytest.raises(ValueError, match="n_velocity_classes"):
        rep.encode_quantized_tokens(notes, n_velocity_classes=0)
    with pytest.raises(ValueError, match="duration class 0-8"):
        rep.decode_quantized_tokens([(60, 9, 0)])
    with pytest.raises(ValueError, match="triples"):
        rep.decode_quantized_tokens([(60, 1)])
    assert rep.encode_quantized_tokens(midi.empty_notes()) == []
    assert rep.decode_quantized_tokens([]).empty


def test_quantized_tokens_beats_counts_notes_and_rests():
    classes = (0.25, 0.5, 1.0, 1.5)
    tokens = [(60, 2, 0), (rep.REST_PITCH, 0, 0), (62, 3, 0)]  # a quarter, a sixteenth rest, a dotted quarter
    assert rep.quantized_tokens_beats(tokens, classes) == 2.75
    decoded = rep.decode_quantized_tokens(tokens, duration_classes=classes)
    assert decoded["end_beat"].max() == rep.quantized_tokens_beats(tokens, classes)
    assert rep.quantized_tokens_beats([], classes) == 0.0
    with pytest.raises(ValueError, match="duration classes outside 0-3"):
        rep.quantized_tokens_beats([(60, 4, 0)], classes)
