"""The DIMSE gateway: C-STORE through ingest, proven with pynetdicom and DCMTK as senders.

Most tests run the gateway in this process (its server in a thread, on the
test database) and send with pynetdicom as the SCU; the DCMTK tests start
``python -m exam dimse`` as a user does and send with ``storescu``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import OperationalError
from pydicom import Dataset, dcmread
from pydicom.uid import MPEG2MPML, ExplicitVRLittleEndian
from pynetdicom import AE, _config
from pynetdicom.association import Association
from pynetdicom.sop_class import CTImageStorage, Verification  # type: ignore[attr-defined]

from exam.pipeline import dimse
from exam.pipeline.models import AeTitle, Instance, Job, Outbox
from tests.part5_pipeline.conftest import copies, wait_for

from .conftest import SAMPLE, bundled, uids, variant

pytestmark = [pytest.mark.slow]

CALLING = "MODALITY"


@pytest.fixture
def gateway(storage_dir: Path, transactional_db: None) -> Iterator[tuple[str, int]]:
    """The gateway in this process, on a free port, as AE title EXAM; its address."""
    previous = _config.STORE_RECV_CHUNKED_DATASET
    server = dimse.start(ae_title="EXAM", host="127.0.0.1", port=0)
    yield server.server_address[0], server.server_address[1]
    server.shutdown()
    _config.STORE_RECV_CHUNKED_DATASET = previous


@pytest.fixture
def modality(alice: User) -> User:
    """Alice, with the calling AE title MODALITY mapped to her account."""
    AeTitle.objects.create(title=CALLING, owner=alice)
    return alice


def associate(
    address: tuple[str, int], *contexts: tuple[str, list[str]], calling: str = CALLING
) -> Association:
    """An association from ``calling`` to the gateway proposing ``contexts``."""
    ae = AE(ae_title=calling)
    for abstract_syntax, syntaxes in contexts or [(Verification, [ExplicitVRLittleEndian])]:
        ae.add_requested_context(abstract_syntax, syntaxes)
    return ae.associate(*address, ae_title="EXAM")


def send(address: tuple[str, int], *paths: Path, calling: str = CALLING) -> list[Dataset]:
    """C-STORE ``paths`` over one association; the response status datasets."""
    contexts = {}
    for path in paths:
        header = dcmread(path, stop_before_pixels=True)
        contexts[str(header.SOPClassUID)] = [str(header.file_meta.TransferSyntaxUID)]
    association = associate(address, *contexts.items(), calling=calling)
    assert association.is_established
    try:
        return [association.send_c_store(path) for path in paths]
    finally:
        association.release()


def statuses(responses: list[Dataset]) -> list[int]:
    """The Status of each response."""
    return [int(response.Status) for response in responses]


def gateway_records(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """The level and message of each record the gateway logged (not the sender's)."""
    return [
        (record.levelname, record.getMessage())
        for record in caplog.records
        if record.name == "exam.pipeline.dimse"
    ]


def rows() -> tuple[int, int, int]:
    """Instances, jobs and outbox rows."""
    return Instance.objects.count(), Job.objects.count(), Outbox.objects.count()


class TestStore:
    """C-STORE and C-ECHO from a known AE: through ingest, Success once committed."""

    @pytest.mark.req("P5.DICOM.DIMSE.1")
    def test_an_echo_from_a_known_ae_title_succeeds(
        self, gateway: tuple[str, int], modality: User
    ) -> None:
        """C-ECHO answers 0x0000."""
        association = associate(gateway)
        assert association.is_established
        assert association.send_c_echo().Status == 0x0000
        association.release()

    @pytest.mark.req("P5.DICOM.DIMSE.1")
    def test_a_stored_dataset_is_the_calling_account_s_with_a_queued_job(
        self, gateway: tuple[str, int], modality: User, storage_dir: Path
    ) -> None:
        """0x0000, then the instance (the dataset as sent), its job and outbox row exist."""
        ct = bundled("CT_small.dcm")
        assert statuses(send(gateway, ct)) == [0x0000]
        job = Job.objects.get()
        assert (job.owner, job.instance.owner, job.state) == (modality, modality, "queued")
        assert job.instance.sop_instance_uid == uids(ct)[2]
        assert rows() == (1, 1, 1)
        stored = dcmread(storage_dir / job.instance.storage_key)
        assert stored.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert stored == dcmread(ct)

    @pytest.mark.req("P5.DICOM.DIMSE.1")
    def test_success_is_answered_only_after_the_commit(
        self, gateway: tuple[str, int], modality: User, faults_dir: Path
    ) -> None:
        """Held between storing the file and committing: no answer and no row until it goes on."""
        (faults_dir / "ingest.stored.pause").touch()
        answers: list[list[int]] = []
        sender = threading.Thread(target=lambda: answers.append(statuses(send(gateway, SAMPLE))))
        sender.start()
        wait_for(lambda: list(faults_dir.glob("ingest.stored.*.reached")), what="ingest paused")
        assert (answers, rows()) == ([], (0, 0, 0))
        (faults_dir / "ingest.stored.go").touch()
        sender.join(timeout=60)
        assert answers == [[0x0000]]
        assert rows() == (1, 1, 1)

    @pytest.mark.req("P5.DICOM.DIMSE.1")
    def test_an_ae_title_removed_meanwhile_is_refused_with_0124(
        self, gateway: tuple[str, int], modality: User
    ) -> None:
        """The AE title's account mapping deleted after the association began: 0x0124."""
        association = associate(gateway, (CTImageStorage, [ExplicitVRLittleEndian]))
        AeTitle.objects.all().delete()
        response = association.send_c_store(bundled("CT_small.dcm"))
        association.release()
        assert (response.Status, response.ErrorComment) == (0x0124, "No account has this AE title.")
        assert rows() == (0, 0, 0)

    @pytest.mark.req("P5.DICOM.DIMSE.3")
    def test_the_same_dataset_again_succeeds_without_a_second_job(
        self, gateway: tuple[str, int], modality: User
    ) -> None:
        """A resend (a modality's retry) answers 0x0000 and makes no second instance or job."""
        assert statuses(send(gateway, SAMPLE)) == [0x0000]
        assert statuses(send(gateway, SAMPLE)) == [0x0000]
        assert rows() == (1, 1, 1)


class TestRefused:
    """Associations and datasets the gateway refuses."""

    @pytest.mark.req("P5.DICOM.DIMSE.2")
    def test_an_unknown_calling_ae_title_is_rejected(
        self, gateway: tuple[str, int], modality: User, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A-ASSOCIATE-RJ: rejected permanent, by the service user, calling AE not recognised."""
        with caplog.at_level(logging.WARNING, logger="exam.pipeline.dimse"):
            association = associate(gateway, calling="STRANGER")
        assert association.is_rejected
        rejection = association.acceptor.primitive
        assert rejection is not None
        assert (rejection.result, rejection.result_source, rejection.diagnostic) == (1, 1, 3)
        assert gateway_records(caplog) == [
            ("WARNING", "association from calling AE title 'STRANGER' rejected: no account has it")
        ]

    @pytest.mark.req("P5.DICOM.DIMSE.2")
    def test_the_database_down_rejects_the_association_as_transient(
        self, gateway: tuple[str, int], modality: User, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The AE title cannot be looked up: rejected transient, so the sender retries later."""

        def unreachable(**kwargs: Any) -> None:
            raise OperationalError("connection refused")

        monkeypatch.setattr(AeTitle.objects, "filter", unreachable)
        association = associate(gateway)
        rejection = association.acceptor.primitive
        assert association.is_rejected
        assert rejection is not None
        assert (rejection.result, rejection.result_source, rejection.diagnostic) == (2, 1, 1)

    @pytest.mark.req("P5.DICOM.DIMSE.2")
    def test_a_context_of_only_an_unsupported_transfer_syntax_is_rejected_and_logged(
        self, gateway: tuple[str, int], modality: User, caplog: pytest.LogCaptureFixture
    ) -> None:
        """CT Image Storage in MPEG-2 only: the context is rejected (0x04), a WARNING says why."""
        with caplog.at_level(logging.WARNING, logger="exam.pipeline.dimse"):
            association = associate(gateway, (CTImageStorage, [MPEG2MPML]))
        # Nothing accepted: the sender itself gives up the association.
        assert not association.is_established
        (context,) = association.rejected_contexts
        assert (context.abstract_syntax, context.result) == (CTImageStorage, 0x04)
        assert gateway_records(caplog) == [
            (
                "WARNING",
                "presentation context for CT Image Storage rejected: none of its transfer "
                "syntaxes can be decoded here (proposed: MPEG2 Main Profile / Main Level)",
            )
        ]

    @pytest.mark.req("P5.DICOM.DIMSE.3")
    def test_storage_unavailable_answers_a700_storing_nothing(
        self, gateway: tuple[str, int], modality: User, tmp_path: Path, settings: Any
    ) -> None:
        """Storage under a regular file: 0xA700 with the reason, no row, nothing half-stored."""
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("a file where storage needs a folder")
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(blocker / "storage")},
            },
        }
        (response,) = send(gateway, SAMPLE)
        assert (response.Status, response.ErrorComment) == (
            0xA700,
            "Storage is unavailable (NotADirectoryError); nothing was stored."[:64],
        )
        assert rows() == (0, 0, 0)

    @pytest.mark.req("P5.DICOM.DIMSE.3")
    def test_the_database_failing_at_the_commit_answers_a700_storing_nothing(
        self,
        gateway: tuple[str, int],
        modality: User,
        storage_dir: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The job's INSERT failing in the database: 0xA700; no row, and the file deleted again."""

        def failing(**kwargs: Any) -> None:
            raise OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(Job.objects, "create", failing)
        (response,) = send(gateway, SAMPLE)
        assert response.Status == 0xA700
        assert rows() == (0, 0, 0)
        assert list(storage_dir.rglob("*.dcm")) == []

    @pytest.mark.req("P5.DICOM.DIMSE.3", "P5.DICOM.LOG.1")
    def test_a_dataset_missing_a_uid_answers_c000_with_the_reason_logged(
        self,
        gateway: tuple[str, int],
        modality: User,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """No Study Instance UID: 0xC000, the reason in the Error Comment and a WARNING."""
        path = variant(tmp_path, SAMPLE, "no-study.dcm", StudyInstanceUID=None)
        with caplog.at_level(logging.WARNING, logger="exam.pipeline.dimse"):
            (response,) = send(gateway, path)
        assert (response.Status, response.ErrorComment) == (
            0xC000,
            "the header has no StudyInstanceUID",
        )
        (record,) = [r for r in caplog.records if r.name == "exam.pipeline.dimse"]
        assert (record.levelname, record.getMessage()) == (
            "WARNING",
            "C-STORE refused with status 0xC000: the header has no StudyInstanceUID",
        )
        assert (record.event, record.outcome, record.error_code) == (  # type: ignore[attr-defined]
            "dimse.store",
            "failed",
            "missing_uid",
        )
        assert rows() == (0, 0, 0)

    @pytest.mark.req("P5.DICOM.DIMSE.3")
    def test_an_unexpected_error_answers_0110_and_logs_its_traceback(
        self,
        gateway: tuple[str, int],
        modality: User,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A bug inside ingest: 0x0110 (processing failure), an ERROR with the traceback."""

        def broken(**kwargs: Any) -> None:
            raise RuntimeError("a bug")

        monkeypatch.setattr(dimse, "ingest", broken)
        with caplog.at_level(logging.ERROR, logger="exam.pipeline.dimse"):
            (response,) = send(gateway, SAMPLE)
        assert response.Status == 0x0110
        (record,) = [r for r in caplog.records if r.name == "exam.pipeline.dimse"]
        assert record.levelname == "ERROR"
        assert record.exc_info is not None
        assert record.exc_info[0] is RuntimeError


@pytest.mark.req("P5.DICOM.DIMSE.4")
def test_20_instances_over_4_parallel_associations_make_20_jobs(
    gateway: tuple[str, int], modality: User, tmp_path: Path
) -> None:
    """Four senders at once, five instances each: 20 successes, 20 instances, 20 jobs."""
    files = copies(tmp_path, 20)
    results: dict[int, list[int]] = {}
    barrier = threading.Barrier(4)

    def sender(number: int) -> None:
        barrier.wait()
        results[number] = statuses(send(gateway, *files[number * 5 : number * 5 + 5]))

    threads = [threading.Thread(target=sender, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert results == {number: [0x0000] * 5 for number in range(4)}
    assert rows() == (20, 20, 20)
    assert set(Instance.objects.values_list("sop_instance_uid", flat=True)) == {
        uids(path)[2] for path in files
    }
