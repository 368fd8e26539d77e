"""The outbox relay and the sweeper (exam.pipeline.relay), run in this process on real rows.

The sweeper's tests build jobs in each state it must tell apart and run
:func:`sweep` again and again; the back-pressure test fills a real queue on
the embedded Redis and lets a real worker drain it.
"""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from exam.pipeline.models import Instance, Job, JobState, Outbox, Result
from exam.pipeline.relay import SweepReport, declare_queues, queue_depth, relay_once, sweep
from exam.pipeline.tasks import app

from .conftest import Processes, client_for, copies, upload, wait_for


def make_job(owner: User, **fields: Any) -> Job:
    """A job of a new instance (stored under ``originals/<uid>.dcm``), with ``fields`` set.

    A number given for a time field (``..._at``) means that many seconds ago.
    """
    fields = {
        name: ago(value) if name.endswith("_at") and value is not None else value
        for name, value in fields.items()
    }
    uid = generate_uid()
    instance = Instance.objects.create(
        owner=owner,
        sop_instance_uid=uid,
        sop_class_uid="1.2.840.10008.5.1.4.1.1.7",
        study_instance_uid=generate_uid(),
        series_instance_uid=generate_uid(),
        transfer_syntax_uid=ExplicitVRLittleEndian,
        sha256="0" * 64,
        size=1,
        storage_key=f"originals/{uid}.dcm",
        rows=1,
        columns=1,
        frames=1,
        size_class="s",
    )
    return Job.objects.create(
        instance=instance,
        owner=owner,
        pipeline_version="1",
        queue="s",
        correlation_id=uid[-12:],
        **fields,
    )


def ago(seconds: float) -> datetime.datetime:
    """The time ``seconds`` ago (negative: in the future)."""
    return timezone.now() - datetime.timedelta(seconds=seconds)


@pytest.fixture
def owner(db: None) -> User:
    """The owner of the jobs built here."""
    return User.objects.create_user("carol")


@pytest.fixture
def stale(settings: Any) -> float:
    """EXAM_SWEEP_STALE_SECONDS, set to one minute here."""
    settings.EXAM_SWEEP_STALE_SECONDS = 60
    return 60.0


class TestSweepRequeues:
    """Tests for sweep(): the jobs no message will move again."""

    @pytest.mark.req("P5.PIPE.SWEEP.1")
    @pytest.mark.parametrize(
        "fields",
        [
            {"state": JobState.RUNNING, "attempt": 1, "lease_expires_at": 1, "queued_at": 300},
            {"state": JobState.RUNNING, "attempt": 1, "lease_expires_at": 1, "queued_at": None},
            {"state": JobState.QUEUED, "queued_at": 61},
            {"state": JobState.RETRYING, "attempt": 2, "queued_at": 61},
        ],
        ids=["expired-lease", "expired-lease-never-published", "stale-queued", "stale-retrying"],
    )
    def test_a_stuck_job_is_requeued_once_however_often_the_sweeper_runs(
        self, owner: User, stale: float, storage_dir: Path, fields: dict[str, Any]
    ) -> None:
        """One outbox row, due now, is written for the job; later sweeps write none."""
        job = make_job(owner, **fields)
        before = timezone.now()
        reports = [sweep() for _ in range(3)]
        assert reports == [SweepReport(1, 0), SweepReport(0, 0), SweepReport(0, 0)]
        row = Outbox.objects.get()
        assert (row.job_id, row.queue) == (job.pk, "s")
        assert before <= row.not_before <= timezone.now()
        job.refresh_from_db()
        assert job.queued_at == row.not_before
        assert (job.state, job.attempt) == (fields["state"], fields.get("attempt", 0))

    @pytest.mark.req("P5.PIPE.SWEEP.1")
    def test_a_requeued_job_is_not_requeued_again_once_its_row_is_published(
        self, owner: User, stale: float, storage_dir: Path, broker_url: str
    ) -> None:
        """After the relay publishes the sweeper's row, the next sweeps requeue nothing."""
        job = make_job(owner, state=JobState.RUNNING, attempt=1, lease_expires_at=1)
        assert sweep().requeued == 1
        declare_queues()
        assert relay_once() == 1
        assert [sweep().requeued for _ in range(2)] == [0, 0]
        assert not Outbox.objects.exists()
        with app.connection_for_write() as connection:
            assert queue_depth(connection, "s") == 1
        job.refresh_from_db()
        assert job.state == JobState.RUNNING

    @pytest.mark.req("P5.PIPE.SWEEP.1")
    @pytest.mark.parametrize(
        ("fields", "pending"),
        [
            ({"state": JobState.RUNNING, "attempt": 1, "lease_expires_at": -60}, None),
            ({"state": JobState.RUNNING, "attempt": 1, "lease_expires_at": 1}, 0),
            ({"state": JobState.RETRYING, "attempt": 1, "queued_at": 600}, -30),
            ({"state": JobState.QUEUED, "queued_at": 600}, 600),
            ({"state": JobState.QUEUED, "queued_at": None}, 0),
            ({"state": JobState.QUEUED, "queued_at": 30}, None),
            ({"state": JobState.SUCCEEDED, "attempt": 1, "queued_at": 600}, None),
            ({"state": JobState.FAILED, "attempt": 1, "queued_at": 600}, None),
            ({"state": JobState.QUARANTINED, "attempt": 5, "queued_at": 600}, None),
        ],
        ids=[
            "live-lease",
            "expired-lease-with-pending-row",
            "retrying-with-backoff-row",
            "stale-with-pending-row",
            "new-with-pending-row",
            "published-recently",
            "succeeded",
            "failed",
            "quarantined",
        ],
    )
    def test_a_job_that_a_message_will_still_move_is_left_alone(
        self,
        owner: User,
        stale: float,
        storage_dir: Path,
        fields: dict[str, Any],
        pending: float | None,
    ) -> None:
        """A live lease, a pending outbox row, a recent message or a final state: no new row."""
        job = make_job(owner, **fields)
        if pending is not None:
            Outbox.objects.create(job=job, queue="s", not_before=ago(pending))
        rows = list(Outbox.objects.values())
        before = Job.objects.values().get()
        assert [sweep() for _ in range(2)] == [SweepReport(0, 0)] * 2
        assert list(Outbox.objects.values()) == rows
        assert Job.objects.values().get() == before


