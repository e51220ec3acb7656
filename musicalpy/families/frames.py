"""Frame families: models of 88-key quarter-note frames, the JSB Chorales benchmark's.

Six kinds, each a row of notebook 08's table, every one scored by the one function
:func:`musicalpy.frame_estimators.frame_nll` (the benchmark's nats per frame):

==================  ========================================================================
kind                ``ZooModel.fitted``
==================  ========================================================================
``jsb_bernoulli``   :class:`~musicalpy.frame_estimators.IndependentBernoulli`: the floor
``jsb_hmm``         :class:`~musicalpy.frame_estimators.FrameHMM`: Baum-Welch, one Bernoulli
                    per key and state (``n_states`` 16, 64, 256 in notebook 08)
``jsb_lstm``        :class:`~musicalpy.models.frame_rnn.FrameRNN`, independent sigmoid
                    outputs (the published RNN / LSTM / GRU / TCN rows' output)
``jsb_lstm_nade``   :class:`~musicalpy.models.frame_rnn.FrameRNN`, output autoregressive
                    within the frame, key by key from low to high (RNN-NADE's idea with
                    masked dense layers; exact likelihood)
``jsb_wavenet``     :class:`~musicalpy.models.frame_rnn.FrameRNN` with a WaveNet trunk
                    (gated dilated causal convolutions over the frames), independent
                    sigmoid outputs (the published TCN row's output)
``jsb_vae``         :class:`~musicalpy.models.frame_vae.FrameVAE`: the series' piano-roll
                    VAE on windows of frames; its score is an upper bound on its NLL
==================  ========================================================================

The recurrent kinds take ``trunk="gru"`` for a GRU in place of the LSTM.

The frames come from the corpus's note table with :func:`corpus_frames` (exactly the
benchmark's frames for ``load_corpus("jsb")``, whose pieces carry ``n_frames``); the
neural kinds stop early on the validation split. A sample is decoded by
:func:`musicalpy.representations.decode_frames` into one part, ``Keys``. Model folder:
``frame_model.json`` plus ``hmm.npz`` (HMM) or ``model.keras`` (the networks).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..models.settings import VAESettings
from .base import Budget, Family, Settings, Trained, concat_notes

__all__ = ["FRAME_PART", "BernoulliFrameSettings", "FrameHMMSettings", "FrameLSTMSettings", "FrameNADESettings",
           "FrameWaveNetSettings", "FrameVAESettings", "NADE_STUDY", "FrameFamily", "BernoulliFrameFamily", "FrameHMMFamily",
           "FrameLSTMFamily", "FrameNADEFamily", "FrameWaveNetFamily", "FrameVAEFamily", "corpus_frames"]

#: The one part a frame model writes (:data:`musicalpy.jsb.QUARTER_PART`).
FRAME_PART = "Keys"
_REPRESENTATION = "88-key quarter-note frames"
_MODEL_FILE = "frame_model.json"


def corpus_frames(notes: pd.DataFrame, pieces: pd.DataFrame | None = None) -> list[np.ndarray]:
    """The 88-key quarter-note frames of every piece of a note table, all parts merged.

    Parameters
    ----------
    notes : pd.DataFrame
        A note table (e.g. ``corpus.split("test").notes``).
    pieces : pd.DataFrame, optional
        The corpus's piece table; when it has an ``n_frames`` column (the JSB corpus)
        each piece keeps that many frames, trailing silence included, so the frames
        are exactly the benchmark's. Without it a piece ends with its last note.

    Returns
    -------
    list of np.ndarray, each shape=(n_frames, 88), dtype=bool
        In order of the pieces' first appearance in ``notes``.
    """
    from ..representations.frames import encode_frames

    lengths = {}
    if pieces is not None and "n_frames" in pieces.columns:
        steps = pieces["steps_per_quarter"] if "steps_per_quarter" in pieces.columns else 1
        lengths = dict(zip(pieces["piece"], (pieces["n_frames"] / steps).astype(int), strict=True))
    return [encode_frames(piece_notes, n_frames=lengths.get(name))
            for name, piece_notes in notes.groupby("piece", sort=False) if len(piece_notes)]


# ---------------------------------------------------------------------- settings


@dataclasses.dataclass(frozen=True)
class BernoulliFrameSettings(Settings):
    """One Bernoulli per key; ``smoothing`` is its pseudo-count (see
    :class:`~musicalpy.frame_estimators.IndependentBernoulli`)."""

    kind: ClassVar[str] = "jsb_bernoulli"
    smoothing: float = 0.3
    tempo: float = 120.0


@dataclasses.dataclass(frozen=True)
class FrameHMMSettings(Settings):
    """:class:`~musicalpy.frame_estimators.FrameHMM`: ``epochs`` Baum-Welch iterations.

    ``pseudocount`` 0.05 was chosen on validation at 256 states: 6.458 nats/frame after
    100 iterations, against 6.633 for 0.01 and 7.0 for FrameHMM's own 1e-3 (whose
    256 x 256 transitions, from 13,807 training frames, overfit); validation still
    fell by 0.004 from 50 to 100 iterations.
    """

    kind: ClassVar[str] = "jsb_hmm"
    SMOKE: ClassVar[Mapping[str, Any]] = {"n_states": 8, "epochs": 5}
    n_states: int = 256
    epochs: int = 100
    pseudocount: float = 0.05
    seed: int = 0
    tempo: float = 120.0


@dataclasses.dataclass(frozen=True)
class FrameLSTMSettings(Settings):
    """A :class:`~musicalpy.models.frame_rnn.FrameRNN` with independent sigmoid outputs.

    Attributes
    ----------
    trunk : {"lstm", "gru"}
        The recurrent layer (:data:`~musicalpy.models.frame_rnn.TRUNKS`).
    units, n_layers, dropout, learning_rate, batch_size
        Network and training (see :func:`~musicalpy.models.frame_rnn.build_frame_rnn`).
    epochs, patience
        At most ``epochs`` (None: no cap); stop after ``patience`` epochs without a better
        validation NLL.
    cpu_minutes, wall_minutes
        Budgets (None: none): no epoch starts once training has used this much process CPU
        time or wall-clock time. ``musicalpy train jsb_lstm --cpu-minutes 30`` sets one;
        the shipped models (:data:`musicalpy.pretrained.SHIPPED`) have a cap that early
        stopping reaches first.
    lr_patience, lr_factor
        Multiply the learning rate by ``lr_factor`` after every ``lr_patience`` epochs
        without a better validation NLL (0: constant).
    transpose : int
        Random transposition of each training chorale per epoch, +- semitones. Off by
        default: the benchmark's chorales are mostly transposed to C major, and +-3
        semitones cost 0.75 nats/frame on validation (autoregressive output with 256
        MADE units, epoch 40: 6.16 with it at learning rate 3e-3, 5.41 without at 5e-3;
        the learning rates differ, so part of the gap may be theirs).
    seed : int
    tempo : float
        Quarter notes per minute of decoded samples.
    """

    kind: ClassVar[str] = "jsb_lstm"
    SMOKE: ClassVar[Mapping[str, Any]] = {"units": 16, "epochs": 1}
    trunk: str = "lstm"
    units: int = 256
    n_layers: int = 1
    dropout: float = 0.3
    learning_rate: float = 5e-3
    batch_size: int = 8
    epochs: int | None = 100
    patience: int = 8
    cpu_minutes: float | None = None
    wall_minutes: float | None = None
    lr_patience: int = 0
    lr_factor: float = 0.5
    transpose: int = 0
    seed: int = 0
    tempo: float = 120.0


@dataclasses.dataclass(frozen=True)
class FrameNADESettings(FrameLSTMSettings):
    """:class:`FrameLSTMSettings` with the output autoregressive within the frame;
    ``hidden`` MADE units (0: a linear term in the keys below).

    Chosen on validation (nats/frame, 256 LSTM units, learning rate 5e-3): the linear
    term alone was still at 6.28 after 50 epochs; 256 MADE units with dropout 0.3 kept
    epoch 55 at 5.369 (test 5.226, 395 s); 512 units with dropout 0.4 kept epoch 56
    at 5.294 (test 5.195, 567 s on 2 cores shared with a load of 10-14). Then, one change
    at a time (:data:`NADE_STUDY`): dropout 0.4 is worth 0.18 against none, an LSTM 0.07
    against a GRU, and a learning rate halved on plateaus 0.001 (so the rate stays
    constant, ``lr_patience`` 0).
    """

    kind: ClassVar[str] = "jsb_lstm_nade"
    SMOKE: ClassVar[Mapping[str, Any]] = {"units": 16, "hidden": 16, "epochs": 1}
    dropout: float = 0.4
    hidden: int = 512


#: The validation study behind :class:`FrameNADESettings`, one training choice at a time:
#: validation nats per frame of the best epoch ``with`` the choice and ``without`` it
#: (all else equal unless ``note`` says otherwise). Measured on 2026-12-01 on the canonical
#: validation split only (the test split was not read for any of them), 2 CPU cores shared
#: with other jobs. Notebook 08 shows it; a new study replaces these rows.
NADE_STUDY: tuple[dict[str, Any], ...] = (
    {"choice": "MADE hidden layer (512 units) in the autoregressive output", "with": 5.294, "without": 6.28,
     "note": "without: the linear term in the keys below alone, still at 6.28 after 50 epochs"},
    {"choice": "512 MADE units and dropout 0.4, against 256 and 0.3", "with": 5.294, "without": 5.369,
     "note": "two settings changed together"},
    {"choice": "512 MADE units, against 1,024 (both dropout 0.4)", "with": 5.294, "without": 5.343,
     "note": "1,024 units: best epoch 52 of 60, 509 s on 2 shared cores (2026-12-02); wider is worse here"},
    {"choice": "transposition augmentation, +-3 semitones", "with": 6.16, "without": 5.41,
     "note": "256 MADE units, epoch 40; learning rate 3e-3 with it and 5e-3 without, so part of the gap may "
             "be the learning rate's"},
    {"choice": "dropout 0.4 (against none)", "with": 5.2927, "without": 5.4693,
     "note": "both with the learning-rate schedule; without dropout the best epoch was 27 of 35"},
    {"choice": "learning rate halved after every 3 epochs without progress (against constant 5e-3)",
     "with": 5.2927, "without": 5.294,
     "note": "best epoch 63 of 71 against 56; kept constant: the same validation NLL for 7 more epochs"},
    {"choice": "LSTM trunk (against a GRU of the same width)", "with": 5.2927, "without": 5.3648,
     "note": "both with the learning-rate schedule; the GRU's best epoch was 51 of 59"},
    {"choice": "early stopping: the best epoch's weights (against the last epoch trained)", "with": 5.294,
     "without": 5.415, "note": "the kept settings, epoch 56 of 64 (notebook 08's full run); with the "
                               "learning-rate schedule the gap was 0.006, without dropout 0.039"},
)


@dataclasses.dataclass(frozen=True)
class FrameWaveNetSettings(FrameLSTMSettings):
    """:class:`FrameLSTMSettings` with a WaveNet trunk: ``units`` residual and skip
    channels, one gated residual block per entry of ``dilations`` (receptive field
    ``1 + sum(dilations)`` frames); independent sigmoid outputs per key."""

    kind: ClassVar[str] = "jsb_wavenet"
    SMOKE: ClassVar[Mapping[str, Any]] = {"units": 8, "dilations": (1, 2), "epochs": 1}
    trunk: str = "wavenet"
    units: int = 128
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 1, 2, 4, 8, 16)
    learning_rate: float = 2e-3


@dataclasses.dataclass(frozen=True)
class FrameVAESettings(Settings):
    """The series' VAE (:class:`~musicalpy.families.vae.VAESettings`, notebook 05's
    model and training) on windows of ``window_steps`` quarter-note frames of all 88
    keys; ``hop_steps`` between training windows; ``n_draws`` posterior draws per
    window when scoring the bound."""

    kind: ClassVar[str] = "jsb_vae"
    SMOKE: ClassVar[Mapping[str, Any]] = {"epochs": 1, "n_draws": 2}
    window_steps: int = 16
    hop_steps: int = 4
    latent_dim: int = VAESettings.latent_dim
    filters: tuple[int, ...] = VAESettings.filters
    dense_units: int = VAESettings.dense_units
    warmup_epochs: int = VAESettings.warmup_epochs
    free_bits: float = VAESettings.free_bits
    learning_rate: float = VAESettings.learning_rate
    batch_size: int = VAESettings.batch_size
    epochs: int = VAESettings.epochs
    n_draws: int = 8
    seed: int = VAESettings.seed
    tempo: float = 120.0

    def vae_settings(self) -> Any:
        """These settings as :class:`~musicalpy.families.vae.VAESettings`, for
        :func:`~musicalpy.families.vae.fit_vae`: the keyboard's 88 rows, one step per quarter."""
        from ..representations.frames import LOWEST_KEY, N_KEYS

        shared = {f.name: getattr(self, f.name) for f in dataclasses.fields(VAESettings)
                  if f.name in {g.name for g in dataclasses.fields(self)} and f.name != "tempo"}
        return VAESettings(**shared, lowest_pitch=LOWEST_KEY, n_pitches=N_KEYS, steps_per_quarter=1)


