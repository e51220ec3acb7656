"""The frame models fitted without a network (the floor and the HMM) and the scoring
interface every frame model of the JSB Chorales benchmark shares, without TensorFlow.

The frames subsystem, layer by layer: :mod:`musicalpy.representations.frames` (88-key
frames <-> notes), :mod:`musicalpy.jsb_files` (the vendored files), this module (the
estimators and :func:`frame_nll`), :mod:`musicalpy.models.frame_rnn` and
:mod:`musicalpy.models.frame_vae` (the networks), :mod:`musicalpy.families.frames` (the
``jsb_*`` kinds) and :mod:`musicalpy.jsb` (the benchmark's tables).

Every frame model here exposes one scoring method, the interface :func:`frame_nll`
(and so :func:`musicalpy.jsb.benchmark_nll`) reads::

    log_prob(frames: (n_frames, 88) bool) -> (n_frames,) float  # log p(x_t | x_<t), nats

plus ``fit(chorales)``, ``sample(n_frames, seed=)``, ``save(path)`` and ``load(path)``.
A model with one probability per key (an independent Bernoulli, an RNN's sigmoid
outputs, a NADE's conditionals) turns them into frame log-probabilities with
:func:`bernoulli_log_prob`, which refuses a probability of exactly 0 or 1: on this
benchmark that is an infinite loss (the test split sounds MIDI 45, which train never
does).

- :class:`IndependentBernoulli`: the floor, one probability per key, smoothed
  (:func:`choose_smoothing` picks the smoothing on the validation split).
- :class:`FrameHMM`: :class:`musicalpy.hmm.HMM` on the frames, its factorized emissions
  one Bernoulli per key, scored exactly by the forward algorithm.

Measured on the canonical split (test, nats per frame; 2 shared CPU cores): the floor
11.060; FrameHMM 16 states 8.19 (5 s to train), 64 states 7.16 (23 s), 256 states
7.00 (124 s; pseudocount 1e-4 gave 7.39 there, validation agreeing). At 256 states a
larger pseudocount generalizes better, the transitions being 65,536 numbers from 13,807
frames: 0.01 gave 6.587 and 0.05 gave 6.433 after 100 iterations (validation 6.633 and
6.458), which the zoo's ``jsb_hmm`` kind uses. Since the emissions are one matrix product
(:func:`musicalpy.hmm._binary_frame_probs`), an iteration at 256 states takes 0.37 s
instead of 0.93 s.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .representations.frames import LOWEST_KEY, N_KEYS, check_frames

__all__ = [
    "DEFAULT_SMOOTHING_GRID",
    "bernoulli_log_prob",
    "frame_nll",
    "stack_chorales",
    "transpose_chorales",
    "IndependentBernoulli",
    "choose_smoothing",
    "FrameHMM",
]

#: Pseudo-counts :func:`choose_smoothing` tries for :class:`IndependentBernoulli`.
DEFAULT_SMOOTHING_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
_MODEL_FILE = "frame_model.json"


def bernoulli_log_prob(probabilities: Any, frames: Any) -> np.ndarray:
    """Log-probability of each whole frame under independent per-key Bernoullis.

    ``log p(x_t) = sum_k x_tk log p_tk + (1 - x_tk) log(1 - p_tk)``: silent keys count,
    so an empty frame has a probability too.

    Parameters
    ----------
    probabilities : array-like, shape=(88,) or (n_frames, 88)
        Probability that each key sounds: one row for every frame, or one per frame,
        e.g. a network's sigmoid outputs given the frames before, or a NADE's
        conditionals ``p(x_tk = 1 | x_t<k, x_<t)`` (whose sum here is the exact joint).
    frames : array-like, shape=(n_frames, 88)
        Binary frames.

    Returns
    -------
    log_prob : np.ndarray, shape=(n_frames,), dtype=float64
        In nats.

    Raises
    ------
    ValueError
        When a probability is 0, 1, outside (0, 1) or NaN (the message counts them and
        says why that is refused), or the shapes do not match.
    """
    frames = check_frames(frames)
    p = np.asarray(probabilities, dtype=np.float64)
    if p.shape not in ((N_KEYS,), frames.shape):
        raise ValueError(f"probabilities must have shape ({N_KEYS},) or {frames.shape} (one row per frame), "
                         f"got {p.shape}")
    bad = ~((p > 0) & (p < 1))
    if bad.any():
        raise ValueError(
            f"probabilities: {int(bad.sum())} key probabilities are 0, 1, NaN or outside (0, 1) "
            f"(first: {p[bad].ravel()[0]!r}); a key with probability 0 or 1 gives an infinite loss "
            "on the frame that contradicts it, so smooth or clip the model's outputs"
        )
    log_on, log_off = np.log(p), np.log1p(-p)
    on = frames.astype(np.float64)
    if p.ndim == 1:  # one row for every frame: a matrix-vector product
        return on @ (log_on - log_off) + log_off.sum()
    return (on * log_on + (1.0 - on) * log_off).sum(axis=1)


def frame_nll(model: Any, chorales: list[np.ndarray]) -> float:
    """Negative log-likelihood per frame, in nats, as the JSB benchmark scores a model.

    The joint log-probability of each whole 88-key frame (silent keys included) given
    the frames before it in its chorale, summed over every frame of every chorale (empty
    frames too) and divided by the number of frames.

    Parameters
    ----------
    model : callable or object with ``log_prob``
        ``log_prob(frames)`` takes one chorale, shape=(n_frames, 88) bool, and returns
        its log-probability in nats: shape=(n_frames,) of ``log p(x_t | x_<t)``, or one
        number, the chorale's total (a sequence model's joint, or a bound such as a
        VAE's ELBO, which the caller must then label a bound). Models that output one
        probability per key build it with :func:`bernoulli_log_prob`, which refuses a
        probability of exactly 0 or 1.
    chorales : list of np.ndarray, each shape=(n_frames, 88)
        Binary frames, e.g. :func:`musicalpy.jsb.read_frames` of a split.

    Returns
    -------
    nll : float
        Nats per frame (lower is better).

    Raises
    ------
    ValueError
        When a chorale's log-probability is not finite (a frame the model calls
        impossible: infinite loss) or positive (not a probability), or has the wrong
        shape; the message names the chorale.
    """
    log_prob = _log_prob_function(model)
    total, n_frames = 0.0, 0
    for index, frames in enumerate(chorales):
        frames = check_frames(frames, f"chorales[{index}]")
        value = np.asarray(log_prob(frames), dtype=float)
        if value.ndim > 1 or (value.ndim == 1 and len(value) != len(frames)):
            raise ValueError(
                f"chorales[{index}]: log_prob must return ({len(frames)},) per-frame values "
                f"or one number, got shape {value.shape}"
            )
        if not np.isfinite(value).all():
            raise ValueError(
                f"chorales[{index}]: the model's log-probability is not finite (a frame it "
                "gives probability 0, i.e. an infinite loss); smooth the model so that no key "
                "has probability 0 or 1"
            )
        chorale_total = float(value.sum())
        if chorale_total > 1e-9:
            raise ValueError(f"chorales[{index}]: log-probability {chorale_total:.6g} > 0 is not a probability")
        total += chorale_total
        n_frames += len(frames)
    if n_frames == 0:
        raise ValueError("chorales must hold at least one frame")
    return -total / n_frames


def _log_prob_function(model: Any) -> Callable[[np.ndarray], Any]:
    if hasattr(model, "log_prob"):
        return model.log_prob
    if callable(model):
        return model
    raise TypeError(f"model must have a log_prob(frames) method or be callable, got {type(model).__name__}")


def stack_chorales(chorales: Any, name: str = "chorales") -> tuple[np.ndarray, np.ndarray]:
    """Chorales as one ``(n_frames, 88)`` bool array and their lengths.

    Parameters
    ----------
    chorales : np.ndarray of shape (n_frames, 88), or a list of them
    name : str
        The caller's argument name, for error messages.

    Returns
    -------
    frames : np.ndarray, shape=(total_frames, 88), dtype=bool
    lengths : np.ndarray, shape=(n_chorales,), dtype=int64
    """
    if isinstance(chorales, np.ndarray) and chorales.ndim == 2:
        chorales = [chorales]
    checked = [check_frames(c, f"{name}[{i}]") for i, c in enumerate(chorales)]
    if not checked or not sum(len(c) for c in checked):
        raise ValueError(f"{name} must hold at least one frame")
    return np.concatenate(checked), np.array([len(c) for c in checked], dtype=np.int64)


def transpose_chorales(chorales: Sequence[np.ndarray], shifts: Any) -> list[np.ndarray]:
    """Each chorale moved along the keys by its own number of semitones.

    A shift that would push a sounding key off the keyboard is reduced, toward 0,
    to the largest that keeps every key on it (the chorale is never cut).

    Parameters
    ----------
    chorales : sequence of np.ndarray, each shape=(n_frames, 88)
    shifts : int or array of int, shape=(n_chorales,)
        Semitones up (positive) or down.

    Returns
    -------
    list of np.ndarray, each shape=(n_frames, 88), dtype=bool
    """
    shifts = np.broadcast_to(np.asarray(shifts, dtype=np.int64), (len(chorales),))
    moved = []
    for index, (chorale, shift) in enumerate(zip(chorales, shifts, strict=True)):
        chorale = check_frames(chorale, f"chorales[{index}]")
        sounding = np.flatnonzero(chorale.any(axis=0))
        if sounding.size:
            shift = int(np.clip(shift, -sounding[0], N_KEYS - 1 - sounding[-1]))
        out = np.zeros_like(chorale)
        if shift >= 0:
            out[:, shift:] = chorale[:, : N_KEYS - shift]
        else:
            out[:, :shift] = chorale[:, -shift:]
        moved.append(out)
    return moved


def _model_folder(path: str | os.PathLike, overwrite: bool) -> Path:
    folder = Path(path).expanduser()
    target = folder / _MODEL_FILE
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _read_model_file(path: str | os.PathLike, kind: str) -> dict[str, Any]:
    target = Path(path).expanduser() / _MODEL_FILE
    if not target.exists():
        raise FileNotFoundError(f"{target}: no saved frame model in this folder")
    record = json.loads(target.read_text())
    if record.get("kind") != kind:
        raise ValueError(f"{target}: holds a {record.get('kind')!r} model, not {kind!r}")
    return record


class IndependentBernoulli:
    """One independent Bernoulli per key: the benchmark's floor (about 11.06 nats/frame).

    ``p_k = (c_k + a) / (n + 2 a)``, where ``c_k`` counts the training frames in which key
    ``k`` sounds, ``n`` the training frames and ``a`` the ``smoothing`` pseudo-count
    (added to "on" and "off" alike), so that no key has probability 0 or 1.

    Parameters
    ----------
    smoothing : float, default 0.3
        Pseudo-count ``a > 0``. The default is what :func:`choose_smoothing` picks on the
        JSB validation split: the validation score falls as ``a`` shrinks (every key the
        validation chorales sound was seen in train) but by under 0.001 nats/frame below
        0.3, and the most smoothing within that tolerance protects keys train never saw.

    Attributes
    ----------
    key_counts_ : np.ndarray, shape=(88,), dtype=int64
    n_frames_ : int
    probabilities_ : np.ndarray, shape=(88,), dtype=float64
    """

    kind = "independent_bernoulli"

    def __init__(self, smoothing: float = 0.3) -> None:
        if not (isinstance(smoothing, (int, float, np.number)) and np.isfinite(smoothing) and smoothing > 0):
            raise ValueError(f"smoothing must be a positive pseudo-count, got {smoothing!r}")
        self.smoothing = float(smoothing)

    def __repr__(self) -> str:
        return f"IndependentBernoulli(smoothing={self.smoothing:g})"

    def fit(self, chorales: Any) -> IndependentBernoulli:
        """Count each key's frames.

        Parameters
        ----------
        chorales : np.ndarray of shape (n_frames, 88), or a list of them

        Returns
        -------
        self
        """
        frames, _ = stack_chorales(chorales)
        self.key_counts_ = frames.sum(axis=0).astype(np.int64)
        self.n_frames_ = int(len(frames))
        self.probabilities_ = (self.key_counts_ + self.smoothing) / (self.n_frames_ + 2 * self.smoothing)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "probabilities_"):
            raise RuntimeError("IndependentBernoulli is not fitted; call fit(chorales) first")

    def log_prob(self, frames: Any) -> np.ndarray:
        """Log-probability of each frame of one chorale, shape ``(n_frames,)``, nats."""
        self._check_fitted()
        return bernoulli_log_prob(self.probabilities_, frames)

    def sample(self, n_frames: int, *, seed: int | np.random.Generator | None = None) -> np.ndarray:
        """Draw ``n_frames`` frames, shape ``(n_frames, 88)`` bool (frames are independent)."""
        from ._config import check_int

        self._check_fitted()
        n_frames = check_int("n_frames", n_frames, 0)
        return np.random.default_rng(seed).random((n_frames, N_KEYS)) < self.probabilities_

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write ``frame_model.json`` (counts and smoothing; JSON, no pickle) into ``path``."""
        self._check_fitted()
        folder = _model_folder(path, overwrite)
        record = {"kind": self.kind, "smoothing": self.smoothing, "n_frames": self.n_frames_,
                  "lowest_key": LOWEST_KEY, "key_counts": self.key_counts_.tolist()}
        (folder / _MODEL_FILE).write_text(json.dumps(record, indent=1))
        return folder

    @classmethod
    def load(cls, path: str | os.PathLike) -> IndependentBernoulli:
        """A model written by :meth:`save`; the probabilities are recomputed exactly from the counts."""
        record = _read_model_file(path, cls.kind)
        model = cls(record["smoothing"])
        model.key_counts_ = np.asarray(record["key_counts"], dtype=np.int64)
        model.n_frames_ = int(record["n_frames"])
        model.probabilities_ = (model.key_counts_ + model.smoothing) / (model.n_frames_ + 2 * model.smoothing)
        return model


