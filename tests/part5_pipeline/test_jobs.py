"""A job's life in PostgreSQL (exam.pipeline.jobs) and the task around it (tasks.run_job).

These run in this process on real rows and a real storage folder: the
claim, the lease and the attempt as fencing token, one step at a time.  The
crash tests (test_crash.py) show the same rules holding with real worker
processes killed and stopped.
"""

from __future__ import annotations

import datetime
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.contrib.auth.models import User
from django.db import OperationalError
from django.utils import timezone

from exam.pipeline import jobs, tasks
from exam.pipeline.ingest import ingest
from exam.pipeline.models import Job, JobState, Outbox, Result

from .conftest import SAMPLE, UNPROCESSABLE, undecodable_copy

LEASE_OWNER = "w1@test:101"
OTHER_OWNER = "w2@test:202"


@pytest.fixture
def owner(db: None) -> User:
    """The owner of the uploads here."""
    return User.objects.create_user("dave")


@pytest.fixture
def make_job(owner: User, storage_dir: Path) -> Callable[..., Job]:
    """Return ``make(path=SAMPLE, **fields)``: a job ingested from ``path``, ``fields`` then set."""

    def make(path: Path = SAMPLE, **fields: Any) -> Job:
        with path.open("rb") as stream:
            job = ingest(owner=owner, stream=stream, declared_length=None, correlation_id="c-1").job
        Outbox.objects.filter(job=job).delete()  # as once the relay has published it
        Job.objects.filter(pk=job.pk).update(**fields)
        job.refresh_from_db()
        return job

    return make


def row(job: Job) -> dict[str, Any]:
    """The job's row as the database holds it now."""
    return Job.objects.values().get(pk=job.pk)


class TestClaim:
    """Tests for jobs.claim()."""

    @pytest.mark.req("P5.PIPE.WORK.1")
    def test_a_waiting_job_is_claimed_with_the_next_attempt_and_a_lease(
        self, make_job: Callable[..., Job], settings: Any
    ) -> None:
        """The claim makes the job running, attempt 1, leased to the worker for the lease time."""
        job = make_job()
        before = timezone.now()
        held = jobs.claim(job.pk, lease_owner=LEASE_OWNER)
        after = timezone.now()
        assert held == jobs.Claim(
            job.pk, 1, LEASE_OWNER, job.instance.storage_key, "c-1", job.created_at, None
        )
        job.refresh_from_db()
        assert (job.state, job.attempt, job.lease_owner) == (JobState.RUNNING, 1, LEASE_OWNER)
        lease = datetime.timedelta(seconds=settings.EXAM_LEASE_SECONDS)
        assert before + lease <= job.lease_expires_at <= after + lease
        assert before <= job.started_at <= after

    @pytest.mark.req("P5.PIPE.CRASH.2")
    @pytest.mark.parametrize(
        "fields",
        [
            {"state": JobState.RUNNING, "attempt": 1, "lease_owner": OTHER_OWNER, "lease_in": 60},
            {"state": JobState.SUCCEEDED, "attempt": 1},
            {"state": JobState.FAILED, "attempt": 1},
            {"state": JobState.QUARANTINED, "attempt": 5},
        ],
        ids=["live-lease", "succeeded", "failed", "quarantined"],
    )
    def test_a_job_held_by_a_live_lease_or_finished_is_not_claimed(
        self, make_job: Callable[..., Job], fields: dict[str, Any]
    ) -> None:
        """The claim returns None and changes nothing."""
        fields = dict(fields)
        lease_in = fields.pop("lease_in", None)
        if lease_in is not None:
            fields["lease_expires_at"] = timezone.now() + datetime.timedelta(seconds=lease_in)
        job = make_job(**fields)
        before = row(job)
        assert jobs.claim(job.pk, lease_owner=LEASE_OWNER) is None
        assert row(job) == before

    @pytest.mark.req("P5.PIPE.CRASH.2")
    def test_a_running_job_whose_lease_expired_is_claimed_by_another_worker(
        self, make_job: Callable[..., Job]
    ) -> None:
        """The next attempt goes to the new worker; the started time stays the first claim's."""
        started = timezone.now() - datetime.timedelta(minutes=10)
        job = make_job(
            state=JobState.RUNNING,
            attempt=1,
            lease_owner=OTHER_OWNER,
            lease_expires_at=timezone.now(),
            started_at=started,
        )
        held = jobs.claim(job.pk, lease_owner=LEASE_OWNER)
        assert held is not None
        job.refresh_from_db()
        assert (held.attempt, job.attempt, job.lease_owner, job.started_at) == (
            2,
            2,
            LEASE_OWNER,
            started,
        )

    @pytest.mark.req("P5.PIPE.POISON.1")
    def test_a_job_whose_attempts_are_used_up_is_quarantined_at_the_next_claim(
        self, make_job: Callable[..., Job], settings: Any
    ) -> None:
        """At EXAM_MAX_ATTEMPTS claims the job is quarantined as poison instead of claimed."""
        settings.EXAM_MAX_ATTEMPTS = 3
        job = make_job(
            state=JobState.RUNNING,
            attempt=3,
            lease_owner=OTHER_OWNER,
            lease_expires_at=timezone.now(),
        )
        assert jobs.claim(job.pk, lease_owner=LEASE_OWNER) is None
        job.refresh_from_db()
        assert (job.state, job.attempt, job.error_code, job.error) == (
            JobState.QUARANTINED,
            3,
            "poison",
            "Quarantined: 3 attempts started and none finished (the file may crash its worker).",
        )
        assert (job.lease_owner, job.lease_expires_at) == ("", None)
        assert job.finished_at is not None


