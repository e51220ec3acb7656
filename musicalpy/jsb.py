"""JSB Chorales, the field's polyphonic benchmark, with its canonical split.

>>> corpus = load_corpus("jsb")              # 229 / 76 / 77 chorales, quarter-note frames
>>> corpus.split("test")                     # the benchmark's test split, not re-drawn
>>> frames = read_frames("test")             # the benchmark's frames, (n_frames, 88) each
>>> benchmark_nll(model, "test")             # nats per frame, as the literature scores it
>>> compare_with_published(5.2)              # against each published row, at its precision and kind
>>> voice_token_nll(four_voice_model, "valid")  # the sixteenth-note file, nats per voice-token

Two vendored files under ``data/jsb/`` (provenance, licence and checksums in its
README): the benchmark's quarter-note frames (Boulanger-Lewandowski et al., ICML 2012)
and Coconet's voice-separated sixteenth-note version of the same chorales and split.
Both are checked against their published SHA-256 on every load.

This is its own source module, apart from :mod:`musicalpy.corpus`, because nothing of
the corpus machinery applies: the data are frames, not scores (nothing to parse in
parallel or to cache), the split is fixed by the benchmark instead of drawn with a seed,
and the benchmark's score (:func:`benchmark_nll`) belongs with its data.
The files themselves are read by :mod:`musicalpy.jsb_files`, below both this module and
:mod:`musicalpy.corpus` (``load_corpus("jsb")`` and ``load_corpus("jsb_voices")`` read
them there), so that neither imports the other.

How frames become notes: :mod:`musicalpy.jsb_files`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from .corpus import Corpus
from .frame_estimators import frame_nll
from .jsb_files import (
    JSB_FILES,
    JSB_SPLITS,
    QUARTER_PART,
    JSBDataError,
    data_folder,
    jsb_tables,
    read_frames,
    read_jsb_json,
    read_voices,
    split_key,
)
from .names import VOICES

__all__ = [
    "JSBDataError",
    "JSB_FILES",
    "JSB_SPLITS",
    "QUARTER_PART",
    "data_folder",
    "read_jsb_json",
    "read_frames",
    "read_voices",
    "load_jsb",
    "benchmark_nll",
    "NUMBER_KINDS",
    "PUBLISHED",
    "PUBLISHED_16TH",
    "compare_with_published",
    "voice_steps",
    "voice_token_nll",
    "REPRESENTATION",
    "benchmark_row",
    "benchmark_table",
    "add_to_leaderboard",
]

def load_jsb(voices: bool = False, *, folder: str | os.PathLike | None = None) -> Corpus:
    """JSB Chorales as a :class:`~musicalpy.corpus.Corpus` whose split is the benchmark's.

    Parameters
    ----------
    voices : bool, default False
        False: the benchmark's quarter-note frames, one part :data:`QUARTER_PART` (the
        file has no voices; unisons are one pitch). True: the voice-separated
        sixteenth-note version, parts Soprano, Alto, Tenor, Bass.
    folder : path-like, optional
        Where the files are (default :func:`data_folder`).

    Returns
    -------
    corpus : Corpus
        Name ``"jsb"`` or ``"jsb_voices"``. Pieces ``jsb_train_000`` ..
        ``jsb_test_076`` (``jsb_voices_...`` for the voice file), numbered in the file's
        order within each split; ``split`` is the file's (``valid`` named
        ``validation``); extra columns ``n_frames`` (frames in the file, trailing
        silence included), ``steps_per_quarter`` and ``jsb_split`` (the file's key).
        Beats are grid steps; seconds are at 120 quarter notes per minute. Consecutive
        equal frames of a pitch are one held note (see the module docstring).
    """
    return Corpus(*jsb_tables(voices, folder=folder))


# ---------------------------------------------------------------------------- scoring


def benchmark_nll(model: Any, split: str = "test", *, folder: str | os.PathLike | None = None) -> float:
    """The JSB benchmark's score of a frame model on one canonical split, nats per frame.

    :func:`musicalpy.frame_estimators.frame_nll` over :func:`read_frames` of the split: the
    joint log-probability of every whole 88-key frame given the frames before it,
    silent keys and empty frames included, summed and divided by the number of frames.
    Validation is for model selection; the test split (4,725 frames) gives the number
    to put beside the published ones.

    Parameters
    ----------
    model : object with ``log_prob(frames)``, or a callable
        See :func:`musicalpy.frame_estimators.frame_nll`.
    split : {"train", "valid", "validation", "test"}, default "test"
    folder : path-like, optional
        Where the files are (default :func:`data_folder`).

    Returns
    -------
    nll : float
        Nats per frame (lower is better).
    """
    return frame_nll(model, read_frames(split, folder=folder))


#: The leaderboard's ``representation`` of every JSB row.
REPRESENTATION = "88-key quarter-note frames"

#: What a published or reported number is: the ``likelihood`` column of :data:`PUBLISHED`,
#: :data:`PUBLISHED_16TH` and our rows. Only ``"exact"`` numbers are a model's negative
#: log-likelihood; a ``"bound"`` or an ``"estimate"`` lies above it (an estimate in
#: expectation), and the last two kinds are not a likelihood of the notes at all.
NUMBER_KINDS = {
    "exact": "the model's exact negative log-likelihood of the data",
    "bound": "minus a variational lower bound (ELBO): the model's true NLL is lower by an unknown amount",
    "estimate": "an importance-sampling estimate of a latent-variable model's NLL: noisy, and above the true "
                "NLL in expectation",
    "orderless": "an orderless model's score: the voices of a step are filled in orders the model did not fix, "
                 "so it is not the likelihood of one model of the chorale",
    "conditioned": "the notes' NLL given information the data do not hold (the true chords): neither the notes' "
                   "NLL nor a bound on it",
}

#: Published test scores on this split, nats per time step (the joint log-probability of
#: every whole 88-key quarter-note frame, averaged over the test frames). ``likelihood``
#: is the kind of number (:data:`NUMBER_KINDS`) and ``basis`` says how it is known;
#: ``decimals`` is the precision the source prints, so that a comparison never reads a
#: difference finer than it (:func:`compare_with_published`). Krishnan et al. report two
#: numbers for each model: an importance-sampling estimate and the bound (negative ELBO
#: over all time steps); both are rows here, and their "DMM" is the row their Table 3
#: calls DKF-ar (their numbers were read in the paper's Tables 3 and 4: test split, per
#: time step). The Pyro tutorial quotes the paper's DMM bound (6.93) and reaches 6.87, its
#: own bound: its "test NLL" is ``svi.evaluate_loss`` per time step, as the tutorial's own
#: text shows (``tutorial/source/dmm.ipynb`` of pyro-ppl/pyro, "Results" and
#: ``do_evaluation``).
PUBLISHED = (
    {"model": "RNN", "nats_per_frame": 8.71, "decimals": 2, "likelihood": "exact",
     "basis": "independent sigmoid outputs: the frame's probability is a product computed exactly",
     "source": "Boulanger-Lewandowski, Bengio & Vincent, ICML 2012"},
    {"model": "LSTM", "nats_per_frame": 8.67, "decimals": 2, "likelihood": "exact",
     "basis": "independent sigmoid outputs",
     "source": "Chung, Gulcehre, Cho & Bengio, 2014 (arXiv:1412.3555)"},
    {"model": "GRU", "nats_per_frame": 8.54, "decimals": 2, "likelihood": "exact",
     "basis": "independent sigmoid outputs",
     "source": "Chung, Gulcehre, Cho & Bengio, 2014 (arXiv:1412.3555)"},
    {"model": "TCN", "nats_per_frame": 8.10, "decimals": 2, "likelihood": "exact",
     "basis": "independent sigmoid outputs",
     "source": "Bai, Kolter & Koltun, 2018 (arXiv:1803.01271)"},
    {"model": "STORN", "nats_per_frame": 6.91, "decimals": 2, "likelihood": "bound",
     "basis": "a variational RNN scored by its lower bound",
     "source": "Bayer & Osendorfer, 2014 (arXiv:1411.7610), as quoted by Krishnan et al., AAAI 2017"},
    {"model": "Pyro DMM tutorial", "nats_per_frame": 6.87, "decimals": 2, "likelihood": "bound",
     "basis": "the tutorial's test NLL is svi.evaluate_loss, the negative ELBO per time step (no IAF)",
     "source": "Pyro's Deep Markov Model tutorial (pyro.ai/examples/dmm), Results"},
    {"model": "DMM (IS estimate)", "nats_per_frame": 6.388, "decimals": 3, "likelihood": "estimate",
     "basis": "importance-sampling estimate; the paper's DKF-ar row",
     "source": "Krishnan, Shalit & Sontag, AAAI 2017, Table 3"},
    {"model": "DMM (bound)", "nats_per_frame": 6.926, "decimals": 3, "likelihood": "bound",
     "basis": "negative ELBO over all time steps; the paper's DKF-ar row",
     "source": "Krishnan, Shalit & Sontag, AAAI 2017, Table 3"},
    {"model": "DMM-Aug (IS estimate)", "nats_per_frame": 6.288, "decimals": 3, "likelihood": "estimate",
     "basis": "importance-sampling estimate",
     "source": "Krishnan, Shalit & Sontag, AAAI 2017, Table 3"},
    {"model": "DMM-Aug (bound)", "nats_per_frame": 6.773, "decimals": 3, "likelihood": "bound",
     "basis": "negative ELBO over all time steps",
     "source": "Krishnan, Shalit & Sontag, AAAI 2017, Table 3"},
    {"model": "RNN-NADE", "nats_per_frame": 5.19, "decimals": 2, "likelihood": "exact",
     "basis": "NADE output: the frame's probability is a product of exact conditionals",
     "source": "Boulanger-Lewandowski, Bengio & Vincent, ICML 2012"},
    {"model": "DMM-Aug-NADE (IS estimate)", "nats_per_frame": 5.118, "decimals": 3, "likelihood": "estimate",
     "basis": "importance-sampling estimate",
     "source": "Krishnan, Shalit & Sontag, AAAI 2017, Table 4"},
    {"model": "DMM-Aug-NADE (bound)", "nats_per_frame": 5.335, "decimals": 3, "likelihood": "bound",
     "basis": "negative ELBO over all time steps",
     "source": "Krishnan, Shalit & Sontag, AAAI 2017, Table 4"},
)

#: Published scores of JSB's voice-separated sixteenth-note file (``Jsb16thSeparated``,
#: the canonical split), nats per voice-token: four tokens per sixteenth, Soprano, Alto,
#: Tenor, Bass, as :func:`voice_token_nll` computes ours. All three are validation
#: numbers. ``confirmed`` is False for every row: no number could be read in its paper
#: here, and ``caveat`` says what is known instead and what differs from our unit.
PUBLISHED_16TH = (
    {"model": "Music Transformer", "nats_per_voice_token": 0.335, "decimals": 3, "split": "validation",
     "likelihood": "exact", "confirmed": False,
     "unit": "NLL per token of the S-A-T-B serialized grid (as reported)",
     "source": "Huang et al., Music Transformer, ICLR 2019 (arXiv:1809.04281), relative attention",
     "caveat": "the number comes from a secondary source (paperswithcode); its table and unit could not be "
               "confirmed from the paper text here. An autoregressive Transformer: its likelihood is exact"},
    {"model": "Coconet", "nats_per_voice_token": 0.436, "decimals": 3, "split": "validation",
     "likelihood": "orderless", "confirmed": False,
     "unit": "NLL per token of the S-A-T-B grid (as reported)",
     "source": "Huang, Cooijmans, Roberts, Courville & Eck, Counterpoint by Convolution, ISMIR 2017, as "
               "reported in the Music Transformer paper's table",
     "caveat": "not confirmed from either paper here. Coconet is orderless: Magenta's evaluation fills the "
               "earlier voices of a frame with the model's own guesses and can average over orderings, so the "
               "number is not an exact likelihood"},
    {"model": "TonicNet", "nats_per_voice_token": 0.220, "decimals": 3, "split": "validation",
     "likelihood": "conditioned", "confirmed": False,
     "unit": "NLL per note token, with a chord token per step, conditioned on the true chord and left out of "
             "the average",
     "source": "Peracha, Improving Polyphonic Music Models with Feature-Rich Encoding, 2019 (arXiv:1911.11775)",
     "caveat": "the unit is confirmed from its code and its author's reply in issue 1 of the TonicNet "
               "repository; the number itself comes from a secondary source. Given the true chords, the notes "
               "are cheaper: a near but not identical unit, and not a bound on the notes' NLL"},
)


def compare_with_published(value: float, *, kind: str = "exact", published: Any = PUBLISHED,
                           column: str = "nats_per_frame") -> pd.DataFrame:
    """Our number against each published one, at the published precision, kind by kind.

    A published number printed with ``d`` decimals stands for any value within half a
    unit of its last digit, so a difference no larger than that is a **tie** (5.195
    against 5.19 is a tie, not +0.005). A verdict is **settled**, true of the models'
    NLLs and not only of the printed numbers, when the higher of the two numbers is an
    exact likelihood: the lower number is then an exact NLL or lies above one (a bound,
    or an estimate in expectation). Being below a bound or an estimate settles nothing,
    and numbers of the kinds ``"orderless"`` and ``"conditioned"`` settle nothing.

    Parameters
    ----------
    value : float
        Our number, in the unit of ``column``.
    kind : str, default "exact"
        What our number is (a key of :data:`NUMBER_KINDS`).
    published : sequence of dict, default :data:`PUBLISHED`
        Rows with ``model``, ``column``, ``decimals`` and ``likelihood``
        (:data:`PUBLISHED_16TH` for the sixteenth-note file).
    column : str, default "nats_per_frame"
        The published rows' number (``"nats_per_voice_token"`` for :data:`PUBLISHED_16TH`).

    Returns
    -------
    comparison : pd.DataFrame
        One row per published row, in its order: ``model``, ``published``,
        ``likelihood`` (the published row's kind), ``difference`` (ours minus theirs),
        ``verdict`` (``"ours lower"``, ``"tie"`` or ``"theirs lower"``) and ``settled``.

    Raises
    ------
    ValueError
        For a kind outside :data:`NUMBER_KINDS`.
    """
    for what in [kind] + [row["likelihood"] for row in published]:
        if what not in NUMBER_KINDS:
            raise ValueError(f"unknown kind of number {what!r}; known: {', '.join(NUMBER_KINDS)}")
    rows = []
    for row in published:
        theirs = float(row[column])
        difference = float(value) - theirs
        # Half a unit of the last printed digit, widened by rounding noise of the floats.
        if abs(difference) <= 0.5 * 10.0 ** -int(row["decimals"]) + 1e-9:
            verdict, higher = "tie", None
        elif difference < 0:
            verdict, higher = "ours lower", row["likelihood"]
        else:
            verdict, higher = "theirs lower", kind
        comparable = {kind, row["likelihood"]} <= {"exact", "bound", "estimate"}
        rows.append({"model": row["model"], "published": theirs, "likelihood": row["likelihood"],
                     "difference": difference, "verdict": verdict, "settled": comparable and higher == "exact"})
    return pd.DataFrame(rows, columns=["model", "published", "likelihood", "difference", "verdict", "settled"])


# --------------------------------------------------------------- the sixteenth-note file


def voice_steps(split: str = "test", *, folder: str | os.PathLike | None = None) -> list:
    """The voice-separated sixteenth-note chorales of one split as SATB steps.

    Each chorale of :func:`read_voices` read by
    :func:`musicalpy.representations.satb_steps.jsb_steps`: the same steps, chorale by
    chorale, as ``chorale_steps`` gives for the pieces of ``load_corpus("jsb_voices")``
    (what the ``satb_*`` kinds train on), without building the note table first.

    Returns
    -------
    chorales : list of SatbSteps
        In the file's order (piece ``jsb_voices_<split>_NNN`` is item NNN).
    """
    from .representations.satb_steps import jsb_steps

    key = split_key(split)
    return [jsb_steps(voices, where=f"jsb_voices_{key}_{i:03d}")
            for i, voices in enumerate(read_voices(key, folder=folder))]


def voice_token_nll(model: Any, split: str = "test", *, folder: str | os.PathLike | None = None) -> float:
    """Nats per voice-token of a four-voice model on one split of the sixteenth-note file.

    Four tokens per sixteenth: minus the sum of the natural-log probabilities of the
    soprano, alto, tenor and bass values of every step of every chorale of the split,
    divided by four times the number of steps, pooled over the split (not a mean of
    per-chorale means). A fermata column, when the model has one, is left out: the file
    marks none.

    Parameters
    ----------
    model : musicalpy.zoo.ZooModel, or an object with ``log_probs(chorales)``
        A zoo model of an ``satb_*`` kind (its ``fitted`` is used), or the fitted model
        itself (:class:`musicalpy.satb_counts.SatbCounts`,
        :class:`musicalpy.models.satb_net.SatbNet`): ``log_probs`` takes a list of
        :class:`~musicalpy.representations.satb_steps.SatbSteps` and gives one array of
        shape (n_steps, 5) per chorale, columns fermata, S, A, T, B.
    split : {"train", "valid", "validation", "test"}, default "test"
    folder : path-like, optional
        Where the JSB files are (default :func:`data_folder`).

    Returns
    -------
    nll : float
        Nats per voice-token (lower is better). A model trained on music21's chorales has
        seen chorales of JSB's test split: score the ``satb_transformer_jsb`` kind, or one fitted
        on :func:`voice_steps` of ``"train"``.

    Raises
    ------
    ValueError
        When the model has no ``log_probs`` or gives arrays of another shape.
    """
    fitted = getattr(model, "fitted", model)
    if not callable(getattr(fitted, "log_probs", None)):
        kind = getattr(model, "kind", type(model).__name__)
        raise ValueError(f"{kind}: not a four-voice step model (no log_probs of SATB steps); score an satb_* kind")
    chorales = voice_steps(split, folder=folder)
    tables = fitted.log_probs(chorales)
    total, n_steps = 0.0, 0
    for steps, table in zip(chorales, tables, strict=True):
        table = np.asarray(table, dtype=np.float64)
        if table.shape != (steps.n_steps, 1 + len(VOICES)):
            raise ValueError(f"log_probs gave shape {table.shape} for a chorale of {steps.n_steps} steps; "
                             f"expected ({steps.n_steps}, {1 + len(VOICES)})")
        total += float(table[:, 1:].sum())
        n_steps += steps.n_steps
    return -total / (len(VOICES) * n_steps)


def benchmark_row(model: Any, *, name: str | None = None, folder: str | os.PathLike | None = None) -> dict[str, Any]:
    """One of our rows of the benchmark table: test and validation nats per frame.

    Parameters
    ----------
    model : musicalpy.zoo.ZooModel, or a frame model
        A zoo model of a frame kind (its ``fitted`` has ``log_prob``), or a frame model
        itself (see :func:`musicalpy.frame_estimators.frame_nll`).
    name : str, optional
        The row's name (default the zoo model's name, else the class name).
    folder : path-like, optional
        Where the JSB files are (default :func:`data_folder`).

    Returns
    -------
    row : dict
        ``model``, ``kind``, ``nats_per_frame`` (test), ``valid_nats_per_frame``,
        ``likelihood`` (the frame model's ``likelihood`` attribute, ``"exact"`` when it
        has none; ``"bound"`` for :class:`~musicalpy.models.frame_vae.FrameVAE`, whose
        nats per frame are an upper bound on its NLL), ``source`` (``"MusicalPy"``),
        ``training_time_s``.

    Raises
    ------
    ValueError
        When the model is not a frame model (the message names its kind).
    """
    fitted = getattr(model, "fitted", model)
    if not hasattr(fitted, "log_prob"):
        kind = getattr(model, "kind", type(model).__name__)
        raise ValueError(f"{kind}: not a frame model (no log_prob of 88-key frames); the JSB benchmark scores "
                         "the jsb_* kinds")
    card = getattr(model, "card", {}) or {}
    return {
        "model": name or getattr(model, "name", type(fitted).__name__),
        "kind": getattr(model, "kind", getattr(fitted, "kind", "")),
        "nats_per_frame": benchmark_nll(fitted, "test", folder=folder),
        "valid_nats_per_frame": benchmark_nll(fitted, "valid", folder=folder),
        "likelihood": getattr(fitted, "likelihood", "exact"),
        "source": "MusicalPy",
        "training_time_s": float(card.get("training_time_s", np.nan)),
    }


def benchmark_table(rows: Any = (), *, published: bool = True) -> pd.DataFrame:
    """Our rows and the published ones side by side, best (lowest) first.

    Parameters
    ----------
    rows : iterable of dict
        :func:`benchmark_row` results.
    published : bool, default True
        Include :data:`PUBLISHED`.

    Returns
    -------
    table : pd.DataFrame
        ``model``, ``nats_per_frame``, ``likelihood`` (the kind of number, see
        :data:`NUMBER_KINDS`), ``source``, ``ours`` (bool), ``valid_nats_per_frame`` and
        ``training_time_s`` (ours only); unit nats per frame on the canonical test split.
    """
    ours = [{**row, "ours": True} for row in rows]
    theirs = [{**row, "ours": False} for row in PUBLISHED] if published else []
    table = pd.DataFrame(ours + theirs)
    if table.empty:
        return pd.DataFrame(columns=["model", "nats_per_frame", "likelihood", "source", "ours"])
    columns = ["model", "nats_per_frame", "likelihood", "source", "ours", "valid_nats_per_frame", "training_time_s"]
    table = table[[c for c in columns if c in table.columns]]
    return table.sort_values("nats_per_frame", kind="stable").reset_index(drop=True)


def add_to_leaderboard(board: Any, rows: Any) -> Any:
    """Add our benchmark rows to a :class:`musicalpy.leaderboard.Leaderboard`.

    Each row goes in with ``benchmark="jsb"``, so it never mixes with the rows of the
    series' own corpora, its score in a ``nats_per_frame`` column (the bits columns
    stay empty: the units differ).

    Returns
    -------
    board
    """
    for row in rows:
        board.add(row["model"], representation=REPRESENTATION, split="test", benchmark="jsb",
                  training_time_s=row.get("training_time_s", np.nan), notes=f"{row['likelihood']} likelihood",
                  nats_per_frame=row["nats_per_frame"], valid_nats_per_frame=row.get("valid_nats_per_frame", np.nan),
                  kind=row.get("kind", ""))
    return board
