"""Audio (FluidSynth and the sine fallback), sheet music (music21 -> verovio SVG),
piano rolls and save_fig."""

from __future__ import annotations

import io
import re
import sys
import warnings
import wave
from fractions import Fraction
from pathlib import Path

import hypothesis.strategies as st
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

from musicalpy import render
from musicalpy.midi import from_music21, to_pretty_midi, write_midi
from musicalpy.names import VOICES
from musicalpy.render import score as score_module

RATE = 22050


def _count(svg: str, css_class: str) -> int:
    """Elements whose class list is exactly ``css_class`` (verovio writes one class per
    element kind: ``staff``, ``note``, ``measure``...)."""
    return len(re.findall(rf'class="{css_class}"', svg))


def _arpeggio(seconds: float = 3.0) -> pd.DataFrame:
    pitches = [60, 64, 67, 72]
    step = seconds / len(pitches)
    starts = np.arange(len(pitches)) * step
    return pd.DataFrame({"pitch": pitches, "start": starts, "end": starts + step, "velocity": 100})


def _dominant_frequency(audio: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.fft.rfftfreq(len(audio), 1 / rate)[np.argmax(spectrum)])


@pytest.fixture(scope="module")
def chorale_notes() -> pd.DataFrame:
    from music21 import corpus

    return from_music21(corpus.parse("bach/bwv66.6"), piece="bwv66.6")


@pytest.fixture
def no_fluidsynth(monkeypatch):
    """Make ``import fluidsynth`` fail as it does when libfluidsynth is missing."""
    monkeypatch.setitem(sys.modules, "fluidsynth", None)
    monkeypatch.setattr(render.audio, "_sine_warning_given", False)


# ---------------------------------------------------------------------------- audio


def test_synthesize_is_audible_and_cut_to_length():
    audio = render.synthesize(_arpeggio(3.0), seconds=2, sample_rate=RATE)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - 2 * RATE) <= 1
    assert np.sqrt(np.mean(audio**2)) > 0.05
    assert np.abs(audio).max() == pytest.approx(1.0, abs=1e-6)
    # The fade-out at the cut ends in silence instead of a click.
    assert abs(audio[-1]) < 1e-3


def test_whole_piece_keeps_fluidsynth_release_tail():
    audio = render.synthesize(_arpeggio(2.0), seconds=None, sample_rate=RATE)
    # pretty_midi lets FluidSynth ring for one second after the last note-off.
    assert abs(len(audio) - 3 * RATE) <= 1
    assert np.sqrt(np.mean(audio[: 2 * RATE] ** 2)) > 0.05


def test_fluidsynth_is_the_backend_and_is_called(monkeypatch):
    import pretty_midi

    info = render.audio_backend()
    assert info["backend"] == "fluidsynth"
    assert info["problem"] is None
    assert Path(info["soundfont"]).is_file()
    assert info["soundfont_origin"] in {"MUSICALPY_SOUNDFONT", "system", "pretty_midi"}
    calls = {"fluidsynth": 0, "synthesize": 0}
    real_fluidsynth, real_synthesize = pretty_midi.PrettyMIDI.fluidsynth, pretty_midi.PrettyMIDI.synthesize

    def spy_fluidsynth(self, *args, **kwargs):
        calls["fluidsynth"] += 1
        return real_fluidsynth(self, *args, **kwargs)

    def spy_synthesize(self, *args, **kwargs):
        calls["synthesize"] += 1
        return real_synthesize(self, *args, **kwargs)

    monkeypatch.setattr(pretty_midi.PrettyMIDI, "fluidsynth", spy_fluidsynth)
    monkeypatch.setattr(pretty_midi.PrettyMIDI, "synthesize", spy_synthesize)
    render.synthesize(_arpeggio(1.0), seconds=1)
    assert calls == {"fluidsynth": 1, "synthesize": 0}


def test_soundfont_from_environment(monkeypatch, tmp_path):
    import pretty_midi

    bundled = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    monkeypatch.setenv("MUSICALPY_SOUNDFONT", str(bundled))
    assert render.find_soundfont() == (bundled, "MUSICALPY_SOUNDFONT")
    info = render.audio_backend()
    assert info["soundfont"] == str(bundled) and info["soundfont_origin"] == "MUSICALPY_SOUNDFONT"
    assert np.sqrt(np.mean(render.synthesize(_arpeggio(1.0), seconds=1) ** 2)) > 0.05

    missing = tmp_path / "nope.sf2"
    monkeypatch.setenv("MUSICALPY_SOUNDFONT", str(missing))
    with pytest.raises(FileNotFoundError, match="MUSICALPY_SOUNDFONT"):
        render.find_soundfont()
    info = render.audio_backend()  # reports, never raises
    assert info["soundfont"] is None and "nope.sf2" in info["problem"]


