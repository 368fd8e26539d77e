"""Django settings for the API; the one place that reads the environment.

Variables (all optional; ``compose.env`` shows them all, as Docker uses them):

``DATABASE_URL``
    An external PostgreSQL server (``postgresql://user:password@host:port/name``,
    parsed by dj-database-url); without it, the embedded server whose data
    lives in ``EXAM_PGDATA`` (default ``.pgdata/`` in the project).
``EXAM_SECRET_KEY``, ``EXAM_DEBUG``, ``EXAM_ALLOWED_HOSTS`` (comma-separated)
    The usual Django trio.
``EXAM_API_MAX_BODY_BYTES``, ``EXAM_API_MAX_ELEMENTS``, ``EXAM_API_MAX_PAGE_SIZE``
    Largest accepted request body (larger: 413), most elements in one POST
    (more: 413), largest ``limit`` of a list page (larger: 400).
``EXAM_API_LOG_BODY_CHARS``
    Request and response bodies are logged cut to this many characters.
``EXAM_DB_CONN_MAX_AGE``
    Seconds a database connection is reused across requests.

Importing this module starts nothing: :func:`exam.database.ensure_database`
starts the embedded server when a command needs the database.  An app added
to the project reads its own variables here too, with :func:`env_int` and
friends, and goes into ``INSTALLED_APPS``.
"""

from __future__ import annotations

import os
from pathlib import Path

from kombu import Exchange, Queue

from exam.api.schema import components
from exam.database import resolve_database

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent


def env_str(name: str, default: str = "") -> str:
    """The variable ``name`` without surrounding blanks, or ``default`` when unset or blank."""
    return os.environ.get(name, "").strip() or default


def env_int(name: str, default: int) -> int:
    """The variable ``name`` as a whole number, or ``default`` when unset or blank."""
    value = env_str(name)
    return int(value) if value else default


def env_bool(name: str) -> bool:
    """True when the variable ``name`` is 1, true, yes or on (any case)."""
    return env_str(name).lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    """The comma-separated items of the variable ``name`` (or of ``default``), blanks dropped."""
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


