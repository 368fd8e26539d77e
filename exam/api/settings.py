"""Django settings for the API; the one place that reads the environment.

Variables (all optional; ``compose.env`` shows them all, as Docker uses them):

``DATABASE_URL``, or ``POSTGRES_HOST`` with ``POSTGRES_PORT``/``_DB``/``_USER``/``_PASSWORD``
    An external PostgreSQL server; without either, the embedded server whose
    data lives in ``EXAM_PGDATA`` (default ``.pgdata/`` in the project).
``EXAM_SECRET_KEY``, ``EXAM_DEBUG``, ``EXAM_ALLOWED_HOSTS`` (comma-separated)
    The usual Django trio.
``EXAM_API_MAX_BODY_BYTES``
    Largest accepted request body; larger ones get 413.
``EXAM_API_LOG_BODY_CHARS``
    Request and response bodies are logged cut to this many characters.
``EXAM_DB_CONN_MAX_AGE``
    Seconds a database connection is reused across requests.

Importing this module starts nothing: :func:`exam.database.ensure_database`
starts the embedded server when a command needs the database.
"""

from __future__ import annotations

import os
from pathlib import Path

from exam.api.schema import COMPONENTS
from exam.database import resolve_database

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _env_bool(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


# The API has no sessions, sign-in or signed cookies, so the key signs nothing
# today; production deployments set EXAM_SECRET_KEY all the same.
SECRET_KEY = os.environ.get("EXAM_SECRET_KEY") or "insecure-development-key-for-the-exam-api"
DEBUG = _env_bool("EXAM_DEBUG")
ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("EXAM_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if host.strip()
]

_DATABASE = resolve_database(os.environ, default_pgdata=PROJECT_DIR / ".pgdata")
DATABASES = {"default": _DATABASE.settings}
DATABASES["default"]["CONN_MAX_AGE"] = _env_int("EXAM_DB_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
#: The embedded server's data folder, or None when DATABASES names an external server.
EXAM_EMBEDDED_PGDATA = _DATABASE.embedded_pgdata

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "exam.api",
]

MIDDLEWARE = [
    "exam.api.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
]

ROOT_URLCONF = "exam.api.urls"
WSGI_APPLICATION = "exam.api.wsgi.application"
# Routes end in a slash; a missing one is a plain 404 rather than a redirect
# that would silently turn a POST into a GET.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"

#: Django raises RequestDataTooBig past this; the API answers 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = _env_int("EXAM_API_MAX_BODY_BYTES", 5 * 1024 * 1024)
#: Request and response bodies are logged cut to this many characters.
EXAM_API_LOG_BODY_CHARS = _env_int("EXAM_API_LOG_BODY_CHARS", 500)

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "exam.api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Processing results API",
    "DESCRIPTION": (
        "Stores JSON measurement elements (Part 3's format) with their size and "
        "averages before and after normalisation, computed server-side."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "APPEND_COMPONENTS": {"schemas": COMPONENTS},
}

# exam.logs configures the "exam" loggers; this only keeps Django from
# disabling them, and silences django.request: it would log every 4xx and 5xx
# response again, after the API middleware has logged the request (and any
# traceback) once.  Django never logs there at CRITICAL.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"django.request": {"level": "CRITICAL"}},
}
