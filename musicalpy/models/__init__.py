"""Keras model builders and fast samplers.

Submodules (imported on first access, so ``import musicalpy.models`` does not import
TensorFlow):

* :mod:`musicalpy.models.lstm`: the TensorFlow tutorial's LSTM on (pitch, step,
  duration), its rhythm-classification variant, the token LSTM, ``train_model``;
* :mod:`musicalpy.models.sampling`: temperature / top-k / top-p filters, the compiled
  stateful (or windowed) generation loop for any of the models, primers;
* :mod:`musicalpy.models.wavenet`, :mod:`musicalpy.models.vae`: the other notebooks' models.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["lstm", "sampling", "wavenet", "vae"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
