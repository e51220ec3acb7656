"""The notebooks' setup helper: Colab detection and install commands, seeds, versions,
where figures and music are written, and that every notebook calls it the same way."""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from musicalpy import notebook

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.fixture
def folders(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICALPY_IMAGES_DIR", str(tmp_path / "images"))
    monkeypatch.setenv("MUSICALPY_OUTPUT_DIR", str(tmp_path / "out"))
    return tmp_path


@pytest.fixture
def fake_colab(monkeypatch):
    google = types.ModuleType("google")
    colab = types.ModuleType("google.colab")
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)


def test_not_colab_here_installs_nothing(folders):
    assert notebook.in_colab() is False
    calls = []
    nb = notebook.setup("02_hmm_baum_welch", extras=("hmm",), seed=1, run=calls.append, verbose=False)
    assert calls == []
    assert nb.is_colab is False


def test_colab_runs_apt_then_pip_with_the_notebooks_extras(folders, fake_colab, monkeypatch):
    monkeypatch.delenv(notebook.INSTALL_SOURCE_ENV, raising=False)
    calls = []
    nb = notebook.setup("02_hmm_baum_welch", extras=("hmm", "audio", "score"), seed=1, run=calls.append,
                        verbose=False)
    assert nb.is_colab is True
    assert calls == [
        ["apt-get", "-qq", "install", "-y", "fluidsynth", "fluid-soundfont-gm"],
        [sys.executable, "-m", "pip", "install", "-q",
         "musicalpy[hmm,audio,score] @ git+https://github.com/musicalpy/musicalpy"],
    ]


def test_colab_without_audio_skips_apt(fake_colab, monkeypatch):
    monkeypatch.delenv(notebook.INSTALL_SOURCE_ENV, raising=False)
    assert notebook.install_commands(()) == [
        [sys.executable, "-m", "pip", "install", "-q", "musicalpy @ git+https://github.com/musicalpy/musicalpy"]]


def test_install_source_is_one_setting_overridden_by_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(notebook.INSTALL_SOURCE_ENV, "git+https://example.org/fork/musicalpy@v2")
    assert notebook.install_commands(("deep",))[-1][-1] == "musicalpy[deep] @ git+https://example.org/fork/musicalpy@v2"
    monkeypatch.setenv(notebook.INSTALL_SOURCE_ENV, str(tmp_path))  # a local checkout becomes a file:// URL
    assert notebook.install_commands(())[-1][-1] == f"musicalpy @ {tmp_path.resolve().as_uri()}"
    monkeypatch.delenv(notebook.INSTALL_SOURCE_ENV)
    assert notebook.install_source() == notebook.INSTALL_SOURCE


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="extras must be among"):
        notebook.install_commands(("gpu",))
    with pytest.raises(TypeError, match="the string 'audio'"):
        notebook.install_commands("audio")
    with pytest.raises(ValueError, match="name must be"):
        notebook.setup("notebooks/02_hmm_baum_welch.ipynb")
    with pytest.raises(ValueError, match="seed must be an integer"):
        notebook.seed_everything(-1)


def test_seeds_give_identical_draws(folders):
    notebook.setup("01_eda_key_analysis", seed=7, verbose=False)
    first = (np.random.random(5), __import__("random").random())
    notebook.setup("01_eda_key_analysis", seed=7, verbose=False)
    again = (np.random.random(5), __import__("random").random())
    np.testing.assert_array_equal(first[0], again[0])
    assert first[1] == again[1]
    notebook.setup("01_eda_key_analysis", seed=8, verbose=False)
    assert not np.array_equal(np.random.random(5), first[0])


def test_versions_follow_the_extras(capsys):
    plain = notebook.versions(())
    assert list(plain) == ["python", "musicalpy", "numpy", "pandas", "music21"]
    assert plain["numpy"] == np.__version__
    assert plain["python"] == sys.version.split()[0]
    with_hmm = notebook.versions(("hmm", "audio"))
    assert "hmmlearn" in with_hmm and "tensorflow" not in with_hmm


def test_setup_prints_the_versions(folders, capsys):
    nb = notebook.setup("01_eda_key_analysis", verbose=True)
    printed = capsys.readouterr().out
    assert f"pandas      {pd.__version__}" in printed
    assert nb.versions["pandas"] == pd.__version__


