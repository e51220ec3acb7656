"""The joint counting floor: a smoothed count model of four-voice chorales as SATB steps.

Every joint chorale network (the ``satb_*`` kinds) must beat this model in bits per
note on the held-out chorales. It reads a chorale as
:class:`~musicalpy.representations.satb_steps.SatbSteps` (one step per sixteenth) and
writes it in the networks' order, so its likelihood is exact and comparable:

>>> model = SatbCounts().fit(train, validation)       # smoothing chosen on validation
>>> log_probs = model.log_probs(test)                  # per chorale, (n_steps, 5) nats
>>> chorales = model.sample([steps.position for steps in test], seed=0)
>>> harmonized = model.sample([melody.position], soprano=[melody.values[:, 0]])

The model
---------
At step ``t`` with bar position ``p_t``:

1. the fermata flag ``f_t`` given ``(f_{t-1}, p_t)`` (only with ``fermatas=True``; the
   JSB file has no fermatas, so its models leave ``f`` out and its log prob is 0);
2. then Soprano, Alto, Tenor, Bass in turn: voice ``v``'s value ``x_{t,v}``
   (:data:`~musicalpy.representations.satb_steps.REST_ID`, ``HOLD_ID`` or a pitch id)
   given its own previous **state** ``s_{t-1,v}``, its value before that note
   (``prior``), the states ``s_{t,0..v-1}`` of the voices above it at this step,
   ``p_t`` and ``f_t``.

A voice's **state** is its value with the pitch a hold holds: REST, a new pitch ``k``,
or "still holding ``k``" (:data:`N_STATES` states). A bare value would forget which
note a HOLD continues, and the next pitch depends on it above all. At ``t = 0`` the
previous states are REST and the previous fermata False.

Each distribution interpolates a **chain of contexts** from the full one to none,
then the uniform distribution over the :data:`~musicalpy.representations.satb_steps.N_VALUES`
values (:data:`VOICE_CHAINS`, :data:`FERMATA_CHAIN`):

============  ============================================================
Soprano       ``(own, prior, position, fermata)`` > ``(own, position, fermata)`` > ``(own)`` > ``()``
Alto .. Bass  ``(own, prior, all above, position, fermata)`` > ``(own, all above)``
              > ``(own, nearest above, position)`` > ``(own, position)`` > ``(own)`` > ``()``
fermata       ``(previous fermata, position)`` > ``(previous fermata)`` > ``()``
============  ============================================================

with **interpolated absolute discounting** (Ney, Essen and Kneser 1994): at a level
whose context was seen ``N`` times with ``T`` distinct values following it,

``P(x | c) = (max(n(c, x) - D, 0) + D T P_lower(x)) / N``

and an unseen context hands its prediction down unchanged. Every distribution sums to
one over the vocabulary. The discount ``D`` and the transposition augmentation of the
training chorales (all twelve keys, or none) are chosen by a grid search on the
validation chorales (:meth:`SatbCounts.fit`); the grid and its scores are kept in
``selection_``.

Harmonizing (``given_soprano=True``, ``sample(..., soprano=...)``): the count model
sees the melody only up to the current step (the soprano's value at ``t`` conditions
the lower voices at ``t``), never its future, unlike the harmonizing networks.

Saving writes JSON and npz, never pickle (:meth:`SatbCounts.save`).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .names import VOICES
from .representations.satb_steps import (
    HOLD_ID,
    N_POSITIONS,
    N_VALUES,
    REST_ID,
    SatbSteps,
    transpose_steps,
)

__all__ = [
    "FORMAT",
    "N_STATES",
    "VOICE_CHAINS",
    "FERMATA_CHAIN",
    "DISCOUNTS",
    "ALL_KEYS",
    "voice_states",
    "prior_values",
    "SatbCounts",
]

#: The ``format`` field of a saved model.
FORMAT = "musicalpy.satb_counts"
_VERSION = 1
_JSON = "satb_counts.json"
_NPZ = "satb_counts.npz"

#: Voice states: REST, HOLD with nothing sounding, a new pitch id, "holding" a pitch id.
N_STATES = 2 * N_VALUES - 2
_HOLDING = N_VALUES - 2  # state of holding pitch id k: k + _HOLDING
_N_VOICES = len(VOICES)

#: Context chains per voice (S, A, T, B), full context first. ``own``: the voice's state
#: one step before; ``prior``: its value (pitch id or rest) before the one sounding then
#: (:func:`prior_values`); ``above``: the states of all voices above it at this step;
#: ``nearest``: the state of the voice just above it. (Chosen on music21's validation
#: chorales among a few chains; more intermediate levels scored worse.)
VOICE_CHAINS: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("own", "prior", "position", "fermata"), ("own", "position", "fermata"), ("own",), ()),
    *[(("own", "prior", "above", "position", "fermata"), ("own", "above"), ("own", "nearest", "position"),
       ("own", "position"), ("own",), ())] * (_N_VOICES - 1),
)
#: The fermata flag's context chain.
FERMATA_CHAIN: tuple[tuple[str, ...], ...] = (("fermata_before", "position"), ("fermata_before",), ())
#: The discounts :meth:`SatbCounts.fit` chooses from.
DISCOUNTS = (0.5, 0.7, 0.8, 0.9, 0.95)
#: Transposition augmentation "all twelve keys": -6 .. +5 semitones.
ALL_KEYS = tuple(range(-6, 6))

_RADIX = {"own": N_STATES, "nearest": N_STATES, "prior": N_VALUES, "position": N_POSITIONS, "fermata": 2, "fermata_before": 2}


def voice_states(values: np.ndarray) -> np.ndarray:
    """Each voice's state per step: its value, with the pitch a HOLD holds.

    Parameters
    ----------
    values : np.ndarray, shape=(n_steps, n_voices)
        Value ids of one chorale.

    Returns
    -------
    np.ndarray, shape=(n_steps, n_voices), dtype=int64
        ``REST_ID`` (0); 1 for a HOLD with nothing sounding; a pitch id ``k`` (2 ..
        ``N_VALUES - 1``) where a note starts; ``k + N_VALUES - 2`` while it is held.
    """
    values = np.asarray(values, dtype=np.int64)
    steps = np.arange(len(values))[:, None]
    onset_or_rest = np.maximum.accumulate(np.where(values != HOLD_ID, steps, 0), axis=0)
    last = np.take_along_axis(values, onset_or_rest, axis=0)
    held = np.where(last >= 2, last + _HOLDING, HOLD_ID)
    return np.where(values == HOLD_ID, held, values)


# ----------------------------------------------------------------------------- counts


@dataclasses.dataclass
class _CountTable:
    """Counts of (context key, value): sorted keys for vectorized look-ups."""

    contexts: np.ndarray  # sorted context keys, int64
    totals: np.ndarray  # N(context)
    types: np.ndarray  # distinct values seen after the context
    pairs: np.ndarray  # sorted context * n_values + value
    pair_counts: np.ndarray

    @classmethod
    def count(cls, keys: np.ndarray, values: np.ndarray, n_values: int) -> _CountTable:
        pairs, pair_counts = np.unique(keys * n_values + values, return_counts=True)
        contexts, first = np.unique(pairs // n_values, return_index=True)
        totals = np.add.reduceat(pair_counts, first) if len(pairs) else np.zeros(0, np.int64)
        types = np.diff(np.append(first, len(pairs)))
        return cls(contexts, totals.astype(np.int64), types.astype(np.int64), pairs, pair_counts.astype(np.int64))

    def arrays(self) -> dict[str, np.ndarray]:
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}

    @staticmethod
    def _find(sorted_keys: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not len(sorted_keys):
            return np.zeros(query.shape, np.int64), np.zeros(query.shape, bool)
        index = np.minimum(np.searchsorted(sorted_keys, query), len(sorted_keys) - 1)
        return index, sorted_keys[index] == query

    def interpolate(self, keys: np.ndarray, values: np.ndarray, lower: np.ndarray, discount: float,
                    n_values: int) -> np.ndarray:
        """``P(value | key)`` at this level, interpolated with the lower level's ``lower``."""
        index, seen = self._find(self.contexts, keys)
        total = np.where(seen, self.totals[index], 0)
        types = np.where(seen, self.types[index], 0)
        pair_index, pair_seen = self._find(self.pairs, keys * n_values + values)
        count = np.where(pair_seen, self.pair_counts[pair_index], 0)
        mixed = (np.maximum(count - discount, 0.0) + discount * types * lower) / np.maximum(total, 1)
        return np.where(total > 0, mixed, lower)


