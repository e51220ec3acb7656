"""Piano roll: all parts merged as a binary (pitch x step) image on a beat grid.

Rows are the pitches ``lowest_pitch .. lowest_pitch + n_pitches - 1``, columns grid
steps; an optional onset roll marks where notes start, so that repeated notes of one
pitch decode apart. A piece is moved into the rows' range as a whole
(:func:`fit_transposition`) and cut into fixed-length windows
(:func:`piano_roll_windows` for one roll, :func:`encode_piano_roll_windows` for every
piece or voice of a note table), the input of the VAE. Not a token sequence, so it has
no vocabulary or token transposition.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._config import check_int
from ..midi import DEFAULT_TEMPO, DEFAULT_VELOCITY, as_note_table
from ._common import (
    Encoding,
    _check_int_at_most,
    _check_n_steps,
    _check_velocity,
    _grid,
    _Notes,
    _one_piece,
    _table,
)

__all__ = [
    "DEFAULT_LOWEST_PITCH",
    "DEFAULT_N_PITCHES",
    "DEFAULT_WINDOW_STEPS",
    "encode_piano_roll",
    "decode_piano_roll",
    "piano_roll_windows",
    "fit_transposition",
    "frame_onsets",
    "encode_piano_roll_windows",
]

#: Row 0 of the roll: C2. With 48 rows the range is C2-B5, which holds 99.9% of the
#: chorale notes once each piece is transposed (see notebook 05).
DEFAULT_LOWEST_PITCH = 36
DEFAULT_N_PITCHES = 48
#: Two 4/4 bars at 4 steps per quarter.
DEFAULT_WINDOW_STEPS = 32


def _check_range(lowest_pitch: Any, n_pitches: Any) -> tuple[int, int]:
    lowest_pitch = _check_int_at_most("lowest_pitch", lowest_pitch, 0, 127)
    n_pitches = check_int("n_pitches", n_pitches)
    if lowest_pitch + n_pitches > 128:
        raise ValueError(f"lowest_pitch + n_pitches must be at most 128 (MIDI pitches), got {lowest_pitch} + {n_pitches}")
    return lowest_pitch, n_pitches


def frame_onsets(frames: np.ndarray, *, threshold: float = 0.5) -> np.ndarray:
    """The onsets a frame roll shows: cells where a run of active cells starts.

    Repeated notes of one pitch merge in a frame roll, so they count once, and a note
    already sounding at step 0 counts as an onset there (the roll cannot see earlier).

    Parameters
    ----------
    frames : np.ndarray, shape=(..., n_pitches, n_steps)
        Binary, or probabilities (a model's output); time on the last axis.
    threshold : float, default 0.5
        A cell is active when its value is at least ``threshold``.

    Returns
    -------
    onsets : np.ndarray, shape=frames.shape, dtype=bool
    """
    active = np.asarray(frames) >= threshold
    previous = np.zeros_like(active)
    previous[..., 1:] = active[..., :-1]
    return active & ~previous


def encode_piano_roll(
    notes: pd.DataFrame,
    *,
    lowest_pitch: int = DEFAULT_LOWEST_PITCH,
    n_pitches: int = DEFAULT_N_PITCHES,
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
    lowest_pitch: int = DEFAULT_LOWEST_PITCH,
    n_pitches: int = DEFAULT_N_PITCHES,
    steps_per_quarter: int = 4,
    tempo: float | None = None,
    out_of_range: str = "drop",
    with_onsets: bool = False,
    n_steps: int | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    lowest_pitch, n_pitches = _check_range(lowest_pitch, n_pitches)
    steps_per_quarter = check_int("steps_per_quarter", steps_per_quarter)
    if out_of_range not in ("drop", "fold"):
        raise ValueError(f"out_of_range must be 'drop' or 'fold', got {out_of_range!r}")
    if out_of_range == "fold" and n_pitches < 12:
        raise ValueError(f"out_of_range='fold' needs n_pitches >= 12 (one octave), got {n_pitches}")
    n_steps = _check_n_steps(n_steps)
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
    lowest_pitch: int = DEFAULT_LOWEST_PITCH,
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
    steps_per_quarter = check_int("steps_per_quarter", steps_per_quarter)
    active = frames >= threshold
    starts = frame_onsets(frames, threshold=threshold)
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
    window_steps = check_int("window_steps", window_steps)
    hop_steps = window_steps if hop_steps is None else check_int("hop_steps", hop_steps)
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
    lowest_pitch: int = DEFAULT_LOWEST_PITCH,
    n_pitches: int = DEFAULT_N_PITCHES,
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


def encode_piano_roll_windows(
    notes: pd.DataFrame,
    *,
    window_steps: int = DEFAULT_WINDOW_STEPS,
    hop_steps: int | None = None,
    lowest_pitch: int = DEFAULT_LOWEST_PITCH,
    n_pitches: int = DEFAULT_N_PITCHES,
    steps_per_quarter: int = 4,
    transpose: bool = True,
    per_voice: bool = False,
    pad_last: bool = False,
    skip_empty: bool = False,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Cut every piece (or every voice) of a note table into piano-roll windows.

    Each piece is first moved by the semitone shift of :func:`fit_transposition` (the
    same shift for all its voices, so voice windows stay aligned), then encoded with
    :func:`encode_piano_roll` and cut with :func:`piano_roll_windows`; no window
    crosses two pieces. These are the VAE's training windows (the tf.data side is
    :func:`musicalpy.pipelines.piano_roll_dataset`).

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of any number of pieces.
    window_steps : int, default 32
        Steps per window (32 = two 4/4 bars at 4 steps per quarter).
    hop_steps : int, optional
        Steps between window starts; default ``window_steps`` (no overlap).
    lowest_pitch, n_pitches : int
        The roll's rows: ``lowest_pitch .. lowest_pitch + n_pitches - 1``. Notes still
        outside after the transposition are dropped.
    steps_per_quarter : int, default 4
    transpose : bool, default True
        Apply the per-piece shift (False keeps the pitches as they are).
    per_voice : bool, default False
        One roll per part (``part`` column of the index) instead of the whole texture
        (``part == "all"``).
    pad_last : bool, default False
        Pad each piece's end so that every step lands in a window (use it when every
        cell must be scored once, e.g. for bits per note).
    skip_empty : bool, default False
        Leave out windows where nothing sounds. By default they are kept: a rest is
        music too, and the index counts them (``is_empty``).

    Returns
    -------
    windows : np.ndarray, shape=(n_windows, n_pitches, window_steps), dtype=float32
        Binary.
    index : pd.DataFrame
        One row per window: ``piece``, ``part``, ``start_step``, ``shift`` (semitones
        added), ``n_active`` (sounding cells), ``n_onsets`` (notes starting, as the roll
        shows them: repeated notes of one pitch merge),
        ``is_empty`` (bool).
    """
    window_steps = check_int("window_steps", window_steps)
    hop = window_steps if hop_steps is None else check_int("hop_steps", hop_steps)
    table = as_note_table(notes)
    # Pieces and parts in the order they first appear in the caller's table (the note
    # table itself is sorted by part name).
    source = notes if {"piece", "part"} <= set(notes.columns) else table
    piece_order = pd.unique(source["piece"].astype(str))
    part_order = {p: i for i, p in enumerate(pd.unique(source["part"].astype(str)))}
    by_piece = dict(tuple(table.groupby("piece", sort=False)))
    rolls, rows = [], []
    for piece in piece_order:
        piece_notes = by_piece[piece]
        shift = fit_transposition(piece_notes, lowest_pitch=lowest_pitch, n_pitches=n_pitches) if transpose else 0
        moved = piece_notes.assign(pitch=piece_notes["pitch"] + shift)
        # Every voice gets the piece's length, so that window k of each voice covers the
        # same steps (needed to merge voices back together).
        length = int(encode_piano_roll(moved, lowest_pitch=0, n_pitches=128, steps_per_quarter=steps_per_quarter).shape[1])
        if per_voice:
            groups = sorted(moved.groupby("part", sort=False), key=lambda item: part_order[item[0]])
        else:
            groups = [("all", moved)]
        for part, part_notes in groups:
            roll = encode_piano_roll(
                part_notes,
                lowest_pitch=lowest_pitch,
                n_pitches=n_pitches,
                steps_per_quarter=steps_per_quarter,
                n_steps=length,
            )
            cut = piano_roll_windows(roll, window_steps, hop_steps=hop, pad_last=pad_last)
            if len(cut) == 0:
                continue
            active = cut.reshape(len(cut), -1).sum(axis=1)
            if skip_empty:
                keep = active > 0
                cut, active = cut[keep], active[keep]
                starts = (np.flatnonzero(keep) * hop).tolist()
            else:
                starts = (np.arange(len(cut)) * hop).tolist()
            rolls.append(cut)
            for start, n_active, window in zip(starts, active.tolist(), cut, strict=True):
                rows.append((str(piece), str(part), int(start), int(shift), int(n_active), int(frame_onsets(window).sum())))
    index = pd.DataFrame(rows, columns=["piece", "part", "start_step", "shift", "n_active", "n_onsets"])
    index["is_empty"] = index["n_active"] == 0
    if rolls:
        windows = np.concatenate(rolls).astype(np.float32)
    else:
        windows = np.zeros((0, n_pitches, window_steps), dtype=np.float32)
    return windows, index


ENCODING = Encoding(name="piano_roll", encode=_piano_roll, decode=decode_piano_roll, per_part=False)