# ------------------------------------------------------------------------ family


class FrameFamily(Family):
    """What every frame kind shares: frames from the corpus, one part, scoring by
    :func:`~musicalpy.frame_estimators.frame_nll`; a subclass says how to fit and load."""

    fitted_description: ClassVar[str] = "a frame model (log_prob, sample, save, load)"
    benchmark: ClassVar[str] = "jsb"

    def fit(self, train: list[np.ndarray], valid: list[np.ndarray], settings: Any, progress: bool) -> Any:
        raise NotImplementedError

    def load_fitted(self, folder: Path) -> Any:
        raise NotImplementedError

    def train(self, corpus: Any, settings: Any, progress: bool) -> Trained:
        train = corpus_frames(corpus.split("train").notes, corpus.pieces)
        valid = corpus_frames(corpus.split("validation").notes, corpus.pieces)
        if not train:
            raise ValueError("the corpus's training split has no notes to make frames of")
        return Trained(self.fit(train, valid, settings, progress), [FRAME_PART], {})

    def wrap(self, fitted: Any, vocabulary: Any, corpus: Any, settings: Any) -> Trained:
        if not (hasattr(fitted, "log_prob") and hasattr(fitted, "sample") and hasattr(fitted, "save")):
            raise ValueError(f"fitted must be a frame model with log_prob, sample and save for the {self.kind} kind, "
                             f"got {type(fitted).__name__}")
        return Trained(fitted, [FRAME_PART], {})

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        model.fitted.save(folder, overwrite=True)
        return {"model": _MODEL_FILE}

    def load(self, folder: Path, card: Mapping[str, Any]) -> Any:
        return self.load_fitted(folder)

    def generate(self, model: Any, budget: Budget, n_samples: int, *, temperature: float, top_k: int | None,
                 top_p: float | None, primer: pd.DataFrame | None, seed: int) -> pd.DataFrame:
        from ..representations.frames import decode_frames

        if budget.n_notes is not None:
            # A decoded frame starts about two notes (held notes merge): sample enough, then trim.
            n_frames = budget.n_notes + 4
        else:
            n_frames = int(math.ceil(budget.beats)) + 1
        tempo = model.settings.get("tempo", 120.0)
        samples = []
        for index in range(n_samples):
            frames = self.sample(model.fitted, n_frames, temperature=temperature, seed=seed + index)
            samples.append(decode_frames(frames, tempo=tempo, piece=f"sample_{index}", part=FRAME_PART))
        return budget.trim(concat_notes(samples), per_voice=False)

    def sample(self, fitted: Any, n_frames: int, *, temperature: float, seed: int) -> np.ndarray:
        if temperature != 1.0:
            raise ValueError(f"the {self.kind} kind samples at temperature 1 only, got {temperature!r}")
        return fitted.sample(n_frames, seed=seed)

    def score(self, model: Any, notes: pd.DataFrame) -> tuple[float, int, str, str]:
        from ..frame_estimators import frame_nll

        chorales = corpus_frames(notes)
        n_frames = sum(len(c) for c in chorales)
        if n_frames == 0:
            raise ValueError("the held-out notes give no frames")
        caveat = ("frames up to each piece's last note (the JSB benchmark's trailing silent frames need "
                  "musicalpy.jsb.benchmark_nll)")
        return -frame_nll(model.fitted, chorales) * n_frames, n_frames, _REPRESENTATION, caveat


