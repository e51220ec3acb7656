"""The token engine: stepper choice, the compiled sampler, the primer policy, scoring,
padding, the piece-loss callback and the trainer."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from musicalpy import pipelines
from musicalpy.models import engine, lstm, wavenet
from musicalpy.representations import Vocabulary, decode_token_ids

TOKENS = [("C4", 1.0), ("D4", 0.5), ("E4", 1.0), ("G4", 2.0), ("rest", 1.0), ("C5", 0.25)]


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary(TOKENS)


@pytest.fixture(scope="module")
def net(vocab):
    """A WaveNet with a receptive field of 15 tokens."""
    import keras

    keras.utils.set_random_seed(3)
    return wavenet.build_wavenet(len(vocab), channels=8, skip_channels=6, dilations=wavenet.dilation_cycles(4, 2))


@pytest.fixture(scope="module")
def token_lstm(vocab):
    import keras

    keras.utils.set_random_seed(4)
    return lstm.build_token_lstm(len(vocab), embedding_dim=4, units=(8,), dropout=0.0)


def _free_length_cnn(vocab_size: int):
    """A causal CNN that takes any length and has no registered stepper."""
    import keras

    inputs = keras.Input((None,), dtype="int32")
    hidden = keras.layers.Embedding(vocab_size, 4)(inputs)
    hidden = keras.layers.Conv1D(8, 2, padding="causal", activation="relu")(hidden)
    return keras.Model(inputs, keras.layers.Dense(vocab_size, name="token")(hidden))


def _constant_logits_model(vocab_size: int, bias: np.ndarray, window: int | None = None):
    """Logits equal to ``bias`` at every position, whatever the input."""
    import keras

    inputs = keras.Input((window,), dtype="int32")
    hidden = keras.layers.Embedding(vocab_size, 3)(inputs)
    if window is not None:
        hidden = keras.layers.GlobalAveragePooling1D()(hidden)
    dense = keras.layers.Dense(vocab_size, name="token")
    model = keras.Model(inputs, dense(hidden))
    dense.set_weights([np.zeros((3, vocab_size), dtype="float32"), bias.astype("float32")])
    return model


def _random_ids(vocab, shape, seed=0):
    return np.random.default_rng(seed).integers(vocab.n_reserved, len(vocab), shape)


# ----------------------------------------------------------------------------- steppers


def test_stepper_choice_follows_the_model(vocab, net, token_lstm):
    assert type(engine.stepper_for(token_lstm)) is engine.RecurrentStepper
    assert type(engine.stepper_for(net)) is wavenet.CachedWaveNetStepper
    baseline = wavenet.build_baseline_cnn(len(vocab), 8, embedding_dim=4, filters=(4, 4, 4), dense_units=4)
    windowed = engine.stepper_for(baseline)
    assert type(windowed) is engine.WindowedStepper and windowed.window == 8
    cnn = _free_length_cnn(len(vocab))
    assert engine.stepper_for(cnn, window=5).window == 5
    with pytest.raises(ValueError, match="takes any length; pass window"):
        engine.stepper_for(cnn)
    with pytest.raises(ValueError, match="window must be an integer >= 1"):
        engine.stepper_for(cnn, window=0)


def test_a_registered_layer_type_chooses_its_stepper(vocab):
    import keras

    class TaggedDense(keras.layers.Dense):
        """A new kind's layer (registered only in this test)."""

    chosen = []

    def factory(model):
        chosen.append(model.name)
        return engine.WindowedStepper(model, 4)

    engine.register_stepper(TaggedDense, factory)
    inputs = keras.Input((None,), dtype="int32")
    hidden = keras.layers.Embedding(len(vocab), 4)(inputs)
    model = keras.Model(inputs, TaggedDense(len(vocab), name="token")(hidden), name="tagged")
    assert type(engine.stepper_for(model)) is engine.WindowedStepper and chosen == ["tagged"]
    # sample_ids goes through the choice: the same draws as that stepper given by hand.
    primer = [vocab.start_id, 5, 6, 7]
    chosen_ids = engine.sample_ids(model, vocab, primer=primer, n_tokens=10, n_samples=2, seed=3, stop_at_end=False)
    by_hand = engine.sample_ids(model, vocab, primer=primer, n_tokens=10, n_samples=2, seed=3, stop_at_end=False,
                                stepper=engine.WindowedStepper(model, 4))
    assert chosen == ["tagged", "tagged"]
    np.testing.assert_array_equal(chosen_ids, by_hand)
    with pytest.raises(TypeError, match="keras Layer class"):
        engine.register_stepper(int, factory)


