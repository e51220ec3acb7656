"""The model zoo: train, save, load, generate and score every kind on a tiny corpus."""

from __future__ import annotations

import ast
import dataclasses
import json
import math
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from musicalpy import zoo
from musicalpy.families.base import Family, Settings, Trained
from musicalpy.families.counting import HMMSettings, quantized_sequences
from musicalpy.markov import MarkovChain
from musicalpy.names import VOICES


@pytest.fixture(scope="module")
def corpus():
    return zoo.training_corpus("bach", limit=6)


@pytest.fixture(scope="module")
def counting(corpus):
    return {kind: zoo.train(kind, corpus, smoke=True, progress=False) for kind in ("unigram", "markov", "hmm")}


def test_defaults_are_the_family_settings():
    hmm = zoo.defaults("hmm", smoke=False)
    assert isinstance(hmm, HMMSettings) and hmm.n_states == 16 and hmm.epochs == 300
    assert zoo.defaults("hmm", smoke=True).epochs == 10
    assert zoo.defaults("markov").order == 1 and not hasattr(zoo.defaults("markov"), "epochs")
    assert 1.5 in zoo.defaults("hmm").duration_classes  # the dotted classes of notebook 02
    lstm = zoo.defaults("lstm", smoke=False)
    assert lstm.to_dict()["units"] == [128, 128] and lstm.replace(units=[256]).units == (256,)
    with pytest.raises(ValueError, match="unknown setting"):
        lstm.replace(layers=3)
    with pytest.raises(ValueError, match="kind must be one of"):
        zoo.defaults("gan")


def test_counting_models_have_one_model_per_voice(counting, corpus):
    model = counting["markov"]
    assert model.voices == list(VOICES)
    assert set(model.fitted) == set(VOICES)
    card = model.card
    assert card["data"]["pieces"] == {"train": 4, "validation": 1, "test": 1}
    assert card["validation"]["n_notes"] == len(corpus.split("validation").notes)


def test_markov_score_is_the_sum_over_voices(counting, corpus):
    model = counting["markov"]
    test = corpus.split("test").notes
    scores = model.score(test)
    total, n_tokens = 0.0, 0
    for voice in model.voices:
        chain, vocabulary = model.fitted[voice]
        sequences = [vocabulary.encode(s) for s in quantized_sequences(test, voice, model.settings)]
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
    assert card["version"] == 2 and card["state"]["beats_per_sampled_token"] == model.state["beats_per_sampled_token"]
    assert card["fitted"]["per_voice"]["Bass"]["vocabulary"] == "voice_3.vocab.json"
    # A folder written by the version-1 code still loads, with its state moved out of settings.
    _rewrite_as_version_1(path)
    old = zoo.load(path)
    assert old.settings == model.settings and old.state == pytest.approx(model.state)
    assert old.generate(n_notes=40, n_samples=2, seed=3).equals(first)


