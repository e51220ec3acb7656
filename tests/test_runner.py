"""The headless runner behind `make run`, and the output stripping for committed notebooks."""

from __future__ import annotations

import re
import wave

import nbformat
import pytest

from musicalpy import runner
from musicalpy.runner import PIN_MARKER, list_notebooks, render_demo, run_notebook, strip_outputs


def _notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A title"),
        nbformat.v4.new_code_cell("import os\nprint(os.environ['MUSICALPY_NOTEBOOK'])"),
        nbformat.v4.new_code_cell(f"{PIN_MARKER}\nprint(6 * 7)"),
    ]
    path = tmp_path / "07_example.ipynb"
    nbformat.write(nb, path)
    return path


def test_run_notebook_writes_executed_copy_and_html(tmp_path):
    path = _notebook(tmp_path)
    row = run_notebook(path, tmp_path / "out", timeout=120)
    assert row["status"] == "ok", row
    executed = nbformat.read(tmp_path / "out" / "07_example.ipynb", as_version=4)
    assert executed.cells[1].outputs[0]["text"].strip() == "07_example"
    assert executed.cells[2].outputs[0]["text"].strip() == "42"
    assert "42" in (tmp_path / "out" / "07_example.html").read_text()
    assert (tmp_path / "out" / "07_example").is_dir()


def test_strip_keeps_only_pinned_outputs_with_their_count(tmp_path):
    path = _notebook(tmp_path)
    run_notebook(path, tmp_path / "out", timeout=120)
    executed = tmp_path / "out" / "07_example.ipynb"
    assert strip_outputs(executed) is True
    nb = nbformat.read(executed, as_version=4)
    assert nb.cells[1].outputs == [] and nb.cells[1].execution_count is None
    assert nb.cells[2].outputs[0]["text"].strip() == "42"
    assert nb.cells[2].execution_count == 2
    assert strip_outputs(executed) is False  # idempotent


def test_failing_notebook_is_reported_not_raised(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("raise RuntimeError('boom')")]
    path = tmp_path / "08_broken.ipynb"
    nbformat.write(nb, path)
    row = run_notebook(path, tmp_path / "out", timeout=120)
    assert row["status"] == "failed" and "boom" in row["error"]
    assert (tmp_path / "out" / "08_broken.html").exists()


def test_render_demo_writes_playable_music_and_a_score(tmp_path):
    paths = render_demo(tmp_path)
    import musicalpy
    from musicalpy import render

    notes = musicalpy.read_midi(paths["midi"])
    assert len(notes) == 163 and notes["end"].max() == pytest.approx(22.5)  # 36 quarter notes at 96 per minute
    with wave.open(str(paths["wav"])) as wav:
        rate, frames = wav.getframerate(), wav.getnframes()
    # The 22.5 s and the synthesizer's one-second release tail (FluidSynth's and pretty_midi's
    # sine fallback alike); 16-bit mono PCM after a 44-byte header.
    assert (rate, frames) == (22050, round(23.5 * 22050))
    assert paths["wav"].stat().st_size == 44 + 2 * frames
    import soundfile

    info = soundfile.info(paths["ogg"])
    assert info.subtype == "VORBIS" and info.duration == pytest.approx(frames / rate, abs=0.01)
    assert paths["ogg"].stat().st_size * 5 < paths["wav"].stat().st_size
    # Verovio engraves what music21 notates from the same notes: a staff per voice in each
    # of its 9 bars, and every note head (168: five notes are written as two tied heads).
    score = render.prepare_score(notes)
    heads = sum(len(n.pitches) for n in score.recurse().notes)
    bars = len(score.parts[0].getElementsByClass("Measure"))
    assert (len(score.parts), bars, heads) == (4, 9, 168)
    svg = paths["svg"].read_text()
    assert svg.count('class="measure"') == bars and svg.count('class="staff"') == 4 * bars
    assert svg.count('class="note"') == heads


def test_list_notebooks_keeps_only_numbered_notebooks_in_order(tmp_path):
    for name in ("10_last.ipynb", "02_second.ipynb", "01_first.ipynb", "notes.ipynb", "1_short.ipynb",
                 "03_not_a_notebook.txt", "04_draft.ipynb.bak"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in list_notebooks(tmp_path)] == ["01_first.ipynb", "02_second.ipynb", "10_last.ipynb"]


def test_the_project_notebooks_are_the_nine_of_the_readme_numbered_01_to_09():
    from pathlib import Path

    names = [p.stem for p in list_notebooks()]
    assert [int(name[:2]) for name in names] == list(range(1, 10)), names
    readme = (Path(runner.__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert names == re.findall(r"^\| \[`(\w+)`\]\(notebooks/\1\.ipynb\)", readme, flags=re.MULTILINE)
    assert names[0] == "01_eda_key_analysis" and names[-1] == "09_harmonizing"


def test_output_summary_says_where_each_notebooks_files_are(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICALPY_IMAGES_DIR", str(tmp_path / "images"))
    music = tmp_path / "out" / "02_hmm"
    (music / "sub").mkdir(parents=True)
    for name in ("a.mid", "a.wav", "a.ogg", "sub/b.mid", "a.svg", "notes.txt"):
        (music / name).write_bytes(b"x")
    (tmp_path / "images" / "02_hmm").mkdir(parents=True)
    (tmp_path / "images" / "02_hmm" / "curve.png").write_bytes(b"x")
    rows = [{"notebook": "02_hmm", "seconds": 12.5, "status": "ok", "error": ""},
            {"notebook": "03_lstm", "seconds": 3.0, "status": "failed", "error": "ValueError: x"}]
    table = runner.output_summary(tmp_path / "out", rows).set_index("notebook")
    assert table.loc["02_hmm", "music"] == f"{music}/ (2 .mid, 1 .ogg, 1 .wav, 1 .svg)"
    assert table.loc["02_hmm", "figures"].endswith("02_hmm/ (1 .png)")
    assert table.loc["03_lstm", "music"].endswith("(0 .mid, 0 .ogg, 0 .wav, 0 .svg)")
    assert table.loc["03_lstm", "error"] == "ValueError: x"


def test_markdown_math_becomes_mathml_and_code_is_left_alone():
    from musicalpy.runner import markdown_math_to_mathml

    text = "Rate $a_{ij}$ and\n$$\\alpha_t(j) = \\sum_i \\alpha_{t-1}(i)$$\nnot `$x$` nor \\$5 or\n```\n$y$\n```"
    out = markdown_math_to_mathml(text)
    assert out.count("<math") == 2 and out.count('display="block"') == 1
    assert "<msub><mi>a</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub>" in out
    assert "`$x$`" in out and "\\$5" in out and "```\n$y$\n```" in out


def test_notebook_html_has_mathml_and_no_cdn_script():
    from musicalpy.runner import notebook_html

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("The pitch $f = 440 \\cdot 2^{(p - 69)/12}$ in Hz.")]
    page = notebook_html(nb)
    assert "<math" in page and "$f = 440" not in page
    assert "cdnjs" not in page and "<script src=\"http" not in page
    assert nb.cells[0].source.startswith("The pitch $f")  # the notebook itself is unchanged
