"""A melody to harmonize: the one object every harmonizing model kind receives.

:class:`Melody` is the contract between :meth:`musicalpy.zoo.ZooModel.harmonize` (which
reads a MIDI or MusicXML file or an Essen tune, checks it and moves it into the soprano's
range) and each family's :meth:`~musicalpy.families.base.Family.harmonize` (which writes
the alto, tenor and bass under it). Loading and checking live here too (see
:func:`load_melody`), and so does the rule that places cadences in a melody that marks
none (:func:`infer_fermatas`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._config import MusicalPyError
from .midi import DEFAULT_TEMPO

__all__ = ["Melody", "MelodyError", "load_melody", "infer_fermatas", "fit_to_range", "soprano_melody",
           "MELODY_PART_NAMES"]


@dataclasses.dataclass(frozen=True)
class Melody:
    """One monophonic line, in quarter-note beats from 0.

    Attributes
    ----------
    notes : pandas.DataFrame
        Columns ``pitch`` (int, MIDI), ``start_beat``, ``end_beat`` (float, quarter
        notes); sorted by ``start_beat``, no two notes overlap. Rests are gaps.
    time_signature : str
        As ``"4/4"`` or ``"3/4"``; beat positions (strong and weak beats) follow from it.
    fermatas : tuple of float
        ``start_beat`` of every note carrying a fermata (the phrase ends a chorale
        melody marks), possibly empty.
    name : str
        Used as the ``piece`` of the harmonization.
    transposed_by : int
        Semitones the melody was moved by to fit the soprano's range (0 when it fit);
        the harmonization is moved back by the same amount.
    key : str or None
        The key it is written in, as ``"B- major"`` / ``"F# minor"``: its key
        signature's major or minor key (whichever the melody's notes fit better); for a
        source without a key signature (tinyNotation, most MIDI files), the key a
        Krumhansl analysis ranks highest among those whose scale holds all the melody's
        notes (so ``e f g`` gets no sharps or flats). None: not known.
    pickup_beats : float
        Quarter notes of the opening anacrusis (0: the melody starts on a downbeat), so
        bar lines fall at ``pickup_beats + k * bar``.
    spelling : tuple of 12 str or None
        How the melody spells each pitch class (``spelling[10]`` is ``"B-"`` or
        ``"A#"``): the key's spelling where the melody has no note of that class.
        Everything written in the melody's key (the harmonization's score) spells so.
    fermatas_inferred : bool
        True when :func:`infer_fermatas` placed the fermatas (the source had none).
    """

    notes: pd.DataFrame
    time_signature: str = "4/4"
    fermatas: tuple[float, ...] = ()
    name: str = "melody"
    transposed_by: int = 0
    key: str | None = None
    pickup_beats: float = 0.0
    spelling: tuple[str, ...] | None = None
    fermatas_inferred: bool = False

    @property
    def notation(self):
        """The key, meter, pickup and spelling to write the melody's harmonization in
        (a :class:`musicalpy.render.score.Notation`)."""
        from .render.score import Notation

        return Notation(key=self.key, time_signature=self.time_signature, pickup_beats=self.pickup_beats,
                        spelling=self.spelling)


class MelodyError(MusicalPyError, ValueError):
    """A melody that cannot be harmonized: unreadable, empty or polyphonic."""


#: File suffixes read with music21 (everything else but MIDI is refused).
_SCORE_SUFFIXES = (".xml", ".musicxml", ".mxl", ".krn", ".abc")
_MIDI_SUFFIXES = (".mid", ".midi")
#: Part names (lower case, a prefix is enough) that mark the melody of a file with
#: several parts: the one such part is taken.
MELODY_PART_NAMES = ("soprano", "sopran", "melody", "melodie", "melodia", "cantus", "voice", "vocal", "tune", "s.")
_TINY_NOTATION = "tinynotation:"


def load_melody(source: str | os.PathLike | Melody | pd.DataFrame, *, name: str | None = None) -> Melody:
    """Read one monophonic melody from a file, music21's corpus, tinyNotation or a note table.

    Parameters
    ----------
    source : str, path-like, Melody or pd.DataFrame
        One of

        * a file: MIDI (``.mid``, ``.midi``), MusicXML (``.musicxml``, ``.xml`` and
          compressed ``.mxl``), Humdrum ``**kern`` (``.krn``) or ABC (``.abc``; a file of
          several tunes gives its first; music21's ABC reader drops fermatas, so an ABC
          tune's cadences are inferred, see :func:`infer_fermatas`);
        * a melody typed inline in music21's tinyNotation, starting ``"tinyNotation:"``
          (``"tinyNotation: 3/4 g4 a b c'2."``; it cannot mark a pickup or a key
          signature, so its key is found by analysis);
        * an Essen folk tune of music21's corpus: ``"essenFolksong/altdeu10"`` (the
          file's first tune), ``"altdeu10-5"`` or ``"essenFolksong/altdeu10-5"`` (tune
          ``X:5``, as ``load_corpus("essen")`` names its pieces), or a tune's title
          (``"Das Hildebrandslied"``, case-insensitive);
        * any other path of music21's corpus (``"bach/bwv66.6"``: its Soprano);
        * a note table with ``pitch`` and ``start_beat`` / ``end_beat`` (else ``start`` /
          ``end`` at 120 beats per minute), read as 4/4 from a downbeat.

        A file or score with several parts gives its melody part: the only part with
        notes, else the one named as in :data:`MELODY_PART_NAMES` (Soprano, Melody,
        Voice, ...), else the only part that never sounds two notes at once. A Melody
        is checked and returned.
    name : str, optional
        The melody's name (default: the file stem, the tune's id, or ``"melody"``).

    Returns
    -------
    Melody
        With the source's time signature (the first; 4/4 when it has none), key (see
        :attr:`Melody.key`), pickup, fermatas and spelling, beats counted from the
        first note's beat (a melody that starts with rests loses its whole beats of
        rest; its bar lines stay where they were).

    Raises
    ------
    MelodyError
        One line naming the source and the cause: not found, unreadable, no notes,
        several parts and none of them clearly the melody, or overlapping notes (a
        polyphonic line).
    """
    if isinstance(source, Melody):
        return _checked(source.notes, str(source.name), source.time_signature, source.fermatas,
                        source.transposed_by, key=source.key, pickup_beats=source.pickup_beats,
                        spelling=source.spelling, fermatas_inferred=source.fermatas_inferred)
    if isinstance(source, pd.DataFrame):
        return _checked(source, name or "melody", "4/4", ())
    text = os.fspath(source)
    if text.strip().lower().startswith(_TINY_NOTATION):
        return _read_tiny_notation(text, name or "melody")
    path = Path(text).expanduser()
    if path.suffix.lower() in _MIDI_SUFFIXES + _SCORE_SUFFIXES or path.exists():
        if not path.is_file():
            raise MelodyError(f"{path}: no such melody file")
        return _read_file(path, name or path.stem)
    found = _essen_tune(text)
    if found is None:
        score = _music21_corpus_work(text)
        if score is None:
            raise MelodyError(f"{text!r}: neither a melody file (.mid, .musicxml, .mxl, .krn, .abc), nor an Essen "
                              "tune of music21's corpus (e.g. 'essenFolksong/altdeu10', 'altdeu10-5' or a tune's "
                              "title), nor another music21 corpus path (e.g. 'bach/bwv66.6'), nor a melody in "
                              "tinyNotation ('tinyNotation: 4/4 c4 d e f g1')")
        return _from_score(score, name or Path(text).stem, text)
    abc_path, number, tune_id = found
    try:
        from music21 import corpus as m21corpus

        score = m21corpus.parse(str(abc_path), number=number)
    except Exception as exc:  # music21 raises many kinds of errors on bad ABC
        raise MelodyError(f"{tune_id}: unreadable Essen tune ({_first_line(exc)})") from None
    return _from_score(score, name or tune_id, tune_id)


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def _read_tiny_notation(text: str, name: str) -> Melody:
    from music21 import converter

    try:
        score = converter.parse(text.strip(), format="tinyNotation")
    except Exception as exc:
        raise MelodyError(f"{text.strip()[:60]!r}: unreadable tinyNotation ({_first_line(exc)})") from None
    return _from_score(score, name, "the tinyNotation melody")


def _music21_corpus_work(text: str) -> Any:
    """The score of a music21 corpus path (``"bach/bwv66.6"``), or None when it names none."""
    from music21 import corpus as m21corpus

    if "/" not in text and "." not in text:
        return None
    try:
        found = m21corpus.getWork(text)
    except Exception:  # music21 says "no such work" in several ways
        return None
    if not found:
        return None
    try:
        return m21corpus.parse(text)
    except Exception as exc:
        raise MelodyError(f"{text}: unreadable score of music21's corpus ({_first_line(exc)})") from None


def _read_file(path: Path, name: str) -> Melody:
    if path.suffix.lower() in _MIDI_SUFFIXES:
        return _read_midi(path, name)
    try:
        from music21 import converter

        score = converter.parse(str(path))
    except Exception as exc:
        raise MelodyError(f"{path}: unreadable score file ({_first_line(exc)})") from None
    return _from_score(score, name, str(path))


def _read_midi(path: Path, name: str) -> Melody:
    """A MIDI file's melody track, time signature and key signature (MIDI has no
    fermatas and no pickup: its first bar starts at time 0)."""
    from .midi import from_pretty_midi, load_pretty_midi

    try:
        pm = load_pretty_midi(path)
    except Exception as exc:
        raise MelodyError(f"{path}: unreadable MIDI file ({_first_line(exc)})") from None
    notes = from_pretty_midi(pm, piece=name)
    if notes.empty:
        raise MelodyError(f"{path}: the melody has no notes")
    if "start_beat" not in notes.columns or notes["start_beat"].isna().any():
        notes = notes.assign(start_beat=notes["start"] * DEFAULT_TEMPO / 60.0, end_beat=notes["end"] * DEFAULT_TEMPO / 60.0)
    parts = list(dict.fromkeys(notes["part"]))
    chosen = parts[_melody_part(parts, [_monophonic(notes[notes["part"] == p]) for p in parts], str(path))]
    notes = notes[notes["part"] == chosen]
    signature, pickup = _midi_meter(pm)
    key = None
    if pm.key_signature_changes:
        import pretty_midi

        key = _music21_key_name(pretty_midi.key_number_to_key_name(pm.key_signature_changes[0].key_number))
    return _checked(notes, name, signature, (), where=str(path), key=key, pickup_beats=pickup)


def _midi_meter(pm) -> tuple[str, float]:
    """A MIDI file's meter and pickup: a first bar shorter than the meter that follows
    it (1/4, then 3/4) is a pickup, as MIDI writes one."""
    changes = pm.time_signature_changes
    if not changes:
        return "4/4", 0.0
    first = changes[0]
    if len(changes) > 1:
        second = changes[1]
        short = 4 * first.numerator / first.denominator
        at = pm.time_to_tick(second.time) / pm.resolution
        if abs(at - short) < 1e-6 and short < 4 * second.numerator / second.denominator:
            return f"{second.numerator}/{second.denominator}", float(short)
    return f"{first.numerator}/{first.denominator}", 0.0


def _monophonic(notes: pd.DataFrame) -> bool:
    start, end = notes["start_beat"].to_numpy(float), notes["end_beat"].to_numpy(float)
    order = np.argsort(start, kind="stable")
    return bool(len(start) < 2 or (start[order][1:] >= np.maximum.accumulate(end[order])[:-1] - 1e-6).all())


def _melody_part(names: list[str], monophonic: list[bool], where: str) -> int:
    """Which of a file's parts with notes is its melody (see :func:`load_melody`)."""
    if len(names) == 1:
        return 0
    named = [i for i, n in enumerate(names) if str(n).strip().lower().startswith(MELODY_PART_NAMES)]
    if len(named) == 1:
        return named[0]
    lines = [i for i, mono in enumerate(monophonic) if mono]
    if len(lines) == 1 and not named:
        return lines[0]
    listed = ", ".join(repr(str(n)) for n in names[:6]) + (", ..." if len(names) > 6 else "")
    raise MelodyError(f"{where}: {len(names)} parts with notes ({listed}) and none is clearly the melody (one part "
                      "named Soprano or Melody, or the only one-note-at-a-time part); save the melody alone")


