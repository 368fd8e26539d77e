"""Patient and study records (Part 2): validated fields, diagnosis history, DICOM loading.

:class:`PatientRecord` holds one patient's demographics; :class:`StudyRecord`
adds one imaging study and can be filled from a DICOM file's header, never
reading its pixel data.

Field rules (every setter validates and raises :class:`ValueError` naming the
field; ``None`` means unknown and is accepted by every field but the patient ID)

========================  =====================================================
field                     accepted values
========================  =====================================================
``patient_id``            required: a non-empty string of at most 64 characters
                          (DICOM LO), stored stripped of surrounding spaces
``type_of_patient_id``    a DICOM code string such as ``"TEXT"``, ``"RFID"``,
                          ``"BARCODE"`` (TypeOfPatientID), stored upper case
``issuer_of_patient_id``  a non-empty string of at most 64 characters
                          (IssuerOfPatientID: who assigned the ID)
``name``                  a non-empty string, stored as given (stripped)
``sex``                   ``"M"``, ``"F"`` or ``"O"`` in any case, stored upper
                          case (the DICOM PatientSex enumerated values)
``birth_date``            a :class:`datetime.date` (not a ``datetime``) or a
                          DICOM DA string ``YYYYMMDD`` that is a calendar date
``age``                   a non-negative integer number of whole years (not a
                          ``bool``, not a ``float``)
``weight``                a finite, positive number of kilograms (not a
                          ``bool``), stored as ``float``
``modality``              a DICOM code string (1-16 of ``A-Z 0-9 _`` and space),
                          stored upper case
``study_date``            as ``birth_date``
``study_time``            a :class:`datetime.time` or a DICOM TM string
                          ``HH``, ``HHMM``, ``HHMMSS`` or ``HHMMSS.F`` to
                          ``HHMMSS.FFFFFF``
``study_instance_uid``    a DICOM UID: at most 64 characters, numeric
                          components without leading zeros separated by dots
``series_number``         a non-negative integer
``number_of_frames``      a non-negative integer
========================  =====================================================

The diagnosis changes only through :meth:`PatientRecord.update_diagnosis`,
which keeps the history and logs each change.  Logs identify a patient by ID,
never by name: names are protected health information.

``str(record)`` shows every field on its own ``Label: value`` line (study
fields first), ``None`` as ``unknown``; ``repr(record)`` shows the class, the
patient ID and, for a study, its UID and modality, never the name.

Loading from DICOM (:meth:`StudyRecord.from_dicom`)
---------------------------------------------------
* A missing or empty element becomes ``None``.  An element whose value breaks
  the rules above is logged as a warning (file, patient ID, element) and
  becomes ``None`` too; only a missing or empty PatientID stops the load, since
  a record cannot exist without one.
* PatientName ``Family^Given^Middle^Prefix^Suffix`` is shown family name first:
  ``Doe^John`` becomes ``"Doe, John"``, ``Doe^John^Adam^Dr^Jr`` becomes
  ``"Doe, Dr John Adam Jr"``; only the alphabetic representation is used.
* The age comes from PatientAge (``nnnY``, ``nnnM``, ``nnnW``, ``nnnD``) in
  whole years, rounded down: months count 12 to the year, weeks and days 365.25
  days to the year, so any age below a year is 0.  When PatientAge is absent or
  invalid (logged), it is the patient's age in whole years on the study date,
  from the birth date: the birthday counts from its calendar day on, and a
  29 February birthday from 1 March in common years.  A birth date after the
  study date gives no age and a logged warning.
* The diagnosis comes from AdmittingDiagnosesDescription (several values are
  joined with ``"; "``) through :meth:`PatientRecord.update_diagnosis`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from numbers import Integral, Real
from os import PathLike
from typing import Self, TypeVar

from pydicom import Dataset
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from exam.dicom_io import DicomReadError, read_header
from exam.logs import get_logger

logger = get_logger(__name__)

#: How :func:`str` shows a field whose value is ``None``.
UNKNOWN = "unknown"

SEXES = ("M", "F", "O")
MAX_LONG_STRING = 64
MAX_UID_LENGTH = 64
# 365.25 days a year, kept in integers so that age arithmetic is exact.
DAYS_PER_FOUR_YEARS = 1461

_DA = re.compile(r"\d{8}")
_TM = re.compile(r"(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,6}))?)?)?")
_AS = re.compile(r"(\d{3})([DWMY])")
_CS = re.compile(r"[A-Z0-9_ ]{1,16}")
_UID = re.compile(r"(?:0|[1-9]\d*)(?:\.(?:0|[1-9]\d*))*")

R = TypeVar("R")
#: A field validator: takes a value and the field's name, returns the value to store.
Check = Callable[[object, str], R]


@dataclass(frozen=True)
class DiagnosisChange:
    """One change of a patient's diagnosis.

    ``timestamp`` is timezone-aware (UTC); ``old`` is ``None`` for the first
    diagnosis.
    """

    timestamp: datetime
    old: str | None
    new: str


# --- Field validation: each returns the value to store or raises ValueError naming the field.


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field} must be a non-empty string, got {value!r}")
    return value.strip()


def _long_string(value: object, field: str) -> str:
    text = _text(value, field)
    if len(text) > MAX_LONG_STRING:
        raise ValueError(f"{field} must be at most {MAX_LONG_STRING} characters, got {len(text)}")
    return text


def _code_string(value: object, field: str) -> str:
    code = value.strip().upper() if isinstance(value, str) else None
    if code is None or not _CS.fullmatch(code):
        raise ValueError(
            f"{field} must be a DICOM code string (1 to 16 of A-Z, 0-9, space, _), got {value!r}"
        )
    return code


def _sex(value: object, field: str) -> str:
    sex = value.strip().upper() if isinstance(value, str) else None
    if sex not in SEXES:
        raise ValueError(f"{field} must be 'M', 'F' or 'O' (any case), got {value!r}")
    return sex


def _non_negative_int(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise ValueError(f"{field} must be a non-negative integer, got {value!r}")
    return int(value)


def _weight(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{field} must be a number of kilograms, got {value!r}")
    kilograms = float(value)
    if not math.isfinite(kilograms) or kilograms <= 0:
        raise ValueError(f"{field} must be a finite, positive number of kilograms, got {value!r}")
    return kilograms


def _uid(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{field} must be a string, got {value!r}")
    if len(value) > MAX_UID_LENGTH:
        raise ValueError(f"{field} must be at most {MAX_UID_LENGTH} characters, got {len(value)}")
    if not _UID.fullmatch(value):
        raise ValueError(
            f"{field} must be numbers without leading zeros separated by dots, got {value!r}"
        )
    # A plain str, not pydicom's UID subclass, so that records hold plain values.
    return str(value)


def parse_dicom_date(value: object, field: str = "date") -> date:
    """Return ``value`` as a date: a :class:`datetime.date` or a DICOM DA string.

    Parameters
    ----------
    value:
        A :class:`datetime.date` (a :class:`datetime.datetime` is refused: it
        would silently drop its time) or a string ``YYYYMMDD``.
    field:
        The field's name, for the error message.

    Raises
    ------
    ValueError
        Naming ``field``, for any other type, another string form, or a string
        that is not a calendar date (``"20230230"``).
    """
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = value.strip() if isinstance(value, str) else None
    if text is None or not _DA.fullmatch(text):
        raise ValueError(
            f"{field} must be a datetime.date or a DICOM date string YYYYMMDD, got {value!r}"
        )
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError as error:
        raise ValueError(f"{field} {value!r} is not a valid date: {error}") from None


def parse_dicom_time(value: object, field: str = "time") -> time:
    """Return ``value`` as a time: a :class:`datetime.time` or a DICOM TM string.

    Parameters
    ----------
    value:
        A :class:`datetime.time` or a string ``HH``, ``HHMM``, ``HHMMSS`` or
        ``HHMMSS.F`` up to six fraction digits (``"103000.5"`` is half a
        second past 10:30).  Omitted minutes and seconds are 0.
    field:
        The field's name, for the error message.

    Raises
    ------
    ValueError
        Naming ``field``, for any other type or form, or an hour, minute or
        second out of range (the leap second ``60`` included).
    """
    if isinstance(value, time):
        return value
    match = _TM.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(
            f"{field} must be a datetime.time or a DICOM time string HH, HHMM, HHMMSS "
            f"or HHMMSS.FFFFFF, got {value!r}"
        )
    hours, minutes, seconds, fraction = match.groups()
    try:
        return time(
            int(hours),
            int(minutes or 0),
            int(seconds or 0),
            int((fraction or "").ljust(6, "0")),
        )
    except ValueError as error:
        raise ValueError(f"{field} {value!r} is not a valid time: {error}") from None


def dicom_age_to_years(value: object, field: str = "age") -> int:
    """Return a DICOM age string (AS: ``045Y``, ``006M``, ``003W``, ``010D``) in whole years.

    Years are taken as they are; months count 12 to the year, weeks and days
    365.25 days to the year, always rounded down, so ``"018M"`` is 1 and any
    age below a year (``"011M"``, ``"051W"``, ``"364D"``) is 0.

    Raises
    ------
    ValueError
        Naming ``field``, when ``value`` is not three digits followed by D, W,
        M or Y.
    """
    match = _AS.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(
            f"{field} must be a DICOM age string of 3 digits and D, W, M or Y, got {value!r}"
        )
    number, unit = int(match[1]), match[2]
    if unit == "Y":
        return number
    if unit == "M":
        return number // 12
    days = number * 7 if unit == "W" else number
    return days * 4 // DAYS_PER_FOUR_YEARS


def age_on(birth_date: date, day: date) -> int:
    """Return the age in whole years on ``day`` of someone born on ``birth_date``.

    A birthday counts from its calendar day on; a 29 February birthday counts
    from 1 March in common years.

    Raises
    ------
    ValueError
        When ``day`` is before ``birth_date``.
    """
    if day < birth_date:
        raise ValueError(f"birth date {birth_date} is after {day}")
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - before_birthday


def format_person_name(value: PersonName | str) -> str | None:
    """Return a DICOM person name (PN) in display form, family name first.

    ``"Doe^John"`` becomes ``"Doe, John"`` and ``"Doe^John^Adam^Dr^Jr"``
    becomes ``"Doe, Dr John Adam Jr"``.  Only the alphabetic representation
    is used; an empty name gives ``None``.
    """
    name = value if isinstance(value, PersonName) else PersonName(value)
    family = name.family_name.strip()
    others = " ".join(
        part.strip()
        for part in (name.name_prefix, name.given_name, name.middle_name, name.name_suffix)
        if part.strip()
    )
    return ", ".join(part for part in (family, others) if part) or None


def _diagnosis_from_dicom(value: object, field: str) -> str:
    if isinstance(value, MultiValue):
        value = "; ".join(str(item).strip() for item in value if str(item).strip())
    return _text(value, field)


def _optional(value: object, check: Check[R], field: str) -> R | None:
    return None if value is None else check(value, field)


def _show(value: object) -> str:
    if value is None:
        return UNKNOWN
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float):
        return format(value, ".15g")
    return str(value)


def _render(fields: list[tuple[str, object]]) -> str:
    width = max(len(label) for label, _ in fields) + 1
    return "\n".join(f"{label + ':':<{width}} {_show(value)}" for label, value in fields)


class PatientRecord:
    """One patient: identification, demographics and diagnosis with its history.

    Every field is a property whose setter validates (see the module's field
    rules) and raises :class:`ValueError` naming the field.

    Parameters
    ----------
    patient_id:
        Required; identifies the patient in logs.
    name, type_of_patient_id, issuer_of_patient_id, sex, birth_date, age, weight:
        Optional, ``None`` (unknown) by default.

    Raises
    ------
    ValueError
        Naming the first invalid field.
    """

    def __init__(
        self,
        patient_id: str,
        *,
        type_of_patient_id: str | None = None,
        issuer_of_patient_id: str | None = None,
        name: str | None = None,
        sex: str | None = None,
        birth_date: date | str | None = None,
        age: int | None = None,
        weight: float | None = None,
    ) -> None:
        self._diagnosis: str | None = None
        self._history: list[DiagnosisChange] = []
        self.patient_id = patient_id
        self.type_of_patient_id = type_of_patient_id
        self.issuer_of_patient_id = issuer_of_patient_id
        self.name = name
        self.sex = sex
        self.birth_date = birth_date
        self.age = age
        self.weight = weight

    @property
    def patient_id(self) -> str:
        """The patient ID: a non-empty string of at most 64 characters."""
        return self._patient_id

    @patient_id.setter
    def patient_id(self, value: str) -> None:
        self._patient_id = _long_string(value, "patient_id")

    @property
    def type_of_patient_id(self) -> str | None:
        """The kind of patient ID (DICOM TypeOfPatientID: ``TEXT``, ``RFID``, ``BARCODE``)."""
        return self._type_of_patient_id

    @type_of_patient_id.setter
    def type_of_patient_id(self, value: str | None) -> None:
        self._type_of_patient_id = _optional(value, _code_string, "type_of_patient_id")

    @property
    def issuer_of_patient_id(self) -> str | None:
        """Who assigned the patient ID (DICOM IssuerOfPatientID)."""
        return self._issuer_of_patient_id

    @issuer_of_patient_id.setter
    def issuer_of_patient_id(self, value: str | None) -> None:
        self._issuer_of_patient_id = _optional(value, _long_string, "issuer_of_patient_id")

    @property
    def name(self) -> str | None:
        """The patient's name, for display only: never logged."""
        return self._name

    @name.setter
    def name(self, value: str | None) -> None:
        self._name = _optional(value, _text, "name")

    @property
    def sex(self) -> str | None:
        """``"M"``, ``"F"`` or ``"O"`` (other)."""
        return self._sex

    @sex.setter
    def sex(self, value: str | None) -> None:
        self._sex = _optional(value, _sex, "sex")

    @property
    def birth_date(self) -> date | None:
        """The date of birth; the setter also takes a DICOM DA string ``YYYYMMDD``."""
        return self._birth_date

    @birth_date.setter
    def birth_date(self, value: date | str | None) -> None:
        self._birth_date = _optional(value, parse_dicom_date, "birth_date")

    @property
    def age(self) -> int | None:
        """The age in whole years."""
        return self._age

    @age.setter
    def age(self, value: int | None) -> None:
        self._age = _optional(value, _non_negative_int, "age")

    @property
    def weight(self) -> float | None:
        """The weight in kilograms."""
        return self._weight

    @weight.setter
    def weight(self, value: float | None) -> None:
        self._weight = _optional(value, _weight, "weight")

    @property
    def diagnosis(self) -> str | None:
        """The current diagnosis; change it with :meth:`update_diagnosis`."""
        return self._diagnosis

    @property
    def diagnosis_history(self) -> tuple[DiagnosisChange, ...]:
        """Every change of the diagnosis, oldest first (a read-only copy)."""
        return tuple(self._history)

    def update_diagnosis(self, new_diagnosis: str) -> None:
        """Set the diagnosis, record the change in the history and log it (old -> new).

        Setting the current diagnosis again changes nothing and records nothing.

        Raises
        ------
        ValueError
            When ``new_diagnosis`` is not a non-empty string.
        """
        new = _text(new_diagnosis, "diagnosis")
        old = self._diagnosis
        if new == old:
            logger.debug("patient %s: diagnosis unchanged (%r)", self.patient_id, new)
            return
        self._history.append(DiagnosisChange(datetime.now(UTC), old, new))
        self._diagnosis = new
        logger.info("patient %s: diagnosis changed: %r -> %r", self.patient_id, old, new)

    def _patient_fields(self) -> list[tuple[str, object]]:
        previous = [change.old for change in self._history if change.old is not None]
        return [
            ("Patient ID", self.patient_id),
            ("Type of patient ID", self.type_of_patient_id),
            ("Issuer of patient ID", self.issuer_of_patient_id),
            ("Name", self.name),
            ("Sex", self.sex),
            ("Birth date", self.birth_date),
            ("Age (years)", self.age),
            ("Weight (kg)", self.weight),
            ("Diagnosis", self.diagnosis),
            ("Previous diagnoses", "; ".join(previous) or "none"),
        ]

    def _fields(self) -> list[tuple[str, object]]:
        return self._patient_fields()

    def _repr_fields(self) -> list[tuple[str, object]]:
        return [("patient_id", self.patient_id)]

    def __str__(self) -> str:
        """Every field on its own ``Label: value`` line, ``None`` shown as ``unknown``."""
        return _render(self._fields())

    def __repr__(self) -> str:
        """The class and identifying fields, never the name."""
        fields = ", ".join(f"{key}={value!r}" for key, value in self._repr_fields())
        return f"{type(self).__name__}({fields})"