class BernoulliFrameFamily(FrameFamily):
    """The floor: every key its own training frequency, smoothed."""

    kind = "jsb_bernoulli"
    settings_class = BernoulliFrameSettings

    def fit(self, train, valid, settings, progress):
        from ..frame_estimators import IndependentBernoulli

        return IndependentBernoulli(settings.smoothing).fit(train)

    def load_fitted(self, folder):
        from ..frame_estimators import IndependentBernoulli

        return IndependentBernoulli.load(folder)


class FrameHMMFamily(FrameFamily):
    """Baum-Welch on the frames: a hidden state, one Bernoulli per key and state."""

    kind = "jsb_hmm"
    settings_class = FrameHMMSettings

    def fit(self, train, valid, settings, progress):
        from ..frame_estimators import FrameHMM

        if progress:
            print(f"Baum-Welch on frames, {settings.n_states} states, {settings.epochs} iterations", flush=True)
        return FrameHMM(settings.n_states, n_iter=settings.epochs, pseudocount=settings.pseudocount,
                        random_state=settings.seed, verbose=progress).fit(train)

    def load_fitted(self, folder):
        from ..frame_estimators import FrameHMM

        return FrameHMM.load(folder)

    def selection(self, settings: Any) -> dict[str, Any]:
        return {"split": "validation", "metric": "none: one candidate, the family defaults (pseudocount chosen "
                "on validation, see FrameHMM)", "candidates": []}


