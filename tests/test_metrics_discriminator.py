"""Tests of musicalpy.metrics.discriminator: the classifier two-sample test (Bach or model?).

Unit tests use a few real chorales; the controls run both classifiers on music21's
chorales (parsed once, then cached) and can fail: real against real and a broken model
against itself must give intervals containing 0.5, deliberately broken models
(shuffled bars, a voice a tritone off) intervals above 0.8.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from musicalpy.metrics import (
    CLASSIFIERS,
    DiscriminatorResult,
    copied_windows,
    corpus_voice_leading,
    discriminator_features,
    discriminator_test,
    shuffled_bars,
    transposed_voice,
)


@pytest.fixture(scope="module")
def corpus():
    from musicalpy import zoo

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one chorale lacks a plain Soprano part
        return zoo.training_corpus("bach")


@pytest.fixture(scope="module")
def splits(corpus):
    """Train, validation and test chorales, and a group-disjoint part of the training split.

    ``fit`` and ``spare`` partition the training split by the corpus's duplicate groups,
    so the spare pieces (which the broken models are made of) share no chorale with
    the pieces a classifier learns Bach from."""
    pieces = corpus.pieces[corpus.pieces["split"] == "train"]
    groups = np.random.default_rng(0).permutation(pieces["group"].unique())
    spare = pieces["group"].isin(set(groups[:100]))
    return {"train": corpus.split("train").notes, "validation": corpus.split("validation").notes,
            "test": corpus.split("test").notes,
            "fit": corpus.subset(pieces.loc[~spare, "piece"]).notes,
            "spare": corpus.subset(pieces.loc[spare, "piece"]).notes,
            "held_out": pd.concat([corpus.split("validation").notes, corpus.split("test").notes], ignore_index=True)}


@pytest.fixture(scope="module")
def few(corpus):
    """Four short chorales."""
    return corpus.subset(corpus.piece_ids[:4]).notes


# ------------------------------------------------------------------- broken models


def test_shuffled_bars_moves_whole_bars_and_keeps_their_notes(few):
    piece = few[few["piece"] == few["piece"].iloc[0]]
    shuffled = shuffled_bars(piece, seed=3)
    assert len(shuffled) == len(piece)
    assert shuffled["end_beat"].max() == pytest.approx(piece["end_beat"].max())

    def bars(table):  # each bar's notes, relative to its bar line, as a sorted tuple
        relative = table.assign(at=table["start_beat"] - table["bar_start"])
        return sorted(tuple(sorted(zip(g["part"], g["pitch"], g["at"].round(6), strict=True)))
                      for _, g in relative.groupby("bar_start"))

    assert bars(shuffled) == bars(piece)
    assert not np.array_equal(shuffled.sort_values(["part", "start_beat"])["pitch"].to_numpy(),
                              piece.sort_values(["part", "start_beat"])["pitch"].to_numpy())
    # No voice overlaps itself: a note is cut at its bar's end.
    for _, voice in shuffled.groupby("part"):
        ordered = voice.sort_values("start_beat")
        assert (ordered["start_beat"].to_numpy()[1:] >= ordered["end_beat"].to_numpy()[:-1] - 1e-9).all()
    # Seconds follow the beats.
    ratio = shuffled["start"] / shuffled["start_beat"].replace(0, np.nan)
    assert ratio.dropna().nunique() == 1 or np.allclose(ratio.dropna(), ratio.dropna().iloc[0])


def test_shuffled_bars_without_bar_lines_uses_four_beat_bars():
    notes = pd.DataFrame({"piece": "p", "part": "Soprano", "pitch": [60, 62, 64, 65],
                          "start_beat": [0.0, 4.0, 8.0, 12.0], "end_beat": [4.0, 8.0, 12.0, 16.0]})
    shuffled = shuffled_bars(notes, seed=2)  # seed 1 happens to draw the identity
    assert sorted(shuffled["start_beat"]) == [0.0, 4.0, 8.0, 12.0]
    assert sorted(shuffled["pitch"]) == [60, 62, 64, 65]
    assert list(shuffled.sort_values("start_beat")["pitch"]) != [60, 62, 64, 65]


def test_transposed_voice_moves_one_part_only(few):
    moved = transposed_voice(few, voice="Alto", semitones=6)
    alto = few["part"] == "Alto"
    assert (moved.loc[alto, "pitch"] == few.loc[alto, "pitch"] + 6).all()
    assert (moved.loc[~alto, "pitch"] == few.loc[~alto, "pitch"]).all()
    with pytest.raises(ValueError, match="no part 'Descant'"):
        transposed_voice(few, voice="Descant")


# ------------------------------------------------------------------------ features


def test_features_hold_the_voice_leading_rates_and_drop_them_for_merged_voices(few):
    features = discriminator_features(few)
    assert list(features.index) == list(pd.unique(few["piece"]))
    leading = corpus_voice_leading(few)
    np.testing.assert_allclose(features["parallel_fifths"], leading["parallel_fifths"])
    np.testing.assert_allclose(features["homorhythm"], leading["homorhythm"])
    chords = features[[c for c in features.columns if c.startswith("chords: ")]]
    np.testing.assert_allclose(chords.sum(axis=1), 1.0)
    lengths = features[[c for c in features.columns if c.startswith("note lengths: ")]]
    assert (lengths.sum(axis=1) <= 1.0 + 1e-9).all() and len(lengths.columns) == 12
    assert {"Soprano: mean_abs_interval", "Bass: note_density", "pitch_entropy"} <= set(features.columns)
    assert not {"n_notes", "length_beats", "pitch_range", "pitch_in_scale_rate"} & set(features.columns)

    merged = discriminator_features(few, texture="merged voices")
    assert "parallel_fifths" not in merged.columns and "Alto: note_density" not in merged.columns
    np.testing.assert_allclose(merged["pitch_entropy"], features["pitch_entropy"])


# ------------------------------------------------------------------------ copying


def test_copied_windows_finds_a_transposed_excerpt_and_not_a_broken_one(few):
    first = few[few["piece"] == few["piece"].iloc[0]]
    # Cut where all four voices attack together, so the excerpt holds no note begun before.
    onsets = first.groupby("start_beat")["part"].nunique()
    cut = float(onsets[(onsets.index >= 2.0) & (onsets == 4)].index[0])
    assert not ((first["start_beat"] < cut) & (first["end_beat"] > cut)).any()
    excerpt = first[first["start_beat"] >= cut].assign(piece="excerpt")
    excerpt = excerpt.assign(start_beat=excerpt["start_beat"] - cut, end_beat=excerpt["end_beat"] - cut,
                             pitch=excerpt["pitch"] + 2)
    check = copied_windows(excerpt, few)
    assert check.n_windows > 0 and check.share == 1.0 and check.n_copied == check.n_windows
    assert "found note for note at some transposition" in str(check)
    assert copied_windows(excerpt, few, transpositions=False).n_copied == 0
    assert copied_windows(transposed_voice(excerpt, semitones=1), few).n_copied == 0


def test_copied_windows_of_short_samples_is_nan(few):
    short = few[few["start_beat"] < 4.0]
    check = copied_windows(short, few)
    assert check.n_windows == 0 and np.isnan(check.share) and "no four-bar window" in str(check)


# ------------------------------------------------------------------------ the result


def test_the_sentence_reads_for_a_newcomer():
    result = DiscriminatorResult("features", 0.97, (0.912, 0.99), 74, 37, 37, (0.95, 0.99), None, "four voices",
                                 "the joint LSTM", pd.DataFrame())
    assert str(result).startswith("the joint LSTM told apart from Bach 97% of the time (95% CI 91-99%, 74 pieces")


def test_bad_input_is_named(splits):
    with pytest.raises(ValueError, match="classifier must be one of"):
        discriminator_test(splits["validation"], splits["train"], splits["test"], classifier="forest")
    with pytest.raises(ValueError, match="shares .* with train"):
        discriminator_test(splits["validation"], splits["train"], splits["train"])
    with pytest.raises(ValueError, match="lacks the note-table column"):
        discriminator_test(splits["validation"].drop(columns="pitch"), splits["train"], splits["test"])
    few_samples = splits["validation"][splits["validation"]["piece"].isin(pd.unique(splits["validation"]["piece"])[:3])]
    with pytest.raises(ValueError, match="cannot make 3 folds"):
        discriminator_test(few_samples, splits["train"], splits["test"])


def test_samples_without_the_four_voices_are_compared_as_merged_voices(splits):
    # A piano-roll "model" (its chorales merged into one part) against 107 chorales.
    piano = splits["validation"].assign(part="Piano")
    result = discriminator_test(piano, splits["spare"], splits["test"], classifier="features")
    assert result.texture == "merged voices" and "merged voices" in str(result)
    assert not any(name.startswith(("parallel", "chords: ", "Soprano: ")) for name in result.top_features.index)
    assert result.n_real == 37 and result.n_samples == 36


# ------------------------------------------------------------------------ controls


@pytest.fixture(scope="module")
def controls(splits):
    """The four controls' inputs: (samples, train, held_out)."""
    return {
        # Held-out chorales standing in for samples: every split group-disjoint.
        "real vs real": (splits["validation"], splits["train"], splits["test"]),
        # A broken model's samples against its own "training" and "held-out" pieces (107
        # training chorales, not 297: the test stays quick and the control as strict).
        "samples vs themselves": tuple(transposed_voice(t) for t in
                                       (splits["validation"], splits["spare"], splits["test"])),
        "bars shuffled": (shuffled_bars(splits["spare"], seed=0), splits["fit"], splits["held_out"]),
        "alto a tritone up": (transposed_voice(splits["spare"]), splits["fit"], splits["held_out"]),
    }


