"""Tests of musicalpy.jsb: the vendored files and their checksums, the canonical split as
a corpus, the exact round trip to the benchmark's frames, and the benchmark's score."""

from __future__ import annotations

import gzip
import math
import shutil

import numpy as np
import pytest

from musicalpy import jsb, jsb_files
from musicalpy.corpus import SPLITS, load_corpus
from musicalpy.frame_estimators import frame_nll
from musicalpy.names import VOICES
from musicalpy.representations import encode_frames

FRAMES_PER_SPLIT = {"train": 13_807, "valid": 4_602, "test": 4_725}
CHORALES_PER_SPLIT = {"train": 229, "valid": 76, "test": 77}


@pytest.fixture(scope="module")
def quarter():
    return load_corpus("jsb")


@pytest.fixture(scope="module")
def voices():
    return load_corpus("jsb_voices")


# ------------------------------------------------------------------------- the files


def test_the_benchmark_frames_have_the_published_counts():
    for split, n_frames in FRAMES_PER_SPLIT.items():
        chorales = jsb.read_frames(split)
        assert len(chorales) == CHORALES_PER_SPLIT[split]
        assert sum(len(c) for c in chorales) == n_frames
        assert all(c.shape[1] == 88 and c.dtype == bool for c in chorales)
    test = np.concatenate(jsb.read_frames("test"))
    # The shared README's facts: 4,246 four-note frames, 459 three, 3 two, 17 empty.
    sizes = np.bincount(test.sum(axis=1), minlength=5)
    assert sizes.tolist()[:5] == [17, 0, 3, 459, 4246]
    assert jsb.read_frames("validation")[0].shape == jsb.read_frames("valid")[0].shape
    sixteenths = {split: sum(len(c) for c in jsb.read_voices(split)) for split in FRAMES_PER_SPLIT}
    assert sixteenths == {"train": 55_228, "valid": 18_408, "test": 18_900}


def test_a_changed_file_is_refused_naming_it_and_both_digests(tmp_path):
    for name, _ in jsb.JSB_FILES.values():
        shutil.copy(jsb.data_folder() / name, tmp_path / name)
    target = tmp_path / jsb.JSB_FILES["quarter"][0]
    raw = gzip.decompress(target.read_bytes()).replace(b"[72, 76, 79, 84]", b"[72, 76, 79, 85]", 1)
    target.write_bytes(gzip.compress(raw))
    with pytest.raises(jsb.JSBDataError) as error:
        jsb.read_frames("test", folder=tmp_path)
    message = str(error.value)
    assert str(target) in message and jsb.JSB_FILES["quarter"][1] in message
    import hashlib

    assert hashlib.sha256(raw).hexdigest() in message
    # The untouched voice file in the same folder still loads.
    assert len(jsb.read_voices("test", folder=tmp_path)) == 77
    # A file that was read once and then damaged is checked again, not served from memory.
    voices = tmp_path / jsb.JSB_FILES["voices"][0]
    voices.write_bytes(voices.read_bytes()[:-100])
    with pytest.raises(jsb.JSBDataError, match="not a readable gzip file"):
        jsb.read_voices("test", folder=tmp_path)


def test_missing_files_name_the_file_and_the_way_out(tmp_path, monkeypatch):
    with pytest.raises(jsb.JSBDataError, match="Jsb16thSeparated.json.gz: no such file.*MUSICALPY_JSB_DIR"):
        jsb.read_voices("test", folder=tmp_path)
    monkeypatch.setattr(jsb_files, "project_root", lambda: None)  # an install without the checkout
    with pytest.raises(jsb.JSBDataError, match="installed without it"):
        jsb.data_folder()
    monkeypatch.setenv("MUSICALPY_JSB_DIR", str(tmp_path))
    assert jsb.data_folder() == tmp_path
    with pytest.raises(ValueError, match="split must be one of"):
        jsb.read_frames("dev")
    with pytest.raises(ValueError, match="which must be one of"):
        jsb.read_jsb_json("eighth")


# ------------------------------------------------------------------- the note tables


def test_the_corpus_split_is_the_canonical_one(quarter):
    assert quarter.name == "jsb" and len(quarter) == 382
    assert quarter.pieces["split"].value_counts().to_dict() == {"train": 229, "validation": 76, "test": 77}
    assert set(quarter.pieces["split"]) == set(SPLITS)
    test = quarter.split("test").pieces
    assert test["piece"].tolist() == [f"jsb_test_{i:03d}" for i in range(77)]
    assert test["n_frames"].sum() == 4_725 and set(test["jsb_split"]) == {"test"}
    assert quarter.pieces.set_index("piece").loc["jsb_valid_075", "split"] == "validation"
    assert set(quarter.notes["part"]) == {jsb.QUARTER_PART}
    assert quarter.pieces["n_notes"].sum() == len(quarter.notes)


