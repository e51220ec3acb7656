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

Every public name is importable from ``musicalpy.metrics``; the code lives in one module
per concern: :mod:`~musicalpy.metrics.validation` (bad input),
:mod:`~musicalpy.metrics.features` (per-piece features and their registry),
:mod:`~musicalpy.metrics.comparison` (set vs set), :mod:`~musicalpy.metrics.spread`
(sampling seeds), :mod:`~musicalpy.metrics.likelihood` (bits),
:mod:`~musicalpy.metrics.dependence` (mutual information) and
:mod:`~musicalpy.metrics.harmony` (vertical dissonance of piano rolls) and
:mod:`~musicalpy.metrics.voice_leading` (parallels, crossing, spacing, chord types of
four-voice textures) and :mod:`~musicalpy.metrics.discriminator` (can a classifier tell a
model's chorales from Bach's? a classifier two-sample test, and the share of copied windows).

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
the gap exceeds the spread. :func:`music_verdict` says whether samples are usable at all,
from four plain criteria beside real pieces' values (:mod:`~musicalpy.metrics.verdict`).

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

from .comparison import (
    compare_sets,
    feature_frame,
    kde_overlap,
    mark_not_applicable,
    pitch_histogram,
    pitch_histogram_kl,
)
from .dependence import (
    COHERENCE_MEASURES,
    mutual_information,
    note_coherence,
    quantization_drift,
    uncertainty_coefficient,
)
from .discriminator import (
    CLASSIFIERS,
    WINDOW_BEATS,
    CopyCheck,
    DiscriminatorResult,
    copied_windows,
    discriminator_features,
    discriminator_test,
    discriminator_tests,
    shuffled_bars,
    transposed_voice,
)
from .features import (
    BUDGET_FREE_FEATURES,
    FEATURES,
    NOTE_LENGTH_CLASSES,
    SCALAR_FEATURES,
    VECTOR_FEATURES,
    VOICE_FEATURES,
    PieceNotes,
    corpus_features,
    empty_beat_rate,
    groove_consistency,
    length_beats,
    mean_abs_interval,
    mean_ioi,
    n_notes,
    n_pitch_classes_used,
    n_pitched_notes,
    n_pitches_used,
    normalized_pitch_histogram,
    note_density,
    note_length_histogram,
    piece_features,
    pitch_class_entropy,
    pitch_class_histogram,
    pitch_class_transition_matrix,
    pitch_entropy,
    pitch_in_scale_rate,
    pitch_range,
    polyphony,
    polyphony_rate,
    scale_consistency,
)
from .harmonizing import GOALS as HARMONIZING_GOALS
from .harmonizing import fang_parallels, judge_against_bach, meets_goals
from .harmony import DISSONANT_INTERVALS, vertical_dissonance
from .likelihood import bits_per_note, bits_per_token, evaluation_row
from .spread import mean_oa, seed_spread, spread_verdict
from .validation import PROBLEMS, clean_notes, validate_notes
from .verdict import VERDICT_CRITERIA, MusicVerdict, music_checks, music_verdict
from .voice_leading import (
    CHORD_TYPES,
    VOICE_LEADING_MEASURES,
    VOICE_RANGES,
    VoiceGrid,
    chord_type,
    chord_type_histogram,
    chord_type_overlap,
    corpus_voice_leading,
    homorhythm,
    out_of_range,
    parallel_fifths,
    parallel_octaves,
    piece_voice_leading,
    strong_beat_dissonance,
    voice_crossing,
    voice_grid,
    voice_leading_summary,
    voice_motion,
    voice_overlap,
    voice_pair_transitions,
    wide_spacing,
)

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
    "VERDICT_CRITERIA",
    "MusicVerdict",
    "music_checks",
    "music_verdict",
    "bits_per_token",
    "bits_per_note",
    "evaluation_row",
    "vertical_dissonance",
    "COHERENCE_MEASURES",
    "mutual_information",
    "uncertainty_coefficient",
    "note_coherence",
    "quantization_drift",
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
    "HARMONIZING_GOALS",
    "fang_parallels",
    "judge_against_bach",
    "meets_goals",
    "CLASSIFIERS",
    "WINDOW_BEATS",
    "DiscriminatorResult",
    "CopyCheck",
    "discriminator_features",
    "discriminator_test",
    "discriminator_tests",
    "copied_windows",
    "shuffled_bars",
    "transposed_voice",
]
