"""The four-voice chorale grid: Soprano, Alto, Tenor and Bass on sixteenth-note steps.

Each voice holds, at every step, the pitch of a note that starts there (0-127),
:data:`HOLD` while its note goes on, or :data:`REST`; so a held half note and two
repeated quarters of one pitch differ. Every step also knows its place in the bar (from
the score's bar lines, the corpus's ``bar_start`` column, see :func:`bar_positions`; or
from a time signature and an anacrusis, :func:`step_positions`) and whether
it lies under a fermata (the ``fermata`` column of the note table, see
:func:`musicalpy.corpus.mark_fermatas`; tables without the column, such as
``load_corpus("jsb_voices")``, which has no fermatas, read as no fermata).

Tokens
------
:func:`grid_to_tokens` writes a grid **time-major**: START, then for every step a
*frame* token ``"|<position>"`` (``"|<position>F"`` under a fermata) followed by the
soprano, alto, tenor and bass values, then END::

    START |0 S A T B |1 S A T B ... END

Why this order: a chord is written from the top down, so every lower voice is
predicted knowing the voices above it at the same instant (the alto knows the
soprano's note, the bass the whole upper chord), which is how a harmonizer reads a
melody, and the soprano comes right after the frame, so forcing the frame and soprano
tokens of a given melody leaves exactly the alto, tenor and bass to sample. The frame token carries the step's
beat position and fermata *in the stream*, so the per-step inputs need no second
channel when sampling: an unconditioned model writes its own bar lines and fermatas
and a harmonizer has them forced from the melody. END after a complete step lets a
generated chorale end by itself, and the fermata frames before it teach where it may.
With 5 tokens per step a 4/4 bar is 80 tokens; the WaveNet's receptive field is sized
on that (:data:`TOKENS_PER_STEP`).

What the grid cannot hold
-------------------------
A note whose start or end is not on a sixteenth (triplets, thirty-seconds), two
overlapping notes in one voice (the higher is kept, as in :mod:`.pitch_hold`), and any
part other than the four voices (instrumental parts of 19 chorales, the second soprano
of bwv27.6). On music21's 371 chorales :func:`grid_losses` counted **5,464 of 90,775
notes (6.0%)** the grid cannot hold (measured on 2026-12-01 and again on 2026-12-06):
5,449 in parts outside the four voices, and only **15** voice notes off the sixteenth
grid (thirty-seconds in the soprano of bwv36.4-2, three times in the corpus, and of
bwv432) or overlapping inside a voice (a tenor note of bwv362); every other note
round-trips exactly (pitch, start, end and voice). The tests check it in parts:
``tests/test_chorale_grid.py`` the 90,775 and 5,449 and the losses of each chorale
that has any, ``tests/test_satb_steps.py`` the 15 of 85,152 notes over all 370
four-voice chorales. ``grid_losses(corpus.notes, corpus.pieces)`` gives the number for
the corpus in use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Sequence
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from .._config import check_int
from ..midi import DEFAULT_VELOCITY
from ..names import VOICES
from ._common import Encoding, _check_tempo, _Notes, _table, _to_steps
from .pitch_hold import HOLD, REST
from .vocabulary import Vocabulary

__all__ = [
    "HOLD",
    "REST",
    "STEPS_PER_QUARTER",
    "TOKENS_PER_STEP",
    "MAX_STEPS_PER_BAR",
    "ChoraleGrid",
    "step_positions",
    "bar_positions",
    "encode_chorale_grid",
    "decode_chorale_grid",
    "encode_chorales",
    "grid_losses",
    "grid_to_tokens",
    "tokens_to_grid",
    "chorale_grid_vocabulary",
    "transpose_chorale_grid_token",
    "token_roles",
    "grid_grammar",
]

#: Grid steps per quarter note (sixteenth notes).
STEPS_PER_QUARTER = 4
#: Tokens per grid step: the frame, then S, A, T, B.
TOKENS_PER_STEP = 1 + len(VOICES)
#: Longest bar the fixed vocabulary has frame tokens for (8 quarter notes).
MAX_STEPS_PER_BAR = 8 * STEPS_PER_QUARTER

_HOLD_TOKEN = "HOLD"
_REST_TOKEN = "REST"


@dataclasses.dataclass(frozen=True)
class ChoraleGrid:
    """Four voices on a step grid, with each step's bar position and fermata.

    Attributes
    ----------
    voices : np.ndarray, shape=(n_steps, 4), dtype=int64
        Per step and voice (S, A, T, B): a pitch 0-127 where a note starts,
        :data:`HOLD` (128) while it sounds on, :data:`REST` (129).
    position : np.ndarray, shape=(n_steps,), dtype=int64
        The step's place in its bar, 0 on the downbeat (see :func:`step_positions`).
    fermata : np.ndarray, shape=(n_steps,), dtype=bool
        The step lies under a note carrying a fermata.
    steps_per_quarter : int
    """

    voices: np.ndarray
    position: np.ndarray
    fermata: np.ndarray
    steps_per_quarter: int = STEPS_PER_QUARTER

    def __post_init__(self):
        voices = np.asarray(self.voices, dtype=np.int64)
        if voices.ndim != 2 or voices.shape[1] != len(VOICES):
            raise ValueError(f"voices must have shape (n_steps, {len(VOICES)}), got {voices.shape}")
        if ((voices < 0) | (voices > REST)).any():
            raise ValueError(f"voices must hold pitches 0-127, HOLD ({HOLD}) or REST ({REST})")
        n = len(voices)
        for name in ("position", "fermata"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} steps, voices {n}")
        object.__setattr__(self, "voices", voices)
        object.__setattr__(self, "position", np.asarray(self.position, dtype=np.int64))
        object.__setattr__(self, "fermata", np.asarray(self.fermata, dtype=bool))

    @property
    def n_steps(self) -> int:
        return len(self.voices)


def step_positions(n_steps: int, *, time_signature: str = "4/4", pickup_beats: float = 0.0,
                   steps_per_quarter: int = STEPS_PER_QUARTER) -> np.ndarray:
    """Each step's place in its bar: ``(step - pickup) mod steps_per_bar``.

    Parameters
    ----------
    n_steps : int
    time_signature : str, default "4/4"
        Gives the bar length (:func:`musicalpy.analysis.bar_length`; unreadable: 4/4).
    pickup_beats : float, default 0
        Quarter notes of the opening anacrusis (``pieces["pickup_beats"]`` of
        :func:`musicalpy.load_corpus`), so the first downbeat gets position 0.
    steps_per_quarter : int, default 4

    Returns
    -------
    np.ndarray, shape=(n_steps,), dtype=int64

    Raises
    ------
    ValueError
        For a bar longer than :data:`MAX_STEPS_PER_BAR` steps.
    """
    from ..analysis import bar_length

    steps_per_quarter = check_int("steps_per_quarter", steps_per_quarter)
    bar = int(round(bar_length(time_signature) * steps_per_quarter))
    if not 0 < bar <= MAX_STEPS_PER_BAR:
        raise ValueError(f"time_signature {time_signature!r} gives {bar} steps per bar; the grid holds 1-{MAX_STEPS_PER_BAR}")
    pickup = int(round(float(pickup_beats) * steps_per_quarter))
    return (np.arange(check_int("n_steps", n_steps, 0)) - pickup) % bar


def bar_positions(n_steps: int, bar_starts: np.ndarray, *, steps_per_quarter: int = STEPS_PER_QUARTER) -> np.ndarray:
    """Each step's place in its bar from the bar lines the score gives (the corpus's
    ``bar_start`` column): steps since the last bar line at or before it; after the
    last bar line the last bar's length repeats.

    Parameters
    ----------
    n_steps : int
    bar_starts : np.ndarray, shape=(n,)
        Bar-line offsets in quarter notes, any order, repeats allowed.

    Returns
    -------
    np.ndarray, shape=(n_steps,), dtype=int64
        Clipped to ``MAX_STEPS_PER_BAR - 1`` for a bar longer than the vocabulary holds.
    """
    lines = np.unique(_to_steps(np.asarray(bar_starts, dtype=float), steps_per_quarter))
    steps = np.arange(n_steps)
    if not len(lines):
        raise ValueError("bar_starts is empty: give the bar lines, or use step_positions with a time signature")
    length = int(np.diff(lines)[-1]) if len(lines) > 1 else MAX_STEPS_PER_BAR
    which = np.searchsorted(lines, steps, side="right") - 1
    before = which < 0
    base = lines[np.maximum(which, 0)]
    position = steps - base
    # Past the last bar line (and before the first) the bar length repeats.
    position = np.where(which == len(lines) - 1, position % max(length, 1), position)
    position = np.where(before, (steps - lines[0]) % max(length, 1), position)
    return np.minimum(position, MAX_STEPS_PER_BAR - 1).astype(np.int64)


def _voice_column(pitch: np.ndarray, start_beat: np.ndarray, end_beat: np.ndarray, fermata: np.ndarray, n_steps: int,
                  steps_per_quarter: int) -> tuple[np.ndarray, np.ndarray]:
    """One voice's values per step (the higher note wins an overlap) and its fermata steps."""
    values = np.full(n_steps, REST, dtype=np.int64)
    under = np.zeros(n_steps, dtype=bool)
    if not len(pitch):
        return values, under
    start = _to_steps(start_beat, steps_per_quarter)
    end = np.maximum(_to_steps(end_beat, steps_per_quarter), start + 1)
    owner = np.full(n_steps, -1, dtype=np.int64)
    for index in np.lexsort((start, pitch)):
        owner[start[index] : end[index]] = index
    sounding = owner >= 0
    values[sounding] = HOLD
    # A note starts where the sounding note changes, or where the same note index
    # begins (two notes of one pitch back to back are two owners anyway).
    previous = np.concatenate([[-1], owner[:-1]])
    onset = sounding & (previous != owner)
    values[onset] = pitch[owner[onset]]
    under[sounding] = fermata[owner[sounding]]
    return values, under


