"""GET /metrics: Prometheus metrics added up over the web and worker processes.

In process, the default registry answers; the served test runs a web
process and a worker process sharing ``PROMETHEUS_MULTIPROC_DIR``, as the
stack does, so the counts come from two processes' files.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from prometheus_client.parser import text_string_to_metric_families
from rest_framework import status
from rest_framework.authtoken.models import Token

from exam.pipeline.models import Job

from .bodies import SAMPLE, SAMPLE_02
from .conftest import Processes, client_for, upload, wait_for
from .served import Web, served

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a scrape: (name, sorted labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scraped: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the scrape does not hold it."""
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def seconds(delta: datetime.timedelta) -> float:
    """A duration in seconds."""
    return delta / datetime.timedelta(seconds=1)


@pytest.mark.req("P5.PIPE.METRICS.1")
def test_metrics_count_this_process_s_uploads_and_the_outbox_backlog(
    client: Any, db: None, storage_dir: Path
) -> None:
    """One more 202 and one more 415 in the upload counter; the backlog is the outbox's row."""
    user = User.objects.create_user("alice")
    Token.objects.create(user=user)
    before = samples(client.get("/metrics").content.decode())
    upload(client_for(user), SAMPLE)
    client_for(user).generic("POST", "/api/instances/", b"x", content_type="text/plain")
    response = client.get("/metrics")
    assert response.status_code == status.HTTP_200_OK
    assert response["Content-Type"].startswith("text/plain; version=")
    after = samples(response.content.decode())
    for code in ("202", "415"):
        grown = value(after, "exam_uploads_total", status=code)
        assert grown - value(before, "exam_uploads_total", status=code) == 1
    assert value(after, "exam_outbox_pending_rows") == 1


@pytest.fixture
def metrics_processes(processes: Processes, tmp_path: Path) -> Processes:
    """The pipeline's processes, sharing one folder for their metrics."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    processes.env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return processes


@pytest.fixture
def web(metrics_processes: Processes) -> Iterator[Web]:
    """The API served on the processes' database, storage and metrics folder."""
    log = metrics_processes.log_dir / "web.log"
    with served(metrics_processes.env, log, "--workers", "2", "--log-json") as api:
        yield api


def scrape(web: Web) -> Samples:
    """GET /metrics from the served API."""
    connection = web.connection()
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        assert response.status == status.HTTP_200_OK
        return samples(response.read().decode())
    finally:
        connection.close()


def post(web: Web, user: User, body: bytes, content_type: str = "application/dicom") -> int:
    """Upload ``body``; return the status."""
    connection = web.connection()
    try:
        connection.request(
            "POST",
            "/api/instances/",
            body,
            {"Authorization": f"Token {user.auth_token.key}", "Content-Type": content_type},
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.mark.slow
@pytest.mark.req("P5.PIPE.METRICS.1")
def test_metrics_add_up_uploads_tasks_waits_and_backlog_over_processes(
    metrics_processes: Processes, web: Web, alice: User
) -> None:
    """Uploads by status from the web, tasks and latencies from the worker, the backlog from SQL."""
    files = [SAMPLE.read_bytes(), SAMPLE_02.read_bytes()]
    assert [post(web, alice, body) for body in files] == [status.HTTP_202_ACCEPTED] * 2
    assert post(web, alice, files[0]) == status.HTTP_200_OK
    assert post(web, alice, files[0], "text/plain") == status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    # Nothing relays yet: both jobs wait in the outbox.
    assert value(scrape(web), "exam_outbox_pending_rows") == 2

    metrics_processes.worker("worker")
    metrics_processes.relay()
    wait_for(lambda: Job.objects.filter(state="succeeded").count() == 2, what="both jobs")
    scraped = scrape(web)

    assert {
        code: value(scraped, "exam_uploads_total", status=code) for code in ("200", "202", "415")
    } == {
        "200": 1,
        "202": 2,
        "415": 1,
    }
    assert value(scraped, "exam_tasks_total", outcome="succeeded") == 2
    assert value(scraped, "exam_outbox_pending_rows") == 0
    jobs = list(Job.objects.all())
    waits = sum(seconds(job.started_at - job.queued_at) for job in jobs)
    totals = sum(seconds(job.finished_at - job.created_at) for job in jobs)
    assert value(scraped, "exam_queue_wait_seconds_count") == 2
    assert value(scraped, "exam_queue_wait_seconds_sum") == pytest.approx(waits, abs=0.5)
    assert value(scraped, "exam_end_to_end_seconds_count") == 2
    assert value(scraped, "exam_end_to_end_seconds_sum") == pytest.approx(totals, abs=0.5)
    assert value(scraped, "exam_end_to_end_seconds_bucket", le="+Inf") == 2
