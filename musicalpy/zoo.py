"""Every model kind of the series behind one interface: train, save, load, generate, score.

The zoo is what the ``musicalpy`` command and the notebooks share. It is a registry of
model **families** (:mod:`musicalpy.families`): each kind of :data:`KINDS` is one family
object with its settings (:func:`defaults`, full and smoke values written once), its
training, its model folder, its sampler and its scorer. Adding a kind is one module in
``musicalpy/families/`` and one :func:`register` line at the end of this module.

A trained model is a :class:`ZooModel`: the family's **fitted** objects, the **settings**
it was trained with and the **state** it learned besides (what sampling needs), three
separate things saved in three sections of a **model folder**'s ``card.json``:

==========================  ==================================================================
file                        holds
==========================  ==================================================================
``card.json``               kind, ``settings``, ``state``, ``fitted`` (which file holds what),
                            the data it was trained on, the validation score, how the kept
                            model was chosen (``selection``), training time (:data:`FORMAT`)
``voice_<i>.json``          ``unigram`` / ``markov``: one :class:`~musicalpy.markov.MarkovChain`
                            per voice (JSON)
``voice_<i>.npz``           ``hmm``: one :class:`~musicalpy.hmm.HMM` per voice (``.npz`` with
                            a JSON header)
``voice_<i>.vocab.json``    the per-voice :class:`~musicalpy.representations.Vocabulary`
``model.keras``             ``lstm`` / ``wavenet`` / ``vae``: the Keras model
``vocabulary.json``         ``lstm`` / ``wavenet``: the token vocabulary
==========================  ==================================================================

Nothing is pickled. Model folders trained by ``make run`` go under the repository's
``models/`` folder (:func:`models_dir`, git-ignored), one per kind: ``models/hmm``,
``models/lstm``, ...; :meth:`ZooModel.save` never replaces an existing folder unless
``force=True``. Folders of card version 1 (settings and learned state mixed) still load.

>>> corpus = training_corpus("bach")
>>> model = train("markov", corpus)                 # notebook 02's per-voice Markov chain
>>> model.save(models_dir() / "markov")
>>> notes = load(models_dir() / "markov").generate(n_notes=200, n_samples=4, seed=0)
>>> model.score(corpus.split("test").notes)         # bits per token and per note

Likelihoods follow :mod:`musicalpy.metrics`: whole held-out sequences, every token
counted once (the token networks also pay for END, once per line, which the Markov
models do not model); the VAE gives the negative ELBO, an upper bound.

Which model a notebook keeps is chosen on the validation split, never on test, by
:func:`musicalpy.leaderboard.choose_on_validation`: :func:`from_trained` takes its
``selection`` for the card and refuses one made on the test split, and
:func:`save_for_comparison` refuses such a card.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import shutil
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._config import check_int, project_root, smoke_mode
from .corpus import split_digest
from .families.base import Budget, Family, ModelError, Settings, empty_notes_with_beats
from .families.counting import HMMFamily, MarkovFamily, UnigramFamily
from .families.frames import (
    BernoulliFrameFamily,
    FrameHMMFamily,
    FrameLSTMFamily,
    FrameNADEFamily,
    FrameVAEFamily,
    FrameWaveNetFamily,
)
from .families.hmm_harmonizer import HarmonizerFamily
from .families.satb import (
    SatbCountsFamily,
    SatbLSTMFamily,
    SatbOrderlessFamily,
    SatbTransformerFamily,
    SatbTransformerJSBFamily,
    SatbWaveNetFamily,
)
from .families.token import LSTMFamily, WaveNetFamily
from .families.transformer import FrameTransformerFamily, TransformerFamily
from .families.vae import VAEFamily
from .midi import DEFAULT_TEMPO, as_note_table
from .names import VOICES

__all__ = [
    "FORMAT",
    "KINDS",
    "ModelError",
    "ZooModel",
    "register",
    "family",
    "kinds",
    "defaults",
    "models_dir",
    "training_corpus",
    "train",
    "from_trained",
    "save_for_comparison",
    "load_for_comparison",
    "split_digest",
    "representation_fingerprint",
    "load",
    "evaluate",
    "SEED_STRIDE",
]

#: The ``format`` field of ``card.json``.
FORMAT = "musicalpy.zoo"
#: Version 2 keeps settings, learned state and the fitted files in separate sections.
_VERSION = 2
_CARD = "card.json"
_FAMILIES: dict[str, Family] = {}
#: The model kinds, in the order the series introduces them (filled by :func:`register`).
KINDS: tuple[str, ...] = ()


# ---------------------------------------------------------------------- registry


def register(new: Family) -> Family:
    """Add a family to the zoo; its ``kind`` joins :data:`KINDS` (in registration order)."""
    global KINDS
    if not isinstance(new, Family):
        raise TypeError(f"register takes a Family instance, got {type(new).__name__}")
    if new.kind in _FAMILIES:
        raise ValueError(f"a family for the {new.kind!r} kind is registered already")
    _FAMILIES[new.kind] = new
    KINDS = tuple(_FAMILIES)
    return new


def family(kind: str) -> Family:
    """The registered family of a kind; a ValueError lists the known kinds."""
    try:
        return _FAMILIES[kind]
    except (KeyError, TypeError):
        raise ValueError(f"kind must be one of {', '.join(_FAMILIES)}; got {kind!r}") from None


def kinds(benchmark: str = "", *, harmonizes: bool | None = None) -> tuple[str, ...]:
    """The kinds of one benchmark, in registration order: ``""`` (the default) gives the
    kinds of the series' own corpora that notebook 07 compares, ``"jsb"`` the JSB
    Chorales frame kinds of notebook 08. An unknown benchmark raises a ValueError.
    ``harmonizes=True`` keeps the kinds whose models harmonize a melody
    (:meth:`ZooModel.harmonize`), ``False`` the others."""
    chosen = tuple(kind for kind, fam in _FAMILIES.items() if fam.benchmark == benchmark)
    if not chosen:
        known = sorted({fam.benchmark for fam in _FAMILIES.values()})
        raise ValueError(f"benchmark must be one of {known}; got {benchmark!r}")
    if harmonizes is not None:
        chosen = tuple(kind for kind in chosen if _FAMILIES[kind].harmonizes == bool(harmonizes))
    return chosen


def defaults(kind: str, *, smoke: bool | None = None) -> Settings:
    """The training settings of a kind: its notebook's full values, or smoke values.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    smoke : bool, optional
        Tiny settings for tests (default :func:`musicalpy.smoke_mode`).

    Returns
    -------
    settings : Settings
        A frozen dataclass of the kind (e.g. :class:`musicalpy.families.token.LSTMSettings`);
        ``.to_dict()`` gives the JSON form, ``.replace(field=value)`` a variant.
    """
    return family(kind).defaults(smoke_mode() if smoke is None else smoke)


def models_dir() -> Path:
    """Where trained model folders go: ``MUSICALPY_MODELS_DIR``, else ``models/`` of the
    checkout, else ``~/.cache/musicalpy/models``."""
    value = os.environ.get("MUSICALPY_MODELS_DIR")
    if value:
        return Path(value).expanduser()
    root = project_root()
    return root / "models" if root else Path.home() / ".cache" / "musicalpy" / "models"


def training_corpus(source: str | os.PathLike = "bach", *, limit: int | None = None):
    """Load a corpus as the models see it: the chorales' four voices, or every part.

    Returns
    -------
    musicalpy.corpus.Corpus
    """
    from .corpus import load_corpus

    corpus = load_corpus(source, limit=limit, progress=False)
    if str(source) == "bach":
        corpus = corpus.select_parts(list(VOICES))
    return corpus


# ------------------------------------------------------------------------ the model


@dataclass
class ZooModel:
    """A trained model of any kind, with its card.

    Attributes
    ----------
    kind : str
    settings : Settings
        The hyperparameters it was trained with (see :func:`defaults`).
    voices : list of str
        The parts the model writes.
    fitted : object
        The fitted objects, as the family defines them: ``{voice: (model, vocabulary)}``
        for the counting kinds, :class:`~musicalpy.families.token.TokenNetwork` for the
        token networks, the VAE itself for ``vae``.
    state : dict
        What training learned besides the fitted objects and sampling needs (e.g.
        ``beats_per_sampled_token``, ``openings``, ``notes_per_window``, ``epochs_run``).
    card : dict
        ``card.json``: kind, settings, state, data, validation score, selection, time.
    path : Path or None
        The folder it was loaded from or saved to.
    """

    kind: str
    settings: Settings
    voices: list[str]
    fitted: Any
    state: dict[str, Any] = field(default_factory=dict)
    card: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def __repr__(self) -> str:
        where = f", path={str(self.path)!r}" if self.path else ""
        return f"ZooModel(kind={self.kind!r}, voices={self.voices}{where})"

    @property
    def family(self) -> Family:
        """The family of this model's kind."""
        return family(self.kind)

    @property
    def representation(self) -> dict[str, str]:
        """What one token of this model is: ``fingerprint`` and ``description``
        (see :func:`representation_fingerprint`)."""
        return representation_fingerprint(self)

    @property
    def name(self) -> str:
        """The folder name, else the kind."""
        return self.path.name if self.path else self.kind

    # ---------------------------------------------------------------- save

    def save(self, path: str | os.PathLike | None = None, *, force: bool = False) -> Path:
        """Write the model folder (default ``models_dir() / kind``); return it.

        An existing folder is only replaced with ``force=True``; the new folder is
        written next to it first, so a failure leaves the old one intact.
        """
        path = Path(path) if path is not None else models_dir() / self.kind
        if path.exists() and not force:
            raise FileExistsError(f"{path} exists; choose another folder or pass force=True (--force) to replace it")
        if path.exists() and not path.is_dir():
            raise FileExistsError(f"{path} exists and is not a folder")
        staging = path.with_name(f".{path.name}.saving")
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        try:
            files = self.family.save(self, staging)
            card = {**self.card, "format": FORMAT, "version": _VERSION, "kind": self.kind, "voices": self.voices,
                    "settings": self.settings.to_dict(), "state": self.state, "fitted": files}
            (staging / _CARD).write_text(json.dumps(card, indent=2, default=_json_default) + "\n", encoding="utf-8")
            if path.exists():
                shutil.rmtree(path)
            staging.rename(path)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
        self.card, self.path = card, path
        return path

    # ---------------------------------------------------------------- generate

    def generate(
        self,
        *,
        n_notes: int | None = None,
        seconds: float | None = None,
        beats: float | None = None,
        n_samples: int = 1,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        primer: pd.DataFrame | None = None,
        seed: int = 0,
    ) -> pd.DataFrame:
        """Generate ``n_samples`` pieces (``"sample_0"``, ...) as one note table.

        Parameters
        ----------
        n_notes : int, optional
            Notes per piece, over all voices (a token model may end a piece earlier).
        seconds : float, optional
            Length of each piece instead, at the model's tempo; every voice of a sample
            ends at the same time (see :class:`~musicalpy.families.base.Budget`).
        beats : float, optional
            Length of each piece in beats (quarter notes), as ``seconds`` (exactly one
            of ``n_notes``, ``seconds`` and ``beats``).
        n_samples : int
        temperature : float
            Above 0; 1 samples the model as trained.
        top_k : int, optional
            Keep the k most likely tokens, for families that support it (the token networks).
        top_p : float, optional
            Nucleus sampling, for families that support it (the token networks).
        primer : pd.DataFrame, optional
            One piece to continue (kept at the start of every sample); its parts are
            matched to the model's voices by name, else in order. Families that cannot
            continue a primer (``hmm``, ``vae``) refuse one.
        seed : int

        Returns
        -------
        notes : pd.DataFrame
            A note table with beat columns.
        """
        fam = self.family
        tempo = self.settings.get("tempo", DEFAULT_TEMPO)
        if sum(x is not None for x in (n_notes, seconds, beats)) != 1:
            raise ValueError("give exactly one of n_notes, seconds and beats")
        if beats is not None:
            if not (isinstance(beats, (int, float)) and math.isfinite(beats) and beats > 0):
                raise ValueError(f"beats must be a number above 0, got {beats!r}")
            seconds = float(beats) * 60.0 / tempo
        if n_notes is not None:
            n_notes = check_int("n_notes", n_notes)
        if seconds is not None and not (isinstance(seconds, (int, float)) and 0 < seconds < 3600):
            raise ValueError(f"seconds must be a number between 0 and 3600, got {seconds!r}")
        n_samples = check_int("n_samples", n_samples)
        if not (isinstance(temperature, (int, float)) and temperature > 0 and math.isfinite(temperature)):
            raise ValueError(f"temperature must be a finite number above 0, got {temperature!r}")
        if top_k is not None:
            top_k = check_int("top_k", top_k)
            if not fam.supports_top_k:
                raise ValueError(f"top_k applies to the {_kinds_with('supports_top_k')} kinds, not to {self.kind!r}")
        if top_p is not None and not (0 < top_p <= 1):
            raise ValueError(f"top_p must be in (0, 1], got {top_p!r}")
        if top_p is not None and not fam.supports_top_p:
            raise ValueError(f"top_p applies to the {_kinds_with('supports_top_p')} kinds, not to {self.kind!r}")
        if primer is not None:
            if not fam.continues_primer:
                raise ValueError(f"the {self.kind} kind cannot continue a primer; leave out the primer")
            primer = as_note_table(primer)
            if primer.empty:
                raise ValueError("the primer has no notes")
        budget = Budget(n_notes, seconds, len(self.voices), tempo)
        notes = fam.generate(self, budget, n_samples, temperature=float(temperature), top_k=top_k, top_p=top_p,
                             primer=primer, seed=int(seed))
        return as_note_table(notes) if len(notes) else as_note_table(empty_notes_with_beats())

    # ---------------------------------------------------------------- harmonize

    def harmonize(self, melody: Any, *, seed: int = 0, sample: bool = False, temperature: float = 1.0) -> pd.DataFrame:
        """Alto, tenor and bass under a melody, the melody kept exactly as given.

        The melody is moved into the soprano's range the model was trained on (whole
        octaves first, see :func:`musicalpy.melody.fit_to_range`), harmonized by the
        family seeing all of it, and the four voices are moved back by the same amount;
        a printed line says when it was moved.

        Parameters
        ----------
        melody : Melody, str, path-like or pd.DataFrame
            A :class:`musicalpy.melody.Melody`, a MIDI or MusicXML file, an Essen tune
            of music21's corpus by name or title, or a one-line note table (see
            :func:`musicalpy.melody.load_melody`).
        seed : int
            For ``sample=True``.
        sample : bool
            Draw a harmonization instead of the most likely one.
        temperature : float
            Above 0; for ``sample=True``.

        Returns
        -------
        pd.DataFrame
            The four voices (``Soprano`` .. ``Bass``) of one piece with beat columns.

        Raises
        ------
        ModelError
            When the kind does not harmonize (see ``kinds(harmonizes=True)``).
        musicalpy.melody.MelodyError
            For an unreadable, empty or polyphonic melody.
        """
        return self.harmonize_many([melody], seed=seed, sample=sample, temperature=temperature)[0]

    def harmonize_many(self, melodies: Sequence[Any], *, seed: int = 0, sample: bool = False,
                       temperature: float = 1.0) -> list[pd.DataFrame]:
        """:meth:`harmonize` for many melodies at once; the frame-wise SATB kinds run them
        as one batch.

        A SATB network's harmonizations of a list cost about as much as its longest one
        alone (one batch, one row per melody), where one call per melody pays the
        network's pass again for each. With ``sample=False`` each result equals :meth:`harmonize` of
        that melody alone; with ``sample=True`` a batch draws its own samples (the same
        for the same list and ``seed``).

        Parameters
        ----------
        melodies : sequence
            Each anything :meth:`harmonize` takes.
        seed, sample, temperature
            As for :meth:`harmonize`.

        Returns
        -------
        list of pd.DataFrame
            One four-voice note table per melody, in order.
        """
        from .melody import fit_to_range, load_melody

        fam = self.family
        if not fam.harmonizes:
            fam.harmonize(self, None, seed=seed, sample=sample, temperature=temperature)  # raises, naming the kinds
        if not (isinstance(temperature, (int, float)) and temperature > 0 and math.isfinite(temperature)):
            raise ValueError(f"temperature must be a finite number above 0, got {temperature!r}")
        if isinstance(melodies, (str, os.PathLike, pd.DataFrame)):
            raise TypeError("melodies must be a list of melodies; for one melody use harmonize()")
        low, high = fam.soprano_range(self)
        given, fitted, moves = [], [], []
        for melody in melodies:
            one = load_melody(melody)
            moved = fit_to_range(one, low, high)
            move = moved.transposed_by - one.transposed_by
            if move:
                print(f"{one.name}: moved {move:+d} semitones into the soprano's range (MIDI {low}-{high}) to harmonize, "
                      f"and the four voices moved back by {-move:+d}", flush=True)
            given.append(one)
            fitted.append(moved)
            moves.append(move)
        results = fam.harmonize_many(self, fitted, seed=int(seed), sample=bool(sample), temperature=float(temperature))
        out = []
        for notes, one, move in zip(results, given, moves, strict=True):
            notes = notes.assign(pitch=notes["pitch"] - move)
            soprano = notes[notes["part"].astype(str) == VOICES[0]].sort_values("start_beat")
            if not (np.array_equal(soprano["pitch"].to_numpy(), one.notes["pitch"].to_numpy())
                    and np.allclose(soprano["start_beat"].to_numpy(), one.notes["start_beat"].to_numpy())):
                raise ModelError(f"the {self.kind} family changed the melody it harmonized (a bug in the family)")
            out.append(as_note_table(notes))
        return out

    # ---------------------------------------------------------------- score

    def score(self, notes: pd.DataFrame) -> dict[str, Any]:
        """Log-likelihood of held-out pieces, in bits per token and bits per note.

        Parameters
        ----------
        notes : pd.DataFrame
            Note table of the held-out pieces (e.g. ``corpus.split("test").notes``);
            parts the model does not write are left out.

        Returns
        -------
        scores : dict
            ``log_likelihood`` (nats), ``n_tokens``, ``n_notes``, ``bits_per_token``,
            ``bits_per_note``, ``representation`` and ``notes`` (caveats).
        """
        from .metrics import bits_per_note, bits_per_token

        table = as_note_table(notes)
        table = table[table["part"].astype(str).isin(self.voices) & ~table["is_drum"].astype(bool)]
        if table.empty:
            raise ValueError(f"no notes in the voices this model writes ({', '.join(self.voices)})")
        log_likelihood, n_tokens, representation, caveat = self.family.score(self, table)
        return {"log_likelihood": float(log_likelihood), "n_tokens": int(n_tokens), "n_notes": len(table),
                "bits_per_token": bits_per_token(log_likelihood, n_tokens), "bits_per_note": (bits_per_note(log_likelihood, len(table)) if self.family.prices_every_note else math.nan),
                "representation": representation, "notes": caveat}


