"""PatientRecord (exam/records.py): validated fields, diagnosis history, printing."""

from __future__ import annotations

import logging
import math
import re
from dataclasses import FrozenInstanceError
from datetime import UTC, date, datetime
from fractions import Fraction

import pytest

from exam.records import PatientRecord
from tests.factories import PatientRecordFactory

#: 10**400 in bits, by the logarithm rather than by int.bit_length().
BITS_OF_10_POW_400 = math.floor(400 * math.log2(10)) + 1

OPTIONAL_FIELDS = [
    "type_of_patient_id",
    "issuer_of_patient_id",
    "name",
    "sex",
    "birth_date",
    "age",
    "weight",
]


class TestFields:
    """Every field is a property: the constructor and the setters store the same values."""

    @pytest.mark.req("P2.PAT.1")
    def test_patient_record_stores_every_field_given_to_the_constructor(self) -> None:
        """Each keyword argument comes back from its property."""
        record = PatientRecord(
            "P001",
            type_of_patient_id="BARCODE",
            issuer_of_patient_id="EXAM-HOSPITAL",
            name="Doe, Jane",
            sex="F",
            birth_date=date(1980, 2, 14),
            age=44,
            weight=61.5,
        )
        assert (
            record.patient_id,
            record.type_of_patient_id,
            record.issuer_of_patient_id,
            record.name,
            record.sex,
            record.birth_date,
            record.age,
            record.weight,
        ) == ("P001", "BARCODE", "EXAM-HOSPITAL", "Doe, Jane", "F", date(1980, 2, 14), 44, 61.5)

    @pytest.mark.req("P2.PAT.1")
    def test_fields_but_the_patient_id_are_keyword_only(self) -> None:
        """A second positional argument is refused: it could not say which field it is."""
        with pytest.raises(TypeError, match=r"takes 2 positional arguments but 3 were given$"):
            PatientRecord("P001", "TEXT")  # type: ignore[misc]

    @pytest.mark.req("P2.PAT.1")
    def test_optional_fields_are_none_by_default(self) -> None:
        """A record built from a patient ID alone has every other field unknown."""
        record = PatientRecord("P001")
        assert {field: getattr(record, field) for field in OPTIONAL_FIELDS} == dict.fromkeys(
            OPTIONAL_FIELDS
        )

    @pytest.mark.req("P2.PAT.1")
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("patient_id", "EXAM-0002"),
            ("type_of_patient_id", "RFID"),
            ("issuer_of_patient_id", "EXAM-HOSPITAL"),
            ("name", "Roe, Richard"),
            ("sex", "M"),
            ("birth_date", date(1972, 7, 3)),
            ("age", 51),
            ("weight", 82.5),
        ],
    )
    def test_setter_stores_a_valid_value(self, field: str, value: object) -> None:
        """Setting a field to a valid value makes its getter return that value."""
        record = PatientRecordFactory()
        setattr(record, field, value)
        assert getattr(record, field) == value

    @pytest.mark.req("P2.PAT.1")
    @pytest.mark.parametrize("field", OPTIONAL_FIELDS)
    def test_optional_field_can_be_set_back_to_none(self, field: str) -> None:
        """None (unknown) is a valid value for every field but the patient ID."""
        record = PatientRecordFactory()
        setattr(record, field, None)
        assert getattr(record, field) is None

    @pytest.mark.req("P2.PAT.2", "P2.PAT.3", "P2.PAT.4", "P2.PAT.5", "P2.PAT.6", "P2.PAT.7")
    @pytest.mark.parametrize(
        ("field", "bad"),
        [
            ("patient_id", ""),
            ("type_of_patient_id", "RF-ID"),
            ("issuer_of_patient_id", ""),
            ("name", ""),
            ("sex", "X"),
            ("birth_date", "19800230"),
            ("age", -1),
            ("weight", 0),
        ],
    )
    def test_rejected_value_leaves_the_field_unchanged(self, field: str, bad: object) -> None:
        """A setter that raises keeps the value the field had before."""
        record = PatientRecordFactory()
        before = getattr(record, field)
        with pytest.raises(ValueError, match=field):
            setattr(record, field, bad)
        assert getattr(record, field) == before


