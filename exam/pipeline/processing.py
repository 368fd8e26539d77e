"""What the pipeline reads from a DICOM file: header facts at ingest, pixels in the worker.

:func:`inspect` reads the header only (Part 1's :func:`exam.dicom_io.read_header`)
and says where a file stands before anything is stored: its UIDs, whether the
workers can decode its transfer syntax, and its decoded size, which picks the
queue.  :func:`analyse` decodes the pixel data frame by frame with pydicom's
pixel plugins (so memory holds one frame, never the whole instance), and
computes per-frame statistics, one histogram of the whole instance, a PNG
preview of the middle frame and the study record as Part 2 reads it.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image
from pydicom import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.processing import apply_rescale
from pydicom.pixels.utils import iter_pixels
from pydicom.valuerep import DA

from exam.dicom_io import DicomReadError, read_header
from exam.logs import escape_controls
from exam.records import StudyRecord

#: Histogram bins over the instance's value range.
HISTOGRAM_BINS = 64
REQUIRED_UIDS = ("SOPInstanceUID", "SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID")
#: What a UID must be to be stored (PS3.5 9.1); unlike pydicom's validator, it
#: lets through the leading zeros legacy files often have.
UID_PATTERN = re.compile(r"[0-9.]{1,64}")


class InstanceRefused(Exception):
    """A file the pipeline will not take; ``reason`` says why, ``code`` classifies it.

    Codes: ``not_dicom``, ``unreadable``, ``missing_uid``, ``invalid_uid``,
    ``undecodable``, ``no_pixels``.
    """

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class HeaderFacts:
    """What ingest needs from a header: identity, display fields and decoded size.

    ``header`` is the header itself (no pixel data), for what DICOMweb stores of it.
    """

    sop_instance_uid: str
    sop_class_uid: str
    study_instance_uid: str
    series_instance_uid: str
    transfer_syntax_uid: str
    patient_id: str
    modality: str
    study_date: datetime.date | None
    rows: int
    columns: int
    frames: int
    decoded_bytes: int
    header: Dataset


@dataclass(frozen=True)
class FrameStats:
    """One frame's statistics, on rescaled values (Rescale Slope/Intercept applied)."""

    min: float
    max: float
    mean: float
    std: float


@dataclass(frozen=True)
class Analysis:
    """What a worker computes for one instance."""

    frames: list[FrameStats]
    bin_edges: list[float]
    counts: list[int]
    png: bytes
    record: dict[str, str]

    @property
    def png_sha256(self) -> str:
        """The SHA-256 of the preview's bytes."""
        return hashlib.sha256(self.png).hexdigest()


