"""Model families: one module per family of model kinds behind one interface.

:mod:`.base` defines the interface (:class:`~.base.Family`, :class:`~.base.Settings`);
:mod:`.counting` holds the unigram, Markov and HMM kinds (one model per voice),
:mod:`.token` the token LSTM and the WaveNet, :mod:`.vae` the piano-roll VAE.
:mod:`musicalpy.zoo` registers them. The families live in their own package, not under
:mod:`musicalpy.models`, because they span every layer a model kind needs (counting
estimators without TensorFlow as well as Keras networks, the representation, the model
folder), while ``models`` holds only the Keras networks and their token engine.
"""

from .base import Budget, Family, ModelError, Settings, Trained

__all__ = ["Budget", "Family", "ModelError", "Settings", "Trained"]
