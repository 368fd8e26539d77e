"""What the operations page asks the broker: the workers answering now and the queue depths.

Workers answer Celery's remote control: a ping finds them (waiting the
whole timeout, since nobody knows how many there are), then inspects of
exactly those return as soon as each has answered -- so they may wait
longer (:data:`INSPECT_FACTOR` times) for a busy worker at no cost to an idle one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from kombu.exceptions import KombuError

from exam.pipeline.relay import queue_depth

#: How many ping timeouts an inspect of the workers that answered may take.
INSPECT_FACTOR = 5


@dataclass(frozen=True)
class Worker:
    """A worker that answered: its queues, busy pool processes of how many, tasks done."""

    name: str
    queues: list[str]
    busy: int
    concurrency: int
    tasks_done: int


def workers(app: Any, *, timeout: float) -> list[Worker]:
    """The workers that answer within ``timeout`` seconds, by name."""
    names = sorted(name for reply in app.control.ping(timeout=timeout) for name in reply)
    if not names:
        return []
    inspect = app.control.inspect(
        destination=names, timeout=timeout * INSPECT_FACTOR, limit=len(names)
    )
    stats = inspect.stats() or {}
    queues = inspect.active_queues() or {}
    active = inspect.active() or {}
    return [
        Worker(
            name=name,
            queues=sorted(queue["name"] for queue in queues.get(name, [])),
            busy=len(active.get(name, [])),
            concurrency=int(stats.get(name, {}).get("pool", {}).get("max-concurrency", 0)),
            tasks_done=sum(stats.get(name, {}).get("total", {}).values()),
        )
        for name in names
    ]


def queue_depths(app: Any) -> dict[str, int] | None:
    """Messages waiting in each size-class queue; None when the broker cannot be reached."""
    try:
        with app.connection_for_write() as connection:
            # One attempt, no pause: the page must not wait on a broker that is down.
            connection.ensure_connection(max_retries=1, interval_start=0)
            return {queue: queue_depth(connection, queue) for queue in settings.EXAM_SIZE_CLASSES}
    except (KombuError, OSError):
        return None
