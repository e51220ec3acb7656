"""Tests of musicalpy.names: one spelling of pitches, pitch classes and keys (music21's),
parsers that read the other common spellings, and the spelling of notes in a key."""

from __future__ import annotations

import pytest

from musicalpy import names as N

# Every tonic spelling music21's Key accepts in practice (up to seven accidentals).
SPELLED_TONICS = ["C", "C#", "C-", "D-", "D", "D#", "E-", "E", "F", "F#", "G-", "G", "G#", "A-", "A", "A#", "B-", "B"]


def test_pitch_class_names_are_music21s():
    from music21 import pitch

    assert N.PITCH_CLASS_NAMES == tuple(pitch.Pitch(pc).name for pc in range(12))
    assert [N.pitch_class_name(pc) for pc in (0, 3, 8, 10, 70)] == ["C", "E-", "G#", "B-", "B-"]
    assert all(N.PITCH_NAMES[p].startswith(N.pitch_class_name(p)) for p in range(128))
    with pytest.raises(ValueError, match="pitch_class"):
        N.pitch_class_name(1.5)


@pytest.mark.parametrize(
    ("name", "pitch_class"),
    [("C", 0), ("F#", 6), ("B-", 10), ("Bb", 10), ("b♭", 10), ("E♯", 5), ("B#", 0), ("C-", 11),
     ("E--", 2), ("g", 7), (" A ", 9)],
)
def test_pitch_class_of_reads_every_common_spelling(name, pitch_class):
    assert N.pitch_class_of(name) == pitch_class


@pytest.mark.parametrize("bad", ["H", "", "C4", "Cx", "#", None])
def test_pitch_class_of_rejects_what_is_not_a_pitch_class(bad):
    with pytest.raises(ValueError, match="pitch-class name"):
        N.pitch_class_of(bad)


def test_key_names_follow_music21s_key_finders():
    from music21.analysis.discrete import KeyWeightKeyAnalysis

    assert [N.key_name(pc, "major") for pc in (0, 1, 3, 8, 10)] == [
        "C major", "C# major", "E- major", "A- major", "B- major"]
    assert [N.key_name(pc, "minor") for pc in (3, 8, 10)] == ["E- minor", "G# minor", "B- minor"]
    for mode, valid in (("major", KeyWeightKeyAnalysis.keysValidMajor),
                        ("minor", KeyWeightKeyAnalysis.keysValidMinor)):
        for pc in range(12):
            assert N.key_tonic(pc, mode) in valid
    with pytest.raises(ValueError, match="mode"):
        N.key_name(0, "dorian")
    with pytest.raises(ValueError, match="tonic_pc"):
        N.key_tonic("C", "major")


def test_parse_key_name_inverts_key_name_and_reads_other_spellings():
    for pc in range(12):
        for mode in N.MODES:
            assert N.parse_key_name(N.key_name(pc, mode)) == (pc, mode)
    assert N.parse_key_name("Bb Major") == N.parse_key_name("B♭ major") == (10, "major")
    assert N.parse_key_name("f# MINOR") == (6, "minor")
    for bad in ["H dur", "F#", "F# minor major", "X minor", 5]:
        with pytest.raises(ValueError, match="F# minor"):
            N.parse_key_name(bad)


def test_key_signature_sharps_equal_music21s():
    from music21 import key

    for mode in N.MODES:
        for tonic in SPELLED_TONICS:
            assert N.key_signature_sharps(f"{tonic} {mode}") == key.Key(tonic, mode).sharps, (tonic, mode)
    assert N.key_signature_sharps("Bb major") == -2 and N.key_signature_sharps("D# minor") == 6


def _music21_spelling(tonic: str, mode: str) -> tuple[str, ...]:
    """The spelling the score engraver used before names.key_spelling, with music21."""
    from music21 import key

    k = key.Key(tonic, mode)
    sharp = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    flat = ["C", "D-", "D", "E-", "E", "F", "G-", "G", "A-", "A", "B-", "B"]
    spelled = list(sharp if k.sharps >= 0 else flat)
    scale = list(k.getScale(mode).getPitches())[:7]
    if mode == "minor":
        scale.append(scale[6].transpose("A1"))
    for p in scale:
        spelled[p.pitchClass] = p.name
    return tuple(spelled)


def test_key_spelling_known_answers_and_music21():
    f_sharp_minor = N.key_spelling("F# minor")
    assert f_sharp_minor[5] == "E#" and f_sharp_minor[6] == "F#" and f_sharp_minor[3] == "D#"
    e_flat_major = N.key_spelling("E- major")
    assert [e_flat_major[pc] for pc in (3, 7, 10, 8, 1)] == ["E-", "G", "B-", "A-", "D-"]
    assert N.key_spelling("C major")[10] == "A#"  # a chromatic tone in a key without flats
    assert N.key_spelling("C- major")[11] == "C-"  # seven flats: B is C-flat
    for mode in N.MODES:
        for tonic in SPELLED_TONICS:
            assert N.key_spelling(f"{tonic} {mode}") == _music21_spelling(tonic, mode), (tonic, mode)


def test_pitch_to_name_checks_its_argument():
    assert N.pitch_to_name(70) == "B-4"
    for bad in (60.0, True, -1, 128):
        with pytest.raises(ValueError, match="pitch must be an integer"):
            N.pitch_to_name(bad)
