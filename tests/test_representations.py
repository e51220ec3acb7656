"""Tests of musicalpy.representations: round trips, known answers, properties, errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from musicalpy import midi
from musicalpy import representations as rep

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def notes_table(rows, *, beats=True, part="0", piece="p"):
    """A note table from (pitch, start_beat, end_beat[, velocity]) rows at 120 bpm."""
    frame = pd.DataFrame(
        [(r[0], r[1], r[2], r[3] if len(r) > 3 else 80) for r in rows],
        columns=["pitch", "start_beat", "end_beat", "velocity"],
    ).astype({"pitch": int, "start_beat": float, "end_beat": float, "velocity": int})
    frame["start"] = frame["start_beat"] * 0.5
    frame["end"] = frame["end_beat"] * 0.5
    frame["part"] = part
    frame["piece"] = piece
    if not beats:
        frame = frame.drop(columns=["start_beat", "end_beat"])
    return midi.as_note_table(frame)


def same_notes(a: pd.DataFrame, b: pd.DataFrame, columns, atol=1e-9) -> bool:
    """True when both tables hold the same notes in the given columns (order-free)."""
    left = a[columns].to_numpy(float)
    right = b[columns].to_numpy(float)
    if left.shape != right.shape:
        return False
    left = left[np.lexsort(left.T[::-1])]
    right = right[np.lexsort(right.T[::-1])]
    return np.allclose(left, right, atol=atol, rtol=0)


@pytest.fixture(scope="module")
def chorale() -> pd.DataFrame:
    from music21 import corpus

    return midi.from_music21(corpus.parse("bach/bwv66.6"), piece="bwv66.6")


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


# ------------------------------------------------------------------- pitch / hold


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


# -------------------------------------------------------------------------- events


def test_events_known_answer_with_long_gap():
    notes = midi.as_note_table(pd.DataFrame({"pitch": [60], "start": [0.5], "end": [1.75], "velocity": [100]}))
    tokens = rep.encode_events(notes)
    # 0.5 s shift; velocity bin of 100 = (99 * 32) // 127 = 24; 1.25 s = 1 s + 0.25 s.
    assert tokens.tolist() == [256 + 49, 356 + 24, 60, 256 + 99, 256 + 24, 128 + 60]
    assert rep.describe_events(tokens)[:3] == ["TIME_SHIFT(0.50s)", "VELOCITY(98)", "NOTE_ON(60)"]
    back = rep.decode_events(tokens)
    assert back[["pitch", "start", "end", "velocity"]].iloc[0].tolist() == [60, 0.5, 1.75, 98]


def test_events_repeated_pitch_off_before_on():
    notes = midi.as_note_table(pd.DataFrame({"pitch": [60, 60], "start": [0.0, 0.5], "end": [0.5, 1.0]}))
    tokens = rep.encode_events(notes)
    assert tokens.tolist() == [356 + 19, 60, 256 + 49, 128 + 60, 60, 256 + 49, 128 + 60]
    assert same_notes(rep.decode_events(tokens), notes, ["pitch", "start", "end"])


def test_events_round_trip_chorale_merges_parts(chorale):
    tokens = rep.encode_events(chorale)
    assert tokens.max() < rep.N_EVENT_TOKENS == 388
    back = rep.decode_events(tokens)
    assert set(back["part"]) == {"0"}
    # The chorale is at 96 quarter notes per minute: an eighth lasts 312.5 ms, so
    # times come back to the nearest 10 ms.
    assert same_notes(back, chorale, ["pitch", "start", "end"], atol=0.005 + 1e-9)
    assert not same_notes(back, chorale, ["pitch", "start", "end"], atol=1e-3)


def test_events_quantize_times_and_velocities():
    notes = midi.as_note_table(pd.DataFrame({"pitch": [50, 70], "start": [0.0123, 0.5], "end": [0.0161, 2.3349], "velocity": [1, 127]}))
    back = rep.decode_events(rep.encode_events(notes))
    # 12.3 ms -> 10 ms; a note shorter than a step keeps 10 ms; 2.3349 s -> 2.33 s.
    assert back[["start", "end"]].to_numpy().tolist() == [[0.01, 0.02], [0.5, 2.33]]
    assert back["velocity"].tolist() == [2, 126]  # median of the bins 1-4 and 125-127


notes_in_seconds = st.lists(
    st.tuples(st.integers(0, 127), st.floats(0, 5), st.floats(0.001, 3), st.integers(1, 127)), max_size=20
)


def table_from_seconds(items):
    frame = pd.DataFrame(items, columns=["pitch", "start", "length", "velocity"]).astype({"pitch": int, "start": float, "length": float, "velocity": int})
    frame["end"] = frame["start"] + frame["length"]
    return midi.as_note_table(frame.drop(columns="length"))


@PROPERTY
@given(notes_in_seconds)
def test_events_decoded_tokens_reencode_to_themselves(items):
    tokens = rep.encode_events(table_from_seconds(items))
    assert rep.encode_events(rep.decode_events(tokens)).tolist() == tokens.tolist()


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, 127), st.integers(0, 400), st.integers(1, 150), st.integers(0, 31)), max_size=20))
def test_events_on_grid_round_trip_exactly(items):
    # Notes on the 10 ms grid with bin-value velocities and no same-pitch overlap.
    values = _bin_values()
    rows, busy = [], {}
    for pitch, start, length, vbin in items:
        if start < busy.get(pitch, -1):
            continue
        busy[pitch] = start + length
        rows.append((pitch, start / 100, (start + length) / 100, values[vbin]))
    frame = pd.DataFrame(rows, columns=["pitch", "start", "end", "velocity"])
    notes = midi.as_note_table(frame) if rows else midi.empty_notes()
    back = rep.decode_events(rep.encode_events(notes))
    assert same_notes(back, notes, ["pitch", "start", "end", "velocity"], atol=1e-9)


def _bin_values():
    """The velocity each of the 32 bins decodes to."""
    tokens = []
    for b in range(32):
        tokens += [356 + b, 60, 256, 188]
    return rep.decode_events(tokens)["velocity"].tolist()


def test_event_velocity_bins_are_increasing_and_idempotent():
    values = _bin_values()
    assert len(values) == 32 and values == sorted(values) and values[0] >= 1 and values[-1] <= 127
    notes = midi.as_note_table(pd.DataFrame({"pitch": [60] * 32, "start": np.arange(32.0), "end": np.arange(32.0) + 0.5, "velocity": values}))
    assert rep.decode_events(rep.encode_events(notes))["velocity"].tolist() == values


def test_events_edge_cases_and_errors():
    assert rep.encode_events(midi.empty_notes()).tolist() == []
    assert rep.decode_events([]).empty
    # A NOTE_OFF with nothing open is ignored; a note left open lasts to the end.
    back = rep.decode_events([128 + 61, 62, 256 + 9])
    assert back[["pitch", "start", "end"]].to_numpy().tolist() == [[62, 0.0, 0.1]]
    with pytest.raises(ValueError, match="0..387"):
        rep.decode_events([388])
    with pytest.raises(ValueError, match="integers"):
        rep.decode_events([1.5])
    vocab = rep.event_vocabulary()
    assert len(vocab) == 388 + 4 and vocab.id_of(0) == 4 and vocab.id_of(387) == 391


# ----------------------------------------------------------------------- note rows


def test_note_rows_round_trip(chorale):
    rows = rep.encode_note_rows(chorale)
    assert rows.shape == (163, 4)
    assert (np.diff(rows[:, 0]) >= 0).all()
    back = rep.decode_note_rows(rows)
    assert same_notes(back, chorale, ["pitch", "start", "end", "velocity"])
    in_beats = rep.encode_note_rows(chorale, unit="beats")
    assert in_beats[-1, 0] + in_beats[-1, 2] == chorale["end_beat"].max()
    back = rep.decode_note_rows(in_beats, unit="beats", tempo=96)  # the chorale's tempo
    assert same_notes(back, chorale, ["pitch", "start_beat", "end_beat", "start", "end"])


def test_note_rows_edges_and_errors():
    assert rep.encode_note_rows(midi.empty_notes()).shape == (0, 4)
    assert rep.decode_note_rows(np.zeros((0, 4))).empty
    with pytest.raises(ValueError, match=r"\(n_notes, 4\)"):
        rep.decode_note_rows(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="unit"):
        rep.encode_note_rows(midi.empty_notes(), unit="ticks")
    with pytest.raises(ValueError, match="negative durations"):
        rep.decode_note_rows([[0, 60, -1, 80]])


# ---------------------------------------------------------------------- piano roll


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


# ----------------------------------------------------------- (pitch, step, duration)


def test_pitch_step_duration_known_answer():
    notes = midi.as_note_table(pd.DataFrame({"pitch": [64, 60, 67], "start": [0.5, 0.25, 0.5], "end": [1.0, 0.5, 2.0]}))
    features = rep.encode_pitch_step_duration(notes)
    assert features.tolist() == [[60, 0.25, 0.25], [64, 0.25, 0.5], [67, 0.0, 1.5]]
    frame = rep.encode_pitch_step_duration(notes, as_frame=True)
    assert list(frame.columns) == ["pitch", "step", "duration"] and frame["pitch"].dtype == np.int64
    assert same_notes(rep.decode_pitch_step_duration(frame), notes, ["pitch", "start", "end"])


@PROPERTY
@given(notes_in_seconds)
def test_pitch_step_duration_round_trips_to_float_precision(items):
    notes = table_from_seconds(items)
    features = rep.encode_pitch_step_duration(notes)
    back = rep.decode_pitch_step_duration(features)
    assert same_notes(back, notes, ["pitch", "start", "end"], atol=1e-9)
    assert np.allclose(rep.encode_pitch_step_duration(back), features, atol=1e-9)


def test_pitch_step_duration_edges_and_errors(chorale):
    assert rep.encode_pitch_step_duration(chorale).shape == (163, 3)
    assert rep.encode_pitch_step_duration(midi.empty_notes()).shape == (0, 3)
    assert rep.decode_pitch_step_duration(np.zeros((0, 3))).empty
    # Model predictions may stray: negative steps/durations clip to 0, pitches to 0-127.
    back = rep.decode_pitch_step_duration([[130.4, -1.0, 0.5], [59.6, 0.5, -0.2]])
    assert back[["pitch", "start", "end"]].to_numpy().tolist() == [[127, 0.0, 0.5], [60, 0.5, 0.5]]
    with pytest.raises(ValueError, match=r"\(n_notes, 3\)"):
        rep.decode_pitch_step_duration(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="column"):
        rep.decode_pitch_step_duration(pd.DataFrame({"pitch": [60], "step": [0.0]}))


# ----------------------------------------------------------------- quantized tokens


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


# --------------------------------------------------------------- note/chord strings


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


# ------------------------------------------------------------------------ vocabulary


def test_vocabulary_reserved_ids_min_count_and_unk():
    sequences = [["C4", "D4", "C4"], ["C4", "E4", "D4"]]
    vocab = rep.Vocabulary.from_sequences(sequences, min_count=2)
    assert (vocab.pad_id, vocab.start_id, vocab.end_id, vocab.unk_id) == (0, 1, 2, 3)
    assert vocab.tokens == ["C4", "D4"] and len(vocab) == 6
    ids = vocab.encode(["C4", "E4", "F#9", "D4"], add_start_end=True)
    assert ids.tolist() == [1, 4, 3, 3, 5, 2]
    assert vocab.decode(ids) == ["C4", "D4"]
    assert vocab.decode(ids, skip_special=False) == ["<start>", "C4", "<unk>", "<unk>", "D4"]
    assert vocab.decode([4, 2, 5]) == ["C4"]
    assert vocab.decode([4, 2, 5], stop_at_end=False) == ["C4", "D4"]
    assert "C4" in vocab and "E4" not in vocab
    assert vocab.id_of("G4") == vocab.unk_id and vocab.token_of(0) == "<pad>"


def test_vocabulary_without_unk_or_start_end():
    vocab = rep.Vocabulary([10, 20], start_end=False, unk=False)
    assert len(vocab) == 3 and vocab.encode([20, 10]).tolist() == [2, 1]
    with pytest.raises(ValueError, match="no UNK"):
        vocab.encode([30])
    with pytest.raises(ValueError, match="start_end"):
        vocab.encode([10], add_start_end=True)
    with pytest.raises(ValueError, match="outside 0..2"):
        vocab.decode([3])


def test_vocabulary_int_fast_path_matches_dict_path():
    vocab = rep.Vocabulary.from_sequences([np.array([5, 7, 7, 300])])
    array = np.array([7, 5, 300, 999, -1, 6])
    assert vocab.encode(array).tolist() == vocab.encode(array.tolist()).tolist() == [4, 5, 6, 3, 3, 3]


def test_vocabulary_padding():
    vocab = rep.Vocabulary(["a", "b"])
    padded = vocab.encode_padded([["a"], ["b", "a", "b"]], add_start_end=True)
    assert padded.tolist() == [[1, 4, 2, 0, 0], [1, 5, 4, 5, 2]]
    assert vocab.encode_padded([["a"]], length=3).tolist() == [[4, 0, 0]]
    with pytest.raises(ValueError, match="length=1"):
        vocab.encode_padded([["a", "b"]], length=1)
    assert [vocab.decode(row) for row in padded] == [["a"], ["b", "a", "b"]]


def test_vocabulary_json_round_trip_for_every_token_kind(tmp_path):
    for tokens in [[60, 128, 129], ["C4", "C4.E4.G4", "rest", "é"], [(60, 3, 2), (128, 0, 0)], [("C4", 0.5)]]:
        vocab = rep.Vocabulary(tokens, start_end=False)
        path = vocab.save(tmp_path / "v.json", overwrite=True)
        loaded = rep.Vocabulary.load(path)
        assert loaded == vocab and loaded.tokens == tokens and loaded.encode(tokens).tolist() == vocab.encode(tokens).tolist()
    saved = json.loads(path.read_text())
    assert saved["tokens"] == [["C4", 0.5]] and saved["start_end"] is False


def test_vocabulary_save_never_silently_overwrites(tmp_path):
    path = tmp_path / "sub" / "vocab.json"
    rep.Vocabulary(["a"]).save(path)
    rep.Vocabulary(["a"]).save(path)  # same vocabulary: fine
    with pytest.raises(FileExistsError, match="overwrite=True"):
        rep.Vocabulary(["b"]).save(path)
    rep.Vocabulary(["b"]).save(path, overwrite=True)
    assert rep.Vocabulary.load(path).tokens == ["b"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"tokens": [1]}')
    with pytest.raises(ValueError, match="bad.json"):
        rep.Vocabulary.load(bad)
    with pytest.raises(FileNotFoundError):
        rep.Vocabulary.load(tmp_path / "missing.json")


def test_vocabulary_rejects_duplicates_and_bad_args():
    with pytest.raises(ValueError, match="twice"):
        rep.Vocabulary(["a", "a"])
    with pytest.raises(ValueError, match="reserved"):
        rep.Vocabulary(["<pad>"])
    with pytest.raises(ValueError, match="min_count"):
        rep.Vocabulary.from_sequences([["a"]], min_count=0)
    assert rep.Vocabulary.from_sequences([["a", "b", "b"]], max_size=1).tokens == ["b"]


# ------------------------------------------------------------------------ per piece


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
