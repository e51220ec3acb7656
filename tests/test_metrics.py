"""Tests of musicalpy.metrics: features (against muspy and hand-computed values), broken
input, set-vs-set comparison, likelihood accounting, the leaderboard, and the
evaluation sanity checks on the Bach chorales."""

from __future__ import annotations

import inspect
import math
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import muspy
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from musicalpy import metrics as M
from musicalpy.midi import as_note_table, from_music21
from musicalpy.names import VOICES
from musicalpy.render.figures import plot_feature_distributions, plot_overlap


def notes_table(rows, *, part="p", piece="x", drum=False, beats=True):
    """Note table from (pitch, start_beat, end_beat) rows; seconds at 120 bpm."""
    rows = list(rows)
    pitch = [r[0] for r in rows]
    start = np.array([r[1] for r in rows], dtype=float)
    end = np.array([r[2] for r in rows], dtype=float)
    table = pd.DataFrame({"piece": piece, "part": part, "program": 0, "is_drum": drum, "pitch": pitch,
                          "start": start / 2, "end": end / 2, "velocity": 80})
    if beats:
        table["start_beat"] = start
        table["end_beat"] = end
    return table


def to_muspy(notes: pd.DataFrame, resolution: int = 24) -> muspy.Music:
    tracks = []
    for part, rows in notes.groupby("part", sort=False):
        track_notes = [
            muspy.Note(time=int(round(s * resolution)), pitch=int(p),
                       duration=int(round((e - s) * resolution)), velocity=64)
            for p, s, e in rows[["pitch", "start_beat", "end_beat"]].itertuples(index=False)
        ]
        tracks.append(muspy.Track(program=0, is_drum=bool(rows["is_drum"].iloc[0]), name=part, notes=track_notes))
    return muspy.Music(resolution=resolution, tracks=tracks)


def muspy_values(music: muspy.Music) -> dict[str, float]:
    return {
        "pitch_range": muspy.pitch_range(music),
        "n_pitches_used": muspy.n_pitches_used(music),
        "n_pitch_classes_used": muspy.n_pitch_classes_used(music),
        "pitch_entropy": muspy.pitch_entropy(music),
        "pitch_class_entropy": muspy.pitch_class_entropy(music),
        "polyphony": muspy.polyphony(music),
        "polyphony_rate": muspy.polyphony_rate(music),
        "scale_consistency": muspy.scale_consistency(music),
        "pitch_in_scale_rate": muspy.pitch_in_scale_rate(music, 0, "major"),
        "groove_consistency": muspy.groove_consistency(music, 4 * music.resolution),
    }


@pytest.fixture(scope="module")
def chorales() -> dict[str, pd.DataFrame]:
    from music21 import corpus

    # Lengths 63, 111 and 36 beats: groove agrees with muspy only when the length is not a
    # whole number of 4/4 measures (muspy then adds an empty measure; see the docstring).
    names = ["bwv269", "bwv17.7", "bwv66.6"]
    return {name: from_music21(corpus.parse(f"bach/{name}"), piece=name) for name in names}


# ---------------------------------------------------------------------------- muspy


def test_features_equal_muspy_on_real_chorales(chorales):
    checked_groove = 0
    for name, notes in chorales.items():
        ours = M.piece_features(notes)
        theirs = muspy_values(to_muspy(notes))
        length = notes["end_beat"].max()
        assert ours["length_beats"] == length
        for feature, value in theirs.items():
            if feature == "groove_consistency" and length % 4 == 0:
                continue
            checked_groove += feature == "groove_consistency"
            assert ours[feature] == pytest.approx(value, abs=1e-12), (name, feature)
        assert ours["flag"] == ""
    assert checked_groove == 2


def test_groove_differs_from_muspy_only_by_its_extra_measure(chorales):
    notes = chorales["bwv66.6"]
    assert notes["end_beat"].max() == 36  # nine whole 4/4 measures
    onsets = np.zeros(10 * 96, dtype=bool)
    onsets[np.rint(notes["start_beat"].to_numpy() * 24).astype(int)] = True
    patterns = onsets.reshape(10, 96)
    changes = np.count_nonzero(patterns[1:9] != patterns[:8])
    assert M.piece_features(notes)["groove_consistency"] == pytest.approx(1 - changes / (96 * 8))
    # muspy compares the last measure with an empty tenth one as well.
    with_extra = changes + np.count_nonzero(patterns[8])
    assert muspy.groove_consistency(to_muspy(notes), 96) == pytest.approx(1 - with_extra / (96 * 9))


def test_drums_only_matches_muspy_where_defined():
    notes = notes_table([(36, 0, 1), (38, 1, 2), (42, 1, 1.5), (36, 2, 3)], drum=True)
    feats = M.piece_features(notes)
    music = to_muspy(notes)
    assert feats["n_pitches_used"] == muspy.n_pitches_used(music) == 0
    assert feats["n_pitch_classes_used"] == muspy.n_pitch_classes_used(music) == 0
    assert math.isnan(feats["pitch_entropy"]) and math.isnan(muspy.pitch_entropy(music))
    assert math.isnan(feats["polyphony"]) and math.isnan(muspy.polyphony(music))
    assert feats["polyphony_rate"] == muspy.polyphony_rate(music) == 0.0
    assert math.isnan(feats["pitch_range"])  # muspy gives -127 here
    assert math.isnan(feats["scale_consistency"])
    assert np.isnan(feats["pitch_histogram"]).all()
    # Rhythm features use the drums.
    assert feats["n_notes"] == 4 and feats["note_density"] == pytest.approx(4 / 3)
    assert feats["empty_beat_rate"] == 0.0
    assert feats["mean_ioi"] == pytest.approx(1.0)
    assert feats["flag"] == "no_pitched_notes"


