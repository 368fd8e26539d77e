"""Django application config for the Part 5 pipeline."""

from __future__ import annotations

from django.apps import AppConfig


class PipelineConfig(AppConfig):
    """The ``exam.pipeline`` app, labelled ``pipeline`` (its tables are ``pipeline_*``)."""

    name = "exam.pipeline"
    label = "pipeline"
    verbose_name = "Distributed DICOM processing"
    default_auto_field = "django.db.models.BigAutoField"
