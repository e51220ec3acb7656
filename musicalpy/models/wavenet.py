"""WaveNet-style gated dilated causal CNN on note/chord tokens, the study's baseline CNN,
and fast cached generation.

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
  whole window. It plugs into the compiled loop of :mod:`musicalpy.models.sampling`;
  :func:`sample_ids` and :func:`generate` pick the right generator for any token model
  (cached WaveNet, left-padded window for the baseline, recurrent state for an LSTM).
* :func:`score_sequences` gives the total log-likelihood of whole pieces, every token
  counted once (the accounting of :mod:`musicalpy.metrics`), and
  :func:`piece_loss_callback` records it on the validation pieces after every epoch, so
  that models with different training objectives get comparable loss curves.
* :func:`benchmark_generation` times naive full-window against cached generation.

Reserved ids: PAD (0) only ever appears as left padding of the baseline's fixed windows
(:func:`left_pad`); the WaveNet needs none, its causal convolutions pad with zeros, as at
the start of every training piece. UNK stands for tokens too rare for the vocabulary
(``min_count``); a primer's unknown tokens become UNK with a warning. Samplers never
draw PAD, START or UNK.

Every custom layer is registered with Keras, so saved ``.keras`` files load back
(:func:`load_model`). Training reuses :func:`musicalpy.models.lstm.train_model`
(checkpoints, ``BackupAndRestore``).
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._config import check_int as _check_int
from ..representations import Vocabulary

__all__ = [
    "dilation_cycles",
    "receptive_field",
    "model_receptive_field",
    "token_beats",
    "describe_receptive_field",
    "build_wavenet",
    "build_baseline_cnn",
    "CachedWaveNetStepper",
    "left_pad",
    "left_pad_sequences",
    "sample_ids",
    "generate",
    "score_sequences",
    "piece_loss_callback",
    "benchmark_generation",
    "custom_objects",
    "load_model",
]

_PACKAGE = "musicalpy"
_REGISTERED: dict[str, Any] = {}


def _keras():
    import keras

    return keras


def _tf():
    import tensorflow as tf

    return tf


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
    block_class = _custom_objects()["GatedResidualBlock"]
    return [layer for layer in model.layers if isinstance(layer, block_class)]


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


def _custom_objects() -> dict[str, Any]:
    """Define and register the custom layer once (Keras is imported on first use)."""
    if _REGISTERED:
        return _REGISTERED
    keras = _keras()
    ops = keras.ops

    @keras.saving.register_keras_serializable(package=_PACKAGE)
    class GatedResidualBlock(keras.layers.Layer):
        """One WaveNet block: ``z = tanh(W_f * x) * sigmoid(W_g * x)`` with a causal
        dilated convolution ``*``, then ``x + 1x1(z)`` (residual) and ``1x1(z)`` (skip).

        Call on ``(batch, time, channels)``; returns ``(residual, skip)`` of shapes
        ``(batch, time, channels)`` and ``(batch, time, skip_channels)``. :meth:`step`
        computes one new time step from a queue of past inputs.
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

    _REGISTERED["GatedResidualBlock"] = GatedResidualBlock
    return _REGISTERED


def custom_objects() -> dict[str, Any]:
    """The custom layers of these models, registered with Keras (on first use)."""
    return dict(_custom_objects())


def load_model(path: str | os.PathLike, *, compile: bool = True):
    """``keras.models.load_model`` with the custom objects of every MusicalPy model
    registered first (WaveNet blocks and the LSTM module's layers)."""
    from . import lstm

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no saved model")
    return _keras().models.load_model(path, custom_objects={**lstm.custom_objects(), **custom_objects()}, compile=compile)


def __getattr__(name: str) -> Any:
    if name == "GatedResidualBlock":
        return _custom_objects()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------------------ models


