"""The operations page: workers, queues, outbox, failures and the audit log, for staff only."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework import status

from exam.pipeline.models import AuditEvent, Job, Outbox
from exam.pipeline.tasks import TASK_NAME, app
from tests.part5_pipeline.conftest import Processes

from .conftest import finished_job, logged_in
from .pages import page, table_rows, text

OPS_URL = "/operations/"
WORKERS_URL = "/operations/workers/"


@pytest.fixture
def quick(settings: Any) -> Any:
    """Workers get 0.3 s to answer."""
    settings.EXAM_PORTAL_INSPECT_SECONDS = 0.3
    return settings


@pytest.mark.req("P5.PORTAL.OPS.1")
@pytest.mark.parametrize("url", [OPS_URL, WORKERS_URL])
def test_the_operations_pages_are_staff_only(alice: User, url: str) -> None:
    """A user who is not staff gets 404, never 403."""
    response = logged_in(alice).get(url)
    assert (response.status_code, text(page(response).h1)) == (
        status.HTTP_404_NOT_FOUND,
        "Not found",
    )


@pytest.mark.req("P5.PORTAL.OPS.1")
def test_the_outbox_backlog_counts_waiting_and_due_rows(alice: User, carol: User) -> None:
    """Three rows wait, two of them due; the oldest due row's time is shown."""
    job = finished_job(alice, state="queued")
    now = timezone.now()
    oldest = now - datetime.timedelta(minutes=5)
    for not_before in (
        oldest,
        now - datetime.timedelta(minutes=1),
        now + datetime.timedelta(hours=1),
    ):
        Outbox.objects.create(job=job, queue="s", not_before=not_before)
    soup = page(logged_in(carol).get(OPS_URL))
    facts = soup.find(id="outbox-heading").find_next("dl")
    values = [text(dd) for dd in facts.find_all("dd")]
    assert values == ["3", "2", oldest.strftime("%Y-%m-%d %H:%M:%S UTC")]


@pytest.mark.req("P5.PORTAL.OPS.1")
def test_recent_failures_of_every_user_are_listed_with_their_reasons(
    alice: User, bob: User, carol: User
) -> None:
    """Failed and quarantined jobs of all users are listed, latest first; others are not."""
    now = timezone.now()
    failed = finished_job(
        alice,
        state="failed",
        error_code="undecodable",
        error="bad pixels",
        finished_at=now - datetime.timedelta(minutes=1),
    )
    poison = finished_job(
        bob,
        state="quarantined",
        attempt=5,
        error_code="poison",
        error="kills workers",
        finished_at=now,
    )
    finished_job(alice, state="succeeded", finished_at=now)
    rows = table_rows(page(logged_in(carol).get(OPS_URL)), "#failures-heading ~ div table")
    assert rows == [
        [
            str(poison.pk),
            "bob",
            "quarantined",
            "5",
            "poison: kills workers",
            now.strftime("%Y-%m-%d %H:%M:%S"),
        ],
        [
            str(failed.pk),
            "alice",
            "failed",
            "1",
            "undecodable: bad pixels",
            (now - datetime.timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S"),
        ],
    ]


@pytest.fixture
def audited(alice: User, bob: User, carol: User) -> dict[str, Job]:
    """Alice's and bob's jobs, each with its upload audit row, and two views of alice's."""
    jobs = {"alice": finished_job(alice), "bob": finished_job(bob)}
    AuditEvent.objects.create(
        actor=carol,
        owner=alice,
        action="result_view",
        object_type="job",
        object_id=jobs["alice"].pk,
        client_address="127.0.0.7",
        correlation_id="req-ops-1",
    )
    AuditEvent.objects.create(
        actor=alice,
        owner=alice,
        action="original_download",
        object_type="job",
        object_id=jobs["alice"].pk,
        client_address="127.0.0.8",
        correlation_id="req-ops-2",
    )
    return jobs


def audit_rows(response: Any) -> list[tuple[str, str, str]]:
    """(who, action, correlation ID) of each audit row shown."""
    soup = page(response)
    return [(row[1], row[2], row[6]) for row in table_rows(soup, "table.audit") if len(row) == 7]


@pytest.mark.req("P5.PORTAL.OPS.1")
def test_the_audit_log_lists_the_latest_events_first(carol: User, audited: dict[str, Job]) -> None:
    """Audit rows come newest first: who, action, object, owner, address, correlation ID."""
    rows = table_rows(page(logged_in(carol).get(OPS_URL)), "table.audit")
    first = AuditEvent.objects.get(correlation_id="req-ops-2")
    assert rows[0][1:] == [
        "alice",
        "original_download",
        f"job {audited['alice'].pk}",
        "alice",
        "127.0.0.8",
        "req-ops-2",
    ]
    assert rows[0][0] == first.at.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert [(row[1], row[2]) for row in rows] == [
        ("alice", "original_download"),
        ("carol", "result_view"),
        ("bob", "upload"),
        ("alice", "upload"),
    ]


@pytest.mark.req("P5.PORTAL.OPS.1")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("car", [("carol", "result_view", "req-ops-1")]),
        ("BOB", [("bob", "upload", "unknown")]),
        ("download", [("alice", "original_download", "req-ops-2")]),
        ("req-ops-1", [("carol", "result_view", "req-ops-1")]),
        ("req-ops", []),
        ("127.0.0.8", [("alice", "original_download", "req-ops-2")]),
        ("9" * 40, []),
        ("'; DROP TABLE pipeline_auditevent; --", []),
    ],
    ids=[
        "user-part",
        "user-any-case",
        "action-part",
        "correlation",
        "correlation-part-no",
        "address",
        "huge-number",
        "sql",
    ],
)
def test_the_audit_log_is_searchable(
    carol: User, audited: dict[str, Job], query: str, expected: list[tuple[str, str, str]]
) -> None:
    """A search keeps the rows whose user or action contains it, or whose id or address is it."""
    assert audit_rows(logged_in(carol).get(OPS_URL, {"q": query})) == expected


