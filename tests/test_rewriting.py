"""Rewriting part of a chorale: what is kept comes back note for note, what is asked for is written."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from musicalpy import zoo
from musicalpy.names import VOICES
from musicalpy.rewriting import load_chorale, parse_bars, parse_voices, rewrite, rewrite_region


@pytest.fixture(scope="module")
def rewriter(tmp_path_factory):
    """A smoke-sized orderless model, trained (in a run folder of its own) and saved once for the module."""
    corpus = zoo.training_corpus("bach", limit=12)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MUSICALPY_RUNS_DIR", str(tmp_path_factory.mktemp("runs")))
        model = zoo.train("satb_orderless", corpus, smoke=True, progress=False)
    folder = tmp_path_factory.mktemp("orderless") / "model"
    model.save(folder)
    return zoo.load(folder), folder


def _bar_numbers(chorale) -> np.ndarray:
    """Each note's bar as the score numbers it, from the score's own bar lines (a pickup is bar 0)."""
    starts = np.unique(chorale.notes["bar_start"].to_numpy(float))
    first = 0 if chorale.pickup_beats > 0 else 1
    return np.searchsorted(starts, chorale.notes["bar_start"].to_numpy(float)) + first


def _keys(notes):
    rows = notes[["part", "pitch", "start_beat", "end_beat"]].astype({"part": str, "pitch": int}).round(6)
    return set(map(tuple, rows.itertuples(index=False)))


def test_voices_and_bars_are_read_as_a_musician_writes_them():
    assert parse_voices("A,T") == ("Alto", "Tenor")
    assert parse_voices("bass soprano") == ("Soprano", "Bass")
    assert parse_voices(["T", "Alto"]) == ("Alto", "Tenor")
    with pytest.raises(ValueError, match="'X' is not a voice"):
        parse_voices("A,X")
    assert parse_bars("3-4", 10) == (3, 4)
    assert parse_bars("5-", 10) == (5, 10)
    assert parse_bars(7, 10) == (7, 7)
    assert parse_bars(None, 10, 0) == (0, 10)
    with pytest.raises(ValueError, match="outside the chorale's bars 0-10"):
        parse_bars("9-12", 10, 0)
    with pytest.raises(ValueError, match="not a bar range"):
        parse_bars("three", 10)


def test_alto_and_tenor_of_two_bars_rewritten_everything_else_kept(rewriter, tmp_path):
    model, _ = rewriter
    chorale = load_chorale("bach/bwv66.6")
    assert chorale.pickup_beats == 1.0 and chorale.time_signature == "4/4"
    result = rewrite(chorale, voices="A,T", bars="3-4", model=model, seed=0, out=tmp_path)
    assert result.voices == ("Alto", "Tenor") and result.bars == (3, 4)
    bar = _bar_numbers(chorale)
    notes = chorale.notes
    kept = notes[~(notes["part"].isin(["Alto", "Tenor"]) & (bar >= 3) & (bar <= 4))]
    # Every note of the score outside the rewritten part is in the result, exactly.
    assert _keys(kept) <= _keys(result.notes)
    # The soprano and bass are Bach's, note for note; the alto and tenor of bars 3-4 are new.
    for voice in ("Soprano", "Bass"):
        assert _keys(result.notes[result.notes["part"] == voice]) == _keys(notes[notes["part"] == voice])
    assert result.n_rewritten > 0 and 0 < result.share_changed <= 1
    assert set(result.notes["part"]) == set(VOICES)
    assert sorted(p.suffix for p in result.files.values()) == [".mid", ".musicxml", ".ogg", ".svg"]
    from music21 import converter

    score = converter.parse(result.files["musicxml"])
    assert len(score.parts) == 4
    assert score.flatten().keySignature.sharps == 3  # bwv66.6 is in F-sharp minor, three sharps


def test_finishing_a_chorale_from_a_bar_keeps_everything_before_it(rewriter):
    model, _ = rewriter
    chorale = load_chorale("bach/bwv66.6")
    result = rewrite(chorale, voices="S,A,T,B", bars="5-", model=model, seed=1)
    bar = _bar_numbers(chorale)
    before = chorale.notes[bar < 5]
    assert _keys(before) <= _keys(result.notes)
    assert result.n_rewritten > 0
    assert result.notes["end_beat"].max() <= chorale.notes["end_beat"].max() + 1e-9  # the chorale keeps its length
    after = result.notes[result.notes["start_beat"] >= chorale.notes.loc[bar >= 5, "start_beat"].min()]
    assert set(after["part"]) == set(VOICES)  # all four voices go on writing


def test_the_region_follows_notes_not_bar_lines():
    """A note that starts before the bars and sounds into them is kept whole."""
    from musicalpy.representations.satb_steps import HOLD_ID, SatbSteps

    values = np.full((32, 4), 30)
    values[8:20, 1] = HOLD_ID  # the alto's note of step 7 sounds to step 19, over the bar line at 16
    steps = SatbSteps(values, np.arange(32) % 16, np.zeros(32, bool))
    region = rewrite_region(steps, ("Alto",), (2, 2))  # bar 2 = steps 16-31 (no pickup: steps 0-15 are bar 1)
    assert not region[:20, 2].any() and region[20:, 2].all()
    assert not region[:, [0, 1, 3, 4]].any()


def test_a_causal_model_is_refused(rewriter, tmp_path):
    counts = zoo.train("satb_counts", zoo.training_corpus("bach", limit=12), smoke=True, progress=False)
    with pytest.raises(ValueError, match="cannot rewrite part of a chorale.*satb_orderless"):
        rewrite("bach/bwv66.6", voices="A", bars="2", model=counts)
    with pytest.raises(ValueError, match="bars: '40-41' lies outside the chorale's bars 0-"):
        rewrite("bach/bwv66.6", voices="A", bars="40-41", model=rewriter[0])
    with pytest.raises(ValueError, match="no Alto, Tenor, Bass part"):
        load_chorale(load_chorale("bach/bwv66.6").notes.query("part == 'Soprano'"))


def test_the_command_rewrites_and_says_what_it_did(rewriter, tmp_path):
    _, folder = rewriter
    run = subprocess.run([sys.executable, "-m", "musicalpy.cli", "rewrite", "bach/bwv66.6", "--voices", "B", "--bars",
                          "1-2", "--model", str(folder), "--out", str(tmp_path)], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert "Bass of bars 1-2 rewritten by" in run.stdout
    assert len(list(tmp_path.glob("bach_bwv66.6_B_bars1-2_*.musicxml"))) == 1
    again = subprocess.run([sys.executable, "-m", "musicalpy.cli", "rewrite", "bach/bwv66.6", "--voices", "Q",
                            "--model", str(folder), "--out", str(tmp_path)], capture_output=True, text=True,
                           timeout=300)
    assert again.returncode != 0 and "'Q' is not a voice" in again.stderr
