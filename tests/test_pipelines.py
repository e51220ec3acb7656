"""tf.data pipelines: windows inside pieces, targets, shuffling, transposition, TFRecord,
piano-roll batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicalpy import pipelines, representations
from musicalpy.corpus import Corpus
from musicalpy.representations import Vocabulary


def _features(pitches, step=0.5, duration=0.25):
    pitches = np.asarray(pitches, dtype=np.float32)
    return np.column_stack([pitches, np.full(len(pitches), step), np.full(len(pitches), duration)]).astype(np.float32)


def _all_windows(dataset):
    xs, ys = [], []
    for x, y in dataset:
        xs.append(x.numpy())
        ys.append({k: v.numpy() for k, v in y.items()} if isinstance(y, dict) else y.numpy())
    return xs, ys


def test_windows_stay_inside_pieces_and_count():
    # Piece A uses pitches 40-49, piece B 80-86: a window mixing both would show it.
    sequences = {"A": _features(np.arange(40, 50)), "B": _features(np.arange(80, 87))}
    assert pipelines.count_windows(sequences, 4) == (10 - 5 + 1) + (7 - 5 + 1)
    assert pipelines.count_windows(sequences, 4, shift=2) == 3 + 2
    dataset = pipelines.window_dataset(sequences, 4, batch_size=3)
    xs, ys = _all_windows(dataset)
    x = np.concatenate(xs)
    pitch_target = np.concatenate([y["pitch"] for y in ys])
    assert x.shape == (9, 4, 3)
    low = x[:, :, 0] < 60
    assert (low.all(axis=1) | (~low).all(axis=1)).all()
    # "next" target: the element right after each window, with the int pitch class.
    np.testing.assert_array_equal(pitch_target, x[:, -1, 0].astype(int) + 1)
    assert pitch_target.dtype == np.int32
    np.testing.assert_allclose(np.concatenate([y["step"] for y in ys]), 0.5)


def test_sequence_target_is_shifted_input_for_tokens():
    sequences = [np.arange(3, 13, dtype=np.int32), np.arange(20, 26, dtype=np.int32)]
    dataset = pipelines.window_dataset(sequences, 5, target="sequence", batch_size=100)
    x, y = next(iter(dataset))
    x, y = x.numpy(), y.numpy()
    assert x.shape == (5 + 0 + 1, 5)  # 5 windows from the first piece, 1 from the second
    np.testing.assert_array_equal(y[:, :-1], x[:, 1:])
    np.testing.assert_array_equal(y[:, -1], x[:, -1] + 1)


def test_shuffle_is_a_seeded_permutation():
    sequences = [np.arange(0, 40, dtype=np.int32), np.arange(100, 130, dtype=np.int32)]
    plain = np.concatenate(_all_windows(pipelines.window_dataset(sequences, 3, batch_size=7))[0])
    first = np.concatenate(_all_windows(pipelines.window_dataset(sequences, 3, batch_size=7, shuffle=True, seed=5))[0])
    again = np.concatenate(_all_windows(pipelines.window_dataset(sequences, 3, batch_size=7, shuffle=True, seed=5))[0])
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, plain)
    key = lambda a: sorted(map(tuple, a.tolist()))  # noqa: E731
    assert key(first) == key(plain)


def test_feature_transposition_moves_whole_windows_and_stays_in_range():
    sequences = [_features([120, 124, 127, 125, 122, 121, 126, 127, 123, 120]), _features(np.arange(50, 62))]
    dataset = pipelines.window_dataset(sequences, 5, batch_size=64, max_transpose=6, seed=3)
    x, y = next(iter(dataset))
    x = x.numpy()
    plain = next(iter(pipelines.window_dataset(sequences, 5, batch_size=64)))[0].numpy()
    shift = x[:, :, 0] - plain[:, :, 0]
    assert (shift == shift[:, :1]).all()  # one shift per window
    assert (np.abs(shift) <= 6).all() and len(np.unique(shift[:, 0])) > 3
    assert x[:, :, 0].max() <= 127 and x[:, :, 0].min() >= 0
    np.testing.assert_array_equal(x[:, :, 1:], plain[:, :, 1:])
    # Targets are moved with their window.
    plain_y = next(iter(pipelines.window_dataset(sequences, 5, batch_size=64)))[1]["pitch"].numpy()
    np.testing.assert_array_equal(y["pitch"].numpy() - plain_y, shift[:, 0].astype(int))


def test_token_transposition_in_dataset_uses_one_table_row_per_window():
    vocabulary = Vocabulary([(name, 1.0) for name in ["C4", "C#4", "D4", "D#4", "E4", "F4", "F#4", "G4"]])
    ids = vocabulary.encode([("C4", 1.0), ("D4", 1.0), ("E4", 1.0), ("D4", 1.0), ("C4", 1.0)] * 4, add_start_end=True)
    table = representations.transposition_table(vocabulary, "note_strings", 3)
    dataset = pipelines.window_dataset([ids], 4, batch_size=100, max_transpose=3, transposition=table, seed=1)
    moved = next(iter(dataset))[0].numpy()
    plain = next(iter(pipelines.window_dataset([ids], 4, batch_size=100)))[0].numpy()
    rows = []
    for before, after in zip(plain, moved, strict=True):
        matching = [r for r in range(7) if (table[r, before] == after).all()]
        assert matching, (before, after)
        rows.append(matching[0])
    assert (moved >= 0).all() and len(set(rows)) > 1


def test_tfrecord_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    features = {f"p{i}": _features(rng.integers(40, 80, size=n), step=0.25) for i, n in enumerate([12, 30, 7, 19, 25])}
    paths = pipelines.write_tfrecords(features, tmp_path / "features", n_shards=3)
    assert len(paths) == 3 and all(p.exists() for p in paths)
    back = [s.numpy() for s in pipelines.read_tfrecords(tmp_path / "features")]
    assert sorted(map(lambda a: a.tobytes(), back)) == sorted(map(lambda a: a.tobytes(), features.values()))
    assert back[0].dtype == np.float32 and back[0].shape[1] == 3

    tokens = [rng.integers(0, 500, size=n).astype(np.int32) for n in (5, 40, 17)]
    pipelines.write_tfrecords(tokens, tmp_path / "tokens", n_shards=2)
    back = [s.numpy() for s in pipelines.read_tfrecords(tmp_path / "tokens", cycle_length=2)]
    assert sorted(a.tolist() for a in back) == sorted(a.tolist() for a in tokens)

    # The shards feed the same windows as the arrays in memory.
    from_files = pipelines.window_dataset(pipelines.read_tfrecords(tmp_path / "features"), 6, batch_size=1000)
    in_memory = pipelines.window_dataset(features, 6, batch_size=1000)
    a, b = next(iter(from_files))[0].numpy(), next(iter(in_memory))[0].numpy()
    assert len(a) == pipelines.count_windows(features, 6) == len(b)
    assert sorted(map(lambda w: w.tobytes(), a)) == sorted(map(lambda w: w.tobytes(), b))

    with pytest.raises(FileExistsError, match="overwrite=True"):
        pipelines.write_tfrecords(tokens, tmp_path / "tokens")
    pipelines.write_tfrecords(tokens[:1], tmp_path / "tokens", overwrite=True)
    assert len([s for s in pipelines.read_tfrecords(tmp_path / "tokens")]) == 1


def _tiny_corpus() -> Corpus:
    rows = []
    for index, _split in enumerate(["train", "train", "validation", "test"]):
        base = 50 + 10 * index
        for note in range(12):
            rows.append({"piece": f"p{index}", "part": "0", "pitch": base + note % 5, "start": note * 0.5, "end": note * 0.5 + 0.5})
    notes = pd.DataFrame(rows)
    pieces = pd.DataFrame({"piece": [f"p{i}" for i in range(4)], "split": ["train", "train", "validation", "test"]})
    return Corpus("tiny", notes, pieces)


def test_corpus_datasets_follow_the_piece_splits():
    corpus = _tiny_corpus()
    data = pipelines.corpus_datasets(corpus, seq_length=4, batch_size=100, max_transpose=0)
    assert data.n_windows == {"train": 2 * (12 - 5 + 1), "validation": 8, "test": 8}
    validation = next(iter(data.validation))[0].numpy()
    assert set(np.unique(validation[:, :, 0])) <= set(range(70, 75))
    tokens = pipelines.corpus_datasets(corpus, "note_strings", seq_length=4, batch_size=100, target="sequence", max_transpose=2)
    # Vocabulary from the training pieces only: validation's higher notes are UNK.
    assert len(tokens.vocabulary) == 4 + 10
    x, _ = next(iter(tokens.validation))
    assert (x.numpy() == tokens.vocabulary.unk_id).any()


def test_bad_input():
    sequences = [_features(np.arange(50, 60))]
    with pytest.raises(ValueError, match="seq_length"):
        pipelines.window_dataset(sequences, 0)
    with pytest.raises(ValueError, match="target"):
        pipelines.window_dataset(sequences, 3, target="previous")
    with pytest.raises(ValueError, match="no sequence is longer"):
        pipelines.window_dataset(sequences, 10)
    with pytest.raises(ValueError, match="transposition"):
        pipelines.window_dataset([np.arange(20, dtype=np.int32)], 3, max_transpose=2)
    with pytest.raises(ValueError, match="shape"):
        pipelines.window_dataset([_features([1, 2, 3]), np.arange(5, dtype=np.int32)], 2)


def test_piano_roll_dataset_batches_every_window_once_in_a_seeded_order():
    rng = np.random.default_rng(0)
    windows = (rng.random((10, 6, 8)) < 0.2).astype(np.float32)
    first = [b.numpy() for b in pipelines.piano_roll_dataset(windows, batch_size=4, seed=3)]
    again = [b.numpy() for b in pipelines.piano_roll_dataset(windows, batch_size=4, seed=3)]
    assert [b.shape for b in first] == [(4, 6, 8), (4, 6, 8), (2, 6, 8)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert sorted(map(bytes, np.concatenate(first))) == sorted(map(bytes, windows))
    in_order = np.concatenate([b.numpy() for b in pipelines.piano_roll_dataset(windows, batch_size=3, shuffle=False)])
    np.testing.assert_array_equal(in_order, windows)
    with pytest.raises(ValueError, match="windows must have shape"):
        pipelines.piano_roll_dataset(np.zeros((0, 6, 8)))
    with pytest.raises(ValueError, match="batch_size"):
        pipelines.piano_roll_dataset(windows, batch_size=0)


def test_pipelines_export_only_tf_data():
    # Token ids <-> notes live in representations; the tf.data module re-exports none.
    assert not set(pipelines.__all__) & set(representations.__all__)
    assert {"window_dataset", "piano_roll_dataset", "corpus_datasets", "write_tfrecords"} <= set(pipelines.__all__)
