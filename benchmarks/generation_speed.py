"""Notes per second: the tutorial's generation loop vs. our compiled, stateful sampler.

The same model (the notebook's tutorial LSTM: 25-note windows, 128 units, briefly
trained on the Bach chorales) generates from the same primer:

(a) the tutorial's way: one ``model.predict`` call on the whole 25-note window per note,
    sampling the pitch with temperature in Python and shifting the window;
(b) ours, one sequence: :func:`musicalpy.models.sampling.generate_notes`, one compiled
    ``tf.function`` that advances the LSTM cell one step per note, keeping its state;
(c) ours, 64 sequences in one batch;
(d) notebook 04's WaveNet at receptive fields 16 and 255: the study's ``model.predict``
    per token, the naive full-window pass and the cached fast-wavenet step
    (``--skip-wavenet`` leaves these rows out);
(e) ``zoo.generate`` of a token LSTM (the family's full architecture, briefly trained)
    against the raw compiled loop, :func:`musicalpy.models.engine.sample_ids`,
    on the same network, the same primer lines (START and an opening token per voice),
    the same batch and seed: the ratio is what the zoo adds (primers, decoding to a note
    table, the budget). Goal: at most 1.5x (``--skip-zoo`` leaves this row out).
(f) notebook 06's Transformer (the family's full architecture, untrained: speed does
    not depend on the weights) at 512 and 1,024 tokens, one sequence and a batch:
    the key/value-cache stepper against recomputing the full window for every token,
    :func:`musicalpy.models.transformer.benchmark_generation`. Goal: at least 20x at
    1,024 tokens for one sequence (``--skip-transformer`` leaves these rows out).

Compilation (the first call) is timed apart and not counted. Run from the repository
root::

    python benchmarks/generation_speed.py

Prints notes per second for each and ends with ``speedup_vs_tutorial: X`` (b over a).
Goals: at least 100x for one sequence, and batched generation at least 10x faster again.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def tutorial_generate(model, window: np.ndarray, n_notes: int, temperature: float = 2.0) -> np.ndarray:
    """The tutorial's loop: predict on the whole window for every note."""
    import tensorflow as tf

    notes = []
    window = window.copy()
    for _ in range(n_notes):
        predictions = model.predict(window[None], verbose=0)
        logits = predictions["pitch"] / temperature
        pitch = int(tf.squeeze(tf.random.categorical(logits, num_samples=1)))
        step = max(0.0, float(predictions["step"][0, 0]))
        duration = max(0.0, float(predictions["duration"][0, 0]))
        note = np.array([pitch, step, duration], dtype=np.float32)
        notes.append(note)
        window = np.concatenate([window[1:], note[None]])
    return np.stack(notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tutorial-notes", type=int, default=60)
    parser.add_argument("--notes", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--skip-wavenet", action="store_true", help="omit the WaveNet rows (d)")
    parser.add_argument("--skip-zoo", action="store_true", help="omit the zoo.generate row (e)")
    parser.add_argument("--skip-transformer", action="store_true", help="omit the Transformer rows (f)")
    parser.add_argument("--zoo-notes", type=int, default=200, help="notes per piece in row (e), as in notebook 07")
    parser.add_argument("--zoo-samples", type=int, default=16, help="pieces in row (e), as in notebook 07")
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    import musicalpy
    from musicalpy import pipelines
    from musicalpy.models import lstm, sampling

    seq_length = 25
    corpus = musicalpy.load_corpus("bach", progress=False).select_parts(["Soprano", "Alto", "Tenor", "Bass"])
    data = pipelines.corpus_datasets(corpus, seq_length=seq_length, batch_size=64)
    keras.utils.set_random_seed(0)
    model = lstm.build_tutorial_lstm(seq_length, units=128)
    model.fit(data.train.take(100), epochs=1, verbose=0)
    primer = sampling.primer_windows(data.sequences["test"], seq_length)[0]
    print(f"tensorflow {tf.__version__}, keras {keras.__version__}, {os.cpu_count()} CPU cores")

    tutorial_generate(model, primer, 2)  # warm up predict
    start = time.perf_counter()
    tutorial_generate(model, primer, args.tutorial_notes)
    tutorial_rate = args.tutorial_notes / (time.perf_counter() - start)
    print(f"(a) tutorial, model.predict per note: {tutorial_rate:,.1f} notes/s")

    start = time.perf_counter()
    sampling.generate_notes(model, primer, n_notes=10, temperature=2.0)
    print(f"    compiling our loop once: {time.perf_counter() - start:.1f} s (not counted)")
    start = time.perf_counter()
    notes = sampling.generate_notes(model, primer, n_notes=args.notes, temperature=2.0)
    single_rate = len(notes) / (time.perf_counter() - start)
    print(f"(b) ours, one sequence: {single_rate:,.0f} notes/s")

    sampling.generate_notes(model, primer, n_notes=10, n_samples=args.batch, temperature=2.0)
    start = time.perf_counter()
    notes = sampling.generate_notes(model, primer, n_notes=args.notes, n_samples=args.batch, temperature=2.0)
    batch_rate = len(notes) / (time.perf_counter() - start)
    print(f"(c) ours, {args.batch} sequences in one batch: {batch_rate:,.0f} notes/s "
          f"({batch_rate / single_rate:.1f}x one sequence)")
    if not args.skip_wavenet:
        # (d) the WaveNet of notebook 04: the study's model.predict per token, the naive
        # full-window pass and the cached (fast-wavenet) step, at two receptive fields.
        from musicalpy.models import wavenet

        tokens = pipelines.corpus_datasets(corpus, "note_strings", seq_length=32, target="sequence", batch_size=64)
        for max_dilation, cycles in ((16, 1), (64, 2)):
            keras.utils.set_random_seed(0)
            net = wavenet.build_wavenet(len(tokens.vocabulary), channels=64,
                                        dilations=wavenet.dilation_cycles(max_dilation, cycles))
            net.fit(tokens.train.take(20), epochs=1, verbose=0)
            for batch in (1, args.batch):
                speed = wavenet.benchmark_generation(net, tokens.vocabulary, n_tokens=512, n_samples=batch,
                                                     predict_tokens=20)
                print(f"(d) WaveNet, receptive field {speed['receptive_field']}, {batch} sequence(s): "
                      f"model.predict per token {speed['predict_tokens_per_s']:,.0f} tokens/s, naive full window "
                      f"{speed['naive_tokens_per_s']:,.0f}, cached {speed['cached_tokens_per_s']:,.0f} "
                      f"({speed['speedup']:.1f}x naive, {speed['speedup_vs_predict']:.0f}x predict)")
    if not args.skip_zoo:
        zoo_row(corpus, args.zoo_notes, args.zoo_samples)
    if not args.skip_transformer:
        transformer_rows(corpus, args.batch)
    print(f"speedup_vs_tutorial: {single_rate / tutorial_rate:.0f}")


def _best_time(call, repeats: int = 3) -> float:
    """The fastest of a few runs (the machine is shared; the minimum is the least noisy)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def zoo_row(corpus, n_notes: int, n_samples: int) -> None:
    """(e): zoo.generate against the raw compiled loop on the same lines."""
    from musicalpy import zoo
    from musicalpy.families.base import Budget
    from musicalpy.models import engine

    settings = zoo.defaults("lstm", smoke=False).replace(epochs=1, steps_per_epoch=20)
    model = zoo.train("lstm", corpus, settings=settings, progress=False)
    network, vocabulary = model.fitted
    primers = np.stack(zoo.family("lstm").line_primers(model, n_samples, {}, seed=0))
    n_tokens = Budget(n_notes, None, len(model.voices), settings.tempo).tokens(0.0)

    def raw():
        return engine.sample_ids(network, vocabulary, primer=primers, n_tokens=n_tokens, seed=0)

    def wrapped():
        return model.generate(n_notes=n_notes, n_samples=n_samples, seed=0)

    raw(), wrapped()  # compile both once (not counted)
    raw_s, zoo_s = _best_time(raw), _best_time(wrapped)
    n_generated = len(wrapped())
    print(f"(e) zoo.generate, {n_samples} pieces of {n_notes} notes ({len(primers)} lines of at most {n_tokens} tokens): "
          f"{n_generated / zoo_s:,.0f} notes/s in {zoo_s * 1000:.0f} ms; the raw compiled loop on the same lines "
          f"{raw_s * 1000:.0f} ms: zoo/raw {zoo_s / raw_s:.2f}x (goal at most 1.5x)")


def transformer_rows(corpus, batch: int, lengths: tuple[int, ...] = (512, 1024)) -> None:
    """(f): cached against full-window Transformer generation, one model per length whose
    cache holds exactly START and the generated tokens."""
    import keras

    from musicalpy import pipelines, zoo
    from musicalpy.models import transformer

    vocabulary = pipelines.corpus_datasets(corpus, "note_strings", seq_length=64, target="sequence",
                                           batch_size=64).vocabulary
    settings = zoo.defaults("transformer", smoke=False)
    for n_tokens in lengths:
        keras.utils.set_random_seed(0)
        net = settings.replace(max_length=n_tokens + 1).build(len(vocabulary))
        for n_samples in (1, batch):
            speed = transformer.benchmark_generation(net, vocabulary, n_tokens=n_tokens, n_samples=n_samples,
                                                     naive_tokens=8 if n_samples == 1 else 3)
            print(f"(f) Transformer ({settings.num_layers} x {settings.dim}, relative), {n_tokens} tokens, "
                  f"{n_samples} sequence(s): full window per token {speed['naive_tokens_per_s']:,.1f} tokens/s, "
                  f"cached {speed['cached_tokens_per_s']:,.0f} tokens/s: {speed['speedup']:.1f}x", flush=True)


if __name__ == "__main__":
    main()
