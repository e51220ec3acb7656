"""LSTM models of notebook 03 and their custom layers and losses.

* :func:`build_tutorial_lstm`: the TensorFlow tutorial "Generate music with an RNN":
  an LSTM over (pitch, step, duration) windows with three heads, pitch logits
  (sparse cross-entropy) and step and duration values (MSE plus the tutorial's
  positive-pressure term, :func:`positive_pressure_mse`). Its step and duration
  collapse toward their mean, because MSE is minimised by the conditional mean.
* :func:`build_rhythm_lstm`: the same trunk, but step and duration are *classes* over
  the values the corpus actually uses (:func:`rhythm_bins`, :class:`ClassHead`), trained
  with :class:`BinnedCrossentropy`, so that sampling draws real rhythms.
* :func:`build_token_lstm`: the token LSTM of the WaveNet/LSTM study: embedding, stacked
  LSTM layers with dropout, softmax over the vocabulary, trained sequence to sequence.

The custom layers and losses are defined at the top of this module and registered with
Keras on import, so ``keras.models.load_model`` reads saved ``.keras`` files back without
``custom_objects``. Importing this module imports Keras.

Training (:func:`musicalpy.models.engine.train_model`), token sampling and scoring live
in :mod:`musicalpy.models.engine`; the feature models' sampler in
:mod:`musicalpy.models.sampling`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from .._config import check_int as _check_int
from .settings import LSTMSettings as _LSTM  # the token LSTM's sizes live there, once

__all__ = [
    "TUTORIAL_LOSS_WEIGHTS",
    "rhythm_bins",
    "build_tutorial_lstm",
    "build_rhythm_lstm",
    "build_token_lstm",
    "custom_objects",
    "load_model",
]

#: The tutorial's loss weights: pitch cross-entropy is ~100x larger than the MSEs.
TUTORIAL_LOSS_WEIGHTS = {"pitch": 0.05, "step": 1.0, "duration": 1.0}
_PACKAGE = "musicalpy"


# ------------------------------------------------------------------- registered pieces
# Registered under the package and class names that saved ``.keras`` files already
# carry ("musicalpy>FeatureScaling", ...), so models saved before these classes moved
# to the top level load unchanged.


@keras.saving.register_keras_serializable(package=_PACKAGE)
class FeatureScaling(keras.layers.Layer):
    """Multiply the last axis by fixed factors (pitch / 128, as in the tutorial).

    Parameters
    ----------
    scale : sequence of float
        One factor per feature of the last axis.

    Call on ``(batch, time, n_features)``; returns the same shape.
    """

    def __init__(self, scale: Sequence[float], **kwargs):
        super().__init__(**kwargs)
        self.scale = [float(s) for s in scale]

    def call(self, inputs):
        return inputs * ops.convert_to_tensor(self.scale, dtype=inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ClassHead(keras.layers.Dense):
    """A Dense layer of logits over classes that stand for the values ``class_values``.

    The sampler reads ``class_values`` to turn a sampled class back into a step or
    a duration in seconds.

    Parameters
    ----------
    class_values : sequence of float
        Seconds per class, strictly increasing; the layer has one unit per value.
    **kwargs
        Those of ``keras.layers.Dense`` except ``units``.

    Call on ``(batch, units_in)``; returns logits ``(batch, len(class_values))``.
    """

    def __init__(self, class_values: Sequence[float], **kwargs):
        kwargs.pop("units", None)
        super().__init__(units=len(class_values), **kwargs)
        self.class_values = [float(v) for v in class_values]

    def get_config(self):
        config = super().get_config()
        config.pop("units", None)
        return {**config, "class_values": self.class_values}


@keras.saving.register_keras_serializable(package=_PACKAGE)
def positive_pressure_mse(y_true, y_pred):
    """MSE plus 10 x the mean negative part of the prediction (the tutorial's loss).

    Parameters
    ----------
    y_true : tensor, shape=(batch,) or (batch, 1)
    y_pred : tensor, shape=(batch, 1)

    Returns
    -------
    loss : tensor, shape=(batch,)
    """
    y_true = ops.reshape(ops.cast(y_true, y_pred.dtype), ops.shape(y_pred))
    mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
    pressure = 10.0 * ops.mean(ops.maximum(-y_pred, 0.0), axis=-1)
    return mse + pressure


@keras.saving.register_keras_serializable(package=_PACKAGE)
class BinnedCrossentropy(keras.losses.Loss):
    """Sparse cross-entropy against the class nearest to a float target.

    Class boundaries lie halfway between neighbouring ``class_values``, so the
    pipelines can feed the same float targets to both rhythm models.

    Parameters
    ----------
    class_values : sequence of float
        The head's class values (:class:`ClassHead`), strictly increasing.
    name : str, default "binned_crossentropy"

    Call with float targets ``(batch,)`` and logits ``(batch, n_classes)``.
    """

    def __init__(self, class_values: Sequence[float], name: str = "binned_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.class_values = [float(v) for v in class_values]

    def call(self, y_true, y_pred):
        values = np.asarray(self.class_values, dtype="float32")
        edges = ops.convert_to_tensor((values[1:] + values[:-1]) / 2.0)
        target = ops.reshape(ops.cast(y_true, "float32"), (-1,))
        classes = ops.sum(ops.cast(target[:, None] > edges[None, :], "int32"), axis=-1)
        return keras.losses.sparse_categorical_crossentropy(classes, y_pred, from_logits=True)

    def get_config(self):
        return {**super().get_config(), "class_values": self.class_values}


def custom_objects() -> dict[str, Any]:
    """The custom layers and losses of these models, by registered name.

    They are registered with Keras when this module is imported, so
    ``keras.models.load_model`` needs no ``custom_objects`` once it is; the dict is for
    callers that pass them explicitly.
    """
    return {"FeatureScaling": FeatureScaling, "ClassHead": ClassHead,
            "positive_pressure_mse": positive_pressure_mse, "BinnedCrossentropy": BinnedCrossentropy}


def load_model(path: str | os.PathLike, *, compile: bool = True):
    """``keras.models.load_model`` for a saved model of this module.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no saved model")
    return keras.models.load_model(path, custom_objects=custom_objects(), compile=compile)


# ------------------------------------------------------------------------------ rhythm


def rhythm_bins(values: np.ndarray, *, max_bins: int = 24, coverage: float = 0.995, resolution: float = 0.001,
                minimum: float = 0.0) -> np.ndarray:
    """Class values for a step or duration head: the values a corpus actually uses.

    Values are rounded to ``resolution`` seconds. When the most frequent ``max_bins``
    distinct values cover ``coverage`` of the data (scores: a handful of note values),
    they are the classes; otherwise (performed MIDI) the classes are ``max_bins``
    quantiles, so that every class is used about equally.

    Parameters
    ----------
    values : np.ndarray, shape=(n,)
        Steps or durations in seconds (e.g. column 1 or 2 of the features).
    max_bins : int, default 24
    coverage : float, default 0.995
    resolution : float, default 0.001
    minimum : float, default 0.0
        Classes below it are raised to it (use a positive minimum for durations, so
        that every sampled note sounds).

    Returns
    -------
    class_values : np.ndarray, shape=(n_bins,), dtype=float32
        Strictly increasing.
    """
    max_bins = _check_int("max_bins", max_bins, 2)
    values = np.asarray(values, dtype=float).reshape(-1)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("values is empty: rhythm_bins needs the training steps or durations")
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage must lie in (0, 1], got {coverage!r}")
    rounded = np.round(values / resolution) * resolution
    distinct, counts = np.unique(rounded, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:max_bins]
    if counts[order].sum() >= coverage * len(rounded):
        chosen = distinct[order]
    else:
        chosen = np.quantile(values, np.linspace(0, 1, max_bins))
    chosen = np.unique(np.maximum(np.round(chosen / resolution) * resolution, minimum))
    if len(chosen) < 2:
        chosen = np.array([chosen[0], chosen[0] + resolution])
    return chosen.astype(np.float32)


# ------------------------------------------------------------------------------ models


def _feature_trunk(seq_length: int | None, units: int, dropout: float):
    inputs = keras.Input((seq_length, 3), name="features")
    scaled = FeatureScaling([1.0 / 128.0, 1.0, 1.0], name="scaling")(inputs)
    hidden = keras.layers.LSTM(units, name="lstm")(scaled)
    if dropout:
        hidden = keras.layers.Dropout(dropout, name="dropout")(hidden)
    return inputs, hidden


def build_tutorial_lstm(
    seq_length: int = 25,
    *,
    units: int = 128,
    learning_rate: float = 0.005,
    loss_weights: Mapping[str, float] | None = None,
    dropout: float = 0.0,
):
    """The tutorial's model: LSTM over (pitch, step, duration) windows, three heads.

    Parameters
    ----------
    seq_length : int, default 25
        Notes per input window (the tutorial's value).
    units : int, default 128
    learning_rate : float, default 0.005
        Adam's learning rate (the tutorial's).
    loss_weights : dict, optional
        Default :data:`TUTORIAL_LOSS_WEIGHTS`.
    dropout : float, default 0.0

    Returns
    -------
    model : keras.Model
        Input ``(batch, seq_length, 3)`` raw features; outputs ``pitch`` logits
        ``(batch, 128)``, ``step`` and ``duration`` ``(batch, 1)`` in seconds.
    """
    seq_length = _check_int("seq_length", seq_length)
    inputs, hidden = _feature_trunk(seq_length, _check_int("units", units), dropout)
    outputs = {
        "pitch": keras.layers.Dense(128, name="pitch")(hidden),
        "step": keras.layers.Dense(1, name="step")(hidden),
        "duration": keras.layers.Dense(1, name="duration")(hidden),
    }
    model = keras.Model(inputs, outputs, name="tutorial_lstm")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss={
            "pitch": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            "step": positive_pressure_mse,
            "duration": positive_pressure_mse,
        },
        loss_weights=dict(loss_weights or TUTORIAL_LOSS_WEIGHTS),
    )
    return model


