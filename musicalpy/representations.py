"""Encodings of the note table for the models, each with an exact decoder.

Every encoder takes a note table (see :mod:`musicalpy.midi`) holding **one piece** and
every decoder gives a note table back; :func:`encode_pieces` runs an encoder over a
table of many pieces (and parts) so that training windows never cross a piece.

=========================  ===================================  ==========================
encoding                   functions                            used by
=========================  ===================================  ==========================
pitch / hold / rest        :func:`encode_pitch_hold`,           HMM, token LSTM
(monophonic, per part)     :func:`decode_pitch_hold`
performance events (388)   :func:`encode_events`,               token LSTM
(all parts merged)         :func:`decode_events`
note rows (time, pitch,    :func:`encode_note_rows`,            HMM, analysis
duration, velocity)        :func:`decode_note_rows`
piano roll (frames,        :func:`encode_piano_roll`,           VAE
onsets)                    :func:`decode_piano_roll`,
                           :func:`piano_roll_windows`,
                           :func:`fit_transposition`
(pitch, step, duration)    :func:`encode_pitch_step_duration`,  LSTM (TensorFlow tutorial)
                           :func:`decode_pitch_step_duration`
quantized (pitch, duration :func:`encode_quantized_tokens`,     per-voice HMM (NES study)
class, velocity class)     :func:`decode_quantized_tokens`
note / chord strings       :func:`encode_note_strings`,         WaveNet, token LSTM
("C4", "C4.E4.G4")         :func:`decode_note_strings`
=========================  ===================================  ==========================

Token encodings map to integer ids through one :class:`Vocabulary` class (PAD is always
id 0; START, END and UNK are optional reserved ids) that saves and loads as JSON. The
event and pitch/hold schemes have fixed vocabularies: :func:`event_vocabulary`,
:func:`pitch_hold_vocabulary`.

Time grids. Encodings on a beat grid (pitch/hold, piano roll, quantized tokens, note
strings) use ``start_beat``/``end_beat`` when every note has them, else the seconds at
``tempo`` quarter notes per minute (default 120). Their decoders give beats and the
seconds at ``tempo``. Rounding to a grid step is to the nearest step, and a note shorter
than one step keeps one step.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ._config import check_int as _check_int
from .midi import DEFAULT_TEMPO, DEFAULT_VELOCITY, as_note_table
from .names import PITCH_NAMES as _PITCH_NAMES
from .names import name_to_pitch, pitch_to_name

__all__ = [
    # pitch / hold / rest
    "HOLD",
    "REST",
    "N_PITCH_HOLD_TOKENS",
    "encode_pitch_hold",
    "decode_pitch_hold",
    "pitch_hold_vocabulary",
    # performance events
    "NOTE_ON_OFFSET",
    "NOTE_OFF_OFFSET",
    "TIME_SHIFT_OFFSET",
    "VELOCITY_OFFSET",
    "N_TIME_SHIFTS",
    "N_VELOCITY_BINS",
    "EVENT_STEPS_PER_SECOND",
    "N_EVENT_TOKENS",
    "encode_events",
    "decode_events",
    "describe_events",
    "event_vocabulary",
    # note rows
    "encode_note_rows",
    "decode_note_rows",
    # piano roll
    "encode_piano_roll",
    "decode_piano_roll",
    "piano_roll_windows",
    "fit_transposition",
    # (pitch, step, duration)
    "PITCH_STEP_DURATION_COLUMNS",
    "encode_pitch_step_duration",
    "decode_pitch_step_duration",
    # quantized tokens
    "REST_PITCH",
    "DEFAULT_DURATION_CLASSES",
    "DEFAULT_VELOCITY_CLASSES",
    "encode_quantized_tokens",
    "decode_quantized_tokens",
    # note / chord strings
    "REST_TOKEN",
    "pitch_to_name",
    "name_to_pitch",
    "encode_note_strings",
    "decode_note_strings",
    # shared
    "Vocabulary",
    "encode_pieces",
    # token ids <-> note tables
    "TOKEN_ENCODINGS",
    "feature_sequences",
    "token_sequences",
    "decode_token_ids",
    "transposition_table",
]

#: Token encodings :func:`token_sequences` and :func:`decode_token_ids` understand.
TOKEN_ENCODINGS = ("note_strings", "events", "pitch_hold")

# ---------------------------------------------------------------------------- constants

#: Pitch/hold token meaning "the previous note goes on".
HOLD = 128
#: Pitch/hold token meaning "nothing sounds".
REST = 129
#: Size of the pitch/hold alphabet (pitches 0-127, HOLD, REST).
N_PITCH_HOLD_TOKENS = 130

#: Event tokens, laid out as in the Magenta performance RNN (Oore et al. 2018).
NOTE_ON_OFFSET = 0
NOTE_OFF_OFFSET = 128
TIME_SHIFT_OFFSET = 256
VELOCITY_OFFSET = 356
#: Time shifts of 1..100 steps of 10 ms.
N_TIME_SHIFTS = 100
N_VELOCITY_BINS = 32
EVENT_STEPS_PER_SECOND = 100
N_EVENT_TOKENS = VELOCITY_OFFSET + N_VELOCITY_BINS  # 388

#: Column names of the (pitch, step, duration) features of the TensorFlow tutorial.
PITCH_STEP_DURATION_COLUMNS = ("pitch", "step", "duration")

#: Pitch value of a rest in quantized tokens.
REST_PITCH = 128
#: Duration classes (beats) of the per-instrument HMM study on NES music.
DEFAULT_DURATION_CLASSES = (0.25, 0.5, 0.75, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
#: Number of velocity classes of quantized tokens.
DEFAULT_VELOCITY_CLASSES = 6

#: Note-string token of a rest.
REST_TOKEN = "rest"

# ----------------------------------------------------------------------- shared helpers


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


def _check_tempo(tempo: float | None) -> float:
    tempo = DEFAULT_TEMPO if tempo is None else tempo
    if not (isinstance(tempo, (int, float, np.number)) and math.isfinite(tempo) and tempo > 0):
        raise ValueError(f"tempo must be a positive number of quarter notes per minute, got {tempo!r}")
    return float(tempo)


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_velocity(velocity: Any) -> int:
    if isinstance(velocity, bool) or not isinstance(velocity, (int, np.integer)) or not 1 <= velocity <= 127:
        raise ValueError(f"velocity must be an integer 1-127, got {velocity!r}")
    return int(velocity)


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
    part: str = "0",
    program: int = 0,
) -> pd.DataFrame:
    """A note table from decoded arrays; seconds come from beats at ``tempo`` if absent."""
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
    n_classes = _check_positive_int("n_velocity_classes", n_classes)
    if n_classes > 127:
        raise ValueError(f"n_velocity_classes must be at most 127 (one class per velocity), got {n_classes}")
    return n_classes


# ----------------------------------------------------------------- pitch / hold / rest


def encode_pitch_hold(
    notes: pd.DataFrame,
    *,
    part: str | None = None,
    steps_per_quarter: int = 4,
    tempo: float | None = None,
    n_steps: int | None = None,
) -> np.ndarray:
    """Encode one part as one token per time step: a pitch, :data:`HOLD` or :data:`REST`.

    A step holds the pitch (0-127) where a note starts, :data:`HOLD` (128) while it goes
    on and :data:`REST` (129) where nothing sounds. The part is made monophonic by
    keeping the **highest** note wherever notes overlap; a lower note that sounds on
    after a higher one ended is struck again (its pitch token reappears).

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of one piece.
    part : str, optional
        The part to encode; required when the table has several parts.
    steps_per_quarter : int, default 4
        Grid resolution (4 = sixteenth notes). Starts and ends are rounded to the
        nearest step; a note shorter than a step keeps one step.
    tempo : float, optional
        Quarter notes per minute used to read seconds when the table has no beats
        (default 120).
    n_steps : int, optional
        Length of the result: padded with :data:`REST` or cut (the notes crossing the
        end are cut). Default: up to the end of the last note.

    Returns
    -------
    tokens : np.ndarray, shape=(n_steps,), dtype=int64
        Leading rests are kept: step 0 is beat 0 of the piece.
    """
    notes = _one_part(_one_piece(notes, "encode_pitch_hold"), part, "encode_pitch_hold")
    return _pitch_hold(notes, steps_per_quarter=steps_per_quarter, tempo=tempo, n_steps=n_steps)


def _pitch_hold(notes: _Notes, *, steps_per_quarter: int = 4, tempo: float | None = None, n_steps: int | None = None) -> np.ndarray:
    steps_per_quarter = _check_positive_int("steps_per_quarter", steps_per_quarter)
    if n_steps is not None and (isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 0):
        raise ValueError(f"n_steps must be a non-negative integer or None, got {n_steps!r}")
    start, end = _grid(notes, steps_per_quarter, tempo)
    length = int(n_steps) if n_steps is not None else int(end.max()) if len(end) else 0
    owner = _skyline(start, np.minimum(end, length), notes.pitch, length)
    tokens = np.full(length, REST, dtype=np.int64)
    sounding = owner >= 0
    struck = sounding.copy()
    struck[1:] &= owner[1:] != owner[:-1]
    tokens[struck] = notes.pitch[owner[struck]]
    tokens[sounding & ~struck] = HOLD
    return tokens


def decode_pitch_hold(
    tokens: Sequence[int] | np.ndarray,
    *,
    steps_per_quarter: int = 4,
    tempo: float = DEFAULT_TEMPO,
    velocity: int = DEFAULT_VELOCITY,
    piece: str = "",
    part: str = "0",
    program: int = 0,
) -> pd.DataFrame:
    """Decode pitch/hold/rest tokens into a note table.

    Each pitch token starts a note that lasts through the :data:`HOLD` tokens after it.
    A :data:`HOLD` with no note to continue (at the start, or after a rest) is read as
    a rest.

    Parameters
    ----------
    tokens : sequence of int, shape=(n_steps,)
        Values 0-129.
    steps_per_quarter : int, default 4
    tempo : float, default 120
        Quarter notes per minute, for the ``start``/``end`` seconds.
    velocity : int, default 80
    piece, part : str
    program : int, default 0

    Returns
    -------
    notes : pd.DataFrame
        With ``start_beat``/``end_beat`` (step / steps_per_quarter) and seconds.
    """
    steps_per_quarter = _check_positive_int("steps_per_quarter", steps_per_quarter)
    tokens = _int_tokens(tokens, "pitch/hold", N_PITCH_HOLD_TOKENS)
    # A note runs from its pitch token to the next token that is not a HOLD.
    not_hold = np.flatnonzero(tokens != HOLD)
    ends = np.append(not_hold[1:], len(tokens))
    is_note = tokens[not_hold] < 128
    start, end = not_hold[is_note], ends[is_note]
    return _table(
        tokens[start],
        start_beat=start / steps_per_quarter,
        end_beat=end / steps_per_quarter,
        velocity=_check_velocity(velocity),
        tempo=tempo,
        piece=piece,
        part=part,
        program=program,
    )


def pitch_hold_vocabulary(*, start_end: bool = True, unk: bool = True) -> Vocabulary:
    """The fixed vocabulary of the pitch/hold/rest tokens (130 + reserved ids)."""
    return Vocabulary(range(N_PITCH_HOLD_TOKENS), start_end=start_end, unk=unk)


# ------------------------------------------------------------------ performance events


def encode_events(notes: pd.DataFrame) -> np.ndarray:
    """Encode all parts, merged, as the 388 performance events of Oore et al. (2018).

    Tokens: NOTE_ON pitch (0-127), NOTE_OFF pitch (128-255), TIME_SHIFT of 10 ms to
    1 s (256-355: token ``255 + k`` shifts ``k`` x 10 ms) and VELOCITY bin (356-387,
    32 bins over 1-127). Times are rounded to 10 ms; a note shorter than 10 ms keeps
    10 ms; gaps longer than 1 s take several TIME_SHIFTs; leading silence is kept. At
    one time, NOTE_OFFs come before NOTE_ONs and pitches go up; a VELOCITY event
    precedes a NOTE_ON only when the bin changes.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of one piece (parts are merged; the part names are lost).

    Returns
    -------
    tokens : np.ndarray, shape=(n_events,), dtype=int64
    """
    return _events(_one_piece(notes, "encode_events"))


def _events(notes: _Notes) -> np.ndarray:
    start = _to_steps(notes.start, EVENT_STEPS_PER_SECOND)
    end = np.maximum(_to_steps(notes.end, EVENT_STEPS_PER_SECOND), start + 1)
    velocity_bin = _velocity_classes(N_VELOCITY_BINS)[0][notes.velocity]
    n = notes.size
    times = np.concatenate([end, start])
    kinds = np.concatenate([np.zeros(n, np.int64), np.ones(n, np.int64)])  # off before on
    pitches = np.concatenate([notes.pitch, notes.pitch])
    bins = np.concatenate([velocity_bin, velocity_bin])
    order = np.lexsort((pitches, kinds, times))
    out: list[int] = []
    now = 0
    current_bin = -1
    columns = (times[order].tolist(), kinds[order].tolist(), pitches[order].tolist(), bins[order].tolist())
    for time, kind, pitch, vbin in zip(*columns, strict=True):
        gap = time - now
        while gap > 0:
            shift = min(gap, N_TIME_SHIFTS)
            out.append(TIME_SHIFT_OFFSET + shift - 1)
            gap -= shift
        now = time
        if kind:
            if vbin != current_bin:
                out.append(VELOCITY_OFFSET + vbin)
                current_bin = vbin
            out.append(NOTE_ON_OFFSET + pitch)
        else:
            out.append(NOTE_OFF_OFFSET + pitch)
    return np.array(out, dtype=np.int64)


def decode_events(
    tokens: Sequence[int] | np.ndarray,
    *,
    velocity: int = DEFAULT_VELOCITY,
    piece: str = "",
    part: str = "0",
    program: int = 0,
) -> pd.DataFrame:
    """Decode performance events into a note table (one part).

    Times come back on the 10 ms grid and velocities as their bin's representative
    value. A NOTE_OFF closes the earliest open note of its pitch (so overlapping notes
    of one pitch may swap their ends) and is ignored when none is open; a note still
    open at the end lasts to the last time reached, and at least 10 ms; a NOTE_ON and
    NOTE_OFF at the same time give no note.

    Parameters
    ----------
    tokens : sequence of int, shape=(n_events,)
        Values 0-387.
    velocity : int, default 80
        Velocity of notes before the first VELOCITY event.
    piece, part : str
    program : int, default 0

    Returns
    -------
    notes : pd.DataFrame
        Times in seconds, no beat columns.
    """
    tokens = _int_tokens(tokens, "event", N_EVENT_TOKENS)
    representative = _velocity_classes(N_VELOCITY_BINS)[1]
    current = _check_velocity(velocity)
    now = 0
    open_notes: dict[int, list[tuple[int, int]]] = {}
    rows: list[tuple[int, int, int, int]] = []
    for token in tokens.tolist():
        if token < NOTE_OFF_OFFSET:
            open_notes.setdefault(token, []).append((now, current))
        elif token < TIME_SHIFT_OFFSET:
            pitch = token - NOTE_OFF_OFFSET
            waiting = open_notes.get(pitch)
            if waiting:
                begin, vel = waiting.pop(0)
                if now > begin:
                    rows.append((pitch, begin, now, vel))
        elif token < VELOCITY_OFFSET:
            now += token - TIME_SHIFT_OFFSET + 1
        else:
            current = int(representative[token - VELOCITY_OFFSET])
    for pitch, waiting in open_notes.items():
        rows.extend((pitch, begin, max(now, begin + 1), vel) for begin, vel in waiting)
    array = np.array(rows, dtype=np.int64).reshape(-1, 4)
    return _table(
        array[:, 0],
        start=array[:, 1] / EVENT_STEPS_PER_SECOND,
        end=array[:, 2] / EVENT_STEPS_PER_SECOND,
        velocity=array[:, 3],
        piece=piece,
        part=part,
        program=program,
    )


def describe_events(tokens: Sequence[int] | np.ndarray) -> list[str]:
    """Readable names of event tokens, e.g. ``["VELOCITY(20)", "NOTE_ON(60)",
    "TIME_SHIFT(0.50s)", "NOTE_OFF(60)"]``; VELOCITY shows the bin's velocity."""
    tokens = _int_tokens(tokens, "event", N_EVENT_TOKENS)
    representative = _velocity_classes(N_VELOCITY_BINS)[1]
    names = []
    for token in tokens.tolist():
        if token < NOTE_OFF_OFFSET:
            names.append(f"NOTE_ON({token})")
        elif token < TIME_SHIFT_OFFSET:
            names.append(f"NOTE_OFF({token - NOTE_OFF_OFFSET})")
        elif token < VELOCITY_OFFSET:
            names.append(f"TIME_SHIFT({(token - TIME_SHIFT_OFFSET + 1) / EVENT_STEPS_PER_SECOND:.2f}s)")
        else:
            names.append(f"VELOCITY({representative[token - VELOCITY_OFFSET]})")
    return names