def _probabilities(tables: Sequence[_CountTable], keys: Sequence[np.ndarray], values: np.ndarray, discount: float,
                   n_values: int) -> np.ndarray:
    """Interpolated probabilities of ``values`` along a context chain (``keys`` full first)."""
    probs = np.full(values.shape, 1.0 / n_values)
    for table, level_keys in zip(reversed(tables), reversed(keys), strict=True):
        probs = table.interpolate(level_keys, values, probs, discount, n_values)
    return probs


def _context_key(names: Sequence[str], voice: int, features: dict[str, np.ndarray]) -> np.ndarray:
    """One level's context as an int64 key per step (mixed radix of the named features)."""
    key = np.zeros(np.shape(features["position"]), dtype=np.int64)
    for name in names:
        if name == "above":
            for upper in range(voice):
                key = key * N_STATES + features["now"][..., upper]
        elif name in ("own", "prior"):
            key = key * _RADIX[name] + features[name][..., voice]
        elif name == "nearest":
            key = key * N_STATES + features["now"][..., voice - 1]
        else:
            key = key * _RADIX[name] + features[name]
    return key


def prior_values(values: np.ndarray) -> np.ndarray:
    """Each voice's value (pitch id or REST) before the one sounding at each step.

    Parameters
    ----------
    values : np.ndarray, shape=(n_steps, n_voices)

    Returns
    -------
    np.ndarray, shape=(n_steps, n_voices), dtype=int64
        REST_ID where the voice has had fewer than two onsets or rests so far.
    """
    values = np.asarray(values, dtype=np.int64)
    out = np.full(values.shape, REST_ID, dtype=np.int64)
    for voice in range(values.shape[1]):
        column = values[:, voice]
        events = np.flatnonzero(column != HOLD_ID)
        seen = np.cumsum(column != HOLD_ID)
        has_prior = seen >= 2
        out[has_prior, voice] = column[events[seen[has_prior] - 2]]
    return out


