"""Which settings should the shipped orderless network (``satb_orderless``) train with?

Trains each candidate for the same budget of process CPU minutes on music21's chorales
(training split) and prints, on the **validation** split only: the masked NLL the training
keeps its best epoch by (nats per hidden voice-step, fixed crops and masks), and the bits
per alto, tenor and bass note given the soprano under the chronological ordering (the
number a harmonizer is chosen by). The shipped settings are the defaults of
:class:`musicalpy.families.satb.SatbOrderlessKindSettings`; this script is how they were
chosen, and its output is quoted in docs/four_voices.md.

Usage::

    nice -n 19 python scripts/orderless_settings.py --cpu-minutes 6 [--candidates base wide]

Each candidate trains in its own run folder under ``models/runs/`` (resumed if there), so
an interrupted search picks up where it stopped.
"""

from __future__ import annotations

import argparse
import math
import time

CANDIDATES = {
    "base": {"learning_rate": 1e-3},
    "wide": {"units": 128, "learning_rate": 1e-3},
    "deep": {"dilations": (1, 2, 4, 8, 16, 32, 1, 2, 4, 8), "learning_rate": 1e-3},
    "lr3": {"learning_rate": 3e-3},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu-minutes", type=float, default=6.0)
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES))
    args = parser.parse_args()

    from musicalpy import zoo
    from musicalpy.corpus import split_digest
    from musicalpy.families.satb import SatbOrderlessKindSettings, corpus_steps, run_folder
    from musicalpy.models.satb_net import train_satb_net
    from musicalpy.models.satb_orderless import SatbOrderless

    corpus = zoo.training_corpus("bach")
    train = corpus_steps(corpus.split("train").notes, corpus.pieces)
    validation = corpus_steps(corpus.split("validation").notes, corpus.pieces)
    lower_notes = sum(int((c.values[:, 1:] >= 2).sum()) for c in validation)
    rows = []
    for name in args.candidates:
        settings = SatbOrderlessKindSettings().replace(**CANDIDATES[name]).network()
        run_dir = run_folder(f"satb_orderless-search-{name}", settings, split_digest(corpus))
        began = time.perf_counter()
        net, record = train_satb_net(settings, train, validation, run_dir=run_dir, cpu_minutes=args.cpu_minutes,
                                     net_class=SatbOrderless)
        given = net.log_probs(validation, given_soprano=True)
        atb = -sum(t.sum() for t in given) / math.log(2) / lower_notes
        best = record["history"][record["best_epoch"] - 1]
        rows.append((name, CANDIDATES[name], len(record["history"]), record["best_epoch"], best["masked_nats"], atb,
                     record["cpu_s"] / 60, time.perf_counter() - began))
        print(f"{name}: {best['masked_nats']:.4f} masked nats, A/T/B given S {atb:.3f} bits per note", flush=True)
    print(f"\nvalidation, {args.cpu_minutes:g} CPU minutes each:")
    print("candidate | changes | epochs (best) | masked nats | A/T/B|S bits per note | CPU min")
    for name, changes, epochs, best_epoch, masked, atb, cpu, _ in rows:
        print(f"{name} | {changes or 'defaults'} | {epochs} ({best_epoch}) | {masked:.4f} | {atb:.3f} | {cpu:.1f}")


if __name__ == "__main__":
    main()
