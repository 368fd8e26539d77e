"""HTTP that only a real server sees: chunked bodies and requests gunicorn refuses itself."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connection
from pytest_django import DjangoDbBlocker
from rest_framework import status

from exam.logs import LOG_LINE_PATTERN

from .paths import LIST_URL
from .served import ServedApi, database_url, environment, served_api

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared log file the served API writes."""
    return tmp_path_factory.mktemp("served") / "api.log"


@pytest.fixture(scope="module")
def served(
    django_db_setup: None, django_db_blocker: DjangoDbBlocker, log_file: Path
) -> Iterator[ServedApi]:
    """python -m exam serve on the test database, one worker, logging to the shared file."""
    with django_db_blocker.unblock():
        env = environment(DATABASE_URL=database_url(connection.settings_dict))
    with served_api(env, "--workers", "1", "--log-file", str(log_file)) as api:
        yield api


def connect(served: ServedApi) -> http.client.HTTPConnection:
    """A connection to the served API."""
    address = urlsplit(served.url)
    assert address.hostname is not None
    return http.client.HTTPConnection(address.hostname, address.port, timeout=10)


def raw_exchange(served: ServedApi, request: bytes) -> bytes:
    """Send ``request`` as it is and return everything the server answers."""
    address = urlsplit(served.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as client:
        client.sendall(request)
        chunks = []
        while chunk := client.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def logged(log_file: Path, logger: str, message: str) -> bool:
    """Wait until ``logger`` has written ``message`` to the shared log file (False after 10 s).

    Each worker writes the file from a thread of its own, so a record lands a
    moment after the response.
    """
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = log_file.read_text().splitlines() if log_file.exists() else []
        records = [LOG_LINE_PATTERN.fullmatch(line) for line in lines]
        if any(r and (r["logger"], r["message"]) == (logger, message) for r in records):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.req("P4.HTTP.6")
def test_a_chunked_post_is_refused_with_411_and_stores_nothing(served: ServedApi) -> None:
    """A body sent chunked (no Content-Length) gets 411; it is never read as an empty body."""
    body = json.dumps({"id": "chunked1", "data": ["1 2"]}).encode()
    conn = connect(served)
    conn.request(
        "POST",
        LIST_URL,
        body=iter([body[:10], body[10:]]),
        headers={"Content-Type": "application/json"},
        encode_chunked=True,
    )
    response = conn.getresponse()
    answer = json.loads(response.read())
    conn.request("GET", LIST_URL)
    page = json.loads(conn.getresponse().read())
    conn.close()

    assert response.status == status.HTTP_411_LENGTH_REQUIRED
    assert answer == {"detail": "Send the body with a Content-Length header, not chunked."}
    assert page["count"] == 0


@pytest.mark.req("P4.HTTP.7")
def test_a_request_line_too_long_for_gunicorn_is_logged_through_exam_logs(
    served: ServedApi, log_file: Path
) -> None:
    """gunicorn's own 414 is logged as a warning naming the client, in the shared log."""
    request_line = f"GET {LIST_URL}?device_name={'x' * 5000} HTTP/1.1"

    answer = raw_exchange(served, f"{request_line}\r\nHost: localhost\r\n\r\n".encode())

    assert answer.startswith(b"HTTP/1.1 414 URI Too Long\r\n")
    assert logged(
        log_file,
        "exam.api.gunicorn",
        "Invalid request from ip=127.0.0.1: "
        f"Request Line is too large ({len(request_line)} > 4094)",
    )


@pytest.mark.req("P4.HTTP.7")
def test_a_malformed_content_length_is_logged_through_exam_logs(
    served: ServedApi, log_file: Path
) -> None:
    """gunicorn's own 400 for a Content-Length that is not a number is logged the same way."""
    request = b"POST /api/elements/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: abc\r\n\r\n"

    answer = raw_exchange(served, request)

    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert logged(
        log_file,
        "exam.api.gunicorn",
        "Invalid request from ip=127.0.0.1: Invalid HTTP Header: 'CONTENT-LENGTH'",
    )
