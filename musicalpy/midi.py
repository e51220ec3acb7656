"""The note table and its conversions: MIDI files, pretty_midi objects, music21 streams.

The note table is the one currency between MusicalPy's stages (see docs/architecture.md): a
:class:`pandas.DataFrame` with one row per note and the columns

``piece`` (str), ``part`` (str), ``program`` (int, General MIDI 0-127), ``is_drum``
(bool), ``pitch`` (int, MIDI 0-127), ``start``, ``end`` (float, seconds),
``velocity`` (int, 1-127)

plus ``start_beat`` and ``end_beat`` (float, quarter notes from the start of the piece)
when the source knows where the beats are.

Functions come in symmetric pairs: :func:`read_midi` / :func:`write_midi`,
:func:`to_pretty_midi` / :func:`from_pretty_midi`, :func:`to_music21` /
:func:`from_music21`.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._config import NOTE_COLUMNS, MidiError, check_int

__all__ = [
    "NOTE_COLUMNS",
    "BEAT_COLUMNS",
    "DEFAULT_VELOCITY",
    "DEFAULT_TEMPO",
    "MAX_TICKS",
    "MidiError",
    "empty_notes",
    "as_note_table",
    "read_midi",
    "write_midi",
    "load_pretty_midi",
    "to_pretty_midi",
    "from_pretty_midi",
    "to_music21",
    "from_music21",
    "seconds_to_beats",
    "implied_tempo",
    "crop_notes",
    "part_notes",
]

#: Optional beat columns (quarter notes), present when the source has a beat grid.
BEAT_COLUMNS = ["start_beat", "end_beat"]
#: Velocity given to notes whose source has none (music21 scores without dynamics).
DEFAULT_VELOCITY = 80
#: Tempo (quarter notes per minute) assumed when a source has no tempo marking.
DEFAULT_TEMPO = 120.0
#: Files whose last event lies beyond this many ticks are rejected as absurd, before
#: pretty_midi allocates one float per tick (80 MB here). It is the longest track pretty_midi
#: reads (it refuses a largest tick of 1e7 and more with a message that names no file).
MAX_TICKS = 9_999_999
#: Files longer than this (seconds) are rejected as absurd timing.
MAX_SECONDS = 6 * 3600.0

_DTYPES = {
    "piece": object,
    "part": object,
    "program": np.int16,
    "is_drum": bool,
    "pitch": np.int16,
    "start": np.float64,
    "end": np.float64,
    "velocity": np.int16,
}


def empty_notes(with_beats: bool = False) -> pd.DataFrame:
    """Return an empty note table with the right columns and dtypes."""
    columns = NOTE_COLUMNS + (BEAT_COLUMNS if with_beats else [])
    frame = pd.DataFrame({c: pd.Series(dtype=_DTYPES.get(c, np.float64)) for c in columns})
    return frame


def as_note_table(notes: pd.DataFrame, *, piece: str | None = None) -> pd.DataFrame:
    """Check a note table and fill the columns a caller may leave out.

    ``pitch``, ``start`` and ``end`` are required; ``piece`` defaults to ``piece`` or
    ``""``, ``part`` to ``"0"``, ``program`` to 0, ``is_drum`` to False and ``velocity``
    to :data:`DEFAULT_VELOCITY`. Rows are sorted by part (in order of first
    appearance), then start, then pitch. The input is not modified.

    Raises
    ------
    ValueError
        When a required column is missing, or a value cannot be a note (a pitch
        outside 0-127, a negative start, an end before its start, NaN times).
    """
    if not isinstance(notes, pd.DataFrame):
        raise TypeError(f"expected a note table (pandas DataFrame), got {type(notes).__name__}")
    missing = [c for c in ("pitch", "start", "end") if c not in notes.columns]
    if missing:
        raise ValueError(f"note table lacks required column(s) {missing}; has {list(notes.columns)}")
    table = notes.copy()
    defaults: dict[str, Any] = {
        "piece": piece if piece is not None else "",
        "part": "0",
        "program": 0,
        "is_drum": False,
        "velocity": DEFAULT_VELOCITY,
    }
    for column, value in defaults.items():
        if column not in table.columns:
            table[column] = value
    if len(table):
        times = table[["start", "end"]].to_numpy(dtype=float)
        if not np.isfinite(times).all():
            raise ValueError("note table has NaN or infinite start/end times")
        if (times[:, 0] < 0).any():
            raise ValueError(f"note table has {int((times[:, 0] < 0).sum())} note(s) starting before 0 s")
        if (times[:, 1] < times[:, 0]).any():
            raise ValueError(f"note table has {int((times[:, 1] < times[:, 0]).sum())} note(s) ending before they start")
        pitch = table["pitch"].to_numpy()
        if ((pitch < 0) | (pitch > 127)).any():
            raise ValueError("note table has pitches outside the MIDI range 0-127")
    table["piece"] = table["piece"].astype(str)
    table["part"] = table["part"].astype(str)
    table["velocity"] = table["velocity"].clip(1, 127)
    for column, dtype in _DTYPES.items():
        table[column] = table[column].astype(dtype)
    ordered = NOTE_COLUMNS + [c for c in table.columns if c not in NOTE_COLUMNS]
    table = table[ordered]
    if len(table):
        part_rank = table["part"].map({p: i for i, p in enumerate(dict.fromkeys(table["part"]))})
        order = np.lexsort((table["pitch"].to_numpy(), table["start"].to_numpy(), part_rank.to_numpy()))
        table = table.iloc[order]
    return table.reset_index(drop=True)


def crop_notes(
    notes: pd.DataFrame,
    *,
    end_beat: float | None = None,
    end: float | None = None,
    tolerance: float = 0.0,
) -> pd.DataFrame:
    """Cut a note table at a time: later notes go, notes sounding across it end there.

    Give exactly one of ``end_beat`` (quarter notes) or ``end`` (seconds). A note that
    starts before the cut and ends after it is shortened to end at the cut; its other
    clock (seconds for a beat cut, beats for a seconds cut) is shortened in the same
    proportion, so the note keeps its local tempo.

    Parameters
    ----------
    notes : pd.DataFrame
        A note table (any number of pieces and parts); a beat cut needs
        ``start_beat``/``end_beat``.
    end_beat : float, optional
        Keep notes starting strictly before this beat.
    end : float, optional
        Keep notes starting strictly before this second.
    tolerance : float, default 0
        Notes starting less than this before the cut are dropped too (in the cut's unit):
        a small value absorbs float error in onsets summed from durations.

    Returns
    -------
    pd.DataFrame
        A copy holding the kept rows in their order, with the index of ``notes``.

    Raises
    ------
    ValueError
        When neither or both cuts are given, a cut is negative or not finite, or a beat
        cut meets a table without beat columns.
    """
    if (end_beat is None) == (end is None):
        raise ValueError("crop_notes needs exactly one of end_beat= (quarter notes) or end= (seconds)")
    by_beats = end_beat is not None
    limit = float(end_beat if by_beats else end)
    name = "end_beat" if by_beats else "end"
    if not np.isfinite(limit) or limit < 0:
        raise ValueError(f"{name} must be a finite time >= 0, got {limit!r}")
    if not np.isfinite(tolerance) or tolerance < 0:
        raise ValueError(f"tolerance must be a finite time >= 0, got {tolerance!r}")
    if by_beats and not set(BEAT_COLUMNS) <= set(notes.columns):
        raise ValueError(f"crop_notes(end_beat=...) needs the beat columns {BEAT_COLUMNS}; the table has {list(notes.columns)}")
    begin, finish = ("start_beat", "end_beat") if by_beats else ("start", "end")
    kept = notes[notes[begin] < limit - tolerance].copy()
    late = kept[finish] > limit
    if late.any():
        other_begin, other_finish = ("start", "end") if by_beats else ("start_beat", "end_beat")
        if other_begin in kept.columns:
            span = kept.loc[late, finish] - kept.loc[late, begin]
            share = (limit - kept.loc[late, begin]) / span
            kept.loc[late, other_finish] = kept.loc[late, other_begin] + share * (
                kept.loc[late, other_finish] - kept.loc[late, other_begin])
        kept.loc[late, finish] = limit
    return kept


# --------------------------------------------------------------------------- MIDI files


def part_notes(notes: pd.DataFrame, part: str) -> pd.DataFrame:
    """The rows of one part (voice) of a note table, in their order.

    :meth:`musicalpy.corpus.Corpus.select_parts` does this for a whole corpus (and
    drops pieces left empty); this works on any note table, such as a split's notes or
    generated pieces, and keeps every piece.

    Parameters
    ----------
    notes : pd.DataFrame, shape (n_notes, n_columns)
        A note table with a ``part`` column.
    part : str
        The part name, e.g. ``"Soprano"``.

    Returns
    -------
    pd.DataFrame, shape (n_part_notes, n_columns)
        The notes whose ``part`` is ``part``, their index kept (as a boolean mask
        gives them).

    Raises
    ------
    ValueError
        If ``notes`` has no ``part`` column, or no note of part ``part``.
    """
    if "part" not in notes.columns:
        raise ValueError(f"notes has no 'part' column (columns: {list(notes.columns)})")
    selected = notes[notes["part"] == part]
    if selected.empty:
        raise ValueError(f"part {part!r} has no notes; the parts are {list(dict.fromkeys(notes['part']))}")
    return selected


def _describe(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return getattr(source, "name", None) or "<MIDI bytes>"


def _load_checked(data: bytes, name: str):
    """Parse with mido first and reject absurd files before pretty_midi allocates one
    float per tick; then let pretty_midi build its objects from the same bytes."""
    import mido
    import pretty_midi

    try:
        midi = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except Exception as exc:  # mido raises many kinds on damaged input
        cause = "the data ends before the MIDI header or a track is complete" if isinstance(exc, EOFError) else exc
        raise MidiError(f"{name}: not a readable MIDI file ({type(exc).__name__}: {cause})") from exc
    if midi.type not in (0, 1, 2):
        raise MidiError(f"{name}: unsupported MIDI file type {midi.type}")
    if not isinstance(midi.ticks_per_beat, int) or midi.ticks_per_beat <= 0:
        raise MidiError(f"{name}: invalid time division {midi.ticks_per_beat!r} (SMPTE timing is not supported)")
    for track in midi.tracks:
        total = sum(message.time for message in track)
        if total > MAX_TICKS:
            raise MidiError(
                f"{name}: absurd tick values (a track spans {total:,} ticks; the limit is {MAX_TICKS:,})"
            )
    try:
        pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as exc:
        raise MidiError(f"{name}: cannot interpret MIDI events ({type(exc).__name__}: {exc})") from exc
    n_note_ons = sum(1 for track in midi.tracks for m in track if m.type == "note_on" and m.velocity > 0)
    return pm, n_note_ons


def _load_source(source: str | os.PathLike | bytes):
    name = _describe(source)
    if isinstance(source, (bytes, bytearray)):
        return _load_checked(bytes(source), name)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such MIDI file")
    if path.is_dir():
        raise MidiError(f"{path}: is a folder, not a MIDI file (use load_corpus for folders)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MidiError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    return _load_checked(data, name)


def load_pretty_midi(source: str | os.PathLike | bytes):
    """Load a MIDI file (or its bytes) as a :class:`pretty_midi.PrettyMIDI`, with the
    same checks as :func:`read_midi` (absurd ticks, unreadable data -> :class:`MidiError`).

    Use it when pedals, pitch bends or control changes matter (synthesis); use
    :func:`read_midi` for the note table.
    """
    return _load_source(source)[0]


def read_midi(source: str | os.PathLike | bytes, *, piece: str | None = None) -> pd.DataFrame:
    """Read a MIDI file into a note table.

    Parameters
    ----------
    source : str, path-like or bytes
        A ``.mid``/``.midi`` file, or the bytes of one.
    piece : str, optional
        Value of the ``piece`` column; defaults to the file's stem.

    Returns
    -------
    notes : pd.DataFrame
        The note table, with ``start_beat``/``end_beat`` from the file's tempo map.
        Zero-length notes are dropped.

    Raises
    ------
    FileNotFoundError
        When the path does not exist.
    MidiError
        When the file cannot be parsed, has no notes, has only zero-length notes, or has
        absurd timing. The message names the file and the cause.
    """
    name = _describe(source)
    if piece is None and not isinstance(source, (bytes, bytearray)):
        piece = Path(source).stem
    pm, n_note_ons = _load_source(source)
    notes = from_pretty_midi(pm, piece=piece or "")
    if notes.empty:
        # pretty_midi drops some zero-length notes itself, so count note-ons in the file.
        cause = "only zero-length notes" if n_note_ons else "no notes"
        raise MidiError(f"{name}: {cause}")
    if notes["end"].max() > MAX_SECONDS:
        raise MidiError(f"{name}: absurd timing (last note ends after {notes['end'].max() / 3600:.1f} hours)")
    return notes


def write_midi(
    notes: pd.DataFrame,
    path: str | os.PathLike,
    *,
    programs: Mapping[str, int] | None = None,
    tempo: float | None = None,
    notation: Any = None,
) -> Path:
    """Write a note table to a MIDI file; return the path.

    ``programs`` maps part names to General MIDI programs, overriding the table's
    ``program`` column; ``tempo`` (quarter notes per minute) sets the file's tempo,
    which changes how notes sit on the beat grid in a notation program, never their
    times in seconds; ``notation`` (see :func:`to_pretty_midi`) its key and time
    signatures.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    to_pretty_midi(notes, programs=programs, tempo=tempo, notation=notation).write(str(path))
    return path


# ---------------------------------------------------------------------- pretty_midi


def seconds_to_beats(times: np.ndarray, tempo_times: np.ndarray, tempi: np.ndarray) -> np.ndarray:
    """Map times in seconds to quarter-note beats through a piecewise-constant tempo map.

    Parameters
    ----------
    times : np.ndarray
        Times in seconds.
    tempo_times : np.ndarray, shape=(n_changes,)
        Where each tempo starts (seconds, increasing).
    tempi : np.ndarray, shape=(n_changes,)
        Quarter notes per minute from each change on.
    """
    tempo_times = np.asarray(tempo_times, dtype=float)
    tempi = np.asarray(tempi, dtype=float)
    if len(tempo_times) == 0 or tempo_times[0] > 0:
        tempo_times = np.concatenate([[0.0], tempo_times])
        tempi = np.concatenate([[DEFAULT_TEMPO], tempi])
    beats_at_change = np.concatenate([[0.0], np.cumsum(np.diff(tempo_times) * tempi[:-1] / 60.0)])
    times = np.asarray(times, dtype=float)
    index = np.clip(np.searchsorted(tempo_times, times, side="right") - 1, 0, len(tempo_times) - 1)
    return beats_at_change[index] + (times - tempo_times[index]) * tempi[index] / 60.0


def from_pretty_midi(pm, *, piece: str = "") -> pd.DataFrame:
    """Turn a :class:`pretty_midi.PrettyMIDI` into a note table (zero-length notes dropped).

    Each instrument becomes a part named after the instrument (or ``"<program>"`` /
    ``"drums"`` when unnamed; repeated names get a ``-2``, ``-3``... suffix).
    """
    rows = []
    seen: dict[str, int] = {}
    for inst in pm.instruments:
        base = (inst.name or "").strip() or ("drums" if inst.is_drum else f"program{inst.program}")
        seen[base] = seen.get(base, 0) + 1
        part = base if seen[base] == 1 else f"{base}-{seen[base]}"
        if not inst.notes:
            continue
        arr = np.array([(n.pitch, n.start, n.end, n.velocity) for n in inst.notes], dtype=float)
        keep = arr[:, 2] > arr[:, 1]
        arr = arr[keep]
        rows.append(
            pd.DataFrame(
                {
                    "piece": piece,
                    "part": part,
                    "program": int(inst.program),
                    "is_drum": bool(inst.is_drum),
                    "pitch": arr[:, 0].astype(np.int16),
                    "start": arr[:, 1],
                    "end": arr[:, 2],
                    "velocity": arr[:, 3].astype(np.int16),
                }
            )
        )
    if not rows:
        return empty_notes(with_beats=True)
    notes = pd.concat(rows, ignore_index=True)
    notes = notes[(notes["pitch"] >= 0) & (notes["pitch"] <= 127) & (notes["start"] >= 0)]
    tempo_times, tempi = pm.get_tempo_changes()
    notes["start_beat"] = seconds_to_beats(notes["start"].to_numpy(), tempo_times, tempi)
    notes["end_beat"] = seconds_to_beats(notes["end"].to_numpy(), tempo_times, tempi)
    return as_note_table(notes)


def _part_order(notes: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(notes["part"].astype(str)))


def to_pretty_midi(
    notes: pd.DataFrame,
    *,
    programs: Mapping[str, int] | None = None,
    tempo: float | None = None,
    notation: Any = None,
):
    """Build a :class:`pretty_midi.PrettyMIDI` with one instrument per part.

    ``programs`` overrides the ``program`` column per part name; ``tempo`` (quarter
    notes per minute) defaults to the tempo implied by the table's beat columns, else
    :data:`DEFAULT_TEMPO`. ``notation`` (a :class:`musicalpy.render.score.Notation`,
    or anything with its ``key``, ``time_signature`` and ``pickup_beats``) gives the
    file a key signature and a time signature; a pickup becomes a short first bar (a
    pickup of one quarter: 1/4, then the meter), which is how MIDI marks one.
    """
    import pretty_midi

    table = as_note_table(notes)
    if tempo is None:
        tempo = implied_tempo(table)
    if not (1.0 <= float(tempo) <= 1000.0):
        raise ValueError(f"tempo must be between 1 and 1000 quarter notes per minute, got {tempo}")
    pm = pretty_midi.PrettyMIDI(initial_tempo=float(tempo))
    for part in _part_order(table):
        rows = table[table["part"] == part]
        if programs and part in programs:
            program = check_int(f"programs[{part!r}]", programs[part], 0, 127)
        else:
            program = check_int(f"program of part {part!r}", rows["program"].iloc[0], 0, 127)
        inst = pretty_midi.Instrument(program=program, is_drum=bool(rows["is_drum"].iloc[0]), name=part)
        for pitch, start, end, velocity in rows[["pitch", "start", "end", "velocity"]].itertuples(index=False):
            inst.notes.append(pretty_midi.Note(int(velocity), int(pitch), float(start), float(end)))
        pm.instruments.append(inst)
    if notation is not None:
        _add_signatures(pm, notation, tempo)
    return pm


def _add_signatures(pm, notation: Any, tempo: float) -> None:
    from fractions import Fraction

    import pretty_midi

    if getattr(notation, "key", None):
        from .names import parse_key_name

        tonic_pc, mode = parse_key_name(notation.key)
        pm.key_signature_changes.append(pretty_midi.KeySignature(tonic_pc + (12 if mode == "minor" else 0), 0.0))
    numerator, denominator = (int(x) for x in str(notation.time_signature).split("/"))
    pickup = Fraction(float(getattr(notation, "pickup_beats", 0.0) or 0.0)).limit_denominator(64)
    short = pickup / 4  # quarter notes -> whole notes
    downbeat = 0.0
    if pickup and short.denominator & (short.denominator - 1) == 0:  # MIDI denominators are powers of two
        pm.time_signature_changes.append(pretty_midi.TimeSignature(short.numerator, short.denominator, 0.0))
        downbeat = float(pickup) * 60.0 / tempo
    pm.time_signature_changes.append(pretty_midi.TimeSignature(numerator, denominator, downbeat))


def implied_tempo(table: pd.DataFrame) -> float:
    """Quarter notes per minute implied by a note table's seconds against its beats.

    Parameters
    ----------
    table : pd.DataFrame
        A note table; only its ``end`` and, when present, ``end_beat`` columns are read.

    Returns
    -------
    tempo : float
        The median of ``60 * end_beat / end`` over notes with both, when it lies in
        1-1000 bpm; otherwise :data:`DEFAULT_TEMPO` (tables without beats, one note).
    """
    if "start_beat" in table.columns and len(table) > 1:
        beats = table["end_beat"].to_numpy(float)
        seconds = table["end"].to_numpy(float)
        ok = np.isfinite(beats) & (seconds > 0) & (beats > 0)
        if ok.any():
            tempo = float(np.median(60.0 * beats[ok] / seconds[ok]))
            if 1.0 <= tempo <= 1000.0:
                return round(tempo, 6)
    return DEFAULT_TEMPO


# ------------------------------------------------------------------------- music21


def to_music21(notes: pd.DataFrame, *, tempo: float | None = None, title: str | None = None):
    """Build a :class:`music21.stream.Score` with one part per note-table part.

    Offsets come from ``start_beat``/``end_beat`` when present, otherwise from the
    seconds at ``tempo`` (default: implied by the table, else 120). Notes of a part that
    start and end together become chords. The score keeps the exact (possibly
    unquantized) times, velocities, programs and the drum flag, so
    :func:`from_music21` gives the table back; for engraving, use
    :func:`musicalpy.render.show_score`, which quantizes and resolves overlaps.
    """
    from music21 import chord, instrument, metadata, note, stream
    from music21 import tempo as m21tempo

    table = as_note_table(notes)
    if tempo is None:
        tempo = implied_tempo(table)
    seconds_per_quarter = 60.0 / float(tempo)
    has_beats = "start_beat" in table.columns and table[BEAT_COLUMNS].notna().all().all()
    score = stream.Score()
    if title:
        score.metadata = metadata.Metadata(title=title)
    for part_index, part_name in enumerate(_part_order(table)):
        rows = table[table["part"] == part_name]
        part = stream.Part(id=f"P{part_index + 1}")
        part.partName = part_name
        program = int(rows["program"].iloc[0])
        if bool(rows["is_drum"].iloc[0]):
            inst = instrument.Percussion()
            inst.midiChannel = 9
        else:
            try:
                inst = instrument.instrumentFromMidiProgram(program)
            except Exception:  # music21 lacks a class for a few programs
                inst = instrument.Instrument()
        inst.midiProgram = program
        inst.partName = part_name
        part.insert(0, inst)
        if part_index == 0:
            part.insert(0, m21tempo.MetronomeMark(number=float(tempo)))
        if has_beats:
            starts = rows["start_beat"].to_numpy(float)
            ends = rows["end_beat"].to_numpy(float)
        else:
            starts = rows["start"].to_numpy(float) / seconds_per_quarter
            ends = rows["end"].to_numpy(float) / seconds_per_quarter
        grouped: dict[tuple[float, float, int], list[int]] = {}
        for start, end, pitch, velocity in zip(starts, ends, rows["pitch"], rows["velocity"], strict=True):
            grouped.setdefault((round(start, 9), round(end, 9), int(velocity)), []).append(int(pitch))
        for (start, end, velocity), pitches in grouped.items():
            length = max(end - start, 1e-6)
            element = note.Note(pitches[0]) if len(pitches) == 1 else chord.Chord(sorted(pitches))
            element.quarterLength = length
            element.volume.velocity = velocity
            part.insert(start, element)
        score.insert(0, part)
    return score


def _offset_to_seconds(score) -> callable:
    """A vectorized map from quarter-note offsets to seconds, following tempo marks."""
    boundaries = score.metronomeMarkBoundaries()
    starts = np.array([float(b[0]) for b in boundaries]) if boundaries else np.array([0.0])
    spq = np.array([b[2].secondsPerQuarter() for b in boundaries]) if boundaries else np.array([0.5])
    seconds_at = np.concatenate([[0.0], np.cumsum(np.diff(starts) * spq[:-1])])

    def convert(offsets: np.ndarray) -> np.ndarray:
        offsets = np.asarray(offsets, dtype=float)
        index = np.clip(np.searchsorted(starts, offsets, side="right") - 1, 0, len(starts) - 1)
        return seconds_at[index] + (offsets - starts[index]) * spq[index]

    return convert


def _merge_ties(elements) -> list[tuple[int, int, float, float]]:
    """(pitch, velocity, start, end) per sounding note, tied notes merged.

    A linear pass that follows each pitch's tie state; music21's own ``stripTies``
    deep-copies the stream and is quadratic on long scores (minutes for a quartet).
    An orphan tie continuation (no open note of that pitch) starts a new note.
    """
    rows: list[tuple[int, int, float, float]] = []
    open_notes: dict[int, list] = {}
    for element in elements:
        length = float(element.quarterLength)
        if length <= 0:  # grace notes
            continue
        offset = float(element.offset)
        velocity = element.volume.velocity if element.hasVolumeInformation() else None
        velocity = int(velocity) if velocity is not None else DEFAULT_VELOCITY
        if element.isChord:
            members = [(n.pitch.midi, n.tie or element.tie) for n in element.notes]
        elif hasattr(element, "pitch"):
            members = [(element.pitch.midi, element.tie)]
        else:  # unpitched percussion
            members = [(element.displayPitch().midi, element.tie)]
        for pitch, tie in members:
            if not 0 <= pitch <= 127:
                continue
            kind = tie.type if tie is not None else None
            current = open_notes.get(pitch)
            if kind in ("continue", "stop") and current is not None:
                current[3] = offset + length
                if kind == "stop":
                    rows.append(tuple(open_notes.pop(pitch)))
                continue
            if current is not None:  # a new attack ends an unfinished tie
                rows.append(tuple(open_notes.pop(pitch)))
            note_row = [int(pitch), velocity, offset, offset + length]
            if kind in ("start", "continue"):
                open_notes[pitch] = note_row
            else:
                rows.append(tuple(note_row))
    rows.extend(tuple(r) for r in open_notes.values())
    return rows


def from_music21(stream_obj, *, piece: str = "") -> pd.DataFrame:
    """Turn a music21 score, part or stream into a note table.

    Ties are merged into single notes, chords become one row per pitch, grace notes
    (zero length) are dropped, and seconds follow the score's metronome marks (120
    quarter notes per minute where there are none). ``start_beat``/``end_beat`` are
    the quarter-note offsets. Velocities come from the notes' volume, else
    :data:`DEFAULT_VELOCITY`.
    """
    from music21 import instrument, stream

    if isinstance(stream_obj, stream.Score):
        score = stream_obj
        parts = list(score.parts) or [score]
    else:
        score = stream_obj
        parts = [stream_obj]
    to_seconds = _offset_to_seconds(score)
    columns: dict[str, list] = {
        c: [] for c in NOTE_COLUMNS + BEAT_COLUMNS if c not in ("start", "end")
    }
    seen: dict[str, int] = {}
    for index, part in enumerate(parts):
        base = getattr(part, "partName", None)
        if not base:  # music21's default id is a memory address: not a name
            base = part.id if isinstance(part.id, str) and not part.id.isdigit() else f"part{index + 1}"
        base = str(base)
        seen[base] = seen.get(base, 0) + 1
        name = base if seen[base] == 1 else f"{base}-{seen[base]}"
        inst = part.getInstrument(returnDefault=True)
        program = inst.midiProgram if inst is not None and inst.midiProgram is not None else 0
        is_drum = isinstance(inst, instrument.UnpitchedPercussion) or (
            inst is not None and inst.midiChannel == 9
        )
        rows = _merge_ties(part.flatten().notes)
        for pitch, velocity, start_beat, end_beat in rows:
            columns["piece"].append(piece)
            columns["part"].append(name)
            columns["program"].append(int(program))
            columns["is_drum"].append(bool(is_drum))
            columns["pitch"].append(pitch)
            columns["velocity"].append(velocity)
            columns["start_beat"].append(start_beat)
            columns["end_beat"].append(end_beat)
    notes = pd.DataFrame(columns)
    if notes.empty:
        return empty_notes(with_beats=True)
    notes["start"] = to_seconds(notes["start_beat"].to_numpy())
    notes["end"] = to_seconds(notes["end_beat"].to_numpy())
    return as_note_table(notes)