def _music21_key_name(name: str) -> str:
    """``"Bb Major"`` (pretty_midi) or ``"b- minor"`` as music21 writes keys: ``"B- major"``."""
    from .names import parse_key_name

    tonic, _, mode = name.strip().rpartition(" ")
    parse_key_name(name)  # raises on a name that is no key
    letter, alteration = tonic[0].upper(), tonic[1:].replace("b", "-")
    return f"{letter}{alteration} {mode.lower()}"


def _score_key(flat: Any, notes: pd.DataFrame) -> str | None:
    """The key of a score's first key signature (its mode when the signature says it,
    else the major or minor key of those sharps the notes fit better), or None."""
    from music21 import key as m21key

    signatures = list(flat.getElementsByClass(m21key.KeySignature))
    if not signatures:
        return None
    first = signatures[0]
    if isinstance(first, m21key.Key) and first.mode in ("major", "minor"):
        return _music21_key_name(f"{first.tonic.name} {first.mode}")
    return _key_of_signature(int(first.sharps), notes)


def _key_of_signature(sharps: int, notes: pd.DataFrame) -> str:
    """The major or the minor key with ``sharps`` sharps (negative: flats), whichever
    ranks higher in the melody's key analysis."""
    from music21 import key as m21key

    from .analysis import key_correlations

    major = m21key.KeySignature(sharps).asKey("major")
    minor = m21key.KeySignature(sharps).asKey("minor")
    ranked = key_correlations(_for_analysis(notes))
    names = [(int(row.tonic_pc), str(row.mode)) for row in ranked.itertuples()] if "tonic_pc" in ranked else []
    chosen = major
    for tonic_pc, mode in names:
        if (tonic_pc, mode) == (major.tonic.pitchClass, "major"):
            break
        if (tonic_pc, mode) == (minor.tonic.pitchClass, "minor"):
            chosen = minor
            break
    return _music21_key_name(f"{chosen.tonic.name} {chosen.mode}")


