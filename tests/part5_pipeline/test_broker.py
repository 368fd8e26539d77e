"""The broker: the embedded Redis (exam.pipeline.broker) and the queues Celery makes on RabbitMQ.

The embedded broker's tests run the real commands in subprocesses with a
broker folder of their own and no ``CELERY_BROKER_URL``, and look at the
``redis-server`` processes and the Unix socket they leave behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from exam.pipeline.broker import SOCKET_NAME, BrokerError, EmbeddedBroker, start_embedded

from .conftest import WAIT_SECONDS, Processes, database_url, rabbitmq_queues, wait_for


def answers(socket: Path) -> bool:
    """True when a Redis server answers a ping on ``socket``."""
    client = redis.Redis(
        unix_socket_path=str(socket), socket_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def redis_servers(parent: int) -> list[int]:
    """The PIDs of the redis-server processes that ``parent`` started."""
    found = subprocess.run(
        ["pgrep", "-P", str(parent), "redis-server"], capture_output=True, text=True
    )
    return [int(pid) for pid in found.stdout.split()]


@pytest.fixture
def embedded_env(tmp_path: Path, transactional_db: None) -> dict[str, str]:
    """The environment of a command on the test database with no broker configured."""
    env = {key: value for key, value in os.environ.items() if key != "CELERY_BROKER_URL"}
    return env | {
        "DJANGO_SETTINGS_MODULE": "exam.api.settings",
        "DATABASE_URL": database_url(),
        "EXAM_BROKER_DIR": str(tmp_path / "broker"),
        "EXAM_STORAGE_DIR": str(tmp_path / "storage"),
    }


@pytest.fixture
def socket(tmp_path: Path) -> Path:
    """The socket of the embedded broker of ``embedded_env``."""
    return tmp_path / "broker" / SOCKET_NAME


@pytest.fixture
def relay(embedded_env: dict[str, str], socket: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m exam relay`` with no broker configured, once it relays; killed afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "exam", "relay"],
        env=embedded_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # The relay binds its queues to the "jobs" exchange once its signal handlers are set.
        wait_for(
            lambda: (
                answers(socket)
                and redis.Redis(unix_socket_path=str(socket)).exists("_kombu.binding.jobs")
            ),
            what="the relay to start relaying",
        )
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


class TestEmbeddedBroker:
    """Tests for start_embedded() and the commands that use it."""

    @pytest.mark.slow
    @pytest.mark.req("P5.PIPE.BROKER.1")
    def test_importing_the_pipeline_starts_no_broker(
        self, embedded_env: dict[str, str], tmp_path: Path
    ) -> None:
        """Setting Django up and importing the tasks, relay and broker modules starts no process."""
        script = (
            "import os, subprocess, django\n"
            "django.setup()\n"
            "import exam.pipeline.broker, exam.pipeline.relay, exam.pipeline.tasks\n"
            "print(subprocess.run(['pgrep', '-P', str(os.getpid())],"
            " capture_output=True, text=True).stdout, end='')\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script], env=embedded_env, capture_output=True, text=True
        )
        assert (done.returncode, done.stdout) == (0, "")
        assert not (tmp_path / "broker").exists()

    @pytest.mark.slow
    @pytest.mark.req("P5.PIPE.BROKER.1")
    def test_a_command_that_needs_a_broker_starts_one_and_stops_it_on_the_way_out(
        self, relay: subprocess.Popen[bytes], socket: Path
    ) -> None:
        """The relay starts redis-server on a Unix socket, no TCP port; SIGTERM stops both."""
        [server] = redis_servers(relay.pid)
        assert redis.Redis(unix_socket_path=str(socket)).config_get("port") == {"port": "0"}
        relay.send_signal(signal.SIGTERM)
        assert relay.wait(WAIT_SECONDS) == 0
        assert not answers(socket)
        assert not Path(f"/proc/{server}").exists()

    @pytest.mark.slow
    @pytest.mark.req("P5.PIPE.BROKER.1")
    def test_the_broker_stops_when_the_process_that_started_it_is_killed(
        self, relay: subprocess.Popen[bytes], socket: Path
    ) -> None:
        """SIGKILL leaves the relay no time to stop its broker: the kernel's SIGTERM does it."""
        [server] = redis_servers(relay.pid)
        relay.kill()
        relay.wait()
        wait_for(lambda: not Path(f"/proc/{server}").exists(), what="redis-server to exit")
        assert not answers(socket)

    @pytest.mark.slow
    @pytest.mark.req("P5.PIPE.BROKER.1")
    def test_a_second_command_joins_the_running_broker_and_leaves_it_running(
        self, relay: subprocess.Popen[bytes], socket: Path, embedded_env: dict[str, str]
    ) -> None:
        """python -m exam sweeper, run beside the relay, uses its broker and stops nothing."""
        swept = subprocess.run(
            [sys.executable, "-m", "exam", "sweeper"],
            env=embedded_env,
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS,
        )
        assert swept.returncode == 0
        assert swept.stdout.splitlines()[-1] == "requeued 0 job(s), deleted 0 orphaned object(s)"
        assert answers(socket)
        assert len(redis_servers(relay.pid)) == 1

    @pytest.mark.req("P5.PIPE.BROKER.1")
    def test_a_socket_file_nobody_answers_on_is_replaced_by_a_new_broker(
        self, tmp_path: Path
    ) -> None:
        """A socket left by a broker that died is no broker: start_embedded starts its own."""
        (tmp_path / SOCKET_NAME).write_bytes(b"")
        broker = start_embedded(tmp_path)
        try:
            assert broker.process is not None
            assert answers(broker.socket)
        finally:
            broker.stop()
        assert not answers(broker.socket)

    @pytest.mark.req("P5.PIPE.BROKER.1")
    def test_a_broker_that_exits_at_once_is_an_error_naming_its_log(self, tmp_path: Path) -> None:
        """redis-server stops when it cannot open its log; the error says where to look."""
        (tmp_path / "redis.log").mkdir()
        running = redis_servers(os.getpid())
        with pytest.raises(BrokerError) as error:
            start_embedded(tmp_path)
        assert str(error.value) == f"the embedded broker did not start; see {tmp_path}/redis.log"
        assert redis_servers(os.getpid()) == running

    @pytest.mark.req("P5.PIPE.BROKER.1")
    def test_a_broker_that_does_not_answer_in_time_is_stopped_and_an_error(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A socket path too long for Unix is cut short by redis-server: it never answers here."""
        monkeypatch.setattr("exam.pipeline.broker.START_TIMEOUT", 1.0)
        folder = tmp_path / ("x" * 120)
        running = redis_servers(os.getpid())
        with pytest.raises(BrokerError) as error:
            start_embedded(folder)
        assert str(error.value) == f"the embedded broker did not start; see {folder}/redis.log"
        assert redis_servers(os.getpid()) == running

    @pytest.mark.req("P5.PIPE.BROKER.1")
    def test_start_embedded_joins_the_broker_already_answering_in_its_folder(
        self, redis_broker: EmbeddedBroker
    ) -> None:
        """The second start owns no process, has the same URL, and its stop leaves the server up."""
        joined = start_embedded(redis_broker.folder)
        assert (joined.process, joined.url) == (None, redis_broker.url)
        joined.stop()
        assert answers(redis_broker.socket)
        assert redis_broker.process is not None
        assert redis_broker.process.poll() is None


@pytest.mark.slow
@pytest.mark.req("P5.PIPE.RABBIT.1")
@pytest.mark.parametrize("broker_url", ["rabbitmq"], indirect=True)
def test_celery_declares_quorum_queues_with_a_delivery_limit_on_rabbitmq(
    broker_url: str, processes: Processes
) -> None:
    """The relay and the workers declare s, m and l as quorum queues, delivery limit 10."""
    processes.relay()
    processes.worker("w1")
    queues = rabbitmq_queues(unquote(urlsplit(broker_url).path[1:]))
    assert {name: queues[name] for name in ("s", "m", "l")} == {
        name: {"type": "quorum", "arguments": {"x-queue-type": "quorum", "x-delivery-limit": 10}}
        for name in ("s", "m", "l")
    }
