"""The joint counting floor: normalization, known answers on hand-made chorales,
harmonizing, sampling, saving, and its validation bits on music21's chorales and JSB."""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pytest

from musicalpy import jsb
from musicalpy.representations import satb_steps as ss
from musicalpy.satb_counts import ALL_KEYS, DISCOUNTS, SatbCounts, prior_values, voice_states

H, R = ss.HOLD_ID, ss.REST_ID


def _id(pitch: int) -> int:
    return 2 + pitch - ss.LOWEST_PITCH


def _tiny() -> ss.SatbSteps:
    """Eight sixteenths: a soprano line over held lower voices, the last two under a fermata."""
    values = np.array([
        [_id(72), _id(67), _id(64), _id(48)],
        [H, H, H, H],
        [H, H, H, H],
        [H, H, H, H],
        [_id(74), _id(65), H, _id(50)],
        [H, H, H, H],
        [_id(76), _id(67), _id(60), _id(48)],
        [H, H, H, H],
    ])
    return ss.SatbSteps(values, np.arange(8) % 4, np.array([False] * 6 + [True] * 2))


@pytest.fixture(scope="module")
def tiny_model() -> SatbCounts:
    return SatbCounts(discount=0.5, transpositions=(0,)).fit([_tiny()] * 10)


def _slot_distribution(model: SatbCounts, steps: ss.SatbSteps, step: int, voice: int) -> np.ndarray:
    """Probabilities of every value of one voice at one step, from ``log_probs``."""
    variants = []
    for value in range(ss.N_VALUES):
        values = steps.values.copy()
        values[step, voice] = value
        variants.append(dataclasses.replace(steps, values=values))
    return np.exp([lp[step, 1 + voice] for lp in model.log_probs(variants)])


def test_voice_states_and_prior_values():
    values = np.array([[H, _id(60)], [R, H], [_id(62), _id(60)], [H, H], [_id(64), R]])
    assert voice_states(values)[:, 0].tolist() == [1, R, _id(62), _id(62) + ss.N_VALUES - 2, _id(64)]
    assert voice_states(values)[:, 1].tolist() == [_id(60), _id(60) + 69, _id(60), _id(60) + 69, R]
    assert prior_values(values)[:, 0].tolist() == [R, R, R, R, _id(62)]
    assert prior_values(values)[:, 1].tolist() == [R, R, _id(60), _id(60), _id(60)]


@pytest.mark.parametrize("voice", range(4))
@pytest.mark.parametrize("step", [0, 1, 4, 7])
def test_distributions_sum_to_one(tiny_model, voice, step):
    probs = _slot_distribution(tiny_model, _tiny(), step, voice)
    assert probs.sum() == pytest.approx(1.0, abs=1e-9)
    assert (probs > 0).all()
    # An unseen context (a soprano never heard) too.
    odd = _tiny()
    values = odd.values.copy()
    values[:, 0] = np.where(values[:, 0] >= 2, values[:, 0] + 7, values[:, 0])
    assert _slot_distribution(tiny_model, dataclasses.replace(odd, values=values), step, voice).sum() == (
        pytest.approx(1.0, abs=1e-9))


def test_fermata_distribution_sums_to_one(tiny_model):
    steps = _tiny()
    for step in range(steps.n_steps):
        total = 0.0
        for flag in (False, True):
            fermata = steps.fermata.copy()
            fermata[step] = flag
            total += np.exp(tiny_model.log_probs([dataclasses.replace(steps, fermata=fermata)])[0][step, 0])
        assert total == pytest.approx(1.0, abs=1e-12)


def test_a_repeated_chorale_is_likely(tiny_model):
    log_probs = tiny_model.log_probs([_tiny()])[0]
    assert log_probs.shape == (8, 5)
    # Every voice's context was seen 10 times with one continuation: P = (10 - D + D P_lower) / 10.
    assert (np.exp(log_probs[:, 1:]) > 0.95).all()
    # The fermata's context (none before, position 2) is followed by no fermata at step 2
    # and by one at step 6, ten times each: a coin toss at both, sure elsewhere.
    fermata = np.exp(log_probs[:, 0])
    assert fermata[[2, 6]] == pytest.approx([0.5, 0.5], abs=0.03)
    assert (np.delete(fermata, [2, 6]) > 0.95).all()
    assert tiny_model.discount_ == 0.5 and tiny_model.transpositions_ == (0,) and tiny_model.selection_ is None
    assert tiny_model.n_chorales_ == 10 and tiny_model.n_steps_ == 80