def choose_smoothing(
    train: Any,
    valid: Any,
    candidates: Sequence[float] = DEFAULT_SMOOTHING_GRID,
    *,
    tolerance: float = 1e-3,
) -> tuple[float, pd.DataFrame]:
    """Pick the :class:`IndependentBernoulli` smoothing on the validation split.

    Each candidate is fitted on ``train`` and scored on ``valid``; the choice is the
    largest pseudo-count whose validation score is within ``tolerance`` nats/frame of
    the best. When validation sounds no key train lacks, its score only improves as the
    smoothing shrinks, so the bare minimum would sit at the grid's edge; among scores
    validation cannot tell apart, more smoothing is the safer bet for unseen keys.

    Parameters
    ----------
    train, valid : list of np.ndarray, each shape=(n_frames, 88)
    candidates : sequence of float
        Positive pseudo-counts.
    tolerance : float, default 0.001
        Nats per frame.

    Returns
    -------
    smoothing : float
    table : pd.DataFrame
        ``smoothing``, ``valid_nll`` (nats/frame) per candidate.
    """
    if not len(candidates):
        raise ValueError("candidates must hold at least one smoothing value")
    valid_list = [valid] if isinstance(valid, np.ndarray) and valid.ndim == 2 else list(valid)
    scores = [frame_nll(IndependentBernoulli(a).fit(train), valid_list) for a in candidates]
    table = pd.DataFrame({"smoothing": [float(a) for a in candidates], "valid_nll": scores})
    close = table[table["valid_nll"] <= table["valid_nll"].min() + tolerance]
    return float(close["smoothing"].max()), table