def test_smoke_flag_is_read_at_setup(folders, monkeypatch):
    monkeypatch.setenv("MUSICALPY_SMOKE", "1")
    assert notebook.setup("01_eda_key_analysis", verbose=False).SMOKE is True
    monkeypatch.setenv("MUSICALPY_SMOKE", "0")
    assert notebook.setup("01_eda_key_analysis", verbose=False).SMOKE is False


def test_quiet_tensorflow_sets_the_log_level_without_overriding(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    notebook.quiet_tensorflow()
    import os

    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    notebook.quiet_tensorflow()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"


def test_save_fig_writes_under_images_of_the_notebook(folders, capsys):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nb = notebook.setup("02_hmm_baum_welch", verbose=False)
    plt.plot([0, 1], [1, 0])
    assert nb.save_fig("line") is None  # a cell ending in save_fig shows the figure, not a path
    path = folders / "images" / "02_hmm_baum_welch" / "line.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig, _ = plt.subplots()
    nb.save_fig(fig, "explicit", show=False)
    assert (folders / "images" / "02_hmm_baum_welch" / "explicit.png").stat().st_size > 0
    assert "saved 02_hmm_baum_welch/line.png" in capsys.readouterr().out
    with pytest.raises(ValueError, match="name is required"):
        nb.save_fig(fig)
    plt.close("all")


def test_export_writes_under_outputs_of_the_notebook(folders):
    import mido

    nb = notebook.setup("02_hmm_baum_welch", verbose=False)
    notes = pd.DataFrame({"piece": "p", "part": "Soprano", "pitch": [60, 64, 67],
                          "start": [0.0, 0.5, 1.0], "end": [0.5, 1.0, 2.0]})
    paths = nb.export(notes, "arpeggio", formats=("mid",))
    assert paths == {"mid": folders / "out" / "02_hmm_baum_welch" / "arpeggio.mid"}
    pitches = [m.note for m in mido.MidiFile(paths["mid"]) if m.type == "note_on" and m.velocity > 0]
    assert pitches == [60, 64, 67]
    with pytest.raises(ValueError, match="plain file name"):
        nb.export(notes, "../escape", formats=("mid",))


def test_output_dir_is_not_nested_twice_under_the_runner(tmp_path, monkeypatch):
    # the runner sets MUSICALPY_OUTPUT_DIR=<out>/<notebook> already
    monkeypatch.setenv("MUSICALPY_OUTPUT_DIR", str(tmp_path / "02_hmm_baum_welch"))
    nb = notebook.setup("02_hmm_baum_welch", verbose=False)
    assert nb.output_dir == tmp_path / "02_hmm_baum_welch"


# ------------------------------------------------------------ the notebooks themselves


def _setup_source(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    matching = [s for s in sources if "musicalpy.notebook.setup(" in s]
    assert len(matching) == 1, f"{path.name}: expected one setup cell, found {len(matching)}"
    return matching[0]


def _all_code(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


NOTEBOOK_PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def test_there_are_notebooks_to_check():
    assert len(NOTEBOOK_PATHS) >= 6


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda p: p.stem)
def test_each_notebook_sets_up_with_its_name_and_the_extras_it_imports(path):
    source = _setup_source(path)
    call = re.search(r'musicalpy\.notebook\.setup\("([^"]+)", extras=\(([^)]*)\)', source)
    assert call, f"{path.name}: setup call not in the standard shape"
    assert call.group(1) == path.stem
    extras = set(re.findall(r'"(\w+)"', call.group(2)))
    code = _all_code(path)
    needs = {"hmm": r"^\s*(import|from) hmmlearn", "deep": r"^\s*(import|from) (tensorflow|keras)\b|models import"}
    for extra, pattern in needs.items():
        imports = re.search(pattern, code, flags=re.MULTILINE) is not None
        assert (extra in extras) == imports, f"{path.name}: extra {extra!r} requested={extra in extras}, imported={imports}"
    assert {"audio", "score"} <= extras  # every notebook plays and engraves music


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda p: p.stem)
def test_each_notebooks_bootstrap_uses_the_one_install_source(path):
    source = _setup_source(path)
    urls = re.findall(r'"(git\+[^"]+)"', source)
    assert urls == [notebook.INSTALL_SOURCE]
    assert notebook.INSTALL_SOURCE_ENV in source
    assert "%pip install" in source and "apt-get" not in source  # the helper does the rest


# ------------------------------------------------------- TensorFlow's start-up noise

STARTUP = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796155798.833848   21064 port.cc:153] oneDNN custom operations are on. You may see ...",
    "I0000 00:00:1796155798.834254   21064 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.",
    "E0000 00:00:1796155816.993201   21064 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: (303)",
]


