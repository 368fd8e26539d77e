"""Part 5: the design under design/ holds together, and every claim of evidence is checked.

The short answer on top has its word budget and one heading per Part 5
bullet, each linking its detailed page; every document is reachable from it.
Links and anchors resolve by GitHub's rules. The job state machine equals the
jobs table's CHECK constraint and covers the prototype's own constraint. The
failure matrix names, for each row, test files and the requirement IDs their
tests carry (read from the files' ``@pytest.mark.req`` marks), or says why it
is design-only. Every requirement ID the design cites is carried by a test.
The capacity figures are recomputed from the stated inputs, the write rate
from its own table.
"""

from __future__ import annotations

import ast
import re
import tomllib
from math import ceil
from pathlib import Path

import pytest

from exam.pipeline.models import Job
from tests.part5_pipeline.markdown import (
    Link,
    check_link,
    headings,
    iter_links,
    mermaid_blocks,
    prose_words,
    table_after,
)

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "design"
ENTRY = DESIGN / "README.md"
DOCUMENTS = sorted(DESIGN.rglob("*.md"))
ADRS = sorted((DESIGN / "decisions").glob("[0-9][0-9][0-9][0-9]-*.md"))
BLOCKS = [block for document in DOCUMENTS for block in mermaid_blocks(document)]
LINKS = [
    (document, link)
    for document in DOCUMENTS
    for link in iter_links(document.read_text(encoding="utf-8"))
]
#: A requirement ID as the design cites it; ``P5.DICOM.QIDO.*`` names a family.
REQUIREMENT_ID = re.compile(r"\bP5(?:\.[A-Z0-9]+)+(?:\.\*)?")
#: A test file named in the failure matrix, with the requirement IDs in the parentheses after it.
TEST_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)`\s*\(([^)]*)\)")


def read(name: str) -> str:
    """The text of a design document, with runs of whitespace collapsed to one space."""
    return " ".join((DESIGN / name).read_text(encoding="utf-8").split())


def rel(path: Path) -> str:
    """``path`` relative to the repository root, for test IDs and messages."""
    return path.relative_to(ROOT).as_posix()


def carried_requirements(path: Path) -> set[str]:
    """The requirement IDs the tests of a Python file carry.

    They are the string arguments of ``*.req(...)`` calls in the decorators of
    test functions and classes, and in ``pytestmark`` assignments.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    marks: list[ast.AST] = []
    for node in ast.walk(tree):
        test = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        )
        if test or isinstance(node, ast.ClassDef):
            marks += node.decorator_list
        elif isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "pytestmark" for target in node.targets
        ):
            marks.append(node.value)
    return {
        argument.value
        for mark in marks
        for call in ast.walk(mark)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "req"
        for argument in call.args
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str)
    }


def demonstration_problems(cell: str, root: Path) -> list[str]:
    """Why a failure matrix's 'Demonstrated by' cell does not hold; empty when it does."""
    problems = []
    references = TEST_REFERENCE.findall(cell)
    reasons = re.findall(r"design-only:((?:\s+[^\s;]+)*)", cell)
    if not references and not reasons:
        problems.append("names no test and gives no design-only reason")
    problems += ["design-only without a reason" for words in reasons if len(words.split()) < 3]
    for path, inside in references:
        ids = REQUIREMENT_ID.findall(inside)
        if not ids:
            problems.append(f"{path} names no requirement")
        elif not (root / path).is_file():
            problems.append(f"{path} does not exist")
        else:
            carried = carried_requirements(root / path)
            missing = [requirement for requirement in ids if requirement not in carried]
            if missing:
                problems.append(f"{path} has no test carrying {', '.join(missing)}")
    if "pending" in cell.lower():
        problems.append("says pending")
    return problems


# --- The short answer ----------------------------------------------------------------------------

#: The bullets of Part 5 of the assignment, in its order, as the short answer's headings.
PART5_BULLETS = [
    "Entry point",
    "Workers and load balancing",
    "Usage limits and the assignment algorithm",
    "Database and result reporting",
    "Logging",
    "Portal, authentication, access control, UI",
    "Security and privacy, HIPAA/GDPR, encryption",
    "Errors and downtime",
]
WORD_BUDGET = 1500


@pytest.mark.req("P5.DESIGN.ANSWER")
def test_the_short_answer_fits_its_word_budget() -> None:
    """design/README.md has at most 1,500 words outside its code blocks (the two diagrams)."""
    assert prose_words(ENTRY.read_text(encoding="utf-8")) <= WORD_BUDGET


@pytest.mark.req("P5.DESIGN.ANSWER")
@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Entry point: one ingest service.\n", 5),
        ("Two words\n```mermaid\nflowchart LR\n    a --> b\n```\nthree more here\n", 5),
        ("Text.\n\n    indented code is code\n\nend\n", 2),
        ("| Failure | Test |\n| --- | --- |\n| Broker restart | `test_relay.py` |\n", 5),
        ("3 × 14 = 42 [link](ingest.md#endpoints)\n", 4),
    ],
    ids=["plain", "fenced code", "indented code", "table", "symbols and links"],
)
def test_prose_words_count_words_outside_code_only(text: str, words: int) -> None:
    """Words in code blocks, table rules and lone symbols are not counted; links are."""
    assert prose_words(text) == words


@pytest.mark.req("P5.DESIGN.ANSWER")
def test_the_short_answer_has_one_heading_per_part5_bullet_in_order() -> None:
    """Each Part 5 bullet is a level-2 heading of the short answer, once, in their order."""
    level_two = [h.text for h in headings(ENTRY.read_text(encoding="utf-8")) if h.level == 2]
    assert [text for text in level_two if text in PART5_BULLETS] == PART5_BULLETS


@pytest.mark.req("P5.DESIGN.ANSWER")
@pytest.mark.parametrize("bullet", PART5_BULLETS)
def test_each_bullet_of_the_short_answer_links_its_detailed_page(bullet: str) -> None:
    """The bullet's section links at least one detailed design page, and the link resolves."""
    text = ENTRY.read_text(encoding="utf-8")
    level_two = [h for h in headings(text) if h.level == 2]
    (start,) = [h.line for h in level_two if h.text == bullet]
    end = min([h.line for h in level_two if h.line > start], default=len(text.splitlines()) + 1)
    pages = [
        link
        for link in iter_links(text)
        if start < link.line < end
        and link.target.partition("#")[0].endswith(".md")
        and (DESIGN / link.target.partition("#")[0]).resolve() != ENTRY.resolve()
        and (DESIGN / link.target.partition("#")[0]).resolve().is_relative_to(DESIGN)
    ]
    assert pages, bullet
    assert [check_link(ENTRY, link) for link in pages] == [None] * len(pages)


# --- The entry point -----------------------------------------------------------------------------


@pytest.mark.req("P5.DESIGN.ENTRY")
def test_every_design_document_is_reachable_from_the_entry_point() -> None:
    """Following relative links from design/README.md reaches every document under design/."""
    reached, frontier = {ENTRY.resolve()}, [ENTRY.resolve()]
    while frontier:
        document = frontier.pop()
        for link in iter_links(document.read_text(encoding="utf-8")):
            target = (document.parent / link.target.partition("#")[0]).resolve()
            if target.suffix == ".md" and target.is_file() and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert [rel(doc) for doc in DOCUMENTS if doc.resolve() not in reached] == []


@pytest.mark.req("P5.DESIGN.ENTRY")
def test_repository_readme_links_the_design_entry_point() -> None:
    """README.md links design/README.md, and the link resolves."""
    readme = ROOT / "README.md"
    links = iter_links(readme.read_text(encoding="utf-8"))
    entry = [link for link in links if link.target == "design/README.md"]
    assert entry
    assert [check_link(readme, link) for link in entry] == [None] * len(entry)


# --- Required diagrams ---------------------------------------------------------------------------


@pytest.mark.req("P5.DESIGN.DIAGRAMS")
@pytest.mark.parametrize(
    ("heading", "kind"),
    [
        ("Component diagram", "flowchart"),
        ("Upload to result", "sequenceDiagram"),
        ("Job state machine", "stateDiagram-v2"),
        ("Deployment diagram", "flowchart"),
    ],
)
def test_required_diagram_exists_under_its_heading(heading: str, kind: str) -> None:
    """A Mermaid block of the required type sits directly under the named heading."""
    assert [(b.heading, b.kind) for b in BLOCKS if b.heading == heading] == [(heading, kind)]


def machine_states() -> set[str]:
    """The states of the design's job state machine."""
    (machine,) = [b for b in BLOCKS if b.heading == "Job state machine"]
    pattern = r"^\s*(\[\*\]|\w+)\s*-->\s*(\[\*\]|\w+)"
    transitions = re.findall(pattern, machine.source, re.MULTILINE)
    return {state for pair in transitions for state in pair} - {"[*]"}


@pytest.mark.req("P5.DESIGN.DIAGRAMS")
def test_job_state_machine_and_jobs_table_allow_the_same_states() -> None:
    """The states of the job state machine are exactly those of jobs.state's CHECK constraint."""
    ddl = (DESIGN / "storage.md").read_text(encoding="utf-8")
    jobs_table = ddl.split("CREATE TABLE jobs (", 1)[1].split("CREATE TABLE", 1)[0]
    check = re.search(r"CHECK \(state IN \(([^)]*)\)\)", jobs_table)
    assert check is not None
    table_states = set(re.findall(r"'([a-z_]+)'", check[1]))
    assert machine_states() == table_states
    assert len(table_states) == 7


@pytest.mark.req("P5.DESIGN.DIAGRAMS")
def test_job_state_machine_covers_the_prototype_s_constraint_and_adds_only_cancelled() -> None:
    """Every state the prototype's job_state_valid constraint allows is in the diagram; the
    diagram's one state beyond it is cancelled."""
    (constraint,) = [c for c in Job._meta.constraints if c.name == "job_state_valid"]
    ((lookup, values),) = constraint.condition.children
    assert lookup == "state__in"
    assert set(values) <= machine_states()
    assert machine_states() - set(values) == {"cancelled"}


# --- Links and anchors ---------------------------------------------------------------------------


@pytest.mark.req("P5.DESIGN.LINKS")
@pytest.mark.parametrize(
    ("document", "link"),
    LINKS,
    ids=[f"{rel(doc)}:{link.line}:{link.target}" for doc, link in LINKS],
)
def test_every_relative_link_in_design_resolves(document: Path, link: Link) -> None:
    """The link's file exists, and its #anchor names a heading of that file."""
    assert check_link(document, link) is None


@pytest.mark.req("P5.DESIGN.LINKS")
@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Ingest", "ingest"),
        ("1. Estimate what a task needs", "1-estimate-what-a-task-needs"),
        ("Authentication: OIDC, SSO and MFA", "authentication-oidc-sso-and-mfa"),
        ("Resumable uploads (tus)", "resumable-uploads-tus"),
        ("HIPAA §164.312 and GDPR", "hipaa-164312-and-gdpr"),
        ("Upload → result", "upload--result"),
        ("`task_acks_late` and *late* acks", "task_acks_late-and-late-acks"),
        ("See [the docs](docs.md) now", "see-the-docs-now"),
        ("Ärzte und Überweisungen", "ärzte-und-überweisungen"),
        ("  padded  ", "padded"),
    ],
)
def test_a_heading_gets_github_s_anchor(heading: str, slug: str) -> None:
    """A heading's anchor is GitHub's: lower case, punctuation dropped, spaces to hyphens."""
    assert [h.anchor for h in headings(f"## {heading}\n")] == [slug]


@pytest.mark.req("P5.DESIGN.LINKS")
def test_repeated_headings_get_numbered_anchors_and_code_blocks_hold_no_heading() -> None:
    """Repeated headings get -1, -2 suffixes, and a '#' line inside a code block is no heading."""
    text = "# Notes\n## Notes\n```sh\n# not a heading\n```\n### Notes ###\n#hashtag\n"
    assert [(h.text, h.anchor) for h in headings(text)] == [
        ("Notes", "notes"),
        ("Notes", "notes-1"),
        ("Notes", "notes-2"),
    ]


