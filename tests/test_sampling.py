"""Sampling primitives (logit filters, seeded draws) and the (pitch, step, duration)
sampler: validity of generated notes, seeds, batches, bad input. Token sampling is
tested in test_engine.py."""

from __future__ import annotations

import numpy as np
import pytest

from musicalpy.midi import read_midi, write_midi
from musicalpy.models import lstm, sampling

PROBS = np.array([[0.5, 0.3, 0.15, 0.05]], dtype="float32")


def _kept(**options) -> list[int]:
    filtered = sampling.filter_logits(np.log(PROBS), **options).numpy()[0]
    return np.flatnonzero(np.isfinite(filtered)).tolist()


def test_filter_logits_known_answers():
    assert _kept() == [0, 1, 2, 3]
    assert _kept(top_k=2) == [0, 1]
    assert _kept(top_k=10) == [0, 1, 2, 3]
    assert _kept(top_p=0.6) == [0, 1]  # 0.5 < 0.6, 0.5 + 0.3 reaches it
    assert _kept(top_p=0.5) == [0]
    assert _kept(top_p=0.81) == [0, 1, 2]
    assert _kept(top_k=3, top_p=0.6) == [0, 1]
    import tensorflow as tf

    flattened = tf.nn.softmax(sampling.filter_logits(np.log(PROBS), temperature=2.0)).numpy()[0]
    expected = np.sqrt(PROBS[0]) / np.sqrt(PROBS[0]).sum()
    np.testing.assert_allclose(flattened, expected, rtol=1e-5)
    # Extreme temperatures stay finite: the maximum is shifted to 0 first.
    cold = sampling.filter_logits(np.log(PROBS), temperature=1e-30)
    assert cold.numpy()[0, 0] == 0 and not np.isnan(cold.numpy()).any()
    np.testing.assert_array_equal(tf.nn.softmax(cold).numpy()[0], [1.0, 0.0, 0.0, 0.0])


def test_sample_logits_frequencies_and_seed():
    logits = np.repeat(np.log(PROBS), 20000, axis=0)
    draws = sampling.sample_logits(logits, np.array([1, 2])).numpy()
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / len(draws), PROBS[0], atol=0.015)
    np.testing.assert_array_equal(draws, sampling.sample_logits(logits, np.array([1, 2])).numpy())
    assert (sampling.sample_logits(logits, np.array([3, 4]), top_k=1).numpy() == 0).all()
    nucleus = sampling.sample_logits(logits, np.array([3, 4]), top_p=0.6).numpy()
    assert set(np.unique(nucleus)) == {0, 1}
    assert abs(np.mean(nucleus == 0) - 0.5 / 0.8) < 0.015


def test_salted_seeds_differ_for_every_step_and_head():
    import tensorflow as tf

    seeds = {(step, salt): tuple(sampling.salted_seed(tf.constant([7, step], tf.int64), salt).numpy())
             for step in range(5) for salt in range(4)}
    assert seeds[(3, 1)] == (7, 13)  # seed[1] * 4 + salt
    assert len(set(seeds.values())) == 20


@pytest.mark.parametrize(
    "options, message",
    [
        ({"temperature": 0}, "temperature"),
        ({"temperature": -1.0}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"top_k": 2.5}, "top_k"),
    ],
)
def test_bad_sampling_options(options, message):
    with pytest.raises(ValueError, match=message):
        sampling.check_sampling_options(**options)


def _feature_primer(n: int = 10) -> np.ndarray:
    pitch = 60 + np.arange(n) % 12
    return np.column_stack([pitch, np.full(n, 0.25), np.full(n, 0.5)]).astype("float32")


