"""Prometheus metrics of the pipeline, served at ``/metrics``.

Counters and histograms are updated where things happen -- uploads in the web
processes, tasks in the workers' pool processes -- so with several processes
``prometheus_client`` runs in its multiprocess mode: each process writes its
values under ``PROMETHEUS_MULTIPROC_DIR`` (``stack`` sets it) and ``/metrics``
adds them up.  The outbox backlog is read from PostgreSQL at scrape time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

#: Seconds, from a fraction of a second to a quarter of an hour.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900)

UPLOADS = Counter("exam_uploads_total", "Uploads answered, by HTTP status.", ["status"])
TASKS = Counter("exam_tasks_total", "Task attempts run, by outcome.", ["outcome"])
QUEUE_WAIT = Histogram(
    "exam_queue_wait_seconds", "From a job's publication to its claim.", buckets=LATENCY_BUCKETS
)
END_TO_END = Histogram(
    "exam_end_to_end_seconds", "From upload to a finished job.", buckets=LATENCY_BUCKETS
)


class OutboxCollector(Collector):
    """The outbox rows waiting to be published, counted when scraped."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Yield the backlog gauge."""
        from exam.pipeline.models import Outbox

        yield GaugeMetricFamily(
            "exam_outbox_pending_rows",
            "Outbox rows not yet published.",
            value=Outbox.objects.count(),
        )


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: every process's metrics and the outbox backlog, in Prometheus' format."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    scrape = CollectorRegistry()
    scrape.register(OutboxCollector())
    body = generate_latest(registry) + generate_latest(scrape)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
