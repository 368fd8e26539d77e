"""The upload endpoint: one file per request through the pipeline's ingest, its outcome in words."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from pydicom import dcmread
from pydicom.encaps import encapsulate
from pydicom.uid import MPEG2MPML
from rest_framework import status

from exam.pipeline.models import AuditEvent, Instance, Job

from .conftest import SAMPLE_1, UPLOAD_URL, logged_in, upload

pytestmark = pytest.mark.usefixtures("storage_dir")


def outcome(response: Any) -> tuple[int, dict[str, Any]]:
    """The status code and the JSON body."""
    return response.status_code, response.json()


@pytest.mark.req("P5.PORTAL.UPLOAD.1")
def test_a_new_file_is_accepted_and_queued(alice: User) -> None:
    """A new file answers 202 "accepted" with its job, and the job is queued with an audit row."""
    response = upload(logged_in(alice), SAMPLE_1, HTTP_X_REQUEST_ID="req-upload-1")
    job = Job.objects.get()
    assert outcome(response) == (
        status.HTTP_202_ACCEPTED,
        {"outcome": "accepted", "message": f"Queued as job {job.pk}.", "job": job.pk},
    )
    assert (job.owner, job.state, job.correlation_id) == (alice, "queued", "req-upload-1")
    assert AuditEvent.objects.filter(action="upload", object_id=job.pk, actor=alice).count() == 1


@pytest.mark.req("P5.PORTAL.UPLOAD.1")
def test_the_same_file_again_is_already_uploaded(alice: User) -> None:
    """The same bytes again answer 200 "already uploaded" with the first job; nothing is added."""
    client = logged_in(alice)
    first = upload(client, SAMPLE_1).json()["job"]
    response = upload(client, SAMPLE_1)
    assert outcome(response) == (
        status.HTTP_200_OK,
        {
            "outcome": "already uploaded",
            "message": f"The same file is job {first}; nothing was stored again.",
            "job": first,
        },
    )
    assert (Instance.objects.count(), Job.objects.count()) == (1, 1)


@pytest.mark.req("P5.PORTAL.UPLOAD.1")
@pytest.mark.parametrize(
    "name",
    ["CT 1.dcm", "Röntgen, Kopf.dcm", "100% «sample».dcm"],
    ids=["space", "umlaut", "percent"],
)
def test_the_file_name_is_kept_as_the_user_s_file_was_called(alice: User, name: str) -> None:
    """The page sends the name percent-encoded (headers are ASCII); the job shows it decoded."""
    upload(logged_in(alice), SAMPLE_1, name=quote(name))
    assert Instance.objects.get().filename == name


def variant(folder: Path, **elements: Any) -> Path:
    """A copy of sample 1 with ``elements`` changed (invalid values too: pydicom only warns)."""
    dataset = dcmread(SAMPLE_1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for keyword, value in elements.items():
            setattr(dataset, keyword, value)
        path = folder / "variant.dcm"
        dataset.save_as(path)
    return path


def without(folder: Path, keyword: str) -> Path:
    """A copy of sample 1 without the element ``keyword``."""
    dataset = dcmread(SAMPLE_1)
    delattr(dataset, keyword)
    path = folder / "without.dcm"
    dataset.save_as(path)
    return path


def undecodable(folder: Path) -> Path:
    """A copy of sample 1 claiming MPEG-2 pixel data, which no installed decoder reads."""
    dataset = dcmread(SAMPLE_1)
    dataset.file_meta.TransferSyntaxUID = MPEG2MPML
    dataset.PixelData = encapsulate([b"\x00" * 16])
    dataset["PixelData"].VR = "OB"
    path = folder / "mpeg2.dcm"
    dataset.save_as(path, enforce_file_format=True)
    return path


def not_dicom(folder: Path) -> Path:
    """A text file."""
    path = folder / "notes.txt"
    path.write_text("not an image\n")
    return path


@pytest.mark.req("P5.PORTAL.UPLOAD.1")
@pytest.mark.parametrize(
    ("make", "code", "message"),
    [
        (
            not_dicom,
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "Not a DICOM file (no 'DICM' prefix after the 128-byte preamble).",
        ),
        (
            lambda folder: without(folder, "SOPInstanceUID"),
            status.HTTP_400_BAD_REQUEST,
            "The header has no SOPInstanceUID.",
        ),
        pytest.param(
            lambda folder: variant(folder, StudyInstanceUID="1.2.abc"),
            status.HTTP_400_BAD_REQUEST,
            "Not a UID (at most 64 digits and dots): StudyInstanceUID.",
            # pydicom warns as it reads the invalid UID; the answer is what is tested.
            marks=pytest.mark.filterwarnings("ignore:Invalid value for VR UI"),
        ),
        (
            undecodable,
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            "No decoder here for transfer syntax MPEG2 Main Profile / Main Level.",
        ),
    ],
    ids=["not-dicom", "missing-uid", "invalid-uid", "undecodable"],
)
def test_a_refused_file_is_rejected_with_its_reason(
    alice: User, tmp_path: Path, make: Callable[[Path], Path], code: int, message: str
) -> None:
    """A file ingest refuses answers its status, "rejected" and the reason; nothing is stored."""
    response = upload(logged_in(alice), make(tmp_path))
    assert outcome(response) == (code, {"outcome": "rejected", "message": message})
    assert (Instance.objects.count(), Job.objects.count()) == (0, 0)


@pytest.mark.req("P5.PORTAL.UPLOAD.1")
def test_another_content_type_is_rejected(alice: User) -> None:
    """A body sent as anything but application/dicom answers 415 saying how to send it."""
    response = logged_in(alice).post(UPLOAD_URL, SAMPLE_1.read_bytes(), content_type="text/plain")
    assert outcome(response) == (
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        {
            "outcome": "rejected",
            "message": "Send the file as the body with Content-Type: application/dicom.",
        },
    )


@pytest.mark.req("P5.PORTAL.UPLOAD.1")
def test_other_bytes_under_a_stored_uid_are_rejected(alice: User, tmp_path: Path) -> None:
    """The same SOP Instance UID with other bytes answers 409; the stored original stays."""
    client = logged_in(alice)
    upload(client, SAMPLE_1)
    changed = variant(tmp_path, PatientName="Other^Name")
    response = upload(client, changed)
    assert outcome(response) == (
        status.HTTP_409_CONFLICT,
        {
            "outcome": "rejected",
            "message": "An instance with this SOP Instance UID and different content "
            "is already stored.",
        },
    )
    assert Instance.objects.get().size == SAMPLE_1.stat().st_size


@pytest.mark.req("P5.PORTAL.UPLOAD.1")
def test_a_file_over_the_limit_is_rejected(alice: User, settings: Any) -> None:
    """A body over EXAM_MAX_UPLOAD_BYTES answers 413 naming the limit."""
    settings.EXAM_MAX_UPLOAD_BYTES = 100
    response = upload(logged_in(alice), SAMPLE_1)
    assert outcome(response) == (
        status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        {"outcome": "rejected", "message": "The body is larger than the limit of 100 bytes."},
    )


@pytest.mark.req("P5.PORTAL.UPLOAD.1")
def test_no_free_upload_slot_is_not_stored_and_says_when_to_retry(
    alice: User, settings: Any
) -> None:
    """With every upload slot taken the file is "not stored": 503 with Retry-After."""
    settings.EXAM_MAX_CONCURRENT_UPLOADS = 0
    response = upload(logged_in(alice), SAMPLE_1)
    assert outcome(response) == (
        status.HTTP_503_SERVICE_UNAVAILABLE,
        {"outcome": "not stored", "message": "Too many uploads at once; retry later."},
    )
    assert (response["Retry-After"], Job.objects.count()) == ("5", 0)


@pytest.mark.req("P5.PORTAL.UPLOAD.1")
def test_storage_unavailable_is_not_stored(alice: User, settings: Any, tmp_path: Path) -> None:
    """Storage that cannot be written answers 503 "not stored"; nothing is committed."""
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the storage folder should be")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocked)},
        },
    }
    response = upload(logged_in(alice), SAMPLE_1)
    assert outcome(response) == (
        status.HTTP_503_SERVICE_UNAVAILABLE,
        {
            "outcome": "not stored",
            "message": "Storage is unavailable (NotADirectoryError); nothing was stored. "
            "Retry later.",
        },
    )
    assert Job.objects.count() == 0
