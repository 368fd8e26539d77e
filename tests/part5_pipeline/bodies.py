"""What the pipeline's tests compare: table counts, DICOM variants, jobs as the API shows them."""

from __future__ import annotations

import datetime
import hashlib
import struct
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from pydicom import config, dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from exam.pipeline.models import AuditEvent, Instance, Job, JobState, Outbox

from .conftest import FIXTURES

SAMPLE = FIXTURES / "sample-01-dicom.dcm"
SAMPLE_02 = FIXTURES / "sample-02-dicom.dcm"
#: The fixtures' UIDs and patients, as the tests' independent reading of the files has them.
SAMPLE_FACTS = {
    "sop_instance_uid": "1.2.826.0.1.3680043.8.498.63507237646392251752459438575666602993",
    "patient_id": "EXAM-0001",
    "modality": "MR",
    "study_date": "2024-01-15",
}
SAMPLE_02_FACTS = {
    "sop_instance_uid": "1.2.826.0.1.3680043.8.498.59076550809926949822004315285162263686",
    "patient_id": "EXAM-0002",
    "modality": "XA",
    "study_date": "2024-06-11",
}
#: The facts above by SOP Instance UID.
KNOWN_FACTS = {facts["sop_instance_uid"]: facts for facts in (SAMPLE_FACTS, SAMPLE_02_FACTS)}


def counts() -> dict[str, int]:
    """Rows of each table an upload writes."""
    return {
        "instances": Instance.objects.count(),
        "jobs": Job.objects.count(),
        "outbox": Outbox.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


NOTHING = {"instances": 0, "jobs": 0, "outbox": 0, "audit": 0}


def variant(
    folder: Path, source: Path = SAMPLE, name: str = "variant.dcm", **elements: Any
) -> Path:
    """A copy of ``source`` in ``folder`` with ``elements`` changed (None deletes one).

    Invalid values are the point of many variants: pydicom stores them without a warning.
    """
    dataset = dcmread(source)
    with config.disable_value_validation():
        for keyword, value in elements.items():
            if value is None:
                delattr(dataset, keyword)
            else:
                setattr(dataset, keyword, value)
    path = folder / name
    dataset.save_as(path)
    return path


def stored_files(folder: Path) -> list[Path]:
    """Every file under the storage folder ``folder``."""
    return sorted(path for path in folder.rglob("*") if path.is_file())


def timestamp(value: datetime.datetime | None) -> str | None:
    """A datetime as DRF renders it in UTC (ISO 8601, ``Z``)."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def job_body(job: Job, *, server: str = "http://testserver", **overrides: Any) -> dict[str, Any]:
    """The whole body the API shows for ``job``: fixture facts as read here, times from the row."""
    job.refresh_from_db()
    facts = KNOWN_FACTS.get(job.instance.sop_instance_uid, {})
    stored_date = job.instance.study_date
    body = {
        "id": job.pk,
        "status": job.state,
        "attempt": job.attempt,
        "queue": job.queue,
        "filename": job.instance.filename,
        "patient_id": facts.get("patient_id", job.instance.patient_id),
        "modality": facts.get("modality", job.instance.modality),
        "study_date": facts.get("study_date", stored_date and stored_date.isoformat()),
        "created_at": timestamp(job.created_at),
        "started_at": timestamp(job.started_at),
        "finished_at": timestamp(job.finished_at),
        "duration_s": None
        if job.finished_at is None
        else round((job.finished_at - job.created_at) / datetime.timedelta(seconds=1), 3),
        "error_code": job.error_code,
        "error": job.error,
        "correlation_id": job.correlation_id,
        "job_url": f"{server}/api/jobs/{job.pk}/",
        "result_url": f"{server}/api/results/{job.pk}/" if job.state == "succeeded" else None,
    }
    return body | overrides


def make_job(owner: User, state: str = JobState.QUEUED, *, number: int = 1, **fields: Any) -> Job:
    """A job of ``owner`` in ``state``, written straight to the database (no worker needed)."""
    instance = Instance.objects.create(
        owner=owner,
        sop_instance_uid=f"1.2.3.{owner.pk}.{number}",
        sop_class_uid="1.2.840.10008.5.1.4.1.1.7",
        study_instance_uid="1.2.3.9",
        series_instance_uid="1.2.3.9.1",
        transfer_syntax_uid="1.2.840.10008.1.2.1",
        sha256="0" * 64,
        size=1592,
        storage_key=f"originals/00/{owner.pk}-{number}.dcm",
        filename=f"file-{number}.dcm",
        patient_id=f"PAT-{number}",
        modality="MR",
        study_date=datetime.date(2024, 1, number),
        rows=16,
        columns=16,
        frames=1,
        size_class="s",
    )
    return Job.objects.create(
        instance=instance,
        owner=owner,
        pipeline_version="1",
        queue="s",
        state=state,
        correlation_id=f"request-{number}",
        **fields,
    )


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
