"""fixtures/make_dicoms.py and the DICOM fixtures it generates.

The committed fixtures must be exactly what the script writes, so they cannot
drift from it; their key properties are checked with pydicom itself.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.encaps import generate_frames
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    SecondaryCaptureImageStorage,
    XRayAngiographicImageStorage,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SCRIPT = FIXTURES / "make_dicoms.py"
NAMES = ["sample-01-dicom.dcm", "sample-02-dicom.dcm"]


def load_script() -> ModuleType:
    """Import fixtures/make_dicoms.py by path (fixtures/ is not a package)."""
    spec = importlib.util.spec_from_file_location("make_dicoms", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # No fixtures/__pycache__: the folder's listing is itself a fixture (python -m exam ls).
    writes_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = writes_bytecode
    return module


make_dicoms = load_script()


def jpeg_segments(jpeg: bytes) -> list[int]:
    """The markers of a JPEG's segments up to its scan, in order (a structural parse)."""
    assert jpeg[:2] == b"\xff\xd8"
    markers = [0xFFD8]
    position = 2
    while markers[-1] != 0xFFDA:
        marker = int.from_bytes(jpeg[position : position + 2], "big")
        length = int.from_bytes(jpeg[position + 2 : position + 4], "big")
        markers.append(marker)
        position += 2 + length
    return markers


def entropy_coded_data(jpeg: bytes) -> bytes:
    """The bytes between the scan header (10 bytes for one component) and end of image."""
    scan = jpeg.index(b"\xff\xda")
    assert jpeg[-2:] == b"\xff\xd9"
    return jpeg[scan + 10 : -2]


