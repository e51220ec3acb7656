"""Frame-wise joint chorale kinds: the counting floor and the three network trunks.

Every kind here reads and writes :mod:`SATB steps <musicalpy.representations.satb_steps>`
(one step per sixteenth; S, A, T, B each a new pitch, a hold or a rest; bar position
given; the fermata predicted) and gives the exact probability of a chorale, step by
step, soprano to bass within a step:

========================  ==============================================================
kind                      what it is
========================  ==============================================================
``satb_counts``           the floor: counts of each voice's value given its own previous
                          value, the voices above it at the step and the bar position,
                          with interpolated smoothing chosen on validation
                          (:class:`musicalpy.satb_counts.SatbCounts`)
``satb_lstm``             a two-layer LSTM trunk (:mod:`musicalpy.models.satb_net`)
``satb_wavenet``          a WaveNet trunk: gated dilated causal convolutions
``satb_transformer``      a Transformer trunk with relative attention
``satb_transformer_jsb``  ``satb_transformer`` for JSB Chorales' sixteenth-note file (no
                          fermatas, no meter, no harmonizing), on JSB's own training split
``satb_orderless``        an orderless, Coconet-style network that reads both ways in time
                          and predicts any hidden voice-step from the rest
                          (:mod:`musicalpy.models.satb_orderless`): it writes by Gibbs
                          sampling and **rewrites** any voices and bars of a chorale
========================  ==============================================================

All of them score (bits per note over the four voices, fermatas paid), generate
(unconditioned, the fermatas sampled too), and, except the JSB kind, harmonize: the
soprano and its fermatas are forced, alto, tenor and bass are written (the networks
read the whole melody backwards first, so they see its future; the counting floor does
not) and :meth:`SatbFamily.score_given_soprano` gives the exact bits per alto, tenor
and bass note given the soprano. The orderless kind's probabilities are those of one
ordering of the variables (chronological, S to B within a step), exact for that ordering.

The network kinds train for a **budget** (``cpu_minutes`` of this process's CPU time,
``wall_minutes``, ``epochs``) in a run folder under ``models/runs/`` named by the kind
and a hash of its network settings and data split, checkpointing after every epoch, so
an interrupted ``musicalpy train satb_transformer --cpu-minutes 55`` resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._config import project_root
from ..models.satb_settings import SatbNetSettings, SatbOrderlessSettings
from ..names import VOICES
from .base import Budget, Family, Settings, Trained, concat_notes

__all__ = ["SatbCountsSettings", "SatbNetworkSettings", "SatbLSTMSettings", "SatbWaveNetSettings",
           "SatbTransformerSettings", "SatbTransformerJSBSettings", "SatbFamily", "SatbCountsFamily", "SatbNetFamily",
           "SatbLSTMFamily", "SatbWaveNetFamily", "SatbTransformerFamily", "SatbTransformerJSBFamily",
           "SatbOrderlessKindSettings", "SatbOrderlessFamily", "corpus_steps", "run_folder"]

_REPRESENTATION = "SATB steps: S, A, T, B (pitch, hold or rest) per sixteenth, bar position given, fermata predicted"


def corpus_steps(notes: pd.DataFrame, pieces: pd.DataFrame | None = None) -> list:
    """Every chorale of a four-voice note table as :class:`SatbSteps`, in order."""
    from ..representations.satb_steps import chorale_steps

    return list(chorale_steps(notes, pieces).values())


# ---------------------------------------------------------------------- settings


@dataclasses.dataclass(frozen=True)
class SatbCountsSettings(Settings):
    """The counting floor has nothing to set: its smoothing is chosen on validation."""

    kind: ClassVar[str] = "satb_counts"


@dataclasses.dataclass(frozen=True)
class SatbNetworkSettings(Settings, SatbNetSettings):
    """A network kind's settings: the network's (:class:`SatbNetSettings`) and its budget.

    ``cpu_minutes`` counts this process's CPU time (both cores: one quiet wall-clock
    minute is up to two CPU minutes), so a budget means the same on a shared machine.
    """

    cpu_minutes: float | None = None
    wall_minutes: float | None = None
    epochs: int | None = None
    tempo: float = 100.0
    SMOKE: ClassVar[Mapping[str, Any]] = {"units": 16, "n_layers": 1, "embedding": 8, "head_units": 16,
                                          "condition_units": 8, "crop_steps": 32, "crops_per_epoch": 32,
                                          "batch_size": 16, "epochs": 1, "dilations": (1, 2, 4), "num_heads": 2,
                                          "cpu_minutes": None}

    def network(self) -> SatbNetSettings:
        """The network's part of these settings."""
        names = {f.name for f in dataclasses.fields(SatbNetSettings)}
        return SatbNetSettings(**{k: getattr(self, k) for k in names})


