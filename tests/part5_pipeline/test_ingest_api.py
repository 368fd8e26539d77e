"""POST /api/instances/: ingest answers every case with its status and commits all or nothing."""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    JPEG2000MC,
    MPEG2MPML,
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    generate_uid,
)
from rest_framework import status
from rest_framework.authtoken.models import Token

from exam.pipeline import faults
from exam.pipeline.models import AuditEvent, Instance, Job, JobState, Outbox

from .bodies import NOTHING, SAMPLE, counts, job_body, stored_files, variant
from .conftest import client_for, upload

pytestmark = pytest.mark.usefixtures("storage_dir")

#: Decoded bytes of sample-01: 16 rows x 16 columns x 1 frame x 1 sample x 2 bytes.
SAMPLE_DECODED = 16 * 16 * 1 * 1 * 2


def generated(
    folder: Path,
    *,
    rows: int = 4,
    columns: int = 5,
    frames: int = 1,
    samples: int = 1,
    bits: int = 8,
    syntax: str = ExplicitVRLittleEndian,
    pixel_data: bytes | None = None,
    name: str = "generated.dcm",
) -> Path:
    """A DICOM file of the given geometry, native pixel data of zeros unless ``pixel_data``."""
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = syntax
    dataset.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    dataset.SOPClassUID = SecondaryCaptureImageStorage
    dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID
    dataset.StudyInstanceUID = generate_uid()
    dataset.SeriesInstanceUID = generate_uid()
    dataset.Rows, dataset.Columns = rows, columns
    dataset.SamplesPerPixel = samples
    dataset.PhotometricInterpretation = "RGB" if samples == 3 else "MONOCHROME2"
    if samples == 3:
        dataset.PlanarConfiguration = 0
    dataset.BitsAllocated = dataset.BitsStored = bits
    dataset.HighBit = bits - 1
    dataset.PixelRepresentation = 0
    if frames > 1:
        dataset.NumberOfFrames = frames
    decoded = rows * columns * frames * samples * bits // 8
    dataset.PixelData = bytes(decoded) if pixel_data is None else pixel_data
    path = folder / name
    dataset.save_as(path, enforce_file_format=True, implicit_vr=False, little_endian=True)
    return path


@pytest.fixture
def alice(db: None) -> User:
    """A user with an API token, in the test's rolled-back transaction (no other process looks)."""
    user = User.objects.create_user("alice", password="correct horse")
    Token.objects.create(user=user)
    return user


def dicom_post(client: Any, body: bytes, **extra: Any) -> Any:
    """POST ``body`` to /api/instances/ as application/dicom."""
    return client.generic(
        "POST", "/api/instances/", body, content_type="application/dicom", **extra
    )


