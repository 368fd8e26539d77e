"""Where the API's data lives (exam.database): environment, embedded server, start and stop."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from pytest_django import Settings

from exam import database
from exam.database import (
    ENGINE,
    DatabaseConfigError,
    EmbeddedDatabaseError,
    ensure_database,
    resolve_database,
    start_embedded,
)

from .paths import ROOT

DEFAULT_PGDATA = Path("/srv/project/.pgdata")


def entry(
    name: str, user: str, password: str, host: str, port: str, **extra: Any
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
    """resolve_database(): the environment, turned into a DATABASES entry."""

    @pytest.mark.req("P4.DB.2")
    @pytest.mark.parametrize(
        ("environ", "expected"),
        [
            (
                {"DATABASE_URL": "postgresql://exam:s3cret@db.example:5433/results"},
                entry("results", "exam", "s3cret", "db.example", "5433"),
            ),
            (
                {"DATABASE_URL": "postgres://exam@/results?host=/var/run/postgresql"},
                entry("results", "exam", "", "/var/run/postgresql", ""),
            ),
            (
                {"DATABASE_URL": "postgresql://u:p%40ss@h/db?sslmode=require&connect_timeout=5"},
                entry(
                    "db",
                    "u",
                    "p@ss",
                    "h",
                    "",
                    OPTIONS={"sslmode": "require", "connect_timeout": "5"},
                ),
            ),
            ({"DATABASE_URL": "postgresql://h"}, entry("postgres", "", "", "h", "")),
            (
                {
                    "POSTGRES_HOST": "db",
                    "POSTGRES_PORT": "5432",
                    "POSTGRES_DB": "results",
                    "POSTGRES_USER": "exam",
                    "POSTGRES_PASSWORD": "pw",
                },
                entry("results", "exam", "pw", "db", "5432"),
            ),
            ({"POSTGRES_HOST": "db"}, entry("postgres", "postgres", "", "db", "")),
            (
                {"DATABASE_URL": "postgresql://u@url-host/a", "POSTGRES_HOST": "other"},
                entry("a", "u", "", "url-host", ""),
            ),
        ],
        ids=[
            "url",
            "url-socket",
            "url-options",
            "url-minimal",
            "postgres-vars",
            "postgres-host",
            "url-wins",
        ],
    )
    def test_an_external_server_is_described_by_the_environment(
        self, environ: dict[str, str], expected: dict[str, Any]
    ) -> None:
        """DATABASE_URL, else POSTGRES_HOST and friends, name an external server."""
        target = resolve_database(environ, default_pgdata=DEFAULT_PGDATA)

        assert (target.settings, target.embedded_pgdata) == (expected, None)

    @pytest.mark.req("P4.DB.1")
    def test_without_a_server_the_embedded_one_in_the_default_folder_is_used(self) -> None:
        """No variables: the embedded server, its data in the default folder, the socket there."""
        target = resolve_database({}, default_pgdata=DEFAULT_PGDATA)

        assert target.embedded_pgdata == DEFAULT_PGDATA
        assert target.settings == entry("postgres", "postgres", "", str(DEFAULT_PGDATA), "")

    @pytest.mark.req("P4.DB.1")
    def test_exam_pgdata_moves_the_embedded_server_data(self) -> None:
        """EXAM_PGDATA chooses the embedded server's folder (~ expanded)."""
        target = resolve_database({"EXAM_PGDATA": "~/elsewhere"}, default_pgdata=DEFAULT_PGDATA)

        assert target.embedded_pgdata == Path.home() / "elsewhere"

    @pytest.mark.req("P4.DB.2")
    @pytest.mark.parametrize(
        ("environ", "message"),
        [
            (
                {"DATABASE_URL": "sqlite:///db.sqlite3"},
                "DATABASE_URL must be a PostgreSQL URL (postgresql://...), got scheme 'sqlite'",
            ),
            (
                {"DATABASE_URL": "mysql://u@h/db"},
                "DATABASE_URL must be a PostgreSQL URL (postgresql://...), got scheme 'mysql'",
            ),
            (
                {"DATABASE_URL": "postgresql://h:five/db"},
                "DATABASE_URL has a port that is not a number",
            ),
            (
                {"POSTGRES_HOST": "db", "POSTGRES_PORT": "x"},
                "POSTGRES_PORT must be a number, got 'x'",
            ),
        ],
        ids=["sqlite", "mysql", "url-port", "postgres-port"],
    )
    def test_a_database_that_is_not_postgresql_is_refused(
        self, environ: dict[str, str], message: str
    ) -> None:
        """Anything but PostgreSQL is a configuration error, never a silent fallback."""
        with pytest.raises(DatabaseConfigError) as caught:
            resolve_database(environ, default_pgdata=DEFAULT_PGDATA)

        assert str(caught.value) == message


@pytest.mark.req("P4.DB.1")
def test_importing_the_settings_starts_no_server(tmp_path: Path) -> None:
    """Loading Django's settings only describes the embedded server; nothing is created."""
    pgdata = tmp_path / "pgdata"
    env = {
        k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("POSTGRES_")
    }
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


def select_one(uri: str) -> int:
    """Connect to ``uri`` and run SELECT 1."""
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
            assert select_one(server.uri) == 1
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
        assert select_one(second.uri) == 1
        second.stop()

        assert not is_running(pgdata)

    @pytest.mark.req("P4.DB.1")
    def test_a_process_that_died_without_letting_go_does_not_keep_the_server_alive(
        self, pgdata: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Exited processes are dropped from the server's list, so the last real user stops it."""
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        (pgdata / database.HANDLES_FILE).write_text(json.dumps([dead.pid]))
        caplog.set_level(logging.INFO, logger="exam.database")

        server = start_embedded(pgdata)
        registered = json.loads((pgdata / database.HANDLES_FILE).read_text())
        server.stop()

        assert registered == [os.getpid()]
        assert not is_running(pgdata)
        assert (
            "exam.database",
            logging.INFO,
            f"embedded PostgreSQL: forgetting exited processes [{dead.pid}]",
        ) in caplog.record_tuples

    @pytest.mark.req("P4.DB.1")
    def test_a_server_that_cannot_start_raises_naming_the_folder(self, pgdata: Path) -> None:
        """A data folder whose parent does not exist is an EmbeddedDatabaseError."""
        pgdata = pgdata.parent / "missing" / "pgdata"

        with pytest.raises(EmbeddedDatabaseError) as caught:
            start_embedded(pgdata)

        assert str(caught.value) == (
            f"cannot start the embedded PostgreSQL in {pgdata}: "
            f"Parent directory of pgdata does not exist: {pgdata.parent}"
        )

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
