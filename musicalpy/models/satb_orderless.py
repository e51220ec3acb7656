"""The orderless four-voice network: any voice-step predicted from all the others, both ways.

The causal networks of :mod:`musicalpy.models.satb_net` write a chorale from its first
sixteenth to its last, so they cannot redo bar 3 knowing bar 4. This network reads a
chorale as :mod:`SATB steps <musicalpy.representations.satb_steps>` in which any set of
**variables** (per step: the fermata flag and the S, A, T, B values) is hidden, and
predicts every hidden one from everything it is shown, before and after it in time. It
is the idea of Coconet (Huang et al., *Counterpoint by Convolution*, ISMIR 2017), here
over value ids (pitch, hold, rest) rather than a piano roll.

Network
-------
Each step's input is the embedding of each shown voice's value (zero where hidden), the
fermata flag where shown, which variables are shown, and the bar position (always
given). A width-3 convolution per dilation rate (:attr:`SatbOrderlessSettings.dilations`),
each in a pre-normalized residual block, reads both ways in time, so a step's output sees
:attr:`~SatbOrderlessSettings.radius` steps on either side; one softmax per voice and a
logistic unit for the fermata give every variable's conditional. Padding is zeroed after
every layer, exactly as a convolution's own zero padding at a chorale's edges, so a
chorale gives the same numbers alone, in a padded batch or cut to a window of its radius.

Training
--------
Random crops of ``crop_steps`` steps, each transposed within every voice's training
range, are masked in one of three ways (:data:`MASK_KINDS`, shares
``mask_shares``): **orderless** (a number of variables drawn uniformly from one to all,
then that many hidden at random, Coconet's scheme, the one Gibbs sampling asks for);
**chronological** (everything after a random variable in the order fermata, S, A, T, B
within a step hidden; half of them with the soprano and fermatas shown throughout: the
contexts of the likelihood below and of harmonizing); **span** (a random set of voices
hidden over 1 to 4 bars: the contexts of rewriting). The loss is the cross-entropy of
the hidden variables, averaged per crop. The epoch kept is the one of lowest
**validation masked NLL**: nats per hidden variable on fixed crops and masks of the
validation chorales.

Likelihood
----------
An orderless network defines one distribution per **ordering** of the variables.
:meth:`SatbOrderless.log_probs` gives the exact log-probability of a chorale under one
ordering: step by step, fermata then soprano to bass within a step, each variable given
all before it in that order, one network pass per variable (a window of the radius
around its step). With ``given_soprano`` the soprano and fermatas are shown throughout and
the alto, tenor and bass are scored in that order: the exact probability of a
harmonization under that ordering, the number the causal networks' ``A/T/B given S``
stands beside. It is one ordering's number, not the average over orderings that Coconet
estimates, and the network is not trained on that ordering alone (a quarter of its crops
are chronological), so it is an honest, pessimistic figure for this network.

Writing
-------
:meth:`SatbOrderless.gibbs` writes hidden variables by blocked Gibbs sampling with an
annealed masking rate (Yao et al., 2014, as Coconet does): all of them are drawn once
from the shown ones, then for ``gibbs_steps`` rounds a share of them, falling linearly
from 0.9 to 0.05 over the first three quarters of the rounds, is hidden again and
redrawn, the rest shown. A hold is never drawn where the voice rests just before it (nor
on the first step); a hold left after a rest by a redraw of the step before it is redrawn
last. Shown variables come back unchanged. :meth:`~SatbOrderless.sample` writes whole
chorales or harmonizes a soprano with it; :meth:`~SatbOrderless.rewrite` any part.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import keras
import numpy as np
from keras import layers, ops

from ..names import VOICES
from ..representations.satb_steps import HOLD_ID, N_POSITIONS, N_VALUES, REST_ID, SatbSteps
from .satb_net import SatbNet, _quiet_retracing, _random_shift
from .satb_settings import MASK_KINDS, SatbOrderlessSettings

__all__ = ["SatbOrderlessSettings", "MASK_KINDS", "build_orderless_net", "training_masks", "orderless_batch",
           "SatbOrderless"]

#: Variables per step: the fermata flag, then Soprano, Alto, Tenor, Bass.
N_COLUMNS = 1 + len(VOICES)
_OUTPUTS = ("fermata", *VOICES)
_SETTINGS = "satb_orderless.json"
#: The annealed masking rate of Gibbs sampling: from the first to the last over the
#: first three quarters of the rounds.
_GIBBS_FIRST, _GIBBS_LAST, _GIBBS_ANNEAL = 0.9, 0.05, 0.75
#: Validation crops and masks are drawn with this seed, the same every epoch.
_VALIDATION_SEED = 20261206


def build_orderless_net(settings: SatbOrderlessSettings) -> keras.Model:
    """The network: inputs ``values`` ``(batch, time, 4)`` value ids, ``known`` ``(batch,
    time, 5)`` (1 where a variable is shown: fermata, S, A, T, B), ``fermata`` ``(batch,
    time)``, ``position`` ``(batch, time)`` and ``inside`` ``(batch, time)`` (1 on the
    chorale, 0 on padding); outputs the logits ``fermata`` ``(batch, time, 1)`` and
    ``Soprano`` .. ``Bass`` ``(batch, time, N_VALUES)``."""
    e, units = settings.embedding, settings.units
    values = keras.Input((None, len(VOICES)), dtype="int32", name="values")
    known = keras.Input((None, N_COLUMNS), name="known")
    fermata = keras.Input((None,), name="fermata")
    position = keras.Input((None,), dtype="int32", name="position")
    inside = keras.Input((None,), name="inside")
    parts = [ops.expand_dims(fermata, -1) * known[:, :, :1]]
    for v, voice in enumerate(VOICES):
        parts.append(layers.Embedding(N_VALUES, e, name=f"value_{voice}")(values[:, :, v]) * known[:, :, v + 1 : v + 2])
    parts.append(known)
    parts.append(layers.Embedding(N_POSITIONS, e, name="position_embedding")(position))
    gate = ops.expand_dims(inside, -1)
    x = layers.Dense(units, name="input")(ops.concatenate(parts, axis=-1)) * gate
    for index, rate in enumerate(settings.dilations):
        h = layers.LayerNormalization(epsilon=1e-5, name=f"norm_{index + 1}")(x) * gate
        h = layers.Conv1D(units, 3, padding="same", dilation_rate=rate, activation="relu", name=f"conv_{index + 1}")(h)
        h = layers.Conv1D(units, 1, name=f"mix_{index + 1}")(h)
        if settings.dropout:
            h = layers.Dropout(settings.dropout, name=f"dropout_{index + 1}")(h)
        x = (x + h) * gate
    x = layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)
    outputs = {"fermata": layers.Dense(1, name="fermata_logit")(x)}
    for voice in VOICES:
        outputs[voice] = layers.Dense(N_VALUES, name=voice)(x)
    inputs = {"values": values, "known": known, "fermata": fermata, "position": position, "inside": inside}
    return keras.Model(inputs, outputs, name="satb_orderless")


# ------------------------------------------------------------------------- data


def training_masks(lengths: Sequence[int], width: int, settings: SatbOrderlessSettings,
                   rng: np.random.Generator) -> np.ndarray:
    """Hidden variables of training crops, ``(n, width, 5)`` bool (see the module docstring).

    Parameters
    ----------
    lengths : sequence of int
        Each crop's real steps (the rest is padding, never hidden).
    width : int
    settings : SatbOrderlessSettings
        ``mask_shares`` and ``fermatas`` (without fermatas the flag is never hidden).
    rng : np.random.Generator
    """
    n = len(lengths)
    hidden = np.zeros((n, width, N_COLUMNS), dtype=bool)
    first = 0 if settings.fermatas else 1
    kinds = rng.choice(len(MASK_KINDS), size=n, p=np.asarray(settings.mask_shares) / sum(settings.mask_shares))
    for row, (length, kind) in enumerate(zip(lengths, kinds, strict=True)):
        length = int(length)
        if length <= 0:
            continue
        name = MASK_KINDS[int(kind)]
        if name == "orderless":
            n_vars = length * (N_COLUMNS - first)
            chosen = rng.choice(n_vars, size=int(rng.integers(1, n_vars + 1)), replace=False)
            hidden[row, chosen // (N_COLUMNS - first), first + chosen % (N_COLUMNS - first)] = True
        elif name == "chronological":
            order = np.arange(2, N_COLUMNS) if rng.random() < 0.5 else np.arange(first, N_COLUMNS)
            cut = int(rng.integers(0, length))
            hidden[row, cut + 1 : length, order[0]:] = True
            hidden[row, cut, order[int(rng.integers(0, len(order))):]] = True
        else:
            voices = rng.random(len(VOICES)) < 0.5
            if not voices.any():
                voices[int(rng.integers(0, len(VOICES)))] = True
            span = int(rng.integers(16, 65))
            start = int(rng.integers(0, max(length - span, 0) + 1))
            hidden[row, start : min(start + span, length), 1 + np.flatnonzero(voices)] = True
    return hidden


def _crops(chorales: Sequence[SatbSteps], starts: Sequence[tuple[int, int]], shifts: Sequence[int],
           width: int) -> dict[str, np.ndarray]:
    """Crops ``(chorale index, first step)`` of ``width`` steps, moved by ``shifts``."""
    n = len(starts)
    values = np.full((n, width, len(VOICES)), REST_ID, dtype=np.int32)
    position = np.zeros((n, width), dtype=np.int32)
    fermata = np.zeros((n, width), dtype=np.float32)
    inside = np.zeros((n, width), dtype=np.float32)
    for row, ((index, start), shift) in enumerate(zip(starts, shifts, strict=True)):
        chorale = chorales[index]
        stop = min(start + width, chorale.n_steps)
        chunk = chorale.values[start:stop]
        values[row, : stop - start] = np.where(chunk >= 2, chunk + shift, chunk)
        position[row, : stop - start] = chorale.position[start:stop]
        fermata[row, : stop - start] = chorale.fermata[start:stop]
        inside[row, : stop - start] = 1.0
    return {"values": values, "fermata": fermata, "position": position, "inside": inside}


def _targets(crops: Mapping[str, np.ndarray], hidden: np.ndarray) -> tuple[dict, dict, dict]:
    """Inputs, targets and loss weights: each crop's hidden variables weigh equally in
    all (the weights sum to the crop's width, as Keras averages over every step)."""
    width = hidden.shape[1]
    inputs = {**crops, "known": ((~hidden) & (crops["inside"][..., None] > 0)).astype(np.float32)}
    per_crop = np.maximum(hidden.sum(axis=(1, 2)), 1).astype(np.float32)
    weight = hidden * (width / per_crop)[:, None, None]
    targets = {"fermata": crops["fermata"][..., None], **{v: crops["values"][:, :, i] for i, v in enumerate(VOICES)}}
    weights = {"fermata": weight[:, :, 0].astype(np.float32),
               **{v: weight[:, :, i + 1].astype(np.float32) for i, v in enumerate(VOICES)}}
    return inputs, targets, weights


def orderless_batch(chorales: Sequence[SatbSteps], ranges: np.ndarray, settings: SatbOrderlessSettings,
                    rng: np.random.Generator, n_crops: int) -> tuple[dict, dict, dict]:
    """``n_crops`` random training crops: inputs, targets and per-output weights.

    A crop starts anywhere in a chorale picked with probability proportional to its
    length and moves by a random shift in ``[-max_transpose, max_transpose]`` that keeps
    every voice inside its training range (``ranges`` of
    :func:`musicalpy.models.satb_net.voice_ranges`); its mask is drawn by
    :func:`training_masks`.
    """
    width = settings.crop_steps
    lengths = np.array([c.n_steps for c in chorales], dtype=float)
    picks = rng.choice(len(chorales), size=n_crops, p=lengths / lengths.sum())
    starts, shifts = [], []
    for index in picks:
        chorale = chorales[index]
        start = int(rng.integers(0, max(chorale.n_steps - width, 0) + 1))
        starts.append((int(index), start))
        shifts.append(_random_shift(chorale.values[start : start + width], ranges, settings.max_transpose, rng))
    crops = _crops(chorales, starts, shifts, width)
    hidden = training_masks(crops["inside"].sum(axis=1).astype(int), width, settings, rng)
    return _targets(crops, hidden)


# ------------------------------------------------------------------------ model


class SatbOrderless:
    """The orderless network with the interface the ``satb_*`` kinds share, plus
    :meth:`gibbs` and :meth:`rewrite`.

    Parameters
    ----------
    settings : SatbOrderlessSettings
    """

    #: The validation score :func:`~musicalpy.models.satb_net.train_satb_net` keeps the best epoch by.
    selection_key = "masked_nats"

    def __init__(self, settings: SatbOrderlessSettings | None = None):
        self.settings = settings or SatbOrderlessSettings()
        self.model = build_orderless_net(self.settings)
        self._compiled: Callable | None = None

    @property
    def fermatas(self) -> bool:
        return self.settings.fermatas

    def __repr__(self) -> str:
        return (f"SatbOrderless(units={self.settings.units}, blocks={len(self.settings.dilations)}, "
                f"radius={self.settings.radius})")

    def _call(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self._compiled is None:
            import tensorflow as tf

            _quiet_retracing(tf.get_logger())
            model = self.model
            self._compiled = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        return {k: np.asarray(v) for k, v in self._compiled(dict(inputs)).items()}

    # --------------------------------------------------------------- training

    #: The losses :func:`~musicalpy.models.satb_net.train_satb_net` compiles (the causal network's).
    loss_functions = SatbNet.loss_functions

    def training_batch(self, train: Sequence[SatbSteps], ranges: np.ndarray, rng: np.random.Generator,
                       n_crops: int) -> tuple[dict, dict, dict]:
        """An epoch's training crops (:func:`orderless_batch`)."""
        return orderless_batch(train, ranges, self.settings, rng, n_crops)

    def validation_scores(self, chorales: Sequence[SatbSteps]) -> dict[str, float]:
        """``masked_nats``: nats per hidden variable over fixed crops (each chorale cut
        into crops of ``crop_steps``) and fixed masks (:func:`training_masks`, two per
        crop, seeded), the same every epoch."""
        width = self.settings.crop_steps
        starts = [(i, s) for i, c in enumerate(chorales) for s in range(0, c.n_steps, width)] * 2
        crops = _crops(chorales, starts, [0] * len(starts), width)
        hidden = training_masks(crops["inside"].sum(axis=1).astype(int), width, self.settings,
                                np.random.default_rng(_VALIDATION_SEED))
        inputs, _, _ = _targets(crops, hidden)
        total = 0.0
        for begin in range(0, len(starts), 64):
            part = {k: v[begin : begin + 64] for k, v in inputs.items()}
            logits = self._call(part)
            table = SatbNet._gather(logits, part["values"], part["fermata"])
            total -= float((table * hidden[begin : begin + 64]).sum())
        return {"masked_nats": total / max(int(hidden.sum()), 1)}

    @staticmethod
    def describe_scores(scores: Mapping[str, float]) -> str:
        """One progress line's account of :meth:`validation_scores`."""
        return f"validation {scores['masked_nats']:.4f} nats per hidden voice-step"

    # --------------------------------------------------------------- scoring

    def log_probs(self, chorales: Sequence[SatbSteps], *, given_soprano: bool = False,
                  batch_size: int = 256) -> list[np.ndarray]:
        """Per chorale, ``(n_steps, 5)`` natural-log probabilities of its fermata flag and
        S, A, T, B values under the chronological ordering (see the module docstring).

        With ``given_soprano`` the soprano and fermatas are shown throughout and their
        columns are 0; without fermatas their column is 0.
        """
        radius = self.settings.radius
        window = 2 * radius + 1
        offsets = np.arange(window) - radius
        first = 2 if given_soprano else (0 if self.settings.fermatas else 1)
        columns = np.arange(first, N_COLUMNS)
        out = []
        for chorale in chorales:
            n = chorale.n_steps
            table = np.zeros((n, N_COLUMNS))
            steps = np.repeat(np.arange(n), len(columns))
            order = np.tile(np.arange(len(columns)), n)
            for begin in range(0, len(steps), batch_size):
                t = steps[begin : begin + batch_size]
                j = order[begin : begin + batch_size]
                rows = len(t)
                t_pad = np.r_[t, np.full(batch_size - rows, -window)]  # rows of padding only
                j_pad = np.r_[j, np.zeros(batch_size - rows, dtype=np.int64)]
                where = t_pad[:, None] + offsets[None, :]
                inside = (where >= 0) & (where < n)
                safe = np.clip(where, 0, max(n - 1, 0))
                known = np.zeros((batch_size, window, N_COLUMNS), dtype=np.float32)
                known[where < t_pad[:, None]] = 1.0  # every step before this one
                for k, column in enumerate(columns):  # at this step, the variables before it in the order
                    known[:, radius, column] = (k < j_pad).astype(np.float32)
                known[:, :, :first] = 1.0  # shown throughout (the soprano and fermatas when given)
                known *= inside[..., None]
                inputs = {"values": np.where(inside[..., None], chorale.values[safe], REST_ID).astype(np.int32),
                          "known": known,
                          "fermata": np.where(inside, chorale.fermata[safe], 0).astype(np.float32),
                          "position": np.where(inside, chorale.position[safe], 0).astype(np.int32),
                          "inside": inside.astype(np.float32)}
                logits = {k: v[:, radius : radius + 1] for k, v in self._call(inputs).items()}
                lp = SatbNet._gather(logits, inputs["values"][:, radius : radius + 1],
                                     inputs["fermata"][:, radius : radius + 1])[:, 0]
                table[t, columns[j]] = lp[np.arange(rows), columns[j]]
            out.append(table)
        return out

    # -------------------------------------------------------------- writing

    def gibbs(self, values: np.ndarray, fermata: np.ndarray, position: np.ndarray, shown: np.ndarray,
              lengths: Sequence[int], *, temperature: float = 1.0, seed: int = 0,
              rounds: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Write the hidden variables by annealed blocked Gibbs sampling.

        Parameters
        ----------
        values : np.ndarray, shape=(n, time, 4)
            Value ids; those of hidden variables are ignored.
        fermata, position : np.ndarray, shape=(n, time)
        shown : np.ndarray, shape=(n, time, 5), bool
            True for the variables kept as they are (fermata, S, A, T, B).
        lengths : sequence of int
            Each chorale's steps (the rest of ``time`` is padding).
        temperature : float
            Divides the logits; 0 takes the most probable value at every draw.
        seed : int
        rounds : int, optional
            Gibbs rounds after the first draw (default ``gibbs_steps``).

        Returns
        -------
        (values, fermata)
            Shown variables unchanged, hidden ones written.
        """
        n, width = values.shape[:2]
        padded = 32 * max(1, math.ceil(width / 32))
        inside = np.arange(padded)[None, :] < np.asarray(lengths)[:, None]
        grow = ((0, 0), (0, padded - width))
        values = np.pad(np.asarray(values, dtype=np.int32), (*grow, (0, 0)))
        fermata = np.pad(np.asarray(fermata, dtype=np.float32), grow)
        position = np.pad(np.asarray(position, dtype=np.int32), grow)
        free = ~np.pad(np.asarray(shown, dtype=bool), (*grow, (0, 0))) & inside[..., None]
        if not self.settings.fermatas:
            free[:, :, 0] = False
        values = np.where(free[:, :, 1:], REST_ID, values).astype(np.int32)
        fermata = np.where(free[:, :, 0], 0.0, fermata).astype(np.float32)
        rng = np.random.default_rng(seed)
        rounds = self.settings.gibbs_steps if rounds is None else int(rounds)
        for index in range(rounds + 1):
            if index == 0:
                hidden = free.copy()
            else:
                rate = max(_GIBBS_LAST, _GIBBS_FIRST - (_GIBBS_FIRST - _GIBBS_LAST) * (index - 1) / (_GIBBS_ANNEAL * rounds))
                hidden = free & (rng.random(free.shape) < rate)
            if hidden.any():
                self._draw(values, fermata, position, inside, hidden, temperature, rng)
        for _ in range(8):  # a hold that a redraw left after a rest is drawn again, last
            bad = free[:, :, 1:] & (values == HOLD_ID) & ~_may_hold(values)
            if not bad.any():
                break
            hidden = np.concatenate([np.zeros_like(bad[..., :1]), bad], axis=-1)
            self._draw(values, fermata, position, inside, hidden, temperature, rng)
        values = np.where(free[:, :, 1:] & (values == HOLD_ID) & ~_may_hold(values), REST_ID, values)
        return values[:, :width], fermata[:, :width]

    def _draw(self, values: np.ndarray, fermata: np.ndarray, position: np.ndarray, inside: np.ndarray,
              hidden: np.ndarray, temperature: float, rng: np.random.Generator) -> None:
        """Draw the ``hidden`` variables from the network given all the others (in place)."""
        known = ((~hidden) & inside[..., None]).astype(np.float32)
        logits = self._call({"values": values, "known": known, "fermata": fermata, "position": position,
                             "inside": inside.astype(np.float32)})
        # A hold may follow a sounding step, or one drawn in this same round.
        may_hold = _may_hold(values) | np.pad(hidden[:, :-1, 1:], ((0, 0), (1, 0), (0, 0)))
        for v, voice in enumerate(VOICES):
            where = hidden[:, :, v + 1]
            if not where.any():
                continue
            chosen = logits[voice][where].astype(np.float64)
            chosen[:, HOLD_ID] = np.where(may_hold[:, :, v][where], chosen[:, HOLD_ID], -np.inf)
            values[:, :, v][where] = SatbNet._pick(chosen, temperature, None, rng)
        where = hidden[:, :, 0]
        if where.any():
            logit = logits["fermata"][:, :, 0][where].astype(np.float64)
            if temperature <= 0:
                fermata[where] = (logit > 0).astype(np.float32)
            else:
                fermata[where] = (rng.random(len(logit)) < 1 / (1 + np.exp(-logit / temperature))).astype(np.float32)

    def sample(self, positions: Sequence[np.ndarray], *, soprano: Sequence[np.ndarray] | None = None,
               fermata: Sequence[np.ndarray] | None = None, temperature: float = 1.0, seed: int = 0,
               top_k: int | None = None) -> list[SatbSteps]:
        """Write one chorale per ``positions`` array by :meth:`gibbs`: everything, or the
        alto, tenor and bass under a given ``soprano`` (value ids) and its ``fermata``
        flags (default with a soprano: none). ``top_k`` is not supported (None only)."""
        if top_k is not None:
            raise ValueError("the orderless network samples by Gibbs rounds; top_k is not supported")
        n = len(positions)
        lengths = [len(p) for p in positions]
        width = max(lengths, default=0)
        values = np.full((n, width, len(VOICES)), REST_ID, dtype=np.int32)
        flags = np.zeros((n, width), dtype=np.float32)
        position = np.zeros((n, width), dtype=np.int32)
        shown = np.zeros((n, width, N_COLUMNS), dtype=bool)
        for row, p in enumerate(positions):
            position[row, : len(p)] = p
            if soprano is not None:
                values[row, : len(p), 0] = np.asarray(soprano[row])[: len(p)]
                shown[row, :, 1] = True
                shown[row, :, 0] = True
            if fermata is not None:
                flags[row, : len(p)] = np.asarray(fermata[row], dtype=np.float32)[: len(p)]
                shown[row, :, 0] = True
        written, flags = self.gibbs(values, flags, position, shown, lengths, temperature=temperature, seed=seed)
        return [SatbSteps(written[row, : lengths[row]].astype(np.int64), np.asarray(positions[row], dtype=np.int64),
                          flags[row, : lengths[row]] > 0) for row in range(n)]

    def rewrite(self, chorales: Sequence[SatbSteps], keep: Sequence[np.ndarray], *, temperature: float = 1.0,
                seed: int = 0, rounds: int | None = None) -> list[SatbSteps]:
        """Rewrite every variable of each chorale that ``keep`` does not keep.

        Parameters
        ----------
        chorales : sequence of SatbSteps
        keep : sequence of np.ndarray, shape=(n_steps, 5), bool
            Per chorale, True for the variables (fermata, S, A, T, B) that stay.
        temperature, seed, rounds
            As for :meth:`gibbs`.
        """
        n = len(chorales)
        lengths = [c.n_steps for c in chorales]
        width = max(lengths, default=0)
        values = np.full((n, width, len(VOICES)), REST_ID, dtype=np.int32)
        flags = np.zeros((n, width), dtype=np.float32)
        position = np.zeros((n, width), dtype=np.int32)
        shown = np.ones((n, width, N_COLUMNS), dtype=bool)
        for row, (chorale, kept) in enumerate(zip(chorales, keep, strict=True)):
            kept = np.asarray(kept, dtype=bool)
            if kept.shape != (chorale.n_steps, N_COLUMNS):
                raise ValueError(f"keep[{row}] has shape {kept.shape}, expected ({chorale.n_steps}, {N_COLUMNS})")
            values[row, : chorale.n_steps] = chorale.values
            flags[row, : chorale.n_steps] = chorale.fermata
            position[row, : chorale.n_steps] = chorale.position
            shown[row, : chorale.n_steps] = kept
        written, flags = self.gibbs(values, flags, position, shown, lengths, temperature=temperature, seed=seed,
                                    rounds=rounds)
        return [SatbSteps(written[row, : lengths[row]].astype(np.int64), chorales[row].position.copy(),
                          flags[row, : lengths[row]] > 0) for row in range(n)]

    # ------------------------------------------------------------------ files

    settings_file = _SETTINGS
    settings_class = SatbOrderlessSettings
    folder_kind = "an orderless network folder"
    #: ``satb_orderless.json`` and the weights (HDF5), as :meth:`SatbNet.save` writes them.
    save = SatbNet.save
    load = classmethod(SatbNet.load.__func__)


def _may_hold(values: np.ndarray) -> np.ndarray:
    """Where a hold may stand: after a step on which the voice does not rest."""
    out = np.zeros(values.shape, dtype=bool)
    out[:, 1:] = values[:, :-1] != REST_ID
    return out