def _kinds_with(flag: str) -> str:
    """The kinds with a capability, as "a, b and c"."""
    names = [kind for kind, fam in _FAMILIES.items() if getattr(fam, flag)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, np.ndarray)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to card.json")


# ---------------------------------------------------------------------- front ends


def train(
    kind: str,
    corpus: Any = "bach",
    *,
    epochs: int | None = None,
    settings: Settings | Mapping[str, Any] | None = None,
    limit: int | None = None,
    smoke: bool | None = None,
    progress: bool = True,
) -> ZooModel:
    """Train a model of one kind with its notebook's defaults and score it on validation.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    corpus : str, path-like or musicalpy.corpus.Corpus
        A corpus name or path (loaded by :func:`training_corpus`) or a loaded corpus.
    epochs : int, optional
        Training budget (Baum-Welch iterations for the HMM); the counting models have
        none and refuse one.
    settings : Settings or mapping, optional
        The settings (see :func:`defaults`), or a dict of overrides of the defaults.
    limit : int, optional
        Load at most this many pieces (when ``corpus`` is a name or path).
    smoke : bool, optional
        Smoke defaults (default :func:`musicalpy.smoke_mode`).
    progress : bool
        Print what is being trained and the training's own progress.

    Returns
    -------
    ZooModel
        Not saved yet (see :meth:`ZooModel.save`); ``card`` holds the data, the
        validation score, the selection and the training time.
    """
    fam = family(kind)
    smoke = smoke_mode() if smoke is None else smoke
    chosen = fam.settings_from(settings, smoke)
    if epochs is not None:
        if fam.training_budget(chosen) is None:
            raise ValueError(f"the {kind} kind counts tokens and has no epochs; leave out epochs")
        chosen = chosen.replace(epochs=check_int("epochs", epochs))
    corpus, source = _corpus_and_source(corpus, limit)
    if progress:
        print(f"training {kind} on {corpus}", flush=True)
    started = time.perf_counter()
    trained = fam.train(corpus, chosen, progress)
    seconds = time.perf_counter() - started
    model = ZooModel(kind, chosen, trained.voices, trained.fitted, trained.state)
    _finish(model, corpus, source=source, limit=limit, seconds=seconds, smoke=smoke, selection=fam.selection(chosen))
    if progress:
        score = model.card["validation"]
        if not score:
            shown = "no validation split"
        elif math.isnan(score["bits_per_note"]):  # a kind that does not price every note
            shown = f"{score['bits_per_token']:.3f} validation bits per token ({score['representation']})"
        else:
            shown = f"{score['bits_per_note']:.3f} validation bits per note"
        print(f"trained {kind} in {seconds:.1f} s; {shown}", flush=True)
    return model


