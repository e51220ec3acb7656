"""Keras model families and the one token engine that samples, scores and trains them.

Submodules (imported on first access, so ``import musicalpy.models`` does not import
TensorFlow; importing any of them does):

* :mod:`musicalpy.models.engine`: the token engine of every autoregressive token
  network: :func:`~musicalpy.models.engine.sample_ids` (one compiled, batched loop; the
  stepper chosen from the model by :func:`~musicalpy.models.engine.stepper_for`:
  recurrent state, the WaveNet's cache, or a rolling window), the one primer and
  unknown-token policy (:func:`~musicalpy.models.engine.primer_ids`),
  :func:`~musicalpy.models.engine.generate_notes` (decoded note tables),
  :func:`~musicalpy.models.engine.score_ids`, padding, the piece-loss callback and
  :func:`~musicalpy.models.engine.train_model`, the trainer of every Keras model here;
* :mod:`musicalpy.models.sampling`: the temperature / top-k / top-p filters every
  sampler draws through, and the tutorial's (pitch, step, duration) sampler and primers;
* :mod:`musicalpy.models.lstm`: the tutorial's LSTM, its rhythm-classification variant
  and the token LSTM, with their custom layers and losses (``FeatureScaling``,
  ``ClassHead``, ``positive_pressure_mse``, ``BinnedCrossentropy``);
* :mod:`musicalpy.models.wavenet`: the WaveNet (``GatedResidualBlock``), the study's
  baseline CNN, receptive fields and the cached stepper the engine uses for WaveNets;
* :mod:`musicalpy.models.vae`: the piano-roll VAEs (``VAE``, ``Sampling``, the loss
  terms), their windows, evaluation and decoding.

Every custom layer and loss is defined at its module's top level and registered with
Keras when the module is imported, so ``keras.models.load_model`` reads saved files
without ``custom_objects``.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["engine", "lstm", "sampling", "wavenet", "vae"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
