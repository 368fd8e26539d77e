"""Part 5: the design write-up under design/ is complete and structurally sound.

Each numbered item of the issue has its document, and each document names
the sub-points the issue asks for. The four required diagrams exist. Every
Mermaid block passes the structural check of ``design_lint``, and that check
is itself shown to reject broken diagrams. Every relative link and anchor
resolves. Every ADR has its four sections. The failure matrix has its nine
rows with every cell filled. The capacity figures are recomputed here from
the stated assumptions.
"""

from __future__ import annotations

import re
from math import ceil
from pathlib import Path

import pytest

from tests.part5_pipeline.markdown import (
    Link,
    check_link,
    headings,
    iter_links,
    mermaid_blocks,
    table_after,
)

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "design"
DOCUMENTS = sorted(DESIGN.rglob("*.md"))
ADRS = sorted((DESIGN / "decisions").glob("[0-9][0-9][0-9][0-9]-*.md"))
BLOCKS = [block for document in DOCUMENTS for block in mermaid_blocks(document)]
LINKS = [
    (document, link)
    for document in DOCUMENTS
    for link in iter_links(document.read_text(encoding="utf-8"))
]


def read(name: str) -> str:
    """The text of a design document, with runs of whitespace collapsed to one space."""
    return " ".join((DESIGN / name).read_text(encoding="utf-8").split())


def rel(path: Path) -> str:
    """``path`` relative to the repository root, for test IDs and messages."""
    return path.relative_to(ROOT).as_posix()


# --- The entry point -----------------------------------------------------------------------------


@pytest.mark.req("P5.DES.ENTRY")
def test_design_readme_links_every_design_document_and_adr() -> None:
    """design/README.md links every other document under design/ and every ADR."""
    entry = DESIGN / "README.md"
    linked = {
        (entry.parent / link.target.partition("#")[0]).resolve()
        for link in iter_links(entry.read_text(encoding="utf-8"))
    }
    documents = [doc for doc in DOCUMENTS if doc != entry]
    assert [rel(doc) for doc in documents if doc.resolve() not in linked] == []


# --- Required diagrams ---------------------------------------------------------------------------


@pytest.mark.req("P5.DES.DIAGRAMS")
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


@pytest.mark.req("P5.DES.DIAGRAMS")
def test_job_state_machine_and_jobs_table_allow_the_same_states() -> None:
    """The states of the job state machine are exactly those of jobs.state's CHECK constraint."""
    (machine,) = [b for b in BLOCKS if b.heading == "Job state machine"]
    pattern = r"^\s*(\[\*\]|\w+)\s*-->\s*(\[\*\]|\w+)"
    transitions = re.findall(pattern, machine.source, re.MULTILINE)
    diagram_states = {state for pair in transitions for state in pair} - {"[*]"}
    ddl = (DESIGN / "storage.md").read_text(encoding="utf-8")
    jobs_table = ddl.split("CREATE TABLE jobs (", 1)[1].split("CREATE TABLE", 1)[0]
    check = re.search(r"CHECK \(state IN \(([^)]*)\)\)", jobs_table)
    assert check is not None
    table_states = set(re.findall(r"'([a-z_]+)'", check[1]))
    assert diagram_states == table_states
    assert len(table_states) == 7


# --- Links and anchors ---------------------------------------------------------------------------


@pytest.mark.req("P5.DES.LINKS")
@pytest.mark.parametrize(
    ("document", "link"),
    LINKS,
    ids=[f"{rel(doc)}:{link.line}:{link.target}" for doc, link in LINKS],
)
def test_every_relative_link_in_design_resolves(document: Path, link: Link) -> None:
    """The link's file exists, and its #anchor names a heading of that file."""
    assert check_link(document, link) is None


@pytest.mark.req("P5.DES.LINKS")
def test_repository_readme_links_the_design_entry_point() -> None:
    """README.md links design/README.md, and the link resolves."""
    readme = ROOT / "README.md"
    links = iter_links(readme.read_text(encoding="utf-8"))
    entry = [link for link in links if link.target == "design/README.md"]
    assert entry
    assert [check_link(readme, link) for link in entry] == [None] * len(entry)


@pytest.mark.req("P5.DES.LINKS")
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


