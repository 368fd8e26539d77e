"""Reading DICOM files (Part 1): the basic fields, any tag a user can type, no pixel data.

Three layers, each usable on its own:

* :func:`parse_tag` turns a tag in any form a user types (``0x00080016``,
  ``(0x0008, 0x0016)``, ``"(0008,0016)"``, ``"SOPClassUID"``, or a lone group
  such as ``0x0008``) into a :class:`TagRequest`.
* :func:`read_header` reads a file's header with pydicom, never its pixel
  data, and turns every failure (missing, folder, not DICOM, truncated) into
  a :class:`DicomReadError`.  Part 2's ``StudyRecord.from_dicom`` uses it.
* :func:`read_dicom` prints the patient's name, study date, modality and every
  requested tag, and returns a :class:`DicomSummary`; it logs failures and
  never raises.

Pixel data
----------
Files are read with ``dcmread(..., stop_before_pixels=True)``, which stops at
the pixel data element, so asking for header tags costs exactly what pydicom's
own header-only read costs.  Only a request for a tag at or after the pixel
data (``(7FE0,0010)``, group ``0x7FE0``, trailing padding ...) goes further:
:func:`_pixel_element` then reads the element's header and walks its fragment
items by seeking.  The pixels are never loaded nor decoded, so this works for
every transfer syntax, with no decoder installed, in constant memory.

Truncated files
---------------
pydicom is lenient: a file cut short reads as a dataset that ends early, its
last value shortened.  Two checks catch that.  :class:`_CutDetector` notices a
read that returns some but not all of the bytes pydicom asked for (a cut
inside an element's header or value), and :func:`_first_short_value` finds an
element that received fewer bytes than its length says (a cut just before its
value).  A file cut exactly between two elements cannot be told apart from a
complete one; the missing elements then print as not present.  A file cut
inside its pixel data still shows its header: the cut is reported when the
pixel data is asked for.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from io import BufferedReader, FileIO
from pathlib import Path
from typing import Final

from pydicom import dcmread
from pydicom.datadict import get_entry, keyword_for_tag, tag_for_keyword
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileDataset
from pydicom.errors import InvalidDicomError
from pydicom.filereader import read_dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, ItemTag, SequenceDelimiterTag
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian
from pydicom.valuerep import VR

from exam.logs import get_logger

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
_UNDEFINED_LENGTH: Final = 0xFFFFFFFF

_HEX_PAIR = re.compile(r"(?:0x)?([0-9a-f]{1,4})\s*,\s*(?:0x)?([0-9a-f]{1,4})", re.IGNORECASE)
_HEX_NUMBER = re.compile(r"(0x)?([0-9a-f]+)", re.IGNORECASE)
_KEYWORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
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
        if self.element is None:
            return None
        return BaseTag(self.group << 16 | self.element)

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

    def describe(self) -> str:
        """The request's tag, then its keyword and VR when the DICOM dictionary knows them."""
        if self.tag is None:
            return str(self)
        try:
            vr, _, _, _, keyword = get_entry(self.tag)
        except KeyError:
            return str(self)
        return f"{self} {keyword} [{vr}]"


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
        if not self.elements:
            return f"{self.request.describe()}: {NOT_PRESENT}"
        return "\n".join(map(str, self.elements))


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

    @property
    def values(self) -> dict[int, str | None]:
        """Every printed element's tag -> printed value; a requested tag not in the file -> None.

        A group request adds one entry per element of the group found.
        """
        found: dict[int, str | None] = {}
        for result in self.tags:
            if not result.elements and result.request.tag is not None:
                found.setdefault(result.request.tag, None)
            for element in result.elements:
                found[element.tag] = element.value
        return found

    def lines(self) -> list[str]:
        """The printed lines: the three basic fields, then each requested tag."""
        return [
            f"Patient's name: {_field_text(self.patient_name)}",
            f"Study date: {_field_text(self.study_date)}",
            f"Modality: {_field_text(self.modality)}",
            *map(str, self.tags),
        ]

    def __str__(self) -> str:
        return "\n".join(self.lines())


