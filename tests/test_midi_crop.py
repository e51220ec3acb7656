"""Tests of midi.crop_notes: cutting a note table at a beat or a second."""

from __future__ import annotations

import pandas as pd
import pytest

from musicalpy import midi


@pytest.fixture
def two_voices() -> pd.DataFrame:
    frame = pd.DataFrame({
        "part": ["S", "S", "S", "B"],
        "pitch": [72, 74, 76, 48],
        "start_beat": [0.0, 1.0, 3.0, 0.0],
        "end_beat": [1.0, 3.0, 4.0, 4.0],
    })
    return midi.as_note_table(frame.assign(start=frame["start_beat"] * 0.5, end=frame["end_beat"] * 0.5))


def test_crop_at_a_beat_drops_later_notes_and_shortens_sounding_ones(two_voices):
    cropped = midi.crop_notes(two_voices, end_beat=2.0)
    assert cropped["pitch"].tolist() == [72, 74, 48]  # the E starting on beat 3 goes
    assert cropped["end_beat"].tolist() == [1.0, 2.0, 2.0]
    assert cropped["end"].tolist() == [0.5, 1.0, 1.0]  # seconds shortened in proportion
    assert two_voices["end_beat"].max() == 4.0  # the input is not modified


def test_crop_at_a_second_shortens_beats_too(two_voices):
    cropped = midi.crop_notes(two_voices, end=0.75)
    assert cropped["end"].tolist() == [0.5, 0.75, 0.75]
    assert cropped["end_beat"].tolist() == [1.0, 1.5, 1.5]
    # a cut at the very start keeps nothing; one after the end keeps everything
    assert midi.crop_notes(two_voices, end_beat=0.0).empty
    assert midi.crop_notes(two_voices, end_beat=10.0).equals(two_voices)
    # a note starting a hair before the cut goes only with a tolerance
    assert len(midi.crop_notes(two_voices, end_beat=3.0 + 1e-12)) == 4
    assert len(midi.crop_notes(two_voices, end_beat=3.0 + 1e-12, tolerance=1e-9)) == 3


def test_crop_errors(two_voices):
    with pytest.raises(ValueError, match="exactly one of end_beat"):
        midi.crop_notes(two_voices)
    with pytest.raises(ValueError, match="exactly one of end_beat"):
        midi.crop_notes(two_voices, end_beat=1.0, end=1.0)
    with pytest.raises(ValueError, match="end_beat must be a finite time"):
        midi.crop_notes(two_voices, end_beat=-1.0)
    with pytest.raises(ValueError, match="needs the beat columns"):
        midi.crop_notes(two_voices.drop(columns=["start_beat", "end_beat"]), end_beat=1.0)
    with pytest.raises(ValueError, match="tolerance must be"):
        midi.crop_notes(two_voices, end=1.0, tolerance=-1.0)


def test_part_notes_selects_one_voice_and_names_bad_input(two_voices):
    soprano = midi.part_notes(two_voices, "S")
    assert soprano["pitch"].tolist() == [72, 74, 76]
    assert midi.part_notes(two_voices, "B")["pitch"].tolist() == [48]
    with pytest.raises(ValueError, match=r"part 'T' has no notes; the parts are \['S', 'B'\]"):
        midi.part_notes(two_voices, "T")
    with pytest.raises(ValueError, match="no 'part' column"):
        midi.part_notes(two_voices.drop(columns="part"), "S")