@pytest.mark.parametrize("temperature", [1e-4, 1.0, 1e4])
def test_extreme_temperatures_give_valid_midi(temperature, tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    tutorial = lstm.build_tutorial_lstm(6, units=8)
    # Push the untrained regression heads negative: the sampler must still give
    # non-negative steps and positive durations.
    bias = tutorial.get_layer("duration").get_weights()
    tutorial.get_layer("duration").set_weights([bias[0], np.array([-3.0], dtype="float32")])
    rhythm = lstm.build_rhythm_lstm(6, [0.0, 0.5], [0.25, 1.0], units=8)
    for model in (tutorial, rhythm):
        notes = sampling.generate_notes(model, _feature_primer(), n_notes=40, n_samples=3, temperature=temperature, top_p=0.9)
        assert notes.groupby("piece").size().tolist() == [40, 40, 40]
        assert notes["pitch"].between(0, 127).all()
        assert (notes["start"] >= 0).all() and (notes["end"] - notes["start"] > 0).all()
        path = tmp_path / f"{model.name}_{temperature}.mid"
        write_midi(notes[notes.piece == "sample_0"], path)
        assert len(read_midi(path)) == 40


def test_generation_by_seconds_batches_and_seeds():
    import keras

    keras.utils.set_random_seed(1)
    model = lstm.build_rhythm_lstm(6, [0.25, 0.5], [0.25, 0.5], units=8)
    notes = sampling.generate_notes(model, _feature_primer(), seconds=4.0, n_samples=4, seed=5)
    assert (notes["start"] < 4.0).all() and notes.groupby("piece")["start"].max().min() >= 3.5
    first = sampling.sample_features(model, _feature_primer(), n_notes=20, n_samples=4, seed=5)
    again = sampling.sample_features(model, _feature_primer(), n_notes=20, n_samples=4, seed=5)
    other = sampling.sample_features(model, _feature_primer(), n_notes=20, n_samples=4, seed=6)
    np.testing.assert_array_equal(np.stack(first), np.stack(again))
    assert not np.array_equal(np.stack(first), np.stack(other))
    assert not np.array_equal(first[0], first[1])  # one batch, different samples
    with_primer = sampling.generate_notes(model, _feature_primer(), n_notes=5, include_primer=True)
    assert len(with_primer) == 6 + 5
    primers = sampling.primer_windows({"a": _feature_primer(12), "b": _feature_primer(7)}, 8, n_samples=3)
    assert primers.shape == (3, 8, 3)


def test_bad_primers():
    import keras

    keras.utils.set_random_seed(0)
    tutorial = lstm.build_tutorial_lstm(8, units=4)
    with pytest.raises(ValueError, match="shorter than the model's window of 8"):
        sampling.generate_notes(tutorial, _feature_primer(5), n_notes=3)
    with pytest.raises(ValueError, match="0-127"):
        sampling.generate_notes(tutorial, _feature_primer(8) + [[100, 0, 0]], n_notes=3)
    with pytest.raises(ValueError, match="exactly one"):
        sampling.generate_notes(tutorial, _feature_primer(8), n_notes=3, seconds=2.0)
    with pytest.raises(ValueError, match="temperature"):
        sampling.generate_notes(tutorial, _feature_primer(8), n_notes=3, temperature=0.0)
    with pytest.raises(ValueError, match="top_p"):
        sampling.generate_notes(tutorial, _feature_primer(8), n_notes=3, top_p=1.2)
    with pytest.raises(ValueError, match="n_notes must be an integer >= 1"):
        sampling.generate_notes(tutorial, _feature_primer(8), n_notes=0)
    with pytest.raises(ValueError, match=r"lacks output head\(s\) \['duration', 'pitch', 'step'\]"):
        sampling.generate_notes(lstm.build_token_lstm(10, embedding_dim=4, units=(4,)), _feature_primer(8), n_notes=3)
    with pytest.raises(ValueError, match="length must be an integer >= 1"):
        sampling.primer_windows([_feature_primer(8)], 0)
    with pytest.raises(ValueError, match="no piece has at least 9"):
        sampling.primer_windows([_feature_primer(8)], 9)

