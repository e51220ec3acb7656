"""The notebooks' setup helper: one call at the top of every notebook.

Every notebook of the series opens with the same cell::

    nb = musicalpy.notebook.setup("03_lstm", extras=("deep", "audio", "score"), seed=42)

:func:`setup` prints the versions the notebook relies on, seeds Python, NumPy (and
Keras/TensorFlow when the notebook needs them), keeps TensorFlow's C++ start-up logs out
of the output, and on Google Colab installs the package with the notebook's extras and
FluidSynth. It returns a :class:`Notebook` whose :meth:`~Notebook.save_fig` writes
figures to ``images/<notebook>/`` and whose :meth:`~Notebook.export` writes music to
``outputs/<notebook>/``.

Where Colab installs the package from is one setting: :data:`INSTALL_SOURCE`, overridden
by the environment variable named in :data:`INSTALL_SOURCE_ENV`. The default URL is a
placeholder until the project is published.

Only the standard library is imported at module level, so the notebook's first cell
costs nothing before the heavy imports it asked for.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._config import images_dir, output_dir, smoke_mode

__all__ = [
    "INSTALL_SOURCE",
    "INSTALL_SOURCE_ENV",
    "EXTRAS",
    "APT_PACKAGES",
    "TF_QUIET_ENV",
    "BENIGN_STARTUP_LINES",
    "startup_noise_filtered",
    "Notebook",
    "setup",
    "in_colab",
    "install_source",
    "install_commands",
    "quiet_tensorflow",
    "import_tensorflow_quietly",
    "seed_everything",
    "versions",
]

#: Where Colab installs MusicalPy from: any source pip accepts after ``name @``.
#: A placeholder: the repository is not published at this address yet. Override it
#: with ``MUSICALPY_INSTALL_SOURCE`` (a git URL, a wheel URL or a local folder).
INSTALL_SOURCE = "git+https://github.com/musicalpy/musicalpy"

#: The environment variable that overrides :data:`INSTALL_SOURCE`.
INSTALL_SOURCE_ENV = "MUSICALPY_INSTALL_SOURCE"

#: The optional dependency groups a notebook may ask for (``pyproject.toml``).
EXTRAS = ("audio", "score", "hmm", "deep")

#: Debian packages for audio on Colab: the synthesizer and a General MIDI soundfont.
APT_PACKAGES = ("fluidsynth", "fluid-soundfont-gm")

#: Environment that keeps TensorFlow's C++ start-up logs (CPU features, oneDNN, CUDA
#: probing) out of a notebook; it only works when set before TensorFlow is imported.
TF_QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2"}

# Extra -> distributions whose versions the notebook prints (import name, label).
_EXTRA_MODULES = {
    "deep": (("tensorflow", "tensorflow"), ("keras", "keras")),
    "hmm": (("hmmlearn", "hmmlearn"),),
}
_CORE_MODULES = (("numpy", "numpy"), ("pandas", "pandas"), ("music21", "music21"))


def in_colab() -> bool:
    """True inside a Google Colab kernel (Colab imports ``google.colab`` at start-up)."""
    return "google.colab" in sys.modules


def install_source() -> str:
    """The source Colab installs the package from: ``MUSICALPY_INSTALL_SOURCE`` when
    set, else :data:`INSTALL_SOURCE`."""
    return os.environ.get(INSTALL_SOURCE_ENV, "").strip() or INSTALL_SOURCE


def _check_extras(extras: Sequence[str]) -> tuple[str, ...]:
    if isinstance(extras, str):
        raise TypeError(f"extras must be a sequence of names such as ('audio', 'score'), got the string {extras!r}")
    unknown = [e for e in extras if e not in EXTRAS]
    if unknown:
        raise ValueError(f"extras must be among {EXTRAS}; unknown: {unknown}")
    return tuple(dict.fromkeys(extras))


def install_commands(extras: Sequence[str] = (), source: str | None = None) -> list[list[str]]:
    """The commands that install the package with ``extras`` (and FluidSynth when
    ``"audio"`` is among them), as Colab runs them.

    Parameters
    ----------
    extras : sequence of str
        Names from :data:`EXTRAS`.
    source : str, optional
        Default :func:`install_source`. A local folder is turned into a ``file://`` URL,
        which is what pip needs after ``musicalpy @``.

    Returns
    -------
    commands : list of list of str
        ``apt-get`` first (when audio is asked for), then ``pip install``.
    """
    chosen = _check_extras(extras)
    source = source or install_source()
    if Path(source).expanduser().is_dir():
        source = Path(source).expanduser().resolve().as_uri()
    requirement = f"musicalpy[{','.join(chosen)}] @ {source}" if chosen else f"musicalpy @ {source}"
    commands = []
    if "audio" in chosen:
        commands.append(["apt-get", "-qq", "install", "-y", *APT_PACKAGES])
    commands.append([sys.executable, "-m", "pip", "install", "-q", requirement])
    return commands


def _run_checked(command: Sequence[str]) -> None:
    subprocess.run(list(command), check=True)


def quiet_tensorflow() -> bool:
    """Set :data:`TF_QUIET_ENV` (without overriding what the user set).

    Returns False when TensorFlow was imported already: its C++ logging has read the
    environment by then, so the setting comes too late for this kernel.
    """
    for name, value in TF_QUIET_ENV.items():
        os.environ.setdefault(name, value)
    return "tensorflow" not in sys.modules


#: Lines TensorFlow's C++ runtime writes to stderr on every start-up, before its own log
#: level applies: the absl preamble, the oneDNN notice and the CUDA probe of a machine
#: without drivers. Nothing in them asks for action.
BENIGN_STARTUP_LINES = (
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "oneDNN custom operations are on",
    "Could not find cuda drivers on your machine",
)
_NO_DRIVERS = "Could not find cuda drivers on your machine"
_CUINIT_FAILED = "failed call to cuInit"


def startup_noise_filtered(lines: Sequence[str]) -> list[str]:
    """The lines of TensorFlow's start-up stderr worth showing.

    :data:`BENIGN_STARTUP_LINES` go, and so does the failed ``cuInit`` call, but only
    when TensorFlow also said the machine has no CUDA drivers: on a machine with a GPU
    that fails to start, that line is a real error and stays.
    """
    no_drivers = any(_NO_DRIVERS in line for line in lines)
    return [line for line in lines
            if line.strip()
            and not any(notice in line for notice in BENIGN_STARTUP_LINES)
            and not (no_drivers and _CUINIT_FAILED in line)]


@contextlib.contextmanager
def _stderr_descriptor_captured():
    """Send file descriptor 2 (where C++ libraries write) to a temporary file; yield a
    list that receives its lines when the block ends."""
    lines: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines.extend(captured.read().decode("utf-8", errors="replace").splitlines())


def import_tensorflow_quietly():
    """Import TensorFlow and probe its devices with the start-up notices left out.

    :func:`quiet_tensorflow` first; then everything the C++ runtime writes to stderr
    during the import and the device probe (where the ``cuInit`` call happens) is
    captured and written back except :func:`startup_noise_filtered`'s notices, so an
    unexpected message (or an import error) is still shown.

    Returns
    -------
    module
        ``tensorflow``.
    """
    quiet_tensorflow()
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    lines: list[str] = []
    try:
        with _stderr_descriptor_captured() as lines:
            import tensorflow as tf

            tf.config.list_physical_devices()
    finally:
        kept = startup_noise_filtered(lines)
        if kept:
            print("\n".join(kept), file=sys.stderr)
    return tf


def seed_everything(seed: int, *, deep: bool = False) -> None:
    """Seed Python's ``random``, NumPy's global generator and, with ``deep``, Keras and
    TensorFlow (``keras.utils.set_random_seed`` seeds all of them at once)."""
    from ._config import check_int

    seed = check_int("seed", seed, minimum=0)
    random.seed(seed)
    import numpy as np

    np.random.seed(seed)
    if deep:
        import keras

        keras.utils.set_random_seed(seed)


def _version_of(module_name: str) -> str:
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return "not installed"
    return str(getattr(module, "__version__", "unknown"))


def versions(extras: Sequence[str] = ()) -> dict[str, str]:
    """Versions of Python, MusicalPy, NumPy, pandas, music21, and of the libraries the
    ``extras`` bring (TensorFlow and Keras for ``"deep"``, hmmlearn for ``"hmm"``).

    Returns
    -------
    versions : dict of str to str
        Label -> version, in print order; ``"not installed"`` for a missing library.
    """
    from . import __version__

    found = {"python": sys.version.split()[0], "musicalpy": __version__}
    modules = list(_CORE_MODULES)
    for extra in _check_extras(extras):
        modules.extend(_EXTRA_MODULES.get(extra, ()))
    for module_name, label in modules:
        found[label] = _version_of(module_name)
    return found


@dataclass
class Notebook:
    """What a notebook's setup cell returns: its name, seed and the folders it writes.

    Attributes
    ----------
    name : str
        The notebook's file name without ``.ipynb`` (``"02_hmm_baum_welch"``).
    seed : int
        The seed :func:`setup` used.
    extras : tuple of str
        The optional dependency groups the notebook needs.
    is_colab : bool
        Whether it runs on Google Colab.
    versions : dict of str to str
        What :func:`versions` found.
    SMOKE : bool
        :func:`musicalpy.smoke_mode` when the notebook was set up.
    """

    name: str
    seed: int
    extras: tuple[str, ...] = ()
    is_colab: bool = False
    versions: dict[str, str] = field(default_factory=dict)
    SMOKE: bool = False

    @property
    def images_dir(self) -> Path:
        """``images/<notebook>/`` under :func:`musicalpy.images_dir`."""
        return images_dir() / self.name

    @property
    def output_dir(self) -> Path:
        """``outputs/<notebook>/``: :func:`musicalpy.output_dir` plus the notebook's
        name, unless the notebook runner already pointed ``MUSICALPY_OUTPUT_DIR`` at a
        folder of that name."""
        base = output_dir()
        return base if base.name == self.name else base / self.name

    def save_fig(self, fig_or_name: Any, name: str | None = None, *, show: bool = True) -> None:
        """Save a figure as ``images/<notebook>/<name>.png``, print where, then show it.

        Parameters
        ----------
        fig_or_name : str or matplotlib.figure.Figure
            A file name (the current figure is saved), or the figure to save (then
            ``name`` is required).
        name : str, optional
            File name when a figure is passed.
        show : bool
            Display the figure in the notebook (``plt.show``) and close it, so that
            figures do not pile up in memory.

        Nothing is returned, so that a cell ending in ``nb.save_fig(...)`` shows only the
        figure; the path is printed (and :func:`musicalpy.render.save_fig` returns it).
        """
        import matplotlib.pyplot as plt

        from .render import save_fig

        if isinstance(fig_or_name, str):
            if name is not None:
                raise TypeError("pass either a file name or a figure and a name, not two names")
            figure, file_name = plt.gcf(), fig_or_name
        else:
            if not hasattr(fig_or_name, "savefig"):
                raise TypeError(f"fig_or_name must be a file name or a matplotlib figure, got {type(fig_or_name).__name__}")
            if not name:
                raise ValueError("name is required when a figure is passed: save_fig(fig, 'file_name')")
            figure, file_name = fig_or_name, name
        path = save_fig(file_name, notebook=self.name, fig=figure)
        print(f"saved {path.parent.name}/{path.name}")
        if show:
            plt.show()
            plt.close(figure)

    def export(self, notes: Any, name: str, formats: Sequence[str] | None = None, **options: Any) -> dict[str, Path]:
        """Write a piece under ``outputs/<notebook>/<name>.<format>`` and print what.

        Parameters
        ----------
        notes : pd.DataFrame
            The music (a note table, or anything :func:`musicalpy.render.export` takes).
        name : str
            File name without extension and without folders.
        formats : sequence of str, optional
            Default those of :func:`musicalpy.render.export`.
        **options
            Passed on to :func:`musicalpy.render.export` (``measures``, ``seconds``,
            ``title``).

        Returns
        -------
        paths : dict of str to Path
            ``{format: path written}``.
        """
        from .render import export

        if not name or "/" in name or "\\" in name or name in {".", ".."}:
            raise ValueError(f"name must be a plain file name without folders, got {name!r}")
        if formats is not None:
            options["formats"] = tuple(formats)
        paths = export(notes, self.output_dir / name, **options)
        print("wrote", ", ".join(path.name for path in paths.values()), "to", self.output_dir)
        return paths


def setup(
    name: str,
    extras: Sequence[str] = (),
    seed: int = 42,
    *,
    run: Callable[[Sequence[str]], Any] | None = None,
    verbose: bool = True,
) -> Notebook:
    """Prepare a notebook: install on Colab, quiet TensorFlow, seed, print versions.

    Parameters
    ----------
    name : str
        The notebook's name without ``.ipynb``; figures go to ``images/<name>/`` and
        music to ``outputs/<name>/``.
    extras : sequence of str
        The optional dependency groups the notebook needs (:data:`EXTRAS`); on Colab the
        package is installed with exactly these, and with ``"deep"`` Keras and
        TensorFlow are seeded and their versions printed.
    seed : int
        Seeds ``random``, NumPy's global generator and, with ``"deep"``, Keras/TensorFlow.
    run : callable, optional
        Runs one install command (a list of strings) on Colab; default
        ``subprocess.run(..., check=True)``. Tests pass a recorder.
    verbose : bool
        Print the versions.

    Returns
    -------
    Notebook
    """
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.endswith(".ipynb"):
        raise ValueError(f"name must be the notebook's name without folders or .ipynb, got {name!r}")
    chosen = _check_extras(extras)
    colab = in_colab()
    if colab:
        runner = run or _run_checked
        for command in install_commands(chosen):
            runner(command)
        importlib.invalidate_caches()  # so that what pip just installed imports in this kernel
    deep = "deep" in chosen
    if deep:
        import_tensorflow_quietly()
    seed_everything(seed, deep=deep)
    found = versions(chosen)
    if verbose:
        for label, version in found.items():
            print(f"{label:11s} {version}")
    return Notebook(name=name, seed=int(seed), extras=chosen, is_colab=colab, versions=found, SMOKE=smoke_mode())
