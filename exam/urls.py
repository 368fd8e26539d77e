"""The project's URL routes: Part 4's elements API, Part 5's pipeline and its web portal."""

from __future__ import annotations

from django.urls import include, path

from exam.api.urls import handler404
from exam.api.urls import urlpatterns as api
from exam.pipeline.urls import urlpatterns as pipeline

urlpatterns = [*pipeline, *api, path("", include("exam.portal.urls"))]

__all__ = ["handler404", "urlpatterns"]
