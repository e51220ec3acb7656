"""The musicalpy command, driven as a user would (subprocess)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest


def _run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "musicalpy.cli", *args], capture_output=True,
                          text=True, timeout=300, **kwargs)


def _doctor_rows(stdout: str) -> dict[str, tuple[str, str]]:
    """``musicalpy doctor``'s rows as item -> (status, fix); fix is "" when none is printed."""
    import re

    rows: dict[str, list[str]] = {}
    item = None
    for line in stdout.splitlines():
        if not line.strip() or line.strip().endswith(("to fix", "everything found")):
            continue
        if line.startswith(" ") and line.strip().startswith("fix:"):
            assert item is not None and rows[item][1] == "", f"a fix line without its row: {line}"
            rows[item][1] = line.strip()[len("fix:"):].strip()
            continue
        item, status = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        rows[item] = [status, ""]
    return {k: (v[0], v[1]) for k, v in rows.items()}


def test_doctor_reports_audio_score_and_corpora(monkeypatch):
    import os

    from musicalpy.render import audio_backend

    # CI=true as on the CI machine: pyfluidsynth then prints where it found the library.
    env = {**{k: v for k, v in os.environ.items() if k != "MUSICALPY_SOUNDFONT"}, "CI": "true"}
    result = _run("doctor", env=env)
    assert result.returncode == 0, result.stderr
    assert "was found at" not in result.stdout
    rows = _doctor_rows(result.stdout)
    for item in ("python", "tensorflow", "keras", "music21", "pretty_midi", "hmmlearn", "verovio",
                 "synthesis", "soundfont", "sheet music", "corpus bach", "corpus essen", "corpus composers"):
        assert item in rows, item
    # The synthesis row is what render will use here, and only a missing FluidSynth gets a fix.
    monkeypatch.delenv("MUSICALPY_SOUNDFONT", raising=False)
    backend = audio_backend()["backend"]
    status, fix = rows["synthesis"]
    assert status == backend
    assert (fix == "") == (backend == "fluidsynth")
    if fix:
        assert "libfluidsynth" in fix
    assert rows["python"][0].count(".") == 2 and rows["python"][1] == ""


def test_doctor_names_the_fix_for_a_missing_soundfont(tmp_path, monkeypatch, capsys):
    # In this process, not a subprocess: the test above already drives `doctor` as a
    # user would, and each extra subprocess pays TensorFlow's import again (~10 s).
    from musicalpy.cli import main

    missing = tmp_path / "missing.sf2"
    monkeypatch.setenv("MUSICALPY_SOUNDFONT", str(missing))
    assert main(["doctor"]) == 0
    status, fix = _doctor_rows(capsys.readouterr().out)["soundfont"]
    assert status == f"none: MUSICALPY_SOUNDFONT={str(missing)!r}: no such soundfont file"
    assert fix == "point MUSICALPY_SOUNDFONT at an existing .sf2 file, or unset it to use the system soundfont"
    # The same file, once it exists, is used as chosen, with nothing to fix.
    missing.write_bytes(b"RIFF")
    assert main(["doctor"]) == 0
    chosen = _doctor_rows(capsys.readouterr().out)
    assert chosen["soundfont"] == (f"{missing} (MUSICALPY_SOUNDFONT)", "")


@pytest.mark.parametrize(
    "args, code, message",
    [
        (("frobnicate",), 2, "invalid choice"),
        (("corpus", "describe"), 2, "needs a corpus name or path"),
        (("corpus", "describe", "/no/such/folder"), 1, "no such corpus name or path"),
    ],
)
def test_errors_are_one_line_with_exit_codes(args, code, message):
    result = _run(*args)
    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_corpus_describe_maestro_fixture(data_dir, tmp_path):
    env = {**__import__("os").environ, "MUSICALPY_CACHE_DIR": str(tmp_path)}
    result = _run("corpus", "describe", str(data_dir / "maestro-v3.0.0"), env=env)
    assert result.returncode == 0, result.stderr
    assert "3 pieces, 48 notes" in result.stdout


# ------------------------------------------------------------------ the model commands


@pytest.fixture
def env(tmp_path):
    """Outputs and models in a temporary folder, never in the checkout."""
    import os

    return {**os.environ, "MUSICALPY_OUTPUT_DIR": str(tmp_path / "outputs"),
            "MUSICALPY_MODELS_DIR": str(tmp_path / "models"), "TF_CPP_MIN_LOG_LEVEL": "3"}


