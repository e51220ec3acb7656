"""A from-scratch hidden Markov model with discrete emissions, trained by Baum-Welch.

>>> model = HMM(n_states=16, n_iter=50, random_state=0).fit(sequences)  # list of int arrays
>>> model.score(held_out)                      # total log-likelihood (natural log)
>>> notes, states = model.sample(64, strategy="temperature", temperature=0.8)

The model is written with NumPy (SciPy for one sparse one-hot matrix) so that a reader
can follow every line; ``hmmlearn.hmm.CategoricalHMM`` is the reference it is tested
against, iteration by iteration, and ``benchmarks/hmm_vs_hmmlearn.py`` times the two.

Why the naive forward pass fails, and the fix
---------------------------------------------
The forward variable ``alpha_t(i) = P(x_1..x_t, z_t = i)`` is a product of ``t``
transition and emission probabilities, each below one. With 50 symbols it shrinks by
roughly a factor 50 per step, so after a few hundred steps it is smaller than the
smallest float64 (about 1e-308) and becomes exactly 0: the likelihood "is" 0, its log is
``-inf`` and every posterior is ``0/0 = NaN``. :func:`naive_forward` does exactly this,
to show it.

:func:`forward` rescales instead: at every step it divides ``alpha_t`` by its own sum
``c_t = P(x_t | x_1..x_{t-1})``, so the stored ``alpha_t(i) = P(z_t = i | x_1..x_t)``
always sums to one, and the log-likelihood is recovered exactly as
``log P(x_1..x_T) = sum_t log c_t``, a sum of moderate numbers instead of a product of
tiny ones. :func:`backward` divides by the same ``c_{t+1}``, so that ``alpha_t * beta_t``
is the posterior ``P(z_t = i | x)`` directly. This is Rabiner's scaling; it is as exact
as the log-space recursion (``hmmlearn``'s ``implementation="log"``) and much cheaper,
because it multiplies matrices instead of taking ``logsumexp`` over them.

Batching
--------
Sequences of very different lengths are trained together: :class:`PackedBatch` sorts
them by length (longest first) and stores time step ``t`` of every sequence that is
still running as one contiguous block of rows. One forward step is then a single
``(n_running, K) @ (K, K)`` product for all sequences at once; the Python loop runs over
time steps, never over sequences, and the batch shrinks as short sequences end. The
expected transition counts come out of the backward loop as one more small product per
step, the emission counts as one sparse product per pass (binary features, such as
88-key frames, as one dense product, and their emission probabilities as one product
in log space: :func:`_binary_frame_probs`). Corpora are cut into chunks
of about :data:`CHUNK_ROWS` steps so that memory stays bounded. Each time step costs a
few NumPy calls whatever the batch, so a single very long sequence (nothing to batch)
is the slow case: tens of microseconds per step, where hmmlearn's compiled loop is
many times faster. Many sequences of a corpus are the fast case (see the benchmark).

Factorized emissions
--------------------
An observation may have several features (for example pitch, duration class and
velocity class), each emitted independently given one shared hidden state:
``P(x_t | z_t) = prod_f P(x_t[f] | z_t)``. One state sequence then drives every feature
("one HMM to rule them all"). Pass 2-D sequences of shape ``(n_steps, n_features)``;
``emissionprob_`` is then a list with one ``(n_states, n_symbols_f)`` matrix per feature.
One feature is the special case where ``emissionprob_`` is a single matrix.

Teaching names
--------------
A reader of the classic HMM homework finds its names here as the real implementation:
:func:`init_mat`, :func:`forward`, :func:`backward`, :func:`softmax`,
:func:`temperature_choice`, :meth:`HMM.baum_welch` (= :meth:`HMM.fit`) and
:meth:`HMM.sample_sequence` (= :meth:`HMM.sample`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._config import check_int

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "HMM",
    "ConvergenceMonitor",
    "PackedBatch",
    "init_mat",
    "softmax",
    "temperature_choice",
    "naive_forward",
    "forward",
    "backward",
    "viterbi",
    "hmmlearn_reference",
    "CHUNK_ROWS",
    "FORMAT_VERSION",
]

#: Version of the ``.npz`` layout written by :meth:`HMM.save`.
FORMAT_VERSION = 1
_FORMAT_NAME = "musicalpy.hmm"
_INITS = ("random", "uniform")
_STRATEGIES = ("probabilistic", "temperature")
# Rows of a given probability matrix may be off by rounding (e.g. read from a CSV).
_SUM_TOLERANCE = 1e-6


# --------------------------------------------------------------------------- packing


@dataclass(frozen=True)
class PackedBatch:
    """Several sequences laid out time-major, longest first, without padding.

    Sequences are ranked by length (longest first, ties keep their order). Row block
    ``t`` (rows ``offsets[t]:offsets[t + 1]``) holds time step ``t`` of the
    ``n_active[t]`` sequences that are still running, in rank order. Because the ranks
    are sorted by length, the sequences running at ``t + 1`` are a prefix of those
    running at ``t``: the predecessor of block ``t + 1`` is the first
    ``n_active[t + 1]`` rows of block ``t``.

    Attributes
    ----------
    lengths : np.ndarray, shape=(n_sequences,)
        Length of each sequence, in the caller's order.
    rank : np.ndarray, shape=(n_sequences,)
        Position of each sequence (caller's order) in the longest-first ranking.
    offsets : np.ndarray, shape=(max_length + 1,)
        First row of each time block; ``offsets[-1]`` is the total number of rows.
    index : np.ndarray, shape=(n_rows,)
        Packed row of each row of the caller's concatenated sequences.
    sequence : np.ndarray, shape=(n_rows,)
        Caller's sequence number of each packed row.
    """

    lengths: np.ndarray
    rank: np.ndarray
    offsets: np.ndarray
    index: np.ndarray
    sequence: np.ndarray

    @classmethod
    def from_lengths(cls, lengths: Sequence[int] | np.ndarray) -> PackedBatch:
        """Build the layout for sequences of the given lengths (each at least 1)."""
        lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
        if lengths.size == 0:
            raise ValueError("lengths is empty: need at least one sequence")
        if (lengths < 1).any():
            bad = int(np.flatnonzero(lengths < 1)[0])
            raise ValueError(f"lengths[{bad}] is {lengths[bad]}: every sequence needs at least one step")
        n_sequences = lengths.size
        order = np.argsort(-lengths, kind="stable")
        rank = np.empty(n_sequences, dtype=np.int64)
        rank[order] = np.arange(n_sequences)
        max_length = int(lengths.max())
        ending_by = np.cumsum(np.bincount(lengths, minlength=max_length + 1))
        n_active = n_sequences - ending_by[:max_length]
        offsets = np.concatenate([[0], np.cumsum(n_active)])
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        step = np.arange(int(lengths.sum())) - np.repeat(starts, lengths)
        index = offsets[step] + np.repeat(rank, lengths)
        sequence = np.empty_like(index)
        sequence[index] = np.repeat(np.arange(n_sequences), lengths)
        return cls(lengths=lengths, rank=rank, offsets=offsets, index=index, sequence=sequence)

    @property
    def n_rows(self) -> int:
        """Total number of time steps over all sequences."""
        return int(self.offsets[-1])

    @property
    def n_active(self) -> np.ndarray:
        """Number of sequences running at each time step, shape ``(max_length,)``."""
        return np.diff(self.offsets)

    @property
    def last_rows(self) -> np.ndarray:
        """Packed row of the last step of each sequence (caller's order)."""
        return self.offsets[self.lengths - 1] + self.rank

    def pack(self, values: np.ndarray) -> np.ndarray:
        """Reorder rows from the caller's concatenated order into the packed layout."""
        packed = np.empty_like(values)
        packed[self.index] = values
        return packed

    def unpack(self, packed: np.ndarray) -> np.ndarray:
        """Reorder rows from the packed layout back into the caller's order."""
        return packed[self.index]

    def sequence_sums(self, packed_values: np.ndarray) -> np.ndarray:
        """Sum a per-row quantity (shape ``(n_rows,)``) over each sequence."""
        return np.bincount(self.sequence, weights=packed_values, minlength=self.lengths.size)

    def _check_rows(self, n_rows: int) -> None:
        if n_rows != self.n_rows:
            raise ValueError(f"frame_probs has {n_rows} rows but the batch holds {self.n_rows} steps")


def _single_batch(n_rows: int) -> PackedBatch:
    return PackedBatch.from_lengths([n_rows])


# ------------------------------------------------------------------ teaching helpers


def init_mat(
    n_rows: int,
    n_cols: int,
    init: str = "random",
    random_state: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Return a random or uniform row-stochastic matrix.

    Parameters
    ----------
    n_rows, n_cols : int
        Shape of the matrix.
    init : {"random", "uniform"}
        ``"random"`` draws every entry uniformly in [0, 1) and normalizes each row
        (hmmlearn's emission initialization);
        ``"uniform"`` gives every entry ``1 / n_cols``.
    random_state : int, numpy Generator or None
        Seed or generator for ``"random"``.

    Returns
    -------
    matrix : np.ndarray, shape=(n_rows, n_cols)
        Non-negative, each row sums to one.
    """
    if n_rows < 1 or n_cols < 1:
        raise ValueError(f"init_mat needs a positive shape; got ({n_rows}, {n_cols})")
    if init == "uniform":
        return np.full((n_rows, n_cols), 1.0 / n_cols)
    if init != "random":
        raise ValueError(f"init must be one of {_INITS}; got {init!r}")
    rng = np.random.default_rng(random_state)
    matrix = rng.random((n_rows, n_cols))
    return matrix / matrix.sum(axis=1, keepdims=True)


def softmax(logits: np.ndarray, temperature: float = 1.0, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax of ``logits / temperature`` along ``axis``.

    Entries equal to ``-inf`` get probability 0. Subtracting the maximum first keeps
    ``exp`` from overflowing; it does not change the result.
    """
    _check_temperature(temperature)
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled = scaled - np.max(scaled, axis=axis, keepdims=True)
    weights = np.exp(scaled)
    return weights / weights.sum(axis=axis, keepdims=True)


def temperature_choice(
    probs: np.ndarray,
    temperature: float = 1.0,
    random_state: int | np.random.Generator | None = None,
) -> int:
    """Draw an index from ``probs`` reshaped by a temperature.

    The draw is from ``softmax(log(probs) / temperature)``, i.e. proportional to
    ``probs ** (1 / temperature)``: 1 samples ``probs`` itself, below 1 sharpens
    toward the most likely index (0+ is argmax), above 1 flattens toward uniform.
    Zero-probability indices are never drawn.

    Parameters
    ----------
    probs : np.ndarray, shape=(n,)
        Non-negative weights (normalized inside).
    temperature : float
        Strictly positive.
    random_state : int, numpy Generator or None
        Seed or generator.

    Returns
    -------
    index : int
    """
    _check_temperature(temperature)
    probs = np.asarray(probs, dtype=np.float64)
    if temperature == 1.0:
        weights = probs
    else:
        with np.errstate(divide="ignore"):
            weights = softmax(np.log(probs), temperature)
    cumulative = np.cumsum(weights)
    if not cumulative[-1] > 0:
        raise ValueError("probs must be non-negative with a positive sum")
    rng = np.random.default_rng(random_state)
    index = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    return min(index, probs.size - 1)


def _check_temperature(temperature: float) -> None:
    if not (isinstance(temperature, (int, float, np.floating)) and temperature > 0):
        raise ValueError(f"temperature must be a number > 0; got {temperature!r}")


# ----------------------------------------------------------------- the three passes


def naive_forward(
    frame_probs: np.ndarray, startprob: np.ndarray, transmat: np.ndarray
) -> tuple[np.ndarray, float]:
    """The textbook forward pass without scaling, for one sequence. It underflows.

    ``alpha_0 = startprob * B_0``, ``alpha_t = (alpha_{t-1} @ transmat) * B_t``;
    the likelihood is ``alpha_{T-1}.sum()``. On a few hundred steps the product of
    probabilities falls below the smallest float and the result is exactly 0 (see the
    module docstring). Use :func:`forward` for real work.

    Parameters
    ----------
    frame_probs : np.ndarray, shape=(n_steps, n_states)
        ``B_t(i) = P(x_t | z_t = i)``, e.g. from :meth:`HMM.frame_probs`.
    startprob : np.ndarray, shape=(n_states,)
    transmat : np.ndarray, shape=(n_states, n_states)

    Returns
    -------
    alpha : np.ndarray, shape=(n_steps, n_states)
        Unscaled joint probabilities ``P(x_0..x_t, z_t = i)``.
    likelihood : float
        ``P(x_0..x_{T-1})``, 0.0 once it underflows.
    """
    frame_probs = np.asarray(frame_probs, dtype=np.float64)
    alpha = np.empty_like(frame_probs)
    with np.errstate(under="ignore"):
        alpha[0] = startprob * frame_probs[0]
        for t in range(1, len(frame_probs)):
            alpha[t] = (alpha[t - 1] @ transmat) * frame_probs[t]
    return alpha, float(alpha[-1].sum())


def forward(
    frame_probs: np.ndarray,
    startprob: np.ndarray,
    transmat: np.ndarray,
    batch: PackedBatch | None = None,
    *,
    out: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Scaled forward pass, batched over sequences.

    At every step ``alpha_t`` is divided by its sum ``c_t = P(x_t | x_<t)``, so it never
    underflows; ``log P(x) = sum_t log c_t`` (see the module docstring).

    Parameters
    ----------
    frame_probs : np.ndarray, shape=(n_rows, n_states)
        Emission likelihoods ``P(x_t | z_t = i)`` in the packed layout of ``batch``
        (for a single sequence, simply one row per step).
    startprob : np.ndarray, shape=(n_states,)
    transmat : np.ndarray, shape=(n_states, n_states)
    batch : PackedBatch or None
        Layout of the rows; None means one sequence.
    out : (np.ndarray, np.ndarray), optional
        Arrays of the result's shapes to write into (Baum-Welch reuses them across
        iterations instead of asking the OS for fresh memory each time).

    Returns
    -------
    alpha : np.ndarray, shape=(n_rows, n_states)
        Filtered state probabilities ``P(z_t = i | x_0..x_t)``; each row sums to one.
    scale : np.ndarray, shape=(n_rows,)
        ``c_t``. It is 0 at a step the model cannot emit (the sequence then has
        probability 0, and the rows after it are NaN).
    """
    frame_probs = np.asarray(frame_probs, dtype=np.float64)
    n_rows = frame_probs.shape[0]
    batch = _single_batch(n_rows) if batch is None else batch
    batch._check_rows(n_rows)
    offsets = batch.offsets.tolist()
    alpha, scale = (np.empty_like(frame_probs), np.empty(n_rows)) if out is None else out
    # Row sums as a product with a vector of ones, and a multiplication by 1 / c_t:
    # both measured faster than np.sum(axis=1) and a broadcast division on short rows.
    ones = np.ones(frame_probs.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        first = alpha[: offsets[1]]
        np.multiply(frame_probs[: offsets[1]], startprob, out=first)
        np.matmul(first, ones, out=scale[: offsets[1]])
        first *= (1.0 / scale[: offsets[1]])[:, None]
        for t in range(1, len(offsets) - 1):
            lo, hi, previous = offsets[t], offsets[t + 1], offsets[t - 1]
            current = alpha[lo:hi]
            # The running sequences at t are the first hi - lo of those at t - 1.
            np.matmul(alpha[previous : previous + hi - lo], transmat, out=current)
            current *= frame_probs[lo:hi]
            np.matmul(current, ones, out=scale[lo:hi])
            current *= (1.0 / scale[lo:hi])[:, None]
    return alpha, scale


def backward(
    frame_probs: np.ndarray,
    transmat: np.ndarray,
    scale: np.ndarray,
    batch: PackedBatch | None = None,
    *,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Scaled backward pass, batched over sequences.

    ``beta_T = 1`` and ``beta_t = transmat @ (B_{t+1} * beta_{t+1}) / c_{t+1}`` with the
    forward pass's ``c``, so that ``alpha * beta`` is the state posterior.

    Parameters
    ----------
    frame_probs : np.ndarray, shape=(n_rows, n_states)
        As for :func:`forward`.
    transmat : np.ndarray, shape=(n_states, n_states)
    scale : np.ndarray, shape=(n_rows,)
        The ``scale`` returned by :func:`forward`.
    batch : PackedBatch or None
        Layout of the rows; None means one sequence.
    out : np.ndarray, optional
        Array of the result's shape to write into.

    Returns
    -------
    beta : np.ndarray, shape=(n_rows, n_states)
        ``P(x_{t+1}..x_{T-1} | z_t = i) / prod_{s>t} c_s``.
    """
    frame_probs = np.asarray(frame_probs, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = frame_probs / scale[:, None]
    return _backward_scaled(scaled, transmat, batch, out=out)[0]


def _backward_scaled(
    scaled_frame: np.ndarray,
    transmat: np.ndarray,
    batch: PackedBatch | None = None,
    alpha: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The loop of :func:`backward`, on ``scaled_frame = B_t / c_t`` (overwritten).

    Without ``alpha`` it returns every ``beta_t``. With ``alpha`` (the E-step) it turns
    ``alpha`` into the posteriors ``gamma = alpha * beta`` in place and returns the
    summed transition posteriors instead; ``beta`` then only lives for two steps, which
    saves an ``(n_rows, n_states)`` array.

    ``xi_t(i, j) = alpha_t(i) A_ij B_{t+1}(j) beta_{t+1}(j) / c_{t+1}``. The factor
    after ``A_ij`` is the ``weighted`` block the backward step computes anyway, so the
    sum over ``t`` is ``A * sum_t alpha_t^T @ weighted_{t+1}``: one small matrix
    product per step, no extra pass over the data.
    """
    n_rows = scaled_frame.shape[0]
    batch = _single_batch(n_rows) if batch is None else batch
    batch._check_rows(n_rows)
    offsets = batch.offsets.tolist()
    transposed = transmat.T
    posteriors = alpha is not None
    if posteriors:
        xi = np.zeros_like(transmat)
        widest = offsets[1]
        rolling = [np.empty((widest, scaled_frame.shape[1])) for _ in range(2)]
    else:
        beta = np.empty_like(scaled_frame) if out is None else out
    following = None  # beta of step t + 1
    with np.errstate(invalid="ignore"):
        for t in range(len(offsets) - 2, -1, -1):
            lo, hi = offsets[t], offsets[t + 1]
            n_next = offsets[t + 2] - hi if t + 2 < len(offsets) else 0
            current = rolling[t % 2][: hi - lo] if posteriors else beta[lo:hi]
            current[n_next:] = 1.0  # sequences whose last step is t
            if n_next:
                weighted = scaled_frame[hi : hi + n_next]
                weighted *= following[:n_next]
                np.matmul(weighted, transposed, out=current[:n_next])
                if posteriors:
                    xi += alpha[lo : lo + n_next].T @ weighted
            if posteriors:
                alpha[lo:hi] *= current
            following = current
    if posteriors:
        return None, xi * transmat
    return beta, None


def viterbi(
    log_frame_probs: np.ndarray,
    log_startprob: np.ndarray,
    log_transmat: np.ndarray,
    batch: PackedBatch | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Most likely state path of every sequence (Viterbi, in log space), batched.

    Parameters
    ----------
    log_frame_probs : np.ndarray, shape=(n_rows, n_states)
        ``log P(x_t | z_t = i)`` in the packed layout of ``batch``.
    log_startprob : np.ndarray, shape=(n_states,)
    log_transmat : np.ndarray, shape=(n_states, n_states)
    batch : PackedBatch or None
        Layout of the rows; None means one sequence.

    Returns
    -------
    log_probs : np.ndarray, shape=(n_sequences,)
        ``log P(x, best path)`` per sequence, in the caller's order.
    states : np.ndarray, shape=(n_rows,)
        The best path, in the packed layout.
    """
    log_frame_probs = np.asarray(log_frame_probs, dtype=np.float64)
    n_rows, n_states = log_frame_probs.shape
    batch = _single_batch(n_rows) if batch is None else batch
    batch._check_rows(n_rows)
    offsets = batch.offsets.tolist()
    delta = np.empty_like(log_frame_probs)
    backpointer = np.empty((n_rows, n_states), dtype=np.intp)
    delta[: offsets[1]] = log_startprob + log_frame_probs[: offsets[1]]
    for t in range(1, len(offsets) - 1):
        lo, hi, previous = offsets[t], offsets[t + 1], offsets[t - 1]
        # scores[s, i, j]: best path of sequence s ending in i at t - 1, then i -> j
        scores = delta[previous : previous + hi - lo, :, None] + log_transmat
        best = scores.argmax(axis=1)
        backpointer[lo:hi] = best
        delta[lo:hi] = np.take_along_axis(scores, best[:, None, :], axis=1)[:, 0, :]
        delta[lo:hi] += log_frame_probs[lo:hi]
    states = np.empty(n_rows, dtype=np.intp)
    for t in range(len(offsets) - 2, -1, -1):
        lo, hi = offsets[t], offsets[t + 1]
        n_next = offsets[t + 2] - hi if t + 2 < len(offsets) else 0
        states[lo + n_next : hi] = delta[lo + n_next : hi].argmax(axis=1)
        if n_next:
            states[lo : lo + n_next] = backpointer[hi + np.arange(n_next), states[hi : hi + n_next]]
    log_probs = delta[batch.last_rows].max(axis=1)
    return log_probs, states


# ------------------------------------------------------------- Baum-Welch internals


def _one_blas_thread() -> contextlib.AbstractContextManager:
    """Run BLAS single-threaded inside the passes.

    Every time step multiplies a small ``(n_running, K) @ (K, K)`` matrix; a threaded
    BLAS wakes and joins its threads hundreds of times per pass, which costs more than
    the product itself and collapses when other processes share the cores (measured
    20-40x slower on a busy 2-core machine). threadpoolctl ships with hmmlearn's
    scikit-learn; without it BLAS keeps its default.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _frame_probs(
    emissions: list[np.ndarray], columns: list[np.ndarray], out: np.ndarray | None = None,
    matrix: np.ndarray | None = None,
) -> np.ndarray:
    """Product over features of ``emissionprob[f][:, x[f]]``, shape ``(n_rows, n_states)``.

    Many binary features (88-key frames) take :func:`_binary_frame_probs`, one matrix
    product; ``matrix`` is then the rows' symbols as floats, shape ``(n_rows,
    n_features)``, when the caller keeps them (else they are stacked from ``columns``).
    """
    if _binary_features(emissions):
        if matrix is None:
            matrix = np.column_stack(columns).astype(np.float64)
        return _binary_frame_probs(emissions, matrix, out=out)
    return _frame_probs_per_feature(emissions, columns, out=out)


def _binary_features(emissions: list[np.ndarray]) -> bool:
    """Whether the matrix-product path applies: several features, each with two
    symbols, and no probability exactly 0 (whose log would turn ``0 * log 0`` into NaN)."""
    return len(emissions) > 1 and all(e.shape[1] == 2 and (e > 0).all() for e in emissions)


def _binary_vocabulary(n_symbols: list[int]) -> bool:
    """Whether the E-step counts emissions with :func:`_binary_emission_counts`."""
    return len(n_symbols) > 1 and all(size == 2 for size in n_symbols)


def _frame_probs_per_feature(
    emissions: list[np.ndarray], columns: list[np.ndarray], out: np.ndarray | None = None
) -> np.ndarray:
    """:func:`_frame_probs` as one gather and multiply per feature (any vocabulary)."""
    n_states = emissions[0].shape[0]
    frame = np.empty((columns[0].shape[0], n_states)) if out is None else out
    np.take(np.ascontiguousarray(emissions[0].T), columns[0], axis=0, out=frame, mode="clip")
    for emission, column in zip(emissions[1:], columns[1:], strict=True):
        frame *= np.take(np.ascontiguousarray(emission.T), column, axis=0)
    return frame


def _binary_frame_probs(emissions: list[np.ndarray], matrix: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """:func:`_frame_probs` of binary features as one matrix product in log space.

    ``log P(x | i) = sum_f x_f log(p_if / q_if) + sum_f log q_if`` with ``p`` the "1"
    and ``q`` the "0" probabilities: ``matrix @ log_odds.T + constant``. With 88 keys
    this replaces 88 gathers and multiplies of ``(n_rows, n_states)`` arrays, which were
    about 70% of a Baum-Welch iteration at 256 states.

    Parameters
    ----------
    emissions : list of np.ndarray, each shape=(n_states, 2), no zeros
    matrix : np.ndarray, shape=(n_rows, n_features), float64 of 0 and 1

    Returns
    -------
    frame : np.ndarray, shape=(n_rows, n_states)
    """
    log_off = np.log(np.stack([e[:, 0] for e in emissions], axis=1))  # (K, F)
    log_on = np.log(np.stack([e[:, 1] for e in emissions], axis=1))
    frame = np.matmul(matrix, (log_on - log_off).T, out=out)
    frame += log_off.sum(axis=1)
    return np.exp(frame, out=frame)


def _binary_emission_counts(matrix: np.ndarray, gamma: np.ndarray) -> list[np.ndarray]:
    """Expected emission counts of binary features: ``matrix.T @ gamma`` for the ones,
    the state totals minus those for the zeros; one ``(n_states, 2)`` array per feature."""
    on = matrix.T @ gamma  # (F, K)
    off = gamma.sum(axis=0) - on
    return list(np.stack([off, on], axis=2))


#: Rows (time steps summed over sequences) that one pass holds at once. Sequences are
#: processed in chunks of about this many rows, longest first, so that the two per-row
#: arrays stay near 32 MB each at 32 states however large the corpus: memory stays
#: bounded and reused, and a fresh process pays fewer page faults. Each chunk costs one
#: more Python loop over its time steps, hence not much smaller (measured on the Bach
#: chorales: 2**15 rows is 1.5x slower than 2**17).
CHUNK_ROWS = 1 << 17


@dataclass(frozen=True)
class _Chunk:
    """Some of the sequences, packed, with their place in the caller's data."""

    sequences: np.ndarray  # caller's sequence numbers
    rows: np.ndarray  # caller's row numbers, in the order of ``sequences``
    batch: PackedBatch
    columns: list[np.ndarray]  # packed symbols, one array per feature

    @cached_property
    def matrix(self) -> np.ndarray:
        """The packed symbols as floats, shape ``(n_rows, n_features)``, for the
        matrix-product path of binary features (built once per chunk, on first use)."""
        return np.column_stack(self.columns).astype(np.float64)


def _chunks(data: np.ndarray, lengths: np.ndarray) -> list[_Chunk]:
    """Split sequences, sorted longest first, into chunks of about :data:`CHUNK_ROWS` rows."""
    max_rows = max(int(CHUNK_ROWS), 1)
    order = np.argsort(-lengths, kind="stable")
    sorted_lengths = lengths[order]
    group = (np.cumsum(sorted_lengths) - sorted_lengths) // max_rows
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    chunks = []
    for number in np.unique(group):
        sequences = order[group == number]
        sub_lengths = lengths[sequences]
        sub_starts = np.concatenate([[0], np.cumsum(sub_lengths)[:-1]])
        rows = np.arange(int(sub_lengths.sum())) + np.repeat(starts[sequences] - sub_starts, sub_lengths)
        batch = PackedBatch.from_lengths(sub_lengths)
        packed = batch.pack(data[rows])
        columns = [np.ascontiguousarray(packed[:, f]) for f in range(packed.shape[1])]
        chunks.append(_Chunk(sequences, rows, batch, columns))
    return chunks


def _one_hot_columns(chunks: list[_Chunk], n_symbols: list[int]) -> list[list]:
    """Per chunk and feature, the sparse ``(V_f, n_rows)`` matrix with a 1 where a row
    shows a symbol, so that the emission counts of the E-step are ``one_hot @ gamma``."""
    from scipy import sparse

    return [
        [sparse.csr_matrix((np.ones(column.size), (column, np.arange(column.size))), shape=(size, column.size))
         for column, size in zip(chunk.columns, n_symbols, strict=True)]
        for chunk in chunks
    ]


class _Workspace:
    """The per-row arrays of a pass, allocated once for the largest chunk and reused."""

    def __init__(self, n_rows: int, n_states: int) -> None:
        self.frame = np.empty((n_rows, n_states))
        self.alpha = np.empty((n_rows, n_states))
        self.scale = np.empty(n_rows)

    @classmethod
    def for_chunks(cls, chunks: list[_Chunk], n_states: int) -> _Workspace:
        return cls(max(chunk.batch.n_rows for chunk in chunks), n_states)

    def forward(
        self, chunk: _Chunk, emissions: list[np.ndarray], startprob: np.ndarray, transmat: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frame probabilities and the forward pass of one chunk, in the reused arrays."""
        n_rows = chunk.batch.n_rows
        binary = _binary_features(emissions)
        frame = _frame_probs(emissions, chunk.columns, out=self.frame[:n_rows],
                             matrix=chunk.matrix if binary else None)
        alpha, scale = forward(frame, startprob, transmat, chunk.batch,
                               out=(self.alpha[:n_rows], self.scale[:n_rows]))
        return frame, alpha, scale


@dataclass
class _SufficientStatistics:
    """What the E-step accumulates over the training data: the log-likelihood under the
    current parameters and the expected start, transition and emission counts."""

    log_likelihood: float
    start: np.ndarray  # (K,)
    transitions: np.ndarray  # (K, K)
    emissions: list[np.ndarray]  # one (K, V_f) per feature

    @classmethod
    def zeros(cls, n_states: int, emissions: list[np.ndarray]) -> _SufficientStatistics:
        return cls(0.0, np.zeros(n_states), np.zeros((n_states, n_states)), [np.zeros_like(e) for e in emissions])

    def add(self, other: _SufficientStatistics) -> None:
        self.log_likelihood += other.log_likelihood
        self.start += other.start
        self.transitions += other.transitions
        for total, part in zip(self.emissions, other.emissions, strict=True):
            total += part


def _expected_counts(
    emissions: list[np.ndarray],
    startprob: np.ndarray,
    transmat: np.ndarray,
    chunk: _Chunk,
    one_hots: list | None,
    work: _Workspace,
) -> _SufficientStatistics:
    """E-step on one chunk: log-likelihood and expected start, transition, emission counts."""
    frame, alpha, scale = work.forward(chunk, emissions, startprob, transmat)
    if not (scale > 0).all():
        row = int(np.flatnonzero(~(scale > 0))[0])
        sequence = int(chunk.sequences[chunk.batch.sequence[row]])
        raise ValueError(
            f"sequence {sequence} has probability 0 under the current parameters "
            "(a symbol its state can never emit); start from parameters without zeros"
        )
    log_likelihood = float(np.log(scale).sum())
    frame /= scale[:, None]  # the backward pass only needs B_t / c_t
    _, trans_counts = _backward_scaled(frame, transmat, chunk.batch, alpha=alpha)
    gamma = alpha
    start_counts = gamma[: chunk.batch.offsets[1]].sum(axis=0)
    if one_hots is None:  # binary features: one dense product instead of one sparse one per feature
        emission_counts = _binary_emission_counts(chunk.matrix, gamma)
    else:
        emission_counts = [np.asarray(one_hot @ gamma).T for one_hot in one_hots]
    return _SufficientStatistics(log_likelihood, start_counts, trans_counts, emission_counts)


def _normalize_rows(counts: np.ndarray, pseudocount: float) -> np.ndarray:
    """Rows of ``counts + pseudocount`` divided by their sums; an all-zero row -> uniform."""
    counts = counts + pseudocount if pseudocount else counts.copy()
    totals = counts.sum(axis=-1, keepdims=True)
    empty = totals <= 0
    if empty.any():
        # A state that no data reaches: any row maximizes the EM objective, and uniform
        # keeps it a valid distribution instead of 0/0 = NaN.
        counts = np.where(empty, 1.0, counts)
        totals = np.where(empty, counts.shape[-1], totals)
    return counts / totals


# ------------------------------------------------------------------- input handling


def _as_observations(
    X: Any, lengths: Sequence[int] | np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Return ``(data (n_rows, n_features) int64, lengths, given_as_list)``."""
    if isinstance(X, (list, tuple)):
        if lengths is not None:
            raise ValueError("lengths is only used with one concatenated array X, not with a list of sequences")
        if len(X) == 0:
            raise ValueError("sequences is empty: need at least one sequence")
        arrays = [np.asarray(sequence) for sequence in X]
        n_dims = {a.ndim for a in arrays}
        if not n_dims <= {1, 2} or len(n_dims) != 1:
            raise ValueError(
                "sequences must all be 1-D arrays (one feature) or all 2-D arrays "
                f"(n_steps, n_features); got dimensions {sorted(n_dims)}. "
                "Wrap a single sequence in a list: [sequence]"
            )
        for i, array in enumerate(arrays):
            if array.shape[0] == 0:
                raise ValueError(f"sequence {i} is empty: every sequence needs at least one step")
        tables = [a.reshape(a.shape[0], -1) for a in arrays]
        widths = sorted({table.shape[1] for table in tables})
        if len(widths) > 1:
            raise ValueError(f"sequences have different numbers of features (columns): {widths}")
        data = np.concatenate(tables)
        lengths_array = np.array([a.shape[0] for a in arrays], dtype=np.int64)
        given_as_list = True
    else:
        data = np.asarray(X)
        if data.ndim == 1:
            data = data[:, None]
        if data.ndim != 2:
            raise ValueError(f"X must be 1-D or 2-D (n_steps, n_features); got shape {data.shape}")
        if data.shape[0] == 0:
            raise ValueError("X is empty: need at least one observation")
        if lengths is None:
            lengths_array = np.array([data.shape[0]], dtype=np.int64)
        else:
            lengths_array = np.asarray(lengths).reshape(-1)
            if not np.issubdtype(lengths_array.dtype, np.integer):
                raise ValueError(f"lengths must be integers; got dtype {lengths_array.dtype}")
            if (lengths_array < 1).any():
                bad = int(np.flatnonzero(lengths_array < 1)[0])
                raise ValueError(f"lengths[{bad}] is {lengths_array[bad]}: empty sequences are not allowed")
            if lengths_array.sum() != data.shape[0]:
                raise ValueError(f"lengths sum to {lengths_array.sum()} but X has {data.shape[0]} rows")
            lengths_array = lengths_array.astype(np.int64)
        given_as_list = False
    if data.shape[1] == 0:
        raise ValueError("observations have 0 features")
    if data.dtype == bool or not np.issubdtype(data.dtype, np.integer):
        raise ValueError(f"observations must be integer symbol ids; got dtype {data.dtype}")
    if (data < 0).any():
        raise ValueError(f"observations must be >= 0 (symbol ids); found {int(data.min())}")
    return data.astype(np.int64, copy=False), lengths_array, given_as_list


def _split(values: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    return np.split(values, np.cumsum(lengths)[:-1])


# ------------------------------------------------------------------------- the model


class ConvergenceMonitor:
    """Records the log-likelihood of each Baum-Welch iteration and says when to stop.

    The shape of hmmlearn's ``ConvergenceMonitor``, with one difference: ``tol`` is
    *relative* (``|L_i - L_{i-1}| / |L_{i-1}|``), so one setting suits short and long
    corpora alike.

    Parameters
    ----------
    tol : float
        Relative change below which training has converged; 0 or negative never stops
        early.
    n_iter : int
        Iterations at most.

    Attributes
    ----------
    history : list of float
        Log-likelihood entering each iteration (before its M-step).
    """

    def __init__(self, tol: float, n_iter: int) -> None:
        self.tol = float(tol)
        self.n_iter = check_int("n_iter", n_iter, minimum=0)
        self.history: list[float] = []

    @property
    def iter(self) -> int:
        """Iterations recorded so far."""
        return len(self.history)

    def change(self) -> tuple[float, float]:
        """The last iteration's absolute and relative change (NaN before two)."""
        if len(self.history) < 2:
            return math.nan, math.nan
        previous, current = self.history[-2], self.history[-1]
        delta = current - previous
        if delta == 0:
            return 0.0, 0.0  # also when both are 0 (data the model predicts with certainty)
        return delta, delta / abs(previous) if previous else math.inf

    def report(self, log_likelihood: float) -> None:
        """Record one iteration's log-likelihood."""
        self.history.append(float(log_likelihood))

    @property
    def converged(self) -> bool:
        """True once the relative change of the last iteration is below ``tol``."""
        return len(self.history) > 1 and abs(self.change()[1]) < self.tol


class HMM:
    """Hidden Markov model with discrete (optionally factorized) emissions.

    Parameters
    ----------
    n_states : int
        Number of hidden states ``K`` (at least 1).
    n_iter : int
        Maximum number of Baum-Welch iterations.
    tol : float
        Stop when the relative change of the log-likelihood between two iterations,
        ``|L_i - L_{i-1}| / |L_{i-1}|``, falls below ``tol``; 0 or negative never stops
        early. (hmmlearn's ``tol`` is absolute; this one is relative.)
    init : {"random", "uniform"}
        How parameters not given in ``init_params`` start (see :func:`init_mat`).
        ``"uniform"`` makes every state identical, and EM can never tell identical states
        apart: it then learns a one-state model (a unigram). Useful only to show that.
    random_state : int, numpy Generator or None
        Seed for the initial parameters and the default generator of :meth:`sample`.
    verbose : bool
        Show a tqdm progress bar with the log-likelihood, its change and relative change.
    n_symbols : int, sequence of int or None
        Vocabulary size per feature; None infers ``max + 1`` from the training data.
    init_params : mapping or None
        Starting parameters: any of ``"startprob"`` (K,), ``"transmat"`` (K, K),
        ``"emissionprob"`` ((K, V) or a list of one (K, V_f) per feature). Missing ones
        are drawn by ``init``. Lets tests start this model and hmmlearn from the same
        point.
    pseudocount : float
        Added to every expected transition and emission count before normalizing
        (additive smoothing; 0 is plain maximum likelihood, as hmmlearn's default).
        Independently of it, a state that no data reaches (an all-zero row of counts)
        gets a uniform row, so parameters never become NaN. With ``pseudocount > 0`` it
        is the smoothed objective, not the log-likelihood, that EM cannot decrease.

    Attributes
    ----------
    startprob_ : np.ndarray, shape=(n_states,)
    transmat_ : np.ndarray, shape=(n_states, n_states)
        ``transmat_[i, j] = P(z_{t+1} = j | z_t = i)``.
    emissionprob_ : np.ndarray, shape=(n_states, n_symbols), or list of such
        One matrix per feature; a single matrix when there is one feature.
    history_ : list of float
        Log-likelihood of the training data under the parameters *entering* each
        iteration (before its M-step), exactly as hmmlearn's ``monitor_.history``.
    converged_ : bool
        Whether the relative change fell below ``tol`` before ``n_iter``.
    n_iter_ : int
        Number of iterations run.
    monitor_ : ConvergenceMonitor
        The convergence record of the last :meth:`fit` (``history_``, ``converged_``
        and ``n_iter_`` are read from it).
    """

    def __init__(
        self,
        n_states: int = 10,
        n_iter: int = 100,
        tol: float = 1e-4,
        init: str = "random",
        random_state: int | np.random.Generator | None = None,
        verbose: bool = True,
        n_symbols: int | Sequence[int] | None = None,
        init_params: Mapping[str, Any] | None = None,
        pseudocount: float = 0.0,
    ) -> None:
        n_states = check_int("n_states", n_states, minimum=1)
        n_iter = check_int("n_iter", n_iter, minimum=0)
        if init not in _INITS:
            raise ValueError(f"init must be one of {_INITS}; got {init!r}")
        if not pseudocount >= 0:
            raise ValueError(f"pseudocount must be >= 0; got {pseudocount!r}")
        if init_params is not None:
            unknown = set(init_params) - {"startprob", "transmat", "emissionprob"}
            if unknown:
                raise ValueError(f"init_params has unknown keys {sorted(unknown)}; "
                                 "expected startprob, transmat, emissionprob")
        self.n_states = int(n_states)
        self.n_iter = int(n_iter)
        self.tol = float(tol)
        self.init = init
        self.random_state = random_state
        self.verbose = verbose
        self.n_symbols = n_symbols
        self.init_params = init_params
        self.pseudocount = float(pseudocount)

    # ----------------------------------------------------------------- bookkeeping

    def get_params(self) -> dict[str, Any]:
        """The hyperparameters given to ``__init__``."""
        return {
            "n_states": self.n_states,
            "n_iter": self.n_iter,
            "tol": self.tol,
            "init": self.init,
            "random_state": self.random_state,
            "verbose": self.verbose,
            "n_symbols": self.n_symbols,
            "init_params": self.init_params,
            "pseudocount": self.pseudocount,
        }

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.get_params().items() if k != "init_params"}
        if self.init_params is not None:
            shown["init_params"] = "{...}"
        return "HMM(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    @property
    def emissions_(self) -> list[np.ndarray]:
        """``emissionprob_`` as a list of matrices, one per feature."""
        self._check_fitted()
        emission = self.emissionprob_
        if isinstance(emission, np.ndarray) and emission.ndim == 2:
            return [emission]
        return list(emission)

    @property
    def n_features_(self) -> int:
        """Number of emitted features per time step."""
        return len(self.emissions_)

    @property
    def n_symbols_(self) -> list[int]:
        """Vocabulary size of each feature."""
        return [int(e.shape[1]) for e in self.emissions_]

    def _check_fitted(self) -> None:
        if not all(hasattr(self, name) for name in ("startprob_", "transmat_", "emissionprob_")):
            raise ValueError("this HMM has no parameters yet: call fit(), load() or from_parameters()")

    def _set_parameters(self, startprob: np.ndarray, transmat: np.ndarray, emissions: list[np.ndarray]) -> None:
        self.startprob_ = startprob
        self.transmat_ = transmat
        self.emissionprob_ = emissions[0] if len(emissions) == 1 else list(emissions)

    @classmethod
    def from_parameters(
        cls,
        startprob: np.ndarray,
        transmat: np.ndarray,
        emissionprob: np.ndarray | Sequence[np.ndarray],
        **hyperparameters: Any,
    ) -> HMM:
        """Build a model with the given parameters (checked to be distributions)."""
        startprob = np.asarray(startprob, dtype=np.float64)
        model = cls(n_states=int(startprob.shape[0]), **hyperparameters)
        emissions = _emission_list(emissionprob)
        _check_parameters(startprob, np.asarray(transmat, dtype=np.float64), emissions, model.n_states)
        model._set_parameters(startprob, np.asarray(transmat, dtype=np.float64), emissions)
        model.history_ = []
        model.converged_ = False
        model.n_iter_ = 0
        return model

    # ---------------------------------------------------------------------- fitting

    def _vocabulary(self, data: np.ndarray) -> list[int]:
        n_features = data.shape[1]
        seen = (data.max(axis=0) + 1).tolist()
        given: list[int] | None = None
        if self.n_symbols is not None:
            given = [int(v) for v in np.atleast_1d(self.n_symbols)]
        elif self.init_params is not None and "emissionprob" in self.init_params:
            given = [e.shape[1] for e in _emission_list(self.init_params["emissionprob"])]
        if given is None:
            return [int(v) for v in seen]
        if len(given) != n_features:
            raise ValueError(f"n_symbols gives {len(given)} vocabulary sizes but the data has {n_features} features")
        for feature, (size, needed) in enumerate(zip(given, seen, strict=True)):
            if needed > size:
                raise ValueError(
                    f"feature {feature} has symbol {needed - 1}, outside the vocabulary "
                    f"0..{size - 1} (n_symbols={size})"
                )
        return given

    def _initial_parameters(
        self, n_symbols: list[int], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        given = dict(self.init_params or {})
        k = self.n_states
        startprob = (np.asarray(given["startprob"], dtype=np.float64) if "startprob" in given
                     else init_mat(1, k, self.init, rng)[0])
        transmat = (np.asarray(given["transmat"], dtype=np.float64) if "transmat" in given
                    else init_mat(k, k, self.init, rng))
        if "emissionprob" in given:
            emissions = _emission_list(given["emissionprob"])
        else:
            emissions = [init_mat(k, v, self.init, rng) for v in n_symbols]
        _check_parameters(startprob, transmat, emissions, k)
        if [e.shape[1] for e in emissions] != list(n_symbols):
            raise ValueError(f"init_params emissionprob has vocabulary sizes "
                             f"{[e.shape[1] for e in emissions]}, expected {n_symbols}")
        return startprob.copy(), transmat.copy(), [e.copy() for e in emissions]

    def fit(self, X: Any, lengths: Sequence[int] | np.ndarray | None = None) -> HMM:
        """Estimate the parameters by Baum-Welch (EM) on one or many sequences.

        Each iteration is an E-step (:meth:`_e_step`: forward-backward, expected counts),
        an M-step (:meth:`_m_step`: the counts normalized) and a report to the
        :class:`ConvergenceMonitor` in ``monitor_``, which stops training when the
        relative change of the log-likelihood falls below ``tol``.

        Parameters
        ----------
        X : list of np.ndarray, or np.ndarray
            Either a list of sequences, each of shape ``(n_steps,)`` (one feature) or
            ``(n_steps, n_features)`` (factorized emissions), or one concatenated array
            of shape ``(n_rows,)`` / ``(n_rows, n_features)`` split by ``lengths``.
            Integer symbol ids ``0..n_symbols-1``.
        lengths : array of int, shape=(n_sequences,), optional
            Lengths of the sequences in a concatenated ``X`` (hmmlearn's convention).

        Returns
        -------
        self : HMM
        """
        from tqdm.auto import tqdm

        data, lengths, _ = _as_observations(X, lengths)
        n_symbols = self._vocabulary(data)
        rng = np.random.default_rng(self.random_state)
        startprob, transmat, emissions = self._initial_parameters(n_symbols, rng)
        chunks = _chunks(data, lengths)
        # Binary features count their emissions with a dense product (see _binary_emission_counts).
        one_hots = [None] * len(chunks) if _binary_vocabulary(n_symbols) else _one_hot_columns(chunks, n_symbols)

        self.monitor_ = ConvergenceMonitor(self.tol, self.n_iter)
        work = _Workspace.for_chunks(chunks, self.n_states) if self.n_iter else None
        progress = tqdm(total=self.n_iter, desc="Baum-Welch", unit="iter", disable=not self.verbose)
        with progress, _one_blas_thread():
            for _ in range(self.n_iter):
                stats = self._e_step(chunks, one_hots, work, startprob, transmat, emissions)
                startprob, transmat, emissions = self._m_step(stats)
                self.monitor_.report(stats.log_likelihood)
                delta, relative = self.monitor_.change()
                progress.set_postfix(log_likelihood=f"{stats.log_likelihood:.6g}", delta=f"{delta:+.4g}",
                                     relative=f"{relative:+.3g}", refresh=False)
                progress.update()
                if self.monitor_.converged:
                    break
        self._set_parameters(startprob, transmat, emissions)
        self.history_ = list(self.monitor_.history)
        self.converged_ = self.monitor_.converged
        self.n_iter_ = self.monitor_.iter
        return self

    def _e_step(
        self,
        chunks: list[_Chunk],
        one_hots: list[list | None],
        work: _Workspace,
        startprob: np.ndarray,
        transmat: np.ndarray,
        emissions: list[np.ndarray],
    ) -> _SufficientStatistics:
        """Forward-backward over every chunk: the expected counts under the current
        parameters, summed over all training sequences."""
        stats = _SufficientStatistics.zeros(self.n_states, emissions)
        for chunk, chunk_one_hots in zip(chunks, one_hots, strict=True):
            stats.add(_expected_counts(emissions, startprob, transmat, chunk, chunk_one_hots, work))
        return stats

    def _m_step(self, stats: _SufficientStatistics) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """New parameters: the expected counts normalized, transitions and emissions
        smoothed by ``pseudocount`` (the start distribution is not)."""
        startprob = _normalize_rows(stats.start, 0.0)
        transmat = _normalize_rows(stats.transitions, self.pseudocount)
        emissions = [_normalize_rows(counts, self.pseudocount) for counts in stats.emissions]
        return startprob, transmat, emissions

    #: The homework's name for :meth:`fit`.
    baum_welch = fit

    def convergence_table(self) -> pd.DataFrame:
        """The convergence record: one row per iteration.

        Returns
        -------
        table : pandas.DataFrame
            Columns ``iteration``, ``log_likelihood``, ``delta``, ``relative_change``.
        """
        import pandas as pd

        history = np.asarray(getattr(self, "history_", []), dtype=np.float64)
        delta = np.concatenate([[np.nan], np.diff(history)]) if history.size else history
        with np.errstate(divide="ignore", invalid="ignore"):
            relative = delta / np.abs(np.concatenate([[np.nan], history[:-1]])) if history.size else history
        return pd.DataFrame({
            "iteration": np.arange(1, history.size + 1),
            "log_likelihood": history,
            "delta": delta,
            "relative_change": relative,
        })

    # --------------------------------------------------------------------- inference

    def _checked_data(self, X: Any, lengths: Any) -> tuple[np.ndarray, np.ndarray, bool]:
        self._check_fitted()
        data, lengths, as_list = _as_observations(X, lengths)
        if data.shape[1] != self.n_features_:
            raise ValueError(f"the model emits {self.n_features_} feature(s) per step; "
                             f"the data has {data.shape[1]}")
        for feature, size in enumerate(self.n_symbols_):
            column = data[:, feature]
            if column.max() >= size:
                row = int(np.flatnonzero(column >= size)[0])
                sequence = int(np.searchsorted(np.cumsum(lengths), row, side="right"))
                where = f"sequence {sequence}" + ("" if self.n_features_ == 1 else f", feature {feature}")
                raise ValueError(f"{where}: symbol {int(column[row])} is outside the fitted vocabulary "
                                 f"0..{size - 1}; map unseen symbols before scoring")
        return data, lengths, as_list

    def frame_probs(self, X: Any, lengths: Any = None) -> np.ndarray:
        """Emission likelihoods ``P(x_t | z_t = i)`` of every row, shape ``(n_rows, n_states)``.

        Rows follow the concatenated input order (the input to :func:`naive_forward`
        and, for one sequence, to :func:`forward`).
        """
        data, _, _ = self._checked_data(X, lengths)
        return _frame_probs(self.emissions_, [data[:, f] for f in range(data.shape[1])])

    def _passes(self, X: Any, lengths: Any, posteriors: bool):
        data, lengths, as_list = self._checked_data(X, lengths)
        chunks = _chunks(data, lengths)
        n_states = self.startprob_.shape[0]  # parameters may have been assigned by hand
        work = _Workspace.for_chunks(chunks, n_states)
        log_likelihoods = np.empty(lengths.size)
        gamma = np.empty((data.shape[0], n_states)) if posteriors else None
        with _one_blas_thread():
            for chunk in chunks:
                frame, alpha, scale = work.forward(chunk, self.emissions_, self.startprob_, self.transmat_)
                with np.errstate(divide="ignore"):
                    log_likelihoods[chunk.sequences] = chunk.batch.sequence_sums(
                        np.log(np.nan_to_num(scale, nan=0.0)))
                if not posteriors:
                    continue
                impossible = ~(scale > 0)
                if impossible.any():
                    sequence = int(chunk.sequences[chunk.batch.sequence[np.flatnonzero(impossible)[0]]])
                    raise ValueError(f"sequence {sequence} has probability 0 under the model: "
                                     "its state posteriors are undefined")
                frame /= scale[:, None]
                _backward_scaled(frame, self.transmat_, chunk.batch, alpha=alpha)
                gamma[chunk.rows] = chunk.batch.unpack(alpha)  # alpha now holds the posteriors
        return log_likelihoods, gamma, lengths, as_list

    def log_likelihoods(self, X: Any, lengths: Any = None) -> np.ndarray:
        """Log-likelihood of each sequence, shape ``(n_sequences,)`` (``-inf`` if impossible)."""
        return self._passes(X, lengths, posteriors=False)[0]

    def score(self, X: Any, lengths: Any = None) -> float:
        """Total log-likelihood (natural log) of the sequences (see :meth:`fit` for ``X``)."""
        return float(self.log_likelihoods(X, lengths).sum())

    def score_samples(self, X: Any, lengths: Any = None) -> tuple[float, np.ndarray | list[np.ndarray]]:
        """Total log-likelihood and state posteriors ``P(z_t = i | x)``.

        Returns
        -------
        log_prob : float
        posteriors : np.ndarray, shape=(n_rows, n_states), or a list of
            ``(n_steps, n_states)`` arrays when ``X`` was a list of sequences.
        """
        log_likelihoods, gamma, lengths, as_list = self._passes(X, lengths, posteriors=True)
        return float(log_likelihoods.sum()), (_split(gamma, lengths) if as_list else gamma)

    def predict_proba(self, X: Any, lengths: Any = None) -> np.ndarray | list[np.ndarray]:
        """State posteriors ``P(z_t = i | x)`` (see :meth:`score_samples`)."""
        return self.score_samples(X, lengths)[1]

    def decode(self, X: Any, lengths: Any = None) -> tuple[float, np.ndarray | list[np.ndarray]]:
        """Most likely state path (Viterbi).

        Returns
        -------
        log_prob : float
            ``log P(x, best path)`` summed over the sequences.
        states : np.ndarray, shape=(n_rows,), or a list of ``(n_steps,)`` arrays when
            ``X`` was a list of sequences.
        """
        data, lengths, as_list = self._checked_data(X, lengths)
        states = np.empty(data.shape[0], dtype=np.intp)
        log_prob = 0.0
        with np.errstate(divide="ignore"):
            log_startprob, log_transmat = np.log(self.startprob_), np.log(self.transmat_)
            for chunk in _chunks(data, lengths):
                matrix = chunk.matrix if _binary_features(self.emissions_) else None
                log_frame = np.log(_frame_probs(self.emissions_, chunk.columns, matrix=matrix))
                log_probs, chunk_states = viterbi(log_frame, log_startprob, log_transmat, chunk.batch)
                log_prob += float(log_probs.sum())
                states[chunk.rows] = chunk.batch.unpack(chunk_states)
        return log_prob, (_split(states, lengths) if as_list else states)

    def predict(self, X: Any, lengths: Any = None) -> np.ndarray | list[np.ndarray]:
        """The Viterbi state path (see :meth:`decode`)."""
        return self.decode(X, lengths)[1]

    # ---------------------------------------------------------------------- sampling

    def _sampling_rng(self, random_state: int | np.random.Generator | None) -> np.random.Generator:
        if random_state is not None:
            return np.random.default_rng(random_state)
        # One generator per model, seeded by random_state: successive calls differ, yet a
        # seeded model replays the same series of samples.
        if getattr(self, "_rng", None) is None:
            self._rng = np.random.default_rng(self.random_state)
        return self._rng

    def sample(
        self,
        length: int,
        strategy: str = "probabilistic",
        temperature: float = 1.0,
        random_state: int | np.random.Generator | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Generate one sequence.

        Parameters
        ----------
        length : int
            Number of steps (at least 1).
        strategy : {"probabilistic", "temperature"}
            ``"probabilistic"`` draws every state and symbol from the model's
            distributions; ``"temperature"`` draws them from the distributions reshaped
            by ``temperature`` (see :func:`temperature_choice`), both the next state and
            the emitted symbols.
        temperature : float
            Strictly positive; only ``"temperature"`` uses a value other than 1.
        random_state : int, numpy Generator or None
            None uses the model's own generator (seeded by ``random_state``).

        Returns
        -------
        observations : np.ndarray, shape=(length,) or (length, n_features)
        states : np.ndarray, shape=(length,)
        """
        self._check_fitted()
        _check_temperature(temperature)
        if strategy not in _STRATEGIES:
            raise ValueError(f"strategy must be one of {_STRATEGIES}; got {strategy!r}")
        if strategy == "probabilistic" and temperature != 1.0:
            raise ValueError("temperature only applies to strategy='temperature'")
        length = check_int("length", length, minimum=1)
        rng = self._sampling_rng(random_state)
        emissions = self.emissions_
        states = np.empty(length, dtype=np.int64)
        observations = np.empty((length, len(emissions)), dtype=np.int64)
        state = temperature_choice(self.startprob_, temperature, rng)
        for t in range(length):
            if t:
                state = temperature_choice(self.transmat_[state], temperature, rng)
            states[t] = state
            for feature, emission in enumerate(emissions):
                observations[t, feature] = temperature_choice(emission[state], temperature, rng)
        return (observations[:, 0] if len(emissions) == 1 else observations), states

    #: The homework's name for :meth:`sample`.
    sample_sequence = sample

    # --------------------------------------------------------------------- save/load

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the parameters and hyperparameters to one ``.npz`` file (no pickle).

        The arrays are stored as such; hyperparameters, vocabulary sizes and the
        convergence record go into a JSON string inside the file (entry ``meta``).
        An existing file is only replaced with ``overwrite=True``.

        Returns
        -------
        path : Path
            The file written (``.npz`` appended when missing).
        """
        self._check_fitted()
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
        hyper = {k: v for k, v in self.get_params().items() if k != "init_params"}
        if not (hyper["random_state"] is None or isinstance(hyper["random_state"], (int, np.integer))):
            hyper["random_state"] = None  # a Generator's state is not worth saving
        elif hyper["random_state"] is not None:
            hyper["random_state"] = int(hyper["random_state"])
        if hyper["n_symbols"] is not None:
            hyper["n_symbols"] = np.asarray(hyper["n_symbols"]).tolist()
        meta = {
            "format": _FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "hyperparameters": hyper,
            "n_symbols": self.n_symbols_,
            "n_features": self.n_features_,
            "converged": bool(getattr(self, "converged_", False)),
            "n_iter_run": int(getattr(self, "n_iter_", 0)),
        }
        arrays = {
            "meta": np.array(json.dumps(meta)),
            "startprob": self.startprob_,
            "transmat": self.transmat_,
            "history": np.asarray(getattr(self, "history_", []), dtype=np.float64),
        }
        for feature, emission in enumerate(self.emissions_):
            arrays[f"emissionprob_{feature}"] = emission
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename, so a crash never leaves half a model.
        handle, temporary = tempfile.mkstemp(suffix=".npz", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as file:
                np.savez(file, **arrays)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> HMM:
        """Read a model written by :meth:`save`."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as stored:
                meta = json.loads(str(stored["meta"]))
                if meta.get("format") != _FORMAT_NAME:
                    raise ValueError(f"{path} is not a MusicalPy HMM file (format {meta.get('format')!r})")
                if meta.get("format_version", 0) > FORMAT_VERSION:
                    raise ValueError(f"{path} was written by a newer MusicalPy (format "
                                     f"{meta['format_version']} > {FORMAT_VERSION})")
                emissions = [stored[f"emissionprob_{f}"] for f in range(meta["n_features"])]
                model = cls.from_parameters(stored["startprob"], stored["transmat"], emissions,
                                            **{k: v for k, v in meta["hyperparameters"].items()
                                               if k != "n_states"})
                model.history_ = stored["history"].tolist()
        except KeyError as error:
            raise ValueError(f"{path} is missing the entry {error}: not a complete HMM file") from None
        model.converged_ = bool(meta.get("converged", False))
        model.n_iter_ = int(meta.get("n_iter_run", 0))
        return model


# -------------------------------------------------------------------- param checks


def _emission_list(emissionprob: Any) -> list[np.ndarray]:
    if isinstance(emissionprob, np.ndarray) and emissionprob.ndim == 2:
        return [np.asarray(emissionprob, dtype=np.float64)]
    emissions = [np.asarray(e, dtype=np.float64) for e in emissionprob]
    if not emissions:
        raise ValueError("emissionprob is an empty list: need one matrix per feature")
    return emissions


def _check_distribution(name: str, values: np.ndarray, shape: tuple[int, ...]) -> None:
    if values.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got {values.shape}")
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError(f"{name} must hold finite non-negative probabilities")
    sums = values.sum(axis=-1)
    if not np.allclose(sums, 1.0, rtol=0, atol=_SUM_TOLERANCE):
        raise ValueError(f"{name} rows must sum to 1; got sums between {sums.min():.6g} and {sums.max():.6g}")


def _check_parameters(startprob: np.ndarray, transmat: np.ndarray, emissions: list[np.ndarray], k: int) -> None:
    _check_distribution("startprob", startprob, (k,))
    _check_distribution("transmat", transmat, (k, k))
    for feature, emission in enumerate(emissions):
        if emission.ndim != 2:
            raise ValueError(f"emissionprob[{feature}] must be 2-D (n_states, n_symbols); got shape {emission.shape}")
        _check_distribution(f"emissionprob[{feature}]", emission, (k, emission.shape[1]))


def hmmlearn_reference(params: dict, *, n_iter: int = 20, implementation: str = "scaling"):
    """An ``hmmlearn.hmm.CategoricalHMM`` starting from exactly these parameters.

    ``params`` holds ``startprob``, ``transmat`` and ``emissionprob`` (single feature).
    The reference never re-initialises (``init_params=""``) and never stops early
    (``tol=-inf``), so its ``monitor_.history`` lines up with our ``history_``. Used by
    the tests and ``benchmarks/hmm_vs_hmmlearn.py``; needs hmmlearn installed.
    """
    from hmmlearn.hmm import CategoricalHMM

    model = CategoricalHMM(
        n_components=len(params["startprob"]), n_features=params["emissionprob"].shape[1],
        n_iter=n_iter, tol=-np.inf, init_params="", implementation=implementation,
    )
    model.startprob_ = params["startprob"].copy()
    model.transmat_ = params["transmat"].copy()
    model.emissionprob_ = params["emissionprob"].copy()
    return model
