"""The JSB kinds added after the first benchmark rows: the WaveNet over frames
(``jsb_wavenet``), the VAE's bound (``jsb_vae``), and the frame networks' GRU trunk and
learning-rate schedule."""

from __future__ import annotations

import numpy as np
import pytest

from musicalpy import jsb, zoo
from musicalpy.frame_estimators import frame_nll


@pytest.fixture(scope="module")
def corpus():
    return jsb.load_jsb()


@pytest.fixture(scope="module")
def test_chorale():
    return jsb.read_frames("test")[0]


def _extreme_frames_are_finite(fitted, chorale):
    # A frame with every key sounding has a finite log-probability only when every key's
    # probability is above 0, and an empty frame only when every one is below 1.
    for fill in (True, False):
        frames = chorale.copy()
        frames[5] = fill
        assert np.isfinite(fitted.log_prob(frames)).all()


def test_wavenet_kind_trains_scores_is_causal_and_round_trips(corpus, test_chorale, tmp_path):
    model = zoo.train("jsb_wavenet", corpus, smoke=True, progress=False)
    fitted = model.fitted
    assert (fitted.output, fitted.trunk, fitted.dilations) == ("independent", "wavenet", (1, 2))
    valid = jsb.benchmark_nll(fitted, "valid")
    assert 0 < valid < np.inf
    assert valid == pytest.approx(fitted.history_["valid_nll"].min(), rel=1e-5)
    _extreme_frames_are_finite(fitted, test_chorale)
    log_prob = fitted.log_prob(test_chorale)
    # Causal: changing frame 10 leaves frames 0..9 as they were and changes what follows.
    changed = test_chorale.copy()
    changed[10] = ~changed[10]
    other = fitted.log_prob(changed)
    np.testing.assert_allclose(other[:10], log_prob[:10], rtol=1e-6)
    assert not np.allclose(other[11:13], log_prob[11:13])
    loaded = zoo.load(model.save(tmp_path / "wavenet"))
    assert loaded.kind == "jsb_wavenet" and loaded.fitted.trunk == "wavenet"
    np.testing.assert_allclose(loaded.fitted.log_prob(test_chorale), log_prob, rtol=1e-6)
    sample = loaded.fitted.sample(4, seed=3)
    assert sample.shape == (4, 88) and sample.dtype == bool
    np.testing.assert_array_equal(sample, loaded.fitted.sample(4, seed=3))


def test_wavenet_kind_refuses_a_recurrent_trunk(corpus):
    with pytest.raises(ValueError, match="trunk is 'wavenet', got trunk='lstm'"):
        zoo.train("jsb_wavenet", corpus, smoke=True, settings={"trunk": "lstm"}, progress=False)


def test_frame_windows_cover_every_frame_once_and_mask_the_padding():
    from musicalpy.models.frame_vae import frame_windows

    rng = np.random.default_rng(0)
    chorales = [rng.random((20, 88)) < 0.05, rng.random((8, 88)) < 0.05]
    windows, mask = frame_windows(chorales, 8)
    assert windows.shape == (3 + 1, 88, 8) and mask.shape == (4, 8)
    assert mask.sum(axis=1).tolist() == [8, 8, 4, 8]
    # Back to frames: the real frames of the first three windows are the first chorale.
    first = np.concatenate([w.T for w in windows[:3]])[mask[:3].reshape(-1)]
    np.testing.assert_array_equal(first > 0, chorales[0])
    assert not windows[2][:, 4:].any()  # the padding is silent
    overlapping, _ = frame_windows(chorales[:1], 8, hop=4)
    assert len(overlapping) == 4  # starts 0, 4, 8, 12: the last one reaches frame 19
    with pytest.raises(ValueError, match="window"):
        frame_windows(chorales, 0)


