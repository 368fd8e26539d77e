"""Errors of the API and the one place that maps errors to HTTP status codes.

Every error response has the same body: ``{"detail": "<what went wrong>"}``,
plus ``"errors"`` -- keyed by element key and field, or by field -- when the
fault lies in particular fields::

    {"detail": "Invalid input.", "errors": {"2": {"data": ["data row 2 is empty"]}}}

=============================================  ======
error                                          status
=============================================  ======
malformed JSON, invalid element, update or     400
query; a ``Host`` outside ``ALLOWED_HOSTS``
unknown element id or route                    404
method not allowed                             405
``Accept`` the API cannot render               406
element id already stored or repeated          409
a chunked body (no ``Content-Length``)         411
body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``,     413
more elements than ``EXAM_API_MAX_ELEMENTS``
content type other than JSON                   415
anything unexpected (logged with traceback)    500
=============================================  ======
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError
from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response

#: PostgreSQL's SQLSTATE for unique_violation.
UNIQUE_VIOLATION = "23505"


class ApiError(Exception):
    """An error the API answers with a status code and an error body.

    Parameters
    ----------
    detail:
        One sentence for the ``detail`` member.
    errors:
        Messages keyed by element key and field (or by field), if any.
    """

    status_code: int = status.HTTP_500_INTERNAL_SERVER_ERROR

    def __init__(self, detail: str, *, errors: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = dict(errors) if errors is not None else None


class ElementNotFound(ApiError):
    """No element has the requested id."""

    status_code = status.HTTP_404_NOT_FOUND

    def __init__(self, element_id: str) -> None:
        super().__init__(f"No element has id {element_id!r}.")


class ElementConflict(ApiError):
    """An element id is already stored, or repeated within one payload."""

    status_code = status.HTTP_409_CONFLICT


class TooManyElements(ApiError):
    """A POST body holds more elements than the API takes at once."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


def error_body(detail: str, errors: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return the body of an error response."""
    body: dict[str, Any] = {"detail": detail}
    if errors is not None:
        body["errors"] = dict(errors)
    return body


def json_error(status_code: int, detail: str) -> JsonResponse:
    """Return an error response outside DRF's views (middleware, URL resolver)."""
    return JsonResponse(error_body(detail), status=status_code)


def too_large_response() -> JsonResponse:
    """Return the 413 answer to a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""
    from django.conf import settings

    return json_error(
        status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        f"Request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
    )


def is_unique_violation(error: IntegrityError, constraint: str) -> bool:
    """Tell whether ``error`` is a violation of the unique constraint ``constraint``."""
    cause = error.__cause__
    diag = getattr(cause, "diag", None)
    return (
        getattr(cause, "pgcode", None) == UNIQUE_VIOLATION
        and getattr(diag, "constraint_name", None) == constraint
    )


def api_exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's exception handler: the error body above for every error DRF catches.

    Returns ``None`` for anything unexpected, which then propagates to the
    request-logging middleware as a 500 with its traceback.
    """
    if isinstance(exc, ApiError):
        return Response(error_body(exc.detail, exc.errors), status=exc.status_code)
    if isinstance(exc, drf_exceptions.ValidationError):
        return Response(
            error_body("Invalid input.", _as_mapping(exc.detail)), status=exc.status_code
        )
    if isinstance(exc, drf_exceptions.APIException):
        return Response(error_body(str(exc.detail)), status=exc.status_code, headers=_headers(exc))
    return None


def _headers(exc: drf_exceptions.APIException) -> dict[str, str]:
    """The headers DRF's own handler would send: a 401 names its scheme, a 429 when to retry."""
    headers = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = str(auth_header)
    wait = getattr(exc, "wait", None)
    if wait:
        headers["Retry-After"] = str(int(wait))
    return headers


def _as_mapping(detail: Any) -> dict[str, Any]:
    # A serializer's errors are a dict; a bare ValidationError("...") is a list.
    if isinstance(detail, Mapping):
        return dict(detail)
    return {"non_field_errors": list(detail)}


def not_found_view(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """``handler404``: a JSON 404 for paths no route matches."""
    return json_error(status.HTTP_404_NOT_FOUND, "Not found.")
