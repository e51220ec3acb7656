"""Every relative link in the README and in docs/ resolves: the file exists in the
repository (not only on this machine) and the #anchor names a heading of that page.

Pure Python on purpose (no TensorFlow, no musicalpy import), so it runs in a second.
Anchors follow GitHub's slugs: the heading's text lower-cased, punctuation dropped,
spaces turned into hyphens, and -1, -2, ... added to repeated headings.
"""

from __future__ import annotations

import re
import subprocess
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
# [text](target) and ![alt](target); the target may carry a "title" after a space.
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_HTML_ID = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.IGNORECASE)
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)   # https:, mailto:, ...


def _prose_lines(text: str) -> list[str]:
    """The page's lines outside fenced code blocks (code is neither a link nor a heading)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's markdown text."""
    text = _INLINE_CODE.sub(lambda m: m.group(2), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)       # a link's text stays
    text = re.sub(r"<[^>]+>", "", text)                           # inline HTML goes
    text = re.sub(r"(\*\*|__|\*)", "", text)                      # emphasis markers go
    text = unicodedata.normalize("NFC", text).strip().lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in "_- ")
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor a page defines: its headings' slugs (repeats numbered) and HTML ids."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for line in _prose_lines(page.read_text(encoding="utf-8")):
        found.update(_HTML_ID.findall(line))
        match = _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(page: Path) -> list[str]:
    """The page's link and image targets, outside code."""
    targets = []
    for line in _prose_lines(page.read_text(encoding="utf-8")):
        targets.extend(_LINK.findall(_INLINE_CODE.sub("", line)))
    return targets


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """Each relative link of ``page`` that does not resolve, with the reason."""
    problems = []
    for target in links(page):
        if not target or _EXTERNAL.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / unquote(path_part)).resolve() if path_part else page.resolve()
        where = f"{page.relative_to(root)}: ({target})"
        if not resolved.is_relative_to(root):
            problems.append(f"{where} points outside the repository")
        elif not resolved.exists():
            problems.append(f"{where} names a missing file")
        elif anchor:
            if resolved.suffix.lower() != ".md":
                problems.append(f"{where} has an anchor into a file that is not markdown")
            elif unquote(anchor) not in anchors(resolved):
                problems.append(f"{where} names no heading of {resolved.relative_to(root)}")
    return problems


def _ignored_by_git(paths: list[Path]) -> set[Path]:
    """Those of ``paths`` that git ignores (they exist here but never in a clone)."""
    if not paths or not (ROOT / ".git").exists():
        return set()
    try:
        done = subprocess.run(["git", "check-ignore", "--stdin"], cwd=ROOT, capture_output=True, text=True,
                              input="\n".join(str(p.relative_to(ROOT)) for p in paths), timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return {(ROOT / line).resolve() for line in done.stdout.splitlines() if line}


def test_every_docs_page_is_checked_and_reached_from_the_readme():
    """The pages checked below are the README and each page of docs/, and a reader who
    follows links from the README reaches every one of them."""
    assert PAGES[0] == ROOT / "README.md" and set(PAGES[1:]) == set((ROOT / "docs").glob("*.md")) != set()
    reached, todo = set(), [ROOT / "README.md"]
    while todo:
        page = todo.pop()
        if page in reached:
            continue
        reached.add(page)
        for target in links(page):
            path_part = target.partition("#")[0]
            if path_part and not _EXTERNAL.match(target):
                resolved = (page.parent / unquote(path_part)).resolve()
                if resolved.suffix.lower() == ".md" and resolved.is_file():
                    todo.append(resolved)
    assert [str(page.relative_to(ROOT)) for page in PAGES if page.resolve() not in reached] == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    assert broken_links(page) == []


def test_no_link_points_into_a_git_ignored_folder():
    targets = set()
    for page in PAGES:
        for target in links(page):
            path_part = target.partition("#")[0]
            if path_part and not _EXTERNAL.match(target):
                resolved = (page.parent / unquote(path_part)).resolve()
                if resolved.exists() and resolved.is_relative_to(ROOT):
                    targets.add(resolved)
    assert sorted(str(p.relative_to(ROOT)) for p in _ignored_by_git(sorted(targets))) == []


def test_the_checker_catches_broken_links(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other page\n\n## `satb_*` kinds: the floor\n")
    page = tmp_path / "README.md"
    page.write_text("\n".join([
        "# Title", "", "## Two commands", "## Two commands",
        "[ok](docs/other.md) [ok](docs/other.md#other-page) [ok](#two-commands-1)",
        "[ok](docs/other.md#satb_-kinds-the-floor) [ok](https://example.org/missing.md)",
        "[gone](docs/missing.md) [bad anchor](docs/other.md#nope) [bad here](#two-commands-2)",
        "`[in code](docs/absent.md)`", "```", "[in a fence](docs/absent.md)", "```",
    ]))
    problems = broken_links(page, root=tmp_path)
    assert [p.split("(")[1].split(")")[0] for p in problems] == [
        "docs/missing.md", "docs/other.md#nope", "#two-commands-2"]


@pytest.mark.parametrize(("heading", "expected"), [
    ("Two commands", "two-commands"),
    ("The `musicalpy` command", "the-musicalpy-command"),
    ("01, EDA and keys", "01-eda-and-keys"),
    ("Retired: the token-grid joint kinds", "retired-the-token-grid-joint-kinds"),
    ("The per-voice leaderboard (notebook 07)", "the-per-voice-leaderboard-notebook-07"),
    ("Running MusicalPy: set-up, `make run`, `make test`", "running-musicalpy-set-up-make-run-make-test"),
    ("**Bold** words", "bold-words"),
])
def test_slugs_follow_github(heading, expected):
    assert slug(heading) == expected
