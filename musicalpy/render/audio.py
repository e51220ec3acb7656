"""Hearing music: FluidSynth synthesis with a General MIDI soundfont.

:func:`synthesize` turns a note table, a :class:`pretty_midi.PrettyMIDI` or a MIDI file
into a waveform with FluidSynth (pretty_midi's sine synthesis when libfluidsynth cannot
be loaded); :func:`play` wraps it in an inline player, :func:`write_audio` writes it to
disk compressed (Ogg Vorbis by default) and :func:`write_wav` as 16-bit PCM WAV.
:func:`encode_audio` turns a waveform into the bytes of a file of any of
:data:`AUDIO_FORMATS`. :func:`find_soundfont` says where the soundfont comes from and
:func:`audio_backend` which synthesizer is in use.

Compression goes through soundfile (libsndfile, whose wheels bundle the Vorbis and MP3
encoders): a 15-second clip at 22,050 Hz is 0.66 MB as WAV and 70 kB as
Ogg Vorbis (a synthesized chorale), which keeps executed notebooks and the listening
page light.

pretty_midi, FluidSynth, scipy, soundfile and IPython are imported inside the functions
that need them, so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import importlib.util
import inspect
import io
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._config import check_int

__all__ = [
    "find_soundfont",
    "audio_backend",
    "synthesize",
    "play",
    "write_wav",
    "AUDIO_FORMATS",
    "encode_audio",
    "write_audio",
]

#: Soundfonts tried, in order, when ``MUSICALPY_SOUNDFONT`` is not set: FluidR3_GM
#: where Debian/Ubuntu, Fedora/Arch and Homebrew put it, then generic GM symlinks.
_SYSTEM_SOUNDFONTS = [
    Path(folder) / name
    for name in ("FluidR3_GM.sf2", "FluidR3_GM2-2.sf2", "default-GM.sf2", "default.sf2")
    for folder in (
        "/usr/share/sounds/sf2",
        "/usr/share/soundfonts",
        "/usr/local/share/sounds/sf2",
        "/usr/local/share/soundfonts",
        "/opt/homebrew/share/soundfonts",
        "/opt/homebrew/share/fluid-synth",
        "~/.local/share/soundfonts",
    )
]
_FADE_SECONDS = 0.05

#: The audio file formats :func:`encode_audio` writes, by file extension:
#: ``(libsndfile format, subtype, MIME type)``. Ogg Vorbis is the default everywhere
#: audio is embedded (notebooks, the listening page); WAV stays for :func:`write_wav`.
AUDIO_FORMATS: dict[str, tuple[str, str, str]] = {
    "ogg": ("OGG", "VORBIS", "audio/ogg"),
    "mp3": ("MP3", "MPEG_LAYER_III", "audio/mpeg"),
    "wav": ("WAV", "PCM_16", "audio/wav"),
}
#: libsndfile's compression level for the lossy formats (0 best quality, 1 smallest).
#: Measured on 15 s of a FluidSynth-rendered chorale (mono, 22,050 Hz): 0.9 gives
#: 37 kbit/s, 9.5x smaller than 16-bit WAV (0.8: 43 kbit/s, 8.2x; libsndfile's default
#: 6.4x). 0.9 is what brings executed notebooks, whose other bulk is figures, to a fifth
#: of their WAV size.
#: Samples per write call to libsndfile (see encode_audio).
_WRITE_BLOCK = 32768
_COMPRESSION_LEVEL = 0.9
_sine_warning_given = False


def find_soundfont() -> tuple[Path, str]:
    """Find the General MIDI soundfont FluidSynth should use.

    The order is: the ``MUSICALPY_SOUNDFONT`` environment variable, a system FluidR3_GM
    (``/usr/share/sounds/sf2/FluidR3_GM.sf2``, ``/usr/share/soundfonts/`` and other
    common folders), and finally the small ``TimGM6mb.sf2`` that pretty_midi ships.

    Returns
    -------
    path : Path
        The soundfont file.
    origin : str
        ``"MUSICALPY_SOUNDFONT"``, ``"system"`` or ``"pretty_midi"``.

    Raises
    ------
    FileNotFoundError
        When ``MUSICALPY_SOUNDFONT`` names a file that does not exist (a typo there
        should not silently change how everything sounds), or no soundfont is found.
    """
    configured = os.environ.get("MUSICALPY_SOUNDFONT", "").strip()
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"MUSICALPY_SOUNDFONT={configured!r}: no such soundfont file")
        return path, "MUSICALPY_SOUNDFONT"
    for candidate in _SYSTEM_SOUNDFONTS:
        candidate = candidate.expanduser()
        if candidate.is_file():
            return candidate, "system"
    spec = importlib.util.find_spec("pretty_midi")
    if spec is not None and spec.origin:
        bundled = Path(spec.origin).parent / "TimGM6mb.sf2"
        if bundled.is_file():
            return bundled, "pretty_midi"
    raise FileNotFoundError(
        "no General MIDI soundfont found: set MUSICALPY_SOUNDFONT or install fluid-soundfont-gm"
    )


def _load_fluidsynth() -> tuple[Any, str | None]:
    """Import pyfluidsynth; return ``(module, None)`` or ``(None, reason)``.

    pyfluidsynth loads libfluidsynth with ctypes at import time, so a missing or broken
    system library shows up here as an ImportError or an OSError. pyfluidsynth prints
    where it found the library to stdout when the ``CI`` variable is set; that line is
    kept out of our output (``musicalpy doctor``'s table, a notebook cell).
    """
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            module = importlib.import_module("fluidsynth")
    except Exception as exc:  # ImportError, OSError from ctypes, AttributeError on old libs
        return None, f"{type(exc).__name__}: {exc}"
    return module, None


def audio_backend() -> dict[str, Any]:
    """Report which synthesizer and soundfont :func:`synthesize` will use.

    Returns
    -------
    info : dict
        ``backend`` (``"fluidsynth"`` or ``"sine"``), ``soundfont`` (str or None),
        ``soundfont_origin`` (``"MUSICALPY_SOUNDFONT"``, ``"system"``, ``"pretty_midi"``
        or None), ``pyfluidsynth`` (its version or None), ``libfluidsynth`` (the loaded
        library or None) and ``problem`` (why FluidSynth or the soundfont is unusable,
        or None). Never raises, so ``musicalpy doctor`` can print it.
    """
    module, reason = _load_fluidsynth()
    info: dict[str, Any] = {
        "backend": "fluidsynth" if module is not None else "sine",
        "soundfont": None,
        "soundfont_origin": None,
        "pyfluidsynth": getattr(module, "api_version", None) if module else None,
        "libfluidsynth": getattr(module, "lib", None) if module else None,
        "problem": None if module else f"libfluidsynth could not be loaded ({reason})",
    }
    if module is not None:
        try:
            path, origin = find_soundfont()
        except FileNotFoundError as exc:
            info["problem"] = str(exc)
        else:
            info["soundfont"], info["soundfont_origin"] = str(path), origin
    return info


def _to_pretty_midi_object(source: Any):
    """Accept a note table, a PrettyMIDI, a MIDI path or MIDI bytes."""
    import pretty_midi

    from .. import midi

    if isinstance(source, pretty_midi.PrettyMIDI):
        return source
    if isinstance(source, pd.DataFrame):
        return midi.to_pretty_midi(source)
    if isinstance(source, (bytes, bytearray, str, os.PathLike)):
        # The file itself rather than its note table: pedals and pitch bends matter
        # for how a performance (MAESTRO) sounds.
        return midi.load_pretty_midi(source)
    raise TypeError(
        "source must be a note table (DataFrame), a pretty_midi.PrettyMIDI, or a MIDI path, "
        f"got {type(source).__name__}"
    )


def _check_rate_and_seconds(sample_rate: int, seconds: float | None) -> None:
    if check_int("sample_rate", sample_rate, minimum=1000) > 192_000:
        raise ValueError(f"sample_rate must be an integer between 1000 and 192000 Hz, got {sample_rate!r}")
    if seconds is not None and not (np.isfinite(seconds) and seconds > 0):
        raise ValueError(f"seconds must be a positive number or None, got {seconds!r}")


def _fluidsynth_waveform(pm, sample_rate: int, soundfont: Path) -> np.ndarray:
    # pretty_midi 0.2.11 renamed sf2_path to synthesizer and added normalize; both
    # spellings are supported so older installs keep working.
    parameters = inspect.signature(pm.fluidsynth).parameters
    kwargs: dict[str, Any] = {"fs": sample_rate}
    kwargs["synthesizer" if "synthesizer" in parameters else "sf2_path"] = str(soundfont)
    if "normalize" in parameters:
        kwargs["normalize"] = False
    return pm.fluidsynth(**kwargs)


def _warn_sine_once(reason: str) -> None:
    global _sine_warning_given
    if not _sine_warning_given:
        _sine_warning_given = True
        warnings.warn(
            f"FluidSynth is unavailable ({reason}); falling back to sine-wave synthesis. "
            "Install libfluidsynth (apt install fluidsynth, brew install fluid-synth) for "
            "real instrument sounds.",
            RuntimeWarning,
            stacklevel=3,
        )


def synthesize(
    source: Any,
    *,
    seconds: float | None = None,
    sample_rate: int = 22050,
    soundfont: str | os.PathLike | None = None,
) -> np.ndarray:
    """Render music to a mono waveform.

    Parameters
    ----------
    source : pd.DataFrame, pretty_midi.PrettyMIDI, str, path-like or bytes
        A note table, a PrettyMIDI object, or a MIDI file (path or bytes).
    seconds : float, optional
        Keep only the first ``seconds`` (with a 50 ms fade-out at the cut); None keeps
        everything, including FluidSynth's one-second release tail.
    sample_rate : int
        Samples per second.
    soundfont : str or path-like, optional
        A ``.sf2`` file; default :func:`find_soundfont`.

    Returns
    -------
    audio : np.ndarray, shape=(n_samples,), dtype=float32
        Peak-normalized to 1 (silence stays all zeros). Empty when there are no notes.

    Notes
    -----
    FluidSynth is used through :meth:`pretty_midi.PrettyMIDI.fluidsynth`. When
    libfluidsynth cannot be loaded, :meth:`pretty_midi.PrettyMIDI.synthesize` (sine
    waves, drums silent) is used instead and a ``RuntimeWarning`` says so once per
    session.
    """
    _check_rate_and_seconds(sample_rate, seconds)
    pm = _to_pretty_midi_object(source)
    if seconds is not None:
        pm = _cropped(pm, seconds)
    module, reason = _load_fluidsynth()
    audio = None
    if module is not None:
        path = Path(soundfont) if soundfont is not None else find_soundfont()[0]
        if not path.is_file():
            raise FileNotFoundError(f"soundfont {str(path)!r}: no such file")
        try:
            audio = _fluidsynth_waveform(pm, sample_rate, path)
        except ImportError as exc:  # pretty_midi imported before libfluidsynth vanished
            reason = f"{type(exc).__name__}: {exc}"
    if audio is None:
        _warn_sine_once(str(reason))
        kwargs = {"normalize": False} if "normalize" in inspect.signature(pm.synthesize).parameters else {}
        audio = pm.synthesize(fs=sample_rate, **kwargs)
    audio = np.nan_to_num(np.asarray(audio, dtype=np.float64))
    if seconds is not None:
        n_keep = int(round(seconds * sample_rate))
        if len(audio) > n_keep:
            audio = audio[:n_keep]
            n_fade = min(n_keep, int(_FADE_SECONDS * sample_rate))
            audio[n_keep - n_fade :] *= np.linspace(1.0, 0.0, n_fade)
    peak = np.abs(audio).max() if len(audio) else 0.0
    if peak > 0:
        audio = audio / peak
    return audio.astype(np.float32)


def _cropped(pm, seconds: float):
    """A copy of ``pm`` that stops at ``seconds``: synthesizing what the cut throws
    away would only cost time on long pieces."""
    if pm.get_end_time() <= seconds:
        return pm
    cropped = copy.deepcopy(pm)
    for inst in cropped.instruments:
        inst.notes = [n for n in inst.notes if n.start < seconds]
        for n in inst.notes:
            n.end = min(n.end, seconds)
        inst.control_changes = [c for c in inst.control_changes if c.time < seconds]
        inst.pitch_bends = [b for b in inst.pitch_bends if b.time < seconds]
    return cropped


def play(
    source: Any,
    *,
    seconds: float | None = 30,
    sample_rate: int = 22050,
    soundfont: str | os.PathLike | None = None,
    format: str = "ogg",
):
    """Return an inline audio player for a note table, PrettyMIDI or MIDI file.

    Parameters
    ----------
    source : pd.DataFrame, pretty_midi.PrettyMIDI, str, path-like or bytes
        What to play (see :func:`synthesize`).
    seconds : float or None
        Play at most this many seconds (None: the whole piece).
    sample_rate : int
        Samples per second.
    soundfont : str or path-like, optional
        A ``.sf2`` file; default :func:`find_soundfont`.
    format : {"ogg", "mp3", "wav"}
        How the clip is embedded (see :data:`AUDIO_FORMATS`): Ogg Vorbis by default, so
        an executed notebook carries a few kB per second of music instead of 44 kB.

    Returns
    -------
    audio : IPython.display.Audio
        Shows a player when it is the last expression of a notebook cell; its ``data``
        holds the encoded file and its ``mimetype`` says which format.
    """
    from IPython.display import Audio

    _audio_format(format)
    audio = synthesize(source, seconds=seconds, sample_rate=sample_rate, soundfont=soundfont)
    player = Audio(data=encode_audio(audio, sample_rate, format=format))
    # IPython labels raw bytes as WAV; the browser needs the real type to decode them.
    player.mimetype = AUDIO_FORMATS[format][2]
    return player


def _audio_format(format: str) -> tuple[str, str, str]:
    try:
        return AUDIO_FORMATS[format]
    except (KeyError, TypeError):
        raise ValueError(f"format must be one of {', '.join(AUDIO_FORMATS)}, got {format!r}") from None


def encode_audio(audio: np.ndarray, sample_rate: int = 22050, *, format: str = "ogg") -> bytes:
    """Encode a mono waveform as the bytes of an audio file.

    Parameters
    ----------
    audio : np.ndarray, shape=(n_samples,)
        Samples in [-1, 1] (as :func:`synthesize` returns them); louder ones are clipped.
    sample_rate : int
        Samples per second.
    format : {"ogg", "mp3", "wav"}
        Ogg Vorbis (default) or MP3 at libsndfile compression level 0.9, or 16-bit PCM WAV.

    Returns
    -------
    data : bytes
        A complete file; an empty waveform gives a file of 10 ms of silence, because
        players (and IPython) refuse a file with no samples.
    """
    import soundfile

    container, subtype, _ = _audio_format(format)
    _check_rate_and_seconds(sample_rate, None)
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"audio must be a mono waveform of shape (n_samples,), got shape {audio.shape}")
    if len(audio) == 0:
        audio = np.zeros(max(1, sample_rate // 100), dtype=np.float32)
    buffer = io.BytesIO()
    options = {} if container == "WAV" else {"compression_level": _COMPRESSION_LEVEL}
    audio = np.clip(audio, -1.0, 1.0)
    with soundfile.SoundFile(buffer, "w", samplerate=sample_rate, channels=1, format=container, subtype=subtype,
                             **options) as out:
        # libsndfile's Vorbis encoder crashes the process (a segfault) on some long
        # waveforms written in one call; blocks of a second or so are encoded safely.
        for start in range(0, len(audio), _WRITE_BLOCK):
            out.write(audio[start : start + _WRITE_BLOCK])
    return buffer.getvalue()


def write_audio(
    source: Any,
    path: str | os.PathLike,
    *,
    seconds: float | None = None,
    sample_rate: int = 22050,
    soundfont: str | os.PathLike | None = None,
) -> Path:
    """Synthesize ``source`` (see :func:`synthesize`) into an audio file whose format is
    given by the extension of ``path`` (``.ogg``, ``.mp3`` or ``.wav``).

    Returns
    -------
    path : Path
        The file written (parent folders are created).
    """
    path = Path(path)
    extension = path.suffix.lower().lstrip(".")
    if extension not in AUDIO_FORMATS:
        raise ValueError(f"path {str(path)!r}: the extension must be one of "
                         f"{', '.join('.' + e for e in AUDIO_FORMATS)} to choose the audio format")
    audio = synthesize(source, seconds=seconds, sample_rate=sample_rate, soundfont=soundfont)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_audio(audio, sample_rate, format=extension))
    return path


def write_wav(
    source: Any,
    path: str | os.PathLike,
    *,
    seconds: float | None = None,
    sample_rate: int = 22050,
    soundfont: str | os.PathLike | None = None,
) -> Path:
    """Synthesize ``source`` (see :func:`synthesize`) into a 16-bit PCM mono WAV file.

    Returns
    -------
    path : Path
        The file written (parent folders are created).
    """
    from scipy.io import wavfile

    audio = synthesize(source, seconds=seconds, sample_rate=sample_rate, soundfont=soundfont)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
    wavfile.write(path, sample_rate, pcm)
    return path

