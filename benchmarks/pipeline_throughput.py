"""Is training ever waiting for data? Pipeline batches per second vs. training steps per second.

Workload: the Bach chorales' training split as (pitch, step, duration) windows, the
notebook's settings (``seq_length=25``, ``batch_size=64``, random transposition of up to
±5 semitones, full shuffle). The pipeline is timed alone, iterating batches after a
warm-up epoch (the cache is filled then); the notebook's tutorial LSTM (128 units) is
timed on batches already in memory, so each figure measures only its own side.

Run from the repository root::

    python benchmarks/pipeline_throughput.py

The last line is ``input_headroom: X`` (pipeline batches per second divided by training
steps per second). Goal: at least 10, so that ``prefetch`` always has a batch ready.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seq-length", type=int, default=25)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--train-steps", type=int, default=60)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    import musicalpy
    from musicalpy import pipelines
    from musicalpy.models import lstm
    from musicalpy.names import VOICES

    corpus = musicalpy.load_corpus("bach", progress=False).select_parts(VOICES)
    data = pipelines.corpus_datasets(corpus, seq_length=args.seq_length, batch_size=args.batch_size, max_transpose=5)
    print(f"tensorflow {tf.__version__}, keras {keras.__version__}, {os.cpu_count()} CPU cores")
    print(f"training windows: {data.n_windows['train']:,}, batch size {args.batch_size}")

    n_batches = sum(1 for _ in data.train)  # warm-up epoch: fills the cache
    start = time.perf_counter()
    for _ in data.train:
        pass
    pipeline_rate = n_batches / (time.perf_counter() - start)
    print(f"pipeline: {n_batches} batches in one epoch, {pipeline_rate:,.0f} batches/s")

    keras.utils.set_random_seed(0)
    model = lstm.build_tutorial_lstm(args.seq_length, units=args.units)
    in_memory = data.train.take(20).cache().repeat()
    model.fit(in_memory, steps_per_epoch=10, epochs=1, verbose=0)  # compile and warm up
    start = time.perf_counter()
    model.fit(in_memory, steps_per_epoch=args.train_steps, epochs=1, verbose=0)
    train_rate = args.train_steps / (time.perf_counter() - start)
    print(f"training: tutorial LSTM ({args.units} units), {train_rate:,.1f} steps/s")
    print(f"input_headroom: {pipeline_rate / train_rate:.1f}")


if __name__ == "__main__":
    main()
