"""Pixel data in exam/dicom_io.py: never read unless asked for, then summarised, never decoded."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.encaps import generate_fragments, parse_basic_offsets
from pydicom.uid import ImplicitVRLittleEndian

from exam import dicom_io
from exam.dicom_io import read_dicom, read_header

CT_SMALL = Path(get_testdata_file("CT_small.dcm", download=False) or "CT_small.dcm")


class CountingFileIO(io.FileIO):
    """A raw file that counts the bytes actually read from disk."""

    bytes_read = 0

    def readinto(self, buffer: bytearray | memoryview) -> int | None:  # type: ignore[override]
        """Read like FileIO and add the bytes to the class-wide count."""
        count = super().readinto(buffer)
        CountingFileIO.bytes_read += count or 0
        return count


@pytest.fixture
def counting_reads(monkeypatch: pytest.MonkeyPatch) -> type[CountingFileIO]:
    """Make exam.dicom_io open files through CountingFileIO; return the class holding the count."""
    monkeypatch.setattr(dicom_io, "FileIO", CountingFileIO)
    CountingFileIO.bytes_read = 0
    return CountingFileIO


@pytest.fixture
def large_dicom(make_dicom: Callable[..., Path]) -> Path:
    """A 512 KB file: 512 x 512 16-bit pixels, then 4 bytes of trailing padding."""
    return make_dicom(
        "large.dcm",
        pixels=np.zeros((512, 512), dtype=np.uint16),
        Modality="OT",
        DataSetTrailingPadding=b"\0" * 4,
    )


def stop_before_pixels_bytes(path: Path) -> int:
    """The bytes pydicom's own header-only read takes from ``path``."""
    CountingFileIO.bytes_read = 0
    with io.BufferedReader(CountingFileIO(path)) as file:
        dcmread(file, stop_before_pixels=True)
    count = CountingFileIO.bytes_read
    CountingFileIO.bytes_read = 0
    return count


