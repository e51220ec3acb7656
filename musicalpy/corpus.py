"""Load a corpus into one note table: music21's bundled corpus, MIDI folders, MAESTRO.

>>> corpus = load_corpus("bach")                 # 371 chorales, parsed once then cached
>>> corpus.notes.head()                           # the note table (see musicalpy.midi)
>>> corpus.pieces                                 # one row per piece, with its split
>>> train = corpus.split("train")                 # a sub-corpus

Sources
-------
``"bach"``
    The 371 chorales of music21's chorale iterator (Riemenschneider numbering), with
    title, BWV and Riemenschneider number. music21 stores 350 distinct files: 21
    chorales appear twice in the Riemenschneider edition, so they share a file; the two
    copies always land in the same split (see :func:`split_pieces`). Most chorales
    have exactly the four voices Soprano/Alto/Tenor/Bass; the rest keep their extra
    instrumental parts under their own names (select voices with ``parts=``). Voices
    the source leaves unnamed (Humdrum spines) or names after a doubling instrument
    get their plain names, so ``parts=VOICES`` selects the 370 chorales with all four
    voices (bwv27.6 has two soprano parts, kept as "Soprano 1"/"Soprano 2"; a selection
    of several parts keeps only pieces with every one, see :meth:`Corpus.select_parts`).
``"essen"``
    The Essen folk song collection bundled with music21: 8,514 monophonic tunes in 31
    files, interleaved across the files so that ``limit=`` samples every collection.
``"composers"``
    A mixed set for EDA with a ``composer`` column: Bach, Beethoven, Mozart, Haydn,
    Schumann, Chopin, Palestrina, Monteverdi and the other composers music21 ships, at
    most ``per_composer`` pieces each (default 40), interleaved across composers so that
    ``limit=`` keeps every composer represented.
a path
    A single MIDI file, a folder of MIDI files (recursive, ``.mid``/``.midi``), or a
    MAESTRO v2/v3 folder, recognised by its ``maestro-v*.csv`` metadata, whose
    ``split`` column becomes the split. :func:`download_maestro` fetches MAESTRO.

Caching
-------
The first load parses in parallel over the cores (tqdm progress bar) and writes
``notes.npz`` + ``pieces.json`` + ``meta.json`` under :func:`musicalpy.cache_dir` (no
pickle), keyed by the source, the options, the music21 version and
:data:`CACHE_VERSION`; for paths the key includes every file's size and modification
time, so edits invalidate it. A damaged cache is reported once and rebuilt.

Parallel parsing
----------------
Workers are started with ``spawn`` (the caller may hold TensorFlow or Jupyter threads,
which ``fork`` would copy in an unusable state). A spawned worker re-imports the main
script, so a plain script that calls ``load_corpus`` at top level without an
``if __name__ == "__main__":`` guard would start the load again in every worker. Such a
call is recognised (the script's current line is read against its source) and parsed
with ``fork`` on Linux when only the main thread runs and TensorFlow is not loaded,
else in this process. Notebooks, ``python -c``, the CLI and guarded scripts keep
``spawn``.
"""

from __future__ import annotations

import ast
import concurrent.futures as futures
import contextlib
import hashlib
import itertools
import json
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import threading
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._config import CorpusError, cache_dir, check_int
from .jsb_files import jsb_tables
from .midi import BEAT_COLUMNS, NOTE_COLUMNS, empty_notes, from_music21, read_midi
from .names import VOICES

__all__ = [
    "Corpus",
    "CorpusError",
    "load_corpus",
    "split_digest",
    "available_corpora",
    "split_pieces",
    "check_splits",
    "download_maestro",
    "parse_score",
    "read_piece",
    "pickup_beats",
    "SPLITS",
    "CACHE_VERSION",
    "SCORE_COLUMNS",
    "MAESTRO_RELEASES",
]

#: Bump when parsing changes, so that old caches are rebuilt.
CACHE_VERSION = 8  # 8: the fermata and bar_start columns and pieces.pickup_beats (6, 7 lacked some); 5: an Opus of one score per voice loads as one piece (Josquin)
#: Columns the parse adds to the note table after the beat columns: ``fermata`` (bool),
#: True for a note that carries a music21 ``expressions.Fermata`` (False for MIDI), and
#: ``bar_start`` (float), the quarter-note offset of the bar the note starts in (NaN
#: for MIDI, which has no bars), so a note's place in its bar is ``start_beat -
#: bar_start`` whatever the time signature, anacrusis or meter changes.
SCORE_COLUMNS = ["fermata", "bar_start"]
#: Split labels, in order.
SPLITS = ("train", "validation", "test")
#: The embedded corpora and what they hold.
EMBEDDED = {
    "bach": "371 Bach chorales (music21), four voices S/A/T/B plus extra parts in a few",
    "essen": "Essen folk song collection (music21), thousands of monophonic tunes",
    "composers": "mixed classical set with a composer column (music21's bundled composers)",
    "jsb": "JSB Chorales benchmark: 229/76/77 chorales on quarter-note frames, canonical split (data/jsb)",
    "jsb_voices": "the same chorales and split, voice-separated S/A/T/B on sixteenth notes (data/jsb)",
}
#: music21 corpus folders used by "composers", with the name shown in the composer column.
COMPOSER_FOLDERS = {
    "bach": "Bach",
    "beethoven": "Beethoven",
    "mozart": "Mozart",
    "haydn": "Haydn",
    "schumann_robert": "Schumann",
    "schumann_clara": "Clara Schumann",
    "chopin": "Chopin",
    "schubert": "Schubert",
    "handel": "Handel",
    "palestrina": "Palestrina",
    "monteverdi": "Monteverdi",
    "josquin": "Josquin",
    "corelli": "Corelli",
    "cpebach": "C.P.E. Bach",
    "joplin": "Joplin",
    "verdi": "Verdi",
    "weber": "Weber",
    "beach": "Beach",
}
#: Published MAESTRO MIDI archives: URL, size in bytes and SHA-256 (as listed by the
#: MAESTRO page and mirrored in muspy's dataset registry).
MAESTRO_RELEASES = {
    "v3.0.0": (
        "https://storage.googleapis.com/magentadata/datasets/maestro/v3.0.0/maestro-v3.0.0-midi.zip",
        58416533,
        "70470ee253295c8d2c71e6d9d4a815189e35c89624b76d22fce5a019d5dde12c",
    ),
    "v2.0.0": (
        "https://storage.googleapis.com/magentadata/datasets/maestro/v2.0.0/maestro-v2.0.0-midi.zip",
        59243107,
        "ec2cc9d94886c6b376db1eaa2b8ad1ce62ff9f0a28b3744782b13163295dadf3",
    ),
}
_MUSIC21_SUFFIXES = {".mxl", ".xml", ".musicxml", ".krn", ".abc", ".mid", ".midi"}
_MIDI_SUFFIXES = {".mid", ".midi"}
#: When music21 ships one piece in several formats, the first of these wins.
_SCORE_PREFERENCE = [".mxl", ".musicxml", ".xml", ".krn", ".abc", ".mid", ".midi"]
_PIECE_COLUMNS = [
    "piece", "title", "composer", "source", "group", "key_signature", "time_signature",
    "tempo", "duration", "n_notes", "n_parts", "parts", "split",
]


