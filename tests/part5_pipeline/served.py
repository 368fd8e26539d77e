"""Real ``python -m exam serve`` processes for the tests that need HTTP as a socket carries it.

The Django test client hands a view a finished body; only a served process
shows chunked bodies, bodies held open half-sent, concurrent requests across
processes, and a process's own memory.  Each server listens on a port this
test process reserves first (bound, not listening, with ``SO_REUSEADDR`` as
gunicorn binds), so no other process can take the port between the choice
and gunicorn's bind, whatever the server logs.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from .conftest import database_url, wait_for


@dataclass
class Web:
    """A served API: its address, its gunicorn arbiter and the file its output goes to."""

    host: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://{self.host}:{self.port}"

    def connection(self, timeout: float = 30) -> http.client.HTTPConnection:
        """A new HTTP connection to the server."""
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def workers(self) -> list[int]:
        """The PIDs of gunicorn's worker processes."""
        found = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in found.stdout.split()]


@contextmanager
def reserved_port(host: str = "127.0.0.1") -> Iterator[int]:
    """A free port held (bound, not listening) until the block ends."""
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind((host, 0))
        yield holder.getsockname()[1]


def answers(web: Web) -> bool:
    """Whether the server answers an HTTP request (any status)."""
    connection = web.connection(timeout=2)
    try:
        connection.request("GET", "/api/jobs/")
        connection.getresponse().read()
    except OSError:
        return False
    finally:
        connection.close()
    return True


@contextmanager
def served(
    env: dict[str, str], log: Path, *arguments: str, errors: Path | None = None
) -> Iterator[Web]:
    """Run ``python -m exam serve ARGUMENTS`` on a reserved port until the block ends.

    The server gets ``env``, writes stdout to ``log`` and stderr there too
    or to ``errors``, and is stopped with SIGTERM (its process group killed
    if it does not stop).
    """
    with ExitStack() as stack:
        port = stack.enter_context(reserved_port())
        output = stack.enter_context(log.open("wb"))
        process = subprocess.Popen(
            [sys.executable, "-m", "exam", "serve", "--port", str(port), *arguments],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT if errors is None else stack.enter_context(errors.open("wb")),
            start_new_session=True,
        )
        stack.callback(_stop, process)
        web = Web("127.0.0.1", port, process, log)
        wait_for(lambda: process.poll() is not None or answers(web), what=f"{log.stem} to answer")
        assert process.poll() is None, f"the server exited:\n{log.read_text()}"
        yield web


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(name="web")
def served_web(storage_dir: Path, tmp_path: Path, alice: User) -> Iterator[Web]:
    """One served API process (``python -m exam serve``) with the default limits,
    on the test database and storage, spooling into the test's folder."""
    spool = tmp_path / "spool"
    spool.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "exam.api.settings",
        "DATABASE_URL": database_url(),
        "EXAM_STORAGE_DIR": str(storage_dir),
        "EXAM_SPOOL_DIR": str(spool),
    }
    with served(env, tmp_path / "web.log", "--workers", "1") as api:
        yield api
