"""Evaluate generated music: per-piece features, set-vs-set comparison, bits per token.

Four parts, in the order an evaluation needs them:

1. **Bad input.** :func:`validate_notes` reports what is wrong with a (generated) note
   table, :func:`clean_notes` fixes it on request and says what it did. The feature
   functions accept raw, broken tables: unusable notes are left out and named in the
   ``flag`` of the result, and a feature that is undefined is NaN, never an exception.
2. **Per-piece features.** One function per feature (:func:`pitch_range`,
   :func:`polyphony`, ...), each taking a one-piece note table; :data:`FEATURES` lists
   them in order, and :func:`piece_features` (one piece, optionally per part) and
   :func:`corpus_features` (one row per piece of a table with many pieces) compute all
   of them.
3. **Set vs set.** :func:`compare_sets` puts generated pieces next to reference pieces,
   feature by feature, with the relative measures of Yang & Lerch [2]_ (overlapping area
   and KL divergence of distance distributions) and the KL divergence of the pooled pitch
   histograms (:func:`pitch_histogram_kl`);
   :func:`musicalpy.render.figures.plot_feature_distributions` and
   :func:`musicalpy.render.figures.plot_overlap` draw them.
4. **Likelihood accounting.** :func:`bits_per_token` and :func:`bits_per_note`; the
   :class:`musicalpy.leaderboard.Leaderboard` collects one row per model.

:func:`vertical_dissonance` measures piano rolls (the VAE's output) rather than note
tables. :func:`mutual_information` and :func:`uncertainty_coefficient` measure how much
one discrete sequence (an HMM's states, a note's onset gap) says about another;
:func:`note_coherence` applies them to note classes (how much pitch and rhythm depend
on each other), and :func:`quantization_drift` measures what rounding durations to the
classes of quantized tokens costs.

Features
--------
Each feature is a function of the same name (the ``pitch_histogram`` feature is
:func:`normalized_pitch_histogram`, since :func:`pitch_histogram` gives raw counts) that
takes a one-piece note table, or the :class:`PieceNotes` that :func:`piece_features`
builds once per piece. Pitch features ignore drum notes, as MusPy [1]_ does; rhythm features (empty beats,
groove, density, inter-onset intervals, piece length) use every note, drums included,
again as MusPy does.

==============================  ==========================================================
feature                         definition (``P`` = pitched notes, ``L`` = piece length)
==============================  ==========================================================
``n_notes``                     number of notes (Yang & Lerch "note count")
``n_pitched_notes``             number of non-drum notes
``length_beats``                ``L``: end of the last note, in beats from beat 0
``pitch_range``                 highest minus lowest pitch of ``P`` (MusPy)
``n_pitches_used``              distinct pitches in ``P`` (MusPy; Yang & Lerch "pitch count")
``n_pitch_classes_used``        distinct pitch classes in ``P`` (MusPy)
``pitch_entropy``               Shannon entropy (bits) of the 128-bin pitch histogram (MusPy)
``pitch_class_entropy``         Shannon entropy (bits) of the pitch-class histogram (MusPy)
``polyphony``                   mean number of distinct pitches sounding, over the time
                                when at least one sounds (MusPy)
``polyphony_rate``              fraction of ``[0, L)`` with more than ``polyphony_threshold``
                                distinct pitches sounding (MusPy, after MuseGAN's
                                "polyphonicity"; the default threshold 2 is MusPy's)
``scale_consistency``           largest fraction of ``P`` inside one major or natural-minor
                                scale, over the 24 scales (MusPy, after C-RNN-GAN)
``pitch_in_scale_rate``         fraction of ``P`` inside the scale given by ``scale``
                                (default C major, as in MuseGAN where the data is
                                transposed to C) (MusPy)
``empty_beat_rate``             fraction of the ``ceil(L)`` beats in which no note sounds
``groove_consistency``          one minus the mean Hamming distance between the onset
                                patterns of neighbouring measures (MusPy, after Wu & Yang)
``note_density``                notes per beat: ``n_notes / L``
``mean_ioi``                    mean interval (beats) between consecutive distinct onsets
                                (Yang & Lerch "average inter-onset interval")
``mean_abs_interval``           mean absolute interval (semitones) between consecutive
                                notes of a part (Yang & Lerch "average pitch interval")
``pitch_class_histogram``       shape (12,): normalized pitch-class counts (Yang & Lerch)
``pitch_class_transition_matrix``  shape (12, 12): normalized counts of pitch-class pairs
                                of consecutive notes of a part (Yang & Lerch)
``note_length_histogram``       shape (12,): note lengths snapped to the nearest of
                                :data:`NOTE_LENGTH_CLASSES` (Yang & Lerch)
``pitch_histogram``             shape (128,): normalized pitch counts
==============================  ==========================================================

"Consecutive notes of a part" means the part's notes ordered by onset, then pitch, so a
chord contributes its ascending intervals.

Each feature carries two flags in the registry. The six counts and extremes that grow
with the length of a piece (``n_notes``, ``n_pitched_notes``, ``length_beats``,
``pitch_range``, ``n_pitches_used``, ``n_pitch_classes_used``) are set by the generation
budget; the others form :data:`BUDGET_FREE_FEATURES`, the features a mean OA is taken
over (:func:`mean_oa`). ``mean_abs_interval`` and ``pitch_class_transition_matrix``
follow the notes of one part (:data:`VOICE_FEATURES`): :func:`mark_not_applicable`
blanks them for a one-part texture. Comparisons over several sampling seeds are
summarized by :func:`seed_spread`, and :func:`spread_verdict` names a winner only when
the gap exceeds the spread.

Time
----
Beat-based features use the ``start_beat``/``end_beat`` columns when the table has them,
else ``start``/``end`` seconds at ``tempo`` quarter notes per minute (argument, default
:data:`musicalpy.midi.DEFAULT_TEMPO` = 120). A beat is a quarter note; a measure is
``beats_per_measure`` beats counted from beat 0 (the note table has no time signature,
so a pickup measure shifts the measure grid, for MusPy too). Time 0 is the start of the
piece: leading silence counts as empty beats and lowers the note density.

Where we agree with MusPy, and where not
-----------------------------------------
The test suite checks on real chorales that ``pitch_range``, ``n_pitches_used``,
``n_pitch_classes_used``, both entropies, ``polyphony``, ``polyphony_rate``,
``scale_consistency``, ``pitch_in_scale_rate`` and ``groove_consistency`` (with
``steps_per_beat=24``, MusPy's resolution) equal ``muspy``'s values. Differences, on
purpose:

* ``empty_beat_rate``: MusPy marks the beat in which a note *ends* as sounding even when
  the note ends exactly on that beat's downbeat, and counts one beat more than the piece
  has, so a one-beat rest between two notes is not seen. We count beat ``b`` as
  sounding when a note overlaps ``[b, b + 1)``.
* ``groove_consistency``: when ``L`` is a whole number of measures MusPy adds an empty
  measure at the end; we do not.
* Undefined values: MusPy returns a pitch range of 0 for a piece without pitched notes;
  we return NaN. Polyphony and polyphony rate are computed in continuous time, so they
  need no resolution and equal MusPy's wherever notes lie on MusPy's grid.

NaN and flags
-------------
Every result carries a ``flag`` string (``""`` when all is well), ``;``-separated:
``<problem>:<count>`` for notes left out (see :func:`validate_notes`), ``no_notes``,
``no_pitched_notes`` and ``single_onset``. A feature that cannot be computed is NaN:
pitch features without pitched notes, entropies and histograms without notes,
``mean_ioi`` with fewer than two distinct onsets, ``mean_abs_interval`` and the
transition matrix without two notes in a part, ``groove_consistency`` with fewer than two
measures, every beat-based rate for an empty piece. Counts (``n_notes``,
``n_pitches_used``, ...) are 0, never NaN.

Likelihood accounting
---------------------
Every model is scored the same way on the held-out split: the total log-likelihood, in
nats, of the test pieces in the model's own representation, turned into

* **bits per token** = ``-loglik / (n_tokens * ln 2)`` (:func:`bits_per_token`), only
  comparable between models over the same representation, and
* **bits per note** = ``-loglik / (n_notes * ln 2)`` (:func:`bits_per_note`), where
  ``n_notes`` counts the notes of the test pieces (the note table rows the tokens
  encode). This is the code length of the music per note, so models over different
  representations (pitch tokens, events, quantized tokens, piano rolls) can be compared.

How each model family maps to it:

* **Markov chain / unigram** (:mod:`musicalpy.markov`): ``model.score(sequences)`` is the
  total log-likelihood; ``n_tokens`` is the total length of the sequences.
* **HMM**: the forward algorithm's ``log p(x)`` per sequence (states summed out), summed
  over the test sequences.
* **Keras autoregressive models** (LSTM, WaveNet): the sum, over every test token, of
  the cross-entropy of its prediction given its past (``sparse_categorical_crossentropy``
  with ``reduction="sum"``, or the mean times the number of tokens). Every token must be
  counted exactly once: score whole pieces, not overlapping training windows, and
  predict the first token from the start context. A model whose output is partly
  continuous (e.g. step and duration regressed with MSE) has no likelihood for that
  part; report bits for its categorical part only and say so in the ``notes`` column.
* **VAE**: the negative ELBO is an upper bound on ``-log p(x)``, so bits from it are an
  upper bound on the code length (state "ELBO bound" in ``notes``); a piano-roll VAE's
  tokens are piano-roll cells, so compare it by bits per note.

References
----------
.. [1] H.-W. Dong, K. Chen, J. McAuley, T. Berg-Kirkpatrick, "MusPy: A Toolkit for
   Symbolic Music Generation", ISMIR 2020 (``muspy.metrics``).
.. [2] L.-C. Yang, A. Lerch, "On the evaluation of generative models in music", Neural
   Computing and Applications 32, 2020 (online 2018), doi:10.1007/s00521-018-3849-7.
"""

