"""Can a classifier tell a model's chorales from Bach's? A classifier two-sample test.

Listening tests ask people whether a piece is Bach's or a model's; this module asks a
classifier, the way Lopez-Paz & Oquab [1]_ test whether two samples come from one
distribution: train a classifier to separate them, then measure its accuracy on pieces
it has not seen. Accuracy 0.5 means it cannot tell (as far as this classifier can see);
1.0 means the model's pieces are trivially told apart. The classifier is the adversary,
so it is tuned to tell as well as it can.

What is measured
----------------
:func:`discriminator_test` takes real chorales split in two, **train** (the classifier
learns Bach from them) and **held out** (validation and test chorales, never fitted),
and a model's **samples**, as long as held-out pieces (the lengths of
:func:`musicalpy.zoo.evaluate`). The samples are one note table, or several **draws**
(one note table per sampling seed).

1. The samples are cut into folds: with several draws, one draw per fold; with one
   table, ``n_folds`` random folds of its pieces.
2. For each fold, a classifier is fitted on the training chorales (label 0) against the
   samples of the other folds (label 1), the classes weighted equally, its strength tuned
   on validation folds *inside* that training data only.
3. It then labels every held-out chorale and the fold's **fresh** samples. A piece is
   labelled by one decision (for the window network: the mean of its windows'
   probabilities), so the unit is the piece.
4. Each held-out chorale's correctness is averaged over the folds, each sample is
   judged once. The **accuracy** is the balanced accuracy over pieces: the mean of the
   share of chorales called Bach and the share of samples called model. Its 95%
   interval is a percentile bootstrap over pieces (chorales and samples resampled
   separately), never over windows of one piece. The per-fold (per-draw) accuracies are
   reported too.

Two classifiers
---------------
``"features"``, interpretable, after Fang et al.'s feature-based grader [2]_:
L2-regularized logistic regression on per-piece features MusicalPy already computes
(:func:`discriminator_features`): the length-free features of
:data:`musicalpy.metrics.BUDGET_FREE_FEATURES` over the whole texture (except the
C-major ``pitch_in_scale_rate``, which measures the key rather than the music), the
share of each note-length class, the voice-leading rates of
:func:`musicalpy.metrics.piece_voice_leading`, the share of each chord type, and each
voice's melodic step and note density. Features are standardized (missing ones set to
the training median), and the inverse regularization strength ``C`` (nine values from
0.001 to 10) is chosen by 5-fold cross-validated ROC AUC over the training data. The result names the features that give
the model away most: the standardized coefficients (averaged over the folds; positive
means "more of it: more likely the model") with the model's and Bach's mean values.

``"windows"``, learned: a network of 2,813 weights over **four-bar
windows** (16 quarter notes at sixteenth-note resolution, one starting on every bar line:
a chorale's from its score, a sample's from the bar positions its model wrote; every four
quarter notes from the start where a table has none) of the four voices. Each sixteenth
gives, per voice, its sounding pitch class (a one-hot pitch-class roll) and its register,
the leap into a new note, its attack and rest, and whether a bar starts there (so the
network can look for what happens across a bar line). A convolution around the circle of
pitch classes, max-pooled over the twelve roots, reads each vertical sonority the same in
every key; two convolutions over time read motion and rhythm; pooling over the window and
one logistic unit give the window's probability. It is trained with Adam, the classes
weighted equally, and stopped early on a validation fifth of the training pieces (grouped
by piece). To keep a model's whole test within a minute on two CPU cores, it learns from
the windows that start on every other bar line (they overlap by two bars, so every bar
line still falls inside one; the judged pieces use every window) and from a random draw
of training chorales with four times as many windows as the model's pieces (at least
1,200, about 100 chorales; all of them when there are fewer). The network is built once
per process and given fresh seeded weights for each fold.

Four voices or one texture
--------------------------
Samples whose parts are all among Soprano, Alto, Tenor and Bass are compared voice by
voice. Samples with other parts (a piano roll, a merged texture) are compared as **merged
voices**: every part of both sets is merged into one, the voice-leading and per-voice
features are left out, and the windows' four channels are the four highest pitches
sounding at each sixteenth. The result says which (:attr:`DiscriminatorResult.texture`).

Copying
-------
A model that copies its training chorales passes a test whose real class is those
chorales. :func:`copied_windows` reports the share of a model's four-bar windows (one
starting at every quarter note) found **note for note** in a training chorale: the same
pitch in every voice at every sixteenth and the same attacks and rests, at any offset in
the chorale and under any common transposition of the four voices (a model trained on
transposed chorales copies them transposed).

Controls
--------
:func:`shuffled_bars` and :func:`transposed_voice` make deliberately broken "models" out
of real chorales; the test suite checks that both classifiers tell them apart (interval
above 0.8) and that real against real, and broken against broken, give intervals that
contain 0.5.

References
----------
.. [1] D. Lopez-Paz, M. Oquab, "Revisiting Classifier Two-Sample Tests", ICLR 2017.
.. [2] A. Fang, A. Liu, P. Seetharaman, B. Pardo, "Bach or Mock? A Grading Function for
   Chorales in the Style of J.S. Bach", ICML Machine Learning for Media Discovery
   workshop, 2020.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..midi import DEFAULT_TEMPO
from ..names import VOICES
from .features import BUDGET_FREE_FEATURES, NOTE_LENGTH_CLASSES, corpus_features
from .voice_leading import CHORD_TYPES, VOICE_LEADING_MEASURES, corpus_voice_leading

__all__ = [
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

#: The two classifiers of :func:`discriminator_test`, with what each one reads.
CLASSIFIERS: dict[str, str] = {
    "features": "logistic regression on per-piece features",
    "windows": "small network on four-bar windows",
}
#: Length of a window of :func:`copied_windows` and of the ``"windows"`` classifier, in
#: quarter notes (four bars of 4/4).
WINDOW_BEATS = 16

_STEPS_PER_BEAT = 4  # sixteenth notes
_WINDOW_STEPS = WINDOW_BEATS * _STEPS_PER_BEAT
_CHANNELS = len(VOICES)
_MERGED_PART = "Merged"
_KEY_DEPENDENT = ("pitch_in_scale_rate",)  # C major share: the key, not the music
_PER_VOICE = ("mean_abs_interval", "note_density")
_C_GRID = np.logspace(-3, 1, 9)
# The window network learns from this many training-chorale windows per model window,
# and at least _MIN_REAL_WINDOWS (about 100 chorales): the classes are weighted equally
# anyway, and more Bach than that mostly costs time.
_REAL_PER_MODEL_WINDOW = 4
_MIN_REAL_WINDOWS = 1200


# ------------------------------------------------------------------------ the result


@dataclasses.dataclass(frozen=True)
class DiscriminatorResult:
    """What :func:`discriminator_test` measured.

    Attributes
    ----------
    classifier : str
        ``"features"`` or ``"windows"`` (:data:`CLASSIFIERS`).
    accuracy : float
        Balanced accuracy over held-out pieces: 0.5 cannot tell, 1.0 always tells.
    interval : tuple of float
        95% percentile-bootstrap interval of ``accuracy`` over pieces.
    n_pieces : int
        Pieces judged: ``n_real`` held-out chorales plus ``n_samples`` fresh samples.
    n_real, n_samples : int
    fold_accuracies : tuple of float
        Balanced accuracy of each fold (each draw, when the samples came as draws).
    top_features : pd.DataFrame or None
        ``"features"`` only: the features that give the model away most, index
        ``feature``, columns ``coefficient`` (standardized, mean over folds; positive:
        more of it, more likely the model), ``model_mean`` and ``bach_mean``.
    texture : str
        ``"four voices"``, or ``"merged voices"`` when the samples' parts are not
        Soprano, Alto, Tenor and Bass (see the module docstring).
    label : str
        The model's name, for the sentence.
    pieces : pd.DataFrame
        One row per judged piece: ``piece``, ``is_sample``, ``p_sample`` (mean
        probability of "model" over the folds that judged it) and ``correct`` (share of
        those folds that were right).
    """

    classifier: str
    accuracy: float
    interval: tuple[float, float]
    n_pieces: int
    n_real: int
    n_samples: int
    fold_accuracies: tuple[float, ...]
    top_features: pd.DataFrame | None
    texture: str
    label: str
    pieces: pd.DataFrame = dataclasses.field(repr=False)

    def __str__(self) -> str:
        low, high = (round(100 * x) for x in self.interval)
        sentence = (f"{self.label} told apart from Bach {100 * self.accuracy:.0f}% of the time "
                    f"(95% CI {low}-{high}%, {self.n_pieces} pieces; {CLASSIFIERS[self.classifier]}"
                    f"{', merged voices' if self.texture != 'four voices' else ''})")
        if self.top_features is not None and len(self.top_features):
            clues = [f"{name} ({row.model_mean:.3g}, Bach {row.bach_mean:.3g})"
                     for name, row in self.top_features.head(3).iterrows()]
            sentence += "; gives it away most: " + ", ".join(clues)
        return sentence


@dataclasses.dataclass(frozen=True)
class CopyCheck:
    """What :func:`copied_windows` found.

    Attributes
    ----------
    share : float
        ``n_copied / n_windows`` (NaN without a window).
    n_copied, n_windows : int
        Windows found note for note in a training chorale, and all sample windows that
        hold a note.
    transpositions : bool
        Whether a window transposed as a whole counted as found.
    texture : str
        ``"four voices"`` or ``"merged voices"``.
    """

    share: float
    n_copied: int
    n_windows: int
    transpositions: bool
    texture: str

    def __str__(self) -> str:
        if not self.n_windows:
            return "no four-bar window to check (samples shorter than 16 quarter notes)"
        how = "at some transposition " if self.transpositions else ""
        return (f"{self.n_copied} of {self.n_windows} four-bar windows ({100 * self.share:.1f}%) are found note for "
                f"note {how}in a training chorale")


# ------------------------------------------------------------------ note tables


def _texture(samples: pd.DataFrame) -> str:
    if "part" not in samples.columns:
        raise ValueError("samples lack the note-table column(s) ['part']")
    parts = set(samples["part"].astype(str))
    return "four voices" if parts and parts <= set(VOICES) else "merged voices"


def _prepared(notes: pd.DataFrame, texture: str, tempo: float, where: str) -> pd.DataFrame:
    """The usable pitched notes of ``notes`` with beat times, in the given texture."""
    if not isinstance(notes, pd.DataFrame):
        raise TypeError(f"{where} must be a note table (pandas DataFrame), got {type(notes).__name__}")
    missing = {"piece", "part", "pitch"} - set(notes.columns)
    has_beats = {"start_beat", "end_beat"} <= set(notes.columns)
    if not has_beats and not {"start", "end"} <= set(notes.columns):
        missing |= {"start_beat/end_beat or start/end"}
    if missing:
        raise ValueError(f"{where} lacks the note-table column(s) {sorted(missing)}")
    table = notes
    if "is_drum" in table.columns:
        table = table[~table["is_drum"].fillna(False).astype(bool)]
    if has_beats and table[["start_beat", "end_beat"]].notna().all().all():
        start, end = table["start_beat"].to_numpy(float), table["end_beat"].to_numpy(float)
    else:
        start, end = (table[c].to_numpy(float) * tempo / 60.0 for c in ("start", "end"))
    pitch = table["pitch"].to_numpy(float)
    usable = np.isfinite(start) & np.isfinite(end) & (end > start) & (pitch >= 0) & (pitch <= 127) & (start >= 0)
    part = table["part"].astype(str).to_numpy()
    if texture == "four voices":
        usable &= np.isin(part, VOICES)
    else:
        part = np.full(len(part), _MERGED_PART, dtype=object)
    bars = (table["bar_start"].to_numpy(float) if "bar_start" in table.columns
            else np.full(len(table), np.nan))
    out = pd.DataFrame({"piece": table["piece"].astype(str).to_numpy()[usable], "part": part[usable],
                        "pitch": pitch[usable].astype(np.int64), "start_beat": start[usable], "end_beat": end[usable],
                        "bar_start": bars[usable]})
    out["start"], out["end"] = out["start_beat"] * 60.0 / tempo, out["end_beat"] * 60.0 / tempo
    if out.empty:
        raise ValueError(f"{where} has no usable note" + (" in the parts Soprano, Alto, Tenor, Bass"
                                                            if texture == "four voices" else ""))
    return out


def _digest(table: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(table, index=False).to_numpy()
    return hashlib.blake2b(hashed.tobytes(), digest_size=16).hexdigest()


# ------------------------------------------------------------------------ features

_FEATURE_CACHE: dict[tuple[str, str], pd.DataFrame] = {}


def discriminator_features(notes: pd.DataFrame, *, texture: str = "four voices",
                           tempo: float = DEFAULT_TEMPO) -> pd.DataFrame:
    """The per-piece features the ``"features"`` classifier reads.

    Parameters
    ----------
    notes : pd.DataFrame
        A note table of many pieces.
    texture : {"four voices", "merged voices"}
        Four voices: the parts Soprano, Alto, Tenor and Bass (others are left out).
        Merged: every part merged into one; the voice-leading and per-voice features are
        left out.
    tempo : float
        Quarter notes per minute, for tables without beat columns.

    Returns
    -------
    pd.DataFrame
        Index ``piece``; float columns, NaN where a feature is undefined:

        * the length-free whole-texture features (``pitch_entropy``, ``polyphony``,
          ``groove_consistency``, ``mean_ioi``, ...; see :mod:`musicalpy.metrics`);
        * ``note lengths: <class>``: the share of each of
          :data:`musicalpy.metrics.NOTE_LENGTH_CLASSES`;
        * four voices only: the rates of
          :data:`musicalpy.metrics.VOICE_LEADING_MEASURES` (per 100 transitions or %),
          ``chords: <type>`` (share of the whole beats with three voices sounding whose
          chord is of that type), and ``<voice>: mean_abs_interval`` and
          ``<voice>: note_density``.
    """
    if texture not in ("four voices", "merged voices"):
        raise ValueError(f"texture must be 'four voices' or 'merged voices', got {texture!r}")
    table = _prepared(notes, texture, tempo, "notes")
    return _features_of(table, texture).copy()


def _features_of(table: pd.DataFrame, texture: str) -> pd.DataFrame:
    """:func:`discriminator_features` of a prepared table, cached by content."""
    key = (_digest(table), texture)
    # Least recently used out: the training chorales, read for every model, stay.
    features = _FEATURE_CACHE.pop(key) if key in _FEATURE_CACHE else _compute_features(table, texture)
    _FEATURE_CACHE[key] = features
    while len(_FEATURE_CACHE) > 16:
        del _FEATURE_CACHE[next(iter(_FEATURE_CACHE))]
    return features


def _compute_features(table: pd.DataFrame, texture: str) -> pd.DataFrame:
    whole = corpus_features(table)
    scalars = [f for f in BUDGET_FREE_FEATURES if f in whole.columns and f not in _KEY_DEPENDENT
               and not isinstance(whole[f].iloc[0], np.ndarray)]
    frame = whole[scalars].astype(float)
    lengths = np.stack(whole["note_length_histogram"].to_list()).astype(float)
    for index, name in enumerate(NOTE_LENGTH_CLASSES.index):
        frame[f"note lengths: {name}"] = lengths[:, index]
    if texture == "four voices":
        leading = corpus_voice_leading(table)
        for measure in VOICE_LEADING_MEASURES:
            if measure in leading.columns:
                frame[measure] = leading[measure].reindex(frame.index).astype(float)
        chords = np.stack(leading["chord_types"].reindex(frame.index).to_list()).astype(float)
        totals = chords.sum(axis=1, keepdims=True)
        shares = np.divide(chords, totals, out=np.full_like(chords, np.nan), where=totals > 0)
        for index, name in enumerate(CHORD_TYPES):
            frame[f"chords: {name}"] = shares[:, index]
        per_part = corpus_features(table.assign(piece=table["piece"] + "\x1f" + table["part"]))
        split = per_part.index.str.split("\x1f")
        per_part = per_part.assign(_piece=[s[0] for s in split], _part=[s[1] for s in split])
        for voice in VOICES:
            mine = per_part[per_part["_part"] == voice].set_index("_piece")
            for feature in _PER_VOICE:
                frame[f"{voice}: {feature}"] = mine[feature].reindex(frame.index).astype(float)
    return frame


# --------------------------------------------------------------------- grids and windows


def _grid(piece: pd.DataFrame, texture: str) -> tuple[np.ndarray, np.ndarray]:
    """One piece at sixteenth-note steps: per channel the sounding pitch and the attacks.

    Returns ``pitch`` (n_steps, 4) int16, -1 for silence, and ``attack`` (n_steps, 4)
    bool. Four voices: channel ``i`` is ``VOICES[i]`` (of notes sounding together in a
    voice the later, then higher, one). Merged: the four highest sounding pitches,
    highest first.
    """
    start = np.rint(piece["start_beat"].to_numpy(float) * _STEPS_PER_BEAT).astype(np.int64)
    end = np.maximum(np.rint(piece["end_beat"].to_numpy(float) * _STEPS_PER_BEAT).astype(np.int64), start + 1)
    pitch_of = piece["pitch"].to_numpy(np.int64)
    n_steps = int(end.max()) if len(end) else 0
    pitch = np.full((n_steps, _CHANNELS), -1, dtype=np.int16)
    attack = np.zeros((n_steps, _CHANNELS), dtype=bool)
    if texture == "four voices":
        parts = piece["part"].to_numpy()
        for channel, voice in enumerate(VOICES):
            owner = np.full(n_steps, -1, dtype=np.int64)
            for index in np.flatnonzero(parts == voice)[np.lexsort((pitch_of[parts == voice], start[parts == voice]))]:
                owner[start[index]:end[index]] = index
            sounding = owner >= 0
            pitch[sounding, channel] = pitch_of[owner[sounding]]
            attack[sounding, channel] = start[owner[sounding]] == np.flatnonzero(sounding)
        return pitch, attack
    sounding_roll = np.zeros((n_steps, 128), dtype=bool)
    attack_roll = np.zeros((n_steps, 128), dtype=bool)
    for s, e, p in zip(start, end, pitch_of, strict=True):
        sounding_roll[s:e, p] = True
        attack_roll[s, p] = True
    ranked = np.sort(np.where(sounding_roll, np.arange(128), -1), axis=1)[:, ::-1][:, :_CHANNELS]
    pitch[:] = ranked
    steps = np.arange(n_steps)[:, None]
    attack[:] = (ranked >= 0) & attack_roll[steps, np.maximum(ranked, 0)]
    return pitch, attack


def _barlines(piece: pd.DataFrame, n_steps: int) -> np.ndarray:
    """Steps on which a bar starts: the piece's ``bar_start`` lines where it has them
    (a score's, or a model's own), else every four quarter notes from beat 0."""
    lines = piece["bar_start"].to_numpy(float)
    lines = np.unique(lines[np.isfinite(lines)])
    steps = (np.rint(lines * _STEPS_PER_BEAT).astype(np.int64) if len(lines)
             else np.arange(0, n_steps, 4 * _STEPS_PER_BEAT))
    out = np.zeros(n_steps, dtype=bool)
    out[steps[(steps >= 0) & (steps < n_steps)]] = True
    return out


def _window_pieces(table: pd.DataFrame, texture: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The window network's inputs for every piece (:func:`_window_inputs`)."""
    out = {}
    for piece, group in table.groupby("piece", sort=False):
        pitch, attack = _grid(group, texture)
        out[str(piece)] = _window_inputs(pitch, attack, _barlines(group, len(pitch)))
    return out