def test_empty_beat_rate_sees_a_rest_that_muspy_misses():
    notes = notes_table([(60, 0, 1), (62, 2, 3)])
    assert M.piece_features(notes)["empty_beat_rate"] == pytest.approx(1 / 3)
    assert muspy.empty_beat_rate(to_muspy(notes)) == 0.0


# ------------------------------------------------------- one function per feature


def hand_table() -> pd.DataFrame:
    """Two voices and a drum hit, small enough to compute every feature by hand.

    Soprano E4 F4 G4 (beats 0-1, 1-2, 2-4), bass C3 G2 (0-2, 2-3), a kick at 5-6, so
    L = 6 beats; the pitched notes are E F G C G (pitch classes 4 5 7 0 7)."""
    return pd.concat([
        notes_table([(64, 0, 1), (65, 1, 2), (67, 2, 4)], part="s"),
        notes_table([(48, 0, 2), (43, 2, 3)], part="b"),
        notes_table([(36, 5, 6)], part="d", drum=True),
    ], ignore_index=True)


def _share(size: int, counts: dict[int, float]) -> np.ndarray:
    out = np.zeros(size)
    for index, value in counts.items():
        out[index] = value
    return out


_transitions = np.zeros((12, 12))
_transitions[4, 5] = _transitions[5, 7] = _transitions[0, 7] = 1 / 3  # E-F, F-G (soprano), C-G (bass)

HAND_VALUES = {
    "n_notes": 6,
    "n_pitched_notes": 5,
    "length_beats": 6.0,
    "pitch_range": 24.0,  # G4 67 - G2 43
    "n_pitches_used": 5,
    "n_pitch_classes_used": 4,  # C E F G
    "pitch_entropy": math.log2(5),  # five pitches once each
    "pitch_class_entropy": -3 * 0.2 * math.log2(0.2) - 0.4 * math.log2(0.4),  # G twice
    "polyphony": 7 / 4,  # two pitches for 3 beats, one for 1 beat
    "polyphony_rate": 0.0,  # never more than two pitches
    "scale_consistency": 1.0,  # all in C major
    "pitch_in_scale_rate": 1.0,
    "empty_beat_rate": 1 / 6,  # beat 4 only (the kick sounds in beat 5)
    "groove_consistency": 1 - 2 / 96,  # onsets at 0, 1, 2 vs at 1 (beat 5): two of 96 steps differ
    "note_density": 1.0,  # 6 notes in 6 beats
    "mean_ioi": 5 / 3,  # distinct onsets 0, 1, 2, 5
    "mean_abs_interval": 8 / 3,  # E-F 1, F-G 2, C-G 5
    "pitch_class_histogram": _share(12, {0: 0.2, 4: 0.2, 5: 0.2, 7: 0.4}),
    "pitch_class_transition_matrix": _transitions,
    "note_length_histogram": _share(12, {2: 0.6, 1: 0.4}),  # three quarters, two halves
    "pitch_histogram": _share(128, {43: 0.2, 48: 0.2, 64: 0.2, 65: 0.2, 67: 0.2}),
}


def test_registry_order_is_the_feature_order():
    assert list(M.FEATURES) == [*M.SCALAR_FEATURES, *M.VECTOR_FEATURES]
    assert M.SCALAR_FEATURES[:3] == ("n_notes", "n_pitched_notes", "length_beats")
    assert M.SCALAR_FEATURES[-1] == "mean_abs_interval" and len(M.SCALAR_FEATURES) == 17
    assert list(M.piece_features(hand_table())) == [*M.FEATURES, "flag"]
    assert list(M.corpus_features(hand_table()).columns) == [*M.FEATURES, "flag"]
    assert M.FEATURES["pitch_histogram"] is M.normalized_pitch_histogram
    assert all(getattr(M, name) is function for name, function in M.FEATURES.items() if name != "pitch_histogram")
    # Each function documents itself and shows the signature callers use.
    for function in M.FEATURES.values():
        assert list(inspect.signature(function).parameters) == ["notes", "options"]
        assert re.search(r"Reads\s+``", function.__doc__) and "**options" in function.__doc__


@pytest.mark.parametrize("feature", list(HAND_VALUES))
def test_each_feature_function_on_a_hand_computed_table(feature):
    table = hand_table()
    expected = HAND_VALUES[feature]
    alone = M.FEATURES[feature](table)
    via_prepared = M.FEATURES[feature](M.PieceNotes.from_table(table))
    together = M.piece_features(table)[feature]
    for value in (alone, via_prepared, together):
        if isinstance(expected, np.ndarray):
            assert value.shape == expected.shape
            np.testing.assert_allclose(value, expected, rtol=0, atol=1e-12)
        else:
            assert value == pytest.approx(expected, abs=1e-12)
            assert type(value) is type(expected)


