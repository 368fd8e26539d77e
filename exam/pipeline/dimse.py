"""The DIMSE gateway: a C-STORE SCP (answering C-ECHO too) in front of ingest, with pynetdicom.

An association is checked as soon as it is requested: its calling AE title
must be one an account has (``python -m exam createuser NAME --ae-title AE``,
the :class:`~exam.pipeline.models.AeTitle` table), or it is rejected with
"calling AE title not recognised".  The storage SOP classes are offered with
the transfer syntaxes the workers decode; a presentation context proposing
none of them is rejected and logged.

pynetdicom writes each dataset to a temporary Part 10 file as it arrives
(``STORE_RECV_CHUNKED_DATASET``, a process-wide setting: memory holds a PDU,
never the dataset), and the C-STORE handler streams that file to
:func:`exam.pipeline.ingest.ingest`: the validation, de-duplication, storage,
job, outbox and audit of every other interface.  The handler answers only
once ingest has returned, so Success (0x0000) means the instance and its job
are committed; a refusal gets its status from
:mod:`exam.pipeline.dicomweb.status`, with the reason as Error Comment.
Each association runs in a thread of its own; the handlers close the
thread's database connection when they are done.
"""

from __future__ import annotations

import logging
import uuid
from typing import cast

from django.contrib.auth.models import User
from django.db import DatabaseError, connections
from pydicom import Dataset
from pydicom.uid import AllTransferSyntaxes
from pynetdicom import AE, AllStoragePresentationContexts, _config, evt
from pynetdicom.events import Event, EventHandlerType
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]
from pynetdicom.transport import ThreadedAssociationServer

from exam.logs import get_logger
from exam.pipeline.dicomweb.status import SUCCESS, failure
from exam.pipeline.ingest import ingest, upload_slot
from exam.pipeline.models import AeTitle
from exam.pipeline.processing import decodable

logger = get_logger(__name__)

#: PS3.8 A-ASSOCIATE-RJ: rejected-permanent, by the service user, calling AE title not recognised.
REJECT_UNKNOWN_CALLER = (0x01, 0x01, 0x03)
#: Rejected-transient, by the service user, no reason given: the database could not answer.
REJECT_TRANSIENT = (0x02, 0x01, 0x01)
#: PS3.7 C.5: the general status of a caller no account has (any more).
NOT_AUTHORIZED = 0x0124
#: Presentation context results (PS3.8 9.3.3.2) and what they mean.
CONTEXT_RESULTS = {
    0x03: "abstract syntax not supported",
    0x04: "none of its transfer syntaxes can be decoded here",
}
ERROR_COMMENT_CHARS = 64


def transfer_syntaxes() -> list[str]:
    """The transfer syntaxes the workers can decode, in pydicom's order."""
    return [str(uid) for uid in AllTransferSyntaxes if decodable(uid)]


def start(*, ae_title: str, host: str, port: int) -> ThreadedAssociationServer:
    """Start the gateway on ``host:port`` in the background; stop it with ``shutdown()``."""
    _config.STORE_RECV_CHUNKED_DATASET = True
    ae = AE(ae_title=ae_title)
    syntaxes = transfer_syntaxes()
    for context in AllStoragePresentationContexts:
        ae.add_supported_context(cast(str, context.abstract_syntax), syntaxes)
    ae.add_supported_context(Verification)
    handlers: list[EventHandlerType] = [
        (evt.EVT_REQUESTED, _on_requested),
        (evt.EVT_ACCEPTED, _on_accepted),
        (evt.EVT_C_STORE, _on_store),
    ]
    server = ae.start_server((host, port), block=False, evt_handlers=handlers)
    assert server is not None  # not blocking: the server is returned
    return server


def _on_requested(event: Event) -> None:
    """Reject an association whose calling AE title no account has."""
    request = event.assoc.requestor.primitive
    assert request is not None  # the A-ASSOCIATE-RQ that raised the event
    title = request.calling_ae_title.strip()
    try:
        known = AeTitle.objects.filter(title=title).exists()
    except DatabaseError as error:
        logger.error(
            "association refused: the database is unavailable (%s)",
            type(error).__name__,
            extra={"event": "dimse.rejected", "error_code": "unavailable"},
        )
        _reject(event, REJECT_TRANSIENT)
        return
    finally:
        connections.close_all()
    if not known:
        logger.warning(
            "association from calling AE title %r rejected: no account has it",
            title,
            extra={"event": "dimse.rejected", "error_code": "unknown_ae_title"},
        )
        _reject(event, REJECT_UNKNOWN_CALLER)


def _reject(event: Event, reason: tuple[int, int, int]) -> None:
    # As pynetdicom's own rejections do: send A-ASSOCIATE-RJ, then wait (kill)
    # until the DUL has sent it and the peer closed, before the socket goes.
    event.assoc.acse.send_reject(*reason)
    event.assoc.kill()


def _on_accepted(event: Event) -> None:
    """Log each presentation context the association proposed and was refused."""
    for context in event.assoc.rejected_contexts:
        logger.warning(
            "presentation context for %s rejected: %s (proposed: %s)",
            getattr(context.abstract_syntax, "name", context.abstract_syntax),
            CONTEXT_RESULTS.get(context.result or 0, f"result {context.result}"),
            ", ".join(syntax.name for syntax in context.transfer_syntax),
            extra={"event": "dimse.context_rejected", "error_code": f"result_{context.result}"},
        )


def _on_store(event: Event) -> Dataset | int:
    """Ingest the received dataset; Success only once its instance and job are committed."""
    title = event.assoc.requestor.ae_title.strip()
    correlation_id = uuid.uuid4().hex
    try:
        owner = User.objects.filter(ae_titles__title=title).first()
        if owner is None:
            return _refuse(NOT_AUTHORIZED, "not_authorized", "No account has this AE title.")
        with upload_slot(), event.dataset_path.open("rb") as dataset:
            ingested = ingest(
                owner=owner,
                stream=dataset,
                declared_length=None,
                correlation_id=correlation_id,
                client_address=event.assoc.requestor.address,
            )
    except Exception as error:  # every failure is answered with a status, never a dropped link
        refused = failure(error)
        return _refuse(refused.status, refused.code, refused.reason, error, refused.expected)
    finally:
        connections.close_all()
    logger.info(
        "C-STORE from %s stored (job %d)",
        title,
        ingested.job.pk,
        extra={
            "event": "dimse.store",
            "outcome": "stored" if ingested.created else "duplicate",
            "job_id": ingested.job.pk,
            "status": SUCCESS,
            "correlation_id": correlation_id,
        },
    )
    return SUCCESS


def _refuse(
    status: int,
    code: str,
    reason: str,
    error: Exception | None = None,
    expected: bool = True,
) -> Dataset:
    logger.log(
        logging.WARNING if expected else logging.ERROR,
        "C-STORE refused with status 0x%04X: %s",
        status,
        reason,
        exc_info=None if expected else error,
        extra={"event": "dimse.store", "outcome": "failed", "status": status, "error_code": code},
    )
    answer = Dataset()
    answer.Status = status
    answer.ErrorComment = reason[:ERROR_COMMENT_CHARS]
    return answer
