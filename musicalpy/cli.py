"""The ``musicalpy`` command.

Examples
--------
::

    musicalpy doctor                   # versions, audio, sheet music, corpora; how to fix
    musicalpy run --out outputs        # the main job: demo chorale + every notebook
    musicalpy corpus list              # embedded corpora and what is cached
    musicalpy corpus describe bach     # pieces, notes, splits and the load report
    musicalpy corpus export bach --format midi --out chorales/
    musicalpy train hmm --corpus bach                  # -> models/hmm (card.json + .npz)
    musicalpy train satb_lstm --cpu-minutes 60         # a budget; an interrupted run resumes
    musicalpy pretrained                               # retrain the shipped models (make pretrained)
    musicalpy generate models/hmm --notes 200 --n-samples 4 --out samples/
    musicalpy harmonize essenFolksong/altdeu10 --model models/hmm_harmonizer --out harmonized/
    musicalpy rewrite bach/bwv66.6 --voices A,T --bars 3-4 --out rewritten/   # new alto and tenor, the rest kept
    musicalpy render samples/hmm_sample_0.mid --ogg --svg --pianoroll
    musicalpy analyze samples/hmm_sample_0.mid         # key, keys per window, features
    musicalpy evaluate models/markov models/hmm --corpus bach --out results/  # -> results/leaderboard.csv
    musicalpy listen --open                             # the listening room: outputs/listening/index.html

Errors are one line on stderr: exit code 2 for a usage error, 1 for a failure.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
from pathlib import Path

__all__ = ["main", "doctor_report"]

_VERSIONED = ["tensorflow", "keras", "music21", "pretty_midi", "hmmlearn", "verovio", "numpy", "pandas"]


def _version(module: str) -> str | None:
    import contextlib
    import io

    from .notebook import quiet_tensorflow

    quiet_tensorflow()  # keep TensorFlow's start-up chatter out of the table
    try:
        # Importing pretty_midi imports pyfluidsynth, which prints where it found the
        # library when CI is set; the table is the doctor's only output.
        with contextlib.redirect_stdout(io.StringIO()):
            mod = importlib.import_module(module)
    except Exception:
        return None
    if module == "verovio":  # verovio reports its version through a toolkit
        return mod.toolkit(False).getVersion()
    return getattr(mod, "__version__", None) or "?"


def doctor_report() -> list[tuple[str, str, str]]:
    """(item, status, fix) rows: what MusicalPy found and the command that fixes what is missing."""
    rows: list[tuple[str, str, str]] = [("python", platform.python_version(), "")]
    fixes = {
        "tensorflow": "pip install -r requirements.txt",
        "verovio": "pip install verovio",
        "hmmlearn": "pip install hmmlearn",
    }
    for module in _VERSIONED:
        version = _version(module)
        rows.append((module, version or "MISSING", "" if version else fixes.get(module, "pip install -r requirements.txt")))
    from .render import audio_backend

    audio = audio_backend()
    backend = audio.get("backend", "?")
    rows.append(("synthesis", str(backend), "" if backend == "fluidsynth" else
                 "sudo apt-get install libfluidsynth3 (macOS: brew install fluid-synth); pip install pyfluidsynth"))
    rows.append(_soundfont_row())
    engraver = _version("verovio")
    rows.append(("sheet music", "verovio " + engraver if engraver else "unavailable",
                 "" if engraver else "pip install verovio"))
    from .corpus import available_corpora, cached_corpora

    cached = cached_corpora()
    for name in available_corpora():
        if name.startswith("jsb"):  # read from the vendored files on every load, never cached
            rows.append(_jsb_row(name))
            continue
        hits = cached[cached["source"] == name] if not cached.empty else cached
        status = f"available, cached ({int(hits['pieces'].max())} pieces)" if len(hits) else "available, not cached yet"
        rows.append((f"corpus {name}", status, "" if len(hits) else f'python -c "import musicalpy; musicalpy.load_corpus(\'{name}\')"'))
    return rows


def _jsb_row(name: str) -> tuple[str, str, str]:
    """The doctor's row for a JSB corpus: its vendored file present and readable."""
    from .jsb import JSB_FILES, JSBDataError, data_folder

    file_name = JSB_FILES["voices" if name == "jsb_voices" else "quarter"][0]
    try:
        path = data_folder() / file_name
    except JSBDataError as error:
        return (f"corpus {name}", "unavailable", str(error))
    if not path.is_file():
        return (f"corpus {name}", f"missing: {path}", "restore data/jsb/ from the repository (git checkout data/jsb)")
    return (f"corpus {name}", f"available ({path})", "")


def _soundfont_row() -> tuple[str, str, str]:
    """The doctor's soundfont row, looked up even when FluidSynth is missing, so that a
    wrong ``MUSICALPY_SOUNDFONT`` is named with its cause."""
    import os

    from .render import find_soundfont

    install = "sudo apt-get install fluid-soundfont-gm (or set MUSICALPY_SOUNDFONT=/path/to/gm.sf2)"
    configured = os.environ.get("MUSICALPY_SOUNDFONT", "").strip()
    try:
        path, origin = find_soundfont()
    except FileNotFoundError as exc:
        fix = ("point MUSICALPY_SOUNDFONT at an existing .sf2 file, or unset it to use the system soundfont"
               if configured else install)
        return ("soundfont", f"none: {exc}", fix)
    # pretty_midi's small TimGM6mb sounds thin: suggest the full General MIDI set, unless
    # the user chose a soundfont themselves.
    good = origin == "MUSICALPY_SOUNDFONT" or "FluidR3" in path.name
    return ("soundfont", f"{path} ({origin})", "" if good else install)


