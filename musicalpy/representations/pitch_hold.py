"""Pitch / hold / rest: one token per grid step of one monophonic part.

A step holds the pitch (0-127) where a note starts, :data:`HOLD` while it goes on and
:data:`REST` where nothing sounds; the 130 tokens are a fixed alphabet
(:func:`pitch_hold_vocabulary`). Used by the HMMs and the token LSTM.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from .._config import check_int
from ..midi import DEFAULT_TEMPO, DEFAULT_VELOCITY
from ..names import pitch_to_name
from ._common import (
    Encoding,
    _as_int64,
    _check_n_steps,
    _check_velocity,
    _grid,
    _int_tokens,
    _moved_pitch,
    _Notes,
    _one_part,
    _one_piece,
    _skyline,
    _table,
)
from .vocabulary import Vocabulary

__all__ = [
    "HOLD",
    "REST",
    "N_PITCH_HOLD_TOKENS",
    "encode_pitch_hold",
    "decode_pitch_hold",
    "describe_pitch_hold",
    "pitch_hold_vocabulary",
    "transpose_pitch_hold_token",
]

#: Pitch/hold token meaning "the previous note goes on".
HOLD = 128
#: Pitch/hold token meaning "nothing sounds".
REST = 129
#: Size of the pitch/hold alphabet (pitches 0-127, HOLD, REST).
N_PITCH_HOLD_TOKENS = 130


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
    steps_per_quarter = check_int("steps_per_quarter", steps_per_quarter)
    n_steps = _check_n_steps(n_steps)
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
    steps_per_quarter = check_int("steps_per_quarter", steps_per_quarter)
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


def describe_pitch_hold(tokens: Sequence[int] | np.ndarray) -> list[str]:
    """Readable names of pitch/hold tokens, e.g. ``["C4", "HOLD", "E4", "REST"]``.

    The partner of :func:`~musicalpy.representations.events.describe_events` for this
    alphabet: a pitch token is named as :func:`musicalpy.names.pitch_to_name` spells it.

    Parameters
    ----------
    tokens : sequence of int or np.ndarray, shape (n_steps,)
        Pitch/hold tokens, each in ``0 .. N_PITCH_HOLD_TOKENS - 1``.

    Returns
    -------
    names : list of str, length n_steps
        One name per token, in order.

    Raises
    ------
    ValueError
        If a token is not an integer of the pitch/hold alphabet.
    """
    tokens = _int_tokens(tokens, "pitch/hold", N_PITCH_HOLD_TOKENS)
    special = {HOLD: "HOLD", REST: "REST"}
    return [special.get(token) or pitch_to_name(token) for token in tokens.tolist()]


def pitch_hold_vocabulary(*, start_end: bool = True, unk: bool = True) -> Vocabulary:
    """The fixed vocabulary of the pitch/hold/rest tokens (130 + reserved ids)."""
    return Vocabulary(range(N_PITCH_HOLD_TOKENS), start_end=start_end, unk=unk)


def transpose_pitch_hold_token(token: Hashable, semitones: int) -> int | None:
    """One pitch/hold token moved by ``semitones``.

    Parameters
    ----------
    token : int
        A pitch 0-127, :data:`HOLD` or :data:`REST`.
    semitones : int
        Positive moves up.

    Returns
    -------
    moved : int or None
        HOLD and REST stay as they are; a pitch moves, or gives None when it would
        leave 0-127.
    """
    token = int(token)
    if token in (HOLD, REST):
        return token
    return _moved_pitch(token, semitones)


ENCODING = Encoding(
    name="pitch_hold",
    encode=_pitch_hold,
    decode=decode_pitch_hold,
    per_part=True,
    vocabulary=pitch_hold_vocabulary,
    transpose_token=transpose_pitch_hold_token,
    to_tokens=_as_int64,
    from_tokens=decode_pitch_hold,
)
