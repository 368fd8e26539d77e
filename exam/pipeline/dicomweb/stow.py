"""STOW-RS (PS3.18 10.5): the parts of a multipart/related request, each through ingest.

The body streams part by part (:mod:`.parts`); each part goes through
:func:`exam.pipeline.ingest.ingest` on its own, so a request is not atomic:
the answer lists what was stored (Referenced SOP Sequence, with each
instance's Retrieve URL and its job's URL) and what was not (Failed SOP
Sequence, with the Failure Reason of :mod:`.status`).  The job's URL has no
standard attribute: it travels in a private element of the block
:data:`PRIVATE_CREATOR` (``(0009,1001)``, a UR).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.urls import reverse
from rest_framework import status as http

from exam.logs import get_logger
from exam.pipeline.api import body_stream
from exam.pipeline.dicomweb.parts import BodyError, Part, parts
from exam.pipeline.dicomweb.status import CANNOT_UNDERSTAND, Failure, failure
from exam.pipeline.ingest import Duplicate, StudyMismatch, ingest
from exam.pipeline.models import Job

logger = get_logger(__name__)

DICOM = "application/dicom"
PRIVATE_CREATOR = "EXAM PIPELINE"


@dataclass
class Stored:
    """What a STOW request stored and failed to store, in request order, as DICOM JSON items."""

    referenced: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    #: Why the body could not be read to its end, if it could not.
    broken: str = ""

    @property
    def status(self) -> int:
        """200 all stored, 202 some, 409 none (each for its reason), 400 none and a broken body."""
        if self.referenced:
            return http.HTTP_202_ACCEPTED if self.failed or self.broken else http.HTTP_200_OK
        if self.failed and not self.broken:
            return http.HTTP_409_CONFLICT
        return http.HTTP_400_BAD_REQUEST

    def body(self, study_url: str) -> dict[str, Any]:
        """The Store Instances Response Module (PS3.18 Annex I) as DICOM JSON."""
        body: dict[str, Any] = {"00081190": _element("UR", study_url)}
        if self.failed:
            body["00081198"] = {"vr": "SQ", "Value": self.failed}
        if self.referenced:
            body["00081199"] = {"vr": "SQ", "Value": self.referenced}
        return body


def store(request: HttpRequest, *, owner: User, boundary: str, study: str | None) -> Stored:
    """Ingest every part of the request's multipart body for ``owner``, into ``study`` if named."""
    stream, length = body_stream(request)
    outcome = Stored()
    try:
        for number, part in enumerate(parts(stream, boundary, length), start=1):
            _store_part(request, part, number, owner=owner, study=study, outcome=outcome)
    except BodyError as error:
        outcome.broken = str(error)
        logger.warning(
            "STOW body unreadable: %s", error, extra={"event": "stow.body", "outcome": "broken"}
        )
    return outcome


def _store_part(
    request: HttpRequest,
    part: Part,
    number: int,
    *,
    owner: User,
    study: str | None,
    outcome: Stored,
) -> None:
    correlation_id = getattr(request, "request_id", "")
    try:
        if part.media_type not in ("", DICOM):
            raise _NotDicom(part.media_type)
        ingested = ingest(
            owner=owner,
            stream=part,
            declared_length=None,
            correlation_id=correlation_id,
            client_address=request.META.get("REMOTE_ADDR", ""),
            study_instance_uid=study,
        )
    except BodyError:
        outcome.failed.append({"00081197": _element("US", CANNOT_UNDERSTAND)})
        raise
    except Exception as error:  # one part's failure, whatever it is, fails that part only
        refused = _failure(error)
        outcome.failed.append(_failed_item(refused, error))
        logger.log(
            logging.WARNING if refused.expected else logging.ERROR,
            "STOW part %d not stored: %s (status 0x%04X)",
            number,
            refused.reason,
            refused.status,
            exc_info=None if refused.expected else error,
            extra={
                "event": "stow.part",
                "outcome": "failed",
                "status": refused.status,
                "error_code": refused.code,
                "correlation_id": correlation_id,
            },
        )
        return
    outcome.referenced.append(_referenced_item(request, ingested.job))
    logger.info(
        "STOW part %d stored (job %d)",
        number,
        ingested.job.pk,
        extra={
            "event": "stow.part",
            "outcome": "stored" if ingested.created else "duplicate",
            "job_id": ingested.job.pk,
            "correlation_id": correlation_id,
        },
    )


class _NotDicom(Exception):
    def __init__(self, media_type: str) -> None:
        super().__init__(f"the part is declared {media_type}, not {DICOM}")


def _failure(error: Exception) -> Failure:
    if isinstance(error, _NotDicom):
        return Failure(CANNOT_UNDERSTAND, "not_dicom", str(error))
    return failure(error)


def _failed_item(refused: Failure, error: Exception) -> dict[str, Any]:
    item = {"00081197": _element("US", refused.status)}
    # The UIDs are named only where the header was understood.
    if isinstance(error, Duplicate):
        item |= _uids(
            error.existing.instance.sop_class_uid, error.existing.instance.sop_instance_uid
        )
    elif isinstance(error, StudyMismatch):
        item |= _uids(error.facts.sop_class_uid, error.facts.sop_instance_uid)
    return item


def _referenced_item(request: HttpRequest, job: Job) -> dict[str, Any]:
    instance = job.instance
    retrieve = reverse(
        "dicomweb-instance",
        args=[instance.study_instance_uid, instance.series_instance_uid, instance.sop_instance_uid],
    )
    return {
        **_uids(instance.sop_class_uid, instance.sop_instance_uid),
        "00081190": _element("UR", request.build_absolute_uri(retrieve)),
        "00090010": _element("LO", PRIVATE_CREATOR),
        "00091001": _element(
            "UR", request.build_absolute_uri(reverse("job-detail", args=[job.pk]))
        ),
    }


def _uids(sop_class: str, sop_instance: str) -> dict[str, Any]:
    return {"00081150": _element("UI", sop_class), "00081155": _element("UI", sop_instance)}


def _element(vr: str, value: object) -> dict[str, Any]:
    """A DICOM JSON element; an empty string is an empty (zero-length) value."""
    return {"vr": vr, "Value": [value]} if value != "" else {"vr": vr}
