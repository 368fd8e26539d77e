"""HTTP-level errors: malformed bodies, content types, methods, routes and sizes."""

from __future__ import annotations

import json

import pytest
from pytest_django import Settings
from rest_framework import status
from rest_framework.test import APIClient

from exam.api.models import Element
from tests.factories import ElementFactory

from .paths import LIST_URL, detail_url

pytestmark = pytest.mark.django_db


@pytest.mark.req("P4.HTTP.1", "P4.HTTP.3")
@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            '{"1": {"id": "a", "data": ["1"]}',
            "JSON parse error - Expecting ',' delimiter: line 1 column 33 (char 32)",
        ),
        (
            "{'id': 'a'}",
            "JSON parse error - Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        ),
        (
            '{"id": "a", "data": [NaN]}',
            "JSON parse error - Out of range float values are not JSON compliant: 'NaN'",
        ),
    ],
    ids=["unclosed-object", "single-quotes", "nan"],
)
def test_malformed_json_answers_400(api_client: APIClient, body: str, detail: str) -> None:
    """A body that is not strict JSON is a 400 saying where parsing failed."""
    response = api_client.post(LIST_URL, body, content_type="application/json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"detail": detail}


@pytest.mark.req("P4.HTTP.1")
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_answers_415(api_client: APIClient, content_type: str) -> None:
    """Only application/json bodies are accepted: anything else is a 415."""
    body = json.dumps({"id": "a", "data": ["1"]})

    response = api_client.post(LIST_URL, body, content_type=content_type)

    assert response.status_code == status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    assert response.json() == {"detail": f'Unsupported media type "{content_type}" in request.'}
    assert Element.objects.count() == 0


@pytest.mark.req("P4.HTTP.1")
@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "TRACE"])
def test_a_method_the_list_does_not_have_answers_405(api_client: APIClient, method: str) -> None:
    """The list URL has GET and POST only: other methods are a 405 naming the allowed ones."""
    response = api_client.generic(method, LIST_URL)

    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert response.json() == {"detail": f'Method "{method}" not allowed.'}
    assert response["Allow"] == "GET, POST, HEAD, OPTIONS"


@pytest.mark.req("P4.HTTP.1")
@pytest.mark.parametrize("path", ["/api/elements", "/api/", "/", "/api/elements/a/b/"])
def test_an_unknown_route_answers_a_json_404(api_client: APIClient, path: str) -> None:
    """A path no route matches is a 404 with the usual JSON error body."""
    response = api_client.get(path)

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.req("P4.HTTP.2")
def test_a_body_over_the_configured_size_answers_413(
    api_client: APIClient, settings: Settings
) -> None:
    """A body longer than DATA_UPLOAD_MAX_MEMORY_SIZE is refused with 413, unread."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = json.dumps({"id": "a", "data": ["1 2 3 4 5 6 7 8 9"] * 10})

    response = api_client.post(LIST_URL, body, content_type="application/json")

    assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {"detail": "Request body is larger than 100 bytes."}
    assert Element.objects.count() == 0


@pytest.mark.req("P4.HTTP.2")
def test_an_update_body_over_the_configured_size_answers_413(
    api_client: APIClient, settings: Settings
) -> None:
    """The size limit holds for every method, PUT included."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10

    response = api_client.put(detail_url("a"), {"device_name": "x" * 20}, format="json")

    assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {"detail": "Request body is larger than 10 bytes."}


@pytest.mark.req("P4.HTTP.2")
def test_a_body_at_the_configured_size_is_accepted(
    api_client: APIClient, settings: Settings
) -> None:
    """The limit is inclusive: a body of exactly the limit is processed."""
    body = json.dumps({"id": "a", "data": ["1"]})
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(body)

    response = api_client.post(LIST_URL, body, content_type="application/json")

    assert response.status_code == status.HTTP_201_CREATED


@pytest.mark.req("P4.HTTP.1")
def test_a_missing_static_file_answers_a_json_404(api_client: APIClient) -> None:
    """A static path with no file behind it is a JSON 404, not a 500."""
    response = api_client.get("/static/no-such-file.css")

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.req("P4.HTTP.3")
def test_a_host_outside_allowed_hosts_answers_a_json_400(api_client: APIClient) -> None:
    """A Host header Django refuses (DisallowedHost) is the client's fault: 400, not 500."""
    ElementFactory.create_batch(2)

    response = api_client.get(LIST_URL, {"limit": 1}, HTTP_HOST="evil.example")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"detail": "Bad request."}


@pytest.mark.req("P4.GET.2", "P4.PUT.2", "P4.DEL.1")
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_an_id_with_a_nul_character_answers_404(api_client: APIClient, method: str) -> None:
    """PostgreSQL refuses NUL in text; an id holding one is simply unknown: 404, not 500."""
    response = getattr(api_client, method)(
        detail_url("a%00b"), {"device_name": "MRI"}, format="json"
    )

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json() == {"detail": "No element has id 'a\\x00b'."}
