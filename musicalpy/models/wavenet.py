"""WaveNet-style gated dilated causal CNN on note/chord tokens, the study's baseline CNN,
and the WaveNet's fast cached stepper.

* :func:`build_wavenet`: embedding, then residual blocks (:class:`GatedResidualBlock`)
  of gated (``tanh(f) * sigmoid(g)``) causal dilated convolutions with dilations
  1, 2, 4, ... repeated in cycles, 1x1 residual and skip convolutions, the sum of the
  skips through ReLU and two 1x1 convolutions to logits over the vocabulary **at every
  time step** (trained sequence to sequence, like the token LSTM).
* :func:`build_baseline_cnn`: the model of the WaveNet/LSTM study, three dilated
  Conv1D layers with max-pooling and one softmax per window (trained on the token after
  each window).
* :func:`receptive_field` and :func:`describe_receptive_field`: how many tokens one
  prediction sees, and how many beats and bars that is on real pieces.
* :class:`CachedWaveNetStepper`: generation that keeps, for every block, a queue of its
  last ``(kernel_size - 1) * dilation`` inputs (the "fast WaveNet" of Paine et al.,
  2016), so that one new token costs one step per layer instead of a pass over the
  whole window. It is registered with the token engine on :class:`GatedResidualBlock`,
  so :func:`musicalpy.models.engine.sample_ids` uses it for every WaveNet.
* :func:`benchmark_generation` times naive full-window against cached generation.

Sampling, scoring, padding and training of every token network (this module's included)
live in :mod:`musicalpy.models.engine` (``sample_ids``, ``generate_notes``,
``score_ids``, ``left_pad_sequences``, ``piece_loss_callback``, ``train_model``). PAD (0)
only ever appears as left padding of the baseline's fixed windows; the WaveNet needs none, its causal convolutions pad with
zeros, as at the start of every training piece.

:class:`GatedResidualBlock` is defined at the top of this module and registered with
Keras on import, so saved ``.keras`` files load back without ``custom_objects``
(:func:`load_model` also registers the LSTM module's layers). Importing this module
imports Keras.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from .._config import check_int as _check_int
from ..representations import Vocabulary
from . import engine
from .settings import WaveNetSettings as _WAVENET  # WaveNet M's sizes live there, once

__all__ = [
    "dilation_cycles",
    "receptive_field",
    "model_receptive_field",
    "token_beats",
    "describe_receptive_field",
    "build_wavenet",
    "build_baseline_cnn",
    "CachedWaveNetStepper",
    "benchmark_generation",
    "custom_objects",
    "load_model",
]

_PACKAGE = "musicalpy"


# ------------------------------------------------------------------- receptive field


def dilation_cycles(max_dilation: int, cycles: int = 1) -> list[int]:
    """Dilations 1, 2, 4, ..., ``max_dilation``, repeated ``cycles`` times.

    >>> dilation_cycles(8, 2)
    [1, 2, 4, 8, 1, 2, 4, 8]
    """
    max_dilation = _check_int("max_dilation", max_dilation)
    if max_dilation & (max_dilation - 1):
        raise ValueError(f"max_dilation must be a power of two, got {max_dilation}")
    cycles = _check_int("cycles", cycles)
    return [2**i for i in range(int(math.log2(max_dilation)) + 1)] * cycles


def _check_dilations(dilations: Sequence[int]) -> list[int]:
    values = list(dilations)
    if not values:
        raise ValueError("dilations must name at least one layer")
    return [_check_int("dilations[i]", d) for d in values]


def receptive_field(dilations: Sequence[int], kernel_size: int = 2) -> int:
    """Tokens one output of a stack of causal convolutions sees (itself included).

    Each layer of kernel ``k`` and dilation ``d`` reaches ``(k - 1) * d`` tokens further
    back, so the field is ``1 + (k - 1) * sum(dilations)``.

    >>> receptive_field([1, 2, 4, 8, 16])
    32
    """
    kernel_size = _check_int("kernel_size", kernel_size)
    return 1 + (kernel_size - 1) * sum(_check_dilations(dilations))


def _blocks(model) -> list:
    return [layer for layer in model.layers if isinstance(layer, GatedResidualBlock)]


def model_receptive_field(model) -> int | None:
    """Receptive field of a model in tokens: its blocks' for a WaveNet, its window for
    a fixed-window model (the baseline), None for a recurrent model (unbounded)."""
    blocks = _blocks(model)
    if blocks:
        return 1 + sum((b.kernel_size - 1) * b.dilation_rate for b in blocks)
    shape = model.inputs[0].shape
    if len(shape) >= 2 and shape[1] is not None:
        return int(shape[1])
    return None


def token_beats(vocabulary: Vocabulary) -> np.ndarray:
    """Duration in beats (quarter notes) of every id of a note-string vocabulary.

    Returns
    -------
    beats : np.ndarray, shape=(len(vocabulary),), dtype=float
        0 for the reserved ids (PAD, START, END, UNK; an UNK's duration is unknown) and
        for tokens without a duration.
    """
    beats = np.zeros(len(vocabulary))
    for index, token in enumerate(vocabulary.tokens, start=vocabulary.n_reserved):
        if isinstance(token, tuple) and len(token) == 2:
            beats[index] = float(token[1])
    return beats


def describe_receptive_field(
    n_tokens: int,
    sequences: Mapping[Any, np.ndarray] | Sequence[np.ndarray],
    vocabulary: Vocabulary,
    *,
    beats_per_bar: float = 4.0,
    bars: float = 2.0,
) -> dict[str, Any]:
    """How much music ``n_tokens`` consecutive tokens span on real pieces.

    Every run of ``n_tokens`` consecutive ids inside a piece is measured in beats
    (:func:`token_beats`).

    Parameters
    ----------
    n_tokens : int
        The receptive field (:func:`receptive_field`).
    sequences : dict or list of np.ndarray, shape=(n,)
        Encoded pieces, e.g. the training split's.
    vocabulary : Vocabulary
        A note-string vocabulary (tokens ``(name, duration)``).
    beats_per_bar : float, default 4
    bars : float, default 2
        The span the field should cover.

    Returns
    -------
    report : dict
        ``tokens``, ``median_beats``, ``p10_beats`` (10% of the runs span less),
        ``median_bars``, ``share_covering`` (share of runs spanning at least ``bars``
        bars; pieces shorter than the field count as one run of the whole piece) and
        ``summary``, one sentence to print.
    """
    n_tokens = _check_int("n_tokens", n_tokens)
    beats = token_beats(vocabulary)
    values = list(sequences.values()) if isinstance(sequences, Mapping) else list(sequences)
    spans = []
    for ids in values:
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size == 0:
            continue
        if ids.min() < 0 or ids.max() >= len(vocabulary):
            raise ValueError(f"sequences hold id {int(ids.max())} outside the vocabulary of {len(vocabulary)} ids")
        cumulative = np.concatenate([[0.0], np.cumsum(beats[ids])])
        width = min(n_tokens, len(ids))
        spans.append(cumulative[width:] - cumulative[:-width])
    if not spans:
        raise ValueError("sequences is empty: there is nothing to measure the receptive field on")
    spans = np.concatenate(spans)
    median, p10 = float(np.median(spans)), float(np.quantile(spans, 0.1))
    share = float(np.mean(spans >= bars * beats_per_bar))
    summary = (f"receptive field {n_tokens} tokens = {median:.1f} beats (median; 10% of windows below {p10:.1f}) "
               f"= {median / beats_per_bar:.1f} bars of {beats_per_bar:g} beats; covers {bars:g} bars in {share:.1%} of windows")
    return {"tokens": n_tokens, "median_beats": median, "p10_beats": p10, "median_bars": median / beats_per_bar,
            "share_covering": share, "summary": summary}


# ------------------------------------------------------------------- registered pieces
# Registered as "musicalpy>GatedResidualBlock", the name saved .keras files carry.


@keras.saving.register_keras_serializable(package=_PACKAGE)
class GatedResidualBlock(keras.layers.Layer):
    """One WaveNet block: ``z = tanh(W_f * x) * sigmoid(W_g * x)`` with a causal
    dilated convolution ``*``, then ``x + 1x1(z)`` (residual) and ``1x1(z)`` (skip).

    Call on ``(batch, time, channels)``; returns ``(residual, skip)`` of shapes
    ``(batch, time, channels)`` and ``(batch, time, skip_channels)``. :meth:`step`
    computes one new time step from a queue of past inputs.

    Parameters
    ----------
    channels : int
        Residual channels (the input's last axis).
    skip_channels : int
        Channels of the skip output.
    dilation_rate : int
    kernel_size : int, default 2
    dropout : float, default 0.0
        On the gated activations, during training.
    use_residual : bool, default True
        False for the last block, whose residual output feeds nothing.
    """

    def __init__(self, channels: int, skip_channels: int, dilation_rate: int, kernel_size: int = 2,
                 dropout: float = 0.0, use_residual: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.channels = _check_int("channels", channels)
        self.skip_channels = _check_int("skip_channels", skip_channels)
        self.dilation_rate = _check_int("dilation_rate", dilation_rate)
        self.kernel_size = _check_int("kernel_size", kernel_size)
        self.dropout_rate = float(dropout)
        # The last block's residual output feeds nothing, so it has no residual conv.
        self.use_residual = bool(use_residual)
        # Filter and gate come from one convolution (twice the channels), split after.
        self.gated_conv = keras.layers.Conv1D(2 * self.channels, self.kernel_size, dilation_rate=self.dilation_rate,
                                              padding="causal", name="gated_conv")
        self.residual_conv = keras.layers.Conv1D(self.channels, 1, name="residual_conv") if self.use_residual else None
        self.skip_conv = keras.layers.Conv1D(self.skip_channels, 1, name="skip_conv")
        self.dropout = keras.layers.Dropout(self.dropout_rate) if self.dropout_rate else None

    @property
    def queue_length(self) -> int:
        """Past inputs a step needs: ``(kernel_size - 1) * dilation_rate``."""
        return (self.kernel_size - 1) * self.dilation_rate

    def build(self, input_shape):
        if input_shape[-1] != self.channels:
            raise ValueError(f"{self.name}: input has {input_shape[-1]} channels, the residual needs {self.channels}")
        self.gated_conv.build(input_shape)
        inner = (*input_shape[:-1], self.channels)
        if self.residual_conv is not None:
            self.residual_conv.build(inner)
        self.skip_conv.build(inner)
        self.built = True

    def _gate(self, pre):
        filter_part, gate_part = pre[..., : self.channels], pre[..., self.channels :]
        return ops.tanh(filter_part) * ops.sigmoid(gate_part)

    def call(self, inputs, training=None):
        z = self._gate(self.gated_conv(inputs))
        if self.dropout is not None:
            z = self.dropout(z, training=training)
        residual = inputs + self.residual_conv(z) if self.residual_conv is not None else inputs
        return residual, self.skip_conv(z)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape), (*input_shape[:-1], self.skip_channels)

    def step(self, x, queue):
        """One time step. ``x``: ``(batch, channels)``; ``queue``: ``(batch,
        queue_length, channels)``, the block's last inputs, oldest first (zeros
        before the sequence starts: the causal padding). Returns ``(residual,
        skip, new_queue)``."""
        window = ops.concatenate([queue, x[:, None, :]], axis=1)
        taps = window[:, :: self.dilation_rate]  # (batch, kernel_size, channels)
        pre = ops.einsum("bki,kio->bo", taps, self.gated_conv.kernel) + self.gated_conv.bias
        z = self._gate(pre)
        residual = x
        if self.residual_conv is not None:
            residual = x + ops.matmul(z, self.residual_conv.kernel[0]) + self.residual_conv.bias
        skip = ops.matmul(z, self.skip_conv.kernel[0]) + self.skip_conv.bias
        return residual, skip, window[:, 1:]

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "skip_channels": self.skip_channels,
                "dilation_rate": self.dilation_rate, "kernel_size": self.kernel_size, "dropout": self.dropout_rate,
                "use_residual": self.use_residual}


def custom_objects() -> dict[str, Any]:
    """The custom layers of these models by registered name (registered on import)."""
    return {"GatedResidualBlock": GatedResidualBlock}


def load_model(path: str | os.PathLike, *, compile: bool = True):
    """``keras.models.load_model`` for a saved WaveNet or baseline of this module (the
    LSTMs load with :func:`musicalpy.models.lstm.load_model`).

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no saved model")
    return keras.models.load_model(path, custom_objects=custom_objects(), compile=compile)


# ------------------------------------------------------------------------------ models


def build_wavenet(
    vocab_size: int,
    *,
    channels: int = _WAVENET.channels,
    skip_channels: int | None = None,
    dilations: Sequence[int] = _WAVENET.dilations,
    kernel_size: int = 2,
    dropout: float = _WAVENET.dropout,
    learning_rate: float = 0.001,
    name: str = "wavenet",
):
    """The WaveNet on tokens: embedding, gated residual blocks, logits at every step.

    Parameters
    ----------
    vocab_size : int
        ``len(vocabulary)``.
    channels : int, default ``WaveNetSettings.channels``
        Embedding size and residual channels of every block. The defaults of
        ``channels``, ``dilations`` and ``dropout`` are those of
        :class:`musicalpy.models.settings.WaveNetSettings` (notebook 04's WaveNet M).
    skip_channels : int, optional
        Channels of the skip connections and the output head (default ``channels``).
    dilations : sequence of int, default ``WaveNetSettings.dilations``
        One block per entry (:func:`dilation_cycles` repeats 1, 2, 4, ...).
    kernel_size : int, default 2
    dropout : float, default ``WaveNetSettings.dropout``
        On the gated activations of every block, during training.
    learning_rate : float, default 0.001
        Adam's.
    name : str, default "wavenet"

    Returns
    -------
    model : keras.Model
        Input ``(batch, time)`` ids (any length); output ``token`` logits ``(batch,
        time, vocab_size)``; position ``t`` sees ids ``t - receptive_field + 1 .. t``.
    """
    vocab_size = _check_int("vocab_size", vocab_size, 2)
    channels = _check_int("channels", channels)
    skip_channels = channels if skip_channels is None else _check_int("skip_channels", skip_channels)
    dilations = _check_dilations(dilations)
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")
    inputs = keras.Input((None,), dtype="int32", name="tokens")
    hidden = keras.layers.Embedding(vocab_size, channels, name="embedding")(inputs)
    logits = _wavenet_head(hidden, vocab_size, channels, skip_channels, dilations, kernel_size, dropout)
    model = keras.Model(inputs, logits, name=name)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _wavenet_head(hidden, vocab_size: int, channels: int, skip_channels: int, dilations: Sequence[int],
                  kernel_size: int, dropout: float):
    """The residual blocks, summed skips and 1x1 head of :func:`build_wavenet` on an
    embedded ``(batch, time, channels)`` input; returns the logits."""
    skips = []
    for index, dilation in enumerate(dilations):
        last = index == len(dilations) - 1
        hidden, skip = GatedResidualBlock(channels, skip_channels, dilation, kernel_size, dropout, use_residual=not last,
                                          name=f"block_{index + 1}")(hidden)
        skips.append(skip)
    total = keras.layers.Add(name="skip_sum")(skips) if len(skips) > 1 else skips[0]
    hidden = keras.layers.Activation("relu", name="skip_relu")(total)
    hidden = keras.layers.Conv1D(skip_channels, 1, activation="relu", name="head_conv")(hidden)
    return keras.layers.Conv1D(vocab_size, 1, name="token")(hidden)


def build_baseline_cnn(
    vocab_size: int,
    window: int = 32,
    *,
    embedding_dim: int = 100,
    filters: Sequence[int] = (64, 128, 256),
    kernel_size: int = 3,
    dense_units: int = 256,
    dropout: float = 0.2,
    learning_rate: float = 0.001,
):
    """The study's "WaveNet": three dilated causal Conv1D layers (dilations 1, 2, 4)
    with ReLU, dropout and max-pooling, a global max-pool, a dense layer and **one**
    softmax per window (the token after it).

    Parameters
    ----------
    vocab_size : int
    window : int, default 32
        Tokens per input (the study's). Shorter contexts are left-padded with PAD
        (:func:`musicalpy.models.engine.left_pad_sequences` for training,
        :func:`musicalpy.models.engine.left_pad` for primers).
    embedding_dim : int, default 100
    filters : sequence of int, default (64, 128, 256)
        One convolution per entry, dilations 1, 2, 4, ...
    kernel_size : int, default 3
    dense_units : int, default 256
    dropout : float, default 0.2
    learning_rate : float, default 0.001

    Returns
    -------
    model : keras.Model
        Input ``(batch, window)`` ids; output ``token`` logits ``(batch, vocab_size)``.
    """
    vocab_size = _check_int("vocab_size", vocab_size, 2)
    window = _check_int("window", window)
    if not filters:
        raise ValueError("filters must name at least one convolution")
    if window < 2 ** len(filters):
        raise ValueError(f"window={window} is too short for {len(filters)} max-pooling layers (needs >= {2 ** len(filters)})")
    inputs = keras.Input((window,), dtype="int32", name="tokens")
    hidden = keras.layers.Embedding(vocab_size, _check_int("embedding_dim", embedding_dim), name="embedding")(inputs)
    for index, size in enumerate(filters):
        hidden = keras.layers.Conv1D(_check_int("filters", size), kernel_size, dilation_rate=2**index, padding="causal",
                                     activation="relu", name=f"conv_{index + 1}")(hidden)
        if dropout:
            hidden = keras.layers.Dropout(dropout, name=f"dropout_{index + 1}")(hidden)
        hidden = keras.layers.MaxPooling1D(2, name=f"pool_{index + 1}")(hidden)
    hidden = keras.layers.GlobalMaxPooling1D(name="global_pool")(hidden)
    hidden = keras.layers.Dense(_check_int("dense_units", dense_units), activation="relu", name="dense")(hidden)
    logits = keras.layers.Dense(vocab_size, name="token")(hidden)
    model = keras.Model(inputs, logits, name="baseline_cnn")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


# -------------------------------------------------------------------- cached generation


class CachedWaveNetStepper:
    """Advance a WaveNet from :func:`build_wavenet` one token at a time with queues.

    Block ``i`` keeps its last ``(kernel_size - 1) * dilation_i`` inputs; a new token
    costs one embedding lookup, one small matrix product per block and the output head,
    whatever the receptive field. The queues start as zeros, which is exactly the
    causal padding the model saw at the start of every training piece, so a primer
    shorter than the receptive field is left-padded the same way.

    Implements the stepper protocol of :mod:`musicalpy.models.engine`
    (``initial_state``, ``advance``, ``heads_of``, ``window``, ``output_names``) and is
    the stepper :func:`musicalpy.models.engine.stepper_for` gives every model holding a
    :class:`GatedResidualBlock`.

    Parameters
    ----------
    model : keras.Model
        Built by :func:`build_wavenet` (or loaded from its ``.keras`` file).
    """

    window = None  # no minimum primer length

    def __init__(self, model):
        self.model = model
        self.blocks = _blocks(model)
        if not self.blocks:
            raise ValueError(f"model {model.name!r} has no GatedResidualBlock: it is not a WaveNet from build_wavenet")
        try:
            self.embedding = model.get_layer("embedding")
            self.head = [model.get_layer("head_conv"), model.get_layer("token")]
        except ValueError as exc:
            raise ValueError(f"model {model.name!r} lacks the layers of build_wavenet ({exc})") from None
        self.receptive_field = model_receptive_field(model)
        self.output_names = ["token"]
        self.heads = {"token": self.head[-1]}

    def initial_state(self, batch_size):
        """One zero queue per block, shape ``(batch, queue_length, channels)``."""
        return [tf.zeros((batch_size, b.queue_length, b.channels), dtype=tf.float32) for b in self.blocks]

    def advance(self, inputs, states):
        """Feed one id per sequence ``(batch,)``; return the summed skips and new queues."""
        hidden = tf.cast(self.embedding(inputs), tf.float32)
        total = None
        new_states = []
        for block, queue in zip(self.blocks, states, strict=True):
            hidden, skip, queue = block.step(hidden, queue)
            new_states.append(queue)
            total = skip if total is None else total + skip
        return total, new_states

    def heads_of(self, hidden) -> dict[str, Any]:
        """Logits ``(batch, vocab_size)`` from the summed skips of :meth:`advance`."""
        hidden = tf.nn.relu(hidden)
        for layer in self.head:
            hidden = layer(hidden[:, None, :])[:, 0]
        return {"token": hidden}

    def logits_along(self, ids) -> np.ndarray:
        """Next-token logits after every prefix of ``ids`` ``(batch, n)``, stepping with
        the cache (eagerly; for checks and tests).

        Returns
        -------
        logits : np.ndarray, shape=(batch, n, vocab_size)
        """
        ids = np.asarray(ids, dtype=np.int32)
        states = self.initial_state(ids.shape[0])
        out = []
        for t in range(ids.shape[1]):
            hidden, states = self.advance(ids[:, t], states)
            out.append(np.asarray(self.heads_of(hidden)["token"]))
        return np.stack(out, axis=1)


engine.register_stepper(GatedResidualBlock, CachedWaveNetStepper)


def _stepper(model, cached: bool, window: int | None):
    """The cached stepper of a WaveNet, or (``cached=False``) its naive full-window pass."""
    if not cached and _blocks(model):
        return engine.WindowedStepper(model, window or model_receptive_field(model))
    return engine.stepper_for(model, window=window)


# ----------------------------------------------------------------------------- benchmark


def _predict_loop(model, window_ids: np.ndarray, n_tokens: int, banned: np.ndarray, seed: int) -> int:
    """The study's generation: one ``model.predict`` on the whole window per token."""
    rng = np.random.default_rng(seed)
    window_ids = window_ids.copy()
    for _ in range(n_tokens):
        logits = np.asarray(model.predict(window_ids, verbose=0), dtype=np.float64)[:, -1]
        logits[:, banned] = -np.inf
        probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
        probs /= probs.sum(axis=-1, keepdims=True)
        drawn = np.array([rng.choice(len(p), p=p) for p in probs])
        window_ids = np.concatenate([window_ids[:, 1:], drawn[:, None]], axis=1)
    return n_tokens * len(window_ids)


def benchmark_generation(
    model,
    vocabulary: Vocabulary,
    *,
    n_tokens: int = 256,
    n_samples: int = 1,
    window: int | None = None,
    predict_tokens: int = 0,
    seed: int = 0,
) -> dict[str, float]:
    """Tokens per second of naive full-window generation against cached generation.

    Both run inside the same compiled loop of :mod:`musicalpy.models.engine`, from
    the START token, with END allowed but never stopping the run early (``stop_at_end``
    off), so both generate exactly ``n_tokens`` per sample. The first call of each
    (tracing and compiling) is timed apart and not counted. Optionally, the study's own
    way is timed too: a Python loop calling ``model.predict`` on the window per token.

    Parameters
    ----------
    model : keras.Model
        From :func:`build_wavenet`.
    vocabulary : Vocabulary
    n_tokens : int, default 256
    n_samples : int, default 1
        Sequences generated side by side.
    window : int, optional
        Window of the naive path (default: the receptive field).
    predict_tokens : int, default 0
        Tokens for the ``model.predict`` loop (0: skip it; it is slow).
    seed : int, default 0

    Returns
    -------
    result : dict
        ``receptive_field``, ``window``, ``naive_tokens_per_s``, ``cached_tokens_per_s``,
        ``speedup`` (cached over naive), the two ``*_compile_s`` and, with
        ``predict_tokens``, ``predict_tokens_per_s`` and ``speedup_vs_predict``.
    """
    if not _blocks(model):
        raise ValueError(f"model {model.name!r} is not a WaveNet from build_wavenet")
    n_tokens = _check_int("n_tokens", n_tokens)
    n_samples = _check_int("n_samples", n_samples)
    predict_tokens = _check_int("predict_tokens", predict_tokens, 0)
    window = window or model_receptive_field(model)
    result: dict[str, float] = {"receptive_field": model_receptive_field(model), "window": window}
    for label, cached in (("naive", False), ("cached", True)):
        common = {"n_samples": n_samples, "seed": seed, "stepper": _stepper(model, cached, window), "stop_at_end": False}
        start = time.perf_counter()
        engine.sample_ids(model, vocabulary, n_tokens=2, **common)
        result[f"{label}_compile_s"] = time.perf_counter() - start
        start = time.perf_counter()
        ids = engine.sample_ids(model, vocabulary, n_tokens=n_tokens, **common)
        result[f"{label}_tokens_per_s"] = ids.size / (time.perf_counter() - start)
    result["speedup"] = result["cached_tokens_per_s"] / result["naive_tokens_per_s"]
    if predict_tokens:
        banned = np.array([i for i in (vocabulary.pad_id, vocabulary.start_id, vocabulary.unk_id) if i is not None])
        start_window = np.repeat(engine.left_pad([vocabulary.start_id], window, vocabulary.pad_id), n_samples, axis=0)
        _predict_loop(model, start_window, 1, banned, seed)  # warm up predict
        start = time.perf_counter()
        count = _predict_loop(model, start_window, predict_tokens, banned, seed)
        result["predict_tokens_per_s"] = count / (time.perf_counter() - start)
        result["speedup_vs_predict"] = result["cached_tokens_per_s"] / result["predict_tokens_per_s"]
    return result
