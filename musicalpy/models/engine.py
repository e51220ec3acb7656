"""The token engine: one sampler, one primer policy, one scorer and one trainer for every
autoregressive token network (the token LSTM, the WaveNet, the baseline CNN, and any new
kind).

Sampling
--------
:func:`sample_ids` runs the whole generation as one compiled ``tf.function``
(:func:`compiled_loop`), ``n_samples`` sequences side by side in one batch. How the model
advances by one token is a *stepper*, chosen from the model by :func:`stepper_for`:

* a model containing a layer type registered with :func:`register_stepper` gets that
  stepper (the WaveNet's gated residual blocks register the cached convolution stepper,
  :class:`musicalpy.models.wavenet.CachedWaveNetStepper`);
* a model with a recurrent layer gets :class:`RecurrentStepper`, which carries the
  cells' state and costs one step per token;
* anything else gets :class:`WindowedStepper`, a rolling window of ids held inside the
  compiled loop and passed through the whole model every step.

A new model kind that can step faster than a full window pass registers its stepper on
its own layer type; nothing here changes.

Primer and unknown-token policy
-------------------------------
:func:`primer_ids` is the one policy, used by every sampler and front end:

* no primer: START alone, so a sample begins like a piece;
* ints (a list, a 1-D or 2-D integer array) are **ids**, range-checked against the
  vocabulary (a ValueError names the id and its position);
* anything else is a sequence of **tokens**: an unknown token becomes UNK, with one
  warning, when the vocabulary has an UNK id, else a ValueError names the token and its
  position.

A primer shorter than the model's context is left-padded the way the model saw the
start of every training piece (:func:`sample_ids` warns).

Scoring, training, decoding
---------------------------
:func:`score_ids` gives the total log-likelihood of whole pieces, every token after the
first counted once, and :func:`piece_loss_callback` records it after every epoch, so
models trained with different objectives get one comparable curve. :func:`train_model`
trains any Keras model (early stopping, checkpoints, resuming). :func:`generate_notes`
decodes samples with :func:`musicalpy.representations.decode_token_ids`.

The sampling filters (temperature, top-k, top-p) are those of
:mod:`musicalpy.models.sampling`. Importing this module imports TensorFlow.
"""

from __future__ import annotations

import os
import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from .._config import check_int
from ..representations import Vocabulary, decode_token_ids
from .logits import check_sampling_options, salted_seed, sample_logits

__all__ = [
    "RecurrentStepper",
    "WindowedStepper",
    "register_stepper",
    "stepper_for",
    "fixed_input_length",
    "compiled_loop",
    "primer_ids",
    "sample_ids",
    "generate_notes",
    "DECODE_OPTIONS",
    "score_ids",
    "left_pad",
    "left_pad_sequences",
    "PieceLossCallback",
    "piece_loss_callback",
    "train_model",
]

# One compiled loop per (model, kind of draw, stepper); weak, so a dropped model frees it.
_LOOPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# Layer type -> stepper factory, see register_stepper.
_STEPPERS: dict[type, Callable[[Any], Any]] = {}

#: Arguments of :func:`musicalpy.representations.decode_token_ids` that
#: :func:`generate_notes` passes through.
DECODE_OPTIONS = ("tempo", "velocity", "program", "part", "default_duration", "steps_per_quarter")


# ----------------------------------------------------------------------------- steppers


def fixed_input_length(model) -> int | None:
    """The time length a model's first input is fixed to (its window), or None when the
    model takes any length (a recurrent or causal-convolution model on whole pieces)."""
    shape = model.inputs[0].shape
    return None if len(shape) < 2 or shape[1] is None else int(shape[1])


def _output_layers(model) -> dict[str, Any]:
    structure = model.output
    if isinstance(structure, Mapping):
        return {name: tensor._keras_history[0] for name, tensor in structure.items()}
    tensors = keras.tree.flatten(structure)
    return {tensor._keras_history[0].name: tensor._keras_history[0] for tensor in tensors}


