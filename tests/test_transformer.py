"""Transformer: skewed relative logits = the direct O(L^2) computation, causality,
the cached stepper = the full model, greedy sampling through the engine, saving and
loading, the conditioned variant, the family, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from musicalpy.models import engine, transformer
from musicalpy.representations import Vocabulary

TOKENS = [("C4", 1.0), ("D4", 0.5), ("E4", 1.0), ("G4", 2.0), ("rest", 1.0), ("C5", 0.25)]


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return Vocabulary(TOKENS)


def _build(vocab, **options):
    import keras

    keras.utils.set_random_seed(5)
    settings = {"dim": 16, "num_layers": 2, "num_heads": 2, "dropout": 0.0, "max_distance": 6, "max_length": 40}
    return transformer.build_transformer(len(vocab), **{**settings, **options})


@pytest.fixture(scope="module", params=["relative", "sinusoidal", "learned"])
def model(request, vocab):
    if request.param == "relative":
        return _build(vocab, positions="none", relative=True)
    return _build(vocab, positions=request.param, relative=False)


def _random_ids(vocab, shape, seed=0):
    return np.random.default_rng(seed).integers(vocab.n_reserved, len(vocab), shape).astype(np.int32)


def test_skewed_relative_logits_equal_the_direct_computation():
    rng = np.random.default_rng(0)
    queries = rng.normal(size=(2, 3, 7, 4)).astype("float32")
    # max_distance 5 < L = 7: distances 5 and 6 share the last embedding (clipping).
    embeddings = rng.normal(size=(3, 5, 4)).astype("float32")
    skewed = np.asarray(transformer.relative_logits(queries, embeddings))
    direct = np.asarray(transformer.relative_logits_direct(queries, embeddings))
    lower = np.tril(np.ones((7, 7), dtype=bool))
    np.testing.assert_allclose(skewed[..., lower], direct[..., lower], atol=1e-5)
    # One entry by hand: query 6 against key 2 is distance 4; key 0 is distance 6 -> row 4.
    np.testing.assert_allclose(skewed[1, 2, 6, 2], queries[1, 2, 6] @ embeddings[2, 4], rtol=1e-5)
    np.testing.assert_allclose(skewed[0, 1, 6, 0], queries[0, 1, 6] @ embeddings[1, 4], rtol=1e-5)
    np.testing.assert_allclose(skewed[0, 0, 3, 3], queries[0, 0, 3] @ embeddings[0, 0], rtol=1e-5)


def test_skew_moves_each_row_into_place():
    # logits[i, m] = 10 * i + m; row i of the result must hold row i shifted L - 1 - i left.
    length = 4
    logits = (10 * np.arange(length)[:, None] + np.arange(length)[None, :]).astype("float32")
    skewed = np.asarray(transformer.skew(logits[None]))[0]
    for i in range(length):
        for j in range(i + 1):
            assert skewed[i, j] == 10 * i + (j - i + length - 1)


def test_model_is_causal(model, vocab):
    ids = _random_ids(vocab, (2, 20))
    changed = ids.copy()
    changed[:, 12:] = np.where(changed[:, 12:] == 5, 6, 5)
    difference = np.abs(model(ids).numpy() - model(changed).numpy()).max(axis=(0, 2))
    assert (difference[:12] == 0).all()  # earlier outputs never see later tokens
    assert (difference[12:] > 0).all()


def test_cached_steps_equal_the_full_model(model, vocab):
    ids = _random_ids(vocab, (3, 25), seed=1)
    stepper = engine.stepper_for(model)
    assert isinstance(stepper, transformer.CachedTransformerStepper)
    np.testing.assert_allclose(stepper.logits_along(ids), model(ids).numpy(), atol=1e-4)


def test_cache_that_is_full_slides_over_the_last_positions(vocab):
    # With a cache of 8 and relative attention, a one-layer model sees exactly the last
    # 8 tokens: the cached step equals the full model on that window.
    model = _build(vocab, positions="none", relative=True, num_layers=1, max_distance=10)
    ids = _random_ids(vocab, (2, 20), seed=2)
    stepped = transformer.CachedTransformerStepper(model, capacity=8).logits_along(ids)
    np.testing.assert_allclose(stepped[:, -1], model(ids[:, -8:]).numpy()[:, -1], atol=1e-4)
    assert np.abs(stepped[:, -1] - model(ids).numpy()[:, -1]).max() > 1e-3


def test_greedy_sampling_gives_the_tokens_of_the_full_model(model, vocab):
    primer = np.array([[vocab.start_id, 4, 5], [vocab.start_id, 6, 7]], dtype=np.int32)
    sampled = engine.sample_ids(model, vocab, primer=primer, n_tokens=12, top_k=1, stop_at_end=False)
    banned = [vocab.pad_id, vocab.start_id, vocab.unk_id]
    ids = primer.copy()
    for _ in range(12):
        logits = model(ids).numpy()[:, -1]
        logits[:, banned] = -np.inf
        ids = np.concatenate([ids, logits.argmax(axis=-1)[:, None].astype(np.int32)], axis=1)
    np.testing.assert_array_equal(sampled, ids[:, 3:])


def test_save_and_load_round_trip(model, vocab, tmp_path):
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = transformer.load_model(path)
    ids = _random_ids(vocab, (2, 15), seed=3)
    np.testing.assert_allclose(loaded(ids).numpy(), model(ids).numpy(), atol=1e-6)
    assert isinstance(engine.stepper_for(loaded), transformer.CachedTransformerStepper)
    with pytest.raises(FileNotFoundError, match="no saved model"):
        transformer.load_model(tmp_path / "missing.keras")


def test_attention_maps_are_causal_distributions(vocab):
    model = _build(vocab, positions="none", relative=True)
    maps = transformer.attention_maps(model, _random_ids(vocab, (9,), seed=4))
    assert maps.shape == (2, 2, 9, 9)
    np.testing.assert_allclose(maps.sum(axis=-1), 1.0, atol=1e-5)
    assert np.abs(np.triu(maps, k=1)).max() < 1e-6
    assert maps[0, 0, 0, 0] == pytest.approx(1.0)  # the first token can read only itself


def test_condition_is_read_bidirectionally_and_zero_adds_nothing(vocab):
    model = _build(vocab, positions="sinusoidal", condition_vocab_size=5)
    ids = _random_ids(vocab, (2, 12), seed=5)
    condition = np.random.default_rng(6).integers(1, 5, (2, 12)).astype(np.int32)
    changed = condition.copy()
    changed[:, 10] = np.where(changed[:, 10] == 1, 2, 1)
    base = model([ids, condition]).numpy()
    difference = np.abs(base - model([ids, changed]).numpy()).max(axis=(0, 2))
    assert (difference[:10] > 0).all()  # earlier tokens see a later melody note
    masked = model([ids, np.zeros_like(condition)]).numpy()
    # An all-masked condition adds zero: the unconditioned stream of the same weights.
    stepper = engine.stepper_for(model)
    np.testing.assert_allclose(stepper.logits_along(ids), masked, atol=1e-4)
    np.testing.assert_allclose(stepper.logits_along(ids, condition=condition), base, atol=1e-4)


def test_bad_input_names_the_argument(vocab):
    with pytest.raises(ValueError, match="positions must be one of"):
        transformer.build_transformer(len(vocab), positions="rotary")
    with pytest.raises(ValueError, match="no sense of order"):
        transformer.build_transformer(len(vocab), positions="none", relative=False)
    with pytest.raises(ValueError, match="multiple of num_heads"):
        transformer.build_transformer(len(vocab), dim=10, num_heads=3)
    with pytest.raises(ValueError, match="dropout"):
        transformer.build_transformer(len(vocab), dropout=1.5)
    with pytest.raises(ValueError, match="even"):
        transformer.sinusoidal_positions(np.arange(3), 5)
    import keras

    lstm_like = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(5, 4)])
    with pytest.raises(ValueError, match="no TransformerBlock"):
        transformer.CachedTransformerStepper(lstm_like)


def test_family_trains_samples_and_scores(tmp_path):
    from musicalpy import zoo

    corpus = zoo.training_corpus("bach", limit=6)
    model = zoo.train("transformer", corpus, settings={"steps_per_epoch": 3}, smoke=True, progress=False)
    assert isinstance(engine.stepper_for(model.fitted.network), transformer.CachedTransformerStepper)
    notes = model.generate(n_notes=8, n_samples=1, seed=0)
    assert len(notes) > 0 and set(notes["part"]) <= set(model.voices)
    folder = model.save(tmp_path / "transformer")
    again = zoo.load(folder)
    test_notes = corpus.split("test").notes
    assert again.score(test_notes)["bits_per_token"] == pytest.approx(model.score(test_notes)["bits_per_token"], rel=1e-5)


def _alternating_chorales(n_chorales=6, n_frames=16, seed=0):
    """C major and G major triads in alternation, from a random first chord: a frame is
    certain given the one before it, but each key is on half of the time."""
    rng = np.random.default_rng(seed)
    chords = np.zeros((2, 88), dtype=bool)
    chords[0, [60 - 21, 64 - 21, 67 - 21]] = True
    chords[1, [55 - 21, 59 - 21, 62 - 21]] = True
    return [chords[(np.arange(n_frames) + rng.integers(2)) % 2] for _ in range(n_chorales)]


def test_frame_transformer_learns_a_sequence_the_bernoulli_floor_cannot(tmp_path):
    from musicalpy.frame_estimators import IndependentBernoulli, frame_nll

    train, valid = _alternating_chorales(), _alternating_chorales(seed=1)
    model = transformer.FrameTransformer(dim=16, num_layers=1, num_heads=2, dropout=0.0, max_distance=8,
                                         learning_rate=5e-3, epochs=40, batch_size=3, patience=40).fit(train, valid)
    floor = frame_nll(IndependentBernoulli().fit(train), valid)
    learned = frame_nll(model, valid)
    assert learned < 0.5 * floor  # the floor pays for the 6 keys on half of the time
    assert model.best_epoch_ == int(model.history_["val_loss"].idxmin()) + 1
    # Causal: changing the last frames leaves the first frames' log-probabilities alone.
    chorale = valid[0].copy()
    before = model.log_prob(chorale)
    chorale[12:] = ~chorale[12:]
    after = model.log_prob(chorale)
    np.testing.assert_allclose(after[:12], before[:12], atol=1e-6)
    assert np.abs(after[12:] - before[12:]).max() > 1e-3
    loaded = transformer.FrameTransformer.load(model.save(tmp_path / "frames"))
    np.testing.assert_allclose(loaded.log_prob(valid[1]), model.log_prob(valid[1]), atol=1e-6)
    assert loaded.sample(5, seed=0).shape == (5, 88)


def test_jsb_transformer_kind_is_a_frame_kind():
    from musicalpy import zoo

    family = zoo.family("jsb_transformer")
    assert "jsb_transformer" in zoo.kinds("jsb") and "transformer" in zoo.kinds()
    network = family.network(zoo.defaults("jsb_transformer", smoke=True), progress=False)
    assert isinstance(network, transformer.FrameTransformer) and (network.dim, network.num_layers) == (16, 1)
    with pytest.raises(ValueError, match="train and valid"):
        network.fit([], [])
