"""Where the API's data lives (exam.database): environment, embedded server, start and stop."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from django.db import connection, connections
from pytest_django import Settings

from exam import database
from exam.database import (
    ENGINE,
    MIGRATION_LOCK,
    DatabaseConfigError,
    EmbeddedDatabaseError,
    EmbeddedServer,
    ensure_database,
    migrate,
    resolve_database,
    start_embedded,
)

from .paths import ROOT
from .served import database_url

DEFAULT_PGDATA = Path("/srv/project/.pgdata")
#: What dj-database-url adds to every entry it parses (the settings override the first two).
PARSED = {"CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False, "DISABLE_SERVER_SIDE_CURSORS": False}


def entry(
    name: str, user: str, password: str, host: str, port: str | int, **extra: Any
) -> dict[str, Any]:
    """A Django DATABASES entry for PostgreSQL."""
    return {
        "ENGINE": ENGINE,
        "NAME": name,
        "USER": user,
        "PASSWORD": password,
        "HOST": host,
        "PORT": port,
        **extra,
    }


class TestResolveDatabase:
    """resolve_database(): DATABASE_URL or the embedded folder, turned into a DATABASES entry."""

    @pytest.mark.req("P4.DB.2")
    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            (
                "postgresql://exam:s3cret@db.example:5433/results",
                entry("results", "exam", "s3cret", "db.example", 5433, **PARSED),
            ),
            (
                "postgres://exam@/results?host=/var/run/postgresql",
                entry(
                    "results", "exam", "", "", "", OPTIONS={"host": "/var/run/postgresql"}, **PARSED
                ),
            ),
            (
                "postgresql://u:p%40ss@h/db?sslmode=require&connect_timeout=5",
                entry(
                    "db", "u", "p@ss", "h", "", OPTIONS={"sslmode": "require", "connect_timeout": 5}
                )
                | PARSED,
            ),
            ("pgsql://h/db", entry("db", "", "", "h", "", **PARSED)),
        ],
        ids=["url", "url-socket", "url-options", "pgsql-scheme"],
    )
    def test_database_url_names_an_external_server(
        self, url: str, expected: dict[str, Any]
    ) -> None:
        """DATABASE_URL, parsed by dj-database-url, names the server; no embedded folder."""
        target = resolve_database(url, pgdata=DEFAULT_PGDATA)

        assert (target.settings, target.embedded_pgdata) == (expected, None)

    @pytest.mark.req("P4.DB.1")
    def test_without_a_url_the_embedded_server_in_the_given_folder_is_used(self) -> None:
        """No DATABASE_URL: the embedded server, its data in the folder given, the socket there."""
        target = resolve_database("", pgdata=DEFAULT_PGDATA)

        assert target.embedded_pgdata == DEFAULT_PGDATA
        assert target.settings == entry("postgres", "postgres", "", str(DEFAULT_PGDATA), "")

    @pytest.mark.req("P4.DB.1")
    def test_the_embedded_folder_is_expanded(self) -> None:
        """A folder under ~ is expanded to the home folder."""
        target = resolve_database("", pgdata=Path("~/elsewhere"))

        assert target.embedded_pgdata == Path.home() / "elsewhere"

    @pytest.mark.req("P4.DB.2")
    @pytest.mark.parametrize(
        ("url", "message"),
        [
            (
                "sqlite:///db.sqlite3",
                "DATABASE_URL must be a PostgreSQL URL (postgresql://...), got scheme 'sqlite'",
            ),
            (
                "mysql://u@h/db",
                "DATABASE_URL must be a PostgreSQL URL (postgresql://...), got scheme 'mysql'",
            ),
            (
                "postgresql://h:five/db",
                "DATABASE_URL is not a valid URL: is the port a number, "
                "and are special characters in the password %-encoded?",
            ),
        ],
        ids=["sqlite", "mysql", "url-port"],
    )
    def test_a_database_that_is_not_postgresql_is_refused(self, url: str, message: str) -> None:
        """Anything but PostgreSQL is a configuration error, never a silent fallback."""
        with pytest.raises(DatabaseConfigError) as caught:
            resolve_database(url, pgdata=DEFAULT_PGDATA)

        assert str(caught.value) == message


@pytest.mark.req("P4.DB.1", "P4.DB.2")
@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"EXAM_PGDATA": "{pgdata}"}, "{pgdata} {pgdata} 60 True"),
        (
            {"DATABASE_URL": "postgresql://u@db.example/results", "EXAM_DB_CONN_MAX_AGE": "5"},
            "db.example None 5 True",
        ),
    ],
    ids=["embedded", "database-url"],
)
def test_the_settings_read_the_database_from_the_environment(
    tmp_path: Path, variables: dict[str, str], expected: str
) -> None:
    """The settings module turns DATABASE_URL or EXAM_PGDATA into Django's database entry."""
    pgdata = tmp_path / "pgdata"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "EXAM_PGDATA"}}
    env |= {k: v.format(pgdata=pgdata) for k, v in variables.items()}
    env["DJANGO_SETTINGS_MODULE"] = "exam.api.settings"
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "entry = settings.DATABASES['default']; "
        "print(entry['HOST'], settings.EXAM_EMBEDDED_PGDATA, entry['CONN_MAX_AGE'], "
        "entry['CONN_HEALTH_CHECKS'])"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert result.stdout == expected.format(pgdata=pgdata) + "\n"


