"""``python -m exam serve`` and ``python -m exam load FILE`` (exam.api.commands)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from django.db import connection

from exam import cli
from exam.api import commands
from exam.api.models import Element
from exam.database import EmbeddedDatabaseError
from exam.logs import LOG_LINE_PATTERN
from tests.factories import ElementFactory

from .paths import ROOT, SAMPLE_04
from .served import database_url, environment, served_api, started_api

# load migrates and closes connections, which a test wrapped in a transaction
# cannot survive; serve's subprocess must see committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


def problems(caplog: pytest.LogCaptureFixture) -> list[tuple[str, int, str]]:
    """The warnings and errors logged, as (logger, level, message)."""
    return [record for record in caplog.record_tuples if record[1] >= logging.WARNING]


def get_json(url: str) -> Any:
    """GET ``url`` from the live server and decode its JSON body."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


class TestLoad:
    """python -m exam load FILE"""

    @pytest.mark.req("P4.CLI.2")
    def test_load_stores_the_sample_file_and_prints_how_many(
        self, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
    ) -> None:
        """The 50 elements are stored; the command prints the count and exits 0."""
        code = cli.main(["load", str(SAMPLE_04)])

        assert code == 0
        assert capsys.readouterr().out == f"stored 50 element(s) from {SAMPLE_04}\n"
        assert Element.objects.count() == 50
        assert problems(caplog) == []

    @pytest.mark.req("P4.CLI.2")
    def test_load_of_a_file_with_an_invalid_element_stores_nothing(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Invalid elements are logged keyed by element and field; exit 1."""
        path = tmp_path / "bad.json"
        path.write_text(json.dumps({"1": {"id": "a", "data": ["1"]}, "2": {"id": "b"}}))

        code = cli.main(["load", str(path)])

        assert code == 1
        assert capsys.readouterr().out == ""
        assert problems(caplog) == [
            (
                "exam.api.commands",
                logging.ERROR,
                f'{path} holds invalid elements: {{"2": {{"data": ["data is missing"]}}}}',
            )
        ]
        assert Element.objects.count() == 0

    @pytest.mark.req("P4.CLI.2")
    def test_load_of_ids_already_stored_is_a_conflict(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Loading a file twice stores it once; the second run logs the conflicts, exit 1."""
        path = tmp_path / "one.json"
        path.write_text(json.dumps({"id": "aabbcc1", "data": ["1 2"]}))
        assert cli.main(["load", str(path)]) == 0

        code = cli.main(["load", str(path)])

        assert code == 1
        assert problems(caplog) == [
            (
                "exam.api.commands",
                logging.ERROR,
                f"{path}: The element id already exists. "
                '{"id": ["An element with id \'aabbcc1\' already exists."]}',
            )
        ]
        assert Element.objects.count() == 1

    @pytest.mark.req("P4.CLI.2")
    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (None, "cannot read {path}: no such file"),
            (b"not json", "{path} is not valid JSON: Expecting value at line 1, column 1"),
            (
                b"\xff\xfe",
                "{path} is not valid JSON: 'utf-8' codec can't decode byte 0xff in position 0: "
                "invalid start byte",
            ),
        ],
        ids=["missing", "not-json", "not-utf8"],
    )
    def test_load_of_an_unreadable_file_logs_why(
        self,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        content: bytes | None,
        message: str,
    ) -> None:
        """A missing, non-JSON or non-UTF-8 file is one error line and exit 1."""
        path = tmp_path / "input.json"
        if content is not None:
            path.write_bytes(content)

        code = cli.main(["load", str(path)])

        assert code == 1
        assert problems(caplog) == [("exam.api.commands", logging.ERROR, message.format(path=path))]

    @pytest.mark.req("P4.CLI.2")
    @pytest.mark.parametrize(
        ("content", "reason"),
        [
            (
                '{"id": "a", "data": ' + "[" * 100_000 + "]" * 100_000 + "}",
                "nested too deeply to decode",
            ),
            ('{"id": "a", "data": ["1"], "id": "b"}', "the key 'id' appears twice in one object"),
            ('{"id": "a", "data": [NaN]}', "NaN is not a JSON number"),
        ],
        ids=["nested-100000-deep", "repeated-key", "nan"],
    )
    def test_load_of_json_python_would_misread_is_one_error(
        self,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
        content: str,
        reason: str,
    ) -> None:
        """Deep nesting, a repeated key or NaN is one logged error, no traceback, exit 1."""
        path = tmp_path / "input.json"
        path.write_text(content)

        code = cli.main(["load", str(path)])

        assert code == 1
        assert problems(caplog) == [
            ("exam.api.commands", logging.ERROR, f"{path} is not valid JSON: {reason}")
        ]
        assert "Traceback" not in capsys.readouterr().err
        assert Element.objects.count() == 0

    @pytest.mark.req("P4.CLI.2")
    def test_load_of_a_path_with_a_nul_byte_is_one_error(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A path no system call accepts is logged, not raised."""
        code = cli.main(["load", "bad\x00name.json"])

        assert code == 1
        assert problems(caplog) == [
            (
                "exam.api.commands",
                logging.ERROR,
                "cannot read bad\x00name.json: the path contains a NUL byte",
            )
        ]

    @pytest.mark.req("P4.CLI.2")
    def test_load_when_the_database_cannot_start_logs_the_reason(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A database that cannot be started is one error line, no traceback, exit 1."""

        def fail() -> None:
            raise EmbeddedDatabaseError("cannot start the embedded PostgreSQL in /x: disk full")

        monkeypatch.setattr(commands, "ensure_database", fail)

        code = cli.main(["load", str(SAMPLE_04)])

        assert code == 1
        assert problems(caplog) == [
            (
                "exam.api.commands",
                logging.ERROR,
                "cannot start the embedded PostgreSQL in /x: disk full",
            )
        ]


class TestDemo:
    """The Part 4 step of python -m exam demo (commands.demo)."""

    @pytest.mark.req("P4.CLI.2", "P4.POST.1")
    def test_demo_posts_the_sample_lists_a_page_and_leaves_the_database_as_it_was(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The round trip prints each answer; what was stored before is still there, alone."""
        ElementFactory(element_id="7f9b57b", device_name="kept")

        result = commands.demo(SAMPLE_04.parent)

        assert result is not None
        assert capsys.readouterr().out == (
            "POST /api/elements/ (sample-04-json.json) -> 201, 50 entries created\n"
            "GET /api/elements/?limit=3 -> 200, 50 entries in all:\n"
            "  id       device   size  shape  avg before  avg after\n"
            "  7f9b57b  CT SCAN    50  5x10      58.1800     0.5877\n"
            "  bd4e1e5  MRI        50  5x10      52.1000     0.5210\n"
            "  26ca0fc  RX 1       50  5x10      45.8000     0.4673\n"
            "GET /api/elements/7f9b57b/ -> 200, 5 rows of raw data\n"
            "(all in one transaction, rolled back: the database is left as it was)\n"
        )
        assert list(Element.objects.values_list("element_id", "device_name")) == [
            ("7f9b57b", "kept")
        ]

    @pytest.mark.req("P4.CLI.2")
    def test_demo_without_a_database_logs_why_and_prints_nothing(
        self,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A database that cannot start makes the step fail with one error line."""

        def fail() -> None:
            raise EmbeddedDatabaseError("cannot start the embedded PostgreSQL in /x: disk full")

        monkeypatch.setattr(commands, "ensure_database", fail)

        assert commands.demo(SAMPLE_04.parent) is None
        assert capsys.readouterr().out == ""
        assert problems(caplog) == [
            (
                "exam.api.commands",
                logging.ERROR,
                "cannot start the embedded PostgreSQL in /x: disk full",
            )
        ]

    @pytest.mark.req("P4.CLI.2")
    def test_demo_on_a_database_it_cannot_migrate_logs_why_and_exits_1(self) -> None:
        """A database that lets the demo in but not migrate is one error line, no traceback."""
        broken = f"exam_broken_{os.getpid()}"
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {broken}")
        url = database_url(connection.settings_dict | {"NAME": broken})
        try:
            with psycopg2.connect(url) as conn, conn.cursor() as cursor:
                # A django_migrations table without Django's columns: migrate cannot use it.
                cursor.execute("CREATE TABLE django_migrations (id integer)")
            conn.close()
            result = subprocess.run(
                [sys.executable, "-m", "exam", "demo"],
                cwd=ROOT,
                env=environment(DATABASE_URL=url),
                capture_output=True,
                text=True,
                timeout=120,
            )
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP DATABASE {broken} WITH (FORCE)")

        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        sample_csv = ROOT / "fixtures" / "sample-01-csv.csv"
        assert result.stderr.splitlines() == [
            f"WARNING: {sample_csv}: column 'PatientID' is a text column (first value on line 2)",
            f"WARNING: {sample_csv}: column 'Sex' is a text column (first value on line 2)",
            "ERROR: column django_migrations.app does not exist",
            "ERROR: demo step failed: Part 4 - REST API on PostgreSQL, in-process and rolled back",
            "ERROR: column django_migrations.app does not exist",
            "ERROR: demo step failed: Part 5 - the pipeline: upload, Celery workers, results in "
            "PostgreSQL",
        ]


@pytest.mark.slow
class TestServe:
    """python -m exam serve [--host --port]"""

    @pytest.mark.req("P4.CLI.1", "P4.DB.2")
    @pytest.mark.parametrize(
        ("url", "error"),
        [
            (
                "sqlite:///db.sqlite3",
                "ERROR: DATABASE_URL must be a PostgreSQL URL (postgresql://...), "
                "got scheme 'sqlite'\n",
            ),
            (
                "postgresql://exam@127.0.0.1:1/exam",
                'ERROR: connection to server at "127.0.0.1", port 1 failed: Connection refused',
            ),
        ],
        ids=["sqlite", "unreachable"],
    )
    def test_serve_on_an_unusable_database_logs_why_and_exits_1(self, url: str, error: str) -> None:
        """A database that is not PostgreSQL or not there is one error line, no traceback."""
        result = subprocess.run(
            [sys.executable, "-m", "exam", "serve", "--port", "0"],
            cwd=ROOT,
            env=environment(DATABASE_URL=url),
            capture_output=True,
            text=True,
            timeout=60,
        )

        assert result.returncode == 1
        assert result.stderr.startswith(error)
        assert "Traceback" not in result.stderr

    @pytest.mark.req("P4.CLI.1", "P4.DB.1")
    def test_serve_without_a_database_starts_its_own_postgresql_and_stops_it(
        self, scratch_pgdata: Path
    ) -> None:
        """With nothing configured, serve starts the embedded server, migrates, answers, stops."""
        pgdata = scratch_pgdata

        with served_api(environment(EXAM_PGDATA=str(pgdata))) as served:
            page = get_json(f"{served.url}/api/elements/")
            running_while_served = (pgdata / "postmaster.pid").exists()
            code = served.stop()

        assert page == {"count": 0, "next": None, "previous": None, "results": []}
        assert running_while_served
        assert code == 0
        assert not (pgdata / "postmaster.pid").exists()
        assert f"embedded PostgreSQL running in {pgdata}" in "".join(served.stderr)

    @pytest.mark.req("P4.CLI.1", "P4.LOG.3")
    def test_serve_on_a_configured_database_logs_every_request_to_the_shared_file(
        self, tmp_path: Path
    ) -> None:
        """Each worker writes its requests to --log-file, one parseable line each."""
        log_file = tmp_path / "api.log"
        env = environment(DATABASE_URL=database_url(connection.settings_dict))

        with served_api(env, "--log-file", str(log_file), "--workers", "2") as served:
            for number in range(4):
                request = urllib.request.Request(
                    f"{served.url}/api/elements/", headers={"X-Request-ID": f"served-{number}"}
                )
                urllib.request.urlopen(request, timeout=10).close()
            code = served.stop()

        records = [LOG_LINE_PATTERN.fullmatch(line) for line in log_file.read_text().splitlines()]
        requests = [r for r in records if r and r["logger"] == "exam.api.middleware"]
        assert code == 0
        assert all(records)
        assert [r["message"].split()[0] for r in requests] == [
            f"request_id=served-{number}" for number in range(4)
        ]


@pytest.mark.slow
@pytest.mark.req("P4.CLI.4")
def test_two_servers_started_at_once_on_a_new_data_folder_both_answer(
    scratch_pgdata: Path,
) -> None:
    """Both start the one embedded server, migrate in turn and answer; both stop cleanly."""
    env = environment(EXAM_PGDATA=str(scratch_pgdata))

    with started_api(env, "--workers", "1") as first, started_api(env, "--workers", "1") as second:
        first.wait_listening()
        second.wait_listening()
        pages = [get_json(f"{served.url}/api/elements/") for served in (first, second)]
        codes = [second.stop(), first.stop()]

    assert pages == [{"count": 0, "next": None, "previous": None, "results": []}] * 2
    assert codes == [0, 0]
    assert not (scratch_pgdata / "postmaster.pid").exists()
