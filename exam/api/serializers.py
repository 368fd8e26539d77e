"""Input serializers (validation) and output serializers (rendering).

Input: :class:`ElementsPayloadSerializer` takes a ``POST`` body -- an object
of elements keyed ``"1"``, ``"2"``, ... (Part 3's file format) or one element
on its own -- :class:`ElementUpdateSerializer` a ``PUT``/``PATCH`` body, and
:class:`ElementFilterSerializer` the list's query.  Fields they do not know
are refused by name, never ignored.

Each rule is checked in one place.  An element of a POST is validated by
Part 3's core, :func:`exam.elements.summarize_element` (id, ``deviceName``,
``data``), whose errors are keyed by the field it names; the API adds only
what the core does not know: the fields it accepts (``device_name`` as well
as Part 3's ``deviceName``, nothing else), the element-id rule shared with
the URL route (:data:`exam.api.schema.ID_REGEX`), and what PostgreSQL can
store in a device name.  An update computes nothing, so its serializer
checks its two fields itself.

The OpenAPI shapes of the request bodies are written out in
:mod:`exam.api.schema`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from exam.api.exceptions import TooManyElements
from exam.api.models import Element
from exam.api.schema import DEVICE_NAME_MAX_LENGTH, ID_REGEX
from exam.api.services import SINGLE_ELEMENT_KEY, NewElement
from exam.elements import ElementError, summarize_element

#: Field names that make a POST body a single element rather than an object of elements.
ELEMENT_FIELDS = frozenset({"id", "data", "deviceName", "device_name"})
NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY
ID_MESSAGE = "Use 1 to 64 letters, digits, '.', '_' or '-' (but not '.' or '..')."
BOTH_SPELLINGS = "Give deviceName or device_name, not both."


class StrictCharField(serializers.CharField):
    """A ``CharField`` that takes strings only, never numbers turned into strings."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        """Return ``data`` when it is a string; fail with ``invalid`` otherwise."""
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class DeviceNameField(StrictCharField):
    """An optional, nullable device name that PostgreSQL can store (no NUL, 255 at most)."""

    def __init__(self) -> None:
        super().__init__(
            required=False, allow_null=True, allow_blank=True, max_length=DEVICE_NAME_MAX_LENGTH
        )


@extend_schema_field({"type": "array", "items": {"type": "string"}, "minItems": 1})
class RowsField(serializers.Field):  # type: ignore[type-arg]
    """An element's stored ``data``, rendered as it was sent."""

    def to_representation(self, value: Any) -> Any:
        """Return the stored rows unchanged."""
        return value


@dataclass(frozen=True)
class Payload:
    """A validated POST body.

    Attributes
    ----------
    single:
        True when the body was one element rather than an object of elements.
    elements:
        The elements in payload order.
    """

    single: bool
    elements: list[NewElement]


class ElementsPayloadSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A POST body: an object of elements keyed "1", "2", ..., or a single element.

    A body with any of the fields ``id``, ``data``, ``deviceName`` or
    ``device_name`` is a single element; its errors are keyed by field.
    Otherwise every member is an element, and errors are keyed by the
    element's key, then by field.  ``context["max_elements"]``, when given,
    caps the element count (more: :class:`TooManyElements`, before any element
    is looked at).  Validated data is a :class:`Payload`.
    """

    def run_validation(self, data: Any = None) -> Payload:
        """Validate the body; ``null`` is refused like any other non-object."""
        return self.to_internal_value(data)

    def to_internal_value(self, data: Any) -> Payload:
        """Validate every element; collect the errors of all invalid ones."""
        if not isinstance(data, dict):
            raise serializers.ValidationError({NON_FIELD: [_not_an_object(data)]})
        if ELEMENT_FIELDS & data.keys():
            return Payload(single=True, elements=[_element(SINGLE_ELEMENT_KEY, data)])
        if not data:
            raise serializers.ValidationError({NON_FIELD: ["The payload holds no elements."]})
        limit = self.context.get("max_elements")
        if limit is not None and len(data) > limit:
            raise TooManyElements(
                f"The payload holds {len(data)} elements; at most {limit} are taken at once "
                "(EXAM_API_MAX_ELEMENTS)."
            )
        elements: list[NewElement] = []
        errors: dict[str, Any] = {}
        for key, value in data.items():
            try:
                elements.append(_element(key, value))
            except serializers.ValidationError as error:
                errors[key] = error.detail
        if errors:
            raise serializers.ValidationError(errors)
        return Payload(single=False, elements=elements)


def _element(key: str, value: Any) -> NewElement:
    """Validate one element: Part 3's core, then the API's own rules; errors keyed by field."""
    errors: dict[str, list[Any]] = {}
    element = value
    device_field = "deviceName"
    if isinstance(value, dict):
        errors = {str(name): ["Unknown field."] for name in value if name not in ELEMENT_FIELDS}
        if "device_name" in value:
            device_field = "device_name"
            element = {**value, "deviceName": value["device_name"]}
        if "deviceName" in value and "device_name" in value:
            errors["device_name"] = [BOTH_SPELLINGS]
    try:
        report = summarize_element(key, element)
    except ElementError as error:
        field = {"": NON_FIELD, "deviceName": device_field}.get(error.field, error.field)
        errors.setdefault(field, []).append(str(error))
    # The core checks the element's fields in order (object, id, deviceName,
    # data): whatever it did not refuse is a string here, or null for the name.
    if not errors.keys() & {NON_FIELD, "id"} and not re.fullmatch(ID_REGEX, value["id"]):
        errors["id"] = [ID_MESSAGE]
    if not errors.keys() & {NON_FIELD, "id", device_field}:
        try:
            DeviceNameField().run_validation(value.get(device_field))
        except serializers.ValidationError as error:
            errors[device_field] = error.detail  # type: ignore[assignment]
    if errors:
        raise serializers.ValidationError(errors)
    return NewElement(report=report, data=value["data"])


def _not_an_object(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return f"Expected an object, got {names.get(type(value), 'a number')}."


class ElementUpdateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """A PUT or PATCH body: a new ``id`` and/or ``device_name`` (or ``deviceName``).

    Validated data maps ``"id"`` and/or ``"device_name"`` to the new values.
    """

    id = StrictCharField(
        required=False, validators=[RegexValidator(rf"\A{ID_REGEX}\Z", message=ID_MESSAGE)]
    )
    device_name = DeviceNameField()
    deviceName = DeviceNameField()  # Part 3's field name

    def to_internal_value(self, data: Any) -> Any:
        """Validate the two fields; refuse, by name, any other and both device-name spellings."""
        errors: dict[str, Any] = {}
        if isinstance(data, dict):
            errors = {str(name): ["Unknown field."] for name in data if name not in self.fields}
            if "deviceName" in data and "device_name" in data:
                errors["device_name"] = [BOTH_SPELLINGS]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            detail: dict[str, Any] = dict(error.detail)  # type: ignore[arg-type]
            for name, messages in errors.items():
                detail[name] = [*detail.get(name, []), *messages]
            raise serializers.ValidationError(detail) from None
        if errors:
            raise serializers.ValidationError(errors)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Refuse an empty update; fold ``deviceName`` into ``device_name``."""
        if not attrs:
            raise serializers.ValidationError(
                {NON_FIELD: ["Give id and/or device_name to change."]}
            )
        if "deviceName" in attrs:
            attrs["device_name"] = attrs.pop("deviceName")
        return attrs


class ElementFilterSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The list's filter: ``?device_name=`` (``limit`` and ``offset`` belong to the paginator)."""

    device_name = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class ElementSummarySerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """An element as the list shows it: everything but the raw data."""

    id = serializers.CharField(source="element_id", read_only=True)
    shape = serializers.SerializerMethodField(help_text="[rows, columns] of the data.")

    class Meta:
        model = Element
        fields: tuple[str, ...] = (
            "id",
            "device_name",
            "size",
            "shape",
            "average_before",
            "average_after",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    @extend_schema_field(
        {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}
    )
    def get_shape(self, element: Element) -> list[int]:
        """Return ``[rows, columns]``."""
        return [element.rows, element.columns]


class ElementDetailSerializer(ElementSummarySerializer):
    """An element with its raw data, as the detail endpoint shows it."""

    data = RowsField(read_only=True, help_text="The rows as sent.")  # type: ignore[assignment]

    class Meta(ElementSummarySerializer.Meta):
        fields = (*ElementSummarySerializer.Meta.fields, "data")
        read_only_fields = fields


class ErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The body of every error response (documentation only)."""

    detail = serializers.CharField()
    errors = serializers.DictField(  # type: ignore[assignment]
        required=False,
        help_text="Messages keyed by element key, then field; or by field.",
    )
