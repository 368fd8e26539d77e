"""The pipeline's logs: JSON objects of allowlisted fields, naming no patient, UID or file.

Every fixture goes through real processes -- a served API logging JSON, the
relay, a worker -- and each process's whole output (stdout and stderr) is
read back afterwards, line by line.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from pydicom import dcmread
from rest_framework import status

from exam.logs import JSON_FIELDS
from exam.pipeline.models import Job

from .conftest import FIXTURES, Processes, wait_for
from .served import Web, served

pytestmark = [pytest.mark.slow]

#: Keys a JSON line may have besides the allowlisted fields.
RECORD_KEYS = {"time", "level", "logger", "event", "message", "error"}
DICOM_FIXTURES = sorted(FIXTURES.glob("*.dcm"))


def secrets_of(path: Path) -> set[str]:
    """What must never reach a log about the fixture ``path``: names, IDs, UIDs, file name."""
    dataset = dcmread(path)
    name = str(dataset.PatientName)
    return {
        name,
        *(part for part in name.split("^") if part),
        str(dataset.PatientID),
        str(dataset.SOPInstanceUID),
        str(dataset.StudyInstanceUID),
        str(dataset.SeriesInstanceUID),
        path.name,
        path.stem,
    }


def streams(processes: Processes, name: str) -> tuple[Path, Path]:
    """Where process ``name`` writes its stdout (its log) and its stderr."""
    return processes.log_dir / f"{name}.out", processes.log_dir / f"{name}.err"


def start(processes: Processes, name: str, *arguments: str) -> subprocess.Popen[bytes]:
    """Start ``python -m exam ARGUMENTS``, stdout and stderr each to a file of their own."""
    out, err = streams(processes, name)
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "exam", *arguments],
            env=processes.env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    processes.started.append(process)
    return process


@pytest.fixture
def web(processes: Processes) -> Iterator[Web]:
    """The API served as the stack serves it (JSON lines), on the processes' database."""
    out, err = streams(processes, "web")
    with served(processes.env, out, "--workers", "1", "--log-json", errors=err) as api:
        yield api


def post(web: Web, user: User, path: Path, body: bytes | None = None) -> int:
    """Upload ``path`` (or ``body`` under its name) as a client would; return the status."""
    client = web.connection()
    try:
        client.request(
            "POST",
            "/api/instances/",
            path.read_bytes() if body is None else body,
            {
                "Authorization": f"Token {user.auth_token.key}",
                "Content-Type": "application/dicom",
                "X-Filename": path.name,
            },
        )
        response = client.getresponse()
        response.read()
        return response.status
    finally:
        client.close()


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process as an operator would (SIGTERM), so that it writes its last lines whole."""
    process.send_signal(signal.SIGTERM)
    process.wait(60)


@pytest.mark.req("P5.PIPE.LOG.1")
def test_the_logs_of_a_run_over_the_fixtures_are_allowlisted_json_without_identifiers(
    processes: Processes, web: Web, alice: User
) -> None:
    """Web, relay and worker write only JSON objects of allowed keys, naming no patient or file."""
    worker = start(processes, "worker", "worker", "--concurrency", "2")
    relay = start(processes, "relay", "relay", "--interval", "0.1")
    codes = [post(web, alice, path) for path in DICOM_FIXTURES]
    assert codes == [status.HTTP_202_ACCEPTED] * len(DICOM_FIXTURES)
    # Refusals are logged too: a repeat, a cut pixel data, a cut header.
    first = DICOM_FIXTURES[0]
    assert post(web, alice, first) == status.HTTP_200_OK
    assert post(web, alice, first, first.read_bytes()[:-2]) == status.HTTP_400_BAD_REQUEST
    assert post(web, alice, first, first.read_bytes()[:400]) == status.HTTP_400_BAD_REQUEST
    wait_for(
        lambda: Job.objects.filter(state="succeeded").count() == len(DICOM_FIXTURES),
        what="every fixture's job to succeed",
    )
    for process in (web.process, relay, worker):
        stop(process)

    secrets = set().union(*map(secrets_of, DICOM_FIXTURES))
    allowed = RECORD_KEYS | set(JSON_FIELDS)
    for name in ("web", "relay", "worker"):
        out, err = (path.read_text() for path in streams(processes, name))
        assert out, f"{name} logged nothing"
        for line in out.splitlines():
            record = json.loads(line)
            assert isinstance(record, dict), f"{name}: {line}"
            assert set(record) <= allowed, f"{name}: {sorted(set(record) - allowed)} in {line}"
        leaked = sorted(secret for secret in secrets if secret in out + err)
        assert leaked == [], f"{name} wrote {leaked}"
    worker_log = streams(processes, "worker")[0].read_text().splitlines()
    events = {json.loads(line)["event"] for line in worker_log}
    assert {"job.claimed", "job.succeeded", "task.done"} <= events
