"""Helpers every encoding shares: the note columns as arrays, checks, the beat grid,
the highest-note line, velocity classes, the note table built back from decoded arrays,
and :class:`Encoding`, the entry an encoding module puts in the registry."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from .._config import check_int
from ..midi import DEFAULT_TEMPO, DEFAULT_VELOCITY, as_note_table

if TYPE_CHECKING:
    from .vocabulary import Vocabulary


@dataclass(frozen=True)
class Encoding:
    """What the registry knows of one encoding (see :mod:`musicalpy.representations.registry`).

    Attributes
    ----------
    name : str
        The name callers pass, e.g. ``"events"``.
    encode : callable
        ``encode(notes: _Notes, **options)``: one piece (or one part, when
        ``per_part``) already split into arrays; returns the encoded piece.
    decode : callable
        The public exact decoder: encoded piece -> note table.
    per_part : bool
        Whether :func:`~musicalpy.representations.encode_pieces` encodes every part
        apart (monophonic or per-voice encodings) or every piece with its parts merged.
    merge_option : str, optional
        The encoder option that turns a per-part encoding into a per-piece one
        (``"merge_parts"`` for note strings).
    vocabulary : callable, optional
        ``vocabulary() -> Vocabulary``: the fixed vocabulary of an encoding with a
        closed alphabet; None when the vocabulary is built from the data.
    transpose_token : callable, optional
        ``transpose_token(token, semitones) -> token or None``: one token moved by
        ``semitones``, None when a pitch leaves 0-127; None for encodings that are not
        token sequences.
    to_tokens : callable, optional
        Encoded piece -> the sequence of hashable tokens a :class:`Vocabulary` maps to
        ids. Set for the encodings :func:`~musicalpy.representations.token_sequences`
        understands.
    from_tokens : callable, optional
        ``from_tokens(tokens, **decoder_options)``: the tokens a vocabulary decodes ids
        to -> note table (inverse of ``to_tokens`` then ``encode``).
    token_options : mapping
        Encoder options that token id sequences use unless the caller says otherwise.
    """

    name: str
    encode: Callable[..., Any]
    decode: Callable[..., pd.DataFrame]
    per_part: bool
    merge_option: str | None = None
    vocabulary: Callable[[], Vocabulary] | None = None
    transpose_token: Callable[[Hashable, int], Hashable | None] | None = None
    to_tokens: Callable[[Any], Any] | None = None
    from_tokens: Callable[..., pd.DataFrame] | None = None
    token_options: Mapping[str, Any] = field(default_factory=dict)


class _Notes(NamedTuple):
    """The columns of one piece as numpy arrays (cheap to slice, unlike DataFrames)."""

    pitch: np.ndarray
    start: np.ndarray
    end: np.ndarray
    velocity: np.ndarray
    start_beat: np.ndarray | None
    end_beat: np.ndarray | None
    part: np.ndarray

    @classmethod
    def from_table(cls, table: pd.DataFrame) -> _Notes:
        has_beats = "start_beat" in table.columns and "end_beat" in table.columns
        return cls(
            table["pitch"].to_numpy(dtype=np.int64),
            table["start"].to_numpy(dtype=float),
            table["end"].to_numpy(dtype=float),
            table["velocity"].to_numpy(dtype=np.int64),
            table["start_beat"].to_numpy(dtype=float) if has_beats else None,
            table["end_beat"].to_numpy(dtype=float) if has_beats else None,
            table["part"].to_numpy(dtype=object),
        )

    def take(self, index: np.ndarray) -> _Notes:
        return _Notes(*(None if a is None else a[index] for a in self))

    @property
    def size(self) -> int:
        return len(self.pitch)

    def beats(self, tempo: float | None) -> tuple[np.ndarray, np.ndarray]:
        """Start and end in quarter notes: the beat columns, else seconds at ``tempo``.

        Beats count only when every note has them; a half-known grid would silently
        mix two clocks.
        """
        if self.start_beat is not None and np.isfinite(self.start_beat).all() and np.isfinite(self.end_beat).all():
            return self.start_beat, self.end_beat
        per_second = _check_tempo(tempo) / 60.0
        return self.start * per_second, self.end * per_second


# ------------------------------------------------------------------------------ checks


def _check_tempo(tempo: float | None) -> float:
    tempo = DEFAULT_TEMPO if tempo is None else tempo
    if not (isinstance(tempo, (int, float, np.number)) and math.isfinite(tempo) and tempo > 0):
        raise ValueError(f"tempo must be a positive number of quarter notes per minute, got {tempo!r}")
    return float(tempo)


def _check_int_at_most(name: str, value: Any, minimum: int, maximum: int) -> int:
    """:func:`check_int` with an upper bound too (velocities, pitches)."""
    value = check_int(name, value, minimum)
    if value > maximum:
        raise ValueError(f"{name} must be an integer {minimum}-{maximum}, got {value!r}")
    return value


def _check_velocity(velocity: Any) -> int:
    return _check_int_at_most("velocity", velocity, 1, 127)


def _check_n_steps(n_steps: Any) -> int | None:
    """A length in grid steps, or None for "up to the end of the last note"."""
    return None if n_steps is None else check_int("n_steps", n_steps, 0)


def _one_piece(notes: pd.DataFrame, what: str) -> _Notes:
    table = as_note_table(notes)
    pieces = pd.unique(table["piece"])
    if len(pieces) > 1:
        raise ValueError(
            f"{what} encodes one piece at a time, but the note table holds {len(pieces)} "
            f"pieces ({', '.join(map(repr, pieces[:3]))}...); use encode_pieces(notes, ...)"
        )
    return _Notes.from_table(table)


def _one_part(notes: _Notes, part: str | None, what: str) -> _Notes:
    parts = list(dict.fromkeys(notes.part))
    if part is None:
        if len(parts) > 1:
            raise ValueError(
                f"{what} encodes one part, but the notes hold {len(parts)} parts {parts}; "
                f"pass part=<name> or use encode_pieces(notes, ...) for every part"
            )
        return notes
    if str(part) not in parts:
        raise ValueError(f"part {part!r} is not in the notes; parts are {parts}")
    return notes.take(notes.part == str(part))


def _int_tokens(tokens: Any, name: str, n_tokens: int) -> np.ndarray:
    """Tokens as a 1-D int64 array, checked against the alphabet ``0..n_tokens-1``."""
    array = np.asarray(tokens)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{name} tokens must be a 1-D sequence of integers, got {array.dtype} of shape {array.shape}")
    array = array.astype(np.int64)
    bad = (array < 0) | (array >= n_tokens)
    if bad.any():
        raise ValueError(f"{name} tokens must lie in 0..{n_tokens - 1}; got {array[bad][0]} at position {int(np.flatnonzero(bad)[0])}")
    return array


def _as_int64(values: Any) -> np.ndarray:
    """An integer-token piece as the int64 array a vocabulary looks up in one step."""
    return np.asarray(values, dtype=np.int64)


# -------------------------------------------------------------------------------- grid


def _to_steps(beats: np.ndarray, steps_per_quarter: int) -> np.ndarray:
    # Round half up (not half to even) so that a note and its neighbour agree on a
    # boundary that falls exactly between two steps.
    return np.floor(np.asarray(beats, dtype=float) * steps_per_quarter + 0.5).astype(np.int64)


def _grid(notes: _Notes, steps_per_quarter: int, tempo: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Start and end step of every note; every note keeps at least one step."""
    start_beat, end_beat = notes.beats(tempo)
    start = _to_steps(start_beat, steps_per_quarter)
    end = np.maximum(_to_steps(end_beat, steps_per_quarter), start + 1)
    return start, end


