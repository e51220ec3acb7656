"""Loading, checking and range-fitting a melody to harmonize."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from musicalpy.melody import Melody, MelodyError, fit_to_range, load_melody
from musicalpy.midi import write_midi


def _line(pitches, starts, ends, part="Melody") -> pd.DataFrame:
    table = pd.DataFrame({"pitch": pitches, "start_beat": starts, "end_beat": ends})
    return table.assign(start=table["start_beat"] / 2, end=table["end_beat"] / 2, part=part, piece="m")


def test_a_midi_file_round_trips(tmp_path):
    path = tmp_path / "tune.mid"
    write_midi(_line([67, 69, 71, 72], [0.0, 1.0, 1.5, 2.0], [1.0, 1.5, 2.0, 4.0]), path)
    melody = load_melody(path)
    assert melody.name == "tune"
    assert melody.notes["pitch"].tolist() == [67, 69, 71, 72]
    assert melody.notes["start_beat"].tolist() == pytest.approx([0.0, 1.0, 1.5, 2.0])
    assert melody.notes["end_beat"].tolist() == pytest.approx([1.0, 1.5, 2.0, 4.0])
    assert melody.transposed_by == 0


def test_a_musicxml_file_keeps_meter_and_fermatas(tmp_path):
    from music21 import expressions, meter, note, stream

    part = stream.Part()
    part.append(meter.TimeSignature("3/4"))
    for name in ("G4", "A4", "B4"):
        part.append(note.Note(name, quarterLength=1.0))
    last = note.Note("C5", quarterLength=3.0)
    last.expressions.append(expressions.Fermata())
    part.append(last)
    path = tmp_path / "tune.musicxml"
    stream.Score([part]).write("musicxml", fp=str(path))
    melody = load_melody(path)
    assert melody.time_signature == "3/4"
    assert melody.notes["pitch"].tolist() == [67, 69, 71, 72]
    assert melody.fermatas == (3.0,)


def test_essen_tunes_by_file_id_and_title():
    first = load_melody("essenFolksong/altdeu10")
    assert first.name == "altdeu10-1"
    assert first.time_signature == "4/2"
    assert first.notes["pitch"].iloc[0] == 67  # G2 of "Das Hildebrandslied"
    by_title = load_melody("das hildebrandslied")
    pd.testing.assert_frame_equal(by_title.notes, first.notes)
    second = load_melody("altdeu10-2")
    assert second.name == "altdeu10-2" and not second.notes.equals(first.notes)


def test_each_bad_melody_gets_its_message(tmp_path):
    with pytest.raises(MelodyError, match=r"missing\.mid: no such melody file"):
        load_melody(tmp_path / "missing.mid")
    garbage = tmp_path / "garbage.mid"
    garbage.write_bytes(b"not a midi file at all")
    with pytest.raises(MelodyError, match=r"garbage\.mid: unreadable MIDI file"):
        load_melody(garbage)
    empty = tmp_path / "empty.mid"
    write_midi(_line([], [], []).astype({"pitch": int}), empty)
    with pytest.raises(MelodyError, match=r"empty\.mid: the melody has no notes"):
        load_melody(empty)
    chords = tmp_path / "chords.mid"
    write_midi(_line([60, 64, 67], [0.0, 0.0, 1.0], [2.0, 1.0, 2.0]), chords)
    with pytest.raises(MelodyError, match=r"chords\.mid: not a melody: 2 overlapping note\(s\), the first at beat 0"):
        load_melody(chords)
    with pytest.raises(MelodyError, match=r"'no such tune': neither a melody file .* nor an Essen tune"):
        load_melody("no such tune")
    with pytest.raises(MelodyError, match="every note must end after it starts"):
        load_melody(_line([60], [1.0], [1.0]))


def test_a_note_table_starts_at_beat_zero_on_the_beat_grid():
    melody = load_melody(_line([60, 62], [4.5, 5.0], [5.0, 6.0]), name="late")
    assert melody.name == "late"
    assert melody.notes["start_beat"].tolist() == [0.5, 1.0]  # whole beats removed, the offbeat kept


@pytest.mark.parametrize(("pitches", "moved"), [([84, 88, 91], -12), ([40, 45, 47], 24), ([64, 67, 72], 0),
                                                 ([58, 65, 75], 2), ([55, 60, 86], 0)])
def test_fit_to_range_moves_by_octaves_then_semitones_and_round_trips(pitches, moved):
    melody = Melody(_line(pitches, [0.0, 1.0, 2.0], [1.0, 2.0, 3.0])[["pitch", "start_beat", "end_beat"]])
    fitted = fit_to_range(melody, 60, 81)
    assert fitted.transposed_by == moved
    assert (fitted.notes["pitch"] - melody.notes["pitch"]).eq(moved).all()
    back = dataclasses.replace(fitted, notes=fitted.notes.assign(pitch=fitted.notes["pitch"] - fitted.transposed_by))
    pd.testing.assert_frame_equal(back.notes, melody.notes)
    if max(pitches) - min(pitches) <= 21:
        assert fitted.notes["pitch"].between(60, 81).all()
    with pytest.raises(ValueError, match="low must not be above high"):
        fit_to_range(melody, 81, 60)