def test_budgets(counting):
    model = counting["markov"]
    by_notes = model.generate(n_notes=40, n_samples=3, seed=0)
    assert by_notes.groupby("piece").size().to_dict() == {"sample_0": 40, "sample_1": 40, "sample_2": 40}
    assert by_notes.groupby(["piece", "part"]).size().max() == 10
    by_time = model.generate(seconds=6.0, n_samples=1, seed=0)
    assert by_time["end"].max() <= 6.0 + 1e-9 and by_time["start"].max() < 6.0
    assert set(by_time["part"]) == set(VOICES)


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
    if loaded.family.continues_primer:  # voices of different primer lengths sample in separate calls
        primer = corpus.piece(corpus.piece_ids[1]).query("start < 2")
        continued = loaded.generate(n_notes=20, n_samples=2, primer=primer, seed=0)
        for voice in loaded.voices:
            given = primer[primer["part"] == voice].sort_values(["start", "pitch"])
            line = continued[(continued["part"] == voice) & (continued["piece"] == "sample_1")]
            assert line["pitch"].iloc[: len(given)].tolist() == given["pitch"].tolist()
    # A notebook's own trained network wraps into the same model without training.
    network = model.fitted.network if kind != "vae" else model.fitted
    vocabulary = model.fitted.vocabulary if kind != "vae" else None
    wrapped = zoo.from_trained(kind, network, corpus, vocabulary=vocabulary, settings=model.settings,
                               training_time_s=12.5, trained_by="notebooks/test.ipynb", smoke=True)
    derived = ("notes_per_window", "active_cells") if kind == "vae" else ("openings", "beats_per_vocabulary_token")
    for key in derived:
        expected = pytest.approx(model.state[key]) if kind == "vae" else model.state[key]
        assert wrapped.state[key] == expected
    assert wrapped.settings == model.settings
    assert wrapped.card["validation"]["bits_per_note"] == pytest.approx(model.card["validation"]["bits_per_note"], rel=1e-5)
    assert wrapped.card["training_time_s"] == 12.5 and wrapped.card["trained_by"] == "notebooks/test.ipynb"
    # The folder keeps settings, learned state and files apart, and a version-1 card of
    # the same folder (state inside settings) loads to the same model.
    card = json.loads((path / "card.json").read_text())
    assert card["version"] == 2 and card["state"] == json.loads(json.dumps(model.state))
    assert "model.keras" in card["fitted"].values()
    _rewrite_as_version_1(path)
    old = zoo.load(path)
    assert old.state == loaded.state and old.settings == loaded.settings
    assert old.generate(seconds=4.0, n_samples=2, seed=1).equals(notes)


def _rewrite_as_version_1(folder):
    """The card as the version-1 code wrote it: learned state inside settings, no
    state or fitted sections, the token networks' beats under ``beats_per_token``."""
    card = json.loads((folder / "card.json").read_text())
    old_names = {"beats_per_sampled_token": "beats_per_token", "beats_per_vocabulary_token": "beats_per_token"}
    settings = dict(card.pop("settings"))
    settings.update({old_names.get(k, k): v for k, v in card.pop("state").items()})
    if settings.get("min_count") == 1:
        settings.pop("min_count")  # not a setting in version 1, which kept every token
    if card["kind"] in ("unigram", "markov"):
        settings["epochs"] = None  # version 1 wrote this placeholder
    card.pop("fitted")
    card.pop("selection", None)
    card["version"] = 1
    card["settings"] = settings
    (folder / "card.json").write_text(json.dumps(card))


@pytest.mark.parametrize("kind", ["markov", "hmm"])
def test_from_trained_wraps_per_voice_models(counting, corpus, kind, tmp_path):
    model = counting[kind]
    wrapped = zoo.from_trained(kind, model.fitted, corpus, settings=model.settings.to_dict(), smoke=True)
    assert wrapped.voices == model.voices and wrapped.settings == model.settings
    assert wrapped.state["beats_per_sampled_token"] == pytest.approx(model.state["beats_per_sampled_token"])
    test = corpus.split("test").notes
    assert wrapped.score(test)["log_likelihood"] == pytest.approx(model.score(test)["log_likelihood"])
    loaded = zoo.load(wrapped.save(tmp_path / kind))
    assert loaded.generate(n_notes=40, n_samples=2, seed=3).equals(model.generate(n_notes=40, n_samples=2, seed=3))
    assert math.isnan(loaded.card["training_time_s"])


def test_from_trained_rejects_what_it_cannot_use(counting, corpus):
    with pytest.raises(ValueError, match="unknown setting"):
        zoo.from_trained("markov", counting["markov"].fitted, corpus, settings={"n_layers": 3})
    with pytest.raises(ValueError, match=r"fitted\['Soprano'\] must be a \(model, vocabulary\) pair"):
        zoo.from_trained("hmm", {"Soprano": counting["hmm"].fitted["Soprano"][0]}, corpus)
    with pytest.raises(ValueError, match="must be a Keras model"):
        zoo.from_trained("lstm", counting["markov"].fitted, corpus)
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


