"""Crash-safety, shown by killing real processes at the moments that matter.

Each test runs real ``python -m exam worker``/``relay`` processes on the test
database and a real broker, arms a fault point (:mod:`exam.pipeline.faults`)
to catch a process at the right moment, kills or stops it there, and counts
what survived: the job's state and attempt, its result rows, the outbox, the
stored objects.  The tests marked ``each_broker`` run on the embedded Redis
and again on RabbitMQ's quorum queues.
"""

from __future__ import annotations

import datetime
import hashlib
import http.client
import os
import signal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from exam.pipeline.models import Instance, Job, JobState, Outbox, Result
from exam.pipeline.relay import SweepReport, declare_queues, queue_depth, relay_once, sweep
from exam.pipeline.tasks import app

from ..part4_api.served import environment, served_api
from .conftest import (
    SAMPLE,
    WAIT_SECONDS,
    Processes,
    client_for,
    copies,
    database_url,
    each_broker,
    upload,
    wait_for,
)

pytestmark = [pytest.mark.slow]

FINAL_STATES = ("succeeded", "failed", "quarantined")


def reached(faults_dir: Path, point: str) -> int:
    """Wait until a process paused at ``point``; return its PID."""
    found = wait_for(lambda: list(faults_dir.glob(f"{point}.*.reached")), what=f"{point} reached")
    return int(found[0].name.split(".")[-2])


def final(job_id: int, *, timeout: float = WAIT_SECONDS) -> Job:
    """Wait until the job has finished (succeeded, failed or quarantined); return it."""
    return wait_for(
        lambda: Job.objects.filter(pk=job_id, state__in=FINAL_STATES).first(),
        timeout=timeout,
        what=f"job {job_id} to finish",
    )


@each_broker
@pytest.mark.req("P5.PIPE.CRASH.1")
def test_sigkill_of_the_worker_child_mid_task_ends_succeeded_at_attempt_2(
    alice: User, processes: Processes, faults_dir: Path
) -> None:
    """The child holding the task dies; its parent ends the lease; the retry succeeds once.

    The relay does not sweep here: the message the broker delivers again is
    what runs the second attempt.
    """
    processes.relay(sweep_every=3600)
    worker = processes.worker("w1")
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
    assert processes.events("w1", "claim.skipped", job_id=job_id) == []


@pytest.mark.req("P5.PIPE.CRASH.1")
def test_a_task_killed_at_the_hard_time_limit_ends_succeeded_at_attempt_2(
    alice: User, processes: Processes, faults_dir: Path
) -> None:
    """Celery kills the child at the hard limit; its parent ends the lease; the sweeper requeues.

    Celery acknowledges the message of a task it killed for time, so no
    redelivery runs the second attempt: the sweeper does, at once, the lease
    being over.
    """
    processes.relay()
    # No soft limit: the paused task stands for one stuck in C code, which never sees it.
    limits = {"EXAM_TASK_TIME_LIMIT": "3", "EXAM_TASK_SOFT_TIME_LIMIT": "0"}
    worker = processes.worker("w1", env=limits)
    (faults_dir / "worker.claimed.pause").touch()
    job_id = upload(client_for(alice), SAMPLE).json()["id"]
    child = reached(faults_dir, "worker.claimed")
    job = final(job_id)
    assert (job.state, job.attempt) == (JobState.SUCCEEDED, 2)
    assert Result.objects.filter(job=job).count() == 1
    assert child not in processes.children(worker)
    assert len(processes.events("w1", "lease.expired", job_id=job_id)) == 1
    assert len(processes.events("relay", "sweeper.requeued", job_id=job_id)) == 1
    assert processes.events("w1", "claim.skipped", job_id=job_id) == []