class TestAccepted:
    """A new DICOM file: 202, four rows, the original stored."""

    @pytest.mark.req("P5.PIPE.INGEST.1")
    def test_an_upload_is_accepted_with_202_and_the_job_s_url(
        self, alice: User, storage_dir: Path
    ) -> None:
        """A DICOM body answers 202 with the job URL in Location and job_url; four rows exist."""
        response = upload(client_for(alice), SAMPLE)
        assert response.status_code == status.HTTP_202_ACCEPTED
        job = Job.objects.get()
        body = response.json()
        assert response["Location"] == body["job_url"] == f"http://testserver/api/jobs/{job.pk}/"
        assert (body["status"], body["attempt"], body["queue"], body["filename"]) == (
            "queued",
            0,
            "s",
            "sample-01-dicom.dcm",
        )
        assert counts() == {"instances": 1, "jobs": 1, "outbox": 1, "audit": 1}
        instance = Instance.objects.get()
        stored = storage_dir / instance.storage_key
        assert stored.read_bytes() == SAMPLE.read_bytes()
        assert instance.size == SAMPLE.stat().st_size

    @pytest.mark.req("P5.PIPE.INGEST.1")
    def test_the_accepted_body_is_the_queued_job_with_the_request_s_id(self, alice: User) -> None:
        """The 202 body is the whole job: queued, attempt 0, correlation_id = the X-Request-ID."""
        response = upload(client_for(alice), SAMPLE, HTTP_X_REQUEST_ID="upload-req-1")
        job = Job.objects.get()
        assert response.json() == job_body(job)
        assert response.json()["correlation_id"] == "upload-req-1"
        assert (job.state, job.owner, job.instance.owner) == (JobState.QUEUED, alice, alice)

    @pytest.mark.req("P5.PIPE.INGEST.1")
    def test_the_outbox_row_is_due_at_once_and_the_audit_row_names_the_uploader(
        self, alice: User
    ) -> None:
        """The outbox row is due now on the job's queue; the audit row says who, what and whence."""
        upload(client_for(alice), SAMPLE, HTTP_X_REQUEST_ID="upload-req-2")
        job, outbox, audit = Job.objects.get(), Outbox.objects.get(), AuditEvent.objects.get()
        assert (outbox.job_id, outbox.queue) == (job.pk, "s")
        assert job.created_at <= outbox.not_before <= timezone.now()
        assert (
            audit.actor,
            audit.owner,
            audit.action,
            audit.object_type,
            audit.object_id,
            audit.client_address,
            audit.correlation_id,
        ) == (alice, alice, "upload", "job", job.pk, "127.0.0.1", "upload-req-2")

    @pytest.mark.req("P5.PIPE.INGEST.1", "P5.PIPE.INGEST.6")
    def test_a_failure_of_the_last_insert_commits_none_of_the_four_rows(
        self, alice: User, storage_dir: Path
    ) -> None:
        """The audit row (written last) failing in the database leaves no row and no object: 503."""
        # A client address longer than the column (64) fails the audit INSERT for real.
        response = upload(client_for(alice), SAMPLE, REMOTE_ADDR="9" * 65)
        assert response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
        assert response.json() == {
            "detail": "The database is unavailable (DataError); nothing was stored. Retry later."
        }
        assert response["Retry-After"] == "5"
        assert counts() == NOTHING
        assert stored_files(storage_dir) == []


class Unreadable:
    """A request body stream that notes any read: a refusal before reading leaves it untouched."""

    def __init__(self) -> None:
        self.reads = 0

    def read(self, *args: Any) -> bytes:
        self.reads += 1
        return b""

    readline = read