def _cmd_doctor(args: argparse.Namespace) -> int:
    rows = doctor_report()
    width = max(len(r[0]) for r in rows) + 2
    problems = 0
    for item, status, fix in rows:
        print(f"{item:<{width}}{status}")
        if fix:
            problems += 1
            print(f"{'':<{width}}fix: {fix}")
    print(f"\n{problems} thing(s) to fix" if problems else "\neverything found")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .runner import run_all

    rows = run_all(args.out, notebooks=args.notebooks or None, smoke=True if args.smoke else None,
                   timeout=args.timeout)
    failed = [r["notebook"] for r in rows if r["status"] != "ok"]
    if failed:
        print(f"musicalpy run: {len(failed)} notebook(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _cmd_corpus(args: argparse.Namespace) -> int:
    from .corpus import available_corpora, cached_corpora, load_corpus

    if args.action == "list":
        for name, text in available_corpora().items():
            print(f"{name:<10} {text}")
        cached = cached_corpora()
        if not cached.empty:
            print("\ncached:")
            print(cached.to_string(index=False))
        return 0
    if not args.source:
        raise _UsageError(f"corpus {args.action} needs a corpus name or path")
    if args.action == "export":
        return _corpus_export(args)
    corpus = load_corpus(args.source, limit=args.limit)
    print(corpus)
    print(corpus.describe().round(3).to_string())
    if not corpus.report.empty:
        print("\ncould not load:")
        print(corpus.report.to_string(index=False))
    return 0


def _safe_stem(name: str) -> str:
    """A piece id as a file name (:func:`musicalpy.names.file_stem`)."""
    from .names import file_stem

    return file_stem(name)


def _check_free(paths: list[Path], force: bool) -> None:
    """Refuse to overwrite what a user made, unless --force."""
    taken = [p for p in paths if p.exists()]
    if taken and not force:
        more = f" (and {len(taken) - 1} more)" if len(taken) > 1 else ""
        raise FileExistsError(f"{taken[0]} exists{more}; pass --force to overwrite")


def _corpus_export(args: argparse.Namespace) -> int:
    from .corpus import load_corpus
    from .midi import write_midi

    if not args.out:
        raise _UsageError("corpus export needs --out DIR")
    corpus = load_corpus(args.source, limit=args.limit)
    out = Path(args.out)
    targets = {piece: out / f"{_safe_stem(piece)}.mid" for piece in corpus.piece_ids}
    _check_free(list(targets.values()), args.force)
    for piece, path in targets.items():
        write_midi(corpus.piece(piece), path)
    print(f"wrote {len(targets)} MIDI files to {out}")
    return 0


def _quiet_tensorflow() -> None:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _budget_overrides(args: argparse.Namespace, kind: str) -> dict:
    """The budget flags as settings overrides (only for kinds with those settings)."""
    from . import zoo

    flags = {"cpu_minutes": getattr(args, "cpu_minutes", None), "wall_minutes": getattr(args, "minutes", None)}
    given = {k: v for k, v in flags.items() if v is not None}
    known = set(zoo.defaults(kind, smoke=bool(getattr(args, "smoke", False))).keys())
    if given and not set(given) <= known:
        raise _UsageError(f"the {kind} kind trains without a time budget; leave out --minutes/--cpu-minutes")
    if given:  # a budget given replaces the kind's default budgets (--epochs, when given, still applies)
        given = {**{k: None for k in (*flags, "epochs") if k in known}, **given}
    return given


def _train_and_save(kind: str, corpus: str | None, out: Path, *, epochs, overrides: dict, limit, smoke: bool,
                    force: bool, command: str):
    from . import zoo
    from .pretrained import harmonizing_check, provenance, validation_check

    fam = zoo.family(kind)
    corpus = corpus or getattr(fam, "default_corpus", "bach")
    model = zoo.train(kind, corpus, epochs=epochs, settings=overrides or None, limit=limit,
                      smoke=True if smoke else None, progress=True)
    model.card["provenance"] = provenance(command)
    if "wall_minutes" in model.state:  # a resumed run: the time of all its sessions, not of the last
        model.card["training_time_s"] = round(60 * float(model.state["wall_minutes"]), 1)
    if limit is None:
        model.card["validation_check"] = validation_check(model, zoo.training_corpus(corpus))
        if fam.harmonizes and not fam.benchmark and not smoke:
            print(f"{kind}: harmonizing the validation sopranos for its card (how the default harmonizer is chosen)",
                  flush=True)
            model.card["harmonizing"] = harmonizing_check(model, zoo.training_corpus(corpus))
    path = model.save(out, force=force)
    print(f"saved {kind} model to {path} (card: {path / 'card.json'})")
    return path


def _cmd_train(args: argparse.Namespace) -> int:
    from . import zoo

    out = Path(args.out) if args.out else zoo.models_dir() / args.kind
    if out.exists() and not args.force:  # before spending minutes on training
        raise FileExistsError(f"{out} exists; pass --force to replace it or --out to choose another folder")
    _quiet_tensorflow()
    _train_and_save(args.kind, args.corpus, out, epochs=args.epochs, overrides=_budget_overrides(args, args.kind),
                    limit=args.limit, smoke=args.smoke, force=args.force, command=_command_line(args.argv))
    return 0


def _command_line(argv: list[str]) -> str:
    import shlex

    return "musicalpy " + " ".join(shlex.quote(a) for a in argv)


def _cmd_pretrained(args: argparse.Namespace) -> int:
    from . import pretrained

    if args.check_harmonizing:
        _quiet_tensorflow()
        from . import zoo

        for name in pretrained.names():
            fam = zoo.family(pretrained.card(name)["kind"])
            if fam.harmonizes and not fam.benchmark and (not args.kinds or name in args.kinds):
                check = pretrained.write_harmonizing_check(name)
                print(f"{name}: {check['atb_bits_per_note']:.3f} validation bits per A/T/B note given S; parallels "
                      f"{check['row']['parallels per 100']:.2f} per 100 (Bach {check['bach']['parallels per 100']:.2f}); "
                      f"goals {check['goals']}", flush=True)
        chosen, why = pretrained.choose_harmonizer()
        print(f"default harmonizer: {chosen} ({why})")
        return 0
    kinds = args.kinds or list(pretrained.SHIPPED)
    unknown = [k for k in kinds if k not in pretrained.SHIPPED]
    if unknown:
        raise _UsageError(f"not a shipped kind: {', '.join(unknown)}; shipped: {', '.join(pretrained.SHIPPED)}")
    budgets = {k: pretrained.SHIPPED[k][1] for k in kinds}
    total = sum(float(b.split()[-1]) for b in budgets.values() if b)
    print(f"training {len(kinds)} shipped model(s): {', '.join(kinds)}; about {total:.0f} CPU minutes in all "
          f"(about {total / 1.6:.0f} wall-clock minutes on 2 quiet cores); an interrupted four-voice (satb_*) "
          "network resumes from its last epoch, a JSB frame network (jsb_*) starts again", flush=True)
    _quiet_tensorflow()
    for kind in kinds:
        corpus, budget = pretrained.SHIPPED[kind]
        command = f"musicalpy train {kind} --corpus {corpus} {budget}".strip()
        print(f"== {command}", flush=True)
        minutes = float(budget.split()[-1]) if budget else None
        overrides = {"cpu_minutes": minutes, "wall_minutes": None} if minutes else {}
        _train_and_save(kind, corpus, pretrained.FOLDER / kind, epochs=None, overrides=overrides, limit=None,
                        smoke=False, force=True, command=command)
    return 0


def _model_or_shipped(where: str | None, *, harmonizes: bool):
    """A model folder, a shipped model's name, or (None) the best shipped model, named in what it prints."""
    from . import pretrained, zoo

    if where is None:
        if harmonizes:
            name, why = pretrained.choose_harmonizer()
            print(f"using the shipped harmonizer {name}: {why}; --model to choose another")
        else:
            name = pretrained.best()
            print(f"using the shipped model {name} (lowest validation bits per note of the shipped four-voice models; "
                  "--model to choose another)")
        return pretrained.load(name)
    if not Path(where).exists() and where in pretrained.names():
        return pretrained.load(where)
    return zoo.load(where)


def _cmd_generate(args: argparse.Namespace) -> int:
    from .midi import read_midi
    from .render import export

    if (args.notes is None) == (args.seconds is None):
        raise _UsageError("give exactly one of --notes N and --seconds S")
    _quiet_tensorflow()
    model = _model_or_shipped(args.model_dir, harmonizes=False)
    primer = None
    if args.primer:
        primer = read_midi(args.primer)
    out = Path(args.out)
    stems = [out / f"{_safe_stem(model.name)}_sample_{k}" for k in range(args.n_samples)]
    audio = "wav" if args.wav else "ogg"  # Ogg Vorbis is ~10x smaller; --wav for uncompressed audio
    formats = ["mid"] + ([] if args.no_audio else [audio]) + ([] if args.no_score else ["svg"])
    _check_free([stem.with_name(f"{stem.name}.{f}") for stem in stems for f in formats], args.force)
    notes = model.generate(n_notes=args.notes, seconds=args.seconds, n_samples=args.n_samples,
                           temperature=args.temperature, top_p=args.top_p, primer=primer, seed=args.seed)
    for k, stem in enumerate(stems):
        sample = notes[notes["piece"] == f"sample_{k}"]
        if sample.empty:
            print(f"sample {k}: the model wrote no notes; nothing saved")
            continue
        written = export(sample, stem, formats)
        print(f"sample {k}: {len(sample)} notes, {sample['end'].max():.1f} s -> "
              + ", ".join(str(p) for p in written.values()))
    return 0


def _cmd_harmonize(args: argparse.Namespace) -> int:
    from .harmonization import harmonization_stems, harmonize, ranking_table
    from .melody import load_melody

    _quiet_tensorflow()
    melodies = [load_melody(m) for m in args.melody]  # a bad melody fails here, before anything is written
    model = _model_or_shipped(args.model, harmonizes=True)
    formats = ["mid", "musicxml", "wav" if args.wav else "ogg", "svg"]
    stems = [stem for m in melodies for stem in harmonization_stems(m.name, model.name, args.n, sample=args.sample,
                                                                      out=args.out)]
    if len(set(stems)) < len(stems):
        raise ValueError("two melodies have the same name, so their files would overwrite each other; "
                         "give them one at a time or rename a file")
    _check_free([stem.with_name(f"{stem.name}.{f}") for stem in stems for f in formats], args.force)
    for melody in melodies:
        results = harmonize(melody, model=model, n=args.n, out=args.out, sample=args.sample, seed=args.seed,
                            temperature=args.temperature, formats=formats, force=args.force)
        print(f"{melody.name}: {_melody_summary(results[0].melody)}")
        for h in results:
            how = h.draw if h.draw == "most likely" else f"sampled ({h.draw.removeprefix('sampled: ')}, " \
                                                         f"temperature {args.temperature:g})"
            print(f"{melody.name}: {how} harmonization by {model.name}, {len(h.notes)} notes in four voices, "
                  f"{h.notes['end'].max():.1f} s -> " + ", ".join(str(p) for p in h.files.values()))
        if len(results) < args.n:
            print(f"{melody.name}: only {len(results)} different harmonizations of {args.n} asked for")
        print(f"ranked by {results[0].ranked_by}:")
        print(ranking_table(results).to_string(index=False))
    return 0


def _cmd_rewrite(args: argparse.Namespace) -> int:
    from .rewriting import load_chorale, load_rewriter, parse_voices, rewrite

    _quiet_tensorflow()
    parse_voices(args.voices)  # a bad voice list fails before anything is read
    chorale = load_chorale(args.chorale)
    model = load_rewriter(args.model)
    formats = ["mid", "musicxml", "wav" if args.wav else "ogg", "svg"]
    result = rewrite(chorale, voices=args.voices, bars=args.bars, model=model, seed=args.seed,
                     temperature=args.temperature, out=args.out, formats=formats, force=args.force)
    print(f"{chorale.name}: {', '.join(result.voices)} of bars {result.bars[0]}-{result.bars[1]} rewritten by "
          f"{model.name} (Gibbs sampling, seed {args.seed}, temperature {args.temperature:g}): {result.n_rewritten} "
          f"notes written, {100 * result.share_changed:.0f}% of them not Bach's; every other note kept -> "
          + ", ".join(str(p) for p in result.files.values()))
    return 0


def _melody_summary(melody) -> str:
    """Key, meter, pickup and cadences of a melody, as ``harmonize`` reads them."""
    from .names import key_signature_sharps

    sharps = key_signature_sharps(melody.key) if melody.key else 0
    signature = "no sharps or flats" if not sharps else f"{abs(sharps)} {'sharp' if sharps > 0 else 'flat'}" \
        + ("s" if abs(sharps) > 1 else "")
    pickup = f", pickup of {melody.pickup_beats:g} beat(s)" if melody.pickup_beats else ""
    cadences = (f"{len(melody.fermatas)} cadence(s) at its phrase ends (inferred: it marks no fermatas)"
                if melody.fermatas_inferred else f"{len(melody.fermatas)} fermata(s) as marked")
    return f"{melody.key or 'key unknown'} ({signature}), {melody.time_signature}{pickup}, {cadences}"


def _cmd_render(args: argparse.Namespace) -> int:
    from .midi import read_midi

    source = Path(args.file)
    notes = read_midi(source)
    wanted = [w for w in ("ogg", "wav", "svg", "pianoroll") if getattr(args, w)] or ["ogg", "svg", "pianoroll"]
    out = Path(args.out) if args.out else source.parent
    paths = {"ogg": out / f"{source.stem}.ogg", "wav": out / f"{source.stem}.wav", "svg": out / f"{source.stem}.svg",
             "pianoroll": out / f"{source.stem}_pianoroll.png"}
    _check_free([paths[w] for w in wanted], args.force)
    if "pianoroll" in wanted:
        import matplotlib

        matplotlib.use("Agg")  # a command line never opens a window
    from .render import export

    # The piano roll keeps its _pianoroll name, so it never collides with a .png score.
    stems = {"ogg": out / source.stem, "wav": out / source.stem, "svg": out / source.stem,
             "pianoroll": out / f"{source.stem}_pianoroll"}
    for what in wanted:
        fmt = "png" if what == "pianoroll" else what
        export(notes, stems[what], [fmt], measures=args.measures, title=source.name)
        print(f"{what}: {paths[what]}")
    return 0


def _time_signature(path: Path) -> str:
    from .midi import load_pretty_midi

    changes = load_pretty_midi(path).time_signature_changes
    return f"{changes[0].numerator}/{changes[0].denominator}" if changes else "4/4"


def _cmd_analyze(args: argparse.Namespace) -> int:
    import numpy as np

    from . import analysis
    from .metrics import SCALAR_FEATURES, piece_features
    from .midi import read_midi

    source = Path(args.file)
    notes = read_midi(source)
    pitched = notes[~notes["is_drum"]]
    print(f"{source.name}: {len(notes)} notes, {notes['part'].nunique()} part(s), {notes['end'].max():.1f} s")
    if pitched.empty:
        print("key: none (only drum notes)")
    else:
        key = analysis.find_key(pitched, profile=args.profile)
        print(f"key ({args.profile}): {analysis.key_name(key)} (r = {key.correlationCoefficient:.3f}); "
              f"next: {', '.join(analysis.key_name(k) for k in key.alternateInterpretations[:2])}")
        meter = args.time_signature or _time_signature(source)
        windows = analysis.windowed_keys(pitched, meter)
        size = min(args.window, int(windows["window"].max()))
        chosen = windows[(windows["window"] == size) & (windows["key"] != "")]
        counts = chosen["key"].value_counts()
        print(f"keys of the {len(chosen)} windows of {size} bar(s) in {meter}: "
              + ", ".join(f"{k} {n}" for k, n in counts.head(6).items()))
    features = piece_features(notes)
    print("features:")
    for name in SCALAR_FEATURES:
        value = features.get(name)
        if value is None:
            continue
        shown = "nan" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.4g}"
        print(f"  {name:<22} {shown}")
    if features.get("flag"):
        print(f"  flag: {features['flag']}")
    return 0