def test_recurrent_stepper_matches_the_full_model():
    import keras

    keras.utils.set_random_seed(3)
    model = lstm.build_token_lstm(20, embedding_dim=6, units=(12, 10), dropout=0.2)
    tokens = np.random.default_rng(0).integers(0, 20, size=(3, 9)).astype("int32")
    full = model(tokens, training=False).numpy()[:, -1]
    stepper = engine.RecurrentStepper(model)
    hidden, states = stepper.advance(tokens[:, 0], stepper.initial_state(3))
    for t in range(1, 9):
        hidden, states = stepper.advance(tokens[:, t], states)
    stepped = stepper.heads_of(hidden)["token"].numpy()
    np.testing.assert_allclose(stepped, full, atol=1e-5)
    assert stepper.window is None and len(states) == 4


def test_cached_and_windowed_wavenet_draw_the_same_tokens(net, vocab):
    primer = np.concatenate([[vocab.start_id], _random_ids(vocab, 20, seed=7)])  # longer than the field
    options = {"primer": primer, "n_tokens": 30, "n_samples": 4, "seed": 5, "stop_at_end": False}
    cached = engine.sample_ids(net, vocab, **options)
    windowed = engine.sample_ids(net, vocab, stepper=engine.WindowedStepper(net, 15), **options)
    assert cached.shape == (4, 30)
    np.testing.assert_array_equal(cached, windowed)
    assert not np.isin(cached, [vocab.pad_id, vocab.start_id, vocab.unk_id]).any()
    assert len({tuple(row) for row in cached}) > 1  # the samples of a batch differ
    np.testing.assert_array_equal(cached, engine.sample_ids(net, vocab, **options))


def test_windowed_sampling_equals_a_greedy_python_loop():
    import keras

    keras.utils.set_random_seed(2)
    inputs = keras.Input((5,), dtype="int32")
    hidden = keras.layers.Embedding(9, 4)(inputs)
    hidden = keras.layers.Conv1D(8, 2, padding="causal", activation="relu")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(9, name="token")(hidden))
    vocabulary = Vocabulary([f"t{i}" for i in range(5)])
    primer = np.array([5, 6, 7, 3, 4], dtype="int32")
    ids = engine.sample_ids(model, vocabulary, primer=primer, n_tokens=12, temperature=1e-6, stop_at_end=False)
    window = list(primer)
    expected = []
    for _ in range(12):
        logits = model(np.array([window[-5:]], dtype="int32")).numpy()[0, -1]
        logits[[0, 1, 3]] = -np.inf  # PAD, START, UNK
        expected.append(int(np.argmax(logits)))
        window.append(expected[-1])
    np.testing.assert_array_equal(ids[0], expected)


# ----------------------------------------------------------------------------- sampling


def test_end_and_special_ids_are_never_drawn():
    vocabulary = Vocabulary([f"t{i}" for i in range(6)])
    model = lstm.build_token_lstm(len(vocabulary), embedding_dim=4, units=(8,), dropout=0.0)
    dense = model.get_layer("token")
    kernel, bias = dense.get_weights()
    bias[:] = 0.0
    bias[[vocabulary.pad_id, vocabulary.start_id, vocabulary.unk_id]] = 50.0  # would win if allowed
    dense.set_weights([kernel * 0, bias])
    ids = engine.sample_ids(model, vocabulary, n_tokens=200, n_samples=5, seed=0)
    assert not np.isin(ids, [vocabulary.pad_id, vocabulary.start_id, vocabulary.unk_id]).any()
    # Every sample stops at END, and generation stops once all have.
    ended = [np.flatnonzero(row == vocabulary.end_id) for row in ids]
    assert all(len(e) for e in ended) and ids.shape[1] == max(e[0] for e in ended) + 1
    bias[vocabulary.end_id] = 100.0
    dense.set_weights([kernel * 0, bias])
    assert engine.sample_ids(model, vocabulary, n_tokens=50, n_samples=3).shape == (3, 1)
    assert len(engine.generate_notes(model, vocabulary, n_tokens=50, n_samples=2)) == 0


