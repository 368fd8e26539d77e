"""Pixel data in exam/dicom_io.py: never read nor decoded, checked and summarised by seeking."""

from __future__ import annotations

import io
import re
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_fragments, parse_basic_offsets
from pydicom.tag import BaseTag
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    SecondaryCaptureImageStorage,
)

from exam import dicom_io
from exam.dicom_io import (
    DicomReadError,
    ElementText,
    TagRequest,
    TagResult,
    read_dicom,
    read_header,
)

CT_SMALL = Path(get_testdata_file("CT_small.dcm", download=False) or "CT_small.dcm")


class CountingFileIO(io.FileIO):
    """A raw file that counts the bytes actually read from disk."""

    bytes_read = 0

    def readinto(self, buffer: bytearray | memoryview) -> int | None:  # type: ignore[override]
        """Read like FileIO and add the bytes to the class-wide count."""
        count = super().readinto(buffer)
        CountingFileIO.bytes_read += count or 0
        return count

    def read(self, size: int = -1, /) -> bytes:
        """Read like FileIO (which does not go through readinto) and add the bytes to the count."""
        data = super().read(size)
        CountingFileIO.bytes_read += len(data)
        return data


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


def file_dataset(transfer_syntax: str) -> Dataset:
    """An empty secondary capture data set with its file meta information."""
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = transfer_syntax
    dataset.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    dataset.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    return dataset


@pytest.fixture
def large_encapsulated(tmp_path: Path) -> Path:
    """A 400 KB JPEG Baseline file: 4 frames of 100,000 bytes each, never decoded here."""
    dataset = file_dataset(JPEGBaseline8Bit)
    dataset.Modality = "OT"
    dataset.PixelData = encapsulate([bytes([frame]) * 100_000 for frame in range(4)])
    dataset["PixelData"].VR = "OB"
    path = tmp_path / "frames.dcm"
    dataset.save_as(path, enforce_file_format=True)
    return path