class TestPatientId:
    """patient_id: required, a non-empty string of at most 64 characters."""

    @pytest.mark.req("P2.PAT.2")
    @pytest.mark.parametrize(
        ("value", "expected"),
        [("P001", "P001"), ("  P001 ", "P001"), ("9" * 64, "9" * 64)],
    )
    def test_patient_id_is_stored_stripped(self, value: str, expected: str) -> None:
        """Surrounding spaces are dropped (DICOM pads text); 64 characters still fit."""
        assert PatientRecord(value).patient_id == expected

    @pytest.mark.req("P2.PAT.2")
    @pytest.mark.parametrize(
        ("value", "message"),
        [
            (None, "patient_id must be a non-empty string, got None"),
            ("", "patient_id must be a non-empty string, got ''"),
            ("   ", "patient_id must be a non-empty string, got '   '"),
            (1001, "patient_id must be a non-empty string, got 1001"),
            ("9" * 65, "patient_id must be at most 64 characters, got 65"),
        ],
    )
    def test_invalid_patient_id_raises_value_error_naming_patient_id(
        self, value: object, message: str
    ) -> None:
        """A record cannot be built without a usable patient ID."""
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            PatientRecord(value)  # type: ignore[arg-type]


class TestAge:
    """age: a non-negative int of whole years."""

    @pytest.mark.req("P2.PAT.3")
    @pytest.mark.parametrize("value", [0, 1, 45, 120, 999])
    def test_int_age_from_0_to_999_is_stored(self, value: int) -> None:
        """Whole numbers of years up to 999, the oldest a DICOM age string states, are ages."""
        record = PatientRecord("P001", age=value)
        assert record.age == value

    @pytest.mark.req("P2.PAT.3")
    @pytest.mark.parametrize(
        ("value", "message"),
        [
            (-1, "age must be an integer from 0 to 999, got -1"),
            (1000, "age must be an integer from 0 to 999, got 1000"),
            (2**63, f"age must be an integer from 0 to 999, got {2**63}"),
            (2**64, "age must be an integer from 0 to 999, got an integer of 65 bits"),
            (45.0, "age must be an integer from 0 to 999, got 45.0"),
            (45.5, "age must be an integer from 0 to 999, got 45.5"),
            (True, "age must be an integer from 0 to 999, got True"),
            ("45", "age must be an integer from 0 to 999, got '45'"),
        ],
    )
    def test_invalid_age_raises_value_error_naming_age(self, value: object, message: str) -> None:
        """Negative numbers, ages beyond 999, floats, bools and strings are not ages.

        An int beyond 64 bits is described by its size rather than shown.
        """
        record = PatientRecord("P001")
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            record.age = value  # type: ignore[assignment]


class TestWeight:
    """weight: a finite, positive number of kilograms."""

    @pytest.mark.req("P2.PAT.4")
    @pytest.mark.parametrize(
        ("value", "expected"),
        [(82.5, 82.5), (80, 80.0), (Fraction(7, 2), 3.5), (0.4, 0.4)],
    )
    def test_positive_weight_is_stored_as_float(self, value: float, expected: float) -> None:
        """Any positive real number of kilograms is stored as a float."""
        record = PatientRecord("P001", weight=value)
        assert record.weight == expected
        assert type(record.weight) is float

    @pytest.mark.req("P2.PAT.4")
    @pytest.mark.parametrize(
        ("value", "message"),
        [
            (0, "weight must be a finite, positive number of kilograms, got 0"),
            (-70.0, "weight must be a finite, positive number of kilograms, got -70.0"),
            (float("nan"), "weight must be a finite, positive number of kilograms, got nan"),
            (float("inf"), "weight must be a finite, positive number of kilograms, got inf"),
            (
                10**400,
                "weight must be a finite, positive number of kilograms, "
                f"got an integer of {BITS_OF_10_POW_400} bits",
            ),
            (
                -(10**400),
                "weight must be a finite, positive number of kilograms, "
                f"got an integer of {BITS_OF_10_POW_400} bits",
            ),
            (
                Fraction(10**400, 3),
                "weight must be a finite, positive number of kilograms, "
                f"got Fraction({10**400}, 3)",
            ),
            (True, "weight must be a number of kilograms, got True"),
            ("82.5", "weight must be a number of kilograms, got '82.5'"),
        ],
    )
    def test_invalid_weight_raises_value_error_naming_weight(
        self, value: object, message: str
    ) -> None:
        """Zero, negative, non-finite, beyond-float, bool and non-numeric weights are refused."""
        record = PatientRecord("P001")
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            record.weight = value  # type: ignore[assignment]


