"""Voice leading and harmony of four-voice textures: parallels, crossing, spacing, chords.

Every measure reads a note table whose parts are named ``Soprano``, ``Alto``, ``Tenor``
and ``Bass`` (:data:`musicalpy.names.VOICES`; other parts, e.g. a chorale's
instruments, are ignored) with times in beats (``start_beat``/``end_beat``, else
seconds at ``tempo``). One function per measure takes one piece;
:func:`piece_voice_leading` gives all of them with their counts, and
:func:`corpus_voice_leading` one row per piece of a table of many pieces.
:func:`voice_leading_summary` pools a set of pieces (counts summed over the pieces,
then divided), the form the leaderboard stores.

How four voices that move at different times are read
-----------------------------------------------------
The piece is sampled at the **union of onsets**: every time at which at least one of
the four voices begins a note, in order, ``t_0 < t_1 < ...``. At each ``t_k`` each
voice has a pitch (the note it most recently began, if that note still sounds; of
notes it begins together, the highest) or a rest, and it *attacks* when one of its
notes begins at ``t_k``.

A **transition** of a voice pair (upper voice ``u``, lower voice ``l``) is a step
``t_k -> t_{k+1}`` at which both voices sound at both times and at least one of them
changes pitch. Steps at which neither changes (another voice moved) are not
transitions of this pair, and a rest in either voice breaks the pair's line. Over a
transition, ``d_k = u_k - l_k`` and ``d_{k+1}`` are the vertical intervals in
semitones.

The motion types follow :class:`music21.voiceLeading.VoiceLeadingQuartet` with
pitches spelled from MIDI numbers, and the test suite checks that our counts equal
music21's on real chorales:

* **parallel fifth**: both voices move (neither holds nor repeats its pitch) and
  ``|d_k| mod 12 = |d_{k+1}| mod 12 = 7`` (fifths, twelfths, ...; contrary motion
  between them, "antiparallel" fifths, included).
* **parallel octave** (unisons included): both voices move, ``|d_k|`` and
  ``|d_{k+1}|`` are multiples of 12, and either the motion is contrary or both are
  unisons or both are octaves (or compound octaves). Similar motion from a unison to
  an octave is not counted, as in music21.
* **voice crossing** (adjacent pairs S-A, A-T, T-B): ``u_k < l_k`` or
  ``u_{k+1} < l_{k+1}``.
* **voice overlap** (adjacent pairs): ``u_{k+1} < l_k`` or ``l_{k+1} > u_k``: a
  voice moves past where its neighbour just was.

Parallels are counted over the six voice pairs and given per 100 of their
transitions; crossing and overlap over the three adjacent pairs, per 100 of theirs.

Measures on onsets and on beats
-------------------------------
* **wide spacing**: share (%) of (onset, pair) cases, over the pairs S-A and A-T where
  both sound, whose interval exceeds an octave (``u - l > 12``); the tenor and bass
  may stand further apart.
* **homorhythm**: share (%) of onsets of the union at which at least three of the
  four voices attack.
* **out of range**: share (%) of the four voices' notes outside :data:`VOICE_RANGES`.
* **strong-beat dissonance**: at every whole beat ``b = 0, 1, ...`` (quarter notes
  from the start of the piece: the note table has no time signature, so every beat
  counts, not only the measure's first), every pair of sounding voices counts once; a
  pair is dissonant when ``|u - l| mod 12`` is in
  :data:`musicalpy.metrics.DISSONANT_INTERVALS` (seconds, tritone, sevenths). Share
  in %.
* **chord types**: at every whole beat where at least three voices sound, the set of
  sounding pitch classes is named by :func:`chord_type` (vocabulary
  :data:`CHORD_TYPES`); :func:`chord_type_histogram` counts them and
  :func:`chord_type_overlap` gives the overlapping area (``sum_c min(p_c, q_c)``, 1
  for equal distributions, 0 for disjoint ones) of two sets' normalized counts.

How much each voice moves
-------------------------
Few parallels mean little when the voices barely move (a bass on one pitch writes
none). :func:`voice_motion` gives, per voice of a set of pieces, the share (%) of
steps between consecutive whole beats, among those at which the voice sounds on both
beats, where its pitch changes, and the mean number of distinct pitches it uses per
piece (set by the length too: compare sets of equal lengths).

A measure without anything to count (no transition, no onset, fewer than two voices)
is NaN, never 0, so a one-part texture (a piano roll) is "not applicable", not
perfect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from ..midi import DEFAULT_TEMPO
from ..names import VOICES
from .features import _Prepared
from .harmony import DISSONANT_INTERVALS

__all__ = [
    "VOICE_RANGES",
    "CHORD_TYPES",
    "VOICE_LEADING_MEASURES",
    "VoiceGrid",
    "voice_grid",
    "voice_pair_transitions",
    "parallel_fifths",
    "parallel_octaves",
    "voice_crossing",
    "voice_overlap",
    "wide_spacing",
    "out_of_range",
    "strong_beat_dissonance",
    "homorhythm",
    "chord_type",
    "chord_type_histogram",
    "chord_type_overlap",
    "piece_voice_leading",
    "corpus_voice_leading",
    "voice_leading_summary",
    "voice_motion",
]

#: The range (lowest, highest MIDI pitch) of each voice: soprano C4-G5, alto G3-D5,
#: tenor C3-G4, bass E2-C4: the ranges common-practice harmony courses teach for
#: four-part writing (each upper voice a twelfth, the tenor an octave below the
#: soprano), not those of one textbook, since textbooks differ by a step or so. Bach
#: leaves them now and then, so a model's rate is read against Bach's rate (the
#: leaderboard's reference row), not against 0.
VOICE_RANGES: dict[str, tuple[int, int]] = {"Soprano": (60, 79), "Alto": (55, 74), "Tenor": (48, 67), "Bass": (40, 60)}

# Pitch-class sets relative to a root, per chord type; a set matches a type when it
# equals one of the type's sets transposed to one of its own pitch classes (any
# inversion). The names and the two incomplete dominant sevenths (no fifth, or no third)
# are music21's (``Chord.commonName``), which the tests check on real chorales.
_CHORD_TEMPLATES = {
    "major triad": ((0, 4, 7),),
    "minor triad": ((0, 3, 7),),
    "diminished triad": ((0, 3, 6),),
    "augmented triad": ((0, 4, 8),),
    "dominant seventh": ((0, 4, 7, 10),),
    "incomplete dominant seventh": ((0, 4, 10), (0, 7, 10)),
    "minor seventh": ((0, 3, 7, 10),),
    "major seventh": ((0, 4, 7, 11),),
    "half-diminished seventh": ((0, 3, 6, 10),),
    "diminished seventh": ((0, 3, 6, 9),),
}
#: The chord-type vocabulary of :func:`chord_type`, in order: the ten types of
#: ``_CHORD_TEMPLATES`` (major, minor, diminished and augmented triads; dominant,
#: incomplete dominant, minor, major, half-diminished and diminished sevenths). They are
#: pitch-class sets, so a minor seventh chord is also a major added-sixth chord, and an
#: augmented sixth chord the seventh chord it sounds as. Then ``"two pitch classes"`` (an
#: open fifth, a bare third, a triad missing a tone), ``"one pitch class"`` (unisons and
#: octaves) and ``"other"`` (mostly sonorities with non-chord tones).
CHORD_TYPES: tuple[str, ...] = (*_CHORD_TEMPLATES, "two pitch classes", "one pitch class", "other")

#: The measures of :func:`piece_voice_leading` and :func:`voice_leading_summary`, all
#: in percent (parallels, crossing and overlap per 100 transitions), and the chord-type
#: overlap in [0, 1].
VOICE_LEADING_MEASURES: tuple[str, ...] = (
    "parallel_fifths", "parallel_octaves", "voice_crossing", "voice_overlap", "wide_spacing",
    "out_of_range", "strong_beat_dissonance", "homorhythm", "chord_type_overlap",
)

_PAIRS = tuple(combinations(range(len(VOICES)), 2))  # (upper, lower) indices into VOICES
_ADJACENT = ((0, 1), (1, 2), (2, 3))
_UPPER_ADJACENT = ((0, 1), (1, 2))
_EPS = 1e-6  # beats; absorbs float error from seconds -> beats conversions


def _chord_table() -> np.ndarray:
    """Chord-type index of each of the 4096 pitch-class sets (bit ``p`` = pitch class ``p``)."""
    table = np.full(4096, CHORD_TYPES.index("other"), dtype=np.int64)
    for index, templates in enumerate(_CHORD_TEMPLATES.values()):
        for intervals in templates:
            for root in range(12):
                table[sum(1 << ((root + i) % 12) for i in intervals)] = index
    sizes = np.array([bin(mask).count("1") for mask in range(4096)])
    table[sizes == 2] = CHORD_TYPES.index("two pitch classes")
    table[sizes == 1] = CHORD_TYPES.index("one pitch class")
    return table


_CHORD_OF_MASK = _chord_table()


@dataclass(frozen=True)
class VoiceGrid:
    """One piece's four voices sampled at the union of their onsets and at whole beats.

    Attributes
    ----------
    onsets : np.ndarray, shape=(n_onsets,)
        The union of the voices' onsets, in beats, increasing.
    pitch : np.ndarray, shape=(n_onsets, 4), dtype=float
        Each voice's pitch at each onset (columns in :data:`musicalpy.names.VOICES`
        order); NaN where the voice rests or is absent.
    attack : np.ndarray, shape=(n_onsets, 4), dtype=bool
        Whether the voice begins a note at the onset.
    beat_pitch : np.ndarray, shape=(n_beats, 4), dtype=float
        Each voice's pitch at the whole beats ``0 .. ceil(length) - 1``; NaN for rests.
    notes_pitch : dict of str to np.ndarray
        Every note's pitch, per voice present (for the range measure).
    """

    onsets: np.ndarray
    pitch: np.ndarray
    attack: np.ndarray
    beat_pitch: np.ndarray
    notes_pitch: dict[str, np.ndarray]

    @property
    def n_voices(self) -> int:
        """Voices of :data:`musicalpy.names.VOICES` with at least one note."""
        return len(self.notes_pitch)


def _sample(start: np.ndarray, end: np.ndarray, pitch: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pitch of one voice at ``times`` (NaN when silent) and whether it attacks there.

    ``start`` is sorted by onset then pitch, so of notes begun together the highest is
    the one found."""
    index = np.searchsorted(start, times + _EPS, side="right") - 1
    safe = np.maximum(index, 0)
    sounding = (index >= 0) & (end[safe] > times + _EPS)
    attacks = (index >= 0) & (np.abs(start[safe] - times) <= _EPS)
    return np.where(sounding, pitch[safe].astype(float), np.nan), attacks & sounding


