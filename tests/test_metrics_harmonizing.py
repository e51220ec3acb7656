"""Judging four voices against Bach's: Fang et al.'s parallels, the motion ratios, the goals."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from musicalpy.metrics import HARMONIZING_GOALS, fang_parallels, judge_against_bach, meets_goals


def _chorale(lines: dict[str, list[int]], piece: str = "p", fermata_at: int | None = None) -> pd.DataFrame:
    """Quarter notes, one list of MIDI pitches per voice, all voices in step."""
    rows = []
    for part, pitches in lines.items():
        for index, pitch in enumerate(pitches):
            rows.append({"piece": piece, "part": part, "pitch": pitch, "start_beat": float(index),
                         "end_beat": float(index + 1), "start": index * 0.6, "end": (index + 1) * 0.6,
                         "fermata": index == fermata_at})
    return pd.DataFrame(rows)


# S and B move in parallel octaves twice (C-D-E over C-D-E), A and T in contrary motion.
PARALLEL = {"Soprano": [72, 74, 76, 77], "Alto": [67, 65, 64, 62], "Tenor": [64, 65, 67, 69],
            "Bass": [48, 50, 52, 41]}


def test_fang_parallels_counts_the_quartets_that_move_together():
    counted = fang_parallels(_chorale(PARALLEL))
    row = counted.loc["p"]
    # S-B: 72/48 -> 74/50 -> 76/52 are octaves moving up twice; 76/52 -> 77/41 moves apart.
    assert row["parallel_octaves"] == 2 and row["parallel_fifths"] == 0
    assert row["notes"] == 16 and row["per_note"] == pytest.approx(2 / 16)
    # A fermata on the first note of a quartet excuses its motion (Fang et al. skip it).
    assert fang_parallels(_chorale(PARALLEL, fermata_at=0)).loc["p", "parallel_octaves"] == 1
    # Parallel fifths: S over T a fifth apart, moving together.
    fifths = {"Soprano": [72, 74, 76, 77], "Alto": [67, 67, 67, 67], "Tenor": [65, 67, 69, 60],
              "Bass": [48, 43, 36, 41]}
    assert fang_parallels(_chorale(fifths)).loc["p", "parallel_fifths"] == 2
    # A repeated note is no motion: an octave held over a repeated bass is not a parallel.
    still = {"Soprano": [72, 72, 72, 72], "Alto": [67, 65, 64, 65], "Tenor": [64, 62, 60, 62],
             "Bass": [48, 48, 48, 48]}
    assert fang_parallels(_chorale(still)).loc["p", ["parallel_fifths", "parallel_octaves"]].sum() == 0


def test_bach_against_itself_meets_every_goal_and_static_voices_do_not():
    bach = pd.concat([_chorale(PARALLEL, "a"), _chorale({**PARALLEL, "Alto": [69, 67, 65, 64]}, "b")])
    row = judge_against_bach(bach, bach)
    for voice in ("Soprano", "Alto", "Tenor", "Bass"):
        assert row[f"{voice} moves (x Bach)"] == pytest.approx(1.0)
        assert row[f"{voice} pitches (x Bach)"] == pytest.approx(1.0)
    assert row["motion: worst"] == pytest.approx(0.0)
    assert row["chord-type overlap"] == pytest.approx(1.0)
    assert meets_goals(row, row) == {"parallels": True, "crossing": True, "motion": True, "all": True}
    # An alto that holds one pitch moves on no beat: motion fails though it writes no parallels.
    static = bach.assign(pitch=bach["pitch"].where(bach["part"] != "Alto", 67))
    held = judge_against_bach(static, bach)
    assert held["Alto moves (x Bach)"] == 0.0 and held["motion: worst"] == pytest.approx(1.0)
    verdict = meets_goals(held, row)
    assert verdict["motion"] is False and verdict["all"] is False
    assert HARMONIZING_GOALS["motion"] == 0.25


def test_parallels_above_bachs_rate_miss_the_goal_and_a_silent_voice_is_not_measured():
    bach = _chorale({**PARALLEL, "Bass": [53, 50, 48, 41]}, "a")  # no parallels at all
    bach_row = judge_against_bach(bach, bach)
    model = _chorale(PARALLEL, "a")
    model_row = judge_against_bach(model, bach)
    assert model_row["parallels per 100"] > 0 == bach_row["parallels per 100"]
    assert meets_goals(model_row, bach_row)["parallels"] is False
    silent = model[model["part"] != "Tenor"]
    silent_row = judge_against_bach(silent, bach)
    assert math.isnan(silent_row["motion: worst"])
    assert meets_goals(silent_row, bach_row)["motion"] is None