def test_sine_fallback_without_libfluidsynth_warns_once(no_fluidsynth):
    info = render.audio_backend()
    assert info["backend"] == "sine" and "libfluidsynth" in info["problem"]
    a440 = pd.DataFrame({"pitch": [69], "start": [0.0], "end": [2.0]})
    with pytest.warns(RuntimeWarning, match="sine"):
        audio = render.synthesize(a440, seconds=1, sample_rate=RATE)
    assert abs(len(audio) - RATE) <= 1
    assert np.sqrt(np.mean(audio**2)) > 0.1
    assert _dominant_frequency(audio, RATE) == pytest.approx(440.0, abs=2.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        render.synthesize(a440, seconds=1, sample_rate=RATE)
    assert not [w for w in caught if "sine" in str(w.message)]


def _overtone_ratio(audio: np.ndarray, fundamental: float = 440.0) -> float:
    """Strength of the strongest of overtones 2-4 relative to the fundamental."""
    spectrum = np.abs(np.fft.rfft(audio))
    freqs = np.fft.rfftfreq(len(audio), 1 / RATE)

    def peak(frequency: float) -> float:
        return float(spectrum[np.abs(freqs - frequency) < 20].max())

    return max(peak(k * fundamental) for k in (2, 3, 4)) / peak(fundamental)


def test_fluidsynth_and_sine_sound_different(monkeypatch):
    """A FluidSynth piano A4 is rich in harmonics; the sine fallback has almost none."""
    a440 = pd.DataFrame({"pitch": [69], "start": [0.0], "end": [1.0]})
    piano = render.synthesize(a440, seconds=1)
    monkeypatch.setitem(sys.modules, "fluidsynth", None)
    monkeypatch.setattr(render.audio, "_sine_warning_given", False)
    with pytest.warns(RuntimeWarning):
        sine = render.synthesize(a440, seconds=1)
    assert _overtone_ratio(piano) > 0.05
    assert _overtone_ratio(sine) < 0.01


def test_sources_table_prettymidi_path_and_bytes_agree(tmp_path):
    import pretty_midi

    small = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"  # quick to load
    table = _arpeggio(1.0)
    path = write_midi(table, tmp_path / "arp.mid")
    expected = render.synthesize(table, soundfont=small)
    for source in (to_pretty_midi(table), path, path.read_bytes()):
        audio = render.synthesize(source, soundfont=small)
        assert len(audio) == len(expected)
        assert np.corrcoef(audio, expected)[0, 1] > 0.99


def test_empty_table_is_silence():
    import soundfile

    empty = pd.DataFrame({"pitch": [], "start": [], "end": []})
    assert len(render.synthesize(empty)) == 0
    # Players refuse a file without samples: the clip is 10 ms of silence, 220 samples at
    # 22,050 Hz, 16-bit mono PCM after a 44-byte header as a WAV.
    wav = render.play(empty, format="wav").data
    assert len(wav) == 44 + 2 * 220
    with wave.open(io.BytesIO(wav)) as clip:
        assert (clip.getframerate(), clip.getnchannels(), clip.getnframes()) == (22050, 1, 220)
        assert clip.readframes(220) == bytes(440)
    decoded, rate = soundfile.read(io.BytesIO(render.play(empty).data), dtype="float32")  # Ogg Vorbis by default
    assert rate == 22050 and len(decoded) == 220 and not decoded.any()


def test_play_returns_an_inline_player_of_the_right_length():
    from IPython.display import Audio

    player = render.play(_arpeggio(3.0), seconds=1.5, sample_rate=RATE, format="wav")
    assert isinstance(player, Audio) and player.mimetype == "audio/wav"
    with wave.open(io.BytesIO(player.data)) as wav:
        assert wav.getframerate() == RATE
        assert abs(wav.getnframes() - 1.5 * RATE) <= 1


def test_play_embeds_ogg_vorbis_by_default_and_it_decodes_to_the_clip():
    import soundfile

    wav = render.play(_arpeggio(3.0), seconds=1.5, sample_rate=RATE, format="wav")
    player = render.play(_arpeggio(3.0), seconds=1.5, sample_rate=RATE)
    assert player.mimetype == "audio/ogg" and player.data[:4] == b"OggS"
    assert "data:audio/ogg;base64," in player._repr_html_()
    decoded, rate = soundfile.read(io.BytesIO(player.data), dtype="float32")
    assert rate == RATE and abs(len(decoded) - 1.5 * RATE) <= 1
    # Lossy but faithful: the decoded clip follows the waveform it was made from.
    original, _ = soundfile.read(io.BytesIO(wav.data), dtype="float32")
    assert np.corrcoef(original, decoded[: len(original)])[0, 1] > 0.95
    assert len(player.data) * 4 < len(wav.data)


def test_encode_audio_formats_and_bad_input():
    import soundfile

    tone = np.sin(2 * np.pi * 440 * np.arange(RATE) / RATE).astype(np.float32) * 0.5
    for fmt, magic in (("ogg", b"OggS"), ("wav", b"RIFF")):
        data = render.encode_audio(tone, RATE, format=fmt)
        assert data[:4] == magic
        assert soundfile.info(io.BytesIO(data)).frames == RATE
    assert soundfile.info(io.BytesIO(render.encode_audio(np.zeros(0), RATE))).frames == RATE // 100
    with pytest.raises(ValueError, match="format must be one of ogg, mp3, wav"):
        render.encode_audio(tone, RATE, format="flac")
    with pytest.raises(ValueError, match="mono waveform"):
        render.encode_audio(np.zeros((2, 10)), RATE)


def test_write_audio_chooses_the_format_by_extension(tmp_path):
    import soundfile

    path = render.write_audio(_arpeggio(2.0), tmp_path / "a" / "arp.ogg", seconds=1.0, sample_rate=RATE)
    info = soundfile.info(path)
    assert (info.format, info.subtype, info.samplerate, info.frames) == ("OGG", "VORBIS", RATE, RATE)
    with pytest.raises(ValueError, match=r"arp\.aiff.*extension must be one of \.ogg, \.mp3, \.wav"):
        render.write_audio(_arpeggio(2.0), tmp_path / "arp.aiff")


def test_write_wav_round_trip(tmp_path):
    from scipy.io import wavfile

    path = render.write_wav(_arpeggio(2.0), tmp_path / "out" / "arp.wav", seconds=1.0, sample_rate=16000)
    rate, data = wavfile.read(path)
    assert path.parent.name == "out"
    assert rate == 16000 and data.dtype == np.int16
    assert abs(len(data) - 16000) <= 1
    assert np.abs(data).max() == 32767


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"sample_rate": 0}, ValueError), ({"seconds": -1}, ValueError), ({"seconds": float("nan")}, ValueError)],
)
def test_bad_audio_arguments(kwargs, error):
    with pytest.raises(error):
        render.synthesize(_arpeggio(1.0), **kwargs)