@pytest.mark.req("P5.DESIGN.LINKS")
def test_iter_links_finds_relative_targets_outside_code_only() -> None:
    """Inline, image and reference links are found; code, URLs and mail addresses are not."""
    text = (
        "See [ingest](ingest.md#endpoints) and ![d](img/d.png).\n"
        "```\n[inside](fence.md)\n```\n"
        "A span `[code](span.md)`, a [site](https://example.org) and [mail](mailto:a@b.c).\n"
        '\n[ref]: decisions/README.md "title"\n\n'
        "Same page: [up](#top), angle: [a](<with space.md>).\n"
    )
    assert iter_links(text) == [
        Link(1, "ingest.md#endpoints"),
        Link(1, "img/d.png"),
        Link(7, "decisions/README.md"),
        Link(9, "#top"),
        Link(9, "with space.md"),
    ]


@pytest.mark.req("P5.DESIGN.LINKS")
def test_check_link_reports_a_missing_file(tmp_path: Path) -> None:
    """A link to a file that does not exist is reported with its line and target."""
    source = tmp_path / "doc.md"
    source.write_text("# Doc\n", encoding="utf-8")
    assert check_link(source, Link(3, "missing.md")) == "doc.md:3: missing.md does not exist"


@pytest.mark.req("P5.DESIGN.LINKS")
def test_check_link_reports_a_missing_anchor(tmp_path: Path) -> None:
    """A link whose #anchor matches no heading of the target is reported."""
    source = tmp_path / "doc.md"
    source.write_text("# Doc\n", encoding="utf-8")
    (tmp_path / "other.md").write_text("# Other\n## Real heading\n", encoding="utf-8")
    assert check_link(source, Link(5, "other.md#unreal-heading")) == (
        "doc.md:5: other.md#unreal-heading has no heading with anchor #unreal-heading"
    )


