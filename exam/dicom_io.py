"""Reading DICOM files (Part 1): the basic fields and any tag a user can type, never the pixels.

:func:`parse_tag` turns what a user types into a :class:`TagRequest` (pydicom's
:func:`~pydicom.tag.Tag` does the parsing, after a lone group and the
``"(gggg,eeee)"`` form are taken care of); :func:`read_header` reads a header or
raises :class:`DicomReadError` (Part 2 builds on it); :func:`read_dicom` prints
the basic fields and the requested tags, logs failures and returns a
:class:`DicomSummary`.

The header is read by :func:`~pydicom.filereader.read_partial` with the stop
condition of ``dcmread(stop_before_pixels=True)``, which also notes the pixel
data element's VR and length.  A defined length is checked against the file
size; encapsulated pixel data is walked by :func:`~pydicom.encaps.parse_fragments`
on the unbuffered file, 8 bytes per item: no pixel is ever read or decoded.
pydicom reads a file cut short as a data set that ends early, so a short read
(:class:`_CutDetector`), a short value and pixel data running past the end all
mean "truncated".  Sequences are printed with an explicit stack: any depth
pydicom can parse prints.  pydicom's value validation is off while we read
(:func:`unchecked_values`), because its warnings quote values, which may
identify a patient.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import datetime
from io import BufferedReader, BytesIO, FileIO
from pathlib import Path
from typing import Final

from pydicom import config
from pydicom.datadict import dictionary_VR, get_entry, keyword_for_tag
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileDataset
from pydicom.encaps import parse_fragments
from pydicom.errors import InvalidDicomError
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import data_element_offset_to_value, read_dataset, read_partial
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID
from pydicom.valuerep import VR

from exam.logs import describe_path_error, escape_controls, get_logger

logger = get_logger(__name__)

#: A tag as a user may give it: see :func:`parse_tag`.
TagSpec = int | tuple[int, int] | str

NOT_PRESENT: Final = "not present"
EMPTY: Final = "(empty)"
#: Values of a multi-valued element printed before the rest is only counted.
MAX_VALUES_SHOWN: Final = 10
#: (7FE0,0008) Float Pixel Data: the first tag at which ``stop_before_pixels`` stops.
FIRST_PIXEL_TAG: Final = 0x7FE00008
PIXEL_DATA_TAG: Final = 0x7FE00010
#: The tags at which ``dcmread(stop_before_pixels=True)`` stops.
_PIXEL_TAGS: Final = frozenset({FIRST_PIXEL_TAG, 0x7FE00009, PIXEL_DATA_TAG})
_UNDEFINED_LENGTH: Final = 0xFFFFFFFF

#: A lone group: four hex digits, or up to four after 0x.
_GROUP = re.compile(r"([0-9a-f]{4})|0x([0-9a-f]{1,4})", re.IGNORECASE)
_TAG_FORMS = (
    "expected a keyword such as SOPClassUID or a hex tag such as "
    "(0008,0016), 0008,0016, 00080016 or 0x00080016"
)


class DicomReadError(Exception):
    """A file that cannot be read as DICOM; the message names the file and the reason."""


class TagParseError(ValueError):
    """Text or a number that is not a DICOM tag; the message says what was expected."""


@dataclass(frozen=True)
class TagRequest:
    """One requested tag, or every element of a group when ``element`` is None."""

    group: int
    element: int | None = None

    @property
    def tag(self) -> BaseTag | None:
        """The requested tag, or None for a group request."""
        return None if self.element is None else Tag(self.group, self.element)

    def covers(self, tag: int) -> bool:
        """Return True when ``tag`` answers this request."""
        return tag >> 16 == self.group and self.element in (None, tag & 0xFFFF)

    @property
    def reaches_pixel_data(self) -> bool:
        """True when answering needs the file read at or past its pixel data."""
        last = 0xFFFF if self.element is None else self.element
        return (self.group << 16 | last) >= FIRST_PIXEL_TAG

    def __str__(self) -> str:
        element = "xxxx" if self.element is None else f"{self.element:04X}"
        return f"({self.group:04X},{element})"


@dataclass(frozen=True)
class ElementText:
    """One element of the file as :func:`read_dicom` prints it.

    ``name`` is the element's keyword, or pydicom's name for a private tag;
    ``value`` spans several lines for a sequence (its items, indented).
    """

    tag: BaseTag
    name: str
    vr: str
    value: str

    def __str__(self) -> str:
        return f"{self.tag} {self.name} [{self.vr}]: {self.value}"


@dataclass(frozen=True)
class TagResult:
    """The answer to one :class:`TagRequest`: the matching elements, none when absent."""

    request: TagRequest
    elements: tuple[ElementText, ...]

    def __str__(self) -> str:
        if self.elements:
            return "\n".join(map(str, self.elements))
        described = str(self.request)
        if self.request.tag is not None:
            with suppress(KeyError):  # a private tag is not in the dictionary
                vr, _, _, _, keyword = get_entry(self.request.tag)
                described += f" {keyword} [{vr}]"
        return f"{described}: {NOT_PRESENT}"


@dataclass(frozen=True)
class DicomSummary:
    """What :func:`read_dicom` found and printed.

    The three basic fields are None when the file lacks them and ``""`` when
    they are present but empty; the study date is ``YYYY-MM-DD`` when it is a
    valid DICOM date.  ``rejected`` holds the tag requests that could not be
    parsed (each was logged).
    """

    path: Path
    patient_name: str | None
    study_date: str | None
    modality: str | None
    tags: tuple[TagResult, ...] = ()
    rejected: tuple[object, ...] = ()

    def __str__(self) -> str:
        return "\n".join(
            [
                f"Patient's name: {_field_text(self.patient_name)}",
                f"Study date: {_field_text(self.study_date)}",
                f"Modality: {_field_text(self.modality)}",
                *map(str, self.tags),
            ]
        )


def parse_tag(spec: TagSpec) -> TagRequest:
    """Parse a tag in any form a user types.

    Parameters
    ----------
    spec:
        Whatever :func:`pydicom.tag.Tag` takes (an int, a ``(group, element)``
        tuple, hex text, a keyword such as ``"SOPClassUID"``), ``"(0008,0016)"``
        or ``"0008,0016"``, or a lone group: an int up to ``0xFFFF``, four hex
        digits (``"0008"``) or up to four after ``0x``.

    Returns
    -------
    TagRequest
        ``element`` is None for a group request.

    Raises
    ------
    TagParseError
        A ValueError naming the input and the forms that are accepted.
    """
    value: object = spec
    if isinstance(spec, str):
        text = spec.strip()
        if group := _GROUP.fullmatch(text):
            return TagRequest(int(group[1] or group[2], 16))
        inner = text[1:-1] if text[:1] == "(" and text[-1:] == ")" else text
        value = tuple(inner.split(",")) if "," in inner else text
        reason = "unknown DICOM keyword" if text.isidentifier() else _TAG_FORMS
    elif isinstance(spec, bool) or not isinstance(spec, int | tuple):
        raise TagParseError(
            f"cannot parse tag {spec!r}: expected an int, a (group, element) tuple or a string, "
            f"not {type(spec).__name__}"
        )
    elif isinstance(spec, int):
        if 0 <= spec <= 0xFFFF:
            return TagRequest(spec)
        reason = "a tag is a number from 0 to 0xFFFFFFFF"
    else:
        reason = "expected (group, element), two numbers from 0 to 0xFFFF"
    try:
        # Tag("") finds the one entry of pydicom's dictionary that has no keyword.
        if value == "":
            raise ValueError
        tag = Tag(value)  # type: ignore[arg-type]
    except (ValueError, OverflowError, TypeError):
        raise TagParseError(f"cannot parse tag {spec!r}: {reason}") from None
    return TagRequest(tag.group, tag.element)


def read_header(path: str | os.PathLike[str]) -> FileDataset:
    """Read a DICOM file's header: every element before the pixel data, which is never read.

    The cost is that of ``pydicom.dcmread(path, stop_before_pixels=True)``;
    checking that the file holds all of its pixel data takes a seek, or for
    encapsulated pixel data the 8-byte header of each item.

    Parameters
    ----------
    path:
        The DICOM file (Part 10 format, with the ``DICM`` prefix).

    Returns
    -------
    pydicom.dataset.FileDataset
        The file meta information and the header elements, without pixel data.

    Raises
    ------
    DicomReadError
        The file is missing, a folder, unreadable, not DICOM, truncated or
        malformed; the message starts with the path.
    """
    return _read(Path(path))[0]


#: pydicom's validation mode is one process-wide setting, saved and restored by
#: each context manager that changes it; two threads doing so at once can leave
#: it changed for good (even at RAISE, if one of them was pydicom's own
#: ``strict_reading``).  Every change here takes this lock.
_VALIDATION_LOCK = threading.RLock()


@contextmanager
def unchecked_values() -> Iterator[None]:
    """pydicom's value validation off for this block, one thread at a time.

    Its warnings quote the invalid value, which may identify a patient; the
    project checks the values it uses itself.
    """
    with _VALIDATION_LOCK, config.disable_value_validation():
        yield


def read_dicom(
    path: str | os.PathLike[str], filename: str | os.PathLike[str], *tags: TagSpec
) -> DicomSummary | None:
    """Print a DICOM file's patient's name, study date, modality, then each requested tag.

    Parameters
    ----------
    path:
        The folder holding the file.
    filename:
        The file's name in ``path``.
    tags:
        Tags in any form :func:`parse_tag` accepts; one that cannot be parsed
        is logged as an error and skipped, the others are still printed.

    Returns
    -------
    DicomSummary or None
        What was printed; None, with the reason logged, when the file cannot
        be read (missing, a folder, not DICOM, truncated, malformed).
    """
    file = Path(path) / filename
    requests, rejected = _parse_tags(tags)
    try:
        with unchecked_values():
            dataset, pixel = _read(file, any(request.reaches_pixel_data for request in requests))
            with _reading(file):
                study_date = _basic_field(dataset, "StudyDate")
                summary = DicomSummary(
                    path=file,
                    patient_name=_basic_field(dataset, "PatientName"),
                    study_date=study_date and _iso_date(study_date),
                    modality=_basic_field(dataset, "Modality"),
                    tags=tuple(_answer(request, dataset, pixel) for request in requests),
                    rejected=rejected,
                )
                patient_id = dataset.get("PatientID") or "unknown"
    except DicomReadError as error:
        logger.error("%s", error)
        return None
    # Patients are identified by ID in logs, never by name.
    logger.info("read DICOM file %s (patient ID %s)", file, patient_id)
    print(summary)  # noqa: T201 - printing these fields is what read_dicom is asked to do
    return summary


def _parse_tags(tags: Sequence[TagSpec]) -> tuple[list[TagRequest], tuple[object, ...]]:
    requests: list[TagRequest] = []
    rejected: list[object] = []
    for spec in tags:
        try:
            requests.append(parse_tag(spec))
        except TagParseError as error:
            logger.error("%s", error)
            rejected.append(spec)
    return requests, tuple(rejected)


# --- Reading ------------------------------------------------------------------


class _CutDetector(BufferedReader):
    """A buffered stream that notices it was cut short.

    pydicom asks for exactly the bytes an element needs: a read returning some
    but not all of them is a cut inside that element (``cut``); a parse error
    right after a read that came up short (``came_up_short``) is a cut too.
    """

    def __init__(self, raw: FileIO | BytesIO) -> None:
        position = raw.tell()
        self.size = raw.seek(0, os.SEEK_END)
        raw.seek(position)
        super().__init__(raw)
        self.cut = self.came_up_short = False

    def read(self, size: int | None = -1, /) -> bytes:
        """Read like :meth:`io.BufferedReader.read`, noting a short read."""
        data = super().read(size)
        # A read of everything (size None or negative) cannot come up short.
        self.came_up_short = size is not None and len(data) < size
        self.cut = self.cut or (self.came_up_short and len(data) > 0)
        return data


class _StopAtPixels:
    """``dcmread(stop_before_pixels=True)``'s stop condition, noting the pixel data element."""

    found: tuple[BaseTag, str | None, int] | None = None

    def __call__(self, tag: BaseTag, vr: str | None, length: int) -> bool:
        """Stop at the first pixel tag, noting its VR (None when implicit) and its length."""
        if tag in _PIXEL_TAGS:
            self.found = (tag, vr, length)
        return tag in _PIXEL_TAGS


