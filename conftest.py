"""Root pytest configuration: plugins and fixtures shared by every part's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from exam.logs import shutdown_logging

pytest_plugins = ["pytester", "tests.plugins.requirements"]


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Remove any handler a test configured through exam.logs, so tests stay independent."""
    yield
    shutdown_logging()
