"""Models that ship inside the package: trained longer than a notebook can, with a card.

Each sub-folder of this package is a model folder as :func:`musicalpy.zoo.load` reads
it (``card.json`` plus weights as HDF5 or JSON, never pickle), made by ``musicalpy
pretrained`` (``make pretrained``), which trains every kind of :data:`SHIPPED` for its
budget with ``musicalpy train KIND`` and copies the result here. The card records the
command, the commit, the library versions, the machine, the CPU and wall-clock minutes,
the epochs and the validation curve, and the data split's fingerprint.

>>> from musicalpy import pretrained
>>> pretrained.names()                       # what ships
>>> model = pretrained.load("satb_lstm")     # a ZooModel, ready to generate or harmonize
>>> pretrained.best()                        # the shipped four-voice model of lowest validation bits
>>> pretrained.choose_harmonizer()           # the default harmonizer, and why (validation only)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = ["FOLDER", "SHIPPED", "names", "path", "load", "card", "best", "choose_harmonizer",
           "harmonizing_check"]

#: Where the shipped model folders are: this package's folder.
FOLDER = Path(__file__).resolve().parent
#: Kind -> (corpus, budget flag of ``musicalpy train``) of every shipped model, as
#: ``musicalpy pretrained`` trains them. The counting kinds need no budget; the JSB frame
#: networks stop early on the validation split, their budget is a cap.
SHIPPED: dict[str, tuple[str, str]] = {
    "satb_counts": ("bach", ""),
    "hmm_harmonizer": ("bach", ""),
    "satb_lstm": ("bach", "--cpu-minutes 12"),
    "satb_wavenet": ("bach", "--cpu-minutes 12"),
    "satb_transformer": ("bach", "--cpu-minutes 55"),
    "satb_orderless": ("bach", "--cpu-minutes 22"),
    "satb_transformer_jsb": ("jsb_voices", "--cpu-minutes 23"),
    # JSB's quarter-note frame networks (notebook 08): early stopping on validation ends them
    # well inside these caps.
    "jsb_lstm_nade": ("jsb", "--cpu-minutes 40"),
    "jsb_lstm": ("jsb", "--cpu-minutes 30"),
    "jsb_wavenet": ("jsb", "--cpu-minutes 20"),
}


def names() -> list[str]:
    """The shipped model folders present, in :data:`SHIPPED` order."""
    return [name for name in SHIPPED if (FOLDER / name / "card.json").is_file()]


def path(name: str) -> Path:
    """The folder of a shipped model; a FileNotFoundError names what ships."""
    folder = FOLDER / name
    if not (folder / "card.json").is_file():
        raise FileNotFoundError(f"no shipped model {name!r}; shipped: {', '.join(names()) or 'none'} "
                                "(make them with `make pretrained`)")
    return folder


def card(name: str) -> dict[str, Any]:
    """A shipped model's ``card.json``."""
    return json.loads((path(name) / "card.json").read_text(encoding="utf-8"))


def load(name: str):
    """A shipped model as a :class:`musicalpy.zoo.ZooModel`."""
    from .. import zoo

    return zoo.load(path(name))


def best(*, harmonizes: bool | None = None) -> str:
    """The shipped model of music21's chorales with the lowest validation bits per note;
    with ``harmonizes=True``, the default harmonizer of :func:`choose_harmonizer`.

    Parameters
    ----------
    harmonizes : bool, optional
        True: only kinds that harmonize a melody, chosen as :func:`choose_harmonizer` says.

    Raises
    ------
    FileNotFoundError
        When no shipped model qualifies.
    """
    from .. import zoo

    if harmonizes:
        return choose_harmonizer()[0]
    scored = []
    for name in names():
        fam = zoo.family(card(name)["kind"])
        if fam.benchmark:
            continue
        bits = card(name).get("validation", {}).get("bits_per_note", math.nan)
        if bits == bits:
            scored.append((bits, name))
    if not scored:
        raise FileNotFoundError("no shipped four-voice model; make them with `make pretrained`")
    return min(scored)[1]


