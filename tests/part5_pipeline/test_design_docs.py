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

from tests.part5_pipeline.design_lint import (
    END_AS_NODE,
    MALFORMED_ATTRIBUTE,
    MALFORMED_MESSAGE,
    MALFORMED_RELATIONSHIP,
    MALFORMED_TRANSITION,
    NEEDS_DIRECTION,
    NO_STATEMENT,
    STRAY_BRACKET,
    UNBALANCED_QUOTES,
    UNRECOGNISED,
    Link,
    MermaidBlock,
    check_link,
    check_mermaid,
    github_slug,
    heading_slugs,
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


# --- Topics 1-10: one document per numbered item, covering its sub-points ----------------------

TOPICS = [
    pytest.param(
        "ingest.md",
        [
            "STOW-RS",
            "Plain application/dicom upload",
            "multipart/related",
            "Streaming to object storage without buffering",
            "tus 1.0",
            "Upload-Checksum",
            "preamble",
            "Transfer Syntax UID",
            "`413`",
            "`507`",
            "`409`",
            "SOP Instance UID",
            "dataset_sha256",
            "transactional outbox",
            "FOR UPDATE SKIP LOCKED",
        ],
        marks=pytest.mark.req("P5.DES.INGEST"),
        id="1-ingest",
    ),
    pytest.param(
        "queue-and-workers.md",
        [
            "RabbitMQ",
            "Redis",
            "task_acks_late",
            "task_reject_on_worker_lost",
            "visibility_timeout",
            "consumer_timeout",
            "delivery-limit",
            "dead-letter-exchange",
            "Idempotent tasks",
            "retry_backoff",
            "Poison messages",
        ],
        marks=pytest.mark.req("P5.DES.QUEUE"),
        id="2-queue-and-workers",
    ),
    pytest.param(
        "scheduling.md",
        [
            "heartbeat",
            "def estimate(",
            "def route(",
            "def try_reserve(",
            "def relay_admit(",
            "def autoscale(",
            "def drain(",
            "size class",
            "capability",
            "GPU",
            "Admission control",
            "Hysteresis",
            "Worked example",
        ],
        marks=pytest.mark.req("P5.DES.SCHED"),
        id="3-scheduling",
    ),
    pytest.param(
        "storage.md",
        [
            "CREATE TABLE jobs",
            "CREATE TABLE results",
            "CREATE TABLE audit_events",
            "ON CONFLICT (tenant_id, sop_instance_uid, pipeline, pipeline_version) DO UPDATE",
            "PARTITION BY RANGE",
            "PARTITION BY HASH",
            "Citus",
            "managed distributed SQL database",
            "Read replicas",
            "PgBouncer",
            "Object storage versus the database for derived images",
        ],
        marks=pytest.mark.req("P5.DES.RESULTS"),
        id="4-results-database",
    ),
    pytest.param(
        "portal.md",
        [
            "OIDC",
            "MFA",
            "PKCE",
            "per user and per organisation",
            "ENABLE ROW LEVEL SECURITY",
            "CREATE POLICY",
            "Server-sent events",
            "WebSocket",
            "LISTEN/NOTIFY",
            "Polling fallback",
            "Upload with progress",
            "Job list with live status",
            "Result view: metadata, measurements, preview",
        ],
        marks=pytest.mark.req("P5.DES.PORTAL"),
        id="5-portal",
    ),
    pytest.param(
        "security.md",
        [
            "§164.312(a)(1)",
            "§164.312(b)",
            "§164.312(c)(1)",
            "§164.312(e)(1)",
            "Minimum necessary",
            "Art. 17",
            "Art. 32",
            "Art. 33",
            "Data residency",
            "TLS 1.3",
            "AES-256",
            "KMS",
            "Key rotation",
            "crypto-shredding",
            "PS3.15 Annex E",
            "Secrets management",
            "What is never logged",
        ],
        marks=pytest.mark.req("P5.DES.SECURITY"),
        id="6-security",
    ),
    pytest.param(
        "operations.md",
        [
            "one JSON object per line",
            "Correlation ID",
            "correlation_id",
            "dicom_ingest_requests_total",
            "rabbitmq_queue_messages_ready",
            "pipeline_task_duration_seconds",
            "pipeline_tasks_total",
            "worker_memory_reserved_bytes",
            "OpenTelemetry",
            "Health checks",
            "Alerts",
            "Hash-chained audit trail",
        ],
        marks=pytest.mark.req("P5.DES.OBSERV"),
        id="7-observability",
    ),
    pytest.param(
        "operations.md",
        ["Failure matrix", "Detection", "Recovery", "What the user sees", "Time bound"],
        marks=pytest.mark.req("P5.DES.FAILURE"),
        id="8-failure-matrix",
    ),
    pytest.param(
        "capacity.md",
        [
            "1,000,000",
            "Average bandwidth",
            "Peak bandwidth",
            "Storage per year",
            "Workers",
            "Database write rate",
            "Where the first bottleneck appears",
        ],
        marks=pytest.mark.req("P5.DES.CAPACITY"),
        id="9-capacity",
    ),
    pytest.param(
        "comparison.md",
        [
            "| System | Ingest | Queueing and processing | Scaling | Audit | Access control |",
            "**Orthanc**",
            "**dcm4chee-arc**",
            "**Kaapana**",
            "**XNAT**",
            "**MONAI Deploy**",
            "**Google Cloud Healthcare API**",
            "**AWS HealthImaging**",
            "**Azure DICOM service**",
            "Where this design does better",
        ],
        marks=pytest.mark.req("P5.DES.COMPARE"),
        id="10-comparison",
    ),
]


@pytest.mark.parametrize(("document", "phrases"), TOPICS)
def test_topic_document_names_every_sub_point_of_its_issue_item(
    document: str, phrases: list[str]
) -> None:
    """The topic's document exists and names each sub-point its issue item asks for."""
    text = read(document)
    assert [phrase for phrase in phrases if phrase not in text] == []


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


@pytest.mark.req("P5.DES.ENTRY")
def test_design_readme_maps_the_design_onto_the_repository_seeds() -> None:
    """The entry point names the Part 1-4 seeds of the prototype and says it does not exist yet."""
    text = read("README.md")
    seeds = ["`exam/dicom_io.py`", "`exam/elements.py`", "`exam/logs.py`", "`exam/api/`"]
    assert [seed for seed in seeds if seed not in text] == []
    assert "The runnable prototype is a separate, later issue and does not exist yet." in text


@pytest.mark.req("P5.DES.ENTRY")
def test_repository_readme_has_the_part5_section_right_after_its_marker() -> None:
    """README.md's Part 5 section heading is the first line after the <!-- part5 --> marker."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    after_marker = lines[lines.index("<!-- part5 -->") + 1 :]
    assert next(line for line in after_marker if line.strip()) == (
        "## Part 5 — distributed processing design"
    )


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


@pytest.mark.req("P5.DES.DIAGRAMS", "P5.DES.RESULTS")
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


# --- Mermaid: every block parses, and the checker rejects broken diagrams ------------------------


@pytest.mark.req("P5.DES.MERMAID")
@pytest.mark.parametrize("block", BLOCKS, ids=[f"{rel(b.path)}:{b.line}" for b in BLOCKS])
def test_every_mermaid_block_in_design_passes_the_structural_check(block: MermaidBlock) -> None:
    """The block has a known type, balanced brackets and quotes, and well-formed statements."""
    assert check_mermaid(block.source) == []


GOOD_DIAGRAMS = {
    "flowchart with shapes, quoted labels and subgraphs": """
flowchart LR
    %% a comment
    subgraph api["Stateless services"]
        direction TB
        ingest["Ingest (ASGI)<br/>STOW-RS"] -->|"stream parts"| objects[("Object storage")]
        relay[["Relay"]] -.-> gate{"Fits?"}
    end
    gate -->|yes| run(("Run"))
    classDef store fill:#eef,stroke:#336
    class objects store
""",
    "graph with plain labels and front matter": """---
title: small
---
graph TD
    A[Upload] --> B(Queue) --> C{Decide}
    C -- no --> D>Reject]
