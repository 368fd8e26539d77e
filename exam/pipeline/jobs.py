"""A job's life in PostgreSQL: claim with a lease, finish or fail fenced by the attempt.

Every change of a job's state happens here, in a transaction that locks the
job's row.  A worker **claims** a job by incrementing ``attempt`` and taking
a lease; from then on it may change the job only while ``attempt`` is still
the one it claimed (the fencing token) and the job is still ``running``.  A
worker that was paused past its lease (a zombie) and comes back finds a
higher attempt and changes nothing.

Retries are never delayed in the broker: :func:`retry_later` writes an
outbox row with a ``not_before``, which the relay publishes when it is due.
A job whose claims reach ``EXAM_MAX_ATTEMPTS`` without finishing (its file
keeps crashing its worker) is quarantined at the next claim.
"""

from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from exam.logs import get_logger
from exam.pipeline.models import Job, JobState, Outbox, Result

logger = get_logger(__name__)

CLAIMABLE = (JobState.QUEUED, JobState.RETRYING)


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one attempt of a job."""

    job_id: int
    attempt: int
    lease_owner: str
    storage_key: str
    correlation_id: str
    created_at: datetime.datetime
    queued_at: datetime.datetime | None


def claim(job_id: int, *, lease_owner: str) -> Claim | None:
    """Take the next attempt of job ``job_id``, or return None when it is not this worker's.

    A job can be claimed when it waits (``queued``, ``retrying``) or when the
    lease of its running attempt has expired.  Nothing is claimed, and None
    returned, for a finished job or one whose live lease belongs to another
    worker (the sweeper republishes it if that lease expires).  Once the
    attempts are used up the job is quarantined instead.
    """
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().select_related("instance").get(pk=job_id)
        expired = job.state == JobState.RUNNING and (
            job.lease_expires_at is None or job.lease_expires_at <= now
        )
        if job.state not in CLAIMABLE and not expired:
            _log(job, "claim.skipped", state=job.state)
            return None
        if job.attempt >= settings.EXAM_MAX_ATTEMPTS:
            job.state = JobState.QUARANTINED
            job.error_code = "poison"
            job.error = (
                f"Quarantined: {job.attempt} attempts started and none finished "
                "(the file may crash its worker)."
            )
            job.finished_at = now
            job.lease_owner, job.lease_expires_at = "", None
            job.save()
            _log(job, "job.quarantined")
            return None
        job.attempt += 1
        job.state = JobState.RUNNING
        job.lease_owner = lease_owner
        job.lease_expires_at = now + datetime.timedelta(seconds=settings.EXAM_LEASE_SECONDS)
        job.started_at = job.started_at or now
        job.error_code = job.error = ""
        job.save()
    _log(job, "job.claimed")
    return Claim(
        job.pk,
        job.attempt,
        lease_owner,
        job.instance.storage_key,
        job.correlation_id,
        job.created_at,
        job.queued_at,
    )


def finish(
    held: Claim,
    *,
    frames: list[dict[str, float]],
    histogram: dict[str, list[float] | list[int]],
    record: dict[str, str],
    preview_key: str,
    preview_sha256: str,
) -> bool:
    """Store the attempt's result and mark the job succeeded; False when fenced off.

    The result is written only while ``held`` is still the job's current,
    running attempt; otherwise nothing changes and the caller's derived
    objects are not referenced by any result.
    """
    with transaction.atomic():
        job = _current(held)
        if job is None:
            return False
        Result.objects.update_or_create(
            job=job,
            defaults={
                "attempt": held.attempt,
                "frames": frames,
                "histogram": histogram,
                "record": record,
                "preview_key": preview_key,
                "preview_sha256": preview_sha256,
            },
        )
        _end(job, JobState.SUCCEEDED)
    _log(job, "job.succeeded")
    return True


def fail(held: Claim, *, code: str, message: str) -> bool:
    """Mark the job failed for good (bad data, undecodable pixels); False when fenced off."""
    with transaction.atomic():
        job = _current(held)
        if job is None:
            return False
        job.error_code, job.error = code, message
        _end(job, JobState.FAILED)
    _log(job, "job.failed", error_code=code)
    return True


def retry_later(held: Claim, *, code: str, message: str) -> bool:
    """Put the job back to wait for its next attempt after a backoff; False when fenced off.

    The delay doubles with each attempt from ``EXAM_RETRY_BASE_SECONDS`` up to
    ``EXAM_RETRY_MAX_SECONDS``; the relay publishes the job again once it is due.
    """
    delay = min(
        settings.EXAM_RETRY_BASE_SECONDS * 2 ** (held.attempt - 1), settings.EXAM_RETRY_MAX_SECONDS
    )
    with transaction.atomic():
        job = _current(held)
        if job is None:
            return False
        job.state = JobState.RETRYING
        job.error_code, job.error = code, message
        job.lease_owner, job.lease_expires_at = "", None
        job.save()
        Outbox.objects.create(
            job=job, queue=job.queue, not_before=timezone.now() + datetime.timedelta(seconds=delay)
        )
    _log(job, "job.retrying", error_code=code, delay_s=delay)
    return True


def rerun(job_id: int) -> bool:
    """Queue a failed job again for its next attempt (a user's retry); False when it cannot be.

    Only a ``failed`` job with attempts left is queued again: the attempt
    counter goes on from where it stopped (it is the fencing token), and the
    outbox publishes the job as it does a retry.
    """
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.state != JobState.FAILED or job.attempt >= settings.EXAM_MAX_ATTEMPTS:
            return False
        job.state = JobState.QUEUED
        job.error_code = job.error = ""
        job.finished_at = None
        job.save()
        Outbox.objects.create(job=job, queue=job.queue, not_before=timezone.now())
    _log(job, "job.rerun")
    return True


def renew_lease(held: Claim) -> bool:
    """Extend the lease of ``held`` by ``EXAM_LEASE_SECONDS`` from now; False when fenced off.

    A running attempt renews its lease every third of it (:class:`LeaseKeeper`),
    so the lease can be short: a worker that dies with its whole process
    group, leaving nobody to end the lease, holds its job for at most one
    lease before the sweeper hands it to another.
    """
    lease = datetime.timedelta(seconds=settings.EXAM_LEASE_SECONDS)
    return bool(
        Job.objects.filter(pk=held.job_id, attempt=held.attempt, state=JobState.RUNNING).update(
            lease_expires_at=timezone.now() + lease
        )
    )


class LeaseKeeper:
    """Renews an attempt's lease from a thread of its own while the attempt runs."""

    def __init__(self, held: Claim) -> None:
        self.held = held
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._renew, name=f"lease-{held.job_id}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.thread.join()

    def _renew(self) -> None:
        try:
            while not self.stop.wait(settings.EXAM_LEASE_SECONDS / 3) and renew_lease(self.held):
                pass
        except DatabaseError:
            # The attempt goes on; if the database stays away its lease lapses
            # and the sweeper gives the job to another worker, as for a crash.
            logger.warning(
                "lease renewal failed",
                extra={"event": "lease.renewal_failed", "job_id": self.held.job_id},
            )
        finally:
            connection.close()


def expire_lease(job_id: int, *, lease_owner: str) -> bool:
    """End the lease ``lease_owner`` holds on job ``job_id`` now (its process died).

    Called by the worker's main process when a pool child dies mid-task, so
    that the redelivered message can claim the job at once instead of
    meeting a live lease.  True when a lease was ended.
    """
    changed = Job.objects.filter(pk=job_id, state=JobState.RUNNING, lease_owner=lease_owner).update(
        lease_expires_at=timezone.now()
    )
    if changed:
        logger.warning(
            "lease expired by the worker", extra={"event": "lease.expired", "job_id": job_id}
        )
    return bool(changed)


def _current(held: Claim) -> Job | None:
    """The job locked for update when ``held`` is still its running attempt, else None."""
    job = Job.objects.select_for_update().get(pk=held.job_id)
    if job.state != JobState.RUNNING or job.attempt != held.attempt:
        _log(job, "job.fenced", stale_attempt=held.attempt)
        return None
    return job


def _end(job: Job, state: JobState) -> None:
    job.state = state
    job.finished_at = timezone.now()
    job.lease_owner, job.lease_expires_at = "", None
    job.save()


def _log(job: Job, event: str, **fields: object) -> None:
    extra = {
        "event": event,
        "job_id": job.pk,
        "attempt": job.attempt,
        "correlation_id": job.correlation_id,
        **fields,
    }
    logger.info("%s", event, extra=extra)