@dataclasses.dataclass(frozen=True)
class SatbLSTMSettings(SatbNetworkSettings):
    """``satb_lstm``: two LSTM layers of 256 units."""

    kind: ClassVar[str] = "satb_lstm"
    cpu_minutes: float | None = 12.0


@dataclasses.dataclass(frozen=True)
class SatbWaveNetSettings(SatbNetworkSettings):
    """``satb_wavenet``: 12 gated blocks of 128 channels, receptive field 127 steps (8 bars)."""

    kind: ClassVar[str] = "satb_wavenet"
    trunk: str = "wavenet"
    units: int = 128
    cpu_minutes: float | None = 12.0


@dataclasses.dataclass(frozen=True)
class SatbTransformerSettings(SatbNetworkSettings):
    """``satb_transformer``: three relative-attention blocks of width 128, four heads; the
    shipped model with the longest budget, since it learned fastest of the three trunks at an
    equal 12 CPU minutes on validation (see docs/four_voices.md)."""

    kind: ClassVar[str] = "satb_transformer"
    trunk: str = "transformer"
    units: int = 128
    n_layers: int = 3
    cpu_minutes: float | None = 24.0


@dataclasses.dataclass(frozen=True)
class SatbTransformerJSBSettings(SatbNetworkSettings):
    """``satb_transformer_jsb``: ``satb_transformer``'s network for JSB, which has no
    fermatas and no melody to harmonize (every crop unconditioned)."""

    kind: ClassVar[str] = "satb_transformer_jsb"
    trunk: str = "transformer"
    units: int = 128
    n_layers: int = 3
    fermatas: bool = False
    condition_share: float = 0.0
    cpu_minutes: float | None = 16.0


@dataclasses.dataclass(frozen=True)
class SatbOrderlessKindSettings(Settings, SatbOrderlessSettings):
    """``satb_orderless``: ten residual blocks of 96 channels reading 62 steps (almost four
    bars of 4/4) each way, and its budget (as :class:`SatbNetworkSettings`)."""

    kind: ClassVar[str] = "satb_orderless"
    cpu_minutes: float | None = 30.0
    wall_minutes: float | None = None
    epochs: int | None = None
    tempo: float = 100.0
    SMOKE: ClassVar[Mapping[str, Any]] = {"units": 16, "embedding": 8, "dilations": (1, 2), "crop_steps": 32,
                                          "crops_per_epoch": 32, "batch_size": 16, "epochs": 1, "gibbs_steps": 4,
                                          "cpu_minutes": None}

    def network(self) -> SatbOrderlessSettings:
        """The network's part of these settings."""
        names = {f.name for f in dataclasses.fields(SatbOrderlessSettings)}
        return SatbOrderlessSettings(**{k: getattr(self, k) for k in names})


# ------------------------------------------------------------------------ family


def run_folder(kind: str, settings: SatbNetSettings | SatbOrderlessSettings, split: str) -> Path:
    """Where a network kind's training run lives: ``models/runs/<kind>-<hash>``, the hash
    of the network settings and the data split, so the same run resumes and another starts anew
    (``MUSICALPY_RUNS_DIR`` moves the ``runs`` folder, as the tests do)."""
    text = json.dumps({"settings": settings.to_dict(), "split": split}, sort_keys=True)
    if os.environ.get("MUSICALPY_RUNS_DIR"):
        root = Path(os.environ["MUSICALPY_RUNS_DIR"])
    else:
        root = (project_root() or Path.home() / ".cache" / "musicalpy") / "models" / "runs"
    return root / f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


