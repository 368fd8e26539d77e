"""Error bodies and status codes (exam.api.exceptions)."""

from __future__ import annotations

import pytest
from rest_framework import serializers, status

from exam.api.exceptions import ElementConflict, api_exception_handler, error_body


@pytest.mark.req("P4.HTTP.3")
@pytest.mark.parametrize(
    ("error", "code", "body"),
    [
        (
            serializers.ValidationError("Bad."),
            status.HTTP_400_BAD_REQUEST,
            {"detail": "Invalid input.", "errors": {"non_field_errors": ["Bad."]}},
        ),
        (
            serializers.ValidationError({"id": ["Bad."]}),
            status.HTTP_400_BAD_REQUEST,
            {"detail": "Invalid input.", "errors": {"id": ["Bad."]}},
        ),
        (
            ElementConflict("Taken.", errors={"1": {"id": ["Taken."]}}),
            status.HTTP_409_CONFLICT,
            {"detail": "Taken.", "errors": {"1": {"id": ["Taken."]}}},
        ),
    ],
    ids=["bare-validation-error", "field-validation-error", "conflict"],
)
def test_the_handler_renders_every_error_with_one_body_shape(
    error: Exception, code: int, body: dict[str, object]
) -> None:
    """Validation errors, bare or keyed, and the API's own errors share one shape."""
    response = api_exception_handler(error, {})

    assert response is not None
    assert (response.status_code, response.data) == (code, body)


@pytest.mark.req("P4.LOG.2")
def test_the_handler_leaves_unexpected_errors_to_the_middleware() -> None:
    """Anything unexpected is not rendered here: it goes on to become a logged 500."""
    assert api_exception_handler(RuntimeError("boom"), {}) is None


@pytest.mark.req("P4.HTTP.3")
def test_an_error_body_without_field_errors_has_only_a_detail() -> None:
    """errors appears only when fields are at fault."""
    assert error_body("Not found.") == {"detail": "Not found."}
