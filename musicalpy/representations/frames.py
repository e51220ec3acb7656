"""Frames: one 88-key binary vector per grid step, the JSB Chorales benchmark's encoding.

A frame says which piano keys (MIDI 21 = A0 .. 108 = C8) sound at one grid step, all
parts merged; with one step per quarter note these are exactly the frames of the
benchmark (Boulanger-Lewandowski et al., 2012), see :mod:`musicalpy.jsb`. Time runs
down the first axis, keys along the second, the layout frame models read
(``frames[t]`` is one frame). A frame cannot tell a held note from a repeated one: the
decoder reads every run of steps in which a key stays down as one held note, so
``encode_frames(decode_frames(f))`` gives ``f`` back exactly.

Unlike the piano roll (:mod:`.piano_roll`), which rounds each note to the nearest
step and keeps every note, a frame samples what sounds at each grid point (the
benchmark's rule: two eighth notes in one quarter leave only the first), and a note
outside the 88 keys is an error, because a frame that silently lost a note would score
a different piece. Decoding is the piano roll's run reading on the 88 keys.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._config import check_int
from ..midi import DEFAULT_TEMPO, DEFAULT_VELOCITY
from ._common import Encoding, _check_n_steps, _Notes, _one_piece
from .piano_roll import decode_piano_roll

__all__ = ["LOWEST_KEY", "N_KEYS", "encode_frames", "decode_frames", "check_frames"]

#: MIDI pitch of key 0 of a frame: A0, the piano's lowest key.
LOWEST_KEY = 21
#: Keys per frame: the piano's 88, MIDI 21..108.
N_KEYS = 88


def encode_frames(
    notes: pd.DataFrame,
    *,
    steps_per_quarter: int = 1,
    tempo: float | None = None,
    n_frames: int | None = None,
) -> np.ndarray:
    """Encode one piece, all parts merged, as 88-key binary frames.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of one piece; every pitch must be a piano key (21..108).
    steps_per_quarter : int, default 1
        Frames per quarter note (1 = the benchmark's quarter-note frames). Frame ``t``
        holds the notes that sound at beat ``t / steps_per_quarter`` (start <= beat <
        end), as the benchmark's frames were made: a note between two grid points
        leaves no trace, and notes on the grid are kept exactly.
    tempo : float, optional
        Quarter notes per minute used when the table has no beats (default 120).
    n_frames : int, optional
        Number of frames (pad with silent frames or cut). Default: up to the end of the
        last note, so trailing silence needs ``n_frames``.

    Returns
    -------
    frames : np.ndarray, shape=(n_frames, 88), dtype=bool
        ``frames[t, k]`` is True when MIDI pitch ``21 + k`` sounds at step ``t``.

    Raises
    ------
    ValueError
        When a pitch lies outside the 88 keys (the message names it), or for a bad
        ``steps_per_quarter``/``n_frames``.
    """
    return _frames(_one_piece(notes, "encode_frames"), steps_per_quarter=steps_per_quarter,
                   tempo=tempo, n_frames=n_frames)


def _frames(notes: _Notes, *, steps_per_quarter: int = 1, tempo: float | None = None,
            n_frames: int | None = None) -> np.ndarray:
    steps_per_quarter = check_int("steps_per_quarter", steps_per_quarter)
    n_frames = _check_n_steps(n_frames)
    outside = (notes.pitch < LOWEST_KEY) | (notes.pitch >= LOWEST_KEY + N_KEYS)
    if outside.any():
        pitches = sorted(set(notes.pitch[outside].tolist()))
        raise ValueError(
            f"frames hold the 88 piano keys (MIDI {LOWEST_KEY}..{LOWEST_KEY + N_KEYS - 1}); "
            f"the notes have pitch(es) {pitches[:5]} outside them"
        )
    start_beat, end_beat = notes.beats(tempo)
    # Frame t holds the notes sounding at beat t / steps_per_quarter (start <= t < end),
    # the rule the benchmark's frames were made by. The tolerance keeps a boundary that
    # is a grid point up to float error on that grid point.
    start = np.ceil(np.asarray(start_beat) * steps_per_quarter - 1e-6).astype(np.int64)
    end = np.ceil(np.asarray(end_beat) * steps_per_quarter - 1e-6).astype(np.int64)
    length = n_frames if n_frames is not None else int(end.max()) if len(end) else 0
    frames = np.zeros((length, N_KEYS), dtype=bool)
    for key, first, stop in zip((notes.pitch - LOWEST_KEY).tolist(), start.tolist(), end.tolist(), strict=True):
        frames[first:stop, key] = True
    return frames


def check_frames(frames: Any, name: str = "frames") -> np.ndarray:
    """Frames as a boolean array, checked: shape ``(n_frames, 88)``, values 0 or 1.

    Parameters
    ----------
    frames : array-like, shape=(n_frames, 88)
        Booleans, or integers/floats that are all 0 or 1.
    name : str, default "frames"
        What the caller calls the argument, for the error message.

    Returns
    -------
    frames : np.ndarray, shape=(n_frames, 88), dtype=bool

    Raises
    ------
    ValueError
        For another shape, or a value other than 0 and 1 (probabilities are not frames).
    """
    array = np.asarray(frames)
    if array.ndim != 2 or array.shape[1] != N_KEYS:
        raise ValueError(f"{name} must have shape (n_frames, {N_KEYS}), got {array.shape}")
    if array.dtype != bool:
        if not (np.issubdtype(array.dtype, np.number) and np.isin(array, (0, 1)).all()):
            raise ValueError(f"{name} must be binary (0/1 or bool); got values other than 0 and 1 ({array.dtype})")
        array = array.astype(bool)
    return array


def decode_frames(
    frames: np.ndarray,
    *,
    steps_per_quarter: int = 1,
    tempo: float = DEFAULT_TEMPO,
    velocity: int = DEFAULT_VELOCITY,
    piece: str = "",
    part: str = "0",
    program: int = 0,
) -> pd.DataFrame:
    """Decode 88-key frames into a note table, one held note per run of a key.

    Every run of consecutive frames in which a key is down becomes one note (repeated
    notes of one pitch merge: frames cannot tell them from a held note), so encoding
    the result with the same ``steps_per_quarter`` and ``n_frames=len(frames)`` gives
    ``frames`` back exactly.

    Parameters
    ----------
    frames : np.ndarray, shape=(n_frames, 88)
        Binary (bool or 0/1); a model's probabilities must be sampled or thresholded first.
    steps_per_quarter : int, default 1
    tempo : float, default 120
        Quarter notes per minute, for the ``start``/``end`` seconds.
    velocity : int, default 80
    piece, part : str
    program : int, default 0

    Returns
    -------
    notes : pd.DataFrame
        With ``start_beat``/``end_beat`` (step / steps_per_quarter) and seconds at
        ``tempo``, ordered by start then pitch.
    """
    frames = check_frames(frames)
    steps_per_quarter = check_int("steps_per_quarter", steps_per_quarter)
    return decode_piano_roll(frames.T.astype(np.uint8), lowest_pitch=LOWEST_KEY,
                             steps_per_quarter=steps_per_quarter, tempo=tempo, velocity=velocity,
                             piece=piece, part=part, program=program)


ENCODING = Encoding(name="frames", encode=_frames, decode=decode_frames, per_part=False)