def test_a_newer_card_version_names_the_folder_and_the_fix(counting, tmp_path):
    path = counting["markov"].save(tmp_path / "future")
    card = json.loads((path / "card.json").read_text())
    (path / "card.json").write_text(json.dumps({**card, "version": 99}))
    with pytest.raises(zoo.ModelError, match=r"future.*card version 99 .*upgrade musicalpy"):
        zoo.load(path)


def test_registry_holds_every_kind_once():
    satb = ("satb_counts", "satb_lstm", "satb_wavenet", "satb_transformer", "satb_orderless")
    series = ("unigram", "markov", "hmm", "lstm", "wavenet", "vae", "transformer", "hmm_harmonizer")
    jsb = ("jsb_bernoulli", "jsb_hmm", "jsb_lstm", "jsb_lstm_nade", "jsb_wavenet", "jsb_vae", "jsb_transformer")
    assert zoo.KINDS == series + jsb + satb + ("satb_transformer_jsb",)
    assert zoo.kinds() == series + satb
    assert zoo.kinds("jsb") == jsb
    assert zoo.kinds("jsb16") == ("satb_transformer_jsb",)
    assert zoo.kinds(harmonizes=True) == ("hmm_harmonizer", *satb)
    with pytest.raises(ValueError, match="benchmark must be one of"):
        zoo.kinds("maestro")
    assert [zoo.family(kind).kind for kind in zoo.KINDS] == list(zoo.KINDS)
    assert [kind for kind in zoo.KINDS if zoo.family(kind).continues_primer] == ["unigram", "markov", "lstm", "wavenet",
                                                                                 "transformer"]
    assert [kind for kind in zoo.KINDS if zoo.family(kind).per_voice] == ["unigram", "markov", "hmm"]
    with pytest.raises(ValueError, match="registered already"):
        zoo.register(zoo.family("markov"))


@dataclasses.dataclass(frozen=True)
class _OnePitchSettings(Settings):
    """A kind the zoo and the command have never heard of: every voice repeats its most
    common training pitch, one note per ``beats_per_note``."""

    kind: ClassVar[str] = "one_pitch"
    beats_per_note: float = 1.0
    tempo: float = 120.0
    SMOKE: ClassVar[dict] = {"beats_per_note": 0.5}


class _OnePitchFamily(Family):
    """Scores every held-out note at 1/128, so its bits per note are log2(128) = 7 exactly."""

    kind = "one_pitch"
    settings_class = _OnePitchSettings
    fitted_description = "{voice: pitch}"

    def train(self, corpus, settings, progress):
        notes = corpus.split("train").notes
        return Trained({v: int(notes.loc[notes["part"] == v, "pitch"].mode()[0]) for v in VOICES}, list(VOICES), {})

    def wrap(self, fitted, vocabulary, corpus, settings):
        return Trained(dict(fitted), list(VOICES), {})

    def save(self, model, folder):
        (folder / "pitches.json").write_text(json.dumps(model.fitted))
        return {"pitches": "pitches.json"}

    def load(self, folder, card):
        return json.loads((folder / "pitches.json").read_text())

    def generate(self, model, budget, n_samples, *, temperature, top_k, top_p, primer, seed):
        step = model.settings.beats_per_note
        n = budget.notes_per_voice or math.ceil(budget.beats / step)
        beats = np.arange(n) * step
        return pd.DataFrame([{"piece": f"sample_{k}", "part": v, "pitch": pitch, "start_beat": b, "end_beat": b + step,
                              "start": b * 60 / budget.tempo, "end": (b + step) * 60 / budget.tempo}
                             for k in range(n_samples) for v, pitch in model.fitted.items() for b in beats])

    def score(self, model, notes):
        return -len(notes) * math.log(128), len(notes), "one pitch per note", ""


