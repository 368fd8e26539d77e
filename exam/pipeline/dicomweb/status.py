"""The DICOM status of an instance ingest would not store: one table for STOW-RS and C-STORE.

STOW-RS's Failure Reason (PS3.18 Table I.2-2) takes its values from C-STORE's
statuses (PS3.4 Table B.2-1) and PS3.7's general ones, so the DIMSE gateway
and DICOMweb answer the same refusal with the same code:

========  ==========================================  ==================================
status    meaning (the standard's)                    when
========  ==========================================  ==================================
``A700``  Refused: out of resources                   too large; storage, database or
                                                      upload slots unavailable
``A900``  Error: data set does not match SOP class    STOW into a study it is not part of
``C000``  Error: cannot understand                    not DICOM, unreadable, a required
                                                      UID missing or malformed
``C122``  Referenced transfer syntax not supported    no decoder here for its syntax
``0122``  Referenced SOP class not supported          no pixel data (not an image)
``0111``  Duplicate SOP instance                      same UID already stored, other bytes
``0110``  Processing failure                          anything unexpected (logged)
========  ==========================================  ==================================
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import DatabaseError

from exam.pipeline.ingest import Busy, Duplicate, StudyMismatch, TooLarge, Unavailable
from exam.pipeline.processing import InstanceRefused

SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
DOES_NOT_MATCH = 0xA900
CANNOT_UNDERSTAND = 0xC000
SYNTAX_NOT_SUPPORTED = 0xC122
SOP_CLASS_NOT_SUPPORTED = 0x0122
DUPLICATE_SOP_INSTANCE = 0x0111
PROCESSING_FAILURE = 0x0110
#: The status of each reason :func:`exam.pipeline.processing.inspect` refuses a file for.
REFUSED = {
    "not_dicom": CANNOT_UNDERSTAND,
    "unreadable": CANNOT_UNDERSTAND,
    "missing_uid": CANNOT_UNDERSTAND,
    "invalid_uid": CANNOT_UNDERSTAND,
    "undecodable": SYNTAX_NOT_SUPPORTED,
    "no_pixels": SOP_CLASS_NOT_SUPPORTED,
}


@dataclass(frozen=True)
class Failure:
    """Why an instance was not stored: its DICOM status, a code for logs, a reason in words.

    ``expected`` is False for a failure nobody planned for (a bug): log its traceback.
    """

    status: int
    code: str
    reason: str
    expected: bool = True


def failure(error: Exception) -> Failure:
    """The failure ``error``, raised while ingesting one instance, stands for."""
    match error:
        case InstanceRefused():
            return Failure(REFUSED[error.code], error.code, error.reason)
        case StudyMismatch():
            return Failure(DOES_NOT_MATCH, "study_mismatch", str(error))
        case Duplicate():
            return Failure(DUPLICATE_SOP_INSTANCE, "duplicate", str(error))
        case TooLarge():
            return Failure(OUT_OF_RESOURCES, "too_large", str(error))
        case Busy() | Unavailable():
            return Failure(OUT_OF_RESOURCES, "unavailable", str(error))
        case DatabaseError():
            return Failure(
                OUT_OF_RESOURCES,
                "unavailable",
                f"The database is unavailable ({type(error).__name__}); nothing was stored.",
            )
    return Failure(PROCESSING_FAILURE, "internal", "An internal error; nothing was stored.", False)