def test_vae_kind_reports_a_bound_that_sums_its_windows_elbo(corpus, test_chorale, tmp_path):
    from musicalpy.models.frame_vae import frame_windows

    model = zoo.train("jsb_vae", corpus, smoke=True, progress=False)
    fitted = model.fitted
    assert fitted.likelihood == "bound" and fitted.window == 16
    log_prob = fitted.log_prob(test_chorale)
    assert log_prob.shape == (len(test_chorale),) and np.isfinite(log_prob).all()
    windows, mask = frame_windows([test_chorale], fitted.window)
    log_likelihood, kl = fitted.window_elbo(windows, mask)
    assert (kl >= 0).all()
    assert log_prob.sum() == pytest.approx(log_likelihood.sum() - kl.sum(), rel=1e-9)
    _extreme_frames_are_finite(fitted, test_chorale)
    score = frame_nll(fitted, jsb.read_frames("valid"))
    assert 0 < score < np.inf
    row = jsb.benchmark_row(model, name="VAE")
    assert row["likelihood"] == "bound" and row["valid_nats_per_frame"] == pytest.approx(score, rel=1e-9)
    loaded = zoo.load(model.save(tmp_path / "vae"))
    np.testing.assert_allclose(loaded.fitted.log_prob(test_chorale), log_prob, rtol=1e-5)
    sample = loaded.fitted.sample(20, seed=2)
    assert sample.shape == (20, 88) and sample.dtype == bool
    np.testing.assert_array_equal(sample, loaded.fitted.sample(20, seed=2))
    assert "lower bound" in zoo.family("jsb_vae").score(model, corpus.split("test").notes.head(200))[3]


def test_gru_trunk_and_the_learning_rate_schedule():
    from musicalpy.models.frame_rnn import FrameRNN

    train, valid = jsb.read_frames("train")[:6], jsb.read_frames("valid")[:3]
    # A learning rate so small that validation never improves by the 1e-4 that counts:
    # the rate halves after every epoch without progress until patience runs out.
    model = FrameRNN("independent", trunk="gru", units=8, learning_rate=1e-7, epochs=6, patience=3,
                     lr_patience=1, lr_factor=0.5).fit(train, valid)
    assert model.network_.get_layer("gru_0") is not None
    assert model.history_["learning_rate"].tolist() == pytest.approx([1e-7, 1e-7, 5e-8, 2.5e-8])
    # The optimizer itself carries the last rate (no halving once patience has run out).
    assert float(model.network_.optimizer.learning_rate.numpy()) == pytest.approx(2.5e-8, rel=1e-6)
    assert model.best_epoch_ == 1
    with pytest.raises(ValueError, match="trunk must be one of"):
        FrameRNN(trunk="rnn")
    with pytest.raises(ValueError, match="lr_factor must be in"):
        FrameRNN(lr_factor=1.5)


def test_a_budget_ends_training_after_the_epoch_that_passes_it():
    from musicalpy.models.frame_rnn import FrameRNN

    train, valid = jsb.read_frames("train")[:4], jsb.read_frames("valid")[:2]
    # No cap on epochs and a patience that never runs out: only the budget stops it. A
    # budget of one CPU second is passed within the first epoch, so exactly one is run.
    model = FrameRNN("independent", units=8, epochs=None, patience=100, cpu_minutes=1 / 60).fit(train, valid)
    assert len(model.history_) == 1
    assert model.history_["cpu_s"].iloc[0] >= 1.0
    with pytest.raises(ValueError, match="give epochs, cpu_minutes or wall_minutes"):
        FrameRNN(epochs=None)
    with pytest.raises(ValueError, match="wall_minutes must be above 0"):
        FrameRNN(wall_minutes=0)


def test_a_frame_kind_trained_by_the_command_records_its_curve(corpus):
    model = zoo.train("jsb_lstm", corpus, smoke=True, progress=False, epochs=3)
    state, history = model.state, model.fitted.history_
    assert state["epochs_run"] == len(history) == len(state["curve"]) == 3
    assert [point["nats_per_frame"] for point in state["curve"]] == pytest.approx(history["valid_nll"].round(5))
    assert state["curve"][state["best_epoch"] - 1]["nats_per_frame"] == min(p["nats_per_frame"] for p in state["curve"])
    assert state["cpu_minutes"] == pytest.approx(history["cpu_s"].iloc[-1] / 60, abs=0.01)
