"""A melody to harmonize: the one object every harmonizing model kind receives.

:class:`Melody` is the contract between :meth:`musicalpy.zoo.ZooModel.harmonize` (which
reads a MIDI or MusicXML file or an Essen tune, checks it and moves it into the soprano's
range) and each family's :meth:`~musicalpy.families.base.Family.harmonize` (which writes
the alto, tenor and bass under it). Loading and checking live here too (see
:func:`load_melody`).
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

__all__ = ["Melody", "MelodyError", "load_melody", "fit_to_range", "soprano_melody"]


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
    """

    notes: pd.DataFrame
    time_signature: str = "4/4"
    fermatas: tuple[float, ...] = ()
    name: str = "melody"
    transposed_by: int = 0


class MelodyError(MusicalPyError, ValueError):
    """A melody that cannot be harmonized: unreadable, empty or polyphonic."""


#: File suffixes read with music21 (everything else but MIDI is refused).
_SCORE_SUFFIXES = (".xml", ".musicxml", ".mxl", ".krn", ".abc")
_MIDI_SUFFIXES = (".mid", ".midi")


def load_melody(source: str | os.PathLike | Melody | pd.DataFrame, *, name: str | None = None) -> Melody:
    """Read one monophonic melody: a MIDI or MusicXML file, an Essen tune, or a note table.

    Parameters
    ----------
    source : str, path-like, Melody or pd.DataFrame
        A ``.mid`` / ``.midi`` / ``.xml`` / ``.musicxml`` / ``.mxl`` (or Humdrum, ABC)
        file; or an Essen folk tune of music21's corpus: ``"essenFolksong/altdeu10"``
        (the file's first tune), ``"altdeu10-5"`` or ``"essenFolksong/altdeu10-5"`` (tune
        ``X:5``, as ``load_corpus("essen")`` names its pieces), or a tune's title
        (``"Das Hildebrandslied"``, case-insensitive); or a note table with ``pitch``
        and ``start_beat`` / ``end_beat`` (else ``start`` / ``end`` at 120 beats per
        minute). A Melody is checked and returned.
    name : str, optional
        The melody's name (default: the file stem or the tune's id).

    Returns
    -------
    Melody

    Raises
    ------
    MelodyError
        One line naming the source and the cause: unreadable, not found, no notes, or
        overlapping notes (a polyphonic line).
    """
    if isinstance(source, Melody):
        return _checked(source.notes, str(source.name), source.time_signature, source.fermatas,
                        source.transposed_by)
    if isinstance(source, pd.DataFrame):
        return _checked(source, name or "melody", "4/4", ())
    text = os.fspath(source)
    path = Path(text).expanduser()
    if path.suffix.lower() in _MIDI_SUFFIXES + _SCORE_SUFFIXES or path.exists():
        if not path.is_file():
            raise MelodyError(f"{path}: no such melody file")
        return _read_file(path, name or path.stem)
    found = _essen_tune(text)
    if found is None:
        raise MelodyError(f"{text!r}: neither a melody file (.mid, .musicxml, ...) nor an Essen tune of music21's corpus "
                          "(e.g. 'essenFolksong/altdeu10', 'altdeu10-5' or a tune's title)")
    abc_path, number, tune_id = found
    try:
        from music21 import corpus as m21corpus

        score = m21corpus.parse(str(abc_path), number=number)
    except Exception as exc:  # music21 raises many kinds of errors on bad ABC
        raise MelodyError(f"{tune_id}: unreadable Essen tune ({_first_line(exc)})") from None
    return _from_score(score, name or tune_id, tune_id)


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


def _read_file(path: Path, name: str) -> Melody:
    if path.suffix.lower() in _MIDI_SUFFIXES:
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
        signatures = pm.time_signature_changes
        signature = f"{signatures[0].numerator}/{signatures[0].denominator}" if signatures else "4/4"
        return _checked(notes, name, signature, (), where=str(path))
    try:
        from music21 import converter

        score = converter.parse(str(path))
    except Exception as exc:
        raise MelodyError(f"{path}: unreadable score file ({_first_line(exc)})") from None
    return _from_score(score, name, str(path))


def _from_score(score: Any, name: str, where: str) -> Melody:
    """A Melody from a music21 score: its notes, first time signature and fermatas."""
    from music21 import expressions, meter

    from .midi import from_music21

    notes = from_music21(score, piece=name)
    flat = score.flatten()
    signatures = list(flat.getElementsByClass(meter.TimeSignature))
    signature = signatures[0].ratioString if signatures else "4/4"
    fermatas = tuple(sorted({float(n.getOffsetInHierarchy(score)) for n in flat.notes
                             if any(isinstance(e, expressions.Fermata) for e in n.expressions)}))
    return _checked(notes, name, signature, fermatas, where=where)


def _checked(notes: pd.DataFrame, name: str, time_signature: str, fermatas: tuple, transposed_by: int = 0,
             *, where: str | None = None) -> Melody:
    """The Melody of a note table, after the checks every source goes through."""
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
    return Melody(table, str(time_signature), tuple(f - shift for f in fermatas), str(name), int(transposed_by))


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
    pieces = corpus.pieces.set_index("piece")
    time_signature = str(pieces.loc[piece, "time_signature"]) if "time_signature" in pieces.columns else "4/4"
    return Melody(notes=line[["pitch", "start_beat", "end_beat"]].reset_index(drop=True),
                  time_signature=time_signature, fermatas=fermatas, name=piece)