def _corpus_and_source(corpus: Any, limit: int | None):
    """A loaded corpus with a training split, and the name the card records."""
    if isinstance(corpus, (str, os.PathLike)):
        source = str(corpus)
        corpus = training_corpus(corpus, limit=limit)
    else:
        source = str(getattr(corpus, "name", "corpus"))
    if len(corpus.split("train")) == 0:
        raise ValueError("the corpus has no piece in its training split")
    return corpus, source


def _finish(model: ZooModel, corpus, *, source: str, limit: int | None, seconds: float, smoke: bool,
            selection: Mapping[str, Any], trained_by: str | None = None) -> None:
    """Score the validation split and write the card."""
    validation = corpus.split("validation").notes
    score = model.score(validation) if len(validation) else {}
    counts = corpus.pieces["split"].value_counts()
    model.card = {
        "kind": model.kind,
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "data": {"corpus": source, "limit": limit, "voices": model.voices,
                 "pieces": {s: int(counts.get(s, 0)) for s in ("train", "validation", "test")},
                 "split_digest": split_digest(corpus), "train_notes": len(corpus.split("train").notes)},
        "validation": {k: score[k] for k in ("bits_per_token", "bits_per_note", "n_tokens", "n_notes", "representation", "notes")
                       if k in score},
        "selection": dict(selection),
        "representation": representation_fingerprint(model),
        "training_time_s": round(float(seconds), 2),
        "smoke": bool(smoke),
    }
    if trained_by:
        model.card["trained_by"] = trained_by