def _leaderboard_target(args: argparse.Namespace) -> Path:
    """The CSV that ``evaluate`` writes: ``--leaderboard FILE``, else ``leaderboard.csv``
    in ``--out DIR``, else in the current folder. Never the project's ``outputs/``
    (the notebooks' leaderboard) unless the user names it."""
    if args.leaderboard and args.out:
        raise _UsageError("give --out DIR or --leaderboard FILE, not both")
    if args.leaderboard:
        return Path(args.leaderboard).expanduser().resolve()
    return (Path(args.out).expanduser() if args.out else Path.cwd()).resolve() / "leaderboard.csv"


def _check_no_earlier_rows(frame, path: Path, names: list[str], force: bool) -> list[str]:
    """The models whose test rows ``path`` already holds; raise unless ``--force``.

    Checked before any scoring or sampling, so a refusal costs nothing."""
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"two model folders share the name {twice[0]!r}: their rows would replace each other "
                         "(evaluate them into different --out folders)")
    earlier = sorted(set(frame.loc[(frame["model"].isin(names)) & (frame["split"] == "test"), "model"]))
    if earlier and not force:
        raise FileExistsError(
            f"{path} already holds test rows of {', '.join(earlier)} from an earlier run; pass --force to "
            "replace them, or --out DIR / --leaderboard FILE to write elsewhere")
    return earlier


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import pandas as pd

    from . import zoo
    from .leaderboard import Leaderboard, bach_or_model

    path = _leaderboard_target(args)
    _quiet_tensorflow()
    models = [zoo.load(folder) for folder in args.model_dirs]  # every folder checked before any work
    board = Leaderboard(path)
    if args.benchmark == "jsb":
        return _evaluate_jsb(models, board, path, args.force)
    names = [model.name for model in models]
    replaced = _check_no_earlier_rows(board.frame, path, names, args.force)
    corpus = zoo.training_corpus(args.corpus, limit=args.limit)
    reference = corpus.split("test").notes
    if reference.empty:
        raise ValueError(f"{args.corpus}: the test split is empty; load more pieces")
    # The Bach-or-model test learns Bach from the training chorales and judges the
    # validation and test chorales against the samples.
    train = corpus.split("train").notes
    held_out = pd.concat([corpus.split("validation").notes, reference], ignore_index=True)
    keys = []
    for model in models:
        row, comparison, draws = zoo.evaluate(model, reference, n_samples=args.n_samples, n_notes=args.notes,
                                              seed=args.seed, n_seeds=args.n_seeds, all_draws=True)
        board.add(comparison=comparison, **row)
        keys.append((row["model"], row["representation"], row["split"]))
        frame = board.frame
        mine = frame[(frame["model"] == row["model"]) & (frame["representation"] == row["representation"])
                     & (frame["split"] == row["split"])]
        print(f"{model.name}: {row['bits_per_note']:.3f} bits/note, {row['bits_per_token']:.3f} bits/token, "
              f"mean OA {float(mine['mean_oa'].iloc[0]):.3f} ± {float(mine['mean_oa_sd'].iloc[0]):.3f} "
              f"over {args.n_seeds} sampling seed(s)")
        if args.bach_or_model:
            # Every seed's samples: each draw is one fold of the classifiers.
            test = bach_or_model(draws, train, held_out, label=model.name, seed=args.seed)
            board.update(row["model"], representation=row["representation"], split=row["split"], **test.columns)
            print(f"  {test}")
    path = board.save(path)
    columns = ["model", "representation", "representation_fingerprint", "bits_per_token", "bits_per_note", "mean_oa",
               "mean_oa_sd", "pitch_histogram_kl", "told_apart_features", "told_apart_windows", "copied_windows",
               "training_time_s", "generation_notes_per_s"]
    frame = board.frame
    shown = frame[frame["model"].isin(set(names))][[c for c in columns if c in frame.columns]]
    print(shown.round(3).to_string(index=False))
    from .leaderboard import bits_comparison

    print("\n".join(bits_comparison(frame[frame["model"].isin(set(names))])))
    kept = len(frame) - len(keys)
    change = f"replaced the earlier rows of {', '.join(replaced)}; " if replaced else ""
    print(f"leaderboard saved: {path} ({len(keys)} row(s) written; {change}{kept} other row(s) kept as they were)")
    return 0


