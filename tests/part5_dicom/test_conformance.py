"""DICOMweb against a served process, with clients nobody here wrote.

dicomweb-client (the maintained Python DICOMweb client) builds every
request of the conformance tests: STOW (chunked, as it sends bodies larger
than its chunk size), QIDO and WADO.  The error codes and the memory test
send raw bodies with http.client, chunked, as a socket carries them.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
import requests
from dicomweb_client import DICOMwebClient
from django.contrib.auth.models import User
from pydicom.dataset import Dataset
from rest_framework import status

from exam.pipeline.models import Instance, Job
from tests.part5_pipeline.bodies import MIB, large_dicom, sha256_of, status_field
from tests.part5_pipeline.conftest import Processes, database_url, wait_for
from tests.part5_pipeline.served import Web, served, served_web  # noqa: F401 - fixture "web"

from .conftest import BOUNDARY, SAMPLE, SAMPLE_02, STOW_TYPE, bundled, multipart, uids

pytestmark = [pytest.mark.slow]

FILES = [
    SAMPLE,
    SAMPLE_02,
    bundled("CT_small.dcm"),
    bundled("MR_small.dcm"),
    bundled("JPEG2000.dcm"),
]


def dicomweb(web: Web, user: User) -> DICOMwebClient:
    """dicomweb-client for ``user``, sending bodies over 64 KiB chunked."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {user.auth_token.key}"
    return DICOMwebClient(url=f"{web.url}/dicomweb", session=session, chunk_size=64 * 1024)


def encoded(dataset: Dataset) -> bytes:
    """``dataset`` written by pydicom, as dicomweb-client writes what it stores."""
    with BytesIO() as buffer:
        pydicom.dcmwrite(buffer, dataset)
        return buffer.getvalue()


@pytest.mark.req("P5.DICOM.CLIENT.1")
def test_dicomweb_client_stores_finds_retrieves_and_the_workers_process(
    web: Web, alice: User, processes: Processes, caplog: pytest.LogCaptureFixture
) -> None:
    """Store five files chunked, find them by PatientID and date range, get each back, process."""
    client = dicomweb(web, alice)
    with caplog.at_level(logging.INFO, logger="dicomweb_client"):
        answer = client.store_instances([pydicom.dcmread(path) for path in FILES])
    assert "store data in chunks using chunked transfer encoding" in caplog.messages
    assert [str(item.ReferencedSOPInstanceUID) for item in answer.ReferencedSOPSequence] == [
        uids(path)[2] for path in FILES
    ]
    assert "FailedSOPSequence" not in answer

    found = client.search_for_studies(search_filters={"PatientID": "EXAM-0002"})
    assert [study["0020000D"]["Value"] for study in found] == [[uids(SAMPLE_02)[0]]]
    in_2004 = client.search_for_studies(search_filters={"StudyDate": "20040101-20041231"})
    assert sorted(study["0020000D"]["Value"][0] for study in in_2004) == sorted(
        uids(path)[0] for path in FILES[2:]
    )

    for path in FILES:
        study, series, sop, _ = uids(path)
        retrieved = client.retrieve_instance(study, series, sop)
        assert encoded(retrieved) == path.read_bytes()
        metadata = client.retrieve_instance_metadata(study, series, sop)
        assert metadata["00080018"]["Value"] == [sop]
        assert "7FE00010" not in metadata

    processes.worker("w1")
    processes.relay()
    finished = ("succeeded", "failed", "quarantined")
    wait_for(
        lambda: Job.objects.filter(owner=alice, state__in=finished).count() == len(FILES),
        timeout=240,
        what="every stored instance to be processed",
    )
    states = Job.objects.filter(owner=alice).values_list("state", "error")
    assert list(states) == [("succeeded", "")] * len(FILES)


