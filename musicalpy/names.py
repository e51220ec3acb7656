"""Pitch, key and voice names: the one place where MusicalPy spells them.

One spelling everywhere: music21's ``nameWithOctave`` with sharps for C#, F#, G# and
flats for E- and B- (``"B-3"``, never ``"Bb3"`` or ``"A#3"``), octave -1 written ``m1``.
Keys are a tonic spelled as music21's key finders spell it and a mode: ``"F# minor"``,
``"B- major"``, ``"A- major"``, ``"G# minor"``.

Parsers accept any common spelling: music21's (``"E--4"``, ``"B#3"``, ``"B- major"``),
and for pitch classes and keys also ``b``/``♭`` for flat and ``♯`` for sharp
(``"Bb major"``, ``"E♭"``), with the mode in any case (``"C Major"``).
"""

from __future__ import annotations

import re

from ._config import check_int

__all__ = [
    "VOICES",
    "PITCH_NAMES",
    "PITCH_CLASS_NAMES",
    "MODES",
    "pitch_to_name",
    "name_to_pitch",
    "pitch_class_name",
    "pitch_class_of",
    "key_tonic",
    "key_name",
    "parse_key_name",
    "key_signature_sharps",
    "key_spelling",
    "file_stem",
]

#: The four voices of a chorale, top to bottom, as music21's corpus names its parts.
VOICES = ("Soprano", "Alto", "Tenor", "Bass")

#: Name of every pitch class 0-11 (C = 0), as music21 spells a MIDI pitch.
PITCH_CLASS_NAMES = ("C", "C#", "D", "E-", "E", "F", "F#", "G", "G#", "A", "B-", "B")
#: Name of every MIDI pitch 0-127 (see :func:`pitch_to_name`).
PITCH_NAMES = tuple(
    f"{PITCH_CLASS_NAMES[p % 12]}{p // 12 - 1 if p >= 12 else 'm1'}" for p in range(128)
)
#: The two modes of a key, as music21 names them.
MODES = ("major", "minor")
_NAME_TO_PITCH = {name: p for p, name in enumerate(PITCH_NAMES)}
_LETTER_SEMITONE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_NAME_PATTERN = re.compile(r"([A-Ga-g])([#\-]*)(m1|\d+)")


def pitch_to_name(pitch: int) -> str:
    """Name of a MIDI pitch as music21's ``nameWithOctave``: 60 -> ``"C4"``,
    61 -> ``"C#4"``, 58 -> ``"B-3"`` (sharps for C#, F#, G#; flats for E-, B-).

    Pitches 0-11 (octave -1) are written with octave ``m1`` (``"Cm1"``) because
    music21's ``"B-1"`` would mean both B in octave -1 and B-flat in octave 1.
    """
    if check_int("pitch", pitch, minimum=0) > 127:
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


# ------------------------------------------------------------------- pitch classes

