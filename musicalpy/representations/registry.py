"""The registry of encodings, and :func:`encode_pieces`, which runs one over a corpus.

Every encoding module ends with one :class:`~musicalpy.representations._common.Encoding`
(its encoder, exact decoder, fixed vocabulary and token transposition where it has
them); :data:`ENCODINGS` lists them by name, and the functions that take an encoding
name (:func:`encode_pieces` here, :func:`~musicalpy.representations.token_sequences`,
:func:`~musicalpy.representations.decode_token_ids`,
:func:`~musicalpy.representations.transposition_table`) look it up with
:func:`get_encoding`. A new representation is one module and one line below.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..midi import as_note_table
from . import (
    chorale_grid,
    events,
    frames,
    note_classes,
    note_rows,
    note_strings,
    piano_roll,
    pitch_hold,
    pitch_step_duration,
    quantized,
)
from ._common import Encoding, _Notes

__all__ = ["ENCODINGS", "TOKEN_ENCODINGS", "get_encoding", "encode_pieces", "encode_sequences"]

#: Every encoding by name. The token encodings come first, in the order of
#: :data:`TOKEN_ENCODINGS`.
ENCODINGS: dict[str, Encoding] = {
    encoding.name: encoding
    for encoding in (
        note_strings.ENCODING,
        events.ENCODING,
        pitch_hold.ENCODING,
        quantized.ENCODING,
        note_rows.ENCODING,
        note_classes.ENCODING,
        piano_roll.ENCODING,
        pitch_step_duration.ENCODING,
        frames.ENCODING,
        chorale_grid.ENCODING,
    )
}

#: Token encodings :func:`~musicalpy.representations.token_sequences` and
#: :func:`~musicalpy.representations.decode_token_ids` understand.
TOKEN_ENCODINGS = tuple(name for name, encoding in ENCODINGS.items() if encoding.to_tokens is not None)


def get_encoding(name: str, *, tokens: bool = False, transposable: bool = False) -> Encoding:
    """The registry entry of an encoding.

    Parameters
    ----------
    name : str
        An encoding name, e.g. ``"events"``.
    tokens : bool, default False
        Require an encoding that maps to vocabulary ids (:data:`TOKEN_ENCODINGS`).
    transposable : bool, default False
        Require an encoding whose tokens can be transposed.

    Returns
    -------
    encoding : Encoding

    Raises
    ------
    ValueError
        For an unknown name, or one without the required ability; the message lists
        the names that would do.
    """
    known = list(ENCODINGS)
    if tokens:
        known = list(TOKEN_ENCODINGS)
    if transposable:
        known = [n for n in known if ENCODINGS[n].transpose_token is not None]
    if name not in known:
        shown = known if tokens else sorted(known)
        raise ValueError(f"encoding must be one of {shown}, got {name!r}")
    return ENCODINGS[name]


def encode_pieces(notes: pd.DataFrame, encoding: str, *, skip_drums: bool = True, **options: Any) -> dict[Any, Any]:
    """Encode every piece (and every part, for per-part encodings) of a note table.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of any number of pieces (column ``piece``).
    encoding : str
        One of ``"pitch_hold"``, ``"quantized_tokens"``, ``"note_strings"`` (per part;
        ``note_strings`` with ``merge_parts=True`` per piece), ``"events"``,
        ``"note_rows"``, ``"note_classes"``, ``"piano_roll"``, ``"pitch_step_duration"``,
        ``"frames"`` (per piece).
    skip_drums : bool, default True
        Leave out drum notes, whose pitches name instruments, not pitches.
    **options
        Keyword arguments of the matching ``encode_*`` function (not ``part``).

    Returns
    -------
    encoded : dict
        ``{piece: encoded}`` for per-piece encodings, ``{(piece, part): encoded}`` for
        per-part ones, in the order pieces (then parts) first appear. Cut training
        windows inside each value, so that none crosses two pieces.
    """
    entry = get_encoding(encoding)
    if "part" in options:
        raise ValueError("encode_pieces encodes every part; do not pass part=")
    per_part = entry.per_part
    if entry.merge_option is not None:
        per_part = not options.pop(entry.merge_option, False)
    table = as_note_table(notes)
    if skip_drums:
        table = table[~table["is_drum"].to_numpy()]
    arrays = _Notes.from_table(table)
    piece_order = pd.unique(notes["piece"].astype(str)) if "piece" in notes.columns else pd.unique(table["piece"])
    pieces = table["piece"].to_numpy(dtype=object)
    result: dict[Any, Any] = {}
    for piece in piece_order:
        in_piece = arrays.take(pieces == piece)
        if in_piece.size == 0:
            continue
        if not per_part:
            result[piece] = entry.encode(in_piece, **options)
            continue
        for part in dict.fromkeys(in_piece.part.tolist()):
            result[(piece, part)] = entry.encode(in_piece.take(in_piece.part == part), **options)
    return result


def encode_sequences(notes: pd.DataFrame, encoding: str, **options: Any) -> list[Any]:
    """The values of :func:`encode_pieces` as a list, the empty ones left out.

    What a sequence model fits on: one sequence per piece (per part, for per-part
    encodings), in the order :func:`encode_pieces` gives. A piece whose notes encode to
    nothing (for example drums only) would be a zero-length sequence, which a
    Baum-Welch pass or a Markov chain cannot use, so it is dropped.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of any number of pieces.
    encoding : str
        A name of :data:`ENCODINGS`.
    **options
        Keyword arguments of :func:`encode_pieces` and the matching ``encode_*``.

    Returns
    -------
    sequences : list
        Encoded pieces, each of length >= 1 (arrays of shape (n_steps,) for token
        encodings, (n_notes, n_columns) for row encodings).
    """
    return [encoded for encoded in encode_pieces(notes, encoding, **options).values() if len(encoded)]
