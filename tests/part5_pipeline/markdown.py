"""What the document tests need from Markdown, read with markdown-it (CommonMark + tables).

Headings get GitHub's anchors from ``mdit_py_plugins.anchors`` (lower case,
punctuation dropped, spaces to hyphens, repeats numbered ``-1``, ``-2``), so
a link's ``#anchor`` is checked the way GitHub resolves it.  Words are
counted outside code blocks, so a diagram does not count against a page's
word budget.  Mermaid blocks are checked by rendering them with Mermaid's
own CLI (``test_design_diagrams``), not here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin

_PARSER = MarkdownIt("commonmark").enable("table").use(anchors_plugin, max_level=6)
_SCHEMES = ("http:", "https:", "mailto:")


@dataclass(frozen=True)
class Link:
    """A relative link target found in Markdown, with the line it is on."""

    line: int
    target: str


@dataclass(frozen=True)
class Heading:
    """A heading: its line, level, text and GitHub anchor."""

    line: int
    level: int
    text: str
    anchor: str


@dataclass(frozen=True)
class MermaidBlock:
    """One fenced ``mermaid`` block: where it is, the heading above it, and its source."""

    path: Path
    line: int
    heading: str
    source: str

    @property
    def kind(self) -> str:
        """The diagram type: the first word of the block."""
        return self.source.split()[0]


def tokens(text: str) -> list[Token]:
    """The block tokens of a Markdown text."""
    return _PARSER.parse(text)


def headings(text: str) -> list[Heading]:
    """Every heading outside code, in order."""
    found = tokens(text)
    return [
        Heading(
            token.map[0] + 1 if token.map else 0,
            int(token.tag[1]),
            found[i + 1].content,
            str(token.attrs["id"]),
        )
        for i, token in enumerate(found)
        if token.type == "heading_open"
    ]


def iter_links(text: str) -> list[Link]:
    """Every link, image and reference-definition target outside code, except absolute URLs."""
    lines = text.splitlines()
    env: dict[str, Any] = {}
    targets: list[tuple[int, str]] = []
    for block in _PARSER.parse(text, env):
        first, last = block.map if block.map else (0, 0)
        for token in _walk(block.children or []):
            target = token.attrs.get("href") or token.attrs.get("src")
            if isinstance(target, str):
                target = unquote(target)
                # The line of the link itself, not of its paragraph's start.
                line = next((n for n in range(first, last) if target in lines[n]), first)
                targets.append((line + 1, target))
    for label, reference in env.get("references", {}).items():
        line = next(
            n
            for n, text_line in enumerate(lines)
            if text_line.lstrip().upper().startswith(f"[{label}]:")
        )
        targets.append((line + 1, unquote(reference["href"])))
    return [
        Link(line, target)
        for line, target in sorted(targets, key=lambda pair: pair[0])
        if not target.startswith(_SCHEMES)
    ]


def check_link(source: Path, link: Link) -> str | None:
    """Why ``link`` (found in the file ``source``) does not resolve, or None when it does."""
    path_part, _, anchor = link.target.partition("#")
    target = (source.parent / unquote(path_part)).resolve() if path_part else source
    where = f"{source.name}:{link.line}: {link.target}"
    if not target.exists():
        return f"{where} does not exist"
    if anchor and anchor not in _anchors(target):
        return f"{where} has no heading with anchor #{anchor}"
    return None


def prose_words(text: str) -> int:
    """The words outside fenced and indented code blocks: tables and links count, markup not.

    A word is a whitespace-separated run holding a letter or a digit, so a
    table's ``|`` and ``---`` and a lone ``×`` are not words.
    """
    code: set[int] = set()
    for token in tokens(text):
        if token.type in ("fence", "code_block") and token.map:
            code.update(range(*token.map))
    return sum(
        1
        for number, line in enumerate(text.splitlines())
        if number not in code
        for word in line.split()
        if any(character.isalnum() for character in word)
    )


def mermaid_blocks(path: Path) -> list[MermaidBlock]:
    """Every ``mermaid`` block of the Markdown file at ``path``."""
    text = path.read_text(encoding="utf-8")
    titles = headings(text)
    blocks = []
    for token in tokens(text):
        if token.type == "fence" and token.info.strip() == "mermaid" and token.map:
            above = [h.text for h in titles if h.line <= token.map[0]]
            blocks.append(
                MermaidBlock(path, token.map[0] + 2, above[-1] if above else "", token.content)
            )
    return blocks


def table_after(text: str, heading: str) -> list[list[str]]:
    """The rows of the first table after ``heading``, header row first, cells as written."""
    lines = text.splitlines()
    found = tokens(text)
    start = next(h.line for h in headings(text) if h.text == heading)
    table = next(t for t in found if t.type == "table_open" and t.map and t.map[0] >= start)
    assert table.map is not None
    rows = [lines[number] for number in range(table.map[0], table.map[1])]
    return [
        [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]]
        for number, row in enumerate(rows)
        if number != 1  # the delimiter row
    ]


def _walk(children: list[Token]) -> Iterator[Token]:
    for token in children:
        yield token
        yield from _walk(token.children or [])


@cache
def _anchors(path: Path) -> frozenset[str]:
    if not (path.is_file() and path.suffix == ".md"):
        return frozenset()
    return frozenset(h.anchor for h in headings(path.read_text(encoding="utf-8")))