class SatbFamily(Family):
    """What every SATB-steps kind shares: scoring, generation, harmonizing.

    ``model.fitted`` is an object with ``log_probs(chorales, given_soprano=...)``,
    ``sample(positions, soprano=..., fermata=..., temperature=..., seed=...)``,
    ``save(folder)`` and ``fermatas``.
    """

    harmonizes: ClassVar[bool] = True
    supports_top_k: ClassVar[bool] = False

    @staticmethod
    def fitted_class() -> type:
        """The class of ``model.fitted`` (with ``save(folder)`` and ``load(folder)``)."""
        raise NotImplementedError

    def wrap(self, fitted: Any, vocabulary: Any, corpus: Any, settings: Any) -> Trained:
        kind = self.fitted_class()
        if not isinstance(fitted, kind):
            raise ValueError(f"fitted must be a {kind.__name__} for the {self.kind} kind, got {type(fitted).__name__}")
        return Trained(fitted, list(VOICES), _state(corpus_steps(corpus.split("train").notes, corpus.pieces)))

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        return {self.fitted_class().__name__: model.fitted.save(folder)}

    def load(self, folder: Path, card: Mapping[str, Any]) -> Any:
        return self.fitted_class().load(folder)

    def representation(self, model: Any) -> dict[str, Any]:
        from ..representations.satb_steps import HIGHEST_PITCH, LOWEST_PITCH, N_VALUES

        return {"encoding": _REPRESENTATION, "vocabulary_size": N_VALUES, "pitches": [LOWEST_PITCH, HIGHEST_PITCH],
                "fermatas": bool(model.fitted.fermatas)}

    # ------------------------------------------------------------------- scoring

    def _tables(self, model: Any, notes: pd.DataFrame, given_soprano: bool,
                pieces: pd.DataFrame | None = None) -> tuple[list, list]:
        chorales = corpus_steps(notes, pieces)
        return chorales, model.fitted.log_probs(chorales, given_soprano=given_soprano)

    def score(self, model: Any, notes: pd.DataFrame) -> tuple[float, int, str, str]:
        chorales, tables = self._tables(model, notes, False)
        total = float(sum(t.sum() for t in tables))
        caveat = ("unconditioned; per step the fermata flag (predicted) then S, A, T, B; tokens are voice values "
                  "(4 per sixteenth), the fermata's cost included in the total; notes off the sixteenth grid count "
                  "as notes")
        if not model.fitted.fermatas:
            caveat = "unconditioned; S, A, T, B per sixteenth (4 voice tokens per step); no fermatas modelled"
        return total, 4 * sum(c.n_steps for c in chorales), _REPRESENTATION, caveat

    def score_given_soprano(self, model: Any, notes: pd.DataFrame,
                            pieces: pd.DataFrame | None = None) -> dict[str, Any]:
        """Bits per alto, tenor and bass note given the soprano and its fermatas.

        ``pieces`` (``piece``, ``time_signature``, ``pickup_beats``) places the bar
        lines of pieces whose notes carry no ``bar_start`` (default: 4/4 from beat 0),
        as a harmonization of a melody in 3/4 with a pickup needs.

        Returns
        -------
        dict
            ``log_likelihood`` (nats), ``n_tokens`` (A, T, B values), ``n_notes`` (the
            alto, tenor and bass notes of ``notes``), ``bits_per_note``.
        """
        chorales, tables = self._tables(model, notes, True, pieces)
        total = float(sum(t.sum() for t in tables))
        n_notes = int(notes["part"].isin(VOICES[1:]).sum())
        return {"log_likelihood": total, "n_tokens": 3 * sum(c.n_steps for c in chorales), "n_notes": n_notes,
                "bits_per_note": -total / math.log(2) / max(n_notes, 1)}

    # ---------------------------------------------------------------- generation

    def _n_steps(self, model: Any, budget: Budget) -> int:
        from ..representations.chorale_grid import STEPS_PER_QUARTER

        if budget.n_notes is not None:
            per_step = max(float(model.state.get("notes_per_step", 1.0)), 1e-3)
            return int(math.ceil(1.2 * budget.n_notes / per_step)) + 16
        return int(math.ceil(budget.beats * STEPS_PER_QUARTER))

    def generate(self, model: Any, budget: Budget, n_samples: int, *, temperature: float, top_k: int | None,
                 top_p: float | None, primer: pd.DataFrame | None, seed: int) -> pd.DataFrame:
        from ..representations.chorale_grid import step_positions
        from ..representations.satb_steps import decode_steps

        n_steps = self._n_steps(model, budget)
        positions = [step_positions(n_steps, time_signature="4/4")] * n_samples
        written = model.fitted.sample(positions, temperature=temperature, seed=seed)
        tempo = float(getattr(model.settings, "tempo", 100.0))
        notes = concat_notes([decode_steps(steps, piece=f"sample_{k}", tempo=tempo) for k, steps in enumerate(written)])
        return budget.trim(notes, per_voice=budget.n_notes is None)

    def harmonize(self, model: Any, melody: Any, *, seed: int, sample: bool, temperature: float) -> pd.DataFrame:
        return self.harmonize_many(model, [melody], seed=seed, sample=sample, temperature=temperature)[0]

    def harmonize_many(self, model: Any, melodies: Sequence[Any], *, seed: int, sample: bool,
                       temperature: float) -> list[pd.DataFrame]:
        """Every melody in one batch: soprano and fermatas forced, A, T, B written (greedy
        unless ``sample``); a batch gives each melody what it gives alone."""
        from ..representations.satb_steps import decode_steps, melody_steps
        from .base import keep_melody

        if not melodies:
            return []
        given = [melody_steps(melody) for melody in melodies]
        written = model.fitted.sample([s.position for s in given], soprano=[s.values[:, 0] for s in given],
                                      fermata=[s.fermata for s in given], temperature=temperature if sample else 0.0,
                                      seed=seed)
        tempo = float(getattr(model.settings, "tempo", 100.0))
        out = []
        for melody, steps in zip(melodies, written, strict=True):
            starts = np.round(melody.notes["start_beat"].to_numpy(float), 6)
            exact = melody.notes.assign(part=VOICES[0], fermata=np.isin(starts, np.round(np.asarray(melody.fermatas, float), 6)))
            out.append(keep_melody(decode_steps(steps, piece=melody.name, tempo=tempo), exact, melody.name, tempo))
        return out


