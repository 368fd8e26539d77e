"""The DICOMweb views: thin, each parsing its request and calling one of stow, search or retrieve.

Every view needs ``Authorization: Token <key>`` (or ``Bearer <key>``, as the
dicomweb-client command sends it) and shows the caller's own
instances only: another user's study is a 404.  DICOM media types are
negotiated here, not by DRF, whose renderer only writes the error bodies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db import DatabaseError
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse
from rest_framework import status as http
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exam.pipeline.api import RETRY_AFTER_SECONDS
from exam.pipeline.dicomweb import retrieve, search, stow
from exam.pipeline.ingest import Busy, upload_slot
from exam.pipeline.models import Instance

DICOM_JSON = "application/dicom+json"
#: The Instance column each UID of a DICOMweb path names.
PATH_FIELDS = {
    "study": "study_instance_uid",
    "series": "series_instance_uid",
    "instance": "sop_instance_uid",
}
#: The route of a study's, series' and instance's own URL.
ROUTES = {"study": "dicomweb-study", "series": "dicomweb-series", "instance": "dicomweb-instance"}


class AnyAccept(BaseContentNegotiation):
    """Render with the view's first renderer whatever ``Accept`` says: the views negotiate."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        """Never asked: the views read their bodies themselves, never ``request.data``."""
        raise NotImplementedError("the DICOMweb views have no parsers")

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        """The first renderer (JSON, for error bodies)."""
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class BearerTokenAuthentication(TokenAuthentication):
    """The API token sent as ``Authorization: Bearer <key>``, as DICOMweb clients send tokens."""

    keyword = "Bearer"


class DicomWebView(APIView):
    """Token authentication (``Token`` or ``Bearer``), no parsing, no negotiation by DRF."""

    authentication_classes = (TokenAuthentication, BearerTokenAuthentication)
    permission_classes = (IsAuthenticated,)
    parser_classes = ()
    content_negotiation_class = AnyAccept

    def owner(self) -> User:
        """The authenticated caller."""
        assert isinstance(self.request.user, User)
        return self.request.user

    def instances(self, uids: dict[str, str]) -> QuerySet[Instance]:
        """The caller's instances within the study, series or instance named by ``uids``."""
        within = {PATH_FIELDS[name]: uid for name, uid in uids.items()}
        return Instance.objects.filter(owner=self.owner(), **within).order_by("pk")


class SearchView(DicomWebView):
    """QIDO-RS: ``GET .../series``, ``GET .../instances``."""

    level = "study"

    def get(self, request: Request, **uids: str) -> HttpResponse | Response:
        """The matching studies, series or instances as DICOM JSON; 400 with the reason."""
        try:
            query = search.parse(request.query_params, self.level)
        except search.QueryError as error:
            return Response({"detail": str(error)}, status=http.HTTP_400_BAD_REQUEST)
        results = search.search(
            owner=self.owner(),
            level=self.level,
            query=query,
            within={PATH_FIELDS[name]: uid for name, uid in uids.items()},
            url=lambda first: request.build_absolute_uri(_path(first, self.level)),
        )
        return _dicom_json(results)


class RetrieveView(DicomWebView):
    """WADO-RS: ``GET`` a study, series or instance as multipart/related."""

    def get(self, request: Request, **uids: str) -> StreamingHttpResponse | Response:
        """The originals, streamed; 404 if none is the caller's; 406 for a syntax not stored."""
        instances = list(self.instances(uids).only("storage_key", "transfer_syntax_uid"))
        if not instances:
            raise NotFound
        syntaxes = {instance.transfer_syntax_uid for instance in instances}
        reason = retrieve.unacceptable(request.headers.get("Accept", ""), syntaxes)
        if reason is not None:
            return Response({"detail": reason}, status=http.HTTP_406_NOT_ACCEPTABLE)
        content_type, body = retrieve.multipart(instances)
        return StreamingHttpResponse(body, content_type=content_type)


class MetadataView(DicomWebView):
    """WADO-RS: ``GET .../metadata`` of a study, series or instance."""

    def get(self, request: Request, **uids: str) -> HttpResponse:
        """The stored headers as DICOM JSON; 404 if none is the caller's."""
        instances = list(self.instances(uids).only("header", "transfer_syntax_uid"))
        if not instances:
            raise NotFound
        return _dicom_json(retrieve.metadata(instances))


class StoreMixin(DicomWebView):
    """STOW-RS: ``POST`` multipart/related; type="application/dicom"."""

    def post(self, request: Request, study: str | None = None) -> HttpResponse | Response:
        """Store each part; 200 all stored, 202 some, 409 none, 400 unreadable, 415 wrong type."""
        incoming = request._request
        params = incoming.content_params or {}
        if incoming.content_type != "multipart/related" or (
            params.get("type", "").lower() != stow.DICOM
        ):
            return Response(
                {"detail": f'Send the instances as multipart/related; type="{stow.DICOM}".'},
                status=http.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            )
        if not params.get("boundary"):
            return Response(
                {"detail": "The Content-Type names no multipart boundary."},
                status=http.HTTP_400_BAD_REQUEST,
            )
        try:
            with upload_slot():
                stored = stow.store(
                    incoming, owner=self.owner(), boundary=params["boundary"], study=study
                )
        except (Busy, DatabaseError) as error:
            detail = str(error) if isinstance(error, Busy) else "The database is unavailable."
            return Response(
                {"detail": f"{detail} Nothing was stored; retry later."},
                status=http.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        study_url = (
            request.build_absolute_uri(reverse(ROUTES["study"], args=[study])) if study else ""
        )
        return _dicom_json(stored.body(study_url), status=stored.status)


class StudiesView(StoreMixin, SearchView):
    """``/dicomweb/studies``: search (GET) and store (POST)."""


class StudyView(StoreMixin, RetrieveView):
    """``/dicomweb/studies/{study}``: retrieve (GET) and store into it (POST)."""


class SeriesSearchView(SearchView):
    """``/dicomweb/studies/{study}/series``."""

    level = "series"


class InstanceSearchView(SearchView):
    """``/dicomweb/studies/{study}/series/{series}/instances``."""

    level = "instance"


def _path(instance: Instance, level: str) -> str:
    uids = [instance.study_instance_uid, instance.series_instance_uid, instance.sop_instance_uid]
    depth = list(ROUTES).index(level) + 1
    return reverse(ROUTES[level], args=uids[:depth])


def _dicom_json(body: Any, status: int = http.HTTP_200_OK) -> HttpResponse:
    return HttpResponse(json.dumps(body), content_type=DICOM_JSON, status=status)
