"""Live job updates: a server-sent event stream fed by PostgreSQL LISTEN/NOTIFY, and a poll.

A trigger on the jobs table (``exam/pipeline/migrations/0003_row_level_security.py``)
notifies channel :data:`CHANNEL` with a job's id whenever a job is created
or its state or attempt changes.  :func:`stream` LISTENs on a connection of
its own, as the portal's role; for each id it reads the job through row-level
security as the stream's user and sends its table row, or ``null`` when the
row left the page's filter -- a job of another user is simply not found.
Notifications carry ids only, never PHI.

Nothing is missed across a reconnect: every stream starts with a snapshot
of the jobs changed since the cursor it is given (``Last-Event-ID``, else
``?since=``), and every event's id is a new cursor.  :func:`updates` answers
the browser's poll while its stream is down with the same snapshot.

Under gunicorn's gthread workers an open stream holds a thread, so a stream
ends after ``EXAM_PORTAL_STREAM_SECONDS`` and the browser reconnects.
"""

from __future__ import annotations

import datetime
import json
import select
import time
from collections.abc import Iterator
from typing import Any

import psycopg2
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connections
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from exam.portal import selectors
from exam.portal.rls import ALIAS, scoped
from exam.portal.selectors import JobFilter, changed_since

#: The channel the jobs table's trigger notifies (the migration names it too).
CHANNEL = "exam_job"
#: How long the browser waits before reconnecting a stream that ended.
RETRY_MILLISECONDS = 3000


def now_cursor() -> int:
    """A cursor for the present: milliseconds since the epoch."""
    return int(timezone.now().timestamp() * 1000)


def parse_cursor(text: str | None) -> datetime.datetime | None:
    """The time a cursor names, or None for none or a malformed one (then: everything)."""
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 15:
        return None
    return datetime.datetime.fromtimestamp(int(text) / 1000, tz=datetime.UTC)


def updates(
    request: HttpRequest,
    user: User,
    wanted: JobFilter,
    *,
    since: datetime.datetime | None = None,
    ids: list[int] | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """A new cursor and the rows of ``user``'s jobs changed since ``since`` (or of ``ids``).

    Each row is ``{"id": ..., "html": "<tr ...>"}``, with ``html`` None for
    a job outside ``wanted``; oldest first, so the browser can put each on top.
    """
    cursor = now_cursor()
    with scoped(user) as alias:
        jobs = selectors.own_jobs(user, alias)
        chosen = jobs.filter(pk__in=ids) if ids is not None else changed_since(jobs, since)
        changed = list(chosen[: settings.EXAM_PORTAL_PAGE_SIZE])
        shown = set(
            selectors.filtered(jobs, wanted)
            .filter(pk__in=[job.pk for job in changed])
            .values_list("pk", flat=True)
        )
    rows = [
        {
            "id": job.pk,
            "html": (
                render_to_string("portal/_job_row.html", {"job": job}, request)
                if job.pk in shown
                else None
            ),
        }
        for job in reversed(changed)
    ]
    return cursor, rows


def stream(
    request: HttpRequest, user: User, wanted: JobFilter, since: datetime.datetime | None
) -> Iterator[str]:
    """The event stream: the snapshot since ``since``, then each change until the time limit."""
    listener = psycopg2.connect(**connections[ALIAS].get_connection_params())
    try:
        listener.autocommit = True
        with listener.cursor() as cursor:
            cursor.execute(f"LISTEN {CHANNEL}")
        yield f"retry: {RETRY_MILLISECONDS}\n\n"
        yield from _events(*updates(request, user, wanted, since=since))
        deadline = time.monotonic() + settings.EXAM_PORTAL_STREAM_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            wait = min(left, settings.EXAM_PORTAL_KEEPALIVE_SECONDS)
            if not select.select([listener], [], [], wait)[0]:
                yield ": keep-alive\n\n"
                continue
            listener.poll()
            ids = sorted({int(notice.payload) for notice in listener.notifies})
            listener.notifies.clear()
            yield from _events(*updates(request, user, wanted, ids=ids))
    finally:
        listener.close()


def _events(cursor: int, rows: list[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield f"id: {cursor}\nevent: job\ndata: {json.dumps(row)}\n\n"
