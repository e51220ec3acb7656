"""Counting families: unigram, Markov chain and HMM, one model per voice.

The representation is notebook 02's (section 5): quantized ``(pitch, duration class,
velocity class)`` tokens with rests, dotted durations added to the classes, one token
sequence per voice of a piece. Each voice gets its own fitted model and vocabulary, so
``ZooModel.fitted`` is ``{voice: (model, vocabulary)}``; a sample stacks one generated
line per voice.

Model folder: ``voice_<i>.json`` (unigram, Markov: a :class:`~musicalpy.markov.MarkovChain`
as JSON) or ``voice_<i>.npz`` (HMM), and ``voice_<i>.vocab.json`` (the voice's
:class:`~musicalpy.representations.Vocabulary`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..midi import DEFAULT_TEMPO
from .base import (
    Budget,
    Family,
    ModelError,
    Settings,
    Trained,
    concat_notes,
    primer_parts,
    voices_of,
)

__all__ = ["DURATION_CLASSES", "QuantizedTokenSettings", "UnigramSettings", "MarkovSettings", "HMMSettings",
           "CountingFamily", "UnigramFamily", "MarkovFamily", "HMMFamily", "quantized_sequences"]

#: Duration classes in quarter notes: notebook 02's, with the dotted values added.
DURATION_CLASSES = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 8.0, 16.0, 32.0)


@dataclasses.dataclass(frozen=True)
class QuantizedTokenSettings(Settings):
    """The token settings every counting family shares.

    Attributes
    ----------
    duration_classes : tuple of float
        Durations a note is snapped to, in quarter notes.
    n_velocity_classes : int
    tempo : float
        Quarter notes per minute when tokens are decoded to seconds.
    """

    duration_classes: tuple[float, ...] = DURATION_CLASSES
    n_velocity_classes: int = 6
    tempo: float = DEFAULT_TEMPO


@dataclasses.dataclass(frozen=True)
class UnigramSettings(QuantizedTokenSettings):
    """Add-``alpha`` smoothed token frequencies, no context."""

    kind: ClassVar[str] = "unigram"
    alpha: float = 0.1


@dataclasses.dataclass(frozen=True)
class MarkovSettings(QuantizedTokenSettings):
    """An order-``order`` Markov chain with add-``alpha`` smoothing."""

    kind: ClassVar[str] = "markov"
    order: int = 1
    alpha: float = 0.1


@dataclasses.dataclass(frozen=True)
class HMMSettings(QuantizedTokenSettings):
    """A discrete HMM fitted by Baum-Welch: ``epochs`` is the iteration budget."""

    kind: ClassVar[str] = "hmm"
    SMOKE: ClassVar[Mapping[str, Any]] = {"epochs": 10}
    n_states: int = 16
    epochs: int = 300
    tol: float = 1e-5
    pseudocount: float = 0.1
    seed: int = 42


def quantized_sequences(notes: pd.DataFrame, voice: str, settings: QuantizedTokenSettings) -> list[list[tuple]]:
    """The quantized token sequences of one voice, one per piece that has notes in it."""
    from ..representations import encode_pieces

    encoded = encode_pieces(notes[notes["part"].astype(str) == voice], "quantized_tokens",
                            duration_classes=list(settings.duration_classes),
                            n_velocity_classes=settings.n_velocity_classes)
    return [tokens for tokens in encoded.values() if tokens]


class CountingFamily(Family):
    """One estimator per voice over quantized tokens; subclasses say which estimator."""

    per_voice: ClassVar[bool] = True
    fitted_description: ClassVar[str] = "{voice: (model, vocabulary)}"
    legacy_state_keys: ClassVar[Mapping[str, str]] = {"beats_per_token": "beats_per_sampled_token"}
    #: File suffix of one voice's fitted model.
    suffix: ClassVar[str] = ".json"

    # -- what a subclass says about its estimator

    def fit_voice(self, ids: list[list[int]], n_symbols: int, settings: Any, voice: str, progress: bool) -> Any:
        raise NotImplementedError

    def load_voice(self, path: Path) -> Any:
        from ..markov import MarkovChain

        return MarkovChain.load(path)

    def sample_voice(self, fitted: Any, length: int, *, temperature: float, seed: int, start: list[int]) -> Sequence[int]:
        return fitted.sample(length, temperature=temperature, random_state=seed, start=start)

    # -- the interface

    def train(self, corpus: Any, settings: Any, progress: bool) -> Trained:
        from ..representations import Vocabulary

        notes = corpus.split("train").notes
        voices = voices_of(notes)
        fitted, sequences = {}, {}
        for voice in voices:
            sequences[voice] = quantized_sequences(notes, voice, settings)
            if not sequences[voice]:
                raise ValueError(f"voice {voice!r} has no notes in the training split")
            vocabulary = Vocabulary.from_sequences(sequences[voice], start_end=False)
            ids = [vocabulary.encode(s) for s in sequences[voice]]
            fitted[voice] = (self.fit_voice(ids, len(vocabulary), settings, voice, progress), vocabulary)
        return Trained(fitted, voices, self._state(sequences, settings))

    def wrap(self, fitted: Any, vocabulary: Any, corpus: Any, settings: Any) -> Trained:
        if not isinstance(fitted, Mapping) or not fitted:
            raise ValueError(f"fitted must map each voice to (model, vocabulary) for the {self.kind} kind")
        for voice, pair in fitted.items():
            if not (isinstance(pair, tuple) and len(pair) == 2 and hasattr(pair[0], "score") and hasattr(pair[1], "encode")):
                raise ValueError(f"fitted[{voice!r}] must be a (model, vocabulary) pair")
        voices = [str(v) for v in fitted]
        notes = corpus.split("train").notes
        sequences = {voice: quantized_sequences(notes, voice, settings) for voice in voices}
        return Trained({str(v): p for v, p in fitted.items()}, voices, self._state(sequences, settings))

    @staticmethod
    def _state(sequences: Mapping[str, list], settings: Any) -> dict[str, Any]:
        # A time budget becomes a token count through the mean length of a training token.
        classes = settings.duration_classes
        beats = [classes[t[1]] for lines in sequences.values() for s in lines for t in s]
        return {"beats_per_sampled_token": float(np.mean(beats)) if beats else 1.0}

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        files = {}
        for index, voice in enumerate(model.voices):
            fitted, vocabulary = model.fitted[voice]
            fitted.save(folder / f"voice_{index}{self.suffix}")
            vocabulary.save(folder / f"voice_{index}.vocab.json")
            files[voice] = {"model": f"voice_{index}{self.suffix}", "vocabulary": f"voice_{index}.vocab.json"}
        return {"per_voice": files}

    def load(self, folder: Path, card: Mapping[str, Any]) -> Any:
        from ..representations import Vocabulary

        fitted = {}
        for index, voice in enumerate(card["voices"]):
            fitted[voice] = (self.load_voice(folder / f"voice_{index}{self.suffix}"),
                             Vocabulary.load(folder / f"voice_{index}.vocab.json"))
        return fitted

    def generate(self, model: Any, budget: Budget, n_samples: int, *, temperature: float, top_k: int | None,
                 top_p: float | None, primer: pd.DataFrame | None, seed: int) -> pd.DataFrame:
        from ..representations import decode_quantized_tokens

        settings = model.settings
        primed = primer_parts(primer, model.voices)
        if "beats_per_sampled_token" not in model.state:
            where = f" in {model.path / 'card.json'}" if getattr(model, "path", None) else ""
            raise ModelError(f"the {self.kind} model has no learned 'beats_per_sampled_token' in its state{where}; "
                             "retrain it or save it again with musicalpy.zoo")
        length = budget.tokens(model.state["beats_per_sampled_token"])
        lines = []
        for sample in range(n_samples):
            for index, voice in enumerate(model.voices):
                fitted, vocabulary = model.fitted[voice]
                start: list[int] = []
                if voice in primed:
                    tokens = quantized_sequences(primed[voice], voice, settings)
                    start = [vocabulary.id_of(t) for t in (tokens[0] if tokens else []) if t in vocabulary]
                ids = self.sample_voice(fitted, length, temperature=temperature, seed=seed + 1000 * sample + index,
                                        start=start)
                tokens = vocabulary.decode(np.asarray(ids, dtype=np.int64))  # the rare PAD/UNK draws are dropped
                lines.append(decode_quantized_tokens(list(tokens), duration_classes=list(settings.duration_classes),
                                                     n_velocity_classes=settings.n_velocity_classes,
                                                     tempo=settings.tempo, piece=f"sample_{sample}", part=voice))
        return budget.trim(concat_notes(lines), primer=primed)

    def representation(self, model: Any) -> dict[str, Any]:
        # Unigram, Markov and HMM share this encoding: equal options and vocabularies
        # mean the same tokens, whatever estimator counts them.
        settings = model.settings
        return {"encoding": "quantized tokens per voice", "duration_classes": list(settings.duration_classes),
                "n_velocity_classes": settings.n_velocity_classes,
                "vocabulary": {voice: [list(t) if isinstance(t, tuple) else t for t in model.fitted[voice][1].tokens]
                               for voice in model.voices}}

    def score(self, model: Any, notes: pd.DataFrame) -> tuple[float, int, str, str]:
        total, n_tokens = 0.0, 0
        for voice in model.voices:
            fitted, vocabulary = model.fitted[voice]
            sequences = [vocabulary.encode(s) for s in quantized_sequences(notes, voice, model.settings)]
            if sequences:
                total += fitted.score(sequences)
                n_tokens += sum(map(len, sequences))
        if n_tokens == 0:
            raise ValueError("the held-out notes give no tokens")
        return total, n_tokens, "quantized tokens per voice", "one model per voice"


class UnigramFamily(CountingFamily):
    """Token frequencies per voice: the floor every other model must beat."""

    kind = "unigram"
    settings_class = UnigramSettings
    continues_primer = True

    def fit_voice(self, ids, n_symbols, settings, voice, progress):
        from ..markov import UnigramModel

        return UnigramModel(alpha=settings.alpha, vocabulary=range(n_symbols)).fit(ids)


class MarkovFamily(CountingFamily):
    """An order-``k`` Markov chain per voice (notebook 02)."""

    kind = "markov"
    settings_class = MarkovSettings
    continues_primer = True

    def fit_voice(self, ids, n_symbols, settings, voice, progress):
        from ..markov import MarkovChain

        return MarkovChain(order=settings.order, alpha=settings.alpha, vocabulary=range(n_symbols)).fit(ids)


class HMMFamily(CountingFamily):
    """A Baum-Welch HMM per voice (notebook 02); it cannot continue a primer."""

    kind = "hmm"
    settings_class = HMMSettings
    suffix = ".npz"

    def fit_voice(self, ids, n_symbols, settings, voice, progress):
        from ..hmm import HMM

        if progress:
            print(f"{voice}: Baum-Welch, {settings.n_states} states, at most {settings.epochs} iterations", flush=True)
        return HMM(n_states=settings.n_states, n_iter=settings.epochs, tol=settings.tol, random_state=settings.seed,
                   n_symbols=n_symbols, pseudocount=settings.pseudocount, verbose=progress).fit(ids)

    def load_voice(self, path: Path) -> Any:
        from ..hmm import HMM

        return HMM.load(path)

    def sample_voice(self, fitted, length, *, temperature, seed, start):
        strategy = "probabilistic" if temperature == 1.0 else "temperature"
        return fitted.sample(length, strategy=strategy, temperature=temperature, random_state=seed)[0]

    def selection(self, settings: Any) -> dict[str, Any]:
        return {"split": "validation", "metric": "none: one candidate, the family defaults (Baum-Welch stops on "
                "the training likelihood)", "candidates": []}
