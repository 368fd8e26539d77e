"""StudyRecord (exam/records.py): the study's validated fields and the printed record."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time

import pytest

from exam.records import PatientRecord, StudyRecord
from tests.factories import StudyRecordFactory

STUDY_FIELDS = [
    "modality",
    "study_date",
    "study_time",
    "study_instance_uid",
    "series_number",
    "number_of_frames",
]
CODE_STRING = "must be a DICOM code string (1 to 16 of A-Z, 0-9, space, _)"
DATE_FORMS = "must be a datetime.date or a DICOM date string YYYYMMDD"
TIME_FORMS = "must be a datetime.time or a DICOM time string HH, HHMM, HHMMSS or HHMMSS.FFFFFF"
UID_SYNTAX = "study_instance_uid must be numbers without leading zeros separated by dots"
#: The largest value of a DICOM integer string (IS): 2**31 - 1.
LARGEST_IS = 2_147_483_647
#: A 64-character UID, the longest DICOM allows.
LONGEST_UID = "1.2.840.10008." + "1" * 50


class TestFields:
    """The study's fields, on top of the patient's."""

    @pytest.mark.req("P2.STUDY.1")
    def test_study_record_is_a_patient_record(self) -> None:
        """A study record carries the patient's fields and behaviour."""
        record = StudyRecord("P001", name="Doe, Jane", sex="f")
        record.update_diagnosis("Influenza")
        assert isinstance(record, PatientRecord)
        assert (record.patient_id, record.name, record.sex, record.diagnosis) == (
            "P001",
            "Doe, Jane",
            "F",
            "Influenza",
        )

    @pytest.mark.req("P2.STUDY.1")
    def test_study_record_stores_every_study_field_given_to_the_constructor(self) -> None:
        """Each keyword argument comes back from its property."""
        record = StudyRecord(
            "P001",
            modality="XA",
            study_date=date(2024, 6, 11),
            study_time=time(10, 15, 30),
            study_instance_uid="1.2.840.113619.2.55.3",
            series_number=3,
            number_of_frames=96,
        )
        assert [getattr(record, field) for field in STUDY_FIELDS] == [
            "XA",
            date(2024, 6, 11),
            time(10, 15, 30),
            "1.2.840.113619.2.55.3",
            3,
            96,
        ]

    @pytest.mark.req("P2.STUDY.1")
    def test_study_fields_are_none_by_default(self) -> None:
        """A study record built from a patient ID alone knows nothing about the study."""
        record = StudyRecord("P001")
        assert {field: getattr(record, field) for field in STUDY_FIELDS} == dict.fromkeys(
            STUDY_FIELDS
        )

    @pytest.mark.req("P2.STUDY.1")
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("modality", "MR"),
            ("study_date", date(2004, 8, 26)),
            ("study_time", time(18, 50, 59)),
            ("study_instance_uid", "1.3.6.1.4.1.5962.1.2.4.20040826185059.5457"),
            ("series_number", 7),
            ("number_of_frames", 1),
        ],
    )
    def test_setter_stores_a_valid_value(self, field: str, value: object) -> None:
        """Setting a study field to a valid value makes its getter return that value."""
        record = StudyRecordFactory()
        setattr(record, field, value)
        assert getattr(record, field) == value

    @pytest.mark.req("P2.STUDY.1")
    @pytest.mark.parametrize("field", STUDY_FIELDS)
    def test_study_field_can_be_set_back_to_none(self, field: str) -> None:
        """None (unknown) is a valid value for every study field."""
        record = StudyRecordFactory()
        setattr(record, field, None)
        assert getattr(record, field) is None

    @pytest.mark.req("P2.STUDY.2", "P2.STUDY.3", "P2.STUDY.4", "P2.STUDY.5")
    @pytest.mark.parametrize(
        ("field", "bad"),
        [
            ("modality", "X-RAY"),
            ("study_date", "20240631"),
            ("study_time", "2460"),
            ("study_instance_uid", "1.02"),
            ("series_number", -1),
            ("number_of_frames", 1.0),
        ],
    )
    def test_rejected_value_leaves_the_field_unchanged(self, field: str, bad: object) -> None:
        """A setter that raises keeps the value the field had before."""
        record = StudyRecordFactory()
        before = getattr(record, field)
        with pytest.raises(ValueError, match=field):
            setattr(record, field, bad)
        assert getattr(record, field) == before


