"""Tests of musicalpy.leaderboard: rows keyed by model, representation and split, stored
in a CSV that several notebooks share without overwriting each other's rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from musicalpy import metrics
from musicalpy.leaderboard import Leaderboard, bits_comparison
from musicalpy.metrics import compare_sets


def _pieces(n: int, seed: int) -> pd.DataFrame:
    """Random C-major pieces of quarter notes, 12-24 notes each, times in beats."""
    rng = np.random.default_rng(seed)
    scale = np.array([60, 62, 64, 65, 67, 69, 71])
    frames = []
    for index in range(n):
        length = int(rng.integers(12, 24))
        starts = np.arange(length, dtype=float)
        frames.append(pd.DataFrame({"piece": f"s{seed}-{index}", "part": "p", "pitch": rng.choice(scale, length),
                                    "start": starts / 2, "end": (starts + 1) / 2,
                                    "start_beat": starts, "end_beat": starts + 1}))
    return pd.concat(frames, ignore_index=True)


def test_leaderboard_appends_replaces_and_never_overwrites_others(tmp_path):
    path = tmp_path / "board.csv"
    comparison = compare_sets(_pieces(6, seed=8), _pieces(8, seed=9))
    board = Leaderboard(path)
    board.add("markov-1", representation="pitch", bits_per_token=4.2, bits_per_note=4.4,
              comparison=comparison, training_time_s=0.5)
    board.add("unigram", representation="pitch", bits_per_token=5.3, bits_per_note=5.5)
    board.save()
    # Someone else adds a row to the same file meanwhile.
    other = Leaderboard.load(path)
    other.add("lstm", representation="events", bits_per_token=2.0, notes="teacher forcing")
    other.save()
    board.add("markov-1", representation="pitch", bits_per_token=4.1)  # replaces its own row
    board.save()
    saved = pd.read_csv(path)
    assert sorted(saved["model"]) == ["lstm", "markov-1", "unigram"]
    markov = saved[saved["model"] == "markov-1"].iloc[0]
    assert markov["bits_per_token"] == 4.1
    assert math.isnan(markov["oa_pitch_range"])  # the replacement had no comparison
    reloaded = Leaderboard.load(path).frame.set_index("model")
    assert reloaded.loc["lstm", "notes"] == "teacher forcing"
    first = Leaderboard(tmp_path / "first.csv").add("m", comparison=comparison)
    row = first.frame.iloc[0]
    assert row["oa_pitch_range"] == comparison.loc["pitch_range", "oa"]
    free = [f for f in metrics.BUDGET_FREE_FEATURES if f in comparison.index]
    assert row["mean_oa"] == pytest.approx(comparison.loc[free, "oa"].mean())
    assert row["mean_oa"] != pytest.approx(comparison["oa"].mean())  # n_notes & co. are left out
    assert math.isnan(row["mean_oa_sd"]) and row["n_seeds"] == 1
    assert row["pitch_histogram_kl"] == comparison.loc["pitch_histogram", "pooled_kl"]
    assert row["n_samples"] == 6 and row["split"] == "test"
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a leaderboard"):
        Leaderboard(tmp_path / "bad.csv")


def test_empty_board_has_the_fixed_columns(tmp_path):
    board = Leaderboard(tmp_path / "none.csv")
    assert len(board) == 0
    assert list(board.frame.columns) == list(Leaderboard.COLUMNS)
    with pytest.raises(ValueError, match="model"):
        board.add("")
    board.add("b", bits_per_token=1.0).add("a", bits_per_token=2.0, extra_column=3)
    assert board.frame["model"].tolist() == ["b", "a"]
    assert math.isnan(board.frame.set_index("model").loc["b", "extra_column"])


def test_mean_oa_spread_comes_from_a_seed_spread(tmp_path):
    reference = _pieces(8, seed=9)
    spread = metrics.seed_spread([compare_sets(_pieces(6, seed=s), reference) for s in (1, 2, 3)])
    row = Leaderboard(tmp_path / "b.csv").add("m", comparison=spread).frame.iloc[0]
    mean, sd = metrics.mean_oa(spread)
    assert row["mean_oa"] == pytest.approx(mean) and row["mean_oa_sd"] == pytest.approx(sd) and sd > 0
    assert row["n_seeds"] == 3


def test_bits_per_token_are_compared_only_on_identical_fingerprints():
    rows = pd.DataFrame([
        {"model": "markov", "representation": "q", "representation_fingerprint": "aaa", "bits_per_token": 4.368,
         "bits_per_note": 4.40},
        {"model": "unigram", "representation": "q", "representation_fingerprint": "aaa", "bits_per_token": 5.1,
         "bits_per_note": 5.20},
        {"model": "hmm", "representation": "q", "representation_fingerprint": "bbb", "bits_per_token": 4.479,
         "bits_per_note": 4.50},
    ])
    lines = bits_comparison(rows)
    assert lines[0] == "On identical tokens (q, fingerprint aaa): markov 4.368, unigram 5.100 bits per token."
    assert "hmm" not in lines[0] and lines[1].startswith("No other model here has the tokens of hmm")
    assert lines[-1] == "Every model in bits per note: markov 4.40, hmm 4.50, unigram 5.20."
    same = bits_comparison(rows.assign(representation_fingerprint="aaa"))
    assert same[0].endswith("markov 4.368, hmm 4.479, unigram 5.100 bits per token.") and len(same) == 2
    with pytest.raises(ValueError, match="representation_fingerprint"):
        bits_comparison(rows.drop(columns="representation_fingerprint"))


# ------------------------------------------------------------------ Bach or model


def test_update_sets_measured_columns_on_a_row_added_before(tmp_path):
    from musicalpy.leaderboard import DISCRIMINATOR_COLUMNS

    path = tmp_path / "board.csv"
    board = Leaderboard(path).add("satb_counts", representation="satb", bits_per_note=3.1).add("lstm", bits_per_note=4.0)
    assert all(math.isnan(v) for v in board.frame.set_index("model").loc["lstm", list(DISCRIMINATOR_COLUMNS)])
    board.update("satb_counts", representation="satb", told_apart_features=0.97, told_apart_features_low=0.93,
                 copied_windows=0.0, note_of_mine="x")
    board.save()
    saved = pd.read_csv(path).set_index("model")
    assert saved.loc["satb_counts", "told_apart_features"] == 0.97 and saved.loc["satb_counts", "copied_windows"] == 0.0
    assert saved.loc["satb_counts", "bits_per_note"] == 3.1 and saved.loc["satb_counts", "note_of_mine"] == "x"
    assert math.isnan(saved.loc["lstm", "told_apart_features"])
    # The Bach-or-model columns follow the voice-leading ones, before the per-feature overlaps.
    columns = list(saved.reset_index().columns)
    assert columns.index("vl_chord_type_overlap") + 1 == columns.index("told_apart_features")
    with pytest.raises(KeyError, match="no leaderboard row for model 'satb_counts', representation 'other'"):
        board.update("satb_counts", representation="other", copied_windows=0.1)


def test_told_apart_sentence_reads_the_columns():
    from musicalpy.leaderboard import told_apart_sentence

    row = {"model": "satb_lstm", "told_apart_features": 0.974, "told_apart_features_low": 0.931,
           "told_apart_features_high": 1.0, "told_apart_windows": 0.62, "told_apart_windows_low": 0.5,
           "told_apart_windows_high": 0.745, "copied_windows": 0.0125}
    assert told_apart_sentence(row) == (
        "satb_lstm is told from Bach 97% of the time (95% CI 93-100%) by a classifier reading per-piece features, "
        "62% (50-74%) by one reading four-bar windows; 1.2% of its four-bar windows are copied from a training chorale")
    assert told_apart_sentence({**row, "told_apart_features": math.nan, "copied_windows": ""}, label="it") == (
        "it is told from Bach 62% of the time (95% CI 50-74%) by a classifier reading four-bar windows")
    assert told_apart_sentence({"model": "vae"}) == "vae: not measured by the Bach-or-model test"


@pytest.fixture(scope="module")
def chorales():
    from musicalpy import zoo

    corpus = zoo.training_corpus("bach")
    train = corpus.split("train")
    return {"train": corpus.subset(train.piece_ids[:24]).notes,
            "held_out": corpus.subset(corpus.split("test").piece_ids[:12]).notes,
            "spare": corpus.subset(train.piece_ids[24:30]).notes}


def test_bach_or_model_runs_both_classifiers_on_four_voices_only(chorales):
    from musicalpy.leaderboard import DISCRIMINATOR_COLUMNS, bach_or_model
    from musicalpy.metrics import transposed_voice

    # Six chorales with the alto a tritone up: a broken "model", never copied note for note.
    broken = transposed_voice(chorales["spare"])
    test = bach_or_model(broken, chorales["train"], chorales["held_out"], label="tritone", max_epochs=3, n_boot=200)
    assert list(test.columns) == list(DISCRIMINATOR_COLUMNS) and test.reason == ""
    features, windows = test.results["features"], test.results["windows"]
    assert features.accuracy == test.columns["told_apart_features"] > 0.9  # the dissonance is plain to see
    assert (features.interval == (test.columns["told_apart_features_low"], test.columns["told_apart_features_high"]))
    assert 0.0 <= windows.interval[0] <= windows.accuracy <= windows.interval[1] <= 1.0
    assert len(features.fold_accuracies) == 3 and features.n_samples == 6 and features.n_real == 12
    assert test.best_accuracy == max(features.accuracy, windows.accuracy)
    assert test.copies.n_copied == 0 and test.columns["copied_windows"] == 0.0 and test.seconds > 0
    assert str(test).startswith("tritone is told from Bach ")
    # A piano roll is not voices; too few samples cannot make two folds.
    piano = bach_or_model(chorales["spare"].assign(part="Piano"), chorales["train"], chorales["held_out"], label="vae")
    assert piano.results == {} and "not applicable: the samples' parts are Piano" in piano.reason
    assert all(math.isnan(v) for v in piano.columns.values()) and math.isnan(piano.best_accuracy)
    three = broken[broken["piece"].isin(broken["piece"].unique()[:3])]
    assert "too few samples: 3" in str(bach_or_model(three, chorales["train"], chorales["held_out"]))


# ------------------------------------------------------------------ choosing a model


def test_choose_on_validation_keeps_the_lowest_validation_score():
    from musicalpy.leaderboard import choose_on_validation

    choice = choose_on_validation(pd.Series({"HMM-10": 2.41, "HMM-32": 2.17, "HMM-64": 2.30}, name="validation bits"),
                                  metric="validation bits per note")
    assert choice.chosen == "HMM-32" and choice.score == 2.17
    assert choice.ranking() == ["HMM-32", "HMM-64", "HMM-10"]
    assert choice.record() == {"split": "validation", "metric": "validation bits per note",
                               "candidates": {"HMM-10": 2.41, "HMM-32": 2.17, "HMM-64": 2.30}, "chosen": "HMM-32"}
    # higher is better for a score such as F1; ties go to the candidate given first
    f1 = choose_on_validation({"a": 0.61, "b": 0.74, "c": 0.74}, metric="validation note F1", lower_is_better=False)
    assert f1.chosen == "b" and f1.ranking() == ["b", "c", "a"]
    assert str(choose_on_validation({3: 1.5}, metric="val loss")) == "kept 3 (val loss 1.500, lowest of 1)"


@pytest.mark.parametrize("call", [
    {"split": "test"},                                   # declared as test scores
    {"metric": "test bits/token"},                       # a metric that names the test split
    {"metric": "bits_test"},
    {"name": "test bits/note"},                          # a column of a results table taken as it is
    {"name": "Test loss"},
])
def test_choose_on_validation_refuses_a_test_split_score(call):
    from musicalpy.leaderboard import choose_on_validation

    scores = pd.Series({"small": 4.3, "large": 4.1}, name=call.get("name", "bits"))
    with pytest.raises(ValueError, match="test split"):
        choose_on_validation(scores, metric=call.get("metric", "bits per token"), split=call.get("split", "validation"))


def test_choose_on_validation_refuses_what_it_cannot_rank():
    from musicalpy.leaderboard import choose_on_validation

    with pytest.raises(ValueError, match="split must be 'validation'"):
        choose_on_validation({"a": 1.0}, metric="bits", split="train")
    with pytest.raises(ValueError, match="no candidate"):
        choose_on_validation({}, metric="bits")
    with pytest.raises(ValueError, match="'b' is nan"):
        choose_on_validation({"a": 1.0, "b": math.nan}, metric="bits")
    with pytest.raises(ValueError, match="not a table"):
        choose_on_validation(pd.DataFrame({"validation bits": [1.0]}), metric="bits")
    # "latest" or "contest" do not name the test split
    assert choose_on_validation({"a": 2.0, "b": 1.0}, metric="latest validation loss").chosen == "b"


def test_check_selection_accepts_a_selection_and_refuses_test_records():
    from musicalpy.leaderboard import check_selection, choose_on_validation

    choice = choose_on_validation({"a": 2.0, "b": 1.0}, metric="validation loss")
    assert check_selection(choice, "here") == choice.record()
    assert check_selection({"split": "validation"}, "here") == {"split": "validation", "metric": None, "candidates": []}
    for bad in ({"split": "test"}, {"split": "validation", "metric": "test bits/token"}):
        with pytest.raises(ValueError, match="here: the kept model was chosen on the test split"):
            check_selection(bad, "here")
    with pytest.raises(ValueError, match="must be a mapping with a 'split'"):
        check_selection({"metric": "bits"}, "here")