def test_bad_audio_source(tmp_path):
    with pytest.raises(TypeError, match="note table"):
        render.synthesize(42)
    with pytest.raises(FileNotFoundError):
        render.synthesize(tmp_path / "missing.mid")


# ---------------------------------------------------------------------- quantization


def _table_from_beats(starts, ends, part="0", pitch=60) -> pd.DataFrame:
    starts, ends = np.asarray(starts, float), np.asarray(ends, float)
    return pd.DataFrame(
        {"part": part, "pitch": pitch, "start": starts / 2, "end": ends / 2, "start_beat": starts, "end_beat": ends}
    )


def test_quantization_picks_a_grid_per_beat():
    # Beat 0 holds 16ths, beat 1 triplets; 0.98 snaps to the next beat.
    table = _table_from_beats([0.0, 0.26, 0.98, 1.34, 1.65], [0.26, 0.5, 1.34, 1.65, 2.0])
    layout, _ = score_module._notation_events(table)
    (voice,) = layout["0"]
    assert [(s, e) for s, e, _ in voice] == [(0, 3), (3, 6), (12, 16), (16, 20), (20, 24)]


def test_same_onset_merges_into_a_chord_and_overlaps_become_voices():
    table = pd.concat(
        [
            _table_from_beats([0.0], [4.0], pitch=48),  # held bass
            _table_from_beats([0.02], [1.0], pitch=64),  # same onset after quantization
            _table_from_beats([1.0, 2.0], [2.0, 3.0], pitch=65),
        ]
    )
    layout, _ = score_module._notation_events(table)
    voices = layout["0"]
    assert voices[0] == [(0, 48, (48, 64))]  # the chord lasts as long as its longest note
    assert voices[1] == [(12, 24, (65,)), (24, 36, (65,))]


def test_voices_beyond_the_limit_cut_the_earliest_ending_voice():
    starts = np.arange(render.MAX_VOICES + 1, dtype=float)
    table = _table_from_beats(starts, 10 - starts, pitch=60)
    table["pitch"] = 60 + np.arange(len(table))
    layout, _ = score_module._notation_events(table)
    voices = layout["0"]
    assert len(voices) == render.MAX_VOICES
    ends = {v[0][2][0]: v[0][1] for v in voices}
    # The voice ending first (the last opened, pitch 63) is cut where the fifth note starts.
    assert ends[60 + render.MAX_VOICES - 1] == render.MAX_VOICES * render.TICKS_PER_QUARTER
    assert voices[-1][-1][2] == (60 + render.MAX_VOICES,)