def test_feature_functions_take_the_piece_feature_options():
    table = hand_table()
    assert M.polyphony_rate(table, polyphony_threshold=1) == 0.5  # two pitches for 3 of 6 beats
    assert M.pitch_in_scale_rate(table, scale=("G", "major")) == 0.8  # F is not in G major
    assert M.pitch_in_scale_rate(table, scale=("D", "major")) == 0.6  # neither F nor C in D major
    assert M.pitch_in_scale_rate(table, scale=("Bb", "major")) == M.pitch_in_scale_rate(table, scale=("B-", "major")) == 0.8
    # Measures of 3 one-step beats: onsets {0, 1, 2}, then {2} (beat 5): 2 of 3 steps differ.
    assert M.groove_consistency(table, beats_per_measure=3, steps_per_beat=1) == pytest.approx(1 / 3)
    # Without beat columns the seconds are read at the tempo: 60 bpm doubles every time.
    seconds = table.drop(columns=["start_beat", "end_beat"])
    assert M.length_beats(seconds, tempo=60) == 3.0 and M.length_beats(seconds) == 6.0
    with pytest.raises(ValueError, match="beats_per_measure"):
        M.groove_consistency(table, beats_per_measure=2.5)
    with pytest.raises(TypeError, match="options"):
        M.pitch_range(M.PieceNotes.from_table(table), tempo=90)
    with pytest.raises(ValueError, match="pieces"):
        M.n_notes(pd.concat([table, table.assign(piece="other")]))


def test_vertical_dissonance_known_answers():
    roll = np.zeros((13, 3))
    roll[[0, 6], 0] = 1  # a tritone: dissonant
    roll[[0, 7, 12], 1] = 1  # fifth, fourth, octave: consonant
    roll[[2, 3], 2] = 0.4  # a minor second below the threshold
    assert M.vertical_dissonance(roll) == pytest.approx(1 / 4)
    assert M.vertical_dissonance(roll, threshold=0.3) == pytest.approx(2 / 5)
    assert M.vertical_dissonance(np.stack([roll, roll])) == pytest.approx(1 / 4)  # a batch of rolls
    assert math.isnan(M.vertical_dissonance(np.zeros((13, 2))))
    with pytest.raises(ValueError, match="rolls"):
        M.vertical_dissonance(np.zeros(5))


# ---------------------------------------------------------------------- small pieces


def test_one_note():
    feats = M.piece_features(notes_table([(61, 0, 1)]))
    assert feats["pitch_range"] == 0 and feats["n_pitches_used"] == 1 and feats["n_pitch_classes_used"] == 1
    assert feats["pitch_entropy"] == 0.0 and feats["pitch_class_entropy"] == 0.0
    assert feats["polyphony"] == 1.0 and feats["polyphony_rate"] == 0.0
    assert feats["scale_consistency"] == 1.0
    assert feats["pitch_in_scale_rate"] == 0.0  # C# is not in C major
    assert feats["empty_beat_rate"] == 0.0 and feats["note_density"] == 1.0
    assert math.isnan(feats["groove_consistency"])  # one measure: nothing to compare
    assert math.isnan(feats["mean_ioi"]) and math.isnan(feats["mean_abs_interval"])
    assert np.isnan(feats["pitch_class_transition_matrix"]).all()
    assert feats["pitch_class_histogram"][1] == 1.0 and feats["pitch_class_histogram"].sum() == 1.0
    assert feats["note_length_histogram"][list(M.NOTE_LENGTH_CLASSES.index).index("quarter")] == 1.0
    assert feats["flag"] == ""


def test_empty_piece():
    feats = M.piece_features(notes_table([]))
    assert feats["n_notes"] == 0 and feats["n_pitches_used"] == 0 and feats["length_beats"] == 0.0
    for name in ("pitch_range", "pitch_entropy", "polyphony", "polyphony_rate", "scale_consistency",
                 "empty_beat_rate", "groove_consistency", "note_density", "mean_ioi", "mean_abs_interval"):
        assert math.isnan(feats[name]), name
    assert np.isnan(feats["pitch_class_histogram"]).all()
    assert feats["flag"] == "no_notes"
    frame = M.corpus_features(notes_table([]).iloc[0:0])
    assert len(frame) == 0 and "pitch_range" in frame.columns


def test_silence_then_notes():
    # Four silent beats, then C D E F in quarter notes.
    feats = M.piece_features(notes_table([(60, 4, 5), (62, 5, 6), (64, 6, 7), (65, 7, 8)]))
    assert feats["length_beats"] == 8.0
    assert feats["empty_beat_rate"] == 0.5
    assert feats["note_density"] == 0.5
    assert feats["mean_ioi"] == 1.0
    assert feats["mean_abs_interval"] == pytest.approx(5 / 3)
    assert feats["polyphony"] == 1.0
    # Measure 0 is empty, measure 1 has four onsets: 4 of 96 grid steps differ.
    assert feats["groove_consistency"] == pytest.approx(1 - 4 / 96)
    transitions = feats["pitch_class_transition_matrix"]
    assert transitions[0, 2] == transitions[2, 4] == transitions[4, 5] == pytest.approx(1 / 3)


def test_identical_bars():
    bar = [(60, 0, 1), (64, 1, 1.5), (67, 1.5, 2), (72, 2, 4)]
    notes = notes_table([(p, s + 4 * k, e + 4 * k) for k in range(4) for p, s, e in bar])
    feats = M.piece_features(notes)
    assert feats["groove_consistency"] == 1.0
    assert feats["empty_beat_rate"] == 0.0
    assert feats["note_density"] == 1.0
    assert feats["scale_consistency"] == 1.0 and feats["pitch_in_scale_rate"] == 1.0
    lengths = dict(zip(M.NOTE_LENGTH_CLASSES.index, feats["note_length_histogram"], strict=True))
    assert lengths == pytest.approx({**{k: 0.0 for k in lengths}, "quarter": 0.25, "eighth": 0.5, "half": 0.25})
    assert M.piece_features(notes, by_part=True).loc["p", "groove_consistency"] == 1.0


