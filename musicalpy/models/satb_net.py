"""Frame-wise joint chorale networks: one step per sixteenth, S, A, T, B written in order.

A network of this module reads a chorale as :mod:`SATB steps
<musicalpy.representations.satb_steps>` and gives, for every step ``t``, the exact
probability of that step::

    p(step_t | steps_<t) = p(f_t | .) p(S_t | ., f_t) p(A_t | ., f_t, S_t)
                           p(T_t | ., f_t, S_t, A_t) p(B_t | ., f_t, S_t, A_t, T_t)

where ``.`` is a **trunk**'s summary of the steps before ``t`` and of step ``t``'s bar
position (given), and ``f_t`` the step's fermata (predicted: a chorale written from
nothing pays for its own phrase plan). The trunk (:data:`TRUNKS`) is an LSTM or GRU
stack, a WaveNet (gated dilated causal convolutions) or a Transformer (causal relative
attention). Each voice's **head** sees the trunk's state and the values already
chosen at that step (the NADE idea of notebook 08's 5.195, here over four voices), so
the product of the five factors is an exact likelihood, and training computes all of
them in one pass (teacher forcing within the step).

Harmonizing
-----------
A **condition** path reads the given soprano, its fermatas and positions *backwards*
with a GRU, so the trunk input at step ``t`` knows the melody from ``t`` to its end
(where it goes, where the next cadence is). In training a share
``condition_share`` of the crops have the condition switched on; there the soprano
and fermatas are given and only A, T, B are scored. Scoring with the condition on gives
the exact probability of alto, tenor and bass given the **whole** soprano.

Padding is masked everywhere: the trunks are causal and batches are padded at the end,
and the condition path reverses each chorale over its own length
(:class:`ReverseByLength`), so a chorale scores and samples the same alone and in a
batch (``tests/test_satb_net.py``).

Training (:func:`train_satb_net`) is on random crops of ``crop_steps`` steps, each
transposed within every voice's training range, with dropout, gradient clipping, a
learning rate halved when validation stops improving, and a budget in process CPU
minutes and/or wall-clock minutes; it checkpoints after every epoch into a run folder
and resumes from it, keeping the weights of the best validation epoch.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from ..names import VOICES
from ..representations.satb_steps import HOLD_ID, N_POSITIONS, N_VALUES, REST_ID, SatbSteps
from .satb_settings import TRUNKS, SatbNetSettings
from .transformer import TransformerBlock
from .wavenet import GatedResidualBlock

__all__ = ["TRUNKS", "SatbNetSettings", "ReverseByLength", "build_satb_net", "SatbNet", "train_satb_net",
           "voice_ranges", "crop_batch", "padded_inputs", "sounding_of"]

_OUTPUTS = ("fermata", *VOICES)
_WEIGHTS = "weights.weights.h5"
#: Scoring pads a batch to a multiple of this many steps.
_SCORE_WIDTH = 128
_SETTINGS = "satb_net.json"


# ---------------------------------------------------------------------- network


class ReverseByLength(layers.Layer):
    """Reverse each row of ``(batch, time, dim)`` over its own first ``length`` steps.

    Padding after ``length`` stays where it is, so a backward reading of a padded batch
    starts at each row's last real step and never reads padding first.
    """

    def call(self, inputs, lengths):
        import tensorflow as tf

        return tf.reverse_sequence(inputs, ops.cast(ops.reshape(lengths, (-1,)), "int64"), seq_axis=1, batch_axis=0)


class _Layers:
    """Makes each named layer once and hands the same object back on later calls, so
    the graph built for training and the step-by-step sampler share their weights."""

    def __init__(self):
        self.made: dict[str, Any] = {}

    def __call__(self, key: str, make: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if key not in self.made:
            self.made[key] = make(*args, **kwargs)
        return self.made[key]


def _trunk(x, settings: SatbNetSettings, get: _Layers):
    """The trunk over the steps' input vectors ``(batch, time, dim)``."""
    width = settings.units
    if settings.trunk in ("lstm", "gru"):
        cell = layers.LSTM if settings.trunk == "lstm" else layers.GRU
        for index in range(settings.n_layers):
            name = f"{settings.trunk}_{index + 1}"
            x = get(name, cell, width, return_sequences=True, name=name)(x)
            if settings.dropout:
                x = get(f"trunk_dropout_{index + 1}", layers.Dropout, settings.dropout)(x)
        return x
    x = get("trunk_in", layers.Dense, width, name="trunk_in")(x)
    if settings.trunk == "wavenet":
        skips = []
        for index, rate in enumerate(settings.dilations):
            name = f"wavenet_block_{index + 1}"
            block = get(name, GatedResidualBlock, width, width, rate, dropout=settings.dropout,
                        use_residual=index < len(settings.dilations) - 1, name=name)
            x, skip = block(x)
            skips.append(skip)
        summed = skips[0]
        for skip in skips[1:]:
            summed = summed + skip
        return get("wavenet_out", layers.Dense, width, activation="relu", name="wavenet_out")(ops.relu(summed))
    for index in range(settings.n_layers):
        name = f"block_{index + 1}"
        x = get(name, TransformerBlock, width, settings.num_heads, 4 * width, settings.dropout, relative=True,
                max_distance=settings.max_distance, name=name)(x)
    return get("final_norm", layers.LayerNormalization, epsilon=1e-5, name="final_norm")(x)


