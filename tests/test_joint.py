"""The joint chorale kinds: steppers with a condition, forced tokens and the slot
grammar in the engine, a condition that sees the future, harmonizing with the soprano
kept exactly, and training, scoring, generating and saving through the zoo."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from musicalpy import zoo
from musicalpy.corpus import load_corpus
from musicalpy.families.joint import (
    LSTMJointSettings,
    WaveNetJointSettings,
    chorale_ids,
    condition_of,
)
from musicalpy.melody import Melody
from musicalpy.models import engine
from musicalpy.names import VOICES
from musicalpy.representations import chorale_grid as cg

VOCABULARY = cg.chorale_grid_vocabulary()


@pytest.fixture(scope="module")
def corpus():
    bach = load_corpus("bach", progress=False, parts=list(VOICES))
    pieces = bach.pieces
    chosen = [*pieces.loc[pieces["split"] == "train", "piece"][:10], *pieces.loc[pieces["split"] == "validation", "piece"][:3],
              *pieces.loc[pieces["split"] == "test", "piece"][:2]]
    return bach.subset(chosen)


@pytest.fixture(scope="module")
def ids(corpus):
    return next(iter(chorale_ids(corpus.split("test").notes).values()))


@pytest.fixture(scope="module", params=["lstm", "wavenet"])
def network(request):
    import keras

    keras.utils.set_random_seed(0)
    settings = (LSTMJointSettings if request.param == "lstm" else WaveNetJointSettings).defaults(smoke=True)
    return settings.build(len(VOCABULARY))


@pytest.fixture(scope="module")
def trained(corpus):
    return zoo.train("lstm_joint", corpus, smoke=True, progress=False)


def _stepped_logits(network, ids, condition):
    stepper = engine.stepper_for(network)
    assert stepper.conditioned
    encoding = None if condition is None else np.asarray(stepper.encode_condition(condition[None]))
    states = stepper.initial_state(1)
    out = []
    for t in range(len(ids)):
        step = None if encoding is None else encoding[:, t]
        hidden, states = stepper.advance(np.asarray([ids[t]], np.int32), states, step)
        out.append(np.asarray(stepper.heads_of(hidden)["token"])[0])
    return np.stack(out)


def test_condition_of_reads_each_targets_frame_and_soprano(ids):
    condition = condition_of(ids)
    assert condition.shape == (len(ids) - 1, 2)
    # Position 0 (START fed) predicts step 0's frame: its condition is step 0's frame and soprano.
    assert condition[0].tolist() == [ids[1], ids[2]] and condition[4].tolist() == [ids[1], ids[2]]
    assert condition[5].tolist() == [ids[6], ids[7]]
    assert condition[-1].tolist() == [0, 0]  # END belongs to no step


def test_stepper_with_condition_matches_the_whole_network(network, ids):
    short = ids[:41]
    condition = condition_of(ids)[:40]
    full = np.asarray(network([short[None, :-1].astype(np.int32), condition[None].astype(np.int32)], training=False))[0]
    np.testing.assert_allclose(_stepped_logits(network, short[:-1], condition), full, atol=2e-4)
    # A masked condition (zeros) is the same as none.
    masked = np.asarray(network([short[None, :-1].astype(np.int32), np.zeros((1, 40, 2), np.int32)], training=False))[0]
    np.testing.assert_allclose(_stepped_logits(network, short[:-1], None), masked, atol=2e-4)


def test_the_condition_changes_the_output_and_sees_the_future(network, ids):
    condition = condition_of(ids)[None].astype(np.int32)
    inputs = ids[None, :-1].astype(np.int32)
    # Change the soprano four steps ahead: the first prediction changes (the encoder reads
    # the melody's future; an untrained encoder forgets over hundreds of steps, so the
    # test looks a few steps ahead, not at the last note).
    later = condition.copy()
    later[0, 20:25, 1] = VOCABULARY.id_of(50)  # a pitch no soprano sings
    assert not np.array_equal(later, condition)
    # The conditions in one batch: one pass over the chorale instead of one per condition
    # (the network's rows are independent). The base condition twice: the batch itself
    # adds no difference, so the threshold below measures the condition only.
    base, again, masked, moved = np.asarray(network(
        [np.repeat(inputs, 4, axis=0), np.concatenate([condition, condition, np.zeros_like(condition), later])],
        training=False))
    np.testing.assert_array_equal(again, base)
    assert np.abs(base - masked).max() > 1e-3
    assert np.abs(moved[0] - base[0]).max() > 1e-7
    # ... and nothing before it in a causal-only model could: the token input is unchanged.
    assert np.array_equal(inputs, ids[None, :-1])


def test_engine_forces_tokens_and_follows_the_grammar(network):
    grammar = cg.grid_grammar(VOCABULARY)
    n = 30
    forced = np.full(n, -1)
    forced[[0, 5, 10]] = VOCABULARY.id_of("|0")
    forced[[1, 6]] = VOCABULARY.id_of(67)
    drawn = engine.sample_ids(network, VOCABULARY, n_tokens=n, n_samples=3, forced=forced, grammar=grammar, seed=1,
                              stop_at_end=False)
    assert drawn.shape == (3, n)
    assert (drawn[:, [0, 5, 10]] == VOCABULARY.id_of("|0")).all() and (drawn[:, [1, 6]] == VOCABULARY.id_of(67)).all()
    roles = cg.token_roles(n + 1)[1:]  # positions after START
    for role in range(cg.TOKENS_PER_STEP):
        assert grammar[role, drawn[:, roles == role]].all()
    # A forced END stops the sample there.
    stop = np.full(n, -1)
    stop[10] = VOCABULARY.end_id
    ended = engine.sample_ids(network, VOCABULARY, n_tokens=n, forced=stop, grammar=grammar, seed=1)
    assert ended.shape == (1, 11) and ended[0, -1] == VOCABULARY.end_id
    with pytest.raises(ValueError, match="forced must have shape"):
        engine.sample_ids(network, VOCABULARY, n_tokens=n, forced=np.full(n + 1, -1))
    with pytest.raises(ValueError, match="condition must have"):
        engine.sample_ids(network, VOCABULARY, n_tokens=n, condition=np.zeros((1, 5, 2), np.int64))


def _melody_rows(ids, n_steps):
    """The forced ids and condition of the first ``n_steps`` grid steps of a chorale,
    as harmonizing its soprano feeds them (lower voices free, END at the end)."""
    cut = np.concatenate([ids[: 1 + cg.TOKENS_PER_STEP * n_steps], [VOCABULARY.end_id]])
    roles = cg.token_roles(len(cut))
    forced = np.where(np.isin(roles, [2, 3, 4]), -1, cut)[1:]
    return forced, np.concatenate([condition_of(cut), np.zeros((1, 2), np.int64)])


def test_a_batch_of_melodies_gives_what_each_gives_alone(network, ids):
    rows = [_melody_rows(ids, n) for n in (24, 9, 16)]
    alone = [engine.sample_ids(network, VOCABULARY, n_tokens=len(f), forced=f, condition=c[None], top_k=1)[0]
             for f, c in rows]
    width = max(len(f) for f, _ in rows)
    forced = np.full((len(rows), width), VOCABULARY.pad_id)
    condition = np.zeros((len(rows), width + 1, 2), np.int64)
    for k, (f, c) in enumerate(rows):
        forced[k, : len(f)], condition[k, : len(c)] = f, c
    batched = engine.sample_ids(network, VOCABULARY, n_tokens=width, n_samples=len(rows), forced=forced,
                                condition=condition, top_k=1)
    for k, single in enumerate(alone):
        assert single[-1] == VOCABULARY.end_id
        np.testing.assert_array_equal(batched[k, : len(single)], single)
    # The lower voices were drawn (not all forced) and differ between the melodies' contexts.
    free = np.isin(cg.token_roles(len(alone[0]) + 1)[1:], [2, 3, 4])
    assert len(set(alone[0][free].tolist())) > 1


def test_unconditioned_generation_ends_with_end_on_a_frame_slot(network):
    import keras

    clone = keras.models.clone_model(network)
    clone.set_weights(network.get_weights())
    head = clone.get_layer("token")
    bias = np.asarray(head.bias).copy()
    bias[VOCABULARY.end_id] += 30.0  # END wherever the grammar lets it be
    head.bias.assign(bias)
    drawn = engine.sample_ids(clone, VOCABULARY, n_tokens=50, n_samples=2, grammar=cg.grid_grammar(VOCABULARY))
    assert drawn.shape == (2, 1) and (drawn[:, 0] == VOCABULARY.end_id).all()
    primer = np.array([[VOCABULARY.start_id, VOCABULARY.id_of("|0"), 60, 55, 52, 48]])
    drawn = engine.sample_ids(clone, VOCABULARY, primer=primer, n_tokens=50, grammar=cg.grid_grammar(VOCABULARY))
    assert drawn[0].tolist() == [VOCABULARY.end_id]  # after a whole step, not inside one


def test_train_score_generate_save_and_load(trained, corpus, tmp_path):
    test = corpus.split("test").notes
    score = trained.score(test)
    sequences = chorale_ids(test)
    assert score["n_tokens"] == sum(len(v) - 1 for v in sequences.values())
    assert score["n_notes"] == len(test) and 0 < score["bits_per_note"] < 60
    given = zoo.family("lstm_joint").score_given_soprano(trained, test)
    assert given["n_notes"] == int(test["part"].isin(VOICES[1:]).sum())
    assert given["n_tokens"] == sum(3 * (len(v) - 2) // 5 for v in sequences.values())
    notes = trained.generate(n_notes=40, n_samples=2, seed=0)
    assert set(notes["part"]) <= set(VOICES) and set(notes["piece"]) <= {"sample_0", "sample_1"}
    assert notes.groupby("piece").size().max() <= 40
    folder = trained.save(tmp_path / "joint")
    again = zoo.load(folder)
    assert again.score(test)["log_likelihood"] == pytest.approx(score["log_likelihood"], rel=1e-5)


def test_harmonize_keeps_the_soprano_exactly(trained, corpus):
    test = corpus.split("test").notes
    piece = test["piece"].iloc[0]
    soprano = test[(test["piece"] == piece) & (test["part"] == "Soprano")].sort_values("start_beat")
    # The chorale's first four bars: each harmonization steps token by token through the
    # melody, and these checks hold note for note on any span of it.
    soprano = soprano[soprano["end_beat"] <= 16]
    assert len(soprano) >= 8
    melody = Melody(soprano[["pitch", "start_beat", "end_beat"]].reset_index(drop=True), "4/4",
                    tuple(soprano.loc[soprano["fermata"], "start_beat"]), "tune")
    family = zoo.family("lstm_joint")
    greedy = family.harmonize(trained, melody, seed=0, sample=False, temperature=1.0)
    top = greedy[greedy["part"] == "Soprano"]
    assert top["pitch"].tolist() == soprano["pitch"].tolist()
    assert top["start_beat"].tolist() == soprano["start_beat"].tolist()
    assert top["end_beat"].tolist() == soprano["end_beat"].tolist()
    assert set(greedy["part"]) - {"Soprano"} <= {"Alto", "Tenor", "Bass"} and set(greedy["piece"]) == {"tune"}
    again = family.harmonize(trained, melody, seed=5, sample=False, temperature=1.0)
    pd.testing.assert_frame_equal(greedy, again)  # greedy ignores the seed
    drawn = [family.harmonize(trained, melody, seed=s, sample=True, temperature=1.5) for s in (1, 2)]
    assert not drawn[0].equals(drawn[1])
    lower = drawn[0][drawn[0]["part"] != "Soprano"]
    # Sampled lower voices sound, inside the melody's span (the smoke model's greedy choice may be all rests).
    assert len(lower) > 0 and lower["end_beat"].max() <= soprano["end_beat"].max() + 1e-9
    assert (drawn[0].loc[drawn[0]["part"] == "Soprano", "pitch"].to_numpy() == soprano["pitch"].to_numpy()).all()
    with pytest.raises(ValueError, match="no notes"):
        family.harmonize(trained, Melody(soprano.iloc[:0][["pitch", "start_beat", "end_beat"]]), seed=0, sample=True,
                         temperature=1.0)

    # Many melodies at once: the same harmonizations as one at a time, in order.
    short = Melody(soprano[soprano["end_beat"] <= 8][["pitch", "start_beat", "end_beat"]].reset_index(drop=True), "4/4",
                   (), "short")
    both = trained.harmonize_many([melody, short], seed=0)
    assert [set(n["piece"]) for n in both] == [{"tune"}, {"short"}]
    for many, one in zip(both, [trained.harmonize(melody), trained.harmonize(short)], strict=True):
        pd.testing.assert_frame_equal(many, one)
    with pytest.raises(TypeError, match="list of melodies"):
        trained.harmonize_many(soprano)


# ------------------------------------------------------------------ the joint Transformer


@pytest.fixture(scope="module")
def joint_transformer():
    import keras

    from musicalpy.families.joint import TransformerJointSettings

    keras.utils.set_random_seed(0)
    return TransformerJointSettings.defaults(smoke=True).build(len(VOCABULARY))


def _probabilities(logits):
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def test_joint_transformer_cached_steps_give_the_full_models_probabilities(joint_transformer, ids):
    short = ids[:41]
    condition = condition_of(ids)[:40]
    full = np.asarray(joint_transformer([short[None, :-1].astype(np.int32), condition[None].astype(np.int32)],
                                        training=False))[0]
    stepped = _stepped_logits(joint_transformer, short[:-1], condition)
    np.testing.assert_allclose(_probabilities(stepped), _probabilities(full), atol=1e-5)
    # The compiled cached loop of the stepper gives the same logits as the eager steps.
    along = engine.stepper_for(joint_transformer).logits_along(short[None, :-1], condition[None])[0]
    np.testing.assert_allclose(along, stepped, atol=2e-4)
    # The condition matters: masked, the probabilities move.
    masked = _stepped_logits(joint_transformer, short[:-1], None)
    assert np.abs(_probabilities(masked) - _probabilities(stepped)).max() > 1e-4


def test_joint_transformer_is_causal_with_the_condition_held_fixed(joint_transformer, ids):
    inputs = ids[None, :60].astype(np.int32)
    condition = condition_of(ids)[None, :60].astype(np.int32)
    base = np.asarray(joint_transformer([inputs, condition], training=False))[0]
    changed = inputs.copy()
    changed[0, 30:] = VOCABULARY.id_of(50)
    moved = np.asarray(joint_transformer([changed, condition], training=False))[0]
    np.testing.assert_allclose(moved[:30], base[:30], atol=1e-5)
    assert np.abs(moved[30:] - base[30:]).max() > 1e-3


def test_joint_transformer_harmonizes_saves_and_loads(joint_transformer, corpus, ids, tmp_path):
    # The untrained smoke network wrapped as a zoo model: what is tested is the path, not the music.
    model = zoo.from_trained("transformer_joint", joint_transformer, corpus, smoke=True)
    test = corpus.split("test").notes
    piece = test["piece"].iloc[0]
    soprano = test[(test["piece"] == piece) & (test["part"] == "Soprano")].sort_values("start_beat").iloc[:8]
    melody = Melody(soprano[["pitch", "start_beat", "end_beat"]].reset_index(drop=True), "4/4",
                    tuple(soprano.loc[soprano["fermata"], "start_beat"]), "tune")
    harmonized = model.harmonize(melody, seed=1, sample=True)
    top = harmonized[harmonized["part"] == "Soprano"]
    assert top["pitch"].tolist() == soprano["pitch"].tolist()
    assert top["start_beat"].tolist() == soprano["start_beat"].tolist()
    assert top["end_beat"].tolist() == soprano["end_beat"].tolist()
    assert set(harmonized["part"]) <= set(VOICES) and len(harmonized) > len(top)
    again = zoo.load(model.save(tmp_path / "transformer_joint"))
    assert again.kind == "transformer_joint"
    inputs = [ids[None, :40].astype(np.int32), condition_of(ids)[None, :40].astype(np.int32)]
    np.testing.assert_allclose(np.asarray(again.fitted.network(inputs, training=False)),
                               np.asarray(joint_transformer(inputs, training=False)), atol=1e-6)


def test_wall_clock_budget_stops_after_the_batch_that_spends_it():
    import keras

    ticks = iter(range(100))
    budget = engine.WallClockBudget(3.5, clock=lambda: float(next(ticks)))
    seen = []
    counter = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs=None: seen.append(batch))
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((40, 2), np.float32)
    history = model.fit(x, x[:, :1], batch_size=4, epochs=5, verbose=0, callbacks=[budget, counter])
    # The clock reads 0 at the start and 1, 2, 3, 4 after the batches: the fourth spends it.
    assert seen == [0, 1, 2, 3] and len(history.epoch) == 1 and budget.stopped_epoch == 1
    with pytest.raises(ValueError, match="seconds"):
        engine.WallClockBudget(0)


def test_train_model_honours_a_time_budget():
    import keras
    import tensorflow as tf

    x = np.zeros((16, 2), np.float32)
    data = tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(4)

    def build():
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        return model

    _, history = engine.train_model(build, data, data, epochs=4, patience=4, time_budget_s=1e-6, verbose=0)
    _, unlimited = engine.train_model(build, data, data, epochs=4, patience=4, verbose=0)
    assert len(history) == 1 and len(unlimited) == 4


def test_cropped_training_windows_start_on_a_step_and_carry_their_condition(corpus):
    from musicalpy.families.joint import joint_datasets

    settings = LSTMJointSettings.defaults(smoke=True).replace(crop_tokens=40, max_transpose=0, masked_share=0.0,
                                                              batch_size=2)
    data = joint_datasets(corpus, settings)
    frames = {VOCABULARY.id_of(t) for t in VOCABULARY.tokens if isinstance(t, str) and t.startswith("|")}
    chorales = list(data.sequences["train"].values())
    seen = 0
    for (inputs, condition), targets in data.train.as_numpy_iterator():
        assert inputs.shape[1] <= 40
        for row in range(len(inputs)):
            fed = inputs[row][inputs[row] != VOCABULARY.pad_id]
            assert fed[0] == VOCABULARY.start_id or fed[0] in frames
            # The window is a piece of one training chorale, its targets the next ids and
            # its condition that chorale's condition at the same positions.
            source, start = next((ids, s) for ids in chorales for s in range(len(ids) - len(fed))
                                 if np.array_equal(ids[s : s + len(fed)], fed))
            np.testing.assert_array_equal(targets[row][: len(fed)], source[start + 1 : start + 1 + len(fed)])
            np.testing.assert_array_equal(condition[row][: len(fed)], condition_of(source)[start : start + len(fed)])
            seen += 1
    assert seen == len(data.sequences["train"])
    # Validation stays on whole chorales.
    widths = [inputs.shape[1] for (inputs, _), _ in data.validation.as_numpy_iterator()]
    assert max(widths) == max(len(ids) for ids in data.sequences["validation"].values()) - 1 > 40
    with pytest.raises(ValueError, match="crop_tokens must be"):
        joint_datasets(corpus, settings.replace(crop_tokens=3))