def _features(chorales: Sequence[SatbSteps], fermatas: bool) -> dict[str, np.ndarray]:
    """Every step's inputs, the chorales concatenated: states now and before, position, fermatas."""
    now, own, prior, position, fermata, before, values = [], [], [], [], [], [], []
    for steps in chorales:
        states = voice_states(steps.values)
        now.append(states)
        start = np.full((1, _N_VOICES), REST_ID, np.int64)
        own.append(np.vstack([start, states[:-1]]))
        prior.append(np.vstack([start, prior_values(steps.values)[:-1]]))
        flags = np.asarray(steps.fermata, dtype=np.int64) if fermatas else np.zeros(steps.n_steps, np.int64)
        fermata.append(flags)
        before.append(np.concatenate([[0], flags[:-1]]))
        position.append(np.asarray(steps.position, dtype=np.int64))
        values.append(np.asarray(steps.values, dtype=np.int64))

    def join(parts: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(shape, np.int64)

    return {"now": join(now, (0, _N_VOICES)), "own": join(own, (0, _N_VOICES)), "prior": join(prior, (0, _N_VOICES)),
            "position": join(position, (0,)),
            "fermata": join(fermata, (0,)), "fermata_before": join(before, (0,)),
            "values": join(values, (0, _N_VOICES))}


def _check_chorales(chorales: Sequence[SatbSteps], what: str) -> list[SatbSteps]:
    chorales = list(chorales)
    for index, steps in enumerate(chorales):
        if not isinstance(steps, SatbSteps):
            raise TypeError(f"{what}[{index}] must be SatbSteps, got {type(steps).__name__}")
        values = np.asarray(steps.values)
        if values.ndim != 2 or values.shape[1] != _N_VOICES:
            raise ValueError(f"{what}[{index}]: values must have shape (n_steps, {_N_VOICES}), got {values.shape}")
        if values.size and (values.min() < 0 or values.max() >= N_VALUES):
            raise ValueError(f"{what}[{index}]: value ids must lie in 0..{N_VALUES - 1}")
        _check_positions(steps.position, f"{what}[{index}]")
        if len(steps.position) != len(values) or len(steps.fermata) != len(values):
            raise ValueError(f"{what}[{index}]: values, position and fermata differ in length")
    return chorales


def _check_positions(position: np.ndarray, where: str) -> None:
    position = np.asarray(position)
    if position.ndim != 1:
        raise ValueError(f"{where}: positions must be 1-D, got shape {position.shape}")
    if position.size and (position.min() < 0 or position.max() >= N_POSITIONS):
        raise ValueError(f"{where}: positions must lie in 0..{N_POSITIONS - 1}")


def _transposed(chorales: Sequence[SatbSteps], transpositions: Sequence[int]) -> list[SatbSteps]:
    """The chorales in every key of ``transpositions`` that keeps them in range."""
    out = []
    for steps in chorales:
        for shift in transpositions:
            try:
                out.append(dataclasses.replace(steps, values=transpose_steps(steps.values, shift)))
            except ValueError:
                continue
    return out


def _draw(log_probs: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    if temperature == 0:
        return int(np.argmax(log_probs))
    logits = log_probs / temperature
    weights = np.exp(logits - logits.max())
    cumulative = np.cumsum(weights)
    return min(int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")), len(weights) - 1)


# ----------------------------------------------------------------------------- the model


class SatbCounts:
    """The joint count model of SATB steps (see the module docstring).

    Parameters
    ----------
    fermatas : bool, default True
        Model the fermata flag (and read it as context). False for data without
        fermatas (JSB): the flag is then neither predicted nor read.
    discount : float, optional
        Absolute discount ``D`` in (0, 1). Default: chosen from ``discounts`` on the
        validation chorales, 0.8 when :meth:`fit` gets none.
    transpositions : sequence of int, optional
        Semitone shifts of the training chorales (0 = as written; a shift taking a
        chorale out of range skips it). Default: chosen on the validation chorales
        between ``(0,)`` and :data:`ALL_KEYS`; :data:`ALL_KEYS` when :meth:`fit` gets none.
    discounts : sequence of float, default :data:`DISCOUNTS`
        The grid searched when ``discount`` is None.

    Attributes
    ----------
    discount_ : float
    transpositions_ : tuple of int
    selection_ : list of dict or None
        The grid on validation: ``discount``, ``transpositions``, ``nats`` (total
        negative log-likelihood) and ``nats_per_step``; None without validation.
    n_chorales_, n_steps_ : int
        Training chorales and steps counted (after augmentation).
    """

    def __init__(self, fermatas: bool = True, discount: float | None = None,
                 transpositions: Sequence[int] | None = None, discounts: Sequence[float] = DISCOUNTS):
        self.fermatas = fermatas
        self.discount = discount
        self.transpositions = transpositions
        self.discounts = discounts
        for value in ([discount] if discount is not None else []) + list(discounts):
            if not (isinstance(value, (int, float)) and 0 < value < 1):
                raise ValueError(f"a discount must lie strictly between 0 and 1, got {value!r}")

    # ------------------------------------------------------------------ fitting

    def fit(self, chorales: Sequence[SatbSteps], validation: Sequence[SatbSteps] | None = None) -> SatbCounts:
        """Count the training chorales; with ``validation``, choose the smoothing on it.

        Parameters
        ----------
        chorales : sequence of SatbSteps
            Training chorales.
        validation : sequence of SatbSteps, optional
            Chorales to choose ``discount`` and ``transpositions`` on (grid search by
            total log-likelihood); never counted.

        Returns
        -------
        SatbCounts
            ``self``, fitted.
        """
        chorales = _check_chorales(chorales, "chorales")
        if not chorales or not sum(steps.n_steps for steps in chorales):
            raise ValueError("cannot fit on no steps: give at least one non-empty chorale")
        if validation is not None:
            validation = _check_chorales(validation, "validation")
        key_options = [tuple(int(s) for s in self.transpositions)] if self.transpositions is not None else (
            [(0,), ALL_KEYS] if validation else [ALL_KEYS])
        discounts = [float(self.discount)] if self.discount is not None else (
            [float(d) for d in self.discounts] if validation else [0.8])
        self.selection_ = [] if validation else None
        held = _features(validation, self.fermatas) if validation else None  # the same for every candidate
        best = None
        for keys in key_options:
            counted = _transposed(chorales, keys)
            tables = self._count(counted)
            for discount in discounts:
                if validation:
                    nats = -float(self._log_prob_table(tables, discount, held).sum())
                    steps = sum(s.n_steps for s in validation)
                    self.selection_.append({"discount": discount, "transpositions": list(keys), "nats": nats,
                                            "nats_per_step": nats / max(steps, 1)})
                else:
                    nats = 0.0
                if best is None or nats < best[0]:
                    best = (nats, discount, keys, tables, counted)
        _, self.discount_, self.transpositions_, self.tables_, counted = best
        self.n_chorales_ = len(counted)
        self.n_steps_ = sum(steps.n_steps for steps in counted)
        return self

    def _count(self, chorales: Sequence[SatbSteps]) -> dict[str, list[_CountTable]]:
        """One count table per voice and level of its chain (and the fermata chain)."""
        features = _features(chorales, self.fermatas)
        tables = {}
        for voice, chain in enumerate(VOICE_CHAINS):
            tables[f"voice{voice}"] = [_CountTable.count(_context_key(names, voice, features),
                                                         features["values"][:, voice], N_VALUES) for names in chain]
        if self.fermatas:
            tables["fermata"] = [_CountTable.count(_context_key(names, 0, features), features["fermata"], 2)
                                 for names in FERMATA_CHAIN]
        return tables

    def _check_fitted(self) -> None:
        if not hasattr(self, "tables_"):
            raise RuntimeError("this SatbCounts is not fitted yet: call fit(chorales) first")

    # ------------------------------------------------------------------ scoring

    def _log_prob_table(self, tables: dict[str, list[_CountTable]], discount: float,
                        features: dict[str, np.ndarray]) -> np.ndarray:
        """Natural-log probabilities, shape (n_steps, 5): fermata, then S, A, T, B."""
        out = np.zeros((len(features["position"]), 1 + _N_VOICES))
        if self.fermatas:
            keys = [_context_key(names, 0, features) for names in FERMATA_CHAIN]
            out[:, 0] = np.log(_probabilities(tables["fermata"], keys, features["fermata"], discount, 2))
        for voice, chain in enumerate(VOICE_CHAINS):
            keys = [_context_key(names, voice, features) for names in chain]
            probs = _probabilities(tables[f"voice{voice}"], keys, features["values"][:, voice], discount, N_VALUES)
            out[:, 1 + voice] = np.log(probs)
        return out

    def log_probs(self, chorales: Sequence[SatbSteps], *, given_soprano: bool = False) -> list[np.ndarray]:
        """Natural-log probability of every step's fermata flag and four values.

        Parameters
        ----------
        chorales : sequence of SatbSteps
        given_soprano : bool, default False
            The soprano and the fermatas are given (harmonizing): columns 0 and 1 are
            0.0. The lower voices' probabilities are the same either way: the count
            model sees the melody up to the current step only, never its future.

        Returns
        -------
        list of np.ndarray, each shape=(n_steps, 5)
            Columns: fermata flag (0.0 when ``fermatas=False``), Soprano, Alto, Tenor, Bass.
        """
        self._check_fitted()
        chorales = _check_chorales(chorales, "chorales")
        table = self._log_prob_table(self.tables_, self.discount_, _features(chorales, self.fermatas))
        if given_soprano:
            table[:, :2] = 0.0
        bounds = np.cumsum([steps.n_steps for steps in chorales])[:-1]
        return np.split(table, bounds) if chorales else []

    # ------------------------------------------------------------------ sampling

    def _step_distribution(self, name: str, chain: Sequence[Sequence[str]], voice: int, features: dict[str, Any],
                           n_values: int, cache: dict) -> np.ndarray:
        """Log probabilities of every value of one slot, given scalar features."""
        keys = tuple(int(_context_key(names, voice, features)) for names in chain)
        cached = cache.get((name, keys))
        if cached is None:
            values = np.arange(n_values)
            level_keys = [np.full(n_values, key, dtype=np.int64) for key in keys]
            cached = np.log(_probabilities(self.tables_[name], level_keys, values, self.discount_, n_values))
            cache[(name, keys)] = cached
        return cached

    def sample(self, positions: Sequence[np.ndarray], *, soprano: Sequence[np.ndarray] | None = None,
               fermata: Sequence[np.ndarray] | None = None, temperature: float = 1.0, seed: int = 0
               ) -> list[SatbSteps]:
        """Write chorales step by step: fermata, then Soprano, Alto, Tenor, Bass.

        Parameters
        ----------
        positions : sequence of np.ndarray, each shape=(n_steps,)
            Each chorale's bar positions (its length).
        soprano : sequence of np.ndarray, optional
            Soprano value ids per step, one array per chorale, forced (harmonizing).
        fermata : sequence of np.ndarray, optional
            Fermata flags per step, forced. Otherwise sampled when ``fermatas=True``,
            all False when not.
        temperature : float, default 1.0
            Log probabilities are divided by it; 0 picks the most likely value (greedy).
        seed : int, default 0
            The same seed gives the same chorales.

        Returns
        -------
        list of SatbSteps
        """
        self._check_fitted()
        if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature >= 0):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
        positions = [np.asarray(p, dtype=np.int64) for p in positions]
        for name, given in (("soprano", soprano), ("fermata", fermata)):
            if given is not None and len(given) != len(positions):
                raise ValueError(f"{name} has {len(given)} chorales, positions {len(positions)}")
        rng = np.random.default_rng(seed)
        cache: dict = {}
        out = []
        for index, position in enumerate(positions):
            _check_positions(position, f"positions[{index}]")
            melody = None if soprano is None else np.asarray(soprano[index], dtype=np.int64)
            flags = None if fermata is None else np.asarray(fermata[index], dtype=bool)
            for name, given in (("soprano", melody), ("fermata", flags)):
                if given is not None and given.shape != position.shape:
                    raise ValueError(f"{name}[{index}] has shape {given.shape}, positions[{index}] {position.shape}")
            if melody is not None and melody.size and (melody.min() < 0 or melody.max() >= N_VALUES):
                raise ValueError(f"soprano[{index}]: value ids must lie in 0..{N_VALUES - 1}")
            out.append(self._sample_one(position, melody, flags, temperature, rng, cache))
        return out

    def _sample_one(self, position: np.ndarray, melody: np.ndarray | None, flags: np.ndarray | None,
                    temperature: float, rng: np.random.Generator, cache: dict) -> SatbSteps:
        n = len(position)
        values = np.zeros((n, _N_VOICES), dtype=np.int64)
        fermata = np.zeros(n, dtype=bool) if flags is None else flags.copy()
        previous = np.full(_N_VOICES, REST_ID, dtype=np.int64)  # states one step before
        sounding = np.full(_N_VOICES, REST_ID, dtype=np.int64)  # pitch id each voice holds
        prior = np.full(_N_VOICES, REST_ID, dtype=np.int64)  # the value before the sounding one
        events = np.zeros(_N_VOICES, dtype=np.int64)  # onsets and rests so far
        for step in range(n):
            features = {"position": np.int64(position[step]), "own": previous, "prior": prior.copy(),
                        "fermata_before": np.int64(fermata[step - 1] if step and self.fermatas else 0)}
            if flags is None and self.fermatas:
                log_probs = self._step_distribution("fermata", FERMATA_CHAIN, 0, features, 2, cache)
                fermata[step] = bool(_draw(log_probs, temperature, rng))
            features["fermata"] = np.int64(fermata[step] if self.fermatas else 0)
            now = np.zeros(_N_VOICES, dtype=np.int64)
            features["now"] = now
            for voice, chain in enumerate(VOICE_CHAINS):
                if voice == 0 and melody is not None:
                    value = int(melody[step])
                else:
                    log_probs = self._step_distribution(f"voice{voice}", chain, voice, features, N_VALUES, cache)
                    value = _draw(log_probs, temperature, rng)
                values[step, voice] = value
                if value != HOLD_ID:
                    if events[voice]:
                        prior[voice] = sounding[voice]
                    events[voice] += 1
                    sounding[voice] = value
                    now[voice] = value
                else:
                    now[voice] = sounding[voice] + _HOLDING if sounding[voice] >= 2 else HOLD_ID
            previous = now.copy()
        return SatbSteps(values, position.copy(), fermata)

    # ------------------------------------------------------------------ saving

    def save(self, folder: str | Path) -> list[str]:
        """Write the fitted model to ``folder`` as JSON (settings, selection) and npz (counts).

        Returns
        -------
        list of str
            The names of the files written inside ``folder``.
        """
        self._check_fitted()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": FORMAT, "version": _VERSION, "fermatas": bool(self.fermatas),
            "discount": self.discount, "discounts": [float(d) for d in self.discounts],
            "transpositions": None if self.transpositions is None else [int(s) for s in self.transpositions],
            "discount_": float(self.discount_), "transpositions_": [int(s) for s in self.transpositions_],
            "selection_": self.selection_, "n_chorales_": int(self.n_chorales_), "n_steps_": int(self.n_steps_),
            "levels": {name: len(levels) for name, levels in self.tables_.items()},
        }
        arrays = {f"{name}__{level}__{field}": array for name, levels in self.tables_.items()
                  for level, table in enumerate(levels) for field, array in table.arrays().items()}
        (folder / _JSON).write_text(json.dumps(payload, indent=1))
        with open(folder / _NPZ, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        return [_JSON, _NPZ]

    @classmethod
    def load(cls, folder: str | Path) -> SatbCounts:
        """Read a model written by :meth:`save`."""
        folder = Path(folder)
        try:
            payload = json.loads((folder / _JSON).read_text())
            arrays = dict(np.load(folder / _NPZ, allow_pickle=False))
        except (OSError, ValueError) as error:
            raise ValueError(f"{folder}: cannot read a saved SatbCounts ({error})") from error
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ValueError(f"{folder / _JSON}: not a saved SatbCounts (format field missing or wrong)")
        if payload.get("version") != _VERSION:
            raise ValueError(f"{folder / _JSON}: format version {payload.get('version')}, this code reads {_VERSION}")
        model = cls(fermatas=payload["fermatas"], discount=payload["discount"],
                    transpositions=payload["transpositions"], discounts=payload["discounts"])
        fields = [field.name for field in dataclasses.fields(_CountTable)]
        try:
            model.tables_ = {name: [_CountTable(**{f: arrays[f"{name}__{level}__{f}"] for f in fields})
                                    for level in range(n_levels)] for name, n_levels in payload["levels"].items()}
        except KeyError as error:
            raise ValueError(f"{folder / _NPZ}: missing count array {error}") from None
        model.discount_ = float(payload["discount_"])
        model.transpositions_ = tuple(payload["transpositions_"])
        model.selection_ = payload["selection_"]
        model.n_chorales_ = int(payload["n_chorales_"])
        model.n_steps_ = int(payload["n_steps_"])
        return model

    def __repr__(self) -> str:
        fitted = (f", fitted: D={self.discount_}, {len(self.transpositions_)} keys, {self.n_steps_} steps"
                  if hasattr(self, "tables_") else "")
        return f"SatbCounts(fermatas={self.fermatas}, discount={self.discount}{fitted})"