class RecurrentStepper:
    """Run a recurrent Keras model one time step at a time, carrying its state.

    The model must be a chain of layers up to its last recurrent layer (``LSTM``,
    ``GRU``, ``SimpleRNN``), then optional per-step layers (dropout, dense) and one or
    more output heads on that chain: the shape of every model in
    :mod:`musicalpy.models.lstm`. Each RNN layer is replaced by its cell, each other
    layer is applied to one time step (dropout is off).

    The stepper protocol, shared by every stepper: ``initial_state(batch)``,
    ``advance(inputs, states) -> (hidden, states)``, ``heads_of(hidden) -> {name:
    output}``, ``window`` and ``output_names``.

    Attributes
    ----------
    window : int or None
        The model's input length (a primer is cut to its last ``window`` elements), or
        None.
    output_names : list of str
    """

    def __init__(self, model):
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
        self.window = fixed_input_length(model)
        self.output_names = list(self.heads)

    def initial_state(self, batch_size):
        """Zero states of every recurrent cell, as one flat list of ``(batch, size)``."""
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
    position. For models with no recurrent state and no registered faster stepper
    (a fixed-window CNN, an attention model), and for the naive WaveNet path.

    Parameters
    ----------
    model : keras.Model
    window : int, optional
        Required when the model's input length is free.
    """

    def __init__(self, model, window: int | None = None):
        self.model = model
        fixed = fixed_input_length(model)
        if window is None:
            window = fixed
        if window is None:
            raise ValueError(f"model {model.name!r} takes any length; pass window=<number of elements the model sees>")
        window = check_int("window", window)
        if fixed is not None and fixed != window:
            raise ValueError(f"window={window} differs from the model's input length {fixed}")
        self.window = window
        #: Ids one prediction sees: the whole window.
        self.receptive_field = window
        self.heads = _output_layers(model)
        self.output_names = list(self.heads)
        self._element_shape = tuple(model.inputs[0].shape[2:])
        self._dtype = model.inputs[0].dtype

    def initial_state(self, batch_size):
        """One buffer ``(batch, window, ...)`` of zeros (PAD ids for a token model)."""
        return [tf.zeros((batch_size, self.window, *self._element_shape), dtype=self._dtype)]

    def advance(self, inputs, states):
        """Shift one element ``(batch, ...)`` into the window; the window is the hidden output."""
        buffer = tf.concat([states[0][:, 1:], tf.cast(inputs, states[0].dtype)[:, None]], axis=1)
        return buffer, [buffer]

    def heads_of(self, hidden) -> dict[str, Any]:
        """The model on the window, each output read at its last time step."""
        outputs = self.model(hidden, training=False)
        if not isinstance(outputs, Mapping):
            outputs = dict(zip(self.output_names, outputs if isinstance(outputs, (list, tuple)) else [outputs], strict=True))
        return {name: (value[:, -1] if len(value.shape) == 3 else value) for name, value in outputs.items()}


def register_stepper(layer_type: type, factory: Callable[[Any], Any]) -> None:
    """Make :func:`stepper_for` use ``factory(model)`` for models holding a ``layer_type``.

    A module that defines a layer with a fast way to generate (a cache, a state)
    registers it once, at import; a model containing such a layer can only exist once
    the module is imported, so the registration is always in place when it is needed.

    Parameters
    ----------
    layer_type : type
        A ``keras.layers.Layer`` subclass.
    factory : callable
        ``factory(model)`` returns a stepper (see :class:`RecurrentStepper` for the
        protocol).
    """
    if not (isinstance(layer_type, type) and issubclass(layer_type, keras.layers.Layer)):
        raise TypeError(f"layer_type must be a keras Layer class, got {layer_type!r}")
    if not callable(factory):
        raise TypeError(f"factory must be callable, got {factory!r}")
    _STEPPERS[layer_type] = factory


def stepper_for(model, *, window: int | None = None):
    """The stepper that generates fastest with ``model``.

    A registered layer type's stepper (:func:`register_stepper`) first, then
    :class:`RecurrentStepper` for a model with a recurrent layer, else
    :class:`WindowedStepper` (which needs ``window`` when the input length is free).

    Parameters
    ----------
    model : keras.Model
    window : int, optional
        The rolling window of a :class:`WindowedStepper`; ignored by the others.
    """
    for layer in model.layers:
        for layer_type, factory in _STEPPERS.items():
            if isinstance(layer, layer_type):
                return factory(model)
    if any(isinstance(layer, keras.layers.RNN) for layer in model.layers):
        return RecurrentStepper(model)
    return WindowedStepper(model, window)


# ----------------------------------------------------------------------- the loop


def compiled_loop(stepper, kind: str, choose: Callable) -> Callable:
    """One ``tf.function`` per (model, ``kind``, stepper): primer in, generated steps out.

    Parameters
    ----------
    stepper : stepper
        See :class:`RecurrentStepper` for the protocol.
    kind : str
        Names what ``choose`` draws (it keys the cache: one trace per kind).
    choose : callable
        ``choose(outputs, seed_pair, temperature, top_k, top_p, carry, limit)`` returns
        ``(value, finished, carry)``: the next element ``(batch, ...)``, whether each
        sequence ended ``(batch,)`` and the carried value ``(batch,)``.

    Returns
    -------
    loop : tf.function
        ``loop(primer, n_steps, seed, temperature, top_k, top_p, carry, limit)`` returns
        the generated elements time first, ``(n_generated, batch, ...)`` (callers swap
        the axes in NumPy: oneDNN's transpose takes no int32 ids on this CPU build and
        logs an error line for them); it stops after ``n_steps`` or once every sequence
        has finished.
    """
    per_model = _LOOPS.setdefault(stepper.model, {})
    key = (kind, type(stepper).__name__, getattr(stepper, "window", None))
    if key in per_model:
        return per_model[key]

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
        return generated.stack()

    # One loop per (model, kind) is the design: each is traced once (once more if the
    # primer's shape changes, after which reduce_retracing relaxes it) and reused from
    # _LOOPS. TensorFlow counts traces by source line across all loops, so five models
    # sampled in a row read as "excessive retracing"; say that these traces are expected.
    loop._omit_frequent_tracing_warning = True
    per_model[key] = loop
    return loop


# ----------------------------------------------------------------------------- primers


def _is_id(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def primer_ids(primer: Any, vocabulary: Vocabulary) -> np.ndarray:
    """A primer as ids ``(batch, n)``, by the one primer policy of this module.

    Parameters
    ----------
    primer : None, ids or tokens
        None: START alone. Ints (a list, a list of equally long lists, an integer
        array of shape ``(n,)`` or ``(batch, n)``) are ids. Anything else is a
        sequence of tokens of one primer.
    vocabulary : Vocabulary

    Returns
    -------
    ids : np.ndarray, shape=(batch, n), dtype=int32

    Raises
    ------
    ValueError
        Without a primer when the vocabulary has no START; for an empty primer; for an
        id outside the vocabulary (naming the id and its row and position); for an
        unknown token when the vocabulary has no UNK (naming the token and its
        position).

    Warns
    -----
    UserWarning
        When unknown tokens become UNK: how many, and the first.
    """
    if primer is None:
        if vocabulary.start_id is None:
            raise ValueError("primer is required: the vocabulary has no START token to begin from")
        return np.array([[vocabulary.start_id]], dtype=np.int32)
    if isinstance(primer, np.ndarray) and np.issubdtype(primer.dtype, np.integer):
        ids = primer.astype(np.int64)
    else:
        items = list(primer.tolist() if isinstance(primer, np.ndarray) else primer)
        if items and all(_is_id(t) for t in items):
            ids = np.asarray(items, dtype=np.int64)
        elif items and all(isinstance(t, (list, np.ndarray)) and len(t) and all(_is_id(v) for v in t) for t in items):
            lengths = sorted({len(t) for t in items})
            if len(lengths) > 1:
                raise ValueError(f"primer rows must be equally long (one batch), got lengths {lengths}; "
                                 "left-pad them with engine.left_pad or sample them apart")
            ids = np.asarray(items, dtype=np.int64)
        else:
            # Vocabulary.encode is the policy for tokens: UNK if there is one, else an
            # error naming the token and its position.
            ids = vocabulary.encode(items)
            unknown = [t for t, i in zip(items, ids.tolist(), strict=True) if i == vocabulary.unk_id and t != Vocabulary.UNK]
            if unknown:
                warnings.warn(f"{len(unknown)} primer token(s) are not in the vocabulary (first: {unknown[0]!r}); "
                              f"they enter the model as UNK (id {vocabulary.unk_id})", UserWarning, stacklevel=3)
    if ids.ndim == 1:
        ids = ids[None, :]
    if ids.ndim != 2 or ids.shape[1] == 0:
        raise ValueError(f"primer must hold at least one token, got shape {ids.shape}")
    bad = (ids < 0) | (ids >= len(vocabulary))
    if bad.any():
        row, position = (int(i[0]) for i in np.nonzero(bad))
        raise ValueError(f"unknown token id {int(ids[row, position])} in the primer (row {row}, position {position}): "
                         f"ids run 0-{len(vocabulary) - 1}")
    return ids.astype(np.int32)


def _fit_to_context(ids: np.ndarray, stepper, vocabulary: Vocabulary, warn: bool) -> np.ndarray:
    """Left-pad (or cut) primer ids to what the stepper reads, warning when padding.

    A cache (``stepper.window`` None, ``receptive_field`` set) pads with zeros itself,
    as the causal convolutions did at the start of every training piece; a rolling
    window is left-padded with PAD; a recurrent model with a fixed input length reads
    its last ``window`` ids, the length it was trained on.
    """
    window = stepper.window
    field = getattr(stepper, "receptive_field", None) or window
    if warn and field is not None and ids.shape[1] < field:
        how = ("zeros of the causal convolutions, as at the start of every training piece" if window is None
               else f"PAD (id {vocabulary.pad_id})")
        warnings.warn(f"primer has {ids.shape[1]} token(s), fewer than the receptive field of {field}: "
                      f"the missing past is left-padded with {how}", UserWarning, stacklevel=3)
    if window is None:
        return ids
    if isinstance(stepper, RecurrentStepper):
        return left_pad(ids, window, vocabulary.pad_id)[:, -window:]
    return left_pad(ids, window, vocabulary.pad_id)


# ----------------------------------------------------------------------------- sampling


def sample_ids(
    model,
    vocabulary: Vocabulary,
    *,
    n_tokens: int,
    n_samples: int | None = None,
    primer: Any = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int = 0,
    stop_at_end: bool = True,
    window: int | None = None,
    stepper: Any = None,
) -> np.ndarray:
    """Sample token ids from any token network, batched, in one compiled loop.

    Parameters
    ----------
    model : keras.Model
        Its one output is logits over the vocabulary, ``(batch, time, vocab)`` or, for a
        fixed window, ``(batch, vocab)``.
    vocabulary : Vocabulary
    n_tokens : int
        Tokens to generate per sample (fewer when every sample has ended).
    n_samples : int, optional
        Sequences in one batch; a one-row primer is repeated. Default: the primer's
        rows (1 without a primer).
    primer : None, ids or tokens
        See :func:`primer_ids`. A primer shorter than the model's context is left-padded
        as it saw the start of every training piece, with a warning.
    temperature, top_k, top_p : see :func:`musicalpy.models.sampling.filter_logits`
    seed : int, default 0
        The same seed gives the same samples (stateless random ops), also after
        ``keras.models.load_model``.
    stop_at_end : bool, default True
        Stop once every sample has drawn END. PAD, START and UNK are never drawn.
    window : int, optional
        The rolling window for a model that gets a :class:`WindowedStepper` and takes
        any input length.
    stepper : stepper, optional
        Used instead of :func:`stepper_for`, e.g. ``WindowedStepper(wavenet, 64)`` to
        time the naive full-window WaveNet against its cache.

    Returns
    -------
    ids : np.ndarray, shape=(n_samples, n_generated), dtype=int32
        The generated ids, without the primer.
    """
    temperature, top_k, top_p = check_sampling_options(temperature, top_k, top_p)
    n_tokens = check_int("n_tokens", n_tokens)
    ids = primer_ids(primer, vocabulary)
    if n_samples is not None:
        n_samples = check_int("n_samples", n_samples)
        if ids.shape[0] == 1:
            ids = np.repeat(ids, n_samples, axis=0)
        elif ids.shape[0] != n_samples:
            raise ValueError(f"primer holds {ids.shape[0]} sequences but n_samples={n_samples}")
    stepper = stepper if stepper is not None else stepper_for(model, window=window)
    if len(stepper.output_names) != 1:
        raise ValueError(f"model {model.name!r} has outputs {stepper.output_names}; token sampling needs one")
    ids = _fit_to_context(ids, stepper, vocabulary, warn=primer is not None)
    name = stepper.output_names[0]
    banned = np.zeros(len(vocabulary), dtype=bool)
    banned[[i for i in (vocabulary.pad_id, vocabulary.start_id, vocabulary.unk_id) if i is not None]] = True
    end_id = vocabulary.end_id if (stop_at_end and vocabulary.end_id is not None) else -1
    batch = ids.shape[0]

    def choose(outputs, seed_pair, temperature, top_k, top_p, carry, limit):
        logits = tf.cast(outputs[name], tf.float32)
        if logits.shape[-1] != len(banned):
            raise ValueError(f"model gives {logits.shape[-1]} logits but the vocabulary has {len(banned)} ids")
        logits = tf.where(tf.constant(banned)[None, :], -np.inf, logits)
        token = sample_logits(logits, salted_seed(seed_pair, 0), temperature, top_k, top_p)
        return token, tf.equal(token, end_id), carry

    # The key names everything ``choose`` closes over, so one trace serves one vocabulary layout.
    loop = compiled_loop(stepper, f"tokens/{end_id}/{len(vocabulary)}/{np.flatnonzero(banned).tolist()}", choose)
    return loop(tf.constant(ids), tf.constant(int(n_tokens)), tf.constant(int(seed), tf.int64), tf.constant(temperature),
                tf.constant(top_k), tf.constant(top_p), tf.zeros([batch]), tf.constant(0.0)).numpy().swapaxes(0, 1)


def generate_notes(
    model,
    vocabulary: Vocabulary,
    *,
    n_tokens: int,
    encoding: str = "note_strings",
    primer: Any = None,
    include_primer: bool = False,
    **options: Any,
) -> pd.DataFrame:
    """:func:`sample_ids`, decoded into one note table (pieces ``"sample_0"``, ...).

    Parameters
    ----------
    model, vocabulary, n_tokens, primer
        See :func:`sample_ids`.
    encoding : {"note_strings", "events", "pitch_hold"}, default "note_strings"
        The vocabulary's encoding, for :func:`musicalpy.representations.decode_token_ids`.
    include_primer : bool, default False
        Put the primer's notes before the generated ones.
    **options
        ``n_samples``, ``temperature``, ``top_k``, ``top_p``, ``seed``, ``stop_at_end``,
        ``window``, ``stepper`` go to :func:`sample_ids`; the names in
        :data:`DECODE_OPTIONS` (``tempo``, ``velocity``, ``program``, ``part``...) to the
        decoder.

    Returns
    -------
    notes : pd.DataFrame
        A note table; a sample that drew END stops there (an empty table when every
        sample ended at once).
    """
    decode_options = {k: options.pop(k) for k in list(options) if k in DECODE_OPTIONS}
    # Resolved once, so an unknown token is reported once and the decoded prefix is
    # exactly what the model read.
    prefix = primer_ids(primer, vocabulary)
    ids = sample_ids(model, vocabulary, n_tokens=n_tokens, primer=prefix if primer is not None else None, **options)
    tables = []
    for index, row in enumerate(ids):
        if include_primer:
            row = np.concatenate([prefix[min(index, len(prefix) - 1)], row])
        tables.append(decode_token_ids(row, vocabulary, encoding, piece=f"sample_{index}", **decode_options))
    return pd.concat(tables, ignore_index=True)


# ------------------------------------------------------------------------------ padding


def left_pad(ids: Any, length: int, pad_id: int = 0) -> np.ndarray:
    """Left-pad id sequences with ``pad_id`` to at least ``length`` ids.

    Parameters
    ----------
    ids : array-like, shape=(n,) or (batch, n)
    length : int
    pad_id : int, default 0 (PAD)

    Returns
    -------
    padded : np.ndarray, shape=(batch, max(n, length)), dtype=int32
    """
    length = check_int("length", length)
    array = np.asarray(ids, dtype=np.int64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"ids must be 1-D or 2-D, got shape {array.shape}")
    missing = max(0, length - array.shape[1])
    return np.concatenate([np.full((array.shape[0], missing), pad_id, dtype=np.int64), array], axis=1).astype(np.int32)


def left_pad_sequences(sequences: Mapping[Any, np.ndarray] | Sequence[np.ndarray], window: int,
                       pad_id: int = 0) -> dict[Any, np.ndarray]:
    """Prefix every piece with ``window - 1`` PAD ids, so that windows of ``window + 1``
    ids cut with shift 1 (``target="next"``) predict every token after the first
    exactly once, early tokens from a left-padded context.

    Parameters
    ----------
    sequences : dict or list of np.ndarray, shape=(n,)
    window : int
        The fixed-window model's input length.
    pad_id : int, default 0 (PAD)

    Returns
    -------
    padded : dict of key to np.ndarray, shape=(n + window - 1,), dtype=int32
        Keyed like ``sequences`` (list positions for a list).
    """
    window = check_int("window", window)
    items = sequences.items() if isinstance(sequences, Mapping) else enumerate(sequences)
    return {key: np.concatenate([np.full(window - 1, pad_id, dtype=np.int32), np.asarray(ids, dtype=np.int32)])
            for key, ids in items}


# ------------------------------------------------------------------------------ scoring


def score_ids(
    model,
    sequences: Mapping[Any, np.ndarray] | Sequence[np.ndarray],
    *,
    batch_size: int = 64,
    pad_id: int = 0,
) -> tuple[float, int]:
    """Total log-likelihood (nats) of whole pieces, every token after the first counted
    once, each predicted from its own past (the first token, START, is the context).

    Free-length models (WaveNet, token LSTM) read whole pieces, right-padded and masked;
    a fixed-window model (the baseline) reads each token's last ``window`` ids,
    left-padded with ``pad_id``.

    Parameters
    ----------
    model : keras.Model
        Output: logits ``(batch, time, vocab)`` or, for a fixed window, ``(batch, vocab)``.
    sequences : dict or list of np.ndarray, shape=(n,)
        Pieces of ids; pieces of fewer than 2 ids have nothing to score.
    batch_size : int, default 64
    pad_id : int, default 0 (PAD)

    Returns
    -------
    total_log_likelihood : float
        At most 0; the negative log-likelihood is its negation. Feed it to
        :func:`musicalpy.metrics.bits_per_token` with ``n_tokens``.
    n_tokens : int
        Tokens scored.
    """
    batch_size = check_int("batch_size", batch_size)
    values = [np.asarray(v, dtype=np.int64) for v in (sequences.values() if isinstance(sequences, Mapping) else sequences)]
    values = [v for v in values if len(v) >= 2]
    if not values:
        raise ValueError("sequences holds no piece of 2 or more tokens to score")
    window = fixed_input_length(model)
    if window is not None:
        return _score_fixed_window(model, values, window, batch_size, pad_id)
    total, count = 0.0, 0
    values.sort(key=len)  # similar lengths together: less padding
    for start in range(0, len(values), batch_size):
        chunk = values[start : start + batch_size]
        longest = max(len(v) for v in chunk)
        batch = np.full((len(chunk), longest), pad_id, dtype=np.int64)
        mask = np.zeros((len(chunk), longest - 1), dtype=bool)
        for row, ids in enumerate(chunk):
            batch[row, : len(ids)] = ids
            mask[row, : len(ids) - 1] = True
        logits = model(tf.constant(batch[:, :-1], tf.int32), training=False)
        log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1).numpy()
        picked = np.take_along_axis(log_probs, batch[:, 1:, None], axis=-1)[..., 0]
        total += float(picked[mask].sum())
        count += int(mask.sum())
    return total, count


def _score_fixed_window(model, values: list[np.ndarray], window: int, batch_size: int, pad_id: int) -> tuple[float, int]:
    """:func:`score_ids` for a model that reads ``window`` ids and predicts the next."""
    contexts, targets = [], []
    for ids in values:
        padded = np.concatenate([np.full(window - 1, pad_id, dtype=np.int64), ids])
        contexts.append(np.lib.stride_tricks.sliding_window_view(padded[:-1], window))
        targets.append(ids[1:])
    contexts, targets = np.concatenate(contexts), np.concatenate(targets)
    # Each row is one short window: larger batches than for whole pieces fit.
    rows = batch_size * 16
    total = 0.0
    for start in range(0, len(targets), rows):
        logits = model(tf.constant(contexts[start : start + rows], tf.int32), training=False)
        log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1).numpy()
        chunk = targets[start : start + rows]
        total += float(log_probs[np.arange(len(chunk)), chunk].sum())
    return total, int(len(targets))


class PieceLossCallback(keras.callbacks.Callback):
    """Add ``name`` to the epoch logs: the mean negative log-likelihood per token (nats)
    of whole validation pieces (:func:`score_ids`).

    The models' own validation losses differ in kind (the WaveNet and LSTM average
    every position of a window, the baseline scores one token per window); this one is
    the same measure for all, so their curves share one axis.

    Parameters
    ----------
    sequences : dict or list of np.ndarray, shape=(n,)
        The validation pieces as ids.
    name : str, default "val_piece_loss"
    pad_id : int, default 0 (PAD)
    """

    def __init__(self, sequences: Mapping[Any, np.ndarray] | Sequence[np.ndarray], *, name: str = "val_piece_loss",
                 pad_id: int = 0):
        super().__init__()
        if not len(sequences):
            raise ValueError("sequences is empty: the callback needs validation pieces")
        self.sequences = sequences
        self.name = name
        self.pad_id = pad_id

    def on_epoch_end(self, epoch, logs=None):
        total, count = score_ids(self.model, self.sequences, pad_id=self.pad_id)
        if logs is not None:
            logs[self.name] = -total / count


def piece_loss_callback(sequences: Mapping[Any, np.ndarray] | Sequence[np.ndarray], *,
                        name: str = "val_piece_loss") -> PieceLossCallback:
    """A :class:`PieceLossCallback` for ``callbacks`` of :func:`train_model`; the
    history gets the column ``name``."""
    return PieceLossCallback(sequences, name=name)


# ---------------------------------------------------------------------------- training


def _has_tensorboard() -> bool:
    """TensorBoard logging needs the ``tensorboard`` package; without it, warn once."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        warnings.warn("tensorboard is not installed: training runs without TensorBoard logs (pip install tensorboard)", stacklevel=3)
        return False
    return True


