"""Run the notebook series headless (the main job behind ``make run``) and keep
committed notebooks clean.

``run_all`` executes every ``notebooks/NN_*.ipynb`` in order with nbclient, writes the
executed notebook and an HTML copy to ``outputs/``, renders one Bach chorale to
``outputs/demo/`` (MIDI, Ogg Vorbis, SVG) so that a fresh checkout always produces
something to hear and see, and ends by writing the listening room
(``outputs/listening/index.html``, :mod:`musicalpy.listening`). ``strip_outputs``
removes every output except those of cells pinned with ``# NBVAL_CHECK_OUTPUT`` (whose
execution counts nbval needs).

The HTML copies open offline: :func:`notebook_html` writes the formulas as MathML
(which browsers draw natively, no MathJax) and leaves out the scripts nbconvert's
template would load from a CDN (require.js, MathJax, mermaid, the widget manager).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ._config import check_int, output_dir, project_root, smoke_mode
from .notebook import TF_QUIET_ENV

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PIN_MARKER", "list_notebooks", "run_notebook", "run_all", "output_summary", "render_demo", "strip_outputs",
           "markdown_math_to_mathml", "notebook_html", "listening_room"]

#: Cells whose first line carries this marker keep their outputs and are checked by nbval.
PIN_MARKER = "# NBVAL_CHECK_OUTPUT"


def list_notebooks(folder: str | os.PathLike | None = None) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) in order."""
    folder = Path(folder) if folder else (project_root() or Path.cwd()) / "notebooks"
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def run_notebook(path: str | os.PathLike, out_dir: str | os.PathLike, *, timeout: int = 3600,
                 smoke: bool | None = None) -> dict:
    """Execute one notebook; write ``<out_dir>/<name>.ipynb`` and ``.html``.

    The kernel runs with the notebook's folder as working directory,
    ``MUSICALPY_OUTPUT_DIR=<out_dir>/<name>`` (where the notebook writes its music),
    ``MUSICALPY_NOTEBOOK=<name>`` (where ``save_fig`` puts its figures) and
    ``MUSICALPY_LEADERBOARD=<out_dir>/leaderboard.csv`` (one leaderboard for all).
    Returns a summary row: name, seconds, status, error.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    timeout = check_int("timeout", timeout)
    path = Path(path).resolve()
    out_dir = Path(out_dir).resolve()
    name = path.stem
    music_dir = out_dir / name
    music_dir.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.read(path, as_version=4)
    env_backup = dict(os.environ)
    os.environ["MUSICALPY_OUTPUT_DIR"] = str(music_dir)
    os.environ["MUSICALPY_NOTEBOOK"] = name
    os.environ.setdefault("MUSICALPY_LEADERBOARD", str(out_dir / "leaderboard.csv"))
    for key, value in TF_QUIET_ENV.items():  # TensorFlow's start-up chatter hides progress
        os.environ.setdefault(key, value)
    if smoke is not None:
        os.environ["MUSICALPY_SMOKE"] = "1" if smoke else "0"
    started = time.perf_counter()
    status, error = "ok", ""
    try:
        client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
    except CellExecutionError as exc:
        status, error = "failed", str(exc).strip().splitlines()[-1][:300]
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    seconds = time.perf_counter() - started
    nbformat.write(notebook, out_dir / f"{name}.ipynb")
    (out_dir / f"{name}.html").write_text(notebook_html(notebook), encoding="utf-8")
    return {"notebook": name, "seconds": round(seconds, 1), "status": status, "error": error}


# Code (fenced blocks, inline spans) is left as written; math is $$display$$ or $inline$
# (not an escaped \$, and an inline formula stays on one line, as Jupyter reads it).
_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.S)
_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$([^$\n]+?)\$", re.S)

#: nbconvert's lab template without the blocks that load scripts from a CDN: the page
#: must open from disk with no network (formulas are MathML, no widget is interactive).
_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
"""


