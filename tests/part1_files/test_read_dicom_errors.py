"""Files exam/dicom_io.py cannot read: read_dicom logs and returns None, read_header raises.

Every case is a file built here (most by cutting or corrupting the fixtures)
together with the exact message it must produce.
"""

from __future__ import annotations

import errno
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import generate_fragments, parse_basic_offsets
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian

from exam import dicom_io
from exam.dicom_io import DicomReadError, read_dicom, read_header

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SAMPLE_01 = (FIXTURES / "sample-01-dicom.dcm").read_bytes()
SAMPLE_02 = (FIXTURES / "sample-02-dicom.dcm").read_bytes()
#: Where sample-02's patient name value starts; its 8-byte element header comes before it.
NAME_VALUE = SAMPLE_02.index(b"Roe^Richard ")
#: 128-byte preamble, "DICM", then the meta group length element (12 bytes) and the group.
META_END = 132 + 12 + 248


@dataclass(frozen=True)
class BadFile:
    """A file read_dicom cannot read: its bytes, the tags asked for and the message."""

    content: bytes
    message: str
    tags: tuple[str, ...] = ()


def last_fragment_length() -> int:
    """The length of sample-02's last JPEG fragment, from pydicom's own parser."""
    pixel_data = dcmread(FIXTURES / "sample-02-dicom.dcm").PixelData
    offsets_end = 8 + 4 * len(parse_basic_offsets(pixel_data))
    return len(list(generate_fragments(pixel_data[offsets_end:]))[-1])


def with_undefined_length_sequence() -> bytes:
    """A small file whose last element is a sequence of undefined length."""
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.file_meta.MediaStorageSOPClassUID = "1.2.3"
    dataset.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    dataset.PatientID = "P001"
    request = Dataset()
    request.RequestedProcedureID = "RP1"
    dataset.RequestAttributesSequence = [request]
    dataset["RequestAttributesSequence"].is_undefined_length = True
    content = encoded(dataset)
    assert content.endswith(b"\xfe\xff\xdd\xe0\0\0\0\0")  # the sequence delimiter
    return content


def deflated(extra: bytes | None = None) -> bytes:
    """A small deflated file; ``extra`` replaces its compressed data set when given."""
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    dataset.file_meta.MediaStorageSOPClassUID = "1.2.3"
    dataset.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    dataset.PatientID = "P001"
    content = encoded(dataset)
    if extra is None:
        return content
    # The group length value sits after the preamble, "DICM" and its 8-byte element header.
    meta_end = 132 + 12 + int.from_bytes(content[140:144], "little")
    return content[:meta_end] + extra


def encoded(dataset: Dataset) -> bytes:
    """``dataset`` as the bytes of a DICOM file."""
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


#: sample-02's (7FE0,0010) OB element, then its 12-byte header and the 96-offset table item.
PIXEL_DATA = SAMPLE_02.index(b"\xe0\x7f\x10\x00OB")
FIRST_FRAGMENT = PIXEL_DATA + 12 + 8 + 96 * 4
LAST_FRAGMENT = last_fragment_length()

