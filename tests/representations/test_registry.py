"""Tests of the registry of encodings and encode_pieces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicalpy import midi
from musicalpy import representations as rep

from .helpers import notes_table, same_notes


def test_encode_pieces_per_piece_and_per_part(chorale):
    other = chorale.assign(piece="copy", pitch=chorale["pitch"] + 2)
    drums = midi.as_note_table(pd.DataFrame({"piece": ["copy"], "part": ["kit"], "pitch": [36], "start": [0.0], "end": [0.1], "is_drum": [True]}))
    table = pd.concat([chorale, other, drums], ignore_index=True)
    per_part = rep.encode_pieces(table, "pitch_hold")
    assert list(per_part) == [(p, v) for p in ["bwv66.6", "copy"] for v in ["Soprano", "Alto", "Tenor", "Bass"]]
    assert np.array_equal(per_part[("bwv66.6", "Tenor")], rep.encode_pitch_hold(chorale, part="Tenor"))
    assert per_part[("copy", "Soprano")][0] == per_part[("bwv66.6", "Soprano")][0] + 2
    events = rep.encode_pieces(table, "events")
    assert list(events) == ["bwv66.6", "copy"]
    assert np.array_equal(events["bwv66.6"], rep.encode_events(chorale))
    with_drums = rep.encode_pieces(table, "events", skip_drums=False)
    assert len(with_drums["copy"]) > len(events["copy"])
    rolls = rep.encode_pieces(table, "piano_roll", with_onsets=True)
    assert rolls["copy"][0].shape == (48, 4 * int(chorale["end_beat"].max()))
    merged = rep.encode_pieces(table, "note_strings", merge_parts=True)
    assert list(merged) == ["bwv66.6", "copy"]
    windows = np.concatenate([rep.piano_roll_windows(frames, 32) for frames, _ in rolls.values()])
    assert windows.shape[1:] == (48, 32) and len(windows) == 2 * (rolls["copy"][0].shape[1] // 32)
    with pytest.raises(ValueError, match="encoding must be one of"):
        rep.encode_pieces(table, "midi_like")
    with pytest.raises(ValueError, match="part="):
        rep.encode_pieces(table, "pitch_hold", part="Soprano")
    with pytest.raises(ValueError, match="steps_per_quarter"):
        rep.encode_pieces(table, "pitch_hold", steps_per_quarter=0)
    assert rep.encode_pieces(midi.empty_notes(), "events") == {}


def test_encode_pieces_decides_beats_per_piece():
    with_beats = notes_table([(60, 2, 4)], piece="a")  # beats 2-4, seconds 1-2
    without = notes_table([(62, 2, 4)], piece="b", beats=False)  # seconds 1-2 only
    table = pd.concat([with_beats, without], ignore_index=True)  # b gets NaN beats
    encoded = rep.encode_pieces(table, "pitch_hold", steps_per_quarter=1, tempo=60)
    assert encoded[("a", "0")].tolist() == [rep.REST, rep.REST, 60, rep.HOLD]
    assert encoded[("b", "0")].tolist() == [rep.REST, 62]  # 1-2 s at 60 bpm


# -------------------------------------------------------------------------- registry


def test_registry_lists_every_encoding_with_its_own_decoder():
    assert set(rep.ENCODINGS) == {"pitch_hold", "events", "note_rows", "note_classes", "piano_roll", "pitch_step_duration", "quantized_tokens", "note_strings", "frames", "chorale_grid"}
    assert rep.get_encoding("note_classes").decode is rep.decode_note_classes
    assert rep.get_encoding("frames").decode is rep.decode_frames
    assert rep.TOKEN_ENCODINGS == ("note_strings", "events", "pitch_hold")
    assert rep.get_encoding("events").decode is rep.decode_events
    assert rep.get_encoding("quantized_tokens").decode is rep.decode_quantized_tokens
    assert rep.get_encoding("frames").decode is rep.decode_frames and rep.get_encoding("frames").to_tokens is None
    assert rep.get_encoding("pitch_hold").vocabulary() == rep.pitch_hold_vocabulary()
    assert rep.get_encoding("note_strings").vocabulary is None  # built from the data
    assert rep.get_encoding("piano_roll").transpose_token is None


def test_unknown_encoding_error_names_the_known_ones():
    notes = notes_table([(60, 0, 1)])
    vocabulary = rep.event_vocabulary()
    with pytest.raises(ValueError, match="midi_like") as error:
        rep.encode_pieces(notes, "midi_like")
    assert all(name in str(error.value) for name in rep.ENCODINGS)
    for call in [
        lambda: rep.token_sequences(notes, "piano_roll"),
        lambda: rep.decode_token_ids([4, 5], vocabulary, "note_rows"),
    ]:
        with pytest.raises(ValueError, match="encoding must be one of") as error:
            call()
        listed = str(error.value).split(", got")[0]
        assert all(f"'{name}'" in listed for name in rep.TOKEN_ENCODINGS)
        assert "piano_roll" not in listed and "note_rows" not in listed
    with pytest.raises(ValueError, match="quantized_tokens") as error:
        rep.transposition_table(vocabulary, "pitch_step_duration", 1)
    assert "'events'" in str(error.value)


def _tokens_of_every_transposable_encoding():
    """A wide sample of real tokens per encoding: the whole closed alphabets, and the
    note strings and quantized tokens of a chorale-like texture over the MIDI range."""
    strings = ["rest"] + [rep.pitch_to_name(p) for p in range(128)] + [
        ".".join(rep.pitch_to_name(p) for p in (low, low + 4, low + 7)) for low in range(0, 121, 5)]
    return {
        "pitch_hold": list(range(rep.N_PITCH_HOLD_TOKENS)),
        "events": list(range(rep.N_EVENT_TOKENS)),
        "note_strings": strings + [(s, 0.5) for s in strings],
        "quantized_tokens": [(p, d, v) for p in range(129) for d, v in [(0, 0), (3, 5)]],
        "chorale_grid": rep.get_encoding("chorale_grid").vocabulary().tokens,
    }


def test_transposing_up_then_down_gives_every_token_back():
    samples = _tokens_of_every_transposable_encoding()
    assert set(samples) == {n for n, e in rep.ENCODINGS.items() if e.transpose_token is not None}
    for name, tokens in samples.items():
        transpose = rep.get_encoding(name).transpose_token
        moved_up = 0
        for token in tokens:
            up = transpose(token, 1)
            if up is None:
                continue
            moved_up += 1
            assert transpose(up, -1) == token, (name, token, up)
            down = transpose(token, -1)
            if down is not None:
                assert transpose(down, 1) == token, (name, token, down)
        # Only the tokens holding pitch 127 cannot go up.
        assert moved_up < len(tokens), name
        assert moved_up >= len(tokens) - 30, name


def test_token_transpositions_know_the_range_and_the_fixed_tokens():
    assert rep.transpose_pitch_hold_token(127, 1) is None and rep.transpose_pitch_hold_token(0, -1) is None
    assert rep.transpose_pitch_hold_token(rep.REST, 5) == rep.REST and rep.transpose_pitch_hold_token(64, -4) == 60
    assert rep.transpose_event_token(rep.NOTE_OFF_OFFSET + 60, 2) == rep.NOTE_OFF_OFFSET + 62
    assert rep.transpose_event_token(rep.VELOCITY_OFFSET + 3, 7) == rep.VELOCITY_OFFSET + 3
    assert rep.transpose_note_string_token(("C4.E4.G4", 1.0), 1) == ("C#4.F4.G#4", 1.0)
    assert rep.transpose_note_string_token("A#4", 0) == "B-4"  # one spelling, from musicalpy.names
    assert rep.transpose_note_string_token("C4.G9", 1) is None
    assert rep.transpose_quantized_token((rep.REST_PITCH, 2, 0), 3) == (rep.REST_PITCH, 2, 0)
    assert rep.transpose_quantized_token((126, 2, 4), 2) is None


def test_every_token_encoding_round_trips_through_ids(chorale):
    # encode -> vocabulary ids -> decode gives the encoder's own exact decoding back;
    # for the per-voice note strings that is the voice itself.
    for name in rep.TOKEN_ENCODINGS:
        entry = rep.get_encoding(name)
        sequences, vocabulary = rep.token_sequences(chorale, name)
        raw = rep.encode_pieces(chorale, name, **entry.token_options)
        assert list(sequences) == list(raw), name
        for key, ids in sequences.items():
            part = key[1] if entry.per_part else "0"
            back = rep.decode_token_ids(ids, vocabulary, name, part=part)
            if name == "note_strings":
                assert same_notes(back, chorale[chorale["part"] == part], ["pitch", "start_beat", "end_beat"]), key
            else:
                pd.testing.assert_frame_equal(back, entry.decode(raw[key], part=part))


def test_encode_sequences_lists_the_non_empty_pieces_in_order():
    notes = pd.concat([notes_table([(60, 0.0, 1.0)], piece="a", part="S"),
                       notes_table([(62, 0.0, 0.5), (64, 0.5, 1.0)], piece="b", part="S"),
                       notes_table([(40, 0.0, 2.0)], piece="b", part="B")], ignore_index=True)
    per_part = rep.encode_sequences(notes, "pitch_hold", steps_per_quarter=2)
    assert [s.tolist() for s in per_part] == [[60, rep.HOLD], [62, 64], [40, rep.HOLD, rep.HOLD, rep.HOLD]]
    assert [len(s) for s in rep.encode_sequences(notes, "note_rows", unit="beats")] == [1, 3]
    drums_only = notes_table([(36, 0.0, 1.0)], piece="d").assign(is_drum=True)
    assert rep.encode_sequences(pd.concat([drums_only, notes], ignore_index=True), "events")[0].size > 0
    assert len(rep.encode_sequences(drums_only, "events")) == 0
