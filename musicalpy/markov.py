"""Markov-chain and unigram baselines over any token representation.

Every generative model in MusicalPy is compared with these two: a model that does not
beat an order-1 Markov chain in bits per token (:func:`musicalpy.metrics.bits_per_token`)
on the held-out split has not learned much.

>>> chain = MarkovChain(order=1, alpha=0.1).fit(train_sequences)
>>> chain.score(test_sequences)                       # total log-likelihood, nats
>>> chain.sample(64, temperature=1.0, random_state=0)

Tokens are anything hashable: integer ids, strings, tuples such as
``(pitch, duration)``. A *sequence* is a list, a numpy array or a pandas Series of tokens
(a tuple is a token, not a sequence); ``fit`` and ``score`` take an iterable of sequences,
or a 2-D array whose rows are sequences.

The model
---------
``P(x_t | x_{t-k} .. x_{t-1}) = (n(context, x_t) + alpha) / (n(context) + alpha (V + 1))``

with add-``alpha`` (add-k) smoothing over the ``V`` tokens of the vocabulary plus one slot
for *unknown* tokens, so a held-out token never seen in training has a finite cost. The
start of each sequence is padded with a begin marker, so the first token is predicted
from the "start of sequence" context and no token is left unscored. There is no end
marker: the length of a sequence is not modelled (for any model here).

Backoff: when the order-``k`` context never occurred in training, the prediction uses
the longest suffix of it that did occur (order ``k - 1``, ..., down to the unigram
distribution, whose empty context always occurred). Each prediction uses exactly one
smoothed distribution, so the per-token probabilities still sum to one over the
vocabulary and ``score`` is a proper log-likelihood. (This is not Katz backoff: no
probability mass is discounted, because an unseen context has no counts to discount.)

Sampling draws from the same distributions, but never emits the unknown slot
(its probability is set to zero and the rest renormalized).

Saving is JSON (no pickle): :meth:`MarkovChain.save` / :meth:`MarkovChain.load`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._config import check_int

__all__ = ["MarkovChain", "UnigramModel", "FORMAT"]

#: The ``format`` field of saved models.
FORMAT = "musicalpy.markov"
_VERSION = 1
_BEGIN = -1  # context id of the begin-of-sequence padding


def _as_token(value: Any) -> Hashable:
    """Numpy scalars become Python scalars so tokens hash, compare and save alike."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return tuple(_as_token(v) for v in value)
    if isinstance(value, (list, np.ndarray, dict, set)):
        raise TypeError(f"a token must be hashable (int, str, tuple, ...), got {type(value).__name__}")
    return value


def _as_sequences(sequences: Any, what: str = "sequences") -> list[list[Hashable]]:
    """An iterable of sequences (or a 2-D array) as lists of Python tokens."""
    if isinstance(sequences, np.ndarray):
        if sequences.ndim != 2:
            raise ValueError(f"{what}: a numpy array must be 2-D (one row per sequence), got ndim={sequences.ndim}")
        return [[_as_token(t) for t in row] for row in sequences]
    if isinstance(sequences, (str, bytes)) or not isinstance(sequences, Iterable):
        raise TypeError(f"{what} must be an iterable of sequences, got {type(sequences).__name__}")
    result = []
    for index, sequence in enumerate(sequences):
        if hasattr(sequence, "to_numpy"):  # pandas Series
            sequence = sequence.to_numpy()
        if not isinstance(sequence, (list, np.ndarray)):
            raise TypeError(
                f"{what}[{index}] must be a list or array of tokens, got {type(sequence).__name__} "
                "(to score one sequence, wrap it: [sequence])"
            )
        result.append([_as_token(t) for t in sequence])
    return result


def _encode_token(token: Hashable) -> Any:
    # JSON has no tuples; a list in the file is always a tuple token (lists cannot be tokens).
    if isinstance(token, tuple):
        return [_encode_token(t) for t in token]
    return token


