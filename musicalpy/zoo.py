"""Every model kind of the series behind one interface: train, save, load, generate, score.

The zoo is what the ``musicalpy`` command and notebook 06 share. A *kind* is one of
:data:`KINDS`; each trains with its notebook's defaults (:func:`defaults`) and lives in
a **model folder**:

==========================  ==================================================================
file                        holds
==========================  ==================================================================
``card.json``               kind, settings, the data it was trained on, the validation score,
                            training time (:data:`FORMAT`)
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
``force=True``.

>>> corpus = training_corpus("bach")
>>> model = train("markov", corpus)                 # notebook 02's per-voice Markov chain
>>> model.save(models_dir() / "markov")
>>> notes = load(models_dir() / "markov").generate(n_notes=200, n_samples=4, seed=0)
>>> model.score(corpus.split("test").notes)         # bits per token and per note

Representations, as in the notebooks:

* ``unigram``, ``markov``, ``hmm`` (notebook 02, section 5): one model per voice over
  quantized ``(pitch, duration class, velocity class)`` tokens with rests, dotted
  durations added to the classes; samples stack one line per voice.
* ``lstm`` (notebook 03) and ``wavenet`` (notebook 04): one token model over the
  note/chord strings with durations of every voice line, framed by START and END. A
  sample of voice ``v`` starts from START and the opening token of voice ``v`` of a
  training piece (so each line begins in its register), then the model continues.
* ``vae`` (notebook 05): the convolutional VAE on two-bar piano-roll windows of the
  whole texture; a sample is a row of windows decoded from the prior.

Likelihoods follow :mod:`musicalpy.metrics`: whole held-out sequences, every token
counted once (the token networks also pay for END, once per line, which the Markov
models do not model); the VAE gives the negative ELBO, an upper bound.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._config import MusicalPyError, project_root, smoke_mode
from .midi import DEFAULT_TEMPO, as_note_table
from .names import VOICES

__all__ = [
    "FORMAT",
    "KINDS",
    "CHORALE_VOICES",
    "ModelError",
    "ZooModel",
    "defaults",
    "models_dir",
    "training_corpus",
    "train",
    "from_trained",
    "save_for_comparison",
    "split_digest",
    "load",
    "evaluate",
]

#: The ``format`` field of ``card.json``.
FORMAT = "musicalpy.zoo"
_VERSION = 1
#: The model kinds, in the order the series introduces them.
KINDS = ("unigram", "markov", "hmm", "lstm", "wavenet", "vae")
#: The four voices every chorale model is trained on.
CHORALE_VOICES = VOICES  # kept for callers of zoo.CHORALE_VOICES
_CARD = "card.json"
_DURATIONS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 8.0, 16.0, 32.0)  # notebook 02: dotted classes added
_MAX_WINDOWS = 256  # VAE windows per sample at most


class ModelError(MusicalPyError, ValueError):
    """A model folder that cannot be used: missing, not a model, wrong kind, corrupt."""


# ------------------------------------------------------------------------- settings


def defaults(kind: str, *, smoke: bool | None = None) -> dict[str, Any]:
    """The training settings of a kind: its notebook's full values, or smoke values.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    smoke : bool, optional
        Tiny settings for tests (default :func:`musicalpy.smoke_mode`).

    Returns
    -------
    settings : dict
        JSON-serializable; ``epochs`` is the training budget (Baum-Welch iterations for
        the HMM, none for the counting models).
    """
    _check_kind(kind)
    smoke = smoke_mode() if smoke is None else smoke
    tokens = {"duration_classes": list(_DURATIONS), "n_velocity_classes": 6, "tempo": DEFAULT_TEMPO}
    if kind == "unigram":
        return {**tokens, "alpha": 0.1, "epochs": None}
    if kind == "markov":
        return {**tokens, "order": 1, "alpha": 0.1, "epochs": None}
    if kind == "hmm":
        return {**tokens, "n_states": 16, "epochs": 10 if smoke else 300, "tol": 1e-5, "pseudocount": 0.1, "seed": 42}
    if kind in ("lstm", "wavenet"):
        network = {"embedding_dim": 16, "units": [32]} if smoke else {"embedding_dim": 64, "units": [128, 128]}
        if kind == "wavenet":
            network = ({"channels": 16, "dilations": [1, 2, 4]} if smoke else
                       {"channels": 64, "dilations": [1, 2, 4, 8, 16]})
        return {"tempo": DEFAULT_TEMPO, **network, "dropout": 0.3, "seq_length": 32 if smoke else 64,
                "batch_size": 64, "epochs": 1 if smoke else 10, "steps_per_epoch": 20 if smoke else None,
                "patience": 3, "max_transpose": 5, "seed": 42}
    return {"lowest_pitch": 36, "n_pitches": 48, "steps_per_quarter": 4, "window_steps": 32, "hop_steps": 16,
            "latent_dim": 16, "filters": [16, 32], "dense_units": 128, "warmup_epochs": 5, "free_bits": 0.5,
            "learning_rate": 2e-3, "batch_size": 64, "epochs": 2 if smoke else 40, "threshold": 0.5,
            "tempo": DEFAULT_TEMPO, "seed": 42}


def _settings(kind: str, smoke: bool | None, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """The defaults of a kind with the overrides applied; unknown keys raise."""
    _check_kind(kind)
    chosen = defaults(kind, smoke=smoke)
    unknown = set(overrides or {}) - set(chosen)
    if unknown:
        raise ValueError(f"unknown setting(s) for {kind}: {sorted(unknown)}; known: {sorted(chosen)}")
    chosen.update({k: list(v) if isinstance(v, tuple) else v for k, v in (overrides or {}).items()})
    return chosen


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")


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
        corpus = corpus.select_parts(list(CHORALE_VOICES))
    return corpus


def _voices_of(notes: pd.DataFrame, max_voices: int = 4) -> list[str]:
    """The chorale voices when present, else the parts with the most notes."""
    parts = notes.loc[~notes["is_drum"].astype(bool), "part"].astype(str)
    if set(CHORALE_VOICES) <= set(parts):
        return list(CHORALE_VOICES)
    return parts.value_counts().index[:max_voices].tolist()


# ------------------------------------------------------------------------ the model


@dataclass
class ZooModel:
    """A trained model of any kind, with its card.

    Attributes
    ----------
    kind : str
    settings : dict
        The training settings (see :func:`defaults`), plus what decoding needs.
    voices : list of str
        The parts the model writes.
    parts : dict
        The fitted objects: ``{voice: (model, vocabulary)}`` for the per-voice kinds,
        ``{"all": (model, vocabulary or None)}`` for the others.
    card : dict
        ``card.json``: kind, settings, data, validation score, training time.
    path : Path or None
        The folder it was loaded from or saved to.
    """

    kind: str
    settings: dict[str, Any]
    voices: list[str]
    parts: dict[str, tuple[Any, Any]]
    card: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def __repr__(self) -> str:
        where = f", path={str(self.path)!r}" if self.path else ""
        return f"ZooModel(kind={self.kind!r}, voices={self.voices}{where})"

    @property
    def name(self) -> str:
        """The folder name, else the kind."""
        return self.path.name if self.path else self.kind

    # ---------------------------------------------------------------- save / load

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
            _KIND_IO[self.kind][0](self, staging)
            card = {**self.card, "format": FORMAT, "version": _VERSION, "kind": self.kind,
                    "settings": self.settings, "voices": self.voices}
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
        n_samples: int = 1,
        temperature: float = 1.0,
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
            Length of each piece instead (exactly one of ``n_notes`` and ``seconds``).
        n_samples : int
        temperature : float
            Above 0; 1 samples the model as trained.
        top_p : float, optional
            Nucleus sampling, for the ``lstm`` and ``wavenet`` kinds.
        primer : pd.DataFrame, optional
            One piece to continue (kept at the start of every sample); its parts are
            matched to the model's voices by name, else in order. The ``hmm`` and
            ``vae`` kinds cannot continue a primer.
        seed : int

        Returns
        -------
        notes : pd.DataFrame
            A note table with beat columns.
        """
        if (n_notes is None) == (seconds is None):
            raise ValueError("give exactly one of n_notes and seconds")
        if n_notes is not None and (isinstance(n_notes, bool) or not isinstance(n_notes, (int, np.integer)) or n_notes < 1):
            raise ValueError(f"n_notes must be a positive integer, got {n_notes!r}")
        if seconds is not None and not (isinstance(seconds, (int, float)) and 0 < seconds < 3600):
            raise ValueError(f"seconds must be a number between 0 and 3600, got {seconds!r}")
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        if not (isinstance(temperature, (int, float)) and temperature > 0 and math.isfinite(temperature)):
            raise ValueError(f"temperature must be a finite number above 0, got {temperature!r}")
        if top_p is not None and not (0 < top_p <= 1):
            raise ValueError(f"top_p must be in (0, 1], got {top_p!r}")
        if top_p is not None and self.kind not in ("lstm", "wavenet"):
            raise ValueError(f"top_p applies to the lstm and wavenet kinds, not to {self.kind!r}")
        if primer is not None:
            if self.kind in ("hmm", "vae"):
                raise ValueError(f"the {self.kind} kind cannot continue a primer; leave out the primer")
            primer = as_note_table(primer)
            if primer.empty:
                raise ValueError("the primer has no notes")
        budget = _Budget(n_notes, seconds, len(self.voices), self.settings.get("tempo", DEFAULT_TEMPO))
        notes = _GENERATORS[self.kind](self, budget, n_samples, float(temperature), top_p, primer, int(seed))
        return as_note_table(notes) if len(notes) else as_note_table(_empty())

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
        log_likelihood, n_tokens, representation, caveat = _SCORERS[self.kind](self, table)
        return {"log_likelihood": float(log_likelihood), "n_tokens": int(n_tokens), "n_notes": len(table),
                "bits_per_token": bits_per_token(log_likelihood, n_tokens), "bits_per_note": bits_per_note(log_likelihood, len(table)),
                "representation": representation, "notes": caveat}


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, np.ndarray)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to card.json")


