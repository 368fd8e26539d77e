"""The project's URL routes: Part 4's elements API and Part 5's pipeline."""

from __future__ import annotations

from exam.api.urls import handler404
from exam.api.urls import urlpatterns as api
from exam.pipeline.urls import urlpatterns as pipeline

urlpatterns = [*pipeline, *api]

__all__ = ["handler404", "urlpatterns"]
