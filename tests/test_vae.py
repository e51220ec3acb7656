"""Tests of the piano-roll VAE: the Keras model (loss terms, warm-up, free bits,
saving), evaluation in bits, and decoding back to notes. Models are tiny and train for
one or two epochs on a few dozen windows."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from musicalpy.midi import write_midi
from musicalpy.models import vae as V
from musicalpy.pipelines import piano_roll_dataset

SHAPE = (16, 8)  # tiny windows: 16 pitches x 8 steps
LOWEST = 60


def _random_windows(n, seed=0, density=0.15):
    rng = np.random.default_rng(seed)
    return (rng.random((n, *SHAPE)) < density).astype(np.float32)


@pytest.fixture(scope="module")
def keras():
    import keras

    keras.utils.set_random_seed(0)
    return keras


# ----------------------------------------------------------------------------- model


def test_training_logs_and_validation_loss_is_negative_elbo(keras):
    windows = _random_windows(32)
    model = V.build_conv_vae(SHAPE, latent_dim=4, filters=(4, 8), dense_units=16, warmup_steps=4, free_bits=0.0, seed=1)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(piano_roll_dataset(windows, batch_size=16), validation_data=piano_roll_dataset(windows[:16], shuffle=False),
                        epochs=2, verbose=0)
    logs = history.history
    assert {"loss", "reconstruction_loss", "kl_loss", "beta", "val_loss", "val_reconstruction_loss", "val_kl_loss"} <= set(logs)
    assert "val_beta" not in logs
    # Two steps per epoch: beta is 0/4, 1/4 in epoch 1 and 2/4, 3/4 in epoch 2.
    assert logs["beta"] == pytest.approx([0.125, 0.625])
    for epoch in range(2):
        assert logs["val_loss"][epoch] == pytest.approx(logs["val_reconstruction_loss"][epoch] + logs["val_kl_loss"][epoch], rel=1e-5)


def test_free_bits_floor_the_kl_term(keras):
    windows = _random_windows(32, seed=1)
    model = V.build_dense_vae(SHAPE, latent_dim=3, hidden_units=(8,), reconstruction="bce", free_bits=10.0, seed=2)
    model.compile(optimizer=keras.optimizers.SGD(1e-4))
    logs = model.fit(piano_roll_dataset(windows, batch_size=16), epochs=1, verbose=0).history
    # Each dimension's KL is far below 10 bits, so each costs exactly 10 bits = 10 ln 2 nats.
    assert logs["kl_loss"][0] < 3 * 10 * math.log(2)
    assert logs["loss"][0] - logs["reconstruction_loss"][0] == pytest.approx(3 * 10 * math.log(2), rel=1e-4)


def test_dense_baseline_is_the_blog_architecture():
    model = V.build_dense_vae()
    assert model.reconstruction == "mse" and model.latent_dim == 16 and model.window_shape == (48, 32)
    units = [layer.units for layer in model.encoder.layers if hasattr(layer, "units")]
    assert units == [256, 128, 64, 16, 16]
    with pytest.raises(ValueError, match="divisible by 4"):
        V.build_conv_vae((18, 8), filters=(4, 8))
    with pytest.raises(ValueError, match="reconstruction"):
        V.build_dense_vae(reconstruction="l1")


def test_save_and_load_keras_format(keras, tmp_path):
    model = V.build_conv_vae(SHAPE, latent_dim=4, filters=(4, 8), dense_units=16, warmup_steps=7, free_bits=0.25, seed=5)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(piano_roll_dataset(_random_windows(16), batch_size=8), epochs=1, verbose=0)
    path = tmp_path / "vae.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded).__name__ == "VAE"
    assert (loaded.warmup_steps, loaded.free_bits, loaded.latent_dim) == (7, 0.25, 4)
    z = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_allclose(loaded.decode(z), model.decode(z), rtol=1e-5, atol=1e-6)
    # A fresh process finds the registered classes once the module is imported.
    script = (f"import keras, musicalpy.models.vae; m = keras.models.load_model({str(path)!r}); "
              "print(type(m).__name__, m.latent_dim, m.warmup_steps)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.stdout.split() == ["VAE", "4", "7"], done.stderr[-2000:]


def test_a_vae_saved_before_the_refactor_still_loads(keras):
    saved = Path(__file__).parent / "data" / "saved_models"
    expected = np.load(saved / "predictions.npz")
    loaded = keras.models.load_model(saved / "conv_vae.keras")
    assert isinstance(loaded, V.VAE) and loaded.latent_dim == 2
    np.testing.assert_allclose(loaded(expected["conv_vae_x"]).numpy(), expected["conv_vae_y"], atol=1e-6)


def test_loss_terms_known_answers(keras):
    windows = np.array([[[1.0, 0.0]]], dtype="float32")  # one window of 1 x 2 cells
    logits = np.array([[[0.0, 2.0]]], dtype="float32")
    # BCE: -log sigmoid(0) for the "on" cell, -log(1 - sigmoid(2)) = log(1 + e^2) for the "off" one.
    bce = float(V.reconstruction_loss(windows, logits, "bce")[0])
    assert bce == pytest.approx(math.log(2) + math.log(1 + math.e**2), rel=1e-6)
    sigmoid_2 = 1 / (1 + math.exp(-2))
    assert float(V.reconstruction_loss(windows, logits, "mse")[0]) == pytest.approx(0.25 + sigmoid_2**2, rel=1e-6)
    kl = np.asarray(V.gaussian_kl(np.array([[0.0, 1.0]], "float32"), np.array([[0.0, math.log(4.0)]], "float32")))
    np.testing.assert_allclose(kl, [[0.0, 0.5 * (1 + 4 - 1 - math.log(4.0))]], rtol=1e-6)
    with pytest.raises(ValueError, match="kind"):
        V.reconstruction_loss(windows, logits, "l1")


def test_wrong_latent_size_and_window_shape_raise():
    model = V.build_dense_vae(SHAPE, latent_dim=4, hidden_units=(8,))
    with pytest.raises(ValueError, match=r"latent vectors must have shape \(n, 4\).*got shape \(2, 5\)"):
        model.decode(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="finite"):
        model.decode(np.full(4, np.nan))
    with pytest.raises(ValueError, match=r"windows must have shape \(n, 16, 8\)"):
        model.encode(np.zeros((1, 8, 16)))
    assert model.decode(np.zeros(4)).shape == (1, *SHAPE)
    assert model.sample(3, temperature=0.0, seed=1).shape == (3, *SHAPE)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        model.sample(0)
    with pytest.raises(ValueError, match="latent_dim must be an integer >= 1"):
        V.build_dense_vae(SHAPE, latent_dim=0)
    with pytest.raises(ValueError, match=r"window_shape\[1\] \(window_steps\) must be an integer >= 1"):
        V.build_dense_vae((16, 0))
    with pytest.raises(ValueError, match="warmup_steps must be an integer >= 0"):
        V.build_conv_vae(SHAPE, filters=(4,), warmup_steps=-1)
    with pytest.raises(ValueError, match="n_points must be an integer >= 2"):
        V.interpolate_latent(np.zeros(2), np.ones(2), 1)


def test_evaluate_vae_known_answer_for_a_zero_model(keras):
    """All weights zero: z_mean = log_var = 0 gives KL 0, logits 0 cost 1 bit per cell."""
    model = V.build_conv_vae(SHAPE, latent_dim=4, filters=(4, 8), dense_units=16)
    for weight in model.weights:
        weight.assign(np.zeros(weight.shape, dtype=weight.dtype))
    windows = _random_windows(5, seed=2)
    scores = V.evaluate_vae(model, windows, n_samples=2)
    assert scores["kl_bits"] == pytest.approx(0.0, abs=1e-9)
    assert scores["reconstruction_bits"] == pytest.approx(16 * 8)
    assert scores["elbo_bits"] == pytest.approx(16 * 8) and scores["bits_per_cell"] == pytest.approx(1.0)
    assert scores["active_dims"] == 0
    # Probability 0.5 is at the threshold, so every cell is "on".
    n_true = int(windows.sum())
    assert scores["cell_f1"] == pytest.approx(2 * n_true / (n_true + windows.size))


# ---------------------------------------------------------------------- evaluation


def test_reconstruction_scores_known_answers():
    truth = np.zeros((2, 4, 6))
    truth[0, 1, 0:3] = 1  # one note of 3 steps
    truth[1, 2, 2:4] = 1
    perfect = V.reconstruction_scores(truth, truth)
    assert perfect["note_f1"] == 1.0 and perfect["frame_accuracy"] == 1.0 and perfect["cell_f1"] == 1.0
    late = np.zeros_like(truth)
    late[0, 1, 1:3] = 0.9  # same pitch, one step late: no note matches
    late[1, 2, 2:4] = 0.7  # exact
    scores = V.reconstruction_scores(truth, late, threshold=0.5)
    assert scores["note_precision"] == 0.5 and scores["note_recall"] == 0.5
    assert scores["cell_f1"] == pytest.approx(2 * 4 / (5 + 4))
    assert scores["frame_accuracy"] == pytest.approx(11 / 12)  # only step 0 of window 0 is wrong
    assert V.reconstruction_scores(truth, late, threshold=0.8)["note_recall"] == 0.0
    assert V.reconstruction_scores(np.zeros((1, 2, 2)), np.zeros((1, 2, 2)))["note_f1"] == 1.0


# ------------------------------------------------------------------ latents and notes


def test_binarize_interpolate_and_attribute_vector():
    p = np.array([[0.2, 0.5, 0.9]])
    assert V.binarize(p).tolist() == [[0, 1, 1]]
    draws = V.binarize(np.full((200, 50), 0.3), method="bernoulli", seed=0)
    assert abs(draws.mean() - 0.3) < 0.02
    with pytest.raises(ValueError, match="probabilities"):
        V.binarize(np.array([1.5]))
    a, b = np.array([3.0, 0.0]), np.array([0.0, 3.0])
    path = V.interpolate_latent(a, b, 5, method="slerp")
    np.testing.assert_allclose(path[[0, -1]], [a, b], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 3.0)  # stays on the sphere
    np.testing.assert_allclose(V.interpolate_latent(a, b, 3)[1], [1.5, 1.5])
    z = np.array([[0.0, 1.0], [0.0, 1.0], [2.0, 1.0], [2.0, 1.0]])
    np.testing.assert_allclose(V.attribute_vector(z, [1, 1, 5, 5], quantile=0.5), [2.0, 0.0])


def test_all_zero_roll_gives_an_empty_valid_midi(tmp_path):
    import pretty_midi

    notes = V.windows_to_notes(np.zeros((2, 48, 32)), concatenate=True)
    assert len(notes) == 0
    path = write_midi(notes, tmp_path / "empty.mid")
    assert sum(len(i.notes) for i in pretty_midi.PrettyMIDI(str(path)).instruments) == 0


def test_windows_to_notes_and_merge_voices(tmp_path):
    import pretty_midi

    windows = np.zeros((2, 16, 8))
    windows[0, 0, 0:4] = 1
    windows[1, 3, 4:8] = 1
    separate = V.windows_to_notes(windows, lowest_pitch=LOWEST, piece_prefix="s")
    assert separate[["piece", "pitch", "start_beat", "end_beat"]].values.tolist() == [["s_000", 60, 0.0, 1.0], ["s_001", 63, 1.0, 2.0]]
    joined = V.windows_to_notes(windows, lowest_pitch=LOWEST, concatenate=True)
    assert joined["start_beat"].tolist() == [0.0, 3.0]
    merged = V.merge_voices({"Soprano": windows, "Bass": windows[::-1]}, programs={"Soprano": 73, "Bass": 32}, lowest_pitch=LOWEST)
    path = write_midi(merged, tmp_path / "voices.mid")
    instruments = pretty_midi.PrettyMIDI(str(path)).instruments
    assert sorted((i.name, i.program, len(i.notes)) for i in instruments) == [("Bass", 32, 2), ("Soprano", 73, 2)]
    with pytest.raises(ValueError, match="not in voices"):
        V.merge_voices({"Soprano": windows}, programs={"Alto": 1})


def test_fit_vae_keeps_the_epoch_of_lowest_validation_loss(keras, monkeypatch):
    from musicalpy import zoo
    from musicalpy.families.vae import VAESettings, fit_vae

    snapshots = []
    original = keras.callbacks.EarlyStopping

    class Recording(original):  # the real callback, also noting the weights after every epoch
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append([w.copy() for w in self.model.get_weights()])
            super().on_epoch_end(epoch, logs)

    monkeypatch.setattr(keras.callbacks, "EarlyStopping", Recording)
    settings = VAESettings(lowest_pitch=LOWEST, n_pitches=SHAPE[0], window_steps=SHAPE[1], latent_dim=4, filters=(4, 8),
                           dense_units=16, warmup_epochs=1, free_bits=0.0, learning_rate=0.05, batch_size=16, epochs=5)
    network, history = fit_vae(settings, _random_windows(48, seed=3), _random_windows(16, seed=4))
    losses = history.history["val_loss"]
    assert len(losses) == 5 and len(snapshots) == 5  # every epoch runs: patience is the whole budget
    best = int(np.argmin(losses))
    kept = network.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(kept, snapshots[best], strict=True))
    if best != 4:  # the last epoch's weights are not what is returned
        assert not all(np.array_equal(a, b) for a, b in zip(kept, snapshots[4], strict=True))
    assert "lowest is kept" in zoo.family("vae").selection(settings)["metric"]
