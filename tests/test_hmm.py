"""The from-scratch HMM: hmmlearn agreement, known answers, properties and bad input."""

from __future__ import annotations

import itertools
import json

import hypothesis.strategies as st
import numpy as np
import pytest
from hmmlearn.hmm import CategoricalHMM
from hypothesis import given, settings

import musicalpy.hmm as hmm_module
from musicalpy.hmm import (
    HMM,
    PackedBatch,
    backward,
    forward,
    hmmlearn_reference,
    init_mat,
    naive_forward,
    softmax,
    temperature_choice,
    viterbi,
)

# Wikipedia, "Viterbi algorithm": states Healthy (0) / Fever (1), observations
# normal (0) / cold (1) / dizzy (2).
WIKI_START = np.array([0.6, 0.4])
WIKI_TRANS = np.array([[0.7, 0.3], [0.4, 0.6]])
WIKI_EMIT = np.array([[0.5, 0.4, 0.1], [0.1, 0.3, 0.6]])
WIKI_OBS = np.array([0, 1, 2])


def random_params(n_states: int, n_symbols: int | list[int], seed: int) -> dict:
    rng = np.random.default_rng(seed)
    sizes = [n_symbols] if np.ndim(n_symbols) == 0 else list(n_symbols)
    emissions = [init_mat(n_states, v, "random", rng) for v in sizes]
    return {
        "startprob": init_mat(1, n_states, "random", rng)[0],
        "transmat": init_mat(n_states, n_states, "random", rng),
        "emissionprob": emissions[0] if np.ndim(n_symbols) == 0 else emissions,
    }


def random_sequences(seed: int, n_sequences: int, n_symbols: int, max_length: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, max_length + 1, size=n_sequences)
    lengths[0] = 1  # a sequence without transitions
    return [rng.integers(0, n_symbols, size=n) for n in lengths]


def brute_force(obs: np.ndarray, start: np.ndarray, trans: np.ndarray, emissions: list[np.ndarray]):
    """Enumerate every state path: total probability, best path and its probability, posteriors."""
    obs = obs.reshape(len(obs), -1)
    n_states = len(start)
    total, best, best_path = 0.0, -1.0, None
    posterior = np.zeros((len(obs), n_states))
    for path in itertools.product(range(n_states), repeat=len(obs)):
        p = start[path[0]]
        for t, state in enumerate(path):
            if t:
                p *= trans[path[t - 1], state]
            for feature, emission in enumerate(emissions):
                p *= emission[state, obs[t, feature]]
        total += p
        posterior[np.arange(len(obs)), path] += p
        if p > best:
            best, best_path = p, path
    return total, best, list(best_path), posterior / total


def reference(params: dict, implementation: str, n_iter: int = 20) -> CategoricalHMM:
    return hmmlearn_reference(params, n_iter=n_iter, implementation=implementation)


# ------------------------------------------------------------------ hmmlearn agreement


@pytest.mark.parametrize("implementation", ["scaling", "log"])
def test_baum_welch_matches_hmmlearn_iteration_by_iteration(implementation):
    params = random_params(4, 6, seed=1)
    sequences = random_sequences(2, n_sequences=12, n_symbols=6, max_length=80)
    ours = HMM(4, n_iter=20, tol=-np.inf, init_params=params, verbose=False).fit(sequences)
    theirs = reference(params, implementation).fit(
        np.concatenate(sequences)[:, None], [len(s) for s in sequences])

    # Both record the log-likelihood of the parameters entering each iteration.
    assert len(ours.history_) == len(theirs.monitor_.history) == 20
    np.testing.assert_allclose(ours.history_, list(theirs.monitor_.history), rtol=1e-6)
    assert ours.history_[-1] > ours.history_[0] + 10  # it did learn something
    for name in ("startprob_", "transmat_", "emissionprob_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), atol=1e-6, err_msg=name)


def test_inference_matches_hmmlearn_after_fitting():
    params = random_params(3, 5, seed=3)
    sequences = random_sequences(4, n_sequences=6, n_symbols=5, max_length=40)
    X, lengths = np.concatenate(sequences), [len(s) for s in sequences]
    ours = HMM(3, n_iter=5, tol=-np.inf, init_params=params, verbose=False).fit(X, lengths)
    theirs = reference(params, "scaling", n_iter=5).fit(X[:, None], lengths)

    assert ours.score(X, lengths) == pytest.approx(theirs.score(X[:, None], lengths), rel=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X, lengths), theirs.predict_proba(X[:, None], lengths),
                               atol=1e-10)
    log_prob, states = ours.decode(X, lengths)
    their_log_prob, their_states = theirs.decode(X[:, None], lengths)
    assert log_prob == pytest.approx(their_log_prob, rel=1e-10)
    np.testing.assert_array_equal(states, their_states)