@pytest.fixture(scope="module")
def markov_dir(tmp_path_factory):
    import os

    folder = tmp_path_factory.mktemp("zoo") / "markov"
    result = _run("train", "markov", "--corpus", "bach", "--limit", "6", "--out", str(folder),
                  env={**os.environ, "MUSICALPY_OUTPUT_DIR": str(folder.parent / "outputs")})
    assert result.returncode == 0, result.stderr
    assert "validation bits per note" in result.stdout
    return folder


def test_train_writes_a_card_and_refuses_to_overwrite(markov_dir, env):
    import json

    card = json.loads((markov_dir / "card.json").read_text())
    assert card["kind"] == "markov" and card["data"]["corpus"] == "bach" and card["data"]["limit"] == 6
    assert card["data"]["pieces"] == {"train": 4, "validation": 1, "test": 1}
    # The card's validation score is the saved model's, on the validation chorale's notes.
    from musicalpy import zoo

    validation = zoo.training_corpus("bach", limit=6).split("validation").notes
    score = zoo.load(markov_dir).score(validation)
    assert card["validation"]["n_notes"] == score["n_notes"] == len(validation)
    assert card["validation"]["bits_per_note"] == pytest.approx(score["bits_per_note"], rel=1e-12)
    again = _run("train", "markov", "--corpus", "bach", "--limit", "6", "--out", str(markov_dir), env=env)
    assert again.returncode == 1 and "exists; pass --force" in again.stderr
    assert json.loads((markov_dir / "card.json").read_text())["created"] == card["created"]


def test_train_default_folder_and_force(env, tmp_path):
    first = _run("train", "unigram", "--corpus", "bach", "--limit", "6", env=env)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "models" / "unigram" / "card.json").exists()
    forced = _run("train", "unigram", "--corpus", "bach", "--limit", "6", "--force", env=env)
    assert forced.returncode == 0, forced.stderr


def test_generate_writes_midi_audio_and_score(markov_dir, env, tmp_path):
    import pretty_midi

    out = tmp_path / "samples"
    result = _run("generate", str(markov_dir), "--notes", "24", "--n-samples", "2", "--seed", "1", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"markov_sample_{k}{ext}" for k in (0, 1) for ext in (".mid", ".ogg", ".svg")]
    midi = pretty_midi.PrettyMIDI(str(out / "markov_sample_0.mid"))
    assert sum(len(i.notes) for i in midi.instruments) == 24
    assert (out / "markov_sample_0.svg").read_text().lstrip().startswith("<")
    assert (out / "markov_sample_0.ogg").read_bytes()[:4] == b"OggS"  # compressed audio by default
    again = _run("generate", str(markov_dir), "--notes", "24", "--out", str(out), env=env)
    assert again.returncode == 1 and "--force" in again.stderr


def test_generate_seconds_and_primer(markov_dir, env, tmp_path):
    import pretty_midi

    out = tmp_path / "timed"
    result = _run("generate", str(markov_dir), "--seconds", "5", "--out", str(out), "--no-audio", "--no-score", env=env)
    assert result.returncode == 0, result.stderr
    midi = pretty_midi.PrettyMIDI(str(out / "markov_sample_0.mid"))
    assert 0 < midi.get_end_time() <= 5.0 + 1e-3
    primed = _run("generate", str(markov_dir), "--notes", "8", "--primer", str(out / "markov_sample_0.mid"),
                  "--out", str(tmp_path / "primed"), "--no-audio", "--no-score", env=env)
    assert primed.returncode == 0, primed.stderr


