"""Set vs set: pitch-histogram KL, kernel-density overlap and :func:`compare_sets`
(Yang & Lerch's relative measures), and marking features that do not apply.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .features import (
    SCALAR_FEATURES,
    VECTOR_FEATURES,
    corpus_features,
)
from .validation import _check_columns, _column, _numeric, _problem_masks, _usable

__all__ = [
    "pitch_histogram",
    "pitch_histogram_kl",
    "kde_overlap",
    "feature_frame",
    "compare_sets",
    "mark_not_applicable",
]

# ------------------------------------------------------------------ pitch histograms


def pitch_histogram(notes: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Counts of each MIDI pitch over the pitched (non-drum), usable notes of a table.

    Returns
    -------
    counts : np.ndarray, shape=(128,)
        A 128-count array given as ``notes`` is returned as floats, after checking it.
    """
    if isinstance(notes, pd.DataFrame):
        _check_columns(notes)
        usable = _usable(_problem_masks(notes), len(notes))
        drum = pd.Series(_column(notes, "is_drum", False)).fillna(False).astype(bool).to_numpy()
        keep = usable & ~drum
        pitches = np.rint(_numeric(notes, "pitch")[keep]).astype(np.int64)
        return np.bincount(pitches, minlength=128).astype(float)
    counts = np.asarray(notes, dtype=float)
    if counts.shape != (128,) or not np.isfinite(counts).all() or (counts < 0).any():
        raise ValueError(f"a pitch histogram must be 128 finite non-negative counts, got shape {counts.shape}")
    return counts


def pitch_histogram_kl(
    p: pd.DataFrame | np.ndarray,
    q: pd.DataFrame | np.ndarray,
    *,
    epsilon: float = 1e-4,
    by_part: bool = False,
) -> float | pd.Series:
    """KL divergence ``KL(p || q)`` (nats) between two pooled 128-bin pitch histograms.

    Each histogram is normalized, smoothed by adding ``epsilon`` to every bin and
    renormalized (add-epsilon smoothing), so the divergence is finite even when ``q``
    never plays a pitch that ``p`` plays. :func:`compare_sets` reports
    ``KL(reference || generated)``: how many extra nats per note a coder of reference
    pitches pays for using the generated pitch distribution.

    Parameters
    ----------
    p, q : pd.DataFrame or np.ndarray, shape=(128,)
        Note tables (all their pieces pooled, drums excluded) or pitch counts.
    epsilon : float
        Probability added to every bin before renormalizing (> 0).
    by_part : bool
        Note tables only: one divergence per part name present in both (per
        instrument, as reported for per-instrument HMMs on NES music).

    Returns
    -------
    kl : float or pd.Series
        NaN when either side has no pitched notes.
    """
    if not epsilon > 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon!r}")
    if by_part:
        if not (isinstance(p, pd.DataFrame) and isinstance(q, pd.DataFrame)):
            raise ValueError("by_part=True needs note tables for both p and q")
        parts = [x for x in pd.unique(p["part"].astype(str)) if x in set(q["part"].astype(str))]
        return pd.Series(
            {part: pitch_histogram_kl(p[p["part"].astype(str) == part], q[q["part"].astype(str) == part],
                                      epsilon=epsilon) for part in parts},
            name="pitch_histogram_kl", dtype=float,
        )
    counts_p, counts_q = pitch_histogram(p), pitch_histogram(q)
    if counts_p.sum() == 0 or counts_q.sum() == 0:
        return math.nan
    smooth_p = counts_p / counts_p.sum() + epsilon
    smooth_q = counts_q / counts_q.sum() + epsilon
    smooth_p, smooth_q = smooth_p / smooth_p.sum(), smooth_q / smooth_q.sum()
    return float(np.sum(smooth_p * np.log(smooth_p / smooth_q)))


# ------------------------------------------------------------------ set vs set


def _scott_bandwidth(x: np.ndarray) -> float | None:
    """Scott's rule, ``std * n ** (-1/5)`` (scipy's ``gaussian_kde`` default); None when
    the sample has no spread (a KDE would have a singular covariance)."""
    if len(x) < 2 or np.ptp(x) == 0:
        return None
    return float(np.std(x, ddof=1) * len(x) ** (-0.2))


def _binned_kde(x: np.ndarray, grid: np.ndarray, bandwidth: float) -> np.ndarray:
    """Gaussian KDE on a regular grid: linear binning, then a Gaussian filter.

    Equal to the exact KDE up to the grid resolution, at O(grid) cost whatever the
    sample size (pairwise distances of a few hundred pieces are ~10^5 values)."""
    from scipy.ndimage import gaussian_filter1d

    step = grid[1] - grid[0]
    position = (x - grid[0]) / step
    left = np.clip(np.floor(position).astype(np.int64), 0, len(grid) - 2)
    weight = np.clip(position - left, 0.0, 1.0)
    mass = np.bincount(left, 1.0 - weight, minlength=len(grid)) + np.bincount(left + 1, weight, minlength=len(grid))
    return gaussian_filter1d(mass, sigma=bandwidth / step, mode="constant", truncate=6.0)


