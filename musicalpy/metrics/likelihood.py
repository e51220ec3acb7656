"""Likelihood accounting: bits per token and per note, and one evaluation row.

See :mod:`musicalpy.metrics` for how each model family gives its log-likelihood.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .comparison import pitch_histogram_kl

__all__ = [
    "bits_per_token",
    "bits_per_note",
    "evaluation_row",
]

# ------------------------------------------------------------------ likelihood accounting


def bits_per_token(total_log_likelihood: float, n_tokens: int) -> float:
    """Bits per token from a total log-likelihood in nats: ``-ll / (n_tokens ln 2)``.

    See the module docstring for how each model family gives its total log-likelihood.
    """
    if n_tokens <= 0:
        raise ValueError(f"n_tokens must be positive, got {n_tokens}")
    return float(-total_log_likelihood / (n_tokens * math.log(2)))


def bits_per_note(total_log_likelihood: float, n_notes: int) -> float:
    """Bits per note from a total log-likelihood in nats: ``-ll / (n_notes ln 2)``.

    ``total_log_likelihood`` is the log-likelihood of whole pieces in any
    representation, ``n_notes`` the number of notes (note table rows) of those pieces,
    so models over different representations are compared on one scale.
    """
    if n_notes <= 0:
        raise ValueError(f"n_notes must be positive, got {n_notes}")
    return float(-total_log_likelihood / (n_notes * math.log(2)))


def evaluation_row(
    representation: str,
    model: str,
    voice: str,
    log_likelihood: float,
    n_tokens: int,
    n_notes: int,
    reference: pd.DataFrame,
    generated: pd.DataFrame,
    seconds: float = float("nan"),
) -> dict[str, Any]:
    """One tidy row of a (model, representation) evaluation on held-out pieces.

    The test scores come from the raw counts, so rows of several voices can be summed
    (``log_likelihood``, ``n_tokens``, ``n_notes``) and scored again as a whole.

    Parameters
    ----------
    representation, model, voice : str
        What the row describes, e.g. ``"pitch/hold"``, ``"HMM-10"``, ``"Soprano"``.
    log_likelihood : float
        Total test log-likelihood in nats; NaN for a model without one.
    n_tokens : int
        Test tokens scored; 0 means the model has no likelihood (its bits are NaN).
    n_notes : int
        Notes (note-table rows) of the scored test pieces.
    reference : pd.DataFrame
        Training notes the samples' pitch histogram is compared with.
    generated : pd.DataFrame
        Notes the model sampled.
    seconds : float, optional
        Training time, NaN when unknown.

    Returns
    -------
    row : dict
        ``representation``, ``model``, ``voice``, ``test tokens``, ``bits/token``,
        ``bits/note``, ``KL vs training`` (:func:`pitch_histogram_kl`), ``seconds``,
        ``test log-likelihood``, ``test notes``.
    """
    scored = bool(n_tokens)
    return {"representation": representation, "model": model, "voice": voice,
            "test tokens": n_tokens if scored else np.nan,
            "bits/token": bits_per_token(log_likelihood, n_tokens) if scored else np.nan,
            "bits/note": bits_per_note(log_likelihood, n_notes) if scored else np.nan,
            "KL vs training": pitch_histogram_kl(reference, generated), "seconds": seconds,
            "test log-likelihood": log_likelihood, "test notes": n_notes}