@dataclass(frozen=True)
class _HeaderFields:
    """Every record field read from one DICOM header, already validated."""

    patient_id: str
    type_of_patient_id: str | None
    issuer_of_patient_id: str | None
    name: str | None
    sex: str | None
    birth_date: date | None
    age: int | None
    weight: float | None
    diagnosis: str | None
    modality: str | None
    study_date: date | None
    study_time: time | None
    study_instance_uid: str | None
    series_number: int | None
    number_of_frames: int | None


class StudyRecord(PatientRecord):
    """One imaging study of a patient: the patient's fields plus the study's.

    Build one from a DICOM file with :meth:`from_dicom`, or refresh an existing
    record with :meth:`load_dicom`.

    Parameters
    ----------
    patient_id, **patient fields:
        As for :class:`PatientRecord`.
    modality, study_date, study_time, study_instance_uid, series_number, number_of_frames:
        Optional, ``None`` (unknown) by default.

    Raises
    ------
    ValueError
        Naming the first invalid field.
    """

    def __init__(
        self,
        patient_id: str,
        *,
        type_of_patient_id: str | None = None,
        issuer_of_patient_id: str | None = None,
        name: str | None = None,
        sex: str | None = None,
        birth_date: date | str | None = None,
        age: int | None = None,
        weight: float | None = None,
        modality: str | None = None,
        study_date: date | str | None = None,
        study_time: time | str | None = None,
        study_instance_uid: str | None = None,
        series_number: int | None = None,
        number_of_frames: int | None = None,
    ) -> None:
        super().__init__(
            patient_id,
            type_of_patient_id=type_of_patient_id,
            issuer_of_patient_id=issuer_of_patient_id,
            name=name,
            sex=sex,
            birth_date=birth_date,
            age=age,
            weight=weight,
        )
        self.modality = modality
        self.study_date = study_date
        self.study_time = study_time
        self.study_instance_uid = study_instance_uid
        self.series_number = series_number
        self.number_of_frames = number_of_frames

    @property
    def modality(self) -> str | None:
        """The DICOM modality code (``CT``, ``MR``, ``XA``, ...)."""
        return self._modality

    @modality.setter
    def modality(self, value: str | None) -> None:
        self._modality = _optional(value, _code_string, "modality")

    @property
    def study_date(self) -> date | None:
        """The study's date; the setter also takes a DICOM DA string ``YYYYMMDD``."""
        return self._study_date

    @study_date.setter
    def study_date(self, value: date | str | None) -> None:
        self._study_date = _optional(value, parse_dicom_date, "study_date")

    @property
    def study_time(self) -> time | None:
        """The study's start time; the setter also takes a DICOM TM string."""
        return self._study_time

    @study_time.setter
    def study_time(self, value: time | str | None) -> None:
        self._study_time = _optional(value, parse_dicom_time, "study_time")

    @property
    def study_instance_uid(self) -> str | None:
        """The study's DICOM UID."""
        return self._study_instance_uid

    @study_instance_uid.setter
    def study_instance_uid(self, value: str | None) -> None:
        self._study_instance_uid = _optional(value, _uid, "study_instance_uid")

    @property
    def series_number(self) -> int | None:
        """The series number within the study."""
        return self._series_number

    @series_number.setter
    def series_number(self, value: int | None) -> None:
        self._series_number = _optional(value, _non_negative_int, "series_number")

    @property
    def number_of_frames(self) -> int | None:
        """The number of frames of the image (unknown for single-frame objects)."""
        return self._number_of_frames

    @number_of_frames.setter
    def number_of_frames(self, value: int | None) -> None:
        self._number_of_frames = _optional(value, _non_negative_int, "number_of_frames")

    @classmethod
    def from_dicom(cls, path: str | PathLike[str]) -> Self:
        """Return the record held in the DICOM file at ``path``; pixel data is never read.

        See the module documentation for how elements map to fields.

        Raises
        ------
        DicomReadError
            When the file is missing, not DICOM or truncated (from
            :func:`exam.dicom_io.read_header`), or has no PatientID.
        """
        fields = _read_header_fields(path)
        record = cls(fields.patient_id)
        record._apply(fields)
        return record

    def load_dicom(self, path: str | PathLike[str]) -> None:
        """Replace this record's fields with those of the DICOM file at ``path``.

        The diagnosis history is kept: a diagnosis in the file goes through
        :meth:`update_diagnosis`, and a file without one keeps the current
        diagnosis.  Pixel data is never read.

        Raises
        ------
        DicomReadError
            As :meth:`from_dicom`; the record is left unchanged.
        ValueError
            When the file holds another patient (its PatientID differs): a
            study is never attached to the wrong patient.  The record is left
            unchanged.
        """
        fields = _read_header_fields(path)
        if fields.patient_id != self.patient_id:
            raise ValueError(
                f"patient_id: {path} holds patient {fields.patient_id}, "
                f"this record holds patient {self.patient_id}"
            )
        self._apply(fields)

    def _apply(self, fields: _HeaderFields) -> None:
        self.type_of_patient_id = fields.type_of_patient_id
        self.issuer_of_patient_id = fields.issuer_of_patient_id
        self.name = fields.name
        self.sex = fields.sex
        self.birth_date = fields.birth_date
        self.age = fields.age
        self.weight = fields.weight
        self.modality = fields.modality
        self.study_date = fields.study_date
        self.study_time = fields.study_time
        self.study_instance_uid = fields.study_instance_uid
        self.series_number = fields.series_number
        self.number_of_frames = fields.number_of_frames
        if fields.diagnosis is not None:
            self.update_diagnosis(fields.diagnosis)

    def _fields(self) -> list[tuple[str, object]]:
        return [
            ("Modality", self.modality),
            ("Study date", self.study_date),
            ("Study time", self.study_time),
            ("Study instance UID", self.study_instance_uid),
            ("Series number", self.series_number),
            ("Number of frames", self.number_of_frames),
            *self._patient_fields(),
        ]

    def _repr_fields(self) -> list[tuple[str, object]]:
        return [
            *super()._repr_fields(),
            ("study_instance_uid", self.study_instance_uid),
            ("modality", self.modality),
        ]


