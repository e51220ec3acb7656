"""Tests of the label-dependence measures and quantization drift in musicalpy.metrics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from musicalpy import metrics, midi
from musicalpy import representations as rep


def test_mutual_information_known_values():
    x = np.array([0, 0, 1, 1])
    assert metrics.mutual_information(x, x) == pytest.approx(math.log(2))  # one bit, in nats
    assert metrics.mutual_information(x, [0, 1, 0, 1]) == pytest.approx(0.0, abs=1e-15)  # independent
    # labels are names, not numbers: renaming them changes nothing
    assert metrics.mutual_information(["a", "a", "b", "c"], [5, 5, 7, 7]) == pytest.approx(
        metrics.mutual_information([0, 0, 1, 2], [0, 0, 1, 1]))


def test_mutual_information_agrees_with_scikit_learn():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    x = rng.integers(0, 6, 500)
    y = (x + rng.integers(0, 3, 500)) % 7
    assert metrics.mutual_information(x, y) == pytest.approx(sklearn_metrics.mutual_info_score(x, y), rel=1e-12)


def test_uncertainty_coefficient_between_zero_and_one():
    position = np.tile([0, 1, 2, 3], 5)
    assert metrics.uncertainty_coefficient(position, position * 10) == pytest.approx(1.0)
    # knowing the half of the beat removes one of the two bits of the position
    assert metrics.uncertainty_coefficient(position, position // 2) == pytest.approx(0.5)
    assert math.isnan(metrics.uncertainty_coefficient(np.zeros(4), [0, 1, 0, 1]))
    with pytest.raises(ValueError, match="same items"):
        metrics.uncertainty_coefficient([0, 1], [0, 1, 2])
    with pytest.raises(ValueError, match="NaN"):
        metrics.mutual_information([0.0, np.nan], [0, 1])


def test_note_coherence_of_chords_and_of_a_line():
    # bass then tenor on the same onset, twice: pitch fixes the gap class exactly
    classes = np.array([[4, 48, 3, 80], [0, 60, 3, 80], [4, 48, 3, 80], [0, 60, 3, 80]])
    measures = metrics.note_coherence(classes, onsets=[0.0, 0.0, 1.0, 1.0])
    assert list(measures) == list(metrics.COHERENCE_MEASURES)
    assert measures["MI(pitch; onset gap), bits"] == pytest.approx(1.0)
    assert measures["MI(pitch; duration), bits"] == pytest.approx(0.0)
    assert measures["notes starting with the previous"] == 0.5
    assert metrics.note_coherence(classes, onsets=[0.0, 0.1, 1.0, 1.25])["onsets on the 16th grid"] == 0.75
    with pytest.raises(ValueError, match="one time per note"):
        metrics.note_coherence(classes, onsets=[0.0])


def test_quantization_drift_counts_rounded_notes_and_moved_ends():
    def voice(part, beats):
        ends = np.cumsum(beats)
        return pd.DataFrame({"piece": "p", "part": part, "pitch": 60, "start_beat": ends - beats, "end_beat": ends})

    table = pd.concat([voice("S", np.array([1.75, 0.25, 2.0])), voice("B", np.array([1.0, 1.0, 2.0]))])
    table = midi.as_note_table(table.assign(start=table["start_beat"] / 2, end=table["end_beat"] / 2))
    inexact, drift = metrics.quantization_drift(table, rep.DEFAULT_DURATION_CLASSES)
    # only the 1.75 is not a class; it becomes a half note (the nearest class), which
    # pushes the soprano's later notes a quarter beat late: it ends at 4.25 instead of
    # 4, the bass exactly, so the mean gap is 0.125 beats
    assert inexact == pytest.approx(1 / 6)
    assert drift == pytest.approx(0.125)
    assert metrics.quantization_drift(table, (0.25, 1.0, 1.75, 2.0)) == (0.0, 0.0)
    with pytest.raises(ValueError, match="start_beat/end_beat"):
        metrics.quantization_drift(table.drop(columns=["start_beat", "end_beat"]), (1.0,))