def choose_harmonizer() -> tuple[str, str]:
    """The shipped harmonizer that ``musicalpy harmonize`` uses without ``--model``, and why.

    Read from each shipped harmonizing model's card (``harmonizing``, written by
    :func:`harmonizing_check` on the **validation** sopranos, never the test split): among
    the models whose validation harmonizations keep the voice leading within the goals
    (:data:`musicalpy.metrics.HARMONIZING_GOALS`: parallels and crossing at most 1.5x
    Bach's, every voice moving as much as Bach's within 25%), the one with the lowest
    bits per alto, tenor and bass note given the soprano. When none keeps every goal, the
    one nearest to them (:func:`_shortfall`: each goal's shortfall as a multiple of its own
    tolerance, summed, so a static voice costs as a parallel does); the reason says so.

    Returns
    -------
    (str, str)
        The model's name and one sentence saying how it was chosen.

    Raises
    ------
    FileNotFoundError
        When no shipped model harmonizes.
    """
    from .. import zoo

    candidates = []
    for name in names():
        fam = zoo.family(card(name)["kind"])
        if fam.benchmark or not fam.harmonizes:
            continue
        check = card(name).get("harmonizing")
        if check:
            candidates.append((name, check))
    if not candidates:
        harmonizing = [n for n in names() if zoo.family(card(n)["kind"]).harmonizes
                       and not zoo.family(card(n)["kind"]).benchmark]
        if not harmonizing:
            raise FileNotFoundError("no shipped harmonizing model; make them with `make pretrained`")
        # Cards without a harmonizing check: the lowest validation bits per note, as before.
        bits = {n: card(n).get("validation", {}).get("bits_per_note", math.inf) for n in harmonizing}
        chosen = min(bits, key=lambda n: bits[n])
        return chosen, (f"lowest validation bits per note ({bits[chosen]:.3f}); no shipped card records a harmonizing "
                        "check yet (musicalpy pretrained --check-harmonizing)")
    within = [(c["atb_bits_per_note"], n) for n, c in candidates if c["goals"].get("all")]
    if within:
        bits, chosen = min(within)
        return chosen, (f"lowest validation bits per alto, tenor and bass note given the soprano ({bits:.3f}) among "
                        f"the {len(within)} of {len(candidates)} shipped harmonizers whose validation harmonizations "
                        "keep parallels and crossing within 1.5x Bach's and every voice moving as much as Bach's")
    shortfalls = {name: _shortfall(check) for name, check in candidates}
    chosen = min(shortfalls, key=lambda n: (shortfalls[n], dict(candidates)[n]["atb_bits_per_note"]))
    check = dict(candidates)[chosen]
    ratio = check["row"]["parallels per 100"] / max(check["bach"]["parallels per 100"], 1e-9)
    return chosen, (f"no shipped harmonizer keeps every voice-leading goal on the validation sopranos; this one is "
                    f"nearest to them (each goal's shortfall as a multiple of its tolerance, summed: {shortfalls[chosen]:.1f}; "
                    f"its parallels are {ratio:.1f}x Bach's, its least Bach-like voice moves "
                    f"{check['row']['motion: worst']:.0%} away from Bach's); {check['atb_bits_per_note']:.3f} validation "
                    "bits per alto, tenor and bass note")


def _shortfall(check: dict[str, Any]) -> float:
    """How far a harmonizing check falls short of the goals, each shortfall a multiple of
    the goal's own tolerance (parallels and crossing above 1.5x Bach's, over 1.5; a voice's
    motion further than 25% from Bach's, over 0.25), summed; a goal not measured counts 10."""
    from ..metrics import HARMONIZING_GOALS as goals

    row, bach = check["row"], check["bach"]
    total = 0.0
    for measure, goal in (("parallels per 100", "parallels"), ("voice crossing", "crossing")):
        value, reference = row.get(measure), bach.get(measure)
        if value is None or reference is None:
            total += 10.0
            continue
        ratio = value / reference if reference > 0 else (math.inf if value > 0 else 1.0)
        total += max(0.0, ratio - goals[goal]) / goals[goal]
    worst = row.get("motion: worst")
    total += 10.0 if worst is None else max(0.0, worst - goals["motion"]) / goals["motion"]
    return total


def harmonizing_check(model, corpus) -> dict[str, Any]:
    """How a harmonizing model does on the validation sopranos, for its card.

    Every validation chorale's soprano is harmonized (the most likely harmonization, as
    ``musicalpy harmonize`` writes by default) and the four voices are judged against
    Bach's validation chorales (:func:`musicalpy.metrics.judge_against_bach`, chord types
    against the training chorales for Bach's own row); the bits per alto, tenor and bass
    note given the soprano are the family's ``score_given_soprano`` on the same chorales.

    Returns
    -------
    dict
        ``split``, ``n_sopranos``, ``atb_bits_per_note``, ``row`` and ``bach`` (the
        measures of :func:`~musicalpy.metrics.judge_against_bach`) and ``goals``
        (:func:`~musicalpy.metrics.meets_goals`).
    """
    import pandas as pd

    from ..melody import soprano_melody
    from ..metrics import judge_against_bach, meets_goals

    validation = corpus.split("validation")
    pieces = list(pd.unique(validation.notes["piece"]))
    written = model.harmonize_many([soprano_melody(corpus, piece) for piece in pieces], seed=0)
    harmonized = pd.concat([notes.assign(piece=piece) for piece, notes in zip(pieces, written, strict=True)],
                           ignore_index=True)
    bach = validation.notes
    row = judge_against_bach(harmonized, bach)
    bach_row = judge_against_bach(bach, bach, chords_of=corpus.split("train").notes)
    scorer = getattr(model.family, "score_given_soprano", None)
    atb = float(scorer(model, bach, corpus.pieces)["bits_per_note"]) if scorer is not None else math.nan
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
    return {"split": "validation", "n_sopranos": len(pieces), "atb_bits_per_note": atb, "row": clean,
            "bach": {k: bach_row[k] for k in ("parallels per 100", "parallels per note (Fang)", "voice crossing")},
            "goals": meets_goals(row, bach_row)}


