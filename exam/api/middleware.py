"""Request logging: one record per request, errors with their traceback.

:class:`RequestLogMiddleware` sits first in ``MIDDLEWARE`` and writes one
record per request to the shared log (through :mod:`exam.logs`), in
``key=value`` form::

    request_id=9f0c... method=POST path=/api/elements/ status=201 duration_ms=12.3
    size=412 client=127.0.0.1 host='localhost:8000' body='{"id": "aabbcc1", ...'
    response='{"id": ...'

INFO below 400, WARNING for 4xx, ERROR with the traceback for 5xx.  Bodies are
cut to ``EXAM_API_LOG_BODY_CHARS`` characters.  The request ID is the incoming
``X-Request-ID`` when it is a sane token, else a new one, and is returned in
the ``X-Request-ID`` response header.

Before any view runs, every request -- reads and writes alike -- is checked
here: a ``Host`` outside ``ALLOWED_HOSTS`` is a 400 (the API has no
authentication, so this is its defence against DNS rebinding), a body sent
chunked, without ``Content-Length``, is a 411 (Django would read it as
empty), and a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a 413, unread.

Each request is logged exactly once: an exception escaping a view becomes a
JSON answer here -- 404 for ``Http404``, 400 for ``SuspiciousOperation``, 500
for anything else -- so Django's own handler never sees it, and the settings
keep Django's ``django.request`` logger from repeating what this record says.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponseBase
from rest_framework import status

from exam.api.exceptions import json_error, not_found_view, too_large_response
from exam.logs import get_logger

logger = get_logger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
#: An incoming request ID is kept only when it matches this (no spaces, no line breaks).
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:+=/-]{1,128}")
#: Paths logged as sent (the rest by their route's pattern: see _loggable_path).
FULL_PATH_LOGGED = ("/api/elements/", "/api/schema/", "/api/docs/", "/static/")
#: Bodies the views read as a stream, chunk by chunk: DICOM files of any size.
STREAMED_MEDIA_TYPES = frozenset({"application/dicom", "multipart/related"})
_ERROR_ATTRIBUTE = "_exam_unhandled_exception"
#: The clock durations are measured with (tests swap in a fake one).
clock = time.perf_counter


class RequestLogMiddleware:
    """Log every request and response once; turn unexpected errors into a JSON 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """Handle ``request``, then log it with its response."""
        started = clock()
        request_id = _request_id(request.headers.get(REQUEST_ID_HEADER))
        # The pipeline records it as the job's correlation ID.
        request.request_id = request_id  # type: ignore[attr-defined]
        body, response = self._respond(request)
        response[REQUEST_ID_HEADER] = request_id
        self._log(request, response, body, request_id, clock() - started)
        return response

    def _respond(self, request: HttpRequest) -> tuple[bytes, HttpResponseBase]:
        """Return the body read and the response: a refusal, or the view's."""
        try:
            request.get_host()
        except DisallowedHost:
            return b"", json_error(
                status.HTTP_400_BAD_REQUEST,
                f"The Host header {request.META.get('HTTP_HOST', '')!r} is not allowed "
                "(EXAM_ALLOWED_HOSTS).",
            )
        if request.content_type in STREAMED_MEDIA_TYPES:
            # DICOM files stream from the socket to storage (exam.pipeline):
            # never into memory here, chunked or not, and never into the log.
            return b"<streamed>", self.get_response(request)
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            return b"", json_error(
                status.HTTP_411_LENGTH_REQUIRED,
                "Send the body with a Content-Length header, not chunked.",
            )
        try:
            # Reading the body here enforces the size limit for every view:
            # DRF's parsers read the stream directly and would never check it.
            body = request.body
        except RequestDataTooBig:
            return b"", too_large_response()
        return body, self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponseBase:
        """Answer Django's client errors as JSON 404/400; keep anything else and answer a JSON 500.

        ``Http404`` comes from the static-file view, ``SuspiciousOperation``
        from a client's request Django finds suspicious: the client's fault,
        not the server's.
        """
        if isinstance(exception, Http404):
            return not_found_view(request, exception)
        if isinstance(exception, SuspiciousOperation):
            return json_error(status.HTTP_400_BAD_REQUEST, "Bad request.")
        setattr(request, _ERROR_ATTRIBUTE, exception)
        return json_error(status.HTTP_500_INTERNAL_SERVER_ERROR, "Internal server error.")

    def _log(
        self,
        request: HttpRequest,
        response: HttpResponseBase,
        body: bytes,
        request_id: str,
        duration: float,
    ) -> None:
        limit = settings.EXAM_API_LOG_BODY_CHARS
        code = response.status_code
        level = logging.ERROR if code >= 500 else logging.WARNING if code >= 400 else logging.INFO
        exception: BaseException | None = getattr(request, _ERROR_ATTRIBUTE, None)
        logger.log(
            level,
            "request_id=%s method=%s path=%s status=%d duration_ms=%.1f size=%s client=%s "
            "host=%r body=%s response=%s",
            request_id,
            request.method,
            _loggable_path(request),
            code,
            duration * 1000,
            _size(response),
            request.META.get("REMOTE_ADDR", "-"),
            # As sent; an HTTP/1.0 request may send none and get the server's name.
            request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", ""),
            _excerpt(body, limit),
            "<stream>" if response.streaming else _excerpt(response.content, limit),  # type: ignore[attr-defined]
            exc_info=exception,
            # The same request as structured fields, for JSON lines (exam.logs):
            # the route's pattern, never the path, which may hold a UID.
            extra={
                "event": "http.request",
                "method": request.method,
                "route": request.resolver_match.route if request.resolver_match else "",
                "status": code,
                "duration_ms": round(duration * 1000, 1),
                "correlation_id": request_id,
            },
        )


def _loggable_path(request: HttpRequest) -> str:
    """The path and query as sent for Part 4's API; elsewhere the route's pattern only.

    Part 4's paths and queries hold element ids and device names.  Part 5's
    hold UIDs (DICOMweb paths) and patient IDs (QIDO queries), which no log
    may show, so their requests are logged by the pattern they matched.
    """
    if request.path.startswith(FULL_PATH_LOGGED):
        return request.get_full_path()
    match = request.resolver_match
    return f"/{match.route}" if match is not None else "<unrouted>"


def _request_id(incoming: str | None) -> str:
    if incoming is not None and REQUEST_ID_PATTERN.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def _size(response: HttpResponseBase) -> str:
    if response.streaming:
        return response.get("Content-Length", "-")
    return str(len(response.content))  # type: ignore[attr-defined]


def _excerpt(content: bytes, limit: int) -> str:
    """Return ``content`` as quoted text, cut to ``limit`` characters."""
    text = content.decode("utf-8", errors="replace")
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}...(+{len(text) - limit} chars)"
