"""The notebooks' setup helper: Colab detection and install commands, seeds, versions,
where figures and music are written, and that every notebook calls it the same way."""

from __future__ import annotations

import functools
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
    """``google.colab`` imported, as in a Colab kernel, beside the real ``google`` namespace
    (protobuf, which TensorFlow imports, lives there)."""
    try:
        import google
    except ImportError:
        google = types.ModuleType("google")
        monkeypatch.setitem(sys.modules, "google", google)
    colab = types.ModuleType("google.colab")
    monkeypatch.setattr(google, "colab", colab, raising=False)
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
    image = plt.imread(folders / "images" / "02_hmm_baum_welch" / "explicit.png")
    assert image.shape[:2] == tuple(np.round(fig.get_size_inches()[::-1] * 150).astype(int))  # at 150 dpi
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

#: The series, in order: the README's table, the runner and nbval all read these nine.
NOTEBOOK_NAMES = ["01_eda_key_analysis", "02_hmm_baum_welch", "03_lstm", "04_wavenet", "05_vae", "06_transformer",
                  "07_model_comparison", "08_jsb_benchmark", "09_harmonizing"]
NOTEBOOK_PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


@functools.cache
def _code_cells(path: Path) -> tuple[str, ...]:
    """Each code cell as plain Python (IPython's ``%pip`` lines become ``get_ipython()`` calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return tuple(TransformerManager().transform_cell("".join(c["source"])) for c in cells if c["cell_type"] == "code")


def _setup_source(path: Path) -> str:
    matching = [s for s in _code_cells(path) if "musicalpy.notebook.setup(" in s]
    assert len(matching) == 1, f"{path.name}: expected one setup cell, found {len(matching)}"
    return matching[0]


def test_the_notebooks_are_the_nine_the_readme_and_the_runner_list():
    from musicalpy.runner import list_notebooks

    assert [p.stem for p in NOTEBOOK_PATHS] == NOTEBOOK_NAMES
    assert list_notebooks() == NOTEBOOK_PATHS
    readme = (NOTEBOOKS.parent / "README.md").read_text(encoding="utf-8")
    assert re.findall(r"^\| \[`(\w+)`\]\(notebooks/\1\.ipynb\)", readme, flags=re.MULTILINE) == NOTEBOOK_NAMES


class _FakeIPython:
    """Records the line magics a cell runs, expanding ``{NAME}`` from the cell's variables
    as IPython does."""

    def __init__(self, namespace: dict):
        self.namespace, self.magics = namespace, []

    def run_line_magic(self, name: str, line: str) -> None:
        self.magics.append((name, line.format(**self.namespace)))


def _run_setup_cell_on_colab(path: Path, monkeypatch) -> tuple[list, list, list, notebook.Notebook]:
    """Execute a notebook's setup cell as a fresh Colab kernel would (musicalpy not
    installed yet), recording the ``%pip`` magic, the install commands and the seeding."""
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "musicalpy" else
                        real_find_spec(name, *a))
    commands, seeded = [], []
    monkeypatch.setattr(notebook, "_run_checked", commands.append)
    monkeypatch.setattr(notebook, "import_tensorflow_quietly", lambda: None)
    monkeypatch.setattr(notebook, "seed_everything", lambda seed, deep=False: seeded.append((seed, deep)))
    namespace: dict = {}
    namespace["get_ipython"] = lambda: shell
    shell = _FakeIPython(namespace)
    exec(_setup_source(path), namespace)
    return shell.magics, commands, seeded, namespace["nb"]


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda p: p.stem)
def test_each_notebooks_setup_cell_installs_from_the_one_source_on_colab(path, folders, fake_colab, monkeypatch,
                                                                         capsys):
    for source in (None, "git+https://example.org/fork/musicalpy@v2"):
        if source is None:
            monkeypatch.delenv(notebook.INSTALL_SOURCE_ENV, raising=False)
        else:
            monkeypatch.setenv(notebook.INSTALL_SOURCE_ENV, source)
        expected = source or notebook.INSTALL_SOURCE
        magics, commands, seeded, nb = _run_setup_cell_on_colab(path, monkeypatch)
        assert nb.name == path.stem and nb.is_colab and nb.seed == 42
        assert magics == [("pip", f"install -q {expected}")]  # the bare package, before the helper exists
        assert {"audio", "score"} <= set(nb.extras)  # every notebook plays and engraves music
        assert commands == [["apt-get", "-qq", "install", "-y", "fluidsynth", "fluid-soundfont-gm"],
                            [sys.executable, "-m", "pip", "install", "-q",
                             f"musicalpy[{','.join(nb.extras)}] @ {expected}"]]
        assert seeded == [(42, "deep" in nb.extras)]
    assert f"musicalpy   {notebook.versions(())['musicalpy']}" in capsys.readouterr().out


@functools.cache
def _installed_with(extras: tuple[str, ...]) -> frozenset[str]:
    """Every distribution ``pip install musicalpy[extras]`` installs, by normalized name:
    the requirements pyproject.toml gives for those extras, and theirs in turn (read from
    the installed packages' metadata)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((NOTEBOOKS.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    todo, wanted = list(project["dependencies"]), set(extras)
    while wanted:  # an extra may name others ("all")
        extra = wanted.pop()
        for line in project["optional-dependencies"][extra]:
            requirement = Requirement(line)
            if canonicalize_name(requirement.name) == "musicalpy":
                wanted |= requirement.extras
            else:
                todo.append(line)
    found: set[str] = set()
    while todo:
        requirement = Requirement(todo.pop())
        key = canonicalize_name(requirement.name)
        if key in found:
            continue
        found.add(key)
        try:
            requires = metadata.requires(key) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            marker = Requirement(line).marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in ("", *requirement.extras)):
                todo.append(line)
    return frozenset(found)