RESULT: dict[str, Any] = {
    "frames": [{"min": 0.0, "max": 1.0, "mean": 0.5, "std": 0.5}],
    "histogram": {"bin_edges": [0.0, 1.0], "counts": [2]},
    "record": {"text": "a study"},
    "preview_key": "derived/1/attempt-1/preview.png",
    "preview_sha256": "0" * 64,
}
#: What an attempt may write, each fenced by the attempt.
WRITES: dict[str, Callable[[jobs.Claim], bool]] = {
    "finish": lambda held: jobs.finish(held, **RESULT),
    "fail": lambda held: jobs.fail(held, code="undecodable", message="bad pixels"),
    "retry_later": lambda held: jobs.retry_later(held, code="unavailable", message="later"),
}


class TestFencing:
    """Tests for jobs.finish(), fail() and retry_later(): only the current attempt may write."""

    @pytest.mark.req("P5.PIPE.FENCE.1")
    @pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
    def test_a_stale_attempt_changes_no_row(
        self, make_job: Callable[..., Job], write: Callable[[jobs.Claim], bool]
    ) -> None:
        """Once another worker has claimed the next attempt, the first one's write returns False."""
        job = make_job()
        stale = jobs.claim(job.pk, lease_owner=LEASE_OWNER)
        assert stale is not None
        Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now())
        assert jobs.claim(job.pk, lease_owner=OTHER_OWNER) is not None
        before = row(job)
        assert write(stale) is False
        assert row(job) == before
        assert (Result.objects.count(), Outbox.objects.count()) == (0, 0)

    @pytest.mark.req("P5.PIPE.FENCE.1")
    def test_a_finished_job_takes_no_second_write_from_its_own_attempt(
        self, make_job: Callable[..., Job]
    ) -> None:
        """After finish, the same attempt's fail changes nothing: the job is no longer running."""
        held = jobs.claim(make_job().pk, lease_owner=LEASE_OWNER)
        assert held is not None
        assert jobs.finish(held, **RESULT) is True
        before = Job.objects.values().get()
        assert jobs.fail(held, code="undecodable", message="bad pixels") is False
        assert Job.objects.values().get() == before

    @pytest.mark.req("P5.PIPE.WORK.1")
    def test_finish_stores_the_result_and_ends_the_job(self, make_job: Callable[..., Job]) -> None:
        """The result row holds the attempt's values; the job is succeeded, its lease ended."""
        held = jobs.claim(make_job().pk, lease_owner=LEASE_OWNER)
        assert held is not None
        assert jobs.finish(held, **RESULT) is True
        job = Job.objects.get()
        assert (job.state, job.lease_owner, job.lease_expires_at) == (JobState.SUCCEEDED, "", None)
        result = Result.objects.values(*RESULT, "attempt").get(job=job)
        assert result == {**RESULT, "attempt": 1}

    @pytest.mark.req("P5.PIPE.WORK.2")
    def test_fail_ends_the_job_with_its_code_and_message(
        self, make_job: Callable[..., Job]
    ) -> None:
        """The job is failed for good, with the code and message given, and no outbox row."""
        held = jobs.claim(make_job().pk, lease_owner=LEASE_OWNER)
        assert held is not None
        assert jobs.fail(held, code="undecodable", message="bad pixels") is True
        job = Job.objects.get()
        assert (job.state, job.error_code, job.error) == (
            JobState.FAILED,
            "undecodable",
            "bad pixels",
        )
        assert not Outbox.objects.exists()

    @pytest.mark.req("P5.PIPE.TRANSIENT.1")
    @pytest.mark.parametrize(
        ("attempt", "delay"),
        [(1, 2), (2, 4), (3, 8), (9, 300)],
        ids=["1st", "2nd", "3rd", "capped"],
    )
    def test_retry_later_schedules_the_next_attempt_in_the_outbox_with_a_doubling_backoff(
        self, make_job: Callable[..., Job], settings: Any, attempt: int, delay: int
    ) -> None:
        """The job waits in retrying, its outbox row due base * 2**(attempt - 1) s later, capped."""
        settings.EXAM_RETRY_BASE_SECONDS, settings.EXAM_RETRY_MAX_SECONDS = 2, 300
        settings.EXAM_MAX_ATTEMPTS = 10
        job = make_job(attempt=attempt - 1)
        held = jobs.claim(job.pk, lease_owner=LEASE_OWNER)
        assert held is not None
        before = timezone.now()
        assert jobs.retry_later(held, code="unavailable", message="later") is True
        after = timezone.now()
        job.refresh_from_db()
        assert (job.state, job.error_code, job.lease_owner, job.lease_expires_at) == (
            JobState.RETRYING,
            "unavailable",
            "",
            None,
        )
        outbox = Outbox.objects.get()
        wait = datetime.timedelta(seconds=delay)
        assert (outbox.job_id, outbox.queue) == (job.pk, job.queue)
        assert before + wait <= outbox.not_before <= after + wait


