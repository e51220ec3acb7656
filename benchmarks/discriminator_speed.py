"""The whole Bach-or-model test for one model, timed: both classifiers and the copy check.

    python benchmarks/discriminator_speed.py                  # 73 samples, as many as the held-out chorales
    python benchmarks/discriminator_speed.py --n-samples 48   # notebook 07 and musicalpy evaluate: 3 seeds x 16 samples

A "model" here is broken chorales (bars shuffled within each piece), so no model has to
be trained or sampled (generating samples is not part of the goal): by default 73 of
them, as many as the held-out chorales, against the 297 training chorales and the 73
held-out ones, in full mode (three folds, 2,000 bootstrap resamples), through
:func:`musicalpy.leaderboard.bach_or_model`, as notebook 07 and ``musicalpy evaluate``
call it. The corpus is loaded (and parsed, the first time) and TensorFlow imported before
the clock starts; the window network's first build and trace are timed. Prints each
part's wall and CPU time and the machine's load; the last line is
``discriminator_seconds: X`` (wall clock; goal: at most 60 on a 2-core machine).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=None,
                        help="samples of the broken model (default: as many as the held-out chorales)")
    args = parser.parse_args()

    import pandas as pd

    from musicalpy import zoo
    from musicalpy.leaderboard import bach_or_model
    from musicalpy.metrics import shuffled_bars

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        corpus = zoo.training_corpus("bach")
    train = corpus.split("train").notes
    held_out = pd.concat([corpus.split("validation").notes, corpus.split("test").notes], ignore_index=True)
    samples = shuffled_bars(held_out, seed=0).assign(piece=lambda t: "shuffled_" + t["piece"])
    if args.n_samples is not None:
        samples = samples[samples["piece"].isin(samples["piece"].unique()[:args.n_samples])]
    import keras  # noqa: F401  (importing TensorFlow is not the test's work)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} before")
    print(f"train {train['piece'].nunique()} chorales, held out {held_out['piece'].nunique()}, "
          f"samples {samples['piece'].nunique()}")
    wall, cpu = time.perf_counter(), time.process_time()
    test = bach_or_model(samples, train, held_out, label="bars shuffled")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    for name, result in test.results.items():
        print(f"{name:9s} {result}")
    print(f"copies    {test.copies}")
    print(f"total {wall:.1f} s wall, {cpu:.1f} s CPU (this process); load average {os.getloadavg()[0]:.1f} after")
    print(f"discriminator_seconds: {wall:.1f}")
