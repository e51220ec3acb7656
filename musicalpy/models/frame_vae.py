"""The series' piano-roll VAE on JSB frames, scored by its evidence lower bound.

A chorale is cut into consecutive windows of ``window`` frames (the last one padded
with silent frames that are never scored), and the model says the windows are
independent: ``p(chorale) = prod_w p(window_w)``, each window's ``p`` the marginal of
:class:`musicalpy.models.vae.VAE` (a latent ``z ~ N(0, I)`` and one Bernoulli per key
and frame given ``z``). That marginal has no closed form, so :meth:`FrameVAE.log_prob`
gives the ELBO instead,

    ``log p(window) >= E_q(z|window)[log p(window | z)] - KL(q(z|window) || p(z))``,

the expectation estimated with ``n_draws`` posterior draws. Summed over a chorale's
frames it is a **lower bound** on the chorale's log-likelihood, so
:func:`musicalpy.frame_estimators.frame_nll` of this model is an **upper bound** on its NLL
in nats per frame (:attr:`FrameVAE.likelihood` is ``"bound"``, which
:func:`musicalpy.jsb.benchmark_row` reports). Per frame, the reconstruction term is the
frame's own and the window's KL is shared evenly among its scored frames; only the
sums are bounds.

Unlike the frame networks of :mod:`musicalpy.models.frame_rnn`, a window's frames do
not condition on the windows before it: the VAE models two-bar textures, not how a
chorale goes on. Training is :func:`musicalpy.families.vae.fit_vae`, the series' one
VAE training function (the ``jsb_vae`` kind calls it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import keras
import numpy as np

from ..representations.frames import N_KEYS, check_frames
from . import vae  # noqa: F401  (registers the VAE classes with Keras, for load)

__all__ = ["frame_windows", "FrameVAE"]

_MODEL_FILE = "frame_model.json"
_KERAS_FILE = "model.keras"
#: Logits are clipped to +-this before scoring (as in :mod:`musicalpy.models.frame_rnn`).
_LOGIT_BOUND = 20.0


def frame_windows(chorales: list[np.ndarray], window: int, hop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Windows of ``window`` frames, as the VAE reads them (keys by time).

    Parameters
    ----------
    chorales : list of np.ndarray, each shape=(n_frames, 88)
    window : int
        Frames per window.
    hop : int, optional
        Frames between window starts (default ``window``: consecutive windows that
        cover every frame once, the scoring layout). Each chorale is padded at its end
        with silent frames to a whole number of windows.

    Returns
    -------
    windows : np.ndarray, shape=(n_windows, 88, window), float32
    mask : np.ndarray, shape=(n_windows, window), bool
        True for a chorale's own frames, False for the padding.
    """
    from .._config import check_int

    window = check_int("window", window)
    hop = window if hop is None else check_int("hop", hop)
    windows, masks = [], []
    for index, chorale in enumerate(chorales):
        frames = check_frames(chorale, f"chorales[{index}]")
        n_windows = 1 + max(0, -(-(len(frames) - window) // hop))  # the last window reaches the end
        padded = np.zeros(((n_windows - 1) * hop + window, N_KEYS), dtype=bool)
        padded[: len(frames)] = frames
        real = np.zeros(len(padded), dtype=bool)
        real[: len(frames)] = True
        for w in range(n_windows):
            windows.append(padded[w * hop : w * hop + window].T)
            masks.append(real[w * hop : w * hop + window])
    if not windows:
        return np.zeros((0, N_KEYS, window), np.float32), np.zeros((0, window), bool)
    return np.asarray(windows, dtype=np.float32), np.asarray(masks)


class FrameVAE:
    """A trained :class:`~musicalpy.models.vae.VAE` over windows of frames, with the frame
    models' interface: ``log_prob`` (an ELBO, see the module docstring), ``sample``,
    ``save``, ``load``.

    Parameters
    ----------
    network : musicalpy.models.vae.VAE
        Its windows have shape ``(88, window)``.
    n_draws : int, default 8
        Posterior draws per window for the ELBO's expected log-likelihood.
    seed : int, default 0
        Of those draws, so that a score is reproducible.

    Attributes
    ----------
    window : int
    likelihood : str
        ``"bound"``: ``log_prob`` is a lower bound on the log-likelihood.
    """

    kind = "frame_vae"
    likelihood = "bound"

    def __init__(self, network: Any, *, n_draws: int = 8, seed: int = 0) -> None:
        from .._config import check_int

        shape = tuple(getattr(network, "window_shape", ()))
        if len(shape) != 2 or shape[0] != N_KEYS:
            raise ValueError(f"network must be a VAE over ({N_KEYS}, window) windows, got window shape {shape}")
        self.network = network
        self.window = int(shape[1])
        self.n_draws = check_int("n_draws", n_draws)
        self.seed = int(seed)

    def __repr__(self) -> str:
        return f"FrameVAE(window={self.window}, latent_dim={self.network.latent_dim}, n_draws={self.n_draws})"

    def window_elbo(self, windows: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ELBO's two terms for windows of :func:`frame_windows`.

        Returns
        -------
        log_likelihood : np.ndarray, shape=(n_windows, window)
            ``E_q[log p(x_t | z)]`` of each frame, nats (0 on the padding).
        kl : np.ndarray, shape=(n_windows,)
            ``KL(q(z | window) || N(0, I))``, nats.
        """
        z_mean, z_log_var = self.network.encode(windows)
        z_mean, z_log_var = z_mean.astype(np.float64), z_log_var.astype(np.float64)
        kl = 0.5 * (z_mean**2 + np.exp(z_log_var) - 1.0 - z_log_var).sum(axis=1)
        rng = np.random.default_rng(self.seed)
        x = windows.astype(np.float64)
        log_likelihood = np.zeros(mask.shape)
        for _ in range(self.n_draws):
            z = z_mean + np.exp(0.5 * z_log_var) * rng.standard_normal(z_mean.shape)
            logits = np.clip(self.network.decode_logits(z), -_LOGIT_BOUND, _LOGIT_BOUND)
            # log sigmoid(l) for a sounding key, log sigmoid(-l) for a silent one; summed over keys.
            log_likelihood += (x * logits - np.logaddexp(0.0, logits)).sum(axis=1)
        return np.where(mask, log_likelihood / self.n_draws, 0.0), kl

    def log_prob(self, frames: Any) -> np.ndarray:
        """Per-frame shares of the chorale's ELBO, shape ``(n_frames,)``, nats.

        Their sum is a lower bound on ``log p(chorale)``; each frame gets its expected
        log-likelihood given its window's latent and an even share of the window's KL.
        """
        frames = check_frames(frames)
        if len(frames) == 0:
            return np.zeros(0)
        windows, mask = frame_windows([frames], self.window)
        log_likelihood, kl = self.window_elbo(windows, mask)
        shares = log_likelihood - (kl / mask.sum(axis=1))[:, None] * mask
        return shares[mask]

    def sample(self, n_frames: int, *, seed: int | None = None, temperature: float = 1.0) -> np.ndarray:
        """``n_frames`` frames, shape ``(n_frames, 88)`` bool: consecutive windows decoded
        from prior draws ``N(0, temperature^2 I)``, each key drawn from its Bernoulli."""
        from .._config import check_int

        n_frames = check_int("n_frames", n_frames, 0)
        n_windows = -(-n_frames // self.window)
        if n_windows == 0:
            return np.zeros((0, N_KEYS), dtype=bool)
        probabilities = self.network.sample(n_windows, temperature=temperature, seed=seed)
        rng = np.random.default_rng(None if seed is None else seed + 1)
        keys = rng.random(probabilities.shape) < probabilities  # (n_windows, 88, window)
        return np.concatenate(list(keys.transpose(0, 2, 1)))[:n_frames]

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write ``model.keras`` and ``frame_model.json`` into ``path``."""
        folder = Path(path).expanduser()
        if (folder / _MODEL_FILE).exists() and not overwrite:
            raise FileExistsError(f"{folder / _MODEL_FILE} exists; pass overwrite=True to replace it")
        folder.mkdir(parents=True, exist_ok=True)
        self.network.save(folder / _KERAS_FILE)
        (folder / _MODEL_FILE).write_text(json.dumps({"kind": self.kind, "n_draws": self.n_draws,
                                                      "seed": self.seed}, indent=1))
        return folder

    @classmethod
    def load(cls, path: str | os.PathLike) -> FrameVAE:
        """A model written by :meth:`save`."""
        folder = Path(path).expanduser()
        target = folder / _MODEL_FILE
        if not target.exists():
            raise FileNotFoundError(f"{target}: no saved frame model in this folder")
        record = json.loads(target.read_text())
        if record.get("kind") != cls.kind:
            raise ValueError(f"{target}: holds a {record.get('kind')!r} model, not {cls.kind!r}")
        # Importing models.vae (above) registered the VAE's classes with Keras.
        network = keras.models.load_model(folder / _KERAS_FILE)
        return cls(network, n_draws=record["n_draws"], seed=record["seed"])