from __future__ import annotations

import functools
import inspect
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._config import check_int
from .midi import DEFAULT_TEMPO, DEFAULT_VELOCITY, as_note_table
from .names import MODES, pitch_class_of

__all__ = [
    "SCALAR_FEATURES",
    "VECTOR_FEATURES",
    "FEATURES",
    "BUDGET_FREE_FEATURES",
    "VOICE_FEATURES",
    "NOTE_LENGTH_CLASSES",
    "PROBLEMS",
    "DISSONANT_INTERVALS",
    "validate_notes",
    "clean_notes",
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
    "piece_features",
    "corpus_features",
    "pitch_histogram",
    "pitch_histogram_kl",
    "kde_overlap",
    "feature_frame",
    "compare_sets",
    "mark_not_applicable",
    "seed_spread",
    "mean_oa",
    "spread_verdict",
    "bits_per_token",
    "bits_per_note",
    "evaluation_row",
    "vertical_dissonance",
    "COHERENCE_MEASURES",
    "mutual_information",
    "uncertainty_coefficient",
    "note_coherence",
    "quantization_drift",
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
PROBLEMS = {
    "missing_value": "drop (NaN or infinite pitch, start or end)",
    "pitch_out_of_range": "drop, or clip to 0-127 with pitch='clip'",
    "non_integer_pitch": "round to the nearest integer",
    "negative_start": "drop (start before 0)",
    "zero_duration": "drop (end equals start)",
    "negative_duration": "drop (end before start)",
    "invalid_beats": "drop (start_beat/end_beat: one NaN, negative, or end_beat <= start_beat)",
    "missing_beats": "kept: both beat times NaN, so beats come from seconds at the tempo",
    "velocity_out_of_range": "clip to 1-127 (NaN becomes the default velocity)",
    "no_notes": "nothing to fix: every feature that needs notes is NaN",
    "single_onset": "kept: all notes start together, so rhythm features are degenerate",
}
# Problems that make a note unusable for the features (the rest are repaired in place).
_DROPPED = ("missing_value", "pitch_out_of_range", "negative_start", "zero_duration",
            "negative_duration", "invalid_beats")
_EPS_TIME = 1e-6  # beats; absorbs float error from seconds -> beats conversions

_MAJOR = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=float)
_MINOR = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0], dtype=float)
# Rows 0-11: major scales on C..B; rows 12-23: natural minor scales on C..B.
_SCALES = np.stack([np.roll(_MAJOR, r) for r in range(12)] + [np.roll(_MINOR, r) for r in range(12)])
#: Intervals (semitones mod 12) that :func:`vertical_dissonance` counts as dissonant:
#: seconds, the tritone, sevenths.
DISSONANT_INTERVALS = (1, 2, 6, 10, 11)


# ------------------------------------------------------------------------ bad input


def _column(notes: pd.DataFrame, name: str, default: Any) -> np.ndarray:
    if name in notes.columns:
        return notes[name].to_numpy()
    return np.full(len(notes), default, dtype=object if isinstance(default, str) else None)


