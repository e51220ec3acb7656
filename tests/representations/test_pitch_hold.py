"""Tests of pitch / hold / rest: known answers, exact round trips, errors, vocabulary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from musicalpy import midi
from musicalpy import representations as rep

from .helpers import PROPERTY, notes_table, same_notes

# --------------------------------------------------------------------- strategies

# Monophonic lines on the sixteenth grid: (gap before, length) in sixteenths.
line_steps = st.lists(st.tuples(st.integers(0, 6), st.integers(1, 12), st.integers(0, 127)), max_size=25)


def line_from_steps(items, steps_per_quarter=4):
    rows, cursor = [], 0
    for gap, length, pitch in items:
        start = cursor + gap
        rows.append((pitch, start / steps_per_quarter, (start + length) / steps_per_quarter))
        cursor = start + length
    return notes_table(rows)


def test_pitch_hold_known_answer():
    notes = notes_table([(60, 0, 1), (64, 2, 2.5)])
    tokens = rep.encode_pitch_hold(notes)
    H, R = rep.HOLD, rep.REST
    assert tokens.tolist() == [60, H, H, H, R, R, R, R, 64, H]


def test_pitch_hold_rest_at_start_and_tempo():
    notes = notes_table([(62, 1, 1.5)])
    tokens = rep.encode_pitch_hold(notes, steps_per_quarter=2)
    assert tokens.tolist() == [rep.REST, rep.REST, 62]
    back = rep.decode_pitch_hold(tokens, steps_per_quarter=2, tempo=60)
    assert back[["start_beat", "end_beat", "start", "end"]].iloc[0].tolist() == [1.0, 1.5, 1.0, 1.5]


def test_pitch_hold_overlap_keeps_highest_and_restrikes_lower():
    notes = notes_table([(60, 0, 2), (67, 0.5, 1)])
    tokens = rep.encode_pitch_hold(notes, steps_per_quarter=2)
    assert tokens.tolist() == [60, 67, 60, rep.HOLD]


def test_pitch_hold_without_beats_reads_seconds_at_tempo():
    notes = notes_table([(60, 1, 2)], beats=False)  # 0.5 s to 1 s
    R, H = rep.REST, rep.HOLD
    assert rep.encode_pitch_hold(notes, steps_per_quarter=2).tolist() == [R, R, 60, H]
    assert rep.encode_pitch_hold(notes, steps_per_quarter=2, tempo=60).tolist() == [R, 60]
    assert rep.encode_pitch_hold(notes, steps_per_quarter=2, tempo=240).tolist() == [R, R, R, R, 60, H, H, H]


def test_pitch_hold_n_steps_pads_and_cuts():
    notes = notes_table([(60, 0, 1)])
    assert rep.encode_pitch_hold(notes, n_steps=6).tolist() == [60, rep.HOLD, rep.HOLD, rep.HOLD, rep.REST, rep.REST]
    assert rep.encode_pitch_hold(notes, n_steps=2).tolist() == [60, rep.HOLD]


def test_pitch_hold_hold_without_note_is_rest():
    back = rep.decode_pitch_hold([rep.HOLD, 60, rep.HOLD, rep.REST, rep.HOLD, 62])
    assert back[["pitch", "start_beat", "end_beat"]].to_numpy().tolist() == [[60, 0.25, 0.75], [62, 1.25, 1.5]]


def test_pitch_hold_empty_and_one_note():
    assert rep.encode_pitch_hold(midi.empty_notes(with_beats=True)).tolist() == []
    assert rep.decode_pitch_hold([]).empty
    one = notes_table([(72, 0.75, 1.25)])
    assert same_notes(rep.decode_pitch_hold(rep.encode_pitch_hold(one)), one, ["pitch", "start_beat", "end_beat"])


def test_pitch_hold_chorale_round_trips_exactly(chorale):
    assert len(chorale) == 163
    assert chorale.groupby("part").size().to_dict() == {"Soprano": 36, "Alto": 42, "Tenor": 44, "Bass": 41}
    for part in ["Soprano", "Alto", "Tenor", "Bass"]:
        original = chorale[chorale["part"] == part]
        tokens = rep.encode_pitch_hold(chorale, part=part, steps_per_quarter=4)
        assert len(tokens) == 4 * original["end_beat"].max()
        back = rep.decode_pitch_hold(tokens, steps_per_quarter=4, part=part)
        assert same_notes(back, original, ["pitch", "start_beat", "end_beat"]), part
    soprano = rep.encode_pitch_hold(chorale, part="Soprano")
    assert soprano[:5].tolist() == [73, rep.HOLD, 71, rep.HOLD, 69]  # C#5 B4 A4 pickup


@PROPERTY
@given(line_steps)
def test_pitch_hold_line_on_grid_round_trips(items):
    notes = line_from_steps(items)
    back = rep.decode_pitch_hold(rep.encode_pitch_hold(notes))
    assert same_notes(back, notes, ["pitch", "start_beat", "end_beat"])


@PROPERTY
@given(st.lists(st.one_of(st.integers(0, 127), st.just(rep.HOLD), st.just(rep.REST)), max_size=60))
def test_pitch_hold_decoded_tokens_reencode_to_themselves(tokens):
    # Canonical form: a HOLD needs a note before it (else it reads as a rest).
    canonical, alive = [], False
    for token in tokens:
        if token == rep.HOLD and not alive:
            token = rep.REST
        alive = token != rep.REST
        canonical.append(token)
    notes = rep.decode_pitch_hold(tokens)
    again = rep.encode_pitch_hold(notes, n_steps=len(tokens))
    assert again.tolist() == canonical


def test_pitch_hold_bad_arguments():
    notes = notes_table([(60, 0, 1)])
    for bad in [0, -4, 2.5, True]:
        with pytest.raises(ValueError, match="steps_per_quarter"):
            rep.encode_pitch_hold(notes, steps_per_quarter=bad)
    with pytest.raises(ValueError, match="steps_per_quarter"):
        rep.decode_pitch_hold([60], steps_per_quarter=0)
    with pytest.raises(ValueError, match="0..129"):
        rep.decode_pitch_hold([60, 130])
    with pytest.raises(ValueError, match="tempo"):
        rep.encode_pitch_hold(notes_table([(60, 0, 1)], beats=False), tempo=0)
    two_parts = pd.concat([notes_table([(60, 0, 1)], part="a"), notes_table([(64, 0, 1)], part="b")])
    with pytest.raises(ValueError, match="part="):
        rep.encode_pitch_hold(two_parts)
    with pytest.raises(ValueError, match="'c' is not in the notes"):
        rep.encode_pitch_hold(two_parts, part="c")
    assert rep.encode_pitch_hold(two_parts, part="b", steps_per_quarter=1).tolist() == [64]
    two_pieces = pd.concat([notes_table([(60, 0, 1)], piece="x"), notes_table([(64, 0, 1)], piece="y")])
    with pytest.raises(ValueError, match="encode_pieces"):
        rep.encode_pitch_hold(two_pieces)


def test_pitch_hold_vocabulary_is_fixed():
    vocab = rep.pitch_hold_vocabulary()
    assert len(vocab) == 130 + 4
    assert vocab.encode(np.array([0, rep.HOLD, rep.REST])).tolist() == [4, 132, 133]


def test_pitch_hold_length_and_velocity_checks():
    notes = notes_table([(60, 0, 1)])
    assert rep.encode_pitch_hold(notes, n_steps=0).tolist() == []
    with pytest.raises(ValueError, match="n_steps"):
        rep.encode_pitch_hold(notes, n_steps=-1)
    for bad in [0, 128, 80.0]:
        with pytest.raises(ValueError, match="velocity"):
            rep.decode_pitch_hold([60], velocity=bad)
    assert rep.decode_pitch_hold([60], velocity=np.int64(127))["velocity"].tolist() == [127]


def test_describe_pitch_hold_names_pitches_holds_and_rests():
    tokens = rep.encode_pitch_hold(notes_table([(60, 0.0, 0.5), (64, 1.0, 1.25)]), steps_per_quarter=4, n_steps=6)
    assert rep.describe_pitch_hold(tokens) == ["C4", "HOLD", "REST", "REST", "E4", "REST"]
    assert rep.describe_pitch_hold([0, 127, rep.HOLD]) == ["Cm1", "G9", "HOLD"]  # names.pitch_to_name spells octave -1 "m1"
    assert rep.describe_pitch_hold([]) == []
    with pytest.raises(ValueError, match="pitch/hold tokens must lie in 0..129"):
        rep.describe_pitch_hold([60, rep.N_PITCH_HOLD_TOKENS])
