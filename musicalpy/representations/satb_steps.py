"""SATB steps: the four-voice chorale grid read one sixteenth at a time, as class ids.

The frame-wise joint models (:mod:`musicalpy.models.satb_net`, the ``satb_*`` kinds)
and the joint counting floor (:mod:`musicalpy.satb_counts`) read a chorale as a
sequence of **steps**, one per sixteenth note. A step holds, for each of Soprano, Alto,
Tenor and Bass, one **value id**: :data:`REST_ID`, :data:`HOLD_ID` (the voice's note
goes on) or a pitch (a new note starts), so a held half note and two repeated quarters
differ; plus two things about the step itself: its **position** in the bar
(sixteenths since the bar line, given to every model as an input) and whether it lies
under a **fermata** (a model that writes a chorale predicts it; a harmonizer is given
the melody's).

It is :class:`~musicalpy.representations.chorale_grid.ChoraleGrid` with the grid's
values mapped to a compact, fixed vocabulary of :data:`N_VALUES` ids (pitches
:data:`LOWEST_PITCH` .. :data:`HIGHEST_PITCH`, which holds every voice of music21's
chorales and of JSB in all twelve transpositions the models train on), so the round
trip is the grid's: ``steps_to_grid(grid_to_steps(g))`` gives ``g`` back exactly.

JSB Chorales (``Jsb16thSeparated``)
-----------------------------------
Coconet's voice-separated file gives, per sixteenth, each voice's sounding pitch or
silence, and nothing else. :func:`jsb_steps` reads it so: a pitch equal to the voice's
pitch one step before is a **hold** (the file cannot tell a repeated note from a held
one, so repeats become holds), silence is a rest. The file has no meter and no
fermatas: a JSB step's position is its **place within the beat** (``step % 4``, exact,
since every chorale starts on a beat), not within the bar, and no step is under a
fermata, so the JSB models are given less than the music21 models and predict no
fermatas. :func:`steps_to_jsb` inverts :func:`jsb_steps` exactly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..names import VOICES
from .chorale_grid import (
    HOLD,
    MAX_STEPS_PER_BAR,
    REST,
    STEPS_PER_QUARTER,
    ChoraleGrid,
    decode_chorale_grid,
    encode_chorale_grid,
    encode_chorales,
)

__all__ = [
    "LOWEST_PITCH",
    "HIGHEST_PITCH",
    "REST_ID",
    "HOLD_ID",
    "N_VALUES",
    "N_POSITIONS",
    "SatbSteps",
    "grid_to_steps",
    "steps_to_grid",
    "chorale_steps",
    "jsb_steps",
    "steps_to_jsb",
    "pitch_of",
    "transpose_steps",
    "note_count",
    "decode_steps",
    "melody_steps",
]

#: Lowest and highest MIDI pitch a value id can hold (E1 .. C7).
LOWEST_PITCH = 28
HIGHEST_PITCH = 96
#: The value ids of a silent voice and of a voice whose note goes on.
REST_ID = 0
HOLD_ID = 1
#: Value ids per voice: rest, hold and one per pitch.
N_VALUES = 2 + HIGHEST_PITCH - LOWEST_PITCH + 1
#: Position ids: sixteenths since the bar line (the grid's longest bar).
N_POSITIONS = MAX_STEPS_PER_BAR


@dataclasses.dataclass(frozen=True)
class SatbSteps:
    """One chorale as steps.

    Attributes
    ----------
    values : np.ndarray, shape=(n_steps, 4), dtype=int64
        Value ids of Soprano, Alto, Tenor, Bass: :data:`REST_ID`, :data:`HOLD_ID` or
        ``2 + pitch - LOWEST_PITCH``.
    position : np.ndarray, shape=(n_steps,), dtype=int64
        Sixteenths since the bar line (JSB: since the beat), ``0 .. N_POSITIONS - 1``.
    fermata : np.ndarray, shape=(n_steps,), dtype=bool
    """

    values: np.ndarray
    position: np.ndarray
    fermata: np.ndarray

    @property
    def n_steps(self) -> int:
        return len(self.values)


def _check_pitches(pitches: np.ndarray, where: str) -> None:
    outside = (pitches < LOWEST_PITCH) | (pitches > HIGHEST_PITCH)
    if outside.any():
        raise ValueError(f"{where}: pitch(es) {sorted(set(pitches[outside].tolist()))[:5]} lie outside the SATB "
                         f"steps' range MIDI {LOWEST_PITCH}..{HIGHEST_PITCH}")


def grid_to_steps(grid: ChoraleGrid, *, where: str = "chorale") -> SatbSteps:
    """A chorale grid's values as value ids (exact; see :func:`steps_to_grid`).

    Raises
    ------
    ValueError
        When a pitch lies outside ``LOWEST_PITCH .. HIGHEST_PITCH`` (``where`` names the piece).
    """
    if grid.steps_per_quarter != STEPS_PER_QUARTER:
        raise ValueError(f"{where}: SATB steps are sixteenths ({STEPS_PER_QUARTER} per quarter), "
                         f"the grid has {grid.steps_per_quarter}")
    grid_values = grid.voices
    pitched = grid_values < HOLD
    _check_pitches(grid_values[pitched], where)
    values = np.where(grid_values == REST, REST_ID, HOLD_ID).astype(np.int64)
    values[pitched] = grid_values[pitched] - LOWEST_PITCH + 2
    position = np.asarray(grid.position, dtype=np.int64)
    return SatbSteps(values, position, np.asarray(grid.fermata, dtype=bool))


def pitch_of(values: np.ndarray) -> np.ndarray:
    """The grid values (pitch 0-127, ``HOLD``, ``REST``) of value ids, any shape."""
    values = np.asarray(values, dtype=np.int64)
    return np.where(values == REST_ID, REST, np.where(values == HOLD_ID, HOLD, values - 2 + LOWEST_PITCH))


def steps_to_grid(steps: SatbSteps) -> ChoraleGrid:
    """The exact inverse of :func:`grid_to_steps`."""
    return ChoraleGrid(pitch_of(steps.values), steps.position, steps.fermata, STEPS_PER_QUARTER)


def chorale_steps(notes: pd.DataFrame, pieces: pd.DataFrame | None = None) -> dict[str, SatbSteps]:
    """Every piece of a four-voice note table as steps.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table with parts Soprano, Alto, Tenor, Bass and the beat columns
        (``fermata`` and ``bar_start`` read where present, see
        :func:`~musicalpy.representations.chorale_grid.encode_chorale_grid`). A JSB
        voice corpus (pieces named ``jsb_voices_...``) is read with :func:`jsb_steps`'
        rule: positions within the beat, no fermatas.
    pieces : pd.DataFrame, optional
        The corpus's pieces table (time signature and anacrusis).

    Returns
    -------
    dict of piece to SatbSteps, in the order the pieces first appear.
    """
    out = {}
    for piece, grid in encode_chorales(notes, pieces).items():
        steps = grid_to_steps(grid, where=str(piece))
        if str(piece).startswith("jsb_voices_"):
            steps = dataclasses.replace(steps, position=np.arange(steps.n_steps) % STEPS_PER_QUARTER,
                                        fermata=np.zeros(steps.n_steps, dtype=bool))
        out[piece] = steps
    return out


def jsb_steps(voices: np.ndarray, *, where: str = "JSB chorale") -> SatbSteps:
    """A chorale of the ``Jsb16thSeparated`` file as steps (see the module docstring).

    Parameters
    ----------
    voices : np.ndarray, shape=(n_steps, 4)
        Sounding MIDI pitch of S, A, T, B per sixteenth, -1 where silent
        (:func:`musicalpy.jsb.read_voices`).
    """
    voices = np.asarray(voices, dtype=np.int64)
    if voices.ndim != 2 or voices.shape[1] != len(VOICES):
        raise ValueError(f"{where}: expected shape (n_steps, {len(VOICES)}), got {voices.shape}")
    sounding = voices >= 0
    _check_pitches(voices[sounding], where)
    values = np.where(sounding, voices - LOWEST_PITCH + 2, REST_ID)
    held = np.zeros_like(sounding)
    held[1:] = sounding[1:] & (voices[1:] == voices[:-1])
    values[held] = HOLD_ID
    n = len(voices)
    return SatbSteps(values.astype(np.int64), np.arange(n) % STEPS_PER_QUARTER, np.zeros(n, dtype=bool))


def steps_to_jsb(steps: SatbSteps) -> np.ndarray:
    """The exact inverse of :func:`jsb_steps`: sounding pitch per step and voice, -1 silent.

    A hold carries the pitch before it (a hold after a rest, which :func:`jsb_steps`
    never writes, reads as silence).
    """
    pitches = pitch_of(steps.values)
    out = np.full(pitches.shape, -1, dtype=np.int64)
    for step in range(len(pitches)):
        onset = pitches[step] < HOLD
        out[step, onset] = pitches[step, onset]
        if step:
            held = pitches[step] == HOLD
            out[step, held] = out[step - 1, held]
    return out


def transpose_steps(values: np.ndarray, semitones: int) -> np.ndarray:
    """Value ids moved by ``semitones`` (rests and holds stay); raises when a pitch leaves the range."""
    values = np.asarray(values, dtype=np.int64)
    pitched = values >= 2
    moved = values.copy()
    moved[pitched] += int(semitones)
    if pitched.any() and (moved[pitched].min() < 2 or moved[pitched].max() >= N_VALUES):
        raise ValueError(f"transposing by {semitones:+d} semitones leaves the SATB steps' range")
    return moved


def note_count(values: np.ndarray | Mapping[str, SatbSteps]) -> int:
    """Notes (pitch ids) in value ids, or in a mapping of chorales' steps."""
    if isinstance(values, Mapping):
        return sum(note_count(steps.values) for steps in values.values())
    return int((np.asarray(values) >= 2).sum())


