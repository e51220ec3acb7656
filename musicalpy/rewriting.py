"""Rewrite any part of a chorale: new voices for some bars, the rest kept note for note.

:func:`rewrite` is what ``musicalpy rewrite`` runs and what a Python user calls
(``musicalpy.rewrite``): it reads a four-voice chorale (a score or MIDI file, a music21
corpus path such as ``"bach/bwv66.6"``, or a note table), hides the chosen voices in the
chosen bars, lets a model that reads both ways in time write them again (the shipped
orderless network ``satb_orderless`` by default: nothing to train), and writes the result
as MIDI, MusicXML, Ogg Vorbis audio and an engraved SVG in the chorale's own key, meter
and pickup.

>>> import musicalpy
>>> new = musicalpy.rewrite("bach/bwv66.6", voices="A,T", bars="3-4", out="rewritten/")
>>> new.share_changed, new.files["musicxml"]

What is rewritten
-----------------
A voice's **note** is rewritten when it starts in the chosen bars (bars numbered as the
score numbers them: a pickup is bar 0, the first full bar bar 1); a note that starts
before them and sounds into them is kept whole, and a rewritten note may sound past
their end. Every other note of the chorale comes back unchanged (checked on every call:
a RuntimeError would say otherwise). Fermatas stay where the chorale has them, except
on steps where all four voices are rewritten ("finish this chorale from bar 5": the
model then writes its own phrase plan there). The chorale keeps its length.

Only a model that reads what comes after a note can do this; the causal kinds
(``satb_lstm``, ``satb_transformer``, ...) are refused with a message that says so.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .names import VOICES

__all__ = ["Chorale", "Rewrite", "REWRITE_FORMATS", "load_chorale", "load_rewriter", "parse_voices", "parse_bars",
           "bar_numbers", "rewrite_region", "rewrite"]

#: What :func:`rewrite` writes by default (as :func:`musicalpy.harmonize` does).
REWRITE_FORMATS = ("mid", "musicxml", "ogg", "svg")
_LETTERS = {voice[0]: voice for voice in VOICES}
#: The shipped model :func:`load_rewriter` loads by default.
DEFAULT_REWRITER = "satb_orderless"


@dataclasses.dataclass(frozen=True)
class Chorale:
    """A four-voice chorale as :func:`rewrite` reads it.

    Attributes
    ----------
    notes : pandas.DataFrame
        Parts Soprano, Alto, Tenor, Bass; beat columns, ``fermata`` and (from a score)
        ``bar_start``.
    name : str
    time_signature : str
    pickup_beats : float
    notation : musicalpy.render.score.Notation or None
        Key signature, meter, pickup and spelling to write it in.
    """

    notes: pd.DataFrame
    name: str
    time_signature: str = "4/4"
    pickup_beats: float = 0.0
    notation: Any = None

    @property
    def pieces(self) -> pd.DataFrame:
        """A ``pieces`` table of this one chorale (for its bar lines)."""
        return pd.DataFrame({"piece": [self.name], "time_signature": [self.time_signature],
                             "pickup_beats": [self.pickup_beats]})


@dataclasses.dataclass(frozen=True)
class Rewrite:
    """One rewrite of a chorale.

    Attributes
    ----------
    notes : pandas.DataFrame
        The chorale with the chosen part rewritten (four parts, beat columns).
    original : pandas.DataFrame
        The chorale as the model read it (on the sixteenth grid).
    voices : tuple of str
        The voices rewritten.
    bars : tuple of int
        First and last bar rewritten.
    model : str
    n_rewritten : int
        Notes of the result in the rewritten part.
    share_changed : float
        Share of those notes that are not in the original (same voice, pitch, start and
        end): 0 would hand the original back.
    files : dict of str to Path
    """

    notes: pd.DataFrame
    original: pd.DataFrame
    voices: tuple[str, ...]
    bars: tuple[int, int]
    model: str
    n_rewritten: int
    share_changed: float
    files: dict[str, Path] = dataclasses.field(default_factory=dict)


def parse_voices(voices: str | Sequence[str]) -> tuple[str, ...]:
    """``"A,T"``, ``"alto tenor"``, ``["Alto", "T"]`` -> ``("Alto", "Tenor")`` (S-to-B order)."""
    items = re.split(r"[,\s]+", voices.strip()) if isinstance(voices, str) else list(voices)
    chosen = set()
    for item in items:
        if not item:
            continue
        name = _LETTERS.get(item.upper()) if len(item) == 1 else next(
            (v for v in VOICES if v.lower() == item.lower()), None)
        if name is None:
            raise ValueError(f"voices: {item!r} is not a voice; give S, A, T, B or Soprano, Alto, Tenor, Bass")
        chosen.add(name)
    if not chosen:
        raise ValueError("voices: give at least one of S, A, T, B")
    return tuple(v for v in VOICES if v in chosen)


def parse_bars(bars: str | int | Sequence[int] | None, last_bar: int, first_bar: int = 0) -> tuple[int, int]:
    """``"3-4"``, ``"5-"`` (to the end), ``3``, ``(3, 4)`` or None (all) -> ``(first, last)``."""
    if bars is None:
        return first_bar, last_bar
    if isinstance(bars, str):
        match = re.fullmatch(r"\s*(\d+)\s*(-\s*(\d*)\s*)?", bars)
        if not match:
            raise ValueError(f"bars: {bars!r} is not a bar range; write 3-4, 5- (to the end) or 3")
        low = int(match.group(1))
        high = low if match.group(2) is None else (int(match.group(3)) if match.group(3) else last_bar)
    elif isinstance(bars, (int, np.integer)):
        low = high = int(bars)
    else:
        low, high = (int(b) for b in bars)
    if not first_bar <= low <= high <= last_bar:
        raise ValueError(f"bars: {bars!r} lies outside the chorale's bars {first_bar}-{last_bar} (or ends before "
                         "it starts)")
    return low, high


def load_chorale(source: Any, *, name: str | None = None) -> Chorale:
    """Read a four-voice chorale.

    Parameters
    ----------
    source : str, path-like, Chorale or pandas.DataFrame
        A MusicXML (``.mxl`` too), Humdrum, ABC or MIDI file, a music21 corpus path
        (``"bach/bwv66.6"``), or a note table with parts Soprano, Alto, Tenor and Bass
        (read as 4/4 from a downbeat where it has no ``bar_start``). A file whose parts
        are not named so but number exactly four is read top to bottom as S, A, T, B
        (by each part's mean pitch).
    name : str, optional

    Raises
    ------
    ValueError
        Naming the source when it does not hold four voices.
    """
    from .corpus import read_piece

    if isinstance(source, Chorale):
        return source
    if isinstance(source, pd.DataFrame):
        missing = [v for v in VOICES if v not in set(source["part"].astype(str))]
        if missing:
            raise ValueError(f"the note table has no {', '.join(missing)} part(s); a chorale needs all four")
        default = str(source["piece"].iloc[0]) if "piece" in source.columns and len(source) else "chorale"
        return Chorale(source[source["part"].astype(str).isin(VOICES)].reset_index(drop=True), name or default)
    where = os.fspath(source)
    notes, row = read_piece(where, name=name)
    parts = list(dict.fromkeys(notes["part"].astype(str)))
    if not set(VOICES) <= set(parts):
        if len(parts) != len(VOICES):
            raise ValueError(f"{where}: holds the parts {parts}; a chorale needs Soprano, Alto, Tenor and Bass, or "
                             "exactly four parts (read top to bottom)")
        ranked = notes.groupby("part")["pitch"].mean().sort_values(ascending=False).index
        notes = notes.assign(part=notes["part"].map(dict(zip(ranked, VOICES, strict=True))))
    notes = notes[notes["part"].isin(VOICES)].reset_index(drop=True)
    notation = None
    try:
        from .melody import load_melody

        notation = load_melody(where).notation
    except Exception:  # noqa: BLE001 - the key and spelling are a nicety; the music is read already
        notation = None
    return Chorale(notes, str(row.get("piece", name or Path(where).stem)),
                   str(row.get("time_signature") or "4/4"), float(row.get("pickup_beats") or 0.0), notation)


def load_rewriter(model: Any = None):
    """The model that rewrites: a ZooModel as given, a model folder, a shipped model's
    name, or (None) the shipped :data:`DEFAULT_REWRITER`.

    Raises
    ------
    ValueError
        When the model's kind cannot rewrite (it reads only what comes before a note).
    """
    from . import pretrained, zoo

    if model is None:
        found = pretrained.load(DEFAULT_REWRITER)
    elif isinstance(model, zoo.ZooModel):
        found = model
    else:
        where = os.fspath(model)
        found = pretrained.load(where) if not Path(where).exists() and where in pretrained.names() else zoo.load(where)
    if not getattr(found.family, "rewrites", False):
        rewriters = [k for k in zoo.kinds() if getattr(zoo.family(k), "rewrites", False)]
        raise ValueError(f"the {found.kind} model cannot rewrite part of a chorale: it writes from the first note "
                         f"on and never reads what comes after; use a kind that reads both ways ({', '.join(rewriters)})")
    return found


def bar_numbers(steps: Any) -> np.ndarray:
    """Each step's bar as a score numbers it: a first bar shorter than the second is a
    pickup, bar 0; otherwise the first bar is bar 1."""
    starts = np.asarray(steps.position) == 0
    starts[0] = True
    bar = np.cumsum(starts)
    lengths = np.bincount(bar)[1:]
    pickup = len(lengths) > 1 and lengths[0] < lengths[1]
    return bar - 1 if pickup else bar


def rewrite_region(steps: Any, voices: Sequence[str], bars: tuple[int, int]) -> np.ndarray:
    """Which variables (fermata, S, A, T, B per step) :func:`rewrite` rewrites: ``(n_steps, 5)`` bool.

    A voice's step is rewritten when the note (or rest) sounding there starts in the bars;
    the fermata where all four voices are rewritten.
    """
    from .representations.satb_steps import HOLD_ID

    bar = bar_numbers(steps)
    inside = (bar >= bars[0]) & (bar <= bars[1])
    region = np.zeros((steps.n_steps, 1 + len(VOICES)), dtype=bool)
    index = np.arange(steps.n_steps)
    for v, voice in enumerate(VOICES):
        if voice in voices:
            onset = np.maximum.accumulate(np.where(steps.values[:, v] != HOLD_ID, index, 0))
            region[:, v + 1] = inside[onset]
    region[:, 0] = region[:, 1:].all(axis=1)
    return region


def _note_keys(notes: pd.DataFrame) -> set[tuple]:
    rows = notes[["part", "pitch", "start_beat", "end_beat"]].astype({"part": str, "pitch": int}).round(6)
    return set(map(tuple, rows.itertuples(index=False)))


def rewrite(chorale: Any, *, voices: str | Sequence[str] = "A,T", bars: Any = None, model: Any = None,
            seed: int = 0, temperature: float = 1.0, out: str | os.PathLike | None = None,
            formats: Sequence[str] = REWRITE_FORMATS, force: bool = False, name: str | None = None) -> Rewrite:
    """Rewrite some voices of some bars of a chorale, keeping every other note.

    Parameters
    ----------
    chorale : str, path-like, Chorale or pandas.DataFrame
        Anything :func:`load_chorale` reads.
    voices : str or sequence of str
        ``"A,T"``, ``"B"``, ``["Alto", "Tenor"]``; all four (``"S,A,T,B"``) with
        ``bars="5-"`` finishes the chorale from bar 5.
    bars : str, int, pair of int or None
        ``"3-4"``, ``"5-"`` (to the end), ``3``, ``(3, 4)``; None: the whole chorale.
        Numbered as the score numbers them (a pickup is bar 0).
    model : ZooModel, str or path-like, optional
        A kind that rewrites (default: the shipped ``satb_orderless``).
    seed, temperature
        The Gibbs sampler's seed, and the divisor of its log-probabilities (0: the most
        probable value at every draw).
    out : str or path-like, optional
        Folder to write ``<chorale>_<voices>_bars<first>-<last>_<model>.<format>`` into.
    formats, force
        As for :func:`musicalpy.harmonize`.
    name : str, optional
        The chorale's name.

    Returns
    -------
    Rewrite

    Raises
    ------
    ValueError
        For a chorale without four voices, voices or bars it does not have, or a model
        that cannot rewrite; FileExistsError when a file to write exists and ``force``
        is False.
    """
    from .families.satb import corpus_steps
    from .harmonization import _check_free
    from .names import file_stem
    from .representations.satb_steps import decode_steps

    given = load_chorale(chorale, name=name)
    chosen = parse_voices(voices)
    rewriter = load_rewriter(model)
    steps = corpus_steps(given.notes.assign(piece=given.name), given.pieces)[0]
    bar = bar_numbers(steps)
    span = parse_bars(bars, int(bar.max()), int(bar.min()))
    stem = None
    if out is not None:
        stem = Path(out) / (f"{file_stem(given.name)}_{''.join(v[0] for v in chosen)}_bars{span[0]}-{span[1]}_"
                            f"{file_stem(rewriter.name)}")
        _check_free([stem], formats, force)
    region = rewrite_region(steps, chosen, span)
    written = rewriter.fitted.rewrite([steps], [~region], temperature=temperature, seed=seed)[0]
    tempo = float(getattr(rewriter.settings, "tempo", 100.0))
    original = decode_steps(steps, piece=given.name, tempo=tempo)
    if len(original) != len(given.notes):
        import warnings

        warnings.warn(f"{given.name}: {abs(len(given.notes) - len(original))} note(s) lie off the sixteenth-note grid "
                      "or overlap inside a voice; the rewrite holds the chorale as the grid reads it", stacklevel=2)
    result = decode_steps(written, piece=given.name, tempo=tempo)
    in_region = _note_region(original, region, steps), _note_region(result, region, written)
    kept_before, kept_after = (_note_keys(t[~r]) for t, r in zip((original, result), in_region, strict=True))
    if kept_before != kept_after:
        raise RuntimeError(f"{given.name}: the rewrite changed {len(kept_before ^ kept_after)} note(s) it was told "
                           "to keep; please report this")
    new = result[in_region[1]]
    changed = len(_note_keys(new) - _note_keys(original[in_region[0]]))
    outcome = Rewrite(notes=result, original=original, voices=chosen, bars=span, model=rewriter.name,
                      n_rewritten=len(new), share_changed=changed / len(new) if len(new) else float("nan"))
    if stem is not None:
        from .render import export

        title = f"{given.name}: {', '.join(chosen)} of bars {span[0]}-{span[1]} rewritten by {rewriter.name}"
        outcome = dataclasses.replace(outcome, files=export(result, stem, formats, notation=given.notation,
                                                            title=title))
    return outcome


def _note_region(notes: pd.DataFrame, region: np.ndarray, steps: Any) -> np.ndarray:
    """Which notes of a decoded chorale start on a rewritten voice-step."""
    from .representations.chorale_grid import STEPS_PER_QUARTER

    step = np.rint(notes["start_beat"].to_numpy(float) * STEPS_PER_QUARTER).astype(int)
    column = notes["part"].astype(str).map({v: i + 1 for i, v in enumerate(VOICES)}).to_numpy(int)
    step = np.clip(step, 0, steps.n_steps - 1)
    return region[step, column]
