"""schemathesis against the served OpenAPI schema, in-process, with every check it has."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.config._checks import (
    NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES,
    POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES,
)

from exam.api.wsgi import application
from tests.factories import ElementFactory

#: Examples per operation; EXAM_SCHEMATHESIS_EXAMPLES=2000 makes a run of a few minutes.
EXAMPLES = int(os.environ.get("EXAM_SCHEMATHESIS_EXAMPLES", "30"))
#: Every check schemathesis has, with two statuses added where the API's
#: rules go beyond what OpenAPI 3.0 can state:
#: * an object holding more elements than EXAM_API_MAX_ELEMENTS (the schema's
#:   maxProperties) is refused with 413, which schemathesis does not expect;
#: * a POST that fits the schema is still refused with 400 when its rows differ
#:   in length or a value is too large for a float: no JSON Schema keyword
#:   relates one array item to another or bounds a number written as text.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]
            }
        },
        "operations": [
            {
                "include-path": "/api/elements/",
                "include-method": "POST",
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": [*POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, "400"]
                    }
                },
            }
        ],
    }
)
#: Part 4's operations only: the schema also documents other parts' endpoints.
#: (An exclude, because CONFIG's per-operation block is itself an include
#: filter, and schemathesis joins include filters with "or".)
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG).exclude(
    path_regex=r"^/(?!api/elements/)"
)


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
    max_examples=EXAMPLES,
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
    case.call_and_validate()
