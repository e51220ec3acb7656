"""Tests of Vocabulary: reserved ids, UNK, padding, JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musicalpy import representations as rep


def test_vocabulary_reserved_ids_min_count_and_unk():
    sequences = [["C4", "D4", "C4"], ["C4", "E4", "D4"]]
    vocab = rep.Vocabulary.from_sequences(sequences, min_count=2)
    assert (vocab.pad_id, vocab.start_id, vocab.end_id, vocab.unk_id) == (0, 1, 2, 3)
    assert vocab.tokens == ["C4", "D4"] and len(vocab) == 6
    ids = vocab.encode(["C4", "E4", "F#9", "D4"], add_start_end=True)
    assert ids.tolist() == [1, 4, 3, 3, 5, 2]
    assert vocab.decode(ids) == ["C4", "D4"]
    assert vocab.decode(ids, skip_special=False) == ["<start>", "C4", "<unk>", "<unk>", "D4"]
    assert vocab.decode([4, 2, 5]) == ["C4"]
    assert vocab.decode([4, 2, 5], stop_at_end=False) == ["C4", "D4"]
    assert "C4" in vocab and "E4" not in vocab
    assert vocab.id_of("G4") == vocab.unk_id and vocab.token_of(0) == "<pad>"


def test_vocabulary_without_unk_or_start_end():
    vocab = rep.Vocabulary([10, 20], start_end=False, unk=False)
    assert len(vocab) == 3 and vocab.encode([20, 10]).tolist() == [2, 1]
    with pytest.raises(ValueError, match="no UNK"):
        vocab.encode([30])
    with pytest.raises(ValueError, match="start_end"):
        vocab.encode([10], add_start_end=True)
    with pytest.raises(ValueError, match="outside 0..2"):
        vocab.decode([3])


def test_vocabulary_int_fast_path_matches_dict_path():
    vocab = rep.Vocabulary.from_sequences([np.array([5, 7, 7, 300])])
    array = np.array([7, 5, 300, 999, -1, 6])
    assert vocab.encode(array).tolist() == vocab.encode(array.tolist()).tolist() == [4, 5, 6, 3, 3, 3]


def test_vocabulary_json_round_trip_for_every_token_kind(tmp_path):
    for tokens in [[60, 128, 129], ["C4", "C4.E4.G4", "rest", "é"], [(60, 3, 2), (128, 0, 0)], [("C4", 0.5)]]:
        vocab = rep.Vocabulary(tokens, start_end=False)
        path = vocab.save(tmp_path / "v.json", overwrite=True)
        loaded = rep.Vocabulary.load(path)
        assert loaded == vocab and loaded.tokens == tokens and loaded.encode(tokens).tolist() == vocab.encode(tokens).tolist()
    saved = json.loads(path.read_text())
    assert saved["tokens"] == [["C4", 0.5]] and saved["start_end"] is False


def test_vocabulary_save_never_silently_overwrites(tmp_path):
    path = tmp_path / "sub" / "vocab.json"
    rep.Vocabulary(["a"]).save(path)
    rep.Vocabulary(["a"]).save(path)  # same vocabulary: fine
    with pytest.raises(FileExistsError, match="overwrite=True"):
        rep.Vocabulary(["b"]).save(path)
    rep.Vocabulary(["b"]).save(path, overwrite=True)
    assert rep.Vocabulary.load(path).tokens == ["b"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"tokens": [1]}')
    with pytest.raises(ValueError, match="bad.json"):
        rep.Vocabulary.load(bad)
    with pytest.raises(FileNotFoundError):
        rep.Vocabulary.load(tmp_path / "missing.json")


def test_vocabulary_rejects_duplicates_and_bad_args():
    with pytest.raises(ValueError, match="twice"):
        rep.Vocabulary(["a", "a"])
    with pytest.raises(ValueError, match="reserved"):
        rep.Vocabulary(["<pad>"])
    with pytest.raises(ValueError, match="min_count"):
        rep.Vocabulary.from_sequences([["a"]], min_count=0)
    assert rep.Vocabulary.from_sequences([["a", "b", "b"]], max_size=1).tokens == ["b"]


def test_vocabulary_integer_arguments_name_themselves():
    vocab = rep.Vocabulary(["a", "b"])
    for call, name in [
        (lambda: rep.Vocabulary.from_sequences([["a"]], max_size=-1), "max_size"),
        (lambda: vocab.token_of(True), "id"),
        (lambda: vocab.token_of(len(vocab)), "id must be an integer 0-5"),
    ]:
        with pytest.raises(ValueError, match=name):
            call()
    assert rep.Vocabulary.from_sequences([["a", "b"]], max_size=0).tokens == []
    assert vocab.token_of(np.int64(4)) == "a"
