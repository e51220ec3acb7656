"""WaveNet: receptive field, causality, cached generation = full pass, sampling, scoring, bad input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from musicalpy import pipelines
from musicalpy.models import lstm, wavenet
from musicalpy.representations import Vocabulary

TOKENS = [("C4", 1.0), ("D4", 0.5), ("E4", 1.0), ("G4", 2.0), ("rest", 1.0), ("C5", 0.25)]


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary(TOKENS)


@pytest.fixture(scope="module")
def model(vocab):
    import keras

    keras.utils.set_random_seed(3)
    return wavenet.build_wavenet(len(vocab), channels=8, skip_channels=6, dilations=wavenet.dilation_cycles(4, 2))


def _random_ids(vocab, shape, seed=0):
    return np.random.default_rng(seed).integers(vocab.n_reserved, len(vocab), shape)


def test_receptive_field_known_answers(model):
    assert wavenet.dilation_cycles(8) == [1, 2, 4, 8]
    assert wavenet.dilation_cycles(4, 2) == [1, 2, 4, 1, 2, 4]
    assert wavenet.receptive_field([1, 2, 4, 8, 16]) == 32
    assert wavenet.receptive_field([1, 2, 4], kernel_size=3) == 15
    assert wavenet.model_receptive_field(model) == 15
    baseline = wavenet.build_baseline_cnn(10, 16, embedding_dim=4, filters=(4, 4, 4), dense_units=4)
    assert wavenet.model_receptive_field(baseline) == 16
    assert wavenet.model_receptive_field(lstm.build_token_lstm(10, embedding_dim=4, units=(4,))) is None
    with pytest.raises(ValueError, match="power of two"):
        wavenet.dilation_cycles(6)
    with pytest.raises(ValueError, match="dilations"):
        wavenet.receptive_field([])


def test_model_is_causal_with_the_stated_receptive_field(model, vocab):
    ids = _random_ids(vocab, (2, 30))
    changed = ids.copy()
    changed[:, 10] = np.where(changed[:, 10] == 5, 6, 5)
    difference = np.abs(model(ids).numpy() - model(changed).numpy()).max(axis=(0, 2))
    assert (difference[:10] == 0).all()  # the past never sees the future
    assert (difference[10:25] > 0).all()  # t = 10 .. 10 + 15 - 1 see position 10
    assert (difference[25:] == 0).all()  # beyond the receptive field of 15


@pytest.mark.parametrize("kernel_size, dilations", [(2, [1, 2, 4, 1, 2, 4]), (3, [1, 2, 1])])
def test_cached_steps_equal_the_full_pass(vocab, kernel_size, dilations):
    import keras

    keras.utils.set_random_seed(1)
    net = wavenet.build_wavenet(len(vocab), channels=8, dilations=dilations, kernel_size=kernel_size, dropout=0.2)
    ids = _random_ids(vocab, (3, 25), seed=kernel_size)
    full = net(ids, training=False).numpy()
    cached = wavenet.CachedWaveNetStepper(net).logits_along(ids)
    np.testing.assert_allclose(cached, full, atol=1e-5)
    # The same next-token distribution at every step.
    np.testing.assert_allclose(keras.ops.softmax(cached).numpy(), keras.ops.softmax(full).numpy(), atol=1e-6)


def test_cached_and_naive_generation_draw_the_same_tokens(model, vocab):
    primer = np.concatenate([[vocab.start_id], _random_ids(vocab, 20, seed=7)])  # longer than the field
    cached = wavenet.sample_ids(model, vocab, primer, n_tokens=30, n_samples=4, seed=5, stop_at_end=False)
    naive = wavenet.sample_ids(model, vocab, primer, n_tokens=30, n_samples=4, seed=5, stop_at_end=False, cached=False)
    assert cached.shape == (4, 30)
    np.testing.assert_array_equal(cached, naive)
    assert not np.isin(cached, [vocab.pad_id, vocab.start_id, vocab.unk_id]).any()
    assert len({tuple(row) for row in cached}) > 1  # the samples of a batch differ
    again = wavenet.sample_ids(model, vocab, primer, n_tokens=30, n_samples=4, seed=5, stop_at_end=False)
    np.testing.assert_array_equal(cached, again)


def test_short_primer_and_unknown_tokens_generate_and_say_so(model, vocab):
    with pytest.warns(UserWarning, match="fewer than the receptive field of 15: the missing past is left-padded"):
        ids = wavenet.sample_ids(model, vocab, [vocab.start_id, 4], n_tokens=8, seed=0, stop_at_end=False)
    assert ids.shape == (1, 8)
    with pytest.warns(UserWarning, match=r"not in the vocabulary \(first: \('F#9', 3.0\)\); they enter the model as UNK"):
        notes = wavenet.generate(model, vocab, [("C4", 1.0), ("F#9", 3.0)], n_tokens=6, n_samples=2, seed=0)
    assert set(notes["piece"]) <= {"sample_0", "sample_1"}
    assert notes["pitch"].between(0, 127).all() and (notes["end"] > notes["start"]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no primer: a piece starts from START, nothing to say
        wavenet.sample_ids(model, vocab, n_tokens=4, n_samples=2)
    with pytest.raises(ValueError, match="unknown token id 99"), pytest.warns(UserWarning, match="left-padded"):
        wavenet.sample_ids(model, vocab, np.array([[1, 99]]), n_tokens=4)


def test_baseline_generates_from_a_left_padded_primer(vocab):
    baseline = wavenet.build_baseline_cnn(len(vocab), 8, embedding_dim=4, filters=(4, 4, 4), dense_units=4)
    assert baseline.output.shape[-1] == len(vocab)
    with pytest.warns(UserWarning, match="left-padded with PAD"):
        ids = wavenet.sample_ids(baseline, vocab, [vocab.start_id, 5], n_tokens=5, n_samples=3, stop_at_end=False)
    assert ids.shape == (3, 5)
    with pytest.raises(ValueError, match="too short"):
        wavenet.build_baseline_cnn(len(vocab), 4)


def test_left_padding_predicts_every_token_once():
    np.testing.assert_array_equal(wavenet.left_pad([5, 6], 4), [[0, 0, 5, 6]])
    np.testing.assert_array_equal(wavenet.left_pad([[5, 6, 7]], 2), [[5, 6, 7]])
    padded = wavenet.left_pad_sequences({"a": np.array([1, 5, 6, 2])}, window=3)
    np.testing.assert_array_equal(padded["a"], [0, 0, 1, 5, 6, 2])
    batches = list(pipelines.window_dataset(padded, 3, target="next", batch_size=10))
    x, y = batches[0][0].numpy(), batches[0][1].numpy()
    np.testing.assert_array_equal(y, [5, 6, 2])
    np.testing.assert_array_equal(x, [[0, 0, 1], [0, 1, 5], [1, 5, 6]])


def test_score_sequences_counts_every_token_once(model, vocab):
    import keras

    sequences = {"a": np.array([1, 5, 6, 7, 2]), "b": np.array([1, 8, 2]), "c": np.array([1])}
    total, count = wavenet.score_sequences(model, sequences, batch_size=1)
    assert count == 4 + 2  # a piece of one token has nothing to predict
    expected = 0.0
    for ids in (sequences["a"], sequences["b"]):
        log_probs = keras.ops.log_softmax(model(ids[None, :-1])).numpy()[0]
        expected += log_probs[np.arange(len(ids) - 1), ids[1:]].sum()
    assert total == pytest.approx(expected, rel=1e-5)
    # A fixed-window model reads each token's left-padded past.
    baseline = wavenet.build_baseline_cnn(len(vocab), 8, embedding_dim=4, filters=(4, 4, 4), dense_units=4)
    total, count = wavenet.score_sequences(baseline, {"b": sequences["b"]})
    contexts = np.array([[0] * 7 + [1], [0] * 6 + [1, 8]])
    log_probs = keras.ops.log_softmax(baseline(contexts)).numpy()
    assert count == 2 and total == pytest.approx(log_probs[0, 8] + log_probs[1, 2], rel=1e-5)
    with pytest.raises(ValueError, match="no piece"):
        wavenet.score_sequences(model, [np.array([1])])


def test_describe_receptive_field_in_beats(vocab):
    one_beat = vocab.id_of(("C4", 1.0))
    half_beat = vocab.id_of(("D4", 0.5))
    sequences = [np.array([vocab.start_id] + [one_beat] * 8 + [half_beat] * 8 + [vocab.end_id])]
    report = wavenet.describe_receptive_field(4, sequences, vocab, beats_per_bar=2, bars=1)
    # Runs of 4 tokens: 3 beats (START + three 1-beat notes), 4 (x5), 3.5, 3, 2.5, 2 (x5), 1.5 (with END).
    assert report["median_beats"] == pytest.approx(3.0)
    assert report["p10_beats"] == pytest.approx(2.0)
    assert report["share_covering"] == pytest.approx(14 / 15)
    assert "receptive field 4 tokens" in report["summary"]
    with pytest.raises(ValueError, match="outside the vocabulary"):
        wavenet.describe_receptive_field(4, [np.array([1, 99])], vocab)


def test_save_load_round_trip_and_bad_arguments(model, vocab, tmp_path):
    path = tmp_path / "wavenet.keras"
    model.save(path)
    loaded = wavenet.load_model(path, compile=False)
    ids = _random_ids(vocab, (2, 12))
    np.testing.assert_allclose(loaded(ids).numpy(), model(ids).numpy(), atol=1e-6)
    assert wavenet.model_receptive_field(loaded) == 15
    with pytest.raises(FileNotFoundError):
        wavenet.load_model(tmp_path / "missing.keras")
    with pytest.raises(ValueError, match="vocab_size"):
        wavenet.build_wavenet(1)
    with pytest.raises(ValueError, match="dropout"):
        wavenet.build_wavenet(10, dropout=1.0)
    with pytest.raises(ValueError, match="not a WaveNet"):
        wavenet.CachedWaveNetStepper(lstm.build_token_lstm(10, embedding_dim=4, units=(4,)))


def test_training_records_the_piece_loss_and_checkpoints(vocab, tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    sequences = {i: np.concatenate([[1], rng.integers(4, len(vocab), 20), [2]]) for i in range(6)}
    train = pipelines.window_dataset(sequences, 8, target="sequence", batch_size=8)
    callback = wavenet.piece_loss_callback(sequences)
    model, history = lstm.train_model(
        lambda: wavenet.build_wavenet(len(vocab), channels=4, dilations=[1, 2]), train, train,
        epochs=2, run_dir=tmp_path / "run", tensorboard=False, callbacks=[callback], verbose=0)
    assert list(history["epoch"]) == [1, 2]
    total, count = wavenet.score_sequences(model, sequences)
    assert history["val_piece_loss"].iloc[-1] == pytest.approx(-total / count, rel=1e-4)
    assert history["val_piece_loss"].iloc[-1] < math.log(len(vocab))  # learnt something
    assert (tmp_path / "run" / "best.keras").exists()
    assert wavenet.model_receptive_field(wavenet.load_model(tmp_path / "run" / "best.keras")) == 4


def test_benchmark_generation_reports_both_paths(model, vocab):
    speed = wavenet.benchmark_generation(model, vocab, n_tokens=6, n_samples=2, predict_tokens=2)
    assert speed["receptive_field"] == 15 and speed["window"] == 15
    assert speed["naive_tokens_per_s"] > 0 and speed["cached_tokens_per_s"] > 0 and speed["predict_tokens_per_s"] > 0
    assert speed["speedup"] == pytest.approx(speed["cached_tokens_per_s"] / speed["naive_tokens_per_s"])
    with pytest.raises(ValueError, match="not a WaveNet"):
        wavenet.benchmark_generation(lstm.build_token_lstm(len(vocab), embedding_dim=4, units=(4,)), vocab)
