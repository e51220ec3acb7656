"""SATB steps: exact round trips on every chorale of music21's four-voice corpus and of
JSB's three splits, hand-made known answers (hold vs repeat, fermatas, positions),
transposition and range errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicalpy import jsb
from musicalpy.corpus import load_corpus
from musicalpy.representations import satb_steps as ss
from musicalpy.representations.chorale_grid import decode_chorale_grid, encode_chorales

#: Notes of music21's four-voice chorales the grid cannot hold (measured: off the
#: sixteenth grid or overlapping inside a voice; no part lies outside the four voices).
FOUR_VOICE_GRID_LOSSES = 15


def _id(pitch: int) -> int:
    return 2 + pitch - ss.LOWEST_PITCH


@pytest.fixture(scope="module")
def bach():
    from musicalpy.zoo import training_corpus

    return training_corpus("bach")  # bwv27.6, without the four voices, is left out (and counted, not warned)


@pytest.fixture(scope="module")
def bach_grids(bach):
    return encode_chorales(bach.notes, bach.pieces)


@pytest.fixture(scope="module")
def jsb_voices():
    """Every JSB chorale as the file gives it, named as ``load_corpus("jsb_voices")`` names it."""
    return {f"jsb_voices_{split}_{index:03d}": voices
            for split in jsb.JSB_SPLITS for index, voices in enumerate(jsb.read_voices(split))}


# ----------------------------------------------------------------- music21's chorales


def test_every_bach_chorale_round_trips_through_the_grid(bach, bach_grids):
    assert len(bach_grids) == len(bach.piece_ids) == 370
    decoded = []
    for piece, grid in bach_grids.items():
        steps = ss.grid_to_steps(grid, where=piece)
        assert steps.values.dtype == np.int64 and steps.values.shape == (grid.n_steps, 4)
        assert ((steps.values >= 0) & (steps.values < ss.N_VALUES)).all()
        back = ss.steps_to_grid(steps)
        np.testing.assert_array_equal(back.voices, grid.voices, err_msg=piece)
        np.testing.assert_array_equal(back.position, grid.position, err_msg=piece)
        np.testing.assert_array_equal(back.fermata, grid.fermata, err_msg=piece)
        decoded.append(decode_chorale_grid(grid, piece=piece))
        pd.testing.assert_frame_equal(ss.decode_steps(steps, piece=piece), decoded[-1])
    # Every note comes back with its voice, pitch, start and end, but the 15 the grid cannot
    # hold (off the sixteenth grid or overlapping inside a voice; grid_losses counts them
    # chorale by chorale in tests/test_chorale_grid.py).
    key = ["piece", "part", "pitch", "start_beat", "end_beat"]
    original = bach.notes[key].astype({"piece": str, "part": str, "pitch": np.int64})
    back = pd.concat(decoded)[key].astype({"piece": str, "part": str, "pitch": np.int64}).drop_duplicates()
    kept = original.merge(back, on=key, how="inner")
    assert (len(original), len(original) - len(kept)) == (85_152, FOUR_VOICE_GRID_LOSSES)


def test_chorale_steps_is_grid_to_steps_of_every_piece(bach, bach_grids):
    steps = ss.chorale_steps(bach.notes, bach.pieces)
    assert list(steps) == list(bach_grids)
    for piece, grid in bach_grids.items():
        np.testing.assert_array_equal(steps[piece].values, ss.grid_to_steps(grid).values, err_msg=piece)
    # Real chorales have fermatas and bar positions beyond one beat.
    assert sum(int(s.fermata.sum()) for s in steps.values()) > 0
    assert max(int(s.position.max()) for s in steps.values()) >= 12
    assert ss.note_count(steps) == sum(ss.note_count(s.values) for s in steps.values())


# ----------------------------------------------------------------- JSB


def test_every_jsb_chorale_round_trips_exactly(jsb_voices):
    assert len(jsb_voices) == 229 + 76 + 77
    for piece, voices in jsb_voices.items():
        steps = ss.jsb_steps(voices, where=piece)
        np.testing.assert_array_equal(ss.steps_to_jsb(steps), voices, err_msg=piece)
        np.testing.assert_array_equal(steps.position, np.arange(len(voices)) % 4)
        assert not steps.fermata.any()


def test_jsb_note_table_gives_the_same_steps_as_the_file(jsb_voices):
    corpus = load_corpus("jsb_voices")
    steps = ss.chorale_steps(corpus.notes, corpus.pieces)
    assert list(steps) == list(jsb_voices)
    for piece, voices in jsb_voices.items():
        expected = ss.jsb_steps(voices)
        np.testing.assert_array_equal(steps[piece].values, expected.values, err_msg=piece)
        np.testing.assert_array_equal(steps[piece].position, expected.position, err_msg=piece)
        np.testing.assert_array_equal(steps[piece].fermata, expected.fermata, err_msg=piece)


def test_jsb_steps_known_answer_repeats_are_holds():
    voices = np.array([[60, 55, -1, 48], [60, 55, -1, 48], [62, 55, 52, -1], [62, 57, 52, -1], [-1, 57, 52, 43]])
    steps = ss.jsb_steps(voices)
    H, R = ss.HOLD_ID, ss.REST_ID
    assert steps.values.tolist() == [
        [_id(60), _id(55), R, _id(48)],
        [H, H, R, H],
        [_id(62), H, _id(52), R],
        [H, _id(57), H, R],
        [R, H, H, _id(43)],
    ]
    assert steps.position.tolist() == [0, 1, 2, 3, 0]
    np.testing.assert_array_equal(ss.steps_to_jsb(steps), voices)


def test_jsb_steps_rejects_a_bad_shape_and_range():
    with pytest.raises(ValueError, match="my chorale.*shape"):
        ss.jsb_steps(np.zeros((3, 3)), where="my chorale")
    with pytest.raises(ValueError, match="my chorale.*27"):
        ss.jsb_steps(np.array([[60, 55, 50, 27]]), where="my chorale")


# ----------------------------------------------------------------- known answers


def _two_bars() -> pd.DataFrame:
    """Two 4/4 bars: the soprano holds a half note, then repeats a quarter, then a
    whole note under a fermata; the tenor enters after a quarter rest."""
    rows = [
        ("Soprano", 72, 0, 2, False), ("Soprano", 74, 2, 3, False), ("Soprano", 74, 3, 4, False),
        ("Soprano", 76, 4, 8, True),
        ("Alto", 67, 0, 4, False), ("Alto", 67, 4, 6, False), ("Alto", 67, 6, 8, False),
        ("Tenor", 64, 1, 4, False), ("Tenor", 60, 4, 8, False),
        ("Bass", 48, 0, 4, False), ("Bass", 43, 4, 8, False),
    ]
    table = pd.DataFrame(rows, columns=["part", "pitch", "start_beat", "end_beat", "fermata"])
    return table.assign(piece="two_bars")


def test_two_bars_known_answer():
    steps = ss.chorale_steps(_two_bars())["two_bars"]
    H, R = ss.HOLD_ID, ss.REST_ID
    soprano = [_id(72)] + [H] * 7 + [_id(74)] + [H] * 3 + [_id(74)] + [H] * 3 + [_id(76)] + [H] * 15
    alto = [_id(67)] + [H] * 15 + [_id(67)] + [H] * 7 + [_id(67)] + [H] * 7
    tenor = [R] * 4 + [_id(64)] + [H] * 11 + [_id(60)] + [H] * 15
    bass = [_id(48)] + [H] * 15 + [_id(43)] + [H] * 15
    assert steps.values.T.tolist() == [soprano, alto, tenor, bass]
    assert steps.position.tolist() == list(range(16)) * 2
    assert steps.fermata.tolist() == [False] * 16 + [True] * 16
    assert ss.note_count(steps.values) == 11
    # Held half note vs two repeated quarters: one onset vs two.
    assert (steps.values[:8, 0] >= 2).sum() == 1 and (steps.values[8:16, 0] >= 2).sum() == 2
    # Decoding gives the notes back; a note is a fermata note when it covers a fermata
    # step, so every note of the second bar comes back as one (the grid's rule).
    decoded = ss.decode_steps(steps, piece="two_bars")
    key = ["part", "pitch", "start_beat", "end_beat", "fermata"]
    table = _two_bars()
    table["fermata"] = table["start_beat"] >= 4
    pd.testing.assert_frame_equal(decoded[key].sort_values(key).reset_index(drop=True),
                                  table[key].sort_values(key).reset_index(drop=True), check_dtype=False)


def test_pitch_of_and_value_range():
    assert ss.N_VALUES == 71
    assert ss.pitch_of(np.array([ss.REST_ID, ss.HOLD_ID, 2, ss.N_VALUES - 1])).tolist() == [
        129, 128, ss.LOWEST_PITCH, ss.HIGHEST_PITCH]


def test_transpose_steps_moves_pitches_and_keeps_rests_and_holds():
    values = np.array([[ss.REST_ID, ss.HOLD_ID, _id(60), _id(48)], [ss.HOLD_ID, _id(62), ss.REST_ID, ss.HOLD_ID]])
    up = ss.transpose_steps(values, 3)
    assert up.tolist() == [[ss.REST_ID, ss.HOLD_ID, _id(63), _id(51)], [ss.HOLD_ID, _id(65), ss.REST_ID, ss.HOLD_ID]]
    np.testing.assert_array_equal(ss.transpose_steps(up, -3), values)
    np.testing.assert_array_equal(values, [[0, 1, _id(60), _id(48)], [1, _id(62), 0, 1]])  # input untouched
    with pytest.raises(ValueError, match="range"):
        ss.transpose_steps(np.array([_id(ss.HIGHEST_PITCH)]), 1)
    with pytest.raises(ValueError, match="range"):
        ss.transpose_steps(np.array([_id(ss.LOWEST_PITCH)]), -1)
    # Rests and holds alone move nowhere and never leave the range.
    assert ss.transpose_steps(np.array([0, 1, 1]), 40).tolist() == [0, 1, 1]


@pytest.mark.parametrize("pitch", [ss.LOWEST_PITCH - 1, ss.HIGHEST_PITCH + 1])
def test_a_pitch_outside_the_range_names_the_piece(pitch):
    table = _two_bars()
    table.loc[table["part"] == "Bass", "pitch"] = [pitch, 43]
    table["piece"] = "bwv_out_of_range"
    with pytest.raises(ValueError, match=f"bwv_out_of_range.*{pitch}"):
        ss.chorale_steps(table)