@pytest.mark.req("P5.DES.LINKS")
def test_repeated_headings_get_numbered_anchors_and_code_blocks_hold_no_heading() -> None:
    """Repeated headings get -1, -2 suffixes, and a '#' line inside a code block is no heading."""
    text = "# Notes\n## Notes\n```sh\n# not a heading\n```\n### Notes ###\n#hashtag\n"
    assert [(h.text, h.anchor) for h in headings(text)] == [
        ("Notes", "notes"),
        ("Notes", "notes-1"),
        ("Notes", "notes-2"),
    ]


@pytest.mark.req("P5.DES.LINKS")
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


@pytest.mark.req("P5.DES.LINKS")
def test_check_link_reports_a_missing_file(tmp_path: Path) -> None:
    """A link to a file that does not exist is reported with its line and target."""
    source = tmp_path / "doc.md"
    source.write_text("# Doc\n", encoding="utf-8")
    assert check_link(source, Link(3, "missing.md")) == "doc.md:3: missing.md does not exist"


@pytest.mark.req("P5.DES.LINKS")
def test_check_link_reports_a_missing_anchor(tmp_path: Path) -> None:
    """A link whose #anchor matches no heading of the target is reported."""
    source = tmp_path / "doc.md"
    source.write_text("# Doc\n", encoding="utf-8")
    (tmp_path / "other.md").write_text("# Other\n## Real heading\n", encoding="utf-8")
    assert check_link(source, Link(5, "other.md#unreal-heading")) == (
        "doc.md:5: other.md#unreal-heading has no heading with anchor #unreal-heading"
    )


@pytest.mark.req("P5.DES.LINKS")
def test_check_link_reports_an_anchor_on_a_file_without_headings(tmp_path: Path) -> None:
    """An anchor into a file that is not Markdown cannot resolve."""
    source = tmp_path / "doc.md"
    source.write_text("# Doc\n", encoding="utf-8")
    (tmp_path / "data.csv").write_text("a,b\n", encoding="utf-8")
    assert check_link(source, Link(1, "data.csv#a")) == (
        "doc.md:1: data.csv#a has no heading with anchor #a"
    )


@pytest.mark.req("P5.DES.LINKS")
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


@pytest.mark.req("P5.DES.ADR")
@pytest.mark.parametrize("adr", ADRS, ids=[adr.name for adr in ADRS])
def test_every_adr_has_context_decision_alternatives_and_consequences(adr: Path) -> None:
    """The ADR has Context, Decision, Alternatives rejected and Consequences, in order."""
    text = adr.read_text(encoding="utf-8")
    assert [h.text for h in headings(text) if h.level == 2] == ADR_SECTIONS


@pytest.mark.req("P5.DES.ADR")
def test_adrs_are_numbered_from_0001_without_gaps() -> None:
    """ADR numbers run 0001, 0002, ... with no gap or repeat."""
    numbers = [int(adr.name[:4]) for adr in ADRS]
    assert numbers == list(range(1, len(ADRS) + 1))


@pytest.mark.req("P5.DES.ADR")
@pytest.mark.parametrize(
    ("choice", "adr"),
    [
        ("broker", "0001-rabbitmq-quorum-queues-as-celery-broker.md"),
        ("enqueue after commit", "0002-transactional-outbox-for-enqueue.md"),
        ("scheduling and admission", "0003-size-class-queues-and-local-admission.md"),
        ("results database", "0004-postgresql-results-database-citus-ready.md"),
        (
            "object storage for derived images",
            "0005-object-storage-for-originals-and-derived-images.md",
        ),
        ("resumable uploads", "0006-tus-resumable-uploads.md"),
        ("real-time status transport", "0007-server-sent-events-for-live-status.md"),
        ("authentication", "0008-oidc-with-backend-for-frontend-sessions.md"),
        ("authorization", "0009-row-level-security-for-tenant-isolation.md"),
        ("de-identification", "0010-deidentification-at-ingest-ps315.md"),
        ("encryption and erasure", "0011-per-tenant-keys-and-crypto-shredding.md"),
        ("audit trail", "0012-hash-chained-audit-trail.md"),
    ],
)
def test_each_major_choice_has_its_adr(choice: str, adr: str) -> None:
    """The major design choice is recorded in its own ADR."""
    assert adr in [path.name for path in ADRS], choice


# --- Failure matrix ------------------------------------------------------------------------------

