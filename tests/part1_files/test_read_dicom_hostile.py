"""Hostile and unusual input to exam/dicom_io.py: deep nesting, control characters, PHI.

Also every file bundled with pydicom, so that no verdict of "truncated" or
"malformed" is given to a file pydicom itself reads completely.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.encaps import generate_fragments, parse_basic_offsets
from pydicom.errors import InvalidDicomError

from exam import dicom_io
from exam.cli import main
from exam.dicom_io import DicomReadError, read_dicom, read_header

CT_SMALL = Path(get_testdata_file("CT_small.dcm", download=False) or "CT_small.dcm")
PYDICOM_FILES = CT_SMALL.parent
#: Every file pydicom ships for its own tests (some are not DICOM at all).
BUNDLED = sorted(path for path in PYDICOM_FILES.rglob("*") if path.is_file())
SEQUENCE = (0x0008, 0x1115)  # ReferencedSeriesSequence
UNDEFINED = 0xFFFFFFFF


def nested(depth: int, *, undefined_length: bool) -> bytes:
    """``depth`` Referenced Series Sequences, each the one element of its parent's one item.

    Written by hand (explicit VR little endian): pydicom's writer recurses too.
    """
    inner = struct.pack("<HH2sH", 0x0020, 0x000E, b"UI", 6) + b"1.2.3\0"
    for _ in range(depth):
        if undefined_length:
            item = struct.pack("<HHL", 0xFFFE, 0xE000, UNDEFINED) + inner
            item += struct.pack("<HHL", 0xFFFE, 0xE00D, 0)
            inner = struct.pack("<HH2sHL", *SEQUENCE, b"SQ", 0, UNDEFINED) + item
            inner += struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
        else:
            item = struct.pack("<HHL", 0xFFFE, 0xE000, len(inner)) + inner
            inner = struct.pack("<HH2sHL", *SEQUENCE, b"SQ", 0, len(item)) + item
    return inner


def nested_lines(depth: int) -> list[str]:
    """What read_dicom prints for the sequence of :func:`nested`: two lines per level."""
    lines = ["(0008,1115) ReferencedSeriesSequence [SQ]: 1 item"]
    for level in range(1, depth + 1):
        lines.append("  " * (2 * level - 1) + "item 1:")
        lines.append(
            "  " * (2 * level)
            + (
                "(0008,1115) ReferencedSeriesSequence [SQ]: 1 item"
                if level < depth
                else "(0020,000E) SeriesInstanceUID [UI]: 1.2.3"
            )
        )
    return lines


@pytest.fixture
def nested_file(make_dicom: Callable[..., Path]) -> Callable[..., Path]:
    """Return ``make(depth, undefined_length=...)``: a valid file ending in :func:`nested`."""

    def make(depth: int, *, undefined_length: bool) -> Path:
        # Modality is the file's last element, so the sequence follows in tag order.
        path = make_dicom(Modality="OT")
        path.write_bytes(path.read_bytes() + nested(depth, undefined_length=undefined_length))
        return path

    return make


def pydicom_verdict(path: Path) -> str:
    """How pydicom's own full read sees ``path``: "complete", "cut" or "refused".

    Complete: ``dcmread`` reads the whole file and every top-level value holds
    as many bytes as its length says.  pydicom is lenient, so "cut" is a read
    without error that leaves a value short.
    """
    try:
        dataset = dcmread(path)
    except InvalidDicomError:
        return "refused"
    elements = [*dataset.file_meta.elements(), *dataset.elements()]
    short = [
        element
        for element in elements
        if isinstance(element, RawDataElement)
        and element.length != UNDEFINED
        and len(element.value or b"") < element.length
    ]
    return "cut" if short else "complete"


def pixel_summary(path: Path) -> str | None:
    """The pixel data summary computed from pydicom's full read of ``path``."""
    dataset = dcmread(path)
    if "PixelData" not in dataset:
        return None
    element = dataset["PixelData"]
    if element.is_undefined_length:
        offsets_end = 8 + 4 * len(parse_basic_offsets(element.value))
        fragments = list(generate_fragments(element.value[offsets_end:]))
        count = f"{len(fragments)} fragment" + ("" if len(fragments) == 1 else "s")
        return f"<encapsulated, {count}, {sum(map(len, fragments))} bytes>"
    return f"<{len(element.value)} bytes>"