def test_generate_notes_decodes_with_the_representation(token_lstm, vocab):
    primer = [("C4", 1.0), ("E4", 1.0)]
    options = {"primer": primer, "n_tokens": 6, "n_samples": 2, "seed": 4, "stop_at_end": False, "tempo": 100.0}
    notes = engine.generate_notes(token_lstm, vocab, **options)
    ids = engine.sample_ids(token_lstm, vocab, **{k: v for k, v in options.items() if k != "tempo"})
    for index, row in enumerate(ids):
        expected = decode_token_ids(row, vocab, "note_strings", piece=f"sample_{index}", tempo=100.0)
        got = notes[notes.piece == f"sample_{index}"].reset_index(drop=True)
        assert got[["pitch", "start", "end"]].equals(expected[["pitch", "start", "end"]])
    with_primer = engine.generate_notes(token_lstm, vocab, include_primer=True, **options)
    first = with_primer[with_primer.piece == "sample_0"]
    assert first["pitch"].tolist()[:2] == [60, 64]
    assert len(first) == 2 + (notes.piece == "sample_0").sum()


def test_bad_sampling_arguments(token_lstm, vocab):
    with pytest.raises(ValueError, match="n_tokens must be an integer >= 1"):
        engine.sample_ids(token_lstm, vocab, n_tokens=0)
    with pytest.raises(ValueError, match="temperature"):
        engine.sample_ids(token_lstm, vocab, n_tokens=3, temperature=0.0)
    with pytest.raises(ValueError, match="primer holds 2 sequences but n_samples=3"):
        engine.sample_ids(token_lstm, vocab, primer=np.array([[1, 4], [1, 5]]), n_tokens=3, n_samples=3)
    tutorial = lstm.build_tutorial_lstm(8, units=4)
    with pytest.raises(ValueError, match="outputs"):
        engine.sample_ids(tutorial, vocab, primer=[1, 2] * 4, n_tokens=3)


# ------------------------------------------------------------------------------ primers


def test_primer_policy_unknown_tokens_become_unk_with_a_warning(vocab):
    with pytest.warns(UserWarning, match=r"1 primer token\(s\) are not in the vocabulary \(first: \('F#9', 3.0\)\)"):
        ids = engine.primer_ids([("C4", 1.0), ("F#9", 3.0)], vocab)
    np.testing.assert_array_equal(ids, [[vocab.id_of(("C4", 1.0)), vocab.unk_id]])
    assert ids.dtype == np.int32
    np.testing.assert_array_equal(engine.primer_ids(None, vocab), [[vocab.start_id]])
    np.testing.assert_array_equal(engine.primer_ids([1, 5], vocab), [[1, 5]])  # ints are ids
    np.testing.assert_array_equal(engine.primer_ids([[1, 5], [1, 6]], vocab), [[1, 5], [1, 6]])


def test_primer_policy_without_unk_names_the_token_and_position():
    strict = Vocabulary(TOKENS, unk=False)
    with pytest.raises(ValueError, match=r"token \('F#9', 3.0\) at position 1 is not in the vocabulary, which has no UNK"):
        engine.primer_ids([("C4", 1.0), ("F#9", 3.0)], strict)
    with pytest.raises(ValueError, match=r"unknown token id 99 in the primer \(row 1, position 1\): ids run 0-8"):
        engine.primer_ids(np.array([[1, 4], [1, 99]]), strict)
    with pytest.raises(ValueError, match="at least one token"):
        engine.primer_ids([], strict)
    with pytest.raises(ValueError, match=r"primer rows must be equally long \(one batch\), got lengths \[2, 3\]"):
        engine.primer_ids([[1, 5], [1, 5, 6]], strict)
    with pytest.raises(ValueError, match="no START token"):
        engine.primer_ids(None, Vocabulary(TOKENS, start_end=False))


@pytest.mark.filterwarnings("ignore:primer has")
def test_one_policy_in_every_sampler(net, token_lstm, vocab):
    """Ids and note tables, recurrent and cached-convolution steppers: an unknown primer
    token enters as UNK with a warning, and raises without an UNK token."""
    unknown = [("C4", 1.0), ("F#9", 3.0)]
    strict = Vocabulary(TOKENS, unk=False)
    for model in (token_lstm, net):
        with pytest.warns(UserWarning, match="enter the model as UNK"):
            assert engine.sample_ids(model, vocab, primer=unknown, n_tokens=3).shape[0] == 1
        with pytest.warns(UserWarning, match="enter the model as UNK"):
            notes = engine.generate_notes(model, vocab, primer=unknown, n_tokens=6, n_samples=2, seed=0,
                                          stop_at_end=False)
        assert set(notes["piece"]) == {"sample_0", "sample_1"}
        with pytest.raises(ValueError, match="at position 1"):
            engine.generate_notes(model, strict, primer=unknown, n_tokens=3)


