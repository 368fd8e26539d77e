"""STOW-RS: each part through ingest, the Store Instances Response, and every kind of bad part."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import OperationalError
from pydicom import dcmread
from pydicom.encaps import encapsulate
from pydicom.uid import MPEG2MPML, generate_uid
from rest_framework import status

from exam.pipeline.dicomweb import stow as stow_module
from exam.pipeline.dicomweb import views
from exam.pipeline.models import AuditEvent, Instance, Job, Outbox

from .conftest import (
    BOUNDARY,
    SAMPLE,
    SAMPLE_02,
    bundled,
    client_for,
    element,
    multipart,
    stow,
    uids,
    variant,
)

pytestmark = pytest.mark.usefixtures("storage_dir")

NOTHING = (0, 0, 0, 0)


def rows() -> tuple[int, int, int, int]:
    """Instances, jobs, outbox rows and audit rows."""
    return (
        Instance.objects.count(),
        Job.objects.count(),
        Outbox.objects.count(),
        AuditEvent.objects.count(),
    )


def referenced(path: Path, job: Job) -> dict[str, Any]:
    """The Referenced SOP Sequence item of the file ``path`` stored with ``job``."""
    study, series, sop, sop_class = uids(path)
    return {
        "00081150": element("UI", sop_class),
        "00081155": element("UI", sop),
        "00081190": element(
            "UR", f"http://testserver/dicomweb/studies/{study}/series/{series}/instances/{sop}"
        ),
        "00090010": element("LO", "EXAM PIPELINE"),
        "00091001": element("UR", f"http://testserver/api/jobs/{job.pk}/"),
    }


def failed(reason: int, path: Path | None = None) -> dict[str, Any]:
    """A Failed SOP Sequence item; with ``path``, naming that file's instance."""
    item = {"00081197": element("US", reason)}
    if path is not None:
        _, _, sop, sop_class = uids(path)
        item |= {"00081150": element("UI", sop_class), "00081155": element("UI", sop)}
    return item


def answer(
    *,
    referenced: Sequence[dict[str, Any]] = (),
    failed: Sequence[dict[str, Any]] = (),
    study_url: str = "",
) -> dict[str, Any]:
    """The whole Store Instances Response."""
    body: dict[str, Any] = {"00081190": element("UR", study_url) if study_url else element("UR")}
    if failed:
        body["00081198"] = element("SQ", *failed)
    if referenced:
        body["00081199"] = element("SQ", *referenced)
    return body


def mpeg2(folder: Path) -> Path:
    """sample-01 relabelled MPEG-2, a transfer syntax no decoder here handles."""
    dataset = dcmread(SAMPLE)
    dataset.file_meta.TransferSyntaxUID = MPEG2MPML
    dataset.PixelData = encapsulate([bytes(16)])
    dataset["PixelData"].VR = "OB"
    path = folder / "mpeg2.dcm"
    dataset.save_as(path)
    return path


