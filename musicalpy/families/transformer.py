"""The Transformer family (notebook 06): a decoder-only Transformer over the per-voice
note/chord strings, next to the token LSTM and the WaveNet.

It shares everything but the network with those two kinds
(:class:`~musicalpy.families.token.TokenNetworkFamily`: the tf.data windows, the one
training function :func:`~musicalpy.families.token.fit_network`, sampling through the
token engine, which picks the key/value-cache stepper of
:mod:`musicalpy.models.transformer`, scoring of whole lines). Its training budget is
the token LSTM's, batch for batch (5 epochs of 300 batches of 64 windows of 64 tokens),
so the leaderboard rows compare models, not budgets.

Model folder: ``model.keras`` and ``vocabulary.json``.

``jsb_transformer`` is the same idea on the JSB Chorales benchmark's 88-key quarter-note
frames: :class:`~musicalpy.models.transformer.FrameTransformer`, relative attention with
independent sigmoid outputs per key, a frame kind of :mod:`musicalpy.families.frames`
(scored by :func:`musicalpy.frame_models.frame_nll`, model folder ``frame_model.json``
and ``model.keras``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from .base import Settings
from .frames import FrameLSTMFamily
from .token import TokenNetworkFamily, TokenNetworkSettings

__all__ = ["TransformerSettings", "TransformerFamily", "FrameTransformerSettings", "FrameTransformerFamily"]


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

    def build(self, vocab_size: int):
        """The compiled Transformer (:func:`musicalpy.models.transformer.build_transformer`)."""
        from ..models import transformer

        return transformer.build_transformer(
            vocab_size, dim=self.dim, num_layers=self.num_layers, num_heads=self.num_heads, ff_dim=self.ff_dim,
            dropout=self.dropout, positions=self.positions, relative=self.relative, max_distance=self.max_distance,
            max_length=self.max_length, learning_rate=self.learning_rate)


class TransformerFamily(TokenNetworkFamily):
    """Notebook 06's Transformer, sampled with its key/value cache."""

    kind = "transformer"
    settings_class = TransformerSettings

    def load_network(self, path: Path) -> Any:
        from ..models import transformer

        return transformer.load_model(path)


@dataclasses.dataclass(frozen=True)
class FrameTransformerSettings(Settings):
    """A :class:`~musicalpy.models.transformer.FrameTransformer` on 88-key frames.

    The sizes are a first choice, not tuned on validation: two relative-attention
    blocks of 128 (distances up to 64 beats, about the length of a chorale), dropout 0.2
    against the 229 training chorales; the training budget is the frame LSTM's
    (:class:`~musicalpy.families.frames.FrameLSTMSettings`: at most 100 epochs of 8
    chorales per batch, patience 8).

    Attributes
    ----------
    dim, num_layers, num_heads, dropout, max_distance, learning_rate
        See :func:`~musicalpy.models.transformer.build_frame_transformer`.
    batch_size, epochs, patience, seed
    tempo : float
        Quarter notes per minute of decoded samples.
    """

    kind: ClassVar[str] = "jsb_transformer"
    SMOKE: ClassVar[Mapping[str, Any]] = {"dim": 16, "num_layers": 1, "num_heads": 2, "epochs": 2}
    dim: int = 128
    num_layers: int = 2
    num_heads: int = 4
    dropout: float = 0.2
    max_distance: int = 64
    learning_rate: float = 1e-3
    batch_size: int = 8
    epochs: int = 100
    patience: int = 8
    seed: int = 0
    tempo: float = 120.0


class FrameTransformerFamily(FrameLSTMFamily):
    """A relative-attention Transformer over JSB frames, independent outputs per key."""

    kind = "jsb_transformer"
    settings_class = FrameTransformerSettings

    def network(self, settings: Any, progress: bool) -> Any:
        from ..models.transformer import FrameTransformer

        return FrameTransformer(dim=settings.dim, num_layers=settings.num_layers, num_heads=settings.num_heads,
                                dropout=settings.dropout, max_distance=settings.max_distance,
                                learning_rate=settings.learning_rate, epochs=settings.epochs,
                                batch_size=settings.batch_size, patience=settings.patience, seed=settings.seed,
                                verbose=progress)

    def load_fitted(self, folder: Path) -> Any:
        from ..models.transformer import FrameTransformer

        return FrameTransformer.load(folder)

    def selection(self, settings: Any) -> dict[str, Any]:
        return {"split": "validation", "metric": "validation loss (nats per frame): the epoch with the lowest is kept",
                "candidates": []}
