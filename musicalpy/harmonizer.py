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
* No Baum-Welch refinement: with thousands of states one EM pass costs ``K**2`` per
  beat, and EM on melodies alone would let a state drift away from the voicing it
  names, after which it no longer decodes into notes. :class:`musicalpy.hmm.HMM`'s
  forward and Viterbi passes are reused for scoring and decoding.

>>> harmonizer = ChoraleHarmonizer().fit(corpus.split("train").notes)
>>> harmonizer.table(corpus.split("test").notes)       # nats per chord, as A&W's Table 1
>>> four_voices = harmonizer.harmonize(melody)          # a musicalpy.melody.Melody
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .hmm import forward, viterbi
from .midi import DEFAULT_TEMPO, DEFAULT_VELOCITY, as_note_table
from .names import VOICES

__all__ = ["MODES", "PUBLISHED_TABLE", "ChordSequence", "ChordHMM", "ChoraleHarmonizer", "beat_chords",
           "tonic_shift", "chord_sequences", "chords_to_notes", "nats_per_chord", "melody_beats", "jsb_table", "selected_table", "choose_smoothing"]

MODES = ("major", "minor")
#: Number of MIDI pitches: the soprano's visible alphabet.
_N_PITCHES = 128
#: Allan & Williams (NIPS 2005), Table 1, as issue 16 quotes it: nats per chord of the
#: test chorales' harmonic symbols, given the melody (the HMM) and without it.
PUBLISHED_TABLE = pd.DataFrame(
    {"model": ["HMM given the melody (Allan & Williams 2005)", "without the melody (Allan & Williams 2005)"],
     "major": [4.90, 7.08], "minor": [5.02, 7.21]})


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


# ------------------------------------------------------------------------ the HMM