def build_wavenet(
    vocab_size: int,
    *,
    channels: int = 64,
    skip_channels: int | None = None,
    dilations: Sequence[int] = (1, 2, 4, 8, 16),
    kernel_size: int = 2,
    dropout: float = 0.0,
    learning_rate: float = 0.001,
    name: str = "wavenet",
):
    """The WaveNet on tokens: embedding, gated residual blocks, logits at every step.

    Parameters
    ----------
    vocab_size : int
        ``len(vocabulary)``.
    channels : int, default 64
        Embedding size and residual channels of every block.
    skip_channels : int, optional
        Channels of the skip connections and the output head (default ``channels``).
    dilations : sequence of int, default (1, 2, 4, 8, 16)
        One block per entry (:func:`dilation_cycles` repeats 1, 2, 4, ...).
    kernel_size : int, default 2
    dropout : float, default 0.0
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
    keras = _keras()
    block_class = _custom_objects()["GatedResidualBlock"]
    vocab_size = _check_int("vocab_size", vocab_size, 2)
    channels = _check_int("channels", channels)
    skip_channels = channels if skip_channels is None else _check_int("skip_channels", skip_channels)
    dilations = _check_dilations(dilations)
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")
    inputs = keras.Input((None,), dtype="int32", name="tokens")
    hidden = keras.layers.Embedding(vocab_size, channels, name="embedding")(inputs)
    skips = []
    for index, dilation in enumerate(dilations):
        last = index == len(dilations) - 1
        hidden, skip = block_class(channels, skip_channels, dilation, kernel_size, dropout, use_residual=not last,
                                   name=f"block_{index + 1}")(hidden)
        skips.append(skip)
    total = keras.layers.Add(name="skip_sum")(skips) if len(skips) > 1 else skips[0]
    hidden = keras.layers.Activation("relu", name="skip_relu")(total)
    hidden = keras.layers.Conv1D(skip_channels, 1, activation="relu", name="head_conv")(hidden)
    logits = keras.layers.Conv1D(vocab_size, 1, name="token")(hidden)
    model = keras.Model(inputs, logits, name=name)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


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
        (:func:`left_pad_sequences` for training, :func:`left_pad` for primers).
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
    keras = _keras()
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

    Implements the stepper protocol of :mod:`musicalpy.models.sampling`
    (``initial_state``, ``advance``, ``heads_of``, ``window``, ``output_names``).

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
        tf = _tf()
        return [tf.zeros((batch_size, b.queue_length, b.channels), dtype=tf.float32) for b in self.blocks]

    def advance(self, inputs, states):
        """Feed one id per sequence ``(batch,)``; return the summed skips and new queues."""
        tf = _tf()
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
        tf = _tf()
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
    length = _check_int("length", length)
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

    Returns
    -------
    padded : dict of key to np.ndarray, shape=(n + window - 1,), dtype=int32
    """
    window = _check_int("window", window)
    items = sequences.items() if isinstance(sequences, Mapping) else enumerate(sequences)
    return {key: np.concatenate([np.full(window - 1, pad_id, dtype=np.int32), np.asarray(ids, dtype=np.int32)])
            for key, ids in items}


def _primer_ids(primer: Any, vocabulary: Vocabulary) -> np.ndarray | None:
    """Token primers become ids with UNK for unknown tokens (said in a warning); id
    primers pass through to the sampler's own range check."""
    if primer is None or isinstance(primer, np.ndarray):
        return primer
    items = list(primer)
    if items and all(isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in items):
        return np.asarray(items)
    if items and all(isinstance(t, (list, tuple, np.ndarray)) and len(t) and isinstance(t[0], (int, np.integer)) for t in items):
        return np.asarray(items)
    unknown = [t for t in items if t not in vocabulary]
    if unknown:
        warnings.warn(f"{len(unknown)} primer token(s) are not in the vocabulary (first: {unknown[0]!r}); "
                      f"they enter the model as UNK (id {vocabulary.unk_id})", UserWarning, stacklevel=3)
    return vocabulary.encode(items).astype(np.int64)


