"""The musicalpy command, driven as a user would (subprocess)."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "musicalpy.cli", *args], capture_output=True,
                          text=True, timeout=300, **kwargs)


def test_doctor_reports_audio_score_and_corpora():
    result = _run("doctor")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    for item in ("python", "tensorflow", "keras", "music21", "pretty_midi", "hmmlearn", "verovio",
                 "synthesis", "soundfont"):
        assert item in lines, item
    assert "fluidsynth" in lines["synthesis"] or "fix:" in result.stdout
    assert "corpus bach" in result.stdout and "corpus essen" in result.stdout


def test_doctor_names_the_fix_for_a_missing_soundfont(tmp_path, monkeypatch):
    env = {**__import__("os").environ, "MUSICALPY_SOUNDFONT": str(tmp_path / "missing.sf2")}
    result = _run("doctor", env=env)
    assert result.returncode == 0
    assert "fix:" in result.stdout and "soundfont" in result.stdout.lower()


@pytest.mark.parametrize(
    "args, code, message",
    [
        (("frobnicate",), 2, "invalid choice"),
        (("corpus", "describe"), 2, "needs a corpus name or path"),
        (("corpus", "describe", "/no/such/folder"), 1, "no such corpus name or path"),
    ],
)
def test_errors_are_one_line_with_exit_codes(args, code, message):
    result = _run(*args)
    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_corpus_describe_maestro_fixture(data_dir, tmp_path):
    env = {**__import__("os").environ, "MUSICALPY_CACHE_DIR": str(tmp_path)}
    result = _run("corpus", "describe", str(data_dir / "maestro-v3.0.0"), env=env)
    assert result.returncode == 0, result.stderr
    assert "3 pieces, 48 notes" in result.stdout
