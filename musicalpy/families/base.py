"""The interface every model family implements, and what the families share.

A *family* is one model kind of the series (``markov``, ``lstm``, ...): it knows its
settings (:class:`Settings`, full and smoke values written once), how to train on a
corpus, how to write and read its fitted objects in a model folder, how to generate and
how to score held-out notes. :mod:`musicalpy.zoo` keeps a registry of families and
wraps their results in :class:`musicalpy.zoo.ZooModel`; nothing outside a family tests
which kind it is.

A family never sees a ``ZooModel`` it has to build itself: :meth:`Family.train` and
:meth:`Family.wrap` return a :class:`Trained` (fitted objects, voices, learned state),
and the other methods read the ``ZooModel`` the zoo made from it.
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np
import pandas as pd

from .._config import MusicalPyError
from ..settings import Settings

__all__ = ["Budget", "Family", "ModelError", "Settings", "Trained", "primer_parts", "concat_notes",
           "empty_notes_with_beats", "voices_of", "keep_melody"]


class ModelError(MusicalPyError, ValueError):
    """A model folder that cannot be used: missing, not a model, wrong kind, corrupt."""


# ------------------------------------------------------------------------ family


class Trained(NamedTuple):
    """What training (or wrapping a notebook's model) gives a family.

    Attributes
    ----------
    fitted : object
        The family's fitted objects (see each family's ``fitted`` description).
    voices : list of str
        The parts the model writes.
    state : dict
        Learned values that sampling needs besides the fitted objects (JSON-ready).
    """

    fitted: Any
    voices: list[str]
    state: dict[str, Any]


class Family(ABC):
    """One model kind: settings, training, model folder, generation and scoring.

    Subclasses set the class attributes and implement the abstract methods. Capability
    flags let the zoo check a request before any work, without asking for the kind.
    """

    #: The kind name, the key of the registry and ``card["kind"]``.
    kind: ClassVar[str]
    #: The settings dataclass (a :class:`Settings` subclass).
    settings_class: ClassVar[type[Settings]]
    #: What ``ZooModel.fitted`` holds for this family, for error messages and docs.
    fitted_description: ClassVar[str]
    #: Generation can continue a primer piece.
    continues_primer: ClassVar[bool] = False
    #: Generation takes ``top_k`` / ``top_p``.
    supports_top_k: ClassVar[bool] = False
    supports_top_p: ClassVar[bool] = False
    #: One fitted model per voice (else one model for the whole texture).
    per_voice: ClassVar[bool] = False
    #: The benchmark whose data the kind models: ``""`` for the series' own corpora
    #: (music21's chorales), ``"jsb"`` for the JSB Chorales frames. Kinds of different
    #: benchmarks are never compared with each other.
    benchmark: ClassVar[str] = ""
    #: :meth:`score` prices every held-out note, so its log-likelihood over the number of
    #: notes is a bits-per-note figure comparable across kinds. A kind that models only
    #: part of the music (one chord per beat, say) sets this False: its bits per note
    #: are then NaN, and its bits per token keep its own unit.
    prices_every_note: ClassVar[bool] = True
    #: :meth:`harmonize` writes alto, tenor and bass under a given soprano.
    harmonizes: ClassVar[bool] = False
    #: Version-1 cards kept learned state inside ``settings``: old key -> state key.
    legacy_state_keys: ClassVar[Mapping[str, str]] = {}
    #: Settings a version-1 card lacks, with the value those models were trained with.
    legacy_settings: ClassVar[Mapping[str, Any]] = {}

    def defaults(self, smoke: bool = False) -> Settings:
        """The kind's settings: full-run values, or smoke values."""
        return self.settings_class.defaults(smoke)

    def settings_from(self, values: Settings | Mapping[str, Any] | None, smoke: bool = False) -> Settings:
        """A settings object from a settings object, a (partial) dict or nothing."""
        if isinstance(values, Settings):
            if not isinstance(values, self.settings_class):
                raise ValueError(f"settings for the {self.kind} kind must be {self.settings_class.__name__}, "
                                 f"got {type(values).__name__}")
            return values
        if values is not None and not isinstance(values, Mapping):
            raise ValueError(f"settings must be a {self.settings_class.__name__} or a mapping, got {type(values).__name__}")
        return self.settings_class.from_dict(values, smoke=smoke)

    @abstractmethod
    def train(self, corpus: Any, settings: Settings, progress: bool) -> Trained:
        """Fit on ``corpus.split("train")`` (the validation split may steer training)."""

    @abstractmethod
    def wrap(self, fitted: Any, vocabulary: Any, corpus: Any, settings: Settings) -> Trained:
        """Check a model a notebook trained itself and derive the learned state from the
        training split of ``corpus``; raise a ValueError naming ``fitted`` when unusable."""

    @abstractmethod
    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        """Write the fitted objects into ``folder``; return the card's ``fitted`` section
        (which file holds what)."""

    @abstractmethod
    def load(self, folder: Path, card: Mapping[str, Any]) -> Any:
        """Read the fitted objects back (``card`` as written, upgraded to this version)."""

    @abstractmethod
    def generate(self, model: Any, budget: Budget, n_samples: int, *, temperature: float, top_k: int | None,
                 top_p: float | None, primer: pd.DataFrame | None, seed: int) -> pd.DataFrame:
        """``n_samples`` pieces ``sample_0``, ... as one note table with beat columns."""

    @abstractmethod
    def score(self, model: Any, notes: pd.DataFrame) -> tuple[float, int, str, str]:
        """``(log-likelihood in nats, tokens, representation, caveat)`` of held-out notes
        (already restricted to the model's voices)."""

    def harmonize(self, model: Any, melody: Any, *, seed: int, sample: bool, temperature: float) -> pd.DataFrame:
        """Alto, tenor and bass under ``melody`` (a :class:`musicalpy.melody.Melody`
        already in the soprano's range), seeing the whole melody, its future included.

        Returns the four-voice note table of one piece (``piece`` = ``melody.name``,
        ``part`` in Soprano/Alto/Tenor/Bass, ``pitch``, ``start``, ``end`` in seconds,
        ``start_beat``, ``end_beat``, ``velocity``, ``program``, ``is_drum``) whose
        Soprano rows are the melody's notes exactly. ``sample=False`` gives the model's
        most likely harmonization where the family can decode it (else its greedy one),
        ``sample=True`` a random one drawn with ``seed`` and ``temperature``.
        """
        raise ModelError(f"the {self.kind} kind does not harmonize a melody; kinds that do: "
                         "see musicalpy.zoo.kinds(harmonizes=True)")

    def harmonize_many(self, model: Any, melodies: Sequence[Any], *, seed: int, sample: bool,
                       temperature: float) -> list[pd.DataFrame]:
        """:meth:`harmonize` for each melody, in order; a family that can batch them
        (the frame-wise SATB kinds, one batch through the network) overrides it."""
        return [self.harmonize(model, melody, seed=seed, sample=sample, temperature=temperature) for melody in melodies]

    def soprano_range(self, model: Any) -> tuple[int, int]:
        """The lowest and highest MIDI pitch of the soprano the model was trained on:
        :meth:`musicalpy.zoo.ZooModel.harmonize` moves a melody into it first. The
        default reads ``model.state["soprano_range"]``, else the chorales' C4-A5."""
        low, high = model.state.get("soprano_range", (60, 81))
        return int(low), int(high)

    def representation(self, model: Any) -> dict[str, Any]:
        """What one token of this model is: ``encoding``, its options and vocabulary.

        JSON-ready; :func:`musicalpy.zoo.representation_fingerprint` hashes it, and two
        models are compared in bits per token only when the hashes are equal. This
        default is the strictest: the kind and every setting, so two models share
        tokens only when they are of one kind with one configuration. A family whose
        tokens depend on less (the counting kinds share theirs) says so by overriding it.
        """
        return {"encoding": self.kind, "settings": model.settings.to_dict()}

    def training_budget(self, settings: Settings) -> int | None:
        """The ``epochs`` setting, or None for a family that only counts."""
        return getattr(settings, "epochs", None)

    def selection(self, settings: Settings) -> dict[str, Any]:
        """How :func:`musicalpy.zoo.train` chose the model it keeps (for the card)."""
        return {"split": "validation", "metric": "none: one candidate, the family defaults", "candidates": []}

    def upgrade_v1(self, settings: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Split a version-1 ``settings`` dict into settings and learned state."""
        settings = dict(settings)
        state = {new: settings.pop(old) for old, new in self.legacy_state_keys.items() if old in settings}
        for key, value in self.legacy_settings.items():
            settings.setdefault(key, value)
        # Version 1 also wrote placeholders such as ``epochs: null`` for the counting
        # kinds; a key that is neither state nor a setting carried no information.
        known = {f.name for f in dataclasses.fields(self.settings_class)}
        return {k: v for k, v in settings.items() if k in known}, state


# ----------------------------------------------------------------- shared helpers


@dataclasses.dataclass
class Budget:
    """How much each voice of a sample must hold: ``n_notes`` over all voices, or
    ``seconds`` at ``tempo``.

    With a time budget every voice of a sample ends at the same time: at the budget,
    or, when some voice of the sample stopped earlier (a token model drew END), at the
    end of that voice, so no voice runs on alone (see :meth:`trim`). ``zoo.evaluate``
    asks for time budgets, so a sample is as long as the test piece it is compared with.
    """

    n_notes: int | None
    seconds: float | None
    n_voices: int
    tempo: float

    @property
    def notes_per_voice(self) -> int | None:
        return None if self.n_notes is None else max(1, math.ceil(self.n_notes / max(self.n_voices, 1)))

    @property
    def beats(self) -> float | None:
        return None if self.seconds is None else self.seconds * self.tempo / 60.0

    def tokens(self, beats_per_token: float) -> int:
        """Tokens to sample for one voice (rests and long notes included)."""
        if self.n_notes is not None:
            return 2 * self.notes_per_voice + 16
        return int(math.ceil(1.5 * self.beats / max(beats_per_token, 1e-3))) + 16

    def trim(self, notes: pd.DataFrame, per_voice: bool = True,
             primer: pd.DataFrame | Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
        """Cut samples to the budget: each line (a sample's voice), or each whole
        sample with ``per_voice=False``, on its own.

        Parameters
        ----------
        notes : pd.DataFrame
            Any number of samples (``piece``) and voices (``part``).
        per_voice : bool
            The budget is per voice (else per sample, over its whole texture).
        primer : pd.DataFrame or mapping of part to pd.DataFrame, optional
            What the samples continue (each voice's own part, when a mapping): its
            notes are kept on top of the budget, which counts from its end.

        Returns
        -------
        pd.DataFrame
            The kept notes, lines in their order in ``notes``, each by start and pitch.
        """
        if notes.empty:
            return notes
        keys = ["part", "piece"] if per_voice else ["piece"]
        line = notes.groupby(keys, sort=False).ngroup().to_numpy()  # in order of first appearance
        notes = notes.reset_index(drop=True).assign(_line=line).sort_values(["start", "pitch"], kind="stable")
        parts = notes["part"].astype(str)
        primers = {part: primer.get(part) if isinstance(primer, Mapping) else primer for part in parts.unique()}
        primed = {part: p for part, p in primers.items() if p is not None and not p.empty}
        if self.n_notes is not None:
            extra = parts.map({part: len(primed[part]) if part in primed else 0 for part in primers}).to_numpy()
            keep = notes.groupby("_line", sort=False).cumcount().to_numpy() < (
                (self.notes_per_voice if per_voice else self.n_notes) + extra)
            kept = notes[keep]
        else:
            ends = {part: float(primed[part]["end"].max()) if part in primed else 0.0 for part in primers}
            limit = self.seconds + parts.map(ends)
            # The common end: the budget, or an earlier end of any voice of the sample.
            line_end = notes.groupby("_line")["end"].transform("max")
            sample_end = line_end.groupby(notes["piece"]).transform("min")
            limit = np.minimum(limit, sample_end)
            if primed:
                # A primed voice's own notes are kept whole; the common end only cuts what follows.
                limit = np.maximum(limit, parts.map(ends))
            kept = notes[notes["start"] < limit - 1e-9].copy()
            limit = limit[kept.index]
            late = kept["end"] > limit
            if late.any():
                scale = (limit[late] - kept.loc[late, "start"]) / (kept.loc[late, "end"] - kept.loc[late, "start"])
                if "end_beat" in kept.columns:
                    kept.loc[late, "end_beat"] = kept.loc[late, "start_beat"] + scale * (kept.loc[late, "end_beat"] - kept.loc[late, "start_beat"])
                kept.loc[late, "end"] = limit[late]
        order = np.argsort(kept["_line"].to_numpy(), kind="stable")
        return kept.iloc[order].drop(columns="_line")


def primer_parts(primer: pd.DataFrame | None, voices: Sequence[str]) -> dict[str, pd.DataFrame]:
    """The primer's part for each voice: by name, else in order."""
    if primer is None:
        return {}
    parts = list(dict.fromkeys(primer["part"].astype(str)))
    by_name = {v: v for v in voices if v in parts}
    rest = [p for p in parts if p not in by_name.values()]
    for voice in voices:
        if voice not in by_name and rest:
            by_name[voice] = rest.pop(0)
    return {voice: primer[primer["part"].astype(str) == part].assign(part=voice).assign(piece="primer")
            for voice, part in by_name.items()}


def voices_of(notes: pd.DataFrame, max_voices: int = 4) -> list[str]:
    """The chorale voices when present, else the parts with the most notes."""
    from ..names import VOICES

    parts = notes.loc[~notes["is_drum"].astype(bool), "part"].astype(str)
    if set(VOICES) <= set(parts):
        return list(VOICES)
    return parts.value_counts().index[:max_voices].tolist()


def empty_notes_with_beats() -> pd.DataFrame:
    """An empty note table with beat columns (a generation that produced nothing)."""
    from ..midi import empty_notes

    return empty_notes(with_beats=True)


def concat_notes(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """One note table from several (an empty one when there are none)."""
    return pd.concat(tables, ignore_index=True) if tables else empty_notes_with_beats()


def keep_melody(notes: pd.DataFrame, soprano: pd.DataFrame, name: str, tempo: float) -> pd.DataFrame:
    """A harmonization's decoded voices with the soprano replaced by the melody itself,
    note for note (a sixteenth grid only rounds what it cannot hold).

    Parameters
    ----------
    notes : pd.DataFrame
        The decoded four voices.
    soprano : pd.DataFrame
        The melody: ``pitch``, ``start_beat``, ``end_beat`` and ``fermata`` per note.
    name : str
        The piece name of the melody's notes.
    tempo : float
        Quarter notes per minute, for the melody's seconds.
    """
    from ..names import VOICES

    seconds = 60.0 / tempo
    exact = pd.concat([notes[notes["part"] == VOICES[0]].iloc[:0], pd.DataFrame({
        "piece": name, "part": VOICES[0], "program": 0, "is_drum": False,
        "pitch": soprano["pitch"], "start": soprano["start_beat"] * seconds, "end": soprano["end_beat"] * seconds,
        "velocity": int(notes["velocity"].iloc[0]) if len(notes) else 80,
        "start_beat": soprano["start_beat"], "end_beat": soprano["end_beat"], "fermata": soprano["fermata"]})],
        ignore_index=True)
    return pd.concat([exact, notes[notes["part"] != VOICES[0]]], ignore_index=True)
