"""Shared fixtures: tiny in-memory note tables, real MIDI files shipped with music21."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def music21_midi_dir() -> Path:
    """Real MIDI files that ship inside music21 (its MIDI test suite)."""
    import music21

    return Path(music21.__file__).parent / "midi" / "testPrimitive"


@pytest.fixture
def two_part_notes() -> pd.DataFrame:
    """A melody over a bass line, with one chord, on the 16th grid at 120 bpm."""
    rows = [
        ("Melody", 0, 72, 0.0, 0.5, 90), ("Melody", 0, 74, 0.5, 1.0, 80),
        ("Melody", 0, 76, 1.0, 2.0, 70), ("Melody", 0, 79, 1.0, 2.0, 70),
        ("Bass", 32, 48, 0.0, 1.0, 100), ("Bass", 32, 43, 1.0, 2.0, 60),
    ]
    frame = pd.DataFrame(rows, columns=["part", "program", "pitch", "start", "end", "velocity"])
    frame["piece"] = "two_parts"
    frame["start_beat"] = frame["start"] * 2
    frame["end_beat"] = frame["end"] * 2
    return frame