class TestRegeneration:
    """The committed fixtures are the script's deterministic output."""

    @pytest.mark.req("P1.FIX.3")
    def test_regenerated_fixtures_are_byte_identical_to_the_committed_ones(
        self, tmp_path: Path
    ) -> None:
        """Fixed UIDs and dates: writing again gives the very same bytes."""
        written = make_dicoms.write_fixtures(tmp_path)
        assert [path.name for path in written] == NAMES
        for path in written:
            assert path.read_bytes() == (FIXTURES / path.name).read_bytes(), path.name

    @pytest.mark.slow
    @pytest.mark.req("P1.FIX.1", "P1.FIX.3")
    def test_script_writes_the_fixtures_into_the_given_folder(self, tmp_path: Path) -> None:
        """python fixtures/make_dicoms.py OUTDIR lists each file it wrote with its size."""
        result = subprocess.run(
            [sys.executable, str(SCRIPT), str(tmp_path / "out")],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert result.stdout.splitlines() == [
            f"{tmp_path / 'out' / name} ({(FIXTURES / name).stat().st_size} bytes)"
            for name in NAMES
        ]
        for name in NAMES:
            assert (tmp_path / "out" / name).read_bytes() == (FIXTURES / name).read_bytes()


class TestSample01:
    """sample-01-dicom.dcm: an MR secondary capture."""

    @pytest.mark.req("P1.FIX.1")
    def test_sample_01_is_an_mr_secondary_capture_with_patient_and_study(self) -> None:
        """SOP class, modality, patient and study date as the test describes."""
        dataset = dcmread(FIXTURES / "sample-01-dicom.dcm")
        assert dataset.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert dataset.file_meta.MediaStorageSOPClassUID == SecondaryCaptureImageStorage
        assert dataset.SOPClassUID == SecondaryCaptureImageStorage
        assert dataset.Modality == "MR"
        assert (
            dataset.PatientName,
            dataset.PatientID,
            dataset.PatientBirthDate,
            dataset.PatientSex,
        ) == ("Doe^Jane", "EXAM-0001", "19800214", "F")
        assert dataset.StudyDate == "20240115"

    @pytest.mark.req("P1.FIX.1")
    def test_sample_01_has_an_empty_study_time_and_no_number_of_frames(self) -> None:
        """StudyTime is present but empty; NumberOfFrames is absent."""
        dataset = dcmread(FIXTURES / "sample-01-dicom.dcm")
        assert "StudyTime" in dataset
        assert dataset.StudyTime == ""
        assert "NumberOfFrames" not in dataset

    @pytest.mark.req("P1.FIX.1")
    def test_sample_01_pixels_are_a_16_by_16_ramp_of_16_bit_values(self) -> None:
        """Uncompressed 16-bit pixels 0, 16, 32 ... in raster order."""
        pixels = dcmread(FIXTURES / "sample-01-dicom.dcm").pixel_array
        assert pixels.dtype == np.uint16
        assert np.array_equal(pixels, (np.arange(256) * 16).reshape(16, 16))


class TestSample02:
    """sample-02-dicom.dcm: a 96-frame XA study under JPEG Baseline."""

    @pytest.mark.req("P1.FIX.2")
    def test_sample_02_is_a_jpeg_baseline_xa_study_with_96_frames(self) -> None:
        """File meta, SOP class, frames, patient, study and series as the test describes."""
        dataset = dcmread(FIXTURES / "sample-02-dicom.dcm")
        assert dataset.file_meta.TransferSyntaxUID == JPEGBaseline8Bit == "1.2.840.10008.1.2.4.50"
        assert dataset.file_meta.MediaStorageSOPClassUID == XRayAngiographicImageStorage
        assert dataset.file_meta.MediaStorageSOPInstanceUID == dataset.SOPInstanceUID
        assert (dataset.SOPClassUID, dataset.Modality) == (XRayAngiographicImageStorage, "XA")
        assert dataset.NumberOfFrames == 96
        assert (
            dataset.PatientName,
            dataset.PatientID,
            dataset.PatientBirthDate,
            dataset.PatientSex,
        ) == ("Roe^Richard", "EXAM-0002", "19720703", "M")
        assert (dataset.StudyDate, dataset.StudyTime, dataset.SeriesNumber) == (
            "20240611",
            "101530",
            3,
        )

    @pytest.mark.req("P1.FIX.2")
    def test_sample_02_holds_one_baseline_jpeg_per_frame(self) -> None:
        """96 encapsulated frames: SOI, tables, a baseline (SOF0) frame header ... EOI.

        DICOM fragments have an even length: an odd JPEG gets one trailing zero byte.
        """
        dataset = dcmread(FIXTURES / "sample-02-dicom.dcm")
        frames = list(generate_frames(dataset.PixelData, number_of_frames=96))
        assert len(frames) == 96
        for frame in frames:
            assert jpeg_segments(frame) == [0xFFD8, 0xFFDB, 0xFFC0, 0xFFC4, 0xFFDA]
            assert frame.removesuffix(b"\x00").endswith(b"\xff\xd9")
            assert len(frame) % 2 == 0

    @pytest.mark.req("P1.FIX.2")
    def test_sample_02_is_tens_of_kilobytes(self) -> None:
        """Small enough to commit: between 10 and 64 KB."""
        assert 10_000 < (FIXTURES / "sample-02-dicom.dcm").stat().st_size < 64_000


class TestJpegWriter:
    """flat_block_jpeg(): baseline JPEG written by hand, checked against ITU-T T.81."""

    @pytest.mark.req("P1.FIX.4")
    def test_dc_codes_are_the_standard_luminance_table(self) -> None:
        """The canonical codes equal T.81 Table K.3, category by category."""
        expected = [
            "00", "010", "011", "100", "101", "110",
            "1110", "11110", "111110", "1111110", "11111110", "111111110",
        ]  # fmt: skip
        codes = make_dicoms._DC_CODES
        assert [format(code, f"0{length}b") for code, length in map(codes.get, range(12))] == (
            expected
        )

    @pytest.mark.req("P1.FIX.4")
    @pytest.mark.parametrize(
        ("level", "data"),
        [
            # DC 0: code 00, no bits; EOB 0; padded with five 1-bits.
            (128, b"\x1f"),
            # DC +8: category 4 code 101, bits 1000; EOB 0.
            (129, b"\xb0"),
            # DC -8: category 4 code 101, bits 0111 (ones' complement); EOB 0.
            (127, b"\xae"),
            # DC -1024: category 11 code 111111110, bits 01111111111; EOB 0; pad 111.
            # The first byte is 0xFF, so a 0x00 is stuffed after it.
            (0, b"\xff\x00\x3f\xf7"),
        ],
    )
    def test_a_flat_block_is_coded_as_its_dc_difference_then_end_of_block(
        self, level: int, data: bytes
    ) -> None:
        """One flat 8x8 block, coded bit by bit as worked out by hand from T.81."""
        jpeg = make_dicoms.flat_block_jpeg(np.array([[level]], dtype=np.uint8))
        assert entropy_coded_data(jpeg) == data

    @pytest.mark.req("P1.FIX.4")
    def test_later_blocks_code_the_difference_from_the_previous_block(self) -> None:
        """Two blocks 129 then 129: +8 as above, then a zero difference (00) and EOB."""
        jpeg = make_dicoms.flat_block_jpeg(np.array([[129, 129]], dtype=np.uint8))
        # 101 1000 0 | 00 0 + pad 11111
        assert entropy_coded_data(jpeg) == b"\xb0\x1f"

    @pytest.mark.req("P1.FIX.4")
    def test_frame_header_declares_size_in_pixels(self) -> None:
        """The SOF0 header holds 8 bits, rows and columns of 8 pixels per block, 1 component."""
        jpeg = make_dicoms.flat_block_jpeg(np.zeros((2, 3), dtype=np.uint8))
        start = jpeg.index(b"\xff\xc0")
        assert jpeg[start : start + 13] == bytes.fromhex("ffc0 000b 08 0010 0018 01 011100")