class FrameLSTMFamily(FrameFamily):
    """An LSTM over frames, independent sigmoid outputs per key."""

    kind = "jsb_lstm"
    settings_class = FrameLSTMSettings
    output: ClassVar[str] = "independent"

    def network(self, settings: Any, progress: bool) -> Any:
        from ..models.frame_rnn import DEFAULT_DILATIONS, FrameRNN

        return FrameRNN(self.output, trunk=settings.trunk, units=settings.units, n_layers=settings.n_layers,
                        dropout=settings.dropout, hidden=getattr(settings, "hidden", 0),
                        dilations=getattr(settings, "dilations", DEFAULT_DILATIONS),
                        learning_rate=settings.learning_rate, epochs=settings.epochs, batch_size=settings.batch_size,
                        patience=settings.patience, lr_patience=settings.lr_patience, lr_factor=settings.lr_factor,
                        transpose=settings.transpose, seed=settings.seed, cpu_minutes=settings.cpu_minutes,
                        wall_minutes=settings.wall_minutes, verbose=progress)

    def fit(self, train, valid, settings, progress):
        if not valid:
            raise ValueError(f"the {self.kind} kind stops early on the validation split, and it has no notes")
        return self.network(settings, progress).fit(train, valid)

    def train(self, corpus: Any, settings: Any, progress: bool) -> Trained:
        """Fit, and keep the training's record for the card (``state``): epochs run, the
        kept epoch, CPU and wall-clock minutes, and the validation curve per epoch."""
        trained = super().train(corpus, settings, progress)
        history = trained.fitted.history_
        curve = [{"epoch": int(row.epoch), "nats_per_frame": round(float(row.valid_nll), 5),
                  "cpu_s": round(float(row.cpu_s), 1), "learning_rate": float(row.learning_rate)}
                 for row in history.itertuples()]
        state = {"epochs_run": len(history), "best_epoch": int(trained.fitted.best_epoch_),
                 "cpu_minutes": round(float(history["cpu_s"].iloc[-1]) / 60, 2),
                 "wall_minutes": round(float(history["seconds"].sum()) / 60, 2), "curve": curve}
        return trained._replace(state=state)

    def load_fitted(self, folder):
        from ..models.frame_rnn import FrameRNN

        return FrameRNN.load(folder)

    def sample(self, fitted, n_frames, *, temperature, seed):
        return fitted.sample(n_frames, seed=seed, temperature=temperature)

    def training_budget(self, settings: Any) -> int | None:
        return settings.epochs if settings.epochs is not None else 0  # trained by epochs, even when uncapped

    def selection(self, settings: Any) -> dict[str, Any]:
        return {"split": "validation", "metric": "frame NLL (nats/frame): the epoch with the lowest is kept",
                "candidates": []}


