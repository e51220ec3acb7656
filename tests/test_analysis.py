"""Key finding, windowed keys, reference keys and EDA tables (musicalpy.analysis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicalpy import analysis, names
from musicalpy.analysis import (
    PROFILES,
    agreement_matrix,
    bar_lines,
    compare_with_reference,
    corpus_overview,
    final_bass_pitch,
    find_key,
    growing_samples,
    key_color,
    key_correlations,
    key_name,
    key_relation,
    key_table,
    melodic_intervals,
    music21_default_profile,
    pitch_class_weights,
    pitch_distribution,
    plot_keyscape,
    polyphony_curve,
    reference_key,
    reference_keys,
    signature_sharps,
    windowed_keys,
)
from musicalpy.midi import from_music21
from musicalpy.names import VOICES


def _melody(pitches, lengths=None, *, piece="p", part="Soprano", start=0.0) -> pd.DataFrame:
    """A one-part note table in quarter notes (seconds at 60 bpm, so equal to beats)."""
    lengths = [1.0] * len(pitches) if lengths is None else lengths
    onsets = start + np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
    frame = pd.DataFrame({
        "piece": piece, "part": part, "program": 0, "is_drum": False,
        "pitch": pitches, "start": onsets, "end": onsets + np.asarray(lengths, float), "velocity": 80,
    })
    frame["start_beat"] = frame["start"]
    frame["end_beat"] = frame["end"]
    return frame


C_MAJOR_SCALE = [60, 62, 64, 65, 67, 69, 71, 72]
A_HARMONIC_MINOR = [57, 59, 60, 62, 64, 65, 68, 69]


@pytest.fixture(scope="module")
def chorale():
    from music21 import corpus

    return corpus.parse("bach/bwv66.6")


# ------------------------------------------------------------------------ key finding


@pytest.mark.parametrize("profile", ["krumhansl", "bellman", "temperley", "simple"])
def test_c_major_scale_is_c_major(profile):
    found = find_key(_melody(C_MAJOR_SCALE), profile)
    assert key_name(found) == "C major"
    assert 0.5 < found.correlationCoefficient <= 1.0
    assert len(found.alternateInterpretations) == 23


def test_aarden_essen_hears_the_c_major_scale_as_a_minor():
    # a known weakness of Aarden-Essen's minor profile (music21 advises it for major only)
    assert key_name(find_key(_melody(C_MAJOR_SCALE), "aarden")) == "A minor"


@pytest.mark.parametrize("profile", list(PROFILES))
def test_a_harmonic_minor_is_a_minor(profile):
    found = find_key(_melody(A_HARMONIC_MINOR), profile)
    assert (found.tonic.name, found.mode) == ("A", "minor")
    # the raised leading tone is what tells it apart from its relative, C major
    relative = next(k for k in found.alternateInterpretations if key_name(k) == "C major")
    assert relative.correlationCoefficient < found.correlationCoefficient


@pytest.mark.parametrize("profile", list(PROFILES))
def test_note_table_path_equals_music21_on_the_parsed_score(chorale, profile):
    from music21.analysis import discrete

    expected = getattr(discrete, PROFILES[profile])().getSolution(chorale)
    found = find_key(from_music21(chorale, piece="bwv66.6"), profile)
    assert (found.tonic.name, found.mode) == (expected.tonic.name, expected.mode)
    assert found.correlationCoefficient == pytest.approx(expected.correlationCoefficient, abs=1e-9)
    assert [str(k) for k in found.alternateInterpretations] == [str(k) for k in expected.alternateInterpretations]
    # and the stream path is music21 itself
    assert find_key(chorale, profile).correlationCoefficient == pytest.approx(expected.correlationCoefficient)


def test_krumhansl_finds_f_sharp_minor_in_bwv66_6(chorale):
    # music21's documented answer for this chorale
    assert key_name(find_key(from_music21(chorale), "krumhansl")) == "F# minor"


def test_key_correlations_ranks_all_24_keys():
    ranked = key_correlations(_melody(C_MAJOR_SCALE), "temperley")
    assert len(ranked) == 24
    assert len(set(zip(ranked["tonic_pc"], ranked["mode"], strict=True))) == 24
    assert (np.diff(ranked["correlation"].to_numpy()) <= 1e-12).all()
    assert ranked["key"].iloc[0] == "C major"
    assert (ranked["correlation"].abs() <= 1 + 1e-12).all()


def test_find_key_accepts_a_distribution_and_rejects_bad_input():
    weights = pitch_class_weights(_melody(A_HARMONIC_MINOR))
    assert key_name(find_key(weights)) == "A minor"
    with pytest.raises(ValueError, match="profile"):
        find_key(weights, "nonsense")
    with pytest.raises(ValueError, match="no pitched notes"):
        find_key(np.zeros(12))
    with pytest.raises(ValueError, match="12 non-negative"):
        find_key(np.ones(11))


def test_default_profile_of_music21_analyze_key_is_aarden(chorale):
    assert music21_default_profile() == "aarden"
    expected = find_key(chorale, "aarden")
    assert str(chorale.analyze("key")) == str(expected)


def test_pitch_class_weights_by_duration_and_count():
    notes = _melody([60, 64, 72, 38], [2.0, 1.0, 0.5, 1.0])
    drum = notes.iloc[[0]].assign(is_drum=True, pitch=62)
    notes = pd.concat([notes, drum], ignore_index=True)
    by_duration = pitch_class_weights(notes)
    assert by_duration[0] == pytest.approx(2.5) and by_duration[4] == 1.0 and by_duration[2] == 1.0
    assert by_duration.sum() == pytest.approx(4.5)  # the drum hit is left out
    assert pitch_class_weights(notes, weight="count")[0] == 2
    with pytest.raises(ValueError, match="weight"):
        pitch_class_weights(notes, weight="loudness")


def test_key_names_follow_music21_spelling():
    from music21 import key as m21key

    assert key_name((10, "major")) == "B- major"
    assert key_name((8, "major")) == "A- major"
    assert key_name((8, "minor")) == "G# minor"
    assert key_name((6, "minor")) == "F# minor"
    assert key_name(None) == ""
    # A music21 key is named by its tonic's pitch class: one key, one name.
    assert key_name(m21key.Key("A#", "major")) == key_name(m21key.Key("B-")) == "B- major"
    assert key_name(find_key(_melody([70, 74, 77, 70, 63, 70]))) == "B- major"


def test_key_table_one_row_per_piece_and_profile():
    notes = pd.concat([_melody(C_MAJOR_SCALE, piece="a"), _melody(A_HARMONIC_MINOR, piece="b")])
    table = key_table(notes, ["krumhansl", "aarden"], alternatives=3)
    assert len(table) == 4
    assert list(table.loc[table["profile"] == "krumhansl", "key"]) == ["C major", "A minor"]
    first = table.iloc[0]
    assert first["correlation"] >= first["alt_1_correlation"] >= first["alt_2_correlation"] >= first["alt_3_correlation"]
    with pytest.raises(ValueError, match="profile"):
        key_table(notes, ["krumhansl", "bogus"])


# ----------------------------------------------------------------- windowed analysis


def test_windowed_keys_returns_one_key_per_window():
    # four bars of C major then four of A harmonic minor
    notes = _melody(C_MAJOR_SCALE * 2 + A_HARMONIC_MINOR * 2, [1.0] * 32)
    grid = windowed_keys(notes, bar_lines("4/4", n_bars=8))
    n = 8
    assert len(grid) == n * (n + 1) // 2
    assert not grid.duplicated(["window", "first_bar"]).any()
    assert grid.groupby("window").size().to_dict() == {w: n - w + 1 for w in range(1, n + 1)}
    assert (grid["last_bar"] - grid["first_bar"] + 1 == grid["window"]).all()
    two_bar = grid[grid["window"] == 2].set_index("first_bar")["key"]
    assert two_bar[1] == "C major" and two_bar[7] == "A minor"


def test_windowed_keys_match_music21_windowed_analysis(chorale):
    from music21.analysis import discrete, windowed

    music21_windows = windowed.WindowedAnalysis(chorale, discrete.KrumhanslSchmuckler())
    solutions, _, _ = music21_windows.process(1, 3, includeTotalWindow=False)
    n_quarters = len(solutions[0])
    grid = windowed_keys(from_music21(chorale), bar_lines("1/4", n_bars=n_quarters), max_window=3)
    for size, row_solutions in enumerate(solutions, start=1):
        ours = grid[grid["window"] == size]
        assert len(ours) == len(row_solutions)
        for (tonic, mode, r), row in zip(row_solutions, ours.itertuples(), strict=True):
            assert (tonic.pitchClass, mode) == (row.tonic_pc, row.mode)
            assert r == pytest.approx(row.correlation, abs=1e-9)


def test_windowed_keys_empty_bar_and_tied_notes():
    # bar 1 silent; a note held across bars 2-3 counts in both
    notes = _melody([60, 64, 67], [2.0, 4.0, 2.0], start=4.0)
    grid = windowed_keys(notes, bar_lines("4/4", n_bars=3))
    single = grid[grid["window"] == 1].set_index("first_bar")
    assert single.loc[1, "key"] == "" and single.loc[1, "tonic_pc"] == -1
    assert single.loc[2, "key"] != "" and single.loc[3, "key"] != ""
    with pytest.raises(ValueError, match="max_window"):
        windowed_keys(notes, bar_lines("4/4", n_bars=3), max_window=4)
    with pytest.raises(ValueError, match="start_beat"):
        windowed_keys(notes.drop(columns=["start_beat", "end_beat"]), "4/4")


def test_bar_lines_from_time_signatures_and_scores():
    assert bar_lines("3/4", n_bars=3).tolist() == [0.0, 3.0, 6.0, 9.0]
    assert bar_lines("6/8", n_bars=2).tolist() == [0.0, 3.0, 6.0]
    from music21 import corpus

    # BWV 269 opens with a one-beat pickup in 3/4
    assert bar_lines(corpus.parse("bach/bwv269"), n_bars=4).tolist() == [0.0, 1.0, 4.0, 7.0, 10.0]
    with pytest.raises(ValueError, match="n_bars"):
        bar_lines("3/4")
    with pytest.raises(ValueError, match="time signature"):
        bar_lines("waltz", n_bars=2)


def test_keyscape_colours_and_legend():
    colours = {key_color(pc, mode) for pc in range(12) for mode in ("major", "minor")}
    assert len(colours) == 24
    assert sum(key_color(0, "major")) > sum(key_color(0, "minor"))  # minor is darker
    notes = _melody(C_MAJOR_SCALE * 2 + A_HARMONIC_MINOR * 2, [1.0] * 32)
    grid = windowed_keys(notes, "4/4")
    ax = plot_keyscape(grid, title="test")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert set(labels) == set(grid["key"])
    assert labels.index("C major") < labels.index("A minor")  # major keys listed first
    image = ax.get_images()[0].get_array()
    top = grid[grid["window"] == 8].iloc[0]
    assert tuple(image[7, 7]) == pytest.approx(key_color(top["tonic_pc"], top["mode"]))
    assert tuple(image[7, 0]) == (1.0, 1.0, 1.0)  # outside the triangle stays white


# ---------------------------------------------------------------------- reference key


@pytest.mark.parametrize(
    ("text", "sharps"),
    [("2 sharps", 2), ("1 flat", -1), ("no sharps or flats", 0), ("Bb major", -2),
     ("F# minor", 3), ("C Major", 0), ("Eb minor", -6), ("", None), ("dorian-ish", None),
     ("B- major", -2), ("C# major", 7), ("D- major", -5), ("E♭ minor", -6), ("H dur", None)],
)
def test_signature_sharps(text, sharps):
    assert signature_sharps(text) == sharps


@pytest.mark.parametrize(
    ("sharps", "bass", "expected"),
    [
        (0, 48, (0, "major")),   # C at the end, no signature: C major
        (0, 45, (9, "minor")),   # A: A minor
        (0, 40, None),           # E: a Phrygian ending gets no reference
        (-1, 38, (2, "minor")),  # one flat, final D: D minor
        (-1, 41, (5, "major")),  # one flat, final F: F major
        (3, 42, (6, "minor")),   # three sharps, final F#: F# minor
        (-1, 43, None),          # one flat, final G: G minor in Dorian notation, not decided
        (None, 48, None),        # no signature known
    ],
)
def test_reference_key_rule(sharps, bass, expected):
    assert reference_key(sharps, bass) == expected


def test_reference_key_rejects_impossible_signature():
    with pytest.raises(ValueError, match="sharps"):
        reference_key(8, 60)


def test_final_bass_note_is_taken_under_the_held_final_chord():
    soprano = _melody([72, 71, 72], [2.0, 2.0, 4.0])             # ends at 8 on C5
    bass = _melody([43, 36, 43, 48], [2.0, 2.0, 2.0, 2.0], part="Bass")  # G2 then C3 at the end
    tenor = _melody([40], [6.0], part="Tenor")                   # lowest note, but stops at 6
    notes = pd.concat([soprano, bass, tenor], ignore_index=True)
    assert final_bass_pitch(notes) == 48
    pieces = pd.DataFrame({"piece": ["p"], "key_signature": ["no sharps or flats"]})
    reference = reference_keys(notes, pieces)
    assert reference.iloc[0][["reference", "tonic_pc", "mode", "final_bass"]].tolist() == ["C major", 0, "major", 48]


@pytest.mark.parametrize(
    ("found", "reference", "relation"),
    [
        ((0, "major"), (0, "major"), "same"),
        ((9, "minor"), (0, "major"), "relative"),
        ((0, "major"), (9, "minor"), "relative"),
        ((0, "minor"), (0, "major"), "parallel"),
        ((7, "major"), (0, "major"), "dominant"),
        ((4, "minor"), (9, "minor"), "dominant"),
        ((5, "major"), (0, "major"), "subdominant"),
        ((2, "major"), (0, "major"), "other"),
        ((4, "minor"), (0, "major"), "other"),
    ],
)
def test_key_relation(found, reference, relation):
    assert key_relation(found, reference) == relation


def _keys(rows):
    return pd.DataFrame(rows, columns=["piece", "profile", "tonic_pc", "mode"])


def test_agreement_and_reference_comparison_on_hand_made_keys():
    keys = _keys([
        ("a", "krumhansl", 7, "major"), ("a", "aarden", 0, "major"),
        ("b", "krumhansl", 9, "minor"), ("b", "aarden", 9, "minor"),
        ("c", "krumhansl", 2, "minor"), ("c", "aarden", 5, "major"),
    ])
    matrix = agreement_matrix(keys)
    assert matrix.loc["krumhansl", "aarden"] == pytest.approx(1 / 3)
    assert matrix.loc["aarden", "aarden"] == 1.0
    reference = pd.DataFrame({"piece": ["a", "b", "c"], "tonic_pc": [0, 9, -1], "mode": ["major", "minor", ""]})
    shares = compare_with_reference(keys, reference)
    assert list(shares.index) == ["krumhansl", "aarden"]
    assert shares.loc["krumhansl", "pieces"] == 2  # piece c has no reference key
    assert shares.loc["krumhansl", "same"] == 0.5 and shares.loc["krumhansl", "dominant"] == 0.5
    assert shares.loc["aarden", "same"] == 1.0
    assert np.allclose(shares[list(analysis.KEY_RELATIONS)].sum(axis=1), 1.0)


# ----------------------------------------------------------------------------- EDA


def test_pitch_distribution_shares_and_names():
    notes = pd.concat([
        _melody([60, 61, 72], [1.0, 1.0, 2.0], piece="a").assign(composer="X"),
        _melody([69], [4.0], piece="b").assign(composer="Y"),
    ])
    classes = pitch_distribution(notes, by="composer", pitch_class=True)
    assert len(classes) == 24
    x = classes[classes["composer"] == "X"].set_index("name")["share"]
    assert x["C"] == pytest.approx(0.75) and x["C#"] == pytest.approx(0.25) and x["D"] == 0.0
    assert list(x.index) == ["C", "C#", "D", "E-", "E", "F", "F#", "G", "G#", "A", "B-", "B"]
    counted = pitch_distribution(notes, by="composer", weight="count").set_index(["composer", "name"])["share"]
    assert counted[("X", "C5")] == pytest.approx(1 / 3) and counted[("Y", "A4")] == 1.0
    assert counted[("X", "C#4")] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="composer"):
        pitch_distribution(notes.drop(columns="composer"), by="composer")


def test_corpus_overview_per_group():
    pieces = pd.DataFrame({
        "piece": ["a", "b", "c"], "composer": ["X", "X", "Y"], "n_parts": [4, 2, 1],
        "n_notes": [100, 50, 10], "duration": [3600.0, 1800.0, 60.0], "tempo": [60.0, 100.0, 120.0],
        "key_signature": ["G major", "G major", "1 flat"], "time_signature": ["4/4", "3/4", "4/4"],
    })
    table = corpus_overview(pieces, by="composer")
    assert table.loc["X", "pieces"] == 2 and table.loc["X", "notes"] == 150
    assert table.loc["X", "hours"] == pytest.approx(1.5)
    assert table.loc["X", "median tempo"] == 80.0 and table.loc["X", "parts per piece"] == 3.0
    assert table.loc["X", "key signatures"] == "G major (2)"
    assert corpus_overview(pieces).loc["all", "pieces"] == 3


def test_growing_samples_are_nested():
    notes = pd.concat([_melody([60 + i], piece=f"p{i}") for i in range(10)])
    samples = growing_samples(notes, (2, 5, None), seed=1)
    assert list(samples["sample"].cat.categories) == ["2 pieces", "5 pieces", "all 10 pieces"]
    pieces_in = samples.groupby("sample", observed=True)["piece"].apply(set)
    assert pieces_in["2 pieces"] < pieces_in["5 pieces"] < pieces_in["all 10 pieces"]
    assert len(pieces_in["all 10 pieces"]) == 10


def test_melodic_intervals_agree_with_metrics_mean_abs_interval(chorale):
    from musicalpy.metrics import piece_features

    notes = from_music21(chorale, piece="bwv66.6")
    intervals = melodic_intervals(notes)
    assert np.abs(intervals["interval"]).mean() == pytest.approx(piece_features(notes)["mean_abs_interval"])
    assert set(intervals["part"]) == set(VOICES)


def test_melodic_intervals_skyline_follows_the_top_note():
    melody = _melody([72, 74, 76])
    chord = _melody([60, 64], [1.0, 1.0]).assign(start_beat=0.0, end_beat=1.0, start=0.0, end=1.0)
    notes = pd.concat([melody, chord], ignore_index=True)
    assert melodic_intervals(notes)["interval"].tolist() == [4, 8, 2, 2]
    assert melodic_intervals(notes, skyline=True)["interval"].tolist() == [2, 2]


def test_polyphony_curve_counts_distinct_pitches(chorale):
    from musicalpy.metrics import piece_features

    notes = pd.concat([
        _melody([60, 62], [2.0, 2.0]),
        _melody([48], [1.0], part="Bass"),
        _melody([60], [1.0], part="Alto"),  # doubles the soprano's C: counted once
    ], ignore_index=True)
    curve = polyphony_curve(notes, resolution=0.5)
    assert curve["polyphony"].tolist() == [2, 2, 1, 1, 1, 1, 1, 1]
    assert curve["time"].tolist()[:3] == [0.0, 0.5, 1.0]
    real = from_music21(chorale)
    sounding = polyphony_curve(real)["polyphony"]
    assert sounding[sounding > 0].mean() == pytest.approx(piece_features(real)["polyphony"])


def test_key_from_name_inverts_key_name():
    for tonic_pc in range(12):
        for mode in ("major", "minor"):
            assert names.parse_key_name(key_name((tonic_pc, mode))) == (tonic_pc, mode)
    with pytest.raises(ValueError, match="F# minor"):
        names.parse_key_name("H dur")


def test_pitch_names():
    assert [names.pitch_to_name(p) for p in (60, 61, 70, 21, 127)] == ["C4", "C#4", "B-4", "A0", "G9"]
    with pytest.raises(ValueError, match="pitch"):
        names.pitch_to_name(128)


# ------------------------------------------------------- helpers moved from notebooks


def test_bar_length_of_common_signatures():
    assert analysis.bar_length("3/4") == 3.0
    assert analysis.bar_length("6/8") == 3.0
    assert analysis.bar_length("3/2") == 6.0
    assert analysis.bar_length("waltz") == 4.0  # unreadable: common time
    assert analysis.bar_length("waltz", default=3.0) == 3.0
    with pytest.raises(ValueError, match="time_signature: 'waltz' is not a time signature"):
        analysis.bar_length("waltz", default=None)


def test_event_bookkeeping_matches_note_offs_to_sounding_notes():
    from musicalpy import representations as rep

    on, off = rep.NOTE_ON_OFFSET, rep.NOTE_OFF_OFFSET
    shift = rep.TIME_SHIFT_OFFSET
    # C on, E on, wait, C off, G off (never on), wait; E is never closed
    tokens = [on + 60, on + 64, shift + 10, off + 60, off + 67, shift + 5]
    counts = analysis.event_bookkeeping(tokens)
    assert counts == {"events": 6, "NOTE_ON": 2, "NOTE_OFF": 2, "NOTE_OFF closing a sounding note": 1,
                      "notes never closed": 1}
    # a real piece's events close every note they open
    from music21 import corpus

    events = rep.encode_events(from_music21(corpus.parse("bach/bwv66.6")))
    real = analysis.event_bookkeeping(events)
    assert real["NOTE_ON"] == real["NOTE_OFF"] == real["NOTE_OFF closing a sounding note"]
    assert real["notes never closed"] == 0
    with pytest.raises(ValueError, match="one sequence"):
        analysis.event_bookkeeping(np.zeros((2, 2), dtype=int))


# ------------------------------------------------------------------ expert keys


def test_expert_keys_read_music21s_chorale_analyses():
    expert = analysis.expert_keys([1, 3])
    first = expert[expert["riemenschneider"] == 1]
    # Riemenschneider 1 (BWV 269) is analysed in G major throughout, from a pickup on beat 3
    assert set(first["key"]) == {"G major"}
    assert first.iloc[0][["measure", "beat", "offset", "figure"]].tolist() == [0, 3.0, 0.0, "I"]
    assert (first["offset"] + first["duration"]).max() == 63.0  # the chorale's length in quarters
    third = expert[expert["riemenschneider"] == 3]
    assert third.iloc[0]["key"] == "A minor" and "E minor" in set(third["key"])
    assert list(expert.columns) == ["riemenschneider", "title", "measure", "beat", "offset", "duration", "figure",
                                    "key", "tonic_pc", "mode"]
    with pytest.raises(ValueError, match=r"numbers: no expert analysis of Riemenschneider chorale\(s\) \[999\]"):
        analysis.expert_keys([999])


def test_expert_piece_keys_feed_compare_with_reference():
    expert = analysis.expert_keys([1, 3])
    pieces = pd.DataFrame({"piece": ["R001_bwv269", "R003_bwv153.1", "R005"], "riemenschneider": [1, 3, 5]})
    home = analysis.expert_piece_keys(expert, pieces)
    assert home[["piece", "key"]].values.tolist() == [["R001_bwv269", "G major"], ["R003_bwv153.1", "A minor"]]
    assert home.loc[0, "home share"] == 1.0 and home.loc[0, "keys"] == 1
    assert 0 < home.loc[1, "home share"] < 1
    found = pd.DataFrame({"piece": ["R001_bwv269", "R003_bwv153.1"], "profile": "krumhansl",
                          "tonic_pc": [2, 9], "mode": ["major", "minor"]})  # D major: the dominant of G
    versus = compare_with_reference(found, home)
    assert versus.loc["krumhansl", "same"] == 0.5 and versus.loc["krumhansl", "dominant"] == 0.5
    with pytest.raises(ValueError, match="riemenschneider"):
        analysis.expert_piece_keys(expert, pd.DataFrame({"piece": ["a"]}))


def test_expert_windowed_keys_follow_the_analysts_modulations():
    chords = pd.DataFrame({"riemenschneider": 9, "offset": [0.0, 4.0, 6.0], "duration": [4.0, 2.0, 2.0],
                           "tonic_pc": [0, 7, 7], "mode": ["major"] * 3, "key": ["C major", "G major", "G major"]})
    grid = analysis.expert_windowed_keys(chords, [0.0, 4.0, 8.0, 12.0])
    assert grid[["window", "first_bar", "key"]].values.tolist()[:3] == [[1, 1, "C major"], [1, 2, "G major"],
                                                                        [1, 3, ""]]
    # bars 1-2 hold 4 beats of each key: the tie goes to the key named first
    both = grid[(grid["window"] == 2) & (grid["first_bar"] == 1)].iloc[0]
    assert both["key"] == "C major" and both["share"] == 0.5
    assert len(grid) == len(windowed_keys(_melody([60] * 12, [1.0] * 12), [0.0, 4.0, 8.0, 12.0]))
    with pytest.raises(ValueError, match="one"):
        analysis.expert_windowed_keys(chords.assign(riemenschneider=[1, 2, 2]), [0.0, 4.0])


def test_mode_share_with_wilson_interval():
    keys = pd.DataFrame({"profile": "aarden", "mode": ["minor", "major", "major", "major"]})
    share = analysis.mode_share(keys)
    assert share[["pieces", "minor", "share"]].tolist() == [4, 1, 0.25]
    # Wilson 95% interval for 1 of 4: (0.0456, 0.6994)
    assert share["low"] == pytest.approx(0.0456, abs=1e-4) and share["high"] == pytest.approx(0.6994, abs=1e-4)
    assert analysis.mode_share(keys, "major")["major"] == 3
    assert np.isnan(analysis.mode_share(keys.iloc[:0])["share"])
    with pytest.raises(ValueError, match="mode must be"):
        analysis.mode_share(keys, "dorian")
    with pytest.raises(ValueError, match="2 profiles"):
        analysis.mode_share(pd.concat([keys, keys.assign(profile="simple")]))
