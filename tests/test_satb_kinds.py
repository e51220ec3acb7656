"""The SATB-steps kinds through the zoo and the command: train for a budget, resume,
score, generate, harmonize, save and load; and the models that ship in the package."""

from __future__ import annotations

import json
import math

import keras
import numpy as np
import pytest

from musicalpy import pretrained, zoo
from musicalpy.corpus import load_corpus
from musicalpy.melody import load_melody
from musicalpy.names import VOICES
from musicalpy.representations.satb_steps import N_VALUES


@pytest.fixture(scope="module")
def corpus():
    bach = load_corpus("bach", progress=False, parts=list(VOICES))
    pieces = bach.pieces
    chosen = [*pieces.loc[pieces["split"] == "train", "piece"][:12],
              *pieces.loc[pieces["split"] == "validation", "piece"][:3],
              *pieces.loc[pieces["split"] == "test", "piece"][:2]]
    return bach.subset(chosen)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MUSICALPY_RUNS_DIR", str(folder))
        yield folder


def _uniform_bits(notes):
    """Bits per note, and per alto, tenor and bass note given the soprano, of the uniform
    model: log2(2) for each step's fermata flag and log2(71) for each voice's value (rest,
    hold or one of 69 pitches), over one step per sixteenth from beat 0 to each chorale's
    last note's end, counted here from the note table."""
    n_steps = sum(round(4 * end) for end in notes.groupby("piece")["end_beat"].max())
    lower = int(notes["part"].isin(VOICES[1:]).sum())
    per_voice = math.log2(N_VALUES)
    return n_steps, n_steps * (1 + 4 * per_voice) / len(notes), n_steps * 3 * per_voice / lower


@pytest.mark.parametrize("kind", ["satb_lstm", "satb_orderless"])
def test_a_uniform_network_scores_what_counting_the_chorales_steps_gives(kind, corpus):
    """A network whose weights are all zero gives every logit 0: the uniform model. Its
    bits per note through the zoo are then known from the note table alone, so the zoo's
    accounting counts each real step once and no padding (a causal network's batches are
    padded to 128 steps; the orderless network's windows reach past the ends)."""
    network = zoo.family(kind).fitted_class()(zoo.defaults(kind, smoke=True).network())
    network.model.set_weights([np.zeros_like(w) for w in network.model.get_weights()])
    model = zoo.from_trained(kind, network, corpus, smoke=True)
    for split in ("validation", "test"):
        notes = corpus.split(split).notes
        n_steps, bits, given_bits = _uniform_bits(notes)
        score = model.score(notes)
        assert (score["n_tokens"], score["n_notes"]) == (4 * n_steps, len(notes))
        assert score["bits_per_note"] == pytest.approx(bits, rel=1e-9)
        assert model.family.score_given_soprano(model, notes)["bits_per_note"] == pytest.approx(given_bits, rel=1e-9)
    assert model.card["validation"]["bits_per_note"] == pytest.approx(_uniform_bits(corpus.split("validation").notes)[1],
                                                                       rel=1e-9)


@pytest.mark.parametrize("kind", ["satb_counts", "satb_lstm", "satb_wavenet", "satb_transformer", "satb_orderless"])
def test_each_kind_trains_scores_generates_harmonizes_and_reloads(kind, corpus, runs, tmp_path):
    keras.utils.set_random_seed(0)  # the networks' first weights: one smoke run, the same every time
    model = zoo.train(kind, corpus, smoke=True, progress=False)
    test = corpus.split("test").notes
    n_steps, uniform, uniform_given = _uniform_bits(test)
    score = model.score(test)
    assert (score["n_tokens"], score["n_notes"]) == (4 * n_steps, len(test))
    given = model.family.score_given_soprano(model, test)
    assert given["n_notes"] == int(test["part"].isin(VOICES[1:]).sum())
    if kind == "satb_counts":  # counts: the same numbers on these chorales every time
        assert (score["bits_per_note"], given["bits_per_note"]) == pytest.approx((4.2423, 3.9715), abs=1e-4)
    else:
        # A smoke network is two Adam steps from its start, where every logit is near 0: within
        # 2 bits per note of the uniform model's 18.95 (17.59 given the soprano), measured 17.5 to
        # 18.96 (15.9 to 17.5). How training lowers the loss: tests/test_satb_net.py.
        assert abs(score["bits_per_note"] - uniform) < 2 and abs(given["bits_per_note"] - uniform_given) < 2
    notes = model.generate(n_notes=24, n_samples=2, seed=1)
    assert set(notes["piece"]) == {"sample_0", "sample_1"}
    assert set(notes["part"]) <= set(VOICES)
    line = test[(test["piece"] == test["piece"].iloc[0]) & (test["part"] == "Soprano") & (test["start_beat"] < 8)]
    melody = load_melody(line[["pitch", "start_beat", "end_beat"]], name="given")
    harmony = model.harmonize(melody)
    soprano = harmony[harmony["part"] == "Soprano"].sort_values("start_beat")
    np.testing.assert_array_equal(soprano["pitch"].to_numpy(), melody.notes["pitch"].to_numpy())
    assert set(harmony["part"]) == set(VOICES)
    path = model.save(tmp_path / kind)
    again = zoo.load(path)
    assert again.score(test)["bits_per_note"] == pytest.approx(score["bits_per_note"], abs=1e-6)