def _skyline(start: np.ndarray, end: np.ndarray, pitch: np.ndarray, length: int) -> np.ndarray:
    """For each cell of an integer timeline, the index of the highest sounding note.

    Notes are painted from the lowest pitch up, so a higher note overwrites a lower one
    wherever they overlap; among equal pitches the later start wins. Cells where no note
    sounds hold -1.
    """
    owner = np.full(length, -1, dtype=np.int64)
    for index in np.lexsort((start, pitch)):
        owner[start[index] : end[index]] = index
    return owner


# ---------------------------------------------------------------------------- velocity


@cache
def _velocity_classes(n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Velocity -> class (for 0..127) and class -> representative velocity.

    Classes split 1..127 into ``n_classes`` runs of near-equal width; the representative
    is the median member of its class, so that encoding it gives its class back.
    """
    velocity = np.arange(128)
    classes = np.clip(((velocity - 1) * n_classes) // 127, 0, n_classes - 1)
    members = [velocity[1:][classes[1:] == c] for c in range(n_classes)]
    representative = np.array([m[(len(m) - 1) // 2] for m in members], dtype=np.int64)
    return classes, representative


def _check_velocity_classes(n_classes: Any) -> int:
    n_classes = check_int("n_velocity_classes", n_classes)
    if n_classes > 127:
        raise ValueError(f"n_velocity_classes must be at most 127 (one class per velocity), got {n_classes}")
    return n_classes


# ------------------------------------------------------------------------ note table


def _table(
    pitch: np.ndarray,
    *,
    start: np.ndarray | None = None,
    end: np.ndarray | None = None,
    start_beat: np.ndarray | None = None,
    end_beat: np.ndarray | None = None,
    velocity: np.ndarray | int = DEFAULT_VELOCITY,
    tempo: float | None = None,
    piece: str = "",
    part: str | np.ndarray = "0",
    program: int = 0,
) -> pd.DataFrame:
    """A note table from decoded arrays; seconds come from beats at ``tempo`` if absent
    (``part``: one name, or one per note)."""
    pitch = np.asarray(pitch, dtype=np.int64)
    columns: dict[str, Any] = {"piece": piece, "part": part, "program": program, "is_drum": False}
    columns["pitch"] = pitch
    if start is None:
        seconds_per_quarter = 60.0 / _check_tempo(tempo)
        start = np.asarray(start_beat, dtype=float) * seconds_per_quarter
        end = np.asarray(end_beat, dtype=float) * seconds_per_quarter
    columns["start"] = np.asarray(start, dtype=float)
    columns["end"] = np.asarray(end, dtype=float)
    columns["velocity"] = np.zeros(len(pitch), dtype=np.int64) + np.asarray(velocity, dtype=np.int64)
    if start_beat is not None:
        columns["start_beat"] = np.asarray(start_beat, dtype=float)
        columns["end_beat"] = np.asarray(end_beat, dtype=float)
    if not 0 <= program <= 127:
        raise ValueError(f"program must be 0-127, got {program}")
    return as_note_table(pd.DataFrame(columns, index=pd.RangeIndex(len(pitch))))


def _moved_pitch(pitch: int, semitones: int) -> int | None:
    """``pitch + semitones``, or None when that leaves the MIDI range 0-127."""
    moved = int(pitch) + int(semitones)
    return moved if 0 <= moved <= 127 else None