def voice_grid(notes: pd.DataFrame | VoiceGrid, *, tempo: float = DEFAULT_TEMPO) -> VoiceGrid:
    """Sample one piece's Soprano, Alto, Tenor and Bass at their onsets and whole beats.

    Parameters
    ----------
    notes : pd.DataFrame or VoiceGrid
        The note table of one piece (unusable notes are left out, as by the features);
        a :class:`VoiceGrid` is returned as is.
    tempo : float
        Quarter notes per minute, for tables without beat columns.

    Returns
    -------
    VoiceGrid
    """
    if isinstance(notes, VoiceGrid):
        return notes
    prepared = _Prepared(notes, float(tempo))
    prepared.check_one_piece()
    voices = {}
    for voice in VOICES:
        mine = prepared.part_names == voice
        order = np.lexsort((prepared.pitch[mine], prepared.start[mine]))
        if len(order):
            voices[voice] = (prepared.start[mine][order], prepared.end[mine][order], prepared.pitch[mine][order])
    onsets = np.unique(np.concatenate([s for s, _, _ in voices.values()])) if voices else np.empty(0)
    if len(onsets) > 1:  # onsets closer than float error are one onset
        onsets = onsets[np.r_[True, np.diff(onsets) > _EPS]]
    length = max((float(e.max()) for _, e, _ in voices.values()), default=0.0)
    beats = np.arange(max(int(math.ceil(length - _EPS)), 0), dtype=float)
    pitch = np.full((len(onsets), len(VOICES)), np.nan)
    attack = np.zeros((len(onsets), len(VOICES)), dtype=bool)
    beat_pitch = np.full((len(beats), len(VOICES)), np.nan)
    for column, voice in enumerate(VOICES):
        if voice in voices:
            pitch[:, column], attack[:, column] = _sample(*voices[voice], onsets)
            beat_pitch[:, column] = _sample(*voices[voice], beats)[0]
    return VoiceGrid(onsets, pitch, attack, beat_pitch, {v: p for v, (_, _, p) in voices.items()})


