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

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

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
    """A file read_dicom cannot read: its bytes and the message."""

    content: bytes
    message: str


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
#: Where sample-01's native pixel values start, after the 12-byte OW element header.
NATIVE_PIXELS = SAMPLE_01.index(b"\xe0\x7f\x10\x00OW") + 12
#: Where sample-02's Media Storage SOP Class UID value starts, after its 8-byte header.
MEDIA_CLASS = SAMPLE_02.index(b"\x02\x00\x02\x00UI") + 8
NOT_DICOM = "{path}: not a DICOM file (no 'DICM' prefix after the 128-byte preamble)"
WRONG_LENGTH = (
    "{path}: malformed DICOM file (Expected total bytes to be an even multiple of bytes per "
    "value. Instead received {value} with length {length} and struct format '{format}' which "
    "corresponds to bytes per value of {size}. This occurred while trying to parse {tag} "
    "according to VR '{vr}'. To replace this error with a warning set "
    "pydicom.config.convert_wrong_length_to_UN = True.)"
)


def cut_pixel_data(end: int) -> BadFile:
    """sample-02 cut at ``end``, inside its encapsulated pixel data."""
    return BadFile(
        SAMPLE_02[:end],
        f"{{path}}: truncated DICOM file ((7FE0,0010) ends at byte {end} "
        "before its sequence delimiter)",
    )


