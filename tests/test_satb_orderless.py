"""The orderless network: masks, exact one-ordering likelihood, batch- and window-independent,
rewriting that keeps what it is told to keep, training that learns."""

from __future__ import annotations

import numpy as np
import pytest
from test_satb_net import _chorale  # the same random chorales as the causal network's tests

from musicalpy.models.satb_net import train_satb_net
from musicalpy.models.satb_orderless import (
    N_COLUMNS,
    SatbOrderless,
    SatbOrderlessSettings,
    orderless_batch,
    training_masks,
)
from musicalpy.representations.satb_steps import HOLD_ID, REST_ID

TINY = dict(units=16, embedding=8, dilations=(1, 2), crop_steps=16, crops_per_epoch=32, batch_size=8, dropout=0.0,
            gibbs_steps=6)


@pytest.fixture(scope="module")
def net():
    return SatbOrderless(SatbOrderlessSettings(**TINY))


def _full_pass(net, chorale, known):
    """The network's outputs over a whole chorale, no windows, for a given ``known``."""
    n = chorale.n_steps
    return net._call({"values": chorale.values[None].astype(np.int32), "known": known[None].astype(np.float32),
                      "fermata": chorale.fermata[None].astype(np.float32),
                      "position": chorale.position[None].astype(np.int32), "inside": np.ones((1, n), np.float32)})


def test_training_masks_hide_what_each_kind_says():
    settings = SatbOrderlessSettings(**TINY)
    rng = np.random.default_rng(0)
    for shares, check in (((1.0, 0.0, 0.0), "orderless"), ((0.0, 1.0, 0.0), "chronological"),
                          ((0.0, 0.0, 1.0), "span")):
        masks = training_masks([16, 9, 1], 16, settings.__class__(**{**TINY, "mask_shares": shares}), rng)
        assert masks.shape == (3, 16, N_COLUMNS)
        assert not masks[1, 9:].any() and not masks[2, 1:].any()  # padding is never hidden
        assert (masks.sum(axis=(1, 2)) >= 1).all()
        if check == "chronological":
            for row, length in ((0, 16), (1, 9)):
                hidden_steps = np.flatnonzero(masks[row, :length].any(axis=1))
                first = hidden_steps.min()
                # every step after the first hidden one is hidden from the soprano, or the alto, on
                assert masks[row, first + 1 : length, 2:].all()
        if check == "span":
            assert not masks[:, :, 0].any()  # the fermata stays shown
            for row in range(3):
                steps = np.flatnonzero(masks[row].any(axis=1))
                assert steps.max() - steps.min() + 1 == len(steps) <= 64


def test_a_padded_batch_gives_each_chorale_what_it_gives_alone(net):
    short, long = _chorale(11, 1), _chorale(30, 2)
    known = np.random.default_rng(3).random((30, N_COLUMNS)) < 0.5
    alone = _full_pass(net, short, known[:11])
    values = np.zeros((2, 30, 4), np.int32)
    values[0, :11], values[1] = short.values, long.values
    inside = np.zeros((2, 30), np.float32)
    inside[0, :11], inside[1] = 1, 1
    together = net._call({"values": values, "known": np.stack([known * (np.arange(30) < 11)[:, None], known]).astype(
        np.float32), "fermata": np.stack([np.r_[short.fermata, np.zeros(19)], long.fermata]).astype(np.float32),
                          "position": np.stack([np.r_[short.position, np.zeros(19, int)], long.position]).astype(np.int32),
                          "inside": inside})
    for name, out in alone.items():
        np.testing.assert_allclose(together[name][0, :11], out[0], atol=1e-5)


def test_log_probs_is_the_chronological_ordering_exactly(net):
    """Each windowed conditional equals a whole-chorale pass showing exactly what comes
    before the variable in the order fermata, S, A, T, B (step by step)."""
    chorale = _chorale(25, 4)  # longer than the window (2 * 3 + 1 steps)
    table = net.log_probs([chorale])[0]
    given = net.log_probs([chorale], given_soprano=True)[0]
    assert table.shape == given.shape == (25, N_COLUMNS)
    assert (table < 0).all() and (given[:, :2] == 0).all() and (given[:, 2:] < 0).all()
    for t, column in ((0, 0), (0, 3), (12, 1), (12, 4), (24, 2)):
        for soprano_given, expected in ((False, table), (True, given)):
            if soprano_given and column < 2:
                continue
            known = np.zeros((25, N_COLUMNS))
            known[:t] = 1
            known[t, :column] = 1
            if soprano_given:
                known[:, :2] = 1
            out = _full_pass(net, chorale, known)
            if column == 0:
                logit = float(out["fermata"][0, t, 0])
                want = -np.logaddexp(0, -logit) if chorale.fermata[t] else -np.logaddexp(0, logit)
            else:
                logits = out[("Soprano", "Alto", "Tenor", "Bass")[column - 1]][0, t].astype(np.float64)
                want = logits[chorale.values[t, column - 1]] - np.logaddexp.reduce(logits)
            assert expected[t, column] == pytest.approx(want, abs=1e-5)