# Accidentals as the parsers read them: music21's "#" and "-", the common "b", and the
# Unicode signs.
_ALTERATION = {"#": 1, "\u266f": 1, "-": -1, "b": -1, "\u266d": -1}
_PITCH_CLASS_PATTERN = re.compile(r"([A-Ga-g])([#\-b\u266f\u266d]*)")
# Position of each letter on the circle of fifths (C = 0): a key signature's sharps.
_LETTER_FIFTHS = {"F": -1, "C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5}
_LETTERS = "CDEFGAB"


def pitch_class_name(pitch_class: int) -> str:
    """Name of a pitch class 0-11 (or of any MIDI pitch's class): 10 -> ``"B-"``,
    8 -> ``"G#"`` (see :data:`PITCH_CLASS_NAMES`)."""
    return PITCH_CLASS_NAMES[check_int("pitch_class", pitch_class, minimum=0) % 12]


def _split_pitch_class(name: str, what: str) -> tuple[str, int]:
    """``(letter, alteration in semitones)`` of a spelled pitch class like ``"B-"``."""
    match = _PITCH_CLASS_PATTERN.fullmatch(name.strip()) if isinstance(name, str) else None
    if match is None:
        raise ValueError(
            f"{what} must be a letter A-G with optional accidentals (#, -, b), e.g. 'F#' or 'B-', got {name!r}"
        )
    letter, accidentals = match.groups()
    return letter.upper(), sum(_ALTERATION[a] for a in accidentals)


def pitch_class_of(name: str) -> int:
    """Pitch class 0-11 of a pitch-class name: ``"C"`` -> 0, ``"F#"`` -> 6, ``"B-"``,
    ``"Bb"`` and ``"b\u266d"`` -> 10, ``"B#"`` -> 0.

    Raises
    ------
    ValueError
        When ``name`` is not a letter with accidentals (the message quotes it).
    """
    letter, alteration = _split_pitch_class(name, "a pitch-class name")
    return (_LETTER_SEMITONE[letter] + alteration) % 12


# ----------------------------------------------------------------------------- keys

# The tonic of each key as music21's key finders spell it (a pitch's default name,
# or its enharmonic when that names no key of the mode: A- major, not G# major).
_KEY_TONICS = {
    "major": ("C", "C#", "D", "E-", "E", "F", "F#", "G", "A-", "A", "B-", "B"),
    "minor": ("C", "C#", "D", "E-", "E", "F", "F#", "G", "G#", "A", "B-", "B"),
}


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be 'major' or 'minor', got {mode!r}")
    return mode


def key_tonic(tonic_pc: int, mode: str) -> str:
    """The tonic's name in the key of that pitch class and mode, spelled as music21's
    key finders spell it: ``(10, "major")`` -> ``"B-"``, ``(8, "major")`` -> ``"A-"``,
    ``(8, "minor")`` -> ``"G#"``."""
    return _KEY_TONICS[_check_mode(mode)][check_int("tonic_pc", tonic_pc, minimum=0) % 12]


def key_name(tonic_pc: int, mode: str) -> str:
    """A key as text: ``(6, "minor")`` -> ``"F# minor"``, ``(10, "major")`` ->
    ``"B- major"`` (music21's ``Key.name``; :func:`parse_key_name` inverts it)."""
    return f"{key_tonic(tonic_pc, mode)} {mode}"


def _split_key_name(name: str) -> tuple[str, int, str]:
    """``(tonic letter, alteration, mode)`` of a key name like ``"Bb Major"``."""
    parts = name.split() if isinstance(name, str) else []
    if len(parts) != 2 or parts[1].lower() not in MODES:
        raise ValueError(f"a key name looks like 'F# minor', 'B- major' or 'Bb major', got {name!r}")
    try:
        letter, alteration = _split_pitch_class(parts[0], "a key's tonic")
    except ValueError:
        raise ValueError(f"a key name looks like 'F# minor', 'B- major' or 'Bb major', got {name!r}") from None
    return letter, alteration, parts[1].lower()


def parse_key_name(name: str) -> tuple[int, str]:
    """``"F# minor"`` -> ``(6, "minor")``, ``"B- major"``, ``"Bb Major"`` -> ``(10,
    "major")``: a key name's tonic pitch class and mode (the inverse of :func:`key_name`).

    Raises
    ------
    ValueError
        When ``name`` is not a tonic and ``major`` or ``minor`` (the message quotes it).
    """
    letter, alteration, mode = _split_key_name(name)
    return (_LETTER_SEMITONE[letter] + alteration) % 12, mode


def key_signature_sharps(name: str) -> int:
    """Sharps (positive) or flats (negative) in the signature of a key name, as spelled:
    ``"F# minor"`` -> 3, ``"Bb major"`` -> -2, ``"C# major"`` -> 7, ``"D- major"`` -> -5."""
    letter, alteration, mode = _split_key_name(name)
    # A sharp on the tonic moves seven fifths up; a minor key shares the signature of
    # the major key a minor third above, three fifths further on.
    return _LETTER_FIFTHS[letter] + 7 * alteration - (3 if mode == "minor" else 0)


def _spell(letter: str, pitch_class: int) -> str:
    alteration = (pitch_class - _LETTER_SEMITONE[letter] + 6) % 12 - 6
    return letter + ("#" * alteration if alteration > 0 else "-" * -alteration)


def key_spelling(name: str) -> tuple[str, ...]:
    """How a key spells the twelve pitch classes, for writing notes in it.

    The seven scale tones (natural minor for minor keys) take the key's letters, in
    minor also the raised seventh (the leading tone); the other five are sharps in a
    key with sharps or none, flats in a key with flats.

    Parameters
    ----------
    name : str
        A key name (see :func:`parse_key_name`), e.g. ``"E- major"``.

    Returns
    -------
    names : tuple of str, shape=(12,)
        ``names[pc]`` spells pitch class ``pc``: for ``"F# minor"`` pitch class 5 is
        ``"E#"`` (the leading tone), for ``"E- major"`` pitch class 3 is ``"E-"``.
    """
    letter, _, mode = _split_key_name(name)
    tonic_pc, _ = parse_key_name(name)
    sharps = key_signature_sharps(name)
    names = list(_SHARP_PITCH_CLASS_NAMES if sharps >= 0 else _FLAT_PITCH_CLASS_NAMES)
    steps = (0, 2, 4, 5, 7, 9, 11) if mode == "major" else (0, 2, 3, 5, 7, 8, 10)
    start = _LETTERS.index(letter)
    degrees = [(_LETTERS[(start + d) % 7], (tonic_pc + step) % 12) for d, step in enumerate(steps)]
    if mode == "minor":
        degrees.append((degrees[6][0], (degrees[6][1] + 1) % 12))
    for degree_letter, pitch_class in degrees:
        names[pitch_class] = _spell(degree_letter, pitch_class)
    return tuple(names)


# Black keys as sharps or as flats, for the non-scale tones of sharp and flat keys.
_SHARP_PITCH_CLASS_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLAT_PITCH_CLASS_NAMES = ("C", "D-", "D", "E-", "E", "F", "G-", "G", "A-", "A", "B-", "B")


def file_stem(name: str) -> str:
    """A name (a piece id, a tune's title) as a file name: folders and odd characters
    become underscores; ``"piece"`` when nothing is left."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name)).strip("._") or "piece"
