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
(scored by :func:`musicalpy.frame_estimators.frame_nll`, model folder ``frame_model.json``
and ``model.keras``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from ..models.settings import TransformerSettings
from .base import Settings
from .frames import FrameLSTMFamily
from .token import TokenNetworkFamily

__all__ = ["TransformerSettings", "TransformerFamily", "FrameTransformerSettings", "FrameTransformerFamily"]


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