def test_an_unseen_context_backs_off_to_the_unigram(tiny_model):
    # A soprano on a pitch never seen: its next value's every context is unseen but the empty one.
    query = _tiny()
    values = query.values.copy()
    values[0, 0] = _id(80)
    log_probs = tiny_model.log_probs([dataclasses.replace(query, values=values)])[0]
    # Soprano unigram over 80 values: HOLD 50 times, three pitches 10 times each (T = 4).
    d = 0.5
    expected = (50 - d + d * 4 / ss.N_VALUES) / 80
    assert np.exp(log_probs[1, 1]) == pytest.approx(expected, rel=1e-12)
    # A value never seen at all gets only the uniform share.
    values[1, 0] = _id(90)
    log_probs = tiny_model.log_probs([dataclasses.replace(query, values=values)])[0]
    assert np.exp(log_probs[1, 1]) == pytest.approx(d * 4 / ss.N_VALUES / 80, rel=1e-12)


def test_given_soprano_zeroes_fermata_and_soprano(tiny_model):
    free = tiny_model.log_probs([_tiny()])[0]
    given = tiny_model.log_probs([_tiny()], given_soprano=True)[0]
    assert (given[:, :2] == 0).all()
    np.testing.assert_array_equal(given[:, 2:], free[:, 2:])


def test_sample_forces_the_soprano_and_fermatas(tiny_model):
    melody = _tiny().values[:, 0]
    flags = _tiny().fermata
    positions = [np.arange(8) % 4, np.arange(12) % 4]
    out = tiny_model.sample(positions[:1], soprano=[melody], fermata=[flags], seed=3)
    assert out[0].values[:, 0].tolist() == melody.tolist()
    assert out[0].fermata.tolist() == flags.tolist()
    assert out[0].position.tolist() == positions[0].tolist()
    # The lower voices of a memorized chorale come back greedily.
    greedy = tiny_model.sample(positions[:1], soprano=[melody], fermata=[flags], temperature=0)
    np.testing.assert_array_equal(greedy[0].values, _tiny().values)
    free = tiny_model.sample(positions, seed=1)
    assert [s.n_steps for s in free] == [8, 12]
    assert all(((s.values >= 0) & (s.values < ss.N_VALUES)).all() for s in free)


def test_sample_is_deterministic_for_a_seed(tiny_model):
    positions = [np.arange(16) % 4] * 3
    first = tiny_model.sample(positions, seed=7, temperature=1.5)
    second = tiny_model.sample(positions, seed=7, temperature=1.5)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.fermata, b.fermata)
    others = tiny_model.sample(positions, seed=8, temperature=1.5)
    assert any(not np.array_equal(a.values, b.values) for a, b in zip(first, others, strict=True))


def test_greedy_sample_picks_the_most_likely_value_the_scorer_gives(tiny_model):
    # Sampling and scoring must read the same contexts: a greedy draw is the scorer's argmax.
    chorale = tiny_model.sample([np.arange(8) % 4], temperature=0, seed=0)[0]
    for step in (0, 3, 6):
        for voice in range(4):
            probs = _slot_distribution(tiny_model, chorale, step, voice)
            assert chorale.values[step, voice] == int(np.argmax(probs))


def test_bad_input_is_refused(tiny_model):
    with pytest.raises(ValueError, match="discount"):
        SatbCounts(discount=1.5)
    with pytest.raises(RuntimeError, match="not fitted"):
        SatbCounts().log_probs([_tiny()])
    with pytest.raises(ValueError, match="positions"):
        tiny_model.sample([np.array([0, 40])])
    with pytest.raises(ValueError, match="soprano"):
        tiny_model.sample([np.arange(4)], soprano=[np.arange(5)])
    with pytest.raises(ValueError, match="temperature"):
        tiny_model.sample([np.arange(4)], temperature=-1)


def test_save_and_load_round_trip(tiny_model, tmp_path):
    written = tiny_model.save(tmp_path / "model")
    assert sorted(written) == ["satb_counts.json", "satb_counts.npz"]
    assert json.loads((tmp_path / "model" / "satb_counts.json").read_text())["discount_"] == 0.5
    loaded = SatbCounts.load(tmp_path / "model")
    assert (loaded.discount_, loaded.transpositions_, loaded.fermatas, loaded.n_steps_) == (
        tiny_model.discount_, tiny_model.transpositions_, tiny_model.fermatas, tiny_model.n_steps_)
    np.testing.assert_array_equal(loaded.log_probs([_tiny()])[0], tiny_model.log_probs([_tiny()])[0])
    positions = [np.arange(16) % 4]
    np.testing.assert_array_equal(loaded.sample(positions, seed=2)[0].values,
                                  tiny_model.sample(positions, seed=2)[0].values)
    with pytest.raises(ValueError, match="cannot read"):
        SatbCounts.load(tmp_path / "nothing")


def test_without_fermatas_the_flag_is_neither_scored_nor_sampled():
    model = SatbCounts(fermatas=False, discount=0.5, transpositions=(0,)).fit([_tiny()] * 3)
    assert (model.log_probs([_tiny()])[0][:, 0] == 0).all()
    assert not model.sample([np.arange(8) % 4], seed=0)[0].fermata.any()
    assert "fermata" not in model.tables_