class TestRefused:
    """What ingest will not take: 401, 415, 400, 422, and nothing stored or committed."""

    @pytest.mark.req("P5.PIPE.INGEST.2")
    def test_an_upload_without_a_token_is_refused_with_401(
        self, client: Any, storage_dir: Path, db: None
    ) -> None:
        """No Authorization header: 401 naming the Token scheme, DRF's message, nothing stored."""
        response = dicom_post(client, SAMPLE.read_bytes())
        assert response.status_code == status.HTTP_401_UNAUTHORIZED
        assert response.json() == {"detail": "Authentication credentials were not provided."}
        assert response["WWW-Authenticate"] == "Token"
        assert counts() == NOTHING
        assert stored_files(storage_dir) == []

    @pytest.mark.req("P5.PIPE.INGEST.2")
    def test_an_upload_with_an_unknown_token_is_refused_with_401(
        self, client: Any, storage_dir: Path, db: None
    ) -> None:
        """A token no account holds: 401, nothing stored."""
        response = dicom_post(client, SAMPLE.read_bytes(), HTTP_AUTHORIZATION="Token " + "0" * 40)
        assert response.status_code == status.HTTP_401_UNAUTHORIZED
        assert response.json() == {"detail": "Invalid token."}
        assert counts() == NOTHING

    @pytest.mark.req("P5.PIPE.INGEST.2")
    @pytest.mark.parametrize(
        "content_type", ["application/octet-stream", "application/json", "multipart/form-data"]
    )
    def test_another_content_type_is_refused_with_415(
        self, alice: User, storage_dir: Path, content_type: str
    ) -> None:
        """A DICOM file sent under another Content-Type: 415 naming the one to use."""
        response = client_for(alice).generic(
            "POST", "/api/instances/", SAMPLE.read_bytes(), content_type=content_type
        )
        assert response.status_code == status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
        assert response.json() == {
            "detail": "Send the file as the body with Content-Type: application/dicom."
        }
        assert counts() == NOTHING
        assert stored_files(storage_dir) == []

    @pytest.mark.req("P5.PIPE.INGEST.1")
    def test_the_media_type_is_matched_without_its_parameters_or_case(self, alice: User) -> None:
        """``Application/DICOM; transfer-syntax=...`` is application/dicom: 202."""
        response = client_for(alice).generic(
            "POST",
            "/api/instances/",
            SAMPLE.read_bytes(),
            content_type="Application/DICOM; transfer-syntax=1.2.840.10008.1.2.1",
        )
        assert response.status_code == status.HTTP_202_ACCEPTED

    @pytest.mark.req("P5.PIPE.INGEST.2")
    @pytest.mark.parametrize(
        "body",
        [b"", b"hello", bytes(128) + b"NOPE" + bytes(64), SAMPLE.read_bytes()[132:]],
        ids=["empty", "text", "no-DICM-prefix", "no-preamble"],
    )
    def test_a_body_that_is_not_dicom_is_refused_with_415(
        self, alice: User, storage_dir: Path, body: bytes
    ) -> None:
        """A body without the DICM prefix after the 128-byte preamble: 415 with the reason."""
        response = dicom_post(client_for(alice), body)
        assert response.status_code == status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
        assert response.json() == {
            "detail": "not a DICOM file (no 'DICM' prefix after the 128-byte preamble)"
        }
        assert counts() == NOTHING
        assert stored_files(storage_dir) == []

    @pytest.mark.req("P5.PIPE.INGEST.3")
    def test_a_truncated_header_is_refused_with_400_and_the_reason(
        self, alice: User, storage_dir: Path
    ) -> None:
        """A file cut inside its header elements: 400 saying where it ends."""
        cut = SAMPLE.read_bytes()[:400]
        response = dicom_post(client_for(alice), cut)
        assert response.status_code == status.HTTP_400_BAD_REQUEST
        assert response.json() == {
            "detail": "truncated DICOM file (it ends at byte 400 inside an element)"
        }
        assert counts() == NOTHING
        assert stored_files(storage_dir) == []

    @pytest.mark.req("P5.PIPE.INGEST.3")
    def test_truncated_pixel_data_is_refused_with_400_and_the_reason(
        self, alice: User, storage_dir: Path
    ) -> None:
        """A complete header whose pixel data is cut short: 400 with bytes needed and present."""
        data = SAMPLE.read_bytes()
        response = dicom_post(client_for(alice), data[:-12])
        assert response.status_code == status.HTTP_400_BAD_REQUEST
        assert response.json() == {
            "detail": f"truncated DICOM file ((7FE0,0010) needs {SAMPLE_DECODED} bytes, "
            f"the file ends after {SAMPLE_DECODED - 12})"
        }
        assert counts() == NOTHING
        assert stored_files(storage_dir) == []

    @pytest.mark.req("P5.PIPE.INGEST.3")
    @pytest.mark.parametrize("value", [None, ""], ids=["absent", "empty"])
    @pytest.mark.parametrize(
        "keyword", ["SOPInstanceUID", "SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID"]
    )
    def test_a_missing_uid_is_refused_with_400_naming_it(
        self, alice: User, storage_dir: Path, tmp_path: Path, keyword: str, value: str | None
    ) -> None:
        """A required UID absent or empty: 400 naming the element."""
        response = upload(client_for(alice), variant(tmp_path, **{keyword: value}))
        assert response.status_code == status.HTTP_400_BAD_REQUEST
        assert response.json() == {"detail": f"the header has no {keyword}"}
        assert counts() == NOTHING
        assert stored_files(storage_dir) == []

    @pytest.mark.req("P5.PIPE.INGEST.3")
    def test_every_missing_uid_is_named(self, alice: User, tmp_path: Path) -> None:
        """Two UIDs missing: both named, in the header's order."""
        path = variant(tmp_path, StudyInstanceUID=None, SOPClassUID=None)
        response = upload(client_for(alice), path)
        assert response.json() == {"detail": "the header has no SOPClassUID, StudyInstanceUID"}

    @pytest.mark.req("P5.PIPE.INGEST.3")
    @pytest.mark.parametrize(
        "value",
        ["1." + "2" * 63, "1.2.abc", "1.2.3\n4", "1.2 3"],
        ids=["65-characters", "letters", "line-break", "space"],
    )
    def test_a_uid_that_is_not_digits_and_dots_is_refused_with_400(
        self, alice: User, storage_dir: Path, tmp_path: Path, value: str
    ) -> None:
        """A UID the database could not hold or a log could be forged with: 400 naming it."""
        response = upload(client_for(alice), variant(tmp_path, SeriesInstanceUID=value))
        assert response.status_code == status.HTTP_400_BAD_REQUEST
        assert response.json() == {
            "detail": "not a UID (at most 64 digits and dots): SeriesInstanceUID"
        }
        assert counts() == NOTHING
        assert stored_files(storage_dir) == []

    @pytest.mark.req("P5.PIPE.INGEST.3")
    @pytest.mark.parametrize(
        ("syntax", "name"),
        [
            ("1.2.826.0.1.3680043.9.9999.1", "1.2.826.0.1.3680043.9.9999.1"),
            (JPEG2000MC, "JPEG 2000 Part 2 Multi-component Image Compression"),
            (MPEG2MPML, "MPEG2 Main Profile / Main Level"),
        ],
        ids=["private", "jpeg2000-part2", "mpeg2-video"],
    )
    def test_a_transfer_syntax_no_decoder_here_handles_is_refused_with_422(
        self, alice: User, storage_dir: Path, tmp_path: Path, syntax: str, name: str
    ) -> None:
        """A private or uncommon compression the workers cannot decode: 422 naming it."""
        frame = bytes(4 * 5)
        pixel_data = frame if syntax.startswith("1.2.826") else encapsulate([frame])
        path = generated(tmp_path, syntax=syntax, pixel_data=pixel_data)
        response = upload(client_for(alice), path)
        assert response.status_code == status.HTTP_422_UNPROCESSABLE_ENTITY
        assert response.json() == {"detail": f"no decoder here for transfer syntax {name}"}
        assert counts() == NOTHING
        assert stored_files(storage_dir) == []

    @pytest.mark.req("P5.PIPE.INGEST.3")
    def test_an_instance_without_pixel_data_is_refused_with_422(
        self, alice: User, storage_dir: Path, tmp_path: Path
    ) -> None:
        """A header that describes no image (no Rows/Columns/Bits Allocated): 422."""
        path = variant(tmp_path, Rows=None, PixelData=None)
        response = upload(client_for(alice), path)
        assert response.status_code == status.HTTP_422_UNPROCESSABLE_ENTITY
        assert response.json() == {"detail": "the header describes no pixel data"}
        assert counts() == NOTHING
        assert stored_files(storage_dir) == []


