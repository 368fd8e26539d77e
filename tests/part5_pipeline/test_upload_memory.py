"""A 300 MB upload streams through the serving process: its memory does not grow with the file."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid
from rest_framework import status

from exam.pipeline.models import Instance

from .bodies import SAMPLE
from .conftest import database_url
from .served import Web, served

pytestmark = [pytest.mark.slow]

ROWS = COLUMNS = 512
FRAMES = 573
#: 16-bit pixels: 300,417,024 bytes of pixel data.
PIXEL_BYTES = ROWS * COLUMNS * FRAMES * 2
MIB = 1 << 20


def large_dicom(path: Path) -> Path:
    """A DICOM file of 573 512x512 16-bit frames, its pixel data a hole of zeros on disk.

    pydicom writes the header; the pixel data element's tag, VR and length
    follow, and the file is extended to its full size without writing (or
    holding) the 300 MB.
    """
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    dataset.SOPClassUID = SecondaryCaptureImageStorage
    dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID
    dataset.StudyInstanceUID = generate_uid()
    dataset.SeriesInstanceUID = generate_uid()
    dataset.Modality = "OT"
    dataset.Rows, dataset.Columns, dataset.NumberOfFrames = ROWS, COLUMNS, FRAMES
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = 16, 16, 15
    dataset.PixelRepresentation = 0
    dataset.save_as(path, enforce_file_format=True)
    with path.open("ab") as file:
        # (7FE0,0010) OW, explicit VR little endian: tag, VR, 2 reserved bytes, 4-byte length.
        file.write(struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, PIXEL_BYTES))
        file.truncate(file.tell() + PIXEL_BYTES)
    return path


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


def status_field(pid: int, name: str) -> int:
    """A memory field of /proc/<pid>/status, in bytes (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {name} for process {pid}")


@pytest.fixture
def web(storage_dir: Path, tmp_path: Path, alice: User) -> Iterator[Web]:
    """One served API process with the default limits, spooling into the test's folder."""
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


def post_file(web: Web, user: User, path: Path) -> tuple[int, dict[str, object]]:
    """Upload ``path`` with its length, streamed from disk in 1 MiB blocks."""
    client = web.connection(timeout=300)
    client.blocksize = MIB
    headers = {
        "Authorization": f"Token {user.auth_token.key}",
        "Content-Type": "application/dicom",
        "Content-Length": str(path.stat().st_size),
    }
    try:
        with path.open("rb") as body:
            client.request("POST", "/api/instances/", body, headers)
            response = client.getresponse()
            return response.status, json.loads(response.read())
    finally:
        client.close()


@pytest.mark.req("P5.PIPE.INGEST.7")
def test_a_300_mb_upload_grows_the_serving_process_by_less_than_50_mb(
    web: Web, alice: User, storage_dir: Path, tmp_path: Path
) -> None:
    """The worker's peak resident memory during a 300 MB upload stays within 50 MB of before."""
    path = large_dicom(tmp_path / "large.dcm")
    assert path.stat().st_size > 300_000_000
    (worker,) = web.workers()
    # A small upload first, so that the code paths are imported before measuring.
    assert post_file(web, alice, SAMPLE)[0] == status.HTTP_202_ACCEPTED
    # Writing 5 to clear_refs resets the peak (VmHWM) to the current size.
    Path(f"/proc/{worker}/clear_refs").write_text("5")
    before = status_field(worker, "VmRSS")

    code, body = post_file(web, alice, path)

    peak = status_field(worker, "VmHWM")
    assert (code, body["queue"]) == (status.HTTP_202_ACCEPTED, "l")
    assert peak - before < 50 * MIB, f"grew by {(peak - before) / MIB:.1f} MiB"
    instance = Instance.objects.get(pk=Instance.objects.get(jobs__pk=body["id"]).pk)
    assert (instance.size, instance.frames) == (path.stat().st_size, FRAMES)
    assert instance.sha256 == sha256_of(path) == sha256_of(storage_dir / instance.storage_key)
