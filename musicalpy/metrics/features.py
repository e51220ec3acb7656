"""Per-piece features: one function per feature, the registry and the per-piece tables.

See :mod:`musicalpy.metrics` for the table of definitions and where we agree with MusPy.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._config import check_int
from ..midi import DEFAULT_TEMPO
from ..names import MODES, pitch_class_of
from .validation import _DROPPED, _check_columns, _column, _numeric, _problem_masks, _usable

__all__ = [
    "FEATURES",
    "NOTE_LENGTH_CLASSES",
    "PieceNotes",
    "n_notes",
    "n_pitched_notes",
    "length_beats",
    "pitch_range",
    "n_pitches_used",
    "n_pitch_classes_used",
    "pitch_entropy",
    "pitch_class_entropy",
    "polyphony",
    "polyphony_rate",
    "scale_consistency",
    "pitch_in_scale_rate",
    "empty_beat_rate",
    "groove_consistency",
    "note_density",
    "mean_ioi",
    "mean_abs_interval",
    "pitch_class_histogram",
    "pitch_class_transition_matrix",
    "note_length_histogram",
    "normalized_pitch_histogram",
    "VECTOR_FEATURES",
    "SCALAR_FEATURES",
    "BUDGET_FREE_FEATURES",
    "VOICE_FEATURES",
    "piece_features",
    "corpus_features",
]

#: Yang & Lerch's twelve note-length classes, in quarter notes: whole, half, quarter,
#: eighth, sixteenth, their dotted forms, and half/quarter/eighth triplets.
NOTE_LENGTH_CLASSES = pd.Series(
    [4.0, 2.0, 1.0, 0.5, 0.25, 3.0, 1.5, 0.75, 0.375, 4 / 3, 2 / 3, 1 / 3],
    index=[
        "whole", "half", "quarter", "eighth", "sixteenth",
        "dotted half", "dotted quarter", "dotted eighth", "dotted sixteenth",
        "half triplet", "quarter triplet", "eighth triplet",
    ],
    name="quarter_notes",
)
#: What :func:`validate_notes` looks for, and what :func:`clean_notes` does about it.
_EPS_TIME = 1e-6  # beats; absorbs float error from seconds -> beats conversions

_MAJOR = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=float)
_MINOR = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0], dtype=float)
# Rows 0-11: major scales on C..B; rows 12-23: natural minor scales on C..B.
_SCALES = np.stack([np.roll(_MAJOR, r) for r in range(12)] + [np.roll(_MINOR, r) for r in range(12)])


# ------------------------------------------------------------------ per-piece features


def _scale_index(scale: tuple[int | str, str]) -> int:
    try:
        root, mode = scale
    except (TypeError, ValueError):
        raise ValueError(f"scale must be (root, mode), e.g. (0, 'major') or ('F#', 'minor'), got {scale!r}") from None
    if isinstance(root, str):
        try:
            root = pitch_class_of(root)
        except ValueError:
            raise ValueError(f"scale root must be 0-11 or a note name like 'C', 'F#', 'B-' or 'Bb', got {root!r}") from None
    root = check_int("scale root", root, minimum=0)
    mode = str(mode).lower()
    if mode not in MODES:
        raise ValueError(f"scale mode must be 'major' or 'minor', got {mode!r}")
    return int(root) % 12 + (12 if mode == "minor" else 0)


def _entropy_bits(counts: np.ndarray) -> float:
    total = counts.sum()
    if total <= 0:
        return math.nan
    p = counts[counts > 0] / total
    return float(-(p * np.log2(p)).sum())


def _sounding_profile(pitch: np.ndarray, start: np.ndarray, end: np.ndarray):
    """Durations of the elementary time spans and how many distinct pitches sound in each.

    Overlapping notes of one pitch are merged first, so a pitch counts once however many
    parts play it (as in a binary piano roll, MusPy's definition)."""
    order = np.lexsort((start, pitch))
    pitch, start, end = pitch[order], start[order], end[order]
    # Offsetting each pitch into its own time band turns the per-pitch running maximum
    # of note ends into one global running maximum.
    band = (end.max() - min(start.min(), 0.0) + 1.0) * pitch
    run_end = np.maximum.accumulate(end + band)
    first = np.ones(len(start), dtype=bool)
    first[1:] = start[1:] + band[1:] > run_end[:-1]
    begins = np.flatnonzero(first)
    lasts = np.r_[begins[1:] - 1, len(start) - 1]
    merged_start = start[begins]
    merged_end = run_end[lasts] - band[begins]
    times, inverse = np.unique(np.r_[merged_start, merged_end], return_inverse=True)
    delta = np.bincount(inverse, weights=np.r_[np.ones(len(begins)), -np.ones(len(begins))],
                        minlength=len(times))
    counts = np.cumsum(delta)[:-1]
    return np.diff(times), np.rint(counts)


def _options(tempo, beats_per_measure, steps_per_beat, scale, polyphony_threshold) -> dict[str, Any]:
    if not (isinstance(tempo, (int, float)) and 1.0 <= float(tempo) <= 1000.0):
        raise ValueError(f"tempo must be between 1 and 1000 quarter notes per minute, got {tempo!r}")
    if polyphony_threshold < 0:
        raise ValueError(f"polyphony_threshold must be >= 0, got {polyphony_threshold!r}")
    return {"tempo": float(tempo), "beats_per_measure": check_int("beats_per_measure", beats_per_measure),
            "steps_per_beat": check_int("steps_per_beat", steps_per_beat), "scale_index": _scale_index(scale),
            "polyphony_threshold": polyphony_threshold}


class _Prepared:
    """The usable notes of a raw table as arrays (times in beats), plus problem counts."""

    def __init__(self, notes: pd.DataFrame, tempo: float):
        _check_columns(notes)
        masks = _problem_masks(notes)
        usable = _usable(masks, len(notes))
        self.masks = masks
        self.usable = usable
        self.piece = np.asarray(_column(notes, "piece", ""), dtype=object).astype(str)
        # Beats where the table has them; seconds at the tempo elsewhere.
        start = _numeric(notes, "start") * tempo / 60.0
        end = _numeric(notes, "end") * tempo / 60.0
        if "start_beat" in notes.columns and "end_beat" in notes.columns:
            from_beats = ~masks["missing_beats"]
            start = np.where(from_beats, _numeric(notes, "start_beat"), start)
            end = np.where(from_beats, _numeric(notes, "end_beat"), end)
        self.start = start[usable]
        self.end = end[usable]
        self.pitch = np.rint(_numeric(notes, "pitch")[usable]).astype(np.int64)
        self.part = pd.factorize(pd.Series(_column(notes, "part", "0")[usable]).astype(str))[0]
        drum = _column(notes, "is_drum", False)
        self.is_drum = pd.Series(drum[usable]).fillna(False).astype(bool).to_numpy()
        self.part_names = pd.Series(_column(notes, "part", "0")[usable]).astype(str).to_numpy()

    def check_one_piece(self) -> None:
        pieces = pd.unique(self.piece)
        if len(pieces) > 1:
            raise ValueError(
                f"notes holds {len(pieces)} pieces ({list(pieces[:3])}...); piece features take one "
                "piece: use corpus_features for a table of many pieces"
            )


class PieceNotes:
    """The usable notes of one piece as arrays, the input of every feature function.

    :func:`piece_features` and :func:`corpus_features` build one per piece (or part)
    and hand it to every function of :data:`FEATURES`; the intermediate results that
    several features share (pitch counts, the sounding profile, consecutive notes) are
    computed once, on first use. A feature function called on a note table builds one
    with :meth:`from_table`.

    Parameters
    ----------
    pitch : np.ndarray, shape=(n,), dtype=int64
        MIDI pitches of the usable notes.
    start, end : np.ndarray, shape=(n,), dtype=float
        Onsets and offsets in beats (quarter notes) from beat 0.
    part : np.ndarray, shape=(n,), dtype=int
        Part codes (any integers; equal codes mean one part).
    is_drum : np.ndarray, shape=(n,), dtype=bool
        Drum notes, left out of the pitch features.
    length : float
        Piece length ``L`` in beats (the end of its last note; a part keeps its
        piece's length).
    beats_per_measure, steps_per_beat, scale_index, polyphony_threshold
        The options of :func:`piece_features`, ``scale_index`` being 0-11 for the major
        scales on C..B and 12-23 for the natural minor scales.
    """

    def __init__(
        self,
        pitch: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        part: np.ndarray,
        is_drum: np.ndarray,
        length: float,
        *,
        beats_per_measure: int = 4,
        steps_per_beat: int = 24,
        scale_index: int = 0,
        polyphony_threshold: float = 2,
    ):
        self.pitch, self.start, self.end, self.part, self.is_drum = pitch, start, end, part, is_drum
        self.length = length
        self.beats_per_measure = beats_per_measure
        self.steps_per_beat = steps_per_beat
        self.scale_index = scale_index
        self.polyphony_threshold = polyphony_threshold
        pitched = ~is_drum
        self.p_pitch, self.p_start, self.p_end, self.p_part = pitch[pitched], start[pitched], end[pitched], part[pitched]

    @classmethod
    def from_table(
        cls,
        notes: pd.DataFrame,
        *,
        tempo: float = DEFAULT_TEMPO,
        beats_per_measure: int = 4,
        steps_per_beat: int = 24,
        scale: tuple[int | str, str] = (0, "major"),
        polyphony_threshold: int = 2,
    ) -> PieceNotes:
        """The usable notes of a one-piece note table (options as in :func:`piece_features`)."""
        options = _options(tempo, beats_per_measure, steps_per_beat, scale, polyphony_threshold)
        prepared = _Prepared(notes, options.pop("tempo"))
        prepared.check_one_piece()
        length = float(prepared.end.max()) if len(prepared.end) else 0.0
        return cls(prepared.pitch, prepared.start, prepared.end, prepared.part, prepared.is_drum, length,
                   **options)

    @property
    def n(self) -> int:
        """Number of notes, drums included."""
        return len(self.pitch)

    @property
    def n_pitched(self) -> int:
        """Number of non-drum notes."""
        return len(self.p_pitch)

    @property
    def has_rhythm(self) -> bool:
        """True when rhythm features are defined: notes and a positive length."""
        return bool(self.n and self.length > 0)

    @functools.cached_property
    def pitch_counts(self) -> np.ndarray:
        """shape=(128,), float: notes per MIDI pitch (drums left out)."""
        return np.bincount(self.p_pitch, minlength=128).astype(float)

    @functools.cached_property
    def pitch_class_counts(self) -> np.ndarray:
        """shape=(12,), float: notes per pitch class (drums left out)."""
        return np.bincount(self.p_pitch % 12, minlength=12).astype(float)

    @functools.cached_property
    def sounding(self) -> tuple[np.ndarray, np.ndarray]:
        """Durations (beats) of the elementary time spans of the pitched notes and the
        number of distinct pitches sounding in each (both shape=(n_spans,))."""
        return _sounding_profile(self.p_pitch, self.p_start, self.p_end)

    @functools.cached_property
    def scale_counts(self) -> np.ndarray:
        """shape=(24,): pitched notes inside each major (0-11) and natural minor (12-23)
        scale."""
        return _SCALES @ self.pitch_class_counts

    @functools.cached_property
    def consecutive(self) -> tuple[np.ndarray, np.ndarray]:
        """Pitches of every pair of consecutive pitched notes of a part (ordered by onset,
        then pitch): ``(first, second)``, both shape=(n_pairs,)."""
        order = np.lexsort((self.p_pitch, self.p_start, self.p_part))
        sorted_pitch, sorted_part = self.p_pitch[order], self.p_part[order]
        same_part = sorted_part[1:] == sorted_part[:-1]
        return sorted_pitch[:-1][same_part], sorted_pitch[1:][same_part]


def _feature(function: Callable[[PieceNotes], Any]) -> Callable[..., Any]:
    """Let a feature function take a note table (with the options of
    :func:`piece_features`) as well as a :class:`PieceNotes`."""

    @functools.wraps(function)
    def wrapper(notes: pd.DataFrame | PieceNotes, **options: Any) -> Any:
        if not isinstance(notes, PieceNotes):
            notes = PieceNotes.from_table(notes, **options)
        elif options:
            raise TypeError(f"{function.__name__}: options are given when building the PieceNotes, not here")
        return function(notes)

    # help() and IDEs show the signature callers use, not the PieceNotes-only one.
    del wrapper.__wrapped__
    wrapper.__annotations__ = {"notes": "pd.DataFrame | PieceNotes", "options": "Any",
                               "return": function.__annotations__.get("return", "Any")}
    wrapper.__doc__ = inspect.cleandoc(function.__doc__ or "") + _FEATURE_PARAMETERS
    # Flags read by BUDGET_FREE_FEATURES and VOICE_FEATURES; the decorators below change them.
    wrapper.budget_free = True
    wrapper.within_parts = False
    return wrapper


def _set_by_budget(feature: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a feature that the generation budget decides: it grows with the length of
    the piece (a count or an extreme), so it measures how long a sample was asked to be,
    not how it is written."""
    feature.budget_free = False
    return feature


def _within_parts(feature: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a feature that follows the notes of one part (a voice's melodic line); it has
    no meaning for a model whose output is one part holding the whole texture."""
    feature.within_parts = True
    return feature


_FEATURE_PARAMETERS = """

Parameters
----------
notes : pd.DataFrame or PieceNotes
    The note table of one piece (possibly broken: unusable notes are left out), or
    the :class:`PieceNotes` that :func:`piece_features` builds.
**options
    For a note table: ``tempo``, ``beats_per_measure``, ``steps_per_beat``, ``scale``,
    ``polyphony_threshold``, as in :func:`piece_features`.
"""


# Every feature below reads the note table's pitch, start/end (or start_beat/end_beat)
# and is_drum columns; the ones that follow notes within a part also read part. Each
# takes a note table of one piece (plus the options of piece_features) or a PieceNotes.


@_set_by_budget
@_feature
def n_notes(notes: PieceNotes) -> int:
    """Number of usable notes, drums included (Yang & Lerch "note count"). Unit: notes.
    Reads ``pitch``, ``start``, ``end``."""
    return notes.n


@_set_by_budget
@_feature
def n_pitched_notes(notes: PieceNotes) -> int:
    """Number of usable non-drum notes. Unit: notes. Reads ``pitch``, ``is_drum``."""
    return notes.n_pitched


@_set_by_budget
@_feature
def length_beats(notes: PieceNotes) -> float:
    """Piece length ``L``: the end of the last note, in beats (quarter notes) from beat 0
    (0 for an empty piece). Reads ``end`` or ``end_beat``."""
    return float(notes.length)


@_set_by_budget
@_feature
def pitch_range(notes: PieceNotes) -> float:
    """Highest minus lowest pitch of the pitched notes, in semitones (MusPy); NaN without
    pitched notes. Reads ``pitch``, ``is_drum``."""
    return float(notes.p_pitch.max() - notes.p_pitch.min()) if notes.n_pitched else math.nan


@_set_by_budget
@_feature
def n_pitches_used(notes: PieceNotes) -> int:
    """Distinct MIDI pitches among the pitched notes (MusPy; Yang & Lerch "pitch
    count"). Unit: pitches. Reads ``pitch``, ``is_drum``."""
    return int(np.count_nonzero(notes.pitch_counts))


@_set_by_budget
@_feature
def n_pitch_classes_used(notes: PieceNotes) -> int:
    """Distinct pitch classes (0-12) among the pitched notes (MusPy). Reads ``pitch``,
    ``is_drum``."""
    return int(np.count_nonzero(notes.pitch_class_counts))


@_feature
def pitch_entropy(notes: PieceNotes) -> float:
    """Shannon entropy of the 128-bin pitch histogram, in bits (MusPy); NaN without
    pitched notes. Reads ``pitch``, ``is_drum``."""
    return _entropy_bits(notes.pitch_counts)


@_feature
def pitch_class_entropy(notes: PieceNotes) -> float:
    """Shannon entropy of the 12-bin pitch-class histogram, in bits (MusPy); NaN without
    pitched notes. Reads ``pitch``, ``is_drum``."""
    return _entropy_bits(notes.pitch_class_counts)


@_feature
def polyphony(notes: PieceNotes) -> float:
    """Mean number of distinct pitches sounding, over the time when at least one sounds
    (MusPy); a pitch played by two parts at once counts once. Unit: pitches. NaN
    without pitched notes. Reads ``pitch``, ``start``, ``end``, ``is_drum``."""
    if not notes.n_pitched:
        return math.nan
    durations, sounding = notes.sounding
    any_time = durations[sounding > 0].sum()
    return float((durations * sounding).sum() / any_time) if any_time > 0 else math.nan


@_feature
def polyphony_rate(notes: PieceNotes) -> float:
    """Fraction of ``[0, L)`` during which more than ``polyphony_threshold`` distinct
    pitches sound (MusPy, after MuseGAN's "polyphonicity"; the default threshold 2 is
    MusPy's). Unit: fraction of time, 0-1. NaN for an empty piece. Reads ``pitch``,
    ``start``, ``end``, ``is_drum``."""
    if not notes.n_pitched:
        return 0.0 if notes.length > 0 else math.nan
    durations, sounding = notes.sounding
    over = durations[sounding > notes.polyphony_threshold].sum()
    return float(over / notes.length) if notes.length > 0 else math.nan


@_feature
def scale_consistency(notes: PieceNotes) -> float:
    """Largest fraction of the pitched notes inside one major or natural-minor scale,
    over the 24 scales (MusPy, after C-RNN-GAN). Unit: fraction of notes, 0-1. NaN
    without pitched notes. Reads ``pitch``, ``is_drum``."""
    return float(notes.scale_counts.max() / notes.n_pitched) if notes.n_pitched else math.nan


@_feature
def pitch_in_scale_rate(notes: PieceNotes) -> float:
    """Fraction of the pitched notes inside the scale given by the ``scale`` option
    (default C major, as in MuseGAN where the data is transposed to C) (MusPy). Unit:
    fraction of notes, 0-1. NaN without pitched notes. Reads ``pitch``, ``is_drum``."""
    return float(notes.scale_counts[notes.scale_index] / notes.n_pitched) if notes.n_pitched else math.nan


@_feature
def empty_beat_rate(notes: PieceNotes) -> float:
    """Fraction of the ``ceil(L)`` beats ``[b, b + 1)`` that no note (drums included)
    overlaps. Unit: fraction of beats, 0-1. NaN for an empty piece. Reads ``start``,
    ``end`` (or the beat columns)."""
    if not notes.has_rhythm:
        return math.nan
    n_beats = max(int(math.ceil(notes.length - _EPS_TIME)), 1)
    first_beat = np.floor(notes.start + _EPS_TIME).astype(np.int64)
    stop_beat = np.maximum(np.ceil(notes.end - _EPS_TIME).astype(np.int64), first_beat + 1)
    cover = np.zeros(n_beats + 1)
    np.add.at(cover, np.minimum(first_beat, n_beats), 1)
    np.add.at(cover, np.minimum(stop_beat, n_beats), -1)
    return float(np.mean(np.cumsum(cover)[:n_beats] <= 0))


@_feature
def groove_consistency(notes: PieceNotes) -> float:
    """One minus the mean Hamming distance between the onset patterns of neighbouring
    measures of ``beats_per_measure`` beats, on a grid of ``steps_per_beat`` steps per
    beat (MusPy, after Wu & Yang). Unit: 0-1 (1: every measure has the same onsets).
    NaN with fewer than two measures. Reads ``start``, ``end`` (or the beat columns)."""
    if not notes.has_rhythm:
        return math.nan
    steps = notes.steps_per_beat
    measure_steps = steps * notes.beats_per_measure
    n_measures = max(int(math.ceil(notes.length * steps / measure_steps - _EPS_TIME)), 1)
    if n_measures < 2:
        return math.nan
    onset_step = np.clip(np.rint(notes.start * steps).astype(np.int64), 0, n_measures * measure_steps - 1)
    grid = np.zeros(n_measures * measure_steps, dtype=bool)
    grid[onset_step] = True
    grid = grid.reshape(n_measures, measure_steps)
    changes = np.count_nonzero(grid[1:] != grid[:-1])
    return float(1.0 - changes / (measure_steps * (n_measures - 1)))


@_feature
def note_density(notes: PieceNotes) -> float:
    """Notes (drums included) per beat: ``n_notes / L``. NaN for an empty piece. Reads
    ``start``, ``end`` (or the beat columns)."""
    return float(notes.n / notes.length) if notes.has_rhythm else math.nan


def _distinct_onsets(start: np.ndarray) -> np.ndarray:
    # Rounded to a millionth of a beat so float noise does not split one onset in two.
    return np.unique(np.round(start, 6))


@_feature
def mean_ioi(notes: PieceNotes) -> float:
    """Mean interval between consecutive distinct onsets (drums included), in beats
    (Yang & Lerch "average inter-onset interval"). NaN with fewer than two onsets.
    Reads ``start`` (or ``start_beat``)."""
    if not notes.has_rhythm:
        return math.nan
    onsets = _distinct_onsets(notes.start)
    return float(np.diff(onsets).mean()) if len(onsets) >= 2 else math.nan


@_within_parts
@_feature
def mean_abs_interval(notes: PieceNotes) -> float:
    """Mean absolute interval between consecutive pitched notes of a part (ordered by
    onset, then pitch, so a chord gives its ascending intervals), in semitones (Yang &
    Lerch "average pitch interval"). NaN without two notes in a part. Reads ``pitch``,
    ``start``, ``part``, ``is_drum``."""
    first, second = notes.consecutive
    return float(np.abs(second - first).mean()) if len(first) else math.nan


@_feature
def pitch_class_histogram(notes: PieceNotes) -> np.ndarray:
    """shape=(12,): share of the pitched notes on each pitch class C..B (Yang & Lerch);
    sums to 1, all NaN without pitched notes. Reads ``pitch``, ``is_drum``."""
    return notes.pitch_class_counts / notes.n_pitched if notes.n_pitched else np.full(12, math.nan)


@_within_parts
@_feature
def pitch_class_transition_matrix(notes: PieceNotes) -> np.ndarray:
    """shape=(12, 12): share of the consecutive note pairs of a part (as in
    :func:`mean_abs_interval`) going from pitch class ``row`` to pitch class ``column``
    (Yang & Lerch); sums to 1, all NaN without two notes in a part. Reads ``pitch``,
    ``start``, ``part``, ``is_drum``."""
    first, second = notes.consecutive
    if not len(first):
        return np.full((12, 12), math.nan)
    pairs = np.bincount((first % 12) * 12 + second % 12, minlength=144).astype(float)
    return (pairs / len(first)).reshape(12, 12)


@_feature
def note_length_histogram(notes: PieceNotes) -> np.ndarray:
    """shape=(12,): share of the pitched notes whose length (beats) is nearest to each of
    :data:`NOTE_LENGTH_CLASSES` (Yang & Lerch); all NaN without pitched notes. Reads
    ``start``, ``end`` (or the beat columns), ``is_drum``."""
    if not notes.n_pitched:
        return np.full(12, math.nan)
    lengths = notes.p_end - notes.p_start
    nearest = np.abs(lengths[:, None] - NOTE_LENGTH_CLASSES.to_numpy()[None, :]).argmin(axis=1)
    return np.bincount(nearest, minlength=12) / notes.n_pitched


@_feature
def normalized_pitch_histogram(notes: PieceNotes) -> np.ndarray:
    """shape=(128,): share of the pitched notes on each MIDI pitch (the feature
    ``pitch_histogram``; :func:`pitch_histogram` gives the raw counts); all NaN without
    pitched notes. Reads ``pitch``, ``is_drum``."""
    return notes.pitch_counts / notes.n_pitched if notes.n_pitched else np.full(128, math.nan)


#: Every per-piece feature, name -> function, in the order :func:`piece_features` and
#: :func:`corpus_features` return them. A new feature is one function above and one
#: line here (plus :data:`VECTOR_FEATURES` when it is not a scalar).
FEATURES: dict[str, Callable[..., Any]] = {
    "n_notes": n_notes,
    "n_pitched_notes": n_pitched_notes,
    "length_beats": length_beats,
    "pitch_range": pitch_range,
    "n_pitches_used": n_pitches_used,
    "n_pitch_classes_used": n_pitch_classes_used,
    "pitch_entropy": pitch_entropy,
    "pitch_class_entropy": pitch_class_entropy,
    "polyphony": polyphony,
    "polyphony_rate": polyphony_rate,
    "scale_consistency": scale_consistency,
    "pitch_in_scale_rate": pitch_in_scale_rate,
    "empty_beat_rate": empty_beat_rate,
    "groove_consistency": groove_consistency,
    "note_density": note_density,
    "mean_ioi": mean_ioi,
    "mean_abs_interval": mean_abs_interval,
    "pitch_class_histogram": pitch_class_histogram,
    "pitch_class_transition_matrix": pitch_class_transition_matrix,
    "note_length_histogram": note_length_histogram,
    "pitch_histogram": normalized_pitch_histogram,
}
#: Vector features and their shapes.
VECTOR_FEATURES = {
    "pitch_class_histogram": (12,),
    "pitch_class_transition_matrix": (12, 12),
    "note_length_histogram": (12,),
    "pitch_histogram": (128,),
}
#: Scalar features, in the order :func:`piece_features` returns them.
SCALAR_FEATURES = tuple(name for name in FEATURES if name not in VECTOR_FEATURES)
#: Features that do not depend on the generation budget, in registry order: every
#: feature except the counts and extremes that grow with the length of a piece
#: (``n_notes``, ``n_pitched_notes``, ``length_beats``, ``pitch_range``,
#: ``n_pitches_used``, ``n_pitch_classes_used``). Rates, means and normalized histograms
#: stay; a mean OA is taken over these (:func:`mean_oa`).
BUDGET_FREE_FEATURES = tuple(name for name, function in FEATURES.items() if function.budget_free)
#: Features that follow the notes within one part (``mean_abs_interval``,
#: ``pitch_class_transition_matrix``): not applicable to a one-part texture such as the
#: VAE's piano roll (see :func:`mark_not_applicable`).
VOICE_FEATURES = tuple(name for name, function in FEATURES.items() if function.within_parts)


def _all_features(notes: PieceNotes, flag_counts: Mapping[str, int]) -> dict[str, Any]:
    """Every feature of :data:`FEATURES` plus the ``flag`` of one piece or part."""
    feats = {name: function(notes) for name, function in FEATURES.items()}
    feats["flag"] = _flags(flag_counts, notes.n, notes.n_pitched, len(_distinct_onsets(notes.start)))
    return feats


def _flags(problem_counts: Mapping[str, int], n: int, n_pitched: int, n_onsets: int) -> str:
    flags = [f"{name}:{count}" for name, count in problem_counts.items() if count]
    if n == 0:
        flags.append("no_notes")
    elif n_pitched == 0:
        flags.append("no_pitched_notes")
    if n >= 2 and n_onsets == 1:
        flags.append("single_onset")
    return ";".join(flags)


def piece_features(
    notes: pd.DataFrame,
    *,
    by_part: bool = False,
    tempo: float = DEFAULT_TEMPO,
    beats_per_measure: int = 4,
    steps_per_beat: int = 24,
    scale: tuple[int | str, str] = (0, "major"),
    polyphony_threshold: int = 2,
) -> dict[str, Any] | pd.DataFrame:
    """Musical features of one piece (or one generated sample).

    Parameters
    ----------
    notes : pd.DataFrame
        The note table of one piece, possibly broken (unusable notes are left out and
        flagged). More than one value in its ``piece`` column is an error: use
        :func:`corpus_features`.
    by_part : bool
        False: one set of features over all parts. True: one row per part; the piece
        length ``L`` stays the whole piece's, so a part that rests has empty beats.
    tempo : float
        Quarter notes per minute used to turn seconds into beats when the table has no
        ``start_beat``/``end_beat`` columns.
    beats_per_measure : int
        Measure length for ``groove_consistency``.
    steps_per_beat : int
        Onset grid for ``groove_consistency`` (24 is MusPy's default resolution and holds
        sixteenths and eighth triplets).
    scale : (root, mode)
        Scale of ``pitch_in_scale_rate``: root 0-11 or a note name, mode ``"major"`` or
        ``"minor"``.
    polyphony_threshold : int
        ``polyphony_rate`` counts the time with strictly more than this many pitches.

    Returns
    -------
    features : dict or pd.DataFrame
        ``{name: value}`` for every function of :data:`FEATURES` (scalars, and numpy
        arrays for the vector features) plus ``flag``; with ``by_part=True`` a DataFrame
        with one row per part (index ``part``, in order of appearance) and those columns.
    """
    options = _options(tempo, beats_per_measure, steps_per_beat, scale, polyphony_threshold)
    prepared = _Prepared(notes, options.pop("tempo"))
    prepared.check_one_piece()
    counts = {name: int(prepared.masks[name].sum()) for name in _DROPPED}
    length = float(prepared.end.max()) if len(prepared.end) else 0.0
    if not by_part:
        whole = PieceNotes(prepared.pitch, prepared.start, prepared.end, prepared.part, prepared.is_drum,
                           length, **options)
        return _all_features(whole, counts)
    rows = {}
    for code, name in enumerate(pd.unique(prepared.part_names)):
        keep = prepared.part == code
        one_part = PieceNotes(prepared.pitch[keep], prepared.start[keep], prepared.end[keep],
                              prepared.part[keep], prepared.is_drum[keep], length, **options)
        rows[name] = _all_features(one_part, {})
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "part"
    return frame


def corpus_features(
    notes: pd.DataFrame | Sequence[pd.DataFrame],
    *,
    tempo: float = DEFAULT_TEMPO,
    beats_per_measure: int = 4,
    steps_per_beat: int = 24,
    scale: tuple[int | str, str] = (0, "major"),
    polyphony_threshold: int = 2,
) -> pd.DataFrame:
    """Features of every piece of a note table, one row per piece.

    Parameters
    ----------
    notes : pd.DataFrame or sequence of pd.DataFrame
        A note table with many pieces (grouped by its ``piece`` column), or a list of
        note tables, one piece each (named by their ``piece`` value when it is unique
        and unused, else by their position ``"0"``, ``"1"``, ...). Broken tables are
        accepted, as in :func:`piece_features`.
    tempo, beats_per_measure, steps_per_beat, scale, polyphony_threshold
        As in :func:`piece_features`.

    Returns
    -------
    features : pd.DataFrame
        Index ``piece`` (in order of first appearance); the scalar features, the vector
        features (object columns holding numpy arrays) and ``flag``. A piece whose
        notes are all unusable still has its row (``flag`` says ``no_notes``).
    """
    options = _options(tempo, beats_per_measure, steps_per_beat, scale, polyphony_threshold)
    if not isinstance(notes, pd.DataFrame):
        notes = _concat_pieces(notes)
    prepared = _Prepared(notes, options.pop("tempo"))
    codes, names = pd.factorize(pd.Series(prepared.piece), sort=False)
    n_pieces = len(names)
    problem_counts = {name: np.bincount(codes[prepared.masks[name]], minlength=n_pieces)
                      for name in _DROPPED}
    usable_codes = codes[prepared.usable]
    order = np.argsort(usable_codes, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(usable_codes, minlength=n_pieces))]
    arrays = [prepared.pitch[order], prepared.start[order], prepared.end[order],
              prepared.part[order], prepared.is_drum[order]]
    rows = []
    for index in range(n_pieces):
        lo, hi = bounds[index], bounds[index + 1]
        pitch, start, end, part, is_drum = (a[lo:hi] for a in arrays)
        length = float(end.max()) if hi > lo else 0.0
        counts = {name: int(problem_counts[name][index]) for name in _DROPPED}
        rows.append(_all_features(PieceNotes(pitch, start, end, part, is_drum, length, **options), counts))
    frame = pd.DataFrame(rows, index=pd.Index([str(x) for x in names], name="piece"))
    if frame.empty:
        frame = pd.DataFrame(columns=[*SCALAR_FEATURES, *VECTOR_FEATURES, "flag"],
                             index=pd.Index([], name="piece"))
    return frame


def _concat_pieces(tables: Iterable[pd.DataFrame]) -> pd.DataFrame:
    frames, used = [], set()
    for index, table in enumerate(tables):
        _check_columns(table, f"notes[{index}]")
        values = pd.unique(table["piece"].astype(str)) if "piece" in table.columns else []
        name = str(values[0]) if len(values) == 1 and values[0] and values[0] not in used else str(index)
        while name in used:
            name = f"{name}_{index}"
        used.add(name)
        frames.append(table.assign(piece=name))
    if not frames:
        return pd.DataFrame({"piece": [], "pitch": [], "start": [], "end": []})
    return pd.concat(frames, ignore_index=True)