def representation_fingerprint(model: ZooModel) -> dict[str, str]:
    """A short stable hash of what one token of ``model`` is, and its description.

    The family says what defines its tokens (:meth:`Family.representation`: the
    encoding, its options such as duration and velocity classes, and the vocabulary);
    the fingerprint is the first 12 hex digits of the SHA-256 of that, written as JSON
    with sorted keys, so it is the same on every machine and run. Bits per token are
    comparable only between models with equal fingerprints
    (:func:`musicalpy.leaderboard.bits_comparison`).

    Parameters
    ----------
    model : ZooModel

    Returns
    -------
    dict
        ``fingerprint`` (12 hex digits) and ``description`` (the encoding and its
        options in words, the vocabulary by size).
    """
    spec = model.family.representation(model)
    if "encoding" not in spec:
        raise ValueError(f"the {model.kind} family's representation() must name its encoding")
    text = json.dumps(spec, sort_keys=True, default=_json_default, separators=(",", ":"))
    words = [str(spec["encoding"])]
    for key, value in spec.items():
        if key == "encoding":
            continue
        if key == "vocabulary":
            sizes = [len(v) for v in value.values()] if isinstance(value, Mapping) else [len(value)]
            words.append("vocabulary of " + "/".join(map(str, sizes)) + " tokens")
        elif key == "settings":
            words.append("settings " + json.dumps(value, sort_keys=True, default=_json_default))
        elif isinstance(value, (list, tuple)):
            words.append(f"{key.replace('_', ' ')} " + ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value))
        else:
            words.append(f"{key.replace('_', ' ')} {value}")
    return {"fingerprint": hashlib.sha256(text.encode()).hexdigest()[:12], "description": "; ".join(words)}


