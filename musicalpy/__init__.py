"""MusicalPy: learn, run and compare symbolic music generation.

The package is thin on purpose: it parses corpora into one note table, encodes it into
the representations the models need, renders music to audio, sheet music and piano
rolls, and evaluates generated music against held-out pieces. The notebooks in
``notebooks/`` narrate; this package does the work.

Heavy dependencies (TensorFlow, music21, verovio, FluidSynth) are imported only by the
functions that use them, so ``import musicalpy`` is quick.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._config import (
    MidiError,
    MusicalPyError,
    cache_dir,
    images_dir,
    output_dir,
    project_root,
    smoke_mode,
)

__version__ = "0.1.0"

# name -> module that defines it; resolved on first access (PEP 562).
_LAZY = {
    "load_corpus": "corpus",
    "Corpus": "corpus",
    "check_splits": "corpus",
    "download_maestro": "corpus",
    "available_corpora": "corpus",
    "parse_score": "corpus",
    "read_midi": "midi",
    "write_midi": "midi",
    "to_pretty_midi": "midi",
    "from_pretty_midi": "midi",
    "to_music21": "midi",
    "from_music21": "midi",
    "empty_notes": "midi",
    "as_note_table": "midi",
    "play": "render",
    "write_wav": "render",
    "show_score": "render",
    "write_score_svg": "render",
    "plot_pianoroll": "render",
    "save_fig": "render",
    "export": "render",
    "harmonize": "harmonization",
    "Harmonization": "harmonization",
    "rewrite": "rewriting",
    "Rewrite": "rewriting",
    "load_chorale": "rewriting",
    "load_melody": "melody",
    "Melody": "melody",
}

__all__ = [
    "MidiError",
    "MusicalPyError",
    "smoke_mode",
    "project_root",
    "cache_dir",
    "output_dir",
    "images_dir",
    "__version__",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    if name in {"corpus", "midi", "representations", "render", "metrics", "markov", "hmm",
                "analysis", "pipelines", "models", "cli", "names", "leaderboard", "notebook", "zoo", "runner",
                "jsb", "frame_estimators", "harmonization", "melody", "pretrained"}:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'musicalpy' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
