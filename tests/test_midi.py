"""Note table <-> MIDI file <-> pretty_midi <-> music21 round trips and bad files."""

from __future__ import annotations

import io
import struct

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

import musicalpy
from musicalpy.midi import (
    MAX_TICKS,
    MidiError,
    as_note_table,
    from_music21,
    from_pretty_midi,
    read_midi,
    to_music21,
    to_pretty_midi,
    write_midi,
)


def _same_notes(a: pd.DataFrame, b: pd.DataFrame, tol: float = 1e-3) -> None:
    assert len(a) == len(b)
    for column in ("part", "program", "is_drum", "pitch", "velocity"):
        assert list(a[column]) == list(b[column]), column
    assert np.abs(a["start"].to_numpy() - b["start"].to_numpy()).max() < tol
    assert np.abs(a["end"].to_numpy() - b["end"].to_numpy()).max() < tol


def test_as_note_table_fills_defaults_and_sorts():
    raw = pd.DataFrame({"pitch": [64, 60], "start": [1.0, 0.0], "end": [2.0, 0.5]})
    table = as_note_table(raw, piece="p")
    assert list(table.columns[:8]) == musicalpy.midi.NOTE_COLUMNS
    assert list(table["pitch"]) == [60, 64]
    assert table["velocity"].tolist() == [80, 80]
    assert set(table["piece"]) == {"p"}


@pytest.mark.parametrize(
    "bad, message",
    [
        (pd.DataFrame({"pitch": [60], "start": [0.0]}), "lacks required column"),
        (pd.DataFrame({"pitch": [130], "start": [0.0], "end": [1.0]}), "outside the MIDI range"),
        (pd.DataFrame({"pitch": [60], "start": [1.0], "end": [0.5]}), "ending before they start"),
        (pd.DataFrame({"pitch": [60], "start": [-1.0], "end": [0.5]}), "starting before 0"),
        (pd.DataFrame({"pitch": [60], "start": [np.nan], "end": [0.5]}), "NaN"),
    ],
)
def test_as_note_table_rejects_impossible_notes(bad, message):
    with pytest.raises(ValueError, match=message):
        as_note_table(bad)


def test_file_round_trip_keeps_everything(tmp_path, data_dir):
    original = read_midi(data_dir / "flute_and_drums.mid")
    assert len(original) == 7
    assert original.groupby("part").size().to_dict() == {"Drums": 3, "Melody": 4}
    assert bool(original.loc[original["part"] == "Drums", "is_drum"].all())
    assert set(original.loc[original["part"] == "Melody", "program"]) == {73}
    path = write_midi(original, tmp_path / "copy.mid")
    _same_notes(original, read_midi(path))


def test_write_midi_programs_and_tempo(tmp_path, two_part_notes):
    path = write_midi(two_part_notes, tmp_path / "x.mid", programs={"Melody": 40}, tempo=90)
    back = read_midi(path)
    assert set(back.loc[back["part"] == "Melody", "program"]) == {40}
    # Seconds are kept; the beat grid follows the new tempo (90 quarter notes a minute).
    _same_notes(as_note_table(two_part_notes).assign(program=back["program"].to_numpy()), back)
    assert back["end_beat"].max() == pytest.approx(2.0 * 90 / 60, abs=1e-6)


@pytest.mark.parametrize(
    "programs, column, message",
    [
        ({"Melody": 128}, 0, r"programs\['Melody'\] must be an integer in 0..127, got 128"),
        ({"Melody": 40.5}, 0, r"programs\['Melody'\] must be an integer in 0..127, got 40.5"),
        (None, -1, r"program of part 'Melody' must be an integer in 0..127, got -1"),
    ],
)
def test_write_midi_rejects_programs_outside_general_midi(tmp_path, two_part_notes, programs, column, message):
    notes = two_part_notes.assign(program=column)
    with pytest.raises(ValueError, match=message):
        write_midi(notes, tmp_path / "x.mid", programs=programs)
    assert not (tmp_path / "x.mid").exists()


