"""Fast sampling from trained models: one compiled loop, recurrent state kept, batched.

The TensorFlow tutorial generates one note per ``model.predict`` call on the whole
window: every note re-reads 25 notes and pays Keras's per-call overhead. Here the whole
generation is one ``tf.function``:

* a recurrent model advances its LSTM cells by **one step per note**, carrying
  ``(h, c)`` (:class:`RecurrentStepper`, built from the trained model's own layers);
* any other model (e.g. a WaveNet) is called on a rolling window held inside the graph
  (:class:`WindowedStepper`), which still saves the per-call overhead;
* ``n_samples`` sequences run side by side in one batch.

Logits pass through :func:`filter_logits` (temperature, top-k, nucleus top-p) before
:func:`sample_logits` draws from them with stateless random ops, so the same seed gives
the same music, also after ``keras.models.load_model``.

Two front ends return note tables: :func:`generate_notes` for the (pitch, step,
duration) models and :func:`generate_tokens` for token models (ids through
:func:`sample_token_ids`). Primers come from real held-out pieces
(:func:`primer_windows`).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..representations import Vocabulary, decode_pitch_step_duration

__all__ = [
    "check_sampling_options",
    "filter_logits",
    "sample_logits",
    "RecurrentStepper",
    "WindowedStepper",
    "make_stepper",
    "primer_windows",
    "sample_features",
    "generate_notes",
    "sample_token_ids",
    "generate_tokens",
]

#: Shortest duration a generated note gets, in seconds, so that every note sounds.
MIN_DURATION = 0.05

_LOOPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _tf():
    import tensorflow as tf

    return tf


# ------------------------------------------------------------------------ the filters


def check_sampling_options(temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None) -> tuple[float, int, float]:
    """Check the sampling knobs; return them with ``top_k=0`` and ``top_p=1`` meaning off.

    Raises
    ------
    ValueError
        For a temperature that is not a positive finite number, a negative or
        non-integer ``top_k``, or ``top_p`` outside (0, 1].
    """
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.number)) or not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
    if top_k is None:
        top_k = 0
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 0:
        raise ValueError(f"top_k must be a non-negative integer (0 or None: no limit), got {top_k!r}")
    if top_p is None:
        top_p = 1.0
    if isinstance(top_p, bool) or not isinstance(top_p, (int, float, np.number)) or not 0 < top_p <= 1:
        raise ValueError(f"top_p must lie in (0, 1], got {top_p!r}")
    return float(temperature), int(top_k), float(top_p)


def filter_logits(logits, temperature=1.0, top_k=0, top_p=1.0):
    """Scale logits by 1/temperature and mask (with -inf) what top-k and top-p leave out.

    Parameters
    ----------
    logits : tf.Tensor, shape=(batch, n_classes)
    temperature : float or scalar tensor
        Below 1 sharpens, above 1 flattens. The logits are shifted so their maximum is
        0 first, so extreme temperatures cannot overflow.
    top_k : int or scalar tensor
        Keep the ``top_k`` most likely classes (0, or at least ``n_classes``: all).
    top_p : float or scalar tensor
        Keep the smallest set of most likely classes whose probability reaches
        ``top_p`` (1: all). The most likely class is always kept.

    Returns
    -------
    filtered : tf.Tensor, shape=(batch, n_classes), float32
    """
    tf = _tf()
    logits = tf.cast(logits, tf.float32)
    logits = (logits - tf.reduce_max(logits, axis=-1, keepdims=True)) / tf.cast(temperature, tf.float32)
    n_classes = tf.shape(logits)[-1]
    top_k = tf.cast(top_k, tf.int32)
    top_p = tf.cast(top_p, tf.float32)

    def keep_top_k(values):
        kth = tf.math.top_k(values, k=top_k).values[:, -1:]
        return tf.where(values < kth, -np.inf, values)

    def keep_nucleus(values):
        ordered = tf.sort(values, axis=-1, direction="DESCENDING")
        mass_before = tf.math.cumsum(tf.nn.softmax(ordered, axis=-1), axis=-1, exclusive=True)
        threshold = tf.reduce_min(tf.where(mass_before < top_p, ordered, np.inf), axis=-1, keepdims=True)
        return tf.where(values < threshold, -np.inf, values)

    # The sorts only run when a filter is on: plain temperature sampling of a batch
    # would otherwise spend most of each step sorting.
    logits = tf.cond((top_k > 0) & (top_k < n_classes), lambda: keep_top_k(logits), lambda: logits)
    return tf.cond(top_p < 1.0, lambda: keep_nucleus(logits), lambda: logits)


def sample_logits(logits, seed, temperature=1.0, top_k=0, top_p=1.0):
    """Draw one class per row from filtered logits.

    Parameters
    ----------
    logits : tf.Tensor, shape=(batch, n_classes)
    seed : tf.Tensor, shape=(2,), int
        Stateless seed: the same seed gives the same draw.
    temperature, top_k, top_p
        See :func:`filter_logits`.

    Returns
    -------
    classes : tf.Tensor, shape=(batch,), int32
    """
    tf = _tf()
    filtered = filter_logits(logits, temperature, top_k, top_p)
    return tf.cast(tf.random.stateless_categorical(filtered, 1, seed=seed)[:, 0], tf.int32)


# ----------------------------------------------------------------------------- steppers


def _output_layers(model) -> dict[str, Any]:
    import keras

    structure = model.output
    if isinstance(structure, Mapping):
        return {name: tensor._keras_history[0] for name, tensor in structure.items()}
    tensors = keras.tree.flatten(structure)
    return {tensor._keras_history[0].name: tensor._keras_history[0] for tensor in tensors}


def _input_window(model) -> int | None:
    shape = model.inputs[0].shape
    return None if len(shape) < 2 or shape[1] is None else int(shape[1])


class RecurrentStepper:
    """Run a recurrent Keras model one time step at a time, carrying its state.

    The model must be a chain of layers up to its last recurrent layer (``LSTM``,
    ``GRU``, ``SimpleRNN``), then optional per-step layers (dropout, dense) and one or
    more output heads on that chain: the shape of every model in
    :mod:`musicalpy.models.lstm`. Each RNN layer is replaced by its cell, each other
    layer is applied to one time step (dropout is off).

    Attributes
    ----------
    window : int or None
        The model's input length (the primer must be at least this long), or None.
    output_names : list of str
    """

    def __init__(self, model):
        import keras

        self.model = model
        layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
        recurrent = [i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.RNN)]
        if not recurrent:
            raise ValueError(f"model {model.name!r} has no recurrent layer; use WindowedStepper")
        for layer in layers:
            if isinstance(layer, keras.layers.Bidirectional) or getattr(layer, "go_backwards", False):
                raise ValueError(f"layer {layer.name!r} reads the sequence backwards; it cannot generate step by step")
        self.heads = _output_layers(model)
        heads = set(map(id, self.heads.values()))
        last = recurrent[-1]
        self.trunk = layers[: last + 1]
        self.post = [layer for layer in layers[last + 1 :] if id(layer) not in heads]
        self.window = _input_window(model)
        self.output_names = list(self.heads)

    def initial_state(self, batch_size):
        """Zero states of every recurrent cell, as one flat list."""
        tf = _tf()
        states = []
        for layer in self.trunk:
            if hasattr(layer, "cell"):
                sizes = layer.cell.state_size
                for size in sizes if isinstance(sizes, (list, tuple)) else [sizes]:
                    states.append(tf.zeros((batch_size, size), dtype=tf.float32))
        return states

    def advance(self, inputs, states):
        """Feed one time step ``(batch, ...)``; return the hidden output and the new states."""
        hidden = inputs
        new_states = []
        position = 0
        for layer in self.trunk:
            if hasattr(layer, "cell"):
                sizes = layer.cell.state_size
                count = len(sizes) if isinstance(sizes, (list, tuple)) else 1
                hidden, cell_states = layer.cell(hidden, states[position : position + count], training=False)
                new_states.extend(cell_states if isinstance(cell_states, (list, tuple)) else [cell_states])
                position += count
            else:
                hidden = layer(hidden, training=False)
        for layer in self.post:
            hidden = layer(hidden, training=False)
        return hidden, new_states

    def heads_of(self, hidden) -> dict[str, Any]:
        """The output heads applied to the hidden output of :meth:`advance`."""
        return {name: layer(hidden) for name, layer in self.heads.items()}


class WindowedStepper:
    """Run any Keras model on a rolling window kept inside the compiled loop.

    Every step shifts the newest element into a ``(batch, window, ...)`` buffer and
    calls the model on it; sequence outputs ``(batch, window, n)`` are read at the last
    position. For models with no recurrent state (convolutional, attention).

    Parameters
    ----------
    model : keras.Model
    window : int, optional
        Required when the model's input length is free.
    """

    def __init__(self, model, window: int | None = None):
        self.model = model
        fixed = _input_window(model)
        if window is None:
            window = fixed
        if window is None:
            raise ValueError(f"model {model.name!r} takes any length; pass window=<number of elements the model sees>")
        if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
            raise ValueError(f"window must be a positive integer, got {window!r}")
        if fixed is not None and fixed != window:
            raise ValueError(f"window={window} differs from the model's input length {fixed}")
        self.window = int(window)
        self.heads = _output_layers(model)
        self.output_names = list(self.heads)
        self._element_shape = tuple(model.inputs[0].shape[2:])
        self._dtype = model.inputs[0].dtype

    def initial_state(self, batch_size):
        tf = _tf()
        return [tf.zeros((batch_size, self.window, *self._element_shape), dtype=self._dtype)]

    def advance(self, inputs, states):
        tf = _tf()
        buffer = tf.concat([states[0][:, 1:], tf.cast(inputs, states[0].dtype)[:, None]], axis=1)
        return buffer, [buffer]

    def heads_of(self, hidden) -> dict[str, Any]:
        outputs = self.model(hidden, training=False)
        if not isinstance(outputs, Mapping):
            outputs = dict(zip(self.output_names, outputs if isinstance(outputs, (list, tuple)) else [outputs], strict=True))
        return {name: (value[:, -1] if len(value.shape) == 3 else value) for name, value in outputs.items()}


def make_stepper(model, window: int | None = None):
    """A :class:`RecurrentStepper` for a model with a recurrent layer, else a
    :class:`WindowedStepper` (which needs ``window`` when the input length is free)."""
    import keras

    if any(isinstance(layer, keras.layers.RNN) for layer in model.layers):
        return RecurrentStepper(model)
    return WindowedStepper(model, window)


# ----------------------------------------------------------------------- the loop


def _compiled_loop(stepper, kind: str, choose):
    """One ``tf.function`` per (model, kind): primer in, generated steps out."""
    per_model = _LOOPS.setdefault(stepper.model, {})
    key = (kind, type(stepper).__name__, getattr(stepper, "window", None))
    if key in per_model:
        return per_model[key]
    tf = _tf()

    @tf.function(reduce_retracing=True)
    def loop(primer, n_steps, seed, temperature, top_k, top_p, carry, limit):
        batch = tf.shape(primer)[0]
        hidden, states = stepper.advance(primer[:, 0], stepper.initial_state(batch))
        for t in tf.range(1, tf.shape(primer)[1]):
            hidden, states = stepper.advance(primer[:, t], states)
        generated = tf.TensorArray(primer.dtype, size=0, dynamic_size=True)
        done = tf.zeros([batch], dtype=tf.bool)
        i = tf.constant(0)
        while i < n_steps and not tf.reduce_all(done):
            outputs = stepper.heads_of(hidden)
            step_seed = tf.stack([seed, tf.cast(i, tf.int64)])
            value, finished, carry = choose(outputs, step_seed, temperature, top_k, top_p, carry, limit)
            generated = generated.write(i, value)
            done = done | finished
            hidden, states = stepper.advance(value, states)
            i += 1
        stacked = generated.stack()
        order = tf.concat([[1, 0], tf.range(2, tf.rank(stacked))], axis=0)
        return tf.transpose(stacked, order)

    per_model[key] = loop
    return loop


def _seed_pair(tf, seed, salt: int):
    return tf.stack([seed[0], seed[1] * 4 + salt])


# ----------------------------------------------------------------- (pitch, step, duration)


def _check_features_primer(primer: Any, n_samples: int | None, window: int | None) -> np.ndarray:
    array = np.asarray(primer, dtype=np.float32)
    if array.ndim == 2:
        array = np.broadcast_to(array, (n_samples or 1, *array.shape))
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(f"primer must be (n_notes, 3) or (n_samples, n_notes, 3) features, got shape {np.shape(primer)}")
    if n_samples is not None and array.shape[0] != n_samples:
        raise ValueError(f"primer holds {array.shape[0]} sequences but n_samples={n_samples}")
    if not np.isfinite(array).all():
        raise ValueError("primer holds NaN or infinite values")
    if ((array[..., 0] < 0) | (array[..., 0] > 127)).any():
        raise ValueError("primer pitches must lie in 0-127")
    if (array[..., 1:] < 0).any():
        raise ValueError("primer steps and durations must not be negative")
    length = array.shape[1]
    if length == 0 or (window is not None and length < window):
        raise ValueError(f"primer has {length} notes, shorter than the model's window of {window or 1} notes")
    # The model learned from windows that start with a fresh state: feed it one window.
    return np.ascontiguousarray(array[:, -window:] if window else array)


def _rhythm_choice(tf, outputs, name: str, head, seed, temperature, top_k, top_p):
    values = getattr(head, "class_values", None)
    if values is not None:
        index = sample_logits(outputs[name], seed, temperature, top_k, top_p)
        return tf.gather(tf.constant(values, dtype=tf.float32), index)
    return tf.maximum(tf.reshape(outputs[name], [-1]), 0.0)


def sample_features(
    model,
    primer: np.ndarray,
    *,
    n_notes: int | None = None,
    seconds: float | None = None,
    n_samples: int | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int = 0,
    min_duration: float = MIN_DURATION,
    max_notes: int = 10_000,
) -> list[np.ndarray]:
    """Generate (pitch, step, duration) features from a model with heads of those names.

    ``pitch`` must give logits over the 128 MIDI pitches; ``step`` and ``duration``
    either one value each (regression heads, clipped at 0) or logits over classes, when
    the head has a ``class_values`` attribute (see
    :func:`musicalpy.models.lstm.build_rhythm_lstm`).

    Parameters
    ----------
    model : keras.Model
    primer : np.ndarray, shape=(n_notes, 3) or (n_samples, n_notes, 3)
        Real notes to continue (:func:`primer_windows`); at least the model's window.
    n_notes : int, optional
        Notes to generate per sample.
    seconds : float, optional
        Or: generate until this much time has passed (notes starting later are dropped).
    n_samples : int, optional
        Sequences generated in one batch (default 1, or the primer's batch).
    temperature, top_k, top_p
        See :func:`filter_logits`; they apply to pitch and to rhythm classes.
    seed : int, default 0
    min_duration : float, default 0.05
        Generated durations are at least this many seconds, so every note sounds.
    max_notes : int, default 10000
        Cap when generating by ``seconds``.

    Returns
    -------
    features : list of np.ndarray, shape=(n_generated, 3)
        One array per sample.
    """
    tf = _tf()
    temperature, top_k, top_p = check_sampling_options(temperature, top_k, top_p)
    if (n_notes is None) == (seconds is None):
        raise ValueError("give exactly one of n_notes and seconds")
    if n_notes is not None and (isinstance(n_notes, bool) or not isinstance(n_notes, (int, np.integer)) or n_notes < 1):
        raise ValueError(f"n_notes must be a positive integer, got {n_notes!r}")
    if seconds is not None and not (isinstance(seconds, (int, float, np.number)) and math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"seconds must be a positive number, got {seconds!r}")
    if not (math.isfinite(min_duration) and min_duration > 0):
        raise ValueError(f"min_duration must be positive, got {min_duration!r}")
    stepper = make_stepper(model)
    missing = {"pitch", "step", "duration"} - set(stepper.output_names)
    if missing:
        raise ValueError(f"model {model.name!r} lacks output head(s) {sorted(missing)}; it has {stepper.output_names}")
    primer = _check_features_primer(primer, n_samples, stepper.window)
    heads = stepper.heads
    n_pitches = heads["pitch"].units if hasattr(heads["pitch"], "units") else None
    if n_pitches is not None and n_pitches > 128:
        raise ValueError(f"the pitch head has {n_pitches} classes; MIDI has 128")

    def choose(outputs, seed_pair, temperature, top_k, top_p, elapsed, limit):
        pitch = sample_logits(outputs["pitch"], _seed_pair(tf, seed_pair, 0), temperature, top_k, top_p)
        step = _rhythm_choice(tf, outputs, "step", heads["step"], _seed_pair(tf, seed_pair, 1), temperature, top_k, top_p)
        duration = _rhythm_choice(tf, outputs, "duration", heads["duration"], _seed_pair(tf, seed_pair, 2), temperature, top_k, top_p)
        duration = tf.maximum(duration, min_duration)
        elapsed = elapsed + step
        finished = (limit > 0) & (elapsed >= limit)
        return tf.stack([tf.cast(pitch, tf.float32), step, duration], axis=-1), finished, elapsed

    loop = _compiled_loop(stepper, f"features/{min_duration}", choose)
    steps = n_notes if n_notes is not None else int(max_notes)
    batch = primer.shape[0]
    result = loop(
        tf.constant(primer), tf.constant(steps), tf.constant(int(seed), tf.int64), tf.constant(temperature),
        tf.constant(top_k), tf.constant(top_p), tf.zeros([batch]), tf.constant(float(seconds or 0.0)),
    ).numpy()
    samples = []
    for features in result:
        if seconds is not None:
            features = features[np.cumsum(features[:, 1]) < seconds]
        samples.append(features)
    return samples


def generate_notes(
    model,
    primer: np.ndarray,
    *,
    n_notes: int | None = None,
    seconds: float | None = None,
    n_samples: int | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int = 0,
    include_primer: bool = False,
    velocity: int = 80,
    program: int = 0,
    min_duration: float = MIN_DURATION,
) -> pd.DataFrame:
    """Generate notes with a (pitch, step, duration) model; return one note table.

    Parameters are those of :func:`sample_features`; ``include_primer`` puts the primer
    notes (the last window of them) before the generated ones. Samples are pieces
    ``"sample_0"``, ``"sample_1"``...; every note has a pitch in 0-127, a start >= 0
    and a positive duration, so the table always writes a valid MIDI file.
    """
    samples = sample_features(
        model, primer, n_notes=n_notes, seconds=seconds, n_samples=n_samples, temperature=temperature,
        top_k=top_k, top_p=top_p, seed=seed, min_duration=min_duration,
    )
    stepper_window = _input_window(model)
    primer_array = _check_features_primer(primer, len(samples), stepper_window)
    tables = []
    for index, features in enumerate(samples):
        if include_primer:
            features = np.concatenate([primer_array[index], features])
        tables.append(decode_pitch_step_duration(features, velocity=velocity, piece=f"sample_{index}", program=program))
    return pd.concat(tables, ignore_index=True)


def primer_windows(
    sequences: Mapping[Any, np.ndarray] | Sequence[np.ndarray],
    length: int,
    *,
    n_samples: int = 1,
    seed: int = 0,
    from_start: bool = True,
) -> np.ndarray:
    """Primers taken from real (held-out) pieces.

    Parameters
    ----------
    sequences : dict or list of np.ndarray
        Encoded pieces, e.g. the test split's :func:`musicalpy.representations.feature_sequences`.
    length : int
        Elements per primer.
    n_samples : int, default 1
        Primers from different pieces where there are enough (drawn with the seed).
    seed : int, default 0
    from_start : bool, default True
        Take each piece's opening (else a random place in it).

    Returns
    -------
    primers : np.ndarray, shape=(n_samples, length, ...)
    """
    values = list(sequences.values()) if isinstance(sequences, Mapping) else list(sequences)
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise ValueError(f"length must be a positive integer, got {length!r}")
    long_enough = [np.asarray(v) for v in values if len(v) >= length]
    if not long_enough:
        raise ValueError(f"no piece has at least {length} elements to prime with")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(long_enough), size=n_samples, replace=n_samples > len(long_enough))
    primers = []
    for index in chosen:
        piece = long_enough[index]
        start = 0 if from_start else int(rng.integers(0, len(piece) - length + 1))
        primers.append(piece[start : start + length])
    return np.stack(primers)


# ----------------------------------------------------------------------------- tokens


def _token_primer(primer: Any, vocabulary: Vocabulary) -> np.ndarray:
    """Primer ids ``(batch, n)``: ids are range-checked, tokens must be known."""
    if primer is None:
        if vocabulary.start_id is None:
            raise ValueError("primer is required: the vocabulary has no START token to begin from")
        return np.array([[vocabulary.start_id]], dtype=np.int32)
    if isinstance(primer, np.ndarray) and np.issubdtype(primer.dtype, np.integer):
        ids = primer
    else:
        items = list(primer)
        if items and all(isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in items):
            ids = np.asarray(items)
        elif items and all(isinstance(t, (list, np.ndarray)) and len(t) and isinstance(t[0], (int, np.integer)) for t in items):
            ids = np.asarray(items)
        else:
            unknown = [t for t in items if t not in vocabulary]
            if unknown:
                raise ValueError(f"unknown token {unknown[0]!r} in the primer: it is not in the vocabulary")
            ids = np.array([vocabulary.id_of(t) for t in items])
    ids = np.asarray(ids).astype(np.int64)
    if ids.ndim == 1:
        ids = ids[None, :]
    if ids.ndim != 2 or ids.shape[1] == 0:
        raise ValueError(f"primer must hold at least one token, got shape {ids.shape}")
    bad = (ids < 0) | (ids >= len(vocabulary))
    if bad.any():
        raise ValueError(f"unknown token id {int(ids[bad][0])} in the primer: ids run 0-{len(vocabulary) - 1}")
    return ids.astype(np.int32)


def sample_token_ids(
    model,
    vocabulary: Vocabulary,
    primer: Any = None,
    *,
    n_tokens: int = 256,
    n_samples: int | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int = 0,
    window: int | None = None,
    stop_at_end: bool = True,
    stepper: Any = None,
) -> np.ndarray:
    """Sample token ids from a model whose (single) output is logits over the vocabulary.

    Parameters
    ----------
    model : keras.Model
        Recurrent (stepped with its state) or not (run on a rolling ``window``).
    vocabulary : Vocabulary
    primer : sequence of ids or tokens, or np.ndarray, shape=(n_samples, n), optional
        Default: the START token alone, so a sample begins like a piece.
    n_tokens : int, default 256
        Tokens to generate per sample (fewer when every sample has ended).
    n_samples : int, optional
        Sequences in one batch (a 1-D primer is repeated).
    temperature, top_k, top_p, seed
        See :func:`filter_logits` and :func:`sample_logits`.
    window : int, optional
        For non-recurrent models with a free input length.
    stop_at_end : bool, default True
        Stop once every sample has drawn END. PAD, START and UNK are never drawn.
    stepper : object, optional
        A stepper for ``model`` (``initial_state``, ``advance``, ``heads_of``,
        ``window``, ``output_names``) used instead of :func:`make_stepper`, e.g. the
        WaveNet's cached stepper.

    Returns
    -------
    ids : np.ndarray, shape=(n_samples, n_generated), dtype=int32
        The generated ids, without the primer.
    """
    tf = _tf()
    temperature, top_k, top_p = check_sampling_options(temperature, top_k, top_p)
    if isinstance(n_tokens, bool) or not isinstance(n_tokens, (int, np.integer)) or n_tokens < 1:
        raise ValueError(f"n_tokens must be a positive integer, got {n_tokens!r}")
    ids = _token_primer(primer, vocabulary)
    if n_samples is not None:
        if ids.shape[0] == 1:
            ids = np.repeat(ids, n_samples, axis=0)
        elif ids.shape[0] != n_samples:
            raise ValueError(f"primer holds {ids.shape[0]} sequences but n_samples={n_samples}")
    stepper = stepper if stepper is not None else make_stepper(model, window)
    if len(stepper.output_names) != 1:
        raise ValueError(f"model {model.name!r} has outputs {stepper.output_names}; token sampling needs one")
    if stepper.window is not None and ids.shape[1] < stepper.window:
        raise ValueError(f"primer has {ids.shape[1]} tokens, shorter than the model's window of {stepper.window}")
    if stepper.window is not None and isinstance(stepper, RecurrentStepper):
        ids = ids[:, -stepper.window :]
    name = stepper.output_names[0]
    banned = np.zeros(len(vocabulary), dtype=bool)
    banned[[i for i in (vocabulary.pad_id, vocabulary.start_id, vocabulary.unk_id) if i is not None]] = True
    end_id = vocabulary.end_id if (stop_at_end and vocabulary.end_id is not None) else -1

    def choose(outputs, seed_pair, temperature, top_k, top_p, carry, limit):
        logits = tf.cast(outputs[name], tf.float32)
        if logits.shape[-1] != len(banned):
            raise ValueError(f"model gives {logits.shape[-1]} logits but the vocabulary has {len(banned)} ids")
        logits = tf.where(tf.constant(banned)[None, :], -np.inf, logits)
        token = sample_logits(logits, _seed_pair(tf, seed_pair, 0), temperature, top_k, top_p)
        return token, tf.equal(token, end_id), carry

    loop = _compiled_loop(stepper, f"tokens/{end_id}/{len(vocabulary)}", choose)
    batch = ids.shape[0]
    return loop(
        tf.constant(ids), tf.constant(int(n_tokens)), tf.constant(int(seed), tf.int64), tf.constant(temperature),
        tf.constant(top_k), tf.constant(top_p), tf.zeros([batch]), tf.constant(0.0),
    ).numpy()


def generate_tokens(
    model,
    vocabulary: Vocabulary,
    primer: Any = None,
    *,
    encoding: str = "note_strings",
    n_tokens: int = 256,
    n_samples: int | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int = 0,
    window: int | None = None,
    include_primer: bool = False,
    **decode_options: Any,
) -> pd.DataFrame:
    """Sample with a token model and decode every sample into one note table.

    Parameters are those of :func:`sample_token_ids`; ``encoding`` and
    ``decode_options`` go to :func:`musicalpy.representations.decode_token_ids`. Samples are
    pieces ``"sample_0"``, ``"sample_1"``...; a sample that drew END stops there.
    """
    from ..representations import decode_token_ids

    ids = sample_token_ids(
        model, vocabulary, primer, n_tokens=n_tokens, n_samples=n_samples, temperature=temperature,
        top_k=top_k, top_p=top_p, seed=seed, window=window,
    )
    primer_ids = _token_primer(primer, vocabulary)
    tables = []
    for index, row in enumerate(ids):
        full = np.concatenate([primer_ids[min(index, len(primer_ids) - 1)], row]) if include_primer else row
        tables.append(decode_token_ids(full, vocabulary, encoding, piece=f"sample_{index}", **decode_options))
    return pd.concat(tables, ignore_index=True)