class ChordHMM:
    """Chords as hidden states, the soprano pitch as the visible symbol, fitted by counting.

    Parameters
    ----------
    alpha : float
        Added to every chord-to-chord (and start) count before normalizing.
    beta : float
        Added to every (chord, soprano pitch) count before normalizing, over the 128
        MIDI pitches.

    Attributes
    ----------
    states_ : list of tuple of int
        The voicings seen in training, then ``None`` (the UNSEEN state), ``K`` in all.
    startprob_ : np.ndarray, shape=(K,)
    transmat_ : np.ndarray, shape=(K, K)
    emissionprob_ : np.ndarray, shape=(K, 128)
        ``P(soprano pitch | chord)``.
    unigram_ : np.ndarray, shape=(K,)
        Smoothed chord frequencies (the independent-chords baseline).
    """

    def __init__(self, alpha: float = 0.01, beta: float = 0.01) -> None:
        if not (alpha > 0 and beta > 0):
            raise ValueError(f"alpha and beta must be above 0 (smoothing), got alpha={alpha!r}, beta={beta!r}")
        self.alpha = float(alpha)
        self.beta = float(beta)

    # -- counting

    def fit(self, sequences: Sequence[ChordSequence]) -> ChordHMM:
        """Count starts, transitions, emissions and chord frequencies, then smooth.

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
        start, trans = np.zeros(k), np.zeros((k, k))
        emit, freq = np.zeros((k, _N_PITCHES)), np.zeros(k)
        for s in sequences:
            ids = self.state_ids(s.chords)
            start[ids[0]] += 1
            np.add.at(trans, (ids[:-1], ids[1:]), 1)
            np.add.at(emit, (ids, s.soprano), 1)
            np.add.at(freq, ids, 1)
        self.counts_ = {"start": start, "transitions": trans, "emissions": emit, "chords": freq}
        self._smooth()
        return self

    def _smooth(self) -> None:
        c = self.counts_
        self.startprob_ = _normalized(c["start"] + self.alpha)
        self.transmat_ = _normalized(c["transitions"] + self.alpha)
        self.emissionprob_ = _normalized(c["emissions"] + self.beta)
        self.unigram_ = _normalized(c["chords"] + self.alpha)

    def with_smoothing(self, alpha: float, beta: float) -> ChordHMM:
        """The same counts under other smoothing (no recount)."""
        other = ChordHMM(alpha, beta)
        other.states_, other._index, other.counts_ = self.states_, self._index, self.counts_
        other._smooth()
        return other

    @property
    def n_states(self) -> int:
        return len(self.states_)

    def state_ids(self, chords: Iterable[tuple[int, int, int]]) -> np.ndarray:
        """State index of each chord; voicings training never saw (and None) map to UNSEEN."""
        unseen = len(self.states_) - 1
        return np.array([unseen if c is None else self._index.get(tuple(c), unseen) for c in chords], dtype=np.intp)

    # -- likelihoods, in nats

    def _frame_probs(self, soprano: np.ndarray) -> np.ndarray:
        """``P(soprano_t | state)``, shape (n_beats, K); a rest (-1) is a missing
        observation: every state explains it equally."""
        soprano = np.asarray(soprano, dtype=np.int64)
        probs = self.emissionprob_[:, np.clip(soprano, 0, _N_PITCHES - 1)].T.copy()
        probs[soprano < 0] = 1.0
        return probs

    def log_melody(self, soprano: np.ndarray) -> float:
        """``log P(melody)``, summed over every chord path (the scaled forward pass)."""
        _, scale = forward(self._frame_probs(soprano), self.startprob_, self.transmat_)
        return float(np.log(scale).sum())

    def log_chain(self, chords: Sequence[tuple[int, int, int]]) -> float:
        """``log P(chords)`` under the chord Markov chain (no melody)."""
        ids = self.state_ids(chords)
        return float(np.log(self.startprob_[ids[0]]) + np.log(self.transmat_[ids[:-1], ids[1:]]).sum())

    def log_unigram(self, chords: Sequence[tuple[int, int, int]]) -> float:
        """``log P(chords)`` with every chord independent (smoothed frequencies)."""
        return float(np.log(self.unigram_[self.state_ids(chords)]).sum())

    def log_joint(self, soprano: np.ndarray, chords: Sequence[tuple[int, int, int]]) -> float:
        """``log P(chords, melody)``."""
        ids = self.state_ids(chords)
        return self.log_chain(chords) + float(np.log(self.emissionprob_[ids, np.asarray(soprano)]).sum())

    def log_chords_given_melody(self, soprano: np.ndarray, chords: Sequence[tuple[int, int, int]]) -> float:
        """``log P(chords | melody) = log P(chords, melody) - log P(melody)``."""
        return self.log_joint(soprano, chords) - self.log_melody(soprano)

    # -- decoding

    def _decodable(self, temperature: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Log start and transition probabilities with UNSEEN forbidden, at ``temperature``."""
        with np.errstate(divide="ignore"):
            log_start = np.log(self.startprob_) / temperature
            log_trans = np.log(self.transmat_) / temperature
        log_start[-1] = -np.inf
        log_trans[:, -1] = -np.inf
        return log_start, log_trans

    def viterbi(self, soprano: np.ndarray) -> list[tuple[int, int, int]]:
        """The most likely chord of every beat given the whole melody (-1: a rest)."""
        log_start, log_trans = self._decodable()
        with np.errstate(divide="ignore"):
            log_frames = np.log(self._frame_probs(soprano))
        _, path = viterbi(log_frames, log_start, log_trans)
        return [self.states_[i] for i in path]

    def sample(self, soprano: np.ndarray, *, rng: np.random.Generator, temperature: float = 1.0) -> list[tuple]:
        """One chord path drawn from ``P(chords | melody)`` (forward filtering, backward
        sampling); ``temperature`` divides every log probability (below 1: closer to Viterbi)."""
        log_start, log_trans = self._decodable(temperature)
        frames = self._frame_probs(soprano) ** (1.0 / temperature)
        start, trans = _normalized(np.exp(log_start)), _normalized(np.exp(log_trans))
        alpha, _ = forward(frames, start, trans)
        path = np.empty(len(frames), dtype=np.intp)
        path[-1] = rng.choice(self.n_states, p=_normalized(alpha[-1]))
        for t in range(len(frames) - 2, -1, -1):
            path[t] = rng.choice(self.n_states, p=_normalized(alpha[t] * trans[:, path[t + 1]]))
        return [self.states_[i] for i in path]

    def generate(self, n_beats: int, *, rng: np.random.Generator, temperature: float = 1.0) -> tuple[np.ndarray, list]:
        """Sample chords from the chain and a soprano pitch under each: ``(soprano, chords)``."""
        log_start, log_trans = self._decodable(temperature)
        with np.errstate(divide="ignore"):
            log_emit = np.log(self.emissionprob_) / temperature
        ids = [rng.choice(self.n_states, p=_normalized(np.exp(log_start)))]
        for _ in range(n_beats - 1):
            ids.append(rng.choice(self.n_states, p=_normalized(np.exp(log_trans[ids[-1]]))))
        # Only soprano pitches training saw: the smoothing's mass on the rest of the MIDI
        # range is there to score, and would put a voice below pitch 0 now and then.
        seen = np.exp(log_emit) * (self.counts_["emissions"].sum(axis=0) > 0)
        soprano = np.array([rng.choice(_N_PITCHES, p=_normalized(seen[i])) for i in ids])
        return soprano, [self.states_[i] for i in ids]

    # -- files

    def arrays(self) -> dict[str, np.ndarray]:
        """The counts and the states as arrays (what :meth:`from_arrays` reads)."""
        states = np.array([s for s in self.states_ if s is not None], dtype=np.int64).reshape(-1, 3)
        return {"states": states, "smoothing": np.array([self.alpha, self.beta]),
                **{f"count_{k}": v for k, v in self.counts_.items()}}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> ChordHMM:
        """Rebuild from :meth:`arrays` (the smoothing is reapplied to the counts)."""
        alpha, beta = (float(v) for v in arrays["smoothing"])
        model = cls(alpha, beta)
        seen = [tuple(int(v) for v in row) for row in arrays["states"]]
        model.states_ = [*seen, None]
        model._index = {chord: i for i, chord in enumerate(seen)}
        model.counts_ = {k: np.asarray(arrays[f"count_{k}"], dtype=float)
                         for k in ("start", "transitions", "emissions", "chords")}
        model._smooth()
        return model


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
    alpha, beta : float
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

    def __init__(self, alpha: float = 0.01, beta: float = 0.01, *, profile: str = "krumhansl",
                 tempo: float = DEFAULT_TEMPO) -> None:
        self.alpha, self.beta, self.profile, self.tempo = float(alpha), float(beta), profile, float(tempo)

    def fit(self, notes: pd.DataFrame | Sequence[ChordSequence]) -> ChoraleHarmonizer:
        """Count both modes' HMMs on four-voice chorales (a note table, or their runs)."""
        sequences = self._sequences(notes)
        self.models_ = {}
        for mode in MODES:
            chosen = [s for s in sequences if s.mode == mode]
            if not chosen:
                raise ValueError(f"notes: no {mode} chorale to count (key analysis found none)")
            self.models_[mode] = ChordHMM(self.alpha, self.beta).fit(chosen)
        pieces = {s.piece: s.mode for s in sequences}
        self.mode_share_ = {mode: sum(m == mode for m in pieces.values()) / len(pieces) for mode in MODES}
        return self

    def _sequences(self, notes: pd.DataFrame | Sequence[ChordSequence]) -> list[ChordSequence]:
        if isinstance(notes, pd.DataFrame):
            return chord_sequences(notes, profile=self.profile)
        return list(notes)

    def with_smoothing(self, alpha: float, beta: float) -> ChoraleHarmonizer:
        """The same counts under other smoothing."""
        other = ChoraleHarmonizer(alpha, beta, profile=self.profile, tempo=self.tempo)
        other.models_ = {m: hmm.with_smoothing(alpha, beta) for m, hmm in self.models_.items()}
        other.mode_share_ = dict(self.mode_share_)
        return other

    # -- the table

    def scores(self, notes: pd.DataFrame | Sequence[ChordSequence]) -> pd.DataFrame:
        """Per run of held-out chords: nats of Bach's chords under each model.

        Returns
        -------
        pd.DataFrame
            ``piece``, ``mode``, ``n_chords``, ``unseen`` (chords no training state
            holds), and the log-likelihoods in nats: ``given_melody`` (``log P(chords |
            melody)``), ``joint`` (``log P(chords, melody)``), ``chain`` (chord Markov
            chain), ``unigram`` (independent chords).
        """
        rows = []
        for s in self._sequences(notes):
            hmm = self.models_[s.mode]
            joint = hmm.log_joint(s.soprano, s.chords)
            rows.append({"piece": s.piece, "mode": s.mode, "n_chords": len(s.chords),
                         "unseen": int((hmm.state_ids(s.chords) == hmm.n_states - 1).sum()),
                         "given_melody": joint - hmm.log_melody(s.soprano), "joint": joint,
                         "chain": hmm.log_chain(s.chords), "unigram": hmm.log_unigram(s.chords)})
        return pd.DataFrame(rows)

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
        ``log P(chords | melody) = log P(chords, melody) - log P(melody)``: the joint of
        Bach's beat chords with the run's soprano, minus the soprano's marginal summed
        over every chord path by the forward algorithm (so each chord is priced knowing
        the whole melody of its run, its future included). The sum over runs, in bits, is
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
        smoothing (``alpha`` on starts and transitions, ``beta`` on the 128 soprano
        pitches) keeps every term finite, so the number is always finite.

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
        """Write ``harmonizer_<mode>.npz`` and ``harmonizer.json`` into ``folder``."""
        folder = Path(folder)
        files = {}
        for mode, hmm in self.models_.items():
            files[mode] = f"harmonizer_{mode}.npz"
            np.savez_compressed(folder / files[mode], **hmm.arrays())
        header = {"alpha": self.alpha, "beta": self.beta, "profile": self.profile, "tempo": self.tempo,
                  "mode_share": self.mode_share_, "files": files}
        (folder / "harmonizer.json").write_text(json.dumps(header, indent=2) + "\n", encoding="utf-8")
        return {**files, "header": "harmonizer.json"}

    @classmethod
    def load(cls, folder: str | os.PathLike) -> ChoraleHarmonizer:
        """Read what :meth:`save` wrote."""
        folder = Path(folder)
        header = json.loads((folder / "harmonizer.json").read_text(encoding="utf-8"))
        model = cls(header["alpha"], header["beta"], profile=header["profile"], tempo=header["tempo"])
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