def _read(path: Path, past_pixels: bool = False) -> tuple[FileDataset, ElementText | None]:
    """Read ``path`` up to its pixel data, and on past it when ``past_pixels``.

    Returns the dataset and the pixel data element's summary (None without one).
    """
    try:
        raw = FileIO(path)
    except (OSError, ValueError) as error:
        raise DicomReadError(f"{path}: {describe_path_error(error)}") from None
    with raw:
        header = _CutDetector(raw)
        stop = _StopAtPixels()
        with _reading(path, header):
            dataset = read_partial(header, stop)
        _check_complete(header, dataset.file_meta, dataset, path=path)
        if stop.found is None:
            if not len(dataset):
                raise _truncated(path, "no data elements after the file meta information")
            return dataset, None
        # pydicom stopped at the pixel data element: in the file, or in the data
        # set it inflated into memory from a deflated file (its buffer).
        stream: FileIO | BytesIO = raw
        if isinstance(dataset.buffer, DicomBytesIO):
            stream = dataset.buffer.parent  # type: ignore[assignment]  # a BytesIO
            start = stream.tell()
        else:
            start = header.tell()
            header.detach()  # unbuffered from here on: seeking over the pixels reads none
        pixel, end = _pixel_element(stream, start, *stop.found, path=path)
        if past_pixels:
            stream.seek(end)
            tail = _CutDetector(stream)
            implicit_vr, little_endian = dataset.original_encoding
            with _reading(path, tail):
                trailing = read_dataset(
                    tail,
                    implicit_vr is True,
                    little_endian is True,
                    parent_encoding=dataset.original_character_set,
                )
            _check_complete(tail, trailing, path=path)
            dataset.update(trailing)
    return dataset, pixel