def markdown_math_to_mathml(markdown: str) -> str:
    """Replace the TeX formulas of a Markdown cell by MathML elements.

    Parameters
    ----------
    markdown : str
        A Markdown cell's source: ``$inline$`` and ``$$display$$`` formulas, as Jupyter
        writes them; code spans and fenced blocks are left alone.

    Returns
    -------
    markdown : str
        The same text with each formula converted by latex2mathml (``display="block"``
        for ``$$...$$``); browsers draw MathML without any script. A formula latex2mathml
        cannot read stays as TeX, in a ``<code>`` element so it is not lost.
    """
    import html

    import latex2mathml.converter

    def convert(match: re.Match) -> str:
        display, inline = match.group(1), match.group(2)
        tex = (display if display is not None else inline).strip()
        try:
            mathml = latex2mathml.converter.convert(tex, display="block" if display is not None else "inline")
        except Exception:
            return f"<code>{html.escape(match.group(0))}</code>"
        # Markdown would read a blank line inside the element as a paragraph break.
        return mathml.replace("\n", " ")

    pieces = _CODE.split(markdown)
    return "".join(piece if index % 2 else _MATH.sub(convert, piece) for index, piece in enumerate(pieces))


def notebook_html(notebook) -> str:
    """An executed notebook as one self-contained HTML page that works offline.

    Parameters
    ----------
    notebook : nbformat.NotebookNode
        The notebook (left unchanged).

    Returns
    -------
    html : str
        nbconvert's lab template with the formulas of Markdown cells as MathML
        (:func:`markdown_math_to_mathml`) and none of the CDN scripts (require.js,
        MathJax, mermaid, the widget manager); images and audio are embedded as the
        outputs hold them (audio is Ogg Vorbis from :func:`musicalpy.render.play`).
    """
    import copy

    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    converted = copy.deepcopy(notebook)
    for cell in converted.cells:
        if cell.cell_type == "markdown":
            cell.source = markdown_math_to_mathml(cell.source)
    exporter = HTMLExporter(template_name="lab", extra_loaders=[DictLoader({"offline.html.j2": _OFFLINE_TEMPLATE})],
                            template_file="offline.html.j2")
    html, _ = exporter.from_notebook_node(converted)
    return html


def render_demo(out_dir: str | os.PathLike, *, chorale: str = "bach/bwv66.6") -> dict[str, Path]:
    """Render one Bach chorale to MIDI, WAV, Ogg Vorbis and SVG in ``out_dir``; return
    the paths by kind (``midi``, ``wav``, ``ogg``, ``svg``)."""
    from music21 import corpus as m21corpus

    from .midi import from_music21
    from .render import export

    stem = chorale.replace("/", "_")
    notes = from_music21(m21corpus.parse(chorale), piece=stem)
    paths = export(notes, Path(out_dir) / stem, ("mid", "wav", "ogg", "svg"))
    return {"midi": paths["mid"], "wav": paths["wav"], "ogg": paths["ogg"], "svg": paths["svg"]}


def run_all(out_dir: str | os.PathLike | None = None, *, notebooks: Sequence[str] | None = None,
            smoke: bool | None = None, timeout: int = 3600) -> list[dict]:
    """Render the demo chorale, then execute the notebooks in order; print a summary.

    ``notebooks`` selects by name prefix (``["01", "03_lstm"]``); default all.
    """
    import pandas as pd

    timeout = check_int("timeout", timeout)  # before the demo, not at the first notebook
    out_dir = Path(out_dir) if out_dir else output_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    smoke = smoke_mode() if smoke is None else smoke
    print(f"musicalpy run: writing to {out_dir} ({'smoke' if smoke else 'full'} settings)", flush=True)
    demo = render_demo(out_dir / "demo")
    for kind, path in demo.items():
        print(f"  demo {kind}: {path}", flush=True)
    rows = []
    paths = list_notebooks()
    if notebooks:
        paths = [p for p in paths if any(p.stem.startswith(n) for n in notebooks)]
    for path in paths:
        print(f"  running {path.name} ...", flush=True)
        row = run_notebook(path, out_dir, timeout=timeout, smoke=smoke)
        print(f"  {path.name}: {row['status']} in {row['seconds']} s {row['error']}", flush=True)
        rows.append(row)
    if rows:
        print()
        print(output_summary(out_dir, rows).to_string(index=False))
    total = sum(float(r["seconds"]) for r in rows)
    print(f"\nnotebooks: {total / 60:.1f} min in all; executed notebooks and HTML: {out_dir}/NN_name.ipynb|.html")
    models = models_summary()
    if models:
        print(f"models kept for notebook 07 and `musicalpy generate`: {', '.join(models)}")
    leaderboard = out_dir / "leaderboard.csv"
    room = listening_room(out_dir, smoke=smoke)
    if room is not None:
        print(f"\nlistening room: {room}")
    if leaderboard.exists():
        board = pd.read_csv(leaderboard)
        shown = [c for c in ("model", "representation", "bits_per_token", "bits_per_note", "mean_oa", "training_time_s")
                 if c in board.columns]
        print(f"\nleaderboard ({len(board)} rows; every column in {leaderboard}):")
        with pd.option_context("display.width", 160, "display.max_colwidth", 40):
            print(board[shown].round(3).to_string(index=False))
    return rows