def _evaluate_jsb(models: list, board, path: Path, force: bool) -> int:
    """``evaluate --benchmark jsb``: notebook 08's table of the models and the published
    rows, and the models' rows in the leaderboard under ``benchmark == "jsb"``."""
    from . import jsb

    names = [model.name for model in models]
    frame = board.frame
    earlier = sorted(set(frame.loc[(frame["benchmark"] == "jsb") & frame["model"].isin(names), "model"]))
    if earlier and not force:
        raise FileExistsError(f"{path} already holds JSB rows of {', '.join(earlier)}; pass --force to replace them")
    rows = [jsb.benchmark_row(model) for model in models]  # refuses a model that is not a frame model
    jsb.add_to_leaderboard(board, rows)
    table = jsb.benchmark_table(rows)
    print("JSB Chorales, canonical test split, nats per frame (lower is better)")
    print(table.drop(columns=[c for c in ("training_time_s",) if c in table.columns]).round(3).to_string(index=False))
    path = board.save(path)
    print(f"leaderboard saved: {path} ({len(rows)} JSB row(s) written)")
    return 0


def _cmd_listen(args: argparse.Namespace) -> int:
    from . import listening
    from ._config import output_dir

    page = Path(args.out or output_dir() / "listening") / listening.PAGE_NAME
    if args.open and not args.rebuild and page.is_file():
        path = page
    else:
        import matplotlib

        matplotlib.use("Agg")  # the piano rolls are drawn into files; a command line never opens a window
        _quiet_tensorflow()
        path = listening.build_page(args.models, args.out, leaderboard=args.leaderboard, n_samples=args.n_samples,
                                    pairs_per_model=args.pairs, seed=args.seed)
    print(f"listening room: {path}")
    if args.open:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    return 0


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit code 2
        raise _UsageError(message)