class SatbCountsFamily(SatbFamily):
    """The joint counting floor (:class:`musicalpy.satb_counts.SatbCounts`)."""

    kind = "satb_counts"
    settings_class = SatbCountsSettings
    fitted_description: ClassVar[str] = "SatbCounts"

    def train(self, corpus: Any, settings: Any, progress: bool) -> Trained:
        from ..satb_counts import SatbCounts

        train = corpus_steps(corpus.split("train").notes, corpus.pieces)
        validation = corpus_steps(corpus.split("validation").notes, corpus.pieces)
        fermatas = bool(any(c.fermata.any() for c in train))
        fitted = SatbCounts(fermatas=fermatas).fit(train, validation or None)
        return Trained(fitted, list(VOICES), _state(train))

    @staticmethod
    def fitted_class() -> type:
        from ..satb_counts import SatbCounts

        return SatbCounts

    def selection(self, settings: Any) -> dict[str, Any]:
        return {"split": "validation", "metric": "validation log-likelihood over the smoothing grid",
                "candidates": []}


def _state(train: Sequence[Any]) -> dict[str, Any]:
    """Notes per step (a note budget's step count) and the soprano's range in training."""
    from ..representations.satb_steps import pitch_of

    values = np.concatenate([c.values for c in train])
    soprano = pitch_of(values[:, 0])
    soprano = soprano[soprano < 128]
    return {"notes_per_step": float((values >= 2).sum() / max(len(values), 1)),
            "soprano_range": [int(soprano.min()), int(soprano.max())] if len(soprano) else [60, 81]}