def test_chords_and_unison_polyphony():
    triad = notes_table([(60, 0, 4), (64, 0, 4), (67, 0, 4)])
    assert M.piece_features(triad)["polyphony"] == 3.0
    assert M.piece_features(triad)["polyphony_rate"] == 1.0  # more than 2 pitches
    assert M.piece_features(triad, polyphony_threshold=3)["polyphony_rate"] == 0.0
    # The same pitch in two parts sounds once (a binary piano roll), half of the time 2 pitches.
    unison = pd.concat([notes_table([(60, 0, 4)], part="a"), notes_table([(60, 0, 2), (64, 2, 4)], part="b")])
    feats = M.piece_features(unison)
    assert feats["polyphony"] == 1.5
    assert feats["polyphony"] == muspy.polyphony(to_muspy(unison))
    assert M.piece_features(unison, polyphony_threshold=1)["polyphony_rate"] == 0.5


def test_seconds_fallback_uses_the_tempo():
    rows = [(60, 0, 1), (62, 1, 1.5), (64, 1.5, 2), (65, 3, 4), (67, 4, 6)]
    with_beats = M.piece_features(notes_table(rows))
    seconds_only = M.piece_features(notes_table(rows, beats=False))  # 120 bpm: 0.5 s a beat
    slow = M.piece_features(notes_table(rows, beats=False), tempo=60)  # same seconds at 60 bpm
    for name in ("empty_beat_rate", "note_density", "mean_ioi", "groove_consistency", "length_beats"):
        assert seconds_only[name] == pytest.approx(with_beats[name]), name
    assert slow["length_beats"] == 3.0 and slow["mean_ioi"] == pytest.approx(0.5 * with_beats["mean_ioi"])


def test_by_part_keeps_the_piece_length():
    notes = pd.concat([notes_table([(72, 0, 4), (74, 4, 8)], part="top"),
                       notes_table([(48, 0, 4)], part="bottom")])
    frame = M.piece_features(notes, by_part=True)
    assert list(frame.index) == ["top", "bottom"]
    assert frame.loc["bottom", "empty_beat_rate"] == 0.5
    assert frame.loc["top", "mean_abs_interval"] == 2.0
    assert frame.loc["bottom", "note_density"] == 1 / 8
    # Over all parts, the interval is taken within parts, never across them.
    assert M.piece_features(notes)["mean_abs_interval"] == 2.0


def test_scale_argument_and_errors():
    notes = notes_table([(66, 0, 1), (68, 1, 2), (70, 2, 3), (71, 3, 4)])  # F# G# B- B
    assert M.piece_features(notes, scale=("F#", "major"))["pitch_in_scale_rate"] == 1.0
    assert M.piece_features(notes, scale=(6, "major"))["pitch_in_scale_rate"] == 1.0
    assert M.piece_features(notes, scale=("Eb", "minor"))["pitch_in_scale_rate"] == 1.0
    assert M.piece_features(notes, scale=("C", "major"))["pitch_in_scale_rate"] == 0.25
    with pytest.raises(ValueError, match="mode"):
        M.piece_features(notes, scale=(0, "dorian"))
    with pytest.raises(ValueError, match="tempo"):
        M.piece_features(notes, tempo=0)
    with pytest.raises(ValueError, match="corpus_features"):
        M.piece_features(pd.concat([notes, notes.assign(piece="y")]))
    with pytest.raises(ValueError, match="required column"):
        M.piece_features(notes.drop(columns="end"))


def test_corpus_features_equals_piece_features(chorales):
    table = pd.concat(chorales.values(), ignore_index=True)
    frame = M.corpus_features(table)
    assert list(frame.index) == list(chorales)
    for name, notes in chorales.items():
        single = M.piece_features(notes)
        for feature in M.SCALAR_FEATURES:
            assert frame.loc[name, feature] == pytest.approx(single[feature], nan_ok=True), feature
        for feature in M.VECTOR_FEATURES:
            np.testing.assert_allclose(frame.loc[name, feature], single[feature])
    from_list = M.corpus_features([n.drop(columns="piece") for n in chorales.values()])
    assert list(from_list.index) == ["0", "1", "2"]
    assert from_list["pitch_entropy"].tolist() == pytest.approx(frame["pitch_entropy"].tolist())


# ------------------------------------------------------------------------- bad input


def broken_table() -> pd.DataFrame:
    good = notes_table([(60, 0, 1), (62, 1, 2), (64, 2, 3)])
    bad = pd.DataFrame({
        "piece": "x", "part": "p", "program": 0, "is_drum": False,
        "pitch": [130, -3, 61, 62, np.nan, 63, 64.4],
        "start": [0.0, 0.5, 1.0, -1.0, 0.0, 1.0, 0.5],
        "end": [0.5, 1.0, 1.0, 0.5, 0.5, 0.5, 1.0],
        "velocity": [80, 80, 80, 80, 80, 200, 0],
        "start_beat": [0.0, 1.0, 2.0, -2.0, 0.0, 2.0, 1.0],
        "end_beat": [1.0, 2.0, 2.0, 1.0, 1.0, 1.0, 2.0],
    })
    return pd.concat([good, bad], ignore_index=True)


def test_validate_notes_reports_every_problem():
    report = M.validate_notes(broken_table()).set_index("problem")
    expected = {"missing_value": 1, "pitch_out_of_range": 2, "non_integer_pitch": 1, "negative_start": 1,
                "zero_duration": 1, "negative_duration": 1, "invalid_beats": 3, "velocity_out_of_range": 2}
    assert report["n_notes"].to_dict() == expected
    assert report.loc["pitch_out_of_range", "rows"] == [3, 4]
    assert M.validate_notes(notes_table([(60, 0, 1)])).empty
    at_once = M.validate_notes(notes_table([(60, 0, 1), (64, 0, 2)]))
    assert at_once["problem"].tolist() == ["single_onset"]
    nothing = M.validate_notes(notes_table([(60, 1, 1)]))
    assert nothing["problem"].tolist() == ["zero_duration", "invalid_beats", "no_notes"]
    with pytest.raises(ValueError, match="required column"):
        M.validate_notes(pd.DataFrame({"pitch": [60]}))


