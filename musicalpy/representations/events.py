"""Performance events: all parts merged into the 388 events of Oore et al. (2018).

NOTE_ON pitch (0-127), NOTE_OFF pitch (128-255), TIME_SHIFT of 10 ms to 1 s (256-355)
and VELOCITY bin (356-387), as in the Magenta performance RNN; a fixed alphabet
(:func:`event_vocabulary`). Used by the token LSTM and the event HMM.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from ..midi import DEFAULT_VELOCITY
from ._common import (
    Encoding,
    _as_int64,
    _check_velocity,
    _int_tokens,
    _moved_pitch,
    _Notes,
    _one_piece,
    _table,
    _to_steps,
    _velocity_classes,
)
from .vocabulary import Vocabulary

__all__ = [
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
    "transpose_event_token",
]

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


def transpose_event_token(token: Hashable, semitones: int) -> int | None:
    """One event token moved by ``semitones``.

    Parameters
    ----------
    token : int
        An event 0-387.
    semitones : int
        Positive moves up.

    Returns
    -------
    moved : int or None
        A NOTE_ON or NOTE_OFF of the moved pitch, or None when that pitch would leave
        0-127; TIME_SHIFT and VELOCITY events do not move.
    """
    token = int(token)
    for offset in (NOTE_ON_OFFSET, NOTE_OFF_OFFSET):
        if offset <= token < offset + 128:
            moved = _moved_pitch(token - offset, semitones)
            return None if moved is None else offset + moved
    return token


ENCODING = Encoding(
    name="events",
    encode=_events,
    decode=decode_events,
    per_part=False,
    vocabulary=event_vocabulary,
    transpose_token=transpose_event_token,
    to_tokens=_as_int64,
    from_tokens=decode_events,
)