def event_vocabulary(*, start_end: bool = True, unk: bool = True) -> Vocabulary:
    """The fixed vocabulary of the performance events (388 + reserved ids)."""
    return Vocabulary(range(N_EVENT_TOKENS), start_end=start_end, unk=unk)


# --------------------------------------------------------------------------- note rows


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


# -------------------------------------------------------------------------- piano roll


def _check_range(lowest_pitch: Any, n_pitches: Any) -> tuple[int, int]:
    if isinstance(lowest_pitch, bool) or not isinstance(lowest_pitch, (int, np.integer)) or not 0 <= lowest_pitch <= 127:
        raise ValueError(f"lowest_pitch must be an integer 0-127, got {lowest_pitch!r}")
    n_pitches = _check_positive_int("n_pitches", n_pitches)
    if lowest_pitch + n_pitches > 128:
        raise ValueError(f"lowest_pitch + n_pitches must be at most 128 (MIDI pitches), got {lowest_pitch} + {n_pitches}")
    return int(lowest_pitch), n_pitches


def encode_piano_roll(
    notes: pd.DataFrame,
    *,
    lowest_pitch: int = 36,
    n_pitches: int = 48,
    steps_per_quarter: int = 4,
    tempo: float | None = None,
    out_of_range: str = "drop",
    with_onsets: bool = False,
    n_steps: int | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Encode all parts, merged, as a binary piano roll on a beat grid.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of one piece.
    lowest_pitch : int, default 36
        MIDI pitch of row 0 (36 = C2).
    n_pitches : int, default 48
        Number of rows: pitches ``lowest_pitch .. lowest_pitch + n_pitches - 1``.
    steps_per_quarter : int, default 4
        Columns per quarter note; starts and ends round to the nearest step and a
        note keeps at least one step.
    tempo : float, optional
        Quarter notes per minute used when the table has no beats (default 120).
    out_of_range : {"drop", "fold"}
        What happens to notes outside the rows: ``"drop"`` leaves them out;
        ``"fold"`` moves them by whole octaves into the range (needs
        ``n_pitches >= 12``). To move a whole piece instead, see
        :func:`fit_transposition`.
    with_onsets : bool, default False
        Also return the onset roll (1 where a note starts), which lets
        :func:`decode_piano_roll` separate repeated notes of one pitch.
    n_steps : int, optional
        Number of columns (pad with zeros or cut). Default: up to the end of the last
        note (dropped notes included, so the roll spans the piece).

    Returns
    -------
    frames : np.ndarray, shape=(n_pitches, n_steps), dtype=uint8
        1 where a pitch sounds.
    onsets : np.ndarray, shape=(n_pitches, n_steps), dtype=uint8
        Only with ``with_onsets=True``; returned as ``(frames, onsets)``.
    """
    return _piano_roll(
        _one_piece(notes, "encode_piano_roll"),
        lowest_pitch=lowest_pitch,
        n_pitches=n_pitches,
        steps_per_quarter=steps_per_quarter,
        tempo=tempo,
        out_of_range=out_of_range,
        with_onsets=with_onsets,
        n_steps=n_steps,
    )


def _piano_roll(
    notes: _Notes,
    *,
    lowest_pitch: int = 36,
    n_pitches: int = 48,
    steps_per_quarter: int = 4,
    tempo: float | None = None,
    out_of_range: str = "drop",
    with_onsets: bool = False,
    n_steps: int | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    lowest_pitch, n_pitches = _check_range(lowest_pitch, n_pitches)
    steps_per_quarter = _check_positive_int("steps_per_quarter", steps_per_quarter)
    if out_of_range not in ("drop", "fold"):
        raise ValueError(f"out_of_range must be 'drop' or 'fold', got {out_of_range!r}")
    if out_of_range == "fold" and n_pitches < 12:
        raise ValueError(f"out_of_range='fold' needs n_pitches >= 12 (one octave), got {n_pitches}")
    if n_steps is not None and (isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 0):
        raise ValueError(f"n_steps must be a non-negative integer or None, got {n_steps!r}")
    start, end = _grid(notes, steps_per_quarter, tempo)
    length = int(n_steps) if n_steps is not None else int(end.max()) if len(end) else 0
    row = notes.pitch - lowest_pitch
    if out_of_range == "fold":
        row = np.where(row < 0, row + 12 * ((-row + 11) // 12), row)
        row = np.where(row >= n_pitches, row - 12 * ((row - n_pitches + 12) // 12), row)
    keep = (row >= 0) & (row < n_pitches) & (start < length)
    frames = np.zeros((n_pitches, length), dtype=np.uint8)
    onsets = np.zeros((n_pitches, length), dtype=np.uint8)
    for r, s, e in zip(row[keep].tolist(), start[keep].tolist(), end[keep].tolist(), strict=True):
        frames[r, s:e] = 1
        onsets[r, s] = 1
    return (frames, onsets) if with_onsets else frames


def decode_piano_roll(
    frames: np.ndarray,
    onsets: np.ndarray | None = None,
    *,
    lowest_pitch: int = 36,
    steps_per_quarter: int = 4,
    tempo: float = DEFAULT_TEMPO,
    threshold: float = 0.5,
    velocity: int = DEFAULT_VELOCITY,
    piece: str = "",
    part: str = "0",
    program: int = 0,
) -> pd.DataFrame:
    """Decode a piano roll into a note table.

    Without ``onsets``, each run of consecutive active steps of a pitch becomes one
    note, so repeated notes of one pitch merge into a long note. With ``onsets``, a new
    note also starts at every active onset inside a run (onsets where the frame is off
    are ignored).

    Parameters
    ----------
    frames : np.ndarray, shape=(n_pitches, n_steps)
        Binary, or probabilities (a model's output).
    onsets : np.ndarray, shape=(n_pitches, n_steps), optional
    lowest_pitch : int, default 36
        MIDI pitch of row 0.
    steps_per_quarter : int, default 4
    tempo : float, default 120
        Quarter notes per minute, for the seconds.
    threshold : float, default 0.5
        A cell is active when its value is at least ``threshold``.
    velocity : int, default 80
    piece, part : str
    program : int, default 0

    Returns
    -------
    notes : pd.DataFrame
        With beat columns and seconds at ``tempo``.
    """
    frames = np.asarray(frames)
    if frames.ndim != 2:
        raise ValueError(f"frames must have shape (n_pitches, n_steps), got {frames.shape}")
    n_pitches, length = frames.shape
    lowest_pitch, n_pitches = _check_range(lowest_pitch, max(n_pitches, 1))
    steps_per_quarter = _check_positive_int("steps_per_quarter", steps_per_quarter)
    active = frames >= threshold
    previous = np.zeros_like(active)
    previous[:, 1:] = active[:, :-1]
    starts = active & ~previous
    if onsets is not None:
        onsets = np.asarray(onsets)
        if onsets.shape != frames.shape:
            raise ValueError(f"onsets must have the shape of frames {frames.shape}, got {onsets.shape}")
        starts |= active & (onsets >= threshold)
    # A note ends at the first later step that is off or starts another note; a column
    # of zeros appended to every row keeps that search inside the row.
    boundary = np.zeros((frames.shape[0], length + 1), dtype=bool)
    boundary[:, :length] = starts | ~active
    boundary[:, length] = True
    flat_boundaries = np.flatnonzero(boundary)
    rows, columns = np.nonzero(starts)
    flat_starts = rows * (length + 1) + columns
    flat_ends = flat_boundaries[np.searchsorted(flat_boundaries, flat_starts, side="right")]
    ends = flat_ends - rows * (length + 1)
    return _table(
        rows + lowest_pitch,
        start_beat=columns / steps_per_quarter,
        end_beat=ends / steps_per_quarter,
        velocity=_check_velocity(velocity),
        tempo=tempo,
        piece=piece,
        part=part,
        program=program,
    )


def piano_roll_windows(
    roll: np.ndarray,
    window_steps: int,
    *,
    hop_steps: int | None = None,
    pad_last: bool = False,
    skip_empty: bool = False,
) -> np.ndarray:
    """Cut one piece's roll into fixed-length windows along its last (time) axis.

    Cut each piece separately so that no window crosses two pieces::

        rolls = encode_pieces(notes, "piano_roll")            # {piece: roll}
        windows = np.concatenate([piano_roll_windows(r, 2 * 4 * 4) for r in rolls.values()])

    (two 4/4 bars at 4 steps per quarter = 32 steps). Stack frames and onsets first
    (``np.stack([frames, onsets])``) to cut both together.

    Parameters
    ----------
    roll : np.ndarray, shape=(..., n_steps)
    window_steps : int
        Steps per window.
    hop_steps : int, optional
        Steps between window starts; default ``window_steps`` (no overlap).
    pad_last : bool, default False
        Pad the end with zeros so that the last steps make a window too; otherwise a
        tail shorter than a window is left out.
    skip_empty : bool, default False
        Leave out windows in which nothing sounds.

    Returns
    -------
    windows : np.ndarray, shape=(n_windows, ..., window_steps)
    """
    window_steps = _check_positive_int("window_steps", window_steps)
    hop_steps = window_steps if hop_steps is None else _check_positive_int("hop_steps", hop_steps)
    roll = np.asarray(roll)
    if roll.ndim < 1:
        raise ValueError("roll must have a time axis (its last axis)")
    length = roll.shape[-1]
    if pad_last and length > 0:
        n_windows = 1 + max(0, -(-(length - window_steps) // hop_steps))
        needed = (n_windows - 1) * hop_steps + window_steps
        if needed > length:
            pad = [(0, 0)] * (roll.ndim - 1) + [(0, needed - length)]
            roll = np.pad(roll, pad)
    if roll.shape[-1] < window_steps:
        return np.zeros((0, *roll.shape[:-1], window_steps), dtype=roll.dtype)
    view = np.lib.stride_tricks.sliding_window_view(roll, window_steps, axis=-1)[..., ::hop_steps, :]
    windows = np.ascontiguousarray(np.moveaxis(view, -2, 0))
    if skip_empty and len(windows):
        windows = windows[windows.reshape(len(windows), -1).any(axis=1)]
    return windows


def fit_transposition(
    notes: pd.DataFrame,
    *,
    lowest_pitch: int = 36,
    n_pitches: int = 48,
    octaves_only: bool = False,
) -> int:
    """Semitones to add to every pitch so that a piece fits the piano-roll range.

    Among the shifts that keep the most notes inside
    ``lowest_pitch .. lowest_pitch + n_pitches - 1`` (all of them when the piece's
    span fits), the smallest in size wins, and downward on a tie.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table (one piece, usually).
    lowest_pitch : int, default 36
    n_pitches : int, default 48
    octaves_only : bool, default False
        Only consider whole octaves, which keeps the key.

    Returns
    -------
    shift : int
        Apply with ``notes.assign(pitch=notes["pitch"] + shift)``. 0 for no notes.
    """
    lowest_pitch, n_pitches = _check_range(lowest_pitch, n_pitches)
    pitch = as_note_table(notes)["pitch"].to_numpy(dtype=np.int64)
    if len(pitch) == 0:
        return 0
    shifts = np.arange(-int(pitch.min()), 128 - int(pitch.max()))
    if octaves_only:
        shifts = shifts[shifts % 12 == 0]
    shifted = pitch[None, :] + shifts[:, None]
    inside = ((shifted >= lowest_pitch) & (shifted < lowest_pitch + n_pitches)).sum(axis=1)
    best = min(zip(-inside, np.abs(shifts), shifts, strict=True))
    return int(best[2])


# ------------------------------------------------------------- (pitch, step, duration)


def encode_pitch_step_duration(notes: pd.DataFrame, *, as_frame: bool = False) -> np.ndarray | pd.DataFrame:
    """Encode all parts, merged, as the (pitch, step, duration) features of the
    TensorFlow "Generate music with an RNN" tutorial.

    Notes are sorted by start (then pitch); ``step`` is the start minus the previous
    note's start and ``duration`` is end minus start, in seconds. Unlike the tutorial,
    the first step is the first note's start (not 0), so leading silence survives.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of one piece.
    as_frame : bool, default False
        Return a DataFrame with columns ``pitch``, ``step``, ``duration``.

    Returns
    -------
    features : np.ndarray, shape=(n_notes, 3), dtype=float64, or pd.DataFrame
    """
    return _pitch_step_duration(_one_piece(notes, "encode_pitch_step_duration"), as_frame=as_frame)


def _pitch_step_duration(notes: _Notes, *, as_frame: bool = False) -> np.ndarray | pd.DataFrame:
    order = np.lexsort((notes.pitch, notes.start))
    start = notes.start[order]
    step = np.diff(start, prepend=0.0)
    features = np.column_stack([notes.pitch[order], step, notes.end[order] - start]).astype(float).reshape(-1, 3)
    if as_frame:
        frame = pd.DataFrame(features, columns=list(PITCH_STEP_DURATION_COLUMNS))
        frame["pitch"] = frame["pitch"].astype(np.int64)
        return frame
    return features


def decode_pitch_step_duration(
    features: np.ndarray | pd.DataFrame,
    *,
    velocity: int = DEFAULT_VELOCITY,
    piece: str = "",
    part: str = "0",
    program: int = 0,
) -> pd.DataFrame:
    """Decode (pitch, step, duration) features: starts are the cumulative steps.

    Parameters
    ----------
    features : np.ndarray, shape=(n_notes, 3), or pd.DataFrame
        A DataFrame needs the columns ``pitch``, ``step``, ``duration``. Pitches are
        rounded and clipped to 0-127 and negative steps and durations clipped to 0,
        because a model's predictions can stray there.
    velocity : int, default 80
    piece, part : str
    program : int, default 0
    """
    if isinstance(features, pd.DataFrame):
        missing = [c for c in PITCH_STEP_DURATION_COLUMNS if c not in features.columns]
        if missing:
            raise ValueError(f"features lack column(s) {missing}; have {list(features.columns)}")
        features = features[list(PITCH_STEP_DURATION_COLUMNS)].to_numpy(dtype=float)
    features = np.asarray(features, dtype=float)
    if features.size == 0:
        features = features.reshape(0, 3)
    if features.ndim != 2 or features.shape[1] != 3:
        raise ValueError(f"features must have shape (n_notes, 3), got {features.shape}")
    if not np.isfinite(features).all():
        raise ValueError("features hold NaN or infinite values")
    pitch = np.clip(np.rint(features[:, 0]), 0, 127).astype(np.int64)
    start = np.cumsum(np.maximum(features[:, 1], 0.0))
    end = start + np.maximum(features[:, 2], 0.0)
    return _table(pitch, start=start, end=end, velocity=_check_velocity(velocity), piece=piece, part=part, program=program)


# --------------------------------------------------------------------- quantized tokens


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


# ---------------------------------------------------------------- note / chord strings

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
        steps_per_quarter = _check_positive_int("steps_per_quarter", steps_per_quarter)
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
        tokens.append(".".join(_PITCH_NAMES[p] for p in dict.fromkeys(pitches.tolist())))
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


# -------------------------------------------------------------------------- vocabulary


def _normalize_token(token: Any) -> Hashable:
    """A JSON-friendly, hashable form: numpy scalars to Python, arrays and lists to tuples."""
    if isinstance(token, (str, bool)):
        return token
    if isinstance(token, np.generic):
        return token.item()
    if isinstance(token, (tuple, list, np.ndarray)):
        return tuple(_normalize_token(t) for t in token)
    return token


def _token_list(sequence: Any) -> list:
    """The tokens of one sequence, whatever container an encoder returned."""
    if isinstance(sequence, pd.DataFrame):
        return sequence["token"].tolist() if "token" in sequence.columns else [tuple(r) for r in sequence.itertuples(index=False)]
    if isinstance(sequence, np.ndarray):
        return [tuple(row) for row in sequence.tolist()] if sequence.ndim == 2 else sequence.tolist()
    return list(sequence)


def _to_json(token: Hashable) -> Any:
    if isinstance(token, tuple):
        return [_to_json(t) for t in token]
    if isinstance(token, (str, int, float)) or token is None:
        return token
    raise ValueError(f"token {token!r} of type {type(token).__name__} cannot be saved as JSON")


def _from_json(value: Any) -> Hashable:
    return tuple(_from_json(v) for v in value) if isinstance(value, list) else value


class Vocabulary:
    """Token <-> integer id, with reserved ids, for every token encoding.

    Ids: PAD is always 0; then START and END (when ``start_end``), then UNK (when
    ``unk``), then the tokens in the given order. Tokens are any hashable values: ints
    (pitch/hold, events), strings (note/chord strings), tuples (quantized tokens).

    Parameters
    ----------
    tokens : iterable of hashable
        Distinct tokens.
    start_end : bool, default True
        Reserve START and END ids, to frame pieces (``encode(..., add_start_end=True)``).
    unk : bool, default True
        Reserve an UNK id for tokens not in the vocabulary; without it, an unknown
        token raises ValueError.

    Examples
    --------
    >>> vocab = Vocabulary.from_sequences([["C4", "D4", "C4"]], min_count=2)
    >>> vocab.encode(["C4", "D4"], add_start_end=True).tolist()
    [1, 4, 3, 2]
    >>> vocab.decode([1, 4, 3, 2])
    ['C4']
    """

    PAD = "<pad>"
    START = "<start>"
    END = "<end>"
    UNK = "<unk>"
    _FORMAT = "musicalpy.Vocabulary"

    def __init__(self, tokens: Iterable[Hashable] = (), *, start_end: bool = True, unk: bool = True) -> None:
        self.start_end = bool(start_end)
        self.unk = bool(unk)
        reserved = [self.PAD] + ([self.START, self.END] if self.start_end else []) + ([self.UNK] if self.unk else [])
        self._id_to_token: list[Hashable] = list(reserved)
        self._token_to_id: dict[Hashable, int] = {t: i for i, t in enumerate(reserved)}
        self.n_reserved = len(reserved)
        for token in tokens:
            token = _normalize_token(token)
            if token in self._token_to_id:
                what = "a reserved token" if token in reserved else "given twice"
                raise ValueError(f"token {token!r} is {what}")
            self._token_to_id[token] = len(self._id_to_token)
            self._id_to_token.append(token)
        self._int_lookup = self._build_int_lookup()

    def _build_int_lookup(self) -> np.ndarray | None:
        """A dense id table for vocabularies of small non-negative ints (events,
        pitch/hold), so that encoding an int array is one vectorized lookup."""
        tokens = self.tokens
        if not tokens or not all(type(t) is int and 0 <= t < 1 << 16 for t in tokens):
            return None
        lookup = np.full(max(tokens) + 1, -1, dtype=np.int64)
        lookup[tokens] = np.arange(self.n_reserved, len(self), dtype=np.int64)
        return lookup

    @classmethod
    def from_sequences(
        cls,
        sequences: Iterable[Any] | Mapping[Any, Any],
        *,
        min_count: int = 1,
        max_size: int | None = None,
        start_end: bool = True,
        unk: bool = True,
    ) -> Vocabulary:
        """Build a vocabulary from encoded sequences, most frequent tokens first.

        Parameters
        ----------
        sequences : iterable of sequences, or mapping to sequences
            E.g. the dict of :func:`encode_pieces`. DataFrames of note strings count
            their ``token`` column; 2-D arrays count their rows as tuples.
        min_count : int, default 1
            Tokens seen fewer times are left out, so they encode as UNK.
        max_size : int, optional
            Keep at most this many tokens (besides the reserved ids).
        start_end, unk : bool
            See :class:`Vocabulary`.
        """
        min_count = _check_positive_int("min_count", min_count)
        if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, (int, np.integer)) or max_size < 0):
            raise ValueError(f"max_size must be a non-negative integer or None, got {max_size!r}")
        if isinstance(sequences, Mapping):
            sequences = sequences.values()
        counts: Counter = Counter()
        for sequence in sequences:
            counts.update(_normalize_token(t) for t in _token_list(sequence))
        # Counter keeps first-seen order among equal counts, so the order is reproducible.
        kept = [t for t, c in counts.most_common() if c >= min_count and t not in (cls.PAD, cls.START, cls.END, cls.UNK)]
        if max_size is not None:
            kept = kept[:max_size]
        return cls(kept, start_end=start_end, unk=unk)

    # -- sizes and lookups

    def __len__(self) -> int:
        return len(self._id_to_token)

    def __contains__(self, token: Any) -> bool:
        try:
            return token in self._token_to_id
        except TypeError:
            return _normalize_token(token) in self._token_to_id

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return self._id_to_token == other._id_to_token and (self.start_end, self.unk) == (other.start_end, other.unk)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self.tokens)} tokens + {self.n_reserved} reserved, start_end={self.start_end}, unk={self.unk})"

    @property
    def tokens(self) -> list[Hashable]:
        """The tokens, without the reserved ones, in id order."""
        return self._id_to_token[self.n_reserved :]

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def start_id(self) -> int | None:
        return 1 if self.start_end else None

    @property
    def end_id(self) -> int | None:
        return 2 if self.start_end else None

    @property
    def unk_id(self) -> int | None:
        return self.n_reserved - 1 if self.unk else None

    @property
    def special_ids(self) -> list[int]:
        """Ids of PAD, START, END and UNK (those that exist)."""
        return list(range(self.n_reserved))

    def id_of(self, token: Any) -> int:
        """The id of one token (UNK's id when unknown)."""
        return int(self.encode([token])[0])

    def token_of(self, token_id: int) -> Hashable:
        """The token of one id (reserved ids give ``"<pad>"``, ``"<start>"``...)."""
        if isinstance(token_id, bool) or not isinstance(token_id, (int, np.integer)) or not 0 <= token_id < len(self):
            raise ValueError(f"id must be an integer 0-{len(self) - 1}, got {token_id!r}")
        return self._id_to_token[token_id]

    # -- sequences

    def encode(self, tokens: Iterable[Any], *, add_start_end: bool = False) -> np.ndarray:
        """Ids of a token sequence; unknown tokens get the UNK id.

        Parameters
        ----------
        tokens : iterable of tokens
            A list, a 1-D array of ints, a 2-D array whose rows are tuple tokens, or a
            note-string DataFrame (its ``token`` column).
        add_start_end : bool, default False
            Frame the sequence with START and END.

        Returns
        -------
        ids : np.ndarray, shape=(n_tokens [+ 2],), dtype=int64

        Raises
        ------
        ValueError
            For an unknown token when the vocabulary has no UNK, or ``add_start_end``
            without START/END ids.
        """
        if add_start_end and not self.start_end:
            raise ValueError("add_start_end=True needs a vocabulary with start_end=True")
        ids = self._lookup_ints(tokens)
        if ids is None:
            table = self._token_to_id
            missing = -1
            found = []
            for token in _token_list(tokens):
                try:
                    found.append(table.get(token, missing))
                except TypeError:  # unhashable: a list or array standing for a tuple token
                    found.append(table.get(_normalize_token(token), missing))
            ids = np.array(found, dtype=np.int64)
        unknown = ids < 0
        if unknown.any():
            if not self.unk:
                at = int(np.flatnonzero(unknown)[0])
                raise ValueError(f"token {_token_list(tokens)[at]!r} at position {at} is not in the vocabulary, which has no UNK id")
            ids[unknown] = self.unk_id
        if add_start_end:
            ids = np.concatenate([[self.start_id], ids, [self.end_id]]).astype(np.int64)
        return ids

    def _lookup_ints(self, tokens: Any) -> np.ndarray | None:
        if self._int_lookup is None or not isinstance(tokens, np.ndarray) or tokens.ndim != 1 or not np.issubdtype(tokens.dtype, np.integer):
            return None
        tokens = tokens.astype(np.int64)
        inside = (tokens >= 0) & (tokens < len(self._int_lookup))
        ids = np.full(len(tokens), -1, dtype=np.int64)
        ids[inside] = self._int_lookup[tokens[inside]]
        return ids

    def encode_padded(
        self,
        sequences: Iterable[Any],
        *,
        length: int | None = None,
        add_start_end: bool = False,
    ) -> np.ndarray:
        """Encode several sequences into one array, padded at the end with PAD (0).

        Parameters
        ----------
        sequences : iterable of token sequences
        length : int, optional
            Columns of the result; default the longest sequence.
        add_start_end : bool, default False

        Returns
        -------
        ids : np.ndarray, shape=(n_sequences, length), dtype=int64

        Raises
        ------
        ValueError
            When a sequence is longer than ``length`` (cut windows first).
        """
        encoded = [self.encode(s, add_start_end=add_start_end) for s in sequences]
        longest = max((len(e) for e in encoded), default=0)
        if length is None:
            length = longest
        elif isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
            raise ValueError(f"length must be a non-negative integer or None, got {length!r}")
        elif longest > length:
            raise ValueError(f"a sequence has {longest} ids, more than length={length}")
        out = np.full((len(encoded), length), self.pad_id, dtype=np.int64)
        for row, ids in enumerate(encoded):
            out[row, : len(ids)] = ids
        return out

    def decode(self, ids: Iterable[int], *, skip_special: bool = True, stop_at_end: bool = True) -> list:
        """Tokens of an id sequence.

        Parameters
        ----------
        ids : iterable of int
        skip_special : bool, default True
            Leave out PAD, START, END and UNK (an UNK has no token to give back), so
            that ``decode(encode(tokens, add_start_end=True)) == tokens`` for known
            tokens. With False they come back as ``"<pad>"``, ``"<start>"``...
        stop_at_end : bool, default True
            Stop at the first END id (what a sampler produces after END is not part of
            the piece).

        Raises
        ------
        ValueError
            For an id outside ``0..len(self)-1``.
        """
        ids = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids).reshape(-1)
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"ids must be integers, got {ids.dtype}")
        bad = (ids < 0) | (ids >= len(self))
        if bad.any():
            raise ValueError(f"id {int(ids[bad][0])} at position {int(np.flatnonzero(bad)[0])} is outside 0..{len(self) - 1}")
        if stop_at_end and self.start_end:
            ends = np.flatnonzero(ids == self.end_id)
            if len(ends):
                ids = ids[: ends[0]]
        if skip_special:
            ids = ids[ids >= self.n_reserved]
        return [self._id_to_token[i] for i in ids.tolist()]

    # -- JSON

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (tuples become lists)."""
        return {
            "format": self._FORMAT,
            "version": 1,
            "start_end": self.start_end,
            "unk": self.unk,
            "tokens": [_to_json(t) for t in self.tokens],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Vocabulary:
        """Inverse of :meth:`to_dict` (lists become tuples)."""
        if not isinstance(data, Mapping) or data.get("format") != cls._FORMAT:
            raise ValueError(f"not a saved Vocabulary (expected format {cls._FORMAT!r})")
        if data.get("version") != 1:
            raise ValueError(f"unsupported Vocabulary version {data.get('version')!r}")
        return cls((_from_json(t) for t in data["tokens"]), start_end=data["start_end"], unk=data["unk"])

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the vocabulary as JSON; return the path.

        An existing file holding the same vocabulary is left as is; one holding
        anything else is kept (FileExistsError) unless ``overwrite=True``.
        """
        path = Path(path)
        if path.exists() and not overwrite:
            try:
                same = Vocabulary.load(path) == self
            except (ValueError, OSError):
                same = False
            if same:
                return path
            raise FileExistsError(f"{path}: exists and holds something else; pass overwrite=True to replace it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocabulary:
        """Read a vocabulary written by :meth:`save`.

        Raises
        ------
        FileNotFoundError
            When the file does not exist.
        ValueError
            When the file is not a saved vocabulary (the message names it).
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls.from_dict(data)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: not a readable Vocabulary file ({exc})") from exc


# -------------------------------------------------------------------------- per piece

# Encoding name -> (array-level encoder, encodes one part at a time).
_ENCODINGS: dict[str, tuple[Any, bool]] = {
    "pitch_hold": (_pitch_hold, True),
    "events": (_events, False),
    "note_rows": (_note_rows, False),
    "piano_roll": (_piano_roll, False),
    "pitch_step_duration": (_pitch_step_duration, False),
    "quantized_tokens": (_quantized_tokens, True),
    "note_strings": (_note_strings, True),
}


def encode_pieces(notes: pd.DataFrame, encoding: str, *, skip_drums: bool = True, **options: Any) -> dict[Any, Any]:
    """Encode every piece (and every part, for per-part encodings) of a note table.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of any number of pieces (column ``piece``).
    encoding : str
        One of ``"pitch_hold"``, ``"quantized_tokens"``, ``"note_strings"`` (per part;
        ``note_strings`` with ``merge_parts=True`` per piece), ``"events"``,
        ``"note_rows"``, ``"piano_roll"``, ``"pitch_step_duration"`` (per piece).
    skip_drums : bool, default True
        Leave out drum notes, whose pitches name instruments, not pitches.
    **options
        Keyword arguments of the matching ``encode_*`` function (not ``part``).

    Returns
    -------
    encoded : dict
        ``{piece: encoded}`` for per-piece encodings, ``{(piece, part): encoded}`` for
        per-part ones, in the order pieces (then parts) first appear. Cut training
        windows inside each value, so that none crosses two pieces.
    """
    if encoding not in _ENCODINGS:
        raise ValueError(f"encoding must be one of {sorted(_ENCODINGS)}, got {encoding!r}")
    if "part" in options:
        raise ValueError("encode_pieces encodes every part; do not pass part=")
    encoder, per_part = _ENCODINGS[encoding]
    if encoding == "note_strings":
        per_part = not options.pop("merge_parts", False)
    table = as_note_table(notes)
    if skip_drums:
        table = table[~table["is_drum"].to_numpy()]
    arrays = _Notes.from_table(table)
    piece_order = pd.unique(notes["piece"].astype(str)) if "piece" in notes.columns else pd.unique(table["piece"])
    pieces = table["piece"].to_numpy(dtype=object)
    result: dict[Any, Any] = {}
    for piece in piece_order:
        in_piece = arrays.take(pieces == piece)
        if in_piece.size == 0:
            continue
        if not per_part:
            result[piece] = encoder(in_piece, **options)
            continue
        for part in dict.fromkeys(in_piece.part.tolist()):
            result[(piece, part)] = encoder(in_piece.take(in_piece.part == part), **options)
    return result


# ----------------------------------------------------------------- token ids <-> note tables


def feature_sequences(notes: pd.DataFrame) -> dict[str, np.ndarray]:
    """The (pitch, step, duration) features of every piece, all parts merged.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of any number of pieces.

    Returns
    -------
    sequences : dict of str to np.ndarray, shape=(n_notes, 3), dtype=float32
        ``{piece: features}`` in corpus order (see
        :func:`musicalpy.representations.encode_pitch_step_duration`).
    """
    encoded = encode_pieces(notes, "pitch_step_duration")
    return {piece: np.asarray(values, dtype=np.float32) for piece, values in encoded.items()}


def _note_string_tokens(frame: pd.DataFrame) -> list[tuple[str, float]]:
    # Durations come from a grid, so rounding only removes float noise; it keeps
    # 1/3-beat triplets apart from 0.333 written elsewhere.
    return list(zip(frame["token"].tolist(), np.round(frame["duration"].to_numpy(dtype=float), 6).tolist(), strict=True))


def token_sequences(
    notes: pd.DataFrame,
    encoding: str = "note_strings",
    *,
    vocabulary: Vocabulary | None = None,
    add_start_end: bool = True,
    min_count: int = 1,
    **options: Any,
) -> tuple[dict[Hashable, np.ndarray], Vocabulary]:
    """Encode every piece (or part) as vocabulary ids.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of any number of pieces.
    encoding : {"note_strings", "events", "pitch_hold"}
        ``"note_strings"``: one token per note or chord *with its duration*, the pair
        ``("C4.E4.G4", 1.0)`` (per part; ``merge_parts=True`` merges them;
        ``steps_per_quarter`` defaults to 4 so durations stay few). ``"events"``: the
        388 performance events, all parts merged. ``"pitch_hold"``: one token per
        sixteenth, per part.
    vocabulary : Vocabulary, optional
        Use this one (tokens it lacks become UNK). Default: the fixed vocabulary of
        ``events`` and ``pitch_hold``; for note strings, one built from these notes
        (build it on the training split only, then pass it for the others).
    add_start_end : bool, default True
        Frame each sequence with START and END.
    min_count : int, default 1
        When building a note-string vocabulary, tokens seen fewer times become UNK.
    **options
        Keyword arguments of the encoder (see :func:`musicalpy.representations.encode_pieces`).

    Returns
    -------
    sequences : dict of key to np.ndarray, shape=(n_tokens,), dtype=int32
        ``{piece: ids}`` or ``{(piece, part): ids}``.
    vocabulary : Vocabulary
    """
    if encoding not in TOKEN_ENCODINGS:
        raise ValueError(f"encoding must be one of {TOKEN_ENCODINGS}, got {encoding!r}")
    if encoding == "note_strings":
        options.setdefault("steps_per_quarter", 4)
    raw = encode_pieces(notes, encoding, **options)
    if encoding == "note_strings":
        tokens = {key: _note_string_tokens(frame) for key, frame in raw.items()}
    else:
        tokens = {key: np.asarray(values, dtype=np.int64) for key, values in raw.items()}
    if vocabulary is None:
        if encoding == "events":
            vocabulary = event_vocabulary()
        elif encoding == "pitch_hold":
            vocabulary = pitch_hold_vocabulary()
        else:
            vocabulary = Vocabulary.from_sequences(tokens.values(), min_count=min_count)
    if add_start_end and not vocabulary.start_end:
        raise ValueError("add_start_end=True needs a vocabulary with START and END ids")
    sequences = {key: vocabulary.encode(values, add_start_end=add_start_end).astype(np.int32) for key, values in tokens.items()}
    return sequences, vocabulary


def decode_token_ids(
    ids: Sequence[int] | np.ndarray,
    vocabulary: Vocabulary,
    encoding: str = "note_strings",
    **options: Any,
) -> pd.DataFrame:
    """Decode vocabulary ids into a note table (inverse of :func:`token_sequences`).

    Special ids (PAD, START, UNK) are skipped and decoding stops at the first END, so
    a sampled sequence ends where the model ended the piece.

    Parameters
    ----------
    ids : sequence of int, shape=(n_tokens,)
    vocabulary : Vocabulary
    encoding : {"note_strings", "events", "pitch_hold"}
    **options
        Keyword arguments of the decoder (``tempo``, ``velocity``, ``piece``, ``part``,
        ``program``; ``steps_per_quarter`` for pitch/hold).
    """
    if encoding not in TOKEN_ENCODINGS:
        raise ValueError(f"encoding must be one of {TOKEN_ENCODINGS}, got {encoding!r}")
    tokens = vocabulary.decode(np.asarray(ids).astype(np.int64).reshape(-1))
    if encoding == "events":
        return decode_events(np.asarray(tokens, dtype=np.int64), **options)
    if encoding == "pitch_hold":
        return decode_pitch_hold(np.asarray(tokens, dtype=np.int64), **options)
    if tokens and not all(isinstance(t, tuple) and len(t) == 2 for t in tokens):
        return decode_note_strings([str(t) for t in tokens], **options)
    names = [t[0] for t in tokens]
    durations = [float(t[1]) for t in tokens]
    return decode_note_strings(names, durations, **options)


def _shift_note_string(token: Any, shift: int) -> Any:
    if isinstance(token, tuple):
        moved = _shift_note_string(token[0], shift)
        return None if moved is None else (moved, *token[1:])
    if token == REST_TOKEN:
        return token
    pitches = [name_to_pitch(name) + shift for name in str(token).split(".")]
    if min(pitches) < 0 or max(pitches) > 127:
        return None
    return ".".join(pitch_to_name(p) for p in pitches)


def _shift_int_token(token: int, shift: int, encoding: str) -> int | None:
    if encoding == "pitch_hold":
        if token in (HOLD, REST):
            return token
        moved = token + shift
        return moved if 0 <= moved <= 127 else None
    for offset in (NOTE_ON_OFFSET, NOTE_OFF_OFFSET):
        if offset <= token < offset + 128:
            moved = token - offset + shift
            return offset + moved if 0 <= moved <= 127 else None
    return token  # time shifts and velocities do not move


def transposition_table(vocabulary: Vocabulary, encoding: str, max_shift: int) -> np.ndarray:
    """Where every id goes when the music moves by -max_shift..+max_shift semitones.

    Parameters
    ----------
    vocabulary : Vocabulary
    encoding : {"note_strings", "events", "pitch_hold"}
    max_shift : int
        Largest transposition in semitones (>= 0).

    Returns
    -------
    table : np.ndarray, shape=(2 * max_shift + 1, len(vocabulary)), dtype=int32
        Row ``max_shift + s`` maps an id to the id of its token moved by ``s``
        semitones, or -1 when that token leaves 0-127 or the vocabulary. Special ids
        map to themselves.
    """
    if encoding not in TOKEN_ENCODINGS:
        raise ValueError(f"encoding must be one of {TOKEN_ENCODINGS}, got {encoding!r}")
    max_shift = _check_int("max_shift", max_shift, 0)
    table = np.full((2 * max_shift + 1, len(vocabulary)), -1, dtype=np.int32)
    table[:, : vocabulary.n_reserved] = np.arange(vocabulary.n_reserved)
    for token_id, token in enumerate(vocabulary.tokens, start=vocabulary.n_reserved):
        for row, shift in enumerate(range(-max_shift, max_shift + 1)):
            if encoding == "note_strings":
                moved = _shift_note_string(token, shift)
            else:
                moved = _shift_int_token(int(token), shift, encoding)
            if moved is not None and moved in vocabulary:
                table[row, token_id] = vocabulary.id_of(moved)
    return table