def test_render_and_analyze_a_known_chorale(env, tmp_path):
    from music21 import corpus

    from musicalpy.midi import from_music21, write_midi

    path = write_midi(from_music21(corpus.parse("bach/bwv66.6"), piece="bwv66.6"), tmp_path / "bwv66.6.mid")
    result = _run("analyze", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert "key (krumhansl): F# minor" in result.stdout
    assert "windows of 4 bar(s)" in result.stdout and "pitch_class_entropy" in result.stdout
    rendered = _run("render", str(path), "--pianoroll", "--wav", env=env)
    assert rendered.returncode == 0, rendered.stderr
    assert (tmp_path / "bwv66.6_pianoroll.png").stat().st_size > 1000
    # 36 quarter notes at 96 per minute (22.5 s) and the synthesizer's one-second release tail:
    # 23.5 s of 16-bit mono PCM at 22,050 Hz after a 44-byte header.
    assert (tmp_path / "bwv66.6.wav").stat().st_size == 44 + 2 * round(23.5 * 22050)
    assert not (tmp_path / "bwv66.6.svg").exists()


def test_evaluate_writes_where_it_is_asked_and_keeps_other_runs(markov_dir, env, tmp_path):
    import pandas as pd

    # The notebooks' leaderboard (MUSICALPY_LEADERBOARD, else outputs/) is not the CLI's.
    notebooks_board = tmp_path / "outputs" / "leaderboard.csv"
    env = {**env, "MUSICALPY_LEADERBOARD": str(notebooks_board)}
    work = tmp_path / "elsewhere"
    work.mkdir()
    pd.DataFrame([{"model": "lstm", "representation": "token", "split": "test", "bits_per_note": 2.5}]).to_csv(
        work / "leaderboard.csv", index=False)
    evaluate = ("evaluate", str(markov_dir), "--corpus", "bach", "--limit", "12", "--notes", "40")
    result = _run(*evaluate, "--n-samples", "3", env=env, cwd=work)
    assert result.returncode == 0, result.stderr
    board = work / "leaderboard.csv"
    assert f"leaderboard saved: {board} (1 row(s) written; 1 other row(s) kept as they were)" in result.stdout
    assert not notebooks_board.exists()
    frame = pd.read_csv(board).set_index("model")
    row = frame.loc["markov"]
    assert row["split"] == "test" and row["n_samples"] == 3
    # The row's bits are the model's on the test split of the 12 chorales evaluated.
    from musicalpy import zoo

    test = zoo.training_corpus("bach", limit=12).split("test").notes
    assert row["bits_per_note"] == pytest.approx(zoo.load(markov_dir).score(test)["bits_per_note"], rel=1e-9)
    assert row["generation_notes_per_s"] > 0
    assert "oa_pitch_range" in frame.columns
    assert frame.loc["lstm", "bits_per_note"] == 2.5  # another model's row, untouched
    # The Bach-or-model test ran on all three seeds' samples (one fold each), printed the
    # sentence of the row it wrote, and every accuracy lies inside its own interval.
    from musicalpy.leaderboard import told_apart_sentence

    assert f"  {told_apart_sentence(row.to_dict(), label='markov')}\n" in result.stdout
    assert "markov is told from Bach " in result.stdout
    for classifier in ("features", "windows"):
        low, accuracy, high = (row[f"told_apart_{classifier}{end}"] for end in ("_low", "", "_high"))
        assert 0 <= low <= accuracy <= high <= 1
    # Forty notes in four voices are shorter than one four-bar window: nothing to search.
    assert np.isnan(row["copied_windows"]) and "copied from a training chorale" not in result.stdout

    # A second run into the same file is refused before any work, and the file is unchanged.
    again = _run(*evaluate, "--n-samples", "2", "--no-bach-or-model", env=env, cwd=work)
    assert again.returncode == 1
    assert f"{board} already holds test rows of markov from an earlier run; pass --force" in again.stderr
    assert pd.read_csv(board).set_index("model").loc["markov", "n_samples"] == 3

    forced = _run(*evaluate, "--n-samples", "2", "--no-bach-or-model", "--force", env=env, cwd=work)
    assert forced.returncode == 0, forced.stderr
    assert "replaced the earlier rows of markov" in forced.stdout
    assert "told from Bach" not in forced.stdout  # --no-bach-or-model
    frame = pd.read_csv(board).set_index("model")
    assert frame.loc["markov", "n_samples"] == 2 and frame.loc["lstm", "bits_per_note"] == 2.5

    out = tmp_path / "results"
    chosen = _run(*evaluate, "--n-samples", "2", "--no-bach-or-model", "--out", str(out), env=env, cwd=work)
    assert chosen.returncode == 0, chosen.stderr
    assert f"leaderboard saved: {out / 'leaderboard.csv'} (1 row(s) written; 0 other row(s)" in chosen.stdout
    assert list(pd.read_csv(out / "leaderboard.csv")["model"]) == ["markov"]
    assert not notebooks_board.exists()


def test_corpus_export_midi(data_dir, env, tmp_path):
    out = tmp_path / "midi"
    env = {**env, "MUSICALPY_CACHE_DIR": str(tmp_path / "cache")}
    result = _run("corpus", "export", str(data_dir / "maestro-v3.0.0"), "--format", "midi", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert len(list(out.glob("*.mid"))) == 3
    again = _run("corpus", "export", str(data_dir / "maestro-v3.0.0"), "--out", str(out), env=env)
    assert again.returncode == 1 and "--force" in again.stderr


@pytest.mark.parametrize("command", ["train", "generate", "render", "analyze", "evaluate", "corpus"])
def test_every_command_has_help_with_examples(command):
    result = _run(command, "--help")
    assert result.returncode == 0
    assert "examples:" in result.stdout and f"musicalpy {command}" in result.stdout


@pytest.mark.parametrize(
    "args, code, message",
    [
        (("train", "gan"), 2, "invalid choice"),
        (("train", "hmm", "--epochs", "0"), 2, "--epochs: the value must be an integer >= 1, got 0"),
        (("train", "markov", "--epochs", "3", "--limit", "6", "--out", "{tmp}/m"), 1, "has no epochs"),
        (("train", "markov", "--corpus", "/no/such/corpus"), 1, "no such corpus name or path"),
        (("generate", "{tmp}", "--out", "{tmp}/x"), 2, "exactly one of --notes N and --seconds S"),
        (("generate", "{tmp}/nothing", "--notes", "5", "--out", "{tmp}/x"), 1, "no such model folder"),
        (("generate", "{tmp}", "--notes", "5", "--out", "{tmp}/x"), 1, "not a model folder"),
        (("generate", "{tmp}/bad", "--notes", "5", "--out", "{tmp}/x"), 1, "unreadable"),
        (("render", "{tmp}/missing.mid"), 1, "missing.mid"),
        (("analyze", "{tmp}/bad/card.json"), 1, "card.json"),
        (("evaluate", "{tmp}/nothing"), 1, "no such model folder"),
        (("evaluate", "{tmp}/m", "--out", "{tmp}", "--leaderboard", "{tmp}/b.csv"), 2,
         "give --out DIR or --leaderboard FILE, not both"),
        (("corpus", "export", "bach"), 2, "needs --out DIR"),
    ],
)
def test_model_command_errors_are_one_line(args, code, message, tmp_path, env):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "card.json").write_text("{not json")
    result = _run(*(a.replace("{tmp}", str(tmp_path)) for a in args), env=env)
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("musicalpy:")]) == 1