class TestSex:
    """sex: M, F or O in any case, stored upper case."""

    @pytest.mark.req("P2.PAT.5")
    @pytest.mark.parametrize(
        ("value", "expected"),
        [("M", "M"), ("F", "F"), ("O", "O"), ("m", "M"), ("f", "F"), ("o", "O"), (" F ", "F")],
    )
    def test_sex_is_stored_upper_case(self, value: str, expected: str) -> None:
        """The DICOM values M, F and O are accepted in any case and stored upper case."""
        assert PatientRecord("P001", sex=value).sex == expected

    @pytest.mark.req("P2.PAT.5")
    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("X", "sex must be 'M', 'F' or 'O' (any case), got 'X'"),
            ("male", "sex must be 'M', 'F' or 'O' (any case), got 'male'"),
            ("", "sex must be 'M', 'F' or 'O' (any case), got ''"),
            (1, "sex must be 'M', 'F' or 'O' (any case), got 1"),
        ],
    )
    def test_invalid_sex_raises_value_error_naming_sex(self, value: object, message: str) -> None:
        """Anything but M, F or O is refused."""
        record = PatientRecord("P001")
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            record.sex = value  # type: ignore[assignment]


class TestBirthDate:
    """birth_date: a datetime.date or a DICOM DA string YYYYMMDD."""

    @pytest.mark.req("P2.PAT.6")
    @pytest.mark.parametrize(
        "value", [date(1980, 2, 14), "19800214", " 19800214 "], ids=["date", "DA", "padded DA"]
    )
    def test_birth_date_is_stored_as_a_date(self, value: date | str) -> None:
        """A date is kept; a DA string is parsed."""
        assert PatientRecord("P001", birth_date=value).birth_date == date(1980, 2, 14)

    @pytest.mark.req("P2.PAT.6")
    def test_leap_day_is_a_valid_birth_date(self) -> None:
        """29 February exists in leap years."""
        assert PatientRecord("P001", birth_date="20000229").birth_date == date(2000, 2, 29)

    @pytest.mark.req("P2.PAT.6")
    @pytest.mark.parametrize(
        ("value", "message"),
        [
            (
                "1980-02-14",
                "birth_date must be a datetime.date or a DICOM date string YYYYMMDD, "
                "got '1980-02-14'",
            ),
            (
                "198002",
                "birth_date must be a datetime.date or a DICOM date string YYYYMMDD, got '198002'",
            ),
            (
                "",
                "birth_date must be a datetime.date or a DICOM date string YYYYMMDD, got ''",
            ),
            (
                19800214,
                "birth_date must be a datetime.date or a DICOM date string YYYYMMDD, got 19800214",
            ),
            (
                datetime(1980, 2, 14, 8, 30),
                "birth_date must be a datetime.date or a DICOM date string YYYYMMDD, "
                "got datetime.datetime(1980, 2, 14, 8, 30)",
            ),
            (
                "19800230",
                "birth_date is not a valid date (day is out of range for month), got '19800230'",
            ),
            (
                "19801301",
                "birth_date is not a valid date (month must be in 1..12), got '19801301'",
            ),
            (
                "19010229",
                "birth_date is not a valid date (day is out of range for month), got '19010229'",
            ),
            ("00000101", "birth_date is not a valid date (year 0 is out of range), got '00000101'"),
        ],
    )
    def test_invalid_birth_date_raises_value_error_naming_birth_date(
        self, value: object, message: str
    ) -> None:
        """Other string forms, non-dates, datetimes and impossible dates are refused."""
        record = PatientRecord("P001")
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            record.birth_date = value  # type: ignore[assignment]


