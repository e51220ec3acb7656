"""The ``musicalpy`` command (placeholder until the CLI lands)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("musicalpy: command line not ready yet", file=sys.stderr)
    return 1
