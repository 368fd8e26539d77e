"""Django application config for the Part 5 web portal."""

from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The ``exam.portal`` app: views, templates and static files; no tables of its own."""

    name = "exam.portal"
    label = "portal"
    verbose_name = "Web portal"