class TestHeaderText:
    """Header text the database and the API show: control characters arrive escaped."""

    @pytest.mark.req("P5.PIPE.INGEST.1")
    @pytest.mark.parametrize(
        ("keyword", "value", "field", "shown"),
        [
            ("PatientID", "AB\x00CD", "patient_id", "AB\\x00CD"),
            ("PatientID", "A\nB", "patient_id", "A\\nB"),
            ("Modality", "M\x00R", "modality", "M\\x00R"),
            ("Modality", "M\x1b[2J", "modality", "M\\x1b[2J"),
        ],
        ids=["nul-patient-id", "line-break-patient-id", "nul-modality", "escape-modality"],
    )
    def test_control_characters_in_header_text_are_stored_escaped(
        self, alice: User, tmp_path: Path, keyword: str, value: str, field: str, shown: str
    ) -> None:
        """A NUL (PostgreSQL refuses it) or an escape sequence is stored as escaped text: 202."""
        response = upload(client_for(alice), variant(tmp_path, **{keyword: value}))
        assert response.status_code == status.HTTP_202_ACCEPTED
        assert response.json()[field] == shown
        assert getattr(Instance.objects.get(), field) == shown

    @pytest.mark.req("P5.PIPE.INGEST.1")
    @pytest.mark.parametrize("value", ["20241399", "yesterday"], ids=["month-13", "words"])
    def test_a_study_date_that_is_no_date_is_stored_as_none(
        self, alice: User, tmp_path: Path, value: str
    ) -> None:
        """A Study Date that does not parse does not refuse the file: 202, study_date null."""
        response = upload(client_for(alice), variant(tmp_path, StudyDate=value))
        assert response.status_code == status.HTTP_202_ACCEPTED
        assert response.json()["study_date"] is None
        assert Instance.objects.get().study_date is None