def _empty() -> pd.DataFrame:
    from .midi import empty_notes

    return empty_notes(with_beats=True)


@dataclass
class _Budget:
    """How much each voice of a sample must hold."""

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

    def trim(self, notes: pd.DataFrame, per_voice: bool = True, primer: pd.DataFrame | None = None) -> pd.DataFrame:
        """Cut one sample (one voice, or the whole texture) to the budget, which
        counts from the end of the ``primer`` it continues."""
        if notes.empty:
            return notes
        notes = notes.sort_values(["start", "pitch"], kind="stable")
        primed = primer is not None and not primer.empty
        if self.n_notes is not None:
            return notes.head((self.notes_per_voice if per_voice else self.n_notes) + (len(primer) if primed else 0))
        limit = self.seconds + (float(primer["end"].max()) if primed else 0.0)
        kept = notes[notes["start"] < limit - 1e-9].copy()
        late = kept["end"] > limit
        if late.any():
            scale = (limit - kept.loc[late, "start"]) / (kept.loc[late, "end"] - kept.loc[late, "start"])
            if "end_beat" in kept.columns:
                kept.loc[late, "end_beat"] = kept.loc[late, "start_beat"] + scale * (kept.loc[late, "end_beat"] - kept.loc[late, "start_beat"])
            kept.loc[late, "end"] = limit
        return kept


