"""LSTM builders, losses, training under a strategy, resuming, saving and reloading."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from musicalpy import pipelines
from musicalpy.models import lstm, sampling
from musicalpy.representations import Vocabulary

SEQ = 8


def _feature_data(n_pieces: int = 6, length: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    sequences = []
    for _ in range(n_pieces):
        pitch = rng.integers(55, 75, size=length)
        step = rng.choice([0.0, 0.25, 0.5], size=length)
        duration = rng.choice([0.25, 0.5, 1.0], size=length)
        sequences.append(np.column_stack([pitch, step, duration]).astype(np.float32))
    return sequences


def test_rhythm_bins_known_answers():
    score = np.array([0.5] * 50 + [0.25] * 30 + [1.0] * 20)
    np.testing.assert_allclose(lstm.rhythm_bins(score), [0.25, 0.5, 1.0])
    np.testing.assert_allclose(lstm.rhythm_bins(np.array([0.0] * 5 + [0.5] * 5), minimum=0.05), [0.05, 0.5])
    performed = np.random.default_rng(0).exponential(0.3, size=5000)
    bins = lstm.rhythm_bins(performed, max_bins=10)
    assert len(bins) == 10 and (np.diff(bins) > 0).all()
    # Quantile classes: each holds about a tenth of the values.
    assert abs(np.mean(performed <= np.median(bins)) - 0.5) < 0.1
    with pytest.raises(ValueError, match="empty"):
        lstm.rhythm_bins(np.array([]))


def test_losses_known_answers():
    import keras

    pressure = lstm.positive_pressure_mse(np.array([[1.0]], dtype="float32"), np.array([[-1.0]], dtype="float32"))
    assert float(np.asarray(pressure)[0]) == pytest.approx(4.0 + 10.0)  # (1 - -1)^2 + 10 * 1
    loss = lstm.BinnedCrossentropy([0.25, 0.5, 1.0])
    # 0.3 and 0.37 are nearest to 0.25 (class 0), 0.8 to 1.0 (class 2).
    logits = np.array([[20.0, 0.0, 0.0], [20.0, 0.0, 0.0], [0.0, 0.0, 20.0]], dtype="float32")
    assert float(loss(np.array([0.3, 0.37, 0.8], dtype="float32"), logits)) < 1e-6
    assert float(loss(np.array([0.6, 0.6, 0.6], dtype="float32"), logits)) == pytest.approx(20.0, abs=1e-3)
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert restored.class_values == [0.25, 0.5, 1.0]


def test_builders_shapes_and_validation():
    tutorial = lstm.build_tutorial_lstm(SEQ, units=8)
    outputs = tutorial(np.zeros((2, SEQ, 3), dtype="float32"))
    assert {k: tuple(v.shape) for k, v in outputs.items()} == {"pitch": (2, 128), "step": (2, 1), "duration": (2, 1)}
    rhythm = lstm.build_rhythm_lstm(SEQ, [0.0, 0.5], [0.25, 0.5, 1.0], units=8)
    outputs = rhythm(np.zeros((2, SEQ, 3), dtype="float32"))
    assert tuple(outputs["step"].shape) == (2, 2) and tuple(outputs["duration"].shape) == (2, 3)
    token = lstm.build_token_lstm(30, embedding_dim=4, units=(8, 8))
    assert tuple(token(np.zeros((2, 5), dtype="int32")).shape) == (2, 5, 30)
    with pytest.raises(ValueError, match="strictly increasing"):
        lstm.build_rhythm_lstm(SEQ, [0.5, 0.25], [0.25, 0.5], units=8)
    with pytest.raises(ValueError, match="vocab_size"):
        lstm.build_token_lstm(1)


def test_interrupted_training_resumes_from_last_epoch(tmp_path):
    import keras

    data = _feature_data()
    train = pipelines.window_dataset(data[:4], SEQ, batch_size=32, shuffle=True)
    validation = pipelines.window_dataset(data[4:], SEQ, batch_size=64)
    saved = {}

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                saved["weights"] = [w.copy() for w in self.model.get_weights()]
                raise KeyboardInterrupt("simulated crash after the second epoch")

    class Capture(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            saved["restored"] = self.model.get_weights()

    build = lambda: lstm.build_tutorial_lstm(SEQ, units=8)  # noqa: E731
    with pytest.raises(KeyboardInterrupt):
        lstm.train_model(build, train, validation, epochs=4, run_dir=tmp_path, callbacks=[Interrupt()], verbose=0)
    assert (tmp_path / "backup").exists() and (tmp_path / "best.keras").exists()
    model, history = lstm.train_model(build, train, validation, epochs=4, run_dir=tmp_path, callbacks=[Capture()], verbose=0)
    assert history["epoch"].tolist() == [3, 4]
    for restored, crashed in zip(saved["restored"], saved["weights"], strict=True):
        np.testing.assert_array_equal(restored, crashed)
    assert {"loss", "val_loss", "pitch_loss", "val_step_loss"} <= set(history.columns)
    assert not (tmp_path / "backup").exists()  # finished: the backup is removed
    assert any((tmp_path / "logs").rglob("*tfevents*"))
    with pytest.raises(ValueError, match="validation"):
        lstm.train_model(build, train, None, epochs=1)


def test_saved_models_reload_and_generate_the_same(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    data = _feature_data()
    primer = data[5][:SEQ]
    rhythm = lstm.build_rhythm_lstm(SEQ, [0.0, 0.25, 0.5], [0.25, 0.5, 1.0], units=8)
    rhythm.fit(pipelines.window_dataset(data[:4], SEQ, batch_size=32), epochs=1, verbose=0)
    rhythm.save(tmp_path / "rhythm.keras")
    again = keras.models.load_model(tmp_path / "rhythm.keras")
    first = sampling.generate_notes(rhythm, primer, n_notes=30, n_samples=2, seed=7)
    second = sampling.generate_notes(again, primer, n_notes=30, n_samples=2, seed=7)
    assert first.equals(second)
    assert set(np.round(np.diff(first[first.piece == "sample_0"]["start"]), 6)) <= {0.0, 0.25, 0.5}

    vocabulary = Vocabulary([f"t{i}" for i in range(10)])
    token = lstm.build_token_lstm(len(vocabulary), embedding_dim=4, units=(8,))
    token.save(tmp_path / "token.keras")
    reloaded = lstm.load_model(tmp_path / "token.keras")
    ids = sampling.sample_token_ids(token, vocabulary, n_tokens=20, n_samples=3, seed=2, stop_at_end=False)
    np.testing.assert_array_equal(ids, sampling.sample_token_ids(reloaded, vocabulary, n_tokens=20, n_samples=3, seed=2, stop_at_end=False))


_MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from musicalpy import pipelines
    from musicalpy.models import lstm

    rng = np.random.default_rng(0)
    data = [np.column_stack([rng.integers(50, 70, 60), rng.choice([0.0, 0.5], 60), rng.choice([0.25, 0.5], 60)]).astype("float32")
            for _ in range(3)]
    train = pipelines.window_dataset(data, 8, batch_size=32, drop_remainder=True)
    validation = pipelines.window_dataset(data[:1], 8, batch_size=32, drop_remainder=True)
    keras.utils.set_random_seed(1)
    initial = lstm.build_tutorial_lstm(8, units=8).get_weights()

    def build():
        model = lstm.build_tutorial_lstm(8, units=8)
        model.set_weights(initial)
        return model

    losses = {}
    for name, strategy in [("single", tf.distribute.OneDeviceStrategy("/cpu:0")),
                           ("mirrored", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))]:
        model, history = lstm.train_model(build, train, validation, epochs=2, strategy=strategy, verbose=0)
        # Score the trained weights outside any strategy, on one device, the same way.
        judge = lstm.build_tutorial_lstm(8, units=8)
        judge.set_weights(model.get_weights())
        losses[name] = {"train": judge.evaluate(train, verbose=0)[0], "validation": judge.evaluate(validation, verbose=0)[0],
                        "replicas": strategy.num_replicas_in_sync}
    print("RESULT " + json.dumps(losses))
    """
)


def test_mirrored_strategy_matches_single_device():
    # TensorFlow fixes its logical devices once per process, so this runs in its own.
    run = subprocess.run([sys.executable, "-c", _MIRRORED_SCRIPT], capture_output=True, text=True, timeout=300)
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT ") :])
    assert result["mirrored"]["replicas"] == 2 and result["single"]["replicas"] == 1
    # Same global batches and initial weights; the replicas' gradients are summed, so
    # only the order of float additions differs, and Adam's normalised steps let that
    # rounding grow a little over the 2 epochs (8 steps).
    # Stated tolerance: relative 1e-3 on the training and validation loss of the
    # trained weights, both scored on one device.
    for key in ("train", "validation"):
        np.testing.assert_allclose(result["mirrored"][key], result["single"][key], rtol=1e-3)
