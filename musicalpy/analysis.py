"""Exploratory analysis and key finding on note tables.

>>> corpus = load_corpus("bach")
>>> corpus_overview(corpus.pieces)                      # pieces, notes, hours, tempo, ...
>>> keys = key_table(corpus.notes, profiles=PROFILES)   # one key per piece and profile
>>> grid = windowed_keys(corpus.piece(corpus.piece_ids[0]), bar_lines("3/4", n_bars=20))
>>> plot_keyscape(grid)

Key finding
-----------
The key-weight analyses of :mod:`music21.analysis.discrete` (Krumhansl-Schmuckler and
its four siblings, :data:`PROFILES`) correlate the piece's duration-weighted pitch-class
distribution with a major and a minor profile rotated to all twelve tonics and return
the best-correlated key (Pearson r), keeping the other 23 as ranked alternatives. They
see the music only through that 12-number distribution, so :func:`key_correlations`
builds it from the note table (:func:`pitch_class_weights`, weights in quarter notes
as in music21) and correlates it with music21's own profile weights in numpy: the same
keys, correlations and ranking as music21's ``getSolution`` on the parsed score (the
tests check it), without building a music21 stream, so 371 chorales x 5 profiles take
about a second instead of minutes. :func:`find_key` returns music21's ``Key`` object;
given a music21 stream it calls music21 directly. :func:`windowed_keys` does the same
per window of bars (music21's ``WindowedAnalysis`` uses quarter-note windows).
``music21``'s ``Stream.analyze('key')`` resolves ``'key'`` to Aarden-Essen, not
Krumhansl-Schmuckler (see :func:`music21_default_profile`).

Reference keys
--------------
:func:`reference_key` names a key from the notated key signature and the final bass
note: the major key of the signature when the last bass note is its tonic, the relative
minor when the bass ends on the minor tonic, and no key otherwise. It is a notation-
based yardstick, not ground truth: modal pieces (a Phrygian ending on E with no
signature, Dorian pieces written with one flat fewer), endings on a half cadence and
pieces that close outside their signature get no reference key, and a piece that
modulates away and back is judged only by its ending.

Expert keys
-----------
music21 ships expert Roman-numeral analyses of Riemenschneider chorales 1-20
(:data:`EXPERT_ANALYSES`, RomanText files: a key and a chord at every beat where the
harmony changes). :func:`expert_keys` reads them into one row per chord with its local
key, :func:`expert_piece_keys` gives each chorale's home key (the key the analyst opens
with) in the shape :func:`compare_with_reference` takes, and
:func:`expert_windowed_keys` the analyst's key of every window of bars, in the shape of
:func:`windowed_keys`, so that the key finders can be scored against musicians.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._config import check_int
from .names import (
    MODES,
    key_signature_sharps,
    key_tonic,
    pitch_class_name,
    pitch_to_name,
)
from .names import key_name as names_key_name
from .representations.events import NOTE_OFF_OFFSET, TIME_SHIFT_OFFSET

__all__ = [
    "PROFILES",
    "PROFILE_NAMES",
    "KEY_RELATIONS",
    "music21_default_profile",
    "corpus_overview",
    "growing_samples",
    "pitch_distribution",
    "melodic_intervals",
    "polyphony_curve",
    "event_bookkeeping",
    "pitch_class_weights",
    "key_correlations",
    "find_key",
    "key_name",
    "key_table",
    "bar_length",
    "bar_lines",
    "windowed_keys",
    "key_color",
    "plot_keyscape",
    "signature_sharps",
    "final_bass_pitch",
    "reference_key",
    "reference_keys",
    "key_relation",
    "agreement_matrix",
    "compare_with_reference",
    "mode_share",
    "EXPERT_ANALYSES",
    "expert_keys",
    "expert_piece_keys",
    "expert_windowed_keys",
]

#: Key profiles offered by music21, by short name -> music21 class in analysis.discrete.
PROFILES = {
    "krumhansl": "KrumhanslSchmuckler",
    "aarden": "AardenEssen",
    "bellman": "BellmanBudge",
    "temperley": "TemperleyKostkaPayne",
    "simple": "SimpleWeights",
}
#: Display names of the profiles.
PROFILE_NAMES = {
    "krumhansl": "Krumhansl-Schmuckler",
    "aarden": "Aarden-Essen",
    "bellman": "Bellman-Budge",
    "temperley": "Temperley-Kostka-Payne",
    "simple": "Simple Weights",
}
#: The relations :func:`key_relation` reports, closest first.
KEY_RELATIONS = ("same", "relative", "parallel", "dominant", "subdominant", "other")



# ------------------------------------------------------------------------------- EDA


def _pieces_table(source: Any) -> pd.DataFrame:
    pieces = getattr(source, "pieces", source)
    if not isinstance(pieces, pd.DataFrame):
        raise ValueError(f"expected a Corpus or its pieces table, got {type(source).__name__}")
    return pieces


def _most_common(values: pd.Series, top: int) -> str:
    counts = values[values.astype(str) != ""].astype(str).value_counts()
    shown = ", ".join(f"{name} ({n})" for name, n in counts.head(top).items())
    if len(counts) > top:
        shown += f", +{len(counts) - top} more"
    return shown


def corpus_overview(source: Any, *, by: str | None = None, top: int = 3) -> pd.DataFrame:
    """Summarize a corpus: one row per group (``by``, e.g. ``"composer"``) or one in all.

    Parameters
    ----------
    source : Corpus or pd.DataFrame
        A :class:`musicalpy.corpus.Corpus` or its ``pieces`` table.
    by : str, optional
        A pieces column to group by; None gives one row named after ``"all"``.
    top : int
        How many of the most common key and time signatures to list.

    Returns
    -------
    pd.DataFrame
        Columns ``pieces``, ``parts per piece`` (median), ``notes``, ``hours`` (total
        duration), ``median tempo`` (quarter notes per minute), ``key signatures`` and
        ``time signatures`` (most common first, with counts).
    """
    pieces = _pieces_table(source)
    if by is not None and by not in pieces.columns:
        raise ValueError(f"by={by!r} is not a column of the pieces table ({list(pieces.columns)})")
    groups = pieces.groupby(by, sort=True) if by else [("all", pieces)]
    rows = []
    for name, group in groups:
        rows.append({
            by or "corpus": name,
            "pieces": len(group),
            "parts per piece": float(group["n_parts"].median()),
            "notes": int(group["n_notes"].sum()),
            "hours": float(group["duration"].sum()) / 3600.0,
            "median tempo": float(group["tempo"].median()),
            "key signatures": _most_common(group["key_signature"], top),
            "time signatures": _most_common(group["time_signature"], top),
        })
    return pd.DataFrame(rows).set_index(by or "corpus")


def growing_samples(
    notes: pd.DataFrame, sizes: Sequence[int | None] = (5, 100, None), *, seed: int = 0
) -> pd.DataFrame:
    """Pitched notes of nested random samples of pieces, labelled by sample.

    One seeded permutation of the pieces is cut at each size, so every sample contains
    the smaller ones (the distribution "as the sample grows"). ``None`` means all pieces;
    sizes larger than the corpus are capped.

    Returns
    -------
    pd.DataFrame
        The selected notes (drums removed) with a categorical ``sample`` column such as
        ``"5 pieces"``, ordered smallest first; a note appears once per sample holding it.
    """
    if not sizes:
        raise ValueError("sizes must list at least one sample size")
    pitched = notes[~notes["is_drum"]] if "is_drum" in notes.columns else notes
    ids = np.array(pd.unique(pitched["piece"]))
    if len(ids) == 0:
        raise ValueError("notes has no pitched notes")
    order = ids[np.random.default_rng(seed).permutation(len(ids))]
    capped = sorted({len(ids) if s is None else min(int(s), len(ids)) for s in sizes})
    if capped[0] < 1:
        raise ValueError(f"sample sizes must be positive, got {list(sizes)}")
    frames, labels = [], []
    for size in capped:
        label = f"all {size} pieces" if size == len(ids) else f"{size} pieces"
        frame = pitched[pitched["piece"].isin(set(order[:size]))].copy()
        frame["sample"] = label
        frames.append(frame)
        labels.append(label)
    result = pd.concat(frames, ignore_index=True)
    result["sample"] = pd.Categorical(result["sample"], categories=labels, ordered=True)
    return result


def _durations(notes: pd.DataFrame) -> np.ndarray:
    """Note lengths in quarter notes when the table has beats, else in seconds."""
    if {"start_beat", "end_beat"} <= set(notes.columns):
        beats = notes["end_beat"].to_numpy(float) - notes["start_beat"].to_numpy(float)
        if np.isfinite(beats).all():
            return beats
    return notes["end"].to_numpy(float) - notes["start"].to_numpy(float)


def _check_weight(weight: str) -> None:
    if weight not in ("duration", "count"):
        raise ValueError(f"weight must be 'duration' or 'count', got {weight!r}")


def pitch_distribution(
    notes: pd.DataFrame, *, by: str | None = None, weight: str = "duration", pitch_class: bool = False
) -> pd.DataFrame:
    """Share of each pitch (or pitch class) per group, weighted by duration or count.

    Parameters
    ----------
    notes : pd.DataFrame
        A note table, with the ``by`` column when grouping (e.g. from
        ``corpus.notes_with("composer")``). Drums are left out.
    by : str, optional
        Column to group by; None treats the table as one group.
    weight : {"duration", "count"}
        Weight each note by its length (quarter notes when the table has beats, else
        seconds) or count each note once.
    pitch_class : bool
        Fold octaves: 12 pitch classes instead of MIDI pitches.

    Returns
    -------
    pd.DataFrame
        Long format: ``by`` (if given), ``pitch`` or ``pitch_class``, ``name`` (note name
        such as ``"B-4"`` (:func:`musicalpy.names.pitch_to_name`), or ``"B-"`` for pitch classes) and ``share`` (sums to 1 per
        group). Pitch classes are all listed (zeros included); pitches only as they occur.
    """
    _check_weight(weight)
    if by is not None and by not in notes.columns:
        raise ValueError(f"by={by!r} is not a column of notes; join it first (Corpus.notes_with)")
    table = notes[~notes["is_drum"]] if "is_drum" in notes.columns else notes
    values = table["pitch"].to_numpy(int) % 12 if pitch_class else table["pitch"].to_numpy(int)
    column = "pitch_class" if pitch_class else "pitch"
    frame = pd.DataFrame({
        column: values,
        "w": _durations(table) if weight == "duration" else np.ones(len(table)),
        "group": table[by].to_numpy() if by else "all",
    })
    sums = frame.groupby(["group", column], sort=True)["w"].sum()
    if pitch_class:
        groups = sums.index.get_level_values(0).unique()
        sums = sums.reindex(pd.MultiIndex.from_product([groups, range(12)], names=["group", column]),
                            fill_value=0.0)
    shares = (sums / sums.groupby(level=0).transform("sum")).rename("share").reset_index()
    if pitch_class:
        shares["name"] = [pitch_class_name(p) for p in shares[column]]
    else:
        shares["name"] = [pitch_to_name(p) for p in shares[column]]
    shares = shares.rename(columns={"group": by}) if by else shares.drop(columns="group")
    front = [by] if by else []
    return shares[[*front, column, "name", "share"]]


def melodic_intervals(notes: pd.DataFrame, *, skyline: bool = False) -> pd.DataFrame:
    """Signed intervals (semitones) between consecutive notes of each part of each piece.

    Parameters
    ----------
    notes : pd.DataFrame
        A note table; drums are left out.
    skyline : bool
        False: every note, ordered by onset then pitch, so a chord contributes its
        ascending steps (the definition behind ``musicalpy.metrics``'
        ``mean_abs_interval``). True: only the highest note at each onset of a part,
        the melodic line a listener follows in a chordal part (piano music).

    Returns
    -------
    pd.DataFrame
        Columns ``piece``, ``part``, ``interval`` (next pitch minus this one).
    """
    table = notes[~notes["is_drum"]] if "is_drum" in notes.columns else notes
    start = "start_beat" if "start_beat" in table.columns and table["start_beat"].notna().all() else "start"
    ordered = table.sort_values(["piece", "part", start, "pitch"], kind="stable")
    if skyline:
        ordered = ordered.drop_duplicates(["piece", "part", start], keep="last")
    same = (ordered["piece"].to_numpy()[1:] == ordered["piece"].to_numpy()[:-1]) & (
        ordered["part"].to_numpy()[1:] == ordered["part"].to_numpy()[:-1])
    pitch = ordered["pitch"].to_numpy(int)
    return pd.DataFrame({
        "piece": ordered["piece"].to_numpy()[1:][same],
        "part": ordered["part"].to_numpy()[1:][same],
        "interval": (pitch[1:] - pitch[:-1])[same],
    })


def polyphony_curve(notes: pd.DataFrame, *, resolution: float = 0.25) -> pd.DataFrame:
    """Number of distinct pitches sounding over time, sampled every ``resolution`` beats.

    A pitch played by two parts at once counts once (as in ``musicalpy.metrics``'
    ``polyphony``, whose value is the mean of this curve over the samples where
    something sounds). Each sample is taken in the middle of its step, so notes on the
    grid are never caught at their exact ends.

    Parameters
    ----------
    notes : pd.DataFrame
        One piece's note table; beats from ``start_beat``/``end_beat`` when present,
        else seconds. Drums are left out.
    resolution : float
        Step between samples (quarter notes, or seconds without beats).

    Returns
    -------
    pd.DataFrame
        Columns ``time`` (start of each step) and ``polyphony`` (int).
    """
    if resolution <= 0:
        raise ValueError(f"resolution must be positive, got {resolution}")
    table = notes[~notes["is_drum"]] if "is_drum" in notes.columns else notes
    if table.empty:
        raise ValueError("notes has no pitched notes")
    has_beats = {"start_beat", "end_beat"} <= set(table.columns) and table[["start_beat", "end_beat"]].notna().all().all()
    begin = table["start_beat" if has_beats else "start"].to_numpy(float) / resolution
    end = table["end_beat" if has_beats else "end"].to_numpy(float) / resolution
    # step k is sampled at k + 0.5: a note covers the steps whose midpoints it spans
    first = np.ceil(begin - 0.5).astype(int)
    stop = np.maximum(np.ceil(end - 0.5).astype(int), first)
    n_steps = int(stop.max()) if len(stop) else 0
    changes = np.zeros((n_steps + 1, 128), dtype=np.int32)
    pitch = table["pitch"].to_numpy(int)
    np.add.at(changes, (first, pitch), 1)
    np.add.at(changes, (stop, pitch), -1)
    sounding = (np.cumsum(changes, axis=0)[:n_steps] > 0).sum(axis=1)
    return pd.DataFrame({"time": np.arange(n_steps) * resolution, "polyphony": sounding})


def event_bookkeeping(tokens: Sequence[int] | np.ndarray) -> dict[str, int]:
    """Do the NOTE_OFFs of a performance-event sequence close notes that are sounding?

    A NOTE_OFF must name the pitch of a NOTE_ON emitted earlier; a model with a short
    memory (an HMM) forgets it. This walks the events and counts what the decoder
    (:func:`musicalpy.representations.decode_events`) will meet: NOTE_OFFs that close a
    sounding note (one NOTE_ON of that pitch each, oldest first), NOTE_OFFs that close
    nothing (it ignores them) and notes never closed (they ring to the end).

    Parameters
    ----------
    tokens : array-like of int, shape=(n_events,)
        Performance events (see :mod:`musicalpy.representations.events`).

    Returns
    -------
    dict
        ``events``, ``NOTE_ON``, ``NOTE_OFF``, ``NOTE_OFF closing a sounding note`` and
        ``notes never closed``.
    """
    array = np.asarray(tokens)
    if array.ndim != 1:
        raise ValueError(f"tokens must be one sequence of events, got shape {array.shape}")
    sounding = np.zeros(128, dtype=int)
    ons = offs = closing = 0
    for token in array.tolist():
        if token < NOTE_OFF_OFFSET:
            ons += 1
            sounding[token] += 1
        elif token < TIME_SHIFT_OFFSET:
            offs += 1
            if sounding[token - NOTE_OFF_OFFSET]:
                closing += 1
                sounding[token - NOTE_OFF_OFFSET] -= 1
    return {"events": len(array), "NOTE_ON": ons, "NOTE_OFF": offs, "NOTE_OFF closing a sounding note": closing,
            "notes never closed": int(sounding.sum())}


# ---------------------------------------------------------------------------- keys


def pitch_class_weights(notes: pd.DataFrame, *, weight: str = "duration") -> np.ndarray:
    """The pitch-class distribution music21's key finders use.

    Parameters
    ----------
    notes : pd.DataFrame
        A note table (one piece, or any selection of notes); drums are left out.
    weight : {"duration", "count"}
        ``"duration"`` sums note lengths in quarter notes (seconds when the table has
        no beats; the key finders only see proportions), as music21 does;
        ``"count"`` counts notes.

    Returns
    -------
    np.ndarray, shape=(12,)
        Total weight of C, C#, ..., B.
    """
    _check_weight(weight)
    table = notes[~notes["is_drum"]] if "is_drum" in notes.columns else notes
    pcs = table["pitch"].to_numpy(int) % 12
    w = _durations(table) if weight == "duration" else np.ones(len(table))
    return np.bincount(pcs, weights=w, minlength=12).astype(float)


def _profile_class_name(profile: str) -> str:
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {list(PROFILES)}, got {profile!r}")
    return PROFILES[profile]


@functools.cache
def _analyzer(profile: str):
    from music21.analysis import discrete

    return getattr(discrete, _profile_class_name(profile))()


@functools.cache
def _rotated_profiles(profile: str) -> np.ndarray:
    """music21's profile weights rotated to every tonic, centred and unit-norm.

    Shape (2, 12, 12): mode (major, minor) x tonic x pitch class, so that a dot product
    with a centred, unit-norm distribution is Pearson's r, as in music21's
    ``KeyWeightKeyAnalysis._getDifference``.
    """
    analyzer = _analyzer(profile)
    out = np.empty((2, 12, 12))
    for m, mode in enumerate(MODES):
        weights = np.asarray(analyzer.getWeights(mode), dtype=float)
        for tonic in range(12):
            out[m, tonic] = np.roll(weights, tonic)  # weight of pc j is weights[(j - tonic) % 12]
    out -= out.mean(axis=2, keepdims=True)
    out /= np.linalg.norm(out, axis=2, keepdims=True)
    return out


def music21_default_profile() -> str:
    """The profile music21's ``Stream.analyze('key')`` uses, as a key of :data:`PROFILES`.

    Asked from music21 itself (``analysis.discrete.analysisClassFromMethodName('key')``);
    in music21 9 it is Aarden-Essen, although ``analyze``'s docstring still says
    Krumhansl-Schmuckler.
    """
    from music21.analysis import discrete

    name = discrete.analysisClassFromMethodName("key").__name__
    by_class = {v: k for k, v in PROFILES.items()}
    if name not in by_class:  # a future music21 with a new default
        raise ValueError(f"music21's default key analysis {name} is not one of {list(PROFILES.values())}")
    return by_class[name]


def _as_weights(source: Any) -> np.ndarray:
    if isinstance(source, pd.DataFrame):
        weights = pitch_class_weights(source)
    else:
        weights = np.asarray(source, dtype=float)
        if weights.shape != (12,) or not np.isfinite(weights).all() or (weights < 0).any():
            raise ValueError(f"source: expected a note table or 12 non-negative pitch-class weights, "
                             f"got shape {weights.shape}")
    if weights.sum() <= 0:
        raise ValueError("source has no pitched notes to find a key from")
    return weights


def key_correlations(source: Any, profile: str = "krumhansl") -> pd.DataFrame:
    """All 24 keys ranked by correlation with a profile, best first.

    The numbers of music21's key-weight analyses: Pearson's r between the duration-
    weighted pitch-class distribution and the profile's major and minor weights
    (``getWeights``) rotated to each tonic; the best r is the key. Computed with numpy
    (the tests check it against music21's ``getSolution`` on parsed scores); ties, which
    only sparse distributions produce, are broken as music21 does (higher tonic pitch
    class first, then minor).

    Parameters
    ----------
    source : pd.DataFrame or array-like, shape=(12,)
        A note table or a pitch-class distribution (:func:`pitch_class_weights`).
    profile : str
        One of :data:`PROFILES`.

    Returns
    -------
    pd.DataFrame, shape=(24, 4)
        ``key`` (e.g. ``"F# minor"``), ``tonic_pc``, ``mode``, ``correlation``.
    """
    ranked = _ranking(_as_weights(source), profile)
    return pd.DataFrame({
        "key": [key_name((t, MODES[m])) for _, t, m in ranked],
        "tonic_pc": [t for _, t, _ in ranked],
        "mode": [MODES[m] for _, _, m in ranked],
        "correlation": [r for r, _, _ in ranked],
    })


def _ranking(weights: np.ndarray, profile: str) -> list[tuple[float, int, int]]:
    """(r, tonic_pc, mode index) for the 24 keys, best first, music21's tie-break."""
    centred = weights - weights.mean()
    norm = np.linalg.norm(centred)
    # a flat distribution correlates with nothing: music21 reports r = 0 for every key
    r = _rotated_profiles(profile) @ centred / norm if norm > 0 else np.zeros((2, 12))
    # rounding makes equal correlations tie exactly whatever the summation order
    order = sorted(((round(float(r[m, t]), 12), t, m) for m in range(2) for t in range(12)), reverse=True)
    return [(float(r[m, t]), t, m) for _, t, m in order]


def find_key(source: Any, profile: str = "krumhansl"):
    """The key of a note table, a 12-value pitch-class distribution or a music21 stream.

    Parameters
    ----------
    source : pd.DataFrame or array-like, shape=(12,) or music21.stream.Stream
        What to analyze. Streams go straight to music21's analysis class; note tables
        and distributions through :func:`key_correlations` (same answer, faster).
    profile : str
        One of :data:`PROFILES` (``"krumhansl"``, ``"aarden"``, ``"bellman"``,
        ``"temperley"``, ``"simple"``).

    Returns
    -------
    music21.key.Key
        With ``correlationCoefficient`` (Pearson r of the distribution with the rotated
        profile) and ``alternateInterpretations`` (the other 23 keys, best first).

    Raises
    ------
    ValueError
        For an unknown profile, or a source without pitched notes.
    """
    _profile_class_name(profile)
    if hasattr(source, "flatten") and hasattr(source, "notes"):  # a music21 stream
        if not source.flatten().notes:
            raise ValueError("source: the music21 stream has no notes")
        return _analyzer(profile).getSolution(source)
    from music21 import key as m21key

    keys = []
    for r, tonic_pc, m in _ranking(_as_weights(source), profile):
        found = m21key.Key(key_tonic(tonic_pc, MODES[m]), MODES[m])
        found.correlationCoefficient = r
        keys.append(found)
    best = keys[0]
    best.alternateInterpretations = keys[1:]
    return best


def key_name(key: Any) -> str:
    """A found key as text, ``"F# minor"``, ``"B- major"`` (:func:`musicalpy.names.key_name`).

    Parameters
    ----------
    key : music21.key.Key or (int, str) or None
        A key from :func:`find_key` or music21, or ``(tonic_pc, mode)``; None gives ``""``.
        A music21 key is named by its tonic's pitch class, so one key has one name
        however music21 spelled its tonic.
    """
    if key is None:
        return ""
    if isinstance(key, tuple):
        tonic_pc, mode = key
        return names_key_name(tonic_pc, mode)
    return names_key_name(key.tonic.pitchClass, key.mode)


def key_table(
    notes: pd.DataFrame,
    profiles: Iterable[str] = ("krumhansl",),
    *,
    alternatives: int = 2,
    progress: bool = False,
) -> pd.DataFrame:
    """Whole-piece key of every piece under each profile, with the runners-up.

    Parameters
    ----------
    notes : pd.DataFrame
        A note table with one or more pieces.
    profiles : iterable of str
        Profiles to run (keys of :data:`PROFILES`).
    alternatives : int
        How many runner-up interpretations to keep.
    progress : bool
        Show a tqdm bar over pieces.

    Returns
    -------
    pd.DataFrame
        One row per (piece, profile): ``piece``, ``profile``, ``key`` (e.g.
        ``"G major"``), ``tonic_pc`` (0-11), ``mode``, ``correlation``, then ``alt_1``,
        ``alt_1_correlation``, ... Pieces without pitched notes are left out.
    """
    profiles = list(profiles)
    for profile in profiles:
        _profile_class_name(profile)
    alternatives = check_int("alternatives", alternatives, minimum=0)
    from tqdm.auto import tqdm

    rows = []
    grouped = notes.groupby("piece", sort=False)
    for piece_id, piece_notes in tqdm(grouped, total=grouped.ngroups, disable=not progress, unit="piece"):
        weights = pitch_class_weights(piece_notes)
        if weights.sum() <= 0:
            continue
        for profile in profiles:
            ranked = _ranking(weights, profile)
            r, tonic_pc, m = ranked[0]
            row = {
                "piece": piece_id,
                "profile": profile,
                "key": key_name((tonic_pc, MODES[m])),
                "tonic_pc": tonic_pc,
                "mode": MODES[m],
                "correlation": r,
            }
            for rank, (alt_r, alt_pc, alt_m) in enumerate(ranked[1:alternatives + 1], start=1):
                row[f"alt_{rank}"] = key_name((alt_pc, MODES[alt_m]))
                row[f"alt_{rank}_correlation"] = alt_r
            rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- windowed analysis


def bar_length(time_signature: str, *, default: float | None = 4.0) -> float:
    """Length of one bar in quarter notes: ``"3/4"`` gives 3, ``"6/8"`` gives 3.

    Parameters
    ----------
    time_signature : str
        A time signature as the pieces table stores it (``"4/4"``, ``"3/2"``, ...).
    default : float or None, default 4.0
        Returned for an empty or unreadable signature (files without one, odd
        encodings): 4.0 is common time, what MIDI assumes. None raises instead.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For an unreadable signature when ``default`` is None.
    """
    from music21 import meter

    try:
        return float(meter.TimeSignature(str(time_signature)).barDuration.quarterLength)
    except Exception as exc:
        if default is None:
            raise ValueError(f"time_signature: {time_signature!r} is not a time signature ({exc})") from None
        return float(default)


def bar_lines(source: Any, n_bars: int | None = None) -> np.ndarray:
    """Bar-line offsets in quarter notes: ``n_bars + 1`` boundaries from the first bar.

    Parameters
    ----------
    source : music21.stream.Stream or str
        A parsed score or part (its measures are read from the first part, so pickups
        and changes of metre are right), or a time signature such as ``"3/4"`` or
        ``"6/8"`` for regular bars from offset 0 (all a MIDI file can tell).
    n_bars : int, optional
        How many bars; required for a time signature, at most all bars for a score.

    Returns
    -------
    np.ndarray, shape=(n_bars + 1,)
        Offsets of the bar lines, the first one 0 for a score starting at 0.
    """
    if n_bars is not None:
        n_bars = check_int("n_bars", n_bars)
    if isinstance(source, str):
        if n_bars is None:
            raise ValueError("n_bars is required when bars come from a time signature")
        return np.arange(n_bars + 1, dtype=float) * bar_length(source, default=None)
    from music21 import stream

    if not isinstance(source, stream.Stream):
        raise ValueError(f"source must be a music21 stream or a time signature, got {type(source).__name__}")
    part = source.parts[0] if isinstance(source, stream.Score) and source.parts else source
    measures = list(part.getElementsByClass(stream.Measure))
    if not measures:
        raise ValueError("source has no measures; give a time signature instead")
    if n_bars is not None:
        if n_bars > len(measures):
            raise ValueError(f"n_bars={n_bars} but the score has only {len(measures)} measures")
        measures = measures[:n_bars]
    offsets = [float(m.getOffsetBySite(part)) for m in measures]
    last = measures[-1]
    return np.array(offsets + [offsets[-1] + float(last.duration.quarterLength)])


def _bar_windows(bars: Sequence[float], max_window: int | None) -> tuple[np.ndarray, int, int]:
    """Bar-line offsets as an array, the number of bars, and the largest window in bars
    (all of them when ``max_window`` is None); raises on offsets that do not increase."""
    edges = np.asarray(bars, dtype=float)
    if edges.ndim != 1 or len(edges) < 2 or (np.diff(edges) <= 0).any():
        raise ValueError("bars must be at least two strictly increasing bar-line offsets")
    n_bars = len(edges) - 1
    max_window = n_bars if max_window is None else check_int("max_window", max_window)
    if max_window > n_bars:
        raise ValueError(f"max_window must be between 1 and {n_bars} bars, got {max_window}")
    return edges, n_bars, max_window


def windowed_keys(
    notes: pd.DataFrame,
    bars: Sequence[float] | np.ndarray | str,
    *,
    max_window: int | None = None,
    profile: str = "krumhansl",
) -> pd.DataFrame:
    """Key of every run of consecutive bars: the data of a keyscape.

    Like music21's ``WindowedAnalysis`` with ``windowType='overlap'``, but with bars as
    the unit: for each window size ``w`` in 1..``max_window`` there are
    ``n_bars - w + 1`` windows, starting at every bar. Notes crossing a bar line count
    in each bar for the time they sound there (as music21 ties them over).

    Parameters
    ----------
    notes : pd.DataFrame
        One piece's note table with ``start_beat``/``end_beat``.
    bars : array-like, shape=(n_bars + 1,), or str
        Bar-line offsets in quarter notes (see :func:`bar_lines`), or a time signature
        for regular bars covering the piece.
    max_window : int, optional
        Largest window in bars (default: all bars).
    profile : str
        Key profile (see :data:`PROFILES`).

    Returns
    -------
    pd.DataFrame
        One row per window: ``window`` (size in bars), ``first_bar``, ``last_bar``
        (1-based positions in ``bars``), ``key`` (``""`` for a window without notes),
        ``tonic_pc`` (-1 when empty), ``mode`` and ``correlation``.
    """
    if not {"start_beat", "end_beat"} <= set(notes.columns) or notes[["start_beat", "end_beat"]].isna().any().any():
        raise ValueError("notes needs start_beat/end_beat (quarter notes) for a windowed key analysis")
    if "piece" in notes.columns and notes["piece"].nunique() > 1:
        raise ValueError(f"notes holds {notes['piece'].nunique()} pieces; give one piece")
    table = notes[~notes["is_drum"]] if "is_drum" in notes.columns else notes
    if isinstance(bars, str):
        length = bar_length(bars, default=None)
        bars = np.arange(int(np.ceil(table["end_beat"].max() / length)) + 1) * length
    edges, n_bars, max_window = _bar_windows(bars, max_window)
    starts = table["start_beat"].to_numpy(float)[:, None]
    ends = table["end_beat"].to_numpy(float)[:, None]
    # time each note sounds inside each bar, shape (n_notes, n_bars)
    overlap = np.clip(np.minimum(ends, edges[None, 1:]) - np.maximum(starts, edges[None, :-1]), 0, None)
    per_bar = np.zeros((n_bars, 12))
    np.add.at(per_bar.T, table["pitch"].to_numpy(int) % 12, overlap)
    cumulative = np.vstack([np.zeros(12), np.cumsum(per_bar, axis=0)])
    rows = []
    for window in range(1, max_window + 1):
        for first in range(n_bars - window + 1):
            weights = cumulative[first + window] - cumulative[first]
            row = {"window": window, "first_bar": first + 1, "last_bar": first + window,
                   "key": "", "tonic_pc": -1, "mode": "", "correlation": np.nan}
            if weights.sum() > 1e-9:
                r, tonic_pc, m = _ranking(weights, profile)[0]
                row.update(key=key_name((tonic_pc, MODES[m])), tonic_pc=tonic_pc, mode=MODES[m],
                           correlation=r)
            rows.append(row)
    return pd.DataFrame(rows)


def key_color(tonic_pc: int, mode: str) -> tuple[float, float, float]:
    """RGB colour of a key: hue walks the circle of fifths, minor keys are darker.

    Neighbouring keys on the circle of fifths get neighbouring hues, so a modulation to
    the dominant is a small colour step; major is light and minor dark, so the two
    modes are told apart at a glance.
    """
    import matplotlib.colors as mcolors

    if mode not in MODES:
        raise ValueError(f"mode must be 'major' or 'minor', got {mode!r}")
    hue = ((int(tonic_pc) * 7) % 12) / 12.0
    hsv = (hue, 0.45, 0.98) if mode == "major" else (hue, 0.9, 0.5)
    return tuple(float(c) for c in mcolors.hsv_to_rgb(hsv))


def plot_keyscape(windowed: pd.DataFrame, *, ax: Any = None, title: str | None = None, legend: bool = True):
    """Draw :func:`windowed_keys` as a keyscape: window size up, bar position across.

    Each window is a cell one bar wide centred on the middle of the bars it covers, so
    the rows narrow upwards into a triangle whose apex is the key of the whole excerpt.
    The legend names every key that occurs, major keys first.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    required = {"window", "first_bar", "tonic_pc", "mode"}
    if not required <= set(windowed.columns) or windowed.empty:
        raise ValueError(f"windowed must be the non-empty output of windowed_keys (columns {sorted(required)})")
    n_bars = int(windowed.loc[windowed["window"] == 1, "first_bar"].max())
    n_rows = int(windowed["window"].max())
    # half-bar resolution: a window of w bars starting at bar i is centred at i - 1 + w / 2
    image = np.ones((n_rows, 2 * n_bars, 3))
    for row in windowed.itertuples(index=False):
        if row.tonic_pc < 0:
            continue
        left = 2 * (row.first_bar - 1) + (row.window - 1)
        image[row.window - 1, left:left + 2] = key_color(row.tonic_pc, row.mode)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.5))
    ax.imshow(image, origin="lower", aspect="auto", interpolation="nearest",
              extent=(0.5, n_bars + 0.5, 0.5, n_rows + 0.5))
    ax.grid(False)  # grid lines would cut through the cells
    ax.set_xlabel("bar (centre of the window)")
    ax.set_ylabel("window size (bars)")
    ax.set_xticks(range(1, n_bars + 1, max(1, n_bars // 10)))
    ax.set_yticks(sorted({1, *range(5, n_rows + 1, 5), n_rows}))
    if title:
        ax.set_title(title)
    if legend:
        present = windowed[windowed["tonic_pc"] >= 0][["tonic_pc", "mode"]].drop_duplicates()
        order = sorted(present.itertuples(index=False),
                       key=lambda k: (k.mode != "major", (k.tonic_pc * 7) % 12))
        handles = [Patch(facecolor=key_color(k.tonic_pc, k.mode), edgecolor="0.4",
                         label=key_name((k.tonic_pc, k.mode))) for k in order]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                  fontsize="small", title="key")
    return ax


# ------------------------------------------------------------------- reference key

_SIGNATURE_WORDS = re.compile(r"^\s*(?:(no) sharps or flats|(\d+) (sharp|flat)s?)\s*$", re.IGNORECASE)


def signature_sharps(key_signature: str) -> int | None:
    """Sharps (positive) or flats (negative) of a key signature written as text.

    Understands the corpus loader's spellings: ``"2 sharps"``, ``"1 flat"``, ``"no
    sharps or flats"``, key names from music21 or pretty_midi (``"Bb major"``, ``"F#
    minor"``, ``"C Major"``). Returns None for an empty or unreadable signature.
    """
    text = str(key_signature or "")
    words = _SIGNATURE_WORDS.match(text)
    if words:
        if words.group(1):
            return 0
        count = int(words.group(2))
        return count if words.group(3).lower() == "sharp" else -count
    try:
        return key_signature_sharps(text.strip())
    except ValueError:
        return None


def final_bass_pitch(notes: pd.DataFrame) -> int:
    """The lowest pitch sounding at the very end of a piece (drums left out).

    The notes still sounding when the last note ends, so a bass that moves under a
    held final chord is taken at its last note.
    """
    table = notes[~notes["is_drum"]] if "is_drum" in notes.columns else notes
    if table.empty:
        raise ValueError("notes has no pitched notes")
    has_beats = {"start_beat", "end_beat"} <= set(table.columns) and table["end_beat"].notna().all()
    ends = table["end_beat" if has_beats else "end"].to_numpy(float)
    last = ends.max()
    sounding = ends >= last - 1e-6
    return int(table["pitch"].to_numpy(int)[sounding].min())


def reference_key(sharps: int | None, bass_pitch: int) -> tuple[int, str] | None:
    """The key the notation implies: key signature plus final bass note.

    The signature names a major key and its relative minor; the final bass note picks
    one: its tonic gives that key, anything else gives None (no reference). See the
    module docstring for what the rule cannot see.

    Parameters
    ----------
    sharps : int or None
        Sharps (positive) or flats (negative) of the key signature, -7..7.
    bass_pitch : int
        MIDI pitch (or pitch class) of the final bass note.

    Returns
    -------
    (int, str) or None
        ``(tonic_pc, mode)``, e.g. ``(9, "minor")`` for A minor.
    """
    if sharps is None:
        return None
    if check_int("sharps", sharps, minimum=-7) > 7:
        raise ValueError(f"sharps must be between -7 and 7, got {sharps}")
    major_tonic = (7 * int(sharps)) % 12
    minor_tonic = (major_tonic + 9) % 12
    bass = int(bass_pitch) % 12
    if bass == major_tonic:
        return major_tonic, "major"
    if bass == minor_tonic:
        return minor_tonic, "minor"
    return None


def reference_keys(notes: pd.DataFrame, pieces: pd.DataFrame) -> pd.DataFrame:
    """:func:`reference_key` for every piece of a corpus.

    Parameters
    ----------
    notes : pd.DataFrame
        The corpus note table.
    pieces : pd.DataFrame
        The pieces table (``piece``, ``key_signature``).

    Returns
    -------
    pd.DataFrame
        One row per piece: ``piece``, ``sharps`` (or None), ``final_bass`` (MIDI),
        ``reference`` (key name or ``""``), ``tonic_pc`` (-1 when undecided), ``mode``.
    """
    signatures = dict(zip(pieces["piece"], pieces["key_signature"], strict=True))
    rows = []
    for piece_id, piece_notes in notes.groupby("piece", sort=False):
        if piece_id not in signatures:
            continue
        sharps = signature_sharps(signatures[piece_id])
        bass = final_bass_pitch(piece_notes)
        found = reference_key(sharps, bass)
        rows.append({
            "piece": piece_id,
            "sharps": sharps,
            "final_bass": bass,
            "reference": key_name(found) if found else "",
            "tonic_pc": found[0] if found else -1,
            "mode": found[1] if found else "",
        })
    return pd.DataFrame(rows)


# ------------------------------------------------------------------- comparisons


def key_relation(found: tuple[int, str], reference: tuple[int, str]) -> str:
    """How a found key relates to a reference key, one of :data:`KEY_RELATIONS`.

    ``"relative"`` shares the key signature (C major / A minor), ``"parallel"`` the
    tonic (C major / C minor), ``"dominant"`` and ``"subdominant"`` are a fifth above or
    below in the same mode.
    """
    (found_pc, found_mode), (ref_pc, ref_mode) = found, reference
    for mode in (found_mode, ref_mode):
        if mode not in MODES:
            raise ValueError(f"mode must be 'major' or 'minor', got {mode!r}")
    step = (int(found_pc) - int(ref_pc)) % 12
    if found_mode == ref_mode:
        return {0: "same", 7: "dominant", 5: "subdominant"}.get(step, "other")
    if step == 0:
        return "parallel"
    if (ref_mode == "major" and step == 9) or (ref_mode == "minor" and step == 3):
        return "relative"
    return "other"


def agreement_matrix(keys: pd.DataFrame) -> pd.DataFrame:
    """Share of pieces on which each pair of profiles finds the same key.

    Parameters
    ----------
    keys : pd.DataFrame
        :func:`key_table` output with several profiles.

    Returns
    -------
    pd.DataFrame, shape=(n_profiles, n_profiles)
        Symmetric, ones on the diagonal, over the pieces every profile analysed.
    """
    wide = keys.assign(k=keys["tonic_pc"].astype(str) + keys["mode"]).pivot(
        index="piece", columns="profile", values="k").dropna()
    if wide.empty:
        raise ValueError("keys holds no piece analysed by every profile")
    profiles = list(wide.columns)
    matrix = pd.DataFrame(
        [[float((wide[a] == wide[b]).mean()) for b in profiles] for a in profiles],
        index=pd.Index(profiles, name="profile"), columns=profiles,
    )
    return matrix


def compare_with_reference(keys: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """How each profile's keys relate to the reference keys, as shares of pieces.

    Parameters
    ----------
    keys : pd.DataFrame
        :func:`key_table` output.
    reference : pd.DataFrame
        :func:`reference_keys` output; pieces without a reference key are left out.

    Returns
    -------
    pd.DataFrame
        One row per profile: ``pieces`` compared, then the share of each of
        :data:`KEY_RELATIONS` (``same`` is the match rate); rows sum to 1.
    """
    decided = reference[reference["tonic_pc"] >= 0][["piece", "tonic_pc", "mode"]]
    merged = keys.merge(decided, on="piece", suffixes=("", "_ref"))
    if merged.empty:
        raise ValueError("no piece has both a found key and a reference key")
    merged["relation"] = [
        key_relation((a, b), (c, d))
        for a, b, c, d in zip(merged["tonic_pc"], merged["mode"], merged["tonic_pc_ref"], merged["mode_ref"], strict=True)
    ]
    shares = pd.crosstab(merged["profile"], merged["relation"], normalize="index")
    shares = shares.reindex(columns=list(KEY_RELATIONS), fill_value=0.0)
    shares.insert(0, "pieces", merged.groupby("profile").size())
    order = [p for p in PROFILES if p in shares.index]
    return shares.loc[order]



def mode_share(keys: pd.DataFrame, mode: str = "minor", *, confidence: float = 0.95) -> pd.Series:
    """Share of pieces in one mode, with a Wilson confidence interval.

    Parameters
    ----------
    keys : pd.DataFrame
        :func:`key_table` rows of one profile (column ``mode``), one per piece.
    mode : {"minor", "major"}
    confidence : float, default 0.95

    Returns
    -------
    pd.Series
        ``pieces``, ``<mode>`` (how many pieces are in it), ``share``, ``low`` and
        ``high`` (the Wilson interval, which stays inside 0-1 and is honest for the
        handful of pieces a composer folder holds); NaN share and bounds for no pieces.
    """
    from scipy.stats import binomtest

    if mode not in MODES:
        raise ValueError(f"mode must be 'major' or 'minor', got {mode!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    if "profile" in keys.columns and keys["profile"].nunique() > 1:
        raise ValueError(f"keys holds {keys['profile'].nunique()} profiles; give the rows of one")
    n, k = len(keys), int((keys["mode"] == mode).sum())
    if n:
        interval = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
        low, high, share = interval.low, interval.high, k / n
    else:
        low = high = share = np.nan
    return pd.Series({"pieces": n, mode: k, "share": share, "low": low, "high": high})

# ------------------------------------------------------------------- expert keys

#: Where music21's corpus keeps the expert Roman-numeral analyses of Riemenschneider
#: chorales 1-20 (``riemenschneider001.rntxt`` ...), by Andrew Jones and others.
EXPERT_ANALYSES = "bach/choraleAnalyses"


@functools.cache
def _expert_rows(path: str) -> tuple[dict, ...]:
    # parsing one RomanText file takes about half a second; the notebook asks twice
    from music21 import converter, roman, stream

    score = converter.parse(path, format="romantext")
    number = int(re.search(r"(\d+)\.rntxt$", path).group(1))
    meta = score.metadata
    rows = []
    part = score.parts[0] if score.parts else score
    # only the main text: the analyst's alternative readings (``m11var1``) are Variant
    # objects outside the measures and must not count twice
    for measure in part.getElementsByClass(stream.Measure):
        for chord in measure.getElementsByClass(roman.RomanNumeral):
            key = chord.key
            rows.append({
                "riemenschneider": number,
                "title": (meta.title if meta is not None else "") or "",
                "measure": int(measure.number),
                "beat": float(chord.beat),
                "offset": float(chord.getOffsetInHierarchy(score)),
                "duration": float(chord.quarterLength),
                "figure": chord.figure,
                "key": key_name(key),
                "tonic_pc": int(key.tonic.pitchClass),
                "mode": key.mode,
            })
    return tuple(rows)


def expert_keys(numbers: Iterable[int] | None = None) -> pd.DataFrame:
    """The local key at every chord of music21's expert chorale analyses.

    Parameters
    ----------
    numbers : iterable of int, optional
        Riemenschneider numbers to read (default: every analysis in
        :data:`EXPERT_ANALYSES`, chorales 1-20 in music21 9).

    Returns
    -------
    pd.DataFrame
        One row per Roman numeral, in order: ``riemenschneider`` (int), ``title``,
        ``measure`` (the analysis's measure number, 0 for a pickup), ``beat`` (1-based,
        as music21 counts it), ``offset`` and ``duration`` (quarter notes from the
        start of the first notated bar), ``figure`` (e.g. ``"V6"``), ``key`` (e.g.
        ``"G major"``), ``tonic_pc`` (0-11) and ``mode``. A key change is the analyst's
        modulation.

    Raises
    ------
    ValueError
        When a requested number has no analysis in the installed music21.
    """
    from music21 import corpus

    available = {}
    for path in corpus.getComposer("bach"):
        found = re.search(r"choraleAnalyses[/\\]riemenschneider(\d+)\.rntxt$", str(path))
        if found:
            available[int(found.group(1))] = str(path)
    if not available:
        raise ValueError(f"this music21 has no expert analyses under {EXPERT_ANALYSES!r}")
    wanted = sorted(available) if numbers is None else [check_int("numbers", n, minimum=1) for n in numbers]
    missing = [n for n in wanted if n not in available]
    if missing:
        raise ValueError(f"numbers: no expert analysis of Riemenschneider chorale(s) {missing}; "
                         f"music21 has {min(available)}-{max(available)}")
    return pd.DataFrame([row for n in wanted for row in _expert_rows(available[n])])


def expert_piece_keys(expert: pd.DataFrame, pieces: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each analysed chorale's home key: the key the analyst opens with.

    Parameters
    ----------
    expert : pd.DataFrame
        :func:`expert_keys` output.
    pieces : pd.DataFrame, optional
        A pieces table with ``piece`` and ``riemenschneider`` columns (the ``"bach"``
        corpus); chorales it does not hold are left out.

    Returns
    -------
    pd.DataFrame
        One row per chorale: ``riemenschneider``, ``piece`` (with ``pieces``), ``key``,
        ``tonic_pc``, ``mode`` (the opening key; the shape
        :func:`compare_with_reference` takes as its reference), ``home share`` (share
        of the analysed time in that key), ``keys`` (distinct keys the analyst names)
        and ``length`` (quarter notes analysed).
    """
    if expert.empty:
        raise ValueError("expert holds no analysed chords")
    rows = []
    for number, chords in expert.groupby("riemenschneider", sort=True):
        first = chords.iloc[0]
        in_home = (chords["tonic_pc"] == first["tonic_pc"]) & (chords["mode"] == first["mode"])
        rows.append({"riemenschneider": int(number), "key": first["key"], "tonic_pc": int(first["tonic_pc"]),
                     "mode": first["mode"], "home share": float(chords.loc[in_home, "duration"].sum()
                                                                / chords["duration"].sum()),
                     "keys": int(chords["key"].nunique()),
                     "length": float((chords["offset"] + chords["duration"]).max())})
    table = pd.DataFrame(rows)
    if pieces is not None:
        if not {"piece", "riemenschneider"} <= set(pieces.columns):
            raise ValueError("pieces needs the columns piece and riemenschneider (the 'bach' corpus)")
        numbered = pieces.dropna(subset=["riemenschneider"]).drop_duplicates("riemenschneider")
        ids = dict(zip(numbered["riemenschneider"].astype(int), numbered["piece"], strict=True))
        table = table[table["riemenschneider"].isin(ids)].copy()
        table.insert(1, "piece", table["riemenschneider"].map(ids))
    return table.reset_index(drop=True)


def expert_windowed_keys(
    chords: pd.DataFrame,
    bars: Sequence[float] | np.ndarray,
    *,
    max_window: int | None = None,
) -> pd.DataFrame:
    """The analyst's key of every run of consecutive bars, to set beside :func:`windowed_keys`.

    A window's expert key is the key that holds the most analysed time inside it.

    Parameters
    ----------
    chords : pd.DataFrame
        :func:`expert_keys` rows of one chorale.
    bars : array-like, shape=(n_bars + 1,)
        Bar-line offsets in quarter notes (see :func:`bar_lines` on the chorale's score).
    max_window : int, optional
        Largest window in bars (default: all bars).

    Returns
    -------
    pd.DataFrame
        One row per window, in the order of :func:`windowed_keys`: ``window``,
        ``first_bar``, ``last_bar``, ``key`` (``""`` where no chord is analysed),
        ``tonic_pc`` (-1 then), ``mode`` and ``share`` (of the window's analysed time
        in that key).
    """
    if chords.empty:
        raise ValueError("chords holds no analysed chords")
    if chords["riemenschneider"].nunique() > 1:
        raise ValueError(f"chords holds {chords['riemenschneider'].nunique()} chorales; give one")
    edges, n_bars, max_window = _bar_windows(bars, max_window)
    keys = list(dict.fromkeys(zip(chords["tonic_pc"], chords["mode"], strict=True)))
    key_index = {key: i for i, key in enumerate(keys)}
    starts = chords["offset"].to_numpy(float)[:, None]
    ends = starts + chords["duration"].to_numpy(float)[:, None]
    # analysed time of each chord inside each bar, summed per key: shape (n_bars, n_keys)
    overlap = np.clip(np.minimum(ends, edges[None, 1:]) - np.maximum(starts, edges[None, :-1]), 0, None)
    per_bar = np.zeros((n_bars, len(keys)))
    np.add.at(per_bar.T, [key_index[k] for k in zip(chords["tonic_pc"], chords["mode"], strict=True)], overlap)
    cumulative = np.vstack([np.zeros(len(keys)), np.cumsum(per_bar, axis=0)])
    rows = []
    for window in range(1, max_window + 1):
        for first in range(n_bars - window + 1):
            time = cumulative[first + window] - cumulative[first]
            row = {"window": window, "first_bar": first + 1, "last_bar": first + window,
                   "key": "", "tonic_pc": -1, "mode": "", "share": np.nan}
            if time.sum() > 1e-9:
                best = int(time.argmax())  # ties go to the key the analyst named first
                row.update(key=key_name(keys[best]), tonic_pc=int(keys[best][0]), mode=keys[best][1],
                           share=float(time[best] / time.sum()))
            rows.append(row)
    return pd.DataFrame(rows)