def _pixel_element(
    stream: FileIO | BytesIO, start: int, tag: BaseTag, vr: str | None, length: int, *, path: Path
) -> tuple[ElementText, int]:
    """Summarise the pixel data element starting at ``start``; return it and where it ends."""
    size = stream.seek(0, os.SEEK_END)
    value_start = start + data_element_offset_to_value(vr is None, vr)
    if length == _UNDEFINED_LENGTH:
        fragments, data_bytes, end = _fragments(stream, size, tag, value_start, path)
        value = f"<encapsulated, {_count(fragments, 'fragment')}, {data_bytes} bytes>"
    elif value_start + length > size:
        raise _truncated(
            path, f"{tag} needs {length} bytes, the file ends after {size - value_start}"
        )
    else:
        value, end = f"<{length} bytes>", value_start + length
    # Implicit VR pixel data is OW (PS3.5 A.1); the float variants keep their own VR.
    vr = vr or (VR.OW if tag == PIXEL_DATA_TAG else dictionary_VR(tag))
    return ElementText(tag, keyword_for_tag(tag), vr, value), end


def _fragments(
    stream: FileIO | BytesIO, size: int, tag: BaseTag, start: int, path: Path
) -> tuple[int, int, int]:
    """Count encapsulated pixel data's fragments and bytes from its item headers.

    Returns the fragment count, their bytes, and where the element ends.
    """
    cut = _truncated(path, f"{tag} ends at byte {size} before its sequence delimiter")
    stream.seek(start)
    try:
        _, items = parse_fragments(stream)
    except ValueError as error:  # an item header cut short, or not an item
        raise (cut if stream.tell() >= size else _malformed(path, error)) from None
    end = start
    if items:
        stream.seek(items[-1] + 4)
        end = items[-1] + 8 + int.from_bytes(stream.read(4), "little")
    # parse_fragments stops at the sequence delimiter, or silently at the end of the file.
    if end + 8 > size:
        raise cut
    fragments = items[1:]  # the first item is the Basic Offset Table
    data_bytes = end - fragments[0] - 8 * len(fragments) if fragments else 0
    return len(fragments), data_bytes, end + 8


