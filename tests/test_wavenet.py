"""WaveNet: receptive field, causality, cached steps = full pass, the baseline, saving and
loading (also files saved before the layers moved), the benchmark, bad input. Sampling,
scoring and training of every token model are tested in test_engine.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicalpy.models import engine, lstm, wavenet
from musicalpy.representations import Vocabulary

SAVED = Path(__file__).parent / "data" / "saved_models"

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


def test_baseline_reads_one_window_and_predicts_one_token(vocab):
    baseline = wavenet.build_baseline_cnn(len(vocab), 8, embedding_dim=4, filters=(4, 4, 4), dense_units=4)
    assert tuple(baseline(np.zeros((2, 8), dtype="int32")).shape) == (2, len(vocab))
    assert engine.fixed_input_length(baseline) == 8
    with pytest.raises(ValueError, match="too short"):
        wavenet.build_baseline_cnn(len(vocab), 4)


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
    import keras

    path = tmp_path / "wavenet.keras"
    model.save(path)
    loaded = wavenet.load_model(path, compile=False)
    ids = _random_ids(vocab, (2, 12))
    np.testing.assert_allclose(loaded(ids).numpy(), model(ids).numpy(), atol=1e-6)
    assert wavenet.model_receptive_field(loaded) == 15
    # The block is registered on import: plain Keras loads the file too.
    plain = keras.models.load_model(path)
    np.testing.assert_allclose(plain(ids).numpy(), model(ids).numpy(), atol=1e-6)
    assert isinstance(plain.get_layer("block_1"), wavenet.GatedResidualBlock)
    assert wavenet.custom_objects() == {"GatedResidualBlock": wavenet.GatedResidualBlock}
    with pytest.raises(FileNotFoundError):
        wavenet.load_model(tmp_path / "missing.keras")
    with pytest.raises(ValueError, match="vocab_size"):
        wavenet.build_wavenet(1)
    with pytest.raises(ValueError, match="dropout"):
        wavenet.build_wavenet(10, dropout=1.0)
    with pytest.raises(ValueError, match="not a WaveNet"):
        wavenet.CachedWaveNetStepper(lstm.build_token_lstm(10, embedding_dim=4, units=(4,)))


def test_a_wavenet_saved_before_the_block_moved_still_loads():
    import keras

    expected = np.load(SAVED / "predictions.npz")
    loaded = keras.models.load_model(SAVED / "wavenet.keras")
    np.testing.assert_allclose(loaded(expected["wavenet_x"]).numpy(), expected["wavenet_y"], atol=1e-6)
    assert type(engine.stepper_for(loaded)) is wavenet.CachedWaveNetStepper
    assert wavenet.model_receptive_field(loaded) == 4


def test_benchmark_generation_reports_both_paths(model, vocab):
    speed = wavenet.benchmark_generation(model, vocab, n_tokens=6, n_samples=2, predict_tokens=2)
    assert speed["receptive_field"] == 15 and speed["window"] == 15
    assert speed["naive_tokens_per_s"] > 0 and speed["cached_tokens_per_s"] > 0 and speed["predict_tokens_per_s"] > 0
    assert speed["speedup"] == pytest.approx(speed["cached_tokens_per_s"] / speed["naive_tokens_per_s"])
    with pytest.raises(ValueError, match="not a WaveNet"):
        wavenet.benchmark_generation(lstm.build_token_lstm(len(vocab), embedding_dim=4, units=(4,)), vocab)
