"""The two vendored JSB Chorales files: where they are, their checksums, and how they
read as frames, voices and note tables.

Both files live under ``data/jsb/`` (provenance, licence and checksums in its README):
the benchmark's quarter-note frames (Boulanger-Lewandowski et al., ICML 2012) and
Coconet's voice-separated sixteenth-note version of the same chorales and split. Each
is checked against its published SHA-256 on every read. :func:`jsb_tables` gives the
note and piece tables that :func:`musicalpy.corpus.load_corpus` (``"jsb"``,
``"jsb_voices"``) and :func:`musicalpy.jsb.load_jsb` wrap as a corpus; the benchmark's
scoring is in :mod:`musicalpy.jsb`, above both.

From frames to notes. A frame says what sounds, not what starts, so a held note and
repeated notes of one pitch look the same. Every run of consecutive frames in which a
pitch stays (in the voice file: a voice keeps one pitch) becomes **one held note**;
repeats are merged because the files cannot tell them apart, and fermatas are not
marked. With that rule the note table encodes back to exactly the file's frames
(:func:`musicalpy.representations.encode_frames` with the piece's ``n_frames``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import zlib
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from ._config import CorpusError, project_root
from .midi import DEFAULT_TEMPO
from .names import VOICES
from .representations.frames import LOWEST_KEY, N_KEYS, decode_frames
from .representations.pitch_hold import HOLD, REST, decode_pitch_hold

__all__ = ["JSBDataError", "JSB_FILES", "JSB_SPLITS", "QUARTER_PART", "data_folder", "read_jsb_json", "read_frames",
           "read_voices", "jsb_tables"]

#: The vendored files: name -> (file under ``data/jsb/``, SHA-256 of the uncompressed JSON).
JSB_FILES = {
    "quarter": ("jsb-chorales-quarter.json.gz",
                "2db9329f1881a1d3f49703ec556bf1d6f84b4f6c1d702c156536e93cf31e1c91"),
    "voices": ("Jsb16thSeparated.json.gz",
               "79294cc374f9252e95ef4b703161524c1c53dc1f712c236f00f1c1f5d54af5a7"),
}
#: The files' split keys -> the corpus split names (:data:`musicalpy.corpus.SPLITS`).
JSB_SPLITS = {"train": "train", "valid": "validation", "test": "test"}
#: The one part of the quarter-note corpus: its frames hold pitches, not voices.
QUARTER_PART = "Keys"
#: Frames per quarter note of each file.
_STEPS_PER_QUARTER = {"quarter": 1, "voices": 4}


class JSBDataError(CorpusError):
    """A JSB file that is missing, damaged (checksum) or not laid out as published."""


def data_folder() -> Path:
    """The folder holding the two ``.json.gz`` files.

    ``MUSICALPY_JSB_DIR`` when set, else ``data/jsb`` of the repository checkout.

    Raises
    ------
    JSBDataError
        When neither exists (an installed package without its checkout).
    """
    value = os.environ.get("MUSICALPY_JSB_DIR")
    if value:
        return Path(value).expanduser()
    root = project_root()
    if root is None:
        name = JSB_FILES["quarter"][0]
        raise JSBDataError(
            f"{name}: the JSB Chorales files live in the repository checkout's data/jsb/ folder, "
            "and this musicalpy is installed without it; set MUSICALPY_JSB_DIR to a folder "
            "holding jsb-chorales-quarter.json.gz and Jsb16thSeparated.json.gz"
        )
    return root / "data" / "jsb"


def read_jsb_json(which: str = "quarter", *, folder: str | os.PathLike | None = None) -> dict[str, list]:
    """Read one vendored file, checking the SHA-256 of its uncompressed JSON.

    Parameters
    ----------
    which : {"quarter", "voices"}
        The benchmark's quarter-note frames, or the voice-separated sixteenths.
    folder : path-like, optional
        Where the ``.json.gz`` files are (default :func:`data_folder`).

    Returns
    -------
    data : dict
        ``{"train", "valid", "test"}`` -> list of chorales -> list of frames, as in the
        file: lists of sounding pitches (quarter) or ``[S, A, T, B]`` with -1 for silence
        (voices). A fresh copy each call.

    Raises
    ------
    JSBDataError
        When the file is missing (naming it and the folder), its digest differs from the
        published one (naming the file and both digests), or its keys are not the splits.
    """
    if which not in JSB_FILES:
        raise ValueError(f"which must be one of {sorted(JSB_FILES)}, got {which!r}")
    path = Path(folder).expanduser() if folder is not None else data_folder()
    path = path / JSB_FILES[which][0]
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise JSBDataError(
            f"{path}: no such file; the JSB Chorales data are vendored under data/jsb/ of the "
            "repository checkout (or set MUSICALPY_JSB_DIR to a folder holding them)"
        ) from None
    return json.loads(_checked_bytes(str(path), JSB_FILES[which][1], (stat.st_size, stat.st_mtime_ns)))


@cache
def _checked_bytes(path: str, expected: str, version: tuple[int, int]) -> bytes:
    # Cached per file version (size, modification time): every load of the corpus or of
    # the benchmark frames would otherwise decompress and hash the same bytes again,
    # while a file changed on disk is read and checked afresh.
    try:
        raw = gzip.decompress(Path(path).read_bytes())
    except (OSError, EOFError, zlib.error) as exc:
        raise JSBDataError(f"{path}: not a readable gzip file ({exc})") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != expected:
        raise JSBDataError(f"{path}: SHA-256 of the uncompressed JSON is {digest}, expected {expected}")
    keys = set(json.loads(raw)) if raw.startswith(b"{") else set()
    if keys != set(JSB_SPLITS):
        raise JSBDataError(f"{path}: expected the splits {sorted(JSB_SPLITS)}, found {sorted(keys)}")
    return raw


def split_key(split: str) -> str:
    """The file's key of a split given by either name (``"valid"`` or ``"validation"``)."""
    for key, name in JSB_SPLITS.items():
        if split in (key, name):
            return key
    raise ValueError(f"split must be one of {sorted(set(JSB_SPLITS) | set(JSB_SPLITS.values()))}, got {split!r}")