def _primer_parts(primer: pd.DataFrame | None, voices: Sequence[str]) -> dict[str, pd.DataFrame]:
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


# ------------------------------------------------------------------ quantized tokens


def _quantized(notes: pd.DataFrame, voice: str, settings: Mapping[str, Any]) -> list[list[tuple]]:
    from .representations import encode_pieces

    encoded = encode_pieces(notes[notes["part"].astype(str) == voice], "quantized_tokens",
                            duration_classes=settings["duration_classes"], n_velocity_classes=settings["n_velocity_classes"])
    return [tokens for tokens in encoded.values() if tokens]


def _decode_quantized(tokens: Sequence[tuple], settings: Mapping[str, Any], piece: str, voice: str) -> pd.DataFrame:
    from .representations import decode_quantized_tokens

    return decode_quantized_tokens(list(tokens), duration_classes=settings["duration_classes"],
                                   n_velocity_classes=settings["n_velocity_classes"], tempo=settings["tempo"],
                                   piece=piece, part=voice)


def _train_counting(kind: str, corpus, settings: dict, progress: bool) -> ZooModel:
    """unigram, markov, hmm: one model per voice over quantized tokens."""
    from .hmm import HMM
    from .markov import MarkovChain, UnigramModel
    from .representations import Vocabulary

    notes = corpus.split("train").notes
    voices = _voices_of(notes)
    parts, per_voice = {}, {}
    for voice in voices:
        sequences = per_voice[voice] = _quantized(notes, voice, settings)
        if not sequences:
            raise ValueError(f"voice {voice!r} has no notes in the training split")
        vocabulary = Vocabulary.from_sequences(sequences, start_end=False)
        ids = [vocabulary.encode(s) for s in sequences]
        if kind == "hmm":
            if progress:
                print(f"{voice}: Baum-Welch, {settings['n_states']} states, at most {settings['epochs']} iterations", flush=True)
            model = HMM(n_states=settings["n_states"], n_iter=settings["epochs"], tol=settings["tol"],
                        random_state=settings["seed"], n_symbols=len(vocabulary), pseudocount=settings["pseudocount"],
                        verbose=progress).fit(ids)
        elif kind == "markov":
            model = MarkovChain(order=settings["order"], alpha=settings["alpha"], vocabulary=range(len(vocabulary))).fit(ids)
        else:
            model = UnigramModel(alpha=settings["alpha"], vocabulary=range(len(vocabulary))).fit(ids)
        parts[voice] = (model, vocabulary)
    model = ZooModel(kind, settings, voices, parts)
    _derive_counting(model, corpus, per_voice)
    return model


def _derive_counting(model: ZooModel, corpus, sequences: Mapping[str, list] | None = None) -> None:
    """What sampling needs besides the fitted models: the mean beats per token.
    ``sequences``: the training tokens per voice, when the caller has them already."""
    if sequences is None:
        notes = corpus.split("train").notes
        sequences = {voice: _quantized(notes, voice, model.settings) for voice in model.voices}
    classes = model.settings["duration_classes"]
    beats = [classes[t[1]] for voice in model.voices for s in sequences[voice] for t in s]
    model.settings["beats_per_token"] = float(np.mean(beats)) if beats else 1.0