def sample_ids(
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
    cached: bool = True,
    window: int | None = None,
    stop_at_end: bool = True,
) -> np.ndarray:
    """Sample token ids from any token model of notebooks 03-04, batched and compiled.

    * a WaveNet (:func:`build_wavenet`) runs on :class:`CachedWaveNetStepper` (or, with
      ``cached=False``, on the sampler's rolling window of ``window`` ids, default its
      receptive field: the naive way, one full pass per token);
    * a fixed-window model (:func:`build_baseline_cnn`) gets its primer left-padded with
      PAD to its window;
    * anything else (the token LSTM) goes to
      :func:`musicalpy.models.sampling.sample_token_ids` unchanged.

    A primer shorter than the receptive field is left-padded and a warning says so.

    Parameters
    ----------
    model : keras.Model
    vocabulary : Vocabulary
    primer : sequence of ids or tokens, or np.ndarray, shape=(n_samples, n), optional
        Default: START alone (a sample begins like a piece). Unknown tokens become UNK.
    n_tokens, n_samples, temperature, top_k, top_p, seed, stop_at_end
        See :func:`musicalpy.models.sampling.sample_token_ids`.
    cached : bool, default True
        For a WaveNet: queue cache (True) or full-window passes (False).
    window : int, optional
        Window of the naive WaveNet path.

    Returns
    -------
    ids : np.ndarray, shape=(n_samples, n_generated), dtype=int32
    """
    from . import sampling

    options = {"n_tokens": n_tokens, "n_samples": n_samples, "temperature": temperature, "top_k": top_k,
               "top_p": top_p, "seed": seed, "stop_at_end": stop_at_end}
    ids = _primer_ids(primer, vocabulary)
    field = model_receptive_field(model)
    is_wavenet = bool(_blocks(model))
    if ids is not None and field is not None:
        length = np.asarray(ids).shape[-1]
        if length < field:
            how = ("zeros of the causal convolutions, as at the start of every training piece" if is_wavenet and cached
                   else f"PAD (id {vocabulary.pad_id})")
            warnings.warn(f"primer has {length} token(s), fewer than the receptive field of {field}: "
                          f"the missing past is left-padded with {how}", UserWarning, stacklevel=2)
    if not is_wavenet:
        if field is not None:
            ids = left_pad(ids if ids is not None else [vocabulary.start_id], field, vocabulary.pad_id)
        return sampling.sample_token_ids(model, vocabulary, ids, **options)
    if not cached:
        window = window or field
        ids = left_pad(ids if ids is not None else [vocabulary.start_id], window, vocabulary.pad_id)
        return sampling.sample_token_ids(model, vocabulary, ids, window=window, **options)
    return _sample_cached(model, vocabulary, ids, **options)


def _sample_cached(model, vocabulary, ids, *, n_tokens, n_samples, temperature, top_k, top_p, seed, stop_at_end):
    from . import sampling

    return sampling.sample_token_ids(
        model, vocabulary, ids, n_tokens=n_tokens, n_samples=n_samples, temperature=temperature,
        top_k=top_k, top_p=top_p, seed=seed, stop_at_end=stop_at_end, stepper=CachedWaveNetStepper(model),
    )


def generate(
    model,
    vocabulary: Vocabulary,
    primer: Any = None,
    *,
    encoding: str = "note_strings",
    include_primer: bool = False,
    **options: Any,
) -> pd.DataFrame:
    """:func:`sample_ids`, decoded into one note table (pieces ``"sample_0"``, ...).

    ``options`` go to :func:`sample_ids` (``n_tokens``, ``n_samples``, ``temperature``,
    ``top_k``, ``top_p``, ``seed``, ``cached``, ``window``) and, for ``tempo``,
    ``velocity``, ``program``, to :func:`musicalpy.representations.decode_token_ids`.
    """
    from ..representations import decode_token_ids

    decode_keys = {"tempo", "velocity", "program", "part", "default_duration"}
    decode_options = {k: options.pop(k) for k in list(options) if k in decode_keys}
    primer_ids = _primer_ids(primer, vocabulary)  # once, so an unknown token is reported once
    ids = sample_ids(model, vocabulary, primer_ids, **options)
    tables = []
    for index, row in enumerate(ids):
        if include_primer and primer_ids is not None:
            prefix = np.asarray(primer_ids).reshape(-1, np.asarray(primer_ids).shape[-1])
            row = np.concatenate([prefix[min(index, len(prefix) - 1)], row])
        tables.append(decode_token_ids(row, vocabulary, encoding, piece=f"sample_{index}", **decode_options))
    return pd.concat(tables, ignore_index=True)


# ------------------------------------------------------------------------------ scoring