@pytest.mark.req("P5.DESIGN.LINKS")
def test_check_link_reports_an_anchor_on_a_file_without_headings(tmp_path: Path) -> None:
    """An anchor into a file that is not Markdown cannot resolve."""
    source = tmp_path / "doc.md"
    source.write_text("# Doc\n", encoding="utf-8")
    (tmp_path / "data.csv").write_text("a,b\n", encoding="utf-8")
    assert check_link(source, Link(1, "data.csv#a")) == (
        "doc.md:1: data.csv#a has no heading with anchor #a"
    )


@pytest.mark.req("P5.DESIGN.LINKS")
@pytest.mark.parametrize("target", ["other.md", "other.md#real-heading", "#doc", "sub/"])
def test_check_link_accepts_existing_files_anchors_and_folders(tmp_path: Path, target: str) -> None:
    """Links to an existing file, a real heading, a heading of the same file or a folder resolve."""
    source = tmp_path / "doc.md"
    source.write_text("# Doc\n", encoding="utf-8")
    (tmp_path / "other.md").write_text("# Other\n## Real heading\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    assert check_link(source, Link(1, target)) is None


# --- ADRs ----------------------------------------------------------------------------------------

ADR_SECTIONS = ["Context", "Decision", "Alternatives rejected", "Consequences"]


@pytest.mark.req("P5.DESIGN.ADR")
@pytest.mark.parametrize("adr", ADRS, ids=[adr.name for adr in ADRS])
def test_every_adr_has_context_decision_alternatives_and_consequences(adr: Path) -> None:
    """The ADR has Context, Decision, Alternatives rejected and Consequences, in order."""
    text = adr.read_text(encoding="utf-8")
    assert [h.text for h in headings(text) if h.level == 2] == ADR_SECTIONS


@pytest.mark.req("P5.DESIGN.ADR")
def test_adrs_are_numbered_from_0001_without_gaps() -> None:
    """ADR numbers run 0001, 0002, ... with no gap or repeat."""
    numbers = [int(adr.name[:4]) for adr in ADRS]
    assert numbers == list(range(1, len(ADRS) + 1))


@pytest.mark.req("P5.DESIGN.ADR")
@pytest.mark.parametrize(
    ("choice", "adr"),
    [
        ("broker", "0001-rabbitmq-quorum-queues-as-celery-broker.md"),
        ("enqueue after commit", "0002-transactional-outbox-for-enqueue.md"),
        ("scheduling and admission", "0003-size-class-queues-and-local-admission.md"),
        ("results database", "0004-postgresql-results-database-citus-ready.md"),
        ("object storage", "0005-object-storage-for-originals-and-derived-images.md"),
        ("resumable uploads", "0006-tus-resumable-uploads.md"),
        ("real-time status transport", "0007-server-sent-events-for-live-status.md"),
        ("authentication", "0008-oidc-with-backend-for-frontend-sessions.md"),
        ("authorization", "0009-row-level-security-for-tenant-isolation.md"),
        ("de-identification", "0010-deidentification-at-ingest-ps315.md"),
        ("encryption and erasure", "0011-per-tenant-keys-and-crypto-shredding.md"),
        ("audit trail", "0012-hash-chained-audit-trail.md"),
        ("job correctness", "0013-postgresql-decides-leases-fencing-sweeper.md"),
    ],
)
def test_each_major_choice_has_its_adr(choice: str, adr: str) -> None:
    """The major design choice is recorded in its own ADR."""
    assert adr in [path.name for path in ADRS], choice


# --- Failure matrix ------------------------------------------------------------------------------

#: The failures the design issue named, in its order: the matrix's first rows.
ISSUE_FAILURES = [
    "Worker process OOM-killed",
    "Whole worker host lost",
    "Broker restart",
    "Database failover",
    "Object store unavailable",
    "Upload cut mid-way",
    "Poison file",
    "Portal node lost",
    "Network partition",
]


def failure_matrix() -> list[list[str]]:
    """The failure matrix of operations.md, header row first, cells as written."""
    return table_after((DESIGN / "operations.md").read_text(encoding="utf-8"), "Failure matrix")


MATRIX_ROWS = failure_matrix()[1:]


@pytest.mark.req("P5.DESIGN.FAILURE")
def test_failure_matrix_has_the_six_columns() -> None:
    """The matrix's columns are failure, detection, recovery, user view, time bound and test."""
    assert failure_matrix()[0] == [
        "Failure",
        "Detection",
        "Recovery",
        "What the user sees",
        "Time bound",
        "Demonstrated by",
    ]


@pytest.mark.req("P5.DESIGN.FAILURE")
def test_failure_matrix_starts_with_the_failures_of_the_issue_in_its_order() -> None:
    """The matrix's first rows are the nine failures the design issue named, in its order."""
    assert [row[0] for row in MATRIX_ROWS[: len(ISSUE_FAILURES)]] == ISSUE_FAILURES


@pytest.mark.req("P5.DESIGN.FAILURE")
@pytest.mark.parametrize("row", MATRIX_ROWS, ids=[row[0] for row in MATRIX_ROWS])
def test_failure_matrix_row_fills_every_column(row: list[str]) -> None:
    """The failure's row has six cells, none of them empty."""
    assert len(row) == 6
    assert [cell for cell in row if not cell] == []


@pytest.mark.req("P5.DESIGN.FAILURE")
@pytest.mark.parametrize("row", MATRIX_ROWS, ids=[row[0] for row in MATRIX_ROWS])
def test_failure_matrix_row_names_tests_that_carry_its_requirements_or_why_not(
    row: list[str],
) -> None:
    """'Demonstrated by' names existing test files whose tests carry the named requirements,
    or says design-only with a reason, and never says pending."""
    assert demonstration_problems(row[5], ROOT) == []


TEST_SOURCE = '''
import pytest

pytestmark = [pytest.mark.slow]


@pytest.mark.req("P5.X.1", "P5.X.3")
def test_one() -> None:
    """One."""


class TestGroup:
    @pytest.mark.req("P5.X.2")
    def test_two(self) -> None:
        """Two."""


@pytest.mark.req("P5.X.9")
def helper() -> None:
    """Not a test: its mark carries nothing."""
'''


@pytest.mark.req("P5.DESIGN.FAILURE")
@pytest.mark.parametrize(
    ("cell", "problems"),
    [
        ("`tests/x/test_a.py` (P5.X.1)", []),
        ("`tests/x/test_a.py` (P5.X.2, P5.X.3: a class method and a second ID)", []),
        (
            "`tests/x/test_a.py` (P5.X.1); design-only: needs three database nodes",
            [],
        ),
        ("design-only: needs a cluster of machines", []),
        ("`tests/x/test_a.py` (P5.X.4)", ["tests/x/test_a.py has no test carrying P5.X.4"]),
        ("`tests/x/test_a.py` (P5.X.9)", ["tests/x/test_a.py has no test carrying P5.X.9"]),
        ("`tests/x/test_b.py` (P5.X.1)", ["tests/x/test_b.py does not exist"]),
        ("`tests/x/test_a.py` (the crash tests)", ["tests/x/test_a.py names no requirement"]),
        ("design-only: later", ["design-only without a reason"]),
        (
            "prototype: pending",
            ["names no test and gives no design-only reason", "says pending"],
        ),
    ],
    ids=[
        "one ID",
        "two IDs, one on a class's method",
        "a test and a design-only part",
        "design-only",
        "an ID no test carries",
        "an ID on a helper, not a test",
        "a missing file",
        "no ID",
        "no reason",
        "pending",
    ],
)
def test_demonstration_problems_hold_a_cell_to_the_named_files(
    tmp_path: Path, cell: str, problems: list[str]
) -> None:
    """A cell naming a file that is missing, or an ID no test in it carries, or no reason, fails."""
    (tmp_path / "tests" / "x").mkdir(parents=True)
    (tmp_path / "tests" / "x" / "test_a.py").write_text(TEST_SOURCE, encoding="utf-8")
    assert demonstration_problems(cell, tmp_path) == problems


# --- Evidence: every requirement the design cites is real and tested ----------------------------

REQUIREMENTS = {
    entry["id"]
    for entry in tomllib.loads((ROOT / "tests" / "requirements.toml").read_text("utf-8"))[
        "requirement"
    ]
}
CARRIED = {
    requirement
    for path in (ROOT / "tests").rglob("test_*.py")
    for requirement in carried_requirements(path)
}
CITED = sorted(
    {
        (rel(document), cited)
        for document in DOCUMENTS
        for cited in REQUIREMENT_ID.findall(document.read_text(encoding="utf-8"))
    }
)


@pytest.mark.req("P5.DESIGN.EVIDENCE")
@pytest.mark.parametrize(("document", "cited"), CITED, ids=[f"{d}:{c}" for d, c in CITED])
def test_every_requirement_the_design_cites_is_listed_and_carried_by_a_test(
    document: str, cited: str
) -> None:
    """The cited requirement (or, for P5.X.*, one of its family) is listed and a test carries it."""
    if cited.endswith(".*"):
        family = cited[:-1]
        assert [r for r in REQUIREMENTS & CARRIED if r.startswith(family)], cited
    else:
        assert (cited in REQUIREMENTS, cited in CARRIED) == (True, True), cited


@pytest.mark.req("P5.DESIGN.EVIDENCE")
def test_every_test_file_the_design_names_exists() -> None:
    """Each tests/... path written in the design (linked or in code spans) is a file."""
    named = {
        path
        for document in DOCUMENTS
        for path in re.findall(r"tests/part5_\w+/\w+\.py", document.read_text(encoding="utf-8"))
    }
    assert named
    assert sorted(path for path in named if not (ROOT / path).is_file()) == []


@pytest.mark.req("P5.DESIGN.EVIDENCE")
def test_every_capability_the_comparison_marks_built_names_its_requirement() -> None:
    """In the comparison's table, each 'built' claim of this design names a requirement ID."""
    table = table_after((DESIGN / "comparison.md").read_text(encoding="utf-8"), "Capabilities")
    assert table[0][-1] == "This design"
    claims = [claim for row in table[1:] for claim in re.findall(r"\(built[^)]*\)", row[-1])]
    assert claims
    assert [claim for claim in claims if not REQUIREMENT_ID.search(claim)] == []


# --- Capacity arithmetic, recomputed from the stated inputs --------------------------------------

IMAGES_PER_DAY = 1_000_000
MEAN_IMAGE_MB = 1.0
WINDOW_SHARE, WINDOW_SECONDS, PEAK_FACTOR = 0.7, 10 * 3600, 2
PLANNING_CPU_S = 2.0
TARGET_UTILISATION, SLOTS_PER_NODE = 0.75, 14
STATE_EVENTS, PORTAL_PROCESSES, PORTAL_MAX = 3, 3, 12
AUDIT_EVENTS = 2 + 0.5
PG_TX_CAPACITY, BROKER_CAPACITY = 3000, 5000
#: The image mix and the qc-measure profile of scheduling.md: share, pixels, codec factor.
MIX = [(0.85, 512 * 512, 1.0), (0.13, 640 * 480, 1.5), (0.02, 4096 * 3328, 3.0)]
CPU_BASE_S, CPU_S_PER_MPIXEL = 0.3, 0.2


def write_path() -> tuple[list[list[str]], list[str]]:
    """The rows of capacity.md's write-path table, and its total row."""
    table = table_after((DESIGN / "capacity.md").read_text(encoding="utf-8"), "Database write rate")
    *steps, total = table[1:]
    return steps, total


def number(cell: str) -> int:
    """The integer a table cell holds, bold or not."""
    return int(cell.strip("*"))


STEPS, TOTAL = write_path()
ROW_WRITES = sum(number(step[1]) for step in STEPS)
TRANSACTIONS = sum(number(step[2]) for step in STEPS)

AVERAGE = IMAGES_PER_DAY / 86_400
PEAK = PEAK_FACTOR * WINDOW_SHARE * IMAGES_PER_DAY / WINDOW_SECONDS
AVERAGE_MB_S, PEAK_MB_S = AVERAGE * MEAN_IMAGE_MB, PEAK * MEAN_IMAGE_MB
MIX_CPU_S = [
    (share, CPU_BASE_S + CPU_S_PER_MPIXEL * pixels / 1e6 * codec) for share, pixels, codec in MIX
]
QC_CPU_S = sum(share * cpu_s for share, cpu_s in MIX_CPU_S)
PUBLISHES = 1 + STATE_EVENTS
PEAK_DELIVERIES = (1 + STATE_EVENTS * PORTAL_PROCESSES) * PEAK


def nodes(vcpu: float) -> int:
    """Worker nodes for ``vcpu`` busy, planned at the target utilisation."""
    return ceil(vcpu / TARGET_UTILISATION / SLOTS_PER_NODE)


FIGURES = {
    "average rate": f"{AVERAGE:.2f} images/s",
    "average bandwidth": f"{AVERAGE_MB_S:.2f} MB/s = {AVERAGE_MB_S * 8:.1f} Mbit/s",
    "peak rate": f"{PEAK:.2f} images/s",
    "peak bandwidth": f"{PEAK_MB_S:.2f} MB/s = {PEAK_MB_S * 8:.1f} Mbit/s",
    "storage per year": f"{IMAGES_PER_DAY * MEAN_IMAGE_MB * 365 / 1e6:.0f} TB/year",
    "qc-measure CPU per image": f"**{QC_CPU_S:.2f}**",
    **{f"CPU of {share:.0%} of the mix": f"{cpu_s:.3f}" for share, cpu_s in MIX_CPU_S},
    "qc-measure average CPU": f"**{AVERAGE * QC_CPU_S:.2f} vCPU**",
    "qc-measure peak CPU": f"**{PEAK * QC_CPU_S:.2f} vCPU**",
    "qc-measure peak nodes": f"**{nodes(PEAK * QC_CPU_S)} nodes**",
    "planning average CPU": f"**{AVERAGE * PLANNING_CPU_S:.2f} vCPU**",
    "planning peak CPU": f"**{PEAK * PLANNING_CPU_S:.2f} vCPU**",
    "planning average nodes": f"**{nodes(AVERAGE * PLANNING_CPU_S)} nodes**",
    "planning peak nodes": f"**{nodes(PEAK * PLANNING_CPU_S)} nodes**",
    "average row writes": f"{ROW_WRITES * AVERAGE:.1f} rows/s",
    "peak row writes": f"{ROW_WRITES * PEAK:.1f} rows/s",
    "peak transactions": f"{TRANSACTIONS * PEAK:.1f} tx/s",
    "peak publishes": f"{PUBLISHES * PEAK:.1f} msg/s",
    "peak deliveries": f"{PEAK_DELIVERIES:.1f} msg/s",
    "peak deliveries, most portal processes": f"{(1 + STATE_EVENTS * PORTAL_MAX) * PEAK:.1f} msg/s",
    "audit events of one tenant": f"{AUDIT_EVENTS * PEAK:.1f} events/s",
    "database headroom": f"{PG_TX_CAPACITY / (TRANSACTIONS * PEAK):.1f}×",
    "broker headroom": f"{BROKER_CAPACITY / (PUBLISHES * PEAK + PEAK_DELIVERIES):.1f}×",
}


@pytest.mark.req("P5.DESIGN.CAPACITY")
@pytest.mark.parametrize("figure", list(FIGURES.values()), ids=list(FIGURES))
def test_capacity_page_states_each_figure_recomputed_from_its_inputs(figure: str) -> None:
    """The capacity page states the figure this test derives from the same inputs."""
    assert figure in read("capacity.md")


@pytest.mark.req("P5.DESIGN.CAPACITY")
def test_the_write_path_total_is_the_sum_of_its_steps_and_storage_states_it() -> None:
    """The total row of the write-path table adds up its steps, and storage.md states the same."""
    assert (number(TOTAL[1]), number(TOTAL[2])) == (ROW_WRITES, TRANSACTIONS)
    assert f"**{ROW_WRITES} row writes in {TRANSACTIONS} transactions**" in read("storage.md")


@pytest.mark.req("P5.DESIGN.CAPACITY")
def test_capacity_page_states_the_inputs_the_figures_come_from() -> None:
    """The inputs this test computes with are the ones the capacity page states."""
    stated = [
        "**1,000,000**",
        "**1.0 MB**",
        "**70 %** of images arrive in a **10-hour** working window",
        "**2×** the window's mean rate",
        "**2.0 vCPU-s** per image",
        "**14 task slots**",
        "**75 %** utilisation",
        "**3** (up to 12)",
        "**2** from the pipeline (upload, process) + **0.5** views",
        "about 3,000 short tx/s",
        "about 5,000 msg/s",
        "(0.3 s + 0.2 s per megapixel × codec factor)",
    ]
    text = read("capacity.md")
    assert [phrase for phrase in stated if phrase not in text] == []


def pool_table() -> list[list[str]]:
    """The pools of scheduling.md's worked example, header row first."""
    text = (DESIGN / "scheduling.md").read_text(encoding="utf-8")
    return table_after(text, "Pools on a `cpu-general` node")


def gib(cell: str) -> int:
    """The whole GiB a cell like '**53 GiB**' names."""
    return int(cell.strip("*").removesuffix(" GiB"))


@pytest.mark.req("P5.DESIGN.CAPACITY")
def test_the_pools_of_a_node_fit_its_memory_budget_and_slots() -> None:
    """Each pool's K × M is its product, the totals add up, and they fit 56 GiB and 14 slots."""
    *pools, total = pool_table()[1:]
    assert [gib(pool[3]) for pool in pools] == [number(pool[1]) * gib(pool[2]) for pool in pools]
    processes, memory = sum(number(p[1]) for p in pools), sum(gib(p[3]) for p in pools)
    assert (number(total[1]), gib(total[3])) == (processes, memory)
    assert processes <= SLOTS_PER_NODE
    assert memory <= 56
    assert "budget 56 GiB" in read("scheduling.md")