def voice_pair_transitions(grid: VoiceGrid, upper: int, lower: int) -> np.ndarray:
    """The transitions of one voice pair (see the module docstring).

    Parameters
    ----------
    grid : VoiceGrid
    upper, lower : int
        Column indices into :data:`musicalpy.names.VOICES`, ``upper < lower``.

    Returns
    -------
    np.ndarray, shape=(n_transitions, 4)
        Rows ``(u_k, u_{k+1}, l_k, l_{k+1})``, MIDI pitches.
    """
    if not 0 <= upper < lower < len(VOICES):
        raise ValueError(f"upper and lower must be voice indices 0 <= upper < lower < {len(VOICES)}, got {upper}, {lower}")
    upper_pitch, lower_pitch = grid.pitch[:, upper], grid.pitch[:, lower]
    if len(upper_pitch) < 2:
        return np.empty((0, 4))
    rows = np.stack([upper_pitch[:-1], upper_pitch[1:], lower_pitch[:-1], lower_pitch[1:]], axis=1)
    keep = np.isfinite(rows).all(axis=1) & ((rows[:, 0] != rows[:, 1]) | (rows[:, 2] != rows[:, 3]))
    return rows[keep]


def _motion(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per transition: both voices move, contrary motion, and the two |intervals|."""
    up_move, low_move = rows[:, 1] - rows[:, 0], rows[:, 3] - rows[:, 2]
    both = (up_move != 0) & (low_move != 0)
    contrary = np.sign(up_move) == -np.sign(low_move)
    return both, both & contrary, np.abs(rows[:, 0] - rows[:, 2]), np.abs(rows[:, 1] - rows[:, 3])


def _count_parallels(grid: VoiceGrid) -> dict[str, int]:
    fifths = octaves = total = 0
    for upper, lower in _PAIRS:
        rows = voice_pair_transitions(grid, upper, lower)
        both, contrary, before, after = _motion(rows)
        total += len(rows)
        fifths += int(np.sum(both & (before % 12 == 7) & (after % 12 == 7)))
        same_kind = (before == 0) == (after == 0)  # unison to unison, octave to octave
        octaves += int(np.sum(both & (before % 12 == 0) & (after % 12 == 0) & (contrary | same_kind)))
    return {"parallel_fifths": fifths, "parallel_octaves": octaves, "pair_transitions": total}


def _count_crossing(grid: VoiceGrid) -> dict[str, int]:
    crossing = overlap = total = 0
    for upper, lower in _ADJACENT:
        u0, u1, l0, l1 = voice_pair_transitions(grid, upper, lower).T
        total += len(u0)
        crossing += int(np.sum((u0 < l0) | (u1 < l1)))
        overlap += int(np.sum((u1 < l0) | (l1 > u0)))
    return {"voice_crossing": crossing, "voice_overlap": overlap, "adjacent_transitions": total}


def _count_spacing(grid: VoiceGrid) -> dict[str, int]:
    wide = total = 0
    for upper, lower in _UPPER_ADJACENT:
        both = np.isfinite(grid.pitch[:, upper]) & np.isfinite(grid.pitch[:, lower])
        total += int(both.sum())
        wide += int(np.sum(grid.pitch[both, upper] - grid.pitch[both, lower] > 12))
    return {"wide_spacing": wide, "upper_dyads": total}


def _count_range(grid: VoiceGrid) -> dict[str, int]:
    outside = sum(int(np.sum((p < VOICE_RANGES[v][0]) | (p > VOICE_RANGES[v][1]))) for v, p in grid.notes_pitch.items())
    return {"out_of_range": outside, "voice_notes": sum(len(p) for p in grid.notes_pitch.values())}


def _count_dissonance(grid: VoiceGrid) -> dict[str, int]:
    dissonant = total = 0
    for upper, lower in _PAIRS:
        upper_pitch, lower_pitch = grid.beat_pitch[:, upper], grid.beat_pitch[:, lower]
        both = np.isfinite(upper_pitch) & np.isfinite(lower_pitch)
        total += int(both.sum())
        intervals = np.abs(upper_pitch[both] - lower_pitch[both]) % 12
        dissonant += int(np.isin(intervals, DISSONANT_INTERVALS).sum())
    return {"strong_beat_dissonance": dissonant, "beat_dyads": total}


def _count_homorhythm(grid: VoiceGrid) -> dict[str, int]:
    together = int(np.sum(grid.attack.sum(axis=1) >= 3)) if grid.n_voices >= 3 else 0
    return {"homorhythm": together, "onsets": len(grid.onsets) if grid.n_voices >= 3 else 0}


# Each measure: (counter, numerator key, denominator key); rates are 100 * num / den.
_RATES = {
    "parallel_fifths": (_count_parallels, "parallel_fifths", "pair_transitions"),
    "parallel_octaves": (_count_parallels, "parallel_octaves", "pair_transitions"),
    "voice_crossing": (_count_crossing, "voice_crossing", "adjacent_transitions"),
    "voice_overlap": (_count_crossing, "voice_overlap", "adjacent_transitions"),
    "wide_spacing": (_count_spacing, "wide_spacing", "upper_dyads"),
    "out_of_range": (_count_range, "out_of_range", "voice_notes"),
    "strong_beat_dissonance": (_count_dissonance, "strong_beat_dissonance", "beat_dyads"),
    "homorhythm": (_count_homorhythm, "homorhythm", "onsets"),
}
_COUNTERS = (_count_parallels, _count_crossing, _count_spacing, _count_range, _count_dissonance, _count_homorhythm)


def _percent(hits: float, total: float) -> float:
    return 100.0 * hits / total if total else math.nan


def _rate(measure: str, notes: pd.DataFrame | VoiceGrid, tempo: float) -> float:
    counter, hits, total = _RATES[measure]
    counts = counter(voice_grid(notes, tempo=tempo))
    return _percent(counts[hits], counts[total])


def parallel_fifths(notes: pd.DataFrame | VoiceGrid, *, tempo: float = DEFAULT_TEMPO) -> float:
    """Parallel (and antiparallel) fifths per 100 transitions of the six voice pairs.

    Parameters
    ----------
    notes : pd.DataFrame or VoiceGrid
        One piece (parts Soprano, Alto, Tenor, Bass), or its :func:`voice_grid`.
    tempo : float
        For tables without beat columns.

    Returns
    -------
    float
        NaN without a transition.
    """
    return _rate("parallel_fifths", notes, tempo)


def parallel_octaves(notes: pd.DataFrame | VoiceGrid, *, tempo: float = DEFAULT_TEMPO) -> float:
    """Parallel (and antiparallel) octaves and unisons per 100 transitions of the six pairs.

    Parameters and result as for :func:`parallel_fifths`.
    """
    return _rate("parallel_octaves", notes, tempo)


def voice_crossing(notes: pd.DataFrame | VoiceGrid, *, tempo: float = DEFAULT_TEMPO) -> float:
    """Transitions of adjacent voices (S-A, A-T, T-B) with the lower voice above the
    upper at either end, per 100 adjacent-pair transitions.

    Parameters and result as for :func:`parallel_fifths`.
    """
    return _rate("voice_crossing", notes, tempo)


def voice_overlap(notes: pd.DataFrame | VoiceGrid, *, tempo: float = DEFAULT_TEMPO) -> float:
    """Transitions of adjacent voices in which one moves past its neighbour's previous
    pitch (``u_{k+1} < l_k`` or ``l_{k+1} > u_k``), per 100 adjacent-pair transitions.

    Parameters and result as for :func:`parallel_fifths`.
    """
    return _rate("voice_overlap", notes, tempo)


def wide_spacing(notes: pd.DataFrame | VoiceGrid, *, tempo: float = DEFAULT_TEMPO) -> float:
    """Share (%) of (onset, pair) cases, over the pairs soprano-alto and alto-tenor
    sounding at an onset of the union, in which the two stand more than an octave apart.

    Parameters and result as for :func:`parallel_fifths` (NaN without such a case).
    """
    return _rate("wide_spacing", notes, tempo)


def out_of_range(notes: pd.DataFrame | VoiceGrid, *, tempo: float = DEFAULT_TEMPO) -> float:
    """Share (%) of the four voices' notes outside their :data:`VOICE_RANGES`.

    Parameters and result as for :func:`parallel_fifths` (NaN without a voice note).
    """
    return _rate("out_of_range", notes, tempo)


def strong_beat_dissonance(notes: pd.DataFrame | VoiceGrid, *, tempo: float = DEFAULT_TEMPO) -> float:
    """Share (%) of the voice pairs sounding on whole beats whose interval is dissonant
    (:data:`musicalpy.metrics.DISSONANT_INTERVALS`).

    Parameters and result as for :func:`parallel_fifths` (NaN without two voices
    sounding on a beat).
    """
    return _rate("strong_beat_dissonance", notes, tempo)


def homorhythm(notes: pd.DataFrame | VoiceGrid, *, tempo: float = DEFAULT_TEMPO) -> float:
    """Share (%) of the onsets (union over the voices) at which at least three voices
    attack together.

    Parameters and result as for :func:`parallel_fifths` (NaN with fewer than three
    voices or no onset).
    """
    return _rate("homorhythm", notes, tempo)


def chord_type(pitches: Any) -> str:
    """The :data:`CHORD_TYPES` name of a sonority.

    Parameters
    ----------
    pitches : array-like of int
        MIDI pitches sounding together (any order, doublings allowed).

    Returns
    -------
    str

    Examples
    --------
    >>> chord_type([48, 55, 64, 72])
    'major triad'
    >>> chord_type([43, 59, 65, 67])
    'incomplete dominant seventh'
    """
    pitches = np.asarray(pitches, dtype=np.int64).ravel()
    if not len(pitches):
        raise ValueError("pitches is empty; a chord type needs at least one pitch")
    return CHORD_TYPES[_CHORD_OF_MASK[np.bitwise_or.reduce(1 << (pitches % 12))]]


def _chord_counts(grid: VoiceGrid) -> np.ndarray:
    sounding = np.isfinite(grid.beat_pitch)
    chords = grid.beat_pitch[sounding.sum(axis=1) >= 3]
    bits = np.where(np.isfinite(chords), 1 << (np.nan_to_num(chords).astype(np.int64) % 12), 0)
    masks = np.bitwise_or.reduce(bits, axis=1) if len(bits) else np.empty(0, dtype=np.int64)
    return np.bincount(_CHORD_OF_MASK[masks], minlength=len(CHORD_TYPES)).astype(float)


def chord_type_histogram(notes: pd.DataFrame | VoiceGrid, *, tempo: float = DEFAULT_TEMPO) -> np.ndarray:
    """Counts of the chord types at the whole beats where at least three voices sound.

    Parameters
    ----------
    notes : pd.DataFrame or VoiceGrid
        One piece or its :func:`voice_grid`.
    tempo : float
        For tables without beat columns.

    Returns
    -------
    np.ndarray, shape=(len(CHORD_TYPES),)
        Counts in :data:`CHORD_TYPES` order.
    """
    return _chord_counts(voice_grid(notes, tempo=tempo))


def chord_type_overlap(generated: Any, reference: Any) -> float:
    """Overlapping area of two chord-type distributions: ``sum_c min(p_c, q_c)``.

    Parameters
    ----------
    generated, reference : np.ndarray, shape=(len(CHORD_TYPES),)
        Chord-type counts (:func:`chord_type_histogram`, summed over a set's pieces).

    Returns
    -------
    float
        In [0, 1]; NaN when either has no chord.
    """
    p, q = (np.asarray(x, dtype=float) for x in (generated, reference))
    for name, x in (("generated", p), ("reference", q)):
        if x.shape != (len(CHORD_TYPES),) or (x < 0).any() or not np.isfinite(x).all():
            raise ValueError(f"{name} must be {len(CHORD_TYPES)} finite non-negative chord-type counts, got shape {x.shape}")
    if p.sum() == 0 or q.sum() == 0:
        return math.nan
    return float(np.minimum(p / p.sum(), q / q.sum()).sum())


def _piece_counts(grid: VoiceGrid) -> dict[str, Any]:
    counts: dict[str, Any] = {}
    for counter in _COUNTERS:
        counts.update(counter(grid))
    counts["chord_types"] = _chord_counts(grid)
    return counts


def _rates(counts: dict[str, Any]) -> dict[str, float]:
    return {m: _percent(counts[hits], counts[total]) for m, (_, hits, total) in _RATES.items()}


def piece_voice_leading(notes: pd.DataFrame | VoiceGrid, *, tempo: float = DEFAULT_TEMPO) -> dict[str, Any]:
    """Every voice-leading measure of one piece, with the counts behind it.

    Parameters
    ----------
    notes : pd.DataFrame or VoiceGrid
        One piece or its :func:`voice_grid`.
    tempo : float
        For tables without beat columns.

    Returns
    -------
    dict
        The rates of :data:`VOICE_LEADING_MEASURES` except ``chord_type_overlap`` (a
        set measure), then the counts: numerators under ``n_<measure>`` and the
        denominators ``pair_transitions``, ``adjacent_transitions``, ``upper_dyads``,
        ``voice_notes``, ``beat_dyads``, ``onsets``, and ``chord_types`` (shape
        ``(len(CHORD_TYPES),)``).
    """
    counts = _piece_counts(voice_grid(notes, tempo=tempo))
    renamed = {(f"n_{k}" if k in _RATES else k): v for k, v in counts.items()}
    return {**_rates(counts), **renamed}



def _pieces_of(notes: pd.DataFrame):
    """``(piece, table)`` of each piece of a note table, in order (no ``piece`` column: one piece)."""
    if not isinstance(notes, pd.DataFrame):
        raise TypeError(f"notes must be a note table (pandas DataFrame), got {type(notes).__name__}")
    if "piece" not in notes.columns:
        notes = notes.assign(piece="0")
    return ((str(piece), group) for piece, group in notes.groupby(notes["piece"].astype(str), sort=False))

def corpus_voice_leading(notes: pd.DataFrame, *, tempo: float = DEFAULT_TEMPO) -> pd.DataFrame:
    """:func:`piece_voice_leading` of every piece of a note table.

    Parameters
    ----------
    notes : pd.DataFrame
        Many pieces, told apart by ``piece`` (a table without it is one piece).
    tempo : float
        For tables without beat columns.

    Returns
    -------
    pd.DataFrame
        One row per piece, index ``piece``.
    """
    rows = {piece: piece_voice_leading(group, tempo=tempo) for piece, group in _pieces_of(notes)}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "piece"
    return frame


def voice_leading_summary(
    notes: pd.DataFrame, reference: pd.DataFrame | None = None, *, tempo: float = DEFAULT_TEMPO
) -> dict[str, float]:
    """The voice-leading measures of a set of pieces, pooled over its pieces.

    Counts are summed over the pieces before dividing, so a long piece weighs more
    than a short one (as every transition counts once).

    Parameters
    ----------
    notes : pd.DataFrame
        The set's note table (many pieces, by ``piece``).
    reference : pd.DataFrame, optional
        Pieces whose chord-type distribution ``chord_type_overlap`` is measured against
        (e.g. Bach's chorales); without it that measure is NaN.
    tempo : float
        For tables without beat columns.

    Returns
    -------
    dict
        :data:`VOICE_LEADING_MEASURES` to values: NaN for a measure with nothing to
        count, e.g. every measure of a one-part texture.
    """
    frame = corpus_voice_leading(notes, tempo=tempo)
    totals = {k: frame[k].sum() if len(frame) else 0
              for k in ("pair_transitions", "adjacent_transitions", "upper_dyads", "voice_notes", "beat_dyads", "onsets")}
    totals.update({m: frame[f"n_{m}"].sum() if len(frame) else 0 for m in _RATES})
    summary = _rates(totals)
    chords = np.sum(np.stack(frame["chord_types"].to_list()), axis=0) if len(frame) else np.zeros(len(CHORD_TYPES))
    if reference is None:
        summary["chord_type_overlap"] = math.nan
    else:
        ref = corpus_voice_leading(reference, tempo=tempo)
        ref_chords = np.sum(np.stack(ref["chord_types"].to_list()), axis=0) if len(ref) else np.zeros(len(CHORD_TYPES))
        summary["chord_type_overlap"] = chord_type_overlap(chords, ref_chords)
    return summary


def voice_motion(notes: pd.DataFrame, *, tempo: float = DEFAULT_TEMPO) -> pd.DataFrame:
    """How much each of the four voices moves, pooled over the pieces of a set.

    Parameters
    ----------
    notes : pd.DataFrame
        Many pieces, told apart by ``piece`` (a table without it is one piece).
    tempo : float
        For tables without beat columns.

    Returns
    -------
    pd.DataFrame
        Index :data:`musicalpy.names.VOICES`; columns ``beats_changing`` (% of the steps
        from one whole beat to the next, both sounding in that voice, at which its pitch
        changes; pooled: changes summed over the pieces, then divided by the steps),
        ``distinct_pitches`` (mean over the pieces of the pitches the voice uses; 0 for a
        piece where it is silent), and the counts ``changes`` and ``steps``. A voice that
        never sounds on two consecutive beats has ``beats_changing`` NaN.
    """
    changes, steps, distinct = np.zeros(len(VOICES)), np.zeros(len(VOICES)), []
    for _, group in _pieces_of(notes):
        grid = voice_grid(group, tempo=tempo)
        before, after = grid.beat_pitch[:-1], grid.beat_pitch[1:]
        both = np.isfinite(before) & np.isfinite(after)
        steps += both.sum(axis=0)
        changes += (both & (before != after)).sum(axis=0)
        distinct.append([len(np.unique(grid.notes_pitch[v])) if v in grid.notes_pitch else 0 for v in VOICES])
    share = np.divide(100.0 * changes, steps, out=np.full(len(VOICES), np.nan), where=steps > 0)
    mean_distinct = np.mean(distinct, axis=0) if distinct else np.full(len(VOICES), np.nan)
    return pd.DataFrame({"beats_changing": share, "distinct_pitches": mean_distinct, "changes": changes.astype(int),
                         "steps": steps.astype(int)}, index=pd.Index(list(VOICES), name="voice"))
