"""Encodings of the note table for the models; every one decodes back to a note table.

Every encoder takes a note table (see :mod:`musicalpy.midi`) holding **one piece** and
every decoder gives a note table back; :func:`encode_pieces` runs an encoder over a
table of many pieces (and parts) so that training windows never cross a piece.

One module per encoding, each with its encoder, its exact decoder, its fixed vocabulary
(where the alphabet is closed) and its token transposition (where it is a token
sequence):

=============================  =========================================  ====================
module                         encoding                                   used by
=============================  =========================================  ====================
:mod:`.pitch_hold`             pitch / hold / rest, one token per step    HMM, token LSTM
                               of one part (130 tokens)
:mod:`.events`                 the 388 performance events, all parts      token LSTM, HMM
                               merged
:mod:`.note_rows`              rows (time, pitch, duration, velocity)     HMM, analysis
:mod:`.note_classes`           (onset gap class, pitch, duration class,   factorized HMM
                               velocity) per note, all parts merged
:mod:`.piano_roll`             binary (pitch x step) roll with onsets,    VAE
                               its windows and the range transposition
:mod:`.pitch_step_duration`    (pitch, step, duration) float features     LSTM (TF tutorial)
:mod:`.quantized`              (pitch, duration class, velocity class)    per-voice HMM
                               triples with rests
:mod:`.note_strings`           note / chord strings ``"C4.E4.G4"`` with   WaveNet, token LSTM
                               durations
:mod:`.frames`                 88-key binary frames per step, the JSB     JSB frame models
                               benchmark's (MIDI 21..108)
=============================  =========================================  ====================

Shared parts:

* :mod:`.vocabulary`: :class:`Vocabulary`, token <-> integer id (PAD is always id 0;
  START, END and UNK are optional reserved ids), saved and loaded as JSON.
* :mod:`.registry`: :data:`ENCODINGS`, one :class:`~._common.Encoding` per name, looked
  up by :func:`get_encoding` (an unknown name raises a ValueError listing the known
  ones), and :func:`encode_pieces` (with :func:`encode_sequences`, its non-empty values).
* :mod:`.tokens`: every piece to vocabulary ids (:func:`token_sequences`) or float
  features (:func:`feature_sequences`), ids back to a note table
  (:func:`decode_token_ids`), and the id transposition table the tf.data augmentation
  uses (:func:`transposition_table`).

Time grids. Encodings on a beat grid (pitch/hold, piano roll, quantized tokens, note
strings) use ``start_beat``/``end_beat`` when every note has them, else the seconds at
``tempo`` quarter notes per minute (default 120). Their decoders give beats and the
seconds at ``tempo``. Rounding to a grid step is to the nearest step, and a note shorter
than one step keeps one step.

Every name below is importable from this package (``from musicalpy.representations
import encode_events``) and from its own module.
"""

from __future__ import annotations

from ._common import Encoding
from .events import (
    EVENT_STEPS_PER_SECOND,
    N_EVENT_TOKENS,
    N_TIME_SHIFTS,
    N_VELOCITY_BINS,
    NOTE_OFF_OFFSET,
    NOTE_ON_OFFSET,
    TIME_SHIFT_OFFSET,
    VELOCITY_OFFSET,
    decode_events,
    describe_events,
    encode_events,
    event_vocabulary,
    transpose_event_token,
)
from .frames import LOWEST_KEY, N_KEYS, check_frames, decode_frames, encode_frames
from .note_classes import (
    DEFAULT_GAP_CLASSES,
    DEFAULT_NOTE_DURATION_CLASSES,
    decode_note_classes,
    encode_note_classes,
    note_rows_to_classes,
)
from .note_rows import decode_note_rows, encode_note_rows
from .note_strings import (
    REST_TOKEN,
    decode_note_strings,
    encode_note_strings,
    name_to_pitch,
    pitch_to_name,
    transpose_note_string_token,
)
from .piano_roll import (
    decode_piano_roll,
    encode_piano_roll,
    encode_piano_roll_windows,
    fit_transposition,
    frame_onsets,
    piano_roll_windows,
)
from .pitch_hold import (
    HOLD,
    N_PITCH_HOLD_TOKENS,
    REST,
    decode_pitch_hold,
    describe_pitch_hold,
    encode_pitch_hold,
    pitch_hold_vocabulary,
    transpose_pitch_hold_token,
)
from .pitch_step_duration import (
    PITCH_STEP_DURATION_COLUMNS,
    decode_pitch_step_duration,
    encode_pitch_step_duration,
)
from .quantized import (
    DEFAULT_DURATION_CLASSES,
    DEFAULT_VELOCITY_CLASSES,
    REST_PITCH,
    decode_quantized_tokens,
    encode_quantized_tokens,
    quantized_tokens_beats,
    transpose_quantized_token,
)
from .registry import ENCODINGS, TOKEN_ENCODINGS, encode_pieces, encode_sequences, get_encoding
from .tokens import decode_token_ids, feature_sequences, token_sequences, transposition_table
from .vocabulary import Vocabulary

__all__ = [
    # pitch / hold / rest
    "HOLD",
    "REST",
    "N_PITCH_HOLD_TOKENS",
    "encode_pitch_hold",
    "decode_pitch_hold",
    "describe_pitch_hold",
    "pitch_hold_vocabulary",
    "transpose_pitch_hold_token",
    # performance events
    "NOTE_ON_OFFSET",
    "NOTE_OFF_OFFSET",
    "TIME_SHIFT_OFFSET",
    "VELOCITY_OFFSET",
    "N_TIME_SHIFTS",
    "N_VELOCITY_BINS",
    "EVENT_STEPS_PER_SECOND",
    "N_EVENT_TOKENS",
    "encode_events",
    "decode_events",
    "describe_events",
    "event_vocabulary",
    "transpose_event_token",
    # note rows
    "encode_note_rows",
    "decode_note_rows",
    # note classes
    "DEFAULT_GAP_CLASSES",
    "DEFAULT_NOTE_DURATION_CLASSES",
    "encode_note_classes",
    "decode_note_classes",
    "note_rows_to_classes",
    # piano roll
    "encode_piano_roll",
    "decode_piano_roll",
    "piano_roll_windows",
    "fit_transposition",
    "frame_onsets",
    "encode_piano_roll_windows",
    # (pitch, step, duration)
    "PITCH_STEP_DURATION_COLUMNS",
    "encode_pitch_step_duration",
    "decode_pitch_step_duration",
    # quantized tokens
    "REST_PITCH",
    "DEFAULT_DURATION_CLASSES",
    "DEFAULT_VELOCITY_CLASSES",
    "encode_quantized_tokens",
    "decode_quantized_tokens",
    "transpose_quantized_token",
    "quantized_tokens_beats",
    # note / chord strings
    "REST_TOKEN",
    "pitch_to_name",
    "name_to_pitch",
    "encode_note_strings",
    "decode_note_strings",
    "transpose_note_string_token",
    # 88-key frames (JSB Chorales)
    "LOWEST_KEY",
    "N_KEYS",
    "encode_frames",
    "decode_frames",
    "check_frames",
    # shared
    "Vocabulary",
    "Encoding",
    "ENCODINGS",
    "get_encoding",
    "encode_pieces",
    "encode_sequences",
    # token ids <-> note tables
    "TOKEN_ENCODINGS",
    "feature_sequences",
    "token_sequences",
    "decode_token_ids",
    "transposition_table",
]