def score_sequences(
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
    batch_size : int, default 64

    Returns
    -------
    total_log_likelihood : float
        Feed to :func:`musicalpy.metrics.bits_per_token` with ``n_tokens``.
    n_tokens : int
        Tokens scored.
    """
    tf = _tf()
    batch_size = _check_int("batch_size", batch_size)
    values = [np.asarray(v, dtype=np.int64) for v in (sequences.values() if isinstance(sequences, Mapping) else sequences)]
    values = [v for v in values if len(v) >= 2]
    if not values:
        raise ValueError("sequences holds no piece of 2 or more tokens to score")
    shape = model.inputs[0].shape
    window = int(shape[1]) if len(shape) >= 2 and shape[1] is not None else None
    total, count = 0.0, 0
    if window is not None:
        contexts, targets = [], []
        for ids in values:
            padded = np.concatenate([np.full(window - 1, pad_id, dtype=np.int64), ids])
            frames = np.lib.stride_tricks.sliding_window_view(padded[:-1], window)
            contexts.append(frames)
            targets.append(ids[1:])
        contexts, targets = np.concatenate(contexts), np.concatenate(targets)
        for start in range(0, len(targets), batch_size * 16):
            logits = model(tf.constant(contexts[start : start + batch_size * 16], tf.int32), training=False)
            log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1).numpy()
            chunk = targets[start : start + batch_size * 16]
            total += float(log_probs[np.arange(len(chunk)), chunk].sum())
        return total, int(len(targets))
    order = np.argsort([len(v) for v in values])  # similar lengths together: less padding
    for start in range(0, len(order), batch_size):
        chunk = [values[i] for i in order[start : start + batch_size]]
        longest = max(len(v) for v in chunk)
        batch = np.full((len(chunk), longest), pad_id, dtype=np.int64)
        for row, ids in enumerate(chunk):
            batch[row, : len(ids)] = ids
        logits = model(tf.constant(batch[:, :-1], tf.int32), training=False)
        log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1).numpy()
        picked = np.take_along_axis(log_probs, batch[:, 1:, None], axis=-1)[..., 0]
        mask = np.arange(longest - 1)[None, :] < (np.array([len(v) for v in chunk]) - 1)[:, None]
        total += float(picked[mask].sum())
        count += int(mask.sum())
    return total, count


def piece_loss_callback(sequences: Mapping[Any, np.ndarray] | Sequence[np.ndarray], *, name: str = "val_piece_loss"):
    """A Keras callback that adds ``name`` to the epoch logs: the mean negative
    log-likelihood per token (nats) of whole pieces (:func:`score_sequences`).

    The models' own validation losses differ in kind (the WaveNet and LSTM average
    every position of a window, the baseline scores one token per window); this one is
    the same measure for all, so their curves share one axis. Pass it in ``callbacks``
    of :func:`musicalpy.models.lstm.train_model`; the history gets the column.
    """
    keras = _keras()
    if not (isinstance(sequences, Mapping) and sequences) and not (not isinstance(sequences, Mapping) and len(sequences)):
        raise ValueError("sequences is empty: the callback needs validation pieces")

    class PieceLoss(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            total, count = score_sequences(self.model, sequences)
            if logs is not None:
                logs[name] = -total / count

    return PieceLoss()


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

    Both run inside the same compiled loop of :mod:`musicalpy.models.sampling`, from
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
        common = {"n_samples": n_samples, "seed": seed, "cached": cached, "window": window, "stop_at_end": False}
        start = time.perf_counter()
        sample_ids(model, vocabulary, n_tokens=2, **common)
        result[f"{label}_compile_s"] = time.perf_counter() - start
        start = time.perf_counter()
        ids = sample_ids(model, vocabulary, n_tokens=n_tokens, **common)
        result[f"{label}_tokens_per_s"] = ids.size / (time.perf_counter() - start)
    result["speedup"] = result["cached_tokens_per_s"] / result["naive_tokens_per_s"]
    if predict_tokens:
        banned = np.array([i for i in (vocabulary.pad_id, vocabulary.start_id, vocabulary.unk_id) if i is not None])
        start_window = np.repeat(left_pad([vocabulary.start_id], window, vocabulary.pad_id), n_samples, axis=0)
        _predict_loop(model, start_window, 1, banned, seed)  # warm up predict
        start = time.perf_counter()
        count = _predict_loop(model, start_window, predict_tokens, banned, seed)
        result["predict_tokens_per_s"] = count / (time.perf_counter() - start)
        result["speedup_vs_predict"] = result["cached_tokens_per_s"] / result["predict_tokens_per_s"]
    return result