def test_chunked_passes_give_the_same_answers(monkeypatch):
    params = random_params(3, 4, seed=5)
    sequences = random_sequences(6, n_sequences=9, n_symbols=4, max_length=30)
    whole = HMM(3, n_iter=4, tol=-np.inf, init_params=params, verbose=False).fit(sequences)
    monkeypatch.setattr(hmm_module, "CHUNK_ROWS", 20)  # several chunks
    assert len(hmm_module._chunks(np.concatenate(sequences)[:, None],
                                  np.array([len(s) for s in sequences]))) > 2
    chunked = HMM(3, n_iter=4, tol=-np.inf, init_params=params, verbose=False).fit(sequences)
    np.testing.assert_allclose(chunked.history_, whole.history_, rtol=1e-12)
    np.testing.assert_allclose(chunked.transmat_, whole.transmat_, atol=1e-12)
    np.testing.assert_allclose(np.concatenate(chunked.predict_proba(sequences)),
                               np.concatenate(whole.predict_proba(sequences)), atol=1e-12)
    assert [s.tolist() for s in chunked.predict(sequences)] == [s.tolist() for s in whole.predict(sequences)]


def test_batched_scores_equal_one_sequence_at_a_time():
    model = HMM.from_parameters(**random_params(3, 4, seed=7), verbose=False)
    sequences = random_sequences(8, n_sequences=7, n_symbols=4, max_length=50)
    alone = [model.score(s) for s in sequences]
    np.testing.assert_allclose(model.log_likelihoods(sequences), alone, rtol=1e-12)
    assert model.score(sequences) == pytest.approx(sum(alone), rel=1e-12)


# ------------------------------------------------------------------------ known answers


def test_wikipedia_healthy_fever_example():
    total, best, best_path, posterior = brute_force(WIKI_OBS, WIKI_START, WIKI_TRANS, [WIKI_EMIT])
    # The values on the Wikipedia page, which the enumeration reproduces by hand:
    # best path Healthy, Healthy, Fever = 0.6*0.5 * 0.7*0.4 * 0.3*0.6.
    assert best_path == [0, 0, 1]
    assert best == pytest.approx(0.01512)
    assert total == pytest.approx(0.03628)

    model = HMM.from_parameters(WIKI_START, WIKI_TRANS, WIKI_EMIT, verbose=False)
    assert np.exp(model.score(WIKI_OBS)) == pytest.approx(total, rel=1e-12)
    log_prob, states = model.decode(WIKI_OBS)
    assert states.tolist() == [0, 0, 1]
    assert np.exp(log_prob) == pytest.approx(0.01512, rel=1e-12)
    np.testing.assert_allclose(model.predict_proba(WIKI_OBS), posterior, atol=1e-12)
    # The teaching functions give the same numbers.
    frame = model.frame_probs(WIKI_OBS)
    np.testing.assert_allclose(frame, WIKI_EMIT[:, WIKI_OBS].T)
    assert naive_forward(frame, WIKI_START, WIKI_TRANS)[1] == pytest.approx(total, rel=1e-12)
    alpha, scale = forward(frame, WIKI_START, WIKI_TRANS)
    assert np.prod(scale) == pytest.approx(total, rel=1e-12)
    np.testing.assert_allclose(alpha * backward(frame, WIKI_TRANS, scale), posterior, atol=1e-12)


def test_random_model_against_enumeration_of_all_paths():
    params = random_params(3, 4, seed=11)
    obs = np.array([2, 0, 3, 3, 1, 0])
    total, best, best_path, posterior = brute_force(
        obs, params["startprob"], params["transmat"], [params["emissionprob"]])
    model = HMM.from_parameters(**params, verbose=False)
    assert model.score(obs) == pytest.approx(np.log(total), rel=1e-12)
    log_prob, states = model.decode(obs)
    assert states.tolist() == best_path
    assert log_prob == pytest.approx(np.log(best), rel=1e-12)
    np.testing.assert_allclose(model.predict_proba(obs), posterior, atol=1e-12)