class TestTooLarge:
    """Bodies and images over their limits: 413 naming the limit."""

    @pytest.mark.req("P5.PIPE.INGEST.4")
    def test_a_declared_length_over_the_limit_is_refused_before_reading(
        self, alice: User, storage_dir: Path, settings: Any
    ) -> None:
        """Content-Length over EXAM_MAX_UPLOAD_BYTES: 413 naming the limit, the body never read."""
        settings.EXAM_MAX_UPLOAD_BYTES = 1000
        body = Unreadable()
        response = client_for(alice).generic(
            "POST",
            "/api/instances/",
            content_type="application/dicom",
            CONTENT_LENGTH="1001",
            **{"wsgi.input": body},
        )
        assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        assert response.json() == {"detail": "The body is larger than the limit of 1000 bytes."}
        assert body.reads == 0
        assert counts() == NOTHING
        assert stored_files(storage_dir) == []

    @pytest.mark.req("P5.PIPE.INGEST.4")
    def test_a_declared_length_at_the_limit_is_accepted(self, alice: User, settings: Any) -> None:
        """A body of exactly EXAM_MAX_UPLOAD_BYTES: 202."""
        settings.EXAM_MAX_UPLOAD_BYTES = SAMPLE.stat().st_size
        assert upload(client_for(alice), SAMPLE).status_code == status.HTTP_202_ACCEPTED

    @pytest.mark.req("P5.PIPE.INGEST.4")
    def test_a_body_without_a_length_is_refused_once_it_passes_the_limit(
        self, alice: User, storage_dir: Path, settings: Any
    ) -> None:
        """Chunked (no Content-Length; the server hands the decoded body on): 413 past the limit."""
        settings.EXAM_MAX_UPLOAD_BYTES = SAMPLE.stat().st_size - 1
        body = io.BytesIO(SAMPLE.read_bytes())
        response = client_for(alice).generic(
            "POST",
            "/api/instances/",
            content_type="application/dicom",
            HTTP_TRANSFER_ENCODING="chunked",
            CONTENT_LENGTH="",
            **{"wsgi.input": body},
        )
        assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        assert response.json() == {
            "detail": f"The body is larger than the limit of {SAMPLE.stat().st_size - 1} bytes."
        }
        assert counts() == NOTHING
        assert stored_files(storage_dir) == []

    @pytest.mark.req("P5.PIPE.INGEST.4")
    def test_a_body_without_a_length_within_the_limit_is_accepted(
        self, alice: User, storage_dir: Path
    ) -> None:
        """Chunked and within the limit: read to its end and stored byte for byte, 202."""
        body = io.BytesIO(SAMPLE.read_bytes())
        response = client_for(alice).generic(
            "POST",
            "/api/instances/",
            content_type="application/dicom",
            HTTP_TRANSFER_ENCODING="chunked",
            CONTENT_LENGTH="",
            **{"wsgi.input": body},
        )
        assert response.status_code == status.HTTP_202_ACCEPTED
        stored = storage_dir / Instance.objects.get().storage_key
        assert stored.read_bytes() == SAMPLE.read_bytes()