@pytest.mark.parametrize("classifier", list(CLASSIFIERS))
@pytest.mark.parametrize("control", ["real vs real", "samples vs themselves"])
def test_a_null_control_gives_an_interval_containing_one_half(controls, control, classifier):
    result = discriminator_test(*controls[control], classifier=classifier, label=control)
    print(result, result.fold_accuracies)
    assert result.interval[0] <= 0.5 <= result.interval[1], str(result)
    assert result.n_pieces == len(result.pieces) == result.n_real + result.n_samples


@pytest.mark.parametrize("classifier", list(CLASSIFIERS))
@pytest.mark.parametrize("control", ["bars shuffled", "alto a tritone up"])
def test_a_broken_model_is_told_apart(controls, control, classifier):
    # Two folds, not three, to keep the suite quick: each classifier then learns from
    # fewer of the broken pieces, which only makes telling them apart harder.
    result = discriminator_test(*controls[control], classifier=classifier, label=control, n_folds=2)
    print(result, result.fold_accuracies)
    assert result.interval[0] > 0.8, str(result)
    assert len(result.fold_accuracies) == 2
    if classifier == "features":
        assert list(result.top_features.columns) == ["coefficient", "model_mean", "bach_mean"]
        if control == "alto a tritone up":  # a tritone against the other voices is heard as dissonance
            clues = set(result.top_features.index)
            assert clues & {"strong_beat_dissonance", "chords: other", "voice_crossing", "voice_overlap"}
