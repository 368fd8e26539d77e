"""The API's commands: ``python -m exam serve``, ``load FILE`` and the demo's Part 4 step.

Each starts the embedded PostgreSQL when no server is configured, applies the
migrations, and stops the embedded server when it is done.  ``serve`` runs
the API under gunicorn (the ``gthread`` worker: a few processes, a few
threads each); ``load`` stores a JSON file through the same validation and
service as ``POST /api/elements/``; :func:`demo` makes a round trip through
the API in-process and rolls it back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import django
from django.db import DatabaseError, connections
from gunicorn import glogging

from exam.database import DatabaseConfigError, EmbeddedDatabaseError, ensure_database, migrate
from exam.json_input import JsonInputError, loads
from exam.logs import configure_logging, describe_path_error, get_logger

logger = get_logger(__name__)

SETTINGS_MODULE = "exam.api.settings"
#: Failures to reach the database: logged as one line, never a traceback.
# DatabaseError covers a server that refuses us (OperationalError) and one that
# lets us in but not to migrate (ProgrammingError, e.g. no CREATE on the schema).
DATABASE_ERRORS = (DatabaseConfigError, EmbeddedDatabaseError, DatabaseError)


@dataclass(frozen=True)
class LoadResult:
    """What ``load`` stored: how many elements, from which file."""

    path: Path
    created: int

    def __str__(self) -> str:
        return f"stored {self.created} element(s) from {self.path}"


@dataclass(frozen=True)
class ServeOptions:
    """How to serve the API.

    Attributes
    ----------
    host, port:
        The address to listen on; port 0 picks a free port (the log says which).
    workers:
        gunicorn worker processes, each with :attr:`threads` threads.
    log_file, verbose, log_json:
        The logging set-up, repeated in each worker process (the shared log's
        writer thread does not survive ``fork``).
    """

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    threads: int = 4
    log_file: Path | None = None
    verbose: bool = False
    log_json: bool = False


def load_file(path: Path) -> LoadResult | None:
    """Store the elements of the JSON file ``path``; log and return ``None`` on failure.

    The file is Part 3's format (an object of elements keyed ``"1"``,
    ``"2"``, ...) or a single element, decoded as strictly as the API's
    bodies (:func:`exam.json_input.loads`).  Nothing is stored unless every
    element is valid and no id is taken.
    """
    try:
        payload = loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, JsonInputError) as error:
        logger.error("%s is not valid JSON: %s", path, error)
        return None
    except (OSError, ValueError) as error:  # ValueError: a NUL byte in the path
        logger.error("cannot read %s: %s", path, describe_path_error(error))
        return None
    try:
        with database():
            return _store(path, payload)
    except DATABASE_ERRORS as error:
        log_database_error(error)
        return None


@dataclass(frozen=True)
class ApiDemo:
    """What the demo's round trip through the API answered.

    Attributes
    ----------
    file:
        The payload's file name.
    created:
        Status of the POST and the number of entries it created.
    page:
        Status of the list request, the total count and the first entries.
    detail:
        Status of the detail request and the number of raw rows it returned.
    """

    file: str
    created: tuple[int, int]
    page: tuple[int, int, list[dict[str, Any]]]
    detail: tuple[str, int, int]

    def __str__(self) -> str:
        post_status, created = self.created
        list_status, count, entries = self.page
        element_id, detail_status, rows = self.detail
        lines = [
            f"POST /api/elements/ ({self.file}) -> {post_status}, {created} entries created",
            f"GET /api/elements/?limit={len(entries)} -> {list_status}, {count} entries in all:",
            f"  {'id':<8} {'device':<8} {'size':>4}  {'shape':<5}  {'avg before':>10}  "
            f"{'avg after':>9}",
        ]
        for entry in entries:
            rows_, columns = entry["shape"]
            lines.append(
                f"  {entry['id']:<8} {entry['device_name'] or '-':<8} {entry['size']:>4}  "
                f"{f'{rows_}x{columns}':<5}  {entry['average_before']:>10.4f}  "
                f"{entry['average_after']:>9.4f}"
            )
        lines += [
            f"GET /api/elements/{element_id}/ -> {detail_status}, {rows} rows of raw data",
            "(all in one transaction, rolled back: the database is left as it was)",
        ]
        return "\n".join(lines)


def demo(fixtures: Path, *, file: str = "sample-04-json.json", shown: int = 3) -> ApiDemo | None:
    """POST a fixture file to the API in-process, list a page and show one entry.

    Runs on the configured (or embedded) PostgreSQL inside one transaction
    that is rolled back, on an emptied table, so the demo neither depends on
    nor changes what is stored.  Prints the :class:`ApiDemo` and returns it;
    logs and returns ``None`` when the database cannot be reached.
    """
    payload = json.loads((fixtures / file).read_text(encoding="utf-8"))
    try:
        with database():
            result = _round_trip(file, payload, shown)
    except DATABASE_ERRORS as error:
        log_database_error(error)
        return None
    print(result)  # noqa: T201 - the demo's output is what the step is for
    return result


def _round_trip(file: str, payload: Any, shown: int) -> ApiDemo:
    from django.db import transaction
    from django.test import Client

    from exam.api.models import Element

    client = Client(SERVER_NAME="localhost")
    with transaction.atomic():
        Element.objects.all().delete()
        created = client.post("/api/elements/", payload, content_type="application/json")
        page = client.get("/api/elements/", {"limit": shown})
        first = page.json()["results"][0]["id"]
        detail = client.get(f"/api/elements/{first}/")
        result = ApiDemo(
            file=file,
            created=(created.status_code, len(created.json())),
            page=(page.status_code, page.json()["count"], page.json()["results"]),
            detail=(first, detail.status_code, len(detail.json()["data"])),
        )
        transaction.set_rollback(True)
    return result


def serve(options: ServeOptions) -> bool:
    """Serve the API with gunicorn until SIGTERM or SIGINT; return True on a clean stop."""
    try:
        with database():
            return _run_gunicorn(options)
    except DATABASE_ERRORS as error:
        log_database_error(error)
        return False


def log_database_error(error: Exception) -> None:
    # The server's first line says what is wrong; the rest (the SQL, a caret) is noise here.
    logger.error("%s", str(error).strip().splitlines()[0])


@contextmanager
def database() -> Iterator[None]:
    """Set Django up, start the database if needed and migrate; stop it on the way out."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    django.setup()
    server = ensure_database()
    owner_pid = os.getpid()
    try:
        migrate()
        # Forked gunicorn workers must not share the connection migrate used.
        connections.close_all()
        logger.info("database schema is up to date")
        yield
    finally:
        # gunicorn's workers are forked inside this block and leave through it.
        if server is not None and os.getpid() == owner_pid:
            # No connection may outlive the server it talks to: the next
            # command in this process (the demo's next step) starts it anew.
            connections.close_all()
            server.stop()