def test_a_kind_registered_at_run_time_works_through_the_zoo_and_the_command(corpus, tmp_path, monkeypatch, capsys):
    """The zoo and the command tell kinds apart by the registry and the families'
    flags only: a new family needs no line of theirs."""
    import pretty_midi

    from musicalpy import cli

    monkeypatch.setattr(zoo, "_FAMILIES", dict(zoo._FAMILIES))
    monkeypatch.setattr(zoo, "KINDS", zoo.KINDS)
    zoo.register(_OnePitchFamily())
    assert zoo.KINDS[-1] == "one_pitch" and zoo.kinds()[-1] == "one_pitch"
    assert "one_pitch" not in zoo.kinds(harmonizes=True)
    assert zoo.defaults("one_pitch", smoke=True) == _OnePitchSettings(beats_per_note=0.5)
    model = zoo.train("one_pitch", corpus, smoke=True, progress=False)
    train = corpus.split("train").notes
    expected = {v: int(train.loc[train["part"] == v, "pitch"].mode()[0]) for v in VOICES}
    test = corpus.split("test").notes
    assert model.card["validation"]["bits_per_note"] == pytest.approx(7.0)
    assert model.score(test) | {"representation": None, "notes": None} == pytest.approx(
        {"log_likelihood": -len(test) * math.log(128), "n_tokens": len(test), "n_notes": len(test),
         "bits_per_token": 7.0, "bits_per_note": 7.0, "representation": None, "notes": None})
    notes = model.generate(n_notes=8, n_samples=2)
    assert len(notes) == 16 and (notes["pitch"] == notes["part"].map(expected)).all()
    timed = model.generate(beats=3.0)  # six half-beat notes per voice, ending together at the budget
    assert timed.groupby("part")["end_beat"].max().to_dict() == dict.fromkeys(VOICES, 3.0)
    with pytest.raises(ValueError, match="top_k applies to the lstm, wavenet and transformer kinds, not to 'one_pitch'"):
        model.generate(n_notes=8, top_k=3)
    with pytest.raises(ValueError, match="the one_pitch kind cannot continue a primer"):
        model.generate(n_notes=8, primer=test)
    with pytest.raises(zoo.ModelError, match="the one_pitch kind does not harmonize"):
        model.harmonize(test[test["part"] == "Soprano"])
    assert zoo.load(model.save(tmp_path / "saved")).fitted == expected

    out, samples = tmp_path / "one_pitch", tmp_path / "samples"
    assert cli.main(["train", "one_pitch", "--corpus", "bach", "--limit", "6", "--smoke", "--out", str(out)]) == 0
    assert json.loads((out / "card.json").read_text())["kind"] == "one_pitch"
    assert cli.main(["generate", str(out), "--notes", "8", "--out", str(samples), "--no-audio", "--no-score"]) == 0
    midi = pretty_midi.PrettyMIDI(str(samples / "one_pitch_sample_0.mid"))
    assert sorted(n.pitch for i in midi.instruments for n in i.notes) == sorted(2 * list(expected.values()))
    capsys.readouterr()


def test_top_k_is_refused_where_the_family_cannot_use_it(counting):
    with pytest.raises(ValueError, match="top_k applies to the lstm, wavenet and transformer kinds"):
        counting["markov"].generate(n_notes=10, top_k=5)


