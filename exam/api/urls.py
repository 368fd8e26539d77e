"""URL routes: the elements API, its OpenAPI schema and Swagger UI."""

from __future__ import annotations

from django.contrib.staticfiles.views import serve
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from exam.api.views import ElementCollectionView, ElementDetailView

urlpatterns = [
    path("api/elements/", ElementCollectionView.as_view(), name="element-list"),
    path("api/elements/<str:element_id>/", ElementDetailView.as_view(), name="element-detail"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # Swagger UI's scripts and styles come from the drf-spectacular-sidecar
    # package (no CDN, no collectstatic step); they are the only static files.
    re_path(r"^static/(?P<path>.*)$", serve, {"insecure": True}),
]

handler404 = "exam.api.exceptions.not_found_view"
