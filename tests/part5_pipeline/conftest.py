"""Fixtures of the pipeline tests: a real broker, real worker processes, a faults folder.

Nothing stands in for the queue, the database or the storage: the broker is
the embedded Redis or RabbitMQ (tests marked with :data:`each_broker` run on
both), the workers are ``python -m exam worker`` processes on the test
database, and storage is a folder of the test's own.  Tests that run workers
use ``transactional_db`` so that what they commit is visible to the other
processes.  The processes log JSON lines; :meth:`Processes.events` reads them.

RabbitMQ is the one at ``EXAM_TEST_RABBITMQ_URL`` (default
``amqp://guest:guest@localhost:5672``, as ``.ci/run`` starts it); each session
works in a virtual host of its own, made with ``rabbitmqctl`` and deleted
afterwards, so two sessions never consume each other's messages.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import redis
from celery import Celery
from django.contrib.auth.models import User
from kombu import Connection
from kombu.exceptions import OperationalError
from pydicom import dcmread
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGBaseline8Bit, generate_uid
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from exam.pipeline.broker import EmbeddedBroker, start_embedded

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
SAMPLE = FIXTURES / "sample-01-dicom.dcm"
WAIT_SECONDS = 60.0
STOP_SECONDS = 20.0
QUEUES = ("s", "m", "l")
RABBITMQ_URL = os.environ.get("EXAM_TEST_RABBITMQ_URL", "").strip() or (
    "amqp://guest:guest@localhost:5672"
)

#: Runs a test once on each broker: the embedded Redis, and RabbitMQ's quorum queues.
each_broker = pytest.mark.parametrize(
    "broker_url",
    ["redis", pytest.param("rabbitmq", marks=pytest.mark.req("P5.PIPE.RABBIT.1"))],
    indirect=True,
)


@pytest.fixture(scope="session")
def redis_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """The embedded Redis broker, for the whole session."""
    broker = start_embedded(tmp_path_factory.mktemp("broker"))
    yield broker
    broker.stop()


def rabbitmqctl(*arguments: str) -> str:
    """Run ``rabbitmqctl ARGUMENTS`` quietly and return its output; raise if it fails."""
    return subprocess.run(
        ["rabbitmqctl", "-q", *arguments], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def rabbitmq_queues(vhost: str) -> dict[str, dict[str, Any]]:
    """The queues of ``vhost`` as RabbitMQ reports them: name -> {"type", "arguments"}."""
    listing = json.loads(
        rabbitmqctl("list_queues", "-p", vhost, "name", "type", "arguments", "--formatter", "json")
    )
    return {
        queue["name"]: {
            "type": queue["type"],
            "arguments": {name: value for name, _, value in queue["arguments"]},
        }
        for queue in listing
    }


@pytest.fixture(scope="session")
def rabbitmq_url() -> Iterator[str]:
    """A virtual host of this session's own; a skip (a failure in CI) when RabbitMQ is not here."""
    try:
        with Connection(RABBITMQ_URL, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
        if shutil.which("rabbitmqctl") is None:
            raise OSError("rabbitmqctl is not installed")
    except (OSError, OperationalError) as error:
        reason = f"needs RabbitMQ at {RABBITMQ_URL} (.ci/run starts it): {error}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    vhost = f"exam-test-{os.getpid()}"
    user = urlsplit(RABBITMQ_URL).username or "guest"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    yield f"{RABBITMQ_URL.rstrip('/')}/{vhost}"
    rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
def broker_url(request: pytest.FixtureRequest, settings: Any) -> Iterator[str]:
    """The broker the test's processes use (Redis unless parametrized), emptied first.

    Celery in this process points at it too, for remote control (ping) and
    for publishing from the test (Redis only: on RabbitMQ only the relay
    process publishes, as it declares the quorum queues the workers expect).
    """
    from exam.pipeline.tasks import app

    kind = getattr(request, "param", "redis")
    if kind == "rabbitmq":
        url = request.getfixturevalue("rabbitmq_url")
        with Connection(url) as connection:
            for queue in QUEUES:
                # A queue no process has declared yet holds nothing to purge.
                with contextlib.suppress(*connection.channel_errors):
                    connection.channel().queue_purge(queue)
    else:
        broker = request.getfixturevalue("redis_broker")
        url = broker.url
        # Queues and the unacknowledged messages a killed worker left behind.
        redis.Redis(unix_socket_path=str(broker.socket)).flushdb()
    settings.CELERY_BROKER_URL = url
    previous = app.conf.broker_url
    app.conf.broker_url = url
    yield url
    app.conf.broker_url = previous


@pytest.fixture
def storage_dir(tmp_path: Path, settings: Any) -> Path:
    """A storage folder of the test's own (Django's default storage points at it)."""
    folder = tmp_path / "storage"
    folder.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }
    return folder


