"""Pitch, key and voice names: the one place where MusicalPy spells them.

One spelling everywhere: music21's ``nameWithOctave`` with sharps for C#, F#, G# and
flats for E- and B- (``"B-3"``, never ``"Bb3"`` or ``"A#3"``), octave -1 written ``m1``.
Parsers accept any spelling music21 accepts (``"E--4"``, ``"B#3"``).
"""

from __future__ import annotations

import re

import numpy as np

__all__ = [
    "VOICES",
    "PITCH_NAMES",
    "pitch_to_name",
    "name_to_pitch",
]

#: The four voices of a chorale, top to bottom, as music21's corpus names its parts.
VOICES = ("Soprano", "Alto", "Tenor", "Bass")

_STEP_NAMES = ("C", "C#", "D", "E-", "E", "F", "F#", "G", "G#", "A", "B-", "B")
#: Name of every MIDI pitch 0-127 (see :func:`pitch_to_name`).
PITCH_NAMES = tuple(
    f"{_STEP_NAMES[p % 12]}{p // 12 - 1 if p >= 12 else 'm1'}" for p in range(128)
)
_NAME_TO_PITCH = {name: p for p, name in enumerate(PITCH_NAMES)}
_LETTER_SEMITONE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_NAME_PATTERN = re.compile(r"([A-Ga-g])([#\-]*)(m1|\d+)")


def pitch_to_name(pitch: int) -> str:
    """Name of a MIDI pitch as music21's ``nameWithOctave``: 60 -> ``"C4"``,
    61 -> ``"C#4"``, 58 -> ``"B-3"`` (sharps for C#, F#, G#; flats for E-, B-).

    Pitches 0-11 (octave -1) are written with octave ``m1`` (``"Cm1"``) because
    music21's ``"B-1"`` would mean both B in octave -1 and B-flat in octave 1.
    """
    if isinstance(pitch, bool) or not isinstance(pitch, (int, np.integer)) or not 0 <= pitch <= 127:
        raise ValueError(f"pitch must be an integer 0-127, got {pitch!r}")
    return PITCH_NAMES[pitch]


def name_to_pitch(name: str) -> int:
    """MIDI pitch of a name such as ``"C4"``, ``"C#4"``, ``"B-3"``, ``"E--4"``, ``"B#3"``
    or ``"Cm1"`` (octave -1; see :func:`pitch_to_name`)."""
    known = _NAME_TO_PITCH.get(name)
    if known is not None:
        return known
    match = _NAME_PATTERN.fullmatch(name) if isinstance(name, str) else None
    if match is None:
        raise ValueError(f"not a pitch name: {name!r} (expected a letter, optional # or -, and an octave, e.g. 'C#4')")
    letter, accidentals, octave = match.groups()
    octave_number = -1 if octave == "m1" else int(octave)
    pitch = 12 * (octave_number + 1) + _LETTER_SEMITONE[letter.upper()] + accidentals.count("#") - accidentals.count("-")
    if not 0 <= pitch <= 127:
        raise ValueError(f"pitch name {name!r} is outside the MIDI range 0-127")
    return pitch
