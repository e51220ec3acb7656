"""Model families: one module per family of model kinds behind one interface.

:mod:`.base` defines the interface (:class:`~.base.Family`, :class:`~.base.Settings`);
:mod:`.counting` holds the unigram, Markov and HMM kinds (one model per voice),
:mod:`.token` the token LSTM and the WaveNet, :mod:`.vae` the piano-roll VAE.
:mod:`musicalpy.zoo` registers them. The families live in their own package, not under
:mod:`musicalpy.models`, because they span every layer a model kind needs (counting
estimators without TensorFlow as well as Keras networks, the representation, the model
folder), while ``models`` holds only the Keras networks and their token engine.

Adding a kind
-------------
1. Write ``musicalpy/families/<name>.py``: a frozen :class:`~.base.Settings` dataclass
   whose field defaults are the full-run values and whose ``SMOKE`` mapping holds the
   smoke ones, and a :class:`~.base.Family` subclass with ``kind``, ``settings_class``,
   ``fitted_description``, the capability flags and ``train``, ``wrap``, ``save``,
   ``load``, ``generate``, ``score``.
2. Add one ``register(<Name>Family())`` line at the end of :mod:`musicalpy.zoo`.

The CLI (``musicalpy train <kind>``), notebook 07 and the tests then know the kind.
"""

from .base import Budget, Family, ModelError, Settings, Trained

__all__ = ["Budget", "Family", "ModelError", "Settings", "Trained"]
