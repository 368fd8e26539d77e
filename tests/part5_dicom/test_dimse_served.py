"""``python -m exam dimse`` as a user runs it, with DCMTK's echoscu and storescu as senders."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from pydicom import dcmread

from exam.pipeline.models import AeTitle, Instance, Job
from tests.part5_pipeline.conftest import Processes, wait_for

from .conftest import SAMPLE, bundled, uids

pytestmark = [pytest.mark.slow]


def dcmtk_program(name: str) -> str | None:
    """DCMTK's program ``name`` on PATH, or None.

    pynetdicom installs Python apps of the same names (``storescu``,
    ``echoscu``) into the environment's ``bin``, which tox puts first on PATH;
    they are not the independent sender these tests need, so that folder is
    skipped.
    """
    ours = os.path.dirname(os.path.abspath(sys.executable))
    folders = os.environ.get("PATH", "").split(os.pathsep)
    path = os.pathsep.join(f for f in folders if os.path.abspath(f) != ours)
    return shutil.which(name, path=path)


DCMTK = pytest.mark.skipif(
    dcmtk_program("storescu") is None and not os.environ.get("CI"),
    reason="needs DCMTK's storescu and echoscu (.ci/run installs them)",
)


def free_port() -> int:
    """A port nothing listens on now (pynetdicom binds without SO_REUSEADDR: none can be held)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Gateway:
    """A running ``python -m exam dimse``: its process, port and log."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def dcmtk(
        self, program: str, *arguments: str, calling: str = "MODALITY"
    ) -> subprocess.CompletedProcess[str]:
        """Run a DCMTK program against the gateway as ``calling``."""
        executable = dcmtk_program(program)
        assert executable is not None, f"DCMTK's {program} is not installed"
        return subprocess.run(
            [executable, "-aet", calling, "-aec", "EXAM", "127.0.0.1", str(self.port), *arguments],
            capture_output=True,
            text=True,
            timeout=120,
        )

    def events(self) -> list[dict[str, object]]:
        """The JSON lines the gateway logged."""
        return [
            json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")
        ]


@pytest.fixture
def gateway(processes: Processes, alice: User, tmp_path: Path) -> Iterator[Gateway]:
    """``python -m exam dimse`` on the test database and storage, MODALITY mapped to alice."""
    AeTitle.objects.create(title="MODALITY", owner=alice)
    port = free_port()
    log = tmp_path / "dimse.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "exam", "dimse", "--port", str(port)],
            env=processes.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    processes.started.append(process)
    running = Gateway(process, port, log)
    wait_for(
        lambda: process.poll() is not None or running.dcmtk("echoscu").returncode == 0,
        what="the gateway to answer C-ECHO",
    )
    assert process.poll() is None, log.read_text()
    yield running
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


@DCMTK
@pytest.mark.req("P5.DICOM.DIMSE.4", "P5.DICOM.DIMSE.1")
def test_storescu_s_instances_are_stored_and_processed_to_succeeded(
    gateway: Gateway, processes: Processes, alice: User
) -> None:
    """storescu sends three files (one JPEG 2000): exit 0, three jobs, all succeeded."""
    files = [SAMPLE, bundled("CT_small.dcm"), bundled("JPEG2000.dcm")]
    native = gateway.dcmtk("storescu", str(files[0]), str(files[1]))
    # -xw proposes JPEG 2000 (lossy) besides the uncompressed syntaxes.
    compressed = gateway.dcmtk("storescu", "-xw", str(files[2]))
    assert (native.returncode, compressed.returncode) == (0, 0), native.stderr + compressed.stderr
    assert set(Instance.objects.filter(owner=alice).values_list("sop_instance_uid", flat=True)) == {
        uids(path)[2] for path in files
    }
    processes.worker("w1")
    processes.relay()
    finished = ("succeeded", "failed", "quarantined")
    wait_for(
        lambda: Job.objects.filter(state__in=finished).count() == 3,
        timeout=240,
        what="three jobs to finish",
    )
    assert list(Job.objects.values_list("state", "error")) == [("succeeded", "")] * 3


@DCMTK
@pytest.mark.req("P5.DICOM.DIMSE.4", "P5.DICOM.DIMSE.2")
def test_echoscu_succeeds_and_an_unknown_ae_title_is_rejected(gateway: Gateway) -> None:
    """echoscu as MODALITY exits 0; as STRANGER its association is rejected."""
    assert gateway.dcmtk("echoscu").returncode == 0
    refused = gateway.dcmtk("echoscu", calling="STRANGER")
    assert refused.returncode != 0
    assert "Calling AE Title Not Recognized" in refused.stdout + refused.stderr


@DCMTK
@pytest.mark.req("P5.DICOM.LOG.1")
def test_the_gateway_s_log_names_no_uid_patient_or_file(gateway: Gateway) -> None:
    """After storing and refusing, the JSON lines hold events, never a UID, name or file name."""
    files = [SAMPLE, bundled("CT_small.dcm")]
    assert gateway.dcmtk("storescu", *map(str, files)).returncode == 0
    gateway.dcmtk("echoscu", calling="STRANGER")
    events = [event["event"] for event in gateway.events() if event["event"] != "log"]
    stored = ["upload.accepted", "dimse.store"]
    assert events == ["dimse.listening", *stored, *stored, "dimse.rejected"]
    text = gateway.log.read_text()
    for path in files:
        header = dcmread(path, stop_before_pixels=True)
        private = [*uids(path), path.name, str(header.PatientID), str(header.PatientName)]
        assert [value for value in private if value in text] == []