class TestStored:
    """Every part stored: 200, each instance referenced with its Retrieve URL and job."""

    @pytest.mark.req("P5.DICOM.STOW.1")
    def test_every_part_stored_answers_200_with_each_instance_and_its_job(
        self, owner: User, storage_dir: Path
    ) -> None:
        """Two DICOM parts: 200, both referenced with their Retrieve URL and job URL, bytes kept."""
        ct = bundled("CT_small.dcm")
        response = stow(client_for(owner), multipart(SAMPLE.read_bytes(), ct.read_bytes()))
        assert response.status_code == status.HTTP_200_OK
        assert response["Content-Type"] == "application/dicom+json"
        first, second = Job.objects.order_by("pk")
        assert response.json() == answer(
            referenced=[referenced(SAMPLE, first), referenced(ct, second)]
        )
        assert rows() == (2, 2, 2, 2)
        for job, path in ((first, SAMPLE), (second, ct)):
            assert (job.owner, job.instance.owner, job.state) == (owner, owner, "queued")
            assert (storage_dir / job.instance.storage_key).read_bytes() == path.read_bytes()

    @pytest.mark.req("P5.DICOM.STOW.1")
    def test_a_store_into_the_named_study_answers_its_url(self, owner: User) -> None:
        """POST /dicomweb/studies/{study} with a part of that study: 200 and the study's URL."""
        study = uids(SAMPLE)[0]
        response = stow(client_for(owner), multipart(SAMPLE.read_bytes()), study=study)
        assert response.status_code == status.HTTP_200_OK
        assert response.json() == answer(
            referenced=[referenced(SAMPLE, Job.objects.get())],
            study_url=f"http://testserver/dicomweb/studies/{study}",
        )

    @pytest.mark.req("P5.DICOM.STOW.1")
    def test_each_job_carries_the_request_s_id(self, owner: User) -> None:
        """The jobs of one request share its X-Request-ID as their correlation ID."""
        client = client_for(owner)
        client.credentials(
            HTTP_AUTHORIZATION=f"Token {owner.auth_token.key}", HTTP_X_REQUEST_ID="stow-req-1"
        )
        stow(client, multipart(SAMPLE.read_bytes(), SAMPLE_02.read_bytes()))
        assert [job.correlation_id for job in Job.objects.all()] == ["stow-req-1", "stow-req-1"]

    @pytest.mark.req("P5.DICOM.STOW.1")
    def test_a_part_without_a_content_type_is_taken_as_dicom(self, owner: User) -> None:
        """A part with no Content-Type header has the request's type, application/dicom."""
        body = b"--%s\r\n\r\n%s\r\n--%s--\r\n" % (
            BOUNDARY.encode(),
            SAMPLE.read_bytes(),
            BOUNDARY.encode(),
        )
        response = stow(client_for(owner), body)
        assert response.status_code == status.HTTP_200_OK
        assert response.json() == answer(referenced=[referenced(SAMPLE, Job.objects.get())])

    @pytest.mark.req("P5.DICOM.STOW.1")
    def test_the_media_type_and_its_type_parameter_match_in_any_case(self, owner: User) -> None:
        """Multipart/Related; TYPE="Application/DICOM" is the same media type."""
        content_type = f'Multipart/Related; TYPE="Application/DICOM"; boundary={BOUNDARY}'
        response = stow(
            client_for(owner), multipart(SAMPLE.read_bytes()), content_type=content_type
        )
        assert response.status_code == status.HTTP_200_OK


class TestHeaderFields:
    """What ingest keeps of a header for searching: numbers only when they are numbers."""

    @pytest.mark.req("P5.DICOM.QIDO.1")
    @pytest.mark.parametrize(
        ("series_number", "instance_number", "expected"),
        [("7", "12", (7, 12)), ("", "99999999999", (None, None)), ("1.5", "-3", (None, -3))],
        ids=["numbers", "empty-and-too-large", "not-whole-and-negative"],
    )
    def test_series_and_instance_numbers_are_kept_when_they_fit(
        self,
        owner: User,
        tmp_path: Path,
        series_number: str,
        instance_number: str,
        expected: tuple[int | None, int | None],
    ) -> None:
        """An empty, fractional or out-of-range number is stored as none; the file is kept."""
        dataset = dcmread(SAMPLE)
        dataset["SeriesNumber"].value = series_number
        dataset["InstanceNumber"].value = instance_number
        path = tmp_path / "numbers.dcm"
        dataset.save_as(path)
        response = stow(client_for(owner), multipart(path.read_bytes()))
        assert response.status_code == status.HTTP_200_OK
        instance = Instance.objects.get()
        assert (instance.series_number, instance.instance_number) == expected