@functools.cache
def _distributions() -> dict[str, frozenset[str]]:
    """Top-level module name -> the normalized names of the distributions that provide it."""
    from importlib import metadata

    from packaging.utils import canonicalize_name

    return {module: frozenset(canonicalize_name(d) for d in names)
            for module, names in metadata.packages_distributions().items()}


def _module_file(module: str) -> Path | None:
    """The source file of a ``musicalpy`` module (a package's ``__init__.py``), or None."""
    base = NOTEBOOKS.parent.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(nodes, package: str = "") -> set[str]:
    """The modules that ``import`` statements among ``nodes`` import (relative ones resolved
    in ``package``); ``from m import n`` counts ``m.n`` too, since ``n`` may be a submodule."""
    import ast

    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            parent = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*parent, *([node.module] if node.module else [])])
            found |= {module, *(f"{module}.{alias.name}" for alias in node.names)}
    return found


def _top_level_statements(tree):
    """The statements a module runs when imported: its body, into ``if`` and ``try`` blocks
    but not into functions or classes."""
    import ast

    for node in tree.body:
        yield node
        if isinstance(node, (ast.If, ast.Try)):
            for block in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, block, []):
                    yield from _top_level_statements(child if isinstance(child, ast.ExceptHandler) else
                                                     ast.Module(body=[child], type_ignores=[]))


def _third_party_imports(path: Path) -> set[str]:
    """The top-level names of the packages a notebook's cells import, and those the
    ``musicalpy`` modules it imports import in turn when they load."""
    import ast

    modules = _imports(node for source in _code_cells(path) for node in ast.walk(ast.parse(source)))
    todo, seen, outside = sorted(modules), set(), set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        if module.split(".")[0] != "musicalpy":
            outside.add(module.split(".")[0])
            continue
        parts = module.split(".")
        todo.extend(".".join(parts[:k]) for k in range(1, len(parts)))  # the packages above it load first
        todo.extend(_loads(module))
    return outside - set(sys.stdlib_module_names) - {"IPython"}


@functools.cache
def _loads(module: str) -> frozenset[str]:
    """The modules a ``musicalpy`` module imports when it loads (none for a name that is
    not a module of the package)."""
    import ast

    source = _module_file(module)
    if source is None:
        return frozenset()
    package = module if source.name == "__init__.py" else module.rpartition(".")[0]
    return frozenset(_imports(_top_level_statements(ast.parse(source.read_text(encoding="utf-8"))), package))


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda p: p.stem)
def test_each_notebooks_extras_install_every_package_it_imports(path, folders, fake_colab, monkeypatch):
    """What the setup cell installs on a fresh machine brings every third-party package
    the notebook's cells import, directly or through the package's modules they import
    (IPython comes with the kernel)."""
    *_, nb = _run_setup_cell_on_colab(path, monkeypatch)
    installed = _installed_with(nb.extras)
    missing = {module for module in _third_party_imports(path)
               if not _distributions().get(module, frozenset([module])) & installed}
    assert missing == set(), f"{path.name} imports {sorted(missing)}, which musicalpy{list(nb.extras)} does not install"


def test_the_import_reader_follows_the_package_modules_a_notebook_imports(tmp_path):
    cell = "from musicalpy.models import lstm\nimport musicalpy.notebook\ndef later():\n    import hmmlearn\n"
    notebook_file = tmp_path / "10_example.ipynb"
    notebook_file.write_text(json.dumps({"cells": [{"cell_type": "code", "source": [cell]}]}), encoding="utf-8")
    found = _third_party_imports(notebook_file)
    # the LSTM module loads Keras; the cell's function imports hmmlearn when it runs
    assert {"keras", "hmmlearn", "numpy"} <= found and "musicalpy" not in found and "os" not in found


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


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda p: p.stem)
def test_every_committed_notebook_cell_has_a_unique_id(path):
    # nbformat 4.5 requires cell ids; a missing one is a warning today and an error later.
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    ids = [cell.get("id") for cell in cells]
    assert None not in ids, f"{path.name}: cell {ids.index(None)} has no id"
    assert len(set(ids)) == len(ids), f"{path.name}: repeated cell ids"