def test_rewrite_keeps_every_kept_variable_and_writes_the_rest(net):
    chorales = [_chorale(40, 5), _chorale(23, 6)]
    keep = [np.ones((c.n_steps, N_COLUMNS), bool) for c in chorales]
    keep[0][8:24, 2:4] = False  # alto and tenor of steps 8-23
    keep[1][:, 4] = False  # a whole new bass
    written = net.rewrite(chorales, keep, seed=1)
    changed = 0
    for chorale, kept, new in zip(chorales, keep, written, strict=True):
        assert new.values.shape == chorale.values.shape
        np.testing.assert_array_equal(new.values[kept[:, 1:]], chorale.values[kept[:, 1:]])
        np.testing.assert_array_equal(new.fermata, chorale.fermata)
        np.testing.assert_array_equal(new.position, chorale.position)
        free = ~kept[:, 1:]
        changed += int((new.values[free] != chorale.values[free]).sum())
        # no hold follows a rest or opens the chorale
        assert not (new.values[0] == HOLD_ID).any()
        assert not ((new.values[1:] == HOLD_ID) & (new.values[:-1] == REST_ID)).any()
    assert changed > 0
    again = net.rewrite(chorales, keep, seed=1)
    for a, b in zip(written, again, strict=True):
        np.testing.assert_array_equal(a.values, b.values)  # a seed writes the same


def test_sample_harmonizes_under_the_given_soprano(net):
    chorale = _chorale(20, 7)
    written = net.sample([chorale.position], soprano=[chorale.values[:, 0]], fermata=[chorale.fermata], seed=2,
                         temperature=0)[0]
    np.testing.assert_array_equal(written.values[:, 0], chorale.values[:, 0])
    np.testing.assert_array_equal(written.fermata, chorale.fermata)
    free = net.sample([chorale.position], seed=3)[0]
    assert free.values.shape == (20, 4) and (free.values >= 0).all()
    with pytest.raises(ValueError, match="top_k"):
        net.sample([chorale.position], top_k=5)


def test_training_lowers_the_masked_loss_resumes_and_reads_back(tmp_path):
    chorales = [_chorale(48, seed) for seed in range(6)]
    settings = SatbOrderlessSettings(**{**TINY, "learning_rate": 3e-3})
    before = SatbOrderless(settings).validation_scores(chorales[:2])["masked_nats"]
    trained, record = train_satb_net(settings, chorales, chorales[:2], run_dir=tmp_path, max_epochs=4,
                                     progress=False, net_class=SatbOrderless)
    assert len(record["history"]) == 4
    best = min(h["masked_nats"] for h in record["history"])
    assert best < before - 0.1  # a uniform guess over 71 values is 4.3 nats; it learns the values' spread
    assert record["history"][record["best_epoch"] - 1]["masked_nats"] == best
    again = SatbOrderless.load(tmp_path / "best")
    np.testing.assert_allclose(again.log_probs(chorales[:1])[0], trained.log_probs(chorales[:1])[0], atol=1e-6)
    _, resumed = train_satb_net(settings, chorales, chorales[:2], run_dir=tmp_path, max_epochs=5, progress=False,
                                net_class=SatbOrderless)
    assert len(resumed["history"]) == 5 and resumed["history"][:4] == record["history"]


def test_orderless_batch_moves_crops_within_the_voices_ranges():
    chorales = [_chorale(40, seed) for seed in range(3)]
    settings = SatbOrderlessSettings(**TINY)
    ranges = np.array([[20, 70]] * 4)
    inputs, targets, weights = orderless_batch(chorales, ranges, settings, np.random.default_rng(0), 12)
    pitched = inputs["values"] >= 2
    assert inputs["values"][pitched].min() >= 20 and inputs["values"][pitched].max() <= 70
    # each crop's hidden variables weigh its width in all, shown ones nothing
    total = sum(w for w in weights.values())
    np.testing.assert_allclose(total.sum(axis=1), 16, rtol=1e-5)
    hidden = np.stack([weights[k] > 0 for k in ("fermata", "Soprano", "Alto", "Tenor", "Bass")], axis=-1)
    assert not (hidden & (inputs["known"] > 0)).any()