class TestIdempotent:
    """The same bytes again: referenced with the existing job, no second job."""

    @pytest.mark.req("P5.DICOM.STOW.3")
    def test_the_same_bytes_again_are_referenced_with_the_existing_job(self, owner: User) -> None:
        """A second STOW of one file answers 200 with the first job; one instance, one job."""
        stow(client_for(owner), multipart(SAMPLE.read_bytes()))
        response = stow(client_for(owner), multipart(SAMPLE.read_bytes()))
        assert response.status_code == status.HTTP_200_OK
        assert response.json() == answer(referenced=[referenced(SAMPLE, Job.objects.get())])
        assert rows() == (1, 1, 1, 1)

    @pytest.mark.req("P5.DICOM.STOW.3")
    def test_one_file_twice_in_one_request_makes_one_job(self, owner: User) -> None:
        """Both parts are referenced, with the same job."""
        response = stow(client_for(owner), multipart(SAMPLE.read_bytes(), SAMPLE.read_bytes()))
        job = Job.objects.get()
        assert response.json() == answer(
            referenced=[referenced(SAMPLE, job), referenced(SAMPLE, job)]
        )


class TestFailed:
    """Parts not stored: each in the Failed SOP Sequence with the standard's reason."""

    @pytest.mark.req("P5.DICOM.STOW.2")
    def test_some_parts_failed_answers_202_with_both_sequences(self, owner: User) -> None:
        """A DICOM part and a text part: 202, one referenced, one failed with 0xC000."""
        response = stow(client_for(owner), multipart(SAMPLE.read_bytes(), b"not a DICOM file"))
        assert response.status_code == status.HTTP_202_ACCEPTED
        assert response.json() == answer(
            referenced=[referenced(SAMPLE, Job.objects.get())], failed=[failed(0xC000)]
        )
        assert rows() == (1, 1, 1, 1)

    @pytest.mark.req("P5.DICOM.STOW.2")
    def test_no_part_stored_answers_409(self, owner: User, storage_dir: Path) -> None:
        """Two text parts: 409, both failed with 0xC000, nothing stored."""
        response = stow(client_for(owner), multipart(b"one", b"two"))
        assert response.status_code == status.HTTP_409_CONFLICT
        assert response.json() == answer(failed=[failed(0xC000), failed(0xC000)])
        assert rows() == NOTHING
        assert list(storage_dir.rglob("*.dcm")) == []

    @pytest.mark.req("P5.DICOM.STOW.2")
    def test_a_part_declared_dicom_holding_json_fails_with_c000(self, owner: User) -> None:
        """JSON in a part labelled application/dicom is not DICOM: 0xC000."""
        response = stow(client_for(owner), multipart(b'{"00100020": {"vr": "LO"}}'))
        assert (response.status_code, response.json()) == (
            status.HTTP_409_CONFLICT,
            answer(failed=[failed(0xC000)]),
        )

    @pytest.mark.req("P5.DICOM.STOW.2")
    def test_a_part_declared_another_type_fails_with_c000_unread(self, owner: User) -> None:
        """A DICOM file in a part labelled application/json is refused as labelled: 0xC000."""
        body = multipart(SAMPLE.read_bytes(), media_type="application/json")
        response = stow(client_for(owner), body)
        assert (response.status_code, response.json()) == (
            status.HTTP_409_CONFLICT,
            answer(failed=[failed(0xC000)]),
        )
        assert rows() == NOTHING

    @pytest.mark.req("P5.DICOM.STOW.2")
    def test_an_empty_part_fails_with_c000(self, owner: User) -> None:
        """A 0-byte part: 0xC000, and the next part is still stored."""
        response = stow(client_for(owner), multipart(b"", SAMPLE.read_bytes()))
        assert (response.status_code, response.json()) == (
            status.HTTP_202_ACCEPTED,
            answer(referenced=[referenced(SAMPLE, Job.objects.get())], failed=[failed(0xC000)]),
        )

    @pytest.mark.req("P5.DICOM.STOW.2")
    @pytest.mark.parametrize(
        "missing", ["SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "SOPClassUID"]
    )
    def test_a_missing_uid_fails_with_c000(self, owner: User, tmp_path: Path, missing: str) -> None:
        """A header without one of the four UIDs: 0xC000, nothing stored."""
        path = variant(tmp_path, SAMPLE, "no-uid.dcm", **{missing: None})
        response = stow(client_for(owner), multipart(path.read_bytes()))
        assert (response.status_code, response.json()) == (
            status.HTTP_409_CONFLICT,
            answer(failed=[failed(0xC000)]),
        )
        assert rows() == NOTHING

    @pytest.mark.req("P5.DICOM.STOW.2")
    def test_a_malformed_uid_fails_with_c000(self, owner: User, tmp_path: Path) -> None:
        """A SOP Instance UID with letters in it: 0xC000."""
        path = variant(tmp_path, SAMPLE, "bad-uid.dcm", SOPInstanceUID="1.2.abc")
        response = stow(client_for(owner), multipart(path.read_bytes()))
        assert response.json() == answer(failed=[failed(0xC000)])

    @pytest.mark.req("P5.DICOM.STOW.2")
    def test_a_transfer_syntax_no_decoder_handles_fails_with_c122(
        self, owner: User, tmp_path: Path
    ) -> None:
        """MPEG-2 pixel data: 0xC122, referenced transfer syntax not supported."""
        response = stow(client_for(owner), multipart(mpeg2(tmp_path).read_bytes()))
        assert response.json() == answer(failed=[failed(0xC122)])

    @pytest.mark.req("P5.DICOM.STOW.2")
    def test_an_instance_without_pixel_data_fails_with_0122(
        self, owner: User, tmp_path: Path
    ) -> None:
        """No Rows, Columns or pixel data (not an image): 0x0122, SOP class not supported."""
        path = variant(tmp_path, SAMPLE, "no-pixels.dcm", Rows=None, Columns=None, PixelData=None)
        response = stow(client_for(owner), multipart(path.read_bytes()))
        assert response.json() == answer(failed=[failed(0x0122)])

    @pytest.mark.req("P5.DICOM.STOW.2")
    def test_the_same_uid_with_other_bytes_fails_with_0111_naming_it(
        self, owner: User, tmp_path: Path, storage_dir: Path
    ) -> None:
        """A changed file keeping its SOP Instance UID: 0x0111 with its UIDs; the first kept."""
        stow(client_for(owner), multipart(SAMPLE.read_bytes()))
        changed = variant(tmp_path, SAMPLE, "changed.dcm", PatientID="CHANGED")
        response = stow(client_for(owner), multipart(changed.read_bytes()))
        assert (response.status_code, response.json()) == (
            status.HTTP_409_CONFLICT,
            answer(failed=[failed(0x0111, SAMPLE)]),
        )
        instance = Instance.objects.get()
        assert (storage_dir / instance.storage_key).read_bytes() == SAMPLE.read_bytes()

    @pytest.mark.req("P5.DICOM.STOW.2")
    def test_another_study_than_the_path_s_fails_with_a900_naming_it(self, owner: User) -> None:
        """A part of another study than the one in the path: 409, 0xA900 with its UIDs."""
        other_study = generate_uid()
        response = stow(client_for(owner), multipart(SAMPLE.read_bytes()), study=other_study)
        assert (response.status_code, response.json()) == (
            status.HTTP_409_CONFLICT,
            answer(
                failed=[failed(0xA900, SAMPLE)],
                study_url=f"http://testserver/dicomweb/studies/{other_study}",
            ),
        )
        assert rows() == NOTHING

    @pytest.mark.req("P5.DICOM.STOW.2")
    def test_only_the_parts_of_another_study_fail(self, owner: User) -> None:
        """Into sample-01's study: sample-01 stored, sample-02 (another study) fails: 202."""
        response = stow(
            client_for(owner),
            multipart(SAMPLE.read_bytes(), SAMPLE_02.read_bytes()),
            study=uids(SAMPLE)[0],
        )
        assert response.status_code == status.HTTP_202_ACCEPTED
        assert response.json()["00081198"] == element("SQ", failed(0xA900, SAMPLE_02))

    @pytest.mark.req("P5.DICOM.STOW.2")
    def test_a_part_over_the_size_limit_fails_with_a700(self, owner: User, settings: Any) -> None:
        """A part longer than EXAM_MAX_UPLOAD_BYTES: 0xA700, and the next part is still read."""
        settings.EXAM_MAX_UPLOAD_BYTES = SAMPLE.stat().st_size
        large = bundled("CT_small.dcm")
        assert large.stat().st_size > SAMPLE.stat().st_size
        response = stow(client_for(owner), multipart(large.read_bytes(), SAMPLE.read_bytes()))
        assert (response.status_code, response.json()) == (
            status.HTTP_202_ACCEPTED,
            answer(referenced=[referenced(SAMPLE, Job.objects.get())], failed=[failed(0xA700)]),
        )

    @pytest.mark.req("P5.DICOM.STOW.2")
    def test_storage_unavailable_fails_with_a700_storing_nothing(
        self, owner: User, tmp_path: Path, settings: Any
    ) -> None:
        """Storage under a regular file: 0xA700, no row committed."""
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("a file where storage needs a folder")
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(blocker / "storage")},
            },
        }
        response = stow(client_for(owner), multipart(SAMPLE.read_bytes()))
        assert (response.status_code, response.json()) == (
            status.HTTP_409_CONFLICT,
            answer(failed=[failed(0xA700)]),
        )
        assert rows() == NOTHING

    @pytest.mark.req("P5.DICOM.STOW.2")
    def test_a_failing_commit_fails_with_a700_storing_nothing(
        self, owner: User, storage_dir: Path
    ) -> None:
        """The audit INSERT failing in the database (address too long): 0xA700, no row, no file."""
        response = stow_from(owner, "9" * 65)
        assert response.json() == answer(failed=[failed(0xA700)])
        assert rows() == NOTHING
        assert list(storage_dir.rglob("*.dcm")) == []

    @pytest.mark.req("P5.DICOM.STOW.2")
    def test_the_database_failing_before_the_commit_fails_with_a700(
        self, owner: User, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The duplicate check's query failing (the database gone): 0xA700, the reason logged."""

        def unreachable(**kwargs: Any) -> None:
            raise OperationalError("connection refused")

        monkeypatch.setattr(Instance.objects, "filter", unreachable)
        with caplog.at_level(logging.WARNING, logger="exam.pipeline.dicomweb.stow"):
            response = stow(client_for(owner), multipart(SAMPLE.read_bytes()))
        assert response.json() == answer(failed=[failed(0xA700)])
        assert [r.getMessage() for r in caplog.records if r.name == stow_module.__name__] == [
            "STOW part 1 not stored: The database is unavailable (OperationalError); nothing "
            "was stored. (status 0xA700)"
        ]

    @pytest.mark.req("P5.DICOM.STOW.2")
    def test_an_unexpected_error_fails_with_0110_and_is_logged_as_an_error(
        self, owner: User, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A bug inside ingest fails the part with 0x0110; its traceback goes to the log (ERROR)."""

        def broken(**kwargs: Any) -> None:
            raise RuntimeError("a bug")

        monkeypatch.setattr(stow_module, "ingest", broken)
        with caplog.at_level(logging.ERROR, logger="exam.pipeline.dicomweb.stow"):
            response = stow(client_for(owner), multipart(SAMPLE.read_bytes()))
        assert response.json() == answer(failed=[failed(0x0110)])
        (record,) = caplog.records
        assert (record.levelname, record.getMessage()) == (
            "ERROR",
            "STOW part 1 not stored: An internal error; nothing was stored. (status 0x0110)",
        )
        assert record.exc_info is not None
        assert record.exc_info[0] is RuntimeError

    @pytest.mark.req("P5.DICOM.STOW.2", "P5.DICOM.LOG.1")
    def test_a_refused_part_is_logged_as_a_warning_with_its_reason(
        self, owner: User, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The log names the part's number, reason and status, and carries the event fields."""
        with caplog.at_level(logging.INFO, logger="exam.pipeline.dicomweb.stow"):
            stow(client_for(owner), multipart(SAMPLE.read_bytes(), b"text"))
        stored, refused = caplog.records
        assert (stored.levelname, stored.getMessage()) == (
            "INFO",
            f"STOW part 1 stored (job {Job.objects.get().pk})",
        )
        assert (refused.levelname, refused.getMessage()) == (
            "WARNING",
            "STOW part 2 not stored: not a DICOM file "
            "(no 'DICM' prefix after the 128-byte preamble) (status 0xC000)",
        )
        assert (refused.event, refused.outcome, refused.status, refused.error_code) == (  # type: ignore[attr-defined]
            "stow.part",
            "failed",
            0xC000,
            "not_dicom",
        )


def stow_from(user: User, address: str) -> Any:
    """STOW sample-01 from the client address ``address``."""
    return client_for(user).generic(
        "POST",
        "/dicomweb/studies",
        multipart(SAMPLE.read_bytes()),
        content_type=f'multipart/related; type="application/dicom"; boundary={BOUNDARY}',
        REMOTE_ADDR=address,
    )


class TestRefusedRequest:
    """What is wrong with the request as a whole: 415, 400, 401, 503."""

    @pytest.mark.req("P5.DICOM.STOW.4")
    @pytest.mark.parametrize(
        "content_type",
        [
            "application/dicom",
            f"multipart/related; boundary={BOUNDARY}",
            f'multipart/related; type="application/dicom+json"; boundary={BOUNDARY}',
            f'multipart/form-data; type="application/dicom"; boundary={BOUNDARY}',
        ],
        ids=["single-part", "no-type", "metadata-type", "form-data"],
    )
    def test_another_media_type_is_refused_with_415(self, owner: User, content_type: str) -> None:
        """Only multipart/related; type="application/dicom" is stored; nothing else is read."""
        response = stow(
            client_for(owner), multipart(SAMPLE.read_bytes()), content_type=content_type
        )
        assert (response.status_code, response.json()) == (
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            {"detail": 'Send the instances as multipart/related; type="application/dicom".'},
        )
        assert rows() == NOTHING

    @pytest.mark.req("P5.DICOM.STOW.4")
    def test_no_boundary_is_refused_with_400(self, owner: User) -> None:
        """A Content-Type without a boundary parameter: 400."""
        response = stow(
            client_for(owner),
            multipart(SAMPLE.read_bytes()),
            content_type='multipart/related; type="application/dicom"',
        )
        assert (response.status_code, response.json()) == (
            status.HTTP_400_BAD_REQUEST,
            {"detail": "The Content-Type names no multipart boundary."},
        )

    @pytest.mark.req("P5.DICOM.STOW.4")
    def test_a_part_with_no_closing_boundary_is_never_stored_400(
        self, owner: User, storage_dir: Path
    ) -> None:
        """A whole DICOM file and no closing boundary after it: 400, the part failed (0xC000)."""
        response = stow(client_for(owner), multipart(SAMPLE.read_bytes(), end=False)[:-2])
        assert (response.status_code, response.json()) == (
            status.HTTP_400_BAD_REQUEST,
            answer(failed=[failed(0xC000)]),
        )
        assert rows() == NOTHING
        assert list(storage_dir.rglob("*.dcm")) == []

    @pytest.mark.req("P5.DICOM.STOW.4")
    def test_parts_before_a_cut_one_are_stored_202(self, owner: User) -> None:
        """A complete part, then one cut off: the first stored, the cut one failed, 202."""
        body = (
            multipart(SAMPLE.read_bytes(), end=False)
            + multipart(SAMPLE_02.read_bytes(), end=False)[:-2]
        )
        response = stow(client_for(owner), body)
        assert (response.status_code, response.json()) == (
            status.HTTP_202_ACCEPTED,
            answer(referenced=[referenced(SAMPLE, Job.objects.get())], failed=[failed(0xC000)]),
        )

    @pytest.mark.req("P5.DICOM.STOW.4")
    @pytest.mark.parametrize(
        "body",
        [b"", b"no boundary anywhere", b"--%s--\r\n" % BOUNDARY.encode()],
        ids=["empty", "no-boundary", "no-part"],
    )
    def test_a_body_holding_no_part_is_refused_with_400(self, owner: User, body: bytes) -> None:
        """Nothing to store: 400, an empty Store Instances Response."""
        response = stow(client_for(owner), body)
        assert (response.status_code, response.json()) == (status.HTTP_400_BAD_REQUEST, answer())

    @pytest.mark.req("P5.DICOM.STOW.4")
    def test_a_malformed_part_header_is_refused_with_400(self, owner: User) -> None:
        """A part header line without a colon: the body is not multipart, 400."""
        body = b"--%s\r\nno colon here\r\n\r\n%s\r\n--%s--\r\n" % (
            BOUNDARY.encode(),
            SAMPLE.read_bytes(),
            BOUNDARY.encode(),
        )
        response = stow(client_for(owner), body)
        assert (response.status_code, response.json()) == (status.HTTP_400_BAD_REQUEST, answer())
        assert rows() == NOTHING

    @pytest.mark.req("P5.DICOM.STOW.4", "P5.DICOM.ACCESS.1")
    def test_a_store_without_a_token_is_refused_with_401(self, client: Any, db: None) -> None:
        """No Authorization header: 401, nothing read."""
        response = stow(client, multipart(SAMPLE.read_bytes()))
        assert response.status_code == status.HTTP_401_UNAUTHORIZED
        assert rows() == NOTHING

    @pytest.mark.req("P5.DICOM.STOW.4")
    def test_every_upload_slot_taken_answers_503_with_retry_after(
        self, owner: User, settings: Any
    ) -> None:
        """No upload slot free: 503 with Retry-After, nothing stored."""
        settings.EXAM_MAX_CONCURRENT_UPLOADS = 0
        response = stow(client_for(owner), multipart(SAMPLE.read_bytes()))
        assert (response.status_code, response["Retry-After"], response.json()) == (
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "5",
            {"detail": "Too many uploads at once; retry later. Nothing was stored; retry later."},
        )
        assert rows() == NOTHING

    @pytest.mark.req("P5.DICOM.STOW.4")
    def test_the_database_down_answers_503_with_retry_after(
        self, owner: User, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The upload slot's query failing (the database gone): 503 with Retry-After."""

        def unreachable() -> None:
            raise OperationalError("connection refused")

        monkeypatch.setattr(views, "upload_slot", unreachable)
        response = stow(client_for(owner), multipart(SAMPLE.read_bytes()))
        assert (response.status_code, response["Retry-After"], response.json()) == (
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "5",
            {"detail": "The database is unavailable. Nothing was stored; retry later."},
        )


class Disconnecting:
    """A request body whose connection breaks after ``good`` bytes."""

    def __init__(self, body: bytes, good: int) -> None:
        self.body, self.good, self.offset = body, good, 0

    def read(self, size: int = -1, /) -> bytes:
        if self.offset >= self.good:
            raise OSError("connection reset by peer")
        chunk = self.body[self.offset : min(self.offset + size, self.good)]
        self.offset += len(chunk)
        return chunk


@pytest.mark.req("P5.DICOM.STOW.2")
def test_a_client_gone_mid_part_fails_that_part_with_a700(
    owner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The body's connection breaking inside a part: that part 0xA700, the answer still given."""
    body = multipart(SAMPLE.read_bytes())
    monkeypatch.setattr(
        stow_module, "body_stream", lambda request: (Disconnecting(body, len(body) // 2), None)
    )
    response = stow(client_for(owner), body)
    assert (response.status_code, response.json()) == (
        status.HTTP_409_CONFLICT,
        answer(failed=[failed(0xA700)]),
    )
    assert rows() == NOTHING