def inspect(path: Path) -> HeaderFacts:
    """Read the header of the DICOM file at ``path`` and decide whether the pipeline can take it.

    Raises
    ------
    InstanceRefused
        ``not_dicom`` (no DICM prefix), ``unreadable`` (truncated, malformed),
        ``missing_uid`` (a required UID absent or empty), ``invalid_uid`` (one
        that is not digits and dots, or longer than 64), ``undecodable`` (a
        transfer syntax no installed decoder handles), ``no_pixels`` (no
        pixel data: not an image).
    """
    try:
        header = read_header(path)
    except DicomReadError as error:
        code = "not_dicom" if "not a DICOM file" in str(error) else "unreadable"
        raise InstanceRefused(code, str(error).removeprefix(f"{path}: ")) from None
    uids = {keyword: str(header.get(keyword, "")).strip() for keyword in REQUIRED_UIDS}
    missing = [keyword for keyword, uid in uids.items() if not uid]
    if missing:
        raise InstanceRefused("missing_uid", f"the header has no {', '.join(missing)}")
    invalid = [keyword for keyword, uid in uids.items() if not UID_PATTERN.fullmatch(uid)]
    if invalid:
        raise InstanceRefused(
            "invalid_uid", f"not a UID (at most 64 digits and dots): {', '.join(invalid)}"
        )
    syntax = header.file_meta.get("TransferSyntaxUID")
    if syntax is None or not decodable(str(syntax)):
        name = getattr(syntax, "name", None) or str(syntax)
        raise InstanceRefused("undecodable", f"no decoder here for transfer syntax {name}")
    if "Rows" not in header or "Columns" not in header or "BitsAllocated" not in header:
        raise InstanceRefused("no_pixels", "the header describes no pixel data")
    frames = int(header.get("NumberOfFrames") or 1)
    samples = int(header.get("SamplesPerPixel") or 1)
    decoded = header.Rows * header.Columns * frames * samples * max(header.BitsAllocated // 8, 1)
    return HeaderFacts(
        sop_instance_uid=str(header.SOPInstanceUID),
        sop_class_uid=str(header.SOPClassUID),
        study_instance_uid=str(header.StudyInstanceUID),
        series_instance_uid=str(header.SeriesInstanceUID),
        transfer_syntax_uid=str(syntax),
        # Control characters, escaped: PostgreSQL takes no NUL, a terminal no ESC.
        patient_id=escape_controls(str(header.get("PatientID", ""))),
        modality=escape_controls(str(header.get("Modality", ""))),
        study_date=_date(header),
        rows=int(header.Rows),
        columns=int(header.Columns),
        frames=frames,
        decoded_bytes=decoded,
        header=header,
    )


def analyse(path: Path) -> Analysis:
    """Decode the pixel data of ``path`` frame by frame and compute the pipeline's result.

    Raises
    ------
    InstanceRefused
        A permanent failure of the job: ``undecodable`` when the pixel data
        cannot be decoded, ``unreadable`` when the header does not hold a
        study record (no usable Patient ID).
    """
    try:
        header = read_header(path)
        record = _record(path)
    except DicomReadError as error:
        raise InstanceRefused("unreadable", str(error).removeprefix(f"{path}: ")) from None
    stats: list[FrameStats] = []
    low, high = np.inf, -np.inf
    for frame in _frames(path, header):
        stats.append(
            FrameStats(
                float(frame.min()), float(frame.max()), float(frame.mean()), float(frame.std())
            )
        )
        low, high = min(low, stats[-1].min), max(high, stats[-1].max)
    edges = np.linspace(low, high if high > low else low + 1, HISTOGRAM_BINS + 1)
    counts = np.zeros(HISTOGRAM_BINS, dtype=np.int64)
    middle = len(stats) // 2
    preview = None
    for index, frame in enumerate(_frames(path, header)):
        counts += np.histogram(frame, bins=edges)[0]
        if index == middle:
            preview = _png(frame, header, stats[index])
    assert preview is not None
    return Analysis(
        frames=stats,
        bin_edges=[float(edge) for edge in edges],
        counts=[int(count) for count in counts],
        png=preview,
        record=record,
    )


def _frames(path: Path, header: Dataset) -> Iterator[npt.NDArray[np.float64]]:
    try:
        for frame in iter_pixels(path):
            yield apply_rescale(frame, header).astype(np.float64)
    except (ValueError, NotImplementedError, RuntimeError):
        # pydicom's message lists each plugin's internals; the owner gets plain words.
        syntax = header.file_meta.TransferSyntaxUID
        raise InstanceRefused(
            "undecodable", f"the pixel data could not be decoded as {syntax.name}"
        ) from None


def _png(frame: npt.NDArray[np.float64], header: Dataset, stats: FrameStats) -> bytes:
    """The frame as an 8-bit PNG: windowed by WindowCenter/Width when given, else min to max."""
    if header.get("WindowCenter") is not None and header.get("WindowWidth") is not None:
        # Several windows may be given (VM 1-n): the first is the default.
        center = float(
            header["WindowCenter"].value
            if header["WindowCenter"].VM == 1
            else header.WindowCenter[0]
        )
        width = float(
            header["WindowWidth"].value if header["WindowWidth"].VM == 1 else header.WindowWidth[0]
        )
        low, high = center - width / 2, center + width / 2
    else:
        low, high = stats.min, stats.max
    scaled = np.clip((frame - low) / max(high - low, 1e-12), 0.0, 1.0) * 255.0
    image = Image.fromarray(np.rint(scaled).astype(np.uint8))
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


def _record(path: Path) -> dict[str, str]:
    record = StudyRecord.from_dicom(path)
    return {"text": str(record)}


def decodable(syntax: str) -> bool:
    """Whether an installed pixel decoder handles the transfer syntax ``syntax``."""
    try:
        return bool(get_decoder(syntax).is_available)
    except (NotImplementedError, ValueError):
        return False


def _date(header: Dataset) -> datetime.date | None:
    try:
        value = DA(header.get("StudyDate") or "")
    except ValueError:
        return None
    return value if isinstance(value, datetime.date) else None
