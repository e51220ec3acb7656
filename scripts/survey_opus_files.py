"""Which files of the "composers" corpus does music21 parse as an Opus, and how are they loaded?

An Opus is several scores in one file. ``musicalpy.corpus`` merges an Opus whose scores
share one title (the voices of one work, as in music21's Josquin ABC files) and keeps
the scores of any other Opus as separate pieces. This script checks that rule against
the files themselves, in two passes:

1. Every score file in the composer folders ``load_corpus("composers")`` draws from (all
   of them, not only the ``per_composer`` chosen ones): a text scan counts the records
   that make music21 build an Opus, ``X:`` tunes in ABC and ``!!!!SEGMENT`` in Humdrum
   (MusicXML files hold one score each).
2. Every file of the composers corpus as loaded (``--per-composer``, default 40): parsed
   with music21, with its type, number of scores, distinct titles, what the loader
   makes of it and the parts of the loaded piece(s). Pieces left with one part are
   listed at the end, so a multi-voice work loaded as one voice shows up.

Usage::

    python scripts/survey_opus_files.py [--per-composer 40]

Run on music21 9.9.2 (December 2026), pass 1 finds 8 multi-record files among all the
folders' score files, the 8 Josquin chansons (2 to 5 tunes each, one per voice, every
tune titled with the work's name); pass 2 parses the 196 files of the composers corpus
(serially: about 15 minutes on a busy 2-core machine) and finds the same 8 as the only
Opus files, each merged into one piece of 2 to 5 parts; no piece loads with one part
and every file loads.
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from pathlib import Path

#: Records that make music21 return an Opus, per file suffix.
_RECORD = {".abc": r"^X:", ".krn": r"^!!!!SEGMENT"}


def scan_records() -> list[tuple[str, str, int]]:
    """(composer folder, file, records) for every ABC/Humdrum file with more than one record."""
    from music21 import corpus as m21corpus

    from musicalpy.corpus import COMPOSER_FOLDERS

    found = []
    for folder in COMPOSER_FOLDERS:
        for path in map(Path, m21corpus.getComposer(folder)):
            pattern = _RECORD.get(path.suffix.lower())
            if pattern is None:
                continue
            records = len(re.findall(pattern, path.read_text(encoding="latin-1"), flags=re.MULTILINE))
            if records > 1:
                found.append((folder, str(path).split("corpus/", 1)[-1], records))
    return found


def survey_loaded(per_composer: int) -> list[dict]:
    """One row per file of the composers corpus: how music21 parses it and what loads."""
    from music21 import converter, stream
    from tqdm.auto import tqdm

    from musicalpy.corpus import _parse_job, _plan_composers

    rows = []
    for job in tqdm(_plan_composers(per_composer), desc="parsing", unit="file"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                loaded = converter.parse(job["source"])
            except Exception as exc:  # reported in the table, like load_corpus reports it
                rows.append({"file": job["piece"], "composer": job["composer"], "type": f"error: {exc}"[:60]})
                continue
            pieces, reason = _parse_job(job)
        is_opus = isinstance(loaded, stream.Opus)
        scores = list(loaded.scores) if is_opus else [loaded]
        titles = {(s.metadata.title if s.metadata else None) or "" for s in scores}
        rows.append({
            "file": job["piece"], "composer": job["composer"], "type": type(loaded).__name__,
            "scores": len(scores), "titles": len(titles), "pieces": len(pieces),
            "parts": [row["n_parts"] for _, row in pieces], "reason": reason or "",
        })
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-composer", type=int, default=40, help="as load_corpus(per_composer=...)")
    args = parser.parse_args(argv)

    records = scan_records()
    print(f"pass 1: {len(records)} ABC/Humdrum file(s) with more than one record")
    for folder, name, count in records:
        print(f"  {folder:<12} {name:<60} {count} records")

    rows = survey_loaded(args.per_composer)
    opus = [r for r in rows if r.get("type") == "Opus"]
    print(f"\npass 2: {len(rows)} files in the composers corpus, {len(opus)} parsed as an Opus")
    for r in opus:
        decision = "merged into one piece" if r["pieces"] == 1 else f"{r['pieces']} separate pieces"
        print(f"  {r['file']:<60} {r['scores']} scores, {r['titles']} title(s): {decision}, parts {r['parts']}")
    single = [r for r in rows if r.get("parts") == [1]]
    print(f"\npieces that load with one part: {len(single)}")
    for r in single:
        print(f"  {r['composer']:<14} {r['file']}")
    failed = [r for r in rows if r.get("reason") or str(r.get("type", "")).startswith("error")]
    print(f"files that do not load: {len(failed)}")
    for r in failed:
        print(f"  {r['file']}: {r.get('reason') or r['type']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
