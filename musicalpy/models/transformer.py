"""A decoder-only Transformer on tokens, with absolute or relative attention, and its
cached stepper.

* :func:`build_transformer`: token embedding plus absolute positions (learned or
  sinusoidal, or none), pre-norm causal self-attention blocks (:class:`TransformerBlock`)
  with dropout, a final layer norm and logits over the vocabulary **at every time step**
  (trained sequence to sequence, like the token LSTM and the WaveNet). With
  ``relative=True`` every attention layer adds the Music Transformer's relative logits
  (Huang et al., "Music Transformer", ICLR 2019): a learned embedding per head and
  distance, computed with the "skewing" trick of :func:`skew` in O(L·D) memory instead
  of the O(L²·D) of Shaw et al. (2018). :func:`relative_logits` is that computation and
  :func:`relative_logits_direct` the O(L²·D) one it must equal.
* An optional second input ``condition`` ``(batch, time)`` (``condition_vocab_size``):
  ids read by a non-causal encoder block (every position sees the whole condition, id 0
  masked out) whose output is added to the token stream position by position, for
  generating voices against a given melody.
* :func:`build_frame_transformer` and :class:`FrameTransformer`: the same blocks over
  88-key quarter-note frames with independent sigmoid outputs per key, the JSB Chorales
  benchmark's model shape (a :class:`musicalpy.models.frame_rnn.FrameRNN` whose LSTM is
  replaced by relative attention: each frame is one beat, so a distance is a number of
  beats).
* :class:`CachedTransformerStepper`: generation with a key/value cache, registered with
  the token engine on :class:`TransformerBlock`, so
  :func:`musicalpy.models.engine.sample_ids` spends one step per new token instead of a
  pass over the whole window. In the cached step a relative-attention layer reads the
  relative embeddings of the distances from the new token to every cached key.

Sampling, scoring and training are those of :mod:`musicalpy.models.engine`. The layers
are defined at the top of this module and registered with Keras on import, so saved
``.keras`` files load back without ``custom_objects``. Importing this module imports
Keras.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from .._config import check_int as _check_int
from ..representations import Vocabulary
from . import engine
from .frame_rnn import FrameRNN
from .settings import TransformerSettings as _DEFAULTS  # the sizes live there, once

__all__ = [
    "POSITION_SCHEMES",
    "sinusoidal_positions",
    "distance_embeddings",
    "skew",
    "relative_logits",
    "relative_logits_direct",
    "TokenPositionEmbedding",
    "CausalSelfAttention",
    "TransformerBlock",
    "ConditionEncoder",
    "build_transformer",
    "CachedTransformerStepper",
    "attention_maps",
    "benchmark_generation",
    "build_frame_transformer",
    "FrameTransformer",
    "custom_objects",
    "load_model",
]

_PACKAGE = "musicalpy"
#: Absolute position schemes of :class:`TokenPositionEmbedding`.
POSITION_SCHEMES = ("learned", "sinusoidal", "none")
# Added to the logits of keys a query may not see; finite, so that a row whose keys are
# all masked (a fully masked condition) gives a uniform softmax instead of NaN.
_MASKED = -1e9


# ------------------------------------------------------------------ position helpers


def sinusoidal_positions(positions, dim: int):
    """The sinusoidal position codes of Vaswani et al. (2017).

    Parameters
    ----------
    positions : tensor, shape=(n,), int or float
    dim : int
        Even code size.

    Returns
    -------
    codes : tensor, shape=(n, dim), float32
        ``sin(p / 10000^(2i/dim))`` in the first half, ``cos`` in the second.
    """
    dim = _check_int("dim", dim)
    if dim % 2:
        raise ValueError(f"dim must be even for sinusoidal positions, got {dim}")
    rates = ops.exp(-math.log(10000.0) * ops.arange(0, dim, 2, dtype="float32") / dim)
    angles = ops.cast(positions, "float32")[:, None] * rates[None, :]
    return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)


def distance_embeddings(embeddings, length: int):
    """The relative embeddings of distances ``length - 1, ..., 1, 0``, in that order.

    Row ``m`` belongs to distance ``length - 1 - m`` (the layout :func:`skew` expects);
    distances beyond the last learned one share its embedding (Shaw et al.'s clipping).

    Parameters
    ----------
    embeddings : tensor, shape=(heads, max_distance, head_dim)
        Row ``r`` is the embedding of distance ``r`` (query position minus key position).
    length : int or scalar tensor

    Returns
    -------
    tensor, shape=(heads, length, head_dim)
    """
    max_distance = ops.shape(embeddings)[1]
    distances = ops.minimum(ops.arange(length - 1, -1, -1, dtype="int32"), max_distance - 1)
    return ops.take(embeddings, distances, axis=1)


def skew(logits):
    """Turn query-by-distance logits into query-by-key logits (Huang et al. 2019, §3.4.1).

    ``logits[..., i, m]`` is query ``i`` against the embedding of distance
    ``L - 1 - m``; the result's ``[..., i, j]`` is query ``i`` against the embedding of
    distance ``i - j``, for every ``j <= i``. Pad one column on the left, read the
    ``(L, L + 1)`` matrix as ``(L + 1, L)`` and drop the first row: each row ``i`` moves
    ``L - 1 - i`` places left. No ``(L, L, D)`` tensor is ever made. The entries above
    the diagonal (``j > i``) are left-overs of the shift: a causal mask must hide them.

    Parameters
    ----------
    logits : tensor, shape=(..., L, L)

    Returns
    -------
    tensor, shape=(..., L, L)
    """
    shape = ops.shape(logits)
    length = shape[-1]
    lead = [[0, 0]] * (len(logits.shape) - 1)
    padded = ops.pad(logits, [*lead, [1, 0]])
    reshaped = ops.reshape(padded, (*shape[:-2], length + 1, length))
    return reshaped[..., 1:, :]


def relative_logits(queries, embeddings):
    """Relative attention logits ``q_i · E[i - j]`` for causal attention, by skewing.

    Parameters
    ----------
    queries : tensor, shape=(batch, heads, L, head_dim)
    embeddings : tensor, shape=(heads, max_distance, head_dim)

    Returns
    -------
    tensor, shape=(batch, heads, L, L)
        Valid on and below the diagonal (``j <= i``); memory O(L·D) besides the output.
    """
    by_distance = ops.matmul(queries, ops.swapaxes(distance_embeddings(embeddings, ops.shape(queries)[2]), -1, -2)[None])
    return skew(by_distance)


def relative_logits_direct(queries, embeddings):
    """:func:`relative_logits` the plain way, gathering an ``(L, L, head_dim)`` tensor of
    embeddings per head: O(L²·D) memory. The check that skewing is right.

    Returns
    -------
    tensor, shape=(batch, heads, L, L)
        Zero above the diagonal.
    """
    length = ops.shape(queries)[2]
    positions = ops.arange(length, dtype="int32")
    distances = positions[:, None] - positions[None, :]
    causal = distances >= 0
    index = ops.clip(distances, 0, ops.shape(embeddings)[1] - 1)
    gathered = ops.take(embeddings, index, axis=1)  # (heads, L, L, head_dim)
    logits = ops.einsum("bhik,hijk->bhij", queries, gathered)
    return ops.where(causal[None, None], logits, ops.zeros_like(logits))


def _causal_mask(length):
    positions = ops.arange(length, dtype="int32")
    return positions[None, :] <= positions[:, None]


# ------------------------------------------------------------------- registered layers
# Registered as "musicalpy>TokenPositionEmbedding", ..., the names saved .keras files carry.


@keras.saving.register_keras_serializable(package=_PACKAGE)
class TokenPositionEmbedding(keras.layers.Layer):
    """Token embedding plus an absolute position code.

    Call on ids ``(batch, time)``; returns ``(batch, time, dim)``. :meth:`step` embeds
    one id per sequence at a given position.

    Parameters
    ----------
    vocab_size : int
    dim : int
    positions : {"learned", "sinusoidal", "none"}
        "learned": one trained vector per position up to ``max_length`` (later
        positions share the last one); "sinusoidal": fixed codes, any length; "none":
        no absolute position (a relative-attention model's choice).
    max_length : int
        Positions of the learned table.
    """

    def __init__(self, vocab_size: int, dim: int, positions: str = "sinusoidal", max_length: int = 1024, **kwargs):
        super().__init__(**kwargs)
        if positions not in POSITION_SCHEMES:
            raise ValueError(f"positions must be one of {POSITION_SCHEMES}, got {positions!r}")
        self.vocab_size = _check_int("vocab_size", vocab_size, 2)
        self.dim = _check_int("dim", dim)
        self.positions = positions
        self.max_length = _check_int("max_length", max_length)
        if positions == "sinusoidal" and self.dim % 2:
            raise ValueError(f"dim must be even for sinusoidal positions, got {dim}")
        self.token_embedding = keras.layers.Embedding(self.vocab_size, self.dim, name="token_embedding")
        self.position_embedding = (keras.layers.Embedding(self.max_length, self.dim, name="position_embedding")
                                   if positions == "learned" else None)

    def build(self, input_shape):
        self.token_embedding.build(input_shape)
        if self.position_embedding is not None:
            self.position_embedding.build((None,))
        self.built = True

    def _codes(self, positions):
        if self.positions == "learned":
            return self.position_embedding(ops.minimum(positions, self.max_length - 1))
        return sinusoidal_positions(positions, self.dim)

    def call(self, inputs):
        hidden = self.token_embedding(inputs)
        if self.positions == "none":
            return hidden
        return hidden + self._codes(ops.arange(ops.shape(inputs)[1], dtype="int32"))[None]

    def step(self, ids, position):
        """Embed ids ``(batch,)`` at one ``position`` (scalar int); ``(batch, dim)``."""
        hidden = self.token_embedding(ids)
        if self.positions == "none":
            return hidden
        return hidden + self._codes(ops.reshape(position, (1,)))

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.dim)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "dim": self.dim, "positions": self.positions,
                "max_length": self.max_length}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class CausalSelfAttention(keras.layers.Layer):
    """Multi-head self-attention, causal or not, with optional relative logits.

    Call on ``(batch, time, dim)``; returns ``(batch, time, dim)``. A causal layer's
    position ``t`` reads positions ``<= t`` only; ``key_mask`` ``(batch, time)`` (True
    where a key may be read) hides padding of a non-causal layer. :meth:`step` attends
    one new query to a cache of keys and values.

    Parameters
    ----------
    num_heads : int
    head_dim : int
    relative : bool, default False
        Add the Music Transformer's relative logits (causal layers only).
    max_distance : int, default 256
        Distances with their own relative embedding; longer ones share the last.
    dropout : float, default 0.0
        On the attention weights, during training.
    causal : bool, default True
    """

    def __init__(self, num_heads: int, head_dim: int, relative: bool = False, max_distance: int = 256,
                 dropout: float = 0.0, causal: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = _check_int("num_heads", num_heads)
        self.head_dim = _check_int("head_dim", head_dim)
        self.relative = bool(relative)
        self.max_distance = _check_int("max_distance", max_distance)
        self.dropout_rate = float(dropout)
        self.causal = bool(causal)
        if self.relative and not self.causal:
            raise ValueError("relative attention is implemented for causal layers only (the skewing assumes j <= i)")
        self.dropout = keras.layers.Dropout(self.dropout_rate) if self.dropout_rate else None

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.qkv_kernel = self.add_weight(name="qkv_kernel", shape=(dim, 3, self.num_heads, self.head_dim),
                                          initializer="glorot_uniform")
        self.qkv_bias = self.add_weight(name="qkv_bias", shape=(3, self.num_heads, self.head_dim), initializer="zeros")
        self.output_kernel = self.add_weight(name="output_kernel", shape=(self.num_heads, self.head_dim, dim),
                                             initializer="glorot_uniform")
        self.output_bias = self.add_weight(name="output_bias", shape=(dim,), initializer="zeros")
        if self.relative:
            self.relative_embeddings = self.add_weight(
                name="relative_embeddings", shape=(self.num_heads, self.max_distance, self.head_dim),
                initializer=keras.initializers.RandomNormal(stddev=self.head_dim**-0.5))
        self.built = True

    def project(self, inputs):
        """Queries, keys and values of ``(..., dim)`` inputs, each ``(..., heads, head_dim)``;
        the queries already carry the ``1 / sqrt(head_dim)`` scale."""
        # One matmul over a flattened kernel: TensorFlow's gradient of the equivalent
        # ellipsis einsum was about 100x slower on CPU.
        dim = self.qkv_kernel.shape[0]
        flat = ops.matmul(inputs, ops.reshape(self.qkv_kernel, (dim, -1)))
        qkv = ops.reshape(flat, (*ops.shape(inputs)[:-1], 3, self.num_heads, self.head_dim)) + self.qkv_bias
        queries = qkv[..., 0, :, :] * (self.head_dim**-0.5)
        return queries, qkv[..., 1, :, :], qkv[..., 2, :, :]

    def combine(self, context):
        """Heads ``(..., heads, head_dim)`` back to the model width ``(..., dim)``."""
        dim = self.output_kernel.shape[-1]
        flat = ops.reshape(context, (*ops.shape(context)[:-2], self.num_heads * self.head_dim))
        return ops.matmul(flat, ops.reshape(self.output_kernel, (-1, dim))) + self.output_bias

    def scores(self, inputs, key_mask=None):
        """Attention logits ``(batch, heads, time, time)`` (masked) and the values."""
        queries, keys, values = self.project(inputs)
        queries = ops.transpose(queries, (0, 2, 1, 3))  # (batch, heads, time, head_dim)
        keys = ops.transpose(keys, (0, 2, 1, 3))
        values = ops.transpose(values, (0, 2, 1, 3))
        logits = ops.matmul(queries, ops.swapaxes(keys, -1, -2))
        if self.relative:
            logits = logits + relative_logits(queries, self.relative_embeddings)
        visible = None
        if self.causal:
            visible = _causal_mask(ops.shape(inputs)[1])[None, None]
        if key_mask is not None:
            keys_seen = ops.cast(key_mask, "bool")[:, None, None, :]
            visible = keys_seen if visible is None else ops.logical_and(visible, keys_seen)
        if visible is not None:
            logits = ops.where(visible, logits, ops.full_like(logits, _MASKED))
        return logits, values

    def call(self, inputs, key_mask=None, training=None):
        logits, values = self.scores(inputs, key_mask)
        weights = ops.softmax(logits, axis=-1)
        if self.dropout is not None:
            weights = self.dropout(weights, training=training)
        context = ops.transpose(ops.matmul(weights, values), (0, 2, 1, 3))  # (batch, time, heads, head_dim)
        return self.combine(context)

    def step(self, inputs, keys, values, position):
        """Attend one new position to the cache.

        Parameters
        ----------
        inputs : tensor, shape=(batch, dim)
            The layer's input at the new position.
        keys, values : tensor, shape=(batch, heads, capacity, head_dim)
            The cache, right-aligned: slot ``capacity - 1`` is the newest position, slot
            ``s`` lies ``capacity - 1 - s`` positions back; slots before the sequence
            started are zeros and masked.
        position : scalar int tensor
            Positions seen before this one.

        Returns
        -------
        output : tensor, shape=(batch, dim)
        keys, values : tensor, shape=(batch, heads, capacity, head_dim)
            The cache shifted by one, the new key and value in the last slot (the
            oldest falls out once ``capacity`` positions have been seen).
        """
        queries, new_keys, new_values = self.project(inputs)  # (batch, heads, head_dim)
        keys = ops.concatenate([keys[:, :, 1:], new_keys[:, :, None]], axis=2)
        values = ops.concatenate([values[:, :, 1:], new_values[:, :, None]], axis=2)
        capacity = ops.shape(keys)[2]
        logits = ops.matmul(keys, queries[..., None])[..., 0]  # (batch, heads, capacity)
        if self.relative:
            # Slot s is capacity - 1 - s positions back: the layout of distance_embeddings.
            logits = logits + ops.matmul(distance_embeddings(self.relative_embeddings, capacity)[None],
                                         queries[..., None])[..., 0]
        filled = ops.arange(capacity, dtype="int32") >= capacity - 1 - ops.cast(position, "int32")
        logits = logits + ops.where(filled, 0.0, _MASKED)  # one (capacity,) row, not a full mask
        weights = ops.softmax(logits, axis=-1)
        context = ops.matmul(weights[:, :, None, :], values)[:, :, 0]  # (batch, heads, head_dim)
        return self.combine(context), keys, values

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "head_dim": self.head_dim,
                "relative": self.relative, "max_distance": self.max_distance, "dropout": self.dropout_rate,
                "causal": self.causal}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class TransformerBlock(keras.layers.Layer):
    """A pre-norm Transformer block: ``x + attention(norm(x))``, then
    ``x + feed_forward(norm(x))``, dropout on both residual branches.

    Call on ``(batch, time, dim)``; :meth:`step` advances one position with a cache.

    Parameters
    ----------
    dim, num_heads : int
    ff_dim : int
        Hidden units of the feed-forward layer (ReLU).
    dropout : float, default 0.0
    relative : bool, default False
    max_distance : int, default 256
    causal : bool, default True
    """

    def __init__(self, dim: int, num_heads: int, ff_dim: int, dropout: float = 0.0, relative: bool = False,
                 max_distance: int = 256, causal: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.dim = _check_int("dim", dim)
        self.num_heads = _check_int("num_heads", num_heads)
        if self.dim % self.num_heads:
            raise ValueError(f"dim={dim} must be a multiple of num_heads={num_heads}")
        self.ff_dim = _check_int("ff_dim", ff_dim)
        self.dropout_rate = float(dropout)
        self.relative = bool(relative)
        self.max_distance = _check_int("max_distance", max_distance)
        self.causal = bool(causal)
        self.attention_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="attention_norm")
        self.attention = CausalSelfAttention(self.num_heads, self.dim // self.num_heads, self.relative,
                                             self.max_distance, self.dropout_rate, self.causal, name="attention")
        self.ff_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="ff_norm")
        self.ff_hidden = keras.layers.Dense(self.ff_dim, activation="relu", name="ff_hidden")
        self.ff_output = keras.layers.Dense(self.dim, name="ff_output")
        self.dropout = keras.layers.Dropout(self.dropout_rate) if self.dropout_rate else None

    def build(self, input_shape):
        if input_shape[-1] != self.dim:
            raise ValueError(f"{self.name}: input has {input_shape[-1]} channels, the block needs {self.dim}")
        for layer in (self.attention_norm, self.attention, self.ff_norm):
            layer.build(input_shape)
        self.ff_hidden.build(input_shape)
        self.ff_output.build((*input_shape[:-1], self.ff_dim))
        self.built = True

    def _drop(self, x, training):
        return self.dropout(x, training=training) if self.dropout is not None else x

    def _feed_forward(self, x, training=None):
        return x + self._drop(self.ff_output(self.ff_hidden(self.ff_norm(x))), training)

    def call(self, inputs, key_mask=None, training=None):
        hidden = inputs + self._drop(self.attention(self.attention_norm(inputs), key_mask=key_mask, training=training),
                                     training)
        return self._feed_forward(hidden, training)

    def step(self, inputs, keys, values, position):
        """One position ``(batch, dim)`` through the block with its cache (see
        :meth:`CausalSelfAttention.step`); returns ``(output, keys, values)``."""
        attended, keys, values = self.attention.step(self.attention_norm(inputs), keys, values, position)
        return self._feed_forward(inputs + attended), keys, values

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "num_heads": self.num_heads, "ff_dim": self.ff_dim,
                "dropout": self.dropout_rate, "relative": self.relative, "max_distance": self.max_distance,
                "causal": self.causal}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ConditionEncoder(keras.layers.Layer):
    """Encode a condition sequence (a melody's ids) with one non-causal block.

    Call on ids ``(batch, time)``; returns ``(batch, time, dim)``: embedding plus
    sinusoidal positions, one bidirectional :class:`TransformerBlock` (every position
    reads the whole condition), a layer norm. Id 0 marks a masked position: it is never
    read as a key and its output is zero, so an all-zero condition adds nothing.

    Parameters
    ----------
    vocab_size : int
        Condition ids, 0 (masked) included.
    dim, num_heads, ff_dim : int
    dropout : float, default 0.0
    """

    def __init__(self, vocab_size: int, dim: int, num_heads: int, ff_dim: int, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = _check_int("vocab_size", vocab_size, 2)
        self.dim = _check_int("dim", dim)
        self.num_heads = _check_int("num_heads", num_heads)
        self.ff_dim = _check_int("ff_dim", ff_dim)
        self.dropout_rate = float(dropout)
        self.embedding = TokenPositionEmbedding(self.vocab_size, self.dim, "sinusoidal", name="condition_embedding")
        self.block = TransformerBlock(self.dim, self.num_heads, self.ff_dim, self.dropout_rate, causal=False,
                                      name="condition_block")
        self.norm = keras.layers.LayerNormalization(epsilon=1e-5, name="condition_norm")

    def build(self, input_shape):
        self.embedding.build(input_shape)
        inner = (*input_shape, self.dim)
        self.block.build(inner)
        self.norm.build(inner)
        self.built = True

    def call(self, inputs, training=None):
        present = ops.not_equal(inputs, 0)
        hidden = self.block(self.embedding(inputs), key_mask=present, training=training)
        return self.norm(hidden) * ops.cast(present, "float32")[..., None]

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.dim)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "dim": self.dim, "num_heads": self.num_heads,
                "ff_dim": self.ff_dim, "dropout": self.dropout_rate}


def custom_objects() -> dict[str, Any]:
    """The custom layers of this module by registered name (registered on import)."""
    return {cls.__name__: cls for cls in (TokenPositionEmbedding, CausalSelfAttention, TransformerBlock,
                                          ConditionEncoder)}


def load_model(path: str | os.PathLike, *, compile: bool = True):
    """``keras.models.load_model`` for a saved Transformer of this module.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no saved model")
    return keras.models.load_model(path, custom_objects=custom_objects(), compile=compile)


# ------------------------------------------------------------------------------ model


def build_transformer(
    vocab_size: int,
    *,
    dim: int = _DEFAULTS.dim,
    num_layers: int = _DEFAULTS.num_layers,
    num_heads: int = _DEFAULTS.num_heads,
    ff_dim: int | None = None,
    dropout: float = _DEFAULTS.dropout,
    positions: str = _DEFAULTS.positions,
    relative: bool = _DEFAULTS.relative,
    max_distance: int = _DEFAULTS.max_distance,
    max_length: int = _DEFAULTS.max_length,
    condition_vocab_size: int | None = None,
    learning_rate: float = _DEFAULTS.learning_rate,
    name: str = "transformer",
):
    """The decoder-only Transformer on tokens: embeddings, pre-norm causal blocks, logits.

    Parameters
    ----------
    vocab_size : int
        ``len(vocabulary)``.
    dim : int
        Model width (embeddings and residual stream). The defaults of the sizes are
        those of :class:`musicalpy.families.transformer.TransformerSettings`.
    num_layers, num_heads : int
    ff_dim : int, optional
        Feed-forward units (default ``4 * dim``).
    dropout : float
        On attention weights and both residual branches, during training.
    positions : {"learned", "sinusoidal", "none"}
        Absolute positions added to the token embeddings.
    relative : bool
        Relative attention (Music Transformer) in every block.
    max_distance : int
        Distances with their own relative embedding.
    max_length : int
        Positions of a learned table, and the key/value cache of
        :class:`CachedTransformerStepper` (tokens generation attends to).
    condition_vocab_size : int, optional
        Adds the input ``condition`` ``(batch, time)`` of ids in
        ``[0, condition_vocab_size)``, 0 masked, encoded without causality by a
        :class:`ConditionEncoder` and added to the token stream at every position.
    learning_rate : float
        Adam's.
    name : str, default "transformer"

    Returns
    -------
    model : keras.Model
        Input ``tokens`` ``(batch, time)`` ids (any length), and ``condition`` when
        asked; output ``token`` logits ``(batch, time, vocab_size)``; position ``t``
        sees tokens ``0 .. t`` only.
    """
    vocab_size = _check_int("vocab_size", vocab_size, 2)
    dim = _check_int("dim", dim)
    num_layers = _check_int("num_layers", num_layers)
    ff_dim = 4 * dim if ff_dim is None else _check_int("ff_dim", ff_dim)
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")
    if positions == "none" and not relative:
        raise ValueError("positions='none' with relative=False leaves the model no sense of order; "
                         "choose 'learned' or 'sinusoidal', or relative=True")
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    inputs = [tokens]
    hidden = TokenPositionEmbedding(vocab_size, dim, positions, max_length, name="embedding")(tokens)
    if condition_vocab_size is not None:
        condition = keras.Input((None,), dtype="int32", name="condition")
        inputs.append(condition)
        encoded = ConditionEncoder(_check_int("condition_vocab_size", condition_vocab_size, 2), dim, num_heads, ff_dim,
                                   dropout, name="condition_encoder")(condition)
        hidden = keras.layers.Add(name="add_condition")([hidden, encoded])
    logits = _decoder(hidden, vocab_size, num_layers=num_layers, num_heads=num_heads, ff_dim=ff_dim, dropout=dropout,
                      relative=relative, max_distance=max_distance)
    model = keras.Model(inputs if len(inputs) > 1 else tokens, logits, name=name)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _decoder(hidden, vocab_size: int, *, num_layers: int, num_heads: int, ff_dim: int, dropout: float, relative: bool,
             max_distance: int):
    """Embedding dropout, the causal blocks, the final norm and the ``token`` logits over
    an embedded stream ``(batch, time, dim)``: what every token Transformer here shares
    (the layer names are those :class:`CachedTransformerStepper` looks up)."""
    dim = int(hidden.shape[-1])
    if dropout:
        hidden = keras.layers.Dropout(dropout, name="embedding_dropout")(hidden)
    for index in range(num_layers):
        hidden = TransformerBlock(dim, num_heads, ff_dim, dropout, relative, max_distance, name=f"block_{index + 1}")(hidden)
    hidden = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")(hidden)
    return keras.layers.Dense(vocab_size, name="token")(hidden)


# -------------------------------------------------------------------- cached generation


def _blocks(model) -> list:
    return [layer for layer in model.layers if isinstance(layer, TransformerBlock)]


class CachedTransformerStepper:
    """Advance a Transformer from :func:`build_transformer` one token at a time with a
    key/value cache.

    Every block keeps the keys and values of the last ``capacity`` positions,
    right-aligned (the newest last); a new token costs one embedding, one projection and
    one attention row per block over the cache, whatever the length so far. While fewer
    than ``capacity`` tokens have been seen, this equals the full model on the whole
    prefix; later, each token attends to the last ``capacity`` cached positions (a
    sliding window whose older keys were computed from their own, longer past), and a
    learned absolute position stays at its last entry.

    Implements the stepper protocol of :mod:`musicalpy.models.engine`
    (``initial_state``, ``advance``, ``heads_of``, ``window``, ``output_names``) and is
    what :func:`musicalpy.models.engine.stepper_for` gives every model holding a
    :class:`TransformerBlock`. A model with a ``condition`` input keeps the encoded
    condition in its states (:meth:`initial_state`).

    Parameters
    ----------
    model : keras.Model
        Built by :func:`build_transformer` (or loaded from its ``.keras`` file).
    capacity : int, optional
        Positions kept in the cache; default the model's ``max_length``.
    """

    window = None  # attention reads any past: no primer is padded
    receptive_field = None

    def __init__(self, model, capacity: int | None = None):
        self.model = model
        self.blocks = _blocks(model)
        if not self.blocks:
            raise ValueError(f"model {model.name!r} has no TransformerBlock: it is not a model from build_transformer")
        try:
            self.embedding = model.get_layer("embedding")
            self.final_norm = model.get_layer("final_norm")
            self.head = model.get_layer("token")
        except ValueError as exc:
            raise ValueError(f"model {model.name!r} lacks the layers of build_transformer ({exc})") from None
        names = [layer.name for layer in model.layers]
        self.condition_encoder = model.get_layer("condition_encoder") if "condition_encoder" in names else None
        self.capacity = _check_int("capacity", capacity if capacity is not None else self.embedding.max_length)
        self.output_names = ["token"]
        self.heads = {"token": self.head}

    def encode_condition(self, condition):
        """The condition encoder's output ``(batch, time, dim)`` for ids ``(batch, time)``,
        to pass to :meth:`initial_state`."""
        if self.condition_encoder is None:
            raise ValueError(f"model {self.model.name!r} has no condition input")
        return self.condition_encoder(tf.cast(condition, tf.int32), training=False)

    def initial_state(self, batch_size, condition=None):
        """``[position, memory, keys_1, values_1, ...]``: the count of positions seen
        (0), the encoded condition (``(batch, time, dim)``, zeros when there is none),
        and one zero cache ``(batch, heads, capacity, head_dim)`` per block for keys and
        for values.

        Parameters
        ----------
        batch_size : int or scalar tensor
        condition : tensor, shape=(batch, time), optional
            Condition ids for a conditioned model (see :meth:`encode_condition`).
        """
        dim = self.embedding.dim
        if condition is not None:
            memory = tf.cast(self.encode_condition(condition), tf.float32)
        else:
            memory = tf.zeros((batch_size, 1, dim), dtype=tf.float32)
        states = [tf.constant(0, tf.int32), memory]
        for block in self.blocks:
            shape = (batch_size, block.num_heads, self.capacity, block.dim // block.num_heads)
            states.extend([tf.zeros(shape, tf.float32), tf.zeros(shape, tf.float32)])
        return states

    def advance(self, inputs, states):
        """Feed one id per sequence ``(batch,)``; return the last block's output
        ``(batch, dim)`` and the new states."""
        position, memory = states[0], states[1]
        hidden = tf.cast(self.embedding.step(tf.cast(inputs, tf.int32), position), tf.float32)
        if self.condition_encoder is not None:
            # Past the condition's end the condition is masked: it adds zero.
            inside = tf.cast(position < tf.shape(memory)[1], tf.float32)
            hidden = hidden + inside * tf.gather(memory, tf.minimum(position, tf.shape(memory)[1] - 1), axis=1)
        new_states = [position + 1, memory]
        for index, block in enumerate(self.blocks):
            keys, values = states[2 + 2 * index], states[3 + 2 * index]
            hidden, keys, values = block.step(hidden, keys, values, position)
            new_states.extend([keys, values])
        return hidden, new_states

    def heads_of(self, hidden) -> dict[str, Any]:
        """Logits ``(batch, vocab_size)`` from the output of :meth:`advance`."""
        return {"token": self.head(self.final_norm(hidden))}

    def logits_along(self, ids, condition=None) -> np.ndarray:
        """Next-token logits after every prefix of ``ids`` ``(batch, n)``, stepping with
        the cache in one compiled loop (for checks and tests); ``condition`` is the
        model's condition input ``(batch, n)``, if it has one.

        Returns
        -------
        logits : np.ndarray, shape=(batch, n, vocab_size)
        """
        ids = tf.constant(np.asarray(ids, dtype=np.int32))

        @tf.function
        def run(ids):
            states = self.initial_state(tf.shape(ids)[0], condition)
            out = tf.TensorArray(tf.float32, size=tf.shape(ids)[1])
            for t in tf.range(tf.shape(ids)[1]):
                hidden, states = self.advance(ids[:, t], states)
                out = out.write(t, tf.cast(self.heads_of(hidden)["token"], tf.float32))
            return out.stack()

        return run(ids).numpy().transpose(1, 0, 2)


engine.register_stepper(TransformerBlock, CachedTransformerStepper)


# ------------------------------------------------------------------------ attention maps


def attention_maps(model, ids) -> np.ndarray:
    """The attention weights of every block and head on one sequence.

    Parameters
    ----------
    model : keras.Model
        From :func:`build_transformer` (without a condition input).
    ids : array-like of int, shape=(n,)

    Returns
    -------
    weights : np.ndarray, shape=(num_layers, num_heads, n, n)
        ``weights[l, h, i, j]``: how much position ``i`` reads position ``j`` (zero for
        ``j > i``); each row sums to 1.
    """
    blocks = _blocks(model)
    if not blocks:
        raise ValueError(f"model {model.name!r} has no TransformerBlock")
    ids = np.asarray(ids, dtype=np.int32)
    if ids.ndim != 1 or ids.size == 0:
        raise ValueError(f"ids must be one non-empty sequence, got shape {ids.shape}")
    hidden = model.get_layer("embedding")(ids[None])
    maps = []
    for block in blocks:
        logits, _ = block.attention.scores(block.attention_norm(hidden))
        maps.append(np.asarray(ops.softmax(logits, axis=-1))[0])
        hidden = block(hidden, training=False)
    return np.stack(maps)


# ----------------------------------------------------------------------------- benchmark


def _tokens_per_second(model, vocabulary: Vocabulary, stepper, n_tokens: int, n_samples: int,
                       seed: int) -> tuple[float, float]:
    """Compile-time (a 2-token call) and tokens per second of ``n_tokens`` from START."""
    common = {"n_samples": n_samples, "seed": seed, "stepper": stepper, "stop_at_end": False}
    start = time.perf_counter()
    engine.sample_ids(model, vocabulary, n_tokens=2, **common)
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    ids = engine.sample_ids(model, vocabulary, n_tokens=n_tokens, **common)
    return compile_s, ids.size / (time.perf_counter() - start)


def benchmark_generation(
    model,
    vocabulary: Vocabulary,
    *,
    n_tokens: int = 1024,
    n_samples: int = 1,
    naive_tokens: int = 8,
    seed: int = 0,
) -> dict[str, float]:
    """Tokens per second of cached generation against recomputing the full window.

    Both run in the compiled loop of :mod:`musicalpy.models.engine` from START, with
    END never stopping the run (``stop_at_end`` off). Cached: the model's own
    :class:`CachedTransformerStepper` (``max_length`` positions, at least
    ``n_tokens + 1``: the engine keeps one compiled loop per model and stepper type, so
    the cache is the model's) generates all ``n_tokens``. Naive: a :class:`~musicalpy.models.engine.WindowedStepper` of
    ``n_tokens`` ids passes the whole window through the model for every token, what a
    model whose context of ``n_tokens`` is full pays per token; its cost per token is the
    same at every step (the window is always full, left-padded with PAD at first), so
    ``naive_tokens`` steps measure its rate. The first call of each (tracing,
    compiling) is timed apart and not counted.

    Parameters
    ----------
    model : keras.Model
        From :func:`build_transformer`, without a condition input; build it with
        ``max_length=n_tokens + 1`` to time a cache just large enough.
    vocabulary : Vocabulary
    n_tokens : int, default 1024
        Tokens generated (cached) and the naive window.
    n_samples : int, default 1
        Sequences side by side.
    naive_tokens : int, default 8
        Steps of the naive path that are timed.
    seed : int, default 0

    Returns
    -------
    result : dict
        ``n_tokens``, ``n_samples``, ``naive_tokens_per_s``, ``cached_tokens_per_s``,
        ``speedup`` (cached over naive) and the two ``*_compile_s``.
    """
    if not _blocks(model):
        raise ValueError(f"model {model.name!r} is not a Transformer from build_transformer")
    n_tokens = _check_int("n_tokens", n_tokens)
    n_samples = _check_int("n_samples", n_samples)
    naive_tokens = _check_int("naive_tokens", naive_tokens)
    result: dict[str, float] = {"n_tokens": n_tokens, "n_samples": n_samples}
    cached = engine.stepper_for(model)
    if cached.capacity < n_tokens + 1:
        raise ValueError(f"model {model.name!r} caches {cached.capacity} positions, fewer than START and "
                         f"n_tokens={n_tokens}; build it with max_length >= {n_tokens + 1}")
    steppers = {"naive": (engine.WindowedStepper(model, n_tokens), naive_tokens), "cached": (cached, n_tokens)}
    for label, (stepper, steps) in steppers.items():
        compile_s, rate = _tokens_per_second(model, vocabulary, stepper, steps, n_samples, seed)
        result[f"{label}_compile_s"] = compile_s
        result[f"{label}_tokens_per_s"] = rate
    result["speedup"] = result["cached_tokens_per_s"] / result["naive_tokens_per_s"]
    return result


# ------------------------------------------------------------------------ JSB frames


def build_frame_transformer(
    *,
    dim: int = 128,
    num_layers: int = 2,
    num_heads: int = 4,
    ff_dim: int | None = None,
    dropout: float = 0.2,
    max_distance: int = 64,
    learning_rate: float = 1e-3,
) -> keras.Model:
    """A relative-attention Transformer over 88-key frames, independent outputs per key.

    The interface of :func:`musicalpy.models.frame_rnn.build_frame_rnn`'s independent
    output, so :class:`FrameTransformer` scores and samples through
    :class:`~musicalpy.models.frame_rnn.FrameRNN`'s methods: inputs ``[previous,
    current]`` frames ``(batch, time, 88)`` float32 with ``previous[:, t] = frames[:, t
    - 1]`` (``current`` is not read), logits ``(batch, time, 88)`` from a ``keys`` Dense
    layer, loss :func:`~musicalpy.models.frame_rnn.summed_key_crossentropy` (nats per
    frame).

    Parameters
    ----------
    dim, num_layers, num_heads : int
    ff_dim : int, optional
        Feed-forward units (default ``4 * dim``).
    dropout : float
    max_distance : int
        Distances (in frames, i.e. beats) with their own relative embedding.
    learning_rate : float
        Adam's (gradients clipped to norm 5, as the frame LSTM's).

    Returns
    -------
    keras.Model
    """
    from ..representations.frames import N_KEYS
    from .frame_rnn import summed_key_crossentropy

    dim = _check_int("dim", dim)
    ff_dim = 4 * dim if ff_dim is None else _check_int("ff_dim", ff_dim)
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")
    previous = keras.Input((None, N_KEYS), name="previous")
    current = keras.Input((None, N_KEYS), name="current")
    hidden = keras.layers.Dense(dim, name="frame_embedding")(previous)
    if dropout:
        hidden = keras.layers.Dropout(dropout, name="embedding_dropout")(hidden)
    for index in range(_check_int("num_layers", num_layers)):
        hidden = TransformerBlock(dim, num_heads, ff_dim, dropout, relative=True, max_distance=max_distance,
                                  name=f"block_{index + 1}")(hidden)
    hidden = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")(hidden)
    logits = keras.layers.Dense(N_KEYS, name="keys")(hidden)
    model = keras.Model([previous, current], logits, name="frame_transformer")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=5.0), loss=summed_key_crossentropy)
    return model


def _frame_batches(chorales: list, batch_size: int, *, shuffle: bool, seed: int):
    """``((previous, current), current, mask)`` batches of padded chorales; one batch of
    all when ``batch_size`` is None (the validation set: its ``val_loss`` is then the
    mean over one fixed set of frames, so its best epoch is the best in nats per frame)."""
    from .frame_rnn import padded_frames  # the frame LSTM's padding, so both read frames alike

    previous, current, mask = padded_frames(chorales)
    data = tf.data.Dataset.from_tensor_slices(((previous, current), current, mask))
    if shuffle:
        data = data.shuffle(len(chorales), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size or len(chorales))


class FrameTransformer(FrameRNN):
    """A frame model whose network is :func:`build_frame_transformer`: trained by the one
    trainer, :func:`musicalpy.models.engine.train_model` (early stopping on the
    validation frames, best weights kept), scored and sampled by
    :class:`~musicalpy.models.frame_rnn.FrameRNN`'s ``log_prob`` and ``sample``, saved
    as its ``model.keras`` and ``frame_model.json``.

    Parameters
    ----------
    dim, num_layers, num_heads, dropout, max_distance, learning_rate
        See :func:`build_frame_transformer`.
    epochs : int
        At most this many passes over the training chorales.
    batch_size : int
        Chorales per step.
    patience : int
        Epochs without a better validation loss before stopping.
    seed : int
    verbose : bool

    Attributes
    ----------
    network_ : keras.Model
    history_ : pd.DataFrame
        ``epoch``, ``loss``, ``val_loss`` (Keras's, per epoch).
    best_epoch_ : int
    """

    kind = "frame_transformer"

    def __init__(self, *, dim: int = 128, num_layers: int = 2, num_heads: int = 4, dropout: float = 0.2,
                 max_distance: int = 64, learning_rate: float = 1e-3, epochs: int = 100, batch_size: int = 8,
                 patience: int = 8, seed: int = 0, verbose: bool = False) -> None:
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        # FrameRNN's log_prob and sample read these: independent outputs, no MADE units.
        self.output, self.hidden = "independent", 0
        self.dim, self.num_layers, self.num_heads = (_check_int("dim", dim), _check_int("num_layers", num_layers),
                                                     _check_int("num_heads", num_heads))
        self.dropout, self.max_distance, self.learning_rate = float(dropout), _check_int("max_distance", max_distance), \
            float(learning_rate)
        self.epochs, self.batch_size = _check_int("epochs", epochs), _check_int("batch_size", batch_size)
        self.patience, self.seed, self.verbose = _check_int("patience", patience), int(seed), verbose

    def __repr__(self) -> str:
        return f"FrameTransformer(dim={self.dim}, num_layers={self.num_layers}, num_heads={self.num_heads})"

    def _config(self) -> dict[str, Any]:
        return {"dim": self.dim, "num_layers": self.num_layers, "num_heads": self.num_heads, "dropout": self.dropout,
                "max_distance": self.max_distance, "learning_rate": self.learning_rate, "epochs": self.epochs,
                "batch_size": self.batch_size, "patience": self.patience, "seed": self.seed}

    def fit(self, train: Any, valid: Any) -> FrameTransformer:
        """Train on ``train``, keeping the weights of the epoch best on ``valid``.

        Parameters
        ----------
        train, valid : list of np.ndarray, each shape=(n_frames, 88)

        Returns
        -------
        self
        """
        from ..representations.frames import check_frames

        train_list = [check_frames(c, f"train[{i}]") for i, c in enumerate(train)]
        valid_list = [check_frames(c, f"valid[{i}]") for i, c in enumerate(valid)]
        if not train_list or not valid_list:
            raise ValueError("train and valid must each hold at least one chorale")
        keras.utils.set_random_seed(self.seed)
        self.network_, self.history_ = engine.train_model(
            lambda: build_frame_transformer(dim=self.dim, num_layers=self.num_layers, num_heads=self.num_heads,
                                            dropout=self.dropout, max_distance=self.max_distance,
                                            learning_rate=self.learning_rate),
            _frame_batches(train_list, self.batch_size, shuffle=True, seed=self.seed),
            _frame_batches(valid_list, None, shuffle=False, seed=self.seed),
            epochs=self.epochs, patience=self.patience, verbose=2 if self.verbose else 0)
        self.best_epoch_ = int(self.history_.loc[self.history_["val_loss"].idxmin(), "epoch"])
        return self