def test_packed_batch_layout():
    batch = PackedBatch.from_lengths([2, 4, 1, 4])
    # longest first, ties in order: ranks 1, 3, 0, 2
    np.testing.assert_array_equal(batch.rank, [2, 0, 3, 1])
    np.testing.assert_array_equal(batch.n_active, [4, 3, 2, 2])
    np.testing.assert_array_equal(batch.offsets, [0, 4, 7, 9, 11])
    values = np.arange(11) * 10
    packed = batch.pack(values)
    np.testing.assert_array_equal(batch.unpack(packed), values)
    # step 0 of every sequence, longest first: input rows 2, 7, 0, 6 (the starts)
    np.testing.assert_array_equal(packed[:4], [20, 70, 0, 60])
    # then step 1 of the three sequences longer than 1: rows 3, 8, 1
    np.testing.assert_array_equal(packed[4:7], [30, 80, 10])
    np.testing.assert_array_equal(batch.sequence_sums(packed), [10, 140, 60, 340])


def test_viterbi_batched_equals_one_at_a_time():
    params = random_params(4, 5, seed=13)
    sequences = random_sequences(14, n_sequences=5, n_symbols=5, max_length=25)
    model = HMM.from_parameters(**params, verbose=False)
    batched = model.predict(sequences)
    for sequence, states in zip(sequences, batched, strict=True):
        log_frame = np.log(model.frame_probs(sequence))
        _, alone = viterbi(log_frame, np.log(params["startprob"]), np.log(params["transmat"]))
        np.testing.assert_array_equal(states, alone)


# --------------------------------------------------------------------------- properties


@settings(max_examples=30, deadline=None)
@given(
    n_states=st.integers(1, 4),
    n_symbols=st.integers(1, 5),
    lengths=st.lists(st.integers(1, 25), min_size=1, max_size=5),
    seed=st.integers(0, 2**31 - 1),
)
def test_log_likelihood_never_decreases(n_states, n_symbols, lengths, seed):
    rng = np.random.default_rng(seed)
    sequences = [rng.integers(0, n_symbols, size=n) for n in lengths]
    model = HMM(n_states, n_iter=12, tol=-np.inf, random_state=seed, n_symbols=n_symbols,
                verbose=False).fit(sequences)
    history = np.asarray(model.history_)
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[:-1]) - 1e-12)
    for matrix in (model.startprob_, model.transmat_, model.emissionprob_):
        assert np.isfinite(matrix).all()
        np.testing.assert_allclose(matrix.sum(axis=-1), 1.0)


def test_100_000_steps_neither_underflow_nor_overflow():
    params = random_params(4, 8, seed=17)
    obs = np.random.default_rng(18).integers(0, 8, size=100_000)
    model = HMM.from_parameters(**params, verbose=False)
    log_likelihood = model.score(obs)
    assert np.isfinite(log_likelihood)
    assert log_likelihood < -100_000  # about log(1/8) per step
    log_space = reference(params, "log").score(obs[:, None])
    assert log_likelihood == pytest.approx(log_space, rel=1e-9)
    # The unscaled textbook recursion underflows to exactly 0 long before the end.
    frame = model.frame_probs(obs[:2000])
    assert naive_forward(frame, params["startprob"], params["transmat"])[1] == 0.0


# ------------------------------------------------------------------ factorized emissions


def test_one_feature_as_a_column_is_the_plain_hmm():
    params = random_params(3, 5, seed=19)
    sequences = random_sequences(20, n_sequences=5, n_symbols=5, max_length=30)
    plain = HMM(3, n_iter=6, tol=-np.inf, init_params=params, verbose=False).fit(sequences)
    column = HMM(3, n_iter=6, tol=-np.inf, init_params={**params, "emissionprob": [params["emissionprob"]]},
                 verbose=False).fit([s[:, None] for s in sequences])
    np.testing.assert_allclose(column.history_, plain.history_, rtol=1e-12)
    assert isinstance(column.emissionprob_, np.ndarray) and column.emissionprob_.shape == (3, 5)
    np.testing.assert_allclose(column.emissionprob_, plain.emissionprob_, atol=1e-12)
    assert column.score([s[:, None] for s in sequences]) == pytest.approx(plain.score(sequences), rel=1e-12)