def kde_overlap(
    reference: np.ndarray,
    other: np.ndarray,
    *,
    grid_size: int = 2048,
    degenerate: str = "narrow",
) -> tuple[float, float, str]:
    """Overlapping area and KL divergence of two samples' Gaussian KDEs on one grid.

    Each sample is smoothed by a Gaussian KDE on one shared grid that spans both
    samples plus four bandwidths on each side, and normalized to unit area there. Both
    curves use **one bandwidth**, the larger of the two samples' Scott bandwidths
    (``std * n ** (-1/5)``, :class:`scipy.stats.gaussian_kde`'s default): with a
    bandwidth per sample, two samples of one discrete distribution (pitch counts,
    ranges) would differ only because the larger sample gets narrower spikes. The KDE
    is computed by binning onto the grid and filtering with
    :func:`scipy.ndimage.gaussian_filter1d` (equal to the exact KDE up to the grid
    step; fast for 10^5 distances). Yang & Lerch's measures follow:

    * ``oa`` = integral of ``min(p_reference, p_other)``, in [0, 1] (1: identical);
    * ``kl`` = ``KL(p_reference || p_other)`` in nats, from the grid values (densities
      floored at 1e-12, so it is finite but large when the curves do not overlap).

    A sample with fewer than two values or zero variance has no Scott bandwidth (a KDE
    of it has a singular covariance). With ``degenerate="narrow"`` the other sample's
    bandwidth is used, or 5 % of the pooled range when both are constant; two samples
    of one identical constant give ``oa=1, kl=0``. With ``degenerate="nan"``
    both measures are NaN. The third value says what happened (``""`` when nothing
    special did).

    Parameters
    ----------
    reference, other : np.ndarray, shape=(n,)
        Samples, e.g. intra-reference and inter-set distances. NaNs are ignored.
    grid_size : int
        Minimum number of grid points; raised (up to 2**16) so that the bandwidth spans
        at least four grid steps.
    degenerate : {"narrow", "nan"}

    Returns
    -------
    oa : float
    kl : float
    flag : str
    """
    from scipy.integrate import trapezoid

    if degenerate not in ("narrow", "nan"):
        raise ValueError(f"degenerate must be 'narrow' or 'nan', got {degenerate!r}")
    if grid_size < 16:
        raise ValueError(f"grid_size must be at least 16, got {grid_size}")
    samples = []
    for x in (reference, other):
        x = np.asarray(x, dtype=float).ravel()
        samples.append(x[np.isfinite(x)])
    if any(len(x) == 0 for x in samples):
        return math.nan, math.nan, "empty sample"
    bandwidths = [_scott_bandwidth(x) for x in samples]
    flag = ""
    if None in bandwidths:
        which = " and ".join(n for n, b in zip(("reference", "other"), bandwidths, strict=True) if b is None)
        if degenerate == "nan":
            return math.nan, math.nan, f"constant {which}: KDE undefined"
        pooled = np.concatenate(samples)
        if np.ptp(pooled) == 0:
            return 1.0, 0.0, "all values equal"
        fallback = next((b for b in bandwidths if b is not None), 0.05 * float(np.ptp(pooled)))
        bandwidths = [b if b is not None else fallback for b in bandwidths]
        flag = f"constant {which}: narrow Gaussian (bandwidth {fallback:.3g})"
    bandwidth = max(bandwidths)
    low = min(x.min() for x in samples) - 4 * bandwidth
    high = max(x.max() for x in samples) + 4 * bandwidth
    size = int(min(max(grid_size, 4 * (high - low) / bandwidth + 1), 2**16))
    grid = np.linspace(low, high, size)
    p, q = (_binned_kde(x, grid, bandwidth) for x in samples)
    p, q = p / trapezoid(p, grid), q / trapezoid(q, grid)
    oa = float(np.clip(trapezoid(np.minimum(p, q), grid), 0.0, 1.0))
    p_mass = np.maximum(p, 1e-12)
    q_mass = np.maximum(q, 1e-12)
    p_mass, q_mass = p_mass / p_mass.sum(), q_mass / q_mass.sum()
    kl = float(np.sum(p_mass * np.log(p_mass / q_mass)))
    return oa, max(kl, 0.0), flag