class TestSweepDeletesOrphans:
    """Tests for sweep(): stored objects nothing refers to."""

    @pytest.fixture
    def store(self, storage_dir: Path) -> Callable[[str, float], Path]:
        """Return ``store(key, age)``: write an object last changed ``age`` seconds ago."""

        def write(key: str, age: float) -> Path:
            path = storage_dir / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(key.encode())
            then = ago(age).timestamp()
            os.utime(path, (then, then))
            return path

        return write

    @pytest.mark.req("P5.PIPE.SWEEP.1")
    def test_unreferenced_objects_past_the_grace_period_are_deleted_the_rest_kept(
        self, owner: User, storage_dir: Path, store: Callable[[str, float], Path], settings: Any
    ) -> None:
        """Old orphans in originals/ and derived/ go; young, referenced and other objects stay."""
        settings.EXAM_ORPHAN_GRACE_SECONDS = 60
        job = make_job(owner, state=JobState.SUCCEEDED, attempt=2)
        Result.objects.create(
            job=job,
            attempt=2,
            frames=[],
            histogram={},
            record={},
            preview_key=f"derived/{job.pk}/attempt-2/preview.png",
            preview_sha256="0" * 64,
        )
        kept = [
            store(job.instance.storage_key, 600),
            store(f"derived/{job.pk}/attempt-2/preview.png", 600),
            store("originals/ab/young-orphan.dcm", 30),
            store(f"derived/{job.pk}/attempt-3/preview.png", 30),
            store("elsewhere/old.bin", 600),
        ]
        deleted = [
            store("originals/cd/old-orphan.dcm", 120),
            store(f"derived/{job.pk}/attempt-1/preview.png", 120),
        ]
        assert sweep() == SweepReport(requeued=0, orphans_deleted=2)
        assert [path.exists() for path in kept + deleted] == [True] * 5 + [False] * 2
        assert sweep() == SweepReport(requeued=0, orphans_deleted=0)

    @pytest.mark.req("P5.PIPE.SWEEP.1")
    def test_an_empty_storage_has_nothing_to_delete(
        self, owner: User, storage_dir: Path, settings: Any
    ) -> None:
        """Without originals/ or derived/ folders the sweep deletes nothing and does not fail."""
        settings.EXAM_ORPHAN_GRACE_SECONDS = 0
        assert sweep() == SweepReport(requeued=0, orphans_deleted=0)


@pytest.mark.slow
@pytest.mark.req("P5.PIPE.PRESSURE.2")
def test_a_full_queue_gets_no_more_messages_and_the_held_jobs_succeed_once_it_drains(
    alice: User, processes: Processes, tmp_path: Path, settings: Any, caplog: Any
) -> None:
    """The relay publishes up to the depth limit and holds the rest; a worker drains them all."""
    settings.EXAM_QUEUE_DEPTH_LIMIT = 2
    client = client_for(alice)
    job_ids = [upload(client, path).json()["id"] for path in copies(tmp_path, 5)]
    declare_queues()
    caplog.set_level(logging.INFO, logger="exam")
    assert [relay_once(), relay_once()] == [2, 0]
    relayed = [r for r in caplog.records if getattr(r, "event", "") == "outbox.relayed"]
    assert [(r.published, r.held) for r in relayed] == [(2, 3), (0, 3)]
    with app.connection_for_write() as connection:
        assert queue_depth(connection, "s") == 2
    assert Outbox.objects.count() == 3
    processes.relay(env={"EXAM_QUEUE_DEPTH_LIMIT": "2"})
    processes.worker("w1")
    wait_for(
        lambda: Job.objects.filter(state=JobState.SUCCEEDED).count() == 5,
        what="the five jobs to succeed",
    )
    assert sorted(Job.objects.values_list("pk", "attempt")) == [(pk, 1) for pk in sorted(job_ids)]
    assert (Outbox.objects.count(), Result.objects.count()) == (0, 5)