def _check_selection(selection: Any, where: str) -> dict[str, Any]:
    """A selection record for the card: ``split`` must be validation (never test)."""
    from .leaderboard import check_selection

    return check_selection(selection, where)


def _comparison_folder(name: str, smoke: bool) -> Path:
    from ._config import output_dir

    return (output_dir() / "models" if smoke else models_dir()) / name


def save_for_comparison(model: ZooModel, *, name: str | None = None, smoke: bool | None = None) -> Path:
    """Save a notebook's model where the comparison notebook looks for it, replacing an
    older one.

    Full runs write ``models_dir() / name`` (default: the kind; what ``make run`` fills
    and :func:`load_for_comparison` reads); smoke runs write under
    :func:`musicalpy.output_dir` instead, so a quick test never replaces a fully trained
    model. Pass another ``name`` for a model of other data (notebook 03 on MAESTRO
    writes ``lstm_maestro``) so it does not replace the chorale model either.

    Raises
    ------
    ValueError
        When the card says the model was chosen on the test split. A card without a
        selection record (a notebook that keeps its only model) is saved with a warning.
    """
    selection = model.card.get("selection")
    if selection is None:
        warnings.warn(f"the {model.kind} model's card does not say how it was chosen; pass selection= to "
                      "from_trained", UserWarning, stacklevel=2)
    else:
        _check_selection(selection, f"save_for_comparison({model.kind})")
    smoke = smoke_mode() if smoke is None else smoke
    return model.save(_comparison_folder(name or model.kind, smoke), force=True)