FAILURES = [
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
    """The failure matrix of operations.md, header row first."""
    return table_after((DESIGN / "operations.md").read_text(encoding="utf-8"), "Failure matrix")


@pytest.mark.req("P5.DES.FAILURE")
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


@pytest.mark.req("P5.DES.FAILURE")
def test_failure_matrix_rows_are_the_nine_failures_of_the_issue() -> None:
    """The matrix has one row per failure named in the issue, in the issue's order, and no other."""
    assert [row[0] for row in failure_matrix()[1:]] == FAILURES


@pytest.mark.req("P5.DES.FAILURE")
@pytest.mark.parametrize("failure", FAILURES)
def test_failure_matrix_row_fills_every_column(failure: str) -> None:
    """The failure's row has six cells, none of them empty."""
    (row,) = [row for row in failure_matrix()[1:] if row[0] == failure]
    assert len(row) == 6
    assert [cell for cell in row if not cell] == []


@pytest.mark.req("P5.DES.FAILURE")
@pytest.mark.parametrize("failure", FAILURES)
def test_failure_matrix_row_names_its_test_or_says_pending(failure: str) -> None:
    """'Demonstrated by' is 'prototype: pending' or names a test file of this repository."""
    (row,) = [row for row in failure_matrix()[1:] if row[0] == failure]
    demonstrated_by = row[5].strip("`")
    names_a_test_file = (ROOT / demonstrated_by.split("::")[0]).is_file()
    assert demonstrated_by == "prototype: pending" or names_a_test_file, demonstrated_by


# --- Capacity arithmetic, recomputed from the stated assumptions ---------------------------------

IMAGES_PER_DAY = 1_000_000
MEAN_IMAGE_MB = 1.0
WINDOW_SHARE, WINDOW_SECONDS, PEAK_FACTOR = 0.7, 10 * 3600, 2
CPU_SECONDS_PER_IMAGE = 2.0
TARGET_UTILISATION, SLOTS_PER_NODE = 0.75, 14
ROW_WRITES, TRANSACTIONS = 13, 3

AVERAGE = IMAGES_PER_DAY / 86_400
PEAK = PEAK_FACTOR * WINDOW_SHARE * IMAGES_PER_DAY / WINDOW_SECONDS
AVERAGE_MB_S, PEAK_MB_S = AVERAGE * MEAN_IMAGE_MB, PEAK * MEAN_IMAGE_MB
AVERAGE_VCPU, PEAK_VCPU = AVERAGE * CPU_SECONDS_PER_IMAGE, PEAK * CPU_SECONDS_PER_IMAGE
NODE_VCPU = TARGET_UTILISATION * SLOTS_PER_NODE
FIGURES = {
    "average rate": f"{AVERAGE:.2f} images/s",
    "average bandwidth": f"{AVERAGE_MB_S:.2f} MB/s = {AVERAGE_MB_S * 8:.1f} Mbit/s",
    "peak rate": f"{PEAK:.2f} images/s",
    "peak bandwidth": f"{PEAK_MB_S:.2f} MB/s = {PEAK_MB_S * 8:.1f} Mbit/s",
    "storage per year": f"{IMAGES_PER_DAY * MEAN_IMAGE_MB * 365 / 1e6:.0f} TB/year",
    "average CPU": f"{AVERAGE_VCPU:.2f} vCPU",
    "peak CPU": f"{PEAK_VCPU:.2f} vCPU",
    "average nodes": f"{ceil(AVERAGE_VCPU / NODE_VCPU)} nodes",
    "peak nodes": f"{ceil(PEAK_VCPU / NODE_VCPU)} nodes",
    "average row writes": f"{ROW_WRITES * AVERAGE:.1f} rows/s",
    "peak row writes": f"{ROW_WRITES * PEAK:.1f} rows/s",
    "peak transactions": f"{TRANSACTIONS * PEAK:.1f} tx/s",
}


@pytest.mark.req("P5.DES.CAPACITY")
@pytest.mark.parametrize("figure", list(FIGURES.values()), ids=list(FIGURES))
def test_capacity_page_states_each_figure_recomputed_from_its_assumptions(figure: str) -> None:
    """The capacity page states the figure this test derives from the same assumptions."""
    assert figure in read("capacity.md")


@pytest.mark.req("P5.DES.CAPACITY")
def test_capacity_page_states_the_assumptions_the_figures_come_from() -> None:
    """The assumptions this test computes with are the ones the capacity page states."""
    stated = [
        "**1,000,000**",
        "**1.0 MB**",
        "**70 %** of images arrive in a **10-hour** working window",
        "**2×** the window's mean rate",
        "**2.0 vCPU-seconds** per image",
        "**14 task slots**",
        "**75 %** utilisation",
        "**13 row writes in 3 transactions**",
    ]
    text = read("capacity.md")
    assert [phrase for phrase in stated if phrase not in text] == []
