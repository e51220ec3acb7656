"""Bad input: what is wrong with a (generated) note table, and fixing it on request.

:func:`validate_notes` reports, :func:`clean_notes` repairs; the masks below are what
every feature uses to leave unusable notes out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..midi import DEFAULT_VELOCITY, as_note_table

__all__ = [
    "PROBLEMS",
    "validate_notes",
    "clean_notes",
]

PROBLEMS = {
    "missing_value": "drop (NaN or infinite pitch, start or end)",
    "pitch_out_of_range": "drop, or clip to 0-127 with pitch='clip'",
    "non_integer_pitch": "round to the nearest integer",
    "negative_start": "drop (start before 0)",
    "zero_duration": "drop (end equals start)",
    "negative_duration": "drop (end before start)",
    "invalid_beats": "drop (start_beat/end_beat: one NaN, negative, or end_beat <= start_beat)",
    "missing_beats": "kept: both beat times NaN, so beats come from seconds at the tempo",
    "velocity_out_of_range": "clip to 1-127 (NaN becomes the default velocity)",
    "no_notes": "nothing to fix: every feature that needs notes is NaN",
    "single_onset": "kept: all notes start together, so rhythm features are degenerate",
}
# Problems that make a note unusable for the features (the rest are repaired in place).
_DROPPED = ("missing_value", "pitch_out_of_range", "negative_start", "zero_duration",
            "negative_duration", "invalid_beats")


# ------------------------------------------------------------------------ bad input


def _column(notes: pd.DataFrame, name: str, default: Any) -> np.ndarray:
    if name in notes.columns:
        return notes[name].to_numpy()
    return np.full(len(notes), default, dtype=object if isinstance(default, str) else None)


def _numeric(notes: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(notes[name], errors="coerce").to_numpy(dtype=float)


def _check_columns(notes: Any, what: str = "notes") -> None:
    if not isinstance(notes, pd.DataFrame):
        raise TypeError(f"{what} must be a note table (pandas DataFrame), got {type(notes).__name__}")
    missing = [c for c in ("pitch", "start", "end") if c not in notes.columns]
    if missing:
        raise ValueError(f"{what} lacks required column(s) {missing}; has {list(notes.columns)}")


def _problem_masks(notes: pd.DataFrame) -> dict[str, np.ndarray]:
    """One boolean mask per row-level problem of :data:`PROBLEMS` (vectorized)."""
    pitch = _numeric(notes, "pitch")
    start = _numeric(notes, "start")
    end = _numeric(notes, "end")
    finite = np.isfinite(pitch) & np.isfinite(start) & np.isfinite(end)
    with np.errstate(invalid="ignore"):
        masks = {
            "missing_value": ~finite,
            "pitch_out_of_range": finite & ((pitch < -0.5) | (pitch >= 127.5)),
            "non_integer_pitch": finite & (np.abs(pitch - np.round(pitch)) > 1e-9),
            "negative_start": finite & (start < 0),
            "zero_duration": finite & (end == start),
            "negative_duration": finite & (end < start),
        }
        if "start_beat" in notes.columns and "end_beat" in notes.columns:
            start_beat = _numeric(notes, "start_beat")
            end_beat = _numeric(notes, "end_beat")
            both_missing = ~np.isfinite(start_beat) & ~np.isfinite(end_beat)
            good = np.isfinite(start_beat) & np.isfinite(end_beat) & (start_beat >= 0) & (end_beat > start_beat)
            masks["invalid_beats"] = finite & ~good & ~both_missing
            masks["missing_beats"] = finite & both_missing
        else:
            masks["invalid_beats"] = np.zeros(len(notes), dtype=bool)
            masks["missing_beats"] = np.zeros(len(notes), dtype=bool)
        if "velocity" in notes.columns:
            velocity = _numeric(notes, "velocity")
            masks["velocity_out_of_range"] = ~np.isfinite(velocity) | (velocity < 1) | (velocity > 127)
        else:
            masks["velocity_out_of_range"] = np.zeros(len(notes), dtype=bool)
    return masks


def _usable(masks: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    bad = np.zeros(n, dtype=bool)
    for name in _DROPPED:
        bad |= masks[name]
    return ~bad


def validate_notes(notes: pd.DataFrame) -> pd.DataFrame:
    """Report what is wrong with a note table (typically a generated one).

    Parameters
    ----------
    notes : pd.DataFrame
        A note table, possibly broken; needs the columns ``pitch``, ``start``, ``end``.

    Returns
    -------
    report : pd.DataFrame
        One row per problem found (empty when the table is fine), with columns
        ``problem`` (a key of :data:`PROBLEMS`), ``n_notes`` (notes affected),
        ``rows`` (up to ten index labels of affected rows) and ``action`` (what
        :func:`clean_notes` would do). Table-level problems: ``no_notes`` (nothing left
        after dropping unusable notes) and ``single_onset`` (two or more usable notes,
        all starting together).

    Raises
    ------
    ValueError
        When a required column is missing (that is not something to clean).
    """
    _check_columns(notes)
    masks = _problem_masks(notes)
    rows = []
    for name, mask in masks.items():
        if mask.any():
            rows.append({"problem": name, "n_notes": int(mask.sum()),
                         "rows": list(notes.index[mask][:10]), "action": PROBLEMS[name]})
    usable = _usable(masks, len(notes))
    if not usable.any():
        rows.append({"problem": "no_notes", "n_notes": 0, "rows": [], "action": PROBLEMS["no_notes"]})
    else:
        starts = _numeric(notes, "start")[usable]
        if usable.sum() >= 2 and np.ptp(starts) == 0:
            rows.append({"problem": "single_onset", "n_notes": int(usable.sum()),
                         "rows": list(notes.index[usable][:10]), "action": PROBLEMS["single_onset"]})
    return pd.DataFrame(rows, columns=["problem", "n_notes", "rows", "action"])


def clean_notes(notes: pd.DataFrame, *, pitch: str = "drop") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fix a broken note table: drop or repair bad notes and say what was done.

    Parameters
    ----------
    notes : pd.DataFrame
        A note table, possibly broken (see :func:`validate_notes`).
    pitch : {"drop", "clip"}
        What to do with pitches outside 0-127: drop the notes, or clip the pitches.

    Returns
    -------
    clean : pd.DataFrame
        A valid note table (it passes :func:`musicalpy.midi.as_note_table`, which also
        sorts it and fills missing optional columns). Non-integer pitches are rounded,
        velocities clipped to 1-127; notes with missing values, negative starts, zero or
        negative durations or invalid beat times are dropped.
    report : pd.DataFrame
        What was done: the :func:`validate_notes` report with ``action`` saying what
        happened to each problem.
    """
    if pitch not in ("drop", "clip"):
        raise ValueError(f"pitch must be 'drop' or 'clip', got {pitch!r}")
    report = validate_notes(notes)
    masks = _problem_masks(notes)
    table = notes.copy()
    if pitch == "clip":
        out = masks["pitch_out_of_range"]
        table["pitch"] = pd.to_numeric(table["pitch"], errors="coerce")
        table.loc[out, "pitch"] = table.loc[out, "pitch"].clip(0, 127)
        masks = dict(masks, pitch_out_of_range=np.zeros(len(table), dtype=bool))
    keep = _usable(masks, len(table))
    table = table[keep].copy()
    table["pitch"] = np.round(pd.to_numeric(table["pitch"])).astype(int)
    if "velocity" in table.columns:
        velocity = pd.to_numeric(table["velocity"], errors="coerce")
        table["velocity"] = velocity.fillna(DEFAULT_VELOCITY).clip(1, 127).round().astype(int)
    done = {
        "pitch_out_of_range": "clipped to 0-127" if pitch == "clip" else "dropped",
        "non_integer_pitch": "rounded",
        "velocity_out_of_range": "clipped to 1-127 (NaN set to the default velocity)",
        "missing_beats": "kept (beat times stay NaN)",
        "no_notes": "nothing to fix",
        "single_onset": "kept",
    }
    if not report.empty:
        report["action"] = [done.get(p, "dropped") for p in report["problem"]]
    return as_note_table(table), report