class TestPydicomsOwnFiles:
    """The files pydicom ships: our verdict is pydicom's."""

    @pytest.mark.req("P1.DCM.17")
    # Some of these files are odd on purpose, and pydicom warns about them.
    @pytest.mark.filterwarnings("ignore::UserWarning")
    @pytest.mark.parametrize(
        "path", BUNDLED, ids=[str(path.relative_to(PYDICOM_FILES)) for path in BUNDLED]
    )
    def test_a_bundled_file_gets_the_verdict_of_pydicoms_full_read(
        self, path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """pydicom's verdict stands: read when complete, truncated when short, else refused."""
        verdict = pydicom_verdict(path)
        if verdict == "complete":
            read_header(path)
            summary = read_dicom(path.parent, path.name, "PixelData")
            assert summary is not None
            assert [element.value for element in summary.tags[0].elements] == [
                value for value in [pixel_summary(path)] if value is not None
            ]
        else:
            expected = "truncated DICOM file (" if verdict == "cut" else "not a DICOM file ("
            with pytest.raises(DicomReadError) as raised:
                read_header(path)
            assert str(raised.value).startswith(f"{path}: {expected}")

    @pytest.mark.req("P1.DCM.17")
    @pytest.mark.filterwarnings("ignore::UserWarning")
    def test_pydicoms_bundled_files_include_complete_cut_and_refused_ones(self) -> None:
        """pydicom ships files of each verdict, among them two truncated ones."""
        verdicts = {path.name: pydicom_verdict(path) for path in BUNDLED}
        assert [name for name, verdict in sorted(verdicts.items()) if verdict == "cut"] == [
            "MR_truncated.dcm",
            "rtplan_truncated.dcm",
        ]
        assert verdicts["CT_small.dcm"] == "complete"
        assert verdicts["no_meta.dcm"] == "refused"


class TestNestedSequences:
    """Sequences nested hundreds and thousands deep."""

    @pytest.mark.req("P1.DCM.14")
    @pytest.mark.parametrize("depth", [300, 2000])
    def test_sequences_of_defined_length_print_at_any_depth(
        self,
        depth: int,
        nested_file: Callable[..., Path],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """pydicom parses each level only when it is reached, and printing needs no recursion."""
        path = nested_file(depth, undefined_length=False)
        read_dicom(path.parent, path.name, "ReferencedSeriesSequence")
        assert capsys.readouterr().out.splitlines()[3:] == nested_lines(depth)

    @pytest.mark.req("P1.DCM.14")
    def test_sequences_of_undefined_length_that_pydicom_reads_print(
        self, nested_file: Callable[..., Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """100 levels: pydicom's recursive parser manages, so the file is printed whole."""
        path = nested_file(100, undefined_length=True)
        dcmread(path)
        read_dicom(path.parent, path.name, "ReferencedSeriesSequence")
        assert capsys.readouterr().out.splitlines()[3:] == nested_lines(100)

    @pytest.mark.req("P1.DCM.14", "P1.DCM.13")
    @pytest.mark.parametrize("depth", [300, 2000])
    def test_sequences_too_deep_for_pydicom_are_one_logged_error(
        self,
        depth: int,
        nested_file: Callable[..., Path],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Past Python's recursion limit pydicom cannot parse them: an error, no traceback."""
        path = nested_file(depth, undefined_length=True)
        with pytest.raises(RecursionError):
            dcmread(path)
        assert main(["dicom", str(path.parent), path.name]) == 1
        assert capsys.readouterr() == (
            "",
            f"ERROR: {path}: sequences nested too deeply for pydicom to read\n",
        )

    @pytest.mark.req("P1.DCM.14")
    def test_a_recursion_error_pydicom_wraps_in_another_error_is_still_too_deep(
        self,
        nested_file: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """pydicom turns a RecursionError met while reading an item's tag into an OSError."""

        def read_partial(*args: object, **kwargs: object) -> None:
            # What pydicom's read_sequence_item does when the limit is hit inside fp.read().
            try:
                raise RecursionError("maximum recursion depth exceeded")
            except RecursionError:
                raise OSError("No tag to read at file position 42A") from None

        path = nested_file(1, undefined_length=True)
        monkeypatch.setattr(dicom_io, "read_partial", read_partial)
        assert read_dicom(path.parent, path.name) is None
        assert [record.getMessage() for record in caplog.records] == [
            f"{path}: sequences nested too deeply for pydicom to read"
        ]


class TestControlCharacters:
    """Values are printed as found, with control characters escaped."""

    @pytest.mark.req("P1.DCM.15")
    # pydicom warns when the invalid modality is written, which is the point here.
    @pytest.mark.filterwarnings("ignore:Invalid value for VR CS")
    def test_control_characters_in_values_are_escaped_on_stdout(
        self, make_dicom: Callable[..., Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A value cannot break a line or drive the terminal: in fields, tags and sequences."""
        item = Dataset()
        item.SeriesDescription = "T1\rFAKE"
        path = make_dicom(
            PatientName="Doe\x07^Jane",
            Modality="MR\x7f",
            StudyDescription="Head\nModality: CT\t\x9b2J",
            ReferencedSeriesSequence=[item],
        )
        summary = read_dicom(path.parent, path.name, "StudyDescription", "ReferencedSeriesSequence")
        assert capsys.readouterr().out == (
            "Patient's name: Doe\\x07^Jane\n"
            "Study date: not present\n"
            "Modality: MR\\x7f\n"
            "(0008,1030) StudyDescription [LO]: Head\\nModality: CT\\t\\x9b2J\n"
            "(0008,1115) ReferencedSeriesSequence [SQ]: 1 item\n"
            "  item 1:\n"
            "    (0008,103E) SeriesDescription [LO]: T1\\rFAKE\n"
        )
        assert summary is not None
        assert (summary.patient_name, summary.modality) == ("Doe\\x07^Jane", "MR\\x7f")


class TestPatientDataInWarnings:
    """pydicom's validation warnings quote values; none reach stderr or the log."""

    @pytest.mark.req("P1.DCM.16", "P1.DCM.11")
    def test_invalid_values_are_printed_and_never_written_to_stderr_or_the_log(
        self,
        make_dicom: Callable[..., Path],
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """An invalid birth date and series number are shown as found; nothing else says them."""
        with warnings.catch_warnings():
            # Only the reading is under test: pydicom warns when it writes the invalid date.
            warnings.simplefilter("ignore")
            path = make_dicom(PatientID="P001", PatientBirthDate="19801301", SeriesNumber="9917")
        # pydicom will not write an invalid IS: put one in the file's bytes.
        path.write_bytes(path.read_bytes().replace(b"9917", b"99x7"))
        log = tmp_path / "exam.log"
        code = main(
            [
                *("--log-file", str(log), "dicom", str(path.parent), path.name),
                *("--tag", "PatientBirthDate", "--tag", "SeriesNumber"),
            ]
        )
        assert code == 0
        captured = capsys.readouterr()
        assert captured.out.splitlines()[3:] == [
            "(0010,0030) PatientBirthDate [DA]: 19801301",
            "(0020,0011) SeriesNumber [IS]: 99x7",
        ]
        assert captured.err == ""
        assert "19801301" not in log.read_text(encoding="utf-8")
        assert "99x7" not in log.read_text(encoding="utf-8")