def _step_inputs(previous, prev_sounding, prev_fermata, position, condition, settings: SatbNetSettings, get: _Layers):
    """The trunk's input at each step: the step before (each voice's value and sounding
    pitch, the fermata), this step's bar position, and the condition."""
    e = settings.embedding
    parts = []
    for v, voice in enumerate(VOICES):
        for name, ids in ((f"previous_{voice}", previous), (f"sounding_{voice}", prev_sounding)):
            parts.append(get(name, layers.Embedding, N_VALUES, e, name=name)(ids[..., v]))
    parts.append(ops.expand_dims(ops.cast(prev_fermata, "float32"), -1))
    parts.append(get("position_embedding", layers.Embedding, N_POSITIONS, e, name="position_embedding")(position))
    parts.append(condition)
    return ops.concatenate(parts, axis=-1)


def build_satb_net(settings: SatbNetSettings) -> tuple[keras.Model, keras.Model, keras.Model, keras.Model, _Layers]:
    """The network: ``(model, condition, core, heads, layers)``.

    ``condition`` maps the given soprano (``soprano`` values, ``soprano_sounding``
    pitches), ``given_fermata``, ``position``, ``condition_on`` ``(batch, 1)`` and
    ``length`` ``(batch, 1)`` to a backward reading of the melody ``(batch, time,
    condition_units)`` (zero when the condition is off); ``core`` maps the step before
    (``previous`` values and ``prev_sounding`` pitches ``(batch, time, 4)``,
    ``prev_fermata``), ``position`` and the condition to the trunk's state ``(batch,
    time, units)``; ``heads`` maps the state, this step's ``fermata`` and the values
    ``current`` and sounding pitches ``sounding`` chosen at this step (head ``v`` reads
    only the voices before ``v``) to logits ``fermata`` ``(batch, time, 1)`` and
    ``Soprano`` .. ``Bass`` ``(batch, time, N_VALUES)``; ``model`` is all three, for
    training; ``layers`` names every layer (the stepper reuses them).
    """
    e = settings.embedding
    get = _Layers()
    voices = len(VOICES)
    soprano = keras.Input((None,), dtype="int32", name="soprano")
    soprano_sounding = keras.Input((None,), dtype="int32", name="soprano_sounding")
    given_fermata = keras.Input((None,), name="given_fermata")
    position = keras.Input((None,), dtype="int32", name="position")
    condition_on = keras.Input((1,), name="condition_on")
    length = keras.Input((1,), dtype="int32", name="length")
    melody = ops.concatenate([
        layers.Embedding(N_VALUES, e, name="condition_soprano")(soprano),
        layers.Embedding(N_VALUES, e, name="condition_sounding")(soprano_sounding),
        ops.expand_dims(given_fermata, -1),
        layers.Embedding(N_POSITIONS, e, name="condition_position")(position)], axis=-1)
    reverse = ReverseByLength(name="reverse")
    backward = reverse(layers.GRU(settings.condition_units, return_sequences=True, name="condition_gru")(
        reverse(melody, length)), length)
    condition_model = keras.Model([soprano, soprano_sounding, given_fermata, position, condition_on, length],
                                  backward * ops.expand_dims(condition_on, 1), name="condition")

    previous = keras.Input((None, voices), dtype="int32", name="previous")
    prev_sounding = keras.Input((None, voices), dtype="int32", name="prev_sounding")
    prev_fermata = keras.Input((None,), name="prev_fermata")
    core_position = keras.Input((None,), dtype="int32", name="position")
    condition = keras.Input((None, settings.condition_units), name="condition")
    x = _step_inputs(previous, prev_sounding, prev_fermata, core_position, condition, settings, get)
    if settings.dropout:
        x = layers.Dropout(settings.dropout, name="input_dropout")(x)
    core = keras.Model([previous, prev_sounding, prev_fermata, core_position, condition], _trunk(x, settings, get),
                       name="core")

    hidden = keras.Input((None, settings.units), name="state")
    fermata = keras.Input((None,), name="fermata")
    current = keras.Input((None, voices), dtype="int32", name="current")
    sounding = keras.Input((None, voices), dtype="int32", name="sounding")
    outputs = {"fermata": layers.Dense(1, name="fermata_logit")(hidden)}
    chosen = [hidden, ops.expand_dims(fermata, -1)]
    for v, voice in enumerate(VOICES):
        z = ops.concatenate(chosen, axis=-1)
        z = layers.Dense(settings.head_units, activation="relu", name=f"{voice}_hidden")(z)
        if settings.dropout:
            z = layers.Dropout(settings.dropout, name=f"{voice}_dropout")(z)
        outputs[voice] = layers.Dense(N_VALUES, name=voice)(z)
        chosen.append(layers.Embedding(N_VALUES, e, name=f"chosen_{voice}")(current[:, :, v]))
        chosen.append(layers.Embedding(N_VALUES, e, name=f"chosen_sounding_{voice}")(sounding[:, :, v]))
    heads = keras.Model([hidden, fermata, current, sounding], outputs, name="heads")

    names = {"condition": ("soprano", "soprano_sounding", "given_fermata", "position", "condition_on", "length"),
             "core": ("previous", "prev_sounding", "prev_fermata", "position"),
             "heads": ("fermata", "current", "sounding")}
    inputs = {name: keras.Input(t.shape[1:], dtype=t.dtype, name=name)
              for t, name in [*zip(condition_model.inputs, names["condition"], strict=True),
                              *zip(core.inputs[:4], names["core"], strict=True),
                              *zip(heads.inputs[1:], names["heads"], strict=True)]}
    given = condition_model([inputs[k] for k in names["condition"]])
    state = core([*(inputs[k] for k in names["core"]), given])
    logits = heads([state, *(inputs[k] for k in names["heads"])])
    model = keras.Model(inputs, {name: layers.Identity(name=f"out_{name}")(logits[name]) for name in _OUTPUTS},
                        name="satb_net")
    return model, condition_model, core, heads, get


