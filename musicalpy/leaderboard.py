"""The leaderboard: one row per model, stored in a CSV file that notebooks share.

:class:`Leaderboard` collects what :mod:`musicalpy.metrics` measures (bits per token
and per note, the overlapping areas of :func:`musicalpy.metrics.compare_sets`) under a
key of model, representation and split, and saves it so that several notebooks can add
their rows to one file without overwriting each other's. Each row carries the
representation's fingerprint; :func:`bits_comparison` compares bits per token only
between rows that share it, and everything else in bits per note.

Every row also has the voice-leading columns :data:`VOICE_LEADING_COLUMNS`
(:func:`musicalpy.metrics.voice_leading_summary` of the model's samples, pooled over
them): NaN, "not applicable", for a row without four-voice samples, never 0.
:meth:`Leaderboard.add_reference` adds the row they are read against, Bach's test
chorales.

The Bach-or-model columns :data:`DISCRIMINATOR_COLUMNS` say how often a classifier tells
a model's samples from Bach's chorales, with its 95% interval, for each classifier of
:func:`musicalpy.metrics.discriminator_test`, and the share of the samples' four-bar
windows copied note for note from a training chorale. :func:`bach_or_model` measures them
for models that write the four voices (joint models, and per-voice models whose voices
are put together); every other row has them NaN. :meth:`Leaderboard.update` sets them on
a row added before, and :func:`told_apart_sentence` reads them back as a sentence.

Which model a notebook keeps, and which it calls the best, is chosen by
:func:`choose_on_validation` from validation scores only: it refuses scores labelled as
the test split, and its :class:`Selection` is the record a model's card keeps
(:func:`check_selection`), so the test split is read once per reported number.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._config import leaderboard_path

__all__ = ["Leaderboard", "bits_comparison", "VOICE_LEADING_COLUMNS", "voice_leading_columns",
           "DISCRIMINATOR_COLUMNS", "BachOrModel", "bach_or_model", "told_apart_sentence", "Selection",
           "choose_on_validation", "check_selection"]

#: The voice-leading columns, ``vl_<measure>`` for each of
#: :data:`musicalpy.metrics.VOICE_LEADING_MEASURES` (percentages; parallels, crossing
#: and overlap per 100 voice-pair transitions; ``vl_chord_type_overlap`` in [0, 1]).
VOICE_LEADING_COLUMNS: tuple[str, ...] = (
    "vl_parallel_fifths", "vl_parallel_octaves", "vl_voice_crossing", "vl_voice_overlap", "vl_wide_spacing",
    "vl_out_of_range", "vl_strong_beat_dissonance", "vl_homorhythm", "vl_chord_type_overlap",
)
_NOT_FOUR_VOICES = "voice leading not applicable: the samples have fewer than two of Soprano, Alto, Tenor, Bass"
#: The Bach-or-model columns (:func:`bach_or_model`): per classifier of
#: :data:`musicalpy.metrics.CLASSIFIERS`, ``told_apart_<classifier>`` (balanced accuracy
#: on held-out pieces, 0.5 = cannot tell) and its 95% interval ``_low``/``_high``; then
#: ``copied_windows``, the share of four-bar windows found note for note in a training
#: chorale.
DISCRIMINATOR_COLUMNS: tuple[str, ...] = (
    "told_apart_features", "told_apart_features_low", "told_apart_features_high",
    "told_apart_windows", "told_apart_windows_low", "told_apart_windows_high",
    "copied_windows",
)


def voice_leading_columns(samples: pd.DataFrame, reference: pd.DataFrame | None = None) -> dict[str, float]:
    """The :data:`VOICE_LEADING_COLUMNS` of a set of samples.

    Parameters
    ----------
    samples : pd.DataFrame
        The model's generated note table (many pieces).
    reference : pd.DataFrame, optional
        The pieces the chord-type distribution is compared with (the test chorales for
        a model; for Bach's own row, the training chorales, since a set compared with
        itself scores 1).

    Returns
    -------
    dict
        Column to value; all NaN for samples without two of the four voices.
    """
    from .metrics import VOICE_LEADING_MEASURES, voice_leading_summary

    summary = voice_leading_summary(samples, reference)
    return {f"vl_{measure}": float(summary[measure]) for measure in VOICE_LEADING_MEASURES}


@dataclasses.dataclass(frozen=True)
class BachOrModel:
    """Can a classifier tell a model's samples from Bach's chorales? (:func:`bach_or_model`)

    Attributes
    ----------
    label : str
        The model's name.
    results : dict of str to DiscriminatorResult
        One :func:`musicalpy.metrics.discriminator_test` result per classifier of
        :data:`musicalpy.metrics.CLASSIFIERS`; empty when the test did not apply.
    copies : CopyCheck or None
        :func:`musicalpy.metrics.copied_windows` of the samples against the training chorales.
    reason : str
        Why the test did not apply ("" when it did).
    seconds : float
        Wall-clock time of the whole test.
    """

    label: str
    results: dict[str, Any]
    copies: Any = None
    reason: str = ""
    seconds: float = math.nan

    @property
    def columns(self) -> dict[str, float]:
        """The :data:`DISCRIMINATOR_COLUMNS` (NaN where not measured)."""
        out = dict.fromkeys(DISCRIMINATOR_COLUMNS, math.nan)
        for name, result in self.results.items():
            out[f"told_apart_{name}"] = result.accuracy
            out[f"told_apart_{name}_low"], out[f"told_apart_{name}_high"] = result.interval
        if self.copies is not None:
            out["copied_windows"] = self.copies.share
        return out

    @property
    def best_accuracy(self) -> float:
        """The higher of the classifiers' accuracies (the stronger adversary); NaN when not measured."""
        return max((r.accuracy for r in self.results.values()), default=math.nan)

    def __str__(self) -> str:
        if not self.results:
            return f"{self.label}: Bach-or-model test not run ({self.reason})"
        return told_apart_sentence(self.columns, label=self.label)