class _HeaderReader:
    """Reads one dataset's elements, logging (by patient ID) and dropping invalid ones."""

    def __init__(self, dataset: Dataset, path: str, patient_id: str) -> None:
        self.dataset = dataset
        self.path = path
        self.patient_id = patient_id

    def raw(self, keyword: str) -> object:
        """The element's value, ``None`` when it is absent or empty."""
        value = self.dataset.get(keyword)
        return None if value is None or value == "" else value

    def valid(self, keyword: str, check: Check[R], field: str) -> R | None:
        """The element's value checked as ``field``; ``None`` (logged) when invalid."""
        value = self.raw(keyword)
        if value is None:
            return None
        try:
            return check(value, field)
        except ValueError as error:
            self.warn(f"ignoring invalid {keyword}: {error}")
            return None

    def warn(self, message: str) -> None:
        logger.warning("%s: patient %s: %s", self.path, self.patient_id, message)

    def age(self, birth_date: date | None, study_date: date | None) -> int | None:
        if self.raw("PatientAge") is not None:
            age = self.valid("PatientAge", dicom_age_to_years, "age")
            if age is not None:
                return age
            self.warn("age taken from the birth date instead")
        if birth_date is None or study_date is None:
            return None
        if birth_date > study_date:
            # Dates of birth are protected health information too: say what, not which.
            self.warn("the birth date is after the study date; age unknown")
            return None
        return age_on(birth_date, study_date)