def test_encoding_the_note_table_gives_back_every_frame_of_every_split(quarter):
    notes_by_piece = dict(tuple(quarter.notes.groupby("piece", sort=False)))
    for key, split in jsb.JSB_SPLITS.items():
        chorales = jsb.read_frames(key)
        for index, frames in enumerate(chorales):
            piece = notes_by_piece[f"jsb_{key}_{index:03d}"]
            assert np.array_equal(encode_frames(piece, n_frames=len(frames)), frames), (split, index)
    # A held note: a run of equal frames of a pitch is one note (repeats merged).
    first = jsb.read_frames("train")[0]
    runs = int((first & ~np.vstack([np.zeros((1, 88), bool), first[:-1]])).sum())
    assert len(notes_by_piece["jsb_train_000"]) == runs == 301


def test_the_voice_file_gives_four_named_voices_that_encode_back(voices):
    assert voices.name == "jsb_voices" and len(voices) == 382
    assert set(voices.notes["part"]) == set(VOICES)
    assert voices.pieces["steps_per_quarter"].eq(4).all() and voices.pieces["parts"].eq("|".join(VOICES)).all()
    notes_by_piece = dict(tuple(voices.notes.groupby("piece", sort=False)))
    for index, grid in enumerate(jsb.read_voices("test")):
        piece = notes_by_piece[f"jsb_voices_test_{index:03d}"]
        for column, voice in enumerate(VOICES):
            frames = encode_frames(piece[piece["part"] == voice], steps_per_quarter=4, n_frames=len(grid))
            assert frames.sum(axis=1).max() == 1  # one pitch per voice at a time
            pitch = np.where(frames.any(axis=1), frames.argmax(axis=1) + 21, -1)
            assert np.array_equal(pitch, grid[:, column]), (index, voice)
    # The first soprano line of train chorale 0 is 74 x4, 75 x4, 77 x8 sixteenths:
    # a quarter, a quarter and a half note (seconds at 120 per minute).
    first = voices.piece("jsb_voices_train_000")
    soprano = first[first["part"] == "Soprano"]
    assert soprano[["pitch", "start_beat", "end_beat", "end"]].iloc[:3].to_numpy().tolist() == [
        [74, 0, 1, 0.5], [75, 1, 2, 1.0], [77, 2, 4, 2.0]]


def test_load_corpus_limit_and_parts_pass_through():
    assert load_corpus("jsb", limit=3).piece_ids == ["jsb_train_000", "jsb_train_001", "jsb_train_002"]
    bass = load_corpus("jsb_voices", parts=["Bass"])
    assert set(bass.notes["part"]) == {"Bass"} and len(bass) == 382


# ------------------------------------------------------------------------- the score


def test_frame_nll_of_a_hand_computed_two_frame_case():
    # Three keys carry the example; the other 85 keys have probability 0.5, so each of
    # them adds log 0.5 to every frame. Frame 0 sounds key 0, frame 1 sounds keys 1, 2.
    frames = np.zeros((2, 88), dtype=bool)
    frames[0, 0] = True
    frames[1, [1, 2]] = True
    probabilities = np.full((2, 88), 0.5)
    probabilities[0, :3] = [0.8, 0.5, 0.1]  # given nothing before
    probabilities[1, :3] = [0.3, 0.6, 0.9]  # given frame 0 (as an RNN would output)
    from musicalpy.frame_estimators import bernoulli_log_prob

    def model(chorale):
        return bernoulli_log_prob(probabilities[: len(chorale)], chorale)

    frame_0 = math.log(0.8) + math.log(0.5) + math.log(0.9) + 85 * math.log(0.5)
    frame_1 = math.log(0.7) + math.log(0.6) + math.log(0.9) + 85 * math.log(0.5)
    assert frame_nll(model, [frames]) == pytest.approx(-(frame_0 + frame_1) / 2, abs=1e-12)
    # A model that returns a chorale's total (a bound, say) is scored the same way.
    assert frame_nll(lambda c: model(c).sum(), [frames]) == pytest.approx(-(frame_0 + frame_1) / 2, abs=1e-12)
    # Two chorales: the total over both divided by all three frames, not a mean of means.
    one = frames[:1]
    assert frame_nll(model, [frames, one]) == pytest.approx(-(2 * frame_0 + frame_1) / 3, abs=1e-12)