def test_two_features_against_enumeration():
    params = random_params(2, [3, 2], seed=23)
    obs = np.array([[0, 1], [2, 0], [2, 1], [1, 1]])
    total, best, best_path, posterior = brute_force(
        obs, params["startprob"], params["transmat"], params["emissionprob"])
    model = HMM.from_parameters(**params, verbose=False)
    assert model.n_features_ == 2 and model.n_symbols_ == [3, 2]
    assert model.score(obs) == pytest.approx(np.log(total), rel=1e-12)
    log_prob, states = model.decode(obs)
    assert states.tolist() == best_path and log_prob == pytest.approx(np.log(best), rel=1e-12)
    np.testing.assert_allclose(model.predict_proba(obs), posterior, atol=1e-12)


def test_a_constant_second_feature_changes_nothing():
    params = random_params(3, 4, seed=29)
    sequences = random_sequences(30, n_sequences=4, n_symbols=4, max_length=30)
    plain = HMM(3, n_iter=5, tol=-np.inf, init_params=params, verbose=False).fit(sequences)
    two = HMM(3, n_iter=5, tol=-np.inf, verbose=False,
              init_params={**params, "emissionprob": [params["emissionprob"], np.ones((3, 1))]}
              ).fit([np.column_stack([s, np.zeros_like(s)]) for s in sequences])
    np.testing.assert_allclose(two.history_, plain.history_, rtol=1e-12)
    assert len(two.emissionprob_) == 2
    np.testing.assert_allclose(two.emissionprob_[0], plain.emissionprob_, atol=1e-12)
    np.testing.assert_allclose(two.emissionprob_[1], 1.0)


def test_factorized_sampling_and_fit_shapes():
    rng = np.random.default_rng(31)
    sequences = [np.column_stack([rng.integers(0, 5, n), rng.integers(0, 3, n), rng.integers(0, 2, n)])
                 for n in (20, 35, 8)]
    model = HMM(4, n_iter=8, random_state=0, verbose=False).fit(sequences)
    assert [e.shape for e in model.emissionprob_] == [(4, 5), (4, 3), (4, 2)]
    assert np.all(np.diff(model.history_) > -1e-9)
    observations, states = model.sample(50, random_state=1)
    assert observations.shape == (50, 3) and states.shape == (50,)
    assert (observations.max(axis=0) < [5, 3, 2]).all()


# ---------------------------------------------------------------- sampling and helpers


def test_softmax_and_temperature_choice_known_answers():
    np.testing.assert_allclose(softmax([0.0, np.log(3.0)]), [0.25, 0.75])
    root = np.sqrt(3.0)
    np.testing.assert_allclose(softmax([0.0, np.log(3.0)], temperature=2.0), [1 / (1 + root), root / (1 + root)])
    np.testing.assert_allclose(softmax([-np.inf, 0.0, 1e4]), [0.0, 0.0, 1.0])
    rng = np.random.default_rng(0)
    probs = np.array([0.2, 0.5, 0.0, 0.3])
    draws = np.array([temperature_choice(probs, 1.0, rng) for _ in range(20_000)])
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / draws.size, probs, atol=0.015)
    assert {temperature_choice(probs, 1e-3, rng) for _ in range(200)} == {1}


def test_sample_is_reproducible_and_temperature_sharpens():
    model = HMM.from_parameters(**random_params(3, 6, seed=37), random_state=5, verbose=False)
    a = model.sample(40, random_state=9)
    b = model.sample(40, random_state=9)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[0].shape == (40,) and a[0].max() < 6
    # Near zero temperature every symbol is its state's most likely symbol.
    observations, states = model.sample(60, strategy="temperature", temperature=1e-4, random_state=3)
    np.testing.assert_array_equal(observations, model.emissionprob_.argmax(axis=1)[states])
    # The model's own generator moves on between calls but replays from the seed.
    first, second = model.sample(30)[0], model.sample(30)[0]
    replay = HMM.from_parameters(**random_params(3, 6, seed=37), random_state=5, verbose=False)
    np.testing.assert_array_equal(replay.sample(30)[0], first)
    assert not np.array_equal(first, second)
    assert HMM.sample_sequence is HMM.sample and HMM.baum_welch is HMM.fit


