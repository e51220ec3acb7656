"""The frame-wise joint network: exact, causal, batch-independent, blind to padding,
learning, resumable."""

from __future__ import annotations

import dataclasses
import math

import keras
import numpy as np
import pytest

from musicalpy.models.satb_net import (
    SatbNet,
    SatbNetSettings,
    crop_batch,
    padded_inputs,
    sounding_of,
    train_satb_net,
    voice_ranges,
)
from musicalpy.representations.satb_steps import HOLD_ID, N_POSITIONS, N_VALUES, REST_ID, SatbSteps

TINY = dict(units=16, n_layers=1, embedding=8, head_units=16, condition_units=8, crop_steps=16, crops_per_epoch=16,
            batch_size=8, dilations=(1, 2), num_heads=2, dropout=0.0)

#: Nats per voice value of the random chorales below: each value is a hold with probability
#: 0.4, else one of 40 pitches, independently of everything else (the first step, never a
#: hold, has more), so no model's expected cross-entropy on them is lower.
SOURCE_NATS = -(0.4 * math.log(0.4) + 0.6 * math.log(0.6 / 40))


def _chorale(n_steps: int, seed: int) -> SatbSteps:
    rng = np.random.default_rng(seed)
    values = rng.integers(20, 60, size=(n_steps, 4))
    values[rng.random((n_steps, 4)) < 0.4] = HOLD_ID
    values[0] = rng.integers(20, 60, size=4)
    fermata = np.zeros(n_steps, dtype=bool)
    fermata[n_steps // 2 : n_steps // 2 + 3] = True
    return SatbSteps(values, np.arange(n_steps) % 16, fermata)


@pytest.fixture(scope="module")
def untrained():
    """One untrained network per trunk, built (and its calls compiled) once for the
    module: the tests only read it."""
    built: dict[str, SatbNet] = {}

    def get(trunk: str) -> SatbNet:
        if trunk not in built:
            built[trunk] = SatbNet(SatbNetSettings(trunk=trunk, **TINY))
        return built[trunk]

    return get


@pytest.fixture(scope="module", params=["lstm", "wavenet", "transformer"])
def net(request, untrained):
    return untrained(request.param)


def test_a_batch_scores_what_each_chorale_scores_alone(net):
    chorales = [_chorale(n, seed) for seed, n in enumerate((37, 12, 25))]
    for given in (False, True):
        together = net.log_probs(chorales, given_soprano=given)
        for chorale, table in zip(chorales, together, strict=True):
            alone = net.log_probs([chorale], given_soprano=given)[0]
            assert table.shape == (chorale.n_steps, 5)
            np.testing.assert_allclose(table, alone, atol=1e-5)


def _compiled_logits(net: SatbNet, inputs: dict) -> dict:
    """The network's logits through the compiled call :meth:`SatbNet.log_probs` uses (a batch
    of 16 rows of 128 steps reuses its trace)."""
    return {name: np.asarray(value) for name, value in net._calls()["model"](inputs).items()}


def test_whatever_the_padding_holds_no_real_step_moves(net):
    """Scoring pads each chorale to 128 steps: garbage in a 37-step chorale's padding changes
    no output at its real steps, free or under its soprano (which the condition path reads
    backwards from the chorale's own last step, never from the padding)."""
    short = _chorale(37, 0)
    empty = SatbSteps(np.zeros((0, 4), np.int64), np.zeros(0, np.int64), np.zeros(0, bool))
    inputs, mask = padded_inputs([short, short] + [empty] * 14, condition_on=[True] + [False] * 15, width=128)
    assert inputs["length"][:2, 0].tolist() == [37, 37] and mask.sum() == 74
    noisy = {key: value.copy() for key, value in inputs.items()}
    pad = ~mask
    rng = np.random.default_rng(0)
    for key in ("previous", "prev_sounding", "current", "sounding"):
        noisy[key][pad] = rng.integers(2, N_VALUES, size=noisy[key][pad].shape)
    for key in ("soprano", "soprano_sounding"):  # the melody the condition reads, where it is on
        noisy[key][0, pad[0]] = rng.integers(2, N_VALUES, size=int(pad[0].sum()))
    for key in ("prev_fermata", "fermata"):
        noisy[key][pad] = 1.0
    noisy["given_fermata"][0, pad[0]] = 1.0
    noisy["position"][pad] = rng.integers(0, N_POSITIONS, size=int(pad.sum()))
    clean, dirty = _compiled_logits(net, inputs), _compiled_logits(net, noisy)
    for name in clean:
        np.testing.assert_allclose(dirty[name][:2, :37], clean[name][:2, :37], atol=1e-5)
        assert not np.allclose(dirty[name][:2, 37:], clean[name][:2, 37:], rtol=0, atol=1e-6)  # the garbage is read


def test_the_training_loss_is_the_scored_likelihood_of_the_real_steps(net):
    """Keras' loss on a batch of crops (the sum over outputs of the weighted losses, each
    divided by crops x crop steps) is the negative log-likelihood :meth:`SatbNet.log_probs`
    gives the same chorales, padding weighing nothing: chorales shorter than the crop come
    whole, untransposed and unconditioned, and garbage in their padding changes nothing."""
    chorales = [_chorale(n, seed) for seed, n in enumerate((29, 41, 57))]
    settings = SatbNetSettings(**{**TINY, "crop_steps": 128, "condition_share": 0.0, "max_transpose": 0})
    inputs, targets, weights = crop_batch(chorales, voice_ranges(chorales), settings, np.random.default_rng(1), 16)
    lengths = inputs["length"][:, 0]
    assert set(lengths) == {29, 41, 57}  # every crop is a whole chorale, padded to 128 steps
    losses = net.loss_functions()

    def training_loss(inputs, targets):
        logits = _compiled_logits(net, inputs)
        return sum(float(losses[name](targets[name], logits[name], sample_weight=weights[name])) for name in losses)

    by_length = {c.n_steps: c for c in chorales}
    scored = sum(table.sum() for table in net.log_probs([by_length[n] for n in lengths]))
    assert training_loss(inputs, targets) * 16 * 128 == pytest.approx(-scored, rel=1e-5)
    pad = np.arange(128)[None, :] >= lengths[:, None]
    noisy_inputs = {key: value.copy() for key, value in inputs.items()}
    noisy_targets = {key: value.copy() for key, value in targets.items()}
    rng = np.random.default_rng(2)
    for key in ("previous", "prev_sounding", "current", "sounding"):
        noisy_inputs[key][pad] = rng.integers(2, N_VALUES, size=noisy_inputs[key][pad].shape)
    for voice in ("Soprano", "Alto", "Tenor", "Bass"):
        noisy_targets[voice][pad] = rng.integers(2, N_VALUES, size=int(pad.sum()))
    noisy_targets["fermata"][pad] = 1.0
    assert training_loss(noisy_inputs, noisy_targets) == pytest.approx(training_loss(inputs, targets), rel=1e-6)


def test_each_factor_sees_only_what_comes_before_it(net):
    chorale = _chorale(30, 7)
    base = net.log_probs([chorale])[0]
    changed = chorale.values.copy()
    changed[20:] = 40  # the future of step 19
    later = net.log_probs([SatbSteps(changed, chorale.position, chorale.fermata)])[0]
    np.testing.assert_allclose(base[:20], later[:20], atol=1e-5)
    # Within step 10: changing the alto moves the tenor's and bass's factors, never the soprano's.
    within = chorale.values.copy()
    within[10, 1] = 55 if within[10, 1] != 55 else 54
    moved = net.log_probs([SatbSteps(within, chorale.position, chorale.fermata)])[0]
    np.testing.assert_allclose(moved[10, :2], base[10, :2], atol=1e-6)
    assert not np.allclose(moved[10, 3:], base[10, 3:], rtol=0, atol=1e-6)


def test_given_soprano_reads_the_melodys_future(net):
    chorale = _chorale(30, 3)
    sop = chorale.values.copy()
    sop[25:, 0] = 30  # only the soprano's future changes
    other = SatbSteps(sop, chorale.position, chorale.fermata)
    given, given_other = net.log_probs([chorale], given_soprano=True)[0], net.log_probs([other], given_soprano=True)[0]
    assert (given[:, :2] == 0).all()
    assert not np.allclose(given[20:25, 2:], given_other[20:25, 2:], rtol=0, atol=1e-6)
    free, free_other = net.log_probs([chorale])[0], net.log_probs([other])[0]
    np.testing.assert_allclose(free[:25], free_other[:25], atol=1e-5)


def test_harmonizing_keeps_the_soprano_and_a_batch_writes_what_one_writes(net):
    chorales = [_chorale(n, seed) for seed, n in enumerate((20, 9))]
    kwargs = dict(soprano=[c.values[:, 0] for c in chorales], fermata=[c.fermata for c in chorales], temperature=0.0)
    together = net.sample([c.position for c in chorales], **kwargs)
    for k, chorale in enumerate(chorales):
        alone = net.sample([chorale.position], soprano=[chorale.values[:, 0]], fermata=[chorale.fermata],
                           temperature=0.0)[0]
        np.testing.assert_array_equal(together[k].values, alone.values)
        np.testing.assert_array_equal(together[k].values[:, 0], chorale.values[:, 0])
        np.testing.assert_array_equal(together[k].fermata, chorale.fermata)
    # No voice holds at the first step or after a rest.
    for steps in together:
        assert not (steps.values[0] == HOLD_ID).any()
        after_rest = (steps.values[1:] == HOLD_ID) & (steps.values[:-1] == REST_ID)
        assert not after_rest.any()


def test_sampling_is_seeded(untrained):
    net = untrained(SatbNetSettings().trunk)
    positions = [np.arange(24) % 16] * 2
    first, again = net.sample(positions, seed=3), net.sample(positions, seed=3)
    np.testing.assert_array_equal(first[0].values, again[0].values)
    assert not np.array_equal(first[0].values, net.sample(positions, seed=4)[0].values)


def test_crops_stay_in_every_voices_range():
    chorales = [_chorale(n, seed) for seed, n in enumerate((40, 60, 33))]
    ranges = voice_ranges(chorales)
    settings = SatbNetSettings(**{**TINY, "crop_steps": 16})
    inputs, targets, weights = crop_batch(chorales, ranges, settings, np.random.default_rng(0), 64)
    for v, voice in enumerate(("Soprano", "Alto", "Tenor", "Bass")):
        notes = targets[voice][targets[voice] >= 2]
        assert notes.min() >= ranges[v, 0] and notes.max() <= ranges[v, 1]
    conditioned = inputs["condition_on"][:, 0] > 0
    assert 0 < conditioned.sum() < 64
    # The soprano and fermata are free only where the condition is off.
    assert (weights["Soprano"][conditioned] == 0).all() and (weights["Alto"][conditioned] > 0).any()


def test_training_lowers_the_validation_loss_checkpoints_every_epoch_and_resumes(tmp_path, untrained):
    chorales = [_chorale(n, seed) for seed, n in enumerate((40, 60, 33, 50))]
    # Four Adam steps of 16 crops per epoch at a rate that moves a tiny network in two epochs.
    settings = SatbNetSettings(**{**TINY, "learning_rate": 1e-2, "crops_per_epoch": 64, "batch_size": 16})
    keras.utils.set_random_seed(0)
    _, first = train_satb_net(settings, chorales[:3], chorales[3:], run_dir=tmp_path, max_epochs=1, progress=False)
    assert len(first["history"]) == 1 and (tmp_path / "last" / "optimizer.npz").is_file()
    net, record = train_satb_net(settings, chorales[:3], chorales[3:], run_dir=tmp_path, max_epochs=2, progress=False)
    assert [h["epoch"] for h in record["history"]] == [1, 2]
    assert record["history"][0] == first["history"][0]
    # Before training the logits are near zero: the uniform model's log(71) nats per voice value
    # (an untrained network of the same shape, measured within 0.002 over three seeds).
    uniform = math.log(N_VALUES)
    before = untrained(settings.trunk).validation_scores(chorales[3:])["nats_per_voice_token"]
    assert before == pytest.approx(uniform, abs=0.01)
    # Each epoch lowers the validation loss, toward the chorales' own entropy (2.886 nats): by
    # 0.48 to 0.71 nats after two epochs over seeds 0-2, never below the entropy less four
    # standard errors of the validation chorale's 200 values (sd of -log p 1.61 nats: 0.46).
    curve = [h["nats_per_voice_token"] for h in record["history"]]
    assert before > curve[0] > curve[1]
    assert SOURCE_NATS - 0.46 < curve[1] < uniform - 0.3
    best = record["history"][record["best_epoch"] - 1]["bits_per_note"]
    assert best == min(h["bits_per_note"] for h in record["history"])
    with pytest.raises(ValueError, match="other settings"):
        train_satb_net(dataclasses.replace(settings, units=24), chorales[:3], chorales[3:], run_dir=tmp_path,
                       max_epochs=3, progress=False)
    # The kept network is the best epoch's, and it reloads to the same scores.
    again = SatbNet.load(tmp_path / "best")
    np.testing.assert_allclose(net.log_probs(chorales[3:])[0], again.log_probs(chorales[3:])[0], atol=1e-6)


@pytest.mark.parametrize("trunk", ["lstm", "gru"])
def test_a_recurrent_trunk_steps_to_the_states_it_computes_whole(trunk, untrained):
    """The sampler's one-cell-per-step path gives the trunk states the scorer computes."""
    net = untrained(trunk)
    chorale = _chorale(20, 5)
    inputs, _ = padded_inputs([chorale])
    calls = net._calls()
    condition = calls["condition"]([inputs[k] for k in ("soprano", "soprano_sounding", "given_fermata", "position",
                                                        "condition_on", "length")])
    whole = np.asarray(calls["core"]([inputs["previous"], inputs["prev_sounding"], inputs["prev_fermata"],
                                      inputs["position"], condition]))[0]
    states = net._initial_states(1)
    for t in range(chorale.n_steps):
        state, states = calls["step"](inputs["previous"][:, t], inputs["prev_sounding"][:, t],
                                      inputs["prev_fermata"][:, t], inputs["position"][:, t],
                                      np.asarray(condition)[:, t], states)
        np.testing.assert_allclose(np.asarray(state)[0], whole[t], atol=1e-5)


def test_sounding_carries_the_held_pitch_and_a_crops_past():
    values = np.array([[10, REST_ID], [HOLD_ID, 12], [HOLD_ID, HOLD_ID], [11, REST_ID], [HOLD_ID, HOLD_ID]])
    np.testing.assert_array_equal(sounding_of(values),
                                  [[10, REST_ID], [10, 12], [10, 12], [11, REST_ID], [11, REST_ID]])
    # A crop starting on a hold hears the note struck before it.
    np.testing.assert_array_equal(sounding_of(values[2:], first=np.array([10, 12])), sounding_of(values)[2:])


def test_our_networks_retracing_notice_is_dropped_and_other_warnings_pass():
    import logging

    from musicalpy.models.satb_net import _quiet_retracing

    logger = logging.getLogger("musicalpy-test-retracing")
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    logger.addHandler(Keep())
    logger.propagate = False
    _quiet_retracing(logger)
    _quiet_retracing(logger)  # once only
    assert len(logger.filters) == 1
    ours = ["5 out of the last 28 calls to <function SatbNet._calls.<locals>.call.<locals>.<lambda> at 0x7f> "
            "triggered tf.function retracing. Tracing is expensive",
            "5 out of the last 9 calls to <bound method SatbNet._transformer_step of <musicalpy.models.satb_net."
            "SatbNet object at 0x7f>> triggered tf.function retracing. Tracing is expensive",
            "5 out of the last 5 calls to <function SatbOrderless._call.<locals>.<lambda> at 0x7f> triggered "
            "tf.function retracing."]
    # Another function's retracing still warns: it may be a real fault (a tf.function
    # made in a loop), which only its author can fix.
    other = "5 out of the last 5 calls to <function sample_loop at 0x7f> triggered tf.function retracing."
    for message in [*ours, other, "something else went wrong"]:
        logger.warning(message)
    assert seen == [other, "something else went wrong"]


@pytest.mark.parametrize("trunk", ["wavenet", "transformer"])
def test_the_cached_stepper_writes_what_the_full_prefix_writes(untrained, trunk):
    """The Transformer's key/value caches and the WaveNet's receptive-field window give
    each step the state a pass over the whole prefix gives: the same greedy chorales,
    free and under a soprano, for chorales longer than the WaveNet's receptive field."""
    net = untrained(trunk)
    chorales = [_chorale(n, seed) for seed, n in enumerate((41, 23))]
    if trunk == "wavenet":
        assert net._receptive_field() < 23  # so the window starts inside the chorale
    positions = [c.position for c in chorales]
    for given in (None, [c.values[:, 0] for c in chorales]):
        fast = net.sample(positions, soprano=given, temperature=0, seed=3)
        slow = net.sample(positions, soprano=given, temperature=0, seed=3, cached=False)
        for a, b in zip(fast, slow, strict=True):
            np.testing.assert_array_equal(a.values, b.values)
            np.testing.assert_array_equal(a.fermata, b.fermata)
