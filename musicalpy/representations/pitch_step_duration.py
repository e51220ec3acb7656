"""(pitch, step, duration): the float features of the TensorFlow "Generate music with an
RNN" tutorial, all parts merged; one row per note, times in seconds.

Not a token sequence (pitch is a class, step and duration are values), so it has no
vocabulary; the tf.data pipeline transposes its pitch column directly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..midi import DEFAULT_VELOCITY
from ._common import Encoding, _check_velocity, _Notes, _one_piece, _table

__all__ = ["PITCH_STEP_DURATION_COLUMNS", "encode_pitch_step_duration", "decode_pitch_step_duration"]

#: Column names of the (pitch, step, duration) features of the TensorFlow tutorial.
PITCH_STEP_DURATION_COLUMNS = ("pitch", "step", "duration")


def encode_pitch_step_duration(notes: pd.DataFrame, *, as_frame: bool = False) -> np.ndarray | pd.DataFrame:
    """Encode all parts, merged, as the (pitch, step, duration) features of the
    TensorFlow "Generate music with an RNN" tutorial.

    Notes are sorted by start (then pitch); ``step`` is the start minus the previous
    note's start and ``duration`` is end minus start, in seconds. Unlike the tutorial,
    the first step is the first note's start (not 0), so leading silence survives.

    Parameters
    ----------
    notes : pd.DataFrame
        Note table of one piece.
    as_frame : bool, default False
        Return a DataFrame with columns ``pitch``, ``step``, ``duration``.

    Returns
    -------
    features : np.ndarray, shape=(n_notes, 3), dtype=float64, or pd.DataFrame
    """
    return _pitch_step_duration(_one_piece(notes, "encode_pitch_step_duration"), as_frame=as_frame)


def _pitch_step_duration(notes: _Notes, *, as_frame: bool = False) -> np.ndarray | pd.DataFrame:
    order = np.lexsort((notes.pitch, notes.start))
    start = notes.start[order]
    step = np.diff(start, prepend=0.0)
    features = np.column_stack([notes.pitch[order], step, notes.end[order] - start]).astype(float).reshape(-1, 3)
    if as_frame:
        frame = pd.DataFrame(features, columns=list(PITCH_STEP_DURATION_COLUMNS))
        frame["pitch"] = frame["pitch"].astype(np.int64)
        return frame
    return features


def decode_pitch_step_duration(
    features: np.ndarray | pd.DataFrame,
    *,
    velocity: int = DEFAULT_VELOCITY,
    piece: str = "",
    part: str = "0",
    program: int = 0,
) -> pd.DataFrame:
    """Decode (pitch, step, duration) features: starts are the cumulative steps.

    Parameters
    ----------
    features : np.ndarray, shape=(n_notes, 3), or pd.DataFrame
        A DataFrame needs the columns ``pitch``, ``step``, ``duration``. Pitches are
        rounded and clipped to 0-127 and negative steps and durations clipped to 0,
        because a model's predictions can stray there.
    velocity : int, default 80
    piece, part : str
    program : int, default 0
    """
    if isinstance(features, pd.DataFrame):
        missing = [c for c in PITCH_STEP_DURATION_COLUMNS if c not in features.columns]
        if missing:
            raise ValueError(f"features lack column(s) {missing}; have {list(features.columns)}")
        features = features[list(PITCH_STEP_DURATION_COLUMNS)].to_numpy(dtype=float)
    features = np.asarray(features, dtype=float)
    if features.size == 0:
        features = features.reshape(0, 3)
    if features.ndim != 2 or features.shape[1] != 3:
        raise ValueError(f"features must have shape (n_notes, 3), got {features.shape}")
    if not np.isfinite(features).all():
        raise ValueError("features hold NaN or infinite values")
    pitch = np.clip(np.rint(features[:, 0]), 0, 127).astype(np.int64)
    start = np.cumsum(np.maximum(features[:, 1], 0.0))
    end = start + np.maximum(features[:, 2], 0.0)
    return _table(pitch, start=start, end=end, velocity=_check_velocity(velocity), piece=piece, part=part, program=program)


ENCODING = Encoding(
    name="pitch_step_duration",
    encode=_pitch_step_duration,
    decode=decode_pitch_step_duration,
    per_part=False,
)
