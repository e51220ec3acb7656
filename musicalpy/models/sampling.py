"""Sampling primitives and the tutorial's (pitch, step, duration) sampler.

* :func:`check_sampling_options`, :func:`filter_logits` (temperature, top-k, nucleus
  top-p), :func:`sample_logits` and :func:`salted_seed`, from
  :mod:`musicalpy.models.logits` (where every sampler of the package draws).
* :func:`sample_features` and :func:`generate_notes` generate from the LSTMs of
  :mod:`musicalpy.models.lstm` that predict (pitch, step, duration): the whole
  generation is one compiled loop of :mod:`musicalpy.models.engine` that advances the
  LSTM cells one step per note, carrying ``(h, c)``, ``n_samples`` sequences side by
  side, where the TensorFlow tutorial calls ``model.predict`` on a 25-note window per
  note. Primers come from real held-out pieces (:func:`primer_windows`).

Token models sample with :func:`musicalpy.models.engine.sample_ids` (ids) and
:func:`musicalpy.models.engine.generate_notes` (a note table).

Importing this module does not import TensorFlow; its functions do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._config import check_int
from ..representations import decode_pitch_step_duration
from .logits import _tf, check_sampling_options, filter_logits, salted_seed, sample_logits

__all__ = [
    "check_sampling_options",
    "filter_logits",
    "sample_logits",
    "salted_seed",
    "primer_windows",
    "sample_features",
    "generate_notes",
]

#: Shortest duration a generated note gets, in seconds, so that every note sounds.
MIN_DURATION = 0.05

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
    from .engine import compiled_loop, stepper_for

    temperature, top_k, top_p = check_sampling_options(temperature, top_k, top_p)
    if (n_notes is None) == (seconds is None):
        raise ValueError("give exactly one of n_notes and seconds")
    if n_notes is not None:
        n_notes = check_int("n_notes", n_notes)
    if seconds is not None and not (isinstance(seconds, (int, float, np.number)) and math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"seconds must be a positive number, got {seconds!r}")
    if not (math.isfinite(min_duration) and min_duration > 0):
        raise ValueError(f"min_duration must be positive, got {min_duration!r}")
    stepper = stepper_for(model)
    missing = {"pitch", "step", "duration"} - set(stepper.output_names)
    if missing:
        raise ValueError(f"model {model.name!r} lacks output head(s) {sorted(missing)}; it has {stepper.output_names}")
    primer = _check_features_primer(primer, n_samples, stepper.window)
    heads = stepper.heads
    n_pitches = heads["pitch"].units if hasattr(heads["pitch"], "units") else None
    if n_pitches is not None and n_pitches > 128:
        raise ValueError(f"the pitch head has {n_pitches} classes; MIDI has 128")

    def choose(outputs, seed_pair, temperature, top_k, top_p, elapsed, limit):
        pitch = sample_logits(outputs["pitch"], salted_seed(seed_pair, 0), temperature, top_k, top_p)
        step = _rhythm_choice(tf, outputs, "step", heads["step"], salted_seed(seed_pair, 1), temperature, top_k, top_p)
        duration = _rhythm_choice(tf, outputs, "duration", heads["duration"], salted_seed(seed_pair, 2), temperature, top_k, top_p)
        duration = tf.maximum(duration, min_duration)
        elapsed = elapsed + step
        finished = (limit > 0) & (elapsed >= limit)
        return tf.stack([tf.cast(pitch, tf.float32), step, duration], axis=-1), finished, elapsed

    loop = compiled_loop(stepper, f"features/{min_duration}", choose)
    steps = n_notes if n_notes is not None else check_int("max_notes", max_notes)
    batch = primer.shape[0]
    result = loop(
        tf.constant(primer), tf.constant(steps), tf.constant(int(seed), tf.int64), tf.constant(temperature),
        tf.constant(top_k), tf.constant(top_p), tf.zeros([batch]), tf.constant(float(seconds or 0.0)),
    ).numpy().swapaxes(0, 1)
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
    from .engine import fixed_input_length

    primer_array = _check_features_primer(primer, len(samples), fixed_input_length(model))
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
    length = check_int("length", length)
    n_samples = check_int("n_samples", n_samples)
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