def test_short_primers_are_left_padded_and_say_so(net, vocab):
    with pytest.warns(UserWarning, match="fewer than the receptive field of 15: the missing past is left-padded with zeros"):
        ids = engine.sample_ids(net, vocab, primer=[vocab.start_id, 4], n_tokens=8, stop_at_end=False)
    assert ids.shape == (1, 8)
    baseline = wavenet.build_baseline_cnn(len(vocab), 8, embedding_dim=4, filters=(4, 4, 4), dense_units=4)
    with pytest.warns(UserWarning, match=r"left-padded with PAD \(id 0\)"):
        padded = engine.sample_ids(baseline, vocab, primer=[vocab.start_id, 5], n_tokens=5, n_samples=3, stop_at_end=False)
    # PAD-padding by hand gives the same draws, without a warning to give.
    by_hand = engine.left_pad([vocab.start_id, 5], 8)
    np.testing.assert_array_equal(padded, engine.sample_ids(baseline, vocab, primer=by_hand, n_tokens=5, n_samples=3,
                                                            stop_at_end=False))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no primer: a piece starts from START, nothing to say
        engine.sample_ids(net, vocab, n_tokens=4, n_samples=2)
        engine.sample_ids(baseline, vocab, n_tokens=4, n_samples=2)


# ------------------------------------------------------------------------------ scoring


@pytest.mark.parametrize("window", [None, 4])
def test_score_ids_of_constant_logits_is_a_hand_computation(window):
    vocab_size = 7
    bias = np.array([0.0, 1.0, -2.0, 0.5, 3.0, 0.0, -1.0])
    model = _constant_logits_model(vocab_size, bias, window)
    sequences = {"a": np.array([1, 5, 6, 4, 2]), "b": np.array([1, 4, 2]), "c": np.array([1])}
    total, count = engine.score_ids(model, sequences, batch_size=1)
    log_p = bias - math.log(np.exp(bias).sum())
    targets = [5, 6, 4, 2, 4, 2]  # every token after the first; "c" has nothing to predict
    assert count == 6
    assert total == pytest.approx(log_p[targets].sum(), rel=1e-6)
    uniform = _constant_logits_model(vocab_size, np.zeros(vocab_size), window)
    total, count = engine.score_ids(uniform, sequences)
    assert -total == pytest.approx(6 * math.log(vocab_size), rel=1e-6)  # NLL = n log V
    with pytest.raises(ValueError, match="no piece"):
        engine.score_ids(model, [np.array([1])])
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        engine.score_ids(model, sequences, batch_size=0)


def test_score_ids_of_real_models_reads_each_tokens_past(net, vocab):
    import keras

    sequences = {"a": np.array([1, 5, 6, 7, 2]), "b": np.array([1, 8, 2])}
    total, count = engine.score_ids(net, sequences, batch_size=1)
    expected = 0.0
    for ids in sequences.values():
        log_probs = keras.ops.log_softmax(net(ids[None, :-1])).numpy()[0]
        expected += log_probs[np.arange(len(ids) - 1), ids[1:]].sum()
    assert count == 4 + 2 and total == pytest.approx(expected, rel=1e-5)
    baseline = wavenet.build_baseline_cnn(len(vocab), 8, embedding_dim=4, filters=(4, 4, 4), dense_units=4)
    total, count = engine.score_ids(baseline, {"b": sequences["b"]})
    log_probs = keras.ops.log_softmax(baseline(np.array([[0] * 7 + [1], [0] * 6 + [1, 8]]))).numpy()
    assert count == 2 and total == pytest.approx(log_probs[0, 8] + log_probs[1, 2], rel=1e-5)