def _numeric(notes: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(notes[name], errors="coerce").to_numpy(dtype=float)


def _check_columns(notes: Any, what: str = "notes") -> None:
    if not isinstance(notes, pd.DataFrame):
        raise TypeError(f"{what} must be a note table (pandas DataFrame), got {type(notes).__name__}")
    missing = [c for c in ("pitch", "start", "end") if c not in notes.columns]
    if missing:
        raise ValueError(f"{what} lacks required column(s) {missing}; has {list(notes.columns)}")


def _problem_masks(notes: pd.DataFrame) -> dict[str, np.ndarray]:
    """One boolean mask per row-level problem of :data:`PROBLEMS` (vectorized)."""
    pitch = _numeric(notes, "pitch")
    start = _numeric(notes, "start")
    end = _numeric(notes, "end")
    finite = np.isfinite(pitch) & np.isfinite(start) & np.isfinite(end)
    with np.errstate(invalid="ignore"):
        masks = {
            "missing_value": ~finite,
            "pitch_out_of_range": finite & ((pitch < -0.5) | (pitch >= 127.5)),
            "non_integer_pitch": finite & (np.abs(pitch - np.round(pitch)) > 1e-9),
            "negative_start": finite & (start < 0),
            "zero_duration": finite & (end == start),
            "negative_duration": finite & (end < start),
        }
        if "start_beat" in notes.columns and "end_beat" in notes.columns:
            start_beat = _numeric(notes, "start_beat")
            end_beat = _numeric(notes, "end_beat")
            both_missing = ~np.isfinite(start_beat) & ~np.isfinite(end_beat)
            good = np.isfinite(start_beat) & np.isfinite(end_beat) & (start_beat >= 0) & (end_beat > start_beat)
            masks["invalid_beats"] = finite & ~good & ~both_missing
            masks["missing_beats"] = finite & both_missing
        else:
            masks["invalid_beats"] = np.zeros(len(notes), dtype=bool)
            masks["missing_beats"] = np.zeros(len(notes), dtype=bool)
        if "velocity" in notes.columns:
            velocity = _numeric(notes, "velocity")
            masks["velocity_out_of_range"] = ~np.isfinite(velocity) | (velocity < 1) | (velocity > 127)
        else:
            masks["velocity_out_of_range"] = np.zeros(len(notes), dtype=bool)
    return masks


def _usable(masks: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    bad = np.zeros(n, dtype=bool)
    for name in _DROPPED:
        bad |= masks[name]
    return ~bad


def validate_notes(notes: pd.DataFrame) -> pd.DataFrame:
    """Report what is wrong with a note table (typically a generated one).

    Parameters
    ----------
    notes : pd.DataFrame
        A note table, possibly broken; needs the columns ``pitch``, ``start``, ``end``.

    Returns
    -------
    report : pd.DataFrame
        One row per problem found (empty when the table is fine), with columns
        ``problem`` (a key of :data:`PROBLEMS`), ``n_notes`` (notes affected),
        ``rows`` (up to ten index labels of affected rows) and ``action`` (what
        :func:`clean_notes` would do). Table-level problems: ``no_notes`` (nothing left
        after dropping unusable notes) and ``single_onset`` (two or more usable notes,
        all starting together).

    Raises
    ------
    ValueError
        When a required column is missing (that is not something to clean).
    """
    _check_columns(notes)
    masks = _problem_masks(notes)
    rows = []
    for name, mask in masks.items():
        if mask.any():
            rows.append({"problem": name, "n_notes": int(mask.sum()),
                         "rows": list(notes.index[mask][:10]), "action": PROBLEMS[name]})
    usable = _usable(masks, len(notes))
    if not usable.any():
        rows.append({"problem": "no_notes", "n_notes": 0, "rows": [], "action": PROBLEMS["no_notes"]})
    else:
        starts = _numeric(notes, "start")[usable]
        if usable.sum() >= 2 and np.ptp(starts) == 0:
            rows.append({"problem": "single_onset", "n_notes": int(usable.sum()),
                         "rows": list(notes.index[usable][:10]), "action": PROBLEMS["single_onset"]})
    return pd.DataFrame(rows, columns=["problem", "n_notes", "rows", "action"])


def clean_notes(notes: pd.DataFrame, *, pitch: str = "drop") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fix a broken note table: drop or repair bad notes and say what was done.

    Parameters
    ----------
    notes : pd.DataFrame
        A note table, possibly broken (see :func:`validate_notes`).
    pitch : {"drop", "clip"}
        What to do with pitches outside 0-127: drop the notes, or clip the pitches.

    Returns
    -------
    clean : pd.DataFrame
        A valid note table (it passes :func:`musicalpy.midi.as_note_table`, which also
        sorts it and fills missing optional columns). Non-integer pitches are rounded,
        velocities clipped to 1-127; notes with missing values, negative starts, zero or
        negative durations or invalid beat times are dropped.
    report : pd.DataFrame
        What was done: the :func:`validate_notes` report with ``action`` saying what
        happened to each problem.
    """
    if pitch not in ("drop", "clip"):
        raise ValueError(f"pitch must be 'drop' or 'clip', got {pitch!r}")
    report = validate_notes(notes)
    masks = _problem_masks(notes)
    table = notes.copy()
    if pitch == "clip":
        out = masks["pitch_out_of_range"]
        table["pitch"] = pd.to_numeric(table["pitch"], errors="coerce")
        table.loc[out, "pitch"] = table.loc[out, "pitch"].clip(0, 127)
        masks = dict(masks, pitch_out_of_range=np.zeros(len(table), dtype=bool))
    keep = _usable(masks, len(table))
    table = table[keep].copy()
    table["pitch"] = np.round(pd.to_numeric(table["pitch"])).astype(int)
    if "velocity" in table.columns:
        velocity = pd.to_numeric(table["velocity"], errors="coerce")
        table["velocity"] = velocity.fillna(DEFAULT_VELOCITY).clip(1, 127).round().astype(int)
    done = {
        "pitch_out_of_range": "clipped to 0-127" if pitch == "clip" else "dropped",
        "non_integer_pitch": "rounded",
        "velocity_out_of_range": "clipped to 1-127 (NaN set to the default velocity)",
        "missing_beats": "kept (beat times stay NaN)",
        "no_notes": "nothing to fix",
        "single_onset": "kept",
    }
    if not report.empty:
        report["action"] = [done.get(p, "dropped") for p in report["problem"]]
    return as_note_table(table), report


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


# ------------------------------------------------------------------ pitch histograms


def pitch_histogram(notes: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Counts of each MIDI pitch over the pitched (non-drum), usable notes of a table.

    Returns
    -------
    counts : np.ndarray, shape=(128,)
        A 128-count array given as ``notes`` is returned as floats, after checking it.
    """
    if isinstance(notes, pd.DataFrame):
        _check_columns(notes)
        usable = _usable(_problem_masks(notes), len(notes))
        drum = pd.Series(_column(notes, "is_drum", False)).fillna(False).astype(bool).to_numpy()
        keep = usable & ~drum
        pitches = np.rint(_numeric(notes, "pitch")[keep]).astype(np.int64)
        return np.bincount(pitches, minlength=128).astype(float)
    counts = np.asarray(notes, dtype=float)
    if counts.shape != (128,) or not np.isfinite(counts).all() or (counts < 0).any():
        raise ValueError(f"a pitch histogram must be 128 finite non-negative counts, got shape {counts.shape}")
    return counts


def pitch_histogram_kl(
    p: pd.DataFrame | np.ndarray,
    q: pd.DataFrame | np.ndarray,
    *,
    epsilon: float = 1e-4,
    by_part: bool = False,
) -> float | pd.Series:
    """KL divergence ``KL(p || q)`` (nats) between two pooled 128-bin pitch histograms.

    Each histogram is normalized, smoothed by adding ``epsilon`` to every bin and
    renormalized (add-epsilon smoothing), so the divergence is finite even when ``q``
    never plays a pitch that ``p`` plays. :func:`compare_sets` reports
    ``KL(reference || generated)``: how many extra nats per note a coder of reference
    pitches pays for using the generated pitch distribution.

    Parameters
    ----------
    p, q : pd.DataFrame or np.ndarray, shape=(128,)
        Note tables (all their pieces pooled, drums excluded) or pitch counts.
    epsilon : float
        Probability added to every bin before renormalizing (> 0).
    by_part : bool
        Note tables only: one divergence per part name present in both (per
        instrument, as reported for per-instrument HMMs on NES music).

    Returns
    -------
    kl : float or pd.Series
        NaN when either side has no pitched notes.
    """
    if not epsilon > 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon!r}")
    if by_part:
        if not (isinstance(p, pd.DataFrame) and isinstance(q, pd.DataFrame)):
            raise ValueError("by_part=True needs note tables for both p and q")
        parts = [x for x in pd.unique(p["part"].astype(str)) if x in set(q["part"].astype(str))]
        return pd.Series(
            {part: pitch_histogram_kl(p[p["part"].astype(str) == part], q[q["part"].astype(str) == part],
                                      epsilon=epsilon) for part in parts},
            name="pitch_histogram_kl", dtype=float,
        )
    counts_p, counts_q = pitch_histogram(p), pitch_histogram(q)
    if counts_p.sum() == 0 or counts_q.sum() == 0:
        return math.nan
    smooth_p = counts_p / counts_p.sum() + epsilon
    smooth_q = counts_q / counts_q.sum() + epsilon
    smooth_p, smooth_q = smooth_p / smooth_p.sum(), smooth_q / smooth_q.sum()
    return float(np.sum(smooth_p * np.log(smooth_p / smooth_q)))


# ------------------------------------------------------------------ set vs set


def _scott_bandwidth(x: np.ndarray) -> float | None:
    """Scott's rule, ``std * n ** (-1/5)`` (scipy's ``gaussian_kde`` default); None when
    the sample has no spread (a KDE would have a singular covariance)."""
    if len(x) < 2 or np.ptp(x) == 0:
        return None
    return float(np.std(x, ddof=1) * len(x) ** (-0.2))


def _binned_kde(x: np.ndarray, grid: np.ndarray, bandwidth: float) -> np.ndarray:
    """Gaussian KDE on a regular grid: linear binning, then a Gaussian filter.

    Equal to the exact KDE up to the grid resolution, at O(grid) cost whatever the
    sample size (pairwise distances of a few hundred pieces are ~10^5 values)."""
    from scipy.ndimage import gaussian_filter1d

    step = grid[1] - grid[0]
    position = (x - grid[0]) / step
    left = np.clip(np.floor(position).astype(np.int64), 0, len(grid) - 2)
    weight = np.clip(position - left, 0.0, 1.0)
    mass = np.bincount(left, 1.0 - weight, minlength=len(grid)) + np.bincount(left + 1, weight, minlength=len(grid))
    return gaussian_filter1d(mass, sigma=bandwidth / step, mode="constant", truncate=6.0)


def kde_overlap(
    reference: np.ndarray,
    other: np.ndarray,
    *,
    grid_size: int = 2048,
    degenerate: str = "narrow",
) -> tuple[float, float, str]:
    """Overlapping area and KL divergence of two samples' Gaussian KDEs on one grid.

    Each sample is smoothed by a Gaussian KDE on one shared grid that spans both
    samples plus four bandwidths on each side, and normalized to unit area there. Both
    curves use **one bandwidth**, the larger of the two samples' Scott bandwidths
    (``std * n ** (-1/5)``, :class:`scipy.stats.gaussian_kde`'s default): with a
    bandwidth per sample, two samples of one discrete distribution (pitch counts,
    ranges) would differ only because the larger sample gets narrower spikes. The KDE
    is computed by binning onto the grid and filtering with
    :func:`scipy.ndimage.gaussian_filter1d` (equal to the exact KDE up to the grid
    step; fast for 10^5 distances). Yang & Lerch's measures follow:

    * ``oa`` = integral of ``min(p_reference, p_other)``, in [0, 1] (1: identical);
    * ``kl`` = ``KL(p_reference || p_other)`` in nats, from the grid values (densities
      floored at 1e-12, so it is finite but large when the curves do not overlap).

    A sample with fewer than two values or zero variance has no Scott bandwidth (a KDE
    of it has a singular covariance). With ``degenerate="narrow"`` the other sample's
    bandwidth is used, or 5 % of the pooled range when both are constant; two samples
    of one identical constant give ``oa=1, kl=0``. With ``degenerate="nan"``
    both measures are NaN. The third value says what happened (``""`` when nothing
    special did).

    Parameters
    ----------
    reference, other : np.ndarray, shape=(n,)
        Samples, e.g. intra-reference and inter-set distances. NaNs are ignored.
    grid_size : int
        Minimum number of grid points; raised (up to 2**16) so that the bandwidth spans
        at least four grid steps.
    degenerate : {"narrow", "nan"}

    Returns
    -------
    oa : float
    kl : float
    flag : str
    """
    from scipy.integrate import trapezoid

    if degenerate not in ("narrow", "nan"):
        raise ValueError(f"degenerate must be 'narrow' or 'nan', got {degenerate!r}")
    if grid_size < 16:
        raise ValueError(f"grid_size must be at least 16, got {grid_size}")
    samples = []
    for x in (reference, other):
        x = np.asarray(x, dtype=float).ravel()
        samples.append(x[np.isfinite(x)])
    if any(len(x) == 0 for x in samples):
        return math.nan, math.nan, "empty sample"
    bandwidths = [_scott_bandwidth(x) for x in samples]
    flag = ""
    if None in bandwidths:
        which = " and ".join(n for n, b in zip(("reference", "other"), bandwidths, strict=True) if b is None)
        if degenerate == "nan":
            return math.nan, math.nan, f"constant {which}: KDE undefined"
        pooled = np.concatenate(samples)
        if np.ptp(pooled) == 0:
            return 1.0, 0.0, "all values equal"
        fallback = next((b for b in bandwidths if b is not None), 0.05 * float(np.ptp(pooled)))
        bandwidths = [b if b is not None else fallback for b in bandwidths]
        flag = f"constant {which}: narrow Gaussian (bandwidth {fallback:.3g})"
    bandwidth = max(bandwidths)
    low = min(x.min() for x in samples) - 4 * bandwidth
    high = max(x.max() for x in samples) + 4 * bandwidth
    size = int(min(max(grid_size, 4 * (high - low) / bandwidth + 1), 2**16))
    grid = np.linspace(low, high, size)
    p, q = (_binned_kde(x, grid, bandwidth) for x in samples)
    p, q = p / trapezoid(p, grid), q / trapezoid(q, grid)
    oa = float(np.clip(trapezoid(np.minimum(p, q), grid), 0.0, 1.0))
    p_mass = np.maximum(p, 1e-12)
    q_mass = np.maximum(q, 1e-12)
    p_mass, q_mass = p_mass / p_mass.sum(), q_mass / q_mass.sum()
    kl = float(np.sum(p_mass * np.log(p_mass / q_mass)))
    return oa, max(kl, 0.0), flag


def feature_frame(x: Any, what: str = "notes", **options: Any) -> pd.DataFrame:
    """Per-piece features of a set of pieces, whatever form the set comes in.

    Parameters
    ----------
    x : pd.DataFrame or list of pd.DataFrame
        A note table (many pieces, grouped by ``piece``), a list of one-piece note
        tables, or a feature frame from :func:`corpus_features` (returned as is).
    what : str
        How error messages name ``x`` (``"generated"``, ``"reference"``).
    **options
        Passed to :func:`corpus_features`.

    Returns
    -------
    features : pd.DataFrame
        One row per piece, as :func:`corpus_features` returns it.
    """
    if isinstance(x, pd.DataFrame):
        if "pitch" in x.columns:
            return corpus_features(x, **options)
        known = set(SCALAR_FEATURES) | set(VECTOR_FEATURES)
        if not known & set(x.columns):
            raise ValueError(f"{what}: neither a note table (no 'pitch' column) nor a feature frame "
                             f"(none of {sorted(known)[:4]}...)")
        return x
    if isinstance(x, (list, tuple)) and all(isinstance(t, pd.DataFrame) for t in x):
        return corpus_features(list(x), **options)
    raise TypeError(f"{what} must be a note table, a list of note tables or a feature frame, "
                    f"got {type(x).__name__}")


def _stack(values: pd.Series) -> np.ndarray:
    """Vectors of a feature column as rows of a 2-D array; rows with NaN dropped."""
    rows = [np.asarray(v, dtype=float).ravel() for v in values if isinstance(v, (np.ndarray, list, tuple))]
    if not rows:
        return np.empty((0, 0))
    matrix = np.stack(rows)
    return matrix[np.isfinite(matrix).all(axis=1)]


def _subsample(distances: np.ndarray, max_pairs: int, rng: np.random.Generator) -> np.ndarray:
    if len(distances) > max_pairs:
        return distances[rng.choice(len(distances), size=max_pairs, replace=False)]
    return distances


def compare_sets(
    generated: Any,
    reference: Any,
    *,
    features: Sequence[str] | None = None,
    grid_size: int = 2048,
    max_pairs: int = 200_000,
    degenerate: str = "narrow",
    random_state: int | None = 0,
    epsilon: float = 1e-4,
    **feature_options: Any,
) -> pd.DataFrame:
    """Compare a generated set of pieces with a reference set, feature by feature.

    For each scalar feature: the mean and standard deviation in each set. For every
    feature (scalar or vector), Yang & Lerch's (2018) relative measures: distances between
    pieces (absolute differences for scalars, Euclidean distances for vectors),
    *intra-set* (all pairs within a set, a piece never paired with itself) and
    *inter-set* (every generated piece with every reference piece); each distribution
    is smoothed by a Gaussian KDE on one shared grid (:func:`kde_overlap`), and ``oa`` /
    ``kl`` compare the intra-reference curve with the inter-set curve. ``oa`` near 1
    means a generated piece is as far from reference pieces as they are from each other.

    Parameters
    ----------
    generated, reference : note table, list of note tables, or feature frame
        Note tables with a ``piece`` column (or lists of one-piece tables) go through
        :func:`corpus_features`; a frame from :func:`corpus_features` is used as is.
    features : sequence of str, optional
        Which features (default: every scalar and vector feature present in both).
    grid_size : int
        KDE grid size (see :func:`kde_overlap`).
    max_pairs : int
        Distance samples per distribution above which a random subset of this size is
        used (pairs grow quadratically with the set size; this bounds the memory).
    degenerate : {"narrow", "nan"}
        What to do with a constant distance distribution (see :func:`kde_overlap`).
    random_state : int, optional
        Seed of the pair subsampling.
    epsilon : float
        Smoothing of :func:`pitch_histogram_kl`.
    **feature_options
        Passed to :func:`corpus_features` (``tempo``, ``beats_per_measure``, ...).

    Returns
    -------
    comparison : pd.DataFrame
        Index ``feature``; columns ``kind`` (``scalar``/``vector``), ``n_generated``,
        ``n_reference`` (pieces where the feature is defined), ``mean_generated``,
        ``std_generated``, ``mean_reference``, ``std_reference`` (NaN for vectors),
        ``intra_generated``, ``intra_reference``, ``inter`` (mean distances), ``oa``,
        ``kl``, ``pooled_kl`` (the ``pitch_histogram`` row only:
        ``KL(reference || generated)`` of the pooled pitch histograms) and ``flag``
        (why a value is NaN, or that a narrow bandwidth was used).
    """
    from scipy.spatial.distance import cdist, pdist

    gen = feature_frame(generated, "generated", **feature_options)
    ref = feature_frame(reference, "reference", **feature_options)
    available = [f for f in (*SCALAR_FEATURES, *VECTOR_FEATURES) if f in gen.columns and f in ref.columns]
    if features is None:
        features = available
    else:
        unknown = [f for f in features if f not in available]
        if unknown:
            raise ValueError(f"features {unknown} are not in both feature frames; available: {available}")
    rng = np.random.default_rng(random_state)
    rows = []
    for feature in features:
        vector = feature in VECTOR_FEATURES
        if vector:
            g, r = _stack(gen[feature]), _stack(ref[feature])
        else:
            g = pd.to_numeric(gen[feature], errors="coerce").to_numpy(float)
            r = pd.to_numeric(ref[feature], errors="coerce").to_numpy(float)
            g, r = g[np.isfinite(g)][:, None], r[np.isfinite(r)][:, None]
        row: dict[str, Any] = {
            "feature": feature, "kind": "vector" if vector else "scalar",
            "n_generated": len(g), "n_reference": len(r),
            "mean_generated": math.nan, "std_generated": math.nan,
            "mean_reference": math.nan, "std_reference": math.nan,
            "intra_generated": math.nan, "intra_reference": math.nan, "inter": math.nan,
            "oa": math.nan, "kl": math.nan, "pooled_kl": math.nan, "flag": "",
        }
        if not vector:
            for name, values in (("generated", g), ("reference", r)):
                if len(values):
                    row[f"mean_{name}"] = float(values.mean())
                    row[f"std_{name}"] = float(values.std(ddof=1)) if len(values) > 1 else math.nan
        metric = "euclidean" if vector else "cityblock"
        if len(g) >= 2:
            row["intra_generated"] = float(pdist(g, metric).mean())
        if len(r) < 2 or len(g) < 1:
            row["flag"] = f"needs >= 2 reference and >= 1 generated pieces, has {len(r)} and {len(g)}"
        else:
            intra = _subsample(pdist(r, metric), max_pairs, rng)
            inter = _subsample(cdist(g, r, metric).ravel(), max_pairs, rng)
            row["intra_reference"] = float(intra.mean())
            row["inter"] = float(inter.mean())
            row["oa"], row["kl"], row["flag"] = kde_overlap(intra, inter, grid_size=grid_size,
                                                            degenerate=degenerate)
        if feature == "pitch_histogram":
            pooled = [_pooled_pitch_counts(frame) for frame in (ref, gen)]
            if all(c is not None for c in pooled):
                row["pooled_kl"] = pitch_histogram_kl(pooled[0], pooled[1], epsilon=epsilon)
        rows.append(row)
    columns = ["feature", "kind", "n_generated", "n_reference", "mean_generated", "std_generated",
               "mean_reference", "std_reference", "intra_generated", "intra_reference", "inter",
               "oa", "kl", "pooled_kl", "flag"]
    return pd.DataFrame(rows, columns=columns).set_index("feature")


def mark_not_applicable(comparison: pd.DataFrame, features: Sequence[str], reason: str) -> pd.DataFrame:
    """A copy of a :func:`compare_sets` result with some features marked not applicable.

    A one-part output (the VAE's piano roll holds the whole texture in one part) has no
    voice lines, so a feature that follows a part's notes (:data:`VOICE_FEATURES`)
    would compare the texture's zigzag with real melodies and score near 0: that is a
    category error, not a bad model. Such rows get NaN distances, OA and KL and a flag
    that says why, so means skip them.

    Parameters
    ----------
    comparison : pd.DataFrame
        From :func:`compare_sets`.
    features : sequence of str
        Rows to mark (those absent from ``comparison`` are ignored).
    reason : str
        Why, e.g. ``"one-part output"``; the flag reads ``not applicable: <reason>``.

    Returns
    -------
    pd.DataFrame
        Same index and columns.
    """
    if "oa" not in comparison.columns:
        raise ValueError("comparison must be a compare_sets result (it has no 'oa' column)")
    if not reason:
        raise ValueError("reason must say why the features do not apply")
    marked = comparison.copy()
    rows = [f for f in features if f in marked.index]
    columns = [c for c in ("mean_generated", "std_generated", "intra_generated", "inter", "oa", "kl", "pooled_kl")
               if c in marked.columns]
    marked.loc[rows, columns] = math.nan
    marked.loc[rows, "flag"] = f"not applicable: {reason}"
    return marked


def seed_spread(comparisons: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Mean and spread of several :func:`compare_sets` results (one per sampling seed).

    The OA of a feature moves from one set of samples to the next; a difference
    between two models means something only when it is larger than that movement, so
    every comparison is made over several sampling seeds and reported as mean ± sd.

    Parameters
    ----------
    comparisons : sequence of pd.DataFrame
        :func:`compare_sets` results over the same features, one per seed (at least 2).

    Returns
    -------
    pd.DataFrame
        Index ``feature``; ``kind``, ``n_reference``; ``n_generated``,
        ``mean_generated``, ``mean_reference``, ``oa``, ``kl``, ``pooled_kl`` as means
        over the seeds; ``oa_sd``, ``kl_sd``, ``pooled_kl_sd`` (sample sd, ``ddof=1``,
        over the seeds where the value is defined); ``oa_seed_<i>`` (the OA of seed
        ``i``, for :func:`mean_oa`); ``n_seeds``; ``flag`` (the distinct flags, ``|``-joined).
    """
    if len(comparisons) < 2:
        raise ValueError(f"comparisons must hold at least 2 compare_sets results (one per seed), got {len(comparisons)}")
    index = comparisons[0].index
    for i, comparison in enumerate(comparisons):
        if "oa" not in comparison.columns:
            raise ValueError(f"comparisons[{i}] is not a compare_sets result (it has no 'oa' column)")
        if not comparison.index.equals(index):
            raise ValueError(f"comparisons[{i}] compares other features than comparisons[0]")
    out = pd.DataFrame(index=index)
    out["kind"] = comparisons[0]["kind"]
    out["n_reference"] = comparisons[0]["n_reference"]
    for column in ("n_generated", "mean_generated", "mean_reference", "oa", "kl", "pooled_kl"):
        stacked = np.stack([c[column].to_numpy(dtype=float) for c in comparisons], axis=1)
        defined = np.isfinite(stacked)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows give NaN, as they should
            out[column] = np.nanmean(stacked, axis=1)
            if column in ("oa", "kl", "pooled_kl"):
                sd = np.nanstd(stacked, axis=1, ddof=1)
                out[f"{column}_sd"] = np.where(defined.sum(axis=1) >= 2, sd, math.nan)
        if column == "oa":
            for i in range(len(comparisons)):
                out[f"oa_seed_{i}"] = stacked[:, i]
    out["n_seeds"] = len(comparisons)
    out["flag"] = ["|".join(dict.fromkeys(f for f in flags if f))
                   for flags in zip(*(c["flag"].astype(str) for c in comparisons), strict=True)]
    return out


def mean_oa(comparison: pd.DataFrame, features: Sequence[str] = BUDGET_FREE_FEATURES) -> tuple[float, float]:
    """Mean OA over the budget-free features, and its spread over sampling seeds.

    Parameters
    ----------
    comparison : pd.DataFrame
        From :func:`compare_sets` (one seed: the spread is NaN) or :func:`seed_spread`
        (the mean over features is taken per seed, then mean ± sd over seeds).
    features : sequence of str
        Default :data:`BUDGET_FREE_FEATURES`; rows absent or NaN (undefined, not
        applicable) are skipped.

    Returns
    -------
    mean, sd : float
        NaN when no feature is defined; ``sd`` is NaN with fewer than two seeds.
    """
    if "oa" not in comparison.columns:
        raise ValueError("comparison must be a compare_sets or seed_spread result (it has no 'oa' column)")
    rows = comparison.loc[[f for f in features if f in comparison.index]]
    seeds = sorted((c for c in comparison.columns if c.startswith("oa_seed_")), key=lambda c: int(c.rsplit("_", 1)[1]))
    if not seeds:
        values = rows["oa"].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        return (float(values.mean()) if len(values) else math.nan), math.nan
    per_seed = []
    for column in seeds:
        values = rows[column].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if len(values):
            per_seed.append(float(values.mean()))
    if not per_seed:
        return math.nan, math.nan
    return float(np.mean(per_seed)), float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else math.nan


def spread_verdict(first: tuple[str, float, float], second: tuple[str, float, float], *, measure: str = "mean OA",
                   higher_is_better: bool = True, digits: int = 3) -> str:
    """One sentence that names a winner only when the gap exceeds the spread.

    The rule: ``A`` beats ``B`` when ``|mean_A - mean_B| > sd_A + sd_B``, i.e. the
    intervals mean ± sd do not overlap. Otherwise the two are said to be within the
    spread. Without a spread (an sd is NaN) no winner is claimed either.

    Parameters
    ----------
    first, second : (name, mean, sd)
        Two models' values of ``measure``, with the sd over sampling (or training) seeds.
    measure : str
        What the numbers are, for the sentence.
    higher_is_better : bool
        True for OA; False for bits, KL.
    digits : int
        Decimals shown.

    Returns
    -------
    str
        ``"X beats Y on <measure> by <gap> (X m ± s, Y m ± s)."`` or
        ``"X and Y are within the spread on <measure> (...)."``

    Examples
    --------
    >>> spread_verdict(("lstm", 0.62, 0.01), ("wavenet", 0.55, 0.02))
    'lstm beats wavenet on mean OA by 0.070 (lstm 0.620 ± 0.010, wavenet 0.550 ± 0.020).'
    >>> spread_verdict(("lstm", 0.62, 0.01), ("wavenet", 0.615, 0.02))
    'lstm and wavenet are within the spread on mean OA (lstm 0.620 ± 0.010, wavenet 0.615 ± 0.020).'
    """
    for what, value in (("first", first), ("second", second)):
        if len(value) != 3:
            raise ValueError(f"{what} must be (name, mean, sd), got {value!r}")
    (a, mean_a, sd_a), (b, mean_b, sd_b) = first, second
    if not (math.isfinite(mean_a) and math.isfinite(mean_b)):
        return f"{a} and {b} cannot be compared on {measure}: a value is undefined ({mean_a}, {mean_b})."
    if (mean_b > mean_a) == higher_is_better and mean_a != mean_b:
        (a, mean_a, sd_a), (b, mean_b, sd_b) = (b, mean_b, sd_b), (a, mean_a, sd_a)
    shown = f"({a} {mean_a:.{digits}f} ± {sd_a:.{digits}f}, {b} {mean_b:.{digits}f} ± {sd_b:.{digits}f})"
    gap = abs(mean_a - mean_b)
    if math.isfinite(sd_a) and math.isfinite(sd_b) and gap > sd_a + sd_b:
        return f"{a} beats {b} on {measure} by {gap:.{digits}f} {shown}."
    return f"{a} and {b} are within the spread on {measure} {shown}."


def _pooled_pitch_counts(frame: pd.DataFrame) -> np.ndarray | None:
    """Pooled pitch counts from per-piece normalized histograms times pitched-note counts."""
    if "pitch_histogram" not in frame.columns or "n_pitched_notes" not in frame.columns:
        return None
    total = np.zeros(128)
    for hist, n in zip(frame["pitch_histogram"], frame["n_pitched_notes"], strict=True):
        hist = np.asarray(hist, dtype=float)
        if n and np.isfinite(hist).all():
            total += hist * float(n)
    return total


# ------------------------------------------------------------------ likelihood accounting


def bits_per_token(total_log_likelihood: float, n_tokens: int) -> float:
    """Bits per token from a total log-likelihood in nats: ``-ll / (n_tokens ln 2)``.

    See the module docstring for how each model family gives its total log-likelihood.
    """
    if n_tokens <= 0:
        raise ValueError(f"n_tokens must be positive, got {n_tokens}")
    return float(-total_log_likelihood / (n_tokens * math.log(2)))


def bits_per_note(total_log_likelihood: float, n_notes: int) -> float:
    """Bits per note from a total log-likelihood in nats: ``-ll / (n_notes ln 2)``.

    ``total_log_likelihood`` is the log-likelihood of whole pieces in any
    representation, ``n_notes`` the number of notes (note table rows) of those pieces,
    so models over different representations are compared on one scale.
    """
    if n_notes <= 0:
        raise ValueError(f"n_notes must be positive, got {n_notes}")
    return float(-total_log_likelihood / (n_notes * math.log(2)))


def evaluation_row(
    representation: str,
    model: str,
    voice: str,
    log_likelihood: float,
    n_tokens: int,
    n_notes: int,
    reference: pd.DataFrame,
    generated: pd.DataFrame,
    seconds: float = float("nan"),
) -> dict[str, Any]:
    """One tidy row of a (model, representation) evaluation on held-out pieces.

    The test scores come from the raw counts, so rows of several voices can be summed
    (``log_likelihood``, ``n_tokens``, ``n_notes``) and scored again as a whole.

    Parameters
    ----------
    representation, model, voice : str
        What the row describes, e.g. ``"pitch/hold"``, ``"HMM-10"``, ``"Soprano"``.
    log_likelihood : float
        Total test log-likelihood in nats; NaN for a model without one.
    n_tokens : int
        Test tokens scored; 0 means the model has no likelihood (its bits are NaN).
    n_notes : int
        Notes (note-table rows) of the scored test pieces.
    reference : pd.DataFrame
        Training notes the samples' pitch histogram is compared with.
    generated : pd.DataFrame
        Notes the model sampled.
    seconds : float, optional
        Training time, NaN when unknown.

    Returns
    -------
    row : dict
        ``representation``, ``model``, ``voice``, ``test tokens``, ``bits/token``,
        ``bits/note``, ``KL vs training`` (:func:`pitch_histogram_kl`), ``seconds``,
        ``test log-likelihood``, ``test notes``.
    """
    scored = bool(n_tokens)
    return {"representation": representation, "model": model, "voice": voice,
            "test tokens": n_tokens if scored else np.nan,
            "bits/token": bits_per_token(log_likelihood, n_tokens) if scored else np.nan,
            "bits/note": bits_per_note(log_likelihood, n_notes) if scored else np.nan,
            "KL vs training": pitch_histogram_kl(reference, generated), "seconds": seconds,
            "test log-likelihood": log_likelihood, "test notes": n_notes}


# --------------------------------------------------------- dependence between labels


def _labels(name: str, values: Any) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one label per item), got shape {array.shape}")
    if array.dtype.kind == "f" and np.isnan(array).any():
        raise ValueError(f"{name} holds NaN; drop the items without a label first")
    return array


def mutual_information(x: Any, y: Any) -> float:
    """Mutual information MI(x; y) in nats between two label sequences.

    The plug-in estimate from the joint counts (what ``sklearn.metrics.
    mutual_info_score`` computes): ``sum p(a, b) log(p(a, b) / (p(a) p(b)))``. It is 0
    for independent labels only in the limit; a finite sample of independent labels
    gives a small positive value.

    Parameters
    ----------
    x, y : array-like, shape=(n,)
        Discrete labels of the same items (any hashable numbers).

    Returns
    -------
    mi : float
        In nats, >= 0; divide by ``ln 2`` for bits.
    """
    x, y = _labels("x", x), _labels("y", y)
    if len(x) != len(y):
        raise ValueError(f"x and y must label the same items, got {len(x)} and {len(y)} labels")
    if len(x) == 0:
        raise ValueError("x and y are empty; mutual information needs at least one item")
    _, x_ids = np.unique(x, return_inverse=True)
    _, y_ids = np.unique(y, return_inverse=True)
    joint = np.zeros((x_ids.max() + 1, y_ids.max() + 1))
    np.add.at(joint, (x_ids, y_ids), 1)
    rows, columns = np.nonzero(joint)
    counts = joint[rows, columns]
    total = counts.sum()
    p_x, p_y = joint.sum(axis=1), joint.sum(axis=0)
    # same order of operations as scikit-learn, so the two agree to the last digits
    log_outer = -np.log(p_x[rows] * p_y[columns]) + math.log(p_x.sum()) + math.log(p_y.sum())
    share = counts / total
    terms = share * (np.log(counts) - math.log(total)) + share * log_outer
    terms = np.where(np.abs(terms) < np.finfo(terms.dtype).eps, 0.0, terms)
    return float(np.clip(terms.sum(), 0.0, None))


def uncertainty_coefficient(x: Any, given: Any) -> float:
    """Theil's uncertainty coefficient U(x | given) = MI(x; given) / H(x).

    The share of the entropy of ``x`` that knowing ``given`` removes: 0 when ``given``
    says nothing about ``x``, 1 when it determines ``x``. Notebook 02 asks it how much
    an HMM's Viterbi state tells about the position in the beat and the pitch.

    Parameters
    ----------
    x, given : array-like, shape=(n,)
        Discrete labels of the same items.

    Returns
    -------
    u : float
        In [0, 1]; NaN when ``x`` takes a single value (it has no uncertainty to remove).
    """
    from scipy.stats import entropy

    x = _labels("x", x)
    information = mutual_information(x, given)
    h = float(entropy(np.unique(x, return_counts=True)[1]))
    return information / h if h > 0 else math.nan


#: What :func:`note_coherence` returns, in order.
COHERENCE_MEASURES = (
    "MI(pitch; onset gap), bits",
    "MI(pitch; duration), bits",
    "onsets on the 16th grid",
    "notes starting with the previous",
)


def note_coherence(classes: np.ndarray, onsets: Any) -> dict[str, float]:
    """How much pitch and rhythm of generated notes depend on each other.

    In real four-part music they do: the bass opens each chord after a gap and the
    upper voices join it at gap 0, above it. A generator that draws rhythm and pitch
    from separate models has zero true dependence, so its mutual information is only
    the estimate's small-sample bias.

    Parameters
    ----------
    classes : np.ndarray, shape=(n_notes, 4)
        Note classes ``(onset gap class, pitch, duration class, velocity)`` (see
        :func:`musicalpy.representations.encode_note_classes`); gap class 0 is "with
        the previous note".
    onsets : array-like, shape=(n_notes,)
        The notes' onsets in beats (the real ones, before any rounding to classes).

    Returns
    -------
    dict
        The measures of :data:`COHERENCE_MEASURES`: MI(pitch; onset gap class) and
        MI(pitch; duration class) in bits, the share of onsets on the sixteenth grid
        and the share of notes with gap class 0.
    """
    classes = np.asarray(classes)
    onsets = np.asarray(onsets, dtype=float)
    if classes.ndim != 2 or classes.shape[1] != 4:
        raise ValueError(f"classes must have shape (n_notes, 4), got {classes.shape}")
    if onsets.shape != (len(classes),):
        raise ValueError(f"onsets must hold one time per note ({len(classes)}), got shape {onsets.shape}")
    to_bits = 1 / math.log(2)
    return dict(zip(COHERENCE_MEASURES, (
        mutual_information(classes[:, 1], classes[:, 0]) * to_bits,
        mutual_information(classes[:, 1], classes[:, 2]) * to_bits,
        float(np.mean(np.isclose(onsets * 4, np.round(onsets * 4)))),
        float(np.mean(classes[:, 0] == 0)),
    ), strict=True))


def quantization_drift(notes: pd.DataFrame, duration_classes: Sequence[float]) -> tuple[float, float]:
    """What rounding durations to classes does to quantized tokens, over a corpus.

    Parameters
    ----------
    notes : pd.DataFrame
        A note table with beats (any number of pieces and parts).
    duration_classes : sequence of float
        Duration classes in beats (see
        :func:`musicalpy.representations.encode_quantized_tokens`).

    Returns
    -------
    inexact : float
        Share of notes whose duration is not (to float precision) one of the classes.
    drift : float
        Mean over (piece, part) of the gap in beats between where the part really ends
        and where its decoded tokens end (rounding errors add up along a part).
    """
    from .representations import encode_pieces, quantized_tokens_beats

    if notes.empty:
        raise ValueError("notes is empty; quantization drift needs at least one note")
    if not {"start_beat", "end_beat"} <= set(notes.columns):
        raise ValueError("notes needs start_beat/end_beat: quantization drift is measured in beats")
    durations = (notes["end_beat"] - notes["start_beat"]).to_numpy()
    inexact = ~np.isclose(durations[:, None], np.asarray(duration_classes)[None, :]).any(axis=1)
    real_ends = notes.groupby(["piece", "part"])["end_beat"].max()
    encoded = encode_pieces(notes, "quantized_tokens", duration_classes=duration_classes)
    gaps = [abs(real_ends[key] - quantized_tokens_beats(tokens, duration_classes)) for key, tokens in encoded.items()]
    return float(inexact.mean()), float(np.mean(gaps))


# ------------------------------------------------------------------ piano rolls


def vertical_dissonance(rolls: np.ndarray, *, threshold: float = 0.5) -> float:
    """Share of simultaneous pitch pairs that form a dissonant interval.

    For every time step, every pair of sounding pitches counts once; a pair is
    dissonant when its interval modulo 12 is in :data:`DISSONANT_INTERVALS` (seconds,
    tritone, sevenths and their compounds). Four-part chorales use these mostly as
    passing and suspended notes, so a low rate is one sign that voices agree.

    Parameters
    ----------
    rolls : np.ndarray, shape=(..., n_pitches, n_steps)
        Piano rolls (one or a batch), rows consecutive semitones.
    threshold : float, default 0.5
        A cell sounds when its value is at least this.

    Returns
    -------
    rate : float
        In [0, 1]; NaN when no step has two sounding pitches.
    """
    active = np.asarray(rolls) >= threshold
    if active.ndim < 2:
        raise ValueError(f"rolls must have shape (..., n_pitches, n_steps), got {active.shape}")
    n_pitches = active.shape[-2]
    # Columns as rows: (n_columns, n_pitches).
    columns = np.moveaxis(active, -2, -1).reshape(-1, n_pitches).astype(np.int64)
    # pair_counts[d] = number of sounding pairs d semitones apart, over all columns.
    pair_counts = np.array([(columns[:, d:] * columns[:, : n_pitches - d]).sum() for d in range(1, n_pitches)])
    total = pair_counts.sum()
    if total == 0:
        return math.nan
    distances = np.arange(1, n_pitches)
    dissonant = np.isin(distances % 12, DISSONANT_INTERVALS)
    return float(pair_counts[dissonant].sum() / total)