def test_clean_notes_drops_or_clips_and_says_so():
    broken = broken_table()
    with pytest.raises(ValueError):
        as_note_table(broken)
    clean, report = M.clean_notes(broken)
    as_note_table(clean)  # valid now
    assert clean["pitch"].tolist() == [60, 62, 64, 64]  # 64.4 rounded, velocity 0 clipped
    assert clean["velocity"].tolist() == [80, 80, 1, 80]
    actions = report.set_index("problem")["action"]
    assert actions["pitch_out_of_range"] == "dropped" and actions["non_integer_pitch"] == "rounded"
    clipped, report = M.clean_notes(broken, pitch="clip")
    assert sorted(clipped["pitch"].tolist()) == [0, 60, 62, 64, 64, 127]
    assert report.set_index("problem").loc["pitch_out_of_range", "action"] == "clipped to 0-127"
    with pytest.raises(ValueError, match="pitch must be"):
        M.clean_notes(broken, pitch="wrap")


def test_features_of_broken_table_equal_those_of_the_cleaned_table():
    broken = broken_table()
    feats = M.piece_features(broken)
    clean = M.piece_features(M.clean_notes(broken)[0])
    for name in M.SCALAR_FEATURES:
        assert feats[name] == pytest.approx(clean[name], nan_ok=True), name
    assert feats["flag"] == ("missing_value:1;pitch_out_of_range:2;negative_start:1;zero_duration:1;"
                             "negative_duration:1;invalid_beats:3")
    assert clean["flag"] == ""


def test_all_notes_at_one_time():
    feats = M.piece_features(notes_table([(60, 0, 1), (64, 0, 1), (67, 0, 2)]))
    assert "single_onset" in feats["flag"]
    assert math.isnan(feats["mean_ioi"])
    assert feats["polyphony"] == 2.0  # three pitches for a beat, then one
    assert feats["note_density"] == 1.5