def parse_tag(spec: TagSpec) -> TagRequest:
    """Parse a tag in any form a user types.

    Parameters
    ----------
    spec:
        * an int: ``0x00080016`` is (0008,0016); a value up to ``0xFFFF``
          (``0x0008``) is a group: every element of that group;
        * a ``(group, element)`` tuple of ints up to ``0xFFFF``;
        * a string: ``"(0008,0016)"``, ``"0008,0016"``, ``"0x0008,0x0016"``,
          ``"00080016"``, ``"0x00080016"``, a group ``"0008"`` or ``"0x0008"``,
          or a DICOM keyword such as ``"SOPClassUID"``.  Hex digits may be in
          either case; surrounding spaces are ignored.

    Returns
    -------
    TagRequest
        ``element`` is None for a group request.

    Raises
    ------
    TagParseError
        A ValueError naming the input and the forms that are accepted.
    """
    if isinstance(spec, str):
        return _parse_text(spec)
    if isinstance(spec, bool):
        raise TagParseError(f"cannot parse tag {spec!r}: a boolean is not a tag")
    if isinstance(spec, int):
        if not 0 <= spec <= 0xFFFFFFFF:
            raise TagParseError(
                f"cannot parse tag {spec!r}: a tag is a number from 0 to 0xFFFFFFFF"
            )
        if spec <= 0xFFFF:
            return TagRequest(spec)
        return TagRequest(spec >> 16, spec & 0xFFFF)
    if isinstance(spec, tuple):
        if len(spec) == 2 and all(_is_16_bit(part) for part in spec):
            return TagRequest(spec[0], spec[1])
        raise TagParseError(
            f"cannot parse tag {spec!r}: expected (group, element), two numbers from 0 to 0xFFFF"
        )
    raise TagParseError(
        f"cannot parse tag {spec!r}: expected an int, a (group, element) tuple or a string, "
        f"not {type(spec).__name__}"
    )


def read_header(path: str | os.PathLike[str]) -> FileDataset:
    """Read a DICOM file's header: every element before the pixel data, which is never read.

    The cost is that of ``pydicom.dcmread(path, stop_before_pixels=True)``.

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
    return _read(Path(path)).dataset


def read_dicom(
    path: str | os.PathLike[str], filename: str | os.PathLike[str], *tags: TagSpec
) -> DicomSummary | None:
    """Print a DICOM file's patient's name, study date, modality, then each requested tag.

    Each tag prints as ``(gggg,eeee) Keyword [VR]: value``: UIDs with their
    registered name, sequences with their items indented below, binary
    values as a byte count, pixel data as a summary (never read unless asked
    for).  A tag the file lacks prints as not present; so do the three basic
    fields when absent.

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
        contents = _read(file, requests)
    except DicomReadError as error:
        logger.error("%s", error)
        return None
    dataset = contents.dataset
    study_date = _basic_field(dataset, "StudyDate")
    summary = DicomSummary(
        path=file,
        patient_name=_basic_field(dataset, "PatientName"),
        study_date=None if study_date is None else _iso_date(study_date),
        modality=_basic_field(dataset, "Modality"),
        tags=tuple(_answer(request, contents) for request in requests),
        rejected=rejected,
    )
    # Patients are identified by ID in logs, never by name.
    logger.info("read DICOM file %s (patient ID %s)", file, dataset.get("PatientID") or "unknown")
    print(summary)  # noqa: T201 - printing these fields is what read_dicom is asked to do
    return summary


# --- Tag parsing --------------------------------------------------------------


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


def _parse_text(spec: str) -> TagRequest:
    text = spec.strip()
    inner = text[1:-1].strip() if text.startswith("(") and text.endswith(")") else text
    if pair := _HEX_PAIR.fullmatch(inner):
        return TagRequest(int(pair[1], 16), int(pair[2], 16))
    if number := _HEX_NUMBER.fullmatch(text):
        prefixed, digits = bool(number[1]), number[2]
        value = int(digits, 16)
        # Digits, not value, tell a group from a tag: "00000010" is (0000,0010).
        if len(digits) == 4 or (prefixed and len(digits) < 4):
            return TagRequest(value)
        if len(digits) == 8 or (prefixed and len(digits) < 8):
            return TagRequest(value >> 16, value & 0xFFFF)
        raise TagParseError(
            f"cannot parse tag {spec!r}: a hex tag has 8 digits (00080016), a group 4 (0008)"
        )
    if _KEYWORD.fullmatch(text):
        tag = tag_for_keyword(text)
        if tag is None:
            raise TagParseError(f"cannot parse tag {spec!r}: unknown DICOM keyword")
        return TagRequest(tag >> 16, tag & 0xFFFF)
    raise TagParseError(f"cannot parse tag {spec!r}: {_TAG_FORMS}")


def _is_16_bit(part: object) -> bool:
    return isinstance(part, int) and not isinstance(part, bool) and 0 <= part <= 0xFFFF


# --- Reading ------------------------------------------------------------------


class _CutDetector(BufferedReader):
    """A buffered file that notices it was cut short.

    pydicom asks for exactly the bytes an element needs, so a read returning
    some but not all of them means the file ends inside that element
    (``cut``).  ``came_up_short`` says whether the latest read got fewer
    bytes than asked (even none): a parse error right after one is a file
    that ended too early, not a malformed one.
    """

    def __init__(self, raw: FileIO) -> None:
        super().__init__(raw)
        self.size = os.fstat(raw.fileno()).st_size
        self.cut = False
        self.came_up_short = False

    def read(self, size: int | None = -1, /) -> bytes:
        """Read like :meth:`io.BufferedReader.read`, noting a short read."""
        data = super().read(size)
        self.came_up_short = size is not None and 0 <= len(data) < size
        self.cut = self.cut or 0 < len(data) < (size or 0)
        return data


