"""Structural checks for the Markdown of the Part 5 design write-up.

No Mermaid parser exists as a Python package, so :func:`check_mermaid` checks
the structure that makes a diagram render:

* the first statement names a known diagram type (a flowchart also needs a
  direction);
* the diagram has at least one statement after its type;
* quotes and brackets balance. In flowcharts every bracket must belong to a
  node shape, so a label holding brackets must be quoted, which Mermaid
  requires too (``A["Ingest (ASGI)"]``);
* blocks (``subgraph``/``end``, ``loop``/``alt``/``end``, composite states,
  entity bodies, class bodies) open and close in order;
* sequence-diagram messages and notes have the form ``A->>B: text``. Once a
  diagram declares participants, every participant it uses is declared first;
* state transitions have the form ``A --> B`` or ``A --> B : label``;
* entity-relationship lines have the form ``A ||--o{ B : label``.

The check is deliberately stricter than Mermaid in places, so that whatever
it accepts renders and reads well: it refuses empty diagrams, flowcharts
without a direction, participants used before their declaration (Mermaid
would silently create a second participant for a misspelt name), duplicate
declarations, stray ``}`` lines and unknown statements. It does not support
hyphenated node IDs next to shapes, or setext headings.

The link helpers follow GitHub's rules. :func:`github_slug` turns a heading
into its anchor (lower case, punctuation removed, each space a hyphen), and
:func:`heading_slugs` numbers repeats (``-1``, ``-2``, ...) the way GitHub
does.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

EMPTY_DIAGRAM = "empty diagram"
NO_STATEMENT = "no statement after the diagram type"
NEEDS_DIRECTION = "flowchart needs a direction: TB, TD, BT, RL or LR"
UNBALANCED_QUOTES = "unbalanced quotes"
STRAY_BRACKET = "bracket or quote outside a node label (quote labels that contain brackets)"
END_AS_NODE = "'end' cannot be a node ID"
MALFORMED_MESSAGE = "malformed message (expected 'A->>B: text')"
MALFORMED_TRANSITION = "malformed transition (expected 'A --> B' or 'A --> B : label')"
MALFORMED_RELATIONSHIP = "malformed relationship (expected 'A ||--o{ B : label')"
MALFORMED_ATTRIBUTE = "malformed attribute (expected 'type name [PK|FK|UK] [\"comment\"]')"
UNRECOGNISED = "unrecognised statement"

DIRECTIONS = ("TB", "TD", "BT", "RL", "LR")
_OTHER_TYPES = (
    "sequenceDiagram",
    "stateDiagram-v2",
    "stateDiagram",
    "classDiagram",
    "classDiagram-v2",
    "erDiagram",
    "C4Context",
    "C4Container",
    "C4Component",
    "C4Dynamic",
    "C4Deployment",
    "architecture-beta",
)

_ID = r"[A-Za-z_]\w*"
# Node shapes, longest opening first so that ``[(`` wins over ``[``.
_SHAPES = (
    ("(((", ")))"),
    ("([", "])"),
    ("[[", "]]"),
    ("[(", ")]"),
    ("((", "))"),
    ("{{", "}}"),
    ("[/", "/]"),
    ("[\\", "\\]"),
    ("[/", "\\]"),
    ("[\\", "/]"),
    ("[", "]"),
    ("(", ")"),
    ("{", "}"),
    (">", "]"),
)
_LABEL = r'(?:"[^"]*"|[^"\[\](){}|]*)'
_NODE = re.compile(
    r"(?P<id>[A-Za-z0-9_]+)(?:"
    + "|".join(re.escape(open_) + _LABEL + re.escape(close) for open_, close in _SHAPES)
    + ")"
)
_EDGE_LABEL = re.compile(r'\|(?:"[^"]*"|[^"|\[\](){}]*)\|')
_STRAY = re.compile(r'[\[\](){}"|]')
_FLOW_SKIPPED = ("classDef ", "class ", "style ", "linkStyle ", "click ")

_SEQ_ARROW = r"(?:<<-->>|<<->>|-->>|->>|--x|--\)|-->|-x|-\)|->)"
_SEQ_MESSAGE = re.compile(rf"^(?P<src>{_ID})\s*{_SEQ_ARROW}\s*[+-]?(?P<dst>{_ID})\s*:(?P<text>.*)$")
_SEQ_PARTICIPANT = re.compile(rf"^(?:participant|actor)\s+(?P<id>{_ID})(?:\s+as\s+\S.*)?$")
_SEQ_NOTE = re.compile(
    rf"^note\s+(?:left of|right of|over)\s+(?P<ids>{_ID}(?:\s*,\s*{_ID})?)\s*:.*$", re.IGNORECASE
)
_SEQ_ACTIVATION = re.compile(rf"^(?:activate|deactivate)\s+(?P<id>{_ID})$")
_SEQ_BLOCKS = ("loop", "alt", "opt", "par", "critical", "break", "rect", "box")
_SEQ_BRANCHES = {"else": "alt", "and": "par", "option": "critical"}

_STATE = rf"(?:\[\*\]|{_ID})"
_STATE_TRANSITION = re.compile(rf"^{_STATE}\s*-->\s*{_STATE}(?:\s*:\s*\S.*)?$")
_STATE_DECLARATION = re.compile(
    rf'^state\s+(?:"[^"]*"\s+as\s+{_ID}|{_ID}(?:\s*<<(?:choice|fork|join)>>)?)(?P<open>\s*\{{)?$'
)
_STATE_DESCRIPTION = re.compile(rf"^{_ID}\s*:\s*\S.*$")
_STATE_NOTE = re.compile(rf"^note\s+(?:left|right)\s+of\s+{_ID}(?P<inline>\s*:\s*\S.*)?$")
_STATE_OTHER = re.compile(r"^(?:direction\s+(?:TB|TD|BT|RL|LR)|classDef\s+.+|class\s+.+|--)$")

_ER_NAME = r"[A-Za-z_][\w-]*"
_ER_RELATIONSHIP = re.compile(
    rf"^{_ER_NAME}\s+(?:\|o|\|\||\}}o|\}}\|)(?:--|\.\.)(?:o\||\|\||o\{{|\|\{{)\s+{_ER_NAME}"
    r'\s*:\s*(?:"[^"]*"|[\w-]+)$'
)
_ER_OPEN = re.compile(rf"^{_ER_NAME}\s*\{{$")
_ER_ENTITY = re.compile(rf"^{_ER_NAME}$")
_ER_ATTRIBUTE = re.compile(
    r"^[A-Za-z_][\w()\[\],-]*\s+[A-Za-z_][\w-]*"
    r'(?:\s+(?:PK|FK|UK)(?:\s*,\s*(?:PK|FK|UK))*)?(?:\s+"[^"]*")?$'
)

_PAIRS = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True)
class MermaidBlock:
    """One fenced ``mermaid`` block of a Markdown file.

    ``line`` is the file's line number of the block's first line, and
    ``heading`` the text of the closest heading above the block.
    """

    path: Path
    line: int
    heading: str
    source: str

    @property
    def kind(self) -> str:
        """The diagram type: the first word of the first statement."""
        statements = _statements(self.source)
        return statements[0][1].split()[0] if statements else ""


@dataclass(frozen=True)
class Fence:
    """A fenced code block: its opening and closing line numbers, info word and body."""

    opening: int
    closing: int
    info: str
    body: str


@dataclass(frozen=True)
class Link:
    """A link target found in Markdown, with the line it is on."""

    line: int
    target: str


def check_mermaid(source: str) -> list[str]:
    """Return the structural problems of one Mermaid diagram (empty when it is sound).

    Parameters
    ----------
    source:
        The text between the fences. Problems name the line within it,
        counting from 1.
    """
    statements = _statements(source)
    if not statements:
        return [EMPTY_DIAGRAM]
    number, header = statements[0]
    words = header.split()
    if words[0] in ("flowchart", "graph"):
        if len(words) != 2 or words[1] not in DIRECTIONS:
            return [f"line {number}: {NEEDS_DIRECTION}"]
        checker = _check_flowchart
    elif header in _OTHER_TYPES:
        checker = _CHECKERS.get(header, _check_generic)
    else:
        return [f"line {number}: unknown diagram type {words[0]!r}"]
    if len(statements) == 1:
        return [f"line {number}: {NO_STATEMENT}"]
    return checker(statements[1:])


def markdown_fences(text: str) -> list[Fence]:
    """Return the closed fenced code blocks of a Markdown text, in order."""
    fences: list[Fence] = []
    opening: re.Match[str] | None = None
    start = 0
    body: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if opening is None:
            opening = re.match(r"^ {0,3}(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\s`]*)", line)
            start, body = number, []
            continue
        fence = opening["fence"]
        if re.fullmatch(rf" {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*", line):
            fences.append(Fence(start, number, opening["info"], "\n".join(body)))
            opening = None
        else:
            body.append(line)
    return fences


def headings(text: str) -> list[tuple[int, int, str]]:
    """Return ``(line number, level, text)`` for each ATX heading outside code blocks."""
    inside = _lines_inside_fences(text)
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$", line)
        if match and number not in inside:
            found.append((number, len(match[1]), match[2] or ""))
    return found


def mermaid_blocks(path: Path) -> list[MermaidBlock]:
    """Return every ``mermaid`` block of the Markdown file at ``path``."""
    text = path.read_text(encoding="utf-8")
    titles = headings(text)
    blocks = []
    for fence in markdown_fences(text):
        if fence.info == "mermaid":
            above = [title for number, _, title in titles if number < fence.opening]
            heading = above[-1] if above else ""
            blocks.append(MermaidBlock(path, fence.opening + 1, heading, fence.body))
    return blocks


def github_slug(heading: str) -> str:
    """Return the anchor GitHub gives ``heading``.

    Markup is dropped first (code backticks, emphasis asterisks, link
    targets), then the text is lower-cased, every character that is not a
    letter, mark, number, connector (``_``), hyphen or space is removed, and
    each space becomes a hyphen.
    """
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    kept = "".join(
        char
        for char in text.strip().lower()
        if char in " -"
        or unicodedata.category(char)[0] in "LMN"
        or unicodedata.category(char) == "Pc"
    )
    return kept.replace(" ", "-")


def heading_slugs(text: str) -> set[str]:
    """Return the anchors of all headings of a Markdown text, repeats numbered as GitHub does."""
    seen: set[str] = set()
    for _, _, title in headings(text):
        base = slug = github_slug(title)
        suffix = 0
        while slug in seen:
            suffix += 1
            slug = f"{base}-{suffix}"
        seen.add(slug)
    return seen


def iter_links(text: str) -> list[Link]:
    """Return the inline and reference link targets of a Markdown text.

    Code blocks and code spans are skipped. Targets with a URL scheme
    (``https:``, ``mailto:``) are left out, because only relative links can
    be checked offline.
    """
    inside = _lines_inside_fences(text)
    links: list[Link] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if number in inside:
            continue
        visible = re.sub(r"(`+).+?\1", "", line)
        targets = [m["angled"] or m["bare"] for m in _INLINE_LINK.finditer(visible)]
        reference = _REFERENCE.match(visible)
        if reference:
            targets.append(reference["target"])
        links.extend(Link(number, target) for target in targets if not _SCHEME.match(target))
    return links


def check_link(source: Path, link: Link) -> str | None:
    """Return why ``link`` (found in the file ``source``) does not resolve, or None when it does."""
    path_part, _, anchor = link.target.partition("#")
    target = (source.parent / unquote(path_part)).resolve() if path_part else source
    where = f"{source.name}:{link.line}: {link.target}"
    if not target.exists():
        return f"{where} does not exist"
    if anchor and anchor not in heading_slugs(_read(target)):
        return f"{where} has no heading with anchor #{anchor}"
    return None


def table_after(text: str, heading: str) -> list[list[str]]:
    """Return the rows of the first Markdown table after ``heading``, header row first.

    The delimiter row (``| --- |``) is left out. Cells are stripped of
    surrounding spaces. A table ends at the first line not starting with ``|``.
    """
    lines = text.splitlines()
    numbers = [number for number, _, title in headings(text) if title == heading]
    if not numbers:
        raise ValueError(f"no heading {heading!r}")
    rows: list[list[str]] = []
    for line in lines[numbers[0] :]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if not all(re.fullmatch(r":?-{3,}:?", cell) for cell in cells):
            rows.append(cells)
    return rows


_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]"
    r'\(\s*(?:<(?P<angled>[^>\n]*)>|(?P<bare>[^\s)]+))(?:\s+"[^"]*")?\s*\)'
)
_REFERENCE = re.compile(r'^ {0,3}\[[^\]]+\]:\s*<?(?P<target>[^\s>]+)>?(?:\s+"[^"]*")?\s*$')
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() and path.suffix == ".md" else ""


def _lines_inside_fences(text: str) -> set[int]:
    inside: set[int] = set()
    for fence in markdown_fences(text):
        inside.update(range(fence.opening, fence.closing + 1))
    return inside


def _statements(source: str) -> list[tuple[int, str]]:
    """Non-blank, non-comment lines with their numbers, YAML front matter skipped."""
    lines = source.splitlines()
    numbered = list(enumerate(lines, start=1))
    first = next((i for i, (_, line) in enumerate(numbered) if line.strip()), None)
    if first is not None and numbered[first][1].strip() == "---":
        closing = next(
            (i for i in range(first + 1, len(numbered)) if numbered[i][1].strip() == "---"),
            len(numbered),
        )
        numbered = numbered[closing + 1 :]
    return [
        (number, line.strip())
        for number, line in numbered
        if line.strip() and not line.strip().startswith("%%")
    ]


def _check_flowchart(statements: list[tuple[int, str]]) -> list[str]:
    problems = []
    open_subgraphs: list[int] = []
    for number, line in statements:
        if line.count('"') % 2:
            problems.append(f"line {number}: {UNBALANCED_QUOTES}")
            continue
        if line == "end":
            if open_subgraphs:
                open_subgraphs.pop()
            else:
                problems.append(f"line {number}: 'end' without an open subgraph")
            continue
        if line.startswith(_FLOW_SKIPPED):
            continue
        if line.startswith("direction "):
            words = line.split()
            if len(words) != 2 or words[1] not in DIRECTIONS:
                problems.append(f"line {number}: {NEEDS_DIRECTION}")
            continue
        if line.startswith("subgraph "):
            open_subgraphs.append(number)
            line = line[len("subgraph ") :]
        rest = _EDGE_LABEL.sub(" ", _NODE.sub(lambda m: m["id"], line))
        if _STRAY.search(rest):
            problems.append(f"line {number}: {STRAY_BRACKET}")
        elif re.search(r"(?<![\w-])end(?![\w-])", rest):
            problems.append(f"line {number}: {END_AS_NODE}")
    problems.extend(f"line {number}: subgraph is never closed" for number in open_subgraphs)
    return problems


def _check_sequence(statements: list[tuple[int, str]]) -> list[str]:
    problems = []
    declared_anywhere = any(_SEQ_PARTICIPANT.match(line) for _, line in statements)
    declared: set[str] = set()
    blocks: list[tuple[int, str]] = []

    def use(number: int, *names: str) -> None:
        for name in names:
            if declared_anywhere and name not in declared:
                problems.append(
                    f"line {number}: participant {name!r} is used before it is declared"
                )

    for number, line in statements:
        keyword = line.split()[0]
        participant = _SEQ_PARTICIPANT.match(line)
        message = _SEQ_MESSAGE.match(line)
        note = _SEQ_NOTE.match(line)
        activation = _SEQ_ACTIVATION.match(line)
        if participant:
            if participant["id"] in declared:
                problems.append(
                    f"line {number}: participant {participant['id']!r} is declared twice"
                )
            declared.add(participant["id"])
        elif message:
            use(number, message["src"], message["dst"])
        elif note:
            use(number, *(name.strip() for name in note["ids"].split(",")))
        elif activation:
            use(number, activation["id"])
        elif keyword in _SEQ_BLOCKS:
            blocks.append((number, keyword))
        elif keyword in _SEQ_BRANCHES:
            if not blocks or blocks[-1][1] != _SEQ_BRANCHES[keyword]:
                problems.append(
                    f"line {number}: {keyword!r} outside an {_SEQ_BRANCHES[keyword]!r} block"
                )
        elif line == "end":
            if blocks:
                blocks.pop()
            else:
                problems.append(f"line {number}: 'end' without an open block")
        elif line == "autonumber" or keyword == "title":
            continue
        elif re.search(_SEQ_ARROW, line):
            problems.append(f"line {number}: {MALFORMED_MESSAGE}")
        else:
            problems.append(f"line {number}: {UNRECOGNISED}")
    problems.extend(
        f"line {number}: {keyword!r} block is never closed" for number, keyword in blocks
    )
    return problems


def _check_state(statements: list[tuple[int, str]]) -> list[str]:
    problems = []
    composites: list[int] = []
    in_note = False
    for number, line in statements:
        if in_note:
            in_note = line != "end note"
            continue
        if line.count('"') % 2:
            problems.append(f"line {number}: {UNBALANCED_QUOTES}")
            continue
        declaration = _STATE_DECLARATION.match(line)
        note = _STATE_NOTE.match(line)
        if "-->" in line:
            if not _STATE_TRANSITION.match(line):
                problems.append(f"line {number}: {MALFORMED_TRANSITION}")
        elif declaration:
            if declaration["open"]:
                composites.append(number)
        elif line == "}":
            if composites:
                composites.pop()
            else:
                problems.append(f"line {number}: '}}' without an open composite state")
        elif note:
            in_note = not note["inline"]
        elif not (_STATE_DESCRIPTION.match(line) or _STATE_OTHER.match(line)):
            problems.append(f"line {number}: {UNRECOGNISED}")
    problems.extend(f"line {number}: composite state is never closed" for number in composites)
    return problems


def _check_er(statements: list[tuple[int, str]]) -> list[str]:
    problems = []
    entity: int | None = None
    for number, line in statements:
        if entity is not None:
            if line == "}":
                entity = None
            elif not _ER_ATTRIBUTE.match(line):
                problems.append(f"line {number}: {MALFORMED_ATTRIBUTE}")
        elif _ER_OPEN.match(line):
            entity = number
        elif "--" in line or ".." in line:
            if not _ER_RELATIONSHIP.match(line):
                problems.append(f"line {number}: {MALFORMED_RELATIONSHIP}")
        elif not _ER_ENTITY.match(line):
            problems.append(f"line {number}: {UNRECOGNISED}")
    if entity is not None:
        problems.append(f"line {entity}: entity block is never closed")
    return problems


def _check_generic(statements: list[tuple[int, str]]) -> list[str]:
    """Quotes balance per line; brackets balance over the whole diagram, outside quotes."""
    problems = []
    stack: list[tuple[int, str]] = []
    for number, line in statements:
        if line.count('"') % 2:
            problems.append(f"line {number}: {UNBALANCED_QUOTES}")
            continue
        for char in re.sub(r'"[^"]*"', "", line):
            if char in "([{":
                stack.append((number, char))
            elif char in _PAIRS:
                if stack and stack[-1][1] == _PAIRS[char]:
                    stack.pop()
                else:
                    problems.append(f"line {number}: unexpected {char!r}")
    problems.extend(f"line {number}: {char!r} is never closed" for number, char in stack)
    return problems


_CHECKERS = {
    "sequenceDiagram": _check_sequence,
    "stateDiagram-v2": _check_state,
    "stateDiagram": _check_state,
    "erDiagram": _check_er,
}