@contextmanager
def _reading(path: Path, fp: _CutDetector | None = None) -> Iterator[None]:
    """Turn whatever pydicom raises on a damaged file into a DicomReadError.

    ``fp`` is the file being read, if any: a failure right after it came up
    short means the file was cut.
    """
    try:
        yield
    except InvalidDicomError:
        raise DicomReadError(
            f"{path}: not a DICOM file (no 'DICM' prefix after the 128-byte preamble)"
        ) from None
    # pydicom reports damaged input with many exception types (struct.error,
    # OSError, zlib.error, ValueError ...); to a reader they all mean the same.
    except Exception as error:
        if _during_recursion_error(error):
            raise DicomReadError(
                f"{path}: sequences nested too deeply for pydicom to read"
            ) from None
        if fp is not None and (fp.cut or fp.came_up_short):
            raise _truncated(path, f"it ends at byte {fp.size} inside an element") from error
        raise _malformed(path, error) from error


def _during_recursion_error(error: BaseException | None) -> bool:
    """Whether ``error`` is a RecursionError or was raised while one was handled.

    pydicom parses nested sequences recursively, and it turns some errors,
    a RecursionError included, into an OSError ("No tag to read ...").
    """
    while error is not None and not isinstance(error, RecursionError):
        error = error.__context__
    return error is not None