def test_pretty_midi_round_trip(two_part_notes):
    pm = to_pretty_midi(two_part_notes)
    assert [inst.name for inst in pm.instruments] == ["Melody", "Bass"]
    times, tempi = pm.get_tempo_changes()  # the tempo the beat columns imply: two beats a second
    assert times.tolist() == [0.0] and tempi == pytest.approx([120.0])
    _same_notes(as_note_table(two_part_notes), from_pretty_midi(pm, piece="two_parts"))


def test_music21_round_trip(two_part_notes):
    score = to_music21(two_part_notes)
    assert len(score.parts) == 2
    # The simultaneous E5 and G5 of the melody become one chord.
    assert len(score.parts[0].flatten().getElementsByClass("Chord")) == 1
    back = from_music21(score, piece="two_parts")
    _same_notes(as_note_table(two_part_notes), back)


def test_music21_round_trip_unquantized_times():
    rng = np.random.default_rng(0)
    starts = np.sort(rng.uniform(0, 10, 40))
    notes = pd.DataFrame({"pitch": rng.integers(30, 90, 40), "start": starts,
                          "end": starts + rng.uniform(0.013, 2.0, 40), "velocity": rng.integers(1, 128, 40)})
    _same_notes(as_note_table(notes), from_music21(to_music21(notes)))


def test_real_chorale_matches_music21s_own_midi_export(tmp_path):
    from music21 import corpus

    score = corpus.parse("bach/bwv66.6")
    notes = from_music21(score, piece="bwv66.6")
    assert list(dict.fromkeys(notes["part"])) == ["Soprano", "Alto", "Tenor", "Bass"]
    # An independent path: music21 writes MIDI itself, pretty_midi reads it back.
    exported = read_midi(score.write("midi", fp=tmp_path / "m21.mid"))
    assert len(notes) == len(exported) == 163
    assert sorted(notes["pitch"]) == sorted(exported["pitch"])
    assert np.allclose(np.sort(notes["start"]), np.sort(exported["start"]), atol=1e-3)
    # bwv66.6 carries a metronome mark of 96 quarter notes per minute.
    assert notes["end"].max() == pytest.approx(notes["end_beat"].max() * 60 / 96)


def test_real_midi_files_from_music21(music21_midi_dir):
    notes = read_midi(music21_midi_dir / "test04.mid")
    assert len(notes) == 6059 and notes["part"].nunique() == 21
    notes = read_midi(music21_midi_dir / "test02.mid")
    assert len(notes) == 163 and notes["part"].nunique() == 4


# ------------------------------------------------------------------- damaged files


def _midi_bytes(track_bytes: bytes, division: int = 480) -> bytes:
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, division)
    return header + b"MTrk" + struct.pack(">I", len(track_bytes)) + track_bytes


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.mid"):
        read_midi(tmp_path / "nothere.mid")


@pytest.mark.parametrize(
    "payload, cause",
    [
        (b"this is a text file, not MIDI", "not a readable MIDI file"),
        (b"MThd\x00\x00", "data ends before the MIDI header or a track is complete"),
        (_midi_bytes(b"\x00\xff\x2f\x00"), "no notes"),
        (_midi_bytes(b"\x00\x90\x3c\x40\x00\x80\x3c\x40\x00\xff\x2f\x00"), "only zero-length notes"),
        # one note-on after a delta of 0x0FFFFFFF ticks, repeated: absurd timing
        (_midi_bytes((b"\xff\xff\xff\x7f\x90\x3c\x40") * 200 + b"\x00\xff\x2f\x00"), "absurd tick values"),
        (_midi_bytes(b"\x00\x90\x3c\x40\x60\x80\x3c\x40\x00\xff\x2f\x00", division=0), "invalid time division"),
    ],
)
def test_bad_files_raise_midi_error_naming_file_and_cause(tmp_path, payload, cause):
    path = tmp_path / "bad.mid"
    path.write_bytes(payload)
    with pytest.raises(MidiError, match=cause) as info:
        read_midi(path)
    assert str(path) in str(info.value)