@pytest.mark.req("P5.PORTAL.OPS.1")
def test_the_audit_log_is_searchable_by_job_id(carol: User, audited: dict[str, Job]) -> None:
    """A job id finds every event of that job."""
    rows = audit_rows(logged_in(carol).get(OPS_URL, {"q": str(audited["bob"].pk)}))
    assert rows == [("bob", "upload", "unknown")]


@pytest.mark.req("P5.PORTAL.OPS.1")
def test_an_htmx_search_answers_the_rows_only(carol: User, audited: dict[str, Job]) -> None:
    """htmx's request gets the table rows alone, to swap into the page."""
    response = logged_in(carol).get(OPS_URL, {"q": "car"}, headers={"HX-Request": "true"})
    soup = page(response)
    assert (soup.find("h1"), [text(td) for td in soup.find("tr").find_all("td")][1:3]) == (
        None,
        ["carol", "result_view"],
    )


@pytest.mark.req("P5.PORTAL.OPS.1")
@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("x\x00", "Search the audit log: Null characters are not allowed."),
        (
            "x" * 129,
            "Search the audit log: Ensure this value has at most 128 characters (it has 129).",
        ),
    ],
    ids=["nul", "too-long"],
)
def test_an_invalid_search_answers_400(
    carol: User, audited: dict[str, Job], query: str, error: str
) -> None:
    """A search the form refuses answers 400 with the reason, the log unfiltered."""
    response = logged_in(carol).get(OPS_URL, {"q": query})
    soup = page(response)
    assert (
        response.status_code,
        text(soup.select_one("[role=alert]")),
        len(audit_rows(response)),
    ) == (
        status.HTTP_400_BAD_REQUEST,
        error,
        4,
    )


@pytest.mark.req("P5.PORTAL.OPS.1")
def test_with_no_worker_the_panel_says_so_and_shows_empty_queues(
    carol: User, broker_url: str, quick: Any
) -> None:
    """No worker answers; each size-class queue shows its depth."""
    app.send_task(TASK_NAME, args=[0], queue="m")
    soup = page(logged_in(carol).get(WORKERS_URL))
    depths = [text(tag) for tag in soup.find_all(["dt", "dd"])]
    assert text(soup.p) == "No worker answered just now."
    assert depths == ["Queue s", "0 waiting", "Queue m", "1 waiting", "Queue l", "0 waiting"]


@pytest.mark.req("P5.PORTAL.OPS.1")
def test_without_a_broker_the_panel_says_it_cannot_tell(
    carol: User, quick: Any, tmp_path: Any, settings: Any
) -> None:
    """With the broker unreachable, workers and depths read as unknown."""
    previous = app.conf.broker_url
    app.conf.broker_url = f"redis+socket://{tmp_path}/absent.sock"
    try:
        soup = page(logged_in(carol).get(WORKERS_URL))
    finally:
        app.conf.broker_url = previous
    assert [text(p) for p in soup.find_all("p")] == [
        "The broker cannot be reached: workers and queue depths unknown."
    ]


@pytest.mark.slow
@pytest.mark.req("P5.PORTAL.OPS.1")
def test_a_running_worker_is_shown_with_its_queues_and_load(
    carol: User, processes: Processes
) -> None:
    """A real worker answers with its name, its three queues and its idle pool."""
    processes.worker("opsworker", concurrency=2)
    rows = table_rows(page(logged_in(carol).get(WORKERS_URL)), "table")
    assert rows == [["opsworker@test", "l, m, s", "0 of 2 busy", "0"]]