def read_frames(split: str = "test", *, folder: str | os.PathLike | None = None) -> list[np.ndarray]:
    """The benchmark's quarter-note frames of one split, one array per chorale.

    Parameters
    ----------
    split : {"train", "valid", "validation", "test"}
    folder : path-like, optional
        Where the files are (default :func:`data_folder`).

    Returns
    -------
    chorales : list of np.ndarray, each shape=(n_frames, 88), dtype=bool
        In the file's order; ``chorales[i][t, k]`` is True when MIDI pitch ``21 + k``
        sounds in frame ``t``. 229 / 76 / 77 chorales, 13,807 / 4,602 / 4,725 frames.
    """
    key = split_key(split)
    chorales = []
    for frames in read_jsb_json("quarter", folder=folder)[key]:
        array = np.zeros((len(frames), N_KEYS), dtype=bool)
        for t, pitches in enumerate(frames):
            array[t, np.asarray(pitches, dtype=np.int64) - LOWEST_KEY] = True
        chorales.append(array)
    return chorales


def read_voices(split: str = "test", *, folder: str | os.PathLike | None = None) -> list[np.ndarray]:
    """The voice-separated sixteenth-note frames of one split, one array per chorale.

    Returns
    -------
    chorales : list of np.ndarray, each shape=(n_frames, 4), dtype=int64
        Columns Soprano, Alto, Tenor, Bass (:data:`musicalpy.names.VOICES`); a MIDI pitch,
        or -1 where the voice is silent. Not aligned with :func:`read_frames`' chorales.
    """
    key = split_key(split)
    return [np.asarray(frames, dtype=np.int64).reshape(-1, len(VOICES))
            for frames in read_jsb_json("voices", folder=folder)[key]]