class TestIdentificationAndName:
    """type_of_patient_id, issuer_of_patient_id and name."""

    @pytest.mark.req("P2.PAT.7")
    @pytest.mark.parametrize(
        ("value", "expected"),
        [("TEXT", "TEXT"), ("RFID", "RFID"), ("barcode", "BARCODE"), ("QR_CODE 2", "QR_CODE 2")],
    )
    def test_type_of_patient_id_is_a_code_string_stored_upper_case(
        self, value: str, expected: str
    ) -> None:
        """The DICOM defined terms and other code strings are stored upper case."""
        assert PatientRecord("P001", type_of_patient_id=value).type_of_patient_id == expected

    @pytest.mark.req("P2.PAT.7")
    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            (
                "type_of_patient_id",
                "RF-ID",
                "type_of_patient_id must be a DICOM code string (1 to 16 of A-Z, 0-9, space, _), "
                "got 'RF-ID'",
            ),
            (
                "type_of_patient_id",
                "",
                "type_of_patient_id must be a DICOM code string (1 to 16 of A-Z, 0-9, space, _), "
                "got ''",
            ),
            (
                "type_of_patient_id",
                "B" * 17,
                "type_of_patient_id must be a DICOM code string (1 to 16 of A-Z, 0-9, space, _), "
                f"got '{'B' * 17}'",
            ),
            ("issuer_of_patient_id", "", "issuer_of_patient_id must be a non-empty string, got ''"),
            (
                "issuer_of_patient_id",
                "H" * 65,
                "issuer_of_patient_id must be at most 64 characters, got 65",
            ),
            ("name", "", "name must be a non-empty string, got ''"),
            ("name", "  ", "name must be a non-empty string, got '  '"),
            ("name", 7, "name must be a non-empty string, got 7"),
        ],
    )
    def test_invalid_identification_or_name_raises_value_error_naming_the_field(
        self, field: str, value: object, message: str
    ) -> None:
        """Malformed code strings, empty or over-long text are refused."""
        record = PatientRecord("P001")
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            setattr(record, field, value)

    @pytest.mark.req("P2.PAT.7")
    def test_name_is_stored_stripped(self) -> None:
        """Surrounding spaces are not part of a name."""
        assert PatientRecord("P001", name="  Doe, Jane ").name == "Doe, Jane"