@dataclass(frozen=True)
class _Contents:
    """A file's header, and its pixel data element summarised when it was asked for."""

    dataset: FileDataset
    pixel: ElementText | None = None


def _read(path: Path, requests: Sequence[TagRequest] = ()) -> _Contents:
    """Read ``path`` up to its pixel data, or past it when a request needs that."""
    with _open(path) as fp:
        with _reading(fp, path):
            dataset = dcmread(fp, stop_before_pixels=True)
        _check_complete(fp, dataset, path)
        pixel = None
        if any(request.reaches_pixel_data for request in requests):
            pixel = _read_past_header(fp, dataset, path)
        with _reading(fp, path):
            for request in requests:
                source = _source(dataset, request)
                for tag in _covered_tags(source, request):
                    _convert(source[tag])
    return _Contents(dataset, pixel)


def _read_past_header(fp: _CutDetector, dataset: FileDataset, path: Path) -> ElementText | None:
    """Summarise the pixel data element, then read the elements after it into ``dataset``."""
    # pydicom inflates a deflated file in memory: ``fp`` is then at its end, not at the pixels.
    if dataset.file_meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian:
        raise DicomReadError(f"{path}: cannot read past the header of a deflated file")
    # Stopping before the pixel data left the file at that element's header, if there is one.
    if fp.tell() == fp.size:
        return None
    pixel = _pixel_element(fp, dataset, path)
    implicit_vr, little_endian = dataset.original_encoding
    with _reading(fp, path):
        trailing = read_dataset(
            fp,
            implicit_vr is True,
            little_endian is True,
            parent_encoding=dataset.original_character_set,
        )
    dataset.update(trailing)
    _check_complete(fp, dataset, path)
    return pixel


def _open(path: Path) -> _CutDetector:
    try:
        return _CutDetector(FileIO(path))
    except FileNotFoundError:
        raise DicomReadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DicomReadError(f"{path}: is a folder, not a DICOM file") from None
    except PermissionError:
        raise DicomReadError(f"{path}: permission denied") from None
    except OSError as error:
        raise DicomReadError(f"{path}: cannot open ({error.strerror})") from None


@contextmanager
def _reading(fp: _CutDetector, path: Path) -> Iterator[None]:
    """Turn whatever pydicom raises on a damaged file into a DicomReadError."""
    try:
        yield
    except InvalidDicomError:
        raise DicomReadError(
            f"{path}: not a DICOM file (no 'DICM' prefix after the 128-byte preamble)"
        ) from None
    # pydicom reports damaged input with many exception types (struct.error,
    # OSError, zlib.error, ValueError ...); to a reader they all mean the same.
    except Exception as error:
        if fp.cut or fp.came_up_short:
            raise _truncated(path, f"it ends at byte {fp.size} inside an element") from error
        raise DicomReadError(f"{path}: malformed DICOM file ({error})") from error


def _check_complete(fp: _CutDetector, dataset: FileDataset, path: Path) -> None:
    if fp.cut:
        raise _truncated(path, f"it ends at byte {fp.size} inside an element")
    short = _first_short_value(dataset.file_meta) or _first_short_value(dataset)
    if short is not None:
        received = len(short.value or b"")
        raise _truncated(
            path, f"{short.tag} needs {short.length} bytes, the file ends after {received}"
        )
    if not len(dataset) and fp.tell() == fp.size:
        raise _truncated(path, "no data elements after the file meta information")


def _first_short_value(dataset: Dataset) -> RawDataElement | None:
    """The first element that received fewer bytes than its length says.

    Only top-level elements can be short without an error: inside a sequence
    of undefined length, pydicom fails at the end of the file instead.
    """
    for element in dataset.elements():
        if (
            isinstance(element, RawDataElement)
            and element.value is not None
            and element.length != _UNDEFINED_LENGTH
            and len(element.value) < element.length
        ):
            return element
    return None


def _truncated(path: Path, detail: str) -> DicomReadError:
    return DicomReadError(f"{path}: truncated DICOM file ({detail})")


def _read_exactly(fp: _CutDetector, size: int, path: Path, what: str) -> bytes:
    data = fp.read(size)
    if len(data) < size:
        raise _truncated(path, f"{what} ends at byte {fp.size}")
    return data


def _skip(fp: _CutDetector, length: int, path: Path, what: str) -> None:
    remaining = fp.size - fp.tell()
    if length > remaining:
        raise _truncated(path, f"{what} needs {length} bytes, the file ends after {remaining}")
    fp.seek(length, os.SEEK_CUR)


