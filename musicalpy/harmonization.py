"""Harmonize a melody in one call: read it, write alto, tenor and bass, rank, save.

:func:`harmonize` is what ``musicalpy harmonize`` runs and what a Python user calls
(``musicalpy.harmonize``): it reads a melody (:func:`musicalpy.melody.load_melody`:
MIDI, MusicXML, ABC, Humdrum, a music21 corpus path or tinyNotation), places cadences
where the melody marks none (:func:`musicalpy.melody.infer_fermatas`), harmonizes it one
or several ways with a model (a shipped one by default: nothing to train), ranks the
harmonizations by the model's probability of the alto, tenor and bass given the soprano,
and writes each as MIDI, MusicXML, Ogg Vorbis audio and an engraved SVG score in the
melody's own key signature, spelling, meter and pickup.

>>> import musicalpy
>>> best, *others = musicalpy.harmonize("tinyNotation: 4/4 e4 e f g g f e d c c d e e4. d8 d2",
...                                     n=3, out="harmonized/")
>>> best.bits_per_note, best.files["musicxml"]
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .melody import Melody, MelodyError

__all__ = ["Harmonization", "HARMONIZE_FORMATS", "harmonize", "load_harmonizer", "harmonization_stems",
           "write_harmonization", "ranking_table"]

#: What :func:`harmonize` writes per harmonization by default: MIDI, MusicXML (four parts
#: S, A, T, B, as MuseScore opens them), Ogg Vorbis audio and the engraved score.
HARMONIZE_FORMATS = ("mid", "musicxml", "ogg", "svg")
#: Extra draws :func:`harmonize` tries per harmonization asked for, before it gives up
#: finding ``n`` different ones (a melody with few choices has fewer).
_DRAWS_PER_HARMONIZATION = 4


@dataclasses.dataclass(frozen=True)
class Harmonization:
    """One harmonization of a melody, with the model's score of it.

    Attributes
    ----------
    notes : pandas.DataFrame
        The four voices (parts ``Soprano``, ``Alto``, ``Tenor``, ``Bass``) as a note
        table with beat columns; the soprano is the melody, note for note.
    melody : Melody
        The melody harmonized (its key, meter, pickup and fermatas: those given or
        inferred).
    model : str
        The model's name.
    rank : int
        1 for the most probable of the harmonizations asked for.
    log2_probability : float
        ``log2 P(alto, tenor, bass | soprano)`` as the model prices it (see ``ranked_by``);
        NaN when the model has no such price.
    bits_per_note : float
        ``-log2_probability`` per alto, tenor and bass note.
    ranked_by : str
        What the ranking reads, in words.
    draw : str
        How it was made: ``"most likely"`` or ``"sampled: seed S, draw D"``.
    files : dict of str to Path
        ``{format: path}`` of what was written (empty without ``out``).
    """

    notes: pd.DataFrame
    melody: Melody
    model: str
    rank: int
    log2_probability: float
    bits_per_note: float
    ranked_by: str
    draw: str
    files: dict[str, Path] = dataclasses.field(default_factory=dict)


def load_harmonizer(model: Any = None):
    """The model that harmonizes: a ZooModel as given, a model folder, a shipped
    model's name, or (None) the shipped harmonizing model :func:`musicalpy.pretrained.best`
    picks (``harmonizes=True``).

    Returns
    -------
    musicalpy.zoo.ZooModel
    """
    from . import pretrained, zoo

    if model is None:
        return pretrained.load(pretrained.best(harmonizes=True))
    if isinstance(model, zoo.ZooModel):
        return model
    where = os.fspath(model)
    if not Path(where).exists() and where in pretrained.names():
        return pretrained.load(where)
    return zoo.load(where)


def harmonize(
    melody: Any,
    *,
    model: Any = None,
    n: int = 1,
    out: str | os.PathLike | None = None,
    sample: bool = False,
    seed: int = 0,
    temperature: float = 1.0,
    formats: Sequence[str] = HARMONIZE_FORMATS,
    force: bool = False,
    name: str | None = None,
) -> list[Harmonization]:
    """Harmonize a melody ``n`` ways, ranked by the model's probability; write them to ``out``.

    Parameters
    ----------
    melody : str, path-like, Melody or pd.DataFrame
        Anything :func:`musicalpy.melody.load_melody` reads: a MIDI, MusicXML (``.mxl``
        too), ABC or Humdrum file, a music21 corpus path (``"essenFolksong/altdeu10"``,
        ``"bach/bwv66.6"``: its soprano), a melody in tinyNotation
        (``"tinyNotation: 3/4 g4 a b c'2."``) or a note table. Its time signature, key
        signature, pickup and fermatas are read where it has them. Fermatas mark the
        cadences; a melody without any gets them at its phrase ends by the rule of
        :func:`musicalpy.melody.infer_fermatas` (last note, notes before a rest, else
        every two bars of 4/4 or four bars of 2/4, 3/4, 6/8).
    model : ZooModel, str or path-like, optional
        A model of a kind that harmonizes (``musicalpy.zoo.kinds(harmonizes=True)``): a
        loaded one, a model folder or a shipped model's name (``"satb_transformer"``).
        Default: the shipped harmonizing model :func:`load_harmonizer` picks.
    n : int, default 1
        How many different harmonizations. ``n=1``: the model's most likely one (greedy
        where the family cannot decode the most likely exactly), or one drawn with
        ``sample=True``. ``n>1``: the most likely one and ``n - 1`` drawn at
        ``temperature`` (all ``n`` drawn with ``sample=True``), identical draws drawn
        again; fewer come back when the model has fewer to give.
    out : str or path-like, optional
        Folder to write each harmonization into, as ``<melody>_<model>.<format>`` for
        ``n=1`` (``..._sampled`` when sampled) and ``<melody>_<model>_rank<R>.<format>``
        for ``n>1``. Nothing is written without it.
    sample, seed, temperature
        Draw instead of taking the most likely harmonization, with this seed, dividing
        log-probabilities by ``temperature`` (below 1: safer choices).
    formats : sequence of str
        What to write (:data:`HARMONIZE_FORMATS` by default; any of
        :data:`musicalpy.render.EXPORT_FORMATS`, e.g. ``"wav"`` for uncompressed audio).
    force : bool, default False
        Overwrite files that exist; otherwise a FileExistsError names one before
        anything is harmonized or written.
    name : str, optional
        The melody's name in file names and the note table's ``piece``.

    Returns
    -------
    list of Harmonization
        Best first (``rank`` 1, 2, ...), ranked by ``log2 P(alto, tenor, bass | soprano)``:
        exact for the SATB kinds (the sum over every sixteenth of the three voices'
        values given the whole soprano and its fermatas); for the HMM harmonizer the
        probability of its beat chords given the soprano (notes between beats are not
        priced). A kind without a price given the soprano is ranked by its bits per
        note of all four voices, and when it cannot score at all, in the order drawn.

    Raises
    ------
    musicalpy.melody.MelodyError
        For an unreadable, empty or polyphonic melody, or one wider than the soprano
        range the model was trained on (a melody that fits is moved there by octaves,
        else by at most a tritone, and the harmonization moved back: it comes out at
        the melody's own pitch, in its own key).
    FileExistsError
        When a file to write exists and ``force`` is False.
    """
    from ._config import check_int
    from .melody import fit_to_range, infer_fermatas, load_melody

    n = check_int("n", n, 1)
    given = infer_fermatas(load_melody(melody, name=name))
    harmonizer = load_harmonizer(model)
    _check_range(given, harmonizer)
    stems = harmonization_stems(given.name, harmonizer.name, n, sample=sample, out=out) if out is not None else []
    if out is not None:
        _check_free(stems, formats, force)
    low, high = harmonizer.family.soprano_range(harmonizer)
    move = fit_to_range(given, low, high).transposed_by - given.transposed_by
    drawn = _draw(harmonizer, given, n, sample=sample, seed=seed, temperature=temperature)
    ranked_by, prices = _prices(harmonizer, given, [notes for notes, _ in drawn], move)
    order = sorted(range(len(drawn)), key=lambda i: (-prices[i][0] if math.isfinite(prices[i][0]) else math.inf, i))
    results = []
    for rank, index in enumerate(order, start=1):
        notes, draw = drawn[index]
        log2_p, bits = prices[index]
        result = Harmonization(notes=notes, melody=given, model=harmonizer.name, rank=rank, log2_probability=log2_p,
                               bits_per_note=bits, ranked_by=ranked_by, draw=draw)
        if out is not None:
            result = dataclasses.replace(result, files=write_harmonization(result, stems[rank - 1], formats))
        results.append(result)
    return results


def _check_range(melody: Melody, model: Any) -> None:
    low, high = model.family.soprano_range(model)
    top, bottom = int(melody.notes["pitch"].max()), int(melody.notes["pitch"].min())
    if top - bottom > high - low:
        from .names import pitch_to_name

        raise MelodyError(f"{melody.name}: the melody spans {top - bottom} semitones ({pitch_to_name(bottom)}-"
                          f"{pitch_to_name(top)}), wider than the soprano range the {model.name} model was trained "
                          f"on ({pitch_to_name(low)}-{pitch_to_name(high)}, {high - low} semitones); give a narrower "
                          "melody or harmonize it in parts")


def harmonization_stems(melody: str, model: str, n: int, *, sample: bool = False,
                        out: str | os.PathLike | None = None) -> list[Path]:
    """The file stems :func:`harmonize` writes, best first: ``<melody>_<model>`` (with
    ``_sampled`` when sampled) for one harmonization, ``..._rank1``, ``..._rank2``, ...
    for several; inside ``out`` when given."""
    from .names import file_stem

    base = f"{file_stem(melody)}_{file_stem(model)}"
    names = [base + ("_sampled" if sample else "")] if n == 1 else [f"{base}_rank{r}" for r in range(1, n + 1)]
    return [Path(out or ".") / stem for stem in names]


def _check_free(stems: Sequence[Path], formats: Sequence[str], force: bool) -> None:
    from .render import EXPORT_FORMATS

    unknown = [f for f in formats if f not in EXPORT_FORMATS]
    if unknown or not formats:
        raise ValueError(f"formats must be a non-empty subset of {EXPORT_FORMATS}, got {list(formats)!r}")
    taken = [p for stem in stems for f in formats if (p := stem.with_name(f"{stem.name}.{f}")).exists()]
    if taken and not force:
        more = f" (and {len(taken) - 1} more)" if len(taken) > 1 else ""
        raise FileExistsError(f"{taken[0]} exists{more}; pass --force (force=True) to overwrite")


def _voices_key(notes: pd.DataFrame) -> tuple:
    """What makes two harmonizations the same: the alto, tenor and bass notes."""
    lower = notes[notes["part"].astype(str) != "Soprano"]
    rows = lower[["part", "pitch", "start_beat", "end_beat"]].astype({"part": str}).round(6)
    return tuple(sorted(map(tuple, rows.itertuples(index=False))))


def _draw(model: Any, melody: Melody, n: int, *, sample: bool, seed: int,
          temperature: float) -> list[tuple[pd.DataFrame, str]]:
    """``n`` different harmonizations with how each was drawn: the most likely first
    (unless ``sample``), then batches of draws, one seed per batch, until ``n`` differ."""
    drawn: list[tuple[pd.DataFrame, str]] = []
    seen: set[tuple] = set()

    def keep(notes: pd.DataFrame, how: str) -> None:
        key = _voices_key(notes)
        if key not in seen and len(drawn) < n:
            seen.add(key)
            drawn.append((notes, how))

    if not sample:
        keep(model.harmonize(melody, sample=False, seed=seed, temperature=temperature), "most likely")
    batch_seed = int(seed)
    tries = 0
    while len(drawn) < n and tries < _DRAWS_PER_HARMONIZATION * n:
        wanted = n - len(drawn)
        batch = model.harmonize_many([melody] * wanted, sample=True, seed=batch_seed, temperature=temperature)
        for index, notes in enumerate(batch):
            keep(notes, f"sampled: seed {batch_seed}" + (f", draw {index + 1}" if wanted > 1 else ""))
        tries += wanted
        batch_seed += 1
    return drawn


def _prices(model: Any, melody: Melody, harmonizations: list[pd.DataFrame],
            move: int) -> tuple[str, list[tuple[float, float]]]:
    """What ranks the harmonizations, and ``(log2 P, bits per A/T/B note)`` of each.

    Each is priced where it was harmonized: moved by ``move`` semitones into the
    soprano's range, with the melody's meter and pickup placing its bar lines."""
    fam = model.family
    pieces = pd.DataFrame({"piece": [melody.name], "time_signature": [melody.time_signature],
                           "pickup_beats": [melody.pickup_beats]})
    scorer = getattr(fam, "score_given_soprano", None)
    if scorer is not None:
        from .families.satb import SatbFamily

        if isinstance(fam, SatbFamily):
            ranked_by = ("the model's exact log P(alto, tenor, bass | soprano, fermatas), every sixteenth of the "
                         "three voices priced")
        else:
            ranked_by = (f"the {model.kind} model's log P(alto, tenor, bass | soprano) as it prices them "
                         "(score_given_soprano; see its docstring for what it leaves out)")
        prices = []
        for notes in harmonizations:
            scored = scorer(model, notes.assign(pitch=notes["pitch"] + move), pieces)
            log2_p = float(scored["log_likelihood"]) / math.log(2)
            prices.append((log2_p, float(scored["bits_per_note"])))
        return ranked_by, prices
    try:
        prices = []
        for notes in harmonizations:
            scored = model.score(notes.assign(pitch=notes["pitch"] + move))
            n_lower = int((notes["part"].astype(str) != "Soprano").sum())
            prices.append((float(scored["log_likelihood"]) / math.log(2), math.nan if not n_lower else
                           -float(scored["log_likelihood"]) / math.log(2) / n_lower))
        return (f"the {model.kind} model's log P of all four voices (it has no probability given the soprano; the "
                "soprano's share is the same for every harmonization)"), prices
    except Exception:  # a kind that cannot score these notes: keep the order drawn
        return "nothing: the model cannot score them; in the order drawn", [(math.nan, math.nan)] * len(harmonizations)


def write_harmonization(harmonization: Harmonization, stem: str | os.PathLike,
                        formats: Sequence[str] = HARMONIZE_FORMATS) -> dict[str, Path]:
    """Write one harmonization next to ``stem`` in the melody's key signature, spelling,
    meter and pickup (:attr:`musicalpy.melody.Melody.notation`).

    The MusicXML holds four parts, Soprano, Alto, Tenor and Bass (treble, treble,
    treble-8 and bass clefs), as a score editor opens them; the MIDI file carries the
    key and time signatures (a pickup as a short first bar).

    Returns
    -------
    dict of str to Path
        ``{format: path written}``.
    """
    from .render import export

    melody = harmonization.melody
    return export(harmonization.notes, stem, formats, notation=melody.notation,
                  title=f"{melody.name}, harmonized by {harmonization.model}")


def ranking_table(harmonizations: Sequence[Harmonization]) -> pd.DataFrame:
    """One row per harmonization, best first: ``rank``, ``file`` (stem, or the melody's
    name when nothing was written), ``draw``, ``log2_p`` and ``bits_per_atb_note``."""
    rows = []
    for h in harmonizations:
        first = next(iter(h.files.values()), None)
        rows.append({"rank": h.rank, "file": first.name.rsplit(".", 1)[0] if first is not None else h.melody.name,
                     "draw": h.draw, "log2_p": round(h.log2_probability, 2),
                     "bits_per_atb_note": round(h.bits_per_note, 3)})
    return pd.DataFrame(rows, columns=["rank", "file", "draw", "log2_p", "bits_per_atb_note"])
