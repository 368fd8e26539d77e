"""The outbox relay and the stuck-job sweeper: what makes the broker's losses harmless.

:func:`relay_once` publishes the outbox rows that are due, oldest first,
each as one task message on its size class's queue, and deletes them in the
same transaction.  A crash after publishing and before the commit publishes
the rows again: a duplicate message, which the job's fencing makes harmless;
a row is never deleted unpublished.  A queue at ``EXAM_QUEUE_DEPTH_LIMIT``
messages gets nothing more: its rows wait in the outbox (held, not lost)
until it drains.

:func:`sweep` finds what no message will ever move again and queues it anew:
a running job whose lease expired (its worker died and the broker lost or
acknowledged the message), a waiting job published long ago (a message the
broker lost).  It also deletes stored objects nothing refers to: originals
of an ingest that crashed before its commit, and the previews of attempts
that lost to another.  Both functions are idempotent: running them twice,
or in two processes at once, does no harm.
"""

from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from kombu.exceptions import ChannelError

from exam.logs import get_logger
from exam.pipeline import faults
from exam.pipeline.models import Instance, Job, JobState, Outbox, Result
from exam.pipeline.tasks import TASK_NAME, app

logger = get_logger(__name__)

ORPHAN_PREFIXES = ("originals", "derived")


def relay_once(*, batch: int = 100) -> int:
    """Publish the due outbox rows (at most ``batch``) whose queue has room; return how many."""
    now = timezone.now()
    with app.connection_for_write() as connection, transaction.atomic():
        rows = list(
            Outbox.objects.select_for_update(skip_locked=True)
            .filter(not_before__lte=now)
            .order_by("not_before", "id")[:batch]
        )
        room = {
            queue: settings.EXAM_QUEUE_DEPTH_LIMIT - queue_depth(connection, queue)
            for queue in {row.queue for row in rows}
        }
        published = []
        for row in rows:
            if room[row.queue] <= 0:
                continue
            app.send_task(
                TASK_NAME,
                args=[row.job_id],
                queue=row.queue,
                task_id=f"job-{row.job_id}-{row.pk}",
                connection=connection,
            )
            room[row.queue] -= 1
            published.append(row)
        faults.checkpoint("relay.published")
        Outbox.objects.filter(pk__in=[row.pk for row in published]).delete()
        Job.objects.filter(pk__in=[row.job_id for row in published]).update(queued_at=now)
    held = len(rows) - len(published)
    if published or held:
        logger.info(
            "outbox relayed",
            extra={"event": "outbox.relayed", "published": len(published), "held": held},
        )
    return len(published)


def queue_depth(connection: object, queue: str) -> int:
    """The number of messages waiting in ``queue`` (0 for a queue the broker does not hold)."""
    channel = connection.default_channel  # type: ignore[attr-defined]
    try:
        return int(channel.queue_declare(queue=queue, passive=True).message_count)
    except ChannelError:
        # Redis keeps no key for an empty queue: kombu reports it as not found.
        return 0


@dataclass(frozen=True)
class SweepReport:
    """What one sweep queued again and deleted."""

    requeued: int
    orphans_deleted: int


def sweep() -> SweepReport:
    """Queue again the jobs no message will move, and delete objects nothing refers to."""
    now = timezone.now()
    stale = now - datetime.timedelta(seconds=settings.EXAM_SWEEP_STALE_SECONDS)
    pending = Exists(Outbox.objects.filter(job=OuterRef("pk")))
    lost_worker = Q(state=JobState.RUNNING, lease_expires_at__lte=now) & (
        Q(queued_at__isnull=True) | Q(queued_at__lt=F("lease_expires_at")) | Q(queued_at__lt=stale)
    )
    lost_message = Q(state__in=(JobState.QUEUED, JobState.RETRYING), queued_at__lt=stale)
    with transaction.atomic():
        stuck = list(
            Job.objects.select_for_update(skip_locked=True)
            .filter(lost_worker | lost_message)
            .filter(~pending)
        )
        Outbox.objects.bulk_create(
            Outbox(job=job, queue=job.queue, not_before=now) for job in stuck
        )
        Job.objects.filter(pk__in=[job.pk for job in stuck]).update(queued_at=now)
    for job in stuck:
        logger.warning(
            "job requeued by the sweeper",
            extra={
                "event": "sweeper.requeued",
                "job_id": job.pk,
                "attempt": job.attempt,
                "correlation_id": job.correlation_id,
                "state": job.state,
            },
        )
    deleted = _delete_orphans(now - datetime.timedelta(seconds=settings.EXAM_ORPHAN_GRACE_SECONDS))
    return SweepReport(requeued=len(stuck), orphans_deleted=deleted)


def run(stop: threading.Event, *, interval: float = 0.5, sweep_every: float = 10.0) -> None:
    """Relay until ``stop`` is set, sweeping every ``sweep_every`` seconds."""
    declare_queues()
    last_sweep = 0.0
    while not stop.is_set():
        relay_once()
        if timezone.now().timestamp() - last_sweep >= sweep_every:
            sweep()
            last_sweep = timezone.now().timestamp()
        stop.wait(interval)


def declare_queues() -> None:
    """Declare the task queues as the workers do (quorum queues on RabbitMQ), before publishing."""
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in app.amqp.queues.values():
            queue(channel).declare()


def _delete_orphans(before: datetime.datetime) -> int:
    referenced = set(Instance.objects.values_list("storage_key", flat=True))
    referenced |= set(Result.objects.values_list("preview_key", flat=True))
    deleted = 0
    for key in _stored_keys():
        if key not in referenced and default_storage.get_modified_time(key) < before:
            default_storage.delete(key)
            deleted += 1
            logger.info("orphan deleted", extra={"event": "sweeper.orphan_deleted"})
    return deleted


def _stored_keys(prefix: str = "") -> list[str]:
    if not prefix:
        return [
            key
            for top in ORPHAN_PREFIXES
            if default_storage.exists(top)
            for key in _stored_keys(top)
        ]
    folders, files = default_storage.listdir(prefix)
    keys = [f"{prefix}/{name}" for name in files]
    for folder in folders:
        keys += _stored_keys(f"{prefix}/{folder}")
    return keys
