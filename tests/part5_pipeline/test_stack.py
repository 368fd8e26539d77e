"""``python -m exam stack``: the whole pipeline from one command, and nothing left after Ctrl-C.

The stack runs as a user runs it: on a fresh data folder (its own embedded
PostgreSQL and broker), accounts made with ``createuser`` and ``token``, a
fixture uploaded over HTTP.  Every process it started -- found while it runs
as its descendants, plus the embedded PostgreSQL, which detaches -- must be
gone after one SIGINT to its process group, as Ctrl-C sends it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from rest_framework import status

from .bodies import SAMPLE
from .conftest import wait_for

pytestmark = [pytest.mark.slow]

URL_LINE = re.compile(r"the stack's API: (http://[\d.]+:\d+)/api/")


@dataclass
class Stack:
    """A running ``python -m exam stack``: its process, folder, environment and address."""

    process: subprocess.Popen[bytes]
    folder: Path
    env: dict[str, str]
    url: str = ""

    @property
    def stderr(self) -> str:
        """What the stack wrote to stderr so far."""
        return (self.folder / "stack.err").read_text()

    def request(
        self, method: str, path: str, body: bytes | None = None, **headers: str
    ) -> tuple[int, bytes]:
        """Send one request to the stack's API; return the status and the body."""
        address = urlsplit(self.url)
        connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            data = response.read()
            return response.status, data
        finally:
            connection.close()


