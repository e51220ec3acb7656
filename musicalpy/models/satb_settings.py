"""The settings of the frame-wise joint networks (:mod:`musicalpy.models.satb_net` and
:mod:`musicalpy.models.satb_orderless`).

Apart from the network so that the families (:mod:`musicalpy.families.satb`) and the
command read and check them without importing TensorFlow.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["TRUNKS", "SatbNetSettings", "MASK_KINDS", "SatbOrderlessSettings"]

#: The trunks :func:`musicalpy.models.satb_net.build_satb_net` offers.
TRUNKS = ("lstm", "gru", "wavenet", "transformer")


def _check_sizes(settings: Any, names: Sequence[str]) -> None:
    """Every field in ``names`` a positive int, and ``dropout`` in [0, 1)."""
    for name in names:
        value = getattr(settings, name)
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if not 0 <= settings.dropout < 1:
        raise ValueError(f"dropout must lie in [0, 1), got {settings.dropout!r}")


@dataclasses.dataclass(frozen=True)
class SatbNetSettings:
    """Everything that defines a frame-wise joint network and its training.

    Attributes
    ----------
    trunk : str
        One of :data:`TRUNKS`.
    units : int
        Trunk width (LSTM/GRU units, WaveNet channels, Transformer model dimension).
    n_layers : int
        Recurrent layers or Transformer blocks (the WaveNet's depth is ``dilations``).
    embedding : int
        Width of each value and position embedding.
    head_units : int
        Hidden units of each voice's head.
    condition_units : int
        Units of the backward GRU that reads a given soprano.
    dropout : float
    dilations : tuple of int
        The WaveNet's dilation rates (receptive field ``1 + sum``).
    num_heads, max_distance : int
        The Transformer's attention heads and relative distances (in steps).
    fermatas : bool
        Predict fermatas (False for JSB, which has none).
    condition_share : float
        Share of training crops with the soprano given.
    crop_steps : int
        Steps per training crop (128 = 8 bars of 4/4).
    crops_per_epoch : int
    batch_size : int
    learning_rate : float
    clipnorm : float
    patience : int
        Epochs without a better validation score before the learning rate is halved.
    max_transpose : int
        Crops move by up to this many semitones, within every voice's training range.
    """

    trunk: str = "lstm"
    units: int = 256
    n_layers: int = 2
    embedding: int = 32
    head_units: int = 128
    condition_units: int = 64
    dropout: float = 0.2
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 1, 2, 4, 8, 16, 32)
    num_heads: int = 4
    max_distance: int = 256
    fermatas: bool = True
    condition_share: float = 0.5
    crop_steps: int = 128
    crops_per_epoch: int = 1024
    batch_size: int = 32
    learning_rate: float = 1e-3
    clipnorm: float = 1.0
    patience: int = 3
    max_transpose: int = 6

    def __post_init__(self):
        if self.trunk not in TRUNKS:
            raise ValueError(f"trunk must be one of {TRUNKS}, got {self.trunk!r}")
        _check_sizes(self, ("units", "n_layers", "embedding", "head_units", "condition_units", "num_heads",
                            "crop_steps", "crops_per_epoch", "batch_size", "patience"))
        if not 0 <= self.condition_share <= 1:
            raise ValueError(f"condition_share must lie in [0, 1], got {self.condition_share!r}")
        if self.trunk == "transformer" and self.units % self.num_heads:
            raise ValueError(f"units={self.units} must be a multiple of num_heads={self.num_heads}")
        object.__setattr__(self, "dilations", tuple(int(d) for d in self.dilations))

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "dilations": list(self.dilations)}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> SatbNetSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: (tuple(v) if k == "dilations" else v) for k, v in values.items() if k in known})


#: The kinds of mask the orderless network trains on, in the order of
#: :attr:`SatbOrderlessSettings.mask_shares` (see :mod:`musicalpy.models.satb_orderless`).
MASK_KINDS = ("orderless", "chronological", "span")


@dataclasses.dataclass(frozen=True)
class SatbOrderlessSettings:
    """Everything that defines the orderless (Coconet-style) network and its training.

    Attributes
    ----------
    units : int
        Channels of the convolutions.
    embedding : int
        Width of each voice's value embedding and of the position embedding.
    dilations : tuple of int
        One residual block of a width-3 convolution per rate, reading both ways in time;
        a step's output sees ``sum(dilations)`` steps on either side.
    dropout : float
    fermatas : bool
        Fermatas are variables of the chorale (masked and predicted like the voices).
    mask_shares : tuple of float
        Share of training crops masked each way of :data:`MASK_KINDS`.
    crop_steps, crops_per_epoch, batch_size, learning_rate, clipnorm, patience, max_transpose
        As for :class:`SatbNetSettings`; the learning rate, 3e-3, was chosen on validation
        against 1e-3 and against 128 channels (``scripts/orderless_settings.py``).
    gibbs_steps : int
        Blocked-Gibbs rounds when writing (each one network pass).
    """

    units: int = 96
    embedding: int = 32
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 1, 2, 4, 8, 16)
    dropout: float = 0.1
    fermatas: bool = True
    mask_shares: tuple[float, ...] = (0.5, 0.25, 0.25)
    crop_steps: int = 128
    crops_per_epoch: int = 1024
    batch_size: int = 32
    learning_rate: float = 3e-3
    clipnorm: float = 1.0
    patience: int = 3
    max_transpose: int = 6
    gibbs_steps: int = 96

    def __post_init__(self):
        _check_sizes(self, ("units", "embedding", "crop_steps", "crops_per_epoch", "batch_size", "patience",
                            "gibbs_steps"))
        shares = tuple(float(x) for x in self.mask_shares)
        if len(shares) != len(MASK_KINDS) or min(shares) < 0 or not math.isclose(sum(shares), 1.0):
            raise ValueError(f"mask_shares must be {len(MASK_KINDS)} non-negative shares of {MASK_KINDS} "
                             f"summing to 1, got {self.mask_shares!r}")
        if not self.dilations or min(self.dilations) < 1:
            raise ValueError(f"dilations must be positive rates, got {self.dilations!r}")
        object.__setattr__(self, "dilations", tuple(int(d) for d in self.dilations))
        object.__setattr__(self, "mask_shares", shares)

    @property
    def radius(self) -> int:
        """Steps on either side of a step that its output reads."""
        return int(sum(self.dilations))

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "dilations": list(self.dilations), "mask_shares": list(self.mask_shares)}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> SatbOrderlessSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: (tuple(v) if k in ("dilations", "mask_shares") else v) for k, v in values.items() if k in known})