def test_truncated_real_file(tmp_path, music21_midi_dir):
    data = (music21_midi_dir / "test03.mid").read_bytes()
    path = tmp_path / "cut.mid"
    path.write_bytes(data[:10])
    with pytest.raises(MidiError, match="cut.mid"):
        read_midi(path)


_REAL = None


def _real_bytes() -> list[bytes]:
    global _REAL
    if _REAL is None:
        import music21

        folder = __import__("pathlib").Path(music21.__file__).parent / "midi" / "testPrimitive"
        _REAL = [(folder / name).read_bytes() for name in ("test02.mid", "test11.mid", "test17.mid")]
    return _REAL


@st.composite
def damaged_midi(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(_real_bytes())))
    kind = draw(st.sampled_from(["truncate", "flip", "chunk_length", "garbage_tail", "random"]))
    if kind == "truncate":
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    if kind == "flip":
        for _ in range(draw(st.integers(1, 20))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        return bytes(data)
    if kind == "chunk_length":
        # Rewrite the length field of the header or of a track chunk.
        offsets = [i for i in range(len(data) - 8) if data[i:i + 4] in (b"MThd", b"MTrk")]
        i = draw(st.sampled_from(offsets))
        data[i + 4:i + 8] = struct.pack(">I", draw(st.integers(0, 2**32 - 1)))
        return bytes(data)
    if kind == "garbage_tail":
        return bytes(data) + draw(st.binary(min_size=1, max_size=200))
    return b"MThd" + draw(st.binary(max_size=300))


@settings(max_examples=300, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_midi())
def test_damaged_midi_gives_notes_or_midi_error(payload):
    try:
        notes = read_midi(payload)
    except MidiError:
        return
    # Whatever parses must be a valid note table holding every note of positive length that
    # pretty_midi reads from the same bytes, no more and no fewer.
    import pretty_midi

    expected = sum(n.end > n.start for i in pretty_midi.PrettyMIDI(io.BytesIO(payload)).instruments for n in i.notes)
    assert len(notes) == expected
    assert notes["pitch"].between(0, 127).all()
    assert (notes["end"] > notes["start"]).all()
    assert (notes["start"] >= 0).all()
    assert notes["velocity"].between(1, 127).all()
    assert notes["end"].max() <= musicalpy.midi.MAX_SECONDS


def _vlq(ticks: int) -> bytes:
    """A MIDI variable-length quantity: 7 bits per byte, high bit set on all but the last."""
    groups = [ticks & 0x7F]
    while ticks > 0x7F:
        ticks >>= 7
        groups.append(0x80 | (ticks & 0x7F))
    return bytes(reversed(groups))


def test_a_track_spanning_more_than_max_ticks_is_refused_before_pretty_midi_allocates(tmp_path, monkeypatch):
    """The longest track pretty_midi reads (a float per tick: 80 MB) reads; one tick more
    is refused by name, before pretty_midi sees the file."""
    import pretty_midi

    def one_note_lasting(ticks: int) -> bytes:  # middle C from tick 0, at 480 ticks per quarter
        return _midi_bytes(b"\x00\x90\x3c\x40" + _vlq(ticks) + b"\x80\x3c\x40\x00\xff\x2f\x00")

    assert _vlq(0x7F) == b"\x7f" and _vlq(0x80) == b"\x81\x00" and _vlq(0x0FFFFFFF) == b"\xff\xff\xff\x7f"
    longest = tmp_path / "longest.mid"
    longest.write_bytes(one_note_lasting(MAX_TICKS))
    notes = read_midi(longest)
    assert notes[["pitch", "start_beat", "end_beat"]].to_numpy().tolist() == [[60, 0.0, pytest.approx(MAX_TICKS / 480)]]
    too_long = tmp_path / "too_long.mid"
    too_long.write_bytes(one_note_lasting(MAX_TICKS + 1))
    monkeypatch.setattr(pretty_midi, "PrettyMIDI", lambda *a, **k: pytest.fail("pretty_midi read the file"))
    with pytest.raises(MidiError) as refused:
        read_midi(too_long)
    assert str(refused.value) == (f"{too_long}: absurd tick values (a track spans 10,000,000 ticks; "
                                  "the limit is 9,999,999)")