class TestModalityAndStudyDate:
    """modality: a DICOM code string; study_date: as the birth date."""

    @pytest.mark.req("P2.STUDY.2")
    @pytest.mark.parametrize(
        ("value", "expected"), [("CT", "CT"), ("xa", "XA"), ("OT", "OT"), (" MR ", "MR")]
    )
    def test_modality_is_stored_upper_case(self, value: str, expected: str) -> None:
        """Modality codes are accepted in any case and stored upper case."""
        assert StudyRecord("P001", modality=value).modality == expected

    @pytest.mark.req("P2.STUDY.2")
    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("X-RAY", f"modality {CODE_STRING}, got 'X-RAY'"),
            ("", f"modality {CODE_STRING}, got ''"),
            ("M" * 17, f"modality {CODE_STRING}, got '{'M' * 17}'"),
            (5, f"modality {CODE_STRING}, got 5"),
        ],
    )
    def test_invalid_modality_raises_value_error_naming_modality(
        self, value: object, message: str
    ) -> None:
        """Characters outside A-Z, 0-9, space and _, empty or over-long codes are refused."""
        record = StudyRecord("P001")
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            record.modality = value  # type: ignore[assignment]

    @pytest.mark.req("P2.STUDY.2")
    @pytest.mark.parametrize("value", [date(2024, 6, 11), "20240611"], ids=["date", "DA"])
    def test_study_date_is_stored_as_a_date(self, value: date | str) -> None:
        """A date is kept; a DA string is parsed."""
        assert StudyRecord("P001", study_date=value).study_date == date(2024, 6, 11)

    @pytest.mark.req("P2.STUDY.2")
    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("2024-06-11", f"study_date {DATE_FORMS}, got '2024-06-11'"),
            (
                datetime(2024, 6, 11, 10, 15),
                f"study_date {DATE_FORMS}, got datetime.datetime(2024, 6, 11, 10, 15)",
            ),
            (
                "20240631",
                "study_date is not a valid date (day is out of range for month), got '20240631'",
            ),
        ],
    )
    def test_invalid_study_date_raises_value_error_naming_study_date(
        self, value: object, message: str
    ) -> None:
        """Other forms, datetimes and impossible dates are refused."""
        record = StudyRecord("P001")
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            record.study_date = value  # type: ignore[assignment]


class TestStudyTime:
    """study_time: a datetime.time or a DICOM TM string."""

    @pytest.mark.req("P2.STUDY.3")
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("101530.123456", time(10, 15, 30, 123456)),
            ("101530.5", time(10, 15, 30, 500000)),
            ("101530.0042", time(10, 15, 30, 4200)),
            ("101530", time(10, 15, 30)),
            ("1015", time(10, 15)),
            ("10", time(10)),
            ("000000", time(0)),
            ("235959.999999", time(23, 59, 59, 999999)),
            (" 101530 ", time(10, 15, 30)),
            (time(10, 15, 30, 1), time(10, 15, 30, 1)),
        ],
    )
    def test_study_time_is_stored_as_a_time(self, value: time | str, expected: time) -> None:
        """Full, fractional and short TM forms are parsed; omitted parts are zero."""
        assert StudyRecord("P001", study_time=value).study_time == expected

    @pytest.mark.req("P2.STUDY.3")
    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("10:15:30", f"study_time {TIME_FORMS}, got '10:15:30'"),
            ("101", f"study_time {TIME_FORMS}, got '101'"),
            ("1015301", f"study_time {TIME_FORMS}, got '1015301'"),
            ("101530.1234567", f"study_time {TIME_FORMS}, got '101530.1234567'"),
            ("101530.", f"study_time {TIME_FORMS}, got '101530.'"),
            ("1015.5", f"study_time {TIME_FORMS}, got '1015.5'"),
            ("", f"study_time {TIME_FORMS}, got ''"),
            (101530, f"study_time {TIME_FORMS}, got 101530"),
            ("2400", "study_time is not a valid time (hour must be in 0..23), got '2400'"),
            ("1060", "study_time is not a valid time (minute must be in 0..59), got '1060'"),
            ("101560", "study_time is not a valid time (second must be in 0..59), got '101560'"),
        ],
    )
    def test_invalid_study_time_raises_value_error_naming_study_time(
        self, value: object, message: str
    ) -> None:
        """Other forms, too many fraction digits and out-of-range parts are refused."""
        record = StudyRecord("P001")
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            record.study_time = value  # type: ignore[assignment]


