"""Joint chorale families: one network writes Soprano, Alto, Tenor and Bass together.

The per-voice token kinds (:mod:`.token`) sample each voice on its own, so the voices
start and stop at unrelated moments and clash. These kinds model the four-voice grid of
:mod:`musicalpy.representations.chorale_grid` (sixteenth steps, hold vs repeat, a frame
token per step with its bar position and fermata), written time-major ``frame S A T
B``, so every note is predicted knowing the voices above it at that instant and
everything before.

Harmonizing a melody
--------------------
Every network has a second input, the **condition**: at each token position the frame
and soprano ids of that token's step, read **whole** by a bidirectional LSTM
(:func:`musicalpy.models.lstm.condition_encoding`) whose output is added to the token
embedding. The encoder sees the whole melody, its future included (a harmonization
that does not know where the melody goes cannot prepare a cadence). In training, the
condition of a share ``masked_share`` of the pieces is masked (all ids 0, which the
encoder turns into exactly zero), so the same network also generates unconditioned
chorales, and a chorale's unconditioned bits per note are its score on the leaderboard.
To harmonize, the frame and soprano tokens are **forced** in the engine's compiled loop
(:func:`musicalpy.models.engine.sample_ids` with ``forced`` and ``condition``) and the
alto, tenor and bass are sampled (or taken greedily). Why this design: it reuses the
one sampler, trainer and scorer of the token engine; a forced soprano keeps the melody
exactly; and the bidirectional encoder gives the causal stream what an infilling model
(Coconet, DeepBach) gets from Gibbs sampling, the future of the melody, at the cost of
one encoder pass per melody.

Training is on whole chorales (about 1,100 tokens; batches of similar length padded,
PAD targets ignored), transposed by up to ``max_transpose`` semitones, with dropout and
early stopping on the validation loss (the one :func:`musicalpy.models.engine.train_model`).

A third joint kind is one settings subclass whose ``build`` returns a network with the
inputs ``tokens`` and ``condition`` (a layer named
:data:`musicalpy.models.engine.CONDITION_ENCODING` added through ``condition_add``),
its stepper registered with :func:`musicalpy.models.engine.register_stepper`, and one
:class:`JointFamily` subclass with ``kind`` and ``settings_class``.

Model folder: ``model.keras`` and ``vocabulary.json`` (the fixed grid vocabulary).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np
import pandas as pd

from .._config import check_int
from ..midi import DEFAULT_TEMPO
from ..names import VOICES
from .base import Budget, Family, Settings, Trained, concat_notes
from .token import TokenNetwork, TokenNetworkFamily

__all__ = ["JointSettings", "LSTMJointSettings", "WaveNetJointSettings", "TransformerJointSettings", "JointData",
           "JointFamily", "LSTMJointFamily", "WaveNetJointFamily", "TransformerJointFamily", "chorale_ids", "condition_of", "joint_datasets", "fit_joint"]

#: Slots of a voice in the time-major stream (``token_roles``): 1 S, 2 A, 3 T, 4 B.
_LOWER_VOICES = (2, 3, 4)


@dataclasses.dataclass(frozen=True)
class JointSettings(Settings):
    """Data and training budget shared by the joint kinds.

    Attributes
    ----------
    batch_size : int
        Whole chorales per batch.
    epochs : int
        At most this many epochs (early stopping on validation loss).
    steps_per_epoch : int or None
        Batches per epoch (None: one pass over the training chorales).
    patience : int
    max_transpose : int
        Each training chorale is moved by a random -max..+max semitones per pass.
    masked_share : float
        Share of training chorales whose condition (the soprano) is masked, so the
        network also learns to write all four voices unconditioned.
    condition_units : int
        LSTM units per direction of the condition encoder.
    dropout : float
    seed : int
    tempo : float
        Quarter notes per minute when generated grids are turned into seconds.
    time_budget_s : float or None
        Wall-clock seconds after which training stops whatever epochs remain
        (:class:`musicalpy.models.engine.WallClockBudget`): the equal-time comparison
        of notebook 06. None: the epochs alone.
    crop_tokens : int or None
        Train on a random window of at most this many fed tokens of each chorale
        (starting at START or at a step's frame token, its condition cut to match)
        instead of the whole chorale, so a batch costs a bounded amount whatever the
        longest chorale; validation stays on whole chorales. None: whole chorales.
        Meant for attention, whose cost grows with the square of the length; not yet
        measured in a full run.
    """

    batch_size: int = 8
    epochs: int = 12
    steps_per_epoch: int | None = None
    patience: int = 3
    max_transpose: int = 5
    masked_share: float = 0.5
    condition_units: int = 64
    dropout: float = 0.2
    seed: int = 42
    tempo: float = DEFAULT_TEMPO
    time_budget_s: float | None = None
    crop_tokens: int | None = None

    def build(self, vocab_size: int):  # pragma: no cover - every concrete kind overrides it
        raise NotImplementedError(f"{type(self).__name__} does not say which network to build")


@dataclasses.dataclass(frozen=True)
class LSTMJointSettings(JointSettings):
    """The joint LSTM (:func:`musicalpy.models.lstm.build_joint_lstm`)."""

    kind: ClassVar[str] = "lstm_joint"
    # 100 batches of 8 whole chorales (about 2.7 passes over the training split), early
    # stopping on validation. A batch costs about 1 s on 2 quiet CPU cores (the full run of
    # 2026-12-02) but 10-19 s at load 10-14 (2026-12-01): the seconds below are for a quiet
    # machine, which notebook 03 and the full run assume.
    epochs: int = 5
    steps_per_epoch: int | None = 20
    #: Wall-clock seconds of that budget, measured on 2 quiet cores (91.6 s in notebook 03
    #: of the full run of 2026-12-02; a fallback for
    #: comparisons "at the joint LSTM's training time" when no trained joint LSTM is at hand).
    MEASURED_SECONDS: ClassVar[float] = 92.0
    SMOKE: ClassVar[Mapping[str, Any]] = {"embedding_dim": 16, "units": (24,), "condition_units": 8, "epochs": 1,
                                          "steps_per_epoch": 3, "patience": 1, "batch_size": 4}
    embedding_dim: int = 96
    units: tuple[int, ...] = (192,)

    def build(self, vocab_size: int):
        """The compiled joint LSTM."""
        from ..models import lstm

        return lstm.build_joint_lstm(vocab_size, embedding_dim=self.embedding_dim, units=tuple(self.units),
                                     condition_units=self.condition_units, dropout=self.dropout)


@dataclasses.dataclass(frozen=True)
class WaveNetJointSettings(JointSettings):
    """The joint WaveNet (:func:`musicalpy.models.wavenet.build_joint_wavenet`); the
    default dilations give 255 tokens of receptive field, 3.2 bars of 4/4 over all
    four voices (two bars are 160 tokens at 5 tokens per sixteenth)."""

    kind: ClassVar[str] = "wavenet_joint"
    # The measured full budget: 10 epochs of 38 batches (about one pass each), 407 s at low load.
    epochs: int = 10
    steps_per_epoch: int | None = 38
    SMOKE: ClassVar[Mapping[str, Any]] = {"channels": 16, "dilations": (1, 2, 4, 8, 16, 32, 64), "condition_units": 8,
                                          "epochs": 1, "steps_per_epoch": 3, "patience": 1, "batch_size": 4}
    channels: int = 64
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 1, 2, 4, 8, 16, 32, 64)
    dropout: float = 0.1

    def build(self, vocab_size: int):
        """The compiled joint WaveNet."""
        from ..models import wavenet

        return wavenet.build_joint_wavenet(vocab_size, channels=self.channels, dilations=tuple(self.dilations),
                                           condition_units=self.condition_units, dropout=self.dropout)


@dataclasses.dataclass(frozen=True)
class TransformerJointSettings(JointSettings):
    """The joint Transformer (:func:`musicalpy.models.transformer.build_joint_transformer`):
    relative attention over the grid stream, the joint LSTM's condition encoder.

    Attributes
    ----------
    dim, num_layers, num_heads, ff_dim, max_distance, max_length, learning_rate
        See :func:`~musicalpy.models.transformer.build_joint_transformer`.
    """

    kind: ClassVar[str] = "transformer_joint"
    SMOKE: ClassVar[Mapping[str, Any]] = {"dim": 16, "num_layers": 1, "num_heads": 2, "max_distance": 32,
                                          "condition_units": 8, "epochs": 1, "steps_per_epoch": 3, "patience": 1,
                                          "batch_size": 4}
    # A batch of 8 whole chorales costs about 5 s on 2 quiet cores (the full run of
    # 2026-12-02; 5-30 s, and 89 s for the batch holding the 3,862-token chorale, at load
    # 7), several joint LSTM batches: attention over a whole chorale is quadratic in its
    # length. This default (20 batches) is a short run; notebook 06 trains it instead for
    # exactly the joint LSTM's measured seconds (time_budget_s).
    epochs: int = 2
    steps_per_epoch: int | None = 10
    patience: int = 2
    dim: int = 64
    num_layers: int = 2
    num_heads: int = 4
    ff_dim: int | None = None
    max_distance: int = 256
    max_length: int = 4096
    learning_rate: float = 1e-3
    dropout: float = 0.1

    def build(self, vocab_size: int):
        """The compiled joint Transformer."""
        from ..models import transformer

        return transformer.build_joint_transformer(
            vocab_size, dim=self.dim, num_layers=self.num_layers, num_heads=self.num_heads, ff_dim=self.ff_dim,
            dropout=self.dropout, max_distance=self.max_distance, max_length=self.max_length,
            condition_units=self.condition_units, learning_rate=self.learning_rate)


# ---------------------------------------------------------------------------- data


def chorale_ids(notes: pd.DataFrame, pieces: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
    """Every piece as grid ids framed by START and END.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of four-voice pieces (other parts are left out).
    pieces : pd.DataFrame, optional
        The corpus's pieces table, for tables without ``bar_start`` (see
        :func:`musicalpy.representations.chorale_grid.encode_chorales`).

    Returns
    -------
    dict of piece to np.ndarray, shape=(5 * n_steps + 2,), dtype=int64
    """
    from ..representations.chorale_grid import (
        chorale_grid_vocabulary,
        encode_chorales,
        grid_to_tokens,
    )

    vocabulary = chorale_grid_vocabulary()
    return {piece: vocabulary.encode(grid_to_tokens(grid), add_start_end=True)
            for piece, grid in encode_chorales(notes, pieces).items() if grid.n_steps}


def condition_of(ids: np.ndarray) -> np.ndarray:
    """The condition input of a framed grid sequence: at every fed position ``j`` (the
    model reads id ``j`` and predicts id ``j + 1``), the frame and soprano ids of the
    step id ``j + 1`` belongs to; zeros where that is END.

    Only the frame and soprano slots are read, so a melody's ids with anything in the
    lower voices give its condition.

    Parameters
    ----------
    ids : np.ndarray, shape=(n,)
        START, ``5 * n_steps`` grid ids, END.

    Returns
    -------
    np.ndarray, shape=(n - 1, 2), dtype=int64
    """
    from ..representations.chorale_grid import TOKENS_PER_STEP

    ids = np.asarray(ids, dtype=np.int64)
    n_steps = (len(ids) - 2) // TOKENS_PER_STEP
    step = np.arange(len(ids) - 1) // TOKENS_PER_STEP
    frames = ids[1 + TOKENS_PER_STEP * np.arange(n_steps)]
    soprano = ids[2 + TOKENS_PER_STEP * np.arange(n_steps)]
    inside = step < n_steps
    out = np.zeros((len(ids) - 1, 2), dtype=np.int64)
    out[inside, 0] = frames[step[inside]]
    out[inside, 1] = soprano[step[inside]]
    return out


class JointData(NamedTuple):
    """What :func:`joint_datasets` gives: the tf.data batches and the ids behind them."""

    train: Any
    validation: Any
    sequences: dict[str, dict[str, np.ndarray]]


def _padded_batch(rows: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """``((inputs, condition), targets)`` of one batch, right-padded with PAD (0)."""
    longest = max(len(ids) for ids, _ in rows) - 1
    inputs = np.zeros((len(rows), longest), dtype=np.int32)
    targets = np.zeros((len(rows), longest), dtype=np.int32)
    conditions = np.zeros((len(rows), longest, 2), dtype=np.int32)
    for row, (ids, condition) in enumerate(rows):
        inputs[row, : len(ids) - 1] = ids[:-1]
        targets[row, : len(ids) - 1] = ids[1:]
        conditions[row, : len(ids) - 1] = condition
    return (inputs, conditions), targets


def _crop(ids: np.ndarray, condition: np.ndarray, crop_tokens: int | None,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random window of at most ``crop_tokens`` fed tokens of one chorale (and the
    target after the last), starting at START or at a frame token; the whole chorale
    when it is short enough or ``crop_tokens`` is None."""
    from ..representations.chorale_grid import TOKENS_PER_STEP

    if crop_tokens is None or len(ids) - 1 <= crop_tokens:
        return ids, condition
    starts = np.concatenate([[0], np.arange(1, len(ids) - 1 - crop_tokens + 1, TOKENS_PER_STEP)])
    start = int(rng.choice(starts))
    return ids[start : start + crop_tokens + 1], condition[start : start + crop_tokens]


