"""DICOMweb's routes (PS3.18's resources), under ``/dicomweb/``; UIDs are digits and dots."""

from __future__ import annotations

from django.urls import path, register_converter

from exam.pipeline.dicomweb import views


class UidConverter:
    """A UID in a path (at most 64 digits and dots): anything else matches no route, a 404."""

    regex = r"[0-9.]{1,64}"

    def to_python(self, value: str) -> str:
        """The UID as it is."""
        return value

    def to_url(self, value: str) -> str:
        """The UID as it is."""
        return value


register_converter(UidConverter, "uid")

STUDY = "dicomweb/studies/<uid:study>"
SERIES = f"{STUDY}/series/<uid:series>"
INSTANCE = f"{SERIES}/instances/<uid:instance>"

urlpatterns = [
    path("dicomweb/studies", views.StudiesView.as_view(), name="dicomweb-studies"),
    path(STUDY, views.StudyView.as_view(), name="dicomweb-study"),
    path(f"{STUDY}/metadata", views.MetadataView.as_view(), name="dicomweb-study-metadata"),
    path(f"{STUDY}/series", views.SeriesSearchView.as_view(), name="dicomweb-series-search"),
    path(SERIES, views.RetrieveView.as_view(), name="dicomweb-series"),
    path(f"{SERIES}/metadata", views.MetadataView.as_view(), name="dicomweb-series-metadata"),
    path(
        f"{SERIES}/instances", views.InstanceSearchView.as_view(), name="dicomweb-instance-search"
    ),
    path(INSTANCE, views.RetrieveView.as_view(), name="dicomweb-instance"),
    path(f"{INSTANCE}/metadata", views.MetadataView.as_view(), name="dicomweb-instance-metadata"),
]
