"""Request logging (exam.api.middleware.RequestLogMiddleware)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_django import Settings
from rest_framework import status
from rest_framework.test import APIClient

from exam.api import middleware, views
from exam.logs import LOG_LINE_PATTERN, configure_logging, flush_logging
from tests.factories import ElementFactory

from .paths import LIST_URL, detail_url

pytestmark = pytest.mark.django_db

LOGGER = "exam.api.middleware"
EMPTY_PAGE = '{"count":0,"next":null,"previous":null,"results":[]}'


@pytest.fixture(autouse=True)
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request takes exactly 12.5 ms on the middleware's clock."""
    ticks: Iterator[float] = iter([100.0, 100.0125] * 10)
    monkeypatch.setattr(middleware, "clock", lambda: next(ticks))


@pytest.fixture
def info_caplog(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """caplog recording the exam loggers from INFO up."""
    caplog.set_level(logging.INFO, logger="exam")
    return caplog


def line(
    *,
    request_id: str,
    method: str,
    path: str,
    code: int,
    response: str,
    body: str = "''",
    size: int | None = None,
    host: str = "testserver",
) -> str:
    """The message the middleware logs for one request."""
    size = len(response.encode()) if size is None else size
    return (
        f"request_id={request_id} method={method} path={path} status={code} duration_ms=12.5 "
        f"size={size} client=127.0.0.1 host={host!r} body={body} response={response!r}"
    )


@pytest.mark.req("P4.LOG.1")
def test_a_request_is_logged_once_with_its_method_path_status_duration_size_and_client(
    api_client: APIClient, info_caplog: pytest.LogCaptureFixture
) -> None:
    """A successful request is one INFO record with every field of the request and response."""
    api_client.get(LIST_URL, {"limit": 5}, HTTP_X_REQUEST_ID="req-1")

    assert info_caplog.record_tuples == [
        (
            LOGGER,
            logging.INFO,
            line(
                request_id="req-1",
                method="GET",
                path="/api/elements/?limit=5",
                code=200,
                response=EMPTY_PAGE,
            ),
        )
    ]


@pytest.mark.req("P4.LOG.1")
def test_a_post_logs_its_body_after_the_service_record(
    api_client: APIClient, info_caplog: pytest.LogCaptureFixture
) -> None:
    """The request body is logged; the service's own record comes first, nothing twice."""
    body = json.dumps({"id": "a1", "data": ["1"]})

    response = api_client.post(
        LIST_URL, body, content_type="application/json", HTTP_X_REQUEST_ID="req-2"
    )

    assert info_caplog.record_tuples == [
        ("exam.api.services", logging.INFO, "stored 1 element(s): a1"),
        (
            LOGGER,
            logging.INFO,
            line(
                request_id="req-2",
                method="POST",
                path=LIST_URL,
                code=201,
                body=repr(body),
                response=response.content.decode(),
            ),
        ),
    ]


@pytest.mark.req("P4.LOG.1")
def test_a_client_error_is_logged_as_a_warning(
    api_client: APIClient, info_caplog: pytest.LogCaptureFixture
) -> None:
    """A 4xx response is one WARNING record carrying the error body."""
    api_client.get(detail_url("missing"), HTTP_X_REQUEST_ID="req-3")

    assert info_caplog.record_tuples == [
        (
            LOGGER,
            logging.WARNING,
            line(
                request_id="req-3",
                method="GET",
                path="/api/elements/missing/",
                code=404,
                response='{"detail":"No element has id \'missing\'."}',
            ),
        )
    ]


@pytest.mark.req("P4.LOG.1", "P4.HTTP.2")
def test_a_body_over_the_size_limit_is_logged_unread(
    api_client: APIClient, info_caplog: pytest.LogCaptureFixture, settings: Settings
) -> None:
    """A 413 is logged as a warning with an empty body: the body was never read."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 5

    api_client.post(
        LIST_URL, '{"id": "abcdef"}', content_type="application/json", HTTP_X_REQUEST_ID="req-4"
    )

    assert info_caplog.record_tuples == [
        (
            LOGGER,
            logging.WARNING,
            line(
                request_id="req-4",
                method="POST",
                path=LIST_URL,
                code=413,
                response='{"detail": "Request body is larger than 5 bytes."}',
            ),
        )
    ]


@pytest.mark.req("P4.LOG.1")
def test_bodies_are_logged_cut_to_the_configured_length(
    api_client: APIClient, info_caplog: pytest.LogCaptureFixture, settings: Settings
) -> None:
    """Request and response bodies longer than EXAM_API_LOG_BODY_CHARS are cut, the rest counted."""
    settings.EXAM_API_LOG_BODY_CHARS = 10
    body = json.dumps({"id": "a1", "data": ["1"]})

    response = api_client.post(LIST_URL, body, content_type="application/json")

    answer = response.content.decode()
    message = info_caplog.records[-1].getMessage()
    assert message.endswith(
        f"body={body[:10]!r}...(+{len(body) - 10} chars) "
        f"response={answer[:10]!r}...(+{len(answer) - 10} chars)"
    )


@pytest.mark.req("P4.LOG.1")
def test_a_streamed_response_is_logged_with_its_length_but_not_its_content(
    api_client: APIClient, info_caplog: pytest.LogCaptureFixture
) -> None:
    """A static file is streamed: its Content-Length is logged, its content is not."""
    path = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css"

    response = api_client.get(path, HTTP_X_REQUEST_ID="req-5")

    assert response.status_code == status.HTTP_200_OK
    assert info_caplog.messages == [
        f"request_id=req-5 method=GET path={path} status=200 duration_ms=12.5 "
        f"size={response['Content-Length']} client=127.0.0.1 host='testserver' body='' "
        "response=<stream>"
    ]


@pytest.mark.req("P4.LOG.1", "P4.HTTP.5")
def test_a_refused_host_is_logged_once_as_a_warning_naming_it(
    api_client: APIClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused Host is one WARNING naming it, without traceback; django.security adds nothing."""
    ElementFactory.create_batch(2)
    caplog.set_level(logging.DEBUG)

    api_client.get(LIST_URL, {"limit": 1}, HTTP_HOST="evil.example", HTTP_X_REQUEST_ID="req-9")

    assert caplog.record_tuples == [
        (
            LOGGER,
            logging.WARNING,
            line(
                request_id="req-9",
                method="GET",
                path=f"{LIST_URL}?limit=1",
                code=400,
                host="evil.example",
                response='{"detail": "The Host header \'evil.example\' is not allowed '
                '(EXAM_ALLOWED_HOSTS)."}',
            ),
        )
    ]
    assert caplog.records[0].exc_info is None


class TestRequestId:
    """The request ID: honoured when sent, generated otherwise, always returned."""

    @pytest.mark.req("P4.LOG.1")
    def test_an_incoming_request_id_is_returned_and_logged(
        self, api_client: APIClient, info_caplog: pytest.LogCaptureFixture
    ) -> None:
        """A sane X-Request-ID comes back in the response header and the log."""
        response = api_client.get(LIST_URL, HTTP_X_REQUEST_ID="trace.42:abc")

        assert response["X-Request-ID"] == "trace.42:abc"
        assert info_caplog.messages[0].startswith("request_id=trace.42:abc ")

    @pytest.mark.req("P4.LOG.1")
    @pytest.mark.parametrize(
        "incoming",
        [None, "", "two words", "line\nbreak", "x" * 129],
        ids=["absent", "empty", "space", "newline", "too-long"],
    )
    def test_a_missing_or_unsafe_request_id_is_replaced_by_a_generated_one(
        self, api_client: APIClient, info_caplog: pytest.LogCaptureFixture, incoming: str | None
    ) -> None:
        """Without a usable X-Request-ID a fresh one is made, returned and logged."""
        headers = {} if incoming is None else {"HTTP_X_REQUEST_ID": incoming}

        response = api_client.get(LIST_URL, **headers)

        generated = response["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", generated)
        assert info_caplog.messages[0].startswith(f"request_id={generated} ")

    @pytest.mark.req("P4.LOG.1")
    def test_each_request_gets_its_own_generated_id(self, api_client: APIClient) -> None:
        """Two requests without X-Request-ID get two different IDs."""
        first = api_client.get(LIST_URL)["X-Request-ID"]
        second = api_client.get(LIST_URL)["X-Request-ID"]

        assert first != second


class TestUnexpectedErrors:
    """An exception escaping a view."""

    @pytest.fixture(autouse=True)
    def broken_list(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make the list view fail with an unexpected error."""

        def fail(**kwargs: object) -> None:
            raise RuntimeError("database on fire")

        monkeypatch.setattr(views, "element_list", fail)

    @pytest.mark.req("P4.LOG.2", "P4.HTTP.3")
    def test_an_unexpected_error_answers_a_json_500(self, api_client: APIClient) -> None:
        """The client gets a JSON 500 without internals, and the request ID."""
        response = api_client.get(LIST_URL, HTTP_X_REQUEST_ID="req-6")

        assert response.status_code == status.HTTP_500_INTERNAL_SERVER_ERROR
        assert response.json() == {"detail": "Internal server error."}
        assert response["X-Request-ID"] == "req-6"

    @pytest.mark.req("P4.LOG.2")
    def test_an_unexpected_error_is_logged_once_with_its_traceback(
        self, api_client: APIClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        """One ERROR record with the traceback; django.request adds nothing."""
        caplog.set_level(logging.DEBUG)

        api_client.get(LIST_URL, HTTP_X_REQUEST_ID="req-7")

        assert caplog.record_tuples == [
            (
                LOGGER,
                logging.ERROR,
                line(
                    request_id="req-7",
                    method="GET",
                    path=LIST_URL,
                    code=500,
                    response='{"detail": "Internal server error."}',
                ),
            )
        ]
        exc_info = caplog.records[0].exc_info
        assert exc_info is not None
        assert repr(exc_info[1]) == "RuntimeError('database on fire')"
        assert "in fail\n    raise RuntimeError" in caplog.text


@pytest.mark.req("P4.LOG.1", "P4.LOG.3")
def test_requests_are_written_to_the_shared_log_file(api_client: APIClient, tmp_path: Path) -> None:
    """With exam.logs writing a shared file, each request is one parseable line in it."""
    log_file = tmp_path / "shared.log"
    configure_logging(log_file=log_file)

    api_client.get(LIST_URL, HTTP_X_REQUEST_ID="req-8")
    flush_logging()

    records = [LOG_LINE_PATTERN.fullmatch(text) for text in log_file.read_text().splitlines()]
    assert [(r["level"], r["logger"], r["message"]) for r in records if r] == [
        (
            "INFO",
            LOGGER,
            line(request_id="req-8", method="GET", path=LIST_URL, code=200, response=EMPTY_PAGE),
        )
    ]


@pytest.mark.req("P4.LOG.1", "P4.HTTP.5")
def test_the_host_is_logged_as_the_client_sent_it(
    api_client: APIClient, info_caplog: pytest.LogCaptureFixture
) -> None:
    """An allowed Host header, port included, is recorded in the request's log line."""
    api_client.get(LIST_URL, HTTP_HOST="localhost:8000", HTTP_X_REQUEST_ID="req-10")

    assert info_caplog.messages == [
        line(
            request_id="req-10",
            method="GET",
            path=LIST_URL,
            code=200,
            host="localhost:8000",
            response=EMPTY_PAGE,
        )
    ]


@pytest.mark.req("P4.LOG.1", "P4.HTTP.6")
def test_a_chunked_body_is_logged_unread(
    api_client: APIClient, info_caplog: pytest.LogCaptureFixture
) -> None:
    """A 411 is logged as a warning with an empty body: the body was never read."""
    api_client.post(
        LIST_URL,
        '{"id": "a"}',
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        HTTP_X_REQUEST_ID="req-11",
    )

    assert info_caplog.record_tuples == [
        (
            LOGGER,
            logging.WARNING,
            line(
                request_id="req-11",
                method="POST",
                path=LIST_URL,
                code=411,
                response='{"detail": "Send the body with a Content-Length header, not chunked."}',
            ),
        )
    ]