# ------------------------------------------------------------------ harmonize


@pytest.fixture(scope="module")
def harmonizer_dir(tmp_path_factory):
    import os

    folder = tmp_path_factory.mktemp("zoo") / "hmm_harmonizer"
    result = _run("train", "hmm_harmonizer", "--corpus", "bach", "--limit", "24", "--smoke", "--out", str(folder),
                  env={**os.environ, "MUSICALPY_OUTPUT_DIR": str(folder.parent / "outputs")})
    assert result.returncode == 0, result.stderr
    return folder


def test_harmonize_writes_midi_audio_and_score(harmonizer_dir, env, tmp_path):
    from musicalpy.midi import read_midi

    out = tmp_path / "harmonized"
    result = _run("harmonize", "essenFolksong/altdeu10", "--model", str(harmonizer_dir), "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    stem = out / "altdeu10-1_hmm_harmonizer"
    for suffix in (".mid", ".ogg", ".svg"):
        path = stem.with_suffix(suffix)
        assert path.stat().st_size > 1000, path
        assert str(path) in result.stdout
    assert "most likely harmonization by hmm_harmonizer" in result.stdout
    notes = read_midi(stem.with_suffix(".mid"))
    assert sorted(notes["part"].unique()) == ["Alto", "Bass", "Soprano", "Tenor"]
    # The tune's own first notes (G, B-flat, B of "Das Hildebrandslied") stay the soprano's.
    assert notes[notes["part"] == "Soprano"].sort_values("start")["pitch"].tolist()[:3] == [67, 70, 71]
    again = _run("harmonize", "essenFolksong/altdeu10", "--model", str(harmonizer_dir), "--out", str(out), env=env)
    assert again.returncode == 1 and "exists" in again.stderr and "--force" in again.stderr
    sampled = _run("harmonize", "essenFolksong/altdeu10", "--model", str(harmonizer_dir), "--out", str(out),
                   "--sample", "--seed", "2", env=env)
    assert sampled.returncode == 0, sampled.stderr
    assert "sampled (seed 2, temperature 1)" in sampled.stdout
    assert stem.with_name(stem.name + "_sampled.mid").exists()


def test_harmonize_says_when_it_moves_the_melody(harmonizer_dir, env, tmp_path):
    import pandas as pd

    from musicalpy.midi import write_midi

    high = pd.DataFrame({"pitch": [96, 98, 100, 98], "start": [0.0, 0.5, 1.0, 1.5], "end": [0.5, 1.0, 1.5, 2.0]})
    write_midi(high, tmp_path / "high.mid")
    result = _run("harmonize", str(tmp_path / "high.mid"), "--model", str(harmonizer_dir), "--out",
                  str(tmp_path / "o"), env=env)
    assert result.returncode == 0, result.stderr
    assert "high: moved -24 semitones into the soprano's range" in result.stdout
    # Several melodies in one call: each written under its own name, each moved on its own.
    write_midi(high.assign(pitch=high["pitch"] - 24), tmp_path / "plain.mid")
    both = _run("harmonize", str(tmp_path / "high.mid"), str(tmp_path / "plain.mid"), "--model", str(harmonizer_dir),
                "--out", str(tmp_path / "two"), env=env)
    assert both.returncode == 0, both.stderr
    assert both.stdout.count("semitones into the soprano's range") == 1
    assert sorted(p.name for p in (tmp_path / "two").glob("*.mid")) == ["high_hmm_harmonizer.mid",
                                                                        "plain_hmm_harmonizer.mid"]
    twice = _run("harmonize", str(tmp_path / "high.mid"), str(tmp_path / "high.mid"), "--model", str(harmonizer_dir),
                 "--out", str(tmp_path / "three"), env=env)
    assert twice.returncode == 1 and "same name" in twice.stderr and not (tmp_path / "three").exists()


@pytest.mark.parametrize(("melody", "message"), [
    ("{tmp}/missing.mid", "missing.mid: no such melody file"),
    ("no such tune at all", "neither a melody file"),
])
def test_harmonize_bad_melodies_get_one_line(harmonizer_dir, env, tmp_path, melody, message):
    result = _run("harmonize", melody.format(tmp=tmp_path), "--model", str(harmonizer_dir), "--out", str(tmp_path),
                  env=env)
    assert result.returncode == 1
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_harmonize_ranks_n_harmonizations_of_a_typed_melody(env, tmp_path):
    from musicalpy import pretrained

    if "satb_counts" not in pretrained.names():
        pytest.skip("the shipped satb_counts model is not here")
    tune = "tinyNotation: 4/4 e4 e f g g f e d c c d e e4. d8 d2"
    result = _run("harmonize", tune, "--model", "satb_counts", "--n", "2", "--out", str(tmp_path), env=env)
    assert result.returncode == 0, result.stderr
    assert "melody: C major (no sharps or flats), 4/4, 2 cadence(s) at its phrase ends (inferred" in result.stdout
    assert "ranked by the model's exact log P(alto, tenor, bass | soprano, fermatas)" in result.stdout
    table = result.stdout.split("fermatas), every sixteenth of the three voices priced:\n")[1].splitlines()
    assert table[0].split() == ["rank", "file", "draw", "log2_p", "bits_per_atb_note"]
    assert table[1].split()[:2] == ["1", "melody_satb_counts_rank1"]
    assert table[2].split()[:2] == ["2", "melody_satb_counts_rank2"]
    for rank in (1, 2):
        for suffix in ("mid", "musicxml", "ogg", "svg"):
            assert (tmp_path / f"melody_satb_counts_rank{rank}.{suffix}").stat().st_size > 500


def test_harmonize_refuses_a_kind_that_cannot(markov_dir, env, tmp_path):
    result = _run("harmonize", "essenFolksong/altdeu10", "--model", str(markov_dir), "--out", str(tmp_path), env=env)
    assert result.returncode == 1
    assert "the markov kind does not harmonize a melody" in result.stderr