def _for_analysis(notes: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"pitch": notes["pitch"].to_numpy(np.int64), "start": notes["start_beat"].to_numpy(float),
                         "end": notes["end_beat"].to_numpy(float)})


def _analyzed_key(notes: pd.DataFrame) -> str | None:
    """The key of a melody without a key signature: the best-ranked key of the
    Krumhansl analysis whose scale (minor: with its leading tone) holds every pitch
    class of the melody, so that it needs no accidental; the best-ranked key when none does."""
    from .analysis import key_correlations
    from .names import key_signature_sharps, parse_key_name

    try:
        ranked = list(key_correlations(_for_analysis(notes))["key"])
    except ValueError:
        return None
    used = set((notes["pitch"].to_numpy(np.int64) % 12).tolist())
    for name in ranked:
        major_tonic = 7 * key_signature_sharps(name) % 12
        scale = {(major_tonic + step) % 12 for step in (0, 2, 4, 5, 7, 9, 11)}
        tonic, mode = parse_key_name(name)
        if mode == "minor":
            scale.add((tonic - 1) % 12)
        if used <= scale:
            return _music21_key_name(name)
    return _music21_key_name(ranked[0])


def _from_score(score: Any, name: str, where: str) -> Melody:
    """A Melody from a music21 score: its melody part's notes, first time signature,
    key, pickup, fermatas and spelling."""
    from music21 import expressions, meter, stream

    from .corpus import pickup_beats
    from .midi import from_music21

    if isinstance(score, stream.Opus):
        scores = list(score.scores)
        if not scores:
            raise MelodyError(f"{where}: the file holds no tune")
        score = scores[0]
    parts = [p for p in (list(score.parts) if isinstance(score, stream.Score) else []) or [score]
             if any(float(n.quarterLength) > 0 for n in p.flatten().notes)]
    if not parts:
        raise MelodyError(f"{where}: the melody has no notes")
    tables = [from_music21(p, piece=name) for p in parts]
    names = [str(getattr(p, "partName", None) or p.id) for p in parts]
    part = parts[_melody_part(names, [_monophonic(t) for t in tables], where)]
    notes = tables[parts.index(part)]
    flat = part.flatten()
    signatures = list(flat.getElementsByClass(meter.TimeSignature)) or list(
        score.flatten().getElementsByClass(meter.TimeSignature))
    signature = signatures[0].ratioString if signatures else "4/4"
    fermatas = tuple(sorted({float(n.getOffsetInHierarchy(part)) for n in flat.notes
                             if any(isinstance(e, expressions.Fermata) for e in n.expressions)}))
    key = _score_key(flat, notes) if len(notes) else None
    if key is None and len(notes):
        key = _score_key(score.flatten(), notes)
    spelled: dict[int, list[str]] = {}
    for pitch in flat.pitches:
        spelled.setdefault(int(pitch.midi) % 12, []).append(pitch.name)
    spelling = {pc: max(set(names_), key=names_.count) for pc, names_ in spelled.items()}
    return _checked(notes, name, signature, fermatas, where=where, key=key, pickup_beats=pickup_beats(part),
                    spelling=spelling)


