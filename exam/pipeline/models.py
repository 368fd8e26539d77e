"""The pipeline's tables: instances as uploaded, their jobs, results, the outbox and the audit.

PostgreSQL, not the broker, decides what happens to a job.  ``jobs.attempt``
is the fencing token: a worker claims a job by incrementing it and taking a
lease, and may finish the job only while the attempt is still its own.  The
outbox holds every message the relay is to publish (new jobs, retries with a
``not_before``), written in the same transaction as the change that calls
for it.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q


class JobState(models.TextChoices):
    """A job's states: ``queued -> running -> succeeded | failed | quarantined``.

    ``retrying`` is a job waiting for its next attempt after a transient
    error or a lost worker.
    """

    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    QUARANTINED = "quarantined"


#: States a job never leaves.
FINAL_STATES = (JobState.SUCCEEDED, JobState.FAILED, JobState.QUARANTINED)


class SizeClass(models.TextChoices):
    """The queue an instance's job goes to, by the pixel data's decoded size."""

    S = "s"
    M = "m"
    L = "l"


class Instance(models.Model):
    """One DICOM instance exactly as an owner uploaded it, and what its header says.

    The original's bytes live in object storage under ``storage_key``;
    ``sha256`` covers exactly those bytes.  Identifiers and dates shown to the
    owner are kept here so that lists never re-read the file.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    sop_instance_uid = models.CharField(max_length=64)
    sop_class_uid = models.CharField(max_length=64)
    study_instance_uid = models.CharField(max_length=64)
    series_instance_uid = models.CharField(max_length=64)
    transfer_syntax_uid = models.CharField(max_length=64)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField(help_text="Bytes of the original file.")
    storage_key = models.CharField(max_length=255)
    filename = models.CharField(max_length=255, blank=True)
    patient_id = models.CharField(max_length=64, blank=True)
    modality = models.CharField(max_length=16, blank=True)
    study_date = models.DateField(null=True)
    accession_number = models.CharField(max_length=16, blank=True)
    series_number = models.IntegerField(null=True)
    instance_number = models.IntegerField(null=True)
    header = models.JSONField(
        default=dict, help_text="The header as DICOM JSON, bulk data left out (DICOMweb)."
    )
    rows = models.IntegerField()
    columns = models.IntegerField()
    frames = models.IntegerField()
    size_class = models.CharField(max_length=1, choices=SizeClass.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["owner", "sop_instance_uid"], name="instance_owner_sop_unique"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            # DICOMweb's searches: by study, patient or date, always within one owner.
            models.Index(fields=["owner", "study_instance_uid"], name="instance_owner_study"),
            models.Index(fields=["owner", "patient_id"], name="instance_owner_patient"),
            models.Index(fields=["owner", "study_date"], name="instance_owner_date"),
        ]


class AeTitle(models.Model):
    """A calling AE title the DIMSE gateway accepts, and the account its instances belong to."""

    title = models.CharField(max_length=16, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ae_titles"
    )


class Job(models.Model):
    """The processing of one instance by one pipeline version."""

    instance = models.ForeignKey(Instance, on_delete=models.PROTECT, related_name="jobs")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    pipeline_version = models.CharField(max_length=32)
    queue = models.CharField(max_length=1, choices=SizeClass.choices)
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    attempt = models.IntegerField(default=0, help_text="The fencing token: claims so far.")
    lease_owner = models.CharField(max_length=128, blank=True)
    lease_expires_at = models.DateTimeField(null=True)
    error_code = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    correlation_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, help_text="When the latest message was published.")
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["instance", "pipeline_version"], name="job_instance_version_unique"
            ),
            models.CheckConstraint(condition=Q(state__in=JobState.values), name="job_state_valid"),
            models.CheckConstraint(condition=Q(attempt__gte=0), name="job_attempt_non_negative"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["state", "lease_expires_at"], name="job_state_lease"),
            models.Index(fields=["owner", "-created_at"], name="job_owner_recent"),
        ]


class Result(models.Model):
    """What the winning attempt of a job computed.

    ``attempt`` is the attempt that wrote it; ``preview_key`` names an object
    written under that attempt's own key, so a late write from a fenced-off
    attempt can never replace the winner's bytes.
    """

    job = models.OneToOneField(Job, on_delete=models.PROTECT, related_name="result")
    attempt = models.IntegerField()
    frames = models.JSONField(help_text="Per frame: min, max, mean, std.")
    histogram = models.JSONField(help_text="Bin edges and counts over the whole instance.")
    record = models.JSONField(help_text="The study and patient fields, as StudyRecord reads them.")
    preview_key = models.CharField(max_length=255)
    preview_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)


class Outbox(models.Model):
    """A message for the relay to publish to the broker once ``not_before`` has passed.

    A row is deleted only once its message is published: a crash in between
    publishes it again, which the job's fencing makes harmless.
    """

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="outbox")
    queue = models.CharField(max_length=1, choices=SizeClass.choices)
    not_before = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["not_before", "id"], name="outbox_due"),
        ]


class AuditEvent(models.Model):
    """Who did what to which object, when, from where: append-only."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    action = models.CharField(max_length=32)
    object_type = models.CharField(max_length=16)
    object_id = models.BigIntegerField(null=True)
    client_address = models.CharField(max_length=64, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(auto_now_add=True)