# ------------------------------------------------------------------------- data


def voice_ranges(chorales: Sequence[SatbSteps]) -> np.ndarray:
    """Lowest and highest value id of each voice's notes, ``(4, 2)``."""
    values = np.concatenate([c.values for c in chorales])
    out = np.zeros((len(VOICES), 2), dtype=np.int64)
    for v in range(len(VOICES)):
        notes = values[:, v][values[:, v] >= 2]
        out[v] = (notes.min(), notes.max()) if len(notes) else (2, N_VALUES - 1)
    return out


def padded_inputs(chorales: Sequence[SatbSteps], *, condition_on: Sequence[bool] | bool = False,
                  width: int | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The network's inputs for whole chorales padded at the end, and the mask ``(batch, time)``.

    Step ``t``'s ``previous`` values are step ``t - 1``'s (rests before the first).
    """
    n = len(chorales)
    width = max((c.n_steps for c in chorales), default=0) if width is None else width
    values = np.full((n, width, len(VOICES)), REST_ID, dtype=np.int32)
    position = np.zeros((n, width), dtype=np.int32)
    fermata = np.zeros((n, width), dtype=np.float32)
    mask = np.zeros((n, width), dtype=bool)
    for row, chorale in enumerate(chorales):
        length = chorale.n_steps
        values[row, :length] = chorale.values
        position[row, :length] = chorale.position
        fermata[row, :length] = chorale.fermata
        mask[row, :length] = True
    return _inputs(values, position, fermata, mask, condition_on), mask


def sounding_of(values: np.ndarray, first: np.ndarray | None = None) -> np.ndarray:
    """The pitch id sounding in each voice at each step: the value where a note starts,
    the held note's pitch through its holds, :data:`REST_ID` where the voice rests.

    Parameters
    ----------
    values : np.ndarray, shape=(..., time, 4)
    first : np.ndarray, shape=(..., 4), optional
        What sounds before the first step (a crop's real step before it); default rests.
    """
    values = np.asarray(values)
    before = np.full(values.shape[:-2] + values.shape[-1:], REST_ID, dtype=values.dtype) if first is None else first
    joined = np.concatenate([np.expand_dims(before, -2), values], axis=-2)
    steps = np.arange(joined.shape[-2]).reshape((-1, 1))
    # The last step at or before each one that is not a hold holds what sounds.
    last = np.maximum.accumulate(np.where(joined != HOLD_ID, steps, 0), axis=-2)
    sounding = np.take_along_axis(joined, last, axis=-2)
    sounding = np.where(sounding == HOLD_ID, REST_ID, sounding)
    return sounding[..., 1:, :]


def _inputs(values: np.ndarray, position: np.ndarray, fermata: np.ndarray, mask: np.ndarray,
            condition_on: Sequence[bool] | bool, first: np.ndarray | None = None,
            first_fermata: np.ndarray | None = None, first_sounding: np.ndarray | None = None) -> dict[str, np.ndarray]:
    n = len(values)
    on = np.broadcast_to(np.asarray(condition_on, dtype=np.float32), (n,)).reshape(n, 1).copy()
    previous = np.empty_like(values)
    previous[:, 1:] = values[:, :-1]
    previous[:, 0] = REST_ID if first is None else first
    sounding = sounding_of(values, first_sounding).astype(np.int32)
    prev_sounding = np.empty_like(sounding)
    prev_sounding[:, 1:] = sounding[:, :-1]
    prev_sounding[:, 0] = REST_ID if first_sounding is None else first_sounding
    prev_fermata = np.zeros_like(fermata)
    prev_fermata[:, 1:] = fermata[:, :-1]
    if first_fermata is not None:
        prev_fermata[:, 0] = first_fermata
    given = on > 0
    return {"previous": previous, "prev_sounding": prev_sounding, "prev_fermata": prev_fermata, "position": position,
            "soprano": np.where(given, values[:, :, 0], REST_ID).astype(np.int32),
            "soprano_sounding": np.where(given, sounding[:, :, 0], REST_ID).astype(np.int32),
            "given_fermata": (fermata * on).astype(np.float32), "condition_on": on,
            "length": mask.sum(axis=1, keepdims=True).astype(np.int32), "fermata": fermata, "current": values,
            "sounding": sounding}


def crop_batch(chorales: Sequence[SatbSteps], ranges: np.ndarray, settings: SatbNetSettings,
               rng: np.random.Generator, n_crops: int) -> tuple[dict, dict, dict]:
    """``n_crops`` random training crops: inputs, targets and per-output weights.

    A crop starts anywhere in a chorale picked with probability proportional to its
    length, keeps the real step before it as ``previous``, and moves by a random shift
    in ``[-max_transpose, max_transpose]`` that keeps every voice inside its training
    range (``ranges`` from :func:`voice_ranges`).
    """
    width = settings.crop_steps
    lengths = np.array([c.n_steps for c in chorales], dtype=float)
    picks = rng.choice(len(chorales), size=n_crops, p=lengths / lengths.sum())
    values = np.full((n_crops, width, len(VOICES)), REST_ID, dtype=np.int32)
    position = np.zeros((n_crops, width), dtype=np.int32)
    fermata = np.zeros((n_crops, width), dtype=np.float32)
    mask = np.zeros((n_crops, width), dtype=bool)
    first = np.full((n_crops, len(VOICES)), REST_ID, dtype=np.int32)
    first_sounding = np.full((n_crops, len(VOICES)), REST_ID, dtype=np.int32)
    first_fermata = np.zeros(n_crops, dtype=np.float32)
    for row, index in enumerate(picks):
        chorale = chorales[index]
        start = int(rng.integers(0, max(chorale.n_steps - width, 0) + 1))
        stop = min(start + width, chorale.n_steps)
        chunk = chorale.values[start:stop]
        shift = _random_shift(chunk, ranges, settings.max_transpose, rng)
        values[row, : stop - start] = np.where(chunk >= 2, chunk + shift, chunk)
        position[row, : stop - start] = chorale.position[start:stop]
        fermata[row, : stop - start] = chorale.fermata[start:stop]
        mask[row, : stop - start] = True
        if start:
            before = chorale.values[start - 1]
            first[row] = np.where(before >= 2, before + shift, before)
            heard = sounding_of(chorale.values[:start])[-1]
            first_sounding[row] = np.where(heard >= 2, heard + shift, heard)
            first_fermata[row] = chorale.fermata[start - 1]
    on = rng.random(n_crops) < settings.condition_share
    inputs = _inputs(values, position, fermata, mask, on, first, first_fermata, first_sounding)
    targets = {"fermata": fermata[..., None], **{voice: values[:, :, v] for v, voice in enumerate(VOICES)}}
    free = (mask & ~on[:, None]).astype(np.float32)
    weights = {"fermata": free * float(settings.fermatas), VOICES[0]: free,
               **{voice: mask.astype(np.float32) for voice in VOICES[1:]}}
    return inputs, targets, weights


def _random_shift(chunk: np.ndarray, ranges: np.ndarray, max_transpose: int, rng: np.random.Generator) -> int:
    low, high = -max_transpose, max_transpose
    for v in range(chunk.shape[1]):
        notes = chunk[:, v][chunk[:, v] >= 2]
        if len(notes):
            low = max(low, int(ranges[v, 0] - notes.min()))
            high = min(high, int(ranges[v, 1] - notes.max()))
    return int(rng.integers(low, high + 1)) if low <= high else 0


# ------------------------------------------------------------------------ model


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -x)



#: The compiled calls of :class:`SatbNet` and of the orderless network, as TensorFlow's
#: retracing notice names them ("calls to <function SatbNet._calls.<locals>...",
#: "calls to <bound method SatbNet._transformer_step of ...").
_OUR_COMPILED_CALLS = re.compile(r"calls to <(function|bound method) (SatbNet|SatbOrderless)\.")


class _RetracingNotice(logging.Filter):
    """Drops TensorFlow's notice that one of these networks' compiled calls was traced
    again for new shapes, and only that notice.

    :class:`SatbNet` traces each compiled call once per padded width (multiples of 128
    when scoring, of 32 when sampling) and batch size, by design, so the notice tells a
    user nothing they could act on. The notice about any other function, and every
    other TensorFlow message, passes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and _OUR_COMPILED_CALLS.search(message))


def _quiet_retracing(logger: logging.Logger) -> None:
    """Add :class:`_RetracingNotice` to ``logger`` once."""
    if not any(isinstance(f, _RetracingNotice) for f in logger.filters):
        logger.addFilter(_RetracingNotice())

class SatbNet:
    """A frame-wise joint network with the interface the ``satb_*`` kinds share.

    Parameters
    ----------
    settings : SatbNetSettings
    """

    def __init__(self, settings: SatbNetSettings | None = None):
        self.settings = settings or SatbNetSettings()
        self.model, self.condition, self.core, self.heads, self._layers = build_satb_net(self.settings)
        self._compiled: dict[str, Callable] = {}

    @property
    def fermatas(self) -> bool:
        return self.settings.fermatas

    def __repr__(self) -> str:
        return f"SatbNet(trunk={self.settings.trunk!r}, units={self.settings.units}, n_layers={self.settings.n_layers})"

    # --------------------------------------------------------------- scoring

    def log_probs(self, chorales: Sequence[SatbSteps], *, given_soprano: bool = False,
                  batch_size: int = 16) -> list[np.ndarray]:
        """Per chorale, ``(n_steps, 5)`` natural-log probabilities of its fermata flag and
        S, A, T, B values, each given what comes before it (see the module docstring).

        With ``given_soprano`` the soprano and fermatas of the whole chorale are the
        condition and their columns are 0.
        """
        order = np.argsort([c.n_steps for c in chorales], kind="stable")
        out: list[np.ndarray | None] = [None] * len(chorales)
        for begin in range(0, len(order), batch_size):
            rows = order[begin : begin + batch_size]
            # Whole batches of widths in steps of 128: a handful of shapes, so the compiled
            # call is traced a few times, not once per batch (empty rows pad the last batch).
            empty = SatbSteps(np.zeros((0, len(VOICES)), np.int64), np.zeros(0, np.int64), np.zeros(0, bool))
            batch = [chorales[i] for i in rows] + [empty] * (batch_size - len(rows))
            width = _SCORE_WIDTH * max(1, math.ceil(max(c.n_steps for c in batch) / _SCORE_WIDTH))
            inputs, mask = padded_inputs(batch, condition_on=given_soprano, width=width)
            logits = self._calls()["model"](inputs)
            table = self._gather(logits, inputs["current"], inputs["fermata"])
            if given_soprano:
                table[:, :, :2] = 0.0
            if not self.settings.fermatas:
                table[:, :, 0] = 0.0
            for k, i in enumerate(rows):
                out[i] = table[k, : chorales[i].n_steps]
        return out  # type: ignore[return-value]

    @staticmethod
    def _gather(logits: Mapping[str, Any], current: np.ndarray, fermata: np.ndarray) -> np.ndarray:
        f = np.asarray(logits["fermata"])[..., 0].astype(np.float64)
        table = [np.where(fermata > 0, _log_sigmoid(f), _log_sigmoid(-f))]
        for v, voice in enumerate(VOICES):
            lp = _log_softmax(np.asarray(logits[voice]).astype(np.float64))
            table.append(np.take_along_axis(lp, current[:, :, v][..., None].astype(np.int64), axis=-1)[..., 0])
        return np.stack(table, axis=-1)

    # -------------------------------------------------------------- sampling

    def _calls(self) -> dict[str, Callable]:
        """Compiled calls (eager Keras runs a recurrent layer's loop step by step in Python)."""
        if not self._compiled:
            import tensorflow as tf

            _quiet_retracing(tf.get_logger())

            def call(network):
                return tf.function(lambda x: network(x, training=False), reduce_retracing=True)

            self._compiled = {"model": call(self.model), "condition": call(self.condition), "core": call(self.core),
                              "heads": call(self.heads), "step": tf.function(self._recurrent_step),
                              "attend": tf.function(self._transformer_step, reduce_retracing=True)}
        return self._compiled

    def _recurrent_step(self, previous, prev_sounding, prev_fermata, position, condition, states):
        """One step of a recurrent trunk through its layers' cells: ``(state, states)``."""
        x = _step_inputs(previous, prev_sounding, prev_fermata, position, condition, self.settings, self._layers)
        new_states = []
        for index in range(self.settings.n_layers):
            cell = self._layers.made[f"{self.settings.trunk}_{index + 1}"].cell
            x, carried = cell(x, states[index], training=False)
            new_states.append(carried)
        return x, new_states

    def _transformer_step(self, previous, prev_sounding, prev_fermata, position, condition, caches, seen):
        """One step of the Transformer trunk through each block's key/value cache:
        ``(state, caches)``; ``seen`` is the number of steps before this one."""
        x = _step_inputs(previous, prev_sounding, prev_fermata, position, condition, self.settings, self._layers)
        x = self._layers.made["trunk_in"](x)
        new_caches = []
        for index in range(self.settings.n_layers):
            keys, values = caches[index]
            x, keys, values = self._layers.made[f"block_{index + 1}"].step(x, keys, values, seen)
            new_caches.append((keys, values))
        return self._layers.made["final_norm"](x), new_caches

    def _empty_caches(self, n: int, capacity: int) -> list:
        import tensorflow as tf

        head_dim = self.settings.units // self.settings.num_heads
        shape = (n, self.settings.num_heads, capacity, head_dim)
        return [(tf.zeros(shape), tf.zeros(shape)) for _ in range(self.settings.n_layers)]

    def _receptive_field(self) -> int:
        """Steps back a WaveNet trunk's state at a step reads, that step included."""
        return 1 + sum(self.settings.dilations)

    def _initial_states(self, n: int) -> list:
        import tensorflow as tf

        width = self.settings.units
        count = 2 if self.settings.trunk == "lstm" else 1
        return [[tf.zeros((n, width)) for _ in range(count)] for _ in range(self.settings.n_layers)]

    def sample(self, positions: Sequence[np.ndarray], *, soprano: Sequence[np.ndarray] | None = None,
               fermata: Sequence[np.ndarray] | None = None, temperature: float = 1.0, seed: int = 0,
               top_k: int | None = None, cached: bool = True) -> list[SatbSteps]:
        """Write one chorale per ``positions`` array, step by step, S to B within a step.

        A recurrent trunk steps through its cells and a Transformer through its blocks'
        key/value caches (one step's work per step); a WaveNet reads the window of its
        receptive field before each step. All give the states of a full pass
        (``tests/test_satb_net.py``).

        Parameters
        ----------
        positions : sequence of np.ndarray
            Each chorale's bar positions; its length is the chorale's.
        soprano : sequence of np.ndarray, optional
            Value ids to force as the soprano (harmonizing; the condition path reads
            them whole, so every step knows the melody's future).
        fermata : sequence of np.ndarray, optional
            Fermata flags to force (default with a soprano: none).
        temperature : float
            Divides the logits; 0 takes the most probable value (greedy).
        seed : int
        top_k : int, optional
            Sample among the ``top_k`` most probable values only.
        cached : bool
            False: a Transformer or WaveNet reads the whole prefix again at each step
            instead of its caches or its receptive field (slower; the tests compare them).
        """
        n = len(positions)
        lengths = np.array([len(p) for p in positions], dtype=np.int64)
        width = int(lengths.max()) if n else 0
        given = soprano is not None
        values = np.full((n, width, len(VOICES)), REST_ID, dtype=np.int32)
        sounding = np.full((n, width, len(VOICES)), REST_ID, dtype=np.int32)
        position = np.zeros((n, width), dtype=np.int32)
        flags = np.zeros((n, width), dtype=np.float32)
        mask = np.zeros((n, width), dtype=bool)
        for row, p in enumerate(positions):
            position[row, : len(p)] = p
            mask[row, : len(p)] = True
            if given:
                values[row, : len(p), 0] = np.asarray(soprano[row])[: len(p)]
            if fermata is not None:
                flags[row, : len(p)] = np.asarray(fermata[row], dtype=np.float32)[: len(p)]
        calls = self._calls()
        melody = _inputs(values, position, flags, mask, given)
        condition = np.asarray(calls["condition"]([melody[k] for k in (
            "soprano", "soprano_sounding", "given_fermata", "position", "condition_on", "length")]))
        recurrent = self.settings.trunk in ("lstm", "gru")
        states = self._initial_states(n) if recurrent else None
        attending = self.settings.trunk == "transformer" and cached
        # The cache holds every step written so far, so a step attends to all of them, as the full pass does.
        caches = self._empty_caches(n, 32 * max(1, math.ceil(width / 32))) if attending else None
        field = self._receptive_field() if self.settings.trunk == "wavenet" and cached else None
        rng = np.random.default_rng(seed)
        previous = np.full((n, len(VOICES)), REST_ID, dtype=np.int32)
        heard = np.full((n, len(VOICES)), REST_ID, dtype=np.int32)
        prev_flag = np.zeros(n, dtype=np.float32)
        for t in range(width):
            if recurrent:
                state, states = calls["step"](previous, heard, prev_flag, position[:, t], condition[:, t], states)
                state = np.asarray(state)[:, None]
            elif attending:
                state, caches = calls["attend"](previous, heard, prev_flag, position[:, t], condition[:, t], caches,
                                                np.int32(t))
                state = np.asarray(state)[:, None]
            else:
                # The steps the state at t reads, padded to a multiple of 32 (a few traced
                # shapes): the whole prefix, or for a WaveNet only its receptive field (a
                # causal convolution's output at t reads no further back, so a window that
                # starts there gives the same state). What stands after t does not reach it.
                first = 0 if field is None else max(0, t + 1 - field)
                w = min(width, first + 32 * math.ceil((t + 1 - first) / 32))
                before = (np.full((n, 1, len(VOICES)), REST_ID, np.int32) if first == 0 else values[:, first - 1 : first])
                heard_before = (np.full((n, 1, len(VOICES)), REST_ID, np.int32) if first == 0
                                else sounding[:, first - 1 : first])
                flag_before = np.zeros((n, 1), np.float32) if first == 0 else flags[:, first - 1 : first]
                prev_values = np.concatenate([before, values[:, first : w - 1]], axis=1)
                prev_heard = np.concatenate([heard_before, sounding[:, first : w - 1]], axis=1)
                prev_flags = np.concatenate([flag_before, flags[:, first : w - 1]], axis=1)
                state = np.asarray(calls["core"]([prev_values, prev_heard, prev_flags, position[:, first:w],
                                                  condition[:, first:w]]))[:, t - first : t - first + 1]
            step_values = values[:, t : t + 1].copy()
            step_heard = np.full((n, 1, len(VOICES)), REST_ID, dtype=np.int32)
            step_flag = flags[:, t : t + 1].copy()
            if self.settings.fermatas and fermata is None and not given:
                logit = np.asarray(calls["heads"]([state, step_flag, step_values, step_heard])["fermata"])[:, 0, 0]
                step_flag[:, 0] = self._pick_binary(logit, temperature, rng)
            for v, voice in enumerate(VOICES):
                if not (v == 0 and given):
                    logits = np.asarray(calls["heads"]([state, step_flag, step_values, step_heard])[voice])[:, 0]
                    logits = logits.astype(np.float64)
                    logits[:, HOLD_ID] = np.where(heard[:, v] != REST_ID, logits[:, HOLD_ID], -np.inf)
                    step_values[:, 0, v] = self._pick(logits, temperature, top_k, rng)
                chosen = step_values[:, 0, v]
                step_heard[:, 0, v] = np.where(chosen == HOLD_ID, heard[:, v], chosen)
            values[:, t], sounding[:, t], flags[:, t] = step_values[:, 0], step_heard[:, 0], step_flag[:, 0]
            previous, heard, prev_flag = step_values[:, 0], step_heard[:, 0], step_flag[:, 0]
        return [SatbSteps(values[row, : lengths[row]].astype(np.int64), np.asarray(positions[row], dtype=np.int64),
                          flags[row, : lengths[row]] > 0) for row in range(n)]

    @staticmethod
    def _pick(logits: np.ndarray, temperature: float, top_k: int | None, rng: np.random.Generator) -> np.ndarray:
        if temperature <= 0:
            return logits.argmax(axis=-1)
        scaled = logits / temperature
        if top_k is not None:
            kth = np.sort(scaled, axis=-1)[:, -int(top_k)][:, None]
            scaled = np.where(scaled >= kth, scaled, -np.inf)
        probs = np.exp(_log_softmax(scaled))
        cumulative = probs.cumsum(axis=-1)
        draws = rng.random((len(probs), 1)) * cumulative[:, -1:]
        return np.minimum((cumulative < draws).sum(axis=-1), probs.shape[-1] - 1)

    @staticmethod
    def _pick_binary(logit: np.ndarray, temperature: float, rng: np.random.Generator) -> np.ndarray:
        if temperature <= 0:
            return (logit > 0).astype(np.float32)
        return (rng.random(len(logit)) < 1 / (1 + np.exp(-logit / temperature))).astype(np.float32)

    # --------------------------------------------------------------- training

    #: The validation score :func:`train_satb_net` keeps the best epoch by.
    selection_key = "bits_per_note"

    def loss_functions(self) -> dict[str, Any]:
        """The losses :func:`train_satb_net` compiles, one per output."""
        return {"fermata": keras.losses.BinaryCrossentropy(from_logits=True),
                **{voice: keras.losses.SparseCategoricalCrossentropy(from_logits=True) for voice in VOICES}}

    def training_batch(self, train: Sequence[SatbSteps], ranges: np.ndarray, rng: np.random.Generator,
                       n_crops: int) -> tuple[dict, dict, dict]:
        """An epoch's training crops (:func:`crop_batch`)."""
        return crop_batch(train, ranges, self.settings, rng, n_crops)

    def validation_scores(self, chorales: Sequence[SatbSteps]) -> dict[str, float]:
        """Validation numbers: bits per note over all four voices (fermatas paid), nats per
        voice-token, and bits per alto, tenor and bass note given the soprano."""
        free = self.log_probs(chorales)
        given = self.log_probs(chorales, given_soprano=True)
        n_notes = sum(int((c.values >= 2).sum()) for c in chorales)
        lower_notes = sum(int((c.values[:, 1:] >= 2).sum()) for c in chorales)
        n_steps = sum(c.n_steps for c in chorales)
        return {"bits_per_note": -sum(t.sum() for t in free) / math.log(2) / max(n_notes, 1),
                "nats_per_voice_token": -sum(t[:, 1:].sum() for t in free) / (len(VOICES) * max(n_steps, 1)),
                "atb_bits_per_note": -sum(t.sum() for t in given) / math.log(2) / max(lower_notes, 1)}

    @staticmethod
    def describe_scores(scores: Mapping[str, float]) -> str:
        """One progress line's account of :meth:`validation_scores`."""
        return (f"validation {scores['bits_per_note']:.3f} bits/note, {scores['nats_per_voice_token']:.4f} "
                f"nats/voice-token, A/T/B given S {scores['atb_bits_per_note']:.3f} bits/note")

    # ------------------------------------------------------------------ files

    #: The settings file, its class and what a folder without it is not (the orderless
    #: network reuses :meth:`save` and :meth:`load` with its own).
    settings_file: str = _SETTINGS
    settings_class: type = SatbNetSettings
    folder_kind: str = "a frame-wise joint network folder"

    def save(self, folder: str | os.PathLike) -> list[str]:
        """Write the settings (JSON) and the weights (HDF5); no pickle."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_weights(folder / _WEIGHTS)
        (folder / self.settings_file).write_text(json.dumps(self.settings.to_dict(), indent=2) + "\n",
                                                 encoding="utf-8")
        return [self.settings_file, _WEIGHTS]

    @classmethod
    def load(cls, folder: str | os.PathLike):
        """The network :meth:`save` wrote into ``folder``."""
        folder = Path(folder)
        settings_file = folder / cls.settings_file
        if not settings_file.is_file():
            raise FileNotFoundError(f"{folder}: no {cls.settings_file}; not {cls.folder_kind}")
        net = cls(cls.settings_class.from_dict(json.loads(settings_file.read_text(encoding="utf-8"))))
        net.model.load_weights(folder / _WEIGHTS)
        return net


# --------------------------------------------------------------------- training


def _save_optimizer(optimizer, path: Path) -> None:
    np.savez(path, *[np.asarray(v) for v in optimizer.variables])


def _load_optimizer(optimizer, model, path: Path) -> None:
    optimizer.build(model.trainable_variables)
    with np.load(path) as arrays:
        stored = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
    if len(stored) != len(optimizer.variables):
        raise ValueError(f"{path}: {len(stored)} optimizer arrays, the optimizer has {len(optimizer.variables)}")
    for variable, value in zip(optimizer.variables, stored, strict=True):
        variable.assign(value)


def train_satb_net(settings: Any, train: Sequence[SatbSteps], validation: Sequence[SatbSteps], *,
                   run_dir: str | os.PathLike, cpu_minutes: float | None = None, wall_minutes: float | None = None,
                   max_epochs: int | None = None, seed: int = 0, progress: bool = True,
                   net_class: type | None = None) -> tuple[Any, dict]:
    """Train for a budget, checkpointing every epoch into ``run_dir`` and resuming from it.

    Parameters
    ----------
    settings : SatbNetSettings
        Or the settings of ``net_class``.
    train, validation : sequence of SatbSteps
    run_dir : path-like
        Holds ``last/`` (weights and optimizer after the last epoch), ``best/`` (the
        best validation epoch's network) and ``run.json`` (settings, the curve, the CPU
        and wall-clock seconds spent so far). A folder with a ``run.json`` of the same
        settings is resumed; one of other settings is refused.
    cpu_minutes, wall_minutes : float, optional
        Stop after the epoch that passes either budget, counted over all resumed runs
        (CPU: this process's CPU time, all threads, so a shared machine costs wall time
        only). At least one budget or ``max_epochs`` is required.
    max_epochs : int, optional
    seed : int
        Epoch ``k``'s crops are drawn with ``seed + k``, so a resumed run draws what an
        uninterrupted one would.
    progress : bool
        Keras' progress bar per epoch and one line per epoch.
    net_class : type, optional
        The network class (default :class:`SatbNet`; the orderless network of
        :mod:`musicalpy.models.satb_orderless` trains here too): built from ``settings``,
        with ``model``, ``loss_functions()``, ``training_batch(...)``,
        ``validation_scores(...)``, ``selection_key``, ``describe_scores(...)``, ``save``
        and ``load``.

    Returns
    -------
    (network, dict)
        The best validation epoch's network and the run record (``run.json``).
    """
    if cpu_minutes is None and wall_minutes is None and max_epochs is None:
        raise ValueError("give a budget: cpu_minutes, wall_minutes or max_epochs")
    if not train or not validation:
        raise ValueError("train_satb_net needs training and validation chorales")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    record_file = run_dir / "run.json"
    record = {"settings": settings.to_dict(), "history": [], "cpu_s": 0.0, "wall_s": 0.0, "best_epoch": None,
              "learning_rate": settings.learning_rate, "seed": seed}
    stored = json.loads(record_file.read_text(encoding="utf-8")) if record_file.is_file() else None
    if stored is not None and stored["settings"] != record["settings"]:  # refused before building anything
        raise ValueError(f"{run_dir} holds a run of other settings; choose another run folder")
    net_class = SatbNet if net_class is None else net_class
    net = net_class(settings)
    optimizer = keras.optimizers.Adam(settings.learning_rate, clipnorm=settings.clipnorm)
    if stored is not None:
        record = stored
        net.model.load_weights(run_dir / "last" / _WEIGHTS)
        _load_optimizer(optimizer, net.model, run_dir / "last" / "optimizer.npz")
        optimizer.learning_rate.assign(record["learning_rate"])
        if progress:
            print(f"resuming {run_dir} after epoch {len(record['history'])} "
                  f"({record['cpu_s'] / 60:.1f} CPU min, {record['wall_s'] / 60:.1f} wall min)", flush=True)
    net.model.compile(optimizer=optimizer, loss=net.loss_functions())
    key = net.selection_key
    ranges = voice_ranges(train)
    n_batches = max(1, settings.crops_per_epoch // settings.batch_size)

    def spent() -> bool:
        return ((cpu_minutes is not None and record["cpu_s"] >= 60 * cpu_minutes)
                or (wall_minutes is not None and record["wall_s"] >= 60 * wall_minutes)
                or (max_epochs is not None and len(record["history"]) >= max_epochs))

    while not spent():
        epoch = len(record["history"]) + 1
        cpu0, wall0 = time.process_time(), time.perf_counter()
        rng = np.random.default_rng(seed + epoch)
        inputs, targets, weights = net.training_batch(train, ranges, rng, n_batches * settings.batch_size)
        fitted = net.model.fit(inputs, targets, sample_weight=weights, batch_size=settings.batch_size, epochs=1,
                               shuffle=False, verbose=2 if progress else 0)
        scores = net.validation_scores(validation)
        record["cpu_s"] += time.process_time() - cpu0
        record["wall_s"] += time.perf_counter() - wall0
        best = record["best_epoch"]
        improved = best is None or scores[key] < record["history"][best - 1][key]
        record["history"].append({"epoch": epoch, "cpu_s": round(record["cpu_s"], 1),
                                  "wall_s": round(record["wall_s"], 1), "train_loss": float(fitted.history["loss"][-1]),
                                  "learning_rate": float(record["learning_rate"]),
                                  **{k: round(float(v), 5) for k, v in scores.items()}})
        if improved:
            record["best_epoch"] = epoch
            net.save(run_dir / "best")
        elif epoch - record["best_epoch"] >= settings.patience and (epoch - record["best_epoch"]) % settings.patience == 0:
            record["learning_rate"] = float(record["learning_rate"]) / 2
            optimizer.learning_rate.assign(record["learning_rate"])
        net.save(run_dir / "last")
        _save_optimizer(optimizer, run_dir / "last" / "optimizer.npz")
        record_file.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        if progress:
            print(f"epoch {epoch}: {net.describe_scores(scores)}; "
                  f"{record['cpu_s'] / 60:.1f} CPU min, {record['wall_s'] / 60:.1f} wall min"
                  f"{' (best)' if improved else ''}", flush=True)
    if record["best_epoch"] == len(record["history"]):
        # The network at hand holds the weights just written to best/ (and its compiled
        # calls are traced already): reading them back would rebuild it for nothing.
        return net, record
    return net_class.load(run_dir / "best"), record