def feature_frame(x: Any, what: str = "notes", **options: Any) -> pd.DataFrame:
    """Per-piece features of a set of pieces, whatever form the set comes in.

    Parameters
    ----------
    x : pd.DataFrame or list of pd.DataFrame
        A note table (many pieces, grouped by ``piece``), a list of one-piece note
        tables, or a feature frame from :func:`corpus_features` (returned as is).
    what : str
        How error messages name ``x`` (``"generated"``, ``"reference"``).
    **options
        Passed to :func:`corpus_features`.

    Returns
    -------
    features : pd.DataFrame
        One row per piece, as :func:`corpus_features` returns it.
    """
    if isinstance(x, pd.DataFrame):
        if "pitch" in x.columns:
            return corpus_features(x, **options)
        known = set(SCALAR_FEATURES) | set(VECTOR_FEATURES)
        if not known & set(x.columns):
            raise ValueError(f"{what}: neither a note table (no 'pitch' column) nor a feature frame "
                             f"(none of {sorted(known)[:4]}...)")
        return x
    if isinstance(x, (list, tuple)) and all(isinstance(t, pd.DataFrame) for t in x):
        return corpus_features(list(x), **options)
    raise TypeError(f"{what} must be a note table, a list of note tables or a feature frame, "
                    f"got {type(x).__name__}")


def _stack(values: pd.Series) -> np.ndarray:
    """Vectors of a feature column as rows of a 2-D array; rows with NaN dropped."""
    rows = [np.asarray(v, dtype=float).ravel() for v in values if isinstance(v, (np.ndarray, list, tuple))]
    if not rows:
        return np.empty((0, 0))
    matrix = np.stack(rows)
    return matrix[np.isfinite(matrix).all(axis=1)]


def _subsample(distances: np.ndarray, max_pairs: int, rng: np.random.Generator) -> np.ndarray:
    if len(distances) > max_pairs:
        return distances[rng.choice(len(distances), size=max_pairs, replace=False)]
    return distances


def compare_sets(
    generated: Any,
    reference: Any,
    *,
    features: Sequence[str] | None = None,
    grid_size: int = 2048,
    max_pairs: int = 200_000,
    degenerate: str = "narrow",
    random_state: int | None = 0,
    epsilon: float = 1e-4,
    **feature_options: Any,
) -> pd.DataFrame:
    """Compare a generated set of pieces with a reference set, feature by feature.

    For each scalar feature: the mean and standard deviation in each set. For every
    feature (scalar or vector), Yang & Lerch's (2018) relative measures: distances between
    pieces (absolute differences for scalars, Euclidean distances for vectors),
    *intra-set* (all pairs within a set, a piece never paired with itself) and
    *inter-set* (every generated piece with every reference piece); each distribution
    is smoothed by a Gaussian KDE on one shared grid (:func:`kde_overlap`), and ``oa`` /
    ``kl`` compare the intra-reference curve with the inter-set curve. ``oa`` near 1
    means a generated piece is as far from reference pieces as they are from each other.

    Parameters
    ----------
    generated, reference : note table, list of note tables, or feature frame
        Note tables with a ``piece`` column (or lists of one-piece tables) go through
        :func:`corpus_features`; a frame from :func:`corpus_features` is used as is.
    features : sequence of str, optional
        Which features (default: every scalar and vector feature present in both).
    grid_size : int
        KDE grid size (see :func:`kde_overlap`).
    max_pairs : int
        Distance samples per distribution above which a random subset of this size is
        used (pairs grow quadratically with the set size; this bounds the memory).
    degenerate : {"narrow", "nan"}
        What to do with a constant distance distribution (see :func:`kde_overlap`).
    random_state : int, optional
        Seed of the pair subsampling.
    epsilon : float
        Smoothing of :func:`pitch_histogram_kl`.
    **feature_options
        Passed to :func:`corpus_features` (``tempo``, ``beats_per_measure``, ...).

    Returns
    -------
    comparison : pd.DataFrame
        Index ``feature``; columns ``kind`` (``scalar``/``vector``), ``n_generated``,
        ``n_reference`` (pieces where the feature is defined), ``mean_generated``,
        ``std_generated``, ``mean_reference``, ``std_reference`` (NaN for vectors),
        ``intra_generated``, ``intra_reference``, ``inter`` (mean distances), ``oa``,
        ``kl``, ``pooled_kl`` (the ``pitch_histogram`` row only:
        ``KL(reference || generated)`` of the pooled pitch histograms) and ``flag``
        (why a value is NaN, or that a narrow bandwidth was used).
    """
    from scipy.spatial.distance import cdist, pdist

    gen = feature_frame(generated, "generated", **feature_options)
    ref = feature_frame(reference, "reference", **feature_options)
    available = [f for f in (*SCALAR_FEATURES, *VECTOR_FEATURES) if f in gen.columns and f in ref.columns]
    if features is None:
        features = available
    else:
        unknown = [f for f in features if f not in available]
        if unknown:
            raise ValueError(f"features {unknown} are not in both feature frames; available: {available}")
    rng = np.random.default_rng(random_state)
    rows = []
    for feature in features:
        vector = feature in VECTOR_FEATURES
        if vector:
            g, r = _stack(gen[feature]), _stack(ref[feature])
        else:
            g = pd.to_numeric(gen[feature], errors="coerce").to_numpy(float)
            r = pd.to_numeric(ref[feature], errors="coerce").to_numpy(float)
            g, r = g[np.isfinite(g)][:, None], r[np.isfinite(r)][:, None]
        row: dict[str, Any] = {
            "feature": feature, "kind": "vector" if vector else "scalar",
            "n_generated": len(g), "n_reference": len(r),
            "mean_generated": math.nan, "std_generated": math.nan,
            "mean_reference": math.nan, "std_reference": math.nan,
            "intra_generated": math.nan, "intra_reference": math.nan, "inter": math.nan,
            "oa": math.nan, "kl": math.nan, "pooled_kl": math.nan, "flag": "",
        }
        if not vector:
            for name, values in (("generated", g), ("reference", r)):
                if len(values):
                    row[f"mean_{name}"] = float(values.mean())
                    row[f"std_{name}"] = float(values.std(ddof=1)) if len(values) > 1 else math.nan
        metric = "euclidean" if vector else "cityblock"
        if len(g) >= 2:
            row["intra_generated"] = float(pdist(g, metric).mean())
        if len(r) < 2 or len(g) < 1:
            row["flag"] = f"needs >= 2 reference and >= 1 generated pieces, has {len(r)} and {len(g)}"
        else:
            intra = _subsample(pdist(r, metric), max_pairs, rng)
            inter = _subsample(cdist(g, r, metric).ravel(), max_pairs, rng)
            row["intra_reference"] = float(intra.mean())
            row["inter"] = float(inter.mean())
            row["oa"], row["kl"], row["flag"] = kde_overlap(intra, inter, grid_size=grid_size,
                                                            degenerate=degenerate)
        if feature == "pitch_histogram":
            pooled = [_pooled_pitch_counts(frame) for frame in (ref, gen)]
            if all(c is not None for c in pooled):
                row["pooled_kl"] = pitch_histogram_kl(pooled[0], pooled[1], epsilon=epsilon)
        rows.append(row)
    columns = ["feature", "kind", "n_generated", "n_reference", "mean_generated", "std_generated",
               "mean_reference", "std_reference", "intra_generated", "intra_reference", "inter",
               "oa", "kl", "pooled_kl", "flag"]
    return pd.DataFrame(rows, columns=columns).set_index("feature")


