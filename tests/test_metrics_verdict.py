"""Tests of musicalpy.metrics.verdict: whether samples are usable, from four criteria
beside real pieces' values, on tiny four-voice textures whose counts are known."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from musicalpy.metrics import VERDICT_CRITERIA, music_checks, music_verdict


def _piece(name: str, voices: dict[str, list[int]], beats_per_note: float = 1.0) -> pd.DataFrame:
    rows = []
    for part, pitches in voices.items():
        for i, pitch in enumerate(pitches):
            rows.append({"piece": name, "part": part, "pitch": pitch, "start": i * beats_per_note / 2,
                         "end": (i + 1) * beats_per_note / 2, "start_beat": i * beats_per_note,
                         "end_beat": (i + 1) * beats_per_note})
    return pd.DataFrame(rows)


# Four beats of C major and G major chords: no semitone clash, every voice moves on two beats.
BACH = _piece("bach", {"Soprano": [72, 74, 72, 74], "Alto": [67, 67, 64, 67], "Tenor": [64, 62, 60, 62],
                       "Bass": [48, 43, 48, 43]})


def test_music_checks_counts_clashes_changes_and_parts():
    clashing = _piece("x", {"Soprano": [72, 73, 73, 73], "Alto": [67, 67, 67, 67], "Tenor": [64, 64, 64, 64],
                            "Bass": [48, 48, 48, 48]})
    checks = music_checks(pd.concat([BACH, clashing]), parts=["Soprano", "Alto", "Tenor", "Bass"])
    assert checks.loc["bach", "clash_beats"] == 0 and checks.loc["bach", "sounding_beats"] == 4
    # C#5 against C3 (a semitone as pitch classes) on beats 1-3
    assert checks.loc["x", "clash_beats"] == 3 and checks.loc["x", "length"] == 4
    assert checks.loc["bach", "changes:Bass"] == 3 and checks.loc["x", "changes:Bass"] == 0
    assert checks.loc["x", "changes:Soprano"] == 1 and checks.loc["x", "parts_sounding"] == 4


def test_bach_against_itself_is_usable():
    verdict = music_verdict(BACH, BACH, asked_beats=4)
    assert verdict.usable and list(verdict.table["ok"]) == [True, True, True, True, True]
    assert verdict.table.iloc[3]["Bach"] == 4.0  # four distinct pitches on every beat
    assert "usable" in str(verdict)
    assert list(verdict.table.index)[1] == f"{VERDICT_CRITERIA[1]} (Soprano)"


def test_clashes_a_drone_a_missing_voice_and_an_early_end_are_each_named():
    bad = _piece("bad", {"Soprano": [72, 73], "Alto": [67, 67], "Bass": [48, 48]})  # no tenor, 2 beats, drone
    verdict = music_verdict(bad, BACH, asked_beats=4, label="joint LSTM")
    assert not verdict.usable
    table = verdict.table
    assert table.iloc[0]["samples"] == pytest.approx(50.0) and table.iloc[0]["Bach"] == 0.0
    assert table.iloc[2]["samples"] == 3 and table.iloc[2]["Bach"] == 4
    assert table.iloc[3]["samples"] == 3.0 and table.iloc[3]["limit"] == 3.0  # 75% of Bach's 4 pitches: still ok
    assert table.iloc[4]["samples"] == 2 and table.iloc[4]["limit"] == pytest.approx(3.6)
    text = str(verdict)
    assert text.startswith("joint LSTM: poor: a semitone clash on 50% of the sounding beats (Bach 0%)")
    assert "only 3 of 4 parts sound" in text and "2.0 beats long on average against 4 asked for" in text
    # alto and bass drone and the tenor is missing: the first of them is named, against Bach's alto
    assert "the Alto changes pitch 0.00 times per beat (Bach 0.50)" in text


def test_empty_samples_are_poor_and_length_without_a_request_is_unjudged():
    empty = music_verdict(BACH.iloc[0:0], BACH)
    assert not empty.usable and "no notes at all" in str(empty)
    unjudged = music_verdict(BACH, BACH)
    assert unjudged.table.iloc[4]["ok"] is None and math.isnan(unjudged.table.iloc[4]["limit"])


def test_a_thin_one_part_texture_is_poor_beside_a_full_one():
    # a piano roll has one part: only the number of pitches at a beat shows a missing texture
    full = BACH.assign(part="roll")
    thin = BACH[BACH["part"].isin(["Soprano", "Bass"])].assign(part="roll")
    verdict = music_verdict(thin, full)
    assert verdict.table.loc["parts that sound", "ok"]
    assert verdict.table.loc["pitches sounding per sounding beat", "samples"] == 2.0
    # the roll's notes ordered by onset and pitch: half the notes, fewer pitch changes too
    assert str(verdict) == ("the samples: poor: the roll changes pitch 1.75 times per beat (Bach 3.75); "
                            "2.0 pitches sound on a beat (Bach 4.0)")
    with pytest.raises(ValueError, match="reference must be a non-empty note table"):
        music_verdict(BACH, BACH.iloc[0:0])
