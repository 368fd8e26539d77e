"""Ingest: one uploaded DICOM file in, one stored instance and one queued job out.

Every interface (the instances API, DICOMweb STOW-RS, the DIMSE gateway, the
portal) hands its bytes to :func:`ingest`, which

1. spools the body to a local file in chunks, counting and hashing as it goes
   (memory does not grow with the file; too large is refused as soon as known),
2. reads the header there (:func:`exam.pipeline.processing.inspect`) and
   refuses what the workers cannot process,
3. answers a repeated upload from the instance already stored (same bytes) or
   refuses it (different bytes), leaving the original untouched,
4. writes the original to object storage under a key made of its SHA-256,
5. commits, in one transaction, the instance, its job, the outbox row that
   publishes the job, and an audit row.

A failed commit deletes the object again; a crash between 4 and 5 leaves an
object no instance names, which the sweeper deletes.  The unique constraint
on (owner, SOP Instance UID) settles concurrent uploads of one file: one
instance, one job.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from exam.logs import get_logger
from exam.pipeline import faults
from exam.pipeline.dicomweb.header import header_fields
from exam.pipeline.models import AuditEvent, Instance, Job, Outbox, SizeClass
from exam.pipeline.processing import HeaderFacts, inspect
from exam.pipeline.storage import STORAGE_ERRORS

logger = get_logger(__name__)

CHUNK_BYTES = 1 << 20
#: Advisory-lock namespace of the upload slots (pg_try_advisory_lock(namespace, slot)).
UPLOAD_SLOTS_LOCK = 0x45584D01


class Readable(Protocol):
    """What ingest reads a file from: ``read(n)`` returns up to n bytes, ``b""`` at the end."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes."""
        ...  # pragma: no cover - a protocol


class TooLarge(Exception):
    """The body, or the decoded image, is over its limit; the message names the limit."""


class Duplicate(Exception):
    """Another file with the same SOP Instance UID is already stored for this owner."""

    def __init__(self, existing: Job) -> None:
        super().__init__(
            "An instance with this SOP Instance UID and different content is already stored."
        )
        self.existing = existing


class StudyMismatch(Exception):
    """The file belongs to another study than the one the request named."""

    def __init__(self, facts: HeaderFacts) -> None:
        super().__init__("The instance belongs to another study than the one named.")
        self.facts = facts


class Busy(Exception):
    """Too many uploads at once; the client should retry later."""


class Unavailable(Exception):
    """Storage or the database failed; nothing was committed and the client may retry."""


@dataclass(frozen=True)
class Ingested:
    """The job of an upload, and whether this upload created it (False: already uploaded)."""

    job: Job
    created: bool


def ingest(
    *,
    owner: User,
    stream: Readable,
    declared_length: int | None,
    filename: str = "",
    correlation_id: str,
    client_address: str = "",
    study_instance_uid: str | None = None,
) -> Ingested:
    """Store one DICOM file read from ``stream`` and queue its job.

    ``study_instance_uid``, when given, is the only study the file may belong to.

    Raises
    ------
    TooLarge
        The body (declared or read) exceeds ``EXAM_MAX_UPLOAD_BYTES``, or the
        decoded pixel data exceeds the largest size class.
    InstanceRefused
        Not DICOM, unreadable, missing UIDs, or not decodable by the workers.
    Duplicate
        Same SOP Instance UID, different bytes.
    StudyMismatch
        The file's study is not ``study_instance_uid``.
    Unavailable
        Storage or the database failed; nothing was committed.
    """
    limit = settings.EXAM_MAX_UPLOAD_BYTES
    if declared_length is not None and declared_length > limit:
        raise TooLarge(f"The body is larger than the limit of {limit} bytes.")
    with _spooled(stream, limit) as (path, sha256, size):
        facts = inspect(path)
        if study_instance_uid is not None and facts.study_instance_uid != study_instance_uid:
            raise StudyMismatch(facts)
        queue = size_class(facts)
        existing = _existing(owner, facts, sha256)
        if existing is not None:
            return Ingested(existing, created=False)
        key = _store(path, sha256)
    faults.checkpoint("ingest.stored")
    try:
        with transaction.atomic():
            instance = Instance.objects.create(
                owner=owner,
                sop_instance_uid=facts.sop_instance_uid,
                sop_class_uid=facts.sop_class_uid,
                study_instance_uid=facts.study_instance_uid,
                series_instance_uid=facts.series_instance_uid,
                transfer_syntax_uid=facts.transfer_syntax_uid,
                sha256=sha256,
                size=size,
                storage_key=key,
                filename=Path(filename).name[:255],
                patient_id=facts.patient_id[:64],
                modality=facts.modality[:16],
                study_date=facts.study_date,
                rows=facts.rows,
                columns=facts.columns,
                frames=facts.frames,
                size_class=queue,
                **header_fields(facts.header),
            )
            job = Job.objects.create(
                instance=instance,
                owner=owner,
                pipeline_version=settings.EXAM_PIPELINE_VERSION,
                queue=queue,
                correlation_id=correlation_id,
            )
            Outbox.objects.create(job=job, queue=queue, not_before=timezone.now())
            AuditEvent.objects.create(
                actor=owner,
                owner=owner,
                action="upload",
                object_type="job",
                object_id=job.pk,
                client_address=client_address,
                correlation_id=correlation_id,
            )
    except IntegrityError:
        # A concurrent upload of the same SOP Instance UID committed first:
        # its object is the one kept, and this one (saved under a fresh name)
        # would be an orphan.
        _discard(key)
        existing = _existing(owner, facts, sha256)
        if existing is None:  # pragma: no cover - the constraint names no other case
            raise
        return Ingested(existing, created=False)
    except DatabaseError as error:
        _discard(key)
        raise Unavailable(_unavailable("The database", error)) from error
    logger.info(
        "upload accepted",
        extra={
            "event": "upload.accepted",
            "job_id": job.pk,
            "correlation_id": correlation_id,
            "queue": queue,
        },
    )
    return Ingested(job, created=True)


