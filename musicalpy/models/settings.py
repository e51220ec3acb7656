"""The settings of the token networks (notebooks 03, 04 and 06) and of the piano-roll VAE
(notebook 05): their sizes, data and training budgets, kept once, here.

The networks (:mod:`musicalpy.models.lstm`, :mod:`~musicalpy.models.wavenet`,
:mod:`~musicalpy.models.transformer`, :mod:`~musicalpy.models.vae`) take their default
sizes from these classes, and the families that train them
(:mod:`musicalpy.families.token`, :mod:`~musicalpy.families.transformer`,
:mod:`~musicalpy.families.vae`) build them from these classes, so both import this module
and it imports neither. Importing it does not import TensorFlow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from ..midi import DEFAULT_TEMPO
from ..representations.piano_roll import (
    DEFAULT_LOWEST_PITCH,
    DEFAULT_N_PITCHES,
    DEFAULT_WINDOW_STEPS,
)
from ..settings import Settings

__all__ = ["TokenNetworkSettings", "LSTMSettings", "WaveNetSettings", "TransformerSettings", "VAESettings"]


@dataclasses.dataclass(frozen=True)
class TokenNetworkSettings(Settings):
    """Data and training budget shared by the token networks.

    Attributes
    ----------
    seq_length : int
        Tokens per training window.
    batch_size : int
    epochs : int
        At most this many epochs (early stopping on validation loss).
    steps_per_epoch : int or None
        Batches per epoch (None: one pass over the windows).
    patience : int
        Epochs without a better validation loss before training stops.
    max_transpose : int
        Random transposition of training windows, in semitones.
    min_count : int
        Tokens seen fewer times in training become UNK.
    dropout : float
    seed : int
    tempo : float
        Quarter notes per minute when tokens are decoded to seconds.
    """

    seq_length: int = 64
    batch_size: int = 64
    epochs: int = 5
    steps_per_epoch: int | None = 300
    patience: int = 5
    max_transpose: int = 5
    min_count: int = 1
    dropout: float = 0.3
    seed: int = 42
    tempo: float = DEFAULT_TEMPO


@dataclasses.dataclass(frozen=True)
class LSTMSettings(TokenNetworkSettings):
    """Notebook 03's token LSTM: an embedding and stacked LSTM layers.

    The full values are notebook 03's middle configuration and its training budget
    (5 epochs of 300 batches, patience 5); the notebook also tries other widths and
    depths with :meth:`replace`.
    """

    kind: ClassVar[str] = "lstm"
    SMOKE: ClassVar[Mapping[str, Any]] = {"embedding_dim": 16, "units": (32,), "seq_length": 32, "epochs": 1,
                                          "steps_per_epoch": 15, "patience": 1}
    embedding_dim: int = 64
    units: tuple[int, ...] = (128, 128)



@dataclasses.dataclass(frozen=True)
class WaveNetSettings(TokenNetworkSettings):
    """Notebook 04's WaveNet M: gated dilated causal convolutions.

    The full values are notebook 04's: 32-token windows, UNK below 2 training counts,
    6 epochs of 100 batches, no dropout (the builder's default).
    """

    kind: ClassVar[str] = "wavenet"
    SMOKE: ClassVar[Mapping[str, Any]] = {"channels": 16, "epochs": 2, "steps_per_epoch": 8, "patience": 2}
    seq_length: int = 32
    epochs: int = 6
    steps_per_epoch: int | None = 100
    patience: int = 6
    min_count: int = 2
    dropout: float = 0.0
    channels: int = 64
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16)


@dataclasses.dataclass(frozen=True)
class TransformerSettings(TokenNetworkSettings):
    """A decoder-only Transformer (:func:`musicalpy.models.transformer.build_transformer`).

    The data and budget fields are the token LSTM's (:class:`TokenNetworkSettings`:
    windows of 64 tokens, 5 epochs of 300 batches of 64, patience 5, transposition
    +-5), and the size is chosen so that a batch costs about the LSTM's time: two
    blocks of 64 take 0.155 s per training batch against the LSTM's 0.137 s (2 shared
    cores, load average 6-8, 2026-12-01), so the two budgets match in batches and
    nearly in wall-clock. The default is the Music Transformer's scheme: relative attention and no
    absolute positions; notebook 06 compares it with sinusoidal absolute positions at
    the same budget (:meth:`replace` ``positions="sinusoidal", relative=False``).

    Attributes
    ----------
    dim : int
        Model width.
    num_layers, num_heads : int
    ff_dim : int or None
        Feed-forward units (None: ``4 * dim``).
    positions : {"learned", "sinusoidal", "none"}
        Absolute positions.
    relative : bool
        Relative attention in every block.
    max_distance : int
        Distances with their own relative embedding (longer ones share the last); the
        training windows' length, as no longer distance is ever seen in training.
    max_length : int
        Tokens a sample attends to (the key/value cache: each generated token costs
        attention over all of it), and the learned position table. 512 holds the
        longest chorale voice line.
    learning_rate : float
    dropout : float
    """

    kind: ClassVar[str] = "transformer"
    SMOKE: ClassVar[Mapping[str, Any]] = {"dim": 32, "num_layers": 1, "num_heads": 2, "seq_length": 32,
                                          "max_distance": 32, "epochs": 1, "steps_per_epoch": 15, "patience": 1}
    dim: int = 64
    num_layers: int = 2
    num_heads: int = 4
    ff_dim: int | None = None
    positions: str = "none"
    relative: bool = True
    max_distance: int = 64
    max_length: int = 512
    learning_rate: float = 5e-4
    dropout: float = 0.1


@dataclasses.dataclass(frozen=True)
class VAESettings(Settings):
    """Notebook 05's convolutional VAE: roll geometry, model and training.

    Attributes
    ----------
    lowest_pitch, n_pitches : int
        Row 0 of the roll and the number of rows.
    steps_per_quarter, window_steps, hop_steps : int
        The time grid, the window length and the hop between training windows.
    latent_dim, filters, dense_units
        The model.
    warmup_epochs : int
        Epochs over which the KL weight rises to 1.
    free_bits : float
        Bits per latent dimension the KL term does not charge.
    learning_rate, batch_size, epochs, seed
        Training.
    threshold : float
        A cell is a note when its probability is at least this.
    tempo : float
        Quarter notes per minute of the decoded notes (notebook 05's 90).
    """

    kind: ClassVar[str] = "vae"
    SMOKE: ClassVar[Mapping[str, Any]] = {"epochs": 2}
    lowest_pitch: int = DEFAULT_LOWEST_PITCH
    n_pitches: int = DEFAULT_N_PITCHES
    steps_per_quarter: int = 4
    window_steps: int = DEFAULT_WINDOW_STEPS
    hop_steps: int = 16
    latent_dim: int = 16
    filters: tuple[int, ...] = (16, 32)
    dense_units: int = 128
    warmup_epochs: int = 5
    free_bits: float = 0.5
    learning_rate: float = 2e-3
    batch_size: int = 64
    epochs: int = 40
    threshold: float = 0.5
    tempo: float = 90.0
    seed: int = 42

    def window_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`musicalpy.representations.encode_piano_roll_windows`."""
        return {"window_steps": self.window_steps, "lowest_pitch": self.lowest_pitch, "n_pitches": self.n_pitches,
                "steps_per_quarter": self.steps_per_quarter}

    def decode_options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`musicalpy.models.vae.windows_to_notes`."""
        return {"threshold": self.threshold, "lowest_pitch": self.lowest_pitch,
                "steps_per_quarter": self.steps_per_quarter, "tempo": self.tempo}