@pytest.fixture
def faults_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fault-injection folder (exam.pipeline.faults), for this process and its children."""
    folder = tmp_path / "faults"
    folder.mkdir()
    monkeypatch.setenv("EXAM_FAULTS_DIR", str(folder))
    return folder


@pytest.fixture
def alice(transactional_db: None) -> User:
    """A user with an API token."""
    user = User.objects.create_user("alice", password="correct horse")
    Token.objects.create(user=user)
    return user


@pytest.fixture
def bob(transactional_db: None) -> User:
    """Another user."""
    user = User.objects.create_user("bob", password="battery staple")
    Token.objects.create(user=user)
    return user


def client_for(user: User) -> APIClient:
    """An API client authenticated with ``user``'s token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
    return client


def upload(client: APIClient, path: Path, **headers: str) -> Any:
    """POST the DICOM file at ``path`` to /api/instances/ as the raw body."""
    return client.generic(
        "POST",
        "/api/instances/",
        path.read_bytes(),
        content_type="application/dicom",
        HTTP_X_FILENAME=path.name,
        **headers,
    )


def copies(folder: Path, count: int, source: Path = SAMPLE) -> list[Path]:
    """``count`` copies of ``source`` in ``folder``, each with a new SOP Instance UID."""
    paths = []
    for number in range(count):
        dataset = dcmread(source)
        dataset.SOPInstanceUID = generate_uid()
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        paths.append(folder / f"copy-{number:02d}.dcm")
        dataset.save_as(paths[-1])
    return paths


def undecodable_copy(folder: Path) -> Path:
    """A copy of the sample whose header is valid but whose JPEG Baseline fragments are no JPEG."""
    dataset = dcmread(SAMPLE)
    dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    dataset.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    dataset.BitsAllocated = dataset.BitsStored = 8
    dataset.HighBit = 7
    dataset.PixelData = encapsulate([b"\xff\xd8" + bytes(range(256)) * 4])
    dataset["PixelData"].VR = "OB"
    path = folder / "garbage-jpeg.dcm"
    dataset.save_as(path, enforce_file_format=True)
    return path


def without_patient_id(folder: Path) -> Path:
    """A copy of the sample whose header has no Patient ID (a study record needs one)."""
    dataset = dcmread(SAMPLE)
    dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    del dataset.PatientID
    path = folder / "no-patient-id.dcm"
    dataset.save_as(path, enforce_file_format=True)
    return path


#: Files the worker cannot process, each with the job's error code and reason.
UNPROCESSABLE = [
    pytest.param(
        undecodable_copy,
        "undecodable",
        "the pixel data could not be decoded as JPEG Baseline (Process 1)",
        id="undecodable-pixels",
    ),
    pytest.param(
        without_patient_id,
        "unreadable",
        "no usable PatientID (0010,0020): patient_id must be a non-empty string, got None",
        id="no-patient-id",
    ),
]


def database_url() -> str:
    """A libpq URL of the test database, for the processes the tests start."""
    from django.db import connection

    entry = connection.settings_dict
    host = quote(entry["HOST"], safe="") if entry["HOST"].startswith("/") else entry["HOST"]
    port = f":{entry['PORT']}" if entry["PORT"] else ""
    password = f":{quote(entry['PASSWORD'], safe='')}" if entry["PASSWORD"] else ""
    return f"postgresql://{entry['USER']}{password}@{host}{port}/{entry['NAME']}"