def load_for_comparison(kind: str, corpus: Any, *, name: str | None = None,
                        smoke: bool | None = None) -> tuple[ZooModel | None, str]:
    """The partner of :func:`save_for_comparison`: the saved model of a kind, when it was
    trained on the splits of ``corpus``.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    corpus : musicalpy.corpus.Corpus
        The corpus the comparison scores on; the folder's card must carry its
        :func:`split_digest` (so the model never saw its test split).
    name : str, optional
        The folder name (default: the kind).
    smoke : bool, optional
        Where to look and which cards to accept: smoke runs read smoke models under
        :func:`musicalpy.output_dir`, full runs full models under :func:`models_dir`.

    Returns
    -------
    model : ZooModel or None
        None when there is no usable model; then ``reason`` says why.
    reason : str
        ``"loaded from <folder>"``, or why the folder was not used.
    """
    family(kind)
    smoke = smoke_mode() if smoke is None else smoke
    folder = _comparison_folder(name or kind, smoke)
    if not (folder / _CARD).exists():
        return None, f"{folder}: no saved model"
    try:
        model = load(folder)
    except ModelError as exc:
        return None, str(exc)
    card = model.card
    if model.kind != kind:
        return None, f"{folder}: holds a {model.kind} model, not {kind}"
    if bool(card.get("smoke")) != smoke:
        return None, f"{folder}: trained with {'smoke' if card.get('smoke') else 'full'} settings"
    if card.get("data", {}).get("split_digest") != split_digest(corpus):
        return None, f"{folder}: trained on other pieces or splits than this corpus"
    selection = card.get("selection")
    if isinstance(selection, Mapping) and selection.get("split") == "test":
        return None, f"{folder}: chosen on the test split"
    return model, f"loaded from {folder}"


def from_trained(
    kind: str,
    fitted: Any,
    corpus: Any = "bach",
    *,
    vocabulary: Any = None,
    settings: Settings | Mapping[str, Any] | None = None,
    selection: Any = None,
    training_time_s: float = math.nan,
    trained_by: str | None = None,
    limit: int | None = None,
    smoke: bool | None = None,
) -> ZooModel:
    """Wrap a model a notebook trained itself into a :class:`ZooModel`, without training.

    This is how notebooks 02-05 hand their models to the comparison notebook (and to
    ``musicalpy generate``): each saves its own trained model with
    ``save_for_comparison(from_trained(...))``, so ``make run`` never trains a model twice.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    fitted
        What the family fits (``family(kind).fitted_description``): for ``unigram`` /
        ``markov`` / ``hmm`` ``{voice: (model, vocabulary)}``; for ``lstm`` / ``wavenet``
        the Keras token model (pass its ``vocabulary``); for ``vae`` the trained VAE.
    corpus : str, path-like or musicalpy.corpus.Corpus
        The corpus it was trained on, with the same splits: the card records it, the
        validation split is scored and the training split gives what sampling needs.
    vocabulary : musicalpy.representations.Vocabulary, optional
        The token vocabulary (``lstm`` and ``wavenet`` only; required there).
    settings : Settings or mapping, optional
        The settings object the model was trained with (e.g. ``zoo.defaults("lstm")``
        or a ``.replace(...)`` of it), or a dict of the keys that differ from
        :func:`defaults`; unknown keys raise.
    selection : Selection or mapping, optional
        How the notebook chose this model among its candidates: the
        :class:`~musicalpy.leaderboard.Selection` of
        :func:`~musicalpy.leaderboard.choose_on_validation`, or its record ``{"split":
        "validation", "metric": ..., "candidates": {name: value}}``. A selection on
        the test split raises. Default: one candidate, nothing chosen.
    training_time_s : float, optional
        Seconds the training took, for the leaderboard.
    trained_by : str, optional
        Recorded in the card, e.g. ``"notebooks/03_lstm.ipynb"``.

    Returns
    -------
    ZooModel
        Not saved yet; its card holds the validation score and the selection.
    """
    fam = family(kind)
    smoke = smoke_mode() if smoke is None else smoke
    chosen = fam.settings_from(settings, smoke)
    chosen_how = (_check_selection(selection, f"from_trained({kind})") if selection is not None else
                  {"split": "validation", "metric": "none: one candidate", "candidates": []})
    corpus, source = _corpus_and_source(corpus, limit)
    trained = fam.wrap(fitted, vocabulary, corpus, chosen)
    model = ZooModel(kind, chosen, trained.voices, trained.fitted, trained.state)
    _finish(model, corpus, source=source, limit=limit, seconds=training_time_s, smoke=smoke, selection=chosen_how,
            trained_by=trained_by)
    return model


