"""An HMM that harmonizes a chorale melody, in the manner of Allan & Williams (2005).

Allan and Williams ("Harmonising Chorales by Probabilistic Inference", NIPS 17, 2005)
read a chorale one quarter-note beat at a time: the **visible** symbol of a beat is the
melody note, the **hidden** state the harmony under it. Counting on labelled chorales
gives the chord-to-chord transitions and the melody-given-chord emissions; Viterbi then
finds the most likely harmony of a new melody, seeing all of it, its end included, so a
cadence can be prepared. Forward filtering, backward sampling draws varied ones.

Where the states here differ from theirs
----------------------------------------
* A state is the **voicing** itself: the alto, tenor and bass intervals in semitones
  below the soprano at the beat, e.g. ``(4, 9, 16)``. Their harmonic symbols name the
  chord (its notes relative to the key, the bass among them) and a second HMM chooses
  the voicing and ornaments. Our states decode straight into three notes, which also
  makes a state *relative to the soprano*: the emission ``P(soprano pitch | state)``
  is what ties a voicing to the harmonic degrees where Bach used it.
* There is one state per voicing seen in training plus one ``UNSEEN`` state that
  carries the smoothed mass of voicings training never saw; it is scored (a test chord
  Bach wrote but training lacks costs the ``UNSEEN`` probability) but never decoded.
* Every chorale is transposed so that its tonic is C (the key found by
  :func:`musicalpy.analysis.find_key`, Krumhansl's profile, as A&W transposed to one
  key), and major and minor chorales get separate models, as theirs.
* No ornamentation HMM: the sub-beat notes of a given melody are kept as they are and
  the chord is chosen per beat (from the soprano note sounding on the beat).
* The transitions see the melody (an input-output HMM): they are counted by the
  soprano's motion into the beat and out of it, and back off, where those counts are
  thin, to a prior that knows voice leading: how often Bach repeats a voicing under
  that motion (a voicing relative to the soprano, repeated under a moving soprano,
  moves every voice in parallel with it) and a factor for each parallel fifth or
  octave a transition writes. Transitions blind to the melody, smoothed toward a
  uniform row, let Viterbi follow each beat's emission alone and write 69.5 times
  Bach's parallels (see :class:`ChordHMM` and ``docs/harmonizing.md``).
* No Baum-Welch refinement: with thousands of states one EM pass costs ``K**2`` per
  beat, and EM on melodies alone would let a state drift away from the voicing it
  names, after which it no longer decodes into notes. The forward pass runs on the
  sparse counts (one sparse product per beat and input), Viterbi on one dense table
  per input and soprano step.

>>> harmonizer = ChoraleHarmonizer().fit(corpus.split("train").notes)
>>> harmonizer.table(corpus.split("test").notes)       # nats per chord, as A&W's Table 1
>>> four_voices = harmonizer.harmonize(melody)          # a musicalpy.melody.Melody
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .hmm import forward
from .midi import DEFAULT_TEMPO, DEFAULT_VELOCITY, as_note_table
from .names import VOICES

__all__ = ["MODES", "PUBLISHED_TABLE", "DEFAULT_SMOOTHING", "SMOOTHING_CANDIDATES", "MOTION_CLASSES", "UNKNOWN_MOTION",
           "N_INPUTS", "ANY_INPUT", "ChordSequence", "ChordHMM", "ChoraleHarmonizer", "beat_chords", "tonic_shift",
           "chord_sequences", "chords_to_notes", "nats_per_chord", "melody_beats", "soprano_motion", "transition_inputs",
           "voicing_parallels", "jsb_table", "selected_table", "choose_smoothing"]

MODES = ("major", "minor")
#: Number of MIDI pitches: the soprano's visible alphabet.
_N_PITCHES = 128
#: Allan & Williams (NIPS 2005), Table 1, as issue 16 quotes it: nats per chord of the
#: test chorales' harmonic symbols, given the melody (the HMM) and without it.
PUBLISHED_TABLE = pd.DataFrame(
    {"model": ["HMM given the melody (Allan & Williams 2005)", "without the melody (Allan & Williams 2005)"],
     "major": [4.90, 7.08], "minor": [5.02, 7.21]})

#: The smoothing of :class:`ChordHMM` when none is given: the values chosen on the
#: validation chorales (see docs/harmonizing.md). ``_SMOOTHING_ORDER`` is the order
#: :meth:`ChordHMM.arrays` stores them in.
DEFAULT_SMOOTHING = {"alpha": 10.0, "beta": 0.1, "kappa": 30.0, "kappa_motion": 10.0, "rho": 0.1}
#: The smoothing candidates tried on validation (:func:`choose_smoothing`), each setting's
#: tuple; ``kappa`` and ``kappa_motion`` are fixed at values chosen on the validation
#: harmonizations (stronger back-off prices Bach's chords a little better but writes
#: stiffer bass lines; see docs/harmonizing.md).
SMOOTHING_CANDIDATES = {"alphas": (3.0, 10.0), "betas": (0.1, 0.3), "kappas": (30.0,), "kappa_motions": (10.0,),
                        "rhos": (0.1, 0.3)}
_SMOOTHING_ORDER = ("alpha", "beta", "kappa", "kappa_motion", "rho")
#: Version of the files :meth:`ChoraleHarmonizer.save` writes (1: before the transitions
#: saw the soprano's motion, no ``format`` field).
_FILE_FORMAT = 2
#: Log transition tables (one per input and soprano step, K x K floats, about 3 MB each)
#: a :class:`ChordHMM` keeps for decoding.
_KEPT_TABLES = 16

# ------------------------------------------------------------------ beats and chords


@dataclass(frozen=True)
class ChordSequence:
    """One run of beats of one piece, in the model's key (tonic C).

    Attributes
    ----------
    piece : str
    mode : {"major", "minor"}
    beats : np.ndarray, shape=(n_beats,)
        Beat positions (quarter notes) in the piece.
    soprano : np.ndarray of int, shape=(n_beats,)
        The soprano's MIDI pitch at each beat, transposed by ``shift``.
    chords : list of tuple of int
        ``(alto, tenor, bass)`` semitones below the soprano at each beat.
    shift : int
        Semitones added to the piece's pitches to bring its tonic to C.
    """

    piece: str
    mode: str
    beats: np.ndarray
    soprano: np.ndarray
    chords: list[tuple[int, int, int]]
    shift: int


def _sounding(starts: np.ndarray, ends: np.ndarray, pitches: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """The pitch sounding at each beat in one monophonic line, -1 where it rests."""
    if len(starts) == 0:  # a voice missing from the piece rests throughout
        return np.full(len(beats), -1, dtype=np.int64)
    index = np.searchsorted(starts, beats + 1e-9, side="right") - 1
    valid = index >= 0
    sounding = np.full(len(beats), -1, dtype=np.int64)
    hit = valid & (ends[np.clip(index, 0, None)] > beats + 1e-9)
    sounding[hit] = pitches[index[hit]]
    return sounding


def beat_chords(notes: pd.DataFrame, voices: Sequence[str] = VOICES) -> pd.DataFrame:
    """The four voices' pitches sounding on every quarter-note beat of every piece.

    Parameters
    ----------
    notes : pd.DataFrame
        A note table with ``start_beat`` / ``end_beat`` and the parts ``voices``.
    voices : sequence of str
        Soprano first.

    Returns
    -------
    pd.DataFrame
        One row per piece and beat ``0, 1, ...`` up to the last note's end: ``piece``,
        ``beat`` and one column per voice (MIDI pitch, -1 where the voice rests).
    """
    if "start_beat" not in notes.columns:
        raise ValueError("notes: the note table has no start_beat / end_beat columns (beats are needed)")
    frames = []
    for piece, table in notes.groupby("piece", sort=False):
        beats = np.arange(math.ceil(float(table["end_beat"].max()) - 1e-9), dtype=float)
        row: dict[str, Any] = {"piece": piece, "beat": beats}
        for voice in voices:
            line = table[table["part"].astype(str) == voice].sort_values("start_beat")
            row[voice] = _sounding(line["start_beat"].to_numpy(float), line["end_beat"].to_numpy(float),
                                   line["pitch"].to_numpy(np.int64), beats)
        frames.append(pd.DataFrame(row))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["piece", "beat", *voices])


def tonic_shift(notes: pd.DataFrame, profile: str = "krumhansl") -> tuple[int, str]:
    """Semitones that bring a piece's tonic to C (the smaller way round), and its mode.

    Parameters
    ----------
    notes : pd.DataFrame
        One piece (any parts).
    profile : str
        The key profile of :func:`musicalpy.analysis.find_key`.

    Returns
    -------
    shift : int
        In ``-5 .. 6``.
    mode : {"major", "minor"}
    """
    from .analysis import key_correlations

    # find_key's answer (its first row) without building 24 music21 Key objects a piece.
    best = key_correlations(notes, profile).iloc[0]
    shift = (-int(best["tonic_pc"])) % 12
    return (shift - 12 if shift > 6 else shift), str(best["mode"])


def chord_sequences(notes: pd.DataFrame, *, profile: str = "krumhansl") -> list[ChordSequence]:
    """Cut every piece into runs of beats on which all four voices sound, in C.

    A beat on which any voice rests ends a run (the chorales' rare general rests), so
    every chord of a sequence has three intervals.

    Returns
    -------
    list of ChordSequence
    """
    grid = beat_chords(notes)
    sequences = []
    for piece, rows in grid.groupby("piece", sort=False):
        shift, mode = tonic_shift(notes[notes["piece"] == piece], profile)
        pitches = rows[list(VOICES)].to_numpy(np.int64)
        sounding = (pitches >= 0).all(axis=1)
        # Runs of consecutive sounding beats: split where sounding changes.
        edges = np.flatnonzero(np.diff(np.r_[0, sounding.astype(int), 0]))
        for lo, hi in zip(edges[::2], edges[1::2], strict=True):
            block = pitches[lo:hi]
            soprano = block[:, 0] + shift
            chords = [tuple(int(v) for v in block[t, 0] - block[t, 1:]) for t in range(len(block))]
            sequences.append(ChordSequence(str(piece), mode, rows["beat"].to_numpy(float)[lo:hi], soprano, chords,
                                           shift))
    return sequences


# -------------------------------------------------------------- the soprano's motion

#: Classes of the soprano's motion from one beat to the next: a step is one or two
#: semitones, a leap three or more.
MOTION_CLASSES = ("same", "step up", "step down", "leap up", "leap down")
#: The class of a motion that is unknown: into the first beat, out of the last, and next
#: to a rest.
UNKNOWN_MOTION = len(MOTION_CLASSES)
#: The harmonizer's transition counts are split by the soprano's motion into the beat and
#: out of it (its melodic context: passing, neighbour, repeated, leaping...), ``into *
#: (len(MOTION_CLASSES) + 1) + out_of``: 30 inputs. Counting by the exact interval instead
#: would split the ~15,000 training transitions too thinly; the exact interval still
#: enters through the voice leading of the back-off (:func:`voicing_parallels`).
N_INPUTS = len(MOTION_CLASSES) * (len(MOTION_CLASSES) + 1)
#: The input of a beat whose motion into it is unknown: the unconditioned transitions.
ANY_INPUT = N_INPUTS


def soprano_motion(soprano: np.ndarray) -> np.ndarray:
    """The motion class of the soprano into every beat (an index into :data:`MOTION_CLASSES`).

    Parameters
    ----------
    soprano : np.ndarray of int, shape=(n_beats,)
        MIDI pitch at each beat, -1 at a rest.

    Returns
    -------
    np.ndarray of int, shape=(n_beats,)
        :data:`UNKNOWN_MOTION` on the first beat and on every beat where it or the beat
        before rests.
    """
    return _motion_and_steps(soprano)[0]


def _motion_and_steps(soprano: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`soprano_motion` and the semitones moved into every beat (0 where unknown)."""
    soprano = np.asarray(soprano, dtype=np.int64)
    classes = np.full(len(soprano), UNKNOWN_MOTION, dtype=np.intp)
    steps = np.zeros(len(soprano), dtype=np.int64)
    if len(soprano) < 2:
        return classes, steps
    step = np.diff(soprano)
    known = (soprano[1:] >= 0) & (soprano[:-1] >= 0)
    moved = np.select([step == 0, (step > 0) & (step <= 2), (step < 0) & (step >= -2), step > 2], [0, 1, 2, 3], 4)
    classes[1:][known] = moved[known]
    steps[1:][known] = step[known]
    return classes, steps


def transition_inputs(soprano: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the transition into every beat sees of the melody.

    Parameters
    ----------
    soprano : np.ndarray of int, shape=(n_beats,)
        MIDI pitch at each beat, -1 at a rest.

    Returns
    -------
    inputs : np.ndarray of int, shape=(n_beats,)
        ``into * (len(MOTION_CLASSES) + 1) + out_of`` (see :data:`N_INPUTS`), the
        soprano's motion class into the beat and out of it; :data:`ANY_INPUT` where the
        motion into the beat is unknown.
    steps : np.ndarray of int, shape=(n_beats,)
        Semitones the soprano moves into the beat (0 where unknown).
    """
    into, steps = _motion_and_steps(soprano)
    out_of = np.r_[into[1:], UNKNOWN_MOTION]
    inputs = np.where(into == UNKNOWN_MOTION, ANY_INPUT, into * (UNKNOWN_MOTION + 1) + out_of)
    return inputs.astype(np.intp), steps


def voicing_parallels(before: np.ndarray, after: np.ndarray, step: int | np.ndarray) -> np.ndarray:
    """Parallel fifths and octaves written by moving from one voicing to the next.

    The rule of :func:`musicalpy.metrics.parallel_fifths` and
    :func:`~musicalpy.metrics.parallel_octaves`, on two beat chords: for each of the six
    pairs of voices, both voices move, and the interval between them (in semitones,
    modulo 12) is a fifth on both beats, or a unison or octave on both beats with the
    voices moving in contrary motion or staying the same kind (unison to unison,
    octave to octave).

    Parameters
    ----------
    before, after : np.ndarray of int, shape=(..., 3)
        Alto, tenor and bass intervals below the soprano on the two beats (they
        broadcast against each other).
    step : int or np.ndarray of int
        Semitones the soprano moves from the first beat to the second (an array
        broadcasts against the voicings' leading shape).

    Returns
    -------
    np.ndarray of int
        The number of voice pairs moving in parallel fifths or octaves, shape of the
        broadcast of ``before[..., 0]`` and ``after[..., 0]``.
    """
    before, after = np.asarray(before, dtype=np.int64), np.asarray(after, dtype=np.int64)
    # Pitches relative to the first beat's soprano: the soprano, then the three below it.
    first = np.concatenate([np.zeros_like(before[..., :1]), -before], axis=-1)
    second = np.concatenate([np.zeros_like(after[..., :1]), -after], axis=-1) + np.asarray(step)[..., None]
    count = np.zeros(np.broadcast_shapes(first.shape, second.shape)[:-1], dtype=np.int64)
    for upper, lower in itertools.combinations(range(4), 2):
        # Intervals are read on each beat's own shape and broadcast only when combined:
        # on a (K, 1) x (1, K) table of voicing pairs that is most of the work saved.
        was, now = np.abs(first[..., upper] - first[..., lower]), np.abs(second[..., upper] - second[..., lower])
        fifths = (was % 12 == 7) & (now % 12 == 7)
        octaves = (was % 12 == 0) & (now % 12 == 0)
        candidates = fifths | octaves
        if not candidates.any():
            continue
        up_move, low_move = second[..., upper] - first[..., upper], second[..., lower] - first[..., lower]
        both = (up_move != 0) & (low_move != 0)
        contrary = np.sign(up_move) == -np.sign(low_move)
        kind_kept = (was == 0) == (now == 0)  # unison to unison, octave to octave
        count += both & (fifths | (octaves & (contrary | kind_kept)))
    return count


# ------------------------------------------------------------------------ the HMM


class ChordHMM:
    """Voicings as hidden states, the soprano pitch as the visible symbol, fitted by counting.

    Two models share the counts:

    * the **harmonizer** (an input-output HMM), which decodes and scores chords given a
      melody: ``P(voicing_t | voicing_{t-1}, x_t) P(soprano_t | voicing_t)``, where the
      input ``x_t`` is read from the melody: the soprano's motion class into beat ``t``
      and out of it (:func:`transition_inputs`) and its step into ``t`` in semitones;
    * the **generative HMM**, the same without the input
      (``P(voicing_t | voicing_{t-1}) P(soprano_t | voicing_t)``), a proper joint
      distribution of chords and melody: it prices ``log P(chords, melody)`` and
      :meth:`generate` samples from it.

    Every distribution backs off to the one below it (interpolation with a Dirichlet
    prior): the transitions counted under the input to a voice-leading prior, that prior
    built from the unconditioned transitions, those to the voicings' frequencies, the
    frequencies to uniform::

        u(j)        = (n(j) + alpha) / (N + K alpha)
        C(j | i)    = (n(i, j) + kappa u(j)) / (n(i, .) + kappa)
        Q(j | i, x) = C'(j | i, x) rho ** parallels(i, j, step) / Z(i, x)
        P(j | i, x) = (n(i, x, j) + kappa_motion Q(j | i, x)) / (n(i, x, .) + kappa_motion)

    ``C'(. | i, x)`` is ``C(. | i)`` with the repeat ``i -> i`` set to the share of the
    input's transitions on which Bach repeats the voicing (``repeat_rate_``; under a
    moving soprano a repeated voicing moves every voice in parallel with it) and the
    other entries scaled to fill the rest; ``parallels(i, j, step)`` counts the parallel
    fifths and octaves the transition writes (:func:`voicing_parallels`). A row seen
    ``n`` times keeps the weight ``n / (n + kappa_motion)`` on its own counts, so Bach's
    own transitions keep their counts; the prior shapes what the counts do not say.

    Parameters
    ----------
    alpha : float
        Added to every voicing's frequency count (the bottom of the back-off; the mass
        of the ``UNSEEN`` state).
    beta : float
        Added to every (voicing, soprano pitch) count before normalizing, over the 128
        MIDI pitches.
    kappa : float
        Strength of the back-off of the transitions (and the start) to the frequencies.
    kappa_motion : float
        Strength of the back-off of the transitions counted under an input to the
        voice-leading prior.
    rho : float
        In ``(0, 1]``: the prior's factor per parallel fifth or octave (1: blind to them).

    Attributes
    ----------
    states_ : list of tuple of int
        The voicings seen in training, then ``None`` (the UNSEEN state), ``K`` in all.
    counts_ : dict of str to np.ndarray
        ``start`` (K,), ``transitions`` (n, 4): one row ``(input, from, to, count)`` per
        transition seen, ``emissions`` (K, 128), ``chords`` (K,).
    startprob_ : np.ndarray, shape=(K,)
    emissionprob_ : np.ndarray, shape=(K, 128)
        ``P(soprano pitch | voicing)``.
    unigram_ : np.ndarray, shape=(K,)
        Smoothed voicing frequencies (the independent-chords baseline).
    repeat_rate_ : np.ndarray, shape=(N_INPUTS,)
        Share of the training transitions under each input that repeat the voicing
        (Jeffreys's estimate, so an input without a repeat keeps a little mass).
    """

    def __init__(self, alpha: float = DEFAULT_SMOOTHING["alpha"], beta: float = DEFAULT_SMOOTHING["beta"],
                 kappa: float = DEFAULT_SMOOTHING["kappa"], kappa_motion: float = DEFAULT_SMOOTHING["kappa_motion"],
                 rho: float = DEFAULT_SMOOTHING["rho"]) -> None:
        values = {"alpha": alpha, "beta": beta, "kappa": kappa, "kappa_motion": kappa_motion, "rho": rho}
        bad = {k: v for k, v in values.items() if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0)}
        if bad or rho > 1:
            raise ValueError(f"smoothing must be finite and above 0 (rho at most 1), got {bad or {'rho': rho}}")
        self.alpha, self.beta, self.kappa, self.kappa_motion, self.rho = (float(v) for v in values.values())

    @property
    def smoothing(self) -> dict[str, float]:
        """``alpha``, ``beta``, ``kappa``, ``kappa_motion`` and ``rho``."""
        return {name: getattr(self, name) for name in _SMOOTHING_ORDER}

    # -- counting

    def fit(self, sequences: Sequence[ChordSequence]) -> ChordHMM:
        """Count starts, transitions by their input, emissions and voicing frequencies,
        then smooth.

        Parameters
        ----------
        sequences : sequence of ChordSequence
            Labelled training runs (the chords Bach wrote under each soprano).
        """
        if not sequences:
            raise ValueError("sequences: nothing to count (no run of four sounding voices)")
        seen = sorted({chord for s in sequences for chord in s.chords})
        self.states_ = [*seen, None]
        self._index = {chord: i for i, chord in enumerate(seen)}
        k = len(self.states_)
        start, emit, freq = np.zeros(k), np.zeros((k, _N_PITCHES)), np.zeros(k)
        moves = []
        for s in sequences:
            ids = self.state_ids(s.chords)
            start[ids[0]] += 1
            moves.append(np.column_stack([transition_inputs(s.soprano)[0][1:], ids[:-1], ids[1:]]))
            np.add.at(emit, (ids, s.soprano), 1)
            np.add.at(freq, ids, 1)
        seen_moves, counts = np.unique(np.concatenate(moves), axis=0, return_counts=True)
        self.counts_ = {"start": start, "transitions": np.column_stack([seen_moves, counts]).astype(np.int64),
                        "emissions": emit, "chords": freq}
        self._tabulate()
        self._smooth()
        return self

    def _tabulate(self) -> None:
        """What every smoothing reads from the counts: per input (and, last, over all of
        them) the transition counts as a sparse matrix, also transposed, and their row
        sums; each input's repeat rate; the voicings as an array."""
        from scipy import sparse

        inputs, before, after, counts = self.counts_["transitions"].T
        k = self.n_states
        by_input = [sparse.csr_array((counts[inputs == x].astype(float), (before[inputs == x], after[inputs == x])),
                                     shape=(k, k)) for x in range(N_INPUTS)]
        self._pairs = sparse.csr_array((counts.astype(float), (before, after)), shape=(k, k)).toarray()
        self._sparse_counts = [*by_input, sparse.csr_array(self._pairs)]
        self._sparse_counts_t = [counts_of.T.tocsr() for counts_of in self._sparse_counts]
        self._stacked_counts = sparse.csr_array((counts.astype(float), (inputs * k + before, after)),
                                                shape=(N_INPUTS * k, k))
        self._row_counts = np.stack([counts_of.sum(axis=1) for counts_of in self._sparse_counts])
        repeats = np.bincount(inputs[before == after], weights=counts[before == after], minlength=N_INPUTS)
        self.repeat_rate_ = (repeats + 0.5) / (self._row_counts[:N_INPUTS].sum(axis=1) + 1.0)
        # UNSEEN has no voicing: a placeholder, its transitions are never charged a parallel.
        self._voicings = np.array([s if s is not None else (0, 0, 0) for s in self.states_], dtype=np.int64)
        self._parallels: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def _smooth(self) -> None:
        c = self.counts_
        self.unigram_ = _normalized(c["chords"] + self.alpha)
        self.startprob_ = _backed_off(c["start"], self.unigram_, self.kappa)
        self.emissionprob_ = _normalized(c["emissions"] + self.beta)
        self._chain_diagonal = ((np.diagonal(self._pairs) + self.kappa * self.unigram_)
                                / (self._row_counts[ANY_INPUT] + self.kappa))
        self._by_step: dict[int, tuple[Any, np.ndarray, np.ndarray]] = {}
        self._log_tables: dict[tuple[int, int], np.ndarray] = {}
        self._chain_t: np.ndarray | None = None
        self._log_chain_t: np.ndarray | None = None

    def with_smoothing(self, **smoothing: float) -> ChordHMM:
        """The same counts under other smoothing (no recount); unnamed values are kept."""
        other = ChordHMM(**{**self.smoothing, **smoothing})
        other.states_, other._index, other.counts_ = self.states_, self._index, self.counts_
        for name in ("_pairs", "_sparse_counts", "_sparse_counts_t", "_stacked_counts", "_row_counts", "repeat_rate_",
                     "_voicings", "_parallels"):
            setattr(other, name, getattr(self, name))
        other._smooth()
        return other

    @property
    def n_states(self) -> int:
        return len(self.states_)

    def state_ids(self, chords: Iterable[tuple[int, int, int]]) -> np.ndarray:
        """State index of each chord; voicings training never saw (and None) map to UNSEEN."""
        unseen = len(self.states_) - 1
        return np.array([unseen if c is None else self._index.get(tuple(c), unseen) for c in chords], dtype=np.intp)

    # -- transitions

    def _parallel_pairs(self, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The transitions (rows, columns) that write parallels when the soprano moves by
        ``step``, and how many each (kept: they depend on the voicings only)."""
        if step not in self._parallels:
            counts = voicing_parallels(self._voicings[:, None, :], self._voicings[None, :, :], step)
            counts[-1, :] = counts[:, -1] = 0  # UNSEEN: no voicing to judge
            rows, columns = np.nonzero(counts)
            self._parallels[step] = rows, columns, counts[rows, columns]
        return self._parallels[step]

    def _chain_probs(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        """``C(after | before)``, element by element."""
        return ((self._pairs[before, after] + self.kappa * self.unigram_[after])
                / (self._row_counts[ANY_INPUT, before] + self.kappa))

    def _voice_leading(self, step: int) -> tuple[Any, np.ndarray, np.ndarray]:
        """What the parallels change in the prior for a soprano step, apart from the
        input's repeat rate ``r``: off the diagonal, ``C(j | i) / (1 - C(i | i)) * (rho **
        parallels - 1)`` (a sparse matrix, transposed) and its row sums; on it,
        ``rho ** parallels(i, i) - 1``. The change of ``C'`` is ``1 - r`` times the first
        plus ``r`` times the second, and the normalizer ``Z(i, x)`` is one plus its row sum."""
        from scipy import sparse

        if step not in self._by_step:
            rows, columns, counts = self._parallel_pairs(step)
            k, off = self.n_states, rows != columns
            change = self._chain_probs(rows[off], columns[off]) / (1 - self._chain_diagonal[rows[off]])
            change *= self.rho ** counts[off] - 1
            diagonal = np.zeros(k)
            diagonal[rows[~off]] = self.rho ** counts[~off] - 1
            self._by_step[step] = (sparse.csr_array((change, (columns[off], rows[off])), shape=(k, k)),
                                   np.bincount(rows[off], weights=change, minlength=k), diagonal)
        return self._by_step[step]

    def _normalizer(self, given: int | np.ndarray, step: int) -> np.ndarray:
        """``Z(i, x)`` of every row ``i`` (shape (K,)), or of every input of an array of
        them (shape (n, K))."""
        _, off_sums, diagonal = self._voice_leading(step)
        repeat = np.asarray(self.repeat_rate_[given])[..., None]
        return (1 + (1 - repeat) * off_sums + repeat * diagonal).reshape(np.shape(given) + (self.n_states,))

    def transition_probs(self, inputs: np.ndarray, steps: np.ndarray, before: np.ndarray,
                         after: np.ndarray) -> np.ndarray:
        """``P(after | before, input, step)``, element by element (no (K, K) table is built).

        Parameters
        ----------
        inputs, steps : np.ndarray of int
            The input (:func:`transition_inputs`; :data:`ANY_INPUT` gives the
            unconditioned ``C(after | before)``) and the soprano's step in semitones.
        before, after : np.ndarray of int
            State indices (all four arrays broadcast together).
        """
        inputs, steps, before, after = np.broadcast_arrays(inputs, steps, before, after)
        out = self._chain_probs(before, after).astype(float)
        known = inputs != ANY_INPUT
        given, step, i, j = inputs[known], steps[known], before[known], after[known]
        parallels = voicing_parallels(self._voicings[i], self._voicings[j], step)
        parallels[(i == self.n_states - 1) | (j == self.n_states - 1)] = 0  # UNSEEN: no voicing to judge
        normalizer = np.empty(len(i))
        for one in np.unique(step):
            here = step == one
            normalizer[here] = self._normalizer(given[here], int(one))[np.arange(here.sum()), i[here]]
        repeat = self.repeat_rate_[given]  # C'(j | i, x): the repeat at Bach's rate, the rest scaled to fill
        adjusted = np.where(i == j, repeat, (1 - repeat) * self._chain_probs(i, j) / (1 - self._chain_diagonal[i]))
        prior = adjusted * self.rho ** parallels / normalizer
        counts = self._stacked_counts[given * self.n_states + i, j] if len(i) else np.zeros(0)
        out[known] = (counts + self.kappa_motion * prior) / (self._row_counts[given, i] + self.kappa_motion)
        return out

    def transitions(self, given: int = ANY_INPUT, step: int = 0) -> np.ndarray:
        """The transition matrix ``P(j | i, input, step)``, shape (K, K); the default
        input :data:`ANY_INPUT` gives the unconditioned ``C(j | i)``."""
        return self._to_from(given, step).T

    def _to_from(self, given: int, step: int, log: bool = False) -> np.ndarray:
        """:meth:`transitions` transposed (``[j, i]``), a new contiguous array, or its log:
        the prior's bulk ``C(j | i)`` times a weight per row ``i``, then the few entries
        that differ (the repeat, the parallels, the counted transitions) set one by one.
        (The log table is built from the chain's log, kept: one pass over the table.)"""
        if self._chain_t is None:
            self._chain_t = np.ascontiguousarray(_backed_off(self._pairs, self.unigram_, self.kappa).T)
            self._log_chain_t = np.log(self._chain_t)
        if given == ANY_INPUT:
            return (self._log_chain_t if log else self._chain_t).copy()
        repeat = self.repeat_rate_[given]
        normalizer = self._normalizer(given, step)
        prior_weight = self.kappa_motion / (self._row_counts[given] + self.kappa_motion) / normalizer
        bulk = prior_weight * (1 - repeat) / (1 - self._chain_diagonal)
        rows, columns, counts = self._parallel_pairs(step)
        counted = self._sparse_counts_t[given].tocoo()
        counted_part = counted.data / (self._row_counts[given, counted.col] + self.kappa_motion)
        if log:
            table = self._log_chain_t + np.log(bulk)
            np.fill_diagonal(table, np.log(prior_weight * repeat))
            table[columns, rows] += counts * math.log(self.rho)
            table[counted.row, counted.col] = np.log(np.exp(table[counted.row, counted.col]) + counted_part)
            return table
        table = self._chain_t * bulk
        np.fill_diagonal(table, prior_weight * repeat)
        table[columns, rows] *= self.rho ** counts
        table[counted.row, counted.col] += counted_part
        return table

    @property
    def transmat_(self) -> np.ndarray:
        """The unconditioned transitions ``C(j | i)``, shape (K, K)."""
        return self.transitions()

    def _advance(self, alpha: np.ndarray, given: int, step: int) -> np.ndarray:
        """``alpha @ transitions(given, step)`` for rows ``alpha`` (n, K), from the sparse
        counts: a row of counts plus ``strength`` times its back-off, over their total."""
        strength = self.kappa if given == ANY_INPUT else self.kappa_motion
        weighted = alpha / (self._row_counts[given] + strength)
        out = (self._sparse_counts_t[given] @ weighted.T).T
        if given == ANY_INPUT:
            return out + (weighted @ np.full(len(self.unigram_), strength))[:, None] * self.unigram_
        off, _, diagonal = self._voice_leading(step)
        repeat = self.repeat_rate_[given]
        prior = weighted * strength / self._normalizer(given, step)
        moved = prior * (1 - repeat) / (1 - self._chain_diagonal)
        return (out + self._advance(moved, ANY_INPUT, 0) - moved * self._chain_diagonal
                + prior * repeat * (1 + diagonal) + (1 - repeat) * (off @ prior.T).T)

    # -- likelihoods, in nats

    def _frame_probs(self, soprano: np.ndarray) -> np.ndarray:
        """``P(soprano_t | state)``, shape (n_beats, K); a rest (-1) is a missing
        observation: every state explains it equally."""
        soprano = np.asarray(soprano, dtype=np.int64)
        probs = self.emissionprob_[:, np.clip(soprano, 0, _N_PITCHES - 1)].T.copy()
        probs[soprano < 0] = 1.0
        return probs

    def log_score(self, soprano: np.ndarray, chords: Sequence[tuple[int, int, int]]) -> float:
        """The harmonizer's log score of one chord path under a melody: ``log P(chords,
        melody)`` with every transition seeing its input. Summed over every chord path it
        is :meth:`log_partition`, not 0 (the inputs are read from the melody it also
        emits), so only the difference of the two is a probability."""
        ids = self.state_ids(chords)
        inputs, steps = transition_inputs(soprano)
        emit = np.log(self.emissionprob_[ids, np.asarray(soprano)]).sum()
        moves = self.transition_probs(inputs[1:], steps[1:], ids[:-1], ids[1:])
        return float(np.log(self.startprob_[ids[0]]) + np.log(moves).sum() + emit)

    def log_partition(self, soprano: np.ndarray) -> float:
        """:meth:`log_score` summed over every chord path (the scaled forward pass)."""
        return float(self.log_partitions([soprano])[0])

    def log_partitions(self, sopranos: Sequence[np.ndarray]) -> np.ndarray:
        """:meth:`log_partition` of many melodies at once (one sparse product per beat and
        input, for all the melodies that have that beat)."""
        return _log_partitions([self._frame_probs(s) for s in sopranos], [transition_inputs(s) for s in sopranos],
                               self.startprob_, self._advance)

    def log_chords_given_melody(self, soprano: np.ndarray, chords: Sequence[tuple[int, int, int]]) -> float:
        """``log P(chords | melody) = log_score - log_partition``: a proper distribution
        over chord paths for each melody."""
        return self.log_score(soprano, chords) - self.log_partition(soprano)

    def log_melody(self, soprano: np.ndarray) -> float:
        """``log P(melody)`` under the generative HMM (no input), summed over every chord
        path."""
        _, scale = forward(self._frame_probs(soprano), self.startprob_, self.transmat_)
        return float(np.log(scale).sum())

    def log_chain(self, chords: Sequence[tuple[int, int, int]]) -> float:
        """``log P(chords)`` under the chord Markov chain (no melody)."""
        ids = self.state_ids(chords)
        return float(np.log(self.startprob_[ids[0]]) + np.log(self._chain_probs(ids[:-1], ids[1:])).sum())

    def log_unigram(self, chords: Sequence[tuple[int, int, int]]) -> float:
        """``log P(chords)`` with every chord independent (smoothed frequencies)."""
        return float(np.log(self.unigram_[self.state_ids(chords)]).sum())

    def log_joint(self, soprano: np.ndarray, chords: Sequence[tuple[int, int, int]]) -> float:
        """``log P(chords, melody)`` under the generative HMM (no input)."""
        ids = self.state_ids(chords)
        return self.log_chain(chords) + float(np.log(self.emissionprob_[ids, np.asarray(soprano)]).sum())

    # -- decoding

    def _log_start(self, temperature: float = 1.0) -> np.ndarray:
        """Log start probabilities at ``temperature``, UNSEEN forbidden."""
        with np.errstate(divide="ignore"):
            log_start = np.log(self.startprob_) / temperature
        log_start[-1] = -np.inf
        return log_start

    def _log_to_from(self, key: tuple[int, int], temperature: float = 1.0) -> np.ndarray:
        """Log transitions of one ``(input, step)`` at ``temperature``, transposed
        (``[j, i]``, see :func:`_viterbi`), UNSEEN forbidden. At temperature 1 the last
        :data:`_KEPT_TABLES` used are kept, as melodies reuse the same few inputs."""
        if temperature == 1.0 and key in self._log_tables:
            self._log_tables[key] = self._log_tables.pop(key)  # the most recently used goes last
            return self._log_tables[key]
        table = self._to_from(*key, log=True)
        table /= temperature
        table[-1, :] = -np.inf
        if temperature == 1.0:
            if len(self._log_tables) >= _KEPT_TABLES:
                self._log_tables.pop(next(iter(self._log_tables)))
            self._log_tables[key] = table
        return table

    @staticmethod
    def _keys(soprano: np.ndarray) -> list[tuple[int, int]]:
        """``(input, step)`` of the transition into every beat."""
        inputs, steps = transition_inputs(soprano)
        return [(int(x), int(s)) for x, s in zip(inputs, steps, strict=True)]

    def viterbi(self, soprano: np.ndarray) -> list[tuple[int, int, int]]:
        """The most likely chord of every beat given the whole melody (-1: a rest)."""
        keys = self._keys(soprano)
        with np.errstate(divide="ignore"):
            log_frames = np.log(self._frame_probs(soprano))
        path = _viterbi(log_frames, self._log_start(), [None, *(self._log_to_from(key) for key in keys[1:])])
        return [self.states_[i] for i in path]

    def sample(self, soprano: np.ndarray, *, rng: np.random.Generator, temperature: float = 1.0) -> list[tuple]:
        """One chord path drawn from ``P(chords | melody)`` (forward filtering, backward
        sampling); ``temperature`` divides every log probability (below 1: closer to Viterbi)."""
        keys = self._keys(soprano)
        frames = self._frame_probs(soprano) ** (1.0 / temperature)
        start = _normalized(np.exp(self._log_start(temperature)))
        trans = {key: _normalized(np.exp(self._log_to_from(key, temperature).T)) for key in set(keys[1:])}
        per_beat = [None, *(trans[key] for key in keys[1:])]
        alpha = _filtered(frames, per_beat, start)
        path = np.empty(len(frames), dtype=np.intp)
        path[-1] = rng.choice(self.n_states, p=_normalized(alpha[-1]))
        for t in range(len(frames) - 2, -1, -1):
            path[t] = rng.choice(self.n_states, p=_normalized(alpha[t] * per_beat[t + 1][:, path[t + 1]]))
        return [self.states_[i] for i in path]

    def generate(self, n_beats: int, *, rng: np.random.Generator, temperature: float = 1.0) -> tuple[np.ndarray, list]:
        """Sample chords from the generative HMM's chain and a soprano pitch under each:
        ``(soprano, chords)``."""
        log_trans = self._log_to_from((ANY_INPUT, 0), temperature).T
        with np.errstate(divide="ignore"):
            log_emit = np.log(self.emissionprob_) / temperature
        ids = [rng.choice(self.n_states, p=_normalized(np.exp(self._log_start(temperature))))]
        for _ in range(n_beats - 1):
            ids.append(rng.choice(self.n_states, p=_normalized(np.exp(log_trans[ids[-1]]))))
        # Only soprano pitches training saw: the smoothing's mass on the rest of the MIDI
        # range is there to score, and would put a voice below pitch 0 now and then.
        seen = np.exp(log_emit) * (self.counts_["emissions"].sum(axis=0) > 0)
        soprano = np.array([rng.choice(_N_PITCHES, p=_normalized(seen[i])) for i in ids])
        return soprano, [self.states_[i] for i in ids]

    # -- files

    def arrays(self) -> dict[str, np.ndarray]:
        """The counts, the states and the smoothing as arrays (what :meth:`from_arrays` reads)."""
        states = np.array([s for s in self.states_ if s is not None], dtype=np.int64).reshape(-1, 3)
        return {"states": states, "smoothing": np.array([self.smoothing[k] for k in _SMOOTHING_ORDER]),
                **{f"count_{k}": v for k, v in self.counts_.items()}}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> ChordHMM:
        """Rebuild from :meth:`arrays` (the smoothing is reapplied to the counts).

        Raises
        ------
        ValueError
            For arrays an older version wrote (transitions counted without the melody's
            input, which the counts cannot recover).
        """
        old = arrays.get("count_transitions")
        if old is None or np.ndim(old) != 2 or np.shape(old)[1] != 4 or len(arrays["smoothing"]) != len(_SMOOTHING_ORDER):
            raise ValueError("saved by an older HMM harmonizer (transitions counted without the soprano's motion, "
                             "which its counts cannot recover); train it again: musicalpy train hmm_harmonizer "
                             "--out <folder>")
        model = cls(**dict(zip(_SMOOTHING_ORDER, (float(v) for v in arrays["smoothing"]), strict=True)))
        seen = [tuple(int(v) for v in row) for row in arrays["states"]]
        model.states_ = [*seen, None]
        model._index = {chord: i for i, chord in enumerate(seen)}
        model.counts_ = {k: np.asarray(arrays[f"count_{k}"], dtype=float) for k in ("start", "emissions", "chords")}
        model.counts_["transitions"] = np.asarray(arrays["count_transitions"], dtype=np.int64)
        model._tabulate()
        model._smooth()
        return model


def _backed_off(counts: np.ndarray, prior: np.ndarray, strength: float) -> np.ndarray:
    """Rows of ``counts`` (last axis) under a Dirichlet prior ``strength * prior``:
    ``(n(j) + strength prior(j)) / (n + strength)``; ``prior`` broadcasts against them."""
    return (counts + strength * prior) / (counts.sum(axis=-1, keepdims=True) + strength)


def _filtered(frames: np.ndarray, transitions: Sequence[np.ndarray | None], start: np.ndarray) -> np.ndarray:
    """Forward filtering with a transition matrix per beat (``transitions[t]`` leads into
    beat ``t``; the first is not read): ``P(state_t | soprano_0..t)``, shape (n_beats, K)."""
    alpha = np.empty_like(frames)
    current = start * frames[0]
    alpha[0] = current / current.sum()
    for t in range(1, len(frames)):
        current = (alpha[t - 1] @ transitions[t]) * frames[t]
        alpha[t] = current / current.sum()
    return alpha


def _log_partitions(frames: Sequence[np.ndarray], inputs: Sequence[tuple[np.ndarray, np.ndarray]],
                    start: np.ndarray, advance: Callable[[np.ndarray, int, int], np.ndarray]) -> np.ndarray:
    """The scaled forward pass of many sequences with per-beat transition matrices,
    batched: at beat ``t`` the sequences still running are grouped by their input and
    soprano step (:func:`transition_inputs` of each sequence, in ``inputs``), and each
    group is advanced at once by ``advance(alpha_rows, input, step)`` (``alpha_rows @
    transitions``). Returns ``log sum_path score`` per sequence (``sum_t log c_t``)."""
    lengths = np.array([len(f) for f in frames])
    log_total = np.zeros(len(frames))
    alpha = np.stack([start * f[0] for f in frames]) if frames else np.zeros((0, len(start)))
    for t in range(int(lengths.max(initial=0))):
        running = np.flatnonzero(lengths > t)
        if t > 0:
            keys = [(int(inputs[s][0][t]), int(inputs[s][1][t])) for s in running]
            for key in set(keys):
                rows = running[[k == key for k in keys]]
                alpha[rows] = advance(alpha[rows], *key) * np.stack([frames[s][t] for s in rows])
        scale = alpha[running].sum(axis=1)
        alpha[running] /= scale[:, None]
        log_total[running] += np.log(scale)
    return log_total


def _viterbi(log_frames: np.ndarray, log_start: np.ndarray, log_to_from: Sequence[np.ndarray | None]) -> np.ndarray:
    """The most likely state path with a transition matrix per beat: ``log_to_from[t][j, i]``
    is ``log P(j | i)`` into beat ``t`` (transposed, so the maximum over the previous state
    runs along contiguous rows; the first is not read)."""
    n_beats, k = log_frames.shape
    backpointer = np.empty((n_beats, k), dtype=np.intp)
    delta = log_start + log_frames[0]
    for t in range(1, n_beats):
        scores = log_to_from[t] + delta
        backpointer[t] = scores.argmax(axis=1)
        delta = scores[np.arange(k), backpointer[t]] + log_frames[t]
    path = np.empty(n_beats, dtype=np.intp)
    path[-1] = int(delta.argmax())
    for t in range(n_beats - 1, 0, -1):
        path[t - 1] = backpointer[t, path[t]]
    return path


def _normalized(counts: np.ndarray) -> np.ndarray:
    """Rows (or a vector) divided by their sums; an all-zero row stays zero."""
    counts = np.asarray(counts, dtype=float)
    total = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, counts / np.where(total > 0, total, 1), 0.0)


# ------------------------------------------------------------- notes from chords


def chords_to_notes(melody: pd.DataFrame, beats: np.ndarray, chords: Sequence[tuple[int, int, int] | None],
                    soprano: np.ndarray, *, piece: str, tempo: float = DEFAULT_TEMPO) -> pd.DataFrame:
    """Four voices: the melody's own notes as Soprano, and one alto, tenor and bass note
    per beat at the chord's intervals below the beat's soprano pitch, repeated notes tied.

    Parameters
    ----------
    melody : pd.DataFrame
        The soprano's notes (``pitch``, ``start_beat``, ``end_beat``), kept exactly.
    beats : np.ndarray, shape=(n_beats,)
        Beat positions of ``chords``.
    chords : sequence of (alto, tenor, bass) intervals or None
        None where the melody rests (no chord is written).
    soprano : np.ndarray of int, shape=(n_beats,)
        The soprano pitch each chord hangs from (-1 at a rest).
    piece : str
    tempo : float
        Quarter notes per minute, for the seconds columns.

    Returns
    -------
    pd.DataFrame
        A note table with beat columns, parts Soprano, Alto, Tenor, Bass.
    """
    end = float(melody["end_beat"].max())
    first = float(melody["start_beat"].min())
    rows = [{"part": VOICES[0], "pitch": int(r.pitch), "start_beat": float(r.start_beat), "end_beat": float(r.end_beat)}
            for r in melody.itertuples(index=False)]
    for v, voice in enumerate(VOICES[1:]):
        held: dict[str, Any] | None = None
        for beat, chord, top in zip(beats, chords, soprano, strict=True):
            if chord is None or top < 0:
                held = None
                continue
            lo, hi = max(float(beat), first), min(float(beat) + 1.0, end)
            if hi <= lo:
                continue
            pitch = int(top) - int(chord[v])
            if held is not None and held["pitch"] == pitch and abs(held["end_beat"] - lo) < 1e-9:
                held["end_beat"] = hi  # the same pitch on the next beat: one tied note
                continue
            held = {"part": voice, "pitch": pitch, "start_beat": lo, "end_beat": hi}
            rows.append(held)
    table = pd.DataFrame(rows)
    seconds = 60.0 / tempo
    table = table.assign(piece=piece, start=table["start_beat"] * seconds, end=table["end_beat"] * seconds,
                         velocity=DEFAULT_VELOCITY, program=0, is_drum=False)
    return as_note_table(table)


# ------------------------------------------------------------- the two-mode model


class ChoraleHarmonizer:
    """A :class:`ChordHMM` per mode (major, minor) over chorales transposed to C.

    Parameters
    ----------
    alpha, beta, kappa, kappa_motion, rho : float
        The smoothing of both HMMs (see :class:`ChordHMM`).
    profile : str
        Key profile for finding each chorale's (and melody's) key.
    tempo : float
        Quarter notes per minute of the written harmonizations.

    Attributes
    ----------
    models_ : dict of str to ChordHMM
        ``"major"`` and ``"minor"``.
    mode_share_ : dict of str to float
        Share of the training chorales in each mode.
    """

    def __init__(self, alpha: float = DEFAULT_SMOOTHING["alpha"], beta: float = DEFAULT_SMOOTHING["beta"], *,
                 kappa: float = DEFAULT_SMOOTHING["kappa"], kappa_motion: float = DEFAULT_SMOOTHING["kappa_motion"],
                 rho: float = DEFAULT_SMOOTHING["rho"], profile: str = "krumhansl", tempo: float = DEFAULT_TEMPO) -> None:
        checked = ChordHMM(alpha, beta, kappa, kappa_motion, rho)
        self.alpha, self.beta, self.kappa, self.kappa_motion, self.rho = checked.smoothing.values()
        self.profile, self.tempo = profile, float(tempo)

    @property
    def smoothing(self) -> dict[str, float]:
        """``alpha``, ``beta``, ``kappa``, ``kappa_motion`` and ``rho`` (see :class:`ChordHMM`)."""
        return {name: getattr(self, name) for name in _SMOOTHING_ORDER}

    def fit(self, notes: pd.DataFrame | Sequence[ChordSequence]) -> ChoraleHarmonizer:
        """Count both modes' HMMs on four-voice chorales (a note table, or their runs)."""
        sequences = self._sequences(notes)
        self.models_ = {}
        for mode in MODES:
            chosen = [s for s in sequences if s.mode == mode]
            if not chosen:
                raise ValueError(f"notes: no {mode} chorale to count (key analysis found none)")
            self.models_[mode] = ChordHMM(**self.smoothing).fit(chosen)
        pieces = {s.piece: s.mode for s in sequences}
        self.mode_share_ = {mode: sum(m == mode for m in pieces.values()) / len(pieces) for mode in MODES}
        return self

    def _sequences(self, notes: pd.DataFrame | Sequence[ChordSequence]) -> list[ChordSequence]:
        if isinstance(notes, pd.DataFrame):
            return chord_sequences(notes, profile=self.profile)
        return list(notes)

    def with_smoothing(self, alpha: float | None = None, beta: float | None = None, **others: float) -> ChoraleHarmonizer:
        """The same counts under other smoothing (``kappa``, ``kappa_motion``, ``rho`` by
        name); values not given are kept."""
        given = {"alpha": alpha, "beta": beta, **others}
        smoothing = {**self.smoothing, **{k: v for k, v in given.items() if v is not None}}
        other = ChoraleHarmonizer(**smoothing, profile=self.profile, tempo=self.tempo)
        other.models_ = {m: hmm.with_smoothing(**smoothing) for m, hmm in self.models_.items()}
        other.mode_share_ = dict(self.mode_share_)
        return other

    # -- the table

    def scores(self, notes: pd.DataFrame | Sequence[ChordSequence],
               rows: Iterable[str] = ("given_melody", "joint", "chain", "unigram")) -> pd.DataFrame:
        """Per run of held-out chords: nats of Bach's chords under each model.

        Parameters
        ----------
        notes : pd.DataFrame or sequence of ChordSequence
        rows : iterable of str
            The log-likelihood columns to compute (``given_melody`` alone needs a
            forward pass).

        Returns
        -------
        pd.DataFrame
            ``piece``, ``mode``, ``n_chords``, ``unseen`` (chords no training state
            holds), and the log-likelihoods in nats: ``given_melody`` (``log P(chords |
            melody)``, the harmonizer, its transitions seeing the melody),
            ``joint`` (``log P(chords, melody)`` under the generative HMM), ``chain``
            (chord Markov chain), ``unigram`` (independent chords).
        """
        sequences, rows = self._sequences(notes), set(rows)
        partitions = np.zeros(len(sequences))
        for mode, hmm in self.models_.items():
            mine = [i for i, s in enumerate(sequences) if s.mode == mode]
            if mine and "given_melody" in rows:
                partitions[mine] = hmm.log_partitions([sequences[i].soprano for i in mine])
        prices = {"given_melody": lambda hmm, s, partition: hmm.log_score(s.soprano, s.chords) - partition,
                  "joint": lambda hmm, s, _: hmm.log_joint(s.soprano, s.chords),
                  "chain": lambda hmm, s, _: hmm.log_chain(s.chords),
                  "unigram": lambda hmm, s, _: hmm.log_unigram(s.chords)}
        table = []
        for s, partition in zip(sequences, partitions, strict=True):
            hmm = self.models_[s.mode]
            table.append({"piece": s.piece, "mode": s.mode, "n_chords": len(s.chords),
                          "unseen": int((hmm.state_ids(s.chords) == hmm.n_states - 1).sum()),
                          **{name: price(hmm, s, partition) for name, price in prices.items() if name in rows}})
        return pd.DataFrame(table)

    def table(self, notes: pd.DataFrame | Sequence[ChordSequence]) -> pd.DataFrame:
        """Nats per chord by mode, as Allan & Williams's Table 1: rows are the HMM given
        the melody, the chord Markov chain and independent chords; columns ``major``,
        ``minor``, plus the chord counts and the share of unseen chords."""
        return nats_per_chord(self.scores(notes))

    def score_given_soprano(self, notes: pd.DataFrame) -> dict[str, Any]:
        """Bits per alto, tenor and bass note of Bach's chords given the soprano.

        The number that sets the HMM beside the joint kinds'
        ``score_given_soprano`` (same keys, same denominator). For every run of beats on
        which all four voices sound (:func:`chord_sequences`), the exact
        ``log P(chords | melody)`` of the harmonizer: the score of Bach's beat chords under
        the run's soprano (:meth:`ChordHMM.log_score`, its transitions reading the
        soprano's motion), minus the log of its sum over every chord path by the forward
        algorithm (so each chord is priced knowing the whole melody of its run, its future
        included). The sum over runs, in bits, is
        divided by the number of **alto, tenor and bass notes of** ``notes`` (every row
        whose part is Alto, Tenor or Bass: each note once, however many beats it spans,
        including notes that fall between beats or in a run the HMM does not price).

        What the number leaves out, all in the HMM's favour:

        * Notes that start between beats (passing tones, eighth-note motion, shorter
          notes) cost nothing: the beat-level chord prices only the pitches sounding on
          the beat, yet those notes count in the denominator. So do the durations and
          the choice between holding a note over a beat and striking it again, which a
          joint kind pays for in its hold tokens.
        * Beats on which any voice rests end a run and are not priced at all, and each
          run's melody is conditioned on that run's soprano only.
        * The key is found from all four voices (:func:`tonic_shift` on the piece), so
          the mode's model is chosen with help from the voices being priced.

        A chord no training state holds is priced as the single ``UNSEEN`` state, whose
        smoothed mass stands for *all* unseen voicings together: that voicing is charged
        ``UNSEEN``'s whole probability rather than a share of it (again a favour). The
        smoothing (``alpha`` on the voicing frequencies every transition backs off to,
        ``beta`` on the 128 soprano pitches) keeps every term finite, so the number is
        always finite.

        Parameters
        ----------
        notes : pd.DataFrame
            Four-voice note table (``start_beat`` / ``end_beat``), e.g. the test split's.

        Returns
        -------
        dict
            ``log_likelihood`` (nats, the sum of ``log P(chords | melody)`` over runs),
            ``n_tokens`` (beat chords priced), ``n_notes`` (alto, tenor and bass notes),
            ``bits_per_note``, and ``n_unseen`` (priced chords no state holds).

        Raises
        ------
        ValueError
            When ``notes`` has no beat on which all four voices sound, or no alto,
            tenor or bass note.
        """
        scores = self.scores(notes)
        if scores.empty:
            raise ValueError("notes: no beat on which all four voices sound, so there is no chord to price")
        n_notes = int(notes["part"].astype(str).isin(VOICES[1:]).sum())
        if n_notes == 0:
            raise ValueError("notes: no alto, tenor or bass note to divide by")
        total = float(scores["given_melody"].sum())
        return {"log_likelihood": total, "n_tokens": int(scores["n_chords"].sum()), "n_notes": n_notes,
                "bits_per_note": -total / math.log(2) / n_notes, "n_unseen": int(scores["unseen"].sum())}

    # -- harmonizing

    def harmonize(self, melody: Any, *, sample: bool = False, seed: int = 0, temperature: float = 1.0) -> pd.DataFrame:
        """Alto, tenor and bass under a melody (a :class:`musicalpy.melody.Melody`).

        The melody's key decides the mode's model and the transposition to C; the chord
        of each beat hangs from the soprano note sounding on it (or, when the beat starts
        in a rest, the first note starting within the beat), the chords back in the
        melody's key. ``sample=False`` is Viterbi's harmonization; ``sample=True`` one
        drawn with ``seed`` at ``temperature``.

        Returns
        -------
        pd.DataFrame
            The four voices (see :func:`chords_to_notes`).
        """
        notes = melody.notes
        shift, mode = tonic_shift(notes.assign(part=VOICES[0]), self.profile)
        beats, soprano = melody_beats(notes)
        inside = np.where(soprano >= 0, soprano + shift, -1)
        if (inside >= 0).sum() == 0:
            raise ValueError(f"melody {melody.name!r}: no note falls on a beat")
        hmm = self.models_[mode]
        if sample:
            chords = hmm.sample(inside, rng=np.random.default_rng(seed), temperature=temperature)
        else:
            chords = hmm.viterbi(inside)
        chords = [c if top >= 0 else None for c, top in zip(chords, soprano, strict=True)]
        return chords_to_notes(notes, beats, chords, soprano, piece=melody.name, tempo=self.tempo)

    def generate(self, n_beats: int, *, rng: np.random.Generator, temperature: float = 1.0,
                 piece: str = "sample_0") -> pd.DataFrame:
        """A new quarter-note chorale fragment in C: a mode drawn by the training share,
        chords from its chain, a soprano pitch under each chord."""
        mode = MODES[int(rng.random() >= self.mode_share_["major"])]
        soprano, chords = self.models_[mode].generate(n_beats, rng=rng, temperature=temperature)
        beats = np.arange(n_beats, dtype=float)
        melody = pd.DataFrame({"pitch": soprano, "start_beat": beats, "end_beat": beats + 1.0})
        merged = _tie_repeats(melody)
        return chords_to_notes(merged, beats, chords, soprano, piece=piece, tempo=self.tempo)

    # -- files

    def save(self, folder: str | os.PathLike) -> dict[str, str]:
        """Write ``harmonizer_<mode>.npz`` (the counts, no pickle) and ``harmonizer.json``
        into ``folder``."""
        folder = Path(folder)
        files = {}
        for mode, hmm in self.models_.items():
            files[mode] = f"harmonizer_{mode}.npz"
            np.savez_compressed(folder / files[mode], **hmm.arrays())
        header = {"format": _FILE_FORMAT, **self.smoothing, "profile": self.profile, "tempo": self.tempo,
                  "mode_share": self.mode_share_, "files": files}
        (folder / "harmonizer.json").write_text(json.dumps(header, indent=2) + "\n", encoding="utf-8")
        return {**files, "header": "harmonizer.json"}

    @classmethod
    def load(cls, folder: str | os.PathLike) -> ChoraleHarmonizer:
        """Read what :meth:`save` wrote.

        Raises
        ------
        ValueError
            For a folder an older version wrote (transitions without the soprano's
            motion): the message names the folder and says to train again.
        """
        folder = Path(folder)
        header = json.loads((folder / "harmonizer.json").read_text(encoding="utf-8"))
        if header.get("format") != _FILE_FORMAT:
            raise ValueError(f"{folder}: saved by an older HMM harmonizer (format {header.get('format', 1)}, "
                             f"transitions without the soprano's motion; this version reads format {_FILE_FORMAT}); "
                             "train it again: musicalpy train hmm_harmonizer --out <folder>")
        model = cls(**{k: header[k] for k in _SMOOTHING_ORDER}, profile=header["profile"], tempo=header["tempo"])
        model.models_ = {}
        for mode, name in header["files"].items():
            with np.load(folder / name, allow_pickle=False) as arrays:
                model.models_[mode] = ChordHMM.from_arrays(dict(arrays))
        model.mode_share_ = dict(header["mode_share"])
        return model


_ROWS = {"given_melody": "given the melody (HMM)", "chain": "chord Markov chain", "unigram": "independent chords"}


def nats_per_chord(scores: pd.DataFrame) -> pd.DataFrame:
    """Sum :meth:`ChoraleHarmonizer.scores` by mode into negative nats per chord.

    Returns
    -------
    pd.DataFrame
        Index ``given the melody (HMM)``, ``chord Markov chain``, ``independent chords``;
        columns ``major``, ``minor``, ``all``.
    """
    labels = _ROWS
    table = {}
    for name, group in [*((m, scores[scores["mode"] == m]) for m in MODES), ("all", scores)]:
        n = group["n_chords"].sum()
        table[name] = {label: -group[col].sum() / n if n else math.nan for col, label in labels.items()}
        table[name]["chords"] = int(n)
        table[name]["unseen chords (%)"] = 100.0 * group["unseen"].sum() / n if n else math.nan
    return pd.DataFrame(table)


def melody_beats(notes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Beats ``0 .. end`` of a melody and the pitch each chord hangs from (-1: rest).

    The pitch is the note sounding on the beat; when the beat falls in a rest, the
    first note that starts within the beat.
    """
    line = notes.sort_values("start_beat")
    starts, ends = line["start_beat"].to_numpy(float), line["end_beat"].to_numpy(float)
    pitches = line["pitch"].to_numpy(np.int64)
    beats = np.arange(math.floor(starts.min()), math.ceil(ends.max() - 1e-9), dtype=float)
    soprano = _sounding(starts, ends, pitches, beats)
    for t in np.flatnonzero(soprano < 0):
        within = np.flatnonzero((starts > beats[t]) & (starts < beats[t] + 1.0))
        if within.size:
            soprano[t] = pitches[within[0]]
    return beats, soprano


def _tie_repeats(melody: pd.DataFrame) -> pd.DataFrame:
    """Consecutive equal pitches of a beat-by-beat line as one held note."""
    pitch = melody["pitch"].to_numpy()
    new = np.r_[True, pitch[1:] != pitch[:-1]]
    group = np.cumsum(new)
    return (melody.assign(_g=group).groupby("_g", sort=True)
            .agg(pitch=("pitch", "first"), start_beat=("start_beat", "min"), end_beat=("end_beat", "max"))
            .reset_index(drop=True))


def jsb_table(alphas: Sequence[float] = SMOOTHING_CANDIDATES["alphas"],
              betas: Sequence[float] = SMOOTHING_CANDIDATES["betas"], *,
              kappas: Sequence[float] = SMOOTHING_CANDIDATES["kappas"],
              kappa_motions: Sequence[float] = SMOOTHING_CANDIDATES["kappa_motions"],
              rhos: Sequence[float] = SMOOTHING_CANDIDATES["rhos"], holdout: float = 0.2, profile: str = "krumhansl",
              limit: int | None = None) -> tuple[pd.DataFrame, ChoraleHarmonizer, dict]:
    """Allan & Williams's Table 1 on their split: the JSB voice-separated chorales.

    Their training set is the JSB split's ``train`` and their test set its ``valid`` +
    ``test`` (see ``data/jsb/README.md``), so nothing of the split is left to choose the
    smoothing on: it is chosen on the last ``holdout`` share of the training chorales
    (counted on the rest), and the kept smoothing is then applied to the counts of all
    training chorales. The test chorales are scored once.

    Parameters
    ----------
    alphas, betas, kappas, kappa_motions, rhos : sequence of float
        Smoothing candidates (see :class:`ChordHMM`).
    holdout : float
        Share of the training chorales held out to choose the smoothing.
    profile : str
        Key profile for the transposition to C and the major / minor split.
    limit : int, optional
        Keep the first ``limit`` chorales of each JSB split (smoke runs; the table is
        then not the published protocol).

    Returns
    -------
    table : pd.DataFrame
        :func:`nats_per_chord` of the test chorales.
    harmonizer : ChoraleHarmonizer
        Counted on every training chorale, with the chosen smoothing.
    selection : dict
        :func:`choose_smoothing`'s choice per row.
    """
    from .corpus import load_corpus

    corpus = load_corpus("jsb_voices", progress=False)
    split = corpus.pieces.set_index("piece")["split"]
    notes = corpus.notes
    if limit is not None:
        kept = corpus.pieces.groupby("jsb_split", sort=False).head(limit)["piece"]
        notes = notes[notes["piece"].isin(set(kept))]
    sequences = chord_sequences(notes, profile=profile)
    train = [s for s in sequences if split[s.piece] == "train"]
    test = [s for s in sequences if split[s.piece] != "train"]
    train_pieces = list(dict.fromkeys(s.piece for s in train))
    cut = set(train_pieces[int(round(len(train_pieces) * (1 - holdout))):])
    return selected_table([s for s in train if s.piece not in cut], [s for s in train if s.piece in cut], train,
                          test, alphas, betas, kappas=kappas, kappa_motions=kappa_motions, rhos=rhos, profile=profile)


def choose_smoothing(harmonizer: ChoraleHarmonizer, held: pd.DataFrame | Sequence[ChordSequence],
                     alphas: Sequence[float], betas: Sequence[float], *,
                     kappas: Sequence[float] = SMOOTHING_CANDIDATES["kappas"],
                     kappa_motions: Sequence[float] = SMOOTHING_CANDIDATES["kappa_motions"],
                     rhos: Sequence[float] = SMOOTHING_CANDIDATES["rhos"]) -> dict[str, dict[str, Any]]:
    """For each row of the table, the smoothing with the fewest nats per held-out chord.

    The HMM given the melody is tried over every combination of the candidates; the
    chord chain over ``alphas`` x ``kappas`` and the independent chords over ``alphas``
    (the others do not enter them; they keep their first candidate).

    Parameters
    ----------
    harmonizer : ChoraleHarmonizer
        Fitted; its counts are reused for every candidate.
    held : pd.DataFrame or sequence of ChordSequence
        The held-out chorales (validation).
    alphas, betas, kappas, kappa_motions, rhos : sequence of float
        Candidates (see :class:`ChordHMM`).

    Returns
    -------
    dict
        Row label -> the chosen ``alpha``, ``beta``, ``kappa``, ``kappa_motion`` and
        ``rho``, and ``candidates`` (held-out nats per chord of each candidate, by
        ``"alpha=..., beta=..."`` naming the values that enter the row).
    """
    held = harmonizer._sequences(held)
    grids = {"alpha": alphas, "beta": betas, "kappa": kappas, "kappa_motion": kappa_motions, "rho": rhos}
    entering = {"given_melody": list(grids), "chain": ["alpha", "kappa"], "unigram": ["alpha"]}
    chosen = {}
    for column, label in _ROWS.items():
        values = {}
        for combination in itertools.product(*(grids[name] for name in entering[column])):
            smoothing = {name: candidates[0] for name, candidates in grids.items()}
            smoothing.update(zip(entering[column], combination, strict=True))
            scores = harmonizer.with_smoothing(**smoothing).scores(held, rows=(column,))
            name = ", ".join(f"{k}={v:g}" for k, v in zip(entering[column], combination, strict=True))
            values[name] = (smoothing, float(-scores[column].sum() / scores["n_chords"].sum()))
        best, _ = min(values.values(), key=lambda v: v[1])
        chosen[label] = {**best, "candidates": {k: v[1] for k, v in values.items()}}
    return chosen


def selected_table(counted: Sequence[ChordSequence], held: Sequence[ChordSequence], train: Sequence[ChordSequence],
                   test: Sequence[ChordSequence], alphas: Sequence[float], betas: Sequence[float], *,
                   kappas: Sequence[float] = SMOOTHING_CANDIDATES["kappas"],
                   kappa_motions: Sequence[float] = SMOOTHING_CANDIDATES["kappa_motions"],
                   rhos: Sequence[float] = SMOOTHING_CANDIDATES["rhos"],
                   profile: str = "krumhansl") -> tuple[pd.DataFrame, ChoraleHarmonizer, dict]:
    """The three rows of the table, each model under the smoothing it does best with on
    held-out chords (:func:`choose_smoothing`, counted on ``counted``), then applied to
    the counts of ``train`` (which may be ``counted`` itself) and scored once on ``test``.

    Returns
    -------
    table : pd.DataFrame
        As :func:`nats_per_chord`, each row under its own smoothing.
    harmonizer : ChoraleHarmonizer
        Counted on ``train`` with the HMM row's smoothing.
    selection : dict
        :func:`choose_smoothing`'s choice per row.
    """
    inner = ChoraleHarmonizer(profile=profile).fit(counted)
    selection = choose_smoothing(inner, held, alphas, betas, kappas=kappas, kappa_motions=kappa_motions, rhos=rhos)
    final = ChoraleHarmonizer(profile=profile).fit(train)
    rows = []
    for label, chosen in selection.items():
        table = nats_per_chord(final.with_smoothing(**_smoothing_of(chosen)).scores(test))
        rows.append(table.loc[[label]])
    harmonizer = final.with_smoothing(**_smoothing_of(selection[_ROWS["given_melody"]]))
    return pd.concat([*rows, table.loc[["chords", "unseen chords (%)"]]]), harmonizer, selection


def _smoothing_of(chosen: Mapping[str, Any]) -> dict[str, float]:
    """The smoothing values of one of :func:`choose_smoothing`'s choices."""
    return {name: chosen[name] for name in _SMOOTHING_ORDER}
