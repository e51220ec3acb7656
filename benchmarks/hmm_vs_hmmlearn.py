"""Time musicalpy's Baum-Welch against hmmlearn's CategoricalHMM on the Bach chorales.

Workload: every part of the 371 chorales as its own sequence, pitch/hold/rest tokens at
4 steps per quarter (about 1,550 sequences and 345,000 observations), 32 hidden states,
the same random initial parameters given to every model, the same number of
Baum-Welch iterations. Printed: seconds per iteration of ours, hmmlearn
``implementation="scaling"`` and hmmlearn ``"log"`` (its default), their peak traced
memory for one iteration, and the log-likelihoods, which must agree.

Run from the repository root::

    python benchmarks/hmm_vs_hmmlearn.py                 # a few minutes, mostly hmmlearn "log"
    python benchmarks/hmm_vs_hmmlearn.py --skip-log      # about a minute

The last line is ``speedup_vs_hmmlearn_scaling: X`` (hmmlearn scaling seconds per
iteration divided by ours). Exit status 1 when the log-likelihoods disagree.
"""

from __future__ import annotations

import argparse
import gc
import logging
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from musicalpy.hmm import HMM, hmmlearn_reference, init_mat  # noqa: E402

#: Largest relative difference of log-likelihoods accepted as "the same computation".
AGREEMENT = 1e-6