def listening_room(out_dir: str | os.PathLike, *, smoke: bool | None = None) -> Path | None:
    """Write ``<out_dir>/listening/index.html`` from the models the run kept
    (:func:`musicalpy.listening.build_page`); None, with the reason printed, when there
    is no model folder yet (a run of notebook 01 alone).

    A full run keeps its models in :func:`musicalpy.zoo.models_dir`; a smoke run keeps
    each notebook's under that notebook's output folder (``<out_dir>/NN_name/models``,
    where :func:`run_notebook` points ``MUSICALPY_OUTPUT_DIR``), so all are read."""
    from .zoo import models_dir

    out_dir = Path(out_dir)
    smoke = smoke_mode() if smoke is None else smoke
    folders = sorted(out_dir.glob("*/models")) + [out_dir / "models"] if smoke else [models_dir()]
    folders = [f for f in folders if f.is_dir() and any(f.glob("*/card.json"))]
    if not folders:
        print("listening room: no model folder with a card.json yet; skipped", flush=True)
        return None
    from . import listening

    leaderboard = out_dir / "leaderboard.csv"
    return listening.build_page(folders, out_dir / "listening", leaderboard=leaderboard if leaderboard.exists() else None)


def output_summary(out_dir: str | os.PathLike, rows: Sequence[dict]) -> pd.DataFrame:
    """One row per executed notebook: its status and time, and where its music and
    figures went, with the number of files of each kind."""
    import pandas as pd

    from ._config import images_dir

    out_dir = Path(out_dir)
    table = []
    for row in rows:
        name = row["notebook"]
        music = out_dir / name
        figures = images_dir() / name
        count = {ext: len(list(music.rglob(f"*.{ext}"))) if music.is_dir() else 0 for ext in ("mid", "ogg", "wav", "svg")}
        table.append({
            "notebook": name, "status": row["status"], "seconds": row["seconds"],
            "music": f"{music}/ ({count['mid']} .mid, {count['ogg']} .ogg, {count['wav']} .wav, {count['svg']} .svg)",
            "figures": f"{figures}/ ({len(list(figures.glob('*.png'))) if figures.is_dir() else 0} .png)",
            "error": row["error"],
        })
    return pd.DataFrame(table, columns=["notebook", "status", "seconds", "music", "figures", "error"])


def models_summary() -> list[str]:
    """The model folders under :func:`musicalpy.zoo.models_dir` that have a card."""
    from .zoo import models_dir

    folder = models_dir()
    return sorted(str(p.parent) for p in folder.glob("*/card.json")) if folder.is_dir() else []


def strip_outputs(path: str | os.PathLike) -> bool:
    """Remove outputs and execution counts from every cell not pinned with
    :data:`PIN_MARKER`; pinned cells keep both (nbval refuses a pinned cell that has
    outputs but no execution count). Returns True when the file changed."""
    import nbformat

    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    before = nbformat.writes(notebook)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        if cell.source.lstrip().startswith(PIN_MARKER):
            continue
        cell.outputs = []
        cell.execution_count = None
    notebook.metadata.pop("widgets", None)
    after = nbformat.writes(notebook)
    if after != before:
        path.write_text(after, encoding="utf-8")
        return True
    return False


if __name__ == "__main__":  # python -m musicalpy.runner strip notebooks/*.ipynb
    import sys

    if len(sys.argv) > 2 and sys.argv[1] == "strip":
        for item in sys.argv[2:]:
            print(f"{item}: {'stripped' if strip_outputs(item) else 'clean'}")
    else:
        print("usage: python -m musicalpy.runner strip NOTEBOOK.ipynb ...", file=sys.stderr)
        sys.exit(2)
