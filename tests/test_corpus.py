"""load_corpus: the embedded chorales, MIDI folders with broken files, MAESTRO, the cache."""

from __future__ import annotations

import shutil
import struct
import warnings

import numpy as np
import pandas as pd
import pytest

import musicalpy
from musicalpy.corpus import CorpusError, check_splits, load_corpus, split_pieces
from musicalpy.names import VOICES

SATB = list(VOICES)


@pytest.fixture(scope="module")
def bach():
    # Parsed once per machine (about a minute on 2 cores), then read from data/cache/.
    return load_corpus("bach", progress=False)


def test_bach_has_371_chorales_351_with_exactly_four_voices(bach):
    assert len(bach) == 371
    assert bach.pieces["piece"].is_unique
    assert int((bach.pieces["n_parts"] == 4).sum()) == 351
    satb_only = bach.pieces["parts"] == "|".join(SATB)
    assert int(satb_only.sum()) == 351
    # Extra instrumental parts keep their names beside the four voices.
    assert bach.pieces["parts"].str.contains("Trumpet 1").sum() >= 1
    row = bach.pieces.set_index("piece").loc["R001_bwv269"]
    assert row["title"] == "Aus meines Herzens Grunde"
    assert row["bwv"] == "269" and row["riemenschneider"] == 1
    assert row["time_signature"] == "3/4" and row["key_signature"] == "G major"


def test_bach_note_table_columns_and_values(bach):
    notes = bach.notes
    assert list(notes.columns) == musicalpy.midi.NOTE_COLUMNS + ["start_beat", "end_beat", "fermata", "bar_start"]
    assert notes["pitch"].between(0, 127).all()
    assert (notes["end"] > notes["start"]).all()
    assert 85_000 < len(notes) < 95_000
    counts = notes.groupby("piece").size()
    assert (counts == bach.pieces.set_index("piece")["n_notes"]).all()


def test_splits_are_disjoint_deterministic_and_grouped(bach):
    sizes = check_splits(bach)
    assert sum(sizes.values()) == 371
    assert 0.75 < sizes["train"] / 371 < 0.85
    again = split_pieces(bach.pieces, seed=0)
    assert (again == bach.pieces["split"]).all()
    other = split_pieces(bach.pieces, seed=1)
    assert (other != bach.pieces["split"]).any()
    # Chorales that share a file or identical music never straddle splits.
    assert (bach.pieces.groupby("group")["split"].nunique() == 1).all()
    test = bach.split("test")
    assert set(test.pieces["split"]) == {"test"}
    assert set(test.notes["piece"]) == set(test.pieces["piece"])


def test_check_splits_catches_a_leak(bach):
    leaked = musicalpy.corpus.Corpus(bach.name, bach.notes, bach.pieces.copy(), bach.report)
    group = leaked.pieces["group"].iloc[0]
    twin = leaked.pieces.index[leaked.pieces["group"] == group]
    leaked.pieces.loc[twin[0], "split"] = "train"
    other = leaked.pieces.index[leaked.pieces["split"] == "test"][0]
    leaked.pieces.loc[other, "group"] = group
    with pytest.raises(AssertionError, match="groups in two splits"):
        check_splits(leaked)


def test_select_parts_and_limit(bach):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the embedded corpus's one known exclusion is reported, not warned
        satb = bach.select_parts(SATB)
    assert f"{len(bach.report) + 1} skipped" in repr(satb)
    # A corpus of the user's own is warned about what a selection leaves out.
    own = musicalpy.corpus.Corpus("my_chorales", bach.notes, bach.pieces, bach.report)
    with pytest.warns(UserWarning, match=r"left out 1 piece.*R150_bwv27\.6 \(has Alto, Bass, Soprano 1, Soprano 2"):
        own.select_parts(SATB)
    assert set(satb.notes["part"]) == set(SATB)
    assert len(satb) == 370  # bwv27.6 has "Soprano 1" and "Soprano 2" and no "Soprano"
    assert (satb.notes.groupby("piece")["part"].nunique() == 4).all()
    assert satb.report["reason"].str.contains("R150_bwv27.6 has no Soprano part").sum() == 1
    assert len(satb.report) == len(bach.report) + 1 and "R150_bwv27.6" not in set(satb.pieces["piece"])
    loose = bach.select_parts(SATB, require_all=False)  # any of the parts: the old selection
    assert len(loose) == 371 and set(loose.notes.loc[loose.notes["piece"] == "R150_bwv27.6", "part"]) == {"Alto", "Tenor", "Bass"}
    assert len(bach.select_parts(["Soprano 1"])) == 1  # one part: the pieces that have it
    small = load_corpus("bach", limit=5, progress=False)
    assert small.piece_ids == bach.piece_ids[:5]
    pd.testing.assert_frame_equal(small.notes, bach.notes[bach.notes["piece"].isin(small.piece_ids)].reset_index(drop=True))