def test_a_network_budget_resumes_the_same_run(corpus, runs):
    first = zoo.train("satb_lstm", corpus, settings={"epochs": 1}, smoke=True, progress=False)
    assert first.state["epochs_run"] == 1
    second = zoo.train("satb_lstm", corpus, settings={"epochs": 2}, smoke=True, progress=False)
    assert second.state["epochs_run"] == 2
    assert second.state["curve"][0] == first.state["curve"][0]  # epoch 1 was not trained again
    assert second.state["run_folder"] == first.state["run_folder"]
    assert second.card["selection"]["split"] == "validation"


def test_the_train_command_takes_a_cpu_budget_and_writes_provenance(corpus, runs, tmp_path, monkeypatch):
    from musicalpy import cli

    monkeypatch.setattr(zoo, "training_corpus", lambda source, limit=None: corpus)
    monkeypatch.setenv("MUSICALPY_RUNS_DIR", str(tmp_path / "runs"))  # a run of its own, not resumed
    out = tmp_path / "lstm"
    assert cli.main(["train", "satb_lstm", "--smoke", "--cpu-minutes", "0.01", "--out", str(out)]) == 0
    card = json.loads((out / "card.json").read_text())
    assert card["settings"]["cpu_minutes"] == 0.01 and card["settings"]["epochs"] is None
    assert card["state"]["epochs_run"] == 1  # the first epoch passes 0.6 CPU seconds
    assert card["provenance"]["command"].startswith("musicalpy train satb_lstm")
    assert card["provenance"]["machine"]["cores"] >= 1 and card["provenance"]["versions"]["keras"]
    assert card["validation_check"]["pieces"] == list(corpus.split("validation").pieces["piece"])[:3]
    # A kind without a time budget refuses one.
    assert cli.main(["train", "satb_counts", "--minutes", "5", "--out", str(tmp_path / "c")]) == 2


@pytest.mark.parametrize("name", list(pretrained.SHIPPED))
def test_every_shipped_card_says_how_its_model_was_made(name):
    card = pretrained.card(name)
    assert card["kind"] == name and card["smoke"] is False
    for key in ("command", "commit", "versions", "machine"):
        assert card["provenance"][key]
    assert card["provenance"]["command"].startswith(f"musicalpy train {name}")
    assert len(card["validation_check"]["pieces"]) == pretrained.N_CHECKED
    if name.startswith("jsb_"):  # JSB's frame networks: stopped early on validation, inside their cap
        state, settings = card["state"], card["settings"]
        assert state["epochs_run"] == len(state["curve"]) >= 1
        stopped_early = state["epochs_run"] - state["best_epoch"] == settings["patience"]
        assert stopped_early or state["cpu_minutes"] >= settings["cpu_minutes"]
        assert "frame NLL" in card["selection"]["metric"]
        best = min(point["nats_per_frame"] for point in state["curve"])
        assert state["curve"][state["best_epoch"] - 1]["nats_per_frame"] == best
    elif name not in ("satb_counts", "hmm_harmonizer"):  # the networks: a budget, a curve and the time it took
        state = card["state"]
        assert state["epochs_run"] == len(state["curve"]) >= 1
        assert state["cpu_minutes"] >= card["settings"]["cpu_minutes"]
        # the causal networks keep the epoch of lowest validation bits per note, the orderless
        # one that of lowest masked NLL (its card's selection names it)
        key = "masked_nats" if name == "satb_orderless" else "bits_per_note"
        assert {"masked_nats": "hidden voice-steps", "bits_per_note": "bits per note"}[key] in card["selection"]["metric"]
        best = min(point[key] for point in state["curve"])
        assert state["curve"][state["best_epoch"] - 1][key] == best