def size_class(facts: HeaderFacts) -> SizeClass:
    """The queue for an instance of this decoded size; TooLarge above the largest class."""
    for name, limit in settings.EXAM_SIZE_CLASSES.items():
        if facts.decoded_bytes <= limit:
            return SizeClass(name)
    largest = max(settings.EXAM_SIZE_CLASSES.values())
    raise TooLarge(
        f"The decoded pixel data ({facts.decoded_bytes} bytes) is larger than the largest "
        f"size class ({largest} bytes)."
    )


@contextmanager
def upload_slot() -> Iterator[None]:
    """Hold one of ``EXAM_MAX_CONCURRENT_UPLOADS`` slots shared by every web process.

    The slots are PostgreSQL advisory locks, so they hold across processes
    and are freed even if a process dies.

    Raises
    ------
    Busy
        When every slot is taken.
    """
    with connection.cursor() as cursor:
        for slot in range(settings.EXAM_MAX_CONCURRENT_UPLOADS):
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [UPLOAD_SLOTS_LOCK, slot])
            if cursor.fetchone()[0]:
                break
        else:
            raise Busy("Too many uploads at once; retry later.")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [UPLOAD_SLOTS_LOCK, slot])


@contextmanager
def _spooled(stream: Readable, limit: int) -> Iterator[tuple[Path, str, int]]:
    digest = hashlib.sha256()
    size = 0
    with ExitStack() as stack:
        try:
            spool = stack.enter_context(
                tempfile.NamedTemporaryFile(dir=settings.EXAM_SPOOL_DIR, suffix=".dcm")
            )
            while chunk := stream.read(CHUNK_BYTES):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"The body is larger than the limit of {limit} bytes.")
                digest.update(chunk)
                spool.write(chunk)
            spool.flush()
        except OSError as error:
            # The spool folder missing or full (a body cut short reads as a short file).
            raise Unavailable(_unavailable("The spool folder", error)) from error
        yield Path(spool.name), digest.hexdigest(), size


def _existing(owner: User, facts: HeaderFacts, sha256: str) -> Job | None:
    instance = Instance.objects.filter(owner=owner, sop_instance_uid=facts.sop_instance_uid).first()
    if instance is None:
        return None
    job = instance.jobs.get(pipeline_version=settings.EXAM_PIPELINE_VERSION)
    if instance.sha256 != sha256:
        raise Duplicate(job)
    return job


def _store(path: Path, sha256: str) -> str:
    """Write the original under its content's key; return the key (a new one if that was taken)."""
    key = f"originals/{sha256[:2]}/{sha256}.dcm"
    try:
        with path.open("rb") as original:
            return default_storage.save(key, File(original))
    except STORAGE_ERRORS as error:
        raise Unavailable(_unavailable("Storage", error)) from error


def _discard(key: str) -> None:
    """Delete the object of an upload that was not committed (what is left, the sweeper deletes)."""
    with suppress(*STORAGE_ERRORS):
        default_storage.delete(key)


def _unavailable(what: str, error: Exception) -> str:
    # The client learns the kind of failure, never a server path.
    return f"{what} is unavailable ({type(error).__name__}); nothing was stored. Retry later."
