"""The ``musicalpy`` command.

Examples
--------
::

    musicalpy doctor                   # versions, audio, sheet music, corpora; how to fix
    musicalpy run --out outputs        # the main job: demo chorale + every notebook
    musicalpy corpus list              # embedded corpora and what is cached
    musicalpy corpus describe bach     # pieces, notes, splits and the load report

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
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out
    try:
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
    soundfont = audio.get("soundfont")
    origin = audio.get("soundfont_origin", "")
    rows.append(("soundfont", f"{soundfont} ({origin})" if soundfont else "none",
                 "" if soundfont and "FluidR3" in str(soundfont) else
                 "sudo apt-get install fluid-soundfont-gm (or set MUSICALPY_SOUNDFONT=/path/to/gm.sf2)"))
    engraver = _version("verovio")
    rows.append(("sheet music", "verovio " + engraver if engraver else "unavailable",
                 "" if engraver else "pip install verovio"))
    from .corpus import available_corpora, cached_corpora

    cached = cached_corpora()
    for name in available_corpora():
        hits = cached[cached["source"] == name] if not cached.empty else cached
        status = f"available, cached ({int(hits['pieces'].max())} pieces)" if len(hits) else "available, not cached yet"
        rows.append((f"corpus {name}", status, "" if len(hits) else f'python -c "import musicalpy; musicalpy.load_corpus(\'{name}\')"'))
    return rows


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
        raise _UsageError("corpus describe needs a corpus name or path")
    corpus = load_corpus(args.source, limit=args.limit)
    print(corpus)
    print(corpus.describe().round(3).to_string())
    if not corpus.report.empty:
        print("\ncould not load:")
        print(corpus.report.to_string(index=False))
    return 0


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit code 2
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="musicalpy", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    doctor = sub.add_parser("doctor", help="check versions, audio, sheet music and corpora",
                            description="Print what MusicalPy found and the command that fixes each missing piece.")
    doctor.set_defaults(func=_cmd_doctor)
    run = sub.add_parser("run", help="the main job: execute every notebook, write outputs/",
                         description="Render a demo chorale, then execute the notebooks in order.\n\n"
                                     "example: musicalpy run --out outputs --notebooks 01 02",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--out", default=None, help="output folder (default: outputs/)")
    run.add_argument("--notebooks", nargs="*", help="name prefixes to run (default: all)")
    run.add_argument("--smoke", action="store_true", help="smoke settings (as MUSICALPY_SMOKE=1)")
    run.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    run.set_defaults(func=_cmd_run)
    corpus = sub.add_parser("corpus", help="list or describe corpora",
                            description="examples: musicalpy corpus list; musicalpy corpus describe bach",
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    corpus.add_argument("action", choices=["list", "describe"])
    corpus.add_argument("source", nargs="?", help="corpus name or path (for describe)")
    corpus.add_argument("--limit", type=int, default=None, help="load at most N pieces")
    corpus.set_defaults(func=_cmd_corpus)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``musicalpy`` console script."""
    from ._config import MusicalPyError

    parser = _parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except _UsageError as exc:
        print(f"musicalpy: {exc} (see musicalpy --help)", file=sys.stderr)
        return 2
    except (MusicalPyError, FileNotFoundError, ValueError, OSError) as exc:
        print(f"musicalpy: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("musicalpy: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
