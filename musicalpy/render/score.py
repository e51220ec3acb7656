"""Seeing music as a score: a note table notated with music21, engraved by verovio.

:func:`prepare_score` builds an engraving-ready music21 score from a note table
(quantized on a grid chosen per beat, overlaps resolved into voices, notes split at
beats and barlines with ties, clefs and a key signature); :func:`show_score` and
:func:`write_score_svg` engrave it with verovio (no MuseScore needed).

music21, verovio and IPython are imported inside the functions that need them.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
import warnings
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._config import check_int
from ..midi import BEAT_COLUMNS, DEFAULT_TEMPO, as_note_table, from_music21
from ..names import key_spelling

__all__ = [
    "Notation",
    "TICKS_PER_QUARTER",
    "MAX_VOICES",
    "prepare_score",
    "show_score",
    "write_score_svg",
    "write_musicxml",
    "choose_clef",
]


#: Quantized times are integers in these units: 12 per quarter note holds both the
#: sixteenth grid (3 ticks) and the eighth-triplet grid (4 ticks) exactly.
TICKS_PER_QUARTER = 12
#: A part never gets more voices than this; a note that would need another voice cuts
#: short the voice whose note ends first (see :func:`prepare_score`).
MAX_VOICES = 4
_BAR_QUARTERS = 4  # a note table without a Notation is engraved in 4/4


@dataclasses.dataclass(frozen=True)
class Notation:
    """How to write a note table that carries no notation of its own: key, meter, pickup.

    A harmonization is written in its melody's notation
    (:attr:`musicalpy.melody.Melody.notation`); without one, a note table is engraved in
    4/4 from a downbeat with the key :func:`musicalpy.analysis.find_key` finds.

    Attributes
    ----------
    key : str or None
        ``"B- major"``, ``"F# minor"`` (any name :func:`musicalpy.names.parse_key_name`
        reads): the key signature, and the spelling of every pitch
        (:func:`musicalpy.names.key_spelling`). None: found by analysis.
    time_signature : str
        ``"3/4"``, ``"6/8"``, ...
    pickup_beats : float
        Quarter notes of the opening anacrusis: the first bar holds only these, as a
        pickup measure (numbered 0) of the score.
    spelling : tuple of 12 str or None
        Names of pitch classes 0-11 (``"B-"`` or ``"A#"`` for 10) replacing the key's
        spelling, e.g. the melody's own.
    """

    key: str | None = None
    time_signature: str = "4/4"
    pickup_beats: float = 0.0
    spelling: tuple[str, ...] | None = None

    def __post_init__(self):
        from ..analysis import bar_length
        from ..names import parse_key_name

        if self.key is not None:
            parse_key_name(self.key)  # a ValueError quoting the name
        bar = bar_length(self.time_signature, default=None)
        if not 0 <= float(self.pickup_beats) < bar:
            raise ValueError(f"pickup_beats must be at least 0 and shorter than a bar of {self.time_signature} "
                             f"({bar:g} quarter notes), got {self.pickup_beats!r}")
        if self.spelling is not None and len(self.spelling) != 12:
            raise ValueError(f"spelling must name the 12 pitch classes, got {len(self.spelling)} names")

    def bar_ticks(self) -> int:
        """One bar in :data:`TICKS_PER_QUARTER` units."""
        from ..analysis import bar_length

        return int(round(bar_length(self.time_signature) * TICKS_PER_QUARTER))

    def lead_ticks(self) -> int:
        """How far (ticks) the first bar line moves the music: the part of the first bar
        before the pickup (0 without one)."""
        pickup = int(round(float(self.pickup_beats) * TICKS_PER_QUARTER))
        return (self.bar_ticks() - pickup) % self.bar_ticks()

    def music21_key(self, table: pd.DataFrame):
        """The music21 Key: this key, or the key :func:`_analyze_key` finds in ``table``."""
        if self.key is None:
            return _analyze_key(table)
        from music21 import key

        tonic, _, mode = self.key.strip().rpartition(" ")
        return key.Key(tonic[0].upper() + tonic[1:].replace("b", "-"), mode.lower())

    def pitch_names(self, key_obj) -> tuple[str, ...]:
        """The twelve pitch-class names the score spells with."""
        names = list(key_spelling(f"{key_obj.tonic.name} {key_obj.mode}"))
        if self.spelling is not None:
            names = [str(n) for n in self.spelling]
        return tuple(names)


def _check_tempo(tempo: float | None) -> None:
    if tempo is not None and not (isinstance(tempo, (int, float, np.number)) and 1.0 <= tempo <= 1000.0):
        raise ValueError(f"tempo must be between 1 and 1000 quarter notes per minute, got {tempo!r}")


def _quarters(table: pd.DataFrame, tempo: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Note starts and ends in quarter notes, and the tempo they imply.

    An explicit ``tempo`` reads the seconds at that tempo; otherwise the beat columns
    are used when present, else the seconds at the table's implied tempo.
    """
    from ..midi import implied_tempo

    has_beats = tempo is None and set(BEAT_COLUMNS) <= set(table.columns) and bool(
        np.isfinite(table[BEAT_COLUMNS].to_numpy(float)).all()
    )
    _check_tempo(tempo)
    if tempo is None:
        tempo = implied_tempo(table) if len(table) else DEFAULT_TEMPO
    if has_beats:
        return table["start_beat"].to_numpy(float), table["end_beat"].to_numpy(float), tempo
    factor = tempo / 60.0
    return table["start"].to_numpy(float) * factor, table["end"].to_numpy(float) * factor, tempo