def jsb_table(alphas: Sequence[float] = (0.01, 0.03, 0.1, 0.3), betas: Sequence[float] = (0.03, 0.1, 0.3, 1.0), *,
              holdout: float = 0.2, profile: str = "krumhansl",
              limit: int | None = None) -> tuple[pd.DataFrame, ChoraleHarmonizer, dict]:
    """Allan & Williams's Table 1 on their split: the JSB voice-separated chorales.

    Their training set is the JSB split's ``train`` and their test set its ``valid`` +
    ``test`` (see ``data/jsb/README.md``), so nothing of the split is left to choose the
    smoothing on: it is chosen on the last ``holdout`` share of the training chorales
    (counted on the rest), and the kept smoothing is then applied to the counts of all
    training chorales. The test chorales are scored once.

    Parameters
    ----------
    alphas, betas : sequence of float
        Transition and emission smoothing candidates.
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
        ``alpha``, ``beta`` and ``candidates`` (held-out nats per chord of each pair).
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
                          test, alphas, betas, profile=profile)


def choose_smoothing(harmonizer: ChoraleHarmonizer, held: pd.DataFrame | Sequence[ChordSequence],
                     alphas: Sequence[float], betas: Sequence[float]) -> dict[str, dict[str, Any]]:
    """For each row of the table, the smoothing with the fewest nats per held-out chord.

    The HMM given the melody is tried over ``alphas`` x ``betas``; the chord chain and
    the independent chords over ``alphas`` (they emit nothing, beta does not enter).

    Parameters
    ----------
    harmonizer : ChoraleHarmonizer
        Fitted; its counts are reused for every candidate.
    held : pd.DataFrame or sequence of ChordSequence
        The held-out chorales (validation).
    alphas, betas : sequence of float

    Returns
    -------
    dict
        Row label -> ``alpha``, ``beta`` and ``candidates`` (held-out nats per chord
        of each candidate, by ``"alpha=..., beta=..."``).
    """
    held = harmonizer._sequences(held)
    pairs = [(a, b) for a in alphas for b in betas]
    scores = {pair: nats_per_chord(harmonizer.with_smoothing(*pair).scores(held)) for pair in pairs}
    chosen = {}
    for column, label in _ROWS.items():
        options = pairs if column == "given_melody" else [(a, betas[0]) for a in alphas]
        values = {f"alpha={a:g}, beta={b:g}" if column == "given_melody" else f"alpha={a:g}":
                  (a, b, float(scores[(a, b)].loc[label, "all"])) for a, b in options}
        alpha, beta, _ = min(values.values(), key=lambda v: v[2])
        chosen[label] = {"alpha": alpha, "beta": beta, "candidates": {k: v[2] for k, v in values.items()}}
    return chosen


def selected_table(counted: Sequence[ChordSequence], held: Sequence[ChordSequence], train: Sequence[ChordSequence],
                   test: Sequence[ChordSequence], alphas: Sequence[float], betas: Sequence[float], *,
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
    inner = ChoraleHarmonizer(alphas[0], betas[0], profile=profile).fit(counted)
    selection = choose_smoothing(inner, held, alphas, betas)
    final = ChoraleHarmonizer(alphas[0], betas[0], profile=profile).fit(train)
    rows = []
    for label, chosen in selection.items():
        table = nats_per_chord(final.with_smoothing(chosen["alpha"], chosen["beta"]).scores(test))
        rows.append(table.loc[[label]])
    best = selection[_ROWS["given_melody"]]
    harmonizer = final.with_smoothing(best["alpha"], best["beta"])
    return pd.concat([*rows, table.loc[["chords", "unseen chords (%)"]]]), harmonizer, selection