def train_model(
    build: Callable[[], Any],
    train: Any,
    validation: Any,
    *,
    epochs: int,
    patience: int,
    run_dir: str | os.PathLike | None = None,
    strategy: Any = None,
    tensorboard: bool = True,
    resume: bool = True,
    callbacks: Sequence[Any] = (),
    steps_per_epoch: int | None = None,
    verbose: int | str = "auto",
) -> tuple[Any, pd.DataFrame]:
    """Build a Keras model inside a distribution strategy and fit it, watching
    validation loss: the one trainer of every network in :mod:`musicalpy.models`.

    Parameters
    ----------
    build : callable
        Returns a compiled model, e.g. ``lambda: build_tutorial_lstm(32)``. It is
        called inside ``strategy.scope()`` so the variables are placed by the strategy.
    train, validation : tf.data.Dataset
        Batches of ``(x, y)`` (see :mod:`musicalpy.pipelines`). Validation is required:
        early stopping and checkpoints watch ``val_loss``, never the training loss.
    epochs : int
        At most this many epochs. ``epochs`` and ``patience`` have no default: they
        belong to the model being trained (a family's settings, e.g.
        :class:`musicalpy.models.settings.LSTMSettings`, or a notebook's parameters).
    run_dir : path, optional
        Where ``best.keras`` (best validation loss), ``logs/`` (TensorBoard) and
        ``backup/`` (BackupAndRestore) go. Without it nothing is written and a run
        cannot resume.
    strategy : tf.distribute.Strategy, optional
        Default: the current (default) strategy. ``MirroredStrategy`` for several
        GPUs, ``MultiWorkerMirroredStrategy`` for a cluster, ``TPUStrategy`` on a TPU;
        the global batch is the dataset's batch size, split over the replicas.
    patience : int
        Epochs without a better validation loss before stopping; the best weights are
        restored.
    tensorboard : bool, default True
        Write TensorBoard logs under ``run_dir/logs``.
    resume : bool, default True
        Back up the training state every epoch under ``run_dir/backup``; calling
        again with the same ``run_dir`` after an interruption continues from the last
        finished epoch. The backup is deleted when training finishes.
    callbacks : sequence of keras.callbacks.Callback
        Added after ours (e.g. :func:`piece_loss_callback`).
    steps_per_epoch : int, optional
        Batches per epoch (a fixed budget for fair comparisons); ``train`` is repeated,
        so an epoch may run past the end of one pass. Default: one pass per epoch.
    verbose : int or "auto"

    Returns
    -------
    model : keras.Model
    history : pd.DataFrame
        One row per epoch run now (``epoch`` counts from the resumed one), columns
        ``loss``, ``val_loss`` and the per-head losses.
    """
    epochs = check_int("epochs", epochs)
    if validation is None:
        raise ValueError("validation is required: early stopping and checkpoints watch the validation loss")
    if steps_per_epoch is not None:
        steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch)
        # A capped epoch may end in the middle of a pass over the data, so the data repeats:
        # every epoch gets its steps_per_epoch batches, the next pass reshuffled.
        train = train.repeat()
    strategy = strategy or tf.distribute.get_strategy()
    with strategy.scope():
        model = build()
    our_callbacks: list[Any] = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=check_int("patience", patience), restore_best_weights=True),
    ]
    if run_dir is not None:
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        our_callbacks.append(
            keras.callbacks.ModelCheckpoint(str(run_dir / "best.keras"), monitor="val_loss", save_best_only=True)
        )
        if tensorboard and _has_tensorboard():
            our_callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "logs"), write_graph=False))
        if resume:
            our_callbacks.append(keras.callbacks.BackupAndRestore(str(run_dir / "backup"), delete_checkpoint=True))
    fit = model.fit(
        train,
        validation_data=validation,
        epochs=epochs,
        callbacks=[*our_callbacks, *callbacks],
        steps_per_epoch=steps_per_epoch,
        shuffle=False,  # the pipelines shuffle; Keras cannot shuffle a tf.data.Dataset
        verbose=verbose,
    )
    history = pd.DataFrame(fit.history)
    history.insert(0, "epoch", np.asarray(fit.epoch, dtype=int) + 1)
    return model, history
