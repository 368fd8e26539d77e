"""Input serializers (validation) and output serializers (rendering).

Input: :class:`ElementsPayloadSerializer` takes a ``POST`` body -- an object
of elements keyed ``"1"``, ``"2"``, ... (Part 3's file format) or one element
on its own -- and :class:`ElementUpdateSerializer` a ``PUT``/``PATCH`` body.
Both reject fields they do not know, by name, rather than ignoring them.

The computed fields come from :func:`exam.elements.summarize_element`, which
also validates ``data``; this module adds the API's own rules for ids (at most
64 characters from ``[A-Za-z0-9._-]``) and accepts ``device_name`` as well
as Part 3's ``deviceName``.

The OpenAPI shapes of the request bodies are written out in
:mod:`exam.api.schema`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from exam.api.models import Element
from exam.api.schema import DEVICE_NAME_MAX_LENGTH, ELEMENT_ID_MAX_LENGTH, ID_PATTERN
from exam.api.services import SINGLE_ELEMENT_KEY, NewElement
from exam.elements import ElementError, summarize_element

#: Field names that make a POST body a single element rather than an object of elements.
ELEMENT_FIELDS = frozenset({"id", "data", "deviceName", "device_name"})
NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY


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


class ElementIdField(StrictCharField):
    """An element id: 1 to 64 letters, digits, ``.``, ``_`` or ``-``, not ``.`` or ``..``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=ELEMENT_ID_MAX_LENGTH, **kwargs)
        self.error_messages["dots"] = "'.' and '..' cannot be ids: a URL cannot address them."
        self.validators.append(
            RegexValidator(
                ID_PATTERN.replace("$", r"\Z"),
                message="Use only letters, digits, '.', '_' and '-'.",
            )
        )

    def to_internal_value(self, data: Any) -> str:
        """Return the id; fail with ``dots`` for ``.`` and ``..``."""
        value = super().to_internal_value(data)
        if value in {".", ".."}:
            self.fail("dots")
        return value


@extend_schema_field({"type": "array", "items": {"type": "string"}, "minItems": 1})
class RowsField(serializers.Field):  # type: ignore[type-arg]
    """An element's ``data``, passed through: :func:`summarize_element` validates it."""

    def to_internal_value(self, data: Any) -> Any:
        """Return ``data`` unchanged."""
        return data

    def to_representation(self, value: Any) -> Any:
        """Return the stored rows unchanged."""
        return value


def device_name_field(**kwargs: Any) -> StrictCharField:
    """Return an optional, nullable device-name field."""
    return StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=DEVICE_NAME_MAX_LENGTH,
        **kwargs,
    )


class KnownFieldsMixin(serializers.Serializer):  # type: ignore[type-arg]
    """Rejects undeclared fields, naming each, and both device-name spellings at once."""

    def to_internal_value(self, data: Any) -> Any:
        """Validate the declared fields and report every unknown one too."""
        errors: dict[str, Any] = {}
        value: Any = None
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            errors.update(error.detail)  # type: ignore[arg-type]
        if isinstance(data, Mapping):
            for name in data:
                if name not in self.fields:
                    errors[str(name)] = ["Unknown field."]
            if "deviceName" in data and "device_name" in data:
                errors.setdefault("device_name", []).append(
                    "Give deviceName or device_name, not both."
                )
        if errors:
            raise serializers.ValidationError(errors)
        return value


class ElementInputSerializer(KnownFieldsMixin):
    """One element of a POST body; validated data holds a :class:`NewElement`.

    The element's key in the payload comes in ``context["key"]``.
    """

    id = ElementIdField()
    data = RowsField()  # type: ignore[assignment]  # a field named like Serializer.data
    deviceName = device_name_field()  # Part 3's field name
    device_name = device_name_field()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Compute the element's fields with Part 3's core, mapping its errors to fields."""
        given_name = "deviceName" if "deviceName" in attrs else "device_name"
        element = {"id": attrs["id"], "data": attrs["data"], "deviceName": attrs.get(given_name)}
        try:
            report = summarize_element(self.context.get("key", SINGLE_ELEMENT_KEY), element)
        except ElementError as error:
            field = {"": NON_FIELD, "deviceName": given_name}.get(error.field, error.field)
            raise serializers.ValidationError({field: [str(error)]}) from None
        return {"element": NewElement(report=report, data=list(attrs["data"]))}


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
    element's key, then by field.  Validated data is a :class:`Payload`.
    """

    def run_validation(self, data: Any = None) -> Payload:
        """Validate the body; ``null`` is refused like any other non-object."""
        return self.to_internal_value(data)

    def to_internal_value(self, data: Any) -> Payload:
        """Validate every element; collect the errors of all invalid ones."""
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {NON_FIELD: [f"Expected an object, got {_json_type(data)}."]}
            )
        if ELEMENT_FIELDS & data.keys():
            return Payload(single=True, elements=[_element(SINGLE_ELEMENT_KEY, data)])
        if not data:
            raise serializers.ValidationError({NON_FIELD: ["The payload holds no elements."]})
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
    serializer = ElementInputSerializer(data=value, context={"key": key})
    serializer.is_valid(raise_exception=True)
    element: NewElement = serializer.validated_data["element"]
    return element


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


class ElementUpdateSerializer(KnownFieldsMixin):
    """A PUT or PATCH body: a new ``id`` and/or ``device_name`` (or ``deviceName``).

    Validated data maps ``"id"`` and/or ``"device_name"`` to the new values.
    """

    id = ElementIdField(required=False)
    device_name = device_name_field()
    deviceName = device_name_field()  # Part 3's field name

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Refuse an empty update; fold ``deviceName`` into ``device_name``."""
        if not attrs:
            raise serializers.ValidationError(
                {NON_FIELD: ["Give id and/or device_name to change."]}
            )
        if "deviceName" in attrs:
            attrs["device_name"] = attrs.pop("deviceName")
        return attrs


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