def _full_spelling(key: str | None, spelled: Any) -> tuple[str, ...] | None:
    """Twelve pitch-class names: the key's (:func:`musicalpy.names.key_spelling`) with
    the melody's own names where it has them."""
    if key is None:
        return tuple(spelled) if spelled is not None and len(spelled) == 12 else None
    from .names import key_spelling

    names = list(key_spelling(key))
    if isinstance(spelled, dict):
        for pc, pitch_name in spelled.items():
            names[int(pc)] = str(pitch_name)
    elif spelled is not None:
        names = [str(n) for n in spelled]
    return tuple(names)


def _checked(notes: pd.DataFrame, name: str, time_signature: str, fermatas: tuple, transposed_by: int = 0,
             *, where: str | None = None, key: str | None = None, pickup_beats: float = 0.0,
             spelling: Any = None, fermatas_inferred: bool = False) -> Melody:
    """The Melody of a note table, after the checks every source goes through."""
    from .analysis import bar_length

    where = where or name
    if not isinstance(notes, pd.DataFrame) or "pitch" not in notes.columns:
        raise MelodyError(f"{where}: a melody needs a note table with a pitch column")
    pitched = notes[~notes["is_drum"].astype(bool)] if "is_drum" in notes.columns else notes
    if pitched.empty:
        raise MelodyError(f"{where}: the melody has no notes")
    if {"start_beat", "end_beat"} <= set(pitched.columns):
        starts, ends = pitched["start_beat"].to_numpy(float), pitched["end_beat"].to_numpy(float)
    elif {"start", "end"} <= set(pitched.columns):
        starts = pitched["start"].to_numpy(float) * DEFAULT_TEMPO / 60.0
        ends = pitched["end"].to_numpy(float) * DEFAULT_TEMPO / 60.0
    else:
        raise MelodyError(f"{where}: the note table needs start_beat/end_beat (or start/end) columns")
    table = pd.DataFrame({"pitch": pitched["pitch"].to_numpy(np.int64), "start_beat": starts, "end_beat": ends})
    if not (np.isfinite(starts).all() and np.isfinite(ends).all() and (ends > starts).all()):
        raise MelodyError(f"{where}: every note must end after it starts (finite beats)")
    table = table.sort_values(["start_beat", "pitch"], kind="stable").reset_index(drop=True)
    start = table["start_beat"].to_numpy()
    end = table["end_beat"].to_numpy()
    # A note that starts before every earlier note has ended overlaps one of them.
    latest_end = np.maximum.accumulate(end)
    overlap = np.flatnonzero(start[1:] < latest_end[:-1] - 1e-6)
    if overlap.size:
        i = int(overlap[0]) + 1
        raise MelodyError(f"{where}: not a melody: {overlap.size} overlapping note(s), the first at beat "
                          f"{start[i]:g} (pitch {table['pitch'][i]} starts while an earlier note sounds); "
                          "give one line, e.g. the soprano part alone")
    shift = float(np.floor(start.min()))  # beats from 0, keeping the beat grid
    table[["start_beat", "end_beat"]] -= shift
    bar = bar_length(str(time_signature))
    pickup = round(float(pickup_beats - shift) % bar, 6) % bar  # the bar lines stay where they were
    key = key if key is not None else _analyzed_key(table)
    return Melody(table, str(time_signature), tuple(f - shift for f in fermatas), str(name), int(transposed_by),
                  key=key, pickup_beats=float(pickup), spelling=_full_spelling(key, spelling),
                  fermatas_inferred=bool(fermatas_inferred))