def _decode_token(value: Any) -> Hashable:
    if isinstance(value, list):
        return tuple(_decode_token(v) for v in value)
    return value


class MarkovChain:
    """An order-``k`` Markov chain over tokens, add-``alpha`` smoothed, with backoff.

    Parameters
    ----------
    order : int
        Context length ``k`` (1 to 3 are the useful values; higher orders are allowed).
    alpha : float
        Add-k smoothing pseudo-count (> 0).
    vocabulary : sequence of tokens, optional
        The token set, e.g. ``range(128)`` for MIDI pitches. Default: the tokens seen by
        :meth:`fit`, in order of first appearance.

    Attributes
    ----------
    vocabulary_ : list
        Tokens, index = token id.
    counts_ : list of dict
        ``counts_[j]`` maps an order-``j`` context (tuple of token ids, ``-1`` = begin
        padding) to ``{token id: count}``.
    n_tokens_ : int
        Tokens seen by :meth:`fit`.
    """

    def __init__(self, order: int = 1, alpha: float = 1.0, vocabulary: Sequence[Hashable] | None = None):
        self.order = order
        self.alpha = alpha
        self.vocabulary = vocabulary
        self._check_order(order)
        if not (isinstance(alpha, (int, float)) and alpha > 0 and math.isfinite(alpha)):
            raise ValueError(f"alpha must be a positive number (add-k smoothing), got {alpha!r}")

    def _check_order(self, order: int) -> None:
        try:
            check_int("order", order, minimum=1)
        except ValueError as error:
            raise ValueError(f"{error} (use UnigramModel for order 0)") from None

    # ------------------------------------------------------------------ fitting

    def fit(self, sequences: Any) -> MarkovChain:
        """Count the contexts and transitions of the training sequences; return ``self``."""
        data = _as_sequences(sequences)
        if self.vocabulary is not None:
            vocabulary = [_as_token(t) for t in self.vocabulary]
            if len(set(vocabulary)) != len(vocabulary):
                raise ValueError("vocabulary has duplicate tokens")
        else:
            vocabulary = list(dict.fromkeys(t for sequence in data for t in sequence))
        if not vocabulary:
            raise ValueError("cannot fit on empty sequences: no tokens (and no vocabulary given)")
        index = {t: i for i, t in enumerate(vocabulary)}
        unknown = len(vocabulary)
        counts: list[dict[tuple[int, ...], dict[int, int]]] = [{} for _ in range(self.order + 1)]
        n_tokens = 0
        for sequence in data:
            ids = [index.get(t, unknown) for t in sequence]
            padded = [_BEGIN] * self.order + ids
            for position, token in enumerate(ids):
                end = position + self.order
                for j in range(self.order + 1):
                    context = tuple(padded[end - j:end])
                    table = counts[j].setdefault(context, {})
                    table[token] = table.get(token, 0) + 1
            n_tokens += len(ids)
        if n_tokens == 0:
            raise ValueError("cannot fit on empty sequences: no tokens")
        self.vocabulary_ = vocabulary
        self.counts_ = counts
        self.n_tokens_ = n_tokens
        self._finish()
        return self

    def _finish(self) -> None:
        self._index = {t: i for i, t in enumerate(self.vocabulary_)}
        self._totals = [{c: sum(t.values()) for c, t in level.items()} for level in self.counts_]

    def _check_fitted(self) -> None:
        if not hasattr(self, "counts_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet: call fit(sequences) first")

    @property
    def n_states(self) -> int:
        """Size of the output distribution: vocabulary plus the unknown slot."""
        self._check_fitted()
        return len(self.vocabulary_) + 1

    # ------------------------------------------------------------------ probabilities

    def _context_level(self, padded: list[int], end: int) -> tuple[int, tuple[int, ...]]:
        """The highest order whose context (ending before ``end``) was seen in training."""
        for j in range(self.order, -1, -1):
            context = tuple(padded[end - j:end])
            if context in self._totals[j]:
                return j, context
        raise AssertionError("the empty context is always seen after fit")

    def _ids(self, sequence: Sequence[Hashable]) -> list[int]:
        unknown = len(self.vocabulary_)
        return [self._index.get(t, unknown) for t in sequence]

    def log_prob(self, sequence: Sequence[Hashable]) -> np.ndarray:
        """Natural-log probability of each token of one sequence given its past.

        Returns
        -------
        log_probs : np.ndarray, shape=(len(sequence),)
        """
        self._check_fitted()
        ids = self._ids(_as_sequences([sequence], "sequence")[0])
        padded = [_BEGIN] * self.order + ids
        denominator_extra = self.alpha * self.n_states
        out = np.empty(len(ids))
        for position, token in enumerate(ids):
            j, context = self._context_level(padded, position + self.order)
            count = self.counts_[j][context].get(token, 0)
            out[position] = math.log((count + self.alpha) / (self._totals[j][context] + denominator_extra))
        return out

    def score(self, sequences: Any) -> float:
        """Total log-likelihood (natural log) of the sequences, every token counted once.

        Use :func:`musicalpy.metrics.bits_per_token` with the total number of tokens.
        """
        self._check_fitted()
        return float(sum(self.log_prob(sequence).sum() for sequence in _as_sequences(sequences)))

    def next_distribution(self, context: Sequence[Hashable] = ()) -> np.ndarray:
        """Probabilities of the next token after ``context`` (the tokens so far).

        Returns
        -------
        probs : np.ndarray, shape=(n_states,)
            Over ``vocabulary_`` and, last, the unknown slot; sums to one.
        """
        self._check_fitted()
        ids = self._ids([_as_token(t) for t in context])
        padded = [_BEGIN] * self.order + ids
        return self._distribution(padded, len(padded))

    def _distribution(self, padded: list[int], end: int) -> np.ndarray:
        j, context = self._context_level(padded, end)
        probs = np.full(self.n_states, self.alpha, dtype=float)
        table = self.counts_[j][context]
        if table:
            probs[np.fromiter(table.keys(), dtype=np.int64)] += np.fromiter(table.values(), dtype=float)
        return probs / probs.sum()

    # ------------------------------------------------------------------ sampling

    def sample(
        self,
        length: int,
        *,
        temperature: float = 1.0,
        random_state: int | np.random.Generator | None = None,
        start: Sequence[Hashable] | None = None,
    ) -> list[Hashable]:
        """Generate ``length`` new tokens.

        Parameters
        ----------
        length : int
            Number of tokens to generate (after ``start``).
        temperature : float
            Probabilities are raised to ``1 / temperature`` and renormalized: below 1
            sharper, above 1 flatter, 0 (or near it) picks the most likely token.
        random_state : int, numpy Generator or None
        start : sequence of tokens, optional
            A prefix to continue (tokens must be in the vocabulary); without it the chain
            starts from the begin-of-sequence context.

        Returns
        -------
        tokens : list
            ``start`` (if given) followed by the ``length`` generated tokens.
        """
        self._check_fitted()
        length = check_int("length", length, minimum=0)
        if not (isinstance(temperature, (int, float)) and temperature >= 0 and math.isfinite(temperature)):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
        rng = np.random.default_rng(random_state)
        prefix = [_as_token(t) for t in (start or [])]
        missing = [t for t in prefix if t not in self._index]
        if missing:
            raise ValueError(f"start has tokens outside the vocabulary: {missing[:5]}")
        padded = [_BEGIN] * self.order + self._ids(prefix)
        generated = []
        # Cumulative distributions per context, built once per sample() call.
        cumulative: dict[tuple[int, tuple[int, ...]], np.ndarray] = {}
        for _ in range(length):
            level = self._context_level(padded, len(padded))
            cdf = cumulative.get(level)
            if cdf is None:
                probs = self._distribution(padded, len(padded))[:-1]  # never the unknown slot
                if temperature < 1e-6:
                    weights = (probs == probs.max()).astype(float)
                    weights[np.argmax(probs) + 1:] = 0.0  # the first maximum, deterministically
                else:
                    logits = np.log(probs) / temperature
                    weights = np.exp(logits - logits.max())
                cdf = np.cumsum(weights / weights.sum())
                cumulative[level] = cdf
            choice = min(int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right")), len(cdf) - 1)
            padded.append(choice)
            generated.append(self.vocabulary_[choice])
        return prefix + generated

    # ------------------------------------------------------------------ saving

    def _params(self) -> dict[str, Any]:
        return {"order": int(self.order), "alpha": float(self.alpha)}

    def save(self, path: str | Path) -> Path:
        """Write the fitted model as JSON (no pickle); return the path."""
        self._check_fitted()
        path = Path(path)
        payload = {
            "format": FORMAT,
            "version": _VERSION,
            "class": type(self).__name__,
            **self._params(),
            "vocabulary": [_encode_token(t) for t in self.vocabulary_],
            "vocabulary_given": self.vocabulary is not None,
            "n_tokens": self.n_tokens_,
            "counts": [
                [[list(context), [[int(t), int(c)] for t, c in table.items()]] for context, table in level.items()]
                for level in self.counts_
            ],
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, separators=(",", ":")))
        return path

    @classmethod
    def load(cls, path: str | Path) -> MarkovChain:
        """Read a model written by :meth:`save` (a :class:`MarkovChain` or :class:`UnigramModel`)."""
        path = Path(path)
        try:
            payload = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: cannot read a saved Markov model ({exc})") from exc
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ValueError(f"{path}: not a saved MusicalPy Markov model (format field missing or wrong)")
        if payload.get("version") != _VERSION:
            raise ValueError(f"{path}: saved with format version {payload.get('version')}, this code reads {_VERSION}")
        classes = {"MarkovChain": MarkovChain, "UnigramModel": UnigramModel}
        kind = classes.get(payload.get("class"))
        if kind is None or not issubclass(kind, cls):
            raise ValueError(f"{path}: holds a {payload.get('class')!r}, not a {cls.__name__}")
        vocabulary = [_decode_token(t) for t in payload["vocabulary"]]
        if kind is UnigramModel:
            model = UnigramModel(alpha=payload["alpha"])
        else:
            model = MarkovChain(order=payload["order"], alpha=payload["alpha"])
        if payload.get("vocabulary_given"):
            model.vocabulary = vocabulary
        model.vocabulary_ = vocabulary
        model.n_tokens_ = int(payload["n_tokens"])
        model.counts_ = [
            {tuple(context): {int(t): int(c) for t, c in table} for context, table in level}
            for level in payload["counts"]
        ]
        if len(model.counts_) != model.order + 1:
            raise ValueError(f"{path}: has {len(model.counts_)} count levels for order {model.order}")
        model._finish()
        return model

    def __repr__(self) -> str:
        fitted = f", V={len(self.vocabulary_)}, fitted on {self.n_tokens_} tokens" if hasattr(self, "counts_") else ""
        return f"{type(self).__name__}(order={self.order}, alpha={self.alpha}{fitted})"


class UnigramModel(MarkovChain):
    """Token frequencies, add-``alpha`` smoothed: a Markov chain of order 0.

    Same interface as :class:`MarkovChain` (``fit``, ``score``, ``log_prob``, ``sample``,
    ``save``/``load``); every token is predicted without context.
    """

    def __init__(self, alpha: float = 1.0, vocabulary: Sequence[Hashable] | None = None):
        super().__init__(order=0, alpha=alpha, vocabulary=vocabulary)

    def _check_order(self, order: int) -> None:
        if order != 0:
            raise ValueError(f"a UnigramModel has order 0, got {order!r}")

    def _params(self) -> dict[str, Any]:
        return {"order": 0, "alpha": float(self.alpha)}
