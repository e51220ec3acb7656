"""Quantized tokens: one monophonic part as ``(pitch, duration class, velocity class)``
triples with rest tokens, as in the per-instrument HMM study on NES music.

Tokens are hashable tuples, so a :class:`~musicalpy.representations.Vocabulary` maps
them to ids; used by the per-voice HMMs.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from ..midi import DEFAULT_TEMPO
from ._common import (
    Encoding,
    _check_velocity_classes,
    _moved_pitch,
    _Notes,
    _one_part,
    _one_piece,
    _skyline,
    _table,
    _velocity_classes,
)

__all__ = [
    "REST_PITCH",
    "DEFAULT_DURATION_CLASSES",
    "DEFAULT_VELOCITY_CLASSES",
    "encode_quantized_tokens",
    "decode_quantized_tokens",
    "transpose_quantized_token",
    "quantized_tokens_beats",
]

#: Pitch value of a rest in quantized tokens.
REST_PITCH = 128
#: Duration classes (beats) of the per-instrument HMM study on NES music.
DEFAULT_DURATION_CLASSES = (0.25, 0.5, 0.75, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
#: Number of velocity classes of quantized tokens.
DEFAULT_VELOCITY_CLASSES = 6


def _check_duration_classes(duration_classes: Sequence[float]) -> np.ndarray:
    classes = np.asarray(duration_classes, dtype=float)
    if classes.ndim != 1 or len(classes) == 0 or not np.isfinite(classes).all() or (classes <= 0).any():
        raise ValueError(f"duration_classes must be a non-empty list of positive beats, got {duration_classes!r}")
    if (np.diff(classes) <= 0).any():
        raise ValueError(f"duration_classes must be strictly increasing, got {list(classes)}")
    return classes


def _monophonic_segments(notes: _Notes, tempo: float | None) -> tuple[np.ndarray, ...]:
    """The highest-note line of a part in continuous beats: (start, end, pitch, velocity)."""
    start, end = notes.beats(tempo)
    bounds = np.unique(np.concatenate([start, end]))
    owner = _skyline(np.searchsorted(bounds, start), np.searchsorted(bounds, end), notes.pitch, max(len(bounds) - 1, 0))
    if len(owner) == 0:
        empty = np.zeros(0)
        return empty, empty, empty.astype(np.int64), empty.astype(np.int64)
    changes = np.flatnonzero(np.diff(owner, prepend=-2) != 0)
    run_owner = owner[changes]
    run_end = np.append(changes[1:], len(owner))
    sounding = run_owner >= 0
    idx = run_owner[sounding]
    return bounds[changes[sounding]], bounds[run_end[sounding]], notes.pitch[idx], notes.velocity[idx]


def encode_quantized_tokens(
    notes: pd.DataFrame,
    *,
    part: str | None = None,
    duration_classes: Sequence[float] = DEFAULT_DURATION_CLASSES,
    n_velocity_classes: int = DEFAULT_VELOCITY_CLASSES,
    tempo: float | None = None,
) -> list[tuple[int, int, int]]:
    """Encode one part as ``(pitch, duration class, velocity class)`` tokens with rests.

    The part is made monophonic by keeping the **highest** note wherever notes overlap
    (a lower note sounding on after a higher one ended comes back as a new note). Each
    note's duration (beats) goes to the nearest class (the shorter on a tie); velocities
    go to ``n_velocity_classes`` near-equal bins over 1-127. Gaps, including the one
    before the first note, become rest tokens ``(REST_PITCH, class, 0)``, split greedily
    into the largest classes that fit. Positions follow the decoded durations: a gap is
    measured from where the previous token ends after quantizing, so rounding errors do
    not add up across rests; gaps shorter than half the smallest class vanish.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of one piece.
    part : str, optional
        Required when the table has several parts.
    duration_classes : sequence of float
        Strictly increasing durations in beats; default
        :data:`DEFAULT_DURATION_CLASSES` (0.25 ... 32).
    n_velocity_classes : int, default 6
    tempo : float, optional
        Quarter notes per minute used when the table has no beats (default 120).

    Returns
    -------
    tokens : list of tuple (int, int, int)
        Hashable, ready for :class:`Vocabulary`. Notes whose durations and gaps are
        sums of classes (every multiple of 0.25 beats, for the default) come back
        exactly.
    """
    notes = _one_part(_one_piece(notes, "encode_quantized_tokens"), part, "encode_quantized_tokens")
    return _quantized_tokens(notes, duration_classes=duration_classes, n_velocity_classes=n_velocity_classes, tempo=tempo)


def _quantized_tokens(
    notes: _Notes,
    *,
    duration_classes: Sequence[float] = DEFAULT_DURATION_CLASSES,
    n_velocity_classes: int = DEFAULT_VELOCITY_CLASSES,
    tempo: float | None = None,
) -> list[tuple[int, int, int]]:
    classes = _check_duration_classes(duration_classes)
    velocity_class = _velocity_classes(_check_velocity_classes(n_velocity_classes))[0]
    start, end, pitch, velocity = _monophonic_segments(notes, tempo)
    half_smallest = classes[0] / 2
    tokens: list[tuple[int, int, int]] = []
    cursor = 0.0
    for s, e, p, v in zip(start.tolist(), end.tolist(), pitch.tolist(), velocity.tolist(), strict=True):
        gap = s - cursor
        while gap >= half_smallest:
            index = int(np.searchsorted(classes, gap + half_smallest, side="right")) - 1
            tokens.append((REST_PITCH, index, 0))
            cursor += classes[index]
            gap -= classes[index]
        index = int(np.argmin(np.abs(classes - (e - s))))
        tokens.append((int(p), index, int(velocity_class[v])))
        cursor += classes[index]
    return tokens


def decode_quantized_tokens(
    tokens: Sequence[Sequence[int]] | np.ndarray,
    *,
    duration_classes: Sequence[float] = DEFAULT_DURATION_CLASSES,
    n_velocity_classes: int = DEFAULT_VELOCITY_CLASSES,
    tempo: float = DEFAULT_TEMPO,
    piece: str = "",
    part: str = "0",
    program: int = 0,
) -> pd.DataFrame:
    """Decode ``(pitch, duration class, velocity class)`` tokens into a note table.

    Tokens are laid end to end from beat 0; rests (pitch :data:`REST_PITCH`) advance
    the time. Velocities come back as their class's representative value.

    Parameters
    ----------
    tokens : sequence of (int, int, int), or np.ndarray, shape=(n_tokens, 3)
    duration_classes : sequence of float
        The classes used to encode.
    n_velocity_classes : int, default 6
    tempo : float, default 120
        Quarter notes per minute, for the seconds.
    piece, part : str
    program : int, default 0
    """
    classes = _check_duration_classes(duration_classes)
    n_velocity_classes = _check_velocity_classes(n_velocity_classes)
    array = np.asarray(tokens, dtype=np.int64) if len(tokens) else np.zeros((0, 3), np.int64)
    if array.ndim != 2 or array.shape[1] != 3:
        raise ValueError(f"quantized tokens must be (pitch, duration class, velocity class) triples, got shape {array.shape}")
    pitch, duration, velocity = array.T
    checks = [
        ((pitch < 0) | (pitch > REST_PITCH), f"pitch 0-{REST_PITCH}"),
        ((duration < 0) | (duration >= len(classes)), f"duration class 0-{len(classes) - 1}"),
        ((velocity < 0) | (velocity >= n_velocity_classes), f"velocity class 0-{n_velocity_classes - 1}"),
    ]
    for bad, expected in checks:
        if bad.any():
            at = int(np.flatnonzero(bad)[0])
            raise ValueError(f"quantized token {tuple(array[at].tolist())} at position {at} needs {expected}")
    length = classes[duration]
    end = np.cumsum(length)
    start = end - length
    is_note = pitch != REST_PITCH
    return _table(
        pitch[is_note],
        start_beat=start[is_note],
        end_beat=end[is_note],
        velocity=_velocity_classes(n_velocity_classes)[1][velocity[is_note]],
        tempo=tempo,
        piece=piece,
        part=part,
        program=program,
    )


def quantized_tokens_beats(
    tokens: Sequence[Sequence[int]] | np.ndarray,
    duration_classes: Sequence[float] = DEFAULT_DURATION_CLASSES,
) -> float:
    """Beats a part's quantized tokens cover when laid end to end, rests included.

    Where :func:`decode_quantized_tokens` puts the end of the part; compared with the
    part's real end it measures how far rounding to the classes has moved it.

    Parameters
    ----------
    tokens : sequence of (int, int, int), or np.ndarray, shape=(n_tokens, 3)
        ``(pitch, duration class, velocity class)`` triples.
    duration_classes : sequence of float
        The classes used to encode.

    Returns
    -------
    beats : float
        0 for no tokens.
    """
    classes = _check_duration_classes(duration_classes)
    durations = np.asarray([token[1] for token in tokens], dtype=np.int64)
    if ((durations < 0) | (durations >= len(classes))).any():
        raise ValueError(f"tokens hold duration classes outside 0-{len(classes) - 1}")
    return float(classes[durations].sum())


def transpose_quantized_token(token: Hashable, semitones: int) -> tuple[int, int, int] | None:
    """One quantized token moved by ``semitones``.

    Parameters
    ----------
    token : tuple (int, int, int)
        ``(pitch, duration class, velocity class)``; pitch :data:`REST_PITCH` is a rest.
    semitones : int
        Positive moves up.

    Returns
    -------
    moved : tuple (int, int, int) or None
        Rests stay as they are; a note moves, or gives None when its pitch would leave
        0-127. The classes never change.
    """
    pitch, duration, velocity = (int(value) for value in token)
    if pitch == REST_PITCH:
        return (pitch, duration, velocity)
    moved = _moved_pitch(pitch, semitones)
    return None if moved is None else (moved, duration, velocity)


ENCODING = Encoding(
    name="quantized_tokens",
    encode=_quantized_tokens,
    decode=decode_quantized_tokens,
    per_part=True,
    transpose_token=transpose_quantized_token,
)
