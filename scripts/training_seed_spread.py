"""How much do the LSTM's and the WaveNet's validation scores move with the training seed?

Notebook 07 and docs/results.md compare models whose scores differ by a few hundredths of a
bit; that difference means something only if it is larger than what retraining the
same model with another seed changes. This script trains each token network three
times on the full chorale corpus, with its family's full defaults (architecture,
windows, batch size, vocabulary, learning rate) except the seed and a training budget
small enough for the whole run to fit about ten minutes on a shared 2-core machine,
and prints validation bits per token (and per note) as mean ± sd over the seeds.

The reduced budget is printed with the result: the spread of a model trained for
longer can differ, so say which budget a quoted spread comes from.

Usage::

    nice -n 10 python scripts/training_seed_spread.py [--seeds 0 1 2] [--epochs 2] [--steps-per-epoch 60]

Measured on 2026-12-01 on a shared 2-core Linux VM: 2 x 60 batches gave LSTM 6.666 ± 0.042,
WaveNet 5.124 ± 0.014 validation bits per token (about 7 minutes in all); 3 x 150 batches
(``--epochs 3 --steps-per-epoch 150``) gave LSTM 5.201 ± 0.009, WaveNet 4.358 ± 0.040 (about
21 minutes on the busy machine).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", nargs="+", default=["lstm", "wavenet"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=2, help="epochs per training run (full default: 5 or 6)")
    parser.add_argument("--steps-per-epoch", type=int, default=60,
                        help="batches per epoch (full default: 300 for the LSTM, 100 for the WaveNet)")
    args = parser.parse_args(argv)
    if len(args.seeds) < 2:
        parser.error("--seeds needs at least two seeds to measure a spread")

    from musicalpy import zoo

    corpus = zoo.training_corpus("bach")
    print(f"{corpus}; {platform.node()} {os.cpu_count()} CPU core(s), {sys.platform}, "
          f"{time.strftime('%Y-%m-%d %H:%M %Z')}", flush=True)
    started = time.perf_counter()
    for kind in args.kinds:
        scores = []
        for seed in args.seeds:
            settings = {"seed": seed, "epochs": args.epochs, "steps_per_epoch": args.steps_per_epoch}
            model = zoo.train(kind, corpus, settings=settings, smoke=False, progress=False)
            validation = model.card["validation"]
            scores.append((validation["bits_per_token"], validation["bits_per_note"]))
            print(f"{kind:8s} seed {seed}: {validation['bits_per_token']:.4f} bits/token, "
                  f"{validation['bits_per_note']:.4f} bits/note on validation "
                  f"({model.card['training_time_s']:.0f} s)", flush=True)
        tokens, notes = np.asarray(scores).T
        print(f"{kind:8s} over {len(args.seeds)} training seeds ({args.epochs} epochs x {args.steps_per_epoch} batches): "
              f"{tokens.mean():.4f} ± {tokens.std(ddof=1):.4f} bits/token, "
              f"{notes.mean():.4f} ± {notes.std(ddof=1):.4f} bits/note (mean ± sd)", flush=True)
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