class TestSizeClasses:
    """The decoded-size estimate picks queue s, m or l; above the largest, 413."""

    @pytest.mark.req("P5.PIPE.INGEST.8")
    @pytest.mark.parametrize(
        ("classes", "queue"),
        [
            ({"s": SAMPLE_DECODED, "m": 2 * SAMPLE_DECODED, "l": 4 * SAMPLE_DECODED}, "s"),
            ({"s": SAMPLE_DECODED - 1, "m": SAMPLE_DECODED, "l": 4 * SAMPLE_DECODED}, "m"),
            ({"s": 1, "m": SAMPLE_DECODED - 1, "l": SAMPLE_DECODED}, "l"),
        ],
        ids=["s", "m", "l"],
    )
    def test_the_decoded_size_picks_the_first_class_that_holds_it(
        self, alice: User, settings: Any, classes: dict[str, int], queue: str
    ) -> None:
        """sample-01 decodes to 512 bytes: its job and outbox row go to the first class >= 512."""
        settings.EXAM_SIZE_CLASSES = classes
        response = upload(client_for(alice), SAMPLE)
        assert response.status_code == status.HTTP_202_ACCEPTED
        assert response.json()["queue"] == queue
        job = Job.objects.get()
        assert (job.queue, job.instance.size_class, Outbox.objects.get().queue) == (queue,) * 3

    @pytest.mark.req("P5.PIPE.INGEST.8")
    @pytest.mark.parametrize(
        ("geometry", "decoded"),
        [
            ({"rows": 4, "columns": 5}, 4 * 5),
            ({"rows": 4, "columns": 5, "frames": 3}, 4 * 5 * 3),
            ({"rows": 4, "columns": 5, "frames": 3, "samples": 3}, 4 * 5 * 3 * 3),
            ({"rows": 4, "columns": 5, "frames": 3, "samples": 3, "bits": 16}, 4 * 5 * 3 * 3 * 2),
        ],
        ids=["rows-columns", "frames", "samples", "bytes-per-sample"],
    )
    def test_the_estimate_multiplies_rows_columns_frames_samples_and_bytes(
        self, alice: User, tmp_path: Path, settings: Any, geometry: dict[str, int], decoded: int
    ) -> None:
        """``decoded`` bytes fit a class s of that size; one byte less sends the job to m."""
        path = generated(tmp_path, **geometry)
        settings.EXAM_SIZE_CLASSES = {"s": decoded, "m": decoded * 10, "l": decoded * 100}
        assert upload(client_for(alice), path).json()["queue"] == "s"
        Outbox.objects.all().delete()
        Job.objects.all().delete()
        AuditEvent.objects.all().delete()
        Instance.objects.all().delete()
        settings.EXAM_SIZE_CLASSES = {"s": decoded - 1, "m": decoded * 10, "l": decoded * 100}
        assert upload(client_for(alice), path).json()["queue"] == "m"

    @pytest.mark.req("P5.PIPE.INGEST.8")
    def test_an_instance_above_the_largest_class_is_refused_with_413(
        self, alice: User, storage_dir: Path, settings: Any
    ) -> None:
        """Decoded size over class l: 413 naming the size and the limit; nothing stored."""
        settings.EXAM_SIZE_CLASSES = {"s": 100, "m": 200, "l": SAMPLE_DECODED - 1}
        response = upload(client_for(alice), SAMPLE)
        assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        assert response.json() == {
            "detail": f"The decoded pixel data ({SAMPLE_DECODED} bytes) is larger than the "
            f"largest size class ({SAMPLE_DECODED - 1} bytes)."
        }
        assert counts() == NOTHING
        assert stored_files(storage_dir) == []