def deflated_file(tmp_path: Path, cut: int = 0) -> Path:
    """A deflated file with 8 x 8 16-bit pixels; ``cut`` bytes are taken off its data set first."""
    dataset = file_dataset(DeflatedExplicitVRLittleEndian)
    dataset.Modality = "OT"
    dataset.set_pixel_data(np.zeros((8, 8), dtype=np.uint16), "MONOCHROME2", 16)
    content = io.BytesIO()
    dataset.save_as(content, enforce_file_format=True)
    # The file meta group length sits after the preamble, "DICM" and its 8-byte element header.
    meta_end = 132 + 12 + int.from_bytes(content.getvalue()[140:144], "little")
    inflated = zlib.decompress(content.getvalue()[meta_end:], -zlib.MAX_WBITS)
    deflater = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    data = deflater.compress(inflated[: len(inflated) - cut]) + deflater.flush()
    path = tmp_path / "deflated.dcm"
    path.write_bytes(content.getvalue()[:meta_end] + data)
    return path


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

    @pytest.mark.req("P1.DCM.7", "P1.DCM.9")
    def test_checking_encapsulated_pixel_data_reads_only_its_item_headers(
        self, large_encapsulated: Path, counting_reads: type[CountingFileIO]
    ) -> None:
        """Beyond pydicom's header read, each item's 8-byte header is read, and 8 bytes more."""
        baseline = stop_before_pixels_bytes(large_encapsulated)
        read_header(large_encapsulated)
        # parse_fragments reads each item's tag and length, then the delimiter's tag;
        # the last item's length is read once more to find where the items end.
        assert counting_reads.bytes_read == baseline + 8 * 5 + 4 + 4
        assert counting_reads.bytes_read < large_encapsulated.stat().st_size / 20


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
    def test_encapsulated_pixel_data_of_no_fragment_prints_zero_bytes(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An empty Basic Offset Table, then the sequence delimiter: nothing else."""
        dataset = file_dataset(JPEGBaseline8Bit)
        dataset.PixelData = b"\xfe\xff\x00\xe0\x00\x00\x00\x00"
        dataset["PixelData"].VR = "OB"
        dataset.save_as(tmp_path / "empty.dcm", enforce_file_format=True)
        read_dicom(tmp_path, "empty.dcm", "PixelData")
        assert capsys.readouterr().out.splitlines()[3:] == [
            "(7FE0,0010) PixelData [OB]: <encapsulated, 0 fragments, 0 bytes>"
        ]

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
        assert summary.tags == (
            TagResult(
                TagRequest(0x7FE0, 0x0010),
                (
                    ElementText(
                        BaseTag(0x7FE00010),
                        "PixelData",
                        "OB",
                        "<encapsulated, 96 fragments, 15148 bytes>",
                    ),
                ),
            ),
        )
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
        self,
        large_dicom: Path,
        counting_reads: type[CountingFileIO],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Beyond the header, only the 16-byte padding element after the pixels is read."""
        baseline = stop_before_pixels_bytes(large_dicom)
        read_dicom(large_dicom.parent, large_dicom.name, "PixelData")
        assert counting_reads.bytes_read == baseline + 16
        assert capsys.readouterr().out.splitlines()[3:] == [
            f"(7FE0,0010) PixelData [OW]: <{512 * 512 * 2} bytes>"
        ]

    @pytest.mark.req("P1.DCM.5", "P1.DCM.8")
    def test_elements_after_the_pixel_data_are_decoded_in_the_files_character_set(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Private group 7FE1 follows the pixel data; its UTF-8 text, in items too, is UTF-8."""
        dataset = file_dataset(ExplicitVRLittleEndian)
        dataset.SpecificCharacterSet = "ISO_IR 192"
        dataset.PixelData = b"\0" * 4
        dataset["PixelData"].VR = "OB"
        block = dataset.private_block(0x7FE1, "ZÜRICH", create=True)
        block.add_new(0x01, "LO", "Müller")
        item = Dataset()
        item.SeriesDescription = "Zürich"
        block.add_new(0x02, "SQ", [item])
        # pydicom parses an item of undefined length as it reads, in the encoding it is given.
        dataset[0x7FE11002].is_undefined_length = True
        dataset.save_as(tmp_path / "utf8.dcm", enforce_file_format=True)
        read_dicom(tmp_path, "utf8.dcm", 0x7FE1)
        assert capsys.readouterr().out.splitlines()[3:] == [
            "(7FE1,0010) Private Creator [LO]: ZÜRICH",
            "(7FE1,1001) Private tag data [LO]: Müller",
            "(7FE1,1002) Private tag data [SQ]: 1 item",
            "  item 1:",
            "    (0008,103E) SeriesDescription [LO]: Zürich",
        ]

    @pytest.mark.req("P1.DCM.6", "P1.DCM.8")
    def test_an_element_after_the_pixel_data_is_found_when_asked_for(
        self, large_dicom: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Tags past the pixel data are read too, so they are never wrongly not present."""
        read_dicom(large_dicom.parent, large_dicom.name, "DataSetTrailingPadding")
        assert capsys.readouterr().out.splitlines()[3:] == [
            "(FFFC,FFFC) DataSetTrailingPadding [OB]: <4 bytes>"
        ]


class TestOddFiles:
    """Files pydicom reads in its own way: deflated, or with a file meta that lies."""

    @pytest.mark.req("P1.DCM.8")
    def test_deflated_pixel_data_is_summarised_from_the_data_set_pydicom_inflated(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """pydicom inflates a deflated data set in memory; its pixel data is found there."""
        path = deflated_file(tmp_path)
        read_dicom(tmp_path, path.name, "PixelData")
        assert capsys.readouterr().out.splitlines()[3:] == [
            f"(7FE0,0010) PixelData [OW]: <{8 * 8 * 2} bytes>"
        ]

    @pytest.mark.req("P1.DCM.9")
    def test_a_deflated_data_set_cut_inside_its_pixel_data_is_truncated(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The pixel data is checked in the inflated data set, where 100 of its 128 bytes are."""
        path = deflated_file(tmp_path, cut=28)
        with pytest.raises(
            DicomReadError,
            match=re.escape(
                f"{path}: truncated DICOM file "
                "((7FE0,0010) needs 128 bytes, the file ends after 100)"
            ),
        ):
            read_header(path)

    @pytest.mark.req("P1.DCM.8", "P1.DCM.9")
    # pydicom warns that the VR is not the one announced, which is the point here.
    @pytest.mark.filterwarnings("ignore:Expected explicit VR, but found implicit VR")
    def test_a_file_whose_meta_information_lies_about_its_vr_is_read_as_pydicom_reads_it(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """SC_rgb_jpeg.dcm claims explicit VR but is implicit; its summary is pydicom's count."""
        path = Path(get_testdata_file("SC_rgb_jpeg.dcm", download=False) or "SC_rgb_jpeg.dcm")
        pixel_data = dcmread(path).PixelData
        offsets_end = 8 + 4 * len(parse_basic_offsets(pixel_data))
        fragments = list(generate_fragments(pixel_data[offsets_end:]))
        assert read_dicom(path.parent, path.name, "PixelData") is not None
        assert capsys.readouterr().out.splitlines()[3:] == [
            f"(7FE0,0010) PixelData [OW]: <encapsulated, {len(fragments)} fragment, "
            f"{sum(map(len, fragments))} bytes>"
        ]