class TestExpireLease:
    """Tests for jobs.expire_lease(): the worker's main process ends a dead child's lease."""

    @pytest.mark.req("P5.PIPE.CRASH.1")
    def test_the_lease_of_the_dead_child_ends_now(self, make_job: Callable[..., Job]) -> None:
        """The lease its owner held ends at once, so the redelivered message can claim the job."""
        job = make_job()
        jobs.claim(job.pk, lease_owner=LEASE_OWNER)
        assert jobs.expire_lease(job.pk, lease_owner=LEASE_OWNER) is True
        assert jobs.claim(job.pk, lease_owner=OTHER_OWNER) is not None

    @pytest.mark.req("P5.PIPE.CRASH.1")
    def test_another_worker_s_lease_is_left_alone(self, make_job: Callable[..., Job]) -> None:
        """A lease now held by another worker (or none) is not ended."""
        job = make_job()
        assert jobs.expire_lease(job.pk, lease_owner=LEASE_OWNER) is False
        jobs.claim(job.pk, lease_owner=OTHER_OWNER)
        before = row(job)
        assert jobs.expire_lease(job.pk, lease_owner=LEASE_OWNER) is False
        assert row(job) == before


@pytest.fixture
def meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[str, Callable[[], Any]], None]]:
    """Return ``at(point, action)``: run ``action`` when the task reaches fault point ``point``."""
    actions: dict[str, Callable[[], Any]] = {}
    monkeypatch.setattr(
        tasks.faults, "checkpoint", lambda name, key="": actions.pop(name, lambda: None)()
    )
    yield actions.__setitem__
    assert actions == {}, "a fault point was never reached"