@each_broker
@pytest.mark.req("P5.PIPE.CRASH.2")
def test_sigkill_of_a_whole_worker_mid_task_lets_the_other_worker_finish_once_its_lease_ends(
    alice: User, processes: Processes, faults_dir: Path
) -> None:
    """Nobody ends a dead worker's lease: its message, given back, is dropped; the sweeper requeues.

    With the whole worker gone no parent ends the lease (as in CRASH.1).  The
    broker gives the unacknowledged message back -- RabbitMQ at once, when the
    connection drops; Redis after the visibility timeout (3 s here) -- to the
    other worker, which drops it: the dead worker's lease still runs.  Once
    the lease (8 s here, 60 s by default) has expired, the relay's sweeper
    requeues the job through the outbox and the other worker finishes it.
    """
    short = {
        "EXAM_LEASE_SECONDS": "8",
        "EXAM_BROKER_VISIBILITY_TIMEOUT": "3",
        "EXAM_BROKER_RESTORE_INTERVAL": "1",
    }
    processes.relay()
    workers = processes.workers(["w1", "w2"], env=short)
    (faults_dir / "worker.claimed.pause").touch()
    job_id = upload(client_for(alice), SAMPLE).json()["id"]
    child = reached(faults_dir, "worker.claimed")
    lease_end = Job.objects.get(pk=job_id).lease_expires_at
    [dead] = [name for name, worker in workers.items() if child in processes.children(worker)]
    [other] = set(workers) - {dead}
    os.killpg(workers[dead].pid, signal.SIGKILL)
    job = final(job_id)
    assert (job.state, job.attempt) == (JobState.SUCCEEDED, 2)
    result = Result.objects.get(job=job)
    assert result.attempt == 2
    assert result.created_at >= lease_end
    assert workers[dead].wait() == -signal.SIGKILL
    skipped = processes.events(other, "claim.skipped", job_id=job_id)
    assert [(event["attempt"], event["state"]) for event in skipped] == [(1, "running")]
    assert len(processes.events("relay", "sweeper.requeued", job_id=job_id)) == 1
    assert len(processes.events(other, "job.succeeded", job_id=job_id)) == 1


@pytest.mark.req("P5.PIPE.CRASH.3")
def test_sigkill_of_the_relay_between_publishing_and_marking_publishes_again_harmlessly(
    alice: User, processes: Processes, faults_dir: Path
) -> None:
    """The relay dies after publishing, before deleting its row: the row is published again, the
    duplicate message is dropped, and the job has one result."""
    (faults_dir / "relay.published.pause").touch()
    # The row first: the relay pauses at its first pass, published or not.
    job_id = upload(client_for(alice), SAMPLE).json()["id"]
    first = processes.relay("relay1")
    processes.worker("w1")
    assert reached(faults_dir, "relay.published") == first.pid
    os.killpg(first.pid, signal.SIGKILL)
    job = final(job_id)
    assert (job.state, job.attempt) == (JobState.SUCCEEDED, 1)
    assert Outbox.objects.filter(job=job).count() == 1
    processes.relay("relay2")
    wait_for(lambda: not Outbox.objects.exists(), what="the outbox to empty")
    [skipped] = wait_for(lambda: processes.events("w1", "claim.skipped", job_id=job_id))
    assert (skipped["attempt"], skipped["state"]) == (1, "succeeded")
    assert (Instance.objects.count(), Job.objects.count(), Result.objects.count()) == (1, 1, 1)
    assert Job.objects.get().attempt == 1


@pytest.mark.req("P5.PIPE.CRASH.4")
def test_sigkill_of_ingest_between_storing_and_committing_leaves_an_orphan_the_sweeper_deletes(
    alice: User, storage_dir: Path, faults_dir: Path, settings: Any
) -> None:
    """The upload fails with the server process; no row exists; the sweeper deletes the object."""
    (faults_dir / "ingest.stored.crash").touch()
    env = environment(
        DATABASE_URL=database_url(),
        EXAM_STORAGE_DIR=str(storage_dir),
        EXAM_FAULTS_DIR=str(faults_dir),
    )
    with served_api(env, "--workers", "1") as served:
        address = urlsplit(served.url)
        assert address.hostname is not None
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        connection.request(
            "POST",
            "/api/instances/",
            SAMPLE.read_bytes(),
            {"Authorization": f"Token {alice.auth_token.key}", "Content-Type": "application/dicom"},
        )
        with pytest.raises(ConnectionError):
            connection.getresponse()
    assert (Instance.objects.count(), Job.objects.count(), Outbox.objects.count()) == (0, 0, 0)
    [orphan] = (storage_dir / "originals").rglob("*.dcm")
    assert orphan.read_bytes() == SAMPLE.read_bytes()
    settings.EXAM_ORPHAN_GRACE_SECONDS = 0
    assert sweep() == SweepReport(requeued=0, orphans_deleted=1)
    assert not orphan.exists()