note_rows = st.lists(
    st.tuples(
        st.one_of(st.integers(-20, 150), st.just(float("nan")), st.floats(-5, 140, allow_nan=False)),
        st.one_of(st.floats(-3, 20), st.sampled_from([float("nan"), float("inf")])),
        st.one_of(st.floats(-3, 20), st.just(float("nan"))),
        st.booleans(),
        st.sampled_from(["a", "b"]),
        st.sampled_from(["x", "y"]),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(note_rows, st.booleans())
def test_metrics_never_crash_on_broken_tables(rows, with_beats):
    table = pd.DataFrame(rows, columns=["pitch", "start", "end", "is_drum", "part", "piece"])
    if with_beats:
        table["start_beat"], table["end_beat"] = table["start"] * 2, table["end"] * 2
    frame = M.corpus_features(table)
    assert len(frame) == table["piece"].nunique()
    for value in frame["scale_consistency"].dropna():
        assert 0 < value <= 1
    for value in frame["empty_beat_rate"].dropna():
        assert 0 <= value <= 1
    M.validate_notes(table)
    clean, _ = M.clean_notes(table, pitch="clip")
    as_note_table(clean)
    for piece, rows_of_piece in table.groupby("piece"):
        single = M.piece_features(rows_of_piece)
        assert single["n_notes"] == frame.loc[piece, "n_notes"]


# ------------------------------------------------------------------------- set vs set


def test_kde_overlap_known_answers():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(0, 1, 20000), rng.normal(0, 1, 20000), rng.normal(1, 1, 20000)
    oa, kl, flag = M.kde_overlap(a, b)
    assert oa > 0.98 and kl < 0.005 and flag == ""
    # Two unit normals one apart overlap by 2 Phi(-1/2) and have KL 1/2; the KDE adds
    # bandwidth^2 (about 0.02) to each variance.
    oa, kl, _ = M.kde_overlap(a, c)
    assert oa == pytest.approx(2 * norm.cdf(-0.5), abs=0.01)
    assert kl == pytest.approx(0.5, abs=0.03)
    oa, kl, _ = M.kde_overlap(a, a + 50)
    assert oa < 1e-6 and kl > 10


def test_kde_overlap_degenerate_cases():
    assert M.kde_overlap(np.zeros(10), np.zeros(3)) == (1.0, 0.0, "all values equal")
    oa, kl, flag = M.kde_overlap(np.zeros(10), np.ones(4))
    assert oa < 1e-6 and "narrow" in flag
    oa, kl, flag = M.kde_overlap(np.zeros(10), np.ones(4), degenerate="nan")
    assert math.isnan(oa) and math.isnan(kl) and "undefined" in flag
    rng = np.random.default_rng(1)
    spread = rng.normal(0, 1, 5000)
    oa, _, flag = M.kde_overlap(np.zeros(50), spread)  # a spike at 0 against N(0, 1)
    assert flag.startswith("constant reference") and 0.05 < oa < 0.6
    assert M.kde_overlap([], spread)[2] == "empty sample"


def test_pitch_histogram_kl_known_answer():
    p = notes_table([(60, 0, 1), (62, 1, 2)])
    q = notes_table([(60, 0, 1)])
    eps = 1e-4
    smooth_p = np.full(128, eps)
    smooth_p[[60, 62]] += 0.5
    smooth_q = np.full(128, eps)
    smooth_q[60] += 1.0
    smooth_p, smooth_q = smooth_p / smooth_p.sum(), smooth_q / smooth_q.sum()
    expected = float(np.sum(smooth_p * np.log(smooth_p / smooth_q)))
    assert M.pitch_histogram_kl(p, q, epsilon=eps) == pytest.approx(expected)
    assert M.pitch_histogram_kl(p, p) == 0.0
    assert M.pitch_histogram_kl(M.pitch_histogram(p), M.pitch_histogram(q), epsilon=eps) == pytest.approx(expected)
    assert math.isnan(M.pitch_histogram_kl(p, notes_table([(36, 0, 1)], drum=True)))
    by_part = M.pitch_histogram_kl(pd.concat([p, q.assign(part="b")]), pd.concat([q, q.assign(part="b")]),
                                   by_part=True, epsilon=eps)
    assert by_part.to_dict() == pytest.approx({"p": expected, "b": 0.0})
    with pytest.raises(ValueError, match="128"):
        M.pitch_histogram_kl(np.ones(12), np.ones(12))


def many_pieces(n: int, seed: int, shift: int = 0) -> pd.DataFrame:
    """Random diatonic pieces in quarter and eighth notes."""
    rng = np.random.default_rng(seed)
    scale = np.array([0, 2, 4, 5, 7, 9, 11])
    frames = []
    for index in range(n):
        length = rng.integers(16, 40)
        durations = rng.choice([0.5, 1.0], size=length)
        starts = np.concatenate([[0], np.cumsum(durations)[:-1]])
        pitches = 60 + shift + scale[rng.integers(0, 7, size=length)] + 12 * rng.integers(-1, 1, size=length)
        frames.append(notes_table(zip(pitches, starts, starts + durations, strict=True), piece=f"s{seed}-{index}"))
    return pd.concat(frames, ignore_index=True)


def test_compare_sets_same_style_and_transposed():
    reference = many_pieces(60, seed=1)
    same = M.compare_sets(many_pieces(40, seed=2), reference)
    up = M.compare_sets(many_pieces(40, seed=3, shift=24), reference)
    assert same["oa"].min() > 0.75
    assert same.loc["pitch_histogram", "pooled_kl"] < 0.05
    # Two octaves up (no pitch in common): pitch classes, range and rhythm unchanged.
    assert up.loc["pitch_histogram", "oa"] < 0.1 and up.loc["pitch_histogram", "pooled_kl"] > 3
    for feature in ("pitch_class_histogram", "pitch_range", "note_density"):
        assert up.loc[feature, "oa"] > 0.75, feature
    row = same.loc["note_density"]
    assert row["kind"] == "scalar" and row["n_generated"] == 40 and row["n_reference"] == 60
    assert row["mean_reference"] == pytest.approx(M.corpus_features(reference)["note_density"].mean())
    assert math.isnan(same.loc["pitch_histogram", "mean_generated"])
    assert same.loc["pitch_histogram", "pooled_kl"] == pytest.approx(
        M.pitch_histogram_kl(reference, many_pieces(40, seed=2)))


def test_compare_sets_accepts_tables_lists_and_feature_frames():
    reference, generated = many_pieces(12, seed=4), many_pieces(8, seed=5)
    from_tables = M.compare_sets(generated, reference)
    from_frames = M.compare_sets(M.corpus_features(generated), M.corpus_features(reference))
    from_lists = M.compare_sets([g for _, g in generated.groupby("piece")], reference)
    pd.testing.assert_frame_equal(from_tables, from_frames)
    pd.testing.assert_series_equal(from_tables["oa"], from_lists["oa"])
    only = M.compare_sets(generated, reference, features=["pitch_range"])
    assert list(only.index) == ["pitch_range"]
    with pytest.raises(ValueError, match="not in both"):
        M.compare_sets(generated, reference, features=["loudness"])
    with pytest.raises(TypeError):
        M.compare_sets("generated", reference)


def test_compare_sets_constant_and_undefined_features():
    reference = pd.DataFrame({"pitch_range": [12.0] * 5, "mean_ioi": [1.0, 1.5, 2.0, 1.0, 1.2]},
                             index=pd.Index([f"r{i}" for i in range(5)], name="piece"))
    same = pd.DataFrame({"pitch_range": [12.0] * 3, "mean_ioi": [np.nan, np.nan, 1.0]})
    result = M.compare_sets(same, reference)
    assert result.loc["pitch_range", "oa"] == 1.0 and result.loc["pitch_range", "flag"] == "all values equal"
    assert result.loc["mean_ioi", "n_generated"] == 1
    different = M.compare_sets(same.assign(pitch_range=30.0), reference, degenerate="nan")
    assert math.isnan(different.loc["pitch_range", "oa"]) and "undefined" in different.loc["pitch_range", "flag"]
    empty = M.compare_sets(same.assign(mean_ioi=np.nan), reference)
    assert math.isnan(empty.loc["mean_ioi", "oa"]) and "needs" in empty.loc["mean_ioi", "flag"]


def test_plots():
    reference, generated = many_pieces(10, seed=6), many_pieces(6, seed=7)
    fig = plot_feature_distributions(generated, reference, features=["pitch_range", "note_density", "mean_ioi"])
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["pitch_range", "note_density", "mean_ioi"]
    plt.close(fig)
    fig = plot_feature_distributions(generated, reference, kind="kde", ncols=2,
                                     features=["pitch_range", "polyphony", "mean_ioi"])
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 3 and len(fig.axes) == 4  # a 2 x 2 grid, the fourth hidden
    assert len(visible[1].lines) == 2  # polyphony is 1 everywhere: one line per set, no KDE
    plt.close(fig)
    comparison = M.compare_sets(generated, reference)
    ax = plot_overlap(comparison)
    assert len(ax.patches) == len(comparison)
    assert ax.get_xlim() == (0, 1)
    plt.close(ax.figure)
    ax = plot_overlap({"a": comparison, "b": comparison.assign(kl=2 * comparison["kl"])}, measure="kl")
    widths = sorted(p.get_width() for p in ax.patches if p.get_width() > 0)
    expected = sorted([*comparison["kl"], *(2 * comparison["kl"])])
    assert widths == pytest.approx([w for w in expected if w > 0])
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="kind"):
        plot_feature_distributions(generated, reference, kind="box")


# ------------------------------------------------------------------ bits per token and note


def test_bits_per_token_and_note():
    assert M.bits_per_token(-100 * math.log(2), 100) == pytest.approx(1.0)
    assert M.bits_per_token(-100 * math.log(8), 50) == pytest.approx(6.0)
    assert M.bits_per_note(-300 * math.log(2), 100) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="n_tokens"):
        M.bits_per_token(-1.0, 0)
    with pytest.raises(ValueError, match="n_notes"):
        M.bits_per_note(-1.0, -2)