def _store(path: Path, payload: Any) -> LoadResult | None:
    from exam.api.exceptions import ElementConflict
    from exam.api.serializers import ElementsPayloadSerializer
    from exam.api.services import element_create

    serializer = ElementsPayloadSerializer(data=payload)
    if not serializer.is_valid():
        logger.error("%s holds invalid elements: %s", path, json.dumps(serializer.errors))
        return None
    try:
        created = element_create(elements=serializer.validated_data.elements)
    except ElementConflict as conflict:
        logger.error("%s: %s %s", path, conflict.detail, json.dumps(conflict.errors))
        return None
    return LoadResult(path=path, created=len(created))


def _run_gunicorn(options: ServeOptions) -> bool:
    from gunicorn.app.base import BaseApplication

    class ApiApplication(BaseApplication):
        def load_config(self) -> None:
            settings = {
                "bind": f"{options.host}:{options.port}",
                "workers": options.workers,
                "worker_class": "gthread",
                "threads": options.threads,
                "graceful_timeout": 10,
                # Load Django once in the arbiter, so workers fork ready to answer.
                "preload_app": True,
                # No control socket in ~/.gunicorn: nothing here uses it, and
                # two servers on one machine would fight over its path.
                "control_socket_disable": True,
                "when_ready": _log_listening,
                "logger_class": GunicornLog,
                "post_fork": lambda server, worker: configure_logging(
                    log_file=options.log_file, verbose=options.verbose, json_lines=options.log_json
                ),
            }
            for name, value in settings.items():
                self.cfg.set(name, value)

        def load(self) -> Any:
            from exam.api.wsgi import application

            return application

    arbiter_pid = os.getpid()
    code: object = 0
    try:
        ApiApplication().run()
    except SystemExit as stop:
        if os.getpid() != arbiter_pid:
            # A worker is leaving: its exit code is gunicorn's business.  (Only
            # a forked worker gets here, in a frame older than the fork, which
            # coverage's restarted tracer cannot see.)
            raise  # pragma: no cover
        # The arbiter leaves through sys.exit too: 0 after SIGTERM or SIGINT.
        code = stop.code
    return code in (0, None)


class GunicornLog(glogging.Logger):
    """gunicorn's own records through :mod:`exam.logs`, like the request log.

    gunicorn answers some requests itself, before Django sees them -- a 400
    for a malformed Content-Length, 414 for a request line over 4094 bytes,
    431 for too many headers -- in plain HTML, and logs a warning naming the
    client and the fault.  That warning, and gunicorn's other records (worker
    start, signals), go to the same console and shared log file as the API's.
    """

    def setup(self, cfg: Any) -> None:
        """Set gunicorn up as usual, then send its error log to ``exam.api.gunicorn``."""
        super().setup(cfg)
        self.error_log = get_logger("exam.api.gunicorn")


def _log_listening(arbiter: Any) -> None:
    for listener in arbiter.LISTENERS:
        host, port = listener.sock.getsockname()[:2]
        logger.info("API listening at http://%s:%d/api/ (Swagger UI at /api/docs/)", host, port)
