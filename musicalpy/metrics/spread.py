"""Comparisons over several sampling seeds: mean ± sd, mean OA, and a verdict that
names a winner only when the gap exceeds the spread.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .features import (
    BUDGET_FREE_FEATURES,
)

__all__ = [
    "seed_spread",
    "mean_oa",
    "spread_verdict",
]

def seed_spread(comparisons: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Mean and spread of several :func:`compare_sets` results (one per sampling seed).

    The OA of a feature moves from one set of samples to the next; a difference
    between two models means something only when it is larger than that movement, so
    every comparison is made over several sampling seeds and reported as mean ± sd.

    Parameters
    ----------
    comparisons : sequence of pd.DataFrame
        :func:`compare_sets` results over the same features, one per seed (at least 2).

    Returns
    -------
    pd.DataFrame
        Index ``feature``; ``kind``, ``n_reference``; ``n_generated``,
        ``mean_generated``, ``mean_reference``, ``oa``, ``kl``, ``pooled_kl`` as means
        over the seeds; ``oa_sd``, ``kl_sd``, ``pooled_kl_sd`` (sample sd, ``ddof=1``,
        over the seeds where the value is defined); ``oa_seed_<i>`` (the OA of seed
        ``i``, for :func:`mean_oa`); ``n_seeds``; ``flag`` (the distinct flags, ``|``-joined).
    """
    if len(comparisons) < 2:
        raise ValueError(f"comparisons must hold at least 2 compare_sets results (one per seed), got {len(comparisons)}")
    index = comparisons[0].index
    for i, comparison in enumerate(comparisons):
        if "oa" not in comparison.columns:
            raise ValueError(f"comparisons[{i}] is not a compare_sets result (it has no 'oa' column)")
        if not comparison.index.equals(index):
            raise ValueError(f"comparisons[{i}] compares other features than comparisons[0]")
    out = pd.DataFrame(index=index)
    out["kind"] = comparisons[0]["kind"]
    out["n_reference"] = comparisons[0]["n_reference"]
    for column in ("n_generated", "mean_generated", "mean_reference", "oa", "kl", "pooled_kl"):
        stacked = np.stack([c[column].to_numpy(dtype=float) for c in comparisons], axis=1)
        defined = np.isfinite(stacked)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows give NaN, as they should
            out[column] = np.nanmean(stacked, axis=1)
            if column in ("oa", "kl", "pooled_kl"):
                sd = np.nanstd(stacked, axis=1, ddof=1)
                out[f"{column}_sd"] = np.where(defined.sum(axis=1) >= 2, sd, math.nan)
        if column == "oa":
            for i in range(len(comparisons)):
                out[f"oa_seed_{i}"] = stacked[:, i]
    out["n_seeds"] = len(comparisons)
    out["flag"] = ["|".join(dict.fromkeys(f for f in flags if f))
                   for flags in zip(*(c["flag"].astype(str) for c in comparisons), strict=True)]
    return out


def mean_oa(comparison: pd.DataFrame, features: Sequence[str] = BUDGET_FREE_FEATURES) -> tuple[float, float]:
    """Mean OA over the budget-free features, and its spread over sampling seeds.

    Parameters
    ----------
    comparison : pd.DataFrame
        From :func:`compare_sets` (one seed: the spread is NaN) or :func:`seed_spread`
        (the mean over features is taken per seed, then mean ± sd over seeds).
    features : sequence of str
        Default :data:`BUDGET_FREE_FEATURES`; rows absent or NaN (undefined, not
        applicable) are skipped.

    Returns
    -------
    mean, sd : float
        NaN when no feature is defined; ``sd`` is NaN with fewer than two seeds.
    """
    if "oa" not in comparison.columns:
        raise ValueError("comparison must be a compare_sets or seed_spread result (it has no 'oa' column)")
    rows = comparison.loc[[f for f in features if f in comparison.index]]
    seeds = sorted((c for c in comparison.columns if c.startswith("oa_seed_")), key=lambda c: int(c.rsplit("_", 1)[1]))
    if not seeds:
        values = rows["oa"].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        return (float(values.mean()) if len(values) else math.nan), math.nan
    per_seed = []
    for column in seeds:
        values = rows[column].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if len(values):
            per_seed.append(float(values.mean()))
    if not per_seed:
        return math.nan, math.nan
    return float(np.mean(per_seed)), float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else math.nan


def spread_verdict(first: tuple[str, float, float], second: tuple[str, float, float], *, measure: str = "mean OA",
                   higher_is_better: bool = True, digits: int = 3) -> str:
    """One sentence that names a winner only when the gap exceeds the spread.

    The rule: ``A`` beats ``B`` when ``|mean_A - mean_B| > sd_A + sd_B``, i.e. the
    intervals mean ± sd do not overlap. Otherwise the two are said to be within the
    spread. Without a spread (an sd is NaN) no winner is claimed either.

    Parameters
    ----------
    first, second : (name, mean, sd)
        Two models' values of ``measure``, with the sd over sampling (or training) seeds.
    measure : str
        What the numbers are, for the sentence.
    higher_is_better : bool
        True for OA; False for bits, KL.
    digits : int
        Decimals shown.

    Returns
    -------
    str
        ``"X beats Y on <measure> by <gap> (X m ± s, Y m ± s)."`` or
        ``"X and Y are within the spread on <measure> (...)."``

    Examples
    --------
    >>> spread_verdict(("lstm", 0.62, 0.01), ("wavenet", 0.55, 0.02))
    'lstm beats wavenet on mean OA by 0.070 (lstm 0.620 ± 0.010, wavenet 0.550 ± 0.020).'
    >>> spread_verdict(("lstm", 0.62, 0.01), ("wavenet", 0.615, 0.02))
    'lstm and wavenet are within the spread on mean OA (lstm 0.620 ± 0.010, wavenet 0.615 ± 0.020).'
    """
    for what, value in (("first", first), ("second", second)):
        if len(value) != 3:
            raise ValueError(f"{what} must be (name, mean, sd), got {value!r}")
    (a, mean_a, sd_a), (b, mean_b, sd_b) = first, second
    if not (math.isfinite(mean_a) and math.isfinite(mean_b)):
        return f"{a} and {b} cannot be compared on {measure}: a value is undefined ({mean_a}, {mean_b})."
    if (mean_b > mean_a) == higher_is_better and mean_a != mean_b:
        (a, mean_a, sd_a), (b, mean_b, sd_b) = (b, mean_b, sd_b), (a, mean_a, sd_a)
    shown = f"({a} {mean_a:.{digits}f} ± {sd_a:.{digits}f}, {b} {mean_b:.{digits}f} ± {sd_b:.{digits}f})"
    gap = abs(mean_a - mean_b)
    if math.isfinite(sd_a) and math.isfinite(sd_b) and gap > sd_a + sd_b:
        return f"{a} beats {b} on {measure} by {gap:.{digits}f} {shown}."
    return f"{a} and {b} are within the spread on {measure} {shown}."


