"""Fault-injection points, for the crash tests: stop or kill a process where a crash matters.

The crash tests kill real processes (SIGKILL, SIGSTOP) at the moments that
matter: a worker holding a task, the relay between publishing and marking,
ingest between storing a file and committing it.  To hit such a moment
exactly, the code calls :func:`checkpoint` there.  Nothing happens unless
``EXAM_FAULTS_DIR`` is set (only the tests set it) and a test armed the point:

``<dir>/<name>.pause``
    The first process to arrive takes the file (an atomic rename to
    ``<name>.<pid>.reached``, so exactly one process pauses), then waits until
    ``<dir>/<name>.go`` exists.  The test sees which process arrived, and
    kills it, stops it, or lets it go on.
``<dir>/<name>.crash``
    Every process arriving with a ``key`` the file names (one per line; an
    empty file names all) kills itself with SIGKILL, as the kernel's OOM
    killer or a crashing decoder would.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

POLL_SECONDS = 0.02


def checkpoint(name: str, key: str = "") -> None:
    """Pause or die here if a test armed ``name`` (for ``key``); otherwise return at once."""
    folder = os.environ.get("EXAM_FAULTS_DIR")
    if not folder:
        return
    crash = Path(folder, f"{name}.crash")
    if crash.exists():
        keys = crash.read_text().split()
        if not keys or key in keys:
            os.kill(os.getpid(), signal.SIGKILL)
    try:
        os.rename(Path(folder, f"{name}.pause"), Path(folder, f"{name}.{os.getpid()}.reached"))
    except FileNotFoundError:
        return
    while not Path(folder, f"{name}.go").exists():
        time.sleep(POLL_SECONDS)