def _save_counting(model: ZooModel, folder: Path) -> None:
    for index, voice in enumerate(model.voices):
        fitted, vocabulary = model.parts[voice]
        if model.kind == "hmm":
            fitted.save(folder / f"voice_{index}.npz")
        else:
            fitted.save(folder / f"voice_{index}.json")
        vocabulary.save(folder / f"voice_{index}.vocab.json")


def _load_counting(kind: str, folder: Path, settings: dict, voices: list[str]) -> dict:
    from .hmm import HMM
    from .markov import MarkovChain
    from .representations import Vocabulary

    parts = {}
    for index, voice in enumerate(voices):
        model = HMM.load(folder / f"voice_{index}.npz") if kind == "hmm" else MarkovChain.load(folder / f"voice_{index}.json")
        parts[voice] = (model, Vocabulary.load(folder / f"voice_{index}.vocab.json"))
    return parts


def _generate_counting(model: ZooModel, budget: _Budget, n_samples: int, temperature: float, top_p, primer, seed: int) -> pd.DataFrame:
    from .markov import MarkovChain

    settings = model.settings
    primed = _primer_parts(primer, model.voices)
    tables = []
    for sample in range(n_samples):
        for index, voice in enumerate(model.voices):
            fitted, vocabulary = model.parts[voice]
            rng_seed = seed + 1000 * sample + index
            start: list[int] = []
            if voice in primed:
                tokens = _quantized(primed[voice], voice, settings)
                start = [vocabulary.id_of(t) for t in (tokens[0] if tokens else []) if t in vocabulary]
            length = budget.tokens(settings["beats_per_token"])
            if isinstance(fitted, MarkovChain):
                ids = fitted.sample(length, temperature=temperature, random_state=rng_seed, start=start)
            else:
                strategy = "probabilistic" if temperature == 1.0 else "temperature"
                ids = fitted.sample(length, strategy=strategy, temperature=temperature, random_state=rng_seed)[0]
            tokens = vocabulary.decode(np.asarray(ids, dtype=np.int64))  # the rare PAD/UNK draws are dropped
            notes = _decode_quantized(tokens, settings, f"sample_{sample}", voice)
            tables.append(budget.trim(notes, primer=primed.get(voice)))
    return pd.concat(tables, ignore_index=True) if tables else _empty()


def _score_counting(model: ZooModel, notes: pd.DataFrame) -> tuple[float, int, str, str]:
    total, n_tokens = 0.0, 0
    for voice in model.voices:
        fitted, vocabulary = model.parts[voice]
        sequences = [vocabulary.encode(s) for s in _quantized(notes, voice, model.settings)]
        if sequences:
            total += fitted.score(sequences)
            n_tokens += sum(map(len, sequences))
    if n_tokens == 0:
        raise ValueError("the held-out notes give no tokens")
    return total, n_tokens, "quantized tokens per voice", "one model per voice"


# ------------------------------------------------------------------ token networks


def _token_datasets(corpus, settings: Mapping[str, Any], vocabulary=None):
    from .pipelines import corpus_datasets

    return corpus_datasets(corpus, "note_strings", seq_length=settings["seq_length"], target="sequence",
                           batch_size=settings["batch_size"], max_transpose=settings["max_transpose"],
                           seed=settings["seed"], vocabulary=vocabulary)


def _wavenet_module():
    try:
        from .models import wavenet
    except ImportError as exc:
        raise ModelError("the wavenet kind is not available yet: musicalpy.models.wavenet has not landed "
                         f"({exc})") from None
    return wavenet


def _build_network(kind: str, vocab_size: int, settings: Mapping[str, Any]):
    if kind == "lstm":
        from .models import lstm

        return lstm.build_token_lstm(vocab_size, embedding_dim=settings["embedding_dim"],
                                     units=tuple(settings["units"]), dropout=settings["dropout"])
    wavenet = _wavenet_module()
    return wavenet.build_wavenet(vocab_size, channels=settings["channels"], dilations=tuple(settings["dilations"]),
                                 dropout=settings["dropout"])


def _train_network(kind: str, corpus, settings: dict, progress: bool) -> ZooModel:
    """lstm, wavenet: one token model over every voice line (notebooks 03 and 04)."""
    import keras

    from .models import lstm

    if kind == "wavenet":
        _wavenet_module()
    keras.utils.set_random_seed(settings["seed"])
    data = _token_datasets(corpus, settings)
    if data.validation is None:
        raise ValueError(f"the validation split has no voice line longer than seq_length={settings['seq_length']}; "
                         "load more pieces")
    vocabulary = data.vocabulary
    train_data = data.train.repeat() if settings["steps_per_epoch"] else data.train
    network, history = lstm.train_model(
        lambda: _build_network(kind, len(vocabulary), settings), train_data, data.validation,
        epochs=settings["epochs"], steps_per_epoch=settings["steps_per_epoch"], patience=settings["patience"],
        verbose=2 if progress else 0)
    settings["epochs_run"] = len(history)
    model = ZooModel(kind, settings, _voices_of(corpus.split("train").notes), {"all": (network, vocabulary)})
    _derive_network(model, corpus, data.sequences["train"])
    return model