# ------------------------------------------------------------------------- the Corpus


@dataclass
class Corpus:
    """A parsed corpus: the note table, one row per piece, and what could not be read.

    Attributes
    ----------
    name : str
        The source it was loaded from (an embedded name or a path).
    notes : pd.DataFrame
        The note table (``musicalpy.midi``), ``start_beat``/``end_beat`` included.
    pieces : pd.DataFrame
        One row per piece: ``piece`` (id), ``title``, ``composer``, ``source`` (file),
        ``group`` (pieces of one group share a split), ``key_signature``,
        ``time_signature``, ``tempo`` (first, quarter notes per minute), ``duration``
        (seconds), ``n_notes``, ``n_parts``, ``parts`` (names joined by ``|``),
        ``split``, plus source-specific columns (``bwv``, ``riemenschneider``, ``year``).
    report : pd.DataFrame
        One row per file (or tune) that could not be used: ``source``, ``reason``.
    """

    name: str
    notes: pd.DataFrame
    pieces: pd.DataFrame
    report: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["source", "reason"]))

    def __len__(self) -> int:
        return len(self.pieces)

    def __repr__(self) -> str:
        splits = self.pieces["split"].value_counts().reindex(list(SPLITS), fill_value=0)
        counts = ", ".join(f"{k} {v}" for k, v in splits.items())
        return (
            f"Corpus({self.name!r}: {len(self.pieces)} pieces, {len(self.notes):,} notes; "
            f"{counts}; {len(self.report)} skipped)"
        )

    @property
    def piece_ids(self) -> list[str]:
        """Piece ids in corpus order."""
        return list(self.pieces["piece"])

    def split(self, name: str) -> Corpus:
        """The sub-corpus of one split (``"train"``, ``"validation"`` or ``"test"``)."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
        return self.subset(self.pieces.loc[self.pieces["split"] == name, "piece"])

    def subset(self, pieces: Iterable[str]) -> Corpus:
        """The sub-corpus of the given piece ids (in corpus order)."""
        wanted = set(pieces)
        unknown = wanted - set(self.pieces["piece"])
        if unknown:
            raise KeyError(f"unknown piece id(s): {sorted(unknown)[:5]}")
        pieces_table = self.pieces[self.pieces["piece"].isin(wanted)].reset_index(drop=True)
        notes = self.notes[self.notes["piece"].isin(wanted)].reset_index(drop=True)
        return Corpus(self.name, notes, pieces_table, self.report)

    def select_parts(self, parts: Sequence[str], *, require_all: bool = True) -> Corpus:
        """Keep only the named parts (e.g. ``["Soprano", "Alto", "Tenor", "Bass"]``).

        Parameters
        ----------
        parts : sequence of str
        require_all : bool, default True
            Keep only the pieces that have every named part, so a four-voice selection
            holds four-voice pieces only (music21's bwv27.6 has "Soprano 1" and
            "Soprano 2" and no "Soprano"). A piece dropped for a missing part is added
            to :attr:`report` with the parts it has (the corpus's repr counts it), and one
            warning names them, except in the embedded corpora, whose one such piece
            (bwv27.6) is documented in docs/data.md. False:
            keep every piece with a note in any of the parts.

        Pieces left without notes are dropped either way.
        """
        wanted = list(parts)
        notes = self.notes[self.notes["part"].isin(wanted)]
        report = self.report
        if require_all and len(wanted) > 1:
            present = notes.groupby("piece")["part"].apply(lambda p: set(p.astype(str)))
            incomplete = present[present.apply(lambda have: not set(wanted) <= have)]
            if len(incomplete):
                every = self.notes[self.notes["piece"].isin(incomplete.index)].groupby("piece")["part"].apply(
                    lambda p: sorted(set(p.astype(str))))
                sources = (self.pieces.set_index("piece")["source"] if "source" in self.pieces.columns
                           else pd.Series(dtype=object))
                rows = [{"source": str(sources.get(piece, piece)),
                         "reason": f"piece {piece} has no {', '.join(p for p in wanted if p not in have)} part "
                                   f"(its parts: {', '.join(every[piece])}); select_parts keeps pieces with every "
                                   f"part of {wanted}"}
                        for piece, have in incomplete.items()]
                report = pd.concat([report, pd.DataFrame(rows, columns=["source", "reason"])], ignore_index=True)
                # An embedded corpus's known exclusions (bwv27.6's two sopranos) are documented and counted
                # in the corpus's repr ("1 skipped"); a warning per notebook would tell nobody anything.
                # Pieces of the user's own corpora are warned about.
                if self.name not in EMBEDDED:
                    warnings.warn(f"select_parts: left out {len(rows)} piece(s) without all of {wanted}: "
                                  + "; ".join(f"{piece} (has {', '.join(every[piece])})" for piece in incomplete.index[:5])
                                  + ("; ..." if len(rows) > 5 else "") + "; see corpus.report", stacklevel=2)
                notes = notes[~notes["piece"].isin(incomplete.index)]
        notes = notes.reset_index(drop=True)
        pieces_table = self.pieces[self.pieces["piece"].isin(set(notes["piece"]))].copy()
        counts = notes.groupby("piece").size()
        pieces_table["n_notes"] = pieces_table["piece"].map(counts).astype(int)
        return Corpus(self.name, notes, pieces_table.reset_index(drop=True), report.reset_index(drop=True))

    def piece(self, piece_id: str) -> pd.DataFrame:
        """The note table of one piece."""
        notes = self.notes[self.notes["piece"] == piece_id]
        if notes.empty:
            raise KeyError(f"no piece {piece_id!r} in corpus {self.name!r}")
        return notes.reset_index(drop=True)

    def notes_with(self, *columns: str) -> pd.DataFrame:
        """The note table joined with piece columns, e.g. ``notes_with("composer", "split")``."""
        return self.notes.merge(self.pieces[["piece", *columns]], on="piece", how="left")

    def describe(self) -> pd.DataFrame:
        """Pieces, parts, notes and hours per split (and in total)."""
        merged = self.notes_with("split")
        rows = []
        for name in (*SPLITS, "all"):
            part = merged if name == "all" else merged[merged["split"] == name]
            meta = self.pieces if name == "all" else self.pieces[self.pieces["split"] == name]
            rows.append(
                {
                    "split": name,
                    "pieces": len(meta),
                    "notes": len(part),
                    "hours": float(meta["duration"].sum()) / 3600.0,
                    "mean notes per piece": len(part) / max(len(meta), 1),
                }
            )
        return pd.DataFrame(rows).set_index("split")


# --------------------------------------------------------------------------- loading


def available_corpora() -> dict[str, str]:
    """The embedded corpus names and what each holds."""
    return dict(EMBEDDED)


def load_corpus(
    source: str | os.PathLike,
    *,
    parts: Sequence[str] | None = None,
    limit: int | None = None,
    cache: bool = True,
    progress: bool = True,
    per_composer: int = 40,
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    n_jobs: int | None = None,
) -> Corpus:
    """Load a corpus by name (``"bach"``, ``"essen"``, ``"composers"``) or by path.

    Parameters
    ----------
    source : str or path-like
        An embedded corpus name, a MIDI file, a folder of MIDI files or a MAESTRO folder.
    parts : sequence of str, optional
        Keep only these part names (e.g. the four chorale voices).
    limit : int, optional
        Load at most this many pieces (the first ones in a fixed order). When the whole
        corpus is already cached, the first ``limit`` pieces are taken from the cache.
    cache : bool
        Read and write the parse cache (see the module docstring).
    progress : bool
        Show a tqdm progress bar while parsing.
    per_composer : int
        For ``"composers"``: at most this many pieces per composer.
    split_fractions : (float, float, float)
        Train/validation/test fractions of the piece-level split (ignored for MAESTRO).
    seed : int
        Seed of the split.
    n_jobs : int, optional
        Worker processes for parsing (default: the number of cores).

    Returns
    -------
    Corpus

    Raises
    ------
    CorpusError
        For an unknown name or a missing path (the message lists what is available),
        or when nothing could be read (the message gives the reasons).
    """
    if limit is not None:
        limit = check_int("limit", limit)
    per_composer = check_int("per_composer", per_composer)
    if n_jobs is not None:
        n_jobs = check_int("n_jobs", n_jobs)
    if source in ("jsb", "jsb_voices"):  # the benchmark's fixed split, no parsing: musicalpy.jsb_files
        corpus = Corpus(*jsb_tables(voices=source == "jsb_voices"))
        corpus = corpus.subset(corpus.piece_ids[:limit]) if limit is not None else corpus
        return corpus.select_parts(parts) if parts is not None else corpus
    name, jobs, extra_key = _plan(source, per_composer)
    options = {}
    if name == "essen":  # tunes interleaved across files (cache entries of the old file order differ)
        options = {"order": "round robin over files"}
    if name == "composers":  # the file selection depends on per_composer and music21's corpus
        chosen = "\n".join(job["source"] for job in jobs)
        options = {"per_composer": per_composer, "files": hashlib.sha1(chosen.encode()).hexdigest()}
    full_key = _cache_key(name, options, extra_key, None)
    cached = _read_cache(full_key) if cache else None
    if cached is None and limit is not None and limit < len(jobs):
        key = _cache_key(name, options, extra_key, limit)
        cached = _read_cache(key) if cache else None
        jobs = jobs[:limit]
    else:
        key = full_key
    if cached is None:
        notes, pieces_table, report = _parse_all(jobs, name, progress=progress, n_jobs=n_jobs)
        if not pieces_table.empty:
            # Identical music under two file names (the chorale collection has such
            # pairs) must share a group, so that it never straddles splits.
            pieces_table["group"] = _merge_identical_groups(notes, pieces_table)
        if cache and not pieces_table.empty:
            _write_cache(key, notes, pieces_table, report, source=name)
    else:
        notes, pieces_table, report = cached
    if limit is not None and len(pieces_table) > limit:
        keep = set(pieces_table["piece"].iloc[:limit])
        pieces_table = pieces_table[pieces_table["piece"].isin(keep)].reset_index(drop=True)
        notes = notes[notes["piece"].isin(keep)].reset_index(drop=True)
    if not report.empty:
        reasons = Counter(_short_reason(r) for r in report["reason"])
        summary = "; ".join(f"{n} x {reason}" for reason, n in reasons.most_common(5))
        warnings.warn(
            f"load_corpus({name!r}): skipped {len(report)} of {len(report) + len(pieces_table)} "
            f"files/tunes ({summary}); see corpus.report",
            stacklevel=2,
        )
    if pieces_table.empty:
        detail = "; ".join(f"{Path(s).name}: {r}" for s, r in report.head(5).itertuples(index=False))
        raise CorpusError(f"{name}: no readable piece with notes found" + (f" ({detail})" if detail else ""))
    if "maestro_split" in pieces_table.columns:
        pieces_table["split"] = pieces_table["maestro_split"].fillna("train")
    else:
        pieces_table["split"] = split_pieces(pieces_table, split_fractions, seed=seed)
    corpus = Corpus(name, notes, pieces_table, report)
    if parts is not None:
        corpus = corpus.select_parts(parts)
        if corpus.notes.empty:
            raise CorpusError(f"{name}: no notes in parts {list(parts)}")
    return corpus


def _short_reason(reason: str) -> str:
    """The cause part of an error message, without the file name."""
    reason = reason.split(": ", 1)[1] if ": " in reason else reason
    return re.sub(r"\s*\(.*", "", reason)[:60]


# Each job is a dict: {"kind": "music21"|"abc_tune"|"midi", "source": str, "piece": id,
# "group": str, plus metadata}. Jobs are picklable so that worker processes can run them.


def _plan(source: str | os.PathLike, per_composer: int) -> tuple[str, list[dict], Any]:
    if isinstance(source, str) and source in EMBEDDED:
        import music21

        planner = {"bach": _plan_bach, "essen": _plan_essen, "composers": _plan_composers}[source]
        jobs = planner(per_composer) if source == "composers" else planner()
        return source, jobs, music21.__version__
    path = Path(source).expanduser()
    if not path.exists():
        names = ", ".join(f'"{n}"' for n in EMBEDDED)
        raise CorpusError(
            f"{source}: no such corpus name or path. Embedded corpora: {names}; "
            "or give a MIDI file, a folder of MIDI files, or a MAESTRO folder."
        )
    path = path.resolve()
    if path.is_file():
        if path.suffix.lower() not in _MIDI_SUFFIXES | _MUSIC21_SUFFIXES:
            raise CorpusError(f"{path}: not a MIDI or score file (expected .mid/.midi)")
        files = [path]
        jobs = [_file_job(path, path.parent)]
    else:
        maestro_csv = sorted(path.glob("maestro-v*.csv"))
        if maestro_csv:
            jobs = _plan_maestro(path, maestro_csv[-1])
            files = [Path(j["source"]) for j in jobs]
        else:
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in _MIDI_SUFFIXES and p.is_file())
            if not files:
                raise CorpusError(f"{path}: no .mid or .midi files in this folder (searched recursively)")
            jobs = [_file_job(p, path) for p in files]
    fingerprint = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files if p.exists()]
    return str(path), jobs, fingerprint


def _file_job(path: Path, root: Path) -> dict:
    relative = path.relative_to(root) if path != root else Path(path.name)
    piece = str(relative.with_suffix("")).replace(os.sep, "/")
    kind = "midi" if path.suffix.lower() in _MIDI_SUFFIXES else "music21"
    return {"kind": kind, "source": str(path), "piece": piece, "group": piece,
            "title": path.stem, "composer": ""}


def _plan_bach() -> list[dict]:
    from music21 import corpus as m21corpus

    listing = m21corpus.chorales.ChoraleListRKBWV().byRiemenschneider
    numbers_of: dict[str, list[int]] = {}
    for number in sorted(listing):
        numbers_of.setdefault(str(listing[number]["bwv"]), []).append(number)
    jobs = []
    seen: Counter = Counter()
    # The iterator walks the Riemenschneider numbers in order; a BWV met twice takes
    # its second number the second time.
    for filename in m21corpus.chorales.Iterator(returnType="filename"):
        bwv = filename.split("bwv", 1)[1]
        seen[bwv] += 1
        numbers = numbers_of.get(bwv, [])
        number = numbers[min(seen[bwv], len(numbers)) - 1] if numbers else 0
        title = listing[number]["title"] if number else ""
        jobs.append({
            "kind": "music21", "source": filename, "piece": f"R{number:03d}_bwv{bwv}",
            "group": f"bwv{bwv}", "title": title, "composer": "Bach",
            "bwv": bwv, "riemenschneider": int(number),
        })
    return jobs


def _plan_essen() -> list[dict]:
    from music21 import corpus as m21corpus

    per_file: list[list[dict]] = []
    for path in sorted(p for p in m21corpus.getCorePaths() if "essenFolksong" in str(p)):
        path = Path(path)
        text = path.read_text(encoding="latin-1")
        tunes = []
        for match in re.finditer(r"^X:\s*(\d+)", text, flags=re.MULTILINE):
            number = int(match.group(1))
            piece = f"{path.stem}-{number}"
            tunes.append({"kind": "abc_tune", "source": str(path), "number": number, "piece": piece,
                          "group": piece, "title": "", "composer": "Traditional (Essen)"})
        per_file.append(tunes)
    # Round robin over the collection's 31 files (German ballads, children's songs,
    # Chinese, Irish, Lorraine...), so that limit=N samples all of them rather than
    # the first file or two.
    return [tune for row in itertools.zip_longest(*per_file) for tune in row if tune is not None]


def _plan_composers(per_composer: int) -> list[dict]:
    from music21 import corpus as m21corpus

    chorales = set(m21corpus.chorales.Iterator(returnType="filename"))
    lists: list[list[dict]] = []
    for folder, composer in COMPOSER_FOLDERS.items():
        paths = []
        for p in sorted(m21corpus.getComposer(folder), key=str):
            p = Path(p)
            rel = str(p).split(f"corpus{os.sep}", 1)[-1]
            if p.suffix.lower() not in _MUSIC21_SUFFIXES:
                continue  # roman-numeral analyses (.rntxt) and other non-score files
            if p.suffix.lower() == ".abc" and p.stat().st_size > 50_000:
                continue  # large multi-tune collections are not one composer's pieces
            paths.append((rel, p))
        # music21 ships some movements twice (Humdrum and MusicXML): keep one per name.
        best: dict[str, tuple[str, Path]] = {}
        for rel, p in paths:
            stem = rel.rsplit(".", 1)[0]
            if stem not in best or _SCORE_PREFERENCE.index(p.suffix.lower()) < _SCORE_PREFERENCE.index(
                    best[stem][1].suffix.lower()):
                best[stem] = (rel, p)
        paths = sorted(best.values())
        if not paths:
            continue
        if folder == "bach":  # keep Bach's chorales out of the count when other works exist
            non_chorale = [x for x in paths if str(Path(x[0]).with_suffix("")) not in chorales]
            paths = non_chorale + [x for x in paths if x not in non_chorale]
        step = max(1, len(paths) // per_composer)
        chosen = paths[::step][:per_composer]
        lists.append([
            {"kind": "music21", "source": str(p), "piece": rel.rsplit(".", 1)[0],
             "group": rel.rsplit(".", 1)[0], "title": "", "composer": composer}
            for rel, p in chosen
        ])
    # Interleave composers so that limit=N keeps every composer represented.
    jobs = []
    for i in range(max(len(x) for x in lists)):
        jobs.extend(x[i] for x in lists if i < len(x))
    return jobs


def _plan_maestro(root: Path, csv_path: Path) -> list[dict]:
    meta = pd.read_csv(csv_path)
    needed = {"midi_filename", "split", "canonical_composer", "canonical_title"}
    if not needed <= set(meta.columns):
        raise CorpusError(f"{csv_path}: not a MAESTRO metadata file (needs columns {sorted(needed)})")
    jobs = []
    for row in meta.itertuples(index=False):
        path = root / row.midi_filename
        piece = str(Path(row.midi_filename).with_suffix(""))
        jobs.append({
            "kind": "midi", "source": str(path), "piece": piece, "group": piece,
            "title": row.canonical_title, "composer": row.canonical_composer,
            "maestro_split": row.split, "year": int(getattr(row, "year", 0) or 0),
        })
    return jobs


# ---------------------------------------------------------------------------- parsing


def _parse_job(job: dict) -> tuple[list[tuple[pd.DataFrame, dict]], str | None]:
    """Parse one job in a worker: ``([(notes, piece row), ...], None)`` or ``([], reason)``.

    A job is one piece, except a music21 file that holds several works (see
    :func:`_works_of`), which gives one piece per work.
    """
    try:
        if job["kind"] == "midi":
            import pretty_midi

            notes = read_midi(job["source"], piece=job["piece"]).assign(fermata=False, bar_start=np.nan)  # no fermatas, no bars
            parsed = [(job, notes, _midi_info(pretty_midi.PrettyMIDI(job["source"])))]
        else:
            parsed = []
            for work, score in _works_of(_parse_music21(job["source"], job.get("number")), job):
                notes = mark_bars(mark_fermatas(from_music21(score, piece=work["piece"]), score), score)
                if work.get("composer") == "Bach" and "bwv" in work:
                    notes = _name_chorale_voices(notes)
                info = _music21_info(score)
                if not work.get("title"):
                    info["title"] = (score.metadata.title if score.metadata else None) or work["piece"]
                parsed.append((work, notes, info))
    except Exception as exc:  # a corpus load reports what it cannot read and goes on
        message = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return [], message if message.startswith(job["source"]) else f"{job['source']}: {message}"
    pieces = [(notes, _piece_row(work, notes, info)) for work, notes, info in parsed if not notes.empty]
    if not pieces:
        return [], f"{job['source']}: no notes"
    return pieces, None


def read_piece(source: str | os.PathLike, *, name: str | None = None) -> tuple[pd.DataFrame, dict]:
    """One piece read as :func:`load_corpus` reads each of its files: ``(notes, piece row)``.

    Parameters
    ----------
    source : str or path-like
        A MIDI or score file (MusicXML, ``.mxl``, Humdrum, ABC), or a path inside
        music21's corpus such as ``"bach/bwv66.6"``.
    name : str, optional
        The piece id (default: the file's stem, or the corpus path).

    Returns
    -------
    (pd.DataFrame, dict)
        The note table (``fermata`` and ``bar_start`` marked from the score, a Bach
        chorale's voices named Soprano .. Bass) and its ``pieces`` row (time signature,
        key, pickup, title, ...).

    Raises
    ------
    CorpusError
        Naming the source and why it cannot be read (a file holding several works too).
    """
    text = os.fspath(source)
    path = Path(text).expanduser()
    if path.is_file():
        if path.suffix.lower() not in _MIDI_SUFFIXES | _MUSIC21_SUFFIXES:
            raise CorpusError(f"{path}: not a MIDI or score file (expected one of "
                              f"{', '.join(sorted(_MIDI_SUFFIXES | _MUSIC21_SUFFIXES))})")
        job = {**_file_job(path.resolve(), path.resolve().parent), "piece": name or path.stem}
        if "bwv" in path.stem.lower():
            job["composer"], job["bwv"] = "Bach", path.stem
    elif os.path.isabs(text) or text.endswith(tuple(_MIDI_SUFFIXES)):
        raise CorpusError(f"{text}: no such file")
    else:
        piece = name or text.replace("/", "_")
        job = {"kind": "music21", "source": text, "piece": piece, "group": piece, "title": "", "composer": ""}
        if text.startswith("bach/"):
            job["composer"], job["bwv"] = "Bach", text.split("/", 1)[1]
    pieces, reason = _parse_job(job)
    if reason is not None:
        raise CorpusError(reason)
    if len(pieces) != 1:
        raise CorpusError(f"{text}: holds {len(pieces)} works; give one work's file")
    return pieces[0]


def _parse_job_quietly(job: dict) -> tuple[list[tuple[pd.DataFrame, dict]], str | None, list[tuple[type, str]]]:
    """:func:`_parse_job`, with the warnings it raises returned instead of printed.

    A worker process does not share the caller's warning filters, so its warnings
    (music21's notation repairs) would reach a notebook unfiltered and once per file;
    :func:`_parse_all` raises each distinct one again in the caller, where its filters
    apply.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pieces, reason = _parse_job(job)
    return pieces, reason, [(w.category, str(w.message)) for w in caught]


def _parse_music21(source: str, number: int | None = None):
    """What music21 makes of a file: an absolute path, or a path in music21's corpus;
    ``number`` picks one tune of an ABC collection (music21 then returns a Score)."""
    from music21 import converter
    from music21 import corpus as m21corpus

    if number is not None:
        return m21corpus.parse(source, number=number)
    return converter.parse(source) if os.path.isabs(source) else m21corpus.parse(source)


def parse_score(source: str | os.PathLike, *, work: int | None = None):
    """The music21 score behind a piece that :func:`load_corpus` read from a score file.

    Use it for what the note table does not keep (measures, clefs, lyrics), e.g. with
    ``corpus.pieces["source"]``. The voices of one work that the file stores as
    separate scores come back merged, as the loader merged them.

    Parameters
    ----------
    source : str or path-like
        A score file (MusicXML, Humdrum, ABC, MIDI), or a path inside music21's corpus
        such as ``"bach/bwv66.6"`` or ``"josquin/milleRegrets.abc"``.
    work : int, optional
        For a file holding several works (loaded as pieces ``<id>#1``, ``<id>#2``, ...):
        which one, counting from 1.

    Returns
    -------
    music21.stream.Score

    Raises
    ------
    ValueError
        When the file holds several works and ``work`` is not one of them.
    """
    source = str(source)
    works = [score for _, score in _works_of(_parse_music21(source), {"piece": "", "source": source})]
    if len(works) == 1 and work in (None, 1):
        return works[0]
    if work is None or not 1 <= check_int("work", work) <= len(works):
        raise ValueError(f"{source}: holds {len(works)} works; pass work=1..{len(works)}, got {work!r}")
    return works[work - 1]


def _score_parts(score: Any) -> list:
    """The streams that :func:`mark_fermatas`, :func:`mark_bars` and
    :func:`pickup_beats` read a score's notes and measures from, shape ``[n_parts]``:
    a Score's parts, or ``[score]`` for a Score without parts or any other Stream (a
    single part, or a flat stream as some MIDI and ABC files parse to). Never empty,
    so the first part's measures can always be asked for."""
    from music21 import stream

    parts = list(score.parts) if isinstance(score, stream.Score) else []
    return parts or [score]


def mark_fermatas(notes: pd.DataFrame, score: Any) -> pd.DataFrame:
    """``notes`` with the boolean column ``fermata``: True where the note carries a
    music21 ``expressions.Fermata``.

    A note of the table may merge tied notes of the score; it is marked when any of
    them carries the fermata (Bach's fermatas sit on the last chord of a phrase, which
    is sometimes tied across the bar line). The score's parts are matched to the
    table's parts in order, as :func:`musicalpy.midi.from_music21` reads them (parts
    without notes give no rows).

    Parameters
    ----------
    notes : pd.DataFrame
        :func:`musicalpy.midi.from_music21` of ``score`` (with the beat columns).
    score : music21.stream.Score or Stream

    Returns
    -------
    pd.DataFrame
        A copy of ``notes`` with ``fermata`` last.
    """
    from music21 import expressions

    parts = _score_parts(score)
    sounding = [p for p in parts if any(float(n.quarterLength) > 0 for n in p.flatten().notes)]
    names = list(dict.fromkeys(notes["part"]))
    marked = np.zeros(len(notes), dtype=bool)
    if len(sounding) != len(names):
        raise ValueError(f"{notes['piece'].iloc[0] if len(notes) else 'score'}: {len(sounding)} parts with notes "
                         f"in the score but {len(names)} in the note table")
    for name, part in zip(names, sounding, strict=True):
        rows = np.flatnonzero(notes["part"].to_numpy() == name)
        starts, ends = notes["start_beat"].to_numpy()[rows], notes["end_beat"].to_numpy()[rows]
        pitches = notes["pitch"].to_numpy()[rows]
        for element in part.flatten().notes:
            if not any(isinstance(e, expressions.Fermata) for e in element.expressions):
                continue
            offset = float(element.offset)
            for pitch in getattr(element, "pitches", ()):
                hit = (pitches == pitch.midi) & (starts <= offset + 1e-9) & (offset < ends - 1e-9)
                marked[rows[hit]] = True
    return notes.assign(fermata=marked)


def mark_bars(notes: pd.DataFrame, score: Any) -> pd.DataFrame:
    """``notes`` with the column ``bar_start``: the offset (quarter notes) of the bar in
    which each note starts, from the score's measures (NaN for a score without them).

    Parameters
    ----------
    notes : pd.DataFrame
        :func:`musicalpy.midi.from_music21` of ``score`` (with the beat columns).
    score : music21.stream.Score or Stream

    Returns
    -------
    pd.DataFrame
        A copy of ``notes`` with ``bar_start`` last.
    """
    from music21 import stream

    measures = _score_parts(score)[0].getElementsByClass(stream.Measure)
    lines = np.unique([float(m.offset) for m in measures])
    if not len(lines):
        return notes.assign(bar_start=np.nan)
    which = np.searchsorted(lines, notes["start_beat"].to_numpy(dtype=float) + 1e-9, side="right") - 1
    return notes.assign(bar_start=lines[np.maximum(which, 0)])


def _piece_row(job: dict, notes: pd.DataFrame, info: dict) -> dict:
    """The ``pieces`` row of one parsed piece: the job's metadata, then the file's."""
    row = {k: v for k, v in job.items() if k not in ("kind", "number")}
    row.update({k: v for k, v in info.items() if k != "title" or not row.get("title")})
    row["duration"] = float(notes["end"].max())
    row["n_notes"] = len(notes)
    names = list(dict.fromkeys(notes["part"]))
    row["n_parts"] = len(names)
    row["parts"] = "|".join(names)
    return row


def _works_of(loaded, job: dict) -> list[tuple[dict, Any]]:
    """The works in what music21 parsed from one file, as ``[(job, score)]``.

    A Score is one work. A music21 Opus is several scores, and music21's corpus uses
    it two ways (``scripts/survey_opus_files.py`` lists every case in the composers
    corpus): the Josquin ABC files write each voice of one chanson as its own tune, all
    tunes with the work's title and each with the voice's name as second title
    (Superius, Altus, ...); a collection holds different works under different titles.
    So an Opus whose scores all share one non-empty title is merged into one score, a
    part per voice named after the voice; otherwise each score is its own piece, with
    id ``<piece>#<n>`` (n counting from 1 in file order) and its own title, in the
    file's group so that the works of one file share a split.
    """
    from music21 import stream

    if not isinstance(loaded, stream.Opus):
        return [(job, loaded)]
    scores = list(loaded.scores)
    titles = [((score.metadata.title if score.metadata else None) or "").strip() for score in scores]
    if len(scores) == 1 or (titles and titles[0] and len(set(titles)) == 1):
        return [(job, _merge_voice_scores(loaded, scores))]
    return [({**job, "piece": f"{job['piece']}#{n}", "title": title or job.get("title", "")}, score)
            for n, (score, title) in enumerate(zip(scores, titles, strict=True), start=1)]


def _merge_voice_scores(opus, scores: list) -> Any:
    """One score from an Opus of one score per voice, each part named after its voice
    (the score's second title) where the file gives one; unnamed voices keep
    :func:`musicalpy.midi.from_music21`'s ``partN`` names."""
    if len(scores) == 1:
        return scores[0]
    merged = opus.mergeScores()
    voices = [((s.metadata.alternativeTitle if s.metadata else None) or "").strip() for s in scores]
    parts = list(merged.parts)
    if len(parts) == len(voices):  # one part per voice score, in file order
        for part, voice in zip(parts, voices, strict=True):
            if voice:
                part.partName = voice
    return merged


def _name_chorale_voices(notes: pd.DataFrame) -> pd.DataFrame:
    """Give the four chorale voices their plain names where the source did not.

    Humdrum-encoded chorales name their parts ``spine_N`` (four spines, top to bottom
    = S, A, T, B); a few MusicXML chorales name a doubled voice ``"Soprano Oboe 1
    Violin1"``. A part is renamed only when the plain voice name is absent and exactly
    one part starts with that voice's name; anything else keeps its name.
    """
    names = list(dict.fromkeys(notes["part"]))
    mapping: dict[str, str] = {}
    if len(names) == 4 and all(n.startswith("spine_") for n in names):
        mapping = dict(zip(names, VOICES, strict=True))
    else:
        for voice in VOICES:
            if voice in names:
                continue
            candidates = [n for n in names if n.split(" ")[0] == voice]
            if len(candidates) == 1:
                mapping[candidates[0]] = voice
    if not mapping:
        return notes
    return notes.assign(part=notes["part"].map(lambda n: mapping.get(n, n)))


def _music21_info(score) -> dict:
    from music21 import key as m21key
    from music21 import meter, tempo

    flat = score.flatten()
    signature = ""
    keys = flat.getElementsByClass([m21key.Key, m21key.KeySignature])
    if keys:
        ks = keys[0]
        if isinstance(ks, m21key.Key):
            signature = f"{ks.tonic.name.replace('-', 'b')} {ks.mode}"
        else:
            signature = _sharps_name(ks.sharps)
    times = flat.getElementsByClass(meter.TimeSignature)
    marks = flat.getElementsByClass(tempo.MetronomeMark)
    first_tempo = marks[0].getQuarterBPM() if marks else None
    return {
        "key_signature": signature,
        "time_signature": times[0].ratioString if times else "",
        "tempo": float(first_tempo) if first_tempo else 120.0,
        "pickup_beats": pickup_beats(score),
    }


def pickup_beats(score) -> float:
    """Quarter notes of the opening anacrusis: the first bar's length when it is shorter
    than its time signature's bar (most chorales start on an upbeat), else 0. With it,
    a note's place in the bar is ``(start_beat - pickup_beats) mod bar``."""
    from music21 import stream

    measures = _score_parts(score)[0].getElementsByClass(stream.Measure)
    if not measures:
        return 0.0
    first = measures[0]
    bar = float(first.barDuration.quarterLength)
    length = float(first.duration.quarterLength)
    return length if 0 < length < bar - 1e-9 else 0.0


def _sharps_name(sharps: int) -> str:
    if sharps == 0:
        return "no sharps or flats"
    kind = "sharp" if sharps > 0 else "flat"
    n = abs(sharps)
    return f"{n} {kind}{'s' if n > 1 else ''}"


def _midi_info(pm) -> dict:
    import pretty_midi

    signature = ""
    if pm.key_signature_changes:
        signature = pretty_midi.key_number_to_key_name(pm.key_signature_changes[0].key_number)
    times = pm.time_signature_changes
    _, tempi = pm.get_tempo_changes()
    return {
        "key_signature": signature,
        "time_signature": f"{times[0].numerator}/{times[0].denominator}" if times else "",
        "tempo": float(tempi[0]) if len(tempi) else 120.0,
    }


def _parse_all(jobs: list[dict], name: str, *, progress: bool, n_jobs: int | None):
    from tqdm.auto import tqdm

    n_jobs = n_jobs or os.cpu_count() or 1
    method = _worker_start_method() if n_jobs > 1 and len(jobs) > 8 else None
    results: list = []
    with contextlib.ExitStack() as stack:
        if method is None:
            parsed = map(_parse_job_quietly, jobs)
        else:
            context = multiprocessing.get_context(method)
            pool = stack.enter_context(futures.ProcessPoolExecutor(max_workers=n_jobs, mp_context=context))
            # map() submits every job at once, so forked workers exist before tqdm
            # starts its monitor thread.
            parsed = pool.map(_parse_job_quietly, jobs, chunksize=max(1, min(16, len(jobs) // (8 * n_jobs))))
        bar = stack.enter_context(
            tqdm(total=len(jobs), desc=f"parsing {Path(name).name}", unit="piece", disable=not progress))
        for result in parsed:
            results.append(result)
            bar.update()
    for category, message in dict.fromkeys(w for _, _, caught in results for w in caught):
        warnings.warn(message, category, stacklevel=4)
    frames, rows, failures = [], [], []
    for job, (pieces, reason, _) in zip(jobs, results, strict=True):
        if reason is not None:
            failures.append({"source": job["source"] + (f"#X:{job['number']}" if "number" in job else ""),
                             "reason": reason})
        for notes, row in pieces:
            frames.append(notes)
            rows.append(row)
    notes = pd.concat(frames, ignore_index=True) if frames else empty_notes(with_beats=True)
    pieces_table = pd.DataFrame(rows)
    if not pieces_table.empty:
        front = [c for c in _PIECE_COLUMNS if c in pieces_table.columns]
        pieces_table = pieces_table[front + [c for c in pieces_table.columns if c not in front]]
    report = pd.DataFrame(failures, columns=["source", "reason"])
    return notes, pieces_table, report


def _worker_start_method() -> str | None:
    """How :func:`load_corpus` starts its parse workers when called from here.

    Returns
    -------
    str or None
        ``"spawn"`` when a spawned worker would not re-run the caller (notebooks,
        ``python -c``, the CLI, code under an ``if __name__ == "__main__":`` guard);
        ``"fork"`` for an unguarded top-level call in a script on Linux, when only the
        main thread runs and TensorFlow is not loaded (a fork copies no other thread);
        None (parse in this process) for an unguarded call anywhere else, and inside a
        worker process of any pool.
    """
    if multiprocessing.parent_process() is not None:
        return None  # a pool's worker: daemonic workers may not start their own
    if not _spawn_would_rerun_caller():
        return "spawn"
    others = [t for t in threading.enumerate()
              if t is not threading.main_thread() and type(t).__name__ != "TMonitor"]  # tqdm's idle monitor
    if sys.platform.startswith("linux") and not others and "tensorflow" not in sys.modules:
        return "fork"
    return None


def _spawn_would_rerun_caller() -> bool:
    """True when spawned workers, re-importing ``__main__``, would run the line of the
    main script that is executing now (a top-level call without a main guard)."""
    main = sys.modules.get("__main__")
    if main is None or (getattr(main, "__file__", None) is None
                        and getattr(getattr(main, "__spec__", None), "name", None) is None):
        return False  # interactive, python -c, Jupyter: a worker has no script to re-import
    frame = sys._getframe(1)
    while frame is not None and not (frame.f_globals is vars(main) and frame.f_code.co_name == "<module>"):
        frame = frame.f_back
    if frame is None:
        return False  # called from a thread or a callback, not from the script's top level
    return not _line_is_main_guarded(frame.f_code.co_filename, frame.f_lineno)


def _line_is_main_guarded(filename: str, line: int) -> bool:
    """True when ``line`` of the file lies in the body of an ``if __name__ == "__main__":``
    block. A source that cannot be read counts as unguarded (the safe answer)."""
    try:
        with open(filename, "rb") as handle:
            tree = ast.parse(handle.read(), filename)
    except (OSError, SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_main_test(node.test) and node.body:
            if node.body[0].lineno <= line <= (node.body[-1].end_lineno or node.body[-1].lineno):
                return True
    return False


def _is_main_test(test: ast.expr) -> bool:
    """``__name__ == "__main__"``, in either order."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    constants = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(constants) == 1


# ----------------------------------------------------------------------------- splits


def split_pieces(
    pieces: pd.DataFrame,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    *,
    seed: int = 0,
) -> pd.Series:
    """Assign each piece to ``train``/``validation``/``test``, by group, seeded.

    Pieces of one ``group`` (the same source file, e.g. a chorale that appears twice in
    the Riemenschneider numbering) always share a split, so no music is in two splits.
    Groups are shuffled with ``seed`` and cut by the fractions (each split gets at least
    one group when there are three or more). Deterministic: the same pieces and seed
    always give the same split.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"split fractions must be three non-negative numbers summing to 1, got {fractions}")
    groups = pieces["group"] if "group" in pieces.columns else pieces["piece"]
    unique = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(unique))
    n = len(unique)
    n_val = int(round(fractions[1] * n))
    n_test = int(round(fractions[2] * n))
    if n >= 3:
        n_val = max(n_val, 1 if fractions[1] > 0 else 0)
        n_test = max(n_test, 1 if fractions[2] > 0 else 0)
    label = {}
    for rank, index in enumerate(order):
        if rank < n_test:
            label[unique[index]] = "test"
        elif rank < n_test + n_val:
            label[unique[index]] = "validation"
        else:
            label[unique[index]] = "train"
    return groups.map(label).rename("split")


def _content_digests(notes: pd.DataFrame) -> dict[str, str]:
    """A hash per piece of its (pitch, onset) multiset: equal for identical music."""
    digests = {}
    for piece_id, rows in notes.groupby("piece", sort=False):
        onsets = rows["start_beat"].fillna(rows["start"]) if "start_beat" in rows else rows["start"]
        content = np.stack([rows["pitch"].to_numpy(float), np.round(onsets.to_numpy(float), 4)])
        order = np.lexsort(content[::-1])
        digests[piece_id] = hashlib.sha1(np.ascontiguousarray(content[:, order]).tobytes()).hexdigest()
    return digests


def _merge_identical_groups(notes: pd.DataFrame, pieces: pd.DataFrame) -> pd.Series:
    """Groups where pieces with identical note content share the first one's group."""
    digests = pieces["piece"].map(_content_digests(notes))
    first_group = pieces.groupby(digests, sort=False)["group"].transform("first")
    return first_group.rename("group")


def split_digest(corpus) -> str:
    """A short fingerprint of which piece is in which split.

    Two corpora with the same digest hold the same held-out pieces, so a model folder
    whose card carries the digest of the corpus at hand was never trained on its test
    split (:func:`musicalpy.zoo.load_for_comparison` checks this before reusing a saved model).
    """
    lines = sorted(f"{piece}\t{split}" for piece, split in zip(corpus.pieces["piece"].astype(str),
                                                                corpus.pieces["split"].astype(str), strict=True))
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:16]


def check_splits(corpus: Corpus) -> dict[str, int]:
    """Prove that no piece is in two splits; return pieces per split.

    Checks that every piece has exactly one known split, that no group (source file)
    spans two splits, and that no two pieces in different splits have identical note
    content (pitch and onset sequences). Raises ``AssertionError`` naming the offenders.
    """
    pieces = corpus.pieces
    bad = pieces[~pieces["split"].isin(SPLITS)]
    assert bad.empty, f"pieces without a valid split: {list(bad['piece'][:5])}"
    assert pieces["piece"].is_unique, "duplicate piece ids"
    if "group" in pieces.columns:
        spans = pieces.groupby("group")["split"].nunique()
        assert (spans <= 1).all(), f"groups in two splits: {list(spans[spans > 1].index[:5])}"
    digests = _content_digests(corpus.notes)
    content_split = pd.DataFrame({"digest": pieces["piece"].map(digests), "split": pieces["split"]})
    spans = content_split.groupby("digest")["split"].nunique()
    assert (spans <= 1).all(), f"{int((spans > 1).sum())} identical piece(s) in two splits"
    return {name: int((pieces["split"] == name).sum()) for name in SPLITS}


# ------------------------------------------------------------------------------ cache


def _cache_key(name: str, options: dict, extra: Any, limit: int | None) -> str:
    payload = json.dumps(
        {"name": name, "options": options, "extra": extra, "limit": limit, "version": CACHE_VERSION},
        sort_keys=True, default=str,
    )
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).name)[:40] or "corpus"
    return f"{stem}-{hashlib.sha256(payload.encode()).hexdigest()[:16]}"


_WARNED_CACHES: set[str] = set()


def _read_cache(key: str):
    folder = cache_dir() / key
    if not folder.exists():
        return None
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("version") != CACHE_VERSION:
            raise ValueError(f"cache version {meta.get('version')} != {CACHE_VERSION}")
        with np.load(folder / "notes.npz", allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        notes = _notes_from_arrays(arrays)
        if len(notes) != meta["n_notes"]:
            raise ValueError(f"{len(notes)} notes where {meta['n_notes']} were written")
        pieces_table = pd.read_json(folder / "pieces.json", orient="table")
        report = pd.read_json(folder / "report.json", orient="table")
        if len(pieces_table) != meta["n_pieces"]:
            raise ValueError("piece count mismatch")
    except Exception as exc:
        if key not in _WARNED_CACHES:
            warnings.warn(f"corpus cache {folder} is unreadable ({type(exc).__name__}: {exc}); rebuilding it",
                          stacklevel=3)
            _WARNED_CACHES.add(key)
        shutil.rmtree(folder, ignore_errors=True)
        return None
    for column in ("piece", "group", "title", "composer", "source", "parts", "key_signature", "time_signature"):
        if column in pieces_table.columns:
            pieces_table[column] = pieces_table[column].fillna("").astype(str)
    if "bwv" in pieces_table.columns:
        pieces_table["bwv"] = pieces_table["bwv"].astype(str)
    return notes, pieces_table.reset_index(drop=True), report.reset_index(drop=True)


def _notes_from_arrays(arrays: dict[str, np.ndarray]) -> pd.DataFrame:
    frame = {}
    for column in ("piece", "part"):
        frame[column] = arrays[f"{column}_names"][arrays[f"{column}_codes"]].astype(object)
    for column in NOTE_COLUMNS + BEAT_COLUMNS + SCORE_COLUMNS:
        if column not in frame and column in arrays:
            frame[column] = arrays[column]
    return pd.DataFrame(frame)


def _write_cache(key: str, notes: pd.DataFrame, pieces_table: pd.DataFrame, report: pd.DataFrame,
                 *, source: str) -> None:
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
    try:
        arrays = {}
        for column in ("piece", "part"):
            codes, names = pd.factorize(notes[column])
            arrays[f"{column}_codes"] = codes.astype(np.int32)
            arrays[f"{column}_names"] = np.asarray(names, dtype=str)
        for column in NOTE_COLUMNS + BEAT_COLUMNS + SCORE_COLUMNS:
            if column not in ("piece", "part") and column in notes.columns:
                arrays[column] = notes[column].to_numpy()
        np.savez(tmp / "notes.npz", **arrays)
        pieces_table.to_json(tmp / "pieces.json", orient="table", index=False)
        report.to_json(tmp / "report.json", orient="table", index=False)
        (tmp / "meta.json").write_text(json.dumps(
            {"source": source, "version": CACHE_VERSION, "n_notes": len(notes),
             "n_pieces": len(pieces_table), "n_skipped": len(report)}, indent=1))
        final = root / key
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def cached_corpora() -> pd.DataFrame:
    """The caches under :func:`musicalpy.cache_dir`: source, pieces, notes, size on disk."""
    rows = []
    root = cache_dir()
    for meta_path in sorted(root.glob("*/meta.json")) if root.exists() else []:
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            continue
        size = sum(p.stat().st_size for p in meta_path.parent.iterdir())
        rows.append({"cache": meta_path.parent.name, "source": meta.get("source"),
                     "pieces": meta.get("n_pieces"), "notes": meta.get("n_notes"), "MB": size / 1e6})
    return pd.DataFrame(rows, columns=["cache", "source", "pieces", "notes", "MB"])


# ---------------------------------------------------------------------------- MAESTRO


def download_maestro(root: str | os.PathLike = "data", *, version: str = "v3.0.0") -> Path:
    """Download and unpack the MAESTRO MIDI archive; return the dataset folder.

    Uses ``keras.utils.get_file`` with the published SHA-256 (``MAESTRO_RELEASES``), so a
    corrupt or tampered download is rejected. About 58 MB; MAESTRO is licensed CC
    BY-NC-SA 4.0 (https://magenta.tensorflow.org/datasets/maestro). Then
    ``load_corpus(path)`` reads it with MAESTRO's own train/validation/test split.
    Never run by the tests (they use a fixture laid out like MAESTRO).
    """
    if version not in MAESTRO_RELEASES:
        raise ValueError(f"unknown MAESTRO version {version!r}; known: {sorted(MAESTRO_RELEASES)}")
    import keras

    url, _size, sha256 = MAESTRO_RELEASES[version]
    root = Path(root).expanduser().resolve()
    folder = root / f"maestro-{version}"
    if any(folder.glob("maestro-v*.csv")):
        return folder
    root.mkdir(parents=True, exist_ok=True)
    keras.utils.get_file(
        fname=Path(url).name, origin=url, file_hash=sha256, hash_algorithm="sha256",
        extract=True, cache_dir=str(root), cache_subdir=".",
    )
    candidates = [p.parent for p in root.rglob("maestro-v*.csv")]
    if not candidates:
        raise CorpusError(f"{root}: MAESTRO archive unpacked but no maestro-v*.csv found")
    return candidates[0]
