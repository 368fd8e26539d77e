"""Fixtures of the Part 4 tests: the real PostgreSQL server, API clients, payloads.

The database server is started by tests/conftest.py, for any part's tests
that ask for the database.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from .paths import LIST_URL, SAMPLE_04


@pytest.fixture(scope="module")
def scratch_pgdata() -> Iterator[Path]:
    """A data folder for an embedded server of the test's own, outside pytest's tmp tree.

    PostgreSQL runs as the ``pgserver`` user and must traverse every parent
    folder; each pytest session resets ``/tmp/pytest-of-<user>`` to mode 0700,
    which would lock the server out whenever two sessions overlap.
    """
    parent = Path(tempfile.mkdtemp(prefix="exam-pgdata-"))
    yield parent / "pgdata"
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
def api_client() -> APIClient:
    """A DRF test client talking JSON to the API in-process."""
    return APIClient()


@pytest.fixture
def sample_04() -> dict[str, Any]:
    """The 50-element sample payload (5 rows x 10 values each), decoded."""
    payload: dict[str, Any] = json.loads(SAMPLE_04.read_text(encoding="utf-8"))
    return payload


@pytest.fixture
def post_json(api_client: APIClient) -> Callable[[object], Any]:
    """POST a JSON body to the list endpoint and return the response."""

    def post(body: object) -> Any:
        return api_client.post(LIST_URL, body, format="json")

    return post