def _dataset(make_batches: Callable[[], Any]):
    import tensorflow as tf

    spec = ((tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, None, 2), tf.int32)),
            tf.TensorSpec((None, None), tf.int32))
    return tf.data.Dataset.from_generator(make_batches, output_signature=spec)


def joint_datasets(corpus: Any, settings: JointSettings) -> JointData:
    """Training and validation batches of whole chorales for joint settings.

    Training: every pass shuffles the chorales, groups similar lengths into batches of
    ``batch_size`` (less padding), moves each chorale by a random transposition within
    ``max_transpose`` semitones (kept only when every pitch stays in 0-127), masks
    the condition of each chorale with probability ``masked_share`` and, with
    ``crop_tokens``, cuts a random window of each. Validation: no
    transposition, the condition masked on every other chorale (the same ones every
    epoch), so the validation loss weighs generating and harmonizing alike.

    Returns
    -------
    JointData
        ``train`` and ``validation`` yield ``((ids, condition), next ids)`` of shapes
        ``(batch, time)``, ``(batch, time, 2)``, ``(batch, time)``; ``sequences`` the ids
        of the ``"train"`` and ``"validation"`` splits.
    """
    from ..representations.chorale_grid import TOKENS_PER_STEP, chorale_grid_vocabulary
    from ..representations.tokens import transposition_table

    if settings.crop_tokens is not None:  # at least one grid step
        check_int("crop_tokens", settings.crop_tokens, minimum=TOKENS_PER_STEP)
    sequences = {name: chorale_ids(corpus.split(name).notes, corpus.pieces) for name in ("train", "validation")}
    if not sequences["train"] or not sequences["validation"]:
        raise ValueError("joint models need four-voice chorales in the train and validation splits; "
                         f"got {len(sequences['train'])} and {len(sequences['validation'])}")
    table = transposition_table(chorale_grid_vocabulary(), "chorale_grid", settings.max_transpose)
    rng = np.random.default_rng(settings.seed)
    train = list(sequences["train"].values())
    size = settings.batch_size

    def train_batches():
        order = rng.permutation(len(train))
        # Buckets of 8 batches sorted by length, then the batches shuffled.
        batches = []
        for start in range(0, len(order), 8 * size):
            bucket = sorted(order[start : start + 8 * size], key=lambda i: len(train[i]))
            batches.extend(bucket[b : b + size] for b in range(0, len(bucket), size))
        for index in rng.permutation(len(batches)):
            rows = []
            for piece in batches[index]:
                ids = table[settings.max_transpose + rng.integers(-settings.max_transpose, settings.max_transpose + 1)][train[piece]]
                ids = train[piece] if (ids < 0).any() else ids.astype(np.int64)
                condition = condition_of(ids)
                if rng.random() < settings.masked_share:
                    condition[:] = 0
                rows.append(_crop(ids, condition, settings.crop_tokens, rng))
            yield _padded_batch(rows)

    validation = sorted(sequences["validation"].values(), key=len)
    fixed = [_padded_batch([(ids, condition_of(ids) * ((start + k) % 2)) for k, ids in enumerate(validation[start : start + size])])
             for start in range(0, len(validation), size)]
    import tensorflow as tf

    # The validation batches are fixed: saying how many lets Keras end each validation
    # pass by count instead of running into the end of the generator (and warning).
    validation_batches = _dataset(lambda: iter(fixed)).apply(tf.data.experimental.assert_cardinality(len(fixed)))
    return JointData(_dataset(train_batches), validation_batches, sequences)