BAD_FILES = {
    "empty file": BadFile(
        b"", "{path}: not a DICOM file (no 'DICM' prefix after the 128-byte preamble)"
    ),
    "text file": BadFile(
        b"patient,age\nP001,45\n" * 20,
        "{path}: not a DICOM file (no 'DICM' prefix after the 128-byte preamble)",
    ),
    "DICM prefix only": BadFile(
        SAMPLE_02[:132],
        "{path}: truncated DICOM file (no data elements after the file meta information)",
    ),
    "cut in the file meta": BadFile(
        SAMPLE_02[:200], "{path}: truncated DICOM file (it ends at byte 200 inside an element)"
    ),
    "cut after the file meta": BadFile(
        SAMPLE_02[:META_END],
        "{path}: truncated DICOM file (no data elements after the file meta information)",
    ),
    "cut in an element header": BadFile(
        SAMPLE_02[: NAME_VALUE - 5],
        f"{{path}}: truncated DICOM file (it ends at byte {NAME_VALUE - 5} inside an element)",
    ),
    "cut in a value": BadFile(
        SAMPLE_02[: NAME_VALUE + 3],
        f"{{path}}: truncated DICOM file (it ends at byte {NAME_VALUE + 3} inside an element)",
    ),
    "cut before a value": BadFile(
        SAMPLE_02[:NAME_VALUE],
        "{path}: truncated DICOM file ((0010,0010) needs 12 bytes, the file ends after 0)",
    ),
    "cut in a sequence of undefined length": BadFile(
        with_undefined_length_sequence()[:-8],
        f"{{path}}: truncated DICOM file "
        f"(it ends at byte {len(with_undefined_length_sequence()) - 8} inside an element)",
    ),
    "cut in native pixel data": BadFile(
        SAMPLE_01[:-100],
        "{path}: truncated DICOM file (pixel data needs 512 bytes, the file ends after 412)",
        ("PixelData",),
    ),
    "cut in a pixel data fragment": BadFile(
        SAMPLE_02[:-20],
        "{path}: truncated DICOM file (a fragment of the encapsulated pixel data needs "
        f"{LAST_FRAGMENT} bytes, the file ends after {LAST_FRAGMENT - 12})",
        ("PixelData",),
    ),
    "pixel data without its delimiter": BadFile(
        SAMPLE_02[:-8],
        "{path}: truncated DICOM file (encapsulated pixel data without its sequence "
        f"delimiter ends at byte {len(SAMPLE_02) - 8})",
        ("0x7FE0",),
    ),
    "cut in a pixel data item header": BadFile(
        SAMPLE_02[:-4],
        "{path}: truncated DICOM file (encapsulated pixel data without its sequence "
        f"delimiter ends at byte {len(SAMPLE_02) - 4})",
        ("PixelData",),
    ),
    "not an item in the pixel data": BadFile(
        SAMPLE_02[:FIRST_FRAGMENT] + b"\xfe\xff\x0d\xe0" + SAMPLE_02[FIRST_FRAGMENT + 4 :],
        f"{{path}}: malformed DICOM file (encapsulated pixel data: found (FFFE,E00D) at byte "
        f"{FIRST_FRAGMENT} where an item tag (FFFE,E000) was expected)",
        ("PixelData",),
    ),
    "corrupt deflated data": BadFile(
        deflated(bytes(range(1, 200))),
        "{path}: malformed DICOM file "
        "(Error -3 while decompressing data: invalid stored block lengths)",
    ),
    "pixel data of a deflated file": BadFile(
        deflated(), "{path}: cannot read past the header of a deflated file", ("PixelData",)
    ),
}


def write(tmp_path: Path, content: bytes) -> Path:
    """Write ``content`` as tmp_path/bad.dcm; return its path."""
    path = tmp_path / "bad.dcm"
    path.write_bytes(content)
    return path


def dicom_records(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    """The (level, message) of every record logged by exam.dicom_io."""
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "exam.dicom_io"]


def raise_os_error(code: int, text: str) -> Callable[[Path], object]:
    """A stand-in for FileIO that fails to open like the operating system would."""

    def fail(path: Path) -> object:
        raise OSError(code, text, str(path))

    return fail


