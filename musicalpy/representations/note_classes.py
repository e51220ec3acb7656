"""Note classes: every note as four discrete features, all parts merged.

One row per note, ``(onset gap class, pitch, duration class, velocity)``, in the order
of :mod:`.note_rows` (by onset, then pitch). The onset gap is the time since the
previous note's onset (the first note's since beat 0); gap 0 means the note starts
with the previous one, as in a chord. Gaps and durations go to the nearest of a few
classes, so every column is a small alphabet: the form an HMM with one state and
factorized emissions (one distribution per column, :class:`musicalpy.hmm.HMM` with
several ``n_symbols``) trains on.

The decoder is exact for notes whose gaps and durations are classes; anything else
is moved to the nearest class, and an onset error carries over to the later notes
(gaps are summed back into onsets).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..midi import DEFAULT_TEMPO
from ._common import Encoding, _Notes, _one_piece
from .note_rows import _note_rows, decode_note_rows

__all__ = [
    "DEFAULT_GAP_CLASSES",
    "DEFAULT_NOTE_DURATION_CLASSES",
    "encode_note_classes",
    "decode_note_classes",
    "note_rows_to_classes",
]

#: Onset gaps (quarter notes) between consecutive notes: with the previous note (0),
#: a sixteenth to a dotted quarter, a half, a dotted half and a whole.
DEFAULT_GAP_CLASSES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
#: Note durations (quarter notes): the NES study's classes with the dotted quarter
#: (1.5) and dotted half (3.0) added, which the chorales use often.
DEFAULT_NOTE_DURATION_CLASSES = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 8.0, 16.0, 32.0)


def _check_classes(name: str, classes: Sequence[float], *, zero: bool) -> np.ndarray:
    values = np.asarray(classes, dtype=float)
    lowest_ok = (values >= 0) if zero else (values > 0)
    if values.ndim != 1 or len(values) == 0 or not np.isfinite(values).all() or not lowest_ok.all():
        bound = ">= 0" if zero else "> 0"
        raise ValueError(f"{name} must be a non-empty list of beats {bound}, got {classes!r}")
    if (np.diff(values) <= 0).any():
        raise ValueError(f"{name} must be strictly increasing, got {list(values)}")
    return values


def _nearest(values: np.ndarray, classes: np.ndarray) -> np.ndarray:
    # argmin takes the first of equal distances: a value halfway goes to the smaller class
    return np.abs(values[:, None] - classes[None, :]).argmin(axis=1)


def note_rows_to_classes(
    rows: np.ndarray,
    *,
    gap_classes: Sequence[float] = DEFAULT_GAP_CLASSES,
    duration_classes: Sequence[float] = DEFAULT_NOTE_DURATION_CLASSES,
) -> np.ndarray:
    """Turn note rows into note classes.

    Parameters
    ----------
    rows : np.ndarray, shape=(n_notes, 4)
        ``(time, pitch, duration, velocity)`` rows in beats, sorted by time
        (:func:`~musicalpy.representations.encode_note_rows` with ``unit="beats"``).
    gap_classes, duration_classes : sequence of float
        Strictly increasing classes in beats; gaps may include 0.

    Returns
    -------
    classes : np.ndarray, shape=(n_notes, 4), dtype=int64
        ``(gap class, pitch, duration class, velocity)``; each gap and duration goes to
        the index of its nearest class (the smaller class on a tie).
    """
    gaps_to = _check_classes("gap_classes", gap_classes, zero=True)
    durations_to = _check_classes("duration_classes", duration_classes, zero=False)
    rows = np.asarray(rows, dtype=float)
    if rows.size == 0:
        return np.zeros((0, 4), dtype=np.int64)
    if rows.ndim != 2 or rows.shape[1] != 4:
        raise ValueError(f"rows must have shape (n_notes, 4), got {rows.shape}")
    gaps = np.diff(rows[:, 0], prepend=0.0)
    if (gaps < 0).any():
        raise ValueError("rows must be sorted by time (column 0); encode_note_rows sorts them")
    return np.column_stack([
        _nearest(gaps, gaps_to),
        rows[:, 1].astype(np.int64),
        _nearest(rows[:, 2], durations_to),
        rows[:, 3].astype(np.int64),
    ]).astype(np.int64)


def _note_classes(
    notes: _Notes,
    *,
    gap_classes: Sequence[float] = DEFAULT_GAP_CLASSES,
    duration_classes: Sequence[float] = DEFAULT_NOTE_DURATION_CLASSES,
    tempo: float | None = None,
) -> np.ndarray:
    rows = _note_rows(notes, unit="beats", tempo=tempo)
    return note_rows_to_classes(rows, gap_classes=gap_classes, duration_classes=duration_classes)


def encode_note_classes(
    notes: pd.DataFrame,
    *,
    gap_classes: Sequence[float] = DEFAULT_GAP_CLASSES,
    duration_classes: Sequence[float] = DEFAULT_NOTE_DURATION_CLASSES,
    tempo: float | None = None,
) -> np.ndarray:
    """Encode one piece, all parts merged, as ``(gap class, pitch, duration class, velocity)``.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of one piece; beats from ``start_beat``/``end_beat``, else from the
        seconds at ``tempo`` (default 120).
    gap_classes : sequence of float, default :data:`DEFAULT_GAP_CLASSES`
        Onset gaps in beats, strictly increasing (0 allowed: a chord).
    duration_classes : sequence of float, default :data:`DEFAULT_NOTE_DURATION_CLASSES`
        Durations in beats, strictly increasing and positive.
    tempo : float, optional

    Returns
    -------
    classes : np.ndarray, shape=(n_notes, 4), dtype=int64
        Notes by onset, then pitch.
    """
    return _note_classes(_one_piece(notes, "encode_note_classes"), gap_classes=gap_classes,
                         duration_classes=duration_classes, tempo=tempo)


def decode_note_classes(
    classes: np.ndarray,
    *,
    gap_classes: Sequence[float] = DEFAULT_GAP_CLASSES,
    duration_classes: Sequence[float] = DEFAULT_NOTE_DURATION_CLASSES,
    tempo: float = DEFAULT_TEMPO,
    piece: str = "",
    part: str = "0",
) -> pd.DataFrame:
    """Decode note classes into a note table: onsets are the running sum of the gaps.

    Parameters
    ----------
    classes : np.ndarray, shape=(n_notes, 4)
        ``(gap class, pitch, duration class, velocity)`` integers, e.g. an HMM's sample.
    gap_classes, duration_classes : sequence of float
        The classes used to encode.
    tempo : float, default 120
        Quarter notes per minute, for the seconds.
    piece, part : str

    Returns
    -------
    pd.DataFrame
        A note table with beat columns; velocities clipped to 1-127.
    """
    gaps_to = _check_classes("gap_classes", gap_classes, zero=True)
    durations_to = _check_classes("duration_classes", duration_classes, zero=False)
    array = np.asarray(classes)
    if array.size == 0:
        array = np.zeros((0, 4), dtype=np.int64)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"classes must have shape (n_notes, 4), got {array.shape}")
    array = array.astype(np.int64)
    for column, name, n in ((0, "gap class", len(gaps_to)), (2, "duration class", len(durations_to))):
        bad = (array[:, column] < 0) | (array[:, column] >= n)
        if bad.any():
            at = int(np.flatnonzero(bad)[0])
            raise ValueError(f"note {at} has {name} {int(array[at, column])}; expected 0-{n - 1}")
    rows = np.column_stack([np.cumsum(gaps_to[array[:, 0]]), array[:, 1], durations_to[array[:, 2]], array[:, 3]])
    return decode_note_rows(rows, unit="beats", tempo=tempo, piece=piece, part=part)


ENCODING = Encoding(name="note_classes", encode=_note_classes, decode=decode_note_classes, per_part=False)