@dataclass
class Processes:
    """Real pipeline processes started by a test, all stopped (killed if need be) after it.

    Each runs in a process group of its own (a worker's pool processes with
    it), logs JSON lines to ``<log_dir>/<name>.log``, and gets ``env`` plus
    the overrides it was started with.
    """

    env: dict[str, str]
    log_dir: Path
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def worker(
        self,
        name: str,
        *,
        concurrency: int = 1,
        queues: str = "s,m,l",
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``python -m exam worker`` and wait until it answers a ping."""
        return self.workers([name], concurrency=concurrency, queues=queues, env=env)[name]

    def workers(
        self,
        names: list[str],
        *,
        concurrency: int = 1,
        queues: str = "s,m,l",
        env: dict[str, str] | None = None,
    ) -> dict[str, subprocess.Popen[bytes]]:
        """Start one ``python -m exam worker`` per name at once; wait until all answer a ping."""
        options = ["--queues", queues, "--concurrency", str(concurrency)]
        started = {
            name: self._start(name, ["worker", "--name", f"{name}@test", *options], env)
            for name in names
        }
        waiting = set(names)
        deadline = time.monotonic() + WAIT_SECONDS
        # An app of its own: the project's app keeps the connection pool of the
        # first broker it used, and would ping there.
        with Celery(broker=self.env["CELERY_BROKER_URL"], set_as_current=False) as probe:
            while waiting:
                replies = probe.control.ping(timeout=0.5)
                waiting -= {name for name in names if any(f"{name}@test" in r for r in replies)}
                for name in waiting:
                    log = self.log_dir / f"{name}.log"
                    assert started[name].poll() is None, f"{name} exited: see {log}"
                    assert time.monotonic() < deadline, f"{name} never answered a ping"
        return started

    def relay(
        self, name: str = "relay", *, sweep_every: float = 1, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``python -m exam relay``: relay every 0.1 s, sweep every ``sweep_every`` s."""
        arguments = ["relay", "--interval", "0.1", "--sweep-every", str(sweep_every)]
        return self._start(name, arguments, env)

    def children(self, process: subprocess.Popen[bytes]) -> list[int]:
        """The PIDs of ``process``'s children (a worker's pool processes)."""
        found = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True)
        return [int(pid) for pid in found.stdout.split()]

    def events(self, name: str, event: str | None = None, **fields: object) -> list[dict[str, Any]]:
        """The JSON log records process ``name`` wrote so far, of ``event`` with ``fields``."""
        records = []
        for line in (self.log_dir / f"{name}.log").read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue  # Celery's banner, or a line cut by a kill
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if (event is None or record.get("event") == event) and all(
                record.get(key) == value for key, value in fields.items()
            ):
                records.append(record)
        return records

    def _start(
        self, name: str, arguments: list[str], env: dict[str, str] | None
    ) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "exam", *arguments],
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        """Stop every process still running with SIGTERM (SIGKILL after 20 s).

        A graceful stop lets coverage save what the processes ran; a stopped
        process group is continued first.
        """
        running = [process for process in self.started if process.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):  # it may have ended meanwhile
                os.killpg(process.pid, signal.SIGCONT)
                os.killpg(process.pid, signal.SIGTERM)
        for process in running:
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def processes(
    broker_url: str, storage_dir: Path, faults_dir: Path, tmp_path: Path, transactional_db: None
) -> Iterator[Processes]:
    """Start real worker and relay processes on the test database, broker and storage."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "exam.api.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url,
        "EXAM_STORAGE_DIR": str(storage_dir),
        "EXAM_FAULTS_DIR": str(faults_dir),
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    running = Processes(env, logs)
    yield running
    running.stop_all()


def wait_for(predicate: Callable[[], Any], *, timeout: float = WAIT_SECONDS, what: str = "") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what or predicate}"
        time.sleep(0.05)