def test_second_load_is_identical(bach):
    again = load_corpus("bach", progress=False)
    pd.testing.assert_frame_equal(again.notes, bach.notes)
    pd.testing.assert_frame_equal(again.pieces, bach.pieces)


# ----------------------------------------------------------------- folders and errors


def _write_broken_files(folder):
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480)

    def track(body: bytes) -> bytes:
        return b"MTrk" + struct.pack(">I", len(body)) + body

    (folder / "not_midi.mid").write_text("hello, I am a text file")
    (folder / "no_notes.mid").write_bytes(header + track(b"\x00\xff\x2f\x00"))
    (folder / "zero_length.midi").write_bytes(header + track(b"\x00\x90\x3c\x40\x00\x80\x3c\x40\x00\xff\x2f\x00"))
    (folder / "absurd.mid").write_bytes(header + track(b"\xff\xff\xff\x7f\x90\x3c\x40" * 200))
    good = (folder / "good_a.mid").read_bytes()
    (folder / "truncated.mid").write_bytes(good[: len(good) // 3])


@pytest.fixture
def midi_folder(tmp_path, music21_midi_dir, monkeypatch):
    monkeypatch.setenv("MUSICALPY_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "midi"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(music21_midi_dir / "test02.mid", folder / "good_a.mid")
    shutil.copy(music21_midi_dir / "test11.mid", folder / "sub" / "good_b.MID")
    shutil.copy(music21_midi_dir / "test17.mid", folder / "sub" / "good_c.midi")
    (folder / "readme.txt").write_text("not a MIDI file, ignored by extension")
    _write_broken_files(folder)
    return folder


def test_folder_with_broken_files_loads_good_and_reports_bad(midi_folder):
    with pytest.warns(UserWarning, match="skipped 5 of 8") as record:
        corpus = load_corpus(midi_folder, progress=False, n_jobs=1)
    assert len([w for w in record if "skipped" in str(w.message)]) == 1
    assert sorted(corpus.pieces["piece"]) == ["good_a", "sub/good_b", "sub/good_c"]
    assert corpus.notes.groupby("piece").size().to_dict() == {"good_a": 163, "sub/good_b": 48, "sub/good_c": 53}
    reasons = {r["source"].rsplit("/", 1)[-1]: r["reason"] for _, r in corpus.report.iterrows()}
    assert "not a readable MIDI file" in reasons["not_midi.mid"]
    assert reasons["no_notes.mid"].endswith("no notes")
    assert "only zero-length notes" in reasons["zero_length.midi"]
    assert "absurd tick values" in reasons["absurd.mid"]
    assert "truncated.mid" in reasons and reasons["truncated.mid"]
    assert set(corpus.pieces["split"]) <= {"train", "validation", "test"}


def test_folder_parsed_in_parallel_matches_serial(midi_folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        serial = load_corpus(midi_folder, progress=False, n_jobs=1, cache=False)
        for i in range(8):  # enough files to use the process pool
            shutil.copy(midi_folder / "good_a.mid", midi_folder / f"copy{i}.mid")
        parallel = load_corpus(midi_folder, progress=False, n_jobs=2, cache=False)
    assert len(parallel) == len(serial) + 8
    pd.testing.assert_frame_equal(
        parallel.notes[parallel.notes["piece"] == "good_a"].reset_index(drop=True),
        serial.notes[serial.notes["piece"] == "good_a"].reset_index(drop=True),
    )


# A new user's script: load_corpus at top level, no main guard. Spawned workers re-run
# the script, so this died with BrokenProcessPool before the loader recognised it.
_SCRIPT_TOP = """\
import sys
import threading
import musicalpy
from musicalpy.corpus import _worker_start_method

with open(sys.argv[2], "a") as log:  # one line each time this top level runs
    log.write("ran\\n")
"""
_UNGUARDED = """\
if sys.argv[3] == "thread":  # a live thread makes fork unsafe: parse in-process
    threading.Thread(target=threading.Event().wait, args=(60,), daemon=True).start()
print("start method:", _worker_start_method())
corpus = musicalpy.load_corpus(sys.argv[1])
print(f"pieces: {len(corpus)}, notes: {len(corpus.notes)}")
"""
_GUARDED = """\
if __name__ == "__main__":
    print("start method:", _worker_start_method())
    corpus = musicalpy.load_corpus(sys.argv[1])
    print(f"pieces: {len(corpus)}, notes: {len(corpus.notes)}")
"""


@pytest.mark.parametrize(
    "body, mode, method",
    [(_UNGUARDED, "plain", "fork"), (_UNGUARDED, "thread", "None"), (_GUARDED, "plain", "spawn")],
    ids=["unguarded-fork", "unguarded-in-process", "guarded-spawn"],
)
def test_plain_script_without_main_guard_loads_a_folder(tmp_path, music21_midi_dir, body, mode, method):
    import os
    import subprocess
    import sys

    n_files = len(list(music21_midi_dir.glob("*.mid")))
    assert n_files == 21  # music21's MIDI test suite: more than 8 files, so workers are used
    script = tmp_path / "load.py"
    script.write_text(_SCRIPT_TOP + body)
    log = tmp_path / "runs.log"
    env = {**os.environ, "MUSICALPY_CACHE_DIR": str(tmp_path / "fresh-cache")}
    result = subprocess.run([sys.executable, str(script), str(music21_midi_dir), str(log), mode],
                            capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert f"start method: {method}" in lines
    # Every file is readable, and the note count is what a serial parse (n_jobs=1) finds.
    assert "pieces: 21, notes: 11271" in lines
    assert "21/21" in result.stderr  # the progress bar ran to the end
    if body is _UNGUARDED:
        assert log.read_text() == "ran\n"  # no worker ran the script again
    assert any((tmp_path / "fresh-cache").glob("*/notes.npz"))


def test_main_guard_is_read_from_the_source(tmp_path):
    from musicalpy.corpus import _line_is_main_guarded

    script = tmp_path / "s.py"
    script.write_text(
        "import x\n"                      # 1
        "if '__main__' == __name__:\n"    # 2
        "    run(\n"                       # 3
        "        1)\n"                     # 4
        "else:\n"                          # 5
        "    run()\n"                      # 6
        "if __name__ != '__main__':\n"    # 7
        "    run()\n"                      # 8
    )
    assert [_line_is_main_guarded(str(script), n) for n in range(1, 9)] == [
        False, False, True, True, False, False, False, False]
    assert _line_is_main_guarded(str(tmp_path / "missing.py"), 3) is False  # unreadable: unguarded


def test_corrupt_cache_is_reported_once_and_rebuilt(midi_folder, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = load_corpus(midi_folder, progress=False, n_jobs=1)
    (cache_file,) = (tmp_path / "cache").glob("*/notes.npz")
    cache_file.write_bytes(cache_file.read_bytes()[:100])
    with pytest.warns(UserWarning, match="unreadable") as record:
        rebuilt = load_corpus(midi_folder, progress=False, n_jobs=1)
    assert len([w for w in record if "unreadable" in str(w.message)]) == 1
    pd.testing.assert_frame_equal(rebuilt.notes, first.notes)
    assert cache_file.stat().st_size > 100


def test_changed_file_invalidates_cache(midi_folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = load_corpus(midi_folder, progress=False, n_jobs=1)
        (midi_folder / "not_midi.mid").unlink()
        after = load_corpus(midi_folder, progress=False, n_jobs=1)
    assert len(after.report) == len(before.report) - 1


def test_single_file(data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("MUSICALPY_CACHE_DIR", str(tmp_path))
    corpus = load_corpus(data_dir / "flute_and_drums.mid", progress=False)
    assert len(corpus) == 1 and len(corpus.notes) == 7
    assert corpus.pieces["n_parts"].iloc[0] == 2


def test_maestro_layout_keeps_its_split_and_metadata(data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("MUSICALPY_CACHE_DIR", str(tmp_path))
    corpus = load_corpus(data_dir / "maestro-v3.0.0", progress=False)
    assert len(corpus) == 3
    table = corpus.pieces.set_index("composer")
    assert table.loc["Alban Berg", "split"] == "train"
    assert table.loc["Franz Schubert", "split"] == "validation"
    assert table.loc["Frédéric Chopin", "split"] == "test"
    assert table.loc["Frédéric Chopin", "title"] == "Ballade No. 1"
    assert table.loc["Frédéric Chopin", "year"] == 2006
    assert corpus.notes.groupby("piece").size().sort_values().tolist() == [12, 16, 20]


def test_maestro_registry_has_checksums():
    for url, size, sha256 in musicalpy.corpus.MAESTRO_RELEASES.values():
        assert url.startswith("https://storage.googleapis.com/magentadata/datasets/maestro/")
        assert size > 50_000_000 and len(sha256) == 64 and int(sha256, 16) >= 0
    with pytest.raises(ValueError, match="unknown MAESTRO version"):
        musicalpy.corpus.download_maestro(version="v9")


def test_unknown_name_and_missing_path_list_what_exists(tmp_path):
    with pytest.raises(CorpusError, match='"bach", "essen", "composers"'):
        load_corpus("bachh")
    with pytest.raises(CorpusError, match="no such corpus name or path"):
        load_corpus(tmp_path / "missing")


def test_empty_results_raise(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICALPY_CACHE_DIR", str(tmp_path / "cache"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CorpusError, match="no .mid or .midi files"):
        load_corpus(empty)
    (empty / "bad.mid").write_text("nope")
    with pytest.warns(UserWarning), pytest.raises(CorpusError, match="no readable piece"):
        load_corpus(empty, progress=False)
    with pytest.raises(ValueError, match="limit"):
        load_corpus("bach", limit=0)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"limit": 0}, "limit must be an integer >= 1, got 0"),
        ({"limit": 2.5}, "limit must be an integer >= 1, got 2.5"),
        ({"limit": True}, "limit must be an integer >= 1, got True"),
        ({"per_composer": 0}, "per_composer must be an integer >= 1, got 0"),
        ({"n_jobs": -1}, "n_jobs must be an integer >= 1, got -1"),
    ],
)
def test_count_arguments_are_checked_before_any_work(options, message):
    with pytest.raises(ValueError, match=message):
        load_corpus("bach", **options)


def test_composers_plan_interleaves_composers():
    jobs = musicalpy.corpus._plan_composers(per_composer=5)
    first = [job["composer"] for job in jobs[:8]]
    assert len(set(first)) == 8
    assert {"Bach", "Beethoven", "Mozart", "Haydn", "Schumann", "Chopin", "Palestrina", "Monteverdi"} <= {
        job["composer"] for job in jobs}
    counts = pd.Series([job["composer"] for job in jobs]).value_counts()
    assert counts.max() <= 5
    full = musicalpy.corpus._plan_composers(per_composer=1000)
    ids = [job["piece"] for job in full]
    assert len(ids) == len(set(ids))  # Beethoven's op. 18 movements ship as .krn and .mxl
    assert any(job["source"].endswith("opus18no1/movement1.mxl") for job in full)


_VOICES_OF_ONE_WORK = """\
X:1
T:A Little Song
T:Cantus
M:4/4
L:1/4
K:C
c d e f | g4 |]

X:2
T:A Little Song
T:Bassus
M:4/4
L:1/4
K:C
C, D, E, F, | G,4 |]
"""
_TWO_WORKS = """\
X:1
T:First Tune
M:3/4
L:1/4
K:G
G A B | d3 |]

X:2
T:Second Tune
M:4/4
L:1/4
K:D
D E F G | A4 |]
"""


def test_an_opus_of_voices_is_one_piece_and_an_opus_of_works_is_several(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICALPY_CACHE_DIR", str(tmp_path / "cache"))
    voices = tmp_path / "song.abc"
    voices.write_text(_VOICES_OF_ONE_WORK)
    song = load_corpus(voices, progress=False)
    assert song.piece_ids == ["song"]
    row = song.pieces.iloc[0]
    assert row["n_parts"] == 2 and row["parts"] == "Cantus|Bassus" and row["n_notes"] == 10
    notes = song.piece("song")
    bass = notes[notes["part"] == "Bassus"]
    assert list(bass["pitch"]) == [48, 50, 52, 53, 55]  # C3..G3: the bass voice, not the tune above
    assert bass["start"].min() == 0.0  # both voices start together
    works = tmp_path / "tunes.abc"
    works.write_text(_TWO_WORKS)
    tunes = load_corpus(works, progress=False)
    assert tunes.piece_ids == ["tunes#1", "tunes#2"]
    assert list(tunes.pieces["title"]) == ["First Tune", "Second Tune"]
    assert list(tunes.pieces["n_parts"]) == [1, 1] and list(tunes.pieces["n_notes"]) == [4, 5]
    assert list(tunes.pieces["time_signature"]) == ["3/4", "4/4"]
    assert tunes.pieces["group"].nunique() == 1  # works of one file share a split
    # The score behind a piece, as the loader saw it.
    from musicalpy.corpus import parse_score

    assert [p.partName for p in parse_score(voices).parts] == ["Cantus", "Bassus"]
    assert parse_score(works, work=2).metadata.title == "Second Tune"
    with pytest.raises(ValueError, match=r"tunes.abc: holds 2 works; pass work=1..2, got None"):
        parse_score(works)
    assert len(parse_score("josquin/milleRegrets.abc").parts) == 4


def test_no_piece_of_a_multi_voice_work_loads_with_one_part():
    """Josquin's chansons ship one ABC tune per voice; Palestrina's and Monteverdi's
    pieces are four- and five-voice scores. Each must load whole."""
    import re
    import warnings

    from musicalpy.corpus import _parse_job, _plan_composers

    jobs = _plan_composers(per_composer=40)
    josquin = [job for job in jobs if job["composer"] == "Josquin"]
    assert len(josquin) == 8
    others = ([job for job in jobs if job["composer"] == "Palestrina"][:3]
              + [job for job in jobs if job["composer"] == "Monteverdi"][:2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for job in josquin + others:
            pieces, reason = _parse_job(job)
            assert reason is None and len(pieces) == 1, job["source"]
            notes, row = pieces[0]
            if job["composer"] == "Josquin":  # the oracle: one X: tune per voice in the file
                text = open(job["source"], encoding="latin-1").read()
                assert row["n_parts"] == len(re.findall(r"^X:", text, flags=re.MULTILINE)), job["source"]
            else:
                assert row["n_parts"] >= 4, job["source"]
            assert notes["part"].nunique() == row["n_parts"]


def test_essen_tunes_parse(monkeypatch, tmp_path):
    monkeypatch.setenv("MUSICALPY_CACHE_DIR", str(tmp_path))
    essen = load_corpus("essen", limit=3, progress=False)
    assert len(essen) == 3
    assert essen.pieces["title"].iloc[0] == "Das Hildebrandslied"
    # Folk tunes are monophonic: one part, no two notes sounding at once.
    assert (essen.pieces["n_parts"] == 1).all()
    for _, notes in essen.notes.groupby("piece"):
        assert (notes["start"].to_numpy()[1:] >= notes["end"].to_numpy()[:-1] - 1e-9).all()
    assert np.isfinite(essen.pieces["duration"]).all()


def test_essen_limit_samples_every_file(monkeypatch, tmp_path):
    monkeypatch.setenv("MUSICALPY_CACHE_DIR", str(tmp_path))
    essen = load_corpus("essen", limit=40, progress=False)
    files = essen.pieces["piece"].str.rsplit("-", n=1).str[0]
    assert files.iloc[0] == "altdeu10" and files.nunique() >= 30  # 31 files; a file may lose an unreadable tune


def test_parse_workers_hand_their_warnings_to_the_caller_once(monkeypatch):
    import warnings

    from musicalpy import corpus as corpus_module

    def noisy(job):
        warnings.warn(f"measure 3 is overfull in {job['source']}" if job["source"] == "a" else "same notice", UserWarning,
                      stacklevel=2)
        return [], f"{job['source']}: no notes"

    monkeypatch.setattr(corpus_module, "_parse_job", noisy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pieces, reason, raised = corpus_module._parse_job_quietly({"source": "a"})
    assert caught == [] and raised == [(UserWarning, "measure 3 is overfull in a")]
    assert pieces == [] and reason == "a: no notes"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        corpus_module._parse_all([{"source": "a"}, {"source": "b"}, {"source": "c"}], "x", progress=False, n_jobs=1)
    # each distinct message once, in the caller, where its filters apply
    assert [str(w.message) for w in caught] == ["measure 3 is overfull in a", "same notice"]
