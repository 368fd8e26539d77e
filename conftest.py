"""Root pytest configuration: plugins and fixtures shared by every part's tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from exam.logs import PACKAGE_LOGGER, shutdown_logging

pytest_plugins = ["pytester", "tests.plugins.requirements"]


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Undo the handlers and level a test configured through exam.logs."""
    package_logger = logging.getLogger(PACKAGE_LOGGER)
    level = package_logger.level
    yield
    shutdown_logging()
    package_logger.setLevel(level)
