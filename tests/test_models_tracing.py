"""The retracing filter drops TensorFlow's warning for Keras' per-model step functions only."""

import logging

import numpy as np
import pytest

import musicalpy.models  # noqa: F401  (installs the filter)

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def tf_warnings():
    handler = _Collect()
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


def test_several_keras_models_trained_in_a_row_log_no_retracing_warning(tf_warnings):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((37, 3)).astype("float32")  # 37: the last batch of 8 is partial
    y = rng.standard_normal((37, 1)).astype("float32")
    for seed in range(6):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, batch_size=8, epochs=1, validation_data=(x, y), verbose=0)
        model.predict(x[:5], verbose=0)
    assert not [m for m in tf_warnings if "retracing" in m]


def test_a_function_of_ours_that_retraces_still_warns(tf_warnings):
    @tf.function
    def double(values):
        return values * 2

    for n in range(1, 8):  # a new shape each call: seven traces in seven calls
        double(tf.zeros((n,)))
    retracing = [m for m in tf_warnings if "retracing" in m]
    assert retracing and "double" in retracing[0]


def test_the_filter_only_matches_keras_step_functions():
    flt = musicalpy.models.KerasStepTracingFilter()

    def record(text):
        return logging.LogRecord("tensorflow", logging.WARNING, __file__, 1, text, None, None)

    keras_text = ("5 out of the last 13 calls to <function TensorFlowTrainer._make_function.<locals>."
                  "multi_step_on_iterator at 0x7f> triggered tf.function retracing. Tracing is expensive")
    ours = "5 out of the last 5 calls to <function sample_loop at 0x7f> triggered tf.function retracing."
    assert flt.filter(record(keras_text)) is False
    assert flt.filter(record(ours)) is True
    assert flt.filter(record("an unrelated TensorFlow warning")) is True
