"""The piano-roll VAE family (notebook 05): a convolutional VAE on two-bar windows.

``ZooModel.fitted`` is the trained :class:`~musicalpy.models.vae.VAE`. It models the
whole texture as one roll, so a sample is a row of windows decoded from the prior (one
part), and its likelihood is the negative ELBO, an upper bound.

Notebook 05 and the zoo train through :func:`fit_vae` on the windows of
:func:`vae_windows`. Model folder: ``model.keras``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..models.settings import VAESettings
from .base import Budget, Family, ModelError, Trained, concat_notes, voices_of

__all__ = ["VAESettings", "VAEFamily", "vae_windows", "fit_vae", "MAX_WINDOWS"]

#: VAE windows per generated sample at most.
MAX_WINDOWS = 256


def vae_windows(notes: pd.DataFrame, settings: VAESettings, *, training: bool = False, pad_last: bool = False):
    """Piano-roll windows of a note table: overlapping by ``hop_steps`` for training.

    Returns
    -------
    windows : np.ndarray, shape=(n_windows, n_pitches, window_steps)
    index : pd.DataFrame
        One row per window (piece, start step, shift, is_empty).
    """
    from ..representations import encode_piano_roll_windows

    hop = {"hop_steps": settings.hop_steps} if training else {}
    return encode_piano_roll_windows(notes, pad_last=pad_last, **hop, **settings.window_options())


def fit_vae(settings: VAESettings, train_windows: np.ndarray, val_windows: np.ndarray, *,
            datasets: tuple[Any, Any] | None = None, verbose: int = 0):
    """Build and fit the convolutional VAE of ``settings``: the one VAE training function,
    used by :func:`musicalpy.zoo.train` and notebook 05.

    Parameters
    ----------
    settings : VAESettings
    train_windows, val_windows : np.ndarray, shape=(n, n_pitches, window_steps)
    datasets : (tf.data.Dataset, tf.data.Dataset), optional
        The :func:`musicalpy.pipelines.piano_roll_dataset` pipelines of these windows, when
        the caller has them: notebook 05 trains its baseline on the same pipelines
        first, and a shuffled pipeline goes on with its own order of epochs.
    verbose : int

    Returns
    -------
    network : musicalpy.models.vae.VAE
        With the weights of the epoch of lowest validation negative ELBO (``val_loss``:
        KL weight 1 and no free bits in every epoch, so epochs compare like for like);
        all ``settings.epochs`` epochs are run and logged.
    history : keras.callbacks.History
        Every epoch's logs; ``history.history["val_loss"]`` picks the kept epoch.
    """
    import keras

    from ..models import vae as V
    from ..pipelines import piano_roll_dataset

    if len(train_windows) == 0 or len(val_windows) == 0:
        raise ValueError("the training or validation split gives no piano-roll window; load more pieces")
    steps_per_epoch = math.ceil(len(train_windows) / settings.batch_size)
    network = V.build_conv_vae((settings.n_pitches, settings.window_steps), latent_dim=settings.latent_dim,
                               filters=tuple(settings.filters), dense_units=settings.dense_units,
                               warmup_steps=settings.warmup_epochs * steps_per_epoch, free_bits=settings.free_bits,
                               seed=settings.seed)
    network.compile(optimizer=keras.optimizers.Adam(settings.learning_rate))
    if datasets is None:
        datasets = (piano_roll_dataset(train_windows, batch_size=settings.batch_size, seed=settings.seed),
                    piano_roll_dataset(val_windows, batch_size=settings.batch_size, shuffle=False))
    # Keep the epoch of lowest validation loss, not the last: with patience = epochs it
    # never stops early, and restores the best weights at the end of training.
    keep_best = keras.callbacks.EarlyStopping(monitor="val_loss", patience=settings.epochs, restore_best_weights=True)
    history = network.fit(datasets[0], validation_data=datasets[1], epochs=settings.epochs, shuffle=False,
                          verbose=verbose, callbacks=[keep_best])
    return network, history


class VAEFamily(Family):
    """The convolutional piano-roll VAE: no primer, no top-k/top-p, one part."""

    kind = "vae"
    settings_class = VAESettings
    fitted_description = "the trained VAE (musicalpy.models.vae.VAE)"
    legacy_state_keys: ClassVar[Mapping[str, str]] = {"notes_per_window": "notes_per_window",
                                                       "active_cells": "active_cells"}

    # Notebook 05 reaches the one data and training path through the family.
    windows = staticmethod(vae_windows)
    fit = staticmethod(fit_vae)

    def selection(self, settings: Any) -> dict[str, Any]:
        return {"split": "validation", "metric": "validation negative ELBO (nats per window): the epoch with the "
                "lowest is kept", "candidates": []}

    def train(self, corpus: Any, settings: Any, progress: bool) -> Trained:
        import keras

        keras.utils.set_random_seed(settings.seed)
        train_windows, _ = vae_windows(corpus.split("train").notes, settings, training=True)
        val_windows, _ = vae_windows(corpus.split("validation").notes, settings)
        network, _ = fit_vae(settings, train_windows, val_windows, verbose=2 if progress else 0)
        return Trained(network, voices_of(corpus.split("train").notes), self._state(train_windows, settings))

    def wrap(self, fitted: Any, vocabulary: Any, corpus: Any, settings: Any) -> Trained:
        import keras

        if not isinstance(fitted, keras.Model):
            raise ValueError(f"fitted must be a Keras model for the {self.kind} kind, got {type(fitted).__name__}")
        windows, _ = vae_windows(corpus.split("train").notes, settings, training=True)
        return Trained(fitted, voices_of(corpus.split("train").notes), self._state(windows, settings))

    @staticmethod
    def _state(windows: np.ndarray, settings: VAESettings) -> dict[str, Any]:
        """Notes per window (a note budget's window count) and the share of active cells."""
        from ..models import vae as V

        if len(windows) == 0:
            raise ValueError("the training split gives no piano-roll window")
        per_window = [len(V.windows_to_notes(w, **settings.decode_options())) for w in windows[:64]]
        return {"notes_per_window": float(np.mean(per_window)) or 1.0, "active_cells": float(windows.mean())}

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        model.fitted.save(folder / "model.keras")
        return {"network": "model.keras"}

    def load(self, folder: Path, card: Mapping[str, Any]) -> Any:
        import keras

        from ..models import vae  # noqa: F401  (registers the VAE classes with Keras)

        path = folder / "model.keras"
        if not path.exists():
            raise ModelError(f"{folder}: model.keras is missing")
        return keras.models.load_model(path)

    def generate(self, model: Any, budget: Budget, n_samples: int, *, temperature: float, top_k: int | None,
                 top_p: float | None, primer: pd.DataFrame | None, seed: int) -> pd.DataFrame:
        from ..models import vae as V

        settings = model.settings
        window_beats = settings.window_steps / settings.steps_per_quarter
        if budget.seconds is not None:
            n_windows = math.ceil(budget.beats / window_beats)
        else:
            n_windows = math.ceil(1.5 * budget.n_notes / max(model.state["notes_per_window"], 1.0)) + 1
        n_windows = min(max(n_windows, 1), MAX_WINDOWS)
        tables = []
        for sample in range(n_samples):
            rolls = V.binarize(model.fitted.sample(n_windows, temperature=temperature, seed=seed + sample),
                               threshold=settings.threshold)
            notes = V.windows_to_notes(rolls, concatenate=True, piece_prefix=f"sample_{sample}",
                                       **settings.decode_options())
            tables.append(budget.trim(notes, per_voice=False))
        return concat_notes(tables)

    def representation(self, model: Any) -> dict[str, Any]:
        # A token is a piano-roll cell: the roll's range, resolution and windows define them.
        settings = model.settings
        return {"encoding": "piano roll", **{name: settings.get(name) for name in (
            "lowest_pitch", "n_pitches", "steps_per_quarter", "window_steps", "hop_steps")}}

    def score(self, model: Any, notes: pd.DataFrame) -> tuple[float, int, str, str]:
        from ..models import vae as V

        settings = model.settings
        windows, _ = vae_windows(notes, settings, pad_last=True)
        if len(windows) == 0:
            raise ValueError("the held-out notes give no piano-roll window")
        scores = V.evaluate_vae(model.fitted, windows, threshold=settings.threshold, seed=settings.seed)
        n_cells = int(np.prod(windows.shape))
        return (-scores["elbo_bits_total"] * math.log(2), n_cells,
                f"piano roll {settings.n_pitches}x{settings.window_steps}",
                "ELBO bound; tokens are piano-roll cells; notes outside the roll's range are not coded")