class FrameHMM:
    """:class:`musicalpy.hmm.HMM` on 88-key frames: hidden states, one Bernoulli per key.

    The HMM's factorized emissions over 88 binary features are exactly a product of
    per-key Bernoullis given the state, and its forward algorithm gives each frame's
    exact ``log p(x_t | x_<t)``. ``pseudocount`` (the HMM's additive smoothing of the
    expected counts) must be positive: with plain maximum likelihood a key that train
    never sounds gets probability 0 in every state.

    Parameters
    ----------
    n_states : int, default 16
    n_iter : int, default 200
    tol : float, default 0.0
        Relative change of the training log-likelihood that stops EM; 0 runs all
        ``n_iter`` iterations (the HMM's 1e-4 stops 16 states after ~40 iterations,
        0.1 nats/frame short of where 200 get on validation).
    pseudocount : float, default 1e-3
        Chosen on the validation split: with the ``"frames"`` start, 1e-3 scored best
        of 1e-3, 1e-4 and 1e-5 at 64 states (7.123 / 7.146 / 7.162 nats/frame) and tied
        at 16 (8.085 / 8.086 / 8.086); 0.1 and 0.01 were 0.1-0.5 worse with the random start.
    init : {"frames", "random"}, default "frames"
        ``"frames"``: each state's key probabilities start halfway between the training
        frequency of each key and one training frame drawn at random (a different frame
        per state), so that states start apart and on the data; measured 0.1-0.15
        nats/frame better on validation than ``"random"``, the HMM's own start (every
        key's probability uniform in [0, 1), most keys far too loud).
    random_state : int, default 0
    verbose : bool, default False

    Attributes
    ----------
    hmm_ : musicalpy.hmm.HMM
        The fitted HMM (``n_symbols=2`` for each of the 88 keys).
    """

    kind = "frame_hmm"

    def __init__(self, n_states: int = 16, *, n_iter: int = 200, tol: float = 0.0, pseudocount: float = 1e-3,
                 init: str = "frames", random_state: int = 0, verbose: bool = False) -> None:
        if not pseudocount > 0:
            raise ValueError(f"pseudocount must be > 0 (a key unseen in training would get probability 0), "
                             f"got {pseudocount!r}")
        if init not in ("frames", "random"):
            raise ValueError(f"init must be 'frames' or 'random', got {init!r}")
        self.n_states = n_states
        self.n_iter = n_iter
        self.tol = tol
        self.pseudocount = float(pseudocount)
        self.init = init
        self.random_state = random_state
        self.verbose = verbose

    def __repr__(self) -> str:
        return f"FrameHMM(n_states={self.n_states}, pseudocount={self.pseudocount:g}, init={self.init!r})"

    def fit(self, chorales: Any) -> FrameHMM:
        """Baum-Welch on the chorales (each a sequence of frames)."""
        from .hmm import HMM

        frames, lengths = stack_chorales(chorales)
        start = None
        if self.init == "frames":
            start = {"emissionprob": self._emissions_from_frames(frames)}
        self.hmm_ = HMM(self.n_states, n_iter=self.n_iter, tol=self.tol, random_state=self.random_state,
                        verbose=self.verbose, n_symbols=[2] * N_KEYS, pseudocount=self.pseudocount,
                        init_params=start)
        self.hmm_.fit(frames.astype(np.int64), lengths)
        return self

    def _emissions_from_frames(self, frames: np.ndarray) -> list[np.ndarray]:
        """The ``"frames"`` start: one ``(n_states, 2)`` (off, on) matrix per key."""
        # Its own stream, so that the HMM's draws of startprob/transmat from
        # random_state stay those of init="random".
        rng = np.random.default_rng([self.random_state, 1])
        picks = frames[rng.choice(len(frames), self.n_states, replace=len(frames) < self.n_states)]
        frequency = (frames.sum(axis=0) + 0.5) / (len(frames) + 1.0)
        on = np.clip(0.5 * frequency + 0.5 * picks, 1e-3, 1 - 1e-3)
        return [np.stack([1.0 - on[:, key], on[:, key]], axis=1) for key in range(N_KEYS)]

    def _check_fitted(self) -> None:
        if not hasattr(self, "hmm_"):
            raise RuntimeError("FrameHMM is not fitted; call fit(chorales) first")

    def key_probabilities(self) -> np.ndarray:
        """``P(key k sounds | state i)``, shape ``(n_states, 88)``."""
        self._check_fitted()
        return np.stack([e[:, 1] for e in self.hmm_.emissions_], axis=1)

    def log_prob(self, frames: Any) -> np.ndarray:
        """Log-probability of one chorale, shape ``(n_frames,)``: ``log p(x_t | x_<t)``.

        The scaled forward pass's scale at step ``t`` is ``p(x_t | x_<t)``.
        """
        from .hmm import forward

        self._check_fitted()
        frames = check_frames(frames)
        if len(frames) == 0:
            return np.zeros(0)
        probabilities = self.key_probabilities()
        bad = ~((probabilities > 0) & (probabilities < 1))
        if bad.any():
            raise ValueError(f"FrameHMM: {int(bad.sum())} key probabilities are 0 or 1 (an infinite loss)")
        emission = self.hmm_.frame_probs(frames.astype(np.int64))
        _, scale = forward(emission, self.hmm_.startprob_, self.hmm_.transmat_)
        with np.errstate(divide="ignore"):
            return np.log(scale)

    def sample(self, n_frames: int, *, seed: int | None = None) -> np.ndarray:
        """Draw one chorale of ``n_frames`` frames, shape ``(n_frames, 88)`` bool."""
        self._check_fitted()
        symbols, _ = self.hmm_.sample(n_frames, random_state=seed)
        return np.asarray(symbols).reshape(n_frames, N_KEYS).astype(bool)

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write ``frame_model.json`` (settings) and the HMM (its own ``save``) into ``path``."""
        self._check_fitted()
        folder = _model_folder(path, overwrite)
        self.hmm_.save(folder / "hmm.npz", overwrite=overwrite)
        record = {"kind": self.kind, "n_states": self.n_states, "n_iter": self.n_iter, "tol": self.tol,
                  "pseudocount": self.pseudocount, "init": self.init, "random_state": self.random_state}
        (folder / _MODEL_FILE).write_text(json.dumps(record, indent=1))
        return folder

    @classmethod
    def load(cls, path: str | os.PathLike) -> FrameHMM:
        """A model written by :meth:`save`."""
        from .hmm import HMM

        record = _read_model_file(path, cls.kind)
        model = cls(record["n_states"], n_iter=record["n_iter"], tol=record["tol"],
                    pseudocount=record["pseudocount"], init=record["init"], random_state=record["random_state"])
        model.hmm_ = HMM.load(Path(path).expanduser() / "hmm.npz")
        return model

