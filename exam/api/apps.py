"""Django application config for the processing-results API."""

from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The ``exam.api`` app, labelled ``api`` (its tables are ``api_*``)."""

    name = "exam.api"
    label = "api"
    verbose_name = "Processing results API"
    default_auto_field = "django.db.models.BigAutoField"
