"""Networks over 88-key frames for the JSB Chorales benchmark (Keras).

One network reads the frames before ``t`` and gives frame ``t`` one logit per key. Its
trunk (:data:`TRUNKS`) is an LSTM, a GRU, or a WaveNet: a stack of gated dilated causal
convolutions over the frames (:class:`musicalpy.models.wavenet.GatedResidualBlock`, the
TCN row's kind of network), whose receptive field is ``1 + sum(dilations)`` frames. It
ends in one of two output layers:

- ``"independent"``: ``p(x_t | x_<t) = prod_k sigmoid(l_tk)``, the output of the
  published RNN / LSTM / GRU / TCN rows: keys are independent given the past, so the
  network cannot say "a C or an E, not both".
- ``"autoregressive"``: key ``k`` also sees the keys below it in the same frame,
  ``l_tk = w_k . h_t + sum_{j<k} v_kj x_tj + made_k(x_t<k, h_t)``, low to high, like
  RNN-NADE but with masked dense layers (:class:`KeyAutoregressive`; the MADE term is
  one hidden layer whose masks only let keys below ``k`` reach logit ``k``). The
  product of the 88 conditionals is the exact probability of the whole frame, and
  training computes all of them in one pass (teacher forcing within the frame).

Every logit is clipped to ``[-LOGIT_BOUND, LOGIT_BOUND]`` before scoring, so no key has
probability 0 or 1 (the test split sounds a key the training split never does).
:class:`FrameRNN` has the frame models' interface (:mod:`musicalpy.frame_estimators`):
``fit``, ``log_prob``, ``sample``, ``save``, ``load``.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
from keras import layers, ops

from ..frame_estimators import bernoulli_log_prob, transpose_chorales
from ..representations.frames import N_KEYS, check_frames
from .wavenet import GatedResidualBlock, dilation_cycles

__all__ = ["LOGIT_BOUND", "OUTPUTS", "TRUNKS", "DEFAULT_DILATIONS", "KeyAutoregressive", "build_frame_rnn",
           "FrameRNN", "padded_frames"]

#: Logits are clipped to +-this before scoring: probabilities stay in [2e-9, 1 - 2e-9].
LOGIT_BOUND = 20.0
#: The output layers :func:`build_frame_rnn` offers.
OUTPUTS = ("independent", "autoregressive")
#: The networks that summarize the frames before ``t``.
TRUNKS = ("lstm", "gru", "wavenet")
#: The WaveNet trunk's dilations: two cycles of 1..16, a receptive field of 63 frames
#: (the median JSB chorale has 57).
DEFAULT_DILATIONS = tuple(dilation_cycles(16, 2))
_MODEL_FILE = "frame_model.json"
_KERAS_FILE = "model.keras"


def _made_masks(n_keys: int, hidden: int) -> tuple[np.ndarray, np.ndarray]:
    """MADE masks: hidden unit ``i`` has degree ``1 + i % (n_keys - 1)``; key ``j`` may
    reach it when ``j < degree`` and it may reach key ``k`` when ``degree <= k``, so
    only keys below ``k`` influence logit ``k``."""
    degrees = 1 + np.arange(hidden) % (n_keys - 1)
    keys = np.arange(n_keys)
    mask_in = (keys[:, None] < degrees[None, :]).astype("float32")  # (n_keys, hidden)
    mask_out = (degrees[:, None] <= keys[None, :]).astype("float32")  # (hidden, n_keys)
    return mask_in, mask_out


@keras.saving.register_keras_serializable(package="musicalpy")
class KeyAutoregressive(layers.Layer):
    """Logits of every key given the state and the keys below it in the same frame.

    Inputs ``[state, frames]``: ``state`` shape ``(batch, time, units)`` (the network's
    summary of the frames before ``t``), ``frames`` shape ``(batch, time, n_keys)`` (the
    frame ``t`` itself). Output ``(batch, time, n_keys)`` logits, logit ``k`` a function
    of the state and of ``frames[..., :k]`` only: a strictly lower-triangular linear
    term plus, when ``hidden > 0``, a one-hidden-layer MADE term.

    Parameters
    ----------
    n_keys : int
    hidden : int
        Hidden units of the MADE term (0: the linear term alone).
    """

    def __init__(self, n_keys: int = N_KEYS, hidden: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n_keys = int(n_keys)
        self.hidden = int(hidden)

    def build(self, input_shape: Any) -> None:
        units = int(input_shape[0][-1])
        k = self.n_keys
        self.state_kernel = self.add_weight(name="state_kernel", shape=(units, k), initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(k,), initializer="zeros")
        self.key_kernel = self.add_weight(name="key_kernel", shape=(k, k), initializer="zeros")
        self.lower = np.triu(np.ones((k, k), dtype="float32"), 1)  # [j, k] = 1 when j < k
        if self.hidden:
            self.mask_in, self.mask_out = _made_masks(k, self.hidden)
            self.in_kernel = self.add_weight(name="in_kernel", shape=(k, self.hidden), initializer="glorot_uniform")
            self.in_state = self.add_weight(name="in_state", shape=(units, self.hidden), initializer="glorot_uniform")
            self.in_bias = self.add_weight(name="in_bias", shape=(self.hidden,), initializer="zeros")
            self.out_kernel = self.add_weight(name="out_kernel", shape=(self.hidden, k), initializer="zeros")

    def call(self, inputs: Sequence[Any]) -> Any:
        state, frames = inputs
        logits = ops.matmul(state, self.state_kernel) + self.bias
        logits = logits + ops.matmul(frames, self.key_kernel * self.lower)
        if self.hidden:
            hidden = ops.relu(ops.matmul(frames, self.in_kernel * self.mask_in)
                              + ops.matmul(state, self.in_state) + self.in_bias)
            logits = logits + ops.matmul(hidden, self.out_kernel * self.mask_out)
        return logits

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n_keys": self.n_keys, "hidden": self.hidden}

    def numpy_weights(self) -> dict[str, np.ndarray]:
        """The weights with their masks applied, as float64 arrays, for key-by-key sampling."""
        weights = {"state_kernel": self.state_kernel, "bias": self.bias}
        out = {name: np.asarray(w.numpy(), dtype=np.float64) for name, w in weights.items()}
        out["key_kernel"] = np.asarray(self.key_kernel.numpy(), dtype=np.float64) * self.lower
        if self.hidden:
            out["in_kernel"] = np.asarray(self.in_kernel.numpy(), dtype=np.float64) * self.mask_in
            out["in_state"] = np.asarray(self.in_state.numpy(), dtype=np.float64)
            out["in_bias"] = np.asarray(self.in_bias.numpy(), dtype=np.float64)
            out["out_kernel"] = np.asarray(self.out_kernel.numpy(), dtype=np.float64) * self.mask_out
        return out


@keras.saving.register_keras_serializable(package="musicalpy")
def summed_key_crossentropy(y_true: Any, logits: Any) -> Any:
    """Sigmoid cross-entropy summed over the 88 keys: nats per frame, shape ``(batch, time)``."""
    return ops.sum(ops.binary_crossentropy(y_true, logits, from_logits=True), axis=-1)


def build_frame_rnn(
    output: str = "independent",
    *,
    trunk: str = "lstm",
    units: int = 256,
    n_layers: int = 1,
    dropout: float = 0.3,
    hidden: int = 0,
    dilations: Sequence[int] = DEFAULT_DILATIONS,
    learning_rate: float = 1e-3,
) -> keras.Model:
    """The compiled network: inputs ``[previous, current]`` frames, output logits.

    Parameters
    ----------
    output : {"independent", "autoregressive"}
    trunk : {"lstm", "gru", "wavenet"}
        What reads the frames before ``t`` (:data:`TRUNKS`).
    units : int
        Recurrent units per layer, or the WaveNet's residual and skip channels.
    n_layers : int
        Stacked recurrent layers (the WaveNet has one block per dilation instead).
    dropout : float
        Dropout on the trunk's input and output (and, in the WaveNet, on each block's
        gated activations).
    hidden : int
        MADE hidden units of the autoregressive output (0: linear within the frame).
    dilations : sequence of int
        The WaveNet's, one gated residual block each (ignored by the recurrent trunks).
    learning_rate : float
        Adam's.

    Returns
    -------
    keras.Model
        ``model([previous, current])``, both ``(batch, time, 88)`` float32, where
        ``previous[:, t] = frames[:, t - 1]`` (zeros at ``t = 0``); logits ``(batch,
        time, 88)``. The independent output ignores ``current``.
    """
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    if trunk not in TRUNKS:
        raise ValueError(f"trunk must be one of {TRUNKS}, got {trunk!r}")
    previous = keras.Input((None, N_KEYS), name="previous")
    current = keras.Input((None, N_KEYS), name="current")
    state = layers.Dropout(dropout)(previous) if dropout else previous
    if trunk == "wavenet":
        state = _wavenet_trunk(state, units, dilations, dropout)
    else:
        recurrent = layers.LSTM if trunk == "lstm" else layers.GRU
        for index in range(n_layers):
            state = recurrent(units, return_sequences=True, name=f"{trunk}_{index}")(state)
    if dropout:
        state = layers.Dropout(dropout)(state)
    if output == "independent":
        logits = layers.Dense(N_KEYS, name="keys")(state)
    else:
        logits = KeyAutoregressive(N_KEYS, hidden, name="keys")([state, current])
    # The LSTM's model name stays what it was, so that saved models keep their layer names.
    prefix = "frame_lstm" if trunk == "lstm" else f"frame_{trunk}"
    model = keras.Model([previous, current], logits, name=f"{prefix}_{output}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=5.0), loss=summed_key_crossentropy)
    return model


def _wavenet_trunk(frames: Any, channels: int, dilations: Sequence[int], dropout: float) -> Any:
    """Gated residual blocks over ``(batch, time, 88)`` frames; the ReLU of their summed
    skip outputs, ``(batch, time, channels)``. Every convolution is causal, so output
    ``t`` sees the frames up to ``t`` of its input (the frames before ``t`` here)."""
    dilations = list(dilations)
    if not dilations:
        raise ValueError("dilations must name at least one block for the wavenet trunk")
    x = layers.Conv1D(channels, 1, name="wavenet_in")(frames)
    skips = []
    for index, rate in enumerate(dilations):
        x, skip = GatedResidualBlock(channels, channels, rate, dropout=dropout,
                                     use_residual=index < len(dilations) - 1, name=f"wavenet_block_{index}")(x)
        skips.append(skip)
    summed = layers.Add(name="wavenet_skips")(skips) if len(skips) > 1 else skips[0]
    return layers.Conv1D(channels, 1, activation="relu", name="wavenet_out")(layers.Activation("relu")(summed))


def padded_frames(chorales: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chorales as one padded batch, as every frame network of the package reads them.

    Parameters
    ----------
    chorales : list of np.ndarray, each shape=(n_frames, 88)
        Checked piano rolls (:func:`musicalpy.representations.frames.check_frames`).

    Returns
    -------
    previous : np.ndarray, shape=(n, T, 88), float32
        ``current`` shifted one frame later, a silent frame first (the input at ``t``).
    current : np.ndarray, shape=(n, T, 88), float32
        The frames, padded at the end with silent frames to the longest length ``T``.
    mask : np.ndarray, shape=(n, T), float32
        1 for a chorale's own frames, 0 for the padding.
    """
    longest = max(len(c) for c in chorales)
    current = np.zeros((len(chorales), longest, N_KEYS), dtype="float32")
    mask = np.zeros((len(chorales), longest), dtype="float32")
    for i, chorale in enumerate(chorales):
        current[i, : len(chorale)] = chorale
        mask[i, : len(chorale)] = 1.0
    previous = np.zeros_like(current)
    previous[:, 1:] = current[:, :-1]
    return previous, current, mask


