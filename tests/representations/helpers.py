"""Shared builders for the representation tests: tiny note tables and property strategies."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from musicalpy import midi

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def notes_table(rows, *, beats=True, part="0", piece="p"):
    """A note table from (pitch, start_beat, end_beat[, velocity]) rows at 120 bpm."""
    frame = pd.DataFrame(
        [(r[0], r[1], r[2], r[3] if len(r) > 3 else 80) for r in rows],
        columns=["pitch", "start_beat", "end_beat", "velocity"],
    ).astype({"pitch": int, "start_beat": float, "end_beat": float, "velocity": int})
    frame["start"] = frame["start_beat"] * 0.5
    frame["end"] = frame["end_beat"] * 0.5
    frame["part"] = part
    frame["piece"] = piece
    if not beats:
        frame = frame.drop(columns=["start_beat", "end_beat"])
    return midi.as_note_table(frame)


def same_notes(a: pd.DataFrame, b: pd.DataFrame, columns, atol=1e-9) -> bool:
    """True when both tables hold the same notes in the given columns (order-free)."""
    left = a[columns].to_numpy(float)
    right = b[columns].to_numpy(float)
    if left.shape != right.shape:
        return False
    left = left[np.lexsort(left.T[::-1])]
    right = right[np.lexsort(right.T[::-1])]
    return np.allclose(left, right, atol=atol, rtol=0)


notes_in_seconds = st.lists(
    st.tuples(st.integers(0, 127), st.floats(0, 5), st.floats(0.001, 3), st.integers(1, 127)), max_size=20
)


def table_from_seconds(items):
    frame = pd.DataFrame(items, columns=["pitch", "start", "length", "velocity"]).astype({"pitch": int, "start": float, "length": float, "velocity": int})
    frame["end"] = frame["start"] + frame["length"]
    return midi.as_note_table(frame.drop(columns="length"))
