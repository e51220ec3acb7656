"""Dependence between label sequences: mutual information, the uncertainty
coefficient, note coherence and what quantizing durations costs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "mutual_information",
    "uncertainty_coefficient",
    "COHERENCE_MEASURES",
    "note_coherence",
    "quantization_drift",
]

# --------------------------------------------------------- dependence between labels


def _labels(name: str, values: Any) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one label per item), got shape {array.shape}")
    if array.dtype.kind == "f" and np.isnan(array).any():
        raise ValueError(f"{name} holds NaN; drop the items without a label first")
    return array


def mutual_information(x: Any, y: Any) -> float:
    """Mutual information MI(x; y) in nats between two label sequences.

    The plug-in estimate from the joint counts (what ``sklearn.metrics.
    mutual_info_score`` computes): ``sum p(a, b) log(p(a, b) / (p(a) p(b)))``. It is 0
    for independent labels only in the limit; a finite sample of independent labels
    gives a small positive value.

    Parameters
    ----------
    x, y : array-like, shape=(n,)
        Discrete labels of the same items (any hashable numbers).

    Returns
    -------
    mi : float
        In nats, >= 0; divide by ``ln 2`` for bits.
    """
    x, y = _labels("x", x), _labels("y", y)
    if len(x) != len(y):
        raise ValueError(f"x and y must label the same items, got {len(x)} and {len(y)} labels")
    if len(x) == 0:
        raise ValueError("x and y are empty; mutual information needs at least one item")
    _, x_ids = np.unique(x, return_inverse=True)
    _, y_ids = np.unique(y, return_inverse=True)
    joint = np.zeros((x_ids.max() + 1, y_ids.max() + 1))
    np.add.at(joint, (x_ids, y_ids), 1)
    rows, columns = np.nonzero(joint)
    counts = joint[rows, columns]
    total = counts.sum()
    p_x, p_y = joint.sum(axis=1), joint.sum(axis=0)
    # same order of operations as scikit-learn, so the two agree to the last digits
    log_outer = -np.log(p_x[rows] * p_y[columns]) + math.log(p_x.sum()) + math.log(p_y.sum())
    share = counts / total
    terms = share * (np.log(counts) - math.log(total)) + share * log_outer
    terms = np.where(np.abs(terms) < np.finfo(terms.dtype).eps, 0.0, terms)
    return float(np.clip(terms.sum(), 0.0, None))


def uncertainty_coefficient(x: Any, given: Any) -> float:
    """Theil's uncertainty coefficient U(x | given) = MI(x; given) / H(x).

    The share of the entropy of ``x`` that knowing ``given`` removes: 0 when ``given``
    says nothing about ``x``, 1 when it determines ``x``. Notebook 02 asks it how much
    an HMM's Viterbi state tells about the position in the beat and the pitch.

    Parameters
    ----------
    x, given : array-like, shape=(n,)
        Discrete labels of the same items.

    Returns
    -------
    u : float
        In [0, 1]; NaN when ``x`` takes a single value (it has no uncertainty to remove).
    """
    from scipy.stats import entropy

    x = _labels("x", x)
    information = mutual_information(x, given)
    h = float(entropy(np.unique(x, return_counts=True)[1]))
    return information / h if h > 0 else math.nan


#: What :func:`note_coherence` returns, in order.
COHERENCE_MEASURES = (
    "MI(pitch; onset gap), bits",
    "MI(pitch; duration), bits",
    "onsets on the 16th grid",
    "notes starting with the previous",
)


def note_coherence(classes: np.ndarray, onsets: Any) -> dict[str, float]:
    """How much pitch and rhythm of generated notes depend on each other.

    In real four-part music they do: the bass opens each chord after a gap and the
    upper voices join it at gap 0, above it. A generator that draws rhythm and pitch
    from separate models has zero true dependence, so its mutual information is only
    the estimate's small-sample bias.

    Parameters
    ----------
    classes : np.ndarray, shape=(n_notes, 4)
        Note classes ``(onset gap class, pitch, duration class, velocity)`` (see
        :func:`musicalpy.representations.encode_note_classes`); gap class 0 is "with
        the previous note".
    onsets : array-like, shape=(n_notes,)
        The notes' onsets in beats (the real ones, before any rounding to classes).

    Returns
    -------
    dict
        The measures of :data:`COHERENCE_MEASURES`: MI(pitch; onset gap class) and
        MI(pitch; duration class) in bits, the share of onsets on the sixteenth grid
        and the share of notes with gap class 0.
    """
    classes = np.asarray(classes)
    onsets = np.asarray(onsets, dtype=float)
    if classes.ndim != 2 or classes.shape[1] != 4:
        raise ValueError(f"classes must have shape (n_notes, 4), got {classes.shape}")
    if onsets.shape != (len(classes),):
        raise ValueError(f"onsets must hold one time per note ({len(classes)}), got shape {onsets.shape}")
    to_bits = 1 / math.log(2)
    return dict(zip(COHERENCE_MEASURES, (
        mutual_information(classes[:, 1], classes[:, 0]) * to_bits,
        mutual_information(classes[:, 1], classes[:, 2]) * to_bits,
        float(np.mean(np.isclose(onsets * 4, np.round(onsets * 4)))),
        float(np.mean(classes[:, 0] == 0)),
    ), strict=True))


def quantization_drift(notes: pd.DataFrame, duration_classes: Sequence[float]) -> tuple[float, float]:
    """What rounding durations to classes does to quantized tokens, over a corpus.

    Parameters
    ----------
    notes : pd.DataFrame
        A note table with beats (any number of pieces and parts).
    duration_classes : sequence of float
        Duration classes in beats (see
        :func:`musicalpy.representations.encode_quantized_tokens`).

    Returns
    -------
    inexact : float
        Share of notes whose duration is not (to float precision) one of the classes.
    drift : float
        Mean over (piece, part) of the gap in beats between where the part really ends
        and where its decoded tokens end (rounding errors add up along a part).
    """
    from ..representations import encode_pieces, quantized_tokens_beats

    if notes.empty:
        raise ValueError("notes is empty; quantization drift needs at least one note")
    if not {"start_beat", "end_beat"} <= set(notes.columns):
        raise ValueError("notes needs start_beat/end_beat: quantization drift is measured in beats")
    durations = (notes["end_beat"] - notes["start_beat"]).to_numpy()
    inexact = ~np.isclose(durations[:, None], np.asarray(duration_classes)[None, :]).any(axis=1)
    real_ends = notes.groupby(["piece", "part"])["end_beat"].max()
    encoded = encode_pieces(notes, "quantized_tokens", duration_classes=duration_classes)
    gaps = [abs(real_ends[key] - quantized_tokens_beats(tokens, duration_classes)) for key, tokens in encoded.items()]
    return float(inexact.mean()), float(np.mean(gaps))


