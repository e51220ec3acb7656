"""Print one run's "results at a glance" table (docs/results.md) from its leaderboard CSV.

Every number in the box comes from the file given (the leaderboard that one `make run`
wrote), so the box and the leaderboard never disagree: the floor (the unigram), the
ceiling (real training chorales in the place of samples), each model, and the JSB
benchmark rows, each number with its unit.

Usage::

    python scripts/results_at_a_glance.py outputs/leaderboard.csv
"""

from __future__ import annotations

import argparse
import math
import sys

import pandas as pd


def _number(value: float, digits: int) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def glance(frame: pd.DataFrame) -> str:
    """The markdown table: music21 rows first (floor, models, ceiling), then JSB rows."""
    frame = frame.copy()
    frame["benchmark"] = frame["benchmark"].fillna("")
    own = frame[(frame["benchmark"] == "") & (frame["split"] == "test")]
    # notebook 07's rows: one per zoo kind (they carry the kind) and the ceiling; the
    # notebooks' own experiments (notebook 02's HMM sizes, notebook 04's WaveNets...) are not
    # in the box, and neither is Bach's voice-leading reference row (it has no mean OA)
    kind = own["kind"] if "kind" in own.columns else pd.Series(float("nan"), index=own.index)
    ceiling = own["model"].astype(str).str.startswith("bach") & own["mean_oa"].notna()
    own = own[kind.notna() | ceiling]
    role = own["model"].astype(str).map(lambda name: 0 if name == "unigram" else 2 if name.startswith("bach") else 1)
    own = own.assign(_role=role).sort_values("_role", kind="stable")
    jsb = frame[frame["benchmark"] == "jsb"]
    lines = ["| what | model | test bits per note (music21 chorales) | mean OA ± sd (budget-free features, 3 seeds) |",
             "|---|---|---|---|"]
    for _, row in own.iterrows():
        name = str(row["model"])
        role = ("floor" if name == "unigram" else "ceiling" if name.startswith("bach") else "model")
        bound = " (ELBO bound)" if "ELBO" in str(row.get("notes", "")) else ""
        lines.append(f"| {role} | {name} | {_number(row['bits_per_note'], 2)}{bound} | "
                     f"{_number(row['mean_oa'], 3)} ± {_number(row.get('mean_oa_sd', math.nan), 3)} |")
    if len(jsb):
        lines += ["", "| JSB Chorales (canonical test split) | nats per frame | notes |", "|---|---|---|"]
        for _, row in jsb.sort_values("nats_per_frame").iterrows():
            lines.append(f"| {row['model']} | {_number(row['nats_per_frame'], 3)} | {row.get('notes', '')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("leaderboard", help="a leaderboard CSV written by make run")
    args = parser.parse_args(argv)
    try:
        frame = pd.read_csv(args.leaderboard)
    except (OSError, pd.errors.ParserError) as error:
        print(f"cannot read {args.leaderboard}: {error}", file=sys.stderr)
        return 2
    print(glance(frame))
    return 0


if __name__ == "__main__":
    sys.exit(main())