def encode_chorale_grid(notes: pd.DataFrame, *, time_signature: str = "4/4", pickup_beats: float = 0.0,
                        steps_per_quarter: int = STEPS_PER_QUARTER, voices: Sequence[str] = VOICES) -> ChoraleGrid:
    """Encode one four-voice piece on the grid.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of one piece with the beat columns; parts named as ``voices``
        (others are left out; a missing voice rests throughout). A boolean ``fermata``
        column marks fermata notes (absent: none). A ``bar_start`` column (the
        corpus's bar lines) places the steps in their bars (:func:`bar_positions`).
    time_signature, pickup_beats
        See :func:`step_positions`; used when the table has no ``bar_start``.
    steps_per_quarter : int, default 4
        Starts and ends are rounded to the nearest step; a note keeps at least one.
    voices : sequence of 4 str, default ``VOICES``
        Part names, top voice first.

    Returns
    -------
    ChoraleGrid
        As many steps as the last note's end.
    """
    if len(voices) != len(VOICES):
        raise ValueError(f"voices must name {len(VOICES)} parts, top first, got {list(voices)}")
    if not {"start_beat", "end_beat"} <= set(notes.columns):
        raise ValueError("notes needs the beat columns start_beat and end_beat to lie on a beat grid")
    if "piece" in notes.columns and notes["piece"].nunique() > 1:
        raise ValueError(f"notes holds {notes['piece'].nunique()} pieces; encode one (see encode_chorales)")
    steps_per_quarter = check_int("steps_per_quarter", steps_per_quarter)
    table = notes[notes["part"].isin(list(voices))]
    n_steps = int(_to_steps(np.array([table["end_beat"].max() if len(table) else 0.0]), steps_per_quarter)[0])
    columns, under = [], np.zeros(n_steps, dtype=bool)
    for voice in voices:
        part = table[table["part"] == voice]
        fermata = part["fermata"].to_numpy(dtype=bool) if "fermata" in part.columns else np.zeros(len(part), bool)
        values, voice_under = _voice_column(part["pitch"].to_numpy(dtype=np.int64), part["start_beat"].to_numpy(float),
                                            part["end_beat"].to_numpy(float), fermata, n_steps, steps_per_quarter)
        columns.append(values)
        under |= voice_under
    grid = np.stack(columns, axis=1) if columns else np.zeros((0, len(VOICES)), np.int64)
    if "bar_start" in table.columns and len(table) and table["bar_start"].notna().all():
        position = bar_positions(n_steps, table["bar_start"].to_numpy(float), steps_per_quarter=steps_per_quarter)
    else:
        position = step_positions(n_steps, time_signature=time_signature, pickup_beats=pickup_beats,
                                  steps_per_quarter=steps_per_quarter)
    return ChoraleGrid(grid, position, under, steps_per_quarter)