# The API has no sessions, sign-in or signed cookies, so the key signs nothing
# today; production deployments set EXAM_SECRET_KEY all the same.
SECRET_KEY = env_str("EXAM_SECRET_KEY", "insecure-development-key-for-the-exam-api")
DEBUG = env_bool("EXAM_DEBUG")
#: Checked on every request by the request-log middleware: the API has no
#: authentication, so this is its defence against DNS rebinding.
ALLOWED_HOSTS = env_list("EXAM_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

_DATABASE = resolve_database(
    env_str("DATABASE_URL"), pgdata=Path(env_str("EXAM_PGDATA", str(PROJECT_DIR / ".pgdata")))
)
DATABASES = {"default": _DATABASE.settings}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("EXAM_DB_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
#: The embedded server's data folder, or None when DATABASES names an external server.
EXAM_EMBEDDED_PGDATA = _DATABASE.embedded_pgdata

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "exam.api",
    "exam.pipeline",
]

MIDDLEWARE = [
    "exam.api.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
]

ROOT_URLCONF = "exam.urls"
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
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("EXAM_API_MAX_BODY_BYTES", 5 * 1024 * 1024)
#: The most elements one POST may hold (more: 413), so no request keeps a worker for long.
EXAM_API_MAX_ELEMENTS = env_int("EXAM_API_MAX_ELEMENTS", 1000)
#: The largest ``limit`` of a list page (larger: 400).
EXAM_API_MAX_PAGE_SIZE = env_int("EXAM_API_MAX_PAGE_SIZE", 1000)
#: Request and response bodies are logged cut to this many characters.
EXAM_API_LOG_BODY_CHARS = env_int("EXAM_API_LOG_BODY_CHARS", 500)

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["exam.api.parsers.StrictJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PAGINATION_CLASS": "exam.api.pagination.StrictLimitOffsetPagination",
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
    "APPEND_COMPONENTS": {"schemas": components(max_elements=EXAM_API_MAX_ELEMENTS)},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "exam.api.schema.require_request_bodies",
    ],
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

# --- Part 5: the pipeline (exam.pipeline) --------------------------------------

#: Local Django accounts, passwords hashed with Argon2.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

#: Object storage: a local folder unless EXAM_STORAGE_BACKEND names another
#: Django storage class (storages.backends.s3.S3Storage, with AWS_* settings).
STORAGES = {
    "default": {
        "BACKEND": env_str("EXAM_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": (
            {"location": env_str("EXAM_STORAGE_DIR", str(PROJECT_DIR / ".storage"))}
            if not env_str("EXAM_STORAGE_BACKEND")
            else {}
        ),
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
#: Where uploads are spooled while they are hashed and checked (a local disk).
EXAM_SPOOL_DIR = env_str("EXAM_SPOOL_DIR") or None
#: The embedded broker's folder (used when CELERY_BROKER_URL is unset).
EXAM_BROKER_DIR = Path(env_str("EXAM_BROKER_DIR", str(PROJECT_DIR / ".broker")))

EXAM_PIPELINE_VERSION = "1"
#: Largest upload body: larger is refused with 413, before reading when declared.
EXAM_MAX_UPLOAD_BYTES = env_int("EXAM_MAX_UPLOAD_BYTES", 1 << 30)
#: Uploads in progress at once over all web processes; one more gets 503.
EXAM_MAX_CONCURRENT_UPLOADS = env_int("EXAM_MAX_CONCURRENT_UPLOADS", 8)
#: Size classes by decoded pixel bytes: a job goes to the first queue that holds it.
EXAM_SIZE_CLASSES = {
    "s": env_int("EXAM_SIZE_CLASS_S_BYTES", 16 << 20),
    "m": env_int("EXAM_SIZE_CLASS_M_BYTES", 256 << 20),
    "l": env_int("EXAM_SIZE_CLASS_L_BYTES", 2 << 30),
}
#: Messages a queue may hold before the relay holds further jobs in the outbox.
EXAM_QUEUE_DEPTH_LIMIT = env_int("EXAM_QUEUE_DEPTH_LIMIT", 10_000)
#: A claimed attempt's lease, renewed every third of it while the task runs: how long a job
#: whose worker died with nobody to end its lease waits before the sweeper requeues it.
EXAM_LEASE_SECONDS = env_int("EXAM_LEASE_SECONDS", 60)
#: Claims of one job before it is quarantined as poison.
EXAM_MAX_ATTEMPTS = env_int("EXAM_MAX_ATTEMPTS", 5)
#: Backoff of transient failures: base * 2**(attempt-1), capped.
EXAM_RETRY_BASE_SECONDS = env_int("EXAM_RETRY_BASE_SECONDS", 2)
EXAM_RETRY_MAX_SECONDS = env_int("EXAM_RETRY_MAX_SECONDS", 300)
#: A waiting job published this long ago with no pending outbox row is published again.
EXAM_SWEEP_STALE_SECONDS = env_int("EXAM_SWEEP_STALE_SECONDS", 900)
#: Stored objects nothing refers to are deleted once this old.
EXAM_ORPHAN_GRACE_SECONDS = env_int("EXAM_ORPHAN_GRACE_SECONDS", 3600)

# Celery (read by exam.pipeline.tasks with namespace CELERY_).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or None
# Acknowledge a task only once it has finished, and give the message back
# when the pool process running it dies, so a crash never loses a job.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message per pool process at a time: a long task never holds others back.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task gets a SoftTimeLimitExceeded (retried) at the soft limit and is
# killed at the hard one; both below the lease, so a live task keeps it.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("EXAM_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_TIME_LIMIT = env_int("EXAM_TASK_TIME_LIMIT", 300)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis: an unacknowledged message goes back to its queue after this
    # long, so it must exceed the longest task (the hard time limit).
    "visibility_timeout": env_int("EXAM_BROKER_VISIBILITY_TIMEOUT", 3600),
    "unacked_restore_interval": env_int("EXAM_BROKER_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": 1,
}
# RabbitMQ (the production broker): quorum queues with a delivery limit as
# the broker's own poison-message net, above the database's attempt limit.
_QUORUM = CELERY_BROKER_URL is not None and CELERY_BROKER_URL.startswith(("amqp", "pyamqp"))
CELERY_TASK_QUEUES = [
    Queue(
        name,
        Exchange("jobs", type="direct"),
        routing_key=name,
        queue_arguments=(
            {"x-queue-type": "quorum", "x-delivery-limit": 2 * EXAM_MAX_ATTEMPTS}
            if _QUORUM
            else None
        ),
    )
    for name in ("s", "m", "l")
]
# The result of a job lives in PostgreSQL, not in a Celery result backend.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "s"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Part 5: the web portal (exam.portal) ---------------------------------------

INSTALLED_APPS += ["django.contrib.sessions", "django_htmx", "axes", "exam.portal"]
MIDDLEWARE += [
    # Right after SecurityMiddleware: the portal's assets, htmx (shipped by
    # django-htmx) and Swagger UI's, from the installed apps (no CDN, no collectstatic).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it answers a locked-out log-in.
    "axes.middleware.AxesMiddleware",
]
TEMPLATES[0]["OPTIONS"]["context_processors"].append(  # type: ignore[index]
    "django.contrib.auth.context_processors.auth"
)
WHITENOISE_USE_FINDERS = True

#: The portal's reads run as this role (no BYPASSRLS) through the "portal" alias,
#: on the default alias's database (exam.portal.backend); the migrations, workers,
#: relay and sweeper use the default alias, the tables' owner.
EXAM_PORTAL_DB_USER = env_str("EXAM_PORTAL_DB_USER", "exam_app")
EXAM_PORTAL_DB_PASSWORD = env_str("EXAM_PORTAL_DB_PASSWORD")
DATABASES["portal"] = {
    "ENGINE": "exam.portal.backend",
    "NAME": DATABASES["default"]["NAME"],
    "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
    "CONN_HEALTH_CHECKS": True,
}

LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:jobs"
LOGOUT_REDIRECT_URL = "portal:login"
#: Sessions end after 15 minutes without a request (HIPAA's automatic log-off).
SESSION_COOKIE_AGE = env_int("EXAM_PORTAL_IDLE_SECONDS", 15 * 60)
SESSION_SAVE_EVERY_REQUEST = True
# Cookies travel over HTTPS only unless debugging; the CSRF token is read from
# the page, so no script needs the cookie.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"

#: Log-in throttling (django-axes): this many failures for one user name from
#: one address lock it out for EXAM_PORTAL_LOCKOUT_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("EXAM_PORTAL_LOGIN_FAILURES", 5)
AXES_COOLOFF_TIME = env_int("EXAM_PORTAL_LOCKOUT_MINUTES", 15) / 60  # in hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/locked.html"

#: An event stream ends after this long and the browser reconnects: under
#: gunicorn's gthread workers each open stream holds a thread.
EXAM_PORTAL_STREAM_SECONDS = env_int("EXAM_PORTAL_STREAM_SECONDS", 300)
#: A comment line this often keeps proxies from closing an idle stream.
EXAM_PORTAL_KEEPALIVE_SECONDS = 15.0
#: The browser polls this often while its event stream is down.
EXAM_PORTAL_POLL_SECONDS = env_int("EXAM_PORTAL_POLL_SECONDS", 5)
#: A reconnecting stream re-sends jobs finished this long before its last event,
#: since commits are not in timestamp order.
EXAM_PORTAL_SNAPSHOT_MARGIN_SECONDS = 30
#: Rows of the jobs table and of the audit log.
EXAM_PORTAL_PAGE_SIZE = 100
#: How long the operations page waits for workers to answer Celery's inspect.
EXAM_PORTAL_INSPECT_SECONDS = 1.0