def test_startup_notices_go_and_other_lines_stay():
    real = "E0000 00:00:1.0 some_kernel.cc:1] Out of memory while allocating a tensor"
    assert notebook.startup_noise_filtered(STARTUP + [real, ""]) == [real]


def test_cuinit_failure_stays_on_a_machine_with_drivers():
    # without the "no drivers" notice, a failing cuInit is a GPU that does not start: a real error
    lines = [STARTUP[0], STARTUP[3]]
    assert notebook.startup_noise_filtered(lines) == [STARTUP[3]]


def test_the_stderr_descriptor_is_captured_and_restored(capfd):
    import os

    with notebook._stderr_descriptor_captured() as lines:
        os.write(2, b"from C++\nsecond line\n")
    assert lines == ["from C++", "second line"]
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


# ---------------------------------------------------------------- clean output (issue 14.7)

_TRAIN_LIKE_A_NOTEBOOK = """
import warnings

warnings.simplefilter("always")  # every warning reaches stderr, none is swallowed as a repeat

import numpy as np

from musicalpy import notebook

nb = notebook.setup("clean_output_check", extras=("deep",), verbose=False)
from musicalpy import pipelines
from musicalpy.models import engine, lstm
from musicalpy.representations import Vocabulary, transposition_table

vocabulary = Vocabulary([(f"{name}4", 1.0) for name in "CDEFGAB"])
rng = np.random.default_rng(0)
pieces = {f"p{i}": np.concatenate([[vocabulary.start_id], rng.integers(4, len(vocabulary), 40), [vocabulary.end_id]])
          for i in range(4)}
table = transposition_table(vocabulary, "note_strings", 2)
# As notebook 04: transposed token windows, a capped epoch longer than one pass over the
# data, whole-voice validation scores after every epoch, then sampling from two models.
train = pipelines.window_dataset(pieces, 8, target="sequence", batch_size=8, shuffle=True, max_transpose=2,
                                 transposition=table)
validation = pipelines.window_dataset(pieces, 8, target="sequence", batch_size=8)
for units in (4, 6):
    model, history = engine.train_model(
        lambda: lstm.build_token_lstm(len(vocabulary), embedding_dim=4, units=(units,)), train, validation,
        epochs=2, patience=2, steps_per_epoch=40, tensorboard=False, verbose=0,
        callbacks=[engine.piece_loss_callback(pieces)])
    assert len(history) == 2
    for seed in range(3):
        engine.sample_ids(model, vocabulary, n_tokens=6, n_samples=2, seed=seed)
print("trained")
"""

#: What a newcomer's executed notebook must not show (issue 14, item 7).
_NOISE = ("ran out of data", "retracing", "oneDNN", "cuInit", "E0000", "absl::InitializeLog")


def test_training_and_sampling_tokens_print_no_noise(tmp_path):
    """A fresh kernel's setup, token training with transposition and capped epochs, and
    sampling write nothing to stderr: no start-up lines, no 'ran out of data', no
    retracing notices."""
    import os
    import subprocess

    env = {**os.environ, "MUSICALPY_OUTPUT_DIR": str(tmp_path / "out"), "MUSICALPY_IMAGES_DIR": str(tmp_path / "img")}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the setup must quiet TensorFlow itself
    done = subprocess.run([sys.executable, "-c", _TRAIN_LIKE_A_NOTEBOOK], capture_output=True, text=True, env=env,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("trained")
    noisy = [line for line in done.stderr.splitlines() if any(noise in line for noise in _NOISE)]
    assert noisy == [], "\n".join(noisy)


def test_every_committed_notebook_cell_has_a_unique_id():
    # nbformat 4.5 requires cell ids; a missing one is a warning today and an error later.
    folder = Path(__file__).resolve().parent.parent / "notebooks"
    notebooks = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    assert len(notebooks) >= 7
    for path in notebooks:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        ids = [cell.get("id") for cell in cells]
        assert None not in ids, f"{path.name}: cell {ids.index(None)} has no id"
        assert len(set(ids)) == len(ids), f"{path.name}: repeated cell ids"
