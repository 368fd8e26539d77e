"""Thin views: parse with an input serializer, call one service or selector, render.

``/api/elements/`` lists (``GET``) and stores (``POST``) elements;
``/api/elements/<id>/`` shows (``GET``), changes (``PUT``/``PATCH``) and
deletes (``DELETE``) one, by the element's own id.  Errors are rendered by
:func:`exam.api.exceptions.api_exception_handler`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exam.api.schema import (
    ID_PATTERN,
    NO_NUL_PATTERN,
    POST_ANSWER,
    POST_BODY,
    ref,
)
from exam.api.selectors import element_get, element_list
from exam.api.serializers import (
    ElementDetailSerializer,
    ElementFilterSerializer,
    ElementsPayloadSerializer,
    ElementSummarySerializer,
    ElementUpdateSerializer,
    ErrorSerializer,
    Payload,
)
from exam.api.services import element_create, element_delete, element_update


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


BAD_REQUEST = _error("Malformed JSON or invalid input; `errors` names the fields at fault.")
BAD_QUERY = _error("A query parameter out of range; `errors` names it.")
NOT_FOUND = _error("No element has this id.")
CONFLICT = _error("An element id is already stored, or repeated in the payload.")
TOO_LARGE = _error("The body is larger than the configured limit, or holds too many elements.")
LENGTH_REQUIRED = _error("A body sent without Content-Length (chunked): refused.")
UNSUPPORTED = _error("The body is not JSON (Content-Type other than application/json).")
NOT_ACCEPTABLE = _error("The Accept header asks for something other than JSON.")

ELEMENT_ID_PARAMETER = OpenApiParameter(
    "element_id",
    str,
    OpenApiParameter.PATH,
    description="The element's own id, e.g. aabbcc1.",
    pattern=ID_PATTERN,
    examples=[OpenApiExample("An element id", value="aabbcc1")],
)
POST_EXAMPLES = [
    OpenApiExample(
        "Part 3 file",
        value={
            "1": {"id": "aabbcc1", "data": ["54 26 34", "75 87 75"], "deviceName": "CT SCAN"},
            "2": {"id": "ddeeff2", "data": ["1 2 3", "4 5 6"], "deviceName": "MRI"},
        },
        request_only=True,
    ),
    OpenApiExample(
        "Single element",
        value={"id": "aabbcc1", "data": ["54 26 34", "75 87 75"], "device_name": "CT SCAN"},
        request_only=True,
    ),
]
UPDATE_EXAMPLES = [
    OpenApiExample("New device name", value={"device_name": "new_device_name"}, request_only=True),
    OpenApiExample("New id", value={"id": "aabbcc2"}, request_only=True),
]
UPDATE_RESPONSES = {
    status.HTTP_200_OK: ElementDetailSerializer,
    status.HTTP_400_BAD_REQUEST: BAD_REQUEST,
    status.HTTP_404_NOT_FOUND: NOT_FOUND,
    status.HTTP_406_NOT_ACCEPTABLE: NOT_ACCEPTABLE,
    status.HTTP_409_CONFLICT: CONFLICT,
    status.HTTP_411_LENGTH_REQUIRED: LENGTH_REQUIRED,
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: TOO_LARGE,
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: UNSUPPORTED,
}


class ElementCollectionView(GenericAPIView):  # type: ignore[type-arg]
    """``/api/elements/``: list the stored elements, or store new ones."""

    serializer_class = ElementSummarySerializer

    @extend_schema(
        operation_id="elements_list",
        summary="List stored elements (without raw data)",
        parameters=[
            OpenApiParameter(
                "device_name",
                str,
                description="Only elements of this device (exact match).",
                pattern=NO_NUL_PATTERN,
            )
        ],
        responses={
            status.HTTP_200_OK: ElementSummarySerializer(many=True),
            status.HTTP_400_BAD_REQUEST: BAD_QUERY,
            status.HTTP_406_NOT_ACCEPTABLE: NOT_ACCEPTABLE,
        },
    )
    def get(self, request: Request) -> Response:
        """Return one page of elements in storage order, optionally of one device."""
        query = ElementFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        elements = element_list(device_name=query.validated_data.get("device_name"))
        page = self.paginate_queryset(elements)
        return self.get_paginated_response(ElementSummarySerializer(page, many=True).data)

    @extend_schema(
        operation_id="elements_create",
        summary="Store elements: an object of elements keyed 1, 2, ... or a single element",
        request={"application/json": POST_BODY},
        examples=POST_EXAMPLES,
        responses={
            status.HTTP_201_CREATED: OpenApiResponse(
                POST_ANSWER,
                description="The stored entries: one entry for a single element, "
                "else the entries keyed like the payload.",
            ),
            status.HTTP_400_BAD_REQUEST: BAD_REQUEST,
            status.HTTP_406_NOT_ACCEPTABLE: NOT_ACCEPTABLE,
            status.HTTP_409_CONFLICT: CONFLICT,
            status.HTTP_411_LENGTH_REQUIRED: LENGTH_REQUIRED,
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: TOO_LARGE,
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: UNSUPPORTED,
        },
    )
    def post(self, request: Request) -> Response:
        """Validate the payload, compute each element's fields and store them all at once."""
        serializer = ElementsPayloadSerializer(
            data=request.data, context={"max_elements": settings.EXAM_API_MAX_ELEMENTS}
        )
        serializer.is_valid(raise_exception=True)
        payload: Payload = serializer.validated_data
        created = element_create(elements=payload.elements)
        if payload.single:
            location = reverse("element-detail", args=[created[0].element_id])
            return Response(
                ElementSummarySerializer(created[0]).data,
                status=status.HTTP_201_CREATED,
                headers={"Location": location},
            )
        entries = {
            element.report.key: ElementSummarySerializer(row).data
            for element, row in zip(payload.elements, created, strict=True)
        }
        return Response(entries, status=status.HTTP_201_CREATED)


