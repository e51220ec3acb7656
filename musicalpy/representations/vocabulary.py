"""The token <-> integer id table every token encoding shares, saved as JSON."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._config import check_int

__all__ = ["Vocabulary"]


def _normalize_token(token: Any) -> Hashable:
    """A JSON-friendly, hashable form: numpy scalars to Python, arrays and lists to tuples."""
    if isinstance(token, (str, bool)):
        return token
    if isinstance(token, np.generic):
        return token.item()
    if isinstance(token, (tuple, list, np.ndarray)):
        return tuple(_normalize_token(t) for t in token)
    return token


def _token_list(sequence: Any) -> list:
    """The tokens of one sequence, whatever container an encoder returned."""
    if isinstance(sequence, pd.DataFrame):
        return sequence["token"].tolist() if "token" in sequence.columns else [tuple(r) for r in sequence.itertuples(index=False)]
    if isinstance(sequence, np.ndarray):
        return [tuple(row) for row in sequence.tolist()] if sequence.ndim == 2 else sequence.tolist()
    return list(sequence)


def _to_json(token: Hashable) -> Any:
    if isinstance(token, tuple):
        return [_to_json(t) for t in token]
    if isinstance(token, (str, int, float)) or token is None:
        return token
    raise ValueError(f"token {token!r} of type {type(token).__name__} cannot be saved as JSON")


def _from_json(value: Any) -> Hashable:
    return tuple(_from_json(v) for v in value) if isinstance(value, list) else value


class Vocabulary:
    """Token <-> integer id, with reserved ids, for every token encoding.

    Ids: PAD is always 0; then START and END (when ``start_end``), then UNK (when
    ``unk``), then the tokens in the given order. Tokens are any hashable values: ints
    (pitch/hold, events), strings (note/chord strings), tuples (quantized tokens).

    Parameters
    ----------
    tokens : iterable of hashable
        Distinct tokens.
    start_end : bool, default True
        Reserve START and END ids, to frame pieces (``encode(..., add_start_end=True)``).
    unk : bool, default True
        Reserve an UNK id for tokens not in the vocabulary; without it, an unknown
        token raises ValueError.

    Examples
    --------
    >>> vocab = Vocabulary.from_sequences([["C4", "D4", "C4"]], min_count=2)
    >>> vocab.encode(["C4", "D4"], add_start_end=True).tolist()
    [1, 4, 3, 2]
    >>> vocab.decode([1, 4, 3, 2])
    ['C4']
    """

    PAD = "<pad>"
    START = "<start>"
    END = "<end>"
    UNK = "<unk>"
    _FORMAT = "musicalpy.Vocabulary"

    def __init__(self, tokens: Iterable[Hashable] = (), *, start_end: bool = True, unk: bool = True) -> None:
        self.start_end = bool(start_end)
        self.unk = bool(unk)
        reserved = [self.PAD] + ([self.START, self.END] if self.start_end else []) + ([self.UNK] if self.unk else [])
        self._id_to_token: list[Hashable] = list(reserved)
        self._token_to_id: dict[Hashable, int] = {t: i for i, t in enumerate(reserved)}
        self.n_reserved = len(reserved)
        for token in tokens:
            token = _normalize_token(token)
            if token in self._token_to_id:
                what = "a reserved token" if token in reserved else "given twice"
                raise ValueError(f"token {token!r} is {what}")
            self._token_to_id[token] = len(self._id_to_token)
            self._id_to_token.append(token)
        self._int_lookup = self._build_int_lookup()

    def _build_int_lookup(self) -> np.ndarray | None:
        """A dense id table for vocabularies of small non-negative ints (events,
        pitch/hold), so that encoding an int array is one vectorized lookup."""
        tokens = self.tokens
        if not tokens or not all(type(t) is int and 0 <= t < 1 << 16 for t in tokens):
            return None
        lookup = np.full(max(tokens) + 1, -1, dtype=np.int64)
        lookup[tokens] = np.arange(self.n_reserved, len(self), dtype=np.int64)
        return lookup

    @classmethod
    def from_sequences(
        cls,
        sequences: Iterable[Any] | Mapping[Any, Any],
        *,
        min_count: int = 1,
        max_size: int | None = None,
        start_end: bool = True,
        unk: bool = True,
    ) -> Vocabulary:
        """Build a vocabulary from encoded sequences, most frequent tokens first.

        Parameters
        ----------
        sequences : iterable of sequences, or mapping to sequences
            E.g. the dict of :func:`encode_pieces`. DataFrames of note strings count
            their ``token`` column; 2-D arrays count their rows as tuples.
        min_count : int, default 1
            Tokens seen fewer times are left out, so they encode as UNK.
        max_size : int, optional
            Keep at most this many tokens (besides the reserved ids).
        start_end, unk : bool
            See :class:`Vocabulary`.
        """
        min_count = check_int("min_count", min_count)
        max_size = None if max_size is None else check_int("max_size", max_size, 0)
        if isinstance(sequences, Mapping):
            sequences = sequences.values()
        counts: Counter = Counter()
        for sequence in sequences:
            counts.update(_normalize_token(t) for t in _token_list(sequence))
        # Counter keeps first-seen order among equal counts, so the order is reproducible.
        kept = [t for t, c in counts.most_common() if c >= min_count and t not in (cls.PAD, cls.START, cls.END, cls.UNK)]
        if max_size is not None:
            kept = kept[:max_size]
        return cls(kept, start_end=start_end, unk=unk)

    # -- sizes and lookups

    def __len__(self) -> int:
        return len(self._id_to_token)

    def __contains__(self, token: Any) -> bool:
        try:
            return token in self._token_to_id
        except TypeError:
            return _normalize_token(token) in self._token_to_id

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return self._id_to_token == other._id_to_token and (self.start_end, self.unk) == (other.start_end, other.unk)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self.tokens)} tokens + {self.n_reserved} reserved, start_end={self.start_end}, unk={self.unk})"

    @property
    def tokens(self) -> list[Hashable]:
        """The tokens, without the reserved ones, in id order."""
        return self._id_to_token[self.n_reserved :]

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def start_id(self) -> int | None:
        return 1 if self.start_end else None

    @property
    def end_id(self) -> int | None:
        return 2 if self.start_end else None

    @property
    def unk_id(self) -> int | None:
        return self.n_reserved - 1 if self.unk else None

    @property
    def special_ids(self) -> list[int]:
        """Ids of PAD, START, END and UNK (those that exist)."""
        return list(range(self.n_reserved))

    def id_of(self, token: Any) -> int:
        """The id of one token (UNK's id when unknown)."""
        return int(self.encode([token])[0])

    def token_of(self, token_id: int) -> Hashable:
        """The token of one id (reserved ids give ``"<pad>"``, ``"<start>"``...)."""
        if check_int("id", token_id, 0) >= len(self):
            raise ValueError(f"id must be an integer 0-{len(self) - 1}, got {token_id!r}")
        return self._id_to_token[token_id]

    # -- sequences

    def encode(self, tokens: Iterable[Any], *, add_start_end: bool = False) -> np.ndarray:
        """Ids of a token sequence; unknown tokens get the UNK id.

        Parameters
        ----------
        tokens : iterable of tokens
            A list, a 1-D array of ints, a 2-D array whose rows are tuple tokens, or a
            note-string DataFrame (its ``token`` column).
        add_start_end : bool, default False
            Frame the sequence with START and END.

        Returns
        -------
        ids : np.ndarray, shape=(n_tokens [+ 2],), dtype=int64

        Raises
        ------
        ValueError
            For an unknown token when the vocabulary has no UNK, or ``add_start_end``
            without START/END ids.
        """
        if add_start_end and not self.start_end:
            raise ValueError("add_start_end=True needs a vocabulary with start_end=True")
        ids = self._lookup_ints(tokens)
        if ids is None:
            table = self._token_to_id
            missing = -1
            found = []
            for token in _token_list(tokens):
                try:
                    found.append(table.get(token, missing))
                except TypeError:  # unhashable: a list or array standing for a tuple token
                    found.append(table.get(_normalize_token(token), missing))
            ids = np.array(found, dtype=np.int64)
        unknown = ids < 0
        if unknown.any():
            if not self.unk:
                at = int(np.flatnonzero(unknown)[0])
                raise ValueError(f"token {_token_list(tokens)[at]!r} at position {at} is not in the vocabulary, which has no UNK id")
            ids[unknown] = self.unk_id
        if add_start_end:
            ids = np.concatenate([[self.start_id], ids, [self.end_id]]).astype(np.int64)
        return ids

    def _lookup_ints(self, tokens: Any) -> np.ndarray | None:
        if self._int_lookup is None or not isinstance(tokens, np.ndarray) or tokens.ndim != 1 or not np.issubdtype(tokens.dtype, np.integer):
            return None
        tokens = tokens.astype(np.int64)
        inside = (tokens >= 0) & (tokens < len(self._int_lookup))
        ids = np.full(len(tokens), -1, dtype=np.int64)
        ids[inside] = self._int_lookup[tokens[inside]]
        return ids

    def decode(self, ids: Iterable[int], *, skip_special: bool = True, stop_at_end: bool = True) -> list:
        """Tokens of an id sequence.

        Parameters
        ----------
        ids : iterable of int
        skip_special : bool, default True
            Leave out PAD, START, END and UNK (an UNK has no token to give back), so
            that ``decode(encode(tokens, add_start_end=True)) == tokens`` for known
            tokens. With False they come back as ``"<pad>"``, ``"<start>"``...
        stop_at_end : bool, default True
            Stop at the first END id (what a sampler produces after END is not part of
            the piece).

        Raises
        ------
        ValueError
            For an id outside ``0..len(self)-1``.
        """
        ids = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids).reshape(-1)
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"ids must be integers, got {ids.dtype}")
        bad = (ids < 0) | (ids >= len(self))
        if bad.any():
            raise ValueError(f"id {int(ids[bad][0])} at position {int(np.flatnonzero(bad)[0])} is outside 0..{len(self) - 1}")
        if stop_at_end and self.start_end:
            ends = np.flatnonzero(ids == self.end_id)
            if len(ends):
                ids = ids[: ends[0]]
        if skip_special:
            ids = ids[ids >= self.n_reserved]
        return [self._id_to_token[i] for i in ids.tolist()]

    # -- JSON

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (tuples become lists)."""
        return {
            "format": self._FORMAT,
            "version": 1,
            "start_end": self.start_end,
            "unk": self.unk,
            "tokens": [_to_json(t) for t in self.tokens],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Vocabulary:
        """Inverse of :meth:`to_dict` (lists become tuples)."""
        if not isinstance(data, Mapping) or data.get("format") != cls._FORMAT:
            raise ValueError(f"not a saved Vocabulary (expected format {cls._FORMAT!r})")
        if data.get("version") != 1:
            raise ValueError(f"unsupported Vocabulary version {data.get('version')!r}")
        return cls((_from_json(t) for t in data["tokens"]), start_end=data["start_end"], unk=data["unk"])

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the vocabulary as JSON; return the path.

        An existing file holding the same vocabulary is left as is; one holding
        anything else is kept (FileExistsError) unless ``overwrite=True``.
        """
        path = Path(path)
        if path.exists() and not overwrite:
            try:
                same = Vocabulary.load(path) == self
            except (ValueError, OSError):
                same = False
            if same:
                return path
            raise FileExistsError(f"{path}: exists and holds something else; pass overwrite=True to replace it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocabulary:
        """Read a vocabulary written by :meth:`save`.

        Raises
        ------
        FileNotFoundError
            When the file does not exist.
        ValueError
            When the file is not a saved vocabulary (the message names it).
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls.from_dict(data)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: not a readable Vocabulary file ({exc})") from exc