def chunked_stow(web: Web, user: User, pieces: Iterator[bytes]) -> tuple[int, dict[str, object]]:
    """POST the body ``pieces`` to /dicomweb/studies with Transfer-Encoding: chunked."""
    connection = web.connection(timeout=300)
    headers = {"Authorization": f"Token {user.auth_token.key}", "Content-Type": STOW_TYPE}
    try:
        connection.request("POST", "/dicomweb/studies", pieces, headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def in_pieces(body: bytes, size: int = 7919) -> Iterator[bytes]:
    """``body`` in chunks of an odd size, so that boundaries fall across them."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.req("P5.DICOM.STOW.4", "P5.DICOM.STOW.2")
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (multipart(SAMPLE.read_bytes()), status.HTTP_200_OK),
        (multipart(SAMPLE.read_bytes(), b"text"), status.HTTP_202_ACCEPTED),
        (multipart(b"text"), status.HTTP_409_CONFLICT),
        (multipart(SAMPLE.read_bytes(), end=False)[:-2], status.HTTP_400_BAD_REQUEST),
    ],
    ids=["stored", "some-failed", "none-stored", "no-closing-boundary"],
)
def test_a_chunked_stow_is_read_to_its_end_and_answered(
    web: Web, alice: User, body: bytes, expected: int
) -> None:
    """Sent chunked, each body gets the same answer as with a length: never an empty success."""
    code, _ = chunked_stow(web, alice, in_pieces(body))
    assert code == expected
    stored = Instance.objects.filter(owner=alice).count()
    assert stored == (1 if expected in (status.HTTP_200_OK, status.HTTP_202_ACCEPTED) else 0)


def streamed_body(*paths: Path) -> Iterator[bytes]:
    """A multipart/related body of ``paths``, read from disk 1 MiB at a time."""
    for path in paths:
        yield b"--%s\r\nContent-Type: application/dicom\r\n\r\n" % BOUNDARY.encode()
        with path.open("rb") as file:
            while chunk := file.read(MIB):
                yield chunk
        yield b"\r\n"
    yield b"--%s--\r\n" % BOUNDARY.encode()


@pytest.mark.req("P5.DICOM.STOW.5")
def test_a_chunked_300_mb_stow_grows_the_server_by_less_than_50_mb(
    web: Web, alice: User, storage_dir: Path, tmp_path: Path
) -> None:
    """A 300 MB part and a small one, chunked: 200, both stored byte for byte, memory flat."""
    large = large_dicom(tmp_path / "large.dcm")
    assert large.stat().st_size > 300_000_000
    (worker,) = web.workers()
    # A small request first, so that the code paths are imported before measuring.
    assert chunked_stow(web, alice, streamed_body(SAMPLE_02))[0] == status.HTTP_200_OK
    # Writing 5 to clear_refs resets the peak (VmHWM) to the current size.
    Path(f"/proc/{worker}/clear_refs").write_text("5")
    before = status_field(worker, "VmRSS")

    code, _ = chunked_stow(web, alice, streamed_body(large, SAMPLE))

    peak = status_field(worker, "VmHWM")
    assert code == status.HTTP_200_OK
    assert peak - before < 50 * MIB, f"grew by {(peak - before) / MIB:.1f} MiB"
    for path in (large, SAMPLE):
        instance = Instance.objects.get(sop_instance_uid=uids(path)[2])
        assert instance.sha256 == sha256_of(path) == sha256_of(storage_dir / instance.storage_key)


@pytest.mark.req("P5.DICOM.LOG.1")
def test_a_served_stow_logs_events_without_uids_names_or_paths(
    storage_dir: Path, tmp_path: Path, alice: User
) -> None:
    """With --log-json, a STOW and a search leave JSON lines of events, nothing private."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "exam.api.settings",
        "DATABASE_URL": database_url(),
        "EXAM_STORAGE_DIR": str(storage_dir),
    }
    log = tmp_path / "web.log"
    with served(env, log, "--workers", "1", "--log-json") as web:
        client = dicomweb(web, alice)
        client.store_instances([pydicom.dcmread(SAMPLE), pydicom.dcmread(FILES[2])])
        client.search_for_studies(search_filters={"PatientID": "EXAM-0001"})
        chunked_stow(web, alice, in_pieces(multipart(b"text")))
    text = log.read_text()
    events = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    routes = [event["route"] for event in events if event["event"] == "http.request"]
    assert routes[-3:] == ["dicomweb/studies"] * 3
    outcomes = [event["outcome"] for event in events if event["event"] == "stow.part"]
    assert outcomes == ["stored", "stored", "failed"]
    for path in (SAMPLE, FILES[2]):
        header = pydicom.dcmread(path, stop_before_pixels=True)
        private = [*uids(path), path.name, str(header.PatientID), str(header.PatientName)]
        assert [value for value in private if value in text] == []


@pytest.mark.req("P5.DICOM.CLIENT.1", "P5.DICOM.ACCESS.1")
def test_the_dicomweb_client_command_stores_and_searches_with_a_bearer_token(
    web: Web, alice: User
) -> None:
    """dicomweb-client's own command, token as Bearer: stores a file, then finds its study."""
    command = [
        str(Path(sys.executable).with_name("dicomweb_client")),
        "--url",
        f"{web.url}/dicomweb",
        "--bearer-token",
        alice.auth_token.key,
    ]
    stored = subprocess.run(
        [*command, "store", "instances", str(SAMPLE)], capture_output=True, text=True, timeout=120
    )
    assert stored.returncode == 0, stored.stderr
    found = subprocess.run(
        [*command, "search", "studies", "--filter", "PatientID=EXAM-0001"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert found.returncode == 0, found.stderr
    assert [study["0020000D"]["Value"] for study in json.loads(found.stdout)] == [[uids(SAMPLE)[0]]]
