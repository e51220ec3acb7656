"""How long ``musicalpy harmonize`` takes on a 32-bar MIDI melody, from a fresh process, in one run.

    python benchmarks/harmonize_speed.py [--runs 3]

Writes a 32-bar melody in 4/4 as a MIDI file (the sopranos of the first validation
chorales of the four-voice split, laid end to end and cut at bar 32), then times the whole
command in a new process, start-up included, as a musician would run it:

* ``musicalpy harmonize melody.mid --out DIR``: the default shipped harmonizer, nothing
  trained by the user (goal: every output written in under 20 s of wall-clock on our
  2-core machine);
* the same with ``--model`` set to an HMM harmonizer folder (trained here first, on the
  training split, untimed): the peer on the same melody.

Prints each run's seconds, the best of each, their ratio, and checks that all four files
(.mid, .musicxml, .ogg, .svg) were written. The last line is ``default_harmonizer_s: X``.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARS = 32


def _melody(path: Path) -> None:
    import pandas as pd

    from musicalpy import write_midi, zoo

    corpus = zoo.training_corpus("bach")
    validation = corpus.split("validation").notes
    four_four = set(corpus.pieces.loc[corpus.pieces["time_signature"] == "4/4", "piece"])
    lines, offset = [], 0.0
    for piece in pd.unique(validation["piece"]):
        if piece not in four_four:
            continue
        line = validation[(validation["piece"] == piece) & (validation["part"] == "Soprano")].sort_values("start_beat")
        lines.append(line.assign(start_beat=line["start_beat"] + offset, end_beat=line["end_beat"] + offset))
        offset = float(lines[-1]["end_beat"].max())
        offset = 4.0 * -(-offset // 4.0)  # the next sopranos start on a bar line
        if offset >= 4 * BARS:
            break
    melody = pd.concat(lines, ignore_index=True)
    melody = melody[melody["start_beat"] < 4 * BARS].copy()
    melody["end_beat"] = melody["end_beat"].clip(upper=4 * BARS)
    seconds_per_beat = 0.6
    melody = melody.assign(start=melody["start_beat"] * seconds_per_beat, end=melody["end_beat"] * seconds_per_beat,
                           part="Melody", piece="melody32")
    write_midi(melody[["piece", "part", "pitch", "start", "end", "start_beat", "end_beat"]].assign(velocity=80), path)


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{run.stderr}")
    return seconds


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="musicalpy harmonize on a 32-bar melody, default model vs HMM")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        melody = folder / "melody32.mid"
        _melody(melody)
        hmm = folder / "hmm_harmonizer"
        subprocess.run([sys.executable, "-m", "musicalpy.cli", "train", "hmm_harmonizer", "--out", str(hmm)],
                       check=True, capture_output=True)
        base = [sys.executable, "-m", "musicalpy.cli", "harmonize", str(melody), "--force"]
        times = {"default": [], "hmm_harmonizer": []}
        for run in range(args.runs):
            for who, extra in (("default", []), ("hmm_harmonizer", ["--model", str(hmm)])):
                out = folder / f"out_{who}"
                times[who].append(_timed([*base, *extra, "--out", str(out)]))
                written = sorted(p.suffix for p in out.iterdir())
                assert written == [".mid", ".musicxml", ".ogg", ".svg"], f"{who} wrote {written}"
                print(f"run {run + 1}: {who:15s} {times[who][-1]:6.1f} s", flush=True)
        best = {who: min(t) for who, t in times.items()}
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        print(f"32-bar melody, best of {args.runs}, start-up included: default harmonizer {best['default']:.1f} s, "
              f"HMM harmonizer {best['hmm_harmonizer']:.1f} s (ratio {best['default'] / best['hmm_harmonizer']:.2f})")
        print(f"default_harmonizer_s: {best['default']:.1f}")
