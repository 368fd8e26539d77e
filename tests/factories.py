"""factory-boy factories for the objects the tests build, one section per part."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time

import factory
from pydicom.uid import generate_uid

from exam.records import PatientRecord, StudyRecord, age_on

# --- Part 2: patient and study records (exam.records) -------------------------
# Plain factories: the records are ordinary objects, built with keyword
# arguments.  Diagnoses go through update_diagnosis, so the history is real:
# PatientRecordFactory(diagnoses=["Influenza", "Pneumonia"]).


class PatientRecordFactory(factory.Factory):
    """A valid PatientRecord with every field known and no diagnosis."""

    class Meta:
        model = PatientRecord

    patient_id = factory.Sequence(lambda n: f"P{n:04d}")
    type_of_patient_id = "TEXT"
    issuer_of_patient_id = "EXAM-HOSPITAL"
    name = factory.Sequence(lambda n: f"Testpatient{n}, Alex")
    sex = factory.Iterator(["F", "M", "O"])
    birth_date = date(1980, 2, 14)
    age = factory.LazyAttribute(lambda record: age_on(record.birth_date, date.today()))
    weight = 72.5

    @factory.post_generation
    def diagnoses(
        record: PatientRecord,
        create: bool,
        extracted: Iterable[str] | None,
        **kwargs: object,
    ) -> None:
        """Apply each given diagnosis in order through update_diagnosis."""
        for diagnosis in extracted or ():
            record.update_diagnosis(diagnosis)


class StudyRecordFactory(PatientRecordFactory):
    """A valid StudyRecord: a CT study, the patient's age taken on the study date."""

    class Meta:
        model = StudyRecord

    modality = "CT"
    study_date = date(2024, 6, 11)
    study_time = time(10, 15, 30)
    study_instance_uid = factory.LazyFunction(generate_uid)
    series_number = factory.Sequence(lambda n: n + 1)
    number_of_frames = 1
    age = factory.LazyAttribute(lambda record: age_on(record.birth_date, record.study_date))


# --- Part 4: Django model factories (exam.api.models) -------------------------
# Rows of the API's table, saved to the test database.  Only the raw rows are
# chosen; size, shape and both averages are computed from them by Part 3's
# core, exactly as the API computes them: ElementFactory(data=["1 2", "3 4"]).


def _element_summary(row: factory.builder.Resolver) -> object:
    """Return summarize_element's report for the row being built."""
    from exam.elements import summarize_element

    return summarize_element("factory", {"id": row.element_id, "data": row.data})


class ElementFactory(factory.django.DjangoModelFactory):
    """A stored element of 2 rows x 3 values whose computed fields are consistent."""

    class Meta:
        model = "api.Element"

    element_id = factory.Sequence(lambda n: f"element-{n:04d}")
    device_name = factory.Iterator(["CT SCAN", "MRI", "RX 1"])
    data = factory.Sequence(lambda n: [f"{n % 7 + 1} 2 3", "4 5 6"])

    class Params:
        summary = factory.LazyAttribute(_element_summary)

    size = factory.LazyAttribute(lambda row: row.summary.size)
    rows = factory.LazyAttribute(lambda row: row.summary.shape[0])
    columns = factory.LazyAttribute(lambda row: row.summary.shape[1])
    average_before = factory.LazyAttribute(lambda row: row.summary.average_before)
    average_after = factory.LazyAttribute(lambda row: row.summary.average_after)