def _read_header_fields(path: str | PathLike[str]) -> _HeaderFields:
    dataset = read_header(path)
    where = str(path)
    try:
        patient_id = _long_string(dataset.get("PatientID"), "patient_id")
    except ValueError as error:
        raise DicomReadError(f"{where}: no usable PatientID (0010,0020): {error}") from None
    read = _HeaderReader(dataset, where, patient_id)
    name = read.raw("PatientName")
    birth_date = read.valid("PatientBirthDate", parse_dicom_date, "birth_date")
    study_date = read.valid("StudyDate", parse_dicom_date, "study_date")
    return _HeaderFields(
        patient_id=patient_id,
        type_of_patient_id=read.valid("TypeOfPatientID", _code_string, "type_of_patient_id"),
        issuer_of_patient_id=read.valid("IssuerOfPatientID", _long_string, "issuer_of_patient_id"),
        name=None if name is None else format_person_name(str(name)),
        sex=read.valid("PatientSex", _sex, "sex"),
        birth_date=birth_date,
        age=read.age(birth_date, study_date),
        weight=read.valid("PatientWeight", _weight, "weight"),
        diagnosis=read.valid("AdmittingDiagnosesDescription", _diagnosis_from_dicom, "diagnosis"),
        modality=read.valid("Modality", _code_string, "modality"),
        study_date=study_date,
        study_time=read.valid("StudyTime", parse_dicom_time, "study_time"),
        study_instance_uid=read.valid("StudyInstanceUID", _uid, "study_instance_uid"),
        series_number=read.valid("SeriesNumber", _non_negative_int, "series_number"),
        number_of_frames=read.valid("NumberOfFrames", _non_negative_int, "number_of_frames"),
    )