def _pixel_element(fp: _CutDetector, dataset: FileDataset, path: Path) -> ElementText:
    """Summarise the pixel data element at the file's position without loading it."""
    implicit_vr, little_endian = dataset.original_encoding
    endian = "<" if little_endian else ">"
    group, element = struct.unpack(f"{endian}HH", _read_exactly(fp, 4, path, "pixel data"))
    tag = BaseTag(group << 16 | element)
    if implicit_vr:
        # Implicit VR pixel data is OW (PS3.5 A.1); the float variants keep their own VR.
        vr = VR.OW if tag == PIXEL_DATA_TAG else get_entry(tag)[0]
    else:
        vr = _read_exactly(fp, 2, path, "pixel data").decode("ascii", "replace")
        # Every VR allowed for pixel data (OB, OW, OF, OD) has 2 reserved bytes and a 4-byte length.
        fp.seek(2, os.SEEK_CUR)
    (length,) = struct.unpack(f"{endian}L", _read_exactly(fp, 4, path, "pixel data"))
    if length == _UNDEFINED_LENGTH:
        fragments, size = _walk_fragments(fp, endian, path)
        value = f"<encapsulated, {_count(fragments, 'fragment')}, {size} bytes>"
    else:
        _skip(fp, length, path, "pixel data")
        value = f"<{length} bytes>"
    return ElementText(tag, keyword_for_tag(tag), str(vr), value)


def _walk_fragments(fp: _CutDetector, endian: str, path: Path) -> tuple[int, int]:
    """Count the fragments of encapsulated pixel data and their bytes, seeking over each."""
    fragments = size = 0
    what = "encapsulated pixel data"
    # The first item is the Basic Offset Table (possibly empty), not a fragment.
    is_offset_table = True
    while True:
        group, element, length = struct.unpack(
            f"{endian}HHL", _read_exactly(fp, 8, path, f"{what} without its sequence delimiter")
        )
        tag = BaseTag(group << 16 | element)
        if tag == SequenceDelimiterTag:
            return fragments, size
        if tag != ItemTag:
            raise DicomReadError(
                f"{path}: malformed DICOM file ({what}: found {tag} at byte "
                f"{fp.tell() - 8} where an item tag (FFFE,E000) was expected)"
            )
        _skip(fp, length, path, f"a fragment of the {what}")
        if not is_offset_table:
            fragments += 1
            size += length
        is_offset_table = False


def _convert(element: DataElement) -> None:
    """Convert ``element`` and everything nested in it now, so damage shows here, not in print."""
    if element.VR == VR.SQ:
        for item in element.value:
            for child in item:
                _convert(child)


# --- Formatting ---------------------------------------------------------------


def _source(dataset: FileDataset, request: TagRequest) -> Dataset:
    """Group 0002 lives in the file meta information, everything else in the dataset."""
    return dataset.file_meta if request.group == 0x0002 else dataset


def _covered_tags(source: Dataset, request: TagRequest) -> list[BaseTag]:
    return sorted(filter(request.covers, source.keys()))


def _answer(request: TagRequest, contents: _Contents) -> TagResult:
    source = _source(contents.dataset, request)
    elements = [_element_text(source[tag]) for tag in _covered_tags(source, request)]
    if contents.pixel is not None and request.covers(contents.pixel.tag):
        elements.append(contents.pixel)
    return TagResult(request, tuple(sorted(elements, key=lambda element: element.tag)))


def _element_text(element: DataElement, depth: int = 0) -> ElementText:
    return ElementText(
        element.tag, element.keyword or element.name, str(element.VR), _value_text(element, depth)
    )


def _value_text(element: DataElement, depth: int) -> str:
    if element.VR == VR.SQ:
        return _sequence_text(element.value, depth)
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


def _sequence_text(items: Sequence[Dataset], depth: int) -> str:
    indent = "  " * (depth + 1)
    lines = [_count(len(items), "item")]
    for number, item in enumerate(items, start=1):
        lines.append(f"{indent}item {number}:" + ("" if len(item) else f" {EMPTY}"))
        lines.extend(f"{indent}  {_element_text(child, depth + 2)}" for child in item)
    return "\n".join(lines)


def _scalar_text(value: object) -> str:
    if isinstance(value, UID) and value.name != value:
        return f"{value} ({value.name})"
    if isinstance(value, BaseTag):
        return f"{value} {keyword_for_tag(value)}".rstrip()
    return str(value)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _basic_field(dataset: Dataset, keyword: str) -> str | None:
    if keyword not in dataset:
        return None
    element = dataset[keyword]
    return "" if element.is_empty else _value_text(element, 0)


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
