"""A PostgreSQL backend that reaches the ``default`` database as ``EXAM_PORTAL_DB_USER``.

Where the database is (host, port, name, options) is read from the default
alias at connection time, so the portal follows it wherever it points: the
embedded server's socket found at start-up, an external ``DATABASE_URL``, or
the test database pytest-django creates.  Only the credentials differ, and
they come from the settings, never from the default alias.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    """The default database's connection parameters with the portal role's credentials."""

    def get_connection_params(self) -> dict[str, Any]:
        """The default alias's parameters, logged in as the portal's role."""
        params: dict[str, Any] = connections[DEFAULT_DB_ALIAS].get_connection_params()
        params["user"] = settings.EXAM_PORTAL_DB_USER
        params.pop("password", None)
        if settings.EXAM_PORTAL_DB_PASSWORD:
            params["password"] = settings.EXAM_PORTAL_DB_PASSWORD
        return params
