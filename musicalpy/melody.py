"""A melody to harmonize: the one object every harmonizing model kind receives.

:class:`Melody` is the contract between :meth:`musicalpy.zoo.ZooModel.harmonize` (which
reads a MIDI or MusicXML file or an Essen tune, checks it and moves it into the soprano's
range) and each family's :meth:`~musicalpy.families.base.Family.harmonize` (which writes
the alto, tenor and bass under it). Loading and checking live here too (see
:func:`load_melody`).
"""

from __future__ import annotations

import dataclasses

import pandas as pd

__all__ = ["Melody"]


@dataclasses.dataclass(frozen=True)
class Melody:
    """One monophonic line, in quarter-note beats from 0.

    Attributes
    ----------
    notes : pandas.DataFrame
        Columns ``pitch`` (int, MIDI), ``start_beat``, ``end_beat`` (float, quarter
        notes); sorted by ``start_beat``, no two notes overlap. Rests are gaps.
    time_signature : str
        As ``"4/4"`` or ``"3/4"``; beat positions (strong and weak beats) follow from it.
    fermatas : tuple of float
        ``start_beat`` of every note carrying a fermata (the phrase ends a chorale
        melody marks), possibly empty.
    name : str
        Used as the ``piece`` of the harmonization.
    transposed_by : int
        Semitones the melody was moved by to fit the soprano's range (0 when it fit);
        the harmonization is moved back by the same amount.
    """

    notes: pd.DataFrame
    time_signature: str = "4/4"
    fermatas: tuple[float, ...] = ()
    name: str = "melody"
    transposed_by: int = 0
