"""A variational autoencoder on piano-roll windows: data, models, sampling, evaluation.

The piano-roll VAE blog post trained a dense VAE (encoder 256-128-64, latent dimension
16, sigmoid decoder, mean squared error) on flattened 48-pitch piano-roll images and
sampled its latent space. This module holds that baseline (:func:`build_dense_vae`) and
a better one (:func:`build_conv_vae`): binary cross-entropy on the note cells (a piano
roll is binary), KL annealing (a linear beta warm-up) and free bits against posterior
collapse, and convolutions along pitch and time. Both are the same :class:`VAE` class,
a ``keras.Model`` subclass with ``train_step`` and ``test_step`` (so ``validation_data``
works) and trackers for the total, reconstruction and KL losses.

Conventions
-----------
A window is a binary array of shape ``(n_pitches, window_steps)`` (row 0 = the lowest
pitch), as :func:`musicalpy.representations.encode_piano_roll` makes them. Decoders
give **logits**; :meth:`VAE.decode`, :meth:`VAE.sample` and ``model(x)`` give the
probabilities ``sigmoid(logits)``. Losses are per window, summed over cells and latent
dimensions, in nats; :func:`evaluate_vae` reports bits.

Data
----
:func:`musicalpy.representations.encode_piano_roll_windows` transposes every piece into
the roll's range and cuts windows of the whole texture or of every voice;
:func:`musicalpy.pipelines.piano_roll_dataset` batches them with tf.data. This module only
builds, trains and evaluates the models.

The loss terms are top-level functions (:func:`reconstruction_loss`,
:func:`gaussian_kl`) that :class:`VAE` combines in ``train_step``/``test_step``.

Importing this module imports Keras: :class:`VAE` and :class:`Sampling` are registered
Keras serializable classes, and ``keras.models.load_model`` can only find them once they
are defined, so ``import musicalpy.models.vae`` before loading a saved ``.keras`` model.
The rest of the package never imports it, so ``import musicalpy`` stays light.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import pandas as pd
from keras import ops

from .._config import check_int
from ..midi import DEFAULT_TEMPO, as_note_table
from ..representations import decode_piano_roll, frame_onsets
from ..representations.piano_roll import (
    DEFAULT_LOWEST_PITCH,
    DEFAULT_N_PITCHES,
    DEFAULT_WINDOW_STEPS,
)
from .settings import VAESettings as _VAE  # the kept VAE's sizes live there, once

__all__ = [
    "VAE",
    "Sampling",
    "reconstruction_loss",
    "gaussian_kl",
    "build_dense_vae",
    "build_conv_vae",
    "binarize",
    "interpolate_latent",
    "attribute_vector",
    "reconstruction_scores",
    "evaluate_vae",
    "windows_to_notes",
    "merge_voices",
]

_LN2 = math.log(2.0)


# -------------------------------------------------------------------------- models


def reconstruction_loss(windows, logits, kind: str = "bce"):
    """Reconstruction loss of every window, summed over its cells, in nats for ``"bce"``.

    Parameters
    ----------
    windows : tensor, shape=(batch, n_pitches, window_steps)
        The binary targets.
    logits : tensor, same shape
        The decoder's logits.
    kind : {"bce", "mse"}, default "bce"
        ``"bce"``: the Bernoulli negative log-likelihood of every cell (sigmoid
        cross-entropy from the logits). ``"mse"``: the squared error of the sigmoid
        output, as in the blog post.

    Returns
    -------
    loss : tensor, shape=(batch,)
    """
    if kind == "bce":
        # log(1 + e^l) - x * l: the sigmoid cross-entropy, stable for large |l|.
        cells = ops.softplus(logits) - windows * logits
    elif kind == "mse":
        cells = ops.square(ops.sigmoid(logits) - windows)
    else:
        raise ValueError(f"kind must be 'bce' or 'mse', got {kind!r}")
    return ops.sum(ops.reshape(cells, (ops.shape(windows)[0], -1)), axis=1)


def gaussian_kl(z_mean, z_log_var):
    """KL divergence of ``N(z_mean, exp(z_log_var))`` from the prior ``N(0, I)``, per
    latent dimension, in nats.

    Parameters
    ----------
    z_mean, z_log_var : tensor, shape=(batch, latent_dim)

    Returns
    -------
    kl : tensor, shape=(batch, latent_dim)
    """
    return 0.5 * (ops.square(z_mean) + ops.exp(z_log_var) - 1.0 - z_log_var)


@keras.saving.register_keras_serializable(package="musicalpy")
class Sampling(keras.layers.Layer):
    """Draw ``z = mean + exp(log_var / 2) * eps`` with ``eps ~ N(0, I)`` (seeded)."""

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="musicalpy")
class VAE(keras.Model):
    """A VAE with its loss in ``train_step``/``test_step``.

    Parameters
    ----------
    encoder : keras.Model
        Window ``(n_pitches, window_steps)`` -> ``[z_mean, z_log_var]``, each
        ``(latent_dim,)``.
    decoder : keras.Model
        ``(latent_dim,)`` -> logits ``(n_pitches, window_steps)``.
    reconstruction : {"bce", "mse"}
        ``"bce"``: Bernoulli log-likelihood of every cell (sigmoid cross-entropy
        from the logits). ``"mse"``: summed squared error of the sigmoid output,
        as in the blog post (not a likelihood of binary data).
    beta : float, default 1.0
        Weight of the KL term once warmed up.
    warmup_steps : int, default 0
        Training steps over which the KL weight rises linearly from 0 to ``beta``
        (KL annealing, Bowman et al. 2016); 0 = no warm-up.
    free_bits : float, default 0.0
        Bits of KL per latent dimension that cost nothing during training: each
        dimension's batch-mean KL enters the loss as ``max(KL_j, free_bits)``
        (Kingma et al. 2016), so the encoder is not pushed to use none of them.
    seed : int, optional
        Seed of the reparameterization noise.

    Notes
    -----
    ``loss`` in training logs is the optimized objective (with the current KL
    weight and free bits); in validation logs it is the negative ELBO
    ``reconstruction + KL`` (beta 1, no free bits) for ``"bce"``, so
    ``val_loss`` is comparable across epochs and models. ``kl_loss`` is always the
    true KL, ``beta`` (training only) the current KL weight.
    """

    def __init__(
        self,
        encoder,
        decoder,
        *,
        reconstruction: str = "bce",
        beta: float = 1.0,
        warmup_steps: int = 0,
        free_bits: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if reconstruction not in ("bce", "mse"):
            raise ValueError(f"reconstruction must be 'bce' or 'mse', got {reconstruction!r}")
        if not beta >= 0:
            raise ValueError(f"beta must be >= 0, got {beta!r}")
        warmup_steps = check_int("warmup_steps", warmup_steps, 0)
        if not free_bits >= 0:
            raise ValueError(f"free_bits must be >= 0, got {free_bits!r}")
        self.encoder = encoder
        self.decoder = decoder
        self.reconstruction = reconstruction
        self.beta = float(beta)
        self.warmup_steps = int(warmup_steps)
        self.free_bits = float(free_bits)
        self.seed = seed
        self.sampler = Sampling(seed=seed, name="sampling")
        self.window_shape = tuple(int(d) for d in encoder.inputs[0].shape[1:])
        self.latent_dim = int(decoder.inputs[0].shape[-1])
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")
        self.beta_tracker = keras.metrics.Mean(name="beta")
        self.build((None, *self.window_shape))

    def build(self, input_shape):
        # The encoder and decoder arrive built; a loaded model calls this too.
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker, self.beta_tracker]

    def call(self, inputs, training=False):
        z_mean, _ = self.encoder(inputs, training=training)
        return ops.sigmoid(self.decoder(z_mean, training=training))

    # -- the loss

    def _terms(self, x, training):
        """Per-window reconstruction loss, per-dimension KL (both in nats)."""
        z_mean, z_log_var = self.encoder(x, training=training)
        z = self.sampler([z_mean, z_log_var])
        logits = self.decoder(z, training=training)
        return reconstruction_loss(x, logits, self.reconstruction), gaussian_kl(z_mean, z_log_var)

    def _kl_weight(self):
        if self.warmup_steps == 0:
            return ops.convert_to_tensor(self.beta, dtype="float32")
        step = ops.cast(self.optimizer.iterations, "float32")
        return self.beta * ops.minimum(1.0, step / float(self.warmup_steps))

    def train_step(self, data):
        import tensorflow as tf

        x = _only_inputs(data)
        with tf.GradientTape() as tape:
            reconstruction, kl = self._terms(x, training=True)
            kl_per_dim = ops.mean(kl, axis=0)
            if self.free_bits > 0:
                kl_per_dim = ops.maximum(kl_per_dim, self.free_bits * _LN2)
            weight = self._kl_weight()
            loss = ops.mean(reconstruction) + weight * ops.sum(kl_per_dim)
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights, strict=True))
        self.loss_tracker.update_state(loss)
        self.reconstruction_tracker.update_state(ops.mean(reconstruction))
        self.kl_tracker.update_state(ops.mean(ops.sum(kl, axis=1)))
        self.beta_tracker.update_state(weight)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x = _only_inputs(data)
        reconstruction, kl = self._terms(x, training=False)
        kl_total = ops.sum(kl, axis=1)
        self.loss_tracker.update_state(ops.mean(reconstruction + kl_total))
        self.reconstruction_tracker.update_state(ops.mean(reconstruction))
        self.kl_tracker.update_state(ops.mean(kl_total))
        return {m.name: m.result() for m in self.metrics[:3]}

    # -- numpy-facing helpers

    def _check_windows(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == len(self.window_shape):
            x = x[None]
        if x.shape[1:] != self.window_shape:
            raise ValueError(f"windows must have shape (n, {', '.join(map(str, self.window_shape))}), got {x.shape}")
        return x

    def _check_latent(self, z) -> np.ndarray:
        z = np.asarray(z, dtype=np.float32)
        if z.ndim == 1:
            z = z[None]
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"latent vectors must have shape (n, {self.latent_dim}) for this model "
                f"(latent_dim={self.latent_dim}), got shape {z.shape}"
            )
        if not np.isfinite(z).all():
            raise ValueError("latent vectors must be finite (found NaN or infinity)")
        return z

    def encode(self, windows, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and log-variance, shape ``(n, latent_dim)`` each."""
        x = self._check_windows(windows)
        parts = [self.encoder(x[i : i + batch_size], training=False) for i in range(0, len(x), batch_size)]
        if not parts:
            return np.zeros((0, self.latent_dim), np.float32), np.zeros((0, self.latent_dim), np.float32)
        return (np.concatenate([ops.convert_to_numpy(m) for m, _ in parts]),
                np.concatenate([ops.convert_to_numpy(v) for _, v in parts]))

    def decode_logits(self, z, batch_size: int = 256) -> np.ndarray:
        """Decoder logits, shape ``(n, n_pitches, window_steps)``, float64."""
        z = self._check_latent(z)
        parts = [ops.convert_to_numpy(self.decoder(z[i : i + batch_size], training=False))
                 for i in range(0, len(z), batch_size)]
        if not parts:
            return np.zeros((0, *self.window_shape))
        return np.concatenate(parts).astype(np.float64)

    def decode(self, z, batch_size: int = 256) -> np.ndarray:
        """Cell probabilities, shape ``(n, n_pitches, window_steps)``, of latent
        vectors of shape ``(n, latent_dim)`` (or one vector of ``(latent_dim,)``).

        Raises
        ------
        ValueError
            When the latent size is not the model's ``latent_dim``.
        """
        logits = self.decode_logits(z, batch_size=batch_size)
        return 1.0 / (1.0 + np.exp(-logits))

    def sample(self, n: int, *, temperature: float = 1.0, seed: int | None = None) -> np.ndarray:
        """Decode ``n`` draws from the prior ``N(0, temperature^2 I)``.

        Returns the cell probabilities, shape ``(n, n_pitches, window_steps)``; turn
        them into notes with :func:`binarize` and :func:`windows_to_notes`.
        """
        n = check_int("n", n)
        if not (temperature >= 0 and math.isfinite(temperature)):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
        rng = np.random.default_rng(seed)
        return self.decode(temperature * rng.standard_normal((int(n), self.latent_dim)))

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "reconstruction": self.reconstruction,
            "beta": self.beta,
            "warmup_steps": self.warmup_steps,
            "free_bits": self.free_bits,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        config["decoder"] = keras.saving.deserialize_keras_object(config["decoder"])
        return cls(**config)