def fresh_env(folder: Path) -> dict[str, str]:
    """An environment naming no database or broker: the stack starts its own, in ``folder``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
        and not key.startswith("EXAM_")
    }
    return env | {
        "EXAM_PGDATA": str(folder / "pgdata"),
        "EXAM_BROKER_DIR": str(folder / "broker"),
        "EXAM_STORAGE_DIR": str(folder / "storage"),
    }


@pytest.fixture
def folder() -> Iterator[Path]:
    """A folder of the stack's own, outside pytest's tree (PostgreSQL's user must traverse it)."""
    path = Path(tempfile.mkdtemp(prefix="exam-stack-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def stack(folder: Path) -> Iterator[Stack]:
    """``python -m exam stack --port 0 --workers 2``, once it answers; killed if left running."""
    env = fresh_env(folder)
    with (folder / "stack.out").open("wb") as out, (folder / "stack.err").open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "exam", "stack", "--port", "0", "--workers", "2"],
            env=env,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    running = Stack(process, folder, env)
    try:
        match = wait_for(
            lambda: process.poll() is not None or URL_LINE.search(running.stderr),
            timeout=120,
            what="the stack's URL",
        )
        assert process.poll() is None, f"the stack exited:\n{running.stderr}"
        running.url = match.group(1)
        wait_for(lambda: answers(running), timeout=120, what="the stack's API")
        yield running
    finally:
        if process.poll() is None:
            # A failed test: its children run in sessions of their own, so
            # each is killed too, not only the stack's group.
            leftover = started_by(running)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            for pid in alive(leftover):
                os.kill(pid, signal.SIGKILL)


def answers(stack: Stack) -> bool:
    """Whether the stack's API answers."""
    try:
        return stack.request("GET", "/api/jobs/")[0] == status.HTTP_401_UNAUTHORIZED
    except OSError:
        return False


def exam(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m exam ARGUMENTS`` to its end."""
    return subprocess.run(
        [sys.executable, "-m", "exam", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def finished(stack: Stack, path: str, auth: dict[str, str]) -> dict[str, Any] | None:
    """The job at ``path`` once it has ended, else None."""
    job: dict[str, Any] = json.loads(stack.request("GET", path, **auth)[1])
    return job if job["status"] in {"succeeded", "failed", "quarantined"} else None


def start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (to tell it from a later process with its PID), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    # State "Z": a zombie has exited and only waits to be reaped.
    return None if fields[0] == "Z" else fields[19]


def descendants(pid: int) -> set[int]:
    """Every living descendant of process ``pid``."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(entry)) is not None:
            parents.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found.update(children)
        todo.extend(children)
    return found


def _stat(entry: Path) -> str | None:
    try:
        return (entry / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None


def started_by(stack: Stack) -> dict[int, str]:
    """The processes the stack started, with their start times: its tree and PostgreSQL's."""
    pids = descendants(stack.process.pid)
    with contextlib.suppress(FileNotFoundError):
        postmaster = int((stack.folder / "pgdata" / "postmaster.pid").read_text().split()[0])
        pids |= {postmaster} | descendants(postmaster)
    return {pid: started for pid in pids if (started := start_time(pid)) is not None}


def alive(processes: dict[int, str]) -> dict[int, str]:
    """Those of ``processes`` still running (the same process: same PID and start time)."""
    return {pid: started for pid, started in processes.items() if start_time(pid) == started}


def broker_answers(folder: Path) -> bool:
    """Whether the stack's embedded broker still answers on its socket."""
    try:
        return bool(redis.Redis(unix_socket_path=str(folder / "broker" / "redis.sock")).ping())
    except redis.RedisError:
        return False


@pytest.mark.timeout(600)
@pytest.mark.req("P5.PIPE.STACK.1")
def test_an_upload_through_the_stack_succeeds_and_ctrl_c_stops_every_process(
    stack: Stack,
) -> None:
    """Accounts from the commands, an upload over HTTP to success, then SIGINT leaves nothing."""
    made = exam(stack.env | {"EXAM_PASSWORD": "correct horse"}, "createuser", "alice")
    assert made.returncode == 0, made.stderr
    token = exam(stack.env, "token", "alice").stdout.splitlines()[-1]
    auth = {"Authorization": f"Token {token}"}

    code, body = stack.request(
        "POST",
        "/api/instances/",
        SAMPLE.read_bytes(),
        **auth,
        **{"Content-Type": "application/dicom"},
    )
    assert code == status.HTTP_202_ACCEPTED
    job_url = json.loads(body)["job_url"]
    job_path = job_url.removeprefix(stack.url)
    job = wait_for(lambda: finished(stack, job_path, auth), timeout=120, what="the job to end")
    assert (job["status"], job["attempt"]) == ("succeeded", 1)
    code, result = stack.request("GET", job["result_url"].removeprefix(stack.url), **auth)
    assert (code, json.loads(result)["job"]) == (status.HTTP_200_OK, job["id"])
    metrics = stack.request("GET", "/metrics")[1].decode()
    assert 'exam_tasks_total{outcome="succeeded"} 1.0' in metrics.splitlines()

    processes = started_by(stack)
    # The web server and its workers, the relay, two workers and their pool
    # processes, the broker, PostgreSQL: well over a handful.
    assert len(processes) > 10
    assert broker_answers(stack.folder)
    os.killpg(stack.process.pid, signal.SIGINT)
    assert stack.process.wait(120) == 0
    wait_for(lambda: not alive(processes), timeout=60, what="every process to exit")
    assert not broker_answers(stack.folder)
    leftovers = subprocess.run(
        ["pgrep", "-f", str(stack.folder)], capture_output=True, text=True, check=False
    )
    assert leftovers.stdout == ""


@pytest.mark.req("P5.PIPE.STACK.1")
def test_a_port_in_use_stops_the_stack_before_it_starts_anything(folder: Path) -> None:
    """Another program listens on the port: exit 1 with the event logged, no database started."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = exam(fresh_env(folder), "stack", "--port", str(port))
    assert done.returncode == 1
    (line,) = done.stdout.splitlines()
    record = json.loads(line)
    assert (record["level"], record["event"]) == ("ERROR", "stack.address_unavailable")
    assert not (folder / "pgdata").exists()


def child_running(stack: Stack, *words: str) -> int:
    """The PID of the stack's child whose command line holds every one of ``words``."""
    # Split on blanks too: gunicorn and Celery rewrite their titles as one string.
    commands = {
        pid: Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().split()
        for pid in descendants(stack.process.pid)
    }
    for pid, command in commands.items():
        if set(words) <= set(command):
            return pid
    raise AssertionError(f"no child runs {words}: {commands}")


@pytest.mark.timeout(600)
@pytest.mark.req("P5.PIPE.STACK.1")
def test_a_child_that_dies_stops_the_stack_and_one_that_will_not_stop_is_killed(
    stack: Stack,
) -> None:
    """A worker killed: the rest are stopped, a frozen relay killed after the wait; exit 1."""
    processes = started_by(stack)
    relay = child_running(stack, "relay")
    worker = child_running(stack, "worker", "worker1@%h")
    os.kill(relay, signal.SIGSTOP)
    os.killpg(worker, signal.SIGKILL)
    assert stack.process.wait(120) == 1
    wait_for(lambda: not alive(processes), timeout=60, what="every process to exit")
    assert not broker_answers(stack.folder)
    events = [json.loads(line) for line in (stack.folder / "stack.out").read_text().splitlines()]
    assert [event["level"] for event in events if event["logger"] == "exam.pipeline.commands"][
        -2:
    ] == ["ERROR", "WARNING"]
