"""Notebook 03 on MAESTRO: the same notebook, with MAESTRO_DIR set in its parameters cell,
runs end to end on a folder laid out like MAESTRO v3 (smoke settings)."""

from __future__ import annotations

import json

import nbformat
import pandas as pd
import pytest

import musicalpy
from musicalpy.runner import list_notebooks, run_notebook


@pytest.fixture
def maestro_dir(tmp_path):
    """Nine real chorales as one-track piano MIDI files, with MAESTRO's CSV and folders."""
    root = tmp_path / "maestro-v3.0.0"
    chorales = musicalpy.load_corpus("bach", limit=9, progress=False)
    rows = []
    for index, piece in enumerate(chorales.piece_ids):
        notes = chorales.piece(piece).assign(part="Piano", program=0)
        relative = f"2018/MIDI-Unprocessed_{index:02d}_R1_2018_wav.midi"
        (root / "2018").mkdir(parents=True, exist_ok=True)
        musicalpy.write_midi(notes, root / relative)
        split = "train" if index < 5 else "validation" if index < 7 else "test"
        rows.append({"canonical_composer": "Johann Sebastian Bach", "canonical_title": piece, "split": split,
                     "year": 2018, "midi_filename": relative, "audio_filename": relative.replace(".midi", ".wav"),
                     "duration": float(notes["end"].max())})
    pd.DataFrame(rows).to_csv(root / "maestro-v3.0.0.csv", index=False)
    return root


def test_notebook_03_runs_on_a_maestro_folder(maestro_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICALPY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MUSICALPY_IMAGES_DIR", str(tmp_path / "images"))
    monkeypatch.setenv("MUSICALPY_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("MUSICALPY_LEADERBOARD", str(tmp_path / "leaderboard.csv"))
    source = next(p for p in list_notebooks() if p.name == "03_lstm.ipynb")
    notebook = nbformat.read(source, as_version=4)
    parameters = next(c for c in notebook.cells if "MAESTRO_DIR = None" in c.source)
    parameters.source = parameters.source.replace("MAESTRO_DIR = None", f"MAESTRO_DIR = {json.dumps(str(maestro_dir))}")
    copy = tmp_path / "03_lstm.ipynb"
    nbformat.write(notebook, copy)

    row = run_notebook(copy, tmp_path / "out", smoke=True, timeout=900)

    assert row["status"] == "ok", row["error"]
    executed = nbformat.read(tmp_path / "out" / "03_lstm.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert f"Corpus('{maestro_dir}': 9 pieces" in printed
    assert "train 5, validation 2, test 2; 0 skipped" in printed  # MAESTRO's own split column
    saved = tmp_path / "out" / "03_lstm" / "models" / "lstm_maestro" / "card.json"
    card = json.loads(saved.read_text())
    assert card["data"]["voices"] == ["Piano"] and card["data"]["pieces"] == {"train": 5, "validation": 2, "test": 2}
    assert not (tmp_path / "models").exists()  # a smoke run never writes models/
