"""Corpus <-> model inputs: vocabulary ids (and float features) for every piece, and
generated ids back to a note table.

These are what the models train on and what their samples decode through; the tf.data
module (:mod:`musicalpy.pipelines`) only cuts, batches and augments the arrays made
here. Which encoder, vocabulary, decoder and token transposition an encoding name
stands for comes from the registry (:mod:`musicalpy.representations.registry`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._config import check_int
from .registry import encode_pieces, get_encoding
from .vocabulary import Vocabulary

__all__ = ["feature_sequences", "token_sequences", "decode_token_ids", "transposition_table"]


def feature_sequences(notes: pd.DataFrame) -> dict[str, np.ndarray]:
    """The (pitch, step, duration) features of every piece, all parts merged.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of any number of pieces.

    Returns
    -------
    sequences : dict of str to np.ndarray, shape=(n_notes, 3), dtype=float32
        ``{piece: features}`` in corpus order (see
        :func:`musicalpy.representations.encode_pitch_step_duration`).
    """
    encoded = encode_pieces(notes, "pitch_step_duration")
    return {piece: np.asarray(values, dtype=np.float32) for piece, values in encoded.items()}


def token_sequences(
    notes: pd.DataFrame,
    encoding: str = "note_strings",
    *,
    vocabulary: Vocabulary | None = None,
    add_start_end: bool = True,
    min_count: int = 1,
    **options: Any,
) -> tuple[dict[Hashable, np.ndarray], Vocabulary]:
    """Encode every piece (or part) as vocabulary ids.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of any number of pieces.
    encoding : {"note_strings", "events", "pitch_hold"}
        ``"note_strings"``: one token per note or chord *with its duration*, the pair
        ``("C4.E4.G4", 1.0)`` (per part; ``merge_parts=True`` merges them;
        ``steps_per_quarter`` defaults to 4 so durations stay few). ``"events"``: the
        388 performance events, all parts merged. ``"pitch_hold"``: one token per
        sixteenth, per part.
    vocabulary : Vocabulary, optional
        Use this one (tokens it lacks become UNK). Default: the fixed vocabulary of
        ``events`` and ``pitch_hold``; for note strings, one built from these notes
        (build it on the training split only, then pass it for the others).
    add_start_end : bool, default True
        Frame each sequence with START and END.
    min_count : int, default 1
        When building a note-string vocabulary, tokens seen fewer times become UNK.
    **options
        Keyword arguments of the encoder (see :func:`musicalpy.representations.encode_pieces`).

    Returns
    -------
    sequences : dict of key to np.ndarray, shape=(n_tokens,), dtype=int32
        ``{piece: ids}`` or ``{(piece, part): ids}``.
    vocabulary : Vocabulary
    """
    entry = get_encoding(encoding, tokens=True)
    options = {**entry.token_options, **options}
    raw = encode_pieces(notes, encoding, **options)
    tokens = {key: entry.to_tokens(values) for key, values in raw.items()}
    if vocabulary is None:
        if entry.vocabulary is not None:
            vocabulary = entry.vocabulary()
        else:
            vocabulary = Vocabulary.from_sequences(tokens.values(), min_count=min_count)
    if add_start_end and not vocabulary.start_end:
        raise ValueError("add_start_end=True needs a vocabulary with START and END ids")
    sequences = {key: vocabulary.encode(values, add_start_end=add_start_end).astype(np.int32) for key, values in tokens.items()}
    return sequences, vocabulary


def decode_token_ids(
    ids: Sequence[int] | np.ndarray,
    vocabulary: Vocabulary,
    encoding: str = "note_strings",
    **options: Any,
) -> pd.DataFrame:
    """Decode vocabulary ids into a note table (inverse of :func:`token_sequences`).

    Special ids (PAD, START, UNK) are skipped and decoding stops at the first END, so
    a sampled sequence ends where the model ended the piece.

    Parameters
    ----------
    ids : sequence of int, shape=(n_tokens,)
    vocabulary : Vocabulary
    encoding : {"note_strings", "events", "pitch_hold"}
    **options
        Keyword arguments of the decoder (``tempo``, ``velocity``, ``piece``, ``part``,
        ``program``; ``steps_per_quarter`` for pitch/hold).

    Returns
    -------
    notes : pd.DataFrame
        The note table of the encoding's decoder.
    """
    entry = get_encoding(encoding, tokens=True)
    tokens = vocabulary.decode(np.asarray(ids).astype(np.int64).reshape(-1))
    return entry.from_tokens(tokens, **options)


def transposition_table(vocabulary: Vocabulary, encoding: str, max_shift: int) -> np.ndarray:
    """Where every id goes when the music moves by -max_shift..+max_shift semitones.

    Parameters
    ----------
    vocabulary : Vocabulary
    encoding : {"note_strings", "events", "pitch_hold", "quantized_tokens"}
        An encoding with a token transposition.
    max_shift : int
        Largest transposition in semitones (>= 0).

    Returns
    -------
    table : np.ndarray, shape=(2 * max_shift + 1, len(vocabulary)), dtype=int32
        Row ``max_shift + s`` maps an id to the id of its token moved by ``s``
        semitones, or -1 when that token leaves 0-127 or the vocabulary. Special ids
        map to themselves.
    """
    transpose = get_encoding(encoding, transposable=True).transpose_token
    max_shift = check_int("max_shift", max_shift, 0)
    table = np.full((2 * max_shift + 1, len(vocabulary)), -1, dtype=np.int32)
    table[:, : vocabulary.n_reserved] = np.arange(vocabulary.n_reserved)
    for token_id, token in enumerate(vocabulary.tokens, start=vocabulary.n_reserved):
        for row, shift in enumerate(range(-max_shift, max_shift + 1)):
            moved = transpose(token, shift)
            if moved is not None and moved in vocabulary:
                table[row, token_id] = vocabulary.id_of(moved)
    return table
