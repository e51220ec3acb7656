"""Fixtures of the representation tests: a real four-voice chorale."""

from __future__ import annotations

import pandas as pd
import pytest

from musicalpy import midi


@pytest.fixture(scope="session")
def chorale() -> pd.DataFrame:
    from music21 import corpus

    return midi.from_music21(corpus.parse("bach/bwv66.6"), piece="bwv66.6")
