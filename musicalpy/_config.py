"""Project-wide settings: smoke mode, directories, errors shared by every module."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "MusicalPyError",
    "CorpusError",
    "MidiError",
    "smoke_mode",
    "project_root",
    "cache_dir",
    "output_dir",
    "images_dir",
    "leaderboard_path",
    "check_int",
    "NOTE_COLUMNS",
]

#: The columns every note table has (docs/architecture.md): one row per note, times in seconds.
NOTE_COLUMNS = ["piece", "part", "program", "is_drum", "pitch", "start", "end", "velocity"]


class MusicalPyError(Exception):
    """Base class of MusicalPy's own errors."""


class CorpusError(MusicalPyError, ValueError):
    """A corpus that cannot be loaded: unknown name, missing path, nothing readable
    (:mod:`musicalpy.corpus`)."""


class MidiError(MusicalPyError, ValueError):
    """A MIDI file (or byte string) that cannot be turned into a valid note table.

    The message always names the file and the cause.
    """


def smoke_mode() -> bool:
    """Return True when ``MUSICALPY_SMOKE`` is set to a true value (``1``, ``true``, ``yes``).

    Notebooks read it in their parameters cell, e.g. ``EPOCHS = 2 if SMOKE else 40``;
    ``make test`` sets it so that every notebook runs in a few minutes.
    """
    return os.environ.get("MUSICALPY_SMOKE", "").strip().lower() in {"1", "true", "yes", "on"}


def project_root() -> Path | None:
    """The repository checkout this package lives in, or None when installed elsewhere."""
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").exists() and (here / "musicalpy").is_dir():
        return here
    return None


def _dir_from(env: str, repo_sub: str, home_sub: str) -> Path:
    value = os.environ.get(env)
    if value:
        path = Path(value).expanduser()
    else:
        root = project_root()
        path = root / repo_sub if root else Path.home() / ".cache" / "musicalpy" / home_sub
    return path


def cache_dir() -> Path:
    """Where parsed corpora are cached: ``MUSICALPY_CACHE_DIR``, else ``data/cache/``
    of the checkout, else ``~/.cache/musicalpy/cache``."""
    return _dir_from("MUSICALPY_CACHE_DIR", "data/cache", "cache")


def output_dir() -> Path:
    """Where generated music and executed notebooks go: ``MUSICALPY_OUTPUT_DIR``, else
    ``outputs/`` of the checkout, else ``~/.cache/musicalpy/outputs``."""
    return _dir_from("MUSICALPY_OUTPUT_DIR", "outputs", "outputs")


def images_dir() -> Path:
    """Where :func:`musicalpy.render.save_fig` writes figures: ``MUSICALPY_IMAGES_DIR``,
    else ``images/`` of the checkout, else ``~/.cache/musicalpy/images``."""
    return _dir_from("MUSICALPY_IMAGES_DIR", "images", "images")


def leaderboard_path() -> Path:
    """The shared leaderboard CSV: ``MUSICALPY_LEADERBOARD``, else
    ``leaderboard.csv`` in :func:`output_dir`. The notebook runner points it at the
    top of ``outputs/`` so that every notebook's rows land in one file."""
    value = os.environ.get("MUSICALPY_LEADERBOARD")
    return Path(value).expanduser() if value else output_dir() / "leaderboard.csv"


def check_int(name: str, value, minimum: int = 1, maximum: int | None = None) -> int:
    """Return ``value`` as an int, or raise a ValueError naming the argument.

    Parameters
    ----------
    name : str
        The argument's name, as the caller spells it (shown in the message).
    value : object
        What the caller passed. Booleans are refused: ``True`` is an int to Python but
        never a count or a MIDI number to a user.
    minimum : int
        The smallest value allowed.
    maximum : int, optional
        The largest value allowed (e.g. 127 for a MIDI program); no upper bound if None.

    Returns
    -------
    int
        ``value`` as a plain Python int (NumPy integers included).

    Raises
    ------
    ValueError
        When ``value`` is not an integer, or lies outside ``minimum``..``maximum``.
    """
    import numpy as np

    allowed = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer {allowed}, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be an integer {allowed}, got {int(value)}")  # not np.int16(-1)
    return int(value)
