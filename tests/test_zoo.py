"""The model zoo: train, save, load, generate and score every kind on a tiny corpus."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from musicalpy import zoo
from musicalpy.markov import MarkovChain


@pytest.fixture(scope="module")
def corpus():
    return zoo.training_corpus("bach", limit=6)


@pytest.fixture(scope="module")
def counting(corpus):
    return {kind: zoo.train(kind, corpus, smoke=True, progress=False) for kind in ("unigram", "markov", "hmm")}


def test_defaults_follow_the_notebooks():
    assert zoo.defaults("hmm", smoke=False)["n_states"] == 16
    assert zoo.defaults("hmm", smoke=False)["epochs"] == 300
    assert zoo.defaults("markov")["order"] == 1 and zoo.defaults("markov")["epochs"] is None
    assert zoo.defaults("vae", smoke=False)["latent_dim"] == 16
    assert 1.5 in zoo.defaults("hmm")["duration_classes"]  # the dotted classes of notebook 02
    with pytest.raises(ValueError, match="kind must be one of"):
        zoo.defaults("gan")


def test_counting_models_have_one_model_per_voice(counting, corpus):
    model = counting["markov"]
    assert model.voices == list(zoo.CHORALE_VOICES)
    assert set(model.parts) == set(zoo.CHORALE_VOICES)
    card = model.card
    assert card["data"]["pieces"] == {"train": 4, "validation": 1, "test": 1}
    assert card["validation"]["n_notes"] == len(corpus.split("validation").notes)


def test_markov_score_is_the_sum_over_voices(counting, corpus):
    model = counting["markov"]
    test = corpus.split("test").notes
    scores = model.score(test)
    total, n_tokens = 0.0, 0
    for voice in model.voices:
        chain, vocabulary = model.parts[voice]
        sequences = [vocabulary.encode(s) for s in zoo._quantized(test, voice, model.settings)]
        assert isinstance(chain, MarkovChain)
        total += chain.score(sequences)
        n_tokens += sum(map(len, sequences))
    assert scores["log_likelihood"] == pytest.approx(total)
    assert scores["n_tokens"] == n_tokens
    assert scores["n_notes"] == len(test)
    assert scores["bits_per_note"] == pytest.approx(-total / (len(test) * math.log(2)))


def test_context_helps_on_held_out_chorales(counting, corpus):
    test = corpus.split("test").notes
    bits = {kind: model.score(test)["bits_per_token"] for kind, model in counting.items()}
    assert bits["markov"] < bits["unigram"]
    assert bits["hmm"] < bits["unigram"]


@pytest.mark.parametrize("kind", ["unigram", "markov", "hmm"])
def test_save_load_round_trip(counting, corpus, kind, tmp_path):
    model = counting[kind]
    path = model.save(tmp_path / kind)
    card = json.loads((path / "card.json").read_text())
    assert card["format"] == zoo.FORMAT and card["kind"] == kind
    assert not list(path.glob("*.pkl")) and not list(path.glob("*.pickle"))
    loaded = zoo.load(path)
    test = corpus.split("test").notes
    assert loaded.score(test)["log_likelihood"] == pytest.approx(model.score(test)["log_likelihood"])
    first = model.generate(n_notes=40, n_samples=2, seed=3)
    again = loaded.generate(n_notes=40, n_samples=2, seed=3)
    assert first.equals(again)


def test_budgets(counting):
    model = counting["markov"]
    by_notes = model.generate(n_notes=40, n_samples=3, seed=0)
    assert by_notes.groupby("piece").size().to_dict() == {"sample_0": 40, "sample_1": 40, "sample_2": 40}
    assert by_notes.groupby(["piece", "part"]).size().max() == 10
    by_time = model.generate(seconds=6.0, n_samples=1, seed=0)
    assert by_time["end"].max() <= 6.0 + 1e-9 and by_time["start"].max() < 6.0
    assert set(by_time["part"]) == set(zoo.CHORALE_VOICES)


def test_primer_is_continued(counting, corpus):
    primer = corpus.piece(corpus.piece_ids[1]).query("start < 2")
    notes = counting["markov"].generate(n_notes=20, primer=primer, seed=0)
    soprano = notes[notes["part"] == "Soprano"].sort_values("start")
    first = primer[primer["part"] == "Soprano"].sort_values("start")
    assert soprano["pitch"].iloc[: len(first)].tolist() == first["pitch"].tolist()
    assert len(notes) == 20 + len(primer)


def test_bad_requests(counting, tmp_path):
    model = counting["hmm"]
    with pytest.raises(ValueError, match="exactly one of"):
        model.generate(n_notes=10, seconds=3)
    with pytest.raises(ValueError, match="top_p applies"):
        model.generate(n_notes=10, top_p=0.9)
    with pytest.raises(ValueError, match="cannot continue a primer"):
        model.generate(n_notes=10, primer=model.generate(n_notes=4))
    with pytest.raises(ValueError, match="temperature"):
        model.generate(n_notes=10, temperature=0)
    with pytest.raises(ValueError, match="has no epochs"):
        zoo.train("markov", "bach", epochs=3, limit=6, progress=False)
    with pytest.raises(ValueError, match="unknown setting"):
        zoo.train("markov", "bach", settings={"orderr": 2}, limit=6, progress=False)


def test_never_overwrites_without_force(counting, tmp_path):
    path = counting["unigram"].save(tmp_path / "m")
    with pytest.raises(FileExistsError, match="force"):
        counting["markov"].save(path)
    assert zoo.load(path).kind == "unigram"
    counting["markov"].save(path, force=True)
    assert zoo.load(path).kind == "markov"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no staging folder left


def test_load_errors_name_the_folder(tmp_path):
    with pytest.raises(zoo.ModelError, match="no such model folder"):
        zoo.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(zoo.ModelError, match="no card.json"):
        zoo.load(tmp_path / "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "card.json").write_text("{not json")
    with pytest.raises(zoo.ModelError, match="unreadable"):
        zoo.load(bad)
    (bad / "card.json").write_text(json.dumps({"format": zoo.FORMAT, "kind": "hmm", "voices": ["Soprano"]}))
    with pytest.raises(zoo.ModelError, match="cannot load the hmm model"):
        zoo.load(bad)


@pytest.mark.parametrize("kind", ["lstm", "wavenet", "vae"])
def test_keras_kinds_round_trip(corpus, kind, tmp_path):
    model = zoo.train(kind, corpus, smoke=True, progress=False)
    path = model.save(tmp_path / kind)
    assert (path / "model.keras").exists()
    loaded = zoo.load(path)
    test = corpus.split("test").notes
    before, after = model.score(test), loaded.score(test)
    assert after["log_likelihood"] == pytest.approx(before["log_likelihood"], rel=1e-5)
    assert np.isfinite(after["bits_per_note"]) and after["bits_per_note"] > 0
    if kind == "vae":
        assert after["n_tokens"] % (48 * 32) == 0  # piano-roll cells of whole windows
    notes = loaded.generate(seconds=4.0, n_samples=2, seed=1)
    assert notes.equals(loaded.generate(seconds=4.0, n_samples=2, seed=1))
    assert notes.empty or notes["end"].max() <= 4.0 + 1e-9
    # A notebook's own trained network wraps into the same model without training.
    network, vocabulary = model.parts["all"]
    wrapped = zoo.from_trained(kind, network, corpus, vocabulary=vocabulary, settings=_trained_settings(model),
                               training_time_s=12.5, trained_by="notebooks/test.ipynb", smoke=True)
    derived = ("notes_per_window", "active_cells") if kind == "vae" else ("openings", "beats_per_token")
    for key in derived:
        expected = pytest.approx(model.settings[key]) if kind == "vae" else model.settings[key]
        assert wrapped.settings[key] == expected
    assert wrapped.card["validation"]["bits_per_note"] == pytest.approx(model.card["validation"]["bits_per_note"], rel=1e-5)
    assert wrapped.card["training_time_s"] == 12.5 and wrapped.card["trained_by"] == "notebooks/test.ipynb"


def _trained_settings(model):
    """The settings a notebook would pass: everything but what from_trained derives."""
    derived = {"openings", "beats_per_token", "notes_per_window", "active_cells", "epochs_run"}
    return {k: v for k, v in model.settings.items() if k not in derived}


@pytest.mark.parametrize("kind", ["markov", "hmm"])
def test_from_trained_wraps_per_voice_models(counting, corpus, kind, tmp_path):
    model = counting[kind]
    wrapped = zoo.from_trained(kind, model.parts, corpus, settings=_trained_settings(model), smoke=True)
    assert wrapped.voices == model.voices
    assert wrapped.settings["beats_per_token"] == pytest.approx(model.settings["beats_per_token"])
    test = corpus.split("test").notes
    assert wrapped.score(test)["log_likelihood"] == pytest.approx(model.score(test)["log_likelihood"])
    loaded = zoo.load(wrapped.save(tmp_path / kind))
    assert loaded.generate(n_notes=40, n_samples=2, seed=3).equals(model.generate(n_notes=40, n_samples=2, seed=3))
    assert math.isnan(loaded.card["training_time_s"])


def test_from_trained_rejects_what_it_cannot_use(counting, corpus):
    with pytest.raises(ValueError, match="unknown setting"):
        zoo.from_trained("markov", counting["markov"].parts, corpus, settings={"n_layers": 3})
    with pytest.raises(ValueError, match=r"fitted\['Soprano'\] must be a \(model, vocabulary\) pair"):
        zoo.from_trained("hmm", {"Soprano": counting["hmm"].parts["Soprano"][0]}, corpus)
    with pytest.raises(ValueError, match="must be a Keras model"):
        zoo.from_trained("lstm", counting["markov"].parts, corpus)
    import keras

    network = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="needs the vocabulary"):
        zoo.from_trained("wavenet", network, corpus)


def test_split_digest_tells_splits_apart(corpus, counting):
    same = zoo.training_corpus("bach", limit=6)
    assert zoo.split_digest(same) == zoo.split_digest(corpus) == counting["markov"].card["data"]["split_digest"]
    moved = corpus.pieces.copy()
    moved.loc[moved.index[0], "split"] = "test" if moved["split"].iloc[0] != "test" else "train"
    assert zoo.split_digest(type(corpus)(corpus.name, corpus.notes, moved, corpus.report)) != zoo.split_digest(corpus)


def test_save_for_comparison_keeps_smoke_models_out_of_models_dir(counting, tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICALPY_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("MUSICALPY_OUTPUT_DIR", str(tmp_path / "outputs"))
    assert zoo.save_for_comparison(counting["markov"], smoke=True) == tmp_path / "outputs" / "models" / "markov"
    assert not (tmp_path / "models").exists()
    path = zoo.save_for_comparison(counting["markov"], smoke=False)
    assert path == tmp_path / "models" / "markov"
    assert zoo.save_for_comparison(counting["markov"], smoke=False) == path  # replaces its own earlier copy
    assert zoo.load(path).card["data"]["split_digest"] == zoo.split_digest(zoo.training_corpus("bach", limit=6))