def _check_complete(fp: _CutDetector, *datasets: Dataset, path: Path) -> None:
    if fp.cut:
        raise _truncated(path, f"it ends at byte {fp.size} inside an element")
    for dataset in datasets:
        # Only top-level values can come up short without an error: inside a
        # sequence of undefined length, pydicom fails at the end of the file.
        for element in dataset.elements():
            if (
                isinstance(element, RawDataElement)
                and element.value is not None
                and element.length != _UNDEFINED_LENGTH
                and len(element.value) < element.length
            ):
                raise _truncated(
                    path,
                    f"{element.tag} needs {element.length} bytes, "
                    f"the file ends after {len(element.value)}",
                )


def _truncated(path: Path, detail: str) -> DicomReadError:
    return DicomReadError(f"{path}: truncated DICOM file ({detail})")


def _malformed(path: Path, error: Exception) -> DicomReadError:
    return DicomReadError(f"{path}: malformed DICOM file ({error})")


# --- Formatting ---------------------------------------------------------------


def _answer(request: TagRequest, dataset: FileDataset, pixel: ElementText | None) -> TagResult:
    """The elements answering ``request``: group 0002 from the file meta information."""
    source: Dataset = dataset.file_meta if request.group == 0x0002 else dataset
    tag = request.tag
    if tag is not None:
        found = [source[tag]] if tag in source else []
    elif request.group == 0xFFFF:
        # group_dataset(0xFFFF) overflows on its exclusive end, (0x10000,0000).
        found = list(source[(0xFFFF, 0) :])
    else:
        found = list(source.group_dataset(request.group))
    elements = [_element_text(element) for element in found]
    if pixel is not None and request.covers(pixel.tag):
        elements.append(pixel)
    return TagResult(request, tuple(sorted(elements, key=lambda element: element.tag)))


def _element_text(element: DataElement) -> ElementText:
    """``element`` as printed: a sequence's items follow its item count, indented."""
    text = _heading(element)
    if element.VR != VR.SQ:
        return text
    return replace(text, value="\n".join([text.value, *_item_lines(element.value)]))


def _item_lines(sequence: Sequence[Dataset]) -> Iterator[str]:
    """Each item of ``sequence`` and its elements, nested ones further indented.

    An explicit stack, not recursion: any depth pydicom could read prints.
    """
    pending: list[tuple[int, str | DataElement]] = []

    def push(items: Sequence[Dataset], depth: int) -> None:
        # Last item first, and each item's header after its elements: popped in order.
        for number, item in reversed(list(enumerate(items, start=1))):
            pending.extend((depth + 1, element) for element in reversed(list(item)))
            pending.append((depth, f"item {number}:" + ("" if len(item) else f" {EMPTY}")))

    push(sequence, 1)
    while pending:
        depth, node = pending.pop()
        yield "  " * depth + (node if isinstance(node, str) else str(_heading(node)))
        if isinstance(node, DataElement) and node.VR == VR.SQ:
            push(node.value, depth + 1)


def _heading(element: DataElement) -> ElementText:
    """``element`` on one line: a sequence shows its item count."""
    return ElementText(
        element.tag, element.keyword or element.name, str(element.VR), _value_text(element)
    )


def _value_text(element: DataElement) -> str:
    if element.VR == VR.SQ:
        return _count(len(element.value), "item")
    if element.is_empty:
        return EMPTY
    # Binary VRs (OB, OW, UN ... and ambiguous ones such as "OB or OW") hold bytes.
    if isinstance(element.value, bytes):
        return f"<{len(element.value)} bytes>"
    values = list(element.value) if isinstance(element.value, MultiValue) else [element.value]
    text = "\\".join(_scalar_text(value) for value in values[:MAX_VALUES_SHOWN])
    if len(values) > MAX_VALUES_SHOWN:
        text += f"\\... ({len(values)} values)"
    return text


def _scalar_text(value: object) -> str:
    if isinstance(value, UID) and value.name != value:
        return f"{value} ({value.name})"
    if isinstance(value, BaseTag):
        return f"{value} {keyword_for_tag(value)}".rstrip()
    return escape_controls(str(value))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _basic_field(dataset: Dataset, keyword: str) -> str | None:
    if keyword not in dataset:
        return None
    element = dataset[keyword]
    return "" if element.is_empty else _value_text(element)


def _iso_date(text: str) -> str:
    """``YYYYMMDD`` as ``YYYY-MM-DD``; anything else unchanged."""
    try:
        return datetime.strptime(text, "%Y%m%d").date().isoformat()
    except ValueError:
        return text


def _field_text(value: str | None) -> str:
    if value is None:
        return NOT_PRESENT
    return value or EMPTY
