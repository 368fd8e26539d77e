"""read_dicom() (exam/dicom_io.py): the basic fields, the requested tags and the summary.

Real files: the bundled fixtures and pydicom's own CT_small.dcm and MR_small.dcm
(whose header values below were looked up once with pydicom).  Edge cases use
small files written with the ``make_dicom`` factory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import BaseTag
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
)

from exam.dicom_io import DicomSummary, ElementText, TagRequest, TagResult, read_dicom

CT_SMALL = Path(get_testdata_file("CT_small.dcm", download=False) or "CT_small.dcm")
PYDICOM_FILES = CT_SMALL.parent
SAMPLE_01_INSTANCE = "1.2.826.0.1.3680043.8.498.63507237646392251752459438575666602993"


def dicom_records(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    """The (level, message) of every record logged by exam.dicom_io."""
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "exam.dicom_io"]


def item(**elements: object) -> Dataset:
    """A sequence item holding ``elements`` (keyword -> value)."""
    dataset = Dataset()
    for keyword, value in elements.items():
        setattr(dataset, keyword, value)
    return dataset


class TestBasicFields:
    """The patient's name, study date and modality, printed first."""

    @pytest.mark.req("P1.DCM.1", "P1.DCM.12")
    @pytest.mark.parametrize(
        ("bundled_with", "name", "printed"),
        [
            (
                "exam",
                "sample-01-dicom.dcm",
                "Patient's name: Doe^Jane\nStudy date: 2024-01-15\nModality: MR\n",
            ),
            (
                "exam",
                "sample-02-dicom.dcm",
                "Patient's name: Roe^Richard\nStudy date: 2024-06-11\nModality: XA\n",
            ),
            (
                "pydicom",
                "CT_small.dcm",
                "Patient's name: CompressedSamples^CT1\nStudy date: 2004-01-19\nModality: CT\n",
            ),
            (
                "pydicom",
                "MR_small.dcm",
                "Patient's name: CompressedSamples^MR1\nStudy date: 2004-08-26\nModality: MR\n",
            ),
        ],
    )
    def test_read_dicom_prints_patient_name_study_date_and_modality(
        self,
        bundled_with: str,
        name: str,
        printed: str,
        dicom_fixtures_dir: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Each real file prints its three basic fields, the date as YYYY-MM-DD."""
        folder = dicom_fixtures_dir if bundled_with == "exam" else PYDICOM_FILES
        read_dicom(folder, name)
        assert capsys.readouterr().out == printed

    @pytest.mark.req("P1.DCM.1")
    def test_read_dicom_returns_a_summary_of_what_it_printed(
        self, dicom_fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The frozen summary holds the file, the fields and each answered tag."""
        summary = read_dicom(dicom_fixtures_dir, "sample-02-dicom.dcm", "SeriesNumber")
        assert summary == DicomSummary(
            path=dicom_fixtures_dir / "sample-02-dicom.dcm",
            patient_name="Roe^Richard",
            study_date="2024-06-11",
            modality="XA",
            tags=(
                TagResult(
                    TagRequest(0x0020, 0x0011),
                    (ElementText(BaseTag(0x00200011), "SeriesNumber", "IS", "3"),),
                ),
            ),
        )
        assert capsys.readouterr().out == str(summary) + "\n"

    @pytest.mark.req("P1.DCM.1")
    def test_summary_is_frozen(self, dicom_fixtures_dir: Path) -> None:
        """The summary cannot be changed after the fact."""
        summary = read_dicom(dicom_fixtures_dir, "sample-01-dicom.dcm")
        assert summary is not None
        with pytest.raises(AttributeError, match="cannot assign to field 'modality'"):
            summary.modality = "CT"  # type: ignore[misc]

    @pytest.mark.req("P1.DCM.1")
    def test_read_dicom_accepts_string_paths(
        self, dicom_fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The folder and file name may be plain strings."""
        summary = read_dicom(str(dicom_fixtures_dir), "sample-01-dicom.dcm")
        assert summary is not None
        assert summary.path == dicom_fixtures_dir / "sample-01-dicom.dcm"

    @pytest.mark.req("P1.DCM.6")
    def test_basic_fields_absent_from_the_file_print_as_not_present(
        self, make_dicom: Callable[..., Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A file without name, date and modality still prints, each field not present."""
        path = make_dicom(PatientID="P001")
        summary = read_dicom(path.parent, path.name)
        assert capsys.readouterr().out == (
            "Patient's name: not present\nStudy date: not present\nModality: not present\n"
        )
        assert summary is not None
        assert (summary.patient_name, summary.study_date, summary.modality) == (None, None, None)

    @pytest.mark.req("P1.DCM.6")
    def test_empty_basic_fields_print_as_empty(
        self, make_dicom: Callable[..., Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Present but empty fields are told apart from absent ones."""
        path = make_dicom(PatientName="", StudyDate="", Modality="")
        summary = read_dicom(path.parent, path.name)
        assert capsys.readouterr().out == (
            "Patient's name: (empty)\nStudy date: (empty)\nModality: (empty)\n"
        )
        assert summary is not None
        assert (summary.patient_name, summary.study_date, summary.modality) == ("", "", "")

    @pytest.mark.req("P1.DCM.1")
    # pydicom warns when the invalid dates are written, which is the point here.
    @pytest.mark.filterwarnings("ignore:Invalid value for VR DA")
    @pytest.mark.parametrize("study_date", ["20241345", "2024.01.15"])
    def test_a_study_date_that_is_not_a_valid_date_prints_unchanged(
        self, study_date: str, make_dicom: Callable[..., Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Only a valid YYYYMMDD date is reformatted; anything else is shown as found."""
        path = make_dicom(StudyDate=study_date)
        read_dicom(path.parent, path.name)
        assert capsys.readouterr().out.splitlines()[1] == f"Study date: {study_date}"


class TestRequestedTags:
    """Each requested tag, printed after the basic fields."""

    @pytest.mark.req("P1.DCM.1", "P1.DCM.5")
    def test_read_dicom_prints_each_requested_tag_in_order(
        self, dicom_fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The tags follow the basic fields, one line each, in the order asked."""
        read_dicom(
            dicom_fixtures_dir,
            "sample-02-dicom.dcm",
            "SOPClassUID",
            "(0020,0011)",
            0x00280008,
            "StudyTime",
        )
        assert capsys.readouterr().out == (
            "Patient's name: Roe^Richard\n"
            "Study date: 2024-06-11\n"
            "Modality: XA\n"
            "(0008,0016) SOPClassUID [UI]: 1.2.840.10008.5.1.4.1.1.12.1 "
            "(X-Ray Angiographic Image Storage)\n"
            "(0020,0011) SeriesNumber [IS]: 3\n"
            "(0028,0008) NumberOfFrames [IS]: 96\n"
            "(0008,0030) StudyTime [TM]: 101530\n"
        )

    @pytest.mark.req("P1.DCM.2")
    @pytest.mark.parametrize(
        "spec",
        [0x00200011, (0x0020, 0x0011), "(0020,0011)", "0020,0011", "00200011", "SeriesNumber"],
    )
    def test_every_tag_form_prints_the_same_line(
        self,
        spec: int | tuple[int, int] | str,
        dicom_fixtures_dir: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """However the tag is written, the same element is printed."""
        read_dicom(dicom_fixtures_dir, "sample-02-dicom.dcm", spec)
        assert capsys.readouterr().out.splitlines()[3:] == ["(0020,0011) SeriesNumber [IS]: 3"]

    @pytest.mark.req("P1.DCM.5")
    @pytest.mark.parametrize(
        ("file", "keyword", "line"),
        [
            (
                "sample-02-dicom.dcm",
                "TransferSyntaxUID",
                "(0002,0010) TransferSyntaxUID [UI]: 1.2.840.10008.1.2.4.50 "
                "(JPEG Baseline (Process 1))",
            ),
            (
                "sample-01-dicom.dcm",
                "SOPClassUID",
                "(0008,0016) SOPClassUID [UI]: 1.2.840.10008.5.1.4.1.1.7 "
                "(Secondary Capture Image Storage)",
            ),
            (
                "sample-01-dicom.dcm",
                "SOPInstanceUID",
                f"(0008,0018) SOPInstanceUID [UI]: {SAMPLE_01_INSTANCE}",
            ),
        ],
    )
    def test_uids_print_with_their_registered_name(
        self,
        file: str,
        keyword: str,
        line: str,
        dicom_fixtures_dir: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A registered UID is followed by its name; any other UID is printed alone."""
        read_dicom(dicom_fixtures_dir, file, keyword)
        assert capsys.readouterr().out.splitlines()[3:] == [line]

    @pytest.mark.req("P1.DCM.5", "P1.DCM.12")
    def test_a_sequence_prints_its_items_indented(self, capsys: pytest.CaptureFixture[str]) -> None:
        """CT_small's Other Patient IDs Sequence: a count, then each item's elements."""
        read_dicom(CT_SMALL.parent, CT_SMALL.name, "OtherPatientIDsSequence")
        assert capsys.readouterr().out.splitlines()[3:] == [
            "(0010,1002) OtherPatientIDsSequence [SQ]: 2 items",
            "  item 1:",
            "    (0010,0020) PatientID [LO]: ABCD1234",
            "    (0010,0022) TypeOfPatientID [CS]: TEXT",
            "  item 2:",
            "    (0010,0020) PatientID [LO]: 1234ABCD",
            "    (0010,0022) TypeOfPatientID [CS]: TEXT",
        ]

    @pytest.mark.req("P1.DCM.5")
    def test_nested_sequences_indent_by_depth_and_show_empty_items(
        self, make_dicom: Callable[..., Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A sequence inside an item is indented one level further; an empty item says so."""
        path = make_dicom(
            ReferencedSeriesSequence=[
                item(
                    SeriesInstanceUID="1.2.3",
                    ReferencedInstanceSequence=[item(ReferencedSOPClassUID=CTImageStorage)],
                ),
                item(),
            ]
        )
        read_dicom(path.parent, path.name, "ReferencedSeriesSequence")
        assert capsys.readouterr().out.splitlines()[3:] == [
            "(0008,1115) ReferencedSeriesSequence [SQ]: 2 items",
            "  item 1:",
            "    (0008,114A) ReferencedInstanceSequence [SQ]: 1 item",
            "      item 1:",
            "        (0008,1150) ReferencedSOPClassUID [UI]: 1.2.840.10008.5.1.4.1.1.2 "
            "(CT Image Storage)",
            "    (0020,000E) SeriesInstanceUID [UI]: 1.2.3",
            "  item 2: (empty)",
        ]

    @pytest.mark.req("P1.DCM.5")
    def test_an_empty_sequence_prints_zero_items(
        self, make_dicom: Callable[..., Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A sequence without items is still shown, as 0 items."""
        path = make_dicom(ReferencedImageSequence=[])
        read_dicom(path.parent, path.name, "ReferencedImageSequence")
        assert capsys.readouterr().out.splitlines()[3:] == [
            "(0008,1140) ReferencedImageSequence [SQ]: 0 items"
        ]

    @pytest.mark.req("P1.DCM.5", "P1.DCM.12")
    @pytest.mark.parametrize(
        ("spec", "line"),
        [
            (
                "ImagePositionPatient",
                "(0020,0032) ImagePositionPatient [DS]: -158.135803\\-179.035797\\-75.699997",
            ),
            ("ImageType", "(0008,0008) ImageType [CS]: ORIGINAL\\PRIMARY\\AXIAL"),
            ("(0043,1028)", "(0043,1028) [Unique image iden] [OB]: <80 bytes>"),
            ("(0009,0010)", "(0009,0010) Private Creator [LO]: GEMS_IDEN_01"),
            ("(0009,1001)", "(0009,1001) [Full fidelity] [LO]: GE_GENESIS_FF"),
            ("PixelPaddingValue", "(0028,0120) PixelPaddingValue [SS]: -2000"),
        ],
        ids=["multi-valued DS", "multi-valued CS", "binary", "private creator", "private", "SS"],
    )
    def test_values_of_ct_small_print_readably(
        self, spec: str, line: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Multiple values are joined by backslashes, binary values counted, private tags named."""
        read_dicom(CT_SMALL.parent, CT_SMALL.name, spec)
        assert capsys.readouterr().out.splitlines()[3:] == [line]

    @pytest.mark.req("P1.DCM.5")
    def test_a_value_of_unknown_vr_prints_as_a_byte_count(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """In an Implicit VR file a private tag without its creator is UN: its bytes are counted."""
        dataset = Dataset()
        dataset.file_meta = FileMetaDataset()
        dataset.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        dataset.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
        dataset.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
        dataset.add_new(0x00091001, "LO", "ACME DATA")
        dataset.save_as(tmp_path / "private.dcm", enforce_file_format=True)
        read_dicom(tmp_path, "private.dcm", 0x0009)
        assert capsys.readouterr().out.splitlines()[3:] == [
            "(0009,1001) Private tag data [UN]: <10 bytes>"
        ]

    @pytest.mark.req("P1.DCM.5")
    def test_an_attribute_tag_value_prints_as_a_tag_with_its_keyword(
        self, dicom_fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An AT value is itself a tag: it prints like one."""
        read_dicom(dicom_fixtures_dir, "sample-02-dicom.dcm", "FrameIncrementPointer")
        assert capsys.readouterr().out.splitlines()[3:] == [
            "(0028,0009) FrameIncrementPointer [AT]: (0018,1063) FrameTime"
        ]

    @pytest.mark.req("P1.DCM.5")
    def test_an_attribute_tag_value_of_a_private_tag_prints_without_keyword(
        self, make_dicom: Callable[..., Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A private tag has no keyword to show."""
        path = make_dicom(FrameIncrementPointer=0x00091001)
        read_dicom(path.parent, path.name, "FrameIncrementPointer")
        assert capsys.readouterr().out.splitlines()[3:] == [
            "(0028,0009) FrameIncrementPointer [AT]: (0009,1001)"
        ]

    @pytest.mark.req("P1.DCM.5")
    def test_only_the_first_ten_of_many_values_are_printed(
        self, make_dicom: Callable[..., Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Long value lists are cut after ten values and the total is given."""
        path = make_dicom(ReferencedFrameNumber=list(range(1, 13)))
        read_dicom(path.parent, path.name, "ReferencedFrameNumber")
        assert capsys.readouterr().out.splitlines()[3:] == [
            "(0008,1160) ReferencedFrameNumber [IS]: 1\\2\\3\\4\\5\\6\\7\\8\\9\\10\\... (12 values)"
        ]

    @pytest.mark.req("P1.DCM.5")
    def test_ten_values_are_all_printed_without_a_count(
        self, make_dicom: Callable[..., Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Exactly ten values fit: nothing is left to count."""
        path = make_dicom(ReferencedFrameNumber=list(range(1, 11)))
        read_dicom(path.parent, path.name, "ReferencedFrameNumber")
        assert capsys.readouterr().out.splitlines()[3:] == [
            "(0008,1160) ReferencedFrameNumber [IS]: 1\\2\\3\\4\\5\\6\\7\\8\\9\\10"
        ]

    @pytest.mark.req("P1.DCM.6")
    def test_an_empty_value_prints_as_empty(
        self, dicom_fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """sample-01's StudyTime is present but empty."""
        read_dicom(dicom_fixtures_dir, "sample-01-dicom.dcm", "StudyTime")
        assert capsys.readouterr().out.splitlines()[3:] == ["(0008,0030) StudyTime [TM]: (empty)"]

    @pytest.mark.req("P1.DCM.6")
    @pytest.mark.parametrize(
        ("spec", "line"),
        [
            ("NumberOfFrames", "(0028,0008) NumberOfFrames [IS]: not present"),
            ("(0009,1001)", "(0009,1001): not present"),
            ("0x0009", "(0009,xxxx): not present"),
            ("PixelData", "(7FE0,0010) PixelData [OB or OW]: not present"),
        ],
        ids=["public", "private", "group", "pixel data"],
    )
    def test_a_tag_absent_from_the_file_prints_as_not_present(
        self,
        spec: str,
        line: str,
        make_dicom: Callable[..., Path],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Absent tags, groups and pixel data are reported, never an error."""
        path = make_dicom(PatientID="P001")
        assert read_dicom(path.parent, path.name, spec) is not None
        assert capsys.readouterr().out.splitlines()[3:] == [line]

    @pytest.mark.req("P1.DCM.3")
    def test_a_group_request_prints_every_element_of_the_group(
        self, dicom_fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Group 0x0010 of sample-01: the four patient elements, in tag order."""
        read_dicom(dicom_fixtures_dir, "sample-01-dicom.dcm", 0x0010)
        assert capsys.readouterr().out.splitlines()[3:] == [
            "(0010,0010) PatientName [PN]: Doe^Jane",
            "(0010,0020) PatientID [LO]: EXAM-0001",
            "(0010,0030) PatientBirthDate [DA]: 19800214",
            "(0010,0040) PatientSex [CS]: F",
        ]

    @pytest.mark.req("P1.DCM.3")
    def test_group_0002_prints_the_file_meta_information(
        self, dicom_fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The file meta elements live outside the dataset and are still found."""
        read_dicom(dicom_fixtures_dir, "sample-02-dicom.dcm", "0x0002")
        assert capsys.readouterr().out.splitlines()[3:] == [
            "(0002,0000) FileMetaInformationGroupLength [UL]: 248",
            "(0002,0001) FileMetaInformationVersion [OB]: <2 bytes>",
            "(0002,0002) MediaStorageSOPClassUID [UI]: 1.2.840.10008.5.1.4.1.1.12.1 "
            "(X-Ray Angiographic Image Storage)",
            "(0002,0003) MediaStorageSOPInstanceUID [UI]: "
            "1.2.826.0.1.3680043.8.498.59076550809926949822004315285162263686",
            "(0002,0010) TransferSyntaxUID [UI]: 1.2.840.10008.1.2.4.50 "
            "(JPEG Baseline (Process 1))",
            "(0002,0012) ImplementationClassUID [UI]: "
            "1.2.826.0.1.3680043.8.498.10928801318304262480947905290867149653",
            "(0002,0013) ImplementationVersionName [SH]: EXAM_FIXTURES_1",
        ]

    @pytest.mark.req("P1.DCM.3")
    def test_group_ffff_prints_its_elements_like_any_other_group(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The last group of all is found too (pydicom's group_dataset cannot slice it)."""
        dataset = Dataset()
        dataset.file_meta = FileMetaDataset()
        dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        dataset.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
        dataset.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
        dataset.add_new(0xFFFE0010, "LO", "BEFORE")
        dataset.add_new(0xFFFF0010, "LO", "LAST")
        path = tmp_path / "last.dcm"
        dataset.save_as(path, enforce_file_format=True)
        # pydicom writes no group length: put (FFFF,0000), the group's first element, in by hand.
        group_length = b"\xff\xff\x00\x00UL\x04\x00\x0c\x00\x00\x00"
        last = b"\xff\xff\x10\x00LO"
        path.write_bytes(path.read_bytes().replace(last, group_length + last))
        read_dicom(tmp_path, "last.dcm", 0xFFFF)
        # pydicom's names for this odd group's elements.
        assert capsys.readouterr().out.splitlines()[3:] == [
            "(FFFF,0000) Private Creator [UL]: 12",
            "(FFFF,0010) Private tag data [LO]: LAST",
        ]


class TestUnparseableTags:
    """A tag that cannot be parsed is logged; the rest is still printed."""

    @pytest.mark.req("P1.DCM.4")
    def test_an_unparseable_tag_is_logged_and_the_others_still_print(
        self,
        dicom_fixtures_dir: Path,
        capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """The bad tag gets an error record; the good ones on each side are printed."""
        caplog.set_level(logging.INFO, logger="exam")
        path = dicom_fixtures_dir / "sample-02-dicom.dcm"
        summary = read_dicom(
            dicom_fixtures_dir, "sample-02-dicom.dcm", "Modality", "Modalty", "SeriesNumber"
        )
        assert dicom_records(caplog) == [
            (logging.ERROR, "cannot parse tag 'Modalty': unknown DICOM keyword"),
            (logging.INFO, f"read DICOM file {path} (patient ID EXAM-0002)"),
        ]
        assert capsys.readouterr().out.splitlines()[3:] == [
            "(0008,0060) Modality [CS]: XA",
            "(0020,0011) SeriesNumber [IS]: 3",
        ]
        assert summary is not None
        assert summary.rejected == ("Modalty",)


class TestPatientPrivacy:
    """The patient's name is protected health information."""

    @pytest.mark.req("P1.DCM.11")
    def test_the_patients_name_is_printed_but_never_logged(
        self,
        dicom_fixtures_dir: Path,
        capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Even asked for explicitly, the name reaches stdout only; the log names the ID."""
        caplog.set_level(logging.DEBUG, logger="exam")
        path = dicom_fixtures_dir / "sample-02-dicom.dcm"
        read_dicom(dicom_fixtures_dir, path.name, "PatientName", 0x0010, "Bogus")
        assert "Roe^Richard" in capsys.readouterr().out
        assert all("Roe" not in record.getMessage() for record in caplog.records)
        assert dicom_records(caplog) == [
            (logging.ERROR, "cannot parse tag 'Bogus': unknown DICOM keyword"),
            (logging.INFO, f"read DICOM file {path} (patient ID EXAM-0002)"),
        ]

    @pytest.mark.req("P1.DCM.11")
    def test_a_file_without_patient_id_is_logged_as_unknown_patient(
        self, make_dicom: Callable[..., Path], caplog: pytest.LogCaptureFixture
    ) -> None:
        """No ID to show: the log says unknown, still not the name."""
        caplog.set_level(logging.INFO, logger="exam")
        path = make_dicom(PatientName="Doe^John")
        read_dicom(path.parent, path.name)
        assert dicom_records(caplog) == [
            (logging.INFO, f"read DICOM file {path} (patient ID unknown)")
        ]