def decode_steps(steps: SatbSteps, *, piece: str = "", tempo: float | None = None) -> pd.DataFrame:
    """Steps back to a note table (four parts, beats, ``fermata``), exactly as the grid decodes."""
    return decode_chorale_grid(steps_to_grid(steps), piece=piece, tempo=tempo)


def melody_steps(melody) -> SatbSteps:
    """A :class:`~musicalpy.melody.Melody` as steps: its soprano and fermatas, the lower voices resting.

    Positions follow the melody's time signature and pickup (``pickup_beats``: the
    first downbeat's beat); a fermata covers the steps of every note whose start is in
    ``melody.fermatas``.
    """
    line = melody.notes
    if line.empty:
        raise ValueError(f"melody {melody.name!r} has no notes")
    fermatas = np.isin(np.round(line["start_beat"].to_numpy(float), 6), np.round(np.asarray(melody.fermatas, float), 6))
    soprano = pd.DataFrame({"part": VOICES[0], "pitch": line["pitch"].to_numpy(np.int64),
                            "start_beat": line["start_beat"].to_numpy(float),
                            "end_beat": line["end_beat"].to_numpy(float), "fermata": fermatas})
    grid = encode_chorale_grid(soprano, time_signature=melody.time_signature,
                               pickup_beats=float(getattr(melody, "pickup_beats", 0.0)))
    return grid_to_steps(grid, where=str(melody.name))
