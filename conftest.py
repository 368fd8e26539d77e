"""Root pytest configuration: plugins and fixtures shared by every part's tests."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from exam.logs import PACKAGE_LOGGER, shutdown_logging

pytest_plugins = ["pytester", "tests.plugins.requirements"]

# mutmut runs the suite several times in one process (tox -e mutation): hypothesis
# must not take that for a test run from two executors, nor replay another run's examples.
settings.register_profile(
    "mutation", suppress_health_check=[HealthCheck.differing_executors], database=None
)
if "MUTANT_UNDER_TEST" in os.environ:
    settings.load_profile("mutation")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Undo the handlers and level a test configured through exam.logs."""
    package_logger = logging.getLogger(PACKAGE_LOGGER)
    level = package_logger.level
    yield
    shutdown_logging()
    package_logger.setLevel(level)


#: Fixtures through which a test reaches the database (pytest-django's, and the servers'.)
DATABASE_FIXTURES = frozenset({"db", "transactional_db", "django_db_setup", "live_server"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that touches PostgreSQL ``postgres``, so ``-m postgres`` selects them."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.get_closest_marker("django_db") or fixtures & DATABASE_FIXTURES:
            item.add_marker(pytest.mark.postgres)