def load_sequences(steps_per_quarter: int, limit: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    """The chorale parts as pitch/hold/rest tokens, renumbered 0..V-1 and concatenated."""
    from musicalpy.corpus import load_corpus
    from musicalpy.representations import encode_pieces

    corpus = load_corpus("bach", limit=limit, progress=False)
    encoded = encode_pieces(corpus.notes, "pitch_hold", steps_per_quarter=steps_per_quarter)
    sequences = [tokens for tokens in encoded.values() if len(tokens)]
    # Only the tokens that occur get an emission column, as hmmlearn's n_features would.
    _, symbols = np.unique(np.concatenate(sequences), return_inverse=True)
    lengths = np.array([len(tokens) for tokens in sequences])
    return symbols.astype(np.int64), lengths, int(symbols.max()) + 1


def initial_parameters(n_states: int, n_symbols: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "startprob": init_mat(1, n_states, "random", rng)[0],
        "transmat": init_mat(n_states, n_states, "random", rng),
        "emissionprob": init_mat(n_states, n_symbols, "random", rng),
    }


def ours(params: dict, n_iter: int) -> HMM:
    return HMM(
        n_states=len(params["startprob"]), n_iter=n_iter, tol=-np.inf,
        init_params=params, verbose=False,
    )


def hmmlearn_model(params: dict, n_iter: int, implementation: str):
    return hmmlearn_reference(params, n_iter=n_iter, implementation=implementation)


def fit_timed(model, X: np.ndarray, lengths: np.ndarray) -> float:
    gc.collect()
    start = time.perf_counter()
    model.fit(X, lengths)
    return time.perf_counter() - start


def peak_memory_mb(make_model, X: np.ndarray, lengths: np.ndarray) -> float:
    """Peak traced allocation (numpy arrays included) of a one-iteration fit."""
    model = make_model()
    gc.collect()
    tracemalloc.start()
    try:
        model.fit(X, lengths)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=5, help="Baum-Welch iterations per model (default 5)")
    parser.add_argument("--states", type=int, default=32, help="hidden states (default 32)")
    parser.add_argument("--steps-per-quarter", type=int, default=4)
    parser.add_argument("--skip-log", action="store_true", help="skip hmmlearn's slow log implementation")
    parser.add_argument("--skip-memory", action="store_true", help="skip the traced-memory runs")
    parser.add_argument("--limit", type=int, default=None, help="use only the first LIMIT chorales")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.iterations < 1:
        parser.error("--iterations must be at least 1")

    import hmmlearn

    # The warm-up fit on three sequences makes hmmlearn warn about too little data.
    logging.getLogger("hmmlearn").setLevel(logging.ERROR)
    X, lengths, n_symbols = load_sequences(args.steps_per_quarter, args.limit)
    print(f"python {platform.python_version()}, numpy {np.__version__}, hmmlearn {hmmlearn.__version__}")
    print(f"Bach chorales, pitch/hold at {args.steps_per_quarter} steps per quarter: "
          f"{len(lengths)} sequences, {len(X):,} observations, {n_symbols} symbols, "
          f"lengths {lengths.min()}..{lengths.max()}; {args.states} states, {args.iterations} iterations")
    params = initial_parameters(args.states, n_symbols, args.seed)
    column = X[:, None]  # hmmlearn's (n_samples, 1) layout

    runs: dict[str, dict] = {}
    implementations = ["scaling"] + ([] if args.skip_log else ["log"])
    # Warm up on a few sequences so that no timing includes first-call imports.
    few = int(lengths[:3].sum())
    ours(params, 1).fit(X[:few], lengths[:3])
    for implementation in implementations:
        hmmlearn_model(params, 1, implementation).fit(column[:few], lengths[:3])
    model = ours(params, args.iterations)
    runs["musicalpy"] = {"seconds": fit_timed(model, X, lengths), "model": model,
                         "history": np.asarray(model.history_)}
    for implementation in implementations:
        reference = hmmlearn_model(params, args.iterations, implementation)
        seconds = fit_timed(reference, column, lengths)
        runs[f"hmmlearn {implementation}"] = {"seconds": seconds, "model": reference,
                                              "history": np.asarray(reference.monitor_.history)}
    if not args.skip_memory:
        runs["musicalpy"]["peak_mb"] = peak_memory_mb(lambda: ours(params, 1), X, lengths)
        for implementation in implementations:
            runs[f"hmmlearn {implementation}"]["peak_mb"] = peak_memory_mb(
                lambda impl=implementation: hmmlearn_model(params, 1, impl), column, lengths)

    # Both record the log-likelihood of the parameters entering each iteration; the
    # score of the final parameters is one more forward pass.
    final_score = {"musicalpy": runs["musicalpy"]["model"].score(X, lengths),
                   "hmmlearn scaling": runs["hmmlearn scaling"]["model"].score(column, lengths)}
    mine = runs["musicalpy"]
    print()
    print(f"{'model':<18} {'s/iteration':>12} {'peak MB':>9} {'speedup':>8}  log-likelihood per iteration")
    for name, run in runs.items():
        per_iteration = run["seconds"] / args.iterations
        speedup = run["seconds"] / mine["seconds"]
        peak = f"{run['peak_mb']:9.1f}" if "peak_mb" in run else f"{'-':>9}"
        history = ", ".join(f"{value:.6f}" for value in run["history"])
        print(f"{name:<18} {per_iteration:12.3f} {peak} {speedup:7.1f}x  {history}")
    print("(peak MB: largest traced allocation during a one-iteration fit, tracemalloc)")
    print()
    agree = True
    for name, run in runs.items():
        if name == "musicalpy":
            continue
        difference = np.max(np.abs(run["history"] - mine["history"]) / np.abs(run["history"]))
        parameters = max(
            np.max(np.abs(getattr(run["model"], attribute) - getattr(mine["model"], attribute)))
            for attribute in ("startprob_", "transmat_", "emissionprob_")
        )
        ok = difference < AGREEMENT and parameters < AGREEMENT
        agree &= ok
        print(f"vs {name}: max relative log-likelihood difference {difference:.2e}, "
              f"max parameter difference {parameters:.2e} -> {'agree' if ok else 'DISAGREE'}")
    relative = abs(final_score["musicalpy"] - final_score["hmmlearn scaling"]) / abs(final_score["hmmlearn scaling"])
    agree &= relative < AGREEMENT
    print(f"final log-likelihood (after {args.iterations} M-steps): musicalpy {final_score['musicalpy']:.6f}, "
          f"hmmlearn scaling {final_score['hmmlearn scaling']:.6f} (relative difference {relative:.2e})")
    speedup = runs["hmmlearn scaling"]["seconds"] / mine["seconds"]
    print(f"speedup_vs_hmmlearn_scaling: {speedup:.2f}")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
