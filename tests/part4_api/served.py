"""Run ``python -m exam serve`` as a real subprocess for the tests that need a live server."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .paths import ROOT

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
LISTENING = re.compile(r"API listening at (http://[\d.]+:\d+)/api/")


@dataclass
class ServedApi:
    """A running ``python -m exam serve`` and what it has written to stderr so far."""

    process: subprocess.Popen[str]
    url: str = ""
    stderr: list[str] = field(default_factory=list)
    listening: threading.Event = field(default_factory=threading.Event)

    def drain(self) -> None:
        """Read stderr to its end (so the pipe never fills), noting the address."""
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)
            match = LISTENING.search(line)
            if match and not self.listening.is_set():
                self.url = match.group(1)
                self.listening.set()
        self.listening.set()  # the server died before listening: stop waiting

    def wait_listening(self) -> None:
        """Return once the server listens; raise, with what it wrote, if it never does."""
        if not self.listening.wait(START_TIMEOUT) or not self.url:
            raise RuntimeError("the server did not start:\n" + "".join(self.stderr))

    def stop(self) -> int:
        """SIGTERM the server and return its exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(STOP_TIMEOUT)


def environment(**overrides: str) -> dict[str, str]:
    """This process's environment without any database variable, plus ``overrides``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "EXAM_PGDATA"}
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env | overrides


def database_url(settings_dict: Mapping[str, Any]) -> str:
    """A DATABASE_URL for the database Django is connected to (socket or TCP)."""
    user = quote(settings_dict["USER"] or "", safe="")
    password = quote(settings_dict["PASSWORD"] or "", safe="")
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    host = settings_dict["HOST"]
    name = quote(settings_dict["NAME"], safe="")
    return f"postgresql://{user}:{password}@{port}/{name}?host={quote(host, safe='/')}"


@contextmanager
def started_api(env: Mapping[str, str], *args: str) -> Iterator[ServedApi]:
    """Start ``python -m exam serve --port 0 -v ARGS`` and yield it at once, listening or not.

    The server is stopped on the way out if the test has not stopped it.
    """
    command = [sys.executable, "-m", "exam", "serve", "--port", "0", "-v", *args]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = ServedApi(process)
    reader = threading.Thread(target=served.drain, daemon=True)
    reader.start()
    try:
        yield served
    finally:
        if process.poll() is None:
            served.stop()
        reader.join(STOP_TIMEOUT)


@contextmanager
def served_api(env: Mapping[str, str], *args: str) -> Iterator[ServedApi]:
    """Start ``python -m exam serve --port 0 -v ARGS`` and yield it once it listens."""
    with started_api(env, *args) as served:
        served.wait_listening()
        yield served
