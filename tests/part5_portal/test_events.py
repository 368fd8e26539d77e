"""Live updates: the jobs table's NOTIFY trigger, its event stream, and the poll behind it."""

from __future__ import annotations

import datetime
import json
import select
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone
from rest_framework import status

from exam.pipeline.models import Job
from exam.portal import events

from .conftest import finished_job, logged_in
from .pages import page

KEEP_ALIVE = ": keep-alive\n\n"


@pytest.fixture
def listener(db: None) -> Iterator[Any]:
    """A connection of the test's own LISTENing on the jobs channel."""
    raw = psycopg2.connect(**connection.get_connection_params())
    raw.autocommit = True
    with raw.cursor() as cursor:
        cursor.execute(f"LISTEN {events.CHANNEL}")
    yield raw
    raw.close()


def notified(listener: Any, wait: float = 0.5) -> list[str]:
    """The payloads of the notifications that arrive within ``wait`` seconds."""
    select.select([listener], [], [], wait)
    listener.poll()
    payloads = [notice.payload for notice in listener.notifies]
    listener.notifies.clear()
    return payloads


class TestTrigger:
    """Tests for the trigger that notifies job changes."""

    @pytest.mark.req("P5.PORTAL.LIVE.1")
    def test_a_new_job_and_each_change_of_state_or_attempt_notify_its_id(
        self, listener: Any, alice: User
    ) -> None:
        """Creating a job, changing its state, then its attempt, each notify the job's id alone."""
        job = finished_job(alice, state="queued")
        created = notified(listener)
        Job.objects.filter(pk=job.pk).update(state="running")
        running = notified(listener)
        Job.objects.filter(pk=job.pk).update(attempt=2)
        attempt = notified(listener)
        assert (created, running, attempt) == ([str(job.pk)], [str(job.pk)], [str(job.pk)])

    @pytest.mark.req("P5.PORTAL.LIVE.1")
    def test_other_changes_notify_nothing(self, listener: Any, alice: User) -> None:
        """A new lease or publication time, with state and attempt unchanged, notifies nothing."""
        job = finished_job(alice, state="running")
        notified(listener)
        Job.objects.filter(pk=job.pk).update(
            lease_expires_at=timezone.now(), queued_at=timezone.now(), lease_owner="w1:1"
        )
        assert notified(listener, wait=0.2) == []


class Stream:
    """The chunks of an event stream, read one at a time."""

    def __init__(self, response: Any) -> None:
        self.response = response
        self.chunks = iter(response.streaming_content)

    def next(self) -> str:
        """The next chunk."""
        return next(self.chunks).decode()

    def event(self) -> dict[str, Any]:
        """The next event's data, past keep-alive comments, with its event id as ``cursor``."""
        while (chunk := self.next()) == KEEP_ALIVE:
            pass
        lines = dict(line.split(": ", 1) for line in chunk.strip().split("\n"))
        assert lines["event"] == "job"
        return {"cursor": lines["id"], **json.loads(lines["data"])}

    def rest(self) -> list[str]:
        """Every chunk until the stream ends."""
        return [chunk.decode() for chunk in self.chunks]


@pytest.fixture
def fast(settings: Any) -> Any:
    """Short keep-alives, and streams that end after half a second."""
    settings.EXAM_PORTAL_KEEPALIVE_SECONDS = 0.1
    settings.EXAM_PORTAL_STREAM_SECONDS = 0.5
    return settings


def open_stream(client: Any, query: str = "", **headers: str) -> Stream:
    """GET the event stream; the first chunk, the reconnection delay, is read and checked."""
    response = client.get(f"/jobs/events/{query}", headers=headers)
    assert (response.status_code, response["Content-Type"], response["Cache-Control"]) == (
        status.HTTP_200_OK,
        "text/event-stream",
        "no-cache",
    )
    stream = Stream(response)
    assert stream.next() == f"retry: {events.RETRY_MILLISECONDS}\n\n"
    return stream


def row_state(event: dict[str, Any]) -> str:
    """The state a row event shows."""
    return page_row(event)["data-state"]


def page_row(event: dict[str, Any]) -> Any:
    """The <tr> of a row event."""
    return page(_Html(event["html"])).find("tr")


class _Html:
    """An HTML string where :func:`page` expects a response."""

    def __init__(self, html: str) -> None:
        self.content = html.encode()


