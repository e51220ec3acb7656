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
import logging
import re
from typing import Any

__all__ = ["engine", "lstm", "sampling", "wavenet", "vae", "KerasStepTracingFilter"]

#: The step functions Keras' TensorFlow trainer builds for each model (fit, evaluate,
#: predict), as TensorFlow names them in its frequent-retracing warning.
_KERAS_STEP_FUNCTION = re.compile(r"calls to <function TensorFlowTrainer\.(_make_function|make_predict_function)\.<locals>\.")


class KerasStepTracingFilter(logging.Filter):
    """Drop TensorFlow's "triggered tf.function retracing" warning for Keras' own step
    functions, and only for them.

    Why it is safe: TensorFlow counts traces by the *source code* of a function, across
    every object built from it. Keras builds a new train, test and predict function for
    each model, all from the same source lines, and each one traces when first called;
    so training or predicting with several models in one process (notebook 05 trains one
    VAE per voice, notebook 04 benchmarks two WaveNets at two batch sizes) reads as
    "excessive retracing" although every trace is a different model's first. Inside one
    model these functions use ``reduce_retracing=True``, so an input of a new shape traces
    at most once more: there is no repeated retracing for the warning to reveal. The
    warning about any other function (ours included) passes through unchanged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and _KERAS_STEP_FUNCTION.search(message))


# Installed on import (TensorFlow is not imported here): the "tensorflow" logger is the one
# tf_logging writes to, so the filter is in place before any model module builds a model.
if not any(isinstance(f, KerasStepTracingFilter) for f in logging.getLogger("tensorflow").filters):
    logging.getLogger("tensorflow").addFilter(KerasStepTracingFilter())


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "KerasStepTracingFilter":
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