class FrameNADEFamily(FrameLSTMFamily):
    """An LSTM over frames whose output is autoregressive within the frame."""

    kind = "jsb_lstm_nade"
    settings_class = FrameNADESettings
    output: ClassVar[str] = "autoregressive"


class FrameWaveNetFamily(FrameLSTMFamily):
    """A WaveNet over frames (dilated causal convolutions), independent sigmoid outputs."""

    kind = "jsb_wavenet"
    settings_class = FrameWaveNetSettings

    def fit(self, train, valid, settings, progress):
        if settings.trunk != "wavenet":
            raise ValueError(f"the {self.kind} kind's trunk is 'wavenet', got trunk={settings.trunk!r} "
                             "(use jsb_lstm for a recurrent trunk)")
        return super().fit(train, valid, settings, progress)


class FrameVAEFamily(FrameFamily):
    """The series' piano-roll VAE on windows of frames, scored by its ELBO (a bound)."""

    kind = "jsb_vae"
    settings_class = FrameVAESettings

    def fit(self, train, valid, settings, progress):
        import keras

        from ..models.frame_vae import FrameVAE, frame_windows
        from .vae import fit_vae

        if not valid:
            raise ValueError(f"the {self.kind} kind reports its validation bound, and the validation split has no notes")
        keras.utils.set_random_seed(settings.seed)
        train_windows, _ = frame_windows(train, settings.window_steps, settings.hop_steps)
        valid_windows, _ = frame_windows(valid, settings.window_steps)
        network, _ = fit_vae(settings.vae_settings(), train_windows, valid_windows, verbose=2 if progress else 0)
        return FrameVAE(network, n_draws=settings.n_draws, seed=settings.seed)

    def load_fitted(self, folder):
        from ..models.frame_vae import FrameVAE

        return FrameVAE.load(folder)

    def sample(self, fitted, n_frames, *, temperature, seed):
        return fitted.sample(n_frames, seed=seed, temperature=temperature)

    def selection(self, settings: Any) -> dict[str, Any]:
        return {"split": "validation", "metric": "none: one candidate, notebook 05's VAE settings on 88-key windows",
                "candidates": []}

    def score(self, model: Any, notes: pd.DataFrame) -> tuple[float, int, str, str]:
        log_likelihood, n_frames, representation, caveat = super().score(model, notes)
        return log_likelihood, n_frames, representation, f"an ELBO, a lower bound on the log-likelihood; {caveat}"