@pytest.mark.req("P4.DB.1")
def test_importing_the_settings_starts_no_server(tmp_path: Path) -> None:
    """Loading Django's settings only describes the embedded server; nothing is created."""
    pgdata = tmp_path / "pgdata"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"EXAM_PGDATA": str(pgdata), "DJANGO_SETTINGS_MODULE": "exam.api.settings"}
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['HOST'], settings.EXAM_EMBEDDED_PGDATA)"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert result.stdout == f"{pgdata} {pgdata}\n"
    assert not pgdata.exists()


@pytest.fixture(scope="module")
def pgdata(scratch_pgdata: Path) -> Path:
    """A data folder for embedded servers of this module's own (not the test session's)."""
    return scratch_pgdata


def is_running(pgdata: Path) -> bool:
    """PostgreSQL keeps postmaster.pid exactly while it runs."""
    return (pgdata / "postmaster.pid").exists()


def select_one(server: EmbeddedServer) -> int:
    """Connect to the embedded server's maintenance database and run SELECT 1."""
    uri = f"postgresql://postgres@/postgres?host={server.socket_dir}"
    with psycopg2.connect(uri) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        value: int = cursor.fetchone()[0]
    connection.close()
    return value


class TestEmbeddedServer:
    """start_embedded() and EmbeddedServer.stop(), on a data folder of their own."""

    @pytest.mark.req("P4.DB.1")
    def test_the_server_starts_in_its_folder_answers_and_stops_when_released(
        self, pgdata: Path
    ) -> None:
        """A new folder is initialised, the server answers on its socket, and stop() ends it."""
        server = start_embedded(pgdata)
        try:
            assert server.socket_dir == pgdata
            assert select_one(server) == 1
            assert is_running(pgdata)
        finally:
            server.stop()

        assert not is_running(pgdata)

    @pytest.mark.req("P4.DB.1")
    def test_the_server_keeps_running_while_another_user_holds_it(self, pgdata: Path) -> None:
        """Two starts in one process need two stops: the first stop leaves it running."""
        first = start_embedded(pgdata)
        second = start_embedded(pgdata)

        first.stop()
        assert select_one(second) == 1
        second.stop()

        assert not is_running(pgdata)

    @pytest.mark.req("P4.DB.1")
    def test_a_process_that_died_without_letting_go_does_not_keep_the_server_alive(
        self, pgdata: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Exited processes are dropped from the server's list, so the last real user stops it."""
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        (pgdata / ".handle_pids.json").write_text(json.dumps([dead.pid]))
        caplog.set_level(logging.INFO, logger="exam.database")

        server = start_embedded(pgdata)
        registered = json.loads((pgdata / ".handle_pids.json").read_text())
        server.stop()

        assert registered == [os.getpid()]
        assert not is_running(pgdata)
        assert (
            "exam.database",
            logging.INFO,
            f"embedded PostgreSQL: forgetting exited processes [{dead.pid}]",
        ) in caplog.record_tuples

    @pytest.mark.req("P4.DB.1")
    def test_a_folder_whose_parent_is_missing_raises_naming_it(self, pgdata: Path) -> None:
        """A data folder whose parent is missing is an EmbeddedDatabaseError naming the parent."""
        pgdata = pgdata.parent / "missing" / "pgdata"

        with pytest.raises(EmbeddedDatabaseError) as caught:
            start_embedded(pgdata)

        assert str(caught.value) == (
            f"cannot start the embedded PostgreSQL in {pgdata}: {pgdata.parent}: no such folder"
        )

    @pytest.mark.req("P4.DB.1")
    def test_a_server_that_cannot_start_raises_naming_the_folder_and_the_cause(
        self, pgdata: Path
    ) -> None:
        """A data folder pgserver cannot use is an EmbeddedDatabaseError carrying its reason."""
        pgdata = pgdata.parent / "not-a-folder"
        pgdata.write_text("")

        with pytest.raises(EmbeddedDatabaseError) as caught:
            start_embedded(pgdata)

        assert str(caught.value).startswith(f"cannot start the embedded PostgreSQL in {pgdata}: ")
        assert isinstance(caught.value.__cause__, OSError)

    @pytest.mark.req("P4.DB.1")
    @pytest.mark.parametrize(
        ("error", "running"), [(None, True), (PermissionError, True), (ProcessLookupError, False)]
    )
    def test_a_process_counts_as_running_unless_it_is_gone(
        self, monkeypatch: pytest.MonkeyPatch, error: type[OSError] | None, running: bool
    ) -> None:
        """A process owned by someone else is alive; only a missing one is gone."""

        def kill(pid: int, signal: int) -> None:
            if error is not None:
                raise error

        monkeypatch.setattr(database.os, "kill", kill)

        assert database._is_running(12345) is running


class TestEnsureDatabase:
    """ensure_database(): what serve, load and the test session call."""

    @pytest.mark.req("P4.DB.2")
    def test_with_an_external_server_nothing_starts(
        self, settings: Settings, caplog: pytest.LogCaptureFixture
    ) -> None:
        """An external server is only reported: no embedded server is returned."""
        settings.EXAM_EMBEDDED_PGDATA = None
        caplog.set_level(logging.INFO, logger="exam.database")
        entry = settings.DATABASES["default"]

        assert ensure_database() is None
        assert caplog.record_tuples == [
            (
                "exam.database",
                logging.INFO,
                f"using the PostgreSQL server at {entry['HOST'] or 'localhost'}, "
                f"database {entry['NAME']}",
            )
        ]

    @pytest.mark.req("P4.DB.1")
    def test_without_one_the_embedded_server_starts_and_django_points_at_it(
        self, settings: Settings, monkeypatch: pytest.MonkeyPatch, pgdata: Path
    ) -> None:
        """The embedded server starts and DATABASES["default"]["HOST"] becomes its socket folder."""
        settings.EXAM_EMBEDDED_PGDATA = pgdata
        monkeypatch.setitem(settings.DATABASES["default"], "HOST", "not-yet-known")

        server = ensure_database()
        try:
            assert server is not None
            assert settings.DATABASES["default"]["HOST"] == str(server.socket_dir)
            assert is_running(pgdata)
        finally:
            if server is not None:
                server.stop()


def advisory_waiters(cursor: Any) -> int:
    """How many sessions of this database wait for an advisory lock."""
    cursor.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    count: int = cursor.fetchone()[0]
    return count


@pytest.mark.req("P4.CLI.4")
@pytest.mark.django_db
def test_migrate_waits_while_another_session_holds_the_migration_lock() -> None:
    """migrate() blocks on the advisory lock until its holder lets go, then finishes."""
    holder = psycopg2.connect(database_url(connection.settings_dict))
    holder.autocommit = True
    cursor = holder.cursor()
    cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
    finished = threading.Event()

    def run() -> None:
        try:
            migrate()
            finished.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while advisory_waiters(cursor) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        waited = advisory_waiters(cursor) == 1 and not finished.is_set()
    finally:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
        thread.join(30)
        holder.close()

    assert waited
    assert finished.is_set()
