"""Models that ship inside the package: trained longer than a notebook can, with a card.

Each sub-folder of this package is a model folder as :func:`musicalpy.zoo.load` reads
it (``card.json`` plus weights as HDF5 or JSON, never pickle), made by ``musicalpy
pretrained`` (``make pretrained``), which trains every kind of :data:`SHIPPED` for its
budget with ``musicalpy train KIND`` and copies the result here. The card records the
command, the commit, the library versions, the machine, the CPU and wall-clock minutes,
the epochs and the validation curve, and the data split's fingerprint.

>>> from musicalpy import pretrained
>>> pretrained.names()                       # what ships
>>> model = pretrained.load("satb_lstm")     # a ZooModel, ready to generate or harmonize
>>> pretrained.best()                        # the shipped four-voice model of lowest validation bits
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = ["FOLDER", "SHIPPED", "names", "path", "load", "card", "best"]

#: Where the shipped model folders are: this package's folder.
FOLDER = Path(__file__).resolve().parent
#: Kind -> (corpus, budget flag of ``musicalpy train``) of every shipped model, as
#: ``musicalpy pretrained`` trains them. The counting floor needs no budget.
SHIPPED: dict[str, tuple[str, str]] = {
    "satb_counts": ("bach", ""),
    "satb_lstm": ("bach", "--cpu-minutes 12"),
    "satb_wavenet": ("bach", "--cpu-minutes 12"),
    "satb_transformer": ("bach", "--cpu-minutes 55"),
    "satb_transformer_jsb": ("jsb_voices", "--cpu-minutes 23"),
}


def names() -> list[str]:
    """The shipped model folders present, in :data:`SHIPPED` order."""
    return [name for name in SHIPPED if (FOLDER / name / "card.json").is_file()]


def path(name: str) -> Path:
    """The folder of a shipped model; a FileNotFoundError names what ships."""
    folder = FOLDER / name
    if not (folder / "card.json").is_file():
        raise FileNotFoundError(f"no shipped model {name!r}; shipped: {', '.join(names()) or 'none'} "
                                "(make them with `make pretrained`)")
    return folder


def card(name: str) -> dict[str, Any]:
    """A shipped model's ``card.json``."""
    return json.loads((path(name) / "card.json").read_text(encoding="utf-8"))


def load(name: str):
    """A shipped model as a :class:`musicalpy.zoo.ZooModel`."""
    from .. import zoo

    return zoo.load(path(name))


def best(*, harmonizes: bool | None = None) -> str:
    """The shipped model of music21's chorales with the lowest validation bits per note.

    Parameters
    ----------
    harmonizes : bool, optional
        True: only kinds that harmonize a melody.

    Raises
    ------
    FileNotFoundError
        When no shipped model qualifies.
    """
    from .. import zoo

    scored = []
    for name in names():
        fam = zoo.family(card(name)["kind"])
        if fam.benchmark or (harmonizes and not fam.harmonizes):
            continue
        bits = card(name).get("validation", {}).get("bits_per_note", math.nan)
        if bits == bits:
            scored.append((bits, name))
    if not scored:
        raise FileNotFoundError("no shipped four-voice model; make them with `make pretrained`")
    return min(scored)[1]


def provenance(command: str) -> dict[str, Any]:
    """What a card records of how a model was made: the command, the commit (``+dirty``
    when the work tree had changes), the library versions and the machine."""
    import os
    import platform
    import subprocess
    from importlib import metadata

    from .._config import project_root

    commit = "unknown"
    root = project_root()
    if root is not None:
        try:
            head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                  check=True).stdout.strip()
            dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, check=True).stdout.strip()
            commit = head + ("+dirty" if dirty else "")
        except (OSError, subprocess.CalledProcessError):
            pass
    versions = {}
    for package in ("tensorflow", "keras", "numpy", "music21", "pandas"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"command": command, "commit": commit, "python": platform.python_version(), "versions": versions,
            "machine": {"system": f"{platform.system()} {platform.machine()}", "cpu": cpu, "cores": os.cpu_count()}}


#: Validation chorales a card re-scores as a check that its weights read back right.
N_CHECKED = 3


def validation_check(model, corpus) -> dict[str, Any]:
    """The bits per note of the first :data:`N_CHECKED` validation chorales, for the card.

    :func:`rescore` computes the same from a loaded folder; equal values mean the
    weights, the code that reads them and the split are the ones the card describes.
    """
    validation = corpus.split("validation")
    pieces = list(validation.pieces["piece"].astype(str))[:N_CHECKED]
    notes = validation.notes[validation.notes["piece"].astype(str).isin(pieces)]
    return {"pieces": pieces, "bits_per_note": float(model.score(notes)["bits_per_note"])}


def rescore(name: str, corpus=None) -> tuple[float, float]:
    """(recorded, now) bits per note of a shipped model's checked validation chorales.

    Raises
    ------
    ValueError
        When the corpus at hand splits its pieces otherwise than the one the model was
        trained on (the card's split fingerprint differs).
    """
    from .. import zoo

    recorded = card(name)
    if corpus is None:
        corpus = zoo.training_corpus(recorded["data"]["corpus"])
    digest = zoo.split_digest(corpus)
    if digest != recorded["data"]["split_digest"]:
        raise ValueError(f"shipped model {name}: its card's split fingerprint {recorded['data']['split_digest']} "
                         f"is not the corpus's {digest}; it may have seen these held-out chorales")
    check = recorded["validation_check"]
    validation = corpus.split("validation")
    notes = validation.notes[validation.notes["piece"].astype(str).isin(check["pieces"])]
    return float(check["bits_per_note"]), float(load(name).score(notes)["bits_per_note"])
