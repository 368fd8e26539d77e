"""What the portal reads, always inside :func:`exam.portal.rls.scoped` on the portal's alias.

Each function filters by owner itself as well (the Django half of "enforced
twice"); the database's policies would hide foreign rows anyway.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from exam.pipeline.models import FINAL_STATES, AuditEvent, Job, JobState, Outbox, Result

#: Longer digit strings are no object id (bigint holds 18 digits safely).
MAX_ID_DIGITS = 18


@dataclass(frozen=True)
class JobFilter:
    """The jobs table's filter: one status (or all) and part of a patient ID (or any)."""

    status: str = ""
    patient_id: str = ""


def own_jobs(user: User, alias: str) -> QuerySet[Job]:
    """``user``'s own jobs, newest first: the "My jobs" table and its live updates."""
    return (
        Job.objects.using(alias)
        .select_related("instance")
        .filter(owner_id=user.pk)
        .order_by("-created_at", "-pk")
    )


def filtered(jobs: QuerySet[Job], wanted: JobFilter) -> QuerySet[Job]:
    """``jobs`` of the wanted status whose patient ID contains the wanted text."""
    if wanted.status:
        jobs = jobs.filter(state=wanted.status)
    if wanted.patient_id:
        jobs = jobs.filter(instance__patient_id__icontains=wanted.patient_id)
    return jobs


def changed_since(jobs: QuerySet[Job], since: datetime.datetime | None) -> QuerySet[Job]:
    """The jobs that may have changed since ``since`` (all of them when None).

    A job still moving may have changed without leaving a timestamp; a
    finished one changed last when it finished.  The margin covers commits
    that land after a later-stamped one.
    """
    if since is None:
        return jobs
    margin = datetime.timedelta(seconds=settings.EXAM_PORTAL_SNAPSHOT_MARGIN_SECONDS)
    return jobs.filter(~Q(state__in=FINAL_STATES) | Q(finished_at__gte=since - margin))


def visible_job(user: User, alias: str, pk: int) -> Job | None:
    """Job ``pk`` when ``user`` may see it (their own; staff: any), else None."""
    jobs = Job.objects.using(alias).select_related("instance").filter(pk=pk)
    return (jobs if user.is_staff else jobs.filter(owner_id=user.pk)).first()


def result_of(job: Job, alias: str) -> Result | None:
    """The result of ``job``, if it has one."""
    return Result.objects.using(alias).filter(job_id=job.pk).first()


@dataclass(frozen=True)
class Backlog:
    """The outbox: rows waiting, of which due now, and the oldest due row's time."""

    pending: int
    due: int
    oldest_due: datetime.datetime | None


def outbox_backlog(alias: str) -> Backlog:
    """The outbox's backlog (staff only: its policy shows others nothing)."""
    now = timezone.now()
    due = Q(not_before__lte=now)
    counts = Outbox.objects.using(alias).aggregate(
        pending=Count("id"), due=Count("id", filter=due), oldest_due=Min("not_before", filter=due)
    )
    return Backlog(**counts)


def recent_failures(alias: str) -> list[Mapping[str, object]]:
    """The latest failed and quarantined jobs of every user."""
    return list(
        Job.objects.using(alias)
        .filter(state__in=(JobState.FAILED, JobState.QUARANTINED))
        .order_by("-finished_at", "-pk")
        .values("pk", "state", "attempt", "error_code", "error", "finished_at", "owner__username")[
            : settings.EXAM_PORTAL_PAGE_SIZE // 5
        ]
    )


def audit_log(alias: str, query: str) -> list[Mapping[str, object]]:
    """The latest audit events, those matching ``query`` when given.

    ``query`` matches part of the actor's or owner's user name or of the
    action, or exactly a correlation ID, client address or object id.
    """
    events = AuditEvent.objects.using(alias).order_by("-at", "-pk")
    if query:
        match = (
            Q(actor__username__icontains=query)
            | Q(owner__username__icontains=query)
            | Q(action__icontains=query)
            | Q(correlation_id=query)
            | Q(client_address=query)
        )
        if query.isascii() and query.isdigit() and len(query) <= MAX_ID_DIGITS:
            match |= Q(object_id=int(query))
        events = events.filter(match)
    shown = events.values(
        "at",
        "actor__username",
        "owner__username",
        "action",
        "object_type",
        "object_id",
        "client_address",
        "correlation_id",
    )
    return list(shown[: settings.EXAM_PORTAL_PAGE_SIZE])
