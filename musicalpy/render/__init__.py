"""Hearing and seeing music: audio, sheet music, piano rolls and saved figures.

Four modules, one job each:

:mod:`~musicalpy.render.audio`
    :func:`synthesize` a note table, PrettyMIDI or MIDI file with FluidSynth (sine waves
    when libfluidsynth is missing), :func:`play` it inline (Ogg Vorbis), :func:`write_audio`
    (Ogg Vorbis, MP3 or WAV by extension), :func:`write_wav`, :func:`encode_audio`, and
    :func:`audio_backend` / :func:`find_soundfont` to see what is in use.
:mod:`~musicalpy.render.score`
    :func:`prepare_score` notates a note table with music21 (clefs by
    :func:`choose_clef`); :func:`show_score` and :func:`write_score_svg` engrave it with
    verovio, :func:`write_musicxml` writes the MusicXML.
:mod:`~musicalpy.render.figures`
    :func:`plot_pianoroll`, the feature-comparison plots and :func:`save_fig`.
:mod:`~musicalpy.render.writing`
    :func:`export` writes one piece as ``.mid``, ``.wav``, ``.ogg``, ``.svg``,
    ``.musicxml`` and ``.png``.

Every public name is importable from here (``from musicalpy import render;
render.play(notes)``). To replace a function in a test, patch it in the module that
defines it (``musicalpy.render.audio.find_soundfont``): the other functions look it up
there. Heavy dependencies (pretty_midi, FluidSynth, music21, verovio, matplotlib,
IPython) are imported inside the functions that need them, so importing this package is
cheap.
"""

from __future__ import annotations

from .audio import (
    AUDIO_FORMATS,
    audio_backend,
    encode_audio,
    find_soundfont,
    play,
    synthesize,
    write_audio,
    write_wav,
)
from .figures import plot_chorale_grid, plot_pianoroll, plot_time_to_quality, save_fig
from .score import (
    MAX_VOICES,
    TICKS_PER_QUARTER,
    Notation,
    choose_clef,
    prepare_score,
    show_score,
    write_musicxml,
    write_score_svg,
)
from .writing import EXPORT_FORMATS, export

__all__ = [
    "TICKS_PER_QUARTER",
    "MAX_VOICES",
    "find_soundfont",
    "audio_backend",
    "synthesize",
    "play",
    "write_wav",
    "prepare_score",
    "show_score",
    "write_score_svg",
    "plot_chorale_grid",
    "plot_time_to_quality",
    "plot_pianoroll",
    "save_fig",
    "EXPORT_FORMATS",
    "export",
    "AUDIO_FORMATS",
    "encode_audio",
    "write_audio",
    "write_musicxml",
    "choose_clef",
    "Notation",
]
