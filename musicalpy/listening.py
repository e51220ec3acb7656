"""The listening room: one page to hear, read and blind-test every model on disk.

:func:`build_page` writes ``<out>/index.html``, a single HTML file that opens straight
from disk with no network and no server: audio (Ogg Vorbis), engraved scores (SVG) and
piano rolls (PNG) are inline, the MIDI and MusicXML downloads are files beside it, and
the blind test runs in a few lines of inline JavaScript. ``make run`` ends by writing
it to ``outputs/listening/`` (:func:`musicalpy.runner.run_all`); ``musicalpy listen``
writes or opens it.

What the page shows is whatever is on disk, found generically, so that a new model kind
appears without a change here:

==============================================  =========================================
path                                            becomes
==============================================  =========================================
``<models>/<name>/card.json``                   a model, in the section of its
                                                ``card["kind"]`` (one section per kind,
                                                in :data:`musicalpy.zoo.KINDS` order, then
                                                unknown kinds by name)
``<out>/samples/<name>/*.mid``                  that model's samples; when the folder
                                                holds none, :func:`build_page` generates
                                                them with the model and writes them there
``<out>/harmonizations/<melody>/bach.mid``      Bach's own harmonization of a melody
``<out>/harmonizations/<melody>/<model>.mid``   the same melody harmonized by ``<model>``
                                                (a model folder name), shown side by side
``<leaderboard>``                               each model's leaderboard row (the row
                                                whose ``model`` is the folder name)
==============================================  =========================================

The page opens with **the verdict**: every model that has a leaderboard row with the
Bach-or-model columns (:data:`musicalpy.leaderboard.DISCRIMINATOR_COLUMNS`), ordered from
the one a classifier finds hardest to tell from Bach (the higher of the two classifiers'
accuracies, lowest first), then the models not yet measured. The kinds' sections follow
in the same order. Each model's numbers are said in words a listener reads ("told from
Bach 99% of the time", "parallel fifths and octaves per 100 moves: 0.7, Bach 0.1"), read
against the leaderboard's Bach rows; the full leaderboard row is folded below them.

The blind test ("Bach or model?") pairs an excerpt of a real test chorale with one of a
model's samples: both exactly the same number of beats from their first note (a sample
or chorale shorter than that is not used), re-timed to one tempo, played with one
instrument at one loudness, as clips of one length, in a random order. Answers are
tallied on the page; at the end each model's share of pairs where the listener found
Bach is shown with its 95% interval beside the classifier's accuracy, and the answers
download as CSV. The answer key is in the page (there is no server to keep it), so a
listener who reads the source can cheat.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._config import check_int, leaderboard_path, output_dir, smoke_mode

__all__ = [
    "PAGE_NAME",
    "BLIND_TEMPO",
    "ModelEntry",
    "default_models_dir",
    "find_models",
    "model_samples",
    "find_harmonizations",
    "blind_pairs",
    "build_page",
]

#: The page's file name inside its folder.
PAGE_NAME = "index.html"
#: Quarter notes per minute of every blind-test excerpt, real or generated.
BLIND_TEMPO = 80.0
#: The one General MIDI program (acoustic grand piano) and velocity of blind-test
#: excerpts, so that neither the instrument nor the loudness gives Bach away.
_BLIND_PROGRAM, _BLIND_VELOCITY = 0, 80
#: Leaderboard columns left out of a model's row on the page: bookkeeping, not results.
#: Every other column is shown, so columns the leaderboard gains appear by themselves.
_LEADERBOARD_HIDDEN = ("benchmark", "model", "representation_fingerprint", "notes")
#: The leaderboard's reference rows that a model's numbers are read against: Bach's test
#: chorales (:meth:`musicalpy.leaderboard.Leaderboard.add_reference`) and real training
#: chorales in the place of samples (notebook 07's ceiling).
_BACH_ROW, _CEILING_ROW = "Bach (test chorales)", "bach (training chorales)"
#: FluidSynth's release after the last note, kept in every blind-test clip.
_RELEASE_SECONDS = 1.0


@dataclass(frozen=True)
class ModelEntry:
    """A model folder found on disk.

    Attributes
    ----------
    name : str
        The folder name (what samples, harmonizations and leaderboard rows are filed under).
    kind : str
        ``card["kind"]``; the page has one section per kind.
    path : Path
        The folder.
    card : dict
        Its ``card.json``.
    """

    name: str
    kind: str
    path: Path
    card: dict[str, Any] = field(repr=False)


def default_models_dir(smoke: bool | None = None) -> Path:
    """Where the notebooks keep their models: :func:`musicalpy.zoo.models_dir` for full
    runs, ``<output_dir>/models`` for smoke runs (as :func:`musicalpy.zoo.save_for_comparison`)."""
    from .zoo import models_dir

    smoke = smoke_mode() if smoke is None else smoke
    return output_dir() / "models" if smoke else models_dir()


def find_models(models_dir: str | os.PathLike | Sequence[str | os.PathLike]) -> list[ModelEntry]:
    """Every ``<models_dir>/<name>/card.json``, ordered by kind (registered kinds first,
    in :data:`musicalpy.zoo.KINDS` order) then by name.

    Parameters
    ----------
    models_dir : path-like or sequence of path-like
        One folder of model folders, or several (a smoke ``make run`` keeps each
        notebook's models under its own output folder); a name found twice is taken
        from the first folder that has it.

    Raises
    ------
    FileNotFoundError
        When a folder does not exist.
    ValueError
        When a card is not JSON or has no ``kind``: naming the file.
    """
    from . import zoo

    folders = [Path(models_dir)] if isinstance(models_dir, (str, os.PathLike)) else [Path(f) for f in models_dir]
    missing = [f for f in folders if not f.is_dir()]
    if missing or not folders:
        raise FileNotFoundError(f"models folder {str(missing[0]) if missing else '(none given)'!r}: no such folder "
                                "(train models with `make run` or `musicalpy train KIND`, or pass --models DIR)")
    entries, seen = [], set()
    for card_path in (path for folder in folders for path in sorted(folder.glob("*/card.json"))):
        if card_path.parent.name in seen:
            continue
        seen.add(card_path.parent.name)
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{card_path}: unreadable model card ({exc})") from None
        if not isinstance(card, dict) or not isinstance(card.get("kind"), str):
            raise ValueError(f"{card_path}: the model card has no 'kind'")
        entries.append(ModelEntry(card_path.parent.name, card["kind"], card_path.parent, card))
    order = {kind: index for index, kind in enumerate(zoo.KINDS)}
    return sorted(entries, key=lambda e: (order.get(e.kind, len(order)), e.kind, e.name))


def model_samples(entry: ModelEntry, samples_dir: str | os.PathLike, *, n_samples: int = 2, beats: float = 32.0,
                  seed: int = 0) -> list[Path]:
    """The MIDI samples of a model in ``<samples_dir>/<name>/``, generated when there are none.

    Parameters
    ----------
    entry : ModelEntry
        The model.
    samples_dir : path-like
        The folder of per-model sample folders.
    n_samples : int
        How many to generate when the folder holds none (files already there are kept
        and all shown).
    beats : float
        Length of a generated sample in quarter notes (every voice ends there).
    seed : int
        Sampling seed.

    Returns
    -------
    paths : list of Path
        The ``.mid`` files, sorted; empty when the kind is not registered here (a model
        from a newer MusicalPy) and no sample was written for it.
    """
    from . import zoo
    from .midi import write_midi

    folder = Path(samples_dir) / entry.name
    found = sorted(folder.glob("*.mid"))
    if found or entry.kind not in zoo.KINDS:
        return found
    model = zoo.load(entry.path)
    notes = model.generate(beats=beats, n_samples=check_int("n_samples", n_samples), seed=seed)
    paths = []
    for piece, sample in notes.groupby("piece", sort=True):
        if len(sample):
            paths.append(write_midi(sample, folder / f"{piece}.mid"))
    return paths


def find_harmonizations(folder: str | os.PathLike) -> dict[str, dict[str, Path]]:
    """``{melody: {"bach" or model name: path}}`` from ``<folder>/<melody>/<who>.mid``;
    ``"bach"`` first, then the models by name. An absent folder gives ``{}``."""
    folder = Path(folder)
    found: dict[str, dict[str, Path]] = {}
    for melody in sorted(p for p in folder.glob("*") if p.is_dir()) if folder.is_dir() else []:
        files = {p.stem: p for p in sorted(melody.glob("*.mid"))}
        if files:
            found[melody.name] = dict(sorted(files.items(), key=lambda item: (item[0] != "bach", item[0])))
    return found


def _excerpt(notes: pd.DataFrame, beats: float, piece: str) -> pd.DataFrame:
    """The first ``beats`` quarter notes of a piece from its first onset, at
    :data:`BLIND_TEMPO`, on one instrument at one velocity."""
    from .midi import crop_notes

    notes = notes[~notes["is_drum"]] if "is_drum" in notes.columns else notes
    if notes.empty:
        return notes
    shifted = notes.assign(start_beat=notes["start_beat"] - notes["start_beat"].min(),
                           end_beat=notes["end_beat"] - notes["start_beat"].min())
    cut = crop_notes(shifted, end_beat=beats, tolerance=1e-6)
    seconds_per_beat = 60.0 / BLIND_TEMPO
    return cut.assign(piece=piece, start=cut["start_beat"] * seconds_per_beat, end=cut["end_beat"] * seconds_per_beat,
                      program=_BLIND_PROGRAM, velocity=_BLIND_VELOCITY).reset_index(drop=True)


def _lasts(notes: pd.DataFrame, beats: float) -> bool:
    """Whether the music lasts at least ``beats`` quarter notes from its first onset."""
    if notes.empty or not {"start_beat", "end_beat"} <= set(notes.columns):
        return False
    return bool(notes["end_beat"].max() - notes["start_beat"].min() >= beats - 1e-6)


def blind_pairs(generated: dict[str, Sequence[pd.DataFrame]], reference: pd.DataFrame, *, beats: float = 16.0,
                pairs_per_model: int = 2, seed: int = 0) -> list[dict[str, Any]]:
    """Pairs of excerpts for the blind test: a real chorale and a model's sample.

    The pairs are fair: both excerpts are the first ``beats`` quarter notes from their
    first note, so they are equally long and neither is shorter than asked. A sample
    (or a chorale) whose music ends sooner is not used.

    Parameters
    ----------
    generated : dict of str to sequence of pd.DataFrame
        Each model's samples (note tables with beat columns), by model name.
    reference : pd.DataFrame
        Real music to compare with (the test split of the Bach chorales); one piece per
        pair is drawn without replacement while pieces last, among those that last
        ``beats``.
    beats : float
        Length of both excerpts in quarter notes (at :data:`BLIND_TEMPO`).
    pairs_per_model : int
        At most this many pairs per model (fewer when it has fewer samples that last
        ``beats``).
    seed : int
        Draws the reference pieces and the order inside each pair.

    Returns
    -------
    pairs : list of dict
        ``{"model", "bach": note table, "generated": note table, "bach_first": bool,
        "reference_piece", "beats"}``, models in the order given, then shuffled.

    Raises
    ------
    ValueError
        When ``reference`` has no piece with beats that lasts ``beats``, or ``beats`` is
        not positive.
    """
    if not (np.isfinite(beats) and beats > 0):
        raise ValueError(f"beats must be a positive number of quarter notes, got {beats!r}")
    check_int("pairs_per_model", pairs_per_model)
    if reference.empty or not {"start_beat", "end_beat"} <= set(reference.columns):
        raise ValueError("reference: a note table with start_beat/end_beat and at least one piece is needed")
    long_enough = [piece for piece, notes in reference.groupby("piece", sort=True) if _lasts(notes, beats)]
    if not long_enough:
        raise ValueError(f"reference: no piece lasts {beats:g} beats; ask for shorter excerpts")
    rng = np.random.default_rng(seed)
    pieces = list(rng.permutation(long_enough))
    pairs = []
    for model, samples in generated.items():
        usable = [s for s in samples if _lasts(s, beats)]
        for sample in usable[:pairs_per_model]:
            piece = pieces.pop() if pieces else rng.choice(long_enough)
            pairs.append({"model": model, "reference_piece": str(piece),
                          "bach": _excerpt(reference[reference["piece"] == piece], beats, "bach"),
                          "generated": _excerpt(sample, beats, model), "bach_first": bool(rng.random() < 0.5),
                          "beats": float(beats)})
    order = rng.permutation(len(pairs))
    return [pairs[i] for i in order]


# ------------------------------------------------------------------------- rendering


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _audio_tag(notes: pd.DataFrame, *, seconds: float | None = None, **attributes: str) -> str:
    """An inline player; with ``seconds``, the clip is exactly that long (cut, or padded
    with silence), so two clips of one pair are equally long whatever their last note."""
    from .render.audio import encode_audio, synthesize

    rate = 22050
    clip = synthesize(notes, sample_rate=rate, seconds=seconds)
    if seconds is not None:
        clip = np.pad(clip, (0, max(int(round(seconds * rate)) - len(clip), 0)))[:int(round(seconds * rate))]
    extra = "".join(f' {k.replace("_", "-")}="{html.escape(v)}"' for k, v in attributes.items())
    return (f'<audio controls preload="auto" data-seconds="{len(clip) / rate:.3f}"{extra} '
            f'src="{_data_uri(encode_audio(clip, rate), "audio/ogg")}"></audio>')


class _Files:
    """Downloads written beside the page (MIDI, MusicXML) under ``files/``."""

    def __init__(self, page_dir: Path):
        self.page_dir = page_dir

    def clip(self, notes: pd.DataFrame, stem: str, *, title: str) -> str:
        """One piece: audio, score, piano roll and the download links, as HTML."""
        from .render import export

        paths = export(notes, self.page_dir / "files" / stem, ("mid", "musicxml", "svg", "png"), title=title)
        links = " ".join(f'<a href="{html.escape(paths[f].relative_to(self.page_dir).as_posix())}" download>{label}</a>'
                         for f, label in (("mid", "MIDI"), ("musicxml", "MusicXML")))
        svg = paths["svg"].read_text(encoding="utf-8")
        roll = _data_uri(paths["png"].read_bytes(), "image/png")
        return (f'<figure class="clip"><figcaption>{html.escape(title)} · {links}</figcaption>'
                f'{_audio_tag(notes)}<div class="score">{svg}</div>'
                f'<img class="roll" alt="piano roll of {html.escape(title)}" src="{roll}"></figure>')


def _leaderboard_rows(path: Path | None) -> pd.DataFrame:
    from .leaderboard import Leaderboard

    if path is None or not Path(path).is_file():
        return pd.DataFrame(columns=["model"])
    return Leaderboard.load(path).frame


def _row_of(board: pd.DataFrame, name: str) -> pd.Series | None:
    """A model's leaderboard row: its test row of the series' own corpora when it has one."""
    rows = board[board["model"] == name] if "model" in board.columns else board.iloc[:0]
    if rows.empty:
        return None
    split = rows["split"].astype(str) if "split" in rows.columns else pd.Series("test", index=rows.index)
    benchmark = rows["benchmark"].fillna("").astype(str) if "benchmark" in rows.columns else ""
    preferred = rows[(split == "test") & (benchmark == "")]
    return (preferred if len(preferred) else rows).iloc[0]


def _value(row: pd.Series | None, column: str) -> float:
    """A finite number from a row, else NaN."""
    try:
        value = float(row[column]) if row is not None and column in row.index else np.nan
    except (TypeError, ValueError):
        return np.nan
    return value if np.isfinite(value) else np.nan


def _told(row: pd.Series | None) -> tuple[float, float, float]:
    """The higher of the classifiers' accuracies (the verdict) with its interval; NaNs when not measured."""
    from .metrics import CLASSIFIERS

    best = (np.nan, np.nan, np.nan)
    for name in CLASSIFIERS:
        accuracy = _value(row, f"told_apart_{name}")
        if np.isfinite(accuracy) and not accuracy <= best[0]:
            best = (accuracy, _value(row, f"told_apart_{name}_low"), _value(row, f"told_apart_{name}_high"))
    return best


def _percent_range(low: float, high: float) -> str:
    return f"{100 * low:.0f}-{100 * high:.0f}%" if np.isfinite(low) and np.isfinite(high) else "interval unknown"


def _in_words(row: pd.Series | None, bach: pd.Series | None, ceiling: pd.Series | None) -> list[str]:
    """A model's leaderboard numbers as sentences a listener reads, each beside Bach's."""
    from .leaderboard import told_apart_sentence

    if row is None:
        return []
    lines = [told_apart_sentence(row, label="It") if np.isfinite(_told(row)[0]) else
             "Not yet put to the Bach-or-model test (notebook 07, or <code>musicalpy evaluate</code>)."]
    pairs = [("parallel fifths and octaves per 100 moves", ("vl_parallel_fifths", "vl_parallel_octaves"), "{:.1f}"),
             ("voices crossing per 100 moves", ("vl_voice_crossing",), "{:.1f}"),
             ("onsets where three or more voices attack together", ("vl_homorhythm",), "{:.0f}%")]
    for words, columns, shown in pairs:
        value = sum(_value(row, c) for c in columns)
        reference = sum(_value(bach, c) for c in columns)
        if np.isfinite(value):
            lines.append(f"{words[0].upper()}{words[1:]}: {shown.format(value)}"
                         + (f", Bach {shown.format(reference)}" if np.isfinite(reference) else ""))
    bits = _value(row, "bits_per_note")
    if np.isfinite(bits):
        lines.append(f"Bits per note on the test chorales: {bits:.2f} (how surprised the model is by Bach's own "
                     "notes; lower is better)")
    overlap, real = _value(row, "mean_oa"), _value(ceiling, "mean_oa")
    if np.isfinite(overlap):
        lines.append(f"Its musical features overlap the test chorales' {overlap:.2f} of 1"
                     + (f" (real chorales: {real:.2f})" if np.isfinite(real) else ""))
    return lines


def _board_html(board: pd.DataFrame, name: str) -> str:
    row = _row_of(board, name)
    if row is None:
        return '<p class="board">No leaderboard row for this model yet (<code>musicalpy evaluate</code>).</p>'
    words = "".join(f"<li>{line if '<code>' in line else html.escape(line)}.</li>"
                    for line in _in_words(row, _row_of(board, _BACH_ROW), _row_of(board, _CEILING_ROW)))
    shown = board.loc[[row.name]]
    shown = shown.drop(columns=[c for c in _LEADERBOARD_HIDDEN if c in shown.columns]).dropna(axis=1, how="all")
    # One line per column: a row of 30-odd result columns laid out across would be wider
    # than any window. The per-feature overlaps (oa_*) fold away under the summary numbers.
    cells = shown.round(3).astype(object).where(shown.notna(), "")

    def table(columns) -> str:
        lines = "".join(f"<tr><th>{html.escape(str(column))}</th>"
                        + "".join(f"<td>{html.escape(str(value))}</td>" for value in cells[column]) + "</tr>"
                        for column in columns)
        return f"<table><tbody>{lines}</tbody></table>"

    features = [c for c in cells.columns if str(c).startswith("oa_")]
    summary = [c for c in cells.columns if c not in features]
    folded = (f"<details><summary>overlap with the test chorales, feature by feature ({len(features)})</summary>"
              f"{table(features)}</details>") if features else ""
    return (f'<div class="board"><ul class="words">{words}</ul><details class="row"><summary>the full leaderboard '
            f'row ({len(summary) + len(features)} columns)</summary>{table(summary)}{folded}</details></div>')


def _verdict_html(entries: Sequence[ModelEntry], board: pd.DataFrame) -> str:
    """The models, hardest to tell from Bach first, each in one sentence; then the unmeasured."""
    measured, waiting = [], []
    for entry in entries:
        accuracy, low, high = _told(_row_of(board, entry.name))
        link = f'<a href="#model-{html.escape(entry.name)}">{html.escape(entry.name)}</a>'
        if np.isfinite(accuracy):
            measured.append(f"<li>{link}: told from Bach {100 * accuracy:.0f}% of the time by the better of two "
                            f"classifiers (95% CI {_percent_range(low, high)})</li>")
        else:
            waiting.append(link)
    text = (f'<ol class="verdict-list">{"".join(measured)}</ol>' if measured else
            "<p>No model has been put to the Bach-or-model test yet (notebook 07, or <code>musicalpy evaluate</code>"
            " writes it to the leaderboard).</p>")
    if waiting:
        text += f"<p>Not measured yet: {', '.join(waiting)}.</p>"
    return text


def _kind_title(kind: str) -> str:
    from . import zoo

    try:
        doc = type(zoo.family(kind)).__doc__ or ""
    except ValueError:
        return kind
    first = doc.strip().splitlines()[0].rstrip(".") if doc.strip() else ""
    # A docstring's reST (``literal``, :func:`name`) read as plain text.
    first = re.sub(r":\w+:`~?([^`]+)`", r"\1", first).replace("``", "")
    return f"{kind}: {first}" if first else kind


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem} h2{border-bottom:2px solid #ddd;padding-bottom:.2rem;margin-top:2.5rem}
figure.clip{margin:1rem 0;padding:.8rem;border:1px solid #ddd;border-radius:6px}
figcaption{font-weight:600;margin-bottom:.4rem} audio{width:100%;max-width:480px;display:block}
.score svg{width:100%;height:auto} img.roll{max-width:100%}
.side{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:1rem}
.board{overflow-x:auto} .board table{border-collapse:collapse;font-size:.9rem}
.board td,.board th{padding:.2rem .6rem;border-bottom:1px solid #eee} .board th{text-align:left;font-weight:500}
.pair{border:1px solid #ccc;border-radius:6px;padding:.8rem;margin:.8rem 0}
.pair .excerpts{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
.pair button{margin:.4rem .4rem 0 0;padding:.3rem .8rem} .pair.done{background:#f6f6f6}
.verdict{font-weight:600;margin-left:.5rem} #tally{font-size:1.1rem;font-weight:600}
ul.words{margin:.3rem 0 .5rem;padding-left:1.2rem} details.row summary{cursor:pointer;color:#555}
#verdict ol{font-size:1.05rem} #results td,#results th{padding:.2rem .6rem}
"""

# The blind test: each pair's answer key is in data-bach-first; a click records the
# answer, reveals it, and redraws the tally, the per-model table and the CSV link.
_SCRIPT = """
(function(){
  const answers = [];
  const pairs = Array.from(document.querySelectorAll('.pair'));
  function csv(){
    const rows = [['pair','model','reference_piece','bach_was','answer','correct']];
    answers.forEach(a => rows.push([a.pair, a.model, a.piece, a.bach, a.answer, a.correct ? 1 : 0]));
    return rows.map(r => r.join(',')).join('\\n') + '\\n';
  }
  // The 95% Wilson score interval of k right answers out of n.
  function wilson(k, n){
    const z = 1.96, p = k / n, d = 1 + z * z / n;
    const centre = (p + z * z / (2 * n)) / d, half = z * Math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d;
    return [Math.max(0, centre - half), Math.min(1, centre + half)];
  }
  function redraw(){
    const right = answers.filter(a => a.correct).length;
    document.getElementById('tally').textContent =
      answers.length + ' of ' + pairs.length + ' answered, Bach found ' + right + ' time(s)';
    const models = {};
    answers.forEach(a => { const m = models[a.model] = models[a.model] || [0, 0, a.classifier];
                           m[0] += 1; m[1] += a.correct; });
    const body = document.querySelector('#results tbody');
    body.innerHTML = '';
    Object.keys(models).sort().forEach(name => {
      const [n, k, told] = models[name];
      const [low, high] = wilson(k, n);
      const tr = document.createElement('tr');
      [name, n, k, (100 * k / n).toFixed(0) + '%', (100 * low).toFixed(0) + '-' + (100 * high).toFixed(0) + '%',
       (100 * (n - k) / n).toFixed(0) + '%', told].forEach(v => {
        const td = document.createElement('td'); td.textContent = v; tr.appendChild(td); });
      body.appendChild(tr);
    });
    document.getElementById('results').hidden = answers.length < pairs.length;
    const link = document.getElementById('csv');
    link.href = URL.createObjectURL(new Blob([csv()], {type: 'text/csv'}));
    link.hidden = answers.length === 0;
  }
  pairs.forEach((pair, index) => {
    pair.querySelectorAll('button').forEach(button => button.addEventListener('click', () => {
      if (pair.classList.contains('done')) return;
      const bachFirst = pair.dataset.bachFirst === '1';
      const saysFirst = button.dataset.choice === 'A';
      const correct = saysFirst === bachFirst;
      answers.push({pair: index + 1, model: pair.dataset.model, piece: pair.dataset.piece,
                    bach: bachFirst ? 'A' : 'B', answer: button.dataset.choice, correct: correct,
                    classifier: pair.dataset.classifier});
      pair.classList.add('done');
      pair.querySelector('.verdict').textContent = (correct ? 'Right: ' : 'No: ') +
        (bachFirst ? 'A' : 'B') + ' was Bach, the other ' + pair.dataset.model + '.';
      redraw();
    }));
  });
  redraw();
})();
"""


def _pair_html(index: int, pair: dict[str, Any], classifier: str = "not measured") -> str:
    first, second = (pair["bach"], pair["generated"]) if pair["bach_first"] else (pair["generated"], pair["bach"])
    seconds = pair["beats"] * 60.0 / BLIND_TEMPO + _RELEASE_SECONDS
    return (f'<div class="pair" data-model="{html.escape(pair["model"])}" data-piece="{html.escape(pair["reference_piece"])}" '
            f'data-bach-first="{int(pair["bach_first"])}" data-classifier="{html.escape(classifier)}">'
            f'<strong>Pair {index + 1}</strong>'
            f'<div class="excerpts"><div>A {_audio_tag(first, seconds=seconds)}</div>'
            f'<div>B {_audio_tag(second, seconds=seconds)}</div></div>'
            '<button data-choice="A">A is Bach</button><button data-choice="B">B is Bach</button>'
            '<span class="verdict"></span></div>')


def _folders_html(models_dir: Any) -> str:
    folders = [models_dir] if isinstance(models_dir, (str, os.PathLike)) else list(models_dir)
    return ", ".join(f"<code>{html.escape(str(f))}</code>" for f in folders)


def _progress(items: Iterable, total: int, description: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(items, total=total, desc=description, disable=not enabled, leave=False)


def build_page(
    models_dir: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    *,
    leaderboard: str | os.PathLike | None = None,
    reference: pd.DataFrame | None = None,
    n_samples: int = 2,
    sample_beats: float = 32.0,
    excerpt_beats: float = 16.0,
    pairs_per_model: int = 2,
    seed: int = 0,
    progress: bool = True,
) -> Path:
    """Write the listening room, ``<out_dir>/index.html``.

    Parameters
    ----------
    models_dir : path-like or sequence of path-like, optional
        The folder(s) of model folders (default :func:`default_models_dir`, then the
        models that ship inside the package, :mod:`musicalpy.pretrained`), see
        :func:`find_models`.
    out_dir : path-like, optional
        The page's folder (default ``<output_dir>/listening``); it also holds
        ``samples/``, ``harmonizations/`` and the downloads in ``files/`` (see the
        module docstring for the layout).
    leaderboard : path-like, optional
        The leaderboard CSV (default :func:`musicalpy._config.leaderboard_path`).
    reference : pd.DataFrame, optional
        Real chorales for the blind test (default: the test split of ``bach``).
    n_samples, sample_beats : int, float
        Samples generated per model that has none on disk, and their length in beats.
    excerpt_beats, pairs_per_model : float, int
        Length of each blind-test excerpt, and pairs per model.
    seed : int
        Sampling and blind-test seed.
    progress : bool
        Show a progress bar per stage.

    Returns
    -------
    path : Path
        The page written.
    """
    from .families.base import ModelError
    from .midi import read_midi

    if models_dir is None:  # the notebooks' models, then the shipped ones (a name found twice: the notebooks')
        from . import pretrained

        models_dir = [folder for folder in (default_models_dir(), pretrained.FOLDER) if folder.is_dir()]
    page_dir = Path(out_dir) if out_dir is not None else output_dir() / "listening"
    board = _leaderboard_rows(Path(leaderboard) if leaderboard is not None else leaderboard_path())
    found = find_models(models_dir)
    # The verdict first: the models a classifier finds hardest to tell from Bach lead (and
    # their kinds' sections with them); the unmeasured follow in the registry's order.
    verdicts = {entry.name: _told(_row_of(board, entry.name))[0] for entry in found}
    entries = sorted(found, key=lambda e: (0, verdicts[e.name]) if np.isfinite(verdicts[e.name]) else (1, 0.0))
    files = _Files(page_dir)
    page_dir.mkdir(parents=True, exist_ok=True)

    samples: dict[str, list[pd.DataFrame]] = {}
    sections: dict[str, list[str]] = {}
    for entry in _progress(entries, len(entries), "models", progress):
        try:
            paths = model_samples(entry, page_dir / "samples", n_samples=n_samples, beats=sample_beats, seed=seed)
        except (ModelError, ValueError, KeyError, OSError, NotImplementedError) as exc:
            # One model that cannot sample (a damaged folder, a kind without a length
            # budget in beats) must not cost the page of every other model.
            warnings.warn(f"listening room: no samples for {entry.path}: {exc}", RuntimeWarning, stacklevel=2)
            paths, reason = [], f"<p>Could not generate: {html.escape(str(exc))}</p>"
        else:
            reason = "<p>No sample on disk, and this MusicalPy cannot generate with this kind.</p>"
        tables = [read_midi(p, piece=f"{entry.name}/{p.stem}") for p in paths]
        samples[entry.name] = tables
        clips = [files.clip(t, f"{entry.name}/{p.stem}", title=f"{entry.name} · {p.stem}")
                 for p, t in zip(paths, tables, strict=True)]
        body = "".join(clips) or reason
        sections.setdefault(entry.kind, []).append(
            f'<section class="model" id="model-{html.escape(entry.name)}"><h3>{html.escape(entry.name)}</h3>'
            f'{_board_html(board, entry.name)}{body}</section>')

    harmonizations = find_harmonizations(page_dir / "harmonizations")
    harmony_html = []
    for melody, versions in harmonizations.items():
        cells = [f"<div>{files.clip(read_midi(path), f'harmonizations/{melody}/{who}', title=who)}</div>"
                 for who, path in versions.items()]
        harmony_html.append(f'<h3>{html.escape(melody)}</h3><div class="side">{"".join(cells)}</div>')

    if reference is None:
        from .zoo import training_corpus

        reference = training_corpus("bach").split("test").notes
    pairs = blind_pairs(samples, reference, beats=excerpt_beats, pairs_per_model=pairs_per_model, seed=seed)
    classifier = {}
    for name in {pair["model"] for pair in pairs}:
        accuracy, low, high = _told(_row_of(board, name))
        classifier[name] = (f"{100 * accuracy:.0f}% ({_percent_range(low, high)})" if np.isfinite(accuracy)
                            else "not measured")
    pair_html = [_pair_html(i, p, classifier[p["model"]])
                 for i, p in _progress(enumerate(pairs), len(pairs), "blind test", progress)]
    unpaired = [name for name, tables in samples.items() if tables and name not in classifier]

    family_html = "".join(f'<section class="family" id="kind-{html.escape(kind)}"><h2>{html.escape(_kind_title(kind))}</h2>'
                          f'{"".join(models)}</section>' for kind, models in sections.items())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>MusicalPy listening room</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>
<body><h1>The listening room</h1>
<p>{len(entries)} model(s) from {_folders_html(models_dir)}; every player, score and download
works offline. Scores show the whole sample; MusicXML opens in MuseScore.</p>
<nav><a href="#verdict">the verdict</a> · {" · ".join(f'<a href="#kind-{html.escape(k)}">{html.escape(k)}</a>' for k in sections)}
{" · " if sections else ""}<a href="#harmonizations">harmonizations</a> · <a href="#blind">Bach or model?</a></nav>
<section id="verdict"><h2>The verdict: which model is hardest to tell from Bach?</h2>
<p>Two classifiers were trained to tell each model's samples from Bach's chorales and then judged chorales and
samples they had never seen (the Bach-or-model test of notebook 07 and <code>musicalpy evaluate</code>). "Told from
Bach 70% of the time" means the better of the two was right 70% of the time: 50% is a coin toss, so the closer a
model comes to 50%, the more its music passes for Bach's to a machine that reads every note. The range is the 95%
interval. Below each model, its other numbers sit beside Bach's own; a "move" is one step of two voices together
(six pairs of voices in four-part writing).</p>
{_verdict_html(entries, board)}</section>
{family_html or "<p>No model folder found.</p>"}
<section id="harmonizations"><h2>Harmonizations</h2>
{"".join(harmony_html) or "<p>No harmonization on disk yet (they go in <code>harmonizations/&lt;melody&gt;/&lt;model&gt;.mid</code>, Bach's as <code>bach.mid</code>).</p>"}
</section>
<section id="blind"><h2>Bach or model?</h2>
<p>Each pair holds exactly {excerpt_beats:g} beats of a real chorale from the test split and {excerpt_beats:g} beats
of a model's sample, each from its first note, both at {BLIND_TEMPO:g} quarter notes per minute on one piano, in
clips of the same length, in a random order. Which one is Bach?</p>
<p><strong>Reading your tally beside the classifier's.</strong> You answer the question the classifiers of the
verdict answer, so your share of pairs where you found Bach is an accuracy on the same scale: 50% is guessing,
100% is always telling. The results table at the end sets yours beside the better classifier's, each with its 95%
interval. A few pairs say little: guessing gets two pairs out of two right one time in four, so your interval is
wide; pool the CSVs of many listeners before you compare. Where your interval lies above 50% and the
classifier's too, both can tell; where yours contains 50% while the classifier's does not, the model fools the ear
on a short excerpt but not a reader of every note of whole pieces (the classifier judges whole samples, dozens of
them); the reverse would mean the ear hears something the classifiers' features and windows miss.</p>
{f'<p>Not in the blind test (no sample lasts {excerpt_beats:g} beats): {html.escape(", ".join(unpaired))}.</p>' if unpaired else ""}
<p id="tally"></p>{"".join(pair_html) or "<p>No model sample to compare.</p>"}
<table id="results" hidden><thead><tr><th>model</th><th>pairs</th><th>Bach found</th><th>found</th>
<th>your 95% interval</th><th>model taken for Bach</th><th>classifier: told from Bach</th></tr></thead>
<tbody></tbody></table>
<p><a id="csv" download="bach_or_model.csv" hidden>Download the answers (CSV)</a></p>
</section>
<script>{_SCRIPT}</script>
</body></html>
"""
    path = page_dir / PAGE_NAME
    path.write_text(page, encoding="utf-8")
    return path
