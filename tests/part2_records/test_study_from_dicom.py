"""StudyRecord.from_dicom() and load_dicom() (exam/records.py), and ``python -m exam study``.

Edge cases use small files written here with pydicom; the real files are the
bundled fixtures and pydicom's own CT_small.dcm and MR_small.dcm.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date, time
from pathlib import Path

import numpy as np
import pytest
from pydicom import Dataset, FileMetaDataset, dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import ImplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid
from pydicom.valuerep import PersonName

from exam import records
from exam.cli import main
from exam.dicom_io import DicomReadError, read_header
from exam.records import StudyRecord, age_on, dicom_age_to_years, format_person_name

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SAMPLE_01 = FIXTURES / "sample-01-dicom.dcm"
SAMPLE_02 = FIXTURES / "sample-02-dicom.dcm"
CT_SMALL = Path(get_testdata_file("CT_small.dcm", download=False) or "CT_small.dcm")
MR_SMALL = Path(get_testdata_file("MR_small.dcm", download=False) or "MR_small.dcm")

FIELDS = [
    "patient_id",
    "type_of_patient_id",
    "issuer_of_patient_id",
    "name",
    "sex",
    "birth_date",
    "age",
    "weight",
    "diagnosis",
    "modality",
    "study_date",
    "study_time",
    "study_instance_uid",
    "series_number",
    "number_of_frames",
]

SAMPLE_02_PRINTED = """\
Modality:             XA
Study date:           2024-06-11
Study time:           10:15:30
Study instance UID:   1.2.826.0.1.3680043.8.498.18966410983220803825463232260904909360
Series number:        3
Number of frames:     96
Patient ID:           EXAM-0002
Type of patient ID:   TEXT
Issuer of patient ID: unknown
Name:                 Roe, Richard
Sex:                  M
Birth date:           1972-07-03
Age (years):          51
Weight (kg):          82.5
Diagnosis:            unknown
Previous diagnoses:   none
"""

CODE_STRING = "must be a DICOM code string (1 to 16 of A-Z, 0-9, space, _)"
POSITIVE_KILOGRAMS = "must be a finite, positive number of kilograms"
IS_RANGE = "must be an integer from 0 to 2147483647"


def write_dicom(path: Path, **elements: str | None) -> Path:
    """Write a small DICOM file at ``path`` holding ``elements`` (keyword -> text).

    PatientID defaults to ``"P001"``; ``None`` leaves an element out.  Values
    are stored as text in an Implicit VR file, so invalid values reach the file
    exactly as given and the reader applies each element's dictionary VR (the
    shared ``make_dicom`` fixture sets values through pydicom, which refuses
    some of the invalid ones these tests need, such as NumberOfFrames "many").
    """
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    dataset.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    dataset.SOPClassUID = SecondaryCaptureImageStorage
    dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID
    for keyword, value in {"PatientID": "P001", **elements}.items():
        if value is not None:
            # UT: unlimited text that pydicom does not validate when writing.
            dataset.add_new(keyword, "UT", value)
    dataset.save_as(path, enforce_file_format=True)
    return path


def fields_of(record: StudyRecord) -> dict[str, object]:
    """Every patient and study field of ``record``, by name."""
    return {field: getattr(record, field) for field in FIELDS}


def exam_records(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    """The (level, message) of every record logged by exam.records."""
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "exam.records"]


@pytest.fixture
def study_file(tmp_path: Path) -> Callable[..., Path]:
    """Write ``study.dcm`` in tmp_path with the given elements; return its path."""

    def write(**elements: str | None) -> Path:
        return write_dicom(tmp_path / "study.dcm", **elements)

    return write


class TestFromDicom:
    """from_dicom() fills every patient and study field."""

    @pytest.mark.req("P2.STUDY.6")
    def test_from_dicom_reads_every_field_of_sample_02(self) -> None:
        """The multi-frame XA fixture gives its patient, its study and 96 frames."""
        record = StudyRecord.from_dicom(SAMPLE_02)
        assert fields_of(record) == {
            "patient_id": "EXAM-0002",
            "type_of_patient_id": "TEXT",
            "issuer_of_patient_id": None,
            "name": "Roe, Richard",
            "sex": "M",
            "birth_date": date(1972, 7, 3),
            "age": 51,
            "weight": 82.5,
            "diagnosis": None,
            "modality": "XA",
            "study_date": date(2024, 6, 11),
            "study_time": time(10, 15, 30),
            "study_instance_uid": "1.2.826.0.1.3680043.8.498."
            "18966410983220803825463232260904909360",
            "series_number": 3,
            "number_of_frames": 96,
        }

    @pytest.mark.req("P2.STUDY.6")
    def test_from_dicom_reads_sample_01_with_unknown_study_time_and_frames(self) -> None:
        """The MR secondary capture has an empty StudyTime and no NumberOfFrames: both None."""
        record = StudyRecord.from_dicom(SAMPLE_01)
        assert fields_of(record) == {
            "patient_id": "EXAM-0001",
            "type_of_patient_id": None,
            "issuer_of_patient_id": None,
            "name": "Doe, Jane",
            "sex": "F",
            "birth_date": date(1980, 2, 14),
            "age": 43,
            "weight": None,
            "diagnosis": None,
            "modality": "MR",
            "study_date": date(2024, 1, 15),
            "study_time": None,
            "study_instance_uid": "1.2.826.0.1.3680043.8.498."
            "36238958416926310850738496048143503265",
            "series_number": 1,
            "number_of_frames": None,
        }

    @pytest.mark.req("P2.STUDY.6")
    def test_from_dicom_reads_pydicoms_ct_small(self) -> None:
        """pydicom's CT_small.dcm: age 000Y is 0, its zero weight is unknown."""
        record = StudyRecord.from_dicom(CT_SMALL)
        assert fields_of(record) == {
            "patient_id": "1CT1",
            "type_of_patient_id": None,
            "issuer_of_patient_id": None,
            "name": "CompressedSamples, CT1",
            "sex": "O",
            "birth_date": None,
            "age": 0,
            "weight": None,
            "diagnosis": None,
            "modality": "CT",
            "study_date": date(2004, 1, 19),
            "study_time": time(7, 27, 30),
            "study_instance_uid": "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322",
            "series_number": 1,
            "number_of_frames": None,
        }

    @pytest.mark.req("P2.STUDY.6")
    def test_from_dicom_reads_pydicoms_mr_small(self) -> None:
        """pydicom's MR_small.dcm: no PatientAge and no birth date, so no age."""
        record = StudyRecord.from_dicom(MR_SMALL)
        assert fields_of(record) == {
            "patient_id": "4MR1",
            "type_of_patient_id": None,
            "issuer_of_patient_id": None,
            "name": "CompressedSamples, MR1",
            "sex": "F",
            "birth_date": None,
            "age": None,
            "weight": 80.0,
            "diagnosis": None,
            "modality": "MR",
            "study_date": date(2004, 8, 26),
            "study_time": time(18, 50, 59),
            "study_instance_uid": "1.3.6.1.4.1.5962.1.2.4.20040826185059.5457",
            "series_number": 1,
            "number_of_frames": None,
        }

    @pytest.mark.req("P2.STUDY.6", "P2.STUDY.9")
    def test_ct_smalls_zero_weight_is_logged_as_invalid(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A weight of 0 kg in a real file is a placeholder: warned about, not stored."""
        StudyRecord.from_dicom(CT_SMALL)
        assert exam_records(caplog) == [
            (
                logging.WARNING,
                f"{CT_SMALL}: patient 1CT1: ignoring invalid PatientWeight: weight must be a "
                "finite, positive number of kilograms",
            )
        ]

    @pytest.mark.req("P2.STUDY.6")
    def test_from_dicom_reads_every_element_it_knows(self, study_file: Callable[..., Path]) -> None:
        """Each patient and study element of the file lands in its field."""
        path = study_file(
            PatientID="EXAM-0042",
            TypeOfPatientID="BARCODE",
            IssuerOfPatientID="EXAM-HOSPITAL",
            PatientName="Doe^Jane",
            PatientSex="F",
            PatientBirthDate="19800214",
            PatientAge="044Y",
            PatientWeight="61.5",
            AdmittingDiagnosesDescription="Stenosis",
            Modality="XA",
            StudyDate="20240611",
            StudyTime="101530.25",
            StudyInstanceUID="1.2.3.4",
            SeriesNumber="3",
            NumberOfFrames="96",
        )
        assert fields_of(StudyRecord.from_dicom(path)) == {
            "patient_id": "EXAM-0042",
            "type_of_patient_id": "BARCODE",
            "issuer_of_patient_id": "EXAM-HOSPITAL",
            "name": "Doe, Jane",
            "sex": "F",
            "birth_date": date(1980, 2, 14),
            "age": 44,
            "weight": 61.5,
            "diagnosis": "Stenosis",
            "modality": "XA",
            "study_date": date(2024, 6, 11),
            "study_time": time(10, 15, 30, 250000),
            "study_instance_uid": "1.2.3.4",
            "series_number": 3,
            "number_of_frames": 96,
        }

    @pytest.mark.req("P2.STUDY.6")
    def test_from_dicom_accepts_the_path_as_a_string(self) -> None:
        """A str path works as well as a Path."""
        assert StudyRecord.from_dicom(str(SAMPLE_02)).patient_id == "EXAM-0002"

    @pytest.mark.req("P2.STUDY.6")
    def test_from_dicom_records_the_files_diagnosis_as_the_first_change(
        self, study_file: Callable[..., Path]
    ) -> None:
        """AdmittingDiagnosesDescription goes through update_diagnosis: history and all."""
        record = StudyRecord.from_dicom(study_file(AdmittingDiagnosesDescription="Stenosis"))
        assert [(c.old, c.new) for c in record.diagnosis_history] == [(None, "Stenosis")]

    @pytest.mark.req("P2.STUDY.6")
    def test_from_dicom_joins_several_admitting_diagnoses(
        self, study_file: Callable[..., Path]
    ) -> None:
        """A multi-valued AdmittingDiagnosesDescription becomes one '; '-separated diagnosis."""
        path = study_file(AdmittingDiagnosesDescription="Stenosis\\Angina pectoris")
        assert StudyRecord.from_dicom(path).diagnosis == "Stenosis; Angina pectoris"

    @pytest.mark.req("P2.STUDY.6")
    def test_from_dicom_on_a_subclass_returns_the_subclass(self) -> None:
        """from_dicom builds an instance of the class it is called on."""

        class ArchivedStudy(StudyRecord):
            pass

        assert type(ArchivedStudy.from_dicom(SAMPLE_02)) is ArchivedStudy


def bytes_read_by_this_process() -> int:
    """The bytes this process has read through read() system calls so far (Linux)."""
    counters = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(counters["rchar"])


def image_pixels(side: int) -> np.ndarray:
    """A ``side`` x ``side`` 16-bit ramp: 2 * side**2 bytes of native pixel data."""
    return np.arange(side * side, dtype=np.uint16).reshape(side, side)


LOADERS: dict[str, Callable[[Path], StudyRecord]] = {
    "from_dicom": StudyRecord.from_dicom,
    "load_dicom": lambda path: _loaded_into_existing(path),
}


def _loaded_into_existing(path: Path) -> StudyRecord:
    record = StudyRecord("P001")
    record.load_dicom(path)
    return record


class TestPixelDataIsNeverRead:
    """from_dicom() and load_dicom() read the header only."""

    @pytest.mark.req("P2.STUDY.7")
    @pytest.mark.parametrize("load", LOADERS.values(), ids=LOADERS.keys())
    def test_loading_reads_a_few_kib_of_a_file_with_2_mib_of_pixel_data(
        self, load: Callable[[Path], StudyRecord], make_dicom: Callable[..., Path]
    ) -> None:
        """The process reads under 64 KiB (the header and one buffer), not the pixel data."""
        path = make_dicom(PatientID="P001", Modality="OT", pixels=image_pixels(1024))
        assert path.stat().st_size > 2 * 1024 * 1024
        before = bytes_read_by_this_process()
        record = load(path)
        read = bytes_read_by_this_process() - before
        assert record.modality == "OT"
        assert read < 64 * 1024

    @pytest.mark.req("P2.STUDY.7")
    @pytest.mark.parametrize("load", LOADERS.values(), ids=LOADERS.keys())
    def test_the_record_is_built_from_a_header_without_pixel_data(
        self,
        load: Callable[[Path], StudyRecord],
        make_dicom: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The dataset the fields come from holds no PixelData, although the file does."""
        path = make_dicom(PatientID="P001", Modality="OT", pixels=image_pixels(16))
        datasets: list[Dataset] = []

        def spy(path: Path) -> Dataset:
            datasets.append(read_header(path))
            return datasets[-1]

        monkeypatch.setattr(records, "read_header", spy)
        assert load(path).modality == "OT"
        assert "PixelData" in dcmread(path)
        assert ["PixelData" in dataset for dataset in datasets] == [False]


class TestLoadDicom:
    """load_dicom() refreshes an existing record from a file of the same patient."""

    @pytest.mark.req("P2.STUDY.8")
    def test_load_dicom_fills_every_field_of_an_existing_record(self) -> None:
        """Loading into a record gives the same fields as from_dicom."""
        record = StudyRecord("EXAM-0002")
        record.load_dicom(SAMPLE_02)
        assert fields_of(record) == fields_of(StudyRecord.from_dicom(SAMPLE_02))

    @pytest.mark.req("P2.STUDY.8")
    def test_load_dicom_replaces_fields_the_file_lacks_with_none(
        self, study_file: Callable[..., Path]
    ) -> None:
        """The record mirrors the file: what the file does not hold becomes unknown."""
        record = StudyRecord("P001", name="Doe, Jane", weight=61.5, modality="CT")
        record.load_dicom(study_file(Modality="MR"))
        assert (record.name, record.weight, record.modality) == (None, None, "MR")

    @pytest.mark.req("P2.STUDY.8")
    def test_load_dicom_adds_the_files_diagnosis_to_the_history(
        self, study_file: Callable[..., Path]
    ) -> None:
        """The diagnosis in the file is a change like any other: the history is kept."""
        record = StudyRecord("P001")
        record.update_diagnosis("Angina pectoris")
        record.load_dicom(study_file(AdmittingDiagnosesDescription="Stenosis"))
        assert [(c.old, c.new) for c in record.diagnosis_history] == [
            (None, "Angina pectoris"),
            ("Angina pectoris", "Stenosis"),
        ]

    @pytest.mark.req("P2.STUDY.8")
    def test_load_dicom_keeps_the_diagnosis_when_the_file_has_none(
        self, study_file: Callable[..., Path]
    ) -> None:
        """A file without a diagnosis does not erase the one the record holds."""
        record = StudyRecord("P001")
        record.update_diagnosis("Angina pectoris")
        record.load_dicom(study_file())
        assert (record.diagnosis, len(record.diagnosis_history)) == ("Angina pectoris", 1)

    @pytest.mark.req("P2.STUDY.8")
    def test_load_dicom_refuses_a_file_of_another_patient(self) -> None:
        """A study is never attached to the wrong patient: ValueError, record unchanged."""
        record = StudyRecord("EXAM-0001", modality="CT")
        before = fields_of(record)
        message = (
            f"patient_id: {SAMPLE_02} holds patient EXAM-0002, this record holds patient EXAM-0001"
        )
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            record.load_dicom(SAMPLE_02)
        assert fields_of(record) == before

    @pytest.mark.req("P2.STUDY.8", "P2.STUDY.9")
    def test_load_dicom_logs_an_invalid_element_naming_the_file(
        self, study_file: Callable[..., Path], caplog: pytest.LogCaptureFixture
    ) -> None:
        """Refreshing a record warns as from_dicom does: file, patient ID, element, reason."""
        path = study_file(PatientSex="X")
        record = StudyRecord("P001", sex="F")
        record.load_dicom(path)
        assert record.sex is None
        assert exam_records(caplog) == [
            (
                logging.WARNING,
                f"{path}: patient P001: ignoring invalid PatientSex: "
                "sex must be 'M', 'F' or 'O' (any case)",
            )
        ]

    @pytest.mark.req("P2.STUDY.8", "P2.STUDY.13")
    def test_load_dicom_leaves_the_record_unchanged_when_the_file_cannot_be_read(
        self, tmp_path: Path
    ) -> None:
        """A missing file raises DicomReadError before any field changes."""
        record = StudyRecord("P001", modality="CT", weight=61.5)
        before = fields_of(record)
        with pytest.raises(DicomReadError):
            record.load_dicom(tmp_path / "missing.dcm")
        assert fields_of(record) == before


class TestMissingAndInvalidElements:
    """Absent or empty elements are unknown; invalid ones are logged and unknown."""

    @pytest.mark.req("P2.STUDY.9")
    def test_missing_elements_become_none_without_a_warning(
        self, study_file: Callable[..., Path], caplog: pytest.LogCaptureFixture
    ) -> None:
        """A file holding only a PatientID gives a record that knows only the ID."""
        record = StudyRecord.from_dicom(study_file())
        assert fields_of(record) == {"patient_id": "P001", **dict.fromkeys(FIELDS[1:])}
        assert exam_records(caplog) == []

    @pytest.mark.req("P2.STUDY.9")
    def test_empty_elements_become_none_without_a_warning(
        self, study_file: Callable[..., Path], caplog: pytest.LogCaptureFixture
    ) -> None:
        """Present but empty elements (DICOM type 2) are unknown too."""
        empty = {
            "TypeOfPatientID": "",
            "IssuerOfPatientID": "",
            "PatientName": "",
            "PatientSex": "",
            "PatientBirthDate": "",
            "PatientAge": "",
            "PatientWeight": "",
            "AdmittingDiagnosesDescription": "",
            "Modality": "",
            "StudyDate": "",
            "StudyTime": "",
            "StudyInstanceUID": "",
            "SeriesNumber": "",
            "NumberOfFrames": "",
        }
        record = StudyRecord.from_dicom(study_file(**empty))
        assert fields_of(record) == {"patient_id": "P001", **dict.fromkeys(FIELDS[1:])}
        assert exam_records(caplog) == []

    @pytest.mark.req("P2.STUDY.9")
    @pytest.mark.parametrize(
        ("keyword", "value", "field", "reason"),
        [
            ("PatientSex", "X", "sex", "sex must be 'M', 'F' or 'O' (any case)"),
            ("PatientWeight", "0", "weight", f"weight {POSITIVE_KILOGRAMS}"),
            ("PatientWeight", "-61.5", "weight", f"weight {POSITIVE_KILOGRAMS}"),
            ("PatientWeight", "1e400", "weight", f"weight {POSITIVE_KILOGRAMS}"),
            ("PatientWeight", "heavy", "weight", "weight must be a number of kilograms"),
            (
                "PatientBirthDate",
                "19800230",
                "birth_date",
                "birth_date is not a valid date (day is out of range for month)",
            ),
            (
                "PatientBirthDate",
                "1980-02-14",
                "birth_date",
                "birth_date must be a datetime.date or a DICOM date string YYYYMMDD",
            ),
            ("TypeOfPatientID", "RF-ID", "type_of_patient_id", f"type_of_patient_id {CODE_STRING}"),
            (
                "IssuerOfPatientID",
                "H" * 65,
                "issuer_of_patient_id",
                "issuer_of_patient_id must be at most 64 characters",
            ),
            ("Modality", "X-RAY", "modality", f"modality {CODE_STRING}"),
            (
                "StudyDate",
                "20241301",
                "study_date",
                "study_date is not a valid date (month must be in 1..12)",
            ),
            (
                "StudyTime",
                "10:15",
                "study_time",
                "study_time must be a datetime.time or a DICOM time string HH, HHMM, HHMMSS "
                "or HHMMSS.FFFFFF",
            ),
            (
                "StudyTime",
                "256000",
                "study_time",
                "study_time is not a valid time (hour must be in 0..23)",
            ),
            (
                "StudyInstanceUID",
                "1.02.3",
                "study_instance_uid",
                "study_instance_uid must be numbers without leading zeros separated by dots",
            ),
            ("SeriesNumber", "-3", "series_number", f"series_number {IS_RANGE}"),
            ("SeriesNumber", "2147483648", "series_number", f"series_number {IS_RANGE}"),
            ("SeriesNumber", "1.5", "series_number", f"series_number {IS_RANGE}"),
            ("NumberOfFrames", "many", "number_of_frames", f"number_of_frames {IS_RANGE}"),
            (
                "AdmittingDiagnosesDescription",
                " \\ ",
                "diagnosis",
                "diagnosis must be a non-empty string",
            ),
        ],
    )
    def test_invalid_element_is_logged_and_becomes_none(
        self,
        keyword: str,
        value: str,
        field: str,
        reason: str,
        study_file: Callable[..., Path],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """The warning names the file, the patient ID and the element and says what is wrong."""
        path = study_file(**{keyword: value})
        record = StudyRecord.from_dicom(path)
        assert getattr(record, field) is None
        assert exam_records(caplog) == [
            (logging.WARNING, f"{path}: patient P001: ignoring invalid {keyword}: {reason}")
        ]

    @pytest.mark.req("P2.STUDY.9")
    def test_warnings_about_a_file_never_hold_the_patient_name(
        self, study_file: Callable[..., Path], caplog: pytest.LogCaptureFixture
    ) -> None:
        """Names are protected health information: even a file full of errors logs none."""
        caplog.set_level(logging.DEBUG, logger="exam")
        path = study_file(
            PatientName="Zyxwort^Quentin",
            PatientSex="X",
            PatientAge="45",
            PatientBirthDate="20250101",
            StudyDate="20240101",
            AdmittingDiagnosesDescription="Stenosis",
        )
        StudyRecord.from_dicom(path)
        messages = [record.getMessage() for record in caplog.records]
        assert len(exam_records(caplog)) == 5
        assert [m for m in messages if "Zyxwort" in m or "Quentin" in m] == []

    @pytest.mark.req("P2.STUDY.9")
    @pytest.mark.parametrize(
        ("keyword", "value", "field"),
        [
            ("PatientName", "Doe^John\\Roe^Richard", "name"),
            ("PatientSex", "M\\F", "sex"),
            ("PatientWeight", "61.5\\62", "weight"),
            ("StudyInstanceUID", "1.2.3\\1.2.4", "study_instance_uid"),
            ("SeriesNumber", "1\\2", "series_number"),
        ],
    )
    def test_several_values_where_one_is_due_are_logged_and_become_none(
        self,
        keyword: str,
        value: str,
        field: str,
        study_file: Callable[..., Path],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A backslash-separated element is not taken apart: the field is unknown."""
        path = study_file(**{keyword: value})
        assert getattr(StudyRecord.from_dicom(path), field) is None
        assert exam_records(caplog) == [
            (
                logging.WARNING,
                f"{path}: patient P001: ignoring invalid {keyword}: {field} must be a single value",
            )
        ]


def logged_by_the_study_command(
    path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> list[str]:
    """Every record logged while ``python -m exam study`` loads ``path``, and its stderr lines.

    The command routes Python warnings (pydicom's) to the log, as in production.
    """
    caplog.set_level(logging.DEBUG)
    assert main(["study", str(path)]) == 0
    return [record.getMessage() for record in caplog.records] + capsys.readouterr().err.splitlines()


class TestNoValueInLogs:
    """Loading logs what is wrong with an element, never the value read (the ID aside)."""

    @pytest.mark.req("P2.STUDY.15")
    @pytest.mark.parametrize("value", ["19800230", "1980-02-14", "19801301x", "19800214\\19800215"])
    def test_an_invalid_birth_date_is_never_logged(
        self,
        value: str,
        study_file: Callable[..., Path],
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """The warning names PatientBirthDate; no record holds the date as read."""
        logged = logged_by_the_study_command(study_file(PatientBirthDate=value), caplog, capsys)
        assert [line for line in logged if "PatientBirthDate" in line] != []
        assert [line for line in logged if value in line or "1980" in line] == []

    @pytest.mark.req("P2.STUDY.15")
    @pytest.mark.parametrize("value", ["1.02.3", "1.2.abc", "1.2.840." + "9" * 60])
    def test_an_invalid_uid_is_never_logged_by_the_loader_or_by_pydicom(
        self,
        value: str,
        study_file: Callable[..., Path],
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """pydicom's own check of the UI value, which would quote it, is not what reports it."""
        logged = logged_by_the_study_command(study_file(StudyInstanceUID=value), caplog, capsys)
        assert [line for line in logged if "StudyInstanceUID" in line] != []
        assert [line for line in logged if value in line] == []

    @pytest.mark.req("P2.STUDY.15")
    @pytest.mark.parametrize(
        "value",
        ["Zyxwort^Quentin\\Roe^Richard", "Zyxwort" * 10 + "^Quentin", "Zyxwort^Quentin=A=B=C"],
        ids=["two names", "component too long", "too many groups"],
    )
    def test_an_invalid_name_is_never_logged(
        self,
        value: str,
        study_file: Callable[..., Path],
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Whatever is wrong with a PatientName, no record holds any part of it."""
        logged = logged_by_the_study_command(study_file(PatientName=value), caplog, capsys)
        assert [line for line in logged if "Zyxwort" in line or "Quentin" in line] == []

    @pytest.mark.req("P2.STUDY.11", "P2.STUDY.15")
    def test_an_age_beyond_999_from_the_birth_date_is_unknown_and_logged_without_dates(
        self, study_file: Callable[..., Path], caplog: pytest.LogCaptureFixture
    ) -> None:
        """A birth date over 999 years before the study gives no age, and a warning without it."""
        path = study_file(PatientBirthDate="09000101", StudyDate="20240101")
        assert StudyRecord.from_dicom(path).age is None
        assert exam_records(caplog) == [
            (
                logging.WARNING,
                f"{path}: patient P001: ignoring the age from the birth date: "
                "age must be an integer from 0 to 999",
            )
        ]


class TestAge:
    """The age: from PatientAge, else from the birth date on the study date."""

    @pytest.mark.req("P2.STUDY.10")
    @pytest.mark.parametrize(
        ("patient_age", "years"),
        [
            ("045Y", 45),
            ("000Y", 0),
            ("100Y", 100),
            ("006M", 0),
            ("011M", 0),
            ("012M", 1),
            ("030M", 2),
            ("003W", 0),
            ("052W", 0),
            ("053W", 1),
            ("010D", 0),
            ("365D", 0),
            ("366D", 1),
        ],
    )
    def test_age_comes_from_patient_age_in_whole_years(
        self, patient_age: str, years: int, study_file: Callable[..., Path]
    ) -> None:
        """Months count 12 and weeks or days 365.25 days to the year, rounded down."""
        path = study_file(PatientAge=patient_age, PatientBirthDate="19000101", StudyDate="20240611")
        assert StudyRecord.from_dicom(path).age == years

    @pytest.mark.req("P2.STUDY.11")
    @pytest.mark.parametrize(
        ("birth_date", "study_date", "years"),
        [
            ("19800214", "20240213", 43),
            ("19800214", "20240214", 44),
            ("19800214", "20241231", 44),
            ("20240611", "20240611", 0),
            ("19991231", "20000101", 0),
            ("20000229", "20230228", 22),
            ("20000229", "20230301", 23),
            ("20000229", "20240229", 24),
        ],
    )
    def test_without_patient_age_the_age_is_taken_on_the_study_date(
        self, birth_date: str, study_date: str, years: int, study_file: Callable[..., Path]
    ) -> None:
        """Whole years from birth date to study date; a 29 February birthday counts from 1 March."""
        path = study_file(PatientBirthDate=birth_date, StudyDate=study_date)
        assert StudyRecord.from_dicom(path).age == years

    @pytest.mark.req("P2.STUDY.11")
    @pytest.mark.parametrize("patient_age", ["45", "045", "045X", "45Y", "0045Y", "-45Y"])
    def test_invalid_patient_age_is_logged_and_the_birth_date_used(
        self,
        patient_age: str,
        study_file: Callable[..., Path],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """An age string that is not nnnD/W/M/Y is reported, then the birth date decides."""
        path = study_file(PatientAge=patient_age, PatientBirthDate="19800214", StudyDate="20240611")
        assert StudyRecord.from_dicom(path).age == 44
        assert exam_records(caplog) == [
            (
                logging.WARNING,
                f"{path}: patient P001: ignoring invalid PatientAge: age must be a DICOM age "
                "string of 3 digits and D, W, M or Y",
            ),
            (logging.WARNING, f"{path}: patient P001: age taken from the birth date instead"),
        ]

    @pytest.mark.req("P2.STUDY.11")
    def test_birth_date_after_the_study_date_gives_no_age_and_a_warning(
        self, study_file: Callable[..., Path], caplog: pytest.LogCaptureFixture
    ) -> None:
        """Never a negative age: the age is unknown and the inconsistency is logged by ID."""
        path = study_file(PatientBirthDate="20240612", StudyDate="20240611")
        record = StudyRecord.from_dicom(path)
        assert (record.birth_date, record.study_date, record.age) == (
            date(2024, 6, 12),
            date(2024, 6, 11),
            None,
        )
        assert exam_records(caplog) == [
            (
                logging.WARNING,
                f"{path}: patient P001: the birth date is after the study date; age unknown",
            )
        ]

    @pytest.mark.req("P2.STUDY.11")
    @pytest.mark.parametrize(
        "elements",
        [{"PatientBirthDate": "19800214"}, {"StudyDate": "20240611"}],
        ids=["no study date", "no birth date"],
    )
    def test_without_patient_age_and_either_date_the_age_is_unknown(
        self,
        elements: dict[str, str],
        study_file: Callable[..., Path],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Nothing to compute the age from: None, and nothing to warn about."""
        assert StudyRecord.from_dicom(study_file(**elements)).age is None
        assert exam_records(caplog) == []

    @pytest.mark.req("P2.STUDY.10")
    @pytest.mark.parametrize(
        ("value", "shown"), [("45", "'45'"), ("045y", "'045y'"), (45, "45"), (None, "None")]
    )
    def test_dicom_age_to_years_refuses_what_is_not_an_age_string(
        self, value: object, shown: str
    ) -> None:
        """The error names the age and shows what it got; a non-string is refused, not a crash."""
        message = f"age must be a DICOM age string of 3 digits and D, W, M or Y, got {shown}"
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            dicom_age_to_years(value)

    @pytest.mark.req("P2.STUDY.11")
    def test_age_on_refuses_a_day_before_the_birth_date(self) -> None:
        """age_on() never returns a negative age."""
        with pytest.raises(ValueError, match=r"^birth date 2024-06-12 is after 2024-06-11$"):
            age_on(date(2024, 6, 12), date(2024, 6, 11))


class TestPatientName:
    """PatientName in display form: family name first."""

    @pytest.mark.req("P2.STUDY.12")
    @pytest.mark.parametrize(
        ("patient_name", "shown"),
        [
            ("Doe^John", "Doe, John"),
            ("Doe^John^Adam", "Doe, John Adam"),
            ("Doe^John^Adam^Dr^Jr", "Doe, Dr John Adam Jr"),
            ("Doe", "Doe"),
            ("^John", "John"),
            ("Doe^^^^PhD", "Doe, PhD"),
            ("Doe^John=Ideographic^Name", "Doe, John"),
        ],
    )
    def test_patient_name_is_shown_family_name_first(
        self, patient_name: str, shown: str, study_file: Callable[..., Path]
    ) -> None:
        """Family, then prefix, given, middle names and suffix; alphabetic form only."""
        assert StudyRecord.from_dicom(study_file(PatientName=patient_name)).name == shown

    @pytest.mark.req("P2.STUDY.12")
    @pytest.mark.parametrize("value", ["", "^^^^", "=Ideographic^Name"])
    def test_name_without_alphabetic_components_is_unknown(self, value: str) -> None:
        """A PN with nothing to show gives None, not an empty string."""
        assert format_person_name(value) is None

    @pytest.mark.req("P2.STUDY.12")
    def test_format_person_name_accepts_a_pydicom_person_name(self) -> None:
        """pydicom's PersonName is formatted like its string."""
        assert format_person_name(PersonName("Roe^Richard")) == "Roe, Richard"


class TestReadErrors:
    """Files from_dicom() cannot use: DicomReadError, its message starting with the path."""

    @pytest.mark.req("P2.STUDY.13")
    def test_missing_file_raises_dicom_read_error(self, tmp_path: Path) -> None:
        """A path that does not exist cannot be read."""
        path = tmp_path / "missing.dcm"
        with pytest.raises(DicomReadError, match=f"^{re.escape(str(path))}: "):
            StudyRecord.from_dicom(path)

    @pytest.mark.req("P2.STUDY.13")
    def test_folder_raises_dicom_read_error(self, tmp_path: Path) -> None:
        """A folder is not a DICOM file."""
        with pytest.raises(DicomReadError, match=f"^{re.escape(str(tmp_path))}: "):
            StudyRecord.from_dicom(tmp_path)

    @pytest.mark.req("P2.STUDY.13")
    def test_non_dicom_file_raises_dicom_read_error(self, tmp_path: Path) -> None:
        """A text file is not a DICOM file."""
        path = tmp_path / "notes.dcm"
        path.write_text("patient,age\nP001,45\n", encoding="utf-8")
        with pytest.raises(DicomReadError, match=f"^{re.escape(str(path))}: "):
            StudyRecord.from_dicom(path)

    @pytest.mark.req("P2.STUDY.13")
    def test_truncated_file_raises_dicom_read_error(self, tmp_path: Path) -> None:
        """A DICOM file cut off in its header cannot be read."""
        path = tmp_path / "truncated.dcm"
        path.write_bytes(SAMPLE_02.read_bytes()[:400])
        with pytest.raises(DicomReadError, match=f"^{re.escape(str(path))}: "):
            StudyRecord.from_dicom(path)

    @pytest.mark.req("P2.STUDY.13")
    @pytest.mark.parametrize(
        ("patient_id", "error"),
        [
            (None, "patient_id must be a non-empty string, got None"),
            ("", "patient_id must be a non-empty string, got ''"),
            ("9" * 65, "patient_id must be at most 64 characters, got 65"),
        ],
        ids=["absent", "empty", "too long"],
    )
    def test_file_without_a_usable_patient_id_raises_dicom_read_error(
        self, patient_id: str | None, error: str, study_file: Callable[..., Path]
    ) -> None:
        """A record cannot exist without a patient ID, so the file cannot be loaded."""
        path = study_file(PatientID=patient_id)
        message = f"{path}: no usable PatientID (0010,0020): {error}"
        with pytest.raises(DicomReadError, match=f"^{re.escape(message)}$"):
            StudyRecord.from_dicom(path)


class TestStudyCommand:
    """``python -m exam study FILE``."""

    @pytest.mark.req("P2.STUDY.14", "P2.PRINT.3")
    def test_study_command_prints_control_characters_of_the_file_escaped(
        self, study_file: Callable[..., Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An escape sequence in the file's name prints as text, not as a terminal command."""
        path = study_file(PatientName="Doe^Jane\x1b[2J", IssuerOfPatientID="EXAM\tHOSPITAL")
        assert main(["study", str(path)]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert "Name:                 Doe, Jane\\x1b[2J" in lines
        assert "Issuer of patient ID: EXAM\\tHOSPITAL" in lines
        assert [line for line in lines if "\x1b" in line or "\t" in line] == []

    @pytest.mark.req("P2.STUDY.14", "P2.PRINT.1")
    def test_study_command_prints_the_record_and_exits_0(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The record of sample-02, every field on its own line."""
        assert main(["study", str(SAMPLE_02)]) == 0
        assert capsys.readouterr().out == SAMPLE_02_PRINTED

    @pytest.mark.req("P2.STUDY.14")
    def test_study_command_on_a_missing_file_exits_1_with_a_logged_error(
        self,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Nothing is printed; the error is logged and shown on stderr."""
        path = tmp_path / "missing.dcm"
        assert main(["study", str(path)]) == 1
        assert caplog.record_tuples == [("exam.cli", logging.ERROR, f"{path}: no such file")]
        assert capsys.readouterr() == ("", f"ERROR: {path}: no such file\n")

    @pytest.mark.req("P2.STUDY.14")
    def test_study_command_on_a_non_dicom_file_exits_1_with_a_logged_error(
        self,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Nothing is printed; the error is logged and shown on stderr."""
        path = tmp_path / "notes.txt"
        path.write_text("not DICOM\n", encoding="utf-8")
        message = f"{path}: not a DICOM file (no 'DICM' prefix after the 128-byte preamble)"
        assert main(["study", str(path)]) == 1
        assert caplog.record_tuples == [("exam.cli", logging.ERROR, message)]
        assert capsys.readouterr() == ("", f"ERROR: {message}\n")