def test_evaluation_row_scores_from_raw_counts():
    reference = as_note_table(pd.DataFrame({"pitch": [60, 62], "start": [0.0, 0.5], "end": [0.5, 1.0]}))
    row = M.evaluation_row("pitch/hold", "HMM-4", "Soprano", -200 * math.log(2), 100, 50, reference, reference, 1.5)
    assert row["bits/token"] == pytest.approx(2.0)
    assert row["bits/note"] == pytest.approx(4.0)
    assert row["KL vs training"] == pytest.approx(0.0, abs=1e-9)
    assert (row["test tokens"], row["test notes"], row["seconds"]) == (100, 50, 1.5)
    unscored = M.evaluation_row("note rows", "zipped", "all", float("nan"), 0, 50, reference,
                                reference.assign(pitch=[60, 60]))
    assert math.isnan(unscored["bits/note"]) and math.isnan(unscored["test tokens"]) and math.isnan(unscored["seconds"])
    assert unscored["KL vs training"] > 0.1


# ---------------------------------------------------------------- the Bach sanity checks


@pytest.fixture(scope="module")
def bach_evaluation():
    """Chorale splits, an order-1 Markov chain per voice over quantized tokens, its
    samples, and the comparisons (as in docs/evaluation.md's sanity checks)."""
    from musicalpy.corpus import load_corpus
    from musicalpy.markov import MarkovChain, UnigramModel
    from musicalpy.representations import decode_quantized_tokens, encode_pieces

    corpus = load_corpus("bach", progress=False).select_parts(VOICES)
    train, test = corpus.split("train"), corpus.split("test")
    tokens = {name: encode_pieces(split.notes, "quantized_tokens") for name, split in
              (("train", train), ("test", test))}
    per_voice = {name: {v: [seq for (_, part), seq in encoded.items() if part == v] for v in VOICES}
                 for name, encoded in tokens.items()}
    results = {"n_test_notes": len(test.notes)}
    for label, make in (("markov", lambda: MarkovChain(order=1, alpha=0.1)),
                        ("unigram", lambda: UnigramModel(alpha=0.1))):
        models = {v: make().fit(per_voice["train"][v]) for v in VOICES}
        loglik = sum(models[v].score(per_voice["test"][v]) for v in VOICES)
        n_tokens = sum(len(s) for v in VOICES for s in per_voice["test"][v])
        results[label] = {"models": models, "bits_per_token": M.bits_per_token(loglik, n_tokens),
                          "bits_per_note": M.bits_per_note(loglik, len(test.notes))}
    lengths = {v: int(np.median([len(s) for s in per_voice["train"][v]])) for v in VOICES}
    samples = []
    for index in range(40):
        for offset, voice in enumerate(VOICES):
            chain = results["markov"]["models"][voice]
            drawn = chain.sample(lengths[voice], random_state=100 * index + offset)
            samples.append(decode_quantized_tokens(drawn, piece=f"markov-{index}", part=voice))
    reference = M.corpus_features(train.notes)
    results["held_out"] = M.compare_sets(test.notes, reference)
    results["markov_samples"] = M.compare_sets(pd.concat(samples, ignore_index=True), reference)
    return results


# Measured by this fixture on 2026-12-06 on today's split (297 training and 37 test chorales,
# 8,435 test notes); docs/evaluation.md quotes the same comparison. Everything in it is
# deterministic (counts, seeded samples, kernel density overlaps), so the numbers are
# asserted to the last digit quoted, a half unit of it for the floating-point sums.


def test_held_out_chorales_overlap_the_training_chorales(bach_evaluation):
    assert bach_evaluation["n_test_notes"] == 8_435
    oa = bach_evaluation["held_out"]["oa"]
    assert oa.notna().all() and len(oa) == 21
    # 0.906 at the lowest (the empty-beat rate), 0.959 on average: near 1 on every feature
    assert (oa.idxmin(), oa.min(), oa.mean()) == ("empty_beat_rate", pytest.approx(0.9064, abs=5e-5),
                                                  pytest.approx(0.9588, abs=5e-5))