def _only_inputs(data):
    """The inputs of a batch: a tensor, or the first item of an ``(x, ...)`` tuple."""
    if isinstance(data, (tuple, list)):
        return data[0]
    return data


def _check_window_shape(window_shape: Sequence[int]) -> tuple[int, int]:
    shape = tuple(window_shape)
    if len(shape) != 2:
        raise ValueError(f"window_shape must be (n_pitches, window_steps), got {window_shape!r}")
    return check_int("window_shape[0] (n_pitches)", shape[0]), check_int("window_shape[1] (window_steps)", shape[1])


def build_dense_vae(
    window_shape: Sequence[int] = (DEFAULT_N_PITCHES, DEFAULT_WINDOW_STEPS),
    *,
    latent_dim: int = 16,
    hidden_units: Sequence[int] = (256, 128, 64),
    reconstruction: str = "mse",
    seed: int | None = None,
    **vae_options: Any,
):
    """The blog post's VAE: flattened window, dense encoder, sigmoid decoder, MSE.

    Parameters
    ----------
    window_shape : (int, int), default (48, 32)
        ``(n_pitches, window_steps)``.
    latent_dim : int, default 16
    hidden_units : sequence of int, default (256, 128, 64)
        Encoder layers (ReLU); the decoder mirrors them.
    reconstruction : {"mse", "bce"}, default "mse"
    seed : int, optional
    **vae_options
        ``beta``, ``warmup_steps``, ``free_bits`` of :class:`VAE`.

    Returns
    -------
    VAE
        Not compiled: call ``compile(optimizer=...)`` (the loss is built in).
    """
    n_pitches, steps = _check_window_shape(window_shape)
    latent_dim = check_int("latent_dim", latent_dim)
    inputs = keras.Input((n_pitches, steps), name="window")
    h = keras.layers.Flatten()(inputs)
    for units in hidden_units:
        h = keras.layers.Dense(units, activation="relu")(h)
    encoder = keras.Model(
        inputs,
        [keras.layers.Dense(latent_dim, name="z_mean")(h), keras.layers.Dense(latent_dim, name="z_log_var")(h)],
        name="dense_encoder",
    )
    z = keras.Input((latent_dim,), name="z")
    h = z
    for units in reversed(tuple(hidden_units)):
        h = keras.layers.Dense(units, activation="relu")(h)
    logits = keras.layers.Reshape((n_pitches, steps))(keras.layers.Dense(n_pitches * steps, name="logits")(h))
    decoder = keras.Model(z, logits, name="dense_decoder")
    return VAE(encoder, decoder, reconstruction=reconstruction, seed=seed, name="dense_vae", **vae_options)


