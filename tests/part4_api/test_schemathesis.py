"""schemathesis against the served OpenAPI schema, in-process: no 5xx, nothing off-schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from exam.api.wsgi import application
from tests.factories import ElementFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def keep_connection_open() -> Iterator[None]:
    """Keep Django from closing the test's connection after each request.

    schemathesis calls the WSGI application directly, so Django's end-of-request
    signal would close the connection that holds the test's transaction --
    the same signal Django's own test client switches off.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def stored_element() -> None:
    """The element the schema's examples name, so that they reach the happy paths."""
    ElementFactory(element_id="aabbcc1")


@schema.parametrize()
@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
@pytest.mark.slow
@pytest.mark.req("P4.OAS.2")
@pytest.mark.django_db
def test_generated_requests_get_no_server_error_and_responses_match_the_schema(
    case: schemathesis.Case, keep_connection_open: None, stored_element: None
) -> None:
    """Every generated request is answered below 500 with a documented, conforming response."""
    case.call_and_validate(checks=CHECKS)
