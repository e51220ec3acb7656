"""Vertical harmony of piano rolls: the share of dissonant simultaneous pitch pairs.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "DISSONANT_INTERVALS",
    "vertical_dissonance",
]

#: Intervals (semitones mod 12) that :func:`vertical_dissonance` counts as dissonant:
#: seconds, the tritone, sevenths.
DISSONANT_INTERVALS = (1, 2, 6, 10, 11)


# ------------------------------------------------------------------ piano rolls


def vertical_dissonance(rolls: np.ndarray, *, threshold: float = 0.5) -> float:
    """Share of simultaneous pitch pairs that form a dissonant interval.

    For every time step, every pair of sounding pitches counts once; a pair is
    dissonant when its interval modulo 12 is in :data:`DISSONANT_INTERVALS` (seconds,
    tritone, sevenths and their compounds). Four-part chorales use these mostly as
    passing and suspended notes, so a low rate is one sign that voices agree.

    Parameters
    ----------
    rolls : np.ndarray, shape=(..., n_pitches, n_steps)
        Piano rolls (one or a batch), rows consecutive semitones.
    threshold : float, default 0.5
        A cell sounds when its value is at least this.

    Returns
    -------
    rate : float
        In [0, 1]; NaN when no step has two sounding pitches.
    """
    active = np.asarray(rolls) >= threshold
    if active.ndim < 2:
        raise ValueError(f"rolls must have shape (..., n_pitches, n_steps), got {active.shape}")
    n_pitches = active.shape[-2]
    # Columns as rows: (n_columns, n_pitches).
    columns = np.moveaxis(active, -2, -1).reshape(-1, n_pitches).astype(np.int64)
    # pair_counts[d] = number of sounding pairs d semitones apart, over all columns.
    pair_counts = np.array([(columns[:, d:] * columns[:, : n_pitches - d]).sum() for d in range(1, n_pitches)])
    total = pair_counts.sum()
    if total == 0:
        return math.nan
    distances = np.arange(1, n_pitches)
    dissonant = np.isin(distances % 12, DISSONANT_INTERVALS)
    return float(pair_counts[dissonant].sum() / total)
