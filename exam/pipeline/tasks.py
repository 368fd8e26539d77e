"""The Celery application and its one task: process one job.

The task is a thin shell around PostgreSQL's job row (:mod:`exam.pipeline.jobs`):
claim the attempt, read the original, compute, write the preview under a key
holding the attempt, then finish fenced by the attempt.  Errors are sorted
into three kinds:

* permanent (the pixels cannot be decoded, the header holds no study
  record): the job fails at once with the error code and reason of
  :class:`~exam.pipeline.processing.InstanceRefused`;
* transient (the database or storage is unavailable, the soft time limit):
  the job waits in ``retrying`` and the outbox republishes it after a backoff
  (never ``self.retry()``, which would publish a new message and reset the
  broker's delivery count, nor a countdown, which blocks quorum-queue
  consumers);
* the worker process itself dies (a crash, the OOM killer, a hard time
  limit): :class:`JobRequest`, in the worker's main process, ends the dead
  child's lease at once.  After a crash the message (acked late, rejected
  on worker loss) is delivered again to claim the next attempt; at the hard
  time limit Celery acknowledges it, and the sweeper publishes the job
  again.  Five claims without a finish quarantine the job.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from billiard.exceptions import WorkerLostError
from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded
from celery.worker.request import Request
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError
from django.utils import timezone

from exam.logs import get_logger
from exam.pipeline import faults, jobs, metrics
from exam.pipeline.processing import InstanceRefused, analyse
from exam.pipeline.storage import STORAGE_ERRORS

logger = get_logger(__name__)

app = Celery("exam")
app.config_from_object("django.conf:settings", namespace="CELERY")

TASK_NAME = "exam.pipeline.process_job"
#: Storage or the database unavailable: the attempt is retried after a backoff.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (*STORAGE_ERRORS, DatabaseError)


class JobRequest(Request):  # type: ignore[misc]
    """The worker main process's view of one task: ends a dead child's lease."""

    def on_failure(
        self, exc_info: Any, send_failed_event: bool = True, return_ok: bool = False
    ) -> None:
        """When the pool child died mid-task, end its lease, then let Celery requeue the message."""
        # billiard hands the main process the child's exception wrapped.
        error = getattr(exc_info.exception, "exc", exc_info.exception)
        if isinstance(error, WorkerLostError):
            self._expire_lease()
        super().on_failure(exc_info, send_failed_event=send_failed_event, return_ok=return_ok)

    def on_timeout(self, soft: bool, timeout: float) -> None:
        """At the hard time limit Celery kills the child: end its lease like a crash's."""
        if not soft:
            self._expire_lease()
        super().on_timeout(soft, timeout)

    def _expire_lease(self) -> None:
        job_id = int(self.args[0])
        jobs.expire_lease(job_id, lease_owner=_lease_owner(self.hostname, self.worker_pid))


@app.task(name=TASK_NAME, bind=True, Request=JobRequest)  # type: ignore[untyped-decorator]
def process_job(self: Any, job_id: int) -> None:
    """Run one attempt of job ``job_id`` in this pool process."""
    run_job(job_id, lease_owner=_lease_owner(self.request.hostname, os.getpid()))


def run_job(job_id: int, *, lease_owner: str) -> str:
    """Claim and run one attempt of a job; return the outcome (for logs and metrics)."""
    started = time.monotonic()
    # A DatabaseError here fails the task before anything is claimed.  Celery
    # acknowledges a failed task's message, so the job waits, queued, until
    # the sweeper finds its message stale and publishes it again.
    held = jobs.claim(job_id, lease_owner=lease_owner)
    if held is None:
        metrics.TASKS.labels(outcome="skipped").inc()
        return "skipped"
    if held.queued_at is not None:
        metrics.QUEUE_WAIT.observe((timezone.now() - held.queued_at).total_seconds())
    faults.checkpoint("worker.claimed", key=str(held.job_id))
    outcome = _attempt(held)
    metrics.TASKS.labels(outcome=outcome).inc()
    if outcome in ("succeeded", "failed"):
        metrics.END_TO_END.observe((timezone.now() - held.created_at).total_seconds())
    logger.info(
        "task done",
        extra={
            "event": "task.done",
            "job_id": held.job_id,
            "attempt": held.attempt,
            "correlation_id": held.correlation_id,
            "outcome": outcome,
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
        },
    )
    return outcome


def _attempt(held: jobs.Claim) -> str:
    with jobs.LeaseKeeper(held):
        return _compute(held)


def _compute(held: jobs.Claim) -> str:
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder, "original.dcm")
            with default_storage.open(held.storage_key, "rb") as source, path.open("wb") as copy:
                while chunk := source.read(1 << 20):
                    copy.write(chunk)
            try:
                analysis = analyse(path)
            except InstanceRefused as refused:
                failed = jobs.fail(held, code=refused.code, message=refused.reason)
                return "failed" if failed else "fenced"
        key = f"derived/{held.job_id}/attempt-{held.attempt}/preview.png"
        default_storage.save(key, ContentFile(analysis.png))
        faults.checkpoint("worker.stored")
        finished = jobs.finish(
            held,
            frames=[vars(frame) for frame in analysis.frames],
            histogram={"bin_edges": analysis.bin_edges, "counts": analysis.counts},
            record=analysis.record,
            preview_key=key,
            preview_sha256=analysis.png_sha256,
        )
        return "succeeded" if finished else "fenced"
    except SoftTimeLimitExceeded:
        message = "The processing ran past its time limit; retried automatically."
        return "retrying" if jobs.retry_later(held, code="timeout", message=message) else "fenced"
    except TRANSIENT_ERRORS as error:
        message = f"Temporarily unavailable ({type(error).__name__}); retried automatically."
        retried = jobs.retry_later(held, code="unavailable", message=message)
        return "retrying" if retried else "fenced"


def _lease_owner(hostname: str | None, pid: int | None) -> str:
    return f"{hostname}:{pid}"