def infer_fermatas(melody: Melody) -> Melody:
    """The melody with fermatas at its phrase ends, when it marks none.

    A chorale melody marks its cadences with fermatas, and the harmonizing models place
    cadences there. A melody with fermatas is returned as it is. One without gets them
    (and ``fermatas_inferred=True``) by three rules, in order:

    1. its **last note**;
    2. every note followed by a **rest** of an eighth or more (a breath ends a phrase);
    3. in a melody whose phrases the rests do not mark, a **regular phrase length**:
       two bars in a meter of four quarter notes or more (4/4, 3/2, 4/2), four bars in
       shorter ones (2/4, 3/4, 6/8), counted from the melody's first note (so a phrase
       keeps the opening's pickup). In each such span that holds no fermata from rules
       1-2 and ends before the last note, the cadence is the longest note starting in
       the span's second half (the latest of equally long ones).

    Parameters
    ----------
    melody : Melody

    Returns
    -------
    Melody
    """
    from .analysis import bar_length

    if melody.fermatas:
        return melody
    notes = melody.notes.sort_values("start_beat")
    start = notes["start_beat"].to_numpy(float)
    end = notes["end_beat"].to_numpy(float)
    marked = {float(start[-1])}
    gaps = start[1:] - end[:-1]
    marked.update(float(s) for s in start[:-1][gaps >= 0.5 - 1e-9])
    bar = bar_length(melody.time_signature)
    phrase = bar * (2 if bar >= 4 else 4)
    for first in np.arange(0.0, start[-1], phrase):
        last = first + phrase
        if last > start[-1] or any(first <= m < last for m in marked):
            continue
        inside = np.flatnonzero((start >= first + phrase / 2) & (start < last))
        if not inside.size:
            inside = np.flatnonzero((start >= first) & (start < last))
        if inside.size:
            lengths = end[inside] - start[inside]
            best = inside[np.flatnonzero(lengths >= lengths.max() - 1e-9)[-1]]
            marked.add(float(start[best]))
    return dataclasses.replace(melody, fermatas=tuple(sorted(marked)), fermatas_inferred=True)


