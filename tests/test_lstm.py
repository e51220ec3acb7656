"""LSTM builders, their top-level custom layers and losses, saving and reloading (also
files saved before the layers moved). Training is tested in test_engine.py."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from musicalpy import pipelines
from musicalpy.models import engine, lstm, sampling
from musicalpy.representations import Vocabulary

SEQ = 8
SAVED = Path(__file__).parent / "data" / "saved_models"


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
    ids = engine.sample_ids(token, vocabulary, n_tokens=20, n_samples=3, seed=2, stop_at_end=False)
    np.testing.assert_array_equal(ids, engine.sample_ids(reloaded, vocabulary, n_tokens=20, n_samples=3, seed=2, stop_at_end=False))
    with pytest.raises(FileNotFoundError, match="no saved model"):
        lstm.load_model(tmp_path / "missing.keras")


def test_custom_layers_are_top_level_and_registered_under_their_saved_names(tmp_path):
    import keras

    for name, obj in lstm.custom_objects().items():
        assert getattr(lstm, name) is obj and obj.__doc__
        assert keras.saving.get_registered_name(obj) == f"musicalpy>{name}"
    keras.utils.set_random_seed(1)
    rhythm = lstm.build_rhythm_lstm(SEQ, [0.0, 0.5], [0.25, 0.5, 1.0], units=4)
    tutorial = lstm.build_tutorial_lstm(SEQ, units=4)
    x = np.stack(_feature_data(2, SEQ)).astype("float32")
    for model in (rhythm, tutorial):
        model.save(tmp_path / f"{model.name}.keras")
        plain = keras.models.load_model(tmp_path / f"{model.name}.keras")  # no custom_objects
        for head, value in model(x).items():
            np.testing.assert_allclose(plain(x)[head].numpy(), value.numpy(), atol=1e-6)
    assert plain.loss["step"] is lstm.positive_pressure_mse
    assert isinstance(rhythm.get_layer("step"), lstm.ClassHead) and rhythm.get_layer("step").class_values == [0.0, 0.5]


_LOAD_SAVED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import keras
    import numpy as np
    import musicalpy.models.lstm, musicalpy.models.wavenet  # importing registers every layer

    folder = Path(sys.argv[1])
    expected = np.load(folder / "predictions.npz")
    errors = {}
    for name in ("tutorial_lstm", "rhythm_lstm", "token_lstm", "wavenet"):
        model = keras.models.load_model(folder / f"{name}.keras")  # nothing built before, no custom_objects
        y = model(expected[f"{name}_x"], training=False)
        pairs = [(y[k], expected[f"{name}_y_{k}"]) for k in y] if isinstance(y, dict) else [(y, expected[f"{name}_y"])]
        errors[name] = max(float(np.abs(np.asarray(a) - b).max()) for a, b in pairs)
    print("RESULT " + json.dumps(errors))
    """
)


def test_models_saved_before_the_layers_moved_load_in_a_fresh_process():
    # A fresh process: no model is built before loading, so the layers must be
    # registered by the import alone.
    run = subprocess.run([sys.executable, "-c", _LOAD_SAVED_SCRIPT, str(SAVED)], capture_output=True, text=True, timeout=300)
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stderr[-3000:]
    errors = json.loads(lines[-1][len("RESULT ") :])
    assert set(errors) == {"tutorial_lstm", "rhythm_lstm", "token_lstm", "wavenet"}
    assert max(errors.values()) < 1e-6, errors
