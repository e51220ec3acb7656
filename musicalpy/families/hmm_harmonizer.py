"""The ``hmm_harmonizer`` kind: notebook 02's chord HMM that harmonizes a melody.

``ZooModel.fitted`` is a :class:`musicalpy.hmm_harmonizer.ChoraleHarmonizer` (a chord HMM per
mode, counted on the training chorales, its transitions seeing the soprano's motion and
the voice leading; the smoothing chosen on validation). The model folder holds
``harmonizer.json`` and ``harmonizer_major.npz`` / ``harmonizer_minor.npz`` (the counts as
arrays, no pickle; the smoothing is reapplied on load). A folder written before the
transitions saw the soprano's motion does not load: train it again.

Scores are per quarter-note beat: ``log P(chords, melody)`` of the beats on which all
four voices sound under the generative HMM (the transitions without the soprano's
motion, a proper joint distribution), the chords and the soprano in C (each chorale
transposed by its analysed key); ``score_given_soprano`` prices the harmonizer itself. Generation samples a chord path from the mode's chain and a soprano
pitch under each chord (quarter notes, in C major or C minor); :meth:`harmonize` is
what the kind is for.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..hmm_harmonizer import DEFAULT_SMOOTHING, SMOOTHING_CANDIDATES
from ..midi import DEFAULT_TEMPO
from .base import Budget, Family, Settings, Trained, concat_notes

__all__ = ["HarmonizerSettings", "HarmonizerFamily"]


@dataclasses.dataclass(frozen=True)
class HarmonizerSettings(Settings):
    """Smoothing candidates (the one kept is chosen on validation) and the key profile.

    See :class:`musicalpy.hmm_harmonizer.ChordHMM` for what each value does.

    Attributes
    ----------
    alphas : tuple of float
        Add-alpha smoothing of the voicing frequencies tried.
    betas : tuple of float
        Add-beta smoothing of the soprano emissions tried.
    kappas : tuple of float
        Back-off strengths of the transitions to the voicing frequencies tried.
    kappa_motions : tuple of float
        Back-off strengths of the transitions seen under the soprano's motion to the
        voice-leading prior tried.
    rhos : tuple of float
        The prior's factors per parallel fifth or octave tried.
    profile : str
        Key profile of :func:`musicalpy.analysis.find_key`.
    tempo : float
        Quarter notes per minute of the written music.
    """

    kind: ClassVar[str] = "hmm_harmonizer"
    SMOKE: ClassVar[Mapping[str, Any]] = {"alphas": (DEFAULT_SMOOTHING["alpha"],),
                                          "betas": (DEFAULT_SMOOTHING["beta"],),
                                          "rhos": (DEFAULT_SMOOTHING["rho"],)}
    alphas: tuple[float, ...] = SMOOTHING_CANDIDATES["alphas"]
    betas: tuple[float, ...] = SMOOTHING_CANDIDATES["betas"]
    kappas: tuple[float, ...] = SMOOTHING_CANDIDATES["kappas"]
    kappa_motions: tuple[float, ...] = SMOOTHING_CANDIDATES["kappa_motions"]
    rhos: tuple[float, ...] = SMOOTHING_CANDIDATES["rhos"]
    profile: str = "krumhansl"
    tempo: float = DEFAULT_TEMPO


class HarmonizerFamily(Family):
    """Allan & Williams's HMM harmonizer as a zoo kind (see :mod:`musicalpy.hmm_harmonizer`)."""

    kind = "hmm_harmonizer"
    settings_class = HarmonizerSettings
    fitted_description = "musicalpy.hmm_harmonizer.ChoraleHarmonizer"
    prices_every_note = False  # one chord per beat: notes between beats are not priced
    harmonizes = True

    def train(self, corpus: Any, settings: Any, progress: bool) -> Trained:
        from ..hmm_harmonizer import ChoraleHarmonizer, choose_smoothing

        notes = corpus.split("train").notes
        if progress:
            print("counting chords under the soprano, per beat, in major and minor", flush=True)
        grids = (settings.alphas, settings.betas, settings.kappas, settings.kappa_motions, settings.rhos)
        harmonizer = ChoraleHarmonizer(*(g[0] for g in grids[:2]), kappa=settings.kappas[0],
                                       kappa_motion=settings.kappa_motions[0], rho=settings.rhos[0],
                                       profile=settings.profile, tempo=settings.tempo).fit(notes)
        validation = corpus.split("validation").notes
        candidates: dict[str, float] = {}
        if len(validation) and np.prod([len(g) for g in grids]) > 1:
            chosen = choose_smoothing(harmonizer, validation, settings.alphas, settings.betas, kappas=settings.kappas,
                                      kappa_motions=settings.kappa_motions,
                                      rhos=settings.rhos)["given the melody (HMM)"]
            harmonizer = harmonizer.with_smoothing(**{k: v for k, v in chosen.items() if k != "candidates"})
            candidates = chosen["candidates"]
        return Trained(harmonizer, list(_voices()), self._state(harmonizer, notes, candidates))

    def wrap(self, fitted: Any, vocabulary: Any, corpus: Any, settings: Any) -> Trained:
        from ..hmm_harmonizer import ChoraleHarmonizer

        if not isinstance(fitted, ChoraleHarmonizer) or not hasattr(fitted, "models_"):
            raise ValueError("fitted must be a fitted musicalpy.hmm_harmonizer.ChoraleHarmonizer for the hmm_harmonizer kind")
        return Trained(fitted, list(_voices()), self._state(fitted, corpus.split("train").notes, {}))

    @staticmethod
    def _state(harmonizer: Any, notes: pd.DataFrame, candidates: Mapping[str, float]) -> dict[str, Any]:
        soprano = notes.loc[notes["part"].astype(str) == _voices()[0], "pitch"]
        return {"soprano_range": [int(soprano.min()), int(soprano.max())], **harmonizer.smoothing,
                "validation_nats_per_chord": dict(candidates),
                "n_states": {m: hmm.n_states for m, hmm in harmonizer.models_.items()}}

    def selection(self, settings: Any) -> dict[str, Any]:
        grids = {"alpha": settings.alphas, "beta": settings.betas, "kappa": settings.kappas,
                 "kappa_motion": settings.kappa_motions, "rho": settings.rhos}
        return {"split": "validation", "metric": "nats per chord of the validation chords given their melodies",
                "candidates": [", ".join(f"{k}={v:g}" for k, v in zip(grids, values, strict=True))
                               for values in itertools.product(*grids.values())]}

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        return model.fitted.save(folder)

    def load(self, folder: Path, card: Mapping[str, Any]) -> Any:
        from ..hmm_harmonizer import ChoraleHarmonizer

        return ChoraleHarmonizer.load(folder)

    def soprano_range(self, model: Any) -> tuple[int, int]:
        low, high = model.state["soprano_range"]
        return int(low), int(high)

    def generate(self, model: Any, budget: Budget, n_samples: int, *, temperature: float, top_k: int | None,
                 top_p: float | None, primer: pd.DataFrame | None, seed: int) -> pd.DataFrame:
        # Four notes a beat at most (one per voice, fewer where a chord is held).
        n_beats = int(np.ceil(budget.beats)) if budget.beats is not None else budget.notes_per_voice
        pieces = [model.fitted.generate(max(n_beats, 1), rng=np.random.default_rng(seed + sample),
                                        temperature=temperature, piece=f"sample_{sample}")
                  for sample in range(n_samples)]
        return budget.trim(concat_notes(pieces))

    def score(self, model: Any, notes: pd.DataFrame) -> tuple[float, int, str, str]:
        scores = model.fitted.scores(notes)
        if scores.empty:
            raise ValueError("the held-out notes have no beat on which all four voices sound")
        return (float(scores["joint"].sum()), int(scores["n_chords"].sum()),
                "one (soprano pitch, A/T/B intervals below it) chord per quarter-note beat, in C",
                ("per beat, under the generative HMM (transitions without the soprano's motion): notes between "
                 "beats and durations are not modelled, so its bits per note are not comparable with other kinds'; "
                 "keys by Krumhansl analysis"))

    def score_given_soprano(self, model: Any, notes: pd.DataFrame,
                            pieces: pd.DataFrame | None = None) -> dict[str, Any]:
        """Bits per alto, tenor and bass note of Bach's beat chords given the whole soprano
        (``pieces`` is not read: the HMM sees quarter-note beats, not bars).

        The frame-wise SATB kinds' keys (``log_likelihood``, ``n_tokens``, ``n_notes``,
        ``bits_per_note``) plus ``n_unseen``; see
        :meth:`musicalpy.hmm_harmonizer.ChoraleHarmonizer.score_given_soprano` for what is
        counted and what this number leaves out (notes between beats cost nothing, so
        it favours the HMM).
        """
        return model.fitted.score_given_soprano(notes)

    def harmonize(self, model: Any, melody: Any, *, seed: int, sample: bool, temperature: float) -> pd.DataFrame:
        return model.fitted.harmonize(melody, sample=sample, seed=seed, temperature=temperature)

    def representation(self, model: Any) -> dict[str, Any]:
        return {"encoding": "beat chords under the soprano", "profile": model.settings.profile,
                "vocabulary": {m: [list(s) for s in hmm.states_ if s is not None]
                               for m, hmm in model.fitted.models_.items()}}


def _voices() -> tuple[str, ...]:
    from ..names import VOICES

    return VOICES