class TestStream:
    """Tests for the event stream."""

    @pytest.mark.req("P5.PORTAL.LIVE.1")
    def test_the_stream_starts_with_the_snapshot_then_sends_each_change(
        self, fast: Any, alice: User, bob: User
    ) -> None:
        """The user's waiting job comes first; then its change to running arrives as a new row."""
        job = finished_job(alice, state="queued")
        finished_job(bob, state="queued")
        stream = open_stream(logged_in(alice))
        snapshot = stream.event()
        Job.objects.filter(pk=job.pk).update(state="running")
        change = stream.event()
        assert (snapshot["cursor"].isdigit(), int(snapshot["cursor"]) <= int(change["cursor"])) == (
            True,
            True,
        )
        assert [(event["id"], row_state(event)) for event in (snapshot, change)] == [
            (job.pk, "queued"),
            (job.pk, "running"),
        ]

    @pytest.mark.req("P5.PORTAL.LIVE.1")
    def test_another_user_s_changes_are_not_sent(self, fast: Any, alice: User, bob: User) -> None:
        """A change to bob's job reaches alice's stream as nothing but keep-alives."""
        bobs = finished_job(bob, state="queued")
        stream = open_stream(logged_in(alice))
        Job.objects.filter(pk=bobs.pk).update(state="running")
        assert set(stream.rest()) == {KEEP_ALIVE}

    @pytest.mark.req("P5.PORTAL.LIVE.1")
    def test_a_job_leaving_the_filter_is_sent_as_null(self, fast: Any, alice: User) -> None:
        """On a stream filtered to queued jobs, a job that starts running comes with html null."""
        job = finished_job(alice, state="queued")
        stream = open_stream(logged_in(alice), "?status=queued")
        stream.event()
        Job.objects.filter(pk=job.pk).update(state="running")
        event = stream.event()
        assert (event["id"], event["html"]) == (job.pk, None)

    @pytest.mark.req("P5.PORTAL.LIVE.1")
    def test_the_stream_keeps_alive_then_ends_after_its_time(self, fast: Any, alice: User) -> None:
        """With nothing to send the stream sends comments, and ends by itself after its time."""
        started = timezone.now()
        chunks = open_stream(logged_in(alice)).rest()
        elapsed = (timezone.now() - started).total_seconds()
        assert (set(chunks), len(chunks) >= 3, 0.5 <= elapsed < 3) == ({KEEP_ALIVE}, True, True)

    @pytest.mark.req("P5.PORTAL.LIVE.1")
    def test_last_event_id_decides_the_snapshot_over_since(self, fast: Any, alice: User) -> None:
        """A reconnect's Last-Event-ID leaves out what finished before it, whatever ?since= says."""
        long_ago = timezone.now() - datetime.timedelta(hours=1)
        finished_job(alice, finished_at=long_ago, instance_fields={"filename": "old.dcm"})
        waiting = finished_job(alice, state="queued")
        stream = open_stream(
            logged_in(alice), "?since=0", **{"Last-Event-ID": str(events.now_cursor())}
        )
        first = stream.event()
        assert page_row(first)["id"] == f"job-{waiting.pk}"
        assert set(stream.rest()) == {KEEP_ALIVE}


class TestPoll:
    """Tests for the poll the browser falls back to."""

    @pytest.mark.req("P5.PORTAL.LIVE.2")
    def test_the_poll_sends_waiting_jobs_and_those_finished_since_the_cursor(
        self, alice: User, bob: User, settings: Any
    ) -> None:
        """Jobs not final or finished since cursor minus margin are sent; older ones, bob's, not."""
        now = timezone.now()
        cursor = int(now.timestamp() * 1000)
        margin = datetime.timedelta(seconds=settings.EXAM_PORTAL_SNAPSHOT_MARGIN_SECONDS)
        second = datetime.timedelta(seconds=1)
        names = {
            "waiting": {"state": "running"},
            "retrying": {"state": "retrying", "finished_at": now - 2 * margin},
            "just-in": {"finished_at": now - margin + second},
            "too-old": {"finished_at": now - margin - second},
            "failed-old": {"state": "failed", "finished_at": now - 2 * margin},
        }
        jobs = {
            name: finished_job(alice, instance_fields={"filename": name}, **fields)
            for name, fields in names.items()
        }
        finished_job(bob, state="running")
        before = events.now_cursor()
        body = logged_in(alice).get("/jobs/updates/", {"since": cursor}).json()
        assert before <= int(body["cursor"]) <= events.now_cursor()
        assert [row["id"] for row in body["rows"]] == [
            jobs[name].pk for name in ("waiting", "retrying", "just-in")
        ]

    @pytest.mark.req("P5.PORTAL.LIVE.2")
    @pytest.mark.parametrize("since", [None, "", "abc", "١٢٣", "9" * 16], ids=str)
    def test_no_usable_cursor_sends_every_job(self, alice: User, since: str | None) -> None:
        """Without a cursor, or with one that is no number of milliseconds, all jobs come."""
        old = finished_job(alice, finished_at=timezone.now() - datetime.timedelta(days=1))
        query = {} if since is None else {"since": since}
        body = logged_in(alice).get("/jobs/updates/", query).json()
        assert [row["id"] for row in body["rows"]] == [old.pk]

    @pytest.mark.req("P5.PORTAL.LIVE.2")
    def test_the_poll_applies_the_page_s_filter(self, alice: User) -> None:
        """A job outside the filter comes with html null, so the page drops its row."""
        queued = finished_job(alice, state="queued")
        done = finished_job(alice, finished_at=timezone.now())
        rows = logged_in(alice).get("/jobs/updates/", {"status": "queued"}).json()["rows"]
        assert [(row["id"], row["html"] is None) for row in rows] == [
            (queued.pk, False),
            (done.pk, True),
        ]