def mark_not_applicable(comparison: pd.DataFrame, features: Sequence[str], reason: str) -> pd.DataFrame:
    """A copy of a :func:`compare_sets` result with some features marked not applicable.

    A one-part output (the VAE's piano roll holds the whole texture in one part) has no
    voice lines, so a feature that follows a part's notes (:data:`VOICE_FEATURES`)
    would compare the texture's zigzag with real melodies and score near 0: that is a
    category error, not a bad model. Such rows get NaN distances, OA and KL and a flag
    that says why, so means skip them.

    Parameters
    ----------
    comparison : pd.DataFrame
        From :func:`compare_sets`.
    features : sequence of str
        Rows to mark (those absent from ``comparison`` are ignored).
    reason : str
        Why, e.g. ``"one-part output"``; the flag reads ``not applicable: <reason>``.

    Returns
    -------
    pd.DataFrame
        Same index and columns.
    """
    if "oa" not in comparison.columns:
        raise ValueError("comparison must be a compare_sets result (it has no 'oa' column)")
    if not reason:
        raise ValueError("reason must say why the features do not apply")
    marked = comparison.copy()
    rows = [f for f in features if f in marked.index]
    columns = [c for c in ("mean_generated", "std_generated", "intra_generated", "inter", "oa", "kl", "pooled_kl")
               if c in marked.columns]
    marked.loc[rows, columns] = math.nan
    marked.loc[rows, "flag"] = f"not applicable: {reason}"
    return marked



def _pooled_pitch_counts(frame: pd.DataFrame) -> np.ndarray | None:
    """Pooled pitch counts from per-piece normalized histograms times pitched-note counts."""
    if "pitch_histogram" not in frame.columns or "n_pitched_notes" not in frame.columns:
        return None
    total = np.zeros(128)
    for hist, n in zip(frame["pitch_histogram"], frame["n_pitched_notes"], strict=True):
        hist = np.asarray(hist, dtype=float)
        if n and np.isfinite(hist).all():
            total += hist * float(n)
    return total


