"""Settings for the test suite: the base settings, with what tests need swapped in.

Each test session gets its own test database (named after its process), so
two sessions sharing one server -- a developer's run beside a tox run, say --
never create or drop each other's database.  Connections are not kept across
requests, so no thread of a test leaves one open on a database about to be
dropped.
"""

from __future__ import annotations

import os

from exam.api.settings import *  # noqa: F403
from exam.api.settings import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["TEST"] = {"NAME": f"test_exam_{os.getpid()}"}
# Hashing passwords slowly is the point in production, and only a cost in tests.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The portal's alias reaches the test database as the portal's role (exam.portal.backend).
DATABASES["portal"]["CONN_MAX_AGE"] = 0
DATABASES["portal"]["TEST"] = {"MIRROR": "default"}