class FrameRNN:
    """A frame network (LSTM, GRU or WaveNet trunk), trained with early stopping on the
    validation frames' NLL.

    Parameters
    ----------
    output : {"independent", "autoregressive"}
    units, n_layers, dropout, hidden, learning_rate
        See :func:`build_frame_rnn`.
    trunk : {"lstm", "gru", "wavenet"}
    dilations : sequence of int
        The WaveNet trunk's (:data:`DEFAULT_DILATIONS`).
    epochs : int or None
        At most this many passes over the training chorales (None: no cap on epochs).
    cpu_minutes, wall_minutes : float, optional
        Budgets: no new epoch starts once this fit has used this much process CPU time
        (both cores count) or wall-clock time; early stopping usually ends it first.
    batch_size : int
        Chorales per step.
    patience : int
        Stop after this many epochs without a better validation NLL; the best epoch's
        weights are kept.
    lr_patience : int
        After every ``lr_patience`` epochs in a row without a better validation NLL the
        learning rate is multiplied by ``lr_factor`` (0: a constant learning rate).
    lr_factor : float
        In (0, 1).
    transpose : int
        Each epoch, every training chorale is moved by a random shift in
        ``[-transpose, transpose]`` semitones (0: no augmentation).
    seed : int
    verbose : bool

    Attributes
    ----------
    network_ : keras.Model
    history_ : pd.DataFrame
        ``epoch``, ``train_loss`` (Keras's), ``valid_nll`` (nats/frame), ``learning_rate``
    (the epoch's), ``seconds``.
    best_epoch_ : int
    """

    kind = "frame_rnn"

    def __init__(self, output: str = "independent", *, trunk: str = "lstm", units: int = 256, n_layers: int = 1,
                 dropout: float = 0.3, hidden: int = 0, dilations: Sequence[int] = DEFAULT_DILATIONS,
                 learning_rate: float = 1e-3, epochs: int | None = 100, batch_size: int = 16, patience: int = 8,
                 lr_patience: int = 0, lr_factor: float = 0.5, transpose: int = 0, seed: int = 0,
                 cpu_minutes: float | None = None, wall_minutes: float | None = None,
                 verbose: bool = False) -> None:
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        if trunk not in TRUNKS:
            raise ValueError(f"trunk must be one of {TRUNKS}, got {trunk!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        if not 0 < lr_factor < 1:
            raise ValueError(f"lr_factor must be in (0, 1), got {lr_factor!r}")
        if lr_patience < 0:
            raise ValueError(f"lr_patience must be >= 0 (0: a constant learning rate), got {lr_patience!r}")
        for name, budget in (("cpu_minutes", cpu_minutes), ("wall_minutes", wall_minutes)):
            if budget is not None and not budget > 0:
                raise ValueError(f"{name} must be above 0 (or None: no budget), got {budget!r}")
        if epochs is None and cpu_minutes is None and wall_minutes is None:
            raise ValueError("give epochs, cpu_minutes or wall_minutes: training needs a bound besides patience")
        self.cpu_minutes = None if cpu_minutes is None else float(cpu_minutes)
        self.wall_minutes = None if wall_minutes is None else float(wall_minutes)
        self.output, self.trunk, self.dilations = output, trunk, tuple(int(d) for d in dilations)
        self.lr_patience, self.lr_factor = int(lr_patience), float(lr_factor)
        self.units, self.n_layers, self.dropout, self.hidden = int(units), int(n_layers), float(dropout), int(hidden)
        self.learning_rate, self.batch_size = float(learning_rate), int(batch_size)
        self.epochs = None if epochs is None else int(epochs)
        self.patience, self.transpose, self.seed, self.verbose = int(patience), int(transpose), int(seed), verbose

    def __repr__(self) -> str:
        return f"FrameRNN(output={self.output!r}, trunk={self.trunk!r}, units={self.units}, hidden={self.hidden})"

    def _config(self) -> dict[str, Any]:
        return {"output": self.output, "trunk": self.trunk, "dilations": list(self.dilations),
                "lr_patience": self.lr_patience, "lr_factor": self.lr_factor, "units": self.units, "n_layers": self.n_layers, "dropout": self.dropout,
                "hidden": self.hidden, "learning_rate": self.learning_rate, "epochs": self.epochs,
                "batch_size": self.batch_size, "patience": self.patience, "transpose": self.transpose,
                "seed": self.seed, "cpu_minutes": self.cpu_minutes, "wall_minutes": self.wall_minutes}

    def fit(self, train: Any, valid: Any) -> FrameRNN:
        """Train on ``train``, keeping the weights of the epoch best on ``valid``.

        Parameters
        ----------
        train, valid : list of np.ndarray, each shape=(n_frames, 88)

        Returns
        -------
        self
        """
        train_list = [check_frames(c, f"train[{i}]") for i, c in enumerate(train)]
        valid_list = [check_frames(c, f"valid[{i}]") for i, c in enumerate(valid)]
        if not train_list or not valid_list:
            raise ValueError("train and valid must each hold at least one chorale")
        keras.utils.set_random_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        self.network_ = build_frame_rnn(self.output, trunk=self.trunk, units=self.units, n_layers=self.n_layers,
                                        dropout=self.dropout, hidden=self.hidden, dilations=self.dilations,
                                        learning_rate=self.learning_rate)
        learning_rate = self.learning_rate
        valid_arrays = padded_frames(valid_list)
        rows, best, best_weights, waited = [], np.inf, None, 0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for epoch in itertools.count(1) if self.epochs is None else range(1, self.epochs + 1):
            if rows and self._over_budget(time.process_time() - cpu0, time.perf_counter() - wall0):
                break
            started = time.perf_counter()
            shifts = rng.integers(-self.transpose, self.transpose + 1, len(train_list)) if self.transpose else None
            chorales = transpose_chorales(train_list, shifts) if shifts is not None else train_list
            previous, current, mask = padded_frames(chorales)
            fitted = self.network_.fit([previous, current], current, sample_weight=mask, batch_size=self.batch_size,
                                       epochs=1, shuffle=True, verbose=0)
            valid_nll = self._batch_nll(*valid_arrays)
            rows.append({"epoch": epoch, "train_loss": float(fitted.history["loss"][-1]), "valid_nll": valid_nll,
                         "learning_rate": learning_rate, "seconds": time.perf_counter() - started,
                         "cpu_s": time.process_time() - cpu0})
            if self.verbose:
                print(f"epoch {epoch}: valid {valid_nll:.4f} nats/frame ({rows[-1]['seconds']:.1f} s)", flush=True)
            if valid_nll < best - 1e-4:
                best, best_weights, waited, self.best_epoch_ = valid_nll, self.network_.get_weights(), 0, epoch
            else:
                waited += 1
                if waited >= self.patience:
                    break
                if self.lr_patience and waited % self.lr_patience == 0:
                    learning_rate *= self.lr_factor
                    self.network_.optimizer.learning_rate.assign(learning_rate)
        self.network_.set_weights(best_weights)
        self.history_ = pd.DataFrame(rows)
        return self

    def _over_budget(self, cpu_s: float, wall_s: float) -> bool:
        return ((self.cpu_minutes is not None and cpu_s >= 60 * self.cpu_minutes)
                or (self.wall_minutes is not None and wall_s >= 60 * self.wall_minutes))

    def _logits(self, previous: np.ndarray, current: np.ndarray) -> np.ndarray:
        logits = self.network_.predict_on_batch([previous, current])
        return np.clip(np.asarray(logits, dtype=np.float64), -LOGIT_BOUND, LOGIT_BOUND)

    def _batch_nll(self, previous: np.ndarray, current: np.ndarray, mask: np.ndarray) -> float:
        """Nats per real frame of padded chorales, as :func:`frame_nll` counts them."""
        probabilities = _sigmoid(self._logits(previous, current))
        keep = mask.reshape(-1) > 0
        log_prob = bernoulli_log_prob(probabilities.reshape(-1, N_KEYS)[keep], current.reshape(-1, N_KEYS)[keep] > 0)
        return float(-log_prob.sum() / keep.sum())

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise RuntimeError("FrameRNN is not fitted; call fit(train, valid) first")

    def log_prob(self, frames: Any) -> np.ndarray:
        """``log p(x_t | x_<t)`` of each frame of one chorale, shape ``(n_frames,)``, nats."""
        self._check_fitted()
        frames = check_frames(frames)
        if len(frames) == 0:
            return np.zeros(0)
        previous, current, _ = padded_frames([frames])
        return bernoulli_log_prob(_sigmoid(self._logits(previous, current))[0], frames)

    def sample(self, n_frames: int, *, seed: int | None = None, temperature: float = 1.0) -> np.ndarray:
        """Draw one chorale, shape ``(n_frames, 88)`` bool, frame by frame (and, for the
        autoregressive output, key by key from low to high)."""
        from .._config import check_int

        self._check_fitted()
        n_frames = check_int("n_frames", n_frames, 0)
        if not temperature > 0:
            raise ValueError(f"temperature must be above 0, got {temperature!r}")
        rng = np.random.default_rng(seed)
        frames = np.zeros((n_frames, N_KEYS), dtype=bool)
        keys = self.network_.get_layer("keys")
        state_model = keras.Model(self.network_.inputs[0], keys.input[0] if self.output == "autoregressive"
                                  else keys.input)
        weights = keys.numpy_weights() if self.output == "autoregressive" else None
        for t in range(n_frames):
            previous = np.zeros((1, t + 1, N_KEYS), dtype="float32")
            previous[0, 1:] = frames[:t]
            state = np.asarray(state_model.predict_on_batch(previous), dtype=np.float64)[0, -1]
            if weights is None:
                logits = np.asarray(keys(state[None, None].astype("float32")), dtype=np.float64)[0, 0]
                probability = _sigmoid(np.clip(logits, -LOGIT_BOUND, LOGIT_BOUND) / temperature)
                frames[t] = rng.random(N_KEYS) < probability
                continue
            base = state @ weights["state_kernel"] + weights["bias"]
            pre_hidden = state @ weights["in_state"] + weights["in_bias"] if self.hidden else None
            x = np.zeros(N_KEYS)
            for k in range(N_KEYS):  # logit k depends on keys below k only: draw them in order
                logit = base[k] + x @ weights["key_kernel"][:, k]
                if self.hidden:
                    hidden = np.maximum(pre_hidden + x @ weights["in_kernel"], 0.0)
                    logit += hidden @ weights["out_kernel"][:, k]
                x[k] = float(rng.random() < _sigmoid(np.clip(logit, -LOGIT_BOUND, LOGIT_BOUND) / temperature))
            frames[t] = x > 0
        return frames

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write ``model.keras`` (the network, without the optimizer's state) and
        ``frame_model.json`` (settings, history) into ``path``."""
        self._check_fitted()
        folder = Path(path).expanduser()
        if (folder / _MODEL_FILE).exists() and not overwrite:
            raise FileExistsError(f"{folder / _MODEL_FILE} exists; pass overwrite=True to replace it")
        folder.mkdir(parents=True, exist_ok=True)
        # The weights without the optimizer's state (a third of the file): a loaded model
        # scores and samples; fit() builds a new network.
        bare = keras.Model(self.network_.inputs, self.network_.outputs, name=self.network_.name)
        bare.save(folder / _KERAS_FILE)
        record = {"kind": self.kind, **self._config(), "best_epoch": getattr(self, "best_epoch_", None),
                  "history": self.history_.to_dict(orient="list") if hasattr(self, "history_") else None}
        (folder / _MODEL_FILE).write_text(json.dumps(record, indent=1))
        return folder

    @classmethod
    def load(cls, path: str | os.PathLike) -> FrameRNN:
        """A model written by :meth:`save`."""
        folder = Path(path).expanduser()
        target = folder / _MODEL_FILE
        if not target.exists():
            raise FileNotFoundError(f"{target}: no saved frame model in this folder")
        record = json.loads(target.read_text())
        if record.get("kind") != cls.kind:
            raise ValueError(f"{target}: holds a {record.get('kind')!r} model, not {cls.kind!r}")
        history, best_epoch = record.pop("history", None), record.pop("best_epoch", None)
        record.pop("kind")
        model = cls(**record)
        model.network_ = keras.models.load_model(folder / _KERAS_FILE)
        if history is not None:
            model.history_ = pd.DataFrame(history)
        if best_epoch is not None:
            model.best_epoch_ = int(best_epoch)
        return model


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))