BAD_FILES = {
    "empty file": BadFile(b"", NOT_DICOM),
    "text file": BadFile(b"patient,age\nP001,45\n" * 20, NOT_DICOM),
    "DICM prefix only": BadFile(
        SAMPLE_02[:132],
        "{path}: truncated DICOM file (no data elements after the file meta information)",
    ),
    "cut in the file meta": BadFile(
        SAMPLE_02[:200], "{path}: truncated DICOM file (it ends at byte 200 inside an element)"
    ),
    "cut right after a file meta element header": BadFile(
        SAMPLE_02[:MEDIA_CLASS],
        "{path}: truncated DICOM file ((0002,0002) needs 28 bytes, the file ends after 0)",
    ),
    "a file meta value of the wrong length": BadFile(
        SAMPLE_02[:132] + b"\x02\x00\x00\x00UL\x02\x00\xab\xcd" + SAMPLE_02[144:],
        WRONG_LENGTH.format(
            path="{path}",
            value="b'\\xab\\xcd'",
            length=2,
            format="L",
            size=4,
            tag="(0002,0000)",
            vr="UL",
        ),
    ),
    "cut after the file meta": BadFile(
        SAMPLE_02[:META_END],
        "{path}: truncated DICOM file (no data elements after the file meta information)",
    ),
    "cut in an element header": BadFile(
        SAMPLE_02[: NAME_VALUE - 5],
        f"{{path}}: truncated DICOM file (it ends at byte {NAME_VALUE - 5} inside an element)",
    ),
    "cut one byte into an element header": BadFile(
        SAMPLE_02[: NAME_VALUE - 7],
        f"{{path}}: truncated DICOM file (it ends at byte {NAME_VALUE - 7} inside an element)",
    ),
    "cut in a value": BadFile(
        SAMPLE_02[: NAME_VALUE + 3],
        f"{{path}}: truncated DICOM file (it ends at byte {NAME_VALUE + 3} inside an element)",
    ),
    "cut right after an element header": BadFile(
        SAMPLE_02[:NAME_VALUE],
        "{path}: truncated DICOM file ((0010,0010) needs 12 bytes, the file ends after 0)",
    ),
    "cut in a sequence of undefined length": BadFile(
        with_undefined_length_sequence()[:-8],
        f"{{path}}: truncated DICOM file "
        f"(it ends at byte {len(with_undefined_length_sequence()) - 8} inside an element)",
    ),
    "cut in the pixel data element header": BadFile(
        SAMPLE_02[: PIXEL_DATA + 10],
        f"{{path}}: truncated DICOM file (it ends at byte {PIXEL_DATA + 10} inside an element)",
    ),
    "cut right after the native pixel data header": BadFile(
        SAMPLE_01[:NATIVE_PIXELS],
        "{path}: truncated DICOM file ((7FE0,0010) needs 512 bytes, the file ends after 0)",
    ),
    "cut in native pixel data": BadFile(
        SAMPLE_01[:-100],
        "{path}: truncated DICOM file ((7FE0,0010) needs 512 bytes, the file ends after 412)",
    ),
    "cut right after the encapsulated pixel data header": cut_pixel_data(PIXEL_DATA + 12),
    "cut in a fragment's item header": cut_pixel_data(FIRST_FRAGMENT + 6),
    "cut right after a fragment's item header": cut_pixel_data(FIRST_FRAGMENT + 8),
    "cut in a pixel data fragment": cut_pixel_data(len(SAMPLE_02) - 20),
    "cut in the pixel data sequence delimiter": cut_pixel_data(len(SAMPLE_02) - 4),
    "pixel data without its sequence delimiter": cut_pixel_data(len(SAMPLE_02) - 8),
    "not an item in the pixel data": BadFile(
        SAMPLE_02[:FIRST_FRAGMENT] + b"\xfe\xff\x0d\xe0" + SAMPLE_02[FIRST_FRAGMENT + 4 :],
        f"{{path}}: malformed DICOM file (Unexpected tag '(FFFE,E00D)' at offset "
        f"{FIRST_FRAGMENT} when parsing the encapsulated pixel data fragment items)",
    ),
    "a pixel data item of undefined length": BadFile(
        SAMPLE_02[: FIRST_FRAGMENT + 4] + b"\xff" * 4 + SAMPLE_02[FIRST_FRAGMENT + 8 :],
        f"{{path}}: malformed DICOM file (Undefined item length at offset "
        f"{FIRST_FRAGMENT + 4} when parsing the encapsulated pixel data fragments)",
    ),
    "corrupt deflated data": BadFile(
        deflated(bytes(range(1, 200))),
        "{path}: malformed DICOM file "
        "(Error -3 while decompressing data: invalid stored block lengths)",
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
    @pytest.mark.parametrize("tags", [(), ("PixelData",)], ids=["header only", "pixel data"])
    def test_read_dicom_logs_why_a_file_cannot_be_read_and_returns_none(
        self,
        case: BadFile,
        tags: tuple[str, ...],
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Not DICOM, truncated anywhere, or malformed, pixels asked for or not: one error."""
        path = write(tmp_path, case.content)
        assert read_dicom(tmp_path, path.name, *tags) is None
        assert dicom_records(caplog) == [(logging.ERROR, case.message.format(path=path))]
        assert capsys.readouterr().out == ""

    @pytest.mark.req("P1.DCM.9")
    # Reading the elements after the pixel data with the wrong VR encoding would warn.
    @pytest.mark.filterwarnings("error")
    @pytest.mark.parametrize(
        "transfer_syntax",
        [ExplicitVRLittleEndian, ImplicitVRLittleEndian],
        ids=["explicit VR", "implicit VR"],
    )
    @pytest.mark.parametrize(
        ("cut", "detail"),
        [
            (2, "it ends at byte {size} inside an element"),
            (4, "(FFFC,FFFC) needs 4 bytes, the file ends after 0"),
            (6, "it ends at byte {size} inside an element"),
        ],
        ids=["in its value", "right after its header", "in its header"],
    )
    def test_a_cut_after_the_pixel_data_shows_when_an_element_there_is_asked_for(
        self,
        transfer_syntax: str,
        cut: int,
        detail: str,
        make_dicom: Callable[..., Path],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Elements after the pixel data are read only when asked for, and only then checked."""
        path = make_dicom(
            transfer_syntax=transfer_syntax,
            pixels=np.zeros((4, 4), dtype=np.uint8),
            DataSetTrailingPadding=b"\0" * 4,
        )
        path.write_bytes(path.read_bytes()[:-cut])
        assert read_dicom(path.parent, path.name, "Modality") is not None
        assert read_dicom(path.parent, path.name, "DataSetTrailingPadding") is None
        message = f"{path}: truncated DICOM file ({detail.format(size=path.stat().st_size)})"
        assert dicom_records(caplog)[-1] == (logging.ERROR, message)

    @pytest.mark.req("P1.DCM.9")
    def test_a_value_that_cannot_be_converted_is_malformed_when_asked_for(
        self,
        make_dicom: Callable[..., Path],
        capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """pydicom converts a value when it is first used: a US of 3 bytes fails then."""
        path = make_dicom(Rows=16)
        rows = b"\x28\x00\x10\x00US\x02\x00\x10\x00"
        path.write_bytes(path.read_bytes().replace(rows, rows[:6] + b"\x03\x00\x10\x00\x00"))
        assert read_dicom(path.parent, path.name, "Rows") is None
        message = WRONG_LENGTH.format(
            path=path,
            value="b'\\x10\\x00\\x00'",
            length=3,
            format="H",
            size=2,
            tag="(0028,0010)",
            vr="US",
        )
        assert dicom_records(caplog) == [(logging.ERROR, message)]
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
            (logging.ERROR, f"{tmp_path / 'series'}: is a folder, not a file")
        ]
        assert capsys.readouterr().out == ""

    @pytest.mark.req("P1.DCM.9")
    @pytest.mark.parametrize(
        ("code", "text", "reason"),
        [
            (errno.EACCES, "Permission denied", "permission denied"),
            (errno.EIO, "Input/output error", "Input/output error"),
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
    @pytest.mark.parametrize(
        ("folder", "name"),
        [("se\0ries", "image.dcm"), (".", "ima\0ge.dcm")],
        ids=["folder", "file"],
    )
    def test_a_path_with_a_nul_byte_is_logged(
        self,
        folder: str,
        name: str,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """No system call takes a NUL byte: the path is refused with the reason, not a traceback."""
        assert read_dicom(tmp_path / folder, name) is None
        assert dicom_records(caplog) == [
            (logging.ERROR, f"{tmp_path / folder / name}: the path contains a NUL byte")
        ]
        assert capsys.readouterr().out == ""

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
    @pytest.mark.parametrize("case", BAD_FILES.values(), ids=BAD_FILES.keys())
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
            DicomReadError, match=f"^{re.escape(str(tmp_path))}: is a folder, not a file$"
        ):
            read_header(tmp_path)

    @pytest.mark.req("P1.DCM.10")
    def test_read_header_raises_for_a_path_with_a_nul_byte(self, tmp_path: Path) -> None:
        """The reason is the NUL byte, as read_dicom logs it."""
        path = tmp_path / "ima\0ge.dcm"
        message = f"{path}: the path contains a NUL byte"
        with pytest.raises(DicomReadError, match=f"^{re.escape(message)}$"):
            read_header(path)

    @pytest.mark.req("P1.DCM.10")
    def test_read_header_reads_a_deflated_file(self, tmp_path: Path) -> None:
        """A deflated file's header is read from the data set pydicom inflates."""
        path = write(tmp_path, deflated())
        assert read_header(path).PatientID == "P001"