def test_selection_on_the_test_split_is_refused(counting, corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICALPY_OUTPUT_DIR", str(tmp_path / "outputs"))
    fitted = counting["markov"].fitted
    with pytest.raises(ValueError, match="chosen on the test split"):
        zoo.from_trained("markov", fitted, corpus, selection={"split": "test", "metric": "bits/token"})
    kept = zoo.from_trained("markov", fitted, corpus, smoke=True,
                            selection={"split": "validation", "metric": "bits/token", "candidates": {"a": 4.1, "b": 4.3}})
    assert kept.card["selection"] == {"split": "validation", "metric": "bits/token", "candidates": {"a": 4.1, "b": 4.3}}
    assert zoo.load(zoo.save_for_comparison(kept, smoke=True)).card["selection"]["split"] == "validation"
    kept.card["selection"] = {"split": "test", "metric": "bits/token"}  # a card edited by hand
    with pytest.raises(ValueError, match="chosen on the test split"):
        zoo.save_for_comparison(kept, smoke=True)
    for model in counting.values():  # zoo.train keeps its one candidate, checked on validation
        assert model.card["selection"]["split"] == "validation"


def test_load_for_comparison_checks_the_splits(counting, corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICALPY_OUTPUT_DIR", str(tmp_path / "outputs"))
    monkeypatch.setenv("MUSICALPY_MODELS_DIR", str(tmp_path / "models"))
    model, reason = zoo.load_for_comparison("markov", corpus, smoke=True)
    assert model is None and "no saved model" in reason
    zoo.save_for_comparison(counting["markov"], smoke=True)
    model, reason = zoo.load_for_comparison("markov", corpus, smoke=True)
    assert model.kind == "markov" and reason == f"loaded from {tmp_path / 'outputs' / 'models' / 'markov'}"
    other = zoo.training_corpus("bach", limit=8)
    model, reason = zoo.load_for_comparison("markov", other, smoke=True)
    assert model is None and "other pieces or splits" in reason
    zoo.save_for_comparison(counting["markov"], smoke=False)  # a smoke card in models/
    model, reason = zoo.load_for_comparison("markov", corpus, smoke=False)
    assert model is None and "smoke settings" in reason


def _notebook_cells(name):
    notebook = json.loads((Path(__file__).parent.parent / "notebooks" / f"{name}.ipynb").read_text())
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def _parameters(name, smoke, monkeypatch):
    """Run a notebook's parameters cell as the notebook does, in smoke or full mode."""
    import musicalpy

    monkeypatch.setenv("MUSICALPY_SMOKE", "1" if smoke else "0")
    (cell,) = [c for c in _notebook_cells(name) if "parameters" in c.get("metadata", {}).get("tags", [])]
    namespace = {"musicalpy": musicalpy, "zoo": zoo}
    exec("".join(cell["source"]), namespace)
    assert namespace["SMOKE"] is smoke
    return namespace


def nb06_token_lstm(smoke, monkeypatch):
    return _parameters("06_transformer", smoke, monkeypatch)["TOKEN_LSTM"]


def test_builders_default_to_the_family_settings():
    """A builder called without sizes builds the family's full-size model (one source of
    settings): the same layers and parameter count as the settings' own build."""
    from musicalpy.families.token import build_network
    from musicalpy.models import lstm, vae, wavenet

    for kind, builder in (("lstm", lstm.build_token_lstm), ("wavenet", wavenet.build_wavenet)):
        settings = zoo.defaults(kind, smoke=False)
        from_builder, from_settings = builder(50), build_network(settings, 50)
        assert from_builder.count_params() == from_settings.count_params()
        assert [layer.name for layer in from_builder.layers] == [layer.name for layer in from_settings.layers]
    lstm_units = [layer.units for layer in lstm.build_token_lstm(50).layers if hasattr(layer, "units")]
    assert lstm_units[:len(zoo.defaults("lstm", smoke=False).units)] == list(zoo.defaults("lstm", smoke=False).units)
    settings = zoo.defaults("vae", smoke=False)
    default = vae.build_conv_vae()
    explicit = vae.build_conv_vae((settings.n_pitches, settings.window_steps), latent_dim=settings.latent_dim,
                                  filters=settings.filters, dense_units=settings.dense_units, free_bits=settings.free_bits)
    for part in ("encoder", "decoder"):
        assert getattr(default, part).count_params() == getattr(explicit, part).count_params()
    assert default.encoder.input_shape[1:3] == (settings.n_pitches, settings.window_steps)


@pytest.mark.parametrize("smoke", [True, False])
def test_notebooks_take_their_model_settings_from_the_families(smoke, monkeypatch):
    nb03 = _parameters("03_lstm", smoke, monkeypatch)
    assert nb03["TOKEN_LSTM"] == zoo.defaults("lstm", smoke=smoke)
    # The width/depth candidates change only the documented architecture fields.
    assert all(set(config) == {"embedding_dim", "units"} for config in nb03["TOKEN_CONFIGS"])
    # The kind's default network is measured on the same budget in the series: notebook 06
    # trains it next to the Transformers, so notebook 03 compares other widths only.
    assert nb06_token_lstm(smoke, monkeypatch) == zoo.defaults("lstm", smoke=smoke)

    nb04 = _parameters("04_wavenet", smoke, monkeypatch)
    wavenet = zoo.defaults("wavenet", smoke=smoke)
    assert nb04["WAVENET"] == wavenet
    assert (nb04["SEQ_LENGTH"], nb04["MIN_COUNT"], nb04["EPOCHS"], nb04["STEPS_PER_EPOCH"]) == (
        wavenet.seq_length, wavenet.min_count, wavenet.epochs, wavenet.steps_per_epoch)
    assert nb04["WAVENETS"]["WaveNet M"][0] == wavenet.channels
    lstm = zoo.defaults("lstm", smoke=smoke)
    changed = {k for k, v in nb04["TOKEN_LSTM"].to_dict().items() if v != lstm.to_dict()[k]}
    assert changed <= {"embedding_dim", "units"}

    nb05 = _parameters("05_vae", smoke, monkeypatch)
    vae = zoo.defaults("vae", smoke=smoke)
    assert nb05["VAE"] == vae
    assert (nb05["EPOCHS"], nb05["LATENT_DIM"], nb05["TEMPO"], nb05["WINDOW_STEPS"]) == (
        vae.epochs, vae.latent_dim, vae.tempo, vae.window_steps)


def _code_trees(name: str) -> list[ast.Module]:
    """Each code cell of a notebook, parsed (IPython's ``%`` lines made Python first)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return [ast.parse(TransformerManager().transform_cell("".join(cell["source"]))) for cell in _notebook_cells(name)]


def _calls(tree: ast.AST, function: str) -> list[ast.Call]:
    """The calls of ``function``, by its name or as an attribute (``lb.function(...)``)."""
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and function in (getattr(node.func, "id", None), getattr(node.func, "attr", None))]


@pytest.mark.parametrize(("name", "kept_models"), [("03_lstm", 1), ("04_wavenet", 1), ("05_vae", 1),
                                                  ("06_transformer", 1)])
def test_notebooks_hand_zoo_their_settings_and_a_validation_choice(name, kept_models):
    tree = ast.Module(body=[node for cell in _code_trees(name) for node in cell.body], type_ignores=[])
    choosing = {id(call) for call in _calls(tree, "choose_on_validation")}
    choices = {target.id for node in ast.walk(tree) if isinstance(node, ast.Assign) and id(node.value) in choosing
               for target in node.targets if isinstance(target, ast.Name)}
    calls = _calls(tree, "from_trained")
    assert len(calls) == kept_models
    for call in calls:
        keywords = {keyword.arg: keyword.value for keyword in call.keywords}
        assert "settings" in keywords and not isinstance(keywords["settings"], ast.Dict)  # not a retyped dict
        # the kept model's selection is a Selection choose_on_validation returned, which the card records
        assert isinstance(keywords.get("selection"), ast.Name) and keywords["selection"].id in choices, (
            ast.unparse(call))


@pytest.mark.parametrize("name", ["02_hmm_baum_welch", "03_lstm", "04_wavenet", "05_vae", "06_transformer",
                                  "07_model_comparison"])
def test_notebooks_choose_models_only_through_choose_on_validation(name):
    """A notebook that keeps or ranks models does so through the one helper, so no
    renamed column can bring back a choice made on test scores."""
    trees = _code_trees(name)
    assert any(_calls(tree, "choose_on_validation") for tree in trees)
    # the lowest score of a column is chosen by the helper, never by hand
    assert [ast.unparse(call) for tree in trees for call in _calls(tree, "idxmin")] == []


def test_the_comparison_notebook_reuses_models_through_load_for_comparison():
    trees = _code_trees("07_model_comparison")
    loads = [call for tree in trees for call in _calls(tree, "load_for_comparison")]
    assert [[ast.unparse(arg) for arg in call.args] for call in loads] == [["kind", "corpus"]]
    # Only the shipped models, which load_for_comparison does not read, are checked against
    # the corpus's split in the notebook itself.
    checking = [tree for tree in trees if _calls(tree, "split_digest")]
    assert checking
    for tree in checking:
        assert [ast.unparse(call) for call in _calls(tree, "load") if "pretrained" in ast.unparse(call.func)] == [
            "pretrained.load(kind)"]


def test_decode_lines_gives_the_notes_of_decoding_each_line(corpus):
    from musicalpy.families.token import decode_lines
    from musicalpy.midi import as_note_table
    from musicalpy.representations import decode_token_ids, token_sequences

    _, vocabulary = token_sequences(corpus.split("train").notes, "note_strings")
    rng = np.random.default_rng(0)
    lines = [rng.integers(0, len(vocabulary), size=n) for n in (40, 1, 25, 60)]
    lines[2][10] = vocabulary.end_id  # a line that ends early: what follows END is not music
    lines[1][0] = vocabulary.start_id  # a line with no note at all
    parts, pieces = ["Soprano", "Soprano", "Alto", "Bass"], ["sample_0", "sample_1", "sample_0", "sample_0"]
    batched = decode_lines(lines, vocabulary, parts=parts, pieces=pieces, tempo=100.0)
    one_by_one = pd.concat([decode_token_ids(line, vocabulary, "note_strings", piece=piece, part=part, tempo=100.0)
                            for line, part, piece in zip(lines, parts, pieces, strict=True)], ignore_index=True)
    assert len(batched) == len(one_by_one) > 0
    assert as_note_table(batched).equals(as_note_table(one_by_one))


def test_trim_cuts_every_line_of_a_batch_on_its_own(counting):
    from musicalpy.families.base import Budget

    notes = counting["markov"].generate(n_notes=80, n_samples=3, seed=5)
    budget = Budget(n_notes=20, seconds=None, n_voices=4, tempo=120.0)
    together = budget.trim(notes)
    assert together.groupby(["piece", "part"]).size().max() == 5
    alone = pd.concat([budget.trim(line) for _, line in notes.groupby(["part", "piece"], sort=False)])
    assert together.reset_index(drop=True).equals(alone.reset_index(drop=True))
    timed = Budget(n_notes=None, seconds=3.0, n_voices=4, tempo=120.0).trim(notes)
    assert timed["end"].max() <= 3.0 + 1e-9 and timed["start"].max() < 3.0


def test_representation_fingerprint_tells_duration_classes_apart(counting, corpus, tmp_path):
    from musicalpy.leaderboard import bits_comparison

    markov, unigram = counting["markov"], counting["unigram"]
    assert markov.representation == unigram.representation  # same encoding, options and vocabularies
    assert len(markov.representation["fingerprint"]) == 12
    assert "duration classes 0.25,0.5,0.75,1,1.5,2,3,4,8,16,32" in markov.representation["description"]
    # Notebook 02's kept HMM has no dotted classes: 9 classes, so other tokens.
    nine = zoo.train("hmm", corpus, smoke=True, progress=False,
                     settings={"duration_classes": (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)})
    assert nine.representation["fingerprint"] != markov.representation["fingerprint"]
    assert nine.card["representation"] == nine.representation  # on the card ...
    assert zoo.load(nine.save(tmp_path / "nine")).card["representation"] == nine.representation  # ... and kept
    test = corpus.split("test").notes
    rows = []
    for model in (markov, unigram, nine):
        score = model.score(test)
        rows.append({"model": model.kind if model is not nine else "hmm-9", "representation": score["representation"],
                     "representation_fingerprint": model.representation["fingerprint"],
                     "bits_per_token": score["bits_per_token"], "bits_per_note": score["bits_per_note"]})
    lines = bits_comparison(pd.DataFrame(rows))
    assert lines[0].startswith("On identical tokens") and "markov" in lines[0] and "unigram" in lines[0]
    assert "hmm-9" not in lines[0] and "hmm-9" in lines[1] and lines[-1].startswith("Every model in bits per note")


def test_a_time_budget_ends_every_voice_together(counting):
    for kind in ("markov", "hmm"):
        notes = counting[kind].generate(beats=12.0, n_samples=3, seed=3)
        ends = notes.groupby(["piece", "part"])["end_beat"].max().unstack()
        assert ends.shape == (3, 4)
        np.testing.assert_allclose(ends.to_numpy(), 12.0)  # the budget, in every voice
    with pytest.raises(ValueError, match="exactly one of n_notes, seconds and beats"):
        counting["markov"].generate(beats=4.0, n_notes=10)


def test_trim_cuts_a_sample_at_its_shortest_voice(counting):
    from musicalpy.families.base import Budget

    notes = counting["markov"].generate(seconds=8.0, n_samples=2, seed=4)
    # The soprano of sample_0 stops early (as a token model's END would make it).
    early = (notes["piece"] == "sample_0") & (notes["part"] == "Soprano") & (notes["start"] >= 3.0)
    cut = Budget(None, 8.0, 4, 120.0).trim(notes[~early])
    first = cut[cut["piece"] == "sample_0"].groupby("part")["end"].max()
    soprano_end = notes[(notes["piece"] == "sample_0") & (notes["part"] == "Soprano") & ~early]["end"].max()
    np.testing.assert_allclose(first.to_numpy(), soprano_end)  # every voice ends with the soprano
    np.testing.assert_allclose(cut[cut["piece"] == "sample_1"].groupby("part")["end"].max().to_numpy(), 8.0)


def test_evaluate_matches_test_piece_lengths_and_reports_a_seed_spread(counting, corpus):
    reference = corpus.split("train").notes
    reference = reference[reference["piece"].isin(corpus.split("train").piece_ids[:3])]
    lengths = np.sort(reference.groupby("piece")["end_beat"].max().to_numpy())
    row, comparison, samples = zoo.evaluate(counting["markov"], reference, n_samples=3, n_seeds=3, seed=2)
    ends = samples.groupby(["piece", "part"])["end_beat"].max().unstack()
    np.testing.assert_allclose(ends.max(axis=1).to_numpy(), lengths)  # sample k as long as the k-th piece
    np.testing.assert_allclose(ends.to_numpy(), np.repeat(lengths[:, None], 4, axis=1))  # voices end together
    assert (comparison["n_seeds"] == 3).all() and comparison["oa_sd"].notna().any()
    assert row["representation_fingerprint"] == counting["markov"].representation["fingerprint"]
    assert row["budget"] == "the beats of a test piece"
    again, _, _ = zoo.evaluate(counting["markov"], reference, n_samples=3, n_seeds=3, seed=2)
    assert again["n_generated_notes"] == row["n_generated_notes"]  # seeded


def test_evaluate_marks_voice_features_not_applicable_for_one_part_output(counting, corpus, monkeypatch):
    from musicalpy.metrics import VOICE_FEATURES

    model = counting["markov"]
    reference = corpus.split("train").notes
    reference = reference[reference["piece"].isin(corpus.split("train").piece_ids[:3])]
    real = model.generate
    # Every voice written into one part, as the VAE's piano roll does.
    monkeypatch.setattr(model, "generate", lambda **options: real(**options).assign(part="piano"))
    _, comparison, samples = zoo.evaluate(model, reference, n_samples=3, n_seeds=2, seed=1)
    assert set(samples["part"]) == {"piano"}
    for feature in VOICE_FEATURES:
        assert math.isnan(comparison.loc[feature, "oa"]), feature
        assert comparison.loc[feature, "flag"].startswith("not applicable")
    for feature in ("polyphony", "mean_ioi", "pitch_class_histogram"):  # texture features are still scored
        assert np.isfinite(comparison.loc[feature, "oa"]) and not comparison.loc[feature, "flag"].startswith("not")


def test_a_counting_model_whose_card_lost_its_state_says_so_on_generate(tmp_path):
    model = zoo.train("markov", smoke=True, progress=False)
    model.state = {}
    with pytest.raises(zoo.ModelError, match="beats_per_sampled_token"):
        model.generate(n_notes=8)
