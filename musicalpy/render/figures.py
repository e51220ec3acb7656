"""Figures: piano rolls, feature distributions, and saving figures per notebook.

:func:`plot_pianoroll` draws notes as rectangles, one colour per part;
:func:`plot_feature_distributions` and :func:`plot_overlap` draw what
:func:`musicalpy.metrics.compare_sets` measures; :func:`save_fig` writes the current
figure to ``images/<notebook>/<name>.png``.

matplotlib, seaborn and IPython are imported inside the functions that need them.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._config import images_dir
from ..midi import BEAT_COLUMNS, as_note_table
from ..names import pitch_to_name

__all__ = ["plot_chorale_grid",
    "plot_time_to_quality",
    "plot_pianoroll",
    "plot_feature_distributions",
    "plot_overlap",
    "save_fig",
]



def plot_pianoroll(
    notes: pd.DataFrame,
    *,
    ax=None,
    start: float | None = None,
    end: float | None = None,
    by: str | None = "part",
    unit: str = "seconds",
    alpha: float = 0.85,
    legend: bool = True,
    title: str | None = None,
):
    """Draw a note table as a piano roll: one rectangle per note.

    Parameters
    ----------
    notes : pd.DataFrame
        A note table.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure.
    start, end : float, optional
        The time window to show (in ``unit``); notes overlapping it are drawn.
    by : str or None
        A column whose values get one colour each (``"part"``, ``"piece"``,
        ``"program"``...), with a legend; None draws every note in one colour.
    unit : {"seconds", "beats"}
        Time axis in seconds, or in quarter notes (needs ``start_beat``/``end_beat``).
    alpha : float
        Opacity of the rectangles.
    legend : bool
        Show the legend of ``by`` groups.
    title : str, optional
        Axes title.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The pitch axis is labelled with note names (every C, or every pitch when the
        range spans an octave or less).
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    table = as_note_table(notes)
    if unit == "seconds":
        columns, label = ("start", "end"), "time (s)"
    elif unit == "beats":
        if not set(BEAT_COLUMNS) <= set(table.columns):
            raise ValueError("unit='beats' needs the note table's start_beat/end_beat columns")
        columns, label = ("start_beat", "end_beat"), "time (quarter notes)"
    else:
        raise ValueError(f"unit must be 'seconds' or 'beats', got {unit!r}")
    if by is not None and by not in table.columns:
        raise ValueError(f"by={by!r} is not a column of the note table; columns are {list(table.columns)}")
    if start is not None and end is not None and end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4))
    onsets = table[columns[0]].to_numpy(float)
    offsets = table[columns[1]].to_numpy(float)
    keep = np.ones(len(table), dtype=bool)
    if start is not None:
        keep &= offsets > start
    if end is not None:
        keep &= onsets < end
    table, onsets, offsets = table[keep], onsets[keep], offsets[keep]
    groups = list(dict.fromkeys(table[by])) if by is not None else [None]
    palette = plt.get_cmap("tab10" if len(groups) <= 10 else "tab20").colors
    handles = []
    for index, group in enumerate(groups):
        mask = (table[by] == group).to_numpy() if by is not None else np.ones(len(table), dtype=bool)
        pitch = table["pitch"].to_numpy(float)[mask]
        x0, x1 = onsets[mask], offsets[mask]
        boxes = np.stack(
            [
                np.column_stack([x0, pitch - 0.4]),
                np.column_stack([x1, pitch - 0.4]),
                np.column_stack([x1, pitch + 0.4]),
                np.column_stack([x0, pitch + 0.4]),
            ],
            axis=1,
        )
        color = palette[index % len(palette)]
        ax.add_collection(PolyCollection(boxes, facecolors=color, edgecolors="none", alpha=alpha))
        if group is not None:
            handles.append(Patch(facecolor=color, alpha=alpha, label=str(group)))
    if len(table):
        low, high = int(table["pitch"].min()), int(table["pitch"].max())
        left = start if start is not None else float(onsets.min())
        right = end if end is not None else float(offsets.max())
        ax.set_xlim(left, right if right > left else left + 1)
    else:
        low, high = 60, 72
        ax.set_xlim(start or 0.0, end if end is not None else (start or 0.0) + 1)
    ax.set_ylim(low - 1, high + 1)
    if high - low <= 12:
        ticks = list(range(low, high + 1))
    else:
        ticks = [p for p in range(low, high + 1) if p % 12 == 0]
    ax.set_yticks(ticks)
    ax.set_yticklabels([pitch_to_name(p) for p in ticks])
    ax.yaxis.grid(True, alpha=0.3)
    ax.set_xlabel(label)
    ax.set_ylabel("pitch")
    if legend and handles:
        ax.legend(handles=handles, title=by, loc="upper right", fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def plot_feature_distributions(
    generated: Any,
    reference: Any,
    *,
    features: Sequence[str] | None = None,
    kind: str = "violin",
    labels: tuple[str, str] = ("generated", "reference"),
    ncols: int = 4,
    **feature_options: Any,
):
    """One panel per scalar feature: the generated vs the reference distribution.

    Parameters
    ----------
    generated, reference
        As in :func:`musicalpy.metrics.compare_sets`.
    features : sequence of str, optional
        Scalar features to draw (default: all that are defined somewhere).
    kind : {"violin", "kde"}
        Split violins (seaborn ``violinplot``) or overlaid KDE curves (``kdeplot``).
    labels : (str, str)
        Legend names of the two sets.
    ncols : int
        Panels per row.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    from ..metrics import SCALAR_FEATURES, feature_frame

    if kind not in ("violin", "kde"):
        raise ValueError(f"kind must be 'violin' or 'kde', got {kind!r}")
    gen = feature_frame(generated, "generated", **feature_options)
    ref = feature_frame(reference, "reference", **feature_options)
    if features is None:
        features = [f for f in SCALAR_FEATURES if f in gen.columns and f in ref.columns
                    and pd.concat([gen[f], ref[f]]).notna().any()]
    if not features:
        raise ValueError("no scalar feature to plot")
    long = pd.concat([
        frame[list(features)].apply(pd.to_numeric, errors="coerce").assign(set=label)
        for frame, label in ((gen, labels[0]), (ref, labels[1]))
    ]).melt(id_vars="set", var_name="feature", value_name="value")
    nrows = math.ceil(len(features) / ncols)
    fig, axes = plt.subplots(nrows, min(ncols, len(features)), figsize=(3.2 * min(ncols, len(features)), 2.6 * nrows),
                             squeeze=False)
    palette = dict(zip(labels, sns.color_palette("deep", 2), strict=True))
    for ax, feature in zip(axes.flat, features, strict=False):
        data = long[(long["feature"] == feature) & long["value"].notna()]
        if kind == "violin":
            sns.violinplot(data=data, x="feature", y="value", hue="set", hue_order=list(labels),
                           split=True, inner="quart", cut=0, palette=palette, ax=ax, legend=False)
            ax.set_xlabel("")
            ax.set_xticks([])
        else:
            for label in labels:
                values = data.loc[data["set"] == label, "value"]
                if values.nunique() > 1:
                    sns.kdeplot(values, ax=ax, label=label, color=palette[label], fill=True, alpha=0.3)
                elif len(values):
                    ax.axvline(values.iloc[0], color=palette[label], label=label)
            ax.set_xlabel("")
        ax.set_title(feature, fontsize=9)
        ax.set_ylabel("")
    for ax in list(axes.flat)[len(features):]:
        ax.set_visible(False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=palette[label]) for label in labels]
    fig.legend(handles, labels, loc="upper right", ncol=2, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def plot_overlap(comparison: pd.DataFrame | Mapping[str, pd.DataFrame], *, measure: str = "oa", ax=None):
    """Bar chart of the overlapping area (or another column) per feature.

    Parameters
    ----------
    comparison : pd.DataFrame or mapping of str to pd.DataFrame
        A :func:`musicalpy.metrics.compare_sets` result, or several keyed by a label (e.g. the model
        name), drawn as grouped bars.
    measure : str
        The column to draw (``"oa"`` by default; ``"kl"`` works too).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    ax : matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    frames = {"": comparison} if isinstance(comparison, pd.DataFrame) else dict(comparison)
    for label, frame in frames.items():
        if measure not in frame.columns:
            raise ValueError(f"comparison {label!r} has no column {measure!r}; columns: {list(frame.columns)}")
    data = pd.concat(
        [frame[[measure]].reset_index().assign(set=label) for label, frame in frames.items()],
        ignore_index=True,
    )
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.28 * data["feature"].nunique() * max(1, len(frames) / 2) + 1.2))
    hue = "set" if len(frames) > 1 else None
    sns.barplot(data=data, y="feature", x=measure, hue=hue, orient="h", ax=ax)
    if measure == "oa":
        ax.set_xlim(0, 1)
        ax.set_xlabel("overlapping area (1 = indistinguishable)")
    ax.set_ylabel("")
    return ax