def test_transpositions_that_leave_the_range_are_skipped():
    low = _tiny()
    values = low.values.copy()
    values[0, 3] = _id(ss.LOWEST_PITCH + 2)
    model = SatbCounts(discount=0.5, transpositions=(-3, 0, 3)).fit([dataclasses.replace(low, values=values)])
    assert model.n_chorales_ == 2


# ----------------------------------------------------------------- the real corpora

#: Measured (ALL_KEYS, D = 0.8 chosen): 3.139 bits per note on validation, 2.845 bits per
#: A/T/B note given the soprano; JSB validation 0.5236 nats per voice-token.
BACH_VALIDATION_BITS = 3.16
BACH_GIVEN_SOPRANO_BITS = 2.87
JSB_VALIDATION_NATS = 0.53


def _bits_per_note(model: SatbCounts, chorales, *, given_soprano: bool = False) -> float:
    log_probs = np.concatenate(model.log_probs(chorales, given_soprano=given_soprano))
    values = np.concatenate([c.values for c in chorales])
    notes = int((values[:, 1:] >= 2).sum() if given_soprano else (values >= 2).sum())
    return float(-log_probs.sum() / np.log(2) / notes)


@pytest.fixture(scope="module")
def bach_steps():
    from musicalpy.zoo import training_corpus

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        corpus = training_corpus("bach")
    out = {}
    for split in ("train", "validation", "test"):
        part = corpus.split(split)
        out[split] = list(ss.chorale_steps(part.notes, part.pieces).values())
    return out


def test_bach_counts_beat_the_unigram_on_validation(bach_steps, tmp_path):
    train, validation = bach_steps["train"], bach_steps["validation"]
    model = SatbCounts().fit(train, validation)
    assert len(model.selection_) == 2 * len(DISCOUNTS)
    assert model.discount_ in DISCOUNTS and model.transpositions_ == ALL_KEYS
    best = min(model.selection_, key=lambda row: row["nats"])
    assert (best["discount"], tuple(best["transpositions"])) == (model.discount_, model.transpositions_)
    bits = _bits_per_note(model, validation)
    given = _bits_per_note(model, validation, given_soprano=True)
    # A per-voice unigram (add-one) on the same notes.
    counts = np.stack([np.bincount(np.concatenate([c.values[:, v] for c in train]), minlength=ss.N_VALUES) + 1.0
                       for v in range(4)])
    log_unigram = np.log(counts / counts.sum(axis=1, keepdims=True))
    values = np.concatenate([c.values for c in validation])
    unigram = -sum(log_unigram[v, values[:, v]].sum() for v in range(4)) / np.log(2) / int((values >= 2).sum())
    test_bits = _bits_per_note(model, bach_steps["test"])
    test_given = _bits_per_note(model, bach_steps["test"], given_soprano=True)
    print(f"music21 D={model.discount_}: validation {bits:.4f} bits/note (unigram {unigram:.3f}), "
          f"given soprano {given:.4f} bits/ATB note; test {test_bits:.4f}, given soprano {test_given:.4f}")
    assert bits < BACH_VALIDATION_BITS
    assert bits < 0.5 * unigram
    assert given < BACH_GIVEN_SOPRANO_BITS
    # A harmonization of a validation melody keeps the melody and sounds in every voice.
    melody = validation[0]
    harmonized = model.sample([melody.position], soprano=[melody.values[:, 0]], fermata=[melody.fermata], seed=0)[0]
    np.testing.assert_array_equal(harmonized.values[:, 0], melody.values[:, 0])
    assert all((harmonized.values[:, v] >= 2).any() for v in range(1, 4))
    model.save(tmp_path)
    np.testing.assert_array_equal(SatbCounts.load(tmp_path).log_probs(validation[:2])[1],
                                  model.log_probs(validation[:2])[1])


def test_jsb_counts_nats_per_voice_token():
    chorales = {split: [ss.jsb_steps(v) for v in jsb.read_voices(split)] for split in ("train", "valid", "test")}
    model = SatbCounts(fermatas=False).fit(chorales["train"], chorales["valid"])
    nats = {}
    for split in ("valid", "test"):
        log_probs = np.concatenate(model.log_probs(chorales[split]))
        assert (log_probs[:, 0] == 0).all()
        nats[split] = float(-log_probs[:, 1:].sum() / (4 * len(log_probs)))
    print(f"JSB D={model.discount_}, {len(model.transpositions_)} keys: "
          f"valid {nats['valid']:.4f}, test {nats['test']:.4f} nats per voice-token")
    assert nats["valid"] < JSB_VALIDATION_NATS