""",
    "sequence diagram with declared participants and blocks": """
sequenceDiagram
    autonumber
    participant B as Browser
    participant I as Ingest API
    B->>I: POST /dicomweb/studies (multipart)
    loop every part
        I-->>B: 100 Continue
    end
    alt stored
        I-)B: 200
    else refused
        I--xB: 413
    end
    Note over B,I: any text, even (unbalanced
    activate I
    deactivate I
""",
    "sequence diagram with implicit participants": """
sequenceDiagram
    Alice->>Bob: hello
    Bob-->>Alice: hi
""",
    "state diagram with composite state and notes": """
stateDiagram-v2
    [*] --> queued : committed
    state "Running a task" as running
    queued --> running
    state running_detail {
        [*] --> decoding
        decoding --> [*]
    }
    running --> [*]
    note right of queued : waiting in the broker
    note left of running
        a note over
        several lines
    end note
    queued : waiting
""",
    "entity-relationship diagram": """
erDiagram
    TENANTS ||--o{ INSTANCES : owns
    UPLOADS |o--o| INSTANCES : "becomes"
    INSTANCES {
        uuid tenant_id PK
        varchar(64) sop_instance_uid PK, FK "the SOP Instance UID"
    }
    RESULTS
""",
    "class diagram": """
classDiagram
    class Job {
        +claim(node) bool
    }
    Job <|-- RetryingJob
""",
    "C4 context diagram": """
C4Context
    Person(user, "Radiologist", "Reads (and approves) results")
    System(portal, "Portal")
    Rel(user, portal, "Uses")
""",
}


@pytest.mark.req("P5.DES.MERMAID")
@pytest.mark.parametrize("source", list(GOOD_DIAGRAMS.values()), ids=list(GOOD_DIAGRAMS))
def test_check_mermaid_accepts_a_well_formed_diagram(source: str) -> None:
    """A well-formed diagram of each supported type gives no problem."""
    assert check_mermaid(source) == []


BAD_DIAGRAMS = [
    ("empty block", "", ["empty diagram"]),
    ("comments only", "%% nothing here\n", ["empty diagram"]),
    ("type and nothing else", "flowchart LR\n", [f"line 1: {NO_STATEMENT}"]),
    ("misspelt type", "flowchat LR\n    A --> B\n", ["line 1: unknown diagram type 'flowchat'"]),
    ("flowchart without direction", "flowchart\n    A --> B\n", [f"line 1: {NEEDS_DIRECTION}"]),
    ("flowchart with bad direction", "graph XY\n    A --> B\n", [f"line 1: {NEEDS_DIRECTION}"]),
    (
        "bad direction in a subgraph",
        "flowchart LR\n  subgraph s\n  direction UP\n  end\n",
        [f"line 3: {NEEDS_DIRECTION}"],
    ),
    (
        "unquoted label holding brackets",
        "flowchart LR\n    A[Ingest (ASGI)] --> B\n",
        [f"line 2: {STRAY_BRACKET}"],
    ),
    ("unclosed node shape", "flowchart LR\n    A[label --> B\n", [f"line 2: {STRAY_BRACKET}"]),
    ("unclosed edge label", 'flowchart LR\n    A -->|"x" B\n', [f"line 2: {STRAY_BRACKET}"]),
    ("unbalanced quotes", 'flowchart LR\n    A["open --> B\n', [f"line 2: {UNBALANCED_QUOTES}"]),
    ("end as a node ID", "flowchart LR\n    A --> end\n", [f"line 2: {END_AS_NODE}"]),
    (
        "unclosed subgraph",
        'flowchart LR\n    subgraph s["S"]\n    A --> B\n',
        ["line 2: subgraph is never closed"],
    ),
    (
        "end without subgraph",
        "flowchart LR\n    A --> B\n    end\n",
        ["line 3: 'end' without an open subgraph"],
    ),
    (
        "two problems in one flowchart",
        "flowchart LR\n    A[x(y)] --> B\n    end\n",
        [f"line 2: {STRAY_BRACKET}", "line 3: 'end' without an open subgraph"],
    ),
    (
        "undeclared participant",
        "sequenceDiagram\n    participant A\n    A->>B: hi\n",
        ["line 3: participant 'B' is used before it is declared"],
    ),
    (
        "participant declared after use",
        "sequenceDiagram\n    A->>B: hi\n    participant A\n    participant B\n",
        [
            "line 2: participant 'A' is used before it is declared",
            "line 2: participant 'B' is used before it is declared",
        ],
    ),
    (
        "undeclared participant in a note",
        "sequenceDiagram\n    participant A\n    Note over A,Z: text\n",
        ["line 3: participant 'Z' is used before it is declared"],
    ),
    (
        "undeclared participant activated",
        "sequenceDiagram\n    participant A\n    activate Q\n",
        ["line 3: participant 'Q' is used before it is declared"],
    ),
    (
        "participant declared twice",
        "sequenceDiagram\n    participant A\n    participant A\n",
        ["line 3: participant 'A' is declared twice"],
    ),
    ("message without colon", "sequenceDiagram\n    A->B hi\n", [f"line 2: {MALFORMED_MESSAGE}"]),
    (
        "unclosed loop",
        "sequenceDiagram\n    loop every part\n    A->>B: x\n",
        ["line 2: 'loop' block is never closed"],
    ),
    (
        "else outside alt",
        "sequenceDiagram\n    loop x\n    else y\n    end\n",
        ["line 3: 'else' outside an 'alt' block"],
    ),
    (
        "end without block",
        "sequenceDiagram\n    A->>B: x\n    end\n",
        ["line 3: 'end' without an open block"],
    ),
    (
        "unknown sequence statement",
        "sequenceDiagram\n    participant A\n    frobnicate A\n",
        [f"line 3: {UNRECOGNISED}"],
    ),
    (
        "transition without target",
        "stateDiagram-v2\n    queued -->\n",
        [f"line 2: {MALFORMED_TRANSITION}"],
    ),
    (
        "transition with empty label",
        "stateDiagram-v2\n    queued --> running :\n",
        [f"line 2: {MALFORMED_TRANSITION}"],
    ),
    (
        "transition between quoted names",
        'stateDiagram-v2\n    "a b" --> c\n',
        [f"line 2: {MALFORMED_TRANSITION}"],
    ),
    (
        "unclosed composite state",
        "stateDiagram-v2\n    state Busy {\n    a --> b\n",
        ["line 2: composite state is never closed"],
    ),
    (
        "closing brace without composite",
        "stateDiagram-v2\n    a --> b\n    }\n",
        ["line 3: '}' without an open composite state"],
    ),
    (
        "unbalanced quotes in a state",
        'stateDiagram-v2\n    state "Waiting as w\n',
        [f"line 2: {UNBALANCED_QUOTES}"],
    ),
    ("unknown state statement", "stateDiagram-v2\n    a -> b\n", [f"line 2: {UNRECOGNISED}"]),
    (
        "relationship with a bad cardinality",
        "erDiagram\n    JOBS ||--o RESULTS : writes\n",
        [f"line 2: {MALFORMED_RELATIONSHIP}"],
    ),
    (
        "relationship without label",
        "erDiagram\n    JOBS ||--o{ RESULTS\n",
        [f"line 2: {MALFORMED_RELATIONSHIP}"],
    ),
    (
        "attribute without name",
        "erDiagram\n    JOBS {\n    uuid\n    }\n",
        [f"line 3: {MALFORMED_ATTRIBUTE}"],
    ),
    (
        "unclosed entity",
        "erDiagram\n    JOBS {\n    uuid id PK\n",
        ["line 2: entity block is never closed"],
    ),
    ("unknown ER statement", "erDiagram\n    JOBS has RESULTS\n", [f"line 2: {UNRECOGNISED}"]),
    (
        "unclosed class body",
        "classDiagram\n    class Job {\n    +claim()\n",
        ["line 2: '{' is never closed"],
    ),
    ("stray closing bracket", "classDiagram\n    Job <|-- Task)\n", ["line 2: unexpected ')'"]),
    (
        "unbalanced quotes in C4",
        'C4Context\n    Person(user, "User)\n',
        [f"line 2: {UNBALANCED_QUOTES}"],
    ),
]


@pytest.mark.req("P5.DES.MERMAID")
@pytest.mark.parametrize(
    ("source", "expected"),
    [(source, expected) for _, source, expected in BAD_DIAGRAMS],
    ids=[name for name, _, _ in BAD_DIAGRAMS],
)
def test_check_mermaid_reports_each_structural_error(source: str, expected: list[str]) -> None:
    """A broken diagram gives exactly the expected problems, each naming its line."""
    assert check_mermaid(source) == expected


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
def test_github_slug_follows_github_anchor_rules(heading: str, slug: str) -> None:
    """A heading becomes GitHub's anchor: lower case, punctuation dropped, spaces to hyphens."""
    assert github_slug(heading) == slug


@pytest.mark.req("P5.DES.LINKS")
def test_heading_slugs_number_repeated_headings_and_ignore_code_blocks() -> None:
    """Repeated headings get -1, -2 suffixes, and a '#' line inside a code block is no heading."""
    text = "# Notes\n## Notes\n```sh\n# not a heading\n```\n### Notes ###\n#hashtag\n"
    assert heading_slugs(text) == {"notes", "notes-1", "notes-2"}
    assert [title for _, _, title in headings(text)] == ["Notes", "Notes", "Notes"]


@pytest.mark.req("P5.DES.LINKS")
def test_iter_links_finds_relative_targets_outside_code_only() -> None:
    """Inline, image and reference links are found; code, URLs and mail addresses are not."""
    text = (
        "See [ingest](ingest.md#endpoints) and ![d](img/d.png).\n"
        "```\n[inside](fence.md)\n```\n"
        "A span `[code](span.md)`, a [site](https://example.org) and [mail](mailto:a@b.c).\n"
        '[ref]: decisions/README.md "title"\n'
        "Same page: [up](#top), angle: [a](<with space.md>).\n"
    )
    assert iter_links(text) == [
        Link(1, "ingest.md#endpoints"),
        Link(1, "img/d.png"),
        Link(6, "decisions/README.md"),
        Link(7, "#top"),
        Link(7, "with space.md"),
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
    assert [title for _, level, title in headings(text) if level == 2] == ADR_SECTIONS


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
