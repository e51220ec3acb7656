"""Tests of note / chord strings and pitch names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from musicalpy import midi
from musicalpy import representations as rep

from .helpers import PROPERTY, notes_table, same_notes


def test_pitch_names_match_music21_and_invert():
    from music21 import pitch

    for p in range(12, 128):
        assert rep.pitch_to_name(p) == pitch.Pitch(midi=p).nameWithOctave
    assert [rep.name_to_pitch(rep.pitch_to_name(p)) for p in range(128)] == list(range(128))
    assert rep.pitch_to_name(0) == "Cm1" and rep.pitch_to_name(11) == "Bm1" and rep.pitch_to_name(34) == "B-1"
    assert [rep.name_to_pitch(n) for n in ["E--4", "C##4", "B#3", "C-4", "d4", "D-4"]] == [62, 62, 60, 59, 62, 61]
    for bad in ["H4", "C", "C4.E4", "", "G10"]:
        with pytest.raises(ValueError):
            rep.name_to_pitch(bad)
    with pytest.raises(ValueError, match="pitch"):
        rep.pitch_to_name(128)


def test_note_strings_known_answer_chords_and_rests():
    notes = notes_table([(67, 1, 2), (60, 1, 2), (64, 1, 2), (62, 2, 2.5), (61, 3, 4)])
    encoded = rep.encode_note_strings(notes)
    assert encoded["token"].tolist() == ["rest", "C4.E4.G4", "D4", "rest", "C#4"]
    assert encoded["duration"].tolist() == [1.0, 1.0, 0.5, 0.5, 1.0]
    back = rep.decode_note_strings(encoded)
    assert same_notes(back, notes, ["pitch", "start_beat", "end_beat"])
    # Without durations, every token lasts the default step.
    fixed = rep.decode_note_strings(["C4", "rest", "E4.G4"], default_duration=0.5)
    assert fixed[["pitch", "start_beat", "end_beat"]].to_numpy().tolist() == [[60, 0, 0.5], [64, 1, 1.5], [67, 1, 1.5]]


def test_note_strings_chorale(chorale):
    for part in ["Soprano", "Alto", "Tenor", "Bass"]:
        encoded = rep.encode_note_strings(chorale, part=part)
        back = rep.decode_note_strings(encoded)
        assert same_notes(back, chorale[chorale["part"] == part], ["pitch", "start_beat", "end_beat"]), part
    merged = rep.encode_note_strings(chorale, merge_parts=True)
    assert merged["token"].iloc[0] == "A3.E4.C#5"  # the pickup: unison A3... of tenor and bass
    assert merged["duration"].sum() == chorale["end_beat"].max()
    # A merged encoding cuts sustained notes at the next onset, but keeps every onset.
    back = rep.decode_note_strings(merged)
    onsets = set(chorale["start_beat"])
    assert set(back["start_beat"]) == onsets


def test_note_strings_grid_snapping_and_errors():
    notes = notes_table([(60, 0.02, 0.98), (64, 1.01, 2.0)])
    snapped = rep.encode_note_strings(notes, steps_per_quarter=4)
    assert snapped["token"].tolist() == ["C4", "E4"] and snapped["duration"].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="not a pitch name"):
        rep.decode_note_strings(["C4", "<unk>"])
    with pytest.raises(ValueError, match="durations"):
        rep.decode_note_strings(["C4"], [0.0])
    with pytest.raises(ValueError, match="2 tokens but 1"):
        rep.decode_note_strings(["C4", "D4"], [1.0])
    with pytest.raises(ValueError, match="not both"):
        rep.encode_note_strings(notes, part="0", merge_parts=True)
    assert rep.encode_note_strings(midi.empty_notes()).empty
    zero_length = rep.encode_note_strings(notes_table([(60, 0, 0), (62, 0, 1)]))
    assert zero_length["token"].tolist() == ["D4"] and zero_length["duration"].tolist() == [1.0]


token_strings = st.lists(
    st.tuples(st.sets(st.integers(0, 127), min_size=0, max_size=4), st.integers(1, 16)), max_size=20
)


@PROPERTY
@given(token_strings)
def test_note_strings_decoded_tokens_reencode_to_themselves(items):
    tokens, durations = [], []
    for pitches, quarters in items:
        if not pitches and tokens and tokens[-1] == "rest":
            continue  # two rests in a row re-encode as one
        tokens.append(".".join(rep.pitch_to_name(p) for p in sorted(pitches)) if pitches else "rest")
        durations.append(quarters / 4)
    while tokens and tokens[-1] == "rest":  # trailing silence is not a note
        tokens.pop()
        durations.pop()
    again = rep.encode_note_strings(rep.decode_note_strings(tokens, durations))
    assert again["token"].tolist() == tokens
    assert again["duration"].tolist() == durations