def _essen_index() -> list[tuple[Path, int, str, str]]:
    """Every Essen tune of music21's corpus: ``(file, X number, id, title)``."""
    import re

    from music21 import corpus as m21corpus

    tunes = []
    for path in sorted(Path(p) for p in m21corpus.getCorePaths() if "essenFolksong" in str(p)):
        text = path.read_text(encoding="latin-1")
        for block in re.split(r"(?m)^(?=X:)", text):
            number = re.match(r"X:\s*(\d+)", block)
            if number:
                title = re.search(r"(?m)^T:\s*(.*)$", block)
                tunes.append((path, int(number.group(1)), f"{path.stem}-{number.group(1)}",
                              title.group(1).strip() if title else ""))
    return tunes


def _essen_tune(text: str) -> tuple[Path, int, str] | None:
    """The Essen tune a name means (see :func:`load_melody`), or None."""
    wanted = text.strip().removeprefix("essenFolksong/").removesuffix(".abc")
    tunes = _essen_index()
    for path, number, tune_id, _ in tunes:
        if wanted == tune_id:
            return path, number, tune_id
    for path, number, tune_id, _ in tunes:  # a file name alone: its first tune
        if wanted == path.stem:
            return path, number, tune_id
    for path, number, tune_id, title in tunes:
        if title and title.casefold() == wanted.casefold():
            return path, number, tune_id
    return None