def _voice_tokens(pitches: np.ndarray) -> np.ndarray:
    """One voice's sixteenth pitches as pitch/hold/rest tokens: an equal pitch holds."""
    tokens = np.where(pitches < 0, REST, pitches)
    same = np.zeros(len(pitches), dtype=bool)
    same[1:] = (pitches[1:] == pitches[:-1]) & (pitches[1:] >= 0)
    tokens[same] = HOLD
    return tokens


def _chorale_notes(which: str, chorales: list[np.ndarray], pieces: list[str]) -> pd.DataFrame:
    """The note table of many chorales, decoded in one pass per part.

    The chorales are joined with one silent step between them, so that no run of a
    pitch crosses from one chorale into the next; each note is then moved back to its
    own chorale's time. One decode instead of one per chorale: building hundreds of
    small tables is what made the load slow.
    """
    steps = _STEPS_PER_QUARTER[which]
    gap = np.full((1, chorales[0].shape[1]), False if which == "quarter" else -1, dtype=chorales[0].dtype)
    joined = np.concatenate([part for chorale in chorales for part in (chorale, gap)])
    offsets = np.cumsum([0] + [len(chorale) + 1 for chorale in chorales[:-1]])
    if which == "quarter":
        notes = decode_frames(joined, steps_per_quarter=steps, part=QUARTER_PART)
    else:
        notes = pd.concat([decode_pitch_hold(_voice_tokens(joined[:, v]), steps_per_quarter=steps, part=voice)
                           for v, voice in enumerate(VOICES)], ignore_index=True)
    chorale = np.searchsorted(offsets, np.rint(notes["start_beat"].to_numpy() * steps), side="right") - 1
    shift = offsets[chorale] / steps
    seconds_per_quarter = 60.0 / DEFAULT_TEMPO
    notes["start_beat"] -= shift
    notes["end_beat"] -= shift
    notes["start"] = notes["start_beat"] * seconds_per_quarter
    notes["end"] = notes["end_beat"] * seconds_per_quarter
    notes["piece"] = np.asarray(pieces, dtype=object)[chorale]
    part_rank = notes["part"].map({part: i for i, part in enumerate(dict.fromkeys(notes["part"]))})
    order = np.lexsort((notes["pitch"].to_numpy(), notes["start_beat"].to_numpy(), part_rank.to_numpy(), chorale))
    return notes.iloc[order].reset_index(drop=True)


def jsb_tables(voices: bool = False, *, folder: str | os.PathLike | None = None) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """The corpus name, note table and piece table of one JSB file (see
    :func:`musicalpy.jsb.load_jsb` for what they hold).
    """
    which = "voices" if voices else "quarter"
    name = "jsb_voices" if voices else "jsb"
    reader = read_voices if voices else read_frames
    chorales, rows = [], []
    for key, split in JSB_SPLITS.items():
        for index, chorale in enumerate(reader(key, folder=folder)):
            chorales.append(chorale)
            rows.append({
                "piece": f"{name}_{key}_{index:03d}", "title": f"JSB {key} {index}", "composer": "Bach",
                "source": JSB_FILES[which][0], "key_signature": "", "time_signature": "",
                "tempo": float(DEFAULT_TEMPO),
                "duration": len(chorale) / _STEPS_PER_QUARTER[which] * 60.0 / DEFAULT_TEMPO,
                "split": split, "n_frames": len(chorale),
                "steps_per_quarter": _STEPS_PER_QUARTER[which], "jsb_split": key,
            })
    pieces = pd.DataFrame(rows)
    pieces.insert(4, "group", pieces["piece"])
    notes = _chorale_notes(which, chorales, list(pieces["piece"]))
    per_piece = notes.groupby("piece", sort=False)
    pieces.insert(9, "n_notes", pieces["piece"].map(per_piece.size()).fillna(0).astype(int))
    pieces.insert(10, "n_parts", pieces["piece"].map(per_piece["part"].nunique()).fillna(0).astype(int))
    pieces.insert(11, "parts", pieces["piece"].map(per_piece["part"].agg(lambda p: "|".join(dict.fromkeys(p)))).fillna(""))
    return name, notes, pieces