def test_init_mat_and_uniform_init():
    matrix = init_mat(3, 7, "random", 0)
    assert matrix.shape == (3, 7) and (matrix > 0).all()
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    np.testing.assert_array_equal(init_mat(2, 4, "uniform"), np.full((2, 4), 0.25))
    # Identical states stay identical: uniform init can only learn a unigram.
    sequences = random_sequences(41, n_sequences=3, n_symbols=4, max_length=30)
    model = HMM(3, n_iter=5, init="uniform", verbose=False).fit(sequences)
    counts = np.bincount(np.concatenate(sequences), minlength=4)
    np.testing.assert_allclose(model.emissionprob_, np.tile(counts / counts.sum(), (3, 1)), atol=1e-12)


# ------------------------------------------------------------------ convergence record


def test_stops_at_relative_tolerance_and_records_it(capsys):
    sequences = random_sequences(43, n_sequences=6, n_symbols=5, max_length=60)
    model = HMM(3, n_iter=200, tol=1e-3, random_state=0, verbose=True).fit(sequences)
    assert model.converged_ and model.n_iter_ == len(model.history_) < 200
    table = model.convergence_table()
    assert list(table.columns) == ["iteration", "log_likelihood", "delta", "relative_change"]
    assert abs(table["relative_change"].iloc[-1]) < 1e-3
    assert (table["relative_change"].iloc[1:-1].abs() >= 1e-3).all()
    np.testing.assert_allclose(table["delta"].iloc[1:], np.diff(model.history_))
    err = capsys.readouterr().err
    assert "Baum-Welch" in err and "log_likelihood" in err and "relative" in err


# --------------------------------------------------------------------------- bad input


def test_symbols_outside_the_vocabulary_are_rejected_at_score():
    model = HMM(2, n_iter=2, random_state=0, verbose=False).fit([np.array([0, 1, 2, 1])])
    with pytest.raises(ValueError, match="sequence 1: symbol 3 is outside the fitted vocabulary 0..2"):
        model.score([np.array([0, 1]), np.array([0, 3])])
    with pytest.raises(ValueError, match="sequence 0, feature 1: symbol 4 is outside"):
        HMM.from_parameters(**random_params(2, [3, 4], seed=1)).score(np.array([[0, 3], [2, 4]]))
    with pytest.raises(ValueError, match=">= 0"):
        model.score(np.array([0, -1]))
    with pytest.raises(ValueError, match="integer symbol ids"):
        model.score(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="1 feature"):
        model.score(np.array([[0, 1], [1, 0]]))


def test_empty_input_is_rejected():
    model = HMM(2, verbose=False)
    with pytest.raises(ValueError, match="sequence 1 is empty"):
        model.fit([np.array([0, 1]), np.array([], dtype=int)])
    with pytest.raises(ValueError, match="sequences is empty"):
        model.fit([])
    with pytest.raises(ValueError, match=r"lengths\[1\] is 0"):
        model.fit(np.array([0, 1, 1]), lengths=[3, 0])
    with pytest.raises(ValueError, match="lengths sum to 4"):
        model.fit(np.array([0, 1, 1]), lengths=[2, 2])


@pytest.mark.parametrize("n_states", [0, -3, 2.5])
def test_bad_n_states(n_states):
    with pytest.raises(ValueError, match="n_states"):
        HMM(n_states)


@pytest.mark.parametrize("temperature", [0.0, -1.0])
def test_bad_temperature(temperature):
    model = HMM.from_parameters(WIKI_START, WIKI_TRANS, WIKI_EMIT, verbose=False)
    with pytest.raises(ValueError, match="temperature"):
        model.sample(5, strategy="temperature", temperature=temperature)
    with pytest.raises(ValueError, match="temperature"):
        temperature_choice([0.5, 0.5], temperature)
    with pytest.raises(ValueError, match="temperature"):
        softmax([0.0, 1.0], temperature)


def test_other_bad_arguments():
    model = HMM.from_parameters(WIKI_START, WIKI_TRANS, WIKI_EMIT, verbose=False)
    with pytest.raises(ValueError, match="strategy"):
        model.sample(5, strategy="greedy")
    with pytest.raises(ValueError, match="only applies"):
        model.sample(5, temperature=0.5)
    with pytest.raises(ValueError, match="init must be"):
        HMM(2, init="kmeans")
    with pytest.raises(ValueError, match="transmat must have shape"):
        HMM(2, init_params={"transmat": np.eye(3)}, verbose=False).fit([np.array([0, 1])])
    with pytest.raises(ValueError, match="rows must sum to 1"):
        HMM.from_parameters(WIKI_START, WIKI_TRANS * 2, WIKI_EMIT)
    with pytest.raises(ValueError, match="no parameters yet"):
        HMM(2).score(np.array([0, 1]))


