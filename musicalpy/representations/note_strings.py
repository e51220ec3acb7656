"""Note / chord strings: music21-style names with durations, ``"C4"``, chords
``"C4.E4.G4"`` and :data:`REST_TOKEN`, one part (or all parts merged) at a time.

As token ids (:func:`~musicalpy.representations.token_sequences`) a token is the pair
``(string, duration in quarter notes)``, on a grid of 4 steps per quarter so that
durations stay few. The vocabulary is built from the data. Used by the WaveNet and the
token LSTM. Pitch names come from :mod:`musicalpy.names`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._config import check_int
from ..midi import DEFAULT_TEMPO, DEFAULT_VELOCITY
from ..names import PITCH_NAMES, name_to_pitch, pitch_to_name
from ._common import Encoding, _check_velocity, _grid, _Notes, _one_part, _one_piece, _table

__all__ = [
    "REST_TOKEN",
    "pitch_to_name",
    "name_to_pitch",
    "encode_note_strings",
    "decode_note_strings",
    "transpose_note_string_token",
]

#: Note-string token of a rest.
REST_TOKEN = "rest"


def encode_note_strings(
    notes: pd.DataFrame,
    *,
    part: str | None = None,
    merge_parts: bool = False,
    steps_per_quarter: int | None = None,
    tempo: float | None = None,
) -> pd.DataFrame:
    """Encode notes as music21-style strings with durations: ``"C4"``, chords
    ``"C4.E4.G4"`` (pitches in rising order, joined by '.') and :data:`REST_TOKEN`.

    Notes starting together (within one part, or across parts with
    ``merge_parts=True``) form one chord token (a pitch played twice counts once).
    Tokens follow each other without gaps: a chord lasts until its longest note ends
    or the next onset comes, whichever is first, and a rest token fills any silence,
    including the one before the first note. So a note still sounding when the next
    onset comes is cut there and the shorter notes of a chord are lengthened to the
    longest: a part of single notes and block chords comes back exactly, merged
    polyphony does not. Zero-length notes are left out.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of one piece.
    part : str, optional
        The part to encode; required when the table has several parts, unless
        ``merge_parts``.
    merge_parts : bool, default False
        Merge all parts into one sequence.
    steps_per_quarter : int, optional
        Snap starts and ends to this grid first (e.g. 4 or 12 for performed MIDI,
        which keeps the number of distinct durations small). Default: exact times.
    tempo : float, optional
        Quarter notes per minute used when the table has no beats (default 120).

    Returns
    -------
    tokens : pd.DataFrame
        Columns ``token`` (str) and ``duration`` (float, quarter notes).
    """
    notes = _one_piece(notes, "encode_note_strings")
    if not merge_parts:
        notes = _one_part(notes, part, "encode_note_strings")
    elif part is not None:
        raise ValueError("pass either part= or merge_parts=True, not both")
    return _note_strings(notes, steps_per_quarter=steps_per_quarter, tempo=tempo)


def _note_strings(notes: _Notes, *, steps_per_quarter: int | None = None, tempo: float | None = None) -> pd.DataFrame:
    if steps_per_quarter is None:
        start, end = notes.beats(tempo)
    else:
        steps_per_quarter = check_int("steps_per_quarter", steps_per_quarter)
        start_step, end_step = _grid(notes, steps_per_quarter, tempo)
        start, end = start_step / steps_per_quarter, end_step / steps_per_quarter
    sounding = end > start
    notes, start, end = notes.take(sounding), start[sounding], end[sounding]
    # Group onsets that differ only by float noise (beats from seconds).
    key = np.round(start, 9)
    onsets, group = np.unique(key, return_inverse=True)
    group_end = np.full(len(onsets), -np.inf)
    np.maximum.at(group_end, group, end)
    tokens: list[str] = []
    durations: list[float] = []
    cursor = 0.0
    order = np.lexsort((notes.pitch, group))
    split = np.split(notes.pitch[order], np.flatnonzero(np.diff(group[order])) + 1) if len(order) else []
    for index, (onset, pitches) in enumerate(zip(onsets.tolist(), split, strict=True)):
        if onset - cursor > 1e-9:
            tokens.append(REST_TOKEN)
            durations.append(onset - cursor)
        following = onsets[index + 1] if index + 1 < len(onsets) else np.inf
        stop = float(min(group_end[index], following))
        tokens.append(".".join(PITCH_NAMES[p] for p in dict.fromkeys(pitches.tolist())))
        durations.append(stop - onset)
        cursor = stop
    return pd.DataFrame({"token": pd.Series(tokens, dtype=object), "duration": np.array(durations, dtype=float)})


def decode_note_strings(
    tokens: pd.DataFrame | Sequence[str],
    durations: Sequence[float] | np.ndarray | None = None,
    *,
    default_duration: float = 0.5,
    tempo: float = DEFAULT_TEMPO,
    velocity: int = DEFAULT_VELOCITY,
    piece: str = "",
    part: str = "0",
    program: int = 0,
) -> pd.DataFrame:
    """Decode note/chord strings into a note table, laying tokens end to end from beat 0.

    Parameters
    ----------
    tokens : pd.DataFrame or sequence of str
        A DataFrame from :func:`encode_note_strings` (columns ``token``, ``duration``)
        or the token strings.
    durations : sequence of float, optional
        Quarter notes per token, when ``tokens`` is a sequence. Without them every
        token lasts ``default_duration`` (the fixed step of the classic
        notes-and-chords LSTM).
    default_duration : float, default 0.5
    tempo : float, default 120
        Quarter notes per minute, for the seconds.
    velocity : int, default 80
    piece, part : str
    program : int, default 0

    Raises
    ------
    ValueError
        For a token that is neither :data:`REST_TOKEN` nor pitch names joined by '.',
        or a duration that is not positive.
    """
    if isinstance(tokens, pd.DataFrame):
        if durations is not None:
            raise ValueError("durations come from the DataFrame's 'duration' column; do not pass both")
        durations = tokens["duration"].to_numpy(dtype=float)
        tokens = tokens["token"].tolist()
    else:
        tokens = list(tokens)
    if durations is None:
        if not (math.isfinite(default_duration) and default_duration > 0):
            raise ValueError(f"default_duration must be positive, got {default_duration!r}")
        durations = np.full(len(tokens), float(default_duration))
    durations = np.asarray(durations, dtype=float).reshape(-1)
    if len(durations) != len(tokens):
        raise ValueError(f"got {len(tokens)} tokens but {len(durations)} durations")
    if len(durations) and not (np.isfinite(durations).all() and (durations > 0).all()):
        raise ValueError("durations must be positive finite quarter lengths")
    starts = np.concatenate([[0.0], np.cumsum(durations)[:-1]]) if len(durations) else durations
    pitch: list[int] = []
    start: list[float] = []
    end: list[float] = []
    for token, onset, length in zip(tokens, starts.tolist(), durations.tolist(), strict=True):
        if token == REST_TOKEN:
            continue
        if not isinstance(token, str) or not token:
            raise ValueError(f"not a note/chord token: {token!r}")
        for name in token.split("."):
            pitch.append(name_to_pitch(name))
            start.append(onset)
            end.append(onset + length)
    return _table(
        np.array(pitch, dtype=np.int64),
        start_beat=np.array(start),
        end_beat=np.array(end),
        velocity=_check_velocity(velocity),
        tempo=tempo,
        piece=piece,
        part=part,
        program=program,
    )


def _vocabulary_tokens(frame: pd.DataFrame) -> list[tuple[str, float]]:
    """The ``(string, duration)`` pairs a vocabulary maps to ids."""
    # Durations come from a grid, so rounding only removes float noise; it keeps
    # 1/3-beat triplets apart from 0.333 written elsewhere.
    return list(zip(frame["token"].tolist(), np.round(frame["duration"].to_numpy(dtype=float), 6).tolist(), strict=True))


def _decode_vocabulary_tokens(tokens: list, **options: Any) -> pd.DataFrame:
    """Decode what a vocabulary gives back: ``(string, duration)`` pairs, or plain
    strings (a vocabulary built without durations) lasting ``default_duration``."""
    if tokens and not all(isinstance(t, tuple) and len(t) == 2 for t in tokens):
        return decode_note_strings([str(t) for t in tokens], **options)
    names = [t[0] for t in tokens]
    durations = [float(t[1]) for t in tokens]
    return decode_note_strings(names, durations, **options)


def transpose_note_string_token(token: Hashable, semitones: int) -> Hashable | None:
    """One note-string token moved by ``semitones``.

    Parameters
    ----------
    token : str or tuple
        A string (``"C4.E4"``, :data:`REST_TOKEN`) or a tuple whose first item is one,
        e.g. the ``(string, duration)`` pairs of token ids.
    semitones : int
        Positive moves up.

    Returns
    -------
    moved : str or tuple or None
        Of the same shape, every pitch moved and spelled by
        :func:`~musicalpy.names.pitch_to_name`; rests stay as they are; None when a
        pitch would leave 0-127.
    """
    if isinstance(token, tuple):
        moved = transpose_note_string_token(token[0], semitones)
        return None if moved is None else (moved, *token[1:])
    if token == REST_TOKEN:
        return token
    pitches = [name_to_pitch(name) + semitones for name in str(token).split(".")]
    if min(pitches) < 0 or max(pitches) > 127:
        return None
    return ".".join(pitch_to_name(p) for p in pitches)


ENCODING = Encoding(
    name="note_strings",
    encode=_note_strings,
    decode=decode_note_strings,
    per_part=True,
    merge_option="merge_parts",
    transpose_token=transpose_note_string_token,
    to_tokens=_vocabulary_tokens,
    from_tokens=_decode_vocabulary_tokens,
    token_options={"steps_per_quarter": 4},
)
