"""The request log names Part 5's requests by their route, never by a path holding PHI."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import User

from .conftest import client_for


@pytest.mark.req("P5.PIPE.LOG.1")
@pytest.mark.parametrize(
    ("url", "route"),
    [
        ("/dicomweb/studies?PatientID=EXAM-0001", "/dicomweb/studies"),
        (
            "/dicomweb/studies/1.2.826.0.1.3680043.8.498.1/series",
            "/dicomweb/studies/<uid:study>/series",
        ),
        ("/api/jobs/12345/?status=failed", "/api/jobs/<int:pk>/"),
    ],
    ids=["qido-query", "uid-in-path", "job"],
)
def test_the_text_log_shows_the_route_not_the_path_or_query(
    alice: User, caplog: pytest.LogCaptureFixture, url: str, route: str
) -> None:
    """A request whose path or query names a patient or a UID is logged by its route pattern."""
    caplog.set_level(logging.INFO, logger="exam")
    client_for(alice).get(url)
    (message,) = [r.getMessage() for r in caplog.records if r.name == "exam.api.middleware"]
    assert f" path={route} " in message
    assert "EXAM-0001" not in message
    assert "1.2.826.0.1.3680043.8.498.1" not in message
    assert "12345" not in message