class ElementDetailView(APIView):
    """``/api/elements/<id>/``: one element, by its own id (the route admits valid ids only)."""

    @extend_schema(
        operation_id="elements_retrieve",
        summary="Show one element with its raw data",
        parameters=[ELEMENT_ID_PARAMETER],
        responses={
            status.HTTP_200_OK: ElementDetailSerializer,
            status.HTTP_404_NOT_FOUND: NOT_FOUND,
            status.HTTP_406_NOT_ACCEPTABLE: NOT_ACCEPTABLE,
        },
    )
    def get(self, request: Request, element_id: str) -> Response:
        """Return the element with its raw data."""
        return Response(ElementDetailSerializer(element_get(element_id=element_id)).data)

    @extend_schema(
        operation_id="elements_update",
        summary="Change an element's id and/or device name",
        parameters=[ELEMENT_ID_PARAMETER],
        request={"application/json": ref("ElementUpdate")},
        examples=UPDATE_EXAMPLES,
        responses=UPDATE_RESPONSES,
    )
    def put(self, request: Request, element_id: str) -> Response:
        """Change the element's id and/or device name (every other field is computed)."""
        return self._update(request, element_id)

    @extend_schema(
        operation_id="elements_partial_update",
        summary="Change an element's id and/or device name",
        parameters=[ELEMENT_ID_PARAMETER],
        request={"application/json": ref("ElementUpdate")},
        examples=UPDATE_EXAMPLES,
        responses=UPDATE_RESPONSES,
    )
    def patch(self, request: Request, element_id: str) -> Response:
        """Same as PUT: only the id and device name can change."""
        return self._update(request, element_id)

    @extend_schema(
        operation_id="elements_destroy",
        summary="Delete an element",
        parameters=[ELEMENT_ID_PARAMETER],
        responses={
            status.HTTP_204_NO_CONTENT: OpenApiResponse(description="Deleted."),
            status.HTTP_404_NOT_FOUND: NOT_FOUND,
        },
    )
    def delete(self, request: Request, element_id: str) -> Response:
        """Delete the element."""
        element_delete(element_id=element_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _update(self, request: Request, element_id: str) -> Response:
        serializer = ElementUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes: dict[str, Any] = serializer.validated_data
        element = element_update(element_id=element_id, changes=changes)
        return Response(ElementDetailSerializer(element).data)