class TestIdempotent:
    """The same SOP Instance UID again: the existing job, or 409; never a second instance."""

    @pytest.mark.req("P5.PIPE.INGEST.5")
    def test_the_same_bytes_again_answer_200_with_the_existing_job(
        self, alice: User, storage_dir: Path
    ) -> None:
        """A repeated upload answers 200 and the first upload's job; no row or object is added."""
        client = client_for(alice)
        first = upload(client, SAMPLE, HTTP_X_REQUEST_ID="first")
        again = upload(client, SAMPLE, HTTP_X_REQUEST_ID="again")
        assert again.status_code == status.HTTP_200_OK
        assert again.json() == first.json() == job_body(Job.objects.get())
        assert again["Location"] == first["Location"]
        assert again.json()["correlation_id"] == "first"
        assert counts() == {"instances": 1, "jobs": 1, "outbox": 1, "audit": 1}
        assert len(stored_files(storage_dir)) == 1

    @pytest.mark.req("P5.PIPE.INGEST.5")
    def test_different_bytes_with_the_same_sop_instance_uid_answer_409(
        self, alice: User, storage_dir: Path, tmp_path: Path
    ) -> None:
        """Other content under a stored SOP Instance UID: 409; the stored original is untouched."""
        client = client_for(alice)
        upload(client, SAMPLE)
        instance = Instance.objects.get()
        changed = variant(tmp_path, PatientID="EXAM-9999")
        response = upload(client, changed)
        assert response.status_code == status.HTTP_409_CONFLICT
        assert response.json() == {
            "detail": "An instance with this SOP Instance UID and different content is "
            "already stored."
        }
        assert counts() == {"instances": 1, "jobs": 1, "outbox": 1, "audit": 1}
        assert stored_files(storage_dir) == [storage_dir / instance.storage_key]
        assert (storage_dir / instance.storage_key).read_bytes() == SAMPLE.read_bytes()
        instance.refresh_from_db()
        assert (instance.patient_id, instance.sha256) == (
            "EXAM-0001",
            hashlib.sha256(SAMPLE.read_bytes()).hexdigest(),
        )

    @pytest.mark.req("P5.PIPE.INGEST.5")
    def test_another_owner_uploading_the_same_file_gets_a_job_of_their_own(
        self, alice: User, storage_dir: Path
    ) -> None:
        """Uniqueness is per owner: bob's upload of alice's file is a new instance and job, 202."""
        bob = User.objects.create_user("bob")
        Token.objects.create(user=bob)
        upload(client_for(alice), SAMPLE)
        response = upload(client_for(bob), SAMPLE)
        assert response.status_code == status.HTTP_202_ACCEPTED
        assert response.json()["id"] == Job.objects.get(owner=bob).pk
        assert counts() == {"instances": 2, "jobs": 2, "outbox": 2, "audit": 2}

    @pytest.mark.req("P5.PIPE.INGEST.5")
    def test_eight_concurrent_uploads_of_one_file_make_one_instance_and_one_job(
        self, transactional_db: None, storage_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Eight uploads held until all have stored the file race to commit: one 202, seven 200."""
        owner = User.objects.create_user("carol")
        Token.objects.create(user=owner)
        uploads = 8
        # Each upload waits, after storing the file and before its transaction,
        # until all eight are there: none has seen another's instance.
        all_stored = threading.Barrier(uploads, timeout=30)
        monkeypatch.setattr(
            faults, "checkpoint", lambda name, key="": name == "ingest.stored" and all_stored.wait()
        )
        answers: list[Any] = [None] * uploads

        def send(index: int) -> None:
            try:
                answers[index] = upload(client_for(owner), SAMPLE)
            finally:
                connection.close()

        threads = [threading.Thread(target=send, args=(index,)) for index in range(uploads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [status.HTTP_200_OK] * 7 + [status.HTTP_202_ACCEPTED]
        job = Job.objects.get()
        assert {answer.json()["id"] for answer in answers} == {job.pk}
        assert counts() == {"instances": 1, "jobs": 1, "outbox": 1, "audit": 1}
        # The losers' copies were deleted: only the instance's object is left.
        assert stored_files(storage_dir) == [storage_dir / job.instance.storage_key]


class TestUnavailable:
    """Storage failing: 503 with Retry-After, nothing committed or left behind."""

    @pytest.mark.req("P5.PIPE.INGEST.6")
    def test_a_storage_folder_that_cannot_be_written_answers_503(
        self, alice: User, tmp_path: Path, settings: Any
    ) -> None:
        """The storage location lies under a regular file: 503, Retry-After, no row committed."""
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("a file where storage needs a folder")
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(blocker / "storage")},
            },
        }
        response = upload(client_for(alice), SAMPLE)
        assert response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
        assert response["Retry-After"] == "5"
        assert response.json() == {
            "detail": "Storage is unavailable (NotADirectoryError); nothing was stored. "
            "Retry later."
        }
        assert counts() == NOTHING

    @pytest.mark.req("P5.PIPE.INGEST.6")
    def test_a_spool_folder_that_cannot_be_written_answers_503(
        self, alice: User, storage_dir: Path, tmp_path: Path, settings: Any
    ) -> None:
        """The spool folder lies under a regular file: 503, Retry-After, nothing stored."""
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("a file where the spool needs a folder")
        settings.EXAM_SPOOL_DIR = str(blocker / "spool")
        response = upload(client_for(alice), SAMPLE)
        assert response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
        assert response["Retry-After"] == "5"
        assert response.json() == {
            "detail": "The spool folder is unavailable (NotADirectoryError); nothing was "
            "stored. Retry later."
        }
        assert counts() == NOTHING
        assert stored_files(storage_dir) == []

    @pytest.mark.req("P5.PIPE.INGEST.6")
    def test_after_storage_comes_back_the_same_upload_is_accepted(
        self, alice: User, storage_dir: Path, tmp_path: Path, settings: Any
    ) -> None:
        """A retry once storage works again answers 202: the failed attempt left nothing behind."""
        settings.EXAM_SPOOL_DIR = str(tmp_path / "missing")
        assert upload(client_for(alice), SAMPLE).status_code == status.HTTP_503_SERVICE_UNAVAILABLE
        settings.EXAM_SPOOL_DIR = None
        assert upload(client_for(alice), SAMPLE).status_code == status.HTTP_202_ACCEPTED