def _grids(table: pd.DataFrame, texture: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {str(piece): _grid(group, texture) for piece, group in table.groupby("piece", sort=False)}


def _window_starts(n_steps: int, hop: int) -> np.ndarray:
    return np.arange(0, max(n_steps - _WINDOW_STEPS, 0) + 1, hop)


def _padded(pitch: np.ndarray, attack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    short = _WINDOW_STEPS - len(pitch)
    if short <= 0:
        return pitch, attack
    return (np.concatenate([pitch, np.full((short, _CHANNELS), -1, pitch.dtype)]),
            np.concatenate([attack, np.zeros((short, _CHANNELS), bool)]))


def _window_inputs(pitch: np.ndarray, attack: np.ndarray,
                   barline: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The network's inputs for one piece: a window starting on every bar line (every
    four quarter notes without them) that leaves a whole window.

    Returns ``chroma`` (n_windows, steps, 12, 4): one-hot pitch class per channel, and
    ``scalars`` (n_windows, steps, 17): per channel register ``(pitch - 60) / 12``
    (0 when silent), the leap into an attacked note (octaves), attack and rest, then
    whether a bar starts on the step.
    """
    if barline is None:
        barline = np.zeros(len(pitch), dtype=bool)
        barline[::4 * _STEPS_PER_BEAT] = True
    pitch, attack = _padded(pitch, attack)
    barline = np.r_[barline, np.zeros(len(pitch) - len(barline), dtype=bool)]
    starts = np.flatnonzero(barline[: max(len(pitch) - _WINDOW_STEPS, 0) + 1])
    if not len(starts):
        starts = np.array([0])
    windows = np.stack([pitch[s:s + _WINDOW_STEPS] for s in starts])
    attacks = np.stack([attack[s:s + _WINDOW_STEPS] for s in starts])
    lines = np.stack([barline[s:s + _WINDOW_STEPS] for s in starts])[..., None]
    sounding = windows >= 0
    chroma = np.zeros((*windows.shape, 12), dtype=np.float32)
    n, t, c = np.nonzero(sounding)
    chroma[n, t, c, windows[sounding] % 12] = 1.0
    register = np.where(sounding, (windows.astype(np.float32) - 60.0) / 12.0, 0.0)
    # The leap (octaves) into each attacked note from the channel's previous pitch:
    # broken phrases show first as leaps.
    previous = np.concatenate([windows[:, :1], windows[:, :-1]], axis=1)
    leap = np.where(attacks & sounding & (previous >= 0), (windows - previous) / 12.0, 0.0)
    scalars = np.concatenate([register, leap, attacks, ~sounding, lines], axis=-1).astype(np.float32)
    return np.moveaxis(chroma, 2, 3), scalars


# ------------------------------------------------------------------------ classifiers


class _FeatureClassifier:
    """Tuned, standardized logistic regression over :func:`discriminator_features`."""

    def __init__(self, features: pd.DataFrame, seed: int):
        self.features = features
        self.seed = seed
        self.coefficients: list[pd.Series] = []

    def fit_predict(self, real: Sequence[str], fake: Sequence[str], judged: Sequence[str]) -> np.ndarray:
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegressionCV
        from sklearn.model_selection import StratifiedKFold
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from threadpoolctl import threadpool_limits

        x = self.features.loc[[*real, *fake]]
        y = np.r_[np.zeros(len(real)), np.ones(len(fake))]
        # A feature that one class never has (e.g. voice leading of a texture without
        # voices) would only teach "missing means model"; it is left out.
        keep = [c for c in x.columns if x.loc[list(real), c].notna().any() and x.loc[list(fake), c].notna().any()
                and x[c].nunique(dropna=True) > 1]
        folds = StratifiedKFold(n_splits=min(5, int(min(y.sum(), len(y) - y.sum()))), shuffle=True,
                                random_state=self.seed)
        # The medians and scales come from all of this fold's training pieces, tuning folds
        # included: that can only sway the choice of C, never the judged pieces, and lets
        # one regularization path per tuning fold try every C (a grid search refits each).
        model = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                              LogisticRegressionCV(Cs=_C_GRID, l1_ratios=(0.0,), cv=folds, scoring="roc_auc",
                                                   class_weight="balanced", max_iter=5000,
                                                   use_legacy_attributes=False))
        # One BLAS thread: these fits are tiny, and on a busy machine threads only wait.
        with threadpool_limits(1):
            model.fit(x[keep].to_numpy(float), y)
        self.coefficients.append(pd.Series(model[-1].coef_[0], index=keep))
        return model.predict_proba(self.features.loc[list(judged), keep].to_numpy(float))[:, 1]

    def top_features(self, real: Sequence[str], fake: Sequence[str], n: int = 5) -> pd.DataFrame:
        mean = pd.concat(self.coefficients, axis=1).fillna(0.0).mean(axis=1)
        order = mean.abs().sort_values(ascending=False).index[:n]
        table = pd.DataFrame({"coefficient": mean[order],
                              "model_mean": self.features.loc[list(fake), order].mean(),
                              "bach_mean": self.features.loc[list(real), order].mean()})
        table.index.name = "feature"
        return table


@functools.cache
def _sonority_layer() -> type:
    """The key-invariant sonority layer's class, made on first use (the metrics import no Keras)."""
    import keras
    from keras import ops

    # rotation[(pc, voice), (root, weight row)]: which weight meets pitch class pc of a voice
    # when the sonority is read from each of the twelve roots.
    pitch_class, voice, root = np.meshgrid(np.arange(12), np.arange(_CHANNELS), np.arange(12), indexing="ij")
    rotation = (((pitch_class - root) % 12) * _CHANNELS + voice).reshape(12 * _CHANNELS, 12)

    class PitchClassSonority(keras.layers.Layer):
        """Each step's sonority read from all twelve roots, the best root kept.

        ``relu(b + sum_{pc, voice} chroma[pc, voice] * W[(pc - root) % 12, voice])``, max over
        ``root``: a convolution around the circle of pitch classes (one kernel, every key),
        done as one matrix product with the kernel laid out for every root, which is
        several times faster on a CPU than a convolution over a padded circle.
        Input (batch, steps, 12, voices), output (batch, steps, units).
        """

        def __init__(self, units: int = 12, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(12, _CHANNELS, self.units), initializer="glorot_uniform",
                                          name="kernel")
            self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

        def call(self, chroma):
            flat = ops.reshape(self.kernel, (12 * _CHANNELS, self.units))
            every_root = ops.reshape(ops.take(flat, rotation, axis=0), (12 * _CHANNELS, 12 * self.units))
            steps = ops.reshape(chroma, (-1, _WINDOW_STEPS, 12 * _CHANNELS))
            roots = ops.reshape(ops.matmul(steps, every_root), (-1, _WINDOW_STEPS, 12, self.units))
            return ops.max(ops.relu(roots + self.bias), axis=2)

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return PitchClassSonority


@functools.cache
def _window_network():
    """A few thousand weights: pitch-class sonorities in any key, then time.

    Built and traced once per process; :func:`_reset` gives it fresh weights for each
    fold (tracing a new network costs seconds, more than a small fold's training)."""
    import keras
    from keras import layers

    chroma = keras.Input((_WINDOW_STEPS, 12, _CHANNELS), name="chroma")
    scalars = keras.Input((_WINDOW_STEPS, 4 * _CHANNELS + 1), name="scalars")
    sonority = _sonority_layer()(12, name="sonority")(chroma)
    x = layers.Concatenate()([sonority, scalars])
    x = layers.Conv1D(16, 3, padding="same", activation="relu", name="motion")(x)
    x = layers.Conv1D(16, 3, padding="same", dilation_rate=4, activation="relu", name="phrase")(x)
    pooled = layers.Concatenate()([layers.GlobalAveragePooling1D()(x), layers.GlobalMaxPooling1D()(x)])
    output = layers.Dense(1, activation="sigmoid", name="model_probability")(layers.Dropout(0.2)(pooled))
    model = keras.Model([chroma, scalars], output, name="bach_or_model")
    model.compile(optimizer=keras.optimizers.Adam(5e-3), loss="binary_crossentropy")
    return model


def _reset(model, seed: int) -> None:
    """Fresh Glorot-uniform kernels and zero biases drawn from ``seed``, a fresh optimizer
    and dropout: the network as if just built with that seed."""
    import keras

    rng = np.random.default_rng(seed)
    for weight in model.trainable_weights:
        shape = tuple(weight.shape)
        if weight.path.endswith("bias"):
            weight.assign(np.zeros(shape, np.float32))
            continue
        receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        limit = math.sqrt(6.0 / (receptive * (shape[-2] + shape[-1])))
        weight.assign(rng.uniform(-limit, limit, shape).astype(np.float32))
    for variable in model.optimizer.variables:  # the step count and Adam's moments, not the learning rate
        if not variable.path.endswith("learning_rate"):
            variable.assign(np.zeros(tuple(variable.shape), variable.dtype))
    for layer in model.layers:
        if getattr(layer, "seed_generator", None) is not None:
            layer.seed_generator.state.assign(np.array([seed, 0], dtype="int64"))
    keras.utils.set_random_seed(seed)  # the order in which fit() shuffles the windows


class _WindowClassifier:
    """The window network, stopped early on a validation fifth of its training pieces."""

    def __init__(self, inputs: dict[str, tuple[np.ndarray, np.ndarray]], seed: int, max_epochs: int = 30):
        self.inputs = inputs
        self.seed = seed
        self.max_epochs = max_epochs

    def _stack(self, pieces: Sequence[str], labels: np.ndarray,
               every: int = 1) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        chroma = np.concatenate([self.inputs[p][0][::every] for p in pieces])
        scalars = np.concatenate([self.inputs[p][1][::every] for p in pieces])
        counts = np.array([len(self.inputs[p][0][::every]) for p in pieces])
        y = np.repeat(labels, counts).astype(np.float32)
        # Each class weighs as much as the other, whatever its number of windows.
        weight = np.where(y == 1, 0.5 / max(y.sum(), 1), 0.5 / max(len(y) - y.sum(), 1)) * len(y)
        return [chroma, scalars], y, weight.astype(np.float32)

    def _some_real(self, real: list[str], fake: list[str], rng: np.random.Generator) -> list[str]:
        """Training chorales in a random order, as many as make ``_REAL_PER_MODEL_WINDOW``
        times the model's windows, at least ``_MIN_REAL_WINDOWS`` (all of them when there
        are fewer)."""
        wanted = max(_REAL_PER_MODEL_WINDOW * sum(len(self.inputs[p][0]) for p in fake), _MIN_REAL_WINDOWS)
        shuffled = list(rng.permutation(real))
        counts = np.cumsum([len(self.inputs[p][0]) for p in shuffled])
        return shuffled[:int(np.searchsorted(counts, wanted)) + 1]

    def fit_predict(self, real: Sequence[str], fake: Sequence[str], judged: Sequence[str]) -> np.ndarray:
        import keras

        rng = np.random.default_rng(self.seed)
        fake = list(fake)
        real = self._some_real(list(real), fake, rng)
        validation = set(rng.permutation(real)[:max(1, len(real) // 5)]) | set(rng.permutation(fake)[:max(1, len(fake) // 5)])
        fit = [p for p in real + fake if p not in validation]
        held = [p for p in real + fake if p in validation]
        is_fake = set(fake)
        # Training windows start on every other bar line (they still overlap by two bars,
        # so every bar line lies inside one); the judged pieces' windows on every one.
        x, y, w = self._stack(fit, np.array([p in is_fake for p in fit]), every=2)
        vx, vy, vw = self._stack(held, np.array([p in is_fake for p in held]), every=2)
        model = _window_network()
        _reset(model, self.seed)
        stop = keras.callbacks.EarlyStopping(patience=4, min_delta=1e-3, restore_best_weights=True)
        model.fit(x, y, sample_weight=w, validation_data=(vx, vy, vw), epochs=self.max_epochs, batch_size=128,
                  callbacks=[stop], verbose=0)
        jx, _, _ = self._stack(list(judged), np.zeros(len(judged)))
        windows = model.predict(jx, batch_size=512, verbose=0)[:, 0]
        counts = np.array([len(self.inputs[p][0]) for p in judged])
        return np.add.reduceat(windows, np.r_[0, np.cumsum(counts)[:-1]]) / counts


# ------------------------------------------------------------------------ the protocol


def _draws(samples: pd.DataFrame | Sequence[pd.DataFrame]) -> list[pd.DataFrame]:
    draws = [samples] if isinstance(samples, pd.DataFrame) else list(samples)
    if not draws or not all(isinstance(d, pd.DataFrame) for d in draws):
        raise TypeError("samples must be a note table or a non-empty sequence of note tables (one per draw)")
    return draws


def _folds(sample_ids: list[list[str]], n_folds: int, seed: int) -> list[list[str]]:
    if len(sample_ids) > 1:
        return sample_ids
    pieces = np.random.default_rng(seed).permutation(sample_ids[0])
    if len(pieces) < 2 * n_folds:
        raise ValueError(f"{len(pieces)} samples cannot make {n_folds} folds: give at least {2 * n_folds} "
                         "samples, several draws, or fewer folds")
    return [list(fold) for fold in np.array_split(pieces, n_folds)]


def _balanced(correct_real: np.ndarray, correct_fake: np.ndarray) -> float:
    return 0.5 * (float(np.mean(correct_real)) + float(np.mean(correct_fake)))


def _bootstrap(correct_real: np.ndarray, correct_fake: np.ndarray, n_boot: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    real = correct_real[rng.integers(0, len(correct_real), (n_boot, len(correct_real)))].mean(axis=1)
    fake = correct_fake[rng.integers(0, len(correct_fake), (n_boot, len(correct_fake)))].mean(axis=1)
    low, high = np.percentile(0.5 * (real + fake), [2.5, 97.5])
    return float(low), float(high)


def discriminator_test(
    samples: pd.DataFrame | Sequence[pd.DataFrame],
    train: pd.DataFrame,
    held_out: pd.DataFrame,
    *,
    classifier: str = "features",
    n_folds: int = 3,
    n_boot: int = 2000,
    n_top: int = 5,
    seed: int = 0,
    label: str = "the model",
    tempo: float = DEFAULT_TEMPO,
    max_epochs: int = 30,
) -> DiscriminatorResult:
    """Classifier two-sample test of a model's samples against Bach's chorales.

    Parameters
    ----------
    samples : pd.DataFrame or sequence of pd.DataFrame
        The model's pieces (note tables of many pieces, by ``piece``), as long as
        held-out pieces; a sequence gives one table per sampling draw, and each draw is
        then one fold. Parts other than Soprano, Alto, Tenor and Bass make the test
        compare merged voices (see the module docstring).
    train : pd.DataFrame
        Real chorales the classifier learns from (the training split).
    held_out : pd.DataFrame
        Real chorales it is judged on (validation and test), none of them in ``train``.
    classifier : {"features", "windows"}
        See :data:`CLASSIFIERS` and the module docstring.
    n_folds : int
        Folds of the samples when they come as one table (at least 2).
    n_boot : int
        Bootstrap resamples of the pieces for the interval.
    n_top : int
        Features in :attr:`DiscriminatorResult.top_features` (``"features"`` only).
    seed : int
        Seeds the folds, the tuning folds, the network and the bootstrap.
    label : str
        The model's name in the sentence.
    tempo : float
        Quarter notes per minute, for tables without beat columns.
    max_epochs : int
        Longest training of the window network (it stops early on validation).

    Returns
    -------
    DiscriminatorResult
        ``str()`` reads "the model told apart from Bach 97% of the time (95% CI 91-99%,
        74 pieces; ...)".
    """
    if classifier not in CLASSIFIERS:
        raise ValueError(f"classifier must be one of {list(CLASSIFIERS)}, got {classifier!r}")
    if int(n_folds) < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    draws = _draws(samples)
    texture = _texture(pd.concat(draws))
    real_train = _prepared(train, texture, tempo, "train").assign(piece=lambda t: "real:" + t["piece"])
    real_held = _prepared(held_out, texture, tempo, "held_out").assign(piece=lambda t: "real:" + t["piece"])
    overlap = set(real_train["piece"]) & set(real_held["piece"])
    if overlap:
        raise ValueError(f"held_out shares {len(overlap)} piece(s) with train, e.g. {sorted(overlap)[0][5:]!r}")
    fakes = [_prepared(d, texture, tempo, f"samples[{i}]" if len(draws) > 1 else "samples")
             .assign(piece=lambda t, i=i: f"draw{i}:" + t["piece"]) for i, d in enumerate(draws)]
    folds = _folds([list(pd.unique(f["piece"])) for f in fakes], int(n_folds), seed)
    train_ids, held_ids = list(pd.unique(real_train["piece"])), list(pd.unique(real_held["piece"]))
    everything = pd.concat([real_train, real_held, *fakes], ignore_index=True)
    if classifier == "features":
        judge: Any = _FeatureClassifier(pd.concat([_features_of(t, texture) for t in (real_train, real_held, *fakes)]),
                                        seed)
    else:
        judge = _WindowClassifier(_window_pieces(everything, texture), seed,
                                  max_epochs)
    real_p, fake_p, fold_accuracies = [], {}, []
    for index, fresh in enumerate(folds):
        fit_fakes = [p for k, fold in enumerate(folds) if k != index for p in fold]
        if classifier == "windows":
            judge.seed = seed + index
        p = judge.fit_predict(train_ids, fit_fakes, held_ids + list(fresh))
        real_p.append(p[:len(held_ids)])
        fake_p.update(zip(fresh, p[len(held_ids):], strict=True))
        fold_accuracies.append(_balanced(p[:len(held_ids)] < 0.5, p[len(held_ids):] >= 0.5))
    real_correct = np.mean(np.stack(real_p) < 0.5, axis=0)
    fake_ids = [p for fold in folds for p in fold]
    fake_correct = np.array([fake_p[p] >= 0.5 for p in fake_ids], dtype=float)
    pieces = pd.DataFrame({"piece": [p.split(":", 1)[1] for p in held_ids + fake_ids],
                           "is_sample": [False] * len(held_ids) + [True] * len(fake_ids),
                           "p_sample": np.r_[np.mean(np.stack(real_p), axis=0), [fake_p[p] for p in fake_ids]],
                           "correct": np.r_[real_correct, fake_correct]})
    top = judge.top_features(train_ids + held_ids, fake_ids, n_top) if classifier == "features" else None
    return DiscriminatorResult(
        classifier=classifier, accuracy=_balanced(real_correct, fake_correct),
        interval=_bootstrap(real_correct, fake_correct, int(n_boot), seed), n_pieces=len(pieces),
        n_real=len(held_ids), n_samples=len(fake_ids), fold_accuracies=tuple(fold_accuracies), top_features=top,
        texture=texture, label=label, pieces=pieces)


def discriminator_tests(samples: pd.DataFrame | Sequence[pd.DataFrame], train: pd.DataFrame,
                        held_out: pd.DataFrame, **options: Any) -> dict[str, DiscriminatorResult]:
    """Both classifiers of :func:`discriminator_test` on the same pieces.

    Parameters
    ----------
    samples, train, held_out, **options
        As for :func:`discriminator_test` (without ``classifier``).

    Returns
    -------
    dict of str to DiscriminatorResult
        Keyed by :data:`CLASSIFIERS`' names, in that order.
    """
    return {name: discriminator_test(samples, train, held_out, classifier=name, **options) for name in CLASSIFIERS}


# ------------------------------------------------------------------------- copying


def _window_keys(pitch: np.ndarray, attack: np.ndarray, hop: int, transpositions: bool) -> list[bytes]:
    """One exact key per window of ``_WINDOW_STEPS`` steps starting every ``hop`` steps."""
    starts = _window_starts(len(pitch), hop) if len(pitch) >= _WINDOW_STEPS else np.empty(0, np.int64)
    if not len(starts):
        return []
    windows = np.lib.stride_tricks.sliding_window_view(pitch, _WINDOW_STEPS, axis=0)[starts]
    attacks = np.lib.stride_tricks.sliding_window_view(attack, _WINDOW_STEPS, axis=0)[starts]
    sounding = windows >= 0
    keep = sounding.any(axis=(1, 2))
    windows, attacks, sounding = windows[keep].astype(np.int16), attacks[keep], sounding[keep]
    if transpositions:
        lowest = np.where(sounding, windows, 999).min(axis=(1, 2), keepdims=True)
        windows = np.where(sounding, windows - lowest, -1)
    codes = (windows * 2 + attacks).astype(np.int16)
    return [row.tobytes() for row in codes.reshape(len(codes), -1)]


def copied_windows(samples: pd.DataFrame | Sequence[pd.DataFrame], train: pd.DataFrame, *,
                   transpositions: bool = True, tempo: float = DEFAULT_TEMPO) -> CopyCheck:
    """The share of a model's four-bar windows found note for note in a training chorale.

    A window is :data:`WINDOW_BEATS` quarter notes at sixteenth-note steps; the model's
    windows start at every quarter note of a sample, the chorales' at every sixteenth.
    A window is found when some chorale window has, at every step and in every voice,
    the same sounding pitch (or silence) and the same attack (so the same rhythm),
    all four voices shifted by one common interval when ``transpositions`` is True.
    Windows without a note are not counted.

    Parameters
    ----------
    samples : pd.DataFrame or sequence of pd.DataFrame
        The model's pieces (one table or one per draw).
    train : pd.DataFrame
        The chorales the model was trained on.
    transpositions : bool
        Count a window found at any transposition (True) or only at the same pitches.
    tempo : float
        Quarter notes per minute, for tables without beat columns.

    Returns
    -------
    CopyCheck
    """
    draws = _draws(samples)
    texture = _texture(pd.concat(draws))
    known = set()
    for pitch, attack in _grids(_prepared(train, texture, tempo, "train"), texture).values():
        known.update(_window_keys(pitch, attack, 1, transpositions))
    found = total = 0
    for index, draw in enumerate(draws):
        table = _prepared(draw, texture, tempo, f"samples[{index}]")
        for pitch, attack in _grids(table, texture).values():
            keys = _window_keys(pitch, attack, _STEPS_PER_BEAT, transpositions)
            total += len(keys)
            found += sum(key in known for key in keys)
    return CopyCheck(found / total if total else math.nan, found, total, bool(transpositions), texture)


# -------------------------------------------------------------- broken models (controls)


def _seconds_per_beat(piece: pd.DataFrame) -> float:
    if {"start", "end"} <= set(piece.columns) and piece["end_beat"].max() > 0:
        return float(piece["end"].max() / piece["end_beat"].max())
    return 60.0 / DEFAULT_TEMPO


def shuffled_bars(notes: pd.DataFrame, *, seed: int = 0, beats_per_bar: float = 4.0) -> pd.DataFrame:
    """A broken model for the controls: each piece's bars in a random order.

    Bars are those of the ``bar_start`` column where the table has it (the corpus's bar
    lines), else ``beats_per_bar`` quarter notes from beat 0. A note belongs to the bar
    it starts in and is cut at that bar's end (a tie across the bar line is lost);
    the bars are then laid end to end in a random order, each piece with its own.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table with ``start_beat``/``end_beat``.
    seed : int
    beats_per_bar : float
        Bar length where there is no ``bar_start``.

    Returns
    -------
    pd.DataFrame
        The same columns; times (beats and seconds) and ``bar_start`` moved.
    """
    if not {"piece", "start_beat", "end_beat"} <= set(notes.columns):
        raise ValueError("shuffled_bars needs the columns piece, start_beat and end_beat")
    rng = np.random.default_rng(seed)
    pieces = []
    for _, piece in notes.groupby("piece", sort=False):
        start, end = piece["start_beat"].to_numpy(float), piece["end_beat"].to_numpy(float)
        if "bar_start" in piece.columns and piece["bar_start"].notna().all():
            lines = np.unique(np.r_[piece["bar_start"].to_numpy(float), min(0.0, start.min())])
        else:
            lines = np.arange(0.0, end.max(), beats_per_bar)
        bounds = np.r_[lines, max(end.max(), lines[-1] + 1e-9)]
        bar = np.searchsorted(lines, start + 1e-9, side="right") - 1
        order = rng.permutation(len(lines))
        widths = np.diff(bounds)[order]
        new_line = np.empty(len(lines))
        new_line[order] = bounds[0] + np.r_[0.0, np.cumsum(widths)[:-1]]
        shift = new_line[bar] - lines[bar]
        new_end = np.minimum(end, bounds[bar + 1])
        per_beat = _seconds_per_beat(piece)
        moved = piece.assign(start_beat=start + shift, end_beat=new_end + shift)
        if {"start", "end"} <= set(piece.columns):
            moved = moved.assign(start=moved["start_beat"] * per_beat, end=moved["end_beat"] * per_beat)
        if "bar_start" in piece.columns:
            moved = moved.assign(bar_start=new_line[bar])
        pieces.append(moved.sort_values(["start_beat", "pitch"], kind="stable"))
    return pd.concat(pieces, ignore_index=True) if pieces else notes.copy()


def transposed_voice(notes: pd.DataFrame, *, voice: str = "Alto", semitones: int = 6) -> pd.DataFrame:
    """A broken model for the controls: one voice moved by an interval (default a tritone).

    Parameters
    ----------
    notes : pd.DataFrame
    voice : str
        The part to move.
    semitones : int
        Up when positive.

    Returns
    -------
    pd.DataFrame
        A copy with that part's pitches moved.
    """
    if voice not in set(notes["part"].astype(str)):
        raise ValueError(f"notes has no part {voice!r}; its parts: {sorted(set(notes['part'].astype(str)))}")
    moved = notes["pitch"].where(notes["part"].astype(str) != voice, notes["pitch"] + int(semitones))
    if ((moved < 0) | (moved > 127)).any():
        raise ValueError(f"moving {voice} by {semitones} semitones leaves the MIDI range 0-127")
    return notes.assign(pitch=moved)