class TestReadDicomFailures:
    """read_dicom logs one error naming the file, prints nothing and returns None."""

    @pytest.mark.req("P1.DCM.9")
    @pytest.mark.parametrize("case", BAD_FILES.values(), ids=BAD_FILES.keys())
    def test_read_dicom_logs_why_a_file_cannot_be_read_and_returns_none(
        self,
        case: BadFile,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Not DICOM, truncated anywhere, or malformed: one error record, no output."""
        path = write(tmp_path, case.content)
        assert read_dicom(tmp_path, path.name, *case.tags) is None
        assert dicom_records(caplog) == [(logging.ERROR, case.message.format(path=path))]
        assert capsys.readouterr().out == ""

    @pytest.mark.req("P1.DCM.9")
    def test_a_missing_file_is_logged(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
    ) -> None:
        """A file that does not exist is named in the error."""
        assert read_dicom(tmp_path, "missing.dcm") is None
        assert dicom_records(caplog) == [
            (logging.ERROR, f"{tmp_path / 'missing.dcm'}: no such file")
        ]
        assert capsys.readouterr().out == ""

    @pytest.mark.req("P1.DCM.9")
    def test_a_folder_is_logged(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
    ) -> None:
        """A folder where a file was expected is named in the error."""
        (tmp_path / "series").mkdir()
        assert read_dicom(tmp_path, "series") is None
        assert dicom_records(caplog) == [
            (logging.ERROR, f"{tmp_path / 'series'}: is a folder, not a DICOM file")
        ]
        assert capsys.readouterr().out == ""

    @pytest.mark.req("P1.DCM.9")
    @pytest.mark.parametrize(
        ("code", "text", "reason"),
        [
            (errno.EACCES, "Permission denied", "permission denied"),
            (errno.EIO, "Input/output error", "cannot open (Input/output error)"),
        ],
        ids=["no permission", "I/O error"],
    )
    def test_a_file_the_system_cannot_open_is_logged(
        self,
        code: int,
        text: str,
        reason: str,
        dicom_fixtures_dir: Path,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Opening fails as the operating system says (simulated: tests may run as root)."""
        monkeypatch.setattr(dicom_io, "FileIO", raise_os_error(code, text))
        assert read_dicom(dicom_fixtures_dir, "sample-01-dicom.dcm") is None
        path = dicom_fixtures_dir / "sample-01-dicom.dcm"
        assert dicom_records(caplog) == [(logging.ERROR, f"{path}: {reason}")]

    @pytest.mark.req("P1.DCM.9")
    def test_a_bad_tag_and_a_bad_file_are_both_logged(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Tags are parsed first, so their errors are not lost when the file fails."""
        assert read_dicom(tmp_path, "missing.dcm", "Bogus") is None
        assert dicom_records(caplog) == [
            (logging.ERROR, "cannot parse tag 'Bogus': unknown DICOM keyword"),
            (logging.ERROR, f"{tmp_path / 'missing.dcm'}: no such file"),
        ]


class TestReadHeaderFailures:
    """read_header raises DicomReadError with the same messages."""

    @pytest.mark.req("P1.DCM.10")
    @pytest.mark.parametrize(
        "case",
        [case for case in BAD_FILES.values() if not case.tags],
        ids=[name for name, case in BAD_FILES.items() if not case.tags],
    )
    def test_read_header_raises_dicom_read_error_for_a_bad_file(
        self, case: BadFile, tmp_path: Path
    ) -> None:
        """Each unreadable header raises, with the reason read_dicom logs."""
        path = write(tmp_path, case.content)
        with pytest.raises(DicomReadError, match=f"^{re.escape(case.message.format(path=path))}$"):
            read_header(path)

    @pytest.mark.req("P1.DCM.10")
    def test_read_header_raises_for_a_missing_file(self, tmp_path: Path) -> None:
        """The path is named in the message."""
        path = tmp_path / "missing.dcm"
        with pytest.raises(DicomReadError, match=f"^{re.escape(str(path))}: no such file$"):
            read_header(path)

    @pytest.mark.req("P1.DCM.10")
    def test_read_header_raises_for_a_folder(self, tmp_path: Path) -> None:
        """A folder is not a DICOM file."""
        with pytest.raises(
            DicomReadError, match=f"^{re.escape(str(tmp_path))}: is a folder, not a DICOM file$"
        ):
            read_header(tmp_path)

    @pytest.mark.req("P1.DCM.10")
    def test_read_header_reads_a_deflated_file(self, tmp_path: Path) -> None:
        """Deflated files are fine as long as nothing past the header is wanted."""
        path = write(tmp_path, deflated())
        assert read_header(path).PatientID == "P001"