_note_rows = st.tuples(
    st.sampled_from(["a", "b"]),
    st.integers(0, 127),
    st.floats(0, 12, allow_nan=False),
    st.floats(0.0, 20, allow_nan=False),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_note_rows, min_size=1, max_size=30))
def test_notation_events_properties(rows):
    table = pd.DataFrame(rows, columns=["part", "pitch", "start", "duration"])
    table["end"] = table["start"] + table["duration"]
    layout, _ = score_module._notation_events(table.drop(columns="duration"))
    q = render.TICKS_PER_QUARTER
    for part, voices in layout.items():
        assert 1 <= len(voices) <= render.MAX_VOICES
        placed = set()
        grid_of_beat: dict[int, set[int]] = {}
        for voice in voices:
            for (_, e0, _), (s1, _, _) in zip(voice[:-1], voice[1:], strict=True):
                assert e0 <= s1  # no overlaps inside a voice
            for start, end, pitches in voice:
                assert end > start
                placed.update(pitches)
                for t in (start, end):
                    if t % q:
                        grid_of_beat.setdefault(t // q, set()).add(3 if (t % q) % 3 == 0 else 4)
        # Every pitch of the part is engraved, and no beat mixes 16ths with triplets.
        assert placed == set(table.loc[table["part"] == part, "pitch"])
        assert all(len(kinds) == 1 for kinds in grid_of_beat.values())


def test_split_span_gives_plain_note_values():
    bar = 4 * render.TICKS_PER_QUARTER
    assert score_module._split_span(3, 60, bar) == [(3, 12), (12, 48), (48, 60)]
    assert score_module._split_span(16, 20, bar) == [(16, 20)]
    assert score_module._split_span(40, 57, bar) == [(40, 48), (48, 57)]
    # A dotted quarter on a beat is one note; off the beat, or across a barline, it is tied.
    assert score_module._split_span(12, 30, bar) == [(12, 30)]
    assert score_module._split_span(6, 24, bar) == [(6, 12), (12, 24)]
    assert score_module._split_span(36, 54, bar) == [(36, 48), (48, 54)]


def test_choose_clef_by_voice_name_then_by_ledger_lines():
    assert [render.choose_clef([60], name) for name in VOICES] == ["treble", "treble", "treble8vb", "bass"]
    assert render.choose_clef([72, 76, 79]) == "treble"
    assert render.choose_clef([40, 45, 48]) == "bass"
    assert render.choose_clef([55, 57, 60, 62]) == "treble8vb"  # a tenor line with no name
    assert render.choose_clef([]) == "treble"


def _four_voice_table(sharps_key: str = "D major") -> pd.DataFrame:
    """Four voices in D major (two sharps), homophonic, with a dotted-quarter rhythm."""
    from musicalpy.names import VOICES as voices

    chords = [(74, 66, 57, 50), (73, 69, 64, 45), (74, 66, 62, 47), (76, 67, 61, 45),
              (78, 69, 62, 38), (74, 66, 57, 43), (73, 64, 57, 45), (74, 66, 62, 50)]
    lengths = [1.5, 0.5, 1.0, 1.0, 1.5, 0.5, 1.0, 1.0]
    rows, beat = [], 0.0
    for chord, length in zip(chords, lengths, strict=True):
        for voice, pitch in zip(voices, chord, strict=True):
            rows.append({"piece": "sample_0", "part": voice, "pitch": pitch, "start": beat / 2,
                         "end": (beat + length) / 2, "start_beat": beat, "end_beat": beat + length})
        beat += length
    return pd.DataFrame(rows)


def test_four_voice_table_reaches_verovio_with_choir_clefs_key_and_dotted_notes(monkeypatch, tmp_path):
    sent = []
    engrave = score_module._engrave
    monkeypatch.setattr(score_module, "_engrave", lambda musicxml, page: sent.append(musicxml) or engrave(musicxml, page))
    svg = render.write_score_svg(_four_voice_table(), tmp_path / "s.svg").read_text()
    (musicxml,) = sent
    clefs = re.findall(r"<clef>\s*<sign>(\w)</sign>\s*<line>(\d)</line>\s*(?:<clef-octave-change>(-?\d)"
                       r"</clef-octave-change>\s*)?</clef>", musicxml)
    assert clefs == [("G", "2", ""), ("G", "2", ""), ("G", "2", "-1"), ("F", "4", "")]
    assert re.findall(r"<fifths>(-?\d+)</fifths>", musicxml) == ["2"] * 4
    # D major spelled with its signature: no accidental printed on any F# or C#.
    assert "<accidental>" not in musicxml
    # Two dotted quarters per voice, written as dotted notes, never as tied pairs.
    assert musicxml.count("<dot />") == 8 and "<tie " not in musicxml
    assert _count(svg, "clef") == 4 and _count(svg, "note") == 32


# ----------------------------------------------------------------------- sheet music


def _durations_are_plain(score) -> bool:
    return all(
        n.duration.type not in {"inexpressible", "complex", "zero"}
        for n in score.recurse().notesAndRests
    )


def test_prepare_score_of_a_chorale(chorale_notes):
    score = render.prepare_score(chorale_notes, measures=4)
    parts = list(score.parts)
    assert [p.partName for p in parts] == list(VOICES)
    # A choir score: the tenor reads the treble clef an octave down, the bass the F clef.
    clefs = [p.recurse().getElementsByClass("Clef").first() for p in parts]
    assert [(c.sign, c.octaveChange) for c in clefs] == [("G", 0), ("G", 0), ("G", -1), ("F", 0)]
    keys = [p.recurse().getElementsByClass("KeySignature").first() for p in parts]
    assert {k.sharps for k in keys} == {3}  # music21 hears f# minor, as in the score
    for part in parts:
        measures = list(part.getElementsByClass("Measure"))
        assert [m.number for m in measures] == [1, 2, 3, 4]
        assert all(m.duration.quarterLength == 4 for m in measures)
    assert _durations_are_plain(score)
    # Quantizing a chorale moves nothing: its notes come back.
    pitches = sorted(p.midi for n in score.parts[0].flatten().notes for p in n.pitches)
    first_16_beats = chorale_notes[(chorale_notes["part"] == "Soprano") & (chorale_notes["start_beat"] < 16)]
    assert pitches == sorted(first_16_beats["pitch"])


def test_chorale_svg_has_four_measures_of_four_staves(chorale_notes, tmp_path):
    path = render.write_score_svg(chorale_notes, tmp_path / "scores" / "bwv66.svg", measures=4)
    svg = path.read_text()
    assert svg.startswith("<svg")
    assert _count(svg, "measure") == 4
    assert _count(svg, "staff") == 16
    assert _count(svg, "clef") == 4
    assert _count(svg, "keyAccid") == 12  # three sharps on each staff
    assert _count(svg, "note") == sum(
        ((chorale_notes["start_beat"] < 16)).to_numpy()
    )


def test_show_score_of_a_music21_score_keeps_its_measures():
    from IPython.display import HTML
    from music21 import corpus

    score = corpus.parse("bach/bwv66.6")
    image = render.show_score(score, measures=(2, 3))
    assert isinstance(image, HTML) and image.data.startswith("<svg")
    assert _count(image.data, "measure") == 2
    assert _count(image.data, "staff") == 8
    selected = render.prepare_score(score, measures=(2, 3)).parts[0].getElementsByClass("Measure")
    assert [m.number for m in selected] == [2, 3]
    with pytest.raises(ValueError, match="selects nothing"):
        render.show_score(score, measures=(50, 60))


def test_unquantized_music21_stream_is_renotated():
    from musicalpy.midi import to_music21

    rng = np.random.default_rng(5)
    starts = rng.uniform(0, 4, 12)
    table = pd.DataFrame({"pitch": rng.integers(50, 80, 12), "start": starts, "end": starts + rng.uniform(0.05, 1.3, 12)})
    stream = to_music21(table)  # a flat stream with odd offsets
    svg = render.show_score(stream).data
    # Verovio engraves what music21 notates: one staff in each bar, and every note head (the
    # 12 notes, split into tied heads where they cross a beat or a bar line).
    score = render.prepare_score(stream)
    bars = len(score.parts[0].getElementsByClass("Measure"))
    heads = sum(len(n.pitches) for n in score.recurse().notes)
    assert len(score.parts) == 1 and heads >= 12
    assert (_count(svg, "measure"), _count(svg, "staff"), _count(svg, "note")) == (bars, bars, heads)


def test_key_signature_is_added_to_a_score_without_one():
    from music21 import note, stream

    part = stream.Part()
    for name in ["E-4", "G4", "B-4", "E-5", "B-4", "G4", "E-4", "B-3"]:
        part.append(note.Note(name, quarterLength=1))
    original = stream.Score([part.makeMeasures()])
    score = render.prepare_score(original)
    assert score.recurse().getElementsByClass("KeySignature").first().sharps == -3
    assert not original.recurse().getElementsByClass("KeySignature")  # left untouched


def test_note_table_is_spelled_in_its_key():
    # An E-flat major arpeggio: D#/Eb must be written E-flat.
    table = pd.DataFrame({"pitch": [63, 67, 70, 75, 70, 67, 63, 58], "start": np.arange(8) * 0.5})
    table["end"] = table["start"] + 0.5
    score = render.prepare_score(table)
    names = {p.name for n in score.recurse().notes for p in n.pitches}
    assert names == {"E-", "G", "B-"}


def _random_table(rng: np.random.Generator) -> pd.DataFrame:
    n = int(rng.integers(1, 12))
    start = rng.uniform(0, 10, n)
    duration = np.exp(rng.uniform(np.log(0.01), np.log(20), n))  # 10 ms to 20 s
    return pd.DataFrame(
        {
            "part": rng.choice(["piano", "bass", "lead"], n),
            "pitch": rng.integers(0, 128, n),
            "start": start,
            "end": start + duration,
            "velocity": rng.integers(1, 128, n),
        }
    )


def test_random_note_tables_always_engrave():
    rng = np.random.default_rng(2024)
    for index in range(30):
        table = _random_table(rng)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            musicxml = score_module._safe_musicxml(table, None)  # what _score_svg engraves
            svg = score_module._stack_pages(score_module._engrave(musicxml, None))
        assert not [w for w in caught if "grid failed" in str(w.message)], index
        # Verovio engraves every bar and note of the MusicXML it reads: a staff per part in
        # every bar, a head per pitched <note> (each note of the table one or more, tied).
        parts = re.findall(r"<part id=.*?</part>", musicxml, flags=re.DOTALL)
        bars = {part.count("<measure ") for part in parts}
        heads = sum(1 for note in re.findall(r"<note[ >].*?</note>", musicxml, flags=re.DOTALL) if "<rest" not in note)
        assert len(parts) == table["part"].nunique() and len(bars) == 1, index
        assert (_count(svg, "measure"), _count(svg, "staff")) == (min(bars), len(parts) * min(bars)), index
        assert _count(svg, "note") == heads >= len(table), index
        if index < 8:
            score = render.prepare_score(table)
            assert _durations_are_plain(score), index
            for part in score.parts:
                name = part.partName
                engraved = {p.midi for n in part.recurse().notes for p in n.pitches}
                assert engraved == set(table.loc[table["part"] == name, "pitch"]), index
                for measure in part.getElementsByClass("Measure"):
                    for voice in measure.voices or [measure]:
                        assert voice.highestTime == 4, index


def test_empty_table_gives_an_empty_staff():
    svg = render.show_score(pd.DataFrame({"pitch": [], "start": [], "end": []})).data
    assert _count(svg, "staff") == 1
    assert _count(svg, "note") == 0


def test_long_score_stacks_all_pages_or_shows_one():
    # Four parts of whole notes: few notes, many systems.
    n = 64
    table = pd.DataFrame(
        {
            "part": np.repeat(["s", "a", "t", "b"], n),
            "pitch": np.tile(60 + np.arange(n) % 12, 4) - np.repeat([0, 5, 12, 24], n),
            "start": np.tile(np.arange(n) * 2.0, 4),
        }
    )
    table["end"] = table["start"] + 2.0
    musicxml = score_module._safe_musicxml(table, None)
    pages = score_module._engrave(musicxml, None)
    # On verovio's A4 page at scale 40 a system holds 9 or 10 of these bars and a page three
    # systems: 64 bars are 7 systems on 3 pages, each bar a staff per part.
    bars = [_count(page, "measure") for page in pages]
    assert len(pages) == 3 and sum(bars) == n and min(bars) > 0
    assert [_count(page, "staff") for page in pages] == [4 * b for b in bars]
    whole = score_module._stack_pages(pages)
    assert _count(whole, "measure") == n
    assert whole.count("<svg") == 1 + 2 * len(pages)  # each page nests a scaled <svg>
    (page_two,) = score_module._engrave(musicxml, 2)
    assert _count(page_two, "measure") == bars[1]
    with pytest.raises(ValueError, match="page"):
        score_module._engrave(musicxml, len(pages) + 1)


def test_show_score_page_argument(two_part_notes):
    assert _count(render.show_score(two_part_notes, page=1).data, "staff") == 2
    with pytest.raises(ValueError, match="page must be between 1 and 1"):
        render.show_score(two_part_notes, page=2)


@pytest.mark.parametrize("measures", [0, (0, 2), (3, 2), (1.5, 2), "4"])
def test_bad_measures(measures, two_part_notes):
    with pytest.raises(ValueError, match="measures"):
        render.show_score(two_part_notes, measures=measures)


def test_engines(monkeypatch, two_part_notes):
    from music21 import environment

    with pytest.raises(ValueError, match="engine"):
        render.show_score(two_part_notes, engine="lilypond")
    real_getitem = environment.Environment.__getitem__
    monkeypatch.setattr(
        environment.Environment,
        "__getitem__",
        lambda self, key: None if key == "musescoreDirectPNGPath" else real_getitem(self, key),
    )
    with pytest.raises(RuntimeError, match="musescoreDirectPNGPath"):
        render.show_score(two_part_notes, engine="musescore")


def test_tempo_reads_seconds_on_the_beat():
    # Quarter notes at 90 bpm: read at 90 they are quarters, at 120 they are not.
    starts = np.arange(8) * (60 / 90)
    table = pd.DataFrame({"pitch": 60, "start": starts, "end": starts + 60 / 90})
    layout, tempo = score_module._notation_events(table, tempo=90)
    assert tempo == 90
    assert [(s, e) for s, e, _ in layout["0"][0]] == [(12 * i, 12 * i + 12) for i in range(8)]
    with pytest.raises(ValueError, match="tempo"):
        render.prepare_score(table, tempo=0)


# --------------------------------------------------------------------------- figures


def test_pianoroll_draws_one_rectangle_per_note(two_part_notes):
    ax = render.plot_pianoroll(two_part_notes)
    boxes = [path.vertices for collection in ax.collections for path in collection.get_paths()]
    assert len(boxes) == len(two_part_notes)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Melody", "Bass"]
    melody = two_part_notes[two_part_notes["part"] == "Melody"].sort_values(["start", "pitch"])
    corners = [path.vertices[:4] for path in ax.collections[0].get_paths()]
    drawn = sorted((v[:, 0].min(), v[:, 0].max(), v[:, 1].mean()) for v in corners)
    expected = sorted(zip(melody["start"], melody["end"], melody["pitch"].astype(float), strict=True))
    np.testing.assert_allclose(drawn, expected)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "C4" in labels and "C3" in labels
    plt.close("all")


def test_pianoroll_window_beats_and_single_colour(two_part_notes):
    fig, ax = plt.subplots()
    out = render.plot_pianoroll(two_part_notes, ax=ax, start=1.0, end=3.0, unit="beats", by=None)
    assert out is ax
    assert sum(len(c.get_paths()) for c in ax.collections) == int(
        ((two_part_notes["end_beat"] > 1.0) & (two_part_notes["start_beat"] < 3.0)).sum()
    )
    assert ax.get_xlim() == (1.0, 3.0)
    assert ax.get_legend() is None and "quarter" in ax.get_xlabel()
    with pytest.raises(ValueError, match="by="):
        render.plot_pianoroll(two_part_notes, by="instrument")
    with pytest.raises(ValueError, match="start_beat"):
        render.plot_pianoroll(two_part_notes.drop(columns=["start_beat", "end_beat"]), unit="beats")
    plt.close("all")


def test_save_fig_writes_png_in_the_notebook_folder(monkeypatch, tmp_path, two_part_notes):
    monkeypatch.setenv("MUSICALPY_IMAGES_DIR", str(tmp_path))
    monkeypatch.setenv("MUSICALPY_NOTEBOOK", "03_lstm")
    render.plot_pianoroll(two_part_notes)
    path = render.save_fig("roll")
    assert path == tmp_path / "03_lstm" / "roll.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert render.save_fig("roll.png", notebook="05_vae.ipynb") == tmp_path / "05_vae" / "roll.png"
    monkeypatch.delenv("MUSICALPY_NOTEBOOK")
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert render.save_fig("other").parent == tmp_path / "misc"
    with pytest.raises(ValueError, match="name"):
        render.save_fig("../escape")
    plt.close("all")


def test_fraction_offsets_are_exact():
    """Triplets stay exact thirds in the score, not 0.333 floats."""
    table = _table_from_beats([0, 1 / 3, 2 / 3], [1 / 3, 2 / 3, 1.0])
    score = render.prepare_score(table)
    offsets = [n.offset for n in score.recurse().notes]
    assert offsets == [0, Fraction(1, 3), Fraction(2, 3)]


def test_export_writes_each_format_and_the_midi_reads_back(tmp_path, two_part_notes):
    from musicalpy import midi

    paths = render.export(two_part_notes, tmp_path / "deep" / "take.1", formats=("mid", "wav", "svg", "png"))
    assert list(paths) == ["mid", "wav", "svg", "png"]
    assert paths["mid"] == tmp_path / "deep" / "take.1.mid"
    back = midi.read_midi(paths["mid"])
    assert sorted(back["pitch"].tolist()) == sorted(two_part_notes["pitch"].tolist())
    assert paths["wav"].read_bytes()[:4] == b"RIFF" and paths["wav"].stat().st_size > 10_000
    assert "<svg" in paths["svg"].read_text(encoding="utf-8")
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_export_names_an_unknown_format(tmp_path, two_part_notes):
    with pytest.raises(ValueError, match="mp3"):
        render.export(two_part_notes, tmp_path / "x", formats=("mid", "mp3"))
    assert not (tmp_path / "x.mid").exists()


# ------------------------------------------------------------------------- package


def test_package_keeps_its_public_names():
    import musicalpy
    from musicalpy.render import audio, figures, score, writing

    assert render.__all__ == [
        "TICKS_PER_QUARTER", "MAX_VOICES", "find_soundfont", "audio_backend", "synthesize", "play",
        "write_wav", "prepare_score", "show_score", "write_score_svg", "plot_chorale_grid", "plot_time_to_quality", "plot_pianoroll",
        "save_fig",
        "EXPORT_FORMATS", "export", "AUDIO_FORMATS", "encode_audio", "write_audio", "write_musicxml",
        "choose_clef", "Notation",
    ]
    # Each public name is the one its module defines, and the top-level lazy names agree.
    assert render.play is audio.play and render.prepare_score is score.prepare_score
    assert render.plot_pianoroll is figures.plot_pianoroll and render.export is writing.export
    assert render.plot_chorale_grid is figures.plot_chorale_grid and render.Notation is score.Notation
    assert musicalpy.play is audio.play and musicalpy.save_fig is figures.save_fig
    assert render.EXPORT_FORMATS == ("mid", "wav", "ogg", "svg", "musicxml", "png")


def test_patched_soundfont_lookup_reaches_synthesize(monkeypatch, tmp_path):
    """Patching find_soundfont in render.audio changes the soundfont synthesize uses."""
    missing = tmp_path / "patched.sf2"
    monkeypatch.setattr(render.audio, "find_soundfont", lambda: (missing, "system"))
    with pytest.raises(FileNotFoundError, match="patched.sf2"):
        render.synthesize(_arpeggio(1.0), seconds=1)


def test_pianoroll_labels_use_music21_spelling():
    table = pd.DataFrame({"pitch": [58, 63, 66], "start": [0.0, 1.0, 2.0], "end": [1.0, 2.0, 3.0]})
    ax = render.plot_pianoroll(table, by=None)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[:2] == ["B-3", "B3"]  # every pitch of a narrow range, flats as music21 writes them
    assert "E-4" in labels and "F#4" in labels
    plt.close("all")


def test_integer_arguments_name_themselves(two_part_notes):
    with pytest.raises(ValueError, match="sample_rate must be an integer"):
        render.synthesize(_arpeggio(1.0), sample_rate=22050.0)
    with pytest.raises(ValueError, match="sample_rate"):
        render.synthesize(_arpeggio(1.0), sample_rate=200_000)
    with pytest.raises(ValueError, match="page must be an integer"):
        render.show_score(two_part_notes, page="1")
    with pytest.raises(ValueError, match="measures must be an integer >= 1"):
        render.show_score(two_part_notes, measures=0)


def test_export_calls_the_writer_patched_in_its_module(monkeypatch, tmp_path, two_part_notes):
    written = []

    def fake_write_wav(notes, path, *, seconds=None):
        written.append((len(notes), path, seconds))
        return path

    monkeypatch.setattr(render.audio, "write_wav", fake_write_wav)
    paths = render.export(two_part_notes, tmp_path / "take", formats=("wav",), seconds=2.0)
    assert written == [(len(two_part_notes), tmp_path / "take.wav", 2.0)]
    assert paths == {"wav": tmp_path / "take.wav"} and not paths["wav"].exists()


def test_plot_chorale_grid_draws_each_voice_and_the_bar_lines():
    import matplotlib

    matplotlib.use("Agg")
    from musicalpy.representations.chorale_grid import HOLD, REST, ChoraleGrid

    voices = np.array([[72, 67, 64, 48], [HOLD, HOLD, REST, HOLD], [74, 67, 65, 50], [HOLD, HOLD, HOLD, REST]] * 4)
    grid = ChoraleGrid(voices=voices, position=np.arange(16) % 8, fermata=np.arange(16) >= 14)
    ax = render.plot_chorale_grid(grid, steps=None)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert len(ax.lines) == 2  # bar lines at steps 0 and 8
    # each note start is named in its cell: the soprano starts C5 at steps 0, 4, 8 and 12
    assert sum(t.get_text() == "C5" for t in ax.texts) == 4
    assert ax.get_legend() is not None  # the fermata marker


def test_a_long_waveform_encodes_to_ogg_in_blocks_and_decodes_to_its_length():
    import io

    import soundfile

    from musicalpy.render import audio

    rate = 22050
    t = np.arange(rate * 75) / rate  # 75 s: libsndfile's Vorbis encoder is written in blocks
    wave = (0.3 * np.sin(2 * np.pi * 220 * t) * np.exp(-(t % 1.0))).astype(np.float32)
    data = audio.encode_audio(wave, rate, format="ogg")
    decoded, decoded_rate = soundfile.read(io.BytesIO(data))
    assert data[:4] == b"OggS" and decoded_rate == rate
    assert len(decoded) == len(wave)
    assert len(data) < len(wave) * 2 / 5  # compressed well below 16-bit PCM