def _notebook_name() -> str:
    """The notebook's name: ``MUSICALPY_NOTEBOOK``, else what Jupyter or VS Code tell
    the kernel, else ``"misc"``."""
    configured = os.environ.get("MUSICALPY_NOTEBOOK", "").strip()
    if configured:
        return Path(configured).stem
    session = os.environ.get("JPY_SESSION_NAME", "").strip()  # set by jupyter_server
    if session.endswith(".ipynb"):
        return Path(session).stem
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    vscode = shell.user_ns.get("__vsc_ipynb_file__") if shell is not None else None
    if isinstance(vscode, str) and vscode.endswith(".ipynb"):
        return Path(vscode).stem
    return "misc"


def save_fig(
    name: str,
    *,
    notebook: str | None = None,
    fig=None,
    dpi: int = 150,
    tight: bool = True,
) -> Path:
    """Save a figure as ``images/<notebook>/<name>.png``.

    Parameters
    ----------
    name : str
        File name, without folders (``.png`` is added).
    notebook : str, optional
        Sub-folder; default ``MUSICALPY_NOTEBOOK``, else the running notebook's name
        when Jupyter or VS Code reveal it, else ``"misc"``.
    fig : matplotlib.figure.Figure, optional
        Default the current figure.
    dpi : int
        Resolution.
    tight : bool
        Apply ``tight_layout`` first.

    Returns
    -------
    path : Path
        The PNG written, under :func:`musicalpy.images_dir` (``MUSICALPY_IMAGES_DIR``).
    """
    import matplotlib.pyplot as plt

    stem = name[:-4] if name.lower().endswith(".png") else name
    if not stem or stem in {".", ".."} or "/" in stem or "\\" in stem:
        raise ValueError(f"name must be a plain file name without folders, got {name!r}")
    folder_name = notebook if notebook is not None else _notebook_name()
    folder_name = Path(folder_name).stem if folder_name.endswith(".ipynb") else folder_name
    if not folder_name or folder_name in {".", ".."} or "/" in folder_name or "\\" in folder_name:
        raise ValueError(f"notebook must be a plain name without folders, got {notebook!r}")
    figure = fig if fig is not None else plt.gcf()
    if tight:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tight_layout warns on some axes layouts
            figure.tight_layout()
    path = images_dir() / folder_name / f"{stem}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=dpi)
    return path