class TestStudyInstanceUid:
    """study_instance_uid: DICOM UID syntax."""

    @pytest.mark.req("P2.STUDY.4")
    @pytest.mark.parametrize("value", ["1.2.840.10008.1.2", "0.0", "2.25.0", "1", LONGEST_UID])
    def test_valid_uid_is_stored(self, value: str) -> None:
        """Dot-separated numbers without leading zeros, up to 64 characters."""
        assert StudyRecord("P001", study_instance_uid=value).study_instance_uid == value

    @pytest.mark.req("P2.STUDY.4")
    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("1.02.3", f"{UID_SYNTAX}, got '1.02.3'"),
            ("1..2", f"{UID_SYNTAX}, got '1..2'"),
            (".1.2", f"{UID_SYNTAX}, got '.1.2'"),
            ("1.2.", f"{UID_SYNTAX}, got '1.2.'"),
            ("1.2.abc", f"{UID_SYNTAX}, got '1.2.abc'"),
            ("1.2 ", f"{UID_SYNTAX}, got '1.2 '"),
            ("", f"{UID_SYNTAX}, got ''"),
            (LONGEST_UID + "1", "study_instance_uid must be at most 64 characters, got 65"),
            (1.2, "study_instance_uid must be a string, got 1.2"),
        ],
    )
    def test_invalid_uid_raises_value_error_naming_study_instance_uid(
        self, value: object, message: str
    ) -> None:
        """Leading zeros, empty components, other characters and over-long UIDs are refused."""
        record = StudyRecord("P001")
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            record.study_instance_uid = value  # type: ignore[assignment]


class TestCounts:
    """series_number and number_of_frames: ints in the DICOM IS range from 0."""

    @pytest.mark.req("P2.STUDY.5")
    @pytest.mark.parametrize("field", ["series_number", "number_of_frames"])
    @pytest.mark.parametrize("value", [0, 1, 96, LARGEST_IS])
    def test_int_from_0_to_the_largest_integer_string_is_stored(
        self, field: str, value: int
    ) -> None:
        """Zero to 2**31 - 1, the largest DICOM integer string, are accepted."""
        record = StudyRecord("P001")
        setattr(record, field, value)
        assert getattr(record, field) == value

    @pytest.mark.req("P2.STUDY.5")
    @pytest.mark.parametrize("field", ["series_number", "number_of_frames"])
    @pytest.mark.parametrize(
        ("value", "shown"),
        [
            (-1, "-1"),
            (LARGEST_IS + 1, "2147483648"),
            (3.0, "3.0"),
            (True, "True"),
            ("3", "'3'"),
        ],
    )
    def test_invalid_count_raises_value_error_naming_the_field(
        self, field: str, value: object, shown: str
    ) -> None:
        """Negative numbers, numbers beyond the IS range, floats, bools and strings are refused."""
        record = StudyRecord("P001")
        message = f"{field} must be an integer from 0 to 2147483647, got {shown}"
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            setattr(record, field, value)


