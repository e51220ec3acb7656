"""tf.data pipelines: encoded pieces -> training windows and batches, augmentation by
transposition, and TFRecord shards. Only tf.data lives here: the encodings, their
vocabularies and the token ids <-> note table conversions are in
:mod:`musicalpy.representations`, which this module reads and never the other way round.

The models train on fixed-length windows cut **inside** each piece, so that no window
joins the end of one piece to the start of the next:

>>> data = corpus_datasets(corpus, "pitch_step_duration", seq_length=32)
>>> x, y = next(iter(data.train))          # x: (batch, 32, 3); y: {"pitch", "step", "duration"}
>>> data = corpus_datasets(corpus, "note_strings", seq_length=64, target="sequence")
>>> x, y = next(iter(data.train))          # token ids, y is x shifted by one

Two kinds of sequences flow through the same code:

* **features**: float arrays of shape ``(n_notes, 3)`` holding the (pitch, step,
  duration) of the TensorFlow "Generate music with an RNN" tutorial
  (:func:`musicalpy.representations.feature_sequences`);
* **tokens**: 1-D int arrays of vocabulary ids, framed by START and END so that a model
  learns how a piece begins and ends (:func:`musicalpy.representations.token_sequences`,
  decoded back to a note table by :func:`musicalpy.representations.decode_token_ids`).

A window of ``seq_length + 1`` elements becomes ``(x, y)``: ``target="next"`` predicts
the element after the window (the tutorial), ``target="sequence"`` gives
``(w[:-1], w[1:])`` for sequence-to-sequence training (every position predicts its
successor). Training windows can be transposed at random by up to ``max_transpose``
semitones, kept inside the MIDI range (and, for tokens, inside the vocabulary: each
encoding's own token transposition, gathered into one id table by
:func:`musicalpy.representations.transposition_table`).

The piano-roll VAE trains on whole windows rather than next-step targets:
:func:`piano_roll_dataset` batches the windows of
:func:`musicalpy.representations.encode_piano_roll_windows`.

Corpora that do not fit in memory go to sharded TFRecord files
(:func:`write_tfrecords`) and come back interleaved (:func:`read_tfrecords`); the
dataset of sequences it returns feeds :func:`window_dataset` like an in-memory list.

TensorFlow is imported only when a dataset is built, so importing this module is cheap.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._config import check_int as _check_int
from .representations import Vocabulary, feature_sequences, token_sequences, transposition_table

__all__ = [
    "FEATURE_NAMES",
    "SplitDatasets",
    "count_windows",
    "sequence_dataset",
    "window_dataset",
    "corpus_datasets",
    "piano_roll_dataset",
    "write_tfrecords",
    "read_tfrecords",
]

#: Names of the three float features, also the target keys of ``target="next"``.
FEATURE_NAMES = ("pitch", "step", "duration")
_TARGETS = ("next", "sequence")
_SPEC_FILE = "spec.json"
_SPEC_FORMAT = "musicalpy.tfrecords"


def _tf():
    import tensorflow as tf

    return tf


# ----------------------------------------------------------------------------- windows


def _as_sequence_list(sequences: Mapping[Any, np.ndarray] | Sequence[np.ndarray]) -> list[np.ndarray]:
    values = list(sequences.values()) if isinstance(sequences, Mapping) else list(sequences)
    if not values:
        raise ValueError("sequences is empty: there is nothing to cut windows from")
    arrays = [np.asarray(v) for v in values]
    first = arrays[0]
    if first.ndim not in (1, 2):
        raise ValueError(f"each sequence must be 1-D token ids or 2-D features, got shape {first.shape}")
    for index, array in enumerate(arrays):
        if array.ndim != first.ndim or array.shape[1:] != first.shape[1:]:
            raise ValueError(f"sequence {index} has shape {array.shape}, unlike the first one's {first.shape}")
    return arrays


def count_windows(sequences: Mapping[Any, np.ndarray] | Sequence[np.ndarray], seq_length: int, shift: int = 1) -> int:
    """Number of windows of ``seq_length + 1`` elements, cut every ``shift`` elements
    inside each sequence (a sequence shorter than a window gives none)."""
    seq_length = _check_int("seq_length", seq_length)
    shift = _check_int("shift", shift)
    lengths = np.array([len(s) for s in _as_sequence_list(sequences)])
    return int(np.maximum(0, (lengths - (seq_length + 1)) // shift + 1).sum())


def sequence_dataset(sequences: Mapping[Any, np.ndarray] | Sequence[np.ndarray]):
    """A ``tf.data.Dataset`` with one element per sequence (piece), from in-memory arrays.

    Token ids become int32, features float32. The arrays are stored once, as one ragged
    tensor, not copied per window.
    """
    tf = _tf()
    arrays = _as_sequence_list(sequences)
    dtype = np.int32 if np.issubdtype(arrays[0].dtype, np.integer) else np.float32
    flat = np.concatenate([a.astype(dtype) for a in arrays], axis=0)
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    ragged = tf.RaggedTensor.from_row_lengths(flat, lengths)
    return tf.data.Dataset.from_tensor_slices(ragged)


def _transpose_features(tf, windows, seed, max_transpose: int):
    """Move each window's pitches by its own random shift, among those that stay in 0-127."""
    pitch = windows[..., 0]
    shifts = tf.range(-max_transpose, max_transpose + 1, dtype=windows.dtype)
    lowest = tf.reduce_min(pitch, axis=1, keepdims=True)
    highest = tf.reduce_max(pitch, axis=1, keepdims=True)
    allowed = (lowest + shifts >= 0) & (highest + shifts <= 127)
    logits = tf.where(allowed, 0.0, -np.inf)
    choice = tf.random.stateless_categorical(logits, 1, seed=seed)[:, 0]
    moved = pitch + tf.gather(shifts, choice)[:, None]
    return tf.concat([moved[..., None], windows[..., 1:]], axis=-1)


