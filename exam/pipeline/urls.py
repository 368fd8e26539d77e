"""URL routes of the pipeline's API."""

from __future__ import annotations

from django.urls import path

from exam.pipeline.api import InstanceUploadView, JobDetailView, JobListView, ResultDetailView
from exam.pipeline.dicomweb.urls import urlpatterns as dicomweb
from exam.pipeline.metrics import metrics_view

urlpatterns = [
    path("api/instances/", InstanceUploadView.as_view(), name="instance-upload"),
    path("api/jobs/", JobListView.as_view(), name="job-list"),
    path("api/jobs/<int:pk>/", JobDetailView.as_view(), name="job-detail"),
    path("api/results/<int:pk>/", ResultDetailView.as_view(), name="result-detail"),
    path("metrics", metrics_view, name="metrics"),
    *dicomweb,
]