def test_frame_nll_refuses_impossible_frames_and_non_probabilities():
    frames = np.zeros((3, 88), dtype=bool)
    with pytest.raises(ValueError, match=r"chorales\[0\].*not finite"):
        frame_nll(lambda c: np.array([-1.0, -np.inf, -1.0]), [frames])
    with pytest.raises(ValueError, match=r"chorales\[1\].*> 0 is not a probability"):
        frame_nll(lambda c: np.full(len(c), 0.5), [frames[:0], frames])
    with pytest.raises(ValueError, match=r"\(3,\) per-frame values"):
        frame_nll(lambda c: np.zeros(2), [frames])
    with pytest.raises(TypeError, match="log_prob"):
        frame_nll(object(), [frames])
    with pytest.raises(ValueError, match="at least one frame"):
        frame_nll(lambda c: np.zeros(0), [])


# ------------------------------------------------------------ the sixteenth-note score


def test_voice_steps_are_the_steps_of_the_voice_corpus(voices):
    from musicalpy.representations.satb_steps import chorale_steps

    for key, split in jsb.JSB_SPLITS.items():
        part = voices.split(split)
        expected = chorale_steps(part.notes, part.pieces)
        steps = jsb.voice_steps(key)
        assert list(expected) == [f"jsb_voices_{key}_{i:03d}" for i in range(len(steps))]
        for mine, theirs in zip(steps, expected.values(), strict=True):
            np.testing.assert_array_equal(mine.values, theirs.values)
            np.testing.assert_array_equal(mine.position, theirs.position)
            np.testing.assert_array_equal(mine.fermata, theirs.fermata)


def test_voice_token_nll_of_a_small_count_model_by_hand():
    from musicalpy.representations.satb_steps import jsb_steps
    from musicalpy.satb_counts import SatbCounts

    model = SatbCounts(fermatas=False, discount=0.5, transpositions=(0,)).fit(jsb.voice_steps("train")[:3])
    # By hand: each validation chorale of the file scored alone, its four voice columns
    # summed, over four tokens per sixteenth of the whole split (18,408 sixteenths).
    chorales = jsb.read_voices("valid")
    total = 0.0
    for voices_of_chorale in chorales:
        (table,) = model.log_probs([jsb_steps(voices_of_chorale)])
        total += sum(float(table[t, v]) for t in range(len(table)) for v in (1, 2, 3, 4))
    n_tokens = 4 * sum(len(c) for c in chorales)
    assert n_tokens == 4 * 18_408
    expected = -total / n_tokens
    assert jsb.voice_token_nll(model, "valid") == pytest.approx(expected, rel=1e-10)

    class Wrapped:  # a zoo model's shape: the fitted model under .fitted
        fitted = model

    assert jsb.voice_token_nll(Wrapped(), "validation") == pytest.approx(expected, rel=1e-10)


def test_voice_token_nll_leaves_the_fermata_out_and_pools_the_tokens():
    from musicalpy.representations.satb_steps import N_VALUES

    class Uniform:
        """Every value equally likely; a fermata column that must not count."""

        def log_probs(self, chorales):
            return [np.column_stack([np.full(c.n_steps, -5.0)] + [np.full(c.n_steps, -math.log(N_VALUES))] * 4)
                    for c in chorales]

    assert jsb.voice_token_nll(Uniform(), "test") == pytest.approx(math.log(N_VALUES), rel=1e-12)

    class FirstChoraleOnly:
        """One nat per token in the first chorale, none elsewhere: a pooled mean weighs it by its length."""

        def log_probs(self, chorales):
            return [np.full((c.n_steps, 5), -1.0 if i == 0 else 0.0) * np.array([0, 1, 1, 1, 1])
                    for i, c in enumerate(chorales)]

    lengths = [len(c) for c in jsb.read_voices("test")]
    assert jsb.voice_token_nll(FirstChoraleOnly(), "test") == pytest.approx(lengths[0] / sum(lengths), rel=1e-12)

    with pytest.raises(ValueError, match="not a four-voice step model"):
        jsb.voice_token_nll(object(), "test")

    class Short:
        def log_probs(self, chorales):
            return [np.zeros((c.n_steps, 4)) for c in chorales]

    with pytest.raises(ValueError, match=r"expected \(\d+, 5\)"):
        jsb.voice_token_nll(Short(), "test")