def _positive_int(text: str) -> int:
    from ._config import check_int

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    try:
        return check_int("the value", value)
    except ValueError as exc:  # argparse names the option in front of this message
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be above 0")
    return value


def _sub(sub, name: str, help_text: str, examples: str, func) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=f"{help_text}\n\nexamples:\n{examples}",
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(func=func)
    return parser


def _parser() -> argparse.ArgumentParser:
    from .zoo import KINDS

    parser = _Parser(prog="musicalpy", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _sub(sub, "doctor", "check versions, audio, sheet music and corpora",
         "  musicalpy doctor", _cmd_doctor)
    run = _sub(sub, "run", "the main job: execute every notebook, write outputs/",
               "  musicalpy run --out outputs --notebooks 01 02", _cmd_run)
    run.add_argument("--out", default=None, help="output folder (default: outputs/)")
    run.add_argument("--notebooks", nargs="*", help="name prefixes to run (default: all)")
    run.add_argument("--smoke", action="store_true", help="smoke settings (as MUSICALPY_SMOKE=1)")
    run.add_argument("--timeout", type=_positive_int, default=3600, help="seconds per cell")

    corpus = _sub(sub, "corpus", "list, describe or export corpora",
                  "  musicalpy corpus list\n  musicalpy corpus describe bach\n"
                  "  musicalpy corpus export bach --format midi --out chorales/", _cmd_corpus)
    corpus.add_argument("action", choices=["list", "describe", "export"])
    corpus.add_argument("source", nargs="?", help="corpus name or path (describe, export)")
    corpus.add_argument("--limit", type=_positive_int, default=None, help="load at most N pieces")
    corpus.add_argument("--format", choices=["midi"], default="midi", help="export format (midi)")
    corpus.add_argument("--out", help="export folder")
    corpus.add_argument("--force", action="store_true", help="overwrite existing files")

    train = _sub(sub, "train", "train a model with its notebook's defaults and save it with a card",
                 "  musicalpy train markov --corpus bach\n"
                 "  musicalpy train lstm --corpus bach --epochs 5 --out models/lstm-5\n"
                 "  musicalpy train hmm --corpus data/maestro-v3.0.0 --limit 20 --force", _cmd_train)
    train.add_argument("kind", choices=KINDS, help="model kind")
    train.add_argument("--corpus", default=None,
                       help="corpus name or path (default: bach; jsb_voices for satb_transformer_jsb)")
    train.add_argument("--limit", type=_positive_int, default=None, help="load at most N pieces")
    train.add_argument("--epochs", type=_positive_int, default=None,
                       help="training epochs (Baum-Welch iterations for hmm; none for unigram/markov)")
    train.add_argument("--out", help="model folder (default: models/KIND)")
    train.add_argument("--force", action="store_true", help="replace an existing model folder")
    train.add_argument("--smoke", action="store_true", help="tiny settings, for a quick check")
    train.add_argument("--cpu-minutes", type=_positive_float, default=None,
                       help="satb_* networks: stop after the epoch that passes this much process CPU time "
                            "(resumes an interrupted run of the same settings)")
    train.add_argument("--minutes", type=_positive_float, default=None,
                       help="satb_* networks: stop after the epoch that passes this much wall-clock time")

    shipped = _sub(sub, "pretrained", "retrain the models that ship inside the package (musicalpy/pretrained/)",
                   "  musicalpy pretrained                       # every shipped kind, for its budget\n"
                   "  musicalpy pretrained --kinds satb_counts   # just the counting floor (seconds)", _cmd_pretrained)
    shipped.add_argument("--kinds", nargs="*", help="shipped kinds to retrain (default: all)")
    shipped.add_argument("--check-harmonizing", action="store_true",
                         help="retrain nothing: harmonize the validation sopranos with each shipped harmonizer, store "
                              "the result in its card and print which one harmonize uses by default")

    generate = _sub(sub, "generate", "generate music with a trained model: .mid, .ogg and .svg per sample",
                    "  musicalpy generate models/hmm --notes 200 --out samples/\n"
                    "  musicalpy generate models/lstm --seconds 30 --temperature 0.8 --top-p 0.9 "
                    "--n-samples 4 --seed 1 --out samples/\n"
                    "  musicalpy generate models/markov --notes 100 --primer opening.mid --out samples/",
                    _cmd_generate)
    generate.add_argument("model_dir", nargs="?", default=None,
                          help="a folder written by musicalpy train, or a shipped model's name "
                               "(default: the best shipped four-voice model)")
    generate.add_argument("--notes", type=_positive_int, help="notes per sample")
    generate.add_argument("--seconds", type=_positive_float, help="seconds per sample")
    generate.add_argument("--temperature", type=_positive_float, default=1.0, help="below 1 safer, above 1 wilder")
    generate.add_argument("--top-p", type=_positive_float, default=None, help="nucleus sampling (lstm, wavenet)")
    generate.add_argument("--primer", help="a MIDI file to continue (unigram, markov, lstm, wavenet)")
    generate.add_argument("--seed", type=int, default=0, help="random seed (same seed, same music)")
    generate.add_argument("--n-samples", type=_positive_int, default=1, help="how many pieces")
    generate.add_argument("--out", required=True, help="output folder")
    generate.add_argument("--no-audio", action="store_true", help="skip the audio files")
    generate.add_argument("--wav", action="store_true", help="write uncompressed .wav instead of Ogg Vorbis .ogg")
    generate.add_argument("--no-score", action="store_true", help="skip the .svg scores")
    generate.add_argument("--force", action="store_true", help="overwrite existing files")

    harmonize = _sub(sub, "harmonize", "write alto, tenor and bass under a melody: .mid, .musicxml, .ogg and .svg",
                     "  musicalpy harmonize tune.mid --out harmonized/          # the shipped harmonizer\n"
                     "  musicalpy harmonize \"tinyNotation: 4/4 e4 e f g g f e d c c d e e4. d8 d2\" --n 3 "
                     "--out harmonized/\n"
                     "  musicalpy harmonize song.mxl tune.abc chorale.krn --model satb_lstm --out harmonized/\n"
                     "  musicalpy harmonize tune.mid --model models/hmm_harmonizer --out harmonized/\n"
                     "  musicalpy harmonize essenFolksong/altdeu10 --model models/hmm_harmonizer --out harmonized/\n"
                     "  musicalpy harmonize a.mid b.musicxml --model satb_transformer --out harmonized/\n"
                     "  musicalpy harmonize \"Das Hildebrandslied\" --model models/hmm_harmonizer --sample --seed 2 "
                     "--out harmonized/", _cmd_harmonize)
    harmonize.add_argument("melody", metavar="MELODY", nargs="+",
                           help="a MIDI, MusicXML (.musicxml, .xml, .mxl), ABC or Humdrum (.krn) file, a music21 "
                                "corpus path (essenFolksong/altdeu10, an Essen tune's id or title, bach/bwv66.6), or a "
                                "melody in quotes in tinyNotation (\"tinyNotation: 3/4 g4 a b c'2.\"); several are "
                                "harmonized one after the other. Its key signature, meter, pickup and fermatas are "
                                "kept; without fermatas, cadences go at its phrase ends (the last note, notes before a "
                                "rest, else every 2 bars of 4/4 or 4 bars of 2/4, 3/4, 6/8)")
    harmonize.add_argument("--model", default=None,
                           help="a folder of a kind that harmonizes, or a shipped model's name "
                                "(default: the best shipped harmonizing model)")
    harmonize.add_argument("--out", required=True, help="output folder")
    harmonize.add_argument("--n", type=_positive_int, default=1, metavar="K",
                           help="write K different harmonizations (the most likely and K-1 drawn), ranked by the "
                                "model's probability of alto, tenor and bass given the melody, files named _rank1, "
                                "_rank2, ...; the ranking is printed")
    harmonize.add_argument("--sample", action="store_true", help="draw a harmonization instead of the most likely one")
    harmonize.add_argument("--seed", type=int, default=0, help="random seed for --sample and --n")
    harmonize.add_argument("--temperature", type=_positive_float, default=1.0,
                           help="for --sample and --n: below 1 safer")
    harmonize.add_argument("--wav", action="store_true", help="write uncompressed .wav instead of Ogg Vorbis .ogg")
    harmonize.add_argument("--force", action="store_true", help="overwrite existing files")

    rewrite = _sub(sub, "rewrite", "rewrite some voices of some bars of a chorale, keeping every other note",
                   "  musicalpy rewrite bach/bwv66.6 --voices A,T --bars 3-4 --out rewritten/   # new alto and tenor\n"
                   "  musicalpy rewrite chorale.musicxml --voices B --out rewritten/          # a new bass throughout\n"
                   "  musicalpy rewrite bach/bwv66.6 --voices S,A,T,B --bars 5- --out rewritten/  # finish from bar 5",
                   _cmd_rewrite)
    rewrite.add_argument("chorale", metavar="CHORALE",
                         help="a four-voice MusicXML (.musicxml, .xml, .mxl), Humdrum (.krn), ABC or MIDI file, or a "
                              "music21 corpus path (bach/bwv66.6); parts named Soprano, Alto, Tenor, Bass, or exactly "
                              "four parts read top to bottom")
    rewrite.add_argument("--voices", default="A,T", help="the voices to rewrite: letters or names, comma-separated "
                                                         "(default A,T)")
    rewrite.add_argument("--bars", default=None, help="the bars to rewrite: 3-4, 5- (to the end) or 3, numbered as in "
                                                      "the score (a pickup is bar 0); default the whole chorale")
    rewrite.add_argument("--model", default=None, help="a folder or shipped name of a kind that rewrites "
                                                       "(default: the shipped satb_orderless)")
    rewrite.add_argument("--out", required=True, help="output folder")
    rewrite.add_argument("--seed", type=int, default=0, help="the Gibbs sampler's random seed")
    rewrite.add_argument("--temperature", type=float, default=1.0,
                         help="divides the log-probabilities (below 1 safer; 0 the most probable value at each draw)")
    rewrite.add_argument("--wav", action="store_true", help="write uncompressed .wav instead of Ogg Vorbis .ogg")
    rewrite.add_argument("--force", action="store_true", help="overwrite existing files")

    render = _sub(sub, "render", "render a MIDI file as audio, sheet music and a piano roll",
                  "  musicalpy render piece.mid                 # all three, next to the file\n"
                  "  musicalpy render piece.mid --svg --measures 8 --out scores/", _cmd_render)
    render.add_argument("file", help="a .mid file")
    render.add_argument("--ogg", action="store_true", help="audio, Ogg Vorbis (FluidSynth; the default audio)")
    render.add_argument("--wav", action="store_true", help="audio, uncompressed WAV (FluidSynth)")
    render.add_argument("--svg", action="store_true", help="sheet music (verovio)")
    render.add_argument("--pianoroll", action="store_true", help="piano-roll PNG")
    render.add_argument("--measures", type=_positive_int, default=None, help="engrave the first N measures")
    render.add_argument("--out", help="output folder (default: the file's folder)")
    render.add_argument("--force", action="store_true", help="overwrite existing files")

    analyze = _sub(sub, "analyze", "key, keys per window of bars, and the musical features of a MIDI file",
                   "  musicalpy analyze piece.mid\n  musicalpy analyze piece.mid --profile temperley --window 2",
                   _cmd_analyze)
    analyze.add_argument("file", help="a .mid file")
    analyze.add_argument("--profile", default="krumhansl",
                         choices=["krumhansl", "aarden", "bellman", "temperley", "simple"], help="key profile")
    analyze.add_argument("--window", type=_positive_int, default=4, help="bars per window (default 4)")
    analyze.add_argument("--time-signature", help="bars of this meter (default: the file's, else 4/4)")

    evaluate = _sub(sub, "evaluate", "score models on the test split, compare their samples, write a leaderboard CSV",
                    "  musicalpy evaluate models/markov models/hmm models/lstm --corpus bach   # ./leaderboard.csv\n"
                    "  musicalpy evaluate models/* --corpus bach --n-samples 16 --out results/\n"
                    "  musicalpy evaluate models/markov --leaderboard board.csv --force   # replace its markov row",
                    _cmd_evaluate)
    evaluate.add_argument("model_dirs", nargs="+", metavar="MODEL_DIR", help="folders written by musicalpy train")
    evaluate.add_argument("--corpus", default="bach", help="corpus name or path (its test split is used)")
    evaluate.add_argument("--limit", type=_positive_int, default=None, help="load at most N pieces")
    evaluate.add_argument("--n-samples", type=_positive_int, default=8, help="generated pieces per model")
    evaluate.add_argument("--notes", type=_positive_int, default=None,
                          help="notes per generated piece (default: each as long as a test piece, in beats)")
    evaluate.add_argument("--n-seeds", type=_positive_int, default=3,
                          help="sampling seeds; OA is reported as mean ± sd over them")
    evaluate.add_argument("--seed", type=int, default=0, help="random seed")
    evaluate.add_argument("--out", help="folder of the leaderboard.csv to write (default: the current folder)")
    evaluate.add_argument("--leaderboard", help="the CSV file to write, instead of --out DIR/leaderboard.csv")
    evaluate.add_argument("--force", action="store_true", help="replace the file's earlier rows of these models")
    evaluate.add_argument("--no-bach-or-model", dest="bach_or_model", action="store_false",
                          help="skip the Bach-or-model test (two classifiers try to tell the samples from the "
                               "held-out chorales, every seed's samples one fold; under a minute per model; with --n-seeds 1 it "
                               "needs --n-samples 4 or more)")
    evaluate.add_argument("--benchmark", choices=["jsb"], default=None,
                          help="score frame models (jsb_* kinds) on the JSB Chorales test split in nats per frame, "
                               "beside the published rows, instead of the corpus comparison")

    listen = _sub(sub, "listen", "write (or open) the listening room: every model's samples, scores, "
                  "harmonizations and a blind test, in one offline page",
                  "  musicalpy listen                       # outputs/listening/index.html from models/\n"
                  "  musicalpy listen --models models/ --out room/ --open\n"
                  "  musicalpy listen --out room/ --open    # open the page already written there", _cmd_listen)
    listen.add_argument("--models", default=None,
                        help="folder of model folders (default: models/, smoke runs: outputs/models; "
                             "then the shipped models)")
    listen.add_argument("--out", default=None, help="page folder (default: outputs/listening)")
    listen.add_argument("--leaderboard", default=None, help="leaderboard CSV (default: outputs/leaderboard.csv)")
    listen.add_argument("--n-samples", type=_positive_int, default=2,
                        help="samples generated per model that has none on disk")
    listen.add_argument("--pairs", type=_positive_int, default=2, help="blind-test pairs per model")
    listen.add_argument("--seed", type=int, default=0, help="sampling and blind-test seed")
    listen.add_argument("--open", action="store_true",
                        help="open the page in the browser (an existing page in --out is opened as it is)")
    listen.add_argument("--rebuild", action="store_true", help="with --open: write the page again first")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``musicalpy`` console script."""
    from ._config import MusicalPyError

    parser = _parser()
    try:
        args = parser.parse_args(argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)  # the command as given, for model cards
        if not getattr(args, "command", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except _UsageError as exc:
        print(f"musicalpy: {exc} (see musicalpy --help)", file=sys.stderr)
        return 2
    except (MusicalPyError, FileNotFoundError, ValueError, OSError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"musicalpy: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("musicalpy: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