def plot_chorale_grid(grid: Any, *, steps: int | None = 32, ax=None):
    """Draw the first ``steps`` sixteenth steps of a :class:`~musicalpy.representations.chorale_grid.ChoraleGrid`:
    one row per voice, a note's start dark, its held steps light, rests blank; bar
    lines where ``position`` is 0 and fermatas marked above.

    Parameters
    ----------
    grid : ChoraleGrid
    steps : int or None, default 32
        Two bars of 4/4; None draws the whole grid.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    from ..names import VOICES
    from ..representations.chorale_grid import HOLD, REST

    voices = np.asarray(grid.voices)[: steps or None]
    n_steps = len(voices)
    if ax is None:
        _, ax = plt.subplots(figsize=(min(0.32 * n_steps + 1.5, 16), 2.6))
    shade = np.where(voices == REST, 0.0, np.where(voices == HOLD, 0.35, 1.0)).T
    ax.imshow(shade, aspect="auto", cmap="Blues", vmin=0, vmax=1.2, interpolation="nearest")
    for v in range(voices.shape[1]):
        for t in range(n_steps):
            if voices[t, v] < HOLD:
                ax.text(t, v, pitch_to_name(int(voices[t, v])), ha="center", va="center", fontsize=6, color="white")
    for t in np.flatnonzero(np.asarray(grid.position)[:n_steps] == 0):
        ax.axvline(t - 0.5, color="black", linewidth=1)
    held = np.flatnonzero(np.asarray(grid.fermata)[:n_steps])
    if len(held):  # a fermata over the steps it holds
        ax.scatter(held, np.full(len(held), -0.8), marker="v", s=12, color="darkred", clip_on=False, label="fermata")
        ax.legend(loc="upper right", fontsize=7, frameon=False, bbox_to_anchor=(1.0, 1.25))
    ax.set_yticks(range(len(VOICES)), VOICES)
    ax.set_xlabel("sixteenth step (dark: a note starts, light: held, blank: rest)")
    return ax


def plot_time_to_quality(cards: Mapping[str, Mapping[str, Any]], *, floor: Mapping[str, float] | None = None,
                         clock: str = "wall_s", ax=None):
    """Validation bits per note against training minutes, one line per model, from cards.

    Parameters
    ----------
    cards : mapping of name to card dict
        Model cards (``card.json``) whose ``state["curve"]`` lists the epochs with
        ``bits_per_note`` and the seconds spent (``wall_s``, ``cpu_s``).
    floor : mapping of name to float, optional
        Models without a curve (a counting model that trains in seconds), drawn as
        horizontal lines at their validation bits per note.
    clock : {"wall_s", "cpu_s"}
        Wall-clock or process CPU time on the x axis.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt

    if clock not in ("wall_s", "cpu_s"):
        raise ValueError(f"clock must be 'wall_s' or 'cpu_s', got {clock!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    for name, card in cards.items():
        curve = (card.get("state") or {}).get("curve") or []
        if not curve:
            raise ValueError(f"the card of {name} has no training curve (state['curve'])")
        minutes = [point[clock] / 60 for point in curve]
        ax.plot(minutes, [point["bits_per_note"] for point in curve], marker=".", label=name)
    for name, bits in (floor or {}).items():
        ax.axhline(bits, linestyle="--", color="grey")
        ax.annotate(f"{name} {bits:.2f}", (0, bits), textcoords="offset points", xytext=(4, 4), color="grey")
    ax.set_xlabel("training minutes, " + ("wall clock" if clock == "wall_s" else "process CPU"))
    ax.set_ylabel("validation bits per note")
    ax.legend()
    return ax