def decode_chorale_grid(grid: ChoraleGrid, *, piece: str = "", tempo: float | None = None,
                        velocity: int = DEFAULT_VELOCITY, voices: Sequence[str] = VOICES) -> pd.DataFrame:
    """The exact inverse of :func:`encode_chorale_grid`: the grid back to a note table.

    Parameters
    ----------
    grid : ChoraleGrid
    piece : str, default ""
    tempo : float, optional
        Quarter notes per minute for the seconds (default 120).
    velocity : int, default 80
    voices : sequence of 4 str, default ``VOICES``

    Returns
    -------
    pd.DataFrame
        Note table with the beat columns and ``fermata`` (the note covers a fermata
        step), voices in order, each by start. A HOLD with nothing sounding before it
        is read as a rest.
    """
    _check_tempo(tempo)
    onsets, ends, parts = [], [], []
    for column, voice in enumerate(voices):
        values = grid.voices[:, column]
        starts = np.flatnonzero(values < HOLD)
        # A note lasts until the next step that is not HOLD.
        not_hold = np.flatnonzero(values != HOLD)
        following = np.searchsorted(not_hold, starts, side="right")
        onsets.append(starts)
        ends.append(np.where(following < len(not_hold), not_hold[np.minimum(following, len(not_hold) - 1)], len(values)))
        parts.append(np.full(len(starts), voice, dtype=object))
    # One table for the four voices (the voices in order, each by start, as the note table sorts them).
    onset, end = np.concatenate(onsets), np.concatenate(ends)
    pitch = np.concatenate([grid.voices[starts, column] for column, starts in enumerate(onsets)])
    spq = grid.steps_per_quarter
    table = _table(pitch, start_beat=onset / spq, end_beat=end / spq, velocity=velocity, tempo=tempo, piece=piece,
                   part=np.concatenate(parts))
    cumulative = np.concatenate([[0], np.cumsum(grid.fermata)])
    return table.assign(fermata=(cumulative[end] - cumulative[onset]) > 0)


