"""One call that writes a piece as MIDI, audio, sheet music and a piano roll.

The command line (``musicalpy generate``, ``musicalpy render``), the notebook runner
and the notebooks all write their music through :func:`export`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Modules rather than functions: a test that patches render.audio.write_wav (or any
# writer in its defining module) reaches export too.
from . import audio, figures, score

__all__ = ["EXPORT_FORMATS", "export"]


#: What :func:`export` can write, by file extension: MIDI, WAV and Ogg Vorbis audio,
#: the engraved score (SVG) and its MusicXML (to edit in MuseScore), a piano roll (PNG).
EXPORT_FORMATS = ("mid", "wav", "ogg", "svg", "musicxml", "png")


def export(
    notes: Any,
    stem: str | os.PathLike,
    formats: Sequence[str] = ("mid", "ogg", "svg"),
    *,
    measures: int | tuple[int, int] | None = None,
    seconds: float | None = None,
    title: str | None = None,
    tempo: float | None = None,
    notation: Any = None,
) -> dict[str, Path]:
    """Write one piece of music in several formats next to each other.

    The one export used by the command line, the notebook runner and the notebooks:
    ``export(notes, "outputs/lstm/sample_0")`` writes ``sample_0.mid``, ``.ogg`` (Ogg
    Vorbis) and ``.svg`` (sheet music) into ``outputs/lstm/``; ask for ``"wav"`` for
    uncompressed audio.

    Parameters
    ----------
    notes : pd.DataFrame or pretty_midi.PrettyMIDI or music21 stream
        The music (a note table, or anything :func:`musicalpy.render.audio.synthesize` accepts).
    stem : str or os.PathLike
        Path without extension; parent folders are created. An extension on it is kept
        as part of the name (``"take.1"`` writes ``take.1.mid``).
    formats : sequence of {"mid", "wav", "ogg", "svg", "musicxml", "png"}
        ``"ogg"`` is compressed audio (:func:`musicalpy.render.audio.write_audio`),
        ``"musicxml"`` the notation the ``"svg"`` score is engraved from, ``"png"`` a
        piano roll drawn by :func:`musicalpy.render.figures.plot_pianoroll`.
    measures, seconds, title, tempo
        Passed on: ``measures`` and ``tempo`` to the engraver, ``seconds`` to the
        synthesizer (crop), ``title`` to the piano roll.
    notation : musicalpy.render.score.Notation, optional
        The key signature, spelling, meter and pickup to write a note table in: the
        score (``"svg"``, ``"musicxml"``) and the MIDI file's key and time signatures
        (a harmonization is written in its melody's, ``melody.notation``). Default:
        4/4 from a downbeat in the key found by analysis.

    Returns
    -------
    paths : dict of str to Path
        ``{format: path written}`` in the order of ``formats``.
    """
    from .. import midi

    unknown = [f for f in formats if f not in EXPORT_FORMATS]
    if unknown or not formats:
        raise ValueError(f"formats must be a non-empty subset of {EXPORT_FORMATS}, got {list(formats)!r}")
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = {fmt: stem.with_name(f"{stem.name}.{fmt}") for fmt in dict.fromkeys(formats)}
    for fmt, path in paths.items():
        if fmt == "mid":
            midi.write_midi(notes, path, notation=notation)
        elif fmt == "wav":
            audio.write_wav(notes, path, seconds=seconds)
        elif fmt == "ogg":
            audio.write_audio(notes, path, seconds=seconds)
        elif fmt == "svg":
            score.write_score_svg(notes, path, measures=measures, tempo=tempo, notation=notation)
        elif fmt == "musicxml":
            score.write_musicxml(notes, path, measures=measures, tempo=tempo, notation=notation)
        else:
            import matplotlib.pyplot as plt

            ax = figures.plot_pianoroll(notes, title=title)
            ax.figure.savefig(path, dpi=120, bbox_inches="tight")
            plt.close(ax.figure)
    return paths