def load(path: str | os.PathLike) -> ZooModel:
    """Read a model folder written by :meth:`ZooModel.save` (card version 1 or 2).

    Raises
    ------
    ModelError
        When the folder does not exist, has no (readable) ``card.json``, or its files
        are missing or corrupt; the message names the folder and the cause.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise ModelError(f"{folder}: no such model folder")
    card_path = folder / _CARD
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{folder}: not a model folder (no {_CARD})") from None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{card_path}: unreadable ({exc})") from None
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        raise ModelError(f"{card_path}: not a MusicalPy model card (format field missing or wrong)")
    kind = card.get("kind")
    if kind not in _FAMILIES:
        raise ModelError(f"{card_path}: unknown model kind {kind!r}")
    fam = _FAMILIES[kind]
    version = card.get("version", 1)
    if version not in (1, _VERSION):
        raise ModelError(f"{card_path}: card version {version!r} is newer than this musicalpy reads ({_VERSION}); "
                         "upgrade musicalpy")
    settings, state = dict(card.get("settings") or {}), dict(card.get("state") or {})
    if version == 1:
        settings, state = fam.upgrade_v1(settings)
    voices = list(card.get("voices") or [])
    try:
        chosen = fam.settings_from(settings, bool(card.get("smoke")))
        fitted = fam.load(folder, {**card, "voices": voices})
    except ModelError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{folder}: cannot load the {kind} model ({exc})") from None
    return ZooModel(kind, chosen, voices, fitted, state, card, folder)


#: Distance between the seeds of two sets of samples in :func:`evaluate`. The families
#: derive one seed per sample (and voice) from the one they are given, e.g. ``seed +
#: sample`` or ``seed + 1000 * sample + voice``; seeds this far apart never share a draw.
SEED_STRIDE = 100_000


def _matched_lengths(reference: pd.DataFrame, n_samples: int) -> np.ndarray:
    """Beats of ``n_samples`` test pieces spread evenly over their sorted lengths.

    Sample ``k`` gets the length of the piece at rank ``floor((k + 1/2) n / n_samples)``,
    so the lengths of the generated set follow those of the test set: every piece once
    when the counts are equal, an even subset when there are fewer samples.
    """
    if "end_beat" in reference.columns and reference["end_beat"].notna().all():
        ends = reference.groupby("piece")["end_beat"].max()
    else:  # no beats: seconds at the default tempo, as the metrics read such tables
        ends = reference.groupby("piece")["end"].max() * DEFAULT_TEMPO / 60.0
    lengths = np.sort(ends.to_numpy(dtype=float))
    ranks = np.floor((np.arange(n_samples) + 0.5) * len(lengths) / n_samples).astype(int)
    return lengths[ranks]


def evaluate(
    model: ZooModel,
    reference: pd.DataFrame,
    *,
    n_samples: int = 8,
    n_notes: int | None = None,
    temperature: float = 1.0,
    seed: int = 0,
    n_seeds: int = 3,
    features: Sequence[str] | None = None,
    all_draws: bool = False,
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame | list[pd.DataFrame]]:
    """Score a model on held-out pieces and compare its samples with them, over seeds.

    Each generated piece is as long, in beats, as a test piece (the lengths of
    ``n_samples`` test pieces spread over the sorted lengths), and all of its voices end
    together, so the comparison is not decided by the generation budget. The samples
    are drawn ``n_seeds`` times (seeds ``seed + SEED_STRIDE * i``); each set is compared
    with ``reference`` and the comparison reports every feature as mean ± sd over the
    sets. A model whose samples have one part while ``reference`` has several (the VAE's
    piano roll) gets NaN on :data:`musicalpy.metrics.VOICE_FEATURES`, flagged "not
    applicable", instead of a score.

    Parameters
    ----------
    model : ZooModel
    reference : pd.DataFrame
        The held-out note table (e.g. the test split); parts the model does not write
        are left out.
    n_samples : int
        Generated pieces per seed.
    n_notes : int, optional
        Give every piece this many notes instead of a test piece's length (the budget
        then decides the count and length features; kept for old callers).
    temperature : float
    seed : int
        The first sampling seed.
    n_seeds : int
        Sets of samples (1 gives a plain :func:`musicalpy.metrics.compare_sets`
        result, with no spread).
    features : sequence of str, optional
        For :func:`musicalpy.metrics.compare_sets` (default all).
    all_draws : bool
        Return every seed's samples, not only the first set's (the Bach-or-model test of
        :func:`musicalpy.leaderboard.bach_or_model` takes each draw as one fold).

    Returns
    -------
    row : dict
        Keyword arguments for :meth:`musicalpy.leaderboard.Leaderboard.add` (without the
        comparison): the bits, the representation and its fingerprint, training time,
        generation speed (notes per second of the first set, after a warm-up call that
        compiles the sampler), the budget.
    comparison : pd.DataFrame
        :func:`musicalpy.metrics.seed_spread` of the sets' comparisons (``oa``, ``oa_sd``,
        ...), or the one :func:`musicalpy.metrics.compare_sets` result when ``n_seeds`` is 1.
    samples : pd.DataFrame or list of pd.DataFrame
        The first set's generated note table, or with ``all_draws`` every set's, the first
        set first.
    """
    from .leaderboard import voice_leading_columns
    from .metrics import VOICE_FEATURES, compare_sets, mark_not_applicable, seed_spread

    n_samples = check_int("n_samples", n_samples)
    n_seeds = check_int("n_seeds", n_seeds)
    if n_notes is not None:
        n_notes = check_int("n_notes", n_notes)
    scores = model.score(reference)
    reference = reference[reference["part"].astype(str).isin(model.voices)]
    lengths = _matched_lengths(reference, n_samples)
    budget = {"n_notes": n_notes} if n_notes is not None else {"beats": float(lengths.max())}
    tempo = model.settings.get("tempo", DEFAULT_TEMPO)
    # One tiny call first compiles the sampler for this batch, so the speed below is
    # the steady generation speed (as in benchmarks/generation_speed.py), not tracing.
    model.generate(n_notes=1, n_samples=n_samples, temperature=temperature, seed=seed)
    comparisons, draws, seconds = [], [], math.nan
    for index in range(n_seeds):
        started = time.perf_counter()
        samples = model.generate(**budget, n_samples=n_samples, temperature=temperature, seed=seed + SEED_STRIDE * index)
        if n_notes is None:
            # Generated at the longest length, each sample is cut to its own test piece's
            # length; Budget.trim ends all of its voices together.
            pieces = samples["piece"].astype(str)
            samples = pd.concat(
                [Budget(None, float(beats) * 60.0 / tempo, len(model.voices), tempo).trim(samples[pieces == f"sample_{k}"])
                 for k, beats in enumerate(lengths)], ignore_index=True)
        if index == 0:
            seconds = time.perf_counter() - started
        draws.append(samples)
        comparison = compare_sets(samples, reference, features=features)
        if samples.groupby("piece")["part"].nunique().max() == 1 < reference["part"].nunique():
            comparison = mark_not_applicable(comparison, VOICE_FEATURES, "the samples have one part, no voice lines")
        comparisons.append(comparison)
    comparison = seed_spread(comparisons) if n_seeds > 1 else comparisons[0]
    first = draws[0]
    fingerprint = representation_fingerprint(model)
    row = {
        "model": model.name,
        "representation": scores["representation"],
        "representation_fingerprint": fingerprint["fingerprint"],
        "split": "test",
        "bits_per_token": scores["bits_per_token"],
        "bits_per_note": scores["bits_per_note"],
        "training_time_s": float(model.card.get("training_time_s", math.nan)),
        "notes": scores["notes"],
        "kind": model.kind,
        "generation_notes_per_s": len(first) / seconds if seconds > 0 else math.nan,
        "n_generated_notes": len(first),
        "budget": f"{n_notes} notes" if n_notes is not None else "the beats of a test piece",
    }
    # Voice leading of the first seed's samples (NaN for a one-part model: not applicable).
    row.update(voice_leading_columns(first, reference))
    return row, comparison, draws if all_draws else first


# ---------------------------------------------------------------------- the kinds
# One line per kind, in the order the series introduces them.
register(UnigramFamily())
register(MarkovFamily())
register(HMMFamily())
register(LSTMFamily())
register(WaveNetFamily())
register(VAEFamily())
register(TransformerFamily())
register(HarmonizerFamily())
register(BernoulliFrameFamily())
register(FrameHMMFamily())
register(FrameLSTMFamily())
register(FrameNADEFamily())
register(FrameWaveNetFamily())
register(FrameVAEFamily())
register(FrameTransformerFamily())
register(SatbCountsFamily())
register(SatbLSTMFamily())
register(SatbWaveNetFamily())
register(SatbTransformerFamily())
register(SatbOrderlessFamily())
register(SatbTransformerJSBFamily())
