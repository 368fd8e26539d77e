"""Benchmark the REST API served by ``python -m exam serve`` on PostgreSQL.

Usage::

    python benchmarks/bench_api.py [--entries 10000] [--requests 200] [--clients 8] [--seconds 5]

The benchmark starts an embedded PostgreSQL of its own (data in
``benchmarks/.data/pgdata``, database ``bench``, emptied at the start) --
or uses ``--database-url``, a scratch database it empties -- then serves the
API with ``python -m exam serve`` on a free loopback port and measures, over
HTTP with keep-alive connections:

1. ``POST /api/elements/`` of the 50-element sample (5 rows x 10 values each,
   ids made unique per request): the server time, median and best of
   ``--posts`` requests;
2. ``GET /api/elements/`` (first page, 100 entries) with ``--entries`` entries
   stored: median and 95th percentile latency over ``--requests`` requests;
3. ``GET /api/elements/<id>/`` throughput: ``--clients`` threads, each with its
   own connection, for ``--seconds`` seconds or ``--max-requests`` requests.

SQL query counts come from Django's ``CaptureQueriesContext`` around the same
requests made in-process (Django's test client) on the same database: a POST
of 1 and of 50 elements, and the list page with all entries stored.  Targets
(from the issue): at most 5 queries per POST whatever its size, a list median
under 25 ms, and a query count that does not grow with the table.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import harness
from harness import Samples

ROOT = harness.ROOT
SAMPLE = ROOT / "fixtures" / "sample-04-json.json"
DEFAULT_PGDATA = ROOT / "benchmarks" / ".data" / "pgdata"
BENCH_DATABASE = "bench"
LIST_PATH = "/api/elements/"
POST_QUERY_TARGET = 5
LIST_MEDIAN_TARGET_MS = 25.0
LISTENING = re.compile(r"API listening at http://([\d.]+):(\d+)/api/")


@dataclass(frozen=True)
class Throughput:
    """Requests completed by concurrent clients in a time window."""

    clients: int
    requests: int
    seconds: float
    latencies: Samples

    @property
    def per_second(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds


@dataclass(frozen=True)
class Results:
    """Everything the benchmark measured."""

    post_elements: int
    post: Samples
    post_queries_one: int
    post_queries_fifty: int
    entries: int
    listing: Samples
    list_queries_small: int
    list_queries_full: int
    detail: Throughput

    def table(self) -> str:
        """The results as a plain-text table with the targets."""

        def verdict(ok: bool) -> str:
            return "ok" if ok else "MISSED"

        post_ok = (
            self.post_queries_one == self.post_queries_fifty
            and self.post_queries_fifty <= POST_QUERY_TARGET
        )
        list_ok = self.listing.median < LIST_MEDIAN_TARGET_MS
        constant = self.list_queries_small == self.list_queries_full
        rows = [
            ("measure", "value", "target"),
            (
                f"POST of {self.post_elements} elements: time (median / best)",
                f"{self.post.median:.1f} / {self.post.best:.1f} ms",
                "",
            ),
            (
                "POST: SQL queries for 1 / 50 elements",
                f"{self.post_queries_one} / {self.post_queries_fifty}",
                f"<= {POST_QUERY_TARGET}, same for both: {verdict(post_ok)}",
            ),
            (
                f"GET list, first page of {self.entries} entries: median / p95",
                f"{self.listing.median:.1f} / {self.listing.p95:.1f} ms",
                f"median < {LIST_MEDIAN_TARGET_MS:g} ms: {verdict(list_ok)}",
            ),
            (
                "GET list: SQL queries with 1 / all entries stored",
                f"{self.list_queries_small} / {self.list_queries_full}",
                f"constant: {verdict(constant)}",
            ),
            (
                f"GET detail, {self.detail.clients} clients: throughput",
                f"{self.detail.per_second:.0f} requests/s "
                f"({self.detail.requests} in {self.detail.seconds:.1f} s)",
                "",
            ),
            (
                "GET detail: latency median / p95",
                f"{self.detail.latencies.median:.1f} / {self.detail.latencies.p95:.1f} ms",
                "",
            ),
        ]
        return harness.table(rows)


class Server:
    """``python -m exam serve`` in a subprocess, on a free loopback port."""

    def __init__(self, database_url: str, workers: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("POSTGRES_")}
        env["DATABASE_URL"] = database_url
        env.pop("DJANGO_SETTINGS_MODULE", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "exam", "serve", "--port", "0", "-v", "--workers", str(workers)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.address: tuple[str, int] | None = None
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()
        if not self.ready.wait(60) or self.address is None:
            self.stop()
            raise SystemExit("the server did not start")

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            match = LISTENING.search(line)
            if match and self.address is None:
                self.address = (match.group(1), int(match.group(2)))
                self.ready.set()
        self.ready.set()

    def connection(self) -> http.client.HTTPConnection:
        """A new keep-alive connection to the server."""
        assert self.address is not None
        return http.client.HTTPConnection(*self.address, timeout=30)

    def stop(self) -> None:
        """SIGTERM the server and wait for it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)


def request(
    connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None
) -> tuple[int, float]:
    """Send one request; return its status and latency in milliseconds."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    started = time.perf_counter()
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    return response.status, (time.perf_counter() - started) * 1000


def payload(sample: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The sample with every id prefixed, so that each POST stores new elements."""
    return {key: {**element, "id": f"{prefix}{element['id']}"} for key, element in sample.items()}