def test_a_state_no_data_reaches_keeps_a_valid_row():
    # State 1 can never be entered: its rows get no expected counts at all.
    params = {"startprob": np.array([1.0, 0.0]), "transmat": np.array([[1.0, 0.0], [0.5, 0.5]]),
              "emissionprob": np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])}
    model = HMM(2, n_iter=3, init_params=params, verbose=False).fit([np.array([0, 1, 1, 0, 1])])
    for matrix in (model.startprob_, model.transmat_, model.emissionprob_):
        assert np.isfinite(matrix).all()
        np.testing.assert_allclose(matrix.sum(axis=-1), 1.0)
    np.testing.assert_allclose(model.transmat_[1], [0.5, 0.5])  # documented: uniform
    np.testing.assert_allclose(model.emissionprob_[1], [1 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(model.emissionprob_[0], [0.4, 0.6, 0.0])
    # A symbol the model can no longer emit has probability 0, not NaN.
    assert model.score(np.array([0, 2, 1])) == -np.inf


def test_pseudocount_smooths_unseen_symbols():
    sequences = [np.array([0, 0, 1, 0])]
    model = HMM(1, n_iter=2, n_symbols=3, pseudocount=1.0, verbose=False).fit(sequences)
    np.testing.assert_allclose(model.emissionprob_[0], [4 / 7, 2 / 7, 1 / 7])


# ---------------------------------------------------------------------------- save/load


def test_save_load_round_trip(tmp_path):
    sequences = random_sequences(47, n_sequences=4, n_symbols=6, max_length=40)
    model = HMM(3, n_iter=5, random_state=4, tol=0.0, verbose=False).fit(sequences)
    path = model.save(tmp_path / "model")
    assert path.name == "model.npz"
    loaded = HMM.load(path)
    assert loaded.score(sequences) == model.score(sequences)
    assert loaded.history_ == model.history_
    assert loaded.get_params() == {**model.get_params(), "init_params": None}
    np.testing.assert_array_equal(loaded.transmat_, model.transmat_)
    with np.load(path, allow_pickle=False) as stored:
        meta = json.loads(str(stored["meta"]))
    assert meta["n_symbols"] == [6] and meta["hyperparameters"]["n_states"] == 3
    with pytest.raises(FileExistsError):
        model.save(path)
    model.save(path, overwrite=True)


def test_save_load_factorized(tmp_path):
    params = random_params(2, [3, 4], seed=53)
    model = HMM.from_parameters(**params, verbose=False)
    loaded = HMM.load(model.save(tmp_path / "two.npz"))
    obs = np.array([[0, 3], [2, 1], [1, 1]])
    assert loaded.n_symbols_ == [3, 4]
    assert loaded.score(obs) == model.score(obs)


def test_load_rejects_other_files(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, meta=np.array(json.dumps({"format": "something else"})))
    with pytest.raises(ValueError, match="not a MusicalPy HMM file"):
        HMM.load(path)


def test_fit_reports_every_iteration_to_its_convergence_monitor():
    rng = np.random.default_rng(3)
    sequences = [rng.integers(0, 4, size=n) for n in (30, 45, 12)]
    model = HMM(n_states=3, n_iter=50, tol=1e-3, random_state=0, verbose=False).fit(sequences)
    assert model.monitor_.history == model.history_
    assert model.monitor_.iter == model.n_iter_ == len(model.history_)
    assert model.converged_ is model.monitor_.converged is True
    delta, relative = model.monitor_.change()
    assert abs(relative) < 1e-3 and delta == pytest.approx(model.history_[-1] - model.history_[-2])
    # EM cannot lower the (unsmoothed) log-likelihood
    assert np.all(np.diff(model.history_) > -1e-9)


def test_convergence_monitor_known_answers():
    from musicalpy.hmm import ConvergenceMonitor

    monitor = ConvergenceMonitor(tol=0.01, n_iter=10)
    monitor.report(-100.0)
    assert not monitor.converged and np.isnan(monitor.change()[1])
    monitor.report(-99.5)
    assert monitor.change() == (0.5, 0.005) and monitor.converged
    with pytest.raises(ValueError, match="n_iter must be an integer >= 0"):
        ConvergenceMonitor(tol=0.01, n_iter=-1)


def test_integer_arguments_are_checked_by_name():
    with pytest.raises(ValueError, match="n_states must be an integer >= 1, got 2.0"):
        HMM(n_states=2.0)
    with pytest.raises(ValueError, match="n_iter must be an integer >= 0, got True"):
        HMM(n_iter=True)
    model = HMM.from_parameters(np.array([1.0]), np.array([[1.0]]), np.array([[0.5, 0.5]]), verbose=False)
    with pytest.raises(ValueError, match="length must be an integer >= 1, got 0"):
        model.sample(0)


# ------------------------------------------------- binary features as matrix products


def _binary_case(n_states=5, n_features=12, seed=41):
    rng = np.random.default_rng(seed)
    on = rng.uniform(0.02, 0.6, (n_states, n_features))
    emissions = [np.stack([1 - on[:, f], on[:, f]], axis=1) for f in range(n_features)]
    sequences = [(rng.random((n, n_features)) < 0.3).astype(np.int64) for n in (40, 17, 63, 5)]
    return emissions, sequences


def test_binary_frame_probs_equal_the_per_feature_products():
    emissions, sequences = _binary_case()
    data = np.concatenate(sequences)
    columns = [data[:, f] for f in range(data.shape[1])]
    old = hmm_module._frame_probs_per_feature(emissions, columns)
    new = hmm_module._binary_frame_probs(emissions, data.astype(np.float64))
    assert hmm_module._binary_features(emissions)
    np.testing.assert_allclose(new, old, rtol=1e-12)
    # A probability of exactly 0 has no log: that case keeps the per-feature path.
    emissions[3] = np.array([[1.0, 0.0]] * 5)
    assert not hmm_module._binary_features(emissions)
    np.testing.assert_array_equal(hmm_module._frame_probs(emissions, columns),
                                  hmm_module._frame_probs_per_feature(emissions, columns))


def test_binary_emission_counts_equal_the_sparse_one_hot_products():
    _, sequences = _binary_case()
    data = np.concatenate(sequences)
    gamma = np.random.default_rng(3).dirichlet(np.ones(5), size=len(data))
    chunk = hmm_module._chunks(data, np.array([len(s) for s in sequences]))[0]
    one_hots = hmm_module._one_hot_columns([chunk], [2] * data.shape[1])[0]
    packed_gamma = chunk.batch.pack(gamma[chunk.rows])
    old = [np.asarray(one_hot @ packed_gamma).T for one_hot in one_hots]
    new = hmm_module._binary_emission_counts(chunk.matrix, packed_gamma)
    assert len(new) == data.shape[1] and new[0].shape == (5, 2)
    for a, b in zip(new, old, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_binary_fit_equals_the_per_feature_computation(monkeypatch):
    emissions, sequences = _binary_case()
    params = {"startprob": np.full(5, 0.2), "transmat": np.full((5, 5), 0.2), "emissionprob": emissions}
    params["transmat"] = np.random.default_rng(5).dirichlet(np.ones(5), size=5)
    fast = HMM(5, n_iter=8, tol=-np.inf, init_params=params, pseudocount=1e-3, verbose=False).fit(sequences)
    fast_score, fast_states = fast.score(sequences), np.concatenate(fast.decode(sequences)[1])
    monkeypatch.setattr(hmm_module, "_binary_features", lambda emissions: False)
    monkeypatch.setattr(hmm_module, "_binary_vocabulary", lambda n_symbols: False)
    slow = HMM(5, n_iter=8, tol=-np.inf, init_params=params, pseudocount=1e-3, verbose=False).fit(sequences)
    np.testing.assert_allclose(fast.history_, slow.history_, rtol=1e-9)
    np.testing.assert_allclose(fast.transmat_, slow.transmat_, atol=1e-9)
    for a, b in zip(fast.emissionprob_, slow.emissionprob_, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-9)
    # Scored and decoded with the per-feature products (still patched) vs the matrix ones.
    assert fast_score == pytest.approx(slow.score(sequences), rel=1e-9)
    assert fast_states.tolist() == np.concatenate(slow.decode(sequences)[1]).tolist()
