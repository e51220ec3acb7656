"""Tests of musicalpy.metrics.voice_leading: known answers on hand-made four-voice tables,
music21's VoiceLeadingQuartet as the oracle on real chorales, and the leaderboard columns."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from musicalpy import metrics as M
from musicalpy.leaderboard import VOICE_LEADING_COLUMNS, Leaderboard, voice_leading_columns
from musicalpy.midi import from_music21
from musicalpy.names import VOICES


def voices(piece: str = "p", **lines: list[tuple[int, float, float]]) -> pd.DataFrame:
    """A note table from ``Soprano=[(pitch, start_beat, end_beat), ...]`` and so on."""
    rows = [(piece, part, pitch, start, end) for part, notes in lines.items() for pitch, start, end in notes]
    frame = pd.DataFrame(rows, columns=["piece", "part", "pitch", "start_beat", "end_beat"])
    return frame.assign(start=frame["start_beat"] / 2, end=frame["end_beat"] / 2)


def quarters(*pitches: int, start: float = 0.0) -> list[tuple[int, float, float]]:
    return [(p, start + i, start + i + 1) for i, p in enumerate(pitches)]


@pytest.fixture
def chorale_phrase() -> pd.DataFrame:
    """Three homophonic chords C - Dm - C with a parallel double octave (S-B, beats 0-1)
    and two parallel twelfths (A-B, beats 0-1-2)."""
    return voices(Soprano=quarters(72, 74, 76), Alto=quarters(67, 69, 67),
                  Tenor=quarters(64, 65, 60), Bass=quarters(48, 50, 48))


# ------------------------------------------------------------------ known answers


def test_parallels_of_a_homophonic_phrase(chorale_phrase):
    # Every voice moves at both steps: 6 pairs x 2 transitions.
    result = M.piece_voice_leading(chorale_phrase)
    assert result["pair_transitions"] == 12
    assert result["n_parallel_fifths"] == 2 and result["n_parallel_octaves"] == 1
    assert M.parallel_fifths(chorale_phrase) == pytest.approx(100 * 2 / 12)
    assert M.parallel_octaves(chorale_phrase) == pytest.approx(100 * 1 / 12)
    assert M.voice_crossing(chorale_phrase) == 0.0 and M.voice_overlap(chorale_phrase) == 0.0
    assert M.homorhythm(chorale_phrase) == 100.0
    assert M.wide_spacing(chorale_phrase) == 0.0
    assert M.out_of_range(chorale_phrase) == 0.0
    counts = dict(zip(M.CHORD_TYPES, M.chord_type_histogram(chorale_phrase), strict=True))
    assert counts["major triad"] == 2 and counts["minor triad"] == 1 and sum(counts.values()) == 3


def test_transitions_are_read_on_the_union_of_onsets():
    # S holds a half note while A moves; T enters on beat 1; B holds throughout.
    notes = voices(Soprano=[(72, 0, 2), (74, 2, 3)], Alto=quarters(65, 67, 67), Tenor=[(60, 1, 3)],
                   Bass=[(48, 0, 3)])
    grid = M.voice_grid(notes)
    np.testing.assert_array_equal(grid.onsets, [0, 1, 2])
    np.testing.assert_array_equal(grid.pitch, [[72, 65, np.nan, 48], [72, 67, 60, 48], [74, 67, 60, 48]])
    np.testing.assert_array_equal(grid.attack, [[1, 1, 0, 1], [0, 1, 1, 0], [1, 1, 0, 0]])
    # S-A moves at both steps (oblique motion); the alto's repeated G4 with a held tenor
    # is no transition of A-T; the tenor's entry breaks the pairs it enters.
    np.testing.assert_array_equal(M.voice_pair_transitions(grid, 0, 1), [[72, 72, 65, 67], [72, 74, 67, 67]])
    assert len(M.voice_pair_transitions(grid, 1, 2)) == 0
    assert len(M.voice_pair_transitions(grid, 0, 2)) == 1
    result = M.piece_voice_leading(grid)
    assert result["pair_transitions"] == 5 and result["adjacent_transitions"] == 2
    assert result["parallel_fifths"] == 0.0  # defined (5 transitions), nothing parallel
    assert M.homorhythm(grid) == pytest.approx(100 / 3)  # only onset 0 has three attacks


def test_octaves_and_fifths_follow_music21_on_unisons_and_contrary_motion():
    pieces = pd.concat([
        voices("similar unison to octave", Soprano=quarters(60, 74), Alto=quarters(60, 62)),
        voices("contrary unison to octave", Soprano=quarters(60, 67), Alto=quarters(60, 55)),
        voices("antiparallel fifth", Soprano=quarters(67, 74), Bass=quarters(48, 43)),
        voices("oblique fifths", Soprano=quarters(72, 84), Bass=[(65, 0, 2)]),
    ], ignore_index=True)
    frame = M.corpus_voice_leading(pieces)
    assert frame.loc["similar unison to octave", "parallel_octaves"] == 0.0
    assert frame.loc["contrary unison to octave", "parallel_octaves"] == 100.0
    assert frame.loc["antiparallel fifth", "parallel_fifths"] == 100.0
    assert frame.loc["oblique fifths", "parallel_fifths"] == 0.0  # a fifth, then a twelfth, over a held bass
    assert frame.loc["oblique fifths", "pair_transitions"] == 1


def test_crossing_and_overlap_pooled_over_pieces():
    crossed = voices("crossed", Alto=quarters(64, 62), Tenor=quarters(60, 65))  # T rises above A
    overlapped = voices("overlapped", Alto=quarters(64, 59), Tenor=quarters(60, 57))  # A falls below T's C4
    frame = M.corpus_voice_leading(pd.concat([crossed, overlapped], ignore_index=True))
    assert frame["voice_crossing"].tolist() == [100.0, 0.0]
    assert frame["voice_overlap"].tolist() == [100.0, 100.0]
    summary = M.voice_leading_summary(pd.concat([crossed, overlapped], ignore_index=True))
    assert summary["voice_crossing"] == 50.0 and summary["voice_overlap"] == 100.0
    assert math.isnan(summary["chord_type_overlap"])  # no reference given
    assert math.isnan(summary["homorhythm"])  # two voices cannot attack three at a time


def test_spacing_counts_upper_pairs_beyond_an_octave_only():
    # Onset 0: S-A a ninth (wide), A-T a fifth; onset 1: S-A exactly an octave (not wide).
    # T-B stand two octaves apart at both, which is allowed.
    notes = voices(Soprano=quarters(76, 74), Alto=quarters(62, 62), Tenor=quarters(55, 55), Bass=quarters(31, 31))
    assert M.wide_spacing(notes) == 25.0


def test_out_of_range_uses_inclusive_voice_ranges():
    assert M.VOICE_RANGES["Soprano"] == (60, 79)
    notes = voices(Soprano=quarters(81, 79), Alto=quarters(55), Tenor=quarters(47, 48), Bass=quarters(40, 38))
    assert M.out_of_range(notes) == pytest.approx(100 * 3 / 7)  # A5, B2 and D2 are outside


def test_strong_beat_dissonance_ignores_off_beat_notes():
    # Beat 0: B4 against C5 (a second) and against C3 (a seventh); the tenor's F#3 at
    # beat 0.5 makes a tritone with the bass, off the beat; beat 1 is a C chord.
    notes = voices(Soprano=[(72, 0, 2)], Alto=quarters(71, 67), Tenor=[(55, 0, 0.5), (54, 0.5, 1), (55, 1, 2)],
                   Bass=[(48, 0, 2)])
    assert M.strong_beat_dissonance(notes) == pytest.approx(100 * 2 / 12)
    counts = dict(zip(M.CHORD_TYPES, M.chord_type_histogram(notes), strict=True))
    assert counts["other"] == 1 and counts["two pitch classes"] == 1


@pytest.mark.parametrize("pitches, name", [
    ([48, 55, 64, 72], "major triad"), ([52, 60, 67, 79], "major triad"),  # root position, first inversion
    ([57, 64, 72, 76], "minor triad"), ([47, 62, 65, 74], "diminished triad"),
    ([43, 59, 65, 67], "incomplete dominant seventh"), ([43, 62, 65, 67], "incomplete dominant seventh"),
    ([43, 59, 62, 65], "dominant seventh"),
    ([47, 62, 65, 68], "diminished seventh"), ([47, 62, 65, 69], "half-diminished seventh"),
    ([48, 64, 67, 71], "major seventh"), ([50, 60, 65, 69], "minor seventh"),
    ([48, 55, 60, 67], "two pitch classes"), ([48, 60, 72], "one pitch class"), ([48, 62, 64, 67], "other"),
])
def test_chord_types(pitches, name):
    assert M.chord_type(pitches) == name


def test_chord_type_overlap_and_bad_input():
    p = np.zeros(len(M.CHORD_TYPES))
    q = np.zeros(len(M.CHORD_TYPES))
    p[:2], q[:2] = [2, 1], [1, 1]
    assert M.chord_type_overlap(p, q) == pytest.approx(0.5 + 1 / 3)
    assert M.chord_type_overlap(p, p * 7) == pytest.approx(1.0)
    assert math.isnan(M.chord_type_overlap(p, np.zeros_like(q)))
    with pytest.raises(ValueError, match="reference must be 13 finite"):
        M.chord_type_overlap(p, q[:5])
    with pytest.raises(ValueError, match="pitches is empty"):
        M.chord_type([])
    with pytest.raises(ValueError, match="piece features take one"):
        M.voice_grid(pd.concat([voices("a", Soprano=quarters(60)), voices("b", Soprano=quarters(62))]))
    with pytest.raises(ValueError, match="upper and lower"):
        M.voice_pair_transitions(M.voice_grid(voices(Soprano=quarters(60))), 2, 1)
    with pytest.raises(TypeError, match="notes must be a note table"):
        M.corpus_voice_leading([1, 2])


def test_one_part_texture_is_not_applicable_not_perfect():
    piano = voices(**{"0": quarters(60, 64, 67, 72)})
    summary = M.voice_leading_summary(piano, piano)
    assert set(summary) == set(M.VOICE_LEADING_MEASURES)
    assert all(math.isnan(v) for v in summary.values())
    empty = piano.iloc[0:0]
    assert all(math.isnan(v) for v in M.voice_leading_summary(empty, empty).values())
    with pytest.raises(ValueError, match=r"lacks required column\(s\) \['start', 'end'\]"):
        M.voice_leading_summary(piano[["piece", "part", "pitch"]])


# ------------------------------------------------------------------ music21 as the oracle


def music21_counts(score) -> dict[str, int]:
    """Our four counts, computed by music21 alone: its stream queries sample each voice at
    the union of onsets (spelled pitches, ties merged), its VoiceLeadingQuartet classifies."""
    from music21.voiceLeading import VoiceLeadingQuartet

    score = score.stripTies()
    parts = [next(p for p in score.parts if p.partName == v).flatten().notes.stream() for v in VOICES]
    onsets = sorted({float(n.offset) for part in parts for n in part})

    def sounding(part, t):
        element = part.getElementAtOrBefore(t)
        if element is None or float(element.offset) + float(element.quarterLength) <= t:
            return None
        return max(element.pitches, key=lambda p: p.ps)

    grid = [[sounding(part, t) for part in parts] for t in onsets]
    counts = dict.fromkeys(("parallel_fifths", "parallel_octaves", "voice_crossing", "voice_overlap"), 0)
    for upper, lower in itertools.combinations(range(4), 2):
        for before, after in zip(grid[:-1], grid[1:], strict=True):
            u0, u1, l0, l1 = before[upper], after[upper], before[lower], after[lower]
            if None in (u0, u1, l0, l1) or (u0.ps == u1.ps and l0.ps == l1.ps):
                continue
            quartet = VoiceLeadingQuartet(u0, u1, l0, l1)
            counts["parallel_fifths"] += quartet.parallelFifth()
            counts["parallel_octaves"] += quartet.parallelUnisonOrOctave()
            if lower == upper + 1:
                counts["voice_crossing"] += quartet.voiceCrossing()
                counts["voice_overlap"] += quartet.voiceOverlap()
    return counts


# Six chorales, three with the most parallel fifths in the corpus (bwv40.8, bwv268, bwv183.5).
CHORALES = ("bwv40.8", "bwv268", "bwv183.5", "bwv301", "bwv66.6", "bwv269")


@pytest.fixture(scope="module")
def scores() -> dict:
    from music21 import corpus

    return {name: corpus.parse(f"bach/{name}") for name in CHORALES}


@pytest.mark.parametrize("name", CHORALES)
def test_counts_equal_music21_voice_leading_on_real_chorales(name, scores):
    score = scores[name]
    ours = M.piece_voice_leading(from_music21(score, piece=name))
    theirs = music21_counts(score)
    assert {k: ours[f"n_{k}"] for k in theirs} == theirs
    # The check has something to find: every one of these chorales overlaps voices.
    assert ours["n_voice_overlap"] > 0


def test_music21_check_finds_the_parallels_bach_wrote(scores):
    score = scores["bwv40.8"]
    counts = music21_counts(score)
    assert counts["parallel_fifths"] == 4  # so the equality above is not 0 == 0
    assert M.piece_voice_leading(from_music21(score))["n_parallel_fifths"] == 4


# music21's names for the pitch-class sets of CHORD_TYPES; MIDI numbers spell some chords
# oddly ("enharmonic equivalent to ...", an augmented sixth for a seventh chord).
MUSIC21_CHORD_NAMES = {
    "major triad": "major triad", "minor triad": "minor triad", "diminished triad": "diminished triad",
    "augmented triad": "augmented triad", "dominant seventh chord": "dominant seventh",
    "German augmented sixth chord": "dominant seventh", "Italian augmented sixth chord": "incomplete dominant seventh",
    "incomplete dominant-seventh chord": "incomplete dominant seventh", "minor seventh chord": "minor seventh",
    "major seventh chord": "major seventh", "half-diminished seventh chord": "half-diminished seventh",
    "diminished seventh chord": "diminished seventh",
}


def test_chord_types_equal_music21_common_names_on_real_chorales(scores):
    from music21 import chord

    n_beats, names = 0, set()
    for name, score in scores.items():
        grid = M.voice_grid(from_music21(score))
        for row in grid.beat_pitch[np.isfinite(grid.beat_pitch).sum(axis=1) >= 3]:
            pitches = row[np.isfinite(row)].astype(int)
            common = chord.Chord(pitches.tolist()).commonName.removeprefix("enharmonic equivalent to ")
            n_classes = len(set(pitches % 12))
            theirs = MUSIC21_CHORD_NAMES.get(
                common, {1: "one pitch class", 2: "two pitch classes"}.get(n_classes, "other"))
            assert M.chord_type(pitches) == theirs, (name, pitches, common)
            n_beats, names = n_beats + 1, names | {theirs}
    assert n_beats > 300 and len(names) >= 8  # many beats, most of the vocabulary


# ------------------------------------------------------------------ the leaderboard


def test_leaderboard_rows_carry_voice_leading_columns(tmp_path, chorale_phrase):
    reference = voices("ref", Soprano=quarters(72, 71, 72), Alto=quarters(67, 67, 67), Tenor=quarters(64, 62, 64),
                       Bass=quarters(48, 43, 48))
    piano = voices("roll", **{"0": quarters(60, 64, 67)})
    board = Leaderboard(tmp_path / "board.csv")
    board.add("joint", representation="grid", samples=chorale_phrase, reference=reference)
    board.add("vae", representation="roll", samples=piano, reference=reference)
    board.add("markov-1", representation="pitch", bits_per_note=4.4)
    board.add_reference(reference, chorale_phrase, model="Bach")
    board.save()
    saved = pd.read_csv(tmp_path / "board.csv").set_index("model")
    assert set(VOICE_LEADING_COLUMNS) <= set(saved.columns)
    assert saved.loc["joint", "vl_parallel_fifths"] == pytest.approx(100 * 2 / 12)
    # C-Dm-C against C-G-C: the major triads match, 2/3 of the first set.
    assert saved.loc["joint", "vl_chord_type_overlap"] == pytest.approx(2 / 3)
    assert saved.loc["Bach", "vl_homorhythm"] == 100.0 and saved.loc["Bach", "n_samples"] == 1
    assert saved.loc["Bach", "vl_chord_type_overlap"] == pytest.approx(2 / 3)
    for model in ("vae", "markov-1"):
        assert saved.loc[model, list(VOICE_LEADING_COLUMNS)].isna().all()
    assert "voice leading not applicable" in saved.loc["vae", "notes"]
    assert voice_leading_columns(chorale_phrase) == pytest.approx(
        {f"vl_{k}": v for k, v in M.voice_leading_summary(chorale_phrase).items()}, nan_ok=True)
    with pytest.raises(ValueError, match="non-empty note table"):
        board.add_reference(reference.iloc[0:0])


# ------------------------------------------------------------------ how much each voice moves


def test_voice_motion_counts_pitch_changes_between_sounding_beats():
    # Soprano changes at every step (2 of 2); Alto holds a half note then repeats it (0 of 2);
    # Tenor rests on beat 1, so none of its steps has both beats sounding; Bass never sounds.
    one = voices("a", Soprano=quarters(72, 74, 76), Alto=[(67, 0, 2), (67, 2, 3)], Tenor=[(60, 0, 1), (62, 2, 3)])
    # Second piece: Soprano repeats (0 of 1 steps), Alto moves (1 of 1), Tenor moves (1 of 1).
    two = voices("b", Soprano=quarters(72, 72), Alto=quarters(65, 64), Tenor=quarters(55, 57))
    motion = M.voice_motion(pd.concat([one, two], ignore_index=True))
    assert list(motion.index) == list(VOICES)
    assert motion.loc["Soprano", ["changes", "steps"]].tolist() == [2, 3]
    assert motion.loc["Soprano", "beats_changing"] == pytest.approx(100 * 2 / 3)
    assert motion.loc["Alto", "beats_changing"] == pytest.approx(100 * 1 / 3)
    assert motion.loc["Tenor", ["changes", "steps"]].tolist() == [1, 1]
    assert math.isnan(motion.loc["Bass", "beats_changing"])
    # Distinct pitches: mean over the two pieces (Soprano 3 and 1; Bass silent in both).
    assert motion.loc["Soprano", "distinct_pitches"] == pytest.approx(2.0)
    assert motion.loc["Alto", "distinct_pitches"] == pytest.approx(1.5)
    assert motion.loc["Bass", "distinct_pitches"] == 0.0


def test_voice_motion_of_a_drone_is_zero_and_refuses_other_input():
    drone = voices(Soprano=quarters(72, 74, 72, 71), Bass=[(48, 0, 1), (48, 1, 2), (48, 2, 4)])
    motion = M.voice_motion(drone)
    assert motion.loc["Bass", "beats_changing"] == 0.0 and motion.loc["Bass", "distinct_pitches"] == 1
    assert motion.loc["Soprano", "beats_changing"] == 100.0
    with pytest.raises(TypeError, match="note table"):
        M.voice_motion([72, 74])