def build_conv_vae(
    window_shape: Sequence[int] = (_VAE.n_pitches, _VAE.window_steps),
    *,
    latent_dim: int = _VAE.latent_dim,
    filters: Sequence[int] = _VAE.filters,
    dense_units: int = _VAE.dense_units,
    reconstruction: str = "bce",
    warmup_steps: int = 1000,
    free_bits: float = _VAE.free_bits,
    seed: int | None = None,
    **vae_options: Any,
):
    """A convolutional VAE: strided 2-D convolutions over (pitch, time), BCE loss,
    KL warm-up and free bits.

    A 3x3 filter sees intervals and rhythms wherever they occur, so what the encoder
    learns about a third or a suspension holds in every register and bar position,
    which a dense layer must learn once per cell.

    Parameters
    ----------
    window_shape : (int, int), default ``(VAESettings.n_pitches, VAESettings.window_steps)``
        Both sizes must be divisible by ``2 ** len(filters)``. The defaults of the
        shape, ``latent_dim``, ``filters``, ``dense_units`` and ``free_bits`` are those
        of :class:`musicalpy.families.vae.VAESettings` (notebook 05's kept VAE).
    latent_dim : int, default ``VAESettings.latent_dim``
    filters : sequence of int, default ``VAESettings.filters``
        One stride-2 convolution per entry (the decoder mirrors them).
    dense_units : int, default ``VAESettings.dense_units``
    reconstruction : {"bce", "mse"}, default "bce"
    warmup_steps : int, default 1000
        Training steps over which the KL weight rises to 1 (the zoo derives it from
        ``VAESettings.warmup_epochs``).
    free_bits : float, default ``VAESettings.free_bits``
        Bits per latent dimension (see :class:`VAE`).
    seed : int, optional
    **vae_options
        ``beta`` of :class:`VAE`.

    Returns
    -------
    VAE
        Not compiled.
    """
    n_pitches, steps = _check_window_shape(window_shape)
    latent_dim = check_int("latent_dim", latent_dim)
    scale = 2 ** len(filters)
    if n_pitches % scale or steps % scale:
        raise ValueError(f"window_shape {window_shape} must be divisible by {scale} (2 ** len(filters)) in both sizes")
    inputs = keras.Input((n_pitches, steps), name="window")
    h = keras.layers.Reshape((n_pitches, steps, 1))(inputs)
    for n_filters in filters:
        h = keras.layers.Conv2D(n_filters, 3, strides=2, padding="same", activation="relu")(h)
    h = keras.layers.Dense(dense_units, activation="relu")(keras.layers.Flatten()(h))
    encoder = keras.Model(
        inputs,
        [keras.layers.Dense(latent_dim, name="z_mean")(h), keras.layers.Dense(latent_dim, name="z_log_var")(h)],
        name="conv_encoder",
    )
    z = keras.Input((latent_dim,), name="z")
    small = (n_pitches // scale, steps // scale, filters[-1])
    h = keras.layers.Dense(dense_units, activation="relu")(z)
    h = keras.layers.Dense(int(np.prod(small)), activation="relu")(h)
    h = keras.layers.Reshape(small)(h)
    for n_filters in reversed(tuple(filters[:-1])):
        h = keras.layers.Conv2DTranspose(n_filters, 3, strides=2, padding="same", activation="relu")(h)
    h = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", name="logits")(h)
    decoder = keras.Model(z, keras.layers.Reshape((n_pitches, steps))(h), name="conv_decoder")
    return VAE(
        encoder,
        decoder,
        reconstruction=reconstruction,
        warmup_steps=warmup_steps,
        free_bits=free_bits,
        seed=seed,
        name="conv_vae",
        **vae_options,
    )


# ------------------------------------------------------------- sampling and latents


def binarize(
    probabilities: np.ndarray,
    *,
    method: str = "threshold",
    threshold: float = 0.5,
    seed: int | None = None,
) -> np.ndarray:
    """Turn cell probabilities into a binary roll.

    Parameters
    ----------
    probabilities : np.ndarray, shape=(..., n_pitches, window_steps)
    method : {"threshold", "bernoulli"}
        ``"threshold"``: a cell is on when its probability is at least ``threshold``
        (the most likely roll, cell by cell). ``"bernoulli"``: every cell is drawn.
    threshold : float, default 0.5
    seed : int, optional
        For ``"bernoulli"``.

    Returns
    -------
    roll : np.ndarray, same shape, dtype=float32 (0 or 1)
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.size and (np.nanmin(p) < 0 or np.nanmax(p) > 1 or np.isnan(p).any()):
        raise ValueError("probabilities must lie in [0, 1] (no NaN)")
    if method == "threshold":
        return (p >= threshold).astype(np.float32)
    if method == "bernoulli":
        return (np.random.default_rng(seed).random(p.shape) < p).astype(np.float32)
    raise ValueError(f"method must be 'threshold' or 'bernoulli', got {method!r}")


def interpolate_latent(z_start: np.ndarray, z_end: np.ndarray, n_points: int, *, method: str = "linear") -> np.ndarray:
    """Points on the path between two latent vectors, ends included.

    Parameters
    ----------
    z_start, z_end : np.ndarray, shape=(latent_dim,)
    n_points : int
        At least 2.
    method : {"linear", "slerp"}
        ``"slerp"`` moves along the great circle, which keeps the norm typical of the
        prior (a straight line between two Gaussian draws passes closer to the origin).

    Returns
    -------
    path : np.ndarray, shape=(n_points, latent_dim)
    """
    a = np.asarray(z_start, dtype=np.float64).reshape(-1)
    b = np.asarray(z_end, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"z_start and z_end must have the same size, got {a.shape} and {b.shape}")
    n_points = check_int("n_points", n_points, 2)
    t = np.linspace(0.0, 1.0, n_points)[:, None]
    if method == "linear":
        return (1 - t) * a + t * b
    if method != "slerp":
        raise ValueError(f"method must be 'linear' or 'slerp', got {method!r}")
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    omega = np.arccos(np.clip(a @ b / norms, -1.0, 1.0)) if norms > 0 else 0.0
    if omega < 1e-6:
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def attribute_vector(z: np.ndarray, values: np.ndarray, *, quantile: float = 0.25) -> np.ndarray:
    """The latent direction of an attribute: mean code of the windows in its top
    ``quantile`` minus that of its bottom ``quantile``.

    Parameters
    ----------
    z : np.ndarray, shape=(n_windows, latent_dim)
        Latent codes (posterior means).
    values : np.ndarray, shape=(n_windows,)
        The attribute of each window (e.g. its number of onsets).
    quantile : float, default 0.25

    Returns
    -------
    vector : np.ndarray, shape=(latent_dim,)
        Add ``alpha * vector`` to a code to get "more" of the attribute.
    """
    z = np.asarray(z, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if z.ndim != 2 or len(z) != len(values):
        raise ValueError(f"z must have shape (n, latent_dim) and values (n,), got {z.shape} and {values.shape}")
    if not 0 < quantile <= 0.5:
        raise ValueError(f"quantile must be in (0, 0.5], got {quantile!r}")
    low, high = np.quantile(values, [quantile, 1 - quantile])
    top, bottom = values >= high, values <= low
    if not top.any() or not bottom.any() or np.ptp(values) == 0:
        raise ValueError("the attribute does not vary enough to split into a top and a bottom group")
    return z[top].mean(axis=0) - z[bottom].mean(axis=0)


# ---------------------------------------------------------------------- evaluation


def reconstruction_scores(windows: np.ndarray, probabilities: np.ndarray, *, threshold: float = 0.5) -> dict[str, float]:
    """How well reconstructions match their windows, once thresholded.

    Parameters
    ----------
    windows : np.ndarray, shape=(n, n_pitches, window_steps)
        The binary originals.
    probabilities : np.ndarray, same shape
        The model's cell probabilities (or a binary roll).
    threshold : float, default 0.5
        A cell is on when its probability is at least this.

    Returns
    -------
    scores : dict
        ``note_precision``, ``note_recall``, ``note_f1``: notes are runs of active
        cells of one pitch (as :func:`~musicalpy.representations.decode_piano_roll`
        reads them); a reconstructed note matches when an original note has the same
        pitch and onset step. ``cell_f1``: F1 over active cells. ``frame_accuracy``:
        share of time steps whose whole pitch column is right. ``n_windows``.
        F1 is 1.0 when both sides have no notes, by convention.
    """
    truth = np.asarray(windows) >= 0.5
    predicted = np.asarray(probabilities) >= threshold
    if truth.shape != predicted.shape or truth.ndim != 3:
        raise ValueError(f"windows and probabilities must have one shape (n, n_pitches, window_steps), got {truth.shape} and {predicted.shape}")

    def f1(t: np.ndarray, p: np.ndarray) -> tuple[float, float, float]:
        hits, n_true, n_pred = int((t & p).sum()), int(t.sum()), int(p.sum())
        precision = hits / n_pred if n_pred else 1.0
        recall = hits / n_true if n_true else 1.0
        score = 2 * hits / (n_true + n_pred) if n_true + n_pred else 1.0
        return precision, recall, score

    precision, recall, note_f1 = f1(frame_onsets(truth), frame_onsets(predicted))
    frames_right = (truth == predicted).all(axis=1)
    return {
        "note_precision": precision,
        "note_recall": recall,
        "note_f1": note_f1,
        "cell_f1": f1(truth, predicted)[2],
        "frame_accuracy": float(frames_right.mean()) if frames_right.size else math.nan,
        "n_windows": int(len(truth)),
    }


def evaluate_vae(
    model,
    windows: np.ndarray,
    *,
    threshold: float = 0.5,
    n_samples: int = 4,
    seed: int = 0,
    batch_size: int = 256,
) -> dict[str, float]:
    """Reconstruction scores and the ELBO of a VAE on held-out windows, in bits.

    Whatever loss a model was trained with, it is scored here as a Bernoulli model of
    the cells (its sigmoid outputs are the probabilities), so MSE and BCE models are
    compared on one scale.

    Parameters
    ----------
    model : VAE
    windows : np.ndarray, shape=(n, n_pitches, window_steps)
    threshold : float, default 0.5
        For the reconstruction scores (reconstructions decode the posterior mean).
    n_samples : int, default 4
        Posterior draws per window for the expected log-likelihood in the ELBO.
    seed : int, default 0
    batch_size : int, default 256

    Returns
    -------
    scores : dict
        Those of :func:`reconstruction_scores`, plus ``reconstruction_bits`` (expected
        negative log-likelihood per window), ``kl_bits`` (KL per window),
        ``elbo_bits`` (their sum: the negative ELBO, an upper bound on the code length
        of a window), ``bits_per_cell`` and ``active_dims`` (latent dimensions whose
        mean KL exceeds 0.01 bits; the rest have collapsed to the prior).
    """
    x = model._check_windows(windows)
    if len(x) == 0:
        raise ValueError("windows is empty: nothing to evaluate")
    n_samples = check_int("n_samples", n_samples)
    z_mean, z_log_var = model.encode(x, batch_size=batch_size)
    scores = reconstruction_scores(x, model.decode(z_mean, batch_size=batch_size), threshold=threshold)
    kl = 0.5 * (z_mean**2 + np.exp(z_log_var) - 1.0 - z_log_var)
    rng = np.random.default_rng(seed)
    flat = x.reshape(len(x), -1).astype(np.float64)
    nll = np.zeros(len(x))
    for _ in range(n_samples):
        z = z_mean + np.exp(0.5 * z_log_var) * rng.standard_normal(z_mean.shape)
        logits = model.decode_logits(z, batch_size=batch_size).reshape(len(x), -1)
        nll += (np.logaddexp(0.0, logits) - flat * logits).sum(axis=1)
    reconstruction_bits = nll / n_samples / _LN2
    kl_bits = kl.sum(axis=1) / _LN2
    scores.update(
        {
            "reconstruction_bits": float(reconstruction_bits.mean()),
            "kl_bits": float(kl_bits.mean()),
            "elbo_bits": float((reconstruction_bits + kl_bits).mean()),
            "elbo_bits_total": float((reconstruction_bits + kl_bits).sum()),
            "bits_per_cell": float((reconstruction_bits + kl_bits).mean() / flat.shape[1]),
            "active_dims": int((kl.mean(axis=0) / _LN2 > 0.01).sum()),
        }
    )
    return scores


# ------------------------------------------------------------------ back to notes


def windows_to_notes(
    rolls: np.ndarray,
    *,
    threshold: float = 0.5,
    lowest_pitch: int = DEFAULT_LOWEST_PITCH,
    steps_per_quarter: int = 4,
    tempo: float = DEFAULT_TEMPO,
    piece_prefix: str = "window",
    program: int = 0,
    part: str = "0",
    concatenate: bool = False,
) -> pd.DataFrame:
    """Decode windows (binary or probabilities) into one note table.

    Parameters
    ----------
    rolls : np.ndarray, shape=(n, n_pitches, window_steps)
    threshold : float, default 0.5
    lowest_pitch, steps_per_quarter, tempo
        As in :func:`~musicalpy.representations.decode_piano_roll`.
    piece_prefix : str, default "window"
        Pieces are named ``<prefix>_000``, ``<prefix>_001``, ...
    program : int, default 0
    part : str, default "0"
    concatenate : bool, default False
        True: play the windows one after another as one piece named ``piece_prefix``
        (an interpolation path, a sequence of samples). False: one piece per window
        (a set of samples to compare with :func:`musicalpy.metrics.compare_sets`).

    Returns
    -------
    notes : pd.DataFrame
        With beat columns. An all-zero roll gives an empty (valid) note table.
    """
    rolls = np.asarray(rolls)
    if rolls.ndim == 2:
        rolls = rolls[None]
    if rolls.ndim != 3:
        raise ValueError(f"rolls must have shape (n, n_pitches, window_steps), got {rolls.shape}")
    options = {"lowest_pitch": lowest_pitch, "steps_per_quarter": steps_per_quarter, "tempo": tempo,
               "threshold": threshold, "program": program, "part": part}
    if concatenate:
        joined = np.concatenate(list(rolls), axis=-1) if len(rolls) else np.zeros((rolls.shape[1], 0))
        return decode_piano_roll(joined, piece=piece_prefix, **options)
    tables = [decode_piano_roll(roll, piece=f"{piece_prefix}_{i:03d}", **options) for i, roll in enumerate(rolls)]
    if not tables:
        return decode_piano_roll(np.zeros((rolls.shape[1], 0)), piece=piece_prefix, **options)
    return as_note_table(pd.concat(tables, ignore_index=True))


def merge_voices(
    voices: Mapping[str, np.ndarray],
    *,
    programs: Mapping[str, int] | None = None,
    threshold: float = 0.5,
    lowest_pitch: int = DEFAULT_LOWEST_PITCH,
    steps_per_quarter: int = 4,
    tempo: float = DEFAULT_TEMPO,
    piece: str = "merged",
) -> pd.DataFrame:
    """Merge one roll per voice into one multi-instrument note table.

    Parameters
    ----------
    voices : mapping of str to np.ndarray, shape=(n_pitches, n_steps) or (n, n_pitches, window_steps)
        Part name -> its roll (windows are played one after another).
    programs : mapping of str to int, optional
        Part name -> General MIDI program (default 0, piano); write the result with
        :func:`musicalpy.midi.write_midi` for one MIDI file with one track per part.
    threshold, lowest_pitch, steps_per_quarter, tempo
        As in :func:`windows_to_notes`.
    piece : str, default "merged"

    Returns
    -------
    notes : pd.DataFrame
        One part per voice (a silent voice has no rows).
    """
    if not voices:
        raise ValueError("voices is empty: give at least one part name -> roll")
    programs = dict(programs or {})
    unknown = set(programs) - set(voices)
    if unknown:
        raise ValueError(f"programs names parts that are not in voices: {sorted(unknown)}")
    tables = [
        windows_to_notes(roll, threshold=threshold, lowest_pitch=lowest_pitch, steps_per_quarter=steps_per_quarter,
                         tempo=tempo, piece_prefix=piece, program=int(programs.get(name, 0)), part=str(name),
                         concatenate=True)
        for name, roll in voices.items()
    ]
    return as_note_table(pd.concat(tables, ignore_index=True))
