"""docs/rules.md is where the code's rule citations lead: every `docs/rules.md#anchor` in the
code names a heading that exists, and no comment cites a specification outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docs" / "rules.md"
CODE_DIRS = ("bot", "db", "migrations")
CITATION = re.compile(r"docs/rules\.md#([a-z0-9-]+)")


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors() -> set[str]:
    return {
        github_anchor(line.lstrip("#"))
        for line in RULES.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }


def code_files() -> list[Path]:
    return [p for d in CODE_DIRS for p in sorted((ROOT / d).rglob("*.py"))]


def test_every_cited_rule_exists() -> None:
    known = anchors()
    cited = {
        (path.relative_to(ROOT).as_posix(), anchor)
        for path in code_files()
        for anchor in CITATION.findall(path.read_text(encoding="utf-8"))
    }
    assert len(cited) > 20  # the code does cite its rules
    missing = sorted((path, anchor) for path, anchor in cited if anchor not in known)
    assert missing == []


def test_the_table_of_contents_links_resolve() -> None:
    known = anchors()
    links = set(re.findall(r"\]\(#([a-z0-9-]+)\)", RULES.read_text(encoding="utf-8")))
    assert links and links <= known, sorted(links - known)


def test_no_comment_cites_an_outside_specification() -> None:
    pattern = re.compile(r"\bSPEC(?: [0-9]|'s| sections)")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in code_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