def prepare_database(database_url: str | None, pgdata: Path) -> tuple[str, Any]:
    """Return the benchmark's DATABASE_URL (and the embedded server to stop, if any)."""
    from exam.database import start_embedded

    if database_url:
        return database_url, None
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = start_embedded(pgdata)
    import psycopg2

    admin = psycopg2.connect(host=str(server.socket_dir), user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DATABASE])
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    admin.close()
    return f"postgresql://postgres@/{BENCH_DATABASE}?host={server.socket_dir}", server


def setup_django(database_url: str) -> None:
    """Point Django at the benchmark database, migrate it and empty the table."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "exam.api.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", interactive=False, verbosity=0)
    from exam.api.models import Element

    Element.objects.all().delete()


def count_queries(method: str, path: str, body: object = None) -> int:
    """The SQL queries one in-process request takes (outside any test transaction)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    with CaptureQueriesContext(connection) as captured:
        if method == "POST":
            response = client.post(path, json.dumps(body), content_type="application/json")
        else:
            response = client.get(path)
    assert response.status_code < 300, response.content
    return len(captured.captured_queries)


def store_entries(count: int, sample: dict[str, Any]) -> list[str]:
    """Store ``count`` entries through the service, in chunks; return their ids."""
    from exam.api.services import NewElement, element_create
    from exam.elements import summarize_element

    rows = next(iter(sample.values()))["data"]
    ids = [f"bulk-{number:06d}" for number in range(count)]
    for start in range(0, count, 1000):
        chunk = [
            NewElement(summarize_element(str(n), {"id": element_id, "data": rows}), rows)
            for n, element_id in enumerate(ids[start : start + 1000])
        ]
        element_create(elements=chunk)
    return ids


def measure_posts(server: Server, sample: dict[str, Any], posts: int) -> Samples:
    """POST the sample ``posts`` times on one connection, new ids each time."""
    connection = server.connection()
    samples = []
    for number in range(posts):
        body = json.dumps(payload(sample, f"p{number}-")).encode()
        code, elapsed = request(connection, "POST", LIST_PATH, body)
        assert code == 201, code
        samples.append(elapsed)
    connection.close()
    return Samples(samples)


def measure_list(server: Server, requests: int) -> Samples:
    """GET the first page ``requests`` times on one connection (after one warm-up)."""
    connection = server.connection()
    request(connection, "GET", LIST_PATH)
    samples = []
    for _ in range(requests):
        code, elapsed = request(connection, "GET", LIST_PATH)
        assert code == 200, code
        samples.append(elapsed)
    connection.close()
    return Samples(samples)


def measure_detail(
    server: Server, ids: Sequence[str], clients: int, seconds: float, max_requests: int
) -> Throughput:
    """GET details from ``clients`` threads until the time or request budget runs out."""
    deadline = time.perf_counter() + seconds
    budget = threading.Semaphore(max_requests)
    samples: list[list[float]] = [[] for _ in range(clients)]
    start = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        connection = server.connection()
        start.wait()
        position = index
        while time.perf_counter() < deadline and budget.acquire(blocking=False):
            element_id = ids[position % len(ids)]
            position += clients
            code, elapsed = request(connection, "GET", f"{LIST_PATH}{element_id}/")
            assert code == 200, code
            samples[index].append(elapsed)
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    flat = [value for client_samples in samples for value in client_samples]
    return Throughput(clients, len(flat), elapsed, Samples(flat))


def run(args: argparse.Namespace) -> Results:
    """Prepare the database, serve the API, measure; stop everything on the way out."""
    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))
    database_url, embedded = prepare_database(args.database_url, args.pgdata)
    try:
        setup_django(database_url)
        server = Server(database_url, args.workers)
        try:
            post_queries_one = count_queries("POST", LIST_PATH, payload({"1": sample["1"]}, "q1-"))
            post_queries_fifty = count_queries("POST", LIST_PATH, payload(sample, "q50-"))
            post = measure_posts(server, sample, args.posts)
            from exam.api.models import Element

            Element.objects.all().delete()
            ids = store_entries(1, sample)
            list_queries_small = count_queries("GET", LIST_PATH)
            Element.objects.all().delete()
            ids = store_entries(args.entries, sample)
            list_queries_full = count_queries("GET", LIST_PATH)
            listing = measure_list(server, args.requests)
            detail = measure_detail(server, ids, args.clients, args.seconds, args.max_requests)
        finally:
            server.stop()
    finally:
        from django.db import connections

        connections.close_all()
        if embedded is not None:
            embedded.stop()
    return Results(
        post_elements=len(sample),
        post=post,
        post_queries_one=post_queries_one,
        post_queries_fifty=post_queries_fifty,
        entries=args.entries,
        listing=listing,
        list_queries_small=list_queries_small,
        list_queries_full=list_queries_full,
        detail=detail,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--entries", type=int, default=10_000, help="entries stored for the list (10000)"
    )
    parser.add_argument("--posts", type=int, default=30, help="POSTs of the sample (30)")
    parser.add_argument("--requests", type=int, default=200, help="list requests (200)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent detail clients (8)")
    parser.add_argument("--seconds", type=float, default=5.0, help="detail load duration (5)")
    parser.add_argument(
        "--max-requests", type=int, default=20_000, help="detail request cap (20000)"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (2)")
    parser.add_argument(
        "--pgdata", type=Path, default=DEFAULT_PGDATA, help="embedded server's data folder"
    )
    parser.add_argument("--database-url", help="a scratch PostgreSQL database instead (emptied!)")
    args = parser.parse_args(argv)
    if args.database_url and urlsplit(args.database_url).scheme not in {"postgresql", "postgres"}:
        parser.error("--database-url must be a PostgreSQL URL")
    results = run(args)
    print(results.table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