def build_rhythm_lstm(
    seq_length: int,
    step_values: Sequence[float],
    duration_values: Sequence[float],
    *,
    units: int = 128,
    learning_rate: float = 0.005,
    loss_weights: Mapping[str, float] | None = None,
    dropout: float = 0.0,
):
    """The tutorial's trunk with classification heads for step and duration.

    A regression head trained with MSE predicts the mean step, a value the music
    rarely uses; a softmax over the corpus's own note values (:func:`rhythm_bins`)
    keeps the rhythm distribution, and temperature applies to rhythm too.

    Parameters
    ----------
    seq_length : int
    step_values, duration_values : sequence of float
        Class values in seconds, strictly increasing (from :func:`rhythm_bins`).
    units : int, default 128
    learning_rate : float, default 0.005
    loss_weights : dict, optional
        Default: 1 for each head (the three are cross-entropies on one scale).
    dropout : float, default 0.0

    Returns
    -------
    model : keras.Model
        Outputs ``pitch`` ``(batch, 128)``, ``step`` ``(batch, n_step_classes)`` and
        ``duration`` ``(batch, n_duration_classes)`` logits.
    """
    seq_length = _check_int("seq_length", seq_length)
    heads = {}
    for name, values in (("step", step_values), ("duration", duration_values)):
        values = np.asarray(values, dtype=float)
        if values.ndim != 1 or len(values) < 2 or (np.diff(values) <= 0).any() or (values < 0).any():
            raise ValueError(f"{name}_values must be at least 2 non-negative, strictly increasing seconds, got {values!r}")
        heads[name] = values
    inputs, hidden = _feature_trunk(seq_length, _check_int("units", units), dropout)
    outputs = {
        "pitch": keras.layers.Dense(128, name="pitch")(hidden),
        **{name: ClassHead(values.tolist(), name=name)(hidden) for name, values in heads.items()},
    }
    model = keras.Model(inputs, outputs, name="rhythm_lstm")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss={
            "pitch": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            **{name: BinnedCrossentropy(values.tolist()) for name, values in heads.items()},
        },
        loss_weights=dict(loss_weights or {"pitch": 1.0, "step": 1.0, "duration": 1.0}),
    )
    return model