class TestPrint:
    """str() and repr() of a StudyRecord."""

    @pytest.mark.req("P2.PRINT.1")
    def test_print_shows_every_study_and_patient_field_on_its_own_labelled_line(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Study fields first, then the patient's; ISO dates and times, aligned labels."""
        record = StudyRecord(
            "P001",
            type_of_patient_id="TEXT",
            name="Doe, Jane",
            sex="F",
            birth_date="19800214",
            age=44,
            weight=61.5,
            modality="XA",
            study_date="20240611",
            study_time="101530.25",
            study_instance_uid="1.2.3.4",
            series_number=3,
            number_of_frames=96,
        )
        record.update_diagnosis("Stenosis")
        print(record)  # noqa: T201 (printing is the behaviour under test)
        assert capsys.readouterr().out == (
            "Modality:             XA\n"
            "Study date:           2024-06-11\n"
            "Study time:           10:15:30.250000\n"
            "Study instance UID:   1.2.3.4\n"
            "Series number:        3\n"
            "Number of frames:     96\n"
            "Patient ID:           P001\n"
            "Type of patient ID:   TEXT\n"
            "Issuer of patient ID: unknown\n"
            "Name:                 Doe, Jane\n"
            "Sex:                  F\n"
            "Birth date:           1980-02-14\n"
            "Age (years):          44\n"
            "Weight (kg):          61.5\n"
            "Diagnosis:            Stenosis\n"
            "Previous diagnoses:   none\n"
        )

    @pytest.mark.req("P2.PRINT.1")
    def test_print_shows_unknown_study_fields_as_unknown(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Every None field prints as 'unknown'."""
        print(StudyRecord("P001"))  # noqa: T201 (printing is the behaviour under test)
        lines = capsys.readouterr().out.splitlines()
        assert lines[:6] == [
            "Modality:             unknown",
            "Study date:           unknown",
            "Study time:           unknown",
            "Study instance UID:   unknown",
            "Series number:        unknown",
            "Number of frames:     unknown",
        ]
        assert len(lines) == 16

    @pytest.mark.req("P2.PRINT.2")
    def test_repr_names_the_class_patient_id_uid_and_modality(self) -> None:
        """repr is short and unambiguous, and leaves the name out."""
        record = StudyRecord(
            "P001", name="Doe, Jane", modality="XA", study_instance_uid="1.2.3.4", series_number=3
        )
        assert repr(record) == (
            "StudyRecord(patient_id='P001', study_instance_uid='1.2.3.4', modality='XA')"
        )

    @pytest.mark.req("P2.PRINT.2")
    def test_repr_shows_unknown_fields_as_none(self) -> None:
        """A field not known yet appears as None in the repr."""
        assert repr(StudyRecord("P001")) == (
            "StudyRecord(patient_id='P001', study_instance_uid=None, modality=None)"
        )


#: 10**5000 in bits, by the logarithm: more digits than Python turns into text.
HUGE = 10**5000
HUGE_SHOWN = f"an integer of {math.floor(5000 * math.log2(10)) + 1} bits"


class TestValuesTooLargeToPrint:
    """An int of thousands of digits, which repr() refuses, given to every field."""

    @pytest.mark.req("P2.PAT.11")
    @pytest.mark.parametrize(
        ("field", "rule"),
        [
            ("patient_id", "must be a non-empty string"),
            ("type_of_patient_id", CODE_STRING),
            ("issuer_of_patient_id", "must be a non-empty string"),
            ("name", "must be a non-empty string"),
            ("sex", "must be 'M', 'F' or 'O' (any case)"),
            ("birth_date", DATE_FORMS),
            ("age", "must be an integer from 0 to 999"),
            ("weight", "must be a finite, positive number of kilograms"),
            ("modality", CODE_STRING),
            ("study_date", DATE_FORMS),
            ("study_time", TIME_FORMS),
            ("study_instance_uid", "must be a string"),
            ("series_number", "must be an integer from 0 to 2147483647"),
            ("number_of_frames", "must be an integer from 0 to 2147483647"),
        ],
    )
    def test_setter_raises_value_error_naming_the_field_and_the_size(
        self, field: str, rule: str
    ) -> None:
        """The message names the field and describes the int by its size."""
        record = StudyRecordFactory()
        with pytest.raises(ValueError, match=f"^{re.escape(f'{field} {rule}, got {HUGE_SHOWN}')}$"):
            setattr(record, field, HUGE)

    @pytest.mark.req("P2.PAT.11")
    def test_update_diagnosis_raises_value_error_naming_the_diagnosis(self) -> None:
        """update_diagnosis describes the int by its size too."""
        record = StudyRecordFactory()
        message = f"diagnosis must be a non-empty string, got {HUGE_SHOWN}"
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            record.update_diagnosis(HUGE)  # type: ignore[arg-type]