def test_markov_samples_overlap_less_than_held_out_chorales(bach_evaluation):
    held_out = bach_evaluation["held_out"]["oa"]
    markov = bach_evaluation["markov_samples"]["oa"]
    assert markov.mean() == pytest.approx(0.6195, abs=5e-5)
    # Lower on 20 of the 21 features: not on the empty-beat rate (0.910 against 0.906).
    assert list(held_out.index[markov >= held_out]) == ["empty_beat_rate"]
    # What a pitch-only Markov chain cannot learn: staying in a key, four-voice texture.
    assert markov[["polyphony", "scale_consistency", "pitch_class_entropy"]].tolist() == pytest.approx(
        [0.0245, 0.1488, 0.2341], abs=5e-5)


def test_markov_needs_fewer_bits_than_unigram_on_held_out_chorales(bach_evaluation):
    markov, unigram = bach_evaluation["markov"], bach_evaluation["unigram"]
    assert (markov["bits_per_token"], unigram["bits_per_token"]) == pytest.approx((4.1619, 5.3010), abs=5e-5)
    # Rest tokens make tokens outnumber notes a little (8,794 against 8,435).
    assert (markov["bits_per_note"], unigram["bits_per_note"]) == pytest.approx((4.3390, 5.5266), abs=5e-5)


# ------------------------------------------------- budget-free features, seeds, verdicts


def test_budget_free_features_leave_out_what_grows_with_length():
    assert set(M.FEATURES) - set(M.BUDGET_FREE_FEATURES) == {
        "n_notes", "n_pitched_notes", "length_beats", "pitch_range", "n_pitches_used", "n_pitch_classes_used"}
    assert M.VOICE_FEATURES == ("mean_abs_interval", "pitch_class_transition_matrix")
    # A piece played twice is twice as long: the budget-bound features grow, the
    # budget-free ones (rates, means) stay where they were.
    once = many_pieces(1, seed=11)
    length = float(once["end_beat"].max())
    twice = pd.concat([once, once.assign(start=once["start"] + length / 2, end=once["end"] + length / 2,
                                         start_beat=once["start_beat"] + length, end_beat=once["end_beat"] + length)],
                      ignore_index=True)
    a, b = M.piece_features(once), M.piece_features(twice)
    assert b["n_notes"] == 2 * a["n_notes"] and b["length_beats"] == pytest.approx(2 * a["length_beats"])
    for feature in ("note_density", "polyphony", "pitch_in_scale_rate", "empty_beat_rate", "mean_ioi"):
        assert feature in M.BUDGET_FREE_FEATURES
        assert b[feature] == pytest.approx(a[feature], rel=0.05), feature


def test_mark_not_applicable_blanks_only_the_named_rows():
    comparison = M.compare_sets(many_pieces(6, seed=12), many_pieces(8, seed=13))
    marked = M.mark_not_applicable(comparison, M.VOICE_FEATURES, "one part")
    for feature in M.VOICE_FEATURES:
        assert math.isnan(marked.loc[feature, "oa"]) and math.isnan(marked.loc[feature, "kl"])
        assert marked.loc[feature, "flag"] == "not applicable: one part"
    assert comparison.loc["mean_abs_interval", "oa"] > 0  # the input is left as it was
    rest = [f for f in comparison.index if f not in M.VOICE_FEATURES]
    pd.testing.assert_series_equal(marked.loc[rest, "oa"], comparison.loc[rest, "oa"])
    with pytest.raises(ValueError, match="reason"):
        M.mark_not_applicable(comparison, ["pitch_range"], "")


def test_seed_spread_and_mean_oa_are_mean_and_sd_over_seeds():
    reference = many_pieces(10, seed=14)
    runs = [M.compare_sets(many_pieces(6, seed=20 + s), reference) for s in range(3)]
    spread = M.seed_spread(runs)
    oa = np.stack([r["oa"].to_numpy() for r in runs], axis=1)
    np.testing.assert_allclose(spread["oa"], oa.mean(axis=1))
    np.testing.assert_allclose(spread["oa_sd"], oa.std(axis=1, ddof=1))
    assert (spread["n_seeds"] == 3).all() and spread["oa_sd"].max() > 0
    free = [f for f in M.BUDGET_FREE_FEATURES if f in spread.index]
    per_seed = [r.loc[free, "oa"].mean() for r in runs]
    mean, sd = M.mean_oa(spread)
    assert mean == pytest.approx(np.mean(per_seed)) and sd == pytest.approx(np.std(per_seed, ddof=1))
    single, no_sd = M.mean_oa(runs[0])
    assert single == pytest.approx(per_seed[0]) and math.isnan(no_sd)
    with pytest.raises(ValueError, match="at least 2"):
        M.seed_spread(runs[:1])
    with pytest.raises(ValueError, match="other features"):
        M.seed_spread([runs[0], runs[1].iloc[:3]])


def test_spread_verdict_claims_a_winner_only_beyond_the_spread():
    assert M.spread_verdict(("b", 0.50, 0.01), ("a", 0.60, 0.02)).startswith("a beats b on mean OA by 0.100")
    within = M.spread_verdict(("a", 0.60, 0.02), ("b", 0.57, 0.02))
    assert within.startswith("a and b are within the spread") and "a 0.600 ± 0.020" in within
    bits = M.spread_verdict(("lstm", 2.10, 0.01), ("wavenet", 2.00, 0.02), measure="bits per token",
                            higher_is_better=False, digits=2)
    assert bits == "wavenet beats lstm on bits per token by 0.10 (wavenet 2.00 ± 0.02, lstm 2.10 ± 0.01)."
    assert "within" in M.spread_verdict(("a", 0.9, math.nan), ("b", 0.1, 0.0))  # no spread, no winner
    with pytest.raises(ValueError, match="first must be"):
        M.spread_verdict(("a", 0.5), ("b", 0.4, 0.0))