def build_token_lstm(
    vocab_size: int,
    *,
    embedding_dim: int = _LSTM.embedding_dim,
    units: Sequence[int] = _LSTM.units,
    dropout: float = _LSTM.dropout,
    learning_rate: float = 0.001,
):
    """The token LSTM: embedding, stacked LSTMs with dropout, logits over the vocabulary.

    Trained sequence to sequence (``target="sequence"`` windows): every position
    predicts the next token. The input length is free, so the model scores whole
    pieces and the sampler can start from the START token alone.

    Parameters
    ----------
    vocab_size : int
        ``len(vocabulary)``.
    embedding_dim : int, default ``LSTMSettings.embedding_dim``
        The defaults of the sizes and the dropout are those of
        :class:`musicalpy.models.settings.LSTMSettings` (notebook 03's token LSTM).
    units : sequence of int, default ``LSTMSettings.units``
        One LSTM layer per entry.
    dropout : float, default ``LSTMSettings.dropout``
        After every LSTM layer.
    learning_rate : float, default 0.001

    Returns
    -------
    model : keras.Model
        Input ``(batch, time)`` ids; output ``token`` logits ``(batch, time, vocab_size)``.
    """
    vocab_size = _check_int("vocab_size", vocab_size, 2)
    if not units:
        raise ValueError("units must name at least one LSTM layer size")
    inputs = keras.Input((None,), dtype="int32", name="tokens")
    hidden = keras.layers.Embedding(vocab_size, _check_int("embedding_dim", embedding_dim), name="embedding")(inputs)
    for index, size in enumerate(units):
        hidden = keras.layers.LSTM(_check_int("units", size), return_sequences=True, name=f"lstm_{index + 1}")(hidden)
        if dropout:
            hidden = keras.layers.Dropout(dropout, name=f"dropout_{index + 1}")(hidden)
    logits = keras.layers.Dense(vocab_size, name="token")(hidden)
    model = keras.Model(inputs, logits, name="token_lstm")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model
