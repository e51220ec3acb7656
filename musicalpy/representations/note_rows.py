"""Note rows: all parts merged as ``(time, pitch, duration, velocity)`` rows.

A plain numeric form of the note table, in seconds or beats, for the note HMM and the
analyses; not a token sequence, so it has no vocabulary or token transposition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..midi import DEFAULT_TEMPO
from ._common import Encoding, _Notes, _one_piece, _table

__all__ = ["encode_note_rows", "decode_note_rows"]


def encode_note_rows(notes: pd.DataFrame, *, unit: str = "seconds", tempo: float | None = None) -> np.ndarray:
    """Encode all parts, merged, as rows ``(time, pitch, duration, velocity)``.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of one piece.
    unit : {"seconds", "beats"}
        Unit of time and duration. ``"beats"`` uses the beat columns, else the seconds
        at ``tempo`` (default 120).
    tempo : float, optional

    Returns
    -------
    rows : np.ndarray, shape=(n_notes, 4), dtype=float64
        Sorted by time, then pitch.
    """
    return _note_rows(_one_piece(notes, "encode_note_rows"), unit=unit, tempo=tempo)


def _check_unit(unit: str) -> str:
    if unit not in ("seconds", "beats"):
        raise ValueError(f"unit must be 'seconds' or 'beats', got {unit!r}")
    return unit


def _note_rows(notes: _Notes, *, unit: str = "seconds", tempo: float | None = None) -> np.ndarray:
    start, end = (notes.start, notes.end) if _check_unit(unit) == "seconds" else notes.beats(tempo)
    order = np.lexsort((notes.pitch, start))
    rows = np.column_stack([start, notes.pitch, end - start, notes.velocity]).astype(float)
    return rows[order].reshape(-1, 4)


def decode_note_rows(
    rows: np.ndarray,
    *,
    unit: str = "seconds",
    tempo: float = DEFAULT_TEMPO,
    piece: str = "",
    part: str = "0",
    program: int = 0,
) -> pd.DataFrame:
    """Decode ``(time, pitch, duration, velocity)`` rows into a note table.

    Parameters
    ----------
    rows : np.ndarray, shape=(n_notes, 4)
        Pitches and velocities are rounded to integers (velocity clipped to 1-127).
    unit : {"seconds", "beats"}
        With ``"beats"`` the table gets beat columns and seconds at ``tempo``.
    tempo : float, default 120
    piece, part : str
    program : int, default 0
    """
    rows = np.asarray(rows, dtype=float)
    if rows.size == 0:
        rows = rows.reshape(0, 4)
    if rows.ndim != 2 or rows.shape[1] != 4:
        raise ValueError(f"rows must have shape (n_notes, 4), got {rows.shape}")
    if (rows[:, 2] < 0).any():
        raise ValueError("rows hold negative durations (column 2)")
    pitch = np.rint(rows[:, 1]).astype(np.int64)
    velocity = np.clip(np.rint(rows[:, 3]), 1, 127).astype(np.int64)
    times = {"start": rows[:, 0], "end": rows[:, 0] + rows[:, 2]}
    if _check_unit(unit) == "beats":
        times = {"start_beat": times["start"], "end_beat": times["end"]}
    return _table(pitch, **times, velocity=velocity, tempo=tempo, piece=piece, part=part, program=program)


ENCODING = Encoding(name="note_rows", encode=_note_rows, decode=decode_note_rows, per_part=False)