def test_left_padding_predicts_every_token_once():
    np.testing.assert_array_equal(engine.left_pad([5, 6], 4), [[0, 0, 5, 6]])
    np.testing.assert_array_equal(engine.left_pad([[5, 6, 7]], 2), [[5, 6, 7]])
    padded = engine.left_pad_sequences({"a": np.array([1, 5, 6, 2])}, window=3)
    np.testing.assert_array_equal(padded["a"], [0, 0, 1, 5, 6, 2])
    batches = list(pipelines.window_dataset(padded, 3, target="next", batch_size=10))
    x, y = batches[0][0].numpy(), batches[0][1].numpy()
    np.testing.assert_array_equal(y, [5, 6, 2])
    np.testing.assert_array_equal(x, [[0, 0, 1], [0, 1, 5], [1, 5, 6]])
    with pytest.raises(ValueError, match="ids must be 1-D or 2-D"):
        engine.left_pad(np.zeros((1, 1, 1)), 3)


# ---------------------------------------------------------------------------- training


def _feature_data(n_pieces: int = 6, length: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    sequences = []
    for _ in range(n_pieces):
        pitch = rng.integers(55, 75, size=length)
        step = rng.choice([0.0, 0.25, 0.5], size=length)
        duration = rng.choice([0.25, 0.5, 1.0], size=length)
        sequences.append(np.column_stack([pitch, step, duration]).astype(np.float32))
    return sequences


def test_training_records_the_piece_loss_and_checkpoints(vocab, tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    sequences = {i: np.concatenate([[1], rng.integers(4, len(vocab), 20), [2]]) for i in range(6)}
    train = pipelines.window_dataset(sequences, 8, target="sequence", batch_size=8)
    callback = engine.piece_loss_callback(sequences)
    model, history = engine.train_model(
        lambda: wavenet.build_wavenet(len(vocab), channels=4, dilations=[1, 2]), train, train,
        epochs=2, patience=5, run_dir=tmp_path / "run", tensorboard=False, callbacks=[callback], verbose=0)
    assert list(history["epoch"]) == [1, 2]
    total, count = engine.score_ids(model, sequences)
    assert history["val_piece_loss"].iloc[-1] == pytest.approx(-total / count, rel=1e-4)
    assert history["val_piece_loss"].iloc[-1] < math.log(len(vocab))  # learnt something
    assert (tmp_path / "run" / "best.keras").exists()
    assert wavenet.model_receptive_field(wavenet.load_model(tmp_path / "run" / "best.keras")) == 4
    with pytest.raises(ValueError, match="empty"):
        engine.piece_loss_callback({})


def test_interrupted_training_resumes_from_last_epoch(tmp_path):
    import keras

    seq = 8
    data = _feature_data()
    train = pipelines.window_dataset(data[:4], seq, batch_size=32, shuffle=True)
    validation = pipelines.window_dataset(data[4:], seq, batch_size=64)
    saved = {}

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                saved["weights"] = [w.copy() for w in self.model.get_weights()]
                raise KeyboardInterrupt("simulated crash after the second epoch")

    class Capture(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            saved["restored"] = self.model.get_weights()

    build = lambda: lstm.build_tutorial_lstm(seq, units=8)  # noqa: E731
    with pytest.raises(KeyboardInterrupt):
        engine.train_model(build, train, validation, epochs=4, patience=5, run_dir=tmp_path, callbacks=[Interrupt()], verbose=0)
    assert (tmp_path / "backup").exists() and (tmp_path / "best.keras").exists()
    model, history = engine.train_model(build, train, validation, epochs=4, patience=5, run_dir=tmp_path, callbacks=[Capture()], verbose=0)
    assert history["epoch"].tolist() == [3, 4]
    for restored, crashed in zip(saved["restored"], saved["weights"], strict=True):
        np.testing.assert_array_equal(restored, crashed)
    assert {"loss", "val_loss", "pitch_loss", "val_step_loss"} <= set(history.columns)
    assert not (tmp_path / "backup").exists()  # finished: the backup is removed
    assert any((tmp_path / "logs").rglob("*tfevents*"))
    with pytest.raises(ValueError, match="validation"):
        engine.train_model(build, train, None, epochs=1, patience=5)
    with pytest.raises(ValueError, match="steps_per_epoch must be an integer >= 1"):
        engine.train_model(build, train, validation, epochs=1, patience=5, steps_per_epoch=0)


_MIRRORED_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from musicalpy import pipelines
    from musicalpy.models import engine, lstm

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
        model, history = engine.train_model(build, train, validation, epochs=2, patience=5, strategy=strategy, verbose=0)
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