def bach_or_model(samples: pd.DataFrame | Sequence[pd.DataFrame], train: pd.DataFrame, held_out: pd.DataFrame, *,
                  label: str = "the model", n_folds: int = 3, seed: int = 0, **options: Any) -> BachOrModel:
    """Both classifiers of :func:`musicalpy.metrics.discriminator_test` and the copy check.

    The test applies to samples written in voices: every part is one of Soprano, Alto,
    Tenor and Bass (a joint model's, or a per-voice model's whose voices are put together
    into one piece; a voice it leaves silent gives it away, as it should). A piano roll
    or any other part is "not applicable". It needs at least two samples per fold; with
    fewer than ``2 * n_folds`` (and at least four) the folds are fewer.

    Parameters
    ----------
    samples : pd.DataFrame or sequence of pd.DataFrame
        The model's pieces, each as long as a held-out chorale (e.g. the samples of
        :func:`musicalpy.zoo.evaluate`), or one table per sampling draw.
    train : pd.DataFrame
        The chorales the model was trained on (the classifiers learn Bach from them; the
        copy check searches them).
    held_out : pd.DataFrame
        Chorales neither saw (validation and test).
    label : str
        The model's name.
    n_folds : int
        Folds of the samples (one table).
    seed : int
    **options
        For :func:`musicalpy.metrics.discriminator_test` (``n_boot``, ``max_epochs``, ``n_top``...).

    Returns
    -------
    BachOrModel
        With ``reason`` set and no result when the test does not apply.
    """
    import time

    from .metrics import CLASSIFIERS, copied_windows, discriminator_test
    from .names import VOICES

    draws = [samples] if isinstance(samples, pd.DataFrame) else list(samples)
    parts = {str(p) for draw in draws for p in draw["part"].unique()} if all("part" in d for d in draws) else set()
    if not parts or not parts <= set(VOICES):
        heard = ", ".join(sorted(parts)) or "none"
        return BachOrModel(label, {}, None, f"not applicable: the samples' parts are {heard}, not voices among "
                                            "Soprano, Alto, Tenor and Bass")
    if len(draws) == 1:
        n_pieces = draws[0]["piece"].nunique()
        n_folds = min(int(n_folds), n_pieces // 2)
        if n_folds < 2:
            return BachOrModel(label, {}, None, f"too few samples: {n_pieces} (at least 4 are needed)")
    started = time.perf_counter()
    results = {name: discriminator_test(draws if len(draws) > 1 else draws[0], train, held_out, classifier=name,
                                        n_folds=n_folds, seed=seed, label=label, **options)
               for name in CLASSIFIERS}
    copies = copied_windows(draws, train)
    return BachOrModel(label, results, copies, "", time.perf_counter() - started)


#: What each classifier reads, in the words of :func:`told_apart_sentence`.
_READS = {"features": "per-piece features", "windows": "four-bar windows"}


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def told_apart_sentence(row: Mapping[str, Any], *, label: str | None = None) -> str:
    """A leaderboard row's :data:`DISCRIMINATOR_COLUMNS` as one sentence.

    Parameters
    ----------
    row : mapping
        A leaderboard row (or :attr:`BachOrModel.columns`).
    label : str, optional
        The model's name (default ``row["model"]``).

    Returns
    -------
    str
        e.g. "satb_counts is told from Bach 97% of the time (95% CI 93-100%) by a
        classifier reading per-piece features, 91% (86-95%) by one reading four-bar
        windows; 0.0% of its four-bar windows are copied from a training chorale", or
        "...: not measured by the Bach-or-model test".
    """
    from .metrics import CLASSIFIERS

    label = label if label is not None else str(row.get("model", "the model"))
    told = []
    for name in CLASSIFIERS:
        value = row.get(f"told_apart_{name}")
        if not _finite(value):
            continue
        low, high = (round(100 * float(row.get(f"told_apart_{name}_{end}", math.nan))) if
                     _finite(row.get(f"told_apart_{name}_{end}")) else "?" for end in ("low", "high"))
        reads = _READS.get(name, name)
        told.append(f"{100 * float(value):.0f}% of the time (95% CI {low}-{high}%) by a classifier reading {reads}"
                    if not told else f"{100 * float(value):.0f}% ({low}-{high}%) by one reading {reads}")
    if not told:
        return f"{label}: not measured by the Bach-or-model test"
    sentence = f"{label} is told from Bach " + ", ".join(told)
    if _finite(row.get("copied_windows")):
        sentence += (f"; {100 * float(row['copied_windows']):.1f}% of its four-bar windows are copied from a "
                     "training chorale")
    return sentence


class Leaderboard:
    """One row per (model, representation, split): likelihoods and musical measures.

    The table lives in a CSV file (default :func:`musicalpy._config.leaderboard_path`:
    ``MUSICALPY_LEADERBOARD``, else ``leaderboard.csv`` under :func:`musicalpy.output_dir`). Creating a leaderboard reads the file when it exists;
    :meth:`add` appends a row, or replaces the row with the same model, representation
    and split; :meth:`save` re-reads the file first and merges, so rows that another
    notebook wrote meanwhile are kept, never silently overwritten.

    Parameters
    ----------
    path : str or path-like, optional
        The CSV file.

    Examples
    --------
    >>> board = Leaderboard()
    >>> board.add("markov-1", representation="pitch", split="test",
    ...           bits_per_token=3.1, bits_per_note=3.1, comparison=comparison)
    >>> board.save()
    """

    #: Key columns: a row is replaced when all four match. ``benchmark`` keeps the JSB
    #: Chorales rows (``"jsb"``, nats per frame) apart from the series' own corpora
    #: (``""``), whose bits per token or note are not comparable with them.
    KEY = ("benchmark", "model", "representation", "split")
    #: Columns every row has, in this order; ``oa_<feature>`` columns follow.
    COLUMNS = ("benchmark", "model", "representation", "split", "representation_fingerprint", "bits_per_token",
               "bits_per_note", "pitch_histogram_kl", "mean_oa", "mean_oa_sd", "n_seeds", "n_samples",
               "training_time_s", "notes")

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else leaderboard_path()
        self._frame = self._read(self.path)
        self._added: list[tuple[str, ...]] = []

    @classmethod
    def load(cls, path: str | Path | None = None) -> Leaderboard:
        """Read a leaderboard CSV (an empty board when the file does not exist)."""
        return cls(path)

    @staticmethod
    def _read(path: Path) -> pd.DataFrame:
        if path.exists():
            frame = pd.read_csv(path, keep_default_na=True)
            if "benchmark" not in frame.columns:  # a file written before the column existed
                frame.insert(0, "benchmark", "")
            missing = [c for c in Leaderboard.KEY if c not in frame.columns]
            if missing:
                raise ValueError(f"{path}: not a leaderboard CSV (lacks column(s) {missing})")
            for column in Leaderboard.KEY + ("notes", "representation_fingerprint"):
                if column in frame.columns:
                    frame[column] = frame[column].fillna("").astype(str)
            return frame
        return pd.DataFrame(columns=list(Leaderboard.COLUMNS))

    @property
    def frame(self) -> pd.DataFrame:
        """The rows, as a copy."""
        return self._frame.copy()

    def __len__(self) -> int:
        return len(self._frame)

    def add(
        self,
        model: str,
        *,
        representation: str = "",
        split: str = "test",
        bits_per_token: float = math.nan,
        bits_per_note: float = math.nan,
        representation_fingerprint: str = "",
        comparison: pd.DataFrame | None = None,
        oa: Mapping[str, float] | None = None,
        pitch_histogram_kl: float | None = None,
        n_samples: int | None = None,
        training_time_s: float = math.nan,
        notes: str = "",
        benchmark: str = "",
        samples: pd.DataFrame | None = None,
        reference: pd.DataFrame | None = None,
        **extra: Any,
    ) -> Leaderboard:
        """Add (or replace) the row of one model.

        Parameters
        ----------
        model, representation, split : str
            The row's key.
        bits_per_token, bits_per_note : float
            From :func:`musicalpy.metrics.bits_per_token` / :func:`musicalpy.metrics.bits_per_note`.
        representation_fingerprint : str
            :func:`musicalpy.zoo.representation_fingerprint`'s short hash: bits per token
            are compared only between rows that share it (:func:`bits_comparison`).
        comparison : pd.DataFrame, optional
            A :func:`musicalpy.metrics.compare_sets` or :func:`musicalpy.metrics.seed_spread`
            result: gives ``oa_<feature>`` columns, ``mean_oa`` (mean over the defined
            :data:`musicalpy.metrics.BUDGET_FREE_FEATURES`), ``mean_oa_sd`` and
            ``n_seeds`` (its sd over sampling seeds, for a ``seed_spread`` result),
            ``pitch_histogram_kl`` and ``n_samples`` unless those are given explicitly.
        oa : mapping of str to float, optional
            OA per feature, when there is no comparison frame.
        pitch_histogram_kl : float, optional
        n_samples : int, optional
            Generated pieces the measures come from.
        training_time_s : float
        notes : str
            Anything a reader must know (e.g. "ELBO bound", "pitch part only").
        benchmark : str, default ""
            ``"jsb"`` for a JSB Chorales row (its score in ``nats_per_frame``); empty
            for the series' own corpora.
        samples : pd.DataFrame, optional
            The model's generated notes (e.g. the third value :func:`musicalpy.zoo.evaluate`
            returns): fills the :data:`VOICE_LEADING_COLUMNS` (:func:`voice_leading_columns`),
            and says so in ``notes`` when they do not apply. Without it (and without
            those columns in ``extra``) they are NaN.
        reference : pd.DataFrame, optional
            What the samples' chord types are compared with (the test chorales).
        **extra
            More columns.

        Returns
        -------
        self
        """
        if not model:
            raise ValueError("model must be a non-empty name")
        from .metrics import BUDGET_FREE_FEATURES, mean_oa

        row: dict[str, Any] = {"benchmark": str(benchmark), "model": str(model), "representation": str(representation),
                               "split": str(split), "representation_fingerprint": str(representation_fingerprint),
                               "bits_per_token": bits_per_token, "bits_per_note": bits_per_note,
                               "training_time_s": training_time_s, "notes": notes}
        oa_values = dict(oa or {})
        spread, n_seeds = math.nan, 1
        if comparison is not None:
            if "oa" not in comparison.columns:
                raise ValueError("comparison must be a compare_sets result (it has no 'oa' column)")
            oa_values = {**comparison["oa"].to_dict(), **oa_values}
            if not oa:
                spread = mean_oa(comparison)[1]
                n_seeds = int(comparison["n_seeds"].iloc[0]) if "n_seeds" in comparison.columns and len(comparison) else 1
            if pitch_histogram_kl is None and "pitch_histogram" in comparison.index:
                pitch_histogram_kl = float(comparison.loc["pitch_histogram", "pooled_kl"])
            if n_samples is None and "n_generated" in comparison.columns:
                n_samples = int(comparison["n_generated"].max())
        for feature, value in oa_values.items():
            row[f"oa_{feature}"] = value
        # Features the budget decides (note counts, length) stay in their own columns
        # but not in the mean: they say how long a sample was asked to be.
        defined = [v for f, v in oa_values.items() if f in BUDGET_FREE_FEATURES and v is not None and np.isfinite(v)]
        row["mean_oa"] = float(np.mean(defined)) if defined else math.nan
        if comparison is not None and not oa:
            # The notebooks print metrics.mean_oa (the mean over features per seed, then
            # over seeds); the row must hold the same number, not a mean of seed means.
            row["mean_oa"] = mean_oa(comparison)[0]
        row["mean_oa_sd"], row["n_seeds"] = spread, n_seeds
        row["pitch_histogram_kl"] = math.nan if pitch_histogram_kl is None else pitch_histogram_kl
        row["n_samples"] = n_samples if n_samples is not None else math.nan
        row.update(dict.fromkeys(VOICE_LEADING_COLUMNS + DISCRIMINATOR_COLUMNS, math.nan))
        if samples is not None:
            row.update(voice_leading_columns(samples, reference))
            if all(math.isnan(row[c]) for c in VOICE_LEADING_COLUMNS):
                row["notes"] = "; ".join(filter(None, [row["notes"], _NOT_FOUR_VOICES]))
        row.update(extra)
        key = tuple(row[k] for k in self.KEY)
        self._frame = self._merge(self._frame, pd.DataFrame([row]))
        if key not in self._added:
            self._added.append(key)
        return self

    def update(self, model: str, *, representation: str = "", split: str = "test", benchmark: str = "",
               **columns: Any) -> Leaderboard:
        """Set columns of a row added before, e.g. :data:`DISCRIMINATOR_COLUMNS` measured
        after the row's other numbers.

        Parameters
        ----------
        model, representation, split, benchmark : str
            The row's key, as given to :meth:`add`.
        **columns
            Column to value; new columns are added (NaN in the other rows).

        Returns
        -------
        self

        Raises
        ------
        KeyError
            When the board has no row with that key.
        """
        key = (str(benchmark), str(model), str(representation), str(split))
        where = (self._frame[list(self.KEY)].astype(str) == key).all(axis=1)
        if not where.any():
            raise KeyError(f"no leaderboard row for model {model!r}, representation {representation!r}, split "
                           f"{split!r}{f', benchmark {benchmark!r}' if benchmark else ''}: add it first")
        frame = self._frame.copy()
        for column, value in columns.items():
            if column not in frame.columns:
                frame[column] = math.nan
            if frame[column].dtype != object and not isinstance(value, (int, float, np.number)):
                frame[column] = frame[column].astype(object)
            frame.loc[where, column] = value
        self._frame = self._merge(frame.iloc[0:0], frame)
        if key not in self._added:
            self._added.append(key)
        return self

    def add_reference(
        self,
        notes: pd.DataFrame,
        reference: pd.DataFrame | None = None,
        *,
        model: str = "Bach (test chorales)",
        split: str = "test",
        benchmark: str = "",
    ) -> Leaderboard:
        """Add the row the models' voice leading is read against: real pieces' own values.

        Parameters
        ----------
        notes : pd.DataFrame
            The reference pieces, e.g. Bach's test chorales (``corpus.split("test").notes``).
        reference : pd.DataFrame, optional
            Pieces their chord types are compared with: Bach's training chorales give
            the overlap one set of Bach reaches with another, the ceiling of a model's.
        model, split, benchmark : str
            The row's key (representation ``""``).

        Returns
        -------
        self
        """
        if not isinstance(notes, pd.DataFrame) or notes.empty:
            raise ValueError("notes must be a non-empty note table of the reference pieces")
        n_pieces = notes["piece"].nunique() if "piece" in notes.columns else 1
        return self.add(model, split=split, benchmark=benchmark, samples=notes, reference=reference,
                        n_samples=int(n_pieces), notes="reference row: real pieces, not a model")

    @classmethod
    def _merge(cls, base: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
        """Rows of ``base`` whose key is not in ``new``, then ``new``; columns ordered."""
        if len(base):
            keys = set(map(tuple, new[list(cls.KEY)].astype(str).to_numpy()))
            keep = [tuple(k) not in keys for k in base[list(cls.KEY)].astype(str).to_numpy()]
            base = base[keep]
        frames = [f for f in (base, new) if len(f)]
        merged = pd.concat(frames, ignore_index=True) if frames else base
        front = [c for c in cls.COLUMNS + VOICE_LEADING_COLUMNS + DISCRIMINATOR_COLUMNS if c in merged.columns]
        oa_columns = sorted(c for c in merged.columns if c.startswith("oa_"))
        rest = [c for c in merged.columns if c not in front and c not in oa_columns]
        return merged[front + oa_columns + rest]

    def save(self, path: str | Path | None = None) -> Path:
        """Write the CSV, merged with what the file holds now; return its path.

        Rows of the file whose key this board did not add in this session are kept as
        they are on disk; rows this board added replace the file's rows of the same key.
        """
        path = Path(path) if path is not None else self.path
        on_disk = self._read(path)
        if self._added:
            mine = self._frame[[tuple(k) in set(self._added)
                                for k in self._frame[list(self.KEY)].astype(str).to_numpy()]]
        else:
            mine = self._frame.iloc[0:0]
        if path.resolve() != self.path.resolve():
            mine = self._frame  # a new file gets everything this board holds
        merged = self._merge(on_disk, mine)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        merged.to_csv(tmp, index=False)
        tmp.replace(path)
        self._frame = merged
        self.path = path
        return path


def _token_groups(rows: pd.DataFrame) -> list[pd.DataFrame]:
    """Rows that share a representation fingerprint, one frame per fingerprint with 2+ models."""
    defined = rows[rows["representation_fingerprint"].astype(str).ne("") & np.isfinite(rows["bits_per_token"].astype(float))]
    return [group for _, group in defined.groupby("representation_fingerprint", sort=False) if len(group) >= 2]


def bits_comparison(rows: pd.DataFrame, *, digits: int = 3) -> list[str]:
    """Sentences that compare models in bits per token only where their tokens are the same.

    Bits per token depend on what a token is: two models are compared in bits per
    token only when their ``representation_fingerprint`` is identical (same encoding,
    options and vocabulary); every other pair is compared in bits per note, which
    every model shares.

    Parameters
    ----------
    rows : pd.DataFrame
        Leaderboard rows (:attr:`Leaderboard.frame` or ``zoo.evaluate`` rows): columns
        ``model``, ``representation``, ``representation_fingerprint``,
        ``bits_per_token``, ``bits_per_note``.
    digits : int
        Decimals shown.

    Returns
    -------
    list of str
        One sentence per group of models with identical tokens, one naming the models
        whose tokens no other model shares, and one ranking every model in bits per note.
    """
    needed = ["model", "representation", "representation_fingerprint", "bits_per_token", "bits_per_note"]
    missing = [c for c in needed if c not in rows.columns]
    if missing:
        raise ValueError(f"rows lack column(s) {missing}; pass leaderboard rows with a representation fingerprint")
    rows = rows.assign(representation_fingerprint=rows["representation_fingerprint"].fillna("").astype(str))
    lines = []
    grouped = set()
    for group in _token_groups(rows):
        group = group.sort_values("bits_per_token")
        grouped.update(group["model"])
        shown = ", ".join(f"{m} {b:.{digits}f}" for m, b in zip(group["model"], group["bits_per_token"], strict=True))
        fingerprint = group["representation_fingerprint"].iloc[0]
        lines.append(f"On identical tokens ({group['representation'].iloc[0]}, fingerprint {fingerprint}): "
                     f"{shown} bits per token.")
    alone = [m for m in rows["model"] if m not in grouped]
    if alone:
        lines.append(f"No other model here has the tokens of {', '.join(alone)} (different encodings, options or "
                     "vocabularies), so their bits per token are not compared.")
    notes = rows[np.isfinite(rows["bits_per_note"].astype(float))].sort_values("bits_per_note")
    if len(notes):
        lines.append("Every model in bits per note: "
                     + ", ".join(f"{m} {b:.2f}" for m, b in zip(notes["model"], notes["bits_per_note"], strict=True)) + ".")
    return lines


# ------------------------------------------------------------------ choosing a model

#: A label that names the test split: "test", "test bits/token", "bits_test", "Test loss".
_TEST_LABEL = re.compile(r"(^|[^a-z])test([^a-z]|$)", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Selection:
    """A model chosen among candidates by their validation scores.

    Made by :func:`choose_on_validation`; :meth:`record` is what a model's card keeps
    (:func:`musicalpy.zoo.from_trained` takes either).

    Attributes
    ----------
    chosen : str
        The candidate kept.
    metric : str
        What the scores measure, e.g. ``"validation bits per token"``.
    candidates : dict of str to float
        Every candidate's validation score, in the order given.
    lower_is_better : bool
    split : str
        Always ``"validation"``.
    """

    chosen: str
    metric: str
    candidates: dict[str, float]
    lower_is_better: bool = True
    split: str = "validation"

    @property
    def score(self) -> float:
        """The chosen candidate's validation score."""
        return self.candidates[self.chosen]

    def ranking(self) -> list[str]:
        """The candidates, best first (ties keep the given order)."""
        sign = 1.0 if self.lower_is_better else -1.0
        return sorted(self.candidates, key=lambda name: sign * self.candidates[name])

    def record(self) -> dict[str, Any]:
        """The card's ``selection`` entry: split, metric, candidates and the one chosen."""
        return {"split": self.split, "metric": self.metric, "candidates": dict(self.candidates), "chosen": self.chosen}

    def __str__(self) -> str:
        others = ", ".join(f"{name} {value:.3f}" for name, value in self.candidates.items() if name != self.chosen)
        return (f"kept {self.chosen} ({self.metric} {self.score:.3f}, "
                f"{'lowest' if self.lower_is_better else 'highest'} of {len(self.candidates)}"
                + (f"; others: {others})" if others else ")"))


def choose_on_validation(scores: Mapping[Any, float] | pd.Series, *, metric: str, split: str = "validation",
                         lower_is_better: bool = True) -> Selection:
    """Choose the candidate with the best validation score; refuse any test-split score.

    This is the one way a notebook keeps a model or calls one "the best": sizes,
    epochs, checkpoints and configurations are all chosen here, so a test number can
    only ever be reported, never used to choose.

    Parameters
    ----------
    scores : mapping or pd.Series
        Candidate name -> its validation score (a Series: index -> value). Names are
        kept as strings.
    metric : str
        What the scores measure, for the card and the printed line (e.g.
        ``"validation bits per token"``).
    split : str, default "validation"
        The split the scores were measured on; anything but ``"validation"`` is refused.
    lower_is_better : bool, default True
        False for scores such as accuracy or F1.

    Returns
    -------
    Selection
        The chosen candidate, every candidate's score and the record for the card.
        Ties go to the candidate given first.

    Raises
    ------
    ValueError
        When ``split`` is not ``"validation"``; when ``metric`` or the Series' name
        names the test split (a column such as ``"test bits/token"``); when there is
        no candidate, or a score is not a finite number.

    Examples
    --------
    >>> choice = choose_on_validation({"small": 4.21, "large": 4.05}, metric="validation bits per token")
    >>> choice.chosen
    'large'
    >>> choose_on_validation({"small": 4.3}, metric="bits", split="test")
    Traceback (most recent call last):
    ...
    ValueError: choose_on_validation: the scores are from the test split; ...
    """
    where = "choose_on_validation"
    if split == "test":
        raise ValueError(f"{where}: the scores are from the test split; choose on validation scores "
                         "(the test split is read once per reported number)")
    if split != "validation":
        raise ValueError(f"{where}: split must be 'validation', got {split!r}")
    labels = {"metric": metric, "the scores' name": getattr(scores, "name", None)}
    for what, label in labels.items():
        if isinstance(label, str) and _TEST_LABEL.search(label):
            raise ValueError(f"{where}: {what} {label!r} names the test split; choose on validation scores")
    if isinstance(scores, pd.DataFrame):
        raise ValueError(f"{where}: pass one column of validation scores (a Series or a mapping), not a table")
    items = list(scores.items())
    if not items:
        raise ValueError(f"{where}: no candidate to choose from")
    candidates: dict[str, float] = {}
    for name, value in items:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: the score of {name!r} is not a number: {value!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"{where}: the score of {name!r} is {number}; every candidate needs a finite "
                             "validation score")
        candidates[str(name)] = number
    sign = 1.0 if lower_is_better else -1.0
    chosen = min(candidates, key=lambda name: sign * candidates[name])
    return Selection(chosen, str(metric), candidates, bool(lower_is_better))


def check_selection(selection: Selection | Mapping[str, Any], where: str) -> dict[str, Any]:
    """A model card's ``selection`` record, checked: it must be made on validation.

    Parameters
    ----------
    selection : Selection or mapping
        A :class:`Selection`, or a mapping with ``split`` (and ``metric``,
        ``candidates``, optionally ``chosen``).
    where : str
        Names the caller in the error message.

    Returns
    -------
    dict
        The record, with ``metric`` and ``candidates`` filled in when missing.

    Raises
    ------
    ValueError
        When the record has no split, or names the test split (or any split but
        validation), or its metric names the test split.
    """
    if isinstance(selection, Selection):
        selection = selection.record()
    if not isinstance(selection, Mapping) or "split" not in selection:
        raise ValueError(f"{where}: selection must be a mapping with a 'split' (and 'metric', 'candidates'), "
                         f"got {selection!r}")
    if selection["split"] == "test":
        raise ValueError(f"{where}: the kept model was chosen on the test split; choose it on validation "
                         "(the test split is read once per reported number)")
    if selection["split"] != "validation":
        raise ValueError(f"{where}: selection split must be 'validation', got {selection['split']!r}")
    metric = selection.get("metric")
    if isinstance(metric, str) and _TEST_LABEL.search(metric):
        raise ValueError(f"{where}: the kept model was chosen on the test split (metric {metric!r}); choose it "
                         "on validation")
    return {"metric": None, "candidates": [], **dict(selection)}
