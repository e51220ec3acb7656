"""Judging four voices against Bach's: one row of voice-leading and motion measures, and the goals.

A harmonizer (or a model that rewrites part of a chorale) is judged on what it writes
beside Bach's own chorales, on the measures a reader of a chorale would check first:

* parallel fifths and octaves **per 100 voice-pair transitions**, by
  :func:`musicalpy.metrics.voice_leading_summary`'s rule (every pair of voices, beat to
  beat), and **per note** by Fang et al.'s rule (:func:`fang_parallels`), so both
  published ways of counting stand side by side;
* voice crossing (per 100 adjacent-pair transitions), notes out of each voice's range
  (%), chord-type overlap with Bach's, homorhythm (% of onsets shared by all sounding
  voices), as :func:`~musicalpy.metrics.voice_leading_summary` defines them;
* how much each voice **moves** (:func:`~musicalpy.metrics.voice_motion`): the share of
  beats on which it changes pitch and its distinct pitches per piece, as ratios to Bach's.
  A voice that barely moves writes few parallels, so no row is called close to Bach on
  parallels while its voices are static: :func:`meets_goals` asks for both.

:func:`judge_against_bach` gives the row, :func:`meets_goals` the verdict against
:data:`GOALS`.

References
----------
A. Fang, A. Liu, P. Seetharaman, B. Pardo, "Bach or Mock? A Grading Function for Chorales
in the Style of J.S. Bach", ICML Machine Learning for Media Discovery workshop, 2020. Their
grader (github.com/asdfang/constraint-transformer-bach, ``Grader/``) counts parallel
fifths and octaves between every pair of voices at each note where both voices move at
once, skipping motion out of a note under a fermata, and divides by the chorale's notes;
its stored ratio for Bach's chorales is about 0.0016 parallels per note (read from the
repository's pickled ``parallel_error_note_ratio``, decoded to three significant figures;
the paper's text does not print it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..midi import DEFAULT_TEMPO
from ..names import VOICES
from .voice_leading import _pieces_of, voice_leading_summary, voice_motion

__all__ = ["GOALS", "fang_parallels", "judge_against_bach", "meets_goals"]

#: The goals of a harmonizer against Bach (issue "Harmonize my melody"): parallel fifths
#: and octaves and voice crossing at most ``factor`` times Bach's, and every voice moving
#: as much as Bach's within ``motion`` (both the share of beats that change and the
#: distinct pitches, as ratios).
GOALS: Mapping[str, float] = {"parallels": 1.5, "crossing": 1.5, "motion": 0.25}


def _beats(group: pd.DataFrame, tempo: float) -> tuple[np.ndarray, np.ndarray]:
    if {"start_beat", "end_beat"} <= set(group.columns) and group[["start_beat", "end_beat"]].notna().all().all():
        return group["start_beat"].to_numpy(float), group["end_beat"].to_numpy(float)
    return group["start"].to_numpy(float) * tempo / 60.0, group["end"].to_numpy(float) * tempo / 60.0


def fang_parallels(notes: pd.DataFrame, *, tempo: float = DEFAULT_TEMPO) -> pd.DataFrame:
    """Parallel fifths and octaves by Fang et al.'s rule, per piece.

    For each pair of voices (upper, lower) and each note of the upper voice that starts
    where its previous note ends, the lower voice must start a note at the same moment,
    also right after a note of its own; the four notes are a **quartet**. A quartet
    whose first notes carry no fermata is a parallel fifth when both vertical intervals
    are a fifth (7 semitones modulo 12) and a parallel octave when both are unisons or
    octaves (0 modulo 12), the two voices moving the same way. Intervals are read from
    MIDI pitches, so a diminished fifth spelled as such in a score would count here.

    Parameters
    ----------
    notes : pd.DataFrame
        Many pieces, parts Soprano, Alto, Tenor, Bass (others ignored); ``fermata`` read
        where present.
    tempo : float
        For tables without beat columns.

    Returns
    -------
    pd.DataFrame
        Index ``piece``; columns ``parallel_fifths``, ``parallel_octaves``, ``notes``
        (the piece's notes in the four voices) and ``per_note`` (both parallels per note).
    """
    rows = {}
    for piece, group in _pieces_of(notes):
        group = group[group["part"].astype(str).isin(VOICES)]
        start, end = _beats(group, tempo)
        voices = {}
        for voice in VOICES:
            mine = (group["part"].astype(str) == voice).to_numpy()
            order = np.argsort(start[mine], kind="stable")
            fermata = (group["fermata"].fillna(False).astype(bool).to_numpy()[mine] if "fermata" in group.columns
                       else np.zeros(mine.sum(), bool))
            voices[voice] = (np.round(start[mine][order], 6), np.round(end[mine][order], 6),
                             group["pitch"].to_numpy(int)[mine][order], fermata[order])
        fifths = octaves = 0
        for upper in range(len(VOICES)):
            for lower in range(upper + 1, len(VOICES)):
                us, ue, up, uf = voices[VOICES[upper]]
                ls, le, lp, lf = voices[VOICES[lower]]
                starts = {s: i for i, s in enumerate(ls)}
                for i in range(1, len(us)):
                    if ue[i - 1] != us[i] or us[i] not in starts:
                        continue
                    j = starts[us[i]]
                    if j == 0 or le[j - 1] != ls[j] or uf[i - 1] or lf[j - 1]:
                        continue
                    before, after = up[i - 1] - lp[j - 1], up[i] - lp[j]
                    moves_up, moves_low = np.sign(up[i] - up[i - 1]), np.sign(lp[j] - lp[j - 1])
                    if moves_up == 0 or moves_up != moves_low:
                        continue
                    if before % 12 == 7 and after % 12 == 7:
                        fifths += 1
                    elif before % 12 == 0 and after % 12 == 0:
                        octaves += 1
        n = len(group)
        rows[piece] = {"parallel_fifths": fifths, "parallel_octaves": octaves, "notes": n,
                       "per_note": (fifths + octaves) / n if n else math.nan}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["parallel_fifths", "parallel_octaves", "notes",
                                                                  "per_note"])
    frame.index.name = "piece"
    return frame


def _motion_ratios(mine: pd.DataFrame, bach: pd.DataFrame) -> dict[str, float]:
    out = {}
    for voice in VOICES:
        for column, short in (("beats_changing", "moves"), ("distinct_pitches", "pitches")):
            ref = float(bach.loc[voice, column])
            out[f"{voice} {short} (x Bach)"] = float(mine.loc[voice, column]) / ref if ref else math.nan
    return out


def judge_against_bach(notes: pd.DataFrame, bach: pd.DataFrame, *, chords_of: pd.DataFrame | None = None,
                       tempo: float = DEFAULT_TEMPO) -> dict[str, float]:
    """One row of measures of four-voice pieces, with Bach's ratios.

    Parameters
    ----------
    notes : pd.DataFrame
        The pieces judged (many, by ``piece``): harmonizations, rewrites, or Bach's own.
    bach : pd.DataFrame
        Bach's chorales the motion ratios are taken against.
    chords_of : pd.DataFrame, optional
        The chorales whose chord types ``chord_type_overlap`` compares with (default
        ``bach``; give other chorales, e.g. the training split, for Bach's own row).
    tempo : float

    Returns
    -------
    dict
        ``parallels per 100`` (fifths and octaves per 100 voice-pair transitions),
        ``parallels per note (Fang)``, ``voice crossing``, ``out of range``,
        ``chord-type overlap``, ``homorhythm``, and per voice ``<voice> moves (x Bach)``
        and ``<voice> pitches (x Bach)``, plus ``motion: worst`` (the largest distance
        of those ratios from 1).
    """
    summary = voice_leading_summary(notes, bach if chords_of is None else chords_of, tempo=tempo)
    fang = fang_parallels(notes, tempo=tempo)
    n = fang["notes"].sum()
    row = {"parallels per 100": float(summary["parallel_fifths"] + summary["parallel_octaves"]),
           "parallels per note (Fang)": float((fang["parallel_fifths"] + fang["parallel_octaves"]).sum() / n)
           if n else math.nan,
           "voice crossing": float(summary["voice_crossing"]), "out of range": float(summary["out_of_range"]),
           "chord-type overlap": float(summary["chord_type_overlap"]), "homorhythm": float(summary["homorhythm"])}
    ratios = _motion_ratios(voice_motion(notes, tempo=tempo), voice_motion(bach, tempo=tempo))
    row.update(ratios)
    distances = [abs(r - 1) for r in ratios.values()]
    row["motion: worst"] = max(distances) if distances and all(math.isfinite(d) for d in distances) else math.nan
    return row


def meets_goals(row: Mapping[str, Any], bach_row: Mapping[str, Any], *, goals: Mapping[str, float] = GOALS,
                parallels: float | None = None) -> dict[str, bool | None]:
    """Each goal of :data:`GOALS` for a row of :func:`judge_against_bach`, against Bach's row.

    ``parallels`` overrides the parallels factor (the rewriting goal allows 2x). A
    measure that is NaN (a voice never written) gives None, "not measured".
    """
    factor = goals["parallels"] if parallels is None else parallels

    def at_most(value: float, bound: float) -> bool | None:
        return None if not (math.isfinite(value) and math.isfinite(bound)) else bool(value <= bound + 1e-12)

    verdict = {"parallels": at_most(float(row["parallels per 100"]), factor * float(bach_row["parallels per 100"])),
               "crossing": at_most(float(row["voice crossing"]), goals["crossing"] * float(bach_row["voice crossing"])),
               "motion": at_most(float(row["motion: worst"]), goals["motion"])}
    known = [v for v in verdict.values() if v is not None]
    verdict["all"] = None if len(known) < len(verdict) else all(known)
    return verdict
