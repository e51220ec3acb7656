"""Harmonizing a musician's melody: every input format, cadences, the files written, ranking."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from musicalpy.melody import Melody, MelodyError, infer_fermatas, load_melody
from musicalpy.render.score import Notation

# "Ich steh an deiner Krippen hier"-like: 3/4, a one-beat pickup, F major (one flat, a B-flat
# in the tune), a fermata at the end of the first phrase and on the last note.
PITCHES = [60, 65, 67, 69, 70, 69, 67, 65, 67, 69, 67, 65]
LENGTHS = [1, 1, 1, 1, 2, 1, 1, 1, 1, 2, 1, 3]
FERMATA_NOTES = (4, 11)
KERN = """**kern
*M3/4
*k[b-]
*F:
4c
=1
4f
4g
4a
=2
2b-;
4a
=3
4g
4f
4g
=4
2a
4g
=5
2.f;
==
*-
"""
ABC = """X:1
T:Krippe
M:3/4
L:1/4
K:F
C|F G A|!fermata!B2 A|G F G|A2 G|!fermata!F3|]
"""


def _score_with_pickup():
    """The melody as a music21 score whose first bar is a one-beat pickup."""
    from music21 import expressions, key, meter, note, stream

    part = stream.Part()
    part.partName = "Melody"
    measures, offset, number = [], 0.0, 0
    bar_ends = [1.0, 4.0, 7.0, 10.0, 13.0, 16.0]
    measure = stream.Measure(number=0)
    measure.insert(0, meter.TimeSignature("3/4"))
    measure.insert(0, key.Key("F"))
    for index, (pitch, length) in enumerate(zip(PITCHES, LENGTHS, strict=True)):
        element = note.Note("B-4" if pitch == 70 else pitch, quarterLength=length)
        if index in FERMATA_NOTES:
            element.expressions.append(expressions.Fermata())
        measure.append(element)
        offset += length
        if offset in bar_ends:
            measures.append(measure)
            number += 1
            measure = stream.Measure(number=number)
    measures[0].paddingLeft = 2.0
    start = 0.0
    for m in measures:
        part.insert(start, m)
        start += m.duration.quarterLength
    return stream.Score([part])


def _check_krippe(melody: Melody, fermatas: bool = True):
    assert melody.notes["pitch"].tolist() == PITCHES
    assert np.diff(melody.notes["start_beat"]).tolist() == LENGTHS[:-1]
    assert melody.time_signature == "3/4"
    assert melody.pickup_beats == 1.0
    assert melody.key == "F major"
    assert melody.spelling[10] == "B-"
    starts = melody.notes["start_beat"].to_numpy()
    assert melody.fermatas == (tuple(float(starts[i]) for i in FERMATA_NOTES) if fermatas else ())


@pytest.mark.parametrize("fmt", ["musicxml", "mxl", "krn", "abc"])
def test_every_score_format_gives_meter_key_pickup_and_fermatas(tmp_path, fmt):
    path = tmp_path / f"krippe.{fmt}"
    if fmt == "krn":
        path.write_text(KERN)
    elif fmt == "abc":
        path.write_text(ABC)
    else:
        _score_with_pickup().write(fmt, fp=str(path))
    melody = load_melody(path)
    assert melody.name == "krippe"
    _check_krippe(melody, fermatas=fmt != "abc")  # music21's ABC reader drops !fermata!: cadences are inferred


def test_tiny_notation_corpus_paths_and_midi(tmp_path):
    tiny = load_melody("tinyNotation: 4/4 e4 e f g g f e d c c d e e4. d8 d2")
    assert tiny.notes["pitch"].tolist() == [64, 64, 65, 67, 67, 65, 64, 62, 60, 60, 62, 64, 64, 62, 62]
    assert (tiny.time_signature, tiny.pickup_beats, tiny.fermatas) == ("4/4", 0.0, ())
    # No key signature typed: the best-ranked key that needs no accidental (E minor would want F#).
    assert tiny.key == "C major"
    assert load_melody("tinyNotation: 3/4 a4 b c' e' g#2 a2.").key == "A minor"
    chorale = load_melody("bach/bwv66.6")  # a music21 corpus path: its Soprano part
    assert (chorale.key, chorale.time_signature, chorale.pickup_beats) == ("F# minor", "4/4", 1.0)
    assert chorale.notes["pitch"].tolist()[:4] == [73, 71, 69, 71] and len(chorale.fermatas) == 6
    assert chorale.spelling[5] == "E#"
    # A MIDI file written in the melody's notation reads back its key and meter.
    from musicalpy.midi import write_midi

    table = pd.DataFrame({"pitch": PITCHES, "start_beat": np.cumsum([0] + LENGTHS[:-1]).astype(float)})
    table = table.assign(end_beat=table["start_beat"] + LENGTHS, start=table["start_beat"] / 2,
                         end=(table["start_beat"] + LENGTHS) / 2, part="Melody")
    write_midi(table, tmp_path / "krippe.mid", notation=Notation("F major", "3/4", 1.0))
    midi = load_melody(tmp_path / "krippe.mid")
    assert (midi.key, midi.time_signature, midi.pickup_beats) == ("F major", "3/4", 1.0)
    assert midi.notes["pitch"].tolist() == PITCHES


def test_infer_fermatas_rules():
    def melody(starts, ends, signature="4/4"):
        return Melody(pd.DataFrame({"pitch": 60 + np.arange(len(starts)), "start_beat": starts, "end_beat": ends}),
                      signature)

    # Quarters in 4/4: every two bars the latest of the equally long notes of the second half.
    starts = np.arange(24.0)
    inferred = infer_fermatas(melody(starts, starts + 1))
    assert inferred.fermatas == (7.0, 15.0, 23.0) and inferred.fermatas_inferred
    # A longer note in the second half of a phrase wins.
    starts = np.array([0, 1, 2, 3, 4, 6, 7, *range(8, 17)], dtype=float)
    ends = np.array([1, 2, 3, 4, 6, 7, 8, *range(9, 18)], dtype=float)
    assert infer_fermatas(melody(starts, ends)).fermatas == (4.0, 15.0, 16.0)
    # A breath (a rest of an eighth or more) ends a phrase, and its span needs no other cadence.
    ends[6] = 7.5
    assert infer_fermatas(melody(starts, ends)).fermatas == (7.0, 15.0, 16.0)
    # 3/4: phrases of four bars (twelve beats).
    starts = np.arange(24.0)
    assert infer_fermatas(melody(starts, starts + 1, "3/4")).fermatas == (11.0, 23.0)
    # Given fermatas are kept as they are.
    given = Melody(pd.DataFrame({"pitch": [60, 62], "start_beat": [0.0, 1.0], "end_beat": [1.0, 2.0]}),
                   fermatas=(0.0,))
    assert infer_fermatas(given) is given


def test_bad_inputs_name_the_source_and_the_cause(tmp_path):
    broken = tmp_path / "broken.musicxml"
    broken.write_text("<score-partwise><part id='P1'><measure>")
    with pytest.raises(MelodyError, match=r"broken\.musicxml: unreadable score file"):
        load_melody(broken)
    from music21 import chord, note, stream

    piano = stream.Part([chord.Chord(["C4", "E4", "G4"], quarterLength=2), chord.Chord(["D4", "F4"], quarterLength=2)])
    left = stream.Part([chord.Chord(["C3", "G3"], quarterLength=4)])
    stream.Score([piano, left]).write("musicxml", fp=str(tmp_path / "piano.musicxml"))
    with pytest.raises(MelodyError, match=r"piano\.musicxml: 2 parts with notes .* none is clearly the melody"):
        load_melody(tmp_path / "piano.musicxml")
    # A song with a piano part: the one-note-at-a-time part is the melody.
    tune = stream.Part([note.Note("E5", quarterLength=2), note.Note("D5", quarterLength=2)])
    stream.Score([tune, stream.Part([chord.Chord(["C4", "E4", "G4"], quarterLength=4)])]).write(
        "musicxml", fp=str(tmp_path / "song.musicxml"))
    assert load_melody(tmp_path / "song.musicxml").notes["pitch"].tolist() == [76, 74]
    with pytest.raises(MelodyError, match="unreadable tinyNotation|has no notes"):
        load_melody("tinyNotation: 4/4 r1")


def test_the_notation_is_written_into_musicxml_and_midi(tmp_path):
    import pretty_midi
    from music21 import converter, key, meter

    from musicalpy.render import export

    beats = np.cumsum([0] + LENGTHS[:-1]).astype(float)
    rows = []
    for part, move in (("Soprano", 0), ("Alto", -5), ("Tenor", -12), ("Bass", -24)):
        rows.append(pd.DataFrame({"part": part, "pitch": np.array(PITCHES) + move, "start_beat": beats,
                                  "end_beat": beats + LENGTHS}))
    notes = pd.concat(rows, ignore_index=True)
    notes = notes.assign(start=notes["start_beat"] * 0.6, end=notes["end_beat"] * 0.6)
    written = export(notes, tmp_path / "h", ("mid", "musicxml", "svg"),
                     notation=Notation("F major", "3/4", 1.0, spelling=None))
    score = converter.parse(written["musicxml"])
    assert [p.partName for p in score.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
    soprano = score.parts[0]
    assert [k.sharps for k in soprano.recurse().getElementsByClass(key.KeySignature)] == [-1]
    assert [t.ratioString for t in soprano.recurse().getElementsByClass(meter.TimeSignature)] == ["3/4"]
    first = soprano.getElementsByClass("Measure").first()
    assert (first.number, first.duration.quarterLength) == (0, 1.0)
    pitches = [p for p in soprano.flatten().notes]
    assert [n.pitch.midi for n in pitches] == PITCHES
    assert [float(n.getOffsetInHierarchy(score)) for n in pitches] == beats.tolist()
    assert "B-" in [n.pitch.name for n in pitches] and "A#" not in [n.pitch.name for n in pitches]
    pm = pretty_midi.PrettyMIDI(str(written["mid"]))
    assert pm.key_signature_changes[0].key_number == 5  # F major
    assert [(t.numerator, t.denominator) for t in pm.time_signature_changes] == [(1, 4), (3, 4)]
    assert written["svg"].read_text().count("<svg") >= 1


def test_harmonize_writes_ranked_harmonizations_in_the_melodys_notation(tmp_path):
    from music21 import converter, key

    import musicalpy
    from musicalpy import pretrained

    if "satb_counts" not in pretrained.names():
        pytest.skip("the shipped satb_counts model is not here")
    path = tmp_path / "krippe.musicxml"
    _score_with_pickup().write("musicxml", fp=str(path))
    results = musicalpy.harmonize(path, model="satb_counts", n=3, out=tmp_path / "out",
                                  formats=("mid", "musicxml"))
    assert [h.rank for h in results] == [1, 2, 3]
    assert results[0].draw == "most likely" or results[0].log2_probability >= results[1].log2_probability
    log2 = [h.log2_probability for h in results]
    assert log2 == sorted(log2, reverse=True) and all(np.isfinite(log2))
    assert len({tuple(h.notes.loc[h.notes["part"] == "Bass", "pitch"]) for h in results}) > 1 or len(
        {tuple(map(tuple, h.notes[["part", "pitch", "start_beat"]].to_numpy())) for h in results}) == 3
    # The printed price is the family's own, recomputed.
    model = pretrained.load("satb_counts")
    pieces = pd.DataFrame({"piece": ["krippe"], "time_signature": ["3/4"], "pickup_beats": [1.0]})
    move = 0 if results[0].notes["pitch"].max() <= 81 else -12
    again = model.family.score_given_soprano(model, results[0].notes.assign(pitch=results[0].notes["pitch"] + move),
                                             pieces)
    assert results[0].bits_per_note == pytest.approx(again["bits_per_note"])
    for rank, h in enumerate(results, start=1):
        assert h.files["musicxml"].name == f"krippe_satb_counts_rank{rank}.musicxml"
        score = converter.parse(h.files["musicxml"])
        assert [p.partName for p in score.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
        soprano = list(score.parts[0].flatten().notes)
        assert [n.pitch.midi for n in soprano] == PITCHES
        assert [n.pitch.name for n in soprano][4] == "B-"
        assert [k.sharps for k in score.parts[0].recurse().getElementsByClass(key.KeySignature)] == [-1]
        assert score.parts[0].getElementsByClass("Measure").first().duration.quarterLength == 1.0
    with pytest.raises(FileExistsError, match="rank1.mid exists"):
        musicalpy.harmonize(path, model="satb_counts", n=3, out=tmp_path / "out", formats=("mid",))
    wide = "tinyNotation: 4/4 c4 g c' g' c''2 e''2"
    with pytest.raises(MelodyError, match="spans 28 semitones .* wider than the soprano range"):
        musicalpy.harmonize(wide, model="satb_counts")


def test_importing_musicalpy_and_its_harmonize_needs_no_tensorflow():
    code = ("import sys, musicalpy; f = musicalpy.harmonize; m = musicalpy.load_melody('tinyNotation: 4/4 c4 d e f'); "
            "print('tensorflow' in sys.modules, callable(f), m.key)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True", "C", "major"]
