"""The pipeline's commands: accounts, a worker, the relay, the sweeper and the whole stack.

``python -m exam createuser``/``token`` manage the local accounts that own
uploads; ``worker``, ``relay`` and ``sweeper`` are the processes of a real
deployment, each started on its own (``docker-compose.yml`` runs them so);
``stack`` starts all of them on one machine, with the embedded PostgreSQL
and broker, in the foreground, and stops them all on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from urllib.parse import quote

from exam.logs import get_logger, route_logger

logger = get_logger(__name__)

#: How long ``stack`` gives its processes to stop after SIGTERM before SIGKILL.
STOP_TIMEOUT = 20.0


@dataclass(frozen=True)
class StackOptions:
    """What ``python -m exam stack`` runs."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    concurrency: int = 1
    log_file: Path | None = None
    verbose: bool = False
    #: Run the DIMSE gateway too (``--dimse``), on this port.
    dimse: bool = False
    dimse_port: int = 11112


@dataclass(frozen=True)
class GatewayOptions:
    """What ``python -m exam dimse`` listens on, and the AE title it answers to."""

    ae_title: str = "EXAM"
    host: str = "127.0.0.1"
    port: int = 11112


def create_user(
    name: str, password: str, *, staff: bool = False, ae_title: str | None = None
) -> bool:
    """Create the local account ``name``, or give an existing one this password; True if new.

    ``staff`` makes the account staff; without it an existing account keeps
    what it was, so resetting a password never takes staff rights away.
    ``ae_title`` is a calling AE title whose C-STOREs the DIMSE gateway
    stores for this account (taken from the account that had it, if any).
    """
    with services():
        from django.contrib.auth.models import User

        from exam.pipeline.models import AeTitle

        user, created = User.objects.get_or_create(username=name)
        user.set_password(password)
        user.is_staff = user.is_staff or staff
        user.save()
        if ae_title is not None:
            AeTitle.objects.update_or_create(title=ae_title, defaults={"owner": user})
    logger.info("account %s %s", "created" if created else "updated", user.pk)
    return created


def user_token(name: str) -> str | None:
    """The API token of account ``name`` (made on first use); None, logged, when there is none."""
    with services():
        from django.contrib.auth.models import User
        from rest_framework.authtoken.models import Token

        user = User.objects.filter(username=name).first()
        if user is None:
            logger.error("no account named %r (create it with python -m exam createuser)", name)
            return None
        token, _ = Token.objects.get_or_create(user=user)
        return str(token.key)


def run_worker(*, queues: str, concurrency: int, name: str | None) -> bool:
    """Run a Celery worker on ``queues`` with ``concurrency`` pool processes until stopped."""
    with services(broker=True):
        from celery.signals import setup_logging
        from django.db import connections

        from exam.pipeline.tasks import app

        # Celery's records go where ours go (exam.logs), instead of Celery's own set-up.
        setup_logging.connect(lambda **kwargs: route_logger("celery"), weak=False)

        # Pool processes fork from here: none may inherit this connection.
        connections.close_all()
        # stdout carries JSON lines only: no banner (--quiet), and Celery's
        # shutdown notices, printed to sys.__stdout__, go to stderr.
        sys.__stdout__ = sys.__stderr__  # type: ignore[misc]
        argv = [
            "--quiet",
            "worker",
            "--queues",
            queues,
            "--concurrency",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ]
        if name:
            argv += ["--hostname", name]
        app.worker_main(argv)
    return True


def run_relay(*, interval: float, sweep_every: float) -> bool:
    """Run the outbox relay (and the sweeper every ``sweep_every`` seconds) until SIGTERM/SIGINT."""
    with services(broker=True):
        from exam.pipeline import relay

        stop = threading.Event()
        with _stopping_on_signals(stop):
            relay.run(stop, interval=interval, sweep_every=sweep_every)
    return True


def run_dimse(options: GatewayOptions) -> bool:
    """Run the DIMSE gateway (C-STORE and C-ECHO SCP) until SIGTERM/SIGINT."""
    with services():
        from exam.pipeline import dimse

        server = dimse.start(ae_title=options.ae_title, host=options.host, port=options.port)
        logger.info(
            "DIMSE gateway %s listening on %s port %d",
            options.ae_title,
            *server.server_address[:2],
            extra={"event": "dimse.listening"},
        )
        stop = threading.Event()
        with _stopping_on_signals(stop):
            while not stop.wait(0.5):
                pass
        server.shutdown()
    return True


def run_sweep() -> bool:
    """Sweep once: requeue stuck jobs, delete orphaned objects; print what was done."""
    with services(broker=True):
        from exam.pipeline.relay import sweep

        report = sweep()
    print(  # noqa: T201 - what the command reports
        f"requeued {report.requeued} job(s), deleted {report.orphans_deleted} orphaned object(s)"
    )
    return True


