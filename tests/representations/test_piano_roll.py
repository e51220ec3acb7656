"""Tests of piano roll: known answers, round trips through onsets, windows, range transposition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from musicalpy import midi
from musicalpy import representations as rep

from .helpers import PROPERTY, notes_table, same_notes


def test_piano_roll_known_answer_and_merging_of_repeats():
    notes = notes_table([(36, 0, 0.5), (36, 0.5, 1), (40, 0.25, 0.75)])
    frames, onsets = rep.encode_piano_roll(notes, lowest_pitch=36, n_pitches=12, with_onsets=True)
    assert frames.shape == (12, 4) and frames.dtype == np.uint8
    assert frames[0].tolist() == [1, 1, 1, 1] and onsets[0].tolist() == [1, 0, 1, 0]
    assert frames[4].tolist() == [0, 1, 1, 0] and frames.sum() == 6
    merged = rep.decode_piano_roll(frames, lowest_pitch=36)
    assert merged[["pitch", "start_beat", "end_beat"]].to_numpy().tolist() == [[36, 0, 1], [40, 0.25, 0.75]]
    kept = rep.decode_piano_roll(frames, onsets, lowest_pitch=36)
    assert same_notes(kept, notes, ["pitch", "start_beat", "end_beat", "start", "end"])


piano_notes = st.lists(st.tuples(st.integers(36, 83), st.integers(0, 40), st.integers(1, 8)), max_size=25)


def _no_same_pitch_overlap(items, touching_allowed):
    rows, busy = [], {}
    for pitch, start, length in items:
        limit = busy.get(pitch, -1)
        if start < limit or (start == limit and not touching_allowed):
            continue
        busy[pitch] = start + length
        rows.append((pitch, start / 4, (start + length) / 4))
    return notes_table(rows) if rows else midi.empty_notes(with_beats=True)


@PROPERTY
@given(piano_notes)
def test_piano_roll_round_trips_notes_on_the_grid(items):
    notes = _no_same_pitch_overlap(items, touching_allowed=False)
    frames = rep.encode_piano_roll(notes)
    assert same_notes(rep.decode_piano_roll(frames), notes, ["pitch", "start_beat", "end_beat"])
    # With onsets, touching repeated notes survive too.
    notes = _no_same_pitch_overlap(items, touching_allowed=True)
    frames, onsets = rep.encode_piano_roll(notes, with_onsets=True)
    back = rep.decode_piano_roll(frames, onsets)
    assert same_notes(back, notes, ["pitch", "start_beat", "end_beat"])
    assert np.array_equal(rep.encode_piano_roll(back, n_steps=frames.shape[1]), frames)


def test_piano_roll_out_of_range_drop_or_fold():
    notes = notes_table([(30, 0, 1), (60, 0, 1), (90, 1, 2)])
    frames = rep.encode_piano_roll(notes, lowest_pitch=36, n_pitches=48, steps_per_quarter=1)
    assert frames.shape == (48, 2) and frames.sum() == 1 and frames[24, 0] == 1
    folded = rep.encode_piano_roll(notes, lowest_pitch=36, n_pitches=48, steps_per_quarter=1, out_of_range="fold")
    back = rep.decode_piano_roll(folded, lowest_pitch=36, steps_per_quarter=1)
    assert sorted(back["pitch"].tolist()) == [42, 60, 78]
    with pytest.raises(ValueError, match="n_pitches >= 12"):
        rep.encode_piano_roll(notes, n_pitches=6, out_of_range="fold")
    with pytest.raises(ValueError, match="out_of_range"):
        rep.encode_piano_roll(notes, out_of_range="clip")
    with pytest.raises(ValueError, match="at most 128"):
        rep.encode_piano_roll(notes, lowest_pitch=100, n_pitches=48)
    with pytest.raises(ValueError, match="steps_per_quarter"):
        rep.encode_piano_roll(notes, steps_per_quarter=0)


def test_piano_roll_seconds_fallback_threshold_and_empty():
    notes = notes_table([(48, 1, 2)], beats=False)
    frames = rep.encode_piano_roll(notes, steps_per_quarter=2, tempo=60)  # 0.5-1 s = 0.5-1 beat
    assert frames.shape == (48, 2) and frames[12].tolist() == [0, 1]
    probabilities = np.array([[0.1, 0.7, 0.9, 0.2]])
    back = rep.decode_piano_roll(probabilities, lowest_pitch=60, steps_per_quarter=1, threshold=0.5)
    assert back[["pitch", "start_beat", "end_beat"]].to_numpy().tolist() == [[60, 1, 3]]
    assert rep.encode_piano_roll(midi.empty_notes()).shape == (48, 0)
    assert rep.decode_piano_roll(np.zeros((48, 0))).empty


def test_piano_roll_chorale_round_trips_through_onsets(chorale):
    frames, onsets = rep.encode_piano_roll(chorale, lowest_pitch=36, n_pitches=48, with_onsets=True)
    assert frames.shape == (48, 4 * int(chorale["end_beat"].max()))
    back = rep.decode_piano_roll(frames, onsets)
    # Parts sounding one pitch together merge into one note, but every onset survives
    # and the decoded notes give the same two rolls back.
    assert set(zip(back["pitch"], back["start_beat"], strict=True)) == set(zip(chorale["pitch"], chorale["start_beat"], strict=True))
    again = rep.encode_piano_roll(back, with_onsets=True)
    assert np.array_equal(again[0], frames) and np.array_equal(again[1], onsets)
    soprano = chorale[chorale["part"] == "Soprano"]
    pitch, start, end = (soprano[c].to_numpy() for c in ["pitch", "start_beat", "end_beat"])
    repeated = int(((pitch[1:] == pitch[:-1]) & (start[1:] == end[:-1])).sum())
    assert repeated == 5
    # Frames alone merge each repeated note into the one before; onsets keep them.
    assert len(rep.decode_piano_roll(rep.encode_piano_roll(soprano))) == 36 - repeated
    with_onsets = rep.encode_piano_roll(soprano, with_onsets=True)
    assert same_notes(rep.decode_piano_roll(*with_onsets), soprano, ["pitch", "start_beat", "end_beat"])


def test_piano_roll_windows():
    roll = np.arange(2 * 10).reshape(2, 10)
    windows = rep.piano_roll_windows(roll, 4)
    assert windows.shape == (2, 2, 4) and windows[1].tolist() == [[4, 5, 6, 7], [14, 15, 16, 17]]
    padded = rep.piano_roll_windows(roll, 4, pad_last=True)
    assert padded.shape == (3, 2, 4) and padded[2].tolist() == [[8, 9, 0, 0], [18, 19, 0, 0]]
    hopped = rep.piano_roll_windows(roll, 4, hop_steps=3)
    assert hopped[:, 0, 0].tolist() == [0, 3, 6]
    assert rep.piano_roll_windows(roll, 11).shape == (0, 2, 11)
    assert rep.piano_roll_windows(roll, 11, pad_last=True).shape == (1, 2, 11)
    sparse = np.zeros((3, 8), dtype=np.uint8)
    sparse[1, 5] = 1
    assert rep.piano_roll_windows(sparse, 4, skip_empty=True).shape == (1, 3, 4)
    stacked = rep.piano_roll_windows(np.stack([sparse, sparse]), 4)
    assert stacked.shape == (2, 2, 3, 4)
    for bad in [{"window_steps": 0}, {"window_steps": 4, "hop_steps": -1}]:
        with pytest.raises(ValueError, match="_steps"):
            rep.piano_roll_windows(roll, **bad)


def test_fit_transposition():
    high = notes_table([(80, 0, 1), (90, 1, 2)])
    assert rep.fit_transposition(high, lowest_pitch=36, n_pitches=48) == -7
    assert rep.fit_transposition(high, lowest_pitch=36, n_pitches=48, octaves_only=True) == -12
    inside = notes_table([(40, 0, 1), (70, 1, 2)])
    assert rep.fit_transposition(inside) == 0
    # A span wider than the range: the shift keeping the most notes wins.
    wide = notes_table([(20, 0, 1), (50, 0, 1), (52, 1, 2), (60, 2, 3)])
    assert rep.fit_transposition(wide, lowest_pitch=48, n_pitches=13) == 0
    assert rep.fit_transposition(midi.empty_notes()) == 0


def _beat_notes(rows, piece):
    """rows: (part, pitch, start_beat, end_beat) at 120 bpm."""
    frame = pd.DataFrame(rows, columns=["part", "pitch", "start_beat", "end_beat"])
    frame["piece"] = piece
    frame["start"] = frame["start_beat"] / 2
    frame["end"] = frame["end_beat"] / 2
    return frame


def test_encode_piano_roll_windows_of_pieces_and_voices():
    notes = pd.concat([
        # Piece "hi" (16 steps) spans 90..100: moved down by 17 into 36..83 (100 -> 83).
        _beat_notes([("S", 100, 0, 2), ("A", 90, 1, 3), ("S", 100, 2, 4)], "hi"),
        # Piece "mid" lasts 4 steps, shorter than a window: left out unless padded.
        _beat_notes([("S", 60, 0, 1)], "mid"),
    ])
    windows, index = rep.encode_piano_roll_windows(notes, window_steps=8, hop_steps=4)
    assert windows.dtype == np.float32 and windows.shape == (3, 48, 8)
    assert list(zip(index["piece"], index["part"], index["start_step"], index["shift"], strict=True)) == [
        ("hi", "all", 0, -17), ("hi", "all", 4, -17), ("hi", "all", 8, -17)]
    # Soprano 8 cells per window; the alto (steps 4-12) 4, 8 and 4 of them.
    assert index["n_active"].tolist() == [12, 16, 12]
    # The repeated soprano 100 merges in the frames; a note already sounding when a
    # window begins counts as an onset of that window, which cannot see before itself.
    assert index["n_onsets"].tolist() == [2, 2, 2]
    assert windows[0, 100 - 17 - 36].tolist() == [1] * 8
    per_voice, voices = rep.encode_piano_roll_windows(notes, window_steps=8, per_voice=True, pad_last=True, skip_empty=True)
    assert list(zip(voices["piece"], voices["part"], voices["start_step"], strict=True)) == [
        ("hi", "S", 0), ("hi", "S", 8), ("hi", "A", 0), ("hi", "A", 8), ("mid", "S", 0)]
    assert per_voice[2, 90 - 17 - 36].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]  # the alto enters on beat 1
    assert per_voice[4, 60 - 36].tolist() == [1, 1, 1, 1, 0, 0, 0, 0]  # "mid", padded, not moved
    for bad in [{"window_steps": 0}, {"hop_steps": -2}]:
        with pytest.raises(ValueError, match="_steps"):
            rep.encode_piano_roll_windows(notes, **bad)


def test_encode_piano_roll_windows_counts_empty_windows_and_transposes():
    # One bar of notes, one bar of rest, one bar of notes (4 steps per quarter).
    notes = _beat_notes([("S", 96, 0, 4), ("S", 98, 8, 12), ("B", 84, 0, 4)], "p")
    windows, index = rep.encode_piano_roll_windows(notes, window_steps=16, lowest_pitch=60, n_pitches=24)
    assert windows.shape == (3, 24, 16)
    assert index["is_empty"].tolist() == [False, True, False]
    assert index["start_step"].tolist() == [0, 16, 32]
    # The span 84..98 is moved down into 60..83 by the smallest shift: 98 -> 83.
    assert index["shift"].unique().tolist() == [-15]
    assert windows[0, 96 - 15 - 60].sum() == 16 and windows[0, 84 - 15 - 60].sum() == 16
    assert index["n_onsets"].tolist() == [2, 0, 1]
    kept, kept_index = rep.encode_piano_roll_windows(notes, window_steps=16, lowest_pitch=60, n_pitches=24, skip_empty=True)
    assert len(kept) == 2 and kept_index["start_step"].tolist() == [0, 32]


def test_encode_piano_roll_windows_per_voice_windows_align():
    notes = pd.concat([
        _beat_notes([("S", 72, 0, 1), ("B", 60, 3, 4)], piece="a"),
        _beat_notes([("S", 70, 0, 2)], piece="b"),
    ])
    windows, index = rep.encode_piano_roll_windows(notes, window_steps=8, lowest_pitch=60, n_pitches=16, per_voice=True,
                                                  pad_last=True, transpose=False)
    # Piece a lasts 16 steps: 2 windows for each of its 2 voices; piece b: 1 window.
    assert list(zip(index["piece"], index["part"], index["start_step"], strict=True)) == [
        ("a", "S", 0), ("a", "S", 8), ("a", "B", 0), ("a", "B", 8), ("b", "S", 0)]
    assert index["is_empty"].tolist() == [False, True, True, False, False]
    assert windows[3, 0, 4:8].tolist() == [1, 1, 1, 1]  # the bass C4 at beats 3-4


def test_frame_onsets_are_run_starts_along_time():
    frames = np.array([[0.9, 0.8, 0.1, 0.6], [0.0, 0.4, 0.5, 0.5]])
    assert rep.frame_onsets(frames).tolist() == [[True, False, False, True], [False, False, True, False]]
    assert rep.frame_onsets(frames, threshold=0.3).tolist() == [[True, False, False, True], [False, True, False, False]]
    stacked = rep.frame_onsets(np.stack([frames, frames[::-1]]))
    assert stacked.shape == (2, 2, 4) and stacked[1, 0].tolist() == [False, False, True, False]


def test_piano_roll_range_checks_name_the_argument():
    notes = notes_table([(60, 0, 1)])
    with pytest.raises(ValueError, match="lowest_pitch must be an integer 0-127"):
        rep.encode_piano_roll(notes, lowest_pitch=128)
    with pytest.raises(ValueError, match="lowest_pitch"):
        rep.encode_piano_roll(notes, lowest_pitch=-1)
    with pytest.raises(ValueError, match="n_pitches"):
        rep.encode_piano_roll(notes, n_pitches=0)
    with pytest.raises(ValueError, match="n_steps"):
        rep.encode_piano_roll(notes, n_steps=True)