class TestHeaderOnly:
    """Header requests never read pixel data."""

    @pytest.mark.req("P1.DCM.7")
    def test_header_request_reads_the_same_bytes_as_dcmread_stop_before_pixels(
        self, large_dicom: Path, counting_reads: type[CountingFileIO]
    ) -> None:
        """Asking for header tags costs exactly pydicom's header-only read, a sliver of the file."""
        baseline = stop_before_pixels_bytes(large_dicom)
        read_dicom(large_dicom.parent, large_dicom.name, "Modality", 0x0028)
        assert counting_reads.bytes_read == baseline
        assert baseline < large_dicom.stat().st_size / 50

    @pytest.mark.req("P1.DCM.7", "P1.DCM.10")
    def test_read_header_reads_the_same_bytes_as_dcmread_stop_before_pixels(
        self, large_dicom: Path, counting_reads: type[CountingFileIO]
    ) -> None:
        """read_header, which Part 2 uses, costs the same as well."""
        baseline = stop_before_pixels_bytes(large_dicom)
        read_header(large_dicom)
        assert counting_reads.bytes_read == baseline

    @pytest.mark.req("P1.DCM.7", "P1.DCM.10")
    def test_read_header_returns_the_header_without_pixel_data(
        self, dicom_fixtures_dir: Path
    ) -> None:
        """sample-02's header has its 96 frames declared but no pixel data element."""
        dataset = read_header(dicom_fixtures_dir / "sample-02-dicom.dcm")
        assert dataset.NumberOfFrames == 96
        assert dataset.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.50"
        assert "PixelData" not in dataset

    @pytest.mark.req("P1.DCM.7")
    def test_a_file_cut_inside_its_pixel_data_still_shows_its_header(
        self, dicom_fixtures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The header is intact, and header requests never look at the pixels."""
        cut = tmp_path / "cut.dcm"
        cut.write_bytes((dicom_fixtures_dir / "sample-02-dicom.dcm").read_bytes()[:5000])
        read_dicom(tmp_path, "cut.dcm", "NumberOfFrames")
        assert capsys.readouterr().out == (
            "Patient's name: Roe^Richard\n"
            "Study date: 2024-06-11\n"
            "Modality: XA\n"
            "(0028,0008) NumberOfFrames [IS]: 96\n"
        )


class TestPixelSummary:
    """A requested pixel data element is summarised from its structure, never loaded."""

    @pytest.mark.req("P1.DCM.8")
    def test_encapsulated_pixel_data_prints_fragments_and_bytes(
        self, dicom_fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """sample-02: 96 JPEG fragments after the Basic Offset Table, their bytes summed."""
        path = dicom_fixtures_dir / "sample-02-dicom.dcm"
        pixel_data = dcmread(path).PixelData
        offsets_end = 8 + 4 * len(parse_basic_offsets(pixel_data))
        fragments = list(generate_fragments(pixel_data[offsets_end:]))
        read_dicom(dicom_fixtures_dir, path.name, "PixelData")
        assert capsys.readouterr().out.splitlines()[3:] == [
            f"(7FE0,0010) PixelData [OB]: <encapsulated, {len(fragments)} fragments, "
            f"{sum(map(len, fragments))} bytes>"
        ]
        assert len(fragments) == 96

    @pytest.mark.req("P1.DCM.8")
    def test_compressed_pixel_data_needs_no_decoder(
        self,
        dicom_fixtures_dir: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """With every JPEG decoder pydicom could use made unimportable, the summary still prints."""
        for decoder in ("PIL", "pylibjpeg", "libjpeg", "openjpeg", "gdcm"):
            monkeypatch.setitem(sys.modules, decoder, None)
        summary = read_dicom(dicom_fixtures_dir, "sample-02-dicom.dcm", "PixelData")
        assert summary is not None
        assert summary.values[0x7FE00010] == "<encapsulated, 96 fragments, 15148 bytes>"
        assert capsys.readouterr().out.endswith("<encapsulated, 96 fragments, 15148 bytes>\n")

    @pytest.mark.req("P1.DCM.8")
    def test_native_pixel_data_prints_its_byte_count(
        self, dicom_fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """sample-01: 16 x 16 pixels of 2 bytes."""
        read_dicom(dicom_fixtures_dir, "sample-01-dicom.dcm", "(7FE0,0010)")
        assert capsys.readouterr().out.splitlines()[3:] == [
            f"(7FE0,0010) PixelData [OW]: <{16 * 16 * 2} bytes>"
        ]

    @pytest.mark.req("P1.DCM.8", "P1.DCM.12")
    def test_ct_small_pixel_data_prints_its_byte_count(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """pydicom's CT_small.dcm: 128 x 128 pixels of 2 bytes."""
        read_dicom(CT_SMALL.parent, CT_SMALL.name, "PixelData")
        assert capsys.readouterr().out.splitlines()[3:] == [
            f"(7FE0,0010) PixelData [OW]: <{128 * 128 * 2} bytes>"
        ]

    @pytest.mark.req("P1.DCM.8")
    def test_implicit_vr_pixel_data_is_ow(
        self, make_dicom: Callable[..., Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without an explicit VR in the file, pixel data is OW by the standard."""
        path = make_dicom(
            transfer_syntax=ImplicitVRLittleEndian, pixels=np.zeros((4, 4), dtype=np.uint8)
        )
        read_dicom(path.parent, path.name, "PixelData")
        assert capsys.readouterr().out.splitlines()[3:] == [
            "(7FE0,0010) PixelData [OW]: <16 bytes>"
        ]

    @pytest.mark.req("P1.DCM.8")
    def test_implicit_vr_float_pixel_data_keeps_its_dictionary_vr(
        self, make_dicom: Callable[..., Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Float Pixel Data is OF whatever the encoding."""
        path = make_dicom(transfer_syntax=ImplicitVRLittleEndian, FloatPixelData=b"\0" * 16)
        read_dicom(path.parent, path.name, 0x7FE0)
        assert capsys.readouterr().out.splitlines()[3:] == [
            "(7FE0,0008) FloatPixelData [OF]: <16 bytes>"
        ]

    @pytest.mark.req("P1.DCM.8", "P1.DCM.3")
    def test_group_7fe0_prints_the_pixel_summary(
        self, dicom_fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The pixel data group holds just the one summarised element here."""
        read_dicom(dicom_fixtures_dir, "sample-02-dicom.dcm", "0x7FE0")
        assert capsys.readouterr().out.splitlines()[3:] == [
            "(7FE0,0010) PixelData [OB]: <encapsulated, 96 fragments, 15148 bytes>"
        ]

    @pytest.mark.req("P1.DCM.8")
    def test_pixel_request_seeks_over_the_pixels_instead_of_reading_them(
        self, large_dicom: Path, counting_reads: type[CountingFileIO]
    ) -> None:
        """Beyond the header, only the 16-byte padding element after the pixels is read."""
        baseline = stop_before_pixels_bytes(large_dicom)
        summary = read_dicom(large_dicom.parent, large_dicom.name, "PixelData")
        assert summary is not None
        assert summary.values == {0x7FE00010: f"<{512 * 512 * 2} bytes>"}
        assert counting_reads.bytes_read == baseline + 16

    @pytest.mark.req("P1.DCM.6", "P1.DCM.8")
    def test_an_element_after_the_pixel_data_is_found_when_asked_for(
        self, large_dicom: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Tags past the pixel data are read too, so they are never wrongly not present."""
        read_dicom(large_dicom.parent, large_dicom.name, "DataSetTrailingPadding")
        assert capsys.readouterr().out.splitlines()[3:] == [
            "(FFFC,FFFC) DataSetTrailingPadding [OB]: <4 bytes>"
        ]