@pytest.mark.req("P5.PIPE.FENCE.1")
def test_a_worker_stopped_past_its_lease_changes_nothing_when_it_resumes(
    alice: User, processes: Processes, faults_dir: Path, storage_dir: Path
) -> None:
    """A zombie's finish is fenced off: the job row stays as the second worker left it, and the
    result names the second attempt's preview, whose bytes match its hash.

    The relay's sweeper republishes the job once the zombie's lease (2 s) has expired.
    """
    processes.relay()
    zombie = processes.worker("w1", env={"EXAM_LEASE_SECONDS": "2"})
    (faults_dir / "worker.stored.pause").touch()
    job_id = upload(client_for(alice), SAMPLE).json()["id"]
    reached(faults_dir, "worker.stored")
    os.killpg(zombie.pid, signal.SIGSTOP)
    processes.worker("w2")
    job = final(job_id)
    assert (job.state, job.attempt) == (JobState.SUCCEEDED, 2)
    assert len(processes.events("relay", "sweeper.requeued", job_id=job_id)) == 1
    row = Job.objects.values().get(pk=job_id)
    (faults_dir / "worker.stored.go").touch()
    os.killpg(zombie.pid, signal.SIGCONT)
    [done] = wait_for(lambda: processes.events("w1", "task.done", job_id=job_id))
    assert (done["attempt"], done["outcome"]) == (1, "fenced")
    [fenced] = processes.events("w1", "job.fenced", job_id=job_id)
    assert (fenced["attempt"], fenced["stale_attempt"]) == (2, 1)
    assert Job.objects.values().get(pk=job_id) == row
    result = Result.objects.get(job_id=job_id)
    assert (result.attempt, result.preview_key) == (2, f"derived/{job_id}/attempt-2/preview.png")
    stored = (storage_dir / result.preview_key).read_bytes()
    assert result.preview_sha256 == hashlib.sha256(stored).hexdigest()
    assert (storage_dir / f"derived/{job_id}/attempt-1/preview.png").exists()


@each_broker
@pytest.mark.req("P5.PIPE.POISON.1")
def test_a_file_that_kills_its_worker_every_time_is_quarantined_while_the_jobs_behind_it_succeed(
    alice: User, processes: Processes, faults_dir: Path, tmp_path: Path
) -> None:
    """Five claims, five crashes, then quarantine as poison; the 20 jobs queued behind succeed."""
    client = client_for(alice)
    poison, *others = copies(tmp_path, 21)
    poison_id = upload(client, poison).json()["id"]
    (faults_dir / "worker.claimed.crash").write_text(f"{poison_id}\n")
    other_ids = [upload(client, path).json()["id"] for path in others]
    processes.relay()
    processes.worker("w1", concurrency=2)
    job = final(poison_id, timeout=3 * WAIT_SECONDS)
    assert (job.state, job.attempt, job.error_code, job.error) == (
        JobState.QUARANTINED,
        5,
        "poison",
        "Quarantined: 5 attempts started and none finished (the file may crash its worker).",
    )
    assert len(processes.events("w1", "lease.expired", job_id=poison_id)) == 5
    assert [(job.state, job.attempt) for job in map(final, other_ids)] == [
        (JobState.SUCCEEDED, 1)
    ] * 20
    assert sorted(Result.objects.values_list("job_id", flat=True)) == sorted(other_ids)


@pytest.mark.req("P5.PIPE.TRANSIENT.1")
def test_storage_unavailable_once_is_retried_after_a_backoff_held_in_the_outbox(
    alice: User, processes: Processes, faults_dir: Path, storage_dir: Path
) -> None:
    """The attempt that finds no storage leaves the job retrying with an outbox row due later,
    nothing in the broker; once storage is back the next attempt succeeds."""
    processes.worker("w1", env={"EXAM_RETRY_BASE_SECONDS": "4"})
    (faults_dir / "worker.claimed.pause").touch()
    job_id = upload(client_for(alice), SAMPLE).json()["id"]
    declare_queues()
    assert relay_once() == 1
    reached(faults_dir, "worker.claimed")
    away = storage_dir.rename(storage_dir.with_name("storage-away"))
    (faults_dir / "worker.claimed.go").touch()
    job = wait_for(lambda: Job.objects.filter(pk=job_id, state=JobState.RETRYING).first())
    row = Outbox.objects.get(job=job)
    assert row.not_before > timezone.now()
    assert (job.attempt, job.error_code, job.error) == (
        1,
        "unavailable",
        "Temporarily unavailable (FileNotFoundError); retried automatically.",
    )
    assert datetime.timedelta(seconds=3.5) < row.not_before - row.created_at
    assert row.not_before - row.created_at <= datetime.timedelta(seconds=4)
    with app.connection_for_write() as connection:
        assert queue_depth(connection, "s") == 0
    assert relay_once() == 0
    away.rename(storage_dir)
    wait_for(relay_once, what="the retry to fall due")
    job = final(job_id)
    assert (job.state, job.attempt, job.error_code) == (JobState.SUCCEEDED, 2, "")
