"""URL routes: the elements API, its OpenAPI schema and Swagger UI."""

from __future__ import annotations

from django.contrib.staticfiles.views import serve
from django.urls import path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from exam.api.schema import ID_REGEX
from exam.api.views import ElementCollectionView, ElementDetailView


class ElementIdConverter:
    """An element id in a path: any other segment matches no route, so it is a 404."""

    regex = ID_REGEX

    def to_python(self, value: str) -> str:
        """Return the id as it is."""
        return value

    def to_url(self, value: str) -> str:
        """Return the id as it is."""
        return value


register_converter(ElementIdConverter, "element_id")

urlpatterns = [
    path("api/elements/", ElementCollectionView.as_view(), name="element-list"),
    path(
        "api/elements/<element_id:element_id>/",
        ElementDetailView.as_view(),
        name="element-detail",
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # Swagger UI's scripts and styles come from the drf-spectacular-sidecar
    # package (no CDN, no collectstatic step); they are the only static files.
    re_path(r"^static/(?P<path>.*)$", serve, {"insecure": True}),
]

handler404 = "exam.api.exceptions.not_found_view"