def _quantize_ticks(times: np.ndarray, divisors: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Snap times (quarter notes) to a grid chosen per beat.

    Each beat uses the one divisor (4: sixteenths, 3: eighth triplets) that moves the
    times inside it the least, so a beat never mixes sixteenths with triplets and every
    duration inside a beat is a simple note value.

    Returns
    -------
    ticks : np.ndarray, shape=(n,), dtype=int64
        The snapped times in :data:`TICKS_PER_QUARTER` units.
    step_per_beat : np.ndarray, shape=(n_beats,), dtype=int64
        The grid step (ticks) chosen for every beat from 0 to past the last time.
    """
    times = np.maximum(np.asarray(times, dtype=float), 0.0)
    n_beats = int(np.floor(times.max())) + 2 if len(times) else 1
    divisors = np.asarray(divisors, dtype=np.int64)
    beat = np.floor(times).astype(np.int64)
    fraction = times - beat
    cost = np.zeros((len(divisors), n_beats))
    for row, divisor in enumerate(divisors):
        error = np.abs(fraction * divisor - np.round(fraction * divisor)) / divisor
        cost[row] = np.bincount(beat, weights=error, minlength=n_beats)
    # Plain sixteenths win ties (and float noise) over triplets.
    cost[1:] += 1e-9
    chosen = divisors[np.argmin(cost, axis=0)]
    step_per_beat = TICKS_PER_QUARTER // chosen
    divisor = chosen[beat]
    ticks = beat * TICKS_PER_QUARTER + np.round(fraction * divisor).astype(np.int64) * (TICKS_PER_QUARTER // divisor)
    return ticks, step_per_beat


def _notation_events(
    table: pd.DataFrame,
    *,
    tempo: float | None = None,
    divisors: Sequence[int] = (4, 3),
    max_voices: int = MAX_VOICES,
) -> tuple[dict[str, list[list[tuple[int, int, tuple[int, ...]]]]], float]:
    """Quantize a note table and lay each part out in non-overlapping voices.

    Returns ``({part: [voice: [(start_tick, end_tick, pitches), ...]]}, tempo)``. Within
    a part, notes starting on the same grid point merge into one chord lasting as long
    as its longest note; a chord that overlaps every existing voice opens a new voice,
    and once ``max_voices`` are in use it cuts short the voice whose last chord ends
    first. Notes shorter than one grid step are lengthened to one step.
    """
    table = as_note_table(table)
    starts_q, ends_q, tempo = _quarters(table, tempo)
    layout: dict[str, list[list[tuple[int, int, tuple[int, ...]]]]] = {}
    parts = table["part"].to_numpy()
    pitches_all = table["pitch"].to_numpy(np.int64)
    for part in dict.fromkeys(parts):
        mask = parts == part
        ticks, step_per_beat = _quantize_ticks(np.concatenate([starts_q[mask], ends_q[mask]]), divisors)
        starts, ends = np.split(ticks, 2)
        step = step_per_beat[np.minimum(starts // TICKS_PER_QUARTER, len(step_per_beat) - 1)]
        ends = np.where(ends <= starts, starts + step, ends)
        chords: dict[int, list] = {}
        for start, end, pitch in zip(starts.tolist(), ends.tolist(), pitches_all[mask].tolist(), strict=True):
            entry = chords.setdefault(start, [end, set()])
            entry[0] = max(entry[0], end)
            entry[1].add(pitch)
        voices: list[list[tuple[int, int, tuple[int, ...]]]] = []
        for start in sorted(chords):
            end, pitch_set = chords[start]
            voice_ends = [voice[-1][1] for voice in voices]
            free = [v for v, voice_end in enumerate(voice_ends) if voice_end <= start]
            if free:
                target = free[0]
            elif len(voices) < max_voices:
                voices.append([])
                target = len(voices) - 1
            else:
                target = int(np.argmin(voice_ends))
                last_start, _, last_pitches = voices[target][-1]
                voices[target][-1] = (last_start, start, last_pitches)
            voices[target].append((start, end, tuple(sorted(pitch_set))))
        layout[str(part)] = voices
    return layout, tempo


def _split_span(start: int, end: int, bar: int) -> list[tuple[int, int]]:
    """Cut ``[start, end)`` (ticks) at barlines, and at the beats next to off-beat
    edges, so that every piece is a single expressible note value.

    A dotted quarter that starts on a beat stays one dotted note instead of a quarter
    tied to an eighth: it is how a musician writes it, and the beat it spans is still
    visible from the other voices."""
    q = TICKS_PER_QUARTER
    cuts = {start, end}
    cuts.update(range((start // bar + 1) * bar, end, bar))
    if start % q:
        cuts.add(min(end, (start // q + 1) * q))
    dotted_quarter = start % q == 0 and end - start == q + q // 2 and start // bar == (end - 1) // bar
    if end % q and not dotted_quarter:
        cuts.add(max(start, (end // q) * q))
    points = sorted(cuts)
    return [(a, b) for a, b in zip(points[:-1], points[1:], strict=True) if b > a]


def _voice_pieces(
    voice: list[tuple[int, int, tuple[int, ...]]], window: tuple[int, int], bar: int, lead: int = 0
) -> list[tuple[int, int, tuple[int, ...] | None, str | None]]:
    """A voice's chords inside ``window``, gaps filled with rests (pitches None), cut
    into expressible pieces: ``(start, end, pitches, tie)`` in ticks from the window
    start, ``tie`` being None or a music21 tie type. The first ``lead`` ticks (before
    a pickup) are one rest of their own, which the pickup measure leaves out."""
    timeline: list[tuple[int, int, tuple[int, ...] | None]] = []
    cursor = window[0]
    if window[0] < lead:
        timeline.append((window[0], lead, None))
        cursor = lead
    for start, end, pitches in voice:
        start, end = max(start, window[0]), min(end, window[1])
        if end <= start:
            continue
        if start > cursor:
            timeline.append((cursor, start, None))
        timeline.append((start, end, pitches))
        cursor = end
    if cursor < window[1]:
        timeline.append((cursor, window[1], None))
    pieces = []
    for start, end, pitches in timeline:
        spans = _split_span(start - window[0], end - window[0], bar)
        for index, (a, b) in enumerate(spans):
            kind = None
            if pitches is not None and len(spans) > 1:
                kind = "start" if index == 0 else "stop" if index == len(spans) - 1 else "continue"
            pieces.append((a, b, pitches, kind))
    return pieces


def _analyze_key(table: pd.DataFrame):
    """The key of the pitched notes by :func:`musicalpy.analysis.find_key`
    (Krumhansl-Schmuckler, duration-weighted), the one key analysis of the package;
    C major when there is nothing to analyze."""
    from music21 import key

    from ..analysis import find_key

    pitched = table[~table["is_drum"]]
    if pitched.empty:
        return key.Key("C")
    try:
        return find_key(pitched)
    except ValueError:  # a degenerate profile (one pitch class, no weight) has no key
        return key.Key("C")


#: The clefs a pitched part may get, with the MIDI pitches of their bottom and top
#: staff lines: treble (E4-F5), treble-8 (an octave lower, the tenor's clef) and bass
#: (G2-A3).
_CLEF_STAVES = {"treble": (64, 77), "treble8vb": (52, 65), "bass": (43, 57)}
#: Voice names (:data:`musicalpy.names.VOICES`, lower case) and the clef a choir score
#: gives them, whatever their pitches.
_VOICE_CLEFS = {"soprano": "treble", "alto": "treble", "tenor": "treble8vb", "bass": "bass"}


def choose_clef(pitches: Sequence[int] | np.ndarray, part_name: str | None = None) -> str:
    """The clef a part is engraved on.

    Parameters
    ----------
    pitches : sequence of int, shape=(n_notes,)
        The part's MIDI pitches.
    part_name : str, optional
        A part named after a choir voice (Soprano, Alto, Tenor, Bass; any case) gets
        that voice's clef: treble, treble, treble-8, bass.

    Returns
    -------
    clef : {"treble", "treble8vb", "bass"}
        For other parts, the clef whose staff the notes leave least: the mean distance
        (semitones) of the pitches outside its five lines, ties going to treble, then
        bass, so a part between the two staves gets the clef it needs fewest ledger
        lines on.
    """
    voice = str(part_name or "").strip().lower()
    if voice in _VOICE_CLEFS:
        return _VOICE_CLEFS[voice]
    values = np.asarray(pitches, dtype=float)
    if values.size == 0:
        return "treble"
    order = ("treble", "bass", "treble8vb")
    cost = [np.mean(np.maximum(_CLEF_STAVES[c][0] - values, 0) + np.maximum(values - _CLEF_STAVES[c][1], 0))
            for c in order]
    return order[int(np.argmin(cost))]


def _clef_object(name: str):
    from music21 import clef

    return {"treble": clef.TrebleClef, "treble8vb": clef.Treble8vbClef, "bass": clef.BassClef}[name]()


def _pitch(midi_number: int, names: Sequence[str]):
    from music21 import pitch

    p = pitch.Pitch(names[midi_number % 12])
    p.octave = 4
    p.octave = 4 + (midi_number - p.midi) // 12
    return p


def _measure_range(measures: int | tuple[int, int] | None) -> tuple[int, int | None]:
    if measures is None:
        return 1, None
    if isinstance(measures, (int, np.integer)) and not isinstance(measures, bool):
        return 1, check_int("measures", measures)
    if (
        isinstance(measures, (tuple, list))
        and len(measures) == 2
        and all(isinstance(m, (int, np.integer)) and not isinstance(m, bool) for m in measures)
    ):
        first, last = int(measures[0]), int(measures[1])
        if first < 1 or last < first:
            raise ValueError(f"measures=(first, last) needs 1 <= first <= last, got {measures}")
        return first, last
    raise ValueError(f"measures must be None, a number N (first N measures) or (first, last), got {measures!r}")


def _score_from_table(
    table: pd.DataFrame,
    measures: int | tuple[int, int] | None,
    *,
    tempo: float | None = None,
    divisors: Sequence[int] = (4, 3),
    max_voices: int = MAX_VOICES,
    notation: Notation | None = None,
):
    from music21 import chord, clef, instrument, key, meter, note, stream, tie
    from music21 import tempo as m21tempo

    notation = notation or Notation(time_signature=f"{_BAR_QUARTERS}/4")
    bar, lead = notation.bar_ticks(), notation.lead_ticks()
    layout, tempo = _notation_events(table, tempo=tempo, divisors=divisors, max_voices=max_voices)
    # A pickup: the music moves right by the part of the first bar it leaves empty.
    layout = {part: [[(a + lead, b + lead, pitches) for a, b, pitches in voice] for voice in voices]
              for part, voices in layout.items()}
    key_obj = notation.music21_key(table)
    # Scale tones as the key spells them, other tones with its kind of accidental.
    names = notation.pitch_names(key_obj)
    last_tick = max((voice[-1][1] for voices in layout.values() for voice in voices), default=0)
    n_total = max(1, -(-last_tick // bar))
    first, last = _measure_range(measures)
    first = min(first, n_total)
    last = n_total if last is None else min(last, n_total)
    window = ((first - 1) * bar, last * bar)
    n_measures = last - first + 1

    score = stream.Score()
    part_names = list(layout) or ["0"]
    for part_index, part_name in enumerate(part_names):
        rows = table[table["part"] == part_name]
        is_drum = bool(rows["is_drum"].iloc[0]) if len(rows) else False
        part = stream.Part(id=f"P{part_index + 1}")
        part.partName = part_name
        # A generic Instrument: music21's specific classes may transpose on export.
        inst = instrument.Instrument()
        inst.partName = part_name
        inst.midiProgram = int(rows["program"].iloc[0]) if len(rows) else 0
        if is_drum:
            inst.midiChannel = 9
        measure_objects = []
        for index in range(n_measures):
            measure = stream.Measure(number=first + index - (1 if lead else 0))
            if index == 0:
                if is_drum:
                    measure.insert(0, clef.PercussionClef())
                else:
                    measure.insert(0, _clef_object(choose_clef(rows["pitch"].to_numpy(), part_name)))
                    measure.insert(0, key.KeySignature(key_obj.sharps))
                measure.insert(0, meter.TimeSignature(notation.time_signature))
                if part_index == 0:
                    measure.insert(0, m21tempo.MetronomeMark(number=round(tempo, 2)))
            measure_objects.append(measure)

        voices = layout.get(part_name) or [[]]
        slots: dict[tuple[int, int], list[tuple[Fraction, Any]]] = {}
        for voice_index, voice in enumerate(voices):
            pieces = _voice_pieces(voice, window, bar, lead)
            # Secondary voices appear only in measures where they sound, and there
            # their rests are hidden: they would clutter the staff.
            sounding = {a // bar for a, _, pitches, _ in pieces if pitches is not None}
            for a, b, pitches, tie_kind in pieces:
                measure_index = a // bar
                if voice_index > 0 and measure_index not in sounding:
                    continue
                if pitches is None and window[0] + b <= lead:
                    continue  # before the pickup: not part of the pickup measure
                length = Fraction(b - a, TICKS_PER_QUARTER)
                if pitches is None:
                    element = note.Rest(quarterLength=length)
                    element.style.hideObjectOnPrint = voice_index > 0
                elif len(pitches) == 1:
                    element = note.Note(_pitch(pitches[0], names), quarterLength=length)
                else:
                    element = chord.Chord([_pitch(p, names) for p in pitches], quarterLength=length)
                if tie_kind:
                    element.tie = tie.Tie(tie_kind)
                offset = Fraction(a - measure_index * bar - (lead if window[0] + a < bar else 0), TICKS_PER_QUARTER)
                slots.setdefault((measure_index, voice_index), []).append((offset, element))
        for (measure_index, voice_index), elements in sorted(slots.items(), key=lambda item: item[0]):
            measure = measure_objects[measure_index]
            target = measure if len(voices) == 1 else stream.Voice(id=str(voice_index + 1))
            for offset, element in elements:
                target.insert(offset, element)
            if target is not measure:
                measure.insert(0, target)
        part.insert(0, inst)
        if lead and first == 1:
            measure_objects[0].paddingLeft = lead / TICKS_PER_QUARTER
        for index, measure in enumerate(measure_objects):
            part.insert(Fraction(index * bar - (lead if index and first == 1 else 0), TICKS_PER_QUARTER), measure)
        _make_beams(part)
        _show_accidentals(part, key.KeySignature(key_obj.sharps))
        score.insert(0, part)
    return score


def _show_accidentals(part, signature) -> None:
    """Decide which accidentals are printed: none for the key signature's own sharps or
    flats, one where a note leaves the key (and again after the barline). MusicXML
    written without this step prints every sharp and flat as an accidental."""
    from music21.stream.makeNotation import makeAccidentalsInMeasureStream

    try:
        makeAccidentalsInMeasureStream(part, useKeySignature=signature)
    except Exception:  # cosmetic, like beams: the pitches are right either way
        pass


def _make_beams(part) -> None:
    """Beam a part, or mark it beamed when music21 cannot: the MusicXML exporter would
    otherwise retry and fail on the same input (beams are cosmetic)."""
    try:
        part.makeBeams(inPlace=True)
    except Exception:
        part.streamStatus.beams = True


def _has_measures(stream_obj) -> bool:
    from music21 import stream

    if isinstance(stream_obj, stream.Score):
        parts = list(stream_obj.parts)
        return bool(parts) and all(p.hasMeasures() for p in parts)
    return stream_obj.hasMeasures()


def _complete_notation(score) -> None:
    """Give a measured score the clefs and key signature a reader expects."""
    from music21 import clef, key

    parts = list(score.parts)
    if not score.recurse().getElementsByClass(key.KeySignature):
        key_obj = score.analyze("key")
        for part in parts:
            first = part.getElementsByClass("Measure").first()
            if first is not None:
                first.insert(0, key.KeySignature(key_obj.sharps))
    for part in parts:
        first = part.getElementsByClass("Measure").first()
        if first is not None and not part.recurse().getElementsByClass(clef.Clef):
            first.insert(0, _clef_object(choose_clef([p.midi for p in part.pitches], part.partName)))


def prepare_score(
    source: Any,
    *,
    measures: int | tuple[int, int] | None = None,
    tempo: float | None = None,
    notation: Notation | None = None,
):
    """Build an engraving-ready music21 score from a note table or a music21 stream.

    Parameters
    ----------
    source : pd.DataFrame or music21.stream.Stream
        A note table (any notes: unquantized, overlapping, very short or very long), or
        a music21 score/part. A stream with measures is kept as written (a key
        signature and clefs are added when missing); a stream without measures is
        re-notated through its note table.
    measures : int or (int, int), optional
        The first N measures, or measures ``first`` to ``last`` (1-based, inclusive).
        Note tables are engraved in 4/4 from their first beat, so a pickup is not
        recognised; a music21 score keeps its own measure numbers.
    tempo : float, optional
        Quarter notes per minute at which to read a note table's seconds. Default: the
        table's ``start_beat``/``end_beat`` when present, else its implied tempo (120
        when it has no beats). Generated music in seconds lines up with the barlines
        only when this matches the tempo it was made at.
    notation : Notation, optional
        For a note table: the key signature, spelling, meter and pickup to write it in
        (a harmonization gets its melody's). Default: 4/4 from a downbeat, the key
        :func:`musicalpy.analysis.find_key` finds.

    Returns
    -------
    score : music21.stream.Score
        For a note table: one part per part, the meter (4/4 by default), a tempo mark,
        a clef per part (:func:`choose_clef`: treble, treble-8 for a tenor, or bass;
        percussion for drums), the key signature, and notes spelled in that key.

    Notes
    -----
    How a note table becomes notation:

    1. Times (beats when the table has them, else seconds at the implied tempo) snap to
       a grid chosen per beat: sixteenths or eighth triplets, whichever fits that beat
       better. Notes shorter than one step get one step.
    2. In each part, notes starting together become one chord lasting as long as its
       longest note. Overlapping chords go to separate voices, at most
       :data:`MAX_VOICES`; beyond that the voice whose chord ends first is cut short.
    3. Notes and rests are split at barlines, and at beats next to off-beat edges, and
       tied, so every piece is a plain (maybe dotted or triplet) note value; a
       dotted quarter on a beat stays one note.
    """
    from music21 import stream

    if isinstance(source, pd.DataFrame):
        return _score_from_table(as_note_table(source), measures, tempo=tempo, notation=notation)
    if isinstance(source, stream.Stream):
        if not _has_measures(source):
            return _score_from_table(from_music21(source), measures, tempo=tempo, notation=notation)
        score = source if isinstance(source, stream.Score) else stream.Score([source])
        first, last = _measure_range(measures)
        if measures is not None:
            # The score's own measure numbers: a pickup is measure 0 and not counted.
            numbers = [m.number for p in score.parts for m in p.getElementsByClass("Measure")]
            score = score.measures(first, last)
            if not any(p.getElementsByClass("Measure") for p in score.parts):
                raise ValueError(
                    f"measures={measures!r} selects nothing: the score has measures "
                    f"{min(numbers)}-{max(numbers)}"
                )
        # The caller's stream is left as it was; clefs and keys go into a copy.
        score = copy.deepcopy(score)
        _complete_notation(score)
        return score
    raise TypeError(f"source must be a note table (DataFrame) or a music21 stream, got {type(source).__name__}")


def _musicxml(score, *, make_notation: bool = True) -> str:
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    exporter = GeneralObjectExporter(score)
    # A score built by _score_from_table is already in measures, tied and filled with
    # rests; music21's makeNotation would only redo that work.
    exporter.makeNotation = make_notation
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = exporter.parse()
    return data.decode("utf-8") if isinstance(data, bytes) else str(data)


def _safe_musicxml(source: Any, measures, tempo: float | None = None, notation: Notation | None = None) -> str:
    """MusicXML for ``source``, never failing on a valid note table: a stream that
    music21 cannot export is re-notated from its notes, and if the fine grid still
    fails, the table is engraved on a plain sixteenth grid in one voice."""
    from music21 import stream

    # Bad arguments are the caller's to fix: check them before any fallback can hide them.
    _measure_range(measures)
    _check_tempo(tempo)
    if isinstance(source, stream.Stream) and _has_measures(source):
        score = prepare_score(source, measures=measures)
        try:
            return _musicxml(score)
        except Exception as exc:
            warnings.warn(f"music21 could not export the score as written ({exc}); re-notating its notes", stacklevel=3)
    if isinstance(source, stream.Stream):
        source = from_music21(source)
    if not isinstance(source, pd.DataFrame):
        raise TypeError(f"source must be a note table (DataFrame) or a music21 stream, got {type(source).__name__}")
    table = as_note_table(source)
    try:
        return _musicxml(_score_from_table(table, measures, tempo=tempo, notation=notation), make_notation=False)
    except Exception as exc:
        warnings.warn(f"engraving on the fine grid failed ({exc}); using sixteenths in one voice", stacklevel=3)
        return _musicxml(_score_from_table(table, measures, tempo=tempo, divisors=(4,), max_voices=1,
                                          notation=notation))


_VEROVIO_OPTIONS = {
    "scale": 40,
    "pageWidth": 2100,
    "pageHeight": 2970,
    "adjustPageHeight": True,
    "breaks": "auto",
    "header": "none",
    "footer": "none",
}


def _engrave(musicxml: str, page: int | None) -> list[str]:
    import verovio

    verovio.enableLog(verovio.LOG_OFF)
    toolkit = verovio.toolkit()
    toolkit.setOptions(dict(_VEROVIO_OPTIONS))
    if not toolkit.loadData(musicxml):
        raise RuntimeError("verovio could not read the MusicXML that music21 wrote")
    n_pages = toolkit.getPageCount()
    if page is not None:
        if check_int("page", page) > n_pages:
            raise ValueError(f"page must be between 1 and {n_pages} for this score, got {page}")
        return [toolkit.renderToSVG(page)]
    return [toolkit.renderToSVG(number) for number in range(1, n_pages + 1)]


def _stack_pages(pages: list[str]) -> str:
    """One SVG document showing the pages one below the other."""
    if len(pages) == 1:
        return pages[0]
    size = re.compile(r'<svg[^>]*?\swidth="([\d.]+)px"[^>]*?\sheight="([\d.]+)px"')
    nested, y, width = [], 0.0, 0.0
    for svg in pages:
        found = size.search(svg)
        w, h = (float(found.group(1)), float(found.group(2))) if found else (0.0, 0.0)
        nested.append(svg.replace("<svg", f'<svg y="{y:g}"', 1))
        y += h
        width = max(width, w)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{width:g}px" height="{y:g}px" version="1.1">' + "".join(nested) + "</svg>"
    )


def _score_svg(source: Any, measures, tempo: float | None = None, page: int | None = None,
               notation: Notation | None = None) -> str:
    return _stack_pages(_engrave(_safe_musicxml(source, measures, tempo, notation), page))


def show_score(
    source: Any,
    *,
    measures: int | tuple[int, int] | None = None,
    engine: str = "verovio",
    page: int | None = None,
    tempo: float | None = None,
    notation: Notation | None = None,
):
    """Engrave sheet music for a note table or music21 stream, for inline display.

    Parameters
    ----------
    source : pd.DataFrame or music21.stream.Stream
        What to engrave (see :func:`prepare_score` for how a note table is notated).
    measures : int or (int, int), optional
        The first N measures, or ``(first, last)`` (1-based, inclusive).
    engine : {"verovio", "musescore"}
        verovio engraves SVG in-process. ``"musescore"`` uses music21's
        ``write("musicxml.png")``, which needs MuseScore configured in music21
        (``music21.environment.set("musescoreDirectPNGPath", ...)``).
    page : int, optional
        Show only this page (1-based); default all pages, one below the other.
    tempo : float, optional
        Quarter notes per minute at which to read a note table's seconds (see
        :func:`prepare_score`).
    notation : Notation, optional
        A note table's key, meter and pickup (see :func:`prepare_score`).

    Returns
    -------
    image : IPython.display.HTML or IPython.display.Image
        The engraved SVG inline (its ``data`` is the SVG text; HTML rather than
        IPython's SVG, which re-parses the whole document); displays when it is the
        last expression of a notebook cell.
    """
    from IPython.display import HTML, Image

    if engine == "verovio":
        return HTML(_score_svg(source, measures, tempo, page, notation))
    if engine == "musescore":
        from music21 import environment

        configured = environment.Environment()["musescoreDirectPNGPath"]
        if not configured or not Path(str(configured)).exists():
            raise RuntimeError(
                "engine='musescore' needs MuseScore configured in music21: "
                "music21.environment.set('musescoreDirectPNGPath', '/path/to/mscore'); "
                "engine='verovio' needs nothing"
            )
        score = prepare_score(source, measures=measures, tempo=tempo, notation=notation)
        return Image(filename=str(score.write("musicxml.png")))
    raise ValueError(f"engine must be 'verovio' or 'musescore', got {engine!r}")


def write_score_svg(
    source: Any,
    path: str | os.PathLike,
    *,
    measures: int | tuple[int, int] | None = None,
    tempo: float | None = None,
    notation: Notation | None = None,
) -> Path:
    """Engrave ``source`` with verovio (see :func:`show_score`) into one SVG file,
    pages one below the other; return the path (parent folders are created).
    ``notation`` writes a note table in a given key, meter and pickup (:class:`Notation`)."""
    svg = _score_svg(source, measures, tempo, notation=notation)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(svg, encoding="utf-8")
    return path



def write_musicxml(
    source: Any,
    path: str | os.PathLike,
    *,
    measures: int | tuple[int, int] | None = None,
    tempo: float | None = None,
    notation: Notation | None = None,
) -> Path:
    """Write the MusicXML that :func:`write_score_svg` engraves (open it in MuseScore
    to edit the notation); return the path (parent folders are created).
    ``notation`` as for :func:`write_score_svg`."""
    musicxml = _safe_musicxml(source, measures, tempo, notation)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(musicxml, encoding="utf-8")
    return path