def _derive_network(model: ZooModel, corpus, sequences: Mapping[Any, np.ndarray] | None = None) -> None:
    """What sampling needs besides the network: each voice's opening tokens in the
    training pieces (a sample starts like one of them) and the mean beats per token.
    ``sequences``: the training voices as framed ids, when the caller has them already."""
    from .representations import token_sequences

    vocabulary = model.parts["all"][1]
    if sequences is None:
        sequences = token_sequences(corpus.split("train").notes, "note_strings", vocabulary=vocabulary)[0]
    openings: dict[str, list] = {voice: [] for voice in model.voices}
    for (_, part), ids in sequences.items():
        if part in openings and len(ids) > 2 and int(ids[1]) >= vocabulary.n_reserved:
            openings[part].append(list(vocabulary.token_of(int(ids[1]))))
    model.settings["openings"] = openings
    beats = [t[1] for t in vocabulary.tokens[vocabulary.n_reserved:]]
    model.settings["beats_per_token"] = float(np.mean(beats)) if beats else 1.0


def _save_keras(model: ZooModel, folder: Path) -> None:
    network, vocabulary = model.parts["all"]
    network.save(folder / "model.keras")
    if vocabulary is not None:
        vocabulary.save(folder / "vocabulary.json")


def _load_keras(kind: str, folder: Path, settings: dict, voices: list[str]) -> dict:
    from .representations import Vocabulary

    path = folder / "model.keras"
    if not path.exists():
        raise ModelError(f"{folder}: model.keras is missing")
    if kind == "vae":
        import keras

        from .models import vae  # noqa: F401  (registers the VAE classes with Keras)

        return {"all": (keras.models.load_model(path), None)}
    if kind == "wavenet":
        network = _wavenet_module().load_model(path)
    else:
        from .models import lstm

        network = lstm.load_model(path)
    return {"all": (network, Vocabulary.load(folder / "vocabulary.json"))}


def _generate_network(model: ZooModel, budget: _Budget, n_samples: int, temperature: float, top_p, primer, seed: int) -> pd.DataFrame:
    import warnings

    from .representations import decode_token_ids, token_sequences

    wavenet = _wavenet_module()
    network, vocabulary = model.parts["all"]
    settings = model.settings
    primed = _primer_parts(primer, model.voices)
    rng = np.random.default_rng(seed)
    rows = []
    for voice in model.voices:
        if voice in primed:
            ids = next(iter(token_sequences(primed[voice], "note_strings", vocabulary=vocabulary,
                                            add_start_end=True)[0].values()))[:-1]  # drop END: go on
            rows.extend([np.asarray(ids, dtype=np.int64)] * n_samples)
            continue
        openings = [tuple(t) for t in settings["openings"].get(voice, [])]
        for _ in range(n_samples):
            first = openings[rng.integers(len(openings))] if openings else None
            ids = [vocabulary.start_id] + ([vocabulary.id_of(first)] if first is not None and first in vocabulary else [])
            rows.append(np.asarray(ids, dtype=np.int64))
    length = budget.tokens(settings["beats_per_token"])
    tables = []
    # Primers differ in length between voices, so each voice samples in its own batch.
    for index, voice in enumerate(model.voices):
        primers = np.stack(_left_pad(rows[index * n_samples:(index + 1) * n_samples], vocabulary))
        with warnings.catch_warnings():
            # A line starts from START and one opening token, by design shorter than the
            # WaveNet's receptive field; the causal padding stands for the missing past.
            warnings.filterwarnings("ignore", message="primer has .* fewer than the receptive field")
            generated = wavenet.sample_ids(network, vocabulary, primers, n_tokens=length, n_samples=n_samples,
                                           temperature=temperature, top_p=top_p, seed=seed + index)
        for sample in range(n_samples):
            ids = np.concatenate([primers[sample], generated[sample]])
            notes = decode_token_ids(ids, vocabulary, "note_strings", piece=f"sample_{sample}", part=voice,
                                     tempo=settings["tempo"])
            tables.append(budget.trim(notes, primer=primed.get(voice)))
    return pd.concat(tables, ignore_index=True) if tables else _empty()


def _left_pad(rows: list[np.ndarray], vocabulary) -> list[np.ndarray]:
    """Primers of one batch to one length: shorter ones repeat START in front."""
    width = max(len(r) for r in rows)
    return [np.concatenate([np.full(width - len(r), vocabulary.start_id, dtype=np.int64), r]) for r in rows]


