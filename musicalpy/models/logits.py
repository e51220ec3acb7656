"""The drawing primitives every sampler of the package shares.

:func:`check_sampling_options`, :func:`filter_logits` (temperature, top-k, nucleus top-p)
and :func:`sample_logits`, which draws with stateless random ops so that the same seed
gives the same music, also after ``keras.models.load_model``; :func:`salted_seed` gives
each head of a model its own stream from one seed. :mod:`musicalpy.models.engine`'s
compiled loops and :mod:`musicalpy.models.sampling`'s note sampler both draw through
them, so they live below both.

Importing this module does not import TensorFlow; its functions do.
"""

from __future__ import annotations

import math

import numpy as np

from .._config import check_int

__all__ = ["check_sampling_options", "filter_logits", "sample_logits", "salted_seed"]


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
        non-integer ``top_k`` (0 or None: no limit), or ``top_p`` outside (0, 1].
    """
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.number)) or not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
    if top_k is None:
        top_k = 0
    top_k = check_int("top_k", top_k, 0)
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


def salted_seed(seed, salt: int):
    """A stateless seed for one of several draws of one step (one per output head).

    Parameters
    ----------
    seed : tf.Tensor, shape=(2,), int64
        The step's seed.
    salt : int
        0, 1, 2, ...: which draw (at most 4 per step).

    Returns
    -------
    seed : tf.Tensor, shape=(2,), int64
        Distinct for every (step, salt).
    """
    tf = _tf()
    return tf.stack([seed[0], seed[1] * 4 + salt])


# ----------------------------------------------------------------- (pitch, step, duration)