def encode_chorales(notes: pd.DataFrame, pieces: pd.DataFrame | None = None, *,
                    steps_per_quarter: int = STEPS_PER_QUARTER) -> dict[str, ChoraleGrid]:
    """:func:`encode_chorale_grid` for every piece of a note table.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of any number of pieces.
    pieces : pd.DataFrame, optional
        A corpus's pieces table: its ``time_signature`` and ``pickup_beats`` columns
        place each piece's bar lines (absent: 4/4 without anacrusis).

    Returns
    -------
    dict of piece to ChoraleGrid
        In the order the pieces first appear.
    """
    info = pieces.set_index("piece") if pieces is not None and "piece" in pieces.columns else None
    grids = {}
    for piece, table in notes.groupby("piece", sort=False):
        options = {}
        if info is not None and piece in info.index:
            row = info.loc[piece]
            options["time_signature"] = str(row.get("time_signature", "") or "4/4")
            pickup = row.get("pickup_beats", 0.0)
            options["pickup_beats"] = float(pickup) if pd.notna(pickup) else 0.0
        grids[piece] = encode_chorale_grid(table, steps_per_quarter=steps_per_quarter, **options)
    return grids


def grid_losses(notes: pd.DataFrame, pieces: pd.DataFrame | None = None) -> dict[str, int]:
    """How many notes the grid cannot hold: each piece encoded, decoded and compared.

    Returns
    -------
    dict
        ``notes`` (all), ``outside_voices`` (notes of other parts), ``changed`` (voice
        notes that do not come back with the same pitch, start and end: off-grid or
        overlapping), ``lost`` (their sum).
    """
    grids = encode_chorales(notes, pieces)
    in_voices = notes["part"].isin(list(VOICES))
    key = ["piece", "part", "pitch", "start_beat", "end_beat"]
    decoded = pd.concat([decode_chorale_grid(g, piece=p) for p, g in grids.items()], ignore_index=True)
    original = notes.loc[in_voices, key].astype({"pitch": np.int64})
    kept = original.merge(decoded[key].drop_duplicates(), on=key, how="inner")
    changed = int(in_voices.sum() - len(kept))
    outside = int((~in_voices).sum())
    return {"notes": len(notes), "outside_voices": outside, "changed": changed, "lost": outside + changed}


# --------------------------------------------------------------------------- tokens


def _frame_token(position: int, fermata: bool) -> str:
    return f"|{int(position)}{'F' if fermata else ''}"


def _value_token(value: int) -> Hashable:
    return _HOLD_TOKEN if value == HOLD else _REST_TOKEN if value == REST else int(value)


@cache
def chorale_grid_vocabulary() -> Vocabulary:
    """The fixed vocabulary: PAD, START, END, UNK, pitches 0-127, HOLD, REST, then the
    frame tokens ``"|0"``, ``"|0F"``, ... ``"|31F"`` (198 ids). One fixed vocabulary, so
    the bits per token of any model of the grid stream compare directly."""
    frames = [_frame_token(p, f) for p in range(MAX_STEPS_PER_BAR) for f in (False, True)]
    return Vocabulary([*range(128), _HOLD_TOKEN, _REST_TOKEN, *frames])


