"""The DICOM interfaces from the shell: ``createuser --ae-title``, ``dimse``, ``stack --dimse``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from pynetdicom import AE
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from exam.cli import build_parser, cmd_dimse
from exam.pipeline.models import AeTitle
from tests.part5_pipeline.conftest import database_url, wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(transactional_db: None) -> dict[str, str]:
    """The commands' environment: the test database, a password for createuser."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "exam.api.settings",
        "DATABASE_URL": database_url(),
        "EXAM_PASSWORD": "correct horse",
    }


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


def echo(port: int, calling: str) -> int | None:
    """The C-ECHO status from ``calling`` to an EXAM gateway on ``port``; None if no association."""
    ae = AE(ae_title=calling)
    ae.add_requested_context(Verification)
    association = ae.associate("127.0.0.1", port, ae_title="EXAM")
    if not association.is_established:
        return None
    status = int(association.send_c_echo().Status)
    association.release()
    return status


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
@pytest.mark.req("P5.DICOM.DIMSE.1")
def test_createuser_maps_an_ae_title_to_the_account_and_can_move_it(env: dict[str, str]) -> None:
    """--ae-title maps the title to the account; given to another account, it moves there."""
    assert exam(env, "createuser", "alice", "--ae-title", "CT_SCANNER").returncode == 0
    assert AeTitle.objects.get(title="CT_SCANNER").owner == User.objects.get(username="alice")
    assert exam(env, "createuser", "bob", "--ae-title", "CT_SCANNER").returncode == 0
    assert AeTitle.objects.get(title="CT_SCANNER").owner == User.objects.get(username="bob")
    assert AeTitle.objects.count() == 1


@pytest.mark.req("P5.DICOM.DIMSE.1")
@pytest.mark.parametrize(
    "title",
    ["ABCDEFGHIJKLMNOPQ", "   ", "CT\\1", "CT\x1b1"],
    ids=["17-characters", "blank", "backslash", "control-character"],
)
def test_createuser_refuses_what_is_no_ae_title(
    capsys: pytest.CaptureFixture[str], title: str
) -> None:
    """argparse refuses it, saying what an AE title is, with exit status 2."""
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["createuser", "alice", "--ae-title", title])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.endswith(
        "argument --ae-title: must be an AE title: 1 to 16 characters, no backslash or "
        f"control character, got {title!r}\n"
    )


@pytest.mark.req("P5.DICOM.DIMSE.1")
def test_an_ae_title_is_taken_without_the_spaces_around_it() -> None:
    """PS3.5: leading and trailing spaces of an AE title are not significant."""
    args = build_parser().parse_args(["createuser", "alice", "--ae-title", " CT1  "])
    assert args.ae_title == "CT1"


@pytest.mark.req("P5.DICOM.DIMSE.5")
def test_the_compose_dimse_service_runs_the_gateway_on_its_published_port() -> None:
    """docker-compose.yml's dimse service: a command the CLI parses as dimse, its port published."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["dimse"]
    args = build_parser().parse_args(service["command"][3:])
    assert (args.handler, args.host) == (cmd_dimse, "0.0.0.0")
    assert service["ports"] == [f"{args.port}:{args.port}"]


@pytest.mark.slow
@pytest.mark.req("P5.DICOM.DIMSE.5")
def test_stack_with_dimse_runs_the_gateway_and_stops_it_on_ctrl_c(
    env: dict[str, str], alice: Any, redis_broker: Any, storage_dir: Path, tmp_path: Path
) -> None:
    """stack --dimse --dimse-port P: the gateway answers C-ECHO on P; SIGINT stops everything."""
    AeTitle.objects.create(title="MODALITY", owner=alice)
    port = free_port()
    log = tmp_path / "stack.log"
    with log.open("wb") as output:
        stack = subprocess.Popen(
            [sys.executable, "-m", "exam", "stack", "--port", "0", "--workers", "1",
             "--dimse", "--dimse-port", str(port)],
            env=env | {"CELERY_BROKER_URL": redis_broker.url, "EXAM_STORAGE_DIR": str(storage_dir)},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_for(
            lambda: stack.poll() is not None or echo(port, "MODALITY") == 0x0000,
            what="the stack's gateway to answer C-ECHO",
        )
        assert stack.poll() is None, log.read_text()
        os.killpg(stack.pid, signal.SIGINT)
        assert stack.wait(timeout=120) == 0, log.read_text()
    finally:
        if stack.poll() is None:
            os.killpg(stack.pid, signal.SIGKILL)
            stack.wait()
    assert echo(port, "MODALITY") is None
