"""Is generated music usable? A verdict from five measured criteria set beside Bach's values.

Mean overlapping areas and bits say how close a model comes; they do not say when its
samples are unusable. :func:`music_verdict` measures five plain things on the samples
and on reference pieces (Bach's held-out chorales, in the same form as the samples) and
calls the samples **poor** when any of them is far from the reference:

=====================================  ===========================================================
criterion                              measured as, and when it fails
=====================================  ===========================================================
beats with a semitone clash (%)        share of the whole beats at which something sounds where two
                                       sounding pitches are a semitone apart as pitch classes (minor
                                       second, major seventh, minor ninth, ...); fails above twice the
                                       reference's share and above the reference's share + 5 points
pitch changes per beat, least-moving   per part, notes whose pitch differs from the part's previous
part                                   note, per beat of the pieces (a missing part counts 0); the
                                       part that moves least is shown; fails below half the
                                       reference's value for that part
parts that sound                       of the reference's parts, how many have a note, in the sample
                                       that has fewest; fails below the reference's fewest
pitches sounding per sounding beat     mean number of distinct pitches at the whole beats where
                                       something sounds (how full the texture is, also for a one-part
                                       piano roll); fails below 75% of the reference's
length (beats)                         mean length of a sample; fails below 90% of the length asked
                                       for (without one, it is shown beside the reference, unjudged)
=====================================  ===========================================================

Beats are quarter notes from the start of a piece (``start_beat``/``end_beat``, else
seconds at ``tempo``); a note sounds at beat ``b`` when ``start <= b < end``. Counts are
pooled over the pieces of a set before dividing.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..midi import DEFAULT_TEMPO
from ..names import VOICES

__all__ = ["VERDICT_CRITERIA", "MusicVerdict", "music_checks", "music_verdict"]

#: The rows of :attr:`MusicVerdict.table`, in order.
VERDICT_CRITERIA: tuple[str, ...] = ("beats with a semitone clash (%)", "pitch changes per beat, least-moving part",
                                     "parts that sound", "pitches sounding per sounding beat", "length (beats)")

# How far from the reference a criterion may be before the samples are called poor.
_CLASH_FACTOR, _CLASH_POINTS = 2.0, 5.0
_MOTION_SHARE = 0.5
_FULLNESS_SHARE = 0.75
_LENGTH_SHARE = 0.9


def _beat_times(notes: pd.DataFrame, tempo: float) -> tuple[np.ndarray, np.ndarray]:
    if {"start_beat", "end_beat"} <= set(notes.columns) and notes[["start_beat", "end_beat"]].notna().all().all():
        return notes["start_beat"].to_numpy(float), notes["end_beat"].to_numpy(float)
    scale = tempo / 60.0
    return notes["start"].to_numpy(float) * scale, notes["end"].to_numpy(float) * scale


def _piece_counts(notes: pd.DataFrame, parts: Sequence[str], tempo: float) -> dict[str, float]:
    """Raw counts of one piece: sounding and clashing beats, length, pitch changes per part."""
    start, end = _beat_times(notes, tempo)
    pitch = notes["pitch"].to_numpy(int)
    length = float(end.max()) if len(end) else 0.0
    beats = np.arange(math.ceil(length)) if length > 0 else np.arange(0)
    presence = np.zeros((len(beats), 12), dtype=bool)
    if len(beats):
        sounding = (start[:, None] <= beats[None, :]) & (end[:, None] > beats[None, :])
        note_index, beat_index = np.nonzero(sounding)
        presence[beat_index, pitch[note_index] % 12] = True
    clash = (presence & np.roll(presence, -1, axis=1)).any(axis=1)
    pitches = np.zeros((len(beats), 128), dtype=bool)
    if len(beats):
        pitches[beat_index, pitch[note_index]] = True
    counts = {"length": length, "sounding_beats": float(presence.any(axis=1).sum()), "clash_beats": float(clash.sum()),
              "sounding_pitches": float(pitches.sum()),
              "parts_sounding": float(sum(bool((notes["part"] == part).any()) for part in parts))}
    for part in parts:
        own = notes[notes["part"] == part]
        ordered = own.assign(_start=start[(notes["part"] == part).to_numpy()]).sort_values(["_start", "pitch"])
        counts[f"changes:{part}"] = float(np.count_nonzero(np.diff(ordered["pitch"].to_numpy(int))))
    return counts


def music_checks(notes: pd.DataFrame, *, parts: Sequence[str] | None = None,
                 tempo: float = DEFAULT_TEMPO) -> pd.DataFrame:
    """The verdict's raw counts, one row per piece.

    Parameters
    ----------
    notes : pd.DataFrame
        A note table of one or more pieces (``piece``, ``part``, ``pitch``, times).
    parts : sequence of str, optional
        The parts that should sound (default: those of ``notes``, in
        :data:`musicalpy.names.VOICES` order first).
    tempo : float
        Quarter notes per minute, for tables without beat columns.

    Returns
    -------
    pd.DataFrame
        Index ``piece``; columns ``length``, ``sounding_beats``, ``clash_beats``,
        ``sounding_pitches`` (distinct pitches summed over the sounding beats),
        ``parts_sounding`` and ``changes:<part>`` for each part.
    """
    if parts is None:
        present = list(dict.fromkeys(notes["part"].astype(str))) if len(notes) else []
        parts = [v for v in VOICES if v in present] + sorted(p for p in present if p not in VOICES)
    rows = {piece: _piece_counts(group, parts, tempo) for piece, group in notes.groupby("piece", sort=False)}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "piece"
    return frame


def _summary(checks: pd.DataFrame, parts: Sequence[str]) -> dict[str, float]:
    beats = checks["length"].sum()
    sounding = checks["sounding_beats"].sum()
    return {"clash": 100.0 * checks["clash_beats"].sum() / sounding if sounding else math.nan,
            **{part: checks[f"changes:{part}"].sum() / beats if beats else math.nan for part in parts},
            "parts": float(checks["parts_sounding"].min()) if len(checks) else 0.0,
            "fullness": checks["sounding_pitches"].sum() / sounding if sounding else 0.0,
            "length": float(checks["length"].mean()) if len(checks) else 0.0}


@dataclasses.dataclass(frozen=True)
class MusicVerdict:
    """The outcome of :func:`music_verdict`.

    Attributes
    ----------
    table : pd.DataFrame
        One row per criterion (:data:`VERDICT_CRITERIA`): ``samples``, ``reference``,
        ``limit`` (the value a sample may not pass) and ``ok`` (True, False, or None when
        unjudged).
    problems : list of str
        One phrase per failed criterion, with both values.
    label : str
        What the samples are (for the sentence).
    """

    table: pd.DataFrame
    problems: list[str]
    label: str = "the samples"

    @property
    def usable(self) -> bool:
        """True when no criterion failed."""
        return not self.problems

    def __str__(self) -> str:
        if self.usable:
            return f"{self.label}: usable by these five measures (each within its limit of the reference's value)"
        return f"{self.label}: poor: " + "; ".join(self.problems)


def music_verdict(samples: pd.DataFrame, reference: pd.DataFrame, *, asked_beats: float | None = None,
                  parts: Sequence[str] | None = None, label: str = "the samples",
                  reference_label: str = "Bach", tempo: float = DEFAULT_TEMPO) -> MusicVerdict:
    """Say whether generated music is usable, from five criteria beside the reference's.

    Parameters
    ----------
    samples : pd.DataFrame
        The generated pieces (a note table of one or more pieces).
    reference : pd.DataFrame
        Real pieces in the same form (e.g. Bach's test or validation chorales, or their
        soprano lines for a soprano model); their parts are the parts that should sound
        unless ``parts`` is given.
    asked_beats : float, optional
        The length each sample was asked to have, in beats.
    parts : sequence of str, optional
        The parts that should sound.
    label, reference_label : str
        Names in the sentence and the table.
    tempo : float
        Quarter notes per minute, for tables without beat columns.

    Returns
    -------
    MusicVerdict
        Its ``table`` sets each measured value beside the reference's; ``str()`` gives the
        verdict in one sentence. Empty samples are poor (nothing sounds).
    """
    if not isinstance(reference, pd.DataFrame) or reference.empty:
        raise ValueError("reference must be a non-empty note table of real pieces")
    if parts is None:
        present = list(dict.fromkeys(reference["part"].astype(str)))
        parts = [v for v in VOICES if v in present] + sorted(p for p in present if p not in VOICES)
    parts = list(parts)
    real = _summary(music_checks(reference, parts=parts, tempo=tempo), parts)
    if samples is None or samples.empty:
        table = pd.DataFrame({"samples": [math.nan, 0.0, 0.0, 0.0, 0.0],
                              "reference": [real["clash"], min(real[p] for p in parts), real["parts"], real["fullness"],
                                            real["length"]],
                              "limit": [math.nan] * 5, "ok": [None, False, False, False, None]},
                             index=list(VERDICT_CRITERIA))
        table = table.rename(columns={"reference": reference_label})
        return MusicVerdict(table, ["no notes at all"], label)
    made = _summary(music_checks(samples, parts=parts, tempo=tempo), parts)
    laziest = min(parts, key=lambda p: (made[p] / real[p]) if real[p] else math.inf)
    clash_limit = max(_CLASH_FACTOR * real["clash"], real["clash"] + _CLASH_POINTS)
    motion_limit = _MOTION_SHARE * real[laziest]
    fullness_limit = _FULLNESS_SHARE * real["fullness"]
    length_limit = _LENGTH_SHARE * asked_beats if asked_beats else math.nan
    rows = {
        VERDICT_CRITERIA[0]: (made["clash"], real["clash"], clash_limit, bool(made["clash"] <= clash_limit)),
        VERDICT_CRITERIA[1]: (made[laziest], real[laziest], motion_limit, bool(made[laziest] >= motion_limit)),
        VERDICT_CRITERIA[2]: (made["parts"], real["parts"], real["parts"], bool(made["parts"] >= real["parts"])),
        VERDICT_CRITERIA[3]: (made["fullness"], real["fullness"], fullness_limit,
                              bool(made["fullness"] >= fullness_limit)),
        VERDICT_CRITERIA[4]: (made["length"], real["length"], length_limit,
                              bool(made["length"] >= length_limit) if asked_beats else None),
    }
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["samples", reference_label, "limit", "ok"])
    table.index = [VERDICT_CRITERIA[0], f"{VERDICT_CRITERIA[1]} ({laziest})", *VERDICT_CRITERIA[2:]]
    problems = []
    if not rows[VERDICT_CRITERIA[0]][3]:
        problems.append(f"a semitone clash on {made['clash']:.0f}% of the sounding beats ({reference_label} "
                        f"{real['clash']:.0f}%)")
    if not rows[VERDICT_CRITERIA[1]][3]:
        problems.append(f"the {laziest} changes pitch {made[laziest]:.2f} times per beat ({reference_label} "
                        f"{real[laziest]:.2f})")
    if not rows[VERDICT_CRITERIA[2]][3]:
        problems.append(f"only {made['parts']:.0f} of {len(parts)} parts sound in some sample "
                        f"({reference_label} {real['parts']:.0f})")
    if not rows[VERDICT_CRITERIA[3]][3]:
        problems.append(f"{made['fullness']:.1f} pitches sound on a beat ({reference_label} {real['fullness']:.1f})")
    if rows[VERDICT_CRITERIA[4]][3] is False:
        problems.append(f"{made['length']:.1f} beats long on average against {asked_beats:g} asked for")
    return MusicVerdict(table, problems, label)
