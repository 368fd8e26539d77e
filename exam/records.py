"""Patient and study records (Part 2): validated fields, diagnosis history, DICOM loading.

Each field is declared once, as a :class:`Field` descriptor holding its
validator, its label in ``str(record)`` and the DICOM element it is loaded
from.  The records are dataclasses over these descriptors, so the keyword-only
constructor comes from the same declarations, its arguments go through the
setters, and printing and loading walk the fields in declaration order (a
subclass's fields first).

A validator returns the value to store or raises :class:`FieldError`: its
message names the field, says what is wrong and shows the value, for the
caller; its ``reason`` leaves the value out, and is all that logs show, since a
value read from a file can be protected health information (a birth date, a
UID).  Logs identify a patient by ID only.

Loading reads the header with :func:`exam.dicom_io.read_header` (never the
pixel data) and hands each element to its field's setter once; an element the
setter refuses is logged and becomes ``None``.  pydicom's own value checks are
off meanwhile: they repeat ours, and their warnings quote the value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, date, datetime, time
from fractions import Fraction
from functools import partial
from numbers import Integral, Real
from os import PathLike
from typing import Any, ClassVar, Generic, Self, TypeGuard, TypeVar

from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from exam.dicom_io import DicomReadError, read_header, unchecked_values
from exam.logs import escape_controls, get_logger

logger = get_logger(__name__)

#: How :func:`str` shows a field whose value is ``None``.
UNKNOWN = "unknown"
#: The longest DICOM long string (LO) and UID (UI).
MAX_LONG_STRING = 64
#: The oldest age a DICOM age string (AS, three digits) can state.
MAX_AGE = 999
#: The largest DICOM integer string (IS).
MAX_INTEGER_STRING = 2**31 - 1
#: Years per DICOM age unit; weeks and days count 365.25 days to the year.
YEARS_PER_UNIT = {
    "Y": Fraction(1),
    "M": Fraction(1, 12),
    "W": Fraction(28, 1461),
    "D": Fraction(4, 1461),
}

_DA = re.compile(r"\d{8}")
_TM = re.compile(r"\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,6})?)?)?")
_AS = re.compile(r"(\d{3})([DWMY])")
_CS = re.compile(r"[A-Z0-9_ ]{1,16}")
_UID = re.compile(r"(?:0|[1-9]\d*)(?:\.(?:0|[1-9]\d*))*")
_DIAGNOSIS = "AdmittingDiagnosesDescription"

In = TypeVar("In")
Out = TypeVar("Out")
Moment = TypeVar("Moment", date, time)


class FieldError(ValueError):
    """A value that a record field refuses.

    ``str(error)`` names the field, says what is wrong and shows the value;
    :attr:`reason` is the same without the value, for logs.
    """

    def __init__(self, field: str, rule: str, value: object) -> None:
        self.reason = f"{field} {rule}"
        # An int of thousands of digits cannot even be turned into text.
        shown = f"an integer of {value.bit_length()} bits" if _huge(value) else repr(value)
        super().__init__(f"{self.reason}, got {shown}")


def _huge(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and value.bit_length() > 64


@dataclass(frozen=True)
class DiagnosisChange:
    """One change of a patient's diagnosis; ``timestamp`` is in UTC, ``old`` None at first."""

    timestamp: datetime
    old: str | None
    new: str


# --- Validators: each returns the value to store or raises FieldError naming the field.


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FieldError(field, "must be a non-empty string", value)
    return value.strip()


def _long_string(value: object, field: str) -> str:
    text = _text(value, field)
    if len(text) > MAX_LONG_STRING:
        raise FieldError(field, f"must be at most {MAX_LONG_STRING} characters", len(text))
    return text


def _code_string(value: object, field: str) -> str:
    if not isinstance(value, str) or not _CS.fullmatch(value.strip().upper()):
        rule = "must be a DICOM code string (1 to 16 of A-Z, 0-9, space, _)"
        raise FieldError(field, rule, value)
    return value.strip().upper()


def _sex(value: object, field: str) -> str:
    if not isinstance(value, str) or value.strip().upper() not in {"M", "F", "O"}:
        raise FieldError(field, "must be 'M', 'F' or 'O' (any case)", value)
    return value.strip().upper()