class TestRunJob:
    """Tests for tasks.run_job(): one attempt, from claim to the job's outcome."""

    @pytest.mark.req("P5.PIPE.WORK.1")
    def test_a_job_runs_to_succeeded_with_its_preview_stored_under_the_attempt(
        self, make_job: Callable[..., Job], storage_dir: Path
    ) -> None:
        """The outcome is succeeded; the result names the preview written under attempt-1."""
        job = make_job(queued_at=timezone.now())
        assert tasks.run_job(job.pk, lease_owner=LEASE_OWNER) == "succeeded"
        result = Result.objects.get(job=job)
        assert (result.attempt, result.preview_key) == (
            1,
            f"derived/{job.pk}/attempt-1/preview.png",
        )
        assert (storage_dir / result.preview_key).exists()

    @pytest.mark.req("P5.PIPE.CRASH.1")
    def test_the_task_leases_the_job_to_its_worker_s_hostname_and_process(
        self, make_job: Callable[..., Job], meanwhile: Any
    ) -> None:
        """The lease owner is hostname:pid, the name the worker ends a dead child's lease by."""
        job = make_job()
        owners: list[str] = []
        meanwhile("worker.claimed", lambda: owners.append(row(job)["lease_owner"]))
        tasks.process_job.apply(args=[job.pk])
        assert owners == [f"{socket.gethostname()}:{os.getpid()}"]
        assert row(job)["state"] == JobState.SUCCEEDED

    @pytest.mark.req("P5.PIPE.WORK.2")
    @pytest.mark.parametrize(("make", "code", "reason"), UNPROCESSABLE)
    def test_a_file_the_worker_cannot_process_fails_the_job_for_good(
        self,
        make_job: Callable[..., Job],
        tmp_path: Path,
        make: Callable[[Path], Path],
        code: str,
        reason: str,
    ) -> None:
        """The outcome is failed, with the error code and reason, and nothing to retry."""
        job = make_job(make(tmp_path))
        assert tasks.run_job(job.pk, lease_owner=LEASE_OWNER) == "failed"
        job.refresh_from_db()
        assert (job.state, job.attempt, job.error_code, job.error) == (
            JobState.FAILED,
            1,
            code,
            reason,
        )
        assert (Result.objects.count(), Outbox.objects.count()) == (0, 0)

    @pytest.mark.req("P5.PIPE.CRASH.3")
    def test_a_message_for_a_finished_job_is_skipped(self, make_job: Callable[..., Job]) -> None:
        """A duplicate message claims nothing and changes nothing."""
        job = make_job(state=JobState.SUCCEEDED, attempt=1)
        before = row(job)
        assert tasks.run_job(job.pk, lease_owner=LEASE_OWNER) == "skipped"
        assert row(job) == before

    @pytest.mark.req("P5.PIPE.TRANSIENT.1")
    @pytest.mark.parametrize(
        ("error", "code", "message"),
        [
            (
                FileNotFoundError(2, "No such file or directory"),
                "unavailable",
                "Temporarily unavailable (FileNotFoundError); retried automatically.",
            ),
            (
                OperationalError("the server closed the connection"),
                "unavailable",
                "Temporarily unavailable (OperationalError); retried automatically.",
            ),
            (
                SoftTimeLimitExceeded(),
                "timeout",
                "The processing ran past its time limit; retried automatically.",
            ),
        ],
        ids=["storage", "database", "soft-time-limit"],
    )
    def test_a_transient_error_leaves_the_job_retrying_with_its_code(
        self,
        make_job: Callable[..., Job],
        meanwhile: Any,
        error: Exception,
        code: str,
        message: str,
    ) -> None:
        """Storage or database errors and the soft time limit are retried, never failed."""
        job = make_job()

        def fail() -> None:
            raise error

        meanwhile("worker.stored", fail)
        assert tasks.run_job(job.pk, lease_owner=LEASE_OWNER) == "retrying"
        job.refresh_from_db()
        assert (job.state, job.attempt, job.error_code, job.error) == (
            JobState.RETRYING,
            1,
            code,
            message,
        )
        assert Outbox.objects.filter(job=job).count() == 1

    @pytest.mark.req("P5.PIPE.TRANSIENT.1")
    def test_storage_unavailable_leaves_the_job_retrying(
        self, make_job: Callable[..., Job], storage_dir: Path, meanwhile: Any
    ) -> None:
        """An OSError reading the original is transient: retrying, error code unavailable."""
        job = make_job()
        meanwhile("worker.claimed", lambda: storage_dir.rename(storage_dir.with_name("away")))
        assert tasks.run_job(job.pk, lease_owner=LEASE_OWNER) == "retrying"
        job.refresh_from_db()
        assert (job.state, job.error_code) == (JobState.RETRYING, "unavailable")

    @pytest.mark.req("P5.PIPE.FENCE.1")
    @pytest.mark.parametrize(
        ("point", "spoil"),
        [
            ("worker.stored", None),
            ("worker.claimed", "storage"),
            ("worker.claimed", "pixels"),
        ],
        ids=["finish", "retry_later", "fail"],
    )
    def test_an_attempt_overtaken_by_another_worker_ends_fenced(
        self,
        make_job: Callable[..., Job],
        storage_dir: Path,
        tmp_path: Path,
        meanwhile: Any,
        point: str,
        spoil: str | None,
    ) -> None:
        """Whatever this attempt would write -- result, retry or failure -- it writes nothing."""
        job = make_job()

        def overtake() -> None:
            Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now())
            assert jobs.claim(job.pk, lease_owner=OTHER_OWNER) is not None
            if spoil == "storage":
                storage_dir.rename(storage_dir.with_name("away"))
            elif spoil == "pixels":
                original = storage_dir / job.instance.storage_key
                original.write_bytes(undecodable_copy(tmp_path).read_bytes())

        meanwhile(point, overtake)
        assert tasks.run_job(job.pk, lease_owner=LEASE_OWNER) == "fenced"
        job.refresh_from_db()
        assert (job.state, job.attempt, job.lease_owner) == (JobState.RUNNING, 2, OTHER_OWNER)
        assert (Result.objects.count(), Outbox.objects.count()) == (0, 0)


