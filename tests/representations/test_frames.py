"""Tests of the 88-key frames: known answers, exact round trips, the 88-key range, checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from musicalpy import representations as rep

from .helpers import PROPERTY, notes_table


def test_frames_known_answer_keys_and_time_axes():
    # A0 (key 0) for two quarters, C4 (key 39) for one, C8 (key 87) in the third quarter.
    notes = notes_table([(21, 0, 2), (60, 0, 1), (108, 2, 3)])
    frames = rep.encode_frames(notes)
    assert frames.shape == (3, 88) and frames.dtype == bool
    assert frames.sum() == 4
    assert frames[0, 0] and frames[1, 0] and frames[0, 39] and frames[2, 87]
    assert not frames[1, 39] and not frames[2, 0]
    assert rep.LOWEST_KEY == 21 and rep.N_KEYS == 88


def test_frames_sample_what_sounds_on_the_grid_and_pad_and_cut():
    # Two eighths in the first quarter: only the one sounding on beat 0 is in frame 0;
    # E4 from beat 1.5 to 2.5 sounds at beat 2 only; G4 between grid points leaves nothing.
    notes = notes_table([(60, 0, 0.5), (62, 0.5, 1), (64, 1.5, 2.5), (67, 2.2, 2.4)])
    frames = rep.encode_frames(notes)
    assert frames.shape == (3, 88)
    assert [np.flatnonzero(f).tolist() for f in frames] == [[39], [], [43]]
    sixteenths = rep.encode_frames(notes, steps_per_quarter=4)
    assert np.flatnonzero(sixteenths[:, 43]).tolist() == [6, 7, 8, 9]
    assert np.flatnonzero(sixteenths[:, 46]).tolist() == [9]  # beat 2.25 is a sixteenth grid point
    padded = rep.encode_frames(notes, n_frames=5)
    assert padded.shape == (5, 88) and not padded[3:].any() and np.array_equal(padded[:3], frames)
    assert rep.encode_frames(notes, n_frames=1).sum() == 1


def test_decode_frames_reads_a_run_as_one_held_note():
    frames = np.zeros((5, 88), dtype=bool)
    frames[0:3, 39] = True  # C4 in frames 0-2: one note of three quarters, not three repeats
    frames[4, 39] = True  # struck again after a silent frame
    frames[1, 43] = True
    notes = rep.decode_frames(frames, piece="x", part="Keys", tempo=60)
    rows = notes[["pitch", "start_beat", "end_beat", "start", "end"]].to_numpy().tolist()
    assert rows == [[60, 0, 3, 0, 3], [64, 1, 2, 1, 2], [60, 4, 5, 4, 5]]
    assert set(notes["piece"]) == {"x"} and set(notes["part"]) == {"Keys"}
    assert np.array_equal(rep.encode_frames(notes, n_frames=5), frames)


@PROPERTY
@given(hnp.arrays(bool, st.tuples(st.integers(0, 24), st.just(88))), st.sampled_from([1, 2, 4]))
def test_encode_of_decode_gives_the_frames_back(frames, steps):
    notes = rep.decode_frames(frames, steps_per_quarter=steps)
    assert np.array_equal(rep.encode_frames(notes, steps_per_quarter=steps, n_frames=len(frames)), frames)
    # One note per run of a key: the number of run starts.
    previous = np.zeros_like(frames)
    previous[1:] = frames[:-1]
    assert len(notes) == int((frames & ~previous).sum())


def test_frames_refuse_pitches_off_the_piano_and_bad_frames():
    with pytest.raises(ValueError, match=r"outside them") as error:
        rep.encode_frames(notes_table([(20, 0, 1), (60, 0, 1), (109, 1, 2)]))
    assert "[20, 109]" in str(error.value)
    with pytest.raises(ValueError, match=r"frames must have shape \(n_frames, 88\), got \(3, 87\)"):
        rep.decode_frames(np.zeros((3, 87), dtype=bool))
    with pytest.raises(ValueError, match="frames must be binary"):
        rep.decode_frames(np.full((2, 88), 0.7))
    with pytest.raises(ValueError, match="steps_per_quarter"):
        rep.encode_frames(notes_table([(60, 0, 1)]), steps_per_quarter=0)
    assert rep.check_frames(np.eye(88, dtype=np.int8)[:3]).dtype == bool


def test_frames_through_the_registry_merge_the_parts(chorale):
    encoded = rep.encode_pieces(chorale, "frames")
    assert list(encoded) == ["bwv66.6"]
    frames = encoded["bwv66.6"]
    assert np.array_equal(frames, rep.encode_frames(chorale))
    # Four voices sound at most four keys at any instant (unisons merge into one).
    assert frames.shape == (36, 88) and frames.sum(axis=1).max() == 4 and frames.sum(axis=1).min() >= 1
    assert np.array_equal(rep.encode_frames(rep.decode_frames(frames), n_frames=len(frames)), frames)
