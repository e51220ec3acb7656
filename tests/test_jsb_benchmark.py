"""The JSB benchmark's model kinds (musicalpy.families.frames), the frame LSTMs, the
published table, the leaderboard's benchmark column and ``evaluate --benchmark jsb``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicalpy import jsb, zoo
from musicalpy.frame_estimators import IndependentBernoulli, transpose_chorales
from musicalpy.leaderboard import Leaderboard


@pytest.fixture(scope="module")
def corpus():
    return jsb.load_jsb()


def test_transpose_chorales_moves_keys_and_never_pushes_one_off_the_keyboard():
    chorale = np.zeros((2, 88), dtype=bool)
    chorale[0, [10, 20]] = True
    chorale[1, 85] = True
    up, down = transpose_chorales([chorale, chorale], [2, -3])
    assert np.flatnonzero(up[0]).tolist() == [12, 22] and np.flatnonzero(up[1]).tolist() == [87]
    assert np.flatnonzero(down[0]).tolist() == [7, 17] and np.flatnonzero(down[1]).tolist() == [82]
    # +5 would push key 85 past 87: the shift is reduced to +2, the chorale kept whole.
    (clipped,) = transpose_chorales([chorale], 5)
    assert clipped.sum() == chorale.sum() and np.flatnonzero(clipped[1]).tolist() == [87]


def test_published_rows_and_the_table_order():
    assert len(jsb.PUBLISHED) == 13
    ours = {"model": "ours", "nats_per_frame": 7.0, "likelihood": "exact", "source": "MusicalPy"}
    table = jsb.benchmark_table([ours])
    assert table["nats_per_frame"].is_monotonic_increasing
    assert table.loc[table["ours"], "model"].tolist() == ["ours"]
    assert table.iloc[0]["model"] == "DMM-Aug-NADE (IS estimate)" and table.iloc[0]["nats_per_frame"] == 5.118
    assert table.set_index("model").loc["RNN-NADE", "nats_per_frame"] == 5.19


def test_each_published_row_says_what_kind_of_number_it_is():
    kinds = {row["model"]: row["likelihood"] for row in jsb.PUBLISHED}
    # Only models whose likelihood is computed exactly are "exact": a bound or an
    # importance-sampling estimate labelled so would be counted as a likelihood.
    assert sorted(m for m, k in kinds.items() if k == "exact") == ["GRU", "LSTM", "RNN", "RNN-NADE", "TCN"]
    assert kinds["STORN"] == kinds["Pyro DMM tutorial"] == "bound"
    krishnan = {row["model"]: row["nats_per_frame"] for row in jsb.PUBLISHED if row["source"].startswith("Krishnan")}
    assert krishnan == {"DMM (IS estimate)": 6.388, "DMM (bound)": 6.926, "DMM-Aug (IS estimate)": 6.288,
                        "DMM-Aug (bound)": 6.773, "DMM-Aug-NADE (IS estimate)": 5.118,
                        "DMM-Aug-NADE (bound)": 5.335}
    assert all(kinds[m] == ("bound" if "(bound)" in m else "estimate") for m in krishnan)
    for row in jsb.PUBLISHED:
        assert row["likelihood"] in jsb.NUMBER_KINDS and row["source"] and row["basis"]
        # The precision recorded is the one the number is written with.
        assert round(row["nats_per_frame"], row["decimals"]) == row["nats_per_frame"]


def test_a_comparison_counts_bounds_and_estimates_apart_from_likelihoods():
    comparison = jsb.compare_with_published(6.0).set_index("model")
    # Below every bound and estimate of the plain DMM, and below STORN: none of it settled.
    for model in ("STORN", "Pyro DMM tutorial", "DMM (bound)", "DMM (IS estimate)"):
        assert comparison.loc[model, "verdict"] == "ours lower" and not comparison.loc[model, "settled"]
    settled_wins = comparison[comparison["settled"] & (comparison["verdict"] == "ours lower")]
    assert sorted(settled_wins.index) == ["GRU", "LSTM", "RNN", "TCN"]
    assert set(settled_wins["likelihood"]) == {"exact"}
    # Above a bound is settled: the model's NLL is at most its bound.
    assert comparison.loc["DMM-Aug-NADE (bound)", "verdict"] == "theirs lower"
    assert comparison.loc["DMM-Aug-NADE (bound)", "settled"]
    # Our bound below an exact number is settled; above one it is not.
    as_bound = jsb.compare_with_published(6.0, kind="bound").set_index("model")
    assert as_bound.loc["TCN", "settled"] and not as_bound.loc["RNN-NADE", "settled"]


def test_a_difference_finer_than_the_published_precision_is_a_tie():
    comparison = jsb.compare_with_published(5.195).set_index("model")
    assert comparison.loc["RNN-NADE", "verdict"] == "tie" and not comparison.loc["RNN-NADE", "settled"]
    assert jsb.compare_with_published(5.1849).set_index("model").loc["RNN-NADE", "verdict"] == "ours lower"
    assert jsb.compare_with_published(5.1951).set_index("model").loc["RNN-NADE", "verdict"] == "theirs lower"
    # Three decimals: 5.1185 is still a tie with 5.118, 5.1186 is not.
    estimate = "DMM-Aug-NADE (IS estimate)"
    assert jsb.compare_with_published(5.1185).set_index("model").loc[estimate, "verdict"] == "tie"
    assert jsb.compare_with_published(5.1186).set_index("model").loc[estimate, "verdict"] == "theirs lower"
    with pytest.raises(ValueError, match="unknown kind of number 'approximate'"):
        jsb.compare_with_published(5.0, kind="approximate")


def test_the_sixteenth_note_published_rows():
    rows = {row["model"]: row for row in jsb.PUBLISHED_16TH}
    assert {m: r["nats_per_voice_token"] for m, r in rows.items()} == {
        "Music Transformer": 0.335, "Coconet": 0.436, "TonicNet": 0.220}
    assert {m: r["likelihood"] for m, r in rows.items()} == {
        "Music Transformer": "exact", "Coconet": "orderless", "TonicNet": "conditioned"}
    assert all(r["split"] == "validation" and r["confirmed"] is False and r["unit"] and r["caveat"]
               for r in rows.values())
    assert "paperswithcode" in rows["Music Transformer"]["caveat"]
    assert "1911.11775" in rows["TonicNet"]["source"] and "issue 1" in rows["TonicNet"]["caveat"]
    comparison = jsb.compare_with_published(0.40, published=jsb.PUBLISHED_16TH,
                                            column="nats_per_voice_token").set_index("model")
    assert comparison["verdict"].to_dict() == {"Music Transformer": "theirs lower", "Coconet": "ours lower",
                                               "TonicNet": "theirs lower"}
    # Only the exact row settles anything: Coconet's and TonicNet's are not the notes' likelihood.
    assert comparison["settled"].to_dict() == {"Music Transformer": True, "Coconet": False, "TonicNet": False}


def test_bernoulli_kind_scores_the_floor_saves_and_generates(corpus, tmp_path):
    model = zoo.train("jsb_bernoulli", corpus, progress=False)
    direct = IndependentBernoulli(0.3).fit(jsb.read_frames("train"))
    row = jsb.benchmark_row(model)
    assert row["nats_per_frame"] == pytest.approx(jsb.benchmark_nll(direct), rel=1e-12)
    assert 11.0 < row["nats_per_frame"] < 11.1
    # The corpus's notes give back exactly the file's frames (n_frames keeps trailing silence).
    np.testing.assert_array_equal(model.fitted.key_counts_, direct.key_counts_)
    loaded = zoo.load(model.save(tmp_path / "bernoulli"))
    assert jsb.benchmark_row(loaded)["nats_per_frame"] == pytest.approx(row["nats_per_frame"], rel=1e-12)
    notes = loaded.generate(n_notes=40, n_samples=2, seed=3)
    assert set(notes["part"]) == {"Keys"} and set(notes["piece"]) == {"sample_0", "sample_1"}
    assert notes["pitch"].between(21, 108).all() and len(notes) == 80
    with pytest.raises(ValueError, match="temperature 1 only"):
        loaded.generate(n_notes=10, temperature=0.5)


def test_hmm_kind_round_trips(corpus, tmp_path):
    model = zoo.train("jsb_hmm", corpus, settings={"n_states": 4, "epochs": 3}, progress=False)
    score = jsb.benchmark_nll(model.fitted)
    assert 8.0 < score < 11.06  # four states already beat the floor
    loaded = zoo.load(model.save(tmp_path / "hmm"))
    assert jsb.benchmark_nll(loaded.fitted) == pytest.approx(score, rel=1e-12)
    # The zoo's own score of held-out notes is the same function on the frames up to
    # each piece's last note: close to the benchmark's number, not equal.
    scored = model.score(corpus.split("test").notes)
    assert scored["representation"] == jsb.REPRESENTATION
    assert -scored["log_likelihood"] / scored["n_tokens"] == pytest.approx(score, rel=0.02)


def test_autoregressive_output_sees_only_the_keys_below():
    from musicalpy.models.frame_rnn import build_frame_rnn

    network = build_frame_rnn("autoregressive", units=8, hidden=12, dropout=0.0)
    keys = network.get_layer("keys")
    rng = np.random.default_rng(0)
    for weight in keys.weights:  # zeros at init would hide a wrong mask
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    previous = (rng.random((1, 3, 88)) < 0.1).astype("float32")
    current = (rng.random((1, 3, 88)) < 0.1).astype("float32")
    base = np.asarray(network([previous, current]))
    for key in (0, 40, 87):
        flipped = current.copy()
        flipped[0, 1, key] = 1 - flipped[0, 1, key]
        changed = np.abs(np.asarray(network([previous, flipped])) - base)[0, 1] > 1e-6
        assert not changed[: key + 1].any()  # logit k never sees key k or above
        if key < 87:
            assert changed[key + 1:].any()  # and the keys above do see it


def test_nade_kind_trains_scores_in_range_and_round_trips(corpus, tmp_path):
    from musicalpy.models.frame_rnn import LOGIT_BOUND

    # Two epochs (the smoke default is one), so that the kept epoch is chosen from a history.
    model = zoo.train("jsb_lstm_nade", corpus, smoke=True, settings={"epochs": 2}, progress=False)
    fitted = model.fitted
    assert len(fitted.history_) == 2 and fitted.history_["valid_nll"].notna().all()
    frames = jsb.read_frames("test")[0]
    log_prob = fitted.log_prob(frames)
    assert log_prob.shape == (len(frames),) and (log_prob < 0).all()
    # Every key's probability is inside (0, 1): the clipped logit bounds each frame's loss.
    assert (-log_prob <= 88 * np.log1p(np.exp(LOGIT_BOUND)) + 1e-9).all()
    valid = jsb.benchmark_nll(fitted, "valid")
    assert valid == pytest.approx(fitted.history_["valid_nll"].min(), rel=1e-5)
    loaded = zoo.load(model.save(tmp_path / "nade"))
    np.testing.assert_allclose(loaded.fitted.log_prob(frames), log_prob, rtol=1e-6)
    sample = loaded.fitted.sample(3, seed=1)
    assert sample.shape == (3, 88) and sample.dtype == bool
    np.testing.assert_array_equal(sample, loaded.fitted.sample(3, seed=1))


def test_lstm_kind_is_independent_per_key(corpus):
    model = zoo.train("jsb_lstm", corpus, smoke=True, settings={"epochs": 1}, progress=False)
    assert model.fitted.output == "independent"
    network = model.fitted.network_
    previous = np.zeros((1, 2, 88), dtype="float32")
    current = np.zeros((1, 2, 88), dtype="float32")
    other = current.copy()
    other[0, :, 30] = 1
    np.testing.assert_allclose(np.asarray(network([previous, current])), np.asarray(network([previous, other])))
    assert np.isfinite(jsb.benchmark_nll(model.fitted))


def test_benchmark_row_refuses_a_model_that_is_not_a_frame_model():
    with pytest.raises(ValueError, match="not a frame model"):
        jsb.benchmark_row(object())


def test_leaderboard_keeps_jsb_rows_apart(tmp_path):
    path = tmp_path / "board.csv"
    pd.DataFrame([{"model": "m", "representation": "r", "split": "test", "bits_per_note": 2.0}]).to_csv(path, index=False)
    board = Leaderboard(path)
    assert board.frame["benchmark"].tolist() == [""]  # a file written before the column
    jsb.add_to_leaderboard(board, [{"model": "m", "nats_per_frame": 6.4, "likelihood": "exact"}])
    board.add("m", representation="r", split="test", bits_per_note=1.5)  # replaces only the corpus row
    board.save()
    frame = Leaderboard(path).frame.set_index("benchmark")
    assert sorted(frame.index) == ["", "jsb"]
    assert frame.loc["jsb", "nats_per_frame"] == 6.4 and frame.loc["", "bits_per_note"] == 1.5


def test_cli_evaluate_benchmark_jsb(corpus, tmp_path, capsys):
    from musicalpy.cli import main

    folder = zoo.train("jsb_bernoulli", corpus, progress=False).save(tmp_path / "floor")
    board = tmp_path / "board.csv"
    assert main(["evaluate", "--benchmark", "jsb", str(folder), "--leaderboard", str(board)]) == 0
    out = capsys.readouterr().out
    assert "RNN-NADE" in out and "floor" in out and "nats per frame" in out
    rows = pd.read_csv(board)
    assert rows["benchmark"].tolist() == ["jsb"]
    assert rows["nats_per_frame"].iloc[0] == pytest.approx(jsb.benchmark_nll(IndependentBernoulli(0.3).fit(
        jsb.read_frames("train"))), rel=1e-9)
    assert main(["evaluate", "--benchmark", "jsb", str(folder), "--leaderboard", str(board)]) != 0
    assert "already holds JSB rows of floor; pass --force" in capsys.readouterr().err