class TestLeaseRenewal:
    """Tests for jobs.renew_lease() and jobs.LeaseKeeper."""

    @pytest.mark.req("P5.PIPE.LEASE.1")
    def test_renewing_extends_the_current_attempt_s_lease_from_now(
        self, make_job: Callable[..., Job], settings: Any
    ) -> None:
        """The lease ends EXAM_LEASE_SECONDS after the renewal, not after the claim."""
        held = jobs.claim(make_job().pk, lease_owner=LEASE_OWNER)
        assert held is not None
        Job.objects.filter(pk=held.job_id).update(lease_expires_at=timezone.now())
        before = timezone.now()
        assert jobs.renew_lease(held) is True
        lease = datetime.timedelta(seconds=settings.EXAM_LEASE_SECONDS)
        expires = Job.objects.get(pk=held.job_id).lease_expires_at
        assert expires is not None
        assert before + lease <= expires <= timezone.now() + lease

    @pytest.mark.req("P5.PIPE.LEASE.1")
    @pytest.mark.parametrize(
        "change", [{"attempt": 2}, {"state": JobState.SUCCEEDED}], ids=["newer-attempt", "finished"]
    )
    def test_a_fenced_off_attempt_renews_nothing(
        self, make_job: Callable[..., Job], change: dict[str, Any]
    ) -> None:
        """Once another attempt holds the job, or it has finished, renewal changes no row."""
        held = jobs.claim(make_job().pk, lease_owner=LEASE_OWNER)
        assert held is not None
        Job.objects.filter(pk=held.job_id).update(**change)
        before = row(Job.objects.get(pk=held.job_id))
        assert jobs.renew_lease(held) is False
        assert row(Job.objects.get(pk=held.job_id)) == before


@pytest.mark.req("P5.PIPE.LEASE.1")
@pytest.mark.django_db(transaction=True)
def test_the_keeper_renews_every_third_of_the_lease_and_stops_with_the_attempt(
    owner: User, storage_dir: Path, settings: Any
) -> None:
    """With a 0.6 s lease, the lease keeps moving while the keeper runs and stays put after."""
    settings.EXAM_LEASE_SECONDS = 0.6
    with SAMPLE.open("rb") as stream:
        job = ingest(owner=owner, stream=stream, declared_length=None, correlation_id="c").job
    held = jobs.claim(job.pk, lease_owner=LEASE_OWNER)
    assert held is not None

    def lease() -> datetime.datetime | None:
        return Job.objects.get(pk=job.pk).lease_expires_at

    with jobs.LeaseKeeper(held):
        seen = {lease()}
        deadline = timezone.now() + datetime.timedelta(seconds=10)
        while len(seen) < 3 and timezone.now() < deadline:
            seen.add(lease())
            time.sleep(0.02)
    assert len(seen) >= 3
    last = lease()
    assert last is not None
    assert last > timezone.now()
    final = timezone.now() + datetime.timedelta(seconds=0.8)
    while timezone.now() < final:
        assert lease() == last
        time.sleep(0.05)
