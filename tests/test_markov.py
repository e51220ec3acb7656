"""Tests of musicalpy.markov: known answers, backoff, smoothing, sampling, JSON round trips."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicalpy.markov import MarkovChain, UnigramModel
from musicalpy.metrics import bits_per_token


def test_order_one_known_answer():
    chain = MarkovChain(order=1, alpha=1.0).fit([["a", "b", "a", "b"]])
    assert chain.vocabulary_ == ["a", "b"] and chain.n_states == 3  # plus the unknown slot
    # (begin) -> a once; a -> b twice; b -> a once. Denominators add alpha * 3.
    expected = [math.log(2 / 4), math.log(3 / 5), math.log(2 / 4), math.log(3 / 5)]
    np.testing.assert_allclose(chain.log_prob(["a", "b", "a", "b"]), expected)
    assert chain.score([["a", "b"], ["a"]]) == pytest.approx(math.log(2 / 4) * 2 + math.log(3 / 5))
    # An unknown token costs alpha / (n(context) + alpha * (V + 1)).
    assert chain.log_prob(["a", "z"])[1] == pytest.approx(math.log(1 / 5))


def test_backoff_to_the_longest_seen_context():
    chain = MarkovChain(order=2, alpha=0.5).fit([[1, 2, 3], [2, 2, 1]])
    # Context (3, 2) never occurred; its suffix (2,) did: 2 -> 3 once, 2 -> 2 once, 2 -> 1 once.
    backed_off = chain.log_prob([3, 2, 1])[2]
    assert backed_off == pytest.approx(math.log((1 + 0.5) / (3 + 0.5 * 4)))
    # Context (1, 2) occurred once, followed by 3.
    assert chain.log_prob([1, 2, 3])[2] == pytest.approx(math.log((1 + 0.5) / (1 + 0.5 * 4)))
    # The first token is predicted from the begin context: 1 once, 2 once, out of two.
    assert chain.log_prob([1])[0] == pytest.approx(math.log((1 + 0.5) / (2 + 0.5 * 4)))


def test_unigram_known_answer():
    model = UnigramModel(alpha=1.0).fit([[0, 0, 1], [0]])
    assert model.order == 0
    np.testing.assert_allclose(np.exp(model.log_prob([0, 1, 7])), [4 / 7, 2 / 7, 1 / 7])
    np.testing.assert_allclose(model.next_distribution([1, 1, 1]), [4 / 7, 2 / 7, 1 / 7])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 5), min_size=1, max_size=12), min_size=1, max_size=6),
    st.integers(1, 3),
    st.lists(st.integers(0, 7), max_size=4),
)
def test_every_prediction_is_a_distribution(sequences, order, context):
    chain = MarkovChain(order=order, alpha=0.3).fit(sequences)
    probs = chain.next_distribution(context)
    assert probs.sum() == pytest.approx(1.0) and (probs > 0).all()
    # log_prob of each vocabulary token after the context agrees with next_distribution.
    for token_id, token in enumerate(chain.vocabulary_):
        assert chain.log_prob([*context, token])[-1] == pytest.approx(math.log(probs[token_id]))
    assert chain.score(sequences) == pytest.approx(sum(chain.log_prob(s).sum() for s in sequences))


def test_markov_beats_unigram_on_structured_sequences():
    rng = np.random.default_rng(0)
    cycle = [0, 2, 4, 5, 7, 5, 4, 2]
    train = [[cycle[(k + i) % 8] for i in range(40)] for k in rng.integers(0, 8, 20)]
    test = [[cycle[(k + i) % 8] for i in range(40)] for k in rng.integers(0, 8, 5)]
    n_tokens = sum(map(len, test))
    unigram = bits_per_token(UnigramModel(alpha=0.1).fit(train).score(test), n_tokens)
    markov1 = bits_per_token(MarkovChain(1, alpha=0.1).fit(train).score(test), n_tokens)
    markov2 = bits_per_token(MarkovChain(2, alpha=0.1).fit(train).score(test), n_tokens)
    # Frequencies 1/8, 1/8 and three times 2/8: entropy 2 * 3/8 + 3 * 2/4 = 2.25 bits.
    assert unigram == pytest.approx(2.25, abs=0.05)
    # After 2, 4 or 5 (6 tokens in 8) the next token is one of two: about 0.75 bits.
    assert markov1 == pytest.approx(0.75, abs=0.1)
    assert markov2 < 0.2  # two tokens of context make the cycle deterministic
    assert markov2 < 0.2


def test_sampling_follows_the_transitions():
    chain = MarkovChain(order=1, alpha=1e-6).fit([["x", "y", "y", "x", "y", "y"] * 50])
    drawn = chain.sample(4000, random_state=3)
    assert set(drawn) == {"x", "y"}
    pairs = pd.Series(list(zip(drawn[:-1], drawn[1:], strict=True))).value_counts(normalize=False)
    after_y = pairs[("y", "x")] / (pairs[("y", "x")] + pairs[("y", "y")])
    assert after_y == pytest.approx(chain.next_distribution(["y"])[0], abs=0.03)
    assert ("x", "x") not in pairs.index
    assert chain.sample(50, random_state=3)[:50] == drawn[:50]  # seeded
    assert chain.sample(0) == []


def rate_of(tokens, first, then) -> float:
    """How often ``first`` is followed by ``then``."""
    after = [b for a, b in zip(tokens[:-1], tokens[1:], strict=True) if a == first]
    return sum(b == then for b in after) / len(after)


def test_sampling_temperature_and_start():
    chain = MarkovChain(order=1, alpha=0.01).fit([[1, 2, 3, 1, 2, 3, 1, 2, 1]])
    assert chain.sample(6, temperature=0, start=[1]) == [1, 2, 3, 1, 2, 3, 1]
    hot = chain.sample(3000, temperature=50, random_state=0)
    cold = chain.sample(3000, temperature=0.5, random_state=0)
    # 1 -> 2 has probability ~0.99; at temperature 50 the four choices are nearly equal
    # (the unknown slot excluded: three).
    assert rate_of(cold, 1, 2) > 0.98
    assert rate_of(hot, 1, 2) == pytest.approx(1 / 3, abs=0.05)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        chain.sample(3, start=[9])
    with pytest.raises(ValueError, match="temperature"):
        chain.sample(3, temperature=-1)
    with pytest.raises(ValueError, match="length"):
        chain.sample(-1)


def test_unknown_slot_is_never_sampled():
    chain = MarkovChain(order=1, alpha=100.0, vocabulary=["a", "b", "c"]).fit([["a", "b"]])
    assert set(chain.sample(500, random_state=1)) <= {"a", "b", "c"}
    assert "c" in chain.sample(500, random_state=1)  # in the given vocabulary, never seen


def test_inputs_arrays_tuples_and_errors():
    array = np.array([[60, 62, 64], [62, 64, 65]])
    from_array = MarkovChain(1).fit(array)
    from_lists = MarkovChain(1).fit([[60, 62, 64], [62, 64, 65]])
    assert from_array.vocabulary_ == from_lists.vocabulary_ == [60, 62, 64, 65]
    assert type(from_array.vocabulary_[0]) is int
    assert from_array.score(array) == pytest.approx(from_lists.score(array.tolist()))
    series = [pd.Series([60, 62]), np.array([64])]
    assert MarkovChain(1).fit(series).n_tokens_ == 3
    tuples = MarkovChain(2).fit([[(60, 1), (62, 1), (60, 2)]])
    assert tuples.vocabulary_ == [(60, 1), (62, 1), (60, 2)]
    with pytest.raises(TypeError, match="wrap it"):
        MarkovChain(1).fit([60, 62, 64])
    with pytest.raises(ValueError, match="order"):
        MarkovChain(order=0)
    with pytest.raises(ValueError, match="alpha"):
        MarkovChain(order=1, alpha=0)
    with pytest.raises(ValueError, match="no tokens"):
        MarkovChain(1).fit([[], []])
    with pytest.raises(RuntimeError, match="not fitted"):
        MarkovChain(1).score([[1]])


def test_given_vocabulary_covers_unseen_tokens():
    chain = MarkovChain(1, alpha=0.5, vocabulary=range(128)).fit([[60, 62, 60]])
    assert chain.n_states == 129
    assert chain.log_prob([60, 100])[1] == pytest.approx(math.log(0.5 / (1 + 0.5 * 129)))


@pytest.mark.parametrize("model", [
    MarkovChain(order=3, alpha=0.2),
    UnigramModel(alpha=0.7),
    MarkovChain(order=1, alpha=0.1, vocabulary=[(60, "q"), (62, "e"), "rest", 5]),
])
def test_json_round_trip(tmp_path, model):
    sequences = [[(60, "q"), (62, "e"), "rest", (60, "q"), 5], [(62, "e"), "rest"]]
    model.fit(sequences)
    path = model.save(tmp_path / "model.json")
    payload = json.loads(path.read_text())  # plain JSON, no pickle
    assert payload["class"] == type(model).__name__
    loaded = MarkovChain.load(path)
    assert type(loaded) is type(model) and loaded.order == model.order and loaded.alpha == model.alpha
    assert loaded.vocabulary_ == model.vocabulary_
    probe = [(60, "q"), "rest", (62, "e"), 5, "unseen"]
    np.testing.assert_allclose(loaded.log_prob(probe), model.log_prob(probe))
    assert loaded.sample(20, random_state=4) == model.sample(20, random_state=4)


def test_load_rejects_other_files(tmp_path):
    unigram = UnigramModel().fit([[1, 2]]).save(tmp_path / "unigram.json")
    chain = MarkovChain(2).fit([[1, 2]]).save(tmp_path / "chain.json")
    assert isinstance(MarkovChain.load(unigram), UnigramModel)
    with pytest.raises(ValueError, match="not a UnigramModel"):
        UnigramModel.load(chain)
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="not a saved"):
        MarkovChain.load(tmp_path / "other.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ValueError, match="cannot read"):
        MarkovChain.load(tmp_path / "broken.json")


def test_integer_arguments_are_checked_by_name():
    with pytest.raises(ValueError, match=r"order must be an integer >= 1, got 0 \(use UnigramModel"):
        MarkovChain(order=0)
    with pytest.raises(ValueError, match="order must be an integer >= 1, got 1.5"):
        MarkovChain(order=1.5)
    chain = MarkovChain(order=1).fit([["a", "b"]])
    with pytest.raises(ValueError, match="length must be an integer >= 0, got -1"):
        chain.sample(-1)
    assert chain.sample(0, random_state=0) == []