class TestUpdateDiagnosis:
    """update_diagnosis(): the diagnosis, its history and its log."""

    @pytest.mark.req("P2.PAT.8")
    def test_new_record_has_no_diagnosis_and_an_empty_history(self) -> None:
        """Nothing is diagnosed until update_diagnosis is called."""
        record = PatientRecord("P001")
        assert (record.diagnosis, record.diagnosis_history) == (None, ())

    @pytest.mark.req("P2.PAT.8")
    def test_update_diagnosis_sets_the_diagnosis(self) -> None:
        """The latest diagnosis is the current one."""
        record = PatientRecord("P001")
        record.update_diagnosis("Influenza")
        record.update_diagnosis("Pneumonia")
        assert record.diagnosis == "Pneumonia"

    @pytest.mark.req("P2.PAT.8")
    def test_update_diagnosis_records_old_and_new_for_each_change(self) -> None:
        """The history lists every change, oldest first; the first has no old diagnosis."""
        record = PatientRecord("P001")
        record.update_diagnosis("Influenza")
        record.update_diagnosis("Pneumonia")
        record.update_diagnosis("Influenza")
        assert [(change.old, change.new) for change in record.diagnosis_history] == [
            (None, "Influenza"),
            ("Influenza", "Pneumonia"),
            ("Pneumonia", "Influenza"),
        ]

    @pytest.mark.req("P2.PAT.8")
    def test_update_diagnosis_timestamps_the_change_in_utc(self) -> None:
        """Each change carries the UTC time at which it was made."""
        record = PatientRecord("P001")
        before = datetime.now(UTC)
        record.update_diagnosis("Influenza")
        after = datetime.now(UTC)
        (change,) = record.diagnosis_history
        assert change.timestamp.tzinfo is UTC
        assert before <= change.timestamp <= after

    @pytest.mark.req("P2.PAT.8")
    def test_diagnosis_is_stored_stripped(self) -> None:
        """Surrounding spaces are not part of a diagnosis."""
        record = PatientRecord("P001")
        record.update_diagnosis("  Influenza ")
        assert record.diagnosis == "Influenza"

    @pytest.mark.req("P2.PAT.8")
    def test_setting_the_current_diagnosis_again_records_nothing(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Repeating the current diagnosis is not a change: no history entry, a debug line."""
        record = PatientRecord("P001")
        record.update_diagnosis("Influenza")
        caplog.set_level(logging.DEBUG, logger="exam")
        caplog.clear()
        record.update_diagnosis("Influenza")
        assert len(record.diagnosis_history) == 1
        assert caplog.record_tuples == [
            ("exam.records", logging.DEBUG, "patient P001: diagnosis unchanged ('Influenza')")
        ]

    @pytest.mark.req("P2.PAT.8")
    def test_diagnosis_history_is_a_tuple_the_caller_cannot_change(self) -> None:
        """The history is handed out as a tuple: it has no append."""
        record = PatientRecordFactory(diagnoses=["Influenza"])
        history = record.diagnosis_history
        assert isinstance(history, tuple)
        with pytest.raises(AttributeError):
            history.append(history[0])  # type: ignore[attr-defined]

    @pytest.mark.req("P2.PAT.8")
    def test_diagnosis_history_entries_are_frozen(self) -> None:
        """A recorded change cannot be rewritten."""
        record = PatientRecordFactory(diagnoses=["Influenza"])
        (change,) = record.diagnosis_history
        with pytest.raises(FrozenInstanceError):
            change.new = "Pneumonia"

    @pytest.mark.req("P2.PAT.8")
    @pytest.mark.parametrize(
        ("attribute", "value"), [("diagnosis", "Flu"), ("diagnosis_history", ())]
    )
    def test_diagnosis_and_history_cannot_be_assigned(self, attribute: str, value: object) -> None:
        """Only update_diagnosis changes the diagnosis, so the history stays complete."""
        record = PatientRecordFactory(diagnoses=["Influenza"])
        with pytest.raises(AttributeError):
            setattr(record, attribute, value)
        assert (record.diagnosis, len(record.diagnosis_history)) == ("Influenza", 1)

    @pytest.mark.req("P2.PAT.9")
    def test_update_diagnosis_logs_old_and_new_at_info_with_the_patient_id(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Each change is logged once: patient ID, old diagnosis -> new diagnosis."""
        caplog.set_level(logging.INFO, logger="exam")
        record = PatientRecord("P001")
        record.update_diagnosis("Influenza")
        record.update_diagnosis("Pneumonia")
        assert caplog.record_tuples == [
            ("exam.records", logging.INFO, "patient P001: diagnosis changed: None -> 'Influenza'"),
            (
                "exam.records",
                logging.INFO,
                "patient P001: diagnosis changed: 'Influenza' -> 'Pneumonia'",
            ),
        ]

    @pytest.mark.req("P2.PAT.9")
    def test_update_diagnosis_never_logs_the_patient_name(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Names are protected health information: no log record holds any part of one."""
        caplog.set_level(logging.DEBUG, logger="exam")
        record = PatientRecord("P001", name="Zyxwort, Quentin")
        record.update_diagnosis("Influenza")
        record.update_diagnosis("Influenza")
        record.update_diagnosis("Pneumonia")
        assert len(caplog.records) == 3
        assert [r for r in caplog.records if "Zyxwort" in r.getMessage()] == []
        assert [r for r in caplog.records if "Quentin" in r.getMessage()] == []

    @pytest.mark.req("P2.PAT.10")
    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("", "diagnosis must be a non-empty string, got ''"),
            ("   ", "diagnosis must be a non-empty string, got '   '"),
            (None, "diagnosis must be a non-empty string, got None"),
            (42, "diagnosis must be a non-empty string, got 42"),
        ],
    )
    def test_invalid_diagnosis_raises_value_error_and_changes_nothing(
        self, value: object, message: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        """An empty or non-string diagnosis is refused; diagnosis, history and log stay as is."""
        record = PatientRecordFactory(diagnoses=["Influenza"])
        history = record.diagnosis_history
        caplog.set_level(logging.DEBUG, logger="exam")
        caplog.clear()
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            record.update_diagnosis(value)
        assert (record.diagnosis, record.diagnosis_history) == ("Influenza", history)
        assert caplog.records == []


class TestPrint:
    """str() and repr() of a PatientRecord."""

    @pytest.mark.req("P2.PRINT.1")
    def test_print_shows_every_patient_field_on_its_own_labelled_line(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Labels are aligned; dates are ISO; earlier diagnoses are listed oldest first."""
        record = PatientRecord(
            "P001",
            type_of_patient_id="TEXT",
            issuer_of_patient_id="EXAM-HOSPITAL",
            name="Doe, Jane",
            sex="F",
            birth_date="19800214",
            age=44,
            weight=61.5,
        )
        for diagnosis in ("Influenza", "Bronchitis", "Pneumonia"):
            record.update_diagnosis(diagnosis)
        print(record)  # noqa: T201 (printing is the behaviour under test)
        assert capsys.readouterr().out == (
            "Patient ID:           P001\n"
            "Type of patient ID:   TEXT\n"
            "Issuer of patient ID: EXAM-HOSPITAL\n"
            "Name:                 Doe, Jane\n"
            "Sex:                  F\n"
            "Birth date:           1980-02-14\n"
            "Age (years):          44\n"
            "Weight (kg):          61.5\n"
            "Diagnosis:            Pneumonia\n"
            "Previous diagnoses:   Influenza; Bronchitis\n"
        )

    @pytest.mark.req("P2.PRINT.1")
    def test_print_shows_unknown_fields_as_unknown(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """None prints as 'unknown'; an empty history as 'none'."""
        print(PatientRecord("P001"))  # noqa: T201 (printing is the behaviour under test)
        assert capsys.readouterr().out == (
            "Patient ID:           P001\n"
            "Type of patient ID:   unknown\n"
            "Issuer of patient ID: unknown\n"
            "Name:                 unknown\n"
            "Sex:                  unknown\n"
            "Birth date:           unknown\n"
            "Age (years):          unknown\n"
            "Weight (kg):          unknown\n"
            "Diagnosis:            unknown\n"
            "Previous diagnoses:   none\n"
        )

    @pytest.mark.req("P2.PRINT.1")
    @pytest.mark.parametrize(
        ("weight", "shown"),
        [(80, "80"), (82.5, "82.5"), (0.1 + 0.2, "0.3"), (3.25, "3.25"), (1e20, "1e+20")],
    )
    def test_print_shows_the_weight_without_float_noise(self, weight: float, shown: str) -> None:
        """Weights print with up to 15 significant digits, no trailing zeros, a small e."""
        lines = str(PatientRecord("P001", weight=weight)).splitlines()
        assert f"Weight (kg):          {shown}" in lines

    @pytest.mark.req("P2.PRINT.3")
    def test_print_escapes_control_characters_so_each_field_keeps_its_line(self) -> None:
        """A line break or escape sequence in a value is shown as text, on the field's line."""
        record = PatientRecord("P001", name="Doe, Jane\nSex: M", issuer_of_patient_id="\x1b[2J")
        lines = str(record).splitlines()
        assert lines[1:4] == [
            "Type of patient ID:   unknown",
            "Issuer of patient ID: \\x1b[2J",
            "Name:                 Doe, Jane\\nSex: M",
        ]
        assert len(lines) == 10

    @pytest.mark.req("P2.PRINT.2")
    def test_repr_names_the_class_and_patient_id_only(self) -> None:
        """repr is short and unambiguous, and leaves the name out."""
        record = PatientRecord("P001", name="Doe, Jane", sex="F")
        assert repr(record) == "PatientRecord(patient_id='P001')"
