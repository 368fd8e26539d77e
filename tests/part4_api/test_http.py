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
            "JSON parse error - Expecting ',' delimiter at line 1, column 33",
        ),
        (
            "{'id': 'a'}",
            "JSON parse error - Expecting property name enclosed in double quotes "
            "at line 1, column 2",
        ),
        (
            b'{"id": "\xff"}',
            "JSON parse error - 'utf-8' codec can't decode byte 0xff "
            "in position 8: invalid start byte",
        ),
    ],
    ids=["unclosed-object", "single-quotes", "not-utf8"],
)
def test_malformed_json_answers_400(api_client: APIClient, body: str, detail: str) -> None:
    """A body that is not JSON is a 400 saying where parsing failed."""
    response = api_client.post(LIST_URL, body, content_type="application/json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"detail": detail}
    assert Element.objects.count() == 0


@pytest.mark.req("P4.HTTP.4")
def test_json_nested_deeper_than_the_decoder_follows_answers_400(api_client: APIClient) -> None:
    """A body nested 100,000 deep is a 400, never a RecursionError (500)."""
    body = '{"id": "a", "data": ' + "[" * 100_000 + "]" * 100_000 + "}"

    response = api_client.post(LIST_URL, body, content_type="application/json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"detail": "JSON parse error - nested too deeply to decode"}


@pytest.mark.req("P4.HTTP.4")
@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (
            '{"id": "a", "data": ["1"], "id": "b"}',
            "JSON parse error - the key 'id' appears twice in one object",
        ),
        ('{"id": "a", "data": [NaN]}', "JSON parse error - NaN is not a JSON number"),
        ('{"id": "a", "data": [-Infinity]}', "JSON parse error - -Infinity is not a JSON number"),
    ],
    ids=["repeated-key", "nan", "minus-infinity"],
)
def test_json_that_python_would_accept_but_json_has_not_answers_400(
    api_client: APIClient, body: str, detail: str
) -> None:
    """A repeated key (whose first value would be lost) or NaN/Infinity is a 400."""
    response = api_client.post(LIST_URL, body, content_type="application/json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"detail": detail}
    assert Element.objects.count() == 0


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
@pytest.mark.parametrize("path", ["/api/elements", "/api/", "/nowhere/", "/api/elements/a/b/"])
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


@pytest.mark.req("P4.HTTP.1", "P4.HTTP.3")
def test_a_static_path_leaving_the_static_folders_answers_a_json_400(
    api_client: APIClient,
) -> None:
    """A path that climbs out of the static files (SuspiciousFileOperation) is a 400, not a 500."""
    response = api_client.get("/static/../../etc/passwd")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"detail": "Bad request."}


@pytest.mark.req("P4.HTTP.5")
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", LIST_URL, None),
        ("post", LIST_URL, {"id": "a", "data": ["1"]}),
        ("put", detail_url("kept"), {"device_name": "MRI"}),
        ("patch", detail_url("kept"), {"device_name": "MRI"}),
        ("delete", detail_url("kept"), None),
        ("get", "/no/such/route/", None),
    ],
    ids=["list", "post", "put", "patch", "delete", "unknown-route"],
)
def test_a_host_outside_allowed_hosts_answers_a_json_400_to_every_request(
    api_client: APIClient, method: str, path: str, body: object
) -> None:
    """The allowed-hosts check holds for reads and writes alike; nothing is changed."""
    ElementFactory(element_id="kept", device_name="CT SCAN")

    response = getattr(api_client, method)(path, body, format="json", HTTP_HOST="evil.example")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {
        "detail": "The Host header 'evil.example' is not allowed (EXAM_ALLOWED_HOSTS)."
    }
    assert list(Element.objects.values_list("element_id", "device_name")) == [("kept", "CT SCAN")]


@pytest.mark.req("P4.HTTP.6")
def test_a_chunked_body_without_content_length_answers_411(api_client: APIClient) -> None:
    """A body announced as chunked is refused, never read as an empty body."""
    response = api_client.post(
        LIST_URL,
        json.dumps({"id": "a", "data": ["1"]}),
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
    )

    assert response.status_code == status.HTTP_411_LENGTH_REQUIRED
    assert response.json() == {"detail": "Send the body with a Content-Length header, not chunked."}
    assert Element.objects.count() == 0


@pytest.mark.req("P4.GET.2", "P4.PUT.2", "P4.DEL.1")
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
@pytest.mark.parametrize(
    "element_id",
    ["a%00b", ".", "..", "a%20b", "x" * 65, "%C3%A9"],
    ids=["nul", "dot", "dot-dot", "space", "65-characters", "non-ascii"],
)
def test_a_path_that_is_no_element_id_matches_no_route(
    api_client: APIClient, method: str, element_id: str
) -> None:
    """An id segment the id rule refuses (NUL, '.', a space, 65 characters, non-ASCII) is a 404."""
    response = getattr(api_client, method)(
        detail_url(element_id), {"device_name": "MRI"}, format="json"
    )

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json() == {"detail": "Not found."}