def run_stack(options: StackOptions) -> bool:
    """Start the database, broker, web server, relay and workers; stop them all on Ctrl-C.

    The web server's address is taken here first (port 0: any free port) and
    its URL printed on stderr -- stdout carries the processes' JSON lines.
    """
    try:
        holder = _reserve(options.host, options.port)
    except OSError as error:
        logger.error(
            "cannot listen on %s port %d: %s",
            options.host,
            options.port,
            error.strerror,
            extra={"event": "stack.address_unavailable"},
        )
        return False
    with (
        holder,
        services(broker=True) as environment,
        # Each process writes its metrics here; the web processes' /metrics adds them up.
        tempfile.TemporaryDirectory(prefix="exam-metrics-") as metrics,
    ):
        port = holder.getsockname()[1]
        environment = {**environment, "PROMETHEUS_MULTIPROC_DIR": metrics}
        children = _start_children(replace(options, port=port), environment)
        print(  # noqa: T201 - for the person who started the stack
            f"the stack's API: http://{options.host}:{port}/api/, its portal: "
            f"http://{options.host}:{port}/ (Ctrl-C stops the stack)",
            file=sys.stderr,
            flush=True,
        )
        stop = threading.Event()
        with _stopping_on_signals(stop):
            failed = _supervise(children, stop)
        _stop_children(children)
    return not failed


@contextmanager
def services(*, broker: bool = False) -> Iterator[dict[str, str]]:
    """Set Django up with its database (and the broker); yield the environment a child needs.

    The embedded PostgreSQL and broker are started when none is configured,
    and stopped on the way out if this process started them.
    """
    from exam.api.commands import database

    with database():
        from django.conf import settings
        from django.db import connection

        from exam.pipeline.broker import broker_url

        entry = connection.settings_dict
        host = quote(entry["HOST"], safe="") if entry["HOST"].startswith("/") else entry["HOST"]
        port = f":{entry['PORT']}" if entry["PORT"] else ""
        password = f":{quote(entry['PASSWORD'], safe='')}" if entry["PASSWORD"] else ""
        environment = {
            "DATABASE_URL": f"postgresql://{entry['USER']}{password}@{host}{port}/{entry['NAME']}",
        }
        embedded = None
        if broker:
            url, embedded = broker_url(settings.EXAM_BROKER_DIR)
            settings.CELERY_BROKER_URL = url
            from exam.pipeline.tasks import app

            app.conf.broker_url = url
            environment["CELERY_BROKER_URL"] = url
        try:
            yield environment
        finally:
            if embedded is not None:
                embedded.stop()


def _reserve(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``, not listening, held for the web server.

    Bound with ``SO_REUSEADDR`` as gunicorn binds, it lets gunicorn listen on
    the port and keeps every other program off it meanwhile, so the port
    chosen for 0 is still free when gunicorn binds it.
    """
    holder = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind((host, port))
    except OSError:
        holder.close()
        raise
    return holder


def _start_children(
    options: StackOptions, environment: dict[str, str]
) -> dict[str, subprocess.Popen[bytes]]:
    env = {**os.environ, **environment}
    shared = [
        *(["--log-file", str(options.log_file)] if options.log_file else []),
        *(["--verbose"] if options.verbose else []),
    ]
    exam = [sys.executable, "-m", "exam"]
    commands = {
        "web": [
            *exam,
            "serve",
            "--host",
            options.host,
            "--port",
            str(options.port),
            "--log-json",
            *shared,
        ],
        "relay": [*exam, "relay", *shared],
    }
    if options.dimse:
        port = ["--host", options.host, "--port", str(options.dimse_port)]
        commands["dimse"] = [*exam, "dimse", *port, *shared]
    for number in range(1, options.workers + 1):
        commands[f"worker{number}"] = [
            *exam,
            "worker",
            "--concurrency",
            str(options.concurrency),
            "--name",
            f"worker{number}@%h",
            *shared,
        ]
    children = {}
    for name, command in commands.items():
        # Their own process group: Ctrl-C reaches the stack, which stops them in order.
        children[name] = subprocess.Popen(command, env=env, start_new_session=True)
        logger.info("started %s (pid %d)", name, children[name].pid)
    return children


def _supervise(children: dict[str, subprocess.Popen[bytes]], stop: threading.Event) -> bool:
    """Wait until ``stop`` or a child's unexpected exit; True when a child failed."""
    while not stop.wait(0.5):
        for name, child in children.items():
            if child.poll() is not None:
                logger.error("%s exited with status %s; stopping the stack", name, child.returncode)
                return True
    return False


def _stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for name, child in children.items():
        try:
            child.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop in %.0f s; killing it", name, STOP_TIMEOUT)
            child.kill()
            child.wait()


@contextmanager
def _stopping_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set ``stop`` on SIGTERM and SIGINT while inside, instead of raising."""

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
