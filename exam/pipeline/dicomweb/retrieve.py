"""WADO-RS (PS3.18 10.4): a study's, series' or instance's originals, and their metadata.

Instances are served exactly as stored (the bytes uploaded), streamed from
storage in chunks as parts of a multipart/related answer, each part labelled
with its transfer syntax.  Nothing is transcoded: a request for another
transfer syntax than the one stored is refused with 406.  Metadata is the
header ingest stored as DICOM JSON (bulk data left out) with the Available
Transfer Syntax UID added.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from django.core.files.storage import default_storage
from django.utils.http import parse_header_parameters

from exam.pipeline.ingest import CHUNK_BYTES
from exam.pipeline.models import Instance

DICOM = "application/dicom"


def unacceptable(accept: str, syntaxes: set[str]) -> str | None:
    """Why an ``Accept`` header allows none of the instances' stored ``syntaxes``; None if it does.

    Acceptable: no header, ``*/*``, ``multipart/*``, or ``multipart/related``
    with ``type`` application/dicom (or none) and ``transfer-syntax`` absent,
    ``*`` or the one every instance is stored in.
    """
    if not accept.strip():
        return None
    for media_range in accept.split(","):
        media_type, options = parse_header_parameters(media_range)
        options = {name.lower(): value for name, value in options.items()}
        if media_type in ("*/*", "multipart/*"):
            return None
        if media_type != "multipart/related" or options.get("type", DICOM).lower() != DICOM:
            continue
        if options.get("transfer-syntax", "*") == "*" or {options["transfer-syntax"]} == syntaxes:
            return None
    stored = ", ".join(sorted(syntaxes))
    return (
        f'Ask for multipart/related; type="{DICOM}" with transfer-syntax=* or the one stored '
        f"({stored}): instances are served as uploaded, never transcoded."
    )


def multipart(
    instances: list[Instance], boundary: str | None = None
) -> tuple[str, Iterator[bytes]]:
    """The Content-Type and body of a multipart/related answer of ``instances``' originals."""
    boundary = boundary or uuid.uuid4().hex
    content_type = f'multipart/related; type="{DICOM}"; boundary={boundary}'
    return content_type, _parts(instances, boundary)


def _parts(instances: list[Instance], boundary: str) -> Iterator[bytes]:
    for instance in instances:
        yield (
            f"--{boundary}\r\n"
            f"Content-Type: {DICOM}; transfer-syntax={instance.transfer_syntax_uid}\r\n\r\n"
        ).encode()
        with default_storage.open(instance.storage_key, "rb") as original:
            while chunk := original.read(CHUNK_BYTES):
                yield chunk
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def metadata(instances: list[Instance]) -> list[dict[str, Any]]:
    """The stored headers of ``instances`` as DICOM JSON, each with its transfer syntax."""
    return [
        dict(
            sorted(
                (
                    instance.header
                    | {"00083002": {"vr": "UI", "Value": [instance.transfer_syntax_uid]}}
                ).items()
            )
        )
        for instance in instances
    ]