def write_harmonizing_check(name: str, corpus=None) -> dict[str, Any]:
    """Run :func:`harmonizing_check` on a shipped model and store it in its ``card.json``
    (the weights are not touched). Returns the check."""
    from .. import zoo

    recorded = card(name)
    if corpus is None:
        corpus = zoo.training_corpus(recorded["data"]["corpus"])
    if zoo.split_digest(corpus) != recorded["data"]["split_digest"]:
        raise ValueError(f"shipped model {name}: the corpus splits its pieces otherwise than the card says")
    check = harmonizing_check(load(name), corpus)
    recorded["harmonizing"] = check
    (path(name) / "card.json").write_text(json.dumps(recorded, indent=2) + "\n", encoding="utf-8")
    return check


def provenance(command: str) -> dict[str, Any]:
    """What a card records of how a model was made: the command, the commit (``+dirty``
    when the work tree had changes), the library versions and the machine."""
    import os
    import platform
    import subprocess
    from importlib import metadata

    from .._config import project_root

    commit = "unknown"
    root = project_root()
    if root is not None:
        try:
            head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                  check=True).stdout.strip()
            dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, check=True).stdout.strip()
            commit = head + ("+dirty" if dirty else "")
        except (OSError, subprocess.CalledProcessError):
            pass
    versions = {}
    for package in ("tensorflow", "keras", "numpy", "music21", "pandas"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"command": command, "commit": commit, "python": platform.python_version(), "versions": versions,
            "machine": {"system": f"{platform.system()} {platform.machine()}", "cpu": cpu, "cores": os.cpu_count()}}


#: Validation chorales a card re-scores as a check that its weights read back right.
N_CHECKED = 3


def validation_check(model, corpus) -> dict[str, Any]:
    """The bits per note of the first :data:`N_CHECKED` validation chorales, for the card
    (bits per token for a kind that prices beat chords rather than every note, the HMM
    harmonizer's; ``bits_per_note`` is then None).

    :func:`rescore` computes the same from a loaded folder; equal values mean the
    weights, the code that reads them and the split are the ones the card describes.
    """
    validation = corpus.split("validation")
    pieces = list(validation.pieces["piece"].astype(str))[:N_CHECKED]
    notes = validation.notes[validation.notes["piece"].astype(str).isin(pieces)]
    score = model.score(notes)
    check = {"pieces": pieces, "bits_per_note": float(score["bits_per_note"])}
    if not math.isfinite(check["bits_per_note"]):  # a kind that prices beat chords, not every note
        check = {"pieces": pieces, "bits_per_note": None, "bits_per_token": float(score["bits_per_token"])}
    return check


def rescore(name: str, corpus=None) -> tuple[float, float]:
    """(recorded, now) bits per note (per token, for a kind without) of a shipped model's
    checked validation chorales.

    Raises
    ------
    ValueError
        When the corpus at hand splits its pieces otherwise than the one the model was
        trained on (the card's split fingerprint differs).
    """
    from .. import zoo

    recorded = card(name)
    if corpus is None:
        corpus = zoo.training_corpus(recorded["data"]["corpus"])
    digest = zoo.split_digest(corpus)
    if digest != recorded["data"]["split_digest"]:
        raise ValueError(f"shipped model {name}: its card's split fingerprint {recorded['data']['split_digest']} "
                         f"is not the corpus's {digest}; it may have seen these held-out chorales")
    check = recorded["validation_check"]
    validation = corpus.split("validation")
    notes = validation.notes[validation.notes["piece"].astype(str).isin(check["pieces"])]
    key = "bits_per_note" if check.get("bits_per_note") is not None else "bits_per_token"
    return float(check[key]), float(load(name).score(notes)[key])