def fit_joint(settings: JointSettings, data: JointData, *, run_dir: Any = None, callbacks: Sequence[Any] = (),
              tensorboard: bool = True, verbose: int | str = 0) -> tuple[Any, pd.DataFrame]:
    """Seed, build and fit a joint network with the budget of ``settings``: the one
    training function of the joint kinds (:func:`musicalpy.zoo.train` and notebooks 03
    and 04 call it).

    Returns
    -------
    network : keras.Model
        With the weights of the best validation loss.
    history : pd.DataFrame
        One row per epoch run.
    """
    import keras

    from ..models import engine
    from ..representations.chorale_grid import chorale_grid_vocabulary

    keras.utils.set_random_seed(settings.seed)
    size = len(chorale_grid_vocabulary())
    return engine.train_model(lambda: settings.build(size), data.train, data.validation, epochs=settings.epochs,
                              steps_per_epoch=settings.steps_per_epoch, time_budget_s=settings.time_budget_s,
                              patience=settings.patience, run_dir=run_dir,
                              callbacks=callbacks, tensorboard=tensorboard, verbose=verbose)


# -------------------------------------------------------------------------- family


class JointFamily(Family):
    """What every joint kind shares: data, training, sampling, harmonizing, scoring.

    Generic over the network: a subclass names its ``kind`` and ``settings_class``,
    whose ``build(vocab_size)`` makes the network (see the module docstring).
    """

    fitted_description: ClassVar[str] = "TokenNetwork(network, chorale grid vocabulary)"
    supports_top_k: ClassVar[bool] = True
    supports_top_p: ClassVar[bool] = True
    harmonizes: ClassVar[bool] = True
    #: Whole chorales per scoring batch (:func:`musicalpy.models.engine.score_ids`).
    score_batch_size: ClassVar[int] = 64

    datasets = staticmethod(joint_datasets)
    fit = staticmethod(fit_joint)
    # The folder is the token kinds' (model.keras + vocabulary.json), written once there.
    save = TokenNetworkFamily.save
    load = TokenNetworkFamily.load

    def load_network(self, path: Path) -> Any:
        from ..models import (
            wavenet,  # loads every network of the package (and registers its steppers)
        )

        return wavenet.load_model(path)

    def train(self, corpus: Any, settings: Any, progress: bool) -> Trained:
        from ..representations.chorale_grid import chorale_grid_vocabulary

        data = joint_datasets(corpus, settings)
        network, history = fit_joint(settings, data, verbose=2 if progress else 0)
        state = self._state(data.sequences["train"])
        state["epochs_run"] = len(history)
        return Trained(TokenNetwork(network, chorale_grid_vocabulary()), list(VOICES), state)

    def wrap(self, fitted: Any, vocabulary: Any, corpus: Any, settings: Any) -> Trained:
        import keras

        from ..models import engine
        from ..representations.chorale_grid import chorale_grid_vocabulary

        if isinstance(fitted, TokenNetwork):
            fitted, vocabulary = fitted
        if not isinstance(fitted, keras.Model) or engine.condition_encoder(fitted) is None:
            raise ValueError(f"fitted must be a joint Keras model with a {engine.CONDITION_INPUT!r} input for the "
                             f"{self.kind} kind, got {type(fitted).__name__}")
        grid = chorale_grid_vocabulary()
        if vocabulary is not None and vocabulary != grid:
            raise ValueError(f"the {self.kind} kind uses the fixed chorale grid vocabulary ({len(grid)} ids)")
        sequences = chorale_ids(corpus.split("train").notes, corpus.pieces)
        return Trained(TokenNetwork(fitted, grid), list(VOICES), self._state(sequences))

    @staticmethod
    def _state(sequences: Mapping[str, np.ndarray]) -> dict[str, Any]:
        """Notes per grid step in training (a note budget's step count)."""
        from ..representations.chorale_grid import TOKENS_PER_STEP, chorale_grid_vocabulary

        onsets = steps = 0
        reserved = chorale_grid_vocabulary().n_reserved
        for ids in sequences.values():
            body = ids[1:-1].reshape(-1, TOKENS_PER_STEP)[:, 1:]
            # Pitch ids sit right after the reserved ids (chorale_grid_vocabulary).
            onsets += int(((body >= reserved) & (body < reserved + 128)).sum())
            steps += len(body)
        return {"notes_per_step": onsets / max(steps, 1)}

    def selection(self, settings: Any) -> dict[str, Any]:
        return {"split": "validation", "metric": f"val_loss: early stopping, patience {settings.patience}",
                "candidates": []}

    def representation(self, model: Any) -> dict[str, Any]:
        # Every joint kind predicts the same fixed-vocabulary grid stream.
        return {"encoding": "chorale grid: frame, S, A, T, B per sixteenth", "vocabulary_size": len(model.fitted.vocabulary)}

    # ------------------------------------------------------------------ generation

    def _steps_for(self, model: Any, budget: Budget) -> int:
        from ..representations.chorale_grid import STEPS_PER_QUARTER

        if budget.n_notes is not None:
            per_step = max(model.state.get("notes_per_step", 0.5), 1e-3)
            return int(math.ceil(1.3 * budget.n_notes / per_step)) + 16
        return int(math.ceil(budget.beats * STEPS_PER_QUARTER)) + 16

    def _decode(self, ids: np.ndarray, vocabulary: Any, piece: str, tempo: float) -> pd.DataFrame:
        from ..representations.chorale_grid import decode_chorale_grid, tokens_to_grid

        return decode_chorale_grid(tokens_to_grid(vocabulary.decode(ids)), piece=piece, tempo=tempo)

    def generate(self, model: Any, budget: Budget, n_samples: int, *, temperature: float, top_k: int | None,
                 top_p: float | None, primer: pd.DataFrame | None, seed: int) -> pd.DataFrame:
        from ..models import engine
        from ..representations.chorale_grid import TOKENS_PER_STEP, grid_grammar

        network, vocabulary = model.fitted
        n_tokens = TOKENS_PER_STEP * self._steps_for(model, budget) + 1
        ids = engine.sample_ids(network, vocabulary, n_tokens=n_tokens, n_samples=n_samples, temperature=temperature,
                                top_k=top_k, top_p=top_p, seed=seed, grammar=grid_grammar(vocabulary))
        notes = concat_notes([self._decode(row, vocabulary, f"sample_{k}", model.settings.tempo)
                              for k, row in enumerate(ids)])
        return budget.trim(notes, per_voice=budget.n_notes is None)

    def harmonize(self, model: Any, melody: Any, *, seed: int, sample: bool, temperature: float) -> pd.DataFrame:
        return self.harmonize_many(model, [melody], seed=seed, sample=sample, temperature=temperature)[0]

    def harmonize_many(self, model: Any, melodies: Sequence[Any], *, seed: int, sample: bool,
                       temperature: float) -> list[pd.DataFrame]:
        """Every melody harmonized in one batch through the cached stepper.

        Shorter melodies are padded after their END (forced PAD, a masked condition),
        and each melody's condition is encoded on its own
        (:func:`musicalpy.models.engine.sample_ids`), so with ``sample=False`` every
        harmonization equals the one :meth:`harmonize` gives for that melody alone.
        """
        from ..models import engine
        from ..representations.chorale_grid import encode_chorale_grid, grid_to_tokens, token_roles

        network, vocabulary = model.fitted
        sopranos, forced_rows, conditions = [], [], []
        for melody in melodies:
            line = melody.notes
            if line.empty:
                raise ValueError(f"melody {melody.name!r} has no notes to harmonize")
            fermatas = np.isin(np.round(line["start_beat"].to_numpy(float), 6),
                               np.round(np.asarray(melody.fermatas, float), 6))
            soprano = pd.DataFrame({"part": VOICES[0], "pitch": line["pitch"].to_numpy(np.int64),
                                    "start_beat": line["start_beat"].to_numpy(float),
                                    "end_beat": line["end_beat"].to_numpy(float), "fermata": fermatas})
            grid = encode_chorale_grid(soprano, time_signature=melody.time_signature)
            ids = vocabulary.encode(grid_to_tokens(grid), add_start_end=True)
            sopranos.append(soprano)
            forced_rows.append(np.where(np.isin(token_roles(len(ids)), _LOWER_VOICES), -1, ids)[1:])
            conditions.append(condition_of(ids))
        if not forced_rows:
            return []
        width = max(len(row) for row in forced_rows)
        forced = np.full((len(forced_rows), width), vocabulary.pad_id, dtype=np.int64)
        condition = np.zeros((len(forced_rows), width + 1, 2), dtype=np.int64)  # + the primer's START
        for row, (ids, given) in enumerate(zip(forced_rows, conditions, strict=True)):
            forced[row, : len(ids)] = ids
            condition[row, : len(given)] = given
        generated = engine.sample_ids(network, vocabulary, n_tokens=width, n_samples=len(forced_rows),
                                      temperature=temperature if sample else 1.0, top_k=None if sample else 1,
                                      seed=seed, forced=forced, condition=condition, stop_at_end=True)
        return [self._keep_melody(self._decode(row[: len(ids)], vocabulary, melody.name, model.settings.tempo),
                                  soprano, melody.name, model.settings.tempo)
                for row, ids, soprano, melody in zip(generated, forced_rows, sopranos, melodies, strict=True)]

    @staticmethod
    def _keep_melody(notes: pd.DataFrame, soprano: pd.DataFrame, name: str, tempo: float) -> pd.DataFrame:
        """The decoded voices with the soprano replaced by the melody itself, note for
        note (the grid only rounds what it cannot hold)."""
        seconds = 60.0 / tempo
        exact = pd.concat([notes[notes["part"] == VOICES[0]].iloc[:0], pd.DataFrame({
            "piece": name, "part": VOICES[0], "program": 0, "is_drum": False,
            "pitch": soprano["pitch"], "start": soprano["start_beat"] * seconds, "end": soprano["end_beat"] * seconds,
            "velocity": int(notes["velocity"].iloc[0]) if len(notes) else 80,
            "start_beat": soprano["start_beat"], "end_beat": soprano["end_beat"], "fermata": soprano["fermata"]})],
            ignore_index=True)
        return pd.concat([exact, notes[notes["part"] != VOICES[0]]], ignore_index=True)

    # --------------------------------------------------------------------- scoring

    def score(self, model: Any, notes: pd.DataFrame) -> tuple[float, int, str, str]:
        from ..models import engine

        network, vocabulary = model.fitted
        sequences = chorale_ids(notes)
        masked = {piece: np.zeros((len(ids) - 1, 2), np.int64) for piece, ids in sequences.items()}
        total, n_tokens = engine.score_ids(network, sequences, pad_id=vocabulary.pad_id, condition=masked,
                                           batch_size=self.score_batch_size)
        return (total, n_tokens, "chorale grid (frame, S, A, T, B per sixteenth)",
                "unconditioned (soprano masked); frames, holds, rests and END scored; notes off the grid count as notes")

    def score_given_soprano(self, model: Any, notes: pd.DataFrame) -> dict[str, Any]:
        """Bits per alto, tenor and bass note given the soprano (the harmonizer's measure).

        The whole soprano and the frames are the condition; only the alto, tenor and
        bass tokens (their notes, holds and rests) are scored, and the sum is divided
        by the number of alto, tenor and bass notes of ``notes``.

        Returns
        -------
        dict
            ``log_likelihood`` (nats), ``n_tokens``, ``n_notes``, ``bits_per_note``.
        """
        from ..models import engine
        from ..representations.chorale_grid import token_roles

        network, vocabulary = model.fitted
        sequences = chorale_ids(notes)
        conditions = {piece: condition_of(ids) for piece, ids in sequences.items()}
        counted = {piece: np.isin(token_roles(len(ids))[1:], _LOWER_VOICES) for piece, ids in sequences.items()}
        total, n_tokens = engine.score_ids(network, sequences, pad_id=vocabulary.pad_id, condition=conditions,
                                           counted=counted, batch_size=self.score_batch_size)
        n_notes = int(notes["part"].isin(VOICES[1:]).sum())
        return {"log_likelihood": total, "n_tokens": n_tokens, "n_notes": n_notes,
                "bits_per_note": -total / math.log(2) / max(n_notes, 1)}


class LSTMJointFamily(JointFamily):
    """Notebook 03's joint LSTM."""

    kind = "lstm_joint"
    settings_class = LSTMJointSettings


class WaveNetJointFamily(JointFamily):
    """Notebook 04's joint WaveNet, sampled with its cached stepper."""

    kind = "wavenet_joint"
    settings_class = WaveNetJointSettings


class TransformerJointFamily(JointFamily):
    """Notebook 06's joint Transformer, sampled and harmonized with its key/value cache."""

    kind = "transformer_joint"
    settings_class = TransformerJointSettings
    # Attention over a whole chorale holds (heads, L, L) logits per chorale: 36 chorales
    # of 2,941 tokens asked for 5 GB in one tensor; 8 is the training batch, known to fit.
    score_batch_size = 8

    def load_network(self, path: Path) -> Any:
        from ..models import (
            lstm,  # noqa: F401  registers the condition encoder's layers
            transformer,
        )

        return transformer.load_model(path)