def _score_network(model: ZooModel, notes: pd.DataFrame) -> tuple[float, int, str, str]:
    from .representations import token_sequences

    network, vocabulary = model.parts["all"]
    sequences = token_sequences(notes, "note_strings", vocabulary=vocabulary)[0]
    total, n_tokens = _wavenet_module().score_sequences(network, sequences, pad_id=vocabulary.pad_id)
    return total, n_tokens, "note/chord strings per voice", "END scored once per line; unknown tokens score as UNK"


# ------------------------------------------------------------------------------ VAE


def _window_options(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {k: settings[k] for k in ("window_steps", "lowest_pitch", "n_pitches", "steps_per_quarter")}


def _train_vae(kind: str, corpus, settings: dict, progress: bool) -> ZooModel:
    import keras

    from .models import vae as V

    keras.utils.set_random_seed(settings["seed"])
    options = _window_options(settings)
    train_windows, _ = V.corpus_windows(corpus.split("train").notes, hop_steps=settings["hop_steps"], **options)
    val_windows, _ = V.corpus_windows(corpus.split("validation").notes, **options)
    if len(train_windows) == 0 or len(val_windows) == 0:
        raise ValueError("the training or validation split gives no piano-roll window; load more pieces")
    steps_per_epoch = math.ceil(len(train_windows) / settings["batch_size"])
    network = V.build_conv_vae((settings["n_pitches"], settings["window_steps"]), latent_dim=settings["latent_dim"],
                               filters=tuple(settings["filters"]), dense_units=settings["dense_units"],
                               warmup_steps=settings["warmup_epochs"] * steps_per_epoch, free_bits=settings["free_bits"],
                               seed=settings["seed"])
    network.compile(optimizer=keras.optimizers.Adam(settings["learning_rate"]))
    network.fit(V.window_dataset(train_windows, batch_size=settings["batch_size"], seed=settings["seed"]),
                validation_data=V.window_dataset(val_windows, batch_size=settings["batch_size"], shuffle=False),
                epochs=settings["epochs"], shuffle=False, verbose=2 if progress else 0)
    model = ZooModel(kind, settings, _voices_of(corpus.split("train").notes), {"all": (network, None)})
    _derive_vae(model, corpus, train_windows)
    return model


def _derive_vae(model: ZooModel, corpus, windows: np.ndarray | None = None) -> None:
    """What sampling needs besides the VAE: notes per window and the share of active
    cells in the training windows (``windows``, when the caller has them already)."""
    from .models import vae as V

    settings = model.settings
    if windows is None:
        windows, _ = V.corpus_windows(corpus.split("train").notes, hop_steps=settings["hop_steps"], **_window_options(settings))
    if len(windows) == 0:
        raise ValueError("the training split gives no piano-roll window")
    settings["notes_per_window"] = float(np.mean([len(V.windows_to_notes(w, **_decode_options(settings))) for w in windows[:64]])) or 1.0
    settings["active_cells"] = float(windows.mean())


def _decode_options(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {"threshold": settings["threshold"], "lowest_pitch": settings["lowest_pitch"],
            "steps_per_quarter": settings["steps_per_quarter"], "tempo": settings["tempo"]}


def _generate_vae(model: ZooModel, budget: _Budget, n_samples: int, temperature: float, top_p, primer, seed: int) -> pd.DataFrame:
    from .models import vae as V

    network = model.parts["all"][0]
    settings = model.settings
    window_beats = settings["window_steps"] / settings["steps_per_quarter"]
    if budget.seconds is not None:
        n_windows = math.ceil(budget.beats / window_beats)
    else:
        n_windows = math.ceil(1.5 * budget.n_notes / max(settings["notes_per_window"], 1.0)) + 1
    n_windows = min(max(n_windows, 1), _MAX_WINDOWS)
    tables = []
    for sample in range(n_samples):
        rolls = V.binarize(network.sample(n_windows, temperature=temperature, seed=seed + sample), threshold=settings["threshold"])
        notes = V.windows_to_notes(rolls, concatenate=True, piece_prefix=f"sample_{sample}", **_decode_options(settings))
        tables.append(budget.trim(notes, per_voice=False))
    return pd.concat(tables, ignore_index=True) if tables else _empty()


def _score_vae(model: ZooModel, notes: pd.DataFrame) -> tuple[float, int, str, str]:
    from .models import vae as V

    network = model.parts["all"][0]
    windows, _ = V.corpus_windows(notes, pad_last=True, **_window_options(model.settings))
    if len(windows) == 0:
        raise ValueError("the held-out notes give no piano-roll window")
    scores = V.evaluate_vae(network, windows, threshold=model.settings["threshold"], seed=model.settings["seed"])
    n_cells = int(np.prod(windows.shape))
    return (-scores["elbo_bits_total"] * math.log(2), n_cells,
            f"piano roll {model.settings['n_pitches']}x{model.settings['window_steps']}",
            "ELBO bound; tokens are piano-roll cells; notes outside the roll's range are not coded")


_TRAINERS = {"unigram": _train_counting, "markov": _train_counting, "hmm": _train_counting,
             "lstm": _train_network, "wavenet": _train_network, "vae": _train_vae}
_DERIVERS = {"unigram": _derive_counting, "markov": _derive_counting, "hmm": _derive_counting,
             "lstm": _derive_network, "wavenet": _derive_network, "vae": _derive_vae}
_GENERATORS = {"unigram": _generate_counting, "markov": _generate_counting, "hmm": _generate_counting,
               "lstm": _generate_network, "wavenet": _generate_network, "vae": _generate_vae}
_SCORERS = {"unigram": _score_counting, "markov": _score_counting, "hmm": _score_counting,
            "lstm": _score_network, "wavenet": _score_network, "vae": _score_vae}
_KIND_IO = {"unigram": (_save_counting, _load_counting), "markov": (_save_counting, _load_counting),
            "hmm": (_save_counting, _load_counting), "lstm": (_save_keras, _load_keras),
            "wavenet": (_save_keras, _load_keras), "vae": (_save_keras, _load_keras)}


# ---------------------------------------------------------------------- front ends


def train(
    kind: str,
    corpus: Any = "bach",
    *,
    epochs: int | None = None,
    settings: Mapping[str, Any] | None = None,
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
    settings : mapping, optional
        Overrides of :func:`defaults`.
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
        validation score and the training time.
    """
    chosen = _settings(kind, smoke, settings)
    if epochs is not None:
        if chosen["epochs"] is None:
            raise ValueError(f"the {kind} kind counts tokens and has no epochs; leave out epochs")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
        chosen["epochs"] = int(epochs)
    corpus, source = _corpus_and_source(corpus, limit)
    if progress:
        print(f"training {kind} on {corpus}", flush=True)
    started = time.perf_counter()
    model = _TRAINERS[kind](kind, corpus, chosen, progress)
    seconds = time.perf_counter() - started
    _finish(model, corpus, source=source, limit=limit, seconds=seconds, smoke=smoke_mode() if smoke is None else smoke)
    if progress:
        score = model.card["validation"]
        shown = f"{score['bits_per_note']:.3f} validation bits per note" if score else "no validation split"
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
            trained_by: str | None = None) -> None:
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
        "training_time_s": round(float(seconds), 2),
        "smoke": bool(smoke),
    }
    if trained_by:
        model.card["trained_by"] = trained_by


def split_digest(corpus) -> str:
    """A short fingerprint of which piece is in which split.

    Two corpora with the same digest hold the same held-out pieces, so a model folder
    whose card carries the digest of the corpus at hand was never trained on its test
    split (notebook 06 checks this before reusing a saved model).
    """
    import hashlib

    lines = sorted(f"{piece}\t{split}" for piece, split in zip(corpus.pieces["piece"].astype(str),
                                                                corpus.pieces["split"].astype(str), strict=True))
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:16]


def save_for_comparison(model: ZooModel, *, name: str | None = None, smoke: bool | None = None) -> Path:
    """Save a notebook's model where notebook 06 looks for it, replacing an older one.

    Full runs write ``models_dir() / name`` (default: the kind; what ``make run`` fills
    and notebook 06 reuses); smoke runs write under :func:`musicalpy.output_dir`
    instead, so a quick test never replaces a fully trained model. Pass another
    ``name`` for a model of other data (notebook 03 on MAESTRO writes ``lstm_maestro``)
    so it does not replace the chorale model either.
    """
    from ._config import output_dir

    smoke = smoke_mode() if smoke is None else smoke
    folder = (output_dir() / "models" if smoke else models_dir()) / (name or model.kind)
    return model.save(folder, force=True)


def from_trained(
    kind: str,
    fitted: Any,
    corpus: Any = "bach",
    *,
    vocabulary: Any = None,
    settings: Mapping[str, Any] | None = None,
    training_time_s: float = math.nan,
    trained_by: str | None = None,
    limit: int | None = None,
    smoke: bool | None = None,
) -> ZooModel:
    """Wrap a model a notebook trained itself into a :class:`ZooModel`, without training.

    This is how notebooks 02-05 hand their models to notebook 06 (and to ``musicalpy
    generate``): each saves its own trained model with
    ``from_trained(...).save(models_dir() / kind, force=True)``, so ``make run`` never
    trains a model twice.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    fitted
        ``unigram`` / ``markov`` / ``hmm``: ``{voice: (model, vocabulary)}`` with one
        :class:`~musicalpy.markov.MarkovChain`, :class:`~musicalpy.markov.UnigramModel`
        or :class:`~musicalpy.hmm.HMM` per voice over that voice's quantized tokens.
        ``lstm`` / ``wavenet``: the Keras token model over note/chord strings (pass its
        ``vocabulary``). ``vae``: the trained convolutional VAE.
    corpus : str, path-like or musicalpy.corpus.Corpus
        The corpus it was trained on, with the same splits: the card records it, the
        validation split is scored and the training split gives what sampling needs.
    vocabulary : musicalpy.representations.Vocabulary, optional
        The token vocabulary (``lstm`` and ``wavenet`` only; required there).
    settings : mapping, optional
        The settings the model was trained with, where they differ from
        :func:`defaults` (e.g. ``units``, ``duration_classes``); unknown keys raise.
    training_time_s : float, optional
        Seconds the training took, for the leaderboard.
    trained_by : str, optional
        Recorded in the card, e.g. ``"notebooks/03_lstm.ipynb"``.

    Returns
    -------
    ZooModel
        Not saved yet; its card holds the validation score.
    """
    smoke = smoke_mode() if smoke is None else smoke
    chosen = _settings(kind, smoke, settings)
    corpus, source = _corpus_and_source(corpus, limit)
    if kind in ("unigram", "markov", "hmm"):
        if not isinstance(fitted, Mapping) or not fitted:
            raise ValueError(f"fitted must map each voice to (model, vocabulary) for the {kind} kind")
        for voice, pair in fitted.items():
            if not (isinstance(pair, tuple) and len(pair) == 2 and hasattr(pair[0], "score") and hasattr(pair[1], "encode")):
                raise ValueError(f"fitted[{voice!r}] must be a (model, vocabulary) pair")
        model = ZooModel(kind, chosen, [str(v) for v in fitted], {str(v): p for v, p in fitted.items()})
    else:
        import keras

        if not isinstance(fitted, keras.Model):
            raise ValueError(f"fitted must be a Keras model for the {kind} kind, got {type(fitted).__name__}")
        if kind in ("lstm", "wavenet") and vocabulary is None:
            raise ValueError(f"the {kind} kind needs the vocabulary the model was trained with")
        model = ZooModel(kind, chosen, _voices_of(corpus.split("train").notes),
                         {"all": (fitted, vocabulary if kind != "vae" else None)})
    _DERIVERS[kind](model, corpus)  # train() derives inside each trainer, from what it computed
    _finish(model, corpus, source=source, limit=limit, seconds=training_time_s, smoke=smoke, trained_by=trained_by)
    return model


def load(path: str | os.PathLike) -> ZooModel:
    """Read a model folder written by :meth:`ZooModel.save`.

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
    if kind not in KINDS:
        raise ModelError(f"{card_path}: unknown model kind {kind!r}")
    settings, voices = dict(card.get("settings") or {}), list(card.get("voices") or [])
    try:
        parts = _KIND_IO[kind][1](kind, folder, settings, voices)
    except ModelError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{folder}: cannot load the {kind} model ({exc})") from None
    return ZooModel(kind, settings, voices, parts, card, folder)


def evaluate(
    model: ZooModel,
    reference: pd.DataFrame,
    *,
    n_samples: int = 8,
    n_notes: int = 200,
    temperature: float = 1.0,
    seed: int = 0,
    features: Sequence[str] | None = None,
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Score a model on held-out pieces and compare its samples with them.

    Parameters
    ----------
    model : ZooModel
    reference : pd.DataFrame
        The held-out note table (e.g. the test split).
    n_samples, n_notes, temperature, seed
        The generated set: ``n_samples`` pieces of ``n_notes`` notes.
    features : sequence of str, optional
        For :func:`musicalpy.metrics.compare_sets` (default all).

    Returns
    -------
    row : dict
        Keyword arguments for :meth:`musicalpy.metrics.Leaderboard.add` (without the
        comparison): the bits, training time, generation speed (notes per second).
    comparison : pd.DataFrame
        :func:`musicalpy.metrics.compare_sets` of the samples against ``reference``.
    samples : pd.DataFrame
        The generated note table.
    """
    from .metrics import compare_sets

    scores = model.score(reference)
    started = time.perf_counter()
    samples = model.generate(n_notes=n_notes, n_samples=n_samples, temperature=temperature, seed=seed)
    seconds = time.perf_counter() - started
    reference = reference[reference["part"].astype(str).isin(model.voices)]
    comparison = compare_sets(samples, reference, features=features)
    row = {
        "model": model.name,
        "representation": scores["representation"],
        "split": "test",
        "bits_per_token": scores["bits_per_token"],
        "bits_per_note": scores["bits_per_note"],
        "training_time_s": float(model.card.get("training_time_s", math.nan)),
        "notes": scores["notes"],
        "kind": model.kind,
        "generation_notes_per_s": len(samples) / seconds if seconds > 0 else math.nan,
        "n_generated_notes": len(samples),
    }
    return row, comparison, samples