def _transpose_tokens(tf, windows, seed, table):
    """Move each window by a random shift under which every token stays in the vocabulary."""
    moved = tf.gather(table, windows, axis=1)  # (n_shifts, batch, length)
    allowed = tf.reduce_all(moved >= 0, axis=-1)  # (n_shifts, batch)
    # Only float tensors are transposed: oneDNN's transpose takes no int32 or bool on
    # this CPU build and says so on stderr (the values are the same either way).
    logits = tf.transpose(tf.where(allowed, 0.0, -np.inf))  # (batch, n_shifts)
    choice = tf.random.stateless_categorical(logits, 1, seed=seed)[:, 0]
    # Each window through its chosen row of the table.
    return tf.gather(tf.gather(table, choice), windows, batch_dims=1)


def _split_window(windows, target: str):
    inputs = windows[:, :-1]
    if target == "sequence":
        return inputs, windows[:, 1:]
    last = windows[:, -1]
    if windows.shape.rank == 3:
        # Pitch is a class (sparse cross-entropy), step and duration are values.
        import tensorflow as tf

        return inputs, {"pitch": tf.cast(last[:, 0], tf.int32), "step": last[:, 1], "duration": last[:, 2]}
    return inputs, last


def window_dataset(
    sequences: Any,
    seq_length: int,
    *,
    shift: int = 1,
    target: str = "next",
    batch_size: int = 64,
    shuffle: bool = False,
    seed: int = 0,
    shuffle_buffer: int | None = None,
    cache: bool | str = False,
    max_transpose: int = 0,
    transposition: np.ndarray | None = None,
    drop_remainder: bool = False,
    prefetch: bool = True,
):
    """Batches of ``(x, y)`` windows cut inside each sequence.

    Parameters
    ----------
    sequences : dict or list of np.ndarray, or tf.data.Dataset
        Per-piece feature arrays ``(n_notes, 3)`` or token-id arrays ``(n_tokens,)``
        (e.g. from :func:`~musicalpy.representations.feature_sequences` or
        :func:`~musicalpy.representations.token_sequences`), or a dataset
        yielding one such sequence per element (:func:`read_tfrecords`).
    seq_length : int
        Input length; each window holds ``seq_length + 1`` elements.
    shift : int, default 1
        Distance between the starts of consecutive windows of a piece.
    target : {"next", "sequence"}
        ``"next"``: ``y`` is the element after the window (for features a dict
        ``{"pitch", "step", "duration"}`` of shape ``(batch,)`` each). ``"sequence"``:
        ``y`` is the window shifted by one, ``(batch, seq_length[, 3])``.
    batch_size : int, default 64
    shuffle : bool, default False
        Shuffle windows (reshuffled every epoch, reproducibly for a given ``seed``).
    seed : int, default 0
        Seed of the shuffle and of the transpositions.
    shuffle_buffer : int, optional
        Default: every window (a full shuffle) for in-memory sequences, else 10,000.
    cache : bool or str, default False
        Cache the cut windows in memory (True) or in files with this prefix (str), so
        later epochs skip reading and cutting.
    max_transpose : int, default 0
        Move each window by a random number of semitones in ``-max_transpose..+max_transpose``,
        chosen among the shifts that keep every pitch in 0-127 (and, for tokens, in the
        vocabulary).
    transposition : np.ndarray, optional
        For tokens with ``max_transpose > 0``: the table of
        :func:`~musicalpy.representations.transposition_table` with
        ``max_shift == max_transpose``.
    drop_remainder : bool, default False
        Drop the last, smaller batch (for strategies that need equal batches).
    prefetch : bool, default True
        Prefetch batches (``tf.data.AUTOTUNE``) so training never waits for input.

    Returns
    -------
    dataset : tf.data.Dataset
    """
    tf = _tf()
    seq_length = _check_int("seq_length", seq_length)
    shift = _check_int("shift", shift)
    batch_size = _check_int("batch_size", batch_size)
    max_transpose = _check_int("max_transpose", max_transpose, 0)
    if target not in _TARGETS:
        raise ValueError(f"target must be one of {_TARGETS}, got {target!r}")
    if isinstance(sequences, tf.data.Dataset):
        pieces = sequences
        n_windows = None
    else:
        n_windows = count_windows(sequences, seq_length, shift)
        if n_windows == 0:
            raise ValueError(f"no sequence is longer than seq_length={seq_length}: there are no windows to train on")
        pieces = sequence_dataset(sequences)
    is_tokens = pieces.element_spec.shape.rank == 1
    if max_transpose and is_tokens:
        if transposition is None:
            raise ValueError("max_transpose > 0 on tokens needs transposition=transposition_table(vocabulary, encoding, max_transpose)")
        transposition = np.asarray(transposition, dtype=np.int32)
        if transposition.ndim != 2 or transposition.shape[0] != 2 * max_transpose + 1:
            raise ValueError(f"transposition must have {2 * max_transpose + 1} rows for max_transpose={max_transpose}, got shape {transposition.shape}")

    window = seq_length + 1
    windows = pieces.map(
        lambda piece: tf.signal.frame(piece, window, shift, axis=0),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    ).unbatch()
    if cache:
        windows = windows.cache("" if cache is True else str(cache))
    if shuffle:
        buffer = shuffle_buffer or (n_windows if n_windows else 10_000)
        windows = windows.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    batches = windows.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if max_transpose:
        # One seed per batch from a seeded stream, so the shifts repeat for a seed.
        seeds = tf.data.Dataset.random(seed=seed).batch(2)
        table = None if not is_tokens else tf.constant(transposition)
        if is_tokens:
            batches = tf.data.Dataset.zip((batches, seeds)).map(
                lambda w, s: _transpose_tokens(tf, w, s, table), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
            )
        else:
            batches = tf.data.Dataset.zip((batches, seeds)).map(
                lambda w, s: _transpose_features(tf, w, s, max_transpose), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
            )
    batches = batches.map(lambda w: _split_window(w, target), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if n_windows is not None:
        # Cutting windows with unbatch() hides the size from tf.data; say it, so that Keras
        # knows where a validation pass ends instead of running into the end of the data
        # (its "ran out of data" warning). tf.data checks the count as it iterates.
        n_batches = n_windows // batch_size if drop_remainder else -(-n_windows // batch_size)
        batches = batches.apply(tf.data.experimental.assert_cardinality(n_batches))
    if prefetch:
        batches = batches.prefetch(tf.data.AUTOTUNE)
    return batches


@dataclass
class SplitDatasets:
    """Train, validation and test datasets of one corpus, and what made them.

    Attributes
    ----------
    train, validation, test : tf.data.Dataset or None
        ``None`` for a split without pieces long enough for a window.
    sequences : dict
        ``{split: {key: array}}``, the encoded pieces of each split.
    n_windows : dict
        ``{split: number of windows}`` (before batching).
    vocabulary : Vocabulary or None
        For token encodings (built on the training split).
    encoding : str
    """

    train: Any
    validation: Any
    test: Any
    sequences: dict[str, dict] = field(repr=False)
    n_windows: dict[str, int]
    vocabulary: Vocabulary | None
    encoding: str


def corpus_datasets(
    corpus: Any,
    encoding: str = "pitch_step_duration",
    *,
    seq_length: int = 32,
    target: str = "next",
    batch_size: int = 64,
    shift: int = 1,
    seed: int = 0,
    max_transpose: int = 0,
    cache: bool = True,
    drop_remainder: bool = False,
    vocabulary: Vocabulary | None = None,
    min_count: int = 1,
    **options: Any,
) -> SplitDatasets:
    """Datasets of windows for the train, validation and test splits of a corpus.

    The splits are the corpus's own piece-level splits (``corpus.split(name)``). Only
    the training set is shuffled and transposed; validation and test are read in order.

    Parameters
    ----------
    corpus : musicalpy.corpus.Corpus
    encoding : str, default "pitch_step_duration"
        ``"pitch_step_duration"`` for float features, or a token encoding of
        :data:`musicalpy.representations.TOKEN_ENCODINGS`.
    seq_length, target, batch_size, shift, seed, max_transpose, cache, drop_remainder
        See :func:`window_dataset`.
    vocabulary : Vocabulary, optional
        For tokens; default: built on the training split (see
        :func:`~musicalpy.representations.token_sequences`).
    min_count : int, default 1
        For a vocabulary built here.
    **options
        Keyword arguments of the encoder.
    """
    sequences: dict[str, dict] = {}
    for split in ("train", "validation", "test"):
        notes = corpus.split(split).notes
        if encoding == "pitch_step_duration":
            if options:
                raise ValueError(f"pitch_step_duration takes no encoder options, got {sorted(options)}")
            sequences[split] = feature_sequences(notes) if len(notes) else {}
        else:
            if len(notes) == 0:
                sequences[split] = {}
                continue
            sequences[split], built = token_sequences(notes, encoding, vocabulary=vocabulary, min_count=min_count, **options)
            vocabulary = vocabulary or built
    table = None
    if max_transpose and encoding != "pitch_step_duration":
        table = transposition_table(vocabulary, encoding, max_transpose)
    datasets: dict[str, Any] = {}
    n_windows: dict[str, int] = {}
    for split, seqs in sequences.items():
        n_windows[split] = count_windows(seqs, seq_length, shift) if seqs else 0
        if n_windows[split] == 0:
            datasets[split] = None
            continue
        training = split == "train"
        datasets[split] = window_dataset(
            seqs,
            seq_length,
            shift=shift,
            target=target,
            batch_size=batch_size,
            shuffle=training,
            seed=seed,
            cache=cache,
            max_transpose=max_transpose if training else 0,
            transposition=table if training else None,
            drop_remainder=drop_remainder,
        )
    if datasets["train"] is None:
        raise ValueError(f"the training split has no piece longer than seq_length={seq_length}")
    return SplitDatasets(
        datasets["train"], datasets["validation"], datasets["test"], sequences, n_windows,
        None if encoding == "pitch_step_duration" else vocabulary, encoding,
    )


def piano_roll_dataset(
    windows: np.ndarray,
    *,
    batch_size: int = 64,
    shuffle: bool = True,
    seed: int = 0,
):
    """Batches of piano-roll windows for a VAE: cache, shuffle (seeded), batch, prefetch.

    Parameters
    ----------
    windows : np.ndarray, shape=(n_windows, n_pitches, window_steps)
        E.g. from :func:`musicalpy.representations.encode_piano_roll_windows`.
    batch_size : int, default 64
    shuffle : bool, default True
        Reshuffle every epoch (with ``seed``, so two runs see the same order).
    seed : int, default 0

    Returns
    -------
    dataset : tf.data.Dataset
        Batches of shape ``(batch, n_pitches, window_steps)``, float32; the inputs only
        (a VAE's target is its input).
    """
    tf = _tf()
    windows = np.asarray(windows, dtype=np.float32)
    if windows.ndim != 3 or len(windows) == 0:
        raise ValueError(f"windows must have shape (n_windows, n_pitches, window_steps) with n_windows > 0, got {windows.shape}")
    batch_size = _check_int("batch_size", batch_size)
    dataset = tf.data.Dataset.from_tensor_slices(windows).cache()
    if shuffle:
        dataset = dataset.shuffle(len(windows), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


# ----------------------------------------------------------------------------- TFRecord


def write_tfrecords(
    sequences: Mapping[Any, np.ndarray] | Sequence[np.ndarray],
    directory: str | os.PathLike,
    *,
    n_shards: int = 4,
    overwrite: bool = False,
) -> list[Path]:
    """Write encoded pieces to sharded TFRecord files, one ``tf.train.Example`` per piece.

    Pieces go round-robin to ``shard-00000-of-0000N.tfrecord`` files; ``spec.json``
    records the dtype and width so that :func:`read_tfrecords` needs no arguments.

    Parameters
    ----------
    sequences : dict or list of np.ndarray
        Token ids ``(n,)`` (stored as int64) or features ``(n, width)`` (float32).
    directory : path
        Created if needed.
    n_shards : int, default 4
        At most one shard per piece.
    overwrite : bool, default False
        Existing shards are never replaced silently: FileExistsError unless True.

    Returns
    -------
    shards : list of Path
    """
    tf = _tf()
    arrays = _as_sequence_list(sequences)
    n_shards = min(_check_int("n_shards", n_shards), len(arrays))
    directory = Path(directory)
    existing = sorted(directory.glob("shard-*.tfrecord")) if directory.exists() else []
    if existing and not overwrite:
        raise FileExistsError(f"{directory}: holds {len(existing)} TFRecord shard(s) already; pass overwrite=True to replace them")
    for path in existing:
        path.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    is_int = np.issubdtype(arrays[0].dtype, np.integer)
    width = 0 if arrays[0].ndim == 1 else int(arrays[0].shape[1])
    paths = [directory / f"shard-{i:05d}-of-{n_shards:05d}.tfrecord" for i in range(n_shards)]
    writers = [tf.io.TFRecordWriter(str(p)) for p in paths]
    try:
        for index, array in enumerate(arrays):
            flat = array.reshape(-1)
            values = (
                tf.train.Feature(int64_list=tf.train.Int64List(value=flat.astype(np.int64)))
                if is_int
                else tf.train.Feature(float_list=tf.train.FloatList(value=flat.astype(np.float32)))
            )
            example = tf.train.Example(features=tf.train.Features(feature={"values": values}))
            writers[index % n_shards].write(example.SerializeToString())
    finally:
        for writer in writers:
            writer.close()
    spec = {"format": _SPEC_FORMAT, "version": 1, "dtype": "int64" if is_int else "float32", "width": width,
            "n_sequences": len(arrays), "shards": [p.name for p in paths]}
    (directory / _SPEC_FILE).write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    return paths


def read_tfrecords(
    directory: str | os.PathLike,
    *,
    cycle_length: int | None = None,
    shuffle_shards: bool = False,
    seed: int = 0,
    deterministic: bool = True,
):
    """Read the pieces written by :func:`write_tfrecords`, interleaving the shards.

    Parameters
    ----------
    directory : path
    cycle_length : int, optional
        Shards read at once (default: all, up to the number of cores).
    shuffle_shards : bool, default False
        Shuffle the order of the shards (each epoch), reproducibly for ``seed``.
    deterministic : bool, default True
        False lets the interleave return whichever shard is ready first (faster, order
        varies).

    Returns
    -------
    dataset : tf.data.Dataset
        One sequence per element: int32 ``(n,)`` ids or float32 ``(n, width)`` features,
        ready for :func:`window_dataset`.
    """
    tf = _tf()
    directory = Path(directory)
    spec_path = directory / _SPEC_FILE
    try:
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{directory}: no {_SPEC_FILE}; write the shards with write_tfrecords") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{spec_path}: not readable JSON ({exc})") from exc
    if spec.get("format") != _SPEC_FORMAT:
        raise ValueError(f"{spec_path}: not a MusicalPy TFRecord spec")
    paths = [str(directory / name) for name in spec["shards"]]
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise FileNotFoundError(f"{directory}: shard(s) missing: {missing[:3]}")
    is_int = spec["dtype"] == "int64"
    width = int(spec["width"])
    description = {"values": tf.io.VarLenFeature(tf.int64 if is_int else tf.float32)}

    def parse(record):
        values = tf.sparse.to_dense(tf.io.parse_single_example(record, description)["values"])
        values = tf.cast(values, tf.int32) if is_int else values
        return tf.reshape(values, (-1, width)) if width else values

    files = tf.data.Dataset.from_tensor_slices(paths)
    if shuffle_shards:
        files = files.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    cycle = cycle_length or max(1, min(len(paths), os.cpu_count() or 1))
    records = files.interleave(
        tf.data.TFRecordDataset, cycle_length=cycle, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic
    )
    return records.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