class SatbNetFamily(SatbFamily):
    """A network kind: :class:`musicalpy.models.satb_net.SatbNet` with a trunk."""

    fitted_description: ClassVar[str] = "SatbNet"
    #: Where the family takes its training data (the JSB kind: JSB's own split).
    default_corpus: ClassVar[str] = "bach"

    def train(self, corpus: Any, settings: Any, progress: bool) -> Trained:
        from ..models.satb_net import train_satb_net

        train = corpus_steps(corpus.split("train").notes, corpus.pieces)
        validation = corpus_steps(corpus.split("validation").notes, corpus.pieces)
        from ..corpus import split_digest

        network = settings.network()
        run_dir = run_folder(self.kind, network, split_digest(corpus))
        if progress:
            print(f"run folder {run_dir} (resumed when it holds a run of these settings)", flush=True)
        net, record = train_satb_net(network, train, validation, run_dir=run_dir, cpu_minutes=settings.cpu_minutes,
                                     wall_minutes=settings.wall_minutes, max_epochs=settings.epochs, progress=progress,
                                     net_class=self.fitted_class())
        state = _state(train)
        state.update({"epochs_run": len(record["history"]), "best_epoch": record["best_epoch"],
                      "cpu_minutes": round(record["cpu_s"] / 60, 2), "wall_minutes": round(record["wall_s"] / 60, 2),
                      "curve": record["history"], "run_folder": run_dir.name})
        return Trained(net, list(VOICES), state)

    @staticmethod
    def fitted_class() -> type:
        from ..models.satb_net import SatbNet

        return SatbNet

    def training_budget(self, settings: Any) -> int | None:
        return settings.epochs if settings.epochs is not None else 0

    def selection(self, settings: Any) -> dict[str, Any]:
        return {"split": "validation", "metric": "the epoch of lowest validation bits per note (unconditioned, "
                f"fermatas paid); learning rate halved after {settings.patience} epochs without one",
                "candidates": []}


class SatbLSTMFamily(SatbNetFamily):
    """The frame-wise joint LSTM."""

    kind = "satb_lstm"
    settings_class = SatbLSTMSettings


class SatbWaveNetFamily(SatbNetFamily):
    """The frame-wise joint WaveNet."""

    kind = "satb_wavenet"
    settings_class = SatbWaveNetSettings


class SatbTransformerFamily(SatbNetFamily):
    """The frame-wise joint Transformer."""

    kind = "satb_transformer"
    settings_class = SatbTransformerSettings


class SatbTransformerJSBFamily(SatbNetFamily):
    """``satb_transformer`` on JSB Chorales' sixteenth-note file and split."""

    kind = "satb_transformer_jsb"
    settings_class = SatbTransformerJSBSettings
    default_corpus: ClassVar[str] = "jsb_voices"
    harmonizes: ClassVar[bool] = False
    benchmark: ClassVar[str] = "jsb16"

    def harmonize_many(self, model, melodies, *, seed, sample, temperature):
        return Family.harmonize_many(self, model, melodies, seed=seed, sample=sample, temperature=temperature)


class SatbOrderlessFamily(SatbNetFamily):
    """The orderless network (:class:`musicalpy.models.satb_orderless.SatbOrderless`):
    it generates and harmonizes by Gibbs sampling and rewrites any part of a chorale
    (:func:`musicalpy.rewrite`)."""

    kind = "satb_orderless"
    settings_class = SatbOrderlessKindSettings
    fitted_description: ClassVar[str] = "SatbOrderless"
    #: Rewrites any voices and steps of a chorale (the causal kinds cannot).
    rewrites: ClassVar[bool] = True

    @staticmethod
    def fitted_class() -> type:
        from ..models.satb_orderless import SatbOrderless

        return SatbOrderless

    def selection(self, settings: Any) -> dict[str, Any]:
        return {"split": "validation", "metric": "the epoch of lowest validation NLL of hidden voice-steps (fixed "
                f"crops and masks); learning rate halved after {settings.patience} epochs without one",
                "candidates": []}
