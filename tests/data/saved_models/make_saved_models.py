"""Write the tiny saved models that the tests load back, and their predictions.

The ``.keras`` files here were written by the code of main at commit 585707d, when the
custom layers were still defined inside ``_custom_objects()`` closures; the tests check
that the current code loads them without ``custom_objects`` and predicts the same. Run
again only to add a model (it overwrites the files)::

    PYTHONPATH=<checkout> python tests/data/saved_models/make_saved_models.py tests/data/saved_models
"""

from __future__ import annotations

import sys
from pathlib import Path

import keras
import numpy as np

from musicalpy.models import lstm, vae, wavenet


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    features = np.column_stack([rng.integers(55, 75, 8), rng.choice([0.0, 0.5], 8), rng.choice([0.25, 0.5], 8)])
    features = features.astype("float32").reshape(2, 4, 3)
    tokens = rng.integers(4, 9, (2, 6)).astype("int32")
    windows = (rng.random((2, 8, 8)) < 0.2).astype("float32")
    models = {
        "tutorial_lstm": (lstm.build_tutorial_lstm(4, units=3), features),
        "rhythm_lstm": (lstm.build_rhythm_lstm(4, [0.0, 0.5], [0.25, 0.5], units=3), features),
        "token_lstm": (lstm.build_token_lstm(9, embedding_dim=2, units=(3,), dropout=0.0), tokens),
        "wavenet": (wavenet.build_wavenet(9, channels=2, dilations=[1, 2]), tokens),
        "conv_vae": (vae.build_conv_vae((8, 8), latent_dim=2, filters=(2,), dense_units=3, seed=0), windows),
    }
    arrays = {}
    for name, (model, x) in models.items():
        if name == "conv_vae":
            model.compile(optimizer="adam")
        model.save(folder / f"{name}.keras")
        y = model(x, training=False)
        arrays[f"{name}_x"] = x
        for head, value in (y.items() if isinstance(y, dict) else [(None, y)]):
            arrays[f"{name}_y" + (f"_{head}" if head else "")] = np.asarray(value)
    np.savez(folder / "predictions.npz", **arrays)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