def grid_to_tokens(grid: ChoraleGrid) -> list[Hashable]:
    """The grid as tokens, time-major: per step the frame, then S, A, T, B (no
    START/END; :meth:`Vocabulary.encode` with ``add_start_end=True`` adds them)."""
    tokens: list[Hashable] = []
    for step in range(grid.n_steps):
        tokens.append(_frame_token(grid.position[step], grid.fermata[step]))
        tokens.extend(_value_token(v) for v in grid.voices[step])
    return tokens


def tokens_to_grid(tokens: Sequence[Hashable], *, steps_per_quarter: int = STEPS_PER_QUARTER) -> ChoraleGrid:
    """Tokens (START/END and PAD removed, as :meth:`Vocabulary.decode` gives) back to a grid.

    Read five at a time; a trailing incomplete step is dropped. A token of the wrong
    kind for its slot (a pitch where a frame belongs, a frame in a voice; only a
    sampler without :func:`grid_grammar` can write one) is read as HOLD in a voice
    and as the previous step's position plus one in a frame.

    Returns
    -------
    ChoraleGrid
    """
    n_steps = len(tokens) // TOKENS_PER_STEP
    voices = np.full((n_steps, len(VOICES)), REST, dtype=np.int64)
    position = np.zeros(n_steps, dtype=np.int64)
    fermata = np.zeros(n_steps, dtype=bool)
    for step in range(n_steps):
        frame, *values = tokens[step * TOKENS_PER_STEP : (step + 1) * TOKENS_PER_STEP]
        if isinstance(frame, str) and frame.startswith("|"):
            position[step] = int(frame[1:].rstrip("F"))
            fermata[step] = frame.endswith("F")
        elif step:
            position[step] = position[step - 1] + 1
        for column, token in enumerate(values):
            if token == _REST_TOKEN:
                voices[step, column] = REST
            elif isinstance(token, int) and 0 <= token < 128:
                voices[step, column] = token
            else:
                voices[step, column] = HOLD
    # A HOLD must follow a sounding note: at the start or after a rest it is a rest.
    for column in range(len(VOICES)):
        sounding = False
        for step in range(n_steps):
            value = voices[step, column]
            if value == HOLD and not sounding:
                voices[step, column] = REST
            sounding = value != REST and (value != HOLD or sounding)
    return ChoraleGrid(voices, position, fermata, steps_per_quarter)


def transpose_chorale_grid_token(token: Hashable, semitones: int) -> Hashable | None:
    """A pitch token moved by ``semitones`` (None outside 0-127); others unchanged."""
    if isinstance(token, int) and not isinstance(token, bool):
        moved = token + int(semitones)
        return moved if 0 <= moved < 128 else None
    return token


def token_roles(n_tokens: int) -> np.ndarray:
    """The slot of every position of a framed id sequence: -1 for START, 0 for a frame,
    1-4 for S, A, T, B (END and anything after a whole step read as frame slots).

    Returns
    -------
    np.ndarray, shape=(n_tokens,), dtype=int64
    """
    roles = (np.arange(n_tokens) - 1) % TOKENS_PER_STEP
    roles[:1] = -1
    return roles


def grid_grammar(vocabulary: Vocabulary | None = None) -> np.ndarray:
    """Which ids each slot may hold, for a sampler: row 0 the frames (and END), rows
    1-4 the voice values.

    Returns
    -------
    np.ndarray, shape=(TOKENS_PER_STEP, len(vocabulary)), dtype=bool
    """
    vocabulary = vocabulary or chorale_grid_vocabulary()
    allowed = np.zeros((TOKENS_PER_STEP, len(vocabulary)), dtype=bool)
    for index, token in enumerate(vocabulary.tokens, start=vocabulary.n_reserved):
        if isinstance(token, str) and token.startswith("|"):
            allowed[0, index] = True
        else:
            allowed[1:, index] = True
    allowed[0, vocabulary.end_id] = True
    return allowed


def _encode_for_registry(notes: _Notes, *, tempo: float | None = None, **options: Any) -> ChoraleGrid:
    """The registry's encoder: one piece's arrays (no fermatas: the arrays carry none)."""
    start_beat, end_beat = notes.beats(tempo)
    table = pd.DataFrame({"part": notes.part, "pitch": notes.pitch, "start_beat": start_beat, "end_beat": end_beat})
    return encode_chorale_grid(table, **options)


ENCODING = Encoding(
    name="chorale_grid",
    encode=_encode_for_registry,
    decode=decode_chorale_grid,
    per_part=False,
    vocabulary=chorale_grid_vocabulary,
    transpose_token=transpose_chorale_grid_token,
    # Not a token encoding of token_sequences: its pieces are ChoraleGrid objects, turned
    # into tokens by grid_to_tokens or into SATB steps by representations.satb_steps.
)