def _integer(value: object, field: str, maximum: int) -> int:
    """An int from 0 to ``maximum`` (not a bool, not a float)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or not 0 <= int(value) <= maximum:
        raise FieldError(field, f"must be an integer from 0 to {maximum}", value)
    return int(value)


def _weight(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise FieldError(field, "must be a number of kilograms", value)
    try:
        kilograms = float(value)
    except OverflowError:  # an int or a Fraction beyond the largest float
        kilograms = math.inf
    if not 0 < kilograms < math.inf:
        raise FieldError(field, "must be a finite, positive number of kilograms", value)
    return kilograms


def _uid(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise FieldError(field, "must be a string", value)
    if len(value) > MAX_LONG_STRING:
        raise FieldError(field, f"must be at most {MAX_LONG_STRING} characters", len(value))
    if not _UID.fullmatch(value):
        raise FieldError(field, "must be numbers without leading zeros separated by dots", value)
    # A plain str, not pydicom's UID subclass, so that records hold plain values.
    return str(value)


def _from_iso(
    kind: type[Moment], forms: re.Pattern[str], shown: str, value: object, field: str
) -> Moment:
    noun = kind.__name__
    if not isinstance(value, str) or not forms.fullmatch(value.strip()):
        raise FieldError(
            field, f"must be a datetime.{noun} or a DICOM {noun} string {shown}", value
        )
    try:
        # Since Python 3.11 these read ISO 8601's basic forms, which DICOM's DA and TM are.
        return kind.fromisoformat(value.strip())
    except ValueError as error:
        raise FieldError(field, f"is not a valid {noun} ({error})", value) from None


def parse_dicom_date(value: object, field: str) -> date:
    """Return ``value``, a :class:`datetime.date` or a DICOM DA string ``YYYYMMDD``, as a date.

    Raises
    ------
    FieldError
        Naming ``field``: another type or form (a :class:`datetime.datetime`
        too, whose time would be lost), or a day not in the calendar.
    """
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return _from_iso(date, _DA, "YYYYMMDD", value, field)


def parse_dicom_time(value: object, field: str) -> time:
    """Return ``value``, a :class:`datetime.time` or a DICOM TM string, as a time.

    The TM forms are ``HH``, ``HHMM``, ``HHMMSS`` and ``HHMMSS.F`` to
    ``HHMMSS.FFFFFF``; omitted minutes and seconds are 0.

    Raises
    ------
    FieldError
        Naming ``field``: another type or form, or an hour, minute or second
        out of range (the leap second ``60`` included).
    """
    if isinstance(value, time):
        return value
    return _from_iso(time, _TM, "HH, HHMM, HHMMSS or HHMMSS.FFFFFF", value, field)


def dicom_age_to_years(value: object, field: str = "age") -> int:
    """Return a DICOM age string (``045Y``, ``006M``, ``003W``, ``010D``) in whole years.

    Rounded down: any age below a year is 0.

    Raises
    ------
    FieldError
        Naming ``field``, when ``value`` is not three digits and D, W, M or Y.
    """
    match = _AS.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        rule = "must be a DICOM age string of 3 digits and D, W, M or Y"
        raise FieldError(field, rule, value)
    return int(int(match[1]) * YEARS_PER_UNIT[match[2]])


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
    """Return a DICOM person name (PN) family name first, or None when it has none.

    ``"Doe^John^Adam^Dr^Jr"`` becomes ``"Doe, Dr John Adam Jr"``; only the
    alphabetic representation is used.
    """
    name = PersonName(value)
    family = name.family_name.strip()
    others = " ".join(
        part.strip()
        for part in (name.name_prefix, name.given_name, name.middle_name, name.name_suffix)
        if part.strip()
    )
    return ", ".join(part for part in (family, others) if part) or None


def _as_read(value: object) -> object:
    return value


@dataclass(eq=False)
class Field(Generic[In, Out]):
    """A record field: a property whose setter validates, declared once per field.

    Attributes
    ----------
    check:
        ``check(value, name)`` returns the value to store or raises
        :class:`FieldError`.  ``None`` (unknown) is stored without a check,
        unless the field is ``required``.
    label:
        The field's label in ``str(record)``.
    keyword:
        The DICOM element the field is loaded from; ``convert`` turns the
        element's value into what the setter takes.
    """

    check: Callable[[object, str], Out]
    label: str
    keyword: str
    _: KW_ONLY
    required: bool = False
    convert: Callable[[Any], object] = _as_read
    name: str = field(default="", init=False)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, record: object, owner: type | None = None) -> Out:
        if record is None:
            # The dataclass asks for the default: None, or none for a required field.
            if self.required:
                raise AttributeError(self.name)
            return None  # type: ignore[return-value]
        return record.__dict__[self.name]  # type: ignore[no-any-return]

    def __set__(self, record: object, value: In) -> None:
        unknown = value is None and not self.required
        record.__dict__[self.name] = None if unknown else self.check(value, self.name)


_Text = Field[str | None, str | None]
_Count = Field[int | None, int | None]


def _fields(record_type: type) -> Iterator[Field[Any, Any]]:
    """The fields of ``record_type`` in declaration order, a subclass's before its base's."""
    for cls in record_type.__mro__:
        yield from (value for value in vars(cls).values() if isinstance(value, Field))


def _show(value: object) -> str:
    if value is None:
        return UNKNOWN
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float):
        return format(value, ".15g")
    # Values can come from a file: none may break its line or drive a terminal.
    return escape_controls(str(value))


@dataclass(eq=False, repr=False)
class PatientRecord:
    """One patient: identification, demographics, and a diagnosis with its history.

    ``PatientRecord(patient_id, *, name=None, ...)``: every field but the
    patient ID is keyword-only and ``None`` (unknown) by default.  Assigning a
    field validates the value and raises :class:`FieldError` (a
    :class:`ValueError`) naming the field, the first invalid one in the
    constructor.  The diagnosis changes only through :meth:`update_diagnosis`.
    """

    patient_id: Field[str, str] = Field(_long_string, "Patient ID", "PatientID", required=True)
    _: KW_ONLY
    type_of_patient_id: _Text = Field(_code_string, "Type of patient ID", "TypeOfPatientID")
    issuer_of_patient_id: _Text = Field(_long_string, "Issuer of patient ID", "IssuerOfPatientID")
    name: _Text = Field(_text, "Name", "PatientName", convert=format_person_name)
    sex: _Text = Field(_sex, "Sex", "PatientSex")
    birth_date: Field[date | str | None, date | None] = Field(
        parse_dicom_date, "Birth date", "PatientBirthDate"
    )
    age: _Count = Field(
        partial(_integer, maximum=MAX_AGE), "Age (years)", "PatientAge", convert=dicom_age_to_years
    )
    weight: Field[float | None, float | None] = Field(_weight, "Weight (kg)", "PatientWeight")
    _history: list[DiagnosisChange] = field(default_factory=list, init=False)

    #: The fields repr() shows: they identify the record, and leave the name out.
    _repr_fields: ClassVar[tuple[str, ...]] = ("patient_id",)

    @property
    def diagnosis(self) -> str | None:
        """The current diagnosis; change it with :meth:`update_diagnosis`."""
        return self._history[-1].new if self._history else None

    @property
    def diagnosis_history(self) -> tuple[DiagnosisChange, ...]:
        """Every change of the diagnosis, oldest first (a read-only copy)."""
        return tuple(self._history)

    def update_diagnosis(self, new_diagnosis: str) -> None:
        """Set the diagnosis, record the change and log it (old -> new); a repeat changes nothing.

        Raises
        ------
        FieldError
            When ``new_diagnosis`` is not a non-empty string.
        """
        new = _text(new_diagnosis, "diagnosis")
        old = self.diagnosis
        if new == old:
            logger.debug("patient %s: diagnosis unchanged (%r)", self.patient_id, new)
            return
        self._history.append(DiagnosisChange(datetime.now(UTC), old, new))
        logger.info("patient %s: diagnosis changed: %r -> %r", self.patient_id, old, new)

    def __str__(self) -> str:
        """Every field on its own aligned ``Label: value`` line, ``None`` shown as unknown."""
        previous = [change.old for change in self._history if change.old is not None]
        lines = [
            *((declared.label, declared.__get__(self)) for declared in _fields(type(self))),
            ("Diagnosis", self.diagnosis),
            ("Previous diagnoses", "; ".join(previous) or "none"),
        ]
        width = max(len(label) for label, _ in lines) + 1
        return "\n".join(f"{label + ':':<{width}} {_show(value)}" for label, value in lines)

    def __repr__(self) -> str:
        """The class and the identifying fields, never the name."""
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._repr_fields)
        return f"{type(self).__name__}({shown})"


@dataclass(eq=False, repr=False, kw_only=True)
class StudyRecord(PatientRecord):
    """One imaging study of a patient: the patient's fields and the study's.

    Build one from a DICOM file with :meth:`from_dicom`, or refresh one with
    :meth:`load_dicom`.
    """

    modality: _Text = Field(_code_string, "Modality", "Modality")
    study_date: Field[date | str | None, date | None] = Field(
        parse_dicom_date, "Study date", "StudyDate"
    )
    study_time: Field[time | str | None, time | None] = Field(
        parse_dicom_time, "Study time", "StudyTime"
    )
    study_instance_uid: _Text = Field(_uid, "Study instance UID", "StudyInstanceUID")
    series_number: _Count = Field(
        partial(_integer, maximum=MAX_INTEGER_STRING), "Series number", "SeriesNumber"
    )
    number_of_frames: _Count = Field(
        partial(_integer, maximum=MAX_INTEGER_STRING), "Number of frames", "NumberOfFrames"
    )

    _repr_fields = ("patient_id", "study_instance_uid", "modality")

    @classmethod
    def from_dicom(cls, path: str | PathLike[str]) -> Self:
        """Return the record held in the header of the DICOM file at ``path``.

        Raises
        ------
        DicomReadError
            When the file is missing, not DICOM or truncated (from
            :func:`exam.dicom_io.read_header`), or has no usable PatientID.
        """
        patient_id, values = _read_elements(path, cls)
        record = cls(patient_id)
        record._load(values, str(path))
        return record

    def load_dicom(self, path: str | PathLike[str]) -> None:
        """Replace this record's fields with those of the DICOM file at ``path``.

        A diagnosis in the file goes through :meth:`update_diagnosis`; a file
        without one keeps the current diagnosis.

        Raises
        ------
        DicomReadError
            As :meth:`from_dicom`; the record is left unchanged.
        ValueError
            When the file holds another patient: a study is never attached to
            the wrong patient.  The record is left unchanged.
        """
        patient_id, values = _read_elements(path, type(self))
        if patient_id != self.patient_id:
            raise ValueError(
                f"patient_id: {path} holds patient {patient_id}, "
                f"this record holds patient {self.patient_id}"
            )
        self._load(values, str(path))

    def _load(self, values: dict[str, Any], where: str) -> None:
        def warn(message: str) -> None:
            logger.warning("%s: patient %s: %s", where, self.patient_id, message)

        for declared in _fields(type(self)):
            if declared.required:
                continue  # the patient ID, read already
            value = values[declared.keyword]
            try:
                if isinstance(value, MultiValue):  # backslash-separated values, where one is due
                    raise FieldError(declared.name, "must be a single value", value)
                declared.__set__(self, None if _absent(value) else declared.convert(value))
            except FieldError as error:
                warn(f"ignoring invalid {declared.keyword}: {error.reason}")
                declared.__set__(self, None)
        if self.age is None and not _absent(values["PatientAge"]):
            warn("age taken from the birth date instead")
        if self.age is None and self.birth_date is not None and self.study_date is not None:
            if self.birth_date > self.study_date:
                # Dates of birth are protected health information too: say what, not which.
                warn("the birth date is after the study date; age unknown")
            else:
                try:
                    self.age = age_on(self.birth_date, self.study_date)
                except FieldError as error:
                    warn(f"ignoring the age from the birth date: {error.reason}")
        diagnosis = values[_DIAGNOSIS]
        if not _absent(diagnosis):
            if isinstance(diagnosis, MultiValue):
                diagnosis = "; ".join(str(item).strip() for item in diagnosis if str(item).strip())
            try:
                self.update_diagnosis(diagnosis)
            except FieldError as error:
                warn(f"ignoring invalid {_DIAGNOSIS}: {error.reason}")


def _absent(value: object) -> bool:
    return value is None or value == ""


def _read_elements(
    path: str | PathLike[str], record_type: type[StudyRecord]
) -> tuple[str, dict[str, Any]]:
    """The patient ID and, by keyword, the value of each element the record is loaded from."""
    dataset = read_header(path)
    keywords = [declared.keyword for declared in _fields(record_type)] + [_DIAGNOSIS]
    # pydicom converts each value on first access; its checks would warn quoting the value.
    with unchecked_values():
        values = {keyword: dataset.get(keyword) for keyword in keywords}
    try:
        patient_id = _long_string(values["PatientID"], "patient_id")
    except FieldError as error:
        raise DicomReadError(f"{path}: no usable PatientID (0010,0020): {error}") from None
    return patient_id, values
