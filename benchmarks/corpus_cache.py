"""First (parsing) vs second (cached) load of the Bach chorales, in one run.

    python benchmarks/corpus_cache.py

Parses into a fresh temporary cache folder, so the first load really parses, then loads
again from that cache. Prints both times and the ratio; the last line is
``cache_speedup: X`` (goal: at least 50).
"""

from __future__ import annotations

import os
import platform
import tempfile
import time

if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        os.environ["MUSICALPY_CACHE_DIR"] = folder
        import musicalpy

        started = time.perf_counter()
        first = musicalpy.load_corpus("bach", progress=True)
        parse_seconds = time.perf_counter() - started
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            second = musicalpy.load_corpus("bach", progress=False)
            timings.append(time.perf_counter() - started)
        cached_seconds = min(timings)
        assert len(second.notes) == len(first.notes), "cached load differs from the parse"
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        print(f"pieces: {len(first)}, notes: {len(first.notes):,}")
        print(f"first load (parse {os.cpu_count()} workers + write cache): {parse_seconds:8.2f} s")
        print(f"second load (cache, best of 5):                {cached_seconds:8.3f} s")
        print(f"cache_speedup: {parse_seconds / cached_seconds:.0f}")
