"""The demo's Part 5 step: the bundled DICOM files through the real pipeline.

It starts what ``stack`` starts -- PostgreSQL and the broker (embedded unless
configured), a worker process, the relay -- uploads every bundled DICOM file
through the same ingest service as the API, waits for the jobs, prints each
job's outcome and result, and stops everything.  The demo's account starts
empty each time, so every run shows the same thing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from exam.api.commands import DATABASE_ERRORS, log_database_error
from exam.logs import get_logger
from exam.pipeline.broker import BrokerError
from exam.pipeline.commands import services

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from exam.pipeline.models import Job

logger = get_logger(__name__)

DEMO_USER = "demo-part5"
WAIT_SECONDS = 120.0


@dataclass(frozen=True)
class DemoJob:
    """One file's job, as the demo prints it."""

    file: str
    status: str
    attempt: int
    queue: str
    frames: int
    mean_first_frame: float | None
    preview_bytes: int

    def __str__(self) -> str:
        mean = "-" if self.mean_first_frame is None else f"{self.mean_first_frame:.2f}"
        return (
            f"  {self.file:<22} {self.status:<10} {self.attempt:>7}  {self.queue:<5} "
            f"{self.frames:>6}  {mean:>10}  {self.preview_bytes:>9}"
        )


def run_demo(fixtures: Path) -> list[DemoJob] | None:
    """Run the bundled DICOM files through the pipeline; print and return their jobs."""
    files = sorted(fixtures.glob("*.dcm"))
    try:
        rows = _run(files)
    except (*DATABASE_ERRORS, BrokerError) as error:
        log_database_error(error)
        return None
    print(f"uploaded {len(files)} DICOM files; one worker process, two pool processes:")
    print(
        f"  {'file':<22} {'status':<10} {'attempt':>7}  queue {'frames':>6}  "
        f"{'mean (1st)':>10}  {'PNG bytes':>9}"
    )
    print("\n".join(map(str, rows)))
    return rows if all(row.status == "succeeded" for row in rows) else None


def _run(files: list[Path]) -> list[DemoJob]:
    """Start a worker and the relay, upload ``files``, wait for their jobs, stop both."""
    with services(broker=True) as environment:
        from exam.pipeline import relay

        owner = _fresh_owner()
        worker = subprocess.Popen(
            [sys.executable, "-m", "exam", "worker", "--concurrency", "2", "--name", "demo@%h"],
            env={**os.environ, **environment},
            # Its JSON log lines and Celery's shutdown notice are for machines;
            # the demo prints each job's outcome instead.
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stop = threading.Event()
        relaying = threading.Thread(target=relay.run, args=(stop,), kwargs={"interval": 0.1})
        relaying.start()
        try:
            job_ids = [_upload(owner, path) for path in files]
            jobs = _wait(job_ids)
        finally:
            stop.set()
            relaying.join()
            worker.terminate()
            worker.wait()
        return [_row(job) for job in jobs]


def _fresh_owner() -> User:
    from django.contrib.auth.models import User
    from django.core.files.storage import default_storage
    from django.db import transaction

    from exam.pipeline.models import AuditEvent, Instance, Job, Outbox, Result

    owner, _ = User.objects.get_or_create(username=DEMO_USER)
    with transaction.atomic():
        keys = list(Instance.objects.filter(owner=owner).values_list("storage_key", flat=True))
        keys += list(Result.objects.filter(job__owner=owner).values_list("preview_key", flat=True))
        Result.objects.filter(job__owner=owner).delete()
        Outbox.objects.filter(job__owner=owner).delete()
        Job.objects.filter(owner=owner).delete()
        Instance.objects.filter(owner=owner).delete()
        AuditEvent.objects.filter(owner=owner).delete()
    for key in keys:
        default_storage.delete(key)
    return owner


def _upload(owner: User, path: Path) -> int:
    from exam.pipeline.ingest import ingest

    with path.open("rb") as stream:
        outcome = ingest(
            owner=owner,
            stream=stream,
            declared_length=path.stat().st_size,
            filename=path.name,
            correlation_id=f"demo-{path.stem}",
        )
    return outcome.job.pk


def _wait(job_ids: list[int]) -> list[Job]:
    from exam.pipeline.models import FINAL_STATES, Job

    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        jobs = list(Job.objects.filter(pk__in=job_ids).select_related("instance").order_by("pk"))
        if all(job.state in FINAL_STATES for job in jobs):
            return jobs
        time.sleep(0.1)
    logger.error("the demo's jobs did not finish within %.0f s", WAIT_SECONDS)
    return list(Job.objects.filter(pk__in=job_ids).select_related("instance").order_by("pk"))


def _row(job: Job) -> DemoJob:
    from django.core.files.storage import default_storage

    from exam.pipeline.models import Result

    result = Result.objects.filter(job=job).first()
    return DemoJob(
        file=job.instance.filename,
        status=job.state,
        attempt=job.attempt,
        queue=job.queue,
        frames=job.instance.frames,
        mean_first_frame=None if result is None else result.frames[0]["mean"],
        preview_bytes=0 if result is None else default_storage.size(result.preview_key),
    )
