"""Crash-safety, shown by killing real processes at the moments that matter.

Each test runs real ``python -m exam worker``/``relay`` processes on the test
database and a real broker, arms a fault point (:mod:`exam.pipeline.faults`)
to catch a process at the right moment, kills or stops it there, and counts
what survived: the job's state and attempt, its result rows, the stored
objects.  The tests marked ``each_broker`` run on Redis and on RabbitMQ.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from exam.pipeline.models import Job, JobState, Result

from .conftest import SAMPLE, Processes, client_for, each_broker, upload, wait_for

pytestmark = [pytest.mark.slow]


def reached(faults_dir: Path, point: str) -> int:
    """Wait until a process paused at ``point``; return its PID."""
    found = wait_for(lambda: list(faults_dir.glob(f"{point}.*.reached")), what=f"{point} reached")
    return int(found[0].name.split(".")[-2])


def final(job_id: int) -> Job:
    """Wait until the job has finished (succeeded, failed or quarantined); return it."""
    return wait_for(
        lambda: Job.objects.filter(
            pk=job_id, state__in=["succeeded", "failed", "quarantined"]
        ).first(),
        what=f"job {job_id} to finish",
    )


@each_broker
@pytest.mark.req("P5.PIPE.CRASH.1")
def test_sigkill_of_the_worker_child_mid_task_ends_succeeded_at_attempt_2(
    alice: User, processes: Processes, faults_dir: Path
) -> None:
    """The child holding the task dies; its parent ends the lease; the retry succeeds once."""
    worker = processes.worker("w1")
    processes.relay()
    (faults_dir / "worker.claimed.pause").touch()
    job_id = upload(client_for(alice), SAMPLE).json()["id"]
    child = reached(faults_dir, "worker.claimed")
    assert child in processes.children(worker)
    os.kill(child, signal.SIGKILL)
    job = final(job_id)
    assert (job.state, job.attempt) == (JobState.SUCCEEDED, 2)
    assert Result.objects.filter(job=job).count() == 1
    assert worker.poll() is None
    assert len(processes.events("w1", "lease.expired", job_id=job_id)) == 1


@each_broker
@pytest.mark.req("P5.PIPE.CRASH.2")
def test_sigkill_of_a_whole_worker_mid_task_lets_a_second_worker_finish_once_its_lease_ends(
    alice: User, processes: Processes, faults_dir: Path
) -> None:
    """Nobody ends a dead worker's lease: its message, given back, is dropped; the sweeper requeues.

    The whole worker is gone, so no parent ends the lease as in CRASH.1.  The
    broker gives the unacknowledged message back (RabbitMQ at once, Redis
    after the visibility timeout), but it reaches the second worker while the
    lease still runs and is dropped.  Once the lease (10 s here) has expired,
    the relay's sweeper requeues the job, and the second worker finishes it.
    """
    first = processes.worker("w1", env={"EXAM_LEASE_SECONDS": "10"})
    processes.relay()
    (faults_dir / "worker.claimed.pause").touch()
    job_id = upload(client_for(alice), SAMPLE).json()["id"]
    reached(faults_dir, "worker.claimed")
    lease_end = Job.objects.get(pk=job_id).lease_expires_at
    processes.worker("w2")
    os.killpg(first.pid, signal.SIGKILL)
    job = final(job_id)
    assert (job.state, job.attempt) == (JobState.SUCCEEDED, 2)
    result = Result.objects.get(job=job)
    assert result.attempt == 2
    assert result.created_at >= lease_end
    assert [
        event["attempt"] for event in processes.events("w2", "claim.skipped", job_id=job_id)
    ] == [1]
    assert len(processes.events("relay", "sweeper.requeued", job_id=job_id)) == 1
    assert len(processes.events("w2", "job.succeeded", job_id=job_id)) == 1