def fit_to_range(melody: Melody, low: int, high: int) -> Melody:
    """Move a melody into ``[low, high]`` (MIDI pitches): whole octaves first, then the
    fewest semitones that bring what still sticks out inside.

    The octave move keeps the key; a semitone move (at most a tritone) is made only
    when no octave fits, and a melody wider than the range stays where the fewest
    semitones stick out. ``transposed_by`` adds up the
    move, so that ``transpose(harmonization, -melody.transposed_by)`` is in the
    original key.

    Parameters
    ----------
    melody : Melody
    low, high : int
        The soprano's range, inclusive.

    Returns
    -------
    Melody
        A copy with the pitches moved and ``transposed_by`` increased by the move.
    """
    if not low <= high:
        raise ValueError(f"low must not be above high, got low={low!r}, high={high!r}")
    top, bottom = int(melody.notes["pitch"].max()), int(melody.notes["pitch"].min())

    def outside(move: int) -> int:
        return max(0, low - (bottom + move)) + max(0, (top + move) - high)

    octaves = min(range(-10, 11), key=lambda k: (outside(12 * k), abs(k)))
    move = 12 * octaves
    if outside(move):
        move += min(range(-6, 7), key=lambda s: (outside(move + s), abs(s)))
    if move == 0:
        return melody
    return dataclasses.replace(melody, notes=melody.notes.assign(pitch=melody.notes["pitch"] + move),
                               transposed_by=melody.transposed_by + move)


def soprano_melody(corpus: Any, piece: str) -> Melody:
    """The soprano of one chorale of a corpus, with its time signature and fermatas.

    Parameters
    ----------
    corpus : musicalpy.corpus.Corpus
        A four-voice corpus (``load_corpus("bach")``): its note table gives the
        soprano's notes (and the ``fermata`` column, when parsed), its piece table the
        time signature.
    piece : str
        The piece id, e.g. ``"R001_bwv269"``.

    Returns
    -------
    Melody
        Named after the piece, so a harmonization's ``piece`` is the chorale's id.
    """
    notes = corpus.notes
    line = notes[(notes["piece"] == piece) & (notes["part"] == "Soprano")].sort_values("start_beat")
    if line.empty:
        raise MelodyError(f"{piece}: no Soprano notes in this corpus (is it a four-voice corpus, and the piece id right?)")
    fermatas = tuple(float(b) for b in line.loc[line["fermata"].astype(bool), "start_beat"]) if "fermata" in line else ()
    row = corpus.pieces.set_index("piece").loc[piece]
    time_signature = str(row.get("time_signature", "") or "4/4")
    pickup = row.get("pickup_beats", 0.0)
    notes = line[["pitch", "start_beat", "end_beat"]].reset_index(drop=True)
    key = _corpus_key(str(row.get("key_signature", "") or ""), notes)
    return Melody(notes=notes, time_signature=time_signature, fermatas=fermatas, name=piece, key=key,
                  pickup_beats=float(pickup) if pd.notna(pickup) else 0.0, spelling=_full_spelling(key, None))


def _corpus_key(signature: str, notes: pd.DataFrame) -> str | None:
    """The key of a pieces table's ``key_signature`` (``"F minor"``, ``"2 flats"``, ``"no
    sharps or flats"``; see :func:`musicalpy.load_corpus`), or the analyzed key."""
    import re

    try:
        return _music21_key_name(signature)
    except ValueError:
        pass
    if signature == "no sharps or flats":
        return _key_of_signature(0, notes)
    counted = re.fullmatch(r"(\d+) (sharp|flat)s?", signature)
    if counted:
        return _key_of_signature(int(counted.group(1)) * (1 if counted.group(2) == "sharp" else -1), notes)
    return _analyzed_key(notes)
